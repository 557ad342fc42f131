# Private to hardened.nats: read a nats-server's monitoring endpoints.
"""Small, dependency-free client for the nats-server monitoring port."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request

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
        with urllib.request.urlopen(url, timeout=timeout, context=context) as resp:  # noqa: S310 - monitor URL
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
