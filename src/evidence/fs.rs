//! The file-system seam of the disk source: every file-system reader ([`super::fat`],
//! [`super::exfat`], [`super::ntfs`], [`super::ext`]) gives its entries as [`FsEntry`] values, and [`super::disk`] turns
//! them into records without knowing which file system they came from.
//!
//! An entry says where it is (path, entry number, The Sleuth Kit address), what it is
//! (file or directory, deleted or not, size) and what to do with it ([`EntryState`]): read
//! its [`FileData`], skip it with a reason, or report an error. [`open`] detects the file
//! system of a volume by its boot sector (FAT12/16/32, exFAT, NTFS).

use std::io::{self, Read};
use std::sync::Arc;

use super::exfat::{self, ExfatError, ExfatFs};
use super::ext::{self, ExtError, ExtFs};
use super::fat::{FatError, FatFs, Recovery};
use super::image::DiskImage;
use super::ntfs::{self, NtfsError, NtfsFs};
use crate::report::{Reason, ReasonCode, Timestamp};

/// One stretch of a file's content, in file order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extent {
    /// Bytes on the media.
    Media {
        /// Media offset of the first byte.
        offset: u64,
        /// Length in bytes.
        len: u64,
    },
    /// Bytes that read as zeros (a sparse run, or past the initialized size).
    Zeros {
        /// Length in bytes.
        len: u64,
    },
}

impl Extent {
    /// Length in bytes.
    pub fn len(&self) -> u64 {
        match *self {
            Extent::Media { len, .. } | Extent::Zeros { len } => len,
        }
    }

    /// True for a zero-length extent.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One compression unit of an LZNT1-compressed NTFS stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompressedUnit {
    /// Stored as is: the media extents hold the unit's bytes.
    Plain(Vec<Extent>),
    /// LZNT1 data in these media extents, decompressing to the unit's size.
    Lznt1(Vec<Extent>),
    /// A sparse unit: zeros.
    Zeros,
}

/// A compressed stream: units of `unit_len` bytes, cut at `size`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compressed {
    /// Bytes per compression unit (16 clusters, usually 64 KiB).
    pub unit_len: u64,
    /// The units in file order.
    pub units: Vec<CompressedUnit>,
    /// The stream's size: output stops there.
    pub size: u64,
    /// Bytes past this read as zeros (NTFS's initialized size).
    pub initialized: u64,
}

/// How to read an entry's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileData {
    /// No bytes (empty file, or a directory).
    Empty,
    /// Extents summing to the entry's size.
    Extents(Vec<Extent>),
    /// Bytes held in the file-system metadata itself (NTFS resident data).
    Resident(Arc<[u8]>),
    /// LZNT1-compressed NTFS data.
    Compressed(Compressed),
}

impl FileData {
    /// The media offset of the first byte read from the media (see [`Self::media_runs`]),
    /// if any.
    pub fn first_media_offset(&self) -> Option<u64> {
        let first = |extents: &[Extent]| {
            extents.iter().find_map(|e| match *e {
                Extent::Media { offset, len } if len > 0 => Some(offset),
                _ => None,
            })
        };
        match self {
            FileData::Extents(e) => first(e),
            FileData::Compressed(c) => c.units.iter().find_map(|u| match u {
                CompressedUnit::Plain(e) | CompressedUnit::Lznt1(e) => first(e),
                CompressedUnit::Zeros => None,
            }),
            FileData::Empty | FileData::Resident(_) => None,
        }
    }

    /// The media extents the content is read from (for the record's byte runs); sparse
    /// and resident bytes have none.
    pub fn media_runs(&self) -> Vec<(u64, u64)> {
        let extents: Box<dyn Iterator<Item = &Extent>> = match self {
            FileData::Extents(e) => Box::new(e.iter()),
            FileData::Compressed(c) => Box::new(c.units.iter().flat_map(|u| match u {
                CompressedUnit::Plain(e) | CompressedUnit::Lznt1(e) => e.iter(),
                CompressedUnit::Zeros => [].iter(),
            })),
            FileData::Empty | FileData::Resident(_) => Box::new(std::iter::empty()),
        };
        let mut runs: Vec<(u64, u64)> = Vec::new();
        for e in extents {
            if let Extent::Media { offset, len } = *e {
                match runs.last_mut() {
                    Some((o, l)) if *o + *l == offset => *l += len,
                    _ => runs.push((offset, len)),
                }
            }
        }
        runs
    }
}

