"""From the controller: real clients, real routes, real failures."""

import hashlib
import os
import shutil
import tarfile
import tempfile
import time

import nats
import natstest
import pytest
from nats.errors import NoServersError

NODES = natstest.hosts()
host = natstest.host
ROUTE_PASS = "molecule-route-pass/with:odd@chars"


def url(name, user="app", password="app-secret-pass"):
    cred = f"{user}:{password}@" if user else ""
    return f"nats://{cred}{natstest.container_ip(name)}:4222"


def test_three_nodes():
    assert len(NODES) == 3


def test_each_node_routes_to_both_peers():
    for name in NODES:
        peers = natstest.route_names(host(name))
        assert peers == sorted(n for n in NODES if n != name), f"{name} sees {peers}"


def test_message_crosses_the_cluster():
    async def go():
        sub_nc = await nats.connect(url(NODES[1]), allow_reconnect=False, connect_timeout=15)
        pub_nc = await nats.connect(url(NODES[0]), allow_reconnect=False, connect_timeout=15)
        try:
            sub = await sub_nc.subscribe("orders.created")
            await sub_nc.flush()
            # interest crosses the route asynchronously: publish until it arrives (bounded)
            for i in range(50):
                await pub_nc.publish("orders.created", f"order-{i}".encode())
                await pub_nc.flush()
                try:
                    msg = await sub.next_msg(timeout=0.2)
                    return msg.data
                except nats.errors.TimeoutError:
                    continue
            return None
        finally:
            await pub_nc.close()
            await sub_nc.close()

    data = natstest.run(go())
    assert data is not None and data.startswith(b"order-")


def test_anonymous_and_wrong_password_refused():
    async def attempt(u):
        errors = []

        async def on_error(e):
            errors.append(str(e))

        try:
            nc = await nats.connect(
                u, allow_reconnect=False, max_reconnect_attempts=0, error_cb=on_error, connect_timeout=3
            )
        except (NoServersError, nats.errors.Error, OSError) as exc:
            errors.append(str(exc))
            return errors
        await nc.close()
        return None

    for u in (url(NODES[0], user=None), url(NODES[0], password="wrong")):
        errors = natstest.run(attempt(u))
        assert errors, f"{u.split('@')[-1]} accepted the client"
        assert any("authorization violation" in e.lower() for e in errors), errors


def _intruder_config(password, node_ip):
    user_pass = f"route:{password}"
    return f"""
server_name: "intruder"
listen: "127.0.0.1:-1"
http: "127.0.0.1:18299"
cluster {{
  name: "nats"
  listen: "0.0.0.0:16299"
  routes: ["nats-route://{user_pass}@{node_ip}:6222"]
  authorization {{ user: "route", password: "{password}" }}
}}
"""


@pytest.mark.parametrize("password,joins", [("wrong-route-password", False), (ROUTE_PASS, True)])
def test_route_password_required(password, joins):
    from urllib.parse import quote

    node = NODES[0]
    cfg = _intruder_config(quote(password, safe=""), natstest.container_ip(node)).replace(
        f'password: "{quote(password, safe="")}"', f'password: "{password}"'
    )
    with natstest.LocalServer(cfg) as server:
        seen = False
        deadline = time.monotonic() + (8 if not joins else 20)
        while time.monotonic() < deadline:
            if "intruder" in natstest.route_names(host(node)):
                seen = True
                break
            time.sleep(0.5)
        log = server.output()
    assert seen is joins, log[-2000:]
    if not joins:
        assert "authorization violation" in log.lower() or "authentication" in log.lower(), log[-2000:]


def test_wrong_checksum_fails_before_anything_is_copied():
    """A tampered archive is refused on the controller; no host is touched."""
    mirror = os.path.join(natstest.PROJECT, "build", "mirror", "v2.15.1")
    tmp = tempfile.mkdtemp(prefix="hardened-nats-tampered-")
    try:
        src = os.path.join(mirror, "nats-server-v2.15.1-linux-amd64.tar.gz")
        bad_dir = os.path.join(tmp, "v9.9.9")
        os.makedirs(bad_dir)
        bad = os.path.join(bad_dir, "nats-server-v9.9.9-linux-amd64.tar.gz")
        with tarfile.open(src) as tin, tarfile.open(bad, "w:gz") as tout:
            for member in tin.getmembers():
                data = tin.extractfile(member).read() + b"tampered"
                member.name = member.name.replace("2.15.1", "9.9.9")
                member.size = len(data)
                import io

                tout.addfile(member, io.BytesIO(data))
        # SHA256SUMS of something else: the checksum cannot match
        with open(os.path.join(bad_dir, "SHA256SUMS"), "w") as fh:
            fh.write(hashlib.sha256(b"genuine").hexdigest() + "  nats-server-v9.9.9-linux-amd64.tar.gz\n")
        before = {n: host(n).check_output("sha256sum /usr/local/bin/nats-server") for n in NODES}
        pids = {n: host(n).check_output("systemctl show -p MainPID --value nats-server") for n in NODES}
        result = natstest.ansible_playbook(
            "hardened.nats.site",
            "-e",
            "nats_server_version=9.9.9",
            "-e",
            f"nats_server_archive_url=file://{bad}",
            "-e",
            f"nats_server_checksums_url=file://{bad_dir}/SHA256SUMS",
            "-e",
            f"nats_server_download_dir={tmp}/downloads",
        )
        out = result.stdout + result.stderr
        assert result.returncode != 0, out[-3000:]
        assert "checksum" in out.lower(), out[-3000:]
        assert not os.path.exists(os.path.join(tmp, "downloads", "nats-server-v9.9.9-linux-amd64.tar.gz"))
        for n in NODES:
            assert host(n).check_output("sha256sum /usr/local/bin/nats-server") == before[n]
            assert host(n).check_output("systemctl show -p MainPID --value nats-server") == pids[n]
            assert not host(n).file("/etc/nats-server/restart-required").exists
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_unknown_setting_never_reaches_a_node():
    """A config nats-server refuses is caught by -t on every node; none is reloaded."""
    digests = {n: natstest.monitor(host(n), "/varz")["config_digest"] for n in NODES}
    result = natstest.ansible_playbook("hardened.nats.site", "-e", "nats_server_extra_config='no_such_option: 1'")
    out = result.stdout + result.stderr
    assert result.returncode != 0, out[-3000:]
    assert "nats-server -t refused the staged config" in out, out[-3000:]
    assert "no_such_option" in out
    for n in NODES:
        assert natstest.monitor(host(n), "/varz")["config_digest"] == digests[n]
    # put the staged config back so the scenario ends as converged
    again = natstest.ansible_playbook("hardened.nats.site")
    assert again.returncode == 0, (again.stdout + again.stderr)[-3000:]
