//! Prompt cancellation and the decode memory budget (issue 11, items 4 and 5).
//!
//! * A decode or hash of a maximum-size image stops within a bound of the cancel flag.
//! * N threads decoding big images never hold more than the budget; a picture over the whole
//!   budget is refused at once with the option to raise it named.
//! * `mh scan` stops within about a second of SIGTERM or SIGINT (also when sent twice) and
//!   leaves a well-formed report with its footer marked incomplete, in every format.
//!
//! The pictures are 16000 x 16000 RGB PNGs of zeros (768 MB of pixels from a few MB of
//! file), the decompression bomb of the issue. The heavy or timed tests run one at a time.

#[path = "decode/jpeg_encode.rs"]
mod jpeg_encode;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use mediahash::analyze::{AnalyzeOptions, ImageError, analyze_bytes};
use mediahash::decode::{
    DecodeControl, DecodeError, DecodeOptions, ImageFormat, MemoryBudget, decode_rgb8_with,
};

/// Side of the bomb pictures: 256 Mpx is the default pixel limit, 16000^2 is just under it.
const BOMB_SIDE: u32 = 16_000;

/// One heavy decode at a time in this test binary (each touches up to 1 GB).
fn heavy() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// Writes bits least significant first, as deflate packs them.
struct BitWriter {
    out: Vec<u8>,
    acc: u64,
    bits: u32,
}

impl BitWriter {
    fn put(&mut self, value: u64, count: u32) {
        self.acc |= value << self.bits;
        self.bits += count;
        while self.bits >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.bits -= 8;
        }
    }

    /// A Huffman code, which deflate stores most significant bit first.
    fn code(&mut self, code: u32, len: u32) {
        self.put(u64::from(code.reverse_bits() >> (32 - len)), len);
    }
}

/// A zlib stream of `len` zero bytes: one fixed-Huffman block of a literal 0 followed by
/// (length 258, distance 1) copies, about 160:1.
fn zlib_zeros(len: usize) -> Vec<u8> {
    let mut w = BitWriter { out: vec![0x78, 0x01], acc: 0, bits: 0 };
    w.put(1, 1); // BFINAL
    w.put(1, 2); // BTYPE = fixed Huffman
    let literal_zero = |w: &mut BitWriter| w.code(0x30, 8);
    literal_zero(&mut w);
    let rest = len - 1;
    for _ in 0..rest / 258 {
        w.code(0xC5, 8); // length symbol 285 = 258
        w.code(0, 5); // distance symbol 0 = 1
    }
    for _ in 0..rest % 258 {
        literal_zero(&mut w);
    }
    w.code(0, 7); // end of block
    w.put(0, 7); // pad to a byte
    let mut out = w.out;
    // Adler-32 of zeros: a = 1, b = len (mod 65521).
    let adler = ((len % 65_521) as u32) << 16 | 1;
    out.extend_from_slice(&adler.to_be_bytes());
    out
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc = crc32fast::Hasher::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(&crc.finalize().to_be_bytes());
}

/// A valid `side` x `side` 8-bit RGB PNG, every pixel black.
fn bomb_png(side: u32) -> Vec<u8> {
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&side.to_be_bytes());
    ihdr.extend_from_slice(&side.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let raw = side as usize * (1 + 3 * side as usize);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png_chunk(&mut png, b"IHDR", &ihdr);
    png_chunk(&mut png, b"IDAT", &zlib_zeros(raw));
    png_chunk(&mut png, b"IEND", &[]);
    png
}

#[test]
fn the_bomb_fixture_is_a_valid_png() {
    let small = bomb_png(300);
    let image = mediahash::decode::decode_rgb8(&small, &DecodeOptions::default()).unwrap();
    assert_eq!((image.width, image.height, image.format), (300, 300, ImageFormat::Png));
    assert!(image.pixels.iter().all(|&p| p == 0));
}

/// Sets `cancel` as soon as the decode has reserved its memory (it then has all of its
/// pixel work ahead of it), and returns when that happened.
fn cancel_when_reserved(
    budget: &MemoryBudget,
    cancel: &AtomicBool,
    delay: Duration,
) -> Option<Instant> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while budget.in_use() == 0 {
        if Instant::now() > deadline {
            return None;
        }
        std::thread::yield_now();
    }
    std::thread::sleep(delay);
    cancel.store(true, Ordering::SeqCst);
    Some(Instant::now())
}

