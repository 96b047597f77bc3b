//! The `image_hasher` crate's perceptual hashes (Mean, Median, Gradient, VertGradient,
//! DoubleGradient, Blockhash; optional DCT preprocessing) on mediahash's RGB8 buffers.
//!
//! **These are not `imagehash`-compatible.** `image_hasher` converts to grey with image-rs's
//! Rec. 709 weights (truncated), resizes with image-rs filters, runs its DCT in `f32` on a
//! 2x-size thumbnail, compares with `>=`, and packs bits LSB-first by default. Hashes from
//! Python `imagehash` (or hash lists made with it) must be matched with
//! [`super::imagehash`] instead; `Median` + DCT + `MsbFirst` is only *close* to
//! `imagehash.phash` (about 2 of 64 bits on average, up to 12; see
//! `shared/design/perceptual.md` §6.3).
//!
//! Use this module to interoperate with tools built on `image_hasher` / `img_hash` (for example
//! czkawka) or for Blockhash, which has no `imagehash` counterpart here. Output is the
//! crate's byte layout (`ImageHash::as_bytes`) for the configured bit order.

use image::RgbImage;
use image_hasher::{BitOrder, FilterType, HashAlg, HasherConfig};
use thiserror::Error;

use super::imagehash::{ImageHashError, check_len};

/// An `image_hasher` algorithm (see that crate's `HashAlg` for the definitions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImgHashAlgorithm {
    /// Thumbnail pixels compared with their (integer) mean.
    Mean,
    /// Thumbnail pixels compared with their median.
    Median,
    /// Horizontal neighbour comparisons on a `(width + 1) x height` thumbnail.
    Gradient,
    /// Vertical neighbour comparisons on a `width x (height + 1)` thumbnail.
    VertGradient,
    /// Both directions on a `(width/2 + 1) x (height/2 + 1)` thumbnail; sides rounded up to
    /// even. Yields `2 (w/2) (h/2 + 1)` bits for a square `w x h` hash: 40 bits at 8x8.
    DoubleGradient,
    /// Blockhash.io on the full image (no resize, no DCT); sides rounded up to multiples of 4.
    Blockhash,
}

/// Resize filter for the thumbnail (image-rs `FilterType`; ignored by Blockhash).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImgHashFilter {
    Nearest,
    Triangle,
    CatmullRom,
    Gaussian,
    Lanczos3,
}

/// How the algorithm's bit sequence is packed into bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImgHashBitOrder {
    /// First bit in the least significant bit of the first byte (`image_hasher`'s default).
    LsbFirst,
    /// First bit in the most significant bit of the first byte (as `imagehash` prints).
    MsbFirst,
}

/// Settings for [`image_hasher_hash`]. The default is `image_hasher`'s: Gradient, 8x8,
/// Lanczos3, no DCT, LSB-first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ImgHashConfig {
    pub algorithm: ImgHashAlgorithm,
    /// Hash width in bits (1..=64; DoubleGradient/Blockhash round up as noted above).
    pub width: u32,
    /// Hash height in bits (1..=64).
    pub height: u32,
    /// Resize to twice the hash size, take the low-frequency corner of an `f32` DCT, then
    /// apply the algorithm (the `image_hasher` pHash recipe with `Median`).
    pub dct: bool,
    pub filter: ImgHashFilter,
    pub bit_order: ImgHashBitOrder,
}

impl Default for ImgHashConfig {
    fn default() -> Self {
        ImgHashConfig {
            algorithm: ImgHashAlgorithm::Gradient,
            width: 8,
            height: 8,
            dct: false,
            filter: ImgHashFilter::Lanczos3,
            bit_order: ImgHashBitOrder::LsbFirst,
        }
    }
}

/// Largest hash side accepted, in bits.
pub const MAX_HASH_SIDE: u32 = 64;

/// Why an `image_hasher` hash could not be computed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ImgHashError {
    /// The RGB buffer or its dimensions are unusable.
    #[error(transparent)]
    Image {
        #[from]
        source: ImageHashError,
    },
    /// The configured hash size is outside 1..=64 per side.
    #[error(
        "hash size {width}x{height} is not supported; each side must be between 1 and \
         {MAX_HASH_SIDE} bits"
    )]
    HashSize { width: u32, height: u32 },
    /// Blockhash sums each block in `u32`; this image's blocks are too large for that.
    #[error(
        "a {width}x{height} image has too many pixels per block for Blockhash at this hash \
         size; use a larger hash size or downscale the image first"
    )]
    BlockhashOverflow { width: u32, height: u32 },
}

