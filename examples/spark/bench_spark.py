"""Spark job measurements (issue #17), run by hand, not in CI.

    python examples/spark/bench_spark.py tree  DIR N          # N generated JPEG/PNG pictures
    python examples/spark/bench_spark.py scale DIR SET MH     # mh scan --threads 1/2 vs local[1]/local[2]
    python examples/spark/bench_spark.py ship  SET [N]        # addFile of SET to local[N] executors

* ``tree``: N pictures (640x480 gradients, waves and noise, 3 in 4 JPEG quality 90, 1 in 4
  PNG), in folders of 500, from a fixed seed.
* ``scale``: wall time of ``mh scan --threads 1`` and ``--threads 2`` over DIR with SET, then
  of the Spark job (``mediahash_spark.run``) in a fresh ``local[1]`` and ``local[2]``
  session each (JVM start-up timed separately: ``session`` is the time to get a session;
  ``job`` the job itself). Per-file overhead = (job - mh scan --threads 1) / files.
* ``ship``: ``SparkContext.addFile(SET)``, then one task per executor slot that opens
  ``SparkFiles.get(SET)`` with ``mediahash.RefSet.open`` (copied into the worker and
  verified) and returns its PID: the time until every slot has the set open, and the time
  for the same opens when the file is already shipped (a second job).

Every line printed carries the 1-minute load average (the machine is shared).
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent


def load() -> str:
    return open("/proc/loadavg").read().split()[0]


def make_tree(folder: pathlib.Path, n: int) -> None:
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(2026)
    folder.mkdir(parents=True, exist_ok=True)
    h, w = 480, 640
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    for i in range(n):
        sub = folder / f"d{i // 500:03d}"
        sub.mkdir(exist_ok=True)
        a, b, c = rng.uniform(2, 30, 3)
        wave = 60 * np.sin(a * x / w + b * y / h) * np.cos(c * y / h)
        img = np.stack([80 + 100 * x / w + wave, 80 + 100 * y / h + wave, 128 + wave], axis=2)
        img += rng.normal(0, 6, img.shape)
        pic = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
        if i % 4 == 3:
            pic.save(sub / f"p{i:05d}.png")
        else:
            pic.save(sub / f"p{i:05d}.jpg", quality=90)
    print(f"{n} pictures under {folder}")


def session(master: str):
    from pyspark.sql import SparkSession

    os.environ["PYSPARK_PYTHON"] = sys.executable
    return (SparkSession.builder.master(master).appName("mediahash-bench")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false").getOrCreate())


def scale(folder: str, refset: str, mh: str) -> None:
    sys.path.insert(0, str(HERE))
    import mediahash_spark

    files = len(mediahash_spark.list_files([folder]))
    mh_times = {}
    for threads in (1, 2):
        report = f"/tmp/bench-spark-mh-{os.getpid()}-{threads}.jsonl"
        start = time.monotonic()
        done = subprocess.run([mh, "scan", "--no-progress", "--threads", str(threads),
                               "--refset", refset, "--report", report, folder],
                              capture_output=True, text=True)
        mh_times[threads] = time.monotonic() - start
        os.unlink(report)
        if done.returncode not in (0, 1):
            sys.exit(f"mh scan failed: {done.stderr}")
        print(f"mh scan --threads {threads}: {mh_times[threads]:.1f} s, "
              f"{files / mh_times[threads]:.0f} files/s, load {load()}", flush=True)
    for n in (1, 2):
        start = time.monotonic()
        spark = session(f"local[{n}]")
        started = time.monotonic() - start
        out = f"/tmp/bench-spark-out-{os.getpid()}"
        shutil.rmtree(out, ignore_errors=True)
        try:
            # Workers start on the first job: warm them (and the set) on a few files first,
            # so `job` is the steady-state job a long-running session would see.
            first = mediahash_spark.list_files([folder])[:n]
            warm = mediahash_spark.run(spark, first, [refset], out + "-warm", "jsonl",
                                       partitions=n)
            figures = mediahash_spark.run(spark, [folder], [refset], out, "jsonl")
        finally:
            spark.stop()
            shutil.rmtree(out, ignore_errors=True)
            shutil.rmtree(out + "-warm", ignore_errors=True)
        job = figures["total_seconds"]
        print(f"local[{n}]: session {started:.1f} s, first job {warm['total_seconds']:.1f} s, "
              f"job {job:.1f} s ({figures['partitions']} partitions), {files / job:.0f} files/s, "
              f"per-file overhead vs mh --threads {n}: "
              f"{1000 * (job - mh_times[n]) / files:.2f} ms, load {load()}", flush=True)


def ship(refset: str, n: int) -> None:
    from pyspark import SparkFiles

    size = os.path.getsize(refset)
    name = os.path.basename(refset)
    start = time.monotonic()
    spark = session(f"local[{n}]")
    sc = spark.sparkContext
    print(f"session: {time.monotonic() - start:.1f} s, load {load()}", flush=True)

    def opened(_):
        import mediahash

        t = time.monotonic()
        s = mediahash.RefSet.open(SparkFiles.get(name))
        yield (os.getpid(), time.monotonic() - t, s.info()["file_len"])

    # Workers started once before timing (their launch is not the set's distribution).
    sc.parallelize(range(n), n).map(lambda _: os.getpid()).collect()
    try:
        for label in ("addFile + open", "open again (already shipped)"):
            start = time.monotonic()
            if label.startswith("addFile"):
                sc.addFile(os.path.abspath(refset))
            got = sc.parallelize(range(n), n).mapPartitions(opened).collect()
            wall = time.monotonic() - start
            opens = ", ".join(f"{t:.1f}" for _, t, _ in got)
            print(f"{label}: {size / 1e9:.2f} GB to {n} executor slots in {wall:.1f} s "
                  f"(opens in the workers: {opens} s), load {load()}", flush=True)
    finally:
        spark.stop()


def main() -> None:
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "tree":
        make_tree(pathlib.Path(sys.argv[2]), int(sys.argv[3]))
    elif cmd == "scale":
        scale(sys.argv[2], sys.argv[3], sys.argv[4])
    elif cmd == "ship":
        ship(sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 2)
    else:
        print(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main()
