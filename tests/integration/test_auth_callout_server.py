"""The role's auth callout config against a real nats-server, with a real callout service.

The role's own preflight and configure tasks (hardened.nats.nats_server, run on localhost
through ansible-playbook) hash the users, render the config with nats_server_auth_callout
and check it with ``nats-server -t``. The staged config then runs on loopback; a callout
service written here (nats-py, signing with the collection's JWT code) connects as the
auth user, and the server asks it about every other client: a client it approves
connects into the account it names, one it refuses does not. Bad callout inputs fail in
preflight, each naming the variable.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time

import nats
import pytest
from ansible_collections.hardened.nats.plugins.module_utils import _nats_jwt as nj
from ansible_collections.hardened.nats.plugins.module_utils import _nats_keys as keys
from nats_test_helpers import free_port, nats_server, run_playbook, running_nats_server

AUTH_PASS = "callout-service-pass"


PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  vars:
    nats_server_name: callout-test
    nats_server_cluster_enabled: false
    nats_server_config_dir: {d}/etc
    nats_server_group: "{group}"
    nats_server_binary_path: {binary}
    nats_server_client_host: 127.0.0.1
    nats_server_client_port: {port}
    nats_server_client_advertise: ""
    nats_server_monitor_port: {mport}
    nats_server_bcrypt_store: {d}/bcrypt
    nats_server_bcrypt_cost: 10
    nats_server_accounts: {accounts}
    nats_server_auth_callout: {callout}
  tasks:
    - name: The staging directory (install.yml makes it on a real host)
      ansible.builtin.file:
        path: {d}/etc/staged
        state: directory
        mode: "0750"
    - name: Preflight
      ansible.builtin.include_role:
        name: hardened.nats.nats_server
        tasks_from: preflight.yml
    - name: Configure (hash, render, nats-server -t)
      ansible.builtin.include_role:
        name: hardened.nats.nats_server
        tasks_from: configure.yml
"""

ACCOUNTS = {"AUTH": {"users": [{"name": "auth", "password": AUTH_PASS}]}, "APP": {}}


def _run_role(tmp, callout, accounts=None, port=None, mport=None):
    d = tmp / f"run-{time.monotonic_ns()}"
    d.mkdir()
    import grp

    text = PLAYBOOK.format(
        d=d,
        group=grp.getgrgid(os.getgid()).gr_name,
        binary=nats_server(),
        port=port or free_port(),
        mport=mport or free_port(),
        accounts=json.dumps(accounts if accounts is not None else ACCOUNTS),
        callout=json.dumps(callout),
    )
    (d / "play.yml").write_text(text)
    proc = run_playbook(d, str(d / "play.yml"))
    return d, proc.returncode, " ".join((proc.stdout + proc.stderr).split())


@pytest.fixture(scope="module")
def issuer():
    return keys.generate("account")


@pytest.fixture(scope="module")
def server(tmp_path_factory, issuer):
    tmp = tmp_path_factory.mktemp("callout")
    port = free_port()
    callout = {"issuer": issuer.public_key, "auth_users": ["auth"], "account": "AUTH"}
    d, rc, out = _run_role(tmp, callout, port=port)
    assert rc == 0, out[-4000:]
    conf = d / "etc" / "staged" / "nats-server.conf"
    text = conf.read_text()
    assert "auth_callout {" in text
    assert AUTH_PASS not in text
    log = d / "server.log"
    with running_nats_server(conf, log):
        yield {"url": f"nats://127.0.0.1:{port}", "conf": text, "log": log, "dir": d}


def _claims(token):
    return nj.decode(token, verify=False)


async def _callout_service(url, issuer, seen):
    """Approve carol (password carol-pass) into APP with publish on app.>; refuse everyone else."""
    nc = await nats.connect(url, user="auth", password=AUTH_PASS, allow_reconnect=False, connect_timeout=3)

    async def handle(msg):
        req = _claims(msg.data.decode())["nats"]
        opts = req.get("connect_opts", {})
        seen.append(opts.get("user"))
        server_id = req["server_id"]["id"]
        response = {"sub": req["user_nkey"], "aud": server_id, "nats": {"type": "authorization_response", "version": 2}}
        if opts.get("user") == "carol" and opts.get("pass") == "carol-pass":
            user = nj.user_claims(req["user_nkey"], "carol", permissions={"pub": {"allow": ["app.>"]}})
            user["aud"] = "APP"
            response["nats"]["jwt"] = nj.encode(user, issuer)[0]
        else:
            response["nats"]["error"] = "not allowed"
        token = nj.encode(response, issuer)[0]
        await msg.respond(token.encode())

    await nc.subscribe("$SYS.REQ.USER.AUTH", cb=handle)
    await nc.flush()
    return nc


