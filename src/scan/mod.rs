//! The examiner's read-only scan: take items from evidence sources, hash every item's
//! content, match against reference sets, and stream a report.
//!
//! ```text
//! roots ─▶ evidence sources (calling thread: one per root, see crate::evidence)
//!            │ Item::Decided (directory, skipped, error)   Item::Content (bytes to read)
//!            │                                              ▼
//!            │        own rayon pool (--threads): open, read once → MD5/SHA-1/SHA-256,
//!            │          PDQ + pHash for images (analyze), exact then perceptual match
//!            ▼                                              ▼
//!          reorder window (bounded) ─▶ EntryRecord (typed) ─▶ ReportWriter, in source order
//! ```
//!
//! # Guarantees
//!
//! * **Read-only.** Files and directories are opened read-only with `O_NOATIME` and
//!   `O_NOFOLLOW`, relative to their directory's descriptor (see [`crate::evidence::folder`]).
//!   Where `O_NOATIME` is refused on a mount that records access times, nothing is read
//!   unless [`ScanOptions::allow_atime_changes`] (check first with [`atime_preflight`]).
//!   Followed links are resolved inside their evidence root, never onto the host. FIFOs,
//!   sockets and devices are never opened. The library writes nothing but the report it is
//!   handed (and, with clustering, a spool file in [`ScanOptions::spool_dir`]); callers should
//!   check the report path with [`ensure_outside_evidence`] (nothing is written inside an
//!   evidence root or in the folder of an evidence file).
//! * **Complete.** Every directory entry met appears exactly once, as one of the dispositions
//!   of [`EntryDisposition`]. Directories have a row of their own (disposition `directory`,
//!   or `error` when they cannot be listed) followed by their contents. The footer's counts
//!   add up to the number of entries.
//! * **Deterministic.** Entries are ordered depth-first with each directory's names sorted by
//!   bytes: that is path order compared component by component (as [`std::path::Path`]'s
//!   `Ord` does), so `a` < `a/z` < `a.txt`. Evidence roots are sorted the same way; a root
//!   naming the same place as another, or lying inside another, is not walked again: it has
//!   one record (skipped, [`ReasonCode::Duplicate`]) naming the root it is reported under. The members of an archive found by content follow the
//!   archive's own record, in central-directory order (see [`crate::evidence::archive`]). Entry records carry no volatile facts, so 1 and N threads give byte-identical
//!   entries.
//! * **Bounded memory.** The walker holds the sorted names of the directories on the current
//!   path; at most [`ScanOptions::window`] entries are between the walker and the report
//!   (in flight or waiting for an earlier file to finish), whatever the number of files; an
//!   archive whose members are being read holds one more window (nesting is bounded by
//!   [`crate::evidence::archive::ArchiveLimits::max_depth`]). With
//!   `cluster`, the records are spooled to a temporary file and each unknown image's PDQ
//!   (40 bytes) is kept for the clustering pass.
//! * **Interruptible.** Setting [`ScanOptions::cancel`] stops the walk and any read in
//!   progress; the report then holds a complete, sorted prefix of the entries and a footer
//!   with `completed: false`.
//!
//! # Dispositions
//!
//! A regular file read to the end is `alert` if any match is in an alert set (alert wins);
//! otherwise `error` if it changed while being read; otherwise `ignore` if it matched an
//! ignore set; otherwise `error` if its content looked like an image but could not be decoded
//! (the decoder's reason is given: truncated data, refused by limits...); otherwise
//! `unknown-image` for a decoded image and `other` for anything else. Exact digests (MD5,
//! SHA-1, SHA-256) are matched first, then PDQ within [`ScanOptions::pdq_radius`] (never for
//! a PDQ quality below [`PDQ_QUALITY_THRESHOLD`]: the hash is recorded, not matched; all 8
//! dihedral variants with `dihedral`) and pHash within [`ScanOptions::phash_radius`].
//!
//! # Exit status (`mh scan`, [`Footer::exit_status`])
//!
//! 0: no alert and no error; 1: alerts found, no error; 2: errors occurred, the scan was
//! interrupted, or access times of evidence changed (files or directories read without
//! `O_NOATIME` on a mount that records access times, with
//! [`ScanOptions::allow_atime_changes`]). Errors win: some content was not examined, or
//! the evidence changed. Never 0 after a read error.

pub mod reference;

use std::collections::VecDeque;
use std::fmt;
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Instant, SystemTime};

use thiserror::Error;

use crate::evidence::glob::{ExcludeSet, GlobError};
use crate::evidence::{ContentItem, ContentReader, Item, SourceOptions, folder::TestHooks};
use crate::perceptual::pdq::{Dihedral, PdqHash};
use crate::refset::read::RefsetError;
use crate::refset::{Disposition, HashKind, HashValue};
use crate::report::jsonl::{EntryLine, JsonlReader, ReportItem};
use crate::report::{
    Counts, EntryDisposition, EntryRecord, Footer, Header, Match, OptionsRecord, Reason,
    ReasonCode, ReferenceProvenance, ReportWriter, rfc3339_system_time,
};

/// PDQ hashes below this quality are recorded but never matched (ThreatExchange guidance).
pub const PDQ_QUALITY_THRESHOLD: u8 = crate::perceptual::pdq::QUALITY_THRESHOLD;

/// A set's alert PDQ hashes, each with the name of its first alert set by name
/// ([`ReferenceIndex::alert_pdq_hashes`]).
pub type AlertPdqHashes = Vec<([u8; 32], String)>;

/// A reference set as the scan sees it: exact lookup and Hamming-radius search, returning
/// typed [`Match`]es (with `reference` 0: the scan sets the set's index). Implemented for
/// [`crate::refset`]'s `RefSet`; callers may supply their own.
pub trait ReferenceIndex: Send + Sync {
    /// Every membership of an exact hash value. `Err` describes a damaged set.
    fn lookup(&self, value: &HashValue) -> Result<Vec<Match>, RefsetError>;
    /// PDQ entries within `radius` of any needle, as (needle index, match), nearest first,
    /// for at most `limit` stored hashes.
    fn search_pdq(
        &self,
        needles: &[PdqHash],
        radius: u32,
        limit: usize,
    ) -> Result<Vec<(usize, Match)>, RefsetError>;
    /// PDQ windows of reference pictures ([`crate::refset::RefSet::search_pdq_windows`])
    /// within `radius` of any needle, as (needle index, window, match), nearest first, for
    /// at most `limit` windows. The default has none (indexes without windows).
    fn search_pdq_windows(
        &self,
        needles: &[PdqHash],
        radius: u32,
        limit: usize,
    ) -> Result<Vec<(usize, crate::robust::Window, Match)>, RefsetError> {
        let _ = (needles, radius, limit);
        Ok(Vec::new())
    }
    /// Every stored PDQ hash that has an alert membership, with the name of its first alert
    /// set by name, for batch searches (the review's near misses, see
    /// [`crate::cluster::nearest_within`]). `None` (the default) when the index cannot list
    /// them: callers then search needle by needle with [`ReferenceIndex::search_pdq`].
    fn alert_pdq_hashes(&self) -> Result<Option<AlertPdqHashes>, RefsetError> {
        Ok(None)
    }
    /// A hashed video against the set's known videos and pictures
    /// ([`crate::video::matching::match_video`]). The default has neither.
    #[allow(clippy::type_complexity)]
    fn match_video(
        &self,
        video: &crate::video::VideoHashes,
        options: &crate::perceptual::vpdq::VpdqMatchOptions,
    ) -> Result<
        (Vec<crate::video::matching::VideoMatch>, Vec<crate::video::matching::FrameMatch>),
        RefsetError,
    > {
        let _ = (video, options);
        Ok((Vec::new(), Vec::new()))
    }
    /// 64-bit perceptual entries (pHash, dHash, aHash by `kind`) within `radius`, nearest
    /// first, for at most `limit` stored hashes.
    fn search_u64(
        &self,
        kind: HashKind,
        value: u64,
        radius: u32,
        limit: usize,
    ) -> Result<Vec<Match>, RefsetError>;
}

