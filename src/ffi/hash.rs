//! Hashing a file or a buffer: a thin layer over [`crate::analyze`].

use std::ffi::{CStr, c_char};
use std::io;
use std::path::PathBuf;

use crate::analyze::{self, Analysis, AnalyzeOptions, ImageError};
use crate::decode::{DecodeError, ImageFormat, JpegScale, Limits};
use crate::perceptual::pdq::PdqConvention;

use super::abi::{read_input, sized32, write_output};
use super::status::{fail, ffi_boundary, mh_status, non_null, null_parameter};

sized32!(
    mh_hash_options: max_image_file_bytes as u64,
    mh_hash_result: image_error as [c_char; 256],
);

/// Report MD5 (`mh_hash_options.digests`, `mh_hash_result.valid`).
pub const MH_DIGEST_MD5: u32 = 1 << 0;
/// Report SHA-1.
pub const MH_DIGEST_SHA1: u32 = 1 << 1;
/// Report SHA-256.
pub const MH_DIGEST_SHA256: u32 = 1 << 2;
/// Compute and report BLAKE3 (costs an extra pass over the data in memory).
pub const MH_DIGEST_BLAKE3: u32 = 1 << 3;
/// MD5, SHA-1 and SHA-256: the default.
pub const MH_DIGEST_DEFAULT: u32 = MH_DIGEST_MD5 | MH_DIGEST_SHA1 | MH_DIGEST_SHA256;
const DIGEST_ALL: u32 = MH_DIGEST_DEFAULT | MH_DIGEST_BLAKE3;

/// Decode images and compute PDQ (hash and quality) (`mh_hash_options.perceptual`).
pub const MH_PERCEPTUAL_PDQ: u32 = 1 << 0;
/// Also compute the 8 dihedral PDQ variants (rotations and flips). Implies PDQ. `pdq` is
/// then the first variant, which for an image of exactly 64x64 pixels may differ slightly
/// from the plain PDQ hash (Meta's C++ reference computes the two differently there).
pub const MH_PERCEPTUAL_PDQ_DIHEDRAL: u32 = 1 << 1;
/// Also compute pHash, dHash and aHash exactly as Python `imagehash` does. Implies PDQ.
pub const MH_PERCEPTUAL_IMAGEHASH: u32 = 1 << 2;
/// PDQ and the imagehash trio: the default.
pub const MH_PERCEPTUAL_DEFAULT: u32 = MH_PERCEPTUAL_PDQ | MH_PERCEPTUAL_IMAGEHASH;
const PERCEPTUAL_ALL: u32 = MH_PERCEPTUAL_DEFAULT | MH_PERCEPTUAL_PDQ_DIHEDRAL;

/// `mh_hash_result.md5` is valid.
pub const MH_VALID_MD5: u32 = 1 << 0;
/// `mh_hash_result.sha1` is valid.
pub const MH_VALID_SHA1: u32 = 1 << 1;
/// `mh_hash_result.sha256` is valid.
pub const MH_VALID_SHA256: u32 = 1 << 2;
/// `mh_hash_result.blake3` is valid.
pub const MH_VALID_BLAKE3: u32 = 1 << 3;
/// The content was decoded as an image: `width`, `height`, `decoded_width`,
/// `decoded_height` are valid.
pub const MH_VALID_IMAGE: u32 = 1 << 4;
/// `pdq`, `pdq_quality` and `pdq_convention` are valid.
pub const MH_VALID_PDQ: u32 = 1 << 5;
/// `pdq_dihedral` is valid.
pub const MH_VALID_PDQ_DIHEDRAL: u32 = 1 << 6;
/// `phash`, `dhash` and `ahash` are valid.
pub const MH_VALID_IMAGEHASH: u32 = 1 << 7;

