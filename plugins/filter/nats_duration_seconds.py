"""Filters for hardened.nats: NATS duration strings."""

from __future__ import annotations

import re

from ansible.errors import AnsibleFilterError

DOCUMENTATION = r"""
name: nats_duration_seconds
short_description: Convert a NATS/Go duration string to seconds
version_added: 0.1.0
description:
  - Converts a duration as nats-server reads it (C(30s), C(2m), C(1h30m), C(500ms), or a
    bare number of seconds) to a number of seconds.
options:
  _input:
    description: The duration.
    type: raw
    required: true
"""

EXAMPLES = r"""
- name: Lame duck duration in seconds
  ansible.builtin.debug:
    msg: "{{ '2m' | hardened.nats.nats_duration_seconds }}"  # 120.0
"""

RETURN = r"""
_value:
  description: Seconds.
  type: float
"""

_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, "us": 0.000001, "µs": 0.000001, "ns": 0.000000001}
_PART = re.compile(r"(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)")


def nats_duration_seconds(value):
    """Return the seconds in a Go duration string such as ``1m30s``."""
    if isinstance(value, bool):
        raise AnsibleFilterError(f"nats_duration_seconds: {value!r} is not a duration")
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip()
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return float(text)
    parts = _PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise AnsibleFilterError(f"nats_duration_seconds: {value!r} is not a duration like 30s, 2m or 1h30m")
    return sum(float(n) * _UNITS[u] for n, u in parts)


class FilterModule:
    def filters(self):
        return {"nats_duration_seconds": nats_duration_seconds}
