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
pub mod video;

use std::ffi::OsStr;
use std::fmt;
use std::io;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::decode::ImageFormat;
use crate::perceptual::imagehash::Hash64;
use crate::perceptual::pdq::{Dihedral, PdqHash};
use crate::refset::{Disposition, HashKind};

/// What the scan concluded about one directory entry.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
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
    /// refused by the decoder): see `reason`. The default, so a record never concluded is
    /// never mistaken for a clean one.
    #[default]
    Error,
}

impl EntryDisposition {
    /// Every disposition, in declaration order (the order of the footer's counts).
    pub const ALL: [EntryDisposition; 7] = [
        EntryDisposition::Alert,
        EntryDisposition::Ignore,
        EntryDisposition::UnknownImage,
        EntryDisposition::Other,
        EntryDisposition::Directory,
        EntryDisposition::Skipped,
        EntryDisposition::Error,
    ];

    /// The kebab-case name reports use (`alert`, `unknown-image`, ...); also the serde form.
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
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A directory.
    Directory,
    /// A symbolic link (followed or not).
    Symlink,
    /// A named pipe (FIFO).
    Fifo,
    /// A Unix domain socket.
    Socket,
    /// A block device node.
    BlockDevice,
    /// A character device node.
    CharDevice,
    /// `lstat` failed or returned a type this platform does not name.
    #[default]
    Unknown,
}

impl EntryKind {
    /// The kebab-case name reports use (`file`, `block-device`, ...); also the serde form.
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

/// One membership of a file's hash in a reference set: the typed result of matching.
///
/// The JSON form (JSON Lines `matches`, CSV `matches_json`) is this type's serde form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Match {
    /// Index of the set in [`Header::reference_sets`].
    pub reference: usize,
    /// The set (source) name within that reference set.
    pub set: String,
    /// What the set says to do with a match (alert or ignore).
    pub disposition: Disposition,
    /// Which of the file's hashes matched.
    pub hash: HashKind,
    /// Hamming distance, for perceptual matches only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distance: Option<u32>,
    /// The rotation or flip of the file's image that matched, when not the image as stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transform: Option<Dihedral>,
    /// For robust matches (`--robust`): what was done to the file's image and which window
    /// of the reference picture matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub robust: Option<RobustDetail>,
    /// The category the set gives the matched hash (VICS category, list label...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// The categorisation profile the category belongs to (VICS: Default, US, UK...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// Whether the set says the victim is identified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub victim_identified: Option<bool>,
    /// Whether the set says the offender is identified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offender_identified: Option<bool>,
    /// The series the set files the matched hash under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series: Option<String>,
    /// The entry's identifier in its source (VICS MediaID, line number...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_id: Option<String>,
    /// Free text the set attaches to the matched hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// How a robust match was made: the query candidate and the reference window.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RobustDetail {
    /// What was done to the file's image ([`crate::robust::Candidate::describe`]), or
    /// `None` for the image as stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// The reference picture's window that matched, or `None` for the picture itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<crate::robust::Window>,
}

impl RobustDetail {
    /// In words: "trimmed borders 12% left, 12% right; reference window centre-90".
    pub fn describe(&self) -> String {
        let query = self.query.clone().unwrap_or_else(|| "image as stored".to_string());
        match self.window {
            Some(w) => format!("{query}; reference window {w}"),
            None => format!("{query}; reference picture as stored"),
        }
    }
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
            (self.transform, &self.robust),
            &self.source_id,
            &self.category,
            &self.profile,
            &self.series,
            &self.note,
            (self.victim_identified, self.offender_identified),
        )
    }
}

