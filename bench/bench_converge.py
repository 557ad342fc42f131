#!/usr/bin/env python
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

from _podman_hosts import ENV, ROOT, VENV_BIN, Hosts

HOSTSET = Hosts("hardened-nats-bench", "bench-nats", 3)
HOSTS = HOSTSET.names(3)
ARCHIVE = "nats-server-v{{ nats_server_version }}-linux-{{ nats_server_arch }}.tar.gz"


def playbook(inventory, playbook_path, *extra):
    start = time.monotonic()
    result = subprocess.run(
        [os.path.join(VENV_BIN, "ansible-playbook"), "-i", inventory, playbook_path, *extra],
        capture_output=True,
        text=True,
        env=ENV,
        cwd=ROOT,
        check=False,
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
        HOSTSET.up(3)
        figures["floor converge"] = playbook(inventory, os.path.join(ROOT, "bench", "floor.yml"))
        figures["floor rerun"] = playbook(inventory, os.path.join(ROOT, "bench", "floor.yml"))
        HOSTSET.up(3)
        figures["role converge"] = playbook(inventory, os.path.join(ROOT, "site.yml"))
        figures["role rerun"] = playbook(inventory, os.path.join(ROOT, "site.yml"))
    finally:
        HOSTSET.down()
        shutil.rmtree(tmp, ignore_errors=True)
    print("bench_converge: 3 podman hosts (seconds)")
    for key, value in figures.items():
        print(f"  {key:16s} {value:7.1f}")
    print(f"  converge ratio   {figures['role converge'] / figures['floor converge']:7.2f}x (target <= 2x)")
    print(f"  rerun ratio      {figures['role rerun'] / figures['floor rerun']:7.2f}x (target <= 2x)")


if __name__ == "__main__":
    main()
