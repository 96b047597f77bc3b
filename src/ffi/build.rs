//! Building a reference set from C: hash-list files (format detected or named) and single
//! hashes, with the bad-record rules of `mh refset build`. A thin layer over
//! [`crate::refset::build::Builder`] and [`crate::import::import_into`].

use std::collections::HashMap;
use std::ffi::{CStr, c_char, c_void};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::import::{self, Format, ImportOptions};
use crate::refset::build::{BuildOptions, Builder, SourceId};
use crate::refset::{Disposition, EntryMeta, Record, SourceInfo};

use super::abi::{sized32, write_output};
use super::hash::path_from_c;
use super::refset::{hash_value_from_c, mh_progress_callback};
use super::status::{boundary, fail, ffi_boundary, mh_status, non_null, null_parameter};

/// `mh_refset_builder_add_file` flag: keep a source with no usable record, or with more bad
/// lines than good ones (by default such a source is refused with
/// `MH_STATUS_IMPORT_UNUSABLE`: it is almost always the wrong file or format).
pub const MH_IMPORT_ALLOW_BAD_LINES: u32 = 1 << 0;

/// What one `mh_refset_builder_add_file` read. Caller-allocated (set `struct_size`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct mh_import_summary {
    /// `sizeof` this struct as the caller's header declares it: set it before passing the
    /// struct (see "ABI versioning" in the header's preamble).
    pub struct_size: u32,
    /// Records added.
    pub records: u64,
    /// Lines or records refused (each named in the build's bad-record list).
    pub bad_records: u64,
    /// Records whose only hashes were those of the empty file, skipped.
    pub empty_file_records_skipped: u64,
    /// The format read, with the version the file declares (e.g. "vics-json-2.0"),
    /// NUL-terminated, truncated to fit.
    pub format: [c_char; 64],
}

sized32!(mh_import_summary: format as [c_char; 64]);

/// A reference set being built (opaque). Make with `mh_refset_builder_new`, add sources and
/// hashes, write with `mh_refset_builder_finish`, free with `mh_refset_builder_free`. One
/// thread at a time.
pub struct mh_refset_builder {
    /// `None` once finished.
    builder: Option<Builder>,
    /// The source that holds single hashes, per (set name, disposition).
    hash_sources: HashSources,
    /// `mh_refset_builder_set_progress`'s callback, its argument and the cancel token.
    progress: mh_progress_callback,
    userdata: *mut c_void,
    cancel: Option<Arc<AtomicBool>>,
}

/// Records between two calls of the progress callback while a file is imported.
const PROGRESS_EVERY: u64 = 65_536;

/// Sets (or with NULLs clears) what `mh_refset_builder_add_file` reports to and is stopped
/// by: `progress(userdata, records, 0)` every 65,536 records read (the total is not known
/// in advance), and the token `cancel`, checked as often. A stopped import returns
/// `MH_STATUS_CANCELLED` (the records read so far stay in the builder: free it and start
/// again). The callback runs on the thread calling `mh_refset_builder_add_file`.
///
/// # Safety
///
/// `builder` must be NULL or a live builder used by no other thread; `progress` NULL or
/// callable as documented with `userdata` while the builder is used; `cancel` NULL or a live
/// token.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mh_refset_builder_set_progress(
    builder: *mut mh_refset_builder,
    progress: mh_progress_callback,
    userdata: *mut c_void,
    cancel: *const super::cancel::mh_cancel,
) -> mh_status {
    ffi_boundary(|| {
        // SAFETY: forwarded from the caller.
        unsafe { builder_mut(builder, "mh_refset_builder_set_progress") }?;
        // SAFETY: checked live above; not shared (the caller's promise).
        let handle = unsafe { &mut *builder };
        handle.progress = progress;
        handle.userdata = userdata;
        // SAFETY: the caller guarantees `cancel` is NULL or live.
        handle.cancel = unsafe { super::cancel::token(cancel) };
        Ok(())
    })
}

