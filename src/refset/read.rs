//! The `.mhset` reader: [`RefSet`], generic over its bytes (`Vec<u8>` in tests and for sets
//! built in memory, a read-only memory map for files).
//!
//! Opening is O(1) in the number of entries: it checks the magic, version, length, trailer
//! marker and every section's offset, length and count (with overflow-checked arithmetic),
//! and parses the small provenance blob. It does **not** hash the file: [`RefSet::verify`]
//! does that (O(n)) together with sortedness and range checks on every cross-reference.
//! A file that opens but fails `verify` cannot make the reader panic or read out of bounds:
//! every access is bounds-checked and a bad reference becomes a [`RefsetError`].
//!
//! # Opening a file: copy or map
//!
//! The reader hands out `&[u8]` borrows of its bytes for as long as it lives. If those bytes
//! were the file's own pages (a shared file map), another process could change them behind
//! the borrow, and truncating the file would make the next access raise SIGBUS, killing the
//! process; through the C ABI that process is the examiner's forensic suite. A safe function
//! must not allow that, so there are two ways to open a file:
//!
//! * [`RefSet::open`] (safe, the default everywhere: `mh`, the scan, `mh_refset_open`) reads
//!   the file sequentially into a private anonymous map and makes it read-only. Nothing done
//!   to the file afterwards can reach it. It costs one read of the file and memory equal to
//!   its size (measured: a 1.05 GB set of 10^7 NSRL-like records takes 0.55 s of CPU to open
//!   from the page cache; see docs/mhset-format.md); sets larger than half the physical
//!   memory are refused with a message that names the mapped alternative, rather than
//!   driving the machine out of memory.
//! * [`RefSet::open_mapped`] (`unsafe`, explicit opt-in: `mh scan --map-refsets`,
//!   `mh_refset_open_mapped`) maps the file itself: instant and shared with the page cache,
//!   for sets too large to copy, under the contract that the file is neither truncated nor
//!   modified while it is open. mediahash's builder never breaks it (it writes a temporary
//!   file and renames it over the old one, which leaves open maps on the old inode).
//!
//! The alternatives considered: reading the cold tables with `pread` would keep the hot
//! prefix tables small but puts a system call in every lookup and every search candidate's
//! membership decode, and still needs the values section (the bulk of the file) in memory
//! for radius search; a size threshold that silently switches to mapping would make the
//! safe function unsound exactly for the largest sets. Both share one type,
//! [`MappedRefSet`], so the choice is made at open time only.

use super::format::{
    self, HEADER_LEN, Header, MAGIC, MIN_FILE_LEN, MetaRef, SECTION_ENTRY_LEN, SectionEntry,
    TRAILER_LEN, kind, le_u32, le_u64,
};
use super::{Disposition, HashKind, SourceInfo};
use serde::{Deserialize, Serialize};
use std::ops::Range;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Why a reference set could not be opened, verified or read.
///
/// Every variant's message says what the caller should do (copy the file again, rebuild it,
/// upgrade mediahash, open it mapped). "Damaged" variants come from a file that is not what
/// the builder wrote; a set that gives one must not be used for matching.
#[derive(Debug, Error)]
pub enum RefsetError {
    /// [`RefSet::verify_with_progress`] was stopped by its progress callback.
    #[error("verification stopped before the end (the set was not checked)")]
    Stopped,
    /// The file could not be opened, measured, read or mapped.
    #[error("cannot read reference set {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// Shorter than the smallest valid set (header, section table and trailer).
    #[error(
        "not a .mhset reference set: the file is {len} bytes, shorter than the {min}-byte \
         minimum (empty or truncated: copy it again or rebuild it)"
    )]
    TooShort {
        /// The length in bytes.
        len: u64,
        /// The minimum length of a `.mhset` file.
        min: u64,
    },
    /// The file does not start with the `.mhset` magic bytes.
    #[error("not a .mhset reference set (wrong magic bytes){hint}")]
    BadMagic {
        /// What probably happened, with a leading `": "`: line endings converted by a
        /// text-mode transfer, a damaged header, or not a set at all.
        hint: &'static str,
    },
    /// A set written by a newer mediahash, in a format version this one cannot read.
    #[error(
        "this reference set uses .mhset format version {found}, but mediahash {tool} reads \
         only version {supported}: upgrade mediahash to open it"
    )]
    NewerVersion {
        /// The file's format version.
        found: u32,
        /// The version this library reads.
        supported: u32,
        /// This library's version ([`crate::VERSION`]).
        tool: &'static str,
    },
    /// Format version 0, which no mediahash writes.
    #[error("invalid .mhset format version {found}: the file is damaged; rebuild it")]
    BadVersion {
        /// The file's format version.
        found: u32,
    },
    /// The length recorded in the header is not the file's length.
    #[error(
        "reference set length is wrong: the header says {expected} bytes but the file has \
         {actual} (truncated or appended to): copy it again from its source or rebuild it"
    )]
    LengthMismatch {
        /// Bytes the header states.
        expected: u64,
        /// Bytes present.
        actual: u64,
    },
    /// A section-table entry points outside the file's data area.
    #[error(
        "damaged reference set: section {section} (offset {offset}, length {length}) does not \
         fit in the data area ending at {limit}; copy it again or rebuild it"
    )]
    SectionOutOfBounds {
        /// The section's name.
        section: String,
        /// Its offset in bytes from the start of the file.
        offset: u64,
        /// Its length in bytes.
        length: u64,
        /// The end of the data area (where the trailer starts).
        limit: u64,
    },
    /// Any other inconsistency in the file's structure (sizes, counts, overlaps, tables).
    #[error("damaged reference set: {what}; copy it again or rebuild it")]
    Corrupt {
        /// What is inconsistent.
        what: String,
    },
    /// A stored reference (entry id, record, list, source) is past the end of what it refers
    /// to; also given by [`RefSet::membership`] and [`RefSet::memberships`] for an argument
    /// out of range.
    #[error(
        "damaged reference set: {what} {index} refers to {value}, but only {limit} exist; \
         copy it again or rebuild it"
    )]
    ReferenceOutOfRange {
        /// What holds the reference ("entry", "record", "list", "entry id", ...).
        what: &'static str,
        /// Which one of them.
        index: u64,
        /// The value referred to.
        value: u64,
        /// How many exist.
        limit: u64,
    },
    /// A hash section is not strictly ascending ([`RefSet::verify`] only), so binary search
    /// could miss values.
    #[error("damaged reference set: {section} is not strictly ascending at index {index}")]
    NotSorted {
        /// The section's name.
        section: String,
        /// The first value out of order.
        index: u64,
    },
    /// A record's metadata cannot be decoded.
    #[error("damaged reference set: record {record}: {reason}; copy it again or rebuild it")]
    BadRecordData {
        /// The record's number.
        record: u64,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The provenance (the JSON naming sets and sources) cannot be parsed or is
    /// inconsistent (a set naming a missing source, a source in two sets).
    #[error("damaged reference set: provenance is unreadable ({reason}); rebuild it")]
    Provenance {
        /// What is wrong with it.
        reason: String,
    },
    /// The BLAKE3 checksum in the trailer does not match the content ([`RefSet::verify`]
    /// only): the file changed after it was built.
    #[error(
        "reference set checksum mismatch (stored {stored}, computed {computed}): the file was \
         changed or damaged after it was built; copy it again or rebuild it"
    )]
    ChecksumMismatch {
        /// The checksum in the trailer, hex.
        stored: String,
        /// The checksum of the content, hex.
        computed: String,
    },
    /// The caller asked for something that cannot be (e.g. a 64-bit search of a kind that is
    /// not a 64-bit hash); a bug in the caller, not a damaged file.
    #[error("invalid argument: {what}")]
    InvalidArgument {
        /// What was wrong.
        what: String,
    },
    /// [`RefSet::open`] reached the end of the file before the size it had when opened: the
    /// file was being written, truncated or copied.
    #[error(
        "reference set {path} changed while it was being read (it ended after {read} of \
         {expected} bytes): another program is writing, truncating or copying it; wait until \
         it has finished, then open it again"
    )]
    ChangedWhileReading {
        /// The file.
        path: PathBuf,
        /// Its size when opened.
        expected: u64,
        /// Bytes read before it ended.
        read: u64,
    },
    /// [`RefSet::open`] refuses to copy a set larger than half the physical memory; use
    /// [`RefSet::open_mapped`] under its contract.
    #[error(
        "reference set {path} is {len} bytes, more than the {limit} bytes a private copy may \
         use on this machine (half its physical memory): open it mapped instead (`mh scan \
         --map-refsets`, `RefSet::open_mapped`, `mh_refset_open_mapped`) and do not modify \
         or replace the file in place while it is open"
    )]
    TooLargeToCopy {
        /// The file.
        path: PathBuf,
        /// Its size in bytes.
        len: u64,
        /// The most a private copy may use here, in bytes.
        limit: u64,
    },
}

