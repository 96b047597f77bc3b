#!/usr/bin/env python3
"""Robustness harness for issue 12: recall per transform and false pairs, plain vs robust mh
vs the peers (pdqhash, imagehash pHash), on a corpus of originals.

    python3 -m venv ~/.cache/mh-robust/venv
    ~/.cache/mh-robust/venv/bin/pip install pillow numpy pdqhash imagehash scikit-image
    cargo build --release --bin mh
    ~/.cache/mh-robust/venv/bin/python benches/robustness/run.py --mh target/release/mh

Options: --originals DIR (your own folder of originals instead of the development corpus,
see corpus.py for its sources and licences), --subset N (first N originals), --transforms
a,b,c, --robust-radius R, --markdown (table for docs/robustness.md).

Method, per transform: every original's transformed copy is a query; the positive pair is
(query, its original), the negative pairs are (query, every other original). A pair matches
when a hash of the query is within the radius of a hash of the original, both of quality
>= 50 (PDQ; pHash has no quality). Plain: the plain hashes at PDQ <= 31 / pHash <= 8. Robust
(mh --robust): plain <= 31, or any other (query candidate, reference hash) combination within
the robust radius; "hash-only" compares with the originals' plain PDQ only (a set imported from
a hash list), "pictures" also with the originals' windows (a set built with --alert-images).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corpus  # noqa: E402
import transforms as T  # noqa: E402

PDQ_RADIUS, PHASH_RADIUS, QUALITY = 31, 8, 50


def words(hexes):
    """Hex strings -> (n, k) uint64 words (PDQ: 4 words, pHash: 1)."""
    b = np.array([bytes.fromhex(h) for h in hexes], dtype=object)
    raw = np.frombuffer(b"".join(b), dtype=">u8")
    return raw.reshape(len(hexes), -1).astype(np.uint64)


def pairwise(a, b):
    """Hamming distances between rows of a (n, k) and b (m, k)."""
    out = np.zeros((len(a), len(b)), dtype=np.int32)
    for k in range(a.shape[1]):
        out += np.bitwise_count(a[:, None, k] ^ b[None, :, k]).astype(np.int32)
    return out


def mh_hash(mh, paths_dir, extra, jobs):
    cmd = [mh, "hash", "-j", str(jobs), *extra, paths_dir]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode not in (0,):
        raise SystemExit(f"{' '.join(cmd)} failed: {res.stderr}")
    out = {}
    for line in res.stdout.splitlines():
        j = json.loads(line)
        out[os.path.splitext(os.path.basename(j["path"]))[0]] = j
    return out


def peers(path):
    import imagehash
    import pdqhash
    im = Image.open(path).convert("RGB")
    h, q = pdqhash.compute(np.asarray(im))
    hexpdq = np.packbits(np.asarray(h, dtype=np.uint8)).tobytes().hex()
    return {"pdq": hexpdq, "quality": int(q), "phash": str(imagehash.phash(im))}


def cached_peers(path, names, file_of):
    """Peer hashes, kept beside the queries (they never change for a given query file)."""
    have = json.load(open(path)) if os.path.exists(path) else {}
    todo = [nm for nm in names if nm not in have]
    for nm in todo:
        have[nm] = peers(file_of(nm))
    if todo:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            json.dump(have, f)
    return {nm: have[nm] for nm in names}


class Side:
    """One side's hashes for a method: per picture a list of (hex, quality, label)."""

    def __init__(self, names, per_name):
        self.names = names
        rows, owner, labels = [], [], []
        for i, n in enumerate(names):
            for h, q, label in per_name.get(n, []):
                if q >= QUALITY:
                    rows.append(h)
                    owner.append(i)
                    labels.append(label)
        self.w = words(rows) if rows else np.zeros((0, 4), np.uint64)
        self.owner = np.array(owner, dtype=np.int64)
        self.plain = np.array([l == "plain" for l in labels], dtype=bool)


def min_by_owner(d, qo, ro, nq, nr):
    """d (rows x cols) -> (nq, nr) minimum over the rows/cols belonging to each pair."""
    big = 10 ** 6
    out = np.full((nq, nr), big, dtype=np.int32)
    if d.size == 0:
        return out
    # Minimum over reference rows per original, then over query rows per query.
    per_ref = np.full((d.shape[0], nr), big, dtype=np.int32)
    for j in np.unique(ro):
        per_ref[:, j] = d[:, ro == j].min(axis=1)
    np.minimum.at(out, qo, per_ref)
    return out


def evaluate(qside, rside, n, robust_radius):
    """Returns (positive distance plain, positive distance robust, matrices) for one transform.
    Plain: plain vs plain. Robust: any combination but plain vs plain."""
    d = pairwise(qside.w, rside.w)
    big = 10 ** 6
    pp = d.copy()
    pp[~qside.plain, :] = big
    pp[:, ~rside.plain] = big
    plain = min_by_owner(pp, qside.owner, rside.owner, n, n)
    rb = d.copy()
    rb[np.ix_(qside.plain, rside.plain)] = big
    robust = min_by_owner(rb, qside.owner, rside.owner, n, n)
    return plain, robust


