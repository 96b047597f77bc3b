//! Exact lookup and Hamming-radius search over a [`RefSet`].
//!
//! **Exact lookup** finds a value in its sorted section through the prefix table (up to
//! 2^20 buckets of the value's leading bits, about 8 to 16 values each) and a short binary
//! search: O(log n) with two or three cache misses on a cold map.
//!
//! **Radius search** is a flat scan of the mapped values: for each stored PDQ hash (four
//! u64 words) it computes the Hamming distance to every needle (the query and up to seven
//! dihedral variants, all in one pass) with `count_ones` on XORed words, and keeps hashes
//! whose best distance is within the radius. The kernel is compiled three times (generic,
//! `popcnt`, `avx2+popcnt`) and one is chosen once per process by CPU detection, as BLAKE3
//! does. The scan runs over chunks in parallel on rayon's pool; results are sorted, so the
//! output does not depend on scheduling.
//!
//! **PDQ multi-index.** Sets of 65,536 PDQ hashes or more also carry a 16 x 16-bit
//! multi-index (as in Meta's MIH and FAISS `IndexBinaryMultiHash`): by pigeonhole a hash
//! within distance r has some 16-bit slot within floor(r/16) bits of the needle's slot, so
//! only those buckets are checked. At 10^7 random hashes, radius 31 and 8 needles it visits
//! about 330,000 candidates instead of 10^7. A cost estimate picks it per query (small
//! radius, large set); larger radii use the scan. The 64-bit hashes have no index: at
//! radius 8 a 4 x 16-bit index would still visit ~84,000 candidates per needle at 10^7,
//! no faster than the scan (measured).
//!
//! ```
//! use mediahash::refset::build::{BuildOptions, Builder};
//! use mediahash::refset::read::RefSet;
//! use mediahash::refset::search::DEFAULT_PDQ_RADIUS;
//! use mediahash::refset::{Disposition, HashValue, Record, SourceInfo};
//!
//! let stored = [0x5a_u8; 32];
//! let mut builder = Builder::new(BuildOptions::default())?;
//! let source = builder.add_source(SourceInfo {
//!     name: "known.pdq".into(),
//!     format: "pdq".into(),
//!     sha256: String::new(),
//!     disposition: Disposition::Alert,
//!     set_name: "known".into(),
//!     records: 0,
//!     bad_records: 0,
//!     empty_file_records_skipped: 0,
//!     source_version: None,
//! })?;
//! let hashes = vec![HashValue::Pdq { hash: stored, quality: Some(100) }];
//! builder.add(source, Record { hashes, meta: Default::default() })?;
//! let set = RefSet::from_bytes(builder.finish_to_vec()?.0)?;
//!
//! // The same image re-encoded: a few bits differ.
//! let mut query = stored;
//! query[0] ^= 0b0000_0111;
//! let hits = set.search_pdq(&query, DEFAULT_PDQ_RADIUS, &[]);
//! assert_eq!(hits.len(), 1);
//! assert_eq!((hits[0].distance, hits[0].quality), (3, Some(100)));
//! assert_eq!(set.memberships(hits[0].entry)?[0].set.name, "known");
//! assert!(set.lookup_pdq(&query)?.is_empty()); // exact lookup needs distance 0
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use super::format::{self, MIH_SLOTS, le_u32, le_u64, mih_slot};
use super::read::{
    EntryId, KindSections, Membership, RefSet, RefsetError, mih_bucket, mih_id, mih_id_at,
    mih_offset_at, prefix_of,
};
use super::{HashKind, HashValue};
use rayon::prelude::*;
use std::cmp::Ordering;
use std::sync::OnceLock;

/// A PDQ hash as four big-endian words (for popcount distances).
fn pdq_words(h: &[u8; 32]) -> [u64; 4] {
    let mut w = [0u64; 4];
    for (k, c) in h.chunks_exact(8).enumerate() {
        w[k] = u64::from_be_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
    }
    w
}

/// Default PDQ radius (inclusive): ThreatExchange's recommended match threshold.
pub const DEFAULT_PDQ_RADIUS: u32 = 31;
/// Default radius for 64-bit pHash / dHash / aHash (inclusive).
pub const DEFAULT_U64_RADIUS: u32 = 8;

/// Where a value was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Hit {
    /// The hash kind searched.
    pub kind: HashKind,
    /// Position in the kind's sorted section.
    pub index: u64,
    /// The value's memberships, for [`RefSet::matches`] or [`RefSet::memberships`].
    pub entry: EntryId,
}

/// One membership of a found value: which set, with what disposition and metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Found<'a> {
    /// The hash kind of the value looked up.
    pub kind: HashKind,
    /// Position of the value in the kind's sorted section (the same for every membership).
    pub index: u64,
    /// The value's entry (a single record or a list of records).
    pub entry: EntryId,
    /// The set, source and metadata of this one membership, borrowed from the set.
    pub membership: Membership<'a>,
}

impl Found<'_> {
    /// The name of the set this membership belongs to (what reports show as the match).
    pub fn set_name(&self) -> &str {
        &self.membership.set.name
    }

    /// What the set says to do with a match: alert or ignore.
    pub fn disposition(&self) -> super::Disposition {
        self.membership.set.disposition
    }
}

/// How [`RefSet::search_pdq_with`] finds PDQ matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PdqStrategy {
    /// The multi-index when the set has one and it is expected to visit far fewer values
    /// than a scan (small radius, large set), else the flat scan.
    Auto,
    /// Scan every stored hash.
    Flat,
    /// The multi-index (radius <= 63), falling back to the scan without one.
    MultiIndex,
}

/// A stored PDQ hash within the radius of a needle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PdqMatch {
    /// Position in the sorted PDQ section (unique per stored hash).
    pub index: u64,
    /// Memberships: [`RefSet::memberships`].
    pub entry: EntryId,
    /// The stored hash as 32 bytes (as [`crate::perceptual::pdq::PdqHash`] holds it).
    pub hash: [u8; 32],
    /// The stored hash's quality (0-100) when its source gave one.
    pub quality: Option<u8>,
    /// Smallest distance over the needles.
    pub distance: u32,
    /// The needle at that distance (lowest on ties): 0 is the query, i is
    /// `dihedral_queries[i - 1]`.
    pub needle: usize,
}

/// A stored PDQ window of a picture (robust matching) within the radius of a needle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowMatch {
    /// The picture's record: [`RefSet::memberships`] gives its set and metadata.
    pub entry: EntryId,
    /// Which window of the picture.
    pub window: crate::robust::Window,
    /// The window's quality (0-100).
    pub quality: u8,
    /// Smallest distance over the needles.
    pub distance: u32,
    /// The needle at that distance (lowest on ties).
    pub needle: usize,
}

/// A stored 64-bit hash within the radius of a needle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct U64Match {
    /// PHash, DHash or AHash.
    pub kind: HashKind,
    /// Position in the kind's sorted section (unique per stored hash).
    pub index: u64,
    /// Memberships: [`RefSet::memberships`].
    pub entry: EntryId,
    /// The stored hash.
    pub value: u64,
    /// Smallest Hamming distance (bits out of 64) over the needles.
    pub distance: u32,
    /// The needle at that distance (lowest on ties): 0 is the query, i is
    /// `extra_queries[i - 1]`.
    pub needle: usize,
}

