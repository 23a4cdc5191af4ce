#!/usr/bin/env bash
# Ingest benchmark (issue 2). On the test broker (scripts/services.sh), produce ROWS synthetic
# reviews to a fresh topic, then in the same run time:
#   1. a bare librdkafka consumer that reads the topic to its end and does nothing else (ceiling),
#   2. `reviewlake ingest --exit-at-end` into a local lake (with its peak RSS),
#   3. the original system's consumer shape in Python (kafka-python, JSON, 500-row JSON files).
# Prints rows/s of each and the ratios. Settings: ROWS (1500000), PARTITIONS (1).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
ROWS="${ROWS:-1500000}"
PARTITIONS="${PARTITIONS:-1}"
OUT="${BENCH_OUT:-$ROOT/bench-out}"
rm -rf "$OUT"; mkdir -p "$OUT"

scripts/services.sh up
. "${REVIEWLAKE_SERVICES_DIR:-$ROOT/.services}/env"
cargo build --release --workspace --bins --examples  # the build every bench script shares (same features, no rebuild)
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
BIN="$TARGET/release/reviewlake"
BARE="$TARGET/release/examples/bare_consumer"
topic="bench-ingest-$(date +%s)"
tansu topic create "$topic" --partitions "$PARTITIONS" --broker "tcp://$KAFKA_BROKERS" >/dev/null
echo "producing $ROWS reviews to $topic ($PARTITIONS partitions)"
"$BIN" produce --topic "$topic" --synthetic "$ROWS" --seed 42 | tee "$OUT/produce.txt"

echo "bare librdkafka consumer"
"$BARE" "$KAFKA_BROKERS" "$topic" "bare-$RANDOM" | tee "$OUT/bare.json"

echo "reviewlake ingest"
/usr/bin/time -f '{"max_rss_kb": %M, "wall": %e}' -o "$OUT/ingest.time" \
  "$BIN" ingest --topic "$topic" --lake "$OUT/lake" --group "ingest-$RANDOM" --exit-at-end \
  --log-level warn | tee "$OUT/ingest.txt"
"$BIN" lake stats --lake "$OUT/lake" --format json >"$OUT/stats.json"

echo "python peer (kafka-python)"
if python3 -c "import kafka" 2>/dev/null; then
  python3 bench/python_consumer.py "$KAFKA_BROKERS" "$topic" "$OUT/python" | tee "$OUT/python.json" || echo '{}' >"$OUT/python.json"
else
  echo "kafka-python not installed (pip install kafka-python); skipping the peer" | tee "$OUT/python.json"
  echo '{}' >"$OUT/python.json"
fi

python3 - "$OUT" "$ROWS" <<'PY'
import json, re, sys, os
out, rows = sys.argv[1], int(sys.argv[2])
bare = json.load(open(f"{out}/bare.json"))
t = json.load(open(f"{out}/ingest.time"))
stats = json.load(open(f"{out}/stats.json"))["total"]
try: py = json.load(open(f"{out}/python.json"))
except Exception: py = {}
ingest_rps = stats["rows"] / t["wall"]
print()
print("| what | rows | seconds | rows/s | vs bare consumer |")
print("|---|---:|---:|---:|---:|")
print(f"| bare librdkafka consumer | {bare['messages']} | {bare['seconds']:.2f} | {bare['rows_per_sec']:,} | 1.00x |")
print(f"| reviewlake ingest --exit-at-end | {stats['rows']} | {t['wall']:.2f} | {ingest_rps:,.0f} | {ingest_rps / bare['rows_per_sec']:.2f}x |")
if py.get("rows_per_sec"):
    print(f"| python peer (kafka-python, JSON files) | {py['messages']} | {py['seconds']:.2f} | {py['rows_per_sec']:,} | {py['rows_per_sec'] / bare['rows_per_sec']:.2f}x |")
    print(f"\nreviewlake ingest vs python peer: {ingest_rps / py['rows_per_sec']:.1f}x")
print(f"ingest peak RSS: {t['max_rss_kb'] / 1024:.0f} MB; files: {stats['files']}; lake bytes: {stats['bytes']:,}")
assert stats["rows"] == rows, f"lake holds {stats['rows']} rows, expected {rows}"
PY
