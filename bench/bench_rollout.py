#!/usr/bin/env python
"""Rolling reload: time per node through site.yml for 3 and 5 hosts, against the floor.

For each size, fresh podman hosts on their own network, one converge of site.yml,
then a reload-only change (max_connections) through site.yml, timed from the
ansible.posix.json callback: the rollout (the handler: the wait for nodes that were
not healthy, then the one looped "Roll out" task) divided by the nodes, and the
module's own window (promote to proof) and signal-to-proof time per node. The
floor: on one node, by hand, change the live config, `podman exec kill -HUP`, and
poll /varz (podman exec) until config_digest changes. Target: at most 1.5 s of
overhead per node over the floor. Prints figures, asserts nothing, and removes its
containers and network whatever happens.

    source scripts/env.sh && python bench/bench_rollout.py [--sizes 3,5] [--floor-runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime

from _podman_hosts import ENV, ROOT, VENV_BIN, Hosts, sh

MAX_HOSTS = 5
HOSTSET = Hosts("hardened-nats-benchroll", "benchroll-nats", MAX_HOSTS)
names = HOSTSET.names
hosts_up = HOSTSET.up
hosts_down = HOSTSET.down
VARZ = (
    "import json,urllib.request;"
    "print(json.load(urllib.request.urlopen('http://127.0.0.1:8222/varz',timeout=2)).get('config_digest',''))"
)


def write_inventory(path, hosts, tmp, mirror, route_password, max_connections):
    with open(path, "w") as fh:
        fh.write(
            "nats_servers:\n  hosts:\n"
            + "".join(f"    {h}:\n" for h in hosts)
            + "  vars:\n"
            + "    ansible_connection: containers.podman.podman\n"
            + "    ansible_python_interpreter: /usr/bin/python3\n"
            + f"    nats_server_archive_url: file://{mirror}/nats-server-v{{{{ nats_server_version }}}}"
            + "-linux-{{ nats_server_arch }}.tar.gz\n"
            + f"    nats_server_checksums_url: file://{mirror}/SHA256SUMS\n"
            + f"    nats_server_download_dir: {tmp}/downloads\n"
            + f"    nats_server_bcrypt_store: {tmp}/bcrypt\n"
            + f"    nats_server_route_password: {route_password}\n"
            + "    nats_server_users: [{name: app, password: bench-password}]\n"
            + f"    nats_server_max_connections: {max_connections}\n"
        )


def playbook(inventory, json_output=False):
    env = dict(ENV)
    if json_output:
        env["ANSIBLE_STDOUT_CALLBACK"] = "ansible.posix.json"
    start = time.monotonic()
    result = subprocess.run(
        [os.path.join(VENV_BIN, "ansible-playbook"), "-i", inventory, os.path.join(ROOT, "site.yml")],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=900,
        check=False,
    )
    elapsed = time.monotonic() - start
    if result.returncode != 0:
        sys.stderr.write(result.stdout[-4000:] + result.stderr[-2000:])
        raise SystemExit("site.yml failed")
    return elapsed, result.stdout


def _ts(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def rollout_figures(json_stdout):
    """Handler span (the health wait to the end of the rollout), and each node's window from the module."""
    data = json.loads(json_stdout[json_stdout.index("{") :])
    check = rollout = None
    nodes = []
    for play in data["plays"]:
        for task in play["tasks"]:
            name = task["task"]["name"].split(" : ", 1)[-1]  # the json callback says "ROLE : NAME"
            span = (_ts(task["task"]["duration"]["start"]), _ts(task["task"]["duration"]["end"]))
            if name.startswith("Wait for every node that was not healthy before any is touched"):
                check = span
            elif name == "Roll out the change node by node":
                rollout = span
                for res in task["hosts"].values():
                    for item in res.get("results", []):
                        if "started_at" in item:
                            nodes.append((item["proven_at"] - item["started_at"], item["elapsed"], item["action"]))
    if check is None or rollout is None or not nodes:
        seen = [t["task"]["name"] for play in data["plays"] for t in play["tasks"]]
        raise SystemExit(
            f"no rollout found in the playbook output (tasks: {seen[-15:]}): did the change reach the nodes?"
        )
    return {
        "handler": rollout[1] - check[0],
        "check": check[1] - check[0],
        "tasks": [window for window, _elapsed, _action in nodes],
        "module": [elapsed for _window, elapsed, _action in nodes],
        "actions": sorted({action for _window, _elapsed, action in nodes}),
    }


