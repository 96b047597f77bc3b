//! Image decoding for evidence files: content-sniffed, limit-checked, to RGB8.
//!
//! [`decode_rgb8`] turns the bytes of an image file into 8-bit RGB pixels, row-major, three
//! bytes per pixel. The result feeds the perceptual hashes, so **the conversion policy below
//! is part of every hash value**: the same file must give the same pixels on every machine,
//! in every release, and the same pixels as the reference pipeline used to build shared hash
//! sets (Python Pillow 13: `Image.open(f).convert('RGB')`, as python-threatexchange, HMA,
//! `imagehash` and the `pdqhash` binding use it). The policy is named by
//! [`CONVERSION_POLICY`]; record it next to the hashes.
//!
//! # Conversion policy
//!
//! * **Format from content.** [`detect_format`] reads the magic bytes; the file name and
//!   extension are never consulted. A PNG renamed `.jpg` decodes as a PNG.
//! * **One image.** The first frame of an animated GIF or WebP, the first page (IFD) of a
//!   TIFF, the largest entry of an ICO, the primary image of a JPEG (embedded EXIF
//!   thumbnails are ignored).
//! * **No orientation, no colour management.** EXIF orientation is not applied (none of the
//!   reference pipelines do; query all 8 PDQ dihedral variants instead). ICC profiles,
//!   gamma and chromaticity chunks are ignored: the stored samples are used as they are.
//! * **JPEG** is decoded by libjpeg-turbo's decoder (MozJPEG's copy, built from C) with
//!   Pillow's settings: ISLOW integer IDCT, fancy upsampling, block smoothing for
//!   progressive files. The pixels are bit-identical to Pillow 13 (libjpeg-turbo 3.2) on
//!   the test corpus. Greyscale JPEGs are replicated to R=G=B. 4-component JPEGs are taken,
//!   as Pillow does, as Adobe-inverted CMYK (YCCK is first converted to CMYK by libjpeg),
//!   then converted with Pillow's formula `R = (255-K) - C*(255-K)/255` (rounded), likewise
//!   G from M and B from Y. A JPEG whose data ends early is an error
//!   ([`DecodeError::Truncated`]), even when only the final EOI marker is missing (as in
//!   Pillow), never a grey-padded picture. Recoverable corruption inside the entropy-coded
//!   data is tolerated, like Pillow, and counted in [`RgbImage::warning_count`]. Progressive
//!   files with more than 1000 scans are refused as hostile.
//! * **Alpha is dropped, not composited**: the stored colour of each pixel is kept, whatever
//!   its opacity (Pillow's RGBA to RGB conversion).
//! * **Palettes are expanded**; a GIF's transparent index gives that index's palette colour.
//!   Indices beyond the palette give black, except in a GIF whose palette is the identity
//!   grey ramp (Pillow's mode "L"), where they give grey level = index.
//! * **GIF** canvas: the logical screen, enlarged to hold the first frame; pixels outside
//!   the frame take the transparent index if the frame has one, else index 0.
//! * **1-bit images** map to 0 and 255 (PBM and TIFF "WhiteIsZero" are inverted as stored
//!   semantics require). 2- and 4-bit greys are scaled to 0..=255 (×85, ×17).
//! * **5- and 6-bit BMP channels** (16-bit BMPs) widen as `v * 255 / max`, rounded down.
//! * **16-bit samples**: colour (RGB, RGBA, grey+alpha) keeps the high byte (`v >> 8`);
//!   plain 16-bit **grey is clamped**, `min(v, 255)`, because Pillow opens it as mode
//!   `I;16`/`I` and its conversion to 8 bits clamps. This makes most 16-bit grey images
//!   nearly white; it is kept because it is what hash sets computed with Pillow contain.
//! * **PNM** samples with a maxval other than 255 are rescaled as Pillow does:
//!   `round_half_even(v / maxval * 255)` (grey with maxval > 255: to 65535, then clamped as
//!   16-bit grey above).
//! * [`JpegScale::Fast`] changes the pixels (DCT-domain downscaling, bit-identical to
//!   Pillow's `draft()` at the same scale); hashes from fast decodes are only comparable
//!   with other fast decodes at the same scale. It is off by default.
//!
//! Where Pillow decodes but this module does not (each a [`DecodeError::Unsupported`], never
//! different pixels): palette TIFFs, YCbCr/Lab/float TIFFs, PAM (P7, which Pillow cannot
//! open either), GIFs with no colour table at all. JPEG-compressed TIFFs decode through the
//! `tiff` crate's own JPEG decoder and carry a warning that their pixels may differ slightly.
//!
//! Every rule above is checked in `tests/decode.rs` against Pillow 13.0.0's output on
//! generated files and on the shared test corpus (`scripts/pillow_decode_digests.py`).
//!
//! # Safety on hostile input
//!
//! Every failure is a [`DecodeError`]; decoding never panics on any input (the Rust codecs
//! run under `catch_unwind` as a second line of defence). Declared
//! dimensions are checked against [`Limits`] before any pixel buffer is allocated, and every
//! large allocation is counted against [`Limits::max_alloc_bytes`] and made fallibly.
//!
//! # Running many decodes at once; stopping them
//!
//! [`decode_rgb8_with`] also takes a [`DecodeControl`]: a [`MemoryBudget`] shared by all the
//! decodes in flight (each reserves its estimated peak after reading the header, before
//! allocating, and holds it until the returned [`MemoryReservation`] is dropped), and a
//! cancel flag checked between rows, blocks or input reads, so a decode stops within
//! milliseconds of the flag being set, with [`DecodeError::Cancelled`].

