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

/// Why a reference set could not be loaded.
#[derive(Debug, Error)]
pub enum LoadError {
    #[error("reference set {path}: {source}")]
    Import { path: String, source: Box<ImportError> },
    #[error("reference set {path}: {source}")]
    Build { path: String, source: Box<BuildError> },
    #[error("reference set {path}: {source}")]
    Open { path: String, source: Box<RefsetError> },
    #[error("cannot read reference set {path}: {source}; check the path and permissions")]
    Io { path: String, source: std::io::Error },
}

fn to_match(m: &Membership<'_>, hash: HashKind, distance: Option<u32>) -> Match {
    Match {
        reference: 0,
        set: m.set.name.clone(),
        disposition: m.set.disposition,
        hash,
        distance,
        transform: None,
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

impl<B: AsRef<[u8]> + Send + Sync> ReferenceIndex for RefSet<B> {
    fn lookup(&self, value: &HashValue) -> Result<Vec<Match>, RefsetError> {
        let found = RefSet::lookup(self, value)?;
        Ok(found.iter().map(|m| to_match(&m.membership, value.kind(), None)).collect())
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

/// Imports a hash-set source file into an in-memory reference set; every entry gets
/// `disposition` and the set is named after the file. Large sources spill sorted runs to
/// `temp_dir` (default: the system temporary directory), never next to the evidence.
pub fn load_source(
    path: &Path,
    disposition: Disposition,
    temp_dir: Option<PathBuf>,
) -> Result<LoadedReference, LoadError> {
    let name = path.display().to_string();
    let build = |source| LoadError::Build { path: name.clone(), source: Box::new(source) };
    // A fixed build time: the in-memory set is the same for the same source.
    let options = BuildOptions { temp_dir, build_time: Some(0), ..BuildOptions::default() };
    let mut builder = Builder::new(options).map_err(build)?;
    let summary =
        import::import_into(&mut builder, path, None, disposition, None, &ImportOptions::default())
            .map_err(|source| LoadError::Import { path: name.clone(), source: Box::new(source) })?;
    let (bytes, _report) = builder.finish_to_vec().map_err(build)?;
    let set = RefSet::from_bytes(bytes)
        .map_err(|source| LoadError::Open { path: name.clone(), source: Box::new(source) })?;
    Ok(LoadedReference {
        provenance: ReferenceProvenance {
            path: name,
            sha256: crate::hex::encode(&summary.sha256),
            kind: summary.format_label.clone(),
            disposition: Some(disposition),
            sources: set.provenance().sources.clone(),
        },
        index: Box::new(set),
    })
}
