"""On each host: only hashes on disk, and the rendered authorization."""

import base64
import os

import testinfra.utils.ansible_runner

testinfra_hosts = testinfra.utils.ansible_runner.AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"]).get_hosts(
    "nats_servers"
)
SECRETS = [
    "app-secret-pass",
    "responder-secret-pass",
    "orders-secret-pass",
    "billing-secret-pass",
    "sysadmin-secret-pass",
    "SUAD5Q4XEA2Z6ZVBGM7YPEWRPXFTTA2NRBQKZJSTHSRM44XNWFANCSU5TE",
    "SUAP4HPA2B6RF6YFOGOW7JSENPFMHARX6LSAMUWHWDAOEI3VRDTG7IESOM",
]


def find_on_host(host, secrets, paths="/etc /var/lib/nats /usr/local/bin /root /tmp"):
    """Files on the host that hold any of the secrets.

    The patterns go to grep base64-encoded on stdin: written literally in the command,
    they would be found in the connection's own temp files.
    """
    b64 = base64.b64encode("\n".join(secrets).encode()).decode()
    return host.run(f"echo {b64} | base64 -d | grep -rlsF -f - {paths}").stdout.split()


def test_no_plaintext_secret_on_disk(host):
    assert find_on_host(host, SECRETS) == []
    # the check can fail: it finds a planted copy
    host.run("install -m 0600 /dev/null /tmp/planted && echo app-secret-pass > /tmp/planted")
    try:
        assert find_on_host(host, SECRETS, "/tmp") == ["/tmp/planted"]
    finally:
        host.run("rm -f /tmp/planted")


def test_config_holds_hashes_accounts_and_system_account(host):
    conf = host.file("/etc/nats-server/nats-server.conf").content_string
    assert conf.count('password: "$2a$11$') == 5 + 0, conf.count('password: "$2a$11$')
    assert 'nkey: "UAAEMTIFTN44DLYLOQ7HP3BZDSPGWXWGOWDRRXN7HFHNMOC6YRFWESKR"' in conf
    assert 'system_account: "SYS"' in conf
    assert "no_auth_user" not in conf


def test_config_file_mode(host):
    f = host.file("/etc/nats-server/nats-server.conf")
    assert (f.user, f.group, f.mode) == ("root", "nats", 0o640)
