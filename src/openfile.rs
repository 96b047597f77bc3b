//! Opening a path that must be a regular file (a file to hash, a reference set) without
//! ever blocking or reading forever: the open is non-blocking (so a FIFO without a writer
//! does not hang it), the type is checked on the opened descriptor (`fstat`, so nothing can
//! be swapped in between a check and the open), and FIFOs, sockets, devices (`/dev/zero`
//! never ends) and directories are refused with [`NotRegularFile`], which says what the
//! path is. A ground-floor helper: it uses nothing else of the crate.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

use thiserror::Error;

/// A path that is not a regular file, refused before any read. Carried inside the
/// [`io::Error`] that [`open_regular`] returns (find it with
/// `error.get_ref().and_then(|e| e.downcast_ref::<NotRegularFile>())`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error(
    "is {}, not a regular file: not read (FIFOs can block forever, devices such as /dev/zero \
     never end, sockets and directories have no content); name a regular file",
    self.description()
)]
pub struct NotRegularFile {
    /// What the path is, named as reports name entry kinds: `fifo`, `socket`,
    /// `block-device`, `char-device`, `directory`, or `unknown`.
    pub kind: &'static str,
}

impl NotRegularFile {
    /// The kind in words, for messages ("a FIFO (named pipe)", "a directory"...).
    pub fn description(&self) -> &'static str {
        match self.kind {
            "fifo" => "a FIFO (named pipe)",
            "socket" => "a socket",
            "block-device" => "a block device",
            "char-device" => "a character device",
            "directory" => "a directory",
            _ => "a special file",
        }
    }

    /// The [`NotRegularFile`] inside an error from [`open_regular`], if that was the cause.
    pub fn of(error: &io::Error) -> Option<NotRegularFile> {
        error.get_ref().and_then(|e| e.downcast_ref::<NotRegularFile>()).copied()
    }
}

/// The kind of a non-regular file type, as [`NotRegularFile::kind`] names it; `None` for a
/// regular file.
fn special_kind(file_type: std::fs::FileType) -> Option<&'static str> {
    if file_type.is_file() {
        return None;
    }
    if file_type.is_dir() {
        return Some("directory");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return Some("fifo");
        }
        if file_type.is_socket() {
            return Some("socket");
        }
        if file_type.is_block_device() {
            return Some("block-device");
        }
        if file_type.is_char_device() {
            return Some("char-device");
        }
    }
    Some("unknown")
}

/// Opens `path` read-only with `custom_flags` (Unix `open(2)` flags such as `O_NOATIME`,
/// `O_NOFOLLOW`; ignored elsewhere) plus `O_NONBLOCK`, checks with `fstat` that it is a
/// regular file, and clears `O_NONBLOCK` again (it means nothing for regular files, but
/// the descriptor is handed on). A non-regular file is an [`io::Error`] carrying
/// [`NotRegularFile`] (kind `IsADirectory` for a directory, `Unsupported` otherwise); the
/// descriptor is closed unread.
pub fn open_regular(path: &Path, custom_flags: i32) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(custom_flags | libc::O_NONBLOCK);
    }
    #[cfg(not(unix))]
    let _ = custom_flags;
    let file = options.open(path)?;
    check_regular(&file)?;
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        let fd = file.as_raw_fd();
        // SAFETY: `fd` is an open descriptor owned by `file`, alive for both calls; F_GETFL
        // and F_SETFL only read and set its status flags.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
        // SAFETY: as above.
        if flags < 0 || unsafe { libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) } < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(file)
}

/// Refuses an opened file that is not a regular file (see [`open_regular`]).
pub fn check_regular(file: &File) -> io::Result<()> {
    match special_kind(file.metadata()?.file_type()) {
        None => Ok(()),
        Some(kind) => {
            let error_kind = if kind == "directory" {
                io::ErrorKind::IsADirectory
            } else {
                io::ErrorKind::Unsupported
            };
            Err(io::Error::new(error_kind, NotRegularFile { kind }))
        }
    }
}