/// What the disk source does with an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryState {
    /// Read (files) or list (directories) it.
    Read(FileData),
    /// List it, not read, with this reason.
    Skipped(Reason),
    /// An error record with this reason (never a hash of wrong or partial bytes).
    Error(Reason),
}

/// One file, directory or stream of a file system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsEntry {
    /// Path inside the file system, `/`-joined, no leading `/` (NTFS streams as
    /// `file:stream`, as The Sleuth Kit writes them).
    pub path: Vec<u8>,
    /// A directory.
    pub is_dir: bool,
    /// Marked deleted (its own entry, or an ancestor's).
    pub deleted: bool,
    /// The entry number as The Sleuth Kit numbers it (FAT: directory slot; NTFS: MFT
    /// record number).
    pub entry_number: u64,
    /// The Sleuth Kit's full address when the entry number alone does not name the
    /// content (NTFS `record-type-id`, e.g. `64-128-4` for a stream), for `icat`.
    pub address: Option<String>,
    /// Size in bytes (0 for directories).
    pub size: u64,
    /// Modification, access and metadata-change times, where the file system has them
    /// in UTC.
    pub times: [Option<Timestamp>; 3],
    /// What to do with it.
    pub state: EntryState,
}

/// The entries of a volume's file system.
#[derive(Debug)]
pub struct FileSystem {
    /// The type reports use (`fat12`, `fat16`, `fat32`, `exfat`, `ntfs`, `ext2`, `ext3`,
    /// `ext4`).
    pub fs_type: String,
    /// Every entry, in no particular order.
    pub entries: Vec<FsEntry>,
    /// Damage of the whole file system (the volume's record becomes an error).
    pub problems: Vec<String>,
    /// Media byte ranges `(offset, len)` the file system does not allocate to any file
    /// (free clusters or blocks), sorted and disjoint: where deleted pictures are carved.
    /// Empty when the reader does not know its free space.
    pub unallocated: Vec<(u64, u64)>,
}

/// The media ranges of the units a bitmap marks free (bit clear; bit `i % 8` of byte
/// `i / 8` is unit `i`), for `count` units of `unit` bytes, unit 0 at media offset `first`:
/// sorted, adjacent units merged. Units past the bitmap count as allocated.
pub fn free_ranges(bitmap: &[u8], count: u64, first: u64, unit: u64) -> Vec<(u64, u64)> {
    let mut out: Vec<(u64, u64)> = Vec::new();
    for (k, &byte) in bitmap.iter().enumerate() {
        if byte == 0xFF {
            continue;
        }
        for bit in 0..8u64 {
            let i = k as u64 * 8 + bit;
            if i >= count || byte & (1 << bit) != 0 {
                continue;
            }
            let off = first + i * unit;
            match out.last_mut() {
                Some((o, l)) if *o + *l == off => *l += unit,
                _ => out.push((off, unit)),
            }
        }
    }
    out
}

/// Why a volume's file system could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum FsOpenError {
    /// No file system mediahash reads starts the volume.
    #[error("no file system mediahash reads (FAT12/16/32, exFAT, NTFS, ext2/3/4): {why}")]
    Unknown {
        /// What each reader found wrong with the boot sector.
        why: String,
    },
    /// The file system was recognized but its core structures are damaged.
    #[error("{message}")]
    Damaged {
        /// What is wrong, and what to do.
        message: String,
    },
    /// The volume could not be read.
    #[error("{message}")]
    Io {
        /// What failed.
        message: String,
    },
}

