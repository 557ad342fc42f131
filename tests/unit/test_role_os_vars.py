"""The nats_server role's per-OS variables: the real tasks of tasks/main.yml, run by
ansible-playbook for the facts of each platform, pick the file they must, so that
another OS is one vars file away and an unknown one is refused with the fix."""

import json
import os
import re
import shutil
import subprocess
import sys

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROLE = os.path.join(ROOT, "roles", "nats_server")
BIN = os.path.dirname(sys.executable)

# host: (distribution, major version, os_family, the vars file it must load)
PLATFORMS = {
    "debian12": ("Debian", "12", "Debian", "Debian.yml"),
    "debian13": ("Debian", "13", "Debian", "Debian.yml"),
    "ubuntu24": ("Ubuntu", "24", "Debian", "Debian.yml"),
    "rhel9": ("RedHat", "9", "RedHat", "RedHat.yml"),
    "rocky9": ("Rocky", "9", "RedHat", "RedHat.yml"),
    "alma10": ("AlmaLinux", "10", "RedHat", "RedHat.yml"),
}


def _os_vars_tasks():
    """The tasks of main.yml that load the per-OS variables (those before the first import)."""
    with open(os.path.join(ROLE, "tasks", "main.yml")) as fh:
        tasks = yaml.safe_load(fh)
    first_import = next(i for i, t in enumerate(tasks) if "ansible.builtin.import_tasks" in t)
    assert first_import > 0
    return tasks[:first_import]


def _run(tmp_path, platforms, role_path=ROLE):
    """Run the per-OS tasks for each host's facts; {host: (vars file, package binary path)} and the output."""
    inventory = {
        "all": {
            "hosts": {
                name: {"os_facts": {"distribution": d, "distribution_major_version": v, "os_family": f}}
                for name, (d, v, f, *_rest) in platforms.items()
            },
            "vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable},
        }
    }
    show = {
        "name": "Show what was loaded",
        "ansible.builtin.debug": {
            "msg": "OSVARS {{ inventory_hostname }} {{ _nats_server_os_vars_file | basename }}"
            " {{ _nats_server_package_binary_path }}"
        },
    }
    play = [
        {
            "name": "Per-OS variables",
            "hosts": "all",
            "gather_facts": False,
            "vars": {"ansible_facts": "{{ os_facts }}", "role_path": role_path},
            "tasks": _os_vars_tasks() + [show],
        }
    ]
    (tmp_path / "inventory.yml").write_text(yaml.safe_dump(inventory))
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play, sort_keys=False))
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_HOME=str(tmp_path / "home"), ANSIBLE_STDOUT_CALLBACK="default")
    env["ANSIBLE_CONFIG"] = os.path.join(ROOT, "ansible.cfg")
    proc = subprocess.run(
        [os.path.join(BIN, "ansible-playbook"), "-i", str(tmp_path / "inventory.yml"), str(tmp_path / "play.yml")],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=ROOT,
        check=False,
    )
    out = proc.stdout + proc.stderr
    found = {m[0]: (m[1], m[2]) for m in re.findall(r"OSVARS (\S+) (\S+) (\S+)", out)}
    return found, out


def test_each_platform_loads_its_vars_file(tmp_path):
    found, out = _run(tmp_path, PLATFORMS)
    assert {h: f for h, (f, _p) in found.items()} == {h: p[3] for h, p in PLATFORMS.items()}, out[-3000:]
    assert all(path == "/usr/bin/nats-server" for _f, path in found.values()), found


def test_a_distribution_version_file_wins(tmp_path):
    role = tmp_path / "nats_server"
    shutil.copytree(os.path.join(ROLE, "vars"), role / "vars")
    (role / "vars" / "Debian-13.yml").write_text("---\n_nats_server_package_binary_path: /opt/trixie/nats-server\n")
    (role / "vars" / "Ubuntu.yml").write_text("---\n_nats_server_package_binary_path: /opt/ubuntu/nats-server\n")
    found, out = _run(tmp_path, PLATFORMS, role_path=str(role))
    assert found["debian13"] == ("Debian-13.yml", "/opt/trixie/nats-server"), out[-3000:]
    assert found["ubuntu24"] == ("Ubuntu.yml", "/opt/ubuntu/nats-server"), out[-3000:]
    assert found["debian12"] == ("Debian.yml", "/usr/bin/nats-server"), out[-3000:]
    assert found["rocky9"] == ("RedHat.yml", "/usr/bin/nats-server"), out[-3000:]


def test_an_os_without_vars_is_refused_with_the_fix(tmp_path):
    found, out = _run(tmp_path, {"arch": ("Archlinux", "NA", "Archlinux", None)})
    assert found == {}
    assert "no per-OS variables for Archlinux" in out, out[-3000:]
    assert "add roles/nats_server/vars/Archlinux.yml" in out


@pytest.mark.parametrize("name", sorted(f for f in os.listdir(os.path.join(ROLE, "vars")) if f != "main.yml"))
def test_every_os_vars_file_sets_the_same_keys(name):
    def keys(fname):
        with open(os.path.join(ROLE, "vars", fname)) as fh:
            return sorted(yaml.safe_load(fh) or {})

    assert keys(name) == keys("Debian.yml"), json.dumps({name: keys(name), "Debian.yml": keys("Debian.yml")})
