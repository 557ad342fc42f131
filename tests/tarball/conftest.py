"""The collection tarball, built once from this checkout and installed offline into a fresh collections path."""

import os

import pytest
from tarball_helpers import galaxy


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    """(tmp dir, tarball, collections path it is installed in, env that sees only that path and no source roles)."""
    tmp = tmp_path_factory.mktemp("tarball")
    (tmp / "none.cfg").write_text("[defaults]\n")
    result = galaxy("collection", "build", "--output-path", str(tmp / "build" / "dist"), ".")
    assert result.returncode == 0, result.stdout + result.stderr
    (tarball,) = (tmp / "build" / "dist").iterdir()
    collections = tmp / "collections"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "MOLECULE_"))}
    env.update(
        ANSIBLE_CONFIG=str(tmp / "none.cfg"),
        ANSIBLE_COLLECTIONS_PATH=str(collections),
        ANSIBLE_ROLES_PATH=str(tmp / "no-roles"),
        ANSIBLE_HOME=str(tmp / "home"),
        ANSIBLE_NOCOLOR="1",
    )
    result = galaxy("collection", "install", "--offline", "-p", str(collections), str(tarball), env=env, cwd=tmp)
    assert result.returncode == 0, result.stdout + result.stderr
    return tmp, tarball, collections, env
