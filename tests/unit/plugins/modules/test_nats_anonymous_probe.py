"""nats_anonymous_probe against real nats-servers on loopback: open servers are caught, closed ones are not."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time

import pytest
from ansible_collections.hardened.nats.plugins.module_utils._nats_monitor import fetch_json
from ansible_collections.hardened.nats.plugins.modules import nats_anonymous_probe
from nats_test_helpers import free_port, make_pki

BIN = os.path.dirname(sys.executable)
NATS_SERVER = shutil.which("nats-server", path=BIN) or shutil.which("nats-server")
BCRYPT_APP = "$2a$04$sECQsZdmPqwv4okdEwyFJuZpGEzfKylyh/cLQQ4XJVLKGTL5W.Wt6"  # "app-secret-pass", cost 4

pytestmark = pytest.mark.skipif(not NATS_SERVER, reason="nats-server binary not found")


class Server:
    """A real nats-server on 127.0.0.1 with random free ports."""

    def __init__(self, tmp_path, body, cluster=""):
        self.port = free_port()
        self.http_port = free_port()
        self.conf = tmp_path / f"server-{self.port}.conf"
        self.conf.write_text(
            f'listen: "127.0.0.1:{self.port}"\nhttp: "127.0.0.1:{self.http_port}"\n{body}\n{cluster}\n'
        )
        self.log = tmp_path / f"server-{self.port}.log"
        self.proc = None

    def __enter__(self):
        self.logfh = open(self.log, "w")
        self.proc = subprocess.Popen([NATS_SERVER, "-c", str(self.conf)], stdout=self.logfh, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.http_port), timeout=0.2).close()
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.__exit__()
        raise AssertionError(self.log.read_text())

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.logfh.close()


CONFIGS = {
    "no authorization": ("", "open"),
    "no_auth_user (auth_required reads true)": (
        'authorization { users: [ {user: "app", password: "plain-pass"} ] }\nno_auth_user: "app"',
        "open",
    ),
    "bcrypt users": (f'authorization {{ users: [ {{user: "app", password: "{BCRYPT_APP}"}} ] }}', "refused"),
    "token": ('authorization { token: "s3cret-token" }', "refused"),
    "accounts with users": ('accounts { A: { users: [ {user: "a", password: "pw-a"} ] } }', "refused"),
}


@pytest.mark.parametrize("name", list(CONFIGS))
def test_probe_against_real_server(name, tmp_path, run_module):
    body, expected = CONFIGS[name]
    with Server(tmp_path, body) as server:
        result = run_module(nats_anonymous_probe.main, {"host": "127.0.0.1", "port": server.port, "timeout": 5})
    assert not result.failed, result
    assert result["changed"] is False
    assert result["anonymous"] == expected, result
    assert result["open"] is (expected == "open")
    assert result["address"] == f"127.0.0.1:{server.port}"
    assert result["server_info"]["version"]
    if expected == "refused":
        assert "authorization violation" in result["detail"].lower()


def test_no_auth_user_reads_auth_required_but_is_open(tmp_path):
    """The reason for the probe: /varz says auth_required, yet anonymous clients get in."""
    body = 'authorization { users: [ {user: "app", password: "plain-pass"} ] }\nno_auth_user: "app"'
    with Server(tmp_path, body) as server:
        varz = fetch_json(f"http://127.0.0.1:{server.http_port}", "/varz")
        result = nats_anonymous_probe.probe("127.0.0.1", server.port)
    assert varz["auth_required"] is True
    assert result["anonymous"] == "open"


def test_nothing_listening_is_unreachable():
    result = nats_anonymous_probe.probe("127.0.0.1", free_port(), timeout=2)
    assert result["anonymous"] == "unreachable"
    assert result["open"] is False


def test_not_a_nats_listener_is_an_error_not_refused(tmp_path):
    with Server(tmp_path, "") as server:
        # the monitoring port speaks HTTP and sends nothing first: the probe must not call it refused
        result = nats_anonymous_probe.probe("127.0.0.1", server.http_port, timeout=1)
    assert result["anonymous"] == "error"
    assert result["open"] is False


def test_check_mode_same_answer(tmp_path, run_module):
    with Server(tmp_path, "") as server:
        result = run_module(nats_anonymous_probe.main, {"host": "127.0.0.1", "port": server.port}, check_mode=True)
    assert result["anonymous"] == "open"
    assert result["changed"] is False


@pytest.mark.parametrize(
    "tls,expected",
    [
        # TLS 1.3: the refusal is an alert after the client's handshake, on the first read
        ("verify: true", "refused"),
        ("verify_and_map: true", "refused"),
        # server-side TLS only: the probe gets through TLS and finds the server open
        ("", "open"),
    ],
)
def test_probe_through_tls(tls, expected, tmp_path, run_module):
    ca_file, cert_file, key_file = make_pki(tmp_path, "probe")
    users = 'authorization { users: [ {user: "CN=client"} ] }' if "verify_and_map" in tls else ""
    body = (
        f'tls {{ cert_file: "{cert_file}", key_file: "{key_file}", ca_file: "{ca_file}" {", " + tls if tls else ""} }}'
    )
    with Server(tmp_path, body + "\n" + users) as server:
        result = run_module(nats_anonymous_probe.main, {"host": "127.0.0.1", "port": server.port, "timeout": 5})
    assert result["anonymous"] == expected, result
    assert result["server_info"]["tls_required"] is True
