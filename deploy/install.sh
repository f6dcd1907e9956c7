#!/usr/bin/env bash
# Installs redis-fleet (a built checkout: dist/ + node_modules/ + package.json) on a Debian host,
# idempotently: running it twice leaves the same files, modes and contents.
#
#   deploy/install.sh [--root DIR] [--prefix /opt/redis-fleet] [--node /usr/bin/node]
#                     [--enable agent|collector]...
#                     [--tls-generate [--tls-name NAME]... [--tls-agent HOST]...]
#
#   --root DIR   install into DIR instead of / (also DESTDIR=DIR); no user is created, nothing is
#                chowned and systemctl is not called there (for packaging and tests)
#   --prefix P   where the program goes (default /opt/redis-fleet)
#   --node N     the node binary the units run (default: `command -v node`)
#   --enable U   systemctl enable --now redis-fleet-U (only with the real root)
#   --tls-generate  make a self-signed CA and certificates with openssl in /etc/redis-fleet/tls
#                (only the missing files): ca.crt/ca.key, collector.crt/key (this host's name,
#                localhost, 127.0.0.1 and every --tls-name), agent.crt/key for this host (CN = its
#                host name = the agent's hostId) and agent-HOST.crt/key per --tls-agent HOST to copy
#                to that host; the default configs written then use TLS and mutual TLS
#
# What it puts in place (paths under --root):
#   P/dist, P/node_modules (without dev dependencies), P/package.json, P/README.md, P/grafana,
#   P/share/examples/*.yaml                      the example configs (always refreshed)
#   P/share/schema/*.schema.json                 JSON Schema of each config file, for editors
#   /usr/local/bin/redis-fleet{,-agent,-collector}  launchers
#   /etc/systemd/system/redis-fleet-{agent,collector}.service
#   /etc/systemd/system/{redis-server,redis-server@,redis@}.service.d/redis-fleet.conf
#                                                Redis starts after the agent (sentinel-guard)
#   /etc/redis-fleet/{agent,collector}.yaml      only when absent (yours are never overwritten)
#   /etc/redis-fleet/agent.token, tokens         a generated token, only when absent, mode 0600
#   /etc/redis-fleet/tls/                        with --tls-generate: CA and certificates (keys 0640)
#   /var/lib/redis-fleet{,/guard}                state, owned by the redis-fleet user
# deploy/uninstall.sh removes all of it except /etc/redis-fleet and /var/lib/redis-fleet
# (--purge removes those and the user too).
set -euo pipefail
umask 022

SRC=$(cd "$(dirname "$0")/.." && pwd)
ROOT=${DESTDIR:-}
PREFIX=/opt/redis-fleet
NODE=$(command -v node || true)
ENABLE=()
USER_NAME=redis-fleet
TLS_GENERATE=0
TLS_NAMES=()
TLS_AGENTS=()

while [ $# -gt 0 ]; do
  case "$1" in
    --root) ROOT=$2; shift 2 ;;
    --root=*) ROOT=${1#--root=}; shift ;;
    --prefix) PREFIX=$2; shift 2 ;;
    --prefix=*) PREFIX=${1#--prefix=}; shift ;;
    --node) NODE=$2; shift 2 ;;
    --node=*) NODE=${1#--node=}; shift ;;
    --enable) ENABLE+=("$2"); shift 2 ;;
    --tls-generate) TLS_GENERATE=1; shift ;;
    --tls-name) TLS_NAMES+=("$2"); shift 2 ;;
    --tls-agent) TLS_AGENTS+=("$2"); shift 2 ;;
    -h|--help) sed -n '2,32p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown argument $1" >&2; exit 64 ;;
  esac
