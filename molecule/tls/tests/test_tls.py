"""From the controller: mTLS clients mapped to users, refused clients, TLS routes."""

import datetime
import json
import os
import socket
import ssl
import tempfile
import time

import nats
import natstest
import pytest
import testinfra
import testinfra.utils.ansible_runner
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

RUNNER = testinfra.utils.ansible_runner.AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"])
NODES = RUNNER.get_hosts("nats_servers")
PKI = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "pki")
ROUTE_PASS = "molecule-route-pass/with:odd@chars"


def host(name):
    return testinfra.get_host(f"ansible://{name}?ansible_inventory={os.environ['MOLECULE_INVENTORY_FILE']}")


def context(client=None, cert=None, key=None):
    ctx = ssl.create_default_context(cafile=os.path.join(PKI, "ca.pem"))
    if client:
        cert = os.path.join(PKI, "clients", f"{client}.pem")
        key = os.path.join(PKI, "clients", f"{client}.key")
    if cert:
        ctx.load_cert_chain(cert, key)
    return ctx


def url(name):
    return f"tls://{natstest.container_ip(name)}:4222"


async def connect(name, ctx, errors=None):
    async def on_error(e):
        if errors is not None:
            errors.append(str(e))

    return await nats.connect(
        url(name), tls=ctx, allow_reconnect=False, max_reconnect_attempts=0, connect_timeout=3, error_cb=on_error
    )


def refused(name, ctx):
    """The error text when the node refuses the client, None when it lets it in."""

    async def go():
        errors = []
        try:
            nc = await connect(name, ctx, errors)
        except Exception as exc:  # noqa: BLE001 - any refusal counts; the text is checked by the caller
            errors.append(f"{type(exc).__name__}: {exc}")
            return " ".join(errors)
        await nc.close()
        return None

    return natstest.run(go())


def foreign_client_cert(tmp):
    """A client certificate named like alice, signed by a CA key that the cluster does not know."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "foreign CA")])
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name(
                [x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Org"), x509.NameAttribute(NameOID.COMMON_NAME, "alice")]
            )
        )
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    cert_path, key_path = os.path.join(tmp, "foreign.pem"), os.path.join(tmp, "foreign.key")
    with open(cert_path, "wb") as fh:
        fh.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as fh:
        fh.write(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    return cert_path, key_path


def test_three_nodes():
    assert len(NODES) == 3


def test_each_node_routes_to_both_peers():
    natstest.assert_full_mesh(NODES)


def test_mapped_client_crosses_the_cluster():
    """alice (CN=alice,O=Org) is let in by her certificate alone and her messages cross the routes."""

    async def go():
        sub_nc = await connect(NODES[1], context("alice"))
        pub_nc = await connect(NODES[0], context("alice"))
        try:
            sub = await sub_nc.subscribe("orders.created")
            await sub_nc.flush()
            return await natstest.deliver(sub, pub_nc, "orders.created")
        finally:
            await pub_nc.close()
            await sub_nc.close()

    data = natstest.run(go())
    assert data is not None and data.startswith(b"m-")


@pytest.mark.parametrize(
    "client,allowed,denied",
    [("alice", "orders.x", "audit.x"), ("bob", "audit.x", "orders.x")],
)
def test_mapped_client_gets_its_users_permissions(client, allowed, denied):
    async def go():
        errors = []
        nc = await connect(NODES[0], context(client), errors)
        try:
            await nc.publish(allowed, b"ok")
            await nc.flush()
            await nc.publish(denied, b"no")
            await nc.flush()
            time.sleep(0.5)
            await nc.flush()
        finally:
            await nc.close()
        return errors

    errors = natstest.run(go())
    text = " ".join(errors).lower()
    assert "permissions violation" in text and denied in text, errors
    assert allowed not in text, errors


def test_client_without_certificate_refused():
    err = refused(NODES[0], context())
    assert err, "a client without a certificate was let in"
    print(err)


def test_client_of_another_ca_refused():
    with tempfile.TemporaryDirectory() as tmp:
        cert, key = foreign_client_cert(tmp)
        err = refused(NODES[0], context(cert=cert, key=key))
    assert err, "a certificate from another CA was let in"
    print(err)


def test_certificate_of_the_ca_without_a_user_refused():
    err = refused(NODES[0], context("eve"))
    assert err and "authorization violation" in err.lower(), err


def test_plaintext_client_refused():
    async def go():
        try:
            nc = await nats.connect(
                f"nats://{natstest.container_ip(NODES[0])}:4222",
                allow_reconnect=False,
                max_reconnect_attempts=0,
                connect_timeout=3,
            )
        except Exception as exc:  # noqa: BLE001
            return str(exc) or type(exc).__name__
        await nc.close()
        return None

    assert natstest.run(go()), "a plaintext client was let in"


def _plaintext_route_greeting(ip):
    with socket.create_connection((ip, 6222), timeout=5) as sock:
        try:
            return sock.recv(4096)
        except TimeoutError:
            return b""


def _tls_route_greeting(ip):
    ctx = context("alice")
    with ctx.wrap_socket(socket.create_connection((ip, 6222), timeout=5), server_hostname=ip) as sock:
        return sock.version(), sock.recv(4096)


def test_route_port_speaks_only_tls():
    """The route port answers a TLS handshake with its INFO, and a plaintext peer with nothing."""
    for name in NODES:
        ip = natstest.container_ip(name)
        assert not _plaintext_route_greeting(ip).startswith(b"INFO"), name
        version, info = _tls_route_greeting(ip)
        assert version in ("TLSv1.2", "TLSv1.3"), version
        assert info.startswith(b"INFO ") and f'"server_name":"{name}"'.encode() in info, info[:300]


def _intruder_config(node_ip, cert, key, with_password):
    from urllib.parse import quote

    cred = f"route:{quote(ROUTE_PASS, safe='')}@" if with_password else ""
    auth = f'authorization {{ user: "route", password: "{ROUTE_PASS}" }}' if with_password else ""
    return f"""
