"""nats_server_host for real on this machine: directories in a temporary tree, owned by root.

Creating the nats user itself would change this machine's accounts, so that part runs on the
molecule hosts (molecule/cluster verifies the user, the group and every directory).
"""

from __future__ import annotations

import os
import pwd
import stat

import pytest
from ansible_collections.hardened.nats.plugins.modules import nats_server_host

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root")


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def _args(tmp_path, *dirs):
    return {
        "user": "root",
        "group": "root",
        "home": "/root",
        "shell": pwd.getpwnam("root").pw_shell,
        "directories": [{"path": str(tmp_path / d), "owner": "root", "group": "root", "mode": m} for d, m in dirs],
    }


def test_creates_then_reports_no_change(run_module, tmp_path):
    args = _args(tmp_path, ("etc", "0750"), ("etc/staged", "0750"), ("data/deep", "0700"))
    first = run_module(nats_server_host.main, args)
    assert first["changed"] is True
    assert sorted(first["changes"]) == sorted(f"{tmp_path / d} created" for d in ("etc", "etc/staged", "data/deep"))
    assert _mode(tmp_path / "etc") == 0o750
    assert _mode(tmp_path / "data" / "deep") == 0o700
    second = run_module(nats_server_host.main, args)
    assert second["changed"] is False
    assert second["changes"] == []


def test_corrects_a_drifted_mode(run_module, tmp_path):
    (tmp_path / "etc").mkdir(mode=0o755)
    os.chmod(tmp_path / "etc", 0o777)
    result = run_module(nats_server_host.main, _args(tmp_path, ("etc", "0750")), diff=True)
    assert result["changed"] is True
    assert _mode(tmp_path / "etc") == 0o750
    assert result["diff"]["before"][str(tmp_path / "etc")] == "root:root 0777"
    assert result["diff"]["after"][str(tmp_path / "etc")] == "root:root 0750"


def test_check_mode_changes_nothing(run_module, tmp_path):
    result = run_module(nats_server_host.main, _args(tmp_path, ("etc", "0750")), check_mode=True)
    assert result["changed"] is True
    assert not (tmp_path / "etc").exists()


def test_check_mode_reports_a_missing_user(run_module, tmp_path):
    args = dict(_args(tmp_path, ("etc", "0750")), user="hardened-nats-test-nobody", group="hardened-nats-test-nogroup")
    result = run_module(nats_server_host.main, args, check_mode=True)
    assert "group hardened-nats-test-nogroup created" in result["changes"]
    assert "user hardened-nats-test-nobody created" in result["changes"]
    assert not (tmp_path / "etc").exists()


@pytest.mark.parametrize(
    ("mode", "message"),
    [("rwx", "is not an octal string"), ("0750", "is not a directory")],
)
def test_refusals(run_module, tmp_path, mode, message):
    (tmp_path / "etc").write_text("a file where a directory belongs\n")
    result = run_module(nats_server_host.main, _args(tmp_path, ("etc", mode)))
    assert result.failed
    assert message in result["msg"]
