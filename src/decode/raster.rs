//! PNG, BMP, TIFF, WebP and ICO through the `image` crate, converted to RGB8 as Pillow's
//! `convert('RGB')` does (see the module documentation of `decode`).

use std::io::Cursor;

use image::{ColorType, DynamicImage, ExtendedColorType, ImageDecoder, ImageError, ImageReader};

use super::{
    CancelReader, DecodeError, ImageFormat, Job, Limits, MemoryReservation, RgbImage, SourceColor,
};

/// Rows converted between two looks at the cancel flag.
const ROWS_PER_CANCEL_CHECK: usize = 64;

fn image_rs_format(format: ImageFormat) -> image::ImageFormat {
    match format {
        ImageFormat::Png => image::ImageFormat::Png,
        ImageFormat::Bmp => image::ImageFormat::Bmp,
        ImageFormat::Tiff => image::ImageFormat::Tiff,
        ImageFormat::WebP => image::ImageFormat::WebP,
        ImageFormat::Ico => image::ImageFormat::Ico,
        ImageFormat::Gif => image::ImageFormat::Gif,
        ImageFormat::Pnm => image::ImageFormat::Pnm,
        // JPEG never comes here (libjpeg decodes it; the image crate's JPEG support is
        // compiled in only for the review's thumbnail encoder).
        ImageFormat::Jpeg => image::ImageFormat::Jpeg,
    }
}

/// Maps an `image` error to ours. Truncation shows up as an I/O "unexpected end of file",
/// either directly or wrapped by the codec.
pub(super) fn map_error(format: ImageFormat, limits: &Limits, err: ImageError) -> DecodeError {
    match err {
        ImageError::Limits(_) => DecodeError::AllocationLimit {
            format,
            needed: limits.max_alloc_bytes.saturating_add(1),
            limit: limits.max_alloc_bytes,
        },
        ImageError::Unsupported(e) => DecodeError::Unsupported { format, message: e.to_string() },
        ImageError::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            DecodeError::Truncated { format }
        }
        other => {
            if is_truncation(&other) {
                DecodeError::Truncated { format }
            } else {
                DecodeError::Corrupt { format, message: other.to_string() }
            }
        }
    }
}

fn is_truncation(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = current {
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::UnexpectedEof
        {
            return true;
        }
        let text = e.to_string().to_ascii_lowercase();
        if text.contains("unexpected end") || text.contains("unexpected eof") {
            return true;
        }
        current = e.source();
    }
    false
}

pub(super) fn probe(format: ImageFormat, bytes: &[u8]) -> Result<(u32, u32), DecodeError> {
    let limits = Limits::default();
    let mut reader = ImageReader::with_format(Cursor::new(bytes), image_rs_format(format));
    reader.no_limits(); // only the header is read
    let decoder = reader.into_decoder().map_err(|e| map_error(format, &limits, e))?;
    Ok(decoder.dimensions())
}

