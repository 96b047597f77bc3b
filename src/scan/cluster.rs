//! `--cluster`: group unknown images whose PDQ hashes are within the radius, as connected
//! components (union-find). Only components of two or more images are clusters; they are
//! numbered from 1 in the order of their first member in the report (path order), so the
//! numbering is deterministic.
//!
//! Cost: all pairs, O(n²) 256-bit Hamming distances over the n unknown images with a usable
//! PDQ (about 50 M pairs per second per core; 10 000 images take well under a second).

use std::collections::HashMap;

/// Cluster ids by report ordinal, and how many clusters there are.
pub(crate) struct Clusters {
    pub members: HashMap<u64, u64>,
    pub count: u64,
}

fn find(parent: &mut [usize], mut i: usize) -> usize {
    while parent[i] != i {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    i
}

fn distance(a: &[u8; 32], b: &[u8; 32]) -> u32 {
    a.iter().zip(b).map(|(x, y)| (x ^ y).count_ones()).sum()
}

/// `points` are (report ordinal, PDQ) in increasing ordinal order.
pub(crate) fn assign(points: &[(u64, [u8; 32])], radius: u32) -> Clusters {
    let n = points.len();
    let mut parent: Vec<usize> = (0..n).collect();
    for i in 0..n {
        for j in i + 1..n {
            if distance(&points[i].1, &points[j].1) <= radius {
                let (ri, rj) = (find(&mut parent, i), find(&mut parent, j));
                if ri != rj {
                    // Keep the smaller index as root: the root is the first member.
                    parent[ri.max(rj)] = ri.min(rj);
                }
            }
        }
    }
    let mut size = vec![0u32; n];
    for i in 0..n {
        let r = find(&mut parent, i);
        size[r] += 1;
    }
    let mut id_of_root: HashMap<usize, u64> = HashMap::new();
    let mut members = HashMap::new();
    let mut count = 0;
    for (i, point) in points.iter().enumerate() {
        let r = find(&mut parent, i);
        if size[r] < 2 {
            continue;
        }
        // Roots are first members, met in ordinal order: ids follow first paths.
        let id = *id_of_root.entry(r).or_insert_with(|| {
            count += 1;
            count
        });
        members.insert(point.0, id);
    }
    Clusters { members, count }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(bits: &[usize]) -> [u8; 32] {
        let mut h = [0u8; 32];
        for &b in bits {
            h[b / 8] |= 1 << (b % 8);
        }
        h
    }

    #[test]
    fn chains_join_and_ids_follow_first_member() {
        let far: Vec<usize> = (0..128).collect();
        let points = vec![
            (0, hash(&far)), // cluster B member (first of its cluster: id 1)
            (1, hash(&[])),  // cluster A
            (2, hash(&(0..20).collect::<Vec<_>>())), // within 20 of #1
            (3, hash(&(0..40).collect::<Vec<_>>())), // within 20 of #2, 40 of #1: chained
            (4, hash(&(0..127).collect::<Vec<_>>())), // within 1 of #0
            (5, hash(&(200..256).collect::<Vec<_>>())), // alone
        ];
        let c = assign(&points, 31);
        assert_eq!(c.count, 2);
        assert_eq!(c.members.get(&0), Some(&1));
        assert_eq!(c.members.get(&4), Some(&1));
        assert_eq!(c.members.get(&1), Some(&2));
        assert_eq!(c.members.get(&2), Some(&2));
        assert_eq!(c.members.get(&3), Some(&2));
        assert_eq!(c.members.get(&5), None, "singletons are not clusters");
    }
}
