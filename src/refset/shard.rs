//! Sharding a reference set too large for one machine's memory (issue #17).
//!
//! [`shard`] splits a set into N `.mhset` shards by **value**: every stored value (digest or
//! hash) goes, with each of its memberships (set, source, metadata), to the shard
//! [`shard_of`] names from the value's first four bytes. So
//!
//! * an **exact lookup** (MD5, SHA-1, SHA-256, PhotoDNA, exact PDQ) reads one shard: the
//!   one [`shard_of`] gives for the queried value, and finds there every membership the
//!   whole set holds for it;
//! * a **radius search** (PDQ, pHash) has no prefix to route by (a near hash may differ in
//!   any bit), so it goes to every shard, each searching its 1/N of the hashes, and the
//!   results are merged by distance: [`ShardedSet`] does both, and the scan's
//!   `ReferenceIndex` is implemented for it, so `scan` runs unchanged over sharded sets.
//!
//! Digests are uniform, so shards are equal to within sampling noise whatever N. The routing
//! needs nothing but N (in the manifest), so a set of 10^9 values in 64 shards works with the
//! same code as 10^8 in 16: each shard is an ordinary set, built by the ordinary builder with
//! `1/N` of the memory budget, and a lookup costs one binary search in one shard.
//!
//! Records are split by value: a record holding an MD5 and a SHA-1 becomes one record in
//! each shard its values land in (its metadata copied), so shards' record counts add up to
//! more than the original's. Records are added to each shard in the original record order,
//! so every lookup returns the same memberships in the same order as the one set. Robust windows and
//! video hashes are not sharded ([`ShardError::Unsupported`]).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::build::{BuildError, BuildOptions, BuildReport, Builder};
use super::read::{MappedRefSet, RefSet, RefsetError};
use super::search::PdqMatch;
use super::{HashKind, HashValue, Record};

/// Every kind, in section order.
const KINDS: [HashKind; 8] = [
    HashKind::Md5,
    HashKind::Sha1,
    HashKind::Sha256,
    HashKind::Pdq,
    HashKind::PHash,
    HashKind::DHash,
    HashKind::AHash,
    HashKind::PhotoDna,
];

/// The largest shard count (file handles and builders open at once).
pub const MAX_SHARDS: u32 = 4096;

/// Why a set could not be sharded or a sharded set opened.
#[derive(Debug, Error)]
pub enum ShardError {
    /// The shard count is 0 or above [`MAX_SHARDS`].
    #[error("shard count {shards} is out of range: give 1 to {max}")]
    ShardCount {
        /// The count given.
        shards: u32,
        /// [`MAX_SHARDS`].
        max: u32,
    },
    /// The set holds sections sharding does not split yet.
    #[error(
        "the set holds {what}, which `refset shard` does not split yet: build a separate set \
         without them"
    )]
    Unsupported {
        /// Robust windows or video hashes.
        what: &'static str,
    },
    /// The source set is damaged.
    #[error(transparent)]
    Read(#[from] RefsetError),
    /// A shard could not be built.
    #[error(transparent)]
    Build(#[from] BuildError),
    /// The manifest could not be written or read.
    #[error("shard manifest {path}: {message}; rebuild the shards with `mh refset shard`")]
    Manifest {
        /// The manifest's path.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A shard does not belong to its manifest (replaced or damaged after sharding).
    #[error(
        "shard {path} has SHA-256 {actual} but the manifest lists {expected}: it was replaced \
         or damaged after sharding; shard the set again"
    )]
    ShardMismatch {
        /// The shard file.
        path: PathBuf,
        /// The manifest's SHA-256.
        expected: String,
        /// The file's.
        actual: String,
    },
}

/// The shard a value belongs to among `shards`: its first four bytes as a big-endian
/// number, scaled to `0..shards` (`(prefix * shards) >> 32`). Values are given in their
/// stored layout ([`HashValue::to_bytes`]: digests as bytes, 64-bit hashes big-endian).
pub fn shard_of(value: &[u8], shards: u32) -> u32 {
    let mut prefix = [0u8; 4];
    let n = value.len().min(4);
    prefix[..n].copy_from_slice(&value[..n]);
    ((u64::from(u32::from_be_bytes(prefix)) * u64::from(shards)) >> 32) as u32
}

/// The manifest written beside the shards (`<stem>.shards.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always `"mediahash-shards"`.
    pub format: String,
    /// The routing rule: `"prefix32"` ([`shard_of`]).
    pub routing: String,
    /// Number of shards.
    pub shards: u32,
    /// SHA-256 of the set that was split.
    pub source_sha256: String,
    /// The shard files (names relative to the manifest's folder), in shard order.
    pub files: Vec<ShardFile>,
}

