//! Measures the fast JPEG mode (DCT-domain 1/2, 1/4, 1/8 decoding) against the exact mode:
//! images/s of each, and the PDQ and pHash distances of fast to exact, per file.
//! Usage: cargo run --release --example fast_vs_exact -- [--min-side N]... FILE_OR_DIR...

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mediahash::analyze::{Analysis, AnalyzeOptions, analyze_bytes};
use mediahash::decode::{ImageFormat, JpegScale};

fn collect(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        let mut entries: Vec<_> =
            std::fs::read_dir(path).unwrap().flatten().map(|e| e.path()).collect();
        entries.sort();
        for e in entries {
            collect(&e, out);
        }
    } else {
        out.push(path.to_path_buf());
    }
}

fn timed(bytes: &[u8], options: &AnalyzeOptions) -> (Analysis, Duration) {
    let start = Instant::now();
    let a = analyze_bytes(bytes, options);
    (a, start.elapsed())
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut min_sides = Vec::new();
    while let Some(i) = args.iter().position(|a| a == "--min-side") {
        min_sides.push(args[i + 1].parse::<u32>().expect("--min-side N"));
        args.drain(i..i + 2);
    }
    if min_sides.is_empty() {
        min_sides = vec![256];
    }
    let mut files = Vec::new();
    for a in &args {
        collect(Path::new(a), &mut files);
    }
    let exact_opts = AnalyzeOptions::default();
    let jpegs: Vec<(PathBuf, Vec<u8>)> = files
        .into_iter()
        .filter_map(|p| {
            let bytes = std::fs::read(&p).ok()?;
            (mediahash::decode::detect_format(&bytes) == Some(ImageFormat::Jpeg))
                .then_some((p, bytes))
        })
        .collect();
    println!("{} JPEG files", jpegs.len());
    let mut exact_time = Duration::ZERO;
    let exact: Vec<Analysis> = jpegs
        .iter()
        .map(|(_, b)| {
            let (a, t) = timed(b, &exact_opts);
            exact_time += t;
            a
        })
        .collect();
    println!("exact: {:.1} images/s", jpegs.len() as f64 / exact_time.as_secs_f64());
    for min_side in min_sides {
        let mut opts = AnalyzeOptions::default();
        opts.decode.jpeg_scale = JpegScale::Fast { min_side };
        let mut fast_time = Duration::ZERO;
        let (mut pdq_d, mut phash_d) = (Vec::new(), Vec::new());
        for ((path, bytes), e) in jpegs.iter().zip(&exact) {
            let (f, t) = timed(bytes, &opts);
            fast_time += t;
            let (Some(ep), Some(fp)) = (&e.pdq, &f.pdq) else { continue };
            let d = ep.hash.distance(&fp.hash);
            let ph = e.imagehashes.unwrap().phash.distance(&f.imagehashes.unwrap().phash);
            let img = f.image.as_ref().unwrap();
            println!(
                "  min_side {min_side}: {} {}x{} /{} pdq {d} phash {ph} (quality {})",
                path.display(),
                img.width,
                img.height,
                img.scale_denom,
                ep.quality
            );
            pdq_d.push(d);
            phash_d.push(ph);
        }
        pdq_d.sort();
        phash_d.sort();
        let pct = |v: &[u32], p: usize| v[(v.len() - 1) * p / 100];
        println!(
            "fast (min_side {min_side}): {:.1} images/s; PDQ distance to exact: median {} p90 {} max {}; pHash: median {} p90 {} max {}",
            jpegs.len() as f64 / fast_time.as_secs_f64(),
            pct(&pdq_d, 50),
            pct(&pdq_d, 90),
            pct(&pdq_d, 100),
            pct(&phash_d, 50),
            pct(&phash_d, 90),
            pct(&phash_d, 100)
        );
    }
}
