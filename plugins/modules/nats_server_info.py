#!/usr/bin/python
# Copyright: hardened.nats contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read a running nats-server's monitoring endpoints, and optionally its config, as facts."""

from __future__ import annotations

DOCUMENTATION = r"""
module: nats_server_info
short_description: Read a running nats-server's monitoring endpoints and config as structured facts
version_added: 0.1.0
description:
  - Runs on a NATS host. Reads C(/varz), C(/routez), C(/healthz) and C(/accountz) from the monitoring listener
    as the host itself sees it (the hardened role binds monitoring to 127.0.0.1). An endpoint that does not
    answer is reported in RV(endpoints), never fatal.
  - With O(discover=true) it works on servers this collection did not deploy. It finds the running
    C(nats-server) process, its config file from the command line (C(-c) or C(--config)), the systemd unit it
    runs under, and the monitoring listener from the config (C(http), C(https), C(http_port),
    C(monitor_port), C(https_port)) or from the command line (C(-m), C(-ms)).
  - With a config file (O(config_file), or the discovered one), it parses the config and its C(include) files
    and returns a summary without secret values in RV(config) - whether C(no_auth_user) is set, the names of
    users whose password is not a bcrypt hash, whether a token is in plain text, whether the cluster block has
    an C(authorization) block, and the monitoring and client listeners.
  - "It also scans the server's own log (the journal of its process, or its C(log_file)) for the warnings
    C(Plaintext passwords detected) and C(DO NOT USE IN PRODUCTION), and returns which were found (not the
    lines)."
  - Read-only; it never changes anything.
author: hardened.nats contributors (!UNKNOWN)
options:
  monitor_url:
    description:
      - Base URL of the monitoring listener as seen from the host itself.
      - With O(discover=true) and a monitoring listener in the discovered config, the discovered URL is used
        instead and returned as RV(monitor_url).
    type: str
    default: http://127.0.0.1:8222
  ca_file:
    description: CA file to verify an https monitoring listener.
    type: path
  validate_certs:
    description:
      - Verify the certificate of an https monitoring listener. A discovered https listener is reached by IP
        address, where a host name check cannot pass; set this to V(false) to audit it anyway.
    type: bool
    default: true
  timeout:
    description: Seconds to wait for each monitoring request.
    type: float
    default: 5
  discover:
    description:
      - Find the running nats-server process, its config file, unit and monitoring listener instead of relying
        on O(monitor_url) and O(config_file).
    type: bool
    default: false
  config_file:
    description:
      - Config file to summarise (see RV(config)). With O(discover=true) the discovered file is used when this
        is not set. The file is read on the host. No value from it is returned, only names and flags.
    type: path
  scan_log:
    description:
      - Scan the server's log for its own security warnings (see RV(log_warnings)). Needs a discovered process.
    type: bool
    default: true
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - hardened.nats.common.attributes
attributes:
  check_mode:
    support: full
    details: The module only reads; it runs the same in check mode.
  diff_mode:
    support: none
  idempotent:
    support: full
    details: It only reads and always reports RV(ignore:changed=false).
  platform:
    platforms: posix
notes:
  - Reading another user's config file and process details needs root (C(become=true)).
  - The config summary never contains a password, token or key, and the log scan returns only which known
    warnings appeared.
"""

EXAMPLES = r"""
- name: Read the monitoring endpoints of a node deployed by hardened.nats.nats_server
  hardened.nats.nats_server_info:
  register: __info

- name: Audit any nats-server on the host, however it was deployed
  hardened.nats.nats_server_info:
    discover: true
  become: true
  register: __info

- name: Show the peers
  ansible.builtin.debug:
    msg: "{{ __info.routes }}"
"""

