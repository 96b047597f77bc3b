//! The `.mhset` builder: streams [`Record`]s from the importers into a reference set with
//! bounded memory.
//!
//! * Each record's metadata is encoded once and appended to a temporary file; records with
//!   byte-identical encodings (same source, same metadata: e.g. every line of a plain hash
//!   list) share one record id through a small fixed-size cache.
//! * Each hash value becomes a (value, record id) item in a per-kind buffer. When the
//!   buffers reach `memory_budget_bytes` the largest is sorted and spilled to a temporary
//!   run file. `finish` merges the runs of each kind (k-way, at most `merge_fan_in` files
//!   at once, with extra passes when there are more), groups equal values and gives each
//!   distinct value an entry: its single record, or a shared list of records when the same
//!   value came from several records (the memberships of every set it is in).
//! * The output is written to a temporary file beside the destination, synced and renamed
//!   into place, so readers never see a half-written set.
//!
//! The output depends only on the inputs and their order (not on the budget, fan-in or
//! thread count); only the build time in the provenance changes between runs, and
//! [`BuildOptions::build_time`] fixes it for reproducible builds.

use super::format::{
    self, FORMAT_VERSION, HEADER_LEN, Header, SECTION_ENTRY_LEN, SectionEntry, kind,
};
use super::read::{Provenance, SetInfo};
use super::{BadRecord, HashKind, HashValue, Record, SourceInfo};
use rayon::slice::ParallelSliceMut;
use serde::{Deserialize, Serialize};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// How to build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildOptions {
    /// Where sorted runs and staging files go (`None`: the system temporary directory).
    /// Large sets need about as much free space here as the output file; avoid a tmpfs.
    pub temp_dir: Option<PathBuf>,
    /// Memory for sort buffers; beyond it sorted runs are spilled to `temp_dir`. Other
    /// memory use is small and fixed (a few tens of MB).
    pub memory_budget_bytes: usize,
    /// Make the first bad record an error instead of counting it.
    pub strict: bool,
    /// Build time written to the provenance, seconds since the Unix epoch (`None`: now).
    /// Fix it to get byte-identical files from identical inputs.
    pub build_time: Option<u64>,
    /// Bad records listed in full in the report; all are counted regardless.
    pub max_bad_records_kept: usize,
    /// Most run files merged at once (open file handles); at least 2.
    pub merge_fan_in: usize,
    /// Build the PDQ multi-index when the set has at least this many distinct PDQ hashes
    /// (`u64::MAX`: never). It costs 64 bytes per hash and speeds up small-radius search
    /// of large sets; below ~65,536 hashes the flat scan is as fast.
    pub pdq_multi_index_min: u64,
    /// Which PDQ multi-index to write (when `pdq_multi_index_min` asks for one).
    pub pdq_index_layout: PdqIndexLayout,
}

/// The PDQ multi-index layouts a builder can write (docs/mhset-format.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PdqIndexLayout {
    /// Key widths and table count chosen for the set's size (about 10 tables of 25-26 bits
    /// at 10^8 hashes, 16 of 16 bits below ~2·10^5): far fewer candidates per query on large
    /// sets. Readers before this layout existed ignore it and scan.
    #[default]
    Tuned,
    /// The 16 x 16-bit index of earlier versions, which older readers also use.
    Slots16,
    /// The tuned layout with these key widths (each 8-30 bits, summing to 256, at most 32
    /// tables), whatever the set's size: for tests and measurements.
    TunedWidths(&'static [u32]),
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            temp_dir: None,
            memory_budget_bytes: 1 << 30,
            strict: false,
            build_time: None,
            max_bad_records_kept: 100_000,
            merge_fan_in: 64,
            pdq_multi_index_min: 1 << 16,
            pdq_index_layout: PdqIndexLayout::Tuned,
        }
    }
}

/// A source added to a builder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SourceId(pub u32);

/// A bad record as reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportedBadRecord {
    /// The source it came from (index into [`BuildReport::sources`]).
    pub source: SourceId,
    /// Where in that source, and why it was refused.
    pub record: BadRecord,
}

/// Per-kind figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KindStats {
    /// The hash kind these figures are for.
    pub kind: HashKind,
    /// Values received (duplicates included).
    pub input_values: u64,
    /// Distinct values written.
    pub distinct_values: u64,
    /// Sorted runs spilled to disk.
    pub spilled_runs: u64,
}

/// What a build did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildReport {
    /// The file written (`None` for [`Builder::finish_to_vec`]).
    pub output: Option<PathBuf>,
    /// Size of the set in bytes.
    pub bytes_written: u64,
    /// BLAKE3 of the file as stored in its trailer, hex.
    pub checksum: String,
    /// Build time recorded in the provenance, seconds since the Unix epoch.
    pub build_time_unix: u64,
    /// Sources with their accepted and bad record counts.
    pub sources: Vec<SourceInfo>,
    /// The sets written, each with its disposition and sources, in order of first use.
    pub sets: Vec<SetInfo>,
    /// Records accepted.
    pub records_added: u64,
    /// Distinct records stored (identical source + metadata stored once).
    pub records_stored: u64,
    /// Values with more than one record.
    pub multi_member_entries: u64,
    /// Figures for every hash kind (zeros for kinds with no values), MD5 first.
    pub kinds: Vec<KindStats>,
    /// Bad records, in the order reported, up to `max_bad_records_kept`.
    pub bad_records: Vec<ReportedBadRecord>,
    /// Bad records counted but not listed above.
    pub bad_records_not_listed: u64,
}

/// Why a build failed. No output file is left behind in any case (the destination is only
/// replaced by a complete set).
#[derive(Debug, Error)]
pub enum BuildError {
    /// A temporary file, the output or its directory could not be written: usually a full
    /// disk or a missing or read-only directory (see [`BuildOptions::temp_dir`]).
    #[error("reference set build: cannot {action} {path}: {source}")]
    Io {
        /// What was being done ("write", "sync", "create a run in", ...).
        action: &'static str,
        /// The file or directory concerned.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// A [`SourceId`] this builder did not hand out: a bug in the caller.
    #[error("reference set build: source id {source_id} was not returned by add_source")]
    UnknownSource {
        /// The id given.
        source_id: u32,
    },
    /// Two sources name the same set with different dispositions.
    #[error(
        "set {set_name:?} is already {existing} but source {source_name:?} asks for \
         {requested}: give one of them another set name"
    )]
    DispositionConflict {
        /// The set name both use.
        set_name: String,
        /// The source added second.
        source_name: String,
        /// The set's disposition ("alert" or "ignore").
        existing: &'static str,
        /// The disposition the second source asked for.
        requested: &'static str,
    },
    /// A record the importer could not use, with [`BuildOptions::strict`] set.
    #[error(
        "bad record in {source_name} at line/record {line}: {reason} (strict mode: fix the \
         source or build without strict mode to count and skip bad records)"
    )]
    BadRecord {
        /// The source's name.
        source_name: String,
        /// 1-based line number, or record index for structured formats.
        line: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// A [`BuildOptions`] value the format cannot hold.
    #[error("reference set build: invalid options: {reason}")]
    InvalidOptions {
        /// What is wrong and what is allowed.
        reason: String,
    },
    /// A count or size beyond what the format can address (u32 record and entry ids).
    #[error("reference set too large: {what} exceeds {limit}; split the sources into several sets")]
    TooLarge {
        /// What overflowed ("the number of records", ...).
        what: &'static str,
        /// The format's limit.
        limit: u64,
    },
}

