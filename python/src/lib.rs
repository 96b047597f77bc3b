//! `mediahash._native`: the Python extension module over the mediahash library (issue #17).
//!
//! Thin on purpose: every function here converts Python arguments, calls one public library
//! function with the GIL released, and converts the result back. Hashing, matching, walking
//! and the report's JSON all stay in the library; the Python package (`python/mediahash`)
//! adds only the idioms (numpy/PIL conversion, dataclasses, the exception classes).
//!
//! Errors are raised as instances of `mediahash.errors` classes, chosen by the C ABI status
//! code the same failure has in `src/ffi` (one class per status band), so Python and C
//! callers see the same codes.

use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;

use mediahash::analyze::{AnalyzeOptions, ImageError, analyze_file};
use mediahash::decode::{DecodeError, JpegScale};
use mediahash::ffi::status::mh_status;
use mediahash::perceptual::imagehash::{self as ih, ImageHashError, Luma8};
use mediahash::perceptual::pdq::{self, PdqConvention, PdqError, PdqHash};
use mediahash::refset::read::{MappedRefSet, RefSet, RefsetError};
use mediahash::refset::shard::{ShardError, ShardedSet};
use mediahash::refset::{HashKind, HashValue};
use mediahash::report::jsonl::JsonlWriter;
use mediahash::report::{EntryRecord, Footer, Header, Match, ReferenceProvenance, ReportWriter};
use mediahash::scan::{LoadedReference, ReferenceIndex, ScanError, ScanOptions};
use pyo3::exceptions::PyStopIteration;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};
use rayon::prelude::*;

/// The shorter side kept by `fast=True` (the `mh --fast` choice, `MH_JPEG_FAST_MIN_SIDE_DEFAULT`).
const FAST_MIN_SIDE: u32 = mediahash::ffi::hash::MH_JPEG_FAST_MIN_SIDE_DEFAULT;

/// Builds the `mediahash.errors` exception for `status` (its class is chosen by the band).
fn error(status: mh_status, message: impl std::fmt::Display) -> PyErr {
    let message = message.to_string();
    Python::with_gil(|py| {
        let made = (|| -> PyResult<PyErr> {
            let name = status.as_cstr().to_string_lossy().into_owned();
            let errors = py.import("mediahash.errors")?;
            let instance =
                errors.getattr("from_status")?.call1((status as u32, name, message.clone()))?;
            Ok(PyErr::from_value(instance))
        })();
        // The errors module is part of the package; failing to import it means a broken
        // install, which the ImportError itself says.
        made.unwrap_or_else(|e| e)
    })
}

/// The status of an I/O failure, as `src/ffi` maps it.
fn io_status(e: &io::Error) -> mh_status {
    match e.kind() {
        _ if mediahash::openfile::NotRegularFile::of(e).is_some() => mh_status::NotRegularFile,
        io::ErrorKind::NotFound => mh_status::NotFound,
        io::ErrorKind::PermissionDenied => mh_status::PermissionDenied,
        _ => mh_status::Io,
    }
}

/// The status of a reference-set failure, as `src/ffi/refset.rs` maps it.
fn refset_status(e: &RefsetError) -> mh_status {
    match e {
        RefsetError::Io { source, .. } => io_status(source),
        RefsetError::ChangedWhileReading { .. } => mh_status::Io,
        RefsetError::TooLargeToCopy { .. } => mh_status::RefsetTooLargeToCopy,
        RefsetError::NewerVersion { .. } => mh_status::RefsetUnsupportedVersion,
        RefsetError::ChecksumMismatch { .. } => mh_status::RefsetChecksumMismatch,
        RefsetError::InvalidArgument { .. } => mh_status::InvalidParameter,
        _ => mh_status::RefsetInvalid,
    }
}

fn refset_error(e: RefsetError) -> PyErr {
    error(refset_status(&e), e)
}

/// The status of a sharded-set failure: a shard's own error as `refset_status`; a bad
/// manifest is an invalid set, a replaced shard a checksum mismatch.
fn shard_error(e: ShardError) -> PyErr {
    let status = match &e {
        ShardError::Read(e) => refset_status(e),
        ShardError::ShardMismatch { .. } => mh_status::RefsetChecksumMismatch,
        _ => mh_status::RefsetInvalid,
    };
    error(status, e)
}