def summarise(plain, robust, radius_plain, robust_radius):
    n = plain.shape[0]
    eye = np.eye(n, dtype=bool)
    if robust is None:
        hit = plain <= radius_plain
    else:
        hit = (plain <= radius_plain) | (robust <= robust_radius)
    recall = hit[eye].mean() * 100
    false = int(hit[~eye].sum())
    return recall, false


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mh", default="target/release/mh")
    ap.add_argument("--cache", default=os.path.expanduser("~/.cache/mh-robust"))
    ap.add_argument("--testdata", default=os.environ.get("MEDIAHASH_TESTDATA", "/work/shared/testdata"))
    ap.add_argument("--originals", help="folder of originals (default: the development corpus)")
    ap.add_argument("--subset", type=int)
    ap.add_argument("--transforms")
    ap.add_argument("--extra", action="store_true", help="also letterbox, pillarbox, blurred padding")
    ap.add_argument("--robust-radius", type=int, default=None)
    ap.add_argument("--no-robust", action="store_true")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--json", help="write all figures here")
    args = ap.parse_args()

    if args.originals:
        orig_dir = os.path.abspath(args.originals)
        names = sorted(os.path.splitext(f)[0] for f in os.listdir(orig_dir))
        files = {os.path.splitext(f)[0]: os.path.join(orig_dir, f) for f in os.listdir(orig_dir)}
        qroot = os.path.join(args.cache, "queries-" + os.path.basename(orig_dir.rstrip("/")))
    else:
        rows = corpus.build(args.cache, args.testdata)
        orig_dir = os.path.join(args.cache, "originals")
        names = [r[0] for r in rows]
        files = {r[0]: os.path.join(orig_dir, r[0] + ".png") for r in rows}
        qroot = os.path.join(args.cache, "queries")
    if args.subset:
        names = names[: args.subset]
    n = len(names)
    tnames = list(T.TRANSFORMS) + (list(T.EXTRA) if args.extra else [])
    if args.transforms:
        tnames = args.transforms.split(",")
    robust = not args.no_robust

    t0 = time.time()
    # Reference side: the originals, hashed by mh (plain, and windows when robust) and peers.
    sub_dir = os.path.join(args.cache, f"orig-link-{n}")
    if not os.path.isdir(sub_dir):
        os.makedirs(sub_dir)
        for nm in names:
            os.link(files[nm], os.path.join(sub_dir, nm + os.path.splitext(files[nm])[1]))
    ref_mh = mh_hash(args.mh, sub_dir, ["--windows"] if robust else [], args.jobs)
    ref_peer = cached_peers(os.path.join(qroot, "originals.peers.json"), names, files.get)

    def mh_side(hashed, with_windows, with_candidates):
        per = {}
        for nm in names:
            j = hashed.get(nm)
            if not j or "pdq" not in j:
                continue
            lst = [(j["pdq"]["hash"], j["pdq"]["quality"], "plain")]
            if with_candidates:
                lst += [(c["hash"], c["quality"], c["what"]) for c in j.get("robust", [])]
            if with_windows:
                lst += [(c["hash"], c["quality"], c["window"]) for c in j.get("windows", [])]
            per[nm] = lst
        return Side(names, per)

    def phash_side(hashed):
        return words([hashed[nm]["phash"] for nm in names])

    refs = {
        "mh_pdq": mh_side(ref_mh, False, False),
        "peer_pdq": Side(names, {nm: [(p["pdq"], p["quality"], "plain")] for nm, p in ref_peer.items()}),
    }
    if robust:
        refs["mh_windows"] = mh_side(ref_mh, True, False)
    ref_ph = {"mh": phash_side(ref_mh), "peer": phash_side(ref_peer)}

    results = {}
    for t in tnames:
        qdir = os.path.join(qroot, t)
        os.makedirs(qdir, exist_ok=True)
        for nm in names:
            dst = os.path.join(qdir, nm + ".png")
            if not os.path.exists(dst):
                src = Image.open(files[nm]).convert("RGB")
                T.apply(t, src, nm).save(dst, compress_level=1)
        link = os.path.join(args.cache, f"q-link-{n}", t)
        if not os.path.isdir(link):
            os.makedirs(link)
            for nm in names:
                os.link(os.path.join(qdir, nm + ".png"), os.path.join(link, nm + ".png"))
        q_mh = mh_hash(args.mh, link, ["--robust"] if robust else [], args.jobs)
        q_peer = cached_peers(os.path.join(qroot, t + ".peers.json"), names,
                              lambda nm: os.path.join(qdir, nm + ".png"))
        r = {}
        eye = np.eye(n, dtype=bool)
        # Plain PDQ: mh and peer.
        for key, qs, rs in [
            ("mh_pdq", mh_side(q_mh, False, False), refs["mh_pdq"]),
            ("peer_pdq", Side(names, {nm: [(p["pdq"], p["quality"], "plain")] for nm, p in q_peer.items()}), refs["peer_pdq"]),
        ]:
            plain, _ = evaluate(qs, rs, n, 0)
            r[key] = plain
        for key, qh, rh in [("mh_phash", phash_side(q_mh), ref_ph["mh"]), ("peer_phash", phash_side(q_peer), ref_ph["peer"])]:
            r[key] = pairwise(qh, rh)
        if robust:
            qs = mh_side(q_mh, False, True)
            r["robust_hashonly"] = evaluate(qs, refs["mh_pdq"], n, 0)
            r["robust_pictures"] = evaluate(qs, refs["mh_windows"], n, 0)
        results[t] = r
        print(f"[{time.time() - t0:6.0f}s] {t} done", file=sys.stderr)

    report(results, tnames, n, robust, args)


