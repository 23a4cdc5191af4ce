"""The Python peer of the writer benchmark: the same messages (dumped by examples/writer_bench.rs),
decoded with the standard json module, validated as ingest validates them, built into pyarrow
tables of 500 rows per partition and written as Parquet files with zstd (level 3), rejected
records to their own files. No Delta commits: the peer does less than reviewlake does.

Usage: writer_peer.py DUMP OUT_DIR
"""
import json, os, struct, sys, time
from datetime import datetime

import pyarrow as pa
import pyarrow.parquet as pq

dump, out = sys.argv[1], sys.argv[2]
data = open(dump, "rb").read()
messages = []
pos = 0
while pos < len(data):
    partition, offset = struct.unpack_from("<iq", data, pos)
    pos += 12
    parts = []
    for _ in range(2):
        (n,) = struct.unpack_from("<I", data, pos)
        pos += 4
        parts.append(data[pos:pos + n])
        pos += n
    messages.append((partition, offset, parts[0], parts[1]))
os.makedirs(out, exist_ok=True)


def integer(v, lo, hi):
    if isinstance(v, bool):
        raise ValueError
    n = int(v) if isinstance(v, int) else int(str(v).strip())
    if not lo <= n <= hi:
        raise ValueError
    return n


started = time.perf_counter()
pending = {}
files = 0
rows = rejected = 0


def flush(p):
    global files
    good, bad = pending.pop(p)
    for name, batch in (("reviews", good), ("rejected", bad)):
        if batch:
            table = pa.Table.from_pylist(batch)
            pq.write_table(table, f"{out}/{name}-{p}-{files}.parquet", compression="zstd", compression_level=3)
            files += 1


for partition, offset, key, payload in messages:
    good, bad = pending.setdefault(partition, ([], []))
    try:
        r = json.loads(payload)
        if not isinstance(r, dict) or not str(r.get("review_id") or "").strip():
            raise ValueError
        text = r.get("review_text")
        good.append({
            "review_id": r["review_id"], "pseudo_author_id": r.get("pseudo_author_id"),
            "author_name": r.get("author_name"), "review_text": text,
            "review_length": None if text is None else len(text),
            "review_rating": integer(r.get("review_rating"), 1, 5),
            "review_likes": integer(r.get("review_likes"), 0, 2**63 - 1),
            "author_app_version": r.get("author_app_version"),
            "review_timestamp": datetime.strptime(r["review_timestamp"], "%Y-%m-%d %H:%M:%S"),
            "kafka_partition": partition, "kafka_offset": offset,
        })
        rows += 1
    except Exception as e:  # noqa: BLE001 - every failure is a rejected record
        bad.append({"kafka_partition": partition, "kafka_offset": offset, "kafka_key": key,
                    "payload": payload, "reason": type(e).__name__})
        rejected += 1
    if len(good) + len(bad) >= 500:
        flush(partition)
for p in list(pending):
    flush(p)
secs = time.perf_counter() - started
print(f"python peer: {rows + rejected} records ({rows} reviews, {rejected} rejected) in {secs:.2f} s: "
      f"{(rows + rejected) / secs:.0f} rows/s, {files} files")
