//! PDQ, Meta's 256-bit perceptual image hash, bit-exact with the C++ reference core
//! (facebook/ThreatExchange `pdq/cpp`): the same hash, quality and 8 dihedral hashes for the
//! same RGB8 pixels, including the float32 rounding of every step.
//!
//! # For examiners
//!
//! * **Matching.** Two PDQ hashes match when their Hamming [`distance`](PdqHash::distance) is
//!   at most 31 of 256 bits (upstream's recommendation, also used by ThreatExchange/HMA).
//! * **Quality.** Every hash comes with a quality from 0 to 100. Never treat a hash whose
//!   quality is below [`QUALITY_THRESHOLD`] (50) as match-worthy: featureless images (flat
//!   colour, near-blank scans) have hashes set by rounding noise and collide with each other.
//!   Images with a side under 5 pixels get the all-zero hash with quality 0.
//! * **Convention.** Hashes depend on whether the image was pre-resized. The default,
//!   [`PdqConvention::FullResolution`], is what the C++ library, Java, python-threatexchange,
//!   HMA and the `pdqhash` Python package produce. [`PdqConvention::Cli512`] reproduces the
//!   C++ command-line tool `pdq-photo-hasher`, which squashes any image larger than 512 px to
//!   512x512 first; on extreme aspect ratios the two differ by more than the match threshold.
//!   Every result records the convention that produced it: compare like with like.
//! * **Orientation.** No EXIF orientation is applied (no reference implementation does). The
//!   8 [dihedral](pdq_dihedral_from_rgb) hashes cover all 8 EXIF orientations: query with all
//!   of them to match regardless of rotation or mirroring.
//! * **Decoding.** The hash is defined on RGB8 pixels. Which decoder produced them matters for
//!   JPEG (libjpeg-turbo reproduces the reference exactly); that is the decoder's concern.
//!
//! # Text form
//!
//! 64 lower-case hex digits, exactly the C++ `Hash256::format()` string: the big-endian
//! 256-bit number whose bit k (k = 16 * row + column of the 16x16 DCT block) is set when that
//! coefficient exceeds the median. [`PdqHash`]'s 32 bytes are that string hex-decoded, the
//! same bytes as FAISS/HMA `unhexlify(hex)` and perception's base64.

mod dct;
mod downscale;

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::AtomicBool;

use serde::{Deserialize, Serialize};
use thiserror::Error;

pub use dct::DCT_MATRIX;
use downscale::LumaSource;

/// Minimum quality for a hash to be used for matching. Upstream (`pdq/README.md`) says to
/// discard hashes of quality 49 or less; python-threatexchange refuses to emit them. Low-quality
/// hashes come from images with little structure and match each other spuriously.
pub const QUALITY_THRESHOLD: u8 = 50;

/// Names of the dihedral variants in [`PdqDihedral::hashes`] order (the order of the C++ CLI's
/// `--pdqdih-across` output and of `pdqhash.compute_dihedral`): [`Dihedral::as_str`] of
/// [`Dihedral::ALL`].
pub const DIHEDRAL_NAMES: [&str; 8] =
    ["orig", "rot90", "rot180", "rot270", "flipx", "flipy", "flipplus1", "flipminus1"];

/// One of the 8 rotations and flips of an image (the dihedral group of the square), in
/// [`PdqDihedral::hashes`] order: the index of a variant there is `dihedral as usize`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
pub enum Dihedral {
    /// The image as stored.
    #[default]
    #[serde(rename = "orig")]
    Original = 0,
    /// Rotated 90° counter-clockwise.
    #[serde(rename = "rot90")]
    Rot90 = 1,
    /// Rotated 180°.
    #[serde(rename = "rot180")]
    Rot180 = 2,
    /// Rotated 270° counter-clockwise.
    #[serde(rename = "rot270")]
    Rot270 = 3,
    /// Flipped top-to-bottom.
    #[serde(rename = "flipx")]
    FlipX = 4,
    /// Flipped left-to-right.
    #[serde(rename = "flipy")]
    FlipY = 5,
    /// Transposed about the main diagonal.
    #[serde(rename = "flipplus1")]
    FlipPlus1 = 6,
    /// Transposed about the anti-diagonal.
    #[serde(rename = "flipminus1")]
    FlipMinus1 = 7,
}

impl Dihedral {
    /// The 8 variants in [`PdqDihedral::hashes`] order.
    pub const ALL: [Dihedral; 8] = [
        Dihedral::Original,
        Dihedral::Rot90,
        Dihedral::Rot180,
        Dihedral::Rot270,
        Dihedral::FlipX,
        Dihedral::FlipY,
        Dihedral::FlipPlus1,
        Dihedral::FlipMinus1,
    ];

