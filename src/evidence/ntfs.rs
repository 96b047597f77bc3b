//! NTFS, read-only, with deleted files and alternate data streams, read through a
//! [`DiskImage`]. Every length and offset read from the volume is checked before use; a
//! damaged record is an error for that entry, never a panic, and memory is bounded by the
//! caps below (never by a length field alone).
//!
//! * **Boot sector**: `NTFS    ` OEM name, bytes per sector (256-4096, power of two),
//!   sectors per cluster (the byte, or `2^-n` for values above 0x80; clusters up to
//!   [`MAX_CLUSTER_BYTES`]), total sectors, the `$MFT` cluster, the record size (clusters,
//!   or `2^-n` bytes; 256 bytes to 64 KiB).
//! * **$MFT**: record 0 is read at the boot sector's cluster; the `$MFT` is then read
//!   through its own `$DATA` runs (also those in extension records named by its
//!   `$ATTRIBUTE_LIST`), in one pass, at most [`MAX_MFT_RECORDS`] records and never more
//!   than the volume holds.
//! * **Records**: `FILE` signature; the update sequence array is checked (each 512-byte
//!   stride must end with the sequence number) and applied. A mismatch is an error for that
//!   record's entry ([`ReasonCode::FileSystemDamaged`]), as is an attribute reaching past
//!   the record. Flags: in use, directory. Extension records are merged into their base
//!   record through its `$ATTRIBUTE_LIST` (resident, or non-resident up to
//!   [`MAX_ATTRIBUTE_LIST`] bytes).
//! * **Attributes**: `$STANDARD_INFORMATION` (times), `$FILE_NAME` (the Win32 or POSIX
//!   name is preferred over the DOS 8.3 name; a record's first such name gives its path),
//!   `$DATA` resident or non-resident. Data runs: signed LCN deltas; a run without offset
//!   is sparse (zeros). Runs reaching past the volume, overlapping each other, not covering
//!   the size, or more than [`MAX_RUNS`] are errors for that stream, as is a stream
//!   declaring more than [`SPARSE_FACTOR`] times its volume (sparse: zeros for ever).
//!   Bytes past the initialized size read as zeros (as The Sleuth Kit gives them). Compressed streams
//!   (LZNT1, units of `2^n` clusters) are decompressed ([`super::fs::lznt1_decompress`]);
//!   encrypted streams are an error record (`$EFS` keys are not available).
//! * **Paths** come from the `$FILE_NAME` parent references (not from the `$I30` indexes):
//!   the parent must be a directory record whose sequence number is the reference's (or
//!   one more, for a deleted parent: deletion increments it). Deleted records whose parent
//!   does not match go under `$OrphanFiles`, as The Sleuth Kit shows them; records without
//!   a name are `$OrphanFiles/OrphanFile-N`. A parent chain that loops or is deeper than
//!   [`MAX_DEPTH`] is an error for the entry, listed under `$OrphanFiles`.
//! * **Streams**: the unnamed `$DATA` is the file's content; each named `$DATA` is an
//!   alternate data stream listed as `path:name` with The Sleuth Kit's address
//!   (`record-128-id`).
//! * **Deleted files**: records whose in-use flag is clear, with their attributes as they
//!   survive: resident content exactly, non-resident content from the runs, as The Sleuth
//!   Kit's `icat` reads them, unless a run's clusters are allocated again in `$Bitmap`
//!   (then the bytes belong to another file: [`ReasonCode::NotRecoverable`]).
//! * **System files** (records 0-15: `$MFT`, `$Bitmap`, `$LogFile`... and everything under
//!   `$Extend`) are listed, skipped with [`ReasonCode::FileSystemMetadata`], never hashed
//!   (`$BadClus:$Bad` alone is a sparse stream as large as the volume).

use std::collections::HashMap;
use std::io;
use std::sync::Arc;

use super::fs::{Compressed, CompressedUnit, EntryState, Extent, FileData, FileSystem, FsEntry};
use super::image::DiskImage;
use crate::report::{Reason, ReasonCode, Timestamp};

/// Records read at most from the `$MFT` (8 GiB of 1 KiB records; the parsed records are
/// held in memory, roughly 150 bytes each plus names and resident data).
pub const MAX_MFT_RECORDS: u64 = 1 << 23;
/// Largest cluster read (2 MiB, the largest NTFS allows).
pub const MAX_CLUSTER_BYTES: u64 = 2 << 20;
/// Data runs followed at most in one stream.
pub const MAX_RUNS: usize = 1 << 20;
/// Largest non-resident `$ATTRIBUTE_LIST` read.
pub const MAX_ATTRIBUTE_LIST: u64 = 1 << 20;
/// Largest `$Bitmap` read (covers 8 TiB of 4 KiB clusters).
pub const MAX_BITMAP_BYTES: u64 = 256 << 20;
/// A stream may declare at most this many times its volume's size (or 1 GiB) in bytes.
pub const SPARSE_FACTOR: u64 = 16;
/// Directory depth followed at most.
pub const MAX_DEPTH: usize = 1024;

/// The record number of the root directory.
const ROOT: u64 = 5;
/// The record number of `$Extend`.
const EXTEND: u64 = 11;
/// Records below this are the system files.
const FIRST_USER_RECORD: u64 = 16;

const ATTR_STANDARD_INFORMATION: u32 = 0x10;
const ATTR_ATTRIBUTE_LIST: u32 = 0x20;
const ATTR_FILE_NAME: u32 = 0x30;
const ATTR_DATA: u32 = 0x80;
const ATTR_END: u32 = 0xFFFF_FFFF;

/// Why a volume could not be read as NTFS.
#[derive(Debug, thiserror::Error)]
pub enum NtfsError {
    /// The boot sector is not an NTFS boot sector.
    #[error("not an NTFS file system: {why}")]
    NotNtfs {
        /// The check that failed.
        why: String,
    },
    /// The `$MFT` cannot be located or read (record 0 damaged, absurd size...).
    #[error(
        "the NTFS master file table is damaged: {why}; no file of this volume can be listed \
         (check the volume with another tool, e.g. The Sleuth Kit's istat 0)"
    )]
    MftDamaged {
        /// What is wrong.
        why: String,
    },
    /// Reading the volume failed.
    #[error("cannot read the NTFS {what}: {source}")]
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
    b.get(at..at + 4).map_or(0, |s| u32::from_le_bytes(s.try_into().unwrap_or([0; 4])))
}
fn u64le(b: &[u8], at: usize) -> u64 {
    b.get(at..at + 8).map_or(0, |s| u64::from_le_bytes(s.try_into().unwrap_or([0; 8])))
}

