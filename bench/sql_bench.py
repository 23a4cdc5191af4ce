"""SQL benchmark driver (bench/sql.sh, bench/scale.sh): reviewlake against DuckDB on the same
snapshot's Parquet files (the list `reviewlake lake files` prints: DuckDB's delta extension cannot
be downloaded here), before and after `reviewlake lake compact`, like for like twice over:
- one process per query: `reviewlake sql` (or `cohorts`) against the DuckDB CLI (`duckdb-cli` from
  PyPI), each reading the statement and the lake afresh;
- a running process: the same SQL at one `reviewlake sql` prompt (each statement reads the commits
  since the previous one and plans in a fresh session, timed by the prompt's `--timing`) against
  DuckDB in this Python process (a fresh connection per query).
Best of REPEAT runs each; the one-process runs of the two engines take turns. Both engines run
the shipped cohort files' query (the stored `review_length` column as the length feature); DuckDB
also runs the earlier window form, and its better time of the two is the one compared.

A process's start-up depends on how its executable sits in the page cache: the same reviewlake
binary ran a one-shot count in 23.0 ms where the linker had just written it and in 20.2 ms as a
fresh copy (BENCHMARKS.md, "Start-up and the page cache"). So both executables are first copied
into a fresh folder, as an install would, and run from there.

Arguments: BINARY LAKE REPEAT COHORT_ROWS [RESULTS_JSON]; with RESULTS_JSON, every figure is also
written there. DUCKDB_CLI: the CLI executable (default: the one `duckdb-cli` installs)."""
import json, subprocess, sys, time

import duckdb

from sql_table import (ALIGN, HEADER, cells, duckdb_cli_path, installed_copy, read_parquet,
                       snapshot_files)

binary, lake, repeat, cohort_rows = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
results_path = sys.argv[5] if len(sys.argv) > 5 else None

binary = installed_copy(binary, "reviewlake")
duckdb_cli = installed_copy(duckdb_cli_path(), "duckdb")
DUCKDB_VERSIONS = f"DuckDB {duckdb.__version__} in Python, CLI " + subprocess.run(
    [duckdb_cli, "--version"], check=True, capture_output=True, text=True).stdout.strip()

class Scan:
    """The DuckDB table expression over the current snapshot's files."""
    def __init__(self): self.refresh()
    def refresh(self):
        self.files = snapshot_files(binary, lake)
        self.sql = read_parquet(self.files)
    def __str__(self): return self.sql

glob = Scan()

SLICES = {
    # The earlier formulation: number the stream, keep one slice.
    "window": lambda k: f"""SELECT rating, likes, length FROM (
      SELECT review_rating AS rating, review_likes AS likes, review_length AS length,
        row_number() OVER (ORDER BY kafka_timestamp, kafka_partition, kafka_offset) AS arrival
      FROM {glob}) WHERE arrival > {k * cohort_rows} AND arrival <= {(k + 1) * cohort_rows}""",
    # The shipped cohort files' formulation.
    "limit/offset": lambda k: f"""SELECT review_rating AS rating, review_likes AS likes, review_length AS length
      FROM {glob} ORDER BY kafka_timestamp, kafka_partition, kafka_offset
      LIMIT {cohort_rows} OFFSET {k * cohort_rows}""",
}

def cohort_sql(k, form):
    return f"""SELECT count(*), sum(CASE WHEN ok THEN 0 ELSE 1 END),
      min(CASE WHEN ok THEN rating END), avg(CASE WHEN ok THEN rating END), max(CASE WHEN ok THEN rating END),
      min(CASE WHEN ok THEN likes END), avg(CASE WHEN ok THEN likes END), max(CASE WHEN ok THEN likes END),
      min(CASE WHEN ok THEN length END), avg(CASE WHEN ok THEN length END), max(CASE WHEN ok THEN length END)
    FROM (SELECT rating, likes, length, (rating IS NOT NULL AND likes IS NOT NULL AND length IS NOT NULL) AS ok
      FROM ({SLICES[form](k)}))"""

MONTHLY = """SELECT date_trunc('month', review_timestamp) AS month, count(*) AS reviews,
  avg(review_rating) AS rating, sum(review_likes) AS likes
  FROM {table} GROUP BY 1 ORDER BY 1"""

def queries():
    """The queries, over the current snapshot's files."""
    return {
        "count": (
            ["sql", "--lake", lake, "SELECT count(*) FROM reviews"],
            [f"SELECT count(*) FROM {glob}"],
        ),
        "group by rating": (
            ["sql", "--lake", lake, "SELECT review_rating, count(*) FROM reviews GROUP BY 1 ORDER BY 1"],
            [f"SELECT review_rating, count(*) FROM {glob} GROUP BY 1 ORDER BY 1"],
        ),
        "monthly rollup": (
            ["sql", "--lake", lake, MONTHLY.format(table="reviews")],
            [MONTHLY.format(table=glob)],
        ),
        "three-cohort assembly": (
            ["cohorts", "--lake", lake, "--cohort-rows", str(cohort_rows)],
            {form: [cohort_sql(k, form) for k in range(3)] for form in SLICES},
        ),
    }

