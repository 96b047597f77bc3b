//! Loading reference sets for a scan, and the scan's view of a [`RefSet`].
//!
//! * A compiled `.mhset` is read into private memory ([`open_mhset`]), or mapped by explicit
//!   opt-in ([`open_mhset_mapped`], `unsafe`: the file must not change while it is open).
//! * A hash-set source file (VICS JSON, NSRL, md5sum list, PDQ list...) can be given
//!   directly ([`load_source`]): it is imported ([`crate::import`]) into a `.mhset` built in
//!   memory (`Builder::finish_to_vec`, `RefSet::from_bytes`), with the examiner's disposition
//!   for every entry, so a first scan needs no separate build step.

use std::path::{Path, PathBuf};

use thiserror::Error;

use super::{LoadedReference, ReferenceIndex};
use crate::import::{self, ImportError, ImportOptions};
use crate::perceptual::pdq::PdqHash;
use crate::refset::build::{BuildError, BuildOptions, Builder};
use crate::refset::read::{EntryId, MappedRefSet, Membership, RefSet, RefsetError};
use crate::refset::{Disposition, HashKind, HashValue};
use crate::report::{Match, ReferenceProvenance};
use sha2::{Digest, Sha256};

/// Why a reference set could not be loaded. Each variant names the file as given; the
/// boxed source error says what is wrong and what to do.
#[derive(Debug, Error)]
pub enum LoadError {
    /// The source file could not be imported (unknown format, unreadable, malformed).
    #[error("reference set {path}: {source}")]
    Import {
        /// The reference set path as given.
        path: String,
        /// The importer's error.
        source: Box<ImportError>,
    },
    /// The in-memory set could not be built (temporary directory not writable, too large).
    #[error("reference set {path}: {source}")]
    Build {
        /// The reference set path as given.
        path: String,
        /// The builder's error.
        source: Box<BuildError>,
    },
    /// The `.mhset` is not a valid set: damaged, truncated, or from a newer mediahash.
    #[error("reference set {path}: {source}")]
    Open {
        /// The reference set path as given.
        path: String,
        /// The reader's error.
        source: Box<RefsetError>,
    },
    /// The `.mhset` opened but failed the full check ([`RefSet::verify`]: trailer checksum
    /// and structure) that [`open_mhset_verified`] runs before a scan uses a set.
    #[error(
        "reference set {path} is damaged: {source}; copy it again from where it came from or \
         rebuild it (`mh refset verify` checks a copy); to scan with it anyway, skip the check \
         (mh scan: --no-verify)"
    )]
    Damaged {
        /// The reference set path as given.
        path: String,
        /// What the check found.
        source: Box<RefsetError>,
    },
    /// A sharded set's manifest or one of its shards could not be opened or failed its
    /// checks.
    #[error("sharded reference set {path}: {source}")]
    Shards {
        /// The manifest path as given.
        path: String,
        /// What failed.
        source: Box<crate::refset::shard::ShardError>,
    },
    /// The file could not be read to compute its SHA-256 for the report header.
    #[error("cannot read reference set {path}: {source}; check the path and permissions")]
    Io {
        /// The reference set path as given.
        path: String,
        /// The operating system's error.
        source: std::io::Error,
    },
}

fn to_match(m: &Membership<'_>, hash: HashKind, distance: Option<u32>) -> Match {
    Match {
        reference: 0,
        set: m.set.name.clone(),
        disposition: m.set.disposition,
        hash,
        distance,
        transform: None,
        robust: None,
        category: m.meta.category.map(str::to_owned),
        profile: m.meta.profile.map(str::to_owned),
        victim_identified: m.meta.victim_identified,
        offender_identified: m.meta.offender_identified,
        series: m.meta.series.map(str::to_owned),
        source_id: m.meta.source_id.map(str::to_owned),
        note: m.meta.note.map(str::to_owned),
    }
}

