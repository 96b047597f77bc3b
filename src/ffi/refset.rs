//! Reference sets: open, free, verify, describe, exact lookup and Hamming-radius search,
//! with results in an `mh_matches` object.

use std::ffi::{CStr, CString, c_char, c_void};
use std::ptr;
use std::sync::Arc;

use crate::refset::read::{MappedRefSet, Membership, RefsetError};
use crate::refset::search::Found;
use crate::refset::{Disposition, HashKind, HashValue};

use super::abi::{sized32, write_output};
use super::hash::path_from_c;
use super::status::{boundary, fail, ffi_boundary, mh_status, non_null};

sized32!(
    mh_refset_info: tool as *const c_char,
    mh_set_info: source_count as usize,
    mh_source_info: source_version as *const c_char,
    mh_match: file_name_len as usize,
    mh_membership: file_name_len as usize,
);

/// Default PDQ search radius (inclusive), as ThreatExchange recommends.
pub const MH_PDQ_DEFAULT_RADIUS: u32 = 31;
/// Default radius (inclusive) for 64-bit pHash / dHash / aHash searches.
pub const MH_U64_DEFAULT_RADIUS: u32 = 8;
// The defaults live in refset::search; cbindgen emits only literal constants, so the C names
// repeat the values and the build fails should they ever differ.
const _: () = assert!(MH_PDQ_DEFAULT_RADIUS == crate::refset::search::DEFAULT_PDQ_RADIUS);
const _: () = assert!(MH_U64_DEFAULT_RADIUS == crate::refset::search::DEFAULT_U64_RADIUS);
/// Most needles one search accepts (a hash and its 7 other dihedral variants).
pub const MH_MAX_NEEDLES: usize = 8;

/// Kinds of hash a reference set holds (`kind` arguments and `mh_match.kind`).
/// 0 is deliberately not a kind, so a zeroed argument is caught.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum mh_hash_kind {
    /// 16 bytes.
    Md5 = 1,
    /// 20 bytes.
    Sha1 = 2,
    /// 32 bytes.
    Sha256 = 3,
    /// 32 bytes, in the byte order of its hex form.
    Pdq = 4,
    /// 64-bit, as 8 big-endian bytes in byte arguments (the order of its hex form).
    Phash = 5,
    /// 64-bit, as for pHash.
    Dhash = 6,
    /// 64-bit, as for pHash.
    Ahash = 7,
    /// 144 bytes; exact lookup only.
    Photodna = 8,
}

/// What the examiner wants done with a file that matches a set.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum mh_disposition {
    /// Known material of interest.
    Alert = 1,
    /// Known harmless (e.g. NIST NSRL): set aside.
    Ignore = 2,
}

/// An open reference set: a `.mhset` file copied into private memory (`mh_refset_open`) or
/// mapped in place (`mh_refset_open_mapped`).
///
/// Free with `mh_refset_free`. All functions taking a `const mh_refset *` may be called from
/// many threads at once on the same handle; freeing must happen after every such call has
/// returned. A handle from `mh_refset_open` is unaffected by anything done to the file after
/// it opened; one from `mh_refset_open_mapped` requires the file to stay unchanged.
pub struct mh_refset {
    /// Shared so that work outliving one call (a scan's reference index) can hold it.
    pub(crate) set: Arc<MappedRefSet>,
    /// The path it was opened from (lossy UTF-8), for scan reports.
    pub(crate) path: String,
    tool: CString,
    sets: Vec<SetStrings>,
    sources: Vec<SourceStrings>,
}

struct SetStrings {
    name: CString,
    disposition: mh_disposition,
    source_count: usize,
}

struct SourceStrings {
    name: CString,
    format: CString,
    sha256: CString,
    set_name: CString,
    disposition: mh_disposition,
    records: u64,
    bad_records: u64,
    empty_file_records_skipped: u64,
    source_version: Option<CString>,
}

// The thread-safety promise in the docs rests on this.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<mh_refset>();
    assert_send_sync::<mh_matches>();
};

/// Counts and provenance of a reference set. Strings are borrowed from the `mh_refset` and
/// valid until it is freed.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct mh_refset_info {
    /// `sizeof` this struct as the caller's header declares it: set it before passing the
    /// struct (see "ABI versioning" in the header's preamble).
    pub struct_size: u32,
    /// `.mhset` format version.
    pub format_version: u32,
    /// File size in bytes.
    pub file_len: u64,
    /// Build time, seconds since the Unix epoch (UTC).
    pub build_time_unix: u64,
    /// Distinct (source, metadata) records.
    pub records: u64,
    /// Distinct MD5 values (0 when the set holds none).
    pub md5_count: u64,
    /// Distinct SHA-1 values.
    pub sha1_count: u64,
    /// Distinct SHA-256 values.
    pub sha256_count: u64,
    /// Distinct PDQ hashes.
    pub pdq_count: u64,
    /// Distinct pHash values.
    pub phash_count: u64,
    /// Distinct dHash values.
    pub dhash_count: u64,
    /// Distinct aHash values.
    pub ahash_count: u64,
    /// Distinct PhotoDNA values.
    pub photodna_count: u64,
    /// Number of sets: valid indexes for `mh_refset_set_get` are 0 to `set_count - 1`.
    pub set_count: usize,
    /// Number of imported source files: valid indexes for `mh_refset_source_get` are 0 to
    /// `source_count - 1`.
    pub source_count: usize,
    /// The tool that built the set, e.g. "mediahash 0.1.0". NUL-terminated UTF-8.
    pub tool: *const c_char,
}

/// One set of a reference set. Strings borrowed from the `mh_refset`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct mh_set_info {
    /// `sizeof` this struct as the caller's header declares it: set it before passing the
    /// struct (see "ABI versioning" in the header's preamble).
    pub struct_size: u32,
    /// The set's name, as shown in matches (`mh_match.set_name`). NUL-terminated UTF-8.
    pub name: *const c_char,
    /// An `mh_disposition`.
    pub disposition: u32,
    /// Number of source files feeding this set.
    pub source_count: usize,
}

