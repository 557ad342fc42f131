"""nats_nkey driven for real: in-process main() and ansible-playbook."""

from __future__ import annotations

import json
import os
import stat

import nkeys
import pytest
from ansible_collections.hardened.nats.plugins.module_utils import _nats_keys as keys
from ansible_collections.hardened.nats.plugins.modules import nats_nkey

LETTERS = {"operator": "O", "account": "A", "user": "U", "server": "N", "cluster": "C", "curve": "X", "xkey": "X"}


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("kind", sorted(LETTERS))
def test_create_then_load(run_module, tmp_path, kind):
    path = tmp_path / "keys" / "sub" / f"{kind}.nk"
    first = run_module(nats_nkey.main, {"path": str(path), "type": kind})
    assert first["changed"] is True and first["created"] is True
    public = first["public_key"]
    assert public.startswith(LETTERS[kind]) and len(public) == 56
    assert "seed" not in first
    seed = path.read_text()
    assert seed.endswith("\n") and seed.startswith("S" + LETTERS[kind])
    assert seed.strip() not in json.dumps(first)
    assert _mode(path) == 0o600
    assert _mode(path.parent) == 0o700 and _mode(path.parent.parent) == 0o700
    if kind not in ("curve", "xkey"):
        assert nkeys.from_seed(seed.strip().encode()).public_key.decode() == public
    mtime = os.stat(path).st_mtime_ns

    second = run_module(nats_nkey.main, {"path": str(path), "type": kind})
    assert second["changed"] is False and second["created"] is False
    assert second["public_key"] == public
    assert os.stat(path).st_mtime_ns == mtime
    assert path.read_text() == seed


@pytest.mark.parametrize(
    ("existing", "wanted"),
    [("user", "account"), ("account", "operator"), ("operator", "user"), ("curve", "server"), ("cluster", "xkey")],
)
def test_wrong_type_is_refused(run_module, tmp_path, existing, wanted):
    path = tmp_path / "k.nk"
    pair = keys.generate(existing)
    path.write_text(pair.seed + "\n")
    os.chmod(path, 0o600)
    result = run_module(nats_nkey.main, {"path": str(path), "type": wanted})
    assert result["failed"] is True
    wanted_type = "curve" if wanted == "xkey" else wanted
    assert f"holds a {existing} seed, but option type is {wanted_type}" in result["msg"]
    assert pair.seed not in json.dumps(result)
    assert path.read_text() == pair.seed + "\n", "the existing file must not be replaced"


def _corrupt(seed):
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    return seed[:20] + alphabet[(alphabet.index(seed[20]) + 1) % 32] + seed[21:]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (_corrupt, "checksum mismatch"),
        (lambda s: s[:-3], "58 characters long"),
        (lambda s: "garbage that is not a seed", "holds no NKey seed"),
        (lambda s: keys.KeyPair("user", bytes(32)).public_key, "holds no NKey seed"),
    ],
)
def test_malformed_seed_file_is_refused(run_module, tmp_path, content, message):
    path = tmp_path / "bad.nk"
    seed = keys.generate("user").seed
    text = content(seed)
    path.write_text(text + "\n")
    result = run_module(nats_nkey.main, {"path": str(path), "type": "user"})
    assert result["failed"] is True
    assert message in result["msg"]
    assert "refusing to replace it" in result["msg"]
    assert text[:40] not in result["msg"]
    assert path.read_text() == text + "\n"


def test_loose_mode_is_fixed(run_module, tmp_path):
    path = tmp_path / "u.nk"
    run_module(nats_nkey.main, {"path": str(path), "type": "user"})
    os.chmod(path, 0o644)
    fixed = run_module(nats_nkey.main, {"path": str(path), "type": "user"})
    assert fixed["changed"] is True and fixed["created"] is False
    assert _mode(path) == 0o600
    assert run_module(nats_nkey.main, {"path": str(path), "type": "user"})["changed"] is False


def test_check_mode(run_module, tmp_path):
    path = tmp_path / "new" / "u.nk"
    would = run_module(nats_nkey.main, {"path": str(path), "type": "user"}, check_mode=True, diff=True)
    assert would["changed"] is True and would["created"] is True
    assert "public_key" not in would
    assert not path.exists() and not path.parent.exists()
    real = run_module(nats_nkey.main, {"path": str(path), "type": "user"})
    checked = run_module(nats_nkey.main, {"path": str(path), "type": "user"}, check_mode=True)
    assert checked["changed"] is False and checked["public_key"] == real["public_key"]


def test_return_seed_needs_task_no_log(run_module, tmp_path):
    path = tmp_path / "u.nk"
    refused = run_module(nats_nkey.main, {"path": str(path), "type": "user", "return_seed": True})
    assert refused["failed"] is True
    assert "return_seed=true needs no_log: true on the task" in refused["msg"]
    assert not path.exists()
    given = run_module(nats_nkey.main, {"path": str(path), "type": "user", "return_seed": True}, no_log=True)
    assert given["seed"] == path.read_text().strip()
    assert keys.from_seed(given["seed"]).public_key == given["public_key"]


def test_diff_shows_public_key_only(run_module, tmp_path):
    path = tmp_path / "a.nk"
    result = run_module(nats_nkey.main, {"path": str(path), "type": "account"}, diff=True)
    assert result["diff"]["after"] == f"public_key: {result['public_key']}\n"
    assert path.read_text().strip() not in json.dumps(result)


def test_directory_path_is_refused(run_module, tmp_path):
    result = run_module(nats_nkey.main, {"path": str(tmp_path), "type": "user"})
    assert result["failed"] and "is a directory" in result["msg"]


def test_via_ansible_playbook(ansible_playbook, tmp_path):
    path = tmp_path / "pb" / "svc.nk"
    out = tmp_path / "result.json"
    playbook = f"""
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Create the key
      hardened.nats.nats_nkey:
        path: {path}
        type: user
        return_seed: true
      no_log: true
      register: created
    - name: Load it again
      hardened.nats.nats_nkey:
        path: {path}
        type: user
      register: loaded
    - name: Refuse return_seed without no_log
      hardened.nats.nats_nkey:
        path: {path}
        type: user
        return_seed: true
      register: refused
      failed_when: false
    - name: Keep what the test checks
      ansible.builtin.copy:
        dest: {out}
        mode: "0600"
        content: "{{{{ {{'created': created.changed, 'loaded': loaded.changed, 'public': loaded.public_key,
                   'seed_ok': created.seed == lookup('ansible.builtin.file', '{path}'),
                   'refused': refused.msg | default('')}} | to_json }}}}"
"""
    proc = ansible_playbook(playbook)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    seed = path.read_text().strip()
    assert seed not in proc.stdout + proc.stderr
    result = json.loads(out.read_text())
    assert result["created"] is True and result["loaded"] is False
    assert result["seed_ok"] is True
    assert result["public"] == keys.from_seed(seed).public_key
    assert "needs no_log" in result["refused"]
