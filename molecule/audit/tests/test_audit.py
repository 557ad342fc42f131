"""hardened.nats.audit against a hardened cluster (no finding) and against open servers started by hand."""

import contextlib
import json
import os
import stat
import tempfile
import time

import natstest
import pytest
import testinfra
import testinfra.utils.ansible_runner

RUNNER = testinfra.utils.ansible_runner.AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"])
NODES = RUNNER.get_hosts("nats_servers")
OPEN_NODE = "audit-nats1"
OPEN_SECRET = "plain-open-secret-value"
SECRETS = (OPEN_SECRET, "app-secret-pass", "admin-secret-pass", "molecule-route-pass")
OPEN_UNIT = "nats-open"


def host(name):
    return testinfra.get_host(f"ansible://{name}?ansible_inventory={os.environ['MOLECULE_INVENTORY_FILE']}")


def run_audit():
    """Run the shipped playbook; return (process result, parsed report, report mode)."""
    tmp = tempfile.mkdtemp(prefix="hardened-nats-audit-")
    report = os.path.join(tmp, "report.json")
    result = natstest.ansible_playbook("hardened.nats.audit", "-e", f"nats_audit_report={report}")
    out = result.stdout + result.stderr
    assert os.path.exists(report), out[-4000:]
    mode = stat.S_IMODE(os.stat(report).st_mode)
    with open(report) as fh:
        text = fh.read()
    for secret in SECRETS:
        assert secret not in out, f"{secret} printed by the audit"
        assert secret not in text, f"{secret} written to the report"
    return result, json.loads(text), mode


def finding_ids(report, node):
    return sorted({f["id"] for f in report["nodes"][node]["findings"]})


def wait_full_mesh(timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        seen = {n: natstest.route_names(host(n)) for n in NODES}
        if all(seen[n] == sorted(p for p in NODES if p != n) for n in NODES):
            return
        assert time.monotonic() < deadline, f"mesh not back: {seen}"
        time.sleep(1)


def test_three_nodes():
    assert len(NODES) == 3
    assert OPEN_NODE in NODES


def test_hardened_cluster_has_no_finding():
    result, report, mode = run_audit()
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-4000:]
    assert mode == 0o600
    assert report["findings"] == 0, json.dumps(report, indent=1)[-4000:]
    assert sorted(report["nodes"]) == sorted(NODES)
    for node in NODES:
        entry = report["nodes"][node]
        facts = entry["facts"]
        assert entry["findings"] == []
        # the checks really ran: a probe was answered, the config and endpoints were read
        assert facts["anonymous_remote"] == "refused", facts
        assert facts["anonymous_local"] == "refused", facts
        assert facts["config_file"] == "/etc/nats-server/nats-server.conf"
        assert facts["unit"] == "nats-server"
        assert facts["version"] == "2.15.1"
        assert facts["auth_required"] is True
        assert facts["routes"] == sorted(p for p in NODES if p != node)
        assert facts["monitor_host"] == "127.0.0.1"
        assert facts["config"]["plaintext_users"] == []
        assert facts["config"]["cluster"]["authorization"] is True
        assert "journal" in facts["log_source"]
        # route credentials are expected in the cluster block: info, never a finding
        assert [i["id"] for i in entry["info"]] == ["route_credentials"]
    assert "No finding on" in out


OPEN_CONFIGS = {
    # anonymous clients mapped to a user with a plaintext password: /varz still says auth_required
    "no_auth_user": (
        f"""
server_name: "open-nats"
listen: "0.0.0.0:4222"
http: "0.0.0.0:8222"
authorization {{
  users: [ {{user: "legacy", password: "{OPEN_SECRET}"}} ]
}}
no_auth_user: "legacy"
cluster {{
  name: "nats"
  listen: "0.0.0.0:6222"
}}
""",
        {
            "anonymous_access",
            "no_auth_user",
            "plaintext_password",
            "monitoring_exposed",
            "routes_unauthenticated",
            "server_warning",
        },
    ),
    # no authorization at all: auth_required false while the other members require it
    "no_auth": (
        """
server_name: "open-nats"
listen: "0.0.0.0:4222"
http_port: 8222
cluster {
  name: "nats"
  listen: "0.0.0.0:6222"
}
""",
        {"anonymous_access", "monitoring_exposed", "routes_unauthenticated", "auth_required_mismatch"},
    ),
}
ALL_IDS = set().union(*(ids for _config, ids in OPEN_CONFIGS.values()))


@contextlib.contextmanager
def open_server(config):
    """Replace the collection's server on OPEN_NODE by a hand-written one under a transient unit."""
    node = host(OPEN_NODE)
    node.check_output("systemctl stop nats-server")
    try:
        node.check_output(f"cat > /tmp/open.conf <<'EOF'\n{config}\nEOF")
        node.check_output(f"systemd-run --unit {OPEN_UNIT} /usr/local/bin/nats-server -c /tmp/open.conf")
        deadline = time.monotonic() + 20
        while True:
            try:
                if natstest.monitor(node, "/varz").get("server_name") == "open-nats":
                    break
            except AssertionError:
                pass
            assert time.monotonic() < deadline, node.run(f"journalctl -u {OPEN_UNIT} --no-pager").stdout[-2000:]
            time.sleep(0.5)
        yield
    finally:
        node.run(f"systemctl stop {OPEN_UNIT}")
        node.run(f"systemctl reset-failed {OPEN_UNIT}")
        node.run("rm -f /tmp/open.conf")
        node.check_output("systemctl start nats-server")
        wait_full_mesh()


@pytest.mark.parametrize("variant", list(OPEN_CONFIGS))
def test_open_server_not_deployed_by_the_collection_fails_the_audit(variant):
    config, expected = OPEN_CONFIGS[variant]
    with open_server(config):
        result, report, mode = run_audit()
    out = result.stdout + result.stderr
    assert result.returncode != 0, out[-4000:]
    assert f"finding(s) on {OPEN_NODE}" in out, out[-4000:]
    assert mode == 0o600
    ids = finding_ids(report, OPEN_NODE)
    assert expected <= set(ids), ids
    assert not (ALL_IDS - expected) & set(ids), ids  # nothing reported that is not there
    facts = report["nodes"][OPEN_NODE]["facts"]
    assert facts["config_file"] == "/tmp/open.conf"
    assert facts["unit"] == OPEN_UNIT
    assert facts["anonymous_remote"] == "open"
    if "plaintext_password" in expected:
        message = next(f["message"] for f in report["nodes"][OPEN_NODE]["findings"] if f["id"] == "plaintext_password")
        assert "legacy" in message
    for node in NODES:
        if node != OPEN_NODE:
            assert report["nodes"][node]["findings"] == [], report["nodes"][node]
    assert report["findings"] == len(report["nodes"][OPEN_NODE]["findings"])


def test_restored_after_the_open_server():
    result, report, _reports = run_audit()
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    assert report["findings"] == 0
