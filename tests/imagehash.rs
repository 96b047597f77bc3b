//! imagehash-compatible pHash / dHash / aHash: bit-exact against Python `imagehash` 4.3.2
//! (Pillow 13, scipy 1.17) on the shared test data and on the committed synthetic vectors.

mod common;

use common::synth;

use std::collections::HashMap;

use mediahash::decode::{DecodeOptions, decode_rgb8};
use mediahash::perceptual::imagehash::{
    Hash64, ImageHashError, Luma8, average_hash, dhash, dhash_vertical, imagehashes_from_rgb, phash,
};
use sha2::{Digest, Sha256};

/// The four hashes of one image, in the CSV column order.
fn all_four(luma: &Luma8) -> [Hash64; 4] {
    [phash(luma), dhash(luma), dhash_vertical(luma), average_hash(luma)]
}

const HASH_COLUMNS: [&str; 4] = ["phash", "dhash", "dhash_vertical", "average_hash"];

/// Reads a CSV (with `#` comment lines) into header-keyed rows.
fn read_csv(text: &str) -> Vec<HashMap<String, String>> {
    let mut reader = csv::ReaderBuilder::new().comment(Some(b'#')).from_reader(text.as_bytes());
    let headers = reader.headers().expect("CSV header").clone();
    reader
        .records()
        .map(|r| {
            let r = r.expect("CSV record");
            headers.iter().map(String::from).zip(r.iter().map(String::from)).collect()
        })
        .collect()
}

/// Compares our four hashes with a CSV row; returns a description of each mismatch.
fn mismatches(name: &str, luma: &Luma8, row: &HashMap<String, String>) -> Vec<String> {
    all_four(luma)
        .iter()
        .zip(HASH_COLUMNS)
        .filter_map(|(ours, column)| {
            let want = Hash64::from_hex(&row[column]).expect("hex in CSV");
            (*ours != want).then(|| {
                format!(
                    "{name} {column}: ours {ours} imagehash {want} ({} bits)",
                    ours.distance(&want)
                )
            })
        })
        .collect()
}

/// Every row of the shared imagehash CSV: PNGs decoded by the `image` crate (independent of
/// our decoder), JPEGs by `mediahash::decode` (libjpeg-turbo, as Pillow decodes them).
#[test]
#[cfg_attr(
    not(mediahash_testdata),
    ignore = "needs ../shared/testdata or MEDIAHASH_TESTDATA (README: Testing)"
)]
fn shared_testdata_rows_match_imagehash_bit_for_bit() {
    let dir = common::testdata_dir();
    let csv_text = std::fs::read_to_string(dir.join("pdq/expected/imagehash-4.3.2.csv")).unwrap();
    let rows = read_csv(&csv_text);
    let (mut png, mut jpeg, mut bad) = (0, 0, Vec::new());
    for row in &rows {
        let path = &row["path"];
        let bytes = std::fs::read(dir.join("pdq").join(path)).unwrap();
        let (w, h, rgb) = if path.ends_with(".png") {
            png += 1;
            // For 8-bit PNGs this equals Pillow's convert('RGB') (palette expanded, 1-bit to
            // 0/255, alpha dropped), and convert('L') of that equals Pillow's direct convert('L').
            let rgb = image::load_from_memory(&bytes).unwrap().to_rgb8();
            (rgb.width(), rgb.height(), rgb.into_raw())
        } else {
            jpeg += 1;
            let img = decode_rgb8(&bytes, &DecodeOptions::default()).unwrap();
            (img.width, img.height, img.pixels)
        };
        let luma = Luma8::from_rgb(w, h, &rgb).unwrap();
        bad.extend(mismatches(path, &luma, row));
        let combined = imagehashes_from_rgb(w, h, &rgb).unwrap();
        assert_eq!(
            [combined.phash, combined.dhash, combined.ahash],
            [phash(&luma), dhash(&luma), average_hash(&luma)]
        );
    }
    eprintln!(
        "imagehash-4.3.2.csv: {png} PNG and {jpeg} JPEG rows checked (4 hashes each), {} mismatches",
        bad.len()
    );
    assert_eq!((png, jpeg), (26, 31), "unexpected row counts in the shared CSV");
    assert!(bad.is_empty(), "mismatches:\n{}", bad.join("\n"));
}