    /// The name the reference tools use (`orig`, `rot90`, ..., `flipminus1`).
    pub fn as_str(self) -> &'static str {
        DIHEDRAL_NAMES[self as usize]
    }

    /// The variant at `index` in [`PdqDihedral::hashes`] order, if `index < 8`.
    pub fn from_index(index: usize) -> Option<Dihedral> {
        Dihedral::ALL.get(index).copied()
    }

    /// The variant with this [`Dihedral::as_str`] name.
    pub fn from_name(name: &str) -> Option<Dihedral> {
        DIHEDRAL_NAMES.iter().position(|n| *n == name).and_then(Dihedral::from_index)
    }
}

impl fmt::Display for Dihedral {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Images with a side shorter than this hash to all zeros with quality 0 (C++
/// `MIN_HASHABLE_DIM`).
const MIN_HASHABLE_SIDE: usize = 5;

/// Side of the square the C++ CLI resizes large images to.
const CLI_SIDE: usize = 512;

/// A 256-bit PDQ hash.
///
/// The bytes are the hex-decoded C++ `format()` string (a big-endian 256-bit number), so
/// `to_hex` gives exactly the string the reference tools print.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct PdqHash(pub [u8; 32]);

/// A string that is not a PDQ hash.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PdqParseError {
    /// 32 hex characters: a 128-bit value (an MD5, or a truncated hash) where a PDQ hash was
    /// expected. Such values occur in real feeds (ThreatExchange issue #1609).
    #[error(
        "a PDQ hash has 64 hex characters (256 bits) but this value has 32, like an MD5 or a \
         truncated hash; check which field of the source this came from"
    )]
    LooksLike128Bit,
    /// Any other wrong length.
    #[error(
        "a PDQ hash has 64 hex characters (256 bits), found {found}; check the value is complete and has no prefix or spaces"
    )]
    Length {
        /// Characters found.
        found: usize,
    },
    /// A character that is not a hex digit.
    #[error(
        "invalid character {character:?} at position {position} of a PDQ hash; only 0-9, a-f and A-F are allowed"
    )]
    Character {
        /// The offending character.
        character: char,
        /// Its position, counted in characters from 0.
        position: usize,
    },
}

impl PdqHash {
    /// The hash as the reference tools print it: 64 lower-case hex digits.
    pub fn to_hex(&self) -> String {
        crate::hex::encode(&self.0)
    }

    /// Parses exactly 64 hex digits (either case). Anything else is refused with a reason,
    /// including 32-digit values, which are not PDQ hashes. Surrounding whitespace is not
    /// accepted: trim first if your source pads values.
    pub fn from_hex(s: &str) -> Result<Self, PdqParseError> {
        match s.chars().count() {
            64 => {}
            32 => return Err(PdqParseError::LooksLike128Bit),
            found => return Err(PdqParseError::Length { found }),
        }
        if let Some((position, character)) =
            s.chars().enumerate().find(|(_, c)| !c.is_ascii_hexdigit())
        {
            return Err(PdqParseError::Character { character, position });
        }
        // 64 ASCII hex digits: decoding cannot fail, but map rather than unwrap.
        crate::hex::decode_fixed::<32>(s)
            .map(PdqHash)
            .map_err(|_| PdqParseError::Length { found: s.len() })
    }

    /// Hamming distance: the number of differing bits, 0 to 256. Match at ≤ 31.
    pub fn distance(&self, other: &Self) -> u32 {
        let mut d = 0;
        for (a, b) in self.0.chunks_exact(8).zip(other.0.chunks_exact(8)) {
            let mut x = [0u8; 8];
            let mut y = [0u8; 8];
            x.copy_from_slice(a);
            y.copy_from_slice(b);
            d += (u64::from_ne_bytes(x) ^ u64::from_ne_bytes(y)).count_ones();
        }
        d
    }

    /// Bit `k` in the C++ numbering: k = 16 * i + j is 1 when DCT coefficient (i, j)
    /// (vertical frequency i + 1, horizontal j + 1) exceeds the median. Every `u8` is a valid
    /// index.
    pub fn bit(&self, k: u8) -> bool {
        let k = usize::from(k);
        self.0[31 - k / 8] >> (k % 8) & 1 == 1
    }

