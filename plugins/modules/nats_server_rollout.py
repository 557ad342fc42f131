#!/usr/bin/python
# Copyright: hardened.nats contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Promote a staged nats-server config on one node and prove it live and healthy."""

from __future__ import annotations

DOCUMENTATION = r"""
module: nats_server_rollout
short_description: Apply a staged nats-server config to one node and prove it is live and healthy
version_added: 0.1.0
description:
  - Runs on a NATS node. The role renders the whole config set into C(<config_dir>/staged) and checks it with
    C(nats-server -t); this module then makes it live and proves it.
  - O(action=reload) copies the staged files over the live ones, signals a reload through systemd, and waits until
    C(/varz) reports the expected C(config_digest), C(/healthz) is ok and C(/routez) lists every expected peer.
    A refused reload is only logged by nats-server; this module catches it because the digest never changes,
    and fails without copying the log (it can hold secret values).
  - O(action=restart) does the same with a restart; the unit's C(ExecStop) puts the server in lame duck mode
    first so clients move to other nodes. Use it for changes nats-server cannot reload and for new binaries.
  - O(action=start) makes the staged files live and starts a stopped server.
  - O(action=check) changes nothing and waits until the node is healthy, failing after O(timeout).
  - O(action=status) changes nothing and reads the node once; it never fails.
  - O(action=plan) decides, in one round trip, what the rollout must do on this node. It stages O(config) and
    checks the staged config set with C(nats-server -t) (O(binary)); when the server refuses it, the result
    carries RV(config_error) (long quoted values redacted) and nothing more is changed. Otherwise it writes
    O(restart_settings) to C(staged/restart-settings.json) when they differ, enables the unit at boot, compares
    every staged file with its live counterpart, reads the running server once, and returns RV(rollout_action).
  - With O(jetstream=true) every wait also holds until JetStream is whole as this node sees it, that is
    C(/healthz?js-enabled-only=true) is ok, the meta group has a leader, every replicated stream and consumer the
    node hosts has a leader, and for the groups the node leads every replica is online, current, heard from within
    the last 3 s (a leader keeps a dead follower current for about 10 s) and lags by at most O(jetstream_max_lag).
    Before a restart the node itself must be whole that way (when it answers at all). A node that does not run
    JetStream yet, and a meta group without a leader while the node hosts no stream, pass, so that a rollout can turn
    JetStream on in a running cluster (its meta group forms only once a majority of the nodes run it); for the same
    reason a plain C(/healthz) that is not ok is waived while the node hosts no stream.
  - Only a group's leader knows whether its followers are current, so the role runs O(action=check) on every node
    of the cluster before a node is touched (not judging that node's replicas, O(jetstream_ignore)) and after it is
    back; together these prove every stream keeps its quorum, and a rollout never takes a second replica down.
  - The roles call it from their rolling handler, one node at a time.
author: hardened.nats contributors (!UNKNOWN)
options:
  action:
    description: What to do.
    type: str
    choices: [status, check, plan, start, reload, restart]
    default: check
  binary:
    description: The nats-server executable that checks the staged config (O(action=plan)).
    type: path
    default: /usr/local/bin/nats-server
  config_file:
    description: Name of the main config file in O(config_dir) and its C(staged) subdirectory.
    type: str
    default: nats-server.conf
  config:
    description:
      - Content of the main config file to stage as C(staged/<config_file>) (O(action=plan)), root-owned, group
        O(group), mode 0640, before the check. It holds secrets (route credentials, hashes); it is never
        returned or logged. When omitted, the file already staged is checked.
    type: str
  files:
    description:
      - More files of the config set to stage beside O(config) (O(action=plan)), name to content, written like
        O(config); a name mapped to C(null) is removed from C(staged), and its live copy, when there is one, is
        removed by the rollout that makes the staged set live (a C(.remove.NAME) note in C(staged) until then).
        For files that nats-server.conf includes, such as the JetStream key. Secret; never returned or logged.
    type: dict
    default: {}
  restart_settings:
    description:
      - The settings nats-server cannot reload, as rendered for this node (O(action=plan)). A difference between
        the staged and the live record makes the action a restart. Not secret; written as JSON.
      - A C(monitor_url) key in it names where the server's monitoring listens. Every action reads the live
        record's C(monitor_url) whenever O(monitor_url) does not answer, so a node whose monitoring port, host or
        scheme changes (a restart-only change) is still judged at its old address until it is restarted.
    type: dict
  group:
    description: Group that owns C(staged/restart-settings.json) (root owns it, mode 0640).
    type: str
    default: nats
  enable:
    description:
      - Enable the unit at boot when it is not (O(action=plan)). The role turns it off when its install phase did not
        run in the play (no unit was installed by it).
    type: bool
    default: true
  daemon_reload:
    description:
      - Reload systemd's units first (O(action=plan)); the role sets it when it changed the unit file. Done before
        the config check, so a refused config does not leave systemd with a stale unit.
    type: bool
    default: false
  restart_required:
    description:
      - The binary or the unit changed (O(action=plan)). On a running node this writes the C(restart-required)
        marker before the config check, so the restart is remembered until a rollout has done it, even when this
        run stops early.
    type: bool
    default: false
  service:
    description: The systemd unit.
    type: str
    default: nats-server
  config_dir:
    description:
      - Directory of the live config. Every regular file in its C(staged) subdirectory is copied over the
        live file of the same name (atomically, keeping the staged file's owner, group and mode).
      - A C(restart-required) marker file in it is removed after a successful start or restart.
    type: path
    default: /etc/nats-server
  monitor_url:
    description: Base URL of the monitoring listener as seen from the node itself.
    type: str
    default: http://127.0.0.1:8222
  monitor_ca_file:
    description:
      - CA file (on the node) that verifies the certificate of an https monitoring listener. Without it the
        system's trust store is used.
    type: path
  monitor_server_name:
    description:
      - Name the certificate of an https monitoring listener is verified against (and sent as SNI), when it is
        not the host of O(monitor_url); for a certificate without C(IP:127.0.0.1) reached on the loopback address.
    type: str
    default: ""
  expected_digest:
    description:
      - The C(sha256:...) digest that C(nats-server -t) printed for the staged config. The node must report it
        as C(config_digest) in C(/varz) (servers older than 2.11 do not report a digest; then a new
        C(config_load_time) or start time is the proof).
    type: str
    default: ""
  expected_routes:
    description: Server names of the peers this node must have routes to (unique C(remote_name) in C(/routez)).
    type: list
    elements: str
    default: []
  timeout:
    description: Seconds to wait for the node to prove the change; the module fails after that.
    type: float
    default: 60
  poll_interval:
    description: Seconds between two reads of the monitoring endpoints.
    type: float
    default: 0.1
  node:
    description: Name of the node for messages (the inventory hostname).
    type: str
    default: ""
  jetstream:
    description:
      - Add the JetStream gates (see the description) to every wait. Set it for nodes that run JetStream.
    type: bool
    default: false
  jetstream_ignore:
    description:
      - Server names whose replicas the JetStream gate does not judge; the role gives the node it is about to take
        down, since taking down a replica that is behind or down costs no quorum. Only used with O(jetstream=true).
    type: list
    elements: str
    default: []
  jetstream_max_lag:
    description:
      - Largest replica lag (in raft operations) that the JetStream gate accepts on top of the replica's
        C(current) flag. Only used with O(jetstream=true).
    type: int
    default: 0
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - hardened.nats.common.attributes
attributes:
  check_mode:
    support: full
    details: In check mode nothing is copied, written, enabled or signalled, and O(action=plan) does not run
      C(nats-server -t) (the staged file was not rendered); the result says what would be done.
  diff_mode:
    support: none
  platform:
    platforms: posix
  idempotent:
    support: none
    details: O(action=reload), O(action=restart) and O(action=start) always act; the role only calls them for nodes
      whose staged config differs from what runs.
notes:
  - Requires systemd on the node and a monitoring listener (C(http) or C(https)) that the node can reach.
"""

