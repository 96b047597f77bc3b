//! Shared helpers for the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// The shared test-data directory: `$MEDIAHASH_TESTDATA`, or `../shared/testdata` beside the
/// repository. Returns `None` (after printing a notice) when it is missing, so a fresh clone
/// skips these tests; with `MEDIAHASH_REQUIRE_TESTDATA=1` (set by `.ci/run`) a missing
/// directory fails the test instead.
pub fn testdata_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("MEDIAHASH_TESTDATA") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/testdata"),
    };
    if dir.join("pdq/README.md").is_file() {
        return Some(dir);
    }
    if std::env::var_os("MEDIAHASH_REQUIRE_TESTDATA").is_some_and(|v| v == "1") {
        panic!(
            "test data required (MEDIAHASH_REQUIRE_TESTDATA=1) but not found at {}",
            dir.display()
        );
    }
    eprintln!("skipping: test data not found at {} (set MEDIAHASH_TESTDATA)", dir.display());
    None
}