/// Why an entry was skipped or is an error, as a stable code for programs (the C ABI's
/// `reason_code`, the report's `reason_code`); the [`Reason::message`] says it in words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[repr(u32)]
pub enum ReasonCode {
    /// Matched an `--exclude` pattern.
    Excluded = 1,
    /// A symbolic link, not followed.
    SymlinkNotFollowed = 2,
    /// A symbolic link whose target does not exist.
    DanglingSymlink = 3,
    /// A symbolic link loop (too many levels).
    SymlinkLoop = 4,
    /// A symbolic link whose target lies outside the evidence root.
    SymlinkOutsideEvidence = 5,
    /// A named pipe: never opened.
    Fifo = 6,
    /// A socket: nothing to read.
    Socket = 7,
    /// A block device: not read.
    BlockDevice = 8,
    /// A character device: not read.
    CharDevice = 9,
    /// A file type this platform does not name.
    UnknownType = 10,
    /// Larger than the size limit.
    TooLarge = 11,
    /// The mount point of another file system (`--one-file-system`).
    OtherFileSystem = 12,
    /// A directory already on the current path (a loop through links or bind mounts).
    DirectoryLoop = 13,
    /// Already reported under another evidence root (overlapping roots).
    Duplicate = 14,
    /// A disk image read through its volumes and file systems: their records follow; the
    /// image file itself is not hashed as one file.
    DiskImage = 15,
    /// `lstat`/`stat` failed.
    StatFailed = 101,
    /// The link's target could not be read.
    ReadLinkFailed = 102,
    /// The directory could not be listed.
    ListFailed = 103,
    /// The directory listing stopped part way (the names read are scanned).
    ListIncomplete = 104,
    /// The file could not be opened.
    OpenFailed = 105,
    /// The entry was replaced between listing and opening.
    Replaced = 106,
    /// A read failed part way.
    ReadFailed = 107,
    /// The file changed while it was being read.
    ChangedWhileRead = 108,
    /// The content looked like an image but was not decoded (truncated, refused by limits...).
    ImageNotDecoded = 109,
    /// A reference set could not be read (damaged set).
    ReferenceFailed = 110,
    /// A bug in mediahash: please report it.
    Internal = 111,
    /// Not read: `O_NOATIME` was refused (not the owner) on a mount that records access
    /// times, so reading would have changed the evidence (allow with
    /// `--allow-atime-changes`).
    AtimeWouldChange = 112,
    /// A volume of a disk image whose file system is not one mediahash reads (or is
    /// damaged beyond its boot sector): its files are not listed.
    UnknownFileSystem = 113,
    /// A partition that reaches past the end of the media (truncated image or damaged
    /// table): only the part on the media is read.
    PartitionPastEnd = 114,
    /// A disk image's partition table is damaged (CRC mismatch, EBR loop...): the volumes
    /// found are listed, others may be missing.
    PartitionTableDamaged = 115,
    /// A file-system structure is damaged (cluster chain loop, directory pointing to
    /// itself, chain shorter than the size): what could be read is reported.
    FileSystemDamaged = 116,
    /// A deleted file whose content cannot be recovered from the file system (no start
    /// cluster, or its start cluster now belongs to another file).
    NotRecoverable = 117,
    /// A disk image that could not be opened or read.
    ImageUnreadable = 118,
    /// A file-system metadata file (NTFS `$MFT`, `$Bitmap`, `$LogFile`...): listed, not
    /// hashed.
    FileSystemMetadata = 16,
    /// An encrypted archive member: not read (mediahash does not decrypt).
    ArchiveEncrypted = 17,
    /// An archive member compressed with a method mediahash does not read (only stored and
    /// deflate are read).
    ArchiveMethodUnsupported = 18,
    /// An archive nested deeper than the limit (`--archive-depth`): its members are not
    /// listed.
    ArchiveTooDeep = 19,
    /// An archive or member refused by a zip-bomb limit (ratio, total size, entry count,
    /// overlapping entries); the message names the limit.
    ArchiveBomb = 20,
    /// A picture signature found by carving whose data is not a whole picture (no end
    /// found, structure broken, or it does not decode: fragmented, truncated or
    /// overwritten): reported once with its byte range, not hashed.
    CarvedFragment = 21,
    /// An archive's structure is damaged (no central directory, bad local header, member
    /// data cut short or not inflatable).
    ArchiveDamaged = 119,
    /// An archive member whose bytes do not have the CRC-32 the archive records.
    ArchiveCrcMismatch = 120,
    /// A video that could not be hashed: ffmpeg missing, failed, timed out or over a limit
    /// (the message says which).
    VideoNotHashed = 121,
}