/// A good `mh_hash_options.jpeg_fast_min_side` for speed (the `mh --fast` choice): keeps the
/// shorter side >= 256 px, 4x PDQ's 64x64 grid. Measured: PDQ within 0-8 bits of the exact
/// hash, pHash identical, about 2x the exact mode's throughput on photos.
pub const MH_JPEG_FAST_MIN_SIDE_DEFAULT: u32 = 256;

/// Image container formats, as found in `mh_hash_result.image_format`.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum mh_image_format {
    /// Not an image (no known signature at the start of the content).
    None = 0,
    /// JPEG (decoded by libjpeg-turbo, as the PDQ reference pipeline does).
    Jpeg = 1,
    /// PNG (an APNG's default image).
    Png = 2,
    /// GIF (the first frame).
    Gif = 3,
    /// Windows/OS2 bitmap.
    Bmp = 4,
    /// TIFF, classic or BigTIFF (the first page).
    Tiff = 5,
    /// WebP, lossy or lossless (the first frame).
    Webp = 6,
    /// Windows icon (the largest entry).
    Ico = 7,
    /// Netpbm: PBM, PGM, PPM (PAM is recognised but not decoded).
    Pnm = 8,
}

/// Which PDQ convention to compute (`mh_hash_options.pdq_convention`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum mh_pdq_convention {
    /// Hash the full-resolution image, like Meta's C++ library and Python `pdqhash` (the
    /// default).
    FullResolution = 0,
    /// Downsample to at most 512x512 first, like the reference `pdq-photo-hasher` CLI.
    Cli512 = 1,
}

/// What to compute. Initialise with `mh_hash_options_default`, then change fields.
///
/// Enumerations and bit sets are plain `uint32_t` and are checked on every call: an unknown
/// value or bit gives `MH_STATUS_INVALID_PARAMETER`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct mh_hash_options {
    /// `sizeof` this struct as the caller's header declares it: set it before passing the
    /// struct (see "ABI versioning" in the header's preamble).
    pub struct_size: u32,
    /// `MH_DIGEST_*` bits. MD5, SHA-1 and SHA-256 are always computed together in one pass;
    /// the bits choose which are reported. `MH_DIGEST_BLAKE3` adds BLAKE3.
    pub digests: u32,
    /// `MH_PERCEPTUAL_*` bits; 0 = treat every input as opaque bytes (digests only).
    pub perceptual: u32,
    /// An `mh_pdq_convention` value.
    pub pdq_convention: u32,
    /// 0 = decode JPEGs at full resolution (exact, the default). Otherwise decode JPEGs
    /// reduced in the DCT domain so the shorter side stays >= this many pixels: much faster,
    /// but the hashes differ from full-resolution ones.
    pub jpeg_fast_min_side: u32,
    /// Largest image width accepted for decoding, in pixels.
    pub max_width: u32,
    /// Largest image height accepted for decoding, in pixels.
    pub max_height: u32,
    /// Largest width x height accepted for decoding.
    pub max_pixels: u64,
    /// Most memory one image decode may allocate, in bytes.
    pub max_alloc_bytes: u64,
    /// Larger inputs are digested but not decoded, in bytes.
    pub max_image_file_bytes: u64,
    /// NULL, or a token whose `mh_cancel_set` stops the call: decoding and hashing in
    /// progress stop and the call returns `MH_STATUS_CANCELLED`. (Added after ABI version
    /// 1's first layout: a caller whose `struct_size` ends before it gets NULL.)
    pub cancel: *const super::cancel::mh_cancel,
}

