"""From the controller: enable_auth under live traffic, and the rollout's fault cases.

Tests run in file order. Each starts from the converged OPEN cluster (the
``open_cluster`` fixture converges again when an earlier test left it otherwise)
and puts back what it broke, so that ``molecule verify`` can run twice.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import tempfile
import threading
import time
from datetime import datetime
from urllib.parse import quote

import nats
import natstest
import pytest
import testinfra.utils.ansible_runner
import yaml

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
NODES = testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY).get_hosts("nats_servers")
USER, PASSWORD = "app", "rolling-app-secret-1"
# The scenario's route password (.config/molecule/config.yml) and the one the rotation test moves to.
ROUTE_PASSWORD = "molecule-route-pass/with:odd@chars"
NEW_ROUTE_PASSWORD = "rolling-new-route-pass/2026:b"
MAX_ROTATION_LOSS = 10  # per subscriber, across the three phases of a route password rotation (see the test)
RESULTS = os.path.join(os.environ.get("MOLECULE_PROJECT_DIRECTORY", "."), "build", "test-results")
UNIT = "nats-server"
SUBJECT = "rolling.traffic"
RATE = 50  # messages per second from the publisher
MAX_SECONDS = 900  # the publisher never runs longer than this (the playbook times out at 600 s)
DROP_IN = f"/etc/systemd/system/{UNIT}.service.d/zz-test-die-on-reload.conf"


# Every read goes through one `podman exec` (the testinfra ansible backend costs seconds per call).
PROBE = """
import json, subprocess, urllib.request
def get(path):
    try:
        return json.load(urllib.request.urlopen("http://127.0.0.1:8222" + path, timeout=3))
    except Exception as exc:
        return {"error": str(exc)}
def sha(path):
    try:
        return subprocess.run(["sha256sum", path], capture_output=True, text=True).stdout.split()[0]
    except Exception:
        return ""
def out(*args):
    return subprocess.run(args, capture_output=True, text=True).stdout.strip()
active = out("systemctl", "is-active", "UNIT")
pid = out("systemctl", "show", "-p", "MainPID", "--value", "UNIT")
routez = get("/routez")
print(json.dumps({"varz": get("/varz"), "healthz": get("/healthz"), "active": active, "pid": pid,
                  "routes": sorted({r.get("remote_name") for r in routez.get("routes") or []} - {None}),
                  "live": sha("/etc/nats-server/nats-server.conf"),
                  "staged": sha("/etc/nats-server/staged/nats-server.conf")}))
""".replace("UNIT", UNIT)


def sh(name, command):
    """Run a shell command on a node as root; returns the completed process."""
    return natstest.podman("exec", name, "sh", "-c", command, check=False)


def state(name):
    return json.loads(natstest.podman("exec", name, "python3", "-c", PROBE).stdout)


def varz(name):
    return state(name)["varz"]


def url(name, credentials=True):
    cred = f"{USER}:{PASSWORD}@" if credentials else ""
    return f"nats://{cred}{natstest.container_ip(name)}:4222"


def snapshot(name):
    """What must not change on a node that the rollout did not reach."""
    st = state(name)
    return {
        "config_digest": st["varz"].get("config_digest"),
        "config_load_time": st["varz"].get("config_load_time"),
        "pid": st["pid"],
        "live": st["live"],
    }


def healthy(name, st=None):
    st = st or state(name)
    return (
        st["active"] == "active"
        and st["healthz"].get("status") == "ok"
        and st["routes"] == sorted(n for n in NODES if n != name)
    )


def wait_healthy(timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(healthy(n) for n in NODES):
            return
        time.sleep(1)
    raise AssertionError(f"cluster not healthy after {timeout} s: {[n for n in NODES if not healthy(n)]}")


def converge_open():
    """hardened.nats.site with the scenario's inventory: the open cluster, rolled out node by node."""
    result = natstest.ansible_playbook("hardened.nats.site")
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    wait_healthy()