mod budget;
mod gif;
mod jpeg;
mod pnm;
mod raster;
mod tiff;

pub use budget::{BudgetError, MemoryBudget, MemoryReservation, default_budget_bytes};
pub use jpeg::simd_built as jpeg_simd_built;

use std::fmt;
use std::io::{self, BufRead, Cursor, Read, Seek, SeekFrom};
use std::sync::atomic::{AtomicBool, Ordering};

/// Names the conversion policy described in the [module documentation](self). It changes
/// whenever decoded pixels could change; store it with every perceptual hash.
pub const CONVERSION_POLICY: &str =
    "mediahash-decode/1 (Pillow 13 convert('RGB'), libjpeg-turbo ISLOW)";

/// An image container format, recognised from the file's content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ImageFormat {
    /// JPEG/JFIF/EXIF (`FF D8 FF`).
    Jpeg,
    /// PNG (including APNG, whose default image is decoded).
    Png,
    /// GIF 87a/89a.
    Gif,
    /// Windows/OS2 bitmap (`BM`).
    Bmp,
    /// TIFF, classic or BigTIFF, either byte order.
    Tiff,
    /// WebP (RIFF container), lossy or lossless.
    WebP,
    /// Windows icon (`.ico`), holding BMP or PNG images.
    Ico,
    /// Netpbm: PBM, PGM, PPM (P1-P6) and PAM (P7).
    Pnm,
}

impl ImageFormat {
    /// Every format, in a fixed order.
    pub const ALL: [ImageFormat; 8] = [
        ImageFormat::Jpeg,
        ImageFormat::Png,
        ImageFormat::Gif,
        ImageFormat::Bmp,
        ImageFormat::Tiff,
        ImageFormat::WebP,
        ImageFormat::Ico,
        ImageFormat::Pnm,
    ];

    /// Lower-case name for reports: "jpeg", "png", "gif", "bmp", "tiff", "webp", "ico", "pnm".
    pub fn as_str(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "jpeg",
            ImageFormat::Png => "png",
            ImageFormat::Gif => "gif",
            ImageFormat::Bmp => "bmp",
            ImageFormat::Tiff => "tiff",
            ImageFormat::WebP => "webp",
            ImageFormat::Ico => "ico",
            ImageFormat::Pnm => "pnm",
        }
    }
}

impl ImageFormat {
    /// The format with this [`ImageFormat::as_str`] name.
    pub fn from_name(name: &str) -> Option<ImageFormat> {
        ImageFormat::ALL.into_iter().find(|f| f.as_str() == name)
    }
}