fn io_err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> BuildError + 'a {
    move |source| BuildError::Io { action, path: path.to_path_buf(), source }
}

// ---------------------------------------------------------------------------------------
// Sort items
// ---------------------------------------------------------------------------------------

/// A hash value in sortable form; `Ord` is the stored order.
trait Key: Copy + Ord + Send + Sync {
    const LEN: usize;
    fn write_stored(&self, out: &mut [u8]);
    fn read_stored(b: &[u8]) -> Self;
}

impl<const N: usize> Key for [u8; N] {
    const LEN: usize = N;
    fn write_stored(&self, out: &mut [u8]) {
        out.copy_from_slice(self);
    }
    fn read_stored(b: &[u8]) -> Self {
        let mut a = [0u8; N];
        a.copy_from_slice(b);
        a
    }
}

impl Key for u64 {
    const LEN: usize = 8;
    fn write_stored(&self, out: &mut [u8]) {
        out.copy_from_slice(&self.to_le_bytes());
    }
    fn read_stored(b: &[u8]) -> Self {
        format::le_u64(b)
    }
}

/// Quality byte for "not given".
const NO_QUALITY: u8 = u8::MAX;

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Item<K> {
    key: K,
    record: u32,
    quality: u8,
}

/// One kind's sort buffer and its spilled runs.
struct Buf<K> {
    kind: HashKind,
    items: Vec<Item<K>>,
    runs: Vec<File>,
    input_values: u64,
}

impl<K: Key> Buf<K> {
    fn new(kind: HashKind) -> Self {
        Buf { kind, items: Vec::new(), runs: Vec::new(), input_values: 0 }
    }

    fn allocated(&self) -> usize {
        self.items.capacity() * std::mem::size_of::<Item<K>>()
    }

    fn spill(&mut self, temp_dir: &Path) -> Result<(), BuildError> {
        if self.items.is_empty() {
            return Ok(());
        }
        self.items.par_sort_unstable();
        let file = tempfile::tempfile_in(temp_dir).map_err(io_err("create a run in", temp_dir))?;
        let mut w = BufWriter::with_capacity(1 << 20, file);
        write_items(&mut w, &self.items).map_err(io_err("write a run in", temp_dir))?;
        let file =
            w.into_inner().map_err(|e| io_err("write a run in", temp_dir)(e.into_error()))?;
        self.runs.push(file);
        // Free the buffer: the next run grows from small again, so memory stays bounded.
        self.items = Vec::new();
        Ok(())
    }
}

fn item_len<K: Key>() -> usize {
    K::LEN + 5
}

fn write_items<K: Key>(w: &mut impl Write, items: &[Item<K>]) -> io::Result<()> {
    let mut buf = vec![0u8; item_len::<K>()];
    for it in items {
        it.key.write_stored(&mut buf[..K::LEN]);
        buf[K::LEN..K::LEN + 4].copy_from_slice(&it.record.to_le_bytes());
        buf[K::LEN + 4] = it.quality;
        w.write_all(&buf)?;
    }
    Ok(())
}

/// A sorted input of the k-way merge.
enum RunSource<K> {
    Memory(std::vec::IntoIter<Item<K>>),
    File(BufReader<File>),
}

impl<K: Key> RunSource<K> {
    fn from_file(mut f: File) -> io::Result<Self> {
        f.seek(SeekFrom::Start(0))?;
        Ok(RunSource::File(BufReader::with_capacity(1 << 16, f)))
    }

    fn next(&mut self, buf: &mut [u8]) -> io::Result<Option<Item<K>>> {
        match self {
            RunSource::Memory(it) => Ok(it.next()),
            RunSource::File(r) => {
                // Fill the item; a clean end of file is only allowed at an item boundary.
                let mut filled = 0;
                while filled < buf.len() {
                    match r.read(&mut buf[filled..])? {
                        0 if filled == 0 => return Ok(None),
                        0 => {
                            return Err(io::Error::new(
                                io::ErrorKind::UnexpectedEof,
                                "run file cut short",
                            ));
                        }
                        n => filled += n,
                    }
                }
                Ok(Some(Item {
                    key: K::read_stored(&buf[..K::LEN]),
                    record: format::le_u32(&buf[K::LEN..K::LEN + 4]),
                    quality: buf[K::LEN + 4],
                }))
            }
        }
    }
}

/// K-way merge of sorted sources.
struct Merger<K> {
    sources: Vec<RunSource<K>>,
    heap: BinaryHeap<Reverse<(Item<K>, usize)>>,
    buf: Vec<u8>,
}

impl<K: Key> Merger<K> {
    fn new(mut sources: Vec<RunSource<K>>) -> io::Result<Self> {
        let mut buf = vec![0u8; item_len::<K>()];
        let mut heap = BinaryHeap::with_capacity(sources.len());
        for (i, s) in sources.iter_mut().enumerate() {
            if let Some(item) = s.next(&mut buf)? {
                heap.push(Reverse((item, i)));
            }
        }
        Ok(Merger { sources, heap, buf })
    }

    fn next(&mut self) -> io::Result<Option<Item<K>>> {
        let Some(Reverse((item, i))) = self.heap.pop() else { return Ok(None) };
        if let Some(next) = self.sources[i].next(&mut self.buf)? {
            self.heap.push(Reverse((next, i)));
        }
        Ok(Some(item))
    }
}

// ---------------------------------------------------------------------------------------
// Staging files
// ---------------------------------------------------------------------------------------

/// An anonymous temporary file written through a buffer, with its length.
struct Staging {
    writer: BufWriter<File>,
    len: u64,
}

impl Staging {
    fn new(dir: &Path) -> Result<Self, BuildError> {
        let f = tempfile::tempfile_in(dir).map_err(io_err("create a temporary file in", dir))?;
        Ok(Staging { writer: BufWriter::with_capacity(1 << 20, f), len: 0 })
    }

    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.len += bytes.len() as u64;
        self.writer.write_all(bytes)
    }

    fn into_content(self) -> io::Result<Content> {
        let mut f = self.writer.into_inner().map_err(|e| e.into_error())?;
        f.seek(SeekFrom::Start(0))?;
        Ok(Content::File(f, self.len))
    }
}

/// A section's bytes: in memory or in a staging file.
enum Content {
    Bytes(Vec<u8>),
    File(File, u64),
}

impl Content {
    fn len(&self) -> u64 {
        match self {
            Content::Bytes(b) => b.len() as u64,
            Content::File(_, n) => *n,
        }
    }
}

