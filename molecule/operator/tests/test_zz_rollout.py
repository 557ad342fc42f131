"""Runs last (it changes the cluster): operator-mode changes roll out as they must.

A new account JWT is a reload: every node gets it with its PID unchanged, and a user
of the new account then connects on every node. Switching the resolver from full to
memory is restart-only (restart-settings.json): every node restarts (new PID) and the
cluster still takes creds.
"""

import json
import os
import re

import natstest
from ansible_collections.hardened.nats.plugins.module_utils import _nats_jwt as nj
from ansible_collections.hardened.nats.plugins.module_utils import _nats_keys as keys
from test_operator import JWT_DIR, NODES, creds, host, read, refusal


def _pids():
    return {n: host(n).check_output("systemctl show -p MainPID --value nats-server") for n in NODES}


def _site(operator, tmp_path):
    varsfile = tmp_path / "extra.json"
    varsfile.write_text(json.dumps({"nats_server_operator": operator}))
    varsfile.chmod(0o600)
    result = natstest.ansible_playbook("hardened.nats.site", "-e", f"@{varsfile}")
    out = " ".join((result.stdout + result.stderr).split())
    assert result.returncode == 0, out[-3000:]
    recap = re.findall(r"(operator-nats\d) : ok=\d+ changed=(\d+) unreachable=0 failed=(\d+)", out)
    assert sorted(r[0] for r in recap) == sorted(NODES), out[-3000:]
    return out


def _extra_account(tmp_path):
    """An account signed by the operator signing key, and a user of it (creds file).

    The operator has strict signing key usage, so the user is signed by an account
    signing key (with issuer_account), not by the account identity key.
    """
    operator_sk = keys.from_seed(read("operator-sk.nk"))
    account = keys.generate("account")
    account_sk = keys.generate("account")
    user = keys.generate("user")
    account_jwt, _claims = nj.encode(
        nj.account_claims(account.public_key, "EXTRA", signing_keys=[account_sk.public_key]), operator_sk
    )
    user_jwt, _claims = nj.encode(
        nj.user_claims(user.public_key, "carol", issuer_account=account.public_key), account_sk
    )
    path = tmp_path / "carol.creds"
    path.write_text(nj.format_creds(user_jwt, user.seed))
    path.chmod(0o600)
    return account_jwt, str(path)


def test_new_account_is_reloaded_and_resolver_change_restarts(tmp_path):
    operator = {"jwt": read("operator.jwt"), "resolver": "full", "accounts": [read("sys.jwt"), read("app.jwt")]}
    account_jwt, carol = _extra_account(tmp_path)
    for n in NODES:
        err = refusal(n, user_credentials=carol)
        assert err and "authorization violation" in err, err
    digests = {n: natstest.monitor(host(n), "/varz")["config_digest"] for n in NODES}
    pids = _pids()

    _site({**operator, "accounts": operator["accounts"] + [account_jwt]}, tmp_path)
    assert _pids() == pids, "a new account JWT must be reloaded, not restarted"
    for n in NODES:
        assert natstest.monitor(host(n), "/varz")["config_digest"] != digests[n]
        assert refusal(n, user_credentials=carol) is None
        assert refusal(n, user_credentials=creds("alice")) is None

    _site({**operator, "resolver": "memory", "accounts": operator["accounts"] + [account_jwt]}, tmp_path)
    after = _pids()
    assert all(after[n] != pids[n] for n in NODES), (pids, after)
    for n in NODES:
        assert "resolver: MEMORY" in host(n).file("/etc/nats-server/operator.conf").content_string
        assert refusal(n, user_credentials=creds("alice")) is None
        assert refusal(n, user_credentials=carol) is None
        assert natstest.route_names(host(n)) == sorted(m for m in NODES if m != n)
    assert os.path.isdir(JWT_DIR)
