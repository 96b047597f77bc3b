//! Raw disk images: one file (`.dd`, `.img`, `.raw`...) or a split set (`.001/.002...`,
//! `.000/.001...`, `_001/_002...`, `xaa/xab...`, `.aa/.ab...`) as one [`DiskImage`].
//!
//! A split set is named by its first piece: the pieces are the names that follow it (same
//! width, counting up) for as long as they exist, as The Sleuth Kit joins them
//! (`tsk/img/mult_files.cpp`). Naming a later piece opens that piece alone. Every piece is
//! opened read-only with `O_NOATIME` (the folder source's open) and read with positioned
//! reads, so several threads read one image at once without a shared cursor.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use super::image::DiskImage;
use super::sys::{self, AtimePolicy, OpenError, OpenFor};

/// Pieces of a split set followed at most (`.001` to `.999` and beyond is unusual; a
/// bound keeps a directory of millions of names from being probed forever).
pub const MAX_SEGMENTS: usize = 100_000;

/// One piece of a raw image.
#[derive(Debug)]
struct Segment {
    file: File,
    path: PathBuf,
    /// Media offset of the piece's first byte.
    start: u64,
    len: u64,
}

/// A raw image, whole or split, opened read-only.
#[derive(Debug)]
pub struct RawImage {
    segments: Vec<Segment>,
    len: u64,
    noatime: bool,
}

/// Why a raw image could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum RawError {
    /// A piece could not be opened or its length read.
    #[error("cannot open image piece {path}: {source}")]
    Open {
        /// The piece.
        path: PathBuf,
        /// What the system said.
        source: io::Error,
    },
    /// `O_NOATIME` was refused and the mount records access times.
    #[error(
        "image piece {path}: O_NOATIME was refused (you do not own it) and the mount records \
         access times; mount it read-only, run as its owner, or use --allow-atime-changes"
    )]
    AtimeWouldChange {
        /// The piece.
        path: PathBuf,
    },
}

impl RawImage {
    /// Opens `first` and, when its name starts a split set, the pieces that follow it.
    /// `allow_atime_changes`: as [`super::SourceOptions::allow_atime_changes`].
    ///
    /// # Errors
    /// A piece that cannot be opened ([`RawError`]).
    pub fn open(first: &Path, allow_atime_changes: bool) -> Result<RawImage, RawError> {
        let policy = AtimePolicy {
            allow_changes: allow_atime_changes,
            simulate_refusal: false,
            mount_override: None,
        };
        let mut segments = Vec::new();
        let mut start = 0u64;
        let mut noatime = true;
        for path in segment_paths(first) {
            let open_err = |source| RawError::Open { path: path.clone(), source };
            let c = sys::name(path.as_os_str()).map_err(open_err)?;
            let (fd, quiet) =
                sys::open_at(None, &c, OpenFor::Reading, true, policy).map_err(|e| match e {
                    OpenError::AtimeWouldChange => {
                        RawError::AtimeWouldChange { path: path.clone() }
                    }
                    OpenError::Io(e) => RawError::Open { path: path.clone(), source: e },
                })?;
            noatime &= quiet;
            let file = File::from(fd);
            let len = file
                .metadata()
                .map_err(|e| RawError::Open { path: path.clone(), source: e })?
                .len();
            segments.push(Segment { file, path, start, len });
            start = start.saturating_add(len);
        }
        Ok(RawImage { segments, len: start, noatime })
    }

    /// The pieces' paths, in media order.
    pub fn paths(&self) -> Vec<&Path> {
        self.segments.iter().map(|s| s.path.as_path()).collect()
    }

    /// Whether every piece was opened so that reading leaves access times alone.
    pub fn noatime(&self) -> bool {
        self.noatime
    }
}

impl DiskImage for RawImage {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        if offset >= self.len || buf.is_empty() {
            return Ok(0);
        }
        // The piece holding `offset`: the last one starting at or before it.
        let i = self.segments.partition_point(|s| s.start <= offset).saturating_sub(1);
        let seg = &self.segments[i];
        let within = offset - seg.start;
        let want = (seg.len - within).min(buf.len() as u64) as usize;
        let n = crate::openfile::read_at(&seg.file, &mut buf[..want], within).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!(
                    "reading media bytes {offset}..{} from {}: {e}",
                    offset + want as u64,
                    seg.path.display()
                ),
            )
        })?;
        if n == 0 {
            // The piece is shorter than when it was opened: never read as zeros.
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "media bytes {offset}..{}: {} ended early (shrank after it was opened)",
                    offset + want as u64,
                    seg.path.display()
                ),
            ));
        }
        Ok(n)
    }

    fn container(&self) -> String {
        match self.segments.len() {
            1 => "raw".to_string(),
            n => format!("raw ({n} segments)"),
        }
    }
}

