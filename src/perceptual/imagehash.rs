//! pHash, dHash and aHash exactly as Python `imagehash` 4.3.2 computes them on
//! `Image.open(path)`, bit for bit, so hash lists made with `imagehash` match ours.
//!
//! Every `imagehash` function starts with Pillow's `convert('L')` and
//! `resize(size, Image.Resampling.LANCZOS)`; both are reproduced here exactly:
//!
//! * greyscale: `L = (19595 R + 38470 G + 7471 B + 0x8000) >> 16` (ITU-R 601 weights in
//!   16-bit fixed point, rounded), checked against Pillow for all 2^24 colours;
//! * resize: Pillow's two-pass fixed-point Lanczos-3 ([`Luma8::resize_lanczos`]);
//! * pHash: `scipy.fftpack.dct` along columns then rows of the 32x32 image, reproduced with
//!   SciPy's own FFT algorithm and rounding (see `dct.rs`), top-left 8x8 including DC,
//!   bit = coefficient > `numpy.median` (mean of the 32nd and 33rd smallest);
//! * dHash: 9x8 (width x height), bit = right neighbour > left; vertical dHash: 8x9,
//!   bit = lower > upper; aHash: 8x8, bit = pixel > mean.
//!
//! Bits are read row-major, the first becoming the most significant bit of a [`Hash64`];
//! its hex form is `imagehash`'s `str(hash)` (16 lower-case digits).
//!
//! Input is RGB8 as Pillow's `convert('RGB')` produces it. For greyscale, palette, 1-bit and
//! alpha images, `convert('L')` of the RGB expansion equals Pillow's direct `convert('L')`,
//! so one RGB entry point covers every mode.

mod dct;
mod resample;

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};

use thiserror::Error;

use crate::hex::HexError;

/// A bad image handed to the `imagehash` functions.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ImageHashError {
    /// One side is zero pixels: there is nothing to hash or to resize to.
    #[error(
        "image is {width}x{height} pixels; both sides must be at least 1 (check the decoder \
         output)"
    )]
    EmptyImage {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
    },
    /// The pixel buffer does not hold `width * height * channels` bytes.
    #[error(
        "pixel buffer for a {width}x{height} image with {channels} channel(s) must be \
         {expected} bytes, got {actual}; pass the decoder's tightly packed buffer unchanged"
    )]
    BufferLength {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// Bytes per pixel (3 for RGB8, 1 for greyscale).
        channels: u8,
        /// `width * height * channels`.
        expected: usize,
        /// The length of the buffer given.
        actual: usize,
    },
    /// `width * height * channels` does not fit in memory addresses on this platform.
    #[error("a {width}x{height} image is too large to address on this platform")]
    TooLarge {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
    },
    /// The caller's cancel flag was set while hashing (only when hashing runs under a cancel
    /// flag, as in [`crate::analyze`] with `AnalyzeOptions::cancel`): no hash.
    #[error("pHash/dHash/aHash computation stopped: cancelled by the caller")]
    Cancelled,
}

/// A 64-bit `imagehash` value: bit 63 is the first (top-left) element of the bit matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Hash64(pub u64);

impl Hash64 {
    /// `imagehash`'s `str(hash)`: 16 lower-case hex digits, most significant first.
    pub fn to_hex(&self) -> String {
        format!("{:016x}", self.0)
    }

    /// Parses exactly 16 hex digits (either case), as written by [`Hash64::to_hex`] or
    /// `imagehash`.
    pub fn from_hex(text: &str) -> Result<Self, HexError> {
        crate::hex::decode_fixed::<8>(text).map(|b| Hash64(u64::from_be_bytes(b)))
    }

    /// Hamming distance: the number of differing bits (`imagehash`'s `h1 - h2`).
    pub fn distance(&self, other: &Hash64) -> u32 {
        (self.0 ^ other.0).count_ones()
    }

    /// Packs bits, first bit most significant (the order `imagehash` flattens its matrix).
    fn from_bits(bits: impl IntoIterator<Item = bool>) -> Self {
        Hash64(bits.into_iter().fold(0u64, |acc, bit| (acc << 1) | u64::from(bit)))
    }
}

impl fmt::Display for Hash64 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl FromStr for Hash64 {
    type Err = HexError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Hash64::from_hex(s)
    }
}

/// An 8-bit greyscale image (Pillow mode "L"), row-major, at least 1x1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Luma8 {
    width: u32,
    height: u32,
    pixels: Vec<u8>,
}