fn corrupt(what: impl Into<String>) -> RefsetError {
    RefsetError::Corrupt { what: what.into() }
}

/// A set as the examiner sees it: a name and what to do on a match. Several sources can
/// feed one set (e.g. the four NSRL RDS sets into "NSRL").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetInfo {
    /// The name shown in matches (unique within the file).
    pub name: String,
    /// What a match in this set means.
    pub disposition: Disposition,
    /// Indexes into [`Provenance::sources`].
    pub sources: Vec<u32>,
}

/// The provenance section (JSON): what was built, by what, from what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    /// The `.mhset` format version the builder wrote (also in the header).
    pub format_version: u32,
    /// `mediahash <version>` of the builder.
    pub tool: String,
    /// Seconds since the Unix epoch (UTC). The only field that differs between two builds
    /// of the same inputs unless `BuildOptions::build_time` fixes it.
    pub build_time_unix: u64,
    /// The sets; a set's index here is its `set_id` in [`Membership`].
    pub sets: Vec<SetInfo>,
    /// The imported source files, in the order they were added; a source's index here is
    /// its `source_id` in [`Membership`].
    pub sources: Vec<SourceInfo>,
}

/// Identifies the memberships of a hash value: below the record count it is a single record;
/// from there on a multi-member list (`entry - records`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct EntryId(pub u32);

/// Number of values of one kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KindCount {
    /// The kind.
    pub kind: HashKind,
    /// Distinct values of that kind in the set.
    pub count: u64,
}

/// Summary of a reference set for `mh refset info` and reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefSetInfo {
    /// The `.mhset` format version of the file.
    pub format_version: u32,
    /// The file's length in bytes.
    pub file_len: u64,
    /// `mediahash <version>` of the builder.
    pub tool: String,
    /// Build time, seconds since the Unix epoch (UTC).
    pub build_time_unix: u64,
    /// Distinct (source, metadata) records.
    pub records: u64,
    /// Entries shared by several records.
    pub multi_member_entries: u64,
    /// Distinct values per kind, for the kinds present.
    pub counts: Vec<KindCount>,
    /// As [`Provenance::sets`].
    pub sets: Vec<SetInfo>,
    /// As [`Provenance::sources`].
    pub sources: Vec<SourceInfo>,
}

/// One membership of an entry: a record (source + metadata) and the set it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Membership<'a> {
    /// The record's number, 0-based, below [`RefSet::record_count`].
    pub record: u32,
    /// Index of the set in [`Provenance::sets`].
    pub set_id: u32,
    /// The set: its name and disposition.
    pub set: &'a SetInfo,
    /// Index of the source in [`Provenance::sources`].
    pub source_id: u32,
    /// The source file the record came from.
    pub source: &'a SourceInfo,
    /// What the source said about the file (category, file name...), borrowed from the set.
    pub meta: MetaRef<'a>,
}

/// Section ranges of one hash kind.
#[derive(Debug, Clone)]
pub(crate) struct KindSections {
    pub count: u64,
    pub values: Range<usize>,
    pub entries: Range<usize>,
    pub prefix: Range<usize>,
    pub prefix_bits: u32,
    pub quality: Option<Range<usize>>,
    /// PDQ multi-index: (ids, bucket offsets), when built.
    pub mih: Option<(Range<usize>, Range<usize>)>,
    /// Tuned PDQ multi-index, when built (preferred over `mih`).
    pub tuned: Option<Tuned>,
}

/// A tuned PDQ multi-index as checked at open: table i's key is bits
/// `starts[i] .. starts[i] + widths[i]` of a hash; its directory is `2^widths[i] + 1` u32
/// starting at u32 index `dirs[i]` of `offsets`; its ids are u32 `i·n .. (i+1)·n` of `ids`.
#[derive(Debug, Clone)]
pub(crate) struct Tuned {
    pub widths: Vec<u32>,
    pub starts: Vec<u32>,
    pub dirs: Vec<usize>,
    pub ids: Range<usize>,
    pub offsets: Range<usize>,
    /// Derived at the first search, not stored: see [`super::search::CompactDir`].
    pub compact: std::sync::Arc<std::sync::OnceLock<Option<super::search::CompactDir>>>,
    /// Probing plans by radius (0-256), computed once each.
    pub plans: std::sync::Arc<[std::sync::OnceLock<Option<format::TunedPlan>>]>,
}

/// A reference set over bytes `B` (`Vec<u8>`, `&[u8]`, `memmap2::Mmap`). `B::as_ref` must
/// return the same bytes on every call (all standard containers do).
pub struct RefSet<B: AsRef<[u8]>> {
    bytes: B,
    header: Header,
    sections: Vec<SectionEntry>,
    provenance: Provenance,
    /// Set of each source (validated at open).
    source_set: Vec<u32>,
    records: u64,
    lists: u64,
    record_offsets: Range<usize>,
    record_data: Range<usize>,
    list_offsets: Range<usize>,
    list_members: Range<usize>,
    pub(crate) kinds: [Option<KindSections>; 8],
    /// PDQ windows of pictures (robust matching), when the set has them.
    pub(crate) windows: Option<Range<usize>>,
    /// vPDQ frames of known videos, when the set has them.
    pub(crate) video_frames: Option<Range<usize>>,
}

/// A reference set opened from a file. Its bytes live in a read-only memory map: either a
/// private anonymous copy of the file ([`RefSet::open`], safe) or the file's own pages
/// ([`RefSet::open_mapped`], `unsafe`). Both give the same reader; only what can go wrong
/// while it lives differs (see the [module documentation](self)).
pub type MappedRefSet = RefSet<memmap2::Mmap>;

