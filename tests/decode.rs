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

/// `.ci/run` installs nasm so that the pixel-identity tests here run against libjpeg-turbo's
/// SIMD code, the build examiners get; it sets `MEDIAHASH_REQUIRE_JPEG_SIMD=1` to make sure.
#[test]
fn jpeg_simd_is_built_where_required() {
    let simd = mediahash::decode::jpeg_simd_built();
    if std::env::var_os("MEDIAHASH_REQUIRE_JPEG_SIMD").is_some_and(|v| v == "1") {
        assert!(simd, "MEDIAHASH_REQUIRE_JPEG_SIMD=1 but libjpeg-turbo was built without SIMD");
    } else if !simd {
        eprintln!("note: libjpeg-turbo built without SIMD (install nasm); same pixels, slower");
    }
}

/// The 12 lossless Pillow decodes in pdq/decoded/ must equal our JPEG decode exactly.
#[test]
#[cfg_attr(
    not(mediahash_testdata),
    ignore = "needs ../shared/testdata or MEDIAHASH_TESTDATA (README: Testing)"
)]
fn jpeg_matches_pillow_decoded_pngs() {
    let dir = common::testdata_dir();
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
#[cfg_attr(
    not(mediahash_testdata),
    ignore = "needs ../shared/testdata or MEDIAHASH_TESTDATA (README: Testing)"
)]
fn testdata_matches_pillow_digests() {
    let dir = common::testdata_dir();
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

/// Files Pillow decodes that we refuse as unsupported (documented in `decode`): the `tiff`
/// crate cannot deliver palette (RGBPalette) samples, and the `gif` crate refuses a GIF
/// without any colour table.
const KNOWN_UNSUPPORTED: [&str; 3] =
    ["tiff/palette4-19x11.tif", "tiff/palette8-19x11.tif", "gif/no-palette-19x13.gif"];

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
    assert!(compared + 5 >= rows.len(), "only {compared} of {} rows compared", rows.len());
}

// ------------------------------------------------------------------ hostile input

fn decode_default(bytes: &[u8]) -> Result<mediahash::decode::RgbImage, DecodeError> {
    decode_rgb8(bytes, &DecodeOptions::default())
}

fn small_jpeg() -> Vec<u8> {
    fixtures::jpeg_fixture(
        "t",
        64,
        48,
        jpeg_encode::JpegSpec::new(jpeg_encode::JpegColor::YCbCr, 85),
        7,
    )
    .bytes
}

fn small_png() -> Vec<u8> {
    let samples: Vec<u16> = fixtures::noise(40 * 30 * 3, 9).into_iter().map(u16::from).collect();
    fixtures::png(40, 30, 8, 2, &samples, &[])
}

#[test]
fn zero_byte_input_is_empty() {
    assert_eq!(decode_default(&[]), Err(DecodeError::Empty));
    assert_eq!(mediahash::decode::probe(&[]), Err(DecodeError::Empty));
}

#[test]
fn random_bytes_are_unknown_format() {
    for seed in 1..200 {
        let bytes = fixtures::noise(1 + seed as usize * 7, seed);
        if mediahash::decode::detect_format(&bytes).is_none() {
            assert_eq!(decode_default(&bytes), Err(DecodeError::UnknownFormat), "seed {seed}");
        }
    }
    let text = b"BM is not a bitmap: this is a text file that starts with BM";
    assert_eq!(decode_default(text), Err(DecodeError::UnknownFormat));
}

#[test]
fn truncated_jpeg_is_truncated_at_every_cut() {
    let full = small_jpeg();
    assert!(decode_default(&full).is_ok());
    // Inside the header, inside the entropy-coded data, and just before EOI (Pillow also
    // refuses a JPEG that lacks only its EOI marker).
    for cut in [3, 20, 150, full.len() / 2, full.len() - 10, full.len() - 2, full.len() - 1] {
        assert_eq!(
            decode_default(&full[..cut]),
            Err(DecodeError::Truncated { format: ImageFormat::Jpeg }),
            "cut at {cut} of {}",
            full.len()
        );
    }
    let progressive = fixtures::jpeg_fixture(
        "p",
        64,
        48,
        jpeg_encode::JpegSpec {
            progressive: true,
            ..jpeg_encode::JpegSpec::new(jpeg_encode::JpegColor::YCbCr, 85)
        },
        8,
    )
    .bytes;
    for cut in [progressive.len() / 3, progressive.len() - 2] {
        assert_eq!(
            decode_default(&progressive[..cut]),
            Err(DecodeError::Truncated { format: ImageFormat::Jpeg })
        );
    }
}

