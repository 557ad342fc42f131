#!/usr/bin/env bash
# Set up a fresh Debian 12 machine (as root) for this project: Debian packages,
# the pinned Python tools in .venv, the collection link, the test-host image
# and the offline release mirror. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

need_apt=()
for pair in python3-venv:python3 git:git tar:tar; do
  cmd=${pair#*:}; pkg=${pair%%:*}
  command -v "$cmd" >/dev/null 2>&1 || need_apt+=("$pkg")
done
python3 -c 'import venv, ensurepip' 2>/dev/null || need_apt+=(python3-venv)
if [ "${#need_apt[@]}" -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
bash scripts/testhosts.sh deps

stamp=.venv/.requirements.sha256
want=$(cat requirements.txt requirements-dev.txt | sha256sum | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing Python tools into .venv"
  python3 -m venv .venv
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -r requirements-dev.txt
  echo "$want" > "$stamp"
fi

# hardened.nats resolves to this checkout (ansible.cfg: collections_path), and so
# does the scenarios' source mode (NATS_TEST_COLLECTION=source, .config/molecule).
mkdir -p .collections/ansible_collections/hardened build/collections/source/ansible_collections/hardened
ln -sfn ../../.. .collections/ansible_collections/hardened/nats
ln -sfn ../../../../.. build/collections/source/ansible_collections/hardened/nats

bash scripts/testhosts.sh image
.venv/bin/python scripts/release-mirror.py >/dev/null
echo "setup: ready ($root)"