/// Small direct-mapped cache that makes identical byte strings share an id. Fixed size and
/// content-addressed with a fixed hash, so the ids depend only on the input order.
struct DedupCache<T> {
    slots: Vec<Option<(Vec<T>, u32)>>,
    max_len: usize,
}

impl<T: Copy + PartialEq + Into<u64>> DedupCache<T> {
    fn new(slots: usize, max_len: usize) -> Self {
        DedupCache { slots: (0..slots).map(|_| None).collect(), max_len }
    }

    fn slot(&self, key: &[T]) -> usize {
        // FNV-1a: fixed, not randomised, so builds are reproducible.
        let mut h = 0xcbf2_9ce4_8422_2325u64;
        for &v in key {
            h = (h ^ v.into()).wrapping_mul(0x0000_0100_0000_01B3);
        }
        (h ^ (h >> 32)) as usize % self.slots.len()
    }

    fn get(&self, key: &[T]) -> Option<u32> {
        match &self.slots[self.slot(key)] {
            Some((k, id)) if k.as_slice() == key => Some(*id),
            _ => None,
        }
    }

    fn put(&mut self, key: &[T], id: u32) {
        if key.len() <= self.max_len {
            let s = self.slot(key);
            self.slots[s] = Some((key.to_vec(), id));
        }
    }
}

/// Multi-member lists: offsets (u64) and members (u32), shared by identical lists.
struct Lists {
    offsets: Staging,
    members: Staging,
    count: u64,
    member_count: u64,
    cache: DedupCache<u32>,
}

impl Lists {
    fn intern(&mut self, records: &[u32]) -> io::Result<u64> {
        if let Some(id) = self.cache.get(records) {
            return Ok(u64::from(id));
        }
        let id = self.count;
        for r in records {
            self.members.write(&r.to_le_bytes())?;
        }
        self.member_count += records.len() as u64;
        self.offsets.write(&self.member_count.to_le_bytes())?;
        self.count += 1;
        if let Ok(small) = u32::try_from(id) {
            self.cache.put(records, small);
        }
        Ok(id)
    }
}

/// The sections of one kind, ready to write.
struct KindOutput {
    kind: HashKind,
    values: Content,
    entries: Content,
    prefix: Content,
    quality: Option<Content>,
    /// PDQ multi-index (ids, offsets).
    mih: Option<(Content, Content)>,
    /// Tuned PDQ multi-index (layout, ids, offsets).
    tuned: Option<(Content, Content, Content)>,
    count: u64,
}

// ---------------------------------------------------------------------------------------
// Builder
// ---------------------------------------------------------------------------------------

/// Streams records into a `.mhset` file.
///
/// Call [`Builder::add_source`] for each source file, [`Builder::add`] (or
/// [`Builder::record_bad`]) for each of its records, then [`Builder::finish`] to write the
/// set, or [`Builder::finish_to_vec`] to keep it in memory. The importers
/// ([`crate::import`]) drive a builder from source files; here records are made by hand:
///
/// ```
/// use mediahash::refset::build::{BuildOptions, Builder};
/// use mediahash::refset::read::RefSet;
/// use mediahash::refset::{Disposition, EntryMeta, HashValue, Record, SourceInfo};
///
/// let mut builder = Builder::new(BuildOptions { build_time: Some(0), ..Default::default() })?;
/// let source = builder.add_source(SourceInfo {
///     name: "known.txt".into(),
///     format: "md5sum".into(),
///     sha256: String::new(),
///     disposition: Disposition::Alert,
///     set_name: "case-42".into(),
///     records: 0,
///     bad_records: 0,
///     empty_file_records_skipped: 0,
///     source_version: None,
/// })?;
/// let md5 = mediahash::digest::digest_bytes(b"abc", Default::default()).md5;
/// builder.add(source, Record {
///     hashes: vec![HashValue::Md5(md5)],
///     meta: EntryMeta { category: Some("1".into()), ..Default::default() },
/// })?;
/// let (bytes, report) = builder.finish_to_vec()?;
/// assert_eq!(report.records_added, 1);
///
/// let set = RefSet::from_bytes(bytes)?;
/// let found = set.lookup(&HashValue::Md5(md5))?;
/// assert_eq!(found.len(), 1);
/// assert_eq!(found[0].set_name(), "case-42");
/// assert_eq!(found[0].disposition(), Disposition::Alert);
/// assert_eq!(found[0].membership.meta.category, Some("1"));
/// assert!(set.lookup(&HashValue::Md5([0; 16]))?.is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Builder {
    opts: BuildOptions,
    temp_dir: PathBuf,
    sources: Vec<SourceInfo>,
    sets: Vec<SetInfo>,
    record_data: Staging,
    record_offsets: Staging,
    records_stored: u64,
    records_added: u64,
    record_cache: DedupCache<u8>,
    encoded: Vec<u8>,
    md5: Buf<[u8; 16]>,
    sha1: Buf<[u8; 20]>,
    sha256: Buf<[u8; 32]>,
    pdq: Buf<[u8; 32]>,
    phash: Buf<u64>,
    dhash: Buf<u64>,
    ahash: Buf<u64>,
    photodna: Buf<[u8; 144]>,
    bad_records: Vec<ReportedBadRecord>,
    bad_records_not_listed: u64,
    /// PDQ windows of pictures ([`Builder::add_picture`]), encoded items; sorted at the end.
    windows: Vec<[u8; format::WINDOW_ITEM_LEN]>,
    /// vPDQ frames of videos ([`Builder::add_video`]), encoded items; sorted at the end.
    video_frames: Vec<[u8; format::VIDEO_FRAME_ITEM_LEN]>,
}

/// Calls `$f` on every kind buffer (they have different key types).
macro_rules! each_buf {
    ($self:ident, $b:ident => $body:expr) => {{
        {
            let $b = &mut $self.md5;
            $body
        }
        {
            let $b = &mut $self.sha1;
            $body
        }
        {
            let $b = &mut $self.sha256;
            $body
        }
        {
            let $b = &mut $self.pdq;
            $body
        }
        {
            let $b = &mut $self.phash;
            $body
        }
        {
            let $b = &mut $self.dhash;
            $body
        }
        {
            let $b = &mut $self.ahash;
            $body
        }
        {
            let $b = &mut $self.photodna;
            $body
        }
    }};
}

