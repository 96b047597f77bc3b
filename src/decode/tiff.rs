//! TIFF, first image (IFD), through the `tiff` crate's raw samples, converted as Pillow 13
//! (libtiff) + `convert('RGB')` does:
//!
//! * bilevel: 0/255 after the photometric interpretation (WhiteIsZero inverted);
//! * 2/4/8-bit grey: scaled to 8 bits (×85, ×17), replicated; 16-bit grey clamped to 255;
//! * grey + extra sample (alpha): the grey sample;
//! * RGB/RGBA 8-bit as stored, alpha dropped; 16-bit: high byte;
//! * CMYK 8-bit: Pillow's CMYK formula on the stored (not inverted) inks.
//!
//! Palette (RGBPalette), YCbCr, Lab, float and other sample layouts are refused as
//! unsupported: the `tiff` crate cannot deliver them (palette) or there is no verified
//! Pillow-identical conversion. JPEG-compressed TIFFs are decoded by the `tiff` crate's
//! JPEG decoder (zune-jpeg), not libjpeg, so their pixels may differ slightly from Pillow's;
//! such results carry a warning.

use std::io::Cursor;

use ::tiff::ColorType;
use ::tiff::decoder::{Decoder, DecodingResult};
use ::tiff::tags::Tag;

use super::{DecodeError, ImageFormat, Job, Limits, MemoryReservation, RgbImage, SourceColor};

const FORMAT: ImageFormat = ImageFormat::Tiff;

fn map_error(err: ::tiff::TiffError, limits: &Limits) -> DecodeError {
    use ::tiff::TiffError;
    match err {
        TiffError::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            DecodeError::Truncated { format: FORMAT }
        }
        TiffError::LimitsExceeded => DecodeError::AllocationLimit {
            format: FORMAT,
            needed: limits.max_alloc_bytes.saturating_add(1),
            limit: limits.max_alloc_bytes,
        },
        TiffError::UnsupportedError(e) => {
            DecodeError::Unsupported { format: FORMAT, message: e.to_string() }
        }
        other => DecodeError::Corrupt { format: FORMAT, message: other.to_string() },
    }
}

fn unsupported(message: String) -> DecodeError {
    DecodeError::Unsupported { format: FORMAT, message }
}

fn open<R: std::io::Read + std::io::Seek>(
    input: R,
    limits: &Limits,
) -> Result<Decoder<R>, DecodeError> {
    let mut tiff_limits = ::tiff::decoder::Limits::default();
    let cap = usize::try_from(limits.max_alloc_bytes).unwrap_or(usize::MAX);
    tiff_limits.decoding_buffer_size = cap;
    tiff_limits.intermediate_buffer_size = tiff_limits.intermediate_buffer_size.min(cap);
    Decoder::new(input).map(|d| d.with_limits(tiff_limits)).map_err(|e| map_error(e, limits))
}

pub(super) fn probe(bytes: &[u8]) -> Result<(u32, u32), DecodeError> {
    let limits = Limits { max_alloc_bytes: u64::MAX, ..Limits::default() };
    open(Cursor::new(bytes), &limits)?.dimensions().map_err(|e| map_error(e, &limits))
}

/// Unpacks `bits`-bit grey samples (rows padded to whole bytes) to 8 bits.
fn unpack_grey(data: &[u8], width: usize, height: usize, bits: u8, out: &mut [u8]) {
    let row_bytes = (width * usize::from(bits)).div_ceil(8);
    let max = (1u16 << bits) - 1;
    let mut pixel = out.chunks_exact_mut(3);
    for row in data.chunks(row_bytes).take(height) {
        for x in 0..width {
            let bit = x * usize::from(bits);
            let byte = row.get(bit / 8).copied().unwrap_or(0);
            let value = (byte >> (8 - usize::from(bits) - bit % 8)) as u16 & max;
            if let Some(dst) = pixel.next() {
                dst.fill((value * 255 / max) as u8);
            }
        }
    }
}

