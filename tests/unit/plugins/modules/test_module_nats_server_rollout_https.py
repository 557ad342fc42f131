"""nats_server_rollout reading a real nats-server's https monitoring listener, and its old address."""

from __future__ import annotations

import ipaddress
import json
import shutil
import socket
import subprocess
import time

import pytest
from ansible_collections.hardened.nats.plugins.modules import nats_server_rollout
from cryptography import x509
from nats_test_helpers import BIN, free_port, make_pki


def _server(tmp, name, sans, verify):
    """A nats-server whose monitoring is https only, with a certificate from a fresh CA."""
    ca_file, cert_file, key_file = make_pki(tmp, name, sans)
    port = free_port()
    conf = tmp / "server.conf"
    conf.write_text(
        f'server_name: "{name}"\nlisten: "127.0.0.1:{free_port()}"\nhttps: "127.0.0.1:{port}"\n'
        f'tls {{ cert_file: "{cert_file}", key_file: "{key_file}", ca_file: "{ca_file}", {verify}: true }}\n'
        # verify_and_map needs a user to map client certificates to.
        'authorization { users = [ { user: "CN=client" } ] }\n'
    )
    binary = shutil.which("nats-server", path=BIN)
    log = open(tmp / "server.log", "w")
    proc = subprocess.Popen([binary, "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.05)
    return proc, f"https://127.0.0.1:{port}", ca_file


@pytest.fixture(scope="module")
def https_servers(tmp_path_factory):
    """'ip': a certificate with IP:127.0.0.1 (as nats_pki makes); 'dns': one with a DNS name only."""
    servers, procs = {}, []
    for label, sans, verify in (
        ("ip", [x509.DNSName("n1.example"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))], "verify_and_map"),
        ("dns", [x509.DNSName("n2.example")], "verify"),
    ):
        proc, url, ca_file = _server(tmp_path_factory.mktemp(label), f"n-{label}", sans, verify)
        procs.append(proc)
        servers[label] = {"url": url, "ca": ca_file}
    yield servers
    for proc in procs:
        proc.terminate()
        proc.wait(10)


def _status(run_module, url, **kw):
    args = {"action": "status", "config_dir": "/nonexistent", "monitor_url": url}
    args.update(kw)
    return run_module(nats_server_rollout.main, args)


def test_https_with_the_ca_is_read_without_a_client_certificate(run_module, https_servers):
    """verify_and_map does not apply to monitoring: the CA alone proves the server, no client certificate."""
    result = _status(run_module, https_servers["ip"]["url"], monitor_ca_file=https_servers["ip"]["ca"])
    assert result["reachable"] is True
    assert result["varz"]["server_name"] == "n-ip"
    assert result["varz"]["https_port"] > 0


def test_https_without_the_ca_is_not_trusted(run_module, https_servers):
    result = _status(run_module, https_servers["ip"]["url"])
    assert result["reachable"] is False


def test_https_from_another_ca_is_not_trusted(run_module, https_servers):
    result = _status(run_module, https_servers["ip"]["url"], monitor_ca_file=https_servers["dns"]["ca"])
    assert result["reachable"] is False


def test_https_name_check_uses_the_url_host_or_the_given_name(run_module, https_servers):
    """A certificate without IP:127.0.0.1 fails the host check, unless monitor_server_name names its SAN."""
    dns = https_servers["dns"]
    assert _status(run_module, dns["url"], monitor_ca_file=dns["ca"])["reachable"] is False
    named = _status(run_module, dns["url"], monitor_ca_file=dns["ca"], monitor_server_name="n2.example")
    assert named["reachable"] is True
    wrong = _status(run_module, dns["url"], monitor_ca_file=dns["ca"], monitor_server_name="other.example")
    assert wrong["reachable"] is False


def test_monitoring_is_read_at_the_live_records_address_until_the_restart(run_module, https_servers, tmp_path):
    """A staged change of the monitoring port: monitor_url (new) does not answer yet, the live record's does."""
    ip = https_servers["ip"]
    new_url = f"http://127.0.0.1:{free_port()}"
    result = _status(run_module, new_url, config_dir=str(tmp_path), monitor_ca_file=ip["ca"])
    assert result["reachable"] is False
    (tmp_path / "restart-settings.json").write_text(json.dumps({"monitor_url": ip["url"]}))
    result = _status(run_module, new_url, config_dir=str(tmp_path), monitor_ca_file=ip["ca"])
    assert result["reachable"] is True
    assert result["varz"]["server_name"] == "n-ip"
