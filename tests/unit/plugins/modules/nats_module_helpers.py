"""Helpers shared by the credential module tests (imported by conftest.py and the tests)."""

from __future__ import annotations

import datetime
import json
import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

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
