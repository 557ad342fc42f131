"""nats_jwt driven for real: in-process main() and ansible-playbook."""

from __future__ import annotations

import json
import os
import re
import stat
import time

import nkeys
import pytest
from ansible_collections.hardened.nats.plugins.module_utils import _nats_jwt as nj
from ansible_collections.hardened.nats.plugins.module_utils import _nats_keys as keys
from ansible_collections.hardened.nats.plugins.modules import nats_jwt


def _read(path):
    with open(path) as handle:
        return handle.read()


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


class Keys:
    """Seed files for one operator hierarchy, written as nats_nkey would."""

    def __init__(self, root):
        self.root = root
        self.pairs = {}

    def __call__(self, name, kind):
        if name not in self.pairs:
            pair = keys.generate(kind)
            path = self.root / f"{name}.nk"
            path.write_text(pair.seed + "\n")
            os.chmod(path, 0o600)
            self.pairs[name] = pair
        return str(self.root / f"{name}.nk")

    def public(self, name):
        return self.pairs[name].public_key


@pytest.fixture
def k(tmp_path):
    root = tmp_path / "keys"
    root.mkdir(mode=0o700)
    return Keys(root)


@pytest.fixture
def out(tmp_path):
    directory = tmp_path / "out"
    return lambda name: str(directory / name)


def _write_token(path, token):
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    with open(path, "w") as handle:
        handle.write(token + "\n")
    os.chmod(path, 0o600)


def _user_args(k, out, **extra):
    args = {
        "type": "user",
        "name": "alice",
        "path": out("alice.jwt"),
        "subject_seed_file": k("alice", "user"),
        "signer_seed_file": k("app", "account"),
    }
    args.update(extra)
    return args


def test_operator_account_user_chain(run_module, k, out):
    op = run_module(
        nats_jwt.main,
        {
            "type": "operator",
            "name": "OP",
            "path": out("op.jwt"),
            "subject_seed_file": k("op", "operator"),
            "signing_keys": [keys.generate("operator").public_key],
            "system_account": keys.read_seed_file(k("sys", "account")).public_key,
            "strict_signing_key_usage": True,
        },
    )
    assert op["changed"] is True
    claims = nj.decode(_read(out("op.jwt")))
    assert claims["iss"] == claims["sub"] == k.public("op")
    assert claims["nats"]["type"] == "operator" and claims["nats"]["strict_signing_key_usage"] is True
    assert claims["nats"]["system_account"] == k.public("sys")
    assert op["claims"] == claims and op["jwt"] == _read(out("op.jwt")).strip()

    acct = run_module(
        nats_jwt.main,
        {
            "type": "account",
            "name": "APP",
            "path": out("app.jwt"),
            "subject_seed_file": k("app", "account"),
            "signer_seed_file": k("op", "operator"),
            "limits": {"conn": 10, "mem_storage": -1, "disk_storage": 1 << 30},
            "exports": [{"subject": "orders.>", "type": "stream"}],
        },
    )
    assert acct["issuer"] == k.public("op") and acct["public_key"] == k.public("app")
    assert acct["claims"]["nats"]["limits"]["disk_storage"] == 1 << 30

    user = run_module(nats_jwt.main, _user_args(k, out, creds_path=out("alice.creds")))
    assert user["issuer"] == k.public("app") and user["public_key"] == k.public("alice")
    creds = _read(out("alice.creds"))
    assert creds == nj.format_creds(user["jwt"], k.pairs["alice"].seed)
    assert k.pairs["alice"].seed not in json.dumps(user)
    for name in ("op.jwt", "app.jwt", "alice.jwt", "alice.creds"):
        assert _mode(out(name)) == 0o600
    assert _mode(os.path.dirname(out("op.jwt"))) == 0o700


@pytest.mark.parametrize("kind", ["operator", "account", "user"])
def test_idempotent_rerun_keeps_file(run_module, k, out, kind):
    args = {
        "operator": {"type": "operator", "name": "OP", "path": out("x.jwt"), "subject_seed_file": k("op", "operator")},
        "account": {
            "type": "account",
            "name": "A",
            "path": out("x.jwt"),
            "subject_public_key": keys.generate("account").public_key,
            "signer_seed_file": k("op", "operator"),
            "tags": ["Prod"],
        },
        "user": _user_args(k, out, path=out("x.jwt"), creds_path=out("x.creds"), exp="30d"),
    }[kind]
    first = run_module(nats_jwt.main, args)
    assert first["changed"] is True and first["reissued"] == "no JWT file yet"
    stamps = {p: os.stat(p).st_mtime_ns for p in (out("x.jwt"), out("x.creds")) if os.path.exists(p)}
    time.sleep(1.1)  # a reissue would get another iat, so another token
    second = run_module(nats_jwt.main, args)
    assert second["changed"] is False and second["reissued"] is None
    assert second["jwt"] == first["jwt"]
    assert {p: os.stat(p).st_mtime_ns for p in stamps} == stamps