done
ROOT=${ROOT%/}
[ -n "$NODE" ] || { echo "install.sh: node not found (give --node)" >&2; exit 69; }
case "$PREFIX" in /*) ;; *) echo "install.sh: --prefix must be absolute" >&2; exit 64 ;; esac
for f in dist/agent/main.js dist/collector/main.js dist/cli/main.js package.json node_modules; do
  [ -e "$SRC/$f" ] || { echo "install.sh: $SRC/$f is missing: build first (npx tsc -p tsconfig.json)" >&2; exit 66; }
done
REAL_ROOT=0; [ -z "$ROOT" ] && REAL_ROOT=1
if [ $REAL_ROOT = 1 ] && [ "$(id -u)" != 0 ]; then echo "install.sh: run as root (or give --root DIR)" >&2; exit 77; fi

say() { echo "install.sh: $*"; }
P=$ROOT$PREFIX

# --- the user (real root only) -------------------------------------------------------------
OWN=0
if [ $REAL_ROOT = 1 ]; then
  if ! getent passwd "$USER_NAME" >/dev/null; then
    useradd --system --user-group --home-dir /var/lib/redis-fleet --no-create-home \
      --shell /usr/sbin/nologin --comment "redis-fleet agent and collector" "$USER_NAME"
    say "created system user $USER_NAME"
  fi
  OWN=1
fi
own() { if [ $OWN = 1 ]; then chown "$@"; fi; }

# --- the program ------------------------------------------------------------------------------
# Replaced whole each time, so a second run gives the same tree (no stale files from an older build).
install -d -m 0755 "$P"
rm -rf "$P/dist" "$P/node_modules" "$P/grafana" "$P/share/examples" "$P/share/schema"
mkdir -p "$P/dist" "$P/node_modules" "$P/share/examples" "$P/share/schema"
for d in "$SRC"/dist/*/; do
  name=$(basename "$d")
  [ "$name" = test ] && continue          # the compiled test suite is not part of the program
  cp -R --no-preserve=ownership,timestamps "$d" "$P/dist/$name"
done
# "/." follows a node_modules that is itself a symlink; links inside stay links.
cp -R --no-preserve=ownership,timestamps "$SRC/node_modules/." "$P/node_modules/"
rm -rf "$P/node_modules/.bin" "$P/node_modules/typescript" "$P/node_modules/@types" "$P/node_modules/@grafana"
install -m 0644 "$SRC/package.json" "$P/package.json"
[ -f "$SRC/README.md" ] && install -m 0644 "$SRC/README.md" "$P/README.md"
if [ -d "$SRC/grafana" ]; then
  mkdir -p "$P/grafana"
  for d in dashboards dashboards-prometheus provisioning; do
    [ -d "$SRC/grafana/$d" ] && cp -R --no-preserve=ownership,timestamps "$SRC/grafana/$d" "$P/grafana/$d"
  done
  [ -f "$SRC/grafana/README.md" ] && install -m 0644 "$SRC/grafana/README.md" "$P/grafana/README.md"
