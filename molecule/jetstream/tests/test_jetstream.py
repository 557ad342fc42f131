"""From the controller: an R3 stream through a rolling restart under live publishing.

The rolling restart is a restart-only JetStream change (max_file_store) applied with a
second ansible-playbook run, the way an operator would. It alternates between two values,
so that ``molecule verify`` can run twice.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
import uuid

import nats
import natstest
import pytest
from nats.js.api import StorageType, StreamConfig

NODES = natstest.hosts()
USER, PASSWORD = "app", "js-app-secret-pass"
STREAM, SUBJECT = "JSTEST", "jstest.orders"
STORE = "/var/lib/nats/store"
FILE_STORE = (1073741824, 2147483648)  # the two values the restart alternates between
BEFORE = 200  # acknowledged messages published before the rollout
RATE = 20  # messages per second during the rollout
MAX_DURING = 20 * 600  # never more than this during the rollout (the playbook times out at 600 s)
RUN = uuid.uuid4().hex[:12]
MARKER = f"JSPLAINTEXT-{RUN}"
COUNTS_FILE = os.path.join(natstest.PROJECT, "build", "test-results", f"jetstream-counts-{natstest.PASS}.json")

# One `podman exec` per read: this server's view of the stream (its own replica).
PROBE = """
import json, urllib.request
def get(path):
    return json.load(urllib.request.urlopen("http://127.0.0.1:8222" + path, timeout=3))
jsz = get("/jsz?accounts=true&streams=true")
out = {"server": get("/varz")["server_name"], "start": get("/varz")["start"], "stream": None}
for acc in jsz.get("account_details") or []:
    for s in acc.get("stream_detail") or []:
        if s["name"] == "STREAM":
            out["stream"] = {"state": s["state"], "leader": s["cluster"].get("leader", "")}
