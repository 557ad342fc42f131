#!/usr/bin/env bash
# ansible-test sanity on the collection, for the Python of .venv (3.11), with no
# network but PyPI. Exits non-zero on any failure. Safe to run again: the sanity
# test environments stay cached in ~/.ansible/test/venv (ansible-test's cache).
#   scripts/sanity.sh                   every sanity test
#   scripts/sanity.sh --test pylint     extra arguments go to ansible-test sanity
#   SANITY_JUNIT_DIR=DIR scripts/sanity.sh   also copy the JUnit results to DIR
#                                            (relative to the repository root)
#
# The collection is tested as a copy of the files git tracks (as they are in
# the working tree; a new file counts once it is staged) under
# build/sanity/ansible_collections/hardened/nats: ansible-test wants the
# collection at .../ansible_collections/NAMESPACE/NAME and takes the real path
# of the working directory, so the .collections symlink to this checkout does
# not do. A copy of the git files (rather than the built tarball) tests
# everything in the repository, tests/ and scripts/ included, as collection CI
# does on its checkout; the tarball leaves tests/ out.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/ansible-test ] || bash scripts/setup.sh
source scripts/env.sh

# The shellcheck sanity test is skipped, not failed, when shellcheck is missing.
if ! command -v shellcheck >/dev/null 2>&1; then
  echo "sanity: installing shellcheck"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq shellcheck >/dev/null
fi

# ansible-test puts pip into each new sanity environment with a get-pip script
# it would download from outside the package registries; ours does the same
# from ensurepip and PyPI (scripts/ansible-test-get-pip.py says why and how).
py_version=$(python -c 'import sys; print("%d.%d" % sys.version_info[:2])')
pip_version=$(python -c "
import types
from ansible_test._internal.python_requirements import get_venv_packages
print(get_venv_packages(types.SimpleNamespace(version='$py_version'))['pip'])")
cache=$HOME/.ansible/test/cache
get_pip=$cache/get_pip_${pip_version//./_}.py
mkdir -p "$cache"
if ! cmp -s scripts/ansible-test-get-pip.py "$get_pip"; then
  if [ -e "$get_pip" ] && ! grep -q '^# hardened.nats: offline stand-in' "$get_pip"; then
    echo "sanity: using the get-pip script already in $get_pip"
  else
    cp scripts/ansible-test-get-pip.py "$get_pip.$$"
    mv "$get_pip.$$" "$get_pip"
  fi
fi

tree=build/sanity/ansible_collections/hardened/nats
rm -rf "$tree"
mkdir -p "$tree"
git ls-files -z --cached |
  while IFS= read -r -d '' f; do if [ -e "$f" ]; then printf '%s\0' "$f"; fi; done |
  tar --null -T - -cf - | tar -xf - -C "$tree"
# A repository of its own (nothing committed): ansible-test looks for version
# control from the collection upwards and would otherwise find this checkout,
# where build/ is ignored, and see no file to test.
git init -q "$tree"

# A sanity test that cannot run (a missing program, a disabled test) is only a
# warning to ansible-test; here it fails the run.
log=build/sanity/sanity.log
set +e
(cd "$tree" && ansible-test sanity --python "$py_version" --color no --junit "$@") 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
if [ "$status" -eq 0 ] && grep -E '^WARNING: (Required program|Skipping)' "$log"; then
  echo "sanity: a sanity test did not run (see the warning above)" >&2
  status=1
fi
if [ -n "${SANITY_JUNIT_DIR:-}" ]; then
  mkdir -p "$SANITY_JUNIT_DIR"
  for f in "$tree"/tests/output/junit/*.xml; do
    if [ -e "$f" ]; then cp "$f" "$SANITY_JUNIT_DIR/"; fi
  done
fi
if [ "$status" -eq 0 ]; then
  echo "sanity: passed"
else
  echo "sanity: FAILED (exit $status)" >&2
fi
exit "$status"