fn memberships<B: AsRef<[u8]>>(
    set: &RefSet<B>,
    entry: EntryId,
    hash: HashKind,
    distance: Option<u32>,
) -> Result<Vec<Match>, RefsetError> {
    let members = set.memberships(entry)?;
    Ok(members.iter().map(|m| to_match(m, hash, distance)).collect())
}

/// The set's PDQ hashes with an alert membership, in stored order, each with its first
/// alert set by name.
fn alert_pdq_of<B: AsRef<[u8]>>(set: &RefSet<B>) -> Result<super::AlertPdqHashes, RefsetError> {
    let mut out = Vec::new();
    for index in 0..set.count(HashKind::Pdq) {
        let Some((hash, hit)) = set.pdq_hit_at(index) else { break };
        let alert = set
            .memberships(hit.entry)?
            .iter()
            .filter(|m| m.set.disposition == Disposition::Alert)
            .map(|m| m.set.name.clone())
            .min();
        if let Some(name) = alert {
            out.push((hash, name));
        }
    }
    Ok(out)
}

impl<B: AsRef<[u8]> + Send + Sync> ReferenceIndex for RefSet<B> {
    fn lookup(&self, value: &HashValue) -> Result<Vec<Match>, RefsetError> {
        let found = RefSet::lookup(self, value)?;
        Ok(found.iter().map(|m| to_match(&m.membership, value.kind(), None)).collect())
    }

    fn alert_pdq_hashes(&self) -> Result<Option<super::AlertPdqHashes>, RefsetError> {
        alert_pdq_of(self).map(Some)
    }

    fn search_pdq(
        &self,
        needles: &[PdqHash],
        radius: u32,
        limit: usize,
    ) -> Result<Vec<(usize, Match)>, RefsetError> {
        let needles: Vec<[u8; 32]> = needles.iter().map(|h| h.0).collect();
        let mut out = Vec::new();
        // Sorted by (distance, index, needle): the nearest come first.
        for hit in self.search_pdq_needles(&needles, radius).into_iter() {
            if out.len() >= limit {
                break;
            }
            for m in memberships(self, hit.entry, HashKind::Pdq, Some(hit.distance))? {
                out.push((hit.needle, m));
            }
        }
        Ok(out)
    }

    fn match_video(
        &self,
        video: &crate::video::VideoHashes,
        options: &crate::perceptual::vpdq::VpdqMatchOptions,
    ) -> Result<
        (Vec<crate::video::matching::VideoMatch>, Vec<crate::video::matching::FrameMatch>),
        RefsetError,
    > {
        crate::video::matching::match_video(self, video, options)
    }

    fn search_pdq_windows(
        &self,
        needles: &[PdqHash],
        radius: u32,
        limit: usize,
    ) -> Result<Vec<(usize, crate::robust::Window, Match)>, RefsetError> {
        let needles: Vec<[u8; 32]> = needles.iter().map(|h| h.0).collect();
        let mut out = Vec::new();
        for hit in RefSet::search_pdq_windows(self, &needles, radius).into_iter().take(limit) {
            for m in memberships(self, hit.entry, HashKind::Pdq, Some(hit.distance))? {
                out.push((hit.needle, hit.window, m));
            }
        }
        Ok(out)
    }

    fn search_u64(
        &self,
        kind: HashKind,
        value: u64,
        radius: u32,
        limit: usize,
    ) -> Result<Vec<Match>, RefsetError> {
        let mut out = Vec::new();
        for hit in RefSet::search_u64(self, kind, value, radius, &[])? {
            if out.len() >= limit {
                break;
            }
            out.extend(memberships(self, hit.entry, kind, Some(hit.distance))?);
        }
        Ok(out)
    }
}

/// Sharded sets (issue #17): an exact value is looked up in the one shard its prefix routes
/// to; radius searches visit every shard and merge the hits nearest first, in the order one
/// set gives them (shards hold consecutive value ranges, so (distance, shard, index) is the
/// one set's (distance, index)), with the same per-file limit.
impl ReferenceIndex for crate::refset::shard::ShardedSet {
    fn lookup(&self, value: &HashValue) -> Result<Vec<Match>, RefsetError> {
        ReferenceIndex::lookup(&self.shards()[self.route(value)], value)
    }