/// Rounds `value` up to a multiple of `step` (as `image_hasher` does for some algorithms).
fn round_up(value: u32, step: u32) -> u32 {
    value.div_ceil(step) * step
}

/// Blockhash accumulates `3 * 255 * pixels-per-block` in `u32` (and computes its threshold
/// the same way); this says whether that cannot overflow.
fn blockhash_sums_fit((width, height): (u32, u32), (hash_w, hash_h): (u32, u32)) -> bool {
    let (blocks_x, blocks_y) = (u64::from(round_up(hash_w, 4)), u64::from(round_up(hash_h, 4)));
    let per_block =
        (u64::from(width).div_ceil(blocks_x) + 1) * (u64::from(height).div_ceil(blocks_y) + 1);
    per_block * 3 * 255 < u64::from(u32::MAX)
}

/// Hashes tightly packed RGB8 pixels (`rgb.len() == width * height * 3`) with
/// `image_hasher`. Returns the hash bytes (`ceil(bits / 8)` of them) in the configured bit
/// order. Not `imagehash`-compatible: see the module documentation.
pub fn image_hasher_hash(
    width: u32,
    height: u32,
    rgb: &[u8],
    config: &ImgHashConfig,
) -> Result<Vec<u8>, ImgHashError> {
    check_len(width, height, 3, rgb.len())?;
    let (hash_w, hash_h) = (config.width, config.height);
    if !(1..=MAX_HASH_SIDE).contains(&hash_w) || !(1..=MAX_HASH_SIDE).contains(&hash_h) {
        return Err(ImgHashError::HashSize { width: hash_w, height: hash_h });
    }
    let algorithm = match config.algorithm {
        ImgHashAlgorithm::Mean => HashAlg::Mean,
        ImgHashAlgorithm::Median => HashAlg::Median,
        ImgHashAlgorithm::Gradient => HashAlg::Gradient,
        ImgHashAlgorithm::VertGradient => HashAlg::VertGradient,
        ImgHashAlgorithm::DoubleGradient => HashAlg::DoubleGradient,
        ImgHashAlgorithm::Blockhash => {
            if !blockhash_sums_fit((width, height), (hash_w, hash_h)) {
                return Err(ImgHashError::BlockhashOverflow { width, height });
            }
            HashAlg::Blockhash
        }
    };
    let filter = match config.filter {
        ImgHashFilter::Nearest => FilterType::Nearest,
        ImgHashFilter::Triangle => FilterType::Triangle,
        ImgHashFilter::CatmullRom => FilterType::CatmullRom,
        ImgHashFilter::Gaussian => FilterType::Gaussian,
        ImgHashFilter::Lanczos3 => FilterType::Lanczos3,
    };
    let bit_order = match config.bit_order {
        ImgHashBitOrder::LsbFirst => BitOrder::LsbFirst,
        ImgHashBitOrder::MsbFirst => BitOrder::MsbFirst,
    };
    let mut builder = HasherConfig::new()
        .hash_alg(algorithm)
        .hash_size(hash_w, hash_h)
        .resize_filter(filter)
        .bit_order(bit_order);
    if config.dct {
        builder = builder.preproc_dct();
    }
    // `image_hasher` wants an owned 'static buffer; the length was checked above.
    let image = RgbImage::from_raw(width, height, rgb.to_vec())
        .ok_or(ImageHashError::TooLarge { width, height })?;
    Ok(builder.to_hasher().hash_image(&image).as_bytes().to_vec())
}

