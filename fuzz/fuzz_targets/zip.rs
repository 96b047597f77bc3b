//! Fuzzes the ZIP reader (`mediahash::evidence::archive`): any bytes must give items whose
//! contents read to a typed end (bytes, or a typed failure), never a panic, a hang or an
//! unbounded allocation. Run: `cargo fuzz run zip` (nightly, cargo-fuzz). Seeds: small ZIPs
//! written by `zip`, or by tests/archive.rs.
#![no_main]

use std::io::Read;
use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use mediahash::evidence::Item;
use mediahash::evidence::archive::{ArchiveLimits, expand_bytes};

fuzz_target!(|data: &[u8]| {
    let limits = ArchiveLimits {
        max_entries: 1000,
        max_bytes: 64 << 20,
        max_nested_in_memory: 1 << 20,
        ..ArchiveLimits::default()
    };
    let Some(members) = expand_bytes(b"fuzz.zip", Arc::new(data.to_vec()), &limits) else {
        return;
    };
    for item in members {
        if let Item::Content(c) = item {
            if let Ok(mut opened) = c.content.open() {
                let mut sink = [0u8; 1 << 16];
                while let Ok(n) = opened.reader.read(&mut sink) {
                    if n == 0 {
                        break;
                    }
                }
                let _ = opened.reader.failure();
            }
        }
    }
});
