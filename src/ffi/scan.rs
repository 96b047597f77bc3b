//! Scanning directories with a per-entry callback: a thin layer over [`crate::scan::scan`].

use std::ffi::{CStr, c_char, c_void};
use std::io;
use std::path::PathBuf;
use std::ptr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::evidence::archive::ArchiveLimits;
use crate::perceptual::pdq::PdqHash;
use crate::refset::read::{MappedRefSet, RefsetError};
use crate::refset::{HashKind, HashValue};
use crate::report::{
    EntryDisposition, EntryKind, EntryRecord, Footer, Header, Match, ReferenceProvenance,
    ReportWriter,
};
use crate::scan::{LoadedReference, ReferenceIndex, ScanError, ScanOptions};

use super::abi::{read_input, sized32, write_output};
use super::hash::{
    MH_VALID_IMAGE, MH_VALID_IMAGEHASH, MH_VALID_MD5, MH_VALID_PDQ, MH_VALID_SHA1, MH_VALID_SHA256,
    mh_hash_options, path_from_c,
};
use super::refset::{MatchRow, mh_matches, mh_refset};
use super::status::{fail, ffi_boundary, mh_status, non_null, null_parameter};

sized32!(
    mh_archive_limits: max_nested_in_memory as u64,
    mh_scan_options: archive_limits as *const mh_archive_limits,
    mh_scan_entry: location_json as *const c_char,
    mh_scan_summary: exit_status as i32,
);

/// Follow symbolic links (default: record them, do not follow).
pub const MH_SCAN_FOLLOW_SYMLINKS: u32 = 1 << 0;
/// Do not enter directories on another file system than their root.
pub const MH_SCAN_ONE_FILE_SYSTEM: u32 = 1 << 1;
/// Also match the 8 rotations and flips of each image's PDQ hash.
pub const MH_SCAN_DIHEDRAL: u32 = 1 << 2;
/// Read files and directories even where that changes their access times (`O_NOATIME`
/// refused because the caller does not own them, on a mount that records access times).
/// Without it such entries are errors with reason code 112 and are not read; with it they
/// are read, counted, and the scan's exit status is 2.
pub const MH_SCAN_ALLOW_ATIME_CHANGES: u32 = 1 << 3;
/// Hash a root that is a disk image (raw, split raw, EWF) as one file, instead of reading
/// its partitions and file systems (the default).
pub const MH_SCAN_NO_DISK_IMAGES: u32 = 1 << 4;
/// Do not read the members of ZIP archives found by content (they are still hashed as
/// files).
pub const MH_SCAN_NO_ARCHIVES: u32 = 1 << 5;
/// Before scanning, read every root that is a disk image once and compare its media's
/// MD5/SHA-1 with those its container stored (EWF): `mh_scan_summary.images_verified` and
/// `image_verifications_failed` count the outcomes, and a failed one (mismatch, unreadable
/// chunks) makes `exit_status` 2.
pub const MH_SCAN_VERIFY_IMAGES: u32 = 1 << 6;
/// Do not carve pictures from disk images' free and unpartitioned space.
pub const MH_SCAN_NO_CARVE: u32 = 1 << 7;
/// Robust matching (as `mh scan --robust`): pictures behind borders, letterbox bars,
/// blurred padding, screenshot chrome and banners, turned by up to 10°, rotated or mirrored,
/// and (in sets built from pictures) cropped, within the default robust radius. The plain
/// matches are always made too. Robust matches come with `needle` 0 unless a rotation or
/// flip of the whole image matched; the report writers name what was done.
pub const MH_SCAN_ROBUST: u32 = 1 << 8;
const SCAN_FLAGS_ALL: u32 = MH_SCAN_FOLLOW_SYMLINKS
    | MH_SCAN_ONE_FILE_SYSTEM
    | MH_SCAN_DIHEDRAL
    | MH_SCAN_ALLOW_ATIME_CHANGES
    | MH_SCAN_NO_DISK_IMAGES
    | MH_SCAN_NO_ARCHIVES
    | MH_SCAN_VERIFY_IMAGES
    | MH_SCAN_NO_CARVE
    | MH_SCAN_ROBUST;

/// Limits on reading ZIP archives' members (nested ZIPs included). A member or archive over a
/// limit is recorded as skipped with reason code 19 (too deep) or 20 (zip-bomb limit), never
/// read past it. `mh_scan_options_default` fills the defaults.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct mh_archive_limits {
    /// `sizeof` this struct as the caller's header declares it: set it before passing the
    /// struct (see "ABI versioning" in the header's preamble).
    pub struct_size: u32,
    /// Deepest nesting read: 1 reads the members of archives met as files, 2 also archives
    /// inside those... (default 4); 0 reads no archive.
    pub max_depth: u32,
    /// Largest uncompressed/compressed size ratio of a member (default 100).
    pub max_ratio: u64,
    /// Largest total uncompressed size of one archive's members, nested archives included
    /// (default 1 TiB).
    pub max_bytes: u64,
    /// Most entries in one archive's central directory (default 1,000,000).
    pub max_entries: u64,
    /// Largest compressed nested archive inflated into memory to read its members (default
    /// 256 MiB).
    pub max_nested_in_memory: u64,
}