impl Builder {
    /// An empty builder. Creates its staging files in [`BuildOptions::temp_dir`] (unnamed
    /// where the platform allows, so nothing is left behind if the process dies).
    ///
    /// # Errors
    /// [`BuildError::Io`] when the temporary directory cannot be written.
    pub fn new(opts: BuildOptions) -> Result<Self, BuildError> {
        if let PdqIndexLayout::TunedWidths(w) = opts.pdq_index_layout
            && (w.is_empty()
                || w.len() > format::TUNED_MAX_TABLES
                || w.iter().any(|w| !format::TUNED_WIDTHS.contains(w))
                || w.iter().sum::<u32>() != 256)
        {
            return Err(BuildError::InvalidOptions {
                reason: format!(
                    "PDQ index key widths {w:?}: give 1 to {} widths of {}-{} bits summing to 256",
                    format::TUNED_MAX_TABLES,
                    format::TUNED_WIDTHS.start(),
                    format::TUNED_WIDTHS.end()
                ),
            });
        }
        let temp_dir = opts.temp_dir.clone().unwrap_or_else(std::env::temp_dir);
        let mut record_offsets = Staging::new(&temp_dir)?;
        record_offsets.write(&0u64.to_le_bytes()).map_err(io_err("write to", &temp_dir))?;
        Ok(Builder {
            record_data: Staging::new(&temp_dir)?,
            record_offsets,
            temp_dir,
            opts,
            sources: Vec::new(),
            sets: Vec::new(),
            records_stored: 0,
            records_added: 0,
            record_cache: DedupCache::new(4096, 512),
            windows: Vec::new(),
            video_frames: Vec::new(),
            encoded: Vec::new(),
            md5: Buf::new(HashKind::Md5),
            sha1: Buf::new(HashKind::Sha1),
            sha256: Buf::new(HashKind::Sha256),
            pdq: Buf::new(HashKind::Pdq),
            phash: Buf::new(HashKind::PHash),
            dhash: Buf::new(HashKind::DHash),
            ahash: Buf::new(HashKind::AHash),
            photodna: Buf::new(HashKind::PhotoDna),
            bad_records: Vec::new(),
            bad_records_not_listed: 0,
        })
    }

    /// Registers a source file. Its records go to the set named `set_name` (created on
    /// first use with the source's disposition). `records` and `bad_records` are ignored:
    /// the builder counts them.
    pub fn add_source(&mut self, mut info: SourceInfo) -> Result<SourceId, BuildError> {
        let id = u32::try_from(self.sources.len()).map_err(|_| BuildError::TooLarge {
            what: "the number of sources",
            limit: u32::MAX.into(),
        })?;
        match self.sets.iter_mut().find(|s| s.name == info.set_name) {
            Some(set) if set.disposition != info.disposition => {
                return Err(BuildError::DispositionConflict {
                    set_name: info.set_name,
                    source_name: info.name,
                    existing: set.disposition.as_str(),
                    requested: info.disposition.as_str(),
                });
            }
            Some(set) => set.sources.push(id),
            None => self.sets.push(SetInfo {
                name: info.set_name.clone(),
                disposition: info.disposition,
                sources: vec![id],
            }),
        }
        info.records = 0;
        info.bad_records = 0;
        info.empty_file_records_skipped = 0;
        self.sources.push(info);
        Ok(SourceId(id))
    }

    /// Completes a source's description once its file has been read: the detected format
    /// label, the file's SHA-256 (hex) and the version the source states. Counts stay the
    /// builder's own.
    pub fn complete_source(
        &mut self,
        source: SourceId,
        format: String,
        sha256: String,
        source_version: Option<String>,
    ) -> Result<(), BuildError> {
        self.check_source(source)?;
        let info = &mut self.sources[source.0 as usize];
        info.format = format;
        info.sha256 = sha256;
        info.source_version = source_version;
        Ok(())
    }

    /// Records how many of a source's records were skipped for holding only the empty
    /// file's hashes (the importer drops them before they reach the builder), for the
    /// provenance section.
    pub fn set_empty_file_records_skipped(
        &mut self,
        source: SourceId,
        skipped: u64,
    ) -> Result<(), BuildError> {
        self.check_source(source)?;
        self.sources[source.0 as usize].empty_file_records_skipped = skipped;
        Ok(())
    }

    fn check_source(&self, source: SourceId) -> Result<(), BuildError> {
        if (source.0 as usize) < self.sources.len() {
            Ok(())
        } else {
            Err(BuildError::UnknownSource { source_id: source.0 })
        }
    }

    /// Reports a record the importer could not use. Counted in the source and listed in
    /// the report; in strict mode it is an error.
    pub fn record_bad(&mut self, source: SourceId, bad: BadRecord) -> Result<(), BuildError> {
        self.check_source(source)?;
        let info = &mut self.sources[source.0 as usize];
        info.bad_records += 1;
        if self.opts.strict {
            return Err(BuildError::BadRecord {
                source_name: info.name.clone(),
                line: bad.line,
                reason: bad.reason,
            });
        }
        if self.bad_records.len() < self.opts.max_bad_records_kept {
            self.bad_records.push(ReportedBadRecord { source, record: bad });
        } else {
            self.bad_records_not_listed += 1;
        }
        Ok(())
    }

    /// Adds one record. A record the builder cannot store (no hash values, a PDQ quality
    /// above 100) is handled like [`Builder::record_bad`], with the record's 1-based
    /// position among this source's records as its line.
    pub fn add(&mut self, source: SourceId, record: Record) -> Result<(), BuildError> {
        self.add_record(source, record).map(|_| ())
    }

    /// Adds the record of a picture with the PDQ of its windows
    /// ([`crate::robust::reference_windows`]), which robust matching searches
    /// ([`RefSet::search_pdq_windows`](super::RefSet::search_pdq_windows)). The record should
    /// carry the picture's plain PDQ and a file name, so that its meta is its own (records
    /// with identical meta are stored once). Windows are held in memory until
    /// [`Builder::finish`]: 40 bytes each.
    pub fn add_picture(
        &mut self,
        source: SourceId,
        record: Record,
        windows: &[crate::robust::WindowHash],
    ) -> Result<(), BuildError> {
        if let Some(id) = self.add_record(source, record)? {
            for w in windows {
                let mut item = [0u8; format::WINDOW_ITEM_LEN];
                item[..32].copy_from_slice(&w.hash.0);
                item[32..36].copy_from_slice(&id.to_le_bytes());
                item[36] = w.window.code();
                item[37] = w.quality.min(100);
                self.windows.push(item);
            }
        }
        Ok(())
    }

    /// Adds the record of a known video with its vPDQ frames (section "PDQ video frames"),
    /// which video matching compares with a seized video's frames. The record should carry
    /// the frames' distinct PDQ hashes of quality ≥ 50 (so a still of the video is found by
    /// plain PDQ search) and the video's id as `source_id`, so that its meta is its own.
    /// Frames are held in memory until [`Builder::finish`]: 48 bytes each. Frame numbers
    /// must fit in 32 bits.
    pub fn add_video(
        &mut self,
        source: SourceId,
        record: Record,
        frames: &[crate::perceptual::vpdq::VpdqFrame],
    ) -> Result<(), BuildError> {
        if let Some(id) = self.add_record(source, record)? {
            for f in frames {
                let mut item = [0u8; format::VIDEO_FRAME_ITEM_LEN];
                item[..4].copy_from_slice(&id.to_le_bytes());
                item[4..8]
                    .copy_from_slice(&u32::try_from(f.frame).unwrap_or(u32::MAX).to_le_bytes());
                item[8..12].copy_from_slice(&f.timestamp.to_bits().to_le_bytes());
                item[12] = f.quality.min(100);
                item[16..].copy_from_slice(&f.hash.0);
                self.video_frames.push(item);
            }
        }
        Ok(())
    }

