//! Generates a scan tree for measuring the review's triage figure (issue #13): known
//! pictures, copies of some of them planted in the evidence (exact, and transformed), and
//! unknown pictures, some in bursts of near duplicates, plus documents. Deterministic.
//!
//! ```text
//! cargo run --release --example make_review_tree -- OUT_DIR [--pictures N] [--seed S]
//! mh refset build -o OUT_DIR/known.mhset --alert-images OUT_DIR/known
//! mh scan --refset OUT_DIR/known.mhset --cluster --report OUT_DIR/report.jsonl \
//!     --review OUT_DIR/review OUT_DIR/evidence
//! ```
//!
//! * `known/`: N/20 reference pictures (never in the evidence as such);
//! * `evidence/planted/`: for each of the first half of the known pictures, a copy that is
//!   exact, re-encoded (JPEG q 70), half size, or 8% cropped (in turn): the first three
//!   are matched by PDQ, the crop usually not (a near miss for the review to put first);
//! * `evidence/DCIM/`: unknown pictures, 40% of them followed by 1-3 near duplicates
//!   (re-encoded at q 60-90 or resized to 60-90%), like bursts and re-shared copies;
//! * `evidence/Documents/`: text files, one per ten pictures.
//!
//! `OUT_DIR/truth.tsv` lists every evidence picture: path, `known-K-exact|reencode|half|crop`
//! or `unknown-U` (U the original it was made from).
//! Pictures are `synth::photo_like` at 320x240 (gradients, shapes, noise; never people).

use std::fs;
use std::io::Write;
use std::path::PathBuf;

use rayon::prelude::*;

#[path = "../tests/common/rng.rs"]
mod rng;
#[path = "../tests/common/synth.rs"]
mod synth;

const W: u32 = 320;
const H: u32 = 240;

fn jpeg(rgb: &[u8], w: u32, h: u32, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
        .encode(rgb, w, h, image::ExtendedColorType::Rgb8)
        .expect("encode");
    out
}

fn resize(rgb: &[u8], w: u32, h: u32, nw: u32, nh: u32) -> Vec<u8> {
    let img = image::RgbImage::from_raw(w, h, rgb.to_vec()).expect("buffer");
    image::imageops::resize(&img, nw, nh, image::imageops::FilterType::Triangle).into_raw()
}

fn crop(rgb: &[u8], w: u32, h: u32, share: f64) -> (Vec<u8>, u32, u32) {
    let (dx, dy) = ((f64::from(w) * share / 2.0) as u32, (f64::from(h) * share / 2.0) as u32);
    let img = image::RgbImage::from_raw(w, h, rgb.to_vec()).expect("buffer");
    let c = image::imageops::crop_imm(&img, dx, dy, w - 2 * dx, h - 2 * dy).to_image();
    let (cw, ch) = c.dimensions();
    (c.into_raw(), cw, ch)
}

fn mix(mut x: u32) -> u32 {
    x ^= x >> 16;
    x = x.wrapping_mul(0x7feb_352d);
    x ^= x >> 15;
    x = x.wrapping_mul(0x846c_a68b);
    x ^ (x >> 16)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let out = PathBuf::from(
        args.get(1).ok_or("usage: make_review_tree OUT_DIR [--pictures N] [--seed S]")?,
    );
    let flag = |name: &str, default: u32| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let pictures = flag("--pictures", 10_000) as usize;
    let seed = flag("--seed", 1);
    if fs::read_dir(&out).is_ok_and(|mut d| d.next().is_some()) {
        return Err(format!("{} is not empty", out.display()).into());
    }
    for d in ["known", "evidence/planted", "evidence/DCIM", "evidence/Documents"] {
        fs::create_dir_all(out.join(d))?;
    }
    let known = (pictures / 20).max(4);
    let known_pixels =
        |k: usize| synth::photo_like(W, H, mix(seed.wrapping_mul(7919) ^ (k as u32 + 1)) | 1);
    (0..known).into_par_iter().try_for_each(|k| {
        fs::write(
            out.join(format!("known/known-{k:05}.png")),
            synth::png_rgb8(W, H, &known_pixels(k)),
        )
    })?;

    // (relative path, bytes, truth) per evidence picture.
    type Made = (String, Vec<u8>, String);
    let planted: Vec<Made> = (0..known / 2)
        .into_par_iter()
        .map(|k| {
            let px = known_pixels(k);
            let (name, bytes) = match k % 4 {
                0 => ("exact", synth::png_rgb8(W, H, &px)),
                1 => ("reencode", jpeg(&px, W, H, 70)),
                2 => ("half", jpeg(&resize(&px, W, H, W / 2, H / 2), W / 2, H / 2, 85)),
                _ => {
                    let (c, cw, ch) = crop(&px, W, H, 0.08);
                    ("crop", jpeg(&c, cw, ch, 85))
                }
            };
            (
                format!("planted/IMG_{k:05}.{}", if name == "exact" { "png" } else { "jpg" }),
                bytes,
                format!("known-{k}-{name}"),
            )
        })
        .collect();
    let unknown_target = pictures - planted.len();
    // Originals and their near duplicates, until the target count.
    let mut plan: Vec<(usize, u32)> = Vec::new(); // (original, copy number: 0 = original)
    let mut u = 0usize;
    while plan.len() < unknown_target {
        plan.push((u, 0));
        let r = mix(seed ^ (u as u32).wrapping_mul(0x9e37_79b9));
        if r % 10 < 4 {
            for c in 1..=(1 + r / 10 % 3) {
                plan.push((u, c));
            }
        }
        u += 1;
    }
    plan.truncate(unknown_target);
    let unknown: Vec<Made> = plan
        .par_iter()
        .enumerate()
        .map(|(i, &(u, c))| {
            let px =
                synth::photo_like(W, H, mix(seed.wrapping_add(0x5bd1_e995) ^ (u as u32 + 1)) | 1);
            let r = mix((u as u32) << 8 | c);
            let bytes = if c == 0 {
                jpeg(&px, W, H, 90)
            } else if r.is_multiple_of(2) {
                jpeg(&px, W, H, 60 + (r / 2 % 31) as u8)
            } else {
                let f = 0.6 + f64::from(r / 2 % 31) / 100.0;
                let (nw, nh) = ((f64::from(W) * f) as u32, (f64::from(H) * f) as u32);
                jpeg(&resize(&px, W, H, nw, nh), nw, nh, 85)
            };
            (format!("DCIM/{:03}/IMG_{i:06}.jpg", i / 1000), bytes, format!("unknown-{u}"))
        })
        .collect();

    let mut truth = fs::File::create(out.join("truth.tsv"))?;
    for (rel, bytes, what) in planted.iter().chain(&unknown) {
        let path = out.join("evidence").join(rel);
        fs::create_dir_all(path.parent().expect("parent"))?;
        fs::write(&path, bytes)?;
        writeln!(truth, "{}\t{what}", path.display())?;
    }
    for d in 0..pictures / 10 {
        let text = format!("note {d}: meeting at {}:00\n", d % 24).repeat(1 + d % 50);
        fs::write(out.join(format!("evidence/Documents/note-{d:05}.txt")), text)?;
    }
    let originals = u;
    println!(
        "{}: {known} known pictures; evidence: {} planted copies, {} unknown pictures from {originals} originals, {} documents",
        out.display(),
        planted.len(),
        unknown.len(),
        pictures / 10
    );
    Ok(())
}
