"""Every module, role entry point and filter documents itself: ansible-doc renders it, and the docs match the code."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
import yaml
from nats_test_helpers import BIN, MINIMAL_JSON, ROOT, ansible_env

MODULES = ["nats_bcrypt", "nats_nkey", "nats_jwt"]
# Every module of the collection: ansible-doc renders it and its docs list exactly its options.
ALL_MODULES = sorted(
    name[:-3]
    for name in os.listdir(os.path.join(ROOT, "plugins", "modules"))
    if name.endswith(".py") and not name.startswith("_")
)
REQUIRED = {
    "nats_bcrypt": {"store": "/nonexistent", "name": "x"},
    "nats_nkey": {"path": "/nonexistent", "type": "user"},
    "nats_jwt": {"path": "/nonexistent", "type": "user", "name": "x"},
    "nats_anonymous_probe": {"host": "127.0.0.1"},
}
SECRET_OPTIONS = {"nats_bcrypt": ["secret", "secrets", "store_key"], "nats_nkey": [], "nats_jwt": ["signer_seed"]}


def _ansible_doc(tmp_path, *args):
    return subprocess.run(
        [os.path.join(BIN, "ansible-doc"), *args],
        cwd=ROOT,
        env=ansible_env(tmp_path, **MINIMAL_JSON),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def _doc_json(name, tmp_path):
    proc = _ansible_doc(tmp_path, "--json", f"hardened.nats.{name}")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)[f"hardened.nats.{name}"]


@pytest.mark.parametrize("name", ALL_MODULES)
def test_ansible_doc_renders(name, tmp_path):
    proc = _ansible_doc(tmp_path, f"hardened.nats.{name}")
    assert proc.returncode == 0, proc.stderr
    assert f"hardened.nats.{name}" in proc.stdout
    for section in ("OPTIONS", "ATTRIBUTES", "EXAMPLES", "RETURN VALUES"):
        assert section in proc.stdout, section
    assert "ERROR" not in proc.stderr


@pytest.mark.parametrize("name", MODULES)
def test_doc_structure(name, tmp_path):
    data = _doc_json(name, tmp_path)
    doc = data["doc"]
    attributes = doc["attributes"]
    for attribute in ("check_mode", "diff_mode", "idempotent"):
        assert attributes[attribute]["support"] == "full", attribute
        assert attributes[attribute]["description"], attribute
    assert yaml.safe_load(data["examples"])
    assert data["return"]
    assert doc["version_added"] == "0.1.0"
    for option in SECRET_OPTIONS[name]:
        assert option in doc["options"], option


@pytest.mark.parametrize("name", ALL_MODULES)
def test_documented_options_match_argument_spec(name, tmp_path, run_module):
    """Every documented option is accepted, and an unknown one is refused (the spec lives in main())."""
    module = __import__(f"ansible_collections.hardened.nats.plugins.modules.{name}", fromlist=["main"])
    documented = set(_doc_json(name, tmp_path)["doc"]["options"])
    result = run_module(module.main, dict(REQUIRED.get(name, {}), no_such_option_xyz=1))
    assert result["failed"]
    assert "Unsupported parameters" in result["msg"]
    supported = result["msg"].split("Supported parameters include:")[1].strip().rstrip(").").split(", ")
    supported = {item.split(" ")[0].strip("()") for item in supported}
    assert documented == supported


ROLES = sorted(os.listdir(os.path.join(ROOT, "roles")))
FILTERS = sorted(name[:-3] for name in os.listdir(os.path.join(ROOT, "plugins", "filter")) if name.endswith(".py"))


@pytest.mark.parametrize("role", ROLES)
def test_ansible_doc_renders_every_role_entry_point(role, tmp_path):
    with open(os.path.join(ROOT, "roles", role, "meta", "argument_specs.yml")) as fh:
        entry_points = yaml.safe_load(fh)["argument_specs"]
    proc = _ansible_doc(tmp_path, "-t", "role", "--json", f"hardened.nats.{role}")
    assert proc.returncode == 0, proc.stderr
    rendered = json.loads(proc.stdout)[f"hardened.nats.{role}"]["entry_points"]
    assert sorted(rendered) == sorted(entry_points)
    for name, spec in entry_points.items():
        assert sorted(rendered[name]["options"]) == sorted(spec["options"]), name


@pytest.mark.parametrize("name", FILTERS)
def test_ansible_doc_renders_every_filter(name, tmp_path):
    proc = _ansible_doc(tmp_path, "-t", "filter", f"hardened.nats.{name}")
    assert proc.returncode == 0, proc.stderr
    assert f"hardened.nats.{name}" in proc.stdout
    assert "EXAMPLES" in proc.stdout and "ERROR" not in proc.stderr
