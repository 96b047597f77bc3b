"""Every error path of the package: one exception class per status band, with the code."""

from __future__ import annotations

import errno
import os

import numpy as np
import pytest

import mediahash
from mediahash import errors


def test_band_classes():
    cases = {1: errors.ArgumentError, 4: errors.ArgumentError, 101: errors.FileSystemError,
             103: errors.FileSystemError, 200: errors.RefsetError, 202: errors.RefsetError,
             301: errors.ScanError, 400: errors.ImageError, 500: errors.HashListError,
             600: errors.VideoError, 999: errors.MediahashError}
    for status, cls in cases.items():
        e = errors.from_status(status, "name", "message")
        assert type(e) is cls and e.status == status and str(e) == "message"
        assert isinstance(e, mediahash.MediahashError)
    assert issubclass(errors.ArgumentError, ValueError)
    assert issubclass(errors.FileSystemError, OSError)


def test_hash_file_errors(tmp_path):
    with pytest.raises(mediahash.FileSystemError) as e:
        mediahash.hash_file(tmp_path / "missing.jpg")
    assert e.value.status == 101 and e.value.errno == errno.ENOENT
    assert isinstance(e.value, FileNotFoundError) or isinstance(e.value, OSError)
    with pytest.raises(mediahash.FileSystemError) as e:
        mediahash.hash_file(tmp_path)
    assert e.value.status == 103
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(mediahash.FileSystemError) as e:
        mediahash.hash_file(fifo)  # must not block
    assert e.value.status == 103
    if os.geteuid() != 0:
        locked = tmp_path / "locked"
        locked.write_bytes(b"x")
        locked.chmod(0)
        with pytest.raises(mediahash.FileSystemError) as e:
            mediahash.hash_file(locked)
        assert e.value.status == 102


def test_pixel_argument_errors():
    with pytest.raises(TypeError):
        mediahash.pdq("not an image")
    with pytest.raises(TypeError):
        mediahash.phash(42)
    with pytest.raises(mediahash.ArgumentError) as e:
        mediahash.pdq(np.zeros((10, 10, 3), np.float32))
    assert e.value.status == 2
    with pytest.raises(mediahash.ArgumentError):
        mediahash.pdq(np.zeros((10, 10), np.uint8))  # PDQ needs RGB
    with pytest.raises(mediahash.ArgumentError):
        mediahash.pdq(np.zeros((10, 10, 2), np.uint8))
    with pytest.raises(mediahash.ArgumentError):
        mediahash.pdq(np.zeros((0, 10, 3), np.uint8))  # a side of 0
    with pytest.raises(mediahash.ArgumentError):
        mediahash.phash(np.zeros((10, 0), np.uint8))
    with pytest.raises(mediahash.ArgumentError):
        mediahash.phash(np.zeros((8, 8, 3), np.uint8), hash_size=16)
    with pytest.raises(mediahash.ArgumentError):
        mediahash.dhash(np.zeros((8, 8, 3), np.uint8), hash_size=4)
    # Tiny images are not errors: PDQ gives the all-zero hash with quality 0, as pdqhash.
    bits, quality = mediahash.pdq(np.zeros((4, 4, 3), np.uint8))
    assert quality == 0 and not bits.any()


def test_refset_errors(tmp_path, refset):
    with pytest.raises(mediahash.FileSystemError) as e:
        mediahash.RefSet.open(tmp_path / "missing.mhset")
    assert e.value.status == 101
    with pytest.raises(mediahash.FileSystemError) as e:
        mediahash.RefSet.open(tmp_path)
    assert e.value.status == 103
    junk = tmp_path / "junk.mhset"
    junk.write_bytes(b"not a set" * 100)
    with pytest.raises(mediahash.RefsetError) as e:
        mediahash.RefSet.open(junk)
    assert e.value.status == 200
    damaged = tmp_path / "damaged.mhset"
    data = bytearray(refset.read_bytes())
    data[len(data) // 2] ^= 0x55
    damaged.write_bytes(bytes(data))
    with pytest.raises(mediahash.RefsetError) as e:
        mediahash.RefSet.open(damaged)
    assert e.value.status in (200, 202)
    truncated = tmp_path / "truncated.mhset"
    truncated.write_bytes(bytes(data[: len(data) - 10]))
    with pytest.raises(mediahash.RefsetError):
        mediahash.RefSet.open(truncated, verify=False)
    s = mediahash.RefSet.open(refset)
    with pytest.raises(mediahash.ArgumentError):
        s.lookup("xyz")
    with pytest.raises(mediahash.ArgumentError):
        s.lookup("ab" * 7)  # 14 digits: which kind?
    with pytest.raises(mediahash.ArgumentError):
        s.lookup("ab" * 16, kind="sha512")
    with pytest.raises(mediahash.ArgumentError):
        s.lookup("ab" * 16, kind="sha1")  # wrong length for the kind
    with pytest.raises(mediahash.ArgumentError):
        s.search_pdq(np.zeros((3, 31), np.uint8))
    with pytest.raises(mediahash.ArgumentError):
        s.search_pdq(np.zeros((3, 32), np.int32))
    with pytest.raises(mediahash.ArgumentError):
        s.search_pdq(np.full((1, 256), 2, np.uint8))
    with pytest.raises(mediahash.ArgumentError):
        s.search_pdq(np.zeros((1, 32), np.uint8), radius=257)
    with pytest.raises(mediahash.ArgumentError):
        s.search_pdq(np.zeros((1, 32), np.uint8), radius=-1)
    with pytest.raises(mediahash.ArgumentError):
        s.search_pdq(["zz" * 32])
    with pytest.raises(mediahash.ArgumentError):
        s.pdq_matches(b"\0" * 31)


def test_verify_reports_a_checksum_mismatch(tmp_path, refset):
    data = bytearray(refset.read_bytes())
    s = mediahash.RefSet.open(refset)
    # A flipped byte inside the hash data (not the header): open without the full check
    # succeeds, verify() then names the mismatch.
    for offset in range(len(data) // 2, len(data) - 100):
        data2 = bytearray(data)
        data2[offset] ^= 0x01
        path = tmp_path / "flipped.mhset"
        path.write_bytes(bytes(data2))
        try:
            opened = mediahash.RefSet.open(path, verify=False)
        except mediahash.RefsetError:
            continue
        with pytest.raises(mediahash.RefsetError) as e:
            opened.verify()
        assert e.value.status in (200, 202)
        break
    else:
        pytest.fail("no byte flip opened without the full check")
    s.verify()


def test_scan_errors(tmp_path, tree):
    with pytest.raises(mediahash.FileSystemError) as e:
        list(mediahash.scan(tmp_path / "missing"))
    assert e.value.status == 101
    with pytest.raises(mediahash.ArgumentError):
        list(mediahash.scan([]))
    with pytest.raises(mediahash.ArgumentError):
        list(mediahash.scan(tree, exclude=["[unclosed"]))
    with pytest.raises(mediahash.ArgumentError):
        mediahash.scan(tree, pdq_radius=300)
    with pytest.raises(mediahash.FileSystemError):
        mediahash.scan(tree, [tmp_path / "missing.mhset"])
