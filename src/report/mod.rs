//! Scan reports: the record model shared by every format, and the writers.
//!
//! A report is a stream of three kinds of record:
//!
//! * one [`Header`]: provenance (tool, version, command line, start time, host, each
//!   reference set's path, SHA-256 and declared identity, the options in force);
//! * one [`EntryRecord`] per directory entry met, in path order (see [`crate::scan`]);
//! * one [`Footer`]: counts by disposition, bytes read, end time, duration, and whether the
//!   scan completed.
//!
//! Volatile facts (times, duration, host, thread count) live only in the header and footer,
//! so the entry records of two scans of the same evidence with the same sets are
//! byte-identical whatever the number of threads.
//!
//! Formats ([`ReportFormat`]): [`jsonl`] (default), [`csv`], [`dfxml`] and [`case`]
//! (CASE/UCO JSON-LD).
//!
//! # Paths that are not UTF-8
//!
//! Unix file names are bytes. Every path is reported as `path`, its lossy UTF-8 form
//! (invalid sequences become U+FFFD), and, only when the bytes are not valid UTF-8, also as
//! `path_bytes_hex`: the exact bytes in lower-case hex. The same holds for symbolic-link
//! targets (`link_target`, `link_target_hex`). Nothing is dropped or silently mangled.

pub mod case;
pub mod csv;
pub mod dfxml;
pub mod jsonl;

use std::ffi::OsStr;
use std::fmt;
use std::io;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::refset::{Disposition, HashKind};

/// What the scan concluded about one directory entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EntryDisposition {
    /// Matched an alert set (exactly or perceptually). Wins over everything else.
    Alert,
    /// Matched only ignore sets (known harmless, e.g. NSRL).
    Ignore,
    /// A decodable image that matched nothing: new material, look here first.
    UnknownImage,
    /// A regular file read in full that is not an image and matched nothing.
    Other,
    /// A directory whose listing was read (its entries follow it in the report).
    Directory,
    /// Deliberately not read (FIFO, socket, device, symbolic link not followed, excluded,
    /// over the size limit, another file system): see `reason`.
    Skipped,
    /// Could not be examined fully (permission denied, I/O error, changed while read, image
    /// refused by the decoder): see `reason`.
    Error,
}

impl EntryDisposition {
    pub const ALL: [EntryDisposition; 7] = [
        EntryDisposition::Alert,
        EntryDisposition::Ignore,
        EntryDisposition::UnknownImage,
        EntryDisposition::Other,
        EntryDisposition::Directory,
        EntryDisposition::Skipped,
        EntryDisposition::Error,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EntryDisposition::Alert => "alert",
            EntryDisposition::Ignore => "ignore",
            EntryDisposition::UnknownImage => "unknown-image",
            EntryDisposition::Other => "other",
            EntryDisposition::Directory => "directory",
            EntryDisposition::Skipped => "skipped",
            EntryDisposition::Error => "error",
        }
    }
}

impl fmt::Display for EntryDisposition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The type of the directory entry itself (from `lstat`, so a symbolic link is `Symlink`
/// even when it was followed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EntryKind {
    File,
    Directory,
    Symlink,
    Fifo,
    Socket,
    BlockDevice,
    CharDevice,
    /// `lstat` failed or returned a type this platform does not name.
    Unknown,
}

impl EntryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::File => "file",
            EntryKind::Directory => "directory",
            EntryKind::Symlink => "symlink",
            EntryKind::Fifo => "fifo",
            EntryKind::Socket => "socket",
            EntryKind::BlockDevice => "block-device",
            EntryKind::CharDevice => "char-device",
            EntryKind::Unknown => "unknown",
        }
    }

    /// DFXML `name_type` letter.
    pub fn dfxml_name_type(self) -> &'static str {
        match self {
            EntryKind::File => "r",
            EntryKind::Directory => "d",
            EntryKind::Symlink => "l",
            EntryKind::Fifo => "p",
            EntryKind::Socket => "s",
            EntryKind::BlockDevice => "b",
            EntryKind::CharDevice => "c",
            EntryKind::Unknown => "-",
        }
    }
}