/// One shard in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardFile {
    /// File name, beside the manifest.
    pub name: String,
    /// SHA-256 of the file.
    pub sha256: String,
    /// Values (all kinds) stored in it.
    pub values: u64,
}

/// What [`shard`] wrote.
#[derive(Debug)]
pub struct ShardReport {
    /// The manifest's path.
    pub manifest_path: PathBuf,
    /// The manifest.
    pub manifest: Manifest,
    /// Each shard's build report.
    pub builds: Vec<BuildReport>,
}

/// The value stored at `index` of `kind`'s section and its entry.
fn value_at<B: AsRef<[u8]>>(
    set: &RefSet<B>,
    kind: HashKind,
    index: usize,
) -> Option<(HashValue, super::read::EntryId)> {
    let ks = set.kind_sections(kind)?;
    let bytes = set.value_bytes(ks, kind, index);
    let entry = set.entry_at(ks, index);
    let u64_le = || u64::from_le_bytes(bytes.try_into().unwrap_or_default());
    let value = match kind {
        HashKind::Md5 => HashValue::Md5(bytes.try_into().ok()?),
        HashKind::Sha1 => HashValue::Sha1(bytes.try_into().ok()?),
        HashKind::Sha256 => HashValue::Sha256(bytes.try_into().ok()?),
        HashKind::Pdq => {
            HashValue::Pdq { hash: bytes.try_into().ok()?, quality: set.quality_at(ks, index) }
        }
        HashKind::PHash => HashValue::PHash(u64_le()),
        HashKind::DHash => HashValue::DHash(u64_le()),
        HashKind::AHash => HashValue::AHash(u64_le()),
        HashKind::PhotoDna => HashValue::PhotoDna(Box::new(bytes.try_into().ok()?)),
    };
    Some((value, entry))
}

/// Splits `set` into `shards` sets written as `<dir>/<stem>.shard-III-of-NNN.mhset`, with
/// the manifest `<dir>/<stem>.shards.json`. Each shard's builder gets `1/shards` of
/// `options.memory_budget_bytes`. Existing files are replaced only with `force`.
pub fn shard<B: AsRef<[u8]>>(
    set: &RefSet<B>,
    shards: u32,
    dir: &Path,
    stem: &str,
    options: &BuildOptions,
    force: bool,
) -> Result<ShardReport, ShardError> {
    if shards == 0 || shards > MAX_SHARDS {
        return Err(ShardError::ShardCount { shards, max: MAX_SHARDS });
    }
    if set.window_count() > 0 {
        return Err(ShardError::Unsupported { what: "robust windows (pictures)" });
    }
    if set.video_frame_count() > 0 {
        return Err(ShardError::Unsupported { what: "video hashes" });
    }
    let width = shards.to_string().len().max(2);
    let names: Vec<String> = (0..shards)
        .map(|i| format!("{stem}.shard-{i:0width$}-of-{shards:0width$}.mhset"))
        .collect();
    let manifest_path = dir.join(format!("{stem}.shards.json"));
    if !force {
        for path in names.iter().map(|n| dir.join(n)).chain([manifest_path.clone()]) {
            if path.exists() {
                return Err(ShardError::Manifest {
                    path,
                    message: "exists; pass --force to replace the shards".into(),
                });
            }
        }
    }
    let mut per_shard = options.clone();
    per_shard.memory_budget_bytes = (options.memory_budget_bytes / shards as usize).max(16 << 20);
    let mut builders = (0..shards)
        .map(|_| {
            let mut b = Builder::new(per_shard.clone())?;
            for source in &set.provenance().sources {
                b.add_source(source.clone())?;
            }
            Ok(b)
        })
        .collect::<Result<Vec<_>, BuildError>>()?;
    // Each shard's (record, kind, index) triples, then added record by record in the
    // original record order: the builder numbers records in insertion order and lists a
    // value's memberships in record order, so every lookup in a shard returns the
    // memberships in the order the one set returns them. (12 bytes per membership in memory:
    // 1.2 GB for 10^8 values in one record each.)
    let mut values = vec![0u64; shards as usize];
    let mut items: Vec<Vec<(u32, u8, u32)>> = vec![Vec::new(); shards as usize];
    for (k, kind) in KINDS.into_iter().enumerate() {
        for index in 0..set.count(kind) as usize {
            let Some((value, entry)) = value_at(set, kind, index) else { continue };
            let s = shard_of(&value.to_bytes(), shards) as usize;
            values[s] += 1;
            for record in set.entry_records(entry)? {
                items[s].push((record, k as u8, index as u32));
            }
        }
    }
    for (builder, mut items) in builders.iter_mut().zip(items) {
        items.sort_unstable();
        let mut i = 0;
        while i < items.len() {
            let record = items[i].0;
            let mut hashes = Vec::new();
            while i < items.len() && items[i].0 == record {
                let (_, k, index) = items[i];
                if let Some((value, _)) = value_at(set, KINDS[k as usize], index as usize) {
                    hashes.push(value);
                }
                i += 1;
            }
            let m = set.membership(record)?;
            let record = Record { hashes, meta: m.meta.to_owned_meta() };
            builder.add(super::build::SourceId(m.source_id), record)?;
        }
    }
    let mut builds = Vec::with_capacity(shards as usize);
    let mut files = Vec::with_capacity(shards as usize);
    for ((builder, name), count) in builders.into_iter().zip(&names).zip(values) {
        let path = dir.join(name);
        let report = builder.finish(&path)?;
        files.push(ShardFile { name: name.clone(), sha256: file_sha256(&path)?, values: count });
        builds.push(report);
    }
    let source_sha256 =
        crate::hex::encode(&crate::digest::digest_bytes(set.as_bytes(), Default::default()).sha256);
    let manifest = Manifest {
        format: "mediahash-shards".into(),
        routing: "prefix32".into(),
        shards,
        source_sha256,
        files,
    };
    let text = serde_json::to_string_pretty(&manifest).map_err(|e| ShardError::Manifest {
        path: manifest_path.clone(),
        message: e.to_string(),
    })?;
    std::fs::write(&manifest_path, text + "\n").map_err(|e| ShardError::Manifest {
        path: manifest_path.clone(),
        message: e.to_string(),
    })?;
    Ok(ShardReport { manifest_path, manifest, builds })
}

