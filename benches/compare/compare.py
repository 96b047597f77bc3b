#!/usr/bin/env python3
"""Side-by-side benchmark of mediahash against the tools examiners use instead.

Started by run.sh (which installs the peers and builds the Rust binaries); see
docs/performance.md. Every case builds its inputs once under work/ (reused while the
parameters match), warms the page cache, then runs each tool on the same inputs in
alternating order for several rounds, compares the answers and prints a Markdown table.

Cases:
  1  hashdeep -r -c md5,sha1,sha256 -j N   vs  mh hash --no-perceptual --threads N
  2  Pillow + pdqhash.compute               vs  mediahash PDQ (exact and --fast)
  3  imagehash phash + dhash                vs  mediahash (PDQ + pHash/dHash/aHash)
  4  FAISS IndexBinaryFlat / MultiHash range search (radius 31, 8 needles per query)
     vs  .mhset search_pdq (examples/pdq_search_bench.rs)
  5  tsk_recover -a IMAGE DIR + hashdeep -r DIR  vs  mh scan IMAGE, on a raw FAT32 image
     and its E01 (ewfacquire) holding case 1's tree; the limit is reading the image file
"""

import argparse
import json
import os
import pathlib
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
WORK = HERE / "work"
RELEASE = ROOT / "target" / "release" / "examples"
PY = sys.executable


def load1() -> float:
    return os.getloadavg()[0]


def sh(cmd, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, **kw)


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


class Timings:
    """Per tool: wall-clock and CPU seconds of each run, and the 1-minute load average at
    each start. On a shared machine the CPU time is the steadier figure: other processes
    stretch the wall time but not the CPU time of a single-threaded run."""

    def __init__(self):
        self.times = {}
        self.cpu = {}
        self.loads = []

    def add(self, tool, wall_and_cpu):
        wall, cpu = wall_and_cpu
        self.times.setdefault(tool, []).append(wall)
        self.cpu.setdefault(tool, []).append(cpu)

    def median(self, tool):
        return statistics.median(self.times[tool])

    def cpu_median(self, tool):
        return statistics.median(self.cpu[tool])

    def spread(self, tool):
        t = self.times[tool]
        return f"{min(t):.3g}-{max(t):.3g}"

    def load_range(self):
        return f"{min(self.loads):.2f}-{max(self.loads):.2f}" if self.loads else "n/a"


class Rows(list):
    """Table rows, each also printed (and appended to work/partial.md) as soon as known."""

    def append(self, row):
        super().append(row)
        line = "| " + " | ".join(row) + " |"
        print("  ROW " + line, flush=True)
        with open(WORK / "partial.md", "a") as f:
            f.write(line + "\n")


def alternate(rounds, tools, run_one, timings):
    """Runs every tool once per round; odd rounds reverse the order."""
    for r in range(rounds):
        order = tools if r % 2 == 0 else list(reversed(tools))
        for tool in order:
            timings.loads.append(load1())
            timings.add(tool, run_one(tool, r))
        print(f"  round {r + 1}/{rounds}: "
              + ", ".join(f"{t} {timings.times[t][-1]:.3f}s" for t in tools), flush=True)


# --------------------------------------------------------------------------- machine


def machine() -> dict:
    info = {"cores": os.cpu_count(), "python": platform.python_version(),
            "kernel": platform.release()}
    try:
        cpuinfo = pathlib.Path("/proc/cpuinfo").read_text()
        model = re.search(r"^model name\s*:\s*(.*)$", cpuinfo, re.M)
        flags = re.search(r"^flags\s*:\s*(.*)$", cpuinfo, re.M)
        info["cpu"] = model.group(1) if model else platform.processor()
        have = set(flags.group(1).split()) if flags else set()
        wanted = ["avx2", "avx512f", "avx512bw", "avx512_vpopcntdq", "sha_ni", "bmi2", "popcnt"]
        info["flags"] = " ".join(f for f in wanted if f in have)
        hyper = re.search(r"^flags.*\bhypervisor\b", cpuinfo, re.M)
        info["virtualised"] = bool(hyper)
    except OSError:
        info["cpu"] = platform.processor()
    try:
        mem = pathlib.Path("/proc/meminfo").read_text()
        kb = int(re.search(r"MemTotal:\s*(\d+)", mem).group(1))
        info["memory_gib"] = round(kb / 2**20, 1)
    except (OSError, AttributeError):
        pass
    rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True)
    info["rustc"] = rustc.stdout.strip()
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True)
    info["mediahash_commit"] = commit.stdout.strip()
    info["jpeg_simd"] = "unknown"
    if (RELEASE / "compare_driver").exists():
        driver = subprocess.run([str(RELEASE / "compare_driver"), "decode", "--list",
                                 "/dev/null"], capture_output=True, text=True)
        try:
            info["jpeg_simd"] = json.loads(driver.stderr.strip().splitlines()[-1])["jpeg_simd"]
        except (IndexError, KeyError, ValueError):
            pass
    return info


