"""Development corpus for the robustness harness: benign, freely licensed pictures reachable
from this machine, extracted into a cache directory outside the repository (never committed).

Sources and licences (no pictures of people; pictures showing people are left out by name):

| source | what | licence |
|---|---|---|
| $MEDIAHASH_TESTDATA/photos (kodak, thorn-perception, threatexchange) | photographs (see its SOURCES.txt) | Kodak: unrestricted use; Wikimedia Commons photos (CC BY-SA / public domain); ThreatExchange BSD |
| Debian gnome-backgrounds | wallpapers (photographs and renders) | CC BY-SA 3.0 / CC BY 2.0 (debian/copyright) |
| Debian mate-backgrounds | nature, desktop and abstract wallpapers | GPL-2+ / CC BY-SA (debian/copyright) |
| Debian plasma-workspace-wallpapers | wallpapers | LGPL-3 / CC BY-SA 4.0 (debian/copyright) |
| Debian ukui-wallpapers, lomiri-wallpapers(-16.04, -20.04), sway-backgrounds, desktop-base | wallpapers | GPL / CC0 / CC BY-SA (debian/copyright) |
| Debian palapeli-data | puzzle photographs and textures | GPL-2+ / LGPL (debian/copyright) |
| Debian tuxpaint-data | template photographs (nature, bark, ocean, sheep) | GPL-2+ / CC (debian/copyright) |
| Debian stellarium-data | deep-sky photographs (nebulae/default), panorama tiles of landscape photographs (landscapes/*, opaque part) | GPL-2+; image credits in the package (debian/copyright) |
| PyPI scikit-image (skimage/data) | sample photographs (cat, coffee, coins, rocket, moon, ...) | BSD-3 / CC0 / public domain (skimage/data/README.txt) |

Pictures are converted to RGB (alpha composited on mid grey), scaled so the longer side is at
most 768 px, and kept only when PDQ quality >= 50 and at PDQ distance > 40 from every picture
kept before them (the same wallpaper in two resolutions or light/dark variants counts once).
"""

import glob
import os
import subprocess
import sys

import numpy as np
import pdqhash
from PIL import Image

DEBIAN_PACKAGES = [
    "gnome-backgrounds", "mate-backgrounds", "plasma-workspace-wallpapers", "ukui-wallpapers",
    "lomiri-wallpapers", "lomiri-wallpapers-16.04", "lomiri-wallpapers-20.04",
    "sway-backgrounds", "desktop-base", "palapeli-data", "tuxpaint-data", "stellarium-data",
]

# Pictures that show people (left out), by file name.
PEOPLE = {"kodim04.png", "kodim05.png", "kodim14.png", "kodim18.png", "image3.jpg", "image7.jpg",
          "astronaut.png", "camera.png"}
SKIMAGE = ["brick.png", "cell.png", "chelsea.png", "coffee.png", "coins.png", "grass.png",
           "gravel.png", "hubble_deep_field.jpg", "ihc.png", "microaneurysms.png", "moon.png",
           "motorcycle_left.png", "retina.jpg", "rocket.jpg"]
MAX_SIDE = 768
STELLARIUM_MAX = 115  # deep-sky pictures are many and alike: a bounded share of the corpus


def _extract_debs(cache):
    debs, root = os.path.join(cache, "debs"), os.path.join(cache, "x")
    os.makedirs(debs, exist_ok=True)
    have = os.listdir(debs)
    missing = [p for p in DEBIAN_PACKAGES if not any(f.startswith(p + "_") for f in have)]
    if missing:
        subprocess.run(["apt-get", "download", *missing], cwd=debs, check=True)
    if not os.path.isdir(root):
        os.makedirs(root)
        for deb in sorted(glob.glob(os.path.join(debs, "*.deb"))):
            subprocess.run(["dpkg-deb", "-x", deb, root], check=True)
    return root


