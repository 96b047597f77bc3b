//! Expert Witness Compression Format images (EnCase `.E01`, version 1) as one [`DiskImage`]:
//! our own memory-safe reader, written from the format's public description (libyal's
//! "Expert Witness Compression Format (EWF)" document).
//!
//! **Supported**: EWF-E01 as written by EnCase 1-7 (v1 format), FTK Imager, linen and
//! `ewfacquire` (all its v1 formats: `encase1`...`encase7`, `linen5-7`, `ftk`, `ewfx`), and
//! SMART EWF-S01 (`.s01`); one or many segment files; chunks stored zlib-compressed or
//! uncompressed, each checked (the zlib stream's Adler-32 trailer, or the Adler-32 stored
//! after an uncompressed chunk); tables with the compressed flag bit and EnCase 6+ base
//! offsets, `table2` used when `table` is damaged; the stored MD5 (`hash`) and MD5/SHA-1
//! (`digest`; EWF-X `xhash`) and the case metadata (`header2` UTF-16 or `header`).
//! **Not supported**: EWF2 (`.Ex01`, signature `EVF2`; EnCase 7+ "v2" format) and logical
//! evidence files (`.L01`, `LVF`): both are refused with a typed error, never misread;
//! EnCase 6.7.1's overflowed 31-bit table offsets (such chunks fail their checksum and
//! are read errors); encrypted (FTK "AD encryption") images.
//!
//! The set is found from the first segment's name the way EnCase numbers it
//! (`.E01`...`.E99`, `.EAA`...`.EZZ`, `.FAA`...`.ZZZ`; `.s01`... for SMART; the case of the
//! first name is kept), and each segment's own number must match its place. A set whose
//! last segment found does not end with a `done` section is refused as incomplete
//! ([`EwfError::SegmentMissing`]): reading the chunks that are there would show a disk
//! that silently stops.
//!
//! Detection is by content (the `EVF` signature, [`is_ewf`]), never by the name.
//!
//! Reads: a chunk is read from its segment with a positioned read, checked and inflated on
//! the calling thread; a small LRU cache of inflated chunks (a few MiB) serves the many
//! small reads of file-system code. A chunk that fails its check, does not inflate to its
//! size, or whose table entry points outside its segment's chunk data is an
//! [`io::Error`] of kind [`io::ErrorKind::InvalidData`] carrying a [`ChunkError`] that
//! names the media byte range it covers: never zeros.
//!
//! Memory: the tables (4 bytes per chunk, as stored in the files: a forged entry count
//! cannot exceed its section, which cannot exceed its file), the metadata (bounded), and
//! the cache.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::image::{BlockVisitor, DiskImage, StoredDigests};
use super::sys::{self, AtimePolicy, OpenError, OpenFor};

/// The EWF v1 signature (`.E01`, `.s01`).
pub const EVF_SIGNATURE: [u8; 8] = *b"EVF\x09\x0d\x0a\xff\x00";
/// EWF2 (`.Ex01`), recognised to be refused clearly.
const EVF2_SIGNATURE: [u8; 8] = *b"EVF2\x0d\x0a\x81\x00";
/// Logical evidence files (`.L01`), recognised to be refused clearly.
const LVF_SIGNATURE: [u8; 8] = *b"LVF\x09\x0d\x0a\xff\x00";
/// LEF2 (`.Lx01`).
const LEF2_SIGNATURE: [u8; 8] = *b"LEF2\x0d\x0a\x81\x00";

/// Segment file header: signature, 0x01, segment number (u16), 0x0000.
const FILE_HEADER_LEN: u64 = 13;
/// Section descriptor: type[16], next u64, size u64, padding[40], Adler-32.
const DESCRIPTOR_LEN: u64 = 76;
/// Segment files followed at most (`.E01` to `.ZZZ` is 14,971 names).
pub const MAX_SEGMENTS: usize = 14_971;
/// Largest chunk accepted (EnCase allows 32768 sectors of 512 bytes).
pub const MAX_CHUNK_BYTES: u64 = 16 << 20;
/// Largest `header`/`header2` text inflated (EnCase caps its fields at a few KiB).
const MAX_HEADER_TEXT: usize = 1 << 20;
/// Bytes of inflated chunks the cache keeps (at least two chunks).
const CACHE_BYTES: u64 = 4 << 20;

/// Whether `start` (the first bytes of a file) begins with an EWF signature this module
/// reads or refuses ([`EVF_SIGNATURE`], EWF2, L01).
pub fn is_ewf(start: &[u8]) -> bool {
    [EVF_SIGNATURE, EVF2_SIGNATURE, LVF_SIGNATURE, LEF2_SIGNATURE]
        .iter()
        .any(|s| start.starts_with(s))
}

/// Why an EWF image could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum EwfError {
    /// A segment file could not be opened or read.
    #[error("EWF segment {path}: {source}")]
    Io {
        /// The segment file.
        path: PathBuf,
        /// What the system said.
        source: io::Error,
    },
    /// `O_NOATIME` was refused and the mount records access times.
    #[error(
        "EWF segment {path}: O_NOATIME was refused (you do not own it) and the mount records \
         access times; mount it read-only, run as its owner, or use --allow-atime-changes"
    )]
    AtimeWouldChange {
        /// The segment file.
        path: PathBuf,
    },
    /// A format this reader does not read (EWF2 `.Ex01`, logical `.L01`).
    #[error(
        "{path}: {format} is not supported (mediahash reads EWF-E01 version 1 and EWF-S01); \
         convert it with `ewfexport -f raw` or `ewfexport -f encase6` and scan the result"
    )]
    Unsupported {
        /// The segment file.
        path: PathBuf,
        /// What it is.
        format: &'static str,
    },
    /// The file does not start with the EWF signature and header.
    #[error("{path}: not an EWF segment file (no EVF signature)")]
    NotEwf {
        /// The file.
        path: PathBuf,
    },
    /// A segment carries another number than its place in the set.
    #[error(
        "{path}: segment number {found} where segment {expected} was expected; open the set \
         by its first segment (.E01), and check that the files belong together"
    )]
    SegmentNumber {
        /// The segment file.
        path: PathBuf,
        /// The number its header holds.
        found: u16,
        /// Its place in the set.
        expected: usize,
    },
    /// The last segment found ends with `next`: the following one is missing.
    #[error(
        "the EWF set is incomplete: {last} ends with a `next` section, but segment {expected} \
         is missing; copy every segment file of the set into the same folder"
    )]
    SegmentMissing {
        /// The last segment found.
        last: PathBuf,
        /// The expected name of the missing one.
        expected: PathBuf,
    },
    /// A structure (section descriptor, volume, table) is damaged or inconsistent.
    #[error(
        "{path}: damaged EWF structure at file offset {offset}: {what}; the image cannot be \
         read reliably (check it with ewfverify; a second copy of the evidence may be intact)"
    )]
    Damaged {
        /// The segment file.
        path: PathBuf,
        /// Byte offset in that file.
        offset: u64,
        /// What is wrong.
        what: String,
    },
}

