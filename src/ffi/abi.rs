//! ABI versioning: the ABI version a suite checks at load time, and the `struct_size` rule
//! that lets a caller compiled against an older or newer header pass its structs.
//!
//! Every struct that crosses the ABI by pointer (options in, results out, the scan entry
//! handed to the callback) starts with `uint32_t struct_size`. The caller sets it to
//! `sizeof` the struct as its header declares it (`mh_*_default` does so for options; for a
//! result, `mh_hash_result r = { .struct_size = sizeof r };`). Structs only ever grow at
//! their end, so the library:
//!
//! - reads an *input* struct's first `min(struct_size, sizeof)` bytes; fields the caller's
//!   header did not have take their defaults; fields the library does not know (a newer
//!   header) must be zero, or the call fails with `MH_STATUS_INVALID_PARAMETER`, since
//!   silently ignoring an option the caller set could mislead;
//! - writes an *output* struct's first `min(struct_size, sizeof)` bytes and sets its
//!   `struct_size` to that number, so the caller sees which fields were filled;
//! - gives the scan callback entries whose `struct_size` is the library's `sizeof`: read a
//!   field only when `struct_size` covers it (`offsetof(field) + sizeof(field)`).
//!
//! A `struct_size` smaller than the struct's size at ABI version 1 is refused.

use super::status::{fail, mh_status};

/// The ABI version of this header. It changes only when an existing function, struct field
/// or constant changes meaning or place (a major release); new functions, new struct fields
/// at the end of a struct and new constants keep it.
pub const MH_ABI_VERSION: u32 = 1;

/// Returns the ABI version of the linked library. A suite compares it with `MH_ABI_VERSION`
/// from the header it was compiled against and refuses to run on a mismatch.
#[unsafe(no_mangle)]
pub extern "C" fn mh_abi_version() -> u32 {
    MH_ABI_VERSION
}

/// A struct passed by pointer with a leading `struct_size`.
///
/// # Safety
///
/// Implementors must be `#[repr(C)]`, start with a `u32` `struct_size` field, and hold only
/// integers, floats, arrays of them and raw pointers, so that every byte pattern is a valid
/// value (the library copies callers' bytes into them).
pub(crate) unsafe trait Sized32: Copy {
    /// The struct's size at ABI version 1: the least `struct_size` accepted.
    const V1_SIZE: usize;
    /// The C name, for messages.
    const NAME: &'static str;
    /// Sets the `struct_size` field.
    fn set_struct_size(&mut self, size: u32);
}

/// The library's size of `T`, as `struct_size` holds it.
pub(crate) fn size_of_struct<T>() -> u32 {
    // Every versioned struct is a few hundred bytes at most.
    u32::try_from(std::mem::size_of::<T>()).unwrap_or(u32::MAX)
}

/// Reads the `struct_size` at `p` and checks it against `T`'s ABI version 1 size.
///
/// # Safety
///
/// `p` must be non-NULL and valid for reading 4 bytes.
unsafe fn struct_size<T: Sized32>(p: *const T, function: &str) -> Result<usize, mh_status> {
    // SAFETY: the caller guarantees 4 readable bytes; the read is unaligned-safe.
    let size = unsafe { std::ptr::read_unaligned(p.cast::<u32>()) } as usize;
    if size < T::V1_SIZE {
        return Err(fail(
            mh_status::InvalidParameter,
            format!(
                "{function}: {}.struct_size is {size}, less than {} (its size at ABI version 1): \
                 set it to sizeof(*ptr), or fill the struct with its _default function",
                T::NAME,
                T::V1_SIZE
            ),
        ));
    }
    Ok(size)
}

/// The input struct at `p` as this library knows it: the caller's first
/// `min(struct_size, sizeof T)` bytes over `defaults`.
///
/// # Safety
///
/// `p` must be non-NULL and valid for reading its own `struct_size` bytes (the caller's
/// promise for a struct it allocated with that size).
pub(crate) unsafe fn read_input<T: Sized32>(
    p: *const T,
    defaults: T,
    function: &str,
) -> Result<T, mh_status> {
    // SAFETY: forwarded from the caller.
    let size = unsafe { struct_size(p, function) }?;
    let ours = std::mem::size_of::<T>();
    if size > ours {
        // SAFETY: the caller guarantees `size` readable bytes at `p`.
        let tail = unsafe { std::slice::from_raw_parts(p.cast::<u8>().add(ours), size - ours) };
        if tail.iter().any(|&b| b != 0) {
            return Err(fail(
                mh_status::InvalidParameter,
                format!(
                    "{function}: {} sets fields this library (ABI {MH_ABI_VERSION}, {ours} bytes) \
                     does not know (struct_size {size}): link a newer mediahash, or leave them \
                     zero",
                    T::NAME
                ),
            ));
        }
    }
    let mut value = defaults;
    // SAFETY: `p` is readable for `size` bytes and `value` writable for `ours`; we copy the
    // smaller count. `T: Sized32` holds only integers and pointers, so any bytes are valid.
    unsafe {
        std::ptr::copy_nonoverlapping(
            p.cast::<u8>(),
            (&raw mut value).cast::<u8>(),
            size.min(ours),
        );
    }
    value.set_struct_size(size_of_struct::<T>());
    Ok(value)
}

