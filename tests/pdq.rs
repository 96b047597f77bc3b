//! PDQ against the C++ reference: the shared vectors (when present), our own committed
//! vectors for the synthetic images (always), and the public API's edge cases.

mod common;

use common::synth;

use std::collections::HashMap;
use std::path::Path;

use mediahash::decode::{DecodeOptions, decode_rgb8};
use mediahash::perceptual::pdq::{
    DCT_MATRIX, DIHEDRAL_NAMES, PdqConvention, PdqError, PdqHash, PdqParseError, QUALITY_THRESHOLD,
    pdq_dihedral_from_rgb, pdq_from_rgb, pdqf_from_rgb,
};

/// Decodes a PNG to RGB8 with the `image` crate, which for 8-bit RGB/RGBA/L/LA/palette and
/// 1-bit PNGs gives the same bytes as Pillow's `convert('RGB')` (alpha dropped, grey
/// replicated, palette expanded, 1-bit to 0/255).
fn decode_png(path: &Path) -> (u32, u32, Vec<u8>) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let img = image::load_from_memory(&bytes)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .to_rgb8();
    (img.width(), img.height(), img.into_raw())
}

fn hash(s: &str) -> PdqHash {
    s.parse().unwrap_or_else(|e| panic!("bad hash {s:?} in vectors: {e}"))
}

/// One expected row: convention-independent fields of the C++ CSVs.
struct Expected {
    label: String,
    width: u32,
    height: u32,
    pdq: PdqHash,
    quality: u8,
    /// rot90 .. flipminus1 (the original is `pdq`).
    dihedral: [PdqHash; 7],
}

fn read_cpp_csv(path: &Path) -> Vec<(String, String, Expected)> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let headers = reader.headers().unwrap().clone();
    let col = |name: &str| {
        headers.iter().position(|h| h == name).unwrap_or_else(|| panic!("no column {name}"))
    };
    let (path_c, variant_c, w_c, h_c, pdq_c, q_c) =
        (col("path"), col("variant"), col("width"), col("height"), col("pdq"), col("quality"));
    let dih_c: Vec<usize> = DIHEDRAL_NAMES[1..].iter().map(|n| col(n)).collect();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            let (p, v) = (r[path_c].to_string(), r[variant_c].to_string());
            let e = Expected {
                label: format!("{p} ({v})"),
                width: r[w_c].parse().unwrap(),
                height: r[h_c].parse().unwrap(),
                pdq: hash(&r[pdq_c]),
                quality: r[q_c].parse().unwrap(),
                dihedral: std::array::from_fn(|k| hash(&r[dih_c[k]])),
            };
            (p, v, e)
        })
        .collect()
}

/// Hashes `rgb` both ways and lists every difference from `e`.
fn compare(e: &Expected, w: u32, h: u32, rgb: &[u8], convention: PdqConvention) -> Vec<String> {
    let mut errors = Vec::new();
    if (w, h) != (e.width, e.height) {
        errors.push(format!("{}: decoded {w}x{h}, expected {}x{}", e.label, e.width, e.height));
        return errors;
    }
    let plain = pdq_from_rgb(w, h, rgb, convention).unwrap();
    let dih = pdq_dihedral_from_rgb(w, h, rgb, convention).unwrap();
    assert_eq!(plain.convention, convention);
    if plain.hash != e.pdq {
        let d = plain.hash.distance(&e.pdq);
        errors.push(format!("{}: pdq {} expected {} ({d} bits)", e.label, plain.hash, e.pdq));
    }
    if plain.quality != e.quality || dih.quality != e.quality {
        errors.push(format!(
            "{}: quality {}/{} expected {}",
            e.label, plain.quality, dih.quality, e.quality
        ));
    }
    // Every row of the C++ vectors has dihedral orig == pdq (column dihedral_orig_equals_pdq).
    if dih.hashes[0] != e.pdq {
        errors.push(format!("{}: dihedral orig {} expected {}", e.label, dih.hashes[0], e.pdq));
    }
    for k in 0..7 {
        if dih.hashes[k + 1] != e.dihedral[k] {
            errors.push(format!(
                "{}: {} {} expected {}",
                e.label,
                DIHEDRAL_NAMES[k + 1],
                dih.hashes[k + 1],
                e.dihedral[k]
            ));
        }
    }
    errors
}