impl ReasonCode {
    /// The kebab-case name used in reports (`symlink-not-followed`, `open-failed`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ReasonCode::Excluded => "excluded",
            ReasonCode::SymlinkNotFollowed => "symlink-not-followed",
            ReasonCode::DanglingSymlink => "dangling-symlink",
            ReasonCode::SymlinkLoop => "symlink-loop",
            ReasonCode::SymlinkOutsideEvidence => "symlink-outside-evidence",
            ReasonCode::Fifo => "fifo",
            ReasonCode::Socket => "socket",
            ReasonCode::BlockDevice => "block-device",
            ReasonCode::CharDevice => "char-device",
            ReasonCode::UnknownType => "unknown-type",
            ReasonCode::TooLarge => "too-large",
            ReasonCode::OtherFileSystem => "other-file-system",
            ReasonCode::DirectoryLoop => "directory-loop",
            ReasonCode::Duplicate => "duplicate",
            ReasonCode::DiskImage => "disk-image",
            ReasonCode::StatFailed => "stat-failed",
            ReasonCode::ReadLinkFailed => "read-link-failed",
            ReasonCode::ListFailed => "list-failed",
            ReasonCode::ListIncomplete => "list-incomplete",
            ReasonCode::OpenFailed => "open-failed",
            ReasonCode::Replaced => "replaced",
            ReasonCode::ReadFailed => "read-failed",
            ReasonCode::ChangedWhileRead => "changed-while-read",
            ReasonCode::ImageNotDecoded => "image-not-decoded",
            ReasonCode::ReferenceFailed => "reference-failed",
            ReasonCode::Internal => "internal",
            ReasonCode::AtimeWouldChange => "atime-would-change",
            ReasonCode::UnknownFileSystem => "unknown-file-system",
            ReasonCode::PartitionPastEnd => "partition-past-end",
            ReasonCode::PartitionTableDamaged => "partition-table-damaged",
            ReasonCode::FileSystemDamaged => "file-system-damaged",
            ReasonCode::NotRecoverable => "not-recoverable",
            ReasonCode::ImageUnreadable => "image-unreadable",
            ReasonCode::FileSystemMetadata => "file-system-metadata",
            ReasonCode::ArchiveEncrypted => "archive-encrypted",
            ReasonCode::ArchiveMethodUnsupported => "archive-method-unsupported",
            ReasonCode::ArchiveTooDeep => "archive-too-deep",
            ReasonCode::ArchiveBomb => "archive-bomb",
            ReasonCode::CarvedFragment => "carved-fragment",
            ReasonCode::ArchiveDamaged => "archive-damaged",
            ReasonCode::ArchiveCrcMismatch => "archive-crc-mismatch",
            ReasonCode::VideoNotHashed => "video-not-hashed",
        }
    }
}

impl fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an entry was skipped or is an error: a code for programs and a message for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    /// The stable code.
    pub code: ReasonCode,
    /// What happened and, where useful, what to do about it.
    pub message: String,
}

impl Reason {
    /// A reason with this code and message.
    pub fn new(code: ReasonCode, message: impl Into<String>) -> Reason {
        Reason { code, message: message.into() }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// A point in time as a file system records it: seconds and nanoseconds since the Unix
/// epoch (UTC). Reports write it as RFC 3339 ([`rfc3339_utc`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Timestamp {
    /// Seconds since 1970-01-01T00:00:00Z (negative before).
    pub secs: i64,
    /// Nanoseconds within the second, 0..1e9.
    pub nanos: u32,
}

impl Timestamp {
    /// RFC 3339 in UTC, as every report writes it.
    pub fn to_rfc3339(self) -> String {
        rfc3339_utc(self.secs, self.nanos)
    }