/// Whether `path` names a shard manifest (`mh refset shard` writes `<stem>.shards.json`;
/// any `.json` is read as one, a `.mhset` never is).
fn is_manifest(path: &std::path::Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json"))
}

fn argument(message: impl std::fmt::Display) -> PyErr {
    error(mh_status::InvalidParameter, message)
}

fn pdq_error(e: PdqError) -> PyErr {
    argument(e)
}

fn imagehash_error(e: ImageHashError) -> PyErr {
    argument(e)
}

/// The status of an image that gave no perceptual hash, as `src/ffi/hash.rs` maps it.
fn image_status(e: &ImageError) -> mh_status {
    match e {
        ImageError::Decode(DecodeError::TooLarge { .. })
        | ImageError::Decode(DecodeError::AllocationLimit { .. })
        | ImageError::Decode(DecodeError::MemoryBudget { .. })
        | ImageError::FileTooLarge { .. } => mh_status::ImageTooLarge,
        ImageError::Decode(_) | ImageError::Cancelled => mh_status::ImageDecodeFailed,
        ImageError::Hash(_) => mh_status::ImageHashFailed,
    }
}

/// `hash_file(path, dihedral, fast)`: digests and perceptual hashes of one file, as a dict
/// of plain values (the package wraps it in `mediahash.FileHash`).
#[pyfunction]
#[pyo3(signature = (path, dihedral = false, fast = false))]
fn hash_file<'py>(
    py: Python<'py>,
    path: PathBuf,
    dihedral: bool,
    fast: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let mut options = AnalyzeOptions { dihedral, ..AnalyzeOptions::default() };
    if fast {
        options.decode.jpeg_scale = JpegScale::Fast { min_side: FAST_MIN_SIDE };
    }
    let analysis = py
        .allow_threads(|| analyze_file(&path, &options))
        .map_err(|e| error(io_status(&e), format_args!("{}: {e}", path.display())))?;
    let out = PyDict::new(py);
    out.set_item("size", analysis.size)?;
    out.set_item("md5", PyBytes::new(py, &analysis.digests.md5))?;
    out.set_item("sha1", PyBytes::new(py, &analysis.digests.sha1))?;
    out.set_item("sha256", PyBytes::new(py, &analysis.digests.sha256))?;
    if let Some(image) = &analysis.image {
        out.set_item("image_format", image.format.as_str())?;
        out.set_item("width", image.width)?;
        out.set_item("height", image.height)?;
        out.set_item("decoded_width", image.decoded_width)?;
        out.set_item("decoded_height", image.decoded_height)?;
    }
    if let Some(pdq) = &analysis.pdq {
        out.set_item("pdq", PyBytes::new(py, &pdq.hash.0))?;
        out.set_item("pdq_quality", pdq.quality)?;
    }
    if let Some(variants) = &analysis.pdq_dihedral {
        let list = PyList::empty(py);
        for h in variants {
            list.append(PyBytes::new(py, &h.0))?;
        }
        out.set_item("pdq_dihedral", list)?;
    }
    if let Some(h) = &analysis.imagehashes {
        out.set_item("phash", h.phash.0)?;
        out.set_item("dhash", h.dhash.0)?;
        out.set_item("ahash", h.ahash.0)?;
    }
    if let Some(e) = &analysis.image_error {
        out.set_item("image_error", e.to_string())?;
        out.set_item("image_status", image_status(e) as u32)?;
    }
    Ok(out)
}

/// `pdq_rgb(rgb, width, height, dihedral)`: PDQ of a packed RGB8 buffer:
/// `(hash bytes, quality, [8 dihedral hashes] or None)`.
#[pyfunction]
#[pyo3(signature = (rgb, width, height, dihedral = false))]
#[allow(clippy::type_complexity)]
fn pdq_rgb<'py>(
    py: Python<'py>,
    rgb: &[u8],
    width: u32,
    height: u32,
    dihedral: bool,
) -> PyResult<(Bound<'py, PyBytes>, u8, Option<Vec<Bound<'py, PyBytes>>>)> {
    let full = PdqConvention::FullResolution;
    if dihedral {
        let d = py
            .allow_threads(|| pdq::pdq_dihedral_from_rgb(width, height, rgb, full))
            .map_err(pdq_error)?;
        // hashes[0] can differ from the plain hash on exactly 64x64 images (see
        // pdq_dihedral_from_rgb); the plain hash is what pdqhash.compute returns.
        let plain =
            py.allow_threads(|| pdq::pdq_from_rgb(width, height, rgb, full)).map_err(pdq_error)?;
        let list = d.hashes.iter().map(|h| PyBytes::new(py, &h.0)).collect();
        Ok((PyBytes::new(py, &plain.hash.0), d.quality, Some(list)))
    } else {
        let r =
            py.allow_threads(|| pdq::pdq_from_rgb(width, height, rgb, full)).map_err(pdq_error)?;
        Ok((PyBytes::new(py, &r.hash.0), r.quality, None))
    }
}

