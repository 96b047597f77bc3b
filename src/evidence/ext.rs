//! ext2, ext3 and ext4, read-only, with deleted entries, read through a [`DiskImage`]. Our
//! own reader (no libext2fs, no The Sleuth Kit): every number read from the volume is
//! checked before use, a damaged structure is an error for that entry, never a panic, and
//! memory is bounded by the volume's size and the caps below, never by a count field alone.
//!
//! * **Superblock** at byte 1024: magic 0xEF53, blocks of 1 KiB to 64 KiB, block and inode
//!   counts, group geometry, inode size (128 to the block size), feature flags. The type is
//!   named as The Sleuth Kit names it: `ext4` with the `extents` feature, else `ext3` with a
//!   journal, else `ext2`. The inode count must be the groups' (as the kernel requires) and
//!   the group descriptors must fit the volume: else the volume is damaged.
//!   `bigalloc` and the old `compression` feature are not read (the volume is reported as a
//!   file system mediahash does not read), nor an external journal device.
//! * **Group descriptors**: 32 bytes, or the superblock's size (64) with `64bit`; after the
//!   superblock, or spread over the meta groups with `meta_bg`. `flex_bg` needs nothing
//!   special (each descriptor says where its bitmaps and inode table are).
//! * **Bitmaps**: each group's inode and block bitmap; with group-descriptor checksums
//!   (`uninit_bg`/`metadata_csum`), an `INODE_UNINIT` group has no inode in use and a
//!   `BLOCK_UNINIT` group only its metadata (superblock backup, descriptors, bitmaps and
//!   inode tables), as the kernel reads them.
//! * **File content**: block maps (12 direct pointers, single, double and triple indirect;
//!   a zero pointer is a hole that reads as zeros) or extent trees (magic 0xF30A, depth at
//!   most [`MAX_EXTENT_DEPTH`], index nodes; uninitialized extents read as zeros, as The
//!   Sleuth Kit reads them; gaps are holes), or inline data (`i_block` and the
//!   `system.data` attribute). Sizes use `i_size_high` for regular files (`large_file`), so
//!   files over 4 GiB read whole. A block number past the file system, an extent tree that
//!   loops or is deeper than allowed, extents overlapping, an indirect block used twice, a
//!   block used twice by one file or more than [`MAX_EXTENTS`] runs are errors for that file
//!   ([`ReasonCode::FileSystemDamaged`]), as is a size over [`SPARSE_FACTOR`] times the
//!   volume (zeros for ever).
//! * **Directories** are read whole, block by block, whatever their `htree` index (index
//!   blocks hold no valid entry), and parsed as The Sleuth Kit parses them: an entry is
//!   taken where its fields are plausible, stepping by the space its name needs, so names
//!   inside a predecessor's record length (deleted by merging) and names whose inode is 0
//!   are **deleted** entries; a name repeated with the same inode in one directory is listed
//!   once. Entry numbers are inode numbers; paths are as `fls -r -p` prints them. Each
//!   directory is walked once (a directory reached again is an error for that entry: a
//!   loop or a second link), at most [`MAX_DEPTH`] deep, at most [`MAX_ENTRIES`] entries
//!   in all (and no more than one per 12 bytes of the volume).
//! * **Deleted files**: an entry is deleted when its name is (see above), when its inode is
//!   free in the inode bitmap, or when its directory is. A deleted inode whose block map or
//!   extents survive (ext2; or `debugfs kill_file`) is read from them, unless a block it
//!   needs is allocated again ([`ReasonCode::NotRecoverable`]: the bytes now belong to
//!   another file). Where ext3/ext4 wiped the pointers and size at deletion there is nothing
//!   to read: [`ReasonCode::NotRecoverable`] with that explanation. A deleted name whose
//!   inode is in use again is not read either (the live file is reported under its own
//!   name). Free inodes that were used (change time set) and that no name reaches are
//!   listed under `$OrphanFiles/OrphanFile-N`, with the content of orphan directories, as
//!   The Sleuth Kit lists them.
//! * **Other inodes**: symbolic links (fast or not) are listed and skipped
//!   ([`ReasonCode::SymlinkNotFollowed`], the target in the message); devices, FIFOs and
//!   sockets are skipped with their reasons; encrypted (`fscrypt`) files are an error.
//! * **Free space** ([`FileSystem::unallocated`]): the blocks free in the block bitmaps, as
//!   media byte ranges.
//!
//! The journal is not replayed (as The Sleuth Kit reads a volume: what is on disk).

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::io;
use std::sync::Arc;

use super::fs::{EntryState, Extent, FileData, FileSystem, FsEntry};
use super::image::DiskImage;
use crate::report::{Reason, ReasonCode, Timestamp};

/// Deepest extent tree read (the kernel's limit).
pub const MAX_EXTENT_DEPTH: u16 = 5;
/// Runs (extents or contiguous block ranges) read at most for one file.
pub const MAX_EXTENTS: usize = 1 << 20;
/// Entries listed at most in one volume.
pub const MAX_ENTRIES: usize = 1 << 23;
/// Directory depth followed at most.
pub const MAX_DEPTH: usize = 1024;
/// A file may declare at most this many times its volume's size (or 1 GiB) in bytes: a
/// sparse file larger than that would be zeros for ever.
pub const SPARSE_FACTOR: u64 = 16;

const SUPERBLOCK_OFFSET: u64 = 1024;
const MAGIC: u16 = 0xEF53;
const ROOT_INODE: u64 = 2;

const COMPAT_HAS_JOURNAL: u32 = 0x0004;
const COMPAT_SPARSE_SUPER2: u32 = 0x0200;
const INCOMPAT_COMPRESSION: u32 = 0x0001;
const INCOMPAT_FILETYPE: u32 = 0x0002;
const INCOMPAT_JOURNAL_DEV: u32 = 0x0008;
const INCOMPAT_META_BG: u32 = 0x0010;
const INCOMPAT_EXTENTS: u32 = 0x0040;
const INCOMPAT_64BIT: u32 = 0x0080;
const INCOMPAT_LARGEDIR: u32 = 0x4000;
const RO_COMPAT_SPARSE_SUPER: u32 = 0x0001;
const RO_COMPAT_LARGE_FILE: u32 = 0x0002;
const RO_COMPAT_GDT_CSUM: u32 = 0x0010;
const RO_COMPAT_BIGALLOC: u32 = 0x0200;
const RO_COMPAT_METADATA_CSUM: u32 = 0x0400;

const BG_INODE_UNINIT: u16 = 0x0001;
const BG_BLOCK_UNINIT: u16 = 0x0002;

const INODE_FLAG_ENCRYPT: u32 = 0x0000_0800;
const INODE_FLAG_EXTENTS: u32 = 0x0008_0000;
const INODE_FLAG_INLINE_DATA: u32 = 0x1000_0000;

const S_IFMT: u16 = 0xF000;
const S_IFIFO: u16 = 0x1000;
const S_IFCHR: u16 = 0x2000;
const S_IFDIR: u16 = 0x4000;
const S_IFBLK: u16 = 0x6000;
const S_IFREG: u16 = 0x8000;
const S_IFLNK: u16 = 0xA000;
const S_IFSOCK: u16 = 0xC000;

/// Directory entry file type for a directory (`filetype` feature).
const DE_DIR: u8 = 2;
/// The smallest directory entry (a one-byte name): 8 header bytes, padded to 4.
const MIN_DIRENT: usize = 12;
/// Bytes of an inode's `i_block` (block pointers, extent tree root, inline data).
const I_BLOCK: usize = 60;
/// Metadata read through the cache in pieces of this many bytes.
const CHUNK: u64 = 64 << 10;
/// Pieces kept in the cache.
const CHUNKS_CACHED: usize = 64;

/// Why a volume could not be read as ext2/3/4.
#[derive(Debug, thiserror::Error)]
pub enum ExtError {
    /// No ext2/3/4 superblock at byte 1024.
    #[error("not an ext2/3/4 file system: {why}")]
    NotExt {
        /// The check that failed.
        why: String,
    },
    /// An ext file system with a feature this reader does not read.
    #[error("an ext2/3/4 file system mediahash does not read: {why}")]
    Unsupported {
        /// The feature.
        why: String,
    },
    /// The superblock or group descriptors are damaged.
    #[error(
        "the ext2/3/4 superblock or group descriptors are damaged: {why}; no file of this \
         volume can be listed (check it with e2fsck -n or The Sleuth Kit's fsstat)"
    )]
    Damaged {
        /// What is wrong.
        why: String,
    },
    /// Reading the volume failed.
    #[error("cannot read the ext2/3/4 {what}: {source}")]
    Io {
        /// What was being read.
        what: &'static str,
        /// The error.
        source: io::Error,
    },
}