/// `width * height * channels` as a buffer length, or the matching error.
fn buffer_len(width: u32, height: u32, channels: u8) -> Result<usize, ImageHashError> {
    if width == 0 || height == 0 {
        return Err(ImageHashError::EmptyImage { width, height });
    }
    usize::try_from(u64::from(width) * u64::from(height))
        .ok()
        .and_then(|n| n.checked_mul(usize::from(channels)))
        .ok_or(ImageHashError::TooLarge { width, height })
}

fn check_len(
    width: u32,
    height: u32,
    channels: u8,
    actual: usize,
) -> Result<usize, ImageHashError> {
    let expected = buffer_len(width, height, channels)?;
    if actual != expected {
        return Err(ImageHashError::BufferLength { width, height, channels, expected, actual });
    }
    Ok(expected)
}

impl Luma8 {
    /// Wraps greyscale pixels; `pixels.len()` must be `width * height`.
    pub fn new(width: u32, height: u32, pixels: Vec<u8>) -> Result<Self, ImageHashError> {
        check_len(width, height, 1, pixels.len())?;
        Ok(Luma8 { width, height, pixels })
    }

    /// Pillow's `convert('L')` of tightly packed RGB8 (`rgb.len() == width * height * 3`).
    pub fn from_rgb(width: u32, height: u32, rgb: &[u8]) -> Result<Self, ImageHashError> {
        check_len(width, height, 3, rgb.len())?;
        Ok(Luma8 { width, height, pixels: resample::rgb_to_luma(rgb) })
    }

    /// Width in pixels (at least 1).
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels (at least 1).
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Row-major pixels, `width * height` bytes.
    pub fn pixels(&self) -> &[u8] {
        &self.pixels
    }

    /// The row-major pixels, `width * height` bytes, without a copy.
    pub fn into_pixels(self) -> Vec<u8> {
        self.pixels
    }

    /// Pillow's `resize((width, height), Image.Resampling.LANCZOS)` for mode "L", bit for bit
    /// (no `reducing_gap`, full-image `box`: Pillow's defaults, as `imagehash` calls it).
    pub fn resize_lanczos(&self, width: u32, height: u32) -> Result<Luma8, ImageHashError> {
        buffer_len(width, height, 1)?;
        let pixels = resample::resize_lanczos(
            &self.pixels,
            self.width as usize,
            self.height as usize,
            width as usize,
            height as usize,
        );
        Ok(Luma8 { width, height, pixels })
    }

    fn resized(&self, width: u32, height: u32) -> Vec<u8> {
        resample::resize_lanczos(
            &self.pixels,
            self.width as usize,
            self.height as usize,
            width as usize,
            height as usize,
        )
    }
}

/// Hash side length (`imagehash`'s default `hash_size=8`).
const HASH_SIZE: usize = 8;

/// `imagehash.phash(image)`: DCT of the 32x32 Lanczos thumbnail, top-left 8x8 (DC included)
/// compared with their median. Any size of image, up- or downscaled to 32x32.
///
/// ```
/// use mediahash::perceptual::imagehash::{phash, Luma8};
///
/// // A 64x48 pattern, the same pattern at twice the size, and a different pattern.
/// let pattern = |w: u32, h: u32, f: f64| -> Luma8 {
///     let px = (0..w * h).map(|i| {
///         let (x, y) = (f64::from(i % w) / f64::from(w), f64::from(i / w) / f64::from(h));
///         (127.5 + 127.0 * (f * x * 3.0 + 2.0 * y).sin() * (5.0 * y - f * x).cos()) as u8
///     });
///     Luma8::new(w, h, px.collect()).unwrap()
/// };
/// let small = phash(&pattern(64, 48, 1.0));
/// let large = phash(&pattern(128, 96, 1.0));
/// let other = phash(&pattern(64, 48, 2.5));
/// assert_eq!(small.to_hex().len(), 16);
/// // Resizing moves few bits (none here); a different picture many (36 here).
/// assert!(small.distance(&large) <= 4, "{small} vs {large}");
/// assert!(small.distance(&other) >= 16, "{small} vs {other}");
/// # Ok::<(), mediahash::perceptual::imagehash::ImageHashError>(())
/// ```
pub fn phash(image: &Luma8) -> Hash64 {
    let side = dct::N as u32;
    phash_of_thumbnail(&image.resized(side, side))
}

fn phash_of_thumbnail(thumb: &[u8]) -> Hash64 {
    let coefficients = dct::Dct32::default().transform_2d(thumb);
    let mut low = [0f64; HASH_SIZE * HASH_SIZE];
    for (y, row) in coefficients.iter().take(HASH_SIZE).enumerate() {
        low[y * HASH_SIZE..][..HASH_SIZE].copy_from_slice(&row[..HASH_SIZE]);
    }
    let mut sorted = low;
    sorted.sort_unstable_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    // numpy.median of an even count: mean of the two middle values, i.e. (a + b) / 2.
    let median = (sorted[mid - 1] + sorted[mid]) / 2.0;
    Hash64::from_bits(low.iter().map(|&c| c > median))
}

