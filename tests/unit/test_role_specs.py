"""Every role's defaults and meta/argument_specs.yml agree, and docs/<role>.md is generated from the spec."""

import glob
import os
import subprocess
import sys

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROLES = sorted(p.split(os.sep)[-3] for p in glob.glob(os.path.join(ROOT, "roles", "*", "meta", "argument_specs.yml")))


def _load(role, *parts):
    with open(os.path.join(ROOT, "roles", role, *parts)) as fh:
        return yaml.safe_load(fh) or {}


def test_there_are_roles():
    assert "nats_server" in ROLES


@pytest.mark.parametrize("role", ROLES)
def test_every_default_has_a_spec_and_every_spec_a_default(role):
    defaults = _load(role, "defaults", "main.yml")
    options = {}
    for spec in _load(role, "meta", "argument_specs.yml")["argument_specs"].values():
        options.update(spec.get("options") or {})
    assert sorted(set(defaults) - set(options)) == [], "defaults without a spec"
    no_default = sorted(n for n, o in options.items() if n not in defaults and not o.get("required"))
    assert no_default == [], "specs without a default"


@pytest.mark.parametrize("role", ROLES)
def test_spec_defaults_equal_defaults(role):
    defaults = _load(role, "defaults", "main.yml")
    for spec in _load(role, "meta", "argument_specs.yml")["argument_specs"].values():
        for name, opt in (spec.get("options") or {}).items():
            if name in defaults:
                assert "default" in opt, f"{name}: spec has no default"
                want = defaults[name]
                got = opt["default"]
                if isinstance(want, str):
                    want, got = " ".join(want.split()), " ".join(str(got).split())
                assert got == want, f"{name}: spec default {got!r} != defaults/main.yml {want!r}"


def test_role_docs_are_generated_from_the_specs():
    result = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "gen-role-docs.py"), "--check"], check=False)
    assert result.returncode == 0
