#!/usr/bin/env bash
# The main job on an embedded default: three local podman hosts (real systemd),
# then `ansible-playbook site.yml` against them, then each node's routes and how
# to connect. Run again to converge again (idempotent); `scripts/demo.sh down`
# removes the hosts.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null
source scripts/env.sh

net=hardened-nats-demo
hosts=(nats1 nats2 nats3)
demo=build/demo
mkdir -p "$demo"; chmod 0700 "$demo"

if [ "${1:-}" = "down" ]; then
  for h in "${hosts[@]}"; do podman rm -f "demo-$h" >/dev/null 2>&1 || true; done
  podman network rm "$net" >/dev/null 2>&1 || true
  echo "demo: hosts removed"; exit 0
fi

podman network exists "$net" || podman network create "$net" >/dev/null
for h in "${hosts[@]}"; do
  if ! podman container exists "demo-$h"; then
    podman run -d --name "demo-$h" --hostname "demo-$h" --network "$net" --systemd=always \
      "$NATS_TEST_IMAGE" /sbin/init >/dev/null
  fi
  podman start "demo-$h" >/dev/null
done

# Secrets for the demo, made once, kept 0600 beside the inventory.
secrets="$demo/secrets.yml"
if [ ! -f "$secrets" ]; then
  umask 077
  rp=$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')
  up=$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')
  printf -- '---\nnats_server_route_password: "%s"\ndemo_user_password: "%s"\n' "$rp" "$up" > "$secrets"
fi

mirror="$root/build/mirror"
cat > "$demo/inventory.yml" <<INV
---
# Three local podman hosts made by scripts/demo.sh.
nats_servers:
  hosts:
    demo-nats1:
    demo-nats2:
    demo-nats3:
  vars:
    ansible_connection: containers.podman.podman
    ansible_python_interpreter: /usr/bin/python3
    # No internet here: the release archive comes from a local mirror of the
    # pinned release, through the same download-and-verify path.
    nats_server_archive_url: "file://$mirror/v{{ nats_server_version }}/nats-server-v{{ nats_server_version }}-linux-{{ nats_server_arch }}.tar.gz"
    nats_server_checksums_url: "file://$mirror/v{{ nats_server_version }}/SHA256SUMS"
    nats_server_users:
      - name: demo
        password: "{{ demo_user_password }}"
INV

for h in "${hosts[@]}"; do
  podman exec "demo-$h" systemctl is-system-running --wait >/dev/null 2>&1 || true
done
ANSIBLE_COLLECTIONS_PATH="$root/.collections:$root/.venv/lib/python3.11/site-packages" \
  ansible-playbook -i "$demo/inventory.yml" -e "@$secrets" site.yml

echo
echo "=== the cluster"
for h in "${hosts[@]}"; do
  ip=$(podman inspect "demo-$h" --format '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}')
  routes=$(podman exec "demo-$h" python3 -c '
import json, urllib.request
r = json.load(urllib.request.urlopen("http://127.0.0.1:8222/routez"))
v = json.load(urllib.request.urlopen("http://127.0.0.1:8222/varz"))
peers = sorted({x["remote_name"] for x in r.get("routes") or []})
print(v["version"], "auth_required=%s" % v.get("auth_required", False), "routes to:", ", ".join(peers) or "none")')
  echo "demo-$h  $ip:4222  nats-server $routes"
done
echo
echo "Connect (the password is demo_user_password in $secrets):"
echo "  nats://demo:<password>@<address above>:4222"
echo "  e.g. $root/.venv/bin/python -c \"import asyncio, nats; asyncio.run(nats.connect('nats://demo:PASSWORD@$ip:4222'))\""
echo "Anonymous clients are refused. Remove the hosts with: scripts/demo.sh down"
