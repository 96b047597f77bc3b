//! Generates a deterministic mixed evidence tree for measuring `mh scan` (issue #5,
//! "Measure"): the same arguments give a byte-identical tree on every machine.
//!
//! ```text
//! cargo run --release --example make_scan_tree -- OUT_DIR [--files N] [--seed S]
//! ```
//!
//! By default 10,000 files laid out like a phone/PC dump (`DCIM/100APPLE`, `DCIM/Camera`,
//! `WhatsApp/Media`, `Pictures/Screenshots`, `Documents/...`, `Downloads`, deep
//! `AppData/Local/...` and `Library/Application Support/...` caches):
//!
//! * 10% photo-like 4000x3000 (12 MP) JPEGs, quality 85-92, 4:2:0 (2-2.7 MB each);
//! * 10% at 1280x960: 60% photo-like JPEGs (quality 75-90, ~140 KB), 40% PNG screenshots
//!   (~1 MB);
//! * 80% documents: prose, logs, CSV, JSON, and random-byte stand-ins for PDF, Office/ZIP,
//!   SQLite and binary files; sizes log-uniform from 200 B to 4 MiB (mean ~420 KB), every
//!   200th empty.
//!
//! The default tree is about 6 GB.
//!
//! Pictures are `synth::photo_like` (gradients, shapes, noise) through the test-only
//! libjpeg encoder (`tests/decode/jpeg_encode.rs`; the `image` crate is built without its
//! JPEG codec). Files are generated in parallel (rayon; `RAYON_NUM_THREADS` to limit), each
//! from its own seed. OUT_DIR must be absent or empty.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use clap::Parser;
use rayon::prelude::*;

#[path = "../tests/decode/jpeg_encode.rs"]
mod jpeg_encode;
#[path = "../tests/common/rng.rs"]
mod rng;
#[path = "../tests/common/synth.rs"]
mod synth;

use synth::Rng;

#[derive(Parser)]
struct Args {
    /// Directory to create (must be absent or empty).
    out_dir: PathBuf,
    /// Number of files.
    #[arg(long, default_value_t = 10_000)]
    files: usize,
    /// Seed: another seed gives another tree of the same shape.
    #[arg(long, default_value_t = 1)]
    seed: u32,
}

#[derive(Clone, Copy)]
enum Kind {
    Photo12Mp,
    Small,
    Document,
}

struct Planned {
    kind: Kind,
    /// Index within its kind (makes names unique).
    k: usize,
    seed: u32,
}

/// murmur3's 32-bit finaliser: a bijection, so distinct inputs give distinct file seeds.
fn mix(mut h: u32) -> u32 {
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^ (h >> 16)
}

fn pick<'a>(rng: &mut Rng, items: &[&'a str]) -> &'a str {
    items[rng.next() as usize % items.len()]
}

fn range(rng: &mut Rng, lo: u32, hi_inclusive: u32) -> u32 {
    lo + rng.next() % (hi_inclusive - lo + 1)
}

fn jpeg(pixels: &[u8], width: u32, height: u32, quality: u32) -> Vec<u8> {
    let spec = jpeg_encode::JpegSpec::new(jpeg_encode::JpegColor::YCbCr, quality as i32);
    jpeg_encode::encode(pixels, width, height, &spec)
}

fn photo_12mp(p: &Planned) -> (String, Vec<u8>) {
    let mut rng = Rng(p.seed);
    let quality = range(&mut rng, 85, 92);
    let (month, day) = (1 + p.k % 12, 1 + (p.k / 12) % 28);
    let rel = if p.k % 3 == 2 {
        format!("DCIM/Camera/IMG_2023{month:02}{day:02}_{:06}.jpg", p.k)
    } else {
        format!("DCIM/{}APPLE/IMG_{:04}.JPG", 100 + p.k / 400, p.k % 10_000)
    };
    let (w, h) = (4000, 3000);
    (rel, jpeg(&synth::photo_like(w, h, rng.next()), w, h, quality))
}