/// One membership of a file's hash in a reference set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Match {
    /// Index of the set in [`Header::reference_sets`].
    pub reference: usize,
    /// The set (source) name within that reference set.
    pub set: String,
    pub disposition: Disposition,
    /// Which of the file's hashes matched.
    pub hash: HashKind,
    /// Hamming distance, for perceptual matches only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distance: Option<u32>,
    /// The dihedral transform of the file's image that matched (`rot90`, `flipx`, ...),
    /// when not the image as stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transform: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// The categorisation profile the category belongs to (VICS: Default, US, UK...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub victim_identified: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offender_identified: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series: Option<String>,
    /// The entry's identifier in its source (VICS MediaID, line number...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Match {
    /// Total order used to sort a file's matches: alerts first, then by reference set,
    /// hash kind (exact digests before perceptual), distance and the remaining fields.
    pub fn sort_key(&self) -> impl Ord + '_ {
        (
            self.disposition,
            self.reference,
            self.hash,
            self.distance,
            &self.set,
            &self.transform,
            &self.source_id,
            &self.category,
            &self.profile,
            &self.series,
            &self.note,
            (self.victim_identified, self.offender_identified),
        )
    }
}

/// Everything reported about one directory entry. Field order is the JSON order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryRecord {
    /// The path (evidence root as given, joined with the names below it), lossy UTF-8.
    pub path: String,
    /// The path's exact bytes in hex, present only when they are not valid UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_bytes_hex: Option<String>,
    pub kind: Option<EntryKind>,
    pub disposition: Option<EntryDisposition>,
    /// Why the entry was skipped or is an error (or, for an alert, what else went wrong).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Size from `lstat` (for a followed symbolic link, from `stat`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inode: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nlink: Option<u64>,
    /// Times as stat reported them before the file was opened (UTC, RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtime: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub atime: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ctime: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_target: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_target_hex: Option<String>,
    /// Whether the file was opened with `O_NOATIME` (false: its access time may have been
    /// updated by the read; mount the evidence read-only to rule that out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noatime: Option<bool>,
    /// Bytes actually read (differs from `size` when the file changed while read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes_read: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub md5: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha1: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Image format sniffed from content (never from the extension).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_format: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pdq: Option<String>,
    /// PDQ quality 0-100; below 50 the hash is recorded but never matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pdq_quality: Option<u8>,
    /// The 8 dihedral PDQ hashes (orig, rot90, rot180, rot270, flipx, flipy, flipplus1,
    /// flipminus1) when `--dihedral` was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pdq_dihedral: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phash: Option<String>,
    /// Why the content looked like an image but produced no perceptual hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_error: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub matches: Vec<Match>,
    /// Cluster of near-duplicate unknown images (`--cluster`), numbered from 1 in order of
    /// each cluster's first path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<u64>,
}

impl EntryRecord {
    /// The disposition, `error` if unset (a record is always completed before it is written).
    pub fn disposition(&self) -> EntryDisposition {
        self.disposition.unwrap_or(EntryDisposition::Error)
    }

    pub fn kind(&self) -> EntryKind {
        self.kind.unwrap_or(EntryKind::Unknown)
    }

    /// The exact path bytes (decoded from `path_bytes_hex` when present).
    pub fn path_bytes(&self) -> Vec<u8> {
        match &self.path_bytes_hex {
            Some(hex) => decode_hex_lossless(hex).unwrap_or_else(|| self.path.as_bytes().to_vec()),
            None => self.path.as_bytes().to_vec(),
        }
    }

    /// The last path component (lossy UTF-8), as DFXML and CASE file names want it.
    pub fn file_name(&self) -> &str {
        let trimmed = self.path.trim_end_matches('/');
        match trimmed.rfind('/') {
            Some(i) => &trimmed[i + 1..],
            None => trimmed,
        }
    }
}

fn decode_hex_lossless(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok()).collect()
}

