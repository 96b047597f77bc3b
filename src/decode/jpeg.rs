//! JPEG through libjpeg (MozJPEG's copy of the libjpeg-turbo decoder), driven by the C shim
//! in `csrc/jpeg_shim.c` so that libjpeg's fatal errors `longjmp` inside C and come back
//! here as status codes.

use std::ffi::{CStr, c_char, c_int, c_uint, c_ulong, c_ulonglong};
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::atomic::AtomicBool;

// The shim calls libjpeg's symbols; naming the crate makes sure its static library is linked.
use mozjpeg_sys as _;

use super::{
    DecodeError, DecodeOptions, ImageFormat, Job, JpegScale, MemoryReservation, RgbImage,
    SourceColor,
};

const FORMAT: ImageFormat = ImageFormat::Jpeg;

// Status codes of csrc/jpeg_shim.c.
const MH_OK: c_int = 0;
const MH_CORRUPT: c_int = 1;
const MH_TRUNCATED: c_int = 2;
const MH_UNSUPPORTED: c_int = 3;
const MH_ALLOC_LIMIT: c_int = 4;
const MH_TOO_BIG: c_int = 5;
const MH_CANCELLED: c_int = 7;

const MH_OUT_RGB: c_int = 0;
const MH_OUT_CMYK: c_int = 1;

// libjpeg's J_COLOR_SPACE values.
const JCS_GRAYSCALE: c_int = 1;
const JCS_RGB: c_int = 2;
const JCS_YCBCR: c_int = 3;
const JCS_CMYK: c_int = 4;
const JCS_YCCK: c_int = 5;

/// Opaque decoder state owned by C (`mh_jpeg_decoder`).
#[repr(C)]
struct RawDecoder {
    _opaque: [u8; 0],
}

/// `mh_jpeg_header` of the shim.
#[repr(C)]
#[derive(Debug, Default, Clone, Copy)]
struct RawHeader {
    image_width: c_uint,
    image_height: c_uint,
    num_components: c_int,
    jpeg_color_space: c_int,
    progressive: c_int,
    arithmetic: c_int,
    saw_adobe_marker: c_int,
    adobe_transform: c_int,
    output_width: c_uint,
    output_height: c_uint,
    output_components: c_int,
    multiple_scans: c_int,
    coef_bytes: c_ulonglong,
}

unsafe extern "C" {
    fn mh_jpeg_new() -> *mut RawDecoder;
    fn mh_jpeg_free(dec: *mut RawDecoder);
    fn mh_jpeg_message(dec: *const RawDecoder) -> *const c_char;
    fn mh_jpeg_first_warning(dec: *const RawDecoder) -> *const c_char;
    fn mh_jpeg_warning_count(dec: *const RawDecoder) -> c_ulong;
    fn mh_jpeg_read_header(
        dec: *mut RawDecoder,
        data: *const u8,
        len: usize,
        out: *mut RawHeader,
    ) -> c_int;
    fn mh_jpeg_configure(
        dec: *mut RawDecoder,
        scale_denom: c_int,
        out_kind: c_int,
        max_memory: usize,
        out: *mut RawHeader,
    ) -> c_int;
    fn mh_jpeg_decode(dec: *mut RawDecoder, buf: *mut u8, len: usize, cancel: *const u8) -> c_int;
    fn mh_jpeg_with_simd() -> c_int;
}

/// Whether this build's libjpeg-turbo has its SIMD code (feature `jpeg-simd` with nasm found
/// at build time). Both give the same pixels; SIMD is about 1.5x faster.
pub fn simd_built() -> bool {
    // SAFETY: the shim function only returns a compile-time constant.
    unsafe { mh_jpeg_with_simd() != 0 }
}

/// Owns one `mh_jpeg_decoder`, which borrows the JPEG bytes for `'data`.
struct Decoder<'data> {
    raw: NonNull<RawDecoder>,
    /// `Limits::max_alloc_bytes`, for AllocationLimit errors.
    max_alloc: u64,
    _data: PhantomData<&'data [u8]>,
}

impl Drop for Decoder<'_> {
    fn drop(&mut self) {
        // SAFETY: `raw` came from mh_jpeg_new and is freed exactly once, here.
        unsafe { mh_jpeg_free(self.raw.as_ptr()) }
    }
}

/// Copies a C string out of the decoder.
///
/// # Safety
/// `ptr` is null or points to a NUL-terminated string that stays valid during the call.
unsafe fn c_text(ptr: *const c_char) -> String {
    if ptr.is_null() {
        return String::new();
    }
    // SAFETY: guaranteed by the caller.
    unsafe { CStr::from_ptr(ptr) }.to_string_lossy().into_owned()
}

impl<'data> Decoder<'data> {
    fn new(max_alloc: u64) -> Result<Self, DecodeError> {
        // SAFETY: no preconditions; a null result means malloc failed.
        let raw = unsafe { mh_jpeg_new() };
        let raw = NonNull::new(raw).ok_or(DecodeError::AllocationLimit {
            format: FORMAT,
            needed: 1,
            limit: max_alloc,
        })?;
        Ok(Self { raw, max_alloc, _data: PhantomData })
    }

