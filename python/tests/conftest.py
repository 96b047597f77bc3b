"""Shared fixtures: the shared photos, generated pictures, the `mh` binary and small sets.

Reference tools (oracles) are the Python packages examiners use: pdqhash 0.2.8 (Meta's C++
PDQ), imagehash 4.3.2 and Pillow, hashlib; and `mh` itself for scans and set building.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

ROOT = pathlib.Path(__file__).resolve().parents[2]
REQUIRE = os.environ.get("MEDIAHASH_REQUIRE_TESTDATA") == "1"


def testdata_dir() -> pathlib.Path | None:
    env = os.environ.get("MEDIAHASH_TESTDATA")
    path = pathlib.Path(env) if env else ROOT.parent / "shared" / "testdata"
    return path if (path / "photos").is_dir() else None


@pytest.fixture(scope="session")
def photos() -> list[pathlib.Path]:
    """Every shared photo (JPEG and PNG), sorted."""
    base = testdata_dir()
    if base is None:
        if REQUIRE:
            pytest.fail("MEDIAHASH_TESTDATA (photos/) not found and MEDIAHASH_REQUIRE_TESTDATA=1")
        pytest.skip("needs ../shared/testdata or MEDIAHASH_TESTDATA")
    files = sorted(
        p for p in (base / "photos").rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png")
    )
    assert len(files) >= 30, files
    return files


def generated_pictures() -> list[tuple[str, np.ndarray]]:
    """Made in code: gradients, waves, noise, flat, stripes; odd, tiny, 64x64, tall, wide."""
    rng = np.random.default_rng(17)
    out = []
    for w, h in [(1, 1), (4, 4), (5, 5), (7, 3), (31, 17), (64, 64), (65, 63), (128, 96),
                 (300, 200), (97, 611), (1024, 13), (513, 511)]:
        y, x = np.mgrid[0:h, 0:w].astype(np.float64)
        wave = 70 * np.sin(13 * x / max(w, 1) + 7 * y / max(h, 1)) * np.cos(11 * y / max(h, 1))
        grad = np.stack([80 + 100 * x / max(w, 1) + wave, 80 + 100 * y / max(h, 1) + wave,
                         128 + wave], axis=2)
        out.append((f"wave-{w}x{h}", np.clip(grad, 0, 255).astype(np.uint8)))
        out.append((f"noise-{w}x{h}", rng.integers(0, 256, (h, w, 3), dtype=np.uint8)))
    out.append(("flat-200x150", np.full((150, 200, 3), 77, np.uint8)))
    stripes = np.zeros((120, 160, 3), np.uint8)
    stripes[:, ::8] = 255
    out.append(("stripes-160x120", stripes))
    checker = ((np.indices((256, 256)).sum(axis=0) // 16) % 2 * 255).astype(np.uint8)
    out.append(("checker-256", np.stack([checker, 255 - checker, checker // 2], axis=2)))
    return out


@pytest.fixture(scope="session")
def pictures() -> list[tuple[str, np.ndarray]]:
    return generated_pictures()


@pytest.fixture(scope="session")
def mh() -> str:
    """The `mh` binary: $MEDIAHASH_MH, else the worktree's target/{release,debug}/mh."""
    env = os.environ.get("MEDIAHASH_MH")
    candidates = [env] if env else [str(ROOT / "target" / d / "mh") for d in ("release", "debug")]
    for c in candidates:
        if c and os.access(c, os.X_OK):
            return c
    found = shutil.which("mh")
    if found:
        return found
    pytest.fail(f"mh not found (tried {candidates}); run `cargo build` or set MEDIAHASH_MH")


def save_picture(array: np.ndarray, path: pathlib.Path, **kw) -> pathlib.Path:
    Image.fromarray(array).save(path, **kw)
    return path


@pytest.fixture(scope="session")
def tree(tmp_path_factory) -> pathlib.Path:
    """A small evidence tree: pictures (PNG, JPEG, re-encoded and resized copies), text, an
    empty file, a truncated JPEG, nested folders."""
    base = tmp_path_factory.mktemp("evidence") / "case"
    (base / "a" / "b").mkdir(parents=True)
    (base / "c").mkdir()
    pics = [p for n, p in generated_pictures() if n.startswith("wave") and min(p.shape[:2]) >= 64]
    for i, p in enumerate(pics):
        save_picture(p, base / "a" / f"pic{i}.png")
        save_picture(p, base / "a" / "b" / f"pic{i}.jpg", quality=90)
        small = np.asarray(Image.fromarray(p).resize((p.shape[1] // 2 + 1, p.shape[0] // 2 + 1)))
        save_picture(small, base / "c" / f"half{i}.png")
    (base / "notes.txt").write_text("nothing to see\n")
    (base / "empty.bin").write_bytes(b"")
    jpeg = (base / "a" / "b" / "pic0.jpg").read_bytes()
    (base / "c" / "truncated.jpg").write_bytes(jpeg[: len(jpeg) // 3])
    return base


@pytest.fixture(scope="session")
def refset(tmp_path_factory, tree, mh) -> pathlib.Path:
    """An alert set built by `mh refset build`: the MD5 of notes.txt (md5sum list) and the
    PDQ of the PNG pictures (a PDQ CSV)."""
    import hashlib

    work = tmp_path_factory.mktemp("sets")
    md5 = hashlib.md5((tree / "notes.txt").read_bytes()).hexdigest()
    (work / "known.md5").write_text(f"{md5}  notes.txt\n")
    rows = []
    import mediahash

    for p in sorted((tree / "a").glob("pic*.png")):
        h = mediahash.hash_file(p)
        rows.append(f"{h.pdq_hex},{h.pdq_quality}\n")
    (work / "known-pdq.csv").write_text("".join(rows))
    out = work / "known.mhset"
    subprocess.run(
        [mh, "refset", "build", "-o", str(out), "--alert", str(work / "known.md5"),
         str(work / "known-pdq.csv")],
        check=True, capture_output=True,
    )
    return out