def test_rendered_block(server, issuer):
    assert f'issuer: "{issuer.public_key}"' in server["conf"]
    assert 'auth_users: ["auth"]' in server["conf"]
    assert 'account: "AUTH"' in server["conf"]


def test_callout_service_decides_who_connects(server, issuer):
    async def scenario():
        seen = []
        service = await _callout_service(server["url"], issuer, seen)
        try:
            errors = []

            async def on_error(exc):
                errors.append(str(exc))

            carol = await nats.connect(
                server["url"],
                user="carol",
                password="carol-pass",
                allow_reconnect=False,
                connect_timeout=3,
                error_cb=on_error,
            )
            try:
                sub = await carol.subscribe("_INBOX.x")  # no subscribe permission: refused
                await carol.publish("app.orders", b"ok")
                await carol.publish("other.subject", b"no")
                await carol.flush()
                await asyncio.sleep(0.5)
                del sub
            finally:
                await carol.close()
            refused = None
            try:
                nc = await nats.connect(
                    server["url"], user="carol", password="wrong", allow_reconnect=False, connect_timeout=3
                )
                await nc.close()
            except Exception as exc:  # noqa: BLE001 - nats-py raises several types for a refused CONNECT
                refused = str(exc)
            return seen, " ".join(errors).lower(), refused
        finally:
            await service.close()

    seen, errors, refused = asyncio.run(scenario())
    assert seen.count("carol") == 2, seen
    assert 'permissions violation for publish to "other.subject"' in errors, errors
    assert 'permissions violation for publish to "app.orders"' not in errors, errors
    assert refused is not None and "authorization violation" in refused.lower(), refused


def test_xkey_config_is_accepted(tmp_path, issuer):
    xkey = keys.generate("curve")
    callout = {"issuer": issuer.public_key, "auth_users": ["auth"], "account": "AUTH", "xkey": xkey.public_key}
    d, rc, out = _run_role(tmp_path, callout)
    assert rc == 0, out[-4000:]
    text = (d / "etc" / "staged" / "nats-server.conf").read_text()
    assert f'xkey: "{xkey.public_key}"' in text
    check = subprocess.run(
        [nats_server(), "-t", "-c", str(d / "etc" / "staged" / "nats-server.conf")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0 and "is valid" in check.stdout + check.stderr


@pytest.mark.parametrize(
    "callout,accounts,expect",
    [
        (
            {"issuer": "xkey", "auth_users": ["auth"], "account": "AUTH"},
            None,
            "nats_server_auth_callout.issuer must be",
        ),
        ({"issuer": "issuer", "auth_users": ["nobody"], "account": "AUTH"}, None, "names users that do not exist"),
        ({"issuer": "issuer", "auth_users": ["auth"]}, None, "names users that do not exist in nats_server_users"),
        ({"issuer": "issuer", "auth_users": ["auth"], "account": "NOPE"}, None, "'NOPE' is not an account"),
        ({"issuer": "issuer", "auth_users": []}, None, "auth_users must be a non-empty list"),
        (
            {"issuer": "issuer", "auth_users": ["auth"], "account": "AUTH", "xkey": "issuer"},
            None,
            "xkey must be a curve",
        ),
        ({"issuer": "issuer", "auth_users": ["auth"], "acount": "AUTH"}, None, "unknown: acount"),
    ],
)
def test_bad_callout_input_fails_in_preflight(tmp_path, issuer, callout, accounts, expect):
    xkey = keys.generate("curve")
    callout = {
        k: ({"issuer": issuer.public_key, "xkey": xkey.public_key}.get(v, v) if k in ("issuer", "xkey") else v)
        for k, v in callout.items()
    }
    d, rc, out = _run_role(tmp_path, callout, accounts)
    assert rc != 0, out[-4000:]
    assert expect in out, out[-4000:]
    assert not (d / "etc" / "staged" / "nats-server.conf").exists()