    fn alert_pdq_hashes(&self) -> Result<Option<super::AlertPdqHashes>, RefsetError> {
        let mut all = Vec::new();
        for shard in self.shards() {
            all.extend(alert_pdq_of(shard)?);
        }
        Ok(Some(all))
    }

    fn search_pdq(
        &self,
        needles: &[PdqHash],
        radius: u32,
        limit: usize,
    ) -> Result<Vec<(usize, Match)>, RefsetError> {
        let needles: Vec<[u8; 32]> = needles.iter().map(|h| h.0).collect();
        let mut hits = Vec::new();
        for (s, shard) in self.shards().iter().enumerate() {
            for hit in shard.search_pdq_needles(&needles, radius) {
                hits.push((hit.distance, s, hit.index, hit.needle, hit.entry));
            }
        }
        hits.sort_unstable();
        let mut out = Vec::new();
        for (distance, s, _, needle, entry) in hits {
            if out.len() >= limit {
                break;
            }
            for m in memberships(&self.shards()[s], entry, HashKind::Pdq, Some(distance))? {
                out.push((needle, m));
            }
        }
        Ok(out)
    }

    fn search_u64(
        &self,
        kind: HashKind,
        value: u64,
        radius: u32,
        limit: usize,
    ) -> Result<Vec<Match>, RefsetError> {
        let mut hits = Vec::new();
        for (s, shard) in self.shards().iter().enumerate() {
            for hit in RefSet::search_u64(shard, kind, value, radius, &[])? {
                hits.push((hit.distance, s, hit.index, hit.entry));
            }
        }
        hits.sort_unstable();
        let mut out = Vec::new();
        for (distance, s, _, entry) in hits {
            if out.len() >= limit {
                break;
            }
            out.extend(memberships(&self.shards()[s], entry, kind, Some(distance))?);
        }
        Ok(out)
    }
}

/// Reads a compiled `.mhset` reference set into private memory (checking its structure; run
/// `mh refset verify` for the full checksum): safe whatever happens to the file meanwhile
/// (see [`RefSet::open`]). The report header's SHA-256 is of the bytes the scan uses.
pub fn open_mhset(path: &Path) -> Result<LoadedReference, LoadError> {
    loaded(path, RefSet::open(path))
}

/// Maps a compiled `.mhset` reference set instead of copying it (for sets too large to
/// copy; see [`RefSet::open_mapped`]). Computing the report's SHA-256 reads every page once.
///
/// # Safety
///
/// As [`RefSet::open_mapped`]: the file must not be truncated or modified while the returned
/// reference (and any scan using it) lives.
pub unsafe fn open_mhset_mapped(path: &Path) -> Result<LoadedReference, LoadError> {
    // SAFETY: the caller takes on `open_mapped`'s contract (documented above).
    loaded(path, unsafe { RefSet::open_mapped(path) })
}

/// As [`open_mhset`], then the full check a scan should make before trusting a set
/// ([`RefSet::verify`]: the trailer's BLAKE3 over the whole file and every section's
/// structure). Its cost is one more sequential pass over the bytes already in memory.
pub fn open_mhset_verified(path: &Path) -> Result<LoadedReference, LoadError> {
    verified(path, RefSet::open(path))
}

/// As [`open_mhset_mapped`], then the full check of [`open_mhset_verified`] (which reads
/// every page of the mapping once).
///
/// # Safety
///
/// As [`RefSet::open_mapped`]: the file must not be truncated or modified while the returned
/// reference (and any scan using it) lives.
pub unsafe fn open_mhset_mapped_verified(path: &Path) -> Result<LoadedReference, LoadError> {
    // SAFETY: the caller takes on `open_mapped`'s contract (documented above).
    verified(path, unsafe { RefSet::open_mapped(path) })
}