impl fmt::Display for ImageFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Recognises the format from the first bytes of a file (16 are enough; fewer may give
/// `None`). Never looks at a file name. Returns `None` for anything else, including formats
/// this module cannot decode.
pub fn detect_format(head: &[u8]) -> Option<ImageFormat> {
    let starts = |magic: &[u8]| head.starts_with(magic);
    if starts(&[0xFF, 0xD8, 0xFF]) {
        return Some(ImageFormat::Jpeg);
    }
    if starts(b"\x89PNG\r\n\x1a\n") {
        return Some(ImageFormat::Png);
    }
    if starts(b"GIF87a") || starts(b"GIF89a") {
        return Some(ImageFormat::Gif);
    }
    if starts(b"II*\0") || starts(b"MM\0*") || starts(b"II+\0") || starts(b"MM\0+") {
        return Some(ImageFormat::Tiff);
    }
    if starts(b"RIFF") && head.get(8..12) == Some(b"WEBP") {
        return Some(ImageFormat::WebP);
    }
    if starts(b"BM") {
        // "BM" alone is common in text; when the DIB header size is present it must be one
        // of the defined sizes (OS/2 1.x 12, OS/2 2.x 16 or 64, Windows 40/52/56/108/124).
        return match head.get(14..18) {
            None => Some(ImageFormat::Bmp),
            Some(size) => {
                let size = u32::from_le_bytes([size[0], size[1], size[2], size[3]]);
                matches!(size, 12 | 16 | 40 | 52 | 56 | 64 | 108 | 124).then_some(ImageFormat::Bmp)
            }
        };
    }
    if starts(&[0, 0, 1, 0]) {
        // Icon directory: at least one entry, and (when present) a zero reserved byte.
        let count_ok = head.get(4..6).is_none_or(|c| u16::from_le_bytes([c[0], c[1]]) > 0);
        let reserved_ok = head.get(9).is_none_or(|&r| r == 0);
        return (count_ok && reserved_ok).then_some(ImageFormat::Ico);
    }
    if head.len() >= 3
        && head[0] == b'P'
        && (b'1'..=b'7').contains(&head[1])
        && matches!(head[2], b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c')
    {
        return Some(ImageFormat::Pnm);
    }
    None
}

/// Resource limits for one decode. Checked against the dimensions an image declares
/// before any pixel buffer is allocated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted width in pixels (of the stored image, before any JPEG scaling).
    pub max_width: u32,
    /// Largest accepted height in pixels (of the stored image, before any JPEG scaling).
    pub max_height: u32,
    /// Largest accepted width × height (of the stored image).
    pub max_pixels: u64,
    /// Most bytes the decoder may allocate for one image: the output buffer plus the
    /// decoder's own large buffers (e.g. a progressive JPEG's coefficients, 2 bytes per
    /// sample, or an intermediate RGBA/16-bit buffer).
    pub max_alloc_bytes: u64,
}

impl Limits {
    /// Default [`Limits::max_width`] and [`Limits::max_height`]: 65,535, the largest side a
    /// JPEG or GIF can declare.
    pub const DEFAULT_MAX_SIDE: u32 = 65_535;
    /// Default [`Limits::max_pixels`]: 2^28 = 268,435,456 (256 Mpx, e.g. 16384 × 16384),
    /// far above any camera (a 200 Mpx sensor fits), far below a decompression bomb.
    pub const DEFAULT_MAX_PIXELS: u64 = 1 << 28;
    /// Default [`Limits::max_alloc_bytes`]: 2 GiB, enough for a 256 Mpx RGB result plus a
    /// baseline JPEG's working memory.
    pub const DEFAULT_MAX_ALLOC_BYTES: u64 = 2 << 30;

    /// Fails with [`DecodeError::TooLarge`] (or [`DecodeError::Corrupt`] for a zero side)
    /// when the declared size is outside these limits.
    fn check_dimensions(
        &self,
        format: ImageFormat,
        width: u32,
        height: u32,
    ) -> Result<(), DecodeError> {
        if width == 0 || height == 0 {
            return Err(DecodeError::Corrupt {
                format,
                message: format!("declared size {width}x{height} has a zero side"),
            });
        }
        let limit = if width > self.max_width {
            "Limits::max_width"
        } else if height > self.max_height {
            "Limits::max_height"
        } else if u64::from(width) * u64::from(height) > self.max_pixels {
            "Limits::max_pixels"
        } else {
            return Ok(());
        };
        Err(DecodeError::TooLarge { format, width, height, limit })
    }

    fn check_alloc(&self, format: ImageFormat, bytes: u64) -> Result<(), DecodeError> {
        if bytes > self.max_alloc_bytes {
            return Err(DecodeError::AllocationLimit {
                format,
                needed: bytes,
                limit: self.max_alloc_bytes,
            });
        }
        Ok(())
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_width: Self::DEFAULT_MAX_SIDE,
            max_height: Self::DEFAULT_MAX_SIDE,
            max_pixels: Self::DEFAULT_MAX_PIXELS,
            max_alloc_bytes: Self::DEFAULT_MAX_ALLOC_BYTES,
        }
    }
}