/// `pdq_luma(luma, width, height, dihedral)`: PDQ of a float32 luma image (little-endian
/// bytes, row-major), the C++ `pdqHash256FromFloatLuma` entry point; `(hash, quality,
/// [8 dihedral hashes] or None)` as `pdq_rgb`.
#[pyfunction]
#[pyo3(signature = (luma, width, height, dihedral = false))]
#[allow(clippy::type_complexity)]
fn pdq_luma<'py>(
    py: Python<'py>,
    luma: &[u8],
    width: u32,
    height: u32,
    dihedral: bool,
) -> PyResult<(Bound<'py, PyBytes>, u8, Option<Vec<Bound<'py, PyBytes>>>)> {
    if !luma.len().is_multiple_of(4) {
        return Err(argument("luma must be float32 bytes (a multiple of 4)"));
    }
    let floats: Vec<f32> =
        luma.chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes"))).collect();
    let plain =
        py.allow_threads(|| pdq::pdq_from_luma(width, height, &floats)).map_err(pdq_error)?;
    let variants = if dihedral {
        let d = py
            .allow_threads(|| pdq::pdq_dihedral_from_luma(width, height, &floats))
            .map_err(pdq_error)?;
        Some(d.hashes.iter().map(|h| PyBytes::new(py, &h.0)).collect())
    } else {
        None
    };
    Ok((PyBytes::new(py, &plain.hash.0), plain.quality, variants))
}

/// `imagehash_pixels(pixels, width, height, channels)`: `(phash, dhash, ahash, dhash_vertical)`
/// as 64-bit integers (bit 63 first), from packed RGB8 (channels 3) or greyscale (1).
#[pyfunction]
fn imagehash_pixels(
    py: Python<'_>,
    pixels: &[u8],
    width: u32,
    height: u32,
    channels: u8,
) -> PyResult<(u64, u64, u64, u64)> {
    py.allow_threads(|| {
        let luma = match channels {
            3 => Luma8::from_rgb(width, height, pixels)?,
            1 => Luma8::new(width, height, pixels.to_vec())?,
            _ => unreachable!("the package passes 1 or 3"),
        };
        Ok::<_, ImageHashError>((
            ih::phash(&luma).0,
            ih::dhash(&luma).0,
            ih::average_hash(&luma).0,
            ih::dhash_vertical(&luma).0,
        ))
    })
    .map_err(imagehash_error)
}

/// `imagehash_one(pixels, width, height, channels, which)`: one of `phash`, `dhash`,
/// `average_hash`, `dhash_vertical` as a 64-bit integer: one resize of the image, where
/// `imagehash_pixels` makes four (what `mediahash.phash(image)` and its siblings need).
#[pyfunction]
fn imagehash_one(
    py: Python<'_>,
    pixels: &[u8],
    width: u32,
    height: u32,
    channels: u8,
    which: &str,
) -> PyResult<u64> {
    let hash: fn(&Luma8) -> ih::Hash64 = match which {
        "phash" => ih::phash,
        "dhash" => ih::dhash,
        "average_hash" => ih::average_hash,
        "dhash_vertical" => ih::dhash_vertical,
        other => return Err(argument(format_args!("unknown imagehash function {other:?}"))),
    };
    py.allow_threads(|| {
        let luma = match channels {
            3 => Luma8::from_rgb(width, height, pixels)?,
            1 => Luma8::new(width, height, pixels.to_vec())?,
            _ => unreachable!("the package passes 1 or 3"),
        };
        Ok::<_, ImageHashError>(hash(&luma).0)
    })
    .map_err(imagehash_error)
}

