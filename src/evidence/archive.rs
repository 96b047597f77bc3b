//! Archives found during a scan: the members of ZIP files (phone extractions, chat exports,
//! office documents, APKs) and of ZIPs nested inside them, each hashed and matched like any
//! file, within limits that refuse zip bombs.
//!
//! # Detection
//!
//! By content, never by name: content that starts with a local file header (`PK\3\4`), or
//! whose last 64 KiB hold an end-of-central-directory record (`PK\5\6`) that points at a
//! central directory (so self-extracting archives and pictures with a ZIP appended count
//! too). The archive file itself is hashed as one file as before (hash sets hold archives);
//! its members follow it in the report.
//!
//! # Records
//!
//! After the archive's own record, in this order:
//!
//! 1. `ARCHIVE!/`: kind `directory`, disposition `directory` when the central directory was
//!    read; **skipped** [`ReasonCode::ArchiveTooDeep`] beyond [`ArchiveLimits::max_depth`],
//!    [`ReasonCode::ArchiveBomb`] when the archive as a whole is refused (more entries than
//!    [`ArchiveLimits::max_entries`], entries whose data overlap: David Fifield's
//!    construction), [`ReasonCode::TooLarge`] for a compressed nested archive larger than
//!    [`ArchiveLimits::max_nested_in_memory`]; **error** [`ReasonCode::ArchiveDamaged`] when
//!    the central directory is missing (truncated file) or damaged (the members read before
//!    the damage are listed).
//! 2. one record per central-directory entry, **in central-directory order** (the order
//!    `unzip -l` shows; duplicate names are all listed, the entry's index tells them apart),
//!    at path `ARCHIVE!/NAME`: `!/` joins the archive's path and the member's name exactly
//!    as recorded (bytes; never cleaned), as Java's `jar:` URLs do. A file-system name may
//!    itself contain `!/`, so the path is for people; the record's
//!    [`Location::archive`](crate::report::Location::archive) chain is the exact identity.
//!
//! A member is content read from the archive (stored or deflate), hashed, decoded and
//! matched like any file; or **skipped** with [`ReasonCode::ArchiveEncrypted`] (encryption
//! flag or AES), [`ReasonCode::ArchiveMethodUnsupported`] (any method but stored and
//! deflate), [`ReasonCode::ArchiveBomb`] (declared ratio over
//! [`ArchiveLimits::max_ratio`], or the archive's total over [`ArchiveLimits::max_bytes`]),
//! [`ReasonCode::TooLarge`] (over [`SourceOptions::max_file_size`](super::SourceOptions));
//! or an **error**: [`ReasonCode::ArchiveCrcMismatch`] (the bytes do not have the recorded
//! CRC-32: hashes are of the bytes read), [`ReasonCode::ArchiveDamaged`] (bad local header,
//! data past the end, damaged deflate stream, fewer bytes than declared) and
//! [`ReasonCode::ArchiveBomb`] (more bytes than declared, or the ratio exceeded while
//! inflating). Names ending in `/` are directory entries. Names with `..` components,
//! absolute names, drive letters, backslashes or NUL bytes are reported as recorded and
//! flagged ([`crate::report::ArchiveMember::name_flags`]); nothing is ever written.
//!
//! # Limits and memory
//!
//! Members are streamed (positioned reads of the archive, inflated on a hashing thread):
//! memory does not grow with a member's size, and decoder limits still apply to pictures.
//! Every limit is checked on the sizes the central directory declares, in report order, so
//! which member hits a limit never depends on the thread count; a member that inflates to
//! more than it declares is stopped there. A compressed archive nested in another is inflated
//! into memory (at most [`ArchiveLimits::max_nested_in_memory`]) to read its central
//! directory, only when its members' turn comes on the walking thread (archives waiting in
//! the scan's reorder window hold no inflated copy: at most one per nesting level is held);
//! a stored one is read in place. The total of [`ArchiveLimits::max_bytes`] is
//! shared by an archive and every archive nested in it.
//!
//! Not read: multi-disk archives (their first part's entries point elsewhere and are errors),
//! other archive formats (RAR, 7z, tar), encrypted content, DOS times (local times without a
//! zone; the Unix time of the `UT` extra field is reported as `mtime` when present).

use std::io::{self, BufReader, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::image::DiskImage;
use super::{Content, ContentItem, ContentReader, Item, OpenedContent};
use crate::report::{
    ArchiveMember, EntryDisposition, EntryKind, EntryRecord, Location, Reason, ReasonCode,
    Timestamp,
};

/// What joins an archive's path and a member's name in report paths (`a.zip!/dir/b.jpg`).
pub const MEMBER_SEPARATOR: &[u8] = b"!/";

/// Members below this many bytes are never refused for their compression ratio (a small
/// file of repeated bytes is harmless).
pub const RATIO_FLOOR: u64 = 1 << 20;

/// Limits on archive expansion (zip bombs, nesting); `mh scan --archive-*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArchiveLimits {
    /// Deepest archive nesting read: 1 reads the members of archives met as files, 2 also
    /// archives inside those, and so on (default 4). 0 reads no archive.
    pub max_depth: u32,
    /// Largest uncompressed/compressed ratio of a member above [`RATIO_FLOOR`] bytes
    /// (default 100; deflate reaches about 1032 at most).
    pub max_ratio: u64,
    /// Largest total of the members' uncompressed sizes of one archive, archives nested in it
    /// included (default 1 TiB).
    pub max_bytes: u64,
    /// Most central-directory entries in one archive (default 1,000,000).
    pub max_entries: u64,
    /// Largest compressed nested archive inflated into memory to read its members (default
    /// 256 MiB).
    pub max_nested_in_memory: u64,
}