/// A loaded reference set and its provenance for the report header.
pub struct LoadedReference {
    /// Path, SHA-256 and sources, as the report header records them.
    pub provenance: ReferenceProvenance,
    /// The set itself, as the scan queries it.
    pub index: Box<dyn ReferenceIndex>,
}

impl fmt::Debug for LoadedReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoadedReference")
            .field("provenance", &self.provenance)
            .finish_non_exhaustive()
    }
}

/// Live counters for a progress display; the scan only stores into them.
#[derive(Debug, Default)]
pub struct ScanProgress {
    /// Entries written to the report.
    pub entries: AtomicU64,
    /// Regular files finished (read or failed).
    pub files: AtomicU64,
    /// Bytes read so far, updated during reads.
    pub bytes: AtomicU64,
    /// Entries written with disposition `alert`.
    pub alerts: AtomicU64,
    /// Entries written with disposition `error`.
    pub errors: AtomicU64,
}

/// How to scan.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Hashing threads (a pool of the scan's own); 0 = available parallelism.
    pub threads: usize,
    /// Follow symbolic links below the roots (always resolved inside their evidence root; a
    /// link leaving it is recorded as skipped). A root given as a link is always followed.
    pub follow_symlinks: bool,
    /// Read symbolic-link targets even on a writable mount without `noatime`, where Linux
    /// then updates the link's access time. (On read-only or `noatime` mounts, and when
    /// following links, targets are always read.)
    pub link_targets: bool,
    /// Do not enter directories on another device than their evidence root.
    pub one_file_system: bool,
    /// Regular files larger than this are skipped (recorded, not read).
    pub max_file_size: Option<u64>,
    /// Glob patterns (see [`crate::evidence::glob`]) of entries to skip (recorded, not read
    /// or entered).
    pub exclude: Vec<String>,
    /// PDQ match radius: Hamming distance out of 256, inclusive (default 31).
    pub pdq_radius: u32,
    /// pHash match radius: Hamming distance out of 64, inclusive (default 8).
    pub phash_radius: u32,
    /// Perceptual matches kept per file, reference set and hash kind: the nearest stored
    /// hashes (each may belong to several sets or records).
    pub max_perceptual_matches: usize,
    /// Also match the 8 rotations and flips of each image's PDQ.
    pub dihedral: bool,
    /// Robust matching ([`crate::robust`]): each image's normalised versions (borders
    /// trimmed, picture found in a composition, rotation undone, rotations and flips) are
    /// searched against the sets' PDQ, and the image and those versions against the windows
    /// of sets built from pictures, within [`ScanOptions::robust_radius`]. The plain match
    /// (image as stored against stored hashes, within `pdq_radius`) is always made too.
    pub robust: bool,
    /// Radius for robust pairs (default [`crate::robust::DEFAULT_ROBUST_RADIUS`]).
    pub robust_radius: u32,
    /// Group unknown images whose PDQ are within `pdq_radius` (connected components).
    pub cluster: bool,
    /// Digest, decoding and perceptual-hash settings (decoder limits, PDQ convention,
    /// image file size limit). `dihedral` is taken from [`ScanOptions::dihedral`].
    pub analyze: crate::analyze::AnalyzeOptions,
    /// Entries allowed between the walker and the report (0 = 64 per thread, at least 256).
    pub window: usize,
    /// Set to stop the scan; the report is then marked incomplete.
    pub cancel: Option<Arc<AtomicBool>>,
    /// Counters the scan updates as it goes, for a progress display.
    pub progress: Option<Arc<ScanProgress>>,
    /// The command line to record in the header (the library cannot know it).
    pub command_line: Vec<String>,
    /// Directory for the clustering spool file (default: the system temporary directory).
    /// Must not be inside an evidence root.
    pub spool_dir: Option<PathBuf>,
    /// Read entries whose access time would change (`O_NOATIME` refused because you do not
    /// own them, on a mount that records access times). Off: they are not read and are
    /// errors with [`ReasonCode::AtimeWouldChange`]. On: they are read, counted in the
    /// footer's `files_without_noatime` / `dirs_without_noatime`, and the exit status is 2.
    /// Check before scanning with [`atime_preflight`].
    pub allow_atime_changes: bool,
    /// Hash roots that are disk images as one file instead of reading their file systems.
    pub no_disk_images: bool,
    /// Do not read the members of ZIP archives found by content (they are hashed as files
    /// only; see [`crate::evidence::archive`]).
    pub no_archives: bool,
    /// Nesting and zip-bomb limits for archives' members.
    pub archive_limits: crate::evidence::archive::ArchiveLimits,
    /// Do not carve pictures from the free and unpartitioned space of disk images (see
    /// [`crate::evidence::carve`]).
    pub no_carve: bool,
    /// Before scanning, read every root that is a disk image once and compare its media's
    /// MD5/SHA-1 with the digests its container stored (EWF); the outcomes go into the
    /// header ([`Header::image_verifications`]) and [`ScanSummary::image_verifications`],
    /// and a failed one (mismatch, unreadable) makes the exit status 2.
    pub verify_images: bool,
    /// Videos found by content (folder files) are hashed as vPDQ through the `ffmpeg`
    /// program with these settings ([`crate::video`]) and matched against the sets' known
    /// videos and pictures; `None`: videos are hashed as files only. Default: on, 1 frame per
    /// second, the default limits. Without ffmpeg each video is an error record
    /// (`video-not-hashed`) and the scan's exit status says it is incomplete.
    pub video: Option<crate::video::VideoOptions>,
    /// How a video's frames are matched with known videos ([`crate::perceptual::vpdq`]).
    pub video_match: crate::perceptual::vpdq::VpdqMatchOptions,
    /// Test hooks (simulated failures); not part of the stable API.
    #[doc(hidden)]
    pub hooks: TestHooks,
}

impl Default for ScanOptions {
    fn default() -> Self {
        Self {
            threads: 0,
            follow_symlinks: false,
            link_targets: false,
            one_file_system: false,
            max_file_size: None,
            exclude: Vec::new(),
            pdq_radius: crate::refset::DEFAULT_PDQ_RADIUS,
            phash_radius: crate::refset::DEFAULT_U64_RADIUS,
            video: Some(crate::video::VideoOptions::default()),
            video_match: crate::perceptual::vpdq::VpdqMatchOptions::default(),
            max_perceptual_matches: 16,
            dihedral: false,
            robust: false,
            robust_radius: crate::robust::DEFAULT_ROBUST_RADIUS,
            cluster: false,
            analyze: crate::analyze::AnalyzeOptions::default(),
            window: 0,
            cancel: None,
            progress: None,
            command_line: Vec::new(),
            spool_dir: None,
            allow_atime_changes: false,
            no_disk_images: false,
            no_archives: false,
            archive_limits: crate::evidence::archive::ArchiveLimits::default(),
            no_carve: false,
            verify_images: false,
            hooks: TestHooks::default(),
        }
    }
}

/// Why a scan could not run or finish.
#[derive(Debug, Error)]
pub enum ScanError {
    /// An evidence root cannot be examined at all (missing, unreadable).
    #[error(
        "evidence root {path} cannot be examined: {source}; check the path and that it is mounted"
    )]
    Root {
        /// The root as given.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// No evidence root was given.
    #[error("no evidence root given: name at least one directory or file to scan")]
    NoRoots,
    /// The report would be written inside the evidence.
    #[error("{}", inside_evidence("the report", report, root, *root_is_file, "write the report elsewhere"))]
    ReportInsideEvidence {
        /// The report path as given.
        report: PathBuf,
        /// The evidence root it falls in, as given.
        root: PathBuf,
        /// The root is a file: its whole folder counts as evidence.
        root_is_file: bool,
    },
    /// Temporary files (spool, sorted runs) would be written inside the evidence.
    #[error("{}", inside_evidence(
        "the temporary directory", dir, root, *root_is_file,
        "point TMPDIR (or the report, beside which temporary files go) outside the evidence"
    ))]
    WorkDirInsideEvidence {
        /// The directory for temporary files (spool, sorted runs).
        dir: PathBuf,
        /// The evidence root it falls in, as given.
        root: PathBuf,
        /// The root is a file: its whole folder counts as evidence.
        root_is_file: bool,
    },
    /// The report path could not be resolved to check it against the evidence.
    #[error("cannot check the report path {path}: {source}")]
    ReportPath {
        /// The report path as given.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// An `--exclude` pattern is invalid.
    #[error(transparent)]
    Exclude(#[from] GlobError),
    /// The hashing threads could not be started.
    #[error("cannot start {threads} hashing threads: {message}; try a smaller --threads")]
    ThreadPool {
        /// Threads asked for.
        threads: usize,
        /// The thread pool's error.
        message: String,
    },
    /// Writing the report failed (the scan stops: a report must be complete or marked not).
    #[error(
        "writing the report failed: {source}; check free space and permissions on the report's disk"
    )]
    Report {
        /// The writer's error.
        source: io::Error,
    },
    /// The clustering spool file failed.
    #[error("the clustering spool file in {dir} failed: {source}; choose another spool directory")]
    Spool {
        /// The spool directory.
        dir: PathBuf,
        /// Why.
        source: io::Error,
    },
}