def report(results, tnames, n, robust, args):
    pairs = n * (n - 1)
    eye = np.eye(n, dtype=bool)

    def sweep(getter, lo, hi):
        """Largest threshold with zero false pairs over all transforms, and its recall."""
        best = None
        for thr in range(lo, hi + 1):
            false = sum(int((getter(t, thr) & ~eye).sum()) for t in tnames)
            if false:
                break
            best = thr
        if best is None:
            return None, 0.0
        rec = np.mean([getter(t, best)[eye].mean() * 100 for t in tnames])
        return best, rec

    cols = [("peer PDQ<=31", lambda t, thr=PDQ_RADIUS: results[t]["peer_pdq"] <= thr),
            ("peer pHash<=8", lambda t, thr=PHASH_RADIUS: results[t]["peer_phash"] <= thr),
            ("mh PDQ<=31", lambda t, thr=PDQ_RADIUS: results[t]["mh_pdq"] <= thr),
            ("mh pHash<=8", lambda t, thr=PHASH_RADIUS: results[t]["mh_phash"] <= thr)]
    rr = args.robust_radius
    if robust:
        if rr is None:
            # Calibrated on negatives: the largest robust radius with zero false pairs on the
            # pictures-built side over all transforms, less a margin of 2 bits.
            def g(t, thr):
                p, b = results[t]["robust_pictures"]
                return (p <= PDQ_RADIUS) | (b <= thr)
            best, _ = sweep(g, 0, PDQ_RADIUS)
            rr = max(0, (best or 0) - 2)
        for key, label in [("robust_hashonly", "robust hash-only"), ("robust_pictures", "robust pictures")]:
            cols.append((f"{label} (<=31/{rr})",
                         lambda t, thr=rr, key=key: (results[t][key][0] <= PDQ_RADIUS) | (results[t][key][1] <= thr)))
    header = ["transform"] + [c[0] for c in cols]
    lines = []
    totals = [[] for _ in cols]
    falses = [0 for _ in cols]
    for t in tnames:
        row = [t]
        for k, (_, get) in enumerate(cols):
            m = get(t)
            rec = m[eye].mean() * 100
            totals[k].append(rec)
            falses[k] += int((m & ~eye).sum())
            row.append(f"{rec:.1f}")
        lines.append(row)
    in41 = [i for i, t in enumerate(tnames) if t in T.TRANSFORMS]
    lines.append([f"mean over {len(in41)} of the 41"] + [f"{np.mean([tot[i] for i in in41]):.1f}" for tot in totals])
    lines.append([f"false pairs (of {pairs * len(tnames):,})"] + [str(f) for f in falses])
    sweeps = [
        ("peer PDQ", lambda t, thr: results[t]["peer_pdq"] <= thr, 0, 128),
        ("peer pHash", lambda t, thr: results[t]["peer_phash"] <= thr, 0, 32),
        ("mh PDQ", lambda t, thr: results[t]["mh_pdq"] <= thr, 0, 128),
        ("mh pHash", lambda t, thr: results[t]["mh_phash"] <= thr, 0, 32),
    ]
    if robust:
        for key in ("robust_hashonly", "robust_pictures"):
            sweeps.append((f"{key} (robust radius; plain 31)",
                           lambda t, thr, key=key: (results[t][key][0] <= PDQ_RADIUS) | (results[t][key][1] <= thr), 0, PDQ_RADIUS))
    if args.markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for row in lines:
            print("| " + " | ".join(row) + " |")
    else:
        widths = [max(len(r[i]) for r in [header] + lines) for i in range(len(header))]
        for row in [header] + lines:
            print("  ".join(c.ljust(w) for c, w in zip(row, widths)))
    print(f"\n{n} originals, {len(tnames)} transforms, {pairs:,} negative pairs per transform")
    print("largest threshold with zero false pairs over all transforms, and mean recall there:")
    for label, g, lo, hi in sweeps:
        best, rec = sweep(g, lo, hi)
        print(f"  {label}: {best} -> {rec:.1f}%")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"header": header, "rows": lines, "robust_radius": rr}, f, indent=1)


if __name__ == "__main__":
    main()