/// `imagehash.dhash(image)`: 9x8 thumbnail, bit = pixel to the right > pixel.
pub fn dhash(image: &Luma8) -> Hash64 {
    dhash_of_thumbnail(&image.resized(HASH_SIZE as u32 + 1, HASH_SIZE as u32))
}

fn dhash_of_thumbnail(thumb: &[u8]) -> Hash64 {
    Hash64::from_bits(
        thumb.chunks_exact(HASH_SIZE + 1).flat_map(|row| row.windows(2).map(|p| p[1] > p[0])),
    )
}

/// `imagehash.dhash_vertical(image)`: 8x9 thumbnail, bit = pixel below > pixel.
pub fn dhash_vertical(image: &Luma8) -> Hash64 {
    let thumb = image.resized(HASH_SIZE as u32, HASH_SIZE as u32 + 1);
    Hash64::from_bits((0..HASH_SIZE * HASH_SIZE).map(|i| thumb[i + HASH_SIZE] > thumb[i]))
}

/// `imagehash.average_hash(image)`: 8x8 thumbnail, bit = pixel > mean of the 64 pixels.
pub fn average_hash(image: &Luma8) -> Hash64 {
    average_hash_of_thumbnail(&image.resized(HASH_SIZE as u32, HASH_SIZE as u32))
}

fn average_hash_of_thumbnail(thumb: &[u8]) -> Hash64 {
    // numpy.mean is sum / 64, exact in float64, so `p > mean` is `64 p > sum` in integers.
    let sum: u32 = thumb.iter().map(|&p| u32::from(p)).sum();
    Hash64::from_bits(thumb.iter().map(|&p| u32::from(p) * thumb.len() as u32 > sum))
}

/// The three hashes most hash lists carry, from one greyscale conversion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ImageHashes {
    /// `imagehash.phash`.
    pub phash: Hash64,
    /// `imagehash.dhash` (horizontal).
    pub dhash: Hash64,
    /// `imagehash.average_hash`.
    pub ahash: Hash64,
}

/// pHash, dHash and aHash of a tightly packed RGB8 image (`rgb.len() == width * height * 3`),
/// as `imagehash` computes them on the same pixels. Errors: an empty image or a buffer of
/// the wrong length ([`ImageHashError`]).
///
/// ```
/// use mediahash::perceptual::imagehash::{imagehashes_from_rgb, phash, Luma8};
///
/// let (w, h) = (40u32, 30u32);
/// let rgb: Vec<u8> = (0..w * h).flat_map(|i| [(i % w * 6) as u8, (i / w * 8) as u8, 90]).collect();
/// let hashes = imagehashes_from_rgb(w, h, &rgb)?;
/// // The same as converting to greyscale first, as imagehash does.
/// assert_eq!(hashes.phash, phash(&Luma8::from_rgb(w, h, &rgb)?));
/// assert!(imagehashes_from_rgb(w, h, &rgb[1..]).is_err());
/// # Ok::<(), mediahash::perceptual::imagehash::ImageHashError>(())
/// ```
pub fn imagehashes_from_rgb(
    width: u32,
    height: u32,
    rgb: &[u8],
) -> Result<ImageHashes, ImageHashError> {
    imagehashes_from_rgb_cancellable(width, height, rgb, None)
}