EXAMPLES = r"""
- name: Reload one node and prove the new config is live
  hardened.nats.nats_server_rollout:
    action: reload
    expected_digest: "{{ digest_from_nats_server_t }}"
    expected_routes: [nats2, nats3]
    timeout: 30

- name: Wait until a node is healthy with its full mesh
  hardened.nats.nats_server_rollout:
    action: check
    expected_routes: [nats2, nats3]

- name: Wait until a JetStream node's meta group, streams and consumers are whole
  hardened.nats.nats_server_rollout:
    action: check
    expected_routes: [nats2, nats3]
    jetstream: true
"""

RETURN = r"""
rollout_action:
  description:
    - What the rollout must do on this node (O(action=plan)) - C(start) (not running), C(restart) (a restart-only
      setting changed, a C(restart-required) marker is present, or monitoring does not answer), C(reload) (the
      staged files or the digest differ from what runs), or C(none).
  type: str
  returned: when O(action=plan)
digest:
  description: The C(sha256:...) digest C(nats-server -t) printed for the staged config (O(action=plan)).
  type: str
  returned: when O(action=plan)
config_error:
  description:
    - What C(nats-server -t) said when it refused the staged config, long quoted values redacted; empty when valid.
  type: str
  returned: when O(action=plan)
changes:
  description: What O(action=plan) wrote or enabled (file names and the unit, never content).
  type: list
  elements: str
  returned: when O(action=plan)
active:
  description: Whether the unit was active (O(action=plan)).
  type: bool
  returned: when O(action=plan)
action:
  description: The action taken.
  type: str
  returned: always
reachable:
  description: Whether the monitoring listener answered.
  type: bool
  returned: always
healthy:
  description: Whether C(/healthz) was ok and every expected route was up at the end.
  type: bool
  returned: always
varz:
  description:
    - Selected C(/varz) fields (server_name, version, config_digest, config_load_time, start, auth_required, ...).
  type: dict
  returned: when reachable
routes:
  description: Unique peer names seen in C(/routez).
  type: list
  elements: str
  returned: always
elapsed:
  description: Seconds from the signal (or the start of the check) to the proof.
  type: float
  returned: always
started_at:
  description: Wall-clock time (seconds since the epoch, on the node) when the module began to act on the node.
  type: float
  returned: when O(action) is start, reload or restart
proven_at:
  description: Wall-clock time (seconds since the epoch, on the node) when the node proved the change.
  type: float
  returned: when O(action) is start, reload or restart
jetstream:
  description:
    - With O(jetstream=true), what the node's C(/jsz) showed last; keys C(enabled), C(streams), C(consumers),
      C(messages), C(meta_leader), C(meta_cluster_size) and C(problems) (why JetStream is not whole; empty when it is).
  type: dict
  returned: when O(jetstream=true)
"""

