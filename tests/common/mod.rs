//! Shared helpers for the integration tests.
#![allow(dead_code)]

pub mod capture;
pub mod rng;
pub mod synth;
pub mod tools;

use std::cell::Cell;
use std::path::PathBuf;
use std::sync::Once;

/// The shared test-data directory: `$MEDIAHASH_TESTDATA`, or `../shared/testdata` beside the
/// repository.
///
/// Tests that call this carry
/// `#[cfg_attr(not(mediahash_testdata), ignore = "needs ../shared/testdata ...")]`: build.rs
/// sets that cfg only when the directory is there (or `MEDIAHASH_REQUIRE_TESTDATA=1`, as in CI),
/// so without the data `cargo test` lists them as ignored, with the reason, instead of letting
/// them pass having checked nothing. Reaching this without the data (CI, `--include-ignored`,
/// or data removed after the build) is a test failure that says what is missing.
pub fn testdata_dir() -> PathBuf {
    let dir = match std::env::var_os("MEDIAHASH_TESTDATA") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/testdata"),
    };
    // The marker build.rs looks for too.
    assert!(
        dir.join("pdq/README.md").is_file(),
        "shared test data not found at {} (no pdq/README.md): set MEDIAHASH_TESTDATA to the \
         directory holding Meta's PDQ test images and the reference outputs",
        dir.display()
    );
    dir
}

thread_local! {
    /// Panics seen by the hook on this thread, caught or not.
    static PANICS: Cell<u64> = const { Cell::new(0) };
}

/// How many panics this thread has seen so far. Installs (once per test binary) a panic hook
/// that counts them and then runs the previous hook, so messages still print.
fn panics_on_this_thread() -> u64 {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICS.with(|n| n.set(n.get() + 1));
            previous(info);
        }));
    });
    PANICS.with(Cell::get)
}

/// Runs `f` and fails if anything panicked inside it on this thread, even a panic the library
/// caught. `decode` turns a panic of a third-party decoder into `DecodeError::Corrupt`, so a
/// "never panics" test that only looks at the result would accept a crash as a refusal.
pub fn assert_no_panic<T>(what: impl std::fmt::Display, f: impl FnOnce() -> T) -> T {
    let before = panics_on_this_thread();
    let out = f();
    let caught = panics_on_this_thread() - before;
    assert_eq!(caught, 0, "{what}: {caught} panic(s) caught inside the library (message above)");
    out
}

/// A hash-set source description for sets built in tests.
pub fn source(
    name: &str,
    set: &str,
    disposition: mediahash::refset::Disposition,
) -> mediahash::refset::SourceInfo {
    mediahash::refset::SourceInfo {
        name: name.into(),
        format: "test".into(),
        sha256: "00".repeat(32),
        disposition,
        set_name: set.into(),
        records: 0,
        bad_records: 0,
        empty_file_records_skipped: 0,
        source_version: None,
    }
}