#[test]
fn cancelling_a_max_size_png_decode_returns_within_a_bound() {
    let _heavy = heavy();
    let bytes = bomb_png(BOMB_SIDE);
    let budget = MemoryBudget::new(4 << 30);
    let cancel = AtomicBool::new(false);
    let control =
        DecodeControl { budget: Some(&budget), cancel: Some(&cancel), extra_bytes_per_pixel: 0 };
    let (result, latency) = std::thread::scope(|s| {
        let canceller = s.spawn(|| cancel_when_reserved(&budget, &cancel, Duration::ZERO));
        let result = decode_rgb8_with(&bytes, &DecodeOptions::default(), &control).map(|_| ());
        let asked = canceller.join().unwrap().expect("the decode never reserved memory");
        (result, asked.elapsed())
    });
    eprintln!("png decode stopped {latency:?} after the flag was set");
    assert_eq!(result, Err(DecodeError::Cancelled));
    assert!(latency < Duration::from_millis(300), "stopped {latency:?} after the flag was set");
    assert_eq!(budget.in_use(), 0, "the reservation must be given back");
    assert_eq!(budget.high_water(), u64::from(BOMB_SIDE).pow(2) * 3);
}

#[test]
fn cancelling_a_large_jpeg_decode_stops_inside_libjpeg() {
    let _heavy = heavy();
    // A progressive JPEG: libjpeg first reads every scan into its coefficient buffer, then
    // produces rows; the flag is checked in both phases (the progress monitor).
    let (w, h) = (6000, 6000);
    let grey: Vec<u8> = (0..w * h).map(|i| ((i % w) ^ (i / w)) as u8).collect();
    let spec = jpeg_encode::JpegSpec {
        progressive: true,
        ..jpeg_encode::JpegSpec::new(jpeg_encode::JpegColor::Grey, 90)
    };
    let bytes = jpeg_encode::encode(&grey, w as u32, h as u32, &spec);
    drop(grey);
    let budget = MemoryBudget::new(4 << 30);
    let started = Instant::now();
    let full = mediahash::decode::decode_rgb8(&bytes, &DecodeOptions::default()).unwrap();
    let full_decode = started.elapsed();
    assert_eq!((full.width, full.height), (6000, 6000));
    drop(full);
    let cancel = AtomicBool::new(false);
    let control =
        DecodeControl { budget: Some(&budget), cancel: Some(&cancel), extra_bytes_per_pixel: 0 };
    // Halfway through: inside libjpeg, past every check on the Rust side.
    let delay = full_decode / 2;
    let (result, latency) = std::thread::scope(|s| {
        let canceller = s.spawn(|| cancel_when_reserved(&budget, &cancel, delay));
        let result = decode_rgb8_with(&bytes, &DecodeOptions::default(), &control).map(|_| ());
        let asked = canceller.join().unwrap().expect("the decode never reserved memory");
        (result, asked.elapsed())
    });
    eprintln!("jpeg decode ({full_decode:?} in full) stopped {latency:?} after the flag was set");
    assert_eq!(result, Err(DecodeError::Cancelled));
    assert!(latency < Duration::from_millis(300), "stopped {latency:?} after the flag was set");
    // The reservation counted the coefficient buffer (6000^2 samples, 2 bytes each) besides
    // the 108 MB of output.
    assert!(budget.high_water() >= 6000 * 6000 * 5, "{}", budget.high_water());
}

#[test]
fn cancelling_the_analysis_of_a_max_size_image_stops_decode_or_hashes() {
    let _heavy = heavy();
    let bytes = bomb_png(BOMB_SIDE);
    let budget = MemoryBudget::new(4 << 30);
    let cancel = Arc::new(AtomicBool::new(false));
    let options = AnalyzeOptions {
        decode_memory_budget: budget.clone(),
        cancel: Some(cancel.clone()),
        dihedral: true,
        ..AnalyzeOptions::default()
    };
    // Decoding this takes about as long as each hash; cancel at several points so the flag
    // lands in the decode on one run and in the hashes on another.
    for delay_ms in [0, 700, 1500] {
        cancel.store(false, Ordering::SeqCst);
        let (analysis, latency) = std::thread::scope(|s| {
            let canceller =
                s.spawn(|| cancel_when_reserved(&budget, &cancel, Duration::from_millis(delay_ms)));
            let analysis = analyze_bytes(&bytes, &options);
            let asked = canceller.join().unwrap().expect("the decode never reserved memory");
            (analysis, asked.elapsed())
        });
        eprintln!("analysis cancelled {delay_ms} ms into it stopped {latency:?} later");
        assert!(analysis.cancelled(), "delay {delay_ms} ms: {:?}", analysis.image_error);
        assert_eq!(analysis.image_error, Some(ImageError::Cancelled));
        assert!(
            analysis.pdq.is_none() && analysis.imagehashes.is_none() && analysis.image.is_none()
        );
        // The digests are of the whole buffer either way.
        assert_eq!(analysis.size, bytes.len() as u64);
        assert!(latency < Duration::from_millis(300), "delay {delay_ms} ms: {latency:?}");
        assert_eq!(budget.in_use(), 0);
    }
}