impl mh_archive_limits {
    fn from_limits(l: &ArchiveLimits) -> Self {
        mh_archive_limits {
            struct_size: super::abi::size_of_struct::<mh_archive_limits>(),
            max_depth: l.max_depth,
            max_ratio: l.max_ratio,
            max_bytes: l.max_bytes,
            max_entries: l.max_entries,
            max_nested_in_memory: l.max_nested_in_memory,
        }
    }

    fn to_limits(self) -> Result<ArchiveLimits, mh_status> {
        if self.max_ratio == 0 || self.max_bytes == 0 || self.max_entries == 0 {
            return Err(fail(
                mh_status::InvalidParameter,
                "mh_archive_limits: max_ratio, max_bytes and max_entries must be at least 1 \
                 (use max_depth 0, or MH_SCAN_NO_ARCHIVES, to read no archive)",
            ));
        }
        Ok(ArchiveLimits {
            max_depth: self.max_depth,
            max_ratio: self.max_ratio,
            max_bytes: self.max_bytes,
            max_entries: self.max_entries,
            max_nested_in_memory: self.max_nested_in_memory,
        })
    }
}

/// Fills `*out` with the default archive limits (set `out->struct_size` first).
///
/// # Safety
///
/// `out` must be NULL or point to a writable `mh_archive_limits` of its `struct_size`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mh_archive_limits_default(out: *mut mh_archive_limits) -> mh_status {
    ffi_boundary(|| {
        non_null!("mh_archive_limits_default", out)?;
        let limits = mh_archive_limits::from_limits(&ArchiveLimits::default());
        // SAFETY: `out` is non-NULL and the caller guarantees its `struct_size` bytes are
        // writable.
        unsafe { write_output(out, limits, "mh_archive_limits_default") }
    })
}

/// How to scan. Set `struct_size`, initialise with `mh_scan_options_default`, then change
/// fields.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct mh_scan_options {
    /// `sizeof` this struct as the caller's header declares it: set it before passing the
    /// struct (see "ABI versioning" in the header's preamble).
    pub struct_size: u32,
    /// `MH_SCAN_*` bits.
    pub flags: u32,
    /// Hashing threads for this scan (started by `mh_scan`, joined before it returns);
    /// 0 = one per available CPU.
    pub threads: u32,
    /// PDQ match radius: largest Hamming distance, in bits of 256, reported as a match
    /// (0-256, default 31).
    pub pdq_radius: u32,
    /// pHash match radius: largest Hamming distance, in bits of 64, reported as a match
    /// (0-64, default 8).
    pub phash_radius: u32,
    /// Regular files larger than this are recorded as skipped, not read; 0 = no limit.
    pub max_file_size: u64,
    /// NULL for the defaults, or the perceptual hashing, PDQ convention and decode limits
    /// (`digests` and `cancel` are ignored: a scan always computes MD5, SHA-1 and SHA-256,
    /// and stops through `mh_scan_options.cancel`). Read during the call only.
    pub hash: *const mh_hash_options,
    /// NULL for the defaults, or the limits on reading archives' members (unused with
    /// `MH_SCAN_NO_ARCHIVES`). Read during the call only.
    pub archive_limits: *const mh_archive_limits,
    /// NULL, or a token whose `mh_cancel_set` (from any thread) stops the scan: it returns
    /// `MH_STATUS_CANCELLED` soon after, without the summary. When the callback stops the
    /// scan, the token is set too. (Added after ABI version 1's first layout.)
    pub cancel: *const super::cancel::mh_cancel,
}

/// What a scan made of one entry (`mh_scan_entry.disposition`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum mh_entry_disposition {
    /// Matched an alert set (exactly or perceptually).
    Alert = 1,
    /// Matched only ignore sets (known harmless).
    Ignore = 2,
    /// A decodable image that matched nothing.
    UnknownImage = 3,
    /// A regular file, read in full, not an image, matched nothing.
    Other = 4,
    /// A directory whose listing was read.
    Directory = 5,
    /// Deliberately not read (special file, link not followed, over the size limit...).
    Skipped = 6,
    /// Could not be examined fully (permission denied, I/O error, changed while read...).
    Error = 7,
}

