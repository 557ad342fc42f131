#!/usr/bin/env bash
# Real systemd test hosts: podman + runc containers booting /sbin/init.
#   scripts/testhosts.sh deps    install podman, runc, debootstrap (Debian packages)
#   scripts/testhosts.sh image   build the Debian systemd image when it is missing
#   scripts/testhosts.sh name    print the image name
# Override the image with NATS_TEST_IMAGE (any image whose /sbin/init is systemd);
# NATS_TEST_SUITE picks the Debian suite of the built image (default bookworm).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export CONTAINERS_CONF="${CONTAINERS_CONF:-$here/podman/containers.conf}"
suite="${NATS_TEST_SUITE:-bookworm}"
# Bump rev when the package list changes, so existing hosts images are rebuilt.
rev=2
packages=systemd,systemd-sysv,dbus,python3,python3-apt,sudo,iproute2,procps,ca-certificates
image="${NATS_TEST_IMAGE:-localhost/hardened-nats-testhost:$suite-r$rev}"

deps() {
  local missing=()
  for cmd in podman runc debootstrap; do
    command -v "$cmd" >/dev/null 2>&1 || missing+=("$cmd")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "testhosts: installing ${missing[*]} from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq podman runc debootstrap uidmap slirp4netns >/dev/null
  fi
}

image() {
  if podman image exists "$image"; then
    echo "testhosts: image $image present"
    return 0
  fi
  case "$image" in
    localhost/hardened-nats-testhost:*) ;;
    *) echo "testhosts: image $image (NATS_TEST_IMAGE) is not present; podman load or build it first" >&2
       exit 1 ;;
  esac
  local root
  root=$(mktemp -d /var/tmp/hardened-nats-rootfs.XXXXXX)
  trap 'rm -rf "$root"' RETURN
  echo "testhosts: debootstrap $suite into $root (about a minute)"
  debootstrap --variant=minbase \
    --include="$packages" \
    "$suite" "$root" http://deb.debian.org/debian >/dev/null
  # A container needs no getty, no udev triggers and no network configuration.
  chroot "$root" systemctl mask getty@tty1.service console-getty.service \
    systemd-udevd.service systemd-udev-trigger.service systemd-networkd-wait-online.service >/dev/null 2>&1 || true
  tar -C "$root" -c . | podman import --change 'CMD ["/sbin/init"]' - "$image" >/dev/null
  echo "testhosts: built $image"
}

case "${1:-}" in
  name) echo "$image" ;;
  deps) deps ;;
  image) deps; image ;;
  *) echo "usage: $0 name|deps|image" >&2; exit 2 ;;
esac
