#!/usr/bin/env bash
# The project's test command: checks formatting, clippy warnings and unused dependencies, installs
# and starts the test services (scripts/services.sh), checks docker-compose.yml with
# docker-compose, runs every test of the workspace against the services (a test that would skip
# for want of a service fails instead), and stops the services again.
#
#   scripts/test.sh [extra cargo test arguments]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
STATE="${REVIEWLAKE_SERVICES_DIR:-$ROOT/.services}"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

# A clean build of the tests (with clippy's) and the services' installs take about 10 GB; with less
# free, the linker dies of a full disk minutes in. Say so now instead.
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
free_kb=$(df -Pk "$(if [ -d "$TARGET" ]; then echo "$TARGET"; else echo "$ROOT"; fi)" | awk 'NR == 2 {print $4}')
need_kb=$((${REVIEWLAKE_TEST_DISK_GB:-10} * 1024 * 1024))
if [ "$free_kb" -lt "$need_kb" ]; then
  echo "[test] only $((free_kb / 1024 / 1024)) GB free for $TARGET; the build and services need about $((need_kb / 1024 / 1024)) GB (REVIEWLAKE_TEST_DISK_GB)" >&2
  exit 1
fi

# Static checks first: they fail in seconds where the tests take minutes.
echo "[test] cargo fmt --check"
cargo fmt --all --check
if ! command -v cargo-machete >/dev/null; then
  echo "[test] installing cargo-machete (unused dependencies; about 2 minutes)"
  cargo install cargo-machete --version 0.9.2 --locked --quiet
fi
echo "[test] cargo machete (unused dependencies)"
cargo machete
echo "[test] cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --quiet -- -D warnings

if [ "${KEEP_SERVICES:-0}" != "1" ]; then
  trap 'scripts/services.sh down' EXIT
fi
scripts/services.sh up
# docker-compose.yml is checked by docker-compose itself (no Docker engine needed for `config`).
if ! command -v docker-compose >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "[test] installing docker-compose (Debian package) to check docker-compose.yml"
  (apt-get install -y -qq docker-compose >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq docker-compose >/dev/null; }) \
    || echo "[test] could not install docker-compose" >&2
fi
if command -v docker-compose >/dev/null; then
  # Valid with every secret set (placeholders), and refused, naming it, with one missing.
  secrets=(MINIO_ROOT_USER=check MINIO_ROOT_PASSWORD=check-only INGEST_S3_SECRET=check-only
           TRAIN_S3_SECRET=check-only SERVE_S3_SECRET=check-only)
  env "${secrets[@]}" docker-compose -f docker-compose.yml config -q
  if env "${secrets[@]}" SERVE_S3_SECRET= docker-compose -f docker-compose.yml config -q 2>/dev/null; then
    echo "[test] docker-compose.yml accepts a missing SERVE_S3_SECRET" >&2
    exit 1
  fi
  echo "[test] docker-compose.yml: valid, and refuses a missing secret"
elif [ "${CI:-}" = true ]; then
  echo "[test] docker-compose is required in CI to check docker-compose.yml" >&2
  exit 1
else
  echo "[test] docker-compose not installed: skipping the docker-compose.yml check" >&2
fi
# shellcheck disable=SC1091
. "$STATE/env"
# Every service test must run here: a missing service fails it instead of skipping it.
export REVIEWLAKE_REQUIRE_SERVICES=1
cargo test --workspace --all-targets --no-fail-fast "$@"