    /// True for the all-zero hash, which images under 5 pixels get. Never match on it.
    pub fn is_zero(&self) -> bool {
        self.0.iter().all(|&b| b == 0)
    }
}

impl fmt::Display for PdqHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for PdqHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PdqHash({})", self.to_hex())
    }
}

impl FromStr for PdqHash {
    type Err = PdqParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PdqHash::from_hex(s)
    }
}

/// Which pre-processing convention produced a hash. Hashes of different conventions should
/// not be compared without knowing this: they differ by 0–10 bits on ordinary photos and by
/// far more on extreme aspect ratios.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PdqConvention {
    /// The image at its own resolution: the C++ library, Java, python-threatexchange, HMA,
    /// the `pdqhash` Python package. The one to use unless a hash set says otherwise.
    #[default]
    FullResolution,
    /// The C++ command-line tool `pdq-photo-hasher`: when width or height exceeds 512, the
    /// RGB8 image is first resized to exactly 512x512 (aspect ratio not kept) by CImg's
    /// nearest-neighbour rule, source index floor(x * W / 512).
    Cli512,
}

impl PdqConvention {
    /// Short stable name for reports: `"full"` or `"512"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            PdqConvention::FullResolution => "full",
            PdqConvention::Cli512 => "512",
        }
    }
}

impl fmt::Display for PdqConvention {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A PDQ hash with its quality and the convention that produced it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PdqResult {
    /// The hash.
    pub hash: PdqHash,
    /// 0–100; below [`QUALITY_THRESHOLD`] the hash is not fit for matching.
    pub quality: u8,
    /// How the image was pre-processed.
    pub convention: PdqConvention,
}

/// The 8 dihedral PDQ hashes of an image (all computed from one DCT, as the C++ does), with
/// quality and convention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PdqDihedral {
    /// In [`DIHEDRAL_NAMES`] order: original; rotated 90° counter-clockwise, 180°, 270°;
    /// flipped top-to-bottom (flipx), left-to-right (flipy); transposed about the main
    /// diagonal (flipplus1) and about the anti-diagonal (flipminus1). Each is what the
    /// transformed image would hash to, to within a few bits (exact up to the box-filter
    /// asymmetry). Do not pick a "minimal" one as a canonical hash (upstream warns against it).
    pub hashes: [PdqHash; 8],
    /// 0–100, shared by all 8.
    pub quality: u8,
    /// How the image was pre-processed.
    pub convention: PdqConvention,
}

/// PDQF: the 16x16 DCT coefficients before thresholding, with quality and convention. Useful
/// for research and for float-vector comparisons; thresholding it at its median gives the
/// PDQ hash ([`Pdqf::to_hash`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pdqf {
    /// `coefficients[i][j]`: vertical frequency i + 1, horizontal frequency j + 1 (the DC row
    /// and column are not part of PDQ). All zero for images under 5 pixels.
    pub coefficients: [[f32; 16]; 16],
    /// 0–100, as for the hash.
    pub quality: u8,
    /// How the image was pre-processed.
    pub convention: PdqConvention,
}

impl Pdqf {
    /// The PDQ hash: bit set where a coefficient exceeds the (lower) median.
    pub fn to_hash(&self) -> PdqHash {
        PdqHash(dct::to_bits(&self.coefficients))
    }
}

/// An image that cannot be hashed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PdqError {
    /// A side of zero pixels: there is nothing to hash (the decoder returned no image).
    #[error(
        "image is {width}x{height} pixels: a side of 0 cannot be hashed; check the decoder's output"
    )]
    EmptyImage {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
    },
    /// The pixel buffer does not hold `width * height * 3` bytes.
    #[error(
        "RGB buffer has {actual} bytes but a {width}x{height} image needs {expected} (width * height * 3, rows tightly packed, no padding or alpha)"
    )]
    BufferLength {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// Bytes required.
        expected: usize,
        /// Bytes given.
        actual: usize,
    },
    /// The float luma buffer of [`pdq_from_luma`] does not hold `width * height` values.
    #[error(
        "luma buffer has {actual} values but a {width}x{height} image needs {expected} (width * height, one float per pixel, rows tightly packed)"
    )]
    LumaLength {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// Values required.
        expected: usize,
        /// Values given.
        actual: usize,
    },
    /// `width * height * 3` does not fit in memory addresses on this platform.
    #[error("image of {width}x{height} pixels is too large to address on this platform")]
    TooLarge {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
    },
    /// Working memory could not be allocated.
    #[error(
        "could not allocate {bytes} bytes of working memory for PDQ; free memory or hash fewer images at once"
    )]
    OutOfMemory {
        /// Bytes requested.
        bytes: usize,
    },
    /// The caller's cancel flag was set while hashing (only when hashing runs under a cancel
    /// flag, as in [`crate::analyze`] with `AnalyzeOptions::cancel`): no hash.
    #[error("PDQ hashing stopped: cancelled by the caller")]
    Cancelled,
}