impl<B: AsRef<[u8]>> RefSet<B> {
    /// Finds a value given in its stored layout (64-bit hashes: the u64 little-endian).
    pub fn find(&self, kind: HashKind, stored: &[u8]) -> Option<Hit> {
        let ks = self.kind_sections(kind)?;
        if stored.len() != kind.value_len() || ks.count == 0 {
            return None;
        }
        let n = ks.count as usize;
        let p = prefix_of(kind, stored, ks.prefix_bits) as usize;
        // A damaged table must not send us out of bounds: clamp, then search.
        let hi = (self.prefix_at(ks, p + 1) as usize).min(n);
        let lo = (self.prefix_at(ks, p) as usize).min(hi);
        let (mut lo, mut hi) = (lo, hi);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match compare(kind, self.value_bytes(ks, kind, mid), stored) {
                Ordering::Less => lo = mid + 1,
                Ordering::Greater => hi = mid,
                Ordering::Equal => {
                    return Some(Hit { kind, index: mid as u64, entry: self.entry_at(ks, mid) });
                }
            }
        }
        None
    }

    /// [`RefSet::find`] for many values of one kind at once, given back to back in their
    /// stored layout (`stored.len()` a multiple of the kind's size; a shorter tail is
    /// ignored): result i is value i's hit. Same answers as calling `find` on each, faster
    /// on large sets: the values are visited in sorted order and each lookup's prefix-table
    /// slot and bucket are prefetched several lookups ahead, so their cache and TLB misses
    /// overlap instead of following one another.
    pub fn find_batch(&self, kind: HashKind, stored: &[u8]) -> Vec<Option<Hit>> {
        let len = kind.value_len();
        let count = stored.len() / len;
        let mut out = vec![None; count];
        let Some(ks) = self.kind_sections(kind) else { return out };
        if ks.count == 0 {
            return out;
        }
        let n = ks.count as usize;
        let data = self.as_bytes();
        let key = |i: usize| &stored[i * len..(i + 1) * len];
        let mut order: Vec<(u32, u32)> =
            (0..count).map(|i| (prefix_of(kind, key(i), ks.prefix_bits), i as u32)).collect();
        order.sort_unstable();
        let slot = |p: u32| &data[ks.prefix.start + 4 * p as usize..ks.prefix.end];
        let bucket = |p: u32| {
            let s = slot(p);
            let hi = (le_u32(&s[4..8]) as usize).min(n);
            (le_u32(&s[..4]) as usize).min(hi)..hi
        };
        let mut found: Vec<(u32, usize)> = Vec::with_capacity(count);
        // Stage 1 (2·AHEAD ahead): the prefix-table slot; stage 2 (AHEAD ahead): the
        // bucket's values; stage 3: the binary search, on lines already loaded.
        for &(p, _) in order.iter().take(2 * AHEAD) {
            prefetch(slot(p));
        }
        for &(p, _) in order.iter().take(AHEAD) {
            let b = bucket(p);
            prefetch_range(&data[ks.values.start + b.start * len..ks.values.start + b.end * len]);
        }
        for (k, &(p, i)) in order.iter().enumerate() {
            if let Some(&(ahead, _)) = order.get(k + 2 * AHEAD) {
                prefetch(slot(ahead));
            }
            if let Some(&(ahead, _)) = order.get(k + AHEAD) {
                let b = bucket(ahead);
                prefetch_range(
                    &data[ks.values.start + b.start * len..ks.values.start + b.end * len],
                );
            }
            let b = bucket(p);
            let (mut lo, mut hi) = (b.start, b.end);
            let want = key(i as usize);
            while lo < hi {
                let mid = lo + (hi - lo) / 2;
                match compare(kind, self.value_bytes(ks, kind, mid), want) {
                    Ordering::Less => lo = mid + 1,
                    Ordering::Greater => hi = mid,
                    Ordering::Equal => {
                        found.push((i, mid));
                        break;
                    }
                }
            }
        }
        // Stage 4: each hit's entry id, in another section: read in a pass of its own with
        // prefetch, not as a dependent miss inside the search loop (found is in value order,
        // so these reads also go forward through the section).
        let entry_line = |mid: usize| &data[ks.entries.start + 4 * mid..ks.entries.end];
        for &(_, mid) in found.iter().take(AHEAD) {
            prefetch(entry_line(mid));
        }
        for (k, &(i, mid)) in found.iter().enumerate() {
            if let Some(&(_, ahead)) = found.get(k + AHEAD) {
                prefetch(entry_line(ahead));
            }
            out[i as usize] = Some(Hit { kind, index: mid as u64, entry: self.entry_at(ks, mid) });
        }
        out
    }

    /// Finds a [`HashValue`] (PDQ quality is ignored).
    pub fn find_value(&self, value: &HashValue) -> Option<Hit> {
        match value {
            HashValue::Md5(v) => self.find(HashKind::Md5, v),
            HashValue::Sha1(v) => self.find(HashKind::Sha1, v),
            HashValue::Sha256(v) => self.find(HashKind::Sha256, v),
            HashValue::Pdq { hash, .. } => self.find(HashKind::Pdq, hash),
            HashValue::PHash(v) => self.find(HashKind::PHash, &v.to_le_bytes()),
            HashValue::DHash(v) => self.find(HashKind::DHash, &v.to_le_bytes()),
            HashValue::AHash(v) => self.find(HashKind::AHash, &v.to_le_bytes()),
            HashValue::PhotoDna(v) => self.find(HashKind::PhotoDna, &v[..]),
        }
    }

    /// Every membership of a hit.
    pub fn matches(&self, hit: Hit) -> Result<Vec<Found<'_>>, RefsetError> {
        Ok(self
            .memberships(hit.entry)?
            .into_iter()
            .map(|membership| Found {
                kind: hit.kind,
                index: hit.index,
                entry: hit.entry,
                membership,
            })
            .collect())
    }

    fn lookup_hit(&self, hit: Option<Hit>) -> Result<Vec<Found<'_>>, RefsetError> {
        hit.map_or(Ok(Vec::new()), |h| self.matches(h))
    }

    /// Exact lookup: one [`Found`] per membership (set, disposition, metadata), empty when
    /// the value is not in the set. Errors only on a damaged file.
    pub fn lookup(&self, value: &HashValue) -> Result<Vec<Found<'_>>, RefsetError> {
        self.lookup_hit(self.find_value(value))
    }

    /// Exact MD5 lookup, as [`RefSet::lookup`].
    pub fn lookup_md5(&self, digest: &[u8; 16]) -> Result<Vec<Found<'_>>, RefsetError> {
        self.lookup_hit(self.find(HashKind::Md5, digest))
    }

    /// Exact SHA-1 lookup, as [`RefSet::lookup`].
    pub fn lookup_sha1(&self, digest: &[u8; 20]) -> Result<Vec<Found<'_>>, RefsetError> {
        self.lookup_hit(self.find(HashKind::Sha1, digest))
    }

    /// Exact SHA-256 lookup, as [`RefSet::lookup`].
    pub fn lookup_sha256(&self, digest: &[u8; 32]) -> Result<Vec<Found<'_>>, RefsetError> {
        self.lookup_hit(self.find(HashKind::Sha256, digest))
    }

    /// Exact PDQ lookup (distance 0); use [`RefSet::search_pdq`] for near matches.
    pub fn lookup_pdq(&self, hash: &[u8; 32]) -> Result<Vec<Found<'_>>, RefsetError> {
        self.lookup_hit(self.find(HashKind::Pdq, hash))
    }

    /// PhotoDNA is compared exactly only (its distance is not Hamming).
    pub fn lookup_photodna(&self, hash: &[u8; 144]) -> Result<Vec<Found<'_>>, RefsetError> {
        self.lookup_hit(self.find(HashKind::PhotoDna, hash))
    }

    /// Exact lookup of a 64-bit hash (`kind`: PHash, DHash or AHash).
    pub fn lookup_u64(&self, kind: HashKind, value: u64) -> Result<Vec<Found<'_>>, RefsetError> {
        check_u64_kind(kind)?;
        self.lookup_hit(self.find(kind, &value.to_le_bytes()))
    }

    /// The PDQ hash stored at `index`, if in range.
    pub fn pdq_at(&self, index: u64) -> Option<[u8; 32]> {
        self.pdq_hit_at(index).map(|(hash, _)| hash)
    }

    /// The PDQ hash stored at `index` with its hit (for its memberships), if in range: a
    /// walk over the section without a search per hash.
    pub fn pdq_hit_at(&self, index: u64) -> Option<([u8; 32], Hit)> {
        let ks = self.kind_sections(HashKind::Pdq)?;
        (index < ks.count).then(|| {
            let mut h = [0u8; 32];
            h.copy_from_slice(self.value_bytes(ks, HashKind::Pdq, index as usize));
            let entry = self.entry_at(ks, index as usize);
            (h, Hit { kind: HashKind::Pdq, index, entry })
        })
    }

    /// Every stored PDQ hash within `radius` (inclusive; [`DEFAULT_PDQ_RADIUS`] = 31, any
    /// value up to 256 works) of `query` or of any of `dihedral_queries` (typically the
    /// other seven dihedral hashes of the same image), in one pass over the section.
    /// One result per stored hash, with its best needle; sorted by (distance, index, needle).
    pub fn search_pdq(
        &self,
        query: &[u8; 32],
        radius: u32,
        dihedral_queries: &[[u8; 32]],
    ) -> Vec<PdqMatch> {
        let mut needles = Vec::with_capacity(1 + dihedral_queries.len());
        needles.push(*query);
        needles.extend_from_slice(dihedral_queries);
        self.search_pdq_needles(&needles, radius)
    }

    /// Every stored PDQ window (sets built from pictures, [`Builder::add_picture`](
    /// super::Builder::add_picture)) within `radius` of any needle: one result per window
    /// with its best needle, sorted by (distance, record, window, needle). Empty for sets
    /// without windows. A flat scan: windows are about 14 per picture, and sets built
    /// from pictures are small next to hash lists.
    pub fn search_pdq_windows(&self, needles: &[[u8; 32]], radius: u32) -> Vec<WindowMatch> {
        let Some(range) = &self.windows else { return Vec::new() };
        let data = &self.as_bytes()[range.clone()];
        let needle_words: Vec<[u64; 4]> = needles.iter().map(pdq_words).collect();
        let mut out: Vec<WindowMatch> = data
            .par_chunks(format::WINDOW_ITEM_LEN * 1024)
            .flat_map_iter(|chunk| {
                let needle_words = &needle_words;
                chunk.chunks_exact(format::WINDOW_ITEM_LEN).filter_map(move |item| {
                    let mut hash = [0u8; 32];
                    hash.copy_from_slice(&item[..32]);
                    let stored = pdq_words(&hash);
                    let (distance, needle) = needle_words
                        .iter()
                        .enumerate()
                        .map(|(i, n)| {
                            ((0..4).map(|k| (n[k] ^ stored[k]).count_ones()).sum::<u32>(), i)
                        })
                        .min()?;
                    let window = crate::robust::Window::from_code(item[36])?;
                    (distance <= radius).then(|| WindowMatch {
                        entry: EntryId(format::le_u32(&item[32..36])),
                        window,
                        quality: item[37],
                        distance,
                        needle,
                    })
                })
            })
            .collect();
        out.sort_by_key(|m| (m.distance, m.entry.0, m.window, m.needle));
        out
    }

    /// [`RefSet::search_pdq`] with the needles in one slice (needle i = `needles[i]`).
    pub fn search_pdq_needles(&self, needles: &[[u8; 32]], radius: u32) -> Vec<PdqMatch> {
        self.search_pdq_with(needles, radius, PdqStrategy::Auto)
    }

    /// Whether `search_pdq` would use the multi-index for this query.
    pub fn pdq_uses_multi_index(&self, needles: usize, radius: u32) -> bool {
        let Some(ks) = self.kind_sections(HashKind::Pdq) else { return false };
        if let Some(t) = &ks.tuned {
            return tuned_plan_if_cheaper(t, ks.count, needles, radius).is_some();
        }
        if ks.mih.is_none() || radius >= 64 {
            return false;
        }
        // Candidates the index would visit, each a random access costing about as much as
        // scanning several values sequentially (measured: ~35 ns against ~4-8 ns).
        let probes = [1u64, 17, 137, 697][(radius / 16) as usize];
        let candidates = needles as u64 * 16 * probes * ks.count / 65536;
        candidates.saturating_mul(8) < ks.count
    }

    /// [`RefSet::search_pdq_needles`] with the method forced (for tests and benchmarks;
    /// `MultiIndex` falls back to the flat scan when the set has no index or radius > 63).
    /// Every strategy returns the same results.
    pub fn search_pdq_with(
        &self,
        needles: &[[u8; 32]],
        radius: u32,
        strategy: PdqStrategy,
    ) -> Vec<PdqMatch> {
        let Some(ks) = self.kind_sections(HashKind::Pdq) else { return Vec::new() };
        let words: Vec<[u64; 4]> =
            needles.iter().map(|n| std::array::from_fn(|w| le_u64(&n[8 * w..8 * w + 8]))).collect();
        let flat = || scan_all::<4>(&self.as_bytes()[ks.values.clone()], &words, radius);
        let raw = if let Some(tuned) = &ks.tuned {
            let plan = match strategy {
                PdqStrategy::Auto => tuned_plan_if_cheaper(tuned, ks.count, needles.len(), radius),
                PdqStrategy::Flat => None,
                PdqStrategy::MultiIndex => cached_plan(tuned, ks.count, radius),
            };
            let budget = match strategy {
                // Bail out to the scan when the buckets hold more than the scan would cost.
                PdqStrategy::Auto => flat_cost(ks.count, needles.len()) / CANDIDATE_COST,
                _ => u64::MAX,
            };
            plan.and_then(|p| self.tuned_search(ks, tuned, &p, needles, &words, radius, budget))
                .unwrap_or_else(flat)
        } else {
            let use_index = match strategy {
                PdqStrategy::Auto => self.pdq_uses_multi_index(needles.len(), radius),
                PdqStrategy::Flat => false,
                PdqStrategy::MultiIndex => ks.mih.is_some() && radius < 64,
            };
            if use_index { self.mih_search(ks, needles, &words, radius) } else { flat() }
        };
        raw.into_iter()
            .map(|h| {
                let i = h.index as usize;
                let mut hash = [0u8; 32];
                hash.copy_from_slice(self.value_bytes(ks, HashKind::Pdq, i));
                PdqMatch {
                    index: h.index,
                    entry: self.entry_at(ks, i),
                    hash,
                    quality: self.quality_at(ks, i),
                    distance: h.distance,
                    needle: h.needle as usize,
                }
            })
            .collect()
    }

    /// Every stored 64-bit hash of `kind` (PHash, DHash or AHash) within `radius`
    /// (inclusive; [`DEFAULT_U64_RADIUS`] = 8) of `query` or of `extra_queries`. Same
    /// result rules as [`RefSet::search_pdq`].
    pub fn search_u64(
        &self,
        kind: HashKind,
        query: u64,
        radius: u32,
        extra_queries: &[u64],
    ) -> Result<Vec<U64Match>, RefsetError> {
        check_u64_kind(kind)?;
        let Some(ks) = self.kind_sections(kind) else { return Ok(Vec::new()) };
        let words: Vec<[u64; 1]> =
            std::iter::once(query).chain(extra_queries.iter().copied()).map(|q| [q]).collect();
        let raw = scan_all::<1>(&self.as_bytes()[ks.values.clone()], &words, radius);
        Ok(raw
            .into_iter()
            .map(|h| {
                let i = h.index as usize;
                U64Match {
                    kind,
                    index: h.index,
                    entry: self.entry_at(ks, i),
                    value: le_u64(self.value_bytes(ks, kind, i)),
                    distance: h.distance,
                    needle: h.needle as usize,
                }
            })
            .collect())
    }

    /// Internal for benches: the kind sections are crate-private.
    #[doc(hidden)]
    pub fn kind_section_len(&self, kind: HashKind) -> usize {
        self.kind_sections(kind).map_or(0, |k: &KindSections| k.values.len())
    }
}

