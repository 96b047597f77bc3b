//! The library version, as a string and as compile-time macros.

use std::ffi::{CStr, c_char};

use super::status::boundary;

/// Major version of the library this header was generated from (as in Cargo.toml).
pub const MH_VERSION_MAJOR: u32 = 0;
/// Minor version of the library this header was generated from (as in Cargo.toml).
pub const MH_VERSION_MINOR: u32 = 1;
/// Patch version of the library this header was generated from (as in Cargo.toml).
pub const MH_VERSION_PATCH: u32 = 0;

const VERSION_CSTR: &CStr =
    match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
        Ok(s) => s,
        Err(_) => panic!("the crate version contains a NUL byte"),
    };

/// Returns the version of the linked library as a static NUL-terminated string such as
/// "0.1.0". Compare it with the `MH_VERSION_*` macros to detect a header/library mismatch.
/// Do not free it.
#[unsafe(no_mangle)]
pub extern "C" fn mh_version() -> *const c_char {
    boundary(VERSION_CSTR.as_ptr(), || VERSION_CSTR.as_ptr())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_macros_match_cargo_toml() {
        // The header's MH_VERSION_* come from these constants; Cargo.toml is the truth.
        let parse = |s: &str| s.parse::<u32>().unwrap();
        assert_eq!(MH_VERSION_MAJOR, parse(env!("CARGO_PKG_VERSION_MAJOR")));
        assert_eq!(MH_VERSION_MINOR, parse(env!("CARGO_PKG_VERSION_MINOR")));
        assert_eq!(MH_VERSION_PATCH, parse(env!("CARGO_PKG_VERSION_PATCH")));
        assert_eq!(VERSION_CSTR.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
    }
}
