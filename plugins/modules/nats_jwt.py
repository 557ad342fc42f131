#!/usr/bin/python
# Copyright: hardened.nats contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: nats_jwt
short_description: Issue NATS operator, account and user JWTs (and creds files), idempotently
version_added: "0.1.0"
description:
  - Issues a nats-io/jwt v2 JWT for an operator (self-signed), an account (signed by an operator
    key) or a user (signed by an account key), writes it to O(path), and for users optionally
    writes a C(.creds) file (O(creds_path)) in the format the NATS clients read.
  - 'The token layout follows github.com/nats-io/jwt/v2: header exactly
    C({"typ":"JWT","alg":"ed25519-nkey"}), base64url without padding, ed25519 signature over
    C(<header>.<payload>), C(jti) the base32 SHA-512/256 of the standard claims with C(jti) empty.'
  - Idempotent. If O(path) holds a JWT whose signature verifies, whose issuer is the signer's
    public key and whose claims equal the requested ones (C(iat) and C(jti) aside), it is kept
    and nothing is written. Changed claims, another signer, a broken file or an expired token
    are reissued.
  - Refuses, with a message naming the option, an expiry in the past, an invalid NATS subject
    anywhere (tokens separated by C(.), no empty token, no whitespace, C(*) only as a whole token,
    C(>) only as the whole last token), a key of the wrong type, and a signer of the wrong type
    (operators sign accounts, accounts sign users).
  - With O(strict_signing_key_usage) the server refuses account JWTs signed by the operator identity
    key and user JWTs signed by an account identity key (checked with nats-server 2.15.1). Sign accounts
    with an operator signing key listed in O(signing_keys), and users with an account signing key listed
    in the account's O(signing_keys), passing O(issuer_account).
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - hardened.nats.common
  - hardened.nats.common.private_file
attributes:
  check_mode:
    support: full
    details: In check mode the token is computed and returned but not written.
  diff_mode:
    support: full
    details: The diff shows the claims (without C(iat) and C(jti)); never a seed.
  idempotent:
    support: full
    details: A duration in O(exp) is a validity period; the token is kept while its period matches and
      more than O(renew_before) of it is left.
  platform:
    platforms: posix
