//! Arbitrary bytes behind a JPEG, PNG, WebP, TIFF or GIF signature (the first byte chooses which) as
//! picture metadata: `provenance::inspect` must end every walk with indicators or a typed
//! error. Nothing may panic, hang or allocate without bound.
//! Run: cargo fuzz run --sanitizer none provenance -- -runs=1000000 -max_len=65536
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else { return };
    let signature: &[u8] = match which % 7 {
        0 => b"\xff\xd8\xff",
        1 => b"\x89PNG\r\n\x1a\n",
        2 => b"RIFF\0\0\0\0WEBP",
        3 => b"II*\0",
        4 => b"MM\0*",
        5 => b"GIF89a",
        _ => b"",
    };
    let mut bytes = signature.to_vec();
    bytes.extend_from_slice(rest);
    let found = mediahash::provenance::inspect(&bytes);
    for i in &found.indicators {
        assert!(i.value.as_ref().is_none_or(|v| v.chars().count() <= 200));
    }
});