    /// Parses what [`Timestamp::to_rfc3339`] writes.
    pub fn from_rfc3339(text: &str) -> Option<Timestamp> {
        parse_rfc3339_utc(text)
    }
}

/// Everything reported about one directory entry, as typed values; the report writers
/// turn them into text. Field order is the JSON Lines order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EntryRecord {
    /// The path (evidence root as given, joined with the names below it), as exact bytes.
    /// Reports write its lossy UTF-8 form as `path` and, only when the bytes are not valid
    /// UTF-8, the bytes in hex as `path_bytes_hex`.
    pub path: Vec<u8>,
    /// The type of the entry itself.
    pub kind: EntryKind,
    /// What the scan concluded.
    pub disposition: EntryDisposition,
    /// Why the entry was skipped or is an error (or, for an alert, what else went wrong).
    pub reason: Option<Reason>,
    /// Size from `lstat` (for a followed symbolic link, from `stat`).
    pub size: Option<u64>,
    /// Unix mode bits (type and permissions).
    pub mode: Option<u32>,
    /// Owner user id.
    pub uid: Option<u32>,
    /// Owner group id.
    pub gid: Option<u32>,
    /// Inode number.
    pub inode: Option<u64>,
    /// Hard link count.
    pub nlink: Option<u64>,
    /// Modification time as stat reported it before the file was opened.
    pub mtime: Option<Timestamp>,
    /// Access time as stat reported it before the file was opened.
    pub atime: Option<Timestamp>,
    /// Inode change time as stat reported it before the file was opened.
    pub ctime: Option<Timestamp>,
    /// A symbolic link's target, as exact bytes (`link_target`, `link_target_hex`).
    pub link_target: Option<Vec<u8>>,
    /// Whether the file was opened with `O_NOATIME` (false: its access time may have been
    /// updated by the read; mount the evidence read-only to rule that out).
    pub noatime: Option<bool>,
    /// Bytes actually read (differs from `size` when the file changed while read).
    pub bytes_read: Option<u64>,
    /// MD5 of the bytes read.
    pub md5: Option<[u8; 16]>,
    /// SHA-1 of the bytes read.
    pub sha1: Option<[u8; 20]>,
    /// SHA-256 of the bytes read.
    pub sha256: Option<[u8; 32]>,
    /// Image format sniffed from content (never from the extension).
    pub image_format: Option<ImageFormat>,
    /// Image width as stored.
    pub width: Option<u32>,
    /// Image height as stored.
    pub height: Option<u32>,
    /// PDQ hash of the image.
    pub pdq: Option<PdqHash>,
    /// PDQ quality 0-100; below 50 the hash is recorded but never matched.
    pub pdq_quality: Option<u8>,
    /// The 8 dihedral PDQ hashes in [`Dihedral::ALL`] order, with `--dihedral`.
    pub pdq_dihedral: Option<[PdqHash; 8]>,
    /// pHash as Python `imagehash` computes it.
    pub phash: Option<Hash64>,
    /// Why the content looked like an image but produced no perceptual hash.
    pub image_error: Option<String>,
    /// Every membership found, sorted by [`Match::sort_key`].
    pub matches: Vec<Match>,
    /// Cluster of near-duplicate unknown images (`--cluster`), numbered from 1 in order of
    /// each cluster's first path.
    pub cluster: Option<u64>,
    /// Provenance indicators from the picture's metadata (C2PA, generator parameters,
    /// software, camera, digital source type, no camera metadata): signs, never verdicts
    /// (see [`crate::provenance`]). Empty for non-pictures.
    pub provenance: Vec<crate::provenance::Indicator>,
    /// Where an entry inside a disk image or an archive lies (image, partition, file system,
    /// entry number, deleted flag, byte runs, archive members); `None` for entries on a
    /// mounted file system.
    pub location: Option<Location>,
    /// A video found by content: stream, vPDQ summary, video and frame matches
    /// ([`video::VideoRecord`]).
    pub video: Option<Box<video::VideoRecord>>,
}

/// One contiguous stretch of an entry's content on the media.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ByteRun {
    /// Offset of the first byte in the media (the disk image's content).
    pub img_offset: u64,
    /// Length in bytes.
    pub len: u64,
}