import grp
import json
import os
import re
import shutil
import tempfile
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.hardened.nats.plugins.module_utils._nats_monitor import (
    HEALTHZ_JS_PATH,
    JSZ_PATH,
    MonitorError,
    fetch_json,
    healthz_ok,
    jetstream_problems,
    jetstream_summary,
    route_names,
    varz_summary,
)

MARKER = "restart-required"
REMOVE_PREFIX = ".remove."
SETTINGS = "restart-settings.json"
DIGEST_RE = re.compile(r"sha256:[0-9a-f]{64}")
# nats-server -t quotes the offending value; long quoted values can be secrets.
QUOTED_RE = re.compile(r'(?<!field )"[^"]{12,}"')


class Node:
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.url = self.params["monitor_url"]
        self.name = self.params["node"] or self.url

    @property
    def previous_url(self):
        """Where the running server's monitoring answers until its restart (the live restart record)."""
        live = _read(os.path.join(self.params["config_dir"], SETTINGS))
        return _record_value(live, "monitor_url")

    def fetch(self, path, url=None):
        return fetch_json(
            url or self.url,
            path,
            ca_file=self.params["monitor_ca_file"],
            server_name=self.params["monitor_server_name"] or None,
        )

    def read(self):
        """One read of /varz, /healthz and /routez; never raises."""
        state = {"reachable": False, "varz": {}, "healthz": None, "routes": [], "error": ""}
        url = self.url
        try:
            try:
                varz = self.fetch("/varz")
            except MonitorError:
                previous = self.previous_url
                if not previous or previous == self.url:
                    raise
                url = previous
                varz = self.fetch("/varz", url)
            state["varz"] = varz_summary(varz)
            state["reachable"] = True
            state["healthz"] = self.fetch("/healthz", url)
            state["routes"] = route_names(self.fetch("/routez", url))
        except MonitorError as exc:
            state["error"] = str(exc)
        state["url"] = url
        expected = set(self.params["expected_routes"])
        state["missing_routes"] = sorted(expected - set(state["routes"]))
        state["healthy"] = state["reachable"] and healthz_ok(state["healthz"]) and not state["missing_routes"]
        if self.params["jetstream"]:
            self.read_jetstream(state)
        return state

    def read_jetstream(self, state):
        """The JetStream gate: add state["jetstream"] and clear state["healthy"] unless JetStream is whole."""
        problems, summary = [], {}
        if state["reachable"]:
            try:
                if not healthz_ok(self.fetch(HEALTHZ_JS_PATH, state["url"])):
                    problems.append("healthz?js-enabled-only=true not ok")
                jsz = self.fetch(JSZ_PATH, state["url"])
                summary = jetstream_summary(jsz)
                problems += jetstream_problems(
                    jsz,
                    state["varz"].get("server_name", ""),
                    max_lag=self.params["jetstream_max_lag"],
                    ignore=self.params["jetstream_ignore"],
                )
            except MonitorError as exc:
                problems.append(f"jsz not readable ({exc})")
        else:
            problems.append("monitoring not reachable")
        summary["problems"] = problems
        state["jetstream"] = summary
        # The plain /healthz also wants a meta leader, which a node that just turned JetStream
        # on in a running cluster cannot have until a majority runs it: it is waived while
        # the node hosts no stream (nothing to lose); the gate above still applies.
        base = state["reachable"] and not state["missing_routes"]
        plain = healthz_ok(state["healthz"]) or not summary.get("streams")
        state["healthy"] = base and plain and not problems

    def wait(self, proven, what, started):
        """Poll until proven(state) and the node is healthy, or fail after the timeout."""
        deadline = started + self.params["timeout"]
        while True:
            state = self.read()
            if state["healthy"] and proven(state):
                return state
            if time.monotonic() >= deadline:
                self.fail(state, what, started)
            time.sleep(self.params["poll_interval"])

    def wait_jetstream(self, started):
        """Before a restart: poll until this node's JetStream view is whole, or fail (nothing changed yet)."""
        deadline = started + self.params["timeout"]
        while True:
            state = self.read()
            if state["reachable"] and not state["jetstream"]["problems"]:
                return state
            if time.monotonic() >= deadline:
                self.fail(state, "JetStream quorum before the restart", started)
            time.sleep(self.params["poll_interval"])

    def fail(self, state, what, started):
        seen = []
        if not state["reachable"]:
            seen.append(f"monitoring not reachable ({state['error']})")
        else:
            varz = state["varz"]
            seen.append(f"config_digest {varz.get('config_digest', 'not reported')}")
            seen.append(f"healthz {state['healthz']}")
            if state["missing_routes"]:
                up = ", ".join(state["routes"]) or "none"
                seen.append(f"routes to {', '.join(state['missing_routes'])} missing (up: {up})")
            problems = state.get("jetstream", {}).get("problems") or []
            if problems:
                more = f" and {len(problems) - 5} more" if len(problems) > 5 else ""
                seen.append("JetStream not whole: " + "; ".join(problems[:5]) + more)
        active = self.systemctl("is-active", check=False)[1].strip() or "unknown"
        self.module.fail_json(
            msg=(
                f"{self.name}: {what} not proven after {self.params['timeout']:g} s: "
                + "; ".join(seen)
                + f"; unit {self.params['service']} is {active}. "
                "Nodes after this one were not touched. See `journalctl -u "
                f"{self.params['service']}` on the node (its log can hold secret values, so it is not copied here)."
            ),
            action=self.params["action"],
            reachable=state["reachable"],
            healthy=False,
            varz=state["varz"],
            routes=state["routes"],
            elapsed=round(time.monotonic() - started, 3),
            **({"jetstream": state["jetstream"]} if "jetstream" in state else {}),
        )

    def systemctl(self, *args, check=True):
        rc, out, err = self.module.run_command(["systemctl", *args], check_rc=False)
        if check and rc != 0:
            self.module.fail_json(msg=f"{self.name}: systemctl {' '.join(args)} failed (rc {rc}): {err.strip()}")
        return rc, out, err

    def promote(self):
        """Copy every staged file over its live counterpart, atomically."""
        config_dir = self.params["config_dir"]
        staged_dir = os.path.join(config_dir, "staged")
        if not os.path.isdir(staged_dir):
            self.module.fail_json(msg=f"{self.name}: {staged_dir} does not exist: nothing is staged")
        for name in sorted(os.listdir(staged_dir)):
            src = os.path.join(staged_dir, name)
            if not os.path.isfile(src) or os.path.islink(src):
                continue
            if name.startswith(REMOVE_PREFIX):
                # A file the config set no longer has (files: NAME: null): its live copy goes too.
                live = os.path.join(config_dir, name[len(REMOVE_PREFIX) :])
                if os.path.lexists(live):
                    os.unlink(live)
                os.unlink(src)
                continue
            st = os.stat(src)
            fd, tmp = tempfile.mkstemp(prefix=f".{name}.", dir=config_dir)
            try:
                os.fchmod(fd, 0o600)
                with os.fdopen(fd, "wb") as out, open(src, "rb") as inp:
                    shutil.copyfileobj(inp, out)
                os.chown(tmp, st.st_uid, st.st_gid)
                os.chmod(tmp, st.st_mode & 0o7777)
                os.replace(tmp, os.path.join(config_dir, name))
            except BaseException:
                if os.path.exists(tmp):
                    os.unlink(tmp)
                raise

    def clear_marker(self):
        marker = os.path.join(self.params["config_dir"], MARKER)
        if os.path.exists(marker):
            os.unlink(marker)


