//! One file or buffer through digests, decoding and perceptual hashes.
//!
//! A file is read once: every buffer feeds the digests, and when the first bytes look like
//! an image (sniffed from content, never the extension) and the file is not larger than
//! [`AnalyzeOptions::max_image_file_bytes`], the bytes are also kept for decoding. Other
//! files stream through the digests with one bounded buffer, whatever their size.
//!
//! Decoding reserves its memory from [`AnalyzeOptions::decode_memory_budget`], shared by
//! every analysis using the same budget, and holds it until the perceptual hashes are done.
//! Setting [`AnalyzeOptions::cancel`] stops a decode or hash in progress within
//! milliseconds; the analysis then carries [`ImageError::Cancelled`] ([`Analysis::cancelled`]).

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use crate::decode::{
    self, DecodeControl, DecodeError, DecodeOptions, ImageFormat, MemoryBudget, SourceColor,
};
use crate::digest::{DigestOptions, Digests, MultiHasher, READ_BUFFER_SIZE};
use crate::perceptual::imagehash::{self, ImageHashError, ImageHashes};
use crate::perceptual::pdq::{self, PdqConvention, PdqError, PdqHash, PdqResult};

/// What to compute for each file.
#[derive(Debug, Clone)]
pub struct AnalyzeOptions {
    /// Which digests to compute.
    pub digest: DigestOptions,
    /// Decoder limits (per image) and JPEG scale.
    pub decode: DecodeOptions,
    /// Decode images and compute perceptual hashes at all.
    pub perceptual: bool,
    /// PDQ pre-processing convention.
    pub pdq_convention: PdqConvention,
    /// Also compute the 8 dihedral PDQ variants (from the same DCT, nearly free).
    pub dihedral: bool,
    /// pHash, dHash and aHash as Python imagehash defines them.
    pub imagehash: bool,
    /// Robust matching, query side: PDQ of the normalised versions of the image
    /// ([`crate::robust::query_candidates`]) in [`Analysis::robust`].
    pub robust: bool,
    /// Robust matching, reference side: PDQ of the image's window family
    /// ([`crate::robust::reference_windows`]) in [`Analysis::windows`].
    pub windows: bool,
    /// Larger files are digested but not decoded: no real image is this big, and keeping it
    /// in memory for decoding would let one file exhaust memory.
    pub max_image_file_bytes: u64,
    /// Memory shared by the decodes in flight: each decode reserves its estimated peak
    /// (pixels, decoder buffers, the greyscale copy hashing may need) before allocating and
    /// waits while others hold the budget; an image needing more than the whole budget gets
    /// [`DecodeError::MemoryBudget`]. The default is [`MemoryBudget::process_default`] (a
    /// quarter of the machine's memory, shared by the whole process); clones of these
    /// options share their budget.
    pub decode_memory_budget: MemoryBudget,
    /// Set to stop decoding and hashing in progress (checked between rows and blocks); the
    /// analysis then reports [`ImageError::Cancelled`] instead of hashes.
    pub cancel: Option<Arc<AtomicBool>>,
}

impl Default for AnalyzeOptions {
    fn default() -> Self {
        Self {
            digest: DigestOptions::default(),
            decode: DecodeOptions::default(),
            perceptual: true,
            pdq_convention: PdqConvention::FullResolution,
            dihedral: false,
            imagehash: true,
            robust: false,
            windows: false,
            max_image_file_bytes: 512 * 1024 * 1024,
            decode_memory_budget: MemoryBudget::process_default(),
            cancel: None,
        }
    }
}

/// The decoded image's description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSummary {
    /// The format sniffed from the content.
    pub format: ImageFormat,
    /// Width stored in the file, in pixels.
    pub width: u32,
    /// Height stored in the file, in pixels.
    pub height: u32,
    /// Width the hashes were computed on (smaller only in the fast JPEG mode).
    pub decoded_width: u32,
    /// Height the hashes were computed on (smaller only in the fast JPEG mode).
    pub decoded_height: u32,
    /// 1 for an exact decode, 2/4/8 for a DCT-domain reduced JPEG decode.
    pub scale_denom: u8,
    /// The colour model converted to RGB8.
    pub source_color: SourceColor,
}