/// What a finished (or interrupted) scan reports back; the same as its footer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanSummary {
    /// The footer written to the report.
    pub footer: Footer,
    /// The disk-image verifications done before the scan ([`ScanOptions::verify_images`]),
    /// as in the header.
    pub image_verifications: Vec<crate::report::ImageVerification>,
}

impl ScanSummary {
    /// 0 clean, 1 alerts, 2 errors or incomplete.
    pub fn exit_status(&self) -> i32 {
        self.footer.exit_status
    }
}

/// The message of a write refused because it would land in the evidence.
fn inside_evidence(what: &str, path: &Path, root: &Path, root_is_file: bool, fix: &str) -> String {
    if root_is_file {
        let folder = root.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        format!(
            "{what} {} would be written in {}, the folder of evidence file {}: nothing may be \
             written in or below a folder that holds evidence; {fix}",
            path.display(),
            folder.display(),
            root.display()
        )
    } else {
        format!(
            "{what} {} is inside evidence root {}: nothing may be written inside the evidence; \
             {fix}",
            path.display(),
            root.display()
        )
    }
}

/// The evidence root `resolved` falls in: under a directory root, or in or below the
/// folder of a file root. Both are compared with links and `..` resolved.
fn evidence_root_holding(resolved: &Path, roots: &[PathBuf]) -> Option<(PathBuf, bool)> {
    for root in roots {
        let Ok(root_resolved) = root.canonicalize() else { continue };
        let is_file = !root_resolved.is_dir();
        let area =
            if is_file { root_resolved.parent().unwrap_or(&root_resolved) } else { &root_resolved };
        if resolved.starts_with(area) {
            return Some((root.clone(), is_file));
        }
    }
    None
}

/// Refuses a report path inside any evidence root, or in or below the folder of an
/// evidence root that is a file (after resolving symbolic links and `..` in the existing
/// part of both paths).
pub fn ensure_outside_evidence(report: &Path, roots: &[PathBuf]) -> Result<(), ScanError> {
    let resolved = resolve_existing_prefix(report)
        .map_err(|source| ScanError::ReportPath { path: report.to_path_buf(), source })?;
    match evidence_root_holding(&resolved, roots) {
        Some((root, root_is_file)) => Err(ScanError::ReportInsideEvidence {
            report: report.to_path_buf(),
            root,
            root_is_file,
        }),
        None => Ok(()),
    }
}

/// Refuses a directory for temporary files (the clustering spool, sorted runs of hash sets
/// built in memory) inside the evidence, by the rule of [`ensure_outside_evidence`].
pub fn ensure_work_dir_outside_evidence(dir: &Path, roots: &[PathBuf]) -> Result<(), ScanError> {
    let resolved = resolve_existing_prefix(dir)
        .map_err(|source| ScanError::ReportPath { path: dir.to_path_buf(), source })?;
    match evidence_root_holding(&resolved, roots) {
        Some((root, root_is_file)) => {
            Err(ScanError::WorkDirInsideEvidence { dir: dir.to_path_buf(), root, root_is_file })
        }
        None => Ok(()),
    }
}

pub use crate::evidence::folder::AtimeProtection;

/// How one evidence root stands for access times, checked before a scan.
#[derive(Debug)]
pub struct AtimeCheck {
    /// The root as given.
    pub root: PathBuf,
    /// What protects its access times, if anything.
    pub protection: AtimeProtection,
}

/// Checks, before a scan, whether reading each root can leave access times alone: a
/// read-only or `noatime` mount, or `O_NOATIME` granted (tried on the root itself; nothing
/// is read). A root with [`AtimeProtection::Refused`] would have its access times changed:
/// without [`ScanOptions::allow_atime_changes`] its entries are not read (errors).
pub fn atime_preflight(roots: &[PathBuf], options: &ScanOptions) -> Vec<AtimeCheck> {
    sorted_roots(roots)
        .into_iter()
        .map(|root| {
            let protection = crate::evidence::folder::atime_protection(&root, &options.hooks);
            AtimeCheck { root, protection }
        })
        .collect()
}

/// Canonicalises the longest existing ancestor of `path` and appends the rest.
fn resolve_existing_prefix(path: &Path) -> io::Result<PathBuf> {
    let absolute =
        if path.is_absolute() { path.to_path_buf() } else { std::env::current_dir()?.join(path) };
    let mut existing = absolute.as_path();
    let mut rest = Vec::new();
    loop {
        match existing.canonicalize() {
            Ok(canonical) => {
                let mut out = canonical;
                for part in rest.iter().rev() {
                    out.push(part);
                }
                return Ok(out);
            }
            Err(_) => match (existing.parent(), existing.file_name()) {
                (Some(parent), Some(name)) => {
                    rest.push(name.to_os_string());
                    existing = parent;
                }
                _ => return Ok(absolute),
            },
        }
    }
}

/// Counts of what a scan of `roots` would read, for a progress ETA. Honours the walk
/// options (exclusions, symlinks, size limit) and `cancel`; reads no file content.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PreCount {
    /// Entries the scan would report.
    pub entries: u64,
    /// Items with content it would read.
    pub files: u64,
    /// Bytes it would read (as listed).
    pub bytes: u64,
}

/// Walks `roots` as [`scan`] would, without reading content, and counts what it would read
/// (pictures carved from disk images are not counted: finding them reads the image).
///
/// # Errors
/// [`ScanError::Exclude`] for an invalid exclusion pattern.
pub fn precount(roots: &[PathBuf], options: &ScanOptions) -> Result<PreCount, ScanError> {
    // Carving reads the free space of disk images whole: not done twice for an estimate
    // (carved pictures are not counted).
    let source_options = SourceOptions { no_carve: true, ..source_options(options)? };
    let mut count = PreCount::default();
    for work in items(roots, &source_options) {
        if is_cancelled(options.cancel.as_deref()) {
            break;
        }
        count.entries += 1;
        if let Item::Content(item) = work {
            count.files += 1;
            count.bytes += item.expected_len.unwrap_or(0);
        }
    }
    Ok(count)
}

fn is_cancelled(flag: Option<&AtomicBool>) -> bool {
    flag.is_some_and(|f| f.load(Ordering::Relaxed))
}

fn sorted_roots(roots: &[PathBuf]) -> Vec<PathBuf> {
    let mut roots = roots.to_vec();
    roots.sort();
    roots.dedup();
    roots
}

/// The items of every root (see [`crate::evidence::open_roots`]).
fn items<'a>(roots: &[PathBuf], options: &'a SourceOptions) -> impl Iterator<Item = Item> + 'a {
    crate::evidence::open_roots(roots, options)
}

fn source_options(options: &ScanOptions) -> Result<SourceOptions, ScanError> {
    Ok(SourceOptions {
        follow_symlinks: options.follow_symlinks,
        one_file_system: options.one_file_system,
        max_file_size: options.max_file_size,
        exclude: ExcludeSet::new(&options.exclude)?,
        link_targets: options.link_targets,
        allow_atime_changes: options.allow_atime_changes,
        no_disk_images: options.no_disk_images,
        no_archives: options.no_archives,
        archive_limits: options.archive_limits,
        no_carve: options.no_carve,
        cancel: options.cancel.clone(),
        hooks: options.hooks.clone(),
    })
}