RETURN = r"""
monitor_url:
  description: The monitoring URL used (discovered or O(monitor_url)); empty when the server has no monitoring.
  type: str
  returned: always
reachable:
  description: Whether C(/varz) answered.
  type: bool
  returned: always
endpoints:
  description: For each endpoint (varz, routez, healthz, accountz), V(ok) or the reason it is absent.
  type: dict
  returned: always
  sample: {varz: ok, routez: ok, healthz: ok, accountz: "http://127.0.0.1:8222/accountz: HTTP 404"}
varz:
  description:
    - Selected C(/varz) fields (server_name, version, config_digest, auth_required, tls_required, host, port,
      http_host, http_port, https_port, system_account, and a cluster summary). C(auth_required) and
      C(tls_required) are false when C(/varz) omits them.
  type: dict
  returned: always
routes:
  description: Unique peer server names in C(/routez) (routes are pooled, so names, not connections).
  type: list
  elements: str
  returned: always
num_routes:
  description: Route connections reported by C(/routez) (pooled; more than peers).
  type: int
  returned: always
healthz:
  description: The C(/healthz) answer, or null.
  type: dict
  returned: always
healthy:
  description: Whether C(/healthz) reported C(status=ok).
  type: bool
  returned: always
accounts:
  description: Account names from C(/accountz), or null when the endpoint is absent.
  type: list
  elements: str
  returned: always
version_floor:
  description: The server version against the security floor of its minor release (ok, floor, reason).
  type: dict
  returned: when reachable
process:
  description:
    - The discovered process (pid, user, unit, binary, config_file, count of nats-server processes; the first
      one is audited). Only C(count=0) when no nats-server runs; that is reported, not fatal. Command line values of
      C(--pass), C(--auth) and C(--user) are never returned; RV(process.cmdline_secrets) lists which of those
      flags were used.
  type: dict
  returned: when discover is true
  contains:
    cmdline_secrets:
      description: Which of C(--pass), C(--auth) and C(--user) the command line of the audited process uses (never
        their values).
      type: list
      elements: str
      returned: when a nats-server process was found
config_file:
  description: The config file summarised, or an empty string.
  type: str
  returned: always
config:
  description:
    - Summary of the config file without secret values. Keys are no_auth_user (bool), plaintext_users
      (user names whose password is not a bcrypt hash), plaintext_token (bool), users (count), nkeys (count),
      operator (bool), accounts (names), client (host, port), monitor (host, port, tls), cluster (present,
      authorization, route_user, plaintext_route_password, tls), websocket and mqtt (no_tls), log_file, errors
      (parse problems).
  type: dict
  returned: when a config file was read
log_warnings:
  description: Which of the server's own warnings appear in its log since it started, and where it looked.
  type: dict
  returned: when discover is true and scan_log is true
  sample: {source: "journal _PID=1234", found: ["Plaintext passwords detected"]}
"""

import os
import pwd
import re

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.hardened.nats.plugins.module_utils._nats_monitor import (
    fetch_optional,
    healthz_ok,
    route_names,
    varz_audit_summary,
    version_floor,
)

BCRYPT = re.compile(r"^\$2[abxy]\$\d{2}\$")
LOG_WARNINGS = ("Plaintext passwords detected", "DO NOT USE IN PRODUCTION")
SECRET_FLAGS = ("--pass", "--auth", "--user")
LOG_TAIL_BYTES = 4 * 1024 * 1024


# --- NATS config parser (enough of the format for an audit) --------------------------------------


class ConfigError(Exception):
    pass


