"""JWTs, creds and NKeys from the modules, checked by the NATS JavaScript libraries.

tests/js/verify.mjs uses @nats-io/jwt and @nats-io/nkeys (pinned in tests/js/package-lock.json)
to verify every signature, decode the claims, recompute jti, parse the creds files and load
the seeds (curve seeds included). The packages are installed with ``npm ci`` into
.cache/js-verify (outside the source tree) when missing or when the lock file changed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys

import pytest
from ansible_collections.hardened.nats.plugins.module_utils import _nats_jwt as nj
from ansible_collections.hardened.nats.plugins.module_utils import _nats_keys as keys
from nats_test_helpers import run_playbook

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
JS_SRC = os.path.join(ROOT, "tests", "js")
JS_CACHE = os.path.join(ROOT, ".cache", "js-verify")
JS_FILES = ("package.json", "package-lock.json", "verify.mjs")
SEED_FILES = {
    "op": "op.nk",
    "sys": "sys.nk",
    "alice": "alice.nk",
    "xkey": "callout.xk",
    "server": "server.nk",
    "cluster": "cluster.nk",
}


def _tool(name):
    path = shutil.which(name)
    assert path, f"{name} is required for this test (Node.js 18 or later with npm)"
    return path


@pytest.fixture(scope="module")
def verifier():
    """Directory holding verify.mjs with its node_modules installed from the lock file."""
    os.makedirs(JS_CACHE, exist_ok=True)
    for name in JS_FILES:
        shutil.copyfile(os.path.join(JS_SRC, name), os.path.join(JS_CACHE, name))
    with open(os.path.join(JS_SRC, "package-lock.json"), "rb") as handle:
        lock_digest = hashlib.sha256(handle.read()).hexdigest()
    stamp = os.path.join(JS_CACHE, "node_modules", ".lock-sha256")
    current = None
    if os.path.exists(stamp):
        with open(stamp) as handle:
            current = handle.read().strip()
    if current != lock_digest:
        proc = subprocess.run(
            [_tool("npm"), "ci", "--no-audit", "--no-fund", "--cache", os.path.join(ROOT, ".cache", "npm")],
            cwd=JS_CACHE,
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        with open(stamp, "w") as handle:
            handle.write(lock_digest + "\n")
    for package in ("@nats-io/jwt", "@nats-io/nkeys"):
        assert os.path.isdir(os.path.join(JS_CACHE, "node_modules", package)), package
    return JS_CACHE


PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  vars:
    d: {d}
  tasks:
    - {{name: op, hardened.nats.nats_nkey: {{path: "{{{{ d }}}}/op.nk", type: operator}}, register: op}}
    - {{name: op_sk, hardened.nats.nats_nkey: {{path: "{{{{ d }}}}/op_sk.nk", type: operator}}, register: op_sk}}
    - {{name: sys, hardened.nats.nats_nkey: {{path: "{{{{ d }}}}/sys.nk", type: account}}, register: sys}}
    - {{name: app, hardened.nats.nats_nkey: {{path: "{{{{ d }}}}/app.nk", type: account}}, register: app}}
    - {{name: app_sk, hardened.nats.nats_nkey: {{path: "{{{{ d }}}}/app_sk.nk", type: account}}, register: app_sk}}
    - {{name: alice, hardened.nats.nats_nkey: {{path: "{{{{ d }}}}/alice.nk", type: user}}, register: alice}}
    - {{name: bob, hardened.nats.nats_nkey: {{path: "{{{{ d }}}}/bob.nk", type: user}}, register: bob}}
    - {{name: callout, hardened.nats.nats_nkey: {{path: "{{{{ d }}}}/callout.nk", type: user}}, register: callout}}
    - {{name: xkey, hardened.nats.nats_nkey: {{path: "{{{{ d }}}}/callout.xk", type: xkey}}, register: xkey}}
    - {{name: server, hardened.nats.nats_nkey: {{path: "{{{{ d }}}}/server.nk", type: server}}, register: server}}
    - {{name: cluster, hardened.nats.nats_nkey: {{path: "{{{{ d }}}}/cluster.nk", type: cluster}}, register: cluster}}
    - name: operator
      hardened.nats.nats_jwt:
        type: operator
        name: JS-OP
        path: "{{{{ d }}}}/op.jwt"
        subject_seed_file: "{{{{ d }}}}/op.nk"
        signing_keys: ["{{{{ op_sk.public_key }}}}"]
        system_account: "{{{{ sys.public_key }}}}"
        strict_signing_key_usage: true
      register: op_jwt
    - name: app account
      hardened.nats.nats_jwt:
        type: account
        name: APP
        path: "{{{{ d }}}}/app.jwt"
        subject_public_key: "{{{{ app.public_key }}}}"
        signer_seed_file: "{{{{ d }}}}/op_sk.nk"
        signing_keys: ["{{{{ app_sk.public_key }}}}"]
        limits: {{conn: 100, payload: 65536, mem_storage: -1, disk_storage: 1073741824}}
        exports: [{{name: orders, subject: "orders.>", type: stream}}]
        authorization:
          auth_users: ["{{{{ callout.public_key }}}}"]
          allowed_accounts: ["*"]
          xkey: "{{{{ xkey.public_key }}}}"
      register: app_jwt
    - name: alice (account key)
      hardened.nats.nats_jwt:
        type: user
        name: alice
        path: "{{{{ d }}}}/alice.jwt"
        creds_path: "{{{{ d }}}}/alice.creds"
        subject_seed_file: "{{{{ d }}}}/alice.nk"
        signer_seed_file: "{{{{ d }}}}/app.nk"
        exp: 30d
        permissions:
          pub: {{allow: ["orders.>"], deny: ["orders.admin.>"]}}
          sub: {{allow: ["_INBOX.>"]}}
          resp: {{max: 1, ttl: 1m}}
        allowed_connection_types: [STANDARD, WEBSOCKET]
      register: alice_jwt
    - name: bob (account signing key)
      hardened.nats.nats_jwt:
        type: user
        name: bob
        path: "{{{{ d }}}}/bob.jwt"
        creds_path: "{{{{ d }}}}/bob.creds"
        subject_seed_file: "{{{{ d }}}}/bob.nk"
        signer_seed_file: "{{{{ d }}}}/app_sk.nk"
        issuer_account: "{{{{ app.public_key }}}}"
      register: bob_jwt
    - name: manifest
      ansible.builtin.copy:
        dest: "{{{{ d }}}}/generated.json"
        mode: "0600"
        content: >-
          {{{{ {{'op': [op_jwt.jwt, op.public_key], 'app': [app_jwt.jwt, app.public_key, app_sk.public_key],
               'alice': [alice_jwt.jwt, alice.public_key], 'bob': [bob_jwt.jwt, bob.public_key],
               'op_sk': op_sk.public_key, 'xkey': xkey.public_key, 'callout': callout.public_key,
               'keys': {{'op': op.public_key, 'sys': sys.public_key, 'alice': alice.public_key,
                        'xkey': xkey.public_key, 'server': server.public_key,
                        'cluster': cluster.public_key}}}} | to_json }}}}
"""