fn host_name() -> Option<String> {
    #[cfg(unix)]
    {
        let mut buf = [0u8; 256];
        // SAFETY: buf is writable for its full length, which we pass; gethostname writes at
        // most that many bytes.
        let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
        if rc == 0 {
            let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
            return Some(String::from_utf8_lossy(&buf[..end]).into_owned());
        }
    }
    None
}

/// The header a scan with these settings writes (start time = now).
pub fn make_header(
    roots: &[PathBuf],
    references: &[LoadedReference],
    options: &ScanOptions,
    threads: usize,
) -> Header {
    let a = &options.analyze;
    let l = &a.decode.limits;
    let mut limits = vec![
        format!("max_width={}", l.max_width),
        format!("max_height={}", l.max_height),
        format!("max_pixels={}", l.max_pixels),
        format!("max_alloc_bytes={}", l.max_alloc_bytes),
        format!("decode_memory_budget={}", a.decode_memory_budget.capacity()),
        format!("jpeg_scale={:?}", a.decode.jpeg_scale),
        format!("decode_policy={}", crate::decode::CONVERSION_POLICY),
        format!("archives={}", if options.no_archives { "off" } else { "zip" }),
        format!(
            "carving={}",
            if options.no_carve || options.no_disk_images {
                "off"
            } else {
                "jpeg,png,gif,bmp,webp"
            }
        ),
    ];
    if !options.no_archives {
        limits.extend(options.archive_limits.describe());
    }
    Header {
        tool: "mediahash".to_string(),
        version: crate::VERSION.to_string(),
        command_line: options.command_line.clone(),
        start_time: rfc3339_system_time(SystemTime::now()),
        host: host_name(),
        evidence_roots: sorted_roots(roots)
            .iter()
            .map(|r| r.to_string_lossy().into_owned())
            .collect(),
        working_directory: std::env::current_dir().ok().map(|d| d.to_string_lossy().into_owned()),
        reference_sets: references.iter().map(|r| r.provenance.clone()).collect(),
        options: OptionsRecord {
            pdq_radius: options.pdq_radius,
            phash_radius: options.phash_radius,
            pdq_quality_threshold: PDQ_QUALITY_THRESHOLD,
            pdq_convention: a.pdq_convention.as_str().to_string(),
            dihedral: options.dihedral,
            robust_radius: options.robust.then_some(options.robust_radius),
            follow_symlinks: options.follow_symlinks,
            link_targets: options.link_targets,
            one_file_system: options.one_file_system,
            max_file_size: options.max_file_size,
            max_image_file_bytes: a.max_image_file_bytes,
            exclude: options.exclude.clone(),
            cluster: options.cluster,
            threads,
            limits,
        },
        jpeg_simd: crate::decode::jpeg_simd_built(),
        image_verifications: Vec::new(),
    }
}

/// The outcome of one read job.
enum Outcome {
    Record(Box<EntryRecord>),
    /// An archive's record, and its members to scan right after it.
    Archive(Box<EntryRecord>, Box<crate::evidence::archive::Expansion>),
    /// Stopped by cancellation before the file was read to the end.
    Cancelled,
}

/// Shared state of one scan run, borrowed by the hashing tasks.
struct Context<'a> {
    references: &'a [LoadedReference],
    /// `ffmpeg -version`'s first line, asked at the scan's first video (empty without
    /// ffmpeg).
    ffmpeg_version: std::sync::OnceLock<String>,
    options: &'a ScanOptions,
    analyze: crate::analyze::AnalyzeOptions,
    /// Internal stop flag (a report write failed), besides the caller's.
    stop: AtomicBool,
    /// Hashing threads in the pool.
    threads: usize,
}

impl Context<'_> {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed) || is_cancelled(self.options.cancel.as_deref())
    }
}

/// Scans `roots`, matching against `references`, writing the report to `writer`.
///
/// Returns the summary (the footer) when the report was written, even if the scan was
/// interrupted or met errors: those are in the report and the exit status. Returns an error
/// only when the scan could not start or the report could not be written.
pub fn scan<W: ReportWriter + ?Sized>(
    roots: &[PathBuf],
    references: &[LoadedReference],
    options: &ScanOptions,
    writer: &mut W,
) -> Result<ScanSummary, ScanError> {
    if roots.is_empty() {
        return Err(ScanError::NoRoots);
    }
    for root in roots {
        std::fs::symlink_metadata(root)
            .map_err(|source| ScanError::Root { path: root.clone(), source })?;
    }
    let source_options = source_options(options)?;
    let threads = if options.threads == 0 {
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    } else {
        options.threads
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("mediahash-scan-{i}"))
        .build()
        .map_err(|e| ScanError::ThreadPool { threads, message: e.to_string() })?;
    let window = if options.window == 0 { (threads * 64).max(256) } else { options.window };

    let started = Instant::now();
    let mut header = make_header(roots, references, options, threads);
    if options.verify_images && !options.no_disk_images {
        header.image_verifications = verify_images(roots, &source_options, options);
    }
    let report_err = |source| ScanError::Report { source };
    writer.header(&header).map_err(report_err)?;

    let mut analyze = options.analyze.clone();
    analyze.dihedral = options.dihedral;
    analyze.robust = options.robust;
    analyze.cancel = options.cancel.clone().or(analyze.cancel);
    let context = Context {
        references,
        ffmpeg_version: std::sync::OnceLock::new(),
        options,
        analyze,
        stop: AtomicBool::new(false),
        threads,
    };

    let mut spool = if options.cluster { Some(Spool::new(options, roots)?) } else { None };
    let mut emitter = Emitter {
        counts: Counts::default(),
        files_read: 0,
        bytes_read: 0,
        files_without_noatime: 0,
        dirs_without_noatime: 0,
        progress: options.progress.clone(),
        truncated: false,
        failure: None,
        ordinal: 0,
        cluster_points: Vec::new(),
    };

    {
        let mut sink = |record: &EntryRecord| -> io::Result<()> {
            match spool.as_mut() {
                Some(s) => s.write(record),
                None => writer.entry(record),
            }
        };
        let context = &context;
        pool.in_place_scope(|scope| {
            let mut work = items(roots, &source_options);
            run_level(scope, &mut work, &mut emitter, &mut sink, context, window);
        });
    }
    if let Some(source) = emitter.failure.take() {
        return Err(ScanError::Report { source });
    }

    let interrupted = emitter.truncated || is_cancelled(options.cancel.as_deref());
    let mut footer = Footer {
        completed: !interrupted,
        stopped_reason: interrupted.then(|| "interrupted (cancelled) before the walk finished; the entries are a complete prefix in path order".to_string()),
        counts: emitter.counts,
        files_read: emitter.files_read,
        bytes_read: emitter.bytes_read,
        files_without_noatime: emitter.files_without_noatime,
        dirs_without_noatime: emitter.dirs_without_noatime,
        ..Default::default()
    };

    if let Some(spool) = spool {
        // Through the multi-index, on the scan's own pool (crate::cluster).
        let hashes: Vec<[u8; 32]> = emitter.cluster_points.iter().map(|p| p.1).collect();
        let clusters = pool.install(|| crate::cluster::cluster_pdq(&hashes, options.pdq_radius));
        drop(hashes);
        let members: std::collections::HashMap<u64, u64> = emitter
            .cluster_points
            .iter()
            .zip(&clusters.ids)
            .filter_map(|(p, id)| id.map(|id| (p.0, id)))
            .collect();
        footer.clusters = Some(clusters.count());
        footer.clustered_images = Some(clusters.clustered());
        spool.replay(&members, writer)?;
    }

    footer.end_time = rfc3339_system_time(SystemTime::now());
    footer.duration_ms = started.elapsed().as_millis() as u64;
    footer.exit_status = Footer::compute_exit_status(footer.completed, &footer.counts);
    if footer.files_without_noatime + footer.dirs_without_noatime > 0 {
        // Access times of the evidence changed (allowed, but not clean): as an error.
        footer.exit_status = 2;
    }
    if header.image_verifications.iter().any(|v| v.status.failed()) {
        // The evidence is not what was acquired, or part of it is unreadable.
        footer.exit_status = 2;
    }
    writer.footer(&footer).map_err(report_err)?;
    Ok(ScanSummary { footer, image_verifications: header.image_verifications })
}