/// The paths of the split set `first` starts (just `first` when its name starts none).
pub fn segment_paths(first: &Path) -> Vec<PathBuf> {
    let mut paths = vec![first.to_path_buf()];
    let Some(os_name) = first.file_name() else { return paths };
    let name = os_name.as_encoded_bytes();
    let Some(counter) = split_counter(name) else { return paths };
    let mut current = name.to_vec();
    while paths.len() < MAX_SEGMENTS {
        let Some(next) = counter.next(&current) else { break };
        let keep = crate::pathbytes::common_prefix(name, &next);
        let Some(next_name) = crate::pathbytes::replace_ascii_tail(os_name, keep, &next[keep..])
        else {
            break;
        };
        let path = first.with_file_name(next_name);
        if !path.is_file() {
            break;
        }
        paths.push(path);
        current = next;
    }
    paths
}

/// How a split set's names count up.
#[derive(Debug, Clone, Copy)]
enum Counter {
    /// The last `width` bytes are decimal digits.
    Digits(usize),
    /// The last `width` bytes are lower-case letters.
    Letters(usize),
}

/// A first piece's counter: `.000`/`.001`/`_001` (digits after `.` or `_`, value 0 or 1),
/// `xaa` or `NAME.aa`/`NAME.aaa` (letters all `a`).
fn split_counter(name: &[u8]) -> Option<Counter> {
    let digits = name.iter().rev().take_while(|b| b.is_ascii_digit()).count();
    if (2..=4).contains(&digits) && digits < name.len() {
        let sep = name[name.len() - digits - 1];
        let value: u32 = std::str::from_utf8(&name[name.len() - digits..]).ok()?.parse().ok()?;
        if (sep == b'.' || sep == b'_') && value <= 1 {
            return Some(Counter::Digits(digits));
        }
        return None;
    }
    let letters = name.iter().rev().take_while(|&&b| b == b'a').count();
    if (2..=3).contains(&letters) && letters < name.len() {
        let before = &name[..name.len() - letters];
        if before == b"x" || before.ends_with(b".") {
            return Some(Counter::Letters(letters));
        }
    }
    None
}

impl Counter {
    /// The name after `name`, or `None` when the counter would overflow its width.
    fn next(self, name: &[u8]) -> Option<Vec<u8>> {
        let (width, low, high) = match self {
            Counter::Digits(w) => (w, b'0', b'9'),
            Counter::Letters(w) => (w, b'a', b'z'),
        };
        let mut out = name.to_vec();
        let tail = out.len() - width;
        for i in (tail..out.len()).rev() {
            if out[i] < high {
                out[i] += 1;
                return Some(out);
            }
            out[i] = low;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_names_count_up() {
        let next = |n: &str| {
            split_counter(n.as_bytes())
                .and_then(|c| c.next(n.as_bytes()))
                .map(|v| String::from_utf8(v).unwrap())
        };
        assert_eq!(next("disk.001").as_deref(), Some("disk.002"));
        assert_eq!(next("disk.000").as_deref(), Some("disk.001"));
        assert_eq!(next("disk_001").as_deref(), Some("disk_002"));
        assert_eq!(next("xaa").as_deref(), Some("xab"));
        assert_eq!(next("disk.aaa").as_deref(), Some("disk.aab"));
        assert_eq!(next("disk.002"), None, "a later piece opens alone");
        assert_eq!(next("disk.img"), None);
        assert_eq!(next("java"), None);
        let c = split_counter(b"d.009").unwrap_or(Counter::Digits(3));
        assert_eq!(c.next(b"d.009").unwrap(), b"d.010");
    }

    #[test]
    fn split_set_reads_across_pieces() {
        let dir = tempfile::tempdir().unwrap();
        let media: Vec<u8> = (0..2500u32).map(|i| (i % 251) as u8).collect();
        for (i, piece) in media.chunks(1000).enumerate() {
            std::fs::write(dir.path().join(format!("img.{:03}", i + 1)), piece).unwrap();
        }
        std::fs::write(dir.path().join("img.005"), b"not reached: .004 is missing").unwrap();
        let image = RawImage::open(&dir.path().join("img.001"), false).unwrap();
        assert_eq!(image.len(), 2500);
        assert_eq!(image.container(), "raw (3 segments)");
        let mut buf = vec![0u8; 1200];
        image.read_exact_at(900, &mut buf).unwrap();
        assert_eq!(buf, &media[900..2100]);
        let mut tail = [0u8; 10];
        assert_eq!(image.read_at(2495, &mut tail).unwrap(), 5);
        assert!(image.read_exact_at(2495, &mut tail).is_err());
        let single = RawImage::open(&dir.path().join("img.002"), false).unwrap();
        assert_eq!(single.len(), 1000);
    }
}
