//! Cancel tokens: a caller stops a long call (hashing a large file, a scan) from another
//! thread.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::status::{boundary, ffi_boundary, mh_status, non_null};

/// A cancel token (opaque). Create with `mh_cancel_new`, pass its pointer in options
/// (`mh_hash_options.cancel`, `mh_scan_options.cancel`), set it from any thread with
/// `mh_cancel_set`, free it with `mh_cancel_free` once no call uses it. Once set it stays set:
/// make a new token for the next call.
pub struct mh_cancel {
    flag: Arc<AtomicBool>,
}

/// Makes a cancel token in `*out` (not set).
///
/// # Safety
///
/// `out` must be NULL or point to a writable `mh_cancel *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mh_cancel_new(out: *mut *mut mh_cancel) -> mh_status {
    ffi_boundary(|| {
        non_null!("mh_cancel_new", out)?;
        let token = Box::new(mh_cancel { flag: Arc::new(AtomicBool::new(false)) });
        // SAFETY: `out` is non-NULL and the caller guarantees it is writable.
        unsafe { out.write(Box::into_raw(token)) };
        Ok(())
    })
}

/// Sets the token: calls using it stop soon (between image rows, file chunks or scanned
/// entries) and return `MH_STATUS_CANCELLED`. Thread-safe; NULL is a no-op.
///
/// # Safety
///
/// `token` must be NULL or a live token.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mh_cancel_set(token: *const mh_cancel) {
    boundary((), || {
        // SAFETY: the caller guarantees `token` is NULL or live.
        if let Some(t) = unsafe { token.as_ref() } {
            t.flag.store(true, Ordering::SeqCst);
        }
    })
}

/// Whether the token is set (1) or not (0); 0 for NULL. Thread-safe.
///
/// # Safety
///
/// `token` must be NULL or a live token.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mh_cancel_is_set(token: *const mh_cancel) -> i32 {
    boundary(0, || {
        // SAFETY: the caller guarantees `token` is NULL or live.
        unsafe { token.as_ref() }.map_or(0, |t| i32::from(t.flag.load(Ordering::SeqCst)))
    })
}

/// Frees a token. NULL is a no-op. No call may be using it.
///
/// # Safety
///
/// `token` must be NULL or a live token not used by a running call, and not used after.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mh_cancel_free(token: *mut mh_cancel) {
    boundary((), || {
        if !token.is_null() {
            // SAFETY: the caller gives up a live token made by `mh_cancel_new`.
            drop(unsafe { Box::from_raw(token) });
        }
    })
}

/// The flag of `token`, shared with the library call that uses it.
///
/// # Safety
///
/// `token` must be NULL or a live token.
pub(crate) unsafe fn token(token: *const mh_cancel) -> Option<Arc<AtomicBool>> {
    // SAFETY: the caller guarantees `token` is NULL or live.
    unsafe { token.as_ref() }.map(|t| Arc::clone(&t.flag))
}