fn file_sha256(path: &Path) -> Result<String, ShardError> {
    let file = std::fs::File::open(path)
        .map_err(|e| ShardError::Manifest { path: path.to_path_buf(), message: e.to_string() })?;
    let (digests, _) = crate::digest::digest_reader(file, Default::default())
        .map_err(|e| ShardError::Manifest { path: path.to_path_buf(), message: e.to_string() })?;
    Ok(crate::hex::encode(&digests.sha256))
}

/// Sharded sets opened from their manifest: exact lookups go to one shard, radius searches
/// to all (merged by distance). `scan::ReferenceIndex` is implemented for it (in
/// `scan::reference`), so a scan uses it as one set.
pub struct ShardedSet {
    manifest: Manifest,
    shards: Vec<MappedRefSet>,
    /// The manifest's folder.
    dir: PathBuf,
    /// The unsharded PDQ index of each shard's first PDQ hash.
    pdq_starts: Vec<u64>,
}

/// Each shard's first unsharded PDQ index (the PDQ counts of the shards before it).
fn pdq_starts(shards: &[MappedRefSet]) -> Vec<u64> {
    let mut start = 0;
    shards
        .iter()
        .map(|s| {
            let here = start;
            start += s.count(HashKind::Pdq);
            here
        })
        .collect()
}

/// A shard's SHA-256 against its manifest line, then its full check.
fn check_shard(set: &MappedRefSet, path: &Path, file: &ShardFile) -> Result<(), ShardError> {
    let actual =
        crate::hex::encode(&crate::digest::digest_bytes(set.as_bytes(), Default::default()).sha256);
    if actual != file.sha256 {
        return Err(ShardError::ShardMismatch {
            path: path.to_path_buf(),
            expected: file.sha256.clone(),
            actual,
        });
    }
    set.verify()?;
    Ok(())
}

impl std::fmt::Debug for ShardedSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShardedSet").field("manifest", &self.manifest).finish_non_exhaustive()
    }
}

impl ShardedSet {
    /// Opens every shard listed in the manifest at `manifest_path` (read into memory, as
    /// [`RefSet::open`]). With `verify`, each shard's SHA-256 is compared with the manifest
    /// and its full check ([`RefSet::verify`]) run.
    pub fn open(manifest_path: &Path, verify: bool) -> Result<Self, ShardError> {
        Self::open_with(manifest_path, verify, |path| RefSet::open(path))
    }

    /// As [`ShardedSet::open`], but every shard is mapped ([`RefSet::open_mapped`]) instead
    /// of copied: opening is instant and the shards may together exceed memory (pages are
    /// read on demand), which is how a 10^9-value set is opened on one machine.
    ///
    /// # Safety
    ///
    /// As [`RefSet::open_mapped`], for every shard file: none may be truncated or modified
    /// while the returned set lives.
    pub unsafe fn open_mapped(manifest_path: &Path, verify: bool) -> Result<Self, ShardError> {
        // SAFETY: the caller takes on `open_mapped`'s contract for every shard (above).
        Self::open_with(manifest_path, verify, |path| unsafe { RefSet::open_mapped(path) })
    }

