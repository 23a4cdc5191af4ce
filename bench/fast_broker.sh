#!/usr/bin/env bash
# Ingest against a fast broker (issue 17, item 3). The test broker (tansu) serves about 120,000
# records/s, which hides ingest's own cost; librdkafka's mock cluster (ingest/examples/
# mock_broker.rs, in memory, fetches served from C) is much faster. On it, in the same run:
#   1. `reviewlake produce` writes ROWS synthetic reviews (one partition per 10,000: the mock
#      keeps about 5 MB per partition);
#   2. a bare librdkafka consumer reads the topic to its end and does nothing else (ceiling);
#   3. `reviewlake ingest --exit-at-end` reads it into a fresh local lake (with its peak RSS).
# Prints rows/s of both and the ratio. Settings: ROWS (1500000), BENCH_OUT (bench-out/fast-broker).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
ROWS="${ROWS:-1500000}"
PARTITIONS=$(( (ROWS + 9999) / 10000 ))
OUT="${BENCH_OUT:-$ROOT/bench-out/fast-broker}"
rm -rf "$OUT"; mkdir -p "$OUT"
cargo build --release --workspace --bins --examples  # the build every bench script shares (same features, no rebuild)
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
BIN="$TARGET/release/reviewlake"
topic="bench-fast-$(date +%s)"

# The broker lives while this script holds the write end of its standard input.
mkfifo "$OUT/hold"
"$TARGET/release/examples/mock_broker" "$topic" "$PARTITIONS" <"$OUT/hold" >"$OUT/bootstrap" &
exec 3>"$OUT/hold"
until [ -s "$OUT/bootstrap" ]; do sleep 0.1; done
brokers="$(cat "$OUT/bootstrap")"
echo "mock cluster at $brokers, topic $topic with $PARTITIONS partitions"

"$BIN" produce --brokers "$brokers" --topic "$topic" --synthetic "$ROWS" --seed 42 --log-level warn \
  | tee "$OUT/produce.txt"

echo "bare librdkafka consumer"
"$TARGET/release/examples/bare_consumer" "$brokers" "$topic" "bare-$RANDOM" | tee "$OUT/bare.json"

echo "reviewlake ingest"
/usr/bin/time -f '{"max_rss_kb": %M, "wall": %e}' -o "$OUT/ingest.time" \
  "$BIN" ingest --brokers "$brokers" --topic "$topic" --lake "$OUT/lake" --group "ingest-$RANDOM" \
  --exit-at-end --log-level warn | tee "$OUT/ingest.txt"
"$BIN" lake stats --lake "$OUT/lake" --format json >"$OUT/stats.json"
exec 3>&-

python3 - "$OUT" "$ROWS" <<'PY'
import json, sys
out, rows = sys.argv[1], int(sys.argv[2])
bare = json.load(open(f"{out}/bare.json"))
t = json.load(open(f"{out}/ingest.time"))
stats = json.load(open(f"{out}/stats.json"))["total"]
rps = stats["rows"] / t["wall"]
print()
print("| what | rows | seconds | rows/s | vs bare consumer |")
print("|---|---:|---:|---:|---:|")
print(f"| bare librdkafka consumer | {bare['messages']} | {bare['seconds']:.2f} | {bare['rows_per_sec']:,} | 1.00x |")
print(f"| reviewlake ingest --exit-at-end | {stats['rows']} | {t['wall']:.2f} | {rps:,.0f} | {rps / bare['rows_per_sec']:.2f}x |")
print(f"ingest peak RSS: {t['max_rss_kb'] / 1024:.0f} MB; files: {stats['files']}; lake bytes: {stats['bytes']:,}")
assert bare["messages"] == rows, f"the broker served {bare['messages']} of {rows} messages"
assert stats["rows"] == rows, f"lake holds {stats['rows']} rows, expected {rows}"
PY