fn u16le(b: &[u8], at: usize) -> u16 {
    b.get(at..at + 2).map_or(0, |s| u16::from_le_bytes([s[0], s[1]]))
}
fn u32le(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4).map_or(0, |s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// The superblock's fields this reader uses, checked.
#[derive(Debug, Clone)]
struct Superblock {
    inodes_count: u64,
    blocks_count: u64,
    first_data_block: u64,
    block_size: u64,
    blocks_per_group: u64,
    inodes_per_group: u64,
    inode_size: u64,
    compat: u32,
    incompat: u32,
    ro_compat: u32,
    desc_size: u64,
    reserved_gdt: u64,
    first_meta_bg: u64,
    backup_bgs: [u64; 2],
    groups: u64,
}

impl Superblock {
    fn fs_type(&self) -> &'static str {
        if self.incompat & INCOMPAT_EXTENTS != 0 {
            "ext4"
        } else if self.compat & COMPAT_HAS_JOURNAL != 0 {
            "ext3"
        } else {
            "ext2"
        }
    }

    /// Group descriptor checksums on: the `*_UNINIT` flags mean what they say.
    fn has_csum(&self) -> bool {
        self.ro_compat & (RO_COMPAT_GDT_CSUM | RO_COMPAT_METADATA_CSUM) != 0
    }

    fn descs_per_block(&self) -> u64 {
        self.block_size / self.desc_size
    }

    fn group_first_block(&self, g: u64) -> u64 {
        self.first_data_block + g * self.blocks_per_group
    }

    fn group_blocks(&self, g: u64) -> u64 {
        let first = self.group_first_block(g);
        self.blocks_per_group.min(self.blocks_count.saturating_sub(first))
    }

    /// Whether group `g` holds a superblock backup.
    fn has_super(&self, g: u64) -> bool {
        if g == 0 {
            return true;
        }
        if self.compat & COMPAT_SPARSE_SUPER2 != 0 {
            return self.backup_bgs.contains(&g);
        }
        if self.ro_compat & RO_COMPAT_SPARSE_SUPER == 0 {
            return true;
        }
        g == 1 || [3u64, 5, 7].iter().any(|&b| is_power_of(g, b))
    }

    /// Blocks at the start of group `g` holding the superblock (backup), the group
    /// descriptors and the reserved descriptor blocks (the kernel's
    /// `ext4_num_base_meta_blocks`).
    fn base_meta_blocks(&self, g: u64) -> u64 {
        let has_super = u64::from(self.has_super(g));
        let dpb = self.descs_per_block();
        let meta_bg = self.incompat & INCOMPAT_META_BG != 0;
        if !meta_bg || g / dpb < self.first_meta_bg {
            if has_super == 0 {
                return 0;
            }
            let gdt = if meta_bg { self.first_meta_bg } else { self.groups.div_ceil(dpb) };
            has_super + gdt + self.reserved_gdt
        } else {
            let i = g % dpb;
            has_super + u64::from(i == 0 || i == 1 || i == dpb - 1)
        }
    }

    /// The block holding the descriptor of group `g`.
    fn descriptor_block(&self, g: u64) -> u64 {
        let dpb = self.descs_per_block();
        let chunk = g / dpb;
        if self.incompat & INCOMPAT_META_BG != 0 && chunk >= self.first_meta_bg {
            let first = chunk * dpb;
            self.group_first_block(first) + u64::from(self.has_super(first))
        } else {
            self.first_data_block + 1 + chunk
        }
    }

    fn inode_table_blocks(&self) -> u64 {
        (self.inodes_per_group * self.inode_size).div_ceil(self.block_size)
    }
}

fn is_power_of(mut n: u64, base: u64) -> bool {
    while n > 1 && n.is_multiple_of(base) {
        n /= base;
    }
    n == 1
}

/// Parses and checks the superblock (`sb`: the 1024 bytes at volume offset 1024).
/// `Err((true, why))` for a superblock of a kind this reader does not read.
fn parse_superblock(sb: &[u8]) -> Result<Superblock, (bool, String)> {
    let not = |why: String| Err((false, why));
    if sb.len() < 1024 {
        return not("superblock shorter than 1024 bytes".into());
    }
    if u16le(sb, 0x38) != MAGIC {
        return not("no 0xEF53 magic at byte 1080".into());
    }
    let log_block = u32le(sb, 0x18);
    if log_block > 6 {
        return not(format!("block size 2^{} KiB", log_block));
    }
    let block_size = 1024u64 << log_block;
    let compat = u32le(sb, 0x5C);
    let incompat = u32le(sb, 0x60);
    let ro_compat = u32le(sb, 0x64);
    let rev = u32le(sb, 0x4C);
    if incompat & INCOMPAT_JOURNAL_DEV != 0 {
        return Err((true, "an external journal device (it holds no files)".into()));
    }
    if ro_compat & RO_COMPAT_BIGALLOC != 0 {
        return Err((true, "ext4 with bigalloc (clusters of several blocks)".into()));
    }
    if incompat & INCOMPAT_COMPRESSION != 0 {
        return Err((true, "the ext2 compression patch's format".into()));
    }
    let blocks_per_group = u64::from(u32le(sb, 0x20));
    let inodes_per_group = u64::from(u32le(sb, 0x28));
    if blocks_per_group == 0 || blocks_per_group > 8 * block_size {
        return not(format!("{blocks_per_group} blocks per group"));
    }
    if inodes_per_group == 0 || inodes_per_group > 8 * block_size {
        return not(format!("{inodes_per_group} inodes per group"));
    }
    let inode_size = if rev == 0 { 128 } else { u64::from(u16le(sb, 0x58)) };
    if inode_size < 128 || inode_size > block_size || !inode_size.is_power_of_two() {
        return not(format!("inodes of {inode_size} bytes"));
    }
    if u32le(sb, 0x1C) != log_block {
        return not("fragment size differs from the block size".into());
    }
    let mut blocks_count = u64::from(u32le(sb, 0x04));
    let desc_size = if incompat & INCOMPAT_64BIT != 0 {
        blocks_count |= u64::from(u32le(sb, 0x150)) << 32;
        let d = u64::from(u16le(sb, 0xFE));
        if !(64..=1024).contains(&d) || !d.is_power_of_two() || d > block_size {
            return not(format!("group descriptors of {d} bytes with 64bit"));
        }
        d
    } else {
        32
    };
    let first_data_block = u64::from(u32le(sb, 0x14));
    if first_data_block > 1 || first_data_block >= blocks_count {
        return not(format!("first data block {first_data_block} of {blocks_count} blocks"));
    }
    let groups = (blocks_count - first_data_block).div_ceil(blocks_per_group);
    let inodes_count = u64::from(u32le(sb, 0x00));
    Ok(Superblock {
        inodes_count,
        blocks_count,
        first_data_block,
        block_size,
        blocks_per_group,
        inodes_per_group,
        inode_size,
        compat,
        incompat,
        ro_compat,
        desc_size,
        reserved_gdt: u64::from(u16le(sb, 0xCE)),
        first_meta_bg: u64::from(u32le(sb, 0x104)),
        backup_bgs: [u64::from(u32le(sb, 0x24C)), u64::from(u32le(sb, 0x250))],
        groups,
    })
}

/// Whether `sb` (the 1024 bytes at volume offset 1024) is an ext2/3/4 superblock this
/// reader recognizes (also one it refuses, such as bigalloc: it is then reported as such).
pub fn is_ext_superblock(sb: &[u8]) -> bool {
    matches!(parse_superblock(sb), Ok(_) | Err((true, _)))
}

/// One group descriptor.
#[derive(Debug, Clone, Copy)]
struct Group {
    block_bitmap: u64,
    inode_bitmap: u64,
    inode_table: u64,
    flags: u16,
    itable_unused: u64,
    /// The descriptor could be read and its locations are inside the file system.
    valid: bool,
}

/// What is known of a group's allocation.
#[derive(Debug, Clone)]
enum Bitmap {
    /// The bitmap block as read.
    Bits(Arc<[u8]>),
    /// Not initialized: nothing in use (inodes) or only the group's metadata (blocks).
    Uninit,
    /// Could not be read.
    Unknown,
}

fn bit(bits: &[u8], i: u64) -> bool {
    bits.get((i / 8) as usize).is_some_and(|b| b & (1 << (i % 8)) != 0)
}

/// A small cache of metadata bytes read from the volume (inode tables, directory blocks,
/// indirect and index blocks), in aligned pieces of [`CHUNK`] bytes.
struct Cache {
    chunks: Vec<(u64, Arc<[u8]>)>,
}

/// One parsed inode.
#[derive(Debug, Clone)]
struct Inode {
    mode: u16,
    size: u64,
    flags: u32,
    ctime_raw: u32,
    times: [Option<Timestamp>; 3],
    i_block: [u8; I_BLOCK],
    /// The value of the in-inode `system.data` attribute (inline data past `i_block`).
    inline_tail: Option<Vec<u8>>,
}

