# Copyright: hardened.nats contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""bcrypt hashes for nats-server, with a controller-side store that makes reruns cheap.

PRIVATE to the hardened.nats collection: no API promise, may change at any time.

Store layout (directory 0700, every file 0600)::

    STORE/hashes.json     {"version": 1, "entries": {NAME: {"hash": "$2a$...", "verifier": HEX}}}
    STORE/verifier.key    32 random bytes (hex), written on first use, unless store_key is given
    STORE/.lock           flock(2) target serialising writers

verifier = HMAC-SHA256(K, "hardened.nats.bcrypt.v1" | NAME | SECRET | HASH), every field
length-prefixed. A rerun whose verifier matches returns the stored hash without any
bcrypt work. Binding NAME keeps equal secrets of two users from showing as equal
verifiers; binding HASH means a hash edited in the store no longer matches and is
replaced. See docs/modules.md for the threat discussion.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import struct
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.hardened.nats.plugins.module_utils import _nats_files as files

try:
    import bcrypt

    HAS_BCRYPT = True
    BCRYPT_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - exercised only without bcrypt
    HAS_BCRYPT = False
    BCRYPT_IMPORT_ERROR = exc

MIN_COST = 10
MAX_COST = 31
MAX_SECRET_BYTES = 72
STORE_VERSION = 1
HASHES_FILE = "hashes.json"
KEY_FILE = "verifier.key"
LOCK_FILE = ".lock"
_DOMAIN = b"hardened.nats.bcrypt.v1"
_HASH_RE = re.compile(r"^\$2a\$(\d{2})\$[./A-Za-z0-9]{53}$")


class BcryptError(ValueError):
    """Invalid input or store. Messages name the option and never contain a secret."""


def check_cost(cost, option="cost"):
    if isinstance(cost, bool) or not isinstance(cost, int):
        raise BcryptError(f"option {option} must be an integer")
    if cost < MIN_COST:
        raise BcryptError(
            f"option {option} is {cost}; refusing a bcrypt cost below {MIN_COST} (nats-server's own tool uses 11)"
        )
    if cost > MAX_COST:
        raise BcryptError(f"option {option} is {cost}; bcrypt allows at most {MAX_COST}")
    return cost


def check_secret(secret, option):
    """Return the secret as UTF-8 bytes, or raise naming the option (never showing the secret)."""
    if secret is None or not isinstance(secret, str):
        raise BcryptError(f"option {option} must be a string")
    if secret == "":
        raise BcryptError(f"option {option} is empty; refusing to hash an empty password or token")
    data = secret.encode("utf-8")
    if len(data) > MAX_SECRET_BYTES:
        raise BcryptError(
            f"option {option} is {len(data)} bytes long; bcrypt uses at most {MAX_SECRET_BYTES} bytes (UTF-8) "
            "and nats-server refuses longer ones"
        )
    if b"\x00" in data:
        raise BcryptError(f"option {option} contains a NUL byte, which bcrypt cannot hash")
    return data


def check_name(name, option="name"):
    if not isinstance(name, str) or name == "":
        raise BcryptError(f"option {option} must be a non-empty string")
    return name


def hash_cost(hashed):
    match = _HASH_RE.match(hashed or "")
    return int(match.group(1)) if match else None


def bcrypt_2a(secret_bytes, cost):
    """bcrypt hash with the $2a$ prefix that nats-server's config parser special-cases.

    $2a$ and $2b$ differ only for secrets over 255 bytes (a wrap-around bug in old
    OpenBSD code); secrets here are at most 72 bytes, so relabelling is exact.
    """
    if not HAS_BCRYPT:
        raise BcryptError(f"the bcrypt library is required: {BCRYPT_IMPORT_ERROR}")
    hashed = bcrypt.hashpw(secret_bytes, bcrypt.gensalt(rounds=cost)).decode("ascii")
    if hashed.startswith(("$2b$", "$2y$")):
        hashed = "$2a$" + hashed[4:]
    return hashed


def hash_many(items, cost, workers=None):
    """items: {name: secret bytes} -> {name: $2a$ hash}. bcrypt releases the GIL: threads use every core."""
    names = list(items)
    if not names:
        return {}
    workers = max(1, min(workers or os.cpu_count() or 1, len(names)))
    if workers == 1:
        return {name: bcrypt_2a(items[name], cost) for name in names}
    with ThreadPoolExecutor(max_workers=workers) as pool:
        hashes = list(pool.map(lambda n: bcrypt_2a(items[n], cost), names))
    return dict(zip(names, hashes, strict=True))