/// [`imagehashes_from_rgb`] that stops with [`ImageHashError::Cancelled`] soon after `cancel`
/// is set: every 64 rows of the usual streaming pass, between the steps of the other path
/// (tall or very narrow images: greyscale copy, then one resize per hash).
pub(crate) fn imagehashes_from_rgb_cancellable(
    width: u32,
    height: u32,
    rgb: &[u8],
    cancel: Option<&AtomicBool>,
) -> Result<ImageHashes, ImageHashError> {
    check_len(width, height, 3, rgb.len())?;
    let side = dct::N;
    let sizes = [(side, side), (HASH_SIZE + 1, HASH_SIZE), (HASH_SIZE, HASH_SIZE)];
    // Most images: one streaming pass, no full-size greyscale copy (same bytes either way).
    if let Some(thumbs) =
        resample::stream_rgb_resizes(rgb, (width as usize, height as usize), &sizes, cancel)
    {
        let thumbs = thumbs?;
        return Ok(ImageHashes {
            phash: phash_of_thumbnail(&thumbs[0]),
            dhash: dhash_of_thumbnail(&thumbs[1]),
            ahash: average_hash_of_thumbnail(&thumbs[2]),
        });
    }
    let check = || {
        if cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
            Err(ImageHashError::Cancelled)
        } else {
            Ok(())
        }
    };
    let luma = Luma8::from_rgb(width, height, rgb)?;
    check()?;
    let phash = phash(&luma);
    check()?;
    let dhash = dhash(&luma);
    check()?;
    Ok(ImageHashes { phash, dhash, ahash: average_hash(&luma) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_distance() {
        let h = Hash64::from_hex("aca29c1c33dc23d7").unwrap();
        assert_eq!(h.0, 0xaca2_9c1c_33dc_23d7);
        assert_eq!(h.to_hex(), "aca29c1c33dc23d7");
        assert_eq!(h.to_string(), "aca29c1c33dc23d7");
        assert_eq!("ACA29C1C33DC23D7".parse::<Hash64>().unwrap(), h);
        assert_eq!(Hash64(0).to_hex(), "0000000000000000");
        assert_eq!(h.distance(&Hash64(h.0 ^ 0b1011)), 3);
        use crate::hex::HexError;
        let short = Hash64::from_hex("aca29c1c33dc23d");
        assert_eq!(short, Err(HexError::Length { expected: 16, found: 15 }));
        let long = Hash64::from_hex("aca29c1c33dc23d7a");
        assert_eq!(long, Err(HexError::Length { expected: 16, found: 17 }));
        let bad = Hash64::from_hex("aca29c1c33dc23dz");
        assert_eq!(bad, Err(HexError::Character { character: 'z', position: 15 }));
    }

    #[test]
    fn first_bit_is_most_significant() {
        assert_eq!(Hash64::from_bits([true].into_iter().chain([false; 63])).0, 1 << 63);
        assert_eq!(Hash64::from_bits([false; 63].into_iter().chain([true])).0, 1);
    }

    #[test]
    fn luma_weights() {
        use resample::pillow_luma;
        assert_eq!(pillow_luma(255, 255, 255), 255);
        assert_eq!(pillow_luma(0, 0, 0), 0);
        assert_eq!(pillow_luma(255, 0, 0), 76);
        assert_eq!(pillow_luma(0, 255, 0), 150);
        assert_eq!(pillow_luma(0, 0, 255), 29);
        for v in 0..=255 {
            assert_eq!(pillow_luma(v, v, v), v);
        }
    }

    #[test]
    fn bad_buffers_are_typed_errors() {
        assert_eq!(
            imagehashes_from_rgb(2, 2, &[0; 11]),
            Err(ImageHashError::BufferLength {
                width: 2,
                height: 2,
                channels: 3,
                expected: 12,
                actual: 11
            })
        );
        assert_eq!(
            imagehashes_from_rgb(0, 5, &[]),
            Err(ImageHashError::EmptyImage { width: 0, height: 5 })
        );
        assert!(matches!(Luma8::new(3, 3, vec![0; 8]), Err(ImageHashError::BufferLength { .. })));
        let img = Luma8::new(1, 1, vec![9]).unwrap();
        assert_eq!(
            img.resize_lanczos(4, 0),
            Err(ImageHashError::EmptyImage { width: 4, height: 0 })
        );
        let msg = imagehashes_from_rgb(2, 2, &[0; 11]).unwrap_err().to_string();
        assert!(msg.contains("must be 12 bytes, got 11"), "{msg}");
    }

    #[test]
    fn a_set_cancel_flag_stops_both_paths() {
        let flag = AtomicBool::new(true);
        let clear = AtomicBool::new(false);
        let rgb: Vec<u8> = (0..300 * 200 * 3).map(|i| (i * 7 % 251) as u8).collect();
        // 300x200 streams; 20x300 (vertical-first) converts to grey and resizes per hash.
        for (w, h) in [(300, 200), (20, 300)] {
            let rgb = &rgb[..w * h * 3];
            let (w, h) = (w as u32, h as u32);
            assert_eq!(
                imagehashes_from_rgb_cancellable(w, h, rgb, Some(&flag)),
                Err(ImageHashError::Cancelled),
                "{w}x{h}"
            );
            assert_eq!(
                imagehashes_from_rgb_cancellable(w, h, rgb, Some(&clear)),
                imagehashes_from_rgb(w, h, rgb)
            );
        }
    }

    #[test]
    fn flat_image_hashes() {
        let h = imagehashes_from_rgb(100, 80, &vec![128; 100 * 80 * 3]).unwrap();
        assert_eq!(h.phash, Hash64(1 << 63));
        assert_eq!(h.dhash, Hash64(0));
        assert_eq!(h.ahash, Hash64(0));
    }
}

/// Bit-exactness against the live reference libraries on thousands of random cases. Run
/// `scripts/imagehash_vectors.py --stress DIR` with the reference venv, then
/// `MEDIAHASH_IMAGEHASH_STRESS=DIR cargo test --lib -- --ignored stress`.
#[cfg(test)]
mod stress {
    use super::*;

    fn dir() -> std::path::PathBuf {
        std::env::var_os("MEDIAHASH_IMAGEHASH_STRESS")
            .expect("set MEDIAHASH_IMAGEHASH_STRESS to the --stress output directory")
            .into()
    }

    fn u32_at(b: &[u8], at: usize) -> usize {
        u32::from_le_bytes(b[at..at + 4].try_into().unwrap()) as usize
    }

    #[test]
    #[ignore = "needs cases generated by scripts/imagehash_vectors.py --stress"]
    fn stress_resize_matches_pillow() {
        let data = std::fs::read(dir().join("resize.bin")).unwrap();
        let (mut at, mut cases, mut bad) = (0, 0, 0);
        while at < data.len() {
            let (w, h, ow, oh) = (
                u32_at(&data, at),
                u32_at(&data, at + 4),
                u32_at(&data, at + 8),
                u32_at(&data, at + 12),
            );
            at += 16;
            let input = &data[at..at + w * h];
            at += w * h;
            let expected = &data[at..at + ow * oh];
            at += ow * oh;
            let got = resample::resize_lanczos(input, w, h, ow, oh);
            if got != expected {
                bad += 1;
                let diffs = got.iter().zip(expected).filter(|(a, b)| a != b).count();
                eprintln!("{w}x{h} -> {ow}x{oh}: {diffs} pixels differ");
            }
            cases += 1;
        }
        eprintln!("{cases} resize cases, {bad} mismatches");
        assert!(cases > 0);
        assert_eq!(bad, 0);
    }

    #[test]
    #[ignore = "needs cases generated by scripts/imagehash_vectors.py --stress"]
    fn stress_dct_matches_scipy() {
        let data = std::fs::read(dir().join("dct.bin")).unwrap();
        let record = 1024 + 1024 * 8;
        let dct = dct::Dct32::default();
        let (mut cases, mut bad) = (0, 0);
        for rec in data.chunks_exact(record) {
            let got = dct.transform_2d(&rec[..1024]);
            let mismatched = (0..1024)
                .filter(|&i| {
                    let want = f64::from_le_bytes(rec[1024 + 8 * i..][..8].try_into().unwrap());
                    got[i / 32][i % 32].to_bits() != want.to_bits()
                })
                .count();
            if mismatched > 0 {
                bad += 1;
                eprintln!("case {cases}: {mismatched} coefficients differ");
            }
            cases += 1;
        }
        eprintln!("{cases} DCT cases, {bad} mismatches");
        assert!(cases > 0);
        assert_eq!(bad, 0);
    }

    #[test]
    #[ignore = "needs cases generated by scripts/imagehash_vectors.py --stress"]
    fn stress_hashes_match_imagehash() {
        let data = std::fs::read(dir().join("hashes.bin")).unwrap();
        let (mut at, mut cases, mut bad) = (0, 0, 0);
        while at < data.len() {
            let (w, h) = (u32_at(&data, at), u32_at(&data, at + 4));
            at += 8;
            let luma = Luma8::new(w as u32, h as u32, data[at..at + w * h].to_vec()).unwrap();
            at += w * h;
            let want: Vec<u64> = (0..4)
                .map(|i| u64::from_le_bytes(data[at + 8 * i..][..8].try_into().unwrap()))
                .collect();
            at += 32;
            let got = [phash(&luma), dhash(&luma), dhash_vertical(&luma), average_hash(&luma)]
                .map(|h| h.0);
            let rgb: Vec<u8> = luma.pixels().iter().flat_map(|&v| [v, v, v]).collect();
            let combined = imagehashes_from_rgb(w as u32, h as u32, &rgb).unwrap();
            assert_eq!(
                [combined.phash.0, combined.dhash.0, combined.ahash.0],
                [got[0], got[1], got[3]]
            );
            if got[..] != want[..] {
                bad += 1;
                eprintln!("{w}x{h}: ours {got:x?} imagehash {want:x?}");
            }
            cases += 1;
        }
        eprintln!("{cases} hash cases, {bad} mismatches");
        assert!(cases > 0);
        assert_eq!(bad, 0);
    }
}