impl Default for ArchiveLimits {
    fn default() -> Self {
        ArchiveLimits {
            max_depth: 4,
            max_ratio: 100,
            max_bytes: 1 << 40,
            max_entries: 1_000_000,
            max_nested_in_memory: 256 << 20,
        }
    }
}

impl ArchiveLimits {
    /// The limits as `key=value` text for the report header.
    pub fn describe(&self) -> Vec<String> {
        vec![
            format!("archive_max_depth={}", self.max_depth),
            format!("archive_max_ratio={}", self.max_ratio),
            format!("archive_max_bytes={}", self.max_bytes),
            format!("archive_max_entries={}", self.max_entries),
            format!("archive_max_nested_in_memory={}", self.max_nested_in_memory),
        ]
    }
}

const LOCAL_SIG: &[u8; 4] = b"PK\x03\x04";
const CENTRAL_SIG: &[u8; 4] = b"PK\x01\x02";
const EOCD_SIG: &[u8; 4] = b"PK\x05\x06";
const ZIP64_LOCATOR_SIG: &[u8; 4] = b"PK\x06\x07";
const ZIP64_EOCD_SIG: &[u8; 4] = b"PK\x06\x06";
const EOCD_LEN: u64 = 22;
const CENTRAL_LEN: usize = 46;
const LOCAL_LEN: u64 = 30;

/// Bytes of an archive with positioned reads ([`DiskImage`]: the same seam disk images use).
pub type ArchiveBytes = Arc<dyn DiskImage>;

/// The end of central directory, resolved (ZIP64 applied, prepended bytes measured).
#[derive(Debug, Clone, Copy)]
struct Directory {
    /// Where the central directory starts in the data.
    start: u64,
    /// Its length in bytes.
    len: u64,
    /// Entries the end record declares.
    declared_entries: u64,
    /// ZIP64 end record present (counts are not 16-bit).
    zip64: bool,
    /// Bytes before the archive (self-extractor, picture): added to every recorded offset.
    shift: u64,
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}
fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// Whether `head` (the first bytes of some content) starts like a ZIP archive.
pub fn head_is_zip(head: &[u8]) -> bool {
    head.starts_with(LOCAL_SIG) || head.starts_with(EOCD_SIG)
}

/// Finds and checks the end of central directory in the last 64 KiB of `data`. `Ok(None)`:
/// no plausible end record (not a ZIP, or one cut short).
fn find_directory(data: &dyn DiskImage) -> io::Result<Option<Directory>> {
    let len = data.len();
    if len < EOCD_LEN {
        return Ok(None);
    }
    let tail_len = len.min(EOCD_LEN + 0xFFFF);
    let tail_start = len - tail_len;
    let mut tail = vec![0u8; tail_len as usize];
    data.read_exact_at(tail_start, &mut tail)?;
    // The last end record whose comment fits and whose directory lies before it.
    let mut at = tail.len() - EOCD_LEN as usize;
    loop {
        if &tail[at..at + 4] == EOCD_SIG {
            let comment = u64::from(u16_at(&tail, at + 20));
            let pos = tail_start + at as u64;
            if pos + EOCD_LEN + comment <= len
                && let Some(dir) = resolve_directory(data, &tail[at..], pos)?
            {
                return Ok(Some(dir));
            }
        }
        if at == 0 {
            return Ok(None);
        }
        at -= 1;
    }
}

/// Checks one end record at `pos` (`record` holds its bytes and what follows).
fn resolve_directory(
    data: &dyn DiskImage,
    record: &[u8],
    pos: u64,
) -> io::Result<Option<Directory>> {
    let disk = u16_at(record, 4);
    let mut entries = u64::from(u16_at(record, 10));
    let mut cd_len = u64::from(u32_at(record, 12));
    let mut cd_offset = u64::from(u32_at(record, 16));
    let mut end = pos;
    let mut zip64 = false;
    if pos >= 20 {
        let mut locator = [0u8; 20];
        data.read_exact_at(pos - 20, &mut locator)?;
        if &locator[..4] == ZIP64_LOCATOR_SIG {
            // The ZIP64 end record: where the locator says, or right before the locator
            // (when bytes were prepended).
            let declared = u64_at(&locator, 8);
            let mut candidates = vec![declared];
            if let Some(before) = (pos - 20).checked_sub(56) {
                candidates.push(before);
            }
            for c in candidates {
                let mut rec = [0u8; 56];
                if c.checked_add(56).is_some_and(|e| e <= pos - 20)
                    && data.read_exact_at(c, &mut rec).is_ok()
                    && &rec[..4] == ZIP64_EOCD_SIG
                {
                    entries = u64_at(&rec, 32);
                    cd_len = u64_at(&rec, 40);
                    cd_offset = u64_at(&rec, 48);
                    end = c;
                    zip64 = true;
                    break;
                }
            }
        }
    }
    if disk != 0 && disk != 0xFFFF {
        // A later part of a multi-disk set: its directory is not all here.
        return Ok(None);
    }
    let Some(start) = end.checked_sub(cd_len) else { return Ok(None) };
    let Some(shift) = start.checked_sub(cd_offset) else { return Ok(None) };
    if cd_len == 0 {
        return Ok((entries == 0).then_some(Directory {
            start,
            len: 0,
            declared_entries: 0,
            zip64,
            shift,
        }));
    }
    let mut sig = [0u8; 4];
    data.read_exact_at(start, &mut sig)?;
    Ok((&sig == CENTRAL_SIG).then_some(Directory {
        start,
        len: cd_len,
        declared_entries: entries,
        zip64,
        shift,
    }))
}