def test_changed_claims_reissue(run_module, k, out):
    first = run_module(nats_jwt.main, _user_args(k, out, permissions={"pub": {"allow": ["a.>"]}}))
    time.sleep(1.1)
    second = run_module(nats_jwt.main, _user_args(k, out, permissions={"pub": {"allow": ["b.>"]}}), diff=True)
    assert second["changed"] is True and second["reissued"] == "claims changed"
    assert second["jwt"] != first["jwt"]
    assert second["claims"]["nats"]["pub"] == {"allow": ["b.>"]}
    assert '"a.>"' in second["diff"]["before"] and '"b.>"' in second["diff"]["after"]
    assert k.pairs["app"].seed not in json.dumps(second)


def test_other_signer_reissues(run_module, k, out):
    run_module(nats_jwt.main, _user_args(k, out))
    other = run_module(nats_jwt.main, _user_args(k, out, signer_seed_file=k("app2", "account")))
    assert other["changed"] is True and other["reissued"] == "issuer changed"
    assert other["issuer"] == k.public("app2")


def test_tampered_file_reissues(run_module, k, out):
    first = run_module(nats_jwt.main, _user_args(k, out))
    header, payload, sig = first["jwt"].split(".")
    claims = json.loads(nj.b64url_decode(payload))
    claims["nats"]["pub"] = {"allow": [">"]}
    with open(out("alice.jwt"), "w") as handle:
        handle.write(f"{header}.{nj.b64url(nj.go_json(claims))}.{sig}\n")
    again = run_module(nats_jwt.main, _user_args(k, out))
    assert again["changed"] is True
    assert again["reissued"].startswith("the JWT file is invalid") and "does not verify" in again["reissued"]
    nj.decode(_read(out("alice.jwt")))


def test_expired_file_reissues(run_module, k, out):
    now = int(time.time())
    k("alice", "user")
    claims = nj.user_claims(k.public("alice"), "alice", exp=now - 10)
    token, _claims = nj.encode(claims, keys.read_seed_file(k("app", "account")), iat=now - 100)
    _write_token(out("alice.jwt"), token)
    # the same duration as the old token (90 s), but it has expired
    result = run_module(nats_jwt.main, _user_args(k, out, exp="90s"))
    assert result["changed"] is True and result["reissued"] == "expired"
    assert result["expires"] > now


def test_duration_exp_is_a_validity_period(run_module, k, out):
    now = int(time.time())
    k("alice", "user")
    signer = keys.read_seed_file(k("app", "account"))
    # a token issued 5 days ago for 10 days
    old = nj.user_claims(k.public("alice"), "alice", exp=now - 5 * 86400 + 10 * 86400)
    token, _claims = nj.encode(old, signer, iat=now - 5 * 86400)
    _write_token(out("alice.jwt"), token)
    kept = run_module(nats_jwt.main, _user_args(k, out, exp="10d"))
    assert kept["changed"] is False and kept["jwt"] == token, kept
    kept_too = run_module(nats_jwt.main, _user_args(k, out, exp="10d", renew_before="4d"))
    assert kept_too["changed"] is False
    renewed = run_module(nats_jwt.main, _user_args(k, out, exp="10d", renew_before="6d"))
    assert renewed["changed"] is True
    assert renewed["expires"] - renewed["claims"]["iat"] == 10 * 86400
    longer = run_module(nats_jwt.main, _user_args(k, out, exp="20d"))
    assert longer["changed"] is True and longer["expires"] - longer["claims"]["iat"] == 20 * 86400