    /// [`Builder::add`], returning the stored record's id (`None` when it was bad).
    fn add_record(&mut self, source: SourceId, record: Record) -> Result<Option<u32>, BuildError> {
        self.check_source(source)?;
        let info = &self.sources[source.0 as usize];
        let position = info.records + info.bad_records + 1;
        let problem = if record.hashes.is_empty() {
            Some("record has no hash values".to_string())
        } else {
            record.hashes.iter().find_map(|h| match h {
                HashValue::Pdq { quality: Some(q), .. } if *q > 100 => {
                    Some(format!("PDQ quality {q} is outside 0-100"))
                }
                _ => None,
            })
        };
        if let Some(reason) = problem {
            return self.record_bad(source, BadRecord { line: position, reason }).map(|_| None);
        }
        let record_id = self.store_record(source, &record)?;
        for h in &record.hashes {
            self.push_value(h, record_id)?;
        }
        self.sources[source.0 as usize].records += 1;
        self.records_added += 1;
        Ok(Some(record_id))
    }

    fn store_record(&mut self, source: SourceId, record: &Record) -> Result<u32, BuildError> {
        self.encoded.clear();
        format::encode_record(&mut self.encoded, source.0, &record.meta);
        if let Some(id) = self.record_cache.get(&self.encoded) {
            return Ok(id);
        }
        // Entry ids are u32 and lists take ids after the records: keep room for them.
        let id = u32::try_from(self.records_stored).ok().filter(|&id| id < u32::MAX).ok_or(
            BuildError::TooLarge { what: "the number of records", limit: u32::MAX.into() },
        )?;
        let dir = self.temp_dir.clone();
        self.record_data.write(&self.encoded).map_err(io_err("write to", &dir))?;
        let end = self.record_data.len;
        self.record_offsets.write(&end.to_le_bytes()).map_err(io_err("write to", &dir))?;
        self.records_stored += 1;
        self.record_cache.put(&self.encoded, id);
        Ok(id)
    }

    fn push_value(&mut self, value: &HashValue, record: u32) -> Result<(), BuildError> {
        fn item<K>(key: K, record: u32) -> Item<K> {
            Item { key, record, quality: NO_QUALITY }
        }
        match value {
            HashValue::Md5(v) => self.push_to(|b| &mut b.md5, item(*v, record)),
            HashValue::Sha1(v) => self.push_to(|b| &mut b.sha1, item(*v, record)),
            HashValue::Sha256(v) => self.push_to(|b| &mut b.sha256, item(*v, record)),
            HashValue::Pdq { hash, quality } => self.push_to(
                |b| &mut b.pdq,
                Item { key: *hash, record, quality: quality.unwrap_or(NO_QUALITY) },
            ),
            HashValue::PHash(v) => self.push_to(|b| &mut b.phash, item(*v, record)),
            HashValue::DHash(v) => self.push_to(|b| &mut b.dhash, item(*v, record)),
            HashValue::AHash(v) => self.push_to(|b| &mut b.ahash, item(*v, record)),
            HashValue::PhotoDna(v) => self.push_to(|b| &mut b.photodna, item(**v, record)),
        }
    }

    fn allocated(&mut self) -> usize {
        let mut total = 0;
        each_buf!(self, b => total += b.allocated());
        total
    }

    /// Pushes an item, spilling the largest buffers first when growing would pass the budget.
    fn push_to<K: Key>(
        &mut self,
        buf: impl Fn(&mut Self) -> &mut Buf<K>,
        item: Item<K>,
    ) -> Result<(), BuildError> {
        let b = buf(self);
        b.input_values += 1;
        if b.items.len() == b.items.capacity() {
            let grow = b.items.capacity().max(16);
            let grow_bytes = grow * std::mem::size_of::<Item<K>>();
            while self.allocated() + grow_bytes > self.opts.memory_budget_bytes {
                if !self.spill_largest()? {
                    break;
                }
            }
            let b = buf(self);
            if b.items.len() == b.items.capacity() {
                b.items.reserve_exact(grow);
            }
        }
        buf(self).items.push(item);
        Ok(())
    }

    /// Spills the buffer holding the most memory; false when all are empty.
    fn spill_largest(&mut self) -> Result<bool, BuildError> {
        fn held<K: Key>(b: &Buf<K>) -> usize {
            if b.items.is_empty() { 0 } else { b.allocated() }
        }
        let held = [
            held(&self.md5),
            held(&self.sha1),
            held(&self.sha256),
            held(&self.pdq),
            held(&self.phash),
            held(&self.dhash),
            held(&self.ahash),
            held(&self.photodna),
        ];
        let Some((target, _)) = held
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .max_by_key(|(i, n)| (**n, Reverse(*i)))
        else {
            return Ok(false);
        };
        let dir = self.temp_dir.clone();
        match target {
            0 => self.md5.spill(&dir)?,
            1 => self.sha1.spill(&dir)?,
            2 => self.sha256.spill(&dir)?,
            3 => self.pdq.spill(&dir)?,
            4 => self.phash.spill(&dir)?,
            5 => self.dhash.spill(&dir)?,
            6 => self.ahash.spill(&dir)?,
            _ => self.photodna.spill(&dir)?,
        }
        Ok(true)
    }