/// Where an entry inside a disk image or an archive lies: enough for another examiner to
/// find it again with another tool (e.g. `icat -o PARTITION_OFFSET/SECTOR IMAGE
/// ENTRY_NUMBER`, then `unzip -p ARCHIVE MEMBER`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    /// The evidence file holding the entry, as given, lossy UTF-8: the disk image (the
    /// first piece of a split set), or for a member of an archive on a mounted file system
    /// the outermost archive file.
    pub image: String,
    /// The container (`raw`, `raw (3 segments)`; `file` for an archive on a mounted file
    /// system).
    pub container: String,
    /// Partitioning scheme (`mbr`, `gpt`, `none`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
    /// Partition number (MBR 1-4 primary, 5.. logical; GPT entry index + 1; 0 for a media
    /// without a partition table).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<u32>,
    /// Byte offset of the partition on the media.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition_offset: Option<u64>,
    /// Length of the partition in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition_length: Option<u64>,
    /// Partition type (MBR `0x0c`, GPT type GUID).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition_type: Option<String>,
    /// File system type (`fat12`, `fat16`, `fat32`, `ntfs`, `ext2`, `ext3`, `ext4`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fs_type: Option<String>,
    /// The entry's number in its file system, as The Sleuth Kit numbers it (`icat`'s
    /// inode address).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry_number: Option<u64>,
    /// The Sleuth Kit's full address of the content when the entry number alone does not
    /// name it (NTFS `record-type-id`, e.g. `64-128-4` for an alternate data stream):
    /// `icat -o SECTOR IMAGE ADDRESS` reads the same bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fs_address: Option<String>,
    /// The entry is marked deleted (its own directory entry or an ancestor's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted: Option<bool>,
    /// Where the content was read from, in file order (absent for archive members: the
    /// runs would be the archive's).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub byte_runs: Vec<ByteRun>,
    /// Set for a picture carved from space no file system entry names (see
    /// [`crate::evidence::carve`]): where and how it was found. Such records have no entry
    /// number; their byte runs are the carved bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carved: Option<Carved>,
    /// The archive members leading to the entry, outermost first: one for a member of an
    /// archive, two for a member of an archive inside an archive. The partition, file-system
    /// and entry-number fields above then name the outermost archive file.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub archive: Vec<ArchiveMember>,
}

/// Where a carved item was found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Carved {
    /// Media byte offset of its first byte (the signature).
    pub offset: u64,
    /// Bytes carved: the whole picture, or for a fragment the bytes examined.
    pub length: u64,
    /// The space it was carved from: `unallocated` (free space of the volume's file
    /// system), `volume` (a volume whose file system is unknown or damaged, carved whole),
    /// `unpartitioned` (outside every partition).
    pub area: String,
    /// The format its signature names (`jpeg`, `png`, `gif`, `bmp`, `webp`).
    pub format: String,
}

/// One step into an archive: the member as its central directory records it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveMember {
    /// The member's name as recorded, lossy UTF-8 (never cleaned: `../x` stays `../x`).
    pub name: String,
    /// The name's exact bytes in hex, only when they are not valid UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_hex: Option<String>,
    /// The entry's index in the central directory, from 0 (`unzip -l` order).
    pub index: u64,
    /// Compression method (`stored`, `deflate`, `bzip2`, ... `method-N`).
    pub method: String,
    /// Compressed size in bytes.
    pub compressed_size: u64,
    /// The CRC-32 the archive records, 8 hex digits.
    pub crc32: String,
    /// Offset of the member's local header in the archive's bytes.
    pub local_header_offset: u64,
    /// The member is encrypted.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub encrypted: bool,
    /// Why the name is suspect, when it is: `parent-dir` (a `..` component), `absolute`,
    /// `drive-letter`, `backslash`, `nul`, `empty`. Such names are reported, never used.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub name_flags: Vec<String>,
}

impl EntryRecord {
    /// A record for `path` with nothing else filled in yet.
    pub fn at(path: impl Into<Vec<u8>>) -> EntryRecord {
        EntryRecord { path: path.into(), ..Default::default() }
    }

    /// Sets the disposition and reason.
    pub fn conclude(&mut self, disposition: EntryDisposition, reason: Option<Reason>) {
        self.disposition = disposition;
        self.reason = reason;
    }

    /// The path as lossy UTF-8 text (invalid sequences become U+FFFD).
    pub fn path_text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.path)
    }

    /// The last path component (lossy UTF-8), as DFXML and CASE file names want it.
    pub fn file_name(&self) -> String {
        let mut trimmed: &[u8] = &self.path;
        while let [rest @ .., b'/'] = trimmed {
            trimmed = rest;
        }
        let name = match trimmed.iter().rposition(|&b| b == b'/') {
            Some(i) => &trimmed[i + 1..],
            None => trimmed,
        };
        String::from_utf8_lossy(name).into_owned()
    }

    /// The reason's message, if any.
    pub fn reason_message(&self) -> Option<&str> {
        self.reason.as_ref().map(|r| r.message.as_str())
    }
}

