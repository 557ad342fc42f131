#!/usr/bin/python
# Copyright: hardened.nats contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The nats system user and group and the server's directories, in one round trip."""

from __future__ import annotations

DOCUMENTATION = r"""
module: nats_server_host
short_description: Ensure the nats system user and group and the server's directories in one round trip
version_added: 0.1.0
description:
  - Runs on a NATS node. Makes sure the system group O(group) and the system user O(user) exist (primary
    group O(group), home O(home) not created, login shell O(shell), no password - C(useradd) leaves it
    locked), and that every directory in O(directories) exists with exactly the given owner, group and mode.
  - It does in one module call what M(ansible.builtin.group), M(ansible.builtin.user) and a loop of
    M(ansible.builtin.file) would do in several, because every call to a host costs a round trip and the
    role's converge and rerun must stay close to the cost of a bare deployment.
  - Uses C(groupadd), C(useradd) and C(usermod) from shadow-utils, as the builtin modules do on Linux.
    An existing user whose primary group, home or shell differs is corrected with C(usermod); its UID is
    never changed.
author: hardened.nats contributors (!UNKNOWN)
options:
  user:
    description: Name of the system user nats-server runs as.
    type: str
    default: nats
  group:
    description: Name of the system group (the user's primary group).
    type: str
    default: nats
  home:
    description: Home directory recorded for the user (the data directory); not created by the user tools.
    type: path
    default: /var/lib/nats
  shell:
    description: Login shell of the user.
    type: path
    default: /usr/sbin/nologin
  directories:
    description:
      - Directories to create or correct, in order (give a parent before its children).
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path.
        type: path
        required: true
      owner:
        description: Owning user (a name).
        type: str
        required: true
      group:
        description: Owning group (a name).
        type: str
        required: true
      mode:
        description: Mode as an octal string such as C("0750").
        type: str
        required: true
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - hardened.nats.common.attributes
attributes:
  check_mode:
    support: full
    details: In check mode nothing is created or changed; the result and the diff say what would be.
  diff_mode:
    support: full
    details: Before and after list the user, the group and each directory's owner, group and mode.
  idempotent:
    support: full
  platform:
    platforms: posix
notes:
  - Needs root on the node (C(become)).
"""

EXAMPLES = r"""
- name: The nats user and group, and the config and data directories
  hardened.nats.nats_server_host:
    user: nats
    group: nats
    home: /var/lib/nats
    directories:
      - {path: /etc/nats-server, owner: root, group: nats, mode: "0750"}
      - {path: /etc/nats-server/staged, owner: root, group: nats, mode: "0750"}
      - {path: /var/lib/nats, owner: nats, group: nats, mode: "0750"}
"""

RETURN = r"""
changes:
  description: What was (or, in check mode, would be) created or corrected.
  type: list
  elements: str
  returned: always
  sample: ["group nats created", "user nats created", "/etc/nats-server created"]
"""

import grp
import os
import pwd
import stat

from ansible.module_utils.basic import AnsibleModule


def _user_state(name):
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        return None
    return {"uid": entry.pw_uid, "gid": entry.pw_gid, "home": entry.pw_dir, "shell": entry.pw_shell}


def _gid(name):
    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        return None


def _dir_state(path):
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    return {"isdir": stat.S_ISDIR(st.st_mode), "uid": st.st_uid, "gid": st.st_gid, "mode": stat.S_IMODE(st.st_mode)}


def _describe_dir(state):
    if state is None:
        return "absent"
    if not state["isdir"]:
        return "not a directory"
    try:
        owner = pwd.getpwuid(state["uid"]).pw_name
    except KeyError:
        owner = str(state["uid"])
    try:
        group = grp.getgrgid(state["gid"]).gr_name
    except KeyError:
        group = str(state["gid"])
    return f"{owner}:{group} {state['mode']:04o}"


def main():
    module = AnsibleModule(
        argument_spec=dict(
            user=dict(type="str", default="nats"),
            group=dict(type="str", default="nats"),
            home=dict(type="path", default="/var/lib/nats"),
            shell=dict(type="path", default="/usr/sbin/nologin"),
            directories=dict(
                type="list",
                elements="dict",
                default=[],
                options=dict(
                    path=dict(type="path", required=True),
                    owner=dict(type="str", required=True),
                    group=dict(type="str", required=True),
                    mode=dict(type="str", required=True),
                ),
            ),
        ),
        supports_check_mode=True,
    )
    p = module.params
    check = module.check_mode
    changes, before, after = [], {}, {}

    def run(*argv):
        rc, _out, err = module.run_command(list(argv), check_rc=False)
        if rc != 0:
            module.fail_json(msg=f"{argv[0]} failed (rc {rc}): {err.strip()}", changes=changes)

    # Group, then the user whose primary group it is.
    before["group"] = p["group"] if _gid(p["group"]) is not None else "absent"
    if _gid(p["group"]) is None:
        changes.append(f"group {p['group']} created")
        if not check:
            run("groupadd", "--system", p["group"])
    after["group"] = p["group"]

    want = {"home": p["home"], "shell": p["shell"], "group": p["group"]}
    user = _user_state(p["user"])
    before["user"] = "absent" if user is None else dict(user, group=_group_name(user["gid"]))
    if user is None:
        changes.append(f"user {p['user']} created")
        if not check:
            run(
                "useradd",
                "--system",
                "--gid",
                p["group"],
                "--home-dir",
                p["home"],
                "--no-create-home",
                "--shell",
                p["shell"],
                p["user"],
            )
    else:
        fix = []
        if user["home"] != p["home"]:
            fix += ["--home", p["home"]]
        if user["shell"] != p["shell"]:
            fix += ["--shell", p["shell"]]
        if user["gid"] != _gid(p["group"]):
            fix += ["--gid", p["group"]]
        if fix:
            changes.append(f"user {p['user']} corrected ({' '.join(fix[::2])})")
            if not check:
                run("usermod", *fix, p["user"])
    after["user"] = want

    for d in p["directories"]:
        path = d["path"]
        try:
            mode = int(d["mode"], 8)
        except ValueError:
            module.fail_json(msg=f"directories: mode {d['mode']!r} of {path} is not an octal string like '0750'")
        state = _dir_state(path)
        before[path] = _describe_dir(state)
        after[path] = f"{d['owner']}:{d['group']} {mode:04o}"
        if state is not None and not state["isdir"]:
            module.fail_json(msg=f"{path} exists and is not a directory: move it away", changes=changes)
        uid = _uid(d["owner"])
        gid = _gid(d["group"])
        if uid is None or gid is None:
            if not check:
                module.fail_json(
                    msg=f"directories: owner {d['owner']} or group {d['group']} of {path} does not exist",
                    changes=changes,
                )
            # Check mode: the owner is still to be created, so the directory will change too.
            changes.append(f"{path} {'created' if state is None else 'corrected'}")
            continue
        if state is None:
            changes.append(f"{path} created")
            if not check:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                os.mkdir(path, 0o700)
                os.chown(path, uid, gid)
                os.chmod(path, mode)
            continue
        if (state["uid"], state["gid"], state["mode"]) != (uid, gid, mode):
            changes.append(f"{path} corrected to {after[path]} (was {before[path]})")
            if not check:
                os.chown(path, uid, gid)
                os.chmod(path, mode)

    module.exit_json(changed=bool(changes), changes=changes, diff={"before": before, "after": after})


def _group_name(gid):
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def _uid(name):
    try:
        return pwd.getpwnam(name).pw_uid
    except KeyError:
        return None


if __name__ == "__main__":
    main()
