"""RefSet (lookup, search_pdq against a numpy brute force, verify, info) and scan (records
equal to `mh scan`'s JSON Lines on the same tree and set)."""

from __future__ import annotations

import hashlib
import json
import subprocess

import numpy as np
import pytest

import mediahash


def test_info_and_verify(refset, mh):
    s = mediahash.RefSet.open(refset)
    info = s.info()
    ref = json.loads(subprocess.run([mh, "refset", "info", str(refset)], check=True,
                                    capture_output=True, text=True).stdout)
    assert info["records"] == ref["records"] if "records" in ref else info["records"] > 0
    assert {c["kind"] for c in info["counts"]} >= {"md5", "pdq"}
    assert s.sha256 == hashlib.sha256(refset.read_bytes()).hexdigest()
    s.verify()
    assert s.path == str(refset)


def test_lookup(refset, tree):
    s = mediahash.RefSet.open(refset)
    md5 = hashlib.md5((tree / "notes.txt").read_bytes()).hexdigest()
    found = s.lookup(md5)
    assert len(found) == 1 and found[0]["disposition"] == "alert"
    assert s.lookup(bytes.fromhex(md5), kind="md5") == found
    assert s.lookup("0" * 32) == []
    pdq = mediahash.hash_file(tree / "a" / "pic0.png").pdq_hex
    assert len(s.lookup(pdq, kind="pdq")) == 1


def brute_force(stored: np.ndarray, needles: np.ndarray, radius: int):
    """(needle, distance, stored row) of every pair within radius, by numpy popcount."""
    bits_s = np.unpackbits(stored, axis=1)
    bits_n = np.unpackbits(needles, axis=1)
    d = (bits_n[:, None, :] != bits_s[None, :, :]).sum(axis=2)
    return {(int(i), int(d[i, j]), bytes(stored[j])) for i, j in zip(*np.nonzero(d <= radius))}


def test_search_pdq_batch_equals_brute_force(refset, tree):
    s = mediahash.RefSet.open(refset)
    stored = np.array([list(mediahash.hash_file(p).pdq) for p in sorted((tree / "a").glob("*.png"))],
                      dtype=np.uint8)
    queries = [mediahash.hash_file(p).pdq for p in sorted(tree.rglob("*")) if p.is_file()]
    needles = np.array([list(q) for q in queries if q is not None], dtype=np.uint8)
    rng = np.random.default_rng(3)
    needles = np.vstack([needles, rng.integers(0, 256, (20, 32), dtype=np.uint8)])
    for radius in (0, 31, 80):
        hits = s.search_pdq(needles, radius=radius)
        got = {(int(n), int(d), h.tobytes()) for n, d, h in
               zip(hits["needle"], hits["distance"], hits["hash"])}
        assert got == brute_force(stored, needles, radius), radius
        assert hits["needle"].dtype == np.int64 and hits["index"].dtype == np.uint64
    # Bits (as pdq() returns) and hex strings are accepted too.
    bits = np.unpackbits(needles[:3], axis=1)
    a, b = s.search_pdq(bits), s.search_pdq([bytes(r).hex() for r in needles[:3]])
    assert (a["distance"] == b["distance"]).all() and (a["index"] == b["index"]).all()
    matches = s.pdq_matches(bytes(needles[0]))
    assert matches and all("distance" in m for m in matches)


def test_search_pdq_releases_the_gil(refset):
    from concurrent.futures import ThreadPoolExecutor

    s = mediahash.RefSet.open(refset)
    needles = np.random.default_rng(5).integers(0, 256, (500, 32), dtype=np.uint8)
    ref = s.search_pdq(needles, radius=100)
    with ThreadPoolExecutor(4) as pool:
        for hits in pool.map(lambda _: s.search_pdq(needles, radius=100), range(4)):
            assert (hits["distance"] == ref["distance"]).all()


def mh_scan(mh, tree, refset, tmp_path, *extra):
    report = tmp_path / "report.jsonl"
    subprocess.run([mh, "scan", "--no-progress", "--refset", str(refset), "--report", str(report),
                    *extra, str(tree)], capture_output=True)
    lines = [json.loads(l) for l in report.read_text().splitlines()]
    return lines[0], [l for l in lines if l["record"] == "entry"], lines[-1]


def test_scan_records_equal_mh_scan(mh, tree, refset, tmp_path):
    header, entries, footer = mh_scan(mh, tree, refset, tmp_path)
    run = mediahash.scan(tree, [refset])
    ours = list(run)
    assert ours == entries
    assert len(ours) == footer["counts"]["total"] if "total" in footer["counts"] else True
    assert run.footer["counts"] == footer["counts"] and run.footer["completed"]
    assert run.exit_status == footer["exit_status"]
    for key in ("evidence_roots", "reference_sets", "options", "tool", "version"):
        assert run.header[key] == header[key], key
    dispositions = {e["disposition"] for e in ours}
    assert {"alert", "directory", "error"} <= dispositions


def test_scan_with_an_open_set_and_options(mh, tree, refset, tmp_path):
    _, entries, _ = mh_scan(mh, tree, refset, tmp_path, "--dihedral", "--threads", "1",
                            "--exclude", "*.txt")
    s = mediahash.RefSet.open(refset)
    ours = list(mediahash.scan([str(tree)], [s], dihedral=True, threads=1, exclude=["*.txt"]))
    assert ours == entries


def test_scan_close_early_and_context_manager(tree):
    with mediahash.scan(tree) as run:
        first = next(run)
        assert first["record"] == "entry"
    assert run.footer is None or run.footer["completed"] in (True, False)
    # Abandoning an iterator does not hang the interpreter.
    it = mediahash.scan(tree)
    next(it)
    del it
