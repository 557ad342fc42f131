"""Helpers that drive the hardened.nats modules for real.

``run_module`` calls a module's ``main()`` in this process with the arguments Ansible
would send (``ANSIBLE_MODULE_ARGS``) and returns the JSON result the module printed.
``ansible_adhoc`` and ``ansible_playbook`` run the real Ansible CLI from the venv.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from ansible.module_utils import basic

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
BIN = os.path.dirname(sys.executable)


class ModuleExit(dict):
    """A module result plus the exit code."""

    @property
    def failed(self):
        return bool(self.get("failed"))


@pytest.fixture
def run_module(capsys, monkeypatch):

    def _run(main, args, check_mode=False, diff=False, no_log=False):
        payload = dict(args)
        payload.update(_ansible_check_mode=check_mode, _ansible_diff=diff, _ansible_no_log=no_log)
        monkeypatch.setattr(basic, "_ANSIBLE_ARGS", json.dumps({"ANSIBLE_MODULE_ARGS": payload}).encode())
        monkeypatch.setattr(basic, "_ANSIBLE_PROFILE", "legacy")
        capsys.readouterr()
        with pytest.raises(SystemExit) as exc:
            main()
        out = capsys.readouterr().out
        result = ModuleExit(json.loads(out))
        result["rc"] = exc.value.code
        assert (result["rc"] != 0) == result.failed, result
        return result

    return _run


def ansible_env(tmp_path):
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


def _parse_minimal(stdout):
    """'localhost | CHANGED => {json}' -> (status, dict)."""
    head, sep, body = stdout.partition(" => ")
    assert sep, stdout
    return head.split("|")[-1].strip(), json.loads(body)


@pytest.fixture
def ansible_adhoc(tmp_path):
    def _run(module, args, extra=()):
        cmd = [
            os.path.join(BIN, "ansible"),
            "localhost",
            "-i",
            "localhost,",
            "-c",
            "local",
            "-e",
            f"ansible_python_interpreter={sys.executable}",
            "-m",
            module,
            "-a",
            json.dumps(args),
            *extra,
        ]
        proc = subprocess.run(cmd, cwd=ROOT, env=ansible_env(tmp_path), capture_output=True, text=True, timeout=120)
        status, result = _parse_minimal(proc.stdout)
        result["rc"] = proc.returncode
        result["status"] = status
        result["stdout"] = proc.stdout
        result["stderr"] = proc.stderr
        return result

    return _run


@pytest.fixture
def ansible_playbook(tmp_path):
    def _run(playbook_text, extra=()):
        path = tmp_path / "playbook.yml"
        path.write_text(playbook_text)
        env = ansible_env(tmp_path)
        env["ANSIBLE_STDOUT_CALLBACK"] = "default"
        cmd = [
            os.path.join(BIN, "ansible-playbook"),
            "-i",
            "localhost,",
            "-c",
            "local",
            "-e",
            f"ansible_python_interpreter={sys.executable}",
            str(path),
            *extra,
        ]
        return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)

    return _run