/// One central-directory entry.
#[derive(Debug, Clone)]
struct Entry {
    index: u64,
    flags: u16,
    method: u16,
    crc: u32,
    compressed: u64,
    uncompressed: u64,
    /// Offset of the local header in the data (shift applied).
    local: u64,
    disk: u32,
    name: Vec<u8>,
    mtime: Option<i64>,
    aes: bool,
}

impl Entry {
    fn encrypted(&self) -> bool {
        self.flags & 1 != 0 || self.method == 99 || self.aes
    }
    fn is_dir(&self) -> bool {
        self.name.last() == Some(&b'/')
    }
}

/// A sequential reader of `data[pos..end]`.
struct Span {
    data: ArchiveBytes,
    pos: u64,
    end: u64,
}

impl Read for Span {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = (self.end - self.pos).min(buf.len() as u64) as usize;
        if want == 0 {
            return Ok(0);
        }
        let n = self.data.read_at(self.pos, &mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("the archive ends before byte {}", self.pos),
            ));
        }
        self.pos += n as u64;
        Ok(n)
    }
}

/// Streams the central directory's entries.
struct DirectoryReader {
    reader: BufReader<Span>,
    offset: u64,
    end: u64,
    shift: u64,
    index: u64,
    failed: bool,
}

impl DirectoryReader {
    fn new(data: ArchiveBytes, dir: &Directory) -> Self {
        let end = dir.start + dir.len;
        DirectoryReader {
            reader: BufReader::with_capacity(64 << 10, Span { data, pos: dir.start, end }),
            offset: dir.start,
            end,
            shift: dir.shift,
            index: 0,
            failed: false,
        }
    }

    /// The next entry; `Err` names the damage (and ends the walk).
    fn next_entry(&mut self) -> Option<Result<Entry, String>> {
        if self.failed || self.offset >= self.end {
            return None;
        }
        let r = self.read_entry();
        if r.is_err() {
            self.failed = true;
        }
        Some(r)
    }

    fn read_entry(&mut self) -> Result<Entry, String> {
        let at = self.offset;
        let mut fixed = [0u8; CENTRAL_LEN];
        self.reader.read_exact(&mut fixed).map_err(|e| {
            format!("central directory entry {} at byte {at} is cut short: {e}", self.index)
        })?;
        if &fixed[..4] != CENTRAL_SIG {
            return Err(format!(
                "central directory entry {} at byte {at} has no entry signature",
                self.index
            ));
        }
        let name_len = usize::from(u16_at(&fixed, 28));
        let extra_len = usize::from(u16_at(&fixed, 30));
        let comment_len = usize::from(u16_at(&fixed, 32));
        // At most 3 x 64 KiB: bounded whatever the archive says.
        let mut var = vec![0u8; name_len + extra_len + comment_len];
        self.reader.read_exact(&mut var).map_err(|e| {
            format!("central directory entry {} at byte {at} is cut short: {e}", self.index)
        })?;
        self.offset += (CENTRAL_LEN + var.len()) as u64;
        let mut entry = Entry {
            index: self.index,
            flags: u16_at(&fixed, 8),
            method: u16_at(&fixed, 10),
            crc: u32_at(&fixed, 16),
            compressed: u64::from(u32_at(&fixed, 20)),
            uncompressed: u64::from(u32_at(&fixed, 24)),
            disk: u32::from(u16_at(&fixed, 34)),
            local: u64::from(u32_at(&fixed, 42)),
            name: var[..name_len].to_vec(),
            mtime: None,
            aes: false,
        };
        self.index += 1;
        let mut extra = &var[name_len..name_len + extra_len];
        while extra.len() >= 4 {
            let (id, size) = (u16_at(extra, 0), usize::from(u16_at(extra, 2)));
            let body = &extra[4..(4 + size).min(extra.len())];
            match id {
                0x0001 => {
                    // ZIP64 sizes: only the fields whose 32-bit value is saturated, in order.
                    let mut fields = body.chunks_exact(8).map(|c| u64_at(c, 0));
                    if entry.uncompressed == 0xFFFF_FFFF {
                        entry.uncompressed = fields.next().unwrap_or(entry.uncompressed);
                    }
                    if entry.compressed == 0xFFFF_FFFF {
                        entry.compressed = fields.next().unwrap_or(entry.compressed);
                    }
                    if entry.local == 0xFFFF_FFFF {
                        entry.local = fields.next().unwrap_or(entry.local);
                    }
                }
                0x5455 if body.len() >= 5 && body[0] & 1 != 0 => {
                    entry.mtime = Some(i64::from(i32::from_le_bytes(
                        body[1..5].try_into().expect("4 bytes"),
                    )));
                }
                0x9901 => entry.aes = true,
                _ => {}
            }
            extra = &extra[(4 + size).min(extra.len())..];
        }
        entry.local = entry.local.saturating_add(self.shift);
        Ok(entry)
    }
}

/// The archive-wide checks, done once before any member is listed.
struct Survey {
    /// Entries in the directory (up to the first damage).
    entries: u64,
    /// Damage found in the directory (members before it are listed).
    damage: Option<String>,
    /// Why the whole archive is refused, if it is.
    refused: Option<Reason>,
}

