#!/usr/bin/env python3
"""Expected PDQ values for the synthetic test images (tests/common/synth.rs).

Writes tests/vectors/pdq-synthetic.csv, which tests/pdq.rs checks at zero tolerance on every
run (no external test data needed). The values come from Meta's C++ PDQ core
(facebook/ThreatExchange pdq/cpp) as compiled into the `pdqhash` Python package's extension,
at full resolution (see below for why its C++ functions are called directly).

Regenerate (from the repository root):

    cargo run --example gen_synthetic -- /tmp/mediahash-synth
    /work/venv/bin/python scripts/pdq_vectors.py /tmp/mediahash-synth tests/vectors/pdq-synthetic.csv

Environment used for the committed file: Python 3.11, pdqhash 0.2.8 (built from its sdist on
x86-64 Linux with g++), Pillow 13.0.0, numpy 2.4.6.

Pixels: Pillow `Image.open(path).convert('RGB')` (grey images replicate to R=G=B), as
`np.asarray`.

Why the C++ functions are called directly: `pdqhash.compute` / `compute_dihedral` compute luma
in numpy float64 and cast it to float32, whereas the C++ library computes it in float32
(`0.299f*R + 0.587f*G + 0.114f*B`). That changes the last bit of the luma of many pixels and,
on smooth gradients, several hash bits (gradient-5x5, -64x64 and -300x200 here). So the
expected values come from the C++ entry points compiled into the pdqhash extension module,
called through ctypes by their exported (mangled) names: `hashing::fillFloatLumaFromRGB`,
`pdqHash256FromFloatLuma` and `pdqDihedralHash256esFromFloatLuma`, i.e. exactly what a C++
caller of the library gets. The public `pdqhash.compute` / `compute_dihedral` results are
written too (column pdqhash_binding_pdq, and the Hamming distance of each binding hash from
the C++ one on stderr) for transparency; the Rust test does not use them.

pdqhash returns each hash as 256 bits, most significant first (element 0 is bit 255), so the
bits joined as a binary number give the C++ `Hash256::format()` hex string; the C++ Hash256 is
16 uint16 words, printed w[15] first with %04hx.

Columns: name (file stem), width, height, pdq, quality, dihedral_orig, then rot90, rot180,
rot270, flipx, flipy, flipplus1, flipminus1, then pdqhash_binding_pdq. dihedral_orig equals
pdq except possibly for 64x64 images (the C++ plain hash skips the box filter there, the
dihedral function does not).
"""

import ctypes
import csv
import pathlib
import sys

import numpy as np
import pdqhash
import pdqhash.bindings
from PIL import Image

DIHEDRAL = ["rot90", "rot180", "rot270", "flipx", "flipy", "flipplus1", "flipminus1"]


class Hash256(ctypes.Structure):
    _fields_ = [("w", ctypes.c_uint16 * 16)]

    def hex(self) -> str:
        return "".join("%04x" % self.w[i] for i in range(15, -1, -1))


F64x64 = ctypes.c_float * 64 * 64
F16x64 = ctypes.c_float * 64 * 16
F16x16 = ctypes.c_float * 16 * 16
FPTR = ctypes.POINTER(ctypes.c_float)
U8PTR = ctypes.POINTER(ctypes.c_uint8)
HPTR = ctypes.POINTER(Hash256)
INT = ctypes.c_int

lib = ctypes.CDLL(pdqhash.bindings.__file__)
fill_luma = lib["_ZN8facebook3pdq7hashing20fillFloatLumaFromRGBEPhS2_S2_iiiiPf"]
fill_luma.argtypes = [U8PTR, U8PTR, U8PTR, INT, INT, INT, INT, FPTR]
fill_luma.restype = None
hash_luma = lib["_ZN8facebook3pdq7hashing23pdqHash256FromFloatLumaEPfS2_iiPA64_fS4_PA16_fRNS1_7Hash256ERi"]
hash_luma.argtypes = [FPTR, FPTR, INT, INT, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                      HPTR, ctypes.POINTER(INT)]
hash_luma.restype = None
dihedral_luma = lib["_ZN8facebook3pdq7hashing33pdqDihedralHash256esFromFloatLumaEPfS2_iiPA64_fS4_PA16_fS6_PNS1_7Hash256ES8_S8_S8_S8_S8_S8_S8_Ri"]
dihedral_luma.argtypes = ([FPTR, FPTR, INT, INT] + [ctypes.c_void_p] * 4 + [HPTR] * 8
                          + [ctypes.POINTER(INT)])
