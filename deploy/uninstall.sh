#!/usr/bin/env bash
# Removes what deploy/install.sh added. Configs (/etc/redis-fleet) and state (/var/lib/redis-fleet)
# are kept unless --purge, which also removes the redis-fleet user (real root only).
#
#   deploy/uninstall.sh [--root DIR] [--prefix /opt/redis-fleet] [--purge]
set -euo pipefail

ROOT=${DESTDIR:-}
PREFIX=/opt/redis-fleet
PURGE=0
USER_NAME=redis-fleet
while [ $# -gt 0 ]; do
  case "$1" in
    --root) ROOT=$2; shift 2 ;;
    --root=*) ROOT=${1#--root=}; shift ;;
    --prefix) PREFIX=$2; shift 2 ;;
    --prefix=*) PREFIX=${1#--prefix=}; shift ;;
    --purge) PURGE=1; shift ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    *) echo "uninstall.sh: unknown argument $1" >&2; exit 64 ;;
  esac
done
ROOT=${ROOT%/}
REAL_ROOT=0; [ -z "$ROOT" ] && REAL_ROOT=1
if [ $REAL_ROOT = 1 ] && [ "$(id -u)" != 0 ]; then echo "uninstall.sh: run as root (or give --root DIR)" >&2; exit 77; fi
case "$PREFIX" in /?*) ;; *) echo "uninstall.sh: --prefix must be an absolute path other than /" >&2; exit 64 ;; esac

UNITS=$ROOT/etc/systemd/system
if [ $REAL_ROOT = 1 ] && [ -d /run/systemd/system ]; then
  for u in redis-fleet-agent redis-fleet-collector; do
    systemctl disable --now "$u.service" >/dev/null 2>&1 || true
  done
fi
rm -f "$UNITS/redis-fleet-agent.service" "$UNITS/redis-fleet-collector.service"
for r in redis-server.service redis-server@.service redis@.service; do
  rm -f "$UNITS/$r.d/redis-fleet.conf"
  rmdir "$UNITS/$r.d" 2>/dev/null || true      # only if nothing else is in it
done
rm -f "$ROOT/usr/local/bin/redis-fleet" "$ROOT/usr/local/bin/redis-fleet-agent" "$ROOT/usr/local/bin/redis-fleet-collector"
rm -rf "$ROOT$PREFIX"
if [ $PURGE = 1 ]; then
  rm -rf "$ROOT/etc/redis-fleet" "$ROOT/var/lib/redis-fleet" "$ROOT/run/redis-fleet"
  if [ $REAL_ROOT = 1 ] && getent passwd "$USER_NAME" >/dev/null; then userdel "$USER_NAME" || true; fi
fi
if [ $REAL_ROOT = 1 ] && [ -d /run/systemd/system ]; then systemctl daemon-reload; fi
echo "uninstall.sh: removed redis-fleet from ${ROOT:-/}$([ $PURGE = 1 ] && echo ' (purged configs, state and user)' || echo ' (kept /etc/redis-fleet and /var/lib/redis-fleet)')"