/// How to decode JPEGs. Other formats ignore it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum JpegScale {
    /// Full resolution (the default, and the reference pipeline's choice).
    #[default]
    Full,
    /// Downscale in the DCT domain (libjpeg `scale_num = 1`, `scale_denom` = 2, 4 or 8),
    /// choosing the largest reduction that keeps `min(width, height) >= min_side` (sides
    /// round up, as libjpeg and Pillow's `draft()` do). Much faster on large photos; the
    /// pixels differ from a full decode, so hashes are not interchangeable with full ones.
    Fast {
        /// Smallest acceptable shorter side of the output, in pixels.
        min_side: u32,
    },
}

impl JpegScale {
    /// The fast mode `mh --fast` uses: keep the shorter side at 256 px or more, four times
    /// PDQ's 64x64 grid. Measured with `examples/fast_vs_exact.rs` on the shared PDQ test set
    /// and photos: PDQ 0-8 bits from the exact hash (8 on a 4032x3024 photo decoded at 1/8),
    /// pHash 0 bits, 2.2x the exact mode's images/s over that set.
    pub const FAST_DEFAULT: JpegScale = JpegScale::Fast { min_side: 256 };
}

/// Options for [`decode_rgb8`]. The default is [`Limits::default`] and [`JpegScale::Full`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DecodeOptions {
    /// Resource limits.
    pub limits: Limits,
    /// JPEG decoding scale.
    pub jpeg_scale: JpegScale,
}

/// What [`probe`] learns from a header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageInfo {
    /// The format, from the content.
    pub format: ImageFormat,
    /// Declared width in pixels (for GIF, the logical screen; for ICO, the largest entry).
    pub width: u32,
    /// Declared height in pixels.
    pub height: u32,
}

/// The stored pixel layout that was converted to RGB8 (reported so an examiner can see
/// what the conversion policy did to this file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceColor {
    /// 8-bit RGB (also BGR and 5/6-bit BMP channels, widened as Pillow does).
    Rgb8,
    /// 8-bit RGBA (also BGRA): alpha dropped.
    Rgba8,
    /// 16-bit RGB: high byte kept.
    Rgb16,
    /// 16-bit RGBA: high byte kept, alpha dropped.
    Rgba16,
    /// 1-bit black and white: 0 and 255.
    Bilevel,
    /// Grey of 8 bits or fewer (2 and 4 bits scaled up): replicated to R=G=B.
    Grey8,
    /// Grey with alpha (8 bits or fewer): grey replicated, alpha dropped.
    GreyAlpha8,
    /// 16-bit grey (or PNM grey with maxval > 255): clamped to 255, replicated.
    Grey16,
    /// 16-bit grey with alpha: high byte kept, replicated, alpha dropped.
    GreyAlpha16,
    /// Palette indices: expanded through the palette (any transparency dropped).
    Palette,
    /// JPEG YCbCr: converted by libjpeg.
    YCbCr,
    /// CMYK (JPEG: Adobe-inverted; TIFF: as stored): Pillow's CMYK to RGB formula.
    Cmyk,
    /// JPEG YCCK: converted to CMYK by libjpeg, then as [`SourceColor::Cmyk`].
    Ycck,
}

impl SourceColor {
    /// Lower-case name for reports, e.g. "rgb8", "palette", "cmyk".
    pub fn as_str(self) -> &'static str {
        match self {
            SourceColor::Rgb8 => "rgb8",
            SourceColor::Rgba8 => "rgba8",
            SourceColor::Rgb16 => "rgb16",
            SourceColor::Rgba16 => "rgba16",
            SourceColor::Bilevel => "bilevel",
            SourceColor::Grey8 => "grey8",
            SourceColor::GreyAlpha8 => "grey-alpha8",
            SourceColor::Grey16 => "grey16",
            SourceColor::GreyAlpha16 => "grey-alpha16",
            SourceColor::Palette => "palette",
            SourceColor::YCbCr => "ycbcr",
            SourceColor::Cmyk => "cmyk",
            SourceColor::Ycck => "ycck",
        }
    }
}