/// Verifies every root that is a disk image (see [`ScanOptions::verify_images`]), in root
/// order.
fn verify_images(
    roots: &[PathBuf],
    source_options: &SourceOptions,
    options: &ScanOptions,
) -> Vec<crate::report::ImageVerification> {
    sorted_roots(roots)
        .iter()
        .filter_map(|root| {
            let detected = crate::evidence::disk::detect(root, source_options)?;
            Some(crate::evidence::verify::verify_detected(
                root,
                &detected,
                options.cancel.as_deref(),
            ))
        })
        .collect()
}

/// Runs one level of items through the pool and emits them in order: the evidence roots'
/// items, or the members of an archive met at the head of the level above (emitted right
/// after the archive's record, before anything after it). Each level has its own window.
fn run_level<'s>(
    scope: &rayon::Scope<'s>,
    items: &mut dyn Iterator<Item = Item>,
    emitter: &mut Emitter,
    sink: &mut dyn FnMut(&EntryRecord) -> io::Result<()>,
    context: &'s Context<'s>,
    window: usize,
) {
    let (tx, rx) = mpsc::channel::<(u64, Outcome)>();
    let mut slots: VecDeque<Option<Outcome>> = VecDeque::new();
    let mut base: u64 = 0;
    let mut in_flight = 0usize;
    // Small files gathered for one task (MD5 in SIMD lanes over them), and the tasks
    // spawned and not yet finished.
    let mut batch: Vec<(u64, ContentItem)> = Vec::new();
    let mut batch_bytes = 0u64;
    let tasks = Arc::new(AtomicUsize::new(0));
    let threads = context.threads;
    let place =
        |slots: &mut VecDeque<Option<Outcome>>, base: u64, (seq, outcome): (u64, Outcome)| {
            slots[(seq - base) as usize] = Some(outcome);
        };
    for work in items {
        if context.stopped() || emitter.truncated || emitter.failure.is_some() {
            break;
        }
        // Window full: the head is a file still being read (or waiting in the batch being
        // gathered); wait for results.
        while slots.len() >= window && in_flight > 0 {
            if batch.first().is_some_and(|(seq, _)| *seq == base) {
                spawn_batch(scope, std::mem::take(&mut batch), &tx, &tasks, context);
                batch_bytes = 0;
            }
            let Ok(msg) = rx.recv() else { break };
            in_flight -= 1;
            place(&mut slots, base, msg);
            drain(scope, &mut slots, &mut base, emitter, sink, context, window);
        }
        if emitter.truncated || emitter.failure.is_some() {
            break;
        }
        let seq = base + slots.len() as u64;
        match work {
            Item::Decided(record) => slots.push_back(Some(Outcome::Record(Box::new(record)))),
            Item::Content(job) if job.expected_len.is_some_and(|n| n <= BATCH_FILE_BYTES) => {
                slots.push_back(None);
                in_flight += 1;
                batch_bytes += job.expected_len.unwrap_or(0);
                batch.push((seq, job));
                // A full batch goes; so does a partial one while threads are idle (a slow
                // walk must not hold files back from them).
                if batch.len() >= BATCH_FILES
                    || batch_bytes >= BATCH_BYTES
                    || tasks.load(Ordering::Relaxed) < threads
                {
                    spawn_batch(scope, std::mem::take(&mut batch), &tx, &tasks, context);
                    batch_bytes = 0;
                }
            }
            Item::Content(job) => {
                slots.push_back(None);
                in_flight += 1;
                spawn_batch(scope, vec![(seq, job)], &tx, &tasks, context);
            }
        }
        drain(scope, &mut slots, &mut base, emitter, sink, context, window);
    }
    if !batch.is_empty() {
        spawn_batch(scope, std::mem::take(&mut batch), &tx, &tasks, context);
    }
    while in_flight > 0 {
        let Ok(msg) = rx.recv() else { break };
        in_flight -= 1;
        place(&mut slots, base, msg);
        drain(scope, &mut slots, &mut base, emitter, sink, context, window);
    }
    // Everything finished; anything left is behind a cancelled or failed entry.
    if !slots.is_empty() {
        emitter.truncated = true;
    }
}

/// Files up to this size are gathered into batches whose MD5s run in SIMD lanes together
/// ([`crate::digest::digest_many`]); larger files are read by a task of their own, so a
/// large file never holds a batch's small ones back (and streams in big reads).
const BATCH_FILE_BYTES: u64 = 1 << 20;

/// Most files in one batch: twice the widest MD5 kernel's lanes, so that lanes freed by
/// files that end are refilled at once.
const BATCH_FILES: usize = 32;

/// Most bytes (as expected from the listing) in one batch, to keep batches short enough
/// that every thread gets work on a small tree.
const BATCH_BYTES: u64 = 4 << 20;

/// Spawns a task that reads, hashes and matches `batch` (one item: streamed alone), sending
/// each outcome with its sequence number. A panic becomes an internal-error record for each
/// item not yet sent.
fn spawn_batch<'s>(
    scope: &rayon::Scope<'s>,
    batch: Vec<(u64, ContentItem)>,
    tx: &mpsc::Sender<(u64, Outcome)>,
    tasks: &Arc<AtomicUsize>,
    context: &'s Context<'s>,
) {
    let tx = tx.clone();
    let tasks = Arc::clone(tasks);
    tasks.fetch_add(1, Ordering::Relaxed);
    scope.spawn(move |_| {
        // Kept to report the entries should the analysis panic.
        let mut pending: Vec<(u64, EntryRecord)> =
            batch.iter().map(|(seq, item)| (*seq, item.record.clone())).collect();
        let mut send = |seq: u64, outcome: Outcome| {
            pending.retain(|(s, _)| *s != seq);
            let _ = tx.send((seq, outcome));
        };
        let result = catch_unwind(AssertUnwindSafe(|| {
            if batch.len() == 1 {
                let (seq, item) = batch.into_iter().next().expect("one item");
                send(seq, read_and_match(item, context));
            } else {
                read_and_match_batch(batch, context, &mut send);
            }
        }));
        if let Err(panic) = result {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            for (seq, record) in std::mem::take(&mut pending) {
                let reason = Reason::new(
                    ReasonCode::Internal,
                    format!("internal error while analysing (please report): {message}"),
                );
                let _ = tx.send((seq, fail(record, reason)));
            }
        }
        tasks.fetch_sub(1, Ordering::Relaxed);
    });
}

/// Emits the finished outcomes at the head of a level, in order; an archive's members are
/// run as a level of their own right after its record.
fn drain<'s>(
    scope: &rayon::Scope<'s>,
    slots: &mut VecDeque<Option<Outcome>>,
    base: &mut u64,
    emitter: &mut Emitter,
    sink: &mut dyn FnMut(&EntryRecord) -> io::Result<()>,
    context: &'s Context<'s>,
    window: usize,
) {
    while !emitter.truncated && emitter.failure.is_none() {
        let Some(Some(_)) = slots.front() else { return };
        let Some(Some(outcome)) = slots.pop_front() else { return };
        *base += 1;
        let (record, members) = match outcome {
            Outcome::Record(r) => (r, None),
            Outcome::Archive(r, members) => (r, Some(members)),
            Outcome::Cancelled => {
                emitter.truncated = true;
                return;
            }
        };
        emitter.count(&record);
        if let Err(e) = sink(&record) {
            emitter.failure = Some(e);
            context.stop.store(true, Ordering::Relaxed);
            return;
        }
        if let Some(mut members) = members {
            run_level(scope, &mut *members, emitter, sink, context, window);
        }
    }
}

/// Puts finished entries out in order and keeps the counts.
struct Emitter {
    counts: Counts,
    files_read: u64,
    bytes_read: u64,
    files_without_noatime: u64,
    dirs_without_noatime: u64,
    progress: Option<Arc<ScanProgress>>,
    /// A cancelled entry reached the head: nothing after it is emitted.
    truncated: bool,
    failure: Option<io::Error>,
    ordinal: u64,
    /// (ordinal, PDQ) of unknown images with a usable PDQ, for clustering.
    cluster_points: Vec<(u64, [u8; 32])>,
}

