"""On each host: TLS files, their owners and modes, and the rendered TLS settings."""

import base64
import os

import testinfra.utils.ansible_runner

testinfra_hosts = testinfra.utils.ansible_runner.AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"]).get_hosts(
    "nats_servers"
)


def test_tls_file_modes(host):
    expect = {
        "/etc/nats-server/tls": ("root", "nats", 0o750),
        "/etc/nats-server/tls/server-key.pem": ("nats", "nats", 0o600),
        "/etc/nats-server/tls/route-key.pem": ("nats", "nats", 0o600),
        "/etc/nats-server/tls/server-cert.pem": ("root", "nats", 0o644),
        "/etc/nats-server/tls/route-cert.pem": ("root", "nats", 0o644),
        "/etc/nats-server/tls/client-ca.pem": ("root", "nats", 0o644),
        "/etc/nats-server/tls/route-ca.pem": ("root", "nats", 0o644),
    }
    # one command per host: every testinfra file attribute is a separate ansible call
    out = host.check_output("stat -c '%n %U %G %a' " + " ".join(expect))
    rows = (line.split() for line in out.splitlines())
    seen = {path: (user, group, int(mode, 8)) for path, user, group, mode in rows}
    assert seen == expect


def test_ca_key_never_on_the_host(host):
    out = host.run("grep -rl 'PRIVATE KEY' /etc/nats-server")
    keys = sorted(p for p in out.stdout.split() if "/staged/" not in p)
    assert keys == ["/etc/nats-server/tls/route-key.pem", "/etc/nats-server/tls/server-key.pem"], keys
    ca_key = open(os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "pki", "ca.key")).read().split("\n")[1]
    # the pattern goes to grep base64-encoded on stdin: written literally in the command,
    # it would be found in the connection's own temp files
    b64 = base64.b64encode(ca_key.encode()).decode()
    found = host.run(f"echo {b64} | base64 -d | grep -rlsF -f - /etc /var/lib/nats /root /tmp").stdout.split()
    assert found == []


def test_config_maps_certificates(host):
    conf = host.file("/etc/nats-server/nats-server.conf").content_string
    assert "verify_and_map: true" in conf
    assert '"CN=alice,O=Org"' in conf
    assert "route-cert.pem" in conf
    # route authorization stays on with route TLS
    assert 'user: "route"' in conf


def test_config_valid_and_running(host):
    import natstest

    out = host.check_output("/usr/local/bin/nats-server -t -c /etc/nats-server/nats-server.conf 2>&1")
    digest = out.split("(")[1].rstrip(")")
    varz = natstest.monitor(host, "/varz")
    assert varz["config_digest"] == digest
    assert varz["tls_required"] is True
    assert varz["tls_verify"] is True
    assert varz["cluster"]["tls_required"] is True


def test_monitoring_is_https_only(host):
    """https with the cluster's CA and no client certificate (verify_and_map does not apply to monitoring);
    plain http on the same port gets no endpoint, and without the CA the certificate is not trusted."""
    import natstest

    varz = natstest.monitor(host, "/varz")
    assert varz["https_port"] == 8222
    assert varz.get("http_port", 0) == 0
    probe = (
        "import urllib.request,urllib.error,ssl\n"
        "plain, system = 'http://127.0.0.1:8222/varz', 'https://127.0.0.1:8222/varz'\n"
        "for url, ctx in ((plain, None), (system, ssl.create_default_context())):\n"
        "    try:\n"
        "        urllib.request.urlopen(url, timeout=5, context=ctx)\n"
        "        print(url, 'served')\n"
        "    except urllib.error.HTTPError as exc:\n"
        "        print(url, 'HTTP', exc.code)\n"
        "    except Exception as exc:\n"
        "        print(url, 'refused', type(exc).__name__, getattr(exc, 'reason', ''))\n"
    )
    out = host.check_output("python3 -c %s", probe)
    assert "http://127.0.0.1:8222/varz HTTP 400" in out, out
    assert "https://127.0.0.1:8222/varz refused" in out and "CERTIFICATE_VERIFY_FAILED" in out, out