/// A chunk that cannot be read: the media bytes it holds are unknown.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "EWF chunk {chunk} (media bytes {media_start}..{media_end}, in {segment} at file offset \
     {file_offset}) cannot be read: {what}; those bytes are unknown (compare with ewfverify; \
     another copy of the evidence may hold them)"
)]
pub struct ChunkError {
    /// The chunk's index.
    pub chunk: u64,
    /// First media byte the chunk covers.
    pub media_start: u64,
    /// One past the last media byte it covers.
    pub media_end: u64,
    /// The segment file holding it.
    pub segment: PathBuf,
    /// Where the chunk's stored bytes start in that file.
    pub file_offset: u64,
    /// What is wrong (checksum, inflate, table entry).
    pub what: String,
}

impl From<ChunkError> for io::Error {
    fn from(e: ChunkError) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, e)
    }
}

/// Case metadata from the `header2` (preferred) or `header` section, as the acquiring
/// tool wrote it (values not interpreted; dates as stored).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseInfo {
    /// Case number (`c`).
    pub case_number: Option<String>,
    /// Evidence number (`n`).
    pub evidence_number: Option<String>,
    /// Description (`a`).
    pub description: Option<String>,
    /// Examiner name (`e`).
    pub examiner: Option<String>,
    /// Notes (`t`).
    pub notes: Option<String>,
    /// Acquisition software version (`av`).
    pub software_version: Option<String>,
    /// Acquisition platform (`ov`).
    pub platform: Option<String>,
    /// Acquisition date as stored (`m`: POSIX seconds in `header2`, `Y M D h m s` local
    /// time in `header`).
    pub acquisition_date: Option<String>,
    /// System date as stored (`u`).
    pub system_date: Option<String>,
    /// Media model (`md`, EnCase 6+).
    pub model: Option<String>,
    /// Media serial number (`sn`, EnCase 6+).
    pub serial_number: Option<String>,
}

/// What an EWF image says about itself.
#[derive(Debug, Clone, Default)]
pub struct EwfInfo {
    /// `EWF-E01` or `EWF-S01`.
    pub format: &'static str,
    /// The segment files, in order.
    pub segments: Vec<PathBuf>,
    /// Bytes per sector.
    pub bytes_per_sector: u32,
    /// Sectors per chunk.
    pub sectors_per_chunk: u32,
    /// Number of sectors of the media.
    pub sector_count: u64,
    /// Chunks the volume section announces.
    pub chunk_count: u32,
    /// Segment file set identifier (volume section, EnCase 5+), hex; `None` when zero.
    pub set_identifier: Option<String>,
    /// The digests stored at acquisition.
    pub stored: StoredDigests,
    /// Case metadata.
    pub case: CaseInfo,
    /// Sector ranges (start, count) the acquisition could not read (`error2`): zero-filled
    /// in the image.
    pub acquisition_errors: Vec<(u64, u64)>,
    /// Inconsistencies that did not stop reading (a damaged `table` whose `table2` was
    /// used, a damaged `hash` section...).
    pub problems: Vec<String>,
}

/// One table's entries: the chunks `first_chunk..first_chunk + entries.len()`.
#[derive(Debug)]
struct Table {
    segment: usize,
    first_chunk: u64,
    /// Added to each entry's 31-bit offset (EnCase 6+; 0 before).
    base: u64,
    entries: Vec<u32>,
    /// Where this table's chunk data starts and ends in the segment file (the `sectors`
    /// section before it, or the table section itself for EnCase 1 / SMART).
    data_start: u64,
    data_end: u64,
}

#[derive(Debug)]
struct Segment {
    file: File,
    path: PathBuf,
}

/// An EWF image opened read-only.
#[derive(Debug)]
pub struct EwfImage {
    segments: Vec<Segment>,
    tables: Vec<Table>,
    chunk_size: u64,
    media_size: u64,
    info: EwfInfo,
    noatime: bool,
    cache: Mutex<Lru>,
}

/// Least-recently-used inflated chunks (small: a linear scan is cheaper than a map).
#[derive(Debug)]
struct Lru {
    capacity: usize,
    /// Most recent last.
    items: Vec<(u64, Arc<[u8]>)>,
}

impl Lru {
    fn get(&mut self, chunk: u64) -> Option<Arc<[u8]>> {
        let i = self.items.iter().position(|(c, _)| *c == chunk)?;
        let item = self.items.remove(i);
        let data = item.1.clone();
        self.items.push(item);
        Some(data)
    }

    fn put(&mut self, chunk: u64, data: Arc<[u8]>) {
        if self.items.iter().any(|(c, _)| *c == chunk) {
            return;
        }
        if self.items.len() >= self.capacity {
            self.items.remove(0);
        }
        self.items.push((chunk, data));
    }
}

fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap_or([0; 4]))
}
fn le64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap_or([0; 8]))
}

