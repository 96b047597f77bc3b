//! One file through digests, sniffed decoding and perceptual hashes.

use std::io::Write;

use mediahash::analyze::{AnalyzeOptions, ImageError, analyze_bytes, analyze_file, analyze_reader};
use mediahash::decode::{DecodeError, ImageFormat, JpegScale};
use mediahash::digest::{DigestOptions, digest_bytes};

fn jpeg_bytes() -> Vec<u8> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::read(root.join("tests/data/jpeg/shapes-q85-420.jpg")).unwrap()
}

fn png_bytes() -> Vec<u8> {
    let mut out = Vec::new();
    let img =
        image::RgbImage::from_fn(70, 50, |x, y| image::Rgb([(x * 3) as u8, (y * 5) as u8, 90]));
    img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png).unwrap();
    out
}

#[test]
fn image_gets_digests_and_all_hashes() {
    let bytes = jpeg_bytes();
    let a = analyze_bytes(&bytes, &AnalyzeOptions { dihedral: true, ..Default::default() });
    assert_eq!(a.size, bytes.len() as u64);
    assert_eq!(a.digests, digest_bytes(&bytes, DigestOptions::default()));
    let image = a.image.expect("decoded");
    assert_eq!((image.format, image.width, image.height), (ImageFormat::Jpeg, 640, 480));
    assert_eq!(image.scale_denom, 1);
    // Reference values from tests/vectors/jpeg-pipeline.csv.
    let pdq = a.pdq.unwrap();
    assert_eq!(
        pdq.hash.to_hex(),
        "e3f1638b138e99569c56fc79e071a3700389568b9c8eec6ee07e8b749b10748b"
    );
    assert_eq!(pdq.quality, 88);
    assert_eq!(a.pdq_dihedral.unwrap()[0], pdq.hash);
    assert_eq!(a.imagehashes.unwrap().phash.to_hex(), "f8e884973739b868");
    assert!(a.image_error.is_none());
}

#[test]
fn format_comes_from_content_not_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("holiday.jpg");
    std::fs::write(&path, png_bytes()).unwrap();
    let a = analyze_file(&path, &AnalyzeOptions::default()).unwrap();
    assert_eq!(a.image.unwrap().format, ImageFormat::Png);

    let path = dir.path().join("notes.txt");
    std::fs::write(&path, jpeg_bytes()).unwrap();
    let a = analyze_file(&path, &AnalyzeOptions::default()).unwrap();
    assert_eq!(a.image.unwrap().format, ImageFormat::Jpeg);
}

#[test]
fn non_image_gets_digests_only() {
    let a = analyze_bytes(b"just some text\n", &AnalyzeOptions::default());
    assert!(a.image.is_none() && a.pdq.is_none() && a.imagehashes.is_none());
    assert!(a.image_error.is_none());
    assert_eq!(a.digests.md5_hex(), "bb5d5468825bd75754e4935466e24da0");
}

#[test]
fn broken_image_gets_digests_and_an_error() {
    let mut bytes = jpeg_bytes();
    bytes.truncate(bytes.len() / 2);
    let a = analyze_bytes(&bytes, &AnalyzeOptions::default());
    assert_eq!(a.digests, digest_bytes(&bytes, DigestOptions::default()));
    assert!(a.image.is_none() && a.pdq.is_none());
    assert!(
        matches!(a.image_error, Some(ImageError::Decode(DecodeError::Truncated { .. }))),
        "{:?}",
        a.image_error
    );
}

#[test]
fn reader_and_bytes_agree_across_buffer_boundaries() {
    // An image larger than the read buffer, read in small pieces.
    let img = image::RgbImage::from_fn(700, 600, |x, y| {
        image::Rgb([((x * y) % 251) as u8, (x % 253) as u8, (y % 241) as u8])
    });
    let mut png = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png).unwrap();
    assert!(png.len() > mediahash::digest::READ_BUFFER_SIZE);
    let opts = AnalyzeOptions::default();
    let from_reader = analyze_reader(SmallReads(&png), &opts).unwrap();
    assert_eq!(from_reader, analyze_bytes(&png, &opts));
    assert!(from_reader.pdq.is_some());
}

#[test]
fn files_over_the_image_limit_are_digested_not_decoded() {
    let bytes = png_bytes();
    let opts = AnalyzeOptions { max_image_file_bytes: 100, ..Default::default() };
    let a = analyze_reader(&bytes[..], &opts).unwrap();
    assert_eq!(a.digests, digest_bytes(&bytes, DigestOptions::default()));
    assert!(matches!(a.image_error, Some(ImageError::FileTooLarge { limit: 100, .. })));
    let b = analyze_bytes(&bytes, &opts);
    assert_eq!(a, b);
}

#[test]
fn perceptual_off_skips_decoding() {
    let a =
        analyze_bytes(&jpeg_bytes(), &AnalyzeOptions { perceptual: false, ..Default::default() });
    assert!(a.image.is_none() && a.pdq.is_none() && a.image_error.is_none());
}

#[test]
fn fast_mode_records_its_scale() {
    // 1031x517 JPEG: with min_side 128 libjpeg can reduce by 4 (517/4 = 130 >= 128).
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(root.join("tests/data/jpeg/stripes-1031x517-q75-420.jpg")).unwrap();
    let mut opts = AnalyzeOptions::default();
    opts.decode.jpeg_scale = JpegScale::Fast { min_side: 128 };
    let a = analyze_bytes(&bytes, &opts);
    let image = a.image.unwrap();
    assert_eq!((image.width, image.height, image.scale_denom), (1031, 517, 4));
    assert_eq!((image.decoded_width, image.decoded_height), (258, 130));
}

#[test]
fn evidence_open_is_read_only_and_keeps_atime() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("evidence.bin");
    std::fs::File::create(&path).unwrap().write_all(b"evidence").unwrap();
    let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000);
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_times(std::fs::FileTimes::new().set_accessed(old))
        .unwrap();
    let (file, noatime) = mediahash::analyze::open_evidence_with(&path, false).unwrap();
    let a = analyze_reader(file, &AnalyzeOptions::default()).unwrap();
    assert_eq!(a.size, 8);
    let accessed = std::fs::metadata(&path).unwrap().accessed().unwrap();
    if noatime {
        assert_eq!(accessed, old, "O_NOATIME was in effect, yet the access time changed");
    }
    // A symlink is not followed unless asked.
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&path, &link).unwrap();
    let refused = mediahash::analyze::open_evidence(&link).unwrap_err();
    assert_eq!(refused.raw_os_error(), Some(libc::ELOOP), "O_NOFOLLOW refusal: {refused}");
    let (mut followed, _) = mediahash::analyze::open_evidence_with(&link, true).unwrap();
    let mut content = Vec::new();
    std::io::Read::read_to_end(&mut followed, &mut content).unwrap();
    assert_eq!(content, std::fs::read(&path).unwrap(), "the link's target was opened");
}

/// A reader that returns at most 1000 bytes per call, to exercise buffer joins.
struct SmallReads<'a>(&'a [u8]);
impl std::io::Read for SmallReads<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(1000).min(self.0.len());
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}