/// Why the image part of a file produced no perceptual hashes.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ImageError {
    /// The decoder refused or failed (never [`DecodeError::Cancelled`]: see `Cancelled`).
    #[error("image not decoded: {0}")]
    Decode(DecodeError),
    /// The file is larger than [`AnalyzeOptions::max_image_file_bytes`].
    #[error("image not decoded: file of {size} bytes exceeds the {limit}-byte image file limit")]
    FileTooLarge {
        /// Bytes in the file.
        size: u64,
        /// The limit in force.
        limit: u64,
    },
    /// A perceptual hash could not be computed.
    #[error("perceptual hash failed: {0}")]
    Hash(String),
    /// [`AnalyzeOptions::cancel`] was set while the image was decoded or hashed: the
    /// analysis is incomplete (not a property of the file).
    #[error("image not hashed: cancelled before decoding and hashing finished")]
    Cancelled,
}

impl From<DecodeError> for ImageError {
    fn from(error: DecodeError) -> Self {
        match error {
            DecodeError::Cancelled => ImageError::Cancelled,
            other => ImageError::Decode(other),
        }
    }
}

/// Everything computed for one file or buffer.
#[derive(Debug, Clone, PartialEq)]
pub struct Analysis {
    /// Bytes actually read (may differ from the size `stat` gave if the file changed).
    pub size: u64,
    /// MD5, SHA-1 and SHA-256 of the bytes read.
    pub digests: Digests,
    /// `None` for content that is not an image (or could not be decoded: see `image_error`).
    pub image: Option<ImageSummary>,
    /// PDQ hash and quality of the image.
    pub pdq: Option<PdqResult>,
    /// orig, rot90, rot180, rot270, flipx, flipy, flipplus1, flipminus1 (see [`pdq::DIHEDRAL_NAMES`]).
    pub pdq_dihedral: Option<[PdqHash; 8]>,
    /// pHash, dHash and aHash as Python `imagehash` computes them.
    pub imagehashes: Option<ImageHashes>,
    /// Robust candidates (with [`AnalyzeOptions::robust`]): empty when nothing was found or
    /// the image is featureless.
    pub robust: Vec<crate::robust::Candidate>,
    /// Reference windows (with [`AnalyzeOptions::windows`]).
    pub windows: Vec<crate::robust::WindowHash>,
    /// Set when the content looked like an image but decoding or hashing failed.
    pub image_error: Option<ImageError>,
    /// Provenance indicators from the picture's metadata ([`crate::provenance`]), for
    /// content that sniffs as an image within the size limit.
    pub provenance: Option<crate::provenance::Provenance>,
}

impl Analysis {
    /// Digests and size, no picture work yet.
    fn digests_only(size: u64, digests: crate::digest::Digests) -> Self {
        Analysis {
            size,
            digests,
            image: None,
            pdq: None,
            pdq_dihedral: None,
            imagehashes: None,
            robust: Vec::new(),
            windows: Vec::new(),
            image_error: None,
            provenance: None,
        }
    }

    /// True when [`AnalyzeOptions::cancel`] stopped the image work: the analysis must not
    /// be reported as the file's result.
    pub fn cancelled(&self) -> bool {
        matches!(self.image_error, Some(ImageError::Cancelled))
    }
}

