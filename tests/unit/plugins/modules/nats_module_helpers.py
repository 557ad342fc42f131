"""Helpers shared by the credential module tests (imported by conftest.py and the tests)."""

from __future__ import annotations

import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
BIN = os.path.dirname(sys.executable)


class ModuleExit(dict):
    """A module result plus the exit code."""

    @property
    def failed(self):
        return bool(self.get("failed"))


def ansible_env(tmp_path):
    """Environment for the venv's ansible CLIs, run from the repository root."""
    env = dict(os.environ)
    env.update(
        ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
        ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-local"),
        ANSIBLE_HOME=str(tmp_path / "ansible-home"),
        ANSIBLE_STDOUT_CALLBACK="minimal",
        ANSIBLE_CALLBACK_RESULT_FORMAT="json",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_DEPRECATION_WARNINGS="0",
        PATH=BIN + os.pathsep + env.get("PATH", ""),
    )
    return env


def parse_minimal(stdout):
    """'localhost | CHANGED => {json}' -> (status, dict)."""
    head, sep, body = stdout.partition(" => ")
    if not sep:
        raise AssertionError(f"unexpected ansible output: {stdout!r}")
    return head.split("|")[-1].strip(), json.loads(body)
