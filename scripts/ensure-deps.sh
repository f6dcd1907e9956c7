#!/usr/bin/env bash
# Installs what redis-fleet needs on a fresh Debian 12 + Node 20 machine, idempotently:
#   ensure-deps.sh npm        npm dependencies (npm ci when node_modules is missing or stale)
#   ensure-deps.sh build      npm + TypeScript build into dist/
#   ensure-deps.sh servers    + the Debian packages the test bed runs (as root only)
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-build}

need_servers() {
  local pkgs=() bin
  declare -A by_bin=(
    [redis-server]=redis-server [redis-sentinel]=redis-sentinel [nutcracker]=nutcracker
    [influxd]=influxdb [prometheus-redis-exporter]=prometheus-redis-exporter
    [prometheus-alertmanager]=prometheus-alertmanager [amtool]=prometheus-alertmanager [chromium]=chromium
    [victoria-metrics]=victoria-metrics [openssl]=openssl
  )
  for bin in "${!by_bin[@]}"; do command -v "$bin" >/dev/null 2>&1 || pkgs+=("${by_bin[$bin]}"); done
  [ -e /usr/share/zookeeper/bin/zkServer.sh ] || pkgs+=(zookeeper)
  compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null || pkgs+=(postgresql)
  if [ ${#pkgs[@]} -eq 0 ]; then return 0; fi
  if [ "$(id -u)" != 0 ]; then
    echo "redis-fleet: missing Debian packages: ${pkgs[*]} (run as root, or: sudo apt-get install ${pkgs[*]})" >&2
    return 1
  fi
  # Deduplicate (one package can provide several binaries).
  mapfile -t pkgs < <(printf '%s\n' "${pkgs[@]}" | sort -u)
  echo "redis-fleet: installing Debian packages (apt, once; a few minutes on a fresh machine): ${pkgs[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  local t0=$SECONDS
  echo "redis-fleet: apt-get update" >&2
  apt-get update -qq >/dev/null
  echo "redis-fleet: apt-get install ${#pkgs[@]} packages" >&2
  apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
  echo "redis-fleet: Debian packages installed in $((SECONDS - t0)) s" >&2
  # The packages start their own services; the test bed runs its own instances instead.
  for svc in redis-server redis-sentinel nutcracker influxdb zookeeper prometheus-redis-exporter prometheus-alertmanager postgresql victoria-metrics; do
    systemctl stop "$svc" >/dev/null 2>&1 || service "$svc" stop >/dev/null 2>&1 || true
  done
}

need_npm() {
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "redis-fleet: installing npm dependencies" >&2
    npm ci --no-audit --no-fund --loglevel=error >&2
  fi
  # better-sqlite3 is a native addon: make sure it loads on this Node.
  node -e "new (require('better-sqlite3'))(':memory:').close()" 2>/dev/null || npm rebuild better-sqlite3 >&2
}

need_build() {
  echo "redis-fleet: building (tsc)" >&2
  npx tsc -p tsconfig.json
}

case "$what" in
  npm) need_npm ;;
  build) need_npm; need_build ;;
  servers) need_servers; need_npm; need_build ;;
  *) echo "usage: ensure-deps.sh npm|build|servers" >&2; exit 64 ;;
esac