impl fmt::Display for SourceColor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A decoded image: 8-bit RGB, row-major, no padding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RgbImage {
    /// Output width in pixels (smaller than `source_width` after JPEG fast scaling).
    pub width: u32,
    /// Output height in pixels.
    pub height: u32,
    /// `width * height * 3` bytes: R, G, B per pixel, rows top to bottom.
    pub pixels: Vec<u8>,
    /// The container format, from the content.
    pub format: ImageFormat,
    /// Width of the stored image.
    pub source_width: u32,
    /// Height of the stored image.
    pub source_height: u32,
    /// JPEG DCT scaling denominator used: 1 (full size), 2, 4 or 8. Always 1 for other formats.
    pub scale_denom: u8,
    /// What was converted to RGB8.
    pub source_color: SourceColor,
    /// Recoverable problems the decoder worked around (e.g. libjpeg's "Corrupt JPEG data"
    /// warnings). Pillow ignores these too, but a non-zero count marks damaged evidence.
    pub warning_count: u32,
    /// The first such warning's message.
    pub first_warning: Option<String>,
}

/// Why an image could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The input has no bytes.
    #[error("the input is empty (0 bytes): there is no image to decode")]
    Empty,
    /// No known image signature at the start of the data.
    #[error(
        "not a supported image: no JPEG, PNG, GIF, BMP, TIFF, WebP, ICO or PNM signature at the \
         start of the data (the file name is not consulted)"
    )]
    UnknownFormat,
    /// The declared size exceeds a limit.
    #[error(
        "{format} image declares {width}x{height} pixels, over {limit}; refused before \
         decoding (raise the limit only for trusted input)"
    )]
    TooLarge {
        /// The format.
        format: ImageFormat,
        /// Declared width.
        width: u32,
        /// Declared height.
        height: u32,
        /// Which limit was exceeded.
        limit: &'static str,
    },
    /// Decoding would allocate more than [`Limits::max_alloc_bytes`], or memory ran out.
    #[error(
        "decoding this {format} image needs at least {needed} bytes of memory, over the \
         limit of {limit} bytes (Limits::max_alloc_bytes); raise it only for trusted input"
    )]
    AllocationLimit {
        /// The format.
        format: ImageFormat,
        /// Bytes needed (a lower bound).
        needed: u64,
        /// The limit in force.
        limit: u64,
    },
    /// The data ends before the image does.
    #[error(
        "{format} data ends before the image is complete (truncated file); the pixels would \
         be incomplete, so no image is returned: recover the full file"
    )]
    Truncated {
        /// The format.
        format: ImageFormat,
    },
    /// The data violates the format.
    #[error("corrupt {format} data: {message}")]
    Corrupt {
        /// The format.
        format: ImageFormat,
        /// The decoder's description.
        message: String,
    },
    /// A valid file using a feature this decoder does not handle.
    #[error("unsupported {format} feature: {message}")]
    Unsupported {
        /// The format.
        format: ImageFormat,
        /// What is unsupported.
        message: String,
    },
    /// The decode alone would need more than the whole [`MemoryBudget`] shared by the decodes
    /// in flight (within the per-image [`Limits`], but over what this machine was given).
    #[error(
        "decoding this {format} image needs about {needed} bytes, more than the whole decode \
         memory budget of {budget} bytes shared by the decodes in flight; refused rather than \
         risk running out of memory (raise it with `--decode-memory MB` or \
         AnalyzeOptions::decode_memory_budget if the machine has the memory)"
    )]
    MemoryBudget {
        /// The format.
        format: ImageFormat,
        /// Bytes the decode (and what the caller needs beside its pixels) was estimated to need.
        needed: u64,
        /// The budget's capacity.
        budget: u64,
    },
    /// The caller's cancel flag ([`DecodeControl::cancel`]) was set: decoding stopped early
    /// and there is no image. Not a property of the file.
    #[error("decoding stopped: cancelled by the caller (not a fault of the file)")]
    Cancelled,
}

impl DecodeError {
    /// The format the error concerns, when one was recognised.
    pub fn format(&self) -> Option<ImageFormat> {
        match self {
            DecodeError::Empty | DecodeError::UnknownFormat | DecodeError::Cancelled => None,
            DecodeError::TooLarge { format, .. }
            | DecodeError::AllocationLimit { format, .. }
            | DecodeError::MemoryBudget { format, .. }
            | DecodeError::Truncated { format }
            | DecodeError::Corrupt { format, .. }
            | DecodeError::Unsupported { format, .. } => Some(*format),
        }
    }
}