def versions() -> dict:
    v = {}
    out = subprocess.run(["hashdeep", "-V"], capture_output=True, text=True)
    v["hashdeep"] = out.stdout.strip() or out.stderr.strip()
    if shutil.which("fls"):
        out = subprocess.run(["fls", "-V"], capture_output=True, text=True)
        v["sleuthkit"] = out.stdout.strip() or out.stderr.strip()
    code = ("import importlib.metadata as m\n"
            "print(' '.join(f'{p} {m.version(p)}' for p in "
            "['pdqhash','ImageHash','Pillow','faiss-cpu','numpy']))")
    v["python packages"] = subprocess.run([PY, "-c", code], capture_output=True,
                                          text=True).stdout.strip()
    return v


# --------------------------------------------------------------------------- case 1


def make_tree(total_mib: int) -> pathlib.Path:
    """A few large files and many small ones, random content, deterministic (PCG64)."""
    tree = WORK / "tree"
    stamp = tree / ".params"
    params = f"v1 total_mib={total_mib}"
    if stamp.exists() and stamp.read_text() == params:
        return tree
    shutil.rmtree(tree, ignore_errors=True)
    rng = np.random.default_rng(20240601)
    large_total = total_mib * 5 // 8 * 2**20  # 5/8 in 4 large files
    small_total = total_mib * 2**20 - large_total
    (tree / "large").mkdir(parents=True)
    for i in range(4):
        size = large_total // 4 + i * 4099  # not a multiple of any block size
        with open(tree / "large" / f"disk-image-{i}.bin", "wb") as f:
            left = size
            while left:
                n = min(left, 64 * 2**20)
                f.write(rng.bytes(n))
                left -= n
    # Small files: log-uniform 1 B .. 1 MiB, 64 per directory, plus a few empty ones.
    written, k = 0, 0
    while written < small_total:
        size = int(np.exp(rng.uniform(0, np.log(2**20))))
        size = min(size, small_total - written)
        d = tree / "small" / f"d{k // 64:04d}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"f{k:06d}.dat").write_bytes(rng.bytes(size))
        written += size
        k += 1
    for i in range(3):
        (tree / "small" / f"empty-{i}.dat").write_bytes(b"")
    stamp.write_text(params)
    return tree


def warm(path: pathlib.Path):
    """Reads every file once so both tools start from the page cache."""
    for p in sorted(path.rglob("*")):
        if p.is_file():
            with open(p, "rb") as f:
                while f.read(1 << 20):
                    pass


def parse_hashdeep(text: str) -> dict:
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("%%%%") or line.startswith("#"):
            continue
        size, md5, sha1, sha256, name = line.split(",", 4)
        out[name] = (int(size), md5, sha1, sha256)
    return out


def parse_mh(text: str) -> dict:
    out = {}
    for line in text.splitlines():
        o = json.loads(line)
        out[o["path"]] = (o.get("size"), o.get("md5"), o.get("sha1"), o.get("sha256"))
    return out


def digest_limit_per_core() -> float:
    """MiB/s of one-pass MD5+SHA-1+SHA-256 on one core, from benches/digest.rs (criterion).
    (An earlier version also scaled it by the bench process's wall/CPU ratio; that ratio
    counts cargo's own start-up and criterion's analysis, so it is not reported any more.)"""
    out = subprocess.run(
        ["cargo", "bench", "--bench", "digest", "--", r"md5\+sha1\+sha256 one pass",
         "--warm-up-time", "1", "--measurement-time", "5"],
        cwd=ROOT, capture_output=True, text=True)
    m = re.search(r"one pass\s*\n\s*time:.*\n\s*thrpt:\s*\[\S+ \S+ (\S+) (\S+)", out.stdout)
    if not m:
        print(out.stdout[-2000:], out.stderr[-2000:], file=sys.stderr)
        raise RuntimeError("could not parse benches/digest.rs output")
    value, unit = float(m.group(1)), m.group(2)
    return value * {"KiB/s": 1 / 1024, "MiB/s": 1, "GiB/s": 1024}[unit]


