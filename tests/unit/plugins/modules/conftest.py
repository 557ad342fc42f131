"""Fixtures that drive the hardened.nats modules for real.

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
from nats_test_helpers import BIN, MINIMAL_JSON, ROOT, ModuleExit, ansible_env, parse_minimal, run_playbook


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
        result = ModuleExit(json.loads(capsys.readouterr().out))
        result["rc"] = exc.value.code
        assert (result["rc"] != 0) == result.failed, result
        return result

    return _run


@pytest.fixture
def ansible_adhoc(tmp_path):
    """Run ``ansible localhost -m MODULE``; the argument values travel in a 0600 extra-vars file,
    never on the command line (where ps would show a secret)."""

    def _run(module, args):
        vars_file = tmp_path / "adhoc-args.json"
        vars_file.write_text(json.dumps({"adhoc_args": args}))
        os.chmod(vars_file, 0o600)
        templated = {key: "{{ adhoc_args[" + json.dumps(key) + "] }}" for key in args}
        cmd = [
            os.path.join(BIN, "ansible"),
            "localhost",
            "-i",
            "localhost,",
            "-c",
            "local",
            "-e",
            f"ansible_python_interpreter={sys.executable}",
            "-e",
            f"@{vars_file}",
            "-m",
            module,
            "-a",
            json.dumps(templated),
        ]
        proc = subprocess.run(
            cmd,
            cwd=ROOT,
            env=ansible_env(tmp_path, **MINIMAL_JSON),
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        status, result = parse_minimal(proc.stdout)
        result.update(rc=proc.returncode, status=status, stdout=proc.stdout, stderr=proc.stderr, cmd=cmd)
        return result

    return _run


@pytest.fixture
def ansible_playbook(tmp_path):
    def _run(playbook_text):
        path = tmp_path / "playbook.yml"
        path.write_text(playbook_text)
        env = ansible_env(tmp_path, **dict(MINIMAL_JSON, ANSIBLE_STDOUT_CALLBACK="default"))
        return run_playbook(tmp_path, path, env=env, timeout=300)

    return _run