impl Inode {
    fn kind(&self) -> u16 {
        self.mode & S_IFMT
    }
}

/// A stretch of a file: `len` blocks from logical block `logical`, at `physical` (`None`:
/// zeros: a hole or an uninitialized extent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Run {
    logical: u64,
    physical: Option<u64>,
    len: u64,
}

/// Where a file's bytes are.
#[derive(Debug, Default)]
struct Mapped {
    /// Data runs sorted by logical block.
    runs: Vec<Run>,
    /// Indirect or extent index blocks the mapping was read from.
    meta_blocks: Vec<u64>,
    /// Inline bytes (the whole content) instead of runs.
    inline: Option<Vec<u8>>,
}

/// A name found in a directory.
#[derive(Debug, Clone)]
struct Name {
    inode: u64,
    name: Vec<u8>,
    file_type: u8,
    allocated: bool,
}

/// An open ext2/3/4 file system.
pub struct ExtFs<'a> {
    image: &'a dyn DiskImage,
    base: u64,
    /// Bytes of the volume on the media.
    media_len: u64,
    sb: Superblock,
    groups: Vec<Group>,
    inode_bitmaps: Vec<Bitmap>,
    block_bitmaps: Vec<Bitmap>,
    /// Every group's bitmap and inode-table blocks, sorted `(first, count)`: what a
    /// `BLOCK_UNINIT` group holds besides its superblock backup and descriptors.
    meta_ranges: Vec<(u64, u64)>,
    cache: RefCell<Cache>,
    problems: Vec<String>,
}

impl<'a> ExtFs<'a> {
    /// Opens the ext2/3/4 file system of the volume at media offset `base`, `len` bytes on
    /// the media.
    ///
    /// # Errors
    /// [`ExtError`]: not ext, an unsupported feature, damaged superblock or descriptors, or
    /// the volume unreadable.
    pub fn open(image: &'a dyn DiskImage, base: u64, len: u64) -> Result<ExtFs<'a>, ExtError> {
        let mut raw = vec![0u8; 1024];
        if len < SUPERBLOCK_OFFSET + 1024 {
            return Err(ExtError::NotExt { why: format!("a volume of {len} bytes") });
        }
        image.read_exact_at(base + SUPERBLOCK_OFFSET, &mut raw).map_err(|source| {
            if source.kind() == io::ErrorKind::UnexpectedEof {
                ExtError::NotExt { why: "the media ends before the superblock".into() }
            } else {
                ExtError::Io { what: "superblock", source }
            }
        })?;
        let sb = parse_superblock(&raw).map_err(|(unsupported, why)| {
            if unsupported { ExtError::Unsupported { why } } else { ExtError::NotExt { why } }
        })?;
        let damaged = |why: String| ExtError::Damaged { why };
        // The descriptors must fit the volume (a forged block count would otherwise size
        // everything below).
        let gdt_bytes = sb.groups.saturating_mul(sb.desc_size);
        if gdt_bytes > len.max(sb.block_size) {
            return Err(damaged(format!(
                "{} block groups (from {} blocks of {} bytes): their descriptors alone would \
                 take {gdt_bytes} bytes, more than the volume's {len}",
                sb.groups, sb.blocks_count, sb.block_size
            )));
        }
        if sb.inodes_count != sb.groups * sb.inodes_per_group {
            return Err(damaged(format!(
                "the superblock counts {} inodes, but {} groups of {} inodes hold {}",
                sb.inodes_count,
                sb.groups,
                sb.inodes_per_group,
                sb.groups * sb.inodes_per_group
            )));
        }
        if sb.inode_table_blocks() > sb.blocks_per_group {
            return Err(damaged(format!(
                "an inode table of {} blocks does not fit a group of {} blocks",
                sb.inode_table_blocks(),
                sb.blocks_per_group
            )));
        }
        let mut fs = ExtFs {
            image,
            base,
            media_len: len,
            sb,
            groups: Vec::new(),
            inode_bitmaps: Vec::new(),
            block_bitmaps: Vec::new(),
            meta_ranges: Vec::new(),
            cache: RefCell::new(Cache { chunks: Vec::new() }),
            problems: Vec::new(),
        };
        fs.read_groups()?;
        fs.read_bitmaps();
        Ok(fs)
    }

    /// Media offset of block `b`.
    fn block_offset(&self, b: u64) -> u64 {
        self.base + b * self.sb.block_size
    }

    /// Reads the group descriptors, block by block.
    fn read_groups(&mut self) -> Result<(), ExtError> {
        let sb = &self.sb;
        let dpb = sb.descs_per_block();
        let table_blocks = sb.inode_table_blocks();
        let mut groups = Vec::with_capacity(sb.groups as usize);
        let mut block = vec![0u8; sb.block_size as usize];
        let mut bad = Vec::new();
        for chunk in 0..sb.groups.div_ceil(dpb) {
            let at = sb.descriptor_block(chunk * dpb);
            let readable = at < sb.blocks_count
                && self.image.read_exact_at(self.block_offset(at), &mut block).is_ok();
            if !readable && chunk == 0 {
                return Err(ExtError::Io {
                    what: "group descriptors",
                    source: io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("block {at} cannot be read"),
                    ),
                });
            }
            for i in 0..dpb.min(sb.groups - chunk * dpb) {
                let d = &block[(i * sb.desc_size) as usize..((i + 1) * sb.desc_size) as usize];
                let wide = sb.desc_size >= 64;
                let hi = |at: usize| if wide { u64::from(u32le(d, at)) << 32 } else { 0 };
                let g = Group {
                    block_bitmap: u64::from(u32le(d, 0x00)) | hi(0x20),
                    inode_bitmap: u64::from(u32le(d, 0x04)) | hi(0x24),
                    inode_table: u64::from(u32le(d, 0x08)) | hi(0x28),
                    flags: u16le(d, 0x12),
                    itable_unused: u64::from(u16le(d, 0x1C))
                        | if wide { u64::from(u16le(d, 0x32)) << 16 } else { 0 },
                    valid: readable,
                };
                let inside = g.block_bitmap < sb.blocks_count
                    && g.inode_bitmap < sb.blocks_count
                    && g.inode_table.saturating_add(table_blocks) <= sb.blocks_count;
                let n = groups.len() as u64;
                if readable && !inside {
                    bad.push(n);
                }
                groups.push(Group { valid: readable && inside, ..g });
            }
            if !readable {
                self.problems.push(format!(
                    "the descriptors of groups {}..{} (block {at}) cannot be read: their files \
                     are not listed",
                    chunk * dpb,
                    (chunk * dpb + dpb).min(sb.groups)
                ));
            }
        }
        if groups.first().is_none_or(|g| !g.valid) {
            return Err(ExtError::Damaged {
                why: "group 0's descriptor points outside the file system".into(),
            });
        }
        if !bad.is_empty() {
            self.problems.push(format!(
                "{} group descriptor(s) point outside the file system (first: group {}): \
                 the files of those groups are not listed",
                bad.len(),
                bad[0]
            ));
        }
        let mut meta: Vec<(u64, u64)> = groups
            .iter()
            .filter(|g| g.valid)
            .flat_map(|g| [(g.block_bitmap, 1), (g.inode_bitmap, 1), (g.inode_table, table_blocks)])
            .collect();
        meta.sort_unstable();
        self.meta_ranges = meta;
        self.groups = groups;
        Ok(())
    }

    /// Reads every group's bitmaps (each distinct block once, through the cache: with
    /// `flex_bg` they are contiguous).
    fn read_bitmaps(&mut self) {
        let mut read: HashMap<u64, Option<Arc<[u8]>>> = HashMap::new();
        let mut get = |b: u64| -> Bitmap {
            let got = read.entry(b).or_insert_with(|| {
                let mut buf = vec![0u8; self.sb.block_size as usize];
                self.read_cached(self.block_offset(b), &mut buf).ok()?;
                Some(buf.into())
            });
            got.clone().map_or(Bitmap::Unknown, Bitmap::Bits)
        };
        let csum = self.sb.has_csum();
        let mut unreadable = 0u64;
        let mut inode_bitmaps = Vec::with_capacity(self.groups.len());
        let mut block_bitmaps = Vec::with_capacity(self.groups.len());
        for g in &self.groups {
            if !g.valid {
                inode_bitmaps.push(Bitmap::Unknown);
                block_bitmaps.push(Bitmap::Unknown);
                continue;
            }
            let inodes = if csum && g.flags & BG_INODE_UNINIT != 0 {
                Bitmap::Uninit
            } else {
                get(g.inode_bitmap)
            };
            let blocks = if csum && g.flags & BG_BLOCK_UNINIT != 0 {
                Bitmap::Uninit
            } else {
                get(g.block_bitmap)
            };
            unreadable += u64::from(matches!(inodes, Bitmap::Unknown))
                + u64::from(matches!(blocks, Bitmap::Unknown));
            inode_bitmaps.push(inodes);
            block_bitmaps.push(blocks);
        }
        self.inode_bitmaps = inode_bitmaps;
        self.block_bitmaps = block_bitmaps;
        if unreadable > 0 {
            self.problems.push(format!(
                "{unreadable} allocation bitmap block(s) cannot be read (truncated image?): \
                 deleted files there cannot be told from live ones, their free space is not \
                 listed"
            ));
        }
    }

