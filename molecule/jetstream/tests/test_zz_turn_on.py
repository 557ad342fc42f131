"""Runs last: JetStream turned off, then on again in the running cluster, node by node.

Turning it on in a running cluster goes through the rolling restart with the JetStream
gates: the first node restarted with JetStream has no meta leader until a second one
runs it, which the gates accept while there is no stream to lose. The stores are wiped
in between (JetStream off), so the scenario ends converged, as after converge.
"""

from __future__ import annotations

import json

import nats
import natstest

NODES = natstest.hosts()
USER, PASSWORD = "app", "js-app-secret-pass"
STORE = "/var/lib/nats/store"


def jsz(name):
    return natstest.monitor(natstest.host(name), "/jsz")


def started(name):
    return natstest.monitor(natstest.host(name), "/varz")["start"]


def test_jetstream_off_then_on_again_node_by_node():
    before = {n: started(n) for n in NODES}
    off = natstest.ansible_playbook("-e", json.dumps({"nats_server_jetstream_enabled": False}), "hardened.nats.site")
    assert off.returncode == 0, (off.stdout + off.stderr)[-6000:]
    assert all(jsz(n).get("disabled") for n in NODES)
    middle = {n: started(n) for n in NODES}
    assert all(middle[n] != before[n] for n in NODES)
    # the encryption key left the node with the config that used it
    for name in NODES:
        left = natstest.podman("exec", name, "ls", "-A", "/etc/nats-server", "/etc/nats-server/staged").stdout
        assert "jetstream-key.conf" not in left and ".remove." not in left, (name, left)

    for name in NODES:  # nothing to keep: JetStream starts over on empty stores
        natstest.podman("exec", name, "rm", "-rf", f"{STORE}/jetstream")

    on = natstest.ansible_playbook("hardened.nats.site")
    out = on.stdout + on.stderr
    assert on.returncode == 0, out[-6000:]
    for name in NODES:
        assert f"Roll out {name}" in out, out[-4000:]
        assert f"Wait until JetStream is whole again after {name}" in out, out[-4000:]
    after = {n: started(n) for n in NODES}
    assert all(after[n] != middle[n] for n in NODES)
    leaders = set()
    for name in NODES:
        data = jsz(name)
        assert not data.get("disabled"), name
        assert data["meta_cluster"]["cluster_size"] == 3, data["meta_cluster"]
        leaders.add(data["meta_cluster"]["leader"])
    assert len(leaders) == 1 and "" not in leaders, leaders

    async def r3_stream():
        nc = await nats.connect(
            servers=[f"nats://{natstest.container_ip(n)}:4222" for n in NODES],
            user=USER,
            password=PASSWORD,
            connect_timeout=3,
        )
        try:
            js = nc.jetstream()
            info = await js.add_stream(name="AFTERON", subjects=["afteron.>"], num_replicas=3)
            ack = await js.publish("afteron.x", b"1")
            await js.delete_stream("AFTERON")
            return info.config.num_replicas, ack.seq
        finally:
            await nc.close()

    assert natstest.run(r3_stream()) == (3, 1)