/// The file type of an entry (`mh_scan_entry.kind`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum mh_entry_kind {
    /// A regular file.
    File = 1,
    /// A directory.
    Directory = 2,
    /// A symbolic link (followed or not: the kind is the entry's own, from `lstat`).
    Symlink = 3,
    /// A named pipe (never opened).
    Fifo = 4,
    /// A Unix domain socket.
    Socket = 5,
    /// A block device node (not read).
    BlockDevice = 6,
    /// A character device node (not read).
    CharDevice = 7,
    /// `lstat` failed or gave a type without a name here.
    Unknown = 8,
}

/// One scanned entry, passed to the callback. Everything it points to is valid only during
/// the callback: copy what you keep.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct mh_scan_entry {
    /// The library's `sizeof` this struct: read a field only when `struct_size` covers it
    /// (`offsetof(field) + sizeof(field) <= struct_size`), as a newer header may declare
    /// fields an older library does not fill.
    pub struct_size: u32,
    /// The path (root as given joined with the names below it), UTF-8 (invalid sequences
    /// replaced), NUL-terminated.
    pub path: *const c_char,
    /// The exact path bytes (not NUL-terminated): use these, not `path`, to reopen or
    /// compare names that are not valid UTF-8.
    pub path_bytes: *const u8,
    /// Number of bytes at `path_bytes`.
    pub path_bytes_len: usize,
    /// An `mh_entry_kind`.
    pub kind: u32,
    /// An `mh_entry_disposition`.
    pub disposition: u32,
    /// Why the entry was skipped or is an error, or NULL.
    pub reason: *const c_char,
    /// Size from `lstat`, or -1 when unknown.
    pub size: i64,
    /// `MH_VALID_*` bits for the fields below (`MH_VALID_IMAGEHASH`: `phash` only).
    pub valid: u32,
    /// MD5 of the bytes read (`MH_VALID_MD5`).
    pub md5: [u8; 16],
    /// SHA-1 of the bytes read (`MH_VALID_SHA1`).
    pub sha1: [u8; 20],
    /// SHA-256 of the bytes read (`MH_VALID_SHA256`).
    pub sha256: [u8; 32],
    /// Image width in pixels as stored (`MH_VALID_IMAGE`).
    pub width: u32,
    /// Image height in pixels as stored (`MH_VALID_IMAGE`).
    pub height: u32,
    /// PDQ hash, 256 bits as 32 bytes in the order of its 64-digit hex form (`MH_VALID_PDQ`).
    pub pdq: [u8; 32],
    /// PDQ quality 0-100 (`MH_VALID_PDQ`); below 50 the hash is never used for matching.
    pub pdq_quality: u32,
    /// pHash as Python `imagehash` computes it; its 16-digit hex form is this number in
    /// hex, most significant digit first (`MH_VALID_IMAGEHASH`).
    pub phash: u64,
    /// The image format name ("jpeg", "png"...) when the content is an image, or NULL.
    pub image_format: *const c_char,
    /// The entry's matches (never NULL; possibly empty), read with `mh_matches_len` /
    /// `mh_matches_get`. Borrowed: do not free it. In scan matches `needle` is the dihedral
    /// variant that matched (0 = the image as stored), `source_name` names the reference
    /// set's file, and `value`, `entry` and `file_name` are not filled.
    pub matches: *const mh_matches,
    /// Why the entry was skipped or is an error, as a stable number (0 when `reason` is
    /// NULL): the report's `reason_code`. 1-99 are skips (1 excluded, 2 symbolic link not
    /// followed, 3 dangling link, 4 link loop, 5 link leaving the evidence, 6 FIFO, 7 socket,
    /// 8 block device, 9 character device, 10 unknown type, 11 over the size limit, 12 other
    /// file system, 13 directory loop, 14 an evidence root given twice or inside another
    /// root, whose entries are reported under that root, 15 a disk image read through its
    /// volumes and file systems (their entries follow), 16 file-system metadata file (NTFS
    /// `$MFT`...) listed but not hashed, 17 encrypted archive member, 18 archive member
    /// compressed with an unsupported method, 19 archive nested beyond the depth limit,
    /// 20 archive or member refused by a zip-bomb limit, 21 a carved picture signature whose
    /// data is not a whole picture: fragmented, truncated or overwritten, reported once with
    /// its byte range, not hashed); 101 and up are errors (101 stat,
    /// 102 read link, 103 list directory, 104 listing incomplete, 105 open, 106 replaced
    /// before opening, 107 read, 108 changed while read, 109 image not decoded, 110
    /// reference set failed, 111 internal error, 112 not read because its access time would
    /// change: `O_NOATIME` refused, as for a user who does not own the file, on a mount that
    /// records access times, 113 a disk-image volume with no file system mediahash reads,
    /// 114 a partition past the end of the media, 115 a damaged partition table, 116 a
    /// damaged file-system structure, 117 a deleted file whose content is not recoverable,
    /// 118 a disk image that cannot be opened or read, 119 a damaged archive, 120 an
    /// archive member whose CRC-32 does not match).
    pub reason_code: u32,
    /// 1 when the entry is marked deleted in its file system (a disk image's deleted file or
    /// directory, or one below a deleted directory), 0 when it is not, -1 when that does
    /// not apply (files of a mounted folder).
    pub deleted: i32,
    /// Where the entry is inside a disk image or archive, as one JSON object
    /// (NUL-terminated UTF-8): the image file and container, partition number, offset,
    /// length and type, file-system type, entry number (The Sleuth Kit's inode address),
    /// deleted flag, byte runs on the media, the chain of archive members; the same object
    /// as the JSON Lines report's `location` field (docs/report-format.md). NULL for entries
    /// of a mounted folder.
    pub location_json: *const c_char,
    /// Modification time as the report gives it (RFC 3339, UTC, e.g.
    /// "2024-03-01T12:00:00.5Z"), NUL-terminated, or NULL when unknown. (Appended after ABI
    /// version 1's first layout: check `struct_size`.)
    pub mtime: *const c_char,
    /// The inode number on a mounted file system (`st_ino`), or -1 (entries inside disk
    /// images: see `location_json`'s `entry_number`). (Appended, as `mtime`.)
    pub inode: i64,
    /// The picture's provenance indicators as one JSON array (NUL-terminated UTF-8) of
    /// `{"kind": ..., "value": ...}` objects, the same as the JSON Lines report's
    /// `provenance` field: `c2pa`, `generator-parameters`, `software`, `camera`,
    /// `digital-source-type`, `no-camera-metadata`, `metadata-unreadable`
    /// (docs/provenance.md says what each means and how it is forged or stripped: signs,
    /// never verdicts). NULL when the entry has none (not a picture, or a picture whose
    /// format carries no such metadata). (Appended, as `mtime`.)
    pub provenance_json: *const c_char,
}

