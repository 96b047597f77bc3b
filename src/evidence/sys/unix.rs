//! Unix: the `*at` system calls, every lookup relative to an open directory descriptor.
//! `O_NOATIME` exists on Linux; elsewhere it is never had, so only a read-only
//! or `noatime` mount keeps access times.

use std::ffi::{CStr, CString, OsStr, OsString};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};

use super::{AsDir, AtimePolicy, OpenError, OpenFor, Stat};
use crate::report::EntryKind;

#[cfg(target_os = "linux")]
const O_NOATIME: libc::c_int = libc::O_NOATIME;
#[cfg(not(target_os = "linux"))]
const O_NOATIME: libc::c_int = 0;

fn stat_of(st: &libc::stat) -> Stat {
    #[allow(clippy::unnecessary_cast)] // the field types differ between platforms
    let mode = st.st_mode as u32;
    #[allow(clippy::unnecessary_cast)] // mode_t is u16 on some platforms
    let kind = match mode & (libc::S_IFMT as u32) {
        m if m == libc::S_IFLNK as u32 => EntryKind::Symlink,
        m if m == libc::S_IFDIR as u32 => EntryKind::Directory,
        m if m == libc::S_IFREG as u32 => EntryKind::File,
        m if m == libc::S_IFIFO as u32 => EntryKind::Fifo,
        m if m == libc::S_IFSOCK as u32 => EntryKind::Socket,
        m if m == libc::S_IFBLK as u32 => EntryKind::BlockDevice,
        m if m == libc::S_IFCHR as u32 => EntryKind::CharDevice,
        _ => EntryKind::Unknown,
    };
    #[allow(clippy::unnecessary_cast)] // the field types differ between platforms
    Stat {
        kind,
        dev: st.st_dev as u64,
        ino: st.st_ino as u64,
        size: st.st_size as u64,
        nlink: st.st_nlink as u64,
        mode: Some(mode),
        uid: Some(st.st_uid as u32),
        gid: Some(st.st_gid as u32),
        atime: (st.st_atime as i64, st.st_atime_nsec as i64),
        mtime: (st.st_mtime as i64, st.st_mtime_nsec as i64),
        ctime: (st.st_ctime as i64, st.st_ctime_nsec as i64),
    }
}

/// An open file or directory.
pub(crate) type Dir = OwnedFd;
/// A borrowed [`Dir`].
pub(crate) type DirRef<'a> = BorrowedFd<'a>;
/// One entry name (or a path given by a caller) as the system calls take it.
pub(crate) type Name = CString;

impl<T: AsFd> AsDir for T {
    fn as_dir(&self) -> DirRef<'_> {
        self.as_fd()
    }
}

/// The byte that separates path components.
pub(crate) const SEPARATOR: u8 = b'/';

/// Whether `b` separates components of a link target.
pub(crate) fn is_separator(b: u8) -> bool {
    b == b'/'
}

/// Whether a link target starts at the top of its file system.
pub(crate) fn link_is_absolute(target: &[u8]) -> bool {
    target.starts_with(b"/")
}

/// Splits a link target into its components (no empty ones, no `.`).
pub(crate) fn link_components(target: &[u8]) -> impl DoubleEndedIterator<Item = &[u8]> {
    super::split_components(target)
}

/// Record paths at least this long are opened through their directory, not by path.
pub(crate) const PATH_OPEN_LIMIT: usize = libc::PATH_MAX as usize - 1;

/// What to do when access times cannot be kept, for messages.
pub(crate) const ATIME_REFUSAL: &str = "O_NOATIME was refused (you do not own it and lack \
     CAP_FOWNER) and the mount records access times, so reading would change the evidence; \
     mount it read-only (or noatime), run as its owner or root, or accept the change with \
     --allow-atime-changes";

/// Whether a lookup failed because the name (or a directory on its way) is not there.
pub(crate) fn is_missing(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::ENOENT) | Some(libc::ENOTDIR))
}

/// Whether a lookup failed on a loop of symbolic links.
pub(crate) fn is_link_loop(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::ELOOP)
}