def best(f):
    times = []
    for _ in range(repeat):
        t = time.perf_counter(); f(); times.append(time.perf_counter() - t)
    return min(times)

def run_reviewlake(args):
    subprocess.run([binary, *args], check=True, stdout=subprocess.DEVNULL)

def reviewlake_in_process(sql):
    """Best of REPEAT runs of `sql` at one `reviewlake sql` prompt (stdin), each statement reading
    the commits since the previous one and planning in a fresh session, timed by the prompt
    itself (`--timing`): the figure of a running process, as DuckDB's is."""
    script = (sql.strip() + ";\n") * repeat
    out = subprocess.run([binary, "sql", "--lake", lake, "--timing", "--format", "csv"], input=script,
                         check=True, capture_output=True, text=True)
    times = [float(line.split()[1]) / 1e3 for line in out.stderr.splitlines() if line.startswith("time: ")]
    assert len(times) == repeat, out.stderr
    return min(times)

def run_duckdb(statements):
    con = duckdb.connect()
    con.execute("SET threads TO 2")
    for s in statements:
        con.execute(s).fetchall()
    con.close()

def run_duckdb_cli(statements):
    """One DuckDB CLI process per query, the statements on stdin (a 30,000-file list is too long
    for one argument)."""
    script = "SET threads TO 2;\n" + "".join(st.strip() + ";\n" for st in statements)
    subprocess.run([duckdb_cli, "-init", "/dev/null", "-bail"], input=script, check=True,
                   stdout=subprocess.DEVNULL, text=True)

def files():
    return len(glob.files)

def table(rows):
    """The Markdown table of `rows` (measure's entries)."""
    lines = [f"| query | phase | {HEADER} |", f"|---|---|{ALIGN}|"]
    lines += [f"| {r['query']} | {r['phase']} compaction | {cells(r)} |" for r in rows]
    return "\n".join(lines)

def interleaved(runs):
    """Best of REPEAT runs of each of `runs` (name -> function), taken in turns: one run of each,
    REPEAT times, the order reversed every other turn. Processes of about 20 ms vary by a few
    milliseconds with the machine's other work; taking turns spreads that over every engine
    alike, where REPEAT runs of one engine and then REPEAT of the other could each land in a
    different phase of it (BENCHMARKS.md, "Where one process's 20 ms go")."""
    times = {name: [] for name in runs}
    order = list(runs.items())
    for turn in range(repeat):
        for name, f in (order if turn % 2 == 0 else order[::-1]):
            t = time.perf_counter(); f(); times[name].append(time.perf_counter() - t)
    return {name: min(ts) for name, ts in times.items()}

def measure(label):
    out = []
    for name, (rl, dd) in queries().items():
        forms = dd if isinstance(dd, dict) else {"": dd}
        by_form = {form: best(lambda: run_duckdb(statements)) for form, statements in forms.items()}
        d = min(by_form.values())
        # One process per query: reviewlake and the DuckDB CLI (each SQL form) in turns.
        process = interleaved({"reviewlake": lambda: run_reviewlake(rl)} | {
            form: (lambda statements=statements: run_duckdb_cli(statements))
            for form, statements in forms.items()})
        r = process.pop("reviewlake")
        cli_by_form = process
        cli = min(cli_by_form.values())
        if len(by_form) > 1:
            print("  " + "; ".join(f"duckdb {form}: {t:.3f} s (CLI {cli_by_form[form]:.3f} s)"
                                   for form, t in by_form.items()), flush=True)
        # The same SQL in a running reviewlake process (the cohorts run as their own command).
        warm = reviewlake_in_process(rl[-1]) if rl[0] == "sql" else None
        out.append({"phase": label, "query": name, "reviewlake": r, "duckdb_cli": cli, "duckdb": d,
                    "reviewlake_in_process": warm})
        line = f"  {label:<8} {name:<22} process: reviewlake {r:7.3f} s, duckdb CLI {cli:7.3f} s ({cli / r:5.2f}x)"
        if warm is not None:
            line += f"   running: reviewlake {warm:7.3f} s, duckdb {d:7.3f} s ({d / warm:5.2f}x)"
        else:
            line += f"   duckdb in Python {d:7.3f} s"
        print(line, flush=True)
    return out

files_before = files()
print(f"lake: {lake} ({files_before} files); {DUCKDB_VERSIONS}", flush=True)
before = measure("before")
t = time.perf_counter()
subprocess.run([binary, "lake", "compact", "--lake", lake], check=True)
compact_s = time.perf_counter() - t
glob.refresh()
print(f"compaction: {compact_s:.2f} s, now {files()} files", flush=True)
after = measure("after")
print()
print(table(before + after))
print()
print("| query | reviewlake before / after compaction |")
print("|---|---:|")
for b, a in zip(before, after):
    print(f"| {b['query']} | {b['reviewlake'] / a['reviewlake']:.2f}x |")
print(f"\ncompaction took {compact_s:.2f} s")
if results_path:
    with open(results_path, "w") as f:
        json.dump({"queries": before + after, "compaction_s": compact_s, "duckdb": DUCKDB_VERSIONS,
                   "files_before": files_before, "files_after": files()}, f, indent=1)
