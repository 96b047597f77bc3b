//! Sources of evidence: what the scan examines, as a stream of items.
//!
//! A source walks one evidence root (a folder today; disk images, archives and videos plug
//! in here) and yields one [`Item`] per entry it meets, in a deterministic order:
//!
//! * [`Item::Decided`]: an entry whose record is complete without reading content (a
//!   directory, an entry skipped with its reason, an error such as a failed `stat`);
//! * [`Item::Content`]: an entry with bytes to read: its record so far (location and
//!   metadata) and a [`Content`] that opens the bytes on a hashing thread.
//!
//! A source never hashes or matches, and the scan never parses a file system: the seam is
//! the item. [`crate::scan`] takes items from any source through one pipeline (read once,
//! digest, decode, match, record, write).
//!
//! Sources: [`folder`] (a directory tree or single file on a mounted file system) and
//! [`disk`] (a root that is a regular file whose content is a disk image: [`raw`] or split
//! raw containers, [`volume`] tables, [`fat`], [`exfat`] and [`ntfs`] file systems behind
//! the [`fs`] seam). Content of either that is a ZIP archive is expanded by the scan after it is
//! hashed ([`archive`]: members as items).

pub mod archive;
pub mod carve;
pub mod disk;
pub mod ewf;
pub mod exfat;
pub mod ext;
pub mod fat;
pub mod folder;
pub mod fs;
pub mod glob;
pub mod image;
pub mod ntfs;
pub mod raw;
pub mod reopen;
mod sys;
pub mod verify;
pub mod volume;

use std::io::Read;
use std::path::{Path, PathBuf};

#[cfg(doc)]
use crate::report::ReasonCode;
use crate::report::{EntryRecord, Reason};

/// One entry met by a source.
pub enum Item {
    /// Fully decided without reading content (directory, skipped entry, error).
    Decided(EntryRecord),
    /// Bytes to read, hash and match.
    Content(ContentItem),
}

/// An entry with content: its record so far and how to open the bytes.
pub struct ContentItem {
    /// Location and metadata; the pipeline adds digests, hashes, matches and the verdict.
    pub record: EntryRecord,
    /// The length the source expects to read, if it knows it (for progress and precounts).
    pub expected_len: Option<u64>,
    /// Opens the bytes (called once, on a hashing thread).
    pub content: Box<dyn Content>,
}

/// How to open an item's bytes.
pub trait Content: Send {
    /// Opens the content for one sequential read. An error becomes the entry's `error`
    /// record with this reason.
    fn open(self: Box<Self>) -> Result<OpenedContent, Reason>;
}

/// An item's content, opened.
pub struct OpenedContent {
    /// The bytes, read once from start to end.
    pub reader: Box<dyn ContentReader>,
    /// Whether reading leaves the evidence's access times alone (`O_NOATIME`, a read-only
    /// mount, an image file opened without updating times); `None` where it does not apply.
    pub noatime: Option<bool>,
}

/// The bytes of an item, and a check that they stayed the same while read.
pub trait ContentReader: Read + Send {
    /// Called after the reader returned end of file: why the bytes read may not be the
    /// entry's content (it changed while being read), or `None`. `bytes_read` is the total.
    fn changed_while_read(&mut self, bytes_read: u64) -> Option<Reason> {
        let _ = bytes_read;
        None
    }

    /// Called after a read failed: the typed reason, when the reader knows better than
    /// "read failed" (an archive member's CRC mismatch, damage, bomb limit).
    fn failure(&mut self) -> Option<Reason> {
        None
    }

    /// Positioned reads of the same bytes, when the source has them cheaply (a file, runs
    /// on a disk image): used to read archives found by content.
    fn random_access(&self) -> Option<archive::ArchiveBytes> {
        None
    }

    /// Called after the end of file: the content as an archive to expand, when it is one
    /// (see [`archive::expand`]); `head` holds its first bytes. `costly`: false when the
    /// archive is only to be reported (beyond the depth limit), so nothing large need be
    /// read. The default reads through [`ContentReader::random_access`].
    ///
    /// # Errors
    /// Why an archive found cannot be read (its `ARCHIVE!/` record says so).
    fn archive_source(
        &mut self,
        head: &[u8],
        limits: &archive::ArchiveLimits,
        costly: bool,
    ) -> Result<Option<archive::ArchiveSource>, Reason> {
        let _ = (limits, costly);
        Ok(self.random_access().and_then(|data| archive::source_if_zip(data, head)))
    }
}

