"""Podman test hosts for the benchmarks: one network, N systemd containers, cleaned up by the caller."""

from __future__ import annotations

import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV_BIN = os.path.join(ROOT, ".venv", "bin")
IMAGE = (
    os.environ.get("NATS_TEST_IMAGE")
    or subprocess.run(
        ["bash", os.path.join(ROOT, "scripts", "testhosts.sh"), "name"], capture_output=True, text=True, check=True
    ).stdout.strip()
)
ENV = dict(
    os.environ,
    CONTAINERS_CONF=os.path.join(ROOT, "scripts", "podman", "containers.conf"),
    ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
    ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, ".collections")
    + ":"
    + os.path.join(ROOT, ".venv", "lib", "python3.11", "site-packages"),
    ANSIBLE_NOCOLOR="1",
)


def sh(*args, check=True, timeout=300):
    return subprocess.run(args, check=check, capture_output=True, text=True, env=ENV, timeout=timeout)


class Hosts:
    """Containers PREFIX1..PREFIXn on network NET; down() removes up to max_hosts of them."""

    def __init__(self, net, prefix, max_hosts):
        self.net, self.prefix, self.max_hosts = net, prefix, max_hosts

    def names(self, count):
        return [f"{self.prefix}{i}" for i in range(1, count + 1)]

    def up(self, count):
        self.down()
        sh("podman", "network", "create", self.net)
        for h in self.names(count):
            sh(
                "podman",
                "run",
                "-d",
                "--name",
                h,
                "--hostname",
                h,
                "--network",
                self.net,
                "--systemd=always",
                IMAGE,
                "/sbin/init",
            )
        for h in self.names(count):
            sh("podman", "exec", h, "systemctl", "is-system-running", "--wait", check=False, timeout=120)
        return self.names(count)

    def down(self):
        for h in self.names(self.max_hosts):
            sh("podman", "rm", "-f", "-t", "0", h, check=False)
        sh("podman", "network", "rm", "-f", self.net, check=False)
