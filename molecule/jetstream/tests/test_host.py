"""On each host: the JetStream store, the key file and where the key must never be."""

import natstest

testinfra_hosts = natstest.testinfra_hosts()

UNIT = "nats-server"
KEY = "molecule-js-key-0123456789abcdef0123456789abcdef"
STORE = "/var/lib/nats/store"
CONF = "/etc/nats-server"


def test_service_active(host):
    assert host.service(UNIT).is_running


def test_store_and_key_file_modes(host):
    expect = {
        STORE: ("nats", "nats", 0o750),
        f"{CONF}/jetstream-key.conf": ("root", "nats", 0o640),
        f"{CONF}/staged/jetstream-key.conf": ("root", "nats", 0o640),
        f"{CONF}/nats-server.conf": ("root", "nats", 0o640),
        f"{CONF}/restart-settings.json": ("root", "nats", 0o640),
    }
    for path, (user, group, mode) in expect.items():
        f = host.file(path)
        assert f.exists, path
        assert (f.user, f.group, f.mode) == (user, group, mode), path
    # nats-server keeps its files in a jetstream/ subdirectory of store_dir
    assert host.file(f"{STORE}/jetstream").is_directory


def test_key_only_in_the_key_file(host):
    assert KEY in host.file(f"{CONF}/jetstream-key.conf").content_string
    for path in (
        "nats-server.conf",
        "restart-settings.json",
        "staged/nats-server.conf",
        "staged/restart-settings.json",
    ):
        assert KEY not in host.file(f"{CONF}/{path}").content_string, path
    conf = host.file(f"{CONF}/nats-server.conf").content_string
    assert 'include "jetstream-key.conf"' in conf
    assert 'cipher: "chachapoly"' in conf
    journal = host.run(f"journalctl -u {UNIT} --no-pager -o cat")
    assert journal.rc == 0
    assert "JetStream" in journal.stdout  # the check reads the real log
    assert KEY not in journal.stdout


def test_store_dir_writable_under_the_hardened_unit(host):
    rw = host.check_output(f"systemctl show {UNIT} -p ReadWritePaths --value")
    assert "/var/lib/nats" in rw.split()
    assert host.check_output(f"systemctl show {UNIT} -p ProtectSystem --value") == "strict"


def test_jetstream_is_clustered_and_encrypted(host):
    jsz = natstest.monitor(host, "/jsz")
    assert jsz["config"]["store_dir"] == f"{STORE}/jetstream"
    assert jsz["config"]["max_memory"] == 67108864
    assert jsz["config"]["domain"] == "hub"
    assert jsz["meta_cluster"]["cluster_size"] == 3
    assert jsz["meta_cluster"]["leader"]
    assert natstest.monitor(host, "/healthz?js-enabled-only=true")["status"] == "ok"
    # JetStream and authorization both on: the system account is set ($SYS, the server's default)
    assert natstest.monitor(host, "/varz")["system_account"] == "$SYS"