/// What was stored, for [`RgbImage::source_color`]. The `image` crate expands palettes and
/// low bit depths, so PNG and BMP headers are consulted for those.
fn source_color(format: ImageFormat, bytes: &[u8], original: ExtendedColorType) -> SourceColor {
    match format {
        // IHDR is always first: bit depth at byte 24, colour type at byte 25.
        ImageFormat::Png => match (bytes.get(24), bytes.get(25)) {
            (_, Some(3)) => return SourceColor::Palette,
            (Some(1), Some(0)) => return SourceColor::Bilevel,
            _ => {}
        },
        // Bits per pixel at byte 28 of the info header (OS/2 1.x: byte 24).
        ImageFormat::Bmp => {
            let header_size =
                bytes.get(14..18).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
            let bpp_at = if header_size == Some(12) { 24 } else { 28 };
            if let Some(b) = bytes.get(bpp_at..bpp_at + 2)
                && u16::from_le_bytes([b[0], b[1]]) <= 8
            {
                return SourceColor::Palette;
            }
        }
        _ => {}
    }
    match original {
        ExtendedColorType::L1 => SourceColor::Bilevel,
        ExtendedColorType::L2 | ExtendedColorType::L4 | ExtendedColorType::L8 => SourceColor::Grey8,
        ExtendedColorType::La1
        | ExtendedColorType::La2
        | ExtendedColorType::La4
        | ExtendedColorType::La8 => SourceColor::GreyAlpha8,
        ExtendedColorType::L16 => SourceColor::Grey16,
        ExtendedColorType::La16 => SourceColor::GreyAlpha16,
        ExtendedColorType::Rgb16 => SourceColor::Rgb16,
        ExtendedColorType::Rgba16 => SourceColor::Rgba16,
        ExtendedColorType::Cmyk8 | ExtendedColorType::Cmyk16 => SourceColor::Cmyk,
        ExtendedColorType::Rgba1
        | ExtendedColorType::Rgba2
        | ExtendedColorType::Rgba4
        | ExtendedColorType::Rgba8
        | ExtendedColorType::Bgra8
        | ExtendedColorType::A8 => SourceColor::Rgba8,
        _ => SourceColor::Rgb8,
    }
}

/// Whether [`to_rgb8`] converts this layout inside the decoder's own buffer (so the decode
/// needs the larger of the two buffers, not both).
fn converts_in_place(color: ColorType) -> bool {
    matches!(color, ColorType::Rgb8 | ColorType::Rgba8 | ColorType::L8 | ColorType::La8)
}

pub(super) fn decode(
    format: ImageFormat,
    bytes: &[u8],
    job: &Job<'_>,
) -> Result<(RgbImage, MemoryReservation), DecodeError> {
    let limits = &job.limits;
    if format == ImageFormat::Bmp
        && let Some(result) = decode_bmp16(bytes, job)
    {
        return result;
    }
    if let Some((width, height)) = declared_size(format, bytes) {
        limits.check_dimensions(format, width, height)?;
    }
    let map = |e| map_error(format, limits, e);
    let mut reader: ImageReader<CancelReader<'_>> =
        ImageReader::with_format(job.reader(bytes), image_rs_format(format));
    let mut image_limits = image::Limits::no_limits();
    // Dimensions are checked below, by us, for a precise error; the allocation cap is
    // enforced by the codecs themselves as well.
    image_limits.max_alloc = Some(limits.max_alloc_bytes);
    reader.limits(image_limits);
    let decoder = reader.into_decoder().map_err(map)?;
    let (width, height) = decoder.dimensions();
    limits.check_dimensions(format, width, height)?;
    let source_color = source_color(format, bytes, decoder.original_color_type());
    // The decoded buffer and the RGB8 result exist at the same time, unless the conversion
    // happens inside the decoded buffer.
    let out_bytes = u64::from(width) * u64::from(height) * 3;
    let decoded_bytes = decoder.total_bytes();
    let working = if converts_in_place(decoder.color_type()) {
        decoded_bytes.max(out_bytes)
    } else {
        decoded_bytes.saturating_add(out_bytes)
    };
    limits.check_alloc(format, working)?;
    let reservation = job.reserve(format, working, u64::from(width) * u64::from(height))?;
    let image = DynamicImage::from_decoder(decoder).map_err(map)?;
    let pixels = to_rgb8(format, job, image)?;
    let image = RgbImage {
        width,
        height,
        pixels,
        format,
        source_width: width,
        source_height: height,
        scale_denom: 1,
        source_color,
        warning_count: 0,
        first_warning: None,
    };
    Ok((image, reservation))
}

