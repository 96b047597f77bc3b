//! Status codes, the per-thread error detail, and the panic boundary every export goes through.

use std::any::Any;
use std::cell::RefCell;
use std::ffi::{CStr, c_char};
use std::fmt::Display;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// The outcome of an `mh_` call. Every function that can fail returns one.
///
/// The numbers are part of the ABI: they are never changed and never reused for another
/// meaning (retired codes stay reserved). Codes are grouped in bands: 0-99 arguments and
/// internal errors, 100-199 file system, 200-299 reference sets, 300-399 scanning,
/// 400-499 image decoding (reported in `mh_hash_result.image_status`, never returned),
/// 500-599 hash-list import, 600-699 videos.
///
/// `mh_status_str` names a code; `mh_last_error_message` gives the detail of the last
/// failure on the calling thread.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum mh_status {
    /// Success.
    Ok = 0,
    /// A required pointer argument was NULL.
    NullParameter = 1,
    /// An argument had a value outside its documented range (an unknown enum value or flag
    /// bit, a length that does not fit, an index past the end).
    InvalidParameter = 2,
    /// The caller's buffer is too small; the needed size was written to `*out_needed`.
    BufferTooSmall = 3,
    /// An internal error (a Rust panic) was caught at the API boundary. The library is still
    /// usable, but the call had no effect; please report it as a bug.
    Panic = 4,
    /// The call was stopped through its `mh_cancel` token (`mh_cancel_set`); its outputs
    /// were not written.
    Cancelled = 5,
    /// A file system error other than the ones below (read error, not a regular file...).
    Io = 100,
    /// The file or directory does not exist.
    NotFound = 101,
    /// The operating system refused access to the file or directory.
    PermissionDenied = 102,
    /// The path names a directory, FIFO, socket or device, not a regular file: it was not
    /// read (a FIFO could block forever, a device never end). Record it as skipped.
    NotRegularFile = 103,
    /// The file is not a valid `.mhset` reference set (truncated, corrupt, not one at all).
    RefsetInvalid = 200,
    /// The `.mhset` file was written by a newer format version than this library reads.
    RefsetUnsupportedVersion = 201,
    /// `mh_refset_verify` found the content does not match its checksum: the file was
    /// altered or damaged after it was built.
    RefsetChecksumMismatch = 202,
    /// `mh_refset_open` refused to copy a set larger than half the machine's physical
    /// memory: open it with `mh_refset_open_mapped` instead (and keep the file unchanged
    /// while it is open).
    RefsetTooLargeToCopy = 203,
    /// The per-file scan callback asked the scan to stop (returned non-zero).
    ScanCancelled = 300,
    /// The scan could not start or failed as a whole (see the error detail).
    ScanFailed = 301,
    /// The content looked like an image but could not be decoded (corrupt, truncated or
    /// unsupported encoding). Reported in `mh_hash_result.image_status`.
    ImageDecodeFailed = 400,
    /// The image exceeds a decode limit in `mh_hash_options` (dimensions, pixels, memory,
    /// file size). Reported in `mh_hash_result.image_status`.
    ImageTooLarge = 401,
    /// The image decoded but a perceptual hash could not be computed.
    /// Reported in `mh_hash_result.image_status`.
    ImageHashFailed = 402,
    /// `mh_refset_builder_add_file`: the hash-list file gave no usable record, or more bad
    /// lines than good ones, or could not be parsed in the given format; almost always the
    /// wrong file or format (see the error detail).
    ImportUnusable = 500,
    /// A video could not be hashed: `ffmpeg`/`ffprobe` not found, failed, timed out, over a
    /// limit, or no video stream (the error detail says which and what to do).
    VideoFailed = 600,
}

/// Every status: the checked conversion from C integers searches it.
const ALL_STATUSES: [mh_status; 21] = [
    mh_status::Ok,
    mh_status::NullParameter,
    mh_status::InvalidParameter,
    mh_status::BufferTooSmall,
    mh_status::Panic,
    mh_status::Cancelled,
    mh_status::Io,
    mh_status::NotFound,
    mh_status::PermissionDenied,
    mh_status::NotRegularFile,
    mh_status::RefsetInvalid,
    mh_status::RefsetUnsupportedVersion,
    mh_status::RefsetChecksumMismatch,
    mh_status::RefsetTooLargeToCopy,
    mh_status::ScanCancelled,
    mh_status::ScanFailed,
    mh_status::ImageDecodeFailed,
    mh_status::ImageTooLarge,
    mh_status::ImageHashFailed,
    mh_status::ImportUnusable,
    mh_status::VideoFailed,
];

