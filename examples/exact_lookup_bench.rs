//! Exact lookups at scale (issue 18, item 4): `RefSet::find` one at a time against
//! `RefSet::find_batch` on the same values, in one run.
//!
//! `exact_lookup_bench build N SET.mhset`: N random SHA-1 values (one shared record).
//! `exact_lookup_bench run N SET.mhset [LOOKUPS] [BATCH] [ROUNDS]`: LOOKUPS values (half
//! stored, half not, shuffled), looked up singly and in batches of BATCH, ROUNDS times
//! alternating; prints lookups per second and checks both give the same answers.

use mediahash::refset::{
    BuildOptions, Builder, Disposition, EntryMeta, HashKind, HashValue, Record, RefSet, SourceInfo,
};
use std::time::Instant;

/// splitmix64.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// SHA-1 value `i` of the set (i >= n: values not in it).
fn value(i: u64) -> [u8; 20] {
    let mut v = [0u8; 20];
    for (k, c) in v.chunks_mut(8).enumerate() {
        c.copy_from_slice(&mix(i * 3 + k as u64).to_le_bytes()[..c.len()]);
    }
    v
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |i: usize, d: u64| args.get(i).map_or(Ok(d), |s| s.parse::<u64>());
    let n = arg(2, 0)?;
    let path =
        args.get(3).ok_or("usage: exact_lookup_bench build|run N SET [LOOKUPS BATCH ROUNDS]")?;
    match args[1].as_str() {
        "build" => {
            let start = Instant::now();
            let dir = std::path::Path::new(path).parent().map(|p| p.to_path_buf());
            let mut b = Builder::new(BuildOptions {
                build_time: Some(0),
                temp_dir: dir,
                ..Default::default()
            })?;
            let s = b.add_source(SourceInfo {
                name: "bench".into(),
                format: "synthetic".into(),
                sha256: String::new(),
                disposition: Disposition::Alert,
                set_name: "bench".into(),
                records: 0,
                bad_records: 0,
                empty_file_records_skipped: 0,
                source_version: None,
            })?;
            for i in 0..n {
                let hashes = vec![HashValue::Sha1(value(i))];
                b.add(s, Record { hashes, meta: EntryMeta::default() })?;
            }
            let r = b.finish(path)?;
            eprintln!(
                "built {n} in {:.1} s, {} bytes",
                start.elapsed().as_secs_f64(),
                r.bytes_written
            );
        }
        "run" => {
            let (lookups, batch, rounds) = (arg(4, 1 << 20)?, arg(5, 1 << 16)?, arg(6, 3)?);
            let t = Instant::now();
            let set = RefSet::open(path)?;
            eprintln!("opened in {:.1} s", t.elapsed().as_secs_f64());
            let keys: Vec<u8> = (0..lookups)
                .flat_map(|k| value(if k % 2 == 0 { mix(k) % n } else { n + mix(k) % n }))
                .collect();
            for round in 0..rounds {
                let t = Instant::now();
                let single: Vec<_> =
                    keys.chunks_exact(20).map(|k| set.find(HashKind::Sha1, k)).collect();
                let single_s = t.elapsed().as_secs_f64();
                let t = Instant::now();
                let mut batched = Vec::with_capacity(single.len());
                for chunk in keys.chunks(20 * batch as usize) {
                    batched.extend(set.find_batch(HashKind::Sha1, chunk));
                }
                let batch_s = t.elapsed().as_secs_f64();
                let found = single.iter().filter(|h| h.is_some()).count();
                assert_eq!(single, batched, "batched answers differ");
                println!(
                    "round {round}: single {:.2} M/s, batched({batch}) {:.2} M/s, found {found}/{lookups}, load {}",
                    lookups as f64 / single_s / 1e6,
                    lookups as f64 / batch_s / 1e6,
                    std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim()
                );
            }
        }
        _ => return Err("usage: exact_lookup_bench build|run N SET [LOOKUPS BATCH ROUNDS]".into()),
    }
    Ok(())
}