fn survey(data: &ArchiveBytes, dir: &Directory, limits: &ArchiveLimits) -> Survey {
    let mut reader = DirectoryReader::new(data.clone(), dir);
    let mut ranges: Vec<(u64, u64, u64)> = Vec::new();
    let mut entries = 0u64;
    let mut damage = None;
    while let Some(entry) = reader.next_entry() {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                damage = Some(e);
                break;
            }
        };
        entries += 1;
        if entries > limits.max_entries {
            return Survey {
                entries,
                damage: None,
                refused: Some(Reason::new(
                    ReasonCode::ArchiveBomb,
                    format!(
                        "more than {} entries in the central directory (limit \
                         --archive-max-entries); no member is listed",
                        limits.max_entries
                    ),
                )),
            };
        }
        // The least each entry's local header and data span.
        let end = entry
            .local
            .saturating_add(LOCAL_LEN + entry.name.len() as u64)
            .saturating_add(entry.compressed);
        ranges.push((entry.local, end, entry.index));
    }
    let counted = if dir.zip64 { entries } else { entries & 0xFFFF };
    if damage.is_none() && counted != dir.declared_entries {
        damage = Some(format!(
            "the end record declares {} entries, the central directory holds {entries}",
            dir.declared_entries
        ));
    }
    ranges.sort_unstable();
    for pair in ranges.windows(2) {
        let ((_, end, a), (start, _, b)) = (pair[0], pair[1]);
        if start < end {
            return Survey {
                entries,
                damage,
                refused: Some(Reason::new(
                    ReasonCode::ArchiveBomb,
                    format!(
                        "entries {a} and {b} overlap (their data share bytes: the construction \
                         of overlapping zip bombs); no member is listed"
                    ),
                )),
            };
        }
    }
    Survey { entries, damage, refused: None }
}

/// The archive bytes shared by an archive and those nested in it, charged in report order.
#[derive(Debug, Default)]
pub struct ArchiveBudget {
    declared: AtomicU64,
}

/// What the scan needs to read an archive's members: where it is and what it is.
pub struct ArchiveSource {
    /// The archive's bytes.
    pub data: ArchiveBytes,
    /// The total shared with the archives it is nested in.
    pub budget: Arc<ArchiveBudget>,
    /// A compressed nested archive: `data` is empty until it is inflated, when listed.
    deferred: Option<Deferred>,
}

/// The members of one archive, as items in report order (the `ARCHIVE!/` record first).
/// Built on a hashing thread (the checks over the whole directory run there), iterated on
/// the scan's walking thread.
pub struct Expansion {
    first: Option<EntryRecord>,
    reader: Option<DirectoryReader>,
    data: Option<ArchiveBytes>,
    prefix: Vec<u8>,
    location: Location,
    limits: ArchiveLimits,
    max_file_size: Option<u64>,
    budget: Arc<ArchiveBudget>,
    /// Listed when first iterated (a nested archive still to inflate).
    deferred: Option<Box<(Listing, Deferred)>>,
}

impl Expansion {
    /// Only the `ARCHIVE!/` record (nothing listed).
    fn only(first: EntryRecord) -> Expansion {
        Expansion {
            first: Some(first),
            reader: None,
            data: None,
            prefix: Vec::new(),
            location: Location::default(),
            limits: ArchiveLimits::default(),
            max_file_size: None,
            budget: Arc::default(),
            deferred: None,
        }
    }
}

/// The location of what lies in the archive `record` describes: its own location (the disk
/// image fields, the chain of archives it is in), or for a file on a mounted file system the
/// file itself as `image` with container `file`; byte runs dropped (they are the archive's).
fn inner_location(record: &EntryRecord) -> Location {
    match &record.location {
        Some(l) => Location { byte_runs: Vec::new(), ..l.clone() },
        None => Location {
            image: record.path_text().into_owned(),
            container: "file".to_string(),
            ..Location::default()
        },
    }
}

/// If the content just read for `record` is a ZIP archive (see the module docs), its
/// members as an [`Expansion`] to scan after it; `None` otherwise. `head` holds the content's
/// first bytes, `reader` is the content's reader, after its end.
pub fn expand(
    record: &EntryRecord,
    reader: &mut dyn ContentReader,
    head: &[u8],
    limits: &ArchiveLimits,
    max_file_size: Option<u64>,
) -> Option<Expansion> {
    if limits.max_depth == 0 {
        return None;
    }
    let depth = record.location.as_ref().map_or(0, |l| l.archive.len()) as u32;
    let mut dir_record = EntryRecord::at([record.path.as_slice(), MEMBER_SEPARATOR].concat());
    dir_record.kind = EntryKind::Directory;
    dir_record.location = Some(inner_location(record));
    let skip = |mut r: EntryRecord, code, message: String| {
        r.conclude(EntryDisposition::Skipped, Some(Reason::new(code, message)));
        Some(Expansion::only(r))
    };
    let too_deep = depth >= limits.max_depth;
    let source = match reader.archive_source(head, limits, !too_deep) {
        Ok(Some(s)) => s,
        Ok(None) => return None,
        Err(reason) => {
            let code = reason.code;
            return skip(dir_record, code, reason.message);
        }
    };
    if too_deep {
        return skip(
            dir_record,
            ReasonCode::ArchiveTooDeep,
            format!(
                "a ZIP archive nested {} deep, beyond the limit of {} (--archive-depth): its \
                 members are not listed",
                depth + 1,
                limits.max_depth
            ),
        );
    }
    let listing = Listing {
        dir_record,
        starts_local: head.starts_with(LOCAL_SIG),
        budget: source.budget,
        prefix: [record.path.as_slice(), MEMBER_SEPARATOR].concat(),
        limits: *limits,
        max_file_size,
    };
    match source.deferred {
        // Inflated only when its turn comes on the walking thread: archives waiting in the
        // reorder window hold no inflated copy, so at most one per nesting level is held.
        Some(deferred) => Some(Expansion {
            deferred: Some(Box::new((listing, deferred))),
            ..Expansion::only(EntryRecord::default())
        }),
        None => listing.list(source.data),
    }
}