def case1(args, rows, notes):
    tree = make_tree(args.tree_mib)
    total = sum(p.stat().st_size for p in tree.rglob("*") if p.is_file() and p.name != ".params")
    nfiles = sum(1 for p in tree.rglob("*") if p.is_file() and p.name != ".params")
    print(f"case 1: {nfiles} files, {total / 2**20:.0f} MiB in {tree}", flush=True)
    limit_wall = digest_limit_per_core()
    print(f"  one-pass MD5+SHA-1+SHA-256 compute limit per core: {limit_wall:.0f} MiB/s "
          f"(criterion)", flush=True)
    warm(tree)
    outdir = WORK / "out"
    outdir.mkdir(parents=True, exist_ok=True)
    for threads in args.hash_threads:
        cmds = {
            "hashdeep": ["hashdeep", "-r", "-c", "md5,sha1,sha256", "-j", str(threads), str(tree)],
            "mh": [str(RELEASE.parent / "mh"), "hash", "--no-perceptual", "--threads", str(threads),
                   str(tree)],
        }

        def run_one(tool, _round):
            with open(outdir / f"case1-{tool}.txt", "w") as f:
                c0, t0 = children_cpu(), time.perf_counter()
                sh(cmds[tool], stdout=f)
                return time.perf_counter() - t0, children_cpu() - c0

        for tool in cmds:  # untimed warm-up (and page cache)
            run_one(tool, -1)
        timings = Timings()
        alternate(args.rounds, list(cmds), run_one, timings)
        hd = parse_hashdeep((outdir / "case1-hashdeep.txt").read_text())
        mh = parse_mh((outdir / "case1-mh.txt").read_text())
        hd = {k: v for k, v in hd.items() if not k.endswith("/.params")}
        mh = {k: v for k, v in mh.items() if not k.endswith("/.params")}
        same = sum(1 for k in hd if mh.get(k) == hd[k])
        agree = (f"{same}/{len(hd)} files: size+MD5+SHA-1+SHA-256 equal"
                 + ("" if len(hd) == len(mh) == same else f" (mh listed {len(mh)}) MISMATCH"))
        t_hd, t_mh = timings.median("hashdeep"), timings.median("mh")
        c_hd, c_mh = timings.cpu_median("hashdeep"), timings.cpu_median("mh")
        mib = total / 2**20
        rows.append([f"1. hash {mib:.0f} MiB / {nfiles} files, {threads} thread(s)",
                     f"hashdeep -j{threads}: {t_hd:.2f} s, {mib / t_hd:.0f} MiB/s (CPU {c_hd:.2f} s)",
                     f"mh hash: {t_mh:.2f} s, {mib / t_mh:.0f} MiB/s (CPU {c_mh:.2f} s)",
                     f"{t_hd / t_mh:.2f}x (CPU {c_hd / c_mh:.2f}x)", agree, timings.load_range()])
        notes.append(f"case 1, {threads} thread(s): mh {mib / t_mh:.0f} MiB/s wall = "
                     f"{100 * mib / t_mh / (limit_wall * threads):.0f}% of {threads} x the "
                     f"one-pass MD5+SHA-1+SHA-256 limit ({limit_wall:.0f} MiB/s per core, "
                     f"benches/digest.rs); "
                     f"times {timings.spread('hashdeep')} s / {timings.spread('mh')} s")


# --------------------------------------------------------------------------- cases 2, 3


IMAGE_SIZES = [  # (width, height, count): 260 generated JPEGs, 12 MP down to 0.3 MP
    (4000, 3000, 30), (3264, 2448, 30), (1600, 1200, 60), (1024, 768, 80), (640, 480, 60),
]