/// The lossy UTF-8 text of an OS string, and its bytes in hex when it is not valid UTF-8.
pub fn text_and_hex(s: &OsStr) -> (String, Option<String>) {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let bytes = s.as_bytes();
        match std::str::from_utf8(bytes) {
            Ok(text) => (text.to_string(), None),
            Err(_) => {
                (String::from_utf8_lossy(bytes).into_owned(), Some(crate::hex::encode(bytes)))
            }
        }
    }
    #[cfg(not(unix))]
    {
        match s.to_str() {
            Some(text) => (text.to_string(), None),
            None => {
                let lossy = s.to_string_lossy().into_owned();
                let hex = crate::hex::encode(lossy.as_bytes());
                (lossy, Some(hex))
            }
        }
    }
}

/// A reference set as loaded for the scan, for the provenance header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferenceProvenance {
    /// Path as given on the command line (or by the caller).
    pub path: String,
    /// SHA-256 of that file, hex.
    pub sha256: String,
    /// "mhset" for a compiled reference set; otherwise the source format it was built from
    /// in memory (e.g. "vics-json-2.0", "md5sum").
    pub kind: String,
    /// The disposition forced on a set built from a source file (`--alert`, `--ignore`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disposition: Option<Disposition>,
    /// The sources the set was built from, with their declared identity and counts.
    #[serde(default)]
    pub sources: Vec<crate::refset::SourceInfo>,
}

/// The options in force, as recorded in the header.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OptionsRecord {
    pub pdq_radius: u32,
    pub phash_radius: u32,
    pub pdq_quality_threshold: u8,
    /// "full" (hash the image at full resolution) or "512" (the reference CLI's downscale).
    pub pdq_convention: String,
    pub dihedral: bool,
    pub follow_symlinks: bool,
    /// Symbolic-link targets read even on writable mounts (see `ScanOptions::link_targets`).
    pub link_targets: bool,
    pub one_file_system: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_file_size: Option<u64>,
    pub max_image_file_bytes: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
    pub cluster: bool,
    pub threads: usize,
    /// Decoder limits and any other analysis settings, as `key=value` text.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub limits: Vec<String>,
}

/// First record of a report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub tool: String,
    pub version: String,
    /// The full command line, one element per argument (lossy UTF-8).
    pub command_line: Vec<String>,
    /// UTC, RFC 3339.
    pub start_time: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    pub evidence_roots: Vec<String>,
    pub reference_sets: Vec<ReferenceProvenance>,
    pub options: OptionsRecord,
}

/// Counts by disposition; they add up to `entries`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub entries: u64,
    pub alert: u64,
    pub ignore: u64,
    pub unknown_image: u64,
    pub other: u64,
    pub directory: u64,
    pub skipped: u64,
    pub error: u64,
}

impl Counts {
    pub fn add(&mut self, disposition: EntryDisposition) {
        self.entries += 1;
        *self.slot(disposition) += 1;
    }

    pub fn get(&self, disposition: EntryDisposition) -> u64 {
        match disposition {
            EntryDisposition::Alert => self.alert,
            EntryDisposition::Ignore => self.ignore,
            EntryDisposition::UnknownImage => self.unknown_image,
            EntryDisposition::Other => self.other,
            EntryDisposition::Directory => self.directory,
            EntryDisposition::Skipped => self.skipped,
            EntryDisposition::Error => self.error,
        }
    }

    fn slot(&mut self, disposition: EntryDisposition) -> &mut u64 {
        match disposition {
            EntryDisposition::Alert => &mut self.alert,
            EntryDisposition::Ignore => &mut self.ignore,
            EntryDisposition::UnknownImage => &mut self.unknown_image,
            EntryDisposition::Other => &mut self.other,
            EntryDisposition::Directory => &mut self.directory,
            EntryDisposition::Skipped => &mut self.skipped,
            EntryDisposition::Error => &mut self.error,
        }
    }

    /// True when the per-disposition counts add up to `entries`.
    pub fn is_consistent(&self) -> bool {
        EntryDisposition::ALL.iter().map(|d| self.get(*d)).sum::<u64>() == self.entries
    }
}