/// Opens the file system of the volume at media offset `base`, `len` bytes on the media:
/// FAT, exFAT or NTFS, told apart by the boot sector, or ext2/3/4 by its superblock at byte
/// 1024.
///
/// # Errors
/// [`FsOpenError`]: not a file system mediahash reads, damaged, or unreadable.
pub fn open(image: &dyn DiskImage, base: u64, len: u64) -> Result<FileSystem, FsOpenError> {
    let mut boot = vec![0u8; 512];
    if let Err(e) = image.read_exact_at(base, &mut boot) {
        return Err(FsOpenError::Io { message: format!("cannot read the boot sector: {e}") });
    }
    if ntfs::is_ntfs_boot_sector(&boot) {
        return match NtfsFs::open(image, base, len) {
            Ok(fs) => Ok(fs.into_file_system()),
            Err(NtfsError::Io { what, source }) => {
                Err(FsOpenError::Io { message: format!("cannot read the NTFS {what}: {source}") })
            }
            Err(e) => Err(FsOpenError::Damaged { message: e.to_string() }),
        };
    }
    if exfat::is_exfat_boot_sector(&boot) {
        return match ExfatFs::open(image, base, len) {
            Ok(fs) => Ok(fs.into_file_system()),
            Err(e @ ExfatError::Io { .. }) => Err(FsOpenError::Io { message: e.to_string() }),
            Err(e) => Err(FsOpenError::Damaged { message: e.to_string() }),
        };
    }
    let fat_why = match FatFs::open(image, base, len) {
        Ok(mut fs) => return Ok(fat_file_system(&mut fs)),
        Err(FatError::NotFat { why }) => why,
        Err(e @ FatError::FatTooLarge { .. }) => {
            return Err(FsOpenError::Damaged { message: e.to_string() });
        }
        Err(e @ FatError::Io { .. }) => return Err(FsOpenError::Io { message: e.to_string() }),
    };
    match ExtFs::open(image, base, len) {
        Ok(fs) => Ok(fs.into_file_system()),
        Err(ExtError::NotExt { why }) => Err(FsOpenError::Unknown {
            why: format!(
                "not NTFS (no NTFS boot sector), not exFAT (no EXFAT boot sector), not FAT \
                 ({fat_why}), not ext2/3/4 ({why})"
            ),
        }),
        Err(ExtError::Unsupported { why }) => Err(FsOpenError::Unknown {
            why: format!("an ext2/3/4 file system mediahash does not read: {why}"),
        }),
        Err(e @ ExtError::Damaged { .. }) => Err(FsOpenError::Damaged { message: e.to_string() }),
        Err(e @ ExtError::Io { .. }) => Err(FsOpenError::Io { message: e.to_string() }),
    }
}

/// Whether a volume's first bytes are a boot sector or superblock of a file system [`open`]
/// reads: `start` holds at least the first 512 bytes (the ext superblock is looked for when
/// it holds 2048).
pub fn is_boot_sector(start: &[u8]) -> bool {
    ntfs::is_ntfs_boot_sector(start)
        || exfat::is_exfat_boot_sector(start)
        || super::fat::is_fat_boot_sector(start)
        || start.get(1024..2048).is_some_and(ext::is_ext_superblock)
}

/// A FAT file system's entries, with the reasons its recovery outcomes give.
fn fat_file_system(fs: &mut FatFs<'_>) -> FileSystem {
    let entries = fs.entries();
    let entries = entries
        .into_iter()
        .map(|e| {
            let covered: u64 = e.runs.iter().map(|r| r.1).sum();
            let fail = |code, message: String| EntryState::Error(Reason::new(code, message));
            let state = if e.is_dir {
                match e.problem {
                    Some(p) => fail(ReasonCode::FileSystemDamaged, p),
                    None => EntryState::Read(FileData::Empty),
                }
            } else {
                match (e.recovery, e.problem) {
                    (_, Some(p)) => fail(
                        ReasonCode::FileSystemDamaged,
                        format!("{p}; not read (a hash of part of the file would mislead)"),
                    ),
                    (Recovery::StartAllocated, None) => fail(
                        ReasonCode::NotRecoverable,
                        format!(
                            "deleted file whose start cluster {} is in use again: its bytes \
                             now belong to another file (The Sleuth Kit's icat shows that \
                             cluster); not read",
                            e.start_cluster
                        ),
                    ),
                    (Recovery::None, None) if e.size > 0 => fail(
                        ReasonCode::NotRecoverable,
                        format!(
                            "deleted file of {} bytes with no valid start cluster ({}): content \
                             not recoverable from the file system",
                            e.size, e.start_cluster
                        ),
                    ),
                    (Recovery::Recovered, None) if covered < e.size => fail(
                        ReasonCode::NotRecoverable,
                        format!(
                            "deleted file of {} bytes: only {covered} bytes of unallocated \
                             clusters follow its start cluster {}; not read",
                            e.size, e.start_cluster
                        ),
                    ),
                    _ => EntryState::Read(FileData::Extents(
                        e.runs.iter().map(|&(offset, len)| Extent::Media { offset, len }).collect(),
                    )),
                }
            };
            FsEntry {
                path: e.path,
                is_dir: e.is_dir,
                deleted: e.deleted,
                entry_number: e.entry_number,
                address: None,
                size: e.size,
                // FAT times are local times without a zone: not reported.
                times: [None; 3],
                state,
            }
        })
        .collect();
    FileSystem {
        fs_type: fs.kind.as_str().to_string(),
        entries,
        problems: std::mem::take(&mut fs.problems),
        unallocated: fs.free_ranges(),
    }
}

