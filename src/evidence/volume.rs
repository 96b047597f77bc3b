//! Volumes of a disk image: MBR (with extended partitions), GPT, or none (the whole media
//! is one volume).
//!
//! * **MBR**: four entries at 0x1BE, 0x55AA at 0x1FE. Extended partitions (types 0x05,
//!   0x0F, 0x85) hold a chain of EBRs: a logical partition starts at *its EBR* + start, the
//!   next EBR at *the first extended partition* + start (as The Sleuth Kit reads them). The
//!   chain stops at an EBR already visited (a loop is reported) and after
//!   [`MAX_LOGICAL`] partitions. Primary partitions are numbered 1-4 by slot, logical ones
//!   from 5 in chain order (as Linux numbers them).
//! * **GPT**: a protective MBR (type 0xEE), the header at LBA 1 (sector size 512, or 4096
//!   when the header is found there), the header CRC32 and the entry array CRC32 checked;
//!   a mismatch is reported (the entries are still read: the examiner decides). Entries
//!   are numbered from 1 by their index in the array; empty entries are skipped.
//! * A partition that reaches past the end of the media is listed with a problem, never
//!   read past the end.

use std::collections::HashSet;
use std::io;

use super::image::DiskImage;

/// Logical partitions followed at most in an extended partition's EBR chain.
pub const MAX_LOGICAL: usize = 1024;
/// GPT entries read at most (the usual array has 128).
pub const MAX_GPT_ENTRIES: u32 = 4096;

/// The partitioning scheme found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// A DOS/MBR partition table.
    Mbr,
    /// A GUID partition table.
    Gpt,
    /// No partition table: the media is one volume.
    None,
}

impl Scheme {
    /// The name reports use (`mbr`, `gpt`, `none`).
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Mbr => "mbr",
            Scheme::Gpt => "gpt",
            Scheme::None => "none",
        }
    }
}

/// One partition (or the whole media).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Volume {
    /// Partition number: MBR 1-4 primary, 5.. logical; GPT entry index + 1; 0 for the
    /// whole media without a table.
    pub number: u32,
    /// Byte offset on the media.
    pub offset: u64,
    /// Length in bytes as the table says.
    pub length: u64,
    /// The partition type: `0x0c` (MBR type byte) or the GPT type GUID.
    pub type_id: String,
    /// GPT partition name (UTF-16LE in the entry), if any.
    pub name: Option<String>,
    /// What is wrong with the entry (past the end of the media...), if anything: the
    /// volume is then reported as an error and only the part on the media is read.
    pub problem: Option<String>,
}

/// The volumes of a media and what was wrong with the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeTable {
    /// The scheme found.
    pub scheme: Scheme,
    /// Sector size the table was read with.
    pub sector_size: u32,
    /// Data partitions (not extended containers), in table order.
    pub volumes: Vec<Volume>,
    /// Problems with the table itself (CRC mismatch, EBR loop...).
    pub problems: Vec<String>,
    /// Media byte ranges `(offset, len)` holding the table itself (MBR and EBR sectors, GPT
    /// headers and entry arrays), so that what lies outside every partition can be told
    /// from the table.
    pub tables: Vec<(u64, u64)>,
}

fn u16le(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
fn u32le(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap_or([0; 4]))
}
fn u64le(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap_or([0; 8]))
}

/// Reads one sector-sized block at `offset`, or `None` if the media ends first.
fn block(image: &dyn DiskImage, offset: u64, len: usize) -> io::Result<Option<Vec<u8>>> {
    let mut buf = vec![0u8; len];
    match image.read_exact_at(offset, &mut buf) {
        Ok(()) => Ok(Some(buf)),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(None),
        Err(e) => Err(e),
    }
}

/// An MBR entry: (type, start LBA, sector count).
fn mbr_entries(sector: &[u8]) -> [(u8, u32, u32); 4] {
    let mut out = [(0u8, 0u32, 0u32); 4];
    for (i, slot) in out.iter_mut().enumerate() {
        let e = 0x1BE + 16 * i;
        *slot = (sector[e + 4], u32le(sector, e + 8), u32le(sector, e + 12));
    }
    out
}

/// Whether a sector ending 0x55AA is a FAT/NTFS boot sector rather than an MBR (The Sleuth
/// Kit's test: the OEM name).
fn is_boot_sector(sector: &[u8]) -> bool {
    let oem = &sector[3..11];
    [&b"MSDOS"[..], b"MSWIN", b"NTFS", b"FAT", b"mkfs.fat", b"mkdosfs", b"EXFAT"]
        .iter()
        .any(|p| oem.starts_with(p))
        || &sector[0x36..0x3B] == b"FAT12"
        || &sector[0x36..0x3B] == b"FAT16"
        || &sector[0x52..0x57] == b"FAT32"
}