#[test]
fn concurrent_decodes_never_hold_more_than_the_budget() {
    let _heavy = heavy();
    // 8 threads, 24 images of 1500x1500 (6.75 MB of pixels + 2.25 MB for the greyscale
    // copy hashing may need = 9 MB each) under a 20 MB budget: at most two at a time.
    let png = bomb_png(1500);
    let per_image = 1500 * 1500 * 4;
    let budget = MemoryBudget::new(20_000_000);
    let options = AnalyzeOptions { decode_memory_budget: budget.clone(), ..Default::default() };
    let next = std::sync::atomic::AtomicUsize::new(0);
    let hashed = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                while next.fetch_add(1, Ordering::SeqCst) < 24 {
                    let analysis = analyze_bytes(&png, &options);
                    assert!(analysis.image_error.is_none(), "{:?}", analysis.image_error);
                    assert!(analysis.pdq.is_some());
                    hashed.fetch_add(1, Ordering::SeqCst);
                }
            });
        }
    });
    assert_eq!(hashed.load(Ordering::SeqCst), 24);
    assert!(budget.high_water() <= 20_000_000, "{}", budget.high_water());
    assert!(budget.high_water() >= per_image, "{}", budget.high_water());
    assert_eq!(budget.in_use(), 0);
}

#[test]
fn a_picture_over_the_whole_budget_is_refused_at_once_naming_the_option() {
    let png = bomb_png(1500);
    let budget = MemoryBudget::new(5_000_000);
    let options = AnalyzeOptions { decode_memory_budget: budget.clone(), ..Default::default() };
    let started = Instant::now();
    let analysis = analyze_bytes(&png, &options);
    assert!(started.elapsed() < Duration::from_secs(2));
    let needed = 1500 * 1500 * 4;
    assert_eq!(
        analysis.image_error,
        Some(ImageError::Decode(DecodeError::MemoryBudget {
            format: ImageFormat::Png,
            needed,
            budget: 5_000_000
        }))
    );
    let message = analysis.image_error.unwrap().to_string();
    assert!(message.contains("--decode-memory"), "{message}");
    assert!(message.contains(&needed.to_string()) && message.contains("5000000"), "{message}");
    assert_eq!(budget.high_water(), 0, "nothing may be reserved for a refused picture");
}

// ---- mh scan end to end ----

fn mh_path() -> PathBuf {
    // Cargo builds the `mh` binary for integration tests and names it here.
    PathBuf::from(env!("CARGO_BIN_EXE_mh"))
}

/// Evidence: four bomb pictures, each taking seconds to decode and hash.
fn bomb_tree(dir: &Path) -> PathBuf {
    let evidence = dir.join("evidence");
    std::fs::create_dir(&evidence).unwrap();
    let png = bomb_png(BOMB_SIDE);
    for name in ["a.png", "b.png", "c.png", "d.png"] {
        std::fs::write(evidence.join(name), &png).unwrap();
    }
    evidence
}

/// A minimal well-formedness check: tags balance, one root element, nothing after it.
fn assert_well_formed_xml(text: &str) {
    let mut stack: Vec<&str> = Vec::new();
    let mut roots = 0;
    let mut rest = text;
    while let Some(open) = rest.find('<') {
        assert!(
            !(stack.is_empty() && roots > 0),
            "content after the root element: {}",
            &rest[..rest.len().min(80)]
        );
        rest = &rest[open..];
        let (end, skip) = if rest.starts_with("<?") {
            (rest.find("?>").expect("unterminated <?"), 2)
        } else if rest.starts_with("<!--") {
            (rest.find("-->").expect("unterminated comment"), 3)
        } else {
            (rest.find('>').expect("unterminated tag"), 1)
        };
        let tag = &rest[1..end];
        if !rest.starts_with("<?") && !rest.starts_with("<!") {
            let name = tag.trim_start_matches('/').split([' ', '\n', '/']).next().unwrap();
            if let Some(closing) = tag.strip_prefix('/') {
                assert_eq!(stack.pop(), Some(closing.trim()), "mismatched </{closing}>");
                if stack.is_empty() {
                    roots += 1;
                }
            } else if !tag.ends_with('/') {
                stack.push(name);
            } else if stack.is_empty() {
                roots += 1;
            }
        }
        rest = &rest[end + skip..];
    }
    assert!(stack.is_empty(), "unclosed elements: {stack:?}");
    assert_eq!(roots, 1);
    assert!(rest.trim().is_empty(), "text after the root: {rest}");
}