impl mh_status {
    /// The static, NUL-terminated name of the code.
    pub fn as_cstr(self) -> &'static CStr {
        match self {
            mh_status::Ok => c"ok",
            mh_status::NullParameter => c"a required pointer argument was NULL",
            mh_status::InvalidParameter => c"an argument was out of range",
            mh_status::BufferTooSmall => c"buffer too small",
            mh_status::Panic => c"internal error (caught panic); please report it",
            mh_status::Cancelled => c"cancelled through the mh_cancel token",
            mh_status::Io => c"I/O error",
            mh_status::NotFound => c"file or directory not found",
            mh_status::PermissionDenied => c"permission denied",
            mh_status::NotRegularFile => c"not a regular file (directory, FIFO, socket or device)",
            mh_status::RefsetInvalid => c"not a valid .mhset reference set",
            mh_status::RefsetUnsupportedVersion => {
                c".mhset format version not supported by this library"
            }
            mh_status::RefsetChecksumMismatch => c".mhset checksum mismatch (file altered)",
            mh_status::RefsetTooLargeToCopy => {
                c".mhset too large to copy into memory (open it mapped)"
            }
            mh_status::ScanCancelled => c"scan cancelled by the callback",
            mh_status::ScanFailed => c"scan failed",
            mh_status::ImageDecodeFailed => c"image could not be decoded",
            mh_status::ImageTooLarge => c"image exceeds a decode limit",
            mh_status::ImageHashFailed => c"perceptual hash could not be computed",
            mh_status::ImportUnusable => {
                c"hash-list file unusable (no usable record, or mostly bad)"
            }
            mh_status::VideoFailed => c"video could not be hashed",
        }
    }
}

thread_local! {
    /// Detail of the last failed status-returning call on this thread.
    static LAST_ERROR: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Records `message` as this thread's error detail and returns `status`, for use as
/// `return Err(fail(mh_status::X, format_args!(..)))`.
pub(crate) fn fail(status: mh_status, message: impl Display) -> mh_status {
    let text = message.to_string();
    LAST_ERROR.with(|slot| *slot.borrow_mut() = Some(text));
    status
}

/// Records "`function`: `names` is NULL" as this thread's error detail and returns
/// [`mh_status::NullParameter`]: the one wording of every NULL-argument failure. `names` lists
/// the pointers that may not be NULL, joined by " or " (with any condition, e.g.
/// "data (with len > 0) or out"). [`non_null!`] builds it from the argument names.
pub(crate) fn null_parameter(function: &str, names: &str) -> mh_status {
    fail(mh_status::NullParameter, format_args!("{function}: {names} is NULL"))
}

/// Checks pointer arguments for NULL: `non_null!("mh_refset_open", path, out)?` fails with
/// [`mh_status::NullParameter`] and the detail "mh_refset_open: path or out is NULL" when any
/// of them is NULL. The message is made from the names checked, so it cannot drift from the
/// check. For a conditional requirement call [`null_parameter`] directly.
macro_rules! non_null {
    ($function:expr, $first:ident $(, $rest:ident)* $(,)?) => {
        if $first.is_null() $(|| $rest.is_null())* {
            Err($crate::ffi::status::null_parameter(
                $function,
                concat!(stringify!($first) $(, " or ", stringify!($rest))*),
            ))
        } else {
            Ok(())
        }
    };
}
pub(crate) use non_null;

fn clear_last_error() {
    LAST_ERROR.with(|slot| *slot.borrow_mut() = None);
}

fn has_last_error() -> bool {
    LAST_ERROR.with(|slot| slot.borrow().is_some())
}

/// The one place a panic is stopped from crossing `extern "C"` (where it would abort the
/// host process): runs `body`, and returns `on_panic` if it panicked. Every exported function
/// goes through here, directly or via [`ffi_boundary`].
pub(crate) fn boundary<T>(on_panic: T, body: impl FnOnce() -> T) -> T {
    // AssertUnwindSafe: after a panic we touch none of the state `body` borrowed; handles
    // the caller owns are only read by queries, which hold no locks across user code.
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(value) => value,
        Err(payload) => {
            fail(mh_status::Panic, panic_message(payload.as_ref()));
            on_panic
        }
    }
}