/// The lossy UTF-8 text of some bytes, and the bytes in hex when they are not valid UTF-8.
pub fn text_and_hex(bytes: &[u8]) -> (String, Option<String>) {
    match std::str::from_utf8(bytes) {
        Ok(text) => (text.to_string(), None),
        Err(_) => (String::from_utf8_lossy(bytes).into_owned(), Some(crate::hex::encode(bytes))),
    }
}

/// The bytes of an OS string (on Unix exactly the file name's bytes).
pub fn os_str_bytes(s: &OsStr) -> &[u8] {
    s.as_encoded_bytes()
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
    /// Largest PDQ Hamming distance (bits out of 256) reported as a perceptual match.
    pub pdq_radius: u32,
    /// Largest pHash Hamming distance (bits out of 64) reported as a perceptual match.
    pub phash_radius: u32,
    /// PDQ quality (0-100) below which a file's PDQ is recorded but never matched.
    pub pdq_quality_threshold: u8,
    /// "full" (hash the image at full resolution) or "512" (the reference CLI's downscale).
    pub pdq_convention: String,
    /// Whether the 8 rotations and flips of each image's PDQ were matched too.
    pub dihedral: bool,
    /// Robust matching's radius for candidates and windows (PDQ bits), when `--robust`
    /// was on; absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub robust_radius: Option<u32>,
    /// Whether symbolic links were followed (otherwise they are recorded and skipped).
    pub follow_symlinks: bool,
    /// Symbolic-link targets read even on writable mounts (see `ScanOptions::link_targets`).
    pub link_targets: bool,
    /// Whether directories on another file system than their evidence root were skipped.
    pub one_file_system: bool,
    /// Size limit in bytes above which regular files were skipped unread; absent: no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_file_size: Option<u64>,
    /// Size limit in bytes above which an image is digested but not decoded (no
    /// perceptual hash; the entry says why).
    pub max_image_file_bytes: u64,
    /// The `--exclude` glob patterns, as given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
    /// Whether unknown images were grouped into clusters of near duplicates.
    pub cluster: bool,
    /// Hashing threads actually used (never 0: "automatic" is resolved before recording).
    pub threads: usize,
    /// Decoder limits and any other analysis settings, as `key=value` text.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub limits: Vec<String>,
}

/// First record of a report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// Always `mediahash`.
    pub tool: String,
    /// The mediahash version that wrote the report ([`crate::VERSION`]).
    pub version: String,
    /// The full command line, one element per argument (lossy UTF-8).
    pub command_line: Vec<String>,
    /// UTC, RFC 3339.
    pub start_time: String,
    /// The examining machine's host name, when the system gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The evidence roots scanned, sorted, as given (lossy UTF-8).
    pub evidence_roots: Vec<String>,
    /// The directory the scan ran in (lossy UTF-8): relative roots and paths are relative
    /// to it (`mh review` resolves them so, from any directory).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_directory: Option<String>,
    /// The reference sets matched against; [`Match::reference`] indexes this list.
    pub reference_sets: Vec<ReferenceProvenance>,
    /// The options in force.
    pub options: OptionsRecord,
    /// Whether libjpeg-turbo's SIMD decoder was built in (same pixels either way; without
    /// it JPEG decoding is about 1.5x slower: install nasm and rebuild).
    #[serde(default)]
    pub jpeg_simd: bool,
    /// Disk images whose media was hashed and compared with the digests their container
    /// stored, before the scan (`mh scan --verify-image`), in root order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub image_verifications: Vec<ImageVerification>,
}

/// The outcome of checking a disk image's media against the digests stored at acquisition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VerifyStatus {
    /// Every byte was read and each stored digest equals the one computed.
    Verified,
    /// Every byte was read, and a stored digest differs from the one computed.
    Mismatch,
    /// Some of the media could not be read (a damaged chunk, a truncated segment) or the
    /// container could not be opened: no digest of the whole media exists.
    Unreadable,
    /// Every byte was read; the container stores no digest (raw images): the computed
    /// digests are the image's, for the case file.
    NoStoredDigest,
    /// Stopped before the end (cancelled).
    Incomplete,
}

