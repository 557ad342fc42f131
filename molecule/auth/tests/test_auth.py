"""From the controller: every authentication method of the auth scenario, with real clients."""

import asyncio
import os

import nats
import natstest
import nkeys
import pytest
import testinfra
import testinfra.utils.ansible_runner

RUNNER = testinfra.utils.ansible_runner.AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"])
NODES = RUNNER.get_hosts("nats_servers")
NK_GLOBAL = "SUAD5Q4XEA2Z6ZVBGM7YPEWRPXFTTA2NRBQKZJSTHSRM44XNWFANCSU5TE"
NK_ORDERS = "SUAP4HPA2B6RF6YFOGOW7JSENPFMHARX6LSAMUWHWDAOEI3VRDTG7IESOM"
PASSWORDS = {
    "app": "app-secret-pass",
    "responder": "responder-secret-pass",
    "orders-svc": "orders-secret-pass",
    "billing": "billing-secret-pass",
    "sysadmin": "sysadmin-secret-pass",
}


def host(name):
    return testinfra.get_host(f"ansible://{name}?ansible_inventory={os.environ['MOLECULE_INVENTORY_FILE']}")


def addr(name):
    return f"nats://{natstest.container_ip(name)}:4222"


def _login(user, password):
    """user and password for nats.connect; a known user's password comes from PASSWORDS."""
    if not user:
        return {}
    return {"user": user, "password": PASSWORDS[user] if password is None else password}


async def connect(node, user=None, password=None, errors=None, **kw):
    return await natstest.connect(addr(node), errors=errors, **_login(user, password), **kw)


def refusal(node, user=None, password=None, **kw):
    return natstest.refusal(addr(node), **_login(user, password), **kw)


deliver = natstest.deliver


def test_three_nodes_full_mesh():
    assert len(NODES) == 3
    natstest.assert_full_mesh(NODES)


@pytest.mark.parametrize("node", range(3))
def test_anonymous_refused(node):
    err = refusal(NODES[node])
    assert err and "authorization violation" in err, err


@pytest.mark.parametrize("user", sorted(PASSWORDS))
def test_wrong_password_refused_right_one_accepted(user):
    err = refusal(NODES[0], user=user, password="wrong-password")
    assert err and "authorization violation" in err, err
    assert refusal(NODES[0], user=user) is None


def test_deny_overrides_allow():
    async def go():
        errors = []
        nc = await connect(NODES[0], "app", errors=errors)
        try:
            await nc.publish("orders.new", b"ok")
            await nc.publish("orders.secret", b"no")
            await nc.flush()
            await asyncio.sleep(0.5)
        finally:
            await nc.close()
        return " ".join(errors).lower()

    text = natstest.run(go())
    assert 'permissions violation for publish to "orders.secret"' in text, text
    assert "orders.new" not in text, text


def test_allow_responses_lets_a_subscriber_reply_and_nothing_else():
    async def go():
        errors = []
        responder = await connect(NODES[1], "responder", errors=errors)
        app = await connect(NODES[0], "app")
        try:

            async def handler(msg):
                await msg.respond(b"pong")

            await responder.subscribe("svc.echo", cb=handler)
            await responder.flush()
            reply = None
            for _attempt in range(20):
                try:
                    reply = (await app.request("svc.echo", b"ping", timeout=0.5)).data
                    break
                except (nats.errors.TimeoutError, nats.errors.NoRespondersError):
                    await asyncio.sleep(0.2)
            await responder.publish("orders.new", b"not a reply")
            await responder.flush()
            await asyncio.sleep(0.5)
            return reply, " ".join(errors).lower()
        finally:
            await app.close()
            await responder.close()

    reply, errors = natstest.run(go())
    assert reply == b"pong"
    assert 'permissions violation for publish to "orders.new"' in errors, errors


@pytest.mark.parametrize("node", range(3))
def test_nkey_user_signs_the_nonce(node):
    async def go():
        errors = []
        nc = await connect(NODES[node], nkeys_seed_str=NK_GLOBAL, errors=errors)
        try:
            sub = await nc.subscribe("nk.echo")
            await nc.flush()
            data = await deliver(sub, nc, "nk.echo")
            await nc.publish("orders.new", b"no")
            await nc.flush()
            await asyncio.sleep(0.5)
            return data, " ".join(errors).lower()
        finally:
            await nc.close()

    data, errors = natstest.run(go())
    assert data is not None
    assert 'permissions violation for publish to "orders.new"' in errors, errors