class _Parser:
    """Parses nats-server's config format: maps, arrays, quoted and bare values, comments, include."""

    BARE_END = set("\r\n,;]}#")

    def __init__(self, text, path, depth=0, errors=None):
        self.text = text
        self.path = path
        self.pos = 0
        self.depth = depth
        self.errors = errors if errors is not None else []

    def fail(self, what):
        line = self.text.count("\n", 0, self.pos) + 1
        raise ConfigError(f"{self.path}:{line}: {what}")

    def peek(self):
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def skip(self, newlines=True):
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if ch in " \t" or (newlines and ch in "\r\n,;"):
                self.pos += 1
            elif ch == "#" or self.text.startswith("//", self.pos):
                end = self.text.find("\n", self.pos)
                self.pos = len(self.text) if end < 0 else end
            else:
                break

    def parse_map(self, closing=""):
        result = {}
        while True:
            self.skip()
            ch = self.peek()
            if not ch:
                if closing:
                    self.fail("missing '}'")
                return result
            if ch == closing:
                self.pos += 1
                return result
            key = self.parse_key()
            self.skip(newlines=False)
            if self.peek() in (":", "="):
                self.pos += 1
                self.skip(newlines=False)
            if key.lower() == "include":
                self.include(self.parse_value(), result)
                continue
            result[key.lower()] = self.parse_value()

    def parse_key(self):
        ch = self.peek()
        if ch in "\"'":
            return self.parse_quoted()
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] not in " \t\r\n:={[":
            self.pos += 1
        if self.pos == start:
            self.fail(f"unexpected {ch!r}")
        return self.text[start : self.pos]

    def parse_quoted(self):
        quote = self.text[self.pos]
        self.pos += 1
        out = []
        while True:
            if self.pos >= len(self.text):
                self.fail("unterminated string")
            ch = self.text[self.pos]
            self.pos += 1
            if ch == quote:
                return "".join(out)
            if ch == "\\" and quote == '"' and self.pos < len(self.text):
                nxt = self.text[self.pos]
                self.pos += 1
                out.append({"n": "\n", "t": "\t", "r": "\r"}.get(nxt, nxt))
            else:
                out.append(ch)

    def parse_value(self):
        ch = self.peek()
        if ch == "{":
            self.pos += 1
            return self.parse_map("}")
        if ch == "[":
            self.pos += 1
            return self.parse_array()
        if ch in "\"'":
            return self.parse_quoted()
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] not in self.BARE_END:
            if self.text.startswith("//", self.pos) and self.text[self.pos - 1] in " \t":
                break  # a comment; "nats://host" is not
            self.pos += 1
        return _scalar(self.text[start : self.pos].strip())

    def parse_array(self):
        items = []
        while True:
            self.skip()
            ch = self.peek()
            if not ch:
                self.fail("missing ']'")
            if ch == "]":
                self.pos += 1
                return items
            items.append(self.parse_value())

    def include(self, name, into):
        if not isinstance(name, str) or not name:
            self.fail("include without a file name")
        target = os.path.join(os.path.dirname(self.path), name)
        if self.depth > 10:
            self.fail("include nested too deep")
        try:
            with open(target, encoding="utf-8") as fh:
                text = fh.read()
        except OSError as exc:
            self.errors.append(f"include {target}: {exc.strerror}")
            return
        into.update(_Parser(text, target, self.depth + 1, self.errors).parse_map())


def _scalar(text):
    lowered = text.lower()
    if lowered in ("true", "yes", "on"):
        return True
    if lowered in ("false", "no", "off"):
        return False
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    return text


def parse_config(path):
    """Parse a nats-server config file (and its includes): (dict, [errors])."""
    errors = []
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        return {}, [f"{path}: {exc.strerror}"]
    try:
        return _Parser(text, path, errors=errors).parse_map(), errors
    except ConfigError as exc:
        return {}, errors + [str(exc)]


def _resolve(value, config):
    """A $VARIABLE reference resolved from the top level of the config or the environment (nats-server rules)."""
    if isinstance(value, str) and value.startswith("$") and not BCRYPT.match(value):
        name = value[1:]
        if name.lower() in config:
            return config[name.lower()]
        return os.environ.get(name, value)
    return value


def _hostport(value, default_host):
    """'host:port', a port number, or a bare host -> (host, port or None)."""
    if isinstance(value, int):
        return default_host, value
    if not isinstance(value, str) or not value:
        return default_host, None
    text = value.split("://", 1)[-1]
    host, sep, port = text.rpartition(":")
    if sep and port.isdigit():
        return host.strip("[]") or default_host, int(port)
    return text, None