/// One imported source file of a reference set. Strings borrowed from the `mh_refset`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct mh_source_info {
    /// `sizeof` this struct as the caller's header declares it: set it before passing the
    /// struct (see "ABI versioning" in the header's preamble).
    pub struct_size: u32,
    /// The file name as given when the set was built.
    pub name: *const c_char,
    /// Detected format, e.g. "vics-json-2.0" or "md5sum".
    pub format: *const c_char,
    /// SHA-256 of the source file, lower-case hex.
    pub sha256: *const c_char,
    /// The set its records belong to.
    pub set_name: *const c_char,
    /// An `mh_disposition`.
    pub disposition: u32,
    /// Records accepted.
    pub records: u64,
    /// Records refused when the set was built (bad lines; `mh refset build` reports them).
    pub bad_records: u64,
    /// The version or release the source states, or NULL.
    pub source_version: *const c_char,
    /// Records skipped because their only hashes were those of the empty file (which would
    /// match every empty file). (Appended after ABI version 1's first layout: check
    /// `struct_size`.)
    pub empty_file_records_skipped: u64,
}

/// `mh_refset_lookup_batch`'s entry for a value not in the set.
pub const MH_ENTRY_NONE: u64 = u64::MAX;

/// One membership of a stored value (a record in a set), read without allocating: filled by
/// `mh_refset_membership_get`. Text fields are (pointer, length) pairs borrowed from the
/// `mh_refset` (valid until `mh_refset_free`), **not** NUL-terminated; NULL (length 0) means
/// the field is absent. Text is UTF-8 except `file_name` (bytes as stored).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct mh_membership {
    /// `sizeof` this struct as the caller's header declares it: set it before passing the
    /// struct (see "ABI versioning" in the header's preamble).
    pub struct_size: u32,
    /// An `mh_disposition`: what to do with a file matching this set.
    pub disposition: u32,
    /// The set, as an index for `mh_refset_set_get`.
    pub set_index: u32,
    /// The source file the record came from, as an index for `mh_refset_source_get`.
    pub source_index: u32,
    /// The record's number in the set.
    pub record: u32,
    /// Whether the victim is identified (VICS): 1 = yes, 0 = no, -1 = not stated.
    pub victim_identified: i32,
    /// Whether the offender is identified (VICS): 1 = yes, 0 = no, -1 = not stated.
    pub offender_identified: i32,
    /// File size the source states, or -1.
    pub file_size: i64,
    /// Category as the source states it (VICS: "0"-"4" in the Default profile).
    pub category: *const u8,
    /// Length of `category` in bytes.
    pub category_len: usize,
    /// Categorisation profile (VICS 2.0: "Default", "US"...).
    pub profile: *const u8,
    /// Length of `profile` in bytes.
    pub profile_len: usize,
    /// The series the source files the entry under.
    pub series: *const u8,
    /// Length of `series` in bytes.
    pub series_len: usize,
    /// The record's identifier in its source (VICS MediaID, NSRL row...).
    pub source_id: *const u8,
    /// Length of `source_id` in bytes.
    pub source_id_len: usize,
    /// Free text (product name, comment).
    pub note: *const u8,
    /// Length of `note` in bytes.
    pub note_len: usize,
    /// File name as stored (bytes).
    pub file_name: *const u8,
    /// Length of `file_name` in bytes.
    pub file_name_len: usize,
}

/// One match: a stored value and one of its memberships (a record in a set).
///
/// Filled by `mh_matches_get`. Pointers are borrowed from the `mh_matches` and valid until
/// `mh_matches_free`; strings are NUL-terminated UTF-8 (an embedded NUL from the source data
/// is replaced by U+FFFD); NULL means the field is absent.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct mh_match {
    /// `sizeof` this struct as the caller's header declares it: set it before passing the
    /// struct (see "ABI versioning" in the header's preamble).
    pub struct_size: u32,
    /// The `mh_hash_kind` of the matched value.
    pub kind: u32,
    /// Hamming distance to the nearest needle (0 for exact lookups).
    pub distance: u32,
    /// Index of that needle in the query (0 for exact lookups).
    pub needle: u32,
    /// An `mh_disposition`: what to do with a file matching this set.
    pub disposition: u32,
    /// Identifies the stored value: rows with the same entry are memberships of one value.
    pub entry: u64,
    /// The stored value (`value_len` bytes: 16 MD5, 20 SHA-1, 32 SHA-256 or PDQ, 8 for the
    /// 64-bit kinds, big-endian, 144 PhotoDNA).
    pub value: *const u8,
    /// Length of `value` in bytes.
    pub value_len: usize,
    /// The stored value of a 64-bit kind as an integer (0 for other kinds).
    pub value_u64: u64,
    /// The stored PDQ quality, or -1 when unknown or not PDQ.
    pub pdq_quality: i32,
    /// Whether the victim is identified (VICS): 1 = yes, 0 = no, -1 = not stated.
    pub victim_identified: i32,
    /// Whether the offender is identified (VICS): 1 = yes, 0 = no, -1 = not stated.
    pub offender_identified: i32,
    /// File size stated by the source, or -1.
    pub file_size: i64,
    /// The set the record belongs to (never NULL).
    pub set_name: *const c_char,
    /// The source file the record came from.
    pub source_name: *const c_char,
    /// Category as the source states it (VICS Default profile: "0".."4"; other profiles
    /// their own codes).
    pub category: *const c_char,
    /// The categorisation profile the category belongs to (VICS 2.0: "Default", "US",
    /// "UK", ...).
    pub profile: *const c_char,
    /// The series the material belongs to (VICS).
    pub series: *const c_char,
    /// The record's identifier in its source (VICS MediaID, NSRL row...).
    pub source_id: *const c_char,
    /// Free text from the source (product name, comment).
    pub note: *const c_char,
    /// The file name stated by the source: raw bytes (not always UTF-8), `file_name_len`
    /// long and also NUL-terminated; NULL when absent.
    pub file_name: *const u8,
    /// Length of `file_name` in bytes, without the NUL.
    pub file_name_len: usize,
}

/// The result of a lookup or search: a list of `mh_match` rows sorted by (distance, stored
/// value, needle). Iterate with `mh_matches_len` / `mh_matches_get`; free with
/// `mh_matches_free`. It owns copies of everything it shows, so it stays valid after the
/// `mh_refset` it came from is freed. Read-only after creation: safe to read from many threads.
pub struct mh_matches {
    pub(crate) rows: Vec<MatchRow>,
}

pub(crate) struct MatchRow {
    kind: mh_hash_kind,
    distance: u32,
    needle: u32,
    disposition: mh_disposition,
    entry: u64,
    value: Vec<u8>,
    value_u64: u64,
    pdq_quality: i32,
    victim_identified: i32,
    offender_identified: i32,
    file_size: i64,
    set_name: CString,
    source_name: CString,
    category: Option<CString>,
    profile: Option<CString>,
    series: Option<CString>,
    source_id: Option<CString>,
    note: Option<CString>,
    /// NUL-terminated copy; the length excludes the NUL.
    file_name: Option<(Vec<u8>, usize)>,
}