    /// Whether inode `n` is in use (`None`: its group's bitmap is unknown).
    fn inode_allocated(&self, n: u64) -> Option<bool> {
        let g = (n - 1) / self.sb.inodes_per_group;
        match self.inode_bitmaps.get(g as usize)? {
            Bitmap::Bits(bits) => Some(bit(bits, (n - 1) % self.sb.inodes_per_group)),
            Bitmap::Uninit => Some(false),
            Bitmap::Unknown => None,
        }
    }

    /// Whether block `b` is in use (`None`: unknown).
    fn block_allocated(&self, b: u64) -> Option<bool> {
        if b < self.sb.first_data_block {
            return Some(true);
        }
        let g = (b - self.sb.first_data_block) / self.sb.blocks_per_group;
        let i = (b - self.sb.first_data_block) % self.sb.blocks_per_group;
        match self.block_bitmaps.get(g as usize)? {
            Bitmap::Bits(bits) => Some(bit(bits, i)),
            Bitmap::Uninit => Some(i < self.sb.base_meta_blocks(g) || self.in_meta_ranges(b)),
            Bitmap::Unknown => None,
        }
    }

    /// Whether block `b` is one of the groups' bitmaps or inode tables.
    fn in_meta_ranges(&self, b: u64) -> bool {
        let i = self.meta_ranges.partition_point(|&(s, _)| s <= b);
        i > 0 && b < self.meta_ranges[i - 1].0 + self.meta_ranges[i - 1].1
    }