/// A phone screenshot: glyph rows on a light page, a status bar and a few flat panels.
fn screenshot(width: u32, height: u32, rng: &mut Rng) -> Vec<u8> {
    let mut pixels = synth::text(width, height, rng.next() | 1).pixels;
    let mut fill = |x0: u32, y0: u32, w: u32, h: u32, colour: [u8; 3]| {
        for y in y0..(y0 + h).min(height) {
            for x in x0..(x0 + w).min(width) {
                let at = ((y * width + x) * 3) as usize;
                pixels[at..at + 3].copy_from_slice(&colour);
            }
        }
    };
    let bar = [(rng.next() % 200) as u8, (rng.next() % 200) as u8, (rng.next() % 256) as u8];
    fill(0, 0, width, height / 16, bar);
    for _ in 0..range(rng, 1, 4) {
        let (x, y) = (rng.next() % width, height / 16 + rng.next() % height);
        let (w, h) =
            (width / 8 + rng.next() % (width / 2), height / 16 + rng.next() % (height / 4));
        fill(x, y, w, h, [0, 0, 0].map(|_: u8| (rng.next() >> 24) as u8));
    }
    pixels
}

fn small_picture(p: &Planned) -> (String, Vec<u8>) {
    let mut rng = Rng(p.seed);
    let (w, h) = (1280, 960);
    let (month, day) = (1 + p.k % 12, 1 + (p.k / 12) % 28);
    if rng.next() % 10 < 6 {
        let quality = range(&mut rng, 75, 90);
        let rel = if p.k.is_multiple_of(2) {
            format!("WhatsApp/Media/WhatsApp Images/IMG-2023{month:02}{day:02}-WA{:04}.jpg", p.k)
        } else {
            format!("Pictures/Saved/received_{:08x}.jpeg", mix(p.k as u32))
        };
        (rel, jpeg(&synth::photo_like(w, h, rng.next()), w, h, quality))
    } else {
        let rel = if p.k.is_multiple_of(2) {
            format!("Pictures/Screenshots/Screenshot_2023-{month:02}-{day:02}-{:05}.png", p.k)
        } else {
            format!("DCIM/Screenshots/Screenshot_2023{month:02}{day:02}_{:06}.png", p.k)
        };
        (rel, synth::png_rgb8(w, h, &screenshot(w, h, &mut rng)))
    }
}

/// 2^(j/16) in 1/65536 units: log-uniform sizes in integers, without a platform `exp`.
const SIXTEENTH_OCTAVES: [u64; 17] = [
    65536, 68438, 71468, 74632, 77936, 81386, 84990, 88752, 92682, 96785, 101070, 105545, 110218,
    115098, 120194, 125515, 131072,
];

/// Log-uniform in [lo, hi] to a sixteenth of an octave, uniform within that step.
fn log_uniform(rng: &mut Rng, lo: u64, hi: u64) -> u64 {
    let step = |t: u64| ((lo << (t / 16)) * SIXTEENTH_OCTAVES[(t % 16) as usize]) >> 16;
    let steps = (0..).find(|&t| step(t + 1) > hi).expect("hi above lo");
    let t = u64::from(rng.next()) % steps.max(1);
    step(t) + u64::from(rng.next()) % (step(t + 1) - step(t)).max(1)
}

const WORDS: &[&str] = &[
    "the", "of", "and", "to", "in", "report", "meeting", "invoice", "payment", "project",
    "schedule", "client", "review", "draft", "final", "budget", "quarter", "team", "please",
    "attached", "update", "order", "delivery", "account", "contract", "summary", "notes", "we",
    "will", "is", "for", "on", "with", "as", "by", "this", "that", "from", "at", "be", "data",
    "system", "version", "release", "customer", "support", "request", "number", "total", "amount",
    "date", "thanks", "regards", "office", "travel", "receipt", "school",
];