pub(crate) fn c_string(text: &str) -> CString {
    CString::new(text).unwrap_or_else(|_| {
        CString::new(text.replace('\0', "\u{FFFD}")).expect("NUL bytes were replaced")
    })
}

fn opt_ptr(s: &Option<CString>) -> *const c_char {
    s.as_ref().map_or(ptr::null(), |s| s.as_ptr())
}

fn disposition_to_c(d: Disposition) -> mh_disposition {
    match d {
        Disposition::Alert => mh_disposition::Alert,
        Disposition::Ignore => mh_disposition::Ignore,
    }
}

fn kind_to_c(kind: HashKind) -> mh_hash_kind {
    match kind {
        HashKind::Md5 => mh_hash_kind::Md5,
        HashKind::Sha1 => mh_hash_kind::Sha1,
        HashKind::Sha256 => mh_hash_kind::Sha256,
        HashKind::Pdq => mh_hash_kind::Pdq,
        HashKind::PHash => mh_hash_kind::Phash,
        HashKind::DHash => mh_hash_kind::Dhash,
        HashKind::AHash => mh_hash_kind::Ahash,
        HashKind::PhotoDna => mh_hash_kind::Photodna,
    }
}

fn kind_from_c(value: u32) -> Result<HashKind, mh_status> {
    Ok(match value {
        1 => HashKind::Md5,
        2 => HashKind::Sha1,
        3 => HashKind::Sha256,
        4 => HashKind::Pdq,
        5 => HashKind::PHash,
        6 => HashKind::DHash,
        7 => HashKind::AHash,
        8 => HashKind::PhotoDna,
        other => {
            return Err(fail(
                mh_status::InvalidParameter,
                format_args!("{other} is not an mh_hash_kind (valid: 1 to 8)"),
            ));
        }
    })
}

fn tri_state(value: Option<bool>) -> i32 {
    value.map_or(-1, i32::from)
}

/// Maps a reference-set error to a status and records its message.
fn refset_failure(error: &RefsetError) -> mh_status {
    let status = match error {
        RefsetError::Io { source, .. } => match source.kind() {
            std::io::ErrorKind::NotFound => mh_status::NotFound,
            std::io::ErrorKind::PermissionDenied => mh_status::PermissionDenied,
            _ => mh_status::Io,
        },
        RefsetError::ChangedWhileReading { .. } => mh_status::Io,
        RefsetError::TooLargeToCopy { .. } => mh_status::RefsetTooLargeToCopy,
        RefsetError::NewerVersion { .. } => mh_status::RefsetUnsupportedVersion,
        RefsetError::ChecksumMismatch { .. } => mh_status::RefsetChecksumMismatch,
        RefsetError::InvalidArgument { .. } => mh_status::InvalidParameter,
        _ => mh_status::RefsetInvalid,
    };
    fail(status, error)
}

impl MatchRow {
    fn new(
        kind: HashKind,
        value: &[u8],
        distance: u32,
        needle: usize,
        pdq_quality: Option<u8>,
        entry: u64,
        membership: &Membership<'_>,
    ) -> Self {
        let meta = &membership.meta;
        let value_u64 = match kind {
            HashKind::PHash | HashKind::DHash | HashKind::AHash => {
                value.try_into().map(u64::from_be_bytes).unwrap_or(0)
            }
            _ => 0,
        };
        MatchRow {
            kind: kind_to_c(kind),
            distance,
            needle: u32::try_from(needle).unwrap_or(u32::MAX),
            disposition: disposition_to_c(membership.set.disposition),
            entry,
            value: value.to_vec(),
            value_u64,
            pdq_quality: pdq_quality.map_or(-1, i32::from),
            victim_identified: tri_state(meta.victim_identified),
            offender_identified: tri_state(meta.offender_identified),
            file_size: meta.file_size.and_then(|s| i64::try_from(s).ok()).unwrap_or(-1),
            set_name: c_string(&membership.set.name),
            source_name: c_string(&membership.source.name),
            category: meta.category.map(c_string),
            profile: meta.profile.map(c_string),
            series: meta.series.map(c_string),
            source_id: meta.source_id.map(c_string),
            note: meta.note.map(c_string),
            file_name: meta.file_name.map(|name| {
                let mut bytes = name.to_vec();
                bytes.push(0);
                (bytes, name.len())
            }),
        }
    }

    /// A scan's match (which carries no stored value or entry id); `needle` is the dihedral
    /// variant that matched (0 = the image as stored).
    pub(crate) fn from_scan_match(m: &crate::report::Match, source_name: &str) -> Self {
        MatchRow {
            kind: kind_to_c(m.hash),
            distance: m.distance.unwrap_or(0),
            needle: m.transform.map_or(0, |t| t as u32),
            disposition: disposition_to_c(m.disposition),
            entry: 0,
            value: Vec::new(),
            value_u64: 0,
            pdq_quality: -1,
            victim_identified: tri_state(m.victim_identified),
            offender_identified: tri_state(m.offender_identified),
            file_size: -1,
            set_name: c_string(&m.set),
            source_name: c_string(source_name),
            category: m.category.as_deref().map(c_string),
            profile: m.profile.as_deref().map(c_string),
            series: m.series.as_deref().map(c_string),
            source_id: m.source_id.as_deref().map(c_string),
            note: m.note.as_deref().map(c_string),
            file_name: None,
        }
    }

    fn from_exact(m: &Found<'_>, value: &[u8]) -> Self {
        Self::new(m.kind, value, 0, 0, None, u64::from(m.entry.0), &m.membership)
    }

    fn to_c(&self) -> mh_match {
        mh_match {
            struct_size: super::abi::size_of_struct::<mh_match>(),
            kind: self.kind as u32,
            distance: self.distance,
            needle: self.needle,
            disposition: self.disposition as u32,
            entry: self.entry,
            value: if self.value.is_empty() { ptr::null() } else { self.value.as_ptr() },
            value_len: self.value.len(),
            value_u64: self.value_u64,
            pdq_quality: self.pdq_quality,
            victim_identified: self.victim_identified,
            offender_identified: self.offender_identified,
            file_size: self.file_size,
            set_name: self.set_name.as_ptr(),
            source_name: self.source_name.as_ptr(),
            category: opt_ptr(&self.category),
            profile: opt_ptr(&self.profile),
            series: opt_ptr(&self.series),
            source_id: opt_ptr(&self.source_id),
            note: opt_ptr(&self.note),
            file_name: self.file_name.as_ref().map_or(ptr::null(), |(b, _)| b.as_ptr()),
            file_name_len: self.file_name.as_ref().map_or(0, |(_, len)| *len),
        }
    }
}

