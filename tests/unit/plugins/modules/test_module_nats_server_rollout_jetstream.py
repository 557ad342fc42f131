"""nats_server_rollout's JetStream gate against a real 3-node JetStream cluster on loopback."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time

import nats
import pytest
from ansible_collections.hardened.nats.plugins.modules import nats_server_rollout
from nats_test_helpers import BIN, free_port

NAMES = ("j1", "j2", "j3")


def _args(**kw):
    base = {"action": "check", "config_dir": "/nonexistent", "timeout": 20, "poll_interval": 0.1, "jetstream": True}
    base.update(kw)
    return base


class Cluster:
    def __init__(self, tmp, jetstream=NAMES):
        self.binary = shutil.which("nats-server", path=BIN)
        self.tmp = tmp
        self.jetstream = jetstream
        self.ports = {n: (free_port(), free_port(), free_port()) for n in NAMES}
        self.procs = {}

    def conf(self, name):
        client, http, cluster = self.ports[name]
        routes = ", ".join(f'"nats-route://127.0.0.1:{self.ports[n][2]}"' for n in NAMES if n != name)
        path = self.tmp / f"{name}.conf"
        path.write_text(
            f'server_name: "{name}"\nlisten: "127.0.0.1:{client}"\nhttp: "127.0.0.1:{http}"\n'
            + (
                f'jetstream {{ store_dir: "{self.tmp / name}", max_memory_store: 16777216, max_file_store: 67108864 }}'
                "\n"
                if name in self.jetstream
                else ""
            )
            + f'cluster {{ name: "t", listen: "127.0.0.1:{cluster}", routes: [{routes}] }}\n'
        )
        return path

    def start(self, name):
        log = open(self.tmp / f"{name}.log", "a")
        self.procs[name] = subprocess.Popen(
            [self.binary, "-c", str(self.conf(name))], stdout=log, stderr=subprocess.STDOUT
        )

    def stop(self, name):
        proc = self.procs.pop(name)
        proc.kill()
        proc.wait(10)

    def url(self, name):
        return f"http://127.0.0.1:{self.ports[name][1]}"

    def client_urls(self):
        return [f"nats://127.0.0.1:{self.ports[n][0]}" for n in NAMES]

    def peers(self, name):
        return [n for n in NAMES if n != name]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = Cluster(tmp_path_factory.mktemp("js"))
    for name in NAMES:
        c.start(name)
    yield c
    for name in list(c.procs):
        c.stop(name)


async def _make_r3_stream(urls):
    nc = await nats.connect(servers=urls, connect_timeout=5)
    try:
        js = nc.jetstream()
        for _attempt in range(100):  # the meta group needs a leader first (bounded)
            try:
                await js.add_stream(name="GATE", subjects=["gate.>"], num_replicas=3)
                break
            except Exception:  # noqa: BLE001 - not ready yet
                await asyncio.sleep(0.2)
        else:
            raise AssertionError("no R3 stream")
        await js.add_consumer("GATE", durable_name="w", ack_policy="explicit")
        for i in range(20):
            await js.publish("gate.x", str(i).encode())
    finally:
        await nc.close()


def test_every_node_is_whole_with_an_r3_stream(run_module, cluster):
    for name in NAMES:
        result = run_module(
            nats_server_rollout.main,
            _args(monitor_url=cluster.url(name), expected_routes=cluster.peers(name), node=name),
        )
        assert result["healthy"] is True, result
    asyncio.run(asyncio.wait_for(_make_r3_stream(cluster.client_urls()), 60))
    seen = []
    for name in NAMES:
        result = run_module(
            nats_server_rollout.main,
            _args(monitor_url=cluster.url(name), expected_routes=cluster.peers(name), node=name),
        )
        assert result["healthy"] is True, result
        assert result["jetstream"]["problems"] == []
        assert result["jetstream"]["meta_cluster_size"] == 3
        seen.append(result["jetstream"]["streams"])
    assert seen == [1, 1, 1]


def test_a_replica_down_blocks_the_gate_on_a_leader(run_module, cluster):
    """With one node down, the nodes leading the stream or the meta group name the replica that is missing."""
    down = NAMES[2]
    cluster.stop(down)
    time.sleep(4)  # longer than a live follower's silence between two heartbeats
    try:
        failures = []
        for name in NAMES[:2]:
            result = run_module(
                nats_server_rollout.main, _args(monitor_url=cluster.url(name), node=name, timeout=3, poll_interval=0.2)
            )
            if result.failed:
                failures.append(result["msg"])
        assert failures, "no node saw the missing replica"
        assert any("JetStream not whole" in m and f"replica {down}" in m for m in failures), failures
        # the gate before the down node is touched does not judge that node's replicas: the others pass
        for name in NAMES[:2]:
            result = run_module(
                nats_server_rollout.main,
                _args(monitor_url=cluster.url(name), node=name, timeout=5, jetstream_ignore=[down]),
            )
            assert result["healthy"] is True, result
    finally:
        cluster.start(down)
    # back: every node whole again (the restarted one catches up)
    time.sleep(0.5)
    for name in NAMES:
        result = run_module(
            nats_server_rollout.main,
            _args(monitor_url=cluster.url(name), expected_routes=cluster.peers(name), node=name),
        )
        assert result["healthy"] is True, result


def test_a_server_without_jetstream_has_nothing_to_keep(run_module, tmp_path):
    """A node that does not run JetStream yet passes the gate: JetStream can be turned on in a running cluster."""
    http = free_port()
    conf = tmp_path / "plain.conf"
    conf.write_text(f'server_name: "plain"\nlisten: "127.0.0.1:{free_port()}"\nhttp: "127.0.0.1:{http}"\n')
    proc = subprocess.Popen(
        [shutil.which("nats-server", path=BIN), "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    try:
        result = run_module(
            nats_server_rollout.main, _args(monitor_url=f"http://127.0.0.1:{http}", timeout=5, node="plain")
        )
        assert result["healthy"] is True, result
        assert result["jetstream"]["enabled"] is False
        assert result["jetstream"]["problems"] == []
    finally:
        proc.terminate()
        proc.wait(10)


def test_turning_jetstream_on_in_a_running_cluster(run_module, tmp_path):
    """The first node restarted with JetStream has no meta leader yet (no majority runs it): with no stream to
    lose it passes, and so do the nodes that do not run JetStream yet, so the rollout can go on."""
    c = Cluster(tmp_path, jetstream=NAMES[:1])
    for name in NAMES:
        c.start(name)
    try:
        for name in NAMES:
            result = run_module(
                nats_server_rollout.main,
                _args(monitor_url=c.url(name), expected_routes=c.peers(name), node=name, timeout=10),
            )
            assert result["healthy"] is True, result
            assert result["jetstream"]["enabled"] is (name in NAMES[:1])
    finally:
        for name in list(c.procs):
            c.stop(name)