/// The 16x16 DCT coefficients, `[vertical frequency - 1][horizontal frequency - 1]`.
type DctBlock = [[f32; 16]; 16];

/// Checks the buffer and picks the pixels the convention hashes.
fn luma_source(
    width: u32,
    height: u32,
    rgb: &[u8],
    convention: PdqConvention,
) -> Result<LumaSource<'_>, PdqError> {
    if width == 0 || height == 0 {
        return Err(PdqError::EmptyImage { width, height });
    }
    let (w, h) = (width as usize, height as usize);
    let expected = w
        .checked_mul(h)
        .and_then(|p| p.checked_mul(3))
        .ok_or(PdqError::TooLarge { width, height })?;
    if rgb.len() != expected {
        return Err(PdqError::BufferLength { width, height, expected, actual: rgb.len() });
    }
    Ok(match convention {
        PdqConvention::Cli512 if w > CLI_SIDE || h > CLI_SIDE => {
            LumaSource::resized(rgb, w, h, CLI_SIDE, CLI_SIDE)
        }
        _ => LumaSource::full(rgb, w, h),
    })
}

/// The 16x16 DCT and quality, or `None` for images under 5 pixels. `shortcut_64` mirrors the
/// C++: the plain hash (`pdqFloat256FromFloatLuma`) copies a 64x64 input without filtering,
/// the dihedral function always filters (window 1 still goes through the running sum, which
/// can round differently).
fn dct_and_quality(
    src: &LumaSource<'_>,
    shortcut_64: bool,
    cancel: Option<&AtomicBool>,
) -> Result<Option<(DctBlock, u8)>, PdqError> {
    if src.width < MIN_HASHABLE_SIDE || src.height < MIN_HASHABLE_SIDE {
        return Ok(None);
    }
    let mut block = [[0.0f32; 64]; 64];
    if shortcut_64 && src.width == 64 && src.height == 64 {
        downscale::copy_64x64(src, &mut block);
    } else {
        downscale::downsample(src, &mut block, cancel)?;
    }
    let quality = dct::quality(&block);
    Ok(Some((dct::dct64_to_16(&block), quality)))
}

/// PDQ hash and quality of an RGB8 image (`rgb`: rows top to bottom, pixels left to right,
/// 3 bytes each, no padding; `rgb.len() == width * height * 3`).
///
/// Images with a side under 5 pixels (after the convention's resize) give the all-zero hash
/// with quality 0. A side of 0 is an error, as is a buffer of the wrong length.
///
/// ```
/// use mediahash::perceptual::pdq::{pdq_from_rgb, PdqConvention, QUALITY_THRESHOLD};
///
/// // A 256x192 colour gradient under a wave, and the same picture at half size.
/// let image = |w: u32, h: u32| -> Vec<u8> {
///     (0..w * h)
///         .flat_map(|i| {
///             let (x, y) = (f64::from(i % w) / f64::from(w), f64::from(i / w) / f64::from(h));
///             let wave = 70.0 * (13.0 * x + 7.0 * y).sin() * (11.0 * y - 5.0 * x).cos();
///             [80.0 + 100.0 * x + wave, 80.0 + 100.0 * y + wave, 128.0 + wave].map(|c| c as u8)
///         })
///         .collect()
/// };
/// let full = pdq_from_rgb(256, 192, &image(256, 192), PdqConvention::FullResolution)?;
/// let half = pdq_from_rgb(128, 96, &image(128, 96), PdqConvention::FullResolution)?;
/// assert_eq!(full.hash.to_hex().len(), 64);
/// assert!(full.quality >= QUALITY_THRESHOLD, "quality {}", full.quality);
/// // The resized copy matches: distance (20 here) within the usual threshold of 31.
/// assert!(full.hash.distance(&half.hash) <= 31, "{} vs {}", full.hash, half.hash);
/// // A buffer that is not width * height * 3 bytes is refused.
/// assert!(pdq_from_rgb(160, 120, &[0; 10], PdqConvention::FullResolution).is_err());
/// # Ok::<(), mediahash::perceptual::pdq::PdqError>(())
/// ```
pub fn pdq_from_rgb(
    width: u32,
    height: u32,
    rgb: &[u8],
    convention: PdqConvention,
) -> Result<PdqResult, PdqError> {
    pdq_from_rgb_cancellable(width, height, rgb, convention, None)
}