/// Adler-32 (RFC 1950), the checksum of every EWF structure and uncompressed chunk.
pub fn adler32(data: &[u8]) -> u32 {
    const MOD: u32 = 65_521;
    // The largest run of bytes whose sums cannot overflow u32 before the modulo.
    const NMAX: usize = 5552;
    let (mut a, mut b) = (1u32, 0u32);
    for block in data.chunks(NMAX) {
        for &byte in block {
            a += u32::from(byte);
            b += a;
        }
        a %= MOD;
        b %= MOD;
    }
    (b << 16) | a
}

/// The name of segment `n` (1-based) of the set whose first segment is `first`:
/// extension letter `L` (`E`, `s`...), then `L01`..`L99`, `LAA`..`LZZ`, then the letter
/// after `L` with `AA`..`ZZ`, up to `ZZZ`. `None` past the last name or for a first name
/// that does not end in `?01`.
pub fn segment_path(first: &Path, n: usize) -> Option<PathBuf> {
    let os_name = first.file_name()?;
    let name = os_name.as_encoded_bytes();
    if name.len() < 4 || name[name.len() - 4] != b'.' || &name[name.len() - 2..] != b"01" {
        return None;
    }
    let letter = name[name.len() - 3];
    if !letter.is_ascii_alphabetic() {
        return None;
    }
    let lower = letter.is_ascii_lowercase();
    let ext: [u8; 3] = if n == 0 {
        return None;
    } else if n <= 99 {
        [letter, b'0' + (n / 10) as u8, b'0' + (n % 10) as u8]
    } else {
        let m = n - 100;
        let first_letter = letter.to_ascii_uppercase() as usize + m / (26 * 26);
        if first_letter > b'Z' as usize {
            return None;
        }
        let mut e = [first_letter as u8, b'A' + ((m / 26) % 26) as u8, b'A' + (m % 26) as u8];
        if lower {
            e.iter_mut().for_each(|c| *c = c.to_ascii_lowercase());
        }
        e
    };
    let next = crate::pathbytes::replace_ascii_tail(os_name, name.len() - 3, &ext)?;
    Some(first.with_file_name(next))
}

/// A section descriptor read from a segment.
struct Section {
    kind: Vec<u8>,
    offset: u64,
    /// Where the section ends (its `next`, or offset + size for the last).
    end: u64,
}

impl EwfImage {
    /// Opens the EWF set whose first segment is `first` (its content must start with the
    /// EVF signature). `allow_atime_changes`: as [`super::SourceOptions::allow_atime_changes`].
    ///
    /// # Errors
    /// [`EwfError`]: a segment that cannot be opened, an unsupported format, a damaged
    /// structure, a missing segment.
    pub fn open(first: &Path, allow_atime_changes: bool) -> Result<EwfImage, EwfError> {
        let policy = AtimePolicy {
            allow_changes: allow_atime_changes,
            simulate_refusal: false,
            mount_override: None,
        };
        let mut image = EwfImage {
            segments: Vec::new(),
            tables: Vec::new(),
            chunk_size: 0,
            media_size: 0,
            info: EwfInfo { format: "EWF-E01", ..EwfInfo::default() },
            noatime: true,
            cache: Mutex::new(Lru { capacity: 2, items: Vec::new() }),
        };
        let mut state = OpenState::default();
        let mut path = first.to_path_buf();
        loop {
            let number = image.segments.len() + 1;
            let segment = open_segment(&path, policy)?;
            image.noatime &= segment.1;
            image.segments.push(Segment { file: segment.0, path: path.clone() });
            let ended = image.read_segment(number, &mut state)?;
            if ended {
                break;
            }
            let next = (image.segments.len() < MAX_SEGMENTS)
                .then(|| segment_path(first, number + 1))
                .flatten();
            match next {
                Some(p) if p.is_file() => path = p,
                Some(p) => {
                    return Err(EwfError::SegmentMissing { last: path, expected: p });
                }
                None => {
                    return Err(EwfError::Damaged {
                        path,
                        offset: 0,
                        what: "the segment ends with `next` but no further segment name \
                               follows from the first segment's name"
                            .to_string(),
                    });
                }
            }
        }
        image.finish(state)?;
        Ok(image)
    }

    /// What the image says about itself (format, geometry, stored digests, case data).
    pub fn info(&self) -> &EwfInfo {
        &self.info
    }

    /// The segment files, in order.
    pub fn paths(&self) -> Vec<&Path> {
        self.segments.iter().map(|s| s.path.as_path()).collect()
    }

    /// Whether every segment was opened so that reading leaves access times alone.
    pub fn noatime(&self) -> bool {
        self.noatime
    }

    /// Bytes of media per chunk (the last chunk may be shorter).
    pub fn chunk_size(&self) -> u64 {
        self.chunk_size
    }

    /// Number of chunks the media spans.
    pub fn chunk_count(&self) -> u64 {
        self.media_size.div_ceil(self.chunk_size.max(1))
    }

    fn damaged(&self, segment: usize, offset: u64, what: impl Into<String>) -> EwfError {
        EwfError::Damaged { path: self.segments[segment].path.clone(), offset, what: what.into() }
    }

    fn read_exact(&self, segment: usize, offset: u64, buf: &mut [u8]) -> Result<(), EwfError> {
        crate::openfile::read_exact_at(&self.segments[segment].file, buf, offset).map_err(|e| {
            if e.kind() == io::ErrorKind::UnexpectedEof {
                self.damaged(
                    segment,
                    offset,
                    format!("the file ends before {} bytes could be read (truncated)", buf.len()),
                )
            } else {
                EwfError::Io { path: self.segments[segment].path.clone(), source: e }
            }
        })
    }

    /// Reads a section's data (after its descriptor), at most `limit` bytes.
    fn section_data(&self, seg: usize, s: &Section, limit: u64) -> Result<Vec<u8>, EwfError> {
        let len = s.end.saturating_sub(s.offset + DESCRIPTOR_LEN);
        if len > limit {
            return Err(self.damaged(
                seg,
                s.offset,
                format!(
                    "{} section of {len} bytes (at most {limit} expected)",
                    String::from_utf8_lossy(&s.kind)
                ),
            ));
        }
        let mut buf = vec![0u8; len as usize];
        self.read_exact(seg, s.offset + DESCRIPTOR_LEN, &mut buf)?;
        Ok(buf)
    }

