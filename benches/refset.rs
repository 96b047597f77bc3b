//! `.mhset` benchmarks: exact lookups, PDQ radius search, build throughput.
//!
//! Sizes: `MHSET_BENCH_N` (SHA-1 entries for exact lookups, default 1000000; e.g. 100000000
//! by hand), `MHSET_BENCH_PDQ_N` (comma-separated PDQ set sizes, default "100000,1000000";
//! add 10000000 by hand). Each set is built once into a temporary directory and mapped.
//!
//! Run: cargo bench --bench refset

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use mediahash::refset::{
    BuildOptions, Builder, DEFAULT_PDQ_RADIUS, DEFAULT_U64_RADIUS, Disposition, EntryMeta,
    HashKind, HashValue, MappedRefSet, PdqStrategy, Record, RefSet, SourceInfo, scan_kernel_name,
};
use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        for chunk in out.chunks_mut(8) {
            let v = self.next().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
        out
    }
}

fn env_sizes(name: &str, default: &str) -> Vec<u64> {
    std::env::var(name)
        .unwrap_or_else(|_| default.into())
        .split(',')
        .map(|s| s.trim().parse().expect("sizes are integers"))
        .collect()
}

fn source() -> SourceInfo {
    SourceInfo {
        name: "bench".into(),
        format: "synthetic".into(),
        sha256: String::new(),
        disposition: Disposition::Alert,
        set_name: "bench".into(),
        records: 0,
        bad_records: 0,
        empty_file_records_skipped: 0,
        source_version: None,
    }
}

/// Builds a set of `n` records made by `make` and maps it.
fn build(dir: &Path, name: &str, n: u64, mut make: impl FnMut(u64) -> HashValue) -> MappedRefSet {
    let path = dir.join(name);
    let opts = BuildOptions {
        temp_dir: Some(dir.to_path_buf()),
        build_time: Some(0),
        ..Default::default()
    };
    let mut b = Builder::new(opts).unwrap();
    let s = b.add_source(source()).unwrap();
    for i in 0..n {
        let meta = EntryMeta { source_id: Some(i.to_string()), ..EntryMeta::default() };
        b.add(s, Record { hashes: vec![make(i)], meta }).unwrap();
    }
    b.finish(&path).unwrap();
    RefSet::open(&path).unwrap()
}

fn exact(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    for n in env_sizes("MHSET_BENCH_N", "1000000") {
        let mut rng = Rng(1);
        let mut sample = Vec::new();
        let set = build(dir.path(), "sha1.mhset", n, |i| {
            let h: [u8; 20] = rng.bytes();
            // 65,536 hits spread over the set: more than the caches hold at large n, so the
            // figure includes the memory latency a real lookup meets.
            if i % (n / 65_536).max(1) == 0 {
                sample.push(h);
            }
            HashValue::Sha1(h)
        });
        let mut miss_rng = Rng(99);
        let misses: Vec<[u8; 20]> = (0..sample.len()).map(|_| miss_rng.bytes()).collect();
        let mut g = c.benchmark_group("exact");
        g.sample_size(20).measurement_time(Duration::from_secs(3));
        g.throughput(Throughput::Elements(sample.len() as u64));
        g.bench_with_input(BenchmarkId::new("sha1_find_hit", n), &sample, |b, s| {
            b.iter(|| s.iter().filter(|h| set.find(HashKind::Sha1, &h[..]).is_some()).count())
        });
        g.bench_with_input(BenchmarkId::new("sha1_lookup_hit", n), &sample, |b, s| {
            b.iter(|| s.iter().map(|h| set.lookup_sha1(h).unwrap().len()).sum::<usize>())
        });
        g.bench_with_input(BenchmarkId::new("sha1_lookup_miss", n), &misses, |b, s| {
            b.iter(|| s.iter().map(|h| set.lookup_sha1(h).unwrap().len()).sum::<usize>())
        });
        g.finish();
    }
}

fn pdq(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    eprintln!("scan kernel: {}", scan_kernel_name());
    for n in env_sizes("MHSET_BENCH_PDQ_N", "100000,1000000") {
        let mut rng = Rng(2);
        let set = build(dir.path(), "pdq.mhset", n, |_| HashValue::Pdq {
            hash: rng.bytes(),
            quality: None,
        });
        let mut q = Rng(3);
        let needles: Vec<[u8; 32]> = (0..8).map(|_| q.bytes()).collect();
        let mut g = c.benchmark_group("pdq");
        g.sample_size(10).measurement_time(Duration::from_secs(5));
        g.throughput(Throughput::Elements(1));
        g.bench_function(BenchmarkId::new("8_dihedral_r31", n), |b| {
            b.iter(|| {
                set.search_pdq(black_box(&needles[0]), DEFAULT_PDQ_RADIUS, &needles[1..]).len()
            })
        });
        g.bench_function(BenchmarkId::new("8_dihedral_r31_flat", n), |b| {
            b.iter(|| {
                set.search_pdq_with(black_box(&needles), DEFAULT_PDQ_RADIUS, PdqStrategy::Flat)
                    .len()
            })
        });
        g.bench_function(BenchmarkId::new("8_dihedral_r63", n), |b| {
            b.iter(|| set.search_pdq(black_box(&needles[0]), 63, &needles[1..]).len())
        });
        g.bench_function(BenchmarkId::new("1_needle_r31", n), |b| {
            b.iter(|| set.search_pdq(black_box(&needles[0]), DEFAULT_PDQ_RADIUS, &[]).len())
        });
        g.finish();
        drop(set);
        std::fs::remove_file(dir.path().join("pdq.mhset")).unwrap();
    }
    let n = 1_000_000;
    let mut rng = Rng(4);
    let set = build(dir.path(), "phash.mhset", n, |_| HashValue::PHash(rng.next()));
    let mut g = c.benchmark_group("u64");
    g.sample_size(10).measurement_time(Duration::from_secs(3));
    g.throughput(Throughput::Elements(1));
    let queries: Vec<u64> = (0..8).map(|_| rng.next()).collect();
    g.bench_function(BenchmarkId::new("phash_8_needles_r8", n), |b| {
        b.iter(|| {
            set.search_u64(
                HashKind::PHash,
                black_box(queries[0]),
                DEFAULT_U64_RADIUS,
                &queries[1..],
            )
            .unwrap()
            .len()
        })
    });
    g.finish();
}

fn build_throughput(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let n = 100_000u64;
    let mut g = c.benchmark_group("build");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    g.throughput(Throughput::Elements(n));
    g.bench_function(BenchmarkId::new("sha1_records", n), |b| {
        b.iter(|| {
            let mut rng = Rng(5);
            let opts = BuildOptions {
                temp_dir: Some(dir.path().to_path_buf()),
                build_time: Some(0),
                ..Default::default()
            };
            let mut builder = Builder::new(opts).unwrap();
            let s = builder.add_source(source()).unwrap();
            for _ in 0..n {
                builder
                    .add(
                        s,
                        Record {
                            hashes: vec![HashValue::Sha1(rng.bytes())],
                            meta: EntryMeta::default(),
                        },
                    )
                    .unwrap();
            }
            builder.finish(dir.path().join("build.mhset")).unwrap().bytes_written
        })
    });
    g.finish();
}

criterion_group!(benches, exact, pdq, build_throughput);
criterion_main!(benches);