fn is_extended(kind: u8) -> bool {
    matches!(kind, 0x05 | 0x0F | 0x85)
}

/// Whether the media starts with a partition table with at least one plausible entry (a
/// GPT header, or an MBR whose non-empty entries start inside the media): content, never
/// the file name, decides.
pub fn has_partition_table(image: &dyn DiskImage) -> bool {
    let Ok(Some(mbr)) = block(image, 0, 512) else { return false };
    if mbr[510..512] != [0x55, 0xAA] || is_boot_sector(&mbr) {
        return false;
    }
    let sectors = image.len() / 512;
    let entries = mbr_entries(&mbr);
    let used: Vec<_> = entries.iter().filter(|e| e.0 != 0 && e.2 != 0).collect();
    // Boot flags other than 0x00/0x80 mean this is not a partition table.
    let flags_ok = (0..4).all(|i| matches!(mbr[0x1BE + 16 * i], 0x00 | 0x80));
    flags_ok && !used.is_empty() && used.iter().all(|e| e.1 != 0 && u64::from(e.1) < sectors)
}

/// Reads the volumes of `image`.
///
/// # Errors
/// An I/O error reading the table sectors (not damage: damage is a problem in the result).
pub fn read_volumes(image: &dyn DiskImage) -> io::Result<VolumeTable> {
    let media = image.len();
    let whole = |problems: Vec<String>| VolumeTable {
        scheme: Scheme::None,
        sector_size: 512,
        volumes: vec![Volume {
            number: 0,
            offset: 0,
            length: media,
            type_id: String::new(),
            name: None,
            problem: None,
        }],
        problems,
        tables: Vec::new(),
    };
    // An unreadable first sector (a damaged EWF chunk) is an error, not "no partition
    // table": which volumes exist is then unknown.
    block(image, 0, 512)?;
    if !has_partition_table(image) {
        return Ok(whole(Vec::new()));
    }
    let Some(mbr) = block(image, 0, 512)? else { return Ok(whole(Vec::new())) };
    let entries = mbr_entries(&mbr);
    if entries.iter().any(|e| e.0 == 0xEE) {
        for sector_size in [512u32, 4096] {
            if let Some(table) = read_gpt(image, sector_size)? {
                return Ok(table);
            }
        }
        let mut table = read_mbr(image, &mbr)?;
        table.problems.push(
            "protective MBR (type 0xEE) but no valid GPT header at LBA 1 (512- or 4096-byte \
             sectors): only the MBR entries are listed"
                .to_string(),
        );
        return Ok(table);
    }
    read_mbr(image, &mbr)
}

fn check_end(volume: &mut Volume, media: u64) {
    let end = volume.offset.checked_add(volume.length);
    if end.is_none_or(|end| end > media) {
        volume.problem = Some(format!(
            "partition {} (bytes {}..{}) reaches past the end of the media ({media} bytes): \
             the image may be truncated or the table damaged; only the part on the media is read",
            volume.number,
            volume.offset,
            volume.offset as u128 + volume.length as u128
        ));
    }
}