def test_absolute_exp_formats(run_module, k, out):
    epoch = int(time.time()) + 3600
    iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))
    by_epoch = run_module(nats_jwt.main, _user_args(k, out, exp=epoch))
    assert by_epoch["expires"] == epoch
    by_iso = run_module(nats_jwt.main, _user_args(k, out, exp=iso))
    assert by_iso["changed"] is False and by_iso["expires"] == epoch


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"exp": int(time.time()) - 60}, "option exp: the expiry .* is not in the future"),
        ({"exp": "2001-01-01T00:00:00Z"}, "option exp: the expiry .* is not in the future"),
        ({"exp": "eventually"}, "option exp: 'eventually' is neither"),
        ({"exp": "30d", "renew_before": "30d"}, "option renew_before .* must be shorter"),
        ({"renew_before": "1d"}, "option renew_before needs a duration in exp"),
        ({"permissions": {"pub": {"allow": ["foo..bar"]}}}, "option permissions.pub.allow: invalid NATS subject"),
        ({"permissions": {"pub": {"deny": ["foo bar"]}}}, "option permissions.pub.deny: invalid NATS subject"),
        ({"permissions": {"sub": {"allow": ["foo.>.bar"]}}}, "option permissions.sub.allow: invalid NATS subject"),
        ({"permissions": {"sub": {"deny": ["fo*"]}}}, "option permissions.sub.deny: invalid NATS subject"),
        ({"permissions": {"resp": {"ttl": "soon"}}}, "option permissions.resp.ttl"),
        ({"system_account": "AXXX"}, "option system_account is for operator JWTs, not user JWTs"),
        ({"exports": [{"subject": "a", "type": "stream"}]}, "option exports is for account JWTs"),
        ({"signing_keys": [keys.generate("account").public_key]}, "option signing_keys is for operator and account"),
        ({"issuer_account": "not-a-key"}, "option issuer_account"),
        ({"limits": {"conn": 5}}, "option limits: unknown key"),
    ],
)
def test_user_refusals(run_module, k, out, extra, message):
    args = _user_args(k, out)
    args.update(extra)
    args = {key: value for key, value in args.items() if value is not None}
    result = run_module(nats_jwt.main, args)
    assert result["failed"] is True
    assert re.search(message, result["msg"]), result["msg"]
    assert not os.path.exists(out("alice.jwt"))
    for pair in k.pairs.values():
        assert pair.seed not in json.dumps(result)


@pytest.mark.parametrize(
    ("kind", "signer_kind", "message"),
    [
        (
            "user",
            "operator",
            "option signer_seed_file holds a operator seed, but a user JWT must be signed by an account",
        ),
        ("user", "user", "option signer_seed_file holds a user seed, but a user JWT must be signed by an account"),
        (
            "account",
            "account",
            "option signer_seed_file holds a account seed, but a account JWT must be signed by an op",
        ),
        (
            "account",
            "user",
            "option signer_seed_file holds a user seed, but a account JWT must be signed by an operator",
        ),
        ("operator", "account", "option signer_seed_file holds a account seed, but a operator JWT must be signed"),
    ],
)
def test_signer_of_wrong_type_is_refused(run_module, k, out, kind, signer_kind, message):
    subject_kind = {"user": "user", "account": "account", "operator": "operator"}[kind]
    args = {
        "type": kind,
        "name": "x",
        "path": out("x.jwt"),
        "subject_seed_file": k("subject", subject_kind),
        "signer_seed_file": k("signer", signer_kind),
    }
    result = run_module(nats_jwt.main, args)
    assert result["failed"] is True
    assert message in result["msg"], result["msg"]
    assert k.pairs["signer"].seed not in json.dumps(result)


def test_inline_signer_seed_is_no_log(run_module, k, out):
    seed = keys.generate("account").seed
    args = _user_args(k, out)
    del args["signer_seed_file"]
    args["signer_seed"] = seed
    result = run_module(nats_jwt.main, args)
    assert result["changed"] is True
    assert result["invocation"]["module_args"]["signer_seed"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
    assert seed not in json.dumps(result)
    bad = run_module(nats_jwt.main, dict(args, signer_seed=seed[:-4] + "AAAA"))
    assert bad["failed"] and bad["msg"].startswith("option signer_seed: not a valid NKey seed")
    assert seed[:-4] not in json.dumps(bad)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"subject_public_key": "UABC"}, "option subject_public_key"),
        ({"subject_seed_file": "KIND:account"}, "option subject_seed_file holds a account seed, but type is user"),
        ({"subject_seed_file": None}, "option subject_seed_file or subject_public_key is required"),
        ({"signer_seed_file": None}, "option signer_seed_file (or signer_seed) is required"),
        ({"creds_path": "CREDS", "subject_seed_file": None, "subject_public_key": "PUB"}, "needs subject_seed_file"),
    ],
)
def test_subject_refusals(run_module, k, out, args, message):
    base = _user_args(k, out)
    for key, value in args.items():
        if value == "KIND:account":
            value = k("wrong", "account")
        elif value == "CREDS":
            value = out("alice.creds")
        elif value == "PUB":
            value = keys.generate("user").public_key
        base[key] = value
    base = {key: value for key, value in base.items() if value is not None}
    result = run_module(nats_jwt.main, base)
    assert result["failed"] is True
    assert message in result["msg"], result["msg"]


