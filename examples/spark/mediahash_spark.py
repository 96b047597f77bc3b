"""Scan evidence on Apache Spark with the mediahash Python package (issue #17).

    spark-submit examples/spark/mediahash_spark.py --refset sets.mhset --out out/ ROOT...
    python examples/spark/mediahash_spark.py --master 'local[2]' --refset sets.mhset --out out/ ROOT...

What runs where:

* The driver lists the regular files under each root (no links followed, like ``mh scan``)
  and ships each ``.mhset`` to the executors with ``SparkContext.addFile``. A shard manifest
  (``SET.shards.json`` from ``mh refset shard``) is shipped with every shard it lists; the
  executors open it as one set (``mediahash.RefSet.open`` on the manifest: the library's
  ``ShardedSet`` routes each exact lookup to its shard and fans PDQ searches out to all).
  ``--map-refsets`` maps the shipped files instead of copying them into each Python worker
  (for sets larger than an executor's memory; the page cache is shared by the workers).
* Each task opens the shipped sets once per Python worker (``SparkFiles.get``; cached) and
  runs ``mediahash.scan`` over its slice of files: hashing, decoding and matching (exact
  digests and PDQ within the radius, dihedral/robust as asked) are the library's, so every
  record is the dict ``mh scan`` writes for that file, plus ``executor`` (host/pid of the
  Python worker) and ``partition``.
* ``--exact-list FILE`` (md5sum/sha1sum/sha256sum-style lists, ``HEX  name``, as many as
  given) adds the scale-out path for exact lists too large to ship: the lists are read as a
  DataFrame on the cluster and joined with the records' digests; each record gets
  ``exact_join``: the list entries (``list``, ``kind``, ``name``) whose digest equals the
  file's.
* Output: ``--format jsonl`` (one JSON object per line, part files) or ``parquet``.

Only regular files get records: directories, links, FIFOs and devices (which ``mh scan``
records as ``directory``/``skipped``) are not distributed; run ``mh scan`` for a complete
per-entry report of one evidence item, this job for throughput across many.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
from typing import Iterable, Iterator, List

_SETS: dict = {}


def list_files(roots: Iterable[str]) -> List[str]:
    """Regular files under each root (a root that is a file is itself), sorted, no links
    followed (``os.walk`` does not enter linked directories and ``is_file`` is checked on the
    entry itself)."""
    out = []
    for root in roots:
        if os.path.isfile(root) and not os.path.islink(root):
            out.append(root)
            continue
        for dirpath, dirnames, filenames in os.walk(root):
            for name in filenames:
                path = os.path.join(dirpath, name)
                if os.path.isfile(path) and not os.path.islink(path):
                    out.append(path)
    return sorted(set(out))


def _open_sets(names: List[str], mapped: bool = False):
    import mediahash
    from pyspark import SparkFiles

    key = (tuple(names), mapped)
    if key not in _SETS:
        # Verified when first opened in this worker (a damaged copy fails the task).
        _SETS[key] = [mediahash.RefSet.open(SparkFiles.get(n), mapped=mapped) for n in names]
    return _SETS[key]


def ship_sets(sc, refsets: Iterable[str]) -> List[str]:
    """``addFile`` for each set (and, for a shard manifest, every shard it lists, into the
    same SparkFiles folder, where the manifest's relative names resolve); returns the names
    the executors open."""
    names = []
    shipped = set()
    for path in refsets:
        path = os.path.abspath(path)
        files = [path]
        if path.endswith(".json"):
            with open(path) as f:
                manifest = json.load(f)
            folder = os.path.dirname(path)
            files += [os.path.join(folder, entry["name"]) for entry in manifest["files"]]
        for f in files:
            if os.path.basename(f) in shipped:
                raise ValueError(f"two shipped files are named {os.path.basename(f)!r}: "
                                 "SparkFiles keeps one folder; rename one")
            shipped.add(os.path.basename(f))
            sc.addFile(f)
        names.append(os.path.basename(path))
    return names


def scan_partition(paths: Iterator[str], set_names: List[str], options: dict,
                   mapped: bool = False) -> Iterator[str]:
    """Runs on an executor: one library scan over this partition's files."""
    import mediahash
    from pyspark import TaskContext

    paths = list(paths)
    if not paths:
        return
    sets = _open_sets(set_names, mapped)
    ctx = TaskContext.get()
    executor = f"{socket.gethostname()}/{os.getpid()}"
    partition = ctx.partitionId() if ctx is not None else -1
    for record in mediahash.scan(paths, sets, **options):
        record["executor"] = executor
        record["partition"] = partition
        yield json.dumps(record)


def parse_exact_list(line: str, list_name: str):
    """(kind, hex, name) of an md5sum/sha1sum/sha256sum-style line, or None (blank, comment,
    not a digest: the importer's full rules live in `mh refset build`)."""
    text = line.strip()
    if not text or text.startswith("#"):
        return None
    hex_part, _, name = text.partition(" ")
    hex_part = hex_part.lower()
    kind = {32: "md5", 40: "sha1", 64: "sha256"}.get(len(hex_part))
    if kind is None or any(c not in "0123456789abcdef" for c in hex_part):
        return None
    return (list_name, kind, hex_part, name.strip().lstrip("*"))


def join_exact_lists(spark, df, exact_lists):
    """Adds ``exact_join`` (list entries whose digest equals the record's) by a join."""
    from pyspark.sql import functions as F

    sc = spark.sparkContext
    lists = None
    for path in exact_lists:
        lname = os.path.basename(path)
        part = (
            sc.textFile(os.path.abspath(path))
            .map(lambda line, lname=lname: parse_exact_list(line, lname))
            .filter(lambda r: r is not None)
        )
        lists = part if lists is None else lists.union(part)
    ref = spark.createDataFrame(lists, "list string, kind string, hex string, name string")
    # One (path, kind, hex) row per digest, then an equi-join on (kind, hex): a shuffle
    # (or broadcast) hash join that scales with the lists, not a nested loop.
    digests = df.select(
        "path",
        F.explode(
            F.array(*[F.struct(F.lit(k).alias("kind"), F.col(k).alias("hex"))
                      for k in ("md5", "sha1", "sha256")])
        ).alias("d"),
    ).select("path", "d.kind", "d.hex").where(F.col("hex").isNotNull())
    hits = (
        digests.join(ref, ["kind", "hex"], "inner")
        .groupBy("path")
        .agg(F.sort_array(F.collect_list(F.struct("list", "kind", "name"))).alias("exact_join"))
    )
    return df.join(hits, "path", "left")


def run(spark, roots, refsets, out, fmt="jsonl", exact_lists=(), partitions=0,
        options=None, mapped=False) -> dict:
    """The job: returns a few figures (files, partitions, seconds per stage)."""
    import time

    sc = spark.sparkContext
    options = dict(options or {})
    options.setdefault("threads", 1)
    t0 = time.monotonic()
    # The executors import this module for scan_partition and parse_exact_list.
    if __name__ != "__main__":
        sc.addPyFile(os.path.abspath(__file__))
    names = ship_sets(sc, refsets)
    files = list_files(roots)
    t_list = time.monotonic()
    n = partitions or max(1, min(len(files), sc.defaultParallelism * 4))
    records = sc.parallelize(files, n).mapPartitions(
        lambda it: scan_partition(it, names, options, mapped)
    )
    if not exact_lists and fmt == "jsonl":
        # The records' own JSON text, one per line (part files under `out`).
        records.saveAsTextFile(out)
    else:
        # Schema inference reads the records once more: keep them instead of rescanning.
        records = records.persist()
        df = spark.read.json(records)
        if exact_lists:
            df = join_exact_lists(spark, df, exact_lists)
        if fmt == "parquet":
            df.write.mode("overwrite").parquet(out)
        else:
            df.toJSON().saveAsTextFile(out)
    t_end = time.monotonic()
    return {"files": len(files), "partitions": n, "list_seconds": t_list - t0,
            "total_seconds": t_end - t0}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("roots", nargs="+")
    p.add_argument("--refset", action="append", default=[],
                   help=".mhset or shard manifest (.shards.json) to ship and match")
    p.add_argument("--map-refsets", action="store_true",
                   help="map the shipped sets instead of copying them into each worker")
    p.add_argument("--exact-list", action="append", default=[],
                   help="md5sum/sha1sum/sha256sum-style list joined on the cluster")
    p.add_argument("--out", required=True)
    p.add_argument("--format", choices=["jsonl", "parquet"], default="jsonl")
    p.add_argument("--master", default=None, help="e.g. local[2] (spark-submit sets it)")
    p.add_argument("--partitions", type=int, default=0)
    p.add_argument("--dihedral", action="store_true")
    p.add_argument("--robust", action="store_true")
    p.add_argument("--pdq-radius", type=int, default=31)
    p.add_argument("--no-videos", action="store_true")
    args = p.parse_args(argv)

    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName("mediahash-scan")
    if args.master:
        builder = builder.master(args.master)
    spark = builder.getOrCreate()
    try:
        figures = run(spark, args.roots, args.refset, args.out, args.format, args.exact_list,
                      args.partitions, {"dihedral": args.dihedral, "robust": args.robust,
                                        "pdq_radius": args.pdq_radius,
                                        "videos": not args.no_videos},
                      mapped=args.map_refsets)
    finally:
        spark.stop()
    print(json.dumps(figures), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
