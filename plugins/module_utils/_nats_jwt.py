# Copyright: hardened.nats contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""NATS JWT (nats-io/jwt v2) encoding, decoding, verification and claim building.

PRIVATE to the hardened.nats collection: no API promise, may change at any time.

Layout, checked against github.com/nats-io/jwt/v2:

* header exactly ``{"typ":"JWT","alg":"ed25519-nkey"}``;
* token = base64url (no padding) of header, ``.``, of the claims JSON, ``.``, of the
  ed25519 signature by the issuer over ``"<header>.<payload>"``;
* ``jti`` = base32 (no padding) of SHA-512/256 over the JSON of the standard claim
  fields only (ClaimsData: aud, exp, iat, iss, name, nbf, sub, in that order) with
  ``jti`` empty, as ``ClaimsData.hash()`` does: the ``nats`` section is not hashed;
* claims JSON is compact, in Go struct field order, with Go's HTML escaping of
  ``<``, ``>`` and ``&``, so that the bytes match what the Go library would produce.
"""

from __future__ import annotations

import base64
import binascii
import copy
import datetime
import hashlib
import ipaddress
import json
import re
import time

from ansible_collections.hardened.nats.plugins.module_utils import _nats_keys as keys
from ansible_collections.hardened.nats.plugins.module_utils._nats_subject import (
    permission_subject_error,
    subject_error,
)

HEADER_JSON = '{"typ":"JWT","alg":"ed25519-nkey"}'
ALGORITHM = "ed25519-nkey"
LIB_VERSION = 2
NO_LIMIT = -1
CLAIMS_DATA_FIELDS = ("aud", "exp", "jti", "iat", "iss", "name", "nbf", "sub")
CONNECTION_TYPES = ("STANDARD", "WEBSOCKET", "LEAFNODE", "LEAFNODE_WS", "MQTT", "MQTT_WS", "IN_PROCESS")
RESPONSE_TYPES = ("Singleton", "Stream", "Chunked")

NATS_LIMIT_FIELDS = ("subs", "data", "payload")
ACCOUNT_LIMIT_FIELDS = ("imports", "exports", "wildcards", "disallow_bearer", "conn", "leaf")
JETSTREAM_LIMIT_FIELDS = (
    "mem_storage",
    "disk_storage",
    "streams",
    "consumer",
    "max_ack_pending",
    "mem_max_stream_bytes",
    "disk_max_stream_bytes",
    "max_bytes_required",
)
ACCOUNT_LIMIT_ORDER = NATS_LIMIT_FIELDS + ACCOUNT_LIMIT_FIELDS + JETSTREAM_LIMIT_FIELDS
BOOL_LIMITS = ("wildcards", "disallow_bearer", "max_bytes_required")
USER_LIMIT_FIELDS = NATS_LIMIT_FIELDS + ("src",)

CREDS_TEMPLATE = (
    "-----BEGIN NATS USER JWT-----\n"
    "%s\n"
    "------END NATS USER JWT------\n"
    "\n"
    "************************* IMPORTANT *************************\n"
    "NKEY Seed printed below can be used to sign and prove identity.\n"
    "NKEYs are sensitive and should be treated as secrets.\n"
    "\n"
    "-----BEGIN USER NKEY SEED-----\n"
    "%s\n"
    "------END USER NKEY SEED------\n"
    "\n"
    "*************************************************************\n"
)

_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "y": 365 * 86400}
_DURATION_RE = re.compile(r"^(?:\d+[smhdwy])+$")
_DURATION_PART_RE = re.compile(r"(\d+)([smhdwy])")
_GO_DURATION_UNITS = {"ns": 1, "us": 10**3, "µs": 10**3, "ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}
_GO_DURATION_RE = re.compile(r"^(?:\d+(?:ns|us|µs|ms|s|m|h))+$")
_GO_DURATION_PART_RE = re.compile(r"(\d+)(ns|us|µs|ms|s|m|h)")


class JWTError(ValueError):
    """A JWT or a claim option is invalid. Messages name the option and never hold a seed."""


# --------------------------------------------------------------------------- encoding


def go_json(value):
    """Compact JSON as Go's encoding/json writes it (HTML-safe escaping, UTF-8)."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    for char, escaped in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, escaped)
    return text