    fn message(&self) -> String {
        // SAFETY: `raw` is live; the shim's message buffer inside it is NUL-terminated
        // (libjpeg's format_message and snprintf terminate it; calloc zeroed it) and is read
        // before any further call.
        unsafe { c_text(mh_jpeg_message(self.raw.as_ptr())) }
    }

    fn warnings(&self) -> (u32, Option<String>) {
        // SAFETY: `raw` is live.
        let count = unsafe { mh_jpeg_warning_count(self.raw.as_ptr()) };
        #[allow(clippy::useless_conversion)] // c_ulong is u32 on Windows
        let count = u32::try_from(count).unwrap_or(u32::MAX);
        if count == 0 {
            return (0, None);
        }
        // SAFETY: as in `message`, for the first-warning buffer.
        let first = unsafe { c_text(mh_jpeg_first_warning(self.raw.as_ptr())) };
        (count, Some(first))
    }

    fn error(&self, status: c_int, header: &RawHeader) -> DecodeError {
        let message = self.message();
        match status {
            MH_TRUNCATED => DecodeError::Truncated { format: FORMAT },
            MH_UNSUPPORTED => DecodeError::Unsupported { format: FORMAT, message },
            // libjpeg ran out of the budget left after the output buffer.
            MH_ALLOC_LIMIT => DecodeError::AllocationLimit {
                format: FORMAT,
                needed: self.max_alloc.saturating_add(1),
                limit: self.max_alloc,
            },
            MH_TOO_BIG => DecodeError::TooLarge {
                format: FORMAT,
                width: header.image_width,
                height: header.image_height,
                limit: "libjpeg's maximum dimension (65500)",
            },
            MH_CANCELLED => DecodeError::Cancelled,
            MH_CORRUPT => DecodeError::Corrupt { format: FORMAT, message },
            _ => DecodeError::Corrupt {
                format: FORMAT,
                message: format!("internal decoder error (status {status}): {message}"),
            },
        }
    }

    fn read_header(&mut self, data: &'data [u8]) -> Result<RawHeader, DecodeError> {
        let mut header = RawHeader::default();
        // SAFETY: `data` outlives the decoder ('data), which keeps the pointer only for
        // reading; `header` is a valid out-pointer.
        let status = unsafe {
            mh_jpeg_read_header(self.raw.as_ptr(), data.as_ptr(), data.len(), &mut header)
        };
        if status != MH_OK {
            return Err(self.error(status, &header));
        }
        Ok(header)
    }

    fn configure(
        &mut self,
        scale_denom: u8,
        cmyk: bool,
        max_memory: u64,
        header: &mut RawHeader,
    ) -> Result<(), DecodeError> {
        let out_kind = if cmyk { MH_OUT_CMYK } else { MH_OUT_RGB };
        let max_memory = usize::try_from(max_memory).unwrap_or(usize::MAX);
        // SAFETY: `raw` is live and `header` is a valid out-pointer.
        let status = unsafe {
            mh_jpeg_configure(
                self.raw.as_ptr(),
                c_int::from(scale_denom),
                out_kind,
                max_memory,
                header,
            )
        };
        if status != MH_OK {
            return Err(self.error(status, header));
        }
        Ok(())
    }

    fn decode_into(
        &mut self,
        buf: &mut [u8],
        header: &RawHeader,
        cancel: Option<&AtomicBool>,
    ) -> Result<(), DecodeError> {
        // An AtomicBool is one byte holding 0 or 1; C reads it with a relaxed atomic load.
        let cancel = cancel.map_or(std::ptr::null(), |c| c.as_ptr().cast_const().cast::<u8>());
        // SAFETY: `buf` is valid for writes of `buf.len()` bytes; the shim checks that the
        // length is exactly rows * row bytes before writing. `cancel` is null or points to
        // the caller's flag, which outlives this call; the shim forgets it before returning.
        let status =
            unsafe { mh_jpeg_decode(self.raw.as_ptr(), buf.as_mut_ptr(), buf.len(), cancel) };
        if status != MH_OK {
            return Err(self.error(status, header));
        }
        Ok(())
    }
}

/// What the JPEG header says, without decoding pixels.
pub(super) fn probe(bytes: &[u8]) -> Result<(u32, u32), DecodeError> {
    let mut decoder = Decoder::new(u64::MAX)?;
    let header = decoder.read_header(bytes)?;
    Ok((header.image_width, header.image_height))
}

/// The DCT scaling denominator for `scale` on a `width` x `height` image.
pub(super) fn scale_denom(scale: JpegScale, width: u32, height: u32) -> u8 {
    match scale {
        JpegScale::Full => 1,
        JpegScale::Fast { min_side } => {
            let min_dim = width.min(height);
            [8u32, 4, 2]
                .into_iter()
                .find(|&d| min_dim.div_ceil(d) >= min_side)
                .map_or(1, |d| d as u8)
        }
    }
}

