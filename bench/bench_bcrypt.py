#!/usr/bin/env python
"""Time hardened.nats.nats_bcrypt on 1,000 users, first run and rerun, through ansible-playbook.

Both runs go through ansible-playbook, so Ansible's own overhead is in the figures. The
secrets are random, written to a 0600 vars file in a temporary directory (never on a
command line), and the store lives in that directory too. Prints the figures; asserts
nothing.

usage: .venv/bin/python bench/bench_bcrypt.py [--users N] [--cost C] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)

PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  vars_files:
    - {secrets_file}
  tasks:
    - name: Hash every user in one call
      hardened.nats.nats_bcrypt:
        secrets: "{{{{ bench_users }}}}"
        store: {store}
        cost: {cost}
      register: hashed
    - name: Keep a summary
      ansible.builtin.copy:
        dest: {summary}
        mode: "0600"
        content: "{{{{ {{'changed': hashed.changed, 'changed_names': hashed.changed_names | length,
                   'hashes': hashed.hashes | length}} | to_json }}}}"
"""


def run(playbook, env):
    start = time.monotonic()
    proc = subprocess.run(
        [
            os.path.join(BIN, "ansible-playbook"),
            "-i",
            "localhost,",
            "-c",
            "local",
            "-e",
            f"ansible_python_interpreter={sys.executable}",
            playbook,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.monotonic() - start
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(proc.returncode)
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--cost", type=int, default=11)
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="bench-bcrypt-")
    try:
        secrets_file = os.path.join(work, "users.json")
        fd = os.open(secrets_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            users = {f"user{i:04d}": secrets.token_urlsafe(24) for i in range(args.users)}
            json.dump({"bench_users": users}, handle)
        summary = os.path.join(work, "summary.json")
        playbook = os.path.join(work, "bench.yml")
        with open(playbook, "w") as handle:
            handle.write(
                PLAYBOOK.format(
                    secrets_file=secrets_file, store=os.path.join(work, "store"), cost=args.cost, summary=summary
                )
            )
        env = dict(os.environ)
        env.update(
            ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
            ANSIBLE_LOCAL_TEMP=os.path.join(work, "ansible-local"),
            ANSIBLE_NOCOLOR="1",
            PATH=BIN + os.pathsep + env.get("PATH", ""),
        )
        figures = {}
        for label in ("first run", "rerun"):
            figures[label] = run(playbook, env)
            with open(summary) as handle:
                figures[label + " summary"] = json.load(handle)
        print(f"users: {args.users}, bcrypt cost: {args.cost}, cores: {os.cpu_count()}")
        for label in ("first run", "rerun"):
            print(f"{label}: {figures[label]:.2f} s  {figures[label + ' summary']}")
        if args.keep:
            print(f"kept {work}")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