/// What a `NativeRefSet` opened: one `.mhset`, or the shards of a manifest
/// (`mh refset shard`), answered through the library's `ShardedSet`.
enum Opened {
    One(MappedRefSet),
    Sharded(ShardedSet),
}

impl Opened {
    fn index(&self) -> &dyn ReferenceIndex {
        match self {
            Opened::One(set) => set,
            Opened::Sharded(set) => set,
        }
    }

    /// The sources (a sharded set's shards each list all of the set's sources).
    fn sources(&self) -> Vec<mediahash::refset::SourceInfo> {
        match self {
            Opened::One(set) => set.provenance().sources.clone(),
            Opened::Sharded(set) => {
                set.shards().first().map(|s| s.provenance().sources.clone()).unwrap_or_default()
            }
        }
    }
}

/// A reference set shared by the Python object and the scans given it.
struct Shared {
    set: Opened,
    path: PathBuf,
    /// SHA-256 (hex) of the set's bytes, or of the manifest file for a sharded set (the
    /// manifest lists every shard's SHA-256): computed once, for scan headers.
    sha256: OnceLock<Result<String, String>>,
}

impl Shared {
    fn sha256(&self) -> PyResult<String> {
        self.sha256
            .get_or_init(|| {
                let options = mediahash::digest::DigestOptions::default();
                match &self.set {
                    Opened::One(set) => {
                        Ok(mediahash::digest::digest_bytes(set.as_bytes(), options).sha256_hex())
                    }
                    Opened::Sharded(_) => std::fs::read(&self.path)
                        .map(|bytes| mediahash::digest::digest_bytes(&bytes, options).sha256_hex())
                        .map_err(|e| format!("{}: {e}", self.path.display())),
                }
            })
            .clone()
            .map_err(|message| error(mh_status::Io, message))
    }
}

/// The scan's view of a shared set: every query goes to the library's own implementation
/// for `RefSet` or `ShardedSet`.
struct SharedIndex(Arc<Shared>);

impl ReferenceIndex for SharedIndex {
    fn lookup(&self, value: &HashValue) -> Result<Vec<Match>, RefsetError> {
        self.0.set.index().lookup(value)
    }
    fn search_pdq(
        &self,
        needles: &[PdqHash],
        radius: u32,
        limit: usize,
    ) -> Result<Vec<(usize, Match)>, RefsetError> {
        self.0.set.index().search_pdq(needles, radius, limit)
    }
    fn search_pdq_windows(
        &self,
        needles: &[PdqHash],
        radius: u32,
        limit: usize,
    ) -> Result<Vec<(usize, mediahash::robust::Window, Match)>, RefsetError> {
        self.0.set.index().search_pdq_windows(needles, radius, limit)
    }
    #[allow(clippy::type_complexity)]
    fn match_video(
        &self,
        video: &mediahash::video::VideoHashes,
        options: &mediahash::perceptual::vpdq::VpdqMatchOptions,
    ) -> Result<
        (Vec<mediahash::video::matching::VideoMatch>, Vec<mediahash::video::matching::FrameMatch>),
        RefsetError,
    > {
        self.0.set.index().match_video(video, options)
    }
    fn search_u64(
        &self,
        kind: HashKind,
        value: u64,
        radius: u32,
        limit: usize,
    ) -> Result<Vec<Match>, RefsetError> {
        self.0.set.index().search_u64(kind, value, radius, limit)
    }
}

/// An open `.mhset` reference set (read into private memory, or mapped).
#[pyclass(module = "mediahash._native", frozen)]
struct NativeRefSet {
    shared: Arc<Shared>,
}

fn kind_from_name(name: &str) -> PyResult<HashKind> {
    Ok(match name {
        "md5" => HashKind::Md5,
        "sha1" => HashKind::Sha1,
        "sha256" => HashKind::Sha256,
        "pdq" => HashKind::Pdq,
        "phash" => HashKind::PHash,
        "dhash" => HashKind::DHash,
        "ahash" => HashKind::AHash,
        other => {
            return Err(argument(format_args!(
                "unknown hash kind {other:?}: use md5, sha1, sha256, pdq, phash, dhash or ahash"
            )));
        }
    })
}

