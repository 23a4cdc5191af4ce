#!/usr/bin/env bash
# Installs (if missing), starts and stops the services the tests need, on loopback:
#   - tansu, a Kafka-protocol broker (in-memory storage)
#   - garage, an S3-protocol object store (single node), with a bucket and a key for the tests
#
#   scripts/services.sh up      install what is missing, start both, write $STATE/env
#   scripts/services.sh down    stop both and remove their data
#   scripts/services.sh status  say what is running
#
# Settings (environment): REVIEWLAKE_SERVICES_DIR (state folder, default .services),
# KAFKA_PORT (19092), S3_PORT (13900), TANSU_VERSION (0.6.0), GARAGE_VERSION (2.5.0).
# After `up`, `. .services/env` exports KAFKA_BROKERS, REVIEWLAKE_TEST_S3 and the AWS_* variables.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="${REVIEWLAKE_SERVICES_DIR:-$ROOT/.services}"
KAFKA_PORT="${KAFKA_PORT:-19092}"
S3_PORT="${S3_PORT:-13900}"
RPC_PORT="${GARAGE_RPC_PORT:-13901}"
ADMIN_PORT="${GARAGE_ADMIN_PORT:-13903}"
TANSU_VERSION="${TANSU_VERSION:-0.6.0}"
GARAGE_VERSION="${GARAGE_VERSION:-2.5.0}"
BUCKET="${REVIEWLAKE_TEST_BUCKET:-reviewlake-test}"
CARGO_BIN="${CARGO_HOME:-$HOME/.cargo}/bin"
export PATH="$CARGO_BIN:$PATH"

log() { printf '[services] %s\n' "$*" >&2; }

installed_version() { "$1" --version 2>/dev/null | head -1 | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -1 || true; }

install_tansu() {
  if command -v tansu >/dev/null && [ "$(installed_version tansu)" = "$TANSU_VERSION" ]; then
    return
  fi
  if command -v tansu >/dev/null && tansu --help >/dev/null 2>&1 && [ -z "$(installed_version tansu)" ]; then
    return # a build that does not print its version: reuse it
  fi
  log "installing tansu $TANSU_VERSION from crates.io (about 15 minutes on 2 cores)"
  cargo install tansu --version "$TANSU_VERSION" --features dynostore --locked
}

install_garage() {
  if command -v garage >/dev/null && garage --help >/dev/null 2>&1; then
    return
  fi
  log "installing garage $GARAGE_VERSION from crates.io (about 10 minutes on 2 cores)"
  cargo install garage --version "$GARAGE_VERSION" --locked
}

wait_port() { # host port what
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; then return 0; fi
    sleep 0.2
  done
  log "$3 did not open $1:$2; see $STATE/$3.log"
  tail -20 "$STATE/$3.log" >&2 || true
  return 1
}

running() { [ -f "$STATE/$1.pid" ] && kill -0 "$(cat "$STATE/$1.pid")" 2>/dev/null; }

start_tansu() {
  if running tansu; then log "tansu already running"; return; fi
  tansu broker --storage-engine memory://tansu/ \
    --listener-url "tcp://127.0.0.1:$KAFKA_PORT" \
    --advertised-listener-url "tcp://127.0.0.1:$KAFKA_PORT" >"$STATE/tansu.log" 2>&1 &
  echo $! >"$STATE/tansu.pid"
  wait_port 127.0.0.1 "$KAFKA_PORT" tansu
  log "tansu listening on 127.0.0.1:$KAFKA_PORT"
}

garage_cmd() { garage -c "$STATE/garage.toml" "$@"; }

