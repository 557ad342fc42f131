"""nats_server_info against real nats-servers on loopback: endpoints, routes, discovery and the config summary."""

from __future__ import annotations

import json
import time

import pytest
from ansible_collections.hardened.nats.plugins.module_utils import _nats_monitor
from ansible_collections.hardened.nats.plugins.modules import nats_server_info
from test_nats_anonymous_probe import BCRYPT_APP, NATS_SERVER, Server, free_port

pytestmark = pytest.mark.skipif(not NATS_SERVER, reason="nats-server binary not found")


def cluster_block(name, my_port, peer_port, auth=True):
    authorization = 'authorization { user: "route", password: "route-pass" }' if auth else ""
    return (
        f'server_name: "{name}"\ncluster {{\n  name: "unit"\n  listen: "127.0.0.1:{my_port}"\n'
        f"  {authorization}\n"
        f'  routes: ["nats-route://route:route-pass@127.0.0.1:{peer_port}"]\n}}\n'
    )


def wait_routes(run_module, url, want, timeout=15):
    deadline = time.monotonic() + timeout
    while True:
        result = run_module(nats_server_info.main, {"monitor_url": url})
        if result["routes"] == want or time.monotonic() > deadline:
            return result
        time.sleep(0.2)


def test_info_reads_varz_routes_healthz(tmp_path, run_module):
    p1, p2 = free_port(), free_port()
    users = f'authorization {{ users: [ {{user: "app", password: "{BCRYPT_APP}"}} ] }}'
    with (
        Server(tmp_path, users, cluster_block("n1", p1, p2)) as s1,
        Server(tmp_path, users, cluster_block("n2", p2, p1)) as s2,
    ):
        url = f"http://127.0.0.1:{s1.http_port}"
        result = wait_routes(run_module, url, ["n2"])
        assert not result.failed, result
        assert result["changed"] is False
        assert result["reachable"] is True
        assert result["routes"] == ["n2"]
        assert result["num_routes"] >= 1
        assert result["healthy"] is True and result["healthz"]["status"] == "ok"
        varz = result["varz"]
        assert varz["server_name"] == "n1"
        assert varz["version"] == "2.15.1"
        assert varz["auth_required"] is True
        assert varz["port"] == s1.port
        assert varz["http_port"] == s1.http_port
        assert varz["cluster"]["cluster_port"] == p1
        assert result["version_floor"]["ok"] is True
        assert result["endpoints"] == {"varz": "ok", "routez": "ok", "healthz": "ok", "accountz": "ok"}
        assert "$G" in result["accounts"]
        assert "config" not in result  # no config_file, no discovery
        assert s2.proc.poll() is None


def test_unreachable_monitor_is_reported_not_fatal(run_module):
    result = run_module(nats_server_info.main, {"monitor_url": f"http://127.0.0.1:{free_port()}", "timeout": 1})
    assert not result.failed
    assert result["reachable"] is False
    assert result["healthy"] is False
    assert all(state != "ok" for state in result["endpoints"].values())
    assert result["routes"] == [] and result["varz"] == {}


def test_auth_required_false_is_explicit(tmp_path, run_module):
    """/varz omits auth_required when false: the module says false, not nothing."""
    with Server(tmp_path, "") as server:
        result = run_module(nats_server_info.main, {"monitor_url": f"http://127.0.0.1:{server.http_port}"})
    assert result["varz"]["auth_required"] is False


OPEN_CONFIG = """
authorization {
  users: [
    {user: "plainuser", password: "plain-secret-value"}
    {user: "hashed", password: "%s"}
    {nkey: "UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4"}
  ]
}
no_auth_user: plainuser
cluster {
  name: open
  listen: 127.0.0.1:%d
}
"""


def test_config_summary_names_users_never_values(tmp_path, run_module):
    conf = tmp_path / "extra.conf"
    conf.write_text(
        f'listen: "127.0.0.1:{free_port()}"\nhttp: 0.0.0.0:{free_port()}\n' + OPEN_CONFIG % (BCRYPT_APP, free_port())
    )
    result = run_module(
        nats_server_info.main, {"monitor_url": "http://127.0.0.1:1", "timeout": 1, "config_file": str(conf)}
    )
    summary = result["config"]
    assert summary["errors"] == []
    assert summary["no_auth_user"] is True
    assert summary["plaintext_users"] == ["plainuser"]
    assert summary["users"] == 3 and summary["nkeys"] == 1
    assert summary["plaintext_token"] is False
    assert summary["cluster"]["present"] is True and summary["cluster"]["authorization"] is False
    assert summary["monitor"]["host"] == "0.0.0.0" and summary["monitor"]["tls"] is False
    assert "plain-secret-value" not in json.dumps(result)


def test_config_summary_token_include_and_route_auth(tmp_path):
    (tmp_path / "auth.conf").write_text('authorization { token: "tok-value" }\n')
    conf = tmp_path / "main.conf"
    conf.write_text(
        "# comment\nport = 4333 // trailing\ninclude ./auth.conf\nhttp_port: 8333\n"
        'cluster { listen: "0.0.0.0:6333", authorization { user: route, password: "rp" } }\n'
    )
    config, errors = nats_server_info.parse_config(str(conf))
    summary = nats_server_info.summarise_config(config, errors)
    assert errors == []
    assert summary["plaintext_token"] is True
    assert summary["client"] == {"host": "0.0.0.0", "port": 4333}
    assert summary["monitor"] == {"host": "0.0.0.0", "port": 8333, "tls": False}
    assert summary["cluster"]["authorization"] is True
    assert summary["cluster"]["plaintext_route_password"] is True
    assert summary["cluster"]["route_user"] == "route"


def test_discover_finds_the_process_config_and_monitor(tmp_path, run_module, monkeypatch):
    """Discovery as on a host the collection did not deploy: -c from the command line, port from the config."""
    with Server(tmp_path, OPEN_CONFIG % (BCRYPT_APP, free_port())) as server:
        pid = server.proc.pid
        monkeypatch.setattr(
            nats_server_info,
            "find_processes",
            lambda: [(p, a) for p, a in _real_processes() if p == pid],
        )
        result = run_module(nats_server_info.main, {"discover": True, "scan_log": False})
    assert not result.failed, result
    assert result["process"]["pid"] == pid
    assert result["config_file"] == str(server.conf)
    assert result["monitor_url"] == f"http://127.0.0.1:{server.http_port}"
    assert result["reachable"] is True
    assert result["config"]["no_auth_user"] is True
    assert result["config"]["plaintext_users"] == ["plainuser"]
    assert result["process"]["cmdline_secrets"] == []


_ORIGINAL_FIND = nats_server_info.find_processes


def _real_processes():
    return _ORIGINAL_FIND()


@pytest.mark.parametrize(
    "version,ok,floor",
    [
        ("2.10.29", False, "2.11.16"),
        ("2.11.15", False, "2.11.16"),
        ("2.11.16", True, "2.11.16"),
        ("2.12.11", False, "2.12.12"),
        ("2.12.12", True, "2.12.12"),
        ("2.13.5", False, ""),
        ("2.14.2", False, "2.14.3"),
        ("2.14.3", True, "2.14.3"),
        ("2.15.1", True, "2.15.0"),
        ("v2.14.3-RC.1", True, "2.14.3"),
        ("garbage", False, ""),
    ],
)
def test_version_floor(version, ok, floor):
    result = _nats_monitor.version_floor(version)
    assert result["ok"] is ok, result
    assert result["floor"] == floor