def b64url(data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def b64url_decode(text):
    if not re.match(r"^[A-Za-z0-9_-]*$", text):
        raise JWTError("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise JWTError("not base64url")


def compute_jti(claims):
    data = {}
    for field in CLAIMS_DATA_FIELDS:
        value = claims.get(field)
        if field != "jti" and value not in (None, "", 0):
            data[field] = value
    digest = hashlib.new("sha512_256", go_json(data).encode("utf-8")).digest()
    return base64.b32encode(digest).decode("ascii").rstrip("=")


def order_claims(claims):
    """Claims in Go's field order: ClaimsData fields, then nats."""
    ordered = {}
    for field in CLAIMS_DATA_FIELDS:
        if claims.get(field) not in (None, "", 0):
            ordered[field] = claims[field]
    for field, value in claims.items():
        if field not in ordered and field not in CLAIMS_DATA_FIELDS:
            ordered[field] = value
    return ordered


def encode(claims, signer, iat=None):
    """Sign claims (a dict without iss/iat/jti) with the KeyPair signer; return (token, claims)."""
    claims = dict(claims)
    claims["iss"] = signer.public_key
    claims["iat"] = int(time.time()) if iat is None else int(iat)
    claims.pop("jti", None)
    claims["jti"] = compute_jti(claims)
    claims = order_claims(claims)
    signing_input = f"{b64url(HEADER_JSON)}.{b64url(go_json(claims))}"
    signature = signer.sign(signing_input.encode("ascii"))
    return f"{signing_input}.{b64url(signature)}", claims


def decode(token, verify=True):
    """Return the claims of token. Check header and, if verify, the issuer's signature."""
    if not isinstance(token, str):
        raise JWTError("a JWT must be a string")
    parts = token.strip().split(".")
    if len(parts) != 3:
        raise JWTError(f"a JWT has three dot-separated parts, this one has {len(parts)}")
    try:
        header = json.loads(b64url_decode(parts[0]).decode("utf-8"))
        claims = json.loads(b64url_decode(parts[1]).decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise JWTError("the JWT header or payload is not base64url-encoded JSON")
    if not isinstance(header, dict) or str(header.get("typ", "")).upper() != "JWT":
        raise JWTError("the JWT header typ is not JWT")
    if header.get("alg") != ALGORITHM:
        raise JWTError(
            "the JWT header alg is {!r}, expected {!r} (nats-io/jwt v2)".format(header.get("alg"), ALGORITHM)
        )
    if not isinstance(claims, dict):
        raise JWTError("the JWT payload is not a JSON object")
    if verify:
        issuer = claims.get("iss")
        if not keys.is_public_key(issuer) or keys.decode_public(issuer)[0] == "curve":
            raise JWTError(f"the JWT issuer {issuer!r} is not an NKey public key")
        signature = b64url_decode(parts[2])
        if not keys.verify(issuer, (f"{parts[0]}.{parts[1]}").encode("ascii"), signature):
            raise JWTError(f"the JWT signature does not verify against its issuer {issuer}")
    return claims


def format_creds(token, user_seed):
    return CREDS_TEMPLATE % (token, user_seed)


def comparable(claims):
    """Claims without the fields that change on every issue (iat, jti)."""
    result = copy.deepcopy(claims)
    result.pop("iat", None)
    result.pop("jti", None)
    return result


# --------------------------------------------------------------------------- time


def parse_duration(value):
    """'30d', '12h', '1h30m', '90s' -> seconds. None if value is not a duration."""
    if isinstance(value, str) and _DURATION_RE.match(value.strip()):
        return sum(int(n) * _DURATION_UNITS[u] for n, u in _DURATION_PART_RE.findall(value.strip()))
    return None


def parse_go_duration_ns(value, option):
    """Go duration string ('500ms', '1m', '2h') or integer nanoseconds -> nanoseconds."""
    if isinstance(value, bool):
        raise JWTError(f"option {option} must be a duration like '1s' or '500ms', got {value!r}")
    if isinstance(value, int):
        if value < 0:
            raise JWTError(f"option {option} must not be negative")
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return int(text)
        if _GO_DURATION_RE.match(text):
            return sum(int(n) * _GO_DURATION_UNITS[u] for n, u in _GO_DURATION_PART_RE.findall(text))
    raise JWTError(f"option {option} must be a duration like '1s', '500ms', '2m' or integer nanoseconds, got {value!r}")


def parse_exp(value, now, option="exp"):
    """Return (epoch seconds, duration seconds or None) for an expiry option.

    Accepts epoch seconds (int or digits), ISO 8601 (naive means UTC) or a duration
    from now ('30d', '12h', '1h30m', '90s'). Refuses an expiry that is not in the future.
    """
    if value is None or value == "":
        return None, None
    duration = None
    if isinstance(value, bool):
        raise JWTError(f"option {option} must be epoch seconds, ISO 8601 or a duration like '30d', got {value!r}")
    if isinstance(value, (int, float)):
        epoch = int(value)
    else:
        text = str(value).strip()
        duration = parse_duration(text)
        if duration is not None:
            if duration <= 0:
                raise JWTError(f"option {option}: the duration {text!r} must be longer than zero")
            epoch = int(now) + duration
        elif re.match(r"^-?\d+$", text):
            epoch = int(text)
        else:
            iso = text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text
            try:
                moment = datetime.datetime.fromisoformat(iso)
            except ValueError:
                raise JWTError(
                    f"option {option}: {text!r} is neither epoch seconds, nor ISO 8601, "
                    "nor a duration like '30d', '12h', '90s'"
                )
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=datetime.UTC)
            epoch = int(moment.timestamp())
    if epoch <= int(now):
        raise JWTError(
            f"option {option}: the expiry {epoch} ({datetime.datetime.fromtimestamp(epoch, datetime.UTC).isoformat()}) "
            "is not in the future"
        )
    return epoch, duration


# --------------------------------------------------------------------------- validation helpers


def _check_subject(value, option, wildcards=True):
    error = subject_error(value, wildcards)
    if error:
        raise JWTError(f"option {option}: invalid NATS subject: {error}")
    return value


def _check_public(value, option, kind):
    try:
        keys.decode_public(value, kind)
    except keys.NKeyError as exc:
        raise JWTError(f"option {option}: {value!r} {exc}")
    return value


def _check_int(value, option, minimum=NO_LIMIT):
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            value = int(str(value), 10)
        except (TypeError, ValueError):
            raise JWTError(f"option {option} must be an integer, got {value!r}")
    if value < minimum:
        raise JWTError(f"option {option} must be {minimum} or more (-1 means no limit), got {value}")
    return value


def _str_list(value, option):
    if value is None:
        return []
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise JWTError(f"option {option} must be a list of strings")
    result = []
    for item in value:  # keep order, drop duplicates (StringList.Add semantics)
        if item not in result:
            result.append(item)
    return result


def _only_keys(value, option, allowed):
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise JWTError(f"option {option} must be a dictionary")
    unknown = sorted(set(value) - set(allowed))
    if unknown:
        raise JWTError(
            "option {}: unknown key(s) {}; allowed: {}".format(option, ", ".join(unknown), ", ".join(allowed))
        )
    return value


def build_permissions(value, option):
    """Permissions {pub: {allow, deny}, sub: {allow, deny}, resp: {max, ttl}} -> JWT layout."""
    value = _only_keys(value, option, ("pub", "sub", "resp"))
    result = {}
    for direction in ("pub", "sub"):
        section = _only_keys(value.get(direction), f"{option}.{direction}", ("allow", "deny"))
        out = {}
        for verb in ("allow", "deny"):
            name = f"{option}.{direction}.{verb}"
            subjects = _str_list(section.get(verb), name)
            for subject in subjects:
                error = permission_subject_error(subject, allow_queue=direction == "sub")
                if error:
                    raise JWTError(f"option {name}: invalid NATS subject: {error}")
            if subjects:
                out[verb] = subjects
        result[direction] = out
    if value.get("resp") is not None:
        resp = _only_keys(value["resp"], option + ".resp", ("max", "ttl"))
        max_msgs = _check_int(resp.get("max", 1), option + ".resp.max")
        ttl = parse_go_duration_ns(resp.get("ttl", 0), option + ".resp.ttl")
        result["resp"] = {"max": max_msgs, "ttl": ttl}
    return result


# --------------------------------------------------------------------------- claim builders


def _generic(nats, tags, kind):
    tags = _str_list(tags, "tags")
    if tags:
        nats["tags"] = [t.strip().lower() for t in tags if t.strip()]
    nats["type"] = kind
    nats["version"] = LIB_VERSION
    return nats


def _base_claims(name, subject, exp):
    claims = {}
    if exp:
        claims["exp"] = int(exp)
    if name:
        claims["name"] = name
    claims["sub"] = subject
    return claims


def operator_claims(
    subject,
    name,
    exp=None,
    signing_keys=None,
    system_account=None,
    strict_signing_key_usage=False,
    operator_service_urls=None,
    account_server_url=None,
    tags=None,
):
    nats = {}
    sks = _str_list(signing_keys, "signing_keys")
    for key in sks:
        _check_public(key, "signing_keys", "operator")
    if sks:
        nats["signing_keys"] = sks
    if account_server_url:
        if not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", account_server_url):
            raise JWTError(f"option account_server_url {account_server_url!r} requires a protocol")
        nats["account_server_url"] = account_server_url
    urls = _str_list(operator_service_urls, "operator_service_urls")
    for url in urls:
        if not re.match(r"^(nats|tls)://[^/@]+$", url, re.IGNORECASE):
            raise JWTError(f"option operator_service_urls: {url!r} must be nats://host:port or tls://host:port")
    if urls:
        nats["operator_service_urls"] = urls
    if system_account:
        nats["system_account"] = _check_public(system_account, "system_account", "account")
    if strict_signing_key_usage:
        nats["strict_signing_key_usage"] = True
    claims = _base_claims(name, subject, exp)
    claims["nats"] = _generic(nats, tags, "operator")
    return claims


def account_limits(limits):
    """Account limits; NATS limits default to -1 (unlimited), JetStream is off unless storage is set."""
    limits = _only_keys(limits, "limits", ACCOUNT_LIMIT_ORDER)
    values = {field: NO_LIMIT for field in NATS_LIMIT_FIELDS + ("imports", "exports", "conn", "leaf")}
    values["wildcards"] = True
    values["disallow_bearer"] = False
    for field in JETSTREAM_LIMIT_FIELDS:
        values[field] = False if field == "max_bytes_required" else 0
    js_on = any(limits.get(f) not in (None, 0) for f in ("mem_storage", "disk_storage"))
    if js_on:
        values["streams"] = NO_LIMIT
        values["consumer"] = NO_LIMIT
    for field, value in limits.items():
        if value is None:
            continue
        if field in BOOL_LIMITS:
            if not isinstance(value, bool):
                raise JWTError(f"option limits.{field} must be true or false")
            values[field] = value
        else:
            values[field] = _check_int(value, "limits." + field)
    if not js_on:
        set_js = [f for f in ("streams", "consumer", "max_ack_pending") if limits.get(f) not in (None, 0)]
        if set_js:
            raise JWTError(
                f"option limits.{set_js[0]} is set but JetStream is off: set limits.mem_storage or limits.disk_storage "
                "(-1 for no limit) to enable JetStream for the account"
            )
    return {field: values[field] for field in ACCOUNT_LIMIT_ORDER}


def omit_empty(values):
    """Drop 0 and false, as Go's omitempty does when encoding."""
    return {field: value for field, value in values.items() if value not in (0, False)}


def _exports(value):
    if value is None:
        return []
    if not isinstance(value, list):
        raise JWTError("option exports must be a list of dictionaries")
    allowed = (
        "name",
        "subject",
        "type",
        "token_req",
        "response_type",
        "response_threshold",
        "account_token_position",
        "advertise",
        "allow_trace",
        "description",
        "info_url",
    )
    result = []
    for index, item in enumerate(value):
        option = f"exports[{index}]"
        item = _only_keys(item, option, allowed)
        kind = item.get("type")
        if kind not in ("stream", "service"):
            raise JWTError(f"option {option}.type must be stream or service, got {kind!r}")
        out = {}
        if item.get("name"):
            out["name"] = item["name"]
        out["subject"] = _check_subject(item.get("subject"), option + ".subject")
        out["type"] = kind
        if item.get("token_req"):
            out["token_req"] = True
        if item.get("response_type"):
            if kind != "service" or item["response_type"] not in RESPONSE_TYPES:
                raise JWTError(
                    "option {}.response_type must be one of {}, on a service only".format(
                        option, ", ".join(RESPONSE_TYPES)
                    )
                )
            out["response_type"] = item["response_type"]
        if item.get("response_threshold"):
            if kind != "service":
                raise JWTError(f"option {option}.response_threshold is valid for services only")
            out["response_threshold"] = parse_go_duration_ns(item["response_threshold"], option + ".response_threshold")
        if item.get("account_token_position"):
            position = _check_int(item["account_token_position"], option + ".account_token_position", 1)
            tokens = out["subject"].split(".")
            if position > len(tokens) or tokens[position - 1] != "*":
                raise JWTError(
                    f"option {option}.account_token_position {position} must point at a '*' token of {out['subject']!r}"
                )
            out["account_token_position"] = position
        for flag in ("advertise", "allow_trace"):
            if item.get(flag):
                out[flag] = True
        for text in ("description", "info_url"):
            if item.get(text):
                out[text] = item[text]
        result.append(out)
    result.sort(key=lambda e: e["subject"])  # Go sorts exports by subject before encoding
    return result


def _imports(value):
    if value is None:
        return []
    if not isinstance(value, list):
        raise JWTError("option imports must be a list of dictionaries")
    allowed = ("name", "subject", "account", "token", "local_subject", "type", "share", "allow_trace")
    result = []
    for index, item in enumerate(value):
        option = f"imports[{index}]"
        item = _only_keys(item, option, allowed)
        kind = item.get("type")
        if kind not in ("stream", "service"):
            raise JWTError(f"option {option}.type must be stream or service, got {kind!r}")
        out = {}
        if item.get("name"):
            out["name"] = item["name"]
        out["subject"] = _check_subject(item.get("subject"), option + ".subject")
        out["account"] = _check_public(item.get("account"), option + ".account", "account")
        if item.get("token"):
            out["token"] = item["token"]
        if item.get("local_subject"):
            out["local_subject"] = _check_subject(item["local_subject"], option + ".local_subject")
        out["type"] = kind
        for flag in ("share", "allow_trace"):
            if item.get(flag):
                out[flag] = True
        result.append(out)
    result.sort(key=lambda i: i["subject"])  # Go sorts imports by subject before encoding
    return result


def _authorization(value):
    value = _only_keys(value, "authorization", ("auth_users", "allowed_accounts", "xkey"))
    out = {}
    users = _str_list(value.get("auth_users"), "authorization.auth_users")
    for user in users:
        _check_public(user, "authorization.auth_users", "user")
    accounts = _str_list(value.get("allowed_accounts"), "authorization.allowed_accounts")
    if "*" in accounts and len(accounts) > 1:
        raise JWTError("option authorization.allowed_accounts is either ['*'] or a list of account public keys")
    for account in accounts:
        if account != "*":
            _check_public(account, "authorization.allowed_accounts", "account")
    if accounts and not users:
        raise JWTError(
            "option authorization.allowed_accounts needs authorization.auth_users (the callout service users)"
        )
    if users:
        out["auth_users"] = users
    if accounts:
        out["allowed_accounts"] = accounts
    if value.get("xkey"):
        out["xkey"] = _check_public(value["xkey"], "authorization.xkey", "curve")
    return out


def account_claims(
    subject,
    name,
    exp=None,
    limits=None,
    exports=None,
    imports=None,
    signing_keys=None,
    authorization=None,
    default_permissions=None,
    description=None,
    info_url=None,
    tags=None,
):
    nats = {}
    imported = _imports(imports)
    exported = _exports(exports)
    if imported:
        nats["imports"] = imported
    if exported:
        nats["exports"] = exported
    lim = account_limits(limits)
    nats["limits"] = omit_empty(lim)
    if lim["imports"] != NO_LIMIT and len(imported) > lim["imports"]:
        raise JWTError(f"option imports has {len(imported)} entries, more than limits.imports {lim['imports']}")
    if lim["exports"] != NO_LIMIT and len(exported) > lim["exports"]:
        raise JWTError(f"option exports has {len(exported)} entries, more than limits.exports {lim['exports']}")
    if not lim["wildcards"] and any("*" in e["subject"].split(".") or e["subject"].endswith(">") for e in exported):
        raise JWTError("option exports has a wildcard subject but limits.wildcards is false")
    sks = _str_list(signing_keys, "signing_keys")
    for key in sks:
        _check_public(key, "signing_keys", "account")
    if sks:
        nats["signing_keys"] = sks
    nats["default_permissions"] = build_permissions(default_permissions, "default_permissions")
    nats["authorization"] = _authorization(authorization)
    if description:
        nats["description"] = description
    if info_url:
        nats["info_url"] = info_url
    claims = _base_claims(name, subject, exp)
    claims["nats"] = _generic(nats, tags, "account")
    return claims


def user_claims(
    subject,
    name,
    exp=None,
    permissions=None,
    limits=None,
    bearer_token=False,
    allowed_connection_types=None,
    issuer_account=None,
    tags=None,
):
    nats = build_permissions(permissions, "permissions")
    limits = _only_keys(limits, "limits", USER_LIMIT_FIELDS)
    src = _str_list(limits.get("src"), "limits.src")
    for cidr in src:
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            raise JWTError(f"option limits.src: {cidr!r} is not an IP address or CIDR block")
    if src:
        nats["src"] = src
    for field in NATS_LIMIT_FIELDS:
        value = limits.get(field)
        value = NO_LIMIT if value is None else _check_int(value, "limits." + field)
        if value != 0:
            nats[field] = value
    if bearer_token:
        nats["bearer_token"] = True
    types = _str_list(allowed_connection_types, "allowed_connection_types")
    bad = [t for t in types if t not in CONNECTION_TYPES]
    if bad:
        raise JWTError(
            "option allowed_connection_types: unknown {}; known: {}".format(", ".join(bad), ", ".join(CONNECTION_TYPES))
        )
    if types:
        nats["allowed_connection_types"] = types
    if issuer_account:
        nats["issuer_account"] = _check_public(issuer_account, "issuer_account", "account")
    claims = _base_claims(name, subject, exp)
    claims["nats"] = _generic(nats, tags, "user")
    return claims