def floor_once(node, value):
    """By hand on one node: change the live config, HUP, poll /varz until the digest changes."""
    before = sh("podman", "exec", node, "python3", "-c", VARZ).stdout.strip()
    sh(
        "podman",
        "exec",
        node,
        "sed",
        "-i",
        f"s/^max_connections: .*/max_connections: {value}/",
        "/etc/nats-server/nats-server.conf",
    )
    pid = sh("podman", "exec", node, "systemctl", "show", "-p", "MainPID", "--value", "nats-server").stdout.strip()
    start = time.monotonic()
    sh("podman", "exec", node, "kill", "-HUP", pid)
    deadline = start + 30
    while time.monotonic() < deadline:
        digest = sh("podman", "exec", node, "python3", "-c", VARZ, check=False).stdout.strip()
        if digest and digest != before:
            return time.monotonic() - start
        time.sleep(0.05)
    raise SystemExit(f"floor: {node} never reported a new config_digest")


def measure(count, floor_runs):
    mirror = sh(sys.executable, os.path.join(ROOT, "scripts", "release-mirror.py")).stdout.strip()
    tmp = tempfile.mkdtemp(prefix="hardened-nats-benchroll-")
    inventory = os.path.join(tmp, "inventory.yml")
    hosts = names(count)
    route_password = secrets.token_urlsafe(24)
    try:
        hosts_up(count)
        write_inventory(inventory, hosts, tmp, mirror, route_password, 60000)
        converge, _out = playbook(inventory)
        write_inventory(inventory, hosts, tmp, mirror, route_password, 60001)
        total, out = playbook(inventory, json_output=True)
        figures = rollout_figures(out)
        figures.update(count=count, converge=converge, total=total)
        floors = [floor_once(hosts[0], 50000 + i) for i in range(floor_runs)]
        figures["floor"] = statistics.median(floors)
        figures["floors"] = floors
        return figures
    finally:
        hosts_down()
        shutil.rmtree(tmp, ignore_errors=True)


def report(fig):
    n = fig["count"]
    per_node = fig["handler"] / n
    print(f"{n} hosts (reload-only change through site.yml; seconds)")
    print(f"  site.yml converge (fresh)        {fig['converge']:7.2f}")
    print(f"  site.yml with the change         {fig['total']:7.2f}   ({fig['total'] / n:.2f} per node)")
    print(f"  rollout (handler)                {fig['handler']:7.2f}   actions: {', '.join(fig['actions'])}")
    print(f"    health check of every node     {fig['check']:7.2f}")
    print(f"    module on each node            {' '.join(f'{t:.2f}' for t in fig['tasks'])}")
    print(f"    module signal-to-proof         {' '.join(f'{t:.2f}' for t in fig['module'])}")
    print(f"  rollout per node                 {per_node:7.2f}")
    print(
        f"  floor (HUP + poll /varz by hand) {fig['floor']:7.2f}   runs: {' '.join(f'{t:.2f}' for t in fig['floors'])}"
    )
    overhead = per_node - fig["floor"]
    verdict = "meets" if overhead <= 1.5 else "misses"
    print(f"  overhead per node over the floor {overhead:7.2f}   ({verdict} the 1.5 s target)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="3,5")
    parser.add_argument("--floor-runs", type=int, default=5)
    args = parser.parse_args()
    # a SIGTERM (timeout, CI cancel) still removes the containers
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("bench_rollout: terminated"))
    try:
        for count in (int(s) for s in args.sizes.split(",")):
            if not 1 <= count <= MAX_HOSTS:
                raise SystemExit(f"sizes must be 1..{MAX_HOSTS}")
            report(measure(count, args.floor_runs))
            sys.stdout.flush()
    finally:
        hosts_down()


if __name__ == "__main__":
    main()