/// Totals of a finished scan.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct mh_scan_summary {
    /// `sizeof` this struct as the caller's header declares it: set it before passing the
    /// struct (see "ABI versioning" in the header's preamble).
    pub struct_size: u32,
    /// Entries passed to the callback; the eight counts below add up to it.
    pub entries: u64,
    /// Entries with disposition `MH_ENTRY_DISPOSITION_ALERT`.
    pub alert: u64,
    /// Entries with disposition `MH_ENTRY_DISPOSITION_IGNORE`.
    pub ignore: u64,
    /// Entries with disposition `MH_ENTRY_DISPOSITION_UNKNOWN_IMAGE`.
    pub unknown_image: u64,
    /// Entries with disposition `MH_ENTRY_DISPOSITION_OTHER`.
    pub other: u64,
    /// Entries with disposition `MH_ENTRY_DISPOSITION_DIRECTORY`.
    pub directory: u64,
    /// Entries with disposition `MH_ENTRY_DISPOSITION_SKIPPED`.
    pub skipped: u64,
    /// Entries with disposition `MH_ENTRY_DISPOSITION_ERROR`: not fully examined.
    pub error: u64,
    /// Regular files read to the end.
    pub files_read: u64,
    /// Bytes read from the evidence, all files together.
    pub bytes_read: u64,
    /// Files opened without `O_NOATIME` (their access time may have changed).
    pub files_without_noatime: u64,
    /// Wall-clock duration of the scan in milliseconds.
    pub duration_ms: u64,
    /// Disk images whose stored digests were checked (`MH_SCAN_VERIFY_IMAGES`).
    pub images_verified: u64,
    /// Of those, the ones that failed: a digest mismatch, unreadable or corrupt chunks, or
    /// an image that could not be read (`exit_status` is then 2).
    pub image_verifications_failed: u64,
    /// What `mh scan` would exit with: 0 clean, 1 alerts, 2 errors.
    pub exit_status: i32,
}

/// Called once per entry, in path order, on the thread that called `mh_scan`. Return 0 to
/// continue, anything else to stop the scan (which then returns
/// `MH_STATUS_SCAN_CANCELLED`). `userdata` is `mh_scan`'s argument, passed through.
pub type mh_scan_callback =
    Option<unsafe extern "C" fn(userdata: *mut c_void, entry: *const mh_scan_entry) -> i32>;

/// A reference set shared with its `mh_refset` for the scan's duration.
struct SharedRefSet(Arc<MappedRefSet>);