/// Last record of a report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Footer {
    /// False when the scan was interrupted: the entries are then a complete, sorted prefix
    /// of what a full scan would have reported.
    pub completed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_reason: Option<String>,
    pub counts: Counts,
    /// Regular files read to the end.
    pub files_read: u64,
    pub bytes_read: u64,
    /// Files opened without `O_NOATIME` (their access time may have changed).
    pub files_without_noatime: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clusters: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clustered_images: Option<u64>,
    pub end_time: String,
    pub duration_ms: u64,
    /// The exit status `mh scan` returns for this report (0 clean, 1 alerts, 2 errors or
    /// incomplete).
    pub exit_status: i32,
}

impl Footer {
    /// 2 when any entry is an error or the scan did not complete; else 1 when any alert;
    /// else 0. Errors win because they mean some content was not examined.
    pub fn compute_exit_status(completed: bool, counts: &Counts) -> i32 {
        if !completed || counts.error > 0 {
            2
        } else if counts.alert > 0 {
            1
        } else {
            0
        }
    }
}

/// Receives a report as it is produced: one header, entries in order, one footer.
pub trait ReportWriter {
    fn header(&mut self, header: &Header) -> io::Result<()>;
    fn entry(&mut self, entry: &EntryRecord) -> io::Result<()>;
    /// Writes the footer and flushes.
    fn footer(&mut self, footer: &Footer) -> io::Result<()>;
}

impl<T: ReportWriter + ?Sized> ReportWriter for Box<T> {
    fn header(&mut self, header: &Header) -> io::Result<()> {
        (**self).header(header)
    }
    fn entry(&mut self, entry: &EntryRecord) -> io::Result<()> {
        (**self).entry(entry)
    }
    fn footer(&mut self, footer: &Footer) -> io::Result<()> {
        (**self).footer(footer)
    }
}

/// The report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ReportFormat {
    /// JSON Lines: header record, one object per entry, footer record.
    #[default]
    Jsonl,
    /// CSV: one row per entry with fixed columns (no header/footer rows; see [`csv`]).
    Csv,
    /// Digital Forensics XML.
    Dfxml,
    /// CASE/UCO JSON-LD.
    Case,
}

impl ReportFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            ReportFormat::Jsonl => "jsonl",
            ReportFormat::Csv => "csv",
            ReportFormat::Dfxml => "dfxml",
            ReportFormat::Case => "case",
        }
    }

    /// A writer of this format over `out`.
    pub fn writer<'a, W: io::Write + 'a>(self, out: W) -> Box<dyn ReportWriter + 'a> {
        match self {
            ReportFormat::Jsonl => Box::new(jsonl::JsonlWriter::new(out)),
            ReportFormat::Csv => Box::new(csv::CsvWriter::new(out)),
            ReportFormat::Dfxml => Box::new(dfxml::DfxmlWriter::new(out)),
            ReportFormat::Case => Box::new(case::CaseWriter::new(out)),
        }
    }
}

/// An unknown report format name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown report format {name:?}: use jsonl, csv, dfxml or case")]
pub struct UnknownFormat {
    pub name: String,
}

impl FromStr for ReportFormat {
    type Err = UnknownFormat;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "jsonl" | "json" => Ok(ReportFormat::Jsonl),
            "csv" => Ok(ReportFormat::Csv),
            "dfxml" | "xml" => Ok(ReportFormat::Dfxml),
            "case" | "uco" | "jsonld" => Ok(ReportFormat::Case),
            _ => Err(UnknownFormat { name: s.to_string() }),
        }
    }
}

impl fmt::Display for ReportFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Formats seconds and nanoseconds since the Unix epoch as UTC RFC 3339
/// (`1970-01-01T00:00:00Z`, with 9 fraction digits only when `nanos` is not zero).
/// Negative seconds (before 1970) are handled; years are clamped to 0000-9999.
pub fn rfc3339_utc(secs: i64, nanos: u32) -> String {
    let days = secs.div_euclid(86_400);
    let second_of_day = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    let year = year.clamp(0, 9999);
    let (h, m, s) = (second_of_day / 3600, second_of_day / 60 % 60, second_of_day % 60);
    if nanos == 0 {
        format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}Z")
    } else {
        format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{nanos:09}Z")
    }
}

