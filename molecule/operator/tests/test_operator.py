"""From the controller: JWT operator mode with the full resolver, clients with creds files."""

import asyncio
import json
import os

import nats
import natstest
import pytest
import testinfra
import testinfra.utils.ansible_runner

RUNNER = testinfra.utils.ansible_runner.AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"])
NODES = RUNNER.get_hosts("nats_servers")
JWT_DIR = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "jwt")


def host(name):
    return natstest.host(name)


def creds(name):
    return os.path.join(JWT_DIR, f"{name}.creds")


def read(name):
    with open(os.path.join(JWT_DIR, name)) as fh:
        return fh.read().strip()


def public_key(seed_file):
    import nkeys

    return nkeys.from_seed(read(seed_file).encode()).public_key.decode()


def addr(name):
    return f"nats://{natstest.container_ip(name)}:4222"


async def connect(node, errors=None, **kw):
    return await natstest.connect(addr(node), errors=errors, **kw)


def refusal(node, **kw):
    return natstest.refusal(addr(node), **kw)


deliver = natstest.deliver


def test_three_nodes_full_mesh():
    assert len(NODES) == 3
    natstest.assert_full_mesh(NODES)


@pytest.mark.parametrize("node", range(3))
def test_creds_from_nats_jwt_connect(node):
    assert refusal(NODES[node], user_credentials=creds("alice")) is None


@pytest.mark.parametrize("node", range(3))
def test_anonymous_refused(node):
    err = refusal(NODES[node])
    assert err and "authorization violation" in err, err


def test_user_of_an_account_the_operator_did_not_sign_is_refused():
    err = refusal(NODES[0], user_credentials=creds("mallory"))
    assert err and "authorization violation" in err, err
    # the control: a user of a trusted account connects to the same node
    assert refusal(NODES[0], user_credentials=creds("bob")) is None


def test_password_user_refused():
    err = refusal(NODES[0], user="alice", password="anything")
    assert err and "authorization violation" in err, err


def test_messages_cross_the_cluster_and_permissions_hold():
    async def go():
        errors = []
        alice = await connect(NODES[0], user_credentials=creds("alice"))
        bob = await connect(NODES[2], errors=errors, user_credentials=creds("bob"))
        try:
            sub = await alice.subscribe("app.>")
            await alice.flush()
            got = await deliver(sub, bob, "app.orders")
            await bob.publish("app.admin.reset", b"no")
            await bob.flush()
            await asyncio.sleep(0.5)
            try:
                leaked = (await sub.next_msg(timeout=1)).subject
            except nats.errors.TimeoutError:
                leaked = None
            return got, leaked, " ".join(errors).lower()
        finally:
            await alice.close()
            await bob.close()

    got, leaked, errors = natstest.run(go())
    assert got is not None, "a message from node 3 did not reach node 1"
    assert 'permissions violation for publish to "app.admin.reset"' in errors, errors
    assert leaked in (None, "app.orders"), leaked


def test_system_account_user_sees_every_server():
    async def go():
        nc = await connect(NODES[0], user_credentials=creds("sysadmin"))
        try:
            return await natstest.server_names(nc)
        finally:
            await nc.close()

    assert natstest.run(go()) == set(NODES)


@pytest.mark.parametrize("node", range(3))
def test_varz_operator_mode(node):
    varz = natstest.monitor(host(NODES[node]), "/varz")
    assert varz["auth_required"] is True
    assert varz["system_account"] == public_key("sys.nk")


