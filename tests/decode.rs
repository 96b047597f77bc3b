//! Tests of the decode module: pixel identity with Pillow, conversion policy, hostile input.

mod common;
#[path = "decode/fixtures.rs"]
mod fixtures;
#[path = "decode/jpeg_encode.rs"]
mod jpeg_encode;

use mediahash::decode::{DecodeError, DecodeOptions, ImageFormat, JpegScale, decode_rgb8};
use std::path::Path;

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// The 12 lossless Pillow decodes in pdq/decoded/ must equal our JPEG decode exactly.
#[test]
fn jpeg_matches_pillow_decoded_pngs() {
    let Some(dir) = common::testdata_dir() else { return };
    let pdq = dir.join("pdq");
    let decoded = pdq.join("decoded");
    let mut names: Vec<_> = std::fs::read_dir(&decoded)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".jpg.rgb.png"))
        .collect();
    names.sort();
    assert_eq!(names.len(), 12, "expected 12 reference decodes in {}", decoded.display());
    for name in names {
        let jpg_name = name.trim_end_matches(".rgb.png");
        let jpg = find_file(&pdq, jpg_name).unwrap_or_else(|| panic!("{jpg_name} not found"));
        let reference = image::load_from_memory(&read(&decoded.join(&name))).unwrap().to_rgb8();
        let ours = decode_rgb8(&read(&jpg), &DecodeOptions::default()).unwrap();
        assert_eq!(ours.format, ImageFormat::Jpeg);
        assert_eq!((ours.width, ours.height), reference.dimensions(), "{jpg_name}");
        let diff = ours.pixels.iter().zip(reference.as_raw()).filter(|(a, b)| a != b).count();
        let max = ours.pixels.iter().zip(reference.as_raw()).map(|(a, b)| a.abs_diff(*b)).max();
        assert_eq!(diff, 0, "{jpg_name}: {diff} samples differ from Pillow, max {max:?}");
    }
}

fn find_file(root: &Path, name: &str) -> Option<std::path::PathBuf> {
    for entry in std::fs::read_dir(root).ok()? {
        let path = entry.ok()?.path();
        if path.is_dir() {
            if let Some(found) = find_file(&path, name) {
                return Some(found);
            }
        } else if path.file_name().is_some_and(|n| n == name) {
            return Some(path);
        }
    }
    None
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    mediahash::hex::encode(&sha2::Sha256::digest(bytes))
}

/// Rows of a digest CSV written by scripts/pillow_decode_digests.py.
struct DigestRow {
    path: String,
    /// `Some((width, height, sha256))`, or `None` when Pillow failed to decode the file.
    expected: Option<(u32, u32, String)>,
}

fn digest_rows(csv_text: &str) -> Vec<DigestRow> {
    csv_text
        .lines()
        .skip(1)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            assert_eq!(f.len(), 4, "bad row {line}");
            let expected = if f[3].starts_with("error:") {
                None
            } else {
                Some((f[1].parse().unwrap(), f[2].parse().unwrap(), f[3].to_string()))
            };
            DigestRow { path: f[0].to_string(), expected }
        })
        .collect()
}

/// Splits "file#scale=1/D" into the file and D (1 without the suffix).
fn split_scale(path: &str) -> (&str, u8) {
    match path.split_once("#scale=1/") {
        Some((file, d)) => (file, d.parse().expect("scale denominator")),
        None => (path, 1),
    }
}

enum RowOutcome {
    Match,
    /// The Fast mode cannot select this denominator for such a small image.
    NotExpressible,
    Mismatch(String),
}

