"""Make ``ansible_collections.hardened.nats`` importable from this checkout, and tests/nats_test_helpers.py."""

import os
import sys

ROOT = os.path.dirname(os.path.abspath(__file__))
COLLECTIONS = os.path.join(ROOT, ".collections")
LINK = os.path.join(COLLECTIONS, "ansible_collections", "hardened", "nats")

if not os.path.islink(LINK):
    os.makedirs(os.path.dirname(LINK), exist_ok=True)
    os.symlink(os.path.relpath(ROOT, os.path.dirname(LINK)), LINK)
for path in (COLLECTIONS, os.path.join(ROOT, "tests")):
    if path not in sys.path:
        sys.path.insert(0, path)