def _run_playbook(tmp, text):
    path = tmp / "playbook.yml"
    path.write_text(text)
    proc = run_playbook(tmp, str(path))
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _tamper(token):
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["name"] = claims["name"] + "-forged"
    forged = base64.urlsafe_b64encode(json.dumps(claims, separators=(",", ":")).encode()).decode().rstrip("=")
    return f"{header}.{forged}.{signature}"


def _node(verifier, manifest_path):
    return subprocess.run(
        [_tool("node"), os.path.join(verifier, "verify.mjs"), str(manifest_path)],
        cwd=verifier,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_nats_js_libraries_accept_module_output(verifier, tmp_path):
    d = tmp_path / "creds"
    _run_playbook(tmp_path, PLAYBOOK.format(d=d))
    gen = json.loads((d / "generated.json").read_text())
    op_jwt, op_pub = gen["op"]
    app_jwt, app_pub, app_sk = gen["app"]
    alice_jwt, alice_pub = gen["alice"]
    bob_jwt, bob_pub = gen["bob"]
    manifest = {
        "tokens": [
            {
                "label": "operator",
                "jwt": op_jwt,
                "type": "operator",
                "subject": op_pub,
                "issuer": op_pub,
                "expect": {
                    "name": "JS-OP",
                    "nats": {
                        "signing_keys": [gen["op_sk"]],
                        "system_account": gen["keys"]["sys"],
                        "strict_signing_key_usage": True,
                    },
                },
            },
            {
                "label": "account",
                "jwt": app_jwt,
                "type": "account",
                "subject": app_pub,
                "issuer": gen["op_sk"],
                "chain_parent": "operator",
                "expect": {
                    "name": "APP",
                    "nats": {
                        "limits": {"conn": 100, "payload": 65536, "mem_storage": -1, "disk_storage": 1073741824},
                        "signing_keys": [app_sk],
                        "exports": [{"name": "orders", "subject": "orders.>", "type": "stream"}],
                        "authorization": {
                            "auth_users": [gen["callout"]],
                            "allowed_accounts": ["*"],
                            "xkey": gen["xkey"],
                        },
                    },
                },
            },
            {
                "label": "alice",
                "jwt": alice_jwt,
                "type": "user",
                "subject": alice_pub,
                "issuer": app_pub,
                "chain_parent": "account",
                "expect": {
                    "name": "alice",
                    "nats": {
                        "pub": {"allow": ["orders.>"], "deny": ["orders.admin.>"]},
                        "sub": {"allow": ["_INBOX.>"]},
                        "resp": {"max": 1, "ttl": 60_000_000_000},
                        "allowed_connection_types": ["STANDARD", "WEBSOCKET"],
                        "subs": -1,
                    },
                },
            },
            {
                "label": "bob",
                "jwt": bob_jwt,
                "type": "user",
                "subject": bob_pub,
                "issuer": app_sk,
                "chain_parent": "account",
                "expect": {"nats": {"issuer_account": app_pub}},
            },
        ],
        "creds": [
            {"label": "alice.creds", "path": str(d / "alice.creds"), "subject": alice_pub},
            {"label": "bob.creds", "path": str(d / "bob.creds"), "subject": bob_pub},
        ],
        "keys": [
            {
                "label": name,
                "seed_file": str(d / SEED_FILES[name]),
                "public_key": pub,
                "type": "curve" if name == "xkey" else "ed25519",
            }
            for name, pub in gen["keys"].items()
        ],
        "tampered": [
            {"label": "tampered alice", "jwt": _tamper(alice_jwt)},
            {"label": "tampered op", "jwt": _tamper(op_jwt)},
        ],
    }
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest))
    os.chmod(path, 0o600)

    proc = _node(verifier, path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["ok"] is True, summary
    assert summary["counts"] == {"tokens": 4, "creds": 2, "keys": 6, "tampered": 2}, summary


def test_verifier_detects_a_bad_token(verifier, tmp_path):
    """The Node check can fail: a token whose claims disagree with the manifest is reported."""
    account = keys.generate("account")
    user = keys.generate("user")
    token, _claims = nj.encode(nj.user_claims(user.public_key, "u"), account)
    manifest = {
        "tokens": [
            {
                "label": "wrong type",
                "jwt": token,
                "type": "account",
                "subject": user.public_key,
                "issuer": account.public_key,
            }
        ],
        "tampered": [{"label": "not tampered", "jwt": token}],
    }
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest))
    proc = _node(verifier, path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    summary = json.loads(proc.stdout)
    assert any("nats.type is user" in f for f in summary["failures"]), summary
    assert any("a tampered token was accepted" in f for f in summary["failures"]), summary
