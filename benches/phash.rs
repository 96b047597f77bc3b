//! Throughput of `imagehashes_from_rgb` (greyscale, three Pillow-exact Lanczos resizes,
//! pHash DCT, dHash, aHash) on camera-sized and thumbnail-sized RGB images.
//! Run: `cargo bench --bench phash`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use mediahash::perceptual::imagehash::imagehashes_from_rgb;
use std::hint::black_box;

/// Deterministic photo-like content: smooth gradients plus xorshift noise.
fn test_image(width: u32, height: u32) -> Vec<u8> {
    let mut state = 0x9e37_79b9u32;
    let mut rgb = Vec::with_capacity((width * height * 3) as usize);
    for y in 0..height {
        for x in 0..width {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let noise = state >> 27;
            rgb.push(((x * 255 / width) + noise).min(255) as u8);
            rgb.push(((y * 255 / height) + noise).min(255) as u8);
            rgb.push((((x + y) * 127 / (width + height)) + noise) as u8);
        }
    }
    rgb
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("imagehashes_from_rgb");
    for (w, h) in [(512u32, 512u32), (4000, 3000)] {
        let rgb = test_image(w, h);
        group.throughput(Throughput::Elements(1));
        if w * h > 1_000_000 {
            group.sample_size(20);
        }
        group.bench_with_input(BenchmarkId::from_parameter(format!("{w}x{h}")), &rgb, |b, rgb| {
            b.iter(|| imagehashes_from_rgb(w, h, black_box(rgb)).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