print(json.dumps(out))
""".replace("STREAM", STREAM)


def urls():
    return [f"nats://{natstest.container_ip(n)}:4222" for n in NODES]


def replica(name):
    return json.loads(natstest.podman("exec", name, "python3", "-c", PROBE).stdout)


def file_store_now():
    return natstest.monitor(natstest.host(NODES[0]), "/jsz")["config"]["max_storage"]


async def connect(**kw):
    return await nats.connect(
        servers=urls(),
        user=USER,
        password=PASSWORD,
        connect_timeout=3,
        max_reconnect_attempts=-1,
        reconnect_time_wait=0.5,
        **kw,
    )


async def publish(js, i, acked, counts):
    """Publish message i until acknowledged (bounded); the message ID makes retries safe."""
    payload = f"{MARKER}-{i:06d}".encode()
    for _attempt in range(20):
        try:
            ack = await js.publish(SUBJECT, payload, timeout=2, headers={"Nats-Msg-Id": f"{RUN}-{i}"})
        except Exception as exc:  # noqa: BLE001 - a refused or lost publish is retried, then counted
            counts["retries"] += 1
            counts["last_error"] = repr(exc)
            await asyncio.sleep(0.25)
            continue
        acked[ack.seq] = payload
        return True
    counts["unacknowledged"] += 1
    return False


async def _scenario(run_playbook):
    counts = {"published": 0, "retries": 0, "unacknowledged": 0, "last_error": ""}
    acked = {}
    nc = await connect()
    js = nc.jetstream()
    try:
        await js.delete_stream(STREAM)
    except Exception:  # noqa: BLE001 - absent on the first run
        pass
    info = await js.add_stream(
        StreamConfig(name=STREAM, subjects=[SUBJECT], num_replicas=3, storage=StorageType.FILE, duplicate_window=600)
    )
    assert info.config.num_replicas == 3
    for i in range(BEFORE):
        counts["published"] += 1
        await publish(js, i, acked, counts)
    counts["acked_before"] = len(acked)

    done = threading.Event()
    result = {}

    def worker():
        try:
            result["run"] = run_playbook()
        finally:
            done.set()

    thread = threading.Thread(target=worker, daemon=True)
    thread.start()
    i = BEFORE
    next_at = time.monotonic()
    tail_until = None
    while counts["published"] < BEFORE + MAX_DURING:
        if done.is_set() and tail_until is None:
            tail_until = time.monotonic() + 2.0  # keep publishing for a moment after the playbook
        if tail_until is not None and time.monotonic() >= tail_until:
            break
        counts["published"] += 1
        await publish(js, i, acked, counts)
        i += 1
        next_at += 1.0 / RATE
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))
    thread.join(timeout=60)
    counts["acked"] = len(acked)
    counts["acked_during"] = counts["acked"] - counts["acked_before"]

    # every acknowledged message, read back through the stream leader, has its payload
    mismatched = 0
    for seq, payload in acked.items():
        msg = await js.get_msg(STREAM, seq)
        if msg.data != payload:
            mismatched += 1
    counts["mismatched"] = mismatched
    await nc.close()
    return counts, acked, result.get("run")


def test_three_nodes():
    assert len(NODES) == 3


def test_rolling_restart_loses_no_acknowledged_message():
    before = {n: replica(n)["start"] for n in NODES}
    target = FILE_STORE[1] if file_store_now() == FILE_STORE[0] else FILE_STORE[0]
    extra = json.dumps({"nats_server_jetstream_max_file_store": target})
    counts, acked, run = natstest.run(
        _scenario(lambda: natstest.ansible_playbook("-e", extra, "hardened.nats.site")), timeout=900
    )
    assert run is not None
    assert run.returncode == 0, (run.stdout + run.stderr)[-6000:]
    out = run.stdout
    # a restart-only change goes node by node through the JetStream gates, never through a reload
    for name in NODES:
        assert f"Roll out {name}" in out, out[-4000:]
        assert f"Wait until JetStream is whole again after {name}" in out, out[-4000:]

    # every node restarted (a new start time, not a reload), in turn, with the new limit
    after = {n: replica(n)["start"] for n in NODES}
    assert all(after[n] != before[n] for n in NODES), (before, after)
    assert file_store_now() == target

    # each replica holds every acknowledged message: same state everywhere, no gap, no loss
    top = max(acked)
    states = {}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        states = {n: replica(n)["stream"] for n in NODES}
        if all(s and s["state"]["last_seq"] >= top for s in states.values()):
            break
        time.sleep(1)
    per_replica = {}
    for name, st in states.items():
        assert st is not None, f"{name} has no replica of {STREAM}"
        state = st["state"]
        missing = [seq for seq in acked if not (state["first_seq"] <= seq <= state["last_seq"])]
        assert state["first_seq"] == 1, (name, state)
        assert state.get("num_deleted", 0) == 0, (name, state)
        assert state["messages"] == state["last_seq"], (name, state)
        assert not missing, (name, len(missing))
        per_replica[name] = state["messages"]
    assert len({s["state"]["last_seq"] for s in states.values()}) == 1, states
    assert len({s["state"]["bytes"] for s in states.values()}) == 1, states

    counts.update(
        run=RUN,
        target_max_file_store=target,
        found_on_replica=per_replica,
        lost=0 if counts["mismatched"] == 0 else counts["mismatched"],
    )
    os.makedirs(os.path.dirname(COUNTS_FILE), exist_ok=True)
    with open(COUNTS_FILE, "w") as fh:
        json.dump(counts, fh, indent=1)
    print("jetstream counts:", counts)
    assert counts["mismatched"] == 0, counts
    assert counts["acked_during"] >= RATE, counts  # traffic really ran during the rollout
    assert counts["acked"] == counts["published"] - counts["unacknowledged"], counts
    # messages stored beyond the acknowledged ones can only be publishes whose ack was lost
    for name, stored in per_replica.items():
        assert stored >= counts["acked"], (name, stored, counts)
        assert stored <= counts["published"], (name, stored, counts)


@pytest.mark.parametrize("name", NODES)
def test_data_files_are_encrypted(name):
    """The unique payload marker of this run is on no file of the store (messages are there)."""
    size = natstest.podman("exec", name, "sh", "-c", f"cat $(find {STORE} -name '*.blk') | wc -c").stdout
    assert int(size.strip()) > BEFORE * len(MARKER), size
    # the check can find the marker: a plaintext copy outside the store is found
    probe = natstest.podman(
        "exec", name, "sh", "-c", f"echo {MARKER}-probe > /tmp/probe && grep -rl {MARKER} /tmp/probe", check=False
    )
    assert probe.returncode == 0 and "/tmp/probe" in probe.stdout
    found = natstest.podman("exec", name, "grep", "-rl", MARKER, STORE, check=False)
    assert found.returncode == 1, found.stdout  # 1: no file matched
    assert found.stdout == ""