/// The source of single hashes per (set name, disposition).
type HashSources = HashMap<(String, Disposition), SourceId>;

/// Makes an empty builder in `*out`. Building holds the hashes in memory up to a budget
/// (256 MiB), then spills sorted runs to the system's temporary directory.
///
/// # Safety
///
/// `out` must be NULL or a writable `mh_refset_builder *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mh_refset_builder_new(out: *mut *mut mh_refset_builder) -> mh_status {
    ffi_boundary(|| {
        non_null!("mh_refset_builder_new", out)?;
        let builder = Builder::new(BuildOptions::default())
            .map_err(|e| fail(mh_status::Io, format_args!("mh_refset_builder_new: {e}")))?;
        let handle = Box::new(mh_refset_builder {
            builder: Some(builder),
            hash_sources: HashMap::new(),
            progress: None,
            userdata: std::ptr::null_mut(),
            cancel: None,
        });
        // SAFETY: `out` is non-NULL and the caller guarantees it is writable.
        unsafe { out.write(Box::into_raw(handle)) };
        Ok(())
    })
}

fn disposition_from_c(value: u32) -> Result<Disposition, mh_status> {
    match value {
        1 => Ok(Disposition::Alert),
        2 => Ok(Disposition::Ignore),
        other => Err(fail(
            mh_status::InvalidParameter,
            format_args!("{other} is not an mh_disposition (1 alert, 2 ignore)"),
        )),
    }
}

/// An optional C string as UTF-8.
///
/// # Safety
///
/// `text` must be NULL or NUL-terminated.
unsafe fn optional_text(text: *const c_char, what: &str) -> Result<Option<String>, mh_status> {
    if text.is_null() {
        return Ok(None);
    }
    // SAFETY: the caller guarantees a NUL-terminated string.
    let text = unsafe { CStr::from_ptr(text) };
    text.to_str()
        .map(|s| Some(s.to_string()))
        .map_err(|_| fail(mh_status::InvalidParameter, format_args!("{what} is not UTF-8")))
}

/// The live builder behind `b`.
///
/// # Safety
///
/// `b` must be NULL or a live builder used by no other thread.
unsafe fn builder_mut<'a>(
    b: *mut mh_refset_builder,
    function: &str,
) -> Result<(&'a mut Builder, &'a mut HashSources), mh_status> {
    non_null!(function, b)?;
    // SAFETY: non-NULL; the caller guarantees it is live and not shared.
    let handle = unsafe { &mut *b };
    match handle.builder.as_mut() {
        Some(builder) => Ok((builder, &mut handle.hash_sources)),
        None => {
            Err(fail(mh_status::InvalidParameter, format_args!("{function}: already finished")))
        }
    }
}