fn read_mbr(image: &dyn DiskImage, mbr: &[u8]) -> io::Result<VolumeTable> {
    let media = image.len();
    let mut volumes = Vec::new();
    let mut problems = Vec::new();
    let mut extended_base = None;
    let mut tables = vec![(0u64, 512u64)];
    for (i, (kind, start, count)) in mbr_entries(mbr).into_iter().enumerate() {
        if kind == 0 || count == 0 {
            continue;
        }
        if is_extended(kind) {
            if extended_base.is_none() {
                extended_base = Some(u64::from(start));
            }
            continue;
        }
        let mut v = Volume {
            number: i as u32 + 1,
            offset: u64::from(start) * 512,
            length: u64::from(count) * 512,
            type_id: format!("0x{kind:02x}"),
            name: None,
            problem: None,
        };
        check_end(&mut v, media);
        volumes.push(v);
    }
    if let Some(base) = extended_base {
        let mut seen = HashSet::new();
        let mut ebr_lba = base;
        let mut number = 5u32;
        loop {
            if !seen.insert(ebr_lba) {
                problems.push(format!(
                    "the extended partition's EBR chain loops back to sector {ebr_lba}: stopped there"
                ));
                break;
            }
            if seen.len() > MAX_LOGICAL {
                problems.push(format!("more than {MAX_LOGICAL} logical partitions: stopped"));
                break;
            }
            let Some(ebr) = block(image, ebr_lba * 512, 512)? else {
                problems.push(format!(
                    "EBR at sector {ebr_lba} is past the end of the media: the chain stops there"
                ));
                break;
            };
            if ebr[510..512] != [0x55, 0xAA] {
                problems
                    .push(format!("EBR at sector {ebr_lba} has no 0x55AA signature: chain stops"));
                break;
            }
            tables.push((ebr_lba * 512, 512));
            let [first, second, ..] = mbr_entries(&ebr);
            if first.0 != 0 && first.2 != 0 && !is_extended(first.0) {
                let mut v = Volume {
                    number,
                    offset: (ebr_lba + u64::from(first.1)) * 512,
                    length: u64::from(first.2) * 512,
                    type_id: format!("0x{:02x}", first.0),
                    name: None,
                    problem: None,
                };
                check_end(&mut v, media);
                volumes.push(v);
                number += 1;
            }
            // A next-EBR entry at relative sector 0 points back at the first EBR: a loop
            // (caught by `seen`), not the end of the chain; only an empty entry ends it.
            if is_extended(second.0) && (second.1 != 0 || second.2 != 0) {
                ebr_lba = base + u64::from(second.1);
            } else {
                break;
            }
        }
    }
    Ok(VolumeTable { scheme: Scheme::Mbr, sector_size: 512, volumes, problems, tables })
}

/// A GPT read with `sector_size`, or `None` when no header signature is there.
fn read_gpt(image: &dyn DiskImage, sector_size: u32) -> io::Result<Option<VolumeTable>> {
    let ss = u64::from(sector_size);
    let Some(header) = block(image, ss, sector_size as usize)? else { return Ok(None) };
    if &header[0..8] != b"EFI PART" {
        return Ok(None);
    }
    let mut problems = Vec::new();
    // The protective MBR and the header; the entry arrays and the backup header below.
    let mut tables = vec![(0u64, ss), (ss, ss)];
    let header_size = u32le(&header, 12) as usize;
    if (92..=sector_size as usize).contains(&header_size) {
        let mut copy = header[..header_size].to_vec();
        copy[16..20].fill(0);
        let stored = u32le(&header, 16);
        let computed = crc32fast::hash(&copy);
        if stored != computed {
            problems.push(format!(
                "GPT header CRC32 mismatch (stored {stored:08x}, computed {computed:08x}): the \
                 header is damaged or was altered; entries listed as found"
            ));
        }
    } else {
        problems.push(format!("GPT header size {header_size} is out of range"));
    }
    let entries_lba = u64le(&header, 72);
    let count = u32le(&header, 80);
    let entry_size = u32le(&header, 84);
    if !(128..=4096).contains(&entry_size) || !entry_size.is_multiple_of(8) {
        problems.push(format!("GPT entry size {entry_size} is invalid: no entries read"));
        return Ok(Some(VolumeTable {
            scheme: Scheme::Gpt,
            sector_size,
            volumes: vec![],
            problems,
            tables,
        }));
    }
    if count > MAX_GPT_ENTRIES {
        problems
            .push(format!("GPT declares {count} entries: only the first {MAX_GPT_ENTRIES} read"));
    }
    let count = count.min(MAX_GPT_ENTRIES);
    let array_len = count as usize * entry_size as usize;
    let Some(array) =
        entries_lba.checked_mul(ss).and_then(|off| block(image, off, array_len).transpose())
    else {
        problems.push(format!(
            "GPT entry array at LBA {entries_lba} lies past the end of the media: no entries read"
        ));
        return Ok(Some(VolumeTable {
            scheme: Scheme::Gpt,
            sector_size,
            volumes: vec![],
            problems,
            tables,
        }));
    };
    let array = array?;
    let array_span = (array_len as u64).div_ceil(ss) * ss;
    tables.push((entries_lba * ss, array_span));
    // The backup header (its LBA in the header) and its entry array just before it.
    let backup = u64le(&header, 32);
    if backup > 1 && backup.checked_mul(ss).is_some_and(|b| b < image.len()) {
        tables.push((backup * ss, ss));
        tables.push(((backup * ss).saturating_sub(array_span), array_span));
    }
    let stored = u32le(&header, 88);
    let computed = crc32fast::hash(&array);
    if stored != computed {
        problems.push(format!(
            "GPT entry array CRC32 mismatch (stored {stored:08x}, computed {computed:08x}): the \
             entries are damaged or were altered; listed as found"
        ));
    }
    let media = image.len();
    let mut volumes = Vec::new();
    for (i, e) in array.chunks_exact(entry_size as usize).enumerate() {
        if e[0..16].iter().all(|&b| b == 0) {
            continue;
        }
        let first = u64le(e, 32);
        let last = u64le(e, 40);
        let name_units: Vec<u16> =
            (0..36).map(|k| u16le(e, 56 + 2 * k)).take_while(|&u| u != 0).collect();
        let name = String::from_utf16_lossy(&name_units);
        let mut v = Volume {
            number: i as u32 + 1,
            offset: first.saturating_mul(ss),
            length: last.saturating_sub(first).saturating_add(1).saturating_mul(ss),
            type_id: guid(&e[0..16]),
            name: (!name.is_empty()).then_some(name),
            problem: None,
        };
        if last < first || first == 0 {
            v.problem = Some(format!("GPT entry {} has first LBA {first}, last LBA {last}", i + 1));
        } else {
            check_end(&mut v, media);
        }
        volumes.push(v);
    }
    tables.sort_unstable();
    Ok(Some(VolumeTable { scheme: Scheme::Gpt, sector_size, volumes, problems, tables }))
}