/// Everything computed for one file or buffer. Caller-allocated; filled only on success.
///
/// `valid` says which fields hold values (`MH_VALID_*` bits); the others are zero.
/// Byte arrays are the raw digest / hash bytes; `pdq` is in the byte order of its usual hex
/// form (the first byte gives the first two hex characters). 64-bit hashes are integers
/// whose big-endian hex form is what Python `imagehash` prints.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct mh_hash_result {
    /// `sizeof` this struct as the caller's header declares it: set it before passing the
    /// struct (see "ABI versioning" in the header's preamble).
    pub struct_size: u32,
    /// `MH_VALID_*` bits.
    pub valid: u32,
    /// An `mh_image_format`: the format of the decoded image, or of the image that failed
    /// to decode when the failure names it; `MH_IMAGE_FORMAT_NONE` for non-images.
    pub image_format: u32,
    /// Bytes read (for a file that changed while being read, what was actually hashed).
    pub size: u64,
    /// MD5 digest (`MH_VALID_MD5`).
    pub md5: [u8; 16],
    /// SHA-1 digest (`MH_VALID_SHA1`).
    pub sha1: [u8; 20],
    /// SHA-256 digest (`MH_VALID_SHA256`).
    pub sha256: [u8; 32],
    /// BLAKE3 digest (`MH_VALID_BLAKE3`).
    pub blake3: [u8; 32],
    /// Width stored in the image, in pixels (`MH_VALID_IMAGE`).
    pub width: u32,
    /// Height stored in the image, in pixels.
    pub height: u32,
    /// Width the hashes were computed on (smaller than `width` only with
    /// `jpeg_fast_min_side`).
    pub decoded_width: u32,
    /// Height the hashes were computed on.
    pub decoded_height: u32,
    /// PDQ hash, 256 bits (`MH_VALID_PDQ`); match at Hamming distance <= 31.
    pub pdq: [u8; 32],
    /// PDQ quality 0-100; below 50 the hash is unreliable for matching.
    pub pdq_quality: u32,
    /// The `mh_pdq_convention` the PDQ hashes were computed with.
    pub pdq_convention: u32,
    /// The 8 dihedral PDQ hashes, in the order orig, rot90, rot180, rot270, flipx, flipy,
    /// flipplus1, flipminus1 (`pdq_dihedral[0]` equals `pdq`).
    pub pdq_dihedral: [[u8; 32]; 8],
    /// Python `imagehash.phash` (`MH_VALID_IMAGEHASH`).
    pub phash: u64,
    /// Python `imagehash.dhash` (horizontal).
    pub dhash: u64,
    /// Python `imagehash.average_hash`.
    pub ahash: u64,
    /// `MH_STATUS_OK`, or why content that looked like an image has no perceptual hashes:
    /// `MH_STATUS_IMAGE_DECODE_FAILED`, `MH_STATUS_IMAGE_TOO_LARGE` or
    /// `MH_STATUS_IMAGE_HASH_FAILED`. The digests are valid either way.
    pub image_status: u32,
    /// The message for `image_status`, UTF-8, NUL-terminated (cut at 255 bytes); empty when
    /// `image_status` is `MH_STATUS_OK`.
    pub image_error: [c_char; 256],
}

impl mh_hash_options {
    pub(crate) fn defaults() -> Self {
        let analyze = AnalyzeOptions::default();
        let limits = analyze.decode.limits;
        let mut perceptual = 0;
        if analyze.perceptual {
            perceptual |= MH_PERCEPTUAL_PDQ;
            if analyze.dihedral {
                perceptual |= MH_PERCEPTUAL_PDQ_DIHEDRAL;
            }
            if analyze.imagehash {
                perceptual |= MH_PERCEPTUAL_IMAGEHASH;
            }
        }
        Self {
            struct_size: super::abi::size_of_struct::<Self>(),
            cancel: std::ptr::null(),
            digests: MH_DIGEST_DEFAULT | if analyze.digest.blake3 { MH_DIGEST_BLAKE3 } else { 0 },
            perceptual,
            pdq_convention: convention_to_c(analyze.pdq_convention) as u32,
            jpeg_fast_min_side: match analyze.decode.jpeg_scale {
                JpegScale::Fast { min_side } => min_side.max(1),
                JpegScale::Full => 0,
            },
            max_width: limits.max_width,
            max_height: limits.max_height,
            max_pixels: limits.max_pixels,
            max_alloc_bytes: limits.max_alloc_bytes,
            max_image_file_bytes: analyze.max_image_file_bytes,
        }
    }

