"""On each host: the service, its hardening, file modes and listeners."""

import natstest

testinfra_hosts = natstest.testinfra_hosts()

UNIT = "nats-server"


def test_service_active_and_enabled(host):
    svc = host.service(UNIT)
    assert svc.is_running
    assert svc.is_enabled


def test_runs_as_nats(host):
    pid = host.check_output(f"systemctl show -p MainPID --value {UNIT}")
    assert pid != "0"
    user = host.check_output(f"ps -o user= -p {pid}")
    assert user == "nats"
    assert host.user("nats").shell == "/usr/sbin/nologin"


def test_unit_hardening(host):
    props = dict(
        line.split("=", 1)
        for line in host.check_output(
            f"systemctl show {UNIT} -p User -p NoNewPrivileges -p ProtectSystem -p ProtectHome -p PrivateTmp "
            "-p PrivateDevices -p PrivateUsers -p CapabilityBoundingSet -p RestrictNamespaces "
            "-p MemoryDenyWriteExecute -p Restart -p ExecReload -p ExecStop -p TimeoutStopUSec -p UMask "
            "-p RestrictAddressFamilies -p SystemCallFilter -p LockPersonality"
        ).splitlines()
    )
    assert props["User"] == "nats"
    assert props["NoNewPrivileges"] == "yes"
    assert props["ProtectSystem"] == "strict"
    assert props["ProtectHome"] == "yes"
    assert props["PrivateTmp"] == "yes"
    assert props["PrivateDevices"] == "yes"
    assert props["PrivateUsers"] == "yes"
    assert props["CapabilityBoundingSet"] == ""
    assert props["RestrictNamespaces"] == "yes"
    assert props["MemoryDenyWriteExecute"] == "yes"
    assert props["LockPersonality"] == "yes"
    assert props["Restart"] == "on-failure"
    assert props["UMask"] == "0077"
    assert "HUP" in props["ExecReload"]
    assert "SIGUSR2" in props["ExecStop"]
    assert props["RestrictAddressFamilies"] == "AF_INET AF_INET6"
    # lame duck (30s) + 30 s
    assert props["TimeoutStopUSec"] == "1min"


def test_systemd_analyze_security(host):
    out = host.run(f"systemd-analyze security {UNIT} --no-pager")
    assert out.rc == 0, out.stderr
    last = out.stdout.strip().splitlines()[-1]
    # "→ Overall exposure level for nats-server.service: 1.6 OK :-)"
    score = float(last.split(":")[1].split()[0])
    print(f"systemd-analyze security {UNIT}: {last}")
    assert score <= 2.5, last


def test_file_modes(host):
    expect = {
        "/etc/nats-server": ("root", "nats", 0o750),
        "/etc/nats-server/nats-server.conf": ("root", "nats", 0o640),
        "/etc/nats-server/staged": ("root", "nats", 0o750),
        "/etc/nats-server/staged/nats-server.conf": ("root", "nats", 0o640),
        "/var/lib/nats": ("nats", "nats", 0o750),
        "/usr/local/bin/nats-server": ("root", "root", 0o755),
        "/etc/systemd/system/nats-server.service": ("root", "root", 0o644),
    }
    for path, (user, group, mode) in expect.items():
        f = host.file(path)
        assert f.exists, path
        assert (f.user, f.group, f.mode) == (user, group, mode), path
    assert not host.file("/etc/nats-server/restart-required").exists


def test_listeners(host):
    monitor = host.socket("tcp://127.0.0.1:8222")
    assert monitor.is_listening
    assert not host.socket("tcp://0.0.0.0:8222").is_listening
    assert host.socket("tcp://0.0.0.0:4222").is_listening
    assert host.socket("tcp://0.0.0.0:6222").is_listening


def test_no_plaintext_client_password_on_disk(host):
    for secret in ("app-secret-pass", "admin-secret-pass"):
        out = host.run(f"grep -rlF -- {secret} /etc /var/lib/nats /usr/local/bin /root /tmp")
        assert out.rc == 1, f"{secret} found in {out.stdout}"
    conf = host.file("/etc/nats-server/nats-server.conf").content_string
    assert '"$2a$11$' in conf


def test_config_valid_and_running(host):
    out = host.check_output("/usr/local/bin/nats-server -t -c /etc/nats-server/nats-server.conf 2>&1")
    digest = out.split("(")[1].rstrip(")")
    varz = natstest.monitor(host, "/varz")
    assert varz["config_digest"] == digest
    assert varz["auth_required"] is True