start_garage() {
  if running garage; then log "garage already running"; return; fi
  mkdir -p "$STATE/garage/meta" "$STATE/garage/data"
  if [ ! -f "$STATE/garage.toml" ]; then
    cat >"$STATE/garage.toml" <<TOML
metadata_dir = "$STATE/garage/meta"
data_dir = "$STATE/garage/data"
db_engine = "sqlite"
replication_factor = 1
rpc_bind_addr = "127.0.0.1:$RPC_PORT"
rpc_public_addr = "127.0.0.1:$RPC_PORT"
rpc_secret = "$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"

[s3_api]
s3_region = "garage"
api_bind_addr = "127.0.0.1:$S3_PORT"
root_domain = ".s3.garage.localhost"

[admin]
api_bind_addr = "127.0.0.1:$ADMIN_PORT"
admin_token = "$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
TOML
  fi
  garage -c "$STATE/garage.toml" server >"$STATE/garage.log" 2>&1 &
  echo $! >"$STATE/garage.pid"
  wait_port 127.0.0.1 "$S3_PORT" garage
  # The admin RPC can lag the S3 port; wait until the CLI can talk to the node.
  local ok=0
  for _ in $(seq 1 100); do
    if garage_cmd status >/dev/null 2>&1; then ok=1; break; fi
    sleep 0.3
  done
  if [ "$ok" != 1 ]; then
    log "garage does not answer its RPC; see $STATE/garage.log"
    garage_cmd status >&2 || true
    tail -20 "$STATE/garage.log" >&2 || true
    return 1
  fi
  # Single-node layout, once.
  if ! garage_cmd layout show 2>/dev/null | grep -q "Current cluster layout version: [1-9]"; then
    local node
    for _ in $(seq 1 50); do
      node="$(garage_cmd node id -q 2>/dev/null | cut -d@ -f1 || true)"
      [ -n "$node" ] && break
      sleep 0.2
    done
    garage_cmd layout assign -z local -c 1G "$node" >/dev/null
    garage_cmd layout apply --version 1 >/dev/null
  fi
  # A bucket and a key for the tests, once.
  if [ ! -f "$STATE/s3.key" ]; then
    garage_cmd bucket create "$BUCKET" >/dev/null 2>&1 || true
    garage_cmd key create reviewlake-test >"$STATE/s3.key.txt"
    local id secret
    id="$(grep -oE 'GK[0-9a-f]+' "$STATE/s3.key.txt" | head -1)"
    secret="$(grep -iE 'secret' "$STATE/s3.key.txt" | grep -oE '[0-9a-f]{64}' | head -1)"
    garage_cmd bucket allow --read --write --owner "$BUCKET" --key "$id" >/dev/null
    printf '%s\n%s\n' "$id" "$secret" >"$STATE/s3.key"
    rm -f "$STATE/s3.key.txt"
  fi
  log "garage S3 API on http://127.0.0.1:$S3_PORT, bucket $BUCKET"
}

write_env() {
  local id secret
  id="$(sed -n 1p "$STATE/s3.key")"
  secret="$(sed -n 2p "$STATE/s3.key")"
  umask 077
  cat >"$STATE/env" <<ENV
export KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT
export REVIEWLAKE_TEST_BROKERS=127.0.0.1:$KAFKA_PORT
export REVIEWLAKE_TEST_S3=s3://$BUCKET
export AWS_ACCESS_KEY_ID=$id
export AWS_SECRET_ACCESS_KEY=$secret
export AWS_REGION=garage
export AWS_ENDPOINT_URL=http://127.0.0.1:$S3_PORT
export AWS_ALLOW_HTTP=true
ENV
}

stop() {
  for svc in tansu garage; do
    if running "$svc"; then
      kill "$(cat "$STATE/$svc.pid")" 2>/dev/null || true
      for _ in $(seq 1 50); do running "$svc" || break; sleep 0.1; done
      running "$svc" && kill -9 "$(cat "$STATE/$svc.pid")" 2>/dev/null || true
      log "stopped $svc"
    fi
    rm -f "$STATE/$svc.pid"
  done
  # Anything of ours still running (started by an older version of this script, say).
  pkill -f "garage -c $STATE/garage.toml" 2>/dev/null || true
  rm -rf "$STATE/garage" "$STATE/garage.toml" "$STATE/s3.key" "$STATE/env"
}

case "${1:-}" in
  up)
    mkdir -p "$STATE"
    install_tansu
    install_garage
    start_tansu
    start_garage
    write_env
    log "ready: . $STATE/env"
    ;;
  down) stop ;;
  status)
    for svc in tansu garage; do
      if running "$svc"; then echo "$svc: running (pid $(cat "$STATE/$svc.pid"))"; else echo "$svc: stopped"; fi
    done
    ;;
  install) install_tansu; install_garage ;;
  *) echo "usage: $0 up|down|status|install" >&2; exit 2 ;;
esac
