"""One process per query, alternated run by run: `reviewlake sql` of one or more binaries (an A/B
of two builds), and with --duckdb the DuckDB CLI over the same snapshot's files (the list
`reviewlake lake files` prints, as bench/sql_bench.py reads them). Prints each one's median and
minimum and the ratios of the medians to the first.

Processes of about 20 ms vary by a few milliseconds with the machine's other work; runs made one
after another (sql_bench's best of REPEAT) can then fall either side of a small difference, while
alternating spreads that noise over every executable alike. Each executable is first copied into
a fresh folder, as sql_bench.py does (BENCHMARKS.md, "Start-up and the page cache").

usage: alternate.py RUNS LAKE SQL BINARY [BINARY...] [--duckdb]
  SQL reads the table `reviews`; for DuckDB that name is replaced by the scan of its files."""
import re, statistics, subprocess, sys, time

from sql_table import duckdb_cli_path, installed_copy, read_parquet, snapshot_files

args = [a for a in sys.argv[1:] if a != "--duckdb"]
with_duckdb = "--duckdb" in sys.argv[1:]
if len(args) < 4:
    sys.exit(__doc__)
runs, lake, sql, binaries = int(args[0]), args[1], args[2], args[3:]

commands = {}
for i, b in enumerate(binaries):
    commands[b] = ([installed_copy(b, f"reviewlake-{i}"), "sql", "--lake", lake, sql], None)
if with_duckdb:
    scan = read_parquet(snapshot_files(binaries[0], lake))
    script = "SET threads TO 2;\n" + re.sub(r"\breviews\b", lambda _: scan, sql) + ";\n"
    cli = installed_copy(duckdb_cli_path(), "duckdb")
    commands["DuckDB CLI"] = ([cli, "-init", "/dev/null", "-bail"], script)

times = {name: [] for name in commands}
for run in range(runs + 2):  # the first two rounds warm the page cache and are not counted
    for name, (argv, stdin) in commands.items():
        t = time.perf_counter()
        subprocess.run(argv, input=stdin, text=True, capture_output=True, check=True)
        if run >= 2:
            times[name].append(time.perf_counter() - t)

first = statistics.median(times[binaries[0]])
for name, ts in times.items():
    median = statistics.median(ts)
    print(f"{name}: median {median * 1e3:.1f} ms, min {min(ts) * 1e3:.1f} ms over {len(ts)} runs; "
          f"median / first's {median / first:.2f}")