/// Cost of checking one value in the flat scan, in the units of [`format::TunedPlan::cost`]
/// (cache misses): the scan streams ~3 ns per value for up to 8 needles, a dependent miss
/// costs ~10-12 ns with several in flight.
const FLAT_COST_PER_VALUE: f64 = 0.25;
/// Cost units of one candidate check (a random read of the stored hash).
const CANDIDATE_COST: u64 = 1;

/// The scan's cost for `needles` needles over `n` values (one pass per 8 needles).
fn flat_cost(n: u64, needles: usize) -> u64 {
    (n as f64 * FLAT_COST_PER_VALUE * needles.div_ceil(LANES).max(1) as f64) as u64
}

/// The tuned index's plan for `radius` (computed once per radius and set: the search
/// over plans costs about as much as a 10^6-value query's probing).
fn cached_plan(t: &super::read::Tuned, n: u64, radius: u32) -> Option<format::TunedPlan> {
    match t.plans.get(radius as usize) {
        Some(cell) => cell.get_or_init(|| format::tuned_plan(&t.widths, n, radius)).clone(),
        None => format::tuned_plan(&t.widths, n, radius),
    }
}

/// The tuned index's plan when it is expected to cost less than the scan.
fn tuned_plan_if_cheaper(
    t: &super::read::Tuned,
    n: u64,
    needles: usize,
    radius: u32,
) -> Option<format::TunedPlan> {
    let plan = cached_plan(t, n, radius)?;
    (plan.cost * needles as f64 * 2.0 < flat_cost(n, needles) as f64).then_some(plan)
}