    /// Builds the file at `out_path` (atomically: temporary file in the same directory,
    /// synced, renamed over `out_path`).
    pub fn finish(self, out_path: impl AsRef<Path>) -> Result<BuildReport, BuildError> {
        let out_path = out_path.as_ref();
        let dir = match out_path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let mut builder = tempfile::Builder::new();
        builder.prefix(".mhset-build-");
        // A set is an ordinary output file: created with mode 0666 less the umask, as any
        // other tool's output (tempfile's default, 0600, would hide it from colleagues).
        #[cfg(unix)]
        builder.permissions(
            <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o666),
        );
        let tmp =
            builder.tempfile_in(&dir).map_err(io_err("create a temporary output file in", &dir))?;
        let mut report = {
            let mut w = BufWriter::with_capacity(1 << 20, tmp.as_file());
            let report = self.write_to(&mut w, out_path)?;
            w.flush().map_err(io_err("write", out_path))?;
            report
        };
        tmp.as_file().sync_all().map_err(io_err("sync", out_path))?;
        tmp.persist(out_path).map_err(|e| io_err("rename the output to", out_path)(e.error))?;
        // Best effort: make the rename durable too.
        if let Ok(d) = File::open(&dir) {
            let _ = d.sync_all();
        }
        report.output = Some(out_path.to_path_buf());
        Ok(report)
    }

    /// Builds the file in memory (tests, small sets).
    pub fn finish_to_vec(self) -> Result<(Vec<u8>, BuildReport), BuildError> {
        let mut out = Vec::new();
        let report = self.write_to(&mut out, Path::new("<memory>"))?;
        Ok((out, report))
    }

    fn write_to(mut self, w: &mut impl Write, out_path: &Path) -> Result<BuildReport, BuildError> {
        let dir = self.temp_dir.clone();
        let records = self.records_stored;
        let mut lists = Lists {
            offsets: Staging::new(&dir)?,
            members: Staging::new(&dir)?,
            count: 0,
            member_count: 0,
            cache: DedupCache::new(4096, 64),
        };
        lists.offsets.write(&0u64.to_le_bytes()).map_err(io_err("write to", &dir))?;
        let fan_in = self.opts.merge_fan_in.max(2);
        let mut kinds = Vec::new();
        let mut stats = Vec::new();
        macro_rules! merge_kind {
            ($field:ident) => {{
                let fresh = Buf::new(self.$field.kind);
                let buf = std::mem::replace(&mut self.$field, fresh);
                let runs = buf.runs.len() as u64;
                let input = buf.input_values;
                let kind = buf.kind;
                let out = merge_kind(buf, records, &mut lists, fan_in, &dir, &self.opts)?;
                stats.push(KindStats {
                    kind,
                    input_values: input,
                    distinct_values: out.as_ref().map_or(0, |o| o.count),
                    spilled_runs: runs,
                });
                kinds.extend(out);
            }};
        }
        merge_kind!(md5);
        merge_kind!(sha1);
        merge_kind!(sha256);
        merge_kind!(pdq);
        merge_kind!(phash);
        merge_kind!(dhash);
        merge_kind!(ahash);
        merge_kind!(photodna);

        let build_time_unix = self.opts.build_time.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        });
        let provenance = Provenance {
            format_version: FORMAT_VERSION,
            tool: format!("mediahash {}", crate::VERSION),
            build_time_unix,
            sets: self.sets.clone(),
            sources: self.sources.clone(),
        };
        let provenance_json =
            serde_json::to_vec(&provenance).expect("provenance is plain data and serialises");

        let staged = |s: Staging| s.into_content().map_err(io_err("read back", &dir));
        let mut sections: Vec<(u32, u32, u64, Content)> = vec![
            (kind::PROVENANCE, 1, provenance_json.len() as u64, Content::Bytes(provenance_json)),
            (kind::RECORD_OFFSETS, 8, records + 1, staged(self.record_offsets)?),
            (kind::RECORD_DATA, 1, self.record_data.len, staged(self.record_data)?),
            (kind::LIST_OFFSETS, 8, lists.count + 1, staged(lists.offsets)?),
            (kind::LIST_MEMBERS, 4, lists.member_count, staged(lists.members)?),
        ];
        for k in kinds {
            let hk = k.kind;
            let vlen = hk.value_len() as u32;
            let prefix_count = k.prefix.len() / 4;
            sections.push((kind::hash_section(hk, kind::SUB_VALUES), vlen, k.count, k.values));
            sections.push((kind::hash_section(hk, kind::SUB_ENTRIES), 4, k.count, k.entries));
            sections.push((kind::hash_section(hk, kind::SUB_PREFIX), 4, prefix_count, k.prefix));
            if let Some(q) = k.quality {
                sections.push((kind::hash_section(hk, kind::SUB_QUALITY), 1, k.count, q));
            }
            if let Some((ids, offsets)) = k.mih {
                let slots = format::MIH_SLOTS as u64;
                let offsets_count = offsets.len() / 4;
                sections.push((kind::hash_section(hk, kind::SUB_MIH_IDS), 4, slots * k.count, ids));
                sections.push((
                    kind::hash_section(hk, kind::SUB_MIH_OFFSETS),
                    4,
                    offsets_count,
                    offsets,
                ));
            }
            if let Some((layout, ids, offsets)) = k.tuned {
                let (layout_count, ids_count) = (layout.len() / 4, ids.len() / 4);
                let offsets_count = offsets.len() / 4;
                let section = |sub| kind::hash_section(hk, sub);
                sections.push((section(kind::SUB_TUNED_LAYOUT), 4, layout_count, layout));
                sections.push((section(kind::SUB_TUNED_IDS), 4, ids_count, ids));
                sections.push((section(kind::SUB_TUNED_OFFSETS), 4, offsets_count, offsets));
            }
        }

        if !self.windows.is_empty() {
            self.windows.sort_unstable();
            self.windows.dedup();
            let count = self.windows.len() as u64;
            let bytes: Vec<u8> = self.windows.iter().flatten().copied().collect();
            sections.push((
                kind::hash_section(HashKind::Pdq, kind::SUB_WINDOWS),
                format::WINDOW_ITEM_LEN as u32,
                count,
                Content::Bytes(bytes),
            ));
        }

        if !self.video_frames.is_empty() {
            let key = |i: &[u8; format::VIDEO_FRAME_ITEM_LEN]| {
                (format::le_u32(&i[..4]), format::le_u32(&i[4..8]))
            };
            self.video_frames.sort_unstable_by(|a, b| key(a).cmp(&key(b)).then(a.cmp(b)));
            self.video_frames.dedup_by(|a, b| key(a) == key(b));
            let count = self.video_frames.len() as u64;
            let bytes: Vec<u8> = self.video_frames.iter().flatten().copied().collect();
            sections.push((
                kind::hash_section(HashKind::Pdq, kind::SUB_VIDEO_FRAMES),
                format::VIDEO_FRAME_ITEM_LEN as u32,
                count,
                Content::Bytes(bytes),
            ));
        }

        // Layout: header, table, then each section at the next 64-byte boundary.
        let table_len = (sections.len() * SECTION_ENTRY_LEN) as u64;
        let mut at = format::align_up(HEADER_LEN as u64 + table_len).expect("small");
        let mut table = Vec::with_capacity(sections.len());
        for (kind, item_len, count, content) in &sections {
            debug_assert_eq!(count * u64::from(*item_len), content.len());
            table.push(SectionEntry {
                kind: *kind,
                item_len: *item_len,
                offset: at,
                length: content.len(),
                count: *count,
            });
            at = format::align_up(at + content.len())
                .ok_or(BuildError::TooLarge { what: "the file size", limit: u64::MAX })?;
        }
        let file_len = at + format::TRAILER_LEN as u64;
        let header = Header {
            version: FORMAT_VERSION,
            file_len,
            table_offset: HEADER_LEN as u64,
            section_count: sections.len() as u32,
            entry_len: SECTION_ENTRY_LEN as u32,
        };

        let mut out = HashingWriter { inner: w, hasher: blake3::Hasher::new(), written: 0 };
        let werr = io_err("write", out_path);
        let result: io::Result<()> = (|| {
            out.write_all(&header.to_bytes())?;
            for entry in &table {
                out.write_all(&entry.to_bytes())?;
            }
            for (entry, (_, _, _, content)) in table.iter().zip(sections) {
                out.pad_to(entry.offset)?;
                match content {
                    Content::Bytes(b) => out.write_all(&b)?,
                    Content::File(mut f, len) => {
                        f.seek(SeekFrom::Start(0))?;
                        let copied = io::copy(&mut BufReader::with_capacity(1 << 20, f), &mut out)?;
                        if copied != len {
                            return Err(io::Error::other("staging file changed size"));
                        }
                    }
                }
            }
            out.pad_to(at)?;
            out.write_all(&format::END_MAGIC)?;
            Ok(())
        })();
        result.map_err(werr)?;
        let checksum = out.hasher.finalize();
        out.inner.write_all(checksum.as_bytes()).map_err(io_err("write", out_path))?;
        debug_assert_eq!(out.written + 32, file_len);

        Ok(BuildReport {
            output: None,
            bytes_written: file_len,
            checksum: checksum.to_hex().to_string(),
            build_time_unix,
            sources: self.sources,
            sets: self.sets,
            records_added: self.records_added,
            records_stored: records,
            multi_member_entries: lists.count,
            kinds: stats,
            bad_records: self.bad_records,
            bad_records_not_listed: self.bad_records_not_listed,
        })
    }
}