/// Appends generated records until `size` bytes, then cuts to exactly `size`.
fn fill(size: usize, rng: &mut Rng, mut record: impl FnMut(&mut Rng, &mut String)) -> Vec<u8> {
    let mut text = String::with_capacity(size + 256);
    while text.len() < size {
        record(rng, &mut text);
    }
    let mut bytes = text.into_bytes();
    bytes.truncate(size);
    bytes
}

fn prose(rng: &mut Rng, out: &mut String) {
    for s in 0..range(rng, 2, 7) {
        for w in 0..range(rng, 4, 16) {
            let word = pick(rng, WORDS);
            if w == 0 {
                out.push_str(&word[..1].to_uppercase());
                out.push_str(&word[1..]);
            } else {
                out.push(' ');
                out.push_str(word);
            }
        }
        out.push_str(if s % 3 == 2 { "?" } else { "." });
        out.push(' ');
    }
    out.push_str("\n\n");
}

fn log_line(rng: &mut Rng, out: &mut String) {
    let (h, m, s, ms) = (rng.next() % 24, rng.next() % 60, rng.next() % 60, rng.next() % 1000);
    let level = pick(rng, &["INFO ", "INFO ", "DEBUG", "WARN ", "ERROR"]);
    let module = pick(rng, &["net", "sync", "db", "ui", "auth", "cache"]);
    out.push_str(&format!(
        "2023-06-{:02} {h:02}:{m:02}:{s:02}.{ms:03} {level} [{module}]",
        1 + rng.next() % 28
    ));
    for _ in 0..range(rng, 3, 10) {
        out.push(' ');
        out.push_str(pick(rng, WORDS));
    }
    out.push_str(&format!(" id={}\n", rng.next() % 100_000));
}

fn csv_row(rng: &mut Rng, out: &mut String) {
    if out.is_empty() {
        out.push_str("date,reference,description,quantity,unit_price,total\n");
    }
    let (qty, cents) = (1 + rng.next() % 50, rng.next() % 100_000);
    let total = qty * cents;
    out.push_str(&format!(
        "2023-{:02}-{:02},INV-{:06},{} {},{qty},{}.{:02},{}.{:02}\n",
        1 + rng.next() % 12,
        1 + rng.next() % 28,
        rng.next() % 1_000_000,
        pick(rng, WORDS),
        pick(rng, WORDS),
        cents / 100,
        cents % 100,
        total / 100,
        total % 100,
    ));
}

fn json_record(rng: &mut Rng, out: &mut String) {
    out.push_str(if out.is_empty() { "[\n  " } else { ",\n  " });
    out.push_str(&format!(
        "{{\"id\": {}, \"name\": \"{} {}\", \"value\": {}.{:02}, \"active\": {}, \"tags\": [\"{}\", \"{}\"]}}",
        rng.next() % 10_000_000,
        pick(rng, WORDS),
        pick(rng, WORDS),
        rng.next() % 10_000,
        rng.next() % 100,
        rng.next() & 1 == 0,
        pick(rng, WORDS),
        pick(rng, WORDS),
    ));
}

/// `magic`, then random bytes: a stand-in for a compressed or binary format.
fn random_bytes(size: usize, rng: &mut Rng, magic: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(size + 4);
    bytes.extend_from_slice(magic);
    while bytes.len() < size {
        bytes.extend_from_slice(&rng.next().to_le_bytes());
    }
    bytes.truncate(size);
    bytes
}