/// Borrows the handle behind a `const mh_refset *`, or fails with NULL_PARAMETER.
///
/// # Safety
///
/// `set` must be NULL or a live pointer from `mh_refset_open` or `mh_refset_open_mapped`.
pub(crate) unsafe fn refset_ref<'a>(
    set: *const mh_refset,
    function: &str,
) -> Result<&'a mh_refset, mh_status> {
    non_null!(function, set)?;
    // SAFETY: `set` is non-NULL and the caller guarantees it is a live `mh_refset`.
    Ok(unsafe { &*set })
}

/// Hands a new `mh_matches` to the caller through `out`.
///
/// # Safety
///
/// `out` must be valid for writes (checked non-NULL by the caller of this helper).
unsafe fn give_matches(rows: Vec<MatchRow>, out: *mut *mut mh_matches) {
    let matches = Box::into_raw(Box::new(mh_matches { rows }));
    // SAFETY: the caller guarantees `out` is valid for writes.
    unsafe { out.write(matches) };
}

/// Opens the `.mhset` reference set at `path` and writes a new handle to `*out`.
///
/// The file is read once, sequentially, into private read-only memory (memory equal to its
/// size; about 0.5 s of CPU per GB from the page cache), so nothing done to the file afterwards (it
/// being truncated, rewritten or replaced by another program) can affect the handle or crash
/// the process. Only the structure is checked here; call `mh_refset_verify` to check the
/// whole file against its checksum.
///
/// Returns `MH_STATUS_NOT_FOUND` / `MH_STATUS_PERMISSION_DENIED` / `MH_STATUS_IO` when the
/// file cannot be read (`MH_STATUS_IO` also when it shrank while being read),
/// `MH_STATUS_REFSET_INVALID` when it is not a valid reference set,
/// `MH_STATUS_REFSET_UNSUPPORTED_VERSION` when a newer library wrote it, and
/// `MH_STATUS_REFSET_TOO_LARGE_TO_COPY` when it is larger than half the physical memory
/// (open such a set with `mh_refset_open_mapped`). Free the handle with `mh_refset_free`.
///
/// # Safety
///
/// `path` must be NULL or a NUL-terminated string; `out` NULL or a writable `mh_refset *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mh_refset_open(
    path: *const c_char,
    out: *mut *mut mh_refset,
) -> mh_status {
    ffi_boundary(|| {
        non_null!("mh_refset_open", path, out)?;
        // SAFETY: `path` is non-NULL and the caller guarantees it is NUL-terminated.
        let path = path_from_c(unsafe { CStr::from_ptr(path) })?;
        // SAFETY: `out` is non-NULL and the caller guarantees it is writable.
        unsafe { open_at(&path, false, out) }
    })
}

/// Opens the set at `path` (copied, or `mapped`) into `*out`: the body of
/// `mh_refset_open`, `mh_refset_open_mapped` and their wide-path forms.
///
/// # Safety
///
/// `out` must be non-NULL and writable; with `mapped`, the caller takes on
/// `mh_refset_open_mapped`'s immutability contract.
pub(crate) unsafe fn open_at(
    path: &std::path::Path,
    mapped: bool,
    out: *mut *mut mh_refset,
) -> Result<(), mh_status> {
    let set = if mapped {
        // SAFETY: the caller takes on the file's immutability contract, the precondition of
        // `open_mapped`.
        unsafe { MappedRefSet::open_mapped(path) }
    } else {
        MappedRefSet::open(path)
    }
    .map_err(|e| refset_failure(&e))?;
    // SAFETY: the caller guarantees `out` is writable.
    unsafe { give_refset(set, path, out) };
    Ok(())
}

/// Opens the `.mhset` reference set at `path` by mapping the file itself, and writes a new
/// handle to `*out`: no copy, so opening is immediate whatever the size and the pages are
/// shared with the operating system's file cache. For sets too large for `mh_refset_open`.
///
/// Statuses as for `mh_refset_open` (never `MH_STATUS_REFSET_TOO_LARGE_TO_COPY`).
///
/// # Safety
///
/// `path` must be NULL or a NUL-terminated string; `out` NULL or a writable `mh_refset *`.
/// **The file must not be truncated or modified, by any process, until the handle is freed**
/// (and any `mh_scan` using it has returned): a truncated file makes the next access to the
/// lost pages raise SIGBUS, which kills the calling process, and a modified one changes data
/// the library already checked. Files written by mediahash's builder are replaced by
/// renaming a new file over them, which is safe; copying over the file in place is not.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mh_refset_open_mapped(
    path: *const c_char,
    out: *mut *mut mh_refset,
) -> mh_status {
    ffi_boundary(|| {
        non_null!("mh_refset_open_mapped", path, out)?;
        // SAFETY: `path` is non-NULL and the caller guarantees it is NUL-terminated.
        let path = path_from_c(unsafe { CStr::from_ptr(path) })?;
        // SAFETY: `out` is non-NULL and writable; the caller takes on the file's
        // immutability contract (documented above).
        unsafe { open_at(&path, true, out) }
    })
}

/// Wraps an opened set, with the C strings its queries lend out, in a new handle at `*out`.
///
/// # Safety
///
/// `out` must be valid for writes.
unsafe fn give_refset(set: MappedRefSet, path: &std::path::Path, out: *mut *mut mh_refset) {
    let provenance = set.provenance();
    let sets = provenance
        .sets
        .iter()
        .map(|s| SetStrings {
            name: c_string(&s.name),
            disposition: disposition_to_c(s.disposition),
            source_count: s.sources.len(),
        })
        .collect();
    let sources = provenance
        .sources
        .iter()
        .map(|s| SourceStrings {
            name: c_string(&s.name),
            format: c_string(&s.format),
            sha256: c_string(&s.sha256),
            set_name: c_string(&s.set_name),
            disposition: disposition_to_c(s.disposition),
            records: s.records,
            bad_records: s.bad_records,
            empty_file_records_skipped: s.empty_file_records_skipped,
            source_version: s.source_version.as_deref().map(c_string),
        })
        .collect();
    let tool = c_string(&provenance.tool);
    let handle = Box::new(mh_refset {
        set: Arc::new(set),
        path: path.display().to_string(),
        tool,
        sets,
        sources,
    });
    // SAFETY: the caller guarantees `out` is valid for writes.
    unsafe { out.write(Box::into_raw(handle)) };
}