    /// Checks every field and converts to the Rust options.
    pub(crate) fn to_analyze(self) -> Result<AnalyzeOptions, mh_status> {
        if self.digests & !DIGEST_ALL != 0 {
            return Err(fail(
                mh_status::InvalidParameter,
                format_args!("mh_hash_options.digests has unknown bits 0x{:x}", self.digests),
            ));
        }
        if self.perceptual & !PERCEPTUAL_ALL != 0 {
            return Err(fail(
                mh_status::InvalidParameter,
                format_args!("mh_hash_options.perceptual has unknown bits 0x{:x}", self.perceptual),
            ));
        }
        let pdq_convention = match self.pdq_convention {
            0 => PdqConvention::FullResolution,
            1 => PdqConvention::Cli512,
            other => {
                return Err(fail(
                    mh_status::InvalidParameter,
                    format_args!(
                        "mh_hash_options.pdq_convention is {other}; use \
                         MH_PDQ_CONVENTION_FULL_RESOLUTION (0) or MH_PDQ_CONVENTION_CLI512 (1)"
                    ),
                ));
            }
        };
        let mut options = AnalyzeOptions::default();
        options.digest.blake3 = self.digests & MH_DIGEST_BLAKE3 != 0;
        options.perceptual = self.perceptual != 0;
        options.dihedral = self.perceptual & MH_PERCEPTUAL_PDQ_DIHEDRAL != 0;
        options.imagehash = self.perceptual & MH_PERCEPTUAL_IMAGEHASH != 0;
        options.pdq_convention = pdq_convention;
        options.decode.jpeg_scale = match self.jpeg_fast_min_side {
            0 => JpegScale::Full,
            min_side => JpegScale::Fast { min_side },
        };
        options.decode.limits = Limits {
            max_width: self.max_width,
            max_height: self.max_height,
            max_pixels: self.max_pixels,
            max_alloc_bytes: self.max_alloc_bytes,
        };
        options.max_image_file_bytes = self.max_image_file_bytes;
        Ok(options)
    }
}

fn convention_to_c(convention: PdqConvention) -> mh_pdq_convention {
    match convention {
        PdqConvention::FullResolution => mh_pdq_convention::FullResolution,
        PdqConvention::Cli512 => mh_pdq_convention::Cli512,
    }
}

fn format_to_c(format: ImageFormat) -> mh_image_format {
    match format {
        ImageFormat::Jpeg => mh_image_format::Jpeg,
        ImageFormat::Png => mh_image_format::Png,
        ImageFormat::Gif => mh_image_format::Gif,
        ImageFormat::Bmp => mh_image_format::Bmp,
        ImageFormat::Tiff => mh_image_format::Tiff,
        ImageFormat::WebP => mh_image_format::Webp,
        ImageFormat::Ico => mh_image_format::Ico,
        ImageFormat::Pnm => mh_image_format::Pnm,
    }
}

fn image_error_status(error: &ImageError) -> mh_status {
    match error {
        ImageError::Decode(DecodeError::TooLarge { .. })
        | ImageError::Decode(DecodeError::AllocationLimit { .. })
        | ImageError::Decode(DecodeError::MemoryBudget { .. })
        | ImageError::FileTooLarge { .. } => mh_status::ImageTooLarge,
        // Cancelled: the C API sets no cancel flag on single-file hashing.
        ImageError::Decode(_) | ImageError::Cancelled => mh_status::ImageDecodeFailed,
        ImageError::Hash(_) => mh_status::ImageHashFailed,
    }
}

/// Copies `text` into a fixed C buffer, NUL-terminated, cut at a UTF-8 boundary.
pub(crate) fn copy_truncated(text: &str, out: &mut [c_char]) {
    let Some(room) = out.len().checked_sub(1) else { return };
    let mut end = text.len().min(room);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    for (slot, byte) in out.iter_mut().zip(&text.as_bytes()[..end]) {
        *slot = *byte as c_char;
    }
    out[end] = 0;
}