fn value_of(kind: HashKind, bytes: &[u8]) -> PyResult<HashValue> {
    let wrong = || {
        argument(format_args!(
            "a {} value is {} bytes ({} hex digits), got {} bytes",
            kind.as_str(),
            kind.value_len(),
            2 * kind.value_len(),
            bytes.len()
        ))
    };
    Ok(match kind {
        HashKind::Md5 => HashValue::Md5(bytes.try_into().map_err(|_| wrong())?),
        HashKind::Sha1 => HashValue::Sha1(bytes.try_into().map_err(|_| wrong())?),
        HashKind::Sha256 => HashValue::Sha256(bytes.try_into().map_err(|_| wrong())?),
        HashKind::Pdq => {
            HashValue::Pdq { hash: bytes.try_into().map_err(|_| wrong())?, quality: None }
        }
        HashKind::PHash | HashKind::DHash | HashKind::AHash => {
            let v = u64::from_be_bytes(bytes.try_into().map_err(|_| wrong())?);
            match kind {
                HashKind::PHash => HashValue::PHash(v),
                HashKind::DHash => HashValue::DHash(v),
                _ => HashValue::AHash(v),
            }
        }
        HashKind::PhotoDna => HashValue::PhotoDna(Box::new(bytes.try_into().map_err(|_| wrong())?)),
    })
}

fn json_text<T: serde::Serialize>(value: &T) -> PyResult<String> {
    serde_json::to_string(value).map_err(|e| error(mh_status::Panic, e))
}

#[pymethods]
impl NativeRefSet {
    /// Opens `path`: a `.mhset`, or a shard manifest (`*.shards.json`, from `mh refset
    /// shard`) whose shards are opened together as one set. `mapped` maps the file(s)
    /// instead of copying them (they must then stay unchanged while open); `verify` runs
    /// the full checksum and structure check first (and, for shards, compares each with
    /// the manifest's SHA-256).
    #[staticmethod]
    #[pyo3(signature = (path, mapped = false, verify = true))]
    fn open(py: Python<'_>, path: PathBuf, mapped: bool, verify: bool) -> PyResult<Self> {
        let set = if is_manifest(&path) {
            // A missing or unreadable manifest is a file-system error, as for a `.mhset`.
            std::fs::File::open(&path)
                .map_err(|e| error(io_status(&e), format_args!("{}: {e}", path.display())))?;
            let set = py
                .allow_threads(|| {
                    if mapped {
                        // SAFETY: the caller opted in with `mapped=True`, whose documentation
                        // (RefSet.open) states the contract: the files stay unchanged while
                        // open.
                        unsafe { ShardedSet::open_mapped(&path, verify) }
                    } else {
                        ShardedSet::open(&path, verify)
                    }
                })
                .map_err(shard_error)?;
            Opened::Sharded(set)
        } else {
            let set = py
                .allow_threads(|| {
                    let set = if mapped {
                        // SAFETY: the caller opted in with `mapped=True`, whose documentation
                        // (RefSet.open) states the contract: the file stays unchanged while
                        // open.
                        unsafe { RefSet::open_mapped(&path) }?
                    } else {
                        RefSet::open(&path)?
                    };
                    if verify {
                        set.verify()?;
                    }
                    Ok::<_, RefsetError>(set)
                })
                .map_err(refset_error)?;
            Opened::One(set)
        };
        Ok(Self { shared: Arc::new(Shared { set, path, sha256: OnceLock::new() }) })
    }

    /// The full checksum and structure check (`mh refset verify`; every shard of a
    /// manifest, against the manifest's SHA-256 too).
    fn verify(&self, py: Python<'_>) -> PyResult<()> {
        match &self.shared.set {
            Opened::One(set) => py.allow_threads(|| set.verify()).map_err(refset_error),
            Opened::Sharded(set) => py.allow_threads(|| set.verify()).map_err(shard_error),
        }
    }

    /// `mh refset info`'s summary as JSON text; for a manifest, `manifest`, each shard's
    /// summary under `shards`, and the counts per kind summed over the shards.
    fn info_json(&self) -> PyResult<String> {
        match &self.shared.set {
            Opened::One(set) => json_text(&set.info()),
            Opened::Sharded(set) => {
                let infos: Vec<_> = set.shards().iter().map(|s| s.info()).collect();
                let counts: Vec<_> = HashKind::ALL
                    .iter()
                    .map(|&kind| {
                        let count: u64 = set.shards().iter().map(|s| s.count(kind)).sum();
                        serde_json::json!({ "kind": kind, "count": count })
                    })
                    .filter(|c| c["count"] != 0)
                    .collect();
                json_text(&serde_json::json!({
                    "manifest": set.manifest(),
                    "counts": counts,
                    "records": infos.iter().map(|i| i.records).sum::<u64>(),
                    "shards": infos,
                }))
            }
        }
    }

