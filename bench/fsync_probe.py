"""What the durable local puts cost on this disk: writes N files of SIZE bytes the way
lake/src/durable.rs does (staging name, link into place, unlink the staging name), first without
any fsync (as object_store's LocalFileSystem does), then with the file and its folder fsynced,
and prints the time per file of each and the ratio.

    python3 bench/fsync_probe.py [DIR=/tmp/fsync-probe] [N=200] [SIZE=40000]
"""
import os, sys, time

d = sys.argv[1] if len(sys.argv) > 1 else "/tmp/fsync-probe"
n = int(sys.argv[2]) if len(sys.argv) > 2 else 200
size = int(sys.argv[3]) if len(sys.argv) > 3 else 40000
os.makedirs(d, exist_ok=True)
data = os.urandom(size)
per_file = {}
for sync in (False, True):
    start = time.time()
    for i in range(n):
        staged, final = f"{d}/f{i}.parquet#1", f"{d}/f{i}.parquet"
        with open(staged, "wb") as f:
            f.write(data)
            if sync:
                f.flush()
                os.fsync(f.fileno())
        os.link(staged, final)
        os.remove(staged)
        if sync:
            fd = os.open(d, os.O_RDONLY)
            os.fsync(fd)
            os.close(fd)
    per_file[sync] = (time.time() - start) / n * 1000
    for i in range(n):
        os.remove(f"{d}/f{i}.parquet")
print(f"{n} files of {size} bytes: {per_file[False]:.2f} ms per file without fsync, "
      f"{per_file[True]:.2f} ms with the file and folder fsynced ({per_file[True] / per_file[False]:.1f}x)")
