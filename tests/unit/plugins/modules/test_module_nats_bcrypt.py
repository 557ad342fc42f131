"""nats_bcrypt driven for real: in-process main() and the ansible CLI."""

from __future__ import annotations

import json
import os
import re
import stat

import bcrypt
import pytest
from ansible_collections.hardened.nats.plugins.module_utils import _nats_bcrypt as nb
from ansible_collections.hardened.nats.plugins.modules import nats_bcrypt

SECRET = "s3cret-horse-battery-staple"
OTHER = "another-long-secret-value"
COST = 10  # the lowest accepted cost keeps the suite fast


def _read(path):
    with open(path) as handle:
        return handle.read()


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def _store_files(store):
    return {name: os.stat(os.path.join(store, name)).st_mtime_ns for name in sorted(os.listdir(store))}


@pytest.fixture
def store(tmp_path):
    return str(tmp_path / "creds" / "bcrypt")


def test_hash_roundtrip_modes_and_idempotence(run_module, store):
    first = run_module(nats_bcrypt.main, {"name": "alice", "secret": SECRET, "store": store, "cost": COST})
    assert first["changed"] is True
    assert first["changed_names"] == ["alice"]
    hashed = first["hash"]
    assert hashed.startswith(f"$2a${COST}$")
    assert bcrypt.checkpw(SECRET.encode(), hashed.encode())
    assert not bcrypt.checkpw(OTHER.encode(), hashed.encode())
    # no_log on the secret: the invocation shows a placeholder, nothing shows the secret
    assert first["invocation"]["module_args"]["secret"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
    assert SECRET not in json.dumps(first)
    # modes: store directory (and the parent the module created) 0700, files 0600
    assert _mode(store) == 0o700
    assert _mode(os.path.dirname(store)) == 0o700
    for name in ("hashes.json", "verifier.key", ".lock"):
        assert _mode(os.path.join(store, name)) == 0o600, name
    assert SECRET not in _read(os.path.join(store, "hashes.json"))
    before = _store_files(store)

    second = run_module(nats_bcrypt.main, {"name": "alice", "secret": SECRET, "store": store, "cost": COST})
    assert second["changed"] is False
    assert second["hash"] == hashed
    assert second["changed_names"] == []
    assert _store_files(store) == before


def test_rerun_does_not_run_bcrypt(run_module, store, monkeypatch):
    run_module(nats_bcrypt.main, {"secrets": {"a": SECRET, "b": OTHER}, "store": store, "cost": COST})

    def forbidden(*_args, **_kwargs):
        raise AssertionError("bcrypt ran on an unchanged secret")

    monkeypatch.setattr(nb.bcrypt, "hashpw", forbidden)
    again = run_module(nats_bcrypt.main, {"secrets": {"a": SECRET, "b": OTHER}, "store": store, "cost": COST})
    assert again["changed"] is False


def test_changed_secret_rehashes(run_module, store):
    first = run_module(nats_bcrypt.main, {"name": "alice", "secret": SECRET, "store": store, "cost": COST})
    changed = run_module(nats_bcrypt.main, {"name": "alice", "secret": OTHER, "store": store, "cost": COST})
    assert changed["changed"] is True
    assert changed["hash"] != first["hash"]
    assert bcrypt.checkpw(OTHER.encode(), changed["hash"].encode())
    back = run_module(nats_bcrypt.main, {"name": "alice", "secret": OTHER, "store": store, "cost": COST})
    assert back["changed"] is False and back["hash"] == changed["hash"]


def test_changed_cost_rehashes(run_module, store):
    run_module(nats_bcrypt.main, {"name": "alice", "secret": SECRET, "store": store, "cost": COST})
    higher = run_module(nats_bcrypt.main, {"name": "alice", "secret": SECRET, "store": store, "cost": COST + 1})
    assert higher["changed"] is True
    assert higher["hash"].startswith(f"$2a${COST + 1}$")


def test_default_cost_is_11(run_module, store):
    result = run_module(nats_bcrypt.main, {"name": "alice", "secret": SECRET, "store": store})
    assert result["hash"].startswith("$2a$11$")


def test_same_secret_for_two_users_gives_distinct_verifiers(run_module, store):
    run_module(nats_bcrypt.main, {"secrets": {"a": SECRET, "b": SECRET}, "store": store, "cost": COST})
    entries = json.loads(_read(os.path.join(store, "hashes.json")))["entries"]
    assert entries["a"]["verifier"] != entries["b"]["verifier"]
    assert entries["a"]["hash"] != entries["b"]["hash"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"name": "u", "secret": SECRET, "cost": 9}, "option cost is 9; refusing a bcrypt cost below 10"),
        ({"name": "u", "secret": SECRET, "cost": 4}, "option cost is 4; refusing a bcrypt cost below 10"),
        ({"name": "u", "secret": SECRET, "cost": 32}, "option cost is 32; bcrypt allows at most 31"),
        ({"name": "u", "secret": ""}, "option secret is empty"),
        ({"name": "u", "secret": "x" * 73}, "option secret is 73 bytes long; bcrypt uses at most 72 bytes"),
        ({"name": "u", "secret": "é" * 37}, "option secret is 74 bytes long"),
        ({"name": "u", "secret": "abc\x00defghij"}, "option secret contains a NUL byte"),
        ({"name": "u"}, "option secret is required with name"),
        ({"secrets": {"ok": SECRET, "bad": ""}}, r"option secrets\[bad\] is empty"),
        ({"secrets": {"long": "y" * 80}}, r"option secrets\[long\] is 80 bytes long"),
        ({"name": "u", "secret": SECRET, "secrets": {"a": SECRET}}, "mutually exclusive"),
        ({"secret": SECRET}, "one of the following is required: name, secrets"),
    ],
)
def test_refusals(run_module, store, args, message):
    result = run_module(nats_bcrypt.main, dict(args, store=store))
    assert result["failed"] is True
    assert re.search(message, result["msg"]), result["msg"]
    for secret in (args.get("secret"), *(args.get("secrets") or {}).values()):
        if secret and len(secret) > 3:
            assert secret not in json.dumps(result)
    assert not os.path.exists(store), "a refused call must not create the store"


