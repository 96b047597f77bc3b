//! Near-miss benchmark for the review (issue #13): unknown pictures against the alert PDQ
//! hashes of a reference set at the near-miss radius (default 70 bits).
//!
//! `cargo run --release --example near_miss_bench -- NEEDLES SET_SIZE [RADIUS] [PER_NEEDLE]`
//!
//! Builds a `.mhset` of SET_SIZE random 256-bit PDQ hashes (one alert set) in a temporary
//! folder, makes NEEDLES query hashes (a tenth of them 32-70 bits from a stored hash, the rest
//! random), then times, side by side on the same set:
//! * **batch**: what the review does now: the set's alert hashes listed once
//!   (`ReferenceIndex::alert_pdq_hashes`) and every needle searched in one blocked pass
//!   (`cluster::nearest_within`, on the rayon pool: `RAYON_NUM_THREADS` sets its size);
//! * **per needle**: what it did before: `ReferenceIndex::search_pdq` for one needle at a
//!   time (a flat scan of the set per needle above radius 63), for the first PER_NEEDLE
//!   needles (default 100), extrapolated to all of them.
//!
//! The nearest distances of those first needles must agree between the two (checked).

use std::time::Instant;

use mediahash::perceptual::pdq::PdqHash;
use mediahash::refset::{
    BuildOptions, Builder, Disposition, EntryMeta, HashValue, Record, RefSet, SourceInfo,
};
use mediahash::scan::ReferenceIndex;

type BoxError = Box<dyn std::error::Error>;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn hash(&mut self) -> [u8; 32] {
        let mut h = [0u8; 32];
        for c in h.chunks_exact_mut(8) {
            c.copy_from_slice(&self.next().to_le_bytes());
        }
        h
    }
}

fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |i: usize, default: u64| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    let (needle_count, set_size) = (arg(1, 100_000) as usize, arg(2, 1_000_000) as usize);
    let radius = arg(3, 70) as u32;
    let per_needle = (arg(4, 100) as usize).min(needle_count);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);

    let dir = tempfile::tempdir()?;
    let path = dir.path().join("alerts.mhset");
    let start = Instant::now();
    let mut stored = Vec::with_capacity(set_size);
    let mut builder = Builder::new(BuildOptions { build_time: Some(0), ..Default::default() })?;
    let source = builder.add_source(SourceInfo {
        name: "generated".into(),
        format: "hex".into(),
        sha256: String::new(),
        disposition: Disposition::Alert,
        set_name: "alerts".into(),
        records: 0,
        bad_records: 0,
        empty_file_records_skipped: 0,
        source_version: None,
    })?;
    for _ in 0..set_size {
        let hash = rng.hash();
        stored.push(hash);
        let hashes = vec![HashValue::Pdq { hash, quality: None }];
        builder.add(source, Record { hashes, meta: EntryMeta::default() })?;
    }
    builder.finish(&path)?;
    let built = start.elapsed().as_secs_f64();
    let set = RefSet::open(&path)?;

    let needles: Vec<[u8; 32]> = (0..needle_count)
        .map(|i| {
            if i % 10 != 0 || stored.is_empty() {
                return rng.hash();
            }
            let mut h = stored[(rng.next() % stored.len() as u64) as usize];
            for _ in 0..32 + rng.next() % 39 {
                let b = (rng.next() % 256) as usize;
                h[b / 8] ^= 1 << (b % 8);
            }
            h
        })
        .collect();

    let start = Instant::now();
    let listed = set.alert_pdq_hashes()?.unwrap_or_default();
    let list_secs = start.elapsed().as_secs_f64();
    let haystack: Vec<[u8; 32]> = listed.iter().map(|(h, _)| *h).collect();
    let start = Instant::now();
    let batch = mediahash::cluster::nearest_within(&needles, &haystack, radius);
    let batch_secs = start.elapsed().as_secs_f64();

    let start = Instant::now();
    for (i, needle) in needles.iter().take(per_needle).enumerate() {
        let found = ReferenceIndex::search_pdq(&set, &[PdqHash(*needle)], radius, 8)?;
        let nearest = found.iter().filter_map(|(_, m)| m.distance).min();
        assert_eq!(nearest, batch[i].map(|(d, _)| d), "needle {i}: the two paths disagree");
    }
    let one_secs = start.elapsed().as_secs_f64() / per_needle.max(1) as f64;
    let near = batch.iter().filter(|b| b.is_some()).count();
    println!(
        "{{\"needles\": {needle_count}, \"set\": {set_size}, \"radius\": {radius}, \
         \"threads\": {}, \"build_s\": {built:.1}, \"list_s\": {list_secs:.2}, \
         \"batch_s\": {batch_secs:.2}, \"per_needle_ms\": {:.3}, \
         \"per_needle_total_s\": {:.1}, \"near_misses\": {near}, \"checked\": {per_needle}}}",
        rayon::current_num_threads(),
        one_secs * 1e3,
        one_secs * needle_count as f64,
    );
    Ok(())
}
