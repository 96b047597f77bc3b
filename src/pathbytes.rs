//! Record paths are bytes: on Unix the names exactly as stored, on Windows the UTF-16 names
//! in WTF-8 (UTF-8 unless a name holds an unpaired surrogate), both as
//! [`std::ffi::OsStr::as_encoded_bytes`] gives them. This turns them back into paths to open
//! again (a video for ffmpeg, a picture for its thumbnail).

use std::path::PathBuf;

/// The path a record's bytes name. On Windows, bytes that are not UTF-8 (a name with an
/// unpaired surrogate) come back with U+FFFD in its place, so opening that path fails
/// with a clear error instead of reaching another file.
pub fn path_from_bytes(bytes: &[u8]) -> PathBuf {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        PathBuf::from(std::ffi::OsStr::from_bytes(bytes))
    }
    #[cfg(not(unix))]
    {
        PathBuf::from(String::from_utf8_lossy(bytes).into_owned())
    }
}

/// `name` with its bytes from `keep` on replaced by the ASCII bytes `tail` (the counters at
/// the end of split-image and EWF segment names); `None` when the bytes replaced or `tail`
/// are not ASCII.
pub fn replace_ascii_tail(
    name: &std::ffi::OsStr,
    keep: usize,
    tail: &[u8],
) -> Option<std::ffi::OsString> {
    let bytes = name.as_encoded_bytes();
    if keep > bytes.len() || !bytes[keep..].is_ascii() || !tail.is_ascii() {
        return None;
    }
    let mut out = bytes[..keep].to_vec();
    out.extend_from_slice(tail);
    // SAFETY: `out` is `name`'s encoded bytes cut immediately before an ASCII (so valid
    // UTF-8) substring, followed by ASCII: the split and the joining that
    // `OsStr::as_encoded_bytes` documents as keeping the encoding valid.
    Some(unsafe { std::ffi::OsString::from_encoded_bytes_unchecked(out) })
}

/// The length of the common start of `a` and `b`.
pub fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_tails_are_replaced_and_other_bytes_refused() {
        let name = std::ffi::OsStr::new("Ünïcode.E01");
        let len = name.len();
        let next = replace_ascii_tail(name, len - 2, b"02").unwrap();
        assert_eq!(next, "Ünïcode.E02");
        assert!(replace_ascii_tail(name, 1, b"x").is_none(), "non-ASCII bytes replaced");
        assert!(replace_ascii_tail(name, len + 1, b"").is_none());
        assert_eq!(common_prefix(b"disk.009", b"disk.010"), 6);
    }
}