#[test]
fn truncated_png_is_truncated() {
    let full = small_png();
    assert!(decode_default(&full).is_ok());
    for cut in [40, full.len() / 2, full.len() - 13] {
        assert_eq!(
            decode_default(&full[..cut]),
            Err(DecodeError::Truncated { format: ImageFormat::Png }),
            "cut at {cut}"
        );
    }
}

#[test]
fn png_declaring_100000_squared_is_refused_before_allocating() {
    // A valid signature and IHDR (correct CRC) for 100000 x 100000 RGB, and a tiny IDAT.
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    fixtures::png_chunk(&mut bytes, b"IHDR", &fixtures::png_ihdr(100_000, 100_000, 8, 2));
    fixtures::png_chunk(&mut bytes, b"IDAT", &fixtures::zlib_stored(&[0; 16]));
    fixtures::png_chunk(&mut bytes, b"IEND", &[]);
    let err = decode_default(&bytes).unwrap_err();
    assert_eq!(
        err,
        DecodeError::TooLarge {
            format: ImageFormat::Png,
            width: 100_000,
            height: 100_000,
            limit: "Limits::max_width"
        }
    );
    assert!(err.to_string().contains("100000x100000"), "{err}");
    // probe still reports the declared size without decoding.
    let info = mediahash::decode::probe(&bytes).unwrap();
    assert_eq!((info.width, info.height), (100_000, 100_000));
}

/// Replaces the dimensions in the first SOF0/SOF2 segment.
fn patch_jpeg_sof(bytes: &mut [u8], width: u16, height: u16) {
    let at = bytes
        .windows(2)
        .position(|w| w[0] == 0xFF && (w[1] == 0xC0 || w[1] == 0xC2))
        .expect("SOF marker");
    bytes[at + 5..at + 7].copy_from_slice(&height.to_be_bytes());
    bytes[at + 7..at + 9].copy_from_slice(&width.to_be_bytes());
}

#[test]
fn jpeg_sof_declaring_65000_squared_is_refused() {
    let mut bytes = small_jpeg();
    patch_jpeg_sof(&mut bytes, 65_000, 65_000);
    assert_eq!(
        decode_default(&bytes),
        Err(DecodeError::TooLarge {
            format: ImageFormat::Jpeg,
            width: 65_000,
            height: 65_000,
            limit: "Limits::max_pixels"
        })
    );
    // Within the pixel limit but over the allocation limit: refused before the output buffer.
    let mut bytes = small_jpeg();
    patch_jpeg_sof(&mut bytes, 16_000, 16_000);
    let mut options = DecodeOptions::default();
    options.limits.max_alloc_bytes = 100 << 20;
    assert!(matches!(decode_rgb8(&bytes, &options), Err(DecodeError::AllocationLimit { .. })));
}

#[test]
fn oversized_headers_of_other_formats_are_refused() {
    let gif = fixtures::gif(
        65_535,
        65_535,
        Some(&[0, 0, 0, 255, 255, 255]),
        &[fixtures::GifFrame {
            left: 0,
            top: 0,
            width: 1,
            height: 1,
            local_palette: None,
            transparent: None,
            interlaced: false,
            indices: vec![1],
            min_code_size: 2,
        }],
    );
    let bmp = fixtures::bmp(100_000, 100_000, 24, 40, None, &[], &[vec![0; 3]]);
    let tiff = fixtures::tiff(100_000, 100_000, 8, 3, 2, false, None, &[0; 30]);
    let pnm = b"P6\n100000 100000\n255\n\0\0\0".to_vec();
    for (format, bytes) in [
        (ImageFormat::Gif, gif),
        (ImageFormat::Bmp, bmp),
        (ImageFormat::Tiff, tiff),
        (ImageFormat::Pnm, pnm),
    ] {
        match decode_default(&bytes) {
            Err(DecodeError::TooLarge { format: f, .. }) => assert_eq!(f, format),
            other => panic!("{format}: expected TooLarge, got {other:?}"),
        }
    }
}

#[test]
fn progressive_jpeg_over_the_memory_budget_is_an_allocation_error() {
    // 1600 x 1200 progressive: libjpeg needs ~5.8 MB of coefficients beyond the 5.8 MB output.
    let spec = jpeg_encode::JpegSpec {
        progressive: true,
        ..jpeg_encode::JpegSpec::new(jpeg_encode::JpegColor::YCbCr, 50)
    };
    let bytes = fixtures::jpeg_fixture("big", 1600, 1200, spec, 3).bytes;
    let mut options = DecodeOptions::default();
    options.limits.max_alloc_bytes = 1600 * 1200 * 3 + 1_000_000;
    assert!(matches!(
        decode_rgb8(&bytes, &options),
        Err(DecodeError::AllocationLimit { format: ImageFormat::Jpeg, .. })
    ));
    options.limits.max_alloc_bytes = 64 << 20;
    assert!(decode_rgb8(&bytes, &options).is_ok());
}