/// Buckets described by one compact directory block.
const BLOCK_BUCKETS: usize = 112;
/// Bucket sizes at or above this are not stored in a block's nibbles.
const NIBBLE_OVERFLOW: u64 = 15;

/// Bytes per compact directory block: one cache line. Bytes 0-7: u64 LE base, the
/// ids-section position (within the table) of the block's first bucket, bit 63 set when
/// some bucket of the block holds [`NIBBLE_OVERFLOW`] ids or more (then the block is not
/// used and the file's directory is read instead). Bytes 8-63: seven u64 LE words of 4-bit
/// bucket sizes, bucket 16k + j in bits 4j..4j+4 of word k.
const BLOCK_LEN: usize = 64;

/// Sum of the 16 nibbles of `x` (at most 240).
#[inline(always)]
fn nibble_sum(x: u64) -> usize {
    const LOW: u64 = 0x0F0F_0F0F_0F0F_0F0F;
    let bytes = (x & LOW) + ((x >> 4) & LOW); // each byte <= 30
    (bytes.wrapping_mul(0x0101_0101_0101_0101) >> 56) as usize
}

/// The tuned index's directories, re-encoded at the first search: 4 bits per bucket plus a
/// base per 112 buckets, one cache line per block (0.57 bytes per bucket instead of 4).
///
/// Why: the probes of a radius-31 query are random reads of the directories, and with the
/// file's 4-byte slots (8-256 MiB per table) nearly each one is a cache and TLB miss.
/// Seven times smaller, the directories of a 10^6 set (about 20 MiB) can stay in a 32 MiB
/// last-level cache, probes that differ only in a key's low 6-7 bits share a line, and an
/// empty bucket is known without touching the ids. Measured gain: 1.1-1.3x CPU per query
/// at 10^6-10^8 under load (docs/performance.md). Derived, not stored: older files gain
/// it too, and the file format is unchanged.
pub(crate) struct CompactDir {
    /// [`BLOCK_LEN`]-byte blocks, in an anonymous map with transparent huge pages asked
    /// for (with 4 KiB pages each probe would be a TLB miss as well).
    blocks: memmap2::Mmap,
    /// Index of table i's first block.
    first: Vec<usize>,
}

impl std::fmt::Debug for CompactDir {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompactDir").field("bytes", &self.blocks.len()).finish()
    }
}

/// Derive the compact directory only while its one pass over the directories costs less
/// than about a query's worth of probes: up to 64 buckets per value, or 2^22 buckets. A
/// small set with wide keys (tests, forced layouts) keeps reading the file's directory.
const COMPACT_MAX_BUCKETS_PER_VALUE: u64 = 64;
/// See [`COMPACT_MAX_BUCKETS_PER_VALUE`].
const COMPACT_ALWAYS_BUCKETS: u64 = 1 << 22;

impl CompactDir {
    /// Whether deriving the compact directory pays for a set of `n` values.
    fn worth_it(t: &super::read::Tuned, n: usize) -> bool {
        let buckets: u64 = t.widths.iter().map(|&w| 1u64 << w).sum();
        buckets <= (COMPACT_MAX_BUCKETS_PER_VALUE * n as u64).max(COMPACT_ALWAYS_BUCKETS)
    }