/// Reads only the header: format and declared dimensions. No pixels are decoded and no
/// limit is applied (use the result to decide whether to decode).
pub fn probe(bytes: &[u8]) -> Result<ImageInfo, DecodeError> {
    if bytes.is_empty() {
        return Err(DecodeError::Empty);
    }
    let format = detect_format(bytes).ok_or(DecodeError::UnknownFormat)?;
    let (width, height) = match format {
        ImageFormat::Jpeg => jpeg::probe(bytes)?,
        ImageFormat::Gif => contain_panics(format, || gif::probe(bytes))?,
        ImageFormat::Pnm => pnm::probe(bytes)?,
        ImageFormat::Tiff => contain_panics(format, || tiff::probe(bytes))?,
        _ => contain_panics(format, || raster::probe(format, bytes))?,
    };
    Ok(ImageInfo { format, width, height })
}

/// Decodes the image in `bytes` to RGB8 under the [conversion policy](self).
///
/// The format comes from the content ([`detect_format`]). Limits are checked against the
/// declared size before pixel buffers are allocated. No memory budget and no cancellation:
/// see [`decode_rgb8_with`] for those.
pub fn decode_rgb8(bytes: &[u8], options: &DecodeOptions) -> Result<RgbImage, DecodeError> {
    decode_rgb8_with(bytes, options, &DecodeControl::default()).map(|(image, _)| image)
}

/// What a decode runs under besides its [`DecodeOptions`]: a memory budget shared with other
/// decodes, and a cancel flag. The default has neither.
#[derive(Debug, Clone, Copy, Default)]
pub struct DecodeControl<'a> {
    /// Reserve the decode's estimated peak memory here before allocating (waiting while
    /// other decodes hold it); `None`: only the per-image [`Limits`] apply.
    pub budget: Option<&'a MemoryBudget>,
    /// When set (by another thread or a signal handler), the decode stops at its next row,
    /// block or input read with [`DecodeError::Cancelled`]; a wait for the budget stops too.
    pub cancel: Option<&'a AtomicBool>,
    /// Bytes per output pixel the caller will need while it uses the pixels (e.g. 1 for a
    /// greyscale copy), reserved together with the decode so the whole peak is counted.
    pub extra_bytes_per_pixel: u64,
}

/// [`decode_rgb8`] under a [`DecodeControl`]. Returns the image and the budget reservation
/// covering it (and [`DecodeControl::extra_bytes_per_pixel`] for each of its pixels): keep
/// the reservation until the pixels are no longer needed, then drop it.
///
/// Errors besides [`decode_rgb8`]'s: [`DecodeError::MemoryBudget`] when the estimate alone
/// exceeds the whole budget (at once, never after waiting), [`DecodeError::Cancelled`] when
/// the cancel flag is seen set.
pub fn decode_rgb8_with(
    bytes: &[u8],
    options: &DecodeOptions,
    control: &DecodeControl<'_>,
) -> Result<(RgbImage, MemoryReservation), DecodeError> {
    if bytes.is_empty() {
        return Err(DecodeError::Empty);
    }
    let format = detect_format(bytes).ok_or(DecodeError::UnknownFormat)?;
    let job = Job { limits: options.limits, control: *control };
    job.check_cancel()?;
    let result = match format {
        ImageFormat::Jpeg => jpeg::decode(bytes, options, &job),
        ImageFormat::Gif => contain_panics(format, || gif::decode(bytes, &job)),
        ImageFormat::Pnm => pnm::decode(bytes, &job),
        ImageFormat::Tiff => contain_panics(format, || tiff::decode(bytes, &job)),
        _ => contain_panics(format, || raster::decode(format, bytes, &job)),
    };
    // A decoder stopped by the cancel flag fails with whatever its reader error became.
    match result {
        Err(_) if job.cancelled() => Err(DecodeError::Cancelled),
        other => other,
    }
}

/// One decode's limits and control, handed to the format decoders.
pub(crate) struct Job<'a> {
    limits: Limits,
    control: DecodeControl<'a>,
}

impl<'a> Job<'a> {
    fn cancelled(&self) -> bool {
        self.control.cancel.is_some_and(|c| c.load(Ordering::Relaxed))
    }