/// Counts and hashes what goes through it.
struct HashingWriter<'a, W: Write> {
    inner: &'a mut W,
    hasher: blake3::Hasher,
    written: u64,
}

impl<W: Write> HashingWriter<'_, W> {
    fn pad_to(&mut self, offset: u64) -> io::Result<()> {
        let zeros = [0u8; format::SECTION_ALIGN as usize];
        while self.written < offset {
            let n = (offset - self.written).min(zeros.len() as u64) as usize;
            self.write_all(&zeros[..n])?;
        }
        Ok(())
    }
}

impl<W: Write> Write for HashingWriter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Merges one kind's runs and buffer into its sections; `None` when the kind is empty.
fn merge_kind<K: Key>(
    mut buf: Buf<K>,
    records: u64,
    lists: &mut Lists,
    fan_in: usize,
    dir: &Path,
    opts: &BuildOptions,
) -> Result<Option<KindOutput>, BuildError> {
    if buf.items.is_empty() && buf.runs.is_empty() {
        return Ok(None);
    }
    let werr = || io_err("merge runs in", dir);
    // Reduce the runs to fewer than `fan_in` (the in-memory buffer takes one slot).
    while buf.runs.len() >= fan_in {
        let mut next = Vec::new();
        let mut runs = std::mem::take(&mut buf.runs).into_iter().peekable();
        while runs.peek().is_some() {
            let group: Vec<File> = runs.by_ref().take(fan_in).collect();
            if group.len() == 1 {
                next.extend(group);
                continue;
            }
            let sources = group
                .into_iter()
                .map(RunSource::from_file)
                .collect::<io::Result<Vec<_>>>()
                .map_err(werr())?;
            let mut merger = Merger::<K>::new(sources).map_err(werr())?;
            let file = tempfile::tempfile_in(dir).map_err(werr())?;
            let mut w = BufWriter::with_capacity(1 << 20, file);
            while let Some(item) = merger.next().map_err(werr())? {
                write_items(&mut w, &[item]).map_err(werr())?;
            }
            next.push(w.into_inner().map_err(|e| werr()(e.into_error()))?);
        }
        buf.runs = next;
    }
    buf.items.par_sort_unstable();
    let mut sources: Vec<RunSource<K>> =
        buf.runs.into_iter().map(RunSource::from_file).collect::<io::Result<_>>().map_err(werr())?;
    sources.push(RunSource::Memory(std::mem::take(&mut buf.items).into_iter()));
    let mut merger = Merger::<K>::new(sources).map_err(werr())?;

    let kind = buf.kind;
    let mut values = Staging::new(dir)?;
    let mut entries = Staging::new(dir)?;
    let mut quality = (kind == HashKind::Pdq).then(|| Staging::new(dir)).transpose()?;
    let max_bits = format::BUILD_MAX_PREFIX_BITS;
    let mut bucket_counts = vec![0u32; 1 << max_bits];
    let mut count = 0u64;
    let mut group: Vec<u32> = Vec::new();
    let mut group_key: Option<K> = None;
    let mut group_quality = NO_QUALITY;
    let mut stored = vec![0u8; K::LEN];

    let mut flush = |key: K, group: &mut Vec<u32>, q: u8| -> Result<(), BuildError> {
        let entry = if group.len() == 1 {
            u64::from(group[0])
        } else {
            records + lists.intern(group).map_err(werr())?
        };
        let entry = u32::try_from(entry).map_err(|_| BuildError::TooLarge {
            what: "records plus shared entries",
            limit: u32::MAX.into(),
        })?;
        key.write_stored(&mut stored);
        values.write(&stored).map_err(werr())?;
        entries.write(&entry.to_le_bytes()).map_err(werr())?;
        if let Some(qf) = quality.as_mut() {
            qf.write(&[q]).map_err(werr())?;
        }
        let p = format::prefix24(kind, &stored) >> (24 - max_bits);
        bucket_counts[p as usize] += 1;
        count += 1;
        if count > u64::from(u32::MAX) {
            return Err(BuildError::TooLarge {
                what: "distinct values of one kind",
                limit: u32::MAX.into(),
            });
        }
        group.clear();
        Ok(())
    };
    while let Some(item) = merger.next().map_err(werr())? {
        if group_key != Some(item.key) {
            if let Some(k) = group_key {
                flush(k, &mut group, group_quality)?;
            }
            group_key = Some(item.key);
            group_quality = NO_QUALITY;
        }
        // Items arrive sorted by record within a value: drop repeats of the same record.
        if group.last() != Some(&item.record) {
            group.push(item.record);
        }
        if item.quality != NO_QUALITY
            && (group_quality == NO_QUALITY || item.quality > group_quality)
        {
            group_quality = item.quality;
        }
    }
    if let Some(k) = group_key {
        flush(k, &mut group, group_quality)?;
    }

    // Prefix table at the width suited to the distinct count, from the finest counts.
    let bits = format::prefix_bits_for(count);
    let mut prefix = Vec::with_capacity(((1usize << bits) + 1) * 4);
    let mut running = 0u32;
    prefix.extend_from_slice(&0u32.to_le_bytes());
    for bucket in bucket_counts.chunks(1 << (max_bits - bits)) {
        running += bucket.iter().sum::<u32>();
        prefix.extend_from_slice(&running.to_le_bytes());
    }
    let content = |s: Staging| s.into_content().map_err(werr());
    let mut values = content(values)?;
    let (mut mih, mut tuned) = (None, None);
    if let Content::File(f, _) = &mut values
        && kind == HashKind::Pdq
        && count >= opts.pdq_multi_index_min
    {
        match opts.pdq_index_layout {
            PdqIndexLayout::Slots16 => {
                mih = Some(build_mih(f, count as usize, opts.memory_budget_bytes, dir)?)
            }
            PdqIndexLayout::Tuned | PdqIndexLayout::TunedWidths(_) => {
                let widths = match opts.pdq_index_layout {
                    PdqIndexLayout::TunedWidths(w) => w.to_vec(),
                    _ => format::tuned_widths_for(count),
                };
                tuned =
                    Some(build_tuned(f, count as usize, &widths, opts.memory_budget_bytes, dir)?)
            }
        }
    }
    Ok(Some(KindOutput {
        kind,
        mih,
        tuned,
        values,
        entries: content(entries)?,
        prefix: Content::Bytes(prefix),
        quality: quality.map(content).transpose()?,
        count,
    }))
}