options:
  type:
    description: Kind of JWT.
    type: str
    required: true
    choices: [operator, account, user]
  name:
    description: The C(name) claim (operator, account or user name, as shown by C(nsc) and the server).
    type: str
    required: true
  subject_seed_file:
    description:
      - Seed file of the entity the JWT describes (from M(hardened.nats.nats_nkey)); its public key becomes C(sub).
      - For V(operator) it is also the signer (operator JWTs are self-signed) unless O(signer_seed_file) or
        O(signer_seed) is given, which must then be the same key.
      - Required for O(creds_path), which embeds the user seed.
    type: path
  subject_public_key:
    description:
      - Public key of the entity (V(account) C(A...) or V(user) C(U...)) when its seed is not at hand.
    type: str
  signer_seed_file:
    description:
      - Seed file of the issuer. V(account) JWTs need an operator seed (identity or signing key),
        V(user) JWTs an account seed (identity or signing key).
    type: path
  signer_seed:
    description:
      - The issuer seed itself, for example from Ansible Vault. Prefer O(signer_seed_file).
    type: str
  issuer_account:
    description:
      - V(user) only. Public key of the account the user belongs to, when the signer is one of that
        account's signing keys (sets the C(issuer_account) claim). Omit when the account identity key signs.
    type: str
  exp:
    description:
      - Expiry (C(exp) claim). Epoch seconds, ISO 8601 (C(2030-01-01T00:00:00Z); no zone means UTC), or a
        duration from now such as V(30d), V(12h), V(1h30m), V(90s) (units s, m, h, d, w, y = 365 days).
      - An expiry that is not in the future is refused. Omit for a JWT that does not expire.
      - For users this is the credential's expiry; the server refuses an expired user JWT.
    type: raw
  renew_before:
    description:
      - With a duration in O(exp), reissue when less than this duration (same syntax) of validity is left.
        By default a token is kept until it has expired.
    type: str
  tags:
    description: Tags (the server lowercases them).
    type: list
    elements: str
  signing_keys:
    description:
      - V(operator) signing keys (C(O...)) or V(account) signing keys (C(A...)), public keys.
    type: list
    elements: str
  system_account:
    description: V(operator) only. Public key (C(A...)) of the system account.
    type: str
  strict_signing_key_usage:
    description:
      - V(operator) only. Accounts must be signed by an operator signing key, and users by an account signing
        key, never by an identity key.
    type: bool
    default: false
  operator_service_urls:
    description: V(operator) only. C(nats://host:port) or C(tls://host:port) URLs for tools.
    type: list
    elements: str
  account_server_url:
    description: V(operator) only. Account server URL for tools.
    type: str
  limits:
    description:
      - V(account) limits; -1 means no limit. Unset NATS limits (subs, data, payload, imports, exports, conn,
        leaf) default to -1, O(limits.wildcards) to true. JetStream is off unless O(limits.mem_storage) or
        O(limits.disk_storage) is set (non-zero; -1 for no limit), and then O(limits.streams) and
        O(limits.consumer) default to -1.
      - V(user) limits accept only O(limits.subs), O(limits.data), O(limits.payload) (default -1) and O(limits.src).
    type: dict
    suboptions:
      subs:
        description: Maximum subscriptions.
        type: int
      data:
        description: Maximum bytes.
        type: int
      payload:
        description: Maximum message payload in bytes.
        type: int
      imports:
        description: Account only. Maximum imports.
        type: int
      exports:
        description: Account only. Maximum exports.
        type: int
      wildcards:
        description: Account only. Whether exports may use wildcards.
        type: bool
      disallow_bearer:
        description: Account only. Refuse bearer-token user JWTs.
        type: bool
      conn:
        description: Account only. Maximum client connections.
        type: int
      leaf:
        description: Account only. Maximum leaf node connections.
        type: int
      mem_storage:
        description: Account only. JetStream memory storage in bytes (0 = JetStream off, -1 = no limit).
        type: int
      disk_storage:
        description: Account only. JetStream file storage in bytes (0 = JetStream off, -1 = no limit).
        type: int
      streams:
        description: Account only. Maximum JetStream streams.
        type: int
      consumer:
        description: Account only. Maximum JetStream consumers.
        type: int
      max_ack_pending:
        description: Account only. Maximum ack pending per consumer.
        type: int
      mem_max_stream_bytes:
        description: Account only. Maximum bytes of a memory stream.
        type: int
      disk_max_stream_bytes:
        description: Account only. Maximum bytes of a file stream.
        type: int
      max_bytes_required:
        description: Account only. Streams must set max bytes.
        type: bool
      src:
        description: User only. Client source addresses or CIDR blocks allowed to connect.
        type: list
        elements: str
  exports:
    description: V(account) only. Streams and services this account exports.
    type: list
    elements: dict
    suboptions:
      name:
        description: Export name.
        type: str
      subject:
        description: Exported subject.
        type: str
        required: true
      type:
        description: Kind of export.
        type: str
        required: true
        choices: [stream, service]
      token_req:
        description: Importers need an activation token.
        type: bool
      response_type:
        description: Service response type.
        type: str
        choices: [Singleton, Stream, Chunked]
      response_threshold:
        description: Service response threshold (Go duration such as V(500ms), or nanoseconds).
        type: raw
      account_token_position:
        description: Position (1-based) of a C(*) token that must hold the importing account's public key.
        type: int
      advertise:
        description: Advertise the export.
        type: bool
      allow_trace:
        description: Allow message tracing through the export.
        type: bool
      description:
        description: Description.
        type: str
      info_url:
        description: Information URL.
        type: str
  imports:
    description: V(account) only. Streams and services imported from other accounts.
    type: list
    elements: dict
    suboptions:
      name:
        description: Import name.
        type: str
      subject:
        description: Subject as exported by the other account.
        type: str
        required: true
      account:
        description: Public key (C(A...)) of the exporting account.
        type: str
        required: true
      token:
        description: Activation token, when the export requires one.
        type: str
      local_subject:
        description: Subject in this account (renaming).
        type: str
      type:
        description: Kind of import.
        type: str
        required: true
        choices: [stream, service]
      share:
        description: Share the importer's connection information with the service for latency tracking.
        type: bool
      allow_trace:
        description: Allow message tracing through the import.
        type: bool
  authorization:
    description: V(account) only. Auth callout (external authorization) for this account.
    type: dict
    suboptions:
      auth_users:
        description: Public keys (C(U...)) of the users the callout service connects as; they bypass the callout.
        type: list
        elements: str
      allowed_accounts:
        description: Accounts (C(A...)) the callout may place users in, or V(*) for any.
        type: list
        elements: str
      xkey:
        description: Public curve key (C(X...)) the server encrypts callout requests to.
        type: str
  default_permissions:
    description:
      - V(account) only. Permissions applied to users of the account that set none; same layout as O(permissions).
    type: dict
  description:
    description: V(account) only. Description.
    type: str
  info_url:
    description: V(account) only. Information URL.
    type: str
  permissions:
    description:
      - V(user) only. Publish and subscribe permissions. Every subject is validated; a subscribe entry may be
        C(subject queue) to allow only that queue group.
    type: dict
    suboptions:
      pub:
        description: Publish permissions.
        type: dict
        suboptions:
          allow:
            description: Subjects the user may publish to.
            type: list
            elements: str
          deny:
            description: Subjects the user may not publish to.
            type: list
            elements: str
      sub:
        description: Subscribe permissions.
        type: dict
        suboptions:
          allow:
            description: Subjects the user may subscribe to.
            type: list
            elements: str
          deny:
            description: Subjects the user may not subscribe to.
            type: list
            elements: str
      resp:
        description: Allow publishing to reply subjects of received requests.
        type: dict
        suboptions:
          max:
            description: Maximum responses per request (-1 for no limit).
            type: int
            default: 1
          ttl:
            description: How long the reply subject stays open (Go duration such as V(1m), or nanoseconds).
            type: raw
            default: 0
  bearer_token:
    description:
      - V(user) only. The JWT alone authenticates (no nonce signature). The token is then a secret, so RV(jwt)
        is only returned to a task with C(no_log) set.
    type: bool
    default: false
  allowed_connection_types:
    description: V(user) only. Connection types the user may use.
    type: list
    elements: str
    choices: [STANDARD, WEBSOCKET, LEAFNODE, LEAFNODE_WS, MQTT, MQTT_WS, IN_PROCESS]
  creds_path:
    description:
      - V(user) only. Also write a creds file (JWT and user seed, mode C(0600)) for NATS clients.
        Needs O(subject_seed_file).
    type: path
seealso:
  - module: hardened.nats.nats_nkey
  - module: hardened.nats.nats_bcrypt
  - name: nats-io/jwt v2
    description: The reference implementation of the claims.
    link: https://github.com/nats-io/jwt
author:
  - hardened.nats contributors (!UNKNOWN)
"""

EXAMPLES = r"""
- name: Operator JWT (self-signed), strict signing key usage
  hardened.nats.nats_jwt:
    type: operator
    name: ACME
    path: "{{ creds_dir }}/operator/ACME.jwt"
    subject_seed_file: "{{ creds_dir }}/operator/ACME.nk"
    signing_keys: ["{{ operator_signing_key.public_key }}"]
    system_account: "{{ sys_account_key.public_key }}"
    strict_signing_key_usage: true
  delegate_to: localhost
  run_once: true
  register: operator_jwt

- name: Account with limits and JetStream
  hardened.nats.nats_jwt:
    type: account
    name: APP
    path: "{{ creds_dir }}/accounts/APP.jwt"
    subject_public_key: "{{ app_account_key.public_key }}"
    signer_seed_file: "{{ creds_dir }}/operator/ACME-signing.nk"
    limits:
      conn: 1000
      payload: 1048576
      mem_storage: 1073741824
      disk_storage: 10737418240
    exports:
      - name: orders
        subject: orders.>
        type: stream
  delegate_to: localhost
  run_once: true
  register: app_account_jwt

- name: User with permissions, 30-day credentials renewed 7 days before expiry
  hardened.nats.nats_jwt:
    type: user
    name: billing
    path: "{{ creds_dir }}/users/billing.jwt"
    creds_path: "{{ creds_dir }}/users/billing.creds"
    subject_seed_file: "{{ creds_dir }}/users/billing.nk"
    signer_seed_file: "{{ creds_dir }}/accounts/APP.nk"
    exp: 30d
    renew_before: 7d
    permissions:
      pub:
        allow: ["orders.>"]
        deny: ["orders.admin.>"]
      sub:
        allow: ["_INBOX.>", "orders.*.status"]
      resp:
        max: 1
        ttl: 1m
    allowed_connection_types: [STANDARD]
  delegate_to: localhost
  run_once: true

- name: Auth callout on an account
  hardened.nats.nats_jwt:
    type: account
    name: AUTH
    path: "{{ creds_dir }}/accounts/AUTH.jwt"
    subject_seed_file: "{{ creds_dir }}/accounts/AUTH.nk"
    signer_seed_file: "{{ creds_dir }}/operator/ACME-signing.nk"
    authorization:
      auth_users: ["{{ callout_user_key.public_key }}"]
      allowed_accounts: ["*"]
      xkey: "{{ callout_xkey.public_key }}"
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
jwt:
  description: The token (kept or newly issued). Withheld for bearer-token users unless the task has C(no_log).
  returned: success
  type: str
  sample: eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.eyJqdGkiOiI...
claims:
  description: The decoded claims of RV(jwt).
  returned: success
  type: dict
  sample: {"iat": 1767225600, "iss": "OD...", "jti": "B3...", "name": "APP", "sub": "AB...",
           "nats": {"limits": {"subs": -1}, "type": "account", "version": 2}}
public_key:
  description: The subject (C(sub)) public key.
  returned: success
  type: str
  sample: ABJ5JKK4LWDNVMA5Y6OO2IJOCY2SGVIX2SH3SBN6ANHZEF6XJMZMVC5D
issuer:
  description: The issuer (C(iss)) public key, the signer's.
  returned: success
  type: str
  sample: OCNV6X5PCF7M3QCRWSMYFN7MXWSEBS5JO7YJCMYNLQCZO7OTGYKLGGGK
expires:
  description: The C(exp) claim, epoch seconds, or null when the token does not expire.
  returned: success
  type: int
  sample: 1769817600
reissued:
  description: Why a new token was (or in check mode would be) issued, or null when the existing one was kept.
  returned: success
  type: str
  sample: claims changed
path:
  description: Absolute path of the JWT file.
  returned: success
  type: str
  sample: /home/ops/site/.nats-credentials/accounts/APP.jwt
creds_path:
  description: Absolute path of the creds file.
  returned: when O(creds_path) is set
  type: str
  sample: /home/ops/site/.nats-credentials/users/billing.creds
"""

import json
import os
import time

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.hardened.nats.plugins.module_utils import _nats_files as files
from ansible_collections.hardened.nats.plugins.module_utils import _nats_jwt as nj
from ansible_collections.hardened.nats.plugins.module_utils import _nats_keys as keys

SIGNER_TYPE = {"operator": "operator", "account": "operator", "user": "account"}
TYPE_ONLY_OPTIONS = {
    "operator": ("system_account", "strict_signing_key_usage", "operator_service_urls", "account_server_url"),
    "account": ("exports", "imports", "authorization", "default_permissions", "description", "info_url"),
    "user": ("issuer_account", "permissions", "bearer_token", "allowed_connection_types", "creds_path"),
}

_PERMISSION = {
    "type": "dict",
    "options": {
        "allow": {"type": "list", "elements": "str"},
        "deny": {"type": "list", "elements": "str"},
    },
}


def _prune(value):
    """Drop None values (unset suboptions) recursively."""
    if isinstance(value, dict):
        return {k: _prune(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value


def _fail(module, msg, **result):
    module.fail_json(msg=msg, **result)


def _load_signer(module, kind, subject_pair):
    params = module.params
    expected = SIGNER_TYPE[kind]
    if params["signer_seed_file"]:
        option = "signer_seed_file"
        try:
            pair = keys.read_seed_file(params["signer_seed_file"])
        except keys.NKeyError as exc:
            _fail(module, f"option signer_seed_file: {exc}")
    elif params["signer_seed"]:
        option = "signer_seed"
        try:
            pair = keys.from_seed(params["signer_seed"])
        except keys.NKeyError as exc:
            _fail(module, f"option signer_seed: not a valid NKey seed: {exc}")
    elif kind == "operator" and subject_pair is not None:
        return subject_pair
    else:
        _fail(module, f"option signer_seed_file (or signer_seed) is required for a {kind} JWT")
    if pair.kind != expected:
        what = {"operator": "an operator (self-signed)", "account": "an operator", "user": "an account"}[kind]
        _fail(
            module,
            f"option {option} holds a {pair.kind} seed, but a {kind} JWT must be signed by {what} seed",
        )
    if kind == "operator" and subject_pair is not None and pair.public_key != subject_pair.public_key:
        _fail(
            module, f"option {option}: an operator JWT is self-signed, so the signer must be the subject_seed_file key"
        )
    return pair


def _load_subject(module, kind):
    params = module.params
    if params["subject_seed_file"]:
        try:
            pair = keys.read_seed_file(params["subject_seed_file"])
        except keys.NKeyError as exc:
            _fail(module, f"option subject_seed_file: {exc}")
        if pair.kind != kind:
            _fail(module, f"option subject_seed_file holds a {pair.kind} seed, but type is {kind}")
        if params["subject_public_key"] and params["subject_public_key"] != pair.public_key:
            _fail(module, "option subject_public_key does not match the key in subject_seed_file")
        return pair, pair.public_key
    if params["subject_public_key"]:
        try:
            keys.decode_public(params["subject_public_key"], kind)
        except keys.NKeyError as exc:
            _fail(module, "option subject_public_key: {!r} {}".format(params["subject_public_key"], exc))
        return None, params["subject_public_key"]
    if kind == "operator":
        return None, None
    _fail(module, f"option subject_seed_file or subject_public_key is required for a {kind} JWT")


def _desired_claims(module, kind, subject, signer, exp):
    p = module.params
    if kind == "operator":
        return nj.operator_claims(
            subject,
            p["name"],
            exp=exp,
            signing_keys=p["signing_keys"],
            system_account=p["system_account"],
            strict_signing_key_usage=p["strict_signing_key_usage"],
            operator_service_urls=p["operator_service_urls"],
            account_server_url=p["account_server_url"],
            tags=p["tags"],
        )
    if kind == "account":
        return nj.account_claims(
            subject,
            p["name"],
            exp=exp,
            limits=_prune(p["limits"]),
            exports=_prune(p["exports"]),
            imports=_prune(p["imports"]),
            signing_keys=p["signing_keys"],
            authorization=_prune(p["authorization"]),
            default_permissions=_prune(p["default_permissions"]),
            description=p["description"],
            info_url=p["info_url"],
            tags=p["tags"],
        )
    issuer_account = p["issuer_account"]
    if issuer_account == signer.public_key:
        issuer_account = None
    if p["signing_keys"]:
        _fail(module, "option signing_keys is for operator and account JWTs, not user JWTs")
    return nj.user_claims(
        subject,
        p["name"],
        exp=exp,
        permissions=_prune(p["permissions"]),
        limits=_prune(p["limits"]),
        bearer_token=p["bearer_token"],
        allowed_connection_types=p["allowed_connection_types"],
        issuer_account=issuer_account,
        tags=p["tags"],
    )


def _existing(path):
    """(token, claims, problem) of the JWT in path."""
    raw = files.read_bytes(path)
    if raw is None:
        return None, None, "no JWT file yet"
    try:
        token = raw.decode("ascii").strip()
        return token, nj.decode(token), None
    except UnicodeDecodeError:
        return None, None, "the JWT file is not ASCII"
    except nj.JWTError as exc:
        return None, None, f"the JWT file is invalid ({exc})"


def _show(claims):
    return json.dumps(nj.comparable(claims), indent=2, sort_keys=True) + "\n" if claims else ""


def main():
    module = AnsibleModule(
        argument_spec={
            "type": {"type": "str", "required": True, "choices": ["operator", "account", "user"]},
            "path": {"type": "path", "required": True},
            "name": {"type": "str", "required": True},
            "subject_seed_file": {"type": "path"},
            "subject_public_key": {"type": "str", "no_log": False},
            "signer_seed_file": {"type": "path"},
            "signer_seed": {"type": "str", "no_log": True},
            "issuer_account": {"type": "str"},
            "exp": {"type": "raw"},
            "renew_before": {"type": "str"},
            "tags": {"type": "list", "elements": "str"},
            "signing_keys": {"type": "list", "elements": "str", "no_log": False},
            "system_account": {"type": "str"},
            "strict_signing_key_usage": {"type": "bool", "default": False},
            "operator_service_urls": {"type": "list", "elements": "str"},
            "account_server_url": {"type": "str"},
            "limits": {
                "type": "dict",
                "options": {
                    "subs": {"type": "int"},
                    "data": {"type": "int"},
                    "payload": {"type": "int"},
                    "imports": {"type": "int"},
                    "exports": {"type": "int"},
                    "wildcards": {"type": "bool"},
                    "disallow_bearer": {"type": "bool"},
                    "conn": {"type": "int"},
                    "leaf": {"type": "int"},
                    "mem_storage": {"type": "int"},
                    "disk_storage": {"type": "int"},
                    "streams": {"type": "int"},
                    "consumer": {"type": "int"},
                    "max_ack_pending": {"type": "int"},
                    "mem_max_stream_bytes": {"type": "int"},
                    "disk_max_stream_bytes": {"type": "int"},
                    "max_bytes_required": {"type": "bool"},
                    "src": {"type": "list", "elements": "str"},
                },
            },
            "exports": {
                "type": "list",
                "elements": "dict",
                "options": {
                    "name": {"type": "str"},
                    "subject": {"type": "str", "required": True},
                    "type": {"type": "str", "required": True, "choices": ["stream", "service"]},
                    "token_req": {"type": "bool"},
                    "response_type": {"type": "str", "choices": ["Singleton", "Stream", "Chunked"]},
                    "response_threshold": {"type": "raw"},
                    "account_token_position": {"type": "int", "no_log": False},  # a subject token index, no secret
                    "advertise": {"type": "bool"},
                    "allow_trace": {"type": "bool"},
                    "description": {"type": "str"},
                    "info_url": {"type": "str"},
                },
            },
            "imports": {
                "type": "list",
                "elements": "dict",
                "options": {
                    "name": {"type": "str"},
                    "subject": {"type": "str", "required": True},
                    "account": {"type": "str", "required": True},
                    "token": {"type": "str", "no_log": False},
                    "local_subject": {"type": "str"},
                    "type": {"type": "str", "required": True, "choices": ["stream", "service"]},
                    "share": {"type": "bool"},
                    "allow_trace": {"type": "bool"},
                },
            },
            "authorization": {
                "type": "dict",
                "options": {
                    "auth_users": {"type": "list", "elements": "str"},
                    "allowed_accounts": {"type": "list", "elements": "str"},
                    "xkey": {"type": "str", "no_log": False},
                },
            },
            "default_permissions": {"type": "dict"},
            "description": {"type": "str"},
            "info_url": {"type": "str"},
            "permissions": {
                "type": "dict",
                "options": {
                    "pub": _PERMISSION,
                    "sub": _PERMISSION,
                    "resp": {
                        "type": "dict",
                        "options": {"max": {"type": "int", "default": 1}, "ttl": {"type": "raw", "default": 0}},
                    },
                },
            },
            "bearer_token": {"type": "bool", "default": False},
            "allowed_connection_types": {
                "type": "list",
                "elements": "str",
                "choices": ["STANDARD", "WEBSOCKET", "LEAFNODE", "LEAFNODE_WS", "MQTT", "MQTT_WS", "IN_PROCESS"],
            },
            "creds_path": {"type": "path"},
        },
        mutually_exclusive=[("signer_seed_file", "signer_seed")],
        supports_check_mode=True,
    )
    if not keys.HAS_NACL:
        module.fail_json(msg=missing_required_lib("PyNaCl"), exception=str(keys.NACL_IMPORT_ERROR))

    p = module.params
    kind = p["type"]
    for other, options in TYPE_ONLY_OPTIONS.items():
        if other != kind:
            for option in options:
                if p[option] not in (None, False, [], {}):
                    _fail(module, f"option {option} is for {other} JWTs, not {kind} JWTs")
    path = os.path.abspath(p["path"])
    creds_path = os.path.abspath(p["creds_path"]) if p["creds_path"] else None
    for option, target in (("path", path), ("creds_path", creds_path)):
        if target and os.path.isdir(target):
            _fail(module, f"option {option}: {target} is a directory")

    subject_pair, subject = _load_subject(module, kind)
    signer = _load_signer(module, kind, subject_pair)
    if kind == "operator":
        subject = signer.public_key
    if creds_path and subject_pair is None:
        _fail(module, "option creds_path needs subject_seed_file: a creds file embeds the user seed")

    now = int(time.time())
    try:
        exp, duration = nj.parse_exp(p["exp"], now)
        renew_before = 0
        if p["renew_before"]:
            renew_before = nj.parse_duration(p["renew_before"])
            if renew_before is None:
                _fail(
                    module,
                    "option renew_before must be a duration like '7d' or '12h', got {!r}".format(p["renew_before"]),
                )
            if duration is None:
                _fail(module, "option renew_before needs a duration in exp (like '30d')")
            if renew_before >= duration:
                _fail(
                    module,
                    "option renew_before ({}) must be shorter than the exp duration ({})".format(
                        p["renew_before"], p["exp"]
                    ),
                )

        token, current, problem = _existing(path)
        if duration is not None and current:
            old_exp, old_iat = current.get("exp"), current.get("iat")
            if (
                isinstance(old_exp, int)
                and isinstance(old_iat, int)
                and old_exp - old_iat == duration
                and old_exp - now > renew_before
            ):
                exp = old_exp  # same validity period, enough of it left: keep the token's expiry
        desired = _desired_claims(module, kind, subject, signer, exp)
    except nj.JWTError as exc:
        _fail(module, str(exc))

    wanted = nj.comparable(nj.order_claims(dict(desired, iss=signer.public_key)))
    reason = problem
    if current is not None:
        if current.get("iss") != signer.public_key:
            reason = "issuer changed"
        elif isinstance(current.get("exp"), int) and current["exp"] <= now:
            reason = "expired"
        elif nj.comparable(current) != wanted:
            reason = "claims changed"

    result = {"changed": False, "path": path, "reissued": reason}
    old_claims = current
    if reason is not None:
        token, current = nj.encode(desired, signer, iat=now)
    contents = {path: (token + "\n").encode("ascii")}
    if creds_path:
        contents[creds_path] = nj.format_creds(token, subject_pair.seed).encode("ascii")
        result["creds_path"] = creds_path

    to_write, to_chmod = [], []
    for target, data in contents.items():
        existing = files.read_bytes(target)
        if existing != data:
            to_write.append(target)
        elif files.file_mode(target) != files.FILE_MODE:
            to_chmod.append(target)
    result["changed"] = bool(to_write or to_chmod)
    if not module.check_mode:
        try:
            for target in to_write:
                files.write_private(target, contents[target])
            for target in to_chmod:
                files.fix_mode(target)
        except OSError as exc:
            _fail(module, "cannot write {}: {}".format(exc.filename or "file", exc.strerror or exc), **result)

    result.update(
        claims=current,
        public_key=current.get("sub"),
        issuer=current.get("iss"),
        expires=current.get("exp"),
    )
    if not (kind == "user" and p["bearer_token"]) or module.no_log:
        result["jwt"] = token
    if module._diff and reason is not None:
        result["diff"] = {
            "before": _show(old_claims),
            "after": _show(current),
            "before_header": path,
            "after_header": path,
        }
    module.exit_json(**result)


if __name__ == "__main__":
    main()