/// How sources walk the evidence.
#[derive(Debug, Clone, Default)]
pub struct SourceOptions {
    /// Follow symbolic links (inside the evidence root only).
    pub follow_symlinks: bool,
    /// Read symbolic-link targets even where that may update the link's access time.
    pub link_targets: bool,
    /// Do not enter directories on another device than their evidence root.
    pub one_file_system: bool,
    /// Regular files larger than this are skipped (recorded, not read).
    pub max_file_size: Option<u64>,
    /// Read entries even where `O_NOATIME` is refused (you do not own them) on a mount
    /// that records access times: their access times then change, and their records say
    /// `noatime: false`. Off: such entries are not read (an error with their reason).
    pub allow_atime_changes: bool,
    /// Do not read roots that are disk images through their volumes and file systems:
    /// hash them as one file like any other (see [`disk`]).
    pub no_disk_images: bool,
    /// Do not read ZIP archives' members (archives are hashed as files only).
    pub no_archives: bool,
    /// Do not carve pictures from disk images' free and unpartitioned space (see
    /// [`carve`]).
    pub no_carve: bool,
    /// When set, sources stop early (carving checks it between the windows it scans, which
    /// may hold no item for a long while).
    pub cancel: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    /// Limits on reading archives' members (see [`archive`]).
    pub archive_limits: archive::ArchiveLimits,
    /// Entries to skip (see [`glob`]).
    pub exclude: glob::ExcludeSet,
    /// Test hooks (simulated failures).
    #[doc(hidden)]
    pub hooks: folder::TestHooks,
}

/// The source for one evidence root: a regular file whose content is a disk image (see
/// [`disk`]; not with [`SourceOptions::no_disk_images`]) is read through its volumes and
/// file systems; everything else is a folder source (a directory tree, or a single file).
pub fn open_root<'a>(
    root: &Path,
    options: &'a SourceOptions,
) -> Box<dyn Iterator<Item = Item> + 'a> {
    if let Some(image) = disk::detect(root, options) {
        return disk::items(root, image, options);
    }
    Box::new(folder::FolderSource::new(root.to_path_buf(), options))
}

/// An evidence root as the scan takes it.
struct PlannedRoot {
    /// As given.
    path: PathBuf,
    /// The root that covers it (the same place, or a directory above it), if any: it is
    /// then reported there and not walked again.
    covered_by: Option<(PathBuf, bool)>,
}

/// The roots in sorted order, each with the root that covers it, if any. Roots are
/// compared with links and `..` resolved; of roots naming the same place the first is
/// walked, and a root inside another is reported there (unless it is on another file
/// system and `--one-file-system` keeps the walk out of it).
fn plan_roots(roots: &[PathBuf], one_file_system: bool) -> Vec<PlannedRoot> {
    let mut sorted = roots.to_vec();
    sorted.sort();
    sorted.dedup();
    let resolved: Vec<Option<(PathBuf, u64)>> = sorted
        .iter()
        .map(|r| {
            let canonical = r.canonicalize().ok()?;
            let dev = device_of(&canonical)?;
            Some((canonical, dev))
        })
        .collect();
    let mut plan = Vec::with_capacity(sorted.len());
    for (i, path) in sorted.iter().enumerate() {
        let covered_by = resolved[i].as_ref().and_then(|(mine, my_dev)| {
            resolved
                .iter()
                .enumerate()
                .filter_map(|(j, other)| {
                    let (theirs, their_dev) = other.as_ref()?;
                    let same = theirs == mine;
                    let covers = (same && j < i)
                        || (!same
                            && mine.starts_with(theirs)
                            && !(one_file_system && my_dev != their_dev));
                    covers.then_some((theirs.components().count(), j, same))
                })
                .min()
                .map(|(_, j, same)| (sorted[j].clone(), same))
        });
        plan.push(PlannedRoot { path: path.clone(), covered_by });
    }
    plan
}

#[cfg(unix)]
fn device_of(path: &Path) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| m.dev())
}

#[cfg(not(unix))]
fn device_of(_path: &Path) -> Option<u64> {
    Some(0)
}

/// The items of every root: the roots that are disk images first (detected by content, see
/// [`disk::detect`]), then the others, each group in sorted order (as [`Path`]'s `Ord`,
/// exact duplicates once), each through its source; a root covered by another (the same
/// place, or inside it) is one skipped record with [`ReasonCode::Duplicate`] naming the
/// root its entries are reported under.
///
/// Disk images come first so that report formats which nest entries in their image
/// (DFXML's `diskimageobject` elements precede top-level `fileobject`s) can be streamed.
pub fn open_roots<'a>(
    roots: &[PathBuf],
    options: &'a SourceOptions,
) -> impl Iterator<Item = Item> + 'a {
    let planned: Vec<(PlannedRoot, Option<disk::Detected>)> =
        plan_roots(roots, options.one_file_system)
            .into_iter()
            .map(|root| {
                let detected = match root.covered_by {
                    None => disk::detect(&root.path, options),
                    Some(_) => None,
                };
                (root, detected)
            })
            .collect();
    let (images, others): (Vec<_>, Vec<_>) = planned.into_iter().partition(|(_, d)| d.is_some());
    images.into_iter().chain(others).flat_map(
        move |(root, detected)| -> Box<dyn Iterator<Item = Item> + 'a> {
            match (root.covered_by, detected) {
                (Some((by, same)), _) => {
                    Box::new(std::iter::once(folder::covered_root(&root.path, &by, same)))
                }
                (None, Some(image)) => disk::items(&root.path, image, options),
                (None, None) => Box::new(folder::FolderSource::new(root.path, options)),
            }
        },
    )
}
