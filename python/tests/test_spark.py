"""The PySpark job (examples/spark/mediahash_spark.py) on a local Spark (local[2]) over the
generated tree: its records equal `mh scan`'s file records on the same tree and set, and the
exact-digest join finds what the set's exact matches found."""

from __future__ import annotations

import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT

REQUIRE = os.environ.get("MEDIAHASH_REQUIRE_SPARK") == "1"


def _need_spark():
    missing = []
    try:
        import pyspark  # noqa: F401
    except ImportError:
        missing.append("pyspark (pip install pyspark)")
    if shutil.which("java") is None:
        missing.append("java (apt-get install openjdk-17-jre-headless)")
    if missing:
        if REQUIRE:
            pytest.fail(f"MEDIAHASH_REQUIRE_SPARK=1 but missing: {', '.join(missing)}")
        pytest.skip(f"needs {', '.join(missing)}")


@pytest.fixture(scope="module")
def spark():
    _need_spark()
    from pyspark.sql import SparkSession

    # The executors' Python must be this interpreter (it has the mediahash package).
    os.environ["PYSPARK_PYTHON"] = sys.executable
    session = (
        SparkSession.builder.master("local[2]")
        .appName("mediahash-test")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .getOrCreate()
    )
    yield session
    session.stop()


@pytest.fixture(scope="module")
def job():
    sys.path.insert(0, str(ROOT / "examples" / "spark"))
    import mediahash_spark

    return mediahash_spark


def read_jsonl(folder):
    out = []
    for part in sorted(glob.glob(os.path.join(folder, "part-*"))):
        with open(part) as f:
            out.extend(json.loads(line) for line in f if line.strip())
    return out


def mh_file_records(mh, tree, refset, tmp_path):
    report = tmp_path / "mh.jsonl"
    subprocess.run([mh, "scan", "--no-progress", "--refset", str(refset), "--report", str(report),
                    str(tree)], capture_output=True)
    lines = [json.loads(l) for l in report.read_text().splitlines()]
    return {l["path"]: l for l in lines if l["record"] == "entry" and l["kind"] == "file"}


def test_spark_job_equals_mh_scan(spark, job, mh, tree, refset, tmp_path):
    expected = mh_file_records(mh, tree, refset, tmp_path)
    out = str(tmp_path / "out-jsonl")
    figures = job.run(spark, [str(tree)], [str(refset)], out, "jsonl", partitions=3)
    assert figures["files"] == len(expected)
    records = read_jsonl(out)
    assert len(records) == len(expected)
    partitions = set()
    for r in records:
        assert r.pop("executor")
        partitions.add(r.pop("partition"))
        assert r == expected[r["path"]], r["path"]
    assert partitions == {0, 1, 2}
    assert any(r["disposition"] == "alert" for r in records)


def test_spark_exact_join_and_parquet(spark, job, mh, tree, refset, tmp_path):
    expected = mh_file_records(mh, tree, refset, tmp_path)
    # An md5sum list and a sha256sum list, joined on the cluster.
    files = sorted(p for p in tree.rglob("*") if p.is_file())
    md5_list = tmp_path / "known.md5"
    md5_list.write_text("".join(f"{hashlib.md5(p.read_bytes()).hexdigest()}  {p.name}\n"
                                for p in files[::3]) + "# comment\nnot a digest line\n")
    sha_list = tmp_path / "known.sha256"
    sha_list.write_text("".join(f"{hashlib.sha256(p.read_bytes()).hexdigest()} *{p.name}\n"
                                for p in files[1::4]))
    out = str(tmp_path / "out-parquet")
    job.run(spark, [str(tree)], [str(refset)], out, "parquet",
            exact_lists=[str(md5_list), str(sha_list)])
    rows = {r["path"]: r for r in (row.asDict(recursive=True)
                                   for row in spark.read.parquet(out).collect())}
    assert set(rows) == set(expected)
    for path, row in rows.items():
        ref = expected[path]
        assert row["sha256"] == ref["sha256"] and row["disposition"] == ref["disposition"]
        assert row["pdq"] == ref.get("pdq")
        data = open(path, "rb").read()
        want = []
        p = next(f for f in files if str(f) == path)
        if p in files[::3]:
            want.append(("known.md5", "md5", p.name))
        if p in files[1::4]:
            want.append(("known.sha256", "sha256", p.name))
        got = sorted((j["list"], j["kind"], j["name"]) for j in (row["exact_join"] or []))
        assert got == sorted(want), path
        assert hashlib.sha256(data).hexdigest() == row["sha256"]


def test_spark_job_with_a_sharded_set_equals_mh_scan(spark, job, mh, tree, refset, tmp_path):
    """The set split in 3 shards (`mh refset shard`), shipped as its manifest plus shards:
    the records equal `mh scan` with the unsharded set."""
    expected = mh_file_records(mh, tree, refset, tmp_path)
    shards = tmp_path / "shards"
    shards.mkdir()
    subprocess.run([mh, "refset", "shard", str(refset), "--shards", "3", "--out-dir", str(shards)],
                   check=True, capture_output=True)
    manifest = shards / (refset.name[: -len(".mhset")] + ".shards.json")
    out = str(tmp_path / "out-sharded")
    job.run(spark, [str(tree)], [str(manifest)], out, "jsonl", partitions=2, mapped=True)
    records = read_jsonl(out)
    assert len(records) == len(expected)
    for r in records:
        r.pop("executor"), r.pop("partition")
        assert r == expected[r["path"]], r["path"]
    assert any(r["disposition"] == "alert" for r in records)