def _read(path):
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except FileNotFoundError:
        return None


def _write_atomic(path, data, uid, gid, mode):
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", dir=os.path.dirname(path))
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.chown(tmp, uid, gid)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def plan(module, node):
    """One round trip: -t, restart record, boot enablement, staged-vs-live, running state -> rollout action."""
    params = module.params
    config_dir = params["config_dir"]
    staged_dir = os.path.join(config_dir, "staged")
    result = {
        "changed": False,
        "action": "plan",
        "digest": "",
        "config_error": "",
        "rollout_action": "none",
        "changes": [],
    }
    service = params["service"]
    if params["daemon_reload"] and not module.check_mode:
        node.systemctl("daemon-reload")
    marker = os.path.join(config_dir, MARKER)
    if params["restart_required"] and not os.path.exists(marker):
        if node.systemctl("is-active", service, check=False)[1].strip() == "active":
            result["changed"] = True
            result["changes"].append("restart-required marker written")
            if not module.check_mode:
                _write_atomic(marker, b"binary or unit changed\n", 0, 0, 0o600)
    config_path = os.path.join(staged_dir, params["config_file"])
    staged = dict(params["files"])
    if params["config"] is not None:
        staged[params["config_file"]] = params["config"]
    for name, text in sorted(staged.items()):
        if os.path.basename(name) != name or name in (SETTINGS, MARKER) or name.startswith(REMOVE_PREFIX):
            module.fail_json(msg=f"files: {name!r} is not a plain file name of the config set")
        path = os.path.join(staged_dir, name)
        content = None if text is None else str(text).encode()
        if _read(path) != content:
            result["changed"] = True
            result["changes"].append(f"staged {name} " + ("removed" if content is None else "written"))
            if not module.check_mode:
                if content is None:
                    os.unlink(path)
                else:
                    _write_atomic(path, content, 0, _gid(module, params["group"]), 0o640)
        note = os.path.join(staged_dir, REMOVE_PREFIX + name)
        wanted = content is None and os.path.lexists(os.path.join(config_dir, name))
        if wanted != os.path.exists(note):
            result["changed"] = True
            result["changes"].append(f"staged {REMOVE_PREFIX}{name} " + ("written" if wanted else "removed"))
            if not module.check_mode:
                if wanted:
                    _write_atomic(note, b"", 0, 0, 0o600)
                else:
                    os.unlink(note)
    if not module.check_mode:
        rc, out, err = module.run_command([params["binary"], "-t", "-c", config_path], check_rc=False)
        text = f"{err} {out}".strip()
        if rc != 0:
            result["config_error"] = QUOTED_RE.sub('"<redacted>"', text) or f"exit code {rc}"
            module.exit_json(**result)
        match = DIGEST_RE.search(text)
        result["digest"] = match.group(0) if match else ""

    record = _read(os.path.join(staged_dir, SETTINGS))
    if params["restart_settings"] is not None:
        path = os.path.join(staged_dir, SETTINGS)
        staged_record = record
        record = (json.dumps(params["restart_settings"], indent=4, sort_keys=True) + "\n").encode()
        if staged_record != record:
            result["changed"] = True
            result["changes"].append("staged restart-settings.json written")
            if not module.check_mode:
                _write_atomic(path, record, 0, _gid(module, params["group"]), 0o640)

    if params["enable"] and node.systemctl("is-enabled", service, check=False)[0] != 0:
        result["changed"] = True
        result["changes"].append(f"unit {service} enabled")
        if not module.check_mode:
            node.systemctl("enable", service)

    differs = False
    for name in sorted(os.listdir(staged_dir)) if os.path.isdir(staged_dir) else []:
        src = os.path.join(staged_dir, name)
        if os.path.isfile(src) and not os.path.islink(src) and _read(src) != _read(os.path.join(config_dir, name)):
            differs = True
    for name, text in staged.items():
        live = _read(os.path.join(config_dir, name))
        if (text is None and live is not None) or (text is not None and str(text).encode() != live):
            differs = True
    restart_needed = record != _read(os.path.join(config_dir, SETTINGS))
    restart_needed = restart_needed or os.path.exists(marker) or (module.check_mode and params["restart_required"])

    active = node.systemctl("is-active", service, check=False)[1].strip() == "active"
    state = node.read() if active else {"reachable": False, "varz": {}, "routes": [], "healthy": False}
    running_digest = state["varz"].get("config_digest", result["digest"])
    if not active:
        result["rollout_action"] = "start"
    elif restart_needed or not state["reachable"]:
        result["rollout_action"] = "restart"
    elif differs or (result["digest"] and running_digest != result["digest"]):
        result["rollout_action"] = "reload"
    result.update(active=active, **_public(state))
    module.exit_json(**result)