/// Closes a reference set and frees the handle. NULL is accepted and does nothing.
/// Must be called exactly once per handle, after every other use of it (on any thread)
/// has returned. `mh_matches` objects obtained from it stay valid.
///
/// # Safety
///
/// `set` must be NULL or a pointer from `mh_refset_open` or `mh_refset_open_mapped` not yet
/// freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mh_refset_free(set: *mut mh_refset) {
    boundary((), || {
        if !set.is_null() {
            // SAFETY: the caller guarantees `set` came from an open function (Box::into_raw)
            // and is freed only once.
            drop(unsafe { Box::from_raw(set) });
        }
    })
}

/// Checks the whole file against its stored checksum (reads every byte: O(file size)).
/// Returns `MH_STATUS_OK` or `MH_STATUS_REFSET_CHECKSUM_MISMATCH` (or
/// `MH_STATUS_REFSET_INVALID` for other damage). Thread-safe.
///
/// # Safety
///
/// `set` must be NULL or a live handle (from `mh_refset_open` or `mh_refset_open_mapped`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mh_refset_verify(set: *const mh_refset) -> mh_status {
    ffi_boundary(|| {
        // SAFETY: the caller guarantees `set` is NULL or live.
        let handle = unsafe { refset_ref(set, "mh_refset_verify") }?;
        handle.set.verify().map_err(|e| refset_failure(&e))
    })
}

/// A progress callback: `done` of `total` bytes processed. Return 0 to go on, non-zero to
/// stop the call (it then returns `MH_STATUS_CANCELLED`). Runs on the calling thread.
pub type mh_progress_callback =
    Option<unsafe extern "C" fn(userdata: *mut c_void, done: u64, total: u64) -> i32>;

/// `mh_refset_verify`, reporting progress and cancellable: the checksum pass reads the whole
/// file (seconds for a multi-gigabyte set). `progress` (may be NULL) is called after each
/// 16 MiB; `cancel` (may be NULL) is checked as often. Returns `MH_STATUS_CANCELLED` when
/// either stopped it (the set was then not checked), otherwise as `mh_refset_verify`.
///
/// # Safety
///
/// `set` must be NULL or a live handle; `progress` NULL or callable as documented with
/// `userdata`; `cancel` NULL or a live token.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mh_refset_verify_with_progress(
    set: *const mh_refset,
    progress: mh_progress_callback,
    userdata: *mut c_void,
    cancel: *const super::cancel::mh_cancel,
) -> mh_status {
    ffi_boundary(|| {
        // SAFETY: the caller guarantees `set` is NULL or live.
        let handle = unsafe { refset_ref(set, "mh_refset_verify_with_progress") }?;
        // SAFETY: the caller guarantees `cancel` is NULL or live.
        let token = unsafe { super::cancel::token(cancel) };
        let mut report = |done: u64, total: u64| {
            if token.as_ref().is_some_and(|t| t.load(std::sync::atomic::Ordering::SeqCst)) {
                return false;
            }
            // SAFETY: the caller guarantees the callback is callable with `userdata`.
            progress.is_none_or(|f| unsafe { f(userdata, done, total) } == 0)
        };
        handle.set.verify_with_progress(&mut report).map_err(|e| match e {
            RefsetError::Stopped => fail(mh_status::Cancelled, "verification stopped"),
            e => refset_failure(&e),
        })
    })
}

/// Writes the set's counts and provenance summary to `*out`. Strings in it are borrowed
/// from `set` and valid until `mh_refset_free`. Thread-safe.
///
/// # Safety
///
/// `set` must be NULL or a live handle; `out` NULL or a writable `mh_refset_info`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mh_refset_get_info(
    set: *const mh_refset,
    out: *mut mh_refset_info,
) -> mh_status {
    ffi_boundary(|| {
        // SAFETY: the caller guarantees `set` is NULL or live.
        let handle = unsafe { refset_ref(set, "mh_refset_get_info") }?;
        non_null!("mh_refset_get_info", out)?;
        let info = handle.set.info();
        let count = |kind: HashKind| handle.set.count(kind);
        let result = mh_refset_info {
            struct_size: super::abi::size_of_struct::<mh_refset_info>(),
            format_version: info.format_version,
            file_len: info.file_len,
            build_time_unix: info.build_time_unix,
            records: info.records,
            md5_count: count(HashKind::Md5),
            sha1_count: count(HashKind::Sha1),
            sha256_count: count(HashKind::Sha256),
            pdq_count: count(HashKind::Pdq),
            phash_count: count(HashKind::PHash),
            dhash_count: count(HashKind::DHash),
            ahash_count: count(HashKind::AHash),
            photodna_count: count(HashKind::PhotoDna),
            set_count: handle.sets.len(),
            source_count: handle.sources.len(),
            tool: handle.tool.as_ptr(),
        };
        // SAFETY: `out` is non-NULL and the caller guarantees its `struct_size` bytes are
        // writable.
        unsafe { write_output(out, result, "mh_refset_get_info") }
    })
}

/// Writes set number `index` (0 to `set_count - 1`) to `*out`; an index out of range gives
/// `MH_STATUS_INVALID_PARAMETER`. Strings borrowed from `set`. Thread-safe.
///
/// # Safety
///
/// `set` must be NULL or a live handle; `out` NULL or a writable `mh_set_info`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mh_refset_set_get(
    set: *const mh_refset,
    index: usize,
    out: *mut mh_set_info,
) -> mh_status {
    ffi_boundary(|| {
        // SAFETY: the caller guarantees `set` is NULL or live.
        let handle = unsafe { refset_ref(set, "mh_refset_set_get") }?;
        non_null!("mh_refset_set_get", out)?;
        let entry = handle.sets.get(index).ok_or_else(|| {
            fail(
                mh_status::InvalidParameter,
                format_args!("set index {index} is out of range (set_count {})", handle.sets.len()),
            )
        })?;
        let info = mh_set_info {
            struct_size: super::abi::size_of_struct::<mh_set_info>(),
            name: entry.name.as_ptr(),
            disposition: entry.disposition as u32,
            source_count: entry.source_count,
        };
        // SAFETY: `out` is non-NULL and the caller guarantees its `struct_size` bytes are
        // writable.
        unsafe { write_output(out, info, "mh_refset_set_get") }
    })
}