/// Applies `convert` to `rows` rows of `row_in` bytes from `src` into rows of `row_out`
/// bytes of `dst`, looking at the cancel flag every few rows.
fn convert_rows<T>(
    job: &Job<'_>,
    src: &[T],
    row_in: usize,
    dst: &mut [u8],
    row_out: usize,
    convert: impl Fn(&[T], &mut [u8]),
) -> Result<(), DecodeError> {
    let block_in = row_in * ROWS_PER_CANCEL_CHECK;
    let block_out = row_out * ROWS_PER_CANCEL_CHECK;
    for (s, d) in src.chunks(block_in.max(1)).zip(dst.chunks_mut(block_out.max(1))) {
        job.check_cancel()?;
        convert(s, d);
    }
    Ok(())
}

/// Narrows `bpp`-byte pixels to RGB inside `buf` (front to back: pixel i's 3 bytes land at
/// 3i, at or before its own bytes at bpp*i, which were already read), then shortens it.
fn narrow_in_place(
    job: &Job<'_>,
    buf: &mut Vec<u8>,
    bpp: usize,
    pixel: impl Fn(&[u8]) -> [u8; 3],
) -> Result<(), DecodeError> {
    let count = buf.len() / bpp;
    for i in 0..count {
        if i.is_multiple_of(1 << 20) {
            job.check_cancel()?;
        }
        let rgb = pixel(&buf[bpp * i..bpp * i + bpp]);
        buf[3 * i..3 * i + 3].copy_from_slice(&rgb);
    }
    buf.truncate(3 * count);
    buf.shrink_to_fit();
    Ok(())
}

/// Widens `bpp`-byte pixels (bpp < 3) to RGB inside `buf`, grown to 3 bytes per pixel
/// (back to front: pixel i's 3 bytes land at 3i, after every byte of pixels 0..i).
fn widen_in_place(
    job: &Job<'_>,
    buf: &mut Vec<u8>,
    bpp: usize,
    format: ImageFormat,
    limits: &Limits,
    pixel: impl Fn(&[u8]) -> [u8; 3],
) -> Result<(), DecodeError> {
    let count = buf.len() / bpp;
    let out_len = count * 3;
    buf.try_reserve_exact(out_len - buf.len()).map_err(|_| DecodeError::AllocationLimit {
        format,
        needed: out_len as u64,
        limit: limits.max_alloc_bytes,
    })?;
    buf.resize(out_len, 0);
    for i in (0..count).rev() {
        if i.is_multiple_of(1 << 20) {
            job.check_cancel()?;
        }
        let rgb = pixel(&buf[bpp * i..bpp * i + bpp]);
        buf[3 * i..3 * i + 3].copy_from_slice(&rgb);
    }
    Ok(())
}