/// The boundary for status-returning functions: clears this thread's error detail, runs
/// `body`, and turns its result into a status (recording a generic detail if `body` failed
/// without one, and mapping a panic to [`mh_status::Panic`]).
pub(crate) fn ffi_boundary(body: impl FnOnce() -> Result<(), mh_status>) -> mh_status {
    clear_last_error();
    let result = boundary(Err(mh_status::Panic), body);
    match result {
        Ok(()) => {
            clear_last_error();
            mh_status::Ok
        }
        Err(status) => {
            if !has_last_error() {
                fail(status, status.as_cstr().to_string_lossy());
            }
            status
        }
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    let what = if let Some(s) = payload.downcast_ref::<&str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.as_str()
    } else {
        "unknown panic payload"
    };
    format!("internal error (panic caught at the C API boundary): {what}; please report it")
}

/// Returns the static, NUL-terminated English name of `status`.
///
/// Never returns NULL: an unknown number gives "unknown mh_status". The string is static:
/// do not free it.
#[unsafe(no_mangle)]
pub extern "C" fn mh_status_str(status: u32) -> *const c_char {
    boundary(c"internal error".as_ptr(), || match status_from_u32(status) {
        Some(s) => s.as_cstr().as_ptr(),
        None => c"unknown mh_status".as_ptr(),
    })
}

/// Checked conversion of a status number coming from C.
pub(crate) fn status_from_u32(value: u32) -> Option<mh_status> {
    ALL_STATUSES.into_iter().find(|s| *s as u32 == value)
}

/// Copies the detail message of the last failed call on the calling thread into `buf`, as
/// UTF-8 followed by a NUL byte.
///
/// Every function returning `mh_status` (except this one) resets the detail when it starts,
/// and sets it when it fails, so read it right after the failing call, on the same thread.
/// When the last call succeeded the message is empty ("").
///
/// `*out_needed` always receives the size needed including the NUL byte. If `len` is smaller,
/// nothing is written to `buf` and `MH_STATUS_BUFFER_TOO_SMALL` is returned; call with
/// `buf = NULL, len = 0` to ask for the size. This call does not change the stored detail.
///
/// # Safety
///
/// `buf` must be NULL (only with `len == 0`) or point to `len` writable bytes; `out_needed`
/// must be NULL or point to a writable `size_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mh_last_error_message(
    buf: *mut c_char,
    len: usize,
    out_needed: *mut usize,
) -> mh_status {
    boundary(mh_status::Panic, || {
        if buf.is_null() && len != 0 {
            return mh_status::NullParameter;
        }
        let mut needed = 0usize;
        let status = LAST_ERROR.with(|slot| {
            let slot = slot.borrow();
            let message = slot.as_deref().unwrap_or("");
            // SAFETY: `needed` is a local; the caller guarantees `buf[..len]` is writable
            // (checked for NULL above).
            unsafe { write_c_string(message, buf, len, &mut needed) }
        });
        if !out_needed.is_null() {
            // SAFETY: the caller guarantees `out_needed` is NULL or writable.
            unsafe { out_needed.write(needed) };
        }
        status
    })
}