impl VerifyStatus {
    /// The name used in reports (`verified`, `mismatch`, `unreadable`,
    /// `no-stored-digest`, `incomplete`).
    pub fn as_str(self) -> &'static str {
        match self {
            VerifyStatus::Verified => "verified",
            VerifyStatus::Mismatch => "mismatch",
            VerifyStatus::Unreadable => "unreadable",
            VerifyStatus::NoStoredDigest => "no-stored-digest",
            VerifyStatus::Incomplete => "incomplete",
        }
    }

    /// Whether the image failed verification (mismatch, unreadable, incomplete).
    pub fn failed(self) -> bool {
        !matches!(self, VerifyStatus::Verified | VerifyStatus::NoStoredDigest)
    }
}

/// One disk image's verification: its media hashed in one pass (MD5, SHA-1) and compared
/// with the digests its container stored (EWF `hash`/`digest` sections).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageVerification {
    /// The image file (first segment), as given, lossy UTF-8.
    pub image: String,
    /// The container (`ewf`, `ewf (3 segments)`, `raw`...).
    pub container: String,
    /// The outcome.
    pub status: VerifyStatus,
    /// Media size in bytes.
    pub media_size: u64,
    /// Stored MD5, lower-case hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stored_md5: Option<String>,
    /// Stored SHA-1, lower-case hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stored_sha1: Option<String>,
    /// MD5 of the media as read (absent when part of it was unreadable).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub computed_md5: Option<String>,
    /// SHA-1 of the media as read (absent when part of it was unreadable).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub computed_sha1: Option<String>,
    /// Media bytes that could not be read.
    #[serde(default)]
    pub unreadable_bytes: u64,
    /// The unreadable media byte ranges `[start, end)` (the first 100).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unreadable_ranges: Vec<(u64, u64)>,
    /// What was found, in words (each mismatch, the first read errors, open errors).
    pub message: String,
    /// What the container records about the acquisition, `[name, value]` in the
    /// container's order (EWF: `format`, `case_number`, `evidence_number`, `description`,
    /// `examiner`, `notes`, `acquisition_software`, `acquisition_date`...,
    /// `acquisition_error_sectors` as `start+count` ranges the acquisition could not read).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metadata: Vec<(String, String)>,
}

/// Counts by disposition; they add up to `entries`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Entry records written.
    pub entries: u64,
    /// Entries with [`EntryDisposition::Alert`].
    pub alert: u64,
    /// Entries with [`EntryDisposition::Ignore`].
    pub ignore: u64,
    /// Entries with [`EntryDisposition::UnknownImage`].
    pub unknown_image: u64,
    /// Entries with [`EntryDisposition::Other`].
    pub other: u64,
    /// Entries with [`EntryDisposition::Directory`].
    pub directory: u64,
    /// Entries with [`EntryDisposition::Skipped`].
    pub skipped: u64,
    /// Entries with [`EntryDisposition::Error`].
    pub error: u64,
}

impl Counts {
    /// Counts one more entry with this disposition (keeps the counts consistent).
    pub fn add(&mut self, disposition: EntryDisposition) {
        self.entries += 1;
        *self.slot(disposition) += 1;
    }

    /// The count for one disposition.
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

/// `16 entries: 3 alert, 2 ignore, 4 unknown-image, 2 other, 4 directory, 0 skipped, 1 error`:
/// the one human form of the counts (the `mh` summary, the CASE action description).
impl fmt::Display for Counts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} entries:", self.entries)?;
        for (i, d) in EntryDisposition::ALL.iter().enumerate() {
            let sep = if i == 0 { " " } else { ", " };
            write!(f, "{sep}{} {}", self.get(*d), d.as_str())?;
        }
        Ok(())
    }
}