    /// Re-encodes the file's directories (one sequential pass over them); `None` when the
    /// memory cannot be mapped (the search then reads the file's directories).
    fn new(data: &[u8], t: &super::read::Tuned, n: usize) -> Option<Self> {
        let offsets = &data[t.offsets.clone()];
        let mut first = Vec::with_capacity(t.widths.len());
        let mut total = 0;
        for &w in &t.widths {
            first.push(total);
            total += (1usize << w).div_ceil(BLOCK_BUCKETS);
        }
        let mut map = memmap2::MmapMut::map_anon(total * BLOCK_LEN).ok()?;
        // A hint (transparent huge pages) where the OS has it; nothing changes without.
        #[cfg(target_os = "linux")]
        let _ = map.advise(memmap2::Advice::HugePage);
        let mut out = map.chunks_exact_mut(BLOCK_LEN);
        for (&w, &dir) in t.widths.iter().zip(&t.dirs) {
            let buckets = 1usize << w;
            let table = &offsets[4 * dir..4 * (dir + buckets + 1)];
            let mut slots = table.chunks_exact(4).map(|s| (le_u32(s) as usize).min(n));
            let mut lo = slots.next().unwrap_or(0);
            for b0 in (0..buckets).step_by(BLOCK_BUCKETS) {
                let mut base = lo as u64;
                let mut sizes = [0u64; 7];
                for j in 0..BLOCK_BUCKETS.min(buckets - b0) {
                    let hi = slots.next().unwrap_or(lo);
                    // A directory that goes backwards is damaged: read it as the file says.
                    let size = hi.checked_sub(lo).map_or(NIBBLE_OVERFLOW, |s| s as u64);
                    if size >= NIBBLE_OVERFLOW {
                        base |= 1 << 63;
                    } else {
                        sizes[j / 16] |= size << (4 * (j % 16));
                    }
                    lo = hi;
                }
                let block = out.next()?;
                block[..8].copy_from_slice(&base.to_le_bytes());
                for (k, word) in sizes.iter().enumerate() {
                    block[8 + 8 * k..16 + 8 * k].copy_from_slice(&word.to_le_bytes());
                }
            }
        }
        Some(CompactDir { blocks: map.make_read_only().ok()?, first })
    }

    /// The block holding bucket `b` of table `table`.
    #[inline(always)]
    fn block(&self, table: usize, b: usize) -> &[u8] {
        let at = (self.first[table] + b / BLOCK_BUCKETS) * BLOCK_LEN;
        &self.blocks[at..at + BLOCK_LEN]
    }

    /// Bucket `b` of `table` as (start, length) within the table's ids, or `None` when the
    /// block is not usable (a bucket of 15 ids or more: read the file's directory).
    #[inline(always)]
    fn bucket(&self, table: usize, b: usize) -> Option<(usize, usize)> {
        let block = self.block(table, b);
        let base = le_u64(&block[..8]);
        if base >> 63 != 0 {
            return None;
        }
        let j = b % BLOCK_BUCKETS;
        let (word, shift) = (j / 16, 4 * (j % 16));
        let sizes = |k: usize| le_u64(&block[8 + 8 * k..16 + 8 * k]);
        let at = sizes(word);
        let len = ((at >> shift) & 0xF) as usize;
        if len == 0 {
            return Some((0, 0));
        }
        let before: usize = (0..word).map(|k| nibble_sum(sizes(k))).sum();
        Some((base as usize + before + nibble_sum(at & ((1 << shift) - 1)), len))
    }
}

/// One probe of the tuned index: a directory slot to read for a needle.
#[derive(Clone, Copy)]
struct Probe {
    /// Bucket (key) within the table.
    key: u32,
    table: u16,
    needle: u16,
}

/// A non-empty bucket to read.
#[derive(Clone, Copy)]
struct Bucket {
    /// u32 index into the ids section.
    start: usize,
    len: usize,
    needle: u16,
}

/// How far ahead each stage of the tuned search prefetches (misses kept in flight), unless
/// a benchmark sets [`set_pdq_prefetch_distance`].
const AHEAD: usize = 24;
/// The tuned search's prefetch distance (0: [`AHEAD`]).
static TUNED_AHEAD: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// For benchmarks: the tuned PDQ search's prefetch distance in items (0 restores the
/// default). Changes speed only, never results.
#[doc(hidden)]
pub fn set_pdq_prefetch_distance(items: usize) {
    TUNED_AHEAD.store(items, std::sync::atomic::Ordering::Relaxed);
}
/// Candidates collected before they are checked: bounds memory whatever the bucket sizes.
const CANDIDATE_BATCH: usize = 4096;