fn document(p: &Planned) -> (String, Vec<u8>) {
    let mut rng = Rng(p.seed);
    let size = if p.k % 200 == 199 { 0 } else { log_uniform(&mut rng, 200, 4 << 20) as usize };
    let (ext, bytes) = match rng.next() % 20 {
        0..=2 => (pick(&mut rng, &["txt", "md", "rtf"]), fill(size, &mut rng, prose)),
        3..=4 => ("log", fill(size, &mut rng, log_line)),
        5..=6 => ("csv", fill(size, &mut rng, csv_row)),
        7..=8 => ("json", fill(size, &mut rng, json_record)),
        9..=12 => ("pdf", random_bytes(size, &mut rng, b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")),
        13..=15 => {
            let ext = pick(&mut rng, &["docx", "xlsx", "pptx", "zip"]);
            (ext, random_bytes(size, &mut rng, b"PK\x03\x04\x14\x00\x06\x00"))
        }
        16 => ("db", random_bytes(size, &mut rng, b"SQLite format 3\x00")),
        _ => (pick(&mut rng, &["bin", "dat", "tmp", ""]), random_bytes(size, &mut rng, b"")),
    };
    let year = 2015 + rng.next() % 10;
    let stem = pick(
        &mut rng,
        &["report", "invoice", "notes", "scan", "backup", "export", "statement", "letter"],
    );
    let vendor = pick(&mut rng, &["Google/Chrome", "Microsoft/Edge", "Mozilla/Firefox", "Slack"]);
    let app = pick(&mut rng, &["Teams", "OneDrive", "Adobe/Acrobat", "Zoom", "Spotify"]);
    let (a, b) = (rng.next() % 256, rng.next() % 256);
    let dir = match rng.next() % 10 {
        0 => format!("Documents/Work/Projects/P{:03}", rng.next() % 40),
        1 => format!("Documents/Personal/{year}"),
        2 => format!("Documents/Taxes/{year}/receipts"),
        3 | 4 => "Downloads".to_string(),
        5 => "Desktop/old stuff/to sort".to_string(),
        6 => format!("AppData/Local/{vendor}/User Data/Default/Cache/Cache_Data/{a:02x}"),
        7 => format!("AppData/Roaming/{app}/logs/{year}"),
        8 => format!("Library/Application Support/{app}/Cache/{a:02x}/{b:02x}"),
        _ => format!("Users/Public/Backup/{year}/{:02}/{:02}", 1 + a % 12, 1 + b % 28),
    };
    let name = match ext {
        "" => format!("f_{:06x}", p.k),
        _ => format!("{stem}_{:05}.{ext}", p.k),
    };
    (format!("{dir}/{name}"), bytes)
}

fn write(root: &Path, rel: &str, bytes: &[u8]) -> std::io::Result<()> {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().expect("relative path has a parent"))?;
    fs::write(&path, bytes)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    if fs::read_dir(&args.out_dir).is_ok_and(|mut d| d.next().is_some()) {
        return Err(format!("{} is not empty", args.out_dir.display()).into());
    }
    fs::create_dir_all(&args.out_dir)?;

    let pictures = args.files / 10;
    let plan: Vec<Planned> = (0..args.files)
        .map(|i| {
            let (kind, k) = match i {
                _ if i < pictures => (Kind::Photo12Mp, i),
                _ if i < 2 * pictures => (Kind::Small, i - pictures),
                _ => (Kind::Document, i - 2 * pictures),
            };
            let seed = mix(args.seed.wrapping_mul(0x9e37_79b9).wrapping_add(i as u32)).max(1);
            Planned { kind, k, seed }
        })
        .collect();

    let start = Instant::now();
    let (done, bytes) = (AtomicUsize::new(0), AtomicU64::new(0));
    plan.par_iter().try_for_each(|p| -> std::io::Result<()> {
        let (rel, content) = match p.kind {
            Kind::Photo12Mp => photo_12mp(p),
            Kind::Small => small_picture(p),
            Kind::Document => document(p),
        };
        write(&args.out_dir, &rel, &content)?;
        bytes.fetch_add(content.len() as u64, Ordering::Relaxed);
        let n = done.fetch_add(1, Ordering::Relaxed) + 1;
        if n % 1000 == 0 {
            eprintln!("{n}/{} files, {:.0} s", args.files, start.elapsed().as_secs_f64());
        }
        Ok(())
    })?;

    let bytes = bytes.into_inner();
    println!(
        "{} files, {bytes} bytes ({:.2} GB): {pictures} 4000x3000 JPEGs, {pictures} 1280x960 \
         JPEG/PNG, {} documents; written to {} in {:.1} s",
        args.files,
        bytes as f64 / 1e9,
        args.files - 2 * pictures,
        args.out_dir.display(),
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