def test_exactly_72_bytes_is_accepted(run_module, store):
    secret = "z" * 72
    result = run_module(nats_bcrypt.main, {"name": "u", "secret": secret, "store": store, "cost": COST})
    assert bcrypt.checkpw(secret.encode(), result["hash"].encode())


def test_check_mode_writes_nothing(run_module, store):
    result = run_module(
        nats_bcrypt.main, {"name": "alice", "secret": SECRET, "store": store, "cost": COST}, check_mode=True
    )
    assert result["changed"] is True
    assert bcrypt.checkpw(SECRET.encode(), result["hash"].encode())
    assert not os.path.exists(store)
    real = run_module(nats_bcrypt.main, {"name": "alice", "secret": SECRET, "store": store, "cost": COST})
    before = _store_files(store)
    unchanged = run_module(
        nats_bcrypt.main, {"name": "alice", "secret": SECRET, "store": store, "cost": COST}, check_mode=True
    )
    assert unchanged["changed"] is False and unchanged["hash"] == real["hash"]
    would = run_module(
        nats_bcrypt.main, {"name": "alice", "secret": OTHER, "store": store, "cost": COST}, check_mode=True
    )
    assert would["changed"] is True
    assert _store_files(store) == before
    again = run_module(nats_bcrypt.main, {"name": "alice", "secret": SECRET, "store": store, "cost": COST})
    assert again["changed"] is False and again["hash"] == real["hash"]


def test_batch_prune_and_absent(run_module, store):
    users = {f"user{i:02d}": f"password-number-{i:02d}" for i in range(12)}
    first = run_module(nats_bcrypt.main, {"secrets": users, "store": store, "cost": COST})
    assert first["changed"] is True
    assert sorted(first["hashes"]) == sorted(users)
    assert first["changed_names"] == sorted(users)
    for name, secret in users.items():
        assert bcrypt.checkpw(secret.encode(), first["hashes"][name].encode())

    users["user03"] = "a-brand-new-password"
    second = run_module(nats_bcrypt.main, {"secrets": users, "store": store, "cost": COST})
    assert second["changed_names"] == ["user03"]
    assert {k: v for k, v in second["hashes"].items() if k != "user03"} == {
        k: v for k, v in first["hashes"].items() if k != "user03"
    }

    del users["user07"]
    kept = run_module(nats_bcrypt.main, {"secrets": users, "store": store, "cost": COST})
    assert kept["changed"] is False  # without prune the entry stays
    pruned = run_module(nats_bcrypt.main, {"secrets": users, "store": store, "cost": COST, "prune": True})
    assert pruned["changed"] is True and pruned["removed_names"] == ["user07"]
    entries = json.loads(_read(os.path.join(store, "hashes.json")))["entries"]
    assert "user07" not in entries

    gone = run_module(nats_bcrypt.main, {"name": "user01", "state": "absent", "store": store})
    assert gone["changed"] is True and gone["removed_names"] == ["user01"]
    again = run_module(nats_bcrypt.main, {"name": "user01", "state": "absent", "store": store})
    assert again["changed"] is False