/// What lists an archive's members, once its bytes are at hand.
struct Listing {
    dir_record: EntryRecord,
    starts_local: bool,
    budget: Arc<ArchiveBudget>,
    prefix: Vec<u8>,
    limits: ArchiveLimits,
    max_file_size: Option<u64>,
}

impl Listing {
    /// Reads the end records, checks the whole directory and gives the members; `None` when
    /// the bytes are not a ZIP after all (no end record and no local header at the start).
    fn list(self, data: ArchiveBytes) -> Option<Expansion> {
        let Listing { mut dir_record, starts_local, budget, prefix, limits, max_file_size } = self;
        let damaged = |mut r: EntryRecord, message: String| {
            r.conclude(
                EntryDisposition::Error,
                Some(Reason::new(ReasonCode::ArchiveDamaged, message)),
            );
            Some(Expansion::only(r))
        };
        let dir = match find_directory(&*data) {
            Ok(Some(dir)) => dir,
            Ok(None) if starts_local => {
                return damaged(
                    dir_record,
                    "starts as a ZIP archive but has no end of central directory record (a \
                     truncated or damaged ZIP): its members are not listed; the archive's own \
                     hashes are of the bytes present"
                        .to_string(),
                );
            }
            Ok(None) => return None,
            Err(e) => {
                return damaged(
                    dir_record,
                    format!("cannot read the ZIP archive's end records: {e}"),
                );
            }
        };
        let survey = survey(&data, &dir, &limits);
        if let Some(reason) = survey.refused {
            dir_record.conclude(EntryDisposition::Skipped, Some(reason));
            return Some(Expansion::only(dir_record));
        }
        match survey.damage {
            Some(d) => dir_record.conclude(
                EntryDisposition::Error,
                Some(Reason::new(
                    ReasonCode::ArchiveDamaged,
                    format!(
                        "the ZIP central directory is damaged: {d}; the {} member(s) before the \
                         damage are listed",
                        survey.entries
                    ),
                )),
            ),
            None => dir_record.conclude(EntryDisposition::Directory, None),
        }
        let location = dir_record.location.clone().unwrap_or_default();
        Some(Expansion {
            first: Some(dir_record),
            reader: Some(DirectoryReader::new(data.clone(), &dir)),
            data: Some(data),
            prefix,
            location,
            limits,
            max_file_size,
            budget,
            deferred: None,
        })
    }
}

/// A deflated archive nested in another, inflated into memory when listed.
struct Deferred {
    data: ArchiveBytes,
    start: u64,
    compressed: u64,
    size: u64,
}

impl Deferred {
    fn inflate(&self) -> Result<ArchiveBytes, Reason> {
        let span =
            Span { data: self.data.clone(), pos: self.start, end: self.start + self.compressed };
        // Bounded: `size` was checked against the in-memory limit.
        let mut bytes = Vec::with_capacity(self.size as usize);
        flate2::read::DeflateDecoder::new(span).take(self.size).read_to_end(&mut bytes).map_err(
            |e| {
                Reason::new(
                    ReasonCode::ArchiveDamaged,
                    format!("cannot inflate the nested archive to read it: {e}"),
                )
            },
        )?;
        Ok(Arc::new(bytes))
    }
}

/// Flags for member names that would leave an extraction folder or mislead.
fn name_flags(name: &[u8]) -> Vec<String> {
    let mut flags = Vec::new();
    if name.split(|&c| c == b'/' || c == b'\\').any(|part| part == b"..") {
        flags.push("parent-dir".to_string());
    }
    if name.starts_with(b"/") || name.starts_with(b"\\") {
        flags.push("absolute".to_string());
    }
    if name.len() >= 2 && name[0].is_ascii_alphabetic() && name[1] == b':' {
        flags.push("drive-letter".to_string());
    }
    if name.contains(&b'\\') {
        flags.push("backslash".to_string());
    }
    if name.contains(&0) {
        flags.push("nul".to_string());
    }
    if name.is_empty() {
        flags.push("empty".to_string());
    }
    flags
}

fn method_name(method: u16) -> String {
    match method {
        0 => "stored".into(),
        8 => "deflate".into(),
        9 => "deflate64".into(),
        12 => "bzip2".into(),
        14 => "lzma".into(),
        93 => "zstd".into(),
        95 => "xz".into(),
        98 => "ppmd".into(),
        99 => "aes".into(),
        m => format!("method-{m}"),
    }
}

impl Iterator for Expansion {
    type Item = Item;

    fn next(&mut self) -> Option<Item> {
        if let Some(boxed) = self.deferred.take() {
            let (mut listing, deferred) = *boxed;
            // Its head is a ZIP signature: a missing end record is damage, never "not a ZIP".
            listing.starts_local = true;
            *self = match deferred.inflate() {
                Ok(data) => listing.list(data).unwrap_or(Expansion {
                    first: None,
                    ..Expansion::only(EntryRecord::default())
                }),
                Err(reason) => {
                    listing.dir_record.conclude(EntryDisposition::Error, Some(reason));
                    Expansion::only(listing.dir_record)
                }
            };
        }
        if let Some(first) = self.first.take() {
            return Some(Item::Decided(first));
        }
        let entry = match self.reader.as_mut()?.next_entry()? {
            Ok(entry) => entry,
            // Reported on the `ARCHIVE!/` record already (the survey met it first).
            Err(_) => return None,
        };
        Some(self.member_item(entry))
    }
}