fn to_result(analysis: &Analysis, requested_digests: u32) -> mh_hash_result {
    let mut r = mh_hash_result {
        struct_size: super::abi::size_of_struct::<mh_hash_result>(),
        valid: 0,
        image_format: mh_image_format::None as u32,
        size: analysis.size,
        md5: [0; 16],
        sha1: [0; 20],
        sha256: [0; 32],
        blake3: [0; 32],
        width: 0,
        height: 0,
        decoded_width: 0,
        decoded_height: 0,
        pdq: [0; 32],
        pdq_quality: 0,
        pdq_convention: 0,
        pdq_dihedral: [[0; 32]; 8],
        phash: 0,
        dhash: 0,
        ahash: 0,
        image_status: mh_status::Ok as u32,
        image_error: [0; 256],
    };
    let d = &analysis.digests;
    if requested_digests & MH_DIGEST_MD5 != 0 {
        r.md5 = d.md5;
        r.valid |= MH_VALID_MD5;
    }
    if requested_digests & MH_DIGEST_SHA1 != 0 {
        r.sha1 = d.sha1;
        r.valid |= MH_VALID_SHA1;
    }
    if requested_digests & MH_DIGEST_SHA256 != 0 {
        r.sha256 = d.sha256;
        r.valid |= MH_VALID_SHA256;
    }
    if let Some(b3) = d.blake3 {
        r.blake3 = b3;
        r.valid |= MH_VALID_BLAKE3;
    }
    let format =
        analysis.image.as_ref().map(|image| image.format).or_else(|| match &analysis.image_error {
            Some(ImageError::Decode(e)) => e.format(),
            _ => None,
        });
    if let Some(format) = format {
        r.image_format = format_to_c(format) as u32;
    }
    if let Some(image) = &analysis.image {
        r.width = image.width;
        r.height = image.height;
        r.decoded_width = image.decoded_width;
        r.decoded_height = image.decoded_height;
        r.valid |= MH_VALID_IMAGE;
    }
    if let Some(pdq) = &analysis.pdq {
        r.pdq = pdq.hash.0;
        r.pdq_quality = u32::from(pdq.quality);
        r.pdq_convention = convention_to_c(pdq.convention) as u32;
        r.valid |= MH_VALID_PDQ;
    }
    if let Some(dihedral) = &analysis.pdq_dihedral {
        for (slot, hash) in r.pdq_dihedral.iter_mut().zip(dihedral) {
            *slot = hash.0;
        }
        r.valid |= MH_VALID_PDQ_DIHEDRAL;
    }
    if let Some(hashes) = &analysis.imagehashes {
        r.phash = hashes.phash.0;
        r.dhash = hashes.dhash.0;
        r.ahash = hashes.ahash.0;
        r.valid |= MH_VALID_IMAGEHASH;
    }
    if let Some(error) = &analysis.image_error {
        r.image_status = image_error_status(error) as u32;
        copy_truncated(&error.to_string(), &mut r.image_error);
    }
    r
}

/// Reads the options, NULL meaning the defaults.
///
/// # Safety
///
/// `options` must be NULL or point to a readable `mh_hash_options`.
pub(crate) unsafe fn read_options(
    options: *const mh_hash_options,
    function: &str,
) -> Result<(AnalyzeOptions, u32), mh_status> {
    let options = if options.is_null() {
        mh_hash_options::defaults()
    } else {
        // SAFETY: the caller guarantees `options` is readable for its `struct_size` bytes.
        unsafe { read_input(options, mh_hash_options::defaults(), function) }?
    };
    let mut analyze = options.to_analyze()?;
    // SAFETY: the caller guarantees `cancel` is NULL or a live token.
    analyze.cancel = unsafe { super::cancel::token(options.cancel) };
    Ok((analyze, options.digests))
}