class TargetInventory:
    """A second inventory source holding the target, as an operator would edit it before enable_auth."""

    def __init__(self, group_vars=None, host_vars=None):
        self.dir = tempfile.mkdtemp(prefix="hardened-nats-rolling-")
        os.chmod(self.dir, 0o700)
        os.makedirs(os.path.join(self.dir, "group_vars"))
        os.makedirs(os.path.join(self.dir, "host_vars"))
        self.path = os.path.join(self.dir, "target.yml")
        with open(self.path, "w") as fh:
            yaml.safe_dump({"nats_servers": {"hosts": {n: None for n in NODES}}}, fh)
        gv = {"nats_server_users": [{"name": USER, "password": PASSWORD}], **(group_vars or {})}
        with open(os.path.join(self.dir, "group_vars", "nats_servers.yml"), "w") as fh:
            yaml.safe_dump(gv, fh)
        for name, hv in (host_vars or {}).items():
            with open(os.path.join(self.dir, "host_vars", f"{name}.yml"), "w") as fh:
                yaml.safe_dump(hv, fh)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        shutil.rmtree(self.dir, ignore_errors=True)


def enable_auth(target, json_output=False):
    """Run hardened.nats.enable_auth with the scenario's inventory plus the target."""
    saved = os.environ.get("ANSIBLE_STDOUT_CALLBACK")
    if json_output:
        os.environ["ANSIBLE_STDOUT_CALLBACK"] = "ansible.posix.json"
    try:
        return natstest.ansible_playbook("-i", target.path, "hardened.nats.enable_auth")
    finally:
        if json_output:
            if saved is None:
                os.environ.pop("ANSIBLE_STDOUT_CALLBACK", None)
            else:
                os.environ["ANSIBLE_STDOUT_CALLBACK"] = saved


@pytest.fixture
def open_cluster():
    """The converged open cluster, healthy; converge again if an earlier test left it otherwise."""
    for name in NODES:
        sh(name, f"rm -f {DROP_IN} && systemctl daemon-reload && systemctl reset-failed {UNIT}")
    states = {n: state(n) for n in NODES}
    if not all(healthy(n, st) and not st["varz"].get("auth_required", False) for n, st in states.items()):
        converge_open()
    wait_healthy()
    for name in NODES:
        assert not varz(name).get("auth_required", False), f"{name} is not open"
    yield


def test_three_nodes():
    assert NODES == ["rolling-nats1", "rolling-nats2", "rolling-nats3"]


def test_refuses_to_start_when_a_node_is_stopped(open_cluster):
    stopped = NODES[2]
    others = NODES[:2]
    before = {n: snapshot(n) for n in others}
    staged = {n: state(n)["staged"] for n in others}
    assert sh(stopped, f"systemctl stop {UNIT}").returncode == 0
    try:
        with TargetInventory() as target:
            result = enable_auth(target)
        out = result.stdout + result.stderr
        assert result.returncode != 0, out[-4000:]
        assert f"{stopped}: health not proven" in out, out[-4000:]
        assert "monitoring not reachable" in out, out[-4000:]
        # refused before the role ran: nothing staged, nothing reloaded or restarted
        assert "item=roll out" not in out and "plan the change" not in out, out[-4000:]
        for name in others:
            assert snapshot(name) == before[name], name
            assert state(name)["staged"] == staged[name]
            assert not varz(name).get("auth_required", False)
    finally:
        assert sh(stopped, f"systemctl start {UNIT}").returncode == 0
        wait_healthy()


def test_config_the_server_refuses_reloads_nothing(open_cluster):
    before = {n: snapshot(n) for n in NODES}
    with TargetInventory(group_vars={"nats_server_extra_config": "no_such_option: 1"}) as target:
        result = enable_auth(target)
    out = result.stdout + result.stderr
    assert result.returncode != 0, out[-4000:]
    assert "nats-server -t refused the staged config" in out, out[-4000:]
    assert "no_such_option" in out
    for name in NODES:
        assert snapshot(name) == before[name], name
        assert not varz(name).get("auth_required", False)
    # stage the open config again so that the scenario ends as converged
    converge_open()
    for name in NODES:
        assert snapshot(name) == before[name], name