/// Decodes `bytes` as the row asks (full, or Fast at the row's scale) and compares with
/// Pillow's result.
fn check_row(row: &DigestRow, bytes: &[u8]) -> RowOutcome {
    let (_, denom) = split_scale(&row.path);
    let mut options = DecodeOptions::default();
    if denom > 1 {
        let info = mediahash::decode::probe(bytes).expect("probe");
        let min_side = info.width.min(info.height).div_ceil(u32::from(denom));
        options.jpeg_scale = JpegScale::Fast { min_side };
    }
    let result = decode_rgb8(bytes, &options);
    match (&row.expected, result) {
        (Some(_), Ok(img)) if img.scale_denom != denom => RowOutcome::NotExpressible,
        (Some((w, h, digest)), Ok(img)) => {
            let ours = sha256_hex(&img.pixels);
            if (img.width, img.height) == (*w, *h) && &ours == digest {
                RowOutcome::Match
            } else {
                RowOutcome::Mismatch(format!(
                    "{}: ours {}x{} {ours}, Pillow {w}x{h} {digest}",
                    row.path, img.width, img.height
                ))
            }
        }
        (Some(_), Err(DecodeError::Unsupported { .. }))
            if KNOWN_UNSUPPORTED.contains(&row.path.as_str()) =>
        {
            RowOutcome::Match
        }
        (Some(_), Err(e)) => {
            RowOutcome::Mismatch(format!("{}: we fail ({e}), Pillow decodes", row.path))
        }
        (None, Ok(_)) => RowOutcome::Mismatch(format!("{}: we decode, Pillow fails", row.path)),
        (None, Err(_)) => RowOutcome::Match,
    }
}

/// Checks every row; returns how many were compared.
fn check_rows(rows: &[DigestRow], bytes_of: impl Fn(&str) -> Vec<u8>) -> usize {
    let mut failures = Vec::new();
    let mut compared = 0;
    for row in rows {
        let (file, _) = split_scale(&row.path);
        match check_row(row, &bytes_of(file)) {
            RowOutcome::Match => compared += 1,
            RowOutcome::NotExpressible => {}
            RowOutcome::Mismatch(m) => failures.push(m),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} differ:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
    compared
}

/// Every image in the shared test data decodes to exactly Pillow's convert('RGB') pixels
/// (JPEGs: bridge-mods, dih, labelme, exif-rotn-6, CMYK.jpg, the photos; PNGs likewise), and
/// every JPEG's Fast decode at 1/2, 1/4 and 1/8 equals Pillow's draft() decode.
#[test]
fn testdata_matches_pillow_digests() {
    let Some(dir) = common::testdata_dir() else { return };
    let rows = digest_rows(include_str!("vectors/pillow-decode-sha256.csv"));
    assert!(rows.iter().all(|r| r.expected.is_some()), "Pillow decodes all test data");
    let compared = check_rows(&rows, |file| read(&dir.join(file)));
    assert!(compared >= 230, "only {compared} of {} rows compared", rows.len());
}

/// Writes the generated fixtures for scripts/pillow_decode_digests.py when
/// MEDIAHASH_WRITE_DECODE_FIXTURES names a directory; otherwise does nothing.
#[test]
fn write_fixtures() {
    let Some(dir) = std::env::var_os("MEDIAHASH_WRITE_DECODE_FIXTURES") else { return };
    let dir = std::path::PathBuf::from(dir);
    for fixture in fixtures::all() {
        let path = dir.join(&fixture.name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &fixture.bytes).unwrap();
    }
}

/// Files Pillow decodes that we refuse as unsupported (documented in `decode::tiff`): the
/// `tiff` crate cannot deliver palette (RGBPalette) samples.
const KNOWN_UNSUPPORTED: [&str; 2] = ["tiff/palette4-19x11.tif", "tiff/palette8-19x11.tif"];

/// Every generated fixture decodes exactly as Pillow decodes it (or fails where Pillow fails),
/// except the KNOWN_UNSUPPORTED ones, which must fail as unsupported. JPEG fixtures are also
/// compared at 1/2, 1/4 and 1/8 scale with Pillow's draft().
#[test]
fn fixtures_match_pillow_digests() {
    let rows = digest_rows(include_str!("vectors/pillow-fixtures-sha256.csv"));
    let fixtures = fixtures::all();
    for fixture in &fixtures {
        assert!(
            rows.iter().any(|r| r.path == fixture.name),
            "{}: regenerate the CSV",
            fixture.name
        );
    }
    let compared = check_rows(&rows, |file| {
        let fixture = fixtures.iter().find(|f| f.name == file);
        fixture
            .unwrap_or_else(|| panic!("{file} is not generated any more: regenerate the CSV"))
            .bytes
            .clone()
    });
    assert!(compared + 4 >= rows.len(), "only {compared} of {} rows compared", rows.len());
}