/// The geometry from the boot sector.
#[derive(Debug, Clone, Copy)]
struct Geometry {
    cluster: u64,
    record: u64,
    total_clusters: u64,
    mft_lcn: u64,
    /// First cluster of `$MFTMirr` (copies of records 0-3), if inside the volume.
    mirror_lcn: Option<u64>,
}

fn parse_boot(s: &[u8]) -> Result<Geometry, String> {
    if s.len() < 512 || &s[3..11] != b"NTFS    " {
        return Err("no NTFS OEM name".into());
    }
    if s[510..512] != [0x55, 0xAA] {
        return Err("no 0x55AA signature".into());
    }
    let bps = u64::from(u16le(s, 11));
    if !(256..=4096).contains(&bps) || !bps.is_power_of_two() {
        return Err(format!("bytes per sector {bps}"));
    }
    let spc = s[13];
    let cluster = match spc {
        0 => return Err("sectors per cluster 0".into()),
        1..=0x80 if spc.is_power_of_two() => bps * u64::from(spc),
        0xF4..=0xFF => 1u64 << (256 - u32::from(spc)),
        _ => return Err(format!("sectors per cluster byte 0x{spc:02x}")),
    };
    if cluster > MAX_CLUSTER_BYTES {
        return Err(format!("clusters of {cluster} bytes"));
    }
    let total_sectors = u64le(s, 0x28);
    let total_clusters = total_sectors.saturating_mul(bps) / cluster;
    if total_clusters == 0 {
        return Err("no clusters".into());
    }
    let mft_lcn = u64le(s, 0x30);
    if mft_lcn >= total_clusters {
        return Err(format!("$MFT cluster {mft_lcn} past the {total_clusters} clusters"));
    }
    let per_record = s[0x40] as i8;
    let record = if per_record > 0 {
        cluster * u64::from(per_record as u8)
    } else {
        let shift = u32::from(per_record.unsigned_abs());
        if shift >= 32 {
            return Err(format!("record size byte {per_record}"));
        }
        1u64 << shift
    };
    if !(256..=65536).contains(&record) || !record.is_power_of_two() {
        return Err(format!("MFT records of {record} bytes"));
    }
    let mirror_lcn = Some(u64le(s, 0x38)).filter(|&l| l < total_clusters && l != mft_lcn);
    Ok(Geometry { cluster, record, total_clusters, mft_lcn, mirror_lcn })
}

/// Whether the sector is an NTFS boot sector with a plausible BPB.
pub fn is_ntfs_boot_sector(sector: &[u8]) -> bool {
    parse_boot(sector).is_ok()
}

/// One data run: `len` clusters at `lcn` (`None`: sparse).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Run {
    lcn: Option<u64>,
    len: u64,
}

/// Decodes a runlist, checking every run against the volume.
fn decode_runs(bytes: &[u8], total_clusters: u64, out: &mut Vec<Run>) -> Result<(), String> {
    let mut at = 0usize;
    let mut lcn: i128 = 0;
    while let Some(&h) = bytes.get(at) {
        if h == 0 {
            return Ok(());
        }
        let len_size = usize::from(h & 0x0F);
        let off_size = usize::from(h >> 4);
        if len_size == 0 || len_size > 8 || off_size > 8 {
            return Err(format!("data run header 0x{h:02x} at runlist byte {at}"));
        }
        let field = |from: usize, n: usize, signed: bool| -> Option<i128> {
            let b = bytes.get(from..from + n)?;
            let mut v: i128 = 0;
            for (i, &x) in b.iter().enumerate() {
                v |= i128::from(x) << (8 * i);
            }
            if signed && n > 0 && b[n - 1] & 0x80 != 0 {
                v -= 1i128 << (8 * n);
            }
            Some(v)
        };
        let len = field(at + 1, len_size, false).ok_or("runlist ends inside a run")?;
        let delta = field(at + 1 + len_size, off_size, true).ok_or("runlist ends inside a run")?;
        at += 1 + len_size + off_size;
        let len = len as u64;
        if len == 0 || len > total_clusters {
            return Err(format!("a data run of {len} clusters (the volume has {total_clusters})"));
        }
        if out.len() >= MAX_RUNS {
            return Err(format!("more than {MAX_RUNS} data runs"));
        }
        if off_size == 0 {
            out.push(Run { lcn: None, len });
            continue;
        }
        lcn += delta;
        if lcn < 0 || lcn + i128::from(len) > i128::from(total_clusters) {
            return Err(format!(
                "a data run of clusters {lcn}..{} reaches past the volume's {total_clusters} \
                 clusters",
                lcn + i128::from(len)
            ));
        }
        out.push(Run { lcn: Some(lcn as u64), len });
    }
    Err("runlist without end marker".into())
}

/// A non-resident attribute's header fields.
#[derive(Debug, Clone)]
struct NonResident {
    start_vcn: u64,
    last_vcn: u64,
    compression_unit: u16,
    allocated: u64,
    size: u64,
    initialized: u64,
    runs: Result<Vec<Run>, String>,
}

#[derive(Debug, Clone)]
enum Body {
    Resident(Arc<[u8]>),
    NonResident(NonResident),
}

#[derive(Debug, Clone)]
struct Attr {
    kind: u32,
    id: u16,
    name: String,
    flags: u16,
    body: Body,
}

#[derive(Debug, Clone)]
struct FileName {
    parent: u64,
    parent_seq: u16,
    name: String,
    namespace: u8,
}

/// One parsed MFT record.
#[derive(Debug, Clone, Default)]
struct Record {
    seq: u16,
    in_use: bool,
    is_dir: bool,
    /// Base record number (0: this is a base record).
    base: u64,
    names: Vec<FileName>,
    /// `$DATA` and `$ATTRIBUTE_LIST` attributes (the others are not needed).
    attrs: Vec<Attr>,
    times: [Option<Timestamp>; 3],
    /// Whether any attribute was present (a record with none is an unused slot).
    has_attrs: bool,
    /// Damage: fixup mismatch, attribute past the record...
    problem: Option<String>,
}

/// An open NTFS file system.
pub struct NtfsFs<'a> {
    image: &'a dyn DiskImage,
    base: u64,
    geo: Geometry,
    /// Bytes of the volume on the media (bounds sparse streams).
    media_len: u64,
    /// The `$MFT`'s runs (media offsets via [`Self::stream_bytes`]).
    mft_runs: Vec<Run>,
    /// Records read from the `$MFT`.
    records: u64,
    /// Records the `$MFT` declares, when over [`MAX_MFT_RECORDS`].
    over_cap: Option<u64>,
    /// Damage found while opening that did not stop it (the volume's record reports it).
    notes: Vec<String>,
}