def test_node_dying_mid_rollout_stops_it_there(open_cluster):
    """Node 2's unit is made to die on reload: node 1 is done, node 2 fails, node 3 untouched."""
    first, dying, last = NODES
    drop_in = "[Service]\nExecReload=\nExecReload=+/bin/kill -s KILL $MAINPID\nRestart=no\n"
    made = sh(
        dying, f"mkdir -p {os.path.dirname(DROP_IN)} && printf '%s' '{drop_in}' > {DROP_IN} && systemctl daemon-reload"
    )
    assert made.returncode == 0, made.stderr
    before_last = snapshot(last)
    before_first = snapshot(first)
    try:
        with TargetInventory(host_vars={dying: {"nats_server_rollout_timeout": 8}}) as target:
            result = enable_auth(target)
        out = result.stdout + result.stderr
        assert result.returncode != 0, out[-4000:]
        # the module fails at node 2: either the signal itself failed, or the node never proved the reload
        assert f"{dying}: reload not proven after 8 s" in out or f"{dying}: systemctl reload" in out, out[-4000:]
        assert f"item=roll out {last}" not in out, out[-4000:]
        # node 1 took the change
        assert varz(first)["config_digest"] != before_first["config_digest"]
        assert varz(first).get("auth_required") is True
        # node 2 is down
        assert state(dying)["active"] != "active"
        # node 3: same config, same process, still serving (anonymous clients still get in)
        assert snapshot(last) == before_last
        assert not varz(last).get("auth_required", False)

        async def anonymous_round_trip():
            nc = await nats.connect(url(last, credentials=False), allow_reconnect=False, connect_timeout=3)
            try:
                sub = await nc.subscribe("rolling.still-serving")
                await nc.publish("rolling.still-serving", b"ok")
                return (await sub.next_msg(timeout=3)).data
            finally:
                await nc.close()

        assert natstest.run(anonymous_round_trip()) == b"ok"
    finally:
        sh(dying, f"rm -f {DROP_IN} && systemctl daemon-reload && systemctl reset-failed {UNIT}")
    # back to the open cluster: the role starts node 2 and reloads node 1
    converge_open()
    assert snapshot(last)["pid"] == before_last["pid"]


async def _traffic(run_playbook, anonymous_clients=True):
    """Live traffic around run_playbook (run in a thread). Returns the counts."""
    counts = {"published": 0, "disconnects": {}, "anon_disconnects": {}, "errors": []}
    received = {name: set() for name in NODES[1:]}
    clients = []

    def on_disconnect(key, name):
        async def cb():
            counts[key][name] = counts[key].get(name, 0) + 1

        counts[key].setdefault(name, 0)
        return cb

    async def on_error(exc):
        counts["errors"].append(repr(exc))

    async def credentialed(name, role):
        nc = await nats.connect(
            url(name),
            name=f"rolling-{role}-{name}",
            dont_randomize=True,
            connect_timeout=3,
            max_reconnect_attempts=10,
            disconnected_cb=on_disconnect("disconnects", f"{role}@{name}"),
            error_cb=on_error,
        )
        clients.append(nc)
        return nc

    pub = await credentialed(NODES[0], "pub")
    subs = {}
    for name in NODES[1:]:
        nc = await credentialed(name, "sub")

        def handler(name):
            async def cb(msg):
                if msg.subject == SUBJECT:
                    received[name].add(int(msg.data))
                else:
                    received[name].add(-1)

            return cb

        subs[name] = await nc.subscribe("rolling.>", cb=handler(name))
        await nc.flush()
    anonymous = {}
    for name in NODES if anonymous_clients else []:
        nc = await nats.connect(
            url(name, credentials=False),
            name=f"rolling-anonymous-{name}",
            allow_reconnect=False,
            connect_timeout=3,
            disconnected_cb=on_disconnect("anon_disconnects", name),
            error_cb=on_error,
        )
        anonymous[name] = nc
    counts["errors"].clear()

    # interest crosses the routes asynchronously: warm up until both subscribers hear node 1 (bounded)
    for _attempt in range(100):
        await pub.publish("rolling.warmup", b"-1")
        await pub.flush()
        await asyncio.sleep(0.1)
        if all(-1 in got for got in received.values()):
            break
    assert all(-1 in got for got in received.values()), "subscribers never heard the publisher"

    done = threading.Event()
    result = {}

    def worker():
        try:
            result["run"] = run_playbook()
        finally:
            done.set()

    thread = threading.Thread(target=worker, daemon=True)
    started = time.time()
    thread.start()
    interval = 1.0 / RATE
    next_at = time.monotonic()
    deadline = time.monotonic() + MAX_SECONDS
    tail_until = None
    while time.monotonic() < deadline:
        if done.is_set() and tail_until is None:
            tail_until = time.monotonic() + 1.0  # keep publishing for a second after the playbook
        if tail_until is not None and time.monotonic() >= tail_until:
            break
        await pub.publish(SUBJECT, str(counts["published"]).encode())
        counts["published"] += 1
        next_at += interval
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))
    await pub.flush()
    thread.join(timeout=MAX_SECONDS)
    # let the last messages arrive (bounded)
    want = set(range(counts["published"]))
    for _attempt in range(100):
        if all(want <= (got - {-1}) for got in received.values()):
            break
        await asyncio.sleep(0.1)
    counts["lost"] = {name: len(want - got) for name, got in received.items()}
    counts["outlived_playbook"] = tail_until is not None
    # read before close(): nats-py calls disconnected_cb on a close too
    seen = {"disconnects": dict(counts["disconnects"]), "anon_disconnects": dict(counts["anon_disconnects"])}
    counts["anon_closed"] = {name: nc.is_closed for name, nc in anonymous.items()}
    counts["cred_connected"] = {nc.options["name"]: nc.is_connected for nc in clients}
    for nc in clients + list(anonymous.values()):
        if not nc.is_closed:
            await nc.close()
    counts.update(seen, started=started, run=result.get("run"))
    return counts