impl RefSet<memmap2::Mmap> {
    /// Reads `path` into private memory and opens it (checking its structure, not its
    /// checksum: see [`RefSet::verify`]).
    ///
    /// Safe whatever other processes do to the file: the bytes are copied with `read(2)`
    /// into an anonymous map that is then made read-only, so truncating or rewriting the
    /// file afterwards cannot change them or fault (SIGBUS). A file that shrinks while it is
    /// being read is [`RefsetError::ChangedWhileReading`]. The copy costs one sequential read
    /// of the file (about 0.5 s of CPU per GB from the page cache) and memory equal to its size;
    /// a set larger than half the machine's physical memory is refused with
    /// [`RefsetError::TooLargeToCopy`], whose message points to [`RefSet::open_mapped`].
    ///
    /// ```
    /// use mediahash::refset::{
    ///     build::Builder, BuildOptions, Disposition, EntryMeta, HashValue, Record, RefSet,
    ///     SourceInfo,
    /// };
    ///
    /// // Build a one-record set to a file (normally `import::import_into` feeds the builder).
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("demo.mhset");
    /// let mut builder = Builder::new(BuildOptions::default())?;
    /// let source = builder.add_source(SourceInfo {
    ///     name: "by hand".into(),
    ///     format: "hash-list".into(),
    ///     sha256: String::new(),
    ///     disposition: Disposition::Ignore,
    ///     set_name: "harmless".into(),
    ///     records: 0,
    ///     bad_records: 0,
    ///     empty_file_records_skipped: 0,
    ///     source_version: None,
    /// })?;
    /// let md5 = mediahash::digest::digest_bytes(b"hello\n", Default::default()).md5;
    /// let meta = EntryMeta { note: Some("greeting".into()), ..EntryMeta::default() };
    /// builder.add(source, Record { hashes: vec![HashValue::Md5(md5)], meta })?;
    /// builder.finish(&path)?;
    ///
    /// let set = RefSet::open(&path)?;
    /// set.verify()?; // the O(n) checksum and structure check, once per file
    /// let found = set.lookup_md5(&md5)?;
    /// assert_eq!(found.len(), 1);
    /// assert_eq!(found[0].set_name(), "harmless");
    /// assert_eq!(found[0].membership.meta.note, Some("greeting"));
    /// assert!(set.lookup_md5(&[0; 16])?.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<Self, RefsetError> {
        let path = path.as_ref();
        let copy = read_private(path, crate::sysinfo::physical_memory().map(|m| m / 2))?;
        Self::from_bytes(copy)
    }

    /// Maps `path` read-only and opens it: no copy, pages are read on demand and shared with
    /// the page cache, so opening is instant and a set larger than memory can be used.
    ///
    /// # Safety
    ///
    /// The file must not be truncated or modified, by this or any other process, while the
    /// returned set (or anything borrowed from it) lives. The reader hands out `&[u8]` into
    /// the map; a write to the file changes those bytes behind Rust's back (undefined
    /// behaviour, and structure validated at open may no longer hold), and truncation makes
    /// any access to the lost pages raise SIGBUS, which kills the process.
    ///
    /// mediahash's own [`Builder::finish`](super::build::Builder::finish) keeps this
    /// contract for the sets it replaces: it writes a temporary file beside the destination
    /// and renames it over the old one, never truncating or rewriting a file in place, so an
    /// open map keeps the old inode. Other tools (`cp` over the file, an editor, a sync
    /// client, a copy still in progress) may not: use [`RefSet::open`] unless the files are
    /// under the caller's control.
    pub unsafe fn open_mapped(path: impl AsRef<Path>) -> Result<Self, RefsetError> {
        let path = path.as_ref();
        let io_err = |source| RefsetError::Io { path: path.to_path_buf(), source };
        // A directory, FIFO or device is refused by name before anything is read or mapped.
        let file = crate::openfile::open_regular(path, 0).map_err(io_err)?;
        // SAFETY: the map is read-only, so Rust never writes through it. Holding `&[u8]`
        // into it is sound only while no one modifies or truncates the file: that is this
        // function's documented precondition, passed on to the caller. Every read is
        // bounds-checked against the length captured here.
        let map = unsafe { memmap2::MmapOptions::new().map(&file) }.map_err(io_err)?;
        Self::from_bytes(map)
    }
}

/// Copies the file at `path` into a private anonymous map, then makes it read-only. Refuses
/// files over `limit` bytes (when known) before allocating anything.
fn read_private(path: &Path, limit: Option<u64>) -> Result<memmap2::Mmap, RefsetError> {
    let io_err = |source| RefsetError::Io { path: path.to_path_buf(), source };
    // A directory, FIFO or device is refused by name before anything is read.
    let file = crate::openfile::open_regular(path, 0).map_err(io_err)?;
    let len = file.metadata().map_err(io_err)?.len();
    copy_private(file, len, path, limit)
}

/// Reads `len` bytes of `reader` (the file at `path`) into a read-only anonymous map.
fn copy_private(
    mut reader: impl std::io::Read,
    len: u64,
    path: &Path,
    limit: Option<u64>,
) -> Result<memmap2::Mmap, RefsetError> {
    let io_err = |source| RefsetError::Io { path: path.to_path_buf(), source };
    let too_large = |limit| RefsetError::TooLargeToCopy { path: path.to_path_buf(), len, limit };
    if let Some(limit) = limit
        && len > limit
    {
        return Err(too_large(limit));
    }
    let size = usize::try_from(len).map_err(|_| too_large(usize::MAX as u64))?;
    let mut copy = memmap2::MmapMut::map_anon(size).map_err(io_err)?;
    // Lookups and index searches touch pages at random: with 2 MiB pages the TLB covers
    // gigabytes instead of megabytes (a page walk per lookup at 10^8 values otherwise).
    // Only a hint: refused (no transparent huge pages) it changes nothing.
    #[cfg(target_os = "linux")]
    let _ = copy.advise(memmap2::Advice::HugePage);
    let mut filled = 0;
    while filled < size {
        match reader.read(&mut copy[filled..]) {
            Ok(0) => {
                return Err(RefsetError::ChangedWhileReading {
                    path: path.to_path_buf(),
                    expected: len,
                    read: filled as u64,
                });
            }
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io_err(e)),
        }
    }
    copy.make_read_only().map_err(io_err)
}