#[test]
fn jpeg_with_thousands_of_scans_is_refused() {
    let spec = jpeg_encode::JpegSpec {
        progressive: true,
        ..jpeg_encode::JpegSpec::new(jpeg_encode::JpegColor::Grey, 50)
    };
    let bytes = fixtures::jpeg_fixture("scans", 16, 16, spec, 4).bytes;
    // Repeat the last scan (its SOS segment and entropy data) 1100 times before EOI.
    let last_sos = bytes.windows(2).rposition(|w| w == [0xFF, 0xDA]).unwrap();
    let eoi = bytes.len() - 2;
    let mut bomb = bytes[..eoi].to_vec();
    for _ in 0..1100 {
        bomb.extend_from_slice(&bytes[last_sos..eoi]);
    }
    bomb.extend_from_slice(&[0xFF, 0xD9]);
    match decode_default(&bomb) {
        Err(DecodeError::Corrupt { format: ImageFormat::Jpeg, message }) => {
            assert!(message.contains("scans"), "{message}")
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
}

#[test]
fn content_decides_format_not_the_name() {
    let png = small_png();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("holiday.jpg");
    std::fs::write(&path, &png).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(mediahash::decode::detect_format(&bytes), Some(ImageFormat::Png));
    let img = decode_default(&bytes).unwrap();
    assert_eq!((img.format, img.width, img.height), (ImageFormat::Png, 40, 30));
}

#[test]
fn garbage_after_a_valid_magic_is_an_error() {
    let magics: [&[u8]; 10] = [
        &[0xFF, 0xD8, 0xFF],
        b"\x89PNG\r\n\x1a\n",
        b"GIF89a",
        // "BM" and an icon directory need a plausible header before detection accepts them.
        b"BM\0\0\0\0\0\0\0\0\0\0\0\0\x28\0\0\0",
        b"II*\0",
        b"MM\0*",
        b"RIFF\x10\0\0\0WEBP",
        &[0, 0, 1, 0, 1, 0, 16, 16, 0, 0],
        b"P6\n",
        b"P1 ",
    ];
    for magic in magics {
        let mut checked = 0;
        for seed in 1..40 {
            let mut bytes = magic.to_vec();
            bytes.extend(fixtures::noise(seed as usize * 13, seed));
            let Some(format) = mediahash::decode::detect_format(&bytes) else { continue };
            checked += 1;
            // A refusal, not a caught decoder panic (which would also be a `Corrupt` error).
            let result = common::assert_no_panic(format_args!("{format} seed {seed}"), || {
                let _ = mediahash::decode::probe(&bytes);
                decode_default(&bytes)
            });
            let err = result.expect_err("garbage must not decode");
            assert_eq!(err.format(), Some(format), "{err}");
        }
        // Most seeds must reach a decoder, or the loop above checked nothing for this magic.
        assert!(checked >= 30, "{magic:x?}: only {checked} of 39 inputs were recognised");
    }
}

#[test]
fn recoverable_jpeg_damage_decodes_with_a_warning() {
    let all = fixtures::all();
    let damaged = all.iter().find(|f| f.name.starts_with("jpeg/damaged-scan")).unwrap();
    let img = decode_default(&damaged.bytes).unwrap();
    assert!(img.warning_count >= 1);
    let warning = img.first_warning.unwrap();
    assert!(warning.contains("Corrupt JPEG data"), "{warning}");
    // An intact file has none.
    let clean = decode_default(&small_jpeg()).unwrap();
    assert_eq!((clean.warning_count, clean.first_warning), (0, None));
}

#[test]
fn every_error_message_names_what_happened() {
    // Each message says what happened, with its numbers, and what the examiner can do.
    for (err, wanted) in [
        (DecodeError::Empty, &["empty (0 bytes)"][..]),
        (DecodeError::UnknownFormat, &["not a supported image", "file name is not consulted"]),
        (
            DecodeError::Truncated { format: ImageFormat::Gif },
            &["gif data ends", "truncated", "recover"],
        ),
        (
            DecodeError::AllocationLimit { format: ImageFormat::Png, needed: 10, limit: 5 },
            &["this png image", "at least 10 bytes", "limit of 5 bytes", "max_alloc_bytes"],
        ),
        (
            DecodeError::TooLarge {
                format: ImageFormat::Tiff,
                width: 70_000,
                height: 3,
                limit: "Limits::max_width",
            },
            &[
                "tiff image declares 70000x3 pixels, over Limits::max_width",
                "refused before decoding",
            ],
        ),
    ] {
        let text = err.to_string();
        for part in wanted {
            assert!(text.contains(part), "{part:?} missing from: {text}");
        }
    }
}

mod prop {
    use super::*;
    use proptest::prelude::*;

    /// No decoder panicked (decode would turn that into `Corrupt`, so the result alone
    /// cannot tell), and a decoded image has as many pixels as it says.
    fn check_no_panic(bytes: &[u8]) {
        let mut options = DecodeOptions::default();
        // Keep hostile dimensions cheap.
        options.limits.max_pixels = 1 << 20;
        options.limits.max_alloc_bytes = 64 << 20;
        common::assert_no_panic(format_args!("{} bytes", bytes.len()), || {
            if let Ok(img) = decode_rgb8(bytes, &options) {
                assert_eq!(img.pixels.len(), img.width as usize * img.height as usize * 3);
            }
            let _ = mediahash::decode::probe(bytes);
        });
    }

    fn seeds() -> Vec<Vec<u8>> {
        let wanted = [
            "jpeg/ycc420-q85-37x23.jpg",
            "jpeg/ycc420-progressive-q70-61x47.jpg",
            "jpeg/ycck-q85-34x22.jpg",
            "png/palette4-trns-23x17.png",
            "png/rgb16-23x17.png",
            "gif/offset-frame-transparent-30x20.gif",
            "gif/interlaced-19x13.gif",
            "bmp/palette4-21x14.bmp",
            "bmp/rgb565-21x14.bmp",
            "tiff/rgb8-19x11.tif",
            "ico/bmp32-16-and-png-24.ico",
            "pnm/p3-7-13x7.pnm",
            "pnm/p5-1000-13x7.pnm",
            "webp/lossy-alpha-27x18.webp",
            "webp/lossless-rgb-27x18.webp",
        ];
        let all = fixtures::all();
        wanted
            .iter()
            .map(|name| all.iter().find(|f| &f.name == name).expect(name).bytes.clone())
            .collect()
    }

    proptest! {
        // 96 cases keep the suite fast; PROPTEST_CASES=5000 for a longer local run.
        #![proptest_config(ProptestConfig {
            cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(96),
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            check_no_panic(&bytes);
        }

        #[test]
        fn mutated_images_never_panic(
            which in 0usize..15,
            edits in proptest::collection::vec((any::<u16>(), any::<u8>(), 0u8..3), 1..8),
            cut in proptest::option::of(any::<u16>()),
        ) {
            let mut bytes = seeds()[which].clone();
            for (pos, value, kind) in edits {
                let at = usize::from(pos) % bytes.len();
                match kind {
                    0 => bytes[at] = value,
                    1 => bytes.insert(at, value),
                    _ => { bytes.remove(at); }
                }
                if bytes.is_empty() { break; }
            }
            if let Some(cut) = cut {
                bytes.truncate(usize::from(cut) % (bytes.len() + 1));
            }
            check_no_panic(&bytes);
        }
    }
}

/// `probe` reports the same format and size as a full decode, for every fixture format.
#[test]
fn probe_agrees_with_decode() {
    let all = fixtures::all();
    let mut compared = 0;
    for fixture in &all {
        let Ok(img) = decode_default(&fixture.bytes) else { continue };
        compared += 1;
        let info = mediahash::decode::probe(&fixture.bytes).unwrap();
        assert_eq!(
            (info.format, info.width, info.height),
            (img.format, img.width, img.height),
            "{}",
            fixture.name
        );
        assert_eq!(
            mediahash::decode::detect_format(&fixture.bytes),
            Some(img.format),
            "{}",
            fixture.name
        );
    }
    // Only the few deliberately undecodable fixtures may be left out.
    assert!(compared * 10 >= all.len() * 9, "only {compared} of {} fixtures decoded", all.len());
}

/// The guard of the "never panics" tests must see a panic that the code under test caught.
#[test]
fn assert_no_panic_fails_on_a_caught_panic() {
    let outcome = std::panic::catch_unwind(|| {
        common::assert_no_panic("self-test", || {
            let _ = std::panic::catch_unwind(|| panic!("deliberate panic, caught (self-test)"));
        })
    });
    let message = outcome.expect_err("a caught panic went unnoticed");
    let message = message.downcast_ref::<String>().expect("assert_eq! message");
    assert!(message.contains("self-test: 1 panic(s) caught"), "{message}");
    common::assert_no_panic("no panic", || ());
}