/// Imports the hash-list file at `path` into the set named `set_name` (NULL: the file's
/// name) with `disposition` (an `mh_disposition`). `format` is NULL to detect the format
/// from the content, or a name `mh refset build --format` accepts ("vics", "nsrl",
/// "hashdeep", "md5sum", "pdq"...). Bad lines are counted, not fatal; but a file with no
/// usable record, or more bad lines than good, is refused with `MH_STATUS_IMPORT_UNUSABLE`
/// unless `flags` has `MH_IMPORT_ALLOW_BAD_LINES`; the refused file's records and its entry
/// in the set's provenance are then still in the builder (free it and start again to leave
/// them out). `*out` (may be NULL) receives the counts on success.
///
/// # Safety
///
/// `builder` must be NULL or a live builder used by no other thread; `path` NULL or
/// NUL-terminated; `format` and `set_name` NULL or NUL-terminated; `out` NULL or writable for
/// its `struct_size` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mh_refset_builder_add_file(
    builder: *mut mh_refset_builder,
    path: *const c_char,
    format: *const c_char,
    disposition: u32,
    set_name: *const c_char,
    flags: u32,
    out: *mut mh_import_summary,
) -> mh_status {
    ffi_boundary(|| {
        // SAFETY: forwarded from the caller.
        unsafe { builder_mut(builder, "mh_refset_builder_add_file") }?;
        // SAFETY: checked live above; not shared (the caller's promise).
        let handle = unsafe { &mut *builder };
        let (progress, userdata, cancel) =
            (handle.progress, handle.userdata, handle.cancel.clone());
        let Some(b) = handle.builder.as_mut() else { return Ok(()) };
        non_null!("mh_refset_builder_add_file", path)?;
        if flags & !MH_IMPORT_ALLOW_BAD_LINES != 0 {
            return Err(fail(
                mh_status::InvalidParameter,
                format_args!("mh_refset_builder_add_file: unknown flag bits 0x{flags:x}"),
            ));
        }
        // SAFETY: `path` is non-NULL and NUL-terminated (the caller's promise).
        let path = path_from_c(unsafe { CStr::from_ptr(path) })?;
        // SAFETY: the caller guarantees NULL or NUL-terminated.
        let format = match unsafe { optional_text(format, "format") }? {
            None => None,
            Some(name) => Some(name.parse::<Format>().map_err(|e| {
                fail(mh_status::InvalidParameter, format_args!("format {name:?}: {e}"))
            })?),
        };
        // SAFETY: as above.
        let set_name = unsafe { optional_text(set_name, "set_name") }?;
        let disposition = disposition_from_c(disposition)?;
        // A file that cannot be opened leaves no source behind in the set's provenance.
        std::fs::File::open(&path)
            .map_err(|e| super::hash::io_failure("cannot read the hash list", &path, &e))?;
        let mut records = 0u64;
        let mut stopped = false;
        let mut before_record = || {
            records += 1;
            if records.is_multiple_of(PROGRESS_EVERY) {
                let cancelled = cancel.as_ref().is_some_and(|c| c.load(Ordering::SeqCst));
                // SAFETY: the caller of `mh_refset_builder_set_progress` guaranteed the
                // callback is callable with `userdata`.
                let refused = progress.is_some_and(|f| unsafe { f(userdata, records, 0) } != 0);
                if cancelled || refused {
                    stopped = true;
                    return Err(import::ImportError::sink(
                        "stopped through the progress callback or cancel token",
                    ));
                }
            }
            Ok(())
        };
        let result = import::import_into_with(
            b,
            &path,
            format,
            disposition,
            set_name.as_deref(),
            &ImportOptions::default(),
            &mut before_record,
        );
        if stopped {
            return Err(fail(mh_status::Cancelled, "mh_refset_builder_add_file: stopped"));
        }
        let summary = result.map_err(|e| {
            let status = match &e {
                import::ImportError::Io { .. } => mh_status::Io,
                _ => mh_status::ImportUnusable,
            };
            fail(status, &e)
        })?;
        if flags & MH_IMPORT_ALLOW_BAD_LINES == 0 {
            summary
                .check_usable(&path.display().to_string())
                .map_err(|e| fail(mh_status::ImportUnusable, &e))?;
        }
        if !out.is_null() {
            let mut result = mh_import_summary {
                struct_size: super::abi::size_of_struct::<mh_import_summary>(),
                records: summary.records,
                bad_records: summary.bad_records,
                empty_file_records_skipped: summary.empty_file_records_skipped,
                format: [0; 64],
            };
            super::hash::copy_truncated(&summary.format_label, &mut result.format);
            // SAFETY: `out` is non-NULL and the caller guarantees its `struct_size` bytes
            // are writable.
            unsafe { write_output(out, result, "mh_refset_builder_add_file") }?;
        }
        Ok(())
    })
}

