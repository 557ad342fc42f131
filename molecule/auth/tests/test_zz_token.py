"""Token authentication, checked last: the cluster is converged again with a token alone.

nats-server takes a token only without users and accounts, so this rerun replaces the
scenario's users (the scenario is destroyed after verify). It also proves that moving
between authentication methods goes through the rollout without losing the mesh.
"""

import json
import os

import natstest
import testinfra
import testinfra.utils.ansible_runner

RUNNER = testinfra.utils.ansible_runner.AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"])
NODES = RUNNER.get_hosts("nats_servers")
TOKEN = "molecule-token-0123456789abcdef"


def host(name):
    return testinfra.get_host(f"ansible://{name}?ansible_inventory={os.environ['MOLECULE_INVENTORY_FILE']}")


def test_token_alone(tmp_path):
    from test_auth import refusal
    from test_host import find_on_host

    varsfile = tmp_path / "token.json"
    varsfile.write_text(
        json.dumps(
            {
                "nats_server_users": [],
                "nats_server_nkey_users": [],
                "nats_server_accounts": {},
                "nats_server_system_account": "",
                "nats_server_token": TOKEN,
            }
        )
    )
    varsfile.chmod(0o600)
    result = natstest.ansible_playbook("hardened.nats.site", "-e", f"@{varsfile}")
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    assert TOKEN not in out

    for name in NODES:
        assert refusal(name, token=TOKEN) is None, name
        err = refusal(name, token="wrong-token")
        assert err and "authorization violation" in err, err
        err = refusal(name)
        assert err and "authorization violation" in err, err
        assert natstest.route_names(host(name)) == sorted(n for n in NODES if n != name)
        conf = host(name).file("/etc/nats-server/nats-server.conf").content_string
        assert 'token: "$2a$11$' in conf
        assert find_on_host(host(name), [TOKEN]) == []
    # the users of the earlier tests are gone with the token config
    err = refusal(NODES[0], user="app", password="app-secret-pass")
    assert err and "authorization violation" in err, err