/// Windows FILETIME (100 ns since 1601) to a timestamp.
fn filetime(v: u64) -> Option<Timestamp> {
    if v == 0 {
        return None;
    }
    let secs = (v / 10_000_000) as i64 - 11_644_473_600;
    Some(Timestamp { secs, nanos: (v % 10_000_000) as u32 * 100 })
}

/// Applies the update sequence array of a `FILE` record in place.
fn apply_fixups(rec: &mut [u8]) -> Result<(), String> {
    let usa_off = usize::from(u16le(rec, 4));
    let usa_count = usize::from(u16le(rec, 6));
    let strides = rec.len() / 512;
    if usa_count != strides + 1 || usa_off < 8 || usa_off + 2 * usa_count > rec.len() {
        return Err(format!(
            "update sequence array of {usa_count} entries at byte {usa_off} does not fit a \
             {}-byte record",
            rec.len()
        ));
    }
    let usn = [rec[usa_off], rec[usa_off + 1]];
    for i in 0..strides {
        let end = 512 * (i + 1) - 2;
        if rec[end..end + 2] != usn {
            return Err(format!(
                "update sequence mismatch in sector {i} of the record (torn write or \
                 tampering): its content is not reliable"
            ));
        }
        let fix = usa_off + 2 * (i + 1);
        rec[end] = rec[fix];
        rec[end + 1] = rec[fix + 1];
    }
    Ok(())
}

fn utf16_name(b: &[u8], at: usize, units: usize) -> Option<String> {
    let bytes = b.get(at..at + 2 * units)?;
    let u: Vec<u16> = bytes.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
    Some(String::from_utf16_lossy(&u))
}

/// Parses a `FILE` record (fixups applied when they check out). `None`: not a record.
fn parse_record(mut rec: Vec<u8>, total_clusters: u64) -> Option<Record> {
    if &rec[0..4] != b"FILE" {
        return None;
    }
    let mut r = Record {
        seq: u16le(&rec, 16),
        in_use: u16le(&rec, 22) & 1 != 0,
        is_dir: u16le(&rec, 22) & 2 != 0,
        base: u64le(&rec, 32) & 0xFFFF_FFFF_FFFF,
        ..Record::default()
    };
    if let Err(e) = apply_fixups(&mut rec) {
        r.problem = Some(e);
    }
    let mut at = usize::from(u16le(&rec, 20));
    let used = (u32le(&rec, 24) as usize).min(rec.len());
    let mut seen = 0usize;
    loop {
        if at + 8 > used || seen > rec.len() / 16 {
            if r.problem.is_none() {
                r.problem = Some(format!("attribute at byte {at} reaches past the record"));
            }
            break;
        }
        let kind = u32le(&rec, at);
        if kind == ATTR_END {
            break;
        }
        let len = u32le(&rec, at + 4) as usize;
        if len < 24 || at + len > used || !len.is_multiple_of(8) {
            r.problem.get_or_insert(format!(
                "attribute 0x{kind:x} at byte {at} has length {len}, past the record's {used} \
                 bytes in use"
            ));
            break;
        }
        seen += 1;
        r.has_attrs = true;
        let a = &rec[at..at + len];
        at += len;
        let non_resident = a[8] != 0;
        let name_len = usize::from(a[9]);
        let name_off = usize::from(u16le(a, 10));
        let name = if name_len == 0 {
            String::new()
        } else {
            match utf16_name(a, name_off, name_len) {
                Some(n) => n,
                None => {
                    r.problem.get_or_insert(format!("attribute 0x{kind:x}: name past its end"));
                    continue;
                }
            }
        };
        let flags = u16le(a, 12);
        let id = u16le(a, 14);
        let body = if non_resident {
            if a.len() < 64 {
                r.problem.get_or_insert(format!("non-resident attribute 0x{kind:x} too short"));
                continue;
            }
            let runs_off = usize::from(u16le(a, 32));
            let mut runs = Vec::new();
            let decoded = match a.get(runs_off..) {
                Some(bytes) if runs_off >= 64 => {
                    decode_runs(bytes, total_clusters, &mut runs).map(|()| runs)
                }
                _ => Err(format!("runlist offset {runs_off} outside the attribute")),
            };
            Body::NonResident(NonResident {
                start_vcn: u64le(a, 16),
                last_vcn: u64le(a, 24),
                compression_unit: u16le(a, 34),
                allocated: u64le(a, 40),
                size: u64le(a, 48),
                initialized: u64le(a, 56),
                runs: decoded,
            })
        } else {
            let vlen = u32le(a, 16) as usize;
            let voff = usize::from(u16le(a, 20));
            match a.get(voff..voff.saturating_add(vlen)) {
                Some(v) => Body::Resident(v.into()),
                None => {
                    r.problem.get_or_insert(format!(
                        "resident attribute 0x{kind:x}: value of {vlen} bytes at {voff} past \
                         the attribute's {len} bytes"
                    ));
                    continue;
                }
            }
        };
        match (kind, &body) {
            (ATTR_STANDARD_INFORMATION, Body::Resident(v)) if v.len() >= 32 => {
                r.times = [filetime(u64le(v, 8)), filetime(u64le(v, 24)), filetime(u64le(v, 16))];
            }
            (ATTR_FILE_NAME, Body::Resident(v)) if v.len() >= 66 => {
                let units = usize::from(v[64]);
                if let Some(name) = utf16_name(v, 66, units) {
                    let parent = u64le(v, 0);
                    r.names.push(FileName {
                        parent: parent & 0xFFFF_FFFF_FFFF,
                        parent_seq: (parent >> 48) as u16,
                        name,
                        namespace: v[65],
                    });
                }
            }
            (ATTR_DATA | ATTR_ATTRIBUTE_LIST, _) => {
                r.attrs.push(Attr { kind, id, name, flags, body })
            }
            _ => {}
        }
    }
    Some(r)
}

