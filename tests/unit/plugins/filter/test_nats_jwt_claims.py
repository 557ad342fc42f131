import pytest
from ansible_collections.hardened.nats.plugins.filter.nats_jwt_claims import nats_jwt_claims
from ansible_collections.hardened.nats.plugins.module_utils import _nats_jwt as nj
from ansible_collections.hardened.nats.plugins.module_utils import _nats_keys as keys


def test_claims_of_a_real_account_jwt():
    operator = keys.generate("operator")
    account = keys.generate("account")
    token, claims = nj.encode(nj.account_claims(account.public_key, "APP"), operator)
    decoded = nats_jwt_claims(token)
    assert decoded == claims
    assert decoded["sub"] == account.public_key
    assert decoded["iss"] == operator.public_key
    assert decoded["nats"]["type"] == "account"
    # surrounding whitespace (a JWT read from a file) is ignored
    assert nats_jwt_claims(f"\n{token}\n") == claims


@pytest.mark.parametrize(
    "value",
    [None, 42, "", "abc", "a.b", "a..c", "a.!!!.c", "eyJ0eXAiOiJKV1QifQ.WzEsMl0.c2ln", "x.bm90IGpzb24.y", "a.b.c.d"],
)
def test_not_a_jwt_gives_an_empty_dict(value):
    assert nats_jwt_claims(value) == {}
