"""nats_server_rollout against two real nats-servers on loopback (no systemd: status and check only)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time

import pytest
from ansible_collections.hardened.nats.plugins.modules import nats_server_rollout
from nats_module_helpers import BIN


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """Two routed servers; yields their monitor URLs, names and config digests."""
    tmp = tmp_path_factory.mktemp("rollout")
    binary = shutil.which("nats-server", path=BIN)
    ports = {n: (_free_port(), _free_port(), _free_port()) for n in ("a", "b")}
    procs, info = [], {}
    for name, (client, http, cluster) in ports.items():
        other = ports["b" if name == "a" else "a"]
        conf = tmp / f"{name}.conf"
        conf.write_text(
            f'server_name: "{name}"\nlisten: "127.0.0.1:{client}"\nhttp: "127.0.0.1:{http}"\n'
            f'cluster {{ name: "t", listen: "127.0.0.1:{cluster}", routes: ["nats-route://127.0.0.1:{other[2]}"] }}\n'
        )
        out = subprocess.run([binary, "-t", "-c", str(conf)], capture_output=True, text=True, check=True)
        digest = (out.stdout + out.stderr).split("(")[1].split(")")[0]
        log = open(tmp / f"{name}.log", "w")
        procs.append(subprocess.Popen([binary, "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT))
        info[name] = {"url": f"http://127.0.0.1:{http}", "digest": digest}
    time.sleep(0.3)
    yield info
    for p in procs:
        p.terminate()
        p.wait(10)


def _args(**kw):
    base = {"config_dir": "/nonexistent", "timeout": 10, "poll_interval": 0.05}
    base.update(kw)
    return base


def test_check_waits_for_the_full_mesh(run_module, pair):
    result = run_module(
        nats_server_rollout.main,
        _args(action="check", monitor_url=pair["a"]["url"], expected_routes=["b"], expected_digest=pair["a"]["digest"]),
    )
    assert result["changed"] is False
    assert result["healthy"] is True
    assert result["routes"] == ["b"]
    assert result["varz"]["server_name"] == "a"
    assert result["varz"]["config_digest"] == pair["a"]["digest"]


def test_check_fails_naming_the_missing_peer(run_module, pair):
    result = run_module(
        nats_server_rollout.main,
        _args(action="check", monitor_url=pair["a"]["url"], expected_routes=["b", "c"], timeout=1, node="node-a"),
    )
    assert result.failed
    assert result["msg"].startswith("node-a: health not proven after 1 s")
    assert "routes to c missing (up: b)" in result["msg"]


def test_check_fails_on_a_different_digest(run_module, pair):
    result = run_module(
        nats_server_rollout.main,
        _args(action="check", monitor_url=pair["a"]["url"], expected_digest="sha256:" + "0" * 64, timeout=0.5),
    )
    assert result.failed
    assert pair["a"]["digest"] in result["msg"]


def test_status_never_fails(run_module):
    result = run_module(nats_server_rollout.main, _args(action="status", monitor_url="http://127.0.0.1:1"))
    assert result["changed"] is False
    assert result["reachable"] is False
    assert result["healthy"] is False


def test_check_mode_does_not_act(run_module, pair):
    result = run_module(nats_server_rollout.main, _args(action="reload", monitor_url=pair["a"]["url"]), check_mode=True)
    assert result["changed"] is True
    assert not os.path.exists("/nonexistent")