/// Writes source number `index` (0 to `source_count - 1`) to `*out`; an index out of range
/// gives `MH_STATUS_INVALID_PARAMETER`. Strings borrowed from `set`. Thread-safe.
///
/// # Safety
///
/// `set` must be NULL or a live handle; `out` NULL or a writable `mh_source_info`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mh_refset_source_get(
    set: *const mh_refset,
    index: usize,
    out: *mut mh_source_info,
) -> mh_status {
    ffi_boundary(|| {
        // SAFETY: the caller guarantees `set` is NULL or live.
        let handle = unsafe { refset_ref(set, "mh_refset_source_get") }?;
        non_null!("mh_refset_source_get", out)?;
        let source = handle.sources.get(index).ok_or_else(|| {
            fail(
                mh_status::InvalidParameter,
                format_args!(
                    "source index {index} is out of range (source_count {})",
                    handle.sources.len()
                ),
            )
        })?;
        let info = mh_source_info {
            struct_size: super::abi::size_of_struct::<mh_source_info>(),
            name: source.name.as_ptr(),
            format: source.format.as_ptr(),
            sha256: source.sha256.as_ptr(),
            set_name: source.set_name.as_ptr(),
            disposition: source.disposition as u32,
            records: source.records,
            bad_records: source.bad_records,
            source_version: opt_ptr(&source.source_version),
            empty_file_records_skipped: source.empty_file_records_skipped,
        };
        // SAFETY: `out` is non-NULL and the caller guarantees its `struct_size` bytes are
        // writable.
        unsafe { write_output(out, info, "mh_refset_source_get") }
    })
}

/// Looks up one value exactly and writes the memberships found (possibly none) as a new
/// `mh_matches` to `*out`; free it with `mh_matches_free`.
///
/// `kind` is an `mh_hash_kind`; `len` must be that kind's size (16, 20, 32, 32, 8, 8, 8,
/// 144), 64-bit hashes given as 8 big-endian bytes. A value absent from the set is a
/// success with zero matches. Thread-safe.
///
/// # Safety
///
/// `set` must be NULL or a live handle; `value` NULL or `len` readable bytes; `out` NULL or
/// a writable `mh_matches *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mh_refset_lookup(
    set: *const mh_refset,
    kind: u32,
    value: *const u8,
    len: usize,
    out: *mut *mut mh_matches,
) -> mh_status {
    ffi_boundary(|| {
        // SAFETY: the caller guarantees `set` is NULL or live.
        let handle = unsafe { refset_ref(set, "mh_refset_lookup") }?;
        non_null!("mh_refset_lookup", value, out)?;
        // SAFETY: `value` is non-NULL and the caller guarantees `len` readable bytes.
        let hash_value = unsafe { hash_value_from_c(kind, value, len) }?;
        // SAFETY: as above; `hash_value_from_c` checked `len` (a small kind size).
        let bytes = unsafe { std::slice::from_raw_parts(value, len) };
        let found = handle.set.lookup(&hash_value).map_err(|e| refset_failure(&e))?;
        let rows = found.iter().map(|m| MatchRow::from_exact(m, bytes)).collect();
        // SAFETY: `out` is non-NULL and the caller guarantees it is writable.
        unsafe { give_matches(rows, out) };
        Ok(())
    })
}

/// Looks up `count` values of one `kind` in one call, for suites that check many files
/// against a set: `values` holds them back to back, each the kind's size (as
/// `mh_refset_lookup`). For value `i`, `out_entries[i]` receives the stored value's entry id
/// (for `mh_refset_membership_get`), or `MH_ENTRY_NONE` when it is not in the set; when
/// `out_membership_counts` is not NULL, `out_membership_counts[i]` receives its number of
/// memberships (0 when absent); when `out_found` is not NULL, `*out_found` receives how many
/// were found. Nothing is allocated. Thread-safe.
///
/// # Safety
///
/// `set` must be NULL or a live handle; `values` NULL (only with `count` 0) or readable for
/// `count` values; `out_entries` NULL (only with `count` 0) or writable for `count`
/// `uint64_t`; `out_membership_counts` NULL or writable for `count` `uint32_t`; `out_found`
/// NULL or a writable `size_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mh_refset_lookup_batch(
    set: *const mh_refset,
    kind: u32,
    values: *const u8,
    count: usize,
    out_entries: *mut u64,
    out_membership_counts: *mut u32,
    out_found: *mut usize,
) -> mh_status {
    ffi_boundary(|| {
        // SAFETY: the caller guarantees `set` is NULL or live.
        let handle = unsafe { refset_ref(set, "mh_refset_lookup_batch") }?;
        let kind = kind_from_c(kind)?;
        if count > 0 {
            non_null!("mh_refset_lookup_batch", values, out_entries)?;
        }
        let len = kind.value_len();
        let total =
            count.checked_mul(len).filter(|&t| t <= isize::MAX as usize).ok_or_else(|| {
                fail(mh_status::InvalidParameter, "mh_refset_lookup_batch: count is too large")
            })?;
        let bytes: &[u8] = if count == 0 {
            &[]
        } else {
            // SAFETY: `values` is non-NULL and the caller guarantees `count` values of `len`
            // bytes; `total` fits in isize.
            unsafe { std::slice::from_raw_parts(values, total) }
        };
        // Everything is computed before any output is written (outputs only on success).
        let mut entries = Vec::with_capacity(count);
        let mut counts =
            Vec::with_capacity(if out_membership_counts.is_null() { 0 } else { count });
        // C gives 64-bit hashes big-endian; the set stores them little-endian.
        let stored: std::borrow::Cow<[u8]> = match kind {
            HashKind::PHash | HashKind::DHash | HashKind::AHash => {
                bytes.chunks_exact(8).flat_map(|b| b.iter().rev().copied()).collect()
            }
            _ => bytes.into(),
        };
        // One batched pass (sorted, prefetched): identical answers to `find` per value.
        for hit in handle.set.find_batch(kind, &stored) {
            entries.push(hit.map_or(MH_ENTRY_NONE, |h| u64::from(h.entry.0)));
            if !out_membership_counts.is_null() {
                let n = match hit {
                    Some(h) => {
                        handle.set.membership_count(h.entry).map_err(|e| refset_failure(&e))?
                    }
                    None => 0,
                };
                counts.push(n);
            }
        }
        let found = entries.iter().filter(|&&e| e != MH_ENTRY_NONE).count();
        if count > 0 {
            // SAFETY: `out_entries` is non-NULL and the caller guarantees `count` writable
            // slots; `entries` holds `count` values.
            unsafe { std::ptr::copy_nonoverlapping(entries.as_ptr(), out_entries, count) };
        }
        if !out_membership_counts.is_null() && count > 0 {
            // SAFETY: as above, for the caller's `count` `uint32_t` slots.
            unsafe { std::ptr::copy_nonoverlapping(counts.as_ptr(), out_membership_counts, count) };
        }
        if !out_found.is_null() {
            // SAFETY: the caller guarantees `out_found` is NULL or writable.
            unsafe { out_found.write(found) };
        }
        Ok(())
    })
}