    /// Whether the set was opened from a shard manifest.
    fn sharded(&self) -> bool {
        matches!(self.shared.set, Opened::Sharded(_))
    }

    /// SHA-256 (hex) of the set's bytes, or of the manifest file for a sharded set, as scan
    /// report headers cite it.
    fn sha256(&self, py: Python<'_>) -> PyResult<String> {
        let shared = self.shared.clone();
        py.allow_threads(move || shared.sha256())
    }

    /// The path the set was opened from.
    fn path(&self) -> PathBuf {
        self.shared.path.clone()
    }

    /// Every membership of an exact value, as the JSON of the report's `matches` entries.
    fn lookup_json(&self, py: Python<'_>, kind: &str, value: &[u8]) -> PyResult<String> {
        let value = value_of(kind_from_name(kind)?, value)?;
        let found =
            py.allow_threads(|| self.shared.set.index().lookup(&value)).map_err(refset_error)?;
        json_text(&found)
    }

    /// PDQ radius search of each needle on its own (`needles`: packed 32-byte hashes).
    /// Returns packed arrays: needle index (u32 LE), stored index (u64 LE), distance (u16 LE),
    /// stored hash (32 bytes each); hits sorted by needle, then distance, then index.
    #[allow(clippy::type_complexity)]
    fn search_pdq_packed<'py>(
        &self,
        py: Python<'py>,
        needles: &[u8],
        radius: u32,
    ) -> PyResult<(
        Bound<'py, PyBytes>,
        Bound<'py, PyBytes>,
        Bound<'py, PyBytes>,
        Bound<'py, PyBytes>,
    )> {
        if !needles.len().is_multiple_of(32) {
            return Err(argument(format_args!(
                "needles must be packed 32-byte PDQ hashes; got {} bytes",
                needles.len()
            )));
        }
        if radius > 256 {
            return Err(argument(format_args!("PDQ radius {radius} is over 256 bits")));
        }
        let set = &self.shared.set;
        let hits: Vec<Vec<_>> = py.allow_threads(|| {
            needles
                .par_chunks_exact(32)
                .map(|n| {
                    let needle: [u8; 32] = n.try_into().expect("chunks of 32");
                    // A sharded set numbers hits as the unsharded set would.
                    match set {
                        Opened::One(set) => set.search_pdq_needles(&[needle], radius),
                        Opened::Sharded(set) => set.search_pdq_needles(&[needle], radius),
                    }
                })
                .collect()
        });
        let (mut idx, mut index, mut dist, mut hashes) = (vec![], vec![], vec![], vec![]);
        for (i, list) in hits.iter().enumerate() {
            for m in list {
                idx.extend_from_slice(&(i as u32).to_le_bytes());
                index.extend_from_slice(&m.index.to_le_bytes());
                dist.extend_from_slice(&(m.distance as u16).to_le_bytes());
                hashes.extend_from_slice(&m.hash);
            }
        }
        Ok((
            PyBytes::new(py, &idx),
            PyBytes::new(py, &index),
            PyBytes::new(py, &dist),
            PyBytes::new(py, &hashes),
        ))
    }

    /// The memberships of stored PDQ hash number `index` (from `search_pdq`), as the JSON
    /// of the report's `matches` entries (with `distance`).
    fn pdq_matches_json(&self, py: Python<'_>, needle: &[u8], radius: u32) -> PyResult<String> {
        let needle: [u8; 32] =
            needle.try_into().map_err(|_| argument("a PDQ needle is 32 bytes (64 hex digits)"))?;
        if radius > 256 {
            return Err(argument(format_args!("PDQ radius {radius} is over 256 bits")));
        }
        let found = py
            .allow_threads(|| {
                self.shared.set.index().search_pdq(&[PdqHash(needle)], radius, usize::MAX)
            })
            .map_err(refset_error)?;
        let matches: Vec<&Match> = found.iter().map(|(_, m)| m).collect();
        json_text(&matches)
    }
}