/// Runs every raw-pixel row of a C++ vector file: PNG inputs decoded by the `image` crate
/// (independent of our decoder), JPEG inputs by `mediahash::decode`, whose libjpeg-turbo
/// decoder must reproduce the reference pipeline (Pillow + libjpeg-turbo) exactly, so the
/// tolerance is zero for both. The one `exif-transposed` row hashes Pillow's EXIF-rotated
/// image, which the reference pipelines do not produce; it is skipped.
fn gate(file: &str, convention: PdqConvention) {
    let dir = common::testdata_dir();
    let pdq_dir = dir.join("pdq");
    let rows = read_cpp_csv(&pdq_dir.join("expected").join(file));
    let (mut png, mut jpeg) = (0, 0);
    let mut errors = Vec::new();
    for (path, variant, e) in &rows {
        if variant != "raw" {
            continue;
        }
        let lower = path.to_ascii_lowercase();
        let (w, h, rgb) = if lower.ends_with(".png") {
            png += 1;
            decode_png(&pdq_dir.join(path))
        } else {
            assert!(lower.ends_with(".jpg"), "{path}: unexpected input type");
            jpeg += 1;
            let bytes = std::fs::read(pdq_dir.join(path)).unwrap();
            let img = decode_rgb8(&bytes, &DecodeOptions::default())
                .unwrap_or_else(|err| panic!("{path}: {err}"));
            (img.width, img.height, img.pixels)
        };
        errors.extend(compare(e, w, h, &rgb, convention));
    }
    eprintln!("{file}: {png} PNG and {jpeg} JPEG rows checked, {} mismatches", errors.len());
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    // All rows of the shared set (decoded/, synthetic/, misc-images, reg-test-input, JPEGs).
    assert_eq!((png, jpeg), (26, 31), "unexpected number of rows in {file}");
}

#[test]
#[cfg_attr(
    not(mediahash_testdata),
    ignore = "needs ../shared/testdata or MEDIAHASH_TESTDATA (README: Testing)"
)]
fn cpp_full_resolution_vectors() {
    gate("pdq-cpp-fullres.csv", PdqConvention::FullResolution);
}

#[test]
#[cfg_attr(
    not(mediahash_testdata),
    ignore = "needs ../shared/testdata or MEDIAHASH_TESTDATA (README: Testing)"
)]
fn cpp_cli512_vectors() {
    gate("pdq-cpp-cli512.csv", PdqConvention::Cli512);
}

#[test]
#[cfg_attr(
    not(mediahash_testdata),
    ignore = "needs ../shared/testdata or MEDIAHASH_TESTDATA (README: Testing)"
)]
fn dct_matrix_bits_match_cpp_dump() {
    let dir = common::testdata_dir();
    let text =
        std::fs::read_to_string(dir.join("pdq/expected/pdq-dct-matrix-f32-bits.txt")).unwrap();
    let rows: Vec<Vec<u32>> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split_whitespace().map(|x| u32::from_str_radix(x, 16).unwrap()).collect())
        .collect();
    assert_eq!(rows.len(), 16);
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row.len(), 64);
        for (j, &bits) in row.iter().enumerate() {
            assert_eq!(DCT_MATRIX[i][j].to_bits(), bits, "D[{i}][{j}]");
        }
    }
}

/// Haystack/needle matching at radius 31, brute force, against the expected matches: checks
/// parsing and distance on 135,000 pairs.
#[test]
#[cfg_attr(
    not(mediahash_testdata),
    ignore = "needs ../shared/testdata or MEDIAHASH_TESTDATA (README: Testing)"
)]
fn needles_vs_haystack() {
    let dir = common::testdata_dir();
    let pdq_dir = dir.join("pdq");
    let load = |name: &str| -> Vec<PdqHash> {
        std::fs::read_to_string(pdq_dir.join("reg-test-input").join(name))
            .unwrap()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| hash(l.trim()))
            .collect()
    };
    let haystack = load("haystack.txt");
    let needles = load("needles.txt");
    assert_eq!((haystack.len(), needles.len()), (1350, 100));
    let mut reader =
        csv::Reader::from_path(pdq_dir.join("expected/index-needles-vs-haystack.csv")).unwrap();
    let mut rows = 0;
    let mut total_matches = 0;
    for r in reader.deserialize::<HashMap<String, String>>() {
        let r = r.unwrap();
        let n: usize = r["needle_line_0based"].parse().unwrap();
        let needle = needles[n];
        assert_eq!(needle, hash(&r["needle"]));
        let distances: Vec<u32> = haystack.iter().map(|h| needle.distance(h)).collect();
        let ours: Vec<String> = distances
            .iter()
            .enumerate()
            .filter(|&(_, &d)| d <= 31)
            .map(|(i, d)| format!("{i}:{d}"))
            .collect();
        assert_eq!(ours.join(" "), r["haystack_line0:distance_le31"], "needle {n}");
        assert_eq!(ours.len().to_string(), r["matches_le31"], "needle {n}");
        let count = |t: u32| distances.iter().filter(|&&d| d <= t).count().to_string();
        assert_eq!(count(32), r["count_le32"], "needle {n}");
        assert_eq!(count(63), r["count_le63"], "needle {n}");
        assert_eq!(distances.iter().min().unwrap().to_string(), r["min_distance"]);
        rows += 1;
        total_matches += ours.len();
    }
    assert_eq!(rows, 100);
    assert_eq!(total_matches, 250);
}