impl<B: AsRef<[u8]>> RefSet<B> {
    /// Tuned multi-index search (docs/mhset-format.md): every needle's key in every probed
    /// table is expanded to the keys within the plan's radius (generalised pigeonhole), and
    /// the buckets found are checked in full. `None` when the buckets hold more than
    /// `budget` candidates (the caller scans instead).
    ///
    /// All the time goes to cache misses (directory slot, bucket ids, each candidate's
    /// hash at unrelated places), so the work runs as three passes over flat lists, each
    /// prefetching [`AHEAD`] items ahead, with the needles of a query interleaved: many
    /// misses are in flight at once instead of one after another.
    #[allow(clippy::too_many_arguments)]
    fn tuned_search(
        &self,
        ks: &KindSections,
        t: &super::read::Tuned,
        plan: &format::TunedPlan,
        needles: &[[u8; 32]],
        words: &[[u64; 4]],
        radius: u32,
        budget: u64,
    ) -> Option<Vec<RawHit>> {
        let data = self.as_bytes();
        let n = ks.count as usize;
        let ahead = match TUNED_AHEAD.load(std::sync::atomic::Ordering::Relaxed) {
            0 => AHEAD,
            a => a,
        };
        // Pass 1: probes, from the needles' keys.
        let mut probes: Vec<Probe> =
            Vec::with_capacity((plan.probes * needles.len() as f64) as usize + 16);
        for (j, needle) in needles.iter().enumerate() {
            for (i, r) in plan.radii.iter().enumerate() {
                let Some(r) = *r else { continue };
                let w = t.widths[i];
                let key = format::tuned_key(needle, t.starts[i], w);
                for_each_key_within(key, w, r, &mut |k| {
                    probes.push(Probe { key: k, table: i as u16, needle: j as u16 })
                });
            }
        }
        // Pass 2: directory slots -> buckets.
        let offsets = &data[t.offsets.clone()];
        let compact = t
            .compact
            .get_or_init(|| {
                CompactDir::worth_it(t, n).then(|| CompactDir::new(data, t, n)).flatten()
            })
            .as_ref();
        let slot = |p: &Probe| &offsets[4 * (t.dirs[usize::from(p.table)] + p.key as usize)..];
        let mut buckets: Vec<Bucket> = Vec::with_capacity(probes.len());
        let mut total = 0u64;
        let dir_line = |p: &Probe| match compact {
            Some(c) => c.block(usize::from(p.table), p.key as usize),
            None => slot(p),
        };
        for p in probes.iter().take(ahead) {
            prefetch(dir_line(p));
        }
        for (k, p) in probes.iter().enumerate() {
            if let Some(ahead) = probes.get(k + ahead) {
                prefetch(dir_line(ahead));
            }
            let (lo, hi) =
                match compact.and_then(|c| c.bucket(usize::from(p.table), p.key as usize)) {
                    Some((start, len)) => (start, (start + len).min(n)),
                    None => {
                        let s = slot(p);
                        let hi = (le_u32(&s[4..8]) as usize).min(n);
                        ((le_u32(&s[..4]) as usize).min(hi), hi)
                    }
                };
            if lo < hi {
                buckets.push(Bucket {
                    start: usize::from(p.table) * n + lo,
                    len: hi - lo,
                    needle: p.needle,
                });
                total += (hi - lo) as u64;
            }
        }
        if total > budget {
            return None;
        }
        // Pass 3: bucket ids -> candidates; pass 4 (per batch): candidates -> hits.
        let ids = &data[t.ids.clone()];
        let values = &data[ks.values.clone()];
        let value_at = |id: usize| &values[32 * id..32 * id + 32];
        let mut hits = Vec::new();
        let mut candidates: Vec<(u32, u16)> = Vec::with_capacity(CANDIDATE_BATCH + 64);
        let check = |candidates: &mut Vec<(u32, u16)>, hits: &mut Vec<RawHit>| {
            for &(id, _) in candidates.iter().take(ahead) {
                prefetch(value_at(id as usize));
            }
            for (k, &(id, needle)) in candidates.iter().enumerate() {
                if let Some(&(ahead, _)) = candidates.get(k + ahead) {
                    prefetch(value_at(ahead as usize));
                }
                let w = &words[usize::from(needle)];
                let distance: u32 = value_at(id as usize)
                    .chunks_exact(8)
                    .zip(w)
                    .map(|(b, n)| (le_u64(b) ^ n).count_ones())
                    .sum();
                if distance <= radius {
                    hits.push(RawHit { index: u64::from(id), distance, needle: u32::from(needle) });
                }
            }
            candidates.clear();
        };
        for b in buckets.iter().take(ahead) {
            prefetch(&ids[4 * b.start..]);
        }
        for (k, b) in buckets.iter().enumerate() {
            if let Some(ahead) = buckets.get(k + ahead) {
                prefetch(&ids[4 * ahead.start..]);
            }
            for id in ids[4 * b.start..4 * (b.start + b.len)].chunks_exact(4) {
                let id = le_u32(id);
                if (id as usize) < n {
                    candidates.push((id, b.needle));
                } // else: damaged index; verify reports it
            }
            if candidates.len() >= CANDIDATE_BATCH {
                check(&mut candidates, &mut hits);
            }
        }
        check(&mut candidates, &mut hits);
        // A value can be found through several tables and needles: keep its best.
        hits.sort_unstable_by_key(|h| (h.index, h.distance, h.needle));
        hits.dedup_by_key(|h| h.index);
        hits.sort_unstable_by_key(|h| (h.distance, h.index, h.needle));
        Some(hits)
    }

    /// Multi-index search: for each needle and slot, visit the buckets within
    /// floor(radius/16) bits of the needle's slot and check each candidate in full.
    ///
    /// Almost all the time goes to cache misses: a bucket's offsets, its ids and then each
    /// candidate's value sit at unrelated places. The loads are therefore issued in stages,
    /// each stage prefetching what the next one reads, so that many misses are in flight at
    /// once instead of one after another.
    fn mih_search(
        &self,
        ks: &KindSections,
        needles: &[[u8; 32]],
        words: &[[u64; 4]],
        radius: u32,
    ) -> Vec<RawHit> {
        let slot_radius = radius / 16;
        let data = self.as_bytes();
        let n = ks.count as usize;
        let value_at = |id: usize| &data[ks.values.start + 32 * id..ks.values.start + 32 * id + 32];
        let per_needle = |j: usize| {
            let needle = &words[j];
            let mut probes: Vec<(usize, u16)> = Vec::with_capacity(MIH_SLOTS * 17);
            for s in 0..MIH_SLOTS {
                for_each_within(mih_slot(&needles[j], s), slot_radius, |probe| {
                    prefetch(mih_offset_at(data, ks, s, usize::from(probe)));
                    probes.push((s, probe));
                });
            }
            let mut buckets = Vec::with_capacity(probes.len());
            let mut candidates: Vec<u32> = Vec::with_capacity(1024);
            let mut out = Vec::new();
            for slot_probes in probes.chunk_by(|a, b| a.0 == b.0) {
                let s = slot_probes[0].0;
                buckets.clear();
                for &(_, probe) in slot_probes {
                    let bucket = mih_bucket(data, ks, s, usize::from(probe));
                    if !bucket.is_empty() {
                        prefetch(mih_id_at(data, ks, s, bucket.start));
                        buckets.push(bucket);
                    }
                }
                candidates.clear();
                for bucket in buckets.drain(..) {
                    for k in bucket {
                        let id = mih_id(data, ks, s, k) as usize;
                        if id < n {
                            prefetch(value_at(id));
                            candidates.push(id as u32);
                        } // else: damaged index; verify reports it
                    }
                }
                for &id in &candidates {
                    let distance: u32 = value_at(id as usize)
                        .chunks_exact(8)
                        .zip(needle)
                        .map(|(b, n)| (le_u64(b) ^ n).count_ones())
                        .sum();
                    if distance <= radius {
                        out.push(RawHit { index: u64::from(id), distance, needle: j as u32 });
                    }
                }
            }
            out
        };
        let mut hits: Vec<RawHit> = if needles.len() > 1 {
            (0..needles.len()).into_par_iter().flat_map_iter(per_needle).collect()
        } else {
            (0..needles.len()).flat_map(per_needle).collect()
        };
        // A value can be found through several slots and needles: keep its best.
        hits.sort_unstable_by_key(|h| (h.index, h.distance, h.needle));
        hits.dedup_by_key(|h| h.index);
        hits.sort_unstable_by_key(|h| (h.distance, h.index, h.needle));
        hits
    }
}

/// Asks the CPU to start loading the cache line that holds `bytes[0]`. A hint only: it never
/// faults and changes no result.
#[inline(always)]
fn prefetch(bytes: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: PREFETCHT0 performs no architectural memory access; the pointer comes from a
    // live slice, so it is valid in any case.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
            bytes.as_ptr().cast(),
        );
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = bytes;
}

/// Prefetches every cache line of `bytes` (a bucket: a few lines).
#[inline(always)]
fn prefetch_range(bytes: &[u8]) {
    for line in bytes.chunks(64) {
        prefetch(line);
    }
    if let Some(last) = bytes.len().checked_sub(1) {
        prefetch(&bytes[last..]);
    }
}

/// Calls `f` on every `width`-bit value within `radius` bits of `v` (each once).
fn for_each_key_within(v: u32, width: u32, radius: u32, f: &mut impl FnMut(u32)) {
    fn flip(v: u32, from: u32, width: u32, left: u32, f: &mut impl FnMut(u32)) {
        for b in from..width {
            let u = v ^ (1 << b);
            f(u);
            if left > 1 {
                flip(u, b + 1, width, left - 1, f);
            }
        }
    }
    f(v);
    if radius > 0 {
        flip(v, 0, width, radius, f);
    }
}