def _field(data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    return struct.pack(">I", len(data)) + data


def make_verifier(key, name, secret_bytes, hashed):
    message = _field(_DOMAIN) + _field(name) + _field(secret_bytes) + _field(hashed)
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def derive_key(store_key):
    """A verifier key from a user-supplied secret (e.g. from Ansible Vault)."""
    return hashlib.sha256(b"hardened.nats.bcrypt.store-key\x00" + store_key.encode("utf-8")).digest()


class Store:
    """The controller-side store. Use inside files.locked(store.lock_path) when writing."""

    def __init__(self, path, store_key=None):
        self.path = os.path.abspath(os.path.expanduser(path))
        self.hashes_path = os.path.join(self.path, HASHES_FILE)
        self.key_path = os.path.join(self.path, KEY_FILE)
        self.lock_path = os.path.join(self.path, LOCK_FILE)
        self._store_key = store_key
        self.key = None
        self.key_is_new = False
        self.entries = {}

    def exists(self):
        return os.path.isdir(self.path)

    def load(self):
        """Read entries and the verifier key (a fresh random key if none is stored yet)."""
        raw = files.read_bytes(self.hashes_path)
        if raw is not None:
            try:
                data = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                raise BcryptError(
                    f"the store file {self.hashes_path} is not valid JSON; move it away to rebuild the store"
                )
            if (
                not isinstance(data, dict)
                or data.get("version") != STORE_VERSION
                or not isinstance(data.get("entries"), dict)
            ):
                raise BcryptError(
                    f"the store file {self.hashes_path} has an unknown layout (expected version {STORE_VERSION})"
                )
            self.entries = data["entries"]
        if self._store_key:
            self.key = derive_key(self._store_key)
            return
        raw_key = files.read_bytes(self.key_path)
        if raw_key is None:
            self.key = os.urandom(32)
            self.key_is_new = True
            return
        try:
            self.key = bytes.fromhex(raw_key.decode("ascii").strip())
        except (UnicodeDecodeError, ValueError):
            raise BcryptError(f"the verifier key {self.key_path} is malformed; delete it to start a new store key")
        if len(self.key) != 32:
            raise BcryptError(f"the verifier key {self.key_path} must hold 32 bytes")

    def lookup(self, name, secret_bytes, cost):
        """The stored hash if it was made from this secret at this cost, else None."""
        entry = self.entries.get(name)
        if not isinstance(entry, dict):
            return None
        hashed, verifier = entry.get("hash"), entry.get("verifier")
        if not isinstance(hashed, str) or not isinstance(verifier, str) or hash_cost(hashed) != cost:
            return None
        expected = make_verifier(self.key, name, secret_bytes, hashed)
        return hashed if hmac.compare_digest(expected, verifier) else None

    def put(self, name, secret_bytes, hashed):
        self.entries[name] = {"hash": hashed, "verifier": make_verifier(self.key, name, secret_bytes, hashed)}

    def loose_modes(self):
        """Paths of the store (directory, files) whose mode is not 0700/0600."""
        loose = []
        if os.path.isdir(self.path) and files.file_mode(self.path) != files.DIR_MODE:
            loose.append(self.path)
        for path in (self.hashes_path, self.key_path, self.lock_path):
            if os.path.exists(path) and files.file_mode(path) != files.FILE_MODE:
                loose.append(path)
        return loose

    def save(self):
        """Write the store: directory 0700, files 0600, atomic replace."""
        files.ensure_dir(self.path)
        files.fix_mode(self.path, files.DIR_MODE)
        for path in (self.lock_path, self.key_path):
            if os.path.exists(path):
                files.fix_mode(path, files.FILE_MODE)
        if self.key_is_new and not self._store_key:
            files.write_private(self.key_path, self.key.hex() + "\n")
            self.key_is_new = False
        body = {"version": STORE_VERSION, "entries": {k: self.entries[k] for k in sorted(self.entries)}}
        files.write_private(self.hashes_path, json.dumps(body, indent=1, sort_keys=True) + "\n")
