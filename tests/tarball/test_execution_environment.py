"""execution-environment.yml: `ansible-builder create` (offline: it only writes the
build context) makes a context that installs this collection from its tarball with
its dependencies, the Python libraries its plugins import, and the ansible-core and
Python that CI runs. The image itself is not built here (no registry)."""

import ast
import glob
import os
import re
import shutil
import subprocess
import sys

import pytest
import yaml
from tarball_helpers import BIN, ROOT

# Import name -> PyPI name, where they differ.
PIP_NAMES = {"nacl": "pynacl"}


def _read_yaml(*parts):
    with open(os.path.join(*parts)) as fh:
        return yaml.safe_load(fh)


def _requirement_names(text):
    names = set()
    for line in text.splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-"):
            names.add(re.split(r"[<>=!~ \[;]", line)[0].lower())
    return names


def _third_party_imports():
    """Top-level modules imported by plugins/ that are neither stdlib nor Ansible's."""
    found = set()
    for path in glob.glob(os.path.join(ROOT, "plugins", "**", "*.py"), recursive=True):
        with open(path) as fh:
            tree = ast.parse(fh.read())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return {m for m in found if m not in sys.stdlib_module_names and m not in ("ansible", "ansible_collections")}


@pytest.fixture(scope="module")
def context(built):
    """The build context written by ansible-builder create from a copy of the EE file beside the tarball."""
    tmp, _tarball, _c, _e = built
    for name in ("execution-environment.yml", "requirements.txt"):
        shutil.copy(os.path.join(ROOT, name), tmp / name)
    ctx = tmp / "context"
    result = subprocess.run(
        [os.path.join(BIN, "ansible-builder"), "create", "-f", "execution-environment.yml", "-c", str(ctx)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return ctx


def test_the_definition_is_version_3():
    assert _read_yaml(ROOT, "execution-environment.yml")["version"] == 3


def test_ansible_core_and_python_are_what_ci_runs(context):
    with open(os.path.join(ROOT, "requirements-dev.txt")) as fh:
        (pin,) = [line.strip() for line in fh if line.startswith("ansible-core==")]
    containerfile = (context / "Containerfile").read_text()
    refs = re.search(r'ARG ANSIBLE_INSTALL_REFS="([^"]*)"', containerfile).group(1).split()
    assert pin in refs and any(r.startswith("ansible-runner") for r in refs), refs
    python = f"python{sys.version_info.major}.{sys.version_info.minor}"
    assert f'ARG PYPKG="{python}"' in containerfile
    assert f'ARG PYCMD="/usr/bin/{python}"' in containerfile


def test_the_collection_comes_from_its_tarball_with_its_dependencies(context):
    galaxy_yml = _read_yaml(ROOT, "galaxy.yml")
    tarball = f"{galaxy_yml['namespace']}-{galaxy_yml['name']}-{galaxy_yml['version']}.tar.gz"
    assert (context / "_build" / "collections" / tarball).is_file()
    wanted = {f"collections/{tarball}": None, **galaxy_yml["dependencies"]}
    got = {c["name"]: c.get("version") for c in _read_yaml(context, "_build", "requirements.yml")["collections"]}
    assert got == wanted
    tarballs = [c for c in _read_yaml(context, "_build", "requirements.yml")["collections"] if c.get("type") == "file"]
    assert [c["name"] for c in tarballs] == [f"collections/{tarball}"]


def test_every_python_library_the_plugins_import_is_installed(context):
    imports = _third_party_imports()
    assert {"bcrypt", "nacl"} <= imports, imports
    wanted = {PIP_NAMES.get(m, m) for m in imports}
    assert wanted <= _requirement_names((context / "_build" / "requirements.txt").read_text())


def test_the_installed_collection_declares_them_to_the_builder(built, context):
    """ansible-builder's own introspection, run on the collection installed from the tarball."""
    _tmp, _tarball, collections, _env = built
    result = subprocess.run(
        [sys.executable, str(context / "_build" / "scripts" / "introspect.py"), "introspect", str(collections)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    python = yaml.safe_load(result.stdout)["python"]
    from_us = {r.split("#")[0].strip() for r in python if "from collection hardened.nats" in r}
    wanted = {PIP_NAMES.get(m, m) for m in _third_party_imports()}
    assert wanted <= _requirement_names("\n".join(from_us)), python
