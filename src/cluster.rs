//! Near-duplicate clusters of PDQ hashes at scale: connected components of the graph whose
//! edges join hashes within a Hamming radius, found through a 16 x 16-bit multi-index
//! instead of comparing all pairs.
//!
//! **Method.** Identical hashes are merged first (a sort). By pigeonhole, two 256-bit
//! hashes within distance `r` have some 16-bit slot (of 16) within `floor(r / 16)` bits of
//! each other. For each slot in turn the distinct hashes are counting-sorted by that slot's
//! 16-bit key into one contiguous copy, so a key's hashes sit together; then every key's
//! group is compared with itself and with the groups of the keys within `floor(r / 16)`
//! bits above it. Each comparison is a full 256-bit distance on hashes already in cache, and
//! pairs within the radius are joined in a union-find. Radius 31 (the match radius) checks
//! about `n² · 17 / 65536 / 2` pairs per slot for uniformly spread hashes (`n = 10^6`:
//! 1.3e8 per slot) instead of `n² / 2`; radii of 64 and more fall back to all pairs.
//!
//! **Deterministic.** Connected components do not depend on the order in which pairs are
//! found, and clusters are numbered from 1 in the order of their first member in the input
//! (for the scan: path order), so results are the same for any thread count.
//!
//! **Cost.** Memory: the hashes twice (32 bytes each), three `u32` per hash and a 256 KiB
//! key table. Time grows with the pairs sharing a slot: a hostile input of many distinct
//! hashes all within a few bits of each other is quadratic in time (never in memory: pairs
//! are joined as they are found, in bounded batches). `examples/cluster_bench.rs` measures
//! 10^5 and 10^6 hashes with near-duplicate groups (docs/review.md).
//!
//! ```
//! use mediahash::cluster::cluster_pdq;
//!
//! let a = [0x5a_u8; 32];
//! let mut b = a;
//! b[3] ^= 0x0f; // 4 bits away: a re-encoded copy
//! let c = [0xa5_u8; 32]; // 256 bits away
//! let clusters = cluster_pdq(&[c, a, b], 31);
//! assert_eq!(clusters.ids, vec![None, Some(1), Some(1)]);
//! assert_eq!((clusters.count(), clusters.sizes[0], clusters.first[0]), (1, 2, 1));
//! ```

use rayon::prelude::*;
use std::sync::Mutex;

/// The clusters of some PDQ hashes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Clusters {
    /// Per input hash, in input order: its cluster (numbered from 1 in the order of each
    /// cluster's first member), or `None` when no other hash lies within the radius of it
    /// or of its cluster (singletons are not clusters).
    pub ids: Vec<Option<u64>>,
    /// Members per cluster (`sizes[id - 1]`), always 2 or more.
    pub sizes: Vec<u64>,
    /// Input index of each cluster's first member (`first[id - 1]`), its representative.
    pub first: Vec<usize>,
}

impl Clusters {
    /// How many clusters.
    pub fn count(&self) -> u64 {
        self.sizes.len() as u64
    }

    /// How many input hashes belong to some cluster.
    pub fn clustered(&self) -> u64 {
        self.sizes.iter().sum()
    }
}