def test_store_key_keeps_no_key_file(run_module, store):
    args = {"name": "alice", "secret": SECRET, "store": store, "cost": COST, "store_key": "vaulted-store-key"}
    first = run_module(nats_bcrypt.main, args)
    assert not os.path.exists(os.path.join(store, "verifier.key"))
    assert first["invocation"]["module_args"]["store_key"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
    assert run_module(nats_bcrypt.main, args)["changed"] is False
    rotated = run_module(nats_bcrypt.main, dict(args, store_key="another-store-key"))
    assert rotated["changed"] is True


def test_edited_hash_in_store_is_replaced(run_module, store):
    first = run_module(nats_bcrypt.main, {"name": "alice", "secret": SECRET, "store": store, "cost": COST})
    path = os.path.join(store, "hashes.json")
    data = json.loads(_read(path))
    forged = bcrypt.hashpw(b"attacker-password", bcrypt.gensalt(COST)).decode().replace("$2b$", "$2a$", 1)
    data["entries"]["alice"]["hash"] = forged
    with open(path, "w") as handle:
        json.dump(data, handle)
    result = run_module(nats_bcrypt.main, {"name": "alice", "secret": SECRET, "store": store, "cost": COST})
    assert result["changed"] is True
    assert result["hash"] not in (forged, first["hash"])
    assert bcrypt.checkpw(SECRET.encode(), result["hash"].encode())


def test_loose_modes_are_fixed(run_module, store):
    run_module(nats_bcrypt.main, {"name": "alice", "secret": SECRET, "store": store, "cost": COST})
    os.chmod(store, 0o755)
    os.chmod(os.path.join(store, "hashes.json"), 0o644)
    result = run_module(nats_bcrypt.main, {"name": "alice", "secret": SECRET, "store": store, "cost": COST})
    assert result["changed"] is True and result["changed_names"] == []
    assert sorted(result["fixed_modes"]) == sorted([store, os.path.join(store, "hashes.json")])
    assert _mode(store) == 0o700 and _mode(os.path.join(store, "hashes.json")) == 0o600
    assert (
        run_module(nats_bcrypt.main, {"name": "alice", "secret": SECRET, "store": store, "cost": COST})["changed"]
        is False
    )


def test_corrupt_store_is_reported(run_module, store):
    os.makedirs(store, mode=0o700)
    with open(os.path.join(store, "hashes.json"), "w") as handle:
        handle.write("{not json")
    result = run_module(nats_bcrypt.main, {"name": "alice", "secret": SECRET, "store": store, "cost": COST})
    assert result["failed"] and "not valid JSON" in result["msg"]


def test_diff_shows_hashes_not_secrets(run_module, store):
    result = run_module(nats_bcrypt.main, {"name": "alice", "secret": SECRET, "store": store, "cost": COST}, diff=True)
    assert result["hash"] in result["diff"]["after"]
    assert SECRET not in json.dumps(result["diff"])


def test_via_ansible_adhoc(ansible_adhoc, store):
    args = {"name": "alice", "secret": SECRET, "store": store, "cost": COST}
    first = ansible_adhoc("hardened.nats.nats_bcrypt", args)
    assert first["rc"] == 0, first["stdout"] + first["stderr"]
    assert first["status"] == "CHANGED"
    assert bcrypt.checkpw(SECRET.encode(), first["hash"].encode())
    second = ansible_adhoc("hardened.nats.nats_bcrypt", args)
    assert second["status"] == "SUCCESS" and second["changed"] is False
    assert second["hash"] == first["hash"]
    assert SECRET not in second["stdout"] + second["stderr"]


def test_batch_via_ansible_adhoc(ansible_adhoc, store):
    users = {"carol": SECRET, "dave": OTHER}
    first = ansible_adhoc("hardened.nats.nats_bcrypt", {"secrets": users, "store": store, "cost": COST})
    assert first["rc"] == 0, first["stdout"] + first["stderr"]
    assert sorted(first["hashes"]) == ["carol", "dave"]
    for name, secret in users.items():
        assert bcrypt.checkpw(secret.encode(), first["hashes"][name].encode())
        assert secret not in " ".join(first["cmd"]), "a secret on the command line is visible in ps"
        assert secret not in first["stdout"] + first["stderr"]
    again = ansible_adhoc("hardened.nats.nats_bcrypt", {"secrets": users, "store": store, "cost": COST})
    assert again["changed"] is False and again["hashes"] == first["hashes"]