/// Pillow's conversions to RGB8 for each decoded layout (see the policy in `decode`).
/// 8-bit layouts are converted inside the decoder's buffer (a 16000x16000 RGB PNG then
/// needs 768 MB, not twice that); 16-bit ones into a new buffer.
fn to_rgb8(
    format: ImageFormat,
    job: &Job<'_>,
    image: DynamicImage,
) -> Result<Vec<u8>, DecodeError> {
    let limits = &job.limits;
    let (width, height) = (image.width() as usize, image.height() as usize);
    let out_len = width * height * 3;
    let color = image.color();
    let out = match image {
        DynamicImage::ImageRgb8(buf) => buf.into_raw(),
        DynamicImage::ImageRgba8(buf) => {
            let mut buf = buf.into_raw();
            narrow_in_place(job, &mut buf, 4, |p| [p[0], p[1], p[2]])?;
            buf
        }
        DynamicImage::ImageLuma8(buf) => {
            let mut buf = buf.into_raw();
            widen_in_place(job, &mut buf, 1, format, limits, |p| [p[0]; 3])?;
            buf
        }
        DynamicImage::ImageLumaA8(buf) => {
            let mut buf = buf.into_raw();
            widen_in_place(job, &mut buf, 2, format, limits, |p| [p[0]; 3])?;
            buf
        }
        // Pillow opens 16-bit grey as I;16 and clamps it to 8 bits.
        DynamicImage::ImageLuma16(buf) => {
            let mut out = super::alloc_zeroed(format, out_len as u64, limits)?;
            convert_rows(job, buf.as_raw(), width, &mut out, width * 3, |s, d| {
                for (dst, &v) in d.chunks_exact_mut(3).zip(s) {
                    dst.fill(v.min(255) as u8);
                }
            })?;
            out
        }
        DynamicImage::ImageLumaA16(buf) => {
            let mut out = super::alloc_zeroed(format, out_len as u64, limits)?;
            convert_rows(job, buf.as_raw(), width * 2, &mut out, width * 3, |s, d| {
                for (dst, src) in d.chunks_exact_mut(3).zip(s.chunks_exact(2)) {
                    dst.fill((src[0] >> 8) as u8);
                }
            })?;
            out
        }
        DynamicImage::ImageRgb16(buf) => {
            let mut out = super::alloc_zeroed(format, out_len as u64, limits)?;
            convert_rows(job, buf.as_raw(), width * 3, &mut out, width * 3, |s, d| {
                for (dst, &v) in d.iter_mut().zip(s) {
                    *dst = (v >> 8) as u8;
                }
            })?;
            out
        }
        DynamicImage::ImageRgba16(buf) => {
            let mut out = super::alloc_zeroed(format, out_len as u64, limits)?;
            convert_rows(job, buf.as_raw(), width * 4, &mut out, width * 3, |s, d| {
                for (dst, src) in d.chunks_exact_mut(3).zip(s.chunks_exact(4)) {
                    for (d, &s) in dst.iter_mut().zip(src) {
                        *d = (s >> 8) as u8;
                    }
                }
            })?;
            out
        }
        _ => {
            return Err(DecodeError::Unsupported {
                format,
                message: format!("{color:?} samples (floating-point images have no RGB8 policy)"),
            });
        }
    };
    debug_assert!(!matches!(color, ColorType::Rgb32F | ColorType::Rgba32F));
    // The codecs fill exactly width * height pixels; never hand on a buffer that is not.
    if out.len() != out_len {
        return Err(DecodeError::Corrupt {
            format,
            message: format!(
                "the decoder returned {} bytes for a {width}x{height} {color:?} image",
                out.len()
            ),
        });
    }
    Ok(out)
}