fn synth_rgb(img: &synth::SynthImage) -> Vec<u8> {
    if img.channels == 1 {
        img.pixels.iter().flat_map(|&v| [v, v, v]).collect()
    } else {
        img.pixels.clone()
    }
}

/// Our own vectors (scripts/pdq_vectors.py, from the C++ core via the `pdqhash` package) for
/// the synthetic images: always run, zero tolerance.
#[test]
fn synthetic_vectors() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/pdq-synthetic.csv");
    let mut reader = csv::Reader::from_path(&path).unwrap();
    let mut expected = HashMap::new();
    for r in reader.deserialize::<HashMap<String, String>>() {
        let r = r.unwrap();
        expected.insert(r["name"].clone(), r);
    }
    let images = synth::all();
    assert_eq!(expected.len(), images.len(), "regenerate tests/vectors/pdq-synthetic.csv");
    let mut errors = Vec::new();
    for img in &images {
        let r = &expected[&img.name];
        let rgb = synth_rgb(img);
        let (w, h) = (img.width, img.height);
        assert_eq!((r["width"].parse::<u32>().unwrap(), r["height"].parse().unwrap()), (w, h));
        let plain = pdq_from_rgb(w, h, &rgb, PdqConvention::FullResolution).unwrap();
        let dih = pdq_dihedral_from_rgb(w, h, &rgb, PdqConvention::FullResolution).unwrap();
        let pdqf = pdqf_from_rgb(w, h, &rgb, PdqConvention::FullResolution).unwrap();
        let mut check = |what: &str, got: String, want: &str| {
            if got != want {
                errors.push(format!("{}: {what} {got} expected {want}", img.name));
            }
        };
        check("pdq", plain.hash.to_hex(), &r["pdq"]);
        check("quality", plain.quality.to_string(), &r["quality"]);
        check("dihedral quality", dih.quality.to_string(), &r["quality"]);
        check("orig", dih.hashes[0].to_hex(), &r["dihedral_orig"]);
        for k in 1..8 {
            check(DIHEDRAL_NAMES[k], dih.hashes[k].to_hex(), &r[DIHEDRAL_NAMES[k]]);
        }
        check("pdqf hash", pdqf.to_hash().to_hex(), &r["pdq"]);
        check("pdqf quality", pdqf.quality.to_string(), &r["quality"]);
    }
    eprintln!("pdq-synthetic.csv: {} rows checked, {} mismatches", images.len(), errors.len());
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

#[test]
fn hex_round_trip_and_layout() {
    let s = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
    let h = PdqHash::from_hex(s).unwrap();
    assert_eq!(h.to_hex(), s);
    assert_eq!(h.to_string(), s);
    assert_eq!(format!("{h:?}"), format!("PdqHash({s})"));
    assert_eq!(PdqHash::from_hex(&s.to_uppercase()).unwrap(), h);
    assert_eq!(h.0[0], 0xf8);
    assert_eq!(h.0[31], 0x22);
    // Bit k lives in byte 31 - k/8: the last hex digit holds bits 0..3 (0x2 -> bit 1 set).
    assert!(!h.bit(0));
    assert!(h.bit(1));
    assert!(h.bit(255)); // leading 'f'
    let mut one = [0u8; 32];
    one[31] = 1;
    assert!(PdqHash(one).bit(0));
    assert_eq!(PdqHash(one).to_hex(), format!("{}1", "0".repeat(63)));
    assert!(PdqHash::default().is_zero());
    assert!(!h.is_zero());
}

