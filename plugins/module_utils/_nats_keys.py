# Copyright: hardened.nats contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""NKey handling for the hardened.nats modules.

PRIVATE to the hardened.nats collection: no API promise, may change at any time.

An NKey is an ed25519 key pair (or, for the ``curve``/``xkey`` type, an x25519 key
pair) printed as RFC 4648 base32 without padding:

* public key: one prefix byte, the 32-byte public key, a CRC-16 (little endian);
* seed: two bytes holding ``S`` and the type prefix, the 32-byte private seed,
  a CRC-16 (little endian).

The CRC is CRC-16/XMODEM (polynomial 0x1021, initial value 0), as in
github.com/nats-io/nkeys. The PyPI ``nkeys`` package has no curve support and does
not check the seed checksum, so the encoding is implemented here; ed25519 and
x25519 come from PyNaCl.

Error messages raised from here never contain a seed.
"""

from __future__ import annotations

import base64
import binascii
import os

try:
    import nacl.exceptions
    import nacl.public
    import nacl.signing

    HAS_NACL = True
    NACL_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - exercised only without PyNaCl
    HAS_NACL = False
    NACL_IMPORT_ERROR = exc

PREFIX_SEED = 18 << 3  # 'S'
PREFIX_PRIVATE = 15 << 3  # 'P'

# type name -> prefix byte of the public key
PREFIXES = {
    "operator": 14 << 3,  # 'O'
    "account": 0,  # 'A'
    "user": 20 << 3,  # 'U'
    "server": 13 << 3,  # 'N'
    "cluster": 2 << 3,  # 'C'
    "curve": 23 << 3,  # 'X'
}
TYPE_BY_PREFIX = {v: k for k, v in PREFIXES.items()}
# letters as printed: public key starts with LETTER, seed with 'S' + LETTER
LETTERS = {"operator": "O", "account": "A", "user": "U", "server": "N", "cluster": "C", "curve": "X"}
TYPE_BY_LETTER = {v: k for k, v in LETTERS.items()}
TYPE_ALIASES = {"xkey": "curve"}

PUBLIC_KEY_LENGTH = 56
SEED_LENGTH = 58


class NKeyError(ValueError):
    """A key is malformed or of the wrong type. The message never holds a seed."""


def normalize_type(kind):
    kind = TYPE_ALIASES.get(kind, kind)
    if kind not in PREFIXES:
        raise NKeyError("unknown key type {!r}, expected one of {}".format(kind, ", ".join(sorted(PREFIXES))))
    return kind


def crc16(data):
    """CRC-16/XMODEM as used by nkeys."""
    crc = 0
    for byte in bytearray(data):
        crc ^= byte << 8
        for _bit in range(8):
            if crc & 0x8000:
                crc = ((crc << 1) ^ 0x1021) & 0xFFFF
            else:
                crc = (crc << 1) & 0xFFFF
    return crc


def _b32encode(raw):
    return base64.b32encode(raw).decode("ascii").rstrip("=")


def _b32decode(text):
    if not isinstance(text, str):
        text = text.decode("ascii", "replace")
    padded = text + "=" * (-len(text) % 8)
    try:
        return base64.b32decode(padded)
    except (binascii.Error, ValueError):
        raise NKeyError("not valid base32")


def _with_crc(raw):
    return raw + crc16(raw).to_bytes(2, "little")


def _check_crc(raw):
    if len(raw) < 3:
        raise NKeyError("too short")
    body, crc = raw[:-2], raw[-2:]
    if crc16(body).to_bytes(2, "little") != crc:
        raise NKeyError("checksum mismatch")
    return body


def encode_public(kind, raw_public):
    kind = normalize_type(kind)
    if len(raw_public) != 32:
        raise NKeyError("a public key is 32 bytes")
    return _b32encode(_with_crc(bytes([PREFIXES[kind]]) + bytes(raw_public)))


def decode_public(text, expected=None):
    """Return (type, raw 32 bytes) of an encoded public key; check the type if expected is given."""
    if not isinstance(text, str) or len(text) != PUBLIC_KEY_LENGTH:
        raise NKeyError(f"a public NKey is {PUBLIC_KEY_LENGTH} characters long")
    body = _check_crc(_b32decode(text))
    if len(body) != 33 or body[0] not in TYPE_BY_PREFIX:
        raise NKeyError("unknown public key prefix")
    kind = TYPE_BY_PREFIX[body[0]]
    if expected is not None:
        allowed = [normalize_type(k) for k in ([expected] if isinstance(expected, str) else expected)]
        if kind not in allowed:
            raise NKeyError("is a {} public key, expected {}".format(kind, " or ".join(allowed)))
    return kind, bytes(body[1:])


def is_public_key(text, kind=None):
    try:
        decode_public(text, kind)
    except NKeyError:
        return False
    return True


def encode_seed(kind, raw_seed):
    kind = normalize_type(kind)
    if len(raw_seed) != 32:
        raise NKeyError("a seed is 32 bytes")
    prefix = PREFIXES[kind]
    header = bytes([PREFIX_SEED | (prefix >> 5), (prefix & 31) << 3])
    return _b32encode(_with_crc(header + bytes(raw_seed)))


def decode_seed(text):
    """Return (type, raw 32-byte seed). Raise NKeyError saying what is wrong, never echoing the seed."""
    if isinstance(text, bytes):
        text = text.decode("ascii", "replace")
    if not isinstance(text, str):
        raise NKeyError("a seed must be a string")
    text = text.strip()
    if not text.startswith("S"):
        raise NKeyError("does not start with 'S', so it is not an NKey seed")
    if len(text) != SEED_LENGTH:
        raise NKeyError(f"an NKey seed is {SEED_LENGTH} characters long, this one has {len(text)}")
    raw = _b32decode(text)
    if _b32encode(raw) != text:
        raise NKeyError("not canonical base32 (stray bits in the last character)")
    body = _check_crc(raw)
    if len(body) != 34 or (body[0] & 0xF8) != PREFIX_SEED:
        raise NKeyError("malformed seed header")
    prefix = ((body[0] & 0x07) << 5) | ((body[1] & 0xF8) >> 3)
    if prefix not in TYPE_BY_PREFIX:
        raise NKeyError("unknown seed type prefix")
    return TYPE_BY_PREFIX[prefix], bytes(body[2:])


def seed_type_hint(text):
    """Best-effort type of a seed-looking string from its second letter (for messages only)."""
    if isinstance(text, str) and len(text) > 1 and text[0] == "S":
        return TYPE_BY_LETTER.get(text[1])
    return None


class KeyPair:
    """An NKey pair built from a seed. ``seed`` is the encoded seed string."""

    def __init__(self, kind, raw_seed):
        if not HAS_NACL:
            raise NKeyError(f"the PyNaCl library is required: {NACL_IMPORT_ERROR}")
        self.kind = normalize_type(kind)
        self._raw_seed = bytes(raw_seed)
        if self.kind == "curve":
            self._private = nacl.public.PrivateKey(self._raw_seed)
            raw_public = bytes(self._private.public_key)
            self._signing = None
        else:
            self._signing = nacl.signing.SigningKey(self._raw_seed)
            raw_public = bytes(self._signing.verify_key)
        self.raw_public = raw_public
        self.public_key = encode_public(self.kind, raw_public)

    def __repr__(self):  # never show the seed
        return f"KeyPair({self.kind}, {self.public_key})"

    @property
    def seed(self):
        return encode_seed(self.kind, self._raw_seed)

    def sign(self, data):
        if self._signing is None:
            raise NKeyError("a curve (xkey) key cannot sign")
        return self._signing.sign(bytes(data)).signature


def from_seed(text, expected=None):
    kind, raw = decode_seed(text)
    if expected is not None:
        allowed = [normalize_type(k) for k in ([expected] if isinstance(expected, str) else expected)]
        if kind not in allowed:
            raise NKeyError("is a {} seed, expected a {} seed".format(kind, " or ".join(allowed)))
    return KeyPair(kind, raw)


def generate(kind):
    return KeyPair(normalize_type(kind), os.urandom(32))


def verify(public_key, data, signature):
    """True if signature over data is valid for the encoded (non-curve) public key."""
    if not HAS_NACL:
        raise NKeyError(f"the PyNaCl library is required: {NACL_IMPORT_ERROR}")
    kind, raw = decode_public(public_key)
    if kind == "curve":
        return False
    try:
        nacl.signing.VerifyKey(raw).verify(bytes(data), bytes(signature))
    except (nacl.exceptions.BadSignatureError, ValueError):
        return False
    return True


def read_seed_file(path, expected=None):
    """Load a seed file (first non-empty line that looks like a seed, or a creds file's seed).

    Raises NKeyError with a message that names the file but never shows its content.
    """
    try:
        with open(path, "rb") as handle:
            content = handle.read()
    except OSError as exc:
        raise NKeyError(f"cannot read seed file {path}: {exc.strerror or exc}")
    try:
        text = content.decode("ascii")
    except UnicodeDecodeError:
        raise NKeyError(f"seed file {path} is not ASCII text, so it holds no NKey seed")
    candidates = [line.strip() for line in text.splitlines() if line.strip().startswith("S")]
    if not candidates:
        raise NKeyError(f"seed file {path} holds no NKey seed (no line starts with 'S')")
    try:
        return from_seed(candidates[0], expected)
    except NKeyError as exc:
        raise NKeyError(f"seed file {path}: {exc}")