    /// Walks one segment's sections; true when it ends with `done`.
    fn read_segment(&mut self, number: usize, state: &mut OpenState) -> Result<bool, EwfError> {
        let seg = number - 1;
        let file_len = self.segments[seg]
            .file
            .metadata()
            .map_err(|e| EwfError::Io { path: self.segments[seg].path.clone(), source: e })?
            .len();
        let mut head = [0u8; FILE_HEADER_LEN as usize];
        self.read_exact(seg, 0, &mut head)?;
        let path = &self.segments[seg].path;
        for (sig, format) in [
            (EVF2_SIGNATURE, "EWF2 (Ex01, EnCase 7+ version 2 format)"),
            (LVF_SIGNATURE, "a logical evidence file (L01)"),
            (LEF2_SIGNATURE, "a logical evidence file (Lx01)"),
        ] {
            if head.starts_with(&sig) {
                return Err(EwfError::Unsupported { path: path.clone(), format });
            }
        }
        if !head.starts_with(&EVF_SIGNATURE) || head[8] != 1 {
            return Err(EwfError::NotEwf { path: path.clone() });
        }
        let found = le16(&head, 9);
        if usize::from(found) != number {
            return Err(EwfError::SegmentNumber { path: path.clone(), found, expected: number });
        }
        // The `sectors` section whose chunks the next table indexes, if any.
        let mut sectors: Option<(u64, u64)> = None;
        // A good `table` was read: skip its `table2` mirror.
        let mut table_ok = false;
        // The chunk data the last table indexed (its table2 mirror indexes the same).
        let mut table_range: Option<(u64, u64)> = None;
        let mut offset = FILE_HEADER_LEN;
        loop {
            let mut d = [0u8; DESCRIPTOR_LEN as usize];
            if offset + DESCRIPTOR_LEN > file_len {
                return Err(self.damaged(
                    seg,
                    offset,
                    format!(
                        "the file ends ({file_len} bytes) before the section descriptor at \
                         {offset} (truncated segment)"
                    ),
                ));
            }
            self.read_exact(seg, offset, &mut d)?;
            if adler32(&d[..72]) != le32(&d, 72) {
                return Err(self.damaged(
                    seg,
                    offset,
                    "section descriptor checksum (Adler-32) mismatch",
                ));
            }
            let kind: Vec<u8> = d[..16].iter().copied().take_while(|&b| b != 0).collect();
            let next = le64(&d, 16);
            let size = le64(&d, 24);
            let terminal = kind == b"done" || kind == b"next";
            if terminal {
                return Ok(kind == b"done");
            }
            // Every other section moves forward, stays in the file, and its size (when set;
            // very old writers leave 0) agrees with its next offset: following only one of
            // the two would let a crafted file show two different disks.
            if next <= offset || next > file_len {
                return Err(self.damaged(
                    seg,
                    offset,
                    format!(
                        "section `{}` points to the next section at {next}, outside \
                         {}..={file_len}",
                        String::from_utf8_lossy(&kind),
                        offset + 1
                    ),
                ));
            }
            if size != 0 && size != next - offset {
                return Err(self.damaged(
                    seg,
                    offset,
                    format!(
                        "section `{}` size {size} disagrees with its next offset {next} \
                         (size {} expected)",
                        String::from_utf8_lossy(&kind),
                        next - offset
                    ),
                ));
            }
            let s = Section { kind, offset, end: next };
            match s.kind.as_slice() {
                b"header2" | b"header" => self.read_header(seg, &s, state)?,
                b"volume" | b"disk" | b"data" => self.read_volume(seg, &s, state)?,
                b"sectors" => {
                    sectors = Some((s.offset + DESCRIPTOR_LEN, s.end));
                    table_ok = false;
                }
                b"table" => {
                    table_range = sectors.take();
                    table_ok = self.read_table(seg, &s, table_range, state)?;
                }
                // A good table was read: its table2 mirror is skipped. Else the table was
                // damaged and its mirror takes its place.
                b"table2" if !table_ok => {
                    if !self.read_table(seg, &s, table_range, state)? {
                        return Err(self.damaged(
                            seg,
                            s.offset,
                            "both the table and its table2 copy are damaged (checksum \
                             mismatch): the chunks they index cannot be located",
                        ));
                    }
                    self.info
                        .problems
                        .push(format!("{}: table damaged, table2 used", path_str(self, seg)));
                    table_ok = true;
                }
                b"hash" => self.read_hash(seg, &s)?,
                b"digest" => self.read_digest(seg, &s)?,
                b"xhash" => self.read_xhash(seg, &s)?,
                b"error2" => self.read_error2(seg, &s)?,
                _ => {}
            }
            offset = next;
        }
    }

    fn read_header(
        &mut self,
        seg: usize,
        s: &Section,
        state: &mut OpenState,
    ) -> Result<(), EwfError> {
        // header2 (UTF-16) wins over header (ASCII); the first of each kind is enough.
        let is2 = s.kind == b"header2";
        if state.header_from == Some(true) || (state.header_from == Some(false) && !is2) {
            return Ok(());
        }
        let data = self.section_data(seg, s, 16 << 20)?;
        let Some(text) = inflate_limited(&data, MAX_HEADER_TEXT) else {
            self.info.problems.push(format!(
                "{} section at {} of {} does not inflate: case metadata not read",
                String::from_utf8_lossy(&s.kind),
                s.offset,
                path_str(self, seg)
            ));
            return Ok(());
        };
        let text = if is2 { utf16_text(&text) } else { text.iter().map(|&b| b as char).collect() };
        self.info.case = parse_case(&text);
        state.header_from = Some(is2);
        Ok(())
    }