def test_unknown_nkey_refused():
    seed = nkeys.encode_seed(os.urandom(32), nkeys.PREFIX_BYTE_USER).decode()
    err = refusal(NODES[0], nkeys_seed_str=seed)
    assert err and "authorization violation" in err, err
    assert refusal(NODES[0], nkeys_seed_str=NK_GLOBAL) is None


def test_account_stream_export_and_import_cross_the_cluster():
    """ORDERS exports events.>; BILLING imports it; the global account (app) sees nothing."""

    async def go():
        billing = await connect(NODES[1], "billing")
        app = await connect(NODES[2], "app")
        orders = await connect(NODES[0], "orders-svc")
        orders_nk = await connect(NODES[0], nkeys_seed_str=NK_ORDERS)
        try:
            bsub = await billing.subscribe("events.>")
            asub = await app.subscribe("events.>")
            await billing.flush()
            await app.flush()
            got = await deliver(bsub, orders, "events.created")
            got_nk = await deliver(bsub, orders_nk, "events.from-nkey")
            try:
                leaked = (await asub.next_msg(timeout=1)).data
            except nats.errors.TimeoutError:
                leaked = None
            return got, got_nk, leaked
        finally:
            for nc in (billing, app, orders, orders_nk):
                await nc.close()

    got, got_nk, leaked = natstest.run(go())
    assert got is not None, "BILLING did not receive the ORDERS stream export"
    assert got_nk is not None, "the ORDERS nkey user's message did not reach BILLING"
    assert leaked is None, "the global account saw an ORDERS message"


def test_account_service_import():
    async def go():
        orders = await connect(NODES[0], "orders-svc")
        billing = await connect(NODES[1], "billing")
        app = await connect(NODES[2], "app")
        try:

            async def handler(msg):
                await msg.respond(b"found:" + msg.data)

            await orders.subscribe("lookup", cb=handler)
            await orders.flush()
            reply = None
            for _attempt in range(20):
                try:
                    reply = (await billing.request("lookup", b"42", timeout=0.5)).data
                    break
                except (nats.errors.TimeoutError, nats.errors.NoRespondersError):
                    await asyncio.sleep(0.2)
            try:
                other = (await app.request("svc.lookup", b"42", timeout=0.5)).data
            except (nats.errors.TimeoutError, nats.errors.NoRespondersError):
                other = None
            return reply, other
        finally:
            for nc in (orders, billing, app):
                await nc.close()

    reply, other = natstest.run(go())
    assert reply == b"found:42"
    assert other is None


def test_system_account_user_sees_every_server():
    async def go():
        nc = await connect(NODES[0], "sysadmin")
        try:
            return await natstest.server_names(nc)
        finally:
            await nc.close()

    assert natstest.run(go()) == set(NODES)


def test_varz_auth_required_everywhere():
    for name in NODES:
        assert natstest.monitor(host(name), "/varz")["auth_required"] is True


@pytest.mark.parametrize(
    "extra,expect",
    [
        ({"nats_server_nkey_users": [{"nkey": NK_GLOBAL}]}, "not a user public nkey"),
        ({"nats_server_system_account": "NOPE"}, "nats_server_system_account is 'NOPE'"),
        (
            {"nats_server_users": [{"name": "dup", "password": "x1"}, {"name": "dup", "password": "x2"}]},
            "a user is defined twice",
        ),
        (
            {"nats_server_users": [{"name": "x", "password": "y", "permissions": {"publsh": {"allow": [">"]}}}]},
            "unknown permission key",
        ),
        ({"nats_server_no_auth_user": "app"}, "nats_server_no_auth_user is set"),
        (
            {"nats_server_tls": {"cert": "/nonexistent.pem", "key": "/nonexistent.key"}},
            "does not exist on the controller",
        ),
        ({"nats_server_tls": {"cert": "/c", "key": "/k", "verify_and_map": True}}, "verify_and_map or verify is on"),
    ],
)
def test_bad_input_fails_before_any_node_changes(extra, expect, tmp_path):
    import json

    digests = {n: natstest.monitor(host(n), "/varz")["config_digest"] for n in NODES}
    varsfile = tmp_path / "extra.json"
    varsfile.write_text(json.dumps(extra))
    varsfile.chmod(0o600)
    result = natstest.ansible_playbook("hardened.nats.site", "-e", f"@{varsfile}")
    out = result.stdout + result.stderr
    assert result.returncode != 0, out[-3000:]
    assert expect in " ".join(out.split()), out[-3000:]
    assert NK_GLOBAL[2:10] not in out, "a seed was printed"
    for n in NODES:
        assert natstest.monitor(host(n), "/varz")["config_digest"] == digests[n]