/// Adds one hash (`kind`: an `mh_hash_kind`, `len` its size as for `mh_refset_lookup`) to
/// the set named `set_name` with `disposition`, with an optional `category` (NULL: none).
/// Hashes added this way are listed in the set's provenance as the source
/// "(added through the C API)" of their set.
///
/// # Safety
///
/// `builder` must be NULL or a live builder used by no other thread; `value` NULL or `len`
/// readable bytes; `set_name` NULL or NUL-terminated; `category` NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mh_refset_builder_add_hash(
    builder: *mut mh_refset_builder,
    kind: u32,
    value: *const u8,
    len: usize,
    set_name: *const c_char,
    disposition: u32,
    category: *const c_char,
) -> mh_status {
    ffi_boundary(|| {
        // SAFETY: forwarded from the caller.
        let (b, sources) = unsafe { builder_mut(builder, "mh_refset_builder_add_hash") }?;
        if value.is_null() || set_name.is_null() {
            return Err(null_parameter("mh_refset_builder_add_hash", "value or set_name"));
        }
        // SAFETY: `value` is non-NULL; the caller guarantees `len` readable bytes, and
        // `hash_value_from_c` checks `len` against the kind before reading.
        let hash = unsafe { hash_value_from_c(kind, value, len) }?;
        // SAFETY: the caller guarantees NUL-terminated strings.
        let set_name = unsafe { optional_text(set_name, "set_name") }?.unwrap_or_default();
        // SAFETY: as above.
        let category = unsafe { optional_text(category, "category") }?;
        let disposition = disposition_from_c(disposition)?;
        if set_name.is_empty() {
            return Err(fail(mh_status::InvalidParameter, "set_name is empty"));
        }
        let key = (set_name.clone(), disposition);
        let source = match sources.get(&key) {
            Some(&id) => id,
            None => {
                let id = b
                    .add_source(SourceInfo {
                        name: "(added through the C API)".into(),
                        format: "c-api".into(),
                        sha256: String::new(),
                        disposition,
                        set_name,
                        records: 0,
                        bad_records: 0,
                        empty_file_records_skipped: 0,
                        source_version: None,
                    })
                    .map_err(|e| fail(mh_status::InvalidParameter, &e))?;
                sources.insert(key, id);
                id
            }
        };
        let record =
            Record { hashes: vec![hash], meta: EntryMeta { category, ..EntryMeta::default() } };
        b.add(source, record).map_err(|e| fail(mh_status::InvalidParameter, &e))
    })
}

/// Writes the set to `path` (a new file: an existing one is refused, since its SHA-256 may
/// be cited in earlier reports), atomically (a temporary file renamed into place). The
/// builder then takes nothing more; free it with `mh_refset_builder_free`.
///
/// # Safety
///
/// `builder` must be NULL or a live builder used by no other thread; `path` NULL or
/// NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mh_refset_builder_finish(
    builder: *mut mh_refset_builder,
    path: *const c_char,
) -> mh_status {
    ffi_boundary(|| {
        // SAFETY: forwarded from the caller.
        unsafe { builder_mut(builder, "mh_refset_builder_finish") }?;
        non_null!("mh_refset_builder_finish", path)?;
        // SAFETY: `path` is non-NULL and NUL-terminated (the caller's promise).
        let path = path_from_c(unsafe { CStr::from_ptr(path) })?;
        if std::fs::symlink_metadata(&path).is_ok() {
            return Err(fail(
                mh_status::InvalidParameter,
                format_args!(
                    "{} already exists and its SHA-256 may be cited in earlier reports; choose \
                     another name",
                    path.display()
                ),
            ));
        }
        // SAFETY: checked live above; the caller guarantees no other thread uses it.
        let handle = unsafe { &mut *builder };
        let Some(b) = handle.builder.take() else { return Ok(()) };
        b.finish(&path)
            .map(|_| ())
            .map_err(|e| fail(mh_status::Io, format_args!("mh_refset_builder_finish: {e}")))
    })
}

/// Frees a builder (finished or not; an unfinished one writes nothing). NULL is a no-op.
///
/// # Safety
///
/// `builder` must be NULL or a live builder, not used after.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mh_refset_builder_free(builder: *mut mh_refset_builder) {
    boundary((), || {
        if !builder.is_null() {
            // SAFETY: the caller gives up a live builder made by `mh_refset_builder_new`.
            drop(unsafe { Box::from_raw(builder) });
        }
    })
}