impl ReferenceIndex for SharedRefSet {
    fn lookup(&self, value: &HashValue) -> Result<Vec<Match>, RefsetError> {
        ReferenceIndex::lookup(&*self.0, value)
    }
    fn search_pdq(
        &self,
        needles: &[PdqHash],
        radius: u32,
        limit: usize,
    ) -> Result<Vec<(usize, Match)>, RefsetError> {
        ReferenceIndex::search_pdq(&*self.0, needles, radius, limit)
    }
    fn search_pdq_windows(
        &self,
        needles: &[PdqHash],
        radius: u32,
        limit: usize,
    ) -> Result<Vec<(usize, crate::robust::Window, Match)>, RefsetError> {
        ReferenceIndex::search_pdq_windows(&*self.0, needles, radius, limit)
    }
    fn search_u64(
        &self,
        kind: HashKind,
        value: u64,
        radius: u32,
        limit: usize,
    ) -> Result<Vec<Match>, RefsetError> {
        ReferenceIndex::search_u64(&*self.0, kind, value, radius, limit)
    }
}

fn defaults() -> mh_scan_options {
    let scan = ScanOptions::default();
    mh_scan_options {
        struct_size: super::abi::size_of_struct::<mh_scan_options>(),
        flags: if scan.dihedral { MH_SCAN_DIHEDRAL } else { 0 }
            | if scan.follow_symlinks { MH_SCAN_FOLLOW_SYMLINKS } else { 0 }
            | if scan.one_file_system { MH_SCAN_ONE_FILE_SYSTEM } else { 0 }
            | if scan.no_disk_images { MH_SCAN_NO_DISK_IMAGES } else { 0 }
            | if scan.no_archives { MH_SCAN_NO_ARCHIVES } else { 0 }
            | if scan.verify_images { MH_SCAN_VERIFY_IMAGES } else { 0 }
            | if scan.robust { MH_SCAN_ROBUST } else { 0 },
        threads: u32::try_from(scan.threads).unwrap_or(0),
        pdq_radius: scan.pdq_radius,
        phash_radius: scan.phash_radius,
        max_file_size: scan.max_file_size.unwrap_or(0),
        hash: ptr::null(),
        archive_limits: ptr::null(),
        cancel: ptr::null(),
    }
}

/// # Safety
///
/// `o.hash` and `o.archive_limits` must be NULL or readable for their `struct_size` bytes;
/// `o.cancel` NULL or a live token.
unsafe fn to_scan_options(o: &mh_scan_options) -> Result<ScanOptions, mh_status> {
    if o.flags & !SCAN_FLAGS_ALL != 0 {
        return Err(fail(
            mh_status::InvalidParameter,
            format_args!("mh_scan_options.flags has unknown bits 0x{:x}", o.flags),
        ));
    }
    if o.pdq_radius > 256 || o.phash_radius > 64 {
        return Err(fail(
            mh_status::InvalidParameter,
            format_args!(
                "radius out of range: pdq_radius {} (0-256), phash_radius {} (0-64)",
                o.pdq_radius, o.phash_radius
            ),
        ));
    }
    let analyze = if o.hash.is_null() {
        mh_hash_options::defaults().to_analyze()?
    } else {
        // SAFETY: forwarded from the caller.
        let hash = unsafe { read_input(o.hash, mh_hash_options::defaults(), "mh_scan") }?;
        hash.to_analyze()?
    };
    let archive_limits = if o.archive_limits.is_null() {
        ArchiveLimits::default()
    } else {
        let defaults = mh_archive_limits::from_limits(&ArchiveLimits::default());
        // SAFETY: forwarded from the caller.
        unsafe { read_input(o.archive_limits, defaults, "mh_scan") }?.to_limits()?
    };
    Ok(ScanOptions {
        threads: o.threads as usize,
        follow_symlinks: o.flags & MH_SCAN_FOLLOW_SYMLINKS != 0,
        one_file_system: o.flags & MH_SCAN_ONE_FILE_SYSTEM != 0,
        dihedral: o.flags & MH_SCAN_DIHEDRAL != 0,
        robust: o.flags & MH_SCAN_ROBUST != 0,
        allow_atime_changes: o.flags & MH_SCAN_ALLOW_ATIME_CHANGES != 0,
        no_disk_images: o.flags & MH_SCAN_NO_DISK_IMAGES != 0,
        no_archives: o.flags & MH_SCAN_NO_ARCHIVES != 0,
        verify_images: o.flags & MH_SCAN_VERIFY_IMAGES != 0,
        archive_limits,
        no_carve: o.flags & MH_SCAN_NO_CARVE != 0,
        max_file_size: (o.max_file_size != 0).then_some(o.max_file_size),
        pdq_radius: o.pdq_radius,
        phash_radius: o.phash_radius,
        analyze,
        ..ScanOptions::default()
    })
}

fn disposition_to_c(d: EntryDisposition) -> mh_entry_disposition {
    match d {
        EntryDisposition::Alert => mh_entry_disposition::Alert,
        EntryDisposition::Ignore => mh_entry_disposition::Ignore,
        EntryDisposition::UnknownImage => mh_entry_disposition::UnknownImage,
        EntryDisposition::Other => mh_entry_disposition::Other,
        EntryDisposition::Directory => mh_entry_disposition::Directory,
        EntryDisposition::Skipped => mh_entry_disposition::Skipped,
        EntryDisposition::Error => mh_entry_disposition::Error,
    }
}

