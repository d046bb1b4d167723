# Shared by scripts/demo and scripts/test: harness, venv and collection link.
# shellcheck shell=bash
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$ROOT/scripts/harness.sh"
eval "$("$ROOT/scripts/harness.sh" env)"
"$ROOT/scripts/link-collection.sh"
export ANSIBLE_CONFIG=$ROOT/ansible.cfg
cd "$ROOT"

# start_host NAME HOSTNAME [NETWORK]: a systemd Debian 12 container of the stack image.
start_host() {
  local name=$1 hostname=$2
  if [ "$(docker inspect -f '{{.State.Running}}' "$name" 2>/dev/null)" != true ]; then
    docker rm -f "$name" >/dev/null 2>&1 || true
    docker run -d --name "$name" --hostname "$hostname" --privileged --cgroupns=host \
      --tmpfs /run --tmpfs /run/lock --tmpfs /tmp -v /sys/fs/cgroup:/sys/fs/cgroup:rw \
      --stop-signal SIGRTMIN+3 local/debian12:rewind /sbin/init >/dev/null
  fi
  for _ in $(seq 50); do
    case $(docker exec "$name" systemctl is-system-running 2>/dev/null) in
      running|degraded) return 0 ;;
    esac
    sleep 0.2
  done
  echo "container $name did not boot" >&2
  return 1
}