/// Analyses an in-memory buffer.
pub fn analyze_bytes(bytes: &[u8], options: &AnalyzeOptions) -> Analysis {
    let mut hasher = MultiHasher::new(options.digest);
    hasher.update(bytes);
    let mut analysis = Analysis::digests_only(bytes.len() as u64, hasher.finalize());
    if options.perceptual && decode::detect_format(bytes).is_some() {
        if analysis.size > options.max_image_file_bytes {
            analysis.image_error = Some(ImageError::FileTooLarge {
                size: analysis.size,
                limit: options.max_image_file_bytes,
            });
        } else {
            analysis.provenance = Some(crate::provenance::inspect(bytes));
            add_perceptual(&mut analysis, bytes, options);
        }
    }
    analysis
}

/// Analyses everything `reader` yields, reading it once.
pub fn analyze_reader<R: Read>(mut reader: R, options: &AnalyzeOptions) -> io::Result<Analysis> {
    let mut analyzer = StreamAnalyzer::new(options.clone());
    let mut buffer = vec![0u8; READ_BUFFER_SIZE];
    loop {
        // A large file is stopped between chunks, as a picture between rows.
        if options.cancel.as_ref().is_some_and(|c| c.load(std::sync::atomic::Ordering::Relaxed)) {
            let mut stopped = analyzer.finish();
            stopped.image_error = Some(ImageError::Cancelled);
            return Ok(stopped);
        }
        match reader.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => analyzer.update(&buffer[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(analyzer.finish())
}

/// Bytes enough for [`decode::detect_format`] to recognise every format (it reads at most
/// the first 18).
const SNIFF_BYTES: usize = 64;

/// What a [`StreamAnalyzer`] keeps of the content for decoding.
enum Kept {
    /// Fewer than [`SNIFF_BYTES`] seen: not yet known whether it is an image.
    Unsniffed(Vec<u8>),
    /// An image so far within [`AnalyzeOptions::max_image_file_bytes`]: every byte.
    Image(Vec<u8>),
    /// An image larger than the limit: digested only.
    TooLarge,
    /// Not an image (or perceptual hashing off): digested only.
    NotImage,
}

/// An analysis fed the content in pieces, for content that is neither a file nor one buffer
/// (a suite's own virtual file system, a network stream). The digests are computed as the
/// bytes come; an image is kept in memory only up to
/// [`AnalyzeOptions::max_image_file_bytes`], since decoding needs all of it. The result
/// equals [`analyze_bytes`] on the concatenated pieces, whatever their sizes.
pub struct StreamAnalyzer {
    hasher: MultiHasher,
    keeper: Keeper,
}

/// The part of an analysis that watches the bytes go by: sniffs them and keeps an image's
/// bytes for decoding; the digests are computed elsewhere.
struct Keeper {
    options: AnalyzeOptions,
    kept: Kept,
}

impl StreamAnalyzer {
    /// A new analysis with `options`.
    pub fn new(options: AnalyzeOptions) -> Self {
        let hasher = MultiHasher::new(options.digest);
        Self { hasher, keeper: Keeper::new(options) }
    }

    /// Adds the next piece of the content.
    pub fn update(&mut self, data: &[u8]) {
        self.hasher.update(data);
        self.keeper.update(data);
    }

    /// Bytes added so far.
    pub fn bytes(&self) -> u64 {
        self.hasher.bytes()
    }

    /// The analysis of everything added.
    pub fn finish(self) -> Analysis {
        let size = self.hasher.bytes();
        self.keeper.finish(size, self.hasher.finalize())
    }
}

impl Keeper {
    fn new(options: AnalyzeOptions) -> Self {
        Keeper { options, kept: Kept::Unsniffed(Vec::with_capacity(SNIFF_BYTES)) }
    }

    fn update(&mut self, mut data: &[u8]) {
        if let Kept::Unsniffed(head) = &mut self.kept {
            let take = (SNIFF_BYTES - head.len()).min(data.len());
            head.extend_from_slice(&data[..take]);
            data = &data[take..];
            if head.len() < SNIFF_BYTES {
                return;
            }
            let head = std::mem::take(head);
            self.kept = self.sniffed(head);
        }
        if let Kept::Image(bytes) = &mut self.kept {
            if bytes.len() as u64 + data.len() as u64 > self.options.max_image_file_bytes {
                self.kept = Kept::TooLarge;
            } else {
                bytes.extend_from_slice(data);
            }
        }
    }

    /// What to keep, once the first bytes are known.
    fn sniffed(&self, head: Vec<u8>) -> Kept {
        if !self.options.perceptual || decode::detect_format(&head).is_none() {
            Kept::NotImage
        } else if head.len() as u64 > self.options.max_image_file_bytes {
            Kept::TooLarge
        } else {
            Kept::Image(head)
        }
    }

    /// The analysis of `size` bytes with these digests.
    fn finish(mut self, size: u64, digests: Digests) -> Analysis {
        if let Kept::Unsniffed(head) = &mut self.kept {
            let head = std::mem::take(head);
            self.kept = self.sniffed(head);
        }
        let mut analysis = Analysis::digests_only(size, digests);
        match self.kept {
            Kept::TooLarge => {
                analysis.image_error = Some(ImageError::FileTooLarge {
                    size,
                    limit: self.options.max_image_file_bytes,
                });
            }
            Kept::Image(bytes) => {
                analysis.provenance = Some(crate::provenance::inspect(&bytes));
                add_perceptual(&mut analysis, &bytes, &self.options);
            }
            Kept::NotImage | Kept::Unsniffed(_) => {}
        }
        analysis
    }
}

/// A reader in [`analyze_many`]: hands the bytes to its [`Keeper`] as they are read and
/// ends early when the caller's cancel flag is set.
struct Watched<R> {
    inner: R,
    keeper: Keeper,
    cancelled: bool,
}

impl<R: Read> Read for Watched<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let cancel = self.keeper.options.cancel.as_ref();
        if cancel.is_some_and(|c| c.load(std::sync::atomic::Ordering::Relaxed)) {
            self.cancelled = true;
            return Ok(0);
        }
        let n = self.inner.read(buf)?;
        self.keeper.update(&buf[..n]);
        Ok(n)
    }
}

/// Analyses many inputs on the calling thread, reading each once: their digests are
/// computed together ([`crate::digest::digest_many`]: MD5 in SIMD lanes over several
/// inputs, SHA-1/SHA-256 beside it), and an input's picture work runs as soon as it has been
/// read to its end. `done` gets each reader back with its analysis (or the read error),
/// in the order the inputs end. Each analysis equals [`analyze_reader`]'s on the same bytes;
/// a set [`AnalyzeOptions::cancel`] ends every input early with
/// [`ImageError::Cancelled`], as there.
///
/// ```
/// use mediahash::analyze::{analyze_bytes, analyze_many, AnalyzeOptions};
///
/// let options = AnalyzeOptions::default();
/// let inputs: Vec<&[u8]> = vec![b"one", b"two", &[0u8; 5000]];
/// let mut n = 0;
/// let readers = inputs.iter().map(|bytes| std::io::Cursor::new(*bytes));
/// analyze_many(readers, &options, |reader, analysis| {
///     // The reader comes back read to its end; its bytes are still there.
///     assert_eq!(analysis.unwrap(), analyze_bytes(reader.into_inner(), &options));
///     n += 1;
/// });
/// assert_eq!(n, 3);
/// ```
pub fn analyze_many<R: Read>(
    inputs: impl IntoIterator<Item = R>,
    options: &AnalyzeOptions,
    mut done: impl FnMut(R, io::Result<Analysis>),
) {
    let watched = inputs.into_iter().map(|inner| Watched {
        inner,
        keeper: Keeper::new(options.clone()),
        cancelled: false,
    });
    crate::digest::digest_many(watched, options.digest, |w, result| match result {
        Ok((digests, size)) => {
            let mut analysis = w.keeper.finish(size, digests);
            if w.cancelled {
                analysis.image_error = Some(ImageError::Cancelled);
            }
            done(w.inner, Ok(analysis));
        }
        Err(e) => done(w.inner, Err(e)),
    });
}

/// Opens `path` read-only (see [`open_evidence`]) and analyses it.
pub fn analyze_file(path: &Path, options: &AnalyzeOptions) -> io::Result<Analysis> {
    let file = open_evidence(path)?;
    analyze_reader(file, options)
}

/// Opens a file read-only for evidence work: `O_NOATIME` where the OS permits it (Linux,
/// when we own the file or have `CAP_FOWNER`), silently falling back to a plain read-only
/// open otherwise, and `O_NOFOLLOW` so a symlink swapped in after enumeration is not followed.
/// The open never blocks and only a regular file is returned: a FIFO, socket, device or
/// directory is an error carrying [`crate::openfile::NotRegularFile`] (see
/// [`crate::openfile::open_regular`]), so hashing `/dev/zero` or a FIFO without a writer
/// ends at once with a reason instead of hanging.
pub fn open_evidence(path: &Path) -> io::Result<File> {
    open_evidence_with(path, false).map(|(file, _)| file)
}

/// As [`open_evidence`]; `follow_symlinks` allows a final symlink component. Also returns
/// whether `O_NOATIME` was in effect (when false, the access time may have been updated).
pub fn open_evidence_with(path: &Path, follow_symlinks: bool) -> io::Result<(File, bool)> {
    use crate::openfile::open_regular;
    #[cfg(target_os = "linux")]
    {
        let nofollow = if follow_symlinks { 0 } else { libc::O_NOFOLLOW };
        match open_regular(path, libc::O_NOATIME | nofollow | libc::O_CLOEXEC) {
            Ok(file) => return Ok((file, true)),
            // EPERM: not the owner and no CAP_FOWNER. Retry without O_NOATIME.
            Err(e) if e.raw_os_error() == Some(libc::EPERM) => {
                let file = open_regular(path, nofollow | libc::O_CLOEXEC)?;
                return Ok((file, false));
            }
            Err(e) => return Err(e),
        }
    }
    #[cfg(all(unix, not(target_os = "linux")))]
    {
        let nofollow = if follow_symlinks { 0 } else { libc::O_NOFOLLOW };
        return Ok((open_regular(path, nofollow)?, false));
    }
    #[cfg(windows)]
    if let Some(file) = crate::openfile::open_regular_frozen(path)? {
        return Ok((file, true));
    }
    #[allow(unreachable_code)]
    {
        let _ = follow_symlinks;
        Ok((open_regular(path, 0)?, false))
    }
}

fn add_perceptual(analysis: &mut Analysis, bytes: &[u8], options: &AnalyzeOptions) {
    let cancel = options.cancel.as_deref();
    let control = DecodeControl {
        budget: Some(&options.decode_memory_budget),
        cancel,
        // The greyscale copy imagehash makes for tall or very narrow images (one byte per
        // pixel); PDQ streams through a few rows.
        extra_bytes_per_pixel: u64::from(options.imagehash),
    };
    // Held until the hashes are done: the pixels stay allocated until then.
    let (image, _reservation) = match decode::decode_rgb8_with(bytes, &options.decode, &control) {
        Ok(decoded) => decoded,
        Err(e) => {
            analysis.image_error = Some(e.into());
            return;
        }
    };
    analysis.image = Some(ImageSummary {
        format: image.format,
        width: image.source_width,
        height: image.source_height,
        decoded_width: image.width,
        decoded_height: image.height,
        scale_denom: image.scale_denom,
        source_color: image.source_color,
    });
    let (w, h, rgb) = (image.width, image.height, &image.pixels[..]);
    let convention = options.pdq_convention;
    let pdq_outcome = if options.dihedral {
        pdq::pdq_dihedral_from_rgb_cancellable(w, h, rgb, convention, cancel).map(|d| {
            analysis.pdq =
                Some(PdqResult { hash: d.hashes[0], quality: d.quality, convention: d.convention });
            analysis.pdq_dihedral = Some(d.hashes);
        })
    } else {
        pdq::pdq_from_rgb_cancellable(w, h, rgb, convention, cancel).map(|r| analysis.pdq = Some(r))
    };
    match pdq_outcome {
        Ok(()) => {}
        Err(PdqError::Cancelled) => return cancelled(analysis),
        Err(e) => {
            analysis.image_error = Some(ImageError::Hash(e.to_string()));
            return;
        }
    }
    if options.imagehash {
        match imagehash::imagehashes_from_rgb_cancellable(w, h, rgb, cancel) {
            Ok(hashes) => analysis.imagehashes = Some(hashes),
            Err(ImageHashError::Cancelled) => return cancelled(analysis),
            Err(e) => analysis.image_error = Some(ImageError::Hash(e.to_string())),
        }
    }
    // Robust hashes only for images whose plain PDQ may be matched at all.
    if (options.robust || options.windows)
        && analysis.pdq.is_some_and(|p| p.quality >= pdq::QUALITY_THRESHOLD)
    {
        let robust = if options.robust {
            crate::robust::query_candidates(w, h, rgb).map(|c| analysis.robust = c)
        } else {
            Ok(())
        };
        let windows = if options.windows {
            crate::robust::reference_windows(w, h, rgb).map(|c| analysis.windows = c)
        } else {
            Ok(())
        };
        if let Err(e) = robust.and(windows) {
            analysis.image_error = Some(ImageError::Hash(e.to_string()));
        }
    }
    decode::recycle(image);
}

/// Drops the partial perceptual results of a cancelled analysis.
fn cancelled(analysis: &mut Analysis) {
    analysis.image = None;
    analysis.pdq = None;
    analysis.pdq_dihedral = None;
    analysis.imagehashes = None;
    analysis.robust.clear();
    analysis.windows.clear();
    analysis.image_error = Some(ImageError::Cancelled);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pieces of any size give the one-buffer result, and content that is no picture, or
    /// a picture over the size limit, is not kept.
    #[test]
    fn streaming_equals_one_buffer_and_keeps_only_pictures() {
        let mut png = Vec::new();
        let pixels = image::RgbImage::from_fn(97, 61, |x, y| {
            image::Rgb([(x * 5 % 251) as u8, (y * 7 % 241) as u8, ((x + y) % 256) as u8])
        });
        pixels.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png).unwrap();
        let options = AnalyzeOptions::default();
        let whole = analyze_bytes(&png, &options);
        let whole_pdq = whole.pdq.as_ref().map(|p| (p.hash, p.quality));
        assert!(whole_pdq.is_some());
        for piece in [1, 7, 64, 65, 4096, png.len()] {
            let mut s = StreamAnalyzer::new(options.clone());
            for chunk in png.chunks(piece) {
                s.update(chunk);
            }
            let streamed = s.finish();
            assert_eq!(streamed.digests, whole.digests, "piece {piece}");
            assert_eq!(streamed.pdq.as_ref().map(|p| (p.hash, p.quality)), whole_pdq);
            assert_eq!(
                streamed.imagehashes.as_ref().map(|h| h.phash),
                whole.imagehashes.as_ref().map(|h| h.phash)
            );
        }
        let mut text = StreamAnalyzer::new(options.clone());
        text.update(&[b'x'; 100_000]);
        assert!(matches!(text.keeper.kept, Kept::NotImage));
        let small = AnalyzeOptions { max_image_file_bytes: 100, ..options };
        let mut big = StreamAnalyzer::new(small);
        for chunk in png.chunks(30) {
            big.update(chunk);
        }
        assert!(matches!(big.keeper.kept, Kept::TooLarge));
        assert!(matches!(big.finish().image_error, Some(ImageError::FileTooLarge { .. })));
    }
}