/// Reads [`FileData`] from the media, in file order.
pub struct DataReader<I> {
    image: I,
    /// Bytes not yet returned of the current piece.
    pending: Vec<u8>,
    at: usize,
    source: Source,
    /// The content again when it is stored plainly (extents or resident bytes), for
    /// positioned reads ([`DataReader::positioned`]).
    plain: Option<FileData>,
}

enum Source {
    Extents { extents: Vec<Extent>, next: usize, within: u64 },
    Compressed { c: Compressed, next: usize, produced: u64 },
    Done,
}

/// Largest piece read from the media at once.
const READ_CHUNK: u64 = 1 << 20;

impl<I: std::ops::Deref<Target = dyn DiskImage>> DataReader<I> {
    /// A reader of `data` on `image`.
    pub fn new(image: I, data: FileData) -> Self {
        let plain =
            matches!(data, FileData::Extents(_) | FileData::Resident(_)).then(|| data.clone());
        let (pending, source) = match data {
            FileData::Empty => (Vec::new(), Source::Done),
            FileData::Resident(bytes) => (bytes.to_vec(), Source::Done),
            FileData::Extents(extents) => {
                (Vec::new(), Source::Extents { extents, next: 0, within: 0 })
            }
            FileData::Compressed(c) => (Vec::new(), Source::Compressed { c, next: 0, produced: 0 }),
        };
        DataReader { image, pending, at: 0, source, plain }
    }

    /// Fills `pending` with the next piece; false at the end.
    fn refill(&mut self) -> io::Result<bool> {
        self.pending.clear();
        self.at = 0;
        match &mut self.source {
            Source::Done => Ok(false),
            Source::Extents { extents, next, within } => loop {
                let Some(&e) = extents.get(*next) else { return Ok(false) };
                let len = e.len();
                if *within >= len {
                    *next += 1;
                    *within = 0;
                    continue;
                }
                let want = (len - *within).min(READ_CHUNK);
                self.pending.resize(want as usize, 0);
                if let Extent::Media { offset, .. } = e {
                    read_media(&*self.image, offset + *within, &mut self.pending)?;
                }
                *within += want;
                return Ok(true);
            },
            Source::Compressed { c, next, produced } => {
                if *produced >= c.size {
                    return Ok(false);
                }
                let Some(unit) = c.units.get(*next) else {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("compressed stream ends after {produced} of its {} bytes", c.size),
                    ));
                };
                let unit_len = c.unit_len as usize;
                match unit {
                    CompressedUnit::Zeros => self.pending.resize(unit_len, 0),
                    CompressedUnit::Plain(extents) => {
                        read_extents(&*self.image, extents, &mut self.pending)?;
                        self.pending.resize(unit_len, 0);
                    }
                    CompressedUnit::Lznt1(extents) => {
                        let mut packed = Vec::new();
                        read_extents(&*self.image, extents, &mut packed)?;
                        lznt1_decompress(&packed, unit_len, &mut self.pending).map_err(|e| {
                            io::Error::new(
                                io::ErrorKind::InvalidData,
                                format!(
                                    "compression unit {} (file bytes {}..): {e}",
                                    *next, *produced
                                ),
                            )
                        })?;
                        self.pending.resize(unit_len, 0);
                    }
                }
                let start = *produced;
                let keep = (c.size - start).min(c.unit_len) as usize;
                self.pending.truncate(keep);
                // Past the initialized size the content reads as zeros.
                if c.initialized < start + keep as u64 {
                    let from = c.initialized.saturating_sub(start) as usize;
                    self.pending[from..].fill(0);
                }
                *produced += keep as u64;
                *next += 1;
                Ok(true)
            }
        }
    }
}