dihedral_luma.restype = ctypes.c_bool


def cpp_luma(rgb: np.ndarray) -> np.ndarray:
    """C++ hashing::fillFloatLumaFromRGB on an HxWx3 uint8 array."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w = rgb.shape[:2]
    luma = np.zeros((h, w), dtype=np.float32)
    base = rgb.ctypes.data
    fill_luma(ctypes.cast(base, U8PTR), ctypes.cast(base + 1, U8PTR), ctypes.cast(base + 2, U8PTR),
              h, w, w * 3, 3, luma.ctypes.data_as(FPTR))
    # Cross-check against the float32 formula evaluated by numpy.
    f = rgb.astype(np.float32)
    mine = (np.float32(0.299) * f[:, :, 0] + np.float32(0.587) * f[:, :, 1]) + np.float32(0.114) * f[:, :, 2]
    assert np.array_equal(mine.view(np.uint32), luma.view(np.uint32))
    return luma


def cpp_hash(luma: np.ndarray):
    """pdqHash256FromFloatLuma: (hex, quality). Buffers are scratch, as in the C++ API."""
    h, w = luma.shape
    buf1 = luma.copy()
    buf2 = np.zeros_like(luma)
    out, q = Hash256(), INT()
    hash_luma(buf1.ctypes.data_as(FPTR), buf2.ctypes.data_as(FPTR), h, w,
              ctypes.byref(F64x64()), ctypes.byref(F16x64()), ctypes.byref(F16x16()),
              ctypes.byref(out), ctypes.byref(q))
    return out.hex(), q.value


def cpp_dihedral(luma: np.ndarray):
    """pdqDihedralHash256esFromFloatLuma: ([8 hex], quality)."""
    h, w = luma.shape
    buf1 = luma.copy()
    buf2 = np.zeros_like(luma)
    outs = [Hash256() for _ in range(8)]
    q = INT()
    ok = dihedral_luma(buf1.ctypes.data_as(FPTR), buf2.ctypes.data_as(FPTR), h, w,
                       ctypes.byref(F64x64()), ctypes.byref(F16x64()), ctypes.byref(F16x16()),
                       ctypes.byref(F16x16()), *[ctypes.byref(o) for o in outs], ctypes.byref(q))
    assert ok
    return [o.hex() for o in outs], q.value


def bits_to_hex(bits) -> str:
    """256 bits, most significant first (the pdqhash binding's order), as 64 hex digits."""
    bits = [int(b) for b in bits]
    assert len(bits) == 256 and set(bits) <= {0, 1}
    return "%064x" % int("".join(map(str, bits)), 2)


def distance(a: str, b: str) -> int:
    return bin(int(a, 16) ^ int(b, 16)).count("1")


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    src = pathlib.Path(sys.argv[1])
    out = pathlib.Path(sys.argv[2])
    pngs = sorted(src.glob("*.png"))
    if not pngs:
        print(f"no PNG files in {src}", file=sys.stderr)
        return 1
    rows = []
    for path in pngs:
        with Image.open(path) as im:
            rgb = np.asarray(im.convert("RGB"))
        h, w = rgb.shape[:2]
        luma = cpp_luma(rgb)
        pdq, quality = cpp_hash(luma)
        dih, dquality = cpp_dihedral(luma)
        assert quality == dquality, path
        # The public binding, for comparison only (float64 luma).
        bbits, bquality = pdqhash.compute(rgb)
        bdih, _ = pdqhash.compute_dihedral(rgb)
        binding = bits_to_hex(bbits)
        bdist = [distance(pdq, binding)] + [distance(a, bits_to_hex(b)) for a, b in zip(dih, bdih)]
        print(f"{path.name}: {w}x{h} q={quality}; pdqhash.compute differs by {bdist[0]} bits "
              f"(quality {bquality}), compute_dihedral by {bdist[1:]}", file=sys.stderr)
        rows.append([path.stem, w, h, pdq, quality] + dih + [binding])
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["name", "width", "height", "pdq", "quality", "dihedral_orig"] + DIHEDRAL
                        + ["pdqhash_binding_pdq"])
        writer.writerows(rows)
    print(f"wrote {len(rows)} rows to {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