/// The size a PNG or BMP header declares, read directly so that limits are applied (with a
/// precise error) before the codec looks at it; the BMP codec has its own lower cap that
/// would otherwise report an oversized image as corrupt.
fn declared_size(format: ImageFormat, bytes: &[u8]) -> Option<(u32, u32)> {
    match format {
        ImageFormat::Png if bytes.get(12..16) == Some(b"IHDR") => {
            let be = |at: usize| {
                bytes.get(at..at + 4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
            };
            Some((be(16)?, be(20)?))
        }
        ImageFormat::Bmp => match le_u32(bytes, 14)? {
            12 => {
                let le16 = |at: usize| {
                    bytes.get(at..at + 2).map(|b| u32::from(u16::from_le_bytes([b[0], b[1]])))
                };
                Some((le16(18)?, le16(20)?))
            }
            _ => {
                let width = le_u32(bytes, 18)? as i32;
                let height = le_u32(bytes, 22)? as i32;
                Some((width.unsigned_abs(), height.unsigned_abs()))
            }
        },
        _ => None,
    }
}

fn le_u32(bytes: &[u8], at: usize) -> Option<u32> {
    bytes.get(at..at + 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// 16-bit BMPs, which the `image` crate widens differently from Pillow. Pillow accepts
/// BI_RGB (5-5-5) and BI_BITFIELDS with the 5-5-5 or 5-6-5 masks only, and widens a
/// channel of maximum `m` as `v * 255 / m` (rounded down). Returns `None` for any other BMP.
fn decode_bmp16(
    bytes: &[u8],
    job: &Job<'_>,
) -> Option<Result<(RgbImage, MemoryReservation), DecodeError>> {
    const FORMAT: ImageFormat = ImageFormat::Bmp;
    let limits = &job.limits;
    let header_size = le_u32(bytes, 14)?;
    if header_size < 40 || bytes.get(28..30)? != [16, 0] {
        return None;
    }
    Some((|| {
        let truncated = || DecodeError::Truncated { format: FORMAT };
        let data_offset = le_u32(bytes, 10).ok_or_else(truncated)? as usize;
        let width = le_u32(bytes, 18).ok_or_else(truncated)? as i32;
        let height = le_u32(bytes, 22).ok_or_else(truncated)? as i32;
        let compression = le_u32(bytes, 30).ok_or_else(truncated)?;
        let masks = match compression {
            0 => (0x7C00, 0x03E0, 0x001F),
            3 => (
                le_u32(bytes, 54).ok_or_else(truncated)?,
                le_u32(bytes, 58).ok_or_else(truncated)?,
                le_u32(bytes, 62).ok_or_else(truncated)?,
            ),
            other => {
                return Err(DecodeError::Unsupported {
                    format: FORMAT,
                    message: format!("16-bit BMP with compression {other}"),
                });
            }
        };
        let green_bits = match masks {
            (0x7C00, 0x03E0, 0x001F) => 5,
            (0xF800, 0x07E0, 0x001F) => 6,
            other => {
                return Err(DecodeError::Unsupported {
                    format: FORMAT,
                    message: format!(
                        "16-bit BMP bitfields {other:#x?} (Pillow accepts 5-5-5 and 5-6-5 only)"
                    ),
                });
            }
        };
        if width <= 0 || height == 0 || height == i32::MIN {
            return Err(DecodeError::Corrupt {
                format: FORMAT,
                message: format!("declared size {width}x{height} is invalid"),
            });
        }
        let (w, h) = (width as u32, height.unsigned_abs());
        limits.check_dimensions(FORMAT, w, h)?;
        let stride = (w as usize * 2).div_ceil(4) * 4;
        let needed = stride.checked_mul(h as usize).and_then(|n| n.checked_add(data_offset));
        let data = bytes.get(data_offset..needed.ok_or_else(truncated)?).ok_or_else(truncated)?;
        let out_bytes = u64::from(w) * u64::from(h) * 3;
        limits.check_alloc(FORMAT, out_bytes)?;
        let reservation = job.reserve(FORMAT, out_bytes, u64::from(w) * u64::from(h))?;
        let mut pixels = super::alloc_zeroed(FORMAT, out_bytes, limits)?;
        let widen = |v: u16, max: u16| (u32::from(v) * 255 / u32::from(max)) as u8;
        let green_max = (1u16 << green_bits) - 1;
        for (y, out_row) in pixels.chunks_exact_mut(w as usize * 3).enumerate() {
            if y.is_multiple_of(ROWS_PER_CANCEL_CHECK) {
                job.check_cancel()?;
            }
            // Positive height: rows are stored bottom-up.
            let stored = if height > 0 { h as usize - 1 - y } else { y };
            let row = &data[stored * stride..stored * stride + w as usize * 2];
            for (dst, px) in out_row.chunks_exact_mut(3).zip(row.chunks_exact(2)) {
                let v = u16::from_le_bytes([px[0], px[1]]);
                let blue = v & 0x1F;
                let green = (v >> 5) & green_max;
                let red = (v >> (5 + green_bits)) & 0x1F;
                dst.copy_from_slice(&[widen(red, 31), widen(green, green_max), widen(blue, 31)]);
            }
        }
        let image = RgbImage {
            width: w,
            height: h,
            pixels,
            format: FORMAT,
            source_width: w,
            source_height: h,
            scale_denom: 1,
            source_color: SourceColor::Rgb8,
            warning_count: 0,
            first_warning: None,
        };
        Ok((image, reservation))
    })())
}