impl<B: AsRef<[u8]>> RefSet<B> {
    /// Validates the structure (O(sections), not O(entries)) and returns the reader. The
    /// checksum is not checked here: call [`RefSet::verify`] before trusting a set from
    /// outside (a damaged set cannot make the reader panic, but could answer wrongly).
    /// Errors name what is wrong with the bytes ([`RefsetError`]).
    pub fn from_bytes(bytes: B) -> Result<Self, RefsetError> {
        let data = bytes.as_ref();
        let len = data.len() as u64;
        if data.len() < MIN_FILE_LEN {
            // Give the magic error for short non-mhset files, the length error otherwise.
            let n = data.len().min(MAGIC.len());
            if n > 0 && data[..n] != MAGIC[..n] {
                return Err(bad_magic(data));
            }
            return Err(RefsetError::TooShort { len, min: MIN_FILE_LEN as u64 });
        }
        if data[..MAGIC.len()] != MAGIC {
            return Err(bad_magic(data));
        }
        let header = Header {
            version: le_u32(&data[12..16]),
            file_len: le_u64(&data[16..24]),
            table_offset: le_u64(&data[24..32]),
            section_count: le_u32(&data[32..36]),
            entry_len: le_u32(&data[36..40]),
        };
        if header.version > format::FORMAT_VERSION {
            return Err(RefsetError::NewerVersion {
                found: header.version,
                supported: format::FORMAT_VERSION,
                tool: crate::VERSION,
            });
        }
        if header.version == 0 {
            return Err(RefsetError::BadVersion { found: header.version });
        }
        if header.file_len != len {
            return Err(RefsetError::LengthMismatch { expected: header.file_len, actual: len });
        }
        let trailer_start = data.len() - TRAILER_LEN;
        if data[trailer_start..trailer_start + 8] != format::END_MAGIC {
            return Err(corrupt("the end-of-file marker is missing"));
        }
        if header.entry_len as usize != SECTION_ENTRY_LEN {
            return Err(corrupt(format!(
                "section table entries are {} bytes, expected {SECTION_ENTRY_LEN}",
                header.entry_len
            )));
        }
        let count = header.section_count as usize;
        if count > format::MAX_SECTIONS {
            return Err(corrupt(format!("{count} sections (at most {})", format::MAX_SECTIONS)));
        }
        let table_len = (count * SECTION_ENTRY_LEN) as u64;
        let table_end = header.table_offset.checked_add(table_len);
        if header.table_offset < HEADER_LEN as u64
            || table_end.is_none_or(|e| e > trailer_start as u64)
        {
            return Err(RefsetError::SectionOutOfBounds {
                section: "section table".into(),
                offset: header.table_offset,
                length: table_len,
                limit: trailer_start as u64,
            });
        }
        let table_start = header.table_offset as usize;
        let mut sections = Vec::with_capacity(count);
        for i in 0..count {
            let at = table_start + i * SECTION_ENTRY_LEN;
            let mut raw = [0u8; SECTION_ENTRY_LEN];
            raw.copy_from_slice(&data[at..at + SECTION_ENTRY_LEN]);
            let s = SectionEntry::from_bytes(&raw);
            let name = || format::section_name(s.kind);
            let end = s.offset.checked_add(s.length);
            if s.offset < HEADER_LEN as u64 || end.is_none_or(|e| e > trailer_start as u64) {
                return Err(RefsetError::SectionOutOfBounds {
                    section: name(),
                    offset: s.offset,
                    length: s.length,
                    limit: trailer_start as u64,
                });
            }
            if !s.offset.is_multiple_of(format::SECTION_ALIGN) {
                return Err(corrupt(format!(
                    "section {} starts at {}, not a multiple of {}",
                    name(),
                    s.offset,
                    format::SECTION_ALIGN
                )));
            }
            if s.count.checked_mul(u64::from(s.item_len)) != Some(s.length) {
                return Err(corrupt(format!(
                    "section {} holds {} bytes, not {} items of {} bytes",
                    name(),
                    s.length,
                    s.count,
                    s.item_len
                )));
            }
            if let Some(expected) = format::expected_item_len(s.kind) {
                if s.item_len != expected {
                    return Err(corrupt(format!(
                        "section {} has {}-byte items, expected {expected}",
                        name(),
                        s.item_len
                    )));
                }
                if sections.iter().any(|o: &SectionEntry| o.kind == s.kind) {
                    return Err(corrupt(format!("section {} appears twice", name())));
                }
            }
            sections.push(s);
        }
        let find = |k: u32| sections.iter().find(|s| s.kind == k).copied();
        let need = |k: u32| {
            find(k)
                .ok_or_else(|| corrupt(format!("section {} is missing", format::section_name(k))))
        };

        let prov = need(kind::PROVENANCE)?;
        if prov.length > format::MAX_PROVENANCE_LEN {
            return Err(RefsetError::Provenance {
                reason: format!(
                    "{} bytes, more than the {} allowed",
                    prov.length,
                    format::MAX_PROVENANCE_LEN
                ),
            });
        }
        let provenance: Provenance = serde_json::from_slice(&data[prov.range()])
            .map_err(|e| RefsetError::Provenance { reason: e.to_string() })?;
        let source_set = validate_provenance(&provenance)?;

        let rec_off = need(kind::RECORD_OFFSETS)?;
        let rec_data = need(kind::RECORD_DATA)?;
        let list_off = need(kind::LIST_OFFSETS)?;
        let list_mem = need(kind::LIST_MEMBERS)?;
        if rec_off.count == 0 || list_off.count == 0 {
            return Err(corrupt("an offsets section is empty (it holds count + 1 offsets)"));
        }
        let records = rec_off.count - 1;
        let lists = list_off.count - 1;
        if records.checked_add(lists).is_none_or(|n| n > 1 << 32) {
            return Err(corrupt(format!(
                "{records} records and {lists} lists do not fit 32-bit entry ids"
            )));
        }

        let mut kinds: [Option<KindSections>; 8] = Default::default();
        for (slot, hk) in kinds.iter_mut().zip(HashKind::ALL) {
            let values = find(kind::hash_section(hk, kind::SUB_VALUES));
            let entries = find(kind::hash_section(hk, kind::SUB_ENTRIES));
            let prefix = find(kind::hash_section(hk, kind::SUB_PREFIX));
            let quality = find(kind::hash_section(hk, kind::SUB_QUALITY));
            let (values, entries, prefix) = match (values, entries, prefix) {
                (None, None, None) if quality.is_none() => continue,
                (Some(v), Some(e), Some(p)) => (v, e, p),
                _ => {
                    return Err(corrupt(format!(
                        "the {} values, entries and prefix-table sections must appear together",
                        hk.as_str()
                    )));
                }
            };
            if entries.count != values.count {
                return Err(corrupt(format!(
                    "{} has {} values but {} entry ids",
                    hk.as_str(),
                    values.count,
                    entries.count
                )));
            }
            if values.count > u64::from(u32::MAX) {
                return Err(corrupt(format!("{} has more than 2^32-1 values", hk.as_str())));
            }
            let table = prefix.count.checked_sub(1).filter(|n| n.is_power_of_two());
            let bits = match table {
                Some(n) if n.ilog2() <= format::MAX_PREFIX_BITS => n.ilog2(),
                _ => {
                    return Err(corrupt(format!(
                        "{} prefix table has {} entries, not 2^bits + 1 with bits <= {}",
                        hk.as_str(),
                        prefix.count,
                        format::MAX_PREFIX_BITS
                    )));
                }
            };
            let quality = match (hk, quality) {
                (HashKind::Pdq, Some(q)) if q.count == values.count => Some(q.range()),
                (HashKind::Pdq, _) => {
                    return Err(corrupt("the PDQ quality section is missing or the wrong size"));
                }
                // Other kinds have no quality: such a section is an unknown kind, ignored.
                _ => None,
            };
            let mih_ids = find(kind::hash_section(hk, kind::SUB_MIH_IDS));
            let mih_offsets = find(kind::hash_section(hk, kind::SUB_MIH_OFFSETS));
            let mih = match (hk, mih_ids, mih_offsets) {
                (HashKind::Pdq, Some(ids), Some(offsets)) => {
                    let slots = format::MIH_SLOTS as u64;
                    if values.count.checked_mul(slots) != Some(ids.count)
                        || offsets.count != slots * (format::MIH_BUCKETS as u64 + 1)
                    {
                        return Err(corrupt(format!(
                            "the PDQ multi-index has {} ids and {} offsets for {} values",
                            ids.count, offsets.count, values.count
                        )));
                    }
                    Some((ids.range(), offsets.range()))
                }
                (HashKind::Pdq, None, None) => None,
                (HashKind::Pdq, _, _) => {
                    return Err(corrupt("the PDQ multi-index is missing one of its two sections"));
                }
                _ => None,
            };
            let tuned = match hk {
                HashKind::Pdq => tuned_index(data, &find, values.count)?,
                _ => None,
            };
            *slot = Some(KindSections {
                tuned,
                mih,
                count: values.count,
                values: values.range(),
                entries: entries.range(),
                prefix: prefix.range(),
                prefix_bits: bits,
                quality,
            });
        }
        let windows = find(kind::hash_section(HashKind::Pdq, kind::SUB_WINDOWS)).map(|s| s.range());
        let video_frames =
            find(kind::hash_section(HashKind::Pdq, kind::SUB_VIDEO_FRAMES)).map(|s| s.range());
        Ok(RefSet {
            windows,
            video_frames,
            header,
            provenance,
            source_set,
            records,
            lists,
            record_offsets: rec_off.range(),
            record_data: rec_data.range(),
            list_offsets: list_off.range(),
            list_members: list_mem.range(),
            kinds,
            sections,
            bytes,
        })
    }

