# hardened.nats: offline stand-in for ansible-test's get-pip bootstrap script.
"""Install pip into an empty virtual environment with ensurepip, then from PyPI.

Why this file exists
--------------------
``ansible-test sanity`` runs most sanity tests in virtual environments of its
own (``~/.ansible/test/venv/sanity.NAME/X.Y/HASH``), created with
``python -m venv --without-pip``. To put pip into such an environment it runs
a "get-pip" script taken from ``~/.ansible/test/cache/get_pip_X_Y.py`` and,
when that file is absent, downloads it from a host of the ansible-test CI
(ansible_test/_util/target/setup/requirements.py, ``bootstrap()``). Our CI
reaches package registries only, so that download fails.

ansible-test has no option to run sanity tests in an environment prepared
elsewhere: ``--venv``, ``--local``, ``--python`` and ``--requirements`` only
choose or provision the controller; every sanity test that has requirements
still gets its own environment through ``create_sanity_virtualenv()``, which
always starts with this bootstrap. The environments are keyed by a hash of
ansible-test's internal pip command list, so building them ourselves would
mean copying its internals. The cache file, on the other hand, is the remedy
ansible-test's own error message gives ("The bootstrap script can be manually
downloaded and saved to: ..."), and its contract is small:

    GET_PIP=<this file> python quiet_pip.py [pip install options] pip==V \
        [--no-setuptools] [--no-wheel]

run with the new environment's interpreter, which must then have pip==V.

This script keeps that contract without any download but PyPI: ``ensurepip``
(the standard library, offline) installs the pip wheel bundled with Python,
and that pip installs the requested ``pip==V`` from PyPI. Everything after the
bootstrap (the sanity tests' pinned requirements from ansible-test's
``_data/requirements/sanity.*.txt``) is ansible-test's own pip install from
PyPI, unchanged. scripts/sanity.sh copies this file into the cache.
"""

from __future__ import annotations

import subprocess
import sys

# ansible-test's get-pip flags: do not install these two unless asked for.
SKIP_FLAGS = {"--no-setuptools": "setuptools", "--no-wheel": "wheel"}


def run(*args):
    """Run a command with the new environment's interpreter; show its output only if it fails."""
    result = subprocess.run([sys.executable, *args], check=False, capture_output=True, text=True)
    if result.returncode != 0:
        sys.stdout.write(result.stdout)
        sys.stderr.write(result.stderr)
        raise SystemExit(f"get-pip stand-in: {' '.join(args)} failed with exit code {result.returncode}")


def installed(name):
    """Return whether the distribution is installed in this environment."""
    from importlib import metadata

    try:
        metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return False
    return True


def main(argv):
    skipped = [SKIP_FLAGS[arg] for arg in argv if arg in SKIP_FLAGS]
    install_args = [arg for arg in argv if arg not in SKIP_FLAGS]
    packages = [arg for arg in install_args if not arg.startswith("-")]

    # The bundled pip (and, before Python 3.12, setuptools): no network.
    run("-m", "ensurepip", "--default-pip")
    # The pip ansible-test asked for, from the package index.
    run("-m", "pip", "install", "--quiet", *install_args)
    # get-pip installs setuptools and wheel unless told not to; ensurepip may
    # have brought setuptools along, so take out what was declined.
    unwanted = [name for name in skipped if installed(name) and not any(p.startswith(name) for p in packages)]
    if unwanted:
        run("-m", "pip", "uninstall", "--yes", "--disable-pip-version-check", *unwanted)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
