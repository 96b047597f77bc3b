//! Fuzzes the `.mhset` reader: any bytes must give a typed error or a reader whose every
//! operation returns without panicking. Run: `cargo fuzz run mhset` (nightly, cargo-fuzz).
//! A useful seed corpus is a few small sets written by the tests' builder.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mediahash::refset::{HashKind, HashValue, PdqStrategy, RefSet};

fuzz_target!(|data: &[u8]| {
    let Ok(set) = RefSet::from_bytes(data) else { return };
    let _ = set.info();
    let _ = set.verify();
    let probe: [u8; 32] = std::array::from_fn(|i| data.get(i).copied().unwrap_or(0));
    let _ = set.lookup(&HashValue::Md5(probe[..16].try_into().unwrap()));
    let _ = set.lookup(&HashValue::Sha1(probe[..20].try_into().unwrap()));
    let _ = set.lookup(&HashValue::Sha256(probe));
    let _ = set.lookup(&HashValue::PHash(u64::from_le_bytes(probe[..8].try_into().unwrap())));
    for strategy in [PdqStrategy::Flat, PdqStrategy::MultiIndex] {
        for m in set.search_pdq_with(&[probe, [0; 32]], 40, strategy) {
            let _ = set.memberships(m.entry);
        }
    }
    if let Ok(found) = set.search_u64(HashKind::DHash, 0, 64, &[u64::MAX]) {
        for m in found {
            let _ = set.memberships(m.entry);
        }
    }
    for record in 0..set.record_count().min(64) as u32 {
        let _ = set.membership(record);
    }
});
