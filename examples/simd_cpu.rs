//! CPU time (not wall time: the benchmark machine is shared) of the SIMD paths at every level
//! the CPU has, side by side in one run: imagehash's greyscale + Lanczos resizes of a 12 MP
//! picture, and the digests of many inputs (MD5 lanes with SHA-1/SHA-256 beside them)
//! against the one-stream hasher.
//!
//! Run: `cargo run --release --example simd_cpu [ROUNDS]`

use std::hint::black_box;
use std::time::Duration;

use mediahash::cpu::SimdLevel;
use mediahash::digest::{DigestOptions, ShaOrder, digest_bytes, digest_many_with};
use mediahash::perceptual::imagehash::imagehashes_from_rgb;

/// CPU time of the calling thread.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid timespec for the call to fill.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Smallest CPU time per call of `f` over `rounds` rounds of `reps` calls.
fn best(rounds: usize, reps: usize, mut f: impl FnMut()) -> Duration {
    (0..rounds)
        .map(|_| {
            let t = thread_cpu();
            for _ in 0..reps {
                f();
            }
            (thread_cpu() - t) / reps as u32
        })
        .min()
        .unwrap()
}

fn noise(len: usize, mut s: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 24) as u8
        })
        .collect()
}

fn main() {
    let rounds: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(5);
    let levels = SimdLevel::available();
    println!("levels: {:?}; in use: {}", levels, mediahash::cpu::simd_level().name());

    // A photo-like 12 MP RGB picture (gradients plus noise), as benches/phash.rs.
    let (w, h) = (4000u32, 3000u32);
    let mut rgb = noise((w * h * 3) as usize, 7);
    for (i, p) in rgb.chunks_exact_mut(3).enumerate() {
        let (x, y) = (i as u32 % w, i as u32 / w);
        p[0] = ((x * 255 / w) + u32::from(p[0] >> 3)).min(255) as u8;
        p[1] = ((y * 255 / h) + u32::from(p[1] >> 3)).min(255) as u8;
        p[2] = (((x + y) * 127 / (w + h)) + u32::from(p[2] >> 3)) as u8;
    }
    // The resampling level is the process's (run again with MEDIAHASH_SIMD=avx2 or
    // portable to compare).
    let t = best(rounds, 3, || {
        black_box(imagehashes_from_rgb(w, h, black_box(&rgb)).unwrap());
    });
    println!(
        "imagehash 12 MP (pHash+dHash+aHash, level {}): {:.2} ms CPU",
        mediahash::cpu::simd_level().name(),
        t.as_secs_f64() * 1e3
    );

    // Many inputs of mixed sizes: 256 of 0-64 KiB and 4 of 4 MiB (about 24 MiB in all).
    let mut seed = 99u64;
    let mut next = |m: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % m
    };
    let mut inputs: Vec<Vec<u8>> = (0..256).map(|i| noise(next(64 * 1024) as usize, i)).collect();
    inputs.extend((0..4).map(|i| noise(4 << 20, 1000 + i)));
    let total: usize = inputs.iter().map(Vec::len).sum();
    let mib = total as f64 / (1 << 20) as f64;
    let one = best(rounds, 1, || {
        for i in &inputs {
            black_box(digest_bytes(i, DigestOptions::default()));
        }
    });
    println!(
        "digests, {} inputs, {mib:.1} MiB: one stream at a time: {:.0} MiB/s CPU",
        inputs.len(),
        mib / one.as_secs_f64()
    );
    for level in levels {
        for order in [ShaOrder::Interleaved, ShaOrder::PerLane] {
            let t = best(rounds, 1, || {
                digest_many_with(
                    level,
                    order,
                    inputs.iter().map(|i| &i[..]),
                    DigestOptions::default(),
                    |_, r| {
                        black_box(r.unwrap());
                    },
                );
            });
            println!(
                "digests, lanes {:>8} SHA {order:?}: {:.0} MiB/s CPU ({:.2}x one stream)",
                level.name(),
                mib / t.as_secs_f64(),
                one.as_secs_f64() / t.as_secs_f64()
            );
        }
    }
}
