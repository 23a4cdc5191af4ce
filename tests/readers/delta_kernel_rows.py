#!/usr/bin/env python3
"""An independent reader of reviewlake's tables: Delta's own kernel (delta-kernel-rs, through
PyPI's delta-kernel-rust-sharing-wrapper) into pyarrow, with no reviewlake or delta-rs code.

    delta_kernel_rows.py TABLE_URL [VERSION]

Prints a JSON object: the snapshot version, and every row's [partition, kafka_offset] sorted.
"""
import json
import sys

import delta_kernel_rust_sharing_wrapper as dk

url = sys.argv[1]
engine = dk.PythonInterface(url)
snapshot = dk.Table(url).snapshot(engine)
result = dk.ScanBuilder(snapshot).build().execute(engine)
table = result.read_all() if hasattr(result, "read_all") else result
rows = [] if table.num_rows == 0 else sorted(
    zip(table.column("partition").to_pylist(), table.column("kafka_offset").to_pylist()))
print(json.dumps({"version": snapshot.version(), "rows": rows}))