#[test]
fn from_hex_errors() {
    let good = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
    assert_eq!(PdqHash::from_hex(&good[..63]), Err(PdqParseError::Length { found: 63 }));
    assert_eq!(PdqHash::from_hex(&format!("{good}0")), Err(PdqParseError::Length { found: 65 }));
    assert_eq!(PdqHash::from_hex(""), Err(PdqParseError::Length { found: 0 }));
    let md5_like = "d41d8cd98f00b204e9800998ecf8427e";
    let err = PdqHash::from_hex(md5_like).unwrap_err();
    assert_eq!(err, PdqParseError::LooksLike128Bit);
    assert!(err.to_string().contains("has 32, like an MD5"), "{err}");
    let mut bad = good.to_string();
    bad.replace_range(10..11, "g");
    assert_eq!(
        PdqHash::from_hex(&bad),
        Err(PdqParseError::Character { character: 'g', position: 10 })
    );
    // A multi-byte character counts as one character, and is reported as such.
    let mut bad = good[..63].to_string();
    bad.insert(5, 'é');
    assert_eq!(
        PdqHash::from_hex(&bad),
        Err(PdqParseError::Character { character: 'é', position: 5 })
    );
    assert_eq!(
        "0x".repeat(32).parse::<PdqHash>(),
        Err(PdqParseError::Character { character: 'x', position: 1 })
    );
    assert_eq!(
        format!(" {}", &good[1..]).parse::<PdqHash>(),
        Err(PdqParseError::Character { character: ' ', position: 0 })
    );
}

#[test]
fn distance() {
    let a = PdqHash([0u8; 32]);
    let b = PdqHash([0xff; 32]);
    assert_eq!(a.distance(&b), 256);
    assert_eq!(b.distance(&a), 256);
    assert_eq!(a.distance(&a), 0);
    let mut c = [0u8; 32];
    c[0] = 0b1000_0001;
    c[17] = 0b0110_0000;
    c[31] = 1;
    assert_eq!(a.distance(&PdqHash(c)), 5);
    assert_eq!(b.distance(&PdqHash(c)), 251);
}

#[test]
fn small_images_hash_to_zero_with_quality_zero() {
    // (Cli512 only resizes above 512, so these sizes are under 5 px in both conventions.)
    for (w, h) in [(1, 1), (4, 4), (4, 100), (100, 4), (1, 512)] {
        let rgb: Vec<u8> = (0..w * h * 3).map(|i| (i * 37 % 251) as u8).collect();
        for convention in [PdqConvention::FullResolution, PdqConvention::Cli512] {
            let r = pdq_from_rgb(w, h, &rgb, convention).unwrap();
            assert!(r.hash.is_zero(), "{w}x{h}");
            assert_eq!(r.quality, 0);
            let d = pdq_dihedral_from_rgb(w, h, &rgb, convention).unwrap();
            assert!(d.hashes.iter().all(PdqHash::is_zero));
            assert_eq!(d.quality, 0);
            let f = pdqf_from_rgb(w, h, &rgb, convention).unwrap();
            assert_eq!(f.coefficients, [[0.0; 16]; 16]);
            assert_eq!(f.quality, 0);
        }
    }
    // 5x5 is the smallest hashable size.
    let rgb: Vec<u8> = (0..75).map(|i| (i * 37 % 251) as u8).collect();
    let r = pdq_from_rgb(5, 5, &rgb, PdqConvention::FullResolution).unwrap();
    assert!(!r.hash.is_zero());
}

#[test]
fn cli512_resizes_thin_images_before_the_size_check() {
    // The CLI squashes 1000x3 to 512x512 and then hashes it; full resolution says "too small".
    let (w, h) = (1000u32, 3u32);
    let rgb: Vec<u8> = (0..w * h * 3).map(|i| (i / 3 % 256) as u8).collect();
    let full = pdq_from_rgb(w, h, &rgb, PdqConvention::FullResolution).unwrap();
    assert!(full.hash.is_zero());
    let cli = pdq_from_rgb(w, h, &rgb, PdqConvention::Cli512).unwrap();
    assert!(!cli.hash.is_zero());
    assert_eq!(cli.convention.as_str(), "512");
    assert_eq!(full.convention.to_string(), "full");
    assert_eq!(PdqConvention::default(), PdqConvention::FullResolution);
}