/// Membership `index` (0-based, below the count `mh_refset_lookup_batch` gave) of the stored
/// value `entry` into `*out`, without allocating: its strings are borrowed from the set.
/// Thread-safe.
///
/// # Safety
///
/// `set` must be NULL or a live handle; `out` NULL or writable for its `struct_size` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mh_refset_membership_get(
    set: *const mh_refset,
    entry: u64,
    index: u32,
    out: *mut mh_membership,
) -> mh_status {
    ffi_boundary(|| {
        // SAFETY: the caller guarantees `set` is NULL or live.
        let handle = unsafe { refset_ref(set, "mh_refset_membership_get") }?;
        non_null!("mh_refset_membership_get", out)?;
        let entry = u32::try_from(entry).map_err(|_| {
            fail(mh_status::InvalidParameter, format_args!("entry {entry} is not an entry id"))
        })?;
        let m = handle.set.membership_at(crate::refset::EntryId(entry), index).map_err(
            |e| match e {
                RefsetError::ReferenceOutOfRange { .. } => fail(mh_status::InvalidParameter, &e),
                e => refset_failure(&e),
            },
        )?;
        let text = |t: Option<&str>| t.map_or((ptr::null(), 0), |t| (t.as_ptr(), t.len()));
        let meta = &m.meta;
        let (category, category_len) = text(meta.category);
        let (profile, profile_len) = text(meta.profile);
        let (series, series_len) = text(meta.series);
        let (source_id, source_id_len) = text(meta.source_id);
        let (note, note_len) = text(meta.note);
        let (file_name, file_name_len) =
            meta.file_name.map_or((ptr::null(), 0), |n| (n.as_ptr(), n.len()));
        let membership = mh_membership {
            struct_size: super::abi::size_of_struct::<mh_membership>(),
            disposition: disposition_to_c(m.set.disposition) as u32,
            set_index: m.set_id,
            source_index: m.source_id,
            record: m.record,
            victim_identified: tri_state(meta.victim_identified),
            offender_identified: tri_state(meta.offender_identified),
            file_size: meta.file_size.and_then(|s| i64::try_from(s).ok()).unwrap_or(-1),
            category,
            category_len,
            profile,
            profile_len,
            series,
            series_len,
            source_id,
            source_id_len,
            note,
            note_len,
            file_name,
            file_name_len,
        };
        // SAFETY: `out` is non-NULL and the caller guarantees its `struct_size` bytes are
        // writable.
        unsafe { write_output(out, membership, "mh_refset_membership_get") }
    })
}

/// The value of `kind` (an `mh_hash_kind`) in the `len` bytes at `value`, checking `len`.
///
/// # Safety
///
/// `value` must be non-NULL and readable for `len` bytes.
pub(crate) unsafe fn hash_value_from_c(
    kind: u32,
    value: *const u8,
    len: usize,
) -> Result<HashValue, mh_status> {
    let kind = kind_from_c(kind)?;
    if len != kind.value_len() {
        return Err(fail(
            mh_status::InvalidParameter,
            format_args!(
                "a {} value is {} bytes, but len is {len}",
                kind.as_str(),
                kind.value_len()
            ),
        ));
    }
    // SAFETY: the caller guarantees `len` readable bytes; `len` is a small kind size.
    let bytes = unsafe { std::slice::from_raw_parts(value, len) };
    Ok(hash_value_from_bytes(kind, bytes))
}

fn hash_value_from_bytes(kind: HashKind, bytes: &[u8]) -> HashValue {
    fn array<const N: usize>(bytes: &[u8]) -> [u8; N] {
        let mut a = [0u8; N];
        a.copy_from_slice(bytes);
        a
    }
    match kind {
        HashKind::Md5 => HashValue::Md5(array(bytes)),
        HashKind::Sha1 => HashValue::Sha1(array(bytes)),
        HashKind::Sha256 => HashValue::Sha256(array(bytes)),
        HashKind::Pdq => HashValue::Pdq { hash: array(bytes), quality: None },
        HashKind::PHash => HashValue::PHash(u64::from_be_bytes(array(bytes))),
        HashKind::DHash => HashValue::DHash(u64::from_be_bytes(array(bytes))),
        HashKind::AHash => HashValue::AHash(u64::from_be_bytes(array(bytes))),
        HashKind::PhotoDna => HashValue::PhotoDna(Box::new(array(bytes))),
    }
}

fn check_needle_count(count: usize) -> Result<(), mh_status> {
    if count == 0 || count > MH_MAX_NEEDLES {
        return Err(fail(
            mh_status::InvalidParameter,
            format_args!("needle_count is {count}; give 1 to {MH_MAX_NEEDLES} needles"),
        ));
    }
    Ok(())
}

fn check_radius(radius: u32, bits: u32) -> Result<(), mh_status> {
    if radius > bits {
        return Err(fail(
            mh_status::InvalidParameter,
            format_args!("radius {radius} exceeds the hash length of {bits} bits"),
        ));
    }
    Ok(())
}