/// RFC 3339 of a `SystemTime`, to the millisecond (for header and footer times).
pub fn rfc3339_system_time(time: SystemTime) -> String {
    let (secs, nanos) = match time.duration_since(UNIX_EPOCH) {
        Ok(d) => (d.as_secs() as i64, d.subsec_nanos()),
        Err(e) => {
            let d: Duration = e.duration();
            let mut secs = -(d.as_secs() as i64);
            let mut nanos = d.subsec_nanos();
            if nanos > 0 {
                secs -= 1;
                nanos = 1_000_000_000 - nanos;
            }
            (secs, nanos)
        }
    };
    let days = secs.div_euclid(86_400);
    let second_of_day = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    let (h, m, s) = (second_of_day / 3600, second_of_day / 60 % 60, second_of_day % 60);
    let millis = nanos / 1_000_000;
    format!("{:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{millis:03}Z", year.clamp(0, 9999))
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_known_instants() {
        assert_eq!(rfc3339_utc(0, 0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_utc(981_173_106, 0), "2001-02-03T04:05:06Z");
        // 2000-02-29 (leap day in a century divisible by 400).
        assert_eq!(rfc3339_utc(951_782_400, 0), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339_utc(-1, 0), "1969-12-31T23:59:59Z");
        assert_eq!(rfc3339_utc(1_700_000_000, 5), "2023-11-14T22:13:20.000000005Z");
        // 2100-03-01: 2100 is not a leap year.
        assert_eq!(rfc3339_utc(4_107_542_400, 0), "2100-03-01T00:00:00Z");
        assert_eq!(
            rfc3339_system_time(UNIX_EPOCH + Duration::from_millis(1_234)),
            "1970-01-01T00:00:01.234Z"
        );
    }

    #[test]
    fn civil_matches_day_by_day_walk() {
        // Walk 1970..2400 day by day against a simple month-length model.
        let (mut y, mut m, mut d) = (1970i64, 1u32, 1u32);
        for days in 0..(430 * 366) {
            assert_eq!(civil_from_days(days), (y, m, d), "day {days}");
            let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
            let len = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
                [(m - 1) as usize];
            d += 1;
            if d > len {
                d = 1;
                m += 1;
                if m > 12 {
                    m = 1;
                    y += 1;
                }
            }
        }
    }

    #[test]
    fn counts_add_up() {
        let mut c = Counts::default();
        for d in EntryDisposition::ALL {
            c.add(d);
        }
        c.add(EntryDisposition::Alert);
        assert_eq!(c.entries, 8);
        assert_eq!(c.alert, 2);
        assert!(c.is_consistent());
        c.entries += 1;
        assert!(!c.is_consistent());
    }

    #[test]
    fn exit_status_precedence() {
        let mut c = Counts::default();
        assert_eq!(Footer::compute_exit_status(true, &c), 0);
        c.add(EntryDisposition::Alert);
        assert_eq!(Footer::compute_exit_status(true, &c), 1);
        c.add(EntryDisposition::Error);
        assert_eq!(Footer::compute_exit_status(true, &c), 2);
        assert_eq!(Footer::compute_exit_status(false, &Counts::default()), 2);
    }

    #[test]
    fn format_names() {
        for f in [ReportFormat::Jsonl, ReportFormat::Csv, ReportFormat::Dfxml, ReportFormat::Case] {
            assert_eq!(f.as_str().parse::<ReportFormat>().unwrap(), f);
        }
        let err = "pdf".parse::<ReportFormat>().unwrap_err();
        assert!(err.to_string().contains("pdf"));
    }

    #[cfg(unix)]
    #[test]
    fn non_utf8_names_keep_their_bytes() {
        use std::os::unix::ffi::OsStrExt;
        let (text, hex) = text_and_hex(OsStr::from_bytes(b"a\xffb"));
        assert_eq!(text, "a\u{fffd}b");
        assert_eq!(hex.as_deref(), Some("61ff62"));
        let rec = EntryRecord { path: text, path_bytes_hex: hex, ..Default::default() };
        assert_eq!(rec.path_bytes(), b"a\xffb");
        assert_eq!(text_and_hex(OsStr::new("plain")), ("plain".to_string(), None));
    }
}