    /// `Err(Cancelled)` once the flag is set; called between rows and blocks.
    fn check_cancel(&self) -> Result<(), DecodeError> {
        if self.cancelled() { Err(DecodeError::Cancelled) } else { Ok(()) }
    }

    /// Reserves a decode's peak: `working` bytes (output buffer and decoder buffers, already
    /// checked against the per-image limits) plus the caller's extra bytes for each of
    /// `out_pixels`. Waits while other decodes hold the budget.
    fn reserve(
        &self,
        format: ImageFormat,
        working: u64,
        out_pixels: u64,
    ) -> Result<MemoryReservation, DecodeError> {
        let Some(budget) = self.control.budget else {
            self.check_cancel()?;
            return Ok(MemoryReservation::none());
        };
        let needed =
            working.saturating_add(out_pixels.saturating_mul(self.control.extra_bytes_per_pixel));
        budget.reserve(needed, self.control.cancel).map_err(|e| match e {
            BudgetError::OverBudget { needed, capacity } => {
                DecodeError::MemoryBudget { format, needed, budget: capacity }
            }
            BudgetError::Cancelled => DecodeError::Cancelled,
        })
    }

    /// The bytes of the file as a reader for the Rust codecs, which fails once the cancel
    /// flag is set, so a codec stops at its next read.
    fn reader<'b>(&self, bytes: &'b [u8]) -> CancelReader<'b>
    where
        'a: 'b,
    {
        CancelReader { inner: Cursor::new(bytes), cancel: self.control.cancel }
    }
}

/// Bytes handed out per read: small enough that even a maximally compressed stream (deflate
/// expands at most about 1032 times) gives the decoder only milliseconds of work between
/// two looks at the cancel flag.
const CANCEL_READ_CHUNK: usize = 16 << 10;

/// A cursor over the file's bytes that fails every read once the cancel flag is set.
pub(crate) struct CancelReader<'a> {
    inner: Cursor<&'a [u8]>,
    cancel: Option<&'a AtomicBool>,
}

impl CancelReader<'_> {
    fn check(&self) -> io::Result<()> {
        if self.cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
            // Not `Interrupted`: readers retry that kind.
            return Err(io::Error::other("decoding cancelled"));
        }
        Ok(())
    }
}

impl Read for CancelReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.check()?;
        let n = buf.len().min(CANCEL_READ_CHUNK);
        self.inner.read(&mut buf[..n])
    }
}

impl BufRead for CancelReader<'_> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.check()?;
        let available = self.inner.fill_buf()?;
        Ok(&available[..available.len().min(CANCEL_READ_CHUNK)])
    }

    fn consume(&mut self, amount: usize) {
        self.inner.consume(amount);
    }
}

impl Seek for CancelReader<'_> {
    fn seek(&mut self, position: SeekFrom) -> io::Result<u64> {
        self.inner.seek(position)
    }
}

/// Defence in depth around the third-party Rust decoders: should one panic on some input
/// (none is known to), the caller gets [`DecodeError::Corrupt`] instead of an unwinding
/// scan. The process's panic hook still reports the panic on stderr. Under `panic = "abort"`
/// this cannot help. The libjpeg path needs no guard: its errors never unwind.
fn contain_panics<T>(
    format: ImageFormat,
    decode: impl FnOnce() -> Result<T, DecodeError>,
) -> Result<T, DecodeError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(decode)).unwrap_or_else(|_| {
        Err(DecodeError::Corrupt {
            format,
            message: "the decoder panicked on this input (a decoder bug): treat the file as \
                      undecodable and report it"
                .to_string(),
        })
    })
}

/// Largest pixel buffer a thread keeps for reuse (see [`recycle`]): a 21-MP RGB image.
const SPARE_MAX_BYTES: usize = 64 << 20;

thread_local! {
    /// One pixel buffer per thread, handed back by [`recycle`]. A 12-MP image needs 36 MB,
    /// more than the C allocator recycles (it maps such blocks fresh each time), and
    /// page-faulting that much memory in again for every image cost about a fifth of the
    /// CPU time of a scan.
    static SPARE: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
}

/// Hands a decoded image's pixel buffer back, so that the next decode on this thread can
/// reuse it instead of allocating (and page-faulting) a fresh one. Optional: dropping the
/// image is always correct. A thread keeps at most one buffer, of at most 64 MiB.
pub fn recycle(image: RgbImage) {
    let pixels = image.pixels;
    if pixels.capacity() <= SPARE_MAX_BYTES {
        SPARE.with(|spare| {
            let kept = spare.take();
            spare.set(if pixels.capacity() >= kept.capacity() { pixels } else { kept });
        });
    }
}