def _rollout_windows(json_stdout):
    """(node, action, start, end) of every node the rolling handler acted on, in run order.

    The handler is one looped task ("Roll out the change node by node"); each item's result carries the
    module's own wall-clock window on that node (started_at: before the staged files are promoted,
    proven_at: when /varz, /healthz and /routez proved the change)."""
    data = json.loads(json_stdout[json_stdout.index("{") :])
    windows = []
    for play in data["plays"]:
        for task in play["tasks"]:
            # the json callback names role tasks "ROLE : NAME"
            if task["task"]["name"].split(" : ", 1)[-1] != "Roll out the change node by node":
                continue
            for res in task["hosts"].values():
                for item in res.get("results", []):
                    if item.get("skipped") or "started_at" not in item:
                        continue
                    windows.append((item["item"], item.get("action"), item["started_at"], item["proven_at"]))
    return windows


def _ts(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def test_enable_auth_under_live_traffic(open_cluster):
    with TargetInventory() as target:
        counts = natstest.run(_traffic(lambda: enable_auth(target, json_output=True)), timeout=MAX_SECONDS + 120)
    run = counts["run"]
    assert run is not None
    with open(os.path.join(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/tmp"), "enable_auth.json"), "w") as fh:
        fh.write(run.stdout)
    assert run.returncode == 0, (run.stdout + run.stderr)[-6000:]
    report = (
        f"published={counts['published']} lost={counts['lost']} credentialed disconnects={counts['disconnects']} "
        f"anonymous disconnects={counts['anon_disconnects']} errors={counts['errors'][:5]}"
    )
    _record("enable_auth", report)
    assert counts["published"] > RATE and counts["outlived_playbook"], report
    # 0 lost: every message published reached each subscriber
    assert all(v == 0 for v in counts["lost"].values()), report
    # no credentialed client saw a disconnect, and each is still connected
    assert all(v == 0 for v in counts["disconnects"].values()), report
    assert all(counts["cred_connected"].values()), counts["cred_connected"]
    # every anonymous client was disconnected
    assert all(counts["anon_disconnects"][n] >= 1 for n in NODES), report
    assert all(counts["anon_closed"].values()), counts["anon_closed"]

    # rollouts never overlap and come in inventory order; each node reloaded inside its own window
    windows = _rollout_windows(run.stdout)
    print("rollout windows:", windows)
    assert windows, run.stdout[-4000:]
    assert all(action == "reload" for _node, action, _start, _end in windows), windows
    for (_node, _action, _start, end), (_next, _next_action, start, _next_end) in zip(
        windows, windows[1:], strict=False
    ):
        assert end <= start, windows
    phase = [w for w in windows if w[2] >= counts["started"]][-len(NODES) :]
    assert [w[0] for w in phase] == NODES, windows
    for name, _action, start, end in phase:
        load = _ts(varz(name)["config_load_time"])
        assert start - 0.5 <= load <= end + 0.5, (name, load, start, end)
    loads = [_ts(varz(n)["config_load_time"]) for n in NODES]
    assert loads == sorted(loads), loads

    for name in NODES:
        assert varz(name).get("auth_required") is True, name
    assert all(healthy(n) for n in NODES)


def _record(what, report):
    """Print the traffic figures and keep them beside the JUnit files (the pytest output hides prints)."""
    print(report)
    os.makedirs(RESULTS, exist_ok=True)
    with open(os.path.join(RESULTS, "rolling-traffic.txt"), "a") as fh:
        fh.write(f"{natstest.PASS} {what}: {report}\n")


def _live_config_has(password):
    """Whether the route password appears (URL-escaped in routes, quoted in cluster authorization) on every node."""
    escaped = quote(password, safe="")
    found = {}
    for name in NODES:
        text = natstest.podman("exec", name, "cat", "/etc/nats-server/nats-server.conf").stdout
        found[name] = escaped in text or json.dumps(password) in text
    return found


def test_route_password_rotation_under_live_traffic():
    """After enable_auth: rotate the route password (phases 0-2) with credentialed traffic flowing.

    Runs after test_enable_auth_under_live_traffic (file order): client authentication stays required
    throughout, so there are no anonymous clients. At the end every node presents and requires only the
    new password and keeps its full mesh; then the test rotates back so the scenario's inventory holds again.
    """
    if not all(varz(n).get("auth_required") for n in NODES):
        with TargetInventory() as target:
            assert enable_auth(target).returncode == 0
    wait_healthy()
    assert all(_live_config_has(ROUTE_PASSWORD).values())
    target_vars = {
        "nats_server_route_password": NEW_ROUTE_PASSWORD,
        "nats_server_route_password_previous": ROUTE_PASSWORD,
    }
    with TargetInventory(group_vars=target_vars) as target:
        counts = natstest.run(_traffic(lambda: enable_auth(target), anonymous_clients=False), timeout=MAX_SECONDS + 120)
    run = counts["run"]
    assert run is not None and run.returncode == 0, (run.stdout + run.stderr)[-6000:]
    report = (
        f"published={counts['published']} lost={counts['lost']} credentialed disconnects={counts['disconnects']} "
        f"errors={counts['errors'][:5]}"
    )
    _record("route password rotation", report)
    assert counts["published"] > RATE and counts["outlived_playbook"], report
    # A route URL carries its password, so each node's new URLs replace its routes at its reload (nats-server
    # closes the routes of removed URLs): core NATS messages crossing the cluster in that instant can be lost
    # (seen: 1 or 2 of ~4,400 at 50 msg/s). A route that stays down even a second loses 50; bound it well below.
    assert all(v <= MAX_ROTATION_LOSS for v in counts["lost"].values()), report
    assert all(v == 0 for v in counts["disconnects"].values()), report
    assert all(counts["cred_connected"].values()), counts["cred_connected"]
    # the old password is gone from every node, the new one is presented and required, the mesh is full
    assert not any(_live_config_has(ROUTE_PASSWORD).values())
    assert all(_live_config_has(NEW_ROUTE_PASSWORD).values())
    wait_healthy()
    for name in NODES:
        assert varz(name).get("auth_required") is True, name
    # rotate back: the scenario's inventory (and a second verify) expects the original route password
    back = {"nats_server_route_password": ROUTE_PASSWORD, "nats_server_route_password_previous": NEW_ROUTE_PASSWORD}
    with TargetInventory(group_vars=back) as target:
        result = enable_auth(target)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    assert all(_live_config_has(ROUTE_PASSWORD).values())
    wait_healthy()