impl DataReader<Arc<dyn DiskImage>> {
    /// The same bytes with positioned reads (an archive found inside a disk image), when
    /// they are stored plainly; `None` for compressed data (read in order only).
    pub fn positioned(&self) -> Option<Arc<dyn DiskImage>> {
        match self.plain.as_ref()? {
            FileData::Resident(bytes) => Some(Arc::new(bytes.to_vec())),
            FileData::Extents(extents) => {
                let mut starts = Vec::with_capacity(extents.len());
                let mut len = 0u64;
                for e in extents {
                    starts.push(len);
                    len += e.len();
                }
                Some(Arc::new(ExtentsImage {
                    image: self.image.clone(),
                    extents: extents.clone(),
                    starts,
                    len,
                }))
            }
            FileData::Empty | FileData::Compressed(_) => None,
        }
    }
}

/// A file's extents on a media, as a byte store of their own (positioned reads).
struct ExtentsImage {
    image: Arc<dyn DiskImage>,
    extents: Vec<Extent>,
    /// File offset of each extent's first byte (ascending: binary search per read).
    starts: Vec<u64>,
    len: u64,
}

impl DiskImage for ExtentsImage {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        if offset >= self.len || buf.is_empty() {
            return Ok(0);
        }
        // The last extent starting at or before `offset` (zero-length extents are skipped
        // by taking the last of equal starts).
        let i = self.starts.partition_point(|&s| s <= offset) - 1;
        let within = offset - self.starts[i];
        let extent = self.extents[i];
        let want = (extent.len() - within).min(buf.len() as u64) as usize;
        match extent {
            Extent::Media { offset: at, .. } => self.image.read_at(at + within, &mut buf[..want]),
            Extent::Zeros { .. } => {
                buf[..want].fill(0);
                Ok(want)
            }
        }
    }

    fn container(&self) -> String {
        self.image.container()
    }
}

fn read_media(image: &dyn DiskImage, offset: u64, buf: &mut [u8]) -> io::Result<()> {
    image.read_exact_at(offset, buf).map_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "media bytes {offset}..{} are past the end of the image (truncated image?)",
                    offset + buf.len() as u64
                ),
            )
        } else {
            e
        }
    })
}

fn read_extents(image: &dyn DiskImage, extents: &[Extent], out: &mut Vec<u8>) -> io::Result<()> {
    for e in extents {
        let at = out.len();
        match *e {
            Extent::Media { offset, len } => {
                out.resize(at + len as usize, 0);
                read_media(image, offset, &mut out[at..])?;
            }
            Extent::Zeros { len } => out.resize(at + len as usize, 0),
        }
    }
    Ok(())
}

