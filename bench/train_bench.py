"""Side-by-side k-means benchmark: reviewlake train vs scikit-learn vs Spark MLlib.

Usage: train_bench.py BIN LAKE REPEAT COHORT_ROWS SPARK(0|1)
"""
import atexit, json, os, platform, shutil, statistics, subprocess, sys, tempfile, time

import numpy as np

BIN, LAKE, REPEAT, ROWS, SPARK = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5] == "1"
MODELS = ["model_1", "model_2", "model_3"]
work = tempfile.mkdtemp(prefix="train-bench-")
# Removed however the run ends (models and cohort CSVs of every run).
atexit.register(shutil.rmtree, work, ignore_errors=True)


def run(args):
    t = time.perf_counter()
    out = subprocess.run([BIN] + args, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"{args[0]} failed: {out.stderr}")
    return time.perf_counter() - t, out


def ours(engine):
    walls, fits, docs = [], [], None
    for i in range(REPEAT):
        loc = os.path.join(work, f"models-{engine}-{i}")
        wall, _ = run(["train", "--lake", LAKE, "--models-location", loc, "--cohort-rows", str(ROWS), "--engine", engine])
        _, out = run(["models", "--models-location", loc, "--format", "json"])
        docs = json.loads(out.stdout)
        walls.append(wall)
        fits.append(sum(d["timings"]["fit_seconds"] for d in docs))
    return walls, fits, docs


print(f"machine: {platform.node()} {os.cpu_count()} cores; lake {LAKE}; cohorts of {ROWS} rows; {REPEAT} runs each")
walls, fits, docs = ours("native")
lwalls, lfits, ldocs = ours("linfa")

# The exact cohort rows, for the peers.
data = {}
for m in MODELS:
    path = os.path.join(work, f"{m}.csv")
    with open(path, "w") as f:
        subprocess.run([BIN, "cohorts", "--lake", LAKE, "--cohort-rows", str(ROWS), "--dump", m, "--format", "csv"], stdout=f, check=True)
    data[m] = np.loadtxt(path, delimiter=",", skiprows=1)
    assert data[m].shape == (docs[MODELS.index(m)]["rows_used"], 3), (m, data[m].shape)

from sklearn.cluster import KMeans
from threadpoolctl import threadpool_info

sk = {}
sk_fit = []
for r in range(REPEAT):
    total = 0.0
    for m in MODELS:
        t = time.perf_counter()
        km = KMeans(n_clusters=3, n_init=10, random_state=42).fit(data[m])
        total += time.perf_counter() - t
        sk[m] = km.inertia_
    sk_fit.append(total)

spark = {}
spark_fit, spark_wall = None, None
if SPARK:
    t0 = time.perf_counter()
    from pyspark.sql import SparkSession
    from pyspark.ml.clustering import KMeans as SparkKMeans
    from pyspark.ml.feature import VectorAssembler
    s = SparkSession.builder.master("local[*]").config("spark.ui.enabled", "false").config("spark.driver.memory", "4g").getOrCreate()
    s.sparkContext.setLogLevel("ERROR")
    fit_total = 0.0
    for m in MODELS:
        df = s.read.csv(os.path.join(work, f"{m}.csv"), header=True, inferSchema=True)
        vec = VectorAssembler(inputCols=["rating", "likes", "length"], outputCol="features").transform(df).cache()
        vec.count()
        t = time.perf_counter()
        model = SparkKMeans(k=3, seed=42, featuresCol="features").fit(vec)
        fit_total += time.perf_counter() - t
        spark[m] = model.summary.trainingCost
    spark_wall = time.perf_counter() - t0
    spark_fit = fit_total
    s.stop()

med = statistics.median
print()
print(f"{'cohort':<8} {'rows':>7} {'reviewlake cost':>18} {'linfa cost':>18} {'sklearn cost':>18} {'spark cost':>18} {'ours/best anchor':>17}")
for i, m in enumerate(MODELS):
    # The anchors: linfa (10 runs), scikit-learn (n_init=10) and Spark MLlib, on the same rows.
    best = min([ldocs[i]["cost"], sk[m]] + ([spark[m]] if spark else []))
    print(f"{m:<8} {docs[i]['rows_used']:>7} {docs[i]['cost']:>18.1f} {ldocs[i]['cost']:>18.1f} {sk[m]:>18.1f} "
          f"{(spark.get(m) or float('nan')):>18.1f} {docs[i]['cost'] / best:>17.9f}")
print()
print(f"three fits, n_init=10: reviewlake {med(fits):.3f} s (min {min(fits):.3f}), linfa {med(lfits):.3f} s, "
      f"scikit-learn {med(sk_fit):.3f} s (min {min(sk_fit):.3f})")
print(f"  scikit-learn / reviewlake fit time: {med(sk_fit) / med(fits):.1f}x   linfa / reviewlake: {med(lfits) / med(fits):.1f}x")
print(f"reviewlake train end to end (SQL + 3 fits + artifacts): median {med(walls):.2f} s, min {min(walls):.2f} s; --engine linfa {med(lwalls):.2f} s")
if SPARK:
    print(f"Spark MLlib: 3 fits {spark_fit:.2f} s; whole run (session start, CSV load, fits) {spark_wall:.2f} s; "
          f"Spark whole run / reviewlake end to end: {spark_wall / med(walls):.1f}x")
print(f"reviewlake iterations: {[d['iterations'] for d in docs]}, best init: {[d['algorithm']['best_init'] for d in docs]}")
print("BLAS/OpenMP threads of scikit-learn:", [(x.get('internal_api'), x.get('num_threads')) for x in threadpool_info()])