    /// The whole file.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.as_ref()
    }

    /// The provenance section.
    pub fn provenance(&self) -> &Provenance {
        &self.provenance
    }

    /// Sets, in id order.
    pub fn sets(&self) -> &[SetInfo] {
        &self.provenance.sets
    }

    /// Number of records (distinct source + metadata pairs).
    pub fn record_count(&self) -> u64 {
        self.records
    }

    /// Number of distinct values of `kind`.
    pub fn count(&self, kind: HashKind) -> u64 {
        self.kind_sections(kind).map_or(0, |k| k.count)
    }

    /// Counts, sets and provenance, owned (for `mh refset info` and report headers).
    pub fn info(&self) -> RefSetInfo {
        RefSetInfo {
            format_version: self.header.version,
            file_len: self.header.file_len,
            tool: self.provenance.tool.clone(),
            build_time_unix: self.provenance.build_time_unix,
            records: self.records,
            multi_member_entries: self.lists,
            counts: HashKind::ALL
                .iter()
                .filter_map(|&kind| {
                    self.kind_sections(kind).map(|k| KindCount { kind, count: k.count })
                })
                .collect(),
            sets: self.provenance.sets.clone(),
            sources: self.provenance.sources.clone(),
        }
    }

    pub(crate) fn kind_sections(&self, kind: HashKind) -> Option<&KindSections> {
        self.kinds[format::kind_code(kind) as usize - 1].as_ref()
    }

    /// The stored bytes of value `i` of a kind (caller keeps `i < count`).
    pub(crate) fn value_bytes(&self, ks: &KindSections, kind: HashKind, i: usize) -> &[u8] {
        let n = kind.value_len();
        &self.as_bytes()[ks.values.start + i * n..ks.values.start + (i + 1) * n]
    }

    pub(crate) fn entry_at(&self, ks: &KindSections, i: usize) -> EntryId {
        let at = ks.entries.start + 4 * i;
        EntryId(le_u32(&self.as_bytes()[at..at + 4]))
    }

    pub(crate) fn prefix_at(&self, ks: &KindSections, p: usize) -> u32 {
        let at = ks.prefix.start + 4 * p;
        le_u32(&self.as_bytes()[at..at + 4])
    }

    pub(crate) fn quality_at(&self, ks: &KindSections, i: usize) -> Option<u8> {
        let q = ks.quality.as_ref().map(|r| self.as_bytes()[r.start + i])?;
        (q != u8::MAX).then_some(q)
    }

    fn u64_at(&self, range: &Range<usize>, i: u64) -> Option<u64> {
        let at = range.start.checked_add(usize::try_from(i).ok()?.checked_mul(8)?)?;
        let end = at.checked_add(8)?;
        if end > range.end {
            return None;
        }
        Some(le_u64(&self.as_bytes()[at..end]))
    }

    /// Decodes record `record` (any value; out-of-range records are an error).
    pub fn membership(&self, record: u32) -> Result<Membership<'_>, RefsetError> {
        let r = u64::from(record);
        if r >= self.records {
            return Err(RefsetError::ReferenceOutOfRange {
                what: "entry",
                index: r,
                value: r,
                limit: self.records,
            });
        }
        let bad = |reason| RefsetError::BadRecordData { record: r, reason };
        let start = self.u64_at(&self.record_offsets, r).ok_or(bad("offset unreadable"))?;
        let end = self.u64_at(&self.record_offsets, r + 1).ok_or(bad("offset unreadable"))?;
        let data_len = self.record_data.len() as u64;
        if start > end || end > data_len {
            return Err(bad("offsets out of order or past the record data"));
        }
        let bytes = &self.as_bytes()
            [self.record_data.start + start as usize..self.record_data.start + end as usize];
        let (source, meta) = format::decode_record(bytes).map_err(bad)?;
        let source_id = u32::try_from(source)
            .ok()
            .filter(|&s| (s as usize) < self.provenance.sources.len())
            .ok_or(RefsetError::ReferenceOutOfRange {
                what: "record",
                index: r,
                value: source,
                limit: self.provenance.sources.len() as u64,
            })?;
        let set_id = self.source_set[source_id as usize];
        Ok(Membership {
            record,
            set_id,
            set: &self.provenance.sets[set_id as usize],
            source_id,
            source: &self.provenance.sources[source_id as usize],
            meta,
        })
    }

    /// The records of a multi-member list, as a checked range into `LIST_MEMBERS`.
    fn list_range(&self, list: u64) -> Result<Range<u64>, RefsetError> {
        let bad = || RefsetError::ReferenceOutOfRange {
            what: "list",
            index: list,
            value: list,
            limit: self.lists,
        };
        let start = self.u64_at(&self.list_offsets, list).ok_or_else(bad)?;
        let end = self.u64_at(&self.list_offsets, list + 1).ok_or_else(bad)?;
        let members = (self.list_members.len() / 4) as u64;
        if start > end || end > members {
            return Err(corrupt(format!("list {list} spans members {start}..{end} of {members}")));
        }
        Ok(start..end)
    }

    fn list_member(&self, i: u64) -> u32 {
        let at = self.list_members.start + 4 * i as usize;
        le_u32(&self.as_bytes()[at..at + 4])
    }

    /// How many memberships an entry has (as [`RefSet::memberships`] would list), without
    /// decoding them.
    pub fn membership_count(&self, entry: EntryId) -> Result<u32, RefsetError> {
        let e = u64::from(entry.0);
        if e < self.records {
            return Ok(1);
        }
        let range = self.list_range(self.list_of(e)?)?;
        Ok(u32::try_from(range.end - range.start).unwrap_or(u32::MAX))
    }

    /// Membership `i` (in record order) of an entry, without listing the others: for
    /// callers that walk memberships without allocating.
    pub fn membership_at(&self, entry: EntryId, i: u32) -> Result<Membership<'_>, RefsetError> {
        let e = u64::from(entry.0);
        let out_of_range = |limit: u64| RefsetError::ReferenceOutOfRange {
            what: "membership index",
            index: e,
            value: u64::from(i),
            limit,
        };
        if e < self.records {
            return if i == 0 { self.membership(entry.0) } else { Err(out_of_range(1)) };
        }
        let range = self.list_range(self.list_of(e)?)?;
        let at = range.start + u64::from(i);
        if at >= range.end {
            return Err(out_of_range(range.end - range.start));
        }
        self.membership(self.list_member(at))
    }

    /// The list an entry id past the records names.
    fn list_of(&self, e: u64) -> Result<u64, RefsetError> {
        let list = e - self.records;
        if list >= self.lists {
            return Err(RefsetError::ReferenceOutOfRange {
                what: "entry id",
                index: e,
                value: e,
                limit: self.records + self.lists,
            });
        }
        Ok(list)
    }

    /// The record indexes of an entry's memberships, in record order (what
    /// [`RefSet::memberships`] reads; sharding copies records by index).
    pub(crate) fn entry_records(&self, entry: EntryId) -> Result<Vec<u32>, RefsetError> {
        let e = u64::from(entry.0);
        if e < self.records {
            return Ok(vec![entry.0]);
        }
        Ok(self.list_range(self.list_of(e)?)?.map(|i| self.list_member(i)).collect())
    }

    /// Every membership of an entry, in record order.
    pub fn memberships(&self, entry: EntryId) -> Result<Vec<Membership<'_>>, RefsetError> {
        let e = u64::from(entry.0);
        if e < self.records {
            return Ok(vec![self.membership(entry.0)?]);
        }
        self.list_range(self.list_of(e)?)?.map(|i| self.membership(self.list_member(i))).collect()
    }

    /// Full check, O(file size): the trailer checksum, then that every hash section is
    /// strictly ascending with a consistent prefix table, every entry id, record offset,
    /// list and source reference is in range, and every record decodes.
    pub fn verify(&self) -> Result<(), RefsetError> {
        self.verify_with_progress(&mut |_, _| true)
    }

    /// [`RefSet::verify`], calling `progress(bytes_checked, total_bytes)` after each 16 MiB
    /// of the checksum pass and once at its end; returning `false` stops with
    /// [`RefsetError::Stopped`] (for a caller showing progress or offering to cancel: the
    /// pass reads the whole file).
    pub fn verify_with_progress(
        &self,
        progress: &mut dyn FnMut(u64, u64) -> bool,
    ) -> Result<(), RefsetError> {
        const PIECE: usize = 16 << 20;
        let data = self.as_bytes();
        let hashed = data.len() - 32;
        let mut hasher = blake3::Hasher::new();
        let mut done = 0usize;
        for piece in data[..hashed].chunks(PIECE) {
            hasher.update(piece);
            done += piece.len();
            if !progress(done as u64, hashed as u64) {
                return Err(RefsetError::Stopped);
            }
        }
        if hashed == 0 && !progress(0, 0) {
            return Err(RefsetError::Stopped);
        }
        let computed = hasher.finalize();
        let stored = &data[hashed..];
        if computed.as_bytes() != stored {
            return Err(RefsetError::ChecksumMismatch {
                stored: crate::hex::encode(stored),
                computed: computed.to_hex().to_string(),
            });
        }
        self.verify_layout()?;
        self.verify_records()?;
        self.verify_lists()?;
        for kind in HashKind::ALL {
            if let Some(ks) = self.kind_sections(kind) {
                self.verify_kind(kind, ks)?;
            }
        }
        self.verify_windows()?;
        self.verify_video_frames()
    }

    /// Video frames: ascending by (record, frame) without repeats, record ids < R, quality
    /// 0-100, zero padding.
    fn verify_video_frames(&self) -> Result<(), RefsetError> {
        let Some(range) = &self.video_frames else { return Ok(()) };
        let items = self.as_bytes()[range.clone()].chunks_exact(format::VIDEO_FRAME_ITEM_LEN);
        let mut previous: Option<(u32, u32)> = None;
        for (i, item) in items.enumerate() {
            let key = (format::le_u32(&item[..4]), format::le_u32(&item[4..8]));
            if u64::from(key.0) >= self.records {
                return Err(corrupt(format!(
                    "video frame {i} names record {} of {}",
                    key.0, self.records
                )));
            }
            if item[12] > 100 || item[13..16] != [0, 0, 0] || previous.is_some_and(|p| p >= key) {
                return Err(corrupt(format!(
                    "video frame {i} is out of order, not padded or has quality {}",
                    item[12]
                )));
            }
            previous = Some(key);
        }
        Ok(())
    }

    /// Number of vPDQ frames of known videos stored (0 for sets without videos).
    pub fn video_frame_count(&self) -> u64 {
        self.video_frames.as_ref().map_or(0, |r| (r.len() / format::VIDEO_FRAME_ITEM_LEN) as u64)
    }

    /// The known videos of the set: each record's vPDQ frames, by record id, frames in
    /// stored order. Quality over 100 reads as 0 (only `verify` rejects it).
    pub fn videos(&self) -> Vec<(u32, Vec<crate::perceptual::vpdq::VpdqFrame>)> {
        let Some(range) = &self.video_frames else { return Vec::new() };
        let mut out: Vec<(u32, Vec<crate::perceptual::vpdq::VpdqFrame>)> = Vec::new();
        for item in self.as_bytes()[range.clone()].chunks_exact(format::VIDEO_FRAME_ITEM_LEN) {
            let record = format::le_u32(&item[..4]);
            let mut hash = [0u8; 32];
            hash.copy_from_slice(&item[16..48]);
            let frame = crate::perceptual::vpdq::VpdqFrame {
                frame: u64::from(format::le_u32(&item[4..8])),
                timestamp: f32::from_bits(format::le_u32(&item[8..12])),
                quality: if item[12] <= 100 { item[12] } else { 0 },
                hash: crate::perceptual::pdq::PdqHash(hash),
            };
            match out.last_mut() {
                Some((r, frames)) if *r == record => frames.push(frame),
                _ => out.push((record, vec![frame])),
            }
        }
        out
    }

    /// PDQ windows: strictly ascending items, record ids < R, known window codes, quality
    /// 0-100, zero padding.
    fn verify_windows(&self) -> Result<(), RefsetError> {
        let Some(range) = &self.windows else { return Ok(()) };
        let items = self.as_bytes()[range.clone()].chunks_exact(format::WINDOW_ITEM_LEN);
        let mut previous: Option<&[u8]> = None;
        for (i, item) in items.enumerate() {
            let record = u64::from(format::le_u32(&item[32..36]));
            if record >= self.records {
                return Err(corrupt(format!(
                    "PDQ window {i} names record {record} of {}",
                    self.records
                )));
            }
            if crate::robust::Window::from_code(item[36]).is_none() || item[37] > 100 {
                return Err(corrupt(format!(
                    "PDQ window {i} has window code {} and quality {}",
                    item[36], item[37]
                )));
            }
            if item[38..] != [0, 0] || previous.is_some_and(|p| p >= item) {
                return Err(corrupt(format!("PDQ window {i} is out of order or not padded")));
            }
            previous = Some(item);
        }
        Ok(())
    }

    /// Number of PDQ windows stored (0 for sets built from hash lists).
    pub fn window_count(&self) -> u64 {
        self.windows.as_ref().map_or(0, |r| (r.len() / format::WINDOW_ITEM_LEN) as u64)
    }

    fn verify_layout(&self) -> Result<(), RefsetError> {
        let mut spans: Vec<(u64, u64, u32)> = self
            .sections
            .iter()
            .map(|s| (s.offset, s.offset + s.length, s.kind))
            .chain(std::iter::once((
                self.header.table_offset,
                self.header.table_offset
                    + u64::from(self.header.section_count) * SECTION_ENTRY_LEN as u64,
                0,
            )))
            .collect();
        spans.sort_unstable();
        for pair in spans.windows(2) {
            if pair[0].1 > pair[1].0 {
                return Err(corrupt(format!(
                    "sections {} and {} overlap",
                    format::section_name(pair[0].2),
                    format::section_name(pair[1].2)
                )));
            }
        }
        Ok(())
    }

    fn verify_records(&self) -> Result<(), RefsetError> {
        if self.u64_at(&self.record_offsets, 0) != Some(0) {
            return Err(corrupt("the first record offset is not 0"));
        }
        let last = self.u64_at(&self.record_offsets, self.records);
        if last != Some(self.record_data.len() as u64) {
            return Err(corrupt("the last record offset is not the record data length"));
        }
        for r in 0..self.records {
            // Checks offsets, decoding and the source reference.
            self.membership(r as u32)?;
        }
        Ok(())
    }

    fn verify_lists(&self) -> Result<(), RefsetError> {
        if self.u64_at(&self.list_offsets, 0) != Some(0) {
            return Err(corrupt("the first list offset is not 0"));
        }
        let members = (self.list_members.len() / 4) as u64;
        if self.u64_at(&self.list_offsets, self.lists) != Some(members) {
            return Err(corrupt("the last list offset is not the member count"));
        }
        for list in 0..self.lists {
            let range = self.list_range(list)?;
            if range.end - range.start < 2 {
                return Err(corrupt(format!("list {list} has fewer than two members")));
            }
            let mut previous = None;
            for i in range {
                let r = self.list_member(i);
                if u64::from(r) >= self.records {
                    return Err(RefsetError::ReferenceOutOfRange {
                        what: "list member",
                        index: i,
                        value: r.into(),
                        limit: self.records,
                    });
                }
                if previous.is_some_and(|p| p >= r) {
                    return Err(RefsetError::NotSorted {
                        section: format!("list {list}"),
                        index: i,
                    });
                }
                previous = Some(r);
            }
        }
        Ok(())
    }

    fn verify_kind(&self, kind: HashKind, ks: &KindSections) -> Result<(), RefsetError> {
        let n = ks.count as usize;
        let entries_limit = self.records + self.lists;
        let bits = ks.prefix_bits;
        let mut expected_prefix = vec![0u32; (1usize << bits) + 1];
        for i in 0..n {
            let v = self.value_bytes(ks, kind, i);
            if i > 0 {
                let prev = self.value_bytes(ks, kind, i - 1);
                if compare_stored(kind, prev, v) != std::cmp::Ordering::Less {
                    return Err(RefsetError::NotSorted {
                        section: format!("{} values", kind.as_str()),
                        index: i as u64,
                    });
                }
            }
            let e = self.entry_at(ks, i);
            if u64::from(e.0) >= entries_limit {
                return Err(RefsetError::ReferenceOutOfRange {
                    what: "hash value",
                    index: i as u64,
                    value: e.0.into(),
                    limit: entries_limit,
                });
            }
            if let Some(q) = self.quality_at(ks, i)
                && q > 100
            {
                return Err(corrupt(format!("PDQ value {i} has quality {q} (0-100 or 255)")));
            }
            let p = prefix_of(kind, v, bits) as usize;
            expected_prefix[p + 1] += 1;
        }
        for p in 1..expected_prefix.len() {
            expected_prefix[p] += expected_prefix[p - 1];
        }
        if let Some((ids, offsets)) = &ks.mih {
            self.verify_mih(ks, ids, offsets)?;
        }
        if let Some(tuned) = &ks.tuned {
            self.verify_tuned(ks, tuned)?;
        }
        for (p, &want) in expected_prefix.iter().enumerate() {
            if self.prefix_at(ks, p) != want {
                return Err(corrupt(format!(
                    "{} prefix table entry {p} is {}, expected {want}",
                    kind.as_str(),
                    self.prefix_at(ks, p)
                )));
            }
        }
        Ok(())
    }
}