server_name: "intruder"
listen: "127.0.0.1:-1"
cluster {{
  name: "nats"
  listen: "0.0.0.0:16299"
  routes: ["nats-route://{cred}{node_ip}:6222"]
  {auth}
  tls {{ cert_file: "{cert}", key_file: "{key}", ca_file: "{os.path.join(PKI, "ca.pem")}", timeout: 3 }}
}}
"""


@pytest.mark.parametrize("with_password,joins", [(False, False), (True, True)])
def test_client_certificate_cannot_join_as_a_route(with_password, joins):
    """alice's certificate passes route TLS (same CA); the route password still keeps her out.

    The positive case proves the negative one could fail: the same certificate with the
    route password joins.
    """
    node = NODES[0]
    cert = os.path.join(PKI, "clients", "alice.pem")
    key = os.path.join(PKI, "clients", "alice.key")
    with natstest.LocalServer(_intruder_config(natstest.container_ip(node), cert, key, with_password)) as server:
        seen = False
        deadline = time.monotonic() + (8 if not joins else 20)
        while time.monotonic() < deadline:
            if "intruder" in natstest.route_names(host(node)):
                seen = True
                break
            time.sleep(0.5)
        log = server.output()
    assert seen is joins, log[-2000:]
    if not joins:
        assert "authorization violation" in log.lower(), log[-2000:]


def test_audit_reads_https_monitoring_and_finds_nothing():
    """hardened.nats.audit on this cluster: monitoring read over https with the CA on the node, every check
    passes (an anonymous client cannot even finish the TLS handshake without a certificate)."""
    report = os.path.join(tempfile.mkdtemp(prefix="hardened-nats-audit-"), "report.json")
    run = natstest.ansible_playbook(
        "hardened.nats.audit",
        "-e",
        json.dumps({"nats_audit_report": report, "nats_audit_ca_file": "/etc/nats-server/tls/client-ca.pem"}),
    )
    assert run.returncode == 0, (run.stdout + run.stderr)[-6000:]
    with open(report) as fh:
        nodes = json.load(fh)["nodes"]
    assert sorted(nodes) == sorted(NODES)
    for name, node in nodes.items():
        assert node["findings"] == [], (name, node["findings"])
        assert node["facts"]["monitor_tls"] is True, (name, node["facts"])


def _switch_monitoring(tls):
    """Run site.yml with https monitoring on or off; return each node's /varz and /routez, and the output."""
    run = natstest.ansible_playbook("-e", json.dumps({"nats_server_monitor_tls": tls}), "site.yml")
    assert run.returncode == 0, (run.stdout + run.stderr)[-6000:]
    ca = None if tls else ""  # None: the scenario's CA (https); "": plain http
    read = {n: (natstest.monitor(host(n), "/varz", ca=ca), natstest.monitor(host(n), "/routez", ca=ca)) for n in NODES}
    return read, run.stdout


def test_monitoring_switches_to_http_and_back_node_by_node():
    """Turning https off and on again is restart-only: each node, in turn, is read at its old address
    until its restart and proven at the new one (last: it leaves the cluster as converged)."""
    started = {n: natstest.monitor(host(n), "/varz")["start"] for n in NODES}
    for tls in (False, True):
        read, out = _switch_monitoring(tls)
        for name in NODES:
            varz, routez = read[name]
            assert f"roll out {name}" in out, out[-4000:]
            assert varz["start"] != started[name], f"{name} was not restarted"
            ports = (varz.get("https_port", 0), varz.get("http_port", 0))
            assert ports == ((8222, 0) if tls else (0, 8222)), (name, ports)
            peers = sorted({r["remote_name"] for r in routez.get("routes") or []})
            assert peers == sorted(n for n in NODES if n != name), (name, peers)
            started[name] = varz["start"]