impl<'a> NtfsFs<'a> {
    /// Opens the NTFS file system of the volume at media offset `base`, `len` bytes on the
    /// media.
    ///
    /// # Errors
    /// [`NtfsError`]: not NTFS, the `$MFT` damaged, or the volume unreadable.
    pub fn open(image: &'a dyn DiskImage, base: u64, len: u64) -> Result<NtfsFs<'a>, NtfsError> {
        let mut boot = vec![0u8; 512];
        image
            .read_exact_at(base, &mut boot)
            .map_err(|source| NtfsError::Io { what: "boot sector", source })?;
        let geo = parse_boot(&boot).map_err(|why| NtfsError::NotNtfs { why })?;
        let mut fs = NtfsFs {
            image,
            base,
            geo,
            media_len: len,
            mft_runs: Vec::new(),
            records: 0,
            over_cap: None,
            notes: Vec::new(),
        };
        // Record 0 locates the whole $MFT; when it is damaged, its copy in $MFTMirr does
        // (as Windows' chkdsk would use it), and the volume says so.
        let r0 = match fs.record0(geo.mft_lcn) {
            Ok(r) => r,
            Err(why) => {
                let Some(mirror) = geo.mirror_lcn else {
                    return Err(NtfsError::MftDamaged { why: format!("{why}; no $MFTMirr") });
                };
                let r = fs.record0(mirror).map_err(|mirror_why| NtfsError::MftDamaged {
                    why: format!("{why}; its copy in $MFTMirr too: {mirror_why}"),
                })?;
                fs.notes.push(format!(
                    "$MFT record 0 is damaged ({why}): the $MFT was located through its copy in \
                     $MFTMirr at cluster {mirror}; check the volume with another tool"
                ));
                r
            }
        };
        let mut frags: Vec<(u64, NonResident)> = r0
            .attrs
            .iter()
            .filter(|a| a.kind == ATTR_DATA && a.name.is_empty())
            .filter_map(|a| match &a.body {
                Body::NonResident(n) => Some((0, n.clone())),
                Body::Resident(_) => None,
            })
            .collect();
        let first = frags.iter().find(|f| f.1.start_vcn == 0).cloned().ok_or_else(|| {
            NtfsError::MftDamaged {
                why: "record 0 has no non-resident $DATA starting at VCN 0".into(),
            }
        })?;
        fs.mft_runs = first.1.runs.clone().map_err(|why| NtfsError::MftDamaged { why })?;
        // Further fragments of the $MFT's $DATA in extension records (a very fragmented
        // $MFT): the first fragment must map them.
        if let Some(list) = r0.attrs.iter().find(|a| a.kind == ATTR_ATTRIBUTE_LIST) {
            let list = fs.attribute_list_bytes(list).map_err(|why| NtfsError::MftDamaged {
                why: format!("record 0's attribute list: {why}"),
            })?;
            for e in parse_attribute_list(&list) {
                if e.kind != ATTR_DATA || !e.name.is_empty() || e.record == 0 {
                    continue;
                }
                fs.records = fs.mft_clusters() * geo.cluster / geo.record;
                let ext = fs.read_record(e.record).map_err(|why| NtfsError::MftDamaged {
                    why: format!("$MFT extension record {}: {why}", e.record),
                })?;
                for a in ext.attrs {
                    if let (ATTR_DATA, true, Body::NonResident(n)) =
                        (a.kind, a.name.is_empty(), a.body)
                        && n.start_vcn != 0
                    {
                        frags.push((e.record, n));
                    }
                }
            }
            frags.sort_by_key(|f| f.1.start_vcn);
            let mut runs = Vec::new();
            let mut vcn = 0u64;
            for (_, f) in &frags {
                if f.start_vcn != vcn {
                    return Err(NtfsError::MftDamaged {
                        why: format!("$MFT $DATA fragments leave a gap at VCN {vcn}"),
                    });
                }
                let r = f.runs.clone().map_err(|why| NtfsError::MftDamaged { why })?;
                vcn = vcn.saturating_add(r.iter().map(|r| r.len).sum::<u64>());
                runs.extend(r);
            }
            fs.mft_runs = runs;
        }
        let size = first.1.size;
        let covered = fs.mft_clusters().saturating_mul(geo.cluster);
        if size > covered || size > geo.total_clusters.saturating_mul(geo.cluster) {
            return Err(NtfsError::MftDamaged {
                why: format!(
                    "$MFT of {size} bytes, but its runs cover {covered} bytes of a volume of \
                     {} bytes",
                    geo.total_clusters * geo.cluster
                ),
            });
        }
        fs.records = (size / geo.record).min(MAX_MFT_RECORDS);
        fs.over_cap = (size / geo.record > MAX_MFT_RECORDS).then_some(size / geo.record);
        if fs.mft_runs.iter().any(|r| r.lcn.is_none()) {
            return Err(NtfsError::MftDamaged { why: "the $MFT has sparse runs".into() });
        }
        Ok(fs)
    }

    fn mft_clusters(&self) -> u64 {
        self.mft_runs.iter().fold(0u64, |a, r| a.saturating_add(r.len))
    }

    /// Reads `buf.len()` bytes at byte `offset` of a stream given by its runs.
    fn stream_bytes(&self, runs: &[Run], offset: u64, buf: &mut [u8]) -> Result<(), String> {
        let c = self.geo.cluster;
        let mut vstart = 0u64;
        let mut done = 0usize;
        for r in runs {
            let vend = vstart.saturating_add(r.len.saturating_mul(c));
            let want = offset + done as u64;
            if done < buf.len() && want < vend && want >= vstart {
                let n = ((vend - want) as usize).min(buf.len() - done);
                match r.lcn {
                    None => buf[done..done + n].fill(0),
                    Some(lcn) => {
                        let at = self.base + lcn * c + (want - vstart);
                        self.image
                            .read_exact_at(at, &mut buf[done..done + n])
                            .map_err(|e| format!("cannot read media bytes {at}..: {e}"))?;
                    }
                }
                done += n;
            }
            vstart = vend;
        }
        if done < buf.len() {
            return Err(format!("stream bytes {offset}.. are past its runs"));
        }
        Ok(())
    }

    /// Reads and parses one MFT record.
    fn read_record(&self, number: u64) -> Result<Record, String> {
        if number >= self.records {
            return Err(format!("record {number} is past the $MFT's {} records", self.records));
        }
        let mut buf = vec![0u8; self.geo.record as usize];
        self.stream_bytes(&self.mft_runs, number * self.geo.record, &mut buf)?;
        parse_record(buf, self.geo.total_clusters).ok_or_else(|| "no FILE signature".into())
    }

    fn attribute_list_bytes(&self, a: &Attr) -> Result<Vec<u8>, String> {
        match &a.body {
            Body::Resident(v) => Ok(v.to_vec()),
            Body::NonResident(n) => {
                if n.size > MAX_ATTRIBUTE_LIST {
                    return Err(format!(
                        "non-resident attribute list of {} bytes, over the {MAX_ATTRIBUTE_LIST} \
                         limit",
                        n.size
                    ));
                }
                let runs = n.runs.as_ref().map_err(Clone::clone)?;
                let mut buf = vec![0u8; n.size as usize];
                self.stream_bytes(runs, 0, &mut buf)?;
                Ok(buf)
            }
        }
    }

    /// Every record of the `$MFT`, read in order in batches.
    fn all_records(&self) -> (Vec<Option<Record>>, Vec<String>) {
        let rs = self.geo.record;
        let batch = (1u64 << 20) / rs;
        let mut out = Vec::with_capacity(self.records.min(1 << 20) as usize);
        let mut problems = Vec::new();
        let mut n = 0u64;
        while n < self.records {
            let count = batch.min(self.records - n);
            let mut buf = vec![0u8; (count * rs) as usize];
            if let Err(e) = self.stream_bytes(&self.mft_runs, n * rs, &mut buf) {
                // Read record by record to keep what can be read.
                for k in n..n + count {
                    let mut one = vec![0u8; rs as usize];
                    match self.stream_bytes(&self.mft_runs, k * rs, &mut one) {
                        Ok(()) => out.push(parse_record(one, self.geo.total_clusters)),
                        Err(_) => out.push(None),
                    }
                }
                problems.push(format!("$MFT records {n}..{}: {e}", n + count));
            } else {
                for chunk in buf.chunks_exact(rs as usize) {
                    out.push(parse_record(chunk.to_vec(), self.geo.total_clusters));
                }
            }
            n += count;
        }
        (out, problems)
    }

    /// The `$Bitmap` (one bit per cluster, set = allocated), if it can be read.
    fn bitmap(&self, records: &[Option<Record>]) -> Option<Vec<u8>> {
        let r = records.get(6)?.as_ref()?;
        let a = r.attrs.iter().find(|a| a.kind == ATTR_DATA && a.name.is_empty())?;
        match &a.body {
            Body::Resident(v) => Some(v.to_vec()),
            Body::NonResident(n) => {
                let want = self.geo.total_clusters.div_ceil(8);
                if n.size < want || want > MAX_BITMAP_BYTES {
                    return None;
                }
                let mut buf = vec![0u8; want as usize];
                self.stream_bytes(n.runs.as_ref().ok()?, 0, &mut buf).ok()?;
                Some(buf)
            }
        }
    }

    /// Reads and checks the `$MFT`'s own record at cluster `lcn` (record 0, or its copy in
    /// `$MFTMirr`): why it cannot locate the `$MFT`, if it cannot.
    fn record0(&self, lcn: u64) -> Result<Record, String> {
        let mut bytes = vec![0u8; self.geo.record as usize];
        let at = lcn.checked_mul(self.geo.cluster).and_then(|o| o.checked_add(self.base));
        let Some(at) = at else { return Err(format!("cluster {lcn} is out of range")) };
        self.image
            .read_exact_at(at, &mut bytes)
            .map_err(|e| format!("record 0 at cluster {lcn} cannot be read: {e}"))?;
        let r = parse_record(bytes, self.geo.total_clusters)
            .ok_or_else(|| format!("record 0 at cluster {lcn} has no FILE signature"))?;
        if let Some(p) = &r.problem {
            return Err(format!("record 0 at cluster {lcn}: {p}"));
        }
        let has_data = r.attrs.iter().any(|a| {
            a.kind == ATTR_DATA
                && a.name.is_empty()
                && matches!(&a.body, Body::NonResident(n) if n.start_vcn == 0)
        });
        if !has_data {
            return Err(format!(
                "record 0 at cluster {lcn} has no non-resident $DATA starting at VCN 0"
            ));
        }
        Ok(r)
    }

    /// Every file, directory and stream, as the disk source takes them.
    pub fn into_file_system(self) -> FileSystem {
        let (mut records, mut problems) = self.all_records();
        problems.splice(0..0, self.notes.iter().cloned());
        if let Some(n) = self.over_cap {
            problems.push(format!(
                "the $MFT holds {n} records; only the first {MAX_MFT_RECORDS} were read (files \
                 in the others are not listed: use another tool for this volume)"
            ));
        }
        let bitmap = self.bitmap(&records);
        // Merge attributes from extension records named by each base's attribute list.
        for n in 0..records.len() {
            let Some(rec) = &records[n] else { continue };
            if rec.base != 0 {
                continue;
            }
            let Some(list) = rec.attrs.iter().find(|a| a.kind == ATTR_ATTRIBUTE_LIST) else {
                continue;
            };
            let list = match self.attribute_list_bytes(list) {
                Ok(l) => l,
                Err(e) => {
                    if let Some(r) = records[n].as_mut() {
                        r.problem.get_or_insert(format!("attribute list: {e}"));
                    }
                    continue;
                }
            };
            let mut extra = Vec::new();
            let mut extra_names = Vec::new();
            let mut named_from = Vec::new();
            let mut missing = None;
            for e in parse_attribute_list(&list) {
                if e.record == n as u64 {
                    continue;
                }
                if e.kind == ATTR_FILE_NAME {
                    // Names in an extension record (a file with many hard links or a
                    // large attribute list): take that record's names once.
                    match records.get(e.record as usize).and_then(Option::as_ref) {
                        Some(x) if x.base == n as u64 => {
                            if !named_from.contains(&e.record) {
                                named_from.push(e.record);
                                extra_names.extend(x.names.iter().cloned());
                            }
                        }
                        _ => missing = Some(e.record),
                    }
                    continue;
                }
                if e.kind != ATTR_DATA {
                    continue;
                }
                let found = records.get(e.record as usize).and_then(Option::as_ref).and_then(|x| {
                    (x.base == n as u64)
                        .then(|| x.attrs.iter().find(|a| a.kind == e.kind && a.id == e.id))
                        .flatten()
                });
                match found {
                    Some(a) => extra.push(a.clone()),
                    None => missing = Some(e.record),
                }
            }
            if let Some(r) = records[n].as_mut() {
                r.attrs.extend(extra);
                r.names.extend(extra_names);
                if let Some(m) = missing {
                    r.problem.get_or_insert(format!(
                        "an attribute its attribute list places in record {m} is not there"
                    ));
                }
            }
        }
        let entries = self.entries(&records, bitmap.as_deref());
        // Free clusters from $Bitmap (none known when it cannot be read).
        let unallocated = bitmap.as_deref().map_or_else(Vec::new, |b| {
            super::fs::free_ranges(b, self.geo.total_clusters, self.base, self.geo.cluster)
        });
        FileSystem { fs_type: "ntfs".into(), entries, problems, unallocated }
    }

    fn entries(&self, records: &[Option<Record>], bitmap: Option<&[u8]>) -> Vec<FsEntry> {
        let mut out = Vec::new();
        // Paths are resolved once per record (memoized), with loop detection.
        let mut paths: HashMap<u64, Resolved> = HashMap::new();
        for (n, rec) in records.iter().enumerate() {
            let n = n as u64;
            let Some(rec) = rec else { continue };
            // Not listed: extension records (part of their base), the root itself, empty
            // record slots, and the reserved records 12-15 (in use, nameless), which The
            // Sleuth Kit does not list either.
            let nameless = rec.names.is_empty();
            if rec.base != 0
                || n == ROOT
                || (nameless && !rec.has_attrs)
                || (nameless && rec.in_use && n < FIRST_USER_RECORD)
            {
                continue;
            }
            let resolved = resolve(records, n, &mut paths);
            let metadata = n < FIRST_USER_RECORD || resolved.under_extend;
            let deleted = !rec.in_use || resolved.deleted_ancestor;
            let problem = rec.problem.clone().or_else(|| resolved.problem.clone());
            let damaged = |p: &str| {
                EntryState::Error(Reason::new(
                    ReasonCode::FileSystemDamaged,
                    format!("MFT record {n}: {p}; not read (its bytes would not be reliable)"),
                ))
            };
            let data: Vec<&Attr> = rec.attrs.iter().filter(|a| a.kind == ATTR_DATA).collect();
            let mut names: Vec<&str> = data.iter().map(|a| a.name.as_str()).collect();
            names.sort_unstable();
            names.dedup();
            // Each name of a hard-linked file is listed, as The Sleuth Kit lists every index
            // entry: the first Win32/POSIX name (the one the path resolution uses), then the
            // others (a live file's only: a deleted record's other names have no index entry).
            let mut listed_paths = vec![resolved.path.clone()];
            if rec.in_use && !rec.is_dir {
                for f in rec.names.iter().filter(|f| f.namespace != 2).skip(1) {
                    if let Some(p) = self.link_path(records, f, &mut paths)
                        && !listed_paths.contains(&p)
                    {
                        listed_paths.push(p);
                    }
                }
            }
            for listed_path in &listed_paths {
                // A directory, or a file without unnamed $DATA (listed with no content; a
                // system file without it, like $Secure or $Extend/$Quota, only by its named
                // $DATA streams, as The Sleuth Kit lists it).
                if rec.is_dir || (!names.contains(&"") && !metadata) {
                    let state = match (&problem, metadata) {
                        (Some(p), _) => damaged(p),
                        (None, true) => metadata_skip(n),
                        (None, false) => EntryState::Read(FileData::Empty),
                    };
                    out.push(FsEntry {
                        path: listed_path.clone(),
                        is_dir: rec.is_dir,
                        deleted,
                        entry_number: n,
                        address: None,
                        size: 0,
                        times: rec.times,
                        state,
                    });
                }
                for &name in &names {
                    if rec.is_dir && name.is_empty() {
                        continue;
                    }
                    let frags: Vec<&Attr> =
                        data.iter().copied().filter(|a| a.name == name).collect();
                    let mut path = listed_path.clone();
                    if !name.is_empty() {
                        path.push(b':');
                        path.extend_from_slice(name.as_bytes());
                    }
                    let (size, built) = self.stream(&frags);
                    let id = frags
                        .iter()
                        .min_by_key(|a| match &a.body {
                            Body::NonResident(nr) => nr.start_vcn,
                            Body::Resident(_) => 0,
                        })
                        .map_or(0, |a| a.id);
                    let state = match (&problem, built) {
                        (Some(p), _) => damaged(p),
                        (None, Err(r)) => EntryState::Error(r),
                        (None, Ok(_)) if metadata => metadata_skip(n),
                        (None, Ok(data)) => match reused(&data, bitmap, self, deleted) {
                            Some(r) => EntryState::Error(r),
                            None => EntryState::Read(data),
                        },
                    };
                    out.push(FsEntry {
                        path,
                        is_dir: false,
                        deleted,
                        entry_number: n,
                        address: Some(format!("{n}-128-{id}")),
                        size,
                        times: rec.times,
                        state,
                    });
                }
            }
        }
        out
    }

    /// The path of a hard-linked file's other name `f`, when its parent is a live directory
    /// of the same sequence number (else the name is stale and not listed).
    fn link_path(
        &self,
        records: &[Option<Record>],
        f: &FileName,
        memo: &mut HashMap<u64, Resolved>,
    ) -> Option<Vec<u8>> {
        let name = f.name.replace('/', "\u{2215}").into_bytes();
        if f.parent == ROOT {
            return Some(name);
        }
        let parent = records.get(f.parent as usize).and_then(Option::as_ref)?;
        if !(parent.is_dir && parent.in_use && parent.base == 0 && parent.seq == f.parent_seq) {
            return None;
        }
        let mut path = resolve(records, f.parent, memo).path;
        path.push(b'/');
        path.extend_from_slice(&name);
        Some(path)
    }

    /// The content of one `$DATA` stream from its fragments: its size and data, or why it
    /// cannot be read.
    fn stream(&self, frags: &[&Attr]) -> (u64, Result<FileData, Reason>) {
        let damaged = |m: String| Err(Reason::new(ReasonCode::FileSystemDamaged, m));
        if let [a] = frags
            && let Body::Resident(v) = &a.body
        {
            let size = v.len() as u64;
            return (
                size,
                Ok(if v.is_empty() { FileData::Empty } else { FileData::Resident(v.clone()) }),
            );
        }
        let mut nr: Vec<&NonResident> = Vec::new();
        let mut flags = 0u16;
        for a in frags {
            match &a.body {
                Body::NonResident(n) => nr.push(n),
                Body::Resident(_) => {
                    return (0, damaged("a stream both resident and non-resident".into()));
                }
            }
            flags |= a.flags;
        }
        nr.sort_by_key(|n| n.start_vcn);
        let Some(first) = nr.first().filter(|n| n.start_vcn == 0) else {
            return (0, damaged("a non-resident stream whose first fragment is missing".into()));
        };
        let size = first.size;
        let mut runs = Vec::new();
        let mut vcn = 0u64;
        for f in &nr {
            if f.start_vcn != vcn {
                return (size, damaged(format!("the stream's runs leave a gap at VCN {vcn}")));
            }
            match &f.runs {
                Ok(r) => {
                    vcn = vcn.saturating_add(r.iter().map(|r| r.len).sum::<u64>());
                    runs.extend_from_slice(r);
                }
                Err(e) => return (size, damaged(format!("bad data runs: {e}"))),
            }
            if f.last_vcn.checked_add(1) != Some(vcn) && !(f.last_vcn == u64::MAX && vcn == 0) {
                return (
                    size,
                    damaged(format!(
                        "data runs end at VCN {vcn}, the attribute says {}",
                        f.last_vcn.wrapping_add(1)
                    )),
                );
            }
            if runs.len() > MAX_RUNS {
                return (size, damaged(format!("more than {MAX_RUNS} data runs")));
            }
        }
        let c = self.geo.cluster;
        if size > vcn.saturating_mul(c) || first.initialized > size.max(first.allocated) {
            return (
                size,
                damaged(format!(
                    "the stream declares {size} bytes (initialized {}), its runs cover {} \
                     bytes",
                    first.initialized,
                    vcn.saturating_mul(c)
                )),
            );
        }
        // Overlapping runs: one cluster used twice by the same stream.
        let mut spans: Vec<(u64, u64)> =
            runs.iter().filter_map(|r| r.lcn.map(|l| (l, l + r.len))).collect();
        spans.sort_unstable();
        if let Some(w) = spans.windows(2).find(|w| w[1].0 < w[0].1) {
            return (
                size,
                damaged(format!(
                    "data runs overlap (clusters {}..{} and {}..{}): a crafted or corrupt \
                     record",
                    w[0].0, w[0].1, w[1].0, w[1].1
                )),
            );
        }
        if flags & 0x4000 != 0 {
            return (
                size,
                Err(Reason::new(
                    ReasonCode::NotRecoverable,
                    "an EFS-encrypted stream: its bytes cannot be read without the user's keys; \
                     not hashed",
                )),
            );
        }
        // A sparse stream may be larger than its volume, but not without bound: reading
        // exabytes of zeros would never end.
        let limit = self.media_len.max(1 << 30).saturating_mul(SPARSE_FACTOR);
        if size > limit {
            return (
                size,
                damaged(format!(
                    "the stream declares {size} bytes, more than {SPARSE_FACTOR} times its \
                     volume: not read"
                )),
            );
        }
        let init = first.initialized.min(size);
        if flags & 0x00FF != 0 {
            if first.compression_unit == 0 || first.compression_unit > 16 {
                return (
                    size,
                    damaged(format!(
                        "a compressed stream with compression unit 2^{}",
                        first.compression_unit
                    )),
                );
            }
            let unit_clusters = 1u64 << first.compression_unit;
            let unit_len = unit_clusters * c;
            if unit_len > 16 << 20 {
                return (size, damaged(format!("compression units of {unit_len} bytes")));
            }
            if size.div_ceil(unit_len) > MAX_RUNS as u64 {
                return (
                    size,
                    damaged(format!(
                        "a compressed stream of {size} bytes: more than {MAX_RUNS} compression \
                         units, not read"
                    )),
                );
            }
            let mut units = Vec::new();
            let mut at_cluster = 0u64;
            let total = vcn;
            while at_cluster < total && at_cluster * c < size {
                let span = unit_clusters.min(total - at_cluster);
                let pieces = slice_runs(&runs, at_cluster, span);
                let allocated: u64 = pieces.iter().filter(|p| p.lcn.is_some()).map(|p| p.len).sum();
                let extents = |only_allocated: bool| -> Vec<Extent> {
                    pieces
                        .iter()
                        .filter(|p| !only_allocated || p.lcn.is_some())
                        .map(|p| match p.lcn {
                            Some(l) => Extent::Media { offset: self.base + l * c, len: p.len * c },
                            None => Extent::Zeros { len: p.len * c },
                        })
                        .collect()
                };
                units.push(if allocated == 0 {
                    CompressedUnit::Zeros
                } else if allocated == span {
                    // Every cluster stored: the unit is not compressed (also a short last
                    // unit).
                    CompressedUnit::Plain(extents(false))
                } else {
                    CompressedUnit::Lznt1(extents(true))
                });
                at_cluster += span;
            }
            return (
                size,
                Ok(FileData::Compressed(Compressed { unit_len, units, size, initialized: init })),
            );
        }
        if size == 0 {
            return (0, Ok(FileData::Empty));
        }
        let mut extents = Vec::new();
        let mut left = init;
        for r in &runs {
            if left == 0 {
                break;
            }
            let len = (r.len * c).min(left);
            left -= len;
            extents.push(match r.lcn {
                Some(l) => Extent::Media { offset: self.base + l * c, len },
                None => Extent::Zeros { len },
            });
        }
        if size > init {
            extents.push(Extent::Zeros { len: size - init });
        }
        (size, Ok(FileData::Extents(extents)))
    }
}

/// The runs covering clusters `from..from + count` of a stream.
fn slice_runs(runs: &[Run], from: u64, count: u64) -> Vec<Run> {
    let mut out = Vec::new();
    let mut v = 0u64;
    let end = from + count;
    for r in runs {
        let (s, e) = (v, v.saturating_add(r.len));
        v = e;
        if e <= from || s >= end {
            continue;
        }
        let a = s.max(from);
        let b = e.min(end);
        out.push(Run { lcn: r.lcn.map(|l| l + (a - s)), len: b - a });
    }
    out
}

/// A deleted stream whose clusters are allocated again: its bytes now belong to another
/// file.
fn reused(
    data: &FileData,
    bitmap: Option<&[u8]>,
    fs: &NtfsFs<'_>,
    deleted: bool,
) -> Option<Reason> {
    if !deleted {
        return None;
    }
    let bitmap = bitmap?;
    let c = fs.geo.cluster;
    for (offset, len) in data.media_runs() {
        let first = (offset - fs.base) / c;
        let last = (offset - fs.base + len).div_ceil(c);
        for cl in first..last {
            let bit = bitmap.get((cl / 8) as usize).is_some_and(|b| b & (1 << (cl % 8)) != 0);
            if bit {
                return Some(Reason::new(
                    ReasonCode::NotRecoverable,
                    format!(
                        "deleted file whose cluster {cl} is allocated again: its bytes now \
                         belong to another file (The Sleuth Kit's icat still shows them); not \
                         read"
                    ),
                ));
            }
        }
    }
    None
}

fn metadata_skip(n: u64) -> EntryState {
    EntryState::Skipped(Reason::new(
        ReasonCode::FileSystemMetadata,
        format!(
            "NTFS system file (MFT record {n}): listed, not hashed; extract it with The Sleuth \
             Kit's icat if needed"
        ),
    ))
}

/// An attribute list entry.
struct ListEntry {
    kind: u32,
    name: String,
    record: u64,
    id: u16,
}

fn parse_attribute_list(b: &[u8]) -> Vec<ListEntry> {
    let mut out = Vec::new();
    let mut at = 0usize;
    while at + 26 <= b.len() {
        let len = usize::from(u16le(b, at + 4));
        if len < 26 || at + len > b.len() {
            break;
        }
        let e = &b[at..at + len];
        let name = utf16_name(e, usize::from(e[7]), usize::from(e[6])).unwrap_or_default();
        out.push(ListEntry {
            kind: u32le(e, 0),
            name,
            record: u64le(e, 16) & 0xFFFF_FFFF_FFFF,
            id: u16le(e, 24),
        });
        at += len;
    }
    out
}

/// A record's path and what its ancestry says.
#[derive(Debug, Clone, Default)]
struct Resolved {
    path: Vec<u8>,
    under_extend: bool,
    deleted_ancestor: bool,
    problem: Option<String>,
}

/// The name a record is listed by: the first Win32/POSIX name, else the DOS name.
fn best_name(r: &Record) -> Option<&FileName> {
    r.names.iter().find(|f| f.namespace != 2).or_else(|| r.names.first())
}

fn orphan_path(name: &[u8]) -> Vec<u8> {
    let mut p = b"$OrphanFiles/".to_vec();
    p.extend_from_slice(name);
    p
}

/// Resolves the path of record `n` (iteratively, memoized, loops detected).
fn resolve(records: &[Option<Record>], n: u64, memo: &mut HashMap<u64, Resolved>) -> Resolved {
    if let Some(r) = memo.get(&n) {
        return r.clone();
    }
    // Walk up until the root, a memoized record, an orphan, or a loop.
    let mut chain: Vec<(u64, Vec<u8>)> = Vec::new();
    let mut cur = n;
    let mut top = Resolved::default();
    loop {
        if let Some(r) = memo.get(&cur) {
            top = r.clone();
            break;
        }
        let Some(rec) = records.get(cur as usize).and_then(Option::as_ref) else {
            top.path = b"$OrphanFiles".to_vec();
            break;
        };
        let Some(fname) = best_name(rec) else {
            chain.push((cur, orphan_path(format!("OrphanFile-{cur}").as_bytes())));
            top.path = Vec::new();
            break;
        };
        let name = fname.name.replace('/', "\u{2215}").into_bytes();
        if chain.iter().any(|c| c.0 == cur) || chain.len() >= MAX_DEPTH {
            top = Resolved {
                path: b"$OrphanFiles".to_vec(),
                problem: Some(format!(
                    "its parent references loop (or nest deeper than {MAX_DEPTH}) through \
                     record {cur}: listed under $OrphanFiles"
                )),
                ..Resolved::default()
            };
            break;
        }
        chain.push((cur, name));
        let p = fname.parent;
        if p == ROOT {
            break;
        }
        let parent_ok = records.get(p as usize).and_then(Option::as_ref).is_some_and(|pr| {
            pr.is_dir
                && pr.base == 0
                && (pr.seq == fname.parent_seq
                    || (!pr.in_use && pr.seq == fname.parent_seq.wrapping_add(1)))
        });
        if !parent_ok {
            top.path = b"$OrphanFiles".to_vec();
            break;
        }
        cur = p;
    }
    // Build the paths down the chain, memoizing each.
    let mut acc = top;
    for (rec_n, name) in chain.into_iter().rev() {
        let mut path = acc.path.clone();
        if name.starts_with(b"$OrphanFiles/") {
            path = name;
        } else {
            if !path.is_empty() {
                path.push(b'/');
            }
            path.extend_from_slice(&name);
        }
        let rec = records.get(rec_n as usize).and_then(Option::as_ref);
        let me = Resolved {
            path,
            under_extend: acc.under_extend || rec_n == EXTEND,
            deleted_ancestor: acc.deleted_ancestor,
            problem: acc.problem.clone(),
        };
        acc = Resolved {
            deleted_ancestor: me.deleted_ancestor || rec.is_some_and(|r| !r.in_use),
            ..me.clone()
        };
        memo.insert(rec_n, me);
    }
    memo.get(&n).cloned().unwrap_or(acc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runlists() {
        let mut runs = Vec::new();
        // 0x21: 1 length byte, 2 offset bytes. 8 clusters at 0x100, then 4 at -0x10 (0xF0),
        // then 2 sparse.
        decode_runs(&[0x21, 8, 0x00, 0x01, 0x21, 4, 0xF0, 0xFF, 0x01, 2, 0], 1000, &mut runs)
            .unwrap();
        assert_eq!(
            runs,
            [
                Run { lcn: Some(0x100), len: 8 },
                Run { lcn: Some(0xF0), len: 4 },
                Run { lcn: None, len: 2 }
            ]
        );
        let mut runs = Vec::new();
        assert!(
            decode_runs(&[0x21, 8, 0x00, 0x10, 0], 1000, &mut runs).unwrap_err().contains("past")
        );
        let mut runs = Vec::new();
        assert!(decode_runs(&[0x21, 8, 0x00], 1000, &mut runs).is_err());
        let mut runs = Vec::new();
        assert!(decode_runs(&[0x11, 8, 0x80, 0], 1000, &mut runs).is_err(), "negative LCN");
        let mut runs = Vec::new();
        assert!(decode_runs(&[0x19, 0], 1000, &mut runs).is_err(), "9 length bytes");
        let mut runs = Vec::new();
        let absurd = [0x18, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 0];
        assert!(decode_runs(&absurd, 1000, &mut runs).is_err());
        // An LCN beyond 2^64 from three huge deltas: past the volume, no overflow.
        let mut runs = Vec::new();
        let mut huge = Vec::new();
        for _ in 0..3 {
            huge.extend([0x81, 1, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F]);
        }
        huge.push(0);
        assert!(decode_runs(&huge, u64::MAX, &mut runs).unwrap_err().contains("past"));
    }

    #[test]
    fn fixups_checked() {
        let mut rec = vec![0u8; 1024];
        rec[0..4].copy_from_slice(b"FILE");
        rec[4..6].copy_from_slice(&48u16.to_le_bytes());
        rec[6..8].copy_from_slice(&3u16.to_le_bytes());
        rec[48..50].copy_from_slice(&[0xAB, 0xCD]);
        rec[50..52].copy_from_slice(&[1, 2]);
        rec[52..54].copy_from_slice(&[3, 4]);
        rec[510..512].copy_from_slice(&[0xAB, 0xCD]);
        rec[1022..1024].copy_from_slice(&[0xAB, 0xCD]);
        let mut ok = rec.clone();
        apply_fixups(&mut ok).unwrap();
        assert_eq!(&ok[510..512], &[1, 2]);
        assert_eq!(&ok[1022..1024], &[3, 4]);
        rec[1023] = 0;
        assert!(apply_fixups(&mut rec).unwrap_err().contains("sector 1"));
    }
}