impl Emitter {
    fn count(&mut self, record: &EntryRecord) {
        let disposition = record.disposition;
        self.counts.add(disposition);
        if let Some(n) = record.bytes_read {
            self.bytes_read += n;
            if record.md5.is_some() {
                self.files_read += 1;
            }
        }
        if record.noatime == Some(false) {
            // Directories carry `noatime` only when listed without it.
            let listed = disposition == EntryDisposition::Directory
                || record.reason.as_ref().is_some_and(|r| r.code == ReasonCode::ListIncomplete);
            if listed {
                self.dirs_without_noatime += 1;
            } else {
                self.files_without_noatime += 1;
            }
        }
        if disposition == EntryDisposition::UnknownImage
            && record.pdq_quality.is_some_and(|q| q >= PDQ_QUALITY_THRESHOLD)
            && let Some(pdq) = record.pdq
        {
            self.cluster_points.push((self.ordinal, pdq.0));
        }
        self.ordinal += 1;
        if let Some(p) = &self.progress {
            p.entries.fetch_add(1, Ordering::Relaxed);
            if record.bytes_read.is_some() || record.kind == crate::report::EntryKind::File {
                p.files.fetch_add(1, Ordering::Relaxed);
            }
            match disposition {
                EntryDisposition::Alert => {
                    p.alerts.fetch_add(1, Ordering::Relaxed);
                }
                EntryDisposition::Error => {
                    p.errors.fetch_add(1, Ordering::Relaxed);
                }
                _ => {}
            }
        }
    }
}

/// Entry records spooled in their JSON Lines form while clustering needs the whole scan
/// (bounded memory); replayed through [`JsonlReader`] into typed records.
struct Spool {
    file: io::BufWriter<File>,
    dir: PathBuf,
}

impl Spool {
    fn new(options: &ScanOptions, roots: &[PathBuf]) -> Result<Spool, ScanError> {
        let dir = options.spool_dir.clone().unwrap_or_else(std::env::temp_dir);
        // The spool is a write: never under evidence.
        ensure_work_dir_outside_evidence(&dir, roots)?;
        let file = tempfile::tempfile_in(&dir)
            .map_err(|source| ScanError::Spool { dir: dir.clone(), source })?;
        Ok(Spool { file: io::BufWriter::new(file), dir })
    }

    fn write(&mut self, record: &EntryRecord) -> io::Result<()> {
        serde_json::to_writer(&mut self.file, &EntryLine::from(record)).map_err(io::Error::from)?;
        self.file.write_all(b"\n")
    }

    /// Writes the spooled records, with cluster ids, to the report.
    fn replay<W: ReportWriter + ?Sized>(
        self,
        clusters: &std::collections::HashMap<u64, u64>,
        writer: &mut W,
    ) -> Result<(), ScanError> {
        let dir = self.dir.clone();
        let spool_err = |source| ScanError::Spool { dir: dir.clone(), source };
        let mut file = self.file.into_inner().map_err(|e| spool_err(e.into_error()))?;
        file.rewind().map_err(spool_err)?;
        // Spooled lines are bare entries: tag them as the reader expects.
        for (ordinal, line) in io::BufRead::lines(BufReader::new(file)).enumerate() {
            let line = line.map_err(spool_err)?;
            let tagged = format!("{{\"record\":\"entry\",{}", &line[1..]);
            let mut items = JsonlReader::new(tagged.as_bytes());
            let record = match items.next() {
                Some(Ok(ReportItem::Entry(record))) => record,
                Some(Err(e)) => return Err(spool_err(io::Error::other(e))),
                _ => return Err(spool_err(io::Error::other("spool line is not an entry"))),
            };
            let mut record = *record;
            record.cluster = clusters.get(&(ordinal as u64)).copied();
            writer.entry(&record).map_err(|source| ScanError::Report { source })?;
        }
        Ok(())
    }
}

/// Reads an item's content with cancellation, byte counting and error offsets.
struct EvidenceReader<'a> {
    inner: Box<dyn ContentReader>,
    offset: u64,
    context: &'a Context<'a>,
    cancelled: bool,
    /// The first bytes ([`HEAD_LEN`]), to name the image format even when decoding fails
    /// and to recognise video containers.
    head: Vec<u8>,
    /// The in-memory copy of a video that has no path (inside a disk image or archive).
    video_copy: VideoCopy,
}

/// How many first bytes of each item are kept: enough for every container sniffer
/// (`video::sniff_container` needs 377 for MPEG-TS).
const HEAD_LEN: usize = 512;

/// The in-memory copy of an item's bytes for ffmpeg, decided from its first bytes.
enum VideoCopy {
    /// Not decided yet (fewer than [`HEAD_LEN`] bytes read).
    Undecided,
    /// Not wanted: the item has a path, is not a video, or videos are not hashed.
    Off,
    /// A video, but this system has no anonymous memory files.
    Unavailable,
    /// Being copied.
    On(crate::video::spool::Spool),
    /// The copy failed (out of memory): the message.
    Failed(String),
}

impl EvidenceReader<'_> {
    /// Copies the bytes just read (`bytes`, starting at `start`) into the video copy,
    /// deciding from the first bytes whether the item is a video.
    fn copy_video(&mut self, start: u64, bytes: &[u8]) {
        match &mut self.video_copy {
            VideoCopy::Undecided if self.head.len() >= HEAD_LEN || bytes.is_empty() => {
                self.video_copy = if crate::video::sniff_container(&self.head).is_none() {
                    VideoCopy::Off
                } else {
                    let limit = self.context.options.video.as_ref().map_or(0, |v| v.spool_limit);
                    match crate::video::spool::Spool::new(limit) {
                        // Everything before `start` is in `head` (it holds the first
                        // HEAD_LEN bytes and was not full before this read).
                        Ok(Some(mut spool)) => match spool
                            .write(&self.head[..start as usize])
                            .and_then(|()| spool.write(bytes))
                        {
                            Ok(()) => VideoCopy::On(spool),
                            Err(e) => VideoCopy::Failed(e.to_string()),
                        },
                        Ok(None) => VideoCopy::Unavailable,
                        Err(e) => VideoCopy::Failed(e.to_string()),
                    }
                };
            }
            VideoCopy::On(spool) => {
                if let Err(e) = spool.write(bytes) {
                    self.video_copy = VideoCopy::Failed(e.to_string());
                }
            }
            _ => {}
        }
    }
}

impl Read for EvidenceReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.context.stopped() {
            self.cancelled = true;
            // `ErrorKind::Interrupted` is retried by readers; cancellation must not be.
            return Err(io::Error::other("scan cancelled"));
        }
        match self.inner.read(buf) {
            Ok(n) => {
                if self.head.len() < HEAD_LEN {
                    let take = n.min(HEAD_LEN - self.head.len());
                    self.head.extend_from_slice(&buf[..take]);
                }
                self.copy_video(self.offset, &buf[..n]);
                self.offset += n as u64;
                if let Some(p) = &self.context.options.progress {
                    p.bytes.fetch_add(n as u64, Ordering::Relaxed);
                }
                Ok(n)
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Err(e),
            Err(e) => {
                Err(io::Error::new(e.kind(), format!("read error at offset {}: {e}", self.offset)))
            }
        }
    }
}

fn fail(mut record: EntryRecord, reason: Reason) -> Outcome {
    record.conclude(EntryDisposition::Error, Some(reason));
    Outcome::Record(Box::new(record))
}

/// Opens, reads, hashes and matches one item's content.
fn read_and_match(item: ContentItem, context: &Context<'_>) -> Outcome {
    let (record, mut reader) = match open_item(item, context) {
        Ok(opened) => opened,
        Err(outcome) => return outcome,
    };
    let analysis = crate::analyze::analyze_reader(&mut reader, &context.analyze);
    conclude_item(record, reader, analysis, context)
}