#[test]
fn zero_sized_images_are_errors() {
    for (w, h) in [(0, 0), (0, 10), (10, 0)] {
        let err = pdq_from_rgb(w, h, &[], PdqConvention::FullResolution).unwrap_err();
        assert_eq!(err, PdqError::EmptyImage { width: w, height: h });
        assert!(err.to_string().contains(&format!("image is {w}x{h} pixels")), "{err}");
        let empty = PdqError::EmptyImage { width: w, height: h };
        assert_eq!(
            pdq_dihedral_from_rgb(w, h, &[], PdqConvention::Cli512).err(),
            Some(empty.clone())
        );
        assert_eq!(pdqf_from_rgb(w, h, &[], PdqConvention::FullResolution).err(), Some(empty));
    }
}

#[test]
fn wrong_buffer_length_is_an_error() {
    let rgb = vec![0u8; 10 * 10 * 3];
    for len in [0, 299, 301, 400] {
        let buf = vec![7u8; len];
        let err = pdq_from_rgb(10, 10, &buf, PdqConvention::FullResolution).unwrap_err();
        assert_eq!(
            err,
            PdqError::BufferLength { width: 10, height: 10, expected: 300, actual: len }
        );
        assert!(
            err.to_string().contains(&format!("has {len} bytes but a 10x10 image needs 300")),
            "{err}"
        );
        assert_eq!(
            pdq_dihedral_from_rgb(10, 10, &buf, PdqConvention::FullResolution).err(),
            Some(err.clone())
        );
        assert_eq!(pdqf_from_rgb(10, 10, &buf, PdqConvention::Cli512).err(), Some(err));
    }
    // An RGBA buffer passed as RGB is caught by its length.
    let rgba = vec![0u8; 10 * 10 * 4];
    assert!(matches!(
        pdq_from_rgb(10, 10, &rgba, PdqConvention::FullResolution),
        Err(PdqError::BufferLength { .. })
    ));
    assert!(pdq_from_rgb(10, 10, &rgb, PdqConvention::FullResolution).is_ok());
    // Dimensions whose product overflows cannot match any buffer.
    let err = pdq_from_rgb(u32::MAX, u32::MAX, &rgb, PdqConvention::FullResolution).unwrap_err();
    assert!(matches!(err, PdqError::TooLarge { .. } | PdqError::BufferLength { .. }), "{err:?}");
}

#[test]
fn flat_image_is_below_quality_threshold() {
    let rgb = vec![128u8; 200 * 150 * 3];
    let r = pdq_from_rgb(200, 150, &rgb, PdqConvention::FullResolution).unwrap();
    assert_eq!(r.quality, 0);
    assert!(r.quality < QUALITY_THRESHOLD);
}

/// Our own JPEGs (tests/data/jpeg, encoded by Pillow from the synthetic images) against the
/// reference pipeline: Pillow's decode (SHA-256 of its RGB bytes) and `pdqhash` on those
/// pixels (scripts/jpeg_vectors.py). Runs on a fresh clone.
#[test]
fn committed_jpegs_match_the_reference_pipeline() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut reader = csv::Reader::from_path(root.join("tests/vectors/jpeg-pipeline.csv")).unwrap();
    let mut rows = 0;
    for record in reader.deserialize::<HashMap<String, String>>() {
        let row = record.unwrap();
        let file = &row["file"];
        let bytes = std::fs::read(root.join("tests/data/jpeg").join(file)).unwrap();
        let img = decode_rgb8(&bytes, &DecodeOptions::default()).unwrap();
        let sha = mediahash::digest::digest_bytes(&img.pixels, Default::default()).sha256_hex();
        assert_eq!(sha, row["rgb_sha256"], "{file}: decoded pixels differ from Pillow's");
        let dih =
            pdq_dihedral_from_rgb(img.width, img.height, &img.pixels, PdqConvention::default())
                .unwrap();
        assert_eq!(dih.hashes[0].to_hex(), row["pdq"], "{file}: pdq");
        assert_eq!(dih.quality.to_string(), row["quality"], "{file}: quality");
        let expected: Vec<&str> = row["pdq_dihedral"].split(' ').collect();
        let got: Vec<String> = dih.hashes.iter().map(|h| h.to_hex()).collect();
        assert_eq!(got, expected, "{file}: dihedrals");
        rows += 1;
    }
    assert_eq!(rows, 10);
}
