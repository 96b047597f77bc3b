//! Arbitrary bytes through format detection and every streaming importer: must never panic
//! (errors and bad records are fine). Needs fuzz/Cargo.toml with `libfuzzer-sys` and a path
//! dependency on mediahash; run with `cargo fuzz run import`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mediahash::import::{Format, ImportOptions, detect_source_format_bytes, import_reader};

fn run(data: &[u8]) {
    let lenient = ImportOptions { max_bad_records_kept: 4, ..ImportOptions::default() };
    let strict = ImportOptions { strict: true, ..ImportOptions::default() };
    let _ = detect_source_format_bytes(data, "fuzz");
    // Detected format first, then each streaming format forced.
    let forced = Format::ALL.into_iter().filter(|f| f.is_streamable()).map(Some);
    for format in std::iter::once(None).chain(forced) {
        for opts in [&lenient, &strict] {
            let mut records = 0u64;
            let result = import_reader(data, "fuzz", format, opts, &mut |record| {
                assert!(!record.hashes.is_empty(), "records always carry a hash");
                records += 1;
                Ok(())
            });
            if let Ok(summary) = result {
                assert_eq!(summary.records, records);
                assert!(summary.bad_examples.len() as u64 <= summary.bad_records);
            }
        }
    }
}

fuzz_target!(|data: &[u8]| run(data));