fn source_color(header: &RawHeader) -> Result<SourceColor, DecodeError> {
    match (header.num_components, header.jpeg_color_space) {
        (1, JCS_GRAYSCALE) => Ok(SourceColor::Grey8),
        (3, JCS_YCBCR) => Ok(SourceColor::YCbCr),
        (3, JCS_RGB) => Ok(SourceColor::Rgb8),
        (4, JCS_CMYK) => Ok(SourceColor::Cmyk),
        (4, JCS_YCCK) => Ok(SourceColor::Ycck),
        (n, _) => Err(DecodeError::Unsupported {
            format: FORMAT,
            message: format!("{n}-component JPEG (only 1, 3 or 4 components are images)"),
        }),
    }
}

/// libjpeg's working memory besides the output and the coefficient buffer: a few MCU rows
/// of samples per component (upsampling, colour conversion) and fixed tables, estimated
/// generously as 64 bytes per column per component plus 1 MiB.
fn row_working_bytes(header: &RawHeader) -> u64 {
    let components = u64::try_from(header.num_components).unwrap_or(4);
    u64::from(header.image_width) * components * 64 + (1 << 20)
}

/// Decodes with Pillow's settings; see the module documentation for the policy.
pub(super) fn decode(
    bytes: &[u8],
    options: &DecodeOptions,
    job: &Job<'_>,
) -> Result<(RgbImage, MemoryReservation), DecodeError> {
    let mut decoder = Decoder::new(options.limits.max_alloc_bytes)?;
    let mut header = decoder.read_header(bytes)?;
    let (width, height) = (header.image_width, header.image_height);
    options.limits.check_dimensions(FORMAT, width, height)?;
    let source_color = source_color(&header)?;
    let cmyk = matches!(source_color, SourceColor::Cmyk | SourceColor::Ycck);
    let denom = scale_denom(options.jpeg_scale, width, height);

    // The output buffer is charged first; libjpeg may use what is left of the budget.
    let channels: u64 = if cmyk { 4 } else { 3 };
    let out_w = u64::from(width.div_ceil(u32::from(denom)));
    let out_h = u64::from(height.div_ceil(u32::from(denom)));
    let out_bytes = out_w * out_h * channels;
    options.limits.check_alloc(FORMAT, out_bytes)?;
    let libjpeg_budget = options.limits.max_alloc_bytes - out_bytes;
    decoder.configure(denom, cmyk, libjpeg_budget, &mut header)?;
    if u64::from(header.output_width) != out_w
        || u64::from(header.output_height) != out_h
        || u64::try_from(header.output_components).ok() != Some(channels)
    {
        return Err(DecodeError::Corrupt {
            format: FORMAT,
            message: format!(
                "libjpeg chose a {}x{}x{} output, expected {out_w}x{out_h}x{channels}",
                header.output_width, header.output_height, header.output_components
            ),
        });
    }
    // The budget is charged with the output, the coefficients of a multi-scan file (which
    // libjpeg may allocate up to `libjpeg_budget`) and the row buffers.
    let coef_bytes = if header.multiple_scans != 0 { header.coef_bytes } else { 0 };
    let working = out_bytes
        .saturating_add(coef_bytes.min(libjpeg_budget))
        .saturating_add(row_working_bytes(&header));
    let reservation = job.reserve(FORMAT, working, out_w * out_h)?;
    let mut pixels = super::alloc_zeroed(FORMAT, out_bytes, &options.limits)?;
    job.check_cancel()?;
    decoder.decode_into(&mut pixels, &header, job.control.cancel)?;
    if cmyk {
        cmyk_inverted_to_rgb_in_place(&mut pixels);
    }
    let (warning_count, first_warning) = decoder.warnings();
    let image = RgbImage {
        width: header.output_width,
        height: header.output_height,
        pixels,
        format: FORMAT,
        source_width: width,
        source_height: height,
        scale_denom: denom,
        source_color,
        warning_count,
        first_warning,
    };
    Ok((image, reservation))
}

/// Pillow reads every 4-component JPEG as Adobe-inverted CMYK ("CMYK;I": each stored byte
/// is 255 - ink) and `convert('RGB')` then computes, per channel,
/// `R = (255 - K) - (C * (255 - K)) / 255` with its rounded MULDIV255. With the stored
/// (inverted) bytes `c' = 255 - C` and `k' = 255 - K` this is `k' - muldiv255(255 - c', k')`.
/// Works in place: pixel i's RGB lands at 3i, before its CMYK at 4i is overwritten.
fn cmyk_inverted_to_rgb_in_place(pixels: &mut Vec<u8>) {
    let count = pixels.len() / 4;
    for i in 0..count {
        let [c, m, y, k] = [pixels[4 * i], pixels[4 * i + 1], pixels[4 * i + 2], pixels[4 * i + 3]];
        let rgb = super::pillow_cmyk_to_rgb([255 - c, 255 - m, 255 - y, 255 - k]);
        pixels[3 * i..3 * i + 3].copy_from_slice(&rgb);
    }
    pixels.truncate(count * 3);
    pixels.shrink_to_fit();
}
