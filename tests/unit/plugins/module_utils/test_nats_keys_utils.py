"""NKey encoding: cross-checked against the PyPI nkeys package and PyNaCl."""

from __future__ import annotations

import base64
import os

import nacl.public
import nacl.signing
import nkeys
import pytest
from ansible_collections.hardened.nats.plugins.module_utils import _nats_keys as keys

ED25519_TYPES = {
    "operator": (nkeys.PREFIX_BYTE_OPERATOR, "O"),
    "account": (nkeys.PREFIX_BYTE_ACCOUNT, "A"),
    "user": (nkeys.PREFIX_BYTE_USER, "U"),
    "server": (nkeys.PREFIX_BYTE_SERVER, "N"),
    "cluster": (nkeys.PREFIX_BYTE_CLUSTER, "C"),
}


def test_crc16_is_xmodem():
    # CRC-16/XMODEM check value
    assert keys.crc16(b"123456789") == 0x31C3
    assert keys.crc16(b"") == 0


@pytest.mark.parametrize("kind", sorted(ED25519_TYPES))
def test_seed_encoding_matches_nkeys_package(kind):
    prefix, letter = ED25519_TYPES[kind]
    raw = os.urandom(32)
    ours = keys.encode_seed(kind, raw)
    assert ours == nkeys.encode_seed(raw, prefix).decode()
    assert ours.startswith("S" + letter)
    assert len(ours) == keys.SEED_LENGTH
    assert keys.decode_seed(ours) == (kind, raw)


@pytest.mark.parametrize("kind", sorted(ED25519_TYPES))
def test_public_key_and_signature_match_nkeys_package(kind):
    pair = keys.generate(kind)
    theirs = nkeys.from_seed(pair.seed.encode())
    assert pair.public_key == theirs.public_key.decode()
    assert pair.public_key.startswith(ED25519_TYPES[kind][1])
    assert len(pair.public_key) == keys.PUBLIC_KEY_LENGTH
    message = b"hardened.nats"
    signature = pair.sign(message)
    assert theirs.verify(message, signature)
    assert keys.verify(pair.public_key, message, signature)
    assert not keys.verify(pair.public_key, message + b"!", signature)
    assert keys.decode_public(pair.public_key, kind)[0] == kind


@pytest.mark.parametrize("alias", ["curve", "xkey"])
def test_curve_keys(alias):
    pair = keys.generate(alias)
    assert pair.kind == "curve"
    assert pair.seed.startswith("SX")
    assert pair.public_key.startswith("X")
    kind, raw_seed = keys.decode_seed(pair.seed)
    assert kind == "curve"
    assert keys.decode_public(pair.public_key, "curve")[1] == bytes(nacl.public.PrivateKey(raw_seed).public_key)
    # it is a working x25519 pair: a box to it opens with it
    other = nacl.public.PrivateKey.generate()
    boxed = nacl.public.Box(other, nacl.public.PublicKey(keys.decode_public(pair.public_key)[1])).encrypt(b"m")
    assert nacl.public.Box(nacl.public.PrivateKey(raw_seed), other.public_key).decrypt(boxed) == b"m"
    with pytest.raises(keys.NKeyError, match="cannot sign"):
        pair.sign(b"x")


def _flip_char(text, index):
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    return text[:index] + alphabet[(alphabet.index(text[index]) + 1) % 32] + text[index + 1 :]


SEED = keys.encode_seed("user", bytes(range(32)))
PUBLIC = keys.KeyPair("user", bytes(range(32))).public_key


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (SEED[:-1], "58 characters long, this one has 57"),
        (SEED + "A", "58 characters long"),
        (_flip_char(SEED, 20), "checksum mismatch"),
        (_flip_char(SEED, 57), "not canonical base32"),
        (SEED[:10] + "1" + SEED[11:], "not valid base32"),
        (PUBLIC, "does not start with 'S'"),
        ("", "does not start with 'S'"),
        ("P" + SEED[1:], "does not start with 'S'"),
    ],
)
def test_malformed_seed_is_refused_without_echoing_it(text, message):
    with pytest.raises(keys.NKeyError, match=message) as exc:
        keys.decode_seed(text)
    if len(text) > 8:
        assert text not in str(exc.value)
        assert text[2:20] not in str(exc.value)


def test_seed_with_unknown_type_prefix():
    raw = bytes([keys.PREFIX_SEED | (1 >> 5), (1 & 31) << 3]) + bytes(32)
    text = base64.b32encode(raw + keys.crc16(raw).to_bytes(2, "little")).decode().rstrip("=")
    with pytest.raises(keys.NKeyError, match="unknown seed type prefix"):
        keys.decode_seed(text)


@pytest.mark.parametrize(("expected", "ok"), [("user", True), ("account", False), (["account", "user"], True)])
def test_from_seed_checks_type(expected, ok):
    if ok:
        assert keys.from_seed(SEED, expected).public_key == PUBLIC
    else:
        with pytest.raises(keys.NKeyError, match="is a user seed, expected a account seed"):
            keys.from_seed(SEED, expected)


@pytest.mark.parametrize(
    ("text", "expected", "message"),
    [
        (PUBLIC, "account", "is a user public key, expected account"),
        (PUBLIC[:-1], None, "56 characters long"),
        (_flip_char(PUBLIC, 30), None, "checksum mismatch"),
        (SEED[:56], None, "unknown public key prefix|checksum mismatch"),
    ],
)
def test_bad_public_keys(text, expected, message):
    with pytest.raises(keys.NKeyError, match=message):
        keys.decode_public(text, expected)
    assert not keys.is_public_key(text, expected)


def test_read_seed_file_plain_and_creds(tmp_path):
    plain = tmp_path / "u.nk"
    plain.write_text(SEED + "\n")
    assert keys.read_seed_file(str(plain)).public_key == PUBLIC
    creds = tmp_path / "u.creds"
    creds.write_text("-----BEGIN NATS USER JWT-----\neyJ0.eyJ1.c2ln\n------END NATS USER JWT------\n\n" + SEED + "\n")
    assert keys.read_seed_file(str(creds), "user").public_key == PUBLIC


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "holds no NKey seed"),
        (b"\xff\xfe binary", "not ASCII text"),
        ((SEED[:-1] + "\n").encode(), "58 characters long"),
    ],
)
def test_read_seed_file_refusals(tmp_path, content, message):
    path = tmp_path / "bad.nk"
    path.write_bytes(content)
    with pytest.raises(keys.NKeyError, match=message) as exc:
        keys.read_seed_file(str(path))
    assert str(path) in str(exc.value)
    assert SEED[:-1] not in str(exc.value)


def test_read_seed_file_missing(tmp_path):
    with pytest.raises(keys.NKeyError, match="cannot read seed file"):
        keys.read_seed_file(str(tmp_path / "missing.nk"))


def test_keypair_repr_hides_seed():
    pair = keys.from_seed(SEED)
    assert SEED not in repr(pair)
    assert PUBLIC in repr(pair)


def test_verify_refuses_curve_and_bad_signature():
    curve = keys.generate("curve")
    assert keys.verify(curve.public_key, b"x", b"\0" * 64) is False
    signer = nacl.signing.SigningKey.generate()
    public = keys.encode_public("user", bytes(signer.verify_key))
    assert keys.verify(public, b"x", signer.sign(b"x").signature)
    assert keys.verify(public, b"x", b"short") is False
