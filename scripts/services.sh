#!/usr/bin/env bash
# Installs (if missing), starts and stops the services the tests need, on loopback:
#   - tansu, a Kafka-protocol broker (in-memory storage)
#   - moto's S3 server (PyPI `moto[server]`, in memory), with a bucket for the tests.
#   - (installed only) Debian's Chromium and playwright-core, for the web console's browser test. It refuses a
#     second `If-None-Match: *` PUT of a key with 412, as S3 and MinIO do: Delta commits rely on
#     it (tests/s3_store.rs proves it on every run). garage ignores that header, so it cannot
#     test commits.
#
#   scripts/services.sh up      install what is missing, start both, write $STATE/env
#   scripts/services.sh down    stop both and remove their data
#   scripts/services.sh status  say what is running
#
# Settings (environment): REVIEWLAKE_SERVICES_DIR (state folder, default .services),
# KAFKA_PORT (19092), S3_PORT (13900), TANSU_VERSION (0.6.0), MOTO_VERSION (5.2.5).
# After `up`, `. .services/env` exports KAFKA_BROKERS, REVIEWLAKE_TEST_S3 and the AWS_* variables.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="${REVIEWLAKE_SERVICES_DIR:-$ROOT/.services}"
KAFKA_PORT="${KAFKA_PORT:-19092}"
S3_PORT="${S3_PORT:-13900}"
TANSU_VERSION="${TANSU_VERSION:-0.6.0}"
MOTO_VERSION="${MOTO_VERSION:-5.2.5}"
KERNEL_READER_VERSION="${KERNEL_READER_VERSION:-0.3.3}"
PROMQL_PARSER_VERSION="${PROMQL_PARSER_VERSION:-0.12.0}"
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

# moto's S3 server, the independent Delta reader tests/external.rs compares against (Delta's own
# kernel into pyarrow), and the PromQL parser tests/console.rs checks the Grafana dashboard with:
# PyPI packages, seconds to install.
install_python_tools() {
  if command -v moto_server >/dev/null \
    && python3 -c 'import flask, flask_cors, boto3, pyarrow, delta_kernel_rust_sharing_wrapper, promql_parser' 2>/dev/null; then
    return
  fi
  log "installing moto[server] $MOTO_VERSION, delta-kernel-rust-sharing-wrapper, pyarrow and promql-parser from PyPI"
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
    "moto[server]==$MOTO_VERSION" "delta-kernel-rust-sharing-wrapper==$KERNEL_READER_VERSION" pyarrow \
    "promql-parser==$PROMQL_PARSER_VERSION"
}

# Debian packages the tests run: strace (tests/durability.rs traces the fsyncs of a commit), and
# Chromium, which tests/console.rs drives through the web console.
install_debian_tools() {
  local missing=()
  command -v strace >/dev/null || missing+=(strace)
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  [ ${#missing[@]} -eq 0 ] && return
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    log "installing ${missing[*]} (Debian packages; Chromium takes a minute or two)"
    apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 \
      || { apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null; }
  else
    log "${missing[*]} missing and cannot be installed here (needs root and apt-get): the tests that need them fail"
  fi
}

# playwright-core from npm, pinned by tests/console/package-lock.json: it drives Debian's Chromium
# (it downloads no browser of its own).
install_node_tools() {
  [ -d "$ROOT/tests/console/node_modules/playwright-core" ] && return
  if ! command -v npm >/dev/null; then
    log "npm is missing: tests/console.rs cannot drive the browser"
    return
  fi
  log "installing playwright-core from npm (seconds)"
  npm ci --prefix "$ROOT/tests/console" --no-audit --no-fund --loglevel=error >/dev/null
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

start_moto() {
  if running moto; then log "moto already running"; return; fi
  moto_server -H 127.0.0.1 -p "$S3_PORT" >"$STATE/moto.log" 2>&1 &
  echo $! >"$STATE/moto.pid"
  wait_port 127.0.0.1 "$S3_PORT" moto
  # Any credentials work; the bucket is created once per start (the server keeps nothing).
  python3 - "$S3_PORT" "$BUCKET" <<'PY'
import sys, boto3
port, bucket = sys.argv[1], sys.argv[2]
s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                  aws_access_key_id="reviewlake-test", aws_secret_access_key="reviewlake-test")
s3.create_bucket(Bucket=bucket)
PY
  log "moto S3 API on http://127.0.0.1:$S3_PORT, bucket $BUCKET"
}

write_env() {
  umask 077
  cat >"$STATE/env" <<ENV
export KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT
export REVIEWLAKE_TEST_BROKERS=127.0.0.1:$KAFKA_PORT
export REVIEWLAKE_TEST_S3=s3://$BUCKET
export AWS_ACCESS_KEY_ID=reviewlake-test
export AWS_SECRET_ACCESS_KEY=reviewlake-test
export AWS_REGION=us-east-1
export AWS_ENDPOINT_URL=http://127.0.0.1:$S3_PORT
export AWS_ALLOW_HTTP=true
ENV
}

stop() {
  for svc in tansu moto; do
    if running "$svc"; then
      kill "$(cat "$STATE/$svc.pid")" 2>/dev/null || true
      for _ in $(seq 1 50); do running "$svc" || break; sleep 0.1; done
      running "$svc" && kill -9 "$(cat "$STATE/$svc.pid")" 2>/dev/null || true
      log "stopped $svc"
    fi
    rm -f "$STATE/$svc.pid"
  done
  rm -f "$STATE/env"
}

case "${1:-}" in
  up)
    mkdir -p "$STATE"
    install_tansu
    install_python_tools
    install_debian_tools
    install_node_tools
    start_tansu
    start_moto
    write_env
    log "ready: . $STATE/env"
    ;;
  down) stop ;;
  status)
    for svc in tansu moto; do
      if running "$svc"; then echo "$svc: running (pid $(cat "$STATE/$svc.pid"))"; else echo "$svc: stopped"; fi
    done
    ;;
  install) install_tansu; install_python_tools; install_debian_tools; install_node_tools ;;
  *) echo "usage: $0 up|down|status|install" >&2; exit 2 ;;
esac