/// Finds every stored PDQ hash within Hamming distance `radius` (inclusive, 0-256;
/// `MH_PDQ_DEFAULT_RADIUS` = 31) of any of the `needle_count` needles (1-8) at `needles`,
/// each 32 bytes, contiguous. For a rotation/flip-tolerant search pass the 8 dihedral hashes
/// of `mh_hash_result.pdq_dihedral` (`&result.pdq_dihedral[0][0]`, 8).
///
/// Writes a new `mh_matches` to `*out` (one row per stored hash and membership, with its
/// nearest needle; sorted by distance); free it with `mh_matches_free`. Thread-safe.
///
/// # Safety
///
/// `set` must be NULL or a live handle; `needles` NULL or `32 * needle_count` readable
/// bytes; `out` NULL or a writable `mh_matches *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mh_refset_search_pdq(
    set: *const mh_refset,
    needles: *const u8,
    needle_count: usize,
    radius: u32,
    out: *mut *mut mh_matches,
) -> mh_status {
    ffi_boundary(|| {
        // SAFETY: the caller guarantees `set` is NULL or live.
        let handle = unsafe { refset_ref(set, "mh_refset_search_pdq") }?;
        non_null!("mh_refset_search_pdq", needles, out)?;
        check_needle_count(needle_count)?;
        check_radius(radius, 256)?;
        // SAFETY: `needles` is non-NULL; the caller guarantees 32 * needle_count (<= 256)
        // readable bytes.
        let bytes = unsafe { std::slice::from_raw_parts(needles, 32 * needle_count) };
        let needle_hashes: Vec<[u8; 32]> = bytes
            .chunks_exact(32)
            .map(|c| c.try_into().expect("chunks_exact gives 32 bytes"))
            .collect();
        let mut rows = Vec::new();
        for hit in handle.set.search_pdq_needles(&needle_hashes, radius) {
            let memberships = handle.set.memberships(hit.entry).map_err(|e| refset_failure(&e))?;
            for membership in &memberships {
                rows.push(MatchRow::new(
                    HashKind::Pdq,
                    &hit.hash,
                    hit.distance,
                    hit.needle,
                    hit.quality,
                    u64::from(hit.entry.0),
                    membership,
                ));
            }
        }
        // SAFETY: `out` is non-NULL and the caller guarantees it is writable.
        unsafe { give_matches(rows, out) };
        Ok(())
    })
}

/// Finds every stored 64-bit hash of `kind` (`MH_HASH_KIND_PHASH`, `_DHASH` or `_AHASH`)
/// within Hamming distance `radius` (inclusive, 0-64; `MH_U64_DEFAULT_RADIUS` = 8) of any
/// of the `needle_count` needles (1-8). Results as for `mh_refset_search_pdq`. Thread-safe.
///
/// # Safety
///
/// `set` must be NULL or a live handle; `needles` NULL or `needle_count` readable
/// `uint64_t`; `out` NULL or a writable `mh_matches *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mh_refset_search_u64(
    set: *const mh_refset,
    kind: u32,
    needles: *const u64,
    needle_count: usize,
    radius: u32,
    out: *mut *mut mh_matches,
) -> mh_status {
    ffi_boundary(|| {
        // SAFETY: the caller guarantees `set` is NULL or live.
        let handle = unsafe { refset_ref(set, "mh_refset_search_u64") }?;
        non_null!("mh_refset_search_u64", needles, out)?;
        let kind = kind_from_c(kind)?;
        if !matches!(kind, HashKind::PHash | HashKind::DHash | HashKind::AHash) {
            return Err(fail(
                mh_status::InvalidParameter,
                format_args!(
                    "{} is not a 64-bit hash kind: use MH_HASH_KIND_PHASH, _DHASH or _AHASH",
                    kind.as_str()
                ),
            ));
        }
        check_needle_count(needle_count)?;
        check_radius(radius, 64)?;
        if !needles.is_aligned() {
            return Err(fail(mh_status::InvalidParameter, "needles is not aligned for uint64_t"));
        }
        // SAFETY: `needles` is non-NULL and aligned; the caller guarantees `needle_count`
        // (<= 8) readable values.
        let values = unsafe { std::slice::from_raw_parts(needles, needle_count) };
        let found = handle
            .set
            .search_u64(kind, values[0], radius, &values[1..])
            .map_err(|e| refset_failure(&e))?;
        let mut rows = Vec::new();
        for hit in found {
            let memberships = handle.set.memberships(hit.entry).map_err(|e| refset_failure(&e))?;
            for membership in &memberships {
                rows.push(MatchRow::new(
                    kind,
                    &hit.value.to_be_bytes(),
                    hit.distance,
                    hit.needle,
                    None,
                    u64::from(hit.entry.0),
                    membership,
                ));
            }
        }
        // SAFETY: `out` is non-NULL and the caller guarantees it is writable.
        unsafe { give_matches(rows, out) };
        Ok(())
    })
}

/// Returns the number of rows in `matches`, 0 for NULL.
///
/// # Safety
///
/// `matches` must be NULL or a live `mh_matches`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mh_matches_len(matches: *const mh_matches) -> usize {
    boundary(0, || {
        // SAFETY: the caller guarantees `matches` is NULL or live.
        unsafe { matches.as_ref() }.map_or(0, |m| m.rows.len())
    })
}

/// Writes row `index` (0 to `mh_matches_len - 1`) to `*out`; an index out of range gives
/// `MH_STATUS_INVALID_PARAMETER`. Pointers in `*out` are borrowed from `matches` and valid
/// until `mh_matches_free`.
///
/// # Safety
///
/// `matches` must be NULL or a live `mh_matches`; `out` NULL or a writable `mh_match`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mh_matches_get(
    matches: *const mh_matches,
    index: usize,
    out: *mut mh_match,
) -> mh_status {
    ffi_boundary(|| {
        non_null!("mh_matches_get", matches)?;
        // SAFETY: `matches` is non-NULL and the caller guarantees it is live.
        let matches = unsafe { &*matches };
        non_null!("mh_matches_get", out)?;
        let row = matches.rows.get(index).ok_or_else(|| {
            fail(
                mh_status::InvalidParameter,
                format_args!("match index {index} is out of range (len {})", matches.rows.len()),
            )
        })?;
        // SAFETY: `out` is non-NULL and the caller guarantees its `struct_size` bytes are
        // writable.
        unsafe { write_output(out, row.to_c(), "mh_matches_get") }
    })
}

/// Frees a result of a lookup or search. NULL is accepted and does nothing. Must be called
/// exactly once per object; pointers obtained through `mh_matches_get` become invalid.
///
/// # Safety
///
/// `matches` must be NULL or an `mh_matches` from this library not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mh_matches_free(matches: *mut mh_matches) {
    boundary((), || {
        if !matches.is_null() {
            // SAFETY: the caller guarantees `matches` came from `give_matches`
            // (Box::into_raw) and is freed only once.
            drop(unsafe { Box::from_raw(matches) });
        }
    })
}