/// Our own JPEGs (tests/data/jpeg) against imagehash on Pillow's decode
/// (scripts/jpeg_vectors.py). Runs on a fresh clone.
#[test]
fn committed_jpegs_match_imagehash() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let rows =
        read_csv(&std::fs::read_to_string(root.join("tests/vectors/jpeg-pipeline.csv")).unwrap());
    assert_eq!(rows.len(), 10);
    for row in &rows {
        let file = &row["file"];
        let bytes = std::fs::read(root.join("tests/data/jpeg").join(file)).unwrap();
        let img = decode_rgb8(&bytes, &DecodeOptions::default()).unwrap();
        let got = imagehashes_from_rgb(img.width, img.height, &img.pixels).unwrap();
        assert_eq!(got.phash.to_hex(), row["phash"], "{file}: phash");
        assert_eq!(got.dhash.to_hex(), row["dhash"], "{file}: dhash");
        assert_eq!(got.ahash.to_hex(), row["ahash"], "{file}: ahash");
    }
}

const SYNTHETIC_CSV: &str = include_str!("vectors/imagehash-synthetic.csv");

/// The synthetic images as RGB8, grey ones expanded the way Pillow's convert('RGB') does.
fn synthetic_rgb() -> Vec<(String, u32, u32, Vec<u8>)> {
    synth::all()
        .into_iter()
        .map(|img| {
            let rgb = if img.channels == 1 {
                img.pixels.iter().flat_map(|&v| [v, v, v]).collect()
            } else {
                img.pixels
            };
            (img.name, img.width, img.height, rgb)
        })
        .collect()
}

#[test]
fn synthetic_vectors_match_imagehash_bit_for_bit() {
    let rows = read_csv(SYNTHETIC_CSV);
    let by_name: HashMap<&str, &HashMap<String, String>> =
        rows.iter().map(|r| (r["name"].as_str(), r)).collect();
    let images = synthetic_rgb();
    assert_eq!(images.len(), rows.len(), "CSV out of date: rerun scripts/imagehash_vectors.py");
    let mut bad = Vec::new();
    for (name, w, h, rgb) in &images {
        let row = by_name.get(name.as_str()).unwrap_or_else(|| panic!("{name} not in CSV"));
        assert_eq!(
            (row["width"].parse::<u32>().unwrap(), row["height"].parse().unwrap()),
            (*w, *h)
        );
        let luma = Luma8::from_rgb(*w, *h, rgb).unwrap();
        bad.extend(mismatches(name, &luma, row));
        let combined = imagehashes_from_rgb(*w, *h, rgb).unwrap();
        assert_eq!(
            [combined.phash, combined.dhash, combined.ahash],
            [phash(&luma), dhash(&luma), average_hash(&luma)],
            "{name}: combined path differs"
        );
    }
    assert!(bad.is_empty(), "mismatches:\n{}", bad.join("\n"));
}

#[test]
fn synthetic_resizes_match_pillow_bytes() {
    let rows = read_csv(SYNTHETIC_CSV);
    let sizes: Vec<(String, u32, u32)> = rows[0]
        .keys()
        .filter_map(|k| {
            let (w, h) = k.strip_prefix("sha256_L_")?.split_once('x')?;
            Some((k.clone(), w.parse().ok()?, h.parse().ok()?))
        })
        .collect();
    assert!(sizes.len() >= 4, "resize digests missing from CSV");
    let (mut checked, mut bad) = (0, Vec::new());
    for (name, w, h, rgb) in synthetic_rgb() {
        let row = rows.iter().find(|r| r["name"] == name).unwrap();
        let luma = Luma8::from_rgb(w, h, &rgb).unwrap();
        for (column, ow, oh) in &sizes {
            let resized = luma.resize_lanczos(*ow, *oh).unwrap();
            assert_eq!((resized.width(), resized.height()), (*ow, *oh));
            let digest = Sha256::digest(resized.pixels());
            let ours: String = digest.iter().map(|b| format!("{b:02x}")).collect();
            if ours != row[column] {
                bad.push(format!("{name} -> {ow}x{oh}"));
            }
            checked += 1;
        }
    }
    eprintln!("{checked} resizes checked against Pillow, {} mismatches", bad.len());
    assert!(bad.is_empty(), "resize differs from Pillow for:\n{}", bad.join("\n"));
}

