//! Digest throughput: one-pass MD5+SHA-1+SHA-256 versus each digest alone.
//! Run: cargo bench --bench digest

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use md5::Md5;
use mediahash::digest::{DigestOptions, digest_bytes};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use std::hint::black_box;

fn bench_digests(c: &mut Criterion) {
    let data: Vec<u8> =
        (0..16 * 1024 * 1024u32).map(|i| (i.wrapping_mul(2654435761) >> 24) as u8).collect();
    let mut group = c.benchmark_group("digest_16MiB");
    group.throughput(Throughput::Bytes(data.len() as u64));
    group.sample_size(20);
    group.bench_function("md5+sha1+sha256 one pass", |b| {
        b.iter(|| digest_bytes(black_box(&data), DigestOptions::default()))
    });
    group.bench_function("md5+sha1+sha256+blake3 one pass", |b| {
        b.iter(|| digest_bytes(black_box(&data), DigestOptions { blake3: true }))
    });
    group.bench_function("md5 alone", |b| b.iter(|| Md5::digest(black_box(&data))));
    group.bench_function("sha1 alone", |b| b.iter(|| Sha1::digest(black_box(&data))));
    group.bench_function("sha256 alone", |b| b.iter(|| Sha256::digest(black_box(&data))));
    group.finish();
}

criterion_group!(benches, bench_digests);
criterion_main!(benches);