/// A hash as four words (any fixed split works for the pigeonhole; this one is cheap).
/// For each needle, the nearest haystack hash within `radius` (inclusive) as (distance,
/// haystack index), or `None`: the first one in haystack order among equally near ones, so
/// a caller that orders the haystack by preference gets its preferred one. Exact: every
/// pair is compared (a near-miss radius such as 70 bits is beyond what a multi-index
/// prunes), but in blocks, so each block of the haystack is read from memory once per
/// group of needles rather than once per needle, with the needle groups spread over the
/// current rayon pool. The same result for any thread count.
///
/// ```
/// use mediahash::cluster::nearest_within;
/// let a = [0u8; 32];
/// let mut b = a;
/// b[0] = 0x0f; // 4 bits from a
/// let far = [0xff_u8; 32];
/// assert_eq!(nearest_within(&[b, far], &[far, a, a], 10), vec![Some((4, 1)), Some((0, 0))]);
/// ```
pub fn nearest_within(
    needles: &[[u8; 32]],
    haystack: &[[u8; 32]],
    radius: u32,
) -> Vec<Option<(u32, usize)>> {
    let hay: Vec<[u64; 4]> = haystack.iter().map(words).collect();
    let needles: Vec<[u64; 4]> = needles.iter().map(words).collect();
    let mut out = vec![None; needles.len()];
    out.par_chunks_mut(NEEDLE_GROUP).zip(needles.par_chunks(NEEDLE_GROUP)).for_each(
        |(best, group)| {
            // Only distances within the radius matter: start there, so the early exit
            // works from the first block on.
            let mut nearest = [(radius.saturating_add(1), usize::MAX); NEEDLE_GROUP];
            for (b, block) in hay.chunks(HAY_BLOCK).enumerate() {
                nearest_in_block(group, block, b * HAY_BLOCK, &mut nearest);
            }
            for (slot, &(d, i)) in best.iter_mut().zip(&nearest) {
                *slot = (i != usize::MAX).then_some((d, i));
            }
        },
    );
    out
}

/// Needles compared together against each haystack block (their best so far stay in
/// registers and L1).
const NEEDLE_GROUP: usize = 64;
/// Haystack hashes per block: 64 KiB, resident in L2 while a needle group passes over it.
const HAY_BLOCK: usize = 2048;

fn nearest_in_block(
    group: &[[u64; 4]],
    block: &[[u64; 4]],
    first: usize,
    nearest: &mut [(u32, usize); NEEDLE_GROUP],
) {
    #[cfg(target_arch = "x86_64")]
    if popcnt_available() {
        // SAFETY: the CPU was checked for popcnt just above.
        unsafe { nearest_in_block_popcnt(group, block, first, nearest) };
        return;
    }
    nearest_in_block_portable(group, block, first, nearest);
}

#[cfg(target_arch = "x86_64")]
fn popcnt_available() -> bool {
    static POPCNT: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *POPCNT.get_or_init(|| is_x86_feature_detected!("popcnt"))
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "popcnt")]
fn nearest_in_block_popcnt(
    group: &[[u64; 4]],
    block: &[[u64; 4]],
    first: usize,
    nearest: &mut [(u32, usize); NEEDLE_GROUP],
) {
    nearest_in_block_portable(group, block, first, nearest)
}

#[inline(always)]
fn nearest_in_block_portable(
    group: &[[u64; 4]],
    block: &[[u64; 4]],
    first: usize,
    nearest: &mut [(u32, usize); NEEDLE_GROUP],
) {
    for (needle, best) in group.iter().zip(nearest.iter_mut()) {
        let mut best_d = best.0;
        let mut best_i = best.1;
        for (j, h) in block.iter().enumerate() {
            // Three words first: unrelated hashes are already farther than any near-miss
            // radius there (mean 96 of 192 bits), so the fourth word is rarely read.
            let d3 = (needle[0] ^ h[0]).count_ones()
                + (needle[1] ^ h[1]).count_ones()
                + (needle[2] ^ h[2]).count_ones();
            if d3 >= best_d {
                continue;
            }
            let d = d3 + (needle[3] ^ h[3]).count_ones();
            // Strictly nearer only: the first of equally near ones stays.
            if d < best_d {
                best_d = d;
                best_i = first + j;
            }
        }
        *best = (best_d, best_i);
    }
}

fn words(h: &[u8; 32]) -> [u64; 4] {
    std::array::from_fn(|w| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&h[8 * w..8 * w + 8]);
        u64::from_le_bytes(b)
    })
}

fn distance(a: &[u64; 4], b: &[u64; 4]) -> u32 {
    (a[0] ^ b[0]).count_ones()
        + (a[1] ^ b[1]).count_ones()
        + (a[2] ^ b[2]).count_ones()
        + (a[3] ^ b[3]).count_ones()
}

/// Union-find over `u32` ids, the smaller id as root (so roots are stable).
struct UnionFind {
    parent: Vec<u32>,
}