/// Bucket `v` of slot `s` of the PDQ multi-index, clamped to the value count so a damaged
/// table cannot send readers out of bounds.
pub(crate) fn mih_bucket(data: &[u8], ks: &KindSections, s: usize, v: usize) -> Range<usize> {
    if ks.mih.is_none() {
        return 0..0;
    }
    let at = |b: usize| le_u32(mih_offset_at(data, ks, s, b)) as usize;
    let n = ks.count as usize;
    let hi = at(v + 1).min(n);
    at(v).min(hi)..hi
}

/// The stored start offset of bucket `v` of slot `s` and what follows it (empty when the
/// set has no multi-index).
pub(crate) fn mih_offset_at<'d>(data: &'d [u8], ks: &KindSections, s: usize, v: usize) -> &'d [u8] {
    let Some((_, offsets)) = &ks.mih else { return &[] };
    let i = offsets.start + 4 * (s * (format::MIH_BUCKETS + 1) + v);
    &data[i..offsets.end]
}

/// Entry `k` of slot `s` of the multi-index ids (caller keeps `k < count`).
#[inline]
pub(crate) fn mih_id(data: &[u8], ks: &KindSections, s: usize, k: usize) -> u32 {
    let bytes = mih_id_at(data, ks, s, k);
    if bytes.is_empty() { u32::MAX } else { le_u32(bytes) }
}

