#!/usr/bin/env bash
# rewind test-host harness: real systemd-managed Debian 12 hosts for molecule on a
# machine whose PID 1 is not systemd and that reaches no image registry.
#
#   scripts/harness.sh            set up (idempotent; a cached re-run takes seconds)
#   scripts/harness.sh env        print the exports to use the harness (eval it)
#
# What it does, each step skipped when already done:
#   1. apt: docker.io, debootstrap, jq, iptables (Debian's packages)
#   2. dockerd started by hand, with a runc wrapper as default runtime that drops
#      CAP_SYS_RESOURCE (the VM's bounding set lacks it, so --privileged fails)
#   3. local/debian12:base from debootstrap, using the host's own apt mirror
#   4. local/debian12:rewind, the stack image (Apache+mod_php, nginx, php-fpm, MariaDB
#      + mariadb-backup + mydumper, redis, WordPress, Node, Python venv, zstd, pigz)
#   5. a venv with the pinned requirements-dev.txt (molecule, ansible, testinfra …)
#
# State lives in $REWIND_HARNESS_DIR (default /var/lib/rewind-harness), outside the
# checkout, so clones share the images and the venv.
set -euo pipefail

H=${REWIND_HARNESS_DIR:-/var/lib/rewind-harness}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export DOCKER_HOST=unix://$H/docker.sock DEBIAN_FRONTEND=noninteractive
VENV=$H/venv
BASE_IMAGE=local/debian12:base
STACK_IMAGE=local/debian12:rewind

if [ "${1:-}" = env ]; then
  echo "export DOCKER_HOST=$DOCKER_HOST"
  echo "export PATH=$VENV/bin:\$PATH"
  echo "export VIRTUAL_ENV=$VENV"
  exit 0
fi

mkdir -p "$H/bin" "$H/img/ca"
ts() { echo "[harness $(date +%T) +${SECONDS}s] $*"; }

if ! command -v dockerd >/dev/null || ! command -v debootstrap >/dev/null || ! command -v jq >/dev/null \
   || ! command -v iptables >/dev/null || ! command -v runc >/dev/null; then
  ts "apt: docker.io debootstrap jq iptables"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends docker.io debootstrap jq iptables >/dev/null
fi

cat > "$H/bin/runc-nosysres.new" <<'EOF'
#!/bin/sh
# Drop CAP_SYS_RESOURCE from each OCI spec: the VM's bounding set lacks it.
prev=""
for a in "$@"; do
  f=""
  case "$prev" in --bundle|-b) f="$a/config.json";; --process|-p) f="$a";; esac
  case "$a" in --bundle=*) f="${a#--bundle=}/config.json";; --process=*) f="${a#--process=}";; esac
  if [ -n "$f" ] && [ -f "$f" ]; then
    jq '(if .process then .process else . end).capabilities |= (if . then with_entries(.value |= map(select(. != "CAP_SYS_RESOURCE"))) else . end)' "$f" > "$f.tmp" && mv "$f.tmp" "$f"
  fi
  prev="$a"
done
exec "$(command -v runc || echo /usr/sbin/runc)" "$@"
EOF
chmod 0755 "$H/bin/runc-nosysres.new"
mv "$H/bin/runc-nosysres.new" "$H/bin/runc-nosysres"

if ! docker info >/dev/null 2>&1; then
  ts "start dockerd"
  nohup dockerd --data-root "$H/docker" --exec-root "$H/exec" --pidfile "$H/dockerd.pid" \
    -H "$DOCKER_HOST" --storage-driver overlay2 \
    --add-runtime runc-nosysres="$H/bin/runc-nosysres" --default-runtime runc-nosysres \
    >"$H/dockerd.log" 2>&1 &
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null || { tail -20 "$H/dockerd.log"; exit 1; }
fi

# The venv installs in the background while the images build.
req_sum=$(cat "$ROOT/requirements.txt" "$ROOT/requirements-dev.txt" | sha256sum | cut -c1-16)
PIPPID=""
if [ "$(cat "$VENV/.rewind-req" 2>/dev/null)" != "$req_sum" ]; then
  ts "venv (background)"
  (
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q -U pip
    "$VENV/bin/pip" install -q -r "$ROOT/requirements-dev.txt" -e "$ROOT"
    echo "$req_sum" > "$VENV/.rewind-req"
  ) > "$H/pip.log" 2>&1 &
  PIPPID=$!
fi

if ! docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
  ts "debootstrap (about a minute)"
  rm -rf "$H/rootfs"
  # The host's own Debian mirror, as its apt is configured; never a hard-coded host.
  MIRROR=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  [ -n "$MIRROR" ] || MIRROR=$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list)
  debootstrap --variant=minbase \
    --include=systemd,systemd-sysv,dbus,python3,python3-apt,sudo,iproute2,procps,ca-certificates \
    bookworm "$H/rootfs" "$MIRROR" > "$H/debootstrap.log"
  cp -a /etc/apt/sources.list.d/debian.sources "$H/rootfs/etc/apt/sources.list.d/" 2>/dev/null \
    || cp /etc/apt/sources.list "$H/rootfs/etc/apt/sources.list"
  rm -rf "$H"/rootfs/var/cache/apt/archives/*.deb "$H"/rootfs/var/cache/apt/*.bin "$H"/rootfs/var/lib/apt/lists/*
  touch -d @0 "$H/rootfs/var/lib/apt/lists"
  ts "docker import"
  tar -C "$H/rootfs" -c . | docker import -c 'CMD ["/sbin/init"]' -c 'ENV container=docker' - "$BASE_IMAGE" >/dev/null
  rm -rf "$H/rootfs"
fi

# Stack image: packages pre-installed, services disabled (the tests start them).
# The host CA bundle is the LAST layer: HTTPS egress is intercepted by a per-boot CA,
# so only that cheap layer is rebuilt when it changes.
rm -f "$H"/img/ca/*
cp /usr/local/share/ca-certificates/*.crt "$H/img/ca/" 2>/dev/null || true
cp "$ROOT/scripts/harness.Dockerfile" "$H/img/Dockerfile"
ts "docker build $STACK_IMAGE"
DOCKER_BUILDKIT=0 docker build -q -t "$STACK_IMAGE" "$H/img" >/dev/null

if [ -n "$PIPPID" ]; then
  ts "wait for venv"
  wait "$PIPPID" || { tail -30 "$H/pip.log"; exit 1; }
fi
# The rewind CLI is installed editable from the checkout that ran this last: point it
# at this one (a CI clone, another work tree) when that differs.
if [ "$(cat "$VENV/.rewind-root" 2>/dev/null)" != "$ROOT" ]; then
  ts "venv: rewind CLI from $ROOT"
  "$VENV/bin/pip" install -q --no-deps -e "$ROOT" > "$H/pip-editable.log" 2>&1 || { tail "$H/pip-editable.log"; exit 1; }
  echo "$ROOT" > "$VENV/.rewind-root"
fi
ts "ready: eval \"\$(scripts/harness.sh env)\""
