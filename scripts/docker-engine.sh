#!/usr/bin/env bash
# Start or stop a private Docker engine for the docker test tier (CI machines run none).
# Host networking only: no bridge, no iptables. Everything lives under .cache/docker.
#   scripts/docker-engine.sh start   # prints the DOCKER_HOST to use
#   scripts/docker-engine.sh stop
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)/.cache/docker"
sock="unix://$root/docker.sock"

start() {
  if [ -S "$root/docker.sock" ] && DOCKER_HOST="$sock" /usr/bin/docker info >/dev/null 2>&1; then
    echo "$sock"; return
  fi
  { command -v dockerd && command -v docker-compose && command -v mmdebstrap; } >/dev/null || {
    echo "installing docker.io, docker-compose, mmdebstrap" >&2
    apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
      docker.io docker-compose mmdebstrap >&2
  }
  mkdir -p "$root"
  local driver
  for driver in overlay2 vfs; do
    dockerd --bridge=none --iptables=false --ip6tables=false --storage-driver="$driver" \
      --host "$sock" --data-root "$root/data" --exec-root "$root/exec" \
      --pidfile "$root/docker.pid" >"$root/dockerd.log" 2>&1 &
    for _ in $(seq 1 60); do
      if DOCKER_HOST="$sock" /usr/bin/docker info >/dev/null 2>&1; then
        echo "docker engine up ($driver)" >&2; echo "$sock"; return
      fi
      kill -0 $! 2>/dev/null || break
      sleep 0.5
    done
    kill "$!" 2>/dev/null || true; wait "$!" 2>/dev/null || true
    echo "dockerd with $driver failed, see $root/dockerd.log" >&2
  done
  return 1
}

stop() {
  [ -f "$root/docker.pid" ] || return 0
  local pid; pid=$(cat "$root/docker.pid")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  umount "$root/exec/netns/default" 2>/dev/null || true
  rm -f "$root/docker.pid" "$root/docker.sock"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
