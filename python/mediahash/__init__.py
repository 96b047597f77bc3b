"""mediahash: forensic media-hash matching, from Python.

Bindings (pyo3, one abi3 wheel for CPython >= 3.9) over the Rust library: the same code as
the examiner's tool ``mh`` and the C ABI, so hashes, matches and scan records are identical.

* :func:`hash_file` — MD5/SHA-1/SHA-256, PDQ (and its 8 dihedral variants), pHash/dHash/aHash.
* :func:`pdq`, :func:`pdq_dihedral` — drop-in for ``pdqhash.compute`` / ``compute_dihedral``.
* :func:`phash`, :func:`dhash`, :func:`average_hash`, :func:`dhash_vertical` — drop-in for the
  ``imagehash`` functions of the same names (default sizes).
* :class:`RefSet` — an open ``.mhset`` reference set, or the shards of one (``mh refset shard``'s
  ``SET.shards.json`` manifest): ``lookup``, ``search_pdq`` (numpy batch), ``verify``, ``info``.
* :func:`scan` — the examiner's scan; yields each entry record as the dict ``mh scan`` writes.

The GIL is released while hashing, searching and scanning; every object may be used from
several threads at once.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, Iterable, Iterator, Optional, Sequence, Union

from . import _native
from .errors import (
    ArgumentError,
    FileSystemError,
    HashListError,
    ImageError,
    MediahashError,
    RefsetError,
    ScanError,
    VideoError,
)

__all__ = [
    "FileHash",
    "RefSet",
    "Scan",
    "hash_file",
    "pdq",
    "pdq_dihedral",
    "phash",
    "dhash",
    "dhash_vertical",
    "average_hash",
    "scan",
    "DIHEDRAL_NAMES",
    "MediahashError",
    "ArgumentError",
    "FileSystemError",
    "RefsetError",
    "ScanError",
    "ImageError",
    "HashListError",
    "VideoError",
]

__version__, JPEG_SIMD, SCAN_KERNEL = _native.build_info()

#: The order of the 8 dihedral PDQ hashes (as ``pdqhash.compute_dihedral`` returns them).
DIHEDRAL_NAMES = ("orig", "rot90", "rot180", "rot270", "flipx", "flipy", "flipplus1", "flipminus1")

PathLike = Union[str, "os.PathLike[str]"]


def _hex(value: Optional[bytes]) -> Optional[str]:
    return None if value is None else value.hex()


@dataclasses.dataclass(frozen=True)
class FileHash:
    """Everything :func:`hash_file` computed for one file.

    Digests and PDQ hashes are ``bytes`` (``*_hex`` gives the report's lower-case hex);
    ``phash``/``dhash``/``ahash`` are 64-bit integers whose 16-digit hex (``*_hex``) is what
    ``str(imagehash.phash(img))`` prints. Image fields are ``None`` for content that is not an
    image; ``image_error``/``image_status`` say why an image gave no perceptual hash.
    """

    path: str
    size: int
    md5: bytes
    sha1: bytes
    sha256: bytes
    image_format: Optional[str] = None
    width: Optional[int] = None
    height: Optional[int] = None
    decoded_width: Optional[int] = None
    decoded_height: Optional[int] = None
    pdq: Optional[bytes] = None
    pdq_quality: Optional[int] = None
    pdq_dihedral: Optional[tuple] = None
    phash: Optional[int] = None
    dhash: Optional[int] = None
    ahash: Optional[int] = None
    image_error: Optional[str] = None
    image_status: Optional[int] = None

    @property
    def md5_hex(self) -> str:
        return self.md5.hex()

    @property
    def sha1_hex(self) -> str:
        return self.sha1.hex()

    @property
    def sha256_hex(self) -> str:
        return self.sha256.hex()

    @property
    def pdq_hex(self) -> Optional[str]:
        return _hex(self.pdq)

    @property
    def pdq_dihedral_hex(self) -> Optional[dict]:
        """The 8 variants by name (:data:`DIHEDRAL_NAMES`), as hex."""
        if self.pdq_dihedral is None:
            return None
        return {n: h.hex() for n, h in zip(DIHEDRAL_NAMES, self.pdq_dihedral)}

    @property
    def phash_hex(self) -> Optional[str]:
        return None if self.phash is None else f"{self.phash:016x}"

    @property
    def dhash_hex(self) -> Optional[str]:
        return None if self.dhash is None else f"{self.dhash:016x}"

    @property
    def ahash_hex(self) -> Optional[str]:
        return None if self.ahash is None else f"{self.ahash:016x}"


def hash_file(path: PathLike, dihedral: bool = False, fast: bool = False) -> FileHash:
    """Digests and perceptual hashes of the file at ``path`` (opened read-only, ``O_NOATIME``).

    ``dihedral`` adds the 8 rotated/flipped PDQ hashes; ``fast`` decodes large JPEGs reduced in
    the DCT domain (``mh --fast``: about 2x faster, PDQ within a few bits of the exact hash).
    Raises :class:`FileSystemError` when the file cannot be read (a directory, FIFO or device
    is refused, code 103). An image that cannot be decoded is not an error: its digests are
    returned with ``image_error`` set.
    """
    fields = _native.hash_file(os.fspath(path), dihedral, fast)
    if "pdq_dihedral" in fields:
        fields["pdq_dihedral"] = tuple(fields["pdq_dihedral"])
    return FileHash(path=os.fspath(path), **fields)


# -- pixels -------------------------------------------------------------------------------


def _is_pil(image: Any) -> bool:
    return hasattr(image, "mode") and hasattr(image, "tobytes") and hasattr(image, "size")


def _array_pixels(image: Any, allow_grey: bool):
    import numpy as np

    array = np.asarray(image)
    if array.dtype != np.uint8:
        raise ArgumentError(
            f"expected a uint8 array, got dtype {array.dtype}; convert with .astype(np.uint8) "
            "after scaling to 0-255",
            2,
            "an argument was out of range",
        )
    if array.ndim == 2 and allow_grey:
        h, w = array.shape
        return np.ascontiguousarray(array).tobytes(), w, h, 1
    if array.ndim != 3 or array.shape[2] not in (3, 4):
        raise ArgumentError(
            f"expected an (H, W, 3) RGB array{' or an (H, W) grey one' if allow_grey else ''}, "
            f"got shape {array.shape}",
            2,
            "an argument was out of range",
        )
    h, w = array.shape[:2]
    # Alpha (a 4th channel) is ignored, as pdqhash and Pillow's convert('L') ignore it.
    return np.ascontiguousarray(array[:, :, :3]).tobytes(), w, h, 3


def _rgb(image: Any):
    """Packed RGB8 bytes, width, height of a PIL image or an (H, W, 3) uint8 array."""
    if _is_pil(image):
        if image.mode != "RGB":
            image = image.convert("RGB")
        w, h = image.size
        return image.tobytes(), w, h
    if hasattr(image, "__array__") or hasattr(image, "__array_interface__"):
        pixels, w, h, _ = _array_pixels(image, allow_grey=False)
        return pixels, w, h
    raise TypeError(f"expected a PIL image or a numpy uint8 array, got {type(image).__name__}")


def _bits_vector(hash_bytes: bytes):
    import numpy as np

    # pdqhash returns the 256 bits most significant (first hex digit) first, as int64.
    return np.unpackbits(np.frombuffer(hash_bytes, dtype=np.uint8)).astype(np.int64)


def _pdqhash_luma(image: Any):
    """Float32 luma bytes, width, height, computed as pdqhash computes it (numpy float64
    products and sums of the RGB channels, rounded to float32)."""
    import numpy as np

    rgb, w, h = _rgb(image)
    a = np.frombuffer(rgb, dtype=np.uint8).reshape(h, w, 3)
    luma = (a[:, :, 0] * 0.299 + a[:, :, 1] * 0.587 + a[:, :, 2] * 0.114).astype("<f4")
    return luma.tobytes(), w, h


def pdq(image: Any, luma: str = "pdqhash"):
    """PDQ of a PIL image or an (H, W, 3) uint8 RGB array: ``(bits, quality)``, exactly as
    ``pdqhash.compute`` returns them (a 256-element int array, most significant bit first).
    ``bytes(np.packbits(bits)).hex()`` is the usual 64-digit hex form.

    ``luma="pdqhash"`` (default) converts RGB to luma as pdqhash does (float64, then float32),
    so results equal ``pdqhash.compute`` bit for bit; ``luma="cpp"`` uses Meta's C++ float32
    formula, as :func:`hash_file`, ``mh`` and HMA do. The two differ by a bit or two on rare
    pictures (hard-edged synthetic patterns); on photos they agree.
    """
    if luma == "pdqhash":
        data, w, h = _pdqhash_luma(image)
        hash_bytes, quality, _ = _native.pdq_luma(data, w, h, False)
    elif luma == "cpp":
        rgb, w, h = _rgb(image)
        hash_bytes, quality, _ = _native.pdq_rgb(rgb, w, h, False)
    else:
        raise ArgumentError(f"luma must be 'pdqhash' or 'cpp', got {luma!r}", 2, "")
    return _bits_vector(hash_bytes), quality


def pdq_dihedral(image: Any, luma: str = "pdqhash"):
    """The 8 dihedral PDQ hashes: ``([bits] * 8, quality)`` as ``pdqhash.compute_dihedral``
    (``luma`` as for :func:`pdq`)."""
    if luma == "pdqhash":
        data, w, h = _pdqhash_luma(image)
        _, quality, variants = _native.pdq_luma(data, w, h, True)
    elif luma == "cpp":
        rgb, w, h = _rgb(image)
        _, quality, variants = _native.pdq_rgb(rgb, w, h, True)
    else:
        raise ArgumentError(f"luma must be 'pdqhash' or 'cpp', got {luma!r}", 2, "")
    return [_bits_vector(v) for v in variants], quality


def _grey_pixels(image: Any):
    """(pixels, width, height, channels) to hash: greyscale bytes of a PIL image, made by
    Pillow's own ``convert("L")`` exactly as imagehash does first (a third of the RGB bytes
    to copy, and Pillow's C conversion), or an array's RGB/grey bytes."""
    if _is_pil(image):
        grey = image if image.mode == "L" else image.convert("L")
        w, h = grey.size
        return grey.tobytes(), w, h, 1
    if hasattr(image, "__array__") or hasattr(image, "__array_interface__"):
        return _array_pixels(image, allow_grey=True)
    raise TypeError(f"expected a PIL image or a numpy uint8 array, got {type(image).__name__}")


def _imagehash(image: Any, which: str) -> int:
    """One imagehash function's 64-bit value: one resize (the library's port of Pillow's
    Lanczos) and the hash, in Rust with the GIL released."""
    pixels, w, h, channels = _grey_pixels(image)
    return _native.imagehash_one(pixels, w, h, channels, which)


def _image_hash(value: int):
    """An ``imagehash.ImageHash`` (or this package's stand-in when imagehash is absent)."""
    import numpy as np

    bits = np.unpackbits(np.frombuffer(value.to_bytes(8, "big"), dtype=np.uint8))
    matrix = bits.astype(bool).reshape(8, 8)
    try:
        from imagehash import ImageHash
    except ImportError:  # pragma: no cover - imagehash is optional
        ImageHash = _ImageHash
    return ImageHash(matrix)


class _ImageHash:
    """Minimal stand-in for ``imagehash.ImageHash`` (hex ``str``, ``-`` is Hamming distance)."""

    def __init__(self, binary_array):
        self.hash = binary_array

    def __str__(self) -> str:
        bits = "".join("1" if b else "0" for b in self.hash.flatten())
        return f"{int(bits, 2):016x}"

    def __repr__(self) -> str:
        return repr(self.hash)

    def __sub__(self, other) -> int:
        return int((self.hash.flatten() != other.hash.flatten()).sum())

    def __eq__(self, other) -> bool:
        return bool((self.hash == other.hash).all())

    def __hash__(self) -> int:
        return hash(str(self))


def _check_sizes(hash_size: int, highfreq_factor: int = 4) -> None:
    if hash_size != 8 or highfreq_factor != 4:
        raise ArgumentError(
            f"only imagehash's default sizes (hash_size=8, highfreq_factor=4) are implemented; "
            f"got hash_size={hash_size}, highfreq_factor={highfreq_factor}",
            2,
            "an argument was out of range",
        )


def phash(image: Any, hash_size: int = 8, highfreq_factor: int = 4):
    """``imagehash.phash(image)``, bit for bit, for a PIL image or a uint8 array."""
    _check_sizes(hash_size, highfreq_factor)
    return _image_hash(_imagehash(image, "phash"))


def dhash(image: Any, hash_size: int = 8):
    """``imagehash.dhash(image)``, bit for bit."""
    _check_sizes(hash_size)
    return _image_hash(_imagehash(image, "dhash"))


def average_hash(image: Any, hash_size: int = 8, mean=None):
    """``imagehash.average_hash(image)``, bit for bit (``mean`` must be the default)."""
    _check_sizes(hash_size)
    if mean is not None:
        import numpy as np

        if mean is not np.mean:
            raise ArgumentError("only the default mean (numpy.mean) is implemented", 2, "")
    return _image_hash(_imagehash(image, "average_hash"))


def dhash_vertical(image: Any, hash_size: int = 8):
    """``imagehash.dhash_vertical(image)``, bit for bit."""
    _check_sizes(hash_size)
    return _image_hash(_imagehash(image, "dhash_vertical"))


# -- reference sets -----------------------------------------------------------------------

_KIND_BY_HEX_LEN = {32: "md5", 40: "sha1", 64: "sha256", 16: "phash"}


class RefSet:
    """An open ``.mhset`` reference set (``mh refset build`` makes them), or a sharded one.

    ``RefSet.open(path)`` reads the set into private memory and, unless ``verify=False``,
    checks it in full (checksum and structure, as ``mh refset verify``). ``mapped=True`` maps
    the file instead of copying it (for sets larger than half of memory); the file must then
    stay unchanged while the set is open.

    ``path`` may also be a shard manifest (``SET.shards.json``, written by ``mh refset shard``
    beside the shards): every shard it lists is opened (and, with ``verify``, checked against
    the manifest's SHA-256 and in full) and the object answers as the unsharded set did —
    same methods, same answers, ``search_pdq`` indexes included — through the library's
    ``ShardedSet``: an exact ``lookup`` reads the one shard the value's first 32 bits route
    to, a PDQ search visits every shard. ``sharded`` tells which was opened.
    """

    def __init__(self, native: "_native.NativeRefSet"):
        self._native = native

    @classmethod
    def open(cls, path: PathLike, *, mapped: bool = False, verify: bool = True) -> "RefSet":
        return cls(_native.NativeRefSet.open(os.fspath(path), mapped, verify))

    @property
    def path(self) -> str:
        return os.fspath(self._native.path())

    @property
    def sha256(self) -> str:
        """SHA-256 of the set's bytes, or of the manifest file for a sharded set (the manifest
        lists each shard's SHA-256): what scan report headers cite."""
        return self._native.sha256()

    @property
    def sharded(self) -> bool:
        """Whether this was opened from a shard manifest."""
        return self._native.sharded()

    def verify(self) -> None:
        """Full check; raises :class:`RefsetError` (code 202) when the file was altered (for
        a manifest: a shard whose SHA-256 differs from the manifest's, or fails its check)."""
        self._native.verify()

    def info(self) -> dict:
        """``mh refset info``: format version, counts per kind, sets, sources. For a sharded
        set: ``manifest``, ``counts`` and ``records`` summed over the shards, and each shard's
        own summary under ``shards``."""
        return json.loads(self._native.info_json())

    def lookup(self, value: Union[str, bytes], kind: Optional[str] = None) -> list:
        """Every membership of an exact value, as the report's ``matches`` entries (dicts).

        ``value`` is hex or raw bytes; ``kind`` (md5, sha1, sha256, pdq, phash, dhash, ahash)
        defaults from the length: 32 hex digits MD5, 40 SHA-1, 64 SHA-256, 16 pHash. An
        empty list means not found.
        """
        if isinstance(value, str):
            text = value.strip().lower()
            try:
                raw = bytes.fromhex(text)
            except ValueError:
                raise ArgumentError(f"{value!r} is not hex", 2, "an argument was out of range")
            hex_len = len(text)
        else:
            raw = bytes(value)
            hex_len = 2 * len(raw)
        if kind is None:
            kind = _KIND_BY_HEX_LEN.get(hex_len)
            if kind is None:
                raise ArgumentError(
                    f"cannot tell the hash kind of a {hex_len}-digit value; pass kind=",
                    2,
                    "an argument was out of range",
                )
        return json.loads(self._native.lookup_json(kind, raw))

    def search_pdq(self, needles, radius: int = 31) -> dict:
        """PDQ radius search of a batch of needles, each on its own.

        ``needles``: an (N, 32) uint8 array of hashes (or (N, 256) bits as ``pdq`` returns,
        or a sequence of 64-digit hex strings). Returns numpy arrays, one element per hit,
        sorted by needle then distance: ``needle`` (int64, row of ``needles``), ``distance``
        (int32), ``index`` (uint64, the stored hash's position in the set; the same hash in
        several sets is one index) and ``hash`` ((hits, 32) uint8). Details of a hit:
        ``lookup(hash.tobytes(), kind='pdq')``.
        """
        import numpy as np

        packed = _needles(needles)
        if not isinstance(radius, int) or radius < 0:
            raise ArgumentError(f"radius must be 0-256, got {radius!r}", 2, "")
        idx, index, dist, hashes = self._native.search_pdq_packed(packed, radius)
        return {
            "needle": np.frombuffer(idx, dtype="<u4").astype(np.int64),
            "distance": np.frombuffer(dist, dtype="<u2").astype(np.int32),
            "index": np.frombuffer(index, dtype="<u8").astype(np.uint64),
            "hash": np.frombuffer(hashes, dtype=np.uint8).reshape(-1, 32),
        }

    def pdq_matches(self, needle: Union[str, bytes], radius: int = 31) -> list:
        """The report's ``matches`` entries (with ``distance``) for one PDQ hash."""
        raw = bytes.fromhex(needle) if isinstance(needle, str) else bytes(needle)
        if radius < 0:
            raise ArgumentError(f"radius must be 0-256, got {radius}", 2, "")
        return json.loads(self._native.pdq_matches_json(raw, radius))

    def __repr__(self) -> str:
        return f"RefSet({self.path!r})"


def _needles(needles) -> bytes:
    import numpy as np

    if isinstance(needles, (bytes, bytearray)):
        return bytes(needles)
    if isinstance(needles, (list, tuple)) and needles and isinstance(needles[0], str):
        try:
            rows = [bytes.fromhex(n) for n in needles]
        except ValueError as e:
            raise ArgumentError(f"needle is not hex: {e}", 2, "")
        if any(len(r) != 32 for r in rows):
            raise ArgumentError("each PDQ needle is 64 hex digits", 2, "")
        return b"".join(rows)
    array = np.asarray(needles)
    if array.ndim == 1 and array.size in (32, 256):
        array = array.reshape(1, -1)
    if array.ndim != 2 or array.shape[1] not in (32, 256):
        raise ArgumentError(
            f"needles must be (N, 32) uint8 hashes or (N, 256) bits; got shape {array.shape}",
            2,
            "an argument was out of range",
        )
    if array.shape[1] == 256:
        if not np.isin(array, (0, 1)).all():
            raise ArgumentError("a (N, 256) needle array must hold bits (0 or 1)", 2, "")
        array = np.packbits(array.astype(np.uint8), axis=1)
    elif array.dtype != np.uint8:
        raise ArgumentError(f"(N, 32) needles must be uint8, got {array.dtype}", 2, "")
    return np.ascontiguousarray(array).tobytes()


# -- scanning -----------------------------------------------------------------------------


class Scan:
    """A running scan (see :func:`scan`): iterate for the entry records (dicts).

    ``header`` (after the first record) and ``footer``/``exit_status`` (after the last) hold
    the report's first and last lines as dicts. ``close()`` stops the scan early (its footer
    then says ``completed: false``).
    """

    def __init__(self, native: "_native.NativeScan"):
        self._native = native

    def __iter__(self) -> Iterator[dict]:
        return self

    def __next__(self) -> dict:
        return json.loads(next(self._native))

    @property
    def header(self) -> Optional[dict]:
        h = self._native.header
        return None if h is None else json.loads(h)

    @property
    def footer(self) -> Optional[dict]:
        f = self._native.footer
        return None if f is None else json.loads(f)

    @property
    def exit_status(self) -> Optional[int]:
        """``mh scan``'s exit status: 0 clean, 1 alerts, 2 errors or incomplete."""
        return self._native.exit_status

    def close(self) -> None:
        self._native.close()

    def __enter__(self) -> "Scan":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def scan(
    roots: Union[PathLike, Sequence[PathLike]],
    refsets: Iterable[Union[PathLike, RefSet]] = (),
    *,
    threads: int = 0,
    dihedral: bool = False,
    robust: bool = False,
    follow_symlinks: bool = False,
    one_file_system: bool = False,
    exclude: Sequence[str] = (),
    max_file_size: Optional[int] = None,
    pdq_radius: int = 31,
    phash_radius: int = 8,
    videos: bool = True,
    archives: bool = True,
    disk_images: bool = True,
    carve: bool = True,
    allow_atime_changes: bool = False,
    verify_refsets: bool = True,
) -> Scan:
    """Scans evidence roots as ``mh scan`` does and yields each entry record as a dict equal
    to the JSON object ``mh scan`` writes on that line (same options, same defaults).

    ``refsets``: ``.mhset`` paths (opened and verified here) or open :class:`RefSet` objects
    (shared, not re-read: open a large set once and pass it to many scans).
    """
    if isinstance(roots, (str, bytes, os.PathLike)):
        roots = [roots]
    sets = [
        r._native if isinstance(r, RefSet) else RefSet.open(r, verify=verify_refsets)._native
        for r in refsets
    ]
    args = {
        "threads": threads,
        "dihedral": dihedral,
        "robust": robust,
        "follow_symlinks": follow_symlinks,
        "one_file_system": one_file_system,
        "exclude": list(exclude),
        "max_file_size": max_file_size,
        "pdq_radius": pdq_radius,
        "phash_radius": phash_radius,
        "videos": videos,
        "archives": archives,
        "disk_images": disk_images,
        "carve": carve,
        "allow_atime_changes": allow_atime_changes,
        "command_line": ["python", "mediahash.scan"],
    }
    return Scan(_native.scan([os.fspath(r) for r in roots], sets, _Args(args)))


class _Args:
    """Keyword arguments as attributes (what the extension's option struct extracts)."""

    def __init__(self, values: dict):
        self.__dict__.update(values)