def summarise_config(config, errors=()):
    """A secret-free summary of a parsed config (see RETURN: config)."""
    summary = {"errors": list(errors)}
    auth = config.get("authorization") or {}
    if not isinstance(auth, dict):
        auth = {}
    users = list(auth.get("users") or [])
    plaintext_users = []
    nkeys = 0
    if auth.get("user") is not None:
        users.append({"user": auth.get("user"), "password": auth.get("password")})
    accounts = config.get("accounts") or {}
    if isinstance(accounts, dict):
        for account in accounts.values():
            if isinstance(account, dict):
                users.extend(account.get("users") or [])
    for user in users:
        if not isinstance(user, dict):
            continue
        if user.get("nkey"):
            nkeys += 1
            continue
        password = _resolve(user.get("password"), config)
        if isinstance(password, (str, int)) and str(password) and not BCRYPT.match(str(password)):
            plaintext_users.append(str(user.get("user", "")))
    token = _resolve(auth.get("token"), config)
    summary.update(
        no_auth_user=bool(config.get("no_auth_user")),
        plaintext_users=sorted(set(plaintext_users)),
        plaintext_token=bool(token) and not BCRYPT.match(str(token)),
        users=len([u for u in users if isinstance(u, dict)]),
        nkeys=nkeys,
        operator=bool(config.get("operator") or config.get("operators") or config.get("trusted_keys")),
        auth_callout=bool(auth.get("auth_callout")),
        accounts=sorted(accounts) if isinstance(accounts, dict) else [],
        log_file=str(config.get("log_file") or config.get("logfile") or ""),
    )

    client_host = config.get("host") or config.get("net") or "0.0.0.0"
    client_host, client_port = _hostport(config.get("listen"), client_host)
    client_port = config.get("port", client_port or 4222)
    summary["client"] = {"host": client_host, "port": client_port}

    monitor = {"host": "", "port": None, "tls": False}
    for key, tls in (("http", False), ("https", True)):
        if config.get(key) is not None:
            host, port = _hostport(config.get(key), client_host)
            monitor = {"host": host, "port": port, "tls": tls}
    if monitor["port"] is None:
        for key, tls in (("https_port", True), ("http_port", False), ("monitor_port", False)):
            if config.get(key) is not None:
                host = config.get("http_host") or client_host
                monitor = {"host": host, "port": int(config[key]), "tls": tls}
                break
    summary["monitor"] = monitor

    cluster = config.get("cluster")
    if isinstance(cluster, dict):
        cluster_auth = cluster.get("authorization")
        if not isinstance(cluster_auth, dict):
            cluster_auth = {}
        route_password = _resolve(cluster_auth.get("password"), config)
        summary["cluster"] = {
            "present": True,
            "authorization": bool(cluster_auth),
            "route_user": str(cluster_auth.get("user", "")),
            "plaintext_route_password": bool(route_password) and not BCRYPT.match(str(route_password)),
            "tls": isinstance(cluster.get("tls"), dict),
            "routes": len(cluster.get("routes") or []),
        }
    else:
        summary["cluster"] = {"present": False}
    for block in ("websocket", "mqtt", "leafnodes"):
        value = config.get(block)
        if isinstance(value, dict):
            summary[block] = {"present": True, "no_tls": bool(value.get("no_tls")), "tls": "tls" in value}
            if value.get("no_auth_user"):
                summary[f"{block}_no_auth_user"] = True
    return summary


# --- Process discovery and log scan -------------------------------------------------------------


def _read(path, mode="r"):
    with open(path, mode) as fh:
        return fh.read()


def find_processes():
    """Running nats-server processes in this host's PID namespace: [(pid, argv)], oldest pid first.

    Processes of containers running on this host (another PID namespace) share neither its files nor its
    config: they are skipped. Sandboxed services (own mount namespace) are kept.
    """
    found = []
    try:
        own_ns = os.readlink("/proc/self/ns/pid")
    except OSError:
        own_ns = None
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if own_ns is not None and os.readlink(f"/proc/{entry}/ns/pid") != own_ns:
                continue
            argv = [a.decode("utf-8", "replace") for a in _read(f"/proc/{entry}/cmdline", "rb").split(b"\0") if a]
        except OSError:
            continue
        if argv and os.path.basename(argv[0]).startswith("nats-server"):
            found.append((int(entry), argv))
    return sorted(found)


def _flag_value(argv, names):
    for i, arg in enumerate(argv):
        for name in names:
            for dash in ("-", "--"):
                flag = dash + name
                if arg == flag and i + 1 < len(argv):
                    return argv[i + 1]
                if arg.startswith(flag + "="):
                    return arg[len(flag) + 1 :]
    return None


def describe_process(pid, argv):
    info = {"pid": pid, "binary": argv[0], "config_file": "", "unit": "", "user": ""}
    config = _flag_value(argv[1:], ("c", "config"))
    if config:
        try:
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            cwd = "/"
        info["config_file"] = os.path.normpath(os.path.join(cwd, config))
    info["cmdline_secrets"] = sorted(
        {flag for flag in SECRET_FLAGS for arg in argv[1:] if arg == flag or arg.startswith(flag + "=")}
    )
    info["http_port"] = _flag_value(argv[1:], ("m", "http_port"))
    info["https_port"] = _flag_value(argv[1:], ("ms", "https_port"))
    try:
        for line in _read(f"/proc/{pid}/cgroup").splitlines():
            last = line.rsplit("/", 1)[-1]
            if last.endswith(".service"):
                info["unit"] = last[: -len(".service")]
        uid = int(
            next(line.split()[1] for line in _read(f"/proc/{pid}/status").splitlines() if line.startswith("Uid:"))
        )
        info["user"] = pwd.getpwuid(uid).pw_name
    except (OSError, KeyError, StopIteration, ValueError):
        pass
    return info