fi
install -m 0644 "$SRC"/deploy/examples/*.yaml "$P/share/examples/"
install -m 0644 "$SRC"/deploy/schema/*.schema.json "$P/share/schema/"
chmod -R u+rwX,go+rX,go-w "$P"

# --- launchers --------------------------------------------------------------------------------
install -d -m 0755 "$ROOT/usr/local/bin"
# The node flags a program's shebang carries (agent/main.ts: V8 heap sizing for a small daemon);
# the launchers and units run node with the same flags.
node_flags() { sed -n '1s/^#!.*[/ ]node\( .*\)\{0,1\}$/\1/p' "$SRC/dist/$1"; }
launcher() { # name, script
  local tmp
  tmp=$(mktemp)
  printf '#!/bin/sh\n# installed by redis-fleet deploy/install.sh\nexec %s%s %s/dist/%s "$@"\n' "$NODE" "$(node_flags "$2")" "$PREFIX" "$2" > "$tmp"
  install -m 0755 "$tmp" "$ROOT/usr/local/bin/$1"
  rm -f "$tmp"
}
launcher redis-fleet cli/main.js
launcher redis-fleet-agent agent/main.js
launcher redis-fleet-collector collector/main.js

# --- units ------------------------------------------------------------------------------------
UNITS=$ROOT/etc/systemd/system
install -d -m 0755 "$UNITS"
for u in redis-fleet-agent redis-fleet-collector; do
  sed -e "s#@PREFIX@#$PREFIX#g" -e "s#@NODE@#$NODE$(node_flags "${u#redis-fleet-}/main.js")#g" "$SRC/deploy/systemd/$u.service" > "$UNITS/$u.service.tmp"
  chmod 0644 "$UNITS/$u.service.tmp"
  mv -f "$UNITS/$u.service.tmp" "$UNITS/$u.service"
done
for r in redis-server.service redis-server@.service redis@.service; do
  install -d -m 0755 "$UNITS/$r.d"
  install -m 0644 "$SRC/deploy/systemd/redis-ordering/redis-fleet.conf" "$UNITS/$r.d/redis-fleet.conf"
done

# --- configs and tokens (never overwritten) ----------------------------------------------------
ETC=$ROOT/etc/redis-fleet
install -d -m 0750 "$ETC"
own "root:$USER_NAME" "$ETC"
token() { od -An -tx1 -N32 /dev/urandom | tr -d ' \n'; }
write_once() { # file, mode, owner, content-from-stdin
  local file=$1 mode=$2 owner=$3 tmp
  if [ -e "$file" ]; then cat >/dev/null; return 0; fi
  tmp=$(mktemp "$file.XXXXXX")
  chmod "$mode" "$tmp"
  cat > "$tmp"
  own "$owner" "$tmp"
  mv -f "$tmp" "$file"
  say "wrote $file"
}
if [ ! -e "$ETC/agent.token" ]; then
  TOKEN=$(token)
  printf '%s\n' "$TOKEN" | write_once "$ETC/agent.token" 0600 "$USER_NAME:$USER_NAME"
  # The collector's accepted tokens start with this host's token, so one host works as it is;
  # on a fleet, put the collector's token into every agent's agent.token.
  printf '%s\n' "$TOKEN" | write_once "$ETC/tokens" 0600 "$USER_NAME:$USER_NAME"
  unset TOKEN
else
  head -n1 "$ETC/agent.token" | write_once "$ETC/tokens" 0600 "$USER_NAME:$USER_NAME"
fi
# --- TLS (only with --tls-generate; existing files are kept) ------------------------------------
TLS=$ETC/tls
if [ $TLS_GENERATE = 1 ]; then
  command -v openssl >/dev/null || { echo "install.sh: --tls-generate needs openssl" >&2; exit 69; }
  install -d -m 0750 "$TLS"
  own "root:$USER_NAME" "$TLS"
  THIS_HOST=$(hostname)
  serial() { echo "0x$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')"; }
  if [ ! -e "$TLS/ca.crt" ]; then
    (umask 077; openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$TLS/ca.key" -out "$TLS/ca.crt" \
      -days 3650 -set_serial "$(serial)" -subj "/CN=redis-fleet CA ($THIS_HOST)" \
      -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null)
    chmod 0644 "$TLS/ca.crt"
    say "wrote $TLS/ca.crt (CA key $TLS/ca.key, mode 0600: keep it, or move it off this host)"
  fi
  issue() { # stem, CN, serverAuth|clientAuth, subjectAltName
    local stem=$TLS/$1 ext
    [ -e "$stem.crt" ] && return 0
    [ -e "$TLS/ca.key" ] || { echo "install.sh: $TLS/ca.key is gone: cannot issue $stem.crt" >&2; exit 66; }
    ext=$(mktemp)
    printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=%s\nsubjectAltName=%s\n' "$3" "$4" > "$ext"
    (umask 027; openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$stem.key" -out "$stem.csr" -subj "/CN=$2" 2>/dev/null)
    openssl x509 -req -in "$stem.csr" -CA "$TLS/ca.crt" -CAkey "$TLS/ca.key" -set_serial "$(serial)" -days 825 -extfile "$ext" -out "$stem.crt" 2>/dev/null
    rm -f "$stem.csr" "$ext"
    chmod 0640 "$stem.key"; chmod 0644 "$stem.crt"
    own "root:$USER_NAME" "$stem.key" "$stem.crt"
    say "wrote $stem.crt (CN $2, $4)"
  }
  SAN="DNS:$THIS_HOST,DNS:localhost,IP:127.0.0.1"
  for n in "${TLS_NAMES[@]}"; do
    if [[ $n =~ ^[0-9.]+$ || $n == *:* ]]; then SAN="$SAN,IP:$n"; else SAN="$SAN,DNS:$n"; fi
  done
  issue collector "$THIS_HOST" serverAuth "$SAN"
  issue agent "$THIS_HOST" clientAuth "DNS:$THIS_HOST"
  for h in "${TLS_AGENTS[@]}"; do issue "agent-$h" "$h" clientAuth "DNS:$h"; done
fi
if [ -e "$TLS/collector.crt" ]; then
  AGENT_TLS="  tls:                 # the collector's CA; this host's certificate (CN = hostId) for mutual TLS
    caFile: /etc/redis-fleet/tls/ca.crt
    certFile: /etc/redis-fleet/tls/agent.crt
    keyFile: /etc/redis-fleet/tls/agent.key"
  GRPC_LISTEN="listen: 0.0.0.0:7400"
  GRPC_TLS="  tls:                 # TLS, and mutual TLS: an agent reports only as the host id its certificate names
    certFile: /etc/redis-fleet/tls/collector.crt
    keyFile: /etc/redis-fleet/tls/collector.key
    clientCaFile: /etc/redis-fleet/tls/ca.crt"
else
  AGENT_TLS="  # tls: { caFile: ..., certFile: ..., keyFile: ... }   (install.sh --tls-generate)"
  GRPC_LISTEN="listen: 127.0.0.1:7400   # plaintext, so this host only; for a fleet: install.sh --tls-generate (docs/security.md)"
  GRPC_TLS="  # tls: { certFile: ..., keyFile: ..., clientCaFile: ... }"
fi

# API tokens (hashed; none until an operator makes one, so the API refuses everything meanwhile).
printf '# name role sha256:<hex> — redis-fleet token create NAME viewer|operator|admin --file %s\n' "/etc/redis-fleet/api-tokens" \
  | write_once "$ETC/api-tokens" 0600 "$USER_NAME:$USER_NAME"
write_once "$ETC/agent.yaml" 0640 "root:$USER_NAME" <<EOF
# redis-fleet agent (installed default; examples in $PREFIX/share/examples/).
# Check: redis-fleet check-config agent /etc/redis-fleet/agent.yaml
labels: {}
roles: [redis]
interval: 10s
collector:
  addresses: [127.0.0.1:7400]
  tokenFile: /etc/redis-fleet/agent.token
$AGENT_TLS
discovery:
  enabled: true          # local redis-server, redis-sentinel, nutcracker, codis-proxy from /proc
statusFile: /run/redis-fleet/agent-status.json
redis:
  - { address: 127.0.0.1:6379 }
log: { level: info }
EOF
write_once "$ETC/collector.yaml" 0640 "root:$USER_NAME" <<EOF
# redis-fleet collector (installed default: embedded store; with InfluxDB see
# $PREFIX/share/examples/collector-influx.yaml).
# Check: redis-fleet check-config collector /etc/redis-fleet/collector.yaml
grpc:
  $GRPC_LISTEN
  tokenFile: /etc/redis-fleet/tokens
$GRPC_TLS
http:
  listen: 127.0.0.1:7401
  tokenFile: /etc/redis-fleet/api-tokens   # redis-fleet token create NAME viewer|operator|admin --file /etc/redis-fleet/api-tokens
store:
  path: /var/lib/redis-fleet/collector.db
log: { level: info }
EOF

# --- state ------------------------------------------------------------------------------------
install -d -m 0750 "$ROOT/var/lib/redis-fleet"
install -d -m 0700 "$ROOT/var/lib/redis-fleet/guard"
own "$USER_NAME:$USER_NAME" "$ROOT/var/lib/redis-fleet" "$ROOT/var/lib/redis-fleet/guard"

# --- systemd ----------------------------------------------------------------------------------
if [ $REAL_ROOT = 1 ] && [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  for u in "${ENABLE[@]}"; do systemctl enable --now "redis-fleet-$u.service"; done
elif [ ${#ENABLE[@]} -gt 0 ]; then
  say "not enabling ${ENABLE[*]}: no running systemd at this root"
fi
say "installed into ${ROOT:-/} (program $PREFIX, units /etc/systemd/system, configs /etc/redis-fleet)"