    /// Reads `buf.len()` bytes at media offset `at` through the cache.
    fn read_cached(&self, at: u64, buf: &mut [u8]) -> io::Result<()> {
        let mut done = 0usize;
        while done < buf.len() {
            let pos = at + done as u64;
            let key = pos - pos % CHUNK;
            let chunk = self.chunk(key)?;
            let within = (pos - key) as usize;
            if within >= chunk.len() {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("media byte {pos} is past the end of the image (truncated image?)"),
                ));
            }
            let n = (chunk.len() - within).min(buf.len() - done);
            buf[done..done + n].copy_from_slice(&chunk[within..within + n]);
            done += n;
        }
        Ok(())
    }

    fn chunk(&self, key: u64) -> io::Result<Arc<[u8]>> {
        let mut cache = self.cache.borrow_mut();
        if let Some(i) = cache.chunks.iter().position(|c| c.0 == key) {
            let hit = cache.chunks.remove(i);
            let bytes = hit.1.clone();
            cache.chunks.push(hit);
            return Ok(bytes);
        }
        let end = (self.base + self.media_len).min(self.image.len());
        let want = CHUNK.min(end.saturating_sub(key)) as usize;
        let mut buf = vec![0u8; want];
        self.image.read_exact_at(key, &mut buf)?;
        let bytes: Arc<[u8]> = buf.into();
        if cache.chunks.len() >= CHUNKS_CACHED {
            cache.chunks.remove(0);
        }
        cache.chunks.push((key, bytes.clone()));
        Ok(bytes)
    }

    /// The largest size a file may declare.
    fn size_limit(&self) -> u64 {
        self.media_len.max(1 << 30).saturating_mul(SPARSE_FACTOR)
    }

    /// Reads one whole block.
    fn read_block(&self, b: u64) -> Result<Vec<u8>, String> {
        if b >= self.sb.blocks_count {
            return Err(format!(
                "block {b} is past the file system's {} blocks",
                self.sb.blocks_count
            ));
        }
        let mut buf = vec![0u8; self.sb.block_size as usize];
        self.read_cached(self.block_offset(b), &mut buf)
            .map_err(|e| format!("cannot read block {b}: {e}"))?;
        Ok(buf)
    }

    /// Reads and parses inode `n`.
    fn inode(&self, n: u64) -> Result<Inode, String> {
        if n == 0 || n > self.sb.inodes_count {
            return Err(format!("inode {n} is outside 1..={}", self.sb.inodes_count));
        }
        let g = (n - 1) / self.sb.inodes_per_group;
        let group = self.groups[g as usize];
        if !group.valid {
            return Err(format!("inode {n}: the descriptor of its group {g} is damaged"));
        }
        let i = (n - 1) % self.sb.inodes_per_group;
        let at = self.block_offset(group.inode_table) + i * self.sb.inode_size;
        let mut raw = vec![0u8; self.sb.inode_size as usize];
        self.read_cached(at, &mut raw).map_err(|e| format!("cannot read inode {n}: {e}"))?;
        Ok(parse_inode(&raw, &self.sb))
    }

    /// Where the bytes of `ino` are (`size` bytes of it).
    fn map(&self, ino: &Inode, size: u64) -> Result<Mapped, String> {
        let limit = self.size_limit();
        if size > limit {
            return Err(format!(
                "the inode declares {size} bytes, more than {SPARSE_FACTOR} times its volume \
                 (zeros for ever)"
            ));
        }
        if ino.flags & INODE_FLAG_EXTENTS != 0 {
            self.map_extents(&ino.i_block)
        } else if ino.flags & INODE_FLAG_INLINE_DATA != 0 {
            if size > self.sb.inode_size {
                return Err(format!(
                    "inline data of {size} bytes, more than an inode of {} bytes holds",
                    self.sb.inode_size
                ));
            }
            let mut bytes = ino.i_block[..(size as usize).min(I_BLOCK)].to_vec();
            if let Some(tail) = &ino.inline_tail {
                let more = (size as usize).saturating_sub(bytes.len()).min(tail.len());
                bytes.extend_from_slice(&tail[..more]);
            }
            bytes.resize(size as usize, 0);
            Ok(Mapped { inline: Some(bytes), ..Mapped::default() })
        } else {
            self.map_blocks(&ino.i_block, size.div_ceil(self.sb.block_size))
        }
    }

    /// A block map: 12 direct pointers, then single, double and triple indirect blocks;
    /// only the first `needed` logical blocks are followed.
    fn map_blocks(&self, i_block: &[u8; I_BLOCK], needed: u64) -> Result<Mapped, String> {
        let per = self.sb.block_size / 4;
        let mut m = Mapped::default();
        let mut visited = HashSet::new();
        for k in 0..12u64 {
            if k >= needed {
                break;
            }
            self.push_block(&mut m, k, u64::from(u32le(i_block, 4 * k as usize)))?;
        }
        let mut first = 12u64;
        let mut span = per;
        for level in 1..=3u32 {
            let ptr = u64::from(u32le(i_block, 4 * (11 + level as usize)));
            self.indirect(&mut m, &mut visited, ptr, level, first, needed)?;
            first = first.saturating_add(span);
            span = span.saturating_mul(per);
        }
        Ok(m)
    }

    fn push_block(&self, m: &mut Mapped, logical: u64, ptr: u64) -> Result<(), String> {
        if ptr == 0 {
            return Ok(()); // a hole
        }
        if ptr >= self.sb.blocks_count {
            return Err(format!(
                "logical block {logical} points to block {ptr}, past the file system's {} \
                 blocks",
                self.sb.blocks_count
            ));
        }
        match m.runs.last_mut() {
            Some(r)
                if r.logical + r.len == logical && r.physical.is_some_and(|p| p + r.len == ptr) =>
            {
                r.len += 1
            }
            _ => {
                if m.runs.len() >= MAX_EXTENTS {
                    return Err(format!("more than {MAX_EXTENTS} runs of blocks"));
                }
                m.runs.push(Run { logical, physical: Some(ptr), len: 1 });
            }
        }
        Ok(())
    }

    /// An indirect block of `level` (1: it holds data block pointers) covering logical
    /// blocks from `first`.
    fn indirect(
        &self,
        m: &mut Mapped,
        visited: &mut HashSet<u64>,
        ptr: u64,
        level: u32,
        first: u64,
        needed: u64,
    ) -> Result<(), String> {
        if ptr == 0 || first >= needed {
            return Ok(());
        }
        if ptr >= self.sb.blocks_count {
            return Err(format!(
                "an indirect block pointer to block {ptr}, past the file system's {} blocks",
                self.sb.blocks_count
            ));
        }
        if !visited.insert(ptr) {
            return Err(format!(
                "indirect block {ptr} is used twice by the same file (a loop in its block map)"
            ));
        }
        m.meta_blocks.push(ptr);
        let block = self.read_block(ptr)?;
        let per = self.sb.block_size / 4;
        let span = per.saturating_pow(level - 1);
        for k in 0..per {
            let child_first = first.saturating_add(k.saturating_mul(span));
            if child_first >= needed {
                break;
            }
            let child = u64::from(u32le(&block, 4 * k as usize));
            if level == 1 {
                self.push_block(m, child_first, child)?;
            } else {
                self.indirect(m, visited, child, level - 1, child_first, needed)?;
            }
        }
        Ok(())
    }

    /// An extent tree rooted in `i_block`.
    fn map_extents(&self, root: &[u8; I_BLOCK]) -> Result<Mapped, String> {
        let mut m = Mapped::default();
        let mut visited = HashSet::new();
        self.extent_node(root, None, &mut m, &mut visited)?;
        m.runs.sort_by_key(|r| r.logical);
        if let Some(w) = m.runs.windows(2).find(|w| w[0].logical + w[0].len > w[1].logical) {
            return Err(format!(
                "extents overlap: logical blocks {}..{} and {}..{}",
                w[0].logical,
                w[0].logical + w[0].len,
                w[1].logical,
                w[1].logical + w[1].len
            ));
        }
        Ok(m)
    }

    fn extent_node(
        &self,
        node: &[u8],
        expected_depth: Option<u16>,
        m: &mut Mapped,
        visited: &mut HashSet<u64>,
    ) -> Result<(), String> {
        if u16le(node, 0) != 0xF30A {
            return Err(format!("extent node without its 0xF30A magic (0x{:04x})", u16le(node, 0)));
        }
        let entries = usize::from(u16le(node, 2));
        let max = usize::from(u16le(node, 4));
        let depth = u16le(node, 6);
        if depth > MAX_EXTENT_DEPTH {
            return Err(format!("extent tree of depth {depth} (at most {MAX_EXTENT_DEPTH})"));
        }
        if let Some(d) = expected_depth
            && d != depth
        {
            return Err(format!("extent node of depth {depth} below a node of depth {}", d + 1));
        }
        if entries > max || 12 + 12 * entries > node.len() {
            return Err(format!(
                "extent node with {entries} entries (room for {max}, {} bytes)",
                node.len()
            ));
        }
        for e in node[12..12 + 12 * entries].chunks_exact(12) {
            let logical = u64::from(u32le(e, 0));
            if depth == 0 {
                let raw_len = u64::from(u16le(e, 4));
                let start = (u64::from(u16le(e, 6)) << 32) | u64::from(u32le(e, 8));
                // Longer than 32768: an uninitialized extent (allocated, reads as zeros).
                let (len, initialized) =
                    if raw_len > 32768 { (raw_len - 32768, false) } else { (raw_len, true) };
                if len == 0 {
                    return Err(format!("an extent of 0 blocks at logical block {logical}"));
                }
                if start == 0 || start.saturating_add(len) > self.sb.blocks_count {
                    return Err(format!(
                        "an extent of blocks {start}..{} reaches outside the file system's {} \
                         blocks",
                        start.saturating_add(len),
                        self.sb.blocks_count
                    ));
                }
                if m.runs.len() >= MAX_EXTENTS {
                    return Err(format!("more than {MAX_EXTENTS} extents"));
                }
                m.runs.push(Run { logical, physical: initialized.then_some(start), len });
            } else {
                let child = (u64::from(u16le(e, 8)) << 32) | u64::from(u32le(e, 4));
                if child == 0 || child >= self.sb.blocks_count {
                    return Err(format!(
                        "an extent index points to block {child}, outside the file system's \
                         {} blocks",
                        self.sb.blocks_count
                    ));
                }
                if !visited.insert(child) {
                    return Err(format!(
                        "the extent tree loops: index block {child} is reached twice"
                    ));
                }
                m.meta_blocks.push(child);
                let block = self.read_block(child)?;
                self.extent_node(&block, Some(depth - 1), m, visited)?;
            }
        }
        Ok(())
    }

    /// The content of `size` bytes of a mapped file, after the checks every file gets:
    /// blocks used once, the size bounded.
    fn file_data(&self, m: &Mapped, size: u64) -> Result<FileData, String> {
        if let Some(bytes) = &m.inline {
            return Ok(if bytes.is_empty() {
                FileData::Empty
            } else {
                FileData::Resident(bytes.clone().into())
            });
        }
        if size > self.size_limit() {
            return Err(format!(
                "the inode declares {size} bytes, more than {SPARSE_FACTOR} times its volume \
                 (zeros for ever)"
            ));
        }
        let mut spans: Vec<(u64, u64)> = m
            .runs
            .iter()
            .filter_map(|r| r.physical.map(|p| (p, p + r.len)))
            .chain(m.meta_blocks.iter().map(|&b| (b, b + 1)))
            .collect();
        spans.sort_unstable();
        if let Some(w) = spans.windows(2).find(|w| w[1].0 < w[0].1) {
            return Err(format!(
                "blocks {}..{} and {}..{} overlap: the file uses a block twice (a crafted or \
                 corrupt inode)",
                w[0].0, w[0].1, w[1].0, w[1].1
            ));
        }
        if size == 0 {
            return Ok(FileData::Empty);
        }
        let bs = self.sb.block_size;
        let mut out: Vec<Extent> = Vec::new();
        let mut push = |e: Extent| match (out.last_mut(), e) {
            (Some(Extent::Zeros { len }), Extent::Zeros { len: more }) => *len += more,
            (Some(Extent::Media { offset, len }), Extent::Media { offset: at, len: more })
                if *offset + *len == at =>
            {
                *len += more
            }
            _ => out.push(e),
        };
        let mut pos = 0u64;
        for r in &m.runs {
            let start = r.logical.saturating_mul(bs);
            if start >= size {
                break;
            }
            if start > pos {
                push(Extent::Zeros { len: start - pos });
            }
            let len = r.len.saturating_mul(bs).min(size - start);
            push(match r.physical {
                Some(p) => Extent::Media { offset: self.block_offset(p), len },
                None => Extent::Zeros { len },
            });
            pos = start + len;
        }
        if pos < size {
            push(Extent::Zeros { len: size - pos });
        }
        Ok(FileData::Extents(out))
    }

    /// The first block of `m` allocated again (by the block bitmap), for a deleted file.
    fn reused_block(&self, m: &Mapped) -> Option<u64> {
        let data = m.runs.iter().filter_map(|r| r.physical.map(|p| p..p + r.len));
        let meta = m.meta_blocks.iter().map(|&b| b..b + 1);
        data.chain(meta).flatten().find(|&b| self.block_allocated(b) == Some(true))
    }

    /// Every file, directory and orphan, with the free space, as the disk source takes
    /// them.
    pub fn into_file_system(self) -> FileSystem {
        let mut walk = Walk {
            fs: &self,
            out: Vec::new(),
            walked: HashMap::new(),
            named_free: HashSet::new(),
            problems: Vec::new(),
            cap: MAX_ENTRIES.min((self.media_len / MIN_DIRENT as u64) as usize).max(1024),
            capped: false,
            collect_only: false,
            seen: Vec::new(),
        };
        match self.inode(ROOT_INODE) {
            Ok(root) if root.kind() == S_IFDIR => {
                walk.walked.insert(ROOT_INODE, Vec::new());
                walk.run(ROOT_INODE, &root, Vec::new(), false);
            }
            Ok(_) => walk.problems.push(format!(
                "the root directory (inode {ROOT_INODE}) is not a directory: no file is listed"
            )),
            Err(e) => walk.problems.push(format!("the root directory: {e}")),
        }
        walk.orphans();
        let Walk { out, mut problems, capped, .. } = walk;
        if capped {
            problems.push(format!(
                "more entries than the limit ({} for a volume of this size): the rest are not \
                 listed (use another tool for this volume)",
                MAX_ENTRIES.min((self.media_len / MIN_DIRENT as u64) as usize).max(1024)
            ));
        }
        let mut all_problems = self.problems.clone();
        all_problems.extend(problems);
        FileSystem {
            fs_type: self.sb.fs_type().to_string(),
            entries: out,
            problems: all_problems,
            unallocated: self.unallocated(),
        }
    }

    /// The free blocks as media byte ranges, sorted and merged, within the media.
    fn unallocated(&self) -> Vec<(u64, u64)> {
        let sb = &self.sb;
        let end = self.base + self.media_len;
        let mut out: Vec<(u64, u64)> = Vec::new();
        // Adds blocks `first..first + count` (in increasing order of `first`).
        let mut add = |first: u64, count: u64| {
            let from = self.block_offset(first);
            if from >= end || count == 0 {
                return;
            }
            let len = (count * sb.block_size).min(end - from);
            match out.last_mut() {
                Some((o, l)) if *o + *l == from => *l += len,
                _ => out.push((from, len)),
            }
        };
        for (g, bitmap) in self.block_bitmaps.iter().enumerate() {
            let g = g as u64;
            let first = sb.group_first_block(g);
            let n = sb.group_blocks(g);
            if self.block_offset(first) >= end {
                break;
            }
            match bitmap {
                Bitmap::Bits(bits) => {
                    let mut run_start = None;
                    let mut i = 0u64;
                    while i < n {
                        // Whole bytes at once where they are all free or all used.
                        let byte = bits.get((i / 8) as usize).copied().unwrap_or(0xFF);
                        let whole =
                            i.is_multiple_of(8) && i + 8 <= n && (byte == 0 || byte == 0xFF);
                        let step = if whole { 8 } else { 1 };
                        let free = if whole { byte == 0 } else { !bit(bits, i) };
                        match (free, run_start) {
                            (true, None) => run_start = Some(i),
                            (false, Some(s)) => {
                                add(first + s, i - s);
                                run_start = None;
                            }
                            _ => {}
                        }
                        i += step;
                    }
                    if let Some(s) = run_start {
                        add(first + s, n - s);
                    }
                }
                Bitmap::Uninit => {
                    // The group minus its superblock backup and descriptors, minus any
                    // group's bitmaps and inode table placed in it.
                    let mut at = first + sb.base_meta_blocks(g).min(n);
                    let stop = first + n;
                    let from = self.meta_ranges.partition_point(|&(s, c)| s + c <= at);
                    for &(s, c) in &self.meta_ranges[from..] {
                        if s >= stop {
                            break;
                        }
                        if s > at {
                            add(at, s - at);
                        }
                        at = at.max(s + c);
                    }
                    if at < stop {
                        add(at, stop - at);
                    }
                }
                Bitmap::Unknown => {}
            }
        }
        out
    }
}