/// A zeroed buffer of `len` bytes, charged against the limits and allocated fallibly (or
/// taken from this thread's spare; zeroed all the same, so no earlier pixels can show).
fn alloc_zeroed(format: ImageFormat, len: u64, limits: &Limits) -> Result<Vec<u8>, DecodeError> {
    limits.check_alloc(format, len)?;
    let fail =
        || DecodeError::AllocationLimit { format, needed: len, limit: limits.max_alloc_bytes };
    let len = usize::try_from(len).map_err(|_| fail())?;
    let mut buf = SPARE.with(|spare| spare.take());
    buf.clear();
    if buf.capacity() < len {
        if buf.capacity() > 0 {
            SPARE.with(|spare| spare.set(buf));
        }
        return fresh_zeroed(len).ok_or_else(fail);
    }
    buf.resize(len, 0);
    Ok(buf)
}

/// A new zeroed buffer from the allocator's zeroed allocation, `None` when memory is short.
/// Large blocks come from the OS already zero and untouched, so a decode stopped early (or
/// refused) never pays for writing zeros over hundreds of megabytes.
fn fresh_zeroed(len: usize) -> Option<Vec<u8>> {
    if len == 0 {
        return Some(Vec::new());
    }
    let layout = std::alloc::Layout::array::<u8>(len).ok()?;
    // SAFETY: the layout has a non-zero size (len > 0).
    let ptr = unsafe { std::alloc::alloc_zeroed(layout) };
    if ptr.is_null() {
        return None;
    }
    // SAFETY: `ptr` was allocated by the global allocator with the layout of `len` bytes
    // (alignment 1), which is what a Vec<u8> of capacity `len` owns, and all `len` bytes are
    // initialised (zero).
    Some(unsafe { Vec::from_raw_parts(ptr, len, len) })
}

/// Pillow's `cmyk2rgb` (Convert.c): per channel `(255 - K) - MULDIV255(C, 255 - K)`, where
/// `MULDIV255(a, b) = (t + (t >> 8)) >> 8` with `t = a * b + 128`. Checked exhaustively
/// against Pillow 13 over all (C, K) pairs.
fn pillow_cmyk_to_rgb([c, m, y, k]: [u8; 4]) -> [u8; 3] {
    let nk = 255 - u32::from(k);
    let channel = |ink: u8| {
        let t = u32::from(ink) * nk + 128;
        let ink_part = ((t >> 8) + t) >> 8;
        // ink_part <= nk always, so this never underflows; saturate anyway (CLIP8).
        nk.saturating_sub(ink_part) as u8
    };
    [channel(c), channel(m), channel(y)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image_with(pixels: Vec<u8>) -> RgbImage {
        RgbImage {
            width: 1,
            height: 1,
            pixels,
            format: ImageFormat::Png,
            source_width: 1,
            source_height: 1,
            scale_denom: 1,
            source_color: SourceColor::Rgb8,
            warning_count: 0,
            first_warning: None,
        }
    }

    #[test]
    fn recycled_buffer_is_reused_and_zeroed() {
        let limits = Limits::default();
        let old = vec![0xAB; 4096];
        let old_ptr = old.as_ptr();
        recycle(image_with(old));
        let fresh = alloc_zeroed(ImageFormat::Png, 3000, &limits).unwrap();
        assert_eq!(fresh.as_ptr(), old_ptr, "the spare buffer was not reused");
        assert_eq!(fresh.len(), 3000);
        assert!(fresh.iter().all(|&b| b == 0), "earlier pixels leaked into a new image");
        // Too small a spare stays spare; the request gets a new buffer.
        recycle(image_with(fresh));
        let bigger = alloc_zeroed(ImageFormat::Png, 10_000, &limits).unwrap();
        assert_ne!(bigger.as_ptr(), old_ptr);
        assert!(bigger.iter().all(|&b| b == 0));
        // Limits still apply to a reused buffer.
        let tight = Limits { max_alloc_bytes: 100, ..Limits::default() };
        assert!(matches!(
            alloc_zeroed(ImageFormat::Png, 1000, &tight),
            Err(DecodeError::AllocationLimit { .. })
        ));
    }
}