impl UnionFind {
    fn new(n: usize) -> UnionFind {
        UnionFind { parent: (0..n as u32).collect() }
    }

    fn find(&mut self, mut i: u32) -> u32 {
        while self.parent[i as usize] != i {
            let grand = self.parent[self.parent[i as usize] as usize];
            self.parent[i as usize] = grand;
            i = grand;
        }
        i
    }

    fn union(&mut self, a: u32, b: u32) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            self.parent[ra.max(rb) as usize] = ra.min(rb);
        }
    }
}

/// Pairs found by one worker before it takes the union-find's lock.
const EDGE_BATCH: usize = 1 << 14;
/// Keys handled by one parallel task.
const KEYS_PER_TASK: usize = 1024;
/// Below this many distinct hashes all pairs are compared (cheaper than sorting 16 times).
const ALL_PAIRS_BELOW: usize = 2048;

/// Clusters `hashes` (PDQ, 32 bytes as [`crate::perceptual::pdq::PdqHash`] holds them):
/// connected components of "within `radius` bits" (inclusive), on rayon's current pool.
/// See the module documentation for the method and its cost.
pub fn cluster_pdq(hashes: &[[u8; 32]], radius: u32) -> Clusters {
    let n = hashes.len();
    // Distinct hashes, and each input's distinct index.
    let mut order: Vec<u32> = (0..n as u32).collect();
    order.par_sort_unstable_by(|&a, &b| hashes[a as usize].cmp(&hashes[b as usize]));
    let mut distinct: Vec<[u64; 4]> = Vec::new();
    let mut distinct_of = vec![0u32; n];
    for (k, &i) in order.iter().enumerate() {
        if k == 0 || hashes[i as usize] != hashes[order[k - 1] as usize] {
            distinct.push(words(&hashes[i as usize]));
        }
        distinct_of[i as usize] = (distinct.len() - 1) as u32;
    }
    drop(order);

    let uf = Mutex::new(UnionFind::new(distinct.len()));
    if radius >= 64 || distinct.len() < ALL_PAIRS_BELOW {
        join_all_pairs(&distinct, radius, &uf);
    } else {
        join_through_slots(&distinct, radius, &uf);
    }
    let mut uf = uf.into_inner().unwrap_or_else(|e| e.into_inner());

    // Sizes per root (counting identical inputs), then ids in order of first members.
    let roots: Vec<u32> = distinct_of.iter().map(|&d| uf.find(d)).collect();
    let mut size = vec![0u64; distinct.len()];
    for &r in &roots {
        size[r as usize] += 1;
    }
    const NONE: u64 = u64::MAX;
    let mut id_of_root = vec![NONE; distinct.len()];
    let mut out = Clusters { ids: Vec::with_capacity(n), sizes: Vec::new(), first: Vec::new() };
    for (i, &r) in roots.iter().enumerate() {
        if size[r as usize] < 2 {
            out.ids.push(None);
            continue;
        }
        if id_of_root[r as usize] == NONE {
            out.sizes.push(size[r as usize]);
            out.first.push(i);
            id_of_root[r as usize] = out.sizes.len() as u64;
        }
        out.ids.push(Some(id_of_root[r as usize]));
    }
    out
}

fn flush(edges: &mut Vec<(u32, u32)>, uf: &Mutex<UnionFind>) {
    if edges.is_empty() {
        return;
    }
    let mut uf = uf.lock().unwrap_or_else(|e| e.into_inner());
    for &(a, b) in edges.iter() {
        uf.union(a, b);
    }
    edges.clear();
}

fn join_all_pairs(distinct: &[[u64; 4]], radius: u32, uf: &Mutex<UnionFind>) {
    (0..distinct.len()).into_par_iter().with_min_len(64).for_each(|i| {
        let mut edges = Vec::new();
        for j in i + 1..distinct.len() {
            if distance(&distinct[i], &distinct[j]) <= radius {
                edges.push((i as u32, j as u32));
                if edges.len() >= EDGE_BATCH {
                    flush(&mut edges, uf);
                }
            }
        }
        flush(&mut edges, uf);
    });
}