/// Calls `visit(i, hash)` for every hash of the sorted values file, reading 1 MiB at a time.
fn for_each_value(
    values: &mut File,
    n: usize,
    visit: &mut dyn FnMut(usize, &[u8]),
) -> io::Result<()> {
    values.seek(SeekFrom::Start(0))?;
    let mut buf = vec![0u8; 32 << 15];
    let mut i = 0;
    while i < n {
        let take = (n - i).min(1 << 15);
        values.read_exact(&mut buf[..32 * take])?;
        for h in buf[..32 * take].chunks_exact(32) {
            visit(i, h);
            i += 1;
        }
    }
    Ok(())
}

/// Builds the tuned PDQ multi-index from the sorted values file, one table at a time: a
/// pass for the table's bucket counts, then passes that scatter value indexes (ascending,
/// as read) into their buckets, as many buckets per pass as fit in the memory budget.
/// Returns the layout, ids and offsets sections.
fn build_tuned(
    values: &mut File,
    n: usize,
    widths: &[u32],
    budget: usize,
    dir: &Path,
) -> Result<(Content, Content, Content), BuildError> {
    let werr = || io_err("build the tuned PDQ multi-index in", dir);
    let mut layout: Vec<u8> = (widths.len() as u32).to_le_bytes().to_vec();
    for w in widths {
        layout.extend_from_slice(&w.to_le_bytes());
    }
    let (mut ids, mut offsets) = (Staging::new(dir)?, Staging::new(dir)?);
    let cap = (budget / 4).max(1 << 10);
    let mut start = 0u32;
    for &w in widths {
        let buckets = 1usize << w;
        let mut dir_counts = vec![0u32; buckets + 1];
        for_each_value(values, n, &mut |_, h| {
            dir_counts[format::tuned_key(h, start, w) as usize + 1] += 1
        })
        .map_err(werr())?;
        for b in 0..buckets {
            dir_counts[b + 1] += dir_counts[b];
        }
        let starts = dir_counts;
        let mut lo = 0;
        while lo < buckets {
            // Buckets lo..hi, holding at most `cap` ids unless one bucket alone is larger.
            let mut hi = lo + 1;
            while hi < buckets && (starts[hi + 1] - starts[lo]) as usize <= cap {
                hi += 1;
            }
            let base = starts[lo] as usize;
            let mut buffer = vec![0u32; starts[hi] as usize - base];
            let mut cursor: Vec<u32> = starts[lo..hi].iter().map(|s| s - base as u32).collect();
            for_each_value(values, n, &mut |i, h| {
                let b = format::tuned_key(h, start, w) as usize;
                if (lo..hi).contains(&b) {
                    let c = &mut cursor[b - lo];
                    buffer[*c as usize] = i as u32;
                    *c += 1;
                }
            })
            .map_err(werr())?;
            for chunk in buffer.chunks(1 << 16) {
                let bytes: Vec<u8> = chunk.iter().flat_map(|id| id.to_le_bytes()).collect();
                ids.write(&bytes).map_err(werr())?;
            }
            lo = hi;
        }
        for chunk in starts.chunks(1 << 16) {
            let bytes: Vec<u8> = chunk.iter().flat_map(|o| o.to_le_bytes()).collect();
            offsets.write(&bytes).map_err(werr())?;
        }
        start += w;
    }
    let content = |s: Staging| s.into_content().map_err(werr());
    Ok((Content::Bytes(layout), content(ids)?, content(offsets)?))
}

/// Builds the PDQ multi-index from the sorted values file: one pass for the 16 bucket
/// histograms, then passes that scatter value indexes into their buckets, as many slots
/// (or bucket ranges of a slot) per pass as fit in the memory budget.
fn build_mih(
    values: &mut File,
    n: usize,
    budget: usize,
    dir: &Path,
) -> Result<(Content, Content), BuildError> {
    use format::{MIH_BUCKETS, MIH_SLOTS, mih_slot};
    let werr = || io_err("build the PDQ multi-index in", dir);
    let mut read_pass = |visit: &mut dyn FnMut(usize, &[u8; 32])| -> io::Result<()> {
        values.seek(SeekFrom::Start(0))?;
        let mut r = BufReader::with_capacity(1 << 20, &*values);
        let mut hash = [0u8; 32];
        for i in 0..n {
            r.read_exact(&mut hash)?;
            visit(i, &hash);
        }
        Ok(())
    };
    let row = MIH_BUCKETS + 1;
    let mut offsets = vec![0u32; MIH_SLOTS * row];
    read_pass(&mut |_, h| {
        for s in 0..MIH_SLOTS {
            offsets[s * row + usize::from(mih_slot(h, s)) + 1] += 1;
        }
    })
    .map_err(werr())?;
    for s in 0..MIH_SLOTS {
        for v in 0..MIH_BUCKETS {
            offsets[s * row + v + 1] += offsets[s * row + v];
        }
    }

    // Tasks: (slot, first bucket, end bucket), each holding at most `cap` ids unless a
    // single bucket is larger; consecutive tasks are grouped into passes of at most `cap`.
    let cap = (budget / 4).max(1 << 10);
    let start = |s: usize, v: usize| offsets[s * row + v] as usize;
    let mut tasks = Vec::new();
    for s in 0..MIH_SLOTS {
        let mut lo = 0;
        while lo < MIH_BUCKETS {
            let mut hi = lo + 1;
            while hi < MIH_BUCKETS && start(s, hi + 1) - start(s, lo) <= cap {
                hi += 1;
            }
            tasks.push((s, lo, hi));
            lo = hi;
        }
    }
    let mut ids = Staging::new(dir)?;
    let mut next = 0;
    while next < tasks.len() {
        let mut end = next + 1;
        let size = |t: &(usize, usize, usize)| start(t.0, t.2) - start(t.0, t.1);
        let mut total = size(&tasks[next]);
        while end < tasks.len() && total + size(&tasks[end]) <= cap {
            total += size(&tasks[end]);
            end += 1;
        }
        let pass = &tasks[next..end];
        let mut buffers: Vec<Vec<u32>> = pass.iter().map(|t| vec![0u32; size(t)]).collect();
        let mut cursors: Vec<Vec<usize>> = pass
            .iter()
            .map(|&(s, lo, hi)| (lo..hi).map(|v| start(s, v) - start(s, lo)).collect())
            .collect();
        read_pass(&mut |i, h| {
            for (t, &(s, lo, hi)) in pass.iter().enumerate() {
                let v = usize::from(mih_slot(h, s));
                if (lo..hi).contains(&v) {
                    let c = &mut cursors[t][v - lo];
                    buffers[t][*c] = i as u32;
                    *c += 1;
                }
            }
        })
        .map_err(werr())?;
        for b in buffers {
            let bytes: Vec<u8> = b.iter().flat_map(|id| id.to_le_bytes()).collect();
            ids.write(&bytes).map_err(werr())?;
        }
        next = end;
    }
    let offsets_bytes: Vec<u8> = offsets.iter().flat_map(|o| o.to_le_bytes()).collect();
    Ok((ids.into_content().map_err(werr())?, Content::Bytes(offsets_bytes)))
}
