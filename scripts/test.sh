#!/usr/bin/env bash
# Every test: lint, unit and integration tests, and every molecule scenario on
# real systemd hosts. Exits non-zero on any failure, and when no test ran.
#   scripts/test.sh                 everything
#   SCENARIOS="cluster audit" scripts/test.sh    only those molecule scenarios
# The scenarios run by default are listed in molecule/scenarios.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/env.sh

results=build/test-results
rm -rf "$results"; mkdir -p "$results"
status=0
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

scenarios=${SCENARIOS:-$(grep -v '^#' molecule/scenarios.txt | grep -v '^$')}
for s in $scenarios; do
  step "molecule scenario $s"
  molecule test -s "$s" --destroy=always || status=1
done

step "summary"
python3 scripts/junit-summary.py "$results" || status=1
exit "$status"
