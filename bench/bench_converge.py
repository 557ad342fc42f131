#!/usr/bin/env python3
"""Fresh converge and idempotent rerun of site.yml on 3 podman hosts, against a floor.

The floor (bench/floor.yml) only copies the binary, writes a config and starts the
service. Each side gets fresh containers for its first run. Prints seconds and the
ratios (target: role <= 2x floor for both). Cleans up its containers and network.

    source scripts/env.sh && python bench/bench_converge.py
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NET = "hardened-nats-bench"
HOSTS = [f"bench-nats{i}" for i in (1, 2, 3)]
IMAGE = (
    os.environ.get("NATS_TEST_IMAGE")
    or subprocess.run(
        ["bash", os.path.join(ROOT, "scripts", "testhosts.sh"), "name"], capture_output=True, text=True, check=True
    ).stdout.strip()
)
VENV_BIN = os.path.join(ROOT, ".venv", "bin")
ARCHIVE = "nats-server-v{{ nats_server_version }}-linux-{{ nats_server_arch }}.tar.gz"
ENV = dict(
    os.environ,
    CONTAINERS_CONF=os.path.join(ROOT, "scripts", "podman", "containers.conf"),
    ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
    ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".collections"),
    ANSIBLE_NOCOLOR="1",
)


def sh(*args, check=True):
    return subprocess.run(args, check=check, capture_output=True, text=True, env=ENV)


def hosts_up():
    hosts_down()
    sh("podman", "network", "create", NET)
    for h in HOSTS:
        sh(
            "podman",
            "run",
            "-d",
            "--name",
            h,
            "--hostname",
            h,
            "--network",
            NET,
            "--systemd=always",
            IMAGE,
            "/sbin/init",
        )
    for h in HOSTS:
        sh("podman", "exec", h, "systemctl", "is-system-running", "--wait", check=False)


def hosts_down():
    for h in HOSTS:
        sh("podman", "rm", "-f", "-t", "0", h, check=False)
    sh("podman", "network", "rm", "-f", NET, check=False)


def playbook(inventory, playbook_path, *extra):
    start = time.monotonic()
    result = subprocess.run(
        [os.path.join(VENV_BIN, "ansible-playbook"), "-i", inventory, playbook_path, *extra],
        capture_output=True,
        text=True,
        env=ENV,
        cwd=ROOT,
    )
    elapsed = time.monotonic() - start
    if result.returncode != 0:
        sys.stderr.write(result.stdout[-4000:] + result.stderr[-2000:])
        raise SystemExit(f"{playbook_path} failed")
    return elapsed


def main():
    mirror = subprocess.run(
        [sys.executable, os.path.join(ROOT, "scripts", "release-mirror.py")], capture_output=True, text=True, check=True
    ).stdout.strip()
    tmp = tempfile.mkdtemp(prefix="hardened-nats-bench-")
    inventory = os.path.join(tmp, "inventory.yml")
    with open(inventory, "w") as fh:
        fh.write(
            "nats_servers:\n  hosts:\n"
            + "".join(f"    {h}:\n" for h in HOSTS)
            + "  vars:\n"
            + "    ansible_connection: containers.podman.podman\n"
            + "    ansible_python_interpreter: /usr/bin/python3\n"
            + f"    nats_server_archive_url: file://{mirror}/{ARCHIVE}\n"
            + f"    nats_server_checksums_url: file://{mirror}/SHA256SUMS\n"
            + f"    nats_server_download_dir: {tmp}/downloads\n"
            + f"    nats_server_bcrypt_store: {tmp}/bcrypt\n"
            + f"    nats_server_route_password: {secrets.token_urlsafe(24)}\n"
            + "    nats_server_users: [{name: app, password: bench-password}]\n"
            + f"    floor_binary: {os.path.join(VENV_BIN, 'nats-server')}\n"
        )
    figures = {}
    try:
        hosts_up()
        figures["floor converge"] = playbook(inventory, os.path.join(ROOT, "bench", "floor.yml"))
        figures["floor rerun"] = playbook(inventory, os.path.join(ROOT, "bench", "floor.yml"))
        hosts_up()
        figures["role converge"] = playbook(inventory, os.path.join(ROOT, "site.yml"))
        figures["role rerun"] = playbook(inventory, os.path.join(ROOT, "site.yml"))
    finally:
        hosts_down()
        shutil.rmtree(tmp, ignore_errors=True)
    print("bench_converge: 3 podman hosts (seconds)")
    for key, value in figures.items():
        print(f"  {key:16s} {value:7.1f}")
    print(f"  converge ratio   {figures['role converge'] / figures['floor converge']:7.2f}x (target <= 2x)")
    print(f"  rerun ratio      {figures['role rerun'] / figures['floor rerun']:7.2f}x (target <= 2x)")


if __name__ == "__main__":
    main()