/// Last record of a report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Footer {
    /// False when the scan was interrupted: the entries are then a complete, sorted prefix
    /// of what a full scan would have reported.
    pub completed: bool,
    /// Why the scan stopped early, in words; absent when it completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_reason: Option<String>,
    /// Entries by disposition; they add up ([`Counts::is_consistent`]).
    pub counts: Counts,
    /// Regular files read to the end.
    pub files_read: u64,
    /// Bytes read from evidence, all files together.
    pub bytes_read: u64,
    /// Files read without `O_NOATIME` on a mount that records access times (their access
    /// time may have changed; only with `--allow-atime-changes`).
    pub files_without_noatime: u64,
    /// Directories listed without `O_NOATIME` on a mount that records access times.
    #[serde(default)]
    pub dirs_without_noatime: u64,
    /// With `--cluster`: clusters found (groups of two or more near-duplicate unknown images).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clusters: Option<u64>,
    /// With `--cluster`: unknown images that belong to some cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clustered_images: Option<u64>,
    /// UTC, RFC 3339, to the millisecond.
    pub end_time: String,
    /// Wall-clock duration of the scan in milliseconds.
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
///
/// The scan calls the methods in that order exactly once each (`entry` once per record) and
/// stops at the first error, which it returns as a report error: a writer need not guard
/// against misuse, and must not swallow I/O errors (a lost record would go unnoticed).
pub trait ReportWriter {
    /// Writes the header (the first record).
    fn header(&mut self, header: &Header) -> io::Result<()>;
    /// Writes one entry record.
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
    /// The format's canonical name as `--format` takes it (`jsonl`, `csv`, `dfxml`, `case`).
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
    /// The name given.
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

/// Parses the UTC RFC 3339 form [`rfc3339_utc`] writes (`YYYY-MM-DDTHH:MM:SS[.fraction]Z`,
/// up to 9 fraction digits).
pub fn parse_rfc3339_utc(text: &str) -> Option<Timestamp> {
    let b = text.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' {
        return None;
    }
    if b[16] != b':' || *b.last()? != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(r)?;
        part.bytes().all(|c| c.is_ascii_digit()).then(|| part.parse().ok())?
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, m, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || h > 23 || m > 59 || sec > 60 {
        return None;
    }
    let nanos = match &text[19..text.len() - 1] {
        "" => 0,
        frac if frac.len() >= 2 && frac.len() <= 10 && frac.starts_with('.') => {
            let digits = &frac[1..];
            if !digits.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let value: u32 = digits.parse().ok()?;
            value * 10u32.pow(9 - digits.len() as u32)
        }
        _ => return None,
    };
    let days = days_from_civil(year, month as u32, day as u32);
    Some(Timestamp { secs: days * 86_400 + h * 3600 + m * 60 + sec, nanos })
}

/// (year, month, day) to days since 1970-01-01, the inverse of [`civil_from_days`].
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from((month + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
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
    fn counts_read_as_one_line() {
        let mut c = Counts::default();
        for d in [EntryDisposition::Alert, EntryDisposition::Error, EntryDisposition::Alert] {
            c.add(d);
        }
        assert_eq!(
            c.to_string(),
            "3 entries: 2 alert, 0 ignore, 0 unknown-image, 0 other, 0 directory, 0 skipped, 1 error"
        );
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

    #[test]
    fn non_utf8_names_keep_their_bytes() {
        let (text, hex) = text_and_hex(b"a\xffb");
        assert_eq!(text, "a\u{fffd}b");
        assert_eq!(hex.as_deref(), Some("61ff62"));
        assert_eq!(text_and_hex(b"plain"), ("plain".to_string(), None));
        let rec = EntryRecord::at(b"/ev/d\xff/a\xffb".to_vec());
        assert_eq!(rec.file_name(), "a\u{fffd}b");
    }

    #[test]
    fn rfc3339_round_trips() {
        for (secs, nanos) in
            [(0, 0), (-1, 0), (951_782_400, 0), (1_700_000_000, 5), (4_107_542_400, 999_999_999)]
        {
            let t = Timestamp { secs, nanos };
            assert_eq!(Timestamp::from_rfc3339(&t.to_rfc3339()), Some(t), "{t:?}");
        }
        for bad in ["", "2001-02-03 04:05:06Z", "2001-13-03T04:05:06Z", "2001-02-03T04:05:06.Z"] {
            assert_eq!(Timestamp::from_rfc3339(bad), None, "{bad}");
        }
    }
}
