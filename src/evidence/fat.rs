//! FAT12/16/32, read-only, with deleted entries, read through a [`DiskImage`].
//!
//! * **Boot sector**: bytes per sector (512-4096, power of two), sectors per cluster (power
//!   of two), reserved sectors, FAT count and size, root entries, total sectors; the type
//!   comes from the cluster count (Microsoft's rule: < 4085 FAT12, < 65525 FAT16, else
//!   FAT32). A volume that fails a check is not FAT ([`FatError::NotFat`]).
//! * **FAT**: read once ([`MAX_FAT_BYTES`] at most). Chains are followed while the next
//!   cluster is a valid data cluster, never visiting a cluster twice (a loop is a problem of
//!   that entry) and at most as many clusters as the volume has.
//! * **Directories**: every 32-byte entry up to the first 0x00; long names (LFN slots, in
//!   reverse order before their 8.3 entry) are used when their sequence numbers and
//!   checksums agree with the 8.3 entry (for a deleted entry, whose first 8.3 byte is lost,
//!   the slots must agree with each other). Directories are walked depth-first, each
//!   directory cluster chain at most once (a directory pointing to itself or an ancestor
//!   is a problem, not a loop).
//! * **Deleted entries** (first byte 0xE5): the 8.3 name gets `_` as first character (as
//!   The Sleuth Kit shows it), a long name survives. Content is recovered as The Sleuth Kit
//!   does: from the start cluster, the following *unallocated* clusters until the size is
//!   covered; when the start cluster is allocated again only that cluster is taken and the
//!   content is marked unreliable ([`Recovery::StartAllocated`]). Deleted directories are
//!   walked through their first cluster only when it is unallocated.
//! * **Entry numbers** are The Sleuth Kit's (`fls`/`icat` inode numbers): root 2, then one
//!   per 32-byte slot counted from the first sector after the FATs.

use std::collections::HashSet;
use std::io;

use super::image::DiskImage;

/// Largest FAT read into memory (a FAT32 of 2 TiB with 32 KiB clusters has a 256 MiB FAT).
pub const MAX_FAT_BYTES: u64 = 256 << 20;
/// Directory entries read at most in one directory (FAT32 allows 65536 per directory).
pub const MAX_DIR_ENTRIES: usize = 65_536;
/// Directory depth followed at most.
pub const MAX_DEPTH: usize = 256;

/// The FAT variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FatType {
    /// 12-bit entries.
    Fat12,
    /// 16-bit entries.
    Fat16,
    /// 32-bit entries (28 used).
    Fat32,
}

impl FatType {
    /// The name reports use (`fat12`, `fat16`, `fat32`).
    pub fn as_str(self) -> &'static str {
        match self {
            FatType::Fat12 => "fat12",
            FatType::Fat16 => "fat16",
            FatType::Fat32 => "fat32",
        }
    }
}

/// Why a volume could not be read as FAT.
#[derive(Debug, thiserror::Error)]
pub enum FatError {
    /// The boot sector is not a FAT boot sector.
    #[error("not a FAT file system: {why}")]
    NotFat {
        /// The check that failed.
        why: String,
    },
    /// The FAT is larger than [`MAX_FAT_BYTES`].
    #[error("the FAT is {bytes} bytes, over the {MAX_FAT_BYTES}-byte limit")]
    FatTooLarge {
        /// Its size.
        bytes: u64,
    },
    /// Reading the boot sector or the FAT failed.
    #[error("cannot read the FAT file system's {what}: {source}")]
    Io {
        /// What was being read.
        what: &'static str,
        /// The error.
        source: io::Error,
    },
}

/// How much a file's content can be trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recovery {
    /// An allocated file: its FAT chain.
    Allocated,
    /// A deleted file: its start cluster and the following unallocated clusters (right
    /// when the file was not fragmented).
    Recovered,
    /// A deleted file whose start cluster is allocated again: one cluster, which now
    /// belongs to another file; the content is not the deleted file's.
    StartAllocated,
    /// No content to read (size 0 or start cluster 0 or out of range).
    None,
}