/// One line of the JSONL report, as the library's writer formats it.
enum Line {
    Header(String),
    Entry(String),
    Footer(String),
}

/// A report writer that hands each line to the Python iterator, formatted by the library's
/// own `JsonlWriter` (so every record is byte for byte what `mh scan` writes).
struct ChannelWriter {
    tx: SyncSender<Line>,
}

impl ChannelWriter {
    fn send(
        &mut self,
        write: impl FnOnce(&mut JsonlWriter<&mut Vec<u8>>) -> io::Result<()>,
        make: fn(String) -> Line,
    ) -> io::Result<()> {
        let mut buffer = Vec::new();
        write(&mut JsonlWriter::new(&mut buffer))?;
        let mut text = String::from_utf8(buffer).map_err(io::Error::other)?;
        if text.ends_with('\n') {
            text.pop();
        }
        self.tx.send(make(text)).map_err(|_| {
            io::Error::new(io::ErrorKind::BrokenPipe, "the Python iterator was closed")
        })
    }
}

impl ReportWriter for ChannelWriter {
    fn header(&mut self, header: &Header) -> io::Result<()> {
        self.send(|w| w.header(header), Line::Header)
    }
    fn entry(&mut self, entry: &EntryRecord) -> io::Result<()> {
        self.send(|w| w.entry(entry), Line::Entry)
    }
    fn footer(&mut self, footer: &Footer) -> io::Result<()> {
        self.send(|w| w.footer(footer), Line::Footer)
    }
}

/// A running scan: iterate for the entry records' JSON text; `header` and `footer` hold the
/// report's first and last lines once seen.
#[pyclass(module = "mediahash._native")]
struct NativeScan {
    rx: Mutex<Option<Receiver<Line>>>,
    cancel: Arc<AtomicBool>,
    thread: Option<JoinHandle<Result<i32, ScanError>>>,
    #[pyo3(get)]
    header: Option<String>,
    #[pyo3(get)]
    footer: Option<String>,
    #[pyo3(get)]
    exit_status: Option<i32>,
}

fn scan_error(e: ScanError) -> PyErr {
    let status = match &e {
        ScanError::Root { source, .. } => io_status(source),
        ScanError::NoRoots | ScanError::Exclude(_) => mh_status::InvalidParameter,
        _ => mh_status::ScanFailed,
    };
    error(status, e)
}

impl NativeScan {
    /// Joins the scan thread, raising its error if it failed.
    fn finish(&mut self, py: Python<'_>) -> PyResult<()> {
        if let Some(thread) = self.thread.take() {
            match py.allow_threads(|| thread.join()) {
                Ok(Ok(status)) => self.exit_status = Some(status),
                Ok(Err(e)) => return Err(scan_error(e)),
                Err(_) => return Err(error(mh_status::Panic, "the scan thread panicked")),
            }
        }
        Ok(())
    }
}

#[pymethods]
impl NativeScan {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&mut self, py: Python<'_>) -> PyResult<String> {
        loop {
            let Some(rx) = self.rx.lock().expect("not poisoned").take() else { break };
            let (rx, line) = py.allow_threads(move || {
                let line = rx.recv();
                (rx, line)
            });
            *self.rx.lock().expect("not poisoned") = Some(rx);
            match line {
                Ok(Line::Header(text)) => self.header = Some(text),
                Ok(Line::Entry(text)) => return Ok(text),
                Ok(Line::Footer(text)) => self.footer = Some(text),
                Err(_) => {
                    *self.rx.lock().expect("not poisoned") = None;
                    break;
                }
            }
        }
        self.finish(py)?;
        Err(PyStopIteration::new_err(()))
    }

    /// Stops the scan (its footer says `completed: false`) and waits for its thread.
    fn close(&mut self, py: Python<'_>) -> PyResult<()> {
        self.cancel.store(true, Ordering::Relaxed);
        // Drain so the scan thread is never blocked on a full channel.
        let rx = self.rx.lock().expect("not poisoned").take();
        if let Some(rx) = rx {
            py.allow_threads(move || rx.iter().for_each(drop));
        }
        self.finish(py)
    }
}