#[test]
fn grey_input_through_rgb_equals_direct_grey() {
    for img in synth::all().into_iter().filter(|i| i.channels == 1) {
        let direct = Luma8::new(img.width, img.height, img.pixels.clone()).unwrap();
        let rgb: Vec<u8> = img.pixels.iter().flat_map(|&v| [v, v, v]).collect();
        let via_rgb = Luma8::from_rgb(img.width, img.height, &rgb).unwrap();
        assert_eq!(direct, via_rgb);
        assert_eq!(all_four(&direct), all_four(&via_rgb));
    }
}

#[test]
fn hashes_separate_different_images_and_survive_small_edits() {
    let images = synthetic_rgb();
    let hash =
        |(_, w, h, rgb): &(String, u32, u32, Vec<u8>)| imagehashes_from_rgb(*w, *h, rgb).unwrap();
    let shapes = images.iter().find(|i| i.0 == "shapes-640x480").unwrap();
    let stripes = images.iter().find(|i| i.0 == "stripes-256x256").unwrap();
    let (a, b) = (hash(shapes), hash(stripes));
    assert!(a.phash.distance(&b.phash) > 16, "{} vs {}", a.phash, b.phash);
    // Brightening every pixel a little keeps pHash and dHash close.
    let mut brighter = shapes.clone();
    brighter.3.iter_mut().for_each(|v| *v = v.saturating_add(6));
    let c = hash(&brighter);
    assert!(a.phash.distance(&c.phash) <= 4, "{} vs {}", a.phash, c.phash);
    assert!(a.dhash.distance(&c.dhash) <= 4, "{} vs {}", a.dhash, c.dhash);
}

#[test]
fn bad_input_gets_typed_errors() {
    assert!(matches!(
        imagehashes_from_rgb(10, 10, &[0; 299]),
        Err(ImageHashError::BufferLength { expected: 300, actual: 299, channels: 3, .. })
    ));
    assert!(matches!(
        imagehashes_from_rgb(10, 10, &[0; 301]),
        Err(ImageHashError::BufferLength { expected: 300, actual: 301, .. })
    ));
    assert_eq!(
        imagehashes_from_rgb(0, 0, &[]).unwrap_err(),
        ImageHashError::EmptyImage { width: 0, height: 0 }
    );
    assert_eq!(
        Luma8::from_rgb(7, 0, &[]).unwrap_err(),
        ImageHashError::EmptyImage { width: 7, height: 0 }
    );
    assert!(matches!(Luma8::new(4, 4, vec![0; 17]), Err(ImageHashError::BufferLength { .. })));
    // A claimed size far beyond the buffer is a length error, never an allocation attempt.
    assert!(matches!(
        imagehashes_from_rgb(u32::MAX, u32::MAX, &[0; 3]),
        Err(ImageHashError::BufferLength { .. } | ImageHashError::TooLarge { .. })
    ));
    let luma = Luma8::new(1, 1, vec![0]).unwrap();
    assert_eq!(
        luma.resize_lanczos(0, 8).unwrap_err(),
        ImageHashError::EmptyImage { width: 0, height: 8 }
    );
    let message = ImageHashError::EmptyImage { width: 0, height: 3 }.to_string();
    assert!(message.contains("0x3"), "{message}");
}

#[test]
fn tiny_images_hash_without_panicking() {
    for (w, h) in [(1, 1), (1, 7), (7, 1), (2, 3)] {
        let rgb: Vec<u8> = (0..w * h * 3).map(|i| (i * 37 % 256) as u8).collect();
        let hashes = imagehashes_from_rgb(w, h, &rgb).unwrap();
        let again = imagehashes_from_rgb(w, h, &rgb).unwrap();
        assert_eq!(hashes, again);
    }
}
