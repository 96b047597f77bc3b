#!/usr/bin/env python3
"""Reference digests for the decode module: SHA-256 of Pillow's decode.

For every image file under DIR (recursively, sorted), prints one CSV row

    path,width,height,sha256

where sha256 is the SHA-256 (lower-case hex) of
`Image.open(path).convert('RGB').tobytes()`, i.e. 8-bit RGB, row-major, which is exactly
what `mediahash::decode::decode_rgb8` returns in `RgbImage::pixels`. `path` is relative to
DIR with '/' separators. If Pillow cannot decode a file, the row is
`path,,,error:<ExceptionName>`.

For every JPEG, three more rows `path#scale=1/D` (D = 2, 4, 8) give Pillow's DCT-domain
reduced decode, `im.draft('RGB', (w // D, h // D))` then convert('RGB'), which libjpeg
performs with scale_denom = D (output ceil(w/D) x ceil(h/D)); mediahash's
`JpegScale::Fast` must reproduce it. Rows are left out when the image is smaller than D.

Used for:
  tests/vectors/pillow-decode-sha256.csv    DIR = the shared test data (MEDIAHASH_TESTDATA)
  tests/vectors/pillow-fixtures-sha256.csv  DIR = the fixtures written by
      MEDIAHASH_WRITE_DECODE_FIXTURES=/tmp/fx cargo test --test decode write_fixtures

Run with the project venv (Pillow 13.0.0, bundled libjpeg-turbo 3.2.0):
    /work/venv/bin/python scripts/pillow_decode_digests.py DIR > OUT.csv
"""

import hashlib
import os
import sys
import warnings

from PIL import Image

SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff", ".webp", ".ico",
            ".pbm", ".pgm", ".ppm", ".pnm", ".pam")


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    root = sys.argv[1]
    Image.MAX_IMAGE_PIXELS = None  # the test data is trusted; mirror our own limits
    warnings.simplefilter("ignore")
    paths = []
    for base, _dirs, files in os.walk(root):
        for name in files:
            if name.lower().endswith(SUFFIXES):
                paths.append(os.path.relpath(os.path.join(base, name), root))
    print("path,width,height,sha256")
    for rel in sorted(p.replace(os.sep, "/") for p in paths):
        path = os.path.join(root, rel)
        try:
            with Image.open(path) as im:
                is_jpeg = im.format == "JPEG"
                rgb = im.convert("RGB")
                digest = hashlib.sha256(rgb.tobytes()).hexdigest()
                print(f"{rel},{rgb.width},{rgb.height},{digest}")
        except Exception as exc:  # noqa: BLE001 - the failure itself is the expected value
            print(f"{rel},,,error:{type(exc).__name__}")
            continue
        if not is_jpeg:
            continue
        for denom in (2, 4, 8):
            with Image.open(path) as im:
                w, h = im.size
                if w < denom or h < denom:
                    continue
                im.draft("RGB", (w // denom, h // denom))
                expected = (-(-w // denom), -(-h // denom))
                if im.size != expected:
                    raise SystemExit(f"{rel}: draft gave {im.size}, expected {expected}")
                rgb = im.convert("RGB")
                digest = hashlib.sha256(rgb.tobytes()).hexdigest()
                print(f"{rel}#scale=1/{denom},{rgb.width},{rgb.height},{digest}")
    print(f"# Pillow {Image.__version__}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
