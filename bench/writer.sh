#!/usr/bin/env bash
# Writer benchmark (issue 17): ingest's path after poll() with no broker (examples/writer_bench.rs)
# on MESSAGES (1,500,000) synthetic messages of the seed's format over PARTITIONS (3), next to the
# Python peer (bench/writer_peer.py: json + pyarrow + Parquet/zstd, no Delta) on the same
# messages, then the stages one after another (files written before decoding on: each stage's
# share), the zstd levels in LEVELS (1 3 6) for size against speed, and a CPU profile (perf,
# cpu-clock samples) of the default level: the top functions and their share.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
python3 -c "import pyarrow" 2>/dev/null || pip install -q pyarrow
cargo build --release --workspace --bins --examples  # the build every bench script shares (same features, no rebuild)
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/writer_bench"
OUT="$ROOT/bench-out/writer"
mkdir -p "$OUT"
N="${MESSAGES:-1500000}"
P="${PARTITIONS:-3}"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo); $N messages, $P partitions"
echo "== reviewlake (zstd 3)"
WRITER_BENCH_DUMP="$OUT/messages.bin" "$BIN" "$N" "$P" 3 | tee "$OUT/reviewlake.txt"
echo "== python peer"
rm -rf "$OUT/peer"
python3 bench/writer_peer.py "$OUT/messages.bin" "$OUT/peer" | tee "$OUT/peer.txt"
python3 - "$OUT" <<'PY'
import re, sys
out = sys.argv[1]
ours = float(re.search(r"rows/s: (\d+)", open(f"{out}/reviewlake.txt").read()).group(1))
peer = float(re.search(r"(\d+) rows/s", open(f"{out}/peer.txt").read()).group(1))
print(f"reviewlake {ours:.0f} rows/s, python peer {peer:.0f} rows/s: {ours / peer:.1f}x")
PY
echo "== stages one after another (zstd 3, no write beside decoding)"
"$BIN" "$N" "$P" 3 - 500 0 | tee "$OUT/sequential.txt"
for level in ${LEVELS:-1 3 6}; do
  echo "== zstd level $level"
  "$BIN" "$N" "$P" "$level" | grep -E "rows/s|files:"
done
if command -v perf >/dev/null; then
  echo "== profile (zstd 3)"
  perf record -e cpu-clock -F 499 -g -o "$OUT/perf.data" "$BIN" "$N" "$P" 3 >/dev/null 2>&1 || true
  perf report -i "$OUT/perf.data" --no-children --stdio --percent-limit 1.5 --sort symbol 2>/dev/null \
    | grep -E '^ +[0-9]' | head -30 || true
fi
rm -f "$OUT/messages.bin"
