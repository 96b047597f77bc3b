"""`python -m mediahash` smoke tests: every subcommand, exit statuses, errors on stderr."""

from __future__ import annotations

import json
import subprocess
import sys


def run(*args):
    return subprocess.run([sys.executable, "-m", "mediahash", *map(str, args)],
                          capture_output=True, text=True)


def test_version():
    r = run("version")
    assert r.returncode == 0 and r.stdout.startswith("mediahash ")


def test_hash(tree):
    r = run("hash", "--dihedral", tree / "a" / "pic0.png", tree / "notes.txt")
    assert r.returncode == 0, r.stderr
    lines = [json.loads(l) for l in r.stdout.splitlines()]
    assert lines[0]["image_format"] == "png" and len(lines[0]["pdq_dihedral"]) == 8
    assert "pdq" not in lines[1]


def test_scan_output_is_mh_scan_jsonl(tree, refset, mh, tmp_path):
    r = run("scan", "--refset", refset, tree)
    assert r.returncode == 2, r.stderr  # the truncated JPEG is an error record
    lines = [json.loads(l) for l in r.stdout.splitlines()]
    assert lines[0]["record"] == "header" and lines[-1]["record"] == "footer"
    report = tmp_path / "mh.jsonl"
    subprocess.run([mh, "scan", "--no-progress", "--refset", str(refset), "--report",
                    str(report), str(tree)], capture_output=True)
    mh_lines = report.read_text().splitlines()
    ours = r.stdout.splitlines()
    # Entry lines are the library's own text: byte for byte.
    assert ours[1:-1] == mh_lines[1:-1]


def test_refset_commands(refset, tree):
    assert run("refset", "verify", refset).returncode == 0
    info = json.loads(run("refset", "info", refset).stdout)
    assert info["records"] > 0
    import hashlib

    md5 = hashlib.md5((tree / "notes.txt").read_bytes()).hexdigest()
    out = json.loads(run("refset", "lookup", refset, md5).stdout)
    assert out["matches"][0]["disposition"] == "alert"


def test_errors_and_usage(tmp_path):
    r = run("hash", tmp_path / "missing")
    assert r.returncode == 3 and "error 101" in r.stderr
    r = run("refset", "verify", tmp_path / "missing.mhset")
    assert r.returncode == 3 and "FileSystemError" in r.stderr
    assert run("no-such-command").returncode == 64
    assert run().returncode == 64
