#!/usr/bin/env bash
# Scale benchmark (issue 17, item 4). For each lake size in SIZES, on the test broker
# (scripts/services.sh):
#   1. build the lake: two `reviewlake ingest` processes in one consumer group read a fresh topic
#      of PARTITIONS partitions while `reviewlake produce` writes SIZE synthetic reviews to it
#      (both members hold partitions before the first record, so no member resumes inside a
#      producer batch, which the test broker cannot serve: see scripts/services.sh); partial
#      batches are written after 2 s (--max-latency), so the last records do not wait 30 s;
#   2. time count(*), a group-by, a monthly rollup and the three cohorts with reviewlake and, in the
#      same run, DuckDB over the same snapshot's files, before and after `lake compact`
#      (bench/sql_bench.py);
#   3. time `reviewlake train --cohort-rows SIZE/3` end to end (three cohorts of a third each).
# Then prints how each figure grew from the first size to the last.
# Settings: SIZES ("1500000 15000000"), PARTITIONS (10), REPEAT (3), BENCH_OUT (bench-out/scale).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SIZES="${SIZES:-1500000 15000000}"
PARTITIONS="${PARTITIONS:-10}"
REPEAT="${REPEAT:-3}"
OUT="${BENCH_OUT:-$ROOT/bench-out/scale}"
mkdir -p "$OUT"

scripts/services.sh up
. "${REVIEWLAKE_SERVICES_DIR:-$ROOT/.services}/env"
python3 -c "import duckdb" 2>/dev/null || pip install -q duckdb
python3 -c "import duckdb_cli" 2>/dev/null || pip install -q duckdb-cli  # the per-process peer
cargo build --release --workspace --bins --examples  # the build every bench script shares (same features, no rebuild)
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/reviewlake"

status_sum() {  # the members' /status: "<fewest partitions of one member> <partitions> <records and rejects committed>"
  python3 - "$@" <<'PY'
import json, sys, urllib.request
fewest, parts, taken = None, 0, 0
for port in sys.argv[1:]:
    try:
        s = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/status", timeout=2))
    except Exception:
        fewest = 0
        continue
    n = len(s["partitions"])
    fewest = n if fewest is None else min(fewest, n)
    parts += n; taken += s["records"] + s["rejected"]
print(fewest or 0, parts, taken)
PY
}

for rows in $SIZES; do
  run="$OUT/$rows"
  rm -rf "$run"; mkdir -p "$run"
  lake="$run/lake"
  topic="bench-scale-$rows-$(date +%s)"
  group="scale-$RANDOM"
  tansu topic create "$topic" --partitions "$PARTITIONS" --broker "tcp://$KAFKA_BROKERS" >/dev/null
  echo "== $rows reviews, $PARTITIONS partitions, topic $topic"
  pids=()
  for member in 1 2; do
    /usr/bin/time -f '{"max_rss_kb": %M, "wall": %e}' -o "$run/ingest$member.time" \
      "$BIN" ingest --topic "$topic" --lake "$lake" --group "$group" \
      --metrics-bind "127.0.0.1:1999$member" --max-latency 2s --log-level warn >"$run/ingest$member.log" 2>&1 &
    pids+=($!)
  done
  trap 'for pid in "${pids[@]}"; do pkill -TERM -P "$pid"; done 2>/dev/null || true' EXIT
  # Both members hold partitions and together all of them, twice in a row a second apart.
  stable=0
  while [ "$stable" -lt 2 ]; do
    sleep 1
    if read -r fewest assigned _ < <(status_sum 19991 19992) \
        && [ "$fewest" -gt 0 ] && [ "$assigned" -eq "$PARTITIONS" ]; then
      stable=$((stable + 1))
    else
      stable=0
    fi
  done
  echo "both members joined; producing"
  start=$(date +%s.%N)
  "$BIN" produce --topic "$topic" --synthetic "$rows" --seed 42 --log-level warn | tee "$run/produce.txt"
  last=-1
  while read -r _ _ taken < <(status_sum 19991 19992); [ "$taken" -lt "$rows" ]; do
    if [ "$taken" != "$last" ]; then printf "\r  ingested %s of %s" "$taken" "$rows"; last=$taken; fi
    if grep -q "offsets missing at the resume point" "$run"/ingest?.log; then
      echo; echo "a member was moved mid-run and resumed inside a producer batch, which the test broker skips: run again" >&2
      exit 1
    fi
    sleep 1
  done
  end=$(date +%s.%N)
  printf '\r  ingested %s of %s\n' "$rows" "$rows"
  # SIGTERM to the members themselves (`time` would die alone and leave them running).
  for pid in "${pids[@]}"; do pkill -TERM -P "$pid" || true; done
  wait "${pids[@]}" || true
  trap - EXIT
  python3 -c "print(f'ingest: {$rows / ($end - $start):,.0f} rows/s from the first produced record to the last commit ({$end - $start:.1f} s)')" \
    | tee "$run/ingest.txt"
  tansu topic delete "$topic" --broker "tcp://$KAFKA_BROKERS" >/dev/null || true  # the broker keeps topics in memory
  "$BIN" lake stats --lake "$lake" --format json >"$run/stats.json"

  python3 bench/sql_bench.py "$BIN" "$lake" "$REPEAT" "$((rows / 3))" "$run/sql.json" | tee "$run/sql.txt"

  echo "train --cohort-rows $((rows / 3)) (after compaction)"
  python3 - "$BIN" "$lake" "$((rows / 3))" "$REPEAT" "$run/train.json" <<'PY' | tee "$run/train.txt"
