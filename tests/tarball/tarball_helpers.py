"""Helpers of the tarball tests: the checkout, the venv's tools, ansible-galaxy."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)


def galaxy(*args, env=None, cwd=ROOT):
    return subprocess.run(
        [os.path.join(BIN, "ansible-galaxy"), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=cwd,
        check=False,
    )