def test_issuer_account_for_signing_key(run_module, k, out):
    k("app", "account")
    result = run_module(
        nats_jwt.main,
        _user_args(k, out, signer_seed_file=k("app_sk", "account"), issuer_account=k.public("app")),
    )
    assert result["issuer"] == k.public("app_sk")
    assert result["claims"]["nats"]["issuer_account"] == k.public("app")
    same = run_module(nats_jwt.main, _user_args(k, out, path=out("b.jwt"), issuer_account=k.public("app")))
    assert "issuer_account" not in same["claims"]["nats"]


def test_account_auth_callout_claims(run_module, k, out):
    xkey = keys.generate("xkey").public_key
    callout_user = keys.generate("user").public_key
    result = run_module(
        nats_jwt.main,
        {
            "type": "account",
            "name": "AUTH",
            "path": out("auth.jwt"),
            "subject_seed_file": k("auth", "account"),
            "signer_seed_file": k("op", "operator"),
            "authorization": {"auth_users": [callout_user], "allowed_accounts": ["*"], "xkey": xkey},
            "signing_keys": [keys.generate("account").public_key],
        },
    )
    assert result["claims"]["nats"]["authorization"] == {
        "auth_users": [callout_user],
        "allowed_accounts": ["*"],
        "xkey": xkey,
    }
    bad = run_module(
        nats_jwt.main,
        {
            "type": "account",
            "name": "AUTH",
            "path": out("auth2.jwt"),
            "subject_seed_file": k("auth", "account"),
            "signer_seed_file": k("op", "operator"),
            "authorization": {"auth_users": [callout_user], "xkey": callout_user},
        },
    )
    assert bad["failed"] and "option authorization.xkey" in bad["msg"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"exports": [{"subject": "a..b", "type": "stream"}]}, r"option exports\[0\].subject: invalid NATS subject"),
        ({"imports": [{"subject": "x y", "type": "service", "account": "A"}]}, r"option imports\[0\].subject"),
        ({"signing_keys": ["OXXX"]}, "option signing_keys"),
        ({"limits": {"streams": 3}}, "limits.streams is set but JetStream is off"),
        ({"limits": {"src": ["10.0.0.0/8"]}}, "limits: unknown key"),
        ({"exp": 1}, "option exp: the expiry 1"),
    ],
)
def test_account_refusals(run_module, k, out, extra, message):
    args = {
        "type": "account",
        "name": "A",
        "path": out("a.jwt"),
        "subject_seed_file": k("a", "account"),
        "signer_seed_file": k("op", "operator"),
    }
    args.update(extra)
    result = run_module(nats_jwt.main, args)
    assert result["failed"] is True
    assert re.search(message, result["msg"]), result["msg"]


def test_operator_must_be_self_signed(run_module, k, out):
    result = run_module(
        nats_jwt.main,
        {
            "type": "operator",
            "name": "OP",
            "path": out("op.jwt"),
            "subject_seed_file": k("op", "operator"),
            "signer_seed_file": k("op2", "operator"),
        },
    )
    assert result["failed"] and "self-signed" in result["msg"]


def test_check_mode_writes_nothing(run_module, k, out):
    args = _user_args(k, out, creds_path=out("alice.creds"))
    would = run_module(nats_jwt.main, args, check_mode=True)
    assert would["changed"] is True
    assert not os.path.exists(out("alice.jwt")) and not os.path.exists(out("alice.creds"))
    nj.decode(would["jwt"])
    real = run_module(nats_jwt.main, args)
    assert run_module(nats_jwt.main, args, check_mode=True)["changed"] is False
    os.unlink(out("alice.creds"))
    creds_only = run_module(nats_jwt.main, args, check_mode=True)
    assert creds_only["changed"] is True and creds_only["reissued"] is None
    assert not os.path.exists(out("alice.creds"))
    rewritten = run_module(nats_jwt.main, args)
    assert rewritten["changed"] is True and rewritten["jwt"] == real["jwt"]
    assert _read(out("alice.creds")) == nj.format_creds(real["jwt"], k.pairs["alice"].seed)


def test_loose_modes_are_fixed(run_module, k, out):
    args = _user_args(k, out, creds_path=out("alice.creds"))
    run_module(nats_jwt.main, args)
    os.chmod(out("alice.creds"), 0o644)
    fixed = run_module(nats_jwt.main, args)
    assert fixed["changed"] is True and fixed["reissued"] is None
    assert _mode(out("alice.creds")) == 0o600


