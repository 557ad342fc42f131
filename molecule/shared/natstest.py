"""Helpers shared by the molecule verifiers (run on the controller by testinfra)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import nats

PROJECT = os.environ.get("MOLECULE_PROJECT_DIRECTORY") or os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
)
INVENTORY = os.environ.get("MOLECULE_INVENTORY_FILE", "")
# The hardened.nats this run tests (NATS_TEST_COLLECTION, see .config/molecule/config.yml):
# "source" links to this checkout, "installed" is the tarball installed by scripts/collection.sh.
COLLECTION_MODE = os.environ.get("NATS_TEST_COLLECTION") or "source"
COLLECTIONS = os.path.join(PROJECT, "build", "collections", COLLECTION_MODE)
# One pass of scripts/test.sh's matrix (e.g. trixie-installed): names its result files.
PASS = os.environ.get("NATS_TEST_PASS") or "local"
VENV_BIN = os.path.dirname(sys.executable)
os.environ.setdefault("CONTAINERS_CONF", os.path.join(PROJECT, "scripts", "podman", "containers.conf"))


def hosts(group="nats_servers"):
    """Inventory names of a group in the molecule inventory."""
    import testinfra.utils.ansible_runner

    return testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY).get_hosts(group)


def host(name):
    """A testinfra host reached with podman exec (much faster than the ansible backend)."""
    import testinfra

    return testinfra.get_host(f"podman://{name}")


def testinfra_hosts(group="nats_servers"):
    return [f"podman://{name}" for name in hosts(group)]


def podman(*args, check=True):
    env = dict(os.environ, CONTAINERS_CONF=os.path.join(PROJECT, "scripts", "podman", "containers.conf"))
    return subprocess.run(["podman", *args], check=check, capture_output=True, text=True, env=env)


def container_ip(name):
    out = podman("inspect", name, "--format", "{{json .NetworkSettings.Networks}}").stdout
    nets = json.loads(out)
    for net in nets.values():
        if net.get("IPAddress"):
            return net["IPAddress"]
    raise AssertionError(f"{name} has no IP address: {out}")


def monitor(host, path, port=8222, ca=None):
    """GET a monitoring endpoint from inside the node (it listens on 127.0.0.1 only).

    Over https, verified with the CA file on the node, when ``ca`` or the scenario's
    NATS_TEST_MONITOR_CA (verifier env) names one; ``ca=""`` forces http.
    """
    ca = os.environ.get("NATS_TEST_MONITOR_CA", "") if ca is None else ca
    scheme, context = ("https", f"ssl.create_default_context(cafile='{ca}')") if ca else ("http", "None")
    code = (
        "import urllib.request,ssl,sys;"
        f"sys.stdout.write(urllib.request.urlopen('{scheme}://127.0.0.1:{port}{path}',timeout=5,"
        f"context={context}).read().decode())"
    )
    return json.loads(host.check_output(f'python3 -c "{code}"'))


def route_names(host):
    return sorted({r["remote_name"] for r in monitor(host, "/routez").get("routes") or []})


def assert_full_mesh(nodes):
    """Every node has a route to every other node (by server name)."""
    for name in nodes:
        peers = route_names(host(name))
        assert peers == sorted(n for n in nodes if n != name), f"{name} sees {peers}"


def run(coro, timeout=60):
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def connect(url, errors=None, **kw):
    """One nats-py connection that never reconnects; asynchronous errors are appended to ``errors``."""

    async def on_error(exc):
        if errors is not None:
            errors.append(str(exc))

    return await nats.connect(
        url, allow_reconnect=False, max_reconnect_attempts=0, connect_timeout=3, error_cb=on_error, **kw
    )


def refusal(url, **kw):
    """The server's refusal in lower case, or None when it lets the client in (kw go to nats.connect)."""

    async def go():
        errors = []
        try:
            nc = await connect(url, errors=errors, **kw)
        except Exception as exc:  # noqa: BLE001 - any refusal counts; callers check the text
            errors.append(str(exc))
            return " ".join(errors).lower()
        await nc.close()
        return None

    return run(go())


async def deliver(sub, pub_nc, subject, tries=50):
    """Publish until the subscription sees it (interest crosses routes asynchronously); the data, or None."""
    for i in range(tries):
        await pub_nc.publish(subject, f"m-{i}".encode())
        await pub_nc.flush()
        try:
            return (await sub.next_msg(timeout=0.2)).data
        except nats.errors.TimeoutError:
            continue
    return None


async def server_names(nc, timeout=2):
    """Names of the servers that answer $SYS.REQ.SERVER.PING on ``nc`` (a system account connection)."""
    inbox = nc.new_inbox()
    sub = await nc.subscribe(inbox)
    await nc.publish("$SYS.REQ.SERVER.PING", b"", reply=inbox)
    await nc.flush()
    names = set()
    while True:
        try:
            msg = await sub.next_msg(timeout=timeout)
        except nats.errors.TimeoutError:
            return names
        names.add(json.loads(msg.data)["server"]["name"])


def ansible_playbook(*args, timeout=600):
    env = dict(os.environ)
    # Playbooks by FQCN (hardened.nats.site), resolved in the copy under test only.
    env["ANSIBLE_COLLECTIONS_PATH"] = COLLECTIONS + ":" + env.get("ANSIBLE_COLLECTIONS_PATH", "")
    env["ANSIBLE_ROLES_PATH"] = os.path.join(COLLECTIONS, "ansible_collections", "hardened", "nats", "roles")
    env["ANSIBLE_FORCE_COLOR"] = "0"
    env["ANSIBLE_NOCOLOR"] = "1"
    return subprocess.run(
        [os.path.join(VENV_BIN, "ansible-playbook"), "-i", INVENTORY, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=PROJECT,
        check=False,
    )


class LocalServer:
    """A real nats-server on the controller (loopback and the test network only)."""

    def __init__(self, config):
        self.dir = tempfile.mkdtemp(prefix="hardened-nats-test-")
        self.conf = os.path.join(self.dir, "server.conf")
        with open(self.conf, "w") as fh:
            fh.write(config)
        self.proc = None

    def __enter__(self):
        binary = shutil.which("nats-server", path=VENV_BIN) or shutil.which("nats-server")
        self.log = open(os.path.join(self.dir, "server.log"), "w+")
        self.proc = subprocess.Popen([binary, "-c", self.conf], stdout=self.log, stderr=subprocess.STDOUT)
        time.sleep(0.5)
        return self

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def output(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()