/// [`pdq_from_rgb`] that stops with [`PdqError::Cancelled`] soon after `cancel` is set.
pub(crate) fn pdq_from_rgb_cancellable(
    width: u32,
    height: u32,
    rgb: &[u8],
    convention: PdqConvention,
    cancel: Option<&AtomicBool>,
) -> Result<PdqResult, PdqError> {
    let src = luma_source(width, height, rgb, convention)?;
    Ok(match dct_and_quality(&src, true, cancel)? {
        None => PdqResult { hash: PdqHash::default(), quality: 0, convention },
        Some((b, quality)) => PdqResult { hash: PdqHash(dct::to_bits(&b)), quality, convention },
    })
}

/// The 8 dihedral PDQ hashes (see [`PdqDihedral`]) of an RGB8 image, in one pass. Same input
/// rules as [`pdq_from_rgb`]. `hashes[0]` equals its hash, except possibly for an image of
/// exactly 64x64 pixels, where the C++ plain hash skips the box filter and the C++ dihedral
/// function does not (both are reproduced; the filter's running sum can round differently).
///
/// ```
/// use mediahash::perceptual::pdq::{
///     pdq_dihedral_from_rgb, pdq_from_rgb, Dihedral, PdqConvention,
/// };
///
/// let (w, h) = (96u32, 72u32);
/// let pixel = |x: u32, y: u32| {
///     let v = ((x * x + 3 * y * y + 5 * x * y) % 251) as u8;
///     [v, v / 2, 255 - v]
/// };
/// let image: Vec<u8> = (0..w * h).flat_map(|i| pixel(i % w, i / w)).collect();
/// // The same picture mirrored left-to-right.
/// let mirrored: Vec<u8> = (0..w * h).flat_map(|i| pixel(w - 1 - i % w, i / w)).collect();
///
/// let variants = pdq_dihedral_from_rgb(w, h, &image, PdqConvention::FullResolution)?;
/// let query = pdq_from_rgb(w, h, &mirrored, PdqConvention::FullResolution)?.hash;
/// let flipy = variants.hashes[Dihedral::FlipY as usize];
/// assert!(query.distance(&flipy) <= 31, "{query} vs {flipy}");
/// # Ok::<(), mediahash::perceptual::pdq::PdqError>(())
/// ```
pub fn pdq_dihedral_from_rgb(
    width: u32,
    height: u32,
    rgb: &[u8],
    convention: PdqConvention,
) -> Result<PdqDihedral, PdqError> {
    pdq_dihedral_from_rgb_cancellable(width, height, rgb, convention, None)
}

/// [`pdq_dihedral_from_rgb`] that stops with [`PdqError::Cancelled`] soon after `cancel` is
/// set.
pub(crate) fn pdq_dihedral_from_rgb_cancellable(
    width: u32,
    height: u32,
    rgb: &[u8],
    convention: PdqConvention,
    cancel: Option<&AtomicBool>,
) -> Result<PdqDihedral, PdqError> {
    let src = luma_source(width, height, rgb, convention)?;
    let mut hashes = [PdqHash::default(); 8];
    let mut quality = 0;
    if let Some((b, q)) = dct_and_quality(&src, false, cancel)? {
        quality = q;
        for (hash, block) in hashes.iter_mut().zip(dct::dihedral_blocks(&b)) {
            *hash = PdqHash(dct::to_bits(&block));
        }
    }
    Ok(PdqDihedral { hashes, quality, convention })
}

