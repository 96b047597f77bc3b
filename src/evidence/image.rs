//! Disk images as random-access byte stores: the seam between image containers (raw, split
//! raw, EWF) and what reads through them (partition tables, file systems, carving).
//!
//! A container implements [`DiskImage`]: the media's length and positioned reads. Readers
//! above never see segments, chunks or compression; a container reports a chunk it cannot
//! read (bad checksum, truncated segment) as an [`std::io::Error`] whose message names the
//! media byte range, so the item that needed those bytes becomes an error record and the
//! scan goes on.

use std::io;

/// Read-only random access to the media inside a disk image (what the acquired disk held).
///
/// Implementations must be safe to call from several threads at once (positioned reads, no
/// shared cursor) and must never write to the image files.
pub trait DiskImage: Send + Sync {
    /// Length of the media in bytes.
    fn len(&self) -> u64;

    /// True when the media is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Reads up to `buf.len()` bytes at media offset `offset`; fewer only at the end of the
    /// media (0 at or past it).
    ///
    /// # Errors
    /// An I/O error, or damage in the container (the message names the byte range).
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize>;

    /// Fills `buf` from `offset`.
    ///
    /// # Errors
    /// As [`DiskImage::read_at`], and [`io::ErrorKind::UnexpectedEof`] when the media ends
    /// first.
    fn read_exact_at(&self, mut offset: u64, mut buf: &mut [u8]) -> io::Result<()> {
        while !buf.is_empty() {
            match self.read_at(offset, buf) {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("the media ends before byte {}", offset + buf.len() as u64),
                    ));
                }
                Ok(n) => {
                    offset += n as u64;
                    buf = &mut buf[n..];
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// A short description of the container for reports (`raw`, `raw (3 segments)`,
    /// `ewf`, `ewf (3 segments)`...).
    fn container(&self) -> String;

    /// The media digests the container stored at acquisition (EWF `hash`/`digest`
    /// sections); none for raw images.
    fn stored_digests(&self) -> StoredDigests {
        StoredDigests::default()
    }

    /// What the container records about the acquisition, as `(name, value)` pairs in a
    /// fixed order (EWF: format, case number, examiner...); empty for raw images.
    fn metadata(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }

    /// Reads the whole media once, in order, in the container's natural blocks (EWF
    /// chunks; 1 MiB for others), calling `f(media_offset, block_len, Ok(bytes))` for each
    /// block, or `f(media_offset, block_len, Err(..))` for a block that cannot be read
    /// (reading goes on with the next). Stops when `f` returns false. For verifying and
    /// hashing the whole media.
    fn for_each_block(&self, f: &mut BlockVisitor<'_>) {
        const BLOCK: u64 = 1 << 20;
        let mut buf = vec![0u8; BLOCK as usize];
        let mut offset = 0u64;
        while offset < self.len() {
            let want = (self.len() - offset).min(BLOCK) as usize;
            let keep_going = match self.read_exact_at(offset, &mut buf[..want]) {
                Ok(()) => f(offset, want as u64, Ok(&buf[..want])),
                Err(e) => f(offset, want as u64, Err(e)),
            };
            if !keep_going {
                return;
            }
            offset += want as u64;
        }
    }
}

/// What [`DiskImage::for_each_block`] calls per block: `(media offset, block length, bytes
/// or the read error)`; returns false to stop.
pub type BlockVisitor<'a> = dyn FnMut(u64, u64, io::Result<&[u8]>) -> bool + 'a;

/// Media digests stored in a container at acquisition.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoredDigests {
    /// MD5 of the media.
    pub md5: Option<[u8; 16]>,
    /// SHA-1 of the media.
    pub sha1: Option<[u8; 20]>,
}

/// A media held in memory (tests, small images).
impl DiskImage for Vec<u8> {
    fn len(&self) -> u64 {
        self.as_slice().len() as u64
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let Ok(start) = usize::try_from(offset) else { return Ok(0) };
        let Some(rest) = self.get(start..) else { return Ok(0) };
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        Ok(n)
    }

    fn container(&self) -> String {
        "memory".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_image_reads_and_ends() {
        let media: Vec<u8> = (0..100u8).collect();
        let mut buf = [0u8; 10];
        assert_eq!(media.read_at(95, &mut buf).unwrap(), 5);
        assert_eq!(&buf[..5], &[95, 96, 97, 98, 99]);
        assert_eq!(media.read_at(100, &mut buf).unwrap(), 0);
        assert_eq!(media.read_at(u64::MAX, &mut buf).unwrap(), 0);
        media.read_exact_at(10, &mut buf).unwrap();
        assert_eq!(buf[0], 10);
        let err = media.read_exact_at(95, &mut buf).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }
}
