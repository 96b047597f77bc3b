//! Whole-pipeline throughput, images/s: bytes in memory -> digests + decode + PDQ, and
//! digests + decode + pHash/dHash/aHash, through `mediahash::analyze::analyze_bytes` (what
//! `mh hash` runs per file, minus the read). Images are generated here: a photo-like scene
//! (gradients, shapes, noise) at 512x512, 1024x768 and 4000x3000, as a 4:2:0 quality-90 JPEG
//! (libjpeg, test-only encoder) and as a PNG (image crate's encoder, default settings).
//! JPEGs also run in fast mode (`JpegScale::FAST_DEFAULT`, as `mh hash --fast`: DCT-domain
//! scaling).
//!
//! The pieces alone are in benches/digest.rs, benches/decode.rs, benches/pdq.rs and
//! benches/phash.rs. Run: `cargo bench --bench pipeline` (add a filter such as `4000x3000`).

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mediahash::analyze::{AnalyzeOptions, analyze_bytes};
use mediahash::decode::{JpegScale, decode_rgb8};
use mediahash::perceptual::imagehash::imagehashes_from_rgb;

#[path = "../tests/decode/jpeg_encode.rs"]
mod jpeg_encode;
#[path = "../tests/common/rng.rs"]
mod rng;
#[path = "../tests/common/synth.rs"]
mod synth;

fn jpeg(pixels: &[u8], width: u32, height: u32) -> Vec<u8> {
    let spec = jpeg_encode::JpegSpec::new(jpeg_encode::JpegColor::YCbCr, 90);
    jpeg_encode::encode(pixels, width, height, &spec)
}

fn bench(c: &mut Criterion) {
    let pdq_only = AnalyzeOptions { imagehash: false, ..AnalyzeOptions::default() };
    // analyze computes PDQ whenever it decodes, so decode + imagehash alone is measured
    // with the same two calls analyze makes (decode_rgb8, imagehashes_from_rgb).
    let pdq_and_imagehash = AnalyzeOptions::default();
    let mut fast = pdq_only.clone();
    fast.decode.jpeg_scale = JpegScale::FAST_DEFAULT;

    for (w, h) in [(512u32, 512u32), (1024, 768), (4000, 3000)] {
        let pixels = synth::photo_like(w, h, w ^ h);
        let files = [("jpeg", jpeg(&pixels, w, h)), ("png", synth::png_rgb8(w, h, &pixels))];
        drop(pixels);
        let mut group = c.benchmark_group(format!("pipeline/{w}x{h}"));
        group.throughput(Throughput::Elements(1));
        group.sample_size(if w >= 4000 { 10 } else { 20 });
        for (format, bytes) in &files {
            // A failed decode would make the bench measure the error path: check once.
            for opts in [&pdq_only, &pdq_and_imagehash, &fast] {
                let a = analyze_bytes(bytes, opts);
                assert!(a.pdq.is_some(), "{format} {w}x{h}: {:?}", a.image_error);
            }
            group.bench_function(format!("{format}/digests+decode+pdq"), |b| {
                b.iter(|| analyze_bytes(black_box(bytes), &pdq_only))
            });
            group.bench_function(format!("{format}/digests+decode+pdq+imagehash"), |b| {
                b.iter(|| analyze_bytes(black_box(bytes), &pdq_and_imagehash))
            });
            group.bench_function(format!("{format}/decode+imagehash"), |b| {
                b.iter(|| {
                    let image = decode_rgb8(black_box(bytes), &pdq_only.decode).unwrap();
                    imagehashes_from_rgb(image.width, image.height, &image.pixels).unwrap()
                })
            });
            if *format == "jpeg" {
                group.bench_function(format!("{format}/fast256/digests+decode+pdq"), |b| {
                    b.iter(|| analyze_bytes(black_box(bytes), &fast))
                });
            }
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
