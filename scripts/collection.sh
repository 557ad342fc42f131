#!/usr/bin/env bash
# Build the collection tarball and install it, offline, into a fresh collections
# path, for the scenarios' installed mode (NATS_TEST_COLLECTION=installed):
#   build/dist/hardened-nats-VERSION.tar.gz
#   build/collections/installed/ansible_collections/hardened/nats
# Its dependencies (community.crypto) resolve offline from the collections the
# pinned `ansible` bundle carries. Fails when the installed copy does not verify
# against the tarball's manifest (tests/unit/test_packaging.py checks what the
# tarball holds).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

dist=build/dist
dest=build/collections/installed
rm -rf "$dist" "$dest"
mkdir -p "$dist" "$dest"
ansible-galaxy collection build --output-path "$dist" . >/dev/null
tarball=$(echo "$dist"/hardened-nats-*.tar.gz)
[ -f "$tarball" ] || { echo "collection: no tarball in $dist" >&2; exit 1; }
# Only the fresh path is configured, so nothing else can satisfy the request
# ("already installed") and the checkout is not on any collections path.
export ANSIBLE_COLLECTIONS_PATH="$PWD/$dest"
ansible-galaxy collection install --offline -p "$dest" "$tarball" >/dev/null
if [ ! -f "$dest/ansible_collections/hardened/nats/MANIFEST.json" ] || [ -L "$dest/ansible_collections/hardened/nats" ]; then
  echo "collection: $dest does not hold an installed copy" >&2
  exit 1
fi
ansible-galaxy collection verify --offline hardened.nats >/dev/null
echo "collection: $tarball installed into $dest and verified against its manifest"