impl<I: std::ops::Deref<Target = dyn DiskImage>> Read for DataReader<I> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at >= self.pending.len() {
            if !self.refill()? {
                return Ok(0);
            }
        }
        let n = (self.pending.len() - self.at).min(buf.len());
        buf[..n].copy_from_slice(&self.pending[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// Why LZNT1 data does not decompress.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Lznt1Error {
    /// A chunk header says the chunk is longer than the bytes left.
    #[error("LZNT1 chunk at byte {at} claims {len} bytes, only {left} remain")]
    ChunkPastEnd {
        /// Offset of the chunk header.
        at: usize,
        /// Its declared length.
        len: usize,
        /// Bytes left.
        left: usize,
    },
    /// A back-reference points before the start of its chunk.
    #[error("LZNT1 back-reference at byte {at} points {offset} bytes back, before its chunk")]
    BadReference {
        /// Offset of the token.
        at: usize,
        /// How far back it points.
        offset: usize,
    },
}

/// Decompresses LZNT1 data (chunks of at most 4 KiB output, each with a 2-byte header)
/// into `out`, producing at most `limit` bytes. A compressed chunk that produces fewer
/// than 4096 bytes is followed by zeros up to the next chunk (as Windows writes it).
///
/// # Errors
/// [`Lznt1Error`] for a chunk longer than the input or a reference before its chunk.
pub fn lznt1_decompress(input: &[u8], limit: usize, out: &mut Vec<u8>) -> Result<(), Lznt1Error> {
    const CHUNK: usize = 4096;
    let mut pos = 0usize;
    while pos + 2 <= input.len() && out.len() < limit {
        let header = usize::from(u16::from_le_bytes([input[pos], input[pos + 1]]));
        if header == 0 {
            break;
        }
        let len = (header & 0x0FFF) + 1;
        let data_start = pos + 2;
        if data_start + len > input.len() {
            return Err(Lznt1Error::ChunkPastEnd { at: pos, len, left: input.len() - data_start });
        }
        let data = &input[data_start..data_start + len];
        let chunk_start = out.len();
        if header & 0x8000 == 0 {
            out.extend_from_slice(&data[..len.min(CHUNK)]);
        } else {
            let mut i = 0usize;
            'tokens: while i < data.len() {
                let flags = data[i];
                i += 1;
                for bit in 0..8 {
                    if i >= data.len() || out.len() - chunk_start >= CHUNK {
                        break 'tokens;
                    }
                    if flags & (1 << bit) == 0 {
                        out.push(data[i]);
                        i += 1;
                        continue;
                    }
                    if i + 1 >= data.len() {
                        break 'tokens;
                    }
                    let token = usize::from(u16::from_le_bytes([data[i], data[i + 1]]));
                    let here = out.len() - chunk_start;
                    if here == 0 {
                        return Err(Lznt1Error::BadReference { at: data_start + i, offset: 0 });
                    }
                    // The split between offset and length bits moves with the position
                    // in the chunk: offsets get as many bits as the position needs.
                    let mut shift = 12u32;
                    let mut p = here - 1;
                    while p >= 0x10 {
                        p >>= 1;
                        shift -= 1;
                    }
                    let offset = (token >> shift) + 1;
                    let length = (token & ((1 << shift) - 1)) + 3;
                    if offset > here {
                        return Err(Lznt1Error::BadReference { at: data_start + i, offset });
                    }
                    let length = length.min(CHUNK - here);
                    let from = out.len() - offset;
                    for k in 0..length {
                        let b = out[from + k];
                        out.push(b);
                    }
                    i += 2;
                }
            }
        }
        {
            let produced = out.len() - chunk_start;
            let next_has_data = data_start + len + 2 <= input.len()
                && input[data_start + len..data_start + len + 2] != [0, 0];
            if produced < CHUNK && next_has_data {
                out.resize(chunk_start + CHUNK, 0);
            }
        }
        pos = data_start + len;
    }
    out.truncate(limit);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lznt1_literals_and_references() {
        // "abcabcabcabc": 3 literals, then a reference 3 back of length 9.
        // At position 3, offset bits = 4 (shift 12): token = ((3-1) << 12) | (9-3).
        let token: u16 = (2 << 12) | 6;
        let mut chunk = vec![0b0000_1000, b'a', b'b', b'c'];
        chunk.extend_from_slice(&token.to_le_bytes());
        let header: u16 = 0x8000 | 0x3000 | (chunk.len() as u16 - 1);
        let mut input = header.to_le_bytes().to_vec();
        input.extend_from_slice(&chunk);
        let mut out = Vec::new();
        lznt1_decompress(&input, 4096, &mut out).unwrap();
        assert_eq!(out, b"abcabcabcabc");
        // An uncompressed chunk.
        let mut plain = (0x3000u16 | 4095).to_le_bytes().to_vec();
        plain.extend((0..4096).map(|i| i as u8));
        let mut out = Vec::new();
        lznt1_decompress(&plain, 8192, &mut out).unwrap();
        assert_eq!(out.len(), 4096);
        assert_eq!(out[4095], 255);
    }

    #[test]
    fn lznt1_hostile() {
        // A reference before the chunk start.
        let token: u16 = 7 << 12;
        let mut chunk = vec![0b0000_0010, b'a'];
        chunk.extend_from_slice(&token.to_le_bytes());
        let header: u16 = 0x8000 | (chunk.len() as u16 - 1);
        let mut input = header.to_le_bytes().to_vec();
        input.extend_from_slice(&chunk);
        let mut out = Vec::new();
        assert!(matches!(
            lznt1_decompress(&input, 4096, &mut out),
            Err(Lznt1Error::BadReference { .. })
        ));
        // A chunk longer than the input.
        let mut out = Vec::new();
        assert!(matches!(
            lznt1_decompress(&[0xFF, 0xBF, 1, 2], 4096, &mut out),
            Err(Lznt1Error::ChunkPastEnd { .. })
        ));
    }
}
