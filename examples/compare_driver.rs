//! Driver for benches/compare/run.sh: runs one part of the mediahash image pipeline over a
//! list of files and prints one JSON object per file (in input order) on stdout.
//!
//! Modes:
//! * `decode`: read + decode to RGB8 only (the floor the hashing modes are compared with);
//! * `pdq`: `analyze_file` with PDQ (digests + decode + PDQ, as `mh hash` does it);
//! * `imagehash`: read + decode + pHash/dHash/aHash only (the work Python imagehash does);
//! * `all`: `analyze_file` with PDQ and pHash/dHash/aHash (everything `mh hash` computes).
//!
//! Usage: `compare_driver MODE [--fast] [--threads N] --list FILE` (one path per line).
//! The last stderr line is JSON: wall and CPU seconds of the hashing loop, file count, and
//! whether libjpeg-turbo was built with SIMD.

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::Instant;

use clap::{Parser, ValueEnum};
use mediahash::analyze::{AnalyzeOptions, analyze_file};
use mediahash::decode::{DecodeOptions, JpegScale, decode_rgb8};
use mediahash::perceptual::imagehash::imagehashes_from_rgb;
use rayon::prelude::*;
use serde_json::json;

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Mode {
    Decode,
    Imagehash,
    Pdq,
    All,
}

#[derive(Parser)]
struct Args {
    mode: Mode,
    /// Decode JPEGs at a reduced scale in the DCT domain (`mh hash --fast`).
    #[arg(long)]
    fast: bool,
    /// Worker threads (default 1: the Python peers are single-threaded).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// File with one path per line.
    #[arg(long)]
    list: PathBuf,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let paths: Vec<PathBuf> = std::fs::read_to_string(&args.list)?
        .lines()
        .filter(|l| !l.is_empty())
        .map(PathBuf::from)
        .collect();
    let mut options = AnalyzeOptions { imagehash: args.mode == Mode::All, ..Default::default() };
    let mut decode_options = DecodeOptions::default();
    if args.fast {
        // The same setting as `mh hash --fast`.
        options.decode.jpeg_scale = JpegScale::FAST_DEFAULT;
        decode_options.jpeg_scale = JpegScale::FAST_DEFAULT;
    }
    let pool = rayon::ThreadPoolBuilder::new().num_threads(args.threads).build()?;
    let (start, cpu0) = (Instant::now(), process_cpu_seconds());
    let lines: Vec<serde_json::Value> = pool.install(|| {
        paths
            .par_iter()
            .map(|path| {
                let name = path.display().to_string();
                match args.mode {
                    Mode::Decode => match std::fs::read(path)
                        .map_err(|e| e.to_string())
                        .and_then(|b| decode_rgb8(&b, &decode_options).map_err(|e| e.to_string()))
                    {
                        Ok(img) => json!({"path": name, "width": img.width, "height": img.height}),
                        Err(e) => json!({"path": name, "error": e}),
                    },
                    Mode::Imagehash => match std::fs::read(path)
                        .map_err(|e| e.to_string())
                        .and_then(|b| decode_rgb8(&b, &decode_options).map_err(|e| e.to_string()))
                        .and_then(|img| {
                            imagehashes_from_rgb(img.width, img.height, &img.pixels)
                                .map_err(|e| e.to_string())
                        }) {
                        Ok(h) => json!({
                            "path": name, "phash": h.phash.to_hex(), "dhash": h.dhash.to_hex()
                        }),
                        Err(e) => json!({"path": name, "error": e}),
                    },
                    Mode::Pdq | Mode::All => match analyze_file(path, &options) {
                        Ok(a) => json!({
                            "path": name,
                            "pdq": a.pdq.map(|p| p.hash.to_hex()),
                            "quality": a.pdq.map(|p| p.quality),
                            "phash": a.imagehashes.as_ref().map(|h| h.phash.to_hex()),
                            "dhash": a.imagehashes.as_ref().map(|h| h.dhash.to_hex()),
                            "decoded": a.image.as_ref().map(|i| [i.decoded_width, i.decoded_height]),
                            "error": a.image_error.map(|e| e.to_string()),
                        }),
                        Err(e) => json!({"path": name, "error": e.to_string()}),
                    },
                }
            })
            .collect()
    });
    let (elapsed, cpu) = (start.elapsed().as_secs_f64(), process_cpu_seconds() - cpu0);
    let mut out = BufWriter::new(std::io::stdout().lock());
    for line in &lines {
        serde_json::to_writer(&mut out, line)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    let jpeg_simd = mediahash::decode::jpeg_simd_built();
    eprintln!(
        "{}",
        json!({"elapsed": elapsed, "cpu": cpu, "files": lines.len(), "jpeg_simd": jpeg_simd})
    );
    Ok(())
}

/// CPU seconds used by this process so far (all threads), -1 if the clock is unavailable.
fn process_cpu_seconds() -> f64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime only writes the timespec we pass, which outlives the call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    if rc != 0 { -1.0 } else { ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9 }
}
