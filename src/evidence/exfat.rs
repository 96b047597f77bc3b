//! exFAT, read-only, with deleted entry sets, read through a [`DiskImage`]. Every length,
//! offset and cluster number read from the volume is checked before use; damage is an
//! error for the entry or a problem of the volume, never a panic, and memory is bounded
//! by the caps below and by what the media holds (never by a length field alone).
//!
//! * **Boot region**: `EXFAT   ` file-system name and 0x55AA; bytes per sector `2^9..2^12`,
//!   clusters up to 32 MiB, one or two FATs, FAT and cluster heap inside the volume. The
//!   boot region checksum (sectors 0-10, sector 11 repeating it) is checked; on a mismatch
//!   the backup boot region (sectors 12-23) is used when its own checksum holds, and the
//!   volume reports the damage either way.
//! * **FAT**: the active FAT (`VolumeFlags` bit 0 with two FATs), read in pages on demand
//!   (only fragmented files, directories and the root use it). Chains are followed while the
//!   next cluster is in the heap, never visiting a cluster twice, never past what the size
//!   needs.
//! * **Allocation bitmap**: from the root directory's bitmap entry (the active one with two
//!   FATs), read through its cluster chain (contiguous when the FAT does not describe it,
//!   as The Sleuth Kit assumes). It tells deleted recovery which clusters are free and gives
//!   [`FileSystem::unallocated`]. The up-case table is not needed for reading and is only
//!   listed.
//! * **Directory entry sets**: a File entry (0x85) followed by its secondary count of
//!   secondary entries: the Stream Extension (0xC0: flags, name length, `ValidDataLength`,
//!   first cluster, `DataLength`) and 1-17 File Name entries (0xC1), then any other
//!   secondary entries. The set checksum is checked (for a deleted set with the in-use bits
//!   put back, as deletion clears only those): a mismatch is an error for that entry
//!   ([`ReasonCode::FileSystemDamaged`]). An incomplete in-use set is a problem of the
//!   volume. Every slot of a directory's `DataLength` is scanned (also past an
//!   end-of-directory entry), as The Sleuth Kit does.
//! * **Content**: `DataLength` is the size (as The Sleuth Kit gives it). With `NoFatChain`
//!   (stream flags bit 1) the clusters are contiguous and the FAT is never consulted;
//!   otherwise the FAT chain. Bytes past `ValidDataLength` read as **zeros**: the exFAT
//!   specification says so and every driver returns them so (The Sleuth Kit's `icat`
//!   gives the stale bytes on disk instead). A size past the cluster heap, a chain that
//!   loops, leaves the heap, reaches a free cluster or ends short, and contiguous clusters
//!   past the heap are errors for the entry.
//! * **Deleted entry sets** (in-use bit 7 clear in each entry; The Sleuth Kit also calls an
//!   in-use set deleted when its directory cluster is free in the bitmap): a deleted
//!   `NoFatChain` file is exactly `DataLength` bytes from its first cluster, read only when
//!   none of those clusters is allocated again ([`ReasonCode::NotRecoverable`] otherwise);
//!   a deleted file with a FAT chain is recovered as The Sleuth Kit does for FAT (the first
//!   cluster and the following free clusters; first cluster allocated again: not
//!   recoverable). Deleted directories are walked through the same clusters; everything
//!   below a deleted directory is deleted.
//! * **Directory loops**: a cluster is read as a directory at most once; a directory whose
//!   clusters were already read (pointing to itself or to another directory) is not read
//!   again (a problem for an in-use directory, not recoverable for a deleted one), and
//!   directories nest at most [`MAX_DEPTH`] deep: so reading directories never exceeds the
//!   cluster heap.
//! * **Entry numbers** are The Sleuth Kit's (`fls`/`icat` inode numbers): root 2, then one
//!   per 32-byte slot counted from the start of the cluster heap (`3 + offset / 32`); an
//!   entry set's number is its File entry's.
//! * **Special entries** of the root directory (allocation bitmap, up-case table, volume
//!   label, volume GUID, TexFAT padding, access control table) are listed with The Sleuth
//!   Kit's names (`$ALLOC_BITMAP`, `$UPCASE_TABLE`, `LABEL (Volume Label Entry)`...) and
//!   skipped with [`ReasonCode::FileSystemMetadata`].
//! * **Names** are UTF-16 (unpaired surrogates become U+FFFD); a `/` or NUL, which exFAT
//!   forbids, becomes `_` so a path stays a path. **Times**: last modified and last
//!   accessed, in UTC when the entry records its UTC offset (a local time without one is
//!   not reported).

use std::collections::{HashMap, HashSet};
use std::io;

use super::fs::{EntryState, Extent, FileData, FileSystem, FsEntry};
use super::image::DiskImage;
use crate::report::{Reason, ReasonCode, Timestamp};

/// Largest directory read (the exFAT specification's limit: 256 MiB, 8 Mi entries).
pub const MAX_DIR_BYTES: u64 = 256 << 20;
/// Directory depth followed at most.
pub const MAX_DEPTH: usize = 256;
/// FAT pages (4 KiB each) kept in memory at once.
const FAT_CACHE_PAGES: usize = 256;
/// Bytes of a directory read from the media at once.
const DIR_READ_CHUNK: u64 = 64 << 10;

/// Why a volume could not be read as exFAT.
#[derive(Debug, thiserror::Error)]
pub enum ExfatError {
    /// The boot sector is not an exFAT boot sector.
    #[error("not an exFAT file system: {why}")]
    NotExfat {
        /// The check that failed.
        why: String,
    },
    /// An exFAT boot sector whose layout is impossible, or whose root directory cannot be
    /// read.
    #[error(
        "exFAT file system damaged: {why}; its files are not listed (check with fsck.exfat or The Sleuth Kit's fsstat)"
    )]
    Damaged {
        /// What is wrong.
        why: String,
    },
    /// The boot region could not be read.
    #[error("cannot read the exFAT {what}: {source}")]
    Io {
        /// What was being read.
        what: &'static str,
        /// The error.
        source: io::Error,
    },
}

