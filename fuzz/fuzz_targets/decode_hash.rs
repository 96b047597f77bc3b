//! Arbitrary bytes through content sniffing, decoding and every hash (digests, PDQ with
//! dihedrals, imagehash family): nothing may panic, whatever the input.
//! Run: cargo fuzz run --sanitizer none decode_hash -- -runs=1000000
#![no_main]

use libfuzzer_sys::fuzz_target;
use mediahash::analyze::{AnalyzeOptions, analyze_bytes};
use mediahash::decode::{DecodeOptions, JpegScale, Limits};

fuzz_target!(|data: &[u8]| {
    // Small limits keep each execution fast; the limit checks themselves are under test too.
    let limits = Limits { max_width: 4096, max_height: 4096, max_pixels: 4_000_000, ..Limits::default() };
    let mut options = AnalyzeOptions { dihedral: true, ..AnalyzeOptions::default() };
    options.decode = DecodeOptions { limits, ..DecodeOptions::default() };
    let exact = analyze_bytes(data, &options);
    options.decode.jpeg_scale = JpegScale::Fast { min_side: 64 };
    let fast = analyze_bytes(data, &options);
    assert_eq!(exact.digests, fast.digests);
});