/// Calls `f` on every 16-bit value within `radius` (at most 3) bits of `v`.
fn for_each_within(v: u16, radius: u32, mut f: impl FnMut(u16)) {
    f(v);
    if radius == 0 {
        return;
    }
    for a in 0..16 {
        let va = v ^ (1 << a);
        f(va);
        if radius >= 2 {
            for b in a + 1..16 {
                let vb = va ^ (1 << b);
                f(vb);
                if radius >= 3 {
                    for c in b + 1..16 {
                        f(vb ^ (1 << c));
                    }
                }
            }
        }
    }
}

fn check_u64_kind(kind: HashKind) -> Result<(), RefsetError> {
    match kind {
        HashKind::PHash | HashKind::DHash | HashKind::AHash => Ok(()),
        other => Err(RefsetError::InvalidArgument {
            what: format!("{} is not a 64-bit perceptual hash kind", other.as_str()),
        }),
    }
}

fn compare(kind: HashKind, stored: &[u8], key: &[u8]) -> Ordering {
    super::read::compare_stored(kind, stored, key)
}

// ---------------------------------------------------------------------------------------
// Scan kernel
// ---------------------------------------------------------------------------------------

/// A stored value within the radius: its position, best distance and needle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct RawHit {
    index: u64,
    distance: u32,
    needle: u32,
}

/// Values per parallel task: 2 MiB of PDQ hashes, enough to amortise scheduling.
const CHUNK_VALUES: usize = 1 << 16;
/// Needles tested together in one pass.
const LANES: usize = 8;

/// Scans all values (W u64 words each) against any number of needles.
fn scan_all<const W: usize>(values: &[u8], needles: &[[u64; W]], radius: u32) -> Vec<RawHit> {
    if needles.is_empty() {
        return Vec::new();
    }
    let value_len = 8 * W;
    let mut hits: Vec<RawHit> = Vec::new();
    for (group_no, group) in needles.chunks(LANES).enumerate() {
        let first_needle = (group_no * LANES) as u32;
        let scan_chunk = |(chunk_no, chunk): (usize, &[u8])| {
            let mut out = Vec::new();
            let first = (chunk_no * CHUNK_VALUES) as u64;
            if group.len() == 1 {
                let lanes: [[u64; 1]; W] = std::array::from_fn(|w| [group[0][w]]);
                scan_block::<W, 1>(chunk, first, &lanes, radius, &mut out);
            } else {
                // Unused lanes repeat needle 0: equal distances never win over a lower lane.
                let lanes: [[u64; LANES]; W] = std::array::from_fn(|w| {
                    std::array::from_fn(|j| group.get(j).unwrap_or(&group[0])[w])
                });
                scan_block::<W, LANES>(chunk, first, &lanes, radius, &mut out);
            }
            for h in &mut out {
                h.needle += first_needle;
            }
            out
        };
        let chunks = values.chunks(CHUNK_VALUES * value_len);
        if values.len() <= CHUNK_VALUES * value_len {
            hits.extend(chunks.enumerate().flat_map(scan_chunk));
        } else {
            let parts: Vec<Vec<RawHit>> =
                values.par_chunks(CHUNK_VALUES * value_len).enumerate().map(scan_chunk).collect();
            hits.extend(parts.into_iter().flatten());
        }
    }
    if needles.len() > LANES {
        // Several passes: keep each value's best (distance, needle).
        hits.sort_unstable_by_key(|h| (h.index, h.distance, h.needle));
        hits.dedup_by_key(|h| h.index);
    }
    hits.sort_unstable_by_key(|h| (h.distance, h.index, h.needle));
    hits
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Level {
    Generic,
    #[cfg(target_arch = "x86_64")]
    Popcnt,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    #[cfg(all(target_arch = "x86_64", feature = "avx512"))]
    Avx512,
}

/// The kernel variant for this CPU, detected once.
fn level() -> Level {
    static LEVEL: OnceLock<Level> = OnceLock::new();
    *LEVEL.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        {
            #[cfg(feature = "avx512")]
            if is_x86_feature_detected!("avx512f")
                && is_x86_feature_detected!("avx512vl")
                && is_x86_feature_detected!("avx512bw")
                && is_x86_feature_detected!("avx512vpopcntdq")
                && is_x86_feature_detected!("avx2")
                && is_x86_feature_detected!("popcnt")
            {
                return Level::Avx512;
            }
            if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("popcnt") {
                return Level::Avx2;
            }
            if is_x86_feature_detected!("popcnt") {
                return Level::Popcnt;
            }
        }
        Level::Generic
    })
}

/// Name of the scan kernel in use (for benchmark reports).
pub fn scan_kernel_name() -> &'static str {
    match level() {
        Level::Generic => "generic",
        #[cfg(target_arch = "x86_64")]
        Level::Popcnt => "popcnt",
        #[cfg(target_arch = "x86_64")]
        Level::Avx2 => "avx2+popcnt",
        #[cfg(all(target_arch = "x86_64", feature = "avx512"))]
        Level::Avx512 => "avx512vpopcntdq",
    }
}

fn scan_block<const W: usize, const N: usize>(
    values: &[u8],
    first: u64,
    needles: &[[u64; N]; W],
    radius: u32,
    out: &mut Vec<RawHit>,
) {
    scan_block_with(level(), values, first, needles, radius, out)
}

