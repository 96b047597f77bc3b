"""RefSet.open on a shard manifest (`mh refset shard`): every answer through the manifest
equals the answer of the unsharded set (oracle: the one set itself, opened the same way):
lookups of every stored value and of absent ones, numpy PDQ batch searches (indexes
included), pdq_matches, info counts, verify, and scans; plus the error paths (a replaced
shard, a missing manifest or shard)."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess

import numpy as np
import pytest

import mediahash


@pytest.fixture(scope="module")
def big_set(tmp_path_factory, tree, mh):
    """A set of 600 MD5 + 400 SHA-1 values (some in two lists), 300 random PDQ hashes with
    near copies, the tree's pictures' PDQ hashes and the MD5 of notes.txt; and its
    manifest split 5 ways."""
    work = tmp_path_factory.mktemp("shards")
    rng = np.random.default_rng(23)
    md5s = [bytes(r).hex() for r in rng.integers(0, 256, (600, 16), dtype=np.uint8)]
    md5s.append(hashlib.md5((tree / "notes.txt").read_bytes()).hexdigest())
    sha1s = [bytes(r).hex() for r in rng.integers(0, 256, (400, 20), dtype=np.uint8)]
    (work / "a.md5").write_text("".join(f"{h}  a{i}.jpg\n" for i, h in enumerate(md5s)))
    (work / "b.md5").write_text("".join(f"{h}  b{i}.jpg\n" for i, h in enumerate(md5s[::7])))
    (work / "c.sha1").write_text("".join(f"{h}  c{i}.jpg\n" for i, h in enumerate(sha1s)))
    pdqs = rng.integers(0, 256, (300, 32), dtype=np.uint8)
    near = pdqs[:100].copy()
    near[:, 5] ^= 0x11
    rows = [f"{bytes(r).hex()},{50 + i % 50}\n" for i, r in enumerate(np.vstack([pdqs, near]))]
    for p in sorted((tree / "a").glob("pic*.png")):
        h = mediahash.hash_file(p)
        rows.append(f"{h.pdq_hex},{h.pdq_quality}\n")
    (work / "d-pdq.csv").write_text("".join(rows))
    one = work / "all.mhset"
    subprocess.run([mh, "refset", "build", "-o", str(one), "--alert", str(work / "a.md5"),
                    str(work / "b.md5"), str(work / "d-pdq.csv"), "--ignore", str(work / "c.sha1")],
                   check=True, capture_output=True)
    out = work / "five"
    out.mkdir()
    subprocess.run([mh, "refset", "shard", str(one), "--shards", "5", "--out-dir", str(out)],
                   check=True, capture_output=True)
    manifest = out / "all.shards.json"
    assert manifest.exists()
    return {"one": one, "manifest": manifest, "md5": md5s, "sha1": sha1s,
            "pdq": np.vstack([pdqs, near])}


def test_lookups_through_the_manifest_equal_the_one_set(big_set):
    one = mediahash.RefSet.open(big_set["one"])
    many = mediahash.RefSet.open(big_set["manifest"])
    assert many.sharded and not one.sharded
    assert len(many.info()["shards"]) == 5
    for h in big_set["md5"] + big_set["sha1"]:
        found = one.lookup(h)
        assert found and many.lookup(h) == found, h
    for row in big_set["pdq"][::7]:
        assert many.lookup(row.tobytes(), kind="pdq") == one.lookup(row.tobytes(), kind="pdq")
    assert many.lookup("0" * 32) == [] and many.lookup("f" * 40) == []


def test_pdq_batch_search_and_info_equal_the_one_set(big_set):
    one = mediahash.RefSet.open(big_set["one"])
    many = mediahash.RefSet.open(big_set["manifest"], mapped=True)
    rng = np.random.default_rng(4)
    needles = big_set["pdq"][::3].copy()
    flips = rng.integers(0, 256, (len(needles), 6))
    for i, bits in enumerate(flips):
        for b in bits:
            needles[i, b // 8] ^= 1 << (b % 8)
    needles = np.vstack([needles, rng.integers(0, 256, (30, 32), dtype=np.uint8)])
    for radius in (0, 31, 90):
        a, b = one.search_pdq(needles, radius=radius), many.search_pdq(needles, radius=radius)
        assert len(a["needle"]) > 0 or radius == 0
        for key in ("needle", "distance", "index", "hash"):
            assert (a[key] == b[key]).all(), (radius, key)
            assert a[key].dtype == b[key].dtype
    for row in needles[:20]:
        assert many.pdq_matches(row.tobytes()) == one.pdq_matches(row.tobytes())
    counts = {c["kind"]: c["count"] for c in one.info()["counts"]}
    assert {c["kind"]: c["count"] for c in many.info()["counts"]} == counts
    many.verify()
    manifest = json.loads(big_set["manifest"].read_text())
    assert many.info()["manifest"] == manifest
    assert many.sha256 == hashlib.sha256(big_set["manifest"].read_bytes()).hexdigest()


def test_scan_through_the_manifest_equals_the_one_set(big_set, tree, mh, tmp_path):
    ours = list(mediahash.scan(tree, [big_set["manifest"]], dihedral=True))
    theirs = list(mediahash.scan(tree, [big_set["one"]], dihedral=True))
    assert ours == theirs
    assert any(r["disposition"] == "alert" for r in ours)
    report = tmp_path / "mh.jsonl"
    subprocess.run([mh, "scan", "--no-progress", "--dihedral", "--refset", str(big_set["one"]),
                    "--report", str(report), str(tree)], capture_output=True)
    entries = [json.loads(l) for l in report.read_text().splitlines()][1:-1]
    assert ours == entries


def test_sharded_error_paths(big_set, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(big_set["manifest"].parent, copy)
    manifest = copy / big_set["manifest"].name
    with pytest.raises(mediahash.FileSystemError) as e:
        mediahash.RefSet.open(copy / "missing.shards.json")
    assert e.value.status == 101
    # A shard replaced by another valid set: refused by the manifest's SHA-256.
    names = [f["name"] for f in json.loads(manifest.read_text())["files"]]
    shutil.copy(big_set["one"], copy / names[2])
    with pytest.raises(mediahash.RefsetError) as e:
        mediahash.RefSet.open(manifest)
    assert "manifest lists" in str(e.value) and e.value.status == 202
    # Without the check it opens; verify() then finds it.
    s = mediahash.RefSet.open(manifest, verify=False)
    with pytest.raises(mediahash.RefsetError):
        s.verify()
    # A shard missing.
    (copy / names[2]).unlink()
    with pytest.raises(mediahash.FileSystemError):
        mediahash.RefSet.open(manifest)
    # Not a manifest.
    (copy / "junk.json").write_text("{\"format\": \"something else\"}")
    with pytest.raises(mediahash.RefsetError):
        mediahash.RefSet.open(copy / "junk.json")