fn u16le(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
fn u32le(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
fn u64le(b: &[u8], at: usize) -> u64 {
    let mut v = [0u8; 8];
    v.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(v)
}

/// Whether the sector starts an exFAT volume (file-system name and signature).
pub fn is_exfat_boot_sector(sector: &[u8]) -> bool {
    sector.len() >= 512 && &sector[3..11] == b"EXFAT   " && sector[510..512] == [0x55, 0xAA]
}

/// The volume's layout from its boot sector, in bytes relative to the volume start.
#[derive(Debug, Clone, Copy)]
struct Geometry {
    sector_bytes: u64,
    cluster_bytes: u64,
    fat_offset: u64,
    fat_bytes: u64,
    heap_offset: u64,
    cluster_count: u32,
    root_cluster: u32,
    /// Index (0 or 1) of the active FAT and allocation bitmap.
    active: u8,
}

fn parse_boot(s: &[u8]) -> Result<Geometry, String> {
    if !is_exfat_boot_sector(s) {
        return Err("no `EXFAT   ` name and 0x55AA signature in the boot sector".into());
    }
    let bps_shift = u32::from(s[108]);
    let spc_shift = u32::from(s[109]);
    if !(9..=12).contains(&bps_shift) {
        return Err(format!("bytes-per-sector shift {bps_shift} (must be 9-12)"));
    }
    if bps_shift + spc_shift > 25 {
        return Err(format!("cluster of 2^{} bytes (at most 32 MiB)", bps_shift + spc_shift));
    }
    let sector_bytes = 1u64 << bps_shift;
    let cluster_sectors = 1u64 << spc_shift;
    let volume_sectors = u64le(s, 72);
    let fat_offset = u64::from(u32le(s, 80));
    let fat_len = u64::from(u32le(s, 84));
    let heap_offset = u64::from(u32le(s, 88));
    let cluster_count = u32le(s, 92);
    let root_cluster = u32le(s, 96);
    let flags = u16le(s, 106);
    let fats = u64::from(s[110]);
    if fats != 1 && fats != 2 {
        return Err(format!("{fats} FATs (must be 1 or 2)"));
    }
    if fat_offset < 24 || fat_len == 0 || fat_offset + fats * fat_len > heap_offset {
        return Err(format!(
            "FAT at sector {fat_offset}, {fats} x {fat_len} sectors, cluster heap at sector \
             {heap_offset}: they overlap or the FAT sits in the boot region"
        ));
    }
    if cluster_count == 0 || cluster_count > 0xFFFF_FFF5 {
        return Err(format!("cluster count {cluster_count}"));
    }
    let heap_end = heap_offset + u64::from(cluster_count) * cluster_sectors;
    if heap_end > volume_sectors {
        return Err(format!(
            "the cluster heap ends at sector {heap_end}, past the volume's {volume_sectors} \
             sectors"
        ));
    }
    if u64::from(cluster_count) + 2 > fat_len * sector_bytes / 4 {
        return Err(format!("a FAT of {fat_len} sectors cannot hold {cluster_count} clusters"));
    }
    if !(2..u64::from(cluster_count) + 2).contains(&u64::from(root_cluster)) {
        return Err(format!("root directory cluster {root_cluster} is not in the cluster heap"));
    }
    let active = if fats == 2 { (flags & 1) as u8 } else { 0 };
    Ok(Geometry {
        sector_bytes,
        cluster_bytes: sector_bytes * cluster_sectors,
        fat_offset: (fat_offset + u64::from(active) * fat_len) * sector_bytes,
        fat_bytes: fat_len * sector_bytes,
        heap_offset: heap_offset * sector_bytes,
        cluster_count,
        root_cluster,
        active,
    })
}

/// The boot region checksum of `region` (11 sectors of `sector_bytes`): VolumeFlags
/// (bytes 106-107) and PercentInUse (byte 112) are left out, as they change in use.
fn boot_checksum(region: &[u8], sector_bytes: usize) -> u32 {
    region[..11 * sector_bytes].iter().enumerate().fold(0u32, |sum, (i, &b)| {
        if i == 106 || i == 107 || i == 112 {
            sum
        } else {
            sum.rotate_right(1).wrapping_add(u32::from(b))
        }
    })
}

/// Whether the 12-sector boot region's checksum sector repeats the checksum of the first
/// 11 sectors.
fn boot_region_ok(region: &[u8], sector_bytes: usize) -> bool {
    let sum = boot_checksum(region, sector_bytes);
    region[11 * sector_bytes..12 * sector_bytes].chunks_exact(4).all(|c| u32le(c, 0) == sum)
}

/// The set checksum over an entry set's slots, skipping the File entry's checksum field.
/// `restore_in_use` sets bit 7 of each type byte first (deletion clears only those bits).
fn set_checksum(slots: &[[u8; 32]], restore_in_use: bool) -> u16 {
    let mut sum = 0u16;
    for (n, slot) in slots.iter().enumerate() {
        for (i, &b) in slot.iter().enumerate() {
            if n == 0 && (i == 2 || i == 3) {
                continue;
            }
            let b = if i == 0 && restore_in_use { b | 0x80 } else { b };
            sum = sum.rotate_right(1).wrapping_add(u16::from(b));
        }
    }
    sum
}

/// An exFAT timestamp with its 10 ms increment and UTC offset byte, in UTC; `None` when
/// the date is invalid or no UTC offset is recorded (a local time without a zone).
fn exfat_time(stamp: u32, tens_ms: u8, utc_offset: u8) -> Option<Timestamp> {
    if utc_offset & 0x80 == 0 || stamp == 0 {
        return None;
    }
    let year = 1980 + i64::from(stamp >> 25);
    let month = i64::from((stamp >> 21) & 0xF);
    let day = i64::from((stamp >> 16) & 0x1F);
    let hour = i64::from((stamp >> 11) & 0x1F);
    let minute = i64::from((stamp >> 5) & 0x3F);
    let secs2 = i64::from(stamp & 0x1F);
    if !(1..=12).contains(&month) || day == 0 || hour > 23 || minute > 59 || secs2 > 29 {
        return None;
    }
    let tens = if tens_ms <= 199 { u32::from(tens_ms) } else { 0 };
    // Days from civil (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    // 7-bit signed offset in 15-minute steps east of UTC.
    let offset = i64::from(((utc_offset << 1) as i8) >> 1) * 15 * 60;
    let local = days * 86_400 + hour * 3600 + minute * 60 + secs2 * 2 + i64::from(tens / 100);
    Some(Timestamp { secs: local - offset, nanos: (tens % 100) * 10_000_000 })
}

/// The active FAT, read in pages on demand.
struct FatTable {
    /// Media offset of the FAT.
    at: u64,
    /// Entries the FAT holds (never more than cluster count + 2).
    entries: u64,
    pages: HashMap<u64, Vec<u32>>,
}

const FAT_PAGE: u64 = 1024;

impl FatTable {
    /// The FAT entry of `cluster`; an error when it cannot be read.
    fn get(&mut self, image: &dyn DiskImage, cluster: u32) -> Result<u32, String> {
        let n = u64::from(cluster);
        if n >= self.entries {
            return Err(format!("cluster {cluster} has no FAT entry"));
        }
        let page = n / FAT_PAGE;
        if !self.pages.contains_key(&page) {
            if self.pages.len() >= FAT_CACHE_PAGES {
                self.pages.clear();
            }
            let count = (self.entries - page * FAT_PAGE).min(FAT_PAGE);
            let mut raw = vec![0u8; count as usize * 4];
            image
                .read_exact_at(self.at + page * FAT_PAGE * 4, &mut raw)
                .map_err(|e| format!("cannot read the FAT entry of cluster {cluster}: {e}"))?;
            self.pages.insert(page, raw.chunks_exact(4).map(|c| u32le(c, 0)).collect());
        }
        Ok(self.pages[&page][(n % FAT_PAGE) as usize])
    }
}

/// How a deleted entry's content was found.
enum Recovered {
    /// Media runs covering the size.
    Runs(Vec<(u64, u64)>),
    /// Not recoverable, with the reason.
    Not(String),
}

/// An entry set's Stream Extension fields.
#[derive(Debug, Clone, Copy)]
struct Stream {
    no_fat_chain: bool,
    valid_len: u64,
    first_cluster: u32,
    data_len: u64,
}

/// An open exFAT file system.
pub struct ExfatFs<'a> {
    image: &'a dyn DiskImage,
    /// Media offset of the volume.
    base: u64,
    g: Geometry,
    fat: FatTable,
    /// One bit per cluster (set = allocated), from cluster 2; `None` when it could not be
    /// read (every cluster then counts as allocated: nothing is recovered or carved on a
    /// guess).
    bitmap: Option<Vec<u8>>,
    /// Clusters already read as a directory.
    dir_clusters: HashSet<u32>,
    /// Problems of the whole file system.
    pub problems: Vec<String>,
    entries: Vec<FsEntry>,
}

/// A directory to walk: its content runs on the media and how it was reached.
struct DirJob {
    runs: Vec<(u64, u64)>,
    prefix: Vec<u8>,
    deleted: bool,
    depth: usize,
    is_root: bool,
}

impl<'a> ExfatFs<'a> {
    /// Opens the exFAT file system of the volume at media offset `base`, `len` bytes on the
    /// media.
    ///
    /// # Errors
    /// [`ExfatError`]: not exFAT, an impossible layout, or the boot region unreadable.
    pub fn open(image: &'a dyn DiskImage, base: u64, len: u64) -> Result<ExfatFs<'a>, ExfatError> {
        let mut boot = vec![0u8; 512];
        image
            .read_exact_at(base, &mut boot)
            .map_err(|source| ExfatError::Io { what: "boot sector", source })?;
        if !is_exfat_boot_sector(&boot) {
            return Err(ExfatError::NotExfat {
                why: "no `EXFAT   ` name and 0x55AA signature".into(),
            });
        }
        let mut problems = Vec::new();
        let main = parse_boot(&boot);
        // The boot region checksum; on a mismatch the backup region, if it holds.
        let sector = main.as_ref().map_or(512, |g| g.sector_bytes) as usize;
        let mut region = vec![0u8; 24 * sector];
        let whole = image.read_exact_at(base, &mut region).is_ok();
        let g = if !whole {
            problems.push(
                "the boot region (24 sectors) could not be read whole: its checksum is not \
                 checked"
                    .to_string(),
            );
            main.map_err(|why| ExfatError::Damaged { why })?
        } else if boot_region_ok(&region[..12 * sector], sector) {
            main.map_err(|why| ExfatError::Damaged { why })?
        } else if boot_region_ok(&region[12 * sector..], sector)
            && let Ok(backup) = parse_boot(&region[12 * sector..13 * sector])
        {
            problems.push(
                "the main boot region's checksum does not match: the backup boot region \
                 (sectors 12-23) was used"
                    .to_string(),
            );
            backup
        } else {
            problems.push(
                "the boot region's checksum does not match (main and backup): the boot \
                 sector's values are used as they are"
                    .to_string(),
            );
            main.map_err(|why| ExfatError::Damaged { why })?
        };
        if g.heap_offset >= len {
            return Err(ExfatError::Damaged {
                why: format!(
                    "the cluster heap starts at byte {} of the volume, past the {len} bytes on \
                     the media (truncated image?)",
                    g.heap_offset
                ),
            });
        }
        let fat_entries = (u64::from(g.cluster_count) + 2).min(g.fat_bytes / 4);
        Ok(ExfatFs {
            image,
            base,
            g,
            fat: FatTable { at: base + g.fat_offset, entries: fat_entries, pages: HashMap::new() },
            bitmap: None,
            dir_clusters: HashSet::new(),
            problems,
            entries: Vec::new(),
        })
    }

    /// One past the last cluster number.
    fn cluster_end(&self) -> u64 {
        u64::from(self.g.cluster_count) + 2
    }

    fn valid(&self, cluster: u32) -> bool {
        (2..self.cluster_end()).contains(&u64::from(cluster))
    }

    fn cluster_offset(&self, cluster: u32) -> u64 {
        self.base + self.g.heap_offset + u64::from(cluster - 2) * self.g.cluster_bytes
    }

    fn allocated(&self, cluster: u32) -> bool {
        let Some(bitmap) = &self.bitmap else { return true };
        let i = u64::from(cluster) - 2;
        bitmap.get((i / 8) as usize).is_none_or(|b| b & (1 << (i % 8)) != 0)
    }

    /// The heap's size in bytes.
    fn heap_bytes(&self) -> u64 {
        u64::from(self.g.cluster_count) * self.g.cluster_bytes
    }

    /// Runs (media offset, length) of `clusters` in order, cut at `limit` bytes.
    fn runs_of(&self, clusters: &[u32], limit: u64) -> Vec<(u64, u64)> {
        let mut runs: Vec<(u64, u64)> = Vec::new();
        let mut left = limit;
        for &c in clusters {
            if left == 0 {
                break;
            }
            let len = self.g.cluster_bytes.min(left);
            left -= len;
            let off = self.cluster_offset(c);
            match runs.last_mut() {
                Some((o, l)) if *o + *l == off => *l += len,
                _ => runs.push((off, len)),
            }
        }
        runs
    }

    /// The contiguous clusters from `start` covering `len` bytes, as one run; an error when
    /// they leave the heap.
    fn contiguous(&self, start: u32, len: u64) -> Result<Vec<(u64, u64)>, String> {
        if len == 0 {
            return Ok(Vec::new());
        }
        if !self.valid(start) {
            return Err(format!("first cluster {start} is not in the cluster heap"));
        }
        let clusters = len.div_ceil(self.g.cluster_bytes);
        if u64::from(start) + clusters > self.cluster_end() {
            return Err(format!(
                "{clusters} contiguous clusters from cluster {start} reach past the cluster \
                 heap's last cluster {}",
                self.cluster_end() - 1
            ));
        }
        Ok(vec![(self.cluster_offset(start), len)])
    }

    /// The FAT chain from `start` until `len` bytes are covered (or its end when `len` is
    /// `None`, at most `cap` bytes); a problem when it loops, leaves the heap, reaches a
    /// free or bad cluster, or ends before `len`.
    fn chain(&mut self, start: u32, len: Option<u64>, cap: u64) -> (Vec<u32>, Option<String>) {
        let limit = len.unwrap_or(cap).min(cap);
        let needed = limit.div_ceil(self.g.cluster_bytes);
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        let mut c = start;
        while (out.len() as u64) < needed {
            if !self.valid(c) {
                return (
                    out,
                    Some(format!(
                        "cluster chain from {start} reaches cluster {c}, outside the cluster heap"
                    )),
                );
            }
            if !seen.insert(c) {
                return (
                    out,
                    Some(format!("cluster chain from {start} loops back to cluster {c}")),
                );
            }
            out.push(c);
            if out.len() as u64 == needed {
                break;
            }
            let next = match self.fat.get(self.image, c) {
                Ok(n) => n,
                Err(e) => return (out, Some(e)),
            };
            match next {
                0xFFFF_FFFF => {
                    return match len {
                        Some(len) => {
                            let have = out.len() as u64 * self.g.cluster_bytes;
                            (out, (have < len).then(|| {
                                format!("the cluster chain from {start} ends after {have} of the {len} bytes")
                            }))
                        }
                        None => (out, None),
                    };
                }
                0 => {
                    return (
                        out,
                        Some(format!("cluster chain from {start} reaches free cluster after {c}")),
                    );
                }
                0xFFFF_FFF7 => {
                    return (
                        out,
                        Some(format!("cluster chain from {start} reaches a bad cluster after {c}")),
                    );
                }
                n => c = n,
            }
        }
        if len.is_none() && (out.len() as u64) >= needed {
            return (
                out,
                Some(format!(
                    "the directory's cluster chain from {start} is longer than {cap} bytes: the rest is not read"
                )),
            );
        }
        (out, None)
    }

    /// The Sleuth Kit's recovery of a deleted file with a FAT chain: its first cluster and
    /// the following free clusters until `len` is covered.
    fn recover_tsk(&self, start: u32, len: u64) -> Recovered {
        if len == 0 {
            return Recovered::Runs(Vec::new());
        }
        if !self.valid(start) {
            return Recovered::Not(format!(
                "deleted entry of {len} bytes whose first cluster {start} is not in the \
                 cluster heap: content not recoverable from the file system"
            ));
        }
        if self.allocated(start) {
            return Recovered::Not(format!(
                "deleted entry whose first cluster {start} is in use again: its bytes now \
                 belong to another file (The Sleuth Kit's icat shows that cluster); not read"
            ));
        }
        let needed = len.div_ceil(self.g.cluster_bytes);
        let mut clusters = Vec::new();
        let mut c = u64::from(start);
        while (clusters.len() as u64) < needed && c < self.cluster_end() {
            if !self.allocated(c as u32) {
                clusters.push(c as u32);
            }
            c += 1;
        }
        if (clusters.len() as u64) < needed {
            return Recovered::Not(format!(
                "deleted entry of {len} bytes: only {} free clusters follow its first \
                 cluster {start}; not read",
                clusters.len()
            ));
        }
        Recovered::Runs(self.runs_of(&clusters, len))
    }

    /// A deleted `NoFatChain` entry: exactly its contiguous clusters, when none is
    /// allocated again.
    fn recover_contiguous(&self, start: u32, len: u64) -> Recovered {
        let runs = match self.contiguous(start, len) {
            Ok(r) => r,
            Err(e) => return Recovered::Not(format!("deleted entry: {e}; not recoverable")),
        };
        let clusters = len.div_ceil(self.g.cluster_bytes);
        if let Some(c) = (0..clusters).map(|k| start + k as u32).find(|&c| self.allocated(c)) {
            return Recovered::Not(format!(
                "deleted contiguous entry of {len} bytes from cluster {start}: cluster {c} is \
                 in use again, so part of its bytes now belong to another file; not read"
            ));
        }
        Recovered::Runs(runs)
    }

    /// Reads the allocation bitmap named by the root directory's bitmap entry.
    fn read_bitmap(&mut self, entry: &[u8; 32]) {
        let first = u32le(entry, 20);
        let declared = u64le(entry, 24);
        let needed = u64::from(self.g.cluster_count).div_ceil(8);
        if declared < needed {
            self.problems.push(format!(
                "the allocation bitmap holds {declared} bytes, {needed} are needed: the \
                 clusters past it count as allocated"
            ));
        }
        let len = declared.min(needed);
        // Its FAT chain; contiguous when the FAT does not describe it (as The Sleuth Kit
        // reads it).
        let (clusters, problem) = self.chain(first, Some(len), len.max(1));
        let runs = if problem.is_none() {
            self.runs_of(&clusters, len)
        } else {
            match self.contiguous(first, len) {
                Ok(r) => r,
                Err(e) => {
                    self.problems.push(format!(
                        "the allocation bitmap cannot be located ({e}): deleted files are \
                         not recovered and free space is not carved"
                    ));
                    return;
                }
            }
        };
        let mut bitmap = Vec::new();
        for (off, l) in runs {
            let at = bitmap.len();
            bitmap.resize(at + l as usize, 0);
            if let Err(e) = self.image.read_exact_at(off, &mut bitmap[at..]) {
                self.problems.push(format!(
                    "cannot read the allocation bitmap at bytes {off}..{}: {e}; deleted files \
                     are not recovered and free space is not carved",
                    off + l
                ));
                return;
            }
        }
        self.bitmap = Some(bitmap);
    }

    /// Every entry of the file system, depth-first; the root itself is not listed.
    pub fn into_file_system(mut self) -> FileSystem {
        let root = self.g.root_cluster;
        let (clusters, problem) = self.chain(root, None, MAX_DIR_BYTES);
        if let Some(p) = problem {
            self.problems.push(format!("root directory: {p}"));
        }
        let runs = self.runs_of(&clusters, u64::MAX);
        for &c in &clusters {
            self.dir_clusters.insert(c);
        }
        // The bitmap entry first (recovery needs the bitmap), then the walk.
        if let Some(entry) = self.find_bitmap_entry(&runs) {
            self.read_bitmap(&entry);
        } else {
            self.problems.push(
                "no allocation bitmap entry in the root directory: deleted files are not \
                 recovered and free space is not carved"
                    .into(),
            );
        }
        let mut stack =
            vec![DirJob { runs, prefix: Vec::new(), deleted: false, depth: 0, is_root: true }];
        while let Some(job) = stack.pop() {
            let mut children = self.walk(job);
            // Depth-first in on-disk order: the stack pops the last pushed first.
            children.reverse();
            stack.extend(children);
        }
        let unallocated = self.unallocated();
        FileSystem {
            fs_type: "exfat".into(),
            entries: std::mem::take(&mut self.entries),
            problems: self.problems,
            unallocated,
        }
    }

    /// The active allocation bitmap's entry in the root directory.
    fn find_bitmap_entry(&mut self, runs: &[(u64, u64)]) -> Option<[u8; 32]> {
        let mut found = None;
        let mut reader = SlotReader::new(runs);
        while let Some(item) = reader.next(self.image) {
            let Ok((_, slot)) = item else { break };
            if slot[0] == 0x81 && slot[1] & 1 == self.g.active {
                found = Some(slot);
                break;
            }
        }
        found
    }

    /// Media ranges of the clusters the bitmap marks free.
    fn unallocated(&self) -> Vec<(u64, u64)> {
        let Some(bitmap) = &self.bitmap else { return Vec::new() };
        super::fs::free_ranges(
            bitmap,
            u64::from(self.g.cluster_count),
            self.cluster_offset(2),
            self.g.cluster_bytes,
        )
    }

    /// The Sleuth Kit's entry number of the slot at media offset `off`.
    fn entry_number(&self, off: u64) -> u64 {
        3 + (off - self.base - self.g.heap_offset) / 32
    }

    /// Parses one directory: pushes its entries, returns its subdirectories to walk.
    fn walk(&mut self, job: DirJob) -> Vec<DirJob> {
        let mut children = Vec::new();
        let mut reader = SlotReader::new(&job.runs);
        // The entry set being collected: its slots and the File entry's media offset.
        let mut set: Vec<[u8; 32]> = Vec::new();
        let mut set_at = 0u64;
        let at_text = |prefix: &[u8]| {
            if prefix.is_empty() {
                "/".to_string()
            } else {
                String::from_utf8_lossy(prefix).into_owned()
            }
        };
        loop {
            let (off, slot) = match reader.next(self.image) {
                None => break,
                Some(Ok(s)) => s,
                Some(Err(e)) => {
                    if !job.deleted {
                        self.problems.push(format!("directory {}: {e}", at_text(&job.prefix)));
                    }
                    break;
                }
            };
            if !set.is_empty() {
                let in_use = set[0][0] & 0x80;
                let wanted =
                    if set.len() == 1 { slot[0] & 0x7F == 0x40 } else { slot[0] & 0x40 != 0 };
                if wanted && slot[0] & 0x80 == in_use {
                    set.push(slot);
                    if set.len() == usize::from(set[0][1]) + 1 {
                        let done = std::mem::take(&mut set);
                        if let Some(child) = self.entry_set(&done, set_at, &job) {
                            children.push(child);
                        }
                    }
                    continue;
                }
                // The set ends early: damage for an in-use set, overwriting for a deleted one.
                if in_use != 0 && !job.deleted {
                    self.problems.push(format!(
                        "directory {}: the entry set at entry {} is incomplete ({} of {} \
                         entries)",
                        at_text(&job.prefix),
                        self.entry_number(set_at),
                        set.len(),
                        usize::from(set[0][1]) + 1
                    ));
                }
                set.clear();
            }
            match slot[0] {
                0x85 | 0x05 if (2..=18).contains(&slot[1]) => {
                    // A deleted File entry with every time zero is not taken for one (The
                    // Sleuth Kit's test), nor is anything in a free slot that is not a set.
                    if slot[0] == 0x05 && slot[8..20].iter().all(|&b| b == 0) {
                        continue;
                    }
                    set.push(slot);
                    set_at = off;
                }
                0x85 if !job.deleted => self.problems.push(format!(
                    "directory {}: the File entry at entry {} declares {} secondary entries \
                     (2-18)",
                    at_text(&job.prefix),
                    self.entry_number(off),
                    slot[1]
                )),
                0x81 | 0x82 | 0xA0 | 0xA1 | 0xE2 if job.is_root => {
                    self.special_entry(&slot, off);
                }
                // A volume label as The Sleuth Kit takes it: 1-15 characters, or an empty
                // label entry (0x03) with a zero length and zero characters.
                0x83 if job.is_root && (1..=15).contains(&slot[1]) => {
                    self.special_entry(&slot, off);
                }
                0x03 if job.is_root && slot[1..].iter().all(|&b| b == 0) => {
                    self.special_entry(&slot, off);
                }
                _ => {}
            }
        }
        if !set.is_empty() && set[0][0] & 0x80 != 0 && !job.deleted {
            self.problems.push(format!(
                "directory {}: the entry set at entry {} is cut off by the directory's end",
                at_text(&job.prefix),
                self.entry_number(set_at)
            ));
        }
        children
    }

    /// Lists a special entry of the root directory with The Sleuth Kit's name.
    fn special_entry(&mut self, slot: &[u8; 32], off: u64) {
        let (name, size) = match slot[0] {
            0x81 => ("$ALLOC_BITMAP".to_string(), u64le(slot, 24)),
            0x82 => ("$UPCASE_TABLE".to_string(), u64le(slot, 24)),
            0x83 => {
                let chars = usize::from(slot[1]).min(15);
                let units: Vec<u16> = (0..chars).map(|i| u16le(slot, 2 + 2 * i)).collect();
                (format!("{} (Volume Label Entry)", clean_name(&units)), 0)
            }
            0x03 => ("$EMPTY_VOLUME_LABEL (Volume Label Entry)".to_string(), 0),
            0xA0 => ("$VOLUME_GUID".to_string(), 0),
            0xA1 => ("$TEX_FAT".to_string(), 0),
            _ => ("$ACCESS_CONTROL_TABLE".to_string(), 0),
        };
        self.entries.push(FsEntry {
            path: name.into_bytes(),
            is_dir: false,
            deleted: false,
            entry_number: self.entry_number(off),
            address: None,
            size,
            times: [None; 3],
            state: EntryState::Skipped(Reason::new(
                ReasonCode::FileSystemMetadata,
                "exFAT metadata (allocation bitmap, up-case table or another root directory \
                 entry): listed, not hashed (extract it with The Sleuth Kit's icat if \
                 needed)",
            )),
        });
    }

    /// Turns a complete entry set into an entry; returns the directory to walk when it is
    /// one.
    fn entry_set(&mut self, set: &[[u8; 32]], at: u64, parent: &DirJob) -> Option<DirJob> {
        let file = &set[0];
        let s = &set[1];
        let in_use = file[0] & 0x80 != 0;
        // As The Sleuth Kit: an in-use set in a free cluster is deleted too.
        let cluster = ((at - self.base - self.g.heap_offset) / self.g.cluster_bytes) as u32 + 2;
        let deleted = parent.deleted || !in_use || !self.allocated(cluster);
        let stream = Stream {
            no_fat_chain: s[1] & 0x02 != 0,
            valid_len: u64le(s, 8),
            first_cluster: u32le(s, 20),
            data_len: u64le(s, 24),
        };
        let name_len = usize::from(s[3]);
        let mut units: Vec<u16> = Vec::with_capacity(name_len);
        for slot in set[2..].iter().take_while(|e| e[0] & 0x7F == 0x41) {
            for i in 0..15 {
                if units.len() < name_len {
                    units.push(u16le(slot, 2 + 2 * i));
                }
            }
        }
        let number = self.entry_number(at);
        if units.is_empty() {
            if in_use && !parent.deleted {
                self.problems.push(format!("the entry set at entry {number} has no name"));
            }
            return None;
        }
        let name = clean_name(&units);
        let mut path = parent.prefix.clone();
        if !path.is_empty() {
            path.push(b'/');
        }
        path.extend_from_slice(name.as_bytes());
        let is_dir = u16le(file, 4) & 0x10 != 0;
        let times = [
            exfat_time(u32le(file, 12), file[21], file[23]),
            exfat_time(u32le(file, 16), 0, file[24]),
            None,
        ];
        let stored = u16le(file, 2);
        let computed = set_checksum(set, !in_use);
        let damaged =
            |why: String| EntryState::Error(Reason::new(ReasonCode::FileSystemDamaged, why));
        let mut entry = FsEntry {
            path: path.clone(),
            is_dir,
            deleted,
            entry_number: number,
            address: None,
            size: if is_dir { 0 } else { stream.data_len },
            times,
            state: EntryState::Read(FileData::Empty),
        };
        if stored != computed {
            entry.state = damaged(format!(
                "entry set checksum 0x{computed:04x} does not match the 0x{stored:04x} it \
                 records: the entry is damaged (or, deleted, partly overwritten); not read"
            ));
            self.entries.push(entry);
            return None;
        }
        let runs = match self.content_runs(&stream, deleted, is_dir) {
            Ok(runs) => runs,
            Err(state) => {
                entry.state = state;
                self.entries.push(entry);
                return None;
            }
        };
        if !is_dir {
            let valid = stream.valid_len.min(stream.data_len);
            let mut extents = Vec::new();
            let mut left = valid;
            for (offset, len) in runs {
                let take = len.min(left);
                if take > 0 {
                    extents.push(Extent::Media { offset, len: take });
                }
                left -= take;
            }
            if stream.data_len > valid {
                extents.push(Extent::Zeros { len: stream.data_len - valid });
            }
            entry.state = EntryState::Read(if extents.is_empty() {
                FileData::Empty
            } else {
                FileData::Extents(extents)
            });
            self.entries.push(entry);
            return None;
        }
        // A directory: walked unless too deep or already read.
        let index = self.entries.len();
        self.entries.push(entry);
        if parent.depth + 1 > MAX_DEPTH {
            self.entries[index].state = damaged(format!(
                "directory nested deeper than {MAX_DEPTH} levels: its entries are not listed"
            ));
            return None;
        }
        let mut clusters = Vec::new();
        for &(off, len) in &runs {
            let first = ((off - self.base - self.g.heap_offset) / self.g.cluster_bytes) as u32 + 2;
            clusters.extend((0..len.div_ceil(self.g.cluster_bytes)).map(|k| first + k as u32));
        }
        if let Some(&c) = clusters.iter().find(|c| self.dir_clusters.contains(c)) {
            let why = format!(
                "directory cluster {c} was already read as another directory (a directory \
                 pointing to itself or another one): not read again"
            );
            self.entries[index].state = if deleted {
                EntryState::Error(Reason::new(ReasonCode::NotRecoverable, why))
            } else {
                damaged(why)
            };
            return None;
        }
        self.dir_clusters.extend(clusters);
        Some(DirJob { runs, prefix: path, deleted, depth: parent.depth + 1, is_root: false })
    }

    /// The media runs of an entry's content, or the state to report instead.
    fn content_runs(
        &mut self,
        stream: &Stream,
        deleted: bool,
        is_dir: bool,
    ) -> Result<Vec<(u64, u64)>, EntryState> {
        let damaged =
            |why: String| EntryState::Error(Reason::new(ReasonCode::FileSystemDamaged, why));
        let mut len = stream.data_len;
        if len == 0 {
            return Ok(Vec::new());
        }
        if len > self.heap_bytes() {
            return Err(damaged(format!(
                "DataLength {len} is larger than the cluster heap ({} bytes): not read",
                self.heap_bytes()
            )));
        }
        if !deleted && stream.valid_len > len {
            return Err(damaged(format!(
                "ValidDataLength {} is larger than DataLength {len}: not read",
                stream.valid_len
            )));
        }
        let mut truncated = false;
        if is_dir && len > MAX_DIR_BYTES {
            len = MAX_DIR_BYTES;
            truncated = true;
        }
        let runs = if deleted {
            let recovered = if stream.no_fat_chain {
                self.recover_contiguous(stream.first_cluster, len)
            } else {
                self.recover_tsk(stream.first_cluster, len)
            };
            match recovered {
                Recovered::Runs(r) => r,
                Recovered::Not(why) => {
                    return Err(EntryState::Error(Reason::new(ReasonCode::NotRecoverable, why)));
                }
            }
        } else if stream.no_fat_chain {
            self.contiguous(stream.first_cluster, len).map_err(|e| {
                damaged(format!("{e}; not read (a hash of part of the file would mislead)"))
            })?
        } else {
            let (clusters, problem) = self.chain(stream.first_cluster, Some(len), len);
            if let Some(p) = problem {
                return Err(damaged(format!(
                    "{p}; not read (a hash of part of the file would mislead)"
                )));
            }
            self.runs_of(&clusters, len)
        };
        if truncated {
            self.problems.push(format!(
                "a directory declares {} bytes, over the {MAX_DIR_BYTES}-byte limit of \
                 exFAT directories: only the first {MAX_DIR_BYTES} bytes are read",
                stream.data_len
            ));
        }
        Ok(runs)
    }
}

/// A name from UTF-16 units: unpaired surrogates as U+FFFD, `/` and NUL as `_`.
fn clean_name(units: &[u16]) -> String {
    String::from_utf16_lossy(units).replace(['/', '\0'], "_")
}

/// Reads a directory's 32-byte slots in order, a chunk at a time.
struct SlotReader<'r> {
    runs: &'r [(u64, u64)],
    run: usize,
    within: u64,
    buf: Vec<u8>,
    buf_at: u64,
    pos: usize,
}

impl<'r> SlotReader<'r> {
    fn new(runs: &'r [(u64, u64)]) -> Self {
        SlotReader { runs, run: 0, within: 0, buf: Vec::new(), buf_at: 0, pos: 0 }
    }

    /// The next slot and its media offset; an error when the media cannot be read.
    fn next(&mut self, image: &dyn DiskImage) -> Option<Result<(u64, [u8; 32]), String>> {
        if self.pos + 32 > self.buf.len() {
            loop {
                let &(off, len) = self.runs.get(self.run)?;
                if self.within + 32 > len {
                    self.run += 1;
                    self.within = 0;
                    continue;
                }
                let want = (len - self.within).min(DIR_READ_CHUNK) / 32 * 32;
                let at = off + self.within;
                self.buf.resize(want as usize, 0);
                if let Err(e) = image.read_exact_at(at, &mut self.buf) {
                    self.run = self.runs.len();
                    return Some(Err(format!(
                        "cannot read directory bytes {at}..{}: {e}",
                        at + want
                    )));
                }
                self.buf_at = at;
                self.pos = 0;
                self.within += want;
                break;
            }
        }
        let mut slot = [0u8; 32];
        slot.copy_from_slice(&self.buf[self.pos..self.pos + 32]);
        let off = self.buf_at + self.pos as u64;
        self.pos += 32;
        Some(Ok((off, slot)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::fs::{self, DataReader};
    use std::io::Read;
    use std::sync::Arc;

    /// A small exFAT volume built from the specification: 512-byte sectors and clusters,
    /// FAT at sector 24, heap at sector 32, 200 clusters; root directory in cluster 2,
    /// allocation bitmap in cluster 3.
    struct Builder {
        media: Vec<u8>,
    }

    const SECTORS: u64 = 256;

    impl Builder {
        fn new() -> Builder {
            let mut b = Builder { media: vec![0u8; SECTORS as usize * 512] };
            let mut boot = vec![0u8; 512];
            boot[0..3].copy_from_slice(&[0xEB, 0x76, 0x90]);
            boot[3..11].copy_from_slice(b"EXFAT   ");
            boot[72..80].copy_from_slice(&SECTORS.to_le_bytes());
            boot[80..84].copy_from_slice(&24u32.to_le_bytes());
            boot[84..88].copy_from_slice(&8u32.to_le_bytes());
            boot[88..92].copy_from_slice(&32u32.to_le_bytes());
            boot[92..96].copy_from_slice(&200u32.to_le_bytes());
            boot[96..100].copy_from_slice(&2u32.to_le_bytes());
            boot[104..106].copy_from_slice(&0x100u16.to_le_bytes());
            boot[108] = 9;
            boot[109] = 0;
            boot[110] = 1;
            boot[510] = 0x55;
            boot[511] = 0xAA;
            b.media[..512].copy_from_slice(&boot);
            for s in 1..9 {
                b.media[s * 512 + 510..s * 512 + 512].copy_from_slice(&[0x55, 0xAA]);
            }
            b.seal_boot();
            b.fat(0, 0xFFFF_FFF8);
            b.fat(1, 0xFFFF_FFFF);
            b.fat(2, 0xFFFF_FFFF);
            b.fat(3, 0xFFFF_FFFF);
            b.alloc(2);
            b.alloc(3);
            let mut bitmap = [0u8; 32];
            bitmap[0] = 0x81;
            bitmap[20..24].copy_from_slice(&3u32.to_le_bytes());
            bitmap[24..32].copy_from_slice(&25u64.to_le_bytes());
            let at = b.cluster_at(2);
            b.media[at..at + 32].copy_from_slice(&bitmap);
            b
        }

        /// Writes the checksum sector of the main and backup boot regions.
        fn seal_boot(&mut self) {
            let sum = boot_checksum(&self.media[..11 * 512], 512);
            for k in 0..128 {
                self.media[11 * 512 + 4 * k..11 * 512 + 4 * k + 4]
                    .copy_from_slice(&sum.to_le_bytes());
            }
            let (main, backup) = self.media.split_at_mut(12 * 512);
            backup[..12 * 512].copy_from_slice(main);
        }

        fn cluster_at(&self, c: u32) -> usize {
            (32 + c as usize - 2) * 512
        }

        fn fat(&mut self, c: u32, v: u32) {
            let at = 24 * 512 + 4 * c as usize;
            self.media[at..at + 4].copy_from_slice(&v.to_le_bytes());
        }

        fn alloc(&mut self, c: u32) {
            let at = self.cluster_at(3) + (c as usize - 2) / 8;
            self.media[at] |= 1 << ((c - 2) % 8);
        }

        fn data(&mut self, c: u32, bytes: &[u8]) {
            let at = self.cluster_at(c);
            self.media[at..at + bytes.len()].copy_from_slice(bytes);
        }

        /// Writes an entry set for `name` at `slot` of directory cluster `dir`.
        #[allow(clippy::too_many_arguments)]
        fn set(
            &mut self,
            dir: u32,
            slot: usize,
            name: &str,
            is_dir: bool,
            no_fat_chain: bool,
            first: u32,
            len: u64,
            valid: u64,
        ) -> u64 {
            let units: Vec<u16> = name.encode_utf16().collect();
            let names = units.len().div_ceil(15);
            let mut set = vec![[0u8; 32]; 2 + names];
            set[0][0] = 0x85;
            set[0][1] = (1 + names) as u8;
            set[0][4] = if is_dir { 0x10 } else { 0x20 };
            // 2021-06-01 12:00:00 local, UTC+00:00.
            let stamp = (41u32 << 25) | (6 << 21) | (1 << 16) | (12 << 11);
            for at in [8, 12, 16] {
                set[0][at..at + 4].copy_from_slice(&stamp.to_le_bytes());
            }
            set[0][22..25].copy_from_slice(&[0x80, 0x80, 0x80]);
            set[1][0] = 0xC0;
            set[1][1] = 1 | if no_fat_chain { 2 } else { 0 };
            set[1][3] = units.len() as u8;
            set[1][8..16].copy_from_slice(&valid.to_le_bytes());
            set[1][20..24].copy_from_slice(&first.to_le_bytes());
            set[1][24..32].copy_from_slice(&len.to_le_bytes());
            for (k, chunk) in units.chunks(15).enumerate() {
                set[2 + k][0] = 0xC1;
                for (i, u) in chunk.iter().enumerate() {
                    set[2 + k][2 + 2 * i..4 + 2 * i].copy_from_slice(&u.to_le_bytes());
                }
            }
            let sum = set_checksum(&set, false);
            set[0][2..4].copy_from_slice(&sum.to_le_bytes());
            let at = self.cluster_at(dir) + 32 * slot;
            for (k, e) in set.iter().enumerate() {
                self.media[at + 32 * k..at + 32 * k + 32].copy_from_slice(e);
            }
            3 + (at as u64 - 32 * 512) / 32
        }

        /// Clears the in-use bit of the set at `slot` of directory cluster `dir`.
        fn delete(&mut self, dir: u32, slot: usize) {
            let at = self.cluster_at(dir) + 32 * slot;
            let count = usize::from(self.media[at + 1]);
            for k in 0..=count {
                self.media[at + 32 * k] &= 0x7F;
            }
        }

        fn open(&self) -> FileSystem {
            fs::open(&self.media, 0, self.media.len() as u64).unwrap()
        }
    }

    fn entry<'f>(fs: &'f FileSystem, path: &str) -> &'f FsEntry {
        fs.entries
            .iter()
            .find(|e| e.path == path.as_bytes())
            .unwrap_or_else(|| panic!("no {path} in {:?}", fs.entries))
    }

    fn read(media: &[u8], e: &FsEntry) -> Vec<u8> {
        let EntryState::Read(data) = &e.state else { panic!("{e:?} not readable") };
        let image: Arc<dyn DiskImage> = Arc::new(media.to_vec());
        let mut out = Vec::new();
        DataReader::new(image, data.clone()).read_to_end(&mut out).unwrap();
        out
    }

    fn code(e: &FsEntry) -> Option<ReasonCode> {
        match &e.state {
            EntryState::Error(r) | EntryState::Skipped(r) => Some(r.code),
            EntryState::Read(_) => None,
        }
    }

    fn bytes(n: usize, seed: u8) -> Vec<u8> {
        (0..n).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect()
    }

    /// A contiguous file, a fragmented one, one read past its valid length, a directory
    /// with a deleted contiguous file, and a deleted file whose clusters are reused.
    fn sample() -> Builder {
        let mut b = Builder::new();
        b.set(2, 1, "contiguous.bin", false, true, 10, 1200, 1200);
        b.data(10, &bytes(1200, 1));
        for c in 10..13 {
            b.alloc(c);
        }
        // Fragmented: 20 -> 30 -> 21.
        b.set(2, 4, "a rather long name that needs three.bin", false, false, 20, 1300, 1300);
        b.data(20, &bytes(512, 2));
        b.data(30, &bytes(512, 3));
        b.data(21, &bytes(276, 4));
        b.fat(20, 30);
        b.fat(30, 21);
        b.fat(21, 0xFFFF_FFFF);
        for c in [20, 21, 30] {
            b.alloc(c);
        }
        b.set(2, 9, "prealloc.bin", false, true, 40, 1024, 100);
        b.data(40, &[7u8; 1024]);
        b.alloc(40);
        b.alloc(41);
        b.set(2, 12, "Dir", true, true, 50, 512, 512);
        b.alloc(50);
        b.set(50, 0, "gone.bin", false, true, 60, 700, 700);
        b.data(60, &bytes(700, 5));
        b.delete(50, 0);
        b.set(50, 3, "reused.bin", false, true, 70, 1000, 1000);
        b.delete(50, 3);
        b.alloc(71);
        b
    }

    #[test]
    fn reads_files_deleted_sets_and_valid_length() {
        let b = sample();
        let fs = b.open();
        assert_eq!(fs.fs_type, "exfat");
        assert!(fs.problems.is_empty(), "{:?}", fs.problems);
        let e = entry(&fs, "contiguous.bin");
        assert_eq!((e.entry_number, e.size, e.deleted), (4, 1200, false));
        assert_eq!(read(&b.media, e), bytes(1200, 1));
        assert_eq!(
            e.times[0].unwrap().to_rfc3339(),
            "2021-06-01T12:00:00Z",
            "modification time in UTC"
        );
        let e = entry(&fs, "a rather long name that needs three.bin");
        let mut want = bytes(512, 2);
        want.extend(bytes(512, 3));
        want.extend(bytes(276, 4));
        assert_eq!(read(&b.media, e), want);
        let e = entry(&fs, "prealloc.bin");
        let mut want = vec![7u8; 100];
        want.resize(1024, 0);
        assert_eq!(read(&b.media, e), want, "zeros past ValidDataLength");
        assert!(entry(&fs, "Dir").is_dir);
        let e = entry(&fs, "Dir/gone.bin");
        assert!(e.deleted);
        assert_eq!(read(&b.media, e), bytes(700, 5));
        let e = entry(&fs, "Dir/reused.bin");
        assert_eq!(code(e), Some(ReasonCode::NotRecoverable), "{e:?}");
        assert_eq!(code(entry(&fs, "$ALLOC_BITMAP")), Some(ReasonCode::FileSystemMetadata));
        // Free space: every cluster the bitmap does not mark.
        let free: u64 = fs.unallocated.iter().map(|r| r.1).sum();
        assert_eq!(free, (200 - 12) * 512);
        assert_eq!(fs.unallocated[0], (32 * 512 + 2 * 512, 6 * 512), "clusters 4-9");
    }

    #[test]
    fn hostile_chain_loop_and_chain_past_the_heap() {
        let mut b = sample();
        // 20 -> 30 -> 20 before the size is covered (a loop after the last cluster needed is
        // never followed, as The Sleuth Kit does not).
        b.fat(30, 20);
        let fs = b.open();
        let e = entry(&fs, "a rather long name that needs three.bin");
        assert_eq!(code(e), Some(ReasonCode::FileSystemDamaged), "{e:?}");
        b.fat(30, 5000);
        let fs = b.open();
        let e = entry(&fs, "a rather long name that needs three.bin");
        assert_eq!(code(e), Some(ReasonCode::FileSystemDamaged), "{e:?}");
        // Contiguous clusters past the heap.
        b.set(2, 1, "contiguous.bin", false, true, 200, 1200, 1200);
        let e = entry(&b.open(), "contiguous.bin").clone();
        assert_eq!(code(&e), Some(ReasonCode::FileSystemDamaged), "{e:?}");
    }

    #[test]
    fn hostile_set_checksum_and_huge_sizes() {
        let mut b = sample();
        let at = b.cluster_at(2) + 32 * 2 + 24;
        b.media[at] ^= 1; // contiguous.bin's DataLength, checksum not updated
        let e = entry(&b.open(), "contiguous.bin").clone();
        assert_eq!(code(&e), Some(ReasonCode::FileSystemDamaged), "{e:?}");
        b.set(2, 1, "contiguous.bin", false, true, 10, u64::MAX, u64::MAX);
        let e = entry(&b.open(), "contiguous.bin").clone();
        assert_eq!(code(&e), Some(ReasonCode::FileSystemDamaged), "{e:?}");
        b.set(2, 1, "contiguous.bin", false, false, 10, 1 << 40, 1 << 40);
        let e = entry(&b.open(), "contiguous.bin").clone();
        assert_eq!(code(&e), Some(ReasonCode::FileSystemDamaged), "{e:?}");
        // ValidDataLength past DataLength.
        b.set(2, 1, "contiguous.bin", false, true, 10, 1200, 5000);
        let e = entry(&b.open(), "contiguous.bin").clone();
        assert_eq!(code(&e), Some(ReasonCode::FileSystemDamaged), "{e:?}");
    }

    #[test]
    fn hostile_directory_loops() {
        let mut b = sample();
        // A subdirectory pointing at the root, one pointing at itself.
        b.set(50, 6, "up", true, true, 2, 512, 512);
        b.set(50, 9, "self", true, true, 50, 512, 512);
        let fs = b.open();
        for p in ["Dir/up", "Dir/self"] {
            assert_eq!(code(entry(&fs, p)), Some(ReasonCode::FileSystemDamaged), "{p}");
        }
        assert!(!fs.entries.iter().any(|e| e.path.starts_with(b"Dir/up/")));
        // A root chain that loops: read once, reported.
        b.fat(2, 2);
        let fs = b.open();
        assert!(fs.problems.iter().any(|p| p.contains("loops")), "{:?}", fs.problems);
    }

    #[test]
    fn hostile_truncated_and_damaged_boot_region() {
        let b = sample();
        // Cut inside the cluster heap: entries whose bytes are gone fail when read.
        let cut = &b.media[..b.cluster_at(15)];
        let found = fs::open(&cut.to_vec(), 0, cut.len() as u64).unwrap();
        let e = entry(&found, "a rather long name that needs three.bin");
        let EntryState::Read(data) = &e.state else { panic!() };
        let image: Arc<dyn DiskImage> = Arc::new(cut.to_vec());
        assert!(DataReader::new(image, data.clone()).read_to_end(&mut Vec::new()).is_err());
        // Cut before the heap: a typed error for the volume.
        let short = b.media[..20 * 512].to_vec();
        assert!(matches!(
            fs::open(&short, 0, short.len() as u64),
            Err(fs::FsOpenError::Damaged { .. })
        ));
        // A damaged main boot region: the backup is used and the damage reported.
        let mut bad = Builder { media: b.media.clone() };
        bad.media[100] ^= 0xFF;
        let found = bad.open();
        assert!(found.problems.iter().any(|p| p.contains("backup")), "{:?}", found.problems);
        assert_eq!(read(&bad.media, entry(&found, "contiguous.bin")), bytes(1200, 1));
        // Impossible geometry: a typed error, no allocation by the claimed sizes.
        let mut absurd = Builder { media: b.media.clone() };
        absurd.media[92..96].copy_from_slice(&u32::MAX.to_le_bytes());
        absurd.seal_boot();
        assert!(matches!(
            fs::open(&absurd.media, 0, absurd.media.len() as u64),
            Err(fs::FsOpenError::Damaged { .. })
        ));
    }

    #[test]
    fn every_byte_changed_never_panics() {
        let b = sample();
        let image_len = b.media.len() as u64;
        // Each byte of the boot sector, FAT head, bitmap and directories flipped.
        let interesting = (0..512)
            .chain(24 * 512..24 * 512 + 256)
            .chain(b.cluster_at(2)..b.cluster_at(4))
            .chain(b.cluster_at(50)..b.cluster_at(51));
        for at in interesting {
            for v in [0x00, 0xFF, b.media[at] ^ 0x80] {
                let mut m = b.media.clone();
                m[at] = v;
                if let Ok(found) = fs::open(&m, 0, image_len) {
                    let image: Arc<dyn DiskImage> = Arc::new(m.clone());
                    for e in found.entries {
                        if let EntryState::Read(data) = e.state {
                            let _ =
                                DataReader::new(image.clone(), data).read_to_end(&mut Vec::new());
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn times_in_utc() {
        // 2020-02-29 13:45:58 local, UTC+02:00 (8 x 15 min), +1.23 s.
        let stamp = (40u32 << 25) | (2 << 21) | (29 << 16) | (13 << 11) | (45 << 5) | 29;
        let t = exfat_time(stamp, 123, 0x80 | 8).unwrap();
        assert_eq!(t.to_rfc3339(), "2020-02-29T11:45:59.230000000Z");
        // UTC-05:00 (-20 x 15 min, 7-bit two's complement 0x6C).
        let t = exfat_time(stamp, 0, 0x80 | 0x6C).unwrap();
        assert_eq!(t.to_rfc3339(), "2020-02-29T18:45:58Z");
        assert_eq!(exfat_time(stamp, 0, 0), None, "no UTC offset: local time");
    }

    #[test]
    fn checksums() {
        // Bit 7 cleared by deletion is put back for the check.
        let mut set = [[0u8; 32]; 3];
        set[0][0] = 0x85;
        set[0][1] = 2;
        set[1][0] = 0xC0;
        set[2][0] = 0xC1;
        set[2][2] = b'a';
        let sum = set_checksum(&set, false);
        set[0][2..4].copy_from_slice(&sum.to_le_bytes());
        assert_eq!(set_checksum(&set, false), sum, "the checksum field is left out");
        for s in &mut set {
            s[0] &= 0x7F;
        }
        assert_eq!(set_checksum(&set, true), sum);
        assert_ne!(set_checksum(&set, false), sum);
    }
}