/// PDQ of a luma image given as floats (row-major, `luma.len() == width * height`): the C++
/// `pdqHash256FromFloatLuma` entry point, for callers that compute luma their own way. The
/// Python package uses it to reproduce the `pdqhash` package bit for bit: pdqhash computes
/// luma in float64 (numpy) and rounds it to float32, where [`pdq_from_rgb`] uses the C++
/// float32 formula; the two luma images differ in the last bit for some pixels, which moves
/// a hash bit on rare pictures (a hard-edged checkerboard, for one). Same rules as
/// [`pdq_from_rgb`] otherwise (full resolution; under 5 pixels the zero hash, quality 0).
///
/// ```
/// use mediahash::perceptual::pdq::{pdq_from_luma, pdq_from_rgb, PdqConvention};
///
/// let (w, h) = (40u32, 30u32);
/// let rgb: Vec<u8> = (0..w * h * 3).map(|i| (i * 37 % 251) as u8).collect();
/// // The C++ float32 formula gives the same hash as pdq_from_rgb.
/// let luma: Vec<f32> = rgb
///     .chunks_exact(3)
///     .map(|p| 0.299f32 * f32::from(p[0]) + 0.587f32 * f32::from(p[1]) + 0.114f32 * f32::from(p[2]))
///     .collect();
/// let a = pdq_from_luma(w, h, &luma)?;
/// let b = pdq_from_rgb(w, h, &rgb, PdqConvention::FullResolution)?;
/// assert_eq!((a.hash, a.quality), (b.hash, b.quality));
/// assert!(pdq_from_luma(w, h, &luma[1..]).is_err());
/// # Ok::<(), mediahash::perceptual::pdq::PdqError>(())
/// ```
pub fn pdq_from_luma(width: u32, height: u32, luma: &[f32]) -> Result<PdqResult, PdqError> {
    let src = float_luma_source(width, height, luma)?;
    let convention = PdqConvention::FullResolution;
    Ok(match dct_and_quality(&src, true, None)? {
        None => PdqResult { hash: PdqHash::default(), quality: 0, convention },
        Some((b, quality)) => PdqResult { hash: PdqHash(dct::to_bits(&b)), quality, convention },
    })
}

/// The 8 dihedral PDQ hashes of a float luma image (C++
/// `pdqDihedralHash256esFromFloatLuma`); input rules as [`pdq_from_luma`].
pub fn pdq_dihedral_from_luma(
    width: u32,
    height: u32,
    luma: &[f32],
) -> Result<PdqDihedral, PdqError> {
    let src = float_luma_source(width, height, luma)?;
    let mut hashes = [PdqHash::default(); 8];
    let mut quality = 0;
    if let Some((b, q)) = dct_and_quality(&src, false, None)? {
        quality = q;
        for (hash, block) in hashes.iter_mut().zip(dct::dihedral_blocks(&b)) {
            *hash = PdqHash(dct::to_bits(&block));
        }
    }
    Ok(PdqDihedral { hashes, quality, convention: PdqConvention::FullResolution })
}

fn float_luma_source(width: u32, height: u32, luma: &[f32]) -> Result<LumaSource<'_>, PdqError> {
    if width == 0 || height == 0 {
        return Err(PdqError::EmptyImage { width, height });
    }
    let expected = (width as usize)
        .checked_mul(height as usize)
        .ok_or(PdqError::TooLarge { width, height })?;
    if luma.len() != expected {
        return Err(PdqError::LumaLength { width, height, expected, actual: luma.len() });
    }
    Ok(LumaSource::luma(luma, width as usize, height as usize))
}

/// PDQF: the 16x16 float DCT before thresholding (C++ `pdqFloat256FromFloatLuma`), with
/// quality. Same input rules as [`pdq_from_rgb`]; under 5 pixels the coefficients are all zero
/// and the quality 0, consistent with the hash.
pub fn pdqf_from_rgb(
    width: u32,
    height: u32,
    rgb: &[u8],
    convention: PdqConvention,
) -> Result<Pdqf, PdqError> {
    let src = luma_source(width, height, rgb, convention)?;
    let (coefficients, quality) =
        dct_and_quality(&src, true, None)?.unwrap_or(([[0.0; 16]; 16], 0));
    Ok(Pdqf { coefficients, quality, convention })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_cancel_flag_stops_hashing() {
        let (set, clear) = (AtomicBool::new(true), AtomicBool::new(false));
        let rgb: Vec<u8> = (0..200 * 150 * 3).map(|i| (i * 13 % 253) as u8).collect();
        let full = PdqConvention::FullResolution;
        assert_eq!(
            pdq_from_rgb_cancellable(200, 150, &rgb, full, Some(&set)),
            Err(PdqError::Cancelled)
        );
        assert_eq!(
            pdq_dihedral_from_rgb_cancellable(200, 150, &rgb, full, Some(&set)),
            Err(PdqError::Cancelled)
        );
        assert_eq!(
            pdq_from_rgb_cancellable(200, 150, &rgb, full, Some(&clear)),
            pdq_from_rgb(200, 150, &rgb, full)
        );
        assert_eq!(
            pdq_dihedral_from_rgb_cancellable(200, 150, &rgb, full, Some(&clear)),
            pdq_dihedral_from_rgb(200, 150, &rgb, full)
        );
    }
}
