#!/usr/bin/env bash
# SQL benchmark (issue 3): on a 1,500,000-row lake of 500-row files (made by bench/ingest.sh),
# time a count, a group-by on rating and the three-cohort assembly with `reviewlake` and, in the
# same run, DuckDB (its CLI per query, and Python `duckdb` in a running process;
# read_parquet(..., hive_partitioning=true)) on the same files;
# then compact with `reviewlake lake compact` and time both again.
# Settings: BENCH_LAKE (bench-out/lake), REPEAT (3), COHORT_ROWS (500000).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SRC="${BENCH_LAKE:-$ROOT/bench-out/lake}"
if [ ! -d "$SRC/reviews" ]; then
  echo "no lake at $SRC: run bench/ingest.sh first (or set BENCH_LAKE)" >&2
  exit 1
fi
python3 -c "import duckdb" 2>/dev/null || pip install -q duckdb
python3 -c "import duckdb_cli" 2>/dev/null || pip install -q duckdb-cli  # the per-process peer
cargo build --release --workspace --bins --examples  # the build every bench script shares (same features, no rebuild)
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
WORK="$ROOT/bench-out/sql-lake"
rm -rf "$WORK"; cp -r "$SRC" "$WORK"   # compaction rewrites the copy, not the source
python3 bench/sql_bench.py "$TARGET/release/reviewlake" "$WORK" "${REPEAT:-3}" "${COHORT_ROWS:-500000}"