/// `level` must be `Generic` or a value returned by [`level`] (it promises CPU features).
fn scan_block_with<const W: usize, const N: usize>(
    level: Level,
    values: &[u8],
    first: u64,
    needles: &[[u64; N]; W],
    radius: u32,
    out: &mut Vec<RawHit>,
) {
    match level {
        Level::Generic => scan_kernel::<W, N>(values, first, needles, radius, out),
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `level()` returns Popcnt only after detecting popcnt on this CPU.
        Level::Popcnt => unsafe { scan_popcnt::<W, N>(values, first, needles, radius, out) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `level()` returns Avx2 only after detecting avx2 and popcnt on this CPU.
        Level::Avx2 => unsafe { scan_avx2::<W, N>(values, first, needles, radius, out) },
        #[cfg(all(target_arch = "x86_64", feature = "avx512"))]
        // SAFETY: `level()` returns Avx512 only after detecting every feature it enables.
        Level::Avx512 => unsafe { scan_avx512::<W, N>(values, first, needles, radius, out) },
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "popcnt")]
fn scan_popcnt<const W: usize, const N: usize>(
    values: &[u8],
    first: u64,
    needles: &[[u64; N]; W],
    radius: u32,
    out: &mut Vec<RawHit>,
) {
    scan_kernel::<W, N>(values, first, needles, radius, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,popcnt")]
fn scan_avx2<const W: usize, const N: usize>(
    values: &[u8],
    first: u64,
    needles: &[[u64; N]; W],
    radius: u32,
    out: &mut Vec<RawHit>,
) {
    scan_kernel::<W, N>(values, first, needles, radius, out)
}

/// AVX-512 target features are stable from Rust 1.89, above the crate's 1.88 MSRV, hence
/// the opt-in `avx512` cargo feature. `vpopcntq` makes the 8-needle scan about 3x faster.
#[cfg(all(target_arch = "x86_64", feature = "avx512"))]
#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512vpopcntdq,avx2,popcnt")]
fn scan_avx512<const W: usize, const N: usize>(
    values: &[u8],
    first: u64,
    needles: &[[u64; N]; W],
    radius: u32,
    out: &mut Vec<RawHit>,
) {
    scan_kernel::<W, N>(values, first, needles, radius, out)
}

/// The kernel body, inlined into each target-feature wrapper so each gets its own codegen.
/// `needles[w][j]` is word w of needle j: the inner loop over j is what vectorises.
#[inline(always)]
fn scan_kernel<const W: usize, const N: usize>(
    values: &[u8],
    first: u64,
    needles: &[[u64; N]; W],
    radius: u32,
    out: &mut Vec<RawHit>,
) {
    for (i, value) in values.chunks_exact(8 * W).enumerate() {
        let mut dist = [0u32; N];
        for (bytes, lanes) in value.chunks_exact(8).zip(needles) {
            let word = u64::from_le_bytes(bytes.try_into().unwrap_or_default());
            for j in 0..N {
                dist[j] += (word ^ lanes[j]).count_ones();
            }
        }
        // Branch-free test first (vectorises); the best needle only for the rare hits.
        let mut any = false;
        for d in dist {
            any |= d <= radius;
        }
        if any {
            let best = dist.iter().copied().min().unwrap_or(u32::MAX);
            let needle = dist.iter().position(|&d| d == best).unwrap_or(0) as u32;
            out.push(RawHit { index: first + i as u64, distance: best, needle });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brute(values: &[[u64; 4]], needles: &[[u64; 4]], radius: u32) -> Vec<RawHit> {
        let mut out = Vec::new();
        for (i, v) in values.iter().enumerate() {
            let best = needles
                .iter()
                .enumerate()
                .map(|(j, n)| ((0..4).map(|w| (v[w] ^ n[w]).count_ones()).sum::<u32>(), j))
                .min();
            if let Some((d, j)) = best
                && d <= radius
            {
                out.push(RawHit { index: i as u64, distance: d, needle: j as u32 });
            }
        }
        out.sort_unstable_by_key(|h| (h.distance, h.index, h.needle));
        out
    }

    #[test]
    fn scan_matches_brute_force_across_chunks_and_passes() {
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let values: Vec<[u64; 4]> =
            (0..CHUNK_VALUES + 1000).map(|_| std::array::from_fn(|_| next())).collect();
        let bytes: Vec<u8> =
            values.iter().flat_map(|v| v.iter().flat_map(|w| w.to_le_bytes())).collect();
        // Needles near stored values, plus 11 needles to force two passes.
        let mut needles: Vec<[u64; 4]> = (0..11).map(|k| values[k * 6000]).collect();
        needles[3][0] ^= 0xFFFF;
        // Every kernel this CPU can run agrees with the generic one.
        let values_bytes: &[u8] = &bytes[..4096 * 32];
        let lanes: [[u64; LANES]; 4] =
            std::array::from_fn(|w| std::array::from_fn(|j| needles[j][w]));
        for radius in [0, 110, 128, 140] {
            let mut generic = Vec::new();
            scan_block_with::<4, LANES>(
                Level::Generic,
                values_bytes,
                0,
                &lanes,
                radius,
                &mut generic,
            );
            let mut detected = Vec::new();
            scan_block_with::<4, LANES>(level(), values_bytes, 0, &lanes, radius, &mut detected);
            assert_eq!(generic, detected, "kernel {} at radius {radius}", scan_kernel_name());
            assert!(radius < 128 || !generic.is_empty());
        }
        for radius in [0, 20, 120] {
            for count in [1, 3, 8, 11] {
                let got = scan_all::<4>(&bytes, &needles[..count], radius);
                assert_eq!(got, brute(&values, &needles[..count], radius), "r {radius} n {count}");
            }
        }
    }

    /// The compact directory gives every bucket of every table exactly as the file's
    /// directory does, including blocks with a bucket of 15 ids or more (read from the
    /// file instead), and empty buckets.
    #[test]
    fn compact_directory_equals_file_directory() {
        use crate::refset::{
            BuildOptions, Builder, Disposition, EntryMeta, PdqIndexLayout, Record, SourceInfo,
        };
        let mut b = Builder::new(BuildOptions {
            pdq_multi_index_min: 1,
            pdq_index_layout: PdqIndexLayout::TunedWidths(&[8; 32]),
            ..BuildOptions::default()
        })
        .unwrap();
        let source = b
            .add_source(SourceInfo {
                name: "t".into(),
                format: "pdq".into(),
                sha256: String::new(),
                disposition: Disposition::Alert,
                set_name: "t".into(),
                records: 0,
                bad_records: 0,
                empty_file_records_skipped: 0,
                source_version: None,
            })
            .unwrap();
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        for i in 0..600u32 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let mut hash = [0u8; 32];
            for (k, byte) in hash.iter_mut().enumerate() {
                *byte = (x >> (8 * (k % 8))) as u8 ^ (k as u8).wrapping_mul(37);
            }
            // A third share their first 8 bytes: buckets of hundreds in tables 0-7.
            if i % 3 == 0 {
                hash[..8].copy_from_slice(&[7; 8]);
            }
            let hashes = vec![HashValue::Pdq { hash, quality: None }];
            b.add(source, Record { hashes, meta: EntryMeta::default() }).unwrap();
        }
        let set = RefSet::from_bytes(b.finish_to_vec().unwrap().0).unwrap();
        let ks = set.kind_sections(HashKind::Pdq).unwrap();
        let t = ks.tuned.as_ref().unwrap();
        let n = ks.count as usize;
        let data = set.as_bytes();
        let compact = CompactDir::new(data, t, n).unwrap();
        let (mut fallbacks, mut empty) = (0, 0);
        for (i, (&w, &dir)) in t.widths.iter().zip(&t.dirs).enumerate() {
            for key in 0..1usize << w {
                let slot = |b: usize| le_u32(&data[t.offsets.start + 4 * (dir + b)..]) as usize;
                let (lo, hi) = (slot(key), slot(key + 1));
                match compact.bucket(i, key) {
                    None => {
                        fallbacks += 1;
                        assert!(
                            (key / BLOCK_BUCKETS * BLOCK_BUCKETS..)
                                .take(BLOCK_BUCKETS)
                                .take_while(|&k| k < 1 << w)
                                .any(|k| slot(k + 1) - slot(k) >= NIBBLE_OVERFLOW as usize)
                        );
                    }
                    Some((_, 0)) => {
                        empty += 1;
                        assert_eq!(lo, hi, "table {i} key {key}");
                    }
                    Some((start, len)) => assert_eq!((start, start + len), (lo, hi)),
                }
            }
        }
        assert!(fallbacks > 0 && empty > 0, "{fallbacks} {empty}");
    }
}