fn verified(
    path: &Path,
    opened: Result<MappedRefSet, RefsetError>,
) -> Result<LoadedReference, LoadError> {
    let name = path.display().to_string();
    let set = opened
        .map_err(|source| LoadError::Open { path: name.clone(), source: Box::new(source) })?;
    set.verify().map_err(|source| LoadError::Damaged { path: name, source: Box::new(source) })?;
    loaded(path, Ok(set))
}

fn loaded(
    path: &Path,
    opened: Result<MappedRefSet, RefsetError>,
) -> Result<LoadedReference, LoadError> {
    let name = path.display().to_string();
    let set = opened
        .map_err(|source| LoadError::Open { path: name.clone(), source: Box::new(source) })?;
    let sha256 = crate::hex::encode(&Sha256::digest(set.as_bytes()));
    Ok(LoadedReference {
        provenance: ReferenceProvenance {
            path: name,
            sha256,
            kind: "mhset".to_string(),
            disposition: None,
            sources: set.provenance().sources.clone(),
        },
        index: Box::new(set),
    })
}

/// Whether `path` is a shard manifest (`mh refset shard`'s JSON) rather than a `.mhset`:
/// a regular file whose first non-blank byte is `{` (a `.mhset` starts with its binary
/// magic).
pub fn is_shard_manifest(path: &Path) -> bool {
    use std::io::Read;
    // Only a regular file is opened: opening a FIFO would block, a device is never a set
    // (the `.mhset` open that follows refuses both by name).
    if !std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
        return false;
    }
    let mut head = [0u8; 64];
    let n = std::fs::File::open(path).and_then(|mut f| f.read(&mut head)).unwrap_or(0);
    head[..n].iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}

/// Opens a sharded set through its manifest ([`crate::refset::shard::ShardedSet`]): each
/// shard read into memory, and with `verify` compared with the SHA-256 the manifest lists
/// and checked in full. Exact lookups go to the one shard a value routes to, radius searches
/// to all; answers equal the unsharded set's. The report header cites the manifest, with the
/// SHA-256 of the manifest's bytes (which list every shard's SHA-256).
pub fn open_sharded(path: &Path, verify: bool) -> Result<LoadedReference, LoadError> {
    sharded(path, crate::refset::shard::ShardedSet::open(path, verify))
}

/// As [`open_sharded`], every shard mapped instead of copied (for sets larger than memory).
///
/// # Safety
///
/// As [`RefSet::open_mapped`], for every shard file: none may be truncated or modified while
/// the returned reference (and any scan using it) lives.
pub unsafe fn open_sharded_mapped(path: &Path, verify: bool) -> Result<LoadedReference, LoadError> {
    // SAFETY: the caller takes on `open_mapped`'s contract for every shard (above).
    sharded(path, unsafe { crate::refset::shard::ShardedSet::open_mapped(path, verify) })
}

fn sharded(
    path: &Path,
    opened: Result<crate::refset::shard::ShardedSet, crate::refset::shard::ShardError>,
) -> Result<LoadedReference, LoadError> {
    let name = path.display().to_string();
    let set = opened
        .map_err(|source| LoadError::Shards { path: name.clone(), source: Box::new(source) })?;
    let manifest =
        std::fs::read(path).map_err(|source| LoadError::Io { path: name.clone(), source })?;
    let sources = set.shards().first().map(|s| s.provenance().sources.clone()).unwrap_or_default();
    Ok(LoadedReference {
        provenance: ReferenceProvenance {
            path: name,
            sha256: crate::hex::encode(&Sha256::digest(&manifest)),
            kind: "mhset-shards".to_string(),
            disposition: None,
            sources,
        },
        index: Box::new(set),
    })
}

