# shellcheck shell=bash
# Sourced by the scripts: the project's tools and podman settings.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PATH="$root/.venv/bin:$PATH"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$root/scripts/podman/containers.conf}"
export NATS_TEST_IMAGE="${NATS_TEST_IMAGE:-$(bash "$root/scripts/testhosts.sh" name)}"
export ANSIBLE_CONFIG="$root/ansible.cfg"
