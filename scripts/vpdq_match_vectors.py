#!/usr/bin/env python3
"""vPDQ match percentages from python-threatexchange's matcher, the oracle for
mediahash's `perceptual::vpdq::compare`.

python-threatexchange (PyPI `threatexchange`, Meta; used by HMA) matches two vPDQ lists with
`match_VPDQ_hash_brute(query, compared, quality_tolerance, distance_tolerance)`: each list is
deduplicated by hash (first occurrence kept), frames under the quality are dropped, and the
result is the percentage of query frames within the distance of some compared frame, and
the reverse. This script makes lists that exercise each rule, deterministically:

* the committed reference lists (tests/vectors/vpdq/*.txt, from the vpdq package);
* for each, copies with k bits flipped per frame (k around the radius 31), frames dropped,
  hashes repeated with other qualities (a repeat of a low-quality hash, then the same hash
  with a high quality: the order of deduplication and quality filtering shows), and
  qualities lowered below 50;

writes them to tests/vectors/vpdq-match/NAME.txt and, for every ordered pair of lists of
the same source (each against its source list, both ways) plus 60 pairs drawn across
sources, python-threatexchange's two
percentages at (quality 50, distance 31) and at (quality 80, distance 16) into
tests/vectors/vpdq-match/matches.csv (`query,target,quality,distance,query_percent,
target_percent`, percentages with 6 decimals). tests/video.rs checks mediahash against it.

Regenerate (from the repository root):

    python3 -m venv /tmp/tx && /tmp/tx/bin/pip install threatexchange vpdq
    /tmp/tx/bin/python scripts/vpdq_match_vectors.py
"""

import glob
import os
import random

from threatexchange.extensions.vpdq.vpdq_brute_matcher import match_VPDQ_hash_brute
from threatexchange.extensions.vpdq.vpdq_util import VpdqCompactFeature

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCES = os.path.join(ROOT, "tests", "vectors", "vpdq")
OUT = os.path.join(ROOT, "tests", "vectors", "vpdq-match")
SETTINGS = [(50, 31), (80, 16)]


def read_list(path):
    """frame,quality,hex,timestamp lines -> [(frame, quality, hex, timestamp)]"""
    frames = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                frame, quality, hexhash, ts = line.split(",")
                frames.append((int(frame), int(quality), hexhash, ts))
    return frames


def write_list(path, frames):
    with open(path, "w") as f:
        for frame, quality, hexhash, ts in frames:
            f.write(f"{frame},{quality},{hexhash},{ts}\n")


def flip(hexhash, k, rng):
    value = int(hexhash, 16)
    for bit in rng.sample(range(256), k):
        value ^= 1 << bit
    return f"{value:064x}"


def variants(name, frames, rng):
    """Derived lists: name -> frames."""
    out = {}
    for k in (0, 8, 24, 30, 31, 32, 33, 40, 64):
        out[f"{name}~flip{k}"] = [(fr, q, flip(h, k, rng), ts) for fr, q, h, ts in frames]
    # Bits flipped by a varying amount per frame, some frames dropped.
    mixed = []
    for fr, q, h, ts in frames:
        if rng.random() < 0.25:
            continue
        mixed.append((fr, q, flip(h, rng.choice([0, 10, 20, 28, 31, 32, 36, 50]), rng), ts))
    out[f"{name}~mixed"] = mixed
    # Repeats: a frame's hash repeated first with a low quality, then with its own; and
    # qualities lowered below 50 on every third frame.
    repeats = []
    for i, (fr, q, h, ts) in enumerate(frames):
        if i % 2 == 0:
            repeats.append((fr, 20, h, ts))
        repeats.append((fr, q if i % 3 else 40, h, ts))
    out[f"{name}~repeats"] = repeats
    return out


def compact(frames):
    return [VpdqCompactFeature(h, q, float(ts)) for _, q, h, ts in frames]


def main():
    rng = random.Random(20261205)
    os.makedirs(OUT, exist_ok=True)
    for old in glob.glob(os.path.join(OUT, "*.txt")):
        os.remove(old)
    groups = []
    for path in sorted(glob.glob(os.path.join(SOURCES, "*.txt"))):
        name = os.path.basename(path)[: -len(".txt")]
        if name == "README":
            continue
        frames = read_list(path)
        group = {name: frames}
        group.update(variants(name, frames, rng))
        for n, f in group.items():
            write_list(os.path.join(OUT, n + ".txt"), f)
        groups.append(group)
    pairs = []
    for group in groups:
        names = sorted(group)
        source = min(names, key=len)
        pairs += [(source, n) for n in names] + [(n, source) for n in names if n != source]
    everything = {n: f for g in groups for n, f in g.items()}
    names = sorted(everything)
    for _ in range(60):
        pairs.append((rng.choice(names), rng.choice(names)))
    with open(os.path.join(OUT, "matches.csv"), "w") as out:
        out.write("query,target,quality,distance,query_percent,target_percent\n")
        for a, b in pairs:
            for quality, distance in SETTINGS:
                qa = [f for f in everything[a] if f[1] >= quality]
                qb = [f for f in everything[b] if f[1] >= quality]
                if not qa or not qb:
                    continue  # the matcher divides by zero: not a comparison
                try:
                    r = match_VPDQ_hash_brute(compact(everything[a]), compact(everything[b]),
                                              quality, distance)
                except ZeroDivisionError:
                    continue
                out.write(f"{a},{b},{quality},{distance},"
                          f"{r.query_match_percent:.6f},{r.compared_match_percent:.6f}\n")
    print(f"{len(everything)} lists, {len(pairs)} pairs -> {OUT}")


if __name__ == "__main__":
    main()