impl Expansion {
    fn member_item(&mut self, entry: Entry) -> Item {
        let mut record = EntryRecord::at([self.prefix.as_slice(), &entry.name].concat());
        let (name, name_hex) = crate::report::text_and_hex(&entry.name);
        let mut location = self.location.clone();
        location.archive.push(ArchiveMember {
            name,
            name_hex,
            index: entry.index,
            method: method_name(entry.method),
            compressed_size: entry.compressed,
            crc32: format!("{:08x}", entry.crc),
            local_header_offset: entry.local,
            encrypted: entry.encrypted(),
            name_flags: name_flags(&entry.name),
        });
        record.location = Some(location);
        record.size = Some(entry.uncompressed);
        record.mtime = entry.mtime.map(|secs| Timestamp { secs, nanos: 0 });
        let decided = |mut record: EntryRecord, d, code, message: String| {
            record.conclude(d, Some(Reason::new(code, message)));
            Item::Decided(record)
        };
        if entry.is_dir() && entry.uncompressed == 0 {
            record.kind = EntryKind::Directory;
            record.conclude(EntryDisposition::Directory, None);
            return Item::Decided(record);
        }
        record.kind = EntryKind::File;
        let skipped = EntryDisposition::Skipped;
        if entry.encrypted() {
            return decided(
                record,
                skipped,
                ReasonCode::ArchiveEncrypted,
                "an encrypted archive member: not read (mediahash does not decrypt); its \
                 declared size and CRC-32 are in the location"
                    .to_string(),
            );
        }
        if entry.method != 0 && entry.method != 8 {
            return decided(
                record,
                skipped,
                ReasonCode::ArchiveMethodUnsupported,
                format!(
                    "compressed with {} (method {}): mediahash reads stored and deflate \
                     members only; extract it with another tool",
                    method_name(entry.method),
                    entry.method
                ),
            );
        }
        if entry.disk != 0 && entry.disk != 0xFFFF {
            return decided(
                record,
                EntryDisposition::Error,
                ReasonCode::ArchiveDamaged,
                format!(
                    "the member's data are on disk {} of a multi-part archive; not read",
                    entry.disk
                ),
            );
        }
        let limits = self.limits;
        if entry.uncompressed > RATIO_FLOOR
            && entry.uncompressed > entry.compressed.saturating_mul(limits.max_ratio)
        {
            return decided(
                record,
                skipped,
                ReasonCode::ArchiveBomb,
                format!(
                    "declares {} bytes from {} compressed, a ratio over the limit of {} \
                     (--archive-max-ratio): not inflated",
                    entry.uncompressed, entry.compressed, limits.max_ratio
                ),
            );
        }
        if let Some(max) = self.max_file_size.filter(|&m| entry.uncompressed > m) {
            return decided(
                record,
                skipped,
                ReasonCode::TooLarge,
                format!("{} bytes, over the size limit of {max}", entry.uncompressed),
            );
        }
        let total = self.budget.declared.fetch_add(entry.uncompressed, Ordering::Relaxed);
        if total.saturating_add(entry.uncompressed) > limits.max_bytes {
            self.budget.declared.fetch_sub(entry.uncompressed, Ordering::Relaxed);
            return decided(
                record,
                skipped,
                ReasonCode::ArchiveBomb,
                format!(
                    "the archive's members (nested archives included) would inflate to more \
                     than {} bytes in total (--archive-max-bytes): not inflated",
                    limits.max_bytes
                ),
            );
        }
        let Some(data) = self.data.clone() else {
            return decided(
                record,
                EntryDisposition::Error,
                ReasonCode::Internal,
                "archive data missing (please report)".to_string(),
            );
        };
        Item::Content(ContentItem {
            record,
            expected_len: Some(entry.uncompressed),
            content: Box::new(MemberContent { data, entry, limits, budget: self.budget.clone() }),
        })
    }
}

/// A member's bytes, opened on a hashing thread.
struct MemberContent {
    data: ArchiveBytes,
    entry: Entry,
    limits: ArchiveLimits,
    budget: Arc<ArchiveBudget>,
}

impl MemberContent {
    /// Checks the local header; the offset of the member's data.
    fn data_start(&self) -> Result<u64, Reason> {
        let damaged = |m: String| Reason::new(ReasonCode::ArchiveDamaged, m);
        let mut local = [0u8; LOCAL_LEN as usize];
        self.data.read_exact_at(self.entry.local, &mut local).map_err(|e| {
            damaged(format!("cannot read the local header at byte {}: {e}", self.entry.local))
        })?;
        if &local[..4] != LOCAL_SIG {
            return Err(damaged(format!(
                "no local file header at byte {} where the central directory points",
                self.entry.local
            )));
        }
        let start = self.entry.local
            + LOCAL_LEN
            + u64::from(u16_at(&local, 26))
            + u64::from(u16_at(&local, 28));
        let end = start.checked_add(self.entry.compressed);
        if end.is_none_or(|e| e > self.data.len()) {
            return Err(damaged(format!(
                "the member's {} compressed bytes from byte {start} reach past the end of the \
                 archive ({} bytes): truncated archive",
                self.entry.compressed,
                self.data.len()
            )));
        }
        if self.entry.method == 0 && self.entry.compressed != self.entry.uncompressed {
            return Err(damaged(format!(
                "a stored member whose compressed size {} differs from its size {}",
                self.entry.compressed, self.entry.uncompressed
            )));
        }
        Ok(start)
    }