impl Drop for NativeScan {
    fn drop(&mut self) {
        self.cancel.store(true, Ordering::Relaxed);
        // Dropping the receiver makes the writer fail, which ends the scan thread.
        self.rx.get_mut().map(|r| r.take()).ok();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Options of `scan`, as keyword arguments with `mh scan`'s defaults.
#[derive(FromPyObject)]
struct ScanArgs {
    threads: usize,
    dihedral: bool,
    robust: bool,
    follow_symlinks: bool,
    one_file_system: bool,
    exclude: Vec<String>,
    max_file_size: Option<u64>,
    pdq_radius: u32,
    phash_radius: u32,
    videos: bool,
    archives: bool,
    disk_images: bool,
    carve: bool,
    allow_atime_changes: bool,
    command_line: Vec<String>,
}

/// `scan(roots, refsets, args)`: starts a scan on its own thread; the sets are
/// `NativeRefSet`s already opened (and verified) by the caller.
#[pyfunction]
fn scan(
    roots: Vec<PathBuf>,
    refsets: Vec<PyRef<'_, NativeRefSet>>,
    args: ScanArgs,
) -> PyResult<NativeScan> {
    if args.pdq_radius > 256 || args.phash_radius > 64 {
        return Err(argument(format_args!(
            "radius out of range: pdq_radius {} (0-256), phash_radius {} (0-64)",
            args.pdq_radius, args.phash_radius
        )));
    }
    let references: Vec<LoadedReference> = refsets
        .iter()
        .map(|r| {
            let shared = r.shared.clone();
            let kind = match shared.set {
                Opened::One(_) => "mhset",
                Opened::Sharded(_) => "mhset-shards",
            };
            Ok(LoadedReference {
                provenance: ReferenceProvenance {
                    path: shared.path.display().to_string(),
                    sha256: shared.sha256()?,
                    kind: kind.to_string(),
                    disposition: None,
                    sources: shared.set.sources(),
                },
                index: Box::new(SharedIndex(shared)),
            })
        })
        .collect::<PyResult<_>>()?;
    let cancel = Arc::new(AtomicBool::new(false));
    let defaults = ScanOptions::default();
    let options = ScanOptions {
        threads: args.threads,
        dihedral: args.dihedral,
        robust: args.robust,
        follow_symlinks: args.follow_symlinks,
        one_file_system: args.one_file_system,
        exclude: args.exclude,
        max_file_size: args.max_file_size,
        pdq_radius: args.pdq_radius,
        phash_radius: args.phash_radius,
        video: if args.videos { defaults.video.clone() } else { None },
        no_archives: !args.archives,
        no_disk_images: !args.disk_images,
        no_carve: !args.carve,
        allow_atime_changes: args.allow_atime_changes,
        command_line: args.command_line,
        cancel: Some(cancel.clone()),
        ..defaults
    };
    // A small window: the Python side reads as fast as it converts records.
    let (tx, rx) = sync_channel(256);
    let thread = std::thread::Builder::new()
        .name("mediahash-scan".into())
        .spawn(move || {
            let mut writer = ChannelWriter { tx };
            mediahash::scan::scan(&roots, &references, &options, &mut writer)
                .map(|summary| summary.exit_status())
        })
        .map_err(|e| {
            error(mh_status::ScanFailed, format_args!("cannot start the scan thread: {e}"))
        })?;
    Ok(NativeScan {
        rx: Mutex::new(Some(rx)),
        cancel,
        thread: Some(thread),
        header: None,
        footer: None,
        exit_status: None,
    })
}

/// The library's version and build facts.
#[pyfunction]
fn build_info() -> (String, bool, String) {
    (
        mediahash::VERSION.to_string(),
        mediahash::decode::jpeg_simd_built(),
        mediahash::refset::search::scan_kernel_name().to_string(),
    )
}

/// The extension module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(hash_file, m)?)?;
    m.add_function(wrap_pyfunction!(pdq_rgb, m)?)?;
    m.add_function(wrap_pyfunction!(pdq_luma, m)?)?;
    m.add_function(wrap_pyfunction!(imagehash_pixels, m)?)?;
    m.add_function(wrap_pyfunction!(imagehash_one, m)?)?;
    m.add_function(wrap_pyfunction!(scan, m)?)?;
    m.add_function(wrap_pyfunction!(build_info, m)?)?;
    m.add_class::<NativeRefSet>()?;
    m.add_class::<NativeScan>()?;
    Ok(())
}