/// One file or directory found in the file system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FatEntry {
    /// Path inside the file system, `/`-joined, no leading `/`.
    pub path: Vec<u8>,
    /// A directory.
    pub is_dir: bool,
    /// Marked deleted (its own entry or an ancestor's).
    pub deleted: bool,
    /// The entry number as The Sleuth Kit numbers it (`icat`'s inode).
    pub entry_number: u64,
    /// Size from the directory entry (0 for directories).
    pub size: u64,
    /// First cluster.
    pub start_cluster: u32,
    /// Content location: (media offset, length) in file order, summing to the bytes that
    /// can be read (at most `size`).
    pub runs: Vec<(u64, u64)>,
    /// How the runs were found.
    pub recovery: Recovery,
    /// Modification time as written (local time, no zone): seconds since 1970 as if UTC.
    pub mtime: Option<i64>,
    /// What is wrong with this entry (chain loop, chain shorter than the size...).
    pub problem: Option<String>,
}

/// An open FAT file system.
pub struct FatFs<'a> {
    image: &'a dyn DiskImage,
    /// Media offset of the volume.
    base: u64,
    /// The variant.
    pub kind: FatType,
    bytes_per_sector: u64,
    cluster_bytes: u64,
    /// Sector (volume-relative) of the first data cluster (cluster 2).
    first_cluster_sector: u64,
    /// Sector after the FATs (root directory on FAT12/16): where entry numbers count from.
    first_data_sector: u64,
    root_dir_sectors: u64,
    root_cluster: u32,
    /// Data clusters + 2 (valid cluster numbers are 2..cluster_end).
    cluster_end: u32,
    fat: Vec<u32>,
    /// Problems of the whole file system (directory loops...).
    pub problems: Vec<String>,
}