/// Parses an inode's fields (`raw`: the inode's bytes, [`Superblock::inode_size`] long).
fn parse_inode(raw: &[u8], sb: &Superblock) -> Inode {
    let mode = u16le(raw, 0x00);
    let flags = u32le(raw, 0x20);
    let mut size = u64::from(u32le(raw, 0x04));
    let high = u64::from(u32le(raw, 0x6C)) << 32;
    // As The Sleuth Kit reads sizes: the high half for regular files with `large_file`
    // (and for directories with `largedir`).
    if (mode & S_IFMT == S_IFREG && sb.ro_compat & RO_COMPAT_LARGE_FILE != 0)
        || (mode & S_IFMT == S_IFDIR && sb.incompat & INCOMPAT_LARGEDIR != 0)
    {
        size |= high;
    }
    let extra = if raw.len() > 128 { usize::from(u16le(raw, 0x80)) } else { 0 };
    // The nanosecond and epoch fields exist when the extra space covers them.
    let time = |at: usize, extra_at: usize| -> Option<Timestamp> {
        let secs = u32le(raw, at);
        if secs == 0 {
            return None;
        }
        let mut t = Timestamp { secs: i64::from(secs as i32), nanos: 0 };
        if extra_at + 4 <= 128 + extra && extra_at + 4 <= raw.len() {
            let x = u32le(raw, extra_at);
            t.secs += i64::from(x & 3) << 32;
            let nanos = x >> 2;
            if nanos < 1_000_000_000 {
                t.nanos = nanos;
            }
        }
        Some(t)
    };
    let mut i_block = [0u8; I_BLOCK];
    i_block.copy_from_slice(&raw[0x28..0x28 + I_BLOCK]);
    let inline_tail = if flags & INODE_FLAG_INLINE_DATA != 0 {
        raw.get(128 + extra..).and_then(inline_data_attribute)
    } else {
        None
    };
    Inode {
        mode,
        size,
        flags,
        ctime_raw: u32le(raw, 0x0C),
        times: [time(0x10, 0x88), time(0x08, 0x8C), time(0x0C, 0x84)],
        i_block,
        inline_tail,
    }
}

/// The value of the `system.data` extended attribute in an inode's extra space (`ea`: from
/// the end of the fixed fields to the end of the inode).
fn inline_data_attribute(ea: &[u8]) -> Option<Vec<u8>> {
    if u32le(ea, 0) != 0xEA02_0000 {
        return None;
    }
    let entries = &ea[4..];
    let mut at = 0usize;
    while at + 16 <= entries.len() && u32le(entries, at) != 0 {
        let name_len = usize::from(entries[at]);
        let index = entries[at + 1];
        let value_offset = usize::from(u16le(entries, at + 2));
        let value_size = u32le(entries, at + 8) as usize;
        let name = entries.get(at + 16..at + 16 + name_len)?;
        if index == 7 && name == b"data" {
            return entries
                .get(value_offset..value_offset.checked_add(value_size)?)
                .map(<[u8]>::to_vec);
        }
        at += (16 + name_len + 3) & !3;
    }
    None
}

/// Parses one directory block as The Sleuth Kit does (`ext2fs_dent_parse_block`): an entry
/// is taken where its inode, name length and record length are plausible; otherwise the
/// parse moves 4 bytes on. After a live entry, the space its record length claims beyond
/// its name holds deleted entries. `dir_deleted`: every entry is deleted.
fn parse_dir_block(
    buf: &[u8],
    filetype: bool,
    last_inode: u64,
    dir_deleted: bool,
    out: &mut Vec<Name>,
) {
    let len = buf.len();
    let mut idx = 0usize;
    // Bytes left of the space after a live entry's name (deleted entries live there).
    let mut dellen = 0usize;
    while len >= MIN_DIRENT && idx <= len - MIN_DIRENT {
        let inode = u64::from(u32le(buf, idx));
        let rec_len = usize::from(u16le(buf, idx + 4));
        let name_len =
            if filetype { usize::from(buf[idx + 6]) } else { usize::from(u16le(buf, idx + 6)) };
        let needs = (name_len + 8 + 3) & !3;
        let plausible = inode <= last_inode
            && (1..=255).contains(&name_len)
            && rec_len >= needs
            && rec_len.is_multiple_of(4)
            && idx + rec_len <= len;
        if !plausible || (dellen > 0 && dellen < needs) {
            dellen = dellen.saturating_sub(4);
            idx += 4;
            continue;
        }
        let raw = &buf[idx + 8..idx + 8 + name_len];
        // The name ends at a NUL, as The Sleuth Kit copies it.
        let name = raw.iter().position(|&b| b == 0).map_or(raw, |n| &raw[..n]).to_vec();
        let deleted = dellen > 0 || inode == 0 || dir_deleted;
        if dellen > 0 {
            dellen -= needs;
        }
        out.push(Name {
            inode,
            name,
            file_type: if filetype { buf[idx + 7] } else { 0 },
            allocated: !deleted,
        });
        let mut step = needs;
        if dellen == 0 {
            if rec_len - needs >= MIN_DIRENT {
                dellen = rec_len - needs;
            } else {
                step = rec_len;
            }
        }
        idx += step;
    }
}

/// The state of the directory walk.
struct Walk<'w, 'a> {
    fs: &'w ExtFs<'a>,
    out: Vec<FsEntry>,
    /// Directories walked, with the path they were walked at.
    walked: HashMap<u64, Vec<u8>>,
    /// Free inodes some name reaches (not orphans).
    named_free: HashSet<u64>,
    problems: Vec<String>,
    cap: usize,
    capped: bool,
    /// Only record the inodes names reach (`seen`), emit nothing.
    collect_only: bool,
    seen: Vec<u64>,
}

/// A directory to walk.
struct Task {
    inode: u64,
    path: Vec<u8>,
    deleted: bool,
    depth: usize,
}

impl Walk<'_, '_> {
    /// Walks the directory tree from directory inode `n` (`ino`), its entries under `path`.
    fn run(&mut self, n: u64, ino: &Inode, path: Vec<u8>, deleted: bool) {
        let mut stack = vec![Task { inode: n, path, deleted, depth: 0 }];
        let mut first = Some(ino.clone());
        while let Some(task) = stack.pop() {
            let dir = match first.take() {
                Some(i) => i,
                None => match self.fs.inode(task.inode) {
                    Ok(i) => i,
                    Err(_) => continue, // reported with its entry already
                },
            };
            let names = match self.list(&dir, task.deleted) {
                Ok(names) => names,
                Err(reason) => {
                    let where_ = if task.path.is_empty() { "/".into() } else { lossy(&task.path) };
                    let reason = Reason::new(
                        reason.code,
                        format!(
                            "directory inode {} ({where_}): {}; its entries are not listed",
                            task.inode, reason.message
                        ),
                    );
                    self.fail_dir(task.inode, reason);
                    continue;
                }
            };
            for name in names {
                if name.name == b"." || name.name == b".." {
                    continue;
                }
                if self.out.len() >= self.cap {
                    self.capped = true;
                    return;
                }
                let mut path = task.path.clone();
                if !path.is_empty() {
                    path.push(b'/');
                }
                path.extend_from_slice(&name.name);
                if let Some(child) = self.entry(&name, path, task.deleted, task.depth) {
                    stack.push(child);
                }
            }
        }
    }

