"""JWT encoding, decoding, jti, claims and expiry parsing."""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import time

import nkeys
import pytest
from ansible_collections.hardened.nats.plugins.module_utils import _nats_jwt as nj
from ansible_collections.hardened.nats.plugins.module_utils import _nats_keys as keys

NOW = 1_900_000_000


def _b64(part):
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


@pytest.fixture(scope="module")
def operator():
    return keys.generate("operator")


@pytest.fixture(scope="module")
def account():
    return keys.generate("account")


@pytest.fixture(scope="module")
def user():
    return keys.generate("user")


def test_go_json_escapes_like_go():
    assert nj.go_json({"a": "x>y&<", "b": [1, -1], "c": "é\u2028"}) == (
        '{"a":"x\\u003ey\\u0026\\u003c","b":[1,-1],"c":"é\\u2028"}'
    )


def test_header_and_signature_layout(account, user):
    claims = nj.user_claims(user.public_key, "alice")
    token, decoded = nj.encode(claims, account, iat=NOW)
    header, payload, signature = token.split(".")
    assert _b64(header) == b'{"typ":"JWT","alg":"ed25519-nkey"}'
    assert "=" not in token
    # the signature is ed25519 by the issuer over "<header>.<payload>", checked with the nkeys package
    assert nkeys.from_seed(account.seed.encode()).verify(f"{header}.{payload}".encode(), _b64(signature))
    assert json.loads(_b64(payload)) == decoded
    assert decoded["iss"] == account.public_key
    assert decoded["sub"] == user.public_key
    assert decoded["iat"] == NOW
    assert list(decoded)[:5] == ["jti", "iat", "iss", "name", "sub"]
    assert nj.decode(token) == decoded


def test_jti_hashes_the_standard_claims_only(account, user):
    _token, first = nj.encode(nj.user_claims(user.public_key, "alice"), account, iat=NOW)
    _token, other_nats = nj.encode(
        nj.user_claims(user.public_key, "alice", permissions={"pub": {"allow": ["x"]}}), account, iat=NOW
    )
    _token, other_name = nj.encode(nj.user_claims(user.public_key, "bob"), account, iat=NOW)
    standard = {"iat": NOW, "iss": account.public_key, "name": "alice", "sub": user.public_key}
    expected = base64.b32encode(hashlib.new("sha512_256", nj.go_json(standard).encode()).digest()).decode().rstrip("=")
    assert first["jti"] == expected
    assert len(expected) == 52
    assert other_nats["jti"] == first["jti"]  # ClaimsData.hash() does not cover "nats"
    assert other_name["jti"] != first["jti"]


@pytest.mark.parametrize(
    "tamper",
    [
        lambda h, p, s: (h, p.replace(p[10], "A" if p[10] != "A" else "B", 1), s),
        lambda h, p, s: (h, p, s[:-2] + ("AA" if s[-2:] != "AA" else "BA")),
        lambda h, p, s: (nj.b64url('{"typ":"JWT","alg":"ed25519"}'), p, s),
    ],
    ids=["payload", "signature", "header"],
)
def test_tampered_tokens_are_refused(account, user, tamper):
    token, _claims = nj.encode(nj.user_claims(user.public_key, "alice"), account, iat=NOW)
    bad = ".".join(tamper(*token.split(".")))
    with pytest.raises(nj.JWTError):
        nj.decode(bad)


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("a.b", "three dot-separated parts"),
        ("!!.b.c", "not base64url"),
        (nj.b64url('{"typ":"XXX","alg":"ed25519-nkey"}') + "." + nj.b64url("{}") + ".x", "typ is not JWT"),
        (nj.b64url('{"typ":"JWT","alg":"ed25519-nkey"}') + "." + nj.b64url('{"iss":"nope"}') + ".x", "not an NKey"),
        (nj.b64url('{"typ":"JWT","alg":"ed25519-nkey"}') + "." + nj.b64url("[1]") + ".x", "not a JSON object"),
    ],
)
def test_malformed_tokens(token, message):
    with pytest.raises(nj.JWTError, match=message):
        nj.decode(token)


def test_signature_by_another_key_is_refused(account, user):
    token, _claims = nj.encode(nj.user_claims(user.public_key, "alice"), account, iat=NOW)
    header, payload, _signature = token.split(".")
    forged_claims = json.loads(_b64(payload))
    forged_payload = nj.b64url(nj.go_json(forged_claims))
    other = keys.generate("account")
    forged = f"{header}.{forged_payload}.{nj.b64url(other.sign(f'{header}.{forged_payload}'.encode()))}"
    with pytest.raises(nj.JWTError, match="does not verify"):
        nj.decode(forged)


def test_creds_format_is_exact(user):
    text = nj.format_creds("HEADER.PAYLOAD.SIG", user.seed)
    assert text == (
        "-----BEGIN NATS USER JWT-----\n"
        "HEADER.PAYLOAD.SIG\n"
        "------END NATS USER JWT------\n"
        "\n"
        "************************* IMPORTANT *************************\n"
        "NKEY Seed printed below can be used to sign and prove identity.\n"
        "NKEYs are sensitive and should be treated as secrets.\n"
        "\n"
        "-----BEGIN USER NKEY SEED-----\n"
        f"{user.seed}\n"
        "------END USER NKEY SEED------\n"
        "\n"
        "*************************************************************\n"
    )


