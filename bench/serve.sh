#!/usr/bin/env bash
# Serving benchmark (issue 5): wrk posting {"rating": 4, "likes": 15, "length": 300} to
# /predict/model_1 with 32 connections on this machine (load generator included), against
# `reviewlake serve` and, in the same run, the Python peer (Flask on CherryPy, as the original
# served, with the centroids loaded once at start). Samples the server's RSS every second.
# Settings: DURATION (60 s for reviewlake, PEER_DURATION 30 s for the peer), CONNECTIONS (32),
# THREADS (wrk threads, 2), BENCH_LAKE (bench-out/sql-lake), COHORT_ROWS (500000).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
python3 -c "import flask, cherrypy" 2>/dev/null || pip install -q flask cherrypy
cargo build --release --workspace --bins --examples  # the build every bench script shares (same features, no rebuild)
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/reviewlake"
LAKE="${BENCH_LAKE:-$ROOT/bench-out/sql-lake}"
OUT="$ROOT/bench-out/serve"
mkdir -p "$OUT"
MODELS="$OUT/models"
if [ ! -f "$MODELS/models/model_1/CURRENT" ]; then
  [ -d "$LAKE/reviews" ] || { echo "no lake at $LAKE: run bench/ingest.sh and bench/sql.sh first" >&2; exit 1; }
  "$BIN" train --lake "$LAKE" --models-location "$MODELS" --cohort-rows "${COHORT_ROWS:-500000}"
fi
PORT=19999; PEER_PORT=19998
LUA="$OUT/post.lua"
cat > "$LUA" <<'LUA'
wrk.method = "POST"
wrk.body = '{"rating": 4, "likes": 15, "length": 300}'
wrk.headers["Content-Type"] = "application/json"
LUA
rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
wait_port() { for _ in $(seq 100); do curl -sf "http://127.0.0.1:$1$2" >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "server on $1 did not start" >&2; return 1; }
load() { # name port duration pid
  local samples="$OUT/$1.rss"; : > "$samples"
  ( while kill -0 "$4" 2>/dev/null; do rss "$4" >> "$samples"; sleep 1; done ) & local sampler=$!
  wrk -t"${THREADS:-2}" -c"${CONNECTIONS:-32}" -d"$3" --latency -s "$LUA" "http://127.0.0.1:$2/predict/model_1" > "$OUT/$1.wrk"
  kill "$sampler" 2>/dev/null || true
  echo "== $1"; cat "$OUT/$1.wrk"
  echo "RSS KiB first/max/last over the run: $(head -1 "$samples") / $(sort -n "$samples" | tail -1) / $(tail -1 "$samples")"
}
REVIEWLAKE_LOG=warn "$BIN" serve --models-location "$MODELS" --bind "127.0.0.1:$PORT" & SERVER=$!
trap 'kill $SERVER ${PEER:-} 2>/dev/null || true' EXIT
wait_port $PORT /ready
echo "reviewlake answer: $(curl -s -X POST "http://127.0.0.1:$PORT/predict/model_1" -H 'Content-Type: application/json' -d '{"rating": 4, "likes": 15, "length": 300}')"
load reviewlake $PORT "${DURATION:-60}s" $SERVER
kill $SERVER; wait $SERVER 2>/dev/null || true
CURRENT_DIR=$(python3 -c "import json,sys; print(json.load(open('$MODELS/models/model_1/CURRENT'))['dir'])")
python3 bench/flask_peer.py "$MODELS/$CURRENT_DIR/model.json" $PEER_PORT & PEER=$!
wait_port $PEER_PORT /health
echo "peer answer: $(curl -s -X POST "http://127.0.0.1:$PEER_PORT/predict/model_1" -H 'Content-Type: application/json' -d '{"rating": 4, "likes": 15, "length": 300}')"
load peer $PEER_PORT "${PEER_DURATION:-30}s" $PEER
python3 - "$OUT/reviewlake.wrk" "$OUT/peer.wrk" <<'PY'
import re, sys
def parse(path):
    t = open(path).read()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
    def lat(p):
        v, unit = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)", t).groups()
        return float(v) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
    return rps, lat(50), lat(99), int(errors.group(1)) if errors else 0
ours, peer = parse(sys.argv[1]), parse(sys.argv[2])
print()
print(f"{'server':<28} {'requests/s':>11} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8}")
for name, r in [("reviewlake serve (axum)", ours), ("Flask on CherryPy (peer)", peer)]:
    print(f"{name:<28} {r[0]:>11.0f} {r[1]:>8.3f} {r[2]:>8.3f} {r[3]:>8}")
print(f"throughput ratio reviewlake / peer: {ours[0] / peer[0]:.1f}x")
PY