/// Writes `text` NUL-terminated into `buf[..len]` if it fits; always writes the needed size.
///
/// # Safety
///
/// `out_needed` must be valid for writes; `buf` must be valid for `len` bytes of writes.
pub(crate) unsafe fn write_c_string(
    text: &str,
    buf: *mut c_char,
    len: usize,
    out_needed: *mut usize,
) -> mh_status {
    let needed = text.len() + 1;
    // SAFETY: the caller guarantees `out_needed` is valid for writes.
    unsafe { out_needed.write(needed) };
    if len < needed {
        return mh_status::BufferTooSmall;
    }
    // SAFETY: `buf` holds at least `needed` writable bytes (checked just above) and cannot
    // overlap `text`, which Rust owns.
    unsafe {
        std::ptr::copy_nonoverlapping(text.as_ptr(), buf.cast::<u8>(), text.len());
        buf.add(text.len()).write(0);
    }
    mh_status::Ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_numbers_are_fixed() {
        // These numbers are ABI: this test exists so that changing one is a conscious act.
        let expected = [
            (mh_status::Ok, 0),
            (mh_status::NullParameter, 1),
            (mh_status::InvalidParameter, 2),
            (mh_status::BufferTooSmall, 3),
            (mh_status::Panic, 4),
            (mh_status::Cancelled, 5),
            (mh_status::Io, 100),
            (mh_status::NotFound, 101),
            (mh_status::PermissionDenied, 102),
            (mh_status::NotRegularFile, 103),
            (mh_status::RefsetInvalid, 200),
            (mh_status::RefsetUnsupportedVersion, 201),
            (mh_status::RefsetChecksumMismatch, 202),
            (mh_status::RefsetTooLargeToCopy, 203),
            (mh_status::ScanCancelled, 300),
            (mh_status::ScanFailed, 301),
            (mh_status::ImageDecodeFailed, 400),
            (mh_status::ImageTooLarge, 401),
            (mh_status::ImageHashFailed, 402),
            (mh_status::ImportUnusable, 500),
            (mh_status::VideoFailed, 600),
        ];
        for (status, number) in expected {
            assert_eq!(status as u32, number, "{status:?}");
            assert_eq!(status_from_u32(number), Some(status));
        }
        assert_eq!(status_from_u32(6), None);
        assert_eq!(status_from_u32(u32::MAX), None);
    }

    #[test]
    fn panic_becomes_status_and_message() {
        let status = ffi_boundary(|| panic!("boom"));
        assert_eq!(status, mh_status::Panic);
        let mut buf = [0 as c_char; 256];
        let mut needed = 0usize;
        // SAFETY: buf and needed are valid local buffers.
        let got = unsafe { mh_last_error_message(buf.as_mut_ptr(), buf.len(), &mut needed) };
        assert_eq!(got, mh_status::Ok);
        // SAFETY: mh_last_error_message wrote a NUL-terminated string on success.
        let text = unsafe { CStr::from_ptr(buf.as_ptr()) }.to_str().unwrap();
        assert!(text.contains("boom"), "{text}");
        assert_eq!(needed, text.len() + 1);
        // A later success clears it.
        assert_eq!(ffi_boundary(|| Ok(())), mh_status::Ok);
        // SAFETY: as above.
        unsafe { mh_last_error_message(buf.as_mut_ptr(), buf.len(), &mut needed) };
        assert_eq!(needed, 1);
    }

    fn last_message() -> String {
        let mut buf = [0 as c_char; 256];
        let mut needed = 0usize;
        // SAFETY: buf and needed are valid local buffers.
        let got = unsafe { mh_last_error_message(buf.as_mut_ptr(), buf.len(), &mut needed) };
        assert_eq!(got, mh_status::Ok);
        // SAFETY: mh_last_error_message wrote a NUL-terminated string on success.
        unsafe { CStr::from_ptr(buf.as_ptr()) }.to_str().unwrap().to_owned()
    }

    #[test]
    fn non_null_names_the_pointers_checked() {
        let (path, out, one) = (std::ptr::null::<c_char>(), std::ptr::null_mut::<u8>(), &0u8);
        let one: *const u8 = one;
        assert_eq!(ffi_boundary(|| non_null!("mh_f", one)), mh_status::Ok);
        assert_eq!(ffi_boundary(|| non_null!("mh_f", one, path)), mh_status::NullParameter);
        assert_eq!(last_message(), "mh_f: one or path is NULL");
        assert_eq!(ffi_boundary(|| non_null!("mh_g", out)), mh_status::NullParameter);
        assert_eq!(last_message(), "mh_g: out is NULL");
        let status = ffi_boundary(|| Err(null_parameter("mh_h", "data (with len > 0) or out")));
        assert_eq!(status, mh_status::NullParameter);
        assert_eq!(last_message(), "mh_h: data (with len > 0) or out is NULL");
    }

    #[test]
    fn message_buffer_too_small_writes_nothing() {
        let status = ffi_boundary(|| Err(fail(mh_status::NotFound, "no such file: /x")));
        assert_eq!(status, mh_status::NotFound);
        let mut buf = [b'z' as c_char; 4];
        let mut needed = 0usize;
        // SAFETY: buf and needed are valid local buffers.
        let got = unsafe { mh_last_error_message(buf.as_mut_ptr(), buf.len(), &mut needed) };
        assert_eq!(got, mh_status::BufferTooSmall);
        assert_eq!(needed, "no such file: /x".len() + 1);
        assert!(buf.iter().all(|&c| c == b'z' as c_char));
    }
}