@pytest.mark.parametrize("node", range(3))
def test_files_on_the_host(node):
    h = host(NODES[node])
    conf = h.file("/etc/nats-server/nats-server.conf")
    assert 'include "operator.conf"' in conf.content_string
    op = h.file("/etc/nats-server/operator.conf")
    assert (op.user, op.group, op.mode) == ("root", "nats", 0o640)
    text = op.content_string
    assert f"operator: {json.dumps(read('operator.jwt'))}" in text
    assert f'system_account: "{public_key("sys.nk")}"' in text
    assert "type: full" in text
    assert read("app.jwt") in text and read("sys.jwt") in text
    assert read("rogue.jwt") not in text
    # the full resolver keeps the account JWTs under the data dir, nats-only
    d = h.file("/var/lib/nats/jwt")
    assert (d.user, d.group, d.mode) == ("nats", "nats", 0o700)
    stored = h.check_output("ls /var/lib/nats/jwt").split()
    assert f"{public_key('app.nk')}.jwt" in stored
    # no seed (operator, account, signing key or user) reached the host
    seeds = [read(f) for f in sorted(os.listdir(JWT_DIR)) if f.endswith(".nk")]
    assert len(seeds) == 12
    import base64

    b64 = base64.b64encode("\n".join(seeds).encode()).decode()
    found = h.run(f"echo {b64} | base64 -d | grep -rlsF -f - /etc /var/lib/nats /root /tmp").stdout.split()
    assert found == []


def test_restart_settings_record_the_operator():
    h = host(NODES[0])
    settings = json.loads(h.file("/etc/nats-server/restart-settings.json").content_string)
    assert len(settings["operator"]) == 64
    assert settings["auth_callout"] == ""


def _site_with(extra, tmp_path):
    digests = {n: natstest.monitor(host(n), "/varz")["config_digest"] for n in NODES}
    varsfile = tmp_path / "extra.json"
    varsfile.write_text(json.dumps(extra))
    varsfile.chmod(0o600)
    result = natstest.ansible_playbook("hardened.nats.site", "-e", f"@{varsfile}")
    out = result.stdout + result.stderr
    for n in NODES:
        assert natstest.monitor(host(n), "/varz")["config_digest"] == digests[n]
    return result.returncode, " ".join(out.split())


@pytest.mark.parametrize(
    "extra,expect",
    [
        ({"rogue": True}, "were not issued by the operator of nats_server_operator.jwt"),
        ({"nats_server_users": [{"name": "x", "password": "y-password"}]}, "is set together with nats_server_users"),
        ({"nats_server_token": "a-token-of-some-length"}, "is set together with nats_server_token"),
        ({"no_sys": True}, "has no JWT in nats_server_operator.accounts"),
        ({"resolver_dir": "/srv/jwt"}, "is not under nats_server_data_dir"),
        ({"jwt": "app"}, "nats_server_operator.jwt is not an operator JWT"),
    ],
)
def test_bad_operator_input_fails_before_any_node_changes(extra, expect, tmp_path):
    operator = {"jwt": read("operator.jwt"), "resolver": "full", "accounts": [read("sys.jwt"), read("app.jwt")]}
    if extra.pop("rogue", False):
        operator["accounts"].append(read("rogue.jwt"))
    if extra.pop("no_sys", False):
        operator["accounts"] = [read("app.jwt")]
    if "resolver_dir" in extra:
        operator["resolver_dir"] = extra.pop("resolver_dir")
    if "jwt" in extra:
        operator["jwt"] = read(extra.pop("jwt") + ".jwt")
    rc, out = _site_with({"nats_server_operator": operator, **extra}, tmp_path)
    assert rc != 0, out[-3000:]
    assert expect in out, out[-3000:]


def test_site_with_the_same_operator_changes_nothing(tmp_path):
    """The control for the refusals above: the same inputs pass preflight and change nothing."""
    operator = {"jwt": read("operator.jwt"), "resolver": "full", "accounts": [read("sys.jwt"), read("app.jwt")]}
    rc, out = _site_with({"nats_server_operator": operator}, tmp_path)
    assert rc == 0, out[-3000:]
    import re

    recap = re.findall(r"(operator-nats\d) : ok=\d+ changed=(\d+) unreachable=0 failed=(\d+)", out)
    assert sorted(r[0] for r in recap) == sorted(NODES), out[-3000:]
    assert all(r[1] == "0" and r[2] == "0" for r in recap), recap