    /// Marks the entry of directory `n` as an error (or the volume, for the root).
    fn fail_dir(&mut self, n: u64, reason: Reason) {
        if self.collect_only {
            return;
        }
        match self.out.iter_mut().rev().find(|e| e.entry_number == n && e.is_dir) {
            Some(e) => e.state = EntryState::Error(reason),
            None => self.problems.push(reason.message),
        }
    }

    /// The names of a directory, deduplicated as The Sleuth Kit does (a name with the same
    /// inode once, the live one kept).
    fn list(&self, dir: &Inode, deleted: bool) -> Result<Vec<Name>, Reason> {
        let damaged = |e: String| Reason::new(ReasonCode::FileSystemDamaged, e);
        let fs = self.fs;
        let bs = fs.sb.block_size;
        let filetype = fs.sb.incompat & INCOMPAT_FILETYPE != 0;
        let last = fs.sb.inodes_count + 1;
        let mut names = Vec::new();
        let m = fs.map(dir, dir.size).map_err(damaged)?;
        if let Some(bytes) = &m.inline {
            parse_dir_block(bytes, filetype, last, deleted, &mut names);
        } else {
            let size = dir.size.div_ceil(bs) * bs;
            let data = fs.file_data(&m, size).map_err(damaged)?;
            if deleted && let Some(b) = fs.reused_block(&m) {
                return Err(Reason::new(
                    ReasonCode::NotRecoverable,
                    format!(
                        "the deleted directory's block {b} is in use again (its bytes now \
                         belong to another file)"
                    ),
                ));
            }
            if let FileData::Extents(extents) = data {
                let mut block = vec![0u8; bs as usize];
                for e in extents {
                    let Extent::Media { offset, len } = e else { continue };
                    let mut at = 0u64;
                    while at < len {
                        fs.read_cached(offset + at, &mut block)
                            .map_err(|e| damaged(e.to_string()))?;
                        parse_dir_block(&block, filetype, last, deleted, &mut names);
                        at += bs;
                    }
                }
            }
        }
        // Same inode and name: once, preferring the live entry; then the order found.
        let mut order: Vec<usize> = (0..names.len()).collect();
        order.sort_by(|&a, &b| {
            (names[a].inode, &names[a].name, !names[a].allocated, a).cmp(&(
                names[b].inode,
                &names[b].name,
                !names[b].allocated,
                b,
            ))
        });
        order.dedup_by(|b, a| {
            names[*a].inode == names[*b].inode && names[*a].name == names[*b].name
        });
        order.sort_unstable();
        let mut keep = vec![false; names.len()];
        for i in order {
            keep[i] = true;
        }
        let mut i = 0;
        names.retain(|_| {
            i += 1;
            keep[i - 1]
        });
        Ok(names)
    }

    /// The entry for `name` at `path` (in a directory that is deleted when
    /// `dir_deleted`); a directory to walk next, if it is one.
    fn entry(
        &mut self,
        name: &Name,
        path: Vec<u8>,
        dir_deleted: bool,
        depth: usize,
    ) -> Option<Task> {
        let fs = self.fs;
        let n = name.inode;
        let name_deleted = !name.allocated;
        // The Sleuth Kit reads the inode of a name unless it is a deleted name without one.
        let inode = if n == 0 {
            None
        } else if n > fs.sb.inodes_count {
            Some(Err(format!(
                "the name points to inode {n}, past the file system's {} inodes",
                fs.sb.inodes_count
            )))
        } else {
            Some(fs.inode(n))
        };
        let allocated =
            (n != 0 && n <= fs.sb.inodes_count).then(|| fs.inode_allocated(n)).flatten();
        let inode_free = allocated == Some(false);
        if inode_free {
            self.named_free.insert(n);
        }
        if self.collect_only {
            self.seen.push(n);
        }
        let deleted = name_deleted || dir_deleted || inode_free;
        let fail = |code, message: String| EntryState::Error(Reason::new(code, message));
        let (is_dir, size, times, state) = match inode {
            None => (
                name.file_type == DE_DIR,
                0,
                [None; 3],
                fail(
                    ReasonCode::NotRecoverable,
                    "a deleted directory entry whose inode number was cleared (0): nothing \
                     records where its content was"
                        .into(),
                ),
            ),
            Some(Err(e)) => (
                name.file_type == DE_DIR,
                0,
                [None; 3],
                fail(ReasonCode::FileSystemDamaged, format!("{e}; not read")),
            ),
            Some(Ok(ino)) => {
                let is_dir =
                    if ino.mode == 0 { name.file_type == DE_DIR } else { ino.kind() == S_IFDIR };
                let size = match ino.kind() {
                    S_IFREG | S_IFLNK => ino.size,
                    _ => 0,
                };
                let state = if name_deleted && allocated == Some(true) {
                    fail(
                        ReasonCode::NotRecoverable,
                        format!(
                            "a deleted name whose inode {n} is in use again (by this file under \
                             another name, or by another file): not read here; the live file is \
                             reported under its own name"
                        ),
                    )
                } else {
                    self.state(n, &ino, deleted)
                };
                (is_dir, size, ino.times, state)
            }
        };
        // The Sleuth Kit walks a directory named alive, or deleted with a free inode.
        let walk = is_dir
            && matches!(state, EntryState::Read(_))
            && (name.file_type == DE_DIR || name.file_type == 0)
            && (!name_deleted || inode_free);
        let mut task = None;
        let mut state = state;
        if walk {
            if let Some(first) = self.walked.get(&n) {
                // Deleted names often repeat a directory already walked: listed, not walked.
                if !deleted {
                    state = fail(
                        ReasonCode::FileSystemDamaged,
                        format!(
                            "directory inode {n} was already listed at {} (a directory loop or \
                             a second link to a directory): not walked again",
                            if first.is_empty() { "/".into() } else { lossy(first) }
                        ),
                    );
                }
            } else if depth + 1 >= MAX_DEPTH {
                state = fail(
                    ReasonCode::FileSystemDamaged,
                    format!("directories nested deeper than {MAX_DEPTH}: not walked"),
                );
            } else {
                self.walked.insert(n, path.clone());
                task = Some(Task {
                    inode: n,
                    path: path.clone(),
                    deleted: inode_free || dir_deleted,
                    depth: depth + 1,
                });
            }
        }
        if !self.collect_only {
            self.out.push(FsEntry {
                path,
                is_dir,
                deleted,
                entry_number: n,
                address: None,
                size,
                times,
                state,
            });
        }
        task
    }

    /// What to do with inode `n`.
    fn state(&self, n: u64, ino: &Inode, deleted: bool) -> EntryState {
        let fs = self.fs;
        let fail = |code, message: String| EntryState::Error(Reason::new(code, message));
        let skip = |code, message: String| EntryState::Skipped(Reason::new(code, message));
        match ino.kind() {
            0 if deleted => fail(
                ReasonCode::NotRecoverable,
                format!("deleted entry whose inode {n} is cleared (no type, no content)"),
            ),
            S_IFDIR => EntryState::Read(FileData::Empty),
            S_IFLNK => skip(
                ReasonCode::SymlinkNotFollowed,
                format!("symbolic link to {}: not followed", lossy(&self.link_target(ino))),
            ),
            S_IFCHR => skip(ReasonCode::CharDevice, "a character device: not read".into()),
            S_IFBLK => skip(ReasonCode::BlockDevice, "a block device: not read".into()),
            S_IFIFO => skip(ReasonCode::Fifo, "a named pipe: not read".into()),
            S_IFSOCK => skip(ReasonCode::Socket, "a socket: nothing to read".into()),
            S_IFREG => {
                if ino.flags & INODE_FLAG_ENCRYPT != 0 {
                    return fail(
                        ReasonCode::NotRecoverable,
                        format!(
                            "inode {n} is encrypted (fscrypt): its bytes cannot be read without \
                             the user's key; not hashed"
                        ),
                    );
                }
                let damaged = |e: String| {
                    fail(
                        ReasonCode::FileSystemDamaged,
                        format!("inode {n}: {e}; not read (its bytes would not be reliable)"),
                    )
                };
                let m = match fs.map(ino, ino.size) {
                    Ok(m) => m,
                    Err(e) => return damaged(e),
                };
                let data = match fs.file_data(&m, ino.size) {
                    Ok(d) => d,
                    Err(e) => return damaged(e),
                };
                if !deleted {
                    return EntryState::Read(data);
                }
                let stored = m.inline.is_some() || m.runs.iter().any(|r| r.physical.is_some());
                if !stored {
                    return fail(
                        ReasonCode::NotRecoverable,
                        format!(
                            "deleted file whose inode {n} keeps no block pointers or extents \
                             (size {}): ext3 and ext4 clear them at deletion (or it was empty); \
                             its content is not recoverable from the file system (carving the \
                             free space may find it)",
                            ino.size
                        ),
                    );
                }
                if let Some(b) = fs.reused_block(&m) {
                    return fail(
                        ReasonCode::NotRecoverable,
                        format!(
                            "deleted file whose block {b} is allocated again: its bytes now \
                             belong to another file (The Sleuth Kit's icat still shows them); \
                             not read"
                        ),
                    );
                }
                EntryState::Read(data)
            }
            kind => fail(
                ReasonCode::FileSystemDamaged,
                format!("inode {n} has an unknown type (mode 0o{:o}): not read", kind),
            ),
        }
    }