/// [`image_hasher_hash`] as lower-case hex.
pub fn image_hasher_hex(
    width: u32,
    height: u32,
    rgb: &[u8],
    config: &ImgHashConfig,
) -> Result<String, ImgHashError> {
    image_hasher_hash(width, height, rgb, config).map(|b| crate::hex::encode(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic test picture: gradient plus a bright square.
    fn picture(width: u32, height: u32) -> Vec<u8> {
        let mut rgb = Vec::with_capacity((width * height * 3) as usize);
        for y in 0..height {
            for x in 0..width {
                let inside = x > width / 4 && x < width / 2 && y > height / 3 && y < height * 2 / 3;
                let v = if inside { 250 } else { (x * 200 / width) as u8 };
                rgb.extend_from_slice(&[v, (y * 255 / height) as u8, v / 2]);
            }
        }
        rgb
    }

    const ALL: [ImgHashAlgorithm; 6] = [
        ImgHashAlgorithm::Mean,
        ImgHashAlgorithm::Median,
        ImgHashAlgorithm::Gradient,
        ImgHashAlgorithm::VertGradient,
        ImgHashAlgorithm::DoubleGradient,
        ImgHashAlgorithm::Blockhash,
    ];

    #[test]
    fn deterministic_and_sized() {
        let rgb = picture(120, 90);
        for algorithm in ALL {
            for dct in [false, true] {
                let config = ImgHashConfig { algorithm, dct, ..Default::default() };
                let a = image_hasher_hash(120, 90, &rgb, &config).unwrap();
                assert_eq!(a, image_hasher_hash(120, 90, &rgb, &config).unwrap());
                let bytes = if algorithm == ImgHashAlgorithm::DoubleGradient { 5 } else { 8 };
                assert_eq!(a.len(), bytes, "{algorithm:?} 8x8");
            }
        }
        let config = ImgHashConfig { width: 16, height: 16, ..Default::default() };
        assert_eq!(image_hasher_hash(120, 90, &rgb, &config).unwrap().len(), 32);
    }

    #[test]
    fn algorithms_differ() {
        let rgb = picture(200, 150);
        let hashes: Vec<Vec<u8>> = ALL
            .iter()
            .map(|&algorithm| {
                let config = ImgHashConfig { algorithm, ..Default::default() };
                image_hasher_hash(200, 150, &rgb, &config).unwrap()
            })
            .collect();
        for i in 0..hashes.len() {
            for j in i + 1..hashes.len() {
                assert_ne!(hashes[i], hashes[j], "{:?} vs {:?}", ALL[i], ALL[j]);
            }
        }
    }

    #[test]
    fn bit_order_reverses_bits_within_bytes() {
        let rgb = picture(64, 48);
        let lsb = image_hasher_hash(64, 48, &rgb, &ImgHashConfig::default()).unwrap();
        let config = ImgHashConfig { bit_order: ImgHashBitOrder::MsbFirst, ..Default::default() };
        let msb = image_hasher_hash(64, 48, &rgb, &config).unwrap();
        assert!(lsb.iter().any(|b| b.reverse_bits() != *b));
        assert_eq!(lsb.iter().map(|b| b.reverse_bits()).collect::<Vec<_>>(), msb);
        let hex = image_hasher_hex(64, 48, &rgb, &config).unwrap();
        assert_eq!(hex, crate::hex::encode(&msb));
    }

    #[test]
    fn bad_input_is_a_typed_error() {
        let config = ImgHashConfig::default();
        assert!(matches!(
            image_hasher_hash(4, 4, &[0; 47], &config),
            Err(ImgHashError::Image { source: ImageHashError::BufferLength { .. } })
        ));
        assert!(matches!(
            image_hasher_hash(0, 4, &[], &config),
            Err(ImgHashError::Image { source: ImageHashError::EmptyImage { .. } })
        ));
        for (width, height) in [(0, 8), (8, 0), (65, 8), (8, 1000)] {
            let config = ImgHashConfig { width, height, ..Default::default() };
            assert_eq!(
                image_hasher_hash(4, 4, &[0; 48], &config),
                Err(ImgHashError::HashSize { width, height })
            );
        }
    }

    #[test]
    fn blockhash_refuses_blocks_that_would_overflow() {
        assert!(blockhash_sums_fit((4000, 3000), (8, 8)));
        assert!(blockhash_sums_fit((6_000, 4_000), (4, 4)));
        assert!(!blockhash_sums_fit((12_000, 9_000), (4, 4)));
        assert!(!blockhash_sums_fit((20_000, 20_000), (4, 4)));
        assert!(!blockhash_sums_fit((u32::MAX, u32::MAX), (64, 64)));
        let msg = ImgHashError::BlockhashOverflow { width: 20_000, height: 20_000 }.to_string();
        assert!(msg.contains("20000x20000"), "{msg}");
    }

    #[test]
    fn tiny_images_and_odd_sizes_do_not_panic() {
        for (w, h) in [(1, 1), (1, 9), (9, 1), (3, 5)] {
            let rgb = picture(w, h);
            for algorithm in ALL {
                for (hw, hh) in [(1, 1), (3, 5), (8, 8), (64, 64)] {
                    for dct in [false, true] {
                        let config = ImgHashConfig {
                            algorithm,
                            width: hw,
                            height: hh,
                            dct,
                            ..Default::default()
                        };
                        image_hasher_hash(w, h, &rgb, &config).unwrap();
                    }
                }
            }
        }
    }
}