pub(super) fn decode(
    bytes: &[u8],
    job: &Job<'_>,
) -> Result<(RgbImage, MemoryReservation), DecodeError> {
    let limits = &job.limits;
    let map = |e| map_error(e, limits);
    // Reads through the cancel-aware reader: a strip or tile being read stops the decode.
    let mut decoder = open(job.reader(bytes), limits)?;
    let (width, height) = decoder.dimensions().map_err(map)?;
    limits.check_dimensions(FORMAT, width, height)?;
    let color = decoder.colortype().map_err(map)?;
    let photometric: Option<u16> =
        decoder.find_tag_unsigned(Tag::PhotometricInterpretation).map_err(map)?;
    let compression: Option<u16> = decoder.find_tag_unsigned(Tag::Compression).map_err(map)?;
    let (source_color, samples, bits) = match color {
        ColorType::Gray(1) => (SourceColor::Bilevel, 1usize, 1u8),
        ColorType::Gray(b @ (2 | 4 | 8)) => (SourceColor::Grey8, 1, b),
        ColorType::Gray(16) => (SourceColor::Grey16, 1, 16),
        // Grey plus one extra sample (alpha), BlackIsZero only: the tiff crate does not
        // invert multi-sample WhiteIsZero data.
        ColorType::Multiband { bit_depth: 8, num_samples: 2 } if photometric == Some(1) => {
            (SourceColor::GreyAlpha8, 2, 8)
        }
        ColorType::RGB(8) => (SourceColor::Rgb8, 3, 8),
        ColorType::RGB(16) => (SourceColor::Rgb16, 3, 16),
        ColorType::RGBA(8) => (SourceColor::Rgba8, 4, 8),
        ColorType::RGBA(16) => (SourceColor::Rgba16, 4, 16),
        ColorType::CMYK(8) => (SourceColor::Cmyk, 4, 8),
        other => return Err(unsupported(format!("{other:?} samples"))),
    };
    let pixel_count = u64::from(width) * u64::from(height);
    let decoded_bytes = (pixel_count * samples as u64 * u64::from(bits)).div_ceil(8);
    let working = decoded_bytes.saturating_add(pixel_count * 3);
    limits.check_alloc(FORMAT, working)?;
    let reservation = job.reserve(FORMAT, working, pixel_count)?;
    let decoded = decoder.read_image().map_err(map)?;
    job.check_cancel()?;
    let mut pixels = super::alloc_zeroed(FORMAT, pixel_count * 3, limits)?;
    let (w, h) = (width as usize, height as usize);
    match (&decoded, bits) {
        (DecodingResult::U8(data), 1 | 2 | 4) => unpack_grey(data, w, h, bits, &mut pixels),
        (DecodingResult::U8(data), 8) => {
            let short = || DecodeError::Truncated { format: FORMAT };
            let data = data.get(..w * h * samples).ok_or_else(short)?;
            for (dst, src) in pixels.chunks_exact_mut(3).zip(data.chunks_exact(samples)) {
                match source_color {
                    SourceColor::Grey8 | SourceColor::GreyAlpha8 => dst.fill(src[0]),
                    SourceColor::Cmyk => dst.copy_from_slice(&super::pillow_cmyk_to_rgb([
                        src[0], src[1], src[2], src[3],
                    ])),
                    _ => dst.copy_from_slice(&src[..3]),
                }
            }
        }
        (DecodingResult::U16(data), 16) => {
            let short = || DecodeError::Truncated { format: FORMAT };
            let data = data.get(..w * h * samples).ok_or_else(short)?;
            for (dst, src) in pixels.chunks_exact_mut(3).zip(data.chunks_exact(samples)) {
                if samples == 1 {
                    // Pillow opens 16-bit grey as I;16 and clamps it to 8 bits.
                    dst.fill(src[0].min(255) as u8);
                } else {
                    for (d, &s) in dst.iter_mut().zip(src) {
                        *d = (s >> 8) as u8;
                    }
                }
            }
        }
        _ => return Err(unsupported(format!("{color:?} delivered in an unexpected sample type"))),
    }
    let jpeg_compressed = matches!(compression, Some(6 | 7));
    let image = RgbImage {
        width,
        height,
        pixels,
        format: FORMAT,
        source_width: width,
        source_height: height,
        scale_denom: 1,
        source_color,
        warning_count: u32::from(jpeg_compressed),
        first_warning: jpeg_compressed.then(|| {
            "JPEG-compressed TIFF decoded by zune-jpeg, not libjpeg: pixels may differ slightly \
             from Pillow's"
                .to_string()
        }),
    };
    Ok((image, reservation))
}