    fn span(&self, start: u64) -> Span {
        Span { data: self.data.clone(), pos: start, end: start + self.entry.compressed }
    }
}

impl Content for MemberContent {
    fn open(self: Box<Self>) -> Result<OpenedContent, Reason> {
        let start = self.data_start()?;
        let span = self.span(start);
        let inner: Box<dyn Read + Send> = match self.entry.method {
            0 => Box::new(span),
            _ => Box::new(flate2::read::DeflateDecoder::new(span)),
        };
        Ok(OpenedContent {
            reader: Box::new(MemberReader {
                inner,
                crc: crc32fast::Hasher::new(),
                produced: 0,
                failure: None,
                content: *self,
                start,
            }),
            // The archive file's own record counts its access-time protection, once.
            noatime: None,
        })
    }
}

/// A member's bytes as read: size, ratio and CRC-32 checked as they stream.
pub struct MemberReader {
    inner: Box<dyn Read + Send>,
    crc: crc32fast::Hasher,
    produced: u64,
    failure: Option<Reason>,
    content: MemberContent,
    start: u64,
}

impl MemberReader {
    fn fail(&mut self, code: ReasonCode, message: String) -> io::Error {
        let e = io::Error::new(io::ErrorKind::InvalidData, message.clone());
        self.failure = Some(Reason::new(code, message));
        e
    }

    /// The member's bytes with positioned reads, to read it as an archive: in place when
    /// stored; inflated into memory (at most `max_nested_in_memory`) when compressed.
    fn nested_source(
        &mut self,
        head: &[u8],
        costly: bool,
    ) -> Result<Option<ArchiveSource>, Reason> {
        let entry = &self.content.entry;
        let budget = self.content.budget.clone();
        if entry.method == 0 {
            let data: ArchiveBytes = Arc::new(Window {
                data: self.content.data.clone(),
                start: self.start,
                len: entry.compressed,
            });
            return Ok(Some(ArchiveSource { data, budget, deferred: None }));
        }
        if !head_is_zip(head) {
            return Ok(None);
        }
        let placeholder: ArchiveBytes = Arc::new(Vec::<u8>::new());
        if !costly {
            // Only to report it (too deep): nothing to read.
            return Ok(Some(ArchiveSource { data: placeholder, budget, deferred: None }));
        }
        let limit = self.content.limits.max_nested_in_memory;
        if entry.uncompressed > limit {
            return Err(Reason::new(
                ReasonCode::TooLarge,
                format!(
                    "a compressed ZIP archive of {} bytes nested in another, over the limit of \
                     {limit} bytes inflated in memory to read it (--archive-max-nested-size): \
                     its members are not listed; extract it and scan it",
                    entry.uncompressed
                ),
            ));
        }
        let deferred = Deferred {
            data: self.content.data.clone(),
            start: self.start,
            compressed: entry.compressed,
            size: entry.uncompressed,
        };
        Ok(Some(ArchiveSource { data: placeholder, budget, deferred: Some(deferred) }))
    }
}

impl Read for MemberReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.failure.is_some() {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "member read failed"));
        }
        let n = match self.inner.read(buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Err(e),
            Err(e) => {
                let at = self.produced;
                return Err(self.fail(
                    ReasonCode::ArchiveDamaged,
                    format!("the member's data are damaged after {at} bytes: {e}"),
                ));
            }
        };
        let entry = &self.content.entry;
        let limits = self.content.limits;
        self.produced += n as u64;
        if self.produced > entry.uncompressed {
            let declared = entry.uncompressed;
            return Err(self.fail(
                ReasonCode::ArchiveBomb,
                format!(
                    "inflates to more than its declared {declared} bytes: stopped there (a \
                     zip bomb's lie, or damage)"
                ),
            ));
        }
        if self.produced > RATIO_FLOOR
            && self.produced > entry.compressed.saturating_mul(limits.max_ratio)
        {
            let compressed = entry.compressed;
            return Err(self.fail(
                ReasonCode::ArchiveBomb,
                format!(
                    "inflates over the ratio limit of {} from {compressed} compressed bytes \
                     (--archive-max-ratio): stopped",
                    limits.max_ratio
                ),
            ));
        }
        if n == 0 && buf.is_empty() {
            return Ok(0);
        }
        if n == 0 {
            if self.produced < entry.uncompressed {
                let (got, want) = (self.produced, entry.uncompressed);
                return Err(self.fail(
                    ReasonCode::ArchiveDamaged,
                    format!("the member ends after {got} of its declared {want} bytes"),
                ));
            }
            // Finalised on a clone: readers may ask again after the end.
            let crc = self.crc.clone().finalize();
            if crc != entry.crc {
                let want = entry.crc;
                return Err(self.fail(
                    ReasonCode::ArchiveCrcMismatch,
                    format!(
                        "CRC-32 of the bytes read is {crc:08x}, the archive records {want:08x}: \
                         the member is damaged (hashes are of the bytes read)"
                    ),
                ));
            }
            return Ok(0);
        }
        self.crc.update(&buf[..n]);
        Ok(n)
    }
}

impl ContentReader for MemberReader {
    fn failure(&mut self) -> Option<Reason> {
        self.failure.clone()
    }