/// The 16-bit key of slot `s` (0..16).
fn slot_key(h: &[u64; 4], s: usize) -> usize {
    ((h[s / 4] >> ((s % 4) * 16)) & 0xffff) as usize
}

fn join_through_slots(distinct: &[[u64; 4]], radius: u32, uf: &Mutex<UnionFind>) {
    let m = distinct.len();
    let bits = radius / 16;
    // Non-zero 16-bit masks of at most `bits` set bits: the neighbouring keys.
    let masks: Vec<usize> =
        (1..=0xffffusize).filter(|x| x.count_ones() <= bits).collect::<Vec<_>>();
    let mut start = vec![0u32; 65537];
    let mut ids = vec![0u32; m];
    let mut sorted = vec![[0u64; 4]; m];
    for s in 0..16 {
        // Counting sort by the slot's key.
        start.iter_mut().for_each(|c| *c = 0);
        for h in distinct {
            start[slot_key(h, s) + 1] += 1;
        }
        for k in 0..65536 {
            start[k + 1] += start[k];
        }
        let mut next = start.clone();
        for (i, h) in distinct.iter().enumerate() {
            let k = slot_key(h, s);
            let at = next[k] as usize;
            next[k] += 1;
            ids[at] = i as u32;
            sorted[at] = *h;
        }
        drop(next);
        let (start, ids, sorted, masks) = (&start, &ids, &sorted, &masks);
        (0..65536 / KEYS_PER_TASK).into_par_iter().for_each(|task| {
            let mut edges = Vec::new();
            let group = |k: usize| start[k] as usize..start[k + 1] as usize;
            for k in task * KEYS_PER_TASK..(task + 1) * KEYS_PER_TASK {
                let g = group(k);
                if g.is_empty() {
                    continue;
                }
                for a in g.clone() {
                    for b in a + 1..g.end {
                        if distance(&sorted[a], &sorted[b]) <= radius {
                            edges.push((ids[a], ids[b]));
                        }
                    }
                }
                for &mask in masks {
                    let k2 = k ^ mask;
                    // Each pair of keys once: from the smaller.
                    if k2 < k {
                        continue;
                    }
                    let g2 = group(k2);
                    for a in g.clone() {
                        for b in g2.clone() {
                            if distance(&sorted[a], &sorted[b]) <= radius {
                                edges.push((ids[a], ids[b]));
                            }
                        }
                    }
                }
                if edges.len() >= EDGE_BATCH {
                    flush(&mut edges, uf);
                }
            }
            flush(&mut edges, uf);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny deterministic generator (tests must not depend on a crate's sequence).
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn hash(&mut self) -> [u8; 32] {
            let mut h = [0u8; 32];
            for c in h.chunks_exact_mut(8) {
                c.copy_from_slice(&self.next().to_le_bytes());
            }
            h
        }
        fn flip(&mut self, h: &[u8; 32], bits: u32) -> [u8; 32] {
            let mut out = *h;
            for _ in 0..bits {
                let b = (self.next() % 256) as usize;
                out[b / 8] ^= 1 << (b % 8);
            }
            out
        }
    }

    /// The reference: all pairs, components numbered by first member.
    fn brute(hashes: &[[u8; 32]], radius: u32) -> Vec<Option<u64>> {
        let n = hashes.len();
        let mut uf = UnionFind::new(n);
        for i in 0..n {
            for j in i + 1..n {
                if distance(&words(&hashes[i]), &words(&hashes[j])) <= radius {
                    uf.union(i as u32, j as u32);
                }
            }
        }
        let roots: Vec<u32> = (0..n as u32).map(|i| uf.find(i)).collect();
        let mut size = vec![0; n];
        roots.iter().for_each(|&r| size[r as usize] += 1);
        let mut ids = vec![0u64; n];
        let mut next = 0;
        roots
            .iter()
            .map(|&r| {
                (size[r as usize] >= 2).then(|| {
                    if ids[r as usize] == 0 {
                        next += 1;
                        ids[r as usize] = next;
                    }
                    ids[r as usize]
                })
            })
            .collect()
    }

    fn groups(rng: &mut Rng, n: usize, max_flip: u64) -> Vec<[u8; 32]> {
        let mut out = Vec::new();
        while out.len() < n {
            let base = rng.hash();
            let members = 1 + rng.next() % 6;
            for _ in 0..members {
                let flips = (rng.next() % (max_flip + 1)) as u32;
                out.push(rng.flip(&base, flips));
            }
            if rng.next().is_multiple_of(5) {
                out.push(base); // an identical copy
            }
        }
        out.truncate(n);
        // Interleave groups so members are not adjacent in input order.
        let mut shuffled = Vec::with_capacity(n);
        let mut rest = out;
        while !rest.is_empty() {
            let i = (rng.next() % rest.len() as u64) as usize;
            shuffled.push(rest.swap_remove(i));
        }
        shuffled
    }

    #[test]
    fn multi_index_equals_all_pairs() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for (n, radius, flips) in [(3000, 31, 24), (3500, 20, 20), (4000, 47, 30), (3000, 63, 40)] {
            let hashes = groups(&mut rng, n, flips);
            let got = cluster_pdq(&hashes, radius);
            assert_eq!(got.ids, brute(&hashes, radius), "n {n} radius {radius}");
            assert!(got.count() > 10, "the test must have clusters");
            assert_eq!(got.clustered(), got.ids.iter().flatten().count() as u64);
            for (c, &f) in got.first.iter().enumerate() {
                assert_eq!(got.ids[f], Some(c as u64 + 1));
                assert!(got.ids[..f].iter().all(|id| *id != Some(c as u64 + 1)));
            }
        }
    }

    #[test]
    fn chains_join_and_ids_follow_first_member() {
        let bits = |r: std::ops::Range<usize>| {
            let mut h = [0u8; 32];
            for b in r {
                h[b / 8] |= 1 << (b % 8);
            }
            h
        };
        let hashes =
            [bits(0..128), bits(0..0), bits(0..20), bits(0..40), bits(0..127), bits(200..256)];
        let c = cluster_pdq(&hashes, 31);
        assert_eq!(c.ids, vec![Some(1), Some(2), Some(2), Some(2), Some(1), None]);
        assert_eq!(c.sizes, vec![2, 3]);
    }

    #[test]
    fn same_clusters_for_any_thread_count() {
        let mut rng = Rng(42);
        let hashes = groups(&mut rng, 5000, 28);
        let run = |threads| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| cluster_pdq(&hashes, 31))
        };
        assert_eq!(run(1), run(4));
    }

    #[test]
    fn nearest_within_equals_brute_force() {
        let mut rng = Rng(7);
        let hay = groups(&mut rng, 5000, 80);
        let needles: Vec<[u8; 32]> = (0..150)
            .map(|i| {
                if i % 3 == 0 {
                    rng.hash()
                } else {
                    rng.flip(&hay[i * 31 % hay.len()], 20 + i as u32 % 60)
                }
            })
            .collect();
        for radius in [0, 31, 70, 256] {
            let got = nearest_within(&needles, &hay, radius);
            for (n, g) in needles.iter().zip(&got) {
                let want = hay
                    .iter()
                    .enumerate()
                    .map(|(i, h)| (distance(&words(n), &words(h)), i))
                    .min()
                    .filter(|(d, _)| *d <= radius);
                assert_eq!(*g, want);
            }
        }
        assert_eq!(nearest_within(&needles, &[], 256), vec![None; needles.len()]);
        assert!(nearest_within(&[], &hay, 256).is_empty());
    }

    #[test]
    fn identical_hashes_and_empty_input() {
        assert_eq!(cluster_pdq(&[], 31), Clusters::default());
        let h = [7u8; 32];
        let c = cluster_pdq(&vec![h; 5000], 31);
        assert_eq!(c.sizes, vec![5000]);
        assert!(c.ids.iter().all(|id| *id == Some(1)));
    }
}