/// The stored entry `k` of slot `s` of the multi-index ids and what follows it (empty when
/// the set has no multi-index).
#[inline]
pub(crate) fn mih_id_at<'d>(data: &'d [u8], ks: &KindSections, s: usize, k: usize) -> &'d [u8] {
    let Some((ids, _)) = &ks.mih else { return &[] };
    let i = ids.start + 4 * (s * ks.count as usize + k);
    &data[i..ids.end]
}

impl<B: AsRef<[u8]>> RefSet<B> {
    /// Every table of the tuned index lists each value exactly once, in its own bucket,
    /// ascending: each id is below n, in the bucket of its key and above the previous id of
    /// its bucket (so listed at most once), and the table's buckets span exactly n ids.
    fn verify_tuned(&self, ks: &KindSections, t: &Tuned) -> Result<(), RefsetError> {
        let n = ks.count as usize;
        let data = self.as_bytes();
        let dir =
            |i: usize, b: usize| le_u32(&data[t.offsets.start + 4 * (t.dirs[i] + b)..]) as usize;
        for (i, (&w, &start)) in t.widths.iter().zip(&t.starts).enumerate() {
            let buckets = 1usize << w;
            if dir(i, 0) != 0 || dir(i, buckets) != n {
                return Err(corrupt(format!(
                    "tuned PDQ multi-index table {i} does not span the values"
                )));
            }
            let ids = &data[t.ids.start + 4 * i * n..t.ids.start + 4 * (i + 1) * n];
            let mut lo = 0;
            for b in 0..buckets {
                let hi = dir(i, b + 1);
                if hi < lo || hi > n {
                    return Err(corrupt(format!(
                        "tuned PDQ multi-index table {i} bucket {b} is out of order"
                    )));
                }
                let mut previous = None;
                for k in lo..hi {
                    let id = le_u32(&ids[4 * k..]);
                    if id as usize >= n {
                        return Err(RefsetError::ReferenceOutOfRange {
                            what: "tuned PDQ multi-index id",
                            index: (i * n + k) as u64,
                            value: id.into(),
                            limit: n as u64,
                        });
                    }
                    let value = self.value_bytes(ks, HashKind::Pdq, id as usize);
                    if format::tuned_key(value, start, w) as usize != b
                        || previous.is_some_and(|p| p >= id)
                    {
                        return Err(corrupt(format!(
                            "tuned PDQ multi-index table {i} bucket {b} lists value {id} wrongly"
                        )));
                    }
                    previous = Some(id);
                }
                lo = hi;
            }
        }
        Ok(())
    }