    fn read_volume(
        &mut self,
        seg: usize,
        s: &Section,
        state: &mut OpenState,
    ) -> Result<(), EwfError> {
        if state.volume.is_some() {
            return Ok(()); // `data` sections of later segments repeat it.
        }
        let data = self.section_data(seg, s, 1 << 20)?;
        let (smart, sum_at) = match data.len() {
            n if n >= 1052 => (false, 1048),
            n if n >= 94 => (true, 90),
            n => {
                return Err(self.damaged(seg, s.offset, format!("volume section of {n} bytes")));
            }
        };
        let stored = le32(&data, sum_at);
        // Some writers (Logicube) leave the checksum 0.
        if stored != 0 && adler32(&data[..sum_at]) != stored {
            return Err(self.damaged(seg, s.offset, "volume section checksum (Adler-32) mismatch"));
        }
        let chunk_count = le32(&data, 4);
        let sectors_per_chunk = le32(&data, 8);
        let bytes_per_sector = le32(&data, 12);
        let sector_count = if smart { u64::from(le32(&data, 16)) } else { le64(&data, 16) };
        let chunk_size = u64::from(sectors_per_chunk) * u64::from(bytes_per_sector);
        if sectors_per_chunk == 0 || bytes_per_sector == 0 || chunk_size > MAX_CHUNK_BYTES {
            return Err(self.damaged(
                seg,
                s.offset,
                format!(
                    "volume section: {sectors_per_chunk} sectors of {bytes_per_sector} bytes \
                     per chunk (1 to {MAX_CHUNK_BYTES} bytes supported)"
                ),
            ));
        }
        let Some(media_size) = sector_count.checked_mul(u64::from(bytes_per_sector)) else {
            return Err(self.damaged(seg, s.offset, "volume section: media size overflows"));
        };
        if !smart {
            let guid = &data[64..80];
            if guid.iter().any(|&b| b != 0) {
                self.info.set_identifier = Some(crate::hex::encode(guid));
            }
        }
        self.info.format = if smart { "EWF-S01" } else { "EWF-E01" };
        self.info.bytes_per_sector = bytes_per_sector;
        self.info.sectors_per_chunk = sectors_per_chunk;
        self.info.sector_count = sector_count;
        self.info.chunk_count = chunk_count;
        self.chunk_size = chunk_size;
        self.media_size = media_size;
        state.volume = Some(smart);
        Ok(())
    }

    /// Reads a table (or table2); false when its checksums fail.
    fn read_table(
        &mut self,
        seg: usize,
        s: &Section,
        sectors: Option<(u64, u64)>,
        state: &mut OpenState,
    ) -> Result<bool, EwfError> {
        let Some(smart) = state.volume else {
            return Err(self.damaged(seg, s.offset, "a table section before any volume section"));
        };
        let data_start = s.offset + DESCRIPTOR_LEN;
        let len = s.end - data_start;
        let mut head = [0u8; 24];
        if len < 24 {
            return Err(self.damaged(seg, s.offset, format!("table section of {len} bytes")));
        }
        self.read_exact(seg, data_start, &mut head)?;
        if adler32(&head[..20]) != le32(&head, 20) {
            return Ok(false);
        }
        let count = u64::from(le32(&head, 0));
        let base = le64(&head, 8);
        // The entries must lie inside the section: a forged count cannot make us allocate
        // more than the file holds.
        if 24 + count * 4 > len {
            return Err(self.damaged(
                seg,
                s.offset,
                format!("table of {count} entries does not fit its section of {len} bytes"),
            ));
        }
        let mut raw = vec![0u8; (count * 4) as usize];
        self.read_exact(seg, data_start + 24, &mut raw)?;
        let entries_end = data_start + 24 + count * 4;
        // EnCase 1+ writes an Adler-32 of the entries after them; the original EWF and
        // SMART put chunk data there instead.
        let has_footer = !smart;
        if has_footer {
            let mut footer = [0u8; 4];
            if entries_end + 4 > s.end {
                return Ok(false);
            }
            self.read_exact(seg, entries_end, &mut footer)?;
            if adler32(&raw) != u32::from_le_bytes(footer) {
                return Ok(false);
            }
        }
        let (chunk_start, chunk_end) = match sectors {
            Some(range) => range,
            // Chunks inside the table section itself (EnCase 1, SMART).
            None => (entries_end + if has_footer { 4 } else { 0 }, s.end),
        };
        let entries: Vec<u32> =
            raw.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        let first_chunk = state.next_chunk;
        state.next_chunk += count;
        self.tables.push(Table {
            segment: seg,
            first_chunk,
            base,
            entries,
            data_start: chunk_start,
            data_end: chunk_end,
        });
        Ok(true)
    }

    fn read_hash(&mut self, seg: usize, s: &Section) -> Result<(), EwfError> {
        let data = self.section_data(seg, s, 1 << 16)?;
        if data.len() < 36 || adler32(&data[..32]) != le32(&data, 32) {
            self.info.problems.push(format!(
                "hash section at {} of {} is damaged (checksum mismatch): stored MD5 not used",
                s.offset,
                path_str(self, seg)
            ));
            return Ok(());
        }
        let md5: [u8; 16] = data[..16].try_into().unwrap_or([0; 16]);
        if md5 != [0; 16] && self.info.stored.md5.is_none() {
            self.info.stored.md5 = Some(md5);
        }
        Ok(())
    }

    fn read_digest(&mut self, seg: usize, s: &Section) -> Result<(), EwfError> {
        let data = self.section_data(seg, s, 1 << 16)?;
        if data.len() < 80 || adler32(&data[..76]) != le32(&data, 76) {
            self.info.problems.push(format!(
                "digest section at {} of {} is damaged (checksum mismatch): stored MD5/SHA-1 \
                 not used",
                s.offset,
                path_str(self, seg)
            ));
            return Ok(());
        }
        let md5: [u8; 16] = data[..16].try_into().unwrap_or([0; 16]);
        let sha1: [u8; 20] = data[16..36].try_into().unwrap_or([0; 20]);
        // The digest section is the later, fuller record: it wins over `hash`.
        if md5 != [0; 16] {
            self.info.stored.md5 = Some(md5);
        }
        if sha1 != [0; 20] {
            self.info.stored.sha1 = Some(sha1);
        }
        Ok(())
    }