/// Opens an item's content for reading (or its error record).
fn open_item<'a>(
    item: ContentItem,
    context: &'a Context<'a>,
) -> Result<(EntryRecord, EvidenceReader<'a>), Outcome> {
    let ContentItem { mut record, content, .. } = item;
    let opened = match content.open() {
        Ok(opened) => opened,
        Err(reason) => return Err(fail(record, reason)),
    };
    record.noatime = opened.noatime;
    let reader = EvidenceReader {
        inner: opened.reader,
        offset: 0,
        context,
        cancelled: false,
        head: Vec::new(),
        // Folder files are given to ffmpeg by path; other items have none.
        video_copy: if record.location.is_some() && context.options.video.is_some() {
            VideoCopy::Undecided
        } else {
            VideoCopy::Off
        },
    };
    Ok((record, reader))
}

/// An item of a batch ([`read_and_match_batch`]), opened.
struct BatchReader<'a> {
    seq: u64,
    record: EntryRecord,
    reader: EvidenceReader<'a>,
}

impl Read for BatchReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.reader.read(buf)
    }
}

/// Opens, reads, hashes and matches a batch of small items on this thread: their digests
/// run side by side ([`crate::analyze::analyze_many`]: MD5 in SIMD lanes), each item is
/// matched as soon as it has been read, and each outcome is sent with its sequence number
/// (in the order the items end; the reorder window puts them back in order).
fn read_and_match_batch(
    batch: Vec<(u64, ContentItem)>,
    context: &Context<'_>,
    send: &mut dyn FnMut(u64, Outcome),
) {
    let mut failed = Vec::new();
    let opened = batch.into_iter().filter_map(|(seq, item)| match open_item(item, context) {
        Ok((record, reader)) => Some(BatchReader { seq, record, reader }),
        Err(outcome) => {
            failed.push((seq, outcome));
            None
        }
    });
    crate::analyze::analyze_many(opened, &context.analyze, |item, analysis| {
        let BatchReader { seq, record, reader } = item;
        send(seq, conclude_item(record, reader, analysis, context));
    });
    for (seq, outcome) in failed {
        send(seq, outcome);
    }
}

/// Concludes an item read to its end (or until a read error): digests and hashes into the
/// record, matches, disposition; an archive's members are opened for the next level.
fn conclude_item(
    mut record: EntryRecord,
    mut reader: EvidenceReader<'_>,
    analysis: io::Result<crate::analyze::Analysis>,
    context: &Context<'_>,
) -> Outcome {
    if reader.cancelled || analysis.as_ref().is_ok_and(|a| a.cancelled()) {
        return Outcome::Cancelled;
    }
    let analysis = match analysis {
        Ok(a) => a,
        Err(e) => {
            record.bytes_read = Some(reader.offset);
            let reason = reader
                .inner
                .failure()
                .unwrap_or_else(|| Reason::new(ReasonCode::ReadFailed, e.to_string()));
            return fail(record, reason);
        }
    };
    record.bytes_read = Some(analysis.size);
    let changed = reader.inner.changed_while_read(analysis.size);
    fill_analysis(&mut record, &analysis);
    if record.image_format.is_none() && analysis.image_error.is_some() {
        record.image_format = crate::decode::detect_format(&reader.head);
    }
    record.matches = match match_item(&analysis, context) {
        Ok(matches) => matches,
        Err(problem) => {
            return fail(
                record,
                Reason::new(
                    ReasonCode::ReferenceFailed,
                    format!("reference set lookup failed: {problem}"),
                ),
            );
        }
    };

    if analysis.image.is_none() && record.kind == crate::report::EntryKind::File {
        match video_record(&record, &reader.head, &reader.video_copy, context) {
            Ok(video) => record.video = video.map(Box::new),
            Err(()) => return Outcome::Cancelled,
        }
    }

    let has = |d: Disposition| {
        record.matches.iter().any(|m| m.disposition == d)
            || record.video.as_ref().is_some_and(|v| v.has(d))
    };
    let video_error = record.video.as_ref().and_then(|v| v.error.clone());
    let (disposition, reason) = if has(Disposition::Alert) {
        (EntryDisposition::Alert, changed)
    } else if let Some(changed) = changed {
        (EntryDisposition::Error, Some(changed))
    } else if has(Disposition::Ignore) {
        (EntryDisposition::Ignore, None)
    } else if let Some(video_error) = video_error {
        (EntryDisposition::Error, Some(Reason::new(ReasonCode::VideoNotHashed, video_error)))
    } else if let Some(image_error) = &record.image_error {
        (
            EntryDisposition::Error,
            Some(Reason::new(ReasonCode::ImageNotDecoded, image_error.clone())),
        )
    } else if analysis.image.is_some() {
        (EntryDisposition::UnknownImage, None)
    } else {
        (EntryDisposition::Other, None)
    };
    record.conclude(disposition, reason);
    let options = context.options;
    if !options.no_archives
        && let Some(members) = crate::evidence::archive::expand(
            &record,
            &mut *reader.inner,
            &reader.head,
            &options.archive_limits,
            options.max_file_size,
        )
    {
        return Outcome::Archive(Box::new(record), Box::new(members));
    }
    Outcome::Record(Box::new(record))
}

/// The video part of a record whose content sniffs as a video container: hashed through
/// ffmpeg (folder files) and matched against every set; `Ok(None)` when it is not a video
/// (or video hashing is off); `Err(())` when the scan was cancelled meanwhile.
fn video_record(
    record: &EntryRecord,
    head: &[u8],
    copy: &VideoCopy,
    context: &Context<'_>,
) -> Result<Option<crate::report::video::VideoRecord>, ()> {
    use crate::report::video::{FrameMatchRecord, VideoMatchRecord, VideoRecord};
    use crate::video::VideoError;
    let Some(options) = &context.options.video else { return Ok(None) };
    let Some(container) = crate::video::sniff_container(head) else { return Ok(None) };
    let mut out = VideoRecord { container: container.to_string(), ..VideoRecord::default() };
    // A folder file is given to ffmpeg by its path; content inside a disk image or an
    // archive by the path of its in-memory copy.
    let path = if record.location.is_none() {
        crate::pathbytes::path_from_bytes(&record.path)
    } else {
        let unhashed = match copy {
            VideoCopy::On(spool) => match spool.finish() {
                Ok(path) => Ok(path),
                Err(e) => Err(e.to_string()),
            },
            VideoCopy::Failed(message) => {
                Err(format!("in-memory copy of the video failed: {message}: not hashed as video"))
            }
            VideoCopy::Unavailable | VideoCopy::Undecided | VideoCopy::Off => {
                Err("video inside a disk image or archive: not hashed as video on this system (no \
                 anonymous memory files to decode it from; extract it, e.g. with icat or \
                 unzip, and hash it with mh hash --video-fps)"
                    .to_string())
            }
        };
        match unhashed {
            Ok(path) => path,
            Err(message) => {
                out.error = Some(message);
                return Ok(Some(out));
            }
        }
    };
    let mut options = options.clone();
    options.ffmpeg.cancel = context.options.cancel.clone();
    let hashes = match crate::video::hash_video_file(&path, &options) {
        Ok(h) => h,
        Err(VideoError::NoVideoStream { .. }) => return Ok(None),
        Err(VideoError::Cancelled) => return Err(()),
        Err(e) => {
            out.error = Some(e.to_string());
            return Ok(Some(out));
        }
    };
    let quality = context.options.video_match.quality;
    let usable: Vec<_> = hashes.frames.iter().filter(|f| f.quality >= quality).collect();
    let distinct: std::collections::HashSet<_> = usable.iter().map(|f| f.hash).collect();
    out.format = hashes.info.format_name.clone();
    out.codec = hashes.info.codec.clone();
    out.width = Some(hashes.info.width);
    out.height = Some(hashes.info.height);
    out.frame_rate = hashes.info.frame_rate.clone();
    out.duration = hashes.info.duration;
    out.seconds_per_hash = hashes.seconds_per_hash;
    out.frames_hashed = hashes.frames.len() as u64;
    out.frames_usable = usable.len() as u64;
    out.distinct_hashes = distinct.len() as u64;
    out.not_vpdq_equal = hashes.not_vpdq_equal.clone();
    out.ffmpeg_version = context
        .ffmpeg_version
        .get_or_init(|| {
            crate::video::ffmpeg::toolchain(&options.ffmpeg)
                .map(|t| t.ffmpeg_version)
                .unwrap_or_default()
        })
        .clone();
    for (index, reference) in context.references.iter().enumerate() {
        let (videos, frames) =
            match reference.index.match_video(&hashes, &context.options.video_match) {
                Ok(found) => found,
                Err(problem) => {
                    out.error = Some(format!("reference set lookup failed: {problem}"));
                    return Ok(Some(out));
                }
            };
        out.video_matches.extend(videos.into_iter().map(|m| VideoMatchRecord {
            reference: index,
            set: m.set,
            disposition: m.disposition,
            video_id: m.video_id,
            query_percent: m.comparison.query_percent,
            known_percent: m.comparison.target_percent,
            rule: m.rule.to_string(),
        }));
        out.frame_matches.extend(frames.into_iter().map(|m| FrameMatchRecord {
            frame: m.frame,
            timestamp: format!("{:.3}", f64::from(m.timestamp)).parse().unwrap_or(0.0),
            distance: m.distance,
            trimmed: m.trimmed,
            reference: index,
            set: m.set,
            disposition: m.disposition,
            source_id: m.source_id,
            file_name: m.file_name,
        }));
    }
    out.video_matches.sort_by(|a, b| {
        (b.query_percent + b.known_percent)
            .total_cmp(&(a.query_percent + a.known_percent))
            .then(a.reference.cmp(&b.reference))
            .then(a.video_id.cmp(&b.video_id))
    });
    out.frame_matches.sort_by(|a, b| {
        (a.frame, a.distance, a.reference).cmp(&(b.frame, b.distance, b.reference))
    });
    Ok(Some(out))
}

