# Private to hardened.nats: read a nats-server's monitoring endpoints.
"""Small, dependency-free client for the nats-server monitoring port."""

from __future__ import annotations

import json
import ssl
import urllib.error

from ansible.module_utils.urls import Request

VARZ_KEYS = (
    "server_id",
    "server_name",
    "version",
    "start",
    "now",
    "config_load_time",
    "config_digest",
    "auth_required",
    "tls_required",
    "host",
    "port",
    "http_host",
    "http_port",
    "https_port",
    "max_payload",
    "connections",
    "routes",
)


class MonitorError(Exception):
    """The monitoring endpoint did not answer as expected."""


def fetch_json(base_url, path, timeout=2.0, ca_file=None, insecure=False):
    """GET base_url + path and decode its JSON body."""
    url = base_url.rstrip("/") + path
    context = None
    if url.startswith("https://"):
        context = ssl.create_default_context(cafile=ca_file) if ca_file else ssl.create_default_context()
        if insecure:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
    try:
        # Ansible's HTTP client: no credentials from ~/.netrc, proxies from the environment as urllib has them.
        with Request(use_netrc=False).open("GET", url, timeout=timeout, context=context) as resp:
            body = resp.read()
    except urllib.error.HTTPError as exc:
        body = exc.read()
        try:
            return json.loads(body)
        except ValueError:
            raise MonitorError(f"{url}: HTTP {exc.code}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise MonitorError(f"{url}: {getattr(exc, 'reason', exc)}") from exc
    try:
        return json.loads(body)
    except ValueError as exc:
        raise MonitorError(f"{url}: not JSON") from exc


def varz_summary(varz):
    """The /varz fields the collection reports (no config content)."""
    return {key: varz[key] for key in VARZ_KEYS if key in varz}


def route_names(routez):
    """Unique peer server names in /routez (routes are pooled: count names, not connections)."""
    names = set()
    for route in routez.get("routes") or []:
        name = route.get("remote_name")
        if name:
            names.add(name)
    return sorted(names)


def healthz_ok(healthz):
    return isinstance(healthz, dict) and healthz.get("status") == "ok"


# --- Audit helpers (additive: the functions above keep their behaviour) -------

# /varz fields an audit needs on top of VARZ_KEYS (still no config content).
VARZ_AUDIT_KEYS = (
    "http_base_path",
    "auth_timeout",
    "tls_timeout",
    "system_account",
    "git_commit",
    "go",
)

# Security floor per minor release (advisories.nats.io, see docs/audit.md and NATS-FACTS "Versions"):
#   2.11.x: 2.11.16 (no_auth_user route/leafnode fix; also carries 2.11.14 and 2.11.15 fixes)
#   2.12.x: 2.12.12 (MQTT deny bypass; also carries 2.12.5, 2.12.6 and 2.12.7 fixes)
#   2.13.x: no fixed release exists: every 2.13 fails (upgrade to 2.14.3 or later)
#   2.14.x: 2.14.3 (MQTT deny bypass)
#   2.15 and later: released after every fix above
# Anything older than 2.11 fails.
VERSION_FLOORS = {
    (2, 11): (2, 11, 16),
    (2, 12): (2, 12, 12),
    (2, 13): None,
    (2, 14): (2, 14, 3),
}
OLDEST_SUPPORTED = (2, 11, 16)
NEWEST_FLOORED_MINOR = (2, 14)


def parse_version(text):
    """'2.11.16' or 'v2.12.0-RC.1' -> (2, 11, 16), or None when unreadable."""
    if not isinstance(text, str):
        return None
    core = text.strip().lstrip("v").split("-", 1)[0].split("+", 1)[0]
    parts = core.split(".")
    if len(parts) != 3 or not all(part.isdigit() for part in parts):
        return None
    return tuple(int(part) for part in parts)


def version_floor(version):
    """Compare a server version with the security floor of its minor release.

    Returns a dict: ``ok`` (bool), ``floor`` (the minimum version for that minor as a string, or "" when no
    release of that minor is fixed), ``reason``.
    """
    parsed = parse_version(version)
    if parsed is None:
        return {"ok": False, "floor": "", "reason": f"version {version!r} is not readable"}
    minor = parsed[:2]
    if minor < (2, 11):
        floor = ".".join(map(str, OLDEST_SUPPORTED))
        return {"ok": False, "floor": floor, "reason": f"{version} is older than 2.11: upgrade to {floor} or later"}
    if minor > NEWEST_FLOORED_MINOR:
        return {"ok": True, "floor": f"{minor[0]}.{minor[1]}.0", "reason": "released after every known fix"}
    floor = VERSION_FLOORS[minor]
    if floor is None:
        return {
            "ok": False,
            "floor": "",
            "reason": f"no {minor[0]}.{minor[1]}.x release carries the security fixes: upgrade to 2.14.3 or later",
        }
    floor_text = ".".join(map(str, floor))
    if parsed < floor:
        return {"ok": False, "floor": floor_text, "reason": f"{version} is below the security floor {floor_text}"}
    return {"ok": True, "floor": floor_text, "reason": f"at or above {floor_text}"}


def varz_audit_summary(varz):
    """varz_summary plus the fields an audit needs: listeners, cluster listener, auth and TLS flags.

    /varz omits ``auth_required`` and ``tls_required`` when false; they are set to False here.
    """
    summary = varz_summary(varz)
    summary.update({key: varz[key] for key in VARZ_AUDIT_KEYS if key in varz})
    summary["auth_required"] = bool(varz.get("auth_required", False))
    summary["tls_required"] = bool(varz.get("tls_required", False))
    cluster = varz.get("cluster") or {}
    summary["cluster"] = {
        key: cluster[key]
        for key in ("name", "addr", "cluster_port", "auth_timeout", "tls_required", "tls_verify", "pool_size")
        if key in cluster
    }
    for block in ("websocket", "mqtt", "leaf", "gateway"):
        value = varz.get(block) or {}
        summary[block] = {key: value[key] for key in ("host", "port", "no_tls", "tls_required") if key in value}
    return summary


def fetch_optional(base_url, path, timeout=2.0, ca_file=None, insecure=False):
    """fetch_json that never raises: returns (data or None, error text or "")."""
    try:
        return fetch_json(base_url, path, timeout=timeout, ca_file=ca_file, insecure=insecure), ""
    except MonitorError as exc:
        return None, str(exc)


# --- JetStream helpers (additive) ---------------------------------------------

# One read gives the meta group, every stream and every consumer this server hosts.
JSZ_PATH = "/jsz?accounts=true&streams=true&consumers=true"
HEALTHZ_JS_PATH = "/healthz?js-enabled-only=true"
# A leader hears from each live follower about once a second (raft heartbeats), but keeps
# a dead one "current" for about 10 s: a follower silent for longer than this is not current.
REPLICA_MAX_SILENCE = 3.0


def _replica_problems(kind, name, cluster, server_name, max_lag, max_silence, ignore=()):
    """Problems with one raft group (meta, a stream or a consumer) as seen by server_name.

    Only the group's leader knows whether its followers are current: a follower lists the
    other followers as not current. So replicas are judged only on the leader; elsewhere the
    group only needs a leader.
    """
    leader = cluster.get("leader") or ""
    if not leader:
        return [f"{kind} {name} has no leader"]
    if leader != server_name:
        return []
    problems = []
    for peer in cluster.get("replicas") or []:
        peer_name = peer.get("name") or peer.get("peer") or "?"
        if peer_name in ignore:
            continue
        lag = peer.get("lag") or 0
        silent = (peer.get("active") or 0) / 1e9
        if peer.get("offline"):
            problems.append(f"{kind} {name}: replica {peer_name} offline")
        elif not peer.get("current"):
            problems.append(f"{kind} {name}: replica {peer_name} not current (lag {lag})")
        elif silent > max_silence:
            problems.append(f"{kind} {name}: replica {peer_name} silent for {silent:.1f} s")
        elif lag > max_lag:
            problems.append(f"{kind} {name}: replica {peer_name} lags by {lag}")
    return problems


def jetstream_problems(jsz, server_name, max_lag=0, max_silence=REPLICA_MAX_SILENCE, ignore=()):
    """Why this server's JetStream view is not whole; an empty list when it is.

    Whole means: in a cluster the meta group has a leader; every replicated stream and
    consumer hosted here has a leader; and for the groups this
    server leads, every replica is online, current, heard from within max_silence seconds
    and lags by at most max_lag. Replicas on the servers named in ``ignore`` are not judged.
    ``jsz`` is the answer to JSZ_PATH.

    A server that does not run JetStream (yet) has nothing to keep whole, and a meta group
    without a leader counts only while the server hosts a stream: both let a rollout turn
    JetStream on in a running cluster, where the meta group forms only once a majority of
    the nodes run it.
    """
    if not isinstance(jsz, dict) or "config" not in jsz:
        return ["jsz answer not understood"]
    if jsz.get("disabled"):
        return []
    problems = []

    def judge(kind, name, cluster):
        return _replica_problems(kind, name, cluster, server_name, max_lag, max_silence, ignore)

    meta = jsz.get("meta_cluster")
    if meta is not None and (meta.get("leader") or jsz.get("streams")):
        problems += judge("meta group", meta.get("name") or "", meta)
    for account in jsz.get("account_details") or []:
        acc = account.get("name") or account.get("id") or "?"
        for stream in account.get("stream_detail") or []:
            cluster = stream.get("cluster") or {}
            if not cluster.get("replicas"):
                continue  # R1: nothing to keep current
            sname = f"{acc}/{stream.get('name', '?')}"
            problems += judge("stream", sname, cluster)
            for consumer in stream.get("consumer_detail") or []:
                ccluster = consumer.get("cluster") or {}
                if ccluster.get("replicas"):
                    cname = f"{sname}/{consumer.get('name', '?')}"
                    problems += judge("consumer", cname, ccluster)
    return problems


def jetstream_summary(jsz):
    """Counts from /jsz for the module's result (no message content)."""
    if not isinstance(jsz, dict):
        return {}
    meta = jsz.get("meta_cluster") or {}
    return {
        "enabled": not jsz.get("disabled", False),
        "streams": jsz.get("streams", 0),
        "consumers": jsz.get("consumers", 0),
        "messages": jsz.get("messages", 0),
        "meta_leader": meta.get("leader", ""),
        "meta_cluster_size": meta.get("cluster_size", 0),
    }