fn kind_to_c(k: EntryKind) -> mh_entry_kind {
    match k {
        EntryKind::File => mh_entry_kind::File,
        EntryKind::Directory => mh_entry_kind::Directory,
        EntryKind::Symlink => mh_entry_kind::Symlink,
        EntryKind::Fifo => mh_entry_kind::Fifo,
        EntryKind::Socket => mh_entry_kind::Socket,
        EntryKind::BlockDevice => mh_entry_kind::BlockDevice,
        EntryKind::CharDevice => mh_entry_kind::CharDevice,
        EntryKind::Unknown => mh_entry_kind::Unknown,
    }
}

/// Hands each report entry to the C callback; the report's header and footer are not needed.
struct CallbackWriter<'a> {
    callback: unsafe extern "C" fn(*mut c_void, *const mh_scan_entry) -> i32,
    userdata: *mut c_void,
    cancel: Arc<AtomicBool>,
    cancelled: bool,
    /// Reference set file names, by `Match::reference`.
    reference_names: &'a [String],
}

impl CallbackWriter<'_> {
    fn deliver(&mut self, record: &EntryRecord) {
        let c = super::refset::c_string;
        let path = c(&record.path_text());
        let path_bytes = &record.path;
        let reason = record.reason_message().map(c);
        let image_format = record.image_format.map(|f| c(f.as_str()));
        let location = record.location.as_ref().map(|l| {
            c(&serde_json::to_string(l).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}")))
        });
        let deleted = match record.location.as_ref().and_then(|l| l.deleted) {
            Some(d) => i32::from(d),
            None => -1,
        };
        let mtime = record.mtime.map(|t| super::refset::c_string(&t.to_rfc3339()));
        let provenance = (!record.provenance.is_empty()).then(|| {
            c(&serde_json::to_string(&record.provenance).unwrap_or_else(|e| {
                format!("[{{\"kind\":\"metadata-unreadable\",\"value\":\"{e}\"}}]")
            }))
        });
        let mut entry = mh_scan_entry {
            struct_size: super::abi::size_of_struct::<mh_scan_entry>(),
            path: path.as_ptr(),
            path_bytes: path_bytes.as_ptr(),
            path_bytes_len: path_bytes.len(),
            kind: kind_to_c(record.kind) as u32,
            disposition: disposition_to_c(record.disposition) as u32,
            reason: reason.as_ref().map_or(ptr::null(), |r| r.as_ptr()),
            size: record.size.and_then(|s| i64::try_from(s).ok()).unwrap_or(-1),
            valid: 0,
            md5: [0; 16],
            sha1: [0; 20],
            sha256: [0; 32],
            width: 0,
            height: 0,
            pdq: [0; 32],
            pdq_quality: 0,
            phash: 0,
            image_format: image_format.as_ref().map_or(ptr::null(), |f| f.as_ptr()),
            matches: ptr::null(),
            reason_code: record.reason.as_ref().map_or(0, |r| r.code as u32),
            deleted,
            location_json: location.as_ref().map_or(ptr::null(), |l| l.as_ptr()),
            mtime: mtime.as_ref().map_or(ptr::null(), |t| t.as_ptr()),
            inode: record.inode.and_then(|i| i64::try_from(i).ok()).unwrap_or(-1),
            provenance_json: provenance.as_ref().map_or(ptr::null(), |p| p.as_ptr()),
        };
        if let Some(md5) = record.md5 {
            entry.md5 = md5;
            entry.valid |= MH_VALID_MD5;
        }
        if let Some(sha1) = record.sha1 {
            entry.sha1 = sha1;
            entry.valid |= MH_VALID_SHA1;
        }
        if let Some(sha256) = record.sha256 {
            entry.sha256 = sha256;
            entry.valid |= MH_VALID_SHA256;
        }
        if let (Some(w), Some(h)) = (record.width, record.height) {
            (entry.width, entry.height) = (w, h);
            entry.valid |= MH_VALID_IMAGE;
        }
        if let Some(pdq) = record.pdq {
            entry.pdq = pdq.0;
            entry.pdq_quality = record.pdq_quality.map_or(0, u32::from);
            entry.valid |= MH_VALID_PDQ;
        }
        if let Some(phash) = record.phash {
            entry.phash = phash.0;
            entry.valid |= MH_VALID_IMAGEHASH;
        }
        let rows = record.matches.iter().map(|m| self.match_row(m)).collect();
        let matches = mh_matches { rows };
        entry.matches = &matches;
        // SAFETY: `callback` is the non-NULL function pointer the caller of `mh_scan` gave,
        // called as documented; `entry` and everything it points to live until it returns.
        let verdict = unsafe { (self.callback)(self.userdata, &entry) };
        if verdict != 0 {
            self.cancelled = true;
            self.cancel.store(true, Ordering::Relaxed);
        }
    }

    fn match_row(&self, m: &Match) -> MatchRow {
        let source = self.reference_names.get(m.reference).map_or("", String::as_str);
        MatchRow::from_scan_match(m, source)
    }
}