/// Writes `value` to the output struct at `p`: its first `min(struct_size, sizeof T)`
/// bytes, with `struct_size` set to that count.
///
/// # Safety
///
/// `p` must be non-NULL, readable for 4 bytes (the caller's `struct_size`) and writable for
/// its `struct_size` bytes.
pub(crate) unsafe fn write_output<T: Sized32>(
    p: *mut T,
    mut value: T,
    function: &str,
) -> Result<(), mh_status> {
    // SAFETY: forwarded from the caller.
    let size = unsafe { struct_size(p, function) }?.min(std::mem::size_of::<T>());
    value.set_struct_size(size as u32);
    // SAFETY: `p` is writable for at least `size` bytes (its own struct_size, or ours if
    // smaller); `value` is a live `T`, readable for `size <= sizeof T` bytes. The copy is
    // untyped, so padding bytes are copied as they are.
    unsafe {
        std::ptr::copy_nonoverlapping((&raw const value).cast::<u8>(), p.cast::<u8>(), size);
    }
    Ok(())
}

/// Implements [`Sized32`]: `sized32!(T: last_field as FieldType, ...)` names the last field
/// of `T`'s ABI version 1 layout, so the version 1 size stays what it was when fields are
/// appended later (and is right for the target's pointer width).
macro_rules! sized32 {
    ($($t:ident: $last:ident as $last_ty:ty),* $(,)?) => {$(
        // SAFETY: each listed struct is `#[repr(C)]`, starts with `struct_size: u32` and
        // holds only integers, floats, arrays of them and raw pointers.
        unsafe impl $crate::ffi::abi::Sized32 for $t {
            const V1_SIZE: usize =
                std::mem::offset_of!($t, $last) + std::mem::size_of::<$last_ty>();
            const NAME: &'static str = stringify!($t);
            fn set_struct_size(&mut self, size: u32) {
                self.struct_size = size;
            }
        }
    )*};
}
pub(crate) use sized32;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ffi::{hash, refset, scan};

    fn check<T: Sized32>(appended_after_v1: usize) {
        // Up to the struct's alignment of trailing padding.
        let end = T::V1_SIZE + appended_after_v1;
        let size = std::mem::size_of::<T>();
        assert!(
            end <= size && size - end < std::mem::align_of::<T>(),
            "{}: version 1 size {} plus the fields appended since ({appended_after_v1}) is not \
             its size {size}",
            T::NAME,
            T::V1_SIZE
        );
    }

    /// The version 1 sizes: a struct grows only by appending (a pointer each so far).
    #[test]
    fn version_1_sizes() {
        let pointer = std::mem::size_of::<*const u8>();
        check::<hash::mh_hash_options>(pointer); // cancel
        check::<hash::mh_hash_result>(0);
        check::<refset::mh_refset_info>(0);
        check::<refset::mh_set_info>(0);
        check::<refset::mh_source_info>(8); // empty_file_records_skipped
        check::<refset::mh_match>(0);
        check::<refset::mh_membership>(0);
        check::<scan::mh_archive_limits>(0);
        check::<scan::mh_scan_options>(pointer); // cancel
        check::<scan::mh_scan_entry>(2 * pointer + 8); // mtime, inode, provenance_json
        check::<scan::mh_scan_summary>(0);
        check::<crate::ffi::build::mh_import_summary>(0);
        check::<crate::ffi::video::mh_vpdq_match>(0);
    }

    #[test]
    fn old_sized_input_gets_defaults_and_newer_fields_must_be_zero() {
        let defaults = hash::mh_hash_options::defaults();
        // An old caller: its struct ends before `cancel`; what lies beyond is not its.
        let mut old = [0u8; 128];
        let v1 = hash::mh_hash_options::V1_SIZE;
        old[..4].copy_from_slice(&(v1 as u32).to_ne_bytes());
        old[4..8].copy_from_slice(&super::super::hash::MH_DIGEST_MD5.to_ne_bytes());
        old[v1..].fill(0xAA);
        let p = old.as_ptr().cast::<hash::mh_hash_options>();
        // SAFETY: `old` holds `v1` readable bytes (and more).
        let read = unsafe { read_input(p, defaults, "test") }.unwrap();
        assert_eq!(read.digests, super::super::hash::MH_DIGEST_MD5);
        assert!(read.cancel.is_null(), "fields past the caller's struct take the defaults");
        // Too small.
        old[..4].copy_from_slice(&((v1 - 8) as u32).to_ne_bytes());
        // SAFETY: as above.
        let result = unsafe { read_input(p, defaults, "test") };
        assert_eq!(result.unwrap_err(), mh_status::InvalidParameter);
        // A newer caller: larger, with an unknown field set.
        let ours = std::mem::size_of::<hash::mh_hash_options>();
        let mut newer = vec![0u8; ours + 8];
        newer[..4].copy_from_slice(&((ours + 8) as u32).to_ne_bytes());
        let p = newer.as_ptr().cast::<hash::mh_hash_options>();
        // SAFETY: `newer` holds its struct_size bytes.
        assert!(unsafe { read_input(p, defaults, "test") }.is_ok(), "zero tail accepted");
        newer[ours + 3] = 1;
        // SAFETY: as above.
        let result = unsafe { read_input(p, defaults, "test") };
        assert_eq!(result.unwrap_err(), mh_status::InvalidParameter);
    }

    #[test]
    fn output_written_up_to_the_callers_size() {
        let mut buf = vec![0x55u8; 64];
        let size = refset::mh_set_info::V1_SIZE as u32;
        buf[..4].copy_from_slice(&size.to_ne_bytes());
        let info = refset::mh_set_info {
            struct_size: 0,
            name: std::ptr::null(),
            disposition: 2,
            source_count: 7,
        };
        let p = buf.as_mut_ptr().cast::<refset::mh_set_info>();
        // SAFETY: `buf` holds `size` writable bytes.
        unsafe { write_output(p, info, "test") }.unwrap();
        assert_eq!(u32::from_ne_bytes(buf[..4].try_into().unwrap()), size);
        assert!(buf[size as usize..].iter().all(|&b| b == 0x55), "nothing past struct_size");
    }
}