    fn open_with(
        manifest_path: &Path,
        verify: bool,
        open: impl Fn(&Path) -> Result<MappedRefSet, RefsetError>,
    ) -> Result<Self, ShardError> {
        let bad =
            |message: String| ShardError::Manifest { path: manifest_path.to_path_buf(), message };
        let text = std::fs::read_to_string(manifest_path).map_err(|e| bad(e.to_string()))?;
        let manifest: Manifest = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
        if manifest.format != "mediahash-shards" || manifest.routing != "prefix32" {
            return Err(bad(format!(
                "unknown format {:?} / routing {:?}",
                manifest.format, manifest.routing
            )));
        }
        if manifest.shards == 0
            || manifest.shards > MAX_SHARDS
            || manifest.files.len() != manifest.shards as usize
        {
            return Err(bad(format!(
                "{} shards but {} files listed",
                manifest.shards,
                manifest.files.len()
            )));
        }
        let dir = manifest_path.parent().unwrap_or(Path::new("."));
        let mut shards = Vec::with_capacity(manifest.files.len());
        for file in &manifest.files {
            let set = open(&dir.join(&file.name))?;
            if verify {
                check_shard(&set, &dir.join(&file.name), file)?;
            }
            shards.push(set);
        }
        let pdq_starts = pdq_starts(&shards);
        Ok(ShardedSet { manifest, shards, dir: dir.to_path_buf(), pdq_starts })
    }

    /// The full check of every shard: its SHA-256 against the manifest, then
    /// [`RefSet::verify`] (checksum and structure), shard by shard.
    pub fn verify(&self) -> Result<(), ShardError> {
        for (set, file) in self.shards.iter().zip(&self.manifest.files) {
            check_shard(set, &self.dir.join(&file.name), file)?;
        }
        Ok(())
    }

    /// PDQ radius search of every shard, merged as one set gives it
    /// ([`RefSet::search_pdq_needles`]): sorted by distance, then index, then needle, with
    /// `index` the position the hash has in the unsharded set (shards hold consecutive value
    /// ranges, so it is the shard's own index plus the PDQ counts of the shards before it).
    /// The hit's `entry` belongs to shard [`ShardedSet::pdq_shard_of_index`]`(index)`.
    pub fn search_pdq_needles(&self, needles: &[[u8; 32]], radius: u32) -> Vec<PdqMatch> {
        let mut hits = Vec::new();
        for (shard, start) in self.shards.iter().zip(&self.pdq_starts) {
            hits.extend(shard.search_pdq_needles(needles, radius).into_iter().map(|mut m| {
                m.index += start;
                m
            }));
        }
        hits.sort_by_key(|m| (m.distance, m.index, m.needle));
        hits
    }

    /// The shard holding the PDQ hash at (unsharded) `index`, as
    /// [`ShardedSet::search_pdq_needles`] numbers them.
    pub fn pdq_shard_of_index(&self, index: u64) -> usize {
        self.pdq_starts.partition_point(|&start| start <= index).saturating_sub(1)
    }

    /// The folder the shard files were opened from (the manifest's).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The shard an exact value is looked up in.
    pub fn route(&self, value: &HashValue) -> usize {
        shard_of(&value.to_bytes(), self.manifest.shards) as usize
    }

    /// The shards.
    pub fn shards(&self) -> &[MappedRefSet] {
        &self.shards
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routing_is_uniform_and_in_range() {
        for shards in [1u32, 2, 3, 16, 4096] {
            let mut counts = vec![0u32; shards as usize];
            for i in 0u32..65536 {
                let d = crate::digest::digest_bytes(&i.to_le_bytes(), Default::default());
                let s = shard_of(&d.md5, shards);
                assert!(s < shards);
                counts[s as usize] += 1;
            }
            if shards <= 16 {
                let mean = 65536.0 / f64::from(shards);
                for c in counts {
                    assert!((f64::from(c) - mean).abs() < 6.0 * mean.sqrt() + 1.0, "{c} vs {mean}");
                }
            }
        }
        assert_eq!(shard_of(&[0xff; 16], 16), 15);
        assert_eq!(shard_of(&[0x00; 16], 16), 0);
        assert_eq!(shard_of(&[0x80, 0, 0, 0], 2), 1);
    }
}