    /// Every slot's ids list each value exactly once, in its own bucket, ascending.
    fn verify_mih(
        &self,
        ks: &KindSections,
        _ids: &Range<usize>,
        offsets: &Range<usize>,
    ) -> Result<(), RefsetError> {
        let n = ks.count as usize;
        let raw_offset = |s: usize, b: usize| {
            let i = offsets.start + 4 * (s * (format::MIH_BUCKETS + 1) + b);
            le_u32(&self.as_bytes()[i..i + 4]) as usize
        };
        for s in 0..format::MIH_SLOTS {
            if raw_offset(s, 0) != 0 || raw_offset(s, format::MIH_BUCKETS) != n {
                return Err(corrupt(format!("PDQ multi-index slot {s} does not span the values")));
            }
            for v in 0..format::MIH_BUCKETS {
                let (lo, hi) = (raw_offset(s, v), raw_offset(s, v + 1));
                if lo > hi || hi > n {
                    return Err(corrupt(format!(
                        "PDQ multi-index slot {s} bucket {v} is out of order"
                    )));
                }
                let mut previous = None;
                for k in lo..hi {
                    let id = mih_id(self.as_bytes(), ks, s, k);
                    if id as usize >= n {
                        return Err(RefsetError::ReferenceOutOfRange {
                            what: "PDQ multi-index id",
                            index: (s * n + k) as u64,
                            value: id.into(),
                            limit: n as u64,
                        });
                    }
                    let value = self.value_bytes(ks, HashKind::Pdq, id as usize);
                    if usize::from(format::mih_slot(value, s)) != v
                        || previous.is_some_and(|p| p >= id)
                    {
                        return Err(corrupt(format!(
                            "PDQ multi-index slot {s} bucket {v} lists value {id} wrongly"
                        )));
                    }
                    previous = Some(id);
                }
            }
        }
        Ok(())
    }
}

/// The tuned PDQ multi-index's three sections, checked for consistency (O(table count)):
/// all three or none, widths within [`format::TUNED_WIDTHS`] summing to 256, `m·n` ids and
/// the directories' total size.
fn tuned_index(
    data: &[u8],
    find: &dyn Fn(u32) -> Option<SectionEntry>,
    n: u64,
) -> Result<Option<Tuned>, RefsetError> {
    let section = |sub| find(kind::hash_section(HashKind::Pdq, sub));
    let (layout, ids, offsets) = match (
        section(kind::SUB_TUNED_LAYOUT),
        section(kind::SUB_TUNED_IDS),
        section(kind::SUB_TUNED_OFFSETS),
    ) {
        (None, None, None) => return Ok(None),
        (Some(l), Some(i), Some(o)) => (l, i, o),
        _ => return Err(corrupt("the tuned PDQ multi-index is missing one of its three sections")),
    };
    let words: Vec<u32> = data[layout.range()].chunks_exact(4).map(le_u32).collect();
    let m = words.first().copied().unwrap_or(0) as usize;
    if m == 0 || m > format::TUNED_MAX_TABLES || words.len() != m + 1 {
        return Err(corrupt(format!(
            "the tuned PDQ multi-index layout holds {} words for {m} tables (1 to {})",
            words.len(),
            format::TUNED_MAX_TABLES
        )));
    }
    let widths = words[1..].to_vec();
    if widths.iter().any(|w| !format::TUNED_WIDTHS.contains(w)) || widths.iter().sum::<u32>() != 256
    {
        return Err(corrupt(format!(
            "the tuned PDQ multi-index key widths {widths:?} must each be {}-{} bits and sum to 256",
            format::TUNED_WIDTHS.start(),
            format::TUNED_WIDTHS.end()
        )));
    }
    let (mut starts, mut dirs) = (Vec::with_capacity(m), Vec::with_capacity(m));
    let (mut start, mut dir) = (0u32, 0usize);
    for &w in &widths {
        starts.push(start);
        dirs.push(dir);
        start += w;
        dir += (1usize << w) + 1;
    }
    if n.checked_mul(m as u64) != Some(ids.count) || offsets.count != dir as u64 {
        return Err(corrupt(format!(
            "the tuned PDQ multi-index has {} ids and {} offsets for {n} values and widths {widths:?}",
            ids.count, offsets.count
        )));
    }
    Ok(Some(Tuned {
        widths,
        starts,
        dirs,
        ids: ids.range(),
        offsets: offsets.range(),
        compact: Default::default(),
        plans: (0..=256).map(|_| std::sync::OnceLock::new()).collect(),
    }))
}

/// The top `bits` bits of a stored value's 24-bit prefix.
pub(crate) fn prefix_of(kind: HashKind, stored: &[u8], bits: u32) -> u32 {
    if bits == 0 { 0 } else { format::prefix24(kind, stored) >> (24 - bits) }
}

/// Order of stored values: bytes for digests, PDQ and PhotoDNA; the integer for 64-bit
/// hashes (stored little-endian).
pub(crate) fn compare_stored(kind: HashKind, a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    match kind {
        HashKind::PHash | HashKind::DHash | HashKind::AHash => le_u64(a).cmp(&le_u64(b)),
        _ => a.cmp(b),
    }
}

fn bad_magic(data: &[u8]) -> RefsetError {
    // A copy through a text-mode channel turns "\r\n" into "\n" (or the reverse): say so.
    let lf_only = b"\x89MHSET\n\x1a\n";
    let crlf_twice = b"\x89MHSET\r\n\x1a\r\n";
    let hint = if data.starts_with(lf_only) || data.starts_with(crlf_twice) {
        ": line endings were converted, so the file went through a text-mode transfer; \
         copy it again in binary mode"
    } else if data.len() >= 6 && data[1..6] == MAGIC[1..6] {
        ": the header is damaged; copy it again in binary mode"
    } else {
        ": build one with `mh refset build`"
    };
    RefsetError::BadMagic { hint }
}

/// Checks sets and sources refer to each other consistently; returns each source's set.
fn validate_provenance(p: &Provenance) -> Result<Vec<u32>, RefsetError> {
    let bad = |reason: String| RefsetError::Provenance { reason };
    if p.sources.len() > u32::MAX as usize || p.sets.len() > u32::MAX as usize {
        return Err(bad("too many sets or sources".into()));
    }
    let mut source_set = vec![u32::MAX; p.sources.len()];
    for (set_id, set) in p.sets.iter().enumerate() {
        for &s in &set.sources {
            match source_set.get_mut(s as usize) {
                Some(slot) if *slot == u32::MAX => *slot = set_id as u32,
                Some(_) => return Err(bad(format!("source {s} is in more than one set"))),
                None => return Err(bad(format!("set {set_id} lists unknown source {s}"))),
            }
        }
    }
    if let Some(s) = source_set.iter().position(|&v| v == u32::MAX) {
        return Err(bad(format!("source {s} belongs to no set")));
    }
    Ok(source_set)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_reports_a_file_that_shrank_while_read() {
        let err = copy_private(&b"0123456789"[..], 100, Path::new("s.mhset"), None).unwrap_err();
        assert!(
            matches!(err, RefsetError::ChangedWhileReading { expected: 100, read: 10, .. }),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "reference set s.mhset changed while it was being read (it ended after 10 of 100 \
             bytes): another program is writing, truncating or copying it; wait until it has \
             finished, then open it again"
        );
    }

    #[test]
    fn copy_refuses_more_than_the_limit_before_reading() {
        let err = copy_private(&b""[..], 1 << 40, Path::new("big.mhset"), Some(1 << 30));
        let err = err.unwrap_err();
        assert!(
            matches!(
                err,
                RefsetError::TooLargeToCopy { len: 1099511627776, limit: 1073741824, .. }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("`mh scan --map-refsets`"), "{err}");
    }

    #[test]
    fn copy_holds_exactly_the_bytes_read() {
        let copy = copy_private(&b"abcdef"[..], 4, Path::new("s"), Some(4)).unwrap();
        assert_eq!(&copy[..], b"abcd");
        let empty = copy_private(&b""[..], 0, Path::new("s"), None).unwrap();
        assert!(empty.is_empty());
    }
}