/// Windows: freezes the last-access time of an open handle (`SetFileTime` with all bits
/// set, as the Windows documentation describes), so reads through it leave the time alone.
/// Needs `FILE_WRITE_ATTRIBUTES` on the handle; nothing is written.
#[cfg(windows)]
pub(crate) fn freeze_access_time(
    handle: std::os::windows::io::BorrowedHandle<'_>,
) -> io::Result<()> {
    use std::os::windows::io::AsRawHandle;
    use windows_sys::Win32::Foundation::FILETIME;
    let keep = FILETIME { dwLowDateTime: u32::MAX, dwHighDateTime: u32::MAX };
    // SAFETY: the handle is open for the call; only the last-access argument is given.
    let ok = unsafe {
        windows_sys::Win32::Storage::FileSystem::SetFileTime(
            handle.as_raw_handle() as _,
            std::ptr::null(),
            &keep,
            std::ptr::null(),
        )
    };
    if ok == 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
}

/// Windows: opens `path` as [`open_regular`] does, with its last-access time frozen
/// ([`freeze_access_time`]); `Ok(None)` when write-attributes access or the freeze is
/// refused (read-only media, a write blocker, an ACL), so the caller opens it plainly.
/// A final link is followed (as `open_regular` does on Windows): opening the link itself
/// would also read the stubs of cloud and deduplicated files instead of their data.
#[cfg(windows)]
pub fn open_regular_frozen(path: &Path) -> io::Result<Option<File>> {
    use std::os::windows::fs::OpenOptionsExt;
    use std::os::windows::io::AsHandle;
    use windows_sys::Win32::Storage::FileSystem::{FILE_GENERIC_READ, FILE_WRITE_ATTRIBUTES};
    let mut options = OpenOptions::new();
    options.read(true).access_mode(FILE_GENERIC_READ | FILE_WRITE_ATTRIBUTES);
    let file = match options.open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => return Ok(None),
        Err(e) if e.raw_os_error() == Some(19) => return Ok(None), // ERROR_WRITE_PROTECT
        Err(e) => return Err(e),
    };
    check_regular(&file)?;
    Ok(freeze_access_time(file.as_handle()).ok().map(|()| file))
}

/// Reads at `offset` without using the file's cursor on Unix (`pread`). On Windows the read
/// moves the handle's cursor (`ReadFile` with an offset), so a caller that mixes it with
/// sequential reads must track its own position.
pub fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::read_at(file, buf, offset)
    }
    #[cfg(windows)]
    {
        std::os::windows::fs::FileExt::seek_read(file, buf, offset)
    }
}

/// [`read_at`] until `buf` is full; a short file is [`io::ErrorKind::UnexpectedEof`].
pub fn read_exact_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
    while !buf.is_empty() {
        match read_at(file, buf, offset) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the file ended before the bytes wanted",
                ));
            }
            Ok(n) => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn regular_files_open_and_special_ones_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, b"x").unwrap();
        let opened = open_regular(&file, 0).unwrap();
        // O_NONBLOCK was cleared for the caller.
        use std::os::fd::AsRawFd;
        // SAFETY: the descriptor is open for the duration of the call.
        let flags = unsafe { libc::fcntl(opened.as_raw_fd(), libc::F_GETFL) };
        assert_eq!(flags & libc::O_NONBLOCK, 0);

        let e = open_regular(dir.path(), 0).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::IsADirectory);
        assert_eq!(NotRegularFile::of(&e).unwrap().kind, "directory");
        assert!(e.to_string().starts_with("is a directory, not a regular file"), "{e}");

        let fifo = dir.path().join("p");
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: `c` is a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        // No writer: a blocking open would hang here.
        let e = open_regular(&fifo, 0).unwrap_err();
        assert_eq!(NotRegularFile::of(&e).unwrap().kind, "fifo");

        let e = open_regular(Path::new("/dev/zero"), 0).unwrap_err();
        assert_eq!(NotRegularFile::of(&e).unwrap().kind, "char-device");
        assert_eq!(e.kind(), io::ErrorKind::Unsupported);
    }
}
