"""What the SQL benchmarks share (bench/sql_bench.py, bench/scale.sh, bench/alternate.py): the
figures of one query in their tables (the two like-for-like pairs, one process per query and a
running process, each with its ratio DuckDB / reviewlake, above 1: reviewlake is faster), the
DuckDB scan of a snapshot's files, where the DuckDB CLI is, and the fresh copies the
executables run from."""
import atexit, os, shutil, subprocess, tempfile

HEADER = ("reviewlake s (process) | DuckDB CLI s (process) | DuckDB CLI / reviewlake "
          "| reviewlake s (running) | DuckDB s (running, Python) | DuckDB / reviewlake (running)")
ALIGN = "---:|---:|---:|---:|---:|---:"

def cells(q):
    """The six figures of `q`, one query's entry in sql_bench's results, `|`-separated."""
    warm = q["reviewlake_in_process"]
    running = f"{warm:.3f} | {q['duckdb']:.3f} | {q['duckdb'] / warm:.2f}x" if warm else f"- | {q['duckdb']:.3f} | -"
    return f"{q['reviewlake']:.3f} | {q['duckdb_cli']:.3f} | {q['duckdb_cli'] / q['reviewlake']:.2f}x | {running}"

def duckdb_cli_path():
    """The DuckDB CLI executable: DUCKDB_CLI, or else the native binary the `duckdb-cli` wheel
    installs (its `duckdb` script starts Python first, the binary does not)."""
    if os.environ.get("DUCKDB_CLI"):
        return os.environ["DUCKDB_CLI"]
    import duckdb_cli
    return os.path.join(os.path.dirname(duckdb_cli.__file__), "duckdb")

def snapshot_files(binary, lake):
    """The data files of the lake's current `reviews` snapshot, as `reviewlake lake files` lists
    them (DuckDB's delta extension cannot be downloaded here)."""
    return subprocess.run([binary, "lake", "files", "--lake", lake], check=True,
                          capture_output=True, text=True).stdout.split()

def read_parquet(files):
    """DuckDB's table expression over `files`, with the partition columns from their paths."""
    return "read_parquet([" + ", ".join(f"'{f}'" for f in files) + "], hive_partitioning=true)"

_installed = None

def installed_copy(executable, name):
    """`executable` copied into a fresh folder as `name`, as an install would put it: a process's
    start depends on how its executable sits in the page cache (BENCHMARKS.md, "Start-up and the
    page cache"). The folder is removed however the run ends: each copy of reviewlake is about
    1 GB."""
    global _installed
    if _installed is None:
        _installed = tempfile.mkdtemp(prefix="sql-bench-bin-")
        atexit.register(shutil.rmtree, _installed, ignore_errors=True)
    return shutil.copy2(executable, os.path.join(_installed, name))