    /// EWF-X (`ewfacquire -f ewfx`): zlib-compressed XML with `<md5>` and `<sha1>`; used for
    /// a digest no checksummed section gave.
    fn read_xhash(&mut self, seg: usize, s: &Section) -> Result<(), EwfError> {
        let data = self.section_data(seg, s, 1 << 20)?;
        let Some(xml) = inflate_limited(&data, 1 << 20) else {
            self.info.problems.push(format!("xhash section at {} does not inflate", s.offset));
            return Ok(());
        };
        // Tag case varies between writers (`<MD5>` from ewfacquire).
        let xml = String::from_utf8_lossy(&xml).to_ascii_lowercase();
        let tag = |name: &str| -> Option<&str> {
            let open = format!("<{name}>");
            let start = xml.find(&open)? + open.len();
            let end = start + xml[start..].find('<')?;
            Some(xml[start..end].trim())
        };
        if self.info.stored.md5.is_none() {
            self.info.stored.md5 = tag("md5").and_then(|t| crate::hex::decode_fixed(t).ok());
        }
        if self.info.stored.sha1.is_none() {
            self.info.stored.sha1 = tag("sha1").and_then(|t| crate::hex::decode_fixed(t).ok());
        }
        Ok(())
    }

    fn read_error2(&mut self, seg: usize, s: &Section) -> Result<(), EwfError> {
        let data = self.section_data(seg, s, 16 << 20)?;
        if data.len() < 520 || adler32(&data[..516]) != le32(&data, 516) {
            self.info.problems.push(format!(
                "error2 section at {} is damaged: acquisition errors unknown",
                s.offset
            ));
            return Ok(());
        }
        let count = le32(&data, 0) as usize;
        let body = &data[520..];
        if count.saturating_mul(8) > body.len() {
            self.info.problems.push("error2 section: more entries than it holds".to_string());
            return Ok(());
        }
        self.info.acquisition_errors = body[..count * 8]
            .chunks_exact(8)
            .map(|e| (u64::from(le32(e, 0)), u64::from(le32(e, 4))))
            .collect();
        Ok(())
    }

    fn finish(&mut self, state: OpenState) -> Result<(), EwfError> {
        if state.volume.is_none() {
            return Err(self.damaged(0, 0, "no volume section: the media geometry is unknown"));
        }
        let needed = self.chunk_count();
        if state.next_chunk < needed {
            return Err(self.damaged(
                self.segments.len() - 1,
                0,
                format!(
                    "the volume section describes {} bytes ({needed} chunks) but the tables \
                     index only {} chunks",
                    self.media_size, state.next_chunk
                ),
            ));
        }
        if u64::from(self.info.chunk_count) != needed {
            self.info.problems.push(format!(
                "the volume section announces {} chunks, the media size {needed}",
                self.info.chunk_count
            ));
        }
        self.info.segments = self.segments.iter().map(|s| s.path.clone()).collect();
        let capacity = (CACHE_BYTES / self.chunk_size).clamp(2, 256) as usize;
        self.cache = Mutex::new(Lru { capacity, items: Vec::with_capacity(capacity) });
        Ok(())
    }

    /// The inflated, checked bytes of chunk `index` (the last chunk may be shorter), read
    /// from the segment without the cache.
    ///
    /// # Errors
    /// [`ChunkError`] (as an [`io::Error`]), or the system's error reading the segment.
    pub fn read_chunk(&self, index: u64) -> io::Result<Vec<u8>> {
        let media_start = index.saturating_mul(self.chunk_size);
        let media_end = media_start.saturating_add(self.chunk_size).min(self.media_size);
        let want = media_end.saturating_sub(media_start) as usize;
        let t = self.tables.partition_point(|t| t.first_chunk <= index).saturating_sub(1);
        let fail = |segment: usize, file_offset: u64, what: String| ChunkError {
            chunk: index,
            media_start,
            media_end,
            segment: self.segments[segment].path.clone(),
            file_offset,
            what,
        };
        let Some(table) =
            self.tables.get(t).filter(|t| index - t.first_chunk < t.entries.len() as u64)
        else {
            return Err(fail(0, 0, "no table entry indexes it".to_string()).into());
        };
        if index >= self.chunk_count() {
            return Err(fail(table.segment, 0, "past the end of the media".to_string()).into());
        }
        let i = (index - table.first_chunk) as usize;
        let entry = table.entries[i];
        let compressed = entry & 0x8000_0000 != 0;
        let start = table.base + u64::from(entry & 0x7fff_ffff);
        // A chunk ends where the next one starts, the last at the end of its data.
        let end = match table.entries.get(i + 1) {
            Some(&n) => table.base + u64::from(n & 0x7fff_ffff),
            None => table.data_end,
        };
        if start < table.data_start || end > table.data_end || end <= start {
            return Err(fail(
                table.segment,
                start,
                format!(
                    "its table entry points to {start}..{end}, outside the chunk data \
                     {}..{} of its segment",
                    table.data_start, table.data_end
                ),
            )
            .into());
        }
        let stored_len = end - start;
        // Deflate never grows data by more than a few bytes per 16 KiB block; anything much
        // larger than a chunk is a forged entry, not a chunk.
        let max_stored = self.chunk_size + self.chunk_size / 64 + 1024;
        let read_len = if compressed { stored_len.min(max_stored) } else { want as u64 + 4 };
        if !compressed && stored_len < read_len {
            return Err(fail(
                table.segment,
                start,
                format!("uncompressed chunk of {stored_len} bytes, {read_len} expected"),
            )
            .into());
        }
        let mut stored = vec![0u8; read_len as usize];
        let segment = &self.segments[table.segment];
        crate::openfile::read_exact_at(&segment.file, &mut stored, start).map_err(|e| {
            if e.kind() == io::ErrorKind::UnexpectedEof {
                io::Error::from(fail(
                    table.segment,
                    start,
                    "the segment file ends inside the chunk (truncated)".to_string(),
                ))
            } else {
                io::Error::new(
                    e.kind(),
                    format!(
                        "reading EWF chunk {index} (media bytes {media_start}..{media_end}) \
                         from {}: {e}",
                        segment.path.display()
                    ),
                )
            }
        })?;
        if compressed {
            inflate_chunk(&stored, want).map_err(|what| fail(table.segment, start, what).into())
        } else {
            let sum = le32(&stored, want);
            stored.truncate(want);
            if adler32(&stored) != sum {
                return Err(fail(
                    table.segment,
                    start,
                    "checksum (Adler-32) mismatch in an uncompressed chunk".to_string(),
                )
                .into());
            }
            Ok(stored)
        }
    }

