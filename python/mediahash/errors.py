"""Exceptions raised by mediahash: one class per family of the C ABI's status codes.

The C ABI (``include/mediahash.h``, ``src/ffi/status.rs``) groups its status codes in bands;
each band is one class here, and every instance carries the exact code and its name::

    try:
        mediahash.RefSet.open("sets.mhset")
    except mediahash.RefsetError as e:
        print(e.status, e.status_name, e)   # 202 ".mhset checksum mismatch ..." ...

=========  ======================  ==========================================
codes      class                   also a subclass of
=========  ======================  ==========================================
0-99       ``ArgumentError``       ``ValueError`` (arguments, internal errors)
100-199    ``FileSystemError``     ``OSError`` (not found, permission, I/O)
200-299    ``RefsetError``         (``.mhset`` invalid, damaged, too new)
300-399    ``ScanError``           (a scan could not start or finish)
400-499    ``ImageError``          (decode failed, limits)
500-599    ``HashListError``       (hash-list import unusable)
600-699    ``VideoError``          (video could not be hashed)
=========  ======================  ==========================================
"""

from __future__ import annotations

import errno as _errno

__all__ = [
    "MediahashError",
    "ArgumentError",
    "FileSystemError",
    "RefsetError",
    "ScanError",
    "ImageError",
    "HashListError",
    "VideoError",
    "from_status",
]


class MediahashError(Exception):
    """Base class of every mediahash error; ``status`` is the C ABI code."""

    def __init__(self, message: str, status: int = 0, status_name: str = ""):
        super().__init__(message)
        self.status = status
        self.status_name = status_name


class ArgumentError(MediahashError, ValueError):
    """Codes 0-99: an argument out of range (also internal errors, code 4)."""


class FileSystemError(MediahashError, OSError):
    """Codes 100-199: not found (101), permission denied (102), not a regular file (103), I/O."""

    def __init__(self, message: str, status: int = 100, status_name: str = ""):
        MediahashError.__init__(self, message, status, status_name)
        self.errno = {101: _errno.ENOENT, 102: _errno.EACCES}.get(status)
        self.strerror = message

    def __str__(self) -> str:
        return self.strerror


class RefsetError(MediahashError):
    """Codes 200-299: not a valid set (200), newer format (201), checksum mismatch (202),
    too large to copy (203: open it with ``mapped=True``)."""


class ScanError(MediahashError):
    """Codes 300-399: the scan was cancelled (300) or could not start or finish (301)."""


class ImageError(MediahashError):
    """Codes 400-499: decode failed (400), over a limit (401), hash failed (402)."""


class HashListError(MediahashError):
    """Codes 500-599: a hash-list file gave nothing usable (500)."""


class VideoError(MediahashError):
    """Codes 600-699: a video could not be hashed (600)."""


_BANDS = {
    0: ArgumentError,
    1: FileSystemError,
    2: RefsetError,
    3: ScanError,
    4: ImageError,
    5: HashListError,
    6: VideoError,
}


def from_status(status: int, status_name: str, message: str) -> MediahashError:
    """The exception for a C ABI status code (used by the extension module)."""
    cls = _BANDS.get(status // 100, MediahashError)
    return cls(message, status, status_name)