    fn archive_source(
        &mut self,
        head: &[u8],
        _limits: &ArchiveLimits,
        costly: bool,
    ) -> Result<Option<ArchiveSource>, Reason> {
        let Some(source) = self.nested_source(head, costly)? else { return Ok(None) };
        if !costly || head_is_zip(head) {
            return Ok(Some(source));
        }
        // A stored member: look for an end record too (self-extractors, polyglots).
        match find_directory(&*source.data) {
            Ok(Some(_)) => Ok(Some(source)),
            _ => Ok(None),
        }
    }
}

/// A part of other bytes (a stored member read in place).
struct Window {
    data: ArchiveBytes,
    start: u64,
    len: u64,
}

impl DiskImage for Window {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        if offset >= self.len {
            return Ok(0);
        }
        let want = (self.len - offset).min(buf.len() as u64) as usize;
        self.data.read_at(self.start + offset, &mut buf[..want])
    }

    fn container(&self) -> String {
        "zip member".to_string()
    }
}

/// The [`ArchiveSource`] of content with positioned reads (a file, runs on a disk image)
/// that is a ZIP archive by its head or end records; the default behind
/// [`ContentReader::archive_source`].
pub fn source_if_zip(data: ArchiveBytes, head: &[u8]) -> Option<ArchiveSource> {
    let zip = head_is_zip(head) || matches!(find_directory(&*data), Ok(Some(_)));
    zip.then(|| ArchiveSource { data, budget: Arc::default(), deferred: None })
}

/// Bytes held by the caller, as content already read (for [`expand_bytes`]).
struct HeldBytes(ArchiveBytes);

impl Read for HeldBytes {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        Ok(0)
    }
}

impl ContentReader for HeldBytes {
    fn random_access(&self) -> Option<ArchiveBytes> {
        Some(self.0.clone())
    }
}

/// The members of `data` if it is a ZIP archive, as the scan would list them for a file at
/// `path` (the fuzz target and tools that hold an archive in memory use this). Contents
/// of [`Item::Content`] items open as in a scan; archives nested in members are not
/// expanded here.
pub fn expand_bytes(path: &[u8], data: ArchiveBytes, limits: &ArchiveLimits) -> Option<Expansion> {
    let mut head = [0u8; 4];
    let n = data.read_at(0, &mut head).unwrap_or(0);
    let mut record = EntryRecord::at(path.to_vec());
    record.kind = EntryKind::File;
    expand(&record, &mut HeldBytes(data), &head[..n], limits, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_hostile_names() {
        assert_eq!(name_flags(b"a/b.jpg"), Vec::<String>::new());
        assert_eq!(name_flags(b"../../x"), vec!["parent-dir"]);
        assert_eq!(name_flags(b"/etc/passwd"), vec!["absolute"]);
        assert_eq!(name_flags(b"C:\\x"), vec!["drive-letter", "backslash"]);
        assert_eq!(name_flags(b"..\\x"), vec!["parent-dir", "backslash"]);
        assert_eq!(name_flags(b"a\0b"), vec!["nul"]);
    }

    #[test]
    fn no_directory_in_random_bytes() {
        let data: Vec<u8> =
            (0..100_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        assert!(find_directory(&data).unwrap().is_none());
        let mut fake = data.clone();
        // An end record whose directory does not start with an entry signature.
        fake.extend_from_slice(b"PK\x05\x06\0\0\0\0\x01\0\x01\0\x2e\0\0\0\0\0\0\0\0\0");
        assert!(find_directory(&fake).unwrap().is_none());
    }

    fn read_all(members: Expansion) -> usize {
        let mut count = 0;
        for item in members {
            count += 1;
            if let Item::Content(c) = item
                && let Ok(mut opened) = c.content.open()
            {
                let mut sink = Vec::new();
                if opened.reader.read_to_end(&mut sink).is_err() {
                    assert!(opened.reader.failure().is_some(), "a failed read has a reason");
                }
            }
        }
        count
    }

    /// Every single-byte change and every truncation of a small archive: typed results,
    /// never a panic (a deterministic complement to the cargo-fuzz target).
    #[test]
    fn mutated_archives_never_panic() {
        use std::io::Write;
        let mut w = zip::ZipWriter::new(io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default();
        w.start_file("a.txt", opts.compression_method(zip::CompressionMethod::Stored)).unwrap();
        w.write_all(b"stored member").unwrap();
        w.start_file("d/b.bin", opts.compression_method(zip::CompressionMethod::Deflated)).unwrap();
        w.write_all(&[7u8; 3000]).unwrap();
        let good = w.finish().unwrap().into_inner();
        let limits = ArchiveLimits::default();
        let members = expand_bytes(b"x", Arc::new(good.clone()), &limits).unwrap();
        assert_eq!(read_all(members), 3);
        for i in 0..good.len() {
            for value in [0u8, 0xff, good[i] ^ 1, good[i].wrapping_add(0x80)] {
                let mut bad = good.clone();
                bad[i] = value;
                if let Some(members) = expand_bytes(b"x", Arc::new(bad), &limits) {
                    read_all(members);
                }
            }
            if let Some(members) = expand_bytes(b"x", Arc::new(good[..i].to_vec()), &limits) {
                read_all(members);
            }
        }
    }

    #[test]
    fn empty_zip_is_found() {
        let empty = b"PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0".to_vec();
        let dir = find_directory(&empty).unwrap().unwrap();
        assert_eq!((dir.start, dir.len, dir.declared_entries), (0, 0, 0));
    }
}