def photo_like(rng, w, h):
    """Smooth gradients and filled shapes drawn at 1/4 scale and enlarged (bicubic, so the
    edges are soft as in a photograph), plus sensor-like noise at full resolution."""
    from PIL import Image, ImageDraw

    sw, sh_ = max(1, w // 4), max(1, h // 4)
    y, x = np.mgrid[0:sh_, 0:sw].astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = np.cos(angle) * x / sw + np.sin(angle) * y / sh_
    base = np.stack([c0 + c1 * ramp + c2 * np.sin(x / sw * f + y / sh_ * g)
                     for c0, c1, c2, f, g in zip(rng.uniform(40, 200, 3), rng.uniform(-80, 80, 3),
                                                 rng.uniform(0, 30, 3), rng.uniform(1, 9, 3),
                                                 rng.uniform(1, 9, 3))], axis=-1)
    img = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(img)
    for _ in range(rng.integers(4, 12)):
        x0, y0 = rng.uniform(0, sw), rng.uniform(0, sh_)
        rw, rh = rng.uniform(0.05, 0.4) * sw, rng.uniform(0.05, 0.4) * sh_
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        box = [x0 - rw / 2, y0 - rh / 2, x0 + rw / 2, y0 + rh / 2]
        if rng.random() < 0.5:
            draw.ellipse(box, fill=colour)
        else:
            draw.rectangle(box, fill=colour)
    arr = np.asarray(img.resize((w, h), Image.Resampling.BICUBIC)).astype(np.int16)
    arr += rng.integers(-6, 7, size=arr.shape, dtype=np.int8)
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")


def make_images(count_photos: bool) -> list:
    d = WORK / "images"
    stamp = d / ".params"
    params = "v2 " + repr(IMAGE_SIZES)
    if not (stamp.exists() and stamp.read_text() == params):
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
        rng = np.random.default_rng(7)
        qualities = [60, 75, 85, 92, 97]
        k = 0
        for w, h, n in IMAGE_SIZES:
            for _ in range(n):
                img = photo_like(rng, w, h)
                q = qualities[k % len(qualities)]
                # Mostly 4:2:0 baseline as cameras write; some 4:4:4 and progressive.
                opts = {"quality": q, "subsampling": 0 if k % 7 == 3 else 2,
                        "progressive": k % 5 == 4}
                img.save(d / f"gen-{k:03d}-{w}x{h}-q{q}.jpg", **opts)
                k += 1
        stamp.write_text(params)
    paths = sorted(str(p) for p in d.glob("*.jpg"))
    photos_root = pathlib.Path(os.environ.get("MEDIAHASH_TESTDATA", ROOT.parent / "shared" /
                                              "testdata")) / "photos"
    photos = sorted(str(p) for p in photos_root.rglob("*")
                    if p.suffix.lower() in (".jpg", ".jpeg", ".png")) if count_photos else []
    if count_photos and not photos:
        print(f"  note: no photos at {photos_root} (set MEDIAHASH_TESTDATA): generated only")
    return paths + photos


def read_jsonl(path) -> dict:
    with open(path) as f:
        return {o["path"]: o for o in map(json.loads, f)}


def hamming(a: str, b: str) -> int:
    return bin(int(a, 16) ^ int(b, 16)).count("1")


def histogram(distances) -> str:
    counts = {}
    for d in distances:
        counts[d] = counts.get(d, 0) + 1
    return ", ".join(f"{d}: {n}" for d, n in sorted(counts.items()))


def cases23(args, rows, notes):
    paths = make_images(count_photos=True)
    listfile = WORK / "images.list"
    listfile.write_text("\n".join(paths) + "\n")
    megapixels = 0.0
    from PIL import Image
    for p in paths:
        with Image.open(p) as im:
            megapixels += im.width * im.height / 1e6
    print(f"cases 2-3: {len(paths)} images, {megapixels:.0f} MP in total", flush=True)
    warm(WORK / "images")
    outdir = WORK / "out"
    outdir.mkdir(parents=True, exist_ok=True)
    driver = str(RELEASE / "compare_driver")
    t1 = "--threads", "1"
    tools = {
        "pdqhash": [PY, str(HERE / "peers.py"), "pdq", str(listfile)],
        "mh-pdq": [driver, "pdq", *t1, "--list", str(listfile)],
        "mh-pdq-fast": [driver, "pdq", "--fast", *t1, "--list", str(listfile)],
        "mh-decode-fast": [driver, "decode", "--fast", *t1, "--list", str(listfile)],
        "imagehash": [PY, str(HERE / "peers.py"), "imagehash", str(listfile)],
        "mh-imagehash": [driver, "imagehash", *t1, "--list", str(listfile)],
        "mh-all": [driver, "all", *t1, "--list", str(listfile)],
    }
    if 2 not in args.cases:
        tools = {k: v for k, v in tools.items() if k in ("imagehash", "mh-imagehash", "mh-all")}
    if 3 not in args.cases:
        tools = {k: v for k, v in tools.items()
                 if k not in ("imagehash", "mh-imagehash", "mh-all")}

    def run_one(tool, _round):
        out = outdir / f"images-{tool}.jsonl"
        cmd = tools[tool] + ([str(out)] if tool in ("pdqhash", "imagehash") else [])
        if tool in ("pdqhash", "imagehash"):
            res = sh(cmd, capture_output=True, text=True)
        else:
            with open(out, "w") as f:
                res = sh(cmd, stdout=f, stderr=subprocess.PIPE, text=True)
        summary = json.loads(res.stderr.strip().splitlines()[-1])
        return summary["elapsed"], summary["cpu"]

    timings = Timings()
    alternate(args.image_rounds, list(tools), run_one, timings)
    n = len(paths)

    def rate(tool):
        return (f"{n / timings.median(tool):.1f} img/s ({timings.median(tool):.1f} s; "
                f"CPU {timings.cpu_median(tool):.1f} s)")

    def ratio(a, b):
        return (f"{timings.median(a) / timings.median(b):.1f}x "
                f"(CPU {timings.cpu_median(a) / timings.cpu_median(b):.1f}x)")

    if 2 in args.cases:
        py = read_jsonl(outdir / "images-pdqhash.jsonl")
        mh = read_jsonl(outdir / "images-mh-pdq.jsonl")
        fast = read_jsonl(outdir / "images-mh-pdq-fast.jsonl")
        dist = [hamming(py[p]["pdq"], mh[p]["pdq"]) for p in paths]
        differing = [p for p, d in zip(paths, dist) if d]
        agree = f"PDQ distance to pdqhash: {histogram(dist)}"
        if differing:
            # Is it pdqhash's float64 luma? Ask Meta's C++ path (float32 luma) for those files.
            sub = WORK / "differing.list"
            sub.write_text("\n".join(differing) + "\n")
            sh([PY, str(HERE / "peers.py"), "cpp-pdq", str(sub), str(outdir / "cpp.jsonl")],
               capture_output=True)
            cpp = read_jsonl(outdir / "cpp.jsonl")
            dc = [hamming(cpp[p]["pdq"], mh[p]["pdq"]) for p in differing]
            agree += f"; for those {len(differing)}, distance to the C++ library: {histogram(dc)}"
        rows.append([f"2. PDQ, {n} images ({megapixels:.0f} MP), 1 thread",
                     f"Pillow+pdqhash: {rate('pdqhash')}", f"mh exact: {rate('mh-pdq')}",
                     ratio("pdqhash", "mh-pdq"), agree,
                     timings.load_range()])
        fd = [hamming(fast[p]["pdq"], mh[p]["pdq"]) for p in paths]
        rows.append([f"2f. PDQ fast mode (DCT-scaled JPEG decode), {n} images",
                     f"fast decode alone: {rate('mh-decode-fast')}",
                     f"mh --fast: {rate('mh-pdq-fast')}",
                     f"{ratio('pdqhash', 'mh-pdq-fast')} vs pdqhash; "
                     f"{ratio('mh-pdq-fast', 'mh-decode-fast')} the decode floor's time",
                     f"distance to exact: median {statistics.median(fd)}, max {max(fd)}; "
                     f"{sum(d <= 31 for d in fd)}/{n} within 31",
                     timings.load_range()])
        big = [p for p in paths if "4000x3000" in p]
        notes.append("case 2: mh exact and fast include MD5+SHA-1+SHA-256 of each file "
                     f"(analyze_file); {len(big)} of the images are 12 MP; times "
                     + "; ".join(f"{t} {timings.spread(t)} s" for t in tools))
    if 3 in args.cases:
        py = read_jsonl(outdir / "images-imagehash.jsonl")
        for tool, what in (("mh-imagehash", "decode+pHash/dHash/aHash"),
                           ("mh-all", "digests+PDQ+pHash/dHash/aHash, as mh hash")):
            mh = read_jsonl(outdir / f"images-{tool}.jsonl")
            ph = sum(py[p]["phash"] == mh[p]["phash"] for p in paths)
            dh = sum(py[p]["dhash"] == mh[p]["dhash"] for p in paths)
            pd = [hamming(py[p]["phash"], mh[p]["phash"]) for p in paths]
            rows.append([f"3. pHash+dHash, {n} images, 1 thread",
                         f"imagehash: {rate('imagehash')}",
                         f"mh {what}: {rate(tool)}",
                         ratio("imagehash", tool),
                         f"pHash equal {ph}/{n}, dHash equal {dh}/{n}"
                         + ("" if ph == n else f"; pHash distances {histogram(pd)}"),
                         timings.load_range()])


# --------------------------------------------------------------------------- case 4


def write_codes(path: pathlib.Path, codes: np.ndarray):
    """(n, 32) uint8 -> one 64-digit lower-case hex per line."""
    digits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    hexed = np.empty((len(codes), 65), dtype=np.uint8)
    hexed[:, 0:64:2] = digits[codes >> 4]
    hexed[:, 1:64:2] = digits[codes & 15]
    hexed[:, 64] = ord("\n")
    hexed.tofile(path)


def flip_bits(rng, code: np.ndarray, k: int) -> np.ndarray:
    bits = np.unpackbits(code)
    idx = rng.choice(256, size=k, replace=False)
    bits[idx] ^= 1
    return np.packbits(bits)


def make_search(kind: str, n: int, nqueries: int):
    """Codes and queries. random: uniform 256-bit codes; clustered: n/100 centres with 100
    variants each at up to 48 flipped bits (near-duplicate families, as real hash lists have).
    Queries (8 needles each, as the 8 dihedral hashes of an image): half have needle 0 a
    stored code with 0-40 bits flipped (some within 31, some not), a quarter also have
    needle 3 near a stored code; the other needles are random (no match expected)."""
    d = WORK / "search"
    d.mkdir(parents=True, exist_ok=True)
    codes_path = d / f"{kind}-{n}.hex"
    queries_path = d / f"{kind}-{n}.queries"
    stamp = d / f"{kind}-{n}.params"
    params = f"v1 {kind} {n} {nqueries}"
    if stamp.exists() and stamp.read_text() == params:
        return codes_path, queries_path
    rng = np.random.default_rng(31 + n + (kind == "clustered"))
    if kind == "random":
        codes = rng.integers(0, 256, size=(n, 32), dtype=np.uint8)
    else:
        centres = rng.integers(0, 256, size=(n // 100, 32), dtype=np.uint8)
        codes = np.repeat(centres, 100, axis=0)
        del centres
        # Up to 48 random bit flips per code (positions drawn with replacement, so a few
        # cancel out), one vectorised pass per flip.
        flips = rng.integers(1, 49, size=n)
        for j in range(48):
            rows = np.nonzero(flips > j)[0]
            pos = rng.integers(0, 256, size=len(rows))
            codes[rows, pos >> 3] ^= (128 >> (pos & 7)).astype(np.uint8)
    write_codes(codes_path, codes)
    lines = []
    for q in range(nqueries):
        needles = rng.integers(0, 256, size=(8, 32), dtype=np.uint8)
        if q % 2 == 0:
            needles[0] = flip_bits(rng, codes[rng.integers(n)], int(rng.integers(0, 41)))
        if q % 4 == 0:
            needles[3] = flip_bits(rng, codes[rng.integers(n)], int(rng.integers(0, 41)))
        lines.append(" ".join(x.tobytes().hex() for x in needles))
    queries_path.write_text("\n".join(lines) + "\n")
    stamp.write_text(params)
    return codes_path, queries_path


def read_results(path) -> dict:
    out = {}
    with open(path) as f:
        for line in f:
            q, code, dist = line.split()
            out.setdefault(int(q), {})[code] = int(dist)
    return out


def case4(args, rows, notes):
    driver = RELEASE / "pdq_search_bench"
    if not driver.exists():
        notes.append("case 4 skipped: examples/pdq_search_bench.rs needs the refset module")
        return
    outdir = WORK / "out"
    outdir.mkdir(parents=True, exist_ok=True)
    env1 = dict(os.environ, OMP_NUM_THREADS="1", RAYON_NUM_THREADS="1")
    for n in args.search_sizes:
        for kind in ("random", "clustered"):
            codes, queries = make_search(kind, n, args.queries)
            mhset = WORK / "search" / f"{kind}-{n}.mhset"
            if not mhset.exists() or mhset.stat().st_mtime < codes.stat().st_mtime:
                res = sh([str(driver), "build", "--codes", str(codes), "--out", str(mhset)],
                         capture_output=True, text=True, env=env1)
                print("  " + res.stderr.strip(), flush=True)
            warm(WORK / "search")  # codes and .mhset in the page cache
            tools = ["faiss-flat", "faiss-multihash", "mh-auto", "mh-flat"]
            if n > args.multihash_max:
                tools.remove("faiss-multihash")
            build = {}

            def run_one(tool, _round):
                out = outdir / f"search-{tool}.txt"
                if tool.startswith("faiss"):
                    res = sh([PY, str(HERE / "peers.py"), "faiss", tool.split("-")[1],
                              str(codes), str(queries), str(out)],
                             capture_output=True, text=True, env=env1)
                else:
                    res = sh([str(driver), "search", "--set", str(mhset), "--queries",
                              str(queries), "--radius", "31", "--threads", "1",
                              "--strategy", tool.split("-")[1], "--out", str(out)],
                             capture_output=True, text=True, env=env1)
                summary = json.loads(res.stderr.strip().splitlines()[-1])
                build[tool] = summary.get("build")
                if "kernel" in summary:
                    build["kernel"] = summary["kernel"]
                    build["auto_uses_index"] = summary["auto_uses_index"]
                return summary["elapsed"], summary["cpu"]

            rounds = args.rounds if n < 5_000_000 else max(1, args.rounds // 2)
            print(f"case 4: {kind} n={n}, {args.queries} queries x 8 needles, {rounds} rounds",
                  flush=True)
            timings = Timings()
            alternate(rounds, tools, run_one, timings)
            ref = read_results(outdir / "search-faiss-flat.txt")
            agree = []
            for tool in tools[1:]:
                got = read_results(outdir / f"search-{tool}.txt")
                same = sum(got.get(q, {}) == ref.get(q, {}) for q in range(args.queries))
                agree.append(f"{tool} {same}/{args.queries}")
            found = sum(len(v) for v in ref.values())
            # Single-threaded on both sides: the CPU time is the steadier measure.
            qps = {t: args.queries / timings.cpu_median(t) for t in tools}
            multihash = (f"; MultiHash {qps['faiss-multihash']:.1f} q/CPU-s"
                         if "faiss-multihash" in qps else "")
            vs_multihash = (f"{qps['mh-auto'] / qps['faiss-multihash']:.1f}x MultiHash "
                            if "faiss-multihash" in qps else "")
            rows.append([f"4. PDQ search r<=31, {n:.0e} {kind} codes, {args.queries} q x 8 needles, 1 thread",
                         f"FAISS Flat {qps['faiss-flat']:.1f} q/CPU-s{multihash}",
                         f".mhset auto {qps['mh-auto']:.1f} q/CPU-s; flat scan "
                         f"{qps['mh-flat']:.1f} q/CPU-s",
                         f"{qps['mh-auto'] / qps['faiss-flat']:.1f}x Flat, "
                         f"{vs_multihash}"
                         f"(mh flat {qps['mh-flat'] / qps['faiss-flat']:.1f}x Flat)",
                         f"{found} matches; identical per query: " + ", ".join(agree),
                         timings.load_range()])
            notes.append(f"case 4 {kind} {n}: mh scan kernel {build.get('kernel')}, auto used "
                         f"the multi-index: {build.get('auto_uses_index')}; FAISS index build s "
                         + ", ".join(f"{t} {build[t]:.2f}" for t in tools if build.get(t))
                         + "; query times " + "; ".join(f"{t} {timings.spread(t)} s"
                                                        for t in tools))


# --------------------------------------------------------------------------- case 5


def make_disk_images(tree: pathlib.Path, total: int) -> tuple:
    """A raw FAT32 image without a partition table holding `tree` (mkfs.vfat + mcopy, no
    mount), and an E01 of it (ewfacquire, deflate "fast", 1.5 GiB segments). Reused while
    the tree's parameters match."""
    # In a folder of their own: mh writes nothing beside evidence, so reports go elsewhere.
    images = WORK / "images"
    images.mkdir(parents=True, exist_ok=True)
    raw, e01_base = images / "disk.raw", images / "disk"
    stamp = WORK / "disk.params"
    params = (tree / ".params").read_text() + " v1"
    if stamp.exists() and stamp.read_text() == params:
        return raw, images / "disk.E01"
    for p in images.glob("disk.*"):
        p.unlink()
    size_kib = (total * 11 // 10 + (256 << 20)) // 1024
    sh(["mkfs.vfat", "-C", "-F", "32", "-n", "BENCH", str(raw), str(size_kib)],
       stdout=subprocess.DEVNULL)
    env = dict(os.environ, MTOOLS_SKIP_CHECK="1")
    for top in sorted(tree.iterdir()):
        if top.name != ".params":
            sh(["mcopy", "-s", "-i", str(raw), str(top), "::/"], env=env)
    sh(["ewfacquire", "-u", "-q", "-t", str(e01_base), "-c", "deflate:fast", "-S", str(1536 << 20),
        "-d", "sha1", str(raw)], stdout=subprocess.DEVNULL)
    stamp.write_text(params)
    return raw, images / "disk.E01"


def parse_mh_scan(path: pathlib.Path, prefix: str) -> dict:
    """Regular files of an `mh scan` JSONL report, by path inside the file system."""
    out = {}
    for line in path.read_text().splitlines():
        o = json.loads(line)
        if o.get("record") != "entry" or o.get("kind") != "file" or "sha256" not in o:
            continue
        rel = o["path"][len(prefix):]
        out[rel] = (o.get("size"), o.get("md5"), o.get("sha1"), o.get("sha256"))
    return out


def peak_rss_mib(cmd) -> float:
    out = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, check=True,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return int(out.stderr.strip().splitlines()[-1]) / 1024


def case5(args, rows, notes):
    for tool in ["tsk_recover", "hashdeep", "mkfs.vfat", "mcopy", "ewfacquire"]:
        if not shutil.which(tool) and not pathlib.Path("/usr/sbin", tool).exists():
            notes.append(f"case 5 skipped: {tool} is not installed (apt-get install sleuthkit "
                         "hashdeep dosfstools mtools ewf-tools)")
            return
    tree = make_tree(args.tree_mib)
    files = [p for p in tree.rglob("*") if p.is_file() and p.name != ".params"]
    total = sum(p.stat().st_size for p in files)
    raw, e01 = make_disk_images(tree, total)
    e01_bytes = sum(p.stat().st_size for p in raw.parent.glob("disk.E*"))
    print(f"case 5: {len(files)} files, {total / 2**20:.0f} MiB in a {raw.stat().st_size / 2**20:.0f}"
          f" MiB FAT32 image; E01 {e01_bytes / 2**20:.0f} MiB", flush=True)
    outdir = WORK / "out"
    outdir.mkdir(parents=True, exist_ok=True)
    recovered = WORK / "recovered"
    mh = str(RELEASE.parent / "mh")
    for image, label in [(raw, "raw"), (e01, "E01")]:
        segments = sorted(raw.parent.glob("disk.E*")) if label == "E01" else [raw]
        image_mib = sum(p.stat().st_size for p in segments) / 2**20
        for threads in args.hash_threads:
            report = outdir / f"case5-{label}-mh.jsonl"
            cmds = {
                "read": ["sh", "-c", " ".join(f"cat '{p}'" for p in segments) + " >/dev/null"],
                "tsk_recover+hashdeep": ["sh", "-c",
                    f"tsk_recover -a '{image}' '{recovered}' >/dev/null && "
                    f"hashdeep -r -c md5,sha1,sha256 -j {threads} '{recovered}' "
                    f"> '{outdir}/case5-{label}-hashdeep.txt'"],
                "mh scan": [mh, "scan", "--threads", str(threads), "--report", str(report),
                            str(image)],
            }

            def run_one(tool, _round):
                shutil.rmtree(recovered, ignore_errors=True)
                report.unlink(missing_ok=True)  # mh refuses to overwrite a report
                c0, t0 = children_cpu(), time.perf_counter()
                r = subprocess.run(cmds[tool])
                if r.returncode not in (0, 1):
                    raise RuntimeError(f"{cmds[tool]} exited with {r.returncode}")
                return time.perf_counter() - t0, children_cpu() - c0

            for tool in cmds:  # untimed warm-up (and page cache)
                run_one(tool, -1)
            timings = Timings()
            alternate(args.rounds, list(cmds), run_one, timings)
            hd = parse_hashdeep((outdir / f"case5-{label}-hashdeep.txt").read_text())
            hd = {k[len(str(recovered)) + 1:]: v for k, v in hd.items()}
            got = parse_mh_scan(report, f"{image}/p0/")
            # tsk_recover writes no empty files; mh lists them (with the empty digests).
            empty = sum(1 for v in got.values() if v[0] == 0)
            got = {k: v for k, v in got.items() if v[0] != 0}
            same = sum(1 for k in hd if got.get(k) == hd[k])
            agree = (f"{same}/{len(hd)} files: size+MD5+SHA-1+SHA-256 equal (and {empty} empty "
                     "files tsk_recover skips)"
                     + ("" if same == len(hd) == len(got) else f" (mh listed {len(got)}) MISMATCH"))
            t_read, t_peer, t_mh = (timings.median(t) for t in cmds)
            c_peer, c_mh = timings.cpu_median("tsk_recover+hashdeep"), timings.cpu_median("mh scan")
            report.unlink(missing_ok=True)
            rss = peak_rss_mib(cmds["mh scan"])
            rows.append([
                f"5. {label} image {image_mib:.0f} MiB, {len(files)} files, {threads} thread(s)",
                f"tsk_recover -a + hashdeep -j{threads}: {t_peer:.2f} s, {image_mib / t_peer:.0f} "
                f"MiB/s, {len(files) / t_peer:.0f} files/s (CPU {c_peer:.2f} s)",
                f"mh scan: {t_mh:.2f} s, {image_mib / t_mh:.0f} MiB/s, {len(files) / t_mh:.0f} "
                f"files/s (CPU {c_mh:.2f} s, peak RSS {rss:.0f} MiB)",
                f"{t_peer / t_mh:.2f}x (CPU {c_peer / c_mh:.2f}x)", agree, timings.load_range()])
            notes.append(f"case 5, {label}, {threads} thread(s): reading the image file "
                         f"(cat, page cache) {t_read:.2f} s = {image_mib / t_read:.0f} MiB/s, "
                         f"the limit; mh scan reaches {100 * t_read / t_mh:.0f}% of it")
    shutil.rmtree(recovered, ignore_errors=True)


# --------------------------------------------------------------------------- main


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", default="1,2,3,4,5", help="comma-separated subset of 1,2,3,4,5")
    ap.add_argument("--rounds", type=int, default=5, help="timed rounds (cases 1, 4 and 5)")
    ap.add_argument("--image-rounds", type=int, default=3, help="timed rounds (cases 2, 3)")
    ap.add_argument("--threads", default=f"1,{os.cpu_count()}",
                    help="case 1 thread counts (same for hashdeep and mh)")
    ap.add_argument("--tree-mib", type=int, default=1024, help="case 1 tree size")
    ap.add_argument("--search-sizes", default="1000000,10000000")
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--multihash-max", type=float, default=1e7,
                    help="largest set FAISS MultiHash runs on (it takes ~7 min per round at 1e7)")
    args = ap.parse_args()
    args.cases = {int(c) for c in args.cases.split(",")}
    args.hash_threads = sorted({int(t) for t in args.threads.split(",")})
    args.search_sizes = [int(float(s)) for s in args.search_sizes.split(",")]
    WORK.mkdir(parents=True, exist_ok=True)

    info = machine()
    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    rows, notes = Rows(), []
    if 1 in args.cases:
        case1(args, rows, notes)
    if args.cases & {2, 3}:
        cases23(args, rows, notes)
    if 4 in args.cases:
        case4(args, rows, notes)
    if 5 in args.cases:
        case5(args, rows, notes)

    lines = [f"## mediahash versus peers, {started}", "",
             "Machine: " + ", ".join(f"{k} {v}" for k, v in info.items()),
             "Peers: " + "; ".join(f"{k}: {v}" for k, v in versions().items()),
             f"Command: benches/compare/run.sh {' '.join(sys.argv[1:])}", "",
             "| case | peer (median) | mediahash (median) | speed-up | answers | load (1 min) |",
             "|---|---|---|---|---|---|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    lines += [""] + [f"- {n}" for n in notes]
    text = "\n".join(lines) + "\n"
    print("\n" + text)
    result = WORK / f"results-{time.strftime('%Y%m%d-%H%M%S')}.md"
    result.write_text(text)
    print(f"(saved to {result})")


if __name__ == "__main__":
    main()
