"""The collection tarball: `ansible-galaxy collection build` holds the collection and
nothing else (galaxy.yml build_ignore), installs offline into a fresh collections
path, and its playbooks run by FQCN from that installed copy."""

import json
import os
import subprocess
import tarfile

import pytest
import yaml
from tarball_helpers import BIN, ROOT, galaxy

# What a user of the collection gets: no tests, molecule, scripts, dev configs or caches.
TOP_LEVEL = {
    "FILES.json",
    "LICENSE",
    "MANIFEST.json",
    "README.md",
    "requirements.txt",
    "changelogs",
    "docs",
    "meta",
    "playbooks",
    "plugins",
    "roles",
}
# Directories whose every tracked file must be in the tarball.
SHIPPED = ("roles", "plugins", "playbooks", "meta")


def _members(tarball):
    with tarfile.open(tarball) as tf:
        return [m.name for m in tf.getmembers() if m.isfile()]


def test_the_tarball_holds_only_the_collection(built):
    _tmp, tarball, _c, _e = built
    names = _members(tarball)
    assert {n.split("/")[0] for n in names} <= TOP_LEVEL, sorted({n.split("/")[0] for n in names} - TOP_LEVEL)
    assert not [n for n in names if "__pycache__" in n or n.endswith((".pyc", ".tar.gz"))]


def test_every_tracked_collection_file_is_shipped(built):
    _tmp, tarball, _c, _e = built
    tracked = subprocess.run(
        ["git", "ls-files", *SHIPPED], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.split()
    if not tracked:
        pytest.skip("not a git checkout")
    assert sorted(set(tracked) - set(_members(tarball))) == []


def test_the_manifest_declares_the_dependencies(built):
    _tmp, tarball, _c, _e = built
    with tarfile.open(tarball) as tf:
        manifest = json.load(tf.extractfile("MANIFEST.json"))
    with open(os.path.join(ROOT, "galaxy.yml")) as fh:
        galaxy = yaml.safe_load(fh)
    assert manifest["collection_info"]["dependencies"] == galaxy["dependencies"]
    assert "community.crypto" in galaxy["dependencies"]  # roles/nats_pki


def test_the_installed_copy_is_the_only_one_and_verifies(built):
    _tmp, _tarball, collections, env = built
    installed = collections / "ansible_collections" / "hardened" / "nats"
    assert installed.is_dir() and not installed.is_symlink()
    listed = json.loads(galaxy("collection", "list", "hardened.nats", "--format", "json", env=env).stdout)
    assert list(listed) == [str(collections / "ansible_collections")]
    result = galaxy("collection", "verify", "--offline", "hardened.nats", env=env)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("playbook", ["hardened.nats.site", "hardened.nats.enable_auth", "hardened.nats.audit"])
def test_the_playbooks_run_by_fqcn_from_the_installed_copy(built, playbook):
    tmp, _tarball, _c, env = built
    result = subprocess.run(
        [os.path.join(BIN, "ansible-playbook"), "-i", "localhost,", "--syntax-check", playbook],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=tmp,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
