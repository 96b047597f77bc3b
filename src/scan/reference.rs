//! Loading reference sets for a scan.
//!
//! A hash-set source file (VICS JSON, NSRL, md5sum list, PDQ list...) can be given directly:
//! it is imported ([`crate::import`]) into an in-memory index, with the examiner's
//! disposition for every entry, so a first scan needs no separate build step.

use std::collections::HashMap;
use std::path::Path;

use thiserror::Error;

use super::{LoadedReference, ReferenceIndex};
use crate::import::{self, ImportError, ImportOptions};
use crate::refset::{Disposition, EntryMeta, HashKind, HashValue};
use crate::report::{Match, ReferenceProvenance};

/// Why a reference set could not be loaded.
#[derive(Debug, Error)]
pub enum LoadError {
    #[error("reference set {path}: {source}")]
    Import { path: String, source: Box<ImportError> },
}

/// An in-memory index of one imported source: exact values by kind, PDQ and 64-bit hashes
/// searched linearly (sources given on the command line are small; compile large ones to
/// `.mhset`).
pub struct MemoryIndex {
    set_name: String,
    disposition: Disposition,
    entries: Vec<EntryMeta>,
    exact: HashMap<(HashKind, Vec<u8>), Vec<u32>>,
    pdq: Vec<([u8; 32], u32)>,
    phash: Vec<(u64, u32)>,
}

impl MemoryIndex {
    fn to_match(&self, entry: u32, hash: HashKind, distance: Option<u32>) -> Match {
        let meta = &self.entries[entry as usize];
        Match {
            reference: 0,
            set: self.set_name.clone(),
            disposition: self.disposition,
            hash,
            distance,
            transform: None,
            category: meta.category.clone(),
            profile: meta.profile.clone(),
            victim_identified: meta.victim_identified,
            offender_identified: meta.offender_identified,
            series: meta.series.clone(),
            source_id: meta.source_id.clone(),
            note: meta.note.clone(),
        }
    }
}

impl ReferenceIndex for MemoryIndex {
    fn lookup(&self, value: &HashValue) -> Vec<Match> {
        let key = (value.kind(), value.to_bytes());
        self.exact
            .get(&key)
            .map(|ids| ids.iter().map(|&id| self.to_match(id, value.kind(), None)).collect())
            .unwrap_or_default()
    }

    fn search_pdq(&self, needles: &[[u8; 32]], radius: u32, limit: usize) -> Vec<(usize, Match)> {
        let mut hits = Vec::new();
        for (n, needle) in needles.iter().enumerate() {
            for (hash, id) in &self.pdq {
                let d: u32 = hash.iter().zip(needle).map(|(a, b)| (a ^ b).count_ones()).sum();
                if d <= radius {
                    hits.push((d, *id, n));
                }
            }
        }
        hits.sort_unstable();
        hits.truncate(limit);
        hits.into_iter().map(|(d, id, n)| (n, self.to_match(id, HashKind::Pdq, Some(d)))).collect()
    }

    fn search_64(&self, kind: HashKind, value: u64, radius: u32, limit: usize) -> Vec<Match> {
        if kind != HashKind::PHash {
            return Vec::new();
        }
        let mut hits: Vec<(u32, u32)> = self
            .phash
            .iter()
            .filter_map(|(h, id)| {
                let d = (h ^ value).count_ones();
                (d <= radius).then_some((d, *id))
            })
            .collect();
        hits.sort_unstable();
        hits.truncate(limit);
        hits.into_iter().map(|(d, id)| self.to_match(id, kind, Some(d))).collect()
    }
}

/// Imports a hash-set source file into memory; every entry gets `disposition`. The set is
/// named after the file name.
pub fn load_source(path: &Path, disposition: Disposition) -> Result<LoadedReference, LoadError> {
    let name = path.display().to_string();
    let set_name =
        path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| name.clone());
    let mut index = MemoryIndex {
        set_name: set_name.clone(),
        disposition,
        entries: Vec::new(),
        exact: HashMap::new(),
        pdq: Vec::new(),
        phash: Vec::new(),
    };
    let summary = import::import_path(path, None, &ImportOptions::default(), &mut |record| {
        let id = index.entries.len() as u32;
        for value in &record.hashes {
            match value {
                HashValue::Pdq { hash, .. } => index.pdq.push((*hash, id)),
                HashValue::PHash(v) => index.phash.push((*v, id)),
                other => index.exact.entry((other.kind(), other.to_bytes())).or_default().push(id),
            }
        }
        index.entries.push(record.meta);
        Ok(())
    })
    .map_err(|source| LoadError::Import { path: name.clone(), source: Box::new(source) })?;
    let source = summary.source_info(&name, disposition, &set_name);
    Ok(LoadedReference {
        provenance: ReferenceProvenance {
            path: name,
            sha256: source.sha256.clone(),
            kind: summary.format_label.clone(),
            disposition: Some(disposition),
            sources: vec![source],
        },
        index: Box::new(index),
    })
}
