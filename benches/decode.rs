//! Decode throughput, images/s: full-resolution versus DCT-domain fast JPEG decoding.
//!
//! * `photos-jpeg`: the JPEGs in $MEDIAHASH_TESTDATA/photos (small web photos, 256-1600 px);
//! * `photos-png`: the Kodak PNGs there (768x512), for comparison;
//! * `exif-rotn-6`: the 4032x3024 camera JPEG in pdq/reg-test-input (if present);
//! * `generated-4000x3000`: a 4:2:0 quality-90 baseline JPEG made here with libjpeg.
//!
//! Fast mode uses `JpegScale::Fast { min_side: 256 }`. Run:
//! `MEDIAHASH_TESTDATA=/path/to/testdata cargo bench --bench decode`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mediahash::decode::{DecodeOptions, JpegScale, decode_rgb8};
use std::hint::black_box;
use std::path::{Path, PathBuf};

#[path = "../tests/decode/jpeg_encode.rs"]
mod jpeg_encode;

fn testdata_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("MEDIAHASH_TESTDATA") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/testdata"),
    };
    if dir.join("photos").is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "skipping photos: test data not found at {} (set MEDIAHASH_TESTDATA)",
            dir.display()
        );
        None
    }
}

fn files_with_extension(dir: &Path, ext: &str, out: &mut Vec<Vec<u8>>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            files_with_extension(&path, ext, out);
        } else if path.extension().is_some_and(|e| e.eq_ignore_ascii_case(ext)) {
            out.push(std::fs::read(&path).expect("read photo"));
        }
    }
}

/// A smooth synthetic scene with mild noise, so the JPEG has realistic coefficients.
fn generated_jpeg(width: u32, height: u32) -> Vec<u8> {
    let mut seed = 0x1234_5678u32;
    let mut pixels = Vec::with_capacity((width * height * 3) as usize);
    for y in 0..height {
        for x in 0..width {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            let noise = (seed >> 28) as i32 - 8;
            let wave = (((x / 40 + y / 30) % 2) * 60) as i32;
            let base = [(x * 255 / width) as i32, (y * 255 / height) as i32 + wave / 2, 128 + wave];
            pixels.extend(base.map(|c| (c + noise).clamp(0, 255) as u8));
        }
    }
    let spec = jpeg_encode::JpegSpec::new(jpeg_encode::JpegColor::YCbCr, 90);
    jpeg_encode::encode(&pixels, width, height, &spec)
}

fn bench_set(c: &mut Criterion, name: &str, images: &[Vec<u8>]) {
    if images.is_empty() {
        return;
    }
    let mut group = c.benchmark_group(name);
    group.sample_size(10);
    group.throughput(Throughput::Elements(images.len() as u64));
    let modes = [
        ("full", DecodeOptions::default()),
        (
            "fast256",
            DecodeOptions { jpeg_scale: JpegScale::Fast { min_side: 256 }, ..Default::default() },
        ),
    ];
    for (mode, options) in modes {
        group.bench_function(mode, |b| {
            b.iter(|| {
                for bytes in images {
                    black_box(decode_rgb8(black_box(bytes), &options).expect("decode"));
                }
            })
        });
    }
    group.finish();
}

fn benches(c: &mut Criterion) {
    if let Some(dir) = testdata_dir() {
        let mut jpegs = Vec::new();
        files_with_extension(&dir.join("photos"), "jpg", &mut jpegs);
        bench_set(c, "photos-jpeg", &jpegs);
        let mut pngs = Vec::new();
        files_with_extension(&dir.join("photos/kodak"), "png", &mut pngs);
        let mut group = c.benchmark_group("photos-png");
        group.sample_size(10);
        group.throughput(Throughput::Elements(pngs.len() as u64));
        group.bench_function("full", |b| {
            b.iter(|| {
                for bytes in &pngs {
                    black_box(
                        decode_rgb8(black_box(bytes), &DecodeOptions::default()).expect("decode"),
                    );
                }
            })
        });
        group.finish();
        let camera = dir.join("pdq/reg-test-input/exif-rotn/exif-rotn-6.jpg");
        if let Ok(bytes) = std::fs::read(camera) {
            bench_set(c, "exif-rotn-6-4032x3024", &[bytes]);
        }
    }
    bench_set(c, "generated-4000x3000", &[generated_jpeg(4000, 3000)]);
}

criterion_group!(decode_benches, benches);
criterion_main!(decode_benches);