impl ReportWriter for CallbackWriter<'_> {
    fn header(&mut self, _header: &Header) -> io::Result<()> {
        Ok(())
    }
    fn entry(&mut self, entry: &EntryRecord) -> io::Result<()> {
        if !self.cancelled {
            self.deliver(entry);
        }
        Ok(())
    }
    fn footer(&mut self, _footer: &Footer) -> io::Result<()> {
        Ok(())
    }
}

fn scan_failure(error: &ScanError) -> mh_status {
    let status = match error {
        ScanError::Root { source, .. } => match source.kind() {
            io::ErrorKind::NotFound => mh_status::NotFound,
            io::ErrorKind::PermissionDenied => mh_status::PermissionDenied,
            _ => mh_status::Io,
        },
        _ => mh_status::ScanFailed,
    };
    fail(status, error)
}

/// Fills `*out` with the default scan options: no flags, one thread per CPU, radii 31 and 8,
/// no file size limit, and `mh_hash_options_default`'s hashing.
///
/// # Safety
///
/// `out` must be NULL or point to a writable `mh_scan_options`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mh_scan_options_default(out: *mut mh_scan_options) -> mh_status {
    ffi_boundary(|| {
        non_null!("mh_scan_options_default", out)?;
        // SAFETY: `out` is non-NULL and the caller guarantees its `struct_size` bytes are
        // writable.
        unsafe { write_output(out, defaults(), "mh_scan_options_default") }
    })
}

