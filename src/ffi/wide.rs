//! Wide-character (UTF-16) path entry points for Windows suites, whose paths are `wchar_t`
//! strings that UTF-8 cannot always carry (unpaired surrogates are legal in NTFS names).
//! Each is the UTF-8 function of the same name without `_w`, on a `const uint16_t *` path
//! (NUL-terminated UTF-16, as `const wchar_t *` on Windows). Compiled on Windows only.

use super::status::{fail, mh_status};

/// The longest path Windows accepts (`\\?\` paths), in UTF-16 units.
#[cfg_attr(not(windows), allow(dead_code))]
const MAX_WIDE_PATH: usize = 32_767;

/// The UTF-16 units of the NUL-terminated string at `p`, read up to [`MAX_WIDE_PATH`] units.
///
/// # Safety
///
/// `p` must be non-NULL and point to readable `u16`s up to and including a NUL, or to at
/// least `MAX_WIDE_PATH + 1` readable units.
#[cfg_attr(not(windows), allow(dead_code))]
unsafe fn wide_units<'a>(p: *const u16) -> Result<&'a [u16], mh_status> {
    let mut len = 0usize;
    // SAFETY: the caller guarantees readable units up to the NUL; we stop there or at the
    // bound.
    while unsafe { p.add(len).read() } != 0 {
        len += 1;
        if len > MAX_WIDE_PATH {
            return Err(fail(
                mh_status::InvalidParameter,
                format_args!("path is longer than {MAX_WIDE_PATH} UTF-16 units (no NUL?)"),
            ));
        }
    }
    // SAFETY: `len` units were just read.
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

#[cfg(windows)]
mod windows {
    use std::ffi::OsString;
    use std::os::windows::ffi::OsStringExt;
    use std::path::PathBuf;

    use super::super::hash::{hash_file_at, mh_hash_options, mh_hash_result};
    use super::super::refset::{mh_refset, open_at};
    use super::super::status::{ffi_boundary, mh_status, non_null};
    use super::wide_units;

    /// # Safety
    ///
    /// As [`wide_units`].
    unsafe fn path_from_wide(p: *const u16) -> Result<PathBuf, mh_status> {
        // SAFETY: forwarded from the caller.
        let units = unsafe { wide_units(p) }?;
        Ok(PathBuf::from(OsString::from_wide(units)))
    }

    /// `mh_hash_file` on a UTF-16 path.
    ///
    /// # Safety
    ///
    /// `path` must be NULL or NUL-terminated UTF-16; otherwise as `mh_hash_file`.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn mh_hash_file_w(
        path: *const u16,
        options: *const mh_hash_options,
        out: *mut mh_hash_result,
    ) -> mh_status {
        ffi_boundary(|| {
            non_null!("mh_hash_file_w", path, out)?;
            // SAFETY: non-NULL; the caller guarantees NUL-terminated UTF-16.
            let path = unsafe { path_from_wide(path) }?;
            // SAFETY: forwarded from the caller.
            unsafe { hash_file_at(&path, options, out, "mh_hash_file_w") }
        })
    }

    /// `mh_refset_open` on a UTF-16 path.
    ///
    /// # Safety
    ///
    /// `path` must be NULL or NUL-terminated UTF-16; `out` NULL or writable.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn mh_refset_open_w(
        path: *const u16,
        out: *mut *mut mh_refset,
    ) -> mh_status {
        ffi_boundary(|| {
            non_null!("mh_refset_open_w", path, out)?;
            // SAFETY: non-NULL; the caller guarantees NUL-terminated UTF-16.
            let path = unsafe { path_from_wide(path) }?;
            // SAFETY: `out` is non-NULL and writable (the caller's promise).
            unsafe { open_at(&path, false, out) }
        })
    }

    /// `mh_refset_open_mapped` on a UTF-16 path (same immutability contract).
    ///
    /// # Safety
    ///
    /// `path` must be NULL or NUL-terminated UTF-16; `out` NULL or writable; the file must
    /// stay unchanged while the set is open.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn mh_refset_open_mapped_w(
        path: *const u16,
        out: *mut *mut mh_refset,
    ) -> mh_status {
        ffi_boundary(|| {
            non_null!("mh_refset_open_mapped_w", path, out)?;
            // SAFETY: non-NULL; the caller guarantees NUL-terminated UTF-16.
            let path = unsafe { path_from_wide(path) }?;
            // SAFETY: `out` is writable; the caller takes on the immutability contract.
            unsafe { open_at(&path, true, out) }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_paths_stop_at_nul_and_are_bounded() {
        let units: Vec<u16> = "C:\\evidence\\pic.jpg\0tail".encode_utf16().collect();
        // SAFETY: `units` holds a NUL.
        let read = unsafe { wide_units(units.as_ptr()) }.unwrap();
        assert_eq!(String::from_utf16(read).unwrap(), "C:\\evidence\\pic.jpg");
        let endless = vec![b'a' as u16; MAX_WIDE_PATH + 2];
        // SAFETY: `endless` has MAX_WIDE_PATH + 2 readable units.
        let err = unsafe { wide_units(endless.as_ptr()) }.unwrap_err();
        assert_eq!(err, mh_status::InvalidParameter);
    }
}