/// A GUID in its usual text form (mixed-endian as GPT stores it).
fn guid(b: &[u8]) -> String {
    format!(
        "{:08X}-{:04X}-{:04X}-{:02X}{:02X}-{:02X}{:02X}{:02X}{:02X}{:02X}{:02X}",
        u32le(b, 0),
        u16le(b, 4),
        u16le(b, 6),
        b[8],
        b[9],
        b[10],
        b[11],
        b[12],
        b[13],
        b[14],
        b[15]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mbr_with(entries: &[(u8, u32, u32)], media_sectors: usize) -> Vec<u8> {
        let mut m = vec![0u8; media_sectors * 512];
        for (i, &(kind, start, count)) in entries.iter().enumerate() {
            let e = 0x1BE + 16 * i;
            m[e + 4] = kind;
            m[e + 8..e + 12].copy_from_slice(&start.to_le_bytes());
            m[e + 12..e + 16].copy_from_slice(&count.to_le_bytes());
        }
        m[510] = 0x55;
        m[511] = 0xAA;
        m
    }

    #[test]
    fn partition_past_the_end_is_a_problem() {
        let m = mbr_with(&[(0x0c, 2048, 100_000)], 4096);
        let t = read_volumes(&m).unwrap();
        assert_eq!(t.scheme, Scheme::Mbr);
        assert_eq!(t.volumes.len(), 1);
        assert!(t.volumes[0].problem.as_deref().unwrap().contains("past the end"));
    }

    #[test]
    fn ebr_loop_stops() {
        let mut m = mbr_with(&[(0x83, 1, 10), (0x05, 100, 400)], 600);
        // EBR at 100: logical at +2, next EBR at base+0 (itself): a loop.
        let e = 100 * 512;
        m[e + 0x1BE + 4] = 0x83;
        m[e + 0x1BE + 8..e + 0x1BE + 12].copy_from_slice(&2u32.to_le_bytes());
        m[e + 0x1BE + 12..e + 0x1BE + 16].copy_from_slice(&10u32.to_le_bytes());
        m[e + 0x1CE + 4] = 0x05;
        m[e + 0x1CE + 8..e + 0x1CE + 12].copy_from_slice(&0u32.to_le_bytes());
        m[e + 0x1CE + 12..e + 0x1CE + 16].copy_from_slice(&10u32.to_le_bytes());
        m[e + 510] = 0x55;
        m[e + 511] = 0xAA;
        let t = read_volumes(&m).unwrap();
        let numbers: Vec<u32> = t.volumes.iter().map(|v| v.number).collect();
        assert_eq!(numbers, [1, 5]);
        assert_eq!(t.volumes[1].offset, 102 * 512);
        assert!(t.problems.iter().any(|p| p.contains("loops")), "{:?}", t.problems);
    }

    #[test]
    fn no_table_is_one_volume() {
        let m = vec![0u8; 8192];
        let t = read_volumes(&m).unwrap();
        assert_eq!(t.scheme, Scheme::None);
        assert_eq!(t.volumes[0].length, 8192);
    }
}
