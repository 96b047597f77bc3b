#!/usr/bin/env python3
"""Hash files through mediahash's C API with ctypes (no compiler needed).

    python3 mh_ctypes.py [--lib path/to/libmediahash.so] FILE...

Prints one line per file: SHA-256, PDQ hash and quality (or "-"), pHash, and the path.
The library is found with --lib, else $MEDIAHASH_LIB, else the system search path.
The structures below mirror include/mediahash.h; keep them in sync with it.
"""

import ctypes
import ctypes.util
import os
import sys

MH_STATUS_OK = 0
MH_VALID_PDQ = 1 << 5
MH_VALID_IMAGEHASH = 1 << 7


MH_ABI_VERSION = 1


# The fields this script uses, as ABI version 1 declared them; every struct starts with its
# size, which the caller sets (fields appended since, like `cancel`, take their defaults).
class HashOptions(ctypes.Structure):
    _fields_ = [
        ("struct_size", ctypes.c_uint32),
        ("digests", ctypes.c_uint32),
        ("perceptual", ctypes.c_uint32),
        ("pdq_convention", ctypes.c_uint32),
        ("jpeg_fast_min_side", ctypes.c_uint32),
        ("max_width", ctypes.c_uint32),
        ("max_height", ctypes.c_uint32),
        ("max_pixels", ctypes.c_uint64),
        ("max_alloc_bytes", ctypes.c_uint64),
        ("max_image_file_bytes", ctypes.c_uint64),
    ]


class HashResult(ctypes.Structure):
    _fields_ = [
        ("struct_size", ctypes.c_uint32),
        ("valid", ctypes.c_uint32),
        ("image_format", ctypes.c_uint32),
        ("size", ctypes.c_uint64),
        ("md5", ctypes.c_uint8 * 16),
        ("sha1", ctypes.c_uint8 * 20),
        ("sha256", ctypes.c_uint8 * 32),
        ("blake3", ctypes.c_uint8 * 32),
        ("width", ctypes.c_uint32),
        ("height", ctypes.c_uint32),
        ("decoded_width", ctypes.c_uint32),
        ("decoded_height", ctypes.c_uint32),
        ("pdq", ctypes.c_uint8 * 32),
        ("pdq_quality", ctypes.c_uint32),
        ("pdq_convention", ctypes.c_uint32),
        ("pdq_dihedral", (ctypes.c_uint8 * 32) * 8),
        ("phash", ctypes.c_uint64),
        ("dhash", ctypes.c_uint64),
        ("ahash", ctypes.c_uint64),
        ("image_status", ctypes.c_uint32),
        ("image_error", ctypes.c_char * 256),
    ]


def load(path=None):
    path = path or os.environ.get("MEDIAHASH_LIB") or ctypes.util.find_library("mediahash")
    if not path:
        sys.exit("libmediahash not found: pass --lib or set MEDIAHASH_LIB")
    lib = ctypes.CDLL(path)
    lib.mh_version.restype = ctypes.c_char_p
    lib.mh_abi_version.argtypes = []
    lib.mh_abi_version.restype = ctypes.c_uint32
    lib.mh_status_str.argtypes = [ctypes.c_uint32]
    lib.mh_status_str.restype = ctypes.c_char_p
    lib.mh_last_error_message.argtypes = [
        ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_size_t)]
    lib.mh_last_error_message.restype = ctypes.c_uint32
    lib.mh_hash_options_default.argtypes = [ctypes.POINTER(HashOptions)]
    lib.mh_hash_options_default.restype = ctypes.c_uint32
    lib.mh_hash_file.argtypes = [
        ctypes.c_char_p, ctypes.POINTER(HashOptions), ctypes.POINTER(HashResult)]
    lib.mh_hash_file.restype = ctypes.c_uint32
    return lib


def last_error(lib):
    """The detail of the last failed call on this thread (sized with a first query)."""
    needed = ctypes.c_size_t(0)
    lib.mh_last_error_message(None, 0, ctypes.byref(needed))
    buf = ctypes.create_string_buffer(needed.value)
    if lib.mh_last_error_message(buf, needed.value, ctypes.byref(needed)) != MH_STATUS_OK:
        return ""
    return buf.value.decode("utf-8", "replace")


def main(argv):
    lib_path = None
    if len(argv) > 2 and argv[1] == "--lib":
        lib_path, argv = argv[2], argv[:1] + argv[3:]
    if len(argv) < 2:
        sys.exit(__doc__)
    lib = load(lib_path)
    if lib.mh_abi_version() != MH_ABI_VERSION:
        sys.exit(f"libmediahash has ABI version {lib.mh_abi_version()}, not {MH_ABI_VERSION}")
    options = HashOptions(struct_size=ctypes.sizeof(HashOptions))
    lib.mh_hash_options_default(ctypes.byref(options))
    failures = 0
    for name in argv[1:]:
        result = HashResult(struct_size=ctypes.sizeof(HashResult))
        status = lib.mh_hash_file(os.fsencode(name), ctypes.byref(options), ctypes.byref(result))
        if status != MH_STATUS_OK:
            print(f"{name}: {lib.mh_status_str(status).decode()}: {last_error(lib)}",
                  file=sys.stderr)
            failures += 1
            continue
        pdq = "-"
        if result.valid & MH_VALID_PDQ:
            pdq = bytes(result.pdq).hex() + f" q={result.pdq_quality}"
        phash = f"{result.phash:016x}" if result.valid & MH_VALID_IMAGEHASH else "-"
        print(f"{bytes(result.sha256).hex()}  pdq={pdq}  phash={phash}  {name}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
