#!/usr/bin/env bash
# Training benchmark (issue 4): three 500,000-row cohorts of a 1,500,000-row synthetic lake.
# Times `reviewlake train` end to end (default settings, SQL included) and its fits alone, the
# same with --engine linfa, and in the same run scikit-learn KMeans (k=3, n_init=10, seed 42) and
# Spark MLlib KMeans (k=3, seed 42, local mode) on exactly the same cohort rows (dumped with
# `reviewlake cohorts --dump`). Prints per-cohort costs, times and ratios.
# Settings: BENCH_LAKE (bench-out/sql-lake, the compacted lake bench/sql.sh leaves; falls back to
# bench-out/lake), REPEAT (3), COHORT_ROWS (500000), SPARK (1 = run Spark).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
LAKE="${BENCH_LAKE:-$ROOT/bench-out/sql-lake}"
[ -d "$LAKE/reviews" ] || LAKE="$ROOT/bench-out/lake"
if [ ! -d "$LAKE/reviews" ]; then
  echo "no lake: run bench/ingest.sh (and bench/sql.sh to compact) first, or set BENCH_LAKE" >&2
  exit 1
fi
python3 -c "import sklearn" 2>/dev/null || pip install -q scikit-learn
[ "${SPARK:-1}" = 0 ] || python3 -c "import pyspark" 2>/dev/null || pip install -q pyspark
cargo build --release --workspace --bins --examples  # the build every bench script shares (same features, no rebuild)
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/reviewlake"
python3 bench/train_bench.py "$BIN" "$LAKE" "${REPEAT:-3}" "${COHORT_ROWS:-500000}" "${SPARK:-1}"