/// `MH_STATUS_CANCELLED` when the caller's token stopped the analysis.
pub(crate) fn check_cancelled(analysis: &Analysis) -> Result<(), mh_status> {
    if analysis.cancelled() {
        return Err(fail(mh_status::Cancelled, "cancelled through the mh_cancel token"));
    }
    Ok(())
}

/// Converts a C path (bytes) to a `PathBuf`.
pub(crate) fn path_from_c(path: &CStr) -> Result<PathBuf, mh_status> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        Ok(PathBuf::from(std::ffi::OsStr::from_bytes(path.to_bytes())))
    }
    #[cfg(not(unix))]
    {
        match path.to_str() {
            Ok(s) => Ok(PathBuf::from(s)),
            Err(_) => Err(fail(mh_status::InvalidParameter, "path is not valid UTF-8")),
        }
    }
}

/// Maps an I/O error on `path` to a status and records the detail.
pub(crate) fn io_failure(what: &str, path: &std::path::Path, error: &io::Error) -> mh_status {
    let status = match error.kind() {
        _ if crate::openfile::NotRegularFile::of(error).is_some() => mh_status::NotRegularFile,
        io::ErrorKind::NotFound => mh_status::NotFound,
        io::ErrorKind::PermissionDenied => mh_status::PermissionDenied,
        _ => mh_status::Io,
    };
    fail(status, format_args!("{what} {}: {error}", path.display()))
}

/// Fills `*out` with the default options: MD5, SHA-1, SHA-256, PDQ (full resolution) and
/// the imagehash trio, exact JPEG decoding, and the library's decode limits.
///
/// # Safety
///
/// `out` must be NULL or point to a writable `mh_hash_options`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mh_hash_options_default(out: *mut mh_hash_options) -> mh_status {
    ffi_boundary(|| {
        non_null!("mh_hash_options_default", out)?;
        // SAFETY: `out` is non-NULL and the caller guarantees its `struct_size` bytes are
        // writable.
        unsafe { write_output(out, mh_hash_options::defaults(), "mh_hash_options_default") }
    })
}

/// Hashes the file at `path` (read once, read-only; `O_NOATIME` where permitted) into
/// `*out`.
///
/// `options` may be NULL for the defaults. A final symlink component is refused
/// (`MH_STATUS_IO`) so a link swapped in on evidence media is not followed. Content that is
/// not an image, or an image that fails to decode, is still a success: check `out->valid`
/// and `out->image_status`. Returns `MH_STATUS_NOT_FOUND`, `MH_STATUS_PERMISSION_DENIED`
/// or `MH_STATUS_IO` when the file cannot be read, and `MH_STATUS_INVALID_PARAMETER` for
/// bad options. Thread-safe.
///
/// # Safety
///
/// `path` must be NULL or a NUL-terminated string; `options` NULL or a readable
/// `mh_hash_options`; `out` NULL or a writable `mh_hash_result`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mh_hash_file(
    path: *const c_char,
    options: *const mh_hash_options,
    out: *mut mh_hash_result,
) -> mh_status {
    ffi_boundary(|| {
        non_null!("mh_hash_file", path, out)?;
        // SAFETY: `path` is non-NULL and the caller guarantees it is NUL-terminated.
        let path = path_from_c(unsafe { CStr::from_ptr(path) })?;
        // SAFETY: forwarded from the caller.
        unsafe { hash_file_at(&path, options, out, "mh_hash_file") }
    })
}

/// The body of `mh_hash_file` and its wide-path form.
///
/// # Safety
///
/// `options` must be NULL or readable for its `struct_size` bytes; `out` non-NULL and
/// writable for its `struct_size` bytes.
pub(crate) unsafe fn hash_file_at(
    path: &std::path::Path,
    options: *const mh_hash_options,
    out: *mut mh_hash_result,
    function: &str,
) -> Result<(), mh_status> {
    // SAFETY: the caller guarantees `options` is NULL or readable.
    let (analyze_options, digests) = unsafe { read_options(options, function) }?;
    let analysis = analyze::analyze_file(path, &analyze_options)
        .map_err(|e| io_failure("cannot hash", path, &e))?;
    check_cancelled(&analysis)?;
    let result = to_result(&analysis, digests);
    // SAFETY: the caller guarantees `out` is writable for its `struct_size` bytes.
    unsafe { write_output(out, result, function) }
}