def scan_log(module, process, log_file):
    """Which known warnings the server logged since it started (never the lines)."""
    found = set()
    sources = []
    journalctl = module.get_bin_path("journalctl")
    if journalctl and process:
        rc, out, _err = module.run_command([journalctl, "-b", f"_PID={process['pid']}", "-o", "cat", "--no-pager"])
        if rc == 0:
            sources.append(f"journal _PID={process['pid']}")
            found.update(w for w in LOG_WARNINGS if w in out)
    if log_file:
        try:
            size = os.path.getsize(log_file)
            with open(log_file, "rb") as fh:
                fh.seek(max(0, size - LOG_TAIL_BYTES))
                text = fh.read().decode("utf-8", "replace")
            start = text.rfind("Starting nats-server")
            text = text[start:] if start >= 0 else text
            sources.append(log_file)
            found.update(w for w in LOG_WARNINGS if w in text)
        except OSError as exc:
            sources.append(f"{log_file}: {exc.strerror}")
    return {"source": ", ".join(sources), "found": sorted(found)}


def monitor_url_from(summary, process):
    monitor = dict(summary.get("monitor") or {"host": "", "port": None, "tls": False})
    if process:
        if process.get("https_port"):
            monitor.update(port=int(process["https_port"]), tls=True)
        elif process.get("http_port"):
            monitor.update(port=int(process["http_port"]), tls=False)
    if not monitor.get("port"):
        return ""
    host = monitor.get("host") or "127.0.0.1"
    if host in ("0.0.0.0", "::", "", "localhost"):
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"{'https' if monitor.get('tls') else 'http'}://{host}:{monitor['port']}"


# --- Module -------------------------------------------------------------------------------------


def read_endpoints(url, params):
    kwargs = dict(timeout=params["timeout"], ca_file=params["ca_file"], insecure=not params["validate_certs"])
    result = {"endpoints": {}, "varz": {}, "routes": [], "num_routes": 0, "healthz": None, "accounts": None}
    if not url:
        result["endpoints"] = {name: "no monitoring listener" for name in ("varz", "routez", "healthz", "accountz")}
        return result
    raw = {}
    for name in ("varz", "routez", "healthz", "accountz"):
        data, error = fetch_optional(url, f"/{name}", **kwargs)
        raw[name] = data if isinstance(data, dict) else None
        result["endpoints"][name] = "ok" if raw[name] is not None else (error or "not a JSON object")
    if raw["varz"] is not None:
        result["varz"] = varz_audit_summary(raw["varz"])
        result["version_floor"] = version_floor(result["varz"].get("version"))
    if raw["routez"] is not None:
        result["routes"] = route_names(raw["routez"])
        result["num_routes"] = int(raw["routez"].get("num_routes") or 0)
    result["healthz"] = raw["healthz"]
    if raw["accountz"] is not None:
        result["accounts"] = sorted(raw["accountz"].get("accounts") or [])
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            monitor_url=dict(type="str", default="http://127.0.0.1:8222"),
            ca_file=dict(type="path"),
            validate_certs=dict(type="bool", default=True),
            timeout=dict(type="float", default=5.0),
            discover=dict(type="bool", default=False),
            config_file=dict(type="path"),
            scan_log=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    params = module.params
    out = {"changed": False, "monitor_url": params["monitor_url"], "config_file": params["config_file"] or ""}

    process = None
    if params["discover"]:
        processes = find_processes()
        if processes:
            process = describe_process(*processes[0])
            process["count"] = len(processes)
            out["process"] = process
            if not out["config_file"]:
                out["config_file"] = process["config_file"]
        else:
            out["process"] = {"count": 0}

    summary = None
    if out["config_file"]:
        config, errors = parse_config(out["config_file"])
        summary = summarise_config(config, errors)
        out["config"] = summary
    if params["discover"] and process:
        discovered = monitor_url_from(summary or {}, process)
        out["monitor_url"] = discovered
        if params["scan_log"]:
            out["log_warnings"] = scan_log(module, process, (summary or {}).get("log_file", ""))

    out.update(read_endpoints(out["monitor_url"], params))
    out["reachable"] = out["endpoints"]["varz"] == "ok"
    out["healthy"] = healthz_ok(out["healthz"])
    module.exit_json(**out)


if __name__ == "__main__":
    main()
