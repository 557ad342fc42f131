"""JetStream gate table: /jsz answers (shapes seen from nats-server 2.15.1) and what keeps them from whole."""

from __future__ import annotations

import copy

import pytest
from ansible_collections.hardened.nats.plugins.module_utils._nats_monitor import (
    jetstream_problems,
    jetstream_summary,
)


def peer(name, current=True, **kw):
    return {"name": name, "current": current, "active": 1000, "peer": name.upper(), **kw}


def jsz(server="n1", meta_leader="n1", meta_replicas=None, streams=None):
    """A /jsz?accounts=true&streams=true&consumers=true answer as `server` gives it."""
    return {
        "config": {"max_memory": 1, "max_storage": 1, "store_dir": "/var/lib/nats/jetstream"},
        "server_id": "N" + server,
        "streams": len(streams or []),
        "consumers": 0,
        "messages": 10,
        "meta_cluster": {
            "name": "c",
            "leader": meta_leader,
            "replicas": meta_replicas if meta_replicas is not None else [peer("n2"), peer("n3")],
            "cluster_size": 3,
        },
        "account_details": [{"name": "$G", "id": "$G", "stream_detail": streams or []}],
    }


def stream(name="ORDERS", leader="n1", replicas=None, consumers=None):
    s = {
        "name": name,
        "cluster": {
            "name": "c",
            "leader": leader,
            "replicas": [peer("n2"), peer("n3")] if replicas is None else replicas,
        },
        "state": {"messages": 10, "first_seq": 1, "last_seq": 10},
    }
    if consumers is not None:
        s["consumer_detail"] = consumers
    return s


def consumer(name="worker", leader="n1", replicas=None):
    return {
        "stream_name": "ORDERS",
        "name": name,
        "cluster": {
            "name": "c",
            "leader": leader,
            "replicas": [peer("n2"), peer("n3")] if replicas is None else replicas,
        },
    }


CASES = [
    # (id, server name, jsz, max_lag, expected problems)
    ("whole on the leader", "n1", jsz(streams=[stream(consumers=[consumer()])]), 0, []),
    # a follower lists the other follower as not current: it does not know, so it is not judged there
    (
        "follower view is not judged",
        "n2",
        jsz(
            server="n2",
            meta_leader="n1",
            meta_replicas=[peer("n1"), peer("n3", current=False)],
            streams=[stream(leader="n1", replicas=[peer("n1"), peer("n3", current=False)])],
        ),
        0,
        [],
    ),
    ("no meta leader", "n1", jsz(meta_leader="", streams=[stream()]), 0, ["meta group c has no leader"]),
    # JetStream being turned on in a running cluster: no meta group yet, and nothing to lose
    ("no meta leader and no stream", "n1", jsz(meta_leader=""), 0, []),
    (
        "meta peer behind",
        "n1",
        jsz(meta_replicas=[peer("n2"), peer("n3", current=False, lag=4)]),
        0,
        ["meta group c: replica n3 not current (lag 4)"],
    ),
    (
        "meta peer offline",
        "n1",
        jsz(meta_replicas=[peer("n2"), peer("n3", offline=True)]),
        0,
        ["meta group c: replica n3 offline"],
    ),
    (
        "stream without leader",
        "n2",
        jsz(server="n2", streams=[stream(leader="")]),
        0,
        ["stream $G/ORDERS has no leader"],
    ),
    (
        "stream replica not current",
        "n1",
        jsz(streams=[stream(replicas=[peer("n2"), peer("n3", current=False)])]),
        0,
        ["stream $G/ORDERS: replica n3 not current (lag 0)"],
    ),
    (
        "stream lag over the limit",
        "n1",
        jsz(streams=[stream(replicas=[peer("n2", lag=3), peer("n3")])]),
        2,
        ["stream $G/ORDERS: replica n2 lags by 3"],
    ),
    ("stream lag within the limit", "n1", jsz(streams=[stream(replicas=[peer("n2", lag=2), peer("n3")])]), 2, []),
    ("R1 stream needs nothing", "n1", jsz(streams=[stream(leader="", replicas=[])]), 0, []),
    (
        "consumer replica not current",
        "n1",
        jsz(
            streams=[
                stream(
                    leader="n2",
                    replicas=[peer("n2"), peer("n3", current=False)],
                    consumers=[consumer(replicas=[peer("n2", current=False), peer("n3")])],
                )
            ]
        ),
        0,
        ["consumer $G/ORDERS/worker: replica n2 not current (lag 0)"],
    ),
    (
        "consumer without leader",
        "n3",
        jsz(server="n3", streams=[stream(leader="n1", consumers=[consumer(leader="")])]),
        0,
        ["consumer $G/ORDERS/worker has no leader"],
    ),
    ("JetStream not running here", "n1", {"disabled": True, "config": {"max_memory": 0}}, 0, []),
    ("not a jsz answer", "n1", None, 0, ["jsz answer not understood"]),
]


@pytest.mark.parametrize(("server", "data", "max_lag", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_jetstream_problems(server, data, max_lag, expected):
    assert jetstream_problems(copy.deepcopy(data), server, max_lag=max_lag) == expected


def test_standalone_server_has_no_meta_group():
    data = jsz(streams=[stream(leader="", replicas=[])])
    del data["meta_cluster"]
    assert jetstream_problems(data, "solo") == []


def test_summary_holds_counts_only():
    summary = jetstream_summary(jsz(streams=[stream()]))
    assert summary == {
        "enabled": True,
        "streams": 1,
        "consumers": 0,
        "messages": 10,
        "meta_leader": "n1",
        "meta_cluster_size": 3,
    }
    assert jetstream_summary(None) == {}


def test_a_silent_follower_is_not_current():
    """A leader keeps a dead follower 'current' for about 10 s; its silence gives it away sooner."""
    data = jsz(streams=[stream(replicas=[peer("n2"), peer("n3", active=4_200_000_000)])])
    assert jetstream_problems(data, "n1") == ["stream $G/ORDERS: replica n3 silent for 4.2 s"]
    assert jetstream_problems(data, "n1", max_silence=5) == []


def test_ignored_servers_are_not_judged():
    """The gate before a node is taken down ignores that node's own replicas (it costs no quorum)."""
    data = jsz(
        meta_replicas=[peer("n2"), peer("n3", current=False)],
        streams=[stream(replicas=[peer("n2"), peer("n3", offline=True)])],
    )
    assert len(jetstream_problems(data, "n1")) == 2
    assert jetstream_problems(data, "n1", ignore=["n3"]) == []
    assert jetstream_problems(data, "n1", ignore=["n2"]) != []