/// Hashes `len` bytes at `data` into `*out`. `data` may be NULL only when `len` is 0.
///
/// `options` may be NULL for the defaults. As `mh_hash_file` otherwise. Thread-safe.
///
/// # Safety
///
/// `data` must be NULL or point to `len` readable bytes that are not modified during the
/// call; `options` NULL or a readable `mh_hash_options`; `out` NULL or a writable
/// `mh_hash_result`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mh_hash_buffer(
    data: *const u8,
    len: usize,
    options: *const mh_hash_options,
    out: *mut mh_hash_result,
) -> mh_status {
    ffi_boundary(|| {
        if (data.is_null() && len != 0) || out.is_null() {
            return Err(null_parameter("mh_hash_buffer", "data (with len > 0) or out"));
        }
        if len > isize::MAX as usize {
            return Err(fail(mh_status::InvalidParameter, "mh_hash_buffer: len is too large"));
        }
        let bytes: &[u8] = if len == 0 {
            &[]
        } else {
            // SAFETY: `data` is non-NULL, `len` fits in isize, and the caller guarantees
            // `len` readable bytes that stay unmodified during the call.
            unsafe { std::slice::from_raw_parts(data, len) }
        };
        // SAFETY: the caller guarantees `options` is NULL or readable.
        let (analyze_options, digests) = unsafe { read_options(options, "mh_hash_buffer") }?;
        let analysis = analyze::analyze_bytes(bytes, &analyze_options);
        check_cancelled(&analysis)?;
        let result = to_result(&analysis, digests);
        // SAFETY: `out` is non-NULL and the caller guarantees its `struct_size` bytes are
        // writable.
        unsafe { write_output(out, result, "mh_hash_buffer") }
    })
}

/// A streaming hasher (opaque): for content a suite reads itself, in pieces (its own
/// virtual file system, an E01 it opened, a phone extraction), that it cannot hand over as
/// a path or one buffer. Digests are computed as the pieces come; a picture is kept in memory
/// only up to `max_image_file_bytes` (decoding needs all of it). The result equals
/// `mh_hash_buffer` on the concatenated pieces, whatever their sizes.
///
/// One hasher is used by one thread at a time (it may move between threads).
pub struct mh_hasher {
    /// `None` once finished.
    analyzer: Option<analyze::StreamAnalyzer>,
    digests: u32,
}

/// Makes a hasher with `options` (NULL for the defaults; read during this call only) in
/// `*out`. Free it with `mh_hasher_free`.
///
/// # Safety
///
/// `options` must be NULL or readable for its `struct_size` bytes; `out` NULL or a writable
/// `mh_hasher *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mh_hasher_new(
    options: *const mh_hash_options,
    out: *mut *mut mh_hasher,
) -> mh_status {
    ffi_boundary(|| {
        non_null!("mh_hasher_new", out)?;
        // SAFETY: the caller guarantees `options` is NULL or readable.
        let (analyze_options, digests) = unsafe { read_options(options, "mh_hasher_new") }?;
        let hasher = Box::new(mh_hasher {
            analyzer: Some(analyze::StreamAnalyzer::new(analyze_options)),
            digests,
        });
        // SAFETY: `out` is non-NULL and the caller guarantees it is writable.
        unsafe { out.write(Box::into_raw(hasher)) };
        Ok(())
    })
}

