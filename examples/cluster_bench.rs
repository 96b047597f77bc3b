//! Clustering benchmark (issue #13): `cargo run --release --example cluster_bench -- N [RADIUS]`
//!
//! Generates N PDQ-like hashes (uniform random bits, as PDQ's median threshold makes them)
//! in realistic near-duplicate groups: about half the pictures alone, the rest in groups of
//! 2 to 200 (sizes falling off geometrically) whose members differ from the group's
//! original by 0-24 bits (re-encodes, resizes and small edits measure 0-20 against PDQ's
//! match radius of 31), one in ten an identical copy; the order is shuffled. Prints the
//! clusters found, the wall time of `mediahash::cluster::cluster_pdq`, and its peak memory
//! (VmHWM after resetting it just before the call, less VmRSS then).

use std::time::Instant;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn status_kib(field: &str) -> u64 {
    let text = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    text.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let radius: u32 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(31);
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut hashes: Vec<[u8; 32]> = Vec::with_capacity(n);
    let mut planted_groups = 0u64;
    while hashes.len() < n {
        let mut base = [0u8; 32];
        for c in base.chunks_exact_mut(8) {
            c.copy_from_slice(&rng.next().to_le_bytes());
        }
        let size = if rng.next().is_multiple_of(2) {
            1
        } else {
            let mut s = 2;
            while s < 200 && rng.next() % 10 < 7 {
                s += 1 + (rng.next() % 3) as usize;
            }
            s
        };
        planted_groups += u64::from(size > 1);
        hashes.push(base);
        for _ in 1..size {
            let mut h = base;
            if !rng.next().is_multiple_of(10) {
                for _ in 0..rng.next() % 25 {
                    let b = (rng.next() % 256) as usize;
                    h[b / 8] ^= 1 << (b % 8);
                }
            }
            hashes.push(h);
        }
    }
    hashes.truncate(n);
    for i in (1..hashes.len()).rev() {
        let j = (rng.next() % (i as u64 + 1)) as usize;
        hashes.swap(i, j);
    }

    // Reset the peak to the current RSS (Linux: clear_refs 5), then measure.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let rss_before = status_kib("VmRSS:");
    let started = Instant::now();
    let clusters = mediahash::cluster::cluster_pdq(&hashes, radius);
    let elapsed = started.elapsed();
    let peak = status_kib("VmHWM:");
    println!(
        "n {n} radius {radius} threads {}: {} clusters ({} planted groups), {} clustered, \
         largest {}; {:.2} s; peak memory +{:.1} MiB over {:.1} MiB before",
        rayon::current_num_threads(),
        clusters.count(),
        planted_groups,
        clusters.clustered(),
        clusters.sizes.iter().max().copied().unwrap_or(0),
        elapsed.as_secs_f64(),
        peak.saturating_sub(rss_before) as f64 / 1024.0,
        rss_before as f64 / 1024.0,
    );
}