fn u16le(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
fn u32le(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Whether the sector is a FAT boot sector with a plausible BPB.
pub fn is_fat_boot_sector(sector: &[u8]) -> bool {
    parse_bpb(sector, u64::MAX).is_ok()
}

struct Bpb {
    bytes_per_sector: u64,
    sectors_per_cluster: u64,
    reserved: u64,
    fats: u64,
    root_entries: u64,
    total_sectors: u64,
    fat_sectors: u64,
    root_cluster: u32,
}

fn parse_bpb(s: &[u8], volume_len: u64) -> Result<Bpb, String> {
    if s.len() < 512 {
        return Err("boot sector shorter than 512 bytes".into());
    }
    if s[510..512] != [0x55, 0xAA] {
        return Err("no 0x55AA signature".into());
    }
    if !(s[0] == 0xEB || s[0] == 0xE9) {
        return Err(format!("no jump instruction (first byte 0x{:02x})", s[0]));
    }
    let bps = u64::from(u16le(s, 11));
    if !(512..=4096).contains(&bps) || !bps.is_power_of_two() {
        return Err(format!("bytes per sector {bps}"));
    }
    let spc = u64::from(s[13]);
    if spc == 0 || !spc.is_power_of_two() {
        return Err(format!("sectors per cluster {spc}"));
    }
    let reserved = u64::from(u16le(s, 14));
    let fats = u64::from(s[16]);
    if reserved == 0 || fats == 0 || fats > 4 {
        return Err(format!("reserved sectors {reserved}, FAT count {fats}"));
    }
    let root_entries = u64::from(u16le(s, 17));
    let total16 = u64::from(u16le(s, 19));
    let total = if total16 != 0 { total16 } else { u64::from(u32le(s, 32)) };
    let fat16 = u64::from(u16le(s, 22));
    let fat_sectors = if fat16 != 0 { fat16 } else { u64::from(u32le(s, 36)) };
    if total == 0 || fat_sectors == 0 {
        return Err(format!("total sectors {total}, FAT sectors {fat_sectors}"));
    }
    if volume_len != u64::MAX && total * bps > volume_len {
        // Truncated media: still readable up to its end (reads past it are errors).
    }
    Ok(Bpb {
        bytes_per_sector: bps,
        sectors_per_cluster: spc,
        reserved,
        fats,
        root_entries,
        total_sectors: total,
        fat_sectors,
        root_cluster: u32le(s, 44),
    })
}

impl<'a> FatFs<'a> {
    /// Opens the FAT file system of the volume at media offset `base`, `len` bytes long.
    ///
    /// # Errors
    /// [`FatError`]: not FAT, FAT too large, or the boot sector or FAT unreadable.
    pub fn open(image: &'a dyn DiskImage, base: u64, len: u64) -> Result<FatFs<'a>, FatError> {
        let mut boot = vec![0u8; 512];
        image
            .read_exact_at(base, &mut boot)
            .map_err(|source| FatError::Io { what: "boot sector", source })?;
        let b = parse_bpb(&boot, len).map_err(|why| FatError::NotFat { why })?;
        let root_dir_sectors = (b.root_entries * 32).div_ceil(b.bytes_per_sector);
        let first_data_sector = b.reserved + b.fats * b.fat_sectors;
        let first_cluster_sector = first_data_sector + root_dir_sectors;
        if first_cluster_sector >= b.total_sectors {
            return Err(FatError::NotFat {
                why: format!(
                    "data area starts at sector {first_cluster_sector}, past the {} sectors",
                    b.total_sectors
                ),
            });
        }
        let clusters = (b.total_sectors - first_cluster_sector) / b.sectors_per_cluster;
        let kind = if clusters < 4085 {
            FatType::Fat12
        } else if clusters < 65525 {
            FatType::Fat16
        } else {
            FatType::Fat32
        };
        if kind == FatType::Fat32 && (b.root_entries != 0 || b.root_cluster < 2) {
            return Err(FatError::NotFat {
                why: format!(
                    "FAT32 with root entries {} and root cluster {}",
                    b.root_entries, b.root_cluster
                ),
            });
        }
        if kind != FatType::Fat32 && b.root_entries == 0 {
            return Err(FatError::NotFat { why: "FAT12/16 with no root directory entries".into() });
        }
        let cluster_end = u32::try_from(clusters + 2).unwrap_or(u32::MAX).min(0x0FFF_FFF7);
        // Entries the FAT must hold, and what it holds.
        let fat_bytes = b.fat_sectors * b.bytes_per_sector;
        if fat_bytes > MAX_FAT_BYTES {
            return Err(FatError::FatTooLarge { bytes: fat_bytes });
        }
        let mut raw = vec![0u8; fat_bytes as usize];
        image
            .read_exact_at(base + b.reserved * b.bytes_per_sector, &mut raw)
            .map_err(|source| FatError::Io { what: "first FAT", source })?;
        // Only as many entries as the FAT on disk holds (a forged BPB can claim 2^28
        // clusters behind a one-sector FAT): clusters past it read as free.
        let held = match kind {
            FatType::Fat12 => raw.len() * 2 / 3,
            FatType::Fat16 => raw.len() / 2,
            FatType::Fat32 => raw.len() / 4,
        };
        let entries = (cluster_end as usize).min(held);
        let fat: Vec<u32> = (0..entries)
            .map(|n| match kind {
                FatType::Fat12 => {
                    let at = n + n / 2;
                    if at + 1 >= raw.len() {
                        return 0;
                    }
                    let v = u32::from(u16le(&raw, at));
                    if n % 2 == 0 { v & 0xFFF } else { v >> 4 }
                }
                FatType::Fat16 => raw.get(2 * n..2 * n + 2).map_or(0, |b| u32::from(u16le(b, 0))),
                FatType::Fat32 => {
                    raw.get(4 * n..4 * n + 4).map_or(0, |b| u32le(b, 0) & 0x0FFF_FFFF)
                }
            })
            .collect();
        Ok(FatFs {
            image,
            base,
            kind,
            bytes_per_sector: b.bytes_per_sector,
            cluster_bytes: b.bytes_per_sector * b.sectors_per_cluster,
            first_cluster_sector,
            first_data_sector,
            root_dir_sectors,
            root_cluster: b.root_cluster,
            cluster_end,
            fat,
            problems: Vec::new(),
        })
    }

    /// Bytes per cluster.
    pub fn cluster_bytes(&self) -> u64 {
        self.cluster_bytes
    }

    fn cluster_offset(&self, cluster: u32) -> u64 {
        self.base
            + (self.first_cluster_sector
                + u64::from(cluster - 2) * (self.cluster_bytes / self.bytes_per_sector))
                * self.bytes_per_sector
    }

    fn valid(&self, cluster: u32) -> bool {
        (2..self.cluster_end).contains(&cluster)
    }

    fn allocated(&self, cluster: u32) -> bool {
        self.fat.get(cluster as usize).is_some_and(|&v| v != 0)
    }

    /// Media ranges of the data clusters the FAT marks free (entry 0), sorted; clusters
    /// past the FAT's entries are left out (their state is unknown).
    pub fn free_ranges(&self) -> Vec<(u64, u64)> {
        let mut out: Vec<(u64, u64)> = Vec::new();
        for c in 2..(self.cluster_end as usize).min(self.fat.len()) {
            if self.fat[c] != 0 {
                continue;
            }
            let off = self.cluster_offset(c as u32);
            match out.last_mut() {
                Some((o, l)) if *o + *l == off => *l += self.cluster_bytes,
                _ => out.push((off, self.cluster_bytes)),
            }
        }
        out
    }

    /// The cluster chain from `start`: the clusters, and a problem when it loops or leads to
    /// an invalid cluster.
    fn chain(&self, start: u32) -> (Vec<u32>, Option<String>) {
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        let mut c = start;
        let eoc = match self.kind {
            FatType::Fat12 => 0xFF8,
            FatType::Fat16 => 0xFFF8,
            FatType::Fat32 => 0x0FFF_FFF8,
        };
        loop {
            if !self.valid(c) {
                return (
                    out,
                    Some(format!("cluster chain from {start} reaches invalid cluster {c}")),
                );
            }
            if !seen.insert(c) {
                return (
                    out,
                    Some(format!("cluster chain from {start} loops back to cluster {c}")),
                );
            }
            out.push(c);
            // The FAT may hold fewer entries than the cluster count claims (a forged or
            // damaged boot sector): a cluster past its end has no successor to read.
            let Some(&next) = self.fat.get(c as usize) else {
                return (
                    out,
                    Some(format!(
                        "cluster chain from {start} reaches cluster {c}, past the {} entries \
                         of the FAT",
                        self.fat.len()
                    )),
                );
            };
            if next >= eoc {
                return (out, None);
            }
            if next == 0 {
                return (
                    out,
                    Some(format!("cluster chain from {start} reaches free cluster after {c}")),
                );
            }
            c = next;
        }
    }

    /// Runs (media offset, length) covering `clusters` in order, cut at `limit` bytes;
    /// adjacent clusters merge.
    fn runs(&self, clusters: &[u32], limit: u64) -> Vec<(u64, u64)> {
        let mut runs: Vec<(u64, u64)> = Vec::new();
        let mut left = limit;
        for &c in clusters {
            if left == 0 {
                break;
            }
            let len = self.cluster_bytes.min(left);
            left -= len;
            let off = self.cluster_offset(c);
            match runs.last_mut() {
                Some((o, l)) if *o + *l == off => *l += len,
                _ => runs.push((off, len)),
            }
        }
        runs
    }

    /// TSK's recovery of a deleted file: the start cluster and the following unallocated
    /// clusters until `size` is covered (start allocated: that cluster alone).
    fn recover(&self, start: u32, size: u64) -> (Vec<(u64, u64)>, Recovery) {
        if size == 0 || !self.valid(start) {
            return (Vec::new(), Recovery::None);
        }
        if self.allocated(start) {
            return (self.runs(&[start], size), Recovery::StartAllocated);
        }
        let needed = size.div_ceil(self.cluster_bytes);
        let mut clusters = Vec::new();
        let mut c = start;
        while (clusters.len() as u64) < needed && self.valid(c) {
            if !self.allocated(c) {
                clusters.push(c);
            }
            c += 1;
        }
        (self.runs(&clusters, size), Recovery::Recovered)
    }

    /// Reads a directory's bytes: the fixed root (FAT12/16) or a cluster chain.
    fn dir_bytes(&self, start: Option<u32>, deleted: bool) -> (Vec<u8>, Option<String>) {
        let (runs, problem) = match start {
            None => {
                let off = self.base + self.first_data_sector * self.bytes_per_sector;
                (vec![(off, self.root_dir_sectors * self.bytes_per_sector)], None)
            }
            Some(c) if deleted => (self.runs(&[c], self.cluster_bytes), None),
            Some(c) => {
                let (clusters, problem) = self.chain(c);
                (self.runs(&clusters, MAX_DIR_ENTRIES as u64 * 32), problem)
            }
        };
        let mut out = Vec::new();
        for (off, len) in runs {
            let at = out.len();
            out.resize(at + len as usize, 0);
            if let Err(e) = self.image.read_exact_at(off, &mut out[at..]) {
                out.truncate(at);
                return (
                    out,
                    Some(format!("cannot read directory bytes {off}..{}: {e}", off + len)),
                );
            }
        }
        (out, problem)
    }

    /// The TSK entry number of the 32-byte slot at media offset `off`.
    fn entry_number(&self, off: u64) -> u64 {
        let rel = off - self.base - self.first_data_sector * self.bytes_per_sector;
        3 + rel / 32
    }

    /// Every entry, depth-first, names in on-disk order; directories before their
    /// contents. The root itself is not listed.
    pub fn entries(&mut self) -> Vec<FatEntry> {
        let mut out = Vec::new();
        let mut visited = HashSet::new();
        let root = (self.kind == FatType::Fat32).then_some(self.root_cluster);
        if let Some(c) = root {
            visited.insert(c);
        }
        self.walk(root, false, Vec::new(), 0, &mut visited, &mut out);
        out
    }

    fn walk(
        &mut self,
        dir: Option<u32>,
        deleted: bool,
        prefix: Vec<u8>,
        depth: usize,
        visited: &mut HashSet<u32>,
        out: &mut Vec<FatEntry>,
    ) {
        let (bytes, problem) = self.dir_bytes(dir, deleted);
        if let Some(p) = problem {
            let at = if prefix.is_empty() {
                "/".to_string()
            } else {
                String::from_utf8_lossy(&prefix).into_owned()
            };
            self.problems.push(format!("directory {at}: {p}"));
        }
        // Media offsets of the directory's slots (for entry numbers).
        let slot_offsets = self.slot_offsets(dir, deleted, bytes.len());
        let mut lfn: Vec<[u8; 32]> = Vec::new();
        for (i, slot) in bytes.chunks_exact(32).enumerate().take(MAX_DIR_ENTRIES) {
            let first = slot[0];
            if first == 0 {
                break;
            }
            let attr = slot[11];
            if attr & 0x3F == 0x0F {
                lfn.push(slot.try_into().unwrap_or([0; 32]));
                continue;
            }
            let slots = std::mem::take(&mut lfn);
            if attr & 0x08 != 0 {
                continue; // volume label
            }
            let short = &slot[0..11];
            if short == b".          " || short == b"..         " {
                continue;
            }
            let is_deleted = deleted || first == 0xE5;
            let name = long_name(&slots, short, first == 0xE5).unwrap_or_else(|| short_name(slot));
            if name.is_empty() || name.contains(&b'/') {
                continue;
            }
            let mut path = prefix.clone();
            if !path.is_empty() {
                path.push(b'/');
            }
            path.extend_from_slice(&name);
            let is_dir = attr & 0x10 != 0;
            let mut start = u32::from(u16le(slot, 26));
            if self.kind == FatType::Fat32 {
                start |= u32::from(u16le(slot, 20)) << 16;
            }
            let size = if is_dir { 0 } else { u64::from(u32le(slot, 28)) };
            let mut entry = FatEntry {
                path: path.clone(),
                is_dir,
                deleted: is_deleted,
                entry_number: slot_offsets.get(i).map_or(0, |&o| self.entry_number(o)),
                size,
                start_cluster: start,
                runs: Vec::new(),
                recovery: Recovery::None,
                mtime: dos_time(u16le(slot, 24), u16le(slot, 22)),
                problem: None,
            };
            if !is_dir {
                if is_deleted {
                    let (runs, recovery) = self.recover(start, size);
                    entry.runs = runs;
                    entry.recovery = recovery;
                } else if size > 0 {
                    let (clusters, problem) = self.chain(start);
                    entry.runs = self.runs(&clusters, size);
                    entry.recovery = Recovery::Allocated;
                    let covered: u64 = entry.runs.iter().map(|r| r.1).sum();
                    entry.problem = match problem {
                        Some(p) => Some(p),
                        None if covered < size => Some(format!(
                            "the cluster chain covers {covered} of the {size} bytes the entry declares"
                        )),
                        None => None,
                    };
                }
            }
            out.push(entry);
            if is_dir && self.valid(start) && depth < MAX_DEPTH {
                if is_deleted && self.allocated(start) {
                    continue; // its cluster belongs to something else now
                }
                if !visited.insert(start) {
                    let last = out.len() - 1;
                    out[last].problem = Some(format!(
                        "directory cluster {start} was already walked (a directory pointing to \
                         itself or another directory): not walked again"
                    ));
                    continue;
                }
                self.walk(Some(start), is_deleted, path, depth + 1, visited, out);
            }
        }
    }

    /// Media offsets of each 32-byte slot of a directory read by `dir_bytes`.
    fn slot_offsets(&self, dir: Option<u32>, deleted: bool, len: usize) -> Vec<u64> {
        let runs = match dir {
            None => vec![(self.base + self.first_data_sector * self.bytes_per_sector, len as u64)],
            Some(c) if deleted => self.runs(&[c], len as u64),
            Some(c) => self.runs(&self.chain(c).0, len as u64),
        };
        runs.iter().flat_map(|&(o, l)| (0..l / 32).map(move |k| o + 32 * k)).collect()
    }
}

/// The 8.3 name with The Sleuth Kit's rules: `_` for a deleted first byte, 0x05 → 0xE5,
/// lower-case flags honoured, bytes above 0x7F as Latin-1 (code pages are not guessed).
fn short_name(slot: &[u8]) -> Vec<u8> {
    let lower_base = slot[12] & 0x08 != 0;
    let lower_ext = slot[12] & 0x10 != 0;
    let conv = |b: u8, lower: bool| -> char {
        let c = char::from(b);
        if lower { c.to_ascii_lowercase() } else { c }
    };
    let mut base: String = slot[0..8].iter().map(|&b| conv(b, lower_base)).collect();
    match slot[0] {
        0xE5 => base.replace_range(..base.chars().next().map_or(0, char::len_utf8), "_"),
        0x05 => base.replace_range(..1, "\u{e5}"),
        _ => {}
    }
    let base = base.trim_end_matches(' ');
    let ext: String = slot[8..11].iter().map(|&b| conv(b, lower_ext)).collect();
    let ext = ext.trim_end_matches(' ');
    let mut name = base.to_string();
    if !ext.is_empty() {
        name.push('.');
        name.push_str(ext);
    }
    name.into_bytes()
}

/// The 8.3 checksum LFN slots carry.
fn lfn_checksum(short: &[u8]) -> u8 {
    short.iter().fold(0u8, |sum, &b| ((sum & 1) << 7).wrapping_add(sum >> 1).wrapping_add(b))
}

/// The long name from the LFN slots before an 8.3 entry (disk order), when they agree.
fn long_name(slots: &[[u8; 32]], short: &[u8], deleted: bool) -> Option<Vec<u8>> {
    let first = slots.first()?;
    let sum = first[13];
    if slots.iter().any(|s| s[13] != sum) {
        return None;
    }
    if !deleted {
        if lfn_checksum(short) != sum {
            return None;
        }
        // Sequence numbers n|0x40, n-1, ..., 1.
        let n = slots.len();
        if first[0] != 0x40 | n as u8 {
            return None;
        }
        if slots.iter().enumerate().skip(1).any(|(i, s)| usize::from(s[0]) != n - i) {
            return None;
        }
    }
    let mut units = Vec::new();
    for s in slots.iter().rev() {
        for at in (1..11).step_by(2).chain((14..26).step_by(2)).chain((28..32).step_by(2)) {
            units.push(u16le(s, at));
        }
    }
    let end = units.iter().position(|&u| u == 0 || u == 0xFFFF).unwrap_or(units.len());
    let name = String::from_utf16_lossy(&units[..end]);
    (!name.is_empty()).then(|| name.into_bytes())
}

/// A DOS date and time as seconds since 1970 (the local time as if it were UTC).
fn dos_time(date: u16, time: u16) -> Option<i64> {
    if date == 0 {
        return None;
    }
    let year = 1980 + i64::from(date >> 9);
    let month = i64::from((date >> 5) & 0xF);
    let day = i64::from(date & 0x1F);
    if !(1..=12).contains(&month) || day == 0 {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = i64::from(time >> 11) * 3600
        + i64::from((time >> 5) & 0x3F) * 60
        + 2 * i64::from(time & 0x1F);
    Some(days * 86_400 + secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_checksums() {
        let mut slot = [b' '; 32];
        slot[0..8].copy_from_slice(b"\xe5EADME  ");
        slot[8..11].copy_from_slice(b"TXT");
        slot[12] = 0x18;
        assert_eq!(short_name(&slot), b"_eadme.txt");
        assert_eq!(dos_time(0x21, 0), Some(315_532_800)); // 1980-01-01
    }

    /// A forged FAT32 BPB claiming 2^32 sectors behind a one-sector FAT: the FAT table
    /// held in memory is what the disk holds (128 entries), not 2^28 entries (1 GiB).
    #[test]
    fn forged_cluster_count_does_not_size_the_fat() {
        let mut media = vec![0u8; 8 * 512];
        let boot = &mut media[..512];
        boot[0] = 0xEB;
        boot[11..13].copy_from_slice(&512u16.to_le_bytes());
        boot[13] = 1; // sectors per cluster
        boot[14..16].copy_from_slice(&1u16.to_le_bytes()); // reserved
        boot[16] = 1; // FATs
        boot[32..36].copy_from_slice(&u32::MAX.to_le_bytes()); // total sectors
        boot[36..40].copy_from_slice(&1u32.to_le_bytes()); // FAT sectors
        boot[44..48].copy_from_slice(&2u32.to_le_bytes()); // root cluster
        boot[510] = 0x55;
        boot[511] = 0xAA;
        let mut fs = FatFs::open(&media, 0, media.len() as u64).unwrap();
        assert_eq!(fs.kind, FatType::Fat32);
        assert_eq!(fs.fat.len(), 128);
        // Walking it stays bounded: the root cluster's chain ends, reads past the media fail.
        let _ = fs.entries();
    }
    /// Found by fuzzing (fuzz/fuzz_targets/fat.rs): a FAT16 boot sector claiming 4092
    /// clusters behind a one-sector FAT (256 entries), and a file whose chain steps from
    /// cluster 255 to 256, past the FAT's end: a damaged entry, not an index panic.
    #[test]
    fn chain_past_the_fat_entries_is_damage() {
        let mut media = vec![0u8; 8 * 512];
        let boot = &mut media[..512];
        boot[0] = 0xEB;
        boot[11..13].copy_from_slice(&512u16.to_le_bytes());
        boot[13] = 1; // sectors per cluster
        boot[14..16].copy_from_slice(&1u16.to_le_bytes()); // reserved
        boot[16] = 2; // FATs
        boot[17..19].copy_from_slice(&16u16.to_le_bytes()); // root entries
        boot[19..21].copy_from_slice(&4096u16.to_le_bytes()); // sectors
        boot[21] = 0xF8;
        boot[22..24].copy_from_slice(&1u16.to_le_bytes()); // sectors per FAT
        boot[510] = 0x55;
        boot[511] = 0xAA;
        // FAT 1 (sector 1): cluster 255 -> 256.
        media[512 + 255 * 2..512 + 256 * 2].copy_from_slice(&256u16.to_le_bytes());
        // Root directory (sector 3): A.TXT, start cluster 255, 2048 bytes.
        let entry = &mut media[3 * 512..3 * 512 + 32];
        entry[0..11].copy_from_slice(b"A       TXT");
        entry[26..28].copy_from_slice(&255u16.to_le_bytes());
        entry[28..32].copy_from_slice(&2048u32.to_le_bytes());
        let mut fs = FatFs::open(&media, 0, media.len() as u64).unwrap();
        assert_eq!(fs.kind, FatType::Fat16);
        assert_eq!(fs.fat.len(), 256);
        let entries = fs.entries();
        let a = entries.iter().find(|e| e.path == b"A.TXT").expect("A.TXT listed");
        let problem = a.problem.as_deref().unwrap_or_default();
        assert!(problem.contains("past the 256 entries of the FAT"), "{problem:?}");
    }
}
