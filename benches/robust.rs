//! Cost of robust matching (issue 12) on a 12 MP JPEG: analysis (decode, digests, PDQ,
//! pHash) plain, with the robust query candidates, and with the reference windows; and
//! the search of one picture's needles in a set of 1,000 pictures with windows.
//! Run: `cargo bench --bench robust`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use mediahash::analyze::{AnalyzeOptions, analyze_bytes};
use mediahash::perceptual::pdq::PdqHash;
use mediahash::refset::build::Builder;
use mediahash::refset::{
    BuildOptions, Disposition, EntryMeta, HashValue, Record, RefSet, SourceInfo,
};
use mediahash::robust::{Window, WindowHash};

/// A photo-like 4000x3000 picture (waves at several scales plus noise), as a JPEG q90.
fn jpeg_12mp() -> Vec<u8> {
    let (w, h) = (4000u32, 3000u32);
    let mut state = 0x9e37_79b9u32;
    let mut rgb = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        for x in 0..w {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let (u, v) = (f64::from(x) / 400.0, f64::from(y) / 300.0);
            let s = (u * 1.7 + (v * 0.9).sin()).sin() + (v * 2.3 - u * 0.4).cos() * 0.7;
            let base = 128.0 + 60.0 * s + f64::from(state >> 28);
            rgb.extend([base, base * 0.8 + 20.0, 255.0 - base].map(|c| c.clamp(0.0, 255.0) as u8));
        }
    }
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .encode(&rgb, w, h, image::ExtendedColorType::Rgb8)
        .expect("encode");
    out
}

fn set_of_pictures(n: u32) -> RefSet<Vec<u8>> {
    let mut builder = Builder::new(BuildOptions { build_time: Some(0), ..BuildOptions::default() })
        .expect("builder");
    let source = builder
        .add_source(SourceInfo {
            name: "bench".into(),
            format: "pictures".into(),
            sha256: String::new(),
            disposition: Disposition::Alert,
            set_name: "bench".into(),
            records: 0,
            bad_records: 0,
            empty_file_records_skipped: 0,
            source_version: None,
        })
        .expect("source");
    let mut state = 0x1234_5678u64;
    let mut next = || {
        let mut h = [0u8; 32];
        for b in &mut h {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            *b = state as u8;
        }
        h
    };
    for i in 0..n {
        let record = Record {
            hashes: vec![HashValue::Pdq { hash: next(), quality: Some(100) }],
            meta: EntryMeta { source_id: Some(format!("{i}")), ..EntryMeta::default() },
        };
        let windows: Vec<WindowHash> = Window::ALL
            .iter()
            .map(|&window| WindowHash { window, hash: PdqHash(next()), quality: 100 })
            .collect();
        builder.add_picture(source, record, &windows).expect("add");
    }
    RefSet::from_bytes(builder.finish_to_vec().expect("finish").0).expect("open")
}

fn bench(c: &mut Criterion) {
    let jpeg = jpeg_12mp();
    let mut group = c.benchmark_group("robust");
    group.sample_size(10);
    for (name, options) in [
        ("analyze-plain/12MP-jpeg", AnalyzeOptions::default()),
        ("analyze-robust/12MP-jpeg", AnalyzeOptions { robust: true, ..AnalyzeOptions::default() }),
        (
            "analyze-windows/12MP-jpeg",
            AnalyzeOptions { windows: true, ..AnalyzeOptions::default() },
        ),
    ] {
        group.bench_function(name, |b| b.iter(|| analyze_bytes(black_box(&jpeg), &options)));
    }
    let set = set_of_pictures(1000);
    let a = analyze_bytes(&jpeg, &AnalyzeOptions { robust: true, ..AnalyzeOptions::default() });
    let mut needles = vec![a.pdq.expect("pdq").hash.0];
    needles.extend(a.robust.iter().map(|c| c.hash.0));
    group.bench_function("search-windows/1000-pictures", |b| {
        b.iter(|| set.search_pdq_windows(black_box(&needles), 22))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
