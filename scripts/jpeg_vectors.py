#!/usr/bin/env python3
"""Make the committed JPEG test files and their reference-pipeline hashes.

The reference pipeline for PDQ is Pillow (bundled libjpeg-turbo) + convert('RGB') + the
`pdqhash` binding (Meta's C++ core); for pHash/dHash/aHash it is `imagehash` 4.3.2 on
Image.open(). Our JPEG decoder must reproduce both bit for bit.

Regenerate (from the repository root):
    cargo run --example gen_synthetic -- /tmp/mh-synth
    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install pdqhash==0.2.8 ImageHash==4.3.2 Pillow==13.0.0 numpy
    /tmp/venv/bin/python scripts/jpeg_vectors.py /tmp/mh-synth

Writes tests/data/jpeg/*.jpg (encoded by Pillow from the synthetic PNGs) and
tests/vectors/jpeg-pipeline.csv.
"""
import csv
import hashlib
import pathlib
import sys

import imagehash
import numpy as np
import pdqhash
from PIL import Image, features

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "tests" / "data" / "jpeg"
CSV_PATH = ROOT / "tests" / "vectors" / "jpeg-pipeline.csv"

# (synthetic source, output name, Pillow save options): chroma subsampling 4:2:0, 4:2:2 and
# 4:4:4, progressive, low quality, grey, and odd sizes that exercise edge upsampling.
VARIANTS = [
    ("shapes-640x480", "shapes-q85-420", dict(quality=85, subsampling=2)),
    ("shapes-640x480", "shapes-q95-444", dict(quality=95, subsampling=0)),
    ("shapes-640x480", "shapes-q70-422-progressive", dict(quality=70, subsampling=1, progressive=True)),
    ("text-320x240", "text-q60-420", dict(quality=60, subsampling=2)),
    ("gradient-300x200", "gradient-q90-420", dict(quality=90, subsampling=2)),
    ("noise-200x150", "noise-q50-420", dict(quality=50, subsampling=2)),
    ("shapes-63x65", "shapes-63x65-q80-420", dict(quality=80, subsampling=2)),
    ("stripes-1031x517", "stripes-1031x517-q75-420", dict(quality=75, subsampling=2)),
    ("grey-shapes-250x190", "grey-shapes-q80", dict(quality=80)),
    ("shapes-37x700", "shapes-37x700-q10-420", dict(quality=10, subsampling=2)),
]


def bits_to_hex(bits):
    """pdqhash returns 256 0/1 values, most significant bit first."""
    value = 0
    for b in bits:
        value = (value << 1) | int(b)
    return f"{value:064x}"


def main():
    synth_dir = pathlib.Path(sys.argv[1])
    assert features.check("libjpeg_turbo"), "Pillow must be built with libjpeg-turbo"
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    rows = []
    for source, name, options in VARIANTS:
        src = Image.open(synth_dir / f"{source}.png")
        path = OUT_DIR / f"{name}.jpg"
        src.save(path, "JPEG", optimize=False, **options)
        img = Image.open(path)
        rgb = np.asarray(img.convert("RGB"))
        pdq_bits, quality = pdqhash.compute(rgb)
        dihedral_bits, _ = pdqhash.compute_dihedral(rgb)
        rows.append({
            "file": path.name,
            "width": img.width,
            "height": img.height,
            "rgb_sha256": hashlib.sha256(rgb.tobytes()).hexdigest(),
            "pdq": bits_to_hex(pdq_bits),
            "quality": int(quality),
            "pdq_dihedral": " ".join(bits_to_hex(b) for b in dihedral_bits),
            "phash": str(imagehash.phash(img)),
            "dhash": str(imagehash.dhash(img)),
            "ahash": str(imagehash.average_hash(img)),
        })
    with open(CSV_PATH, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0].keys()), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {len(rows)} rows to {CSV_PATH}", file=sys.stderr)


if __name__ == "__main__":
    main()
