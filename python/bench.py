"""Images/s through the Python package vs pdqhash and imagehash (issue #17).

Run by hand (not in CI), in one process over the same files:

    python python/bench.py /work/shared/testdata/photos [--repeat 3]

Four comparisons, each timed over every picture under the folder (JPEG/PNG/...):

* ``pdq(pixels)``: ``mediahash.pdq(array)`` vs ``pdqhash.compute(array)`` on the same decoded
  (H, W, 3) uint8 arrays (decoding outside the timing);
* ``phash(PIL)``: ``mediahash.phash(img)`` vs ``imagehash.phash(img)`` on the same PIL images;
* ``file -> PDQ+pHash``: ``mediahash.hash_file(path)`` (read, MD5/SHA-1/SHA-256, decode, PDQ,
  pHash/dHash/aHash) vs ``PIL.Image.open`` + ``pdqhash.compute`` + ``imagehash.phash``;
* ``file -> PDQ+pHash, 2 threads``: ``hash_file`` from a 2-thread pool (the GIL is released).

Results are checked equal before timing (pdq bits, phash). Prints a Markdown table; the best
of ``--repeat`` runs is kept.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import pathlib
import platform
import time

import imagehash
import numpy as np
import pdqhash
from PIL import Image

import mediahash

EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


def pictures(root: pathlib.Path) -> list[pathlib.Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in EXTENSIONS)


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=pathlib.Path)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    paths = pictures(args.folder)
    images = [Image.open(p).convert("RGB") for p in paths]
    arrays = [np.asarray(img) for img in images]
    megapixels = sum(a.shape[0] * a.shape[1] for a in arrays) / 1e6
    print(
        f"{len(paths)} pictures under {args.folder}, {megapixels:.1f} Mpixel; python "
        f"{platform.python_version()}, mediahash {mediahash.__version__} "
        f"(jpeg SIMD {mediahash.JPEG_SIMD}), pdqhash, imagehash {imagehash.__version__}, "
        f"{os.cpu_count()} CPUs\n"
    )

    # Same answers first (a fast wrong answer is no benchmark).
    for a, img in zip(arrays, images):
        ours, q1 = mediahash.pdq(a)
        theirs, q2 = pdqhash.compute(a)
        assert (ours == theirs).all() and q1 == q2
        assert str(mediahash.phash(img)) == str(imagehash.phash(img))

    def ours_pdq():
        for a in arrays:
            mediahash.pdq(a)

    def theirs_pdq():
        for a in arrays:
            pdqhash.compute(a)

    def ours_phash():
        for img in images:
            mediahash.phash(img)

    def theirs_phash():
        for img in images:
            imagehash.phash(img)

    def ours_file():
        for p in paths:
            mediahash.hash_file(p)

    def theirs_file():
        for p in paths:
            img = Image.open(p).convert("RGB")
            pdqhash.compute(np.asarray(img))
            imagehash.phash(img)

    def ours_file_threads():
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            list(pool.map(mediahash.hash_file, paths))

    rows = [
        ("pdq(pixels)", ours_pdq, theirs_pdq, "pdqhash.compute"),
        ("phash(PIL image)", ours_phash, theirs_phash, "imagehash.phash"),
        ("file -> PDQ + pHash", ours_file, theirs_file, "PIL + pdqhash + imagehash"),
        ("file -> PDQ + pHash, 2 threads", ours_file_threads, theirs_file, "(same, 1 thread)"),
    ]
    n = len(paths)
    print("| case | mediahash images/s | peer | peer images/s | speed-up |")
    print("|---|---:|---|---:|---:|")
    for name, ours, theirs, peer in rows:
        t_ours = best(ours, args.repeat)
        t_theirs = best(theirs, args.repeat)
        print(
            f"| {name} | {n / t_ours:.1f} | {peer} | {n / t_theirs:.1f} | "
            f"{t_theirs / t_ours:.2f}x |"
        )


if __name__ == "__main__":
    main()
