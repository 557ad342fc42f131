#!/usr/bin/env bash
# Every test: lint, unit and integration tests, and every molecule scenario on
# real systemd hosts, in a matrix of passes. Exits non-zero on any failure, and
# when no test ran.
#   scripts/test.sh                                  everything (what CI runs)
#   SCENARIOS="cluster audit" scripts/test.sh        only those scenarios, in every pass
#   MATRIX="trixie:installed" scripts/test.sh        only that pass
#   MATRIX="bookworm:source trixie:installed:cluster,rolling" scripts/test.sh
# A pass is SUITE:COLLECTION[:SCENARIO,...]:
#   SUITE       Debian suite of the test hosts: bookworm (Debian 12) or trixie
#               (Debian 13); scripts/testhosts.sh builds the image when missing.
#               NATS_TEST_IMAGE, when set, is used for every pass instead.
#   COLLECTION  where hardened.nats comes from: source (this checkout) or
#               installed (the tarball, built and installed offline into a fresh
#               collections path by scripts/collection.sh); the scenario proves
#               which one it resolved (molecule/shared/prepare.yml).
#   SCENARIO    the pass's scenarios; default molecule/scenarios.txt (SCENARIOS
#               overrides both).
# Default MATRIX: Debian 12 from the source tree, Debian 13 from the installed
# tarball. JUnit files are build/test-results/molecule-SUITE-COLLECTION-SCENARIO.xml.
set -euo pipefail
cd "$(dirname "$0")/.."
user_image=${NATS_TEST_IMAGE:-}
matrix=${MATRIX:-bookworm:source trixie:installed}
bash scripts/setup.sh
source scripts/env.sh

results=build/test-results
rm -rf "$results"; mkdir -p "$results"
status=0
timings=()
step() { echo; echo "=== $*"; }

step "lint: yamllint"
yamllint -s . || status=1
step "lint: ruff"
ruff check . && ruff format --check . || status=1
step "lint: ansible-lint (production profile)"
ansible-lint --profile production || status=1

step "sanity: ansible-test sanity"
SANITY_JUNIT_DIR="$results" bash scripts/sanity.sh || status=1

step "unit and integration tests (pytest)"
pytest -p no:cacheprovider --junit-xml="$results/pytest.xml" tests || status=1

default_scenarios=$(grep -v '^#' molecule/scenarios.txt | grep -v '^$')
installed_ready=""
for pass in $matrix; do
  IFS=: read -r suite collection only <<<"$pass"
  case "$collection" in
    source) ;;
    installed)
      if [ -z "$installed_ready" ]; then
        step "collection: build the tarball, install it offline into a fresh collections path"
        if bash scripts/collection.sh; then installed_ready=yes; else installed_ready=failed; fi
      fi
      if [ "$installed_ready" != yes ]; then status=1; continue; fi ;;
    *) echo "test.sh: pass $pass: COLLECTION must be source or installed" >&2; status=1; continue ;;
  esac
  export NATS_TEST_SUITE="$suite" NATS_TEST_COLLECTION="$collection" NATS_TEST_PASS="$suite-$collection"
  step "pass $NATS_TEST_PASS: test hosts"
  start=$SECONDS
  if ! NATS_TEST_IMAGE="$user_image" bash scripts/testhosts.sh image; then status=1; continue; fi
  NATS_TEST_IMAGE=$(NATS_TEST_IMAGE="$user_image" bash scripts/testhosts.sh name)
  export NATS_TEST_IMAGE
  timings+=("$NATS_TEST_PASS image: $((SECONDS - start)) s")
  scenarios=${SCENARIOS:-${only:+${only//,/ }}}
  for s in ${scenarios:-$default_scenarios}; do
    step "pass $NATS_TEST_PASS: molecule scenario $s ($NATS_TEST_IMAGE)"
    start=$SECONDS
    result=passed
    molecule test -s "$s" --destroy=always || { status=1; result=FAILED; }
    timings+=("$NATS_TEST_PASS $s: $((SECONDS - start)) s, $result")
  done
done

step "timings"
printf '  %s\n' "${timings[@]}" | tee "$results/timings.txt"
step "summary"
python3 scripts/junit-summary.py "$results" || status=1
exit "$status"