import json, subprocess, sys, time
binary, lake, cohort_rows, repeat, out = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
times = []
for i in range(repeat):
    t = time.perf_counter()
    subprocess.run([binary, "train", "--lake", lake, "--cohort-rows", cohort_rows, "--log-level", "warn"],
                   check=True, stdout=subprocess.DEVNULL)
    times.append(time.perf_counter() - t)
print(f"train end to end: best {min(times):.2f} s of {repeat}")
json.dump({"train_s": min(times)}, open(out, "w"))
PY
done

python3 - "$OUT" $SIZES <<'PY'
import json, sys
sys.path.insert(0, "bench")
from sql_table import ALIGN, HEADER, cells
out, sizes = sys.argv[1], sys.argv[2:]
runs = {}
for rows in sizes:
    sql = json.load(open(f"{out}/{rows}/sql.json"))
    train = json.load(open(f"{out}/{rows}/train.json"))
    stats = json.load(open(f"{out}/{rows}/stats.json"))["total"]
    assert stats["rows"] == int(rows), f"the {rows}-review lake holds {stats['rows']} rows"
    runs[rows] = (sql, train)
print(f"\n| query | files | rows | {HEADER} |")
print(f"|---|---|---:|{ALIGN}|")
for rows, (sql, _) in runs.items():
    for q in sql["queries"]:
        files = sql["files_before"] if q["phase"] == "before" else sql["files_after"]
        print(f"| {q['query']} | {files} ({q['phase']} compaction) | {int(rows):,} | {cells(q)} |")
if len(sizes) > 1:
    small, large = sizes[0], sizes[-1]
    scale = int(large) / int(small)
    print(f"\n| figure | growth from {int(small):,} to {int(large):,} rows ({scale:.0f}x the data), reviewlake | DuckDB |")
    print("|---|---:|---:|")
    for a, b in zip(runs[small][0]["queries"], runs[large][0]["queries"]):
        print(f"| {a['query']} ({a['phase']} compaction) | {b['reviewlake'] / a['reviewlake']:.1f}x | {b['duckdb'] / a['duckdb']:.1f}x |")
    print(f"| compaction | {runs[large][0]['compaction_s'] / runs[small][0]['compaction_s']:.1f}x | |")
    print(f"| train end to end | {runs[large][1]['train_s'] / runs[small][1]['train_s']:.1f}x | |")
PY