fn fill_analysis(record: &mut EntryRecord, a: &crate::analyze::Analysis) {
    record.md5 = Some(a.digests.md5);
    record.sha1 = Some(a.digests.sha1);
    record.sha256 = Some(a.digests.sha256);
    if let Some(image) = &a.image {
        record.image_format = Some(image.format);
        record.width = Some(image.width);
        record.height = Some(image.height);
    }
    if let Some(pdq) = &a.pdq {
        record.pdq = Some(pdq.hash);
        record.pdq_quality = Some(pdq.quality);
    }
    record.pdq_dihedral = a.pdq_dihedral;
    record.phash = a.imagehashes.as_ref().map(|ih| ih.phash);
    record.image_error = a.image_error.as_ref().map(ToString::to_string);
    record.provenance = a.provenance.as_ref().map(|p| p.indicators.clone()).unwrap_or_default();
}

/// Exact digests, then PDQ (quality permitting), then pHash, against every reference set.
fn match_item(
    a: &crate::analyze::Analysis,
    context: &Context<'_>,
) -> Result<Vec<Match>, RefsetError> {
    let mut matches = Vec::new();
    for (index, reference) in context.references.iter().enumerate() {
        for mut m in match_analysis(a, reference.index.as_ref(), context.options)? {
            m.reference = index;
            matches.push(m);
        }
    }
    matches.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    matches.dedup();
    if context.options.robust {
        keep_first_per_entry(&mut matches);
    }
    Ok(matches)
}

/// Every match of one analysed file in one reference set, as a scan makes them (with
/// `reference` 0): exact digests; PDQ within [`ScanOptions::pdq_radius`] (dihedral
/// variants with [`ScanOptions::dihedral`]; never below quality 50); robust PDQ pairs
/// within [`ScanOptions::robust_radius`] with [`ScanOptions::robust`] (the analysis must
/// have been made with [`crate::analyze::AnalyzeOptions::robust`]); pHash within
/// [`ScanOptions::phash_radius`]. Sorted; the same entry found by plain and robust pairs is
/// kept once (the plain match, else the nearest robust one).
pub fn match_analysis(
    a: &crate::analyze::Analysis,
    index: &dyn ReferenceIndex,
    options: &ScanOptions,
) -> Result<Vec<Match>, RefsetError> {
    let limit = options.max_perceptual_matches;
    let exact = [
        HashValue::Md5(a.digests.md5),
        HashValue::Sha1(a.digests.sha1),
        HashValue::Sha256(a.digests.sha256),
    ];
    // Needle i is the image turned by Dihedral::ALL[i].
    let pdq_needles: Vec<PdqHash> = match (&a.pdq, &a.pdq_dihedral) {
        (Some(p), _) if p.quality < PDQ_QUALITY_THRESHOLD => Vec::new(),
        (Some(_), Some(all)) if options.dihedral => all.to_vec(),
        (Some(p), _) => vec![p.hash],
        (None, _) => Vec::new(),
    };
    let mut found = Vec::new();
    for value in &exact {
        found.extend(index.lookup(value)?);
    }
    if !pdq_needles.is_empty() {
        // One result per stored hash, with the needle (transform) nearest to it.
        let hits = index.search_pdq(&pdq_needles, options.pdq_radius, limit)?;
        found.extend(hits.into_iter().map(|(needle, mut m)| {
            m.hash = HashKind::Pdq;
            m.transform = Dihedral::from_index(needle).filter(|d| *d != Dihedral::Original);
            m
        }));
    }
    if options.robust && !pdq_needles.is_empty() {
        found.extend(robust_matches(a, index, options, limit)?);
    }
    if let Some(ih) = &a.imagehashes {
        found.extend(index.search_u64(HashKind::PHash, ih.phash.0, options.phash_radius, limit)?);
    }
    found.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    found.dedup();
    if options.robust {
        keep_first_per_entry(&mut found);
    }
    Ok(found)
}

/// The same reference entry found by plain and robust PDQ matching, or by several robust
/// pairs: the plain match is kept if there is one, else the nearest robust one.
fn keep_first_per_entry(matches: &mut Vec<Match>) {
    let key = |m: &Match| {
        (
            m.reference,
            m.set.clone(),
            m.disposition,
            m.source_id.clone(),
            m.category.clone(),
            m.note.clone(),
            m.series.clone(),
        )
    };
    let plain: std::collections::HashSet<_> =
        matches.iter().filter(|m| m.hash == HashKind::Pdq && m.robust.is_none()).map(key).collect();
    let mut seen = std::collections::HashSet::new();
    // Sorted: nearest first within the same reference and hash kind.
    matches.retain(|m| m.robust.is_none() || (!plain.contains(&key(m)) && seen.insert(key(m))));
}

/// Robust PDQ matches of one image: its candidates against the stored hashes, and the
/// image and its candidates against stored windows, within `robust_radius`.
fn robust_matches(
    a: &crate::analyze::Analysis,
    index: &dyn ReferenceIndex,
    options: &ScanOptions,
    limit: usize,
) -> Result<Vec<Match>, RefsetError> {
    use crate::report::RobustDetail;
    let Some(plain) = &a.pdq else { return Ok(Vec::new()) };
    let transform_of = |c: &crate::robust::Candidate| {
        c.steps.iter().find_map(|s| match s {
            crate::robust::Step::Dihedral { transform } => Some(*transform),
            _ => None,
        })
    };
    let mut out = Vec::new();
    let candidates: Vec<PdqHash> = a.robust.iter().map(|c| c.hash).collect();
    if !candidates.is_empty() {
        for (needle, mut m) in index.search_pdq(&candidates, options.robust_radius, limit)? {
            let c = &a.robust[needle];
            m.hash = HashKind::Pdq;
            m.transform = transform_of(c);
            m.robust = Some(RobustDetail { query: Some(c.describe()), window: None });
            out.push(m);
        }
    }
    // Needle 0: the image as stored; needle i: candidate i - 1.
    let mut needles = vec![plain.hash];
    needles.extend(&candidates);
    for (needle, window, mut m) in
        index.search_pdq_windows(&needles, options.robust_radius, limit)?
    {
        let c = needle.checked_sub(1).map(|i| &a.robust[i]);
        m.hash = HashKind::Pdq;
        m.transform = c.and_then(transform_of);
        m.robust = Some(RobustDetail { query: c.map(|c| c.describe()), window: Some(window) });
        out.push(m);
    }
    Ok(out)
}