/// A name from bytes (a link target's component); refused if it holds a NUL byte.
pub(crate) fn name_from_bytes(bytes: Vec<u8>) -> io::Result<Name> {
    CString::new(bytes)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "name contains a NUL byte"))
}

/// A name as a C string (names from a listing never hold NUL; paths given by callers may).
pub(crate) fn name(name: &OsStr) -> io::Result<Name> {
    CString::new(name.as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))
}

fn dir_raw(dir: Option<BorrowedFd<'_>>) -> libc::c_int {
    dir.map_or(libc::AT_FDCWD, |d| d.as_raw_fd())
}

/// `fstatat(dir, name)`; `follow` resolves a final symbolic link.
pub(crate) fn stat_at(dir: Option<BorrowedFd<'_>>, name: &CStr, follow: bool) -> io::Result<Stat> {
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    let flags = if follow { 0 } else { libc::AT_SYMLINK_NOFOLLOW };
    // SAFETY: name is NUL-terminated; st is writable storage for one stat; the descriptor
    // (or AT_FDCWD) is valid for the call.
    let rc = unsafe { libc::fstatat(dir_raw(dir), name.as_ptr(), st.as_mut_ptr(), flags) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fstatat returned 0, so it filled the struct.
    Ok(stat_of(unsafe { st.assume_init_ref() }))
}

/// `fstat` of an open descriptor.
pub(crate) fn stat_open(fd: BorrowedFd<'_>) -> io::Result<Stat> {
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: fd is open for the call; st is writable storage for one stat.
    let rc = unsafe { libc::fstat(fd.as_raw_fd(), st.as_mut_ptr()) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fstat returned 0, so it filled the struct.
    Ok(stat_of(unsafe { st.assume_init_ref() }))
}

/// `readlinkat(dir, name)`: the link's target bytes, whatever their length.
pub(crate) fn read_link_at(dir: Option<BorrowedFd<'_>>, name: &CStr) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; 256];
    loop {
        // SAFETY: name is NUL-terminated; buf is writable for buf.len() bytes.
        let n = unsafe {
            libc::readlinkat(dir_raw(dir), name.as_ptr(), buf.as_mut_ptr().cast(), buf.len())
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let n = n as usize;
        if n < buf.len() {
            buf.truncate(n);
            return Ok(buf);
        }
        if buf.len() >= 1 << 20 {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "link target over 1 MiB"));
        }
        let bigger = buf.len() * 4;
        buf.resize(bigger, 0);
    }
}

/// Opens `name` in `dir` read-only, asking for `O_NOATIME` first; `follow` allows a final
/// symbolic link. Returns the descriptor and whether reading it leaves access times alone
/// (`O_NOATIME`, or a read-only or `noatime` mount).
pub(crate) fn open_at(
    dir: Option<BorrowedFd<'_>>,
    name: &CStr,
    what: OpenFor,
    follow: bool,
    policy: AtimePolicy,
) -> Result<(OwnedFd, bool), OpenError> {
    // O_NONBLOCK: a FIFO swapped in after listing must not block the open.
    let kind = match what {
        OpenFor::Reading => libc::O_NONBLOCK,
        OpenFor::Listing => libc::O_DIRECTORY,
    };
    let nofollow = if follow { 0 } else { libc::O_NOFOLLOW };
    let base = libc::O_RDONLY | libc::O_CLOEXEC | kind | nofollow;
    let raw = |flags: libc::c_int| -> io::Result<OwnedFd> {
        // SAFETY: name is NUL-terminated; the descriptor (or AT_FDCWD) is valid for the call.
        let fd = unsafe { libc::openat(dir_raw(dir), name.as_ptr(), flags) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: openat returned a new descriptor that nothing else owns.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    };
    if O_NOATIME != 0 && !policy.simulate_refusal {
        match raw(base | O_NOATIME) {
            Ok(fd) => return Ok((fd, true)),
            // EPERM: not the owner and no CAP_FOWNER; anything else is the open's failure.
            Err(e) if e.raw_os_error() == Some(libc::EPERM) => {}
            Err(e) => return Err(OpenError::Io(e)),
        }
    }
    // Opening reads nothing, so it changes no access time; the mount decides whether the
    // reads that follow would.
    let fd = raw(base).map_err(OpenError::Io)?;
    let mount_keeps = policy.mount_override.unwrap_or_else(|| mount_keeps_atime(fd.as_fd()));
    if mount_keeps {
        Ok((fd, true))
    } else if policy.allow_changes {
        Ok((fd, false))
    } else {
        Err(OpenError::AtimeWouldChange)
    }
}

/// Mount flags under which reads cannot change access times (only Linux's `statvfs`
/// reports `noatime`).
#[cfg(any(target_os = "linux", target_os = "android"))]
const ATIME_KEEPING_MOUNT_FLAGS: libc::c_ulong = libc::ST_RDONLY | libc::ST_NOATIME;
#[cfg(not(any(target_os = "linux", target_os = "android")))]
const ATIME_KEEPING_MOUNT_FLAGS: libc::c_ulong = libc::ST_RDONLY;

/// Whether the file system holding `fd` is mounted read-only or `noatime`, so reads there
/// cannot change access times.
pub(crate) fn mount_keeps_atime(fd: BorrowedFd<'_>) -> bool {
    let mut info = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: fd is open; info is writable storage for one statvfs.
    let rc = unsafe { libc::fstatvfs(fd.as_raw_fd(), info.as_mut_ptr()) };
    if rc != 0 {
        return false;
    }
    // SAFETY: fstatvfs returned 0, so it filled the struct.
    let flags = unsafe { info.assume_init_ref() }.f_flag;
    flags & ATIME_KEEPING_MOUNT_FLAGS != 0
}

/// The names in the directory open as `fd` (without `.` and `..`), and the error that cut
/// the listing short, if any. `fd` is consumed (the listing reads its position).
pub(crate) fn list(fd: OwnedFd) -> io::Result<(Vec<OsString>, Option<io::Error>)> {
    use std::os::fd::IntoRawFd;
    let raw = fd.into_raw_fd();
    // SAFETY: raw is an open directory descriptor we own; on success fdopendir takes it over.
    let dir = unsafe { libc::fdopendir(raw) };
    if dir.is_null() {
        let e = io::Error::last_os_error();
        // SAFETY: fdopendir failed, so raw is still ours to close, exactly once.
        unsafe { libc::close(raw) };
        return Err(e);
    }
    let mut names = Vec::new();
    let mut failure = None;
    loop {
        // readdir signals errors only through errno, so clear it first.
        set_errno(0);
        // SAFETY: dir is a valid DIR* until closedir below; it is used by this thread only.
        let entry = unsafe { libc::readdir(dir) };
        if entry.is_null() {
            let e = io::Error::last_os_error();
            if e.raw_os_error().unwrap_or(0) != 0 {
                failure = Some(e);
            }
            break;
        }
        // SAFETY: a non-null dirent from readdir has a NUL-terminated d_name valid until the
        // next readdir/closedir on this DIR*; we copy it out immediately.
        let name = unsafe { CStr::from_ptr((*entry).d_name.as_ptr()) }.to_bytes();
        if name == b"." || name == b".." {
            continue;
        }
        names.push(OsString::from_vec(name.to_vec()));
    }
    // SAFETY: dir came from fdopendir and is closed exactly once (this also closes raw).
    unsafe { libc::closedir(dir) };
    Ok((names, failure))
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn set_errno(value: libc::c_int) {
    // SAFETY: __errno_location returns this thread's errno slot, always valid.
    unsafe { *libc::__errno_location() = value };
}

#[cfg(any(target_os = "macos", target_os = "ios", target_os = "freebsd"))]
fn set_errno(value: libc::c_int) {
    // SAFETY: __error returns this thread's errno slot, always valid.
    unsafe { *libc::__error() = value };
}

#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    target_os = "macos",
    target_os = "ios",
    target_os = "freebsd"
)))]
fn set_errno(_value: libc::c_int) {}
