"""Filters for hardened.nats: read the claims of a NATS JWT (no signature check)."""

from __future__ import annotations

import base64
import binascii
import json

DOCUMENTATION = r"""
name: nats_jwt_claims
short_description: Decode the claims of a NATS JWT without verifying it
version_added: 0.1.0
description:
  - Returns the claims (payload) of a nats-io/jwt v2 token as a dictionary, or an empty
    dictionary when the input is not a JWT (three base64url parts whose middle one is a JSON
    object). The signature is B(not) checked; nats-server checks it. The role uses this in
    preflight, to find each preloaded account's public key (C(sub)) and to refuse an account
    JWT that the configured operator did not issue.
options:
  _input:
    description: The JWT.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Public key and issuer of an account JWT
  ansible.builtin.debug:
    msg: "{{ _claims.sub }} issued by {{ _claims.iss }}"
  vars:
    _claims: "{{ account_jwt | hardened.nats.nats_jwt_claims }}"
"""

RETURN = r"""
_value:
  description: The claims (C(sub), C(iss), C(name), C(nats.type), ...), or an empty dictionary.
  type: dict
"""


def nats_jwt_claims(value):
    """Return the payload of ``value`` (a JWT) as a dict, or ``{}`` when it is not one."""
    if not isinstance(value, str):
        return {}
    parts = value.strip().split(".")
    if len(parts) != 3 or not all(parts):
        return {}
    payload = parts[1]
    try:
        raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        claims = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return {}
    return claims if isinstance(claims, dict) else {}


class FilterModule:
    def filters(self):
        return {"nats_jwt_claims": nats_jwt_claims}