def _record_value(record, key):
    """One string value of a restart-settings record (JSON bytes), or ""."""
    try:
        value = json.loads(record or b"{}").get(key, "")
    except (ValueError, AttributeError):
        return ""
    return value if isinstance(value, str) else ""


def _gid(module, group):
    try:
        return grp.getgrnam(group).gr_gid
    except KeyError:
        module.fail_json(msg=f"group {group} does not exist on the node")


def digest_matches(expected):
    def proven(state):
        digest = state["varz"].get("config_digest")
        return not expected or digest is None or digest == expected

    return proven


def main():
    module = AnsibleModule(
        argument_spec=dict(
            action=dict(type="str", default="check", choices=["status", "check", "plan", "start", "reload", "restart"]),
            binary=dict(type="path", default="/usr/local/bin/nats-server"),
            config_file=dict(type="str", default="nats-server.conf"),
            config=dict(type="str", no_log=True),
            files=dict(type="dict", default={}, no_log=True),
            restart_settings=dict(type="dict"),
            group=dict(type="str", default="nats"),
            enable=dict(type="bool", default=True),
            daemon_reload=dict(type="bool", default=False),
            restart_required=dict(type="bool", default=False),
            service=dict(type="str", default="nats-server"),
            config_dir=dict(type="path", default="/etc/nats-server"),
            monitor_url=dict(type="str", default="http://127.0.0.1:8222"),
            monitor_ca_file=dict(type="path"),
            monitor_server_name=dict(type="str", default=""),
            expected_digest=dict(type="str", default=""),
            expected_routes=dict(type="list", elements="str", default=[]),
            timeout=dict(type="float", default=60.0),
            poll_interval=dict(type="float", default=0.1),
            node=dict(type="str", default=""),
            jetstream=dict(type="bool", default=False),
            jetstream_max_lag=dict(type="int", default=0),
            jetstream_ignore=dict(type="list", elements="str", default=[]),
        ),
        supports_check_mode=True,
    )
    node = Node(module)
    action = module.params["action"]
    expected = module.params["expected_digest"]
    started = time.monotonic()

    if action == "status":
        state = node.read()
        module.exit_json(changed=False, action=action, elapsed=round(time.monotonic() - started, 3), **_public(state))

    if action == "plan":
        plan(module, node)

    if action == "check":
        state = node.wait(digest_matches(expected), "health", started)
        module.exit_json(changed=False, action=action, elapsed=round(time.monotonic() - started, 3), **_public(state))

    if module.check_mode:
        module.exit_json(changed=True, action=action, reachable=False, healthy=False, routes=[], elapsed=0.0)

    started_at = time.time()
    before = node.read()
    if action == "restart" and module.params["jetstream"] and before["reachable"]:
        # the groups this node leads: only it can tell whether their followers are current
        before = node.wait_jetstream(time.monotonic())
    node.promote()
    started = time.monotonic()
    if action == "start":
        node.systemctl("start", module.params["service"])
        state = node.wait(digest_matches(expected), "start", started)
        node.clear_marker()
    elif action == "restart":
        old_start = before["varz"].get("start")
        node.systemctl("restart", module.params["service"])

        def restarted(state):
            return state["varz"].get("start") != old_start and digest_matches(expected)(state)

        state = node.wait(restarted, "restart", started)
        node.clear_marker()
    else:
        old_load = before["varz"].get("config_load_time")
        node.systemctl("reload", module.params["service"])

        def reloaded(state):
            digest = state["varz"].get("config_digest")
            if expected and digest is not None:
                return digest == expected
            return state["varz"].get("config_load_time") != old_load

        state = node.wait(reloaded, "reload", started)
    module.exit_json(
        changed=True,
        action=action,
        elapsed=round(time.monotonic() - started, 3),
        started_at=started_at,
        proven_at=time.time(),
        **_public(state),
    )


def _public(state):
    return {k: state[k] for k in ("reachable", "healthy", "varz", "routes", "jetstream") if k in state}


if __name__ == "__main__":
    main()