/// Scans the `root_count` files or directories in `roots` read-only (never writing under
/// them), hashing every regular file and matching it against the `set_count` reference sets
/// in `sets`, and calls `callback(userdata, entry)` once per entry in path order.
///
/// `sets` may be NULL when `set_count` is 0; `options` may be NULL for the defaults. The scan
/// runs `options->threads` hashing threads of its own for the duration of the call; the
/// callback always runs on the calling thread. The reference sets must not be freed during
/// the call. Returns `MH_STATUS_SCAN_CANCELLED` when the callback stopped the scan,
/// `MH_STATUS_NOT_FOUND` (etc.) when a root cannot be examined, `MH_STATUS_SCAN_FAILED` when
/// the scan could not run. Files that cannot be read are reported as entries with
/// disposition `MH_ENTRY_DISPOSITION_ERROR`, not as a failure of the call. `*out` (may be
/// NULL) receives the totals on success.
///
/// # Safety
///
/// `roots` must point to `root_count` NUL-terminated strings; `sets` to `set_count` live
/// handles (or be NULL with `set_count == 0`); `options` NULL or readable; `out` NULL or
/// writable; `callback` a function callable as documented.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mh_scan(
    roots: *const *const c_char,
    root_count: usize,
    sets: *const *const mh_refset,
    set_count: usize,
    options: *const mh_scan_options,
    callback: mh_scan_callback,
    userdata: *mut c_void,
    out: *mut mh_scan_summary,
) -> mh_status {
    ffi_boundary(|| {
        let Some(callback) = callback else {
            return Err(null_parameter("mh_scan", "callback"));
        };
        if roots.is_null() || (sets.is_null() && set_count != 0) {
            return Err(null_parameter("mh_scan", "roots or sets"));
        }
        if root_count == 0 || root_count > isize::MAX as usize / 8 || set_count > 4096 {
            return Err(fail(
                mh_status::InvalidParameter,
                format_args!(
                    "mh_scan: root_count {root_count} (give at least 1) or set_count {set_count} \
                     out of range"
                ),
            ));
        }
        // SAFETY: `roots` is non-NULL and the caller guarantees `root_count` entries.
        let root_ptrs = unsafe { std::slice::from_raw_parts(roots, root_count) };
        let mut root_paths: Vec<PathBuf> = Vec::with_capacity(root_count);
        for (i, &root) in root_ptrs.iter().enumerate() {
            if root.is_null() {
                return Err(null_parameter("mh_scan", &format!("roots[{i}]")));
            }
            // SAFETY: non-NULL, and the caller guarantees a NUL-terminated string.
            root_paths.push(path_from_c(unsafe { CStr::from_ptr(root) })?);
        }
        let set_ptrs: &[*const mh_refset] = if set_count == 0 {
            &[]
        } else {
            // SAFETY: `sets` is non-NULL and the caller guarantees `set_count` entries.
            unsafe { std::slice::from_raw_parts(sets, set_count) }
        };
        let mut references = Vec::with_capacity(set_count);
        let mut reference_names = Vec::with_capacity(set_count);
        for (i, &set) in set_ptrs.iter().enumerate() {
            // SAFETY: the caller guarantees each entry is NULL or a live handle.
            let Some(handle) = (unsafe { set.as_ref() }) else {
                return Err(null_parameter("mh_scan", &format!("sets[{i}]")));
            };
            reference_names.push(handle.path.clone());
            references.push(LoadedReference {
                provenance: ReferenceProvenance {
                    path: handle.path.clone(),
                    sha256: String::new(),
                    kind: "mhset".into(),
                    disposition: None,
                    sources: handle.set.provenance().sources.clone(),
                },
                index: Box::new(SharedRefSet(Arc::clone(&handle.set))),
            });
        }
        // SAFETY: the caller guarantees `options` is NULL or readable.
        let c_options = if options.is_null() {
            defaults()
        } else {
            // SAFETY: the caller guarantees `options` is readable for its `struct_size` bytes.
            unsafe { read_input(options, defaults(), "mh_scan") }?
        };
        // SAFETY: the caller guarantees the options' pointers are NULL or valid.
        let mut scan_options = unsafe { to_scan_options(&c_options) }?;
        // SAFETY: the caller guarantees `cancel` is NULL or a live token.
        let cancel = unsafe { super::cancel::token(c_options.cancel) }
            .unwrap_or_else(|| Arc::new(AtomicBool::new(false)));
        scan_options.cancel = Some(Arc::clone(&cancel));
        let mut writer = CallbackWriter {
            callback,
            userdata,
            cancel,
            cancelled: false,
            reference_names: &reference_names,
        };
        let summary = crate::scan::scan(&root_paths, &references, &scan_options, &mut writer)
            .map_err(|e| scan_failure(&e))?;
        if writer.cancelled {
            return Err(fail(mh_status::ScanCancelled, "the scan callback stopped the scan"));
        }
        if !summary.footer.completed && writer.cancel.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(fail(mh_status::Cancelled, "cancelled through the mh_cancel token"));
        }
        let f = &summary.footer;
        let totals = mh_scan_summary {
            struct_size: super::abi::size_of_struct::<mh_scan_summary>(),
            entries: f.counts.entries,
            alert: f.counts.alert,
            ignore: f.counts.ignore,
            unknown_image: f.counts.unknown_image,
            other: f.counts.other,
            directory: f.counts.directory,
            skipped: f.counts.skipped,
            error: f.counts.error,
            files_read: f.files_read,
            bytes_read: f.bytes_read,
            files_without_noatime: f.files_without_noatime,
            duration_ms: f.duration_ms,
            images_verified: summary.image_verifications.len() as u64,
            image_verifications_failed: summary
                .image_verifications
                .iter()
                .filter(|v| v.status.failed())
                .count() as u64,
            exit_status: f.exit_status,
        };
        if !out.is_null() {
            // SAFETY: `out` is non-NULL and the caller guarantees its `struct_size` bytes
            // are writable.
            unsafe { write_output(out, totals, "mh_scan") }?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_convert() {
        // SAFETY: the defaults hold NULL pointers.
        let options = unsafe { to_scan_options(&defaults()) }.unwrap();
        let want = ScanOptions::default();
        assert_eq!(options.pdq_radius, want.pdq_radius);
        assert_eq!(options.phash_radius, want.phash_radius);
        assert_eq!(options.dihedral, want.dihedral);
        assert_eq!(options.max_file_size, want.max_file_size);
        assert_eq!(options.no_archives, want.no_archives);
        assert_eq!(options.verify_images, want.verify_images);
        assert_eq!(options.archive_limits, want.archive_limits);
    }

    #[test]
    fn bad_flags_and_radii_are_refused() {
        let mut o = defaults();
        o.flags = 1 << 9;
        // SAFETY: the options hold NULL pointers.
        assert_eq!(unsafe { to_scan_options(&o) }.unwrap_err(), mh_status::InvalidParameter);
        let mut o = defaults();
        o.pdq_radius = 257;
        // SAFETY: the options hold NULL pointers.
        assert_eq!(unsafe { to_scan_options(&o) }.unwrap_err(), mh_status::InvalidParameter);
        let mut limits = mh_archive_limits::from_limits(&ArchiveLimits::default());
        limits.max_entries = 0;
        let mut o = defaults();
        o.archive_limits = &limits;
        // SAFETY: `limits` lives across the call.
        assert_eq!(unsafe { to_scan_options(&o) }.unwrap_err(), mh_status::InvalidParameter);
    }
}
