//! The operating-system layer of the folder source and of image files: opening entries
//! relative to an open directory (so the depth of a tree is not limited by the longest path
//! the system takes, and a name is resolved in the directory that was listed, not again from
//! the top), reading what the system says about them, listing directories, and keeping
//! access times unchanged.
//!
//! One interface, two implementations:
//! * **Unix** (`unix`): `openat`/`fstatat`/`readlinkat` on directory descriptors;
//!   `O_NOATIME` (Linux), else a read-only or `noatime` mount.
//! * **Windows** (`windows`): `NtCreateFile` relative to an open directory handle (the
//!   Windows `openat`), `GetFileInformationByHandleEx` for what `stat` says and for listings,
//!   reparse points (symbolic links, junctions) read with `FSCTL_GET_REPARSE_POINT`; access
//!   times kept by `SetFileTime(-1)` on the handle, else a read-only volume or NTFS with
//!   last-access updates disabled.
//!
//! Callers see [`Dir`] (an open file or directory), [`DirRef`] (a borrowed one) and [`Name`]
//! (one entry name as the system takes it).

use crate::report::{EntryKind, EntryRecord, Timestamp};

#[cfg(unix)]
mod unix;
#[cfg(unix)]
pub(crate) use unix::*;

#[cfg(windows)]
mod windows;
#[cfg(windows)]
pub(crate) use windows::*;

/// What the system said about an entry (`fstatat` on Unix, the handle's information on
/// Windows).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stat {
    pub kind: EntryKind,
    /// Device (Unix) or volume serial number (Windows).
    pub dev: u64,
    /// Inode (Unix) or file index (Windows).
    pub ino: u64,
    pub size: u64,
    pub nlink: u64,
    /// Unix mode, owner and group; `None` where the system has none (Windows).
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub atime: (i64, i64),
    pub mtime: (i64, i64),
    /// Metadata change time (Unix `ctime`, NTFS `ChangeTime`), not creation.
    pub ctime: (i64, i64),
}

impl Stat {
    /// The entry's type.
    pub fn kind(&self) -> EntryKind {
        self.kind
    }

    /// Copies the fields into a record.
    pub fn fill(&self, record: &mut EntryRecord) {
        let time = |(secs, nanos): (i64, i64)| Timestamp {
            secs,
            nanos: u32::try_from(nanos).unwrap_or(0),
        };
        record.size = Some(self.size);
        record.mode = self.mode;
        record.uid = self.uid;
        record.gid = self.gid;
        record.inode = Some(self.ino);
        record.nlink = Some(self.nlink);
        record.mtime = Some(time(self.mtime));
        record.atime = Some(time(self.atime));
        record.ctime = Some(time(self.ctime));
    }
}

/// What an entry is opened for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpenFor {
    /// Reading its bytes (a regular file; never blocks on a FIFO swapped in after listing).
    Reading,
    /// Listing it (a directory), or looking names up in it.
    Listing,
}

/// How an open asks for access times to be kept.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AtimePolicy {
    /// Open anyway when access times cannot be kept (the record then says so).
    pub allow_changes: bool,
    /// Act as if keeping access times were refused (test hook).
    pub simulate_refusal: bool,
    /// Take the mount as keeping access times (`true`) or not, instead of asking (test hook).
    pub mount_override: Option<bool>,
}

/// Why an evidence open failed.
#[derive(Debug)]
pub(crate) enum OpenError {
    /// Keeping access times was refused (Unix: `O_NOATIME` needs the owner or
    /// `CAP_FOWNER`; Windows: `SetFileTime` needs write-attributes access), the volume
    /// records access times, and changes were not allowed: closed again before anything
    /// was read.
    AtimeWouldChange,
    /// The open itself failed.
    Io(std::io::Error),
}

/// Borrowing an open [`Dir`] (or a [`std::fs::File`]) as a [`DirRef`].
pub(crate) trait AsDir {
    /// The borrowed descriptor or handle.
    fn as_dir(&self) -> DirRef<'_>;
}

/// Splits a path into its components (no empty ones, no `.`).
fn split_components(target: &[u8]) -> impl DoubleEndedIterator<Item = &[u8]> {
    target.split(|&b| is_separator(b)).filter(|c| !c.is_empty() && *c != b".")
}
