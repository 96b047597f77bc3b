#!/usr/bin/env python3
"""The peer tools' side of benches/compare: one workload per process, timed in-process.

Run by compare.py (not by hand, though it works):

    peers.py pdq LIST OUT              # Pillow decode + pdqhash.compute, per file
    peers.py imagehash LIST OUT        # imagehash.phash + imagehash.dhash, per file
    peers.py cpp-pdq LIST OUT          # Meta's C++ PDQ path (float32 luma) via ctypes
    peers.py faiss KIND CODES QUERIES OUT   # KIND: flat | multihash | hash; range search, 1 thread

Each prints one JSON line on stderr: {"elapsed": wall seconds of the timed loop, "cpu": CPU
seconds of the process during it, ...}. Imports
and (for FAISS) index building are outside the timed part, as they are for mediahash.
"""

import json
import sys
import time

import numpy as np


def bits_to_hex(bits) -> str:
    """pdqhash's 256 bits (most significant first) as the C++ Hash256::format() hex."""
    packed = np.packbits(np.asarray(bits, dtype=np.uint8))
    return packed.tobytes().hex()


def read_list(path):
    with open(path) as f:
        return [line.rstrip("\n") for line in f if line.strip()]


def run_pdq(paths, out):
    import pdqhash
    from PIL import Image

    results = []
    start, cpu0 = time.perf_counter(), time.process_time()
    for p in paths:
        with Image.open(p) as im:
            rgb = np.asarray(im.convert("RGB"))
        bits, quality = pdqhash.compute(rgb)
        results.append({"path": p, "pdq": bits_to_hex(bits), "quality": int(quality)})
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu0
    write_lines(out, results)
    return {"elapsed": elapsed, "cpu": cpu, "files": len(paths)}


def run_imagehash(paths, out):
    import imagehash
    from PIL import Image

    results = []
    start, cpu0 = time.perf_counter(), time.process_time()
    for p in paths:
        with Image.open(p) as im:
            ph = str(imagehash.phash(im))
            dh = str(imagehash.dhash(im))
        results.append({"path": p, "phash": ph, "dhash": dh})
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu0
    write_lines(out, results)
    return {"elapsed": elapsed, "cpu": cpu, "files": len(paths)}


def run_cpp_pdq(paths, out):
    """The C++ library's own luma (float32) and hash, as scripts/pdq_vectors.py calls them."""
    import pathlib

    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "scripts"))
    import pdq_vectors  # noqa: E402  (ctypes bindings to the pdqhash extension's C++ code)
    from PIL import Image

    results = []
    start, cpu0 = time.perf_counter(), time.process_time()
    for p in paths:
        with Image.open(p) as im:
            rgb = np.asarray(im.convert("RGB"))
        hexhash, quality = pdq_vectors.cpp_hash(pdq_vectors.cpp_luma(rgb))
        results.append({"path": p, "pdq": hexhash, "quality": quality})
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu0
    write_lines(out, results)
    return {"elapsed": elapsed, "cpu": cpu, "files": len(paths)}


def read_hex_codes(path):
    """One 64-digit hex PDQ per line -> (n, 32) uint8 (the bytes unhexlify gives, as HMA);
    a name ending in .bin holds raw 32-byte codes (examples/pdq_search_bench.rs gen)."""
    if str(path).endswith(".bin"):
        return np.fromfile(path, dtype=np.uint8).reshape(-1, 32)
    raw = np.fromfile(path, dtype=np.uint8)
    lines = raw.reshape(-1, 65)[:, :64]  # 64 hex digits + '\n'
    return np.frombuffer(bytes.fromhex(lines.tobytes().decode("ascii")), dtype=np.uint8).reshape(-1, 32)


def run_faiss(kind, codes_path, queries_path, out):
    import faiss

    faiss.omp_set_num_threads(1)
    codes = read_hex_codes(codes_path)
    with open(queries_path) as f:
        queries = [line.split() for line in f if line.strip()]
    needles_per_query = len(queries[0])
    needles = np.frombuffer(bytes.fromhex("".join(h for q in queries for h in q)),
                            dtype=np.uint8).reshape(-1, 32)
    t0 = time.perf_counter()
    if kind == "flat":
        index = faiss.IndexBinaryFlat(256)
    elif kind == "hash":
        # One table on the first 16 bits, buckets within 1 bit: not exact at radius 31
        # (recall reported by the caller).
        index = faiss.IndexBinaryHash(256, 16)
        index.nflip = 1
    else:
        index = faiss.IndexBinaryMultiHash(256, 16, 16)
        # By pigeonhole, distance <= 31 over 16 slots leaves some slot within 1 bit.
        index.nflip = 31 // 16
    index.add(codes)
    build = time.perf_counter() - t0
    start, cpu0 = time.perf_counter(), time.process_time()
    # FAISS counts d < radius: 32 gives the inclusive threshold 31 (as HMA does).
    lims, dist, ids = index.range_search(needles, 32)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu0
    # Per query: matched code -> smallest distance over its needles.
    with open(out, "w") as f:
        for q in range(len(queries)):
            best = {}
            for n in range(q * needles_per_query, (q + 1) * needles_per_query):
                for j in range(lims[n], lims[n + 1]):
                    i = int(ids[j])
                    d = int(dist[j])
                    if i not in best or d < best[i]:
                        best[i] = d
            for i, d in sorted(best.items()):
                f.write(f"{q} {codes[i].tobytes().hex()} {d}\n")
    return {"elapsed": elapsed, "cpu": cpu, "build": build, "needles": int(len(needles)),
            "faiss": faiss.__version__}


def write_lines(out, results):
    with open(out, "w") as f:
        for r in results:
            f.write(json.dumps(r) + "\n")


def main():
    cmd = sys.argv[1]
    if cmd == "pdq":
        summary = run_pdq(read_list(sys.argv[2]), sys.argv[3])
    elif cmd == "imagehash":
        summary = run_imagehash(read_list(sys.argv[2]), sys.argv[3])
    elif cmd == "cpp-pdq":
        summary = run_cpp_pdq(read_list(sys.argv[2]), sys.argv[3])
    elif cmd == "faiss":
        summary = run_faiss(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    print(json.dumps(summary), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