    fn cached_chunk(&self, index: u64) -> io::Result<Arc<[u8]>> {
        if let Some(hit) = self.cache.lock().unwrap_or_else(|p| p.into_inner()).get(index) {
            return Ok(hit);
        }
        // Read and inflate outside the lock: other threads go on reading their chunks.
        let data: Arc<[u8]> = self.read_chunk(index)?.into();
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).put(index, data.clone());
        Ok(data)
    }
}

fn path_str(image: &EwfImage, seg: usize) -> String {
    image.segments[seg].path.display().to_string()
}

#[derive(Default)]
struct OpenState {
    /// Some(smart) once the volume section was read.
    volume: Option<bool>,
    /// Some(from header2) once case data was read.
    header_from: Option<bool>,
    next_chunk: u64,
}

fn open_segment(path: &Path, policy: AtimePolicy) -> Result<(File, bool), EwfError> {
    let c = sys::name(path.as_os_str())
        .map_err(|e| EwfError::Io { path: path.to_path_buf(), source: e })?;
    let (fd, quiet) =
        sys::open_at(None, &c, OpenFor::Reading, true, policy).map_err(|e| match e {
            OpenError::AtimeWouldChange => EwfError::AtimeWouldChange { path: path.to_path_buf() },
            OpenError::Io(e) => EwfError::Io { path: path.to_path_buf(), source: e },
        })?;
    Ok((File::from(fd), quiet))
}

/// Inflates a zlib stream into at most `limit` bytes; `None` when it is damaged or larger.
fn inflate_limited(data: &[u8], limit: usize) -> Option<Vec<u8>> {
    let mut z = flate2::Decompress::new(true);
    let mut out = Vec::with_capacity(limit.min(64 << 10));
    loop {
        if out.len() == out.capacity() {
            if out.len() >= limit {
                return None;
            }
            out.reserve((out.len()).clamp(4096, limit - out.len()));
        }
        let before = (z.total_in(), z.total_out());
        let status = z
            .decompress_vec(&data[z.total_in() as usize..], &mut out, flate2::FlushDecompress::None)
            .ok()?;
        if status == flate2::Status::StreamEnd {
            return Some(out);
        }
        if (z.total_in(), z.total_out()) == before && out.len() < out.capacity() {
            return None; // no progress: truncated stream
        }
    }
}

/// Inflates a compressed chunk that must give exactly `want` bytes, checking the zlib
/// trailer's Adler-32 ourselves (not left to the inflater's settings).
fn inflate_chunk(stored: &[u8], want: usize) -> Result<Vec<u8>, String> {
    let mut z = flate2::Decompress::new(true);
    // One byte of room past the chunk: a stream that fills it is too long.
    let mut out = Vec::with_capacity(want + 1);
    let status = z
        .decompress_vec(stored, &mut out, flate2::FlushDecompress::Finish)
        .map_err(|e| format!("zlib data damaged ({e})"))?;
    if status != flate2::Status::StreamEnd {
        return Err(if out.len() > want {
            format!("inflates to more than the chunk's {want} bytes")
        } else {
            format!("zlib stream ends early ({} of {want} bytes)", out.len())
        });
    }
    if out.len() != want {
        return Err(format!("inflates to {} bytes, {want} expected", out.len()));
    }
    let used = z.total_in() as usize;
    let trailer = stored.get(used.saturating_sub(4)..used).unwrap_or(&[]);
    if used < 6 || u32::from_be_bytes(trailer.try_into().unwrap_or([0; 4])) != adler32(&out) {
        return Err("checksum (Adler-32) mismatch in a compressed chunk".to_string());
    }
    Ok(out)
}

/// UTF-16 text with an optional byte-order mark (little-endian without one).
fn utf16_text(b: &[u8]) -> String {
    let (be, body) = match b {
        [0xfe, 0xff, rest @ ..] => (true, rest),
        [0xff, 0xfe, rest @ ..] => (false, rest),
        rest => (false, rest),
    };
    let units = body.chunks_exact(2).map(|c| {
        if be { u16::from_be_bytes([c[0], c[1]]) } else { u16::from_le_bytes([c[0], c[1]]) }
    });
    char::decode_utf16(units).map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER)).collect()
}

/// The `main` category of a header text: a line of tab-separated keys, then a line of
/// values.
fn parse_case(text: &str) -> CaseInfo {
    let lines: Vec<&str> = text.split('\n').map(|l| l.trim_end_matches('\r')).collect();
    let mut info = CaseInfo::default();
    let Some(main) = lines.iter().position(|l| *l == "main") else { return info };
    let (Some(keys), Some(values)) = (lines.get(main + 1), lines.get(main + 2)) else {
        return info;
    };
    for (key, value) in keys.split('\t').zip(values.split('\t')) {
        let value = Some(value.to_string()).filter(|v| !v.is_empty());
        let slot = match key {
            "c" => &mut info.case_number,
            "n" => &mut info.evidence_number,
            "a" => &mut info.description,
            "e" => &mut info.examiner,
            "t" => &mut info.notes,
            "av" => &mut info.software_version,
            "ov" => &mut info.platform,
            "m" => &mut info.acquisition_date,
            "u" => &mut info.system_date,
            "md" => &mut info.model,
            "sn" => &mut info.serial_number,
            _ => continue,
        };
        *slot = value;
    }
    info
}

