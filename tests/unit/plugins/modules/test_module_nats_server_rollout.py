"""nats_server_rollout against two real nats-servers on loopback (no systemd: status and check only)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import types

import pytest
from ansible_collections.hardened.nats.plugins.modules import nats_server_rollout
from nats_test_helpers import BIN, free_port


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """Two routed servers; yields their monitor URLs, names and config digests."""
    tmp = tmp_path_factory.mktemp("rollout")
    binary = shutil.which("nats-server", path=BIN)
    ports = {n: (free_port(), free_port(), free_port()) for n in ("a", "b")}
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


# --- action=plan: one round trip decides the rollout ------------------------------------------------

VALID = 'server_name: "n1"\nlisten: "127.0.0.1:4222"\nhttp: "127.0.0.1:8222"\n'
UNIT = "hardened-nats-test-no-such-unit"


def _plan_args(config_dir, **kw):
    args = {
        "action": "plan",
        "binary": shutil.which("nats-server", path=BIN),
        "config_dir": str(config_dir),
        "service": UNIT,
        "group": "root",
        "monitor_url": "http://127.0.0.1:1",
        "timeout": 1,
    }
    args.update(kw)
    return args


def _config_dir(tmp_path, live=None, staged=None):
    (tmp_path / "staged").mkdir()
    if live is not None:
        (tmp_path / "nats-server.conf").write_text(live)
    if staged is not None:
        (tmp_path / "staged" / "nats-server.conf").write_text(staged)
    return tmp_path


def test_plan_refused_config_changes_nothing_past_the_check(run_module, tmp_path):
    """A config nats-server refuses: the error is returned with long quoted values redacted, no action."""
    config_dir = _config_dir(tmp_path, live=VALID)
    secretish = "s3cret-route-password-0123456789"
    bad = VALID + f'no_such_option: "{secretish}"\n'
    result = run_module(
        nats_server_rollout.main,
        _plan_args(config_dir, config=bad, restart_settings={"server_name": "n1"}),
    )
    assert not result.failed
    assert "no_such_option" in result["config_error"]
    assert secretish not in result["config_error"]
    assert result["rollout_action"] == "none"
    assert (config_dir / "staged" / "nats-server.conf").read_text() == bad
    # Nothing after the check ran: no restart record was staged.
    assert not (config_dir / "staged" / "restart-settings.json").exists()
    assert oct((config_dir / "staged" / "nats-server.conf").stat().st_mode & 0o777) == "0o640"


def test_plan_stopped_node_is_started(run_module, tmp_path):
    """A unit that is not active is started (the role's first start), and enabling it is a change."""
    config_dir = _config_dir(tmp_path, live=VALID)
    (config_dir / "restart-settings.json").write_text(json.dumps({"a": 1}, indent=4, sort_keys=True) + "\n")
    result = run_module(
        nats_server_rollout.main, _plan_args(config_dir, config=VALID, restart_settings={"a": 1}), check_mode=True
    )
    assert result["rollout_action"] == "start"
    assert result["active"] is False
    assert result["changed"] is True
    assert result["changes"][-1] == f"unit {UNIT} enabled"


def test_plan_check_mode_writes_nothing(run_module, tmp_path):
    config_dir = _config_dir(tmp_path, live=VALID, staged=VALID)
    result = run_module(
        nats_server_rollout.main,
        _plan_args(
            config_dir, config=VALID + "# changed\n", restart_settings={"server_name": "n2"}, restart_required=True
        ),
        check_mode=True,
    )
    assert result["changed"] is True
    assert result["changes"][:2] == ["staged nats-server.conf written", "staged restart-settings.json written"]
    assert (config_dir / "staged" / "nats-server.conf").read_text() == VALID
    assert not (config_dir / "staged" / "restart-settings.json").exists()
    assert not (config_dir / "restart-required").exists()


def test_plan_redaction_keeps_field_names():
    text = 'f.conf:3:1: unknown field "no_such_option_with_a_long_name" value "abcdefghijklmnop"'
    redacted = nats_server_rollout.QUOTED_RE.sub('"<redacted>"', text)
    assert 'field "no_such_option_with_a_long_name"' in redacted
    assert "abcdefghijklmnop" not in redacted


def test_plan_removed_file_goes_live_only_with_the_rollout(run_module, tmp_path):
    """files: NAME: null drops the staged copy and notes the live one for removal; promote removes both."""
    config_dir = _config_dir(tmp_path, live=VALID, staged=VALID)
    (config_dir / "jetstream-key.conf").write_text('key: "old-key-material"\n')
    (config_dir / "staged" / "jetstream-key.conf").write_text('key: "old-key-material"\n')
    args = _plan_args(config_dir, config=VALID, files={"jetstream-key.conf": None}, enable=False)
    result = run_module(nats_server_rollout.main, args)
    assert result["changes"] == ["staged jetstream-key.conf removed", "staged .remove.jetstream-key.conf written"]
    assert not (config_dir / "staged" / "jetstream-key.conf").exists()
    # the running server still has its key until the rollout makes the staged set live
    assert (config_dir / "jetstream-key.conf").exists()
    assert run_module(nats_server_rollout.main, args)["changed"] is False

    node = nats_server_rollout.Node(
        types.SimpleNamespace(params={"config_dir": str(config_dir), "monitor_url": "", "node": "n"})
    )
    node.promote()
    assert not (config_dir / "jetstream-key.conf").exists()
    assert sorted(p.name for p in (config_dir / "staged").iterdir()) == ["nats-server.conf"]
    assert run_module(nats_server_rollout.main, args)["changed"] is False


def test_plan_refuses_a_file_named_like_a_removal_note(run_module, tmp_path):
    config_dir = _config_dir(tmp_path, live=VALID)
    result = run_module(nats_server_rollout.main, _plan_args(config_dir, config=VALID, files={".remove.x": "y"}))
    assert result.failed