    /// A symbolic link's target (at most 4096 bytes).
    fn link_target(&self, ino: &Inode) -> Vec<u8> {
        let size = ino.size.min(4096);
        let fast =
            ino.flags & (INODE_FLAG_EXTENTS | INODE_FLAG_INLINE_DATA) == 0 && size < I_BLOCK as u64;
        if fast || ino.flags & INODE_FLAG_INLINE_DATA != 0 {
            return ino.i_block[..(size as usize).min(I_BLOCK)].to_vec();
        }
        let Ok(m) = self.fs.map(ino, size) else { return b"?".to_vec() };
        let Ok(FileData::Extents(extents)) = self.fs.file_data(&m, size) else {
            return b"?".to_vec();
        };
        let mut out = Vec::new();
        for e in extents {
            let at = out.len();
            out.resize(at + e.len() as usize, 0);
            if let Extent::Media { offset, .. } = e
                && self.fs.read_cached(offset, &mut out[at..]).is_err()
            {
                return b"?".to_vec();
            }
        }
        out
    }

    /// Free inodes that were used (change time set) and that no name reaches, as The Sleuth
    /// Kit lists them under `$OrphanFiles` (orphan directories with their content; an orphan
    /// inside an orphan directory only there).
    fn orphans(&mut self) {
        let fs = self.fs;
        let sb = &fs.sb;
        let mut candidates = Vec::new();
        'groups: for (g, group) in fs.groups.iter().enumerate() {
            let bits = match &fs.inode_bitmaps[g] {
                Bitmap::Bits(bits) if group.valid => bits.clone(),
                _ => continue,
            };
            // With descriptor checksums, the table's tail was never used.
            let used = if sb.has_csum() {
                sb.inodes_per_group.saturating_sub(group.itable_unused)
            } else {
                sb.inodes_per_group
            };
            for i in 0..used {
                if bit(&bits, i) {
                    continue;
                }
                let n = g as u64 * sb.inodes_per_group + i + 1;
                if self.named_free.contains(&n) {
                    continue;
                }
                match fs.inode(n) {
                    Ok(ino) if ino.ctime_raw != 0 => candidates.push((n, ino)),
                    _ => {}
                }
                if candidates.len() >= self.cap {
                    self.capped = true;
                    break 'groups;
                }
            }
        }
        // First the inodes reached from inside orphan directories (they are listed there).
        let walked = self.walked.clone();
        let mut inside = HashSet::new();
        for (n, ino) in candidates.iter().filter(|(_, i)| i.kind() == S_IFDIR) {
            self.collect_only = true;
            self.seen.clear();
            self.walked.insert(*n, Vec::new());
            self.run(*n, ino, Vec::new(), true);
            self.collect_only = false;
            inside.extend(self.seen.drain(..));
        }
        self.walked = walked;
        for (n, ino) in candidates {
            if inside.contains(&n) || self.out.len() >= self.cap {
                continue;
            }
            let path = format!("$OrphanFiles/OrphanFile-{n}").into_bytes();
            let state = self.state(n, &ino, true);
            let is_dir = ino.kind() == S_IFDIR;
            let size = match ino.kind() {
                S_IFREG | S_IFLNK => ino.size,
                _ => 0,
            };
            let walk =
                is_dir && matches!(state, EntryState::Read(_)) && !self.walked.contains_key(&n);
            self.out.push(FsEntry {
                path: path.clone(),
                is_dir,
                deleted: true,
                entry_number: n,
                address: None,
                size,
                times: ino.times,
                state,
            });
            if walk {
                self.walked.insert(n, path.clone());
                self.run(n, &ino, path, true);
            }
        }
    }
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dirent(inode: u32, rec_len: u16, name: &[u8], file_type: u8) -> Vec<u8> {
        let mut e = inode.to_le_bytes().to_vec();
        e.extend_from_slice(&rec_len.to_le_bytes());
        e.push(name.len() as u8);
        e.push(file_type);
        e.extend_from_slice(name);
        while !e.len().is_multiple_of(4) {
            e.push(0);
        }
        e
    }

    #[test]
    fn directory_slack_and_cleared_inodes_are_deleted_entries() {
        // "." and "..", then "live" whose record length covers a deleted "gone.txt" after it,
        // then an entry with inode 0 as the last record.
        let mut block = Vec::new();
        block.extend(dirent(2, 12, b".", 2));
        block.extend(dirent(2, 12, b"..", 2));
        let mut live = dirent(12, 12 + 16, b"live", 1);
        live.extend(dirent(13, 16, b"gone.txt", 1));
        block.extend(live);
        let rest = 1024 - block.len();
        block.extend(dirent(0, rest as u16, b"cleared", 1));
        block.resize(1024, 0);
        let mut names = Vec::new();
        parse_dir_block(&block, true, 100, false, &mut names);
        let got: Vec<(&[u8], u64, bool)> =
            names.iter().map(|n| (&n.name[..], n.inode, n.allocated)).collect();
        assert_eq!(
            got,
            [
                (&b"."[..], 2, true),
                (b"..", 2, true),
                (b"live", 12, true),
                (b"gone.txt", 13, false),
                (b"cleared", 0, false)
            ]
        );
        // An implausible record (inode past the count, length not a multiple of 4) is
        // stepped over, never trusted.
        let mut hostile = dirent(5000, 1024, b"x", 1);
        hostile.resize(1024, 0xFF);
        let mut names = Vec::new();
        parse_dir_block(&hostile, true, 100, false, &mut names);
        assert!(names.is_empty());
    }

    #[test]
    fn superblock_checks() {
        let mut sb = vec![0u8; 1024];
        sb[0x38..0x3A].copy_from_slice(&MAGIC.to_le_bytes());
        sb[0x00..0x04].copy_from_slice(&16u32.to_le_bytes()); // inodes
        sb[0x04..0x08].copy_from_slice(&1024u32.to_le_bytes()); // blocks
        sb[0x14..0x18].copy_from_slice(&1u32.to_le_bytes()); // first data block
        sb[0x20..0x24].copy_from_slice(&8192u32.to_le_bytes());
        sb[0x28..0x2C].copy_from_slice(&16u32.to_le_bytes());
        let parsed = parse_superblock(&sb).unwrap();
        assert_eq!((parsed.groups, parsed.inode_size, parsed.fs_type()), (1, 128, "ext2"));
        sb[0x18] = 7; // 128 KiB blocks
        assert!(!is_ext_superblock(&sb));
        sb[0x18] = 0;
        sb[0x64] = 0x00; // bigalloc in ro_compat
        sb[0x65] = 0x02;
        assert!(matches!(parse_superblock(&sb), Err((true, _))));
        assert!(is_ext_superblock(&sb));
    }

    #[test]
    fn inline_data_attribute_value() {
        let mut ea = 0xEA02_0000u32.to_le_bytes().to_vec();
        // One entry: name "data" in index 7, value at offset 32 of 5 bytes.
        let mut entry = vec![4u8, 7];
        entry.extend_from_slice(&32u16.to_le_bytes());
        entry.extend_from_slice(&0u32.to_le_bytes());
        entry.extend_from_slice(&5u32.to_le_bytes());
        entry.extend_from_slice(&0u32.to_le_bytes());
        entry.extend_from_slice(b"data");
        ea.extend(entry);
        ea.resize(4 + 32, 0);
        ea.extend_from_slice(b"hello");
        assert_eq!(inline_data_attribute(&ea).as_deref(), Some(&b"hello"[..]));
        // A value past the end is refused.
        let short = &ea[..ea.len() - 2];
        assert_eq!(inline_data_attribute(short), None);
    }

    #[test]
    fn powers_for_sparse_super() {
        let hits: Vec<u64> =
            (0..60).filter(|&g| g == 1 || [3, 5, 7].iter().any(|&b| is_power_of(g, b))).collect();
        assert_eq!(hits, [1, 3, 5, 7, 9, 25, 27, 49]);
    }
}
