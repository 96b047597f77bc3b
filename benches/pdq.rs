//! PDQ throughput in images per second on generated RGB8 buffers.
//! Run: `cargo bench --bench pdq`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mediahash::perceptual::pdq::{PdqConvention, pdq_dihedral_from_rgb, pdq_from_rgb};

/// A photo-like buffer: smooth gradients plus xorshift noise (so sums are not trivially exact).
fn image(width: u32, height: u32) -> Vec<u8> {
    let mut state = 0x9e37_79b9u32;
    let mut rgb = Vec::with_capacity((width * height * 3) as usize);
    for y in 0..height {
        for x in 0..width {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let noise = (state >> 27) as u8;
            rgb.push(((x * 255 / width) as u8).wrapping_add(noise));
            rgb.push(((y * 255 / height) as u8).wrapping_add(noise));
            rgb.push((((x + y) * 127 / (width + height)) as u8).wrapping_add(noise));
        }
    }
    rgb
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("pdq");
    group.throughput(Throughput::Elements(1));
    group.sample_size(20);
    for (w, h) in [(512u32, 512u32), (1024, 768), (4000, 3000)] {
        let rgb = image(w, h);
        group.bench_function(format!("hash/{w}x{h}"), |b| {
            b.iter(|| pdq_from_rgb(w, h, black_box(&rgb), PdqConvention::FullResolution).unwrap())
        });
        group.bench_function(format!("dihedral/{w}x{h}"), |b| {
            b.iter(|| {
                pdq_dihedral_from_rgb(w, h, black_box(&rgb), PdqConvention::FullResolution).unwrap()
            })
        });
    }
    let rgb = image(4000, 3000);
    group.bench_function("hash-cli512/4000x3000", |b| {
        b.iter(|| pdq_from_rgb(4000, 3000, black_box(&rgb), PdqConvention::Cli512).unwrap())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