def _candidates(cache, testdata):
    """(label, path) in a fixed order."""
    out = []
    for sub in ("kodak", "thorn-perception", "threatexchange"):
        for p in sorted(glob.glob(os.path.join(testdata, "photos", sub, "*"))):
            if p.lower().endswith((".png", ".jpg", ".jpeg")):
                out.append(("shared-" + sub, p))
    root = _extract_debs(cache)
    share = os.path.join(root, "usr", "share")
    pics = lambda pattern: sorted(
        p for p in glob.glob(os.path.join(share, pattern), recursive=True)
        if p.lower().endswith((".png", ".jpg", ".jpeg", ".webp")) and os.path.getsize(p) > 40000)
    for p in pics("backgrounds/**/*"):
        out.append(("debian-backgrounds", p))
    # Plasma: one picture per wallpaper (the largest size), light variant.
    for d in sorted(glob.glob(os.path.join(share, "wallpapers", "*", "contents", "images"))):
        files = pics(os.path.relpath(d, share) + "/*")
        if files:
            out.append(("debian-plasma", max(files, key=os.path.getsize)))
    for p in pics("palapeli/**/*"):
        out.append(("debian-palapeli", p))
    for p in pics("tuxpaint/templates/*"):
        out.append(("debian-tuxpaint", p))
    import skimage
    skdir = os.path.join(os.path.dirname(skimage.__file__), "data")
    for name in SKIMAGE:
        out.append(("pypi-scikit-image", os.path.join(skdir, name)))
    for p in pics("stellarium/landscapes/*/*"):
        out.append(("debian-stellarium-landscape", p))
    for p in pics("stellarium/nebulae/default/*")[:STELLARIUM_MAX * 2]:
        out.append(("debian-stellarium", p))
    return out


def _load(path):
    im = Image.open(path)
    im.load()
    if im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info:
        # Panorama tiles: keep the opaque part (the ground photograph), not the cut-out sky.
        alpha = np.asarray(im.convert("RGBA"))[:, :, 3]
        rows = np.nonzero((alpha > 250).mean(axis=1) > 0.99)[0]
        if len(rows) and rows[-1] - rows[0] > 64:
            im = im.crop((0, int(rows[0]), im.width, int(rows[-1]) + 1))
    if im.mode in ("RGBA", "LA", "P", "PA"):
        im = im.convert("RGBA")
        bg = Image.new("RGBA", im.size, (128, 128, 128, 255))
        im = Image.alpha_composite(bg, im)
    im = im.convert("RGB")
    if max(im.size) > MAX_SIDE:
        s = MAX_SIDE / max(im.size)
        im = im.resize((max(1, round(im.width * s)), max(1, round(im.height * s))),
                       Image.LANCZOS)
    return im


def _bits(h):
    return np.packbits(np.asarray(h, dtype=np.uint8))


def build(cache, testdata, limit=None):
    """Writes the corpus to cache/originals (once); returns [(name, label, path)]."""
    out_dir = os.path.join(cache, "originals")
    index = os.path.join(out_dir, "INDEX.tsv")
    if os.path.exists(index):
        rows = [l.rstrip("\n").split("\t") for l in open(index)]
        return rows[:limit] if limit else rows
    os.makedirs(out_dir, exist_ok=True)
    kept, rows, stellarium = [], [], 0
    for label, path in _candidates(cache, testdata):
        if os.path.basename(path) in PEOPLE:
            continue
        if label == "debian-stellarium" and stellarium >= STELLARIUM_MAX:
            continue
        try:
            im = _load(path)
        except Exception as e:  # a file Pillow cannot read is simply not part of the corpus
            print(f"corpus: skipped {path}: {e}", file=sys.stderr)
            continue
        if min(im.size) < 128:
            continue
        h, q = pdqhash.compute(np.asarray(im))
        if q < 50:
            continue
        b = _bits(h)
        if any(np.unpackbits(b ^ k).sum() <= 40 for k in kept):
            continue
        kept.append(b)
        stellarium += label == "debian-stellarium"
        name = f"{len(rows):04d}"
        dst = os.path.join(out_dir, name + ".png")
        im.save(dst, compress_level=1)
        rows.append([name, label, os.path.relpath(path, cache) if path.startswith(cache) else path])
    with open(index, "w") as f:
        for r in rows:
            f.write("\t".join(r) + "\n")
    return rows[:limit] if limit else rows
