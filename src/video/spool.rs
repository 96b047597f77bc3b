//! In-memory copies of videos that have no path ffmpeg can open: archive members and files
//! inside disk images.
//!
//! ffmpeg needs a seekable input (an MP4 whose index sits at the end cannot be read from a
//! pipe), so such a video is copied, while the scan reads it once, into an anonymous
//! memory file (Linux `memfd_create`): nothing is written to any disk, least of all beside
//! the evidence. The copy is sealed against writes before ffmpeg opens it as
//! `/proc/<pid>/fd/<fd>`, and it is freed when the [`Spool`] is dropped. A video larger
//! than the limit is not copied (its record says so). Where anonymous memory files do not
//! exist (other systems), [`Spool::new`] returns `None` and such videos stay unhashed with
//! a record that says why.

use std::fs::File;
use std::io;
use std::path::PathBuf;

/// Default largest video copied into memory: 1 GiB (per video being read; each scan
/// thread holds at most one).
pub const DEFAULT_SPOOL_LIMIT: u64 = 1 << 30;

/// A video's bytes in an anonymous memory file, written in order as they are read.
#[derive(Debug)]
pub struct Spool {
    file: File,
    written: u64,
    limit: u64,
    over_limit: bool,
}

impl Spool {
    /// An empty copy holding at most `limit` bytes; `Ok(None)` where the system has no
    /// anonymous memory files.
    ///
    /// # Errors
    /// The system refused to create one (out of memory or file descriptors).
    pub fn new(limit: u64) -> io::Result<Option<Spool>> {
        imp::create()
            .map(|file| file.map(|file| Spool { file, written: 0, limit, over_limit: false }))
    }

    /// Appends the next bytes of the video. Past the limit the copy stops growing and
    /// [`Spool::finish`] reports it.
    ///
    /// # Errors
    /// The memory file could not grow (out of memory).
    pub fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        use std::io::Write;
        if self.over_limit || bytes.is_empty() {
            return Ok(());
        }
        if self.written + bytes.len() as u64 > self.limit {
            self.over_limit = true;
            // Free the memory now rather than when the item is done.
            self.file.set_len(0)?;
            return Ok(());
        }
        self.file.write_all(bytes)?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    /// Seals the copy (no more writes, by anyone) and gives the path ffmpeg opens.
    ///
    /// # Errors
    /// [`SpoolError::TooLarge`] past the limit; [`SpoolError::Io`] when sealing failed.
    pub fn finish(&self) -> Result<PathBuf, SpoolError> {
        if self.over_limit {
            return Err(SpoolError::TooLarge { limit: self.limit });
        }
        imp::seal(&self.file).map_err(SpoolError::Io)?;
        Ok(imp::path(&self.file))
    }

    /// Bytes copied so far.
    pub fn len(&self) -> u64 {
        self.written
    }

    /// Whether nothing was copied yet.
    pub fn is_empty(&self) -> bool {
        self.written == 0
    }
}

/// Why a spooled video cannot be given to ffmpeg.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    /// The video is larger than the in-memory limit.
    #[error(
        "video larger than the {limit}-byte in-memory limit for videos inside disk images and \
         archives: not hashed as video (raise --video-spool-mib, or extract it and hash it \
         with mh hash --video-fps)"
    )]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// The memory file could not be written or sealed.
    #[error("in-memory copy of the video failed: {0}")]
    Io(#[source] io::Error),
}

#[cfg(any(target_os = "linux", target_os = "android"))]
mod imp {
    use std::fs::File;
    use std::io;
    use std::os::fd::{AsRawFd, FromRawFd};
    use std::path::PathBuf;

    pub(super) fn create() -> io::Result<Option<File>> {
        // SAFETY: the name is a NUL-terminated literal; the flags are valid for the call.
        let fd = unsafe {
            libc::memfd_create(
                c"mediahash-video".as_ptr(),
                libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING,
            )
        };
        if fd < 0 {
            let e = io::Error::last_os_error();
            // Kernels before 3.17 (or a seccomp filter) have no memfd_create.
            return if e.raw_os_error() == Some(libc::ENOSYS) { Ok(None) } else { Err(e) };
        }
        // SAFETY: `fd` was just returned by memfd_create and is owned by nobody else.
        Ok(Some(unsafe { File::from_raw_fd(fd) }))
    }

    pub(super) fn seal(file: &File) -> io::Result<()> {
        let seals =
            libc::F_SEAL_WRITE | libc::F_SEAL_GROW | libc::F_SEAL_SHRINK | libc::F_SEAL_SEAL;
        // SAFETY: the descriptor is open for the call; F_ADD_SEALS takes an int argument.
        let r = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_ADD_SEALS, seals) };
        if r < 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
    }

    /// The child is another process: `/proc/self` would name the child, so the path names
    /// this process.
    pub(super) fn path(file: &File) -> PathBuf {
        PathBuf::from(format!("/proc/{}/fd/{}", std::process::id(), file.as_raw_fd()))
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
mod imp {
    use std::fs::File;
    use std::io;
    use std::path::PathBuf;

    pub(super) fn create() -> io::Result<Option<File>> {
        Ok(None)
    }

    pub(super) fn seal(_: &File) -> io::Result<()> {
        Ok(())
    }

    pub(super) fn path(_: &File) -> PathBuf {
        PathBuf::new()
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn copy_is_readable_by_path_and_sealed() {
        let mut spool = Spool::new(16).unwrap().expect("memfd on Linux");
        spool.write(b"0123456789").unwrap();
        spool.write(b"abc").unwrap();
        let path = spool.finish().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"0123456789abc");
        // Sealed: nobody can change what ffmpeg reads.
        assert!(
            std::fs::OpenOptions::new().write(true).open(&path).is_err()
                || std::fs::write(&path, b"x").is_err()
        );
    }

    #[test]
    fn over_the_limit_is_refused() {
        let mut spool = Spool::new(8).unwrap().expect("memfd on Linux");
        spool.write(b"01234").unwrap();
        spool.write(b"56789").unwrap();
        assert!(matches!(spool.finish(), Err(SpoolError::TooLarge { limit: 8 })));
    }
}