impl DiskImage for EwfImage {
    fn len(&self) -> u64 {
        self.media_size
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        if offset >= self.media_size || buf.is_empty() {
            return Ok(0);
        }
        let index = offset / self.chunk_size;
        let within = (offset % self.chunk_size) as usize;
        let chunk = self.cached_chunk(index)?;
        let n = chunk.len().saturating_sub(within).min(buf.len());
        buf[..n].copy_from_slice(&chunk[within..within + n]);
        Ok(n)
    }

    fn container(&self) -> String {
        let name = if self.info.format == "EWF-S01" { "ewf-s01" } else { "ewf" };
        match self.segments.len() {
            1 => name.to_string(),
            n => format!("{name} ({n} segments)"),
        }
    }

    fn stored_digests(&self) -> StoredDigests {
        self.info.stored
    }

    fn metadata(&self) -> Vec<(&'static str, String)> {
        let i = &self.info;
        let c = &i.case;
        let mut out = vec![("format", i.format.to_string())];
        for (name, value) in [
            ("case_number", &c.case_number),
            ("evidence_number", &c.evidence_number),
            ("description", &c.description),
            ("examiner", &c.examiner),
            ("notes", &c.notes),
            ("acquisition_software", &c.software_version),
            ("acquisition_platform", &c.platform),
            ("acquisition_date", &c.acquisition_date),
            ("system_date", &c.system_date),
            ("model", &c.model),
            ("serial_number", &c.serial_number),
            ("set_identifier", &i.set_identifier),
        ] {
            if let Some(v) = value {
                out.push((name, v.clone()));
            }
        }
        out.push(("bytes_per_sector", i.bytes_per_sector.to_string()));
        out.push(("sectors_per_chunk", i.sectors_per_chunk.to_string()));
        if !i.acquisition_errors.is_empty() {
            let ranges: Vec<String> =
                i.acquisition_errors.iter().map(|(s, n)| format!("{s}+{n}")).collect();
            out.push(("acquisition_error_sectors", ranges.join(" ")));
        }
        for p in i.problems.iter().take(10) {
            out.push(("problem", p.clone()));
        }
        out
    }

    fn for_each_block(&self, f: &mut BlockVisitor<'_>) {
        for index in 0..self.chunk_count() {
            let start = index * self.chunk_size;
            let len = self.chunk_size.min(self.media_size - start);
            let keep_going = match self.read_chunk(index) {
                Ok(data) => f(start, len, Ok(&data)),
                Err(e) => f(start, len, Err(e)),
            };
            if !keep_going {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adler32_matches_known_values() {
        assert_eq!(adler32(b""), 1);
        assert_eq!(adler32(b"Wikipedia"), 0x11e6_0398);
        let big = vec![0xffu8; 100_000];
        // Reference: zlib's adler32 of 100000 bytes of 0xff.
        let (mut a, mut b) = (1u64, 0u64);
        for &x in &big {
            a = (a + u64::from(x)) % 65521;
            b = (b + a) % 65521;
        }
        assert_eq!(adler32(&big), ((b << 16) | a) as u32);
    }

    #[test]
    fn segment_names_count_as_encase_does() {
        let name = |first: &str, n| {
            segment_path(Path::new(first), n).map(|p| p.to_string_lossy().into_owned())
        };
        let in_d = Path::new("d").join("case.E02").to_string_lossy().into_owned();
        assert_eq!(name(&Path::new("d").join("case.E01").to_string_lossy(), 2), Some(in_d));
        assert_eq!(name("case.E01", 99).as_deref(), Some("case.E99"));
        assert_eq!(name("case.E01", 100).as_deref(), Some("case.EAA"));
        assert_eq!(name("case.E01", 101).as_deref(), Some("case.EAB"));
        assert_eq!(name("case.E01", 100 + 26).as_deref(), Some("case.EBA"));
        assert_eq!(name("case.E01", 100 + 676).as_deref(), Some("case.FAA"));
        assert_eq!(name("case.e01", 100).as_deref(), Some("case.eaa"));
        assert_eq!(name("case.s01", 3).as_deref(), Some("case.s03"));
        assert_eq!(name("case.E01", 100 + 676 * 22 - 1).as_deref(), Some("case.ZZZ"));
        assert_eq!(name("case.E01", 100 + 676 * 22), None);
        assert_eq!(name("case.E02", 3), None);
        assert_eq!(name("case.img", 2), None);
    }

    #[test]
    fn case_metadata_from_header_text() {
        let text = "1\nmain\nc\tn\ta\te\tt\tav\tov\tm\tu\tp\nC-7\tEV1\tdesc\tJane\tnotes\t\
                    20140813\tLinux\t1764881740\t1764881740\t0\n\n";
        let c = parse_case(text);
        assert_eq!(c.case_number.as_deref(), Some("C-7"));
        assert_eq!(c.examiner.as_deref(), Some("Jane"));
        assert_eq!(c.platform.as_deref(), Some("Linux"));
        assert_eq!(parse_case("garbage"), CaseInfo::default());
    }

    #[test]
    fn damaged_chunks_are_refused() {
        use std::io::Write;
        let data: Vec<u8> = (0..4096u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        z.write_all(&data).unwrap();
        let mut stored = z.finish().unwrap();
        assert_eq!(inflate_chunk(&stored, 4096).unwrap(), data);
        assert!(inflate_chunk(&stored, 4000).is_err(), "longer than the chunk");
        assert!(inflate_chunk(&stored, 5000).is_err(), "shorter than the chunk");
        assert!(inflate_chunk(&stored[..stored.len() - 6], 4096).is_err(), "truncated");
        let last = stored.len() - 1;
        stored[last] ^= 1;
        assert!(inflate_chunk(&stored, 4096).is_err(), "trailer");
        assert!(inflate_chunk(&[0x78, 0x9c, 0xff, 0xff], 10).is_err());
    }
}