ISO_2030 = int(datetime.datetime(2030, 6, 1, tzinfo=datetime.UTC).timestamp())


@pytest.mark.parametrize(
    ("value", "epoch", "duration"),
    [
        (None, None, None),
        ("", None, None),
        (NOW + 5, NOW + 5, None),
        (str(NOW + 5), NOW + 5, None),
        ("30d", NOW + 30 * 86400, 30 * 86400),
        ("12h", NOW + 12 * 3600, 12 * 3600),
        ("1h30m", NOW + 5400, 5400),
        ("90s", NOW + 90, 90),
        ("2w", NOW + 14 * 86400, 14 * 86400),
        ("1y", NOW + 365 * 86400, 365 * 86400),
        ("2030-06-01T00:00:00Z", ISO_2030, None),
        ("2030-06-01T00:00:00", ISO_2030, None),
        ("2030-06-01T02:00:00+02:00", ISO_2030, None),
    ],
)
def test_parse_exp(value, epoch, duration):
    assert ISO_2030 > NOW
    assert nj.parse_exp(value, NOW) == (epoch, duration)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (NOW - 1, "not in the future"),
        (NOW, "not in the future"),
        ("2001-01-01T00:00:00Z", "not in the future"),
        ("0s", "longer than zero"),
        ("yesterday", "neither epoch seconds, nor ISO 8601"),
        ("30 days", "neither epoch seconds"),
        (True, "must be epoch seconds"),
        ("-5", "not in the future"),
    ],
)
def test_parse_exp_refusals(value, message):
    with pytest.raises(nj.JWTError, match=message) as exc:
        nj.parse_exp(value, NOW)
    assert str(exc.value).startswith("option exp")


@pytest.mark.parametrize(
    ("value", "ns"),
    [("1s", 10**9), ("500ms", 5 * 10**8), ("2m", 120 * 10**9), ("1h1s", 3601 * 10**9), (7, 7), ("0", 0)],
)
def test_go_durations(value, ns):
    assert nj.parse_go_duration_ns(value, "x") == ns


@pytest.mark.parametrize("value", ["1d", "soon", -1, True, 1.5])
def test_bad_go_durations(value):
    with pytest.raises(nj.JWTError, match="option permissions.resp.ttl"):
        nj.parse_go_duration_ns(value, "permissions.resp.ttl")


def test_account_limits_defaults_and_jetstream():
    assert nj.omit_empty(nj.account_limits(None)) == {
        "subs": -1,
        "data": -1,
        "payload": -1,
        "imports": -1,
        "exports": -1,
        "wildcards": True,
        "conn": -1,
        "leaf": -1,
    }
    js = nj.omit_empty(nj.account_limits({"mem_storage": -1, "disk_storage": 1024, "conn": 5}))
    assert js["mem_storage"] == -1 and js["disk_storage"] == 1024
    assert js["streams"] == -1 and js["consumer"] == -1 and js["conn"] == 5
    assert "max_ack_pending" not in js


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        ({"streams": 5}, "limits.streams is set but JetStream is off"),
        ({"conn": -2}, "limits.conn must be -1 or more"),
        ({"wildcards": "yes"}, "limits.wildcards must be true or false"),
        ({"bogus": 1}, "unknown key"),
        ({"conn": "many"}, "limits.conn must be an integer"),
    ],
)
def test_account_limit_refusals(limits, message):
    with pytest.raises(nj.JWTError, match=message):
        nj.account_limits(limits)


def test_user_claims_layout(user, account):
    claims = nj.user_claims(
        user.public_key,
        "svc",
        exp=NOW + 60,
        permissions={
            "pub": {"allow": ["a.>", "a.>"], "deny": ["a.secret"]},
            "sub": {"allow": ["_INBOX.>", "jobs.* workers"]},
            "resp": {"max": 1, "ttl": "1m"},
        },
        limits={"src": ["10.0.0.0/8", "192.0.2.1"], "payload": 1024},
        allowed_connection_types=["STANDARD", "WEBSOCKET"],
        issuer_account=account.public_key,
        tags=[" Prod ", "eu"],
    )
    assert claims == {
        "exp": NOW + 60,
        "name": "svc",
        "sub": user.public_key,
        "nats": {
            "pub": {"allow": ["a.>"], "deny": ["a.secret"]},
            "sub": {"allow": ["_INBOX.>", "jobs.* workers"]},
            "resp": {"max": 1, "ttl": 60 * 10**9},
            "src": ["10.0.0.0/8", "192.0.2.1"],
            "subs": -1,
            "data": -1,
            "payload": 1024,
            "allowed_connection_types": ["STANDARD", "WEBSOCKET"],
            "issuer_account": account.public_key,
            "tags": ["prod", "eu"],
            "type": "user",
            "version": 2,
        },
    }


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"permissions": {"pub": {"allow": ["a..b"]}}}, "option permissions.pub.allow: invalid NATS subject"),
        ({"permissions": {"pub": {"deny": ["a b"]}}}, "option permissions.pub.deny: invalid NATS subject"),
        ({"permissions": {"sub": {"allow": ["a.>.b"]}}}, "option permissions.sub.allow: invalid NATS subject"),
        ({"permissions": {"sub": {"deny": ["x*"]}}}, "option permissions.sub.deny: invalid NATS subject"),
        ({"allowed_connection_types": ["CARRIER_PIGEON"]}, "option allowed_connection_types"),
        ({"limits": {"src": ["not-an-ip"]}}, "option limits.src"),
        ({"limits": {"conn": 1}}, "unknown key"),
        ({"issuer_account": "UABC"}, "option issuer_account"),
    ],
)
def test_user_claim_refusals(user, kwargs, message):
    with pytest.raises(nj.JWTError, match=message):
        nj.user_claims(user.public_key, "u", **kwargs)