/// Parses the report of `format` and returns the footer's `completed`.
fn footer_completed(format: &str, report: &Path) -> bool {
    let text = std::fs::read_to_string(report).unwrap();
    match format {
        "jsonl" => {
            let lines: Vec<serde_json::Value> =
                text.lines().map(|l| serde_json::from_str(l).expect(l)).collect();
            assert_eq!(lines[0]["record"], "header");
            let footer = lines.last().unwrap();
            assert_eq!(footer["record"], "footer", "{text}");
            assert!(footer["stopped_reason"].is_string());
            footer["completed"].as_bool().unwrap()
        }
        "csv" => {
            let mut reader = csv::Reader::from_path(report).unwrap();
            let columns = reader.headers().unwrap().len();
            for row in reader.records() {
                assert_eq!(row.unwrap().len(), columns);
            }
            let mut side = report.as_os_str().to_owned();
            side.push(".provenance.jsonl");
            footer_completed("jsonl", Path::new(&side))
        }
        "dfxml" => {
            assert_well_formed_xml(&text);
            let start = text.find("<mh:scan_end ").expect("no scan_end element");
            let attrs = &text[start..];
            if attrs.contains(r#"completed="false""#) {
                false
            } else {
                assert!(attrs.contains(r#"completed="true""#), "{attrs}");
                true
            }
        }
        "case" => {
            let doc: serde_json::Value = serde_json::from_str(&text).expect("CASE JSON-LD");
            let flat = doc.to_string();
            if flat.contains("completed: false") {
                false
            } else {
                assert!(flat.contains("completed: true"), "{flat}");
                true
            }
        }
        other => panic!("unknown format {other}"),
    }
}

#[test]
fn mh_scan_stops_within_seconds_on_sigterm_or_sigint_with_a_complete_footer() {
    let _heavy = heavy();
    let exe = mh_path();
    let dir = tempfile::tempdir().unwrap();
    let evidence = bomb_tree(dir.path());
    let runs: [(&str, &[libc::c_int]); 5] = [
        ("jsonl", &[libc::SIGTERM]),
        ("csv", &[libc::SIGINT]),
        ("dfxml", &[libc::SIGTERM, libc::SIGTERM]),
        ("case", &[libc::SIGINT, libc::SIGINT, libc::SIGINT]),
        ("jsonl", &[libc::SIGINT, libc::SIGTERM]),
    ];
    for (i, (format, signals)) in runs.iter().enumerate() {
        let report = dir.path().join(format!("report-{i}.{format}"));
        let mut child = Command::new(&exe)
            .args(["scan", "--no-progress", "--threads", "2", "--format", format, "--report"])
            .arg(&report)
            .arg(&evidence)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Two decodes are well under way after this (each picture takes seconds).
        std::thread::sleep(Duration::from_millis(1200));
        let pid = child.id() as libc::pid_t;
        let asked = Instant::now();
        for &signal in *signals {
            // SAFETY: kill has no memory-safety preconditions; pid is our live child.
            assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
            std::thread::sleep(Duration::from_millis(30));
        }
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if asked.elapsed() > Duration::from_secs(20) {
                let _ = child.kill();
                panic!("{format} {signals:?}: mh scan still running 20 s after the signal");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let took = asked.elapsed();
        eprintln!("mh scan --format {format} {signals:?}: exited {took:?} after the signal");
        let stderr = std::io::read_to_string(child.stderr.take().unwrap()).unwrap();
        assert_eq!(status.code(), Some(2), "{format} {signals:?}: {stderr}");
        assert!(stderr.contains("INTERRUPTED"), "{stderr}");
        assert!(
            took < Duration::from_secs(2),
            "{format} {signals:?}: exit took {took:?} after the signal"
        );
        assert!(!footer_completed(format, &report), "{format}: footer must say incomplete");
    }
}