/// Imports a hash-set source file into an in-memory reference set; every entry gets
/// `disposition` and the set is named after the file. Large sources spill sorted runs to
/// `temp_dir` (default: the system temporary directory), never next to the evidence.
///
/// The format is detected from the content ([`crate::import::detect_source_format`]). The same
/// source always gives the same set (the build time is fixed). Bad lines are counted in
/// the provenance (`sources[].bad_records`), not fatal: check them before relying on the set.
///
/// ```
/// use mediahash::refset::{Disposition, HashValue};
/// use mediahash::scan::reference::load_source;
///
/// let dir = tempfile::tempdir()?;
/// let list = dir.path().join("known.md5");
/// // GNU md5sum output: the MD5 of "abc", two spaces, a file name.
/// std::fs::write(&list, "900150983cd24fb0d6963f7d28e17f72  abc.txt\n")?;
///
/// let loaded = load_source(&list, Disposition::Alert, None)?;
/// assert_eq!(loaded.provenance.kind, "md5sum");
/// assert_eq!(loaded.provenance.disposition, Some(Disposition::Alert));
///
/// let md5 = mediahash::digest::digest_bytes(b"abc", Default::default()).md5;
/// let matches = loaded.index.lookup(&HashValue::Md5(md5))?;
/// assert_eq!(matches.len(), 1);
/// assert_eq!(matches[0].disposition, Disposition::Alert);
/// assert_eq!(matches[0].set, "known.md5"); // named after the file
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`LoadError::Import`] when the file cannot be read or its format is not recognised,
/// [`LoadError::Build`] when the temporary directory cannot be written,
/// [`LoadError::Open`] only on a bug (the built set fails its own checks).
pub fn load_source(
    path: &Path,
    disposition: Disposition,
    temp_dir: Option<PathBuf>,
) -> Result<LoadedReference, LoadError> {
    load_into_memory(path, disposition, temp_dir, |builder| {
        let summary =
            import::import_into(builder, path, None, disposition, None, &ImportOptions::default())?;
        Ok((crate::hex::encode(&summary.sha256), summary.format_label))
    })
}

/// Imports vPDQ hash lists (one file per video in the reference's text format, or a folder
/// of them: [`import::vpdq::import_vpdq_lists`]) into an in-memory reference set, as
/// [`load_source`] does for hash lists; every video gets `disposition`. Files that are not
/// lists are counted in the provenance (`sources[].bad_records`).
///
/// # Errors
/// As [`load_source`].
pub fn load_vpdq_lists(
    path: &Path,
    disposition: Disposition,
    temp_dir: Option<PathBuf>,
) -> Result<LoadedReference, LoadError> {
    load_into_memory(path, disposition, temp_dir, |builder| {
        import::vpdq::import_vpdq_lists(builder, path, disposition, None)?;
        Ok((String::new(), "vpdq-list".to_string()))
    })
}

/// Builds an in-memory set from what `import` adds; `import` returns the source's SHA-256
/// (hex; empty: take the one the builder recorded) and its format label.
fn load_into_memory(
    path: &Path,
    disposition: Disposition,
    temp_dir: Option<PathBuf>,
    import: impl FnOnce(&mut Builder) -> Result<(String, String), ImportError>,
) -> Result<LoadedReference, LoadError> {
    let name = path.display().to_string();
    let build = |source| LoadError::Build { path: name.clone(), source: Box::new(source) };
    // A fixed build time: the in-memory set is the same for the same source.
    let options = BuildOptions { temp_dir, build_time: Some(0), ..BuildOptions::default() };
    let mut builder = Builder::new(options).map_err(build)?;
    let (sha256, kind) = import(&mut builder)
        .map_err(|source| LoadError::Import { path: name.clone(), source: Box::new(source) })?;
    let (bytes, _report) = builder.finish_to_vec().map_err(build)?;
    let set = RefSet::from_bytes(bytes)
        .map_err(|source| LoadError::Open { path: name.clone(), source: Box::new(source) })?;
    let sources = set.provenance().sources.clone();
    let sha256 = if sha256.is_empty() {
        sources.first().map(|s| s.sha256.clone()).unwrap_or_default()
    } else {
        sha256
    };
    Ok(LoadedReference {
        provenance: ReferenceProvenance {
            path: name,
            sha256,
            kind,
            disposition: Some(disposition),
            sources,
        },
        index: Box::new(set),
    })
}