def test_account_claims_layout(account):
    xkey = keys.generate("curve").public_key
    auth_user = keys.generate("user").public_key
    signing = keys.generate("account").public_key
    other = keys.generate("account").public_key
    claims = nj.account_claims(
        account.public_key,
        "APP",
        limits={"conn": 10},
        exports=[
            {"subject": "svc.b", "type": "service", "response_type": "Stream"},
            {"subject": "events.>", "type": "stream", "name": "events"},
        ],
        imports=[{"subject": "prices.>", "account": other, "type": "stream", "local_subject": "ext.prices.>"}],
        signing_keys=[signing],
        authorization={"auth_users": [auth_user], "allowed_accounts": ["*"], "xkey": xkey},
        description="app account",
    )
    nats = claims["nats"]
    assert [e["subject"] for e in nats["exports"]] == ["events.>", "svc.b"]  # sorted like Go
    assert nats["exports"][1] == {"subject": "svc.b", "type": "service", "response_type": "Stream"}
    assert nats["imports"] == [
        {"subject": "prices.>", "account": other, "local_subject": "ext.prices.>", "type": "stream"}
    ]
    assert nats["limits"]["conn"] == 10
    assert nats["signing_keys"] == [signing]
    assert nats["authorization"] == {"auth_users": [auth_user], "allowed_accounts": ["*"], "xkey": xkey}
    assert nats["default_permissions"] == {"pub": {}, "sub": {}}
    assert nats["type"] == "account" and nats["version"] == 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"exports": [{"subject": "a..b", "type": "stream"}]}, r"option exports\[0\].subject: invalid NATS subject"),
        ({"exports": [{"subject": "a", "type": "queue"}]}, r"option exports\[0\].type"),
        ({"exports": [{"subject": "a", "type": "stream", "response_type": "Stream"}]}, "response_type"),
        ({"imports": [{"subject": "a b", "type": "stream", "account": None}]}, r"option imports\[0\].subject"),
        ({"imports": [{"subject": "a", "type": "stream", "account": "UXXX"}]}, r"option imports\[0\].account"),
        ({"signing_keys": ["OABC"]}, "option signing_keys"),
        ({"authorization": {"allowed_accounts": ["*"]}}, "needs authorization.auth_users"),
        ({"authorization": {"auth_users": ["nope"]}}, "option authorization.auth_users"),
        ({"authorization": {"auth_users": [], "xkey": "Xnope"}}, "option authorization.xkey"),
        ({"limits": {"exports": 0}, "exports": [{"subject": "a", "type": "stream"}]}, "more than limits.exports"),
        (
            {"limits": {"wildcards": False}, "exports": [{"subject": "a.*", "type": "stream"}]},
            "wildcard subject but limits.wildcards is false",
        ),
    ],
)
def test_account_claim_refusals(account, kwargs, message):
    with pytest.raises(nj.JWTError, match=message):
        nj.account_claims(account.public_key, "A", **kwargs)


def test_operator_claims(operator, account):
    signing = keys.generate("operator").public_key
    claims = nj.operator_claims(
        operator.public_key,
        "OP",
        signing_keys=[signing],
        system_account=account.public_key,
        strict_signing_key_usage=True,
        operator_service_urls=["nats://127.0.0.1:4222"],
    )
    assert claims["nats"] == {
        "signing_keys": [signing],
        "operator_service_urls": ["nats://127.0.0.1:4222"],
        "system_account": account.public_key,
        "strict_signing_key_usage": True,
        "type": "operator",
        "version": 2,
    }
    with pytest.raises(nj.JWTError, match="option system_account"):
        nj.operator_claims(operator.public_key, "OP", system_account=operator.public_key)
    with pytest.raises(nj.JWTError, match="option operator_service_urls"):
        nj.operator_claims(operator.public_key, "OP", operator_service_urls=["http://x"])


def test_comparable_ignores_iat_and_jti(account, user):
    claims = nj.user_claims(user.public_key, "alice")
    _token, first = nj.encode(claims, account, iat=NOW)
    _token, second = nj.encode(claims, account, iat=int(time.time()))
    assert first["jti"] != second["jti"]
    assert nj.comparable(first) == nj.comparable(second)