/// Adds the next `len` bytes at `data` (NULL only with `len` 0). `MH_STATUS_INVALID_PARAMETER`
/// after `mh_hasher_finish`.
///
/// # Safety
///
/// `hasher` must be NULL or a live hasher not used by another thread during the call; `data`
/// NULL or readable for `len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mh_hasher_update(
    hasher: *mut mh_hasher,
    data: *const u8,
    len: usize,
) -> mh_status {
    ffi_boundary(|| {
        if hasher.is_null() || (data.is_null() && len != 0) {
            return Err(null_parameter("mh_hasher_update", "hasher, or data with len > 0"));
        }
        if len > isize::MAX as usize {
            return Err(fail(mh_status::InvalidParameter, "mh_hasher_update: len is too large"));
        }
        // SAFETY: `hasher` is non-NULL; the caller guarantees it is live and not shared.
        let hasher = unsafe { &mut *hasher };
        let Some(analyzer) = hasher.analyzer.as_mut() else {
            return Err(fail(mh_status::InvalidParameter, "mh_hasher_update: already finished"));
        };
        if len > 0 {
            // SAFETY: `data` is non-NULL, `len` fits in isize and the caller guarantees `len`
            // readable bytes.
            analyzer.update(unsafe { std::slice::from_raw_parts(data, len) });
        }
        Ok(())
    })
}

/// Finishes the content: digests and, for a picture, its perceptual hashes into `*out` (as
/// `mh_hash_buffer`). The hasher then takes no more bytes; free it with `mh_hasher_free`.
/// `MH_STATUS_CANCELLED` when the options' cancel token stopped the decoding.
///
/// # Safety
///
/// `hasher` must be NULL or a live hasher not used by another thread during the call; `out`
/// NULL or writable for its `struct_size` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mh_hasher_finish(
    hasher: *mut mh_hasher,
    out: *mut mh_hash_result,
) -> mh_status {
    ffi_boundary(|| {
        non_null!("mh_hasher_finish", hasher, out)?;
        // SAFETY: `hasher` is non-NULL; the caller guarantees it is live and not shared.
        let hasher = unsafe { &mut *hasher };
        let Some(analyzer) = hasher.analyzer.take() else {
            return Err(fail(mh_status::InvalidParameter, "mh_hasher_finish: already finished"));
        };
        let analysis = analyzer.finish();
        check_cancelled(&analysis)?;
        // SAFETY: `out` is non-NULL and the caller guarantees its `struct_size` bytes are
        // writable.
        unsafe { write_output(out, to_result(&analysis, hasher.digests), "mh_hasher_finish") }
    })
}

/// Frees a hasher (finished or not). NULL is a no-op.
///
/// # Safety
///
/// `hasher` must be NULL or a live hasher, not used after.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mh_hasher_free(hasher: *mut mh_hasher) {
    super::status::boundary((), || {
        if !hasher.is_null() {
            // SAFETY: the caller gives up a live hasher made by `mh_hasher_new`.
            drop(unsafe { Box::from_raw(hasher) });
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_round_trip_to_analyze_defaults() {
        let options = mh_hash_options::defaults().to_analyze().unwrap();
        let want = AnalyzeOptions::default();
        assert_eq!(options.perceptual, want.perceptual);
        assert_eq!(options.dihedral, want.dihedral);
        assert_eq!(options.imagehash, want.imagehash);
        assert_eq!(options.decode, want.decode);
        assert_eq!(options.max_image_file_bytes, want.max_image_file_bytes);
        assert_eq!(options.digest, want.digest);
    }

    #[test]
    fn fast_min_side_constant_matches_the_library() {
        assert_eq!(
            JpegScale::FAST_DEFAULT,
            JpegScale::Fast { min_side: MH_JPEG_FAST_MIN_SIDE_DEFAULT }
        );
    }

    #[test]
    fn truncation_respects_utf8() {
        let mut buf = [1 as c_char; 4];
        copy_truncated("aé€", &mut buf); // 1 + 2 + 3 bytes; only "aé" fits in 3
        assert_eq!(&buf, &[b'a' as c_char, 0xc3u8 as c_char, 0xa9u8 as c_char, 0]);
    }
}