def test_bearer_token_jwt_is_withheld_unless_no_log(run_module, k, out):
    hidden = run_module(nats_jwt.main, _user_args(k, out, bearer_token=True))
    assert "jwt" not in hidden and hidden["claims"]["nats"]["bearer_token"] is True
    shown = run_module(nats_jwt.main, _user_args(k, out, bearer_token=True), no_log=True)
    assert shown["jwt"] == _read(out("alice.jwt")).strip()


def test_allowed_connection_types_and_resp(run_module, k, out):
    result = run_module(
        nats_jwt.main,
        _user_args(
            k,
            out,
            allowed_connection_types=["STANDARD"],
            permissions={"sub": {"allow": ["jobs.* workers"]}, "resp": {"max": 5, "ttl": "30s"}},
        ),
    )
    nats = result["claims"]["nats"]
    assert nats["allowed_connection_types"] == ["STANDARD"]
    assert nats["resp"] == {"max": 5, "ttl": 30 * 10**9}
    assert nats["sub"] == {"allow": ["jobs.* workers"]}
    bad = run_module(nats_jwt.main, _user_args(k, out, allowed_connection_types=["TELEPATHY"]))
    assert bad["failed"] and "allowed_connection_types" in bad["msg"]


def test_token_verifies_with_nkeys_package(run_module, k, out):
    result = run_module(nats_jwt.main, _user_args(k, out))
    header, payload, signature = result["jwt"].split(".")
    verifier = nkeys.from_seed(k.pairs["app"].seed.encode())
    assert verifier.verify(f"{header}.{payload}".encode(), nj.b64url_decode(signature))


def test_via_ansible_playbook(ansible_playbook, tmp_path):
    d = tmp_path / "pb"
    report = tmp_path / "report.json"
    playbook = f"""
- hosts: localhost
  gather_facts: false
  vars:
    d: {d}
  tasks:
    - {{name: op key, hardened.nats.nats_nkey: {{path: "{{{{ d }}}}/op.nk", type: operator}}, register: op}}
    - {{name: app key, hardened.nats.nats_nkey: {{path: "{{{{ d }}}}/app.nk", type: account}}, register: app}}
    - {{name: user key, hardened.nats.nats_nkey: {{path: "{{{{ d }}}}/u.nk", type: user}}, register: u}}
    - name: account
      hardened.nats.nats_jwt:
        type: account
        name: APP
        path: "{{{{ d }}}}/app.jwt"
        subject_public_key: "{{{{ app.public_key }}}}"
        signer_seed_file: "{{{{ d }}}}/op.nk"
      register: acct
    - name: user
      hardened.nats.nats_jwt:
        type: user
        name: u
        path: "{{{{ d }}}}/u.jwt"
        creds_path: "{{{{ d }}}}/u.creds"
        subject_seed_file: "{{{{ d }}}}/u.nk"
        signer_seed_file: "{{{{ d }}}}/app.nk"
        exp: 1d
        permissions: {{pub: {{allow: ["a.>"]}}}}
      register: user
    - name: bad subject
      hardened.nats.nats_jwt:
        type: user
        name: u
        path: "{{{{ d }}}}/bad.jwt"
        subject_seed_file: "{{{{ d }}}}/u.nk"
        signer_seed_file: "{{{{ d }}}}/app.nk"
        permissions: {{pub: {{allow: ["a..b"]}}}}
      register: bad
      failed_when: false
    - name: report
      ansible.builtin.copy:
        dest: {report}
        mode: "0600"
        content: "{{{{ {{'acct': acct.changed, 'user': user.changed, 'bad': bad.msg,
                   'acct_iss': acct.issuer, 'op': op.public_key}} | to_json }}}}"
"""
    first = ansible_playbook(playbook)
    assert first.returncode == 0, first.stdout + first.stderr
    result = json.loads(report.read_text())
    assert result["acct"] is True and result["user"] is True
    assert result["acct_iss"] == result["op"]
    assert "option permissions.pub.allow: invalid NATS subject" in result["bad"]
    second = ansible_playbook(playbook)
    assert second.returncode == 0, second.stdout + second.stderr
    again = json.loads(report.read_text())
    assert again["acct"] is False and again["user"] is False
    seed = (d / "u.nk").read_text().strip()
    assert seed not in first.stdout + first.stderr + second.stdout + second.stderr
