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
//! output does not depend on scheduling. A 16x16-bit multi-index was not added: see
//! `docs/mhset-format.md` ("Why a flat scan").

use super::format::le_u64;
use super::read::{EntryId, KindSections, Membership, RefSet, RefsetError, prefix_of};
use super::{HashKind, HashValue};
use rayon::prelude::*;
use std::cmp::Ordering;
use std::sync::OnceLock;

/// Default PDQ radius (inclusive): ThreatExchange's recommended match threshold.
pub const DEFAULT_PDQ_RADIUS: u32 = 31;
/// Default radius for 64-bit pHash / dHash / aHash (inclusive).
pub const DEFAULT_U64_RADIUS: u32 = 8;

/// Where a value was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Hit {
    pub kind: HashKind,
    /// Position in the kind's sorted section.
    pub index: u64,
    pub entry: EntryId,
}

/// One membership of a found value: which set, with what disposition and metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Match<'a> {
    pub kind: HashKind,
    pub index: u64,
    pub entry: EntryId,
    pub membership: Membership<'a>,
}

impl Match<'_> {
    pub fn set_name(&self) -> &str {
        &self.membership.set.name
    }

    pub fn disposition(&self) -> super::Disposition {
        self.membership.set.disposition
    }
}

/// A stored PDQ hash within the radius of a needle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PdqMatch {
    /// Position in the sorted PDQ section (unique per stored hash).
    pub index: u64,
    /// Memberships: [`RefSet::memberships`].
    pub entry: EntryId,
    pub hash: [u8; 32],
    pub quality: Option<u8>,
    /// Smallest distance over the needles.
    pub distance: u32,
    /// The needle at that distance (lowest on ties): 0 is the query, i is
    /// `dihedral_queries[i - 1]`.
    pub needle: usize,
}

/// A stored 64-bit hash within the radius of a needle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct U64Match {
    pub kind: HashKind,
    pub index: u64,
    pub entry: EntryId,
    pub value: u64,
    pub distance: u32,
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
    pub fn matches(&self, hit: Hit) -> Result<Vec<Match<'_>>, RefsetError> {
        Ok(self
            .memberships(hit.entry)?
            .into_iter()
            .map(|membership| Match {
                kind: hit.kind,
                index: hit.index,
                entry: hit.entry,
                membership,
            })
            .collect())
    }

    fn lookup_hit(&self, hit: Option<Hit>) -> Result<Vec<Match<'_>>, RefsetError> {
        hit.map_or(Ok(Vec::new()), |h| self.matches(h))
    }

    /// Exact lookup: one [`Match`] per membership (set, disposition, metadata), empty when
    /// the value is not in the set. Errors only on a damaged file.
    pub fn lookup(&self, value: &HashValue) -> Result<Vec<Match<'_>>, RefsetError> {
        self.lookup_hit(self.find_value(value))
    }

    pub fn lookup_md5(&self, digest: &[u8; 16]) -> Result<Vec<Match<'_>>, RefsetError> {
        self.lookup_hit(self.find(HashKind::Md5, digest))
    }

    pub fn lookup_sha1(&self, digest: &[u8; 20]) -> Result<Vec<Match<'_>>, RefsetError> {
        self.lookup_hit(self.find(HashKind::Sha1, digest))
    }

    pub fn lookup_sha256(&self, digest: &[u8; 32]) -> Result<Vec<Match<'_>>, RefsetError> {
        self.lookup_hit(self.find(HashKind::Sha256, digest))
    }

    /// Exact PDQ lookup (distance 0); use [`RefSet::search_pdq`] for near matches.
    pub fn lookup_pdq(&self, hash: &[u8; 32]) -> Result<Vec<Match<'_>>, RefsetError> {
        self.lookup_hit(self.find(HashKind::Pdq, hash))
    }

    /// PhotoDNA is compared exactly only (its distance is not Hamming).
    pub fn lookup_photodna(&self, hash: &[u8; 144]) -> Result<Vec<Match<'_>>, RefsetError> {
        self.lookup_hit(self.find(HashKind::PhotoDna, hash))
    }

    /// Exact lookup of a 64-bit hash (`kind`: PHash, DHash or AHash).
    pub fn lookup_u64(&self, kind: HashKind, value: u64) -> Result<Vec<Match<'_>>, RefsetError> {
        check_u64_kind(kind)?;
        self.lookup_hit(self.find(kind, &value.to_le_bytes()))
    }

    /// The PDQ hash stored at `index`, if in range.
    pub fn pdq_at(&self, index: u64) -> Option<[u8; 32]> {
        let ks = self.kind_sections(HashKind::Pdq)?;
        (index < ks.count).then(|| {
            let mut h = [0u8; 32];
            h.copy_from_slice(self.value_bytes(ks, HashKind::Pdq, index as usize));
            h
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

    /// [`RefSet::search_pdq`] with the needles in one slice (needle i = `needles[i]`).
    pub fn search_pdq_needles(&self, needles: &[[u8; 32]], radius: u32) -> Vec<PdqMatch> {
        let Some(ks) = self.kind_sections(HashKind::Pdq) else { return Vec::new() };
        let words: Vec<[u64; 4]> =
            needles.iter().map(|n| std::array::from_fn(|w| le_u64(&n[8 * w..8 * w + 8]))).collect();
        let raw = scan_all::<4>(&self.as_bytes()[ks.values.clone()], &words, radius);
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
}

/// The kernel variant for this CPU, detected once.
fn level() -> Level {
    static LEVEL: OnceLock<Level> = OnceLock::new();
    *LEVEL.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        {
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
    }
}

fn scan_block<const W: usize, const N: usize>(
    values: &[u8],
    first: u64,
    needles: &[[u64; N]; W],
    radius: u32,
    out: &mut Vec<RawHit>,
) {
    match level() {
        Level::Generic => scan_kernel::<W, N>(values, first, needles, radius, out),
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `level()` returns Popcnt only after detecting popcnt on this CPU.
        Level::Popcnt => unsafe { scan_popcnt::<W, N>(values, first, needles, radius, out) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `level()` returns Avx2 only after detecting avx2 and popcnt on this CPU.
        Level::Avx2 => unsafe { scan_avx2::<W, N>(values, first, needles, radius, out) },
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
        for (w, lanes) in needles.iter().enumerate() {
            let word = le_u64(&value[8 * w..8 * w + 8]);
            for j in 0..N {
                dist[j] += (word ^ lanes[j]).count_ones();
            }
        }
        let best = dist.iter().copied().min().unwrap_or(u32::MAX);
        if best <= radius {
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
        for radius in [0, 20, 120] {
            for count in [1, 3, 8, 11] {
                let got = scan_all::<4>(&bytes, &needles[..count], radius);
                assert_eq!(got, brute(&values, &needles[..count], radius), "r {radius} n {count}");
            }
        }
    }
}
