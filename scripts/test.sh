#!/usr/bin/env bash
# The project's test command: installs and starts the test services (scripts/services.sh), runs
# every test of the workspace against them, and stops them again.
#
#   scripts/test.sh [extra cargo test arguments]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
STATE="${REVIEWLAKE_SERVICES_DIR:-$ROOT/.services}"

if [ "${KEEP_SERVICES:-0}" != "1" ]; then
  trap 'scripts/services.sh down' EXIT
fi
scripts/services.sh up
# shellcheck disable=SC1091
. "$STATE/env"
cargo test --workspace --all-targets "$@"
