//! The `.mhset` on-disk layout, version 1. `docs/mhset-format.md` is the byte-by-byte
//! specification; this module is its implementation (constants, header and section table
//! parsing, the record codec) shared by the builder and the reader.
//!
//! ```text
//! offset 0       header, 64 bytes
//!   0x00  12  magic 89 4D 48 53 45 54 0D 0A 1A 0A 00 00  ("\x89MHSET\r\n\x1a\n\0\0")
//!   0x0C   4  format version, u32 LE (1)
//!   0x10   8  file length in bytes, u64 LE (the whole file, trailer included)
//!   0x18   8  section table offset, u64 LE (64 in files written by this crate)
//!   0x20   4  section count, u32 LE (at most 256)
//!   0x24   4  section table entry length, u32 LE (32)
//!   0x28  24  reserved, written as zero, ignored by readers
//! offset 64      section table: count x 32 bytes
//!   +0   4  kind u32 LE     +4  4  item length u32 LE
//!   +8   8  offset u64 LE   +16 8  length in bytes u64 LE   +24 8  item count u64 LE
//! sections       each starts at a multiple of 64; zero padding between them
//! trailer        last 40 bytes: "MHSETEND", then the BLAKE3 hash of every byte before the hash
//! ```
//!
//! Sections (kind: content):
//!
//! ```text
//! 0x0001 provenance      UTF-8 JSON: tool, build time, sets (name, disposition, sources),
//!                        sources (SourceInfo: name, format, SHA-256, record counts)
//! 0x0002 record offsets  u64 x (R+1); record r = record_data[off[r]..off[r+1]]
//! 0x0003 record data     per record: LEB128 source id, LEB128 field mask, fields (see
//!                        `encode_record`)
//! 0x0004 list offsets    u64 x (L+1) into list members
//! 0x0005 list members    u32 record ids, ascending within a list, >= 2 per list
//! 0x1K00 values          kind K (1 MD5, 2 SHA-1, 3 SHA-256, 4 PDQ, 5 pHash, 6 dHash,
//!                        7 aHash, 8 PhotoDNA), strictly ascending; 64-bit hashes as u64 LE
//! 0x1K01 entries         u32 per value: < R a record id, else list (e - R)
//! 0x1K02 prefix table    u32 x (2^b + 1): values[t[p]..t[p+1]] have leading-bits prefix p
//! 0x1403 PDQ quality     u8 per value, 255 = unknown
//! 0x1404 PDQ MIH ids     u32 x 16n, optional: per 16-bit slot, value indexes by bucket
//! 0x1405 PDQ MIH offsets u32 x 16 x 65537: bucket starts per slot
//! 0x1408 PDQ tuned MIH layout  u32 x (1 + m): table count m, then each table's key width
//! 0x1409 PDQ tuned MIH ids     u32 x m·n: per table, value indexes by bucket
//! 0x140A PDQ tuned MIH offsets u32 x Σ(2^w_i + 1): bucket starts per table
//! ```
//!
//! All integers are little-endian and read with `from_le_bytes`, so the reader never casts
//! the map and works on any alignment and any host byte order.

use super::HashKind;
use std::ops::Range;

/// Magic bytes. The high-bit first byte catches 7-bit transfers, `\r\n` catches CRLF→LF
/// conversion, `\x1a` stops DOS `type`, the lone `\n` catches LF→CRLF conversion and the
/// NULs catch C-string handling, all as in PNG.
pub const MAGIC: [u8; 12] = *b"\x89MHSET\r\n\x1a\n\0\0";
/// The format version this crate writes and the newest it reads.
pub const FORMAT_VERSION: u32 = 1;
/// Header length; the section table follows it.
pub const HEADER_LEN: usize = 64;
/// Length of one section table entry.
pub const SECTION_ENTRY_LEN: usize = 32;
/// More sections than this is not a file this crate wrote.
pub const MAX_SECTIONS: usize = 256;
/// Every section starts at a multiple of this.
pub const SECTION_ALIGN: u64 = 64;
/// Marker at the start of the trailer.
pub const END_MAGIC: [u8; 8] = *b"MHSETEND";
/// Trailer: end marker + 32-byte BLAKE3.
pub const TRAILER_LEN: usize = 8 + 32;
/// Smallest possible file: header, empty table, trailer.
pub const MIN_FILE_LEN: usize = HEADER_LEN + TRAILER_LEN;
/// Largest provenance blob accepted, so a forged length cannot make `open` parse gigabytes.
pub const MAX_PROVENANCE_LEN: u64 = 64 << 20;
/// Largest prefix-table width a reader accepts (writers use at most 23).
pub const MAX_PREFIX_BITS: u32 = 24;
/// Widest prefix table the builder writes: at 10^8 values, buckets of ~12 values (a few
/// cache lines) instead of ~95 at 20 bits; the table is 32 MiB, 1.3% of such a set.
pub const BUILD_MAX_PREFIX_BITS: u32 = 23;

/// Section kinds. Hash sections are `0x1K00 | sub` with K the [`kind_code`].
pub mod kind {
    /// UTF-8 JSON: tool, build time, sets and sources.
    pub const PROVENANCE: u32 = 0x0001;
    /// u64 per record plus one: record r is `RECORD_DATA[off[r]..off[r+1]]`.
    pub const RECORD_OFFSETS: u32 = 0x0002;
    /// Encoded records (see [`super::encode_record`]).
    pub const RECORD_DATA: u32 = 0x0003;
    /// u64 per multi-member list plus one, indexes into `LIST_MEMBERS`.
    pub const LIST_OFFSETS: u32 = 0x0004;
    /// u32 record ids, each list strictly ascending, at least two per list.
    pub const LIST_MEMBERS: u32 = 0x0005;
    /// Sorted hash values of one kind.
    pub const SUB_VALUES: u32 = 0x00;
    /// u32 entry id per value.
    pub const SUB_ENTRIES: u32 = 0x01;
    /// u32 prefix table: `2^bits + 1` indexes into the values.
    pub const SUB_PREFIX: u32 = 0x02;
    /// u8 PDQ quality per value (255: unknown).
    pub const SUB_QUALITY: u32 = 0x03;
    /// PDQ multi-index, optional: u32 value indexes, [`super::MIH_SLOTS`] runs of `n`; run
    /// s lists every value sorted by (slot s, index).
    pub const SUB_MIH_IDS: u32 = 0x04;
    /// PDQ multi-index bucket starts: u32, `MIH_SLOTS` runs of `MIH_BUCKETS + 1`.
    pub const SUB_MIH_OFFSETS: u32 = 0x05;
    /// PDQ windows (robust matching), optional: [`super::WINDOW_ITEM_LEN`]-byte items
    /// (hash, record id, window code, quality), sorted by hash, then record, then window.
    pub const SUB_WINDOWS: u32 = 0x06;
    /// vPDQ frames of known videos, optional: [`super::VIDEO_FRAME_ITEM_LEN`]-byte items
    /// (record id, frame number, timestamp, quality, hash), sorted by record, then frame.
    pub const SUB_VIDEO_FRAMES: u32 = 0x07;
    /// Tuned PDQ multi-index, optional: u32 table count `m`, then `m` key widths (bits,
    /// summing to 256); table i's key is the next `w_i` bits of the hash.
    pub const SUB_TUNED_LAYOUT: u32 = 0x08;
    /// Tuned PDQ multi-index ids: u32, `m` runs of `n` value indexes sorted by (key, index).
    pub const SUB_TUNED_IDS: u32 = 0x09;
    /// Tuned PDQ multi-index bucket starts: u32, per table `2^w_i + 1`.
    pub const SUB_TUNED_OFFSETS: u32 = 0x0A;

    /// The section kind of `sub` for hash kind `k`.
    pub fn hash_section(k: super::HashKind, sub: u32) -> u32 {
        0x1000 | (super::kind_code(k) << 8) | sub
    }
}

/// The 4-bit code of a hash kind inside section kinds.
pub fn kind_code(k: HashKind) -> u32 {
    match k {
        HashKind::Md5 => 1,
        HashKind::Sha1 => 2,
        HashKind::Sha256 => 3,
        HashKind::Pdq => 4,
        HashKind::PHash => 5,
        HashKind::DHash => 6,
        HashKind::AHash => 7,
        HashKind::PhotoDna => 8,
    }
}

/// Human-readable name of a section kind, for error messages.
pub fn section_name(kind: u32) -> String {
    match kind {
        kind::PROVENANCE => "provenance".into(),
        kind::RECORD_OFFSETS => "record offsets".into(),
        kind::RECORD_DATA => "record data".into(),
        kind::LIST_OFFSETS => "list offsets".into(),
        kind::LIST_MEMBERS => "list members".into(),
        k if k & 0xF000 == 0x1000 => {
            let hash = HashKind::ALL.iter().find(|h| kind_code(**h) == (k >> 8) & 0xF);
            let sub = match k & 0xFF {
                kind::SUB_VALUES => "values",
                kind::SUB_ENTRIES => "entries",
                kind::SUB_PREFIX => "prefix table",
                kind::SUB_QUALITY => "quality",
                kind::SUB_MIH_IDS => "multi-index ids",
                kind::SUB_MIH_OFFSETS => "multi-index offsets",
                kind::SUB_WINDOWS => "windows",
                kind::SUB_VIDEO_FRAMES => "video frames",
                kind::SUB_TUNED_LAYOUT => "tuned multi-index layout",
                kind::SUB_TUNED_IDS => "tuned multi-index ids",
                kind::SUB_TUNED_OFFSETS => "tuned multi-index offsets",
                _ => "unknown part",
            };
            match hash {
                Some(h) => format!("{} {sub}", h.as_str()),
                None => format!("unknown section 0x{k:04x}"),
            }
        }
        k => format!("unknown section 0x{k:04x}"),
    }
}

/// Item length the reader requires for a known section kind; `None` for unknown kinds.
pub fn expected_item_len(kind: u32) -> Option<u32> {
    match kind {
        kind::PROVENANCE | kind::RECORD_DATA => Some(1),
        kind::RECORD_OFFSETS | kind::LIST_OFFSETS => Some(8),
        kind::LIST_MEMBERS => Some(4),
        k if k & 0xF000 == 0x1000 => {
            let hash = HashKind::ALL.iter().find(|h| kind_code(**h) == (k >> 8) & 0xF)?;
            match k & 0xFF {
                kind::SUB_VALUES => Some(hash.value_len() as u32),
                kind::SUB_ENTRIES | kind::SUB_PREFIX => Some(4),
                kind::SUB_QUALITY if *hash == HashKind::Pdq => Some(1),
                kind::SUB_MIH_IDS | kind::SUB_MIH_OFFSETS if *hash == HashKind::Pdq => Some(4),
                kind::SUB_TUNED_LAYOUT | kind::SUB_TUNED_IDS | kind::SUB_TUNED_OFFSETS
                    if *hash == HashKind::Pdq =>
                {
                    Some(4)
                }
                kind::SUB_WINDOWS if *hash == HashKind::Pdq => Some(WINDOW_ITEM_LEN as u32),
                kind::SUB_VIDEO_FRAMES if *hash == HashKind::Pdq => {
                    Some(VIDEO_FRAME_ITEM_LEN as u32)
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// Bytes per PDQ window item: 32 hash bytes, u32 record id (little-endian), window code
/// ([`crate::robust::Window::code`]), quality (0-100), 2 zero bytes.
pub const WINDOW_ITEM_LEN: usize = 40;

/// Bytes per video frame item: u32 record id, u32 frame number, f32 timestamp (all
/// little-endian), quality (0-100), 3 zero bytes, 32 PDQ hash bytes.
pub const VIDEO_FRAME_ITEM_LEN: usize = 48;

/// One section table entry (32 bytes on disk).
///
/// As read, the fields are untrusted: the reader checks `offset` (aligned, inside the file
/// before the trailer), `length == item_len * count` and `item_len` against
/// [`expected_item_len`] before any use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SectionEntry {
    /// Section kind ([`kind`]); readers skip kinds they do not know.
    pub kind: u32,
    /// Bytes per item (1 for byte streams such as JSON and record data).
    pub item_len: u32,
    /// Byte offset of the section from the start of the file, a multiple of [`SECTION_ALIGN`].
    pub offset: u64,
    /// Section length in bytes, padding excluded.
    pub length: u64,
    /// Number of items (for byte streams, equal to `length`).
    pub count: u64,
}

impl SectionEntry {
    /// The 32-byte little-endian table entry.
    pub fn to_bytes(&self) -> [u8; SECTION_ENTRY_LEN] {
        let mut b = [0u8; SECTION_ENTRY_LEN];
        b[0..4].copy_from_slice(&self.kind.to_le_bytes());
        b[4..8].copy_from_slice(&self.item_len.to_le_bytes());
        b[8..16].copy_from_slice(&self.offset.to_le_bytes());
        b[16..24].copy_from_slice(&self.length.to_le_bytes());
        b[24..32].copy_from_slice(&self.count.to_le_bytes());
        b
    }

    /// Parses a table entry; infallible (any bytes are some entry), validation is the
    /// reader's.
    pub fn from_bytes(b: &[u8; SECTION_ENTRY_LEN]) -> Self {
        SectionEntry {
            kind: le_u32(&b[0..4]),
            item_len: le_u32(&b[4..8]),
            offset: le_u64(&b[8..16]),
            length: le_u64(&b[16..24]),
            count: le_u64(&b[24..32]),
        }
    }

    /// Byte range in the file; only meaningful once the reader has validated it against the file length.
    pub fn range(&self) -> Range<usize> {
        self.offset as usize..(self.offset + self.length) as usize
    }
}

/// The fixed header fields (the [`MAGIC`] and reserved bytes are implied).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Format version ([`FORMAT_VERSION`]); readers refuse newer versions.
    pub version: u32,
    /// Length of the whole file in bytes, trailer included (catches truncation early).
    pub file_len: u64,
    /// Byte offset of the section table ([`HEADER_LEN`] in files this crate writes).
    pub table_offset: u64,
    /// Number of section table entries, at most [`MAX_SECTIONS`].
    pub section_count: u32,
    /// Length of one table entry ([`SECTION_ENTRY_LEN`]).
    pub entry_len: u32,
}

impl Header {
    /// The 64-byte header: magic, the fields little-endian, reserved bytes zero.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[0..12].copy_from_slice(&MAGIC);
        b[12..16].copy_from_slice(&self.version.to_le_bytes());
        b[16..24].copy_from_slice(&self.file_len.to_le_bytes());
        b[24..32].copy_from_slice(&self.table_offset.to_le_bytes());
        b[32..36].copy_from_slice(&self.section_count.to_le_bytes());
        b[36..40].copy_from_slice(&self.entry_len.to_le_bytes());
        b
    }
}

/// Reads a u32 LE from exactly 4 bytes (callers slice with checked bounds).
#[inline]
pub fn le_u32(b: &[u8]) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[..4]);
    u32::from_le_bytes(a)
}

/// Reads a u64 LE from exactly 8 bytes (callers slice with checked bounds).
#[inline]
pub fn le_u64(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    u64::from_le_bytes(a)
}

/// Rounds up to the section alignment (None on overflow).
pub fn align_up(x: u64) -> Option<u64> {
    x.checked_add(SECTION_ALIGN - 1).map(|v| v / SECTION_ALIGN * SECTION_ALIGN)
}

/// Prefix-table width for `n` distinct values: buckets of about 8 to 16 values.
pub fn prefix_bits_for(n: u64) -> u32 {
    if n < 64 { 0 } else { (n.ilog2() - 3).min(BUILD_MAX_PREFIX_BITS) }
}

/// The 24-bit prefix of a stored value (first three bytes big-endian; for 64-bit hashes,
/// stored little-endian, the top 24 bits of the integer). Tables use its top `bits` bits.
pub fn prefix24(kind: HashKind, value: &[u8]) -> u32 {
    match kind {
        HashKind::PHash | HashKind::DHash | HashKind::AHash => (le_u64(value) >> 40) as u32,
        _ => (u32::from(value[0]) << 16) | (u32::from(value[1]) << 8) | u32::from(value[2]),
    }
}

/// PDQ multi-index: 16 slots of 16 bits (by pigeonhole, a hash within distance r of a
/// needle has a slot within floor(r/16) of the needle's slot).
pub const MIH_SLOTS: usize = 16;
/// Values of one 16-bit slot.
pub const MIH_BUCKETS: usize = 1 << 16;

/// Slot `s` of a stored PDQ hash: bytes 2s and 2s+1, big-endian.
#[inline]
pub fn mih_slot(hash: &[u8], s: usize) -> u16 {
    u16::from_be_bytes([hash[2 * s], hash[2 * s + 1]])
}

/// Tuned multi-index: most tables a reader accepts.
pub const TUNED_MAX_TABLES: usize = 32;
/// Tuned multi-index: narrowest and widest key a reader accepts (a 2^30-bucket table is
/// 4 GiB of offsets).
pub const TUNED_WIDTHS: std::ops::RangeInclusive<u32> = 8..=30;

/// The `width`-bit key of a PDQ hash that starts at bit `start` (bit 0 is the most
/// significant bit of byte 0), as an integer. `start + width <= 256`, `width <= 30`.
#[inline]
pub fn tuned_key(hash: &[u8], start: u32, width: u32) -> u32 {
    let byte = (start / 8) as usize;
    let mut window = [0u8; 8];
    let end = (byte + 8).min(hash.len());
    window[..end - byte].copy_from_slice(&hash[byte..end]);
    ((u64::from_be_bytes(window) << (start % 8)) >> (64 - width)) as u32
}

/// Key widths of the tuned multi-index the builder writes for `n` distinct PDQ hashes: the
/// table count whose estimated radius-31 query cost is lowest (docs/mhset-format.md), the
/// 256 bits split as evenly as possible, wider tables first. Keys stay between 16 and 28
/// bits (directories of at most 1 GiB per table).
pub fn tuned_widths_for(n: u64) -> Vec<u32> {
    let mut best: Option<(f64, Vec<u32>)> = None;
    for m in 10..=16u32 {
        let base = 256 / m;
        if !(16..=28).contains(&base) || (256 % m != 0 && base + 1 > 28) {
            continue;
        }
        let widths = even_widths(m);
        let Some(plan) = tuned_plan(&widths, n, 31) else { continue };
        let cost = plan.cost;
        if best.as_ref().is_none_or(|(c, _)| cost < *c) {
            best = Some((cost, widths));
        }
    }
    best.map_or_else(|| even_widths(16), |(_, w)| w)
}

/// 256 bits split into `m` keys as evenly as possible, wider keys first.
fn even_widths(m: u32) -> Vec<u32> {
    let (base, extra) = (256 / m, 256 % m);
    (0..m).map(|i| if i < extra { base + 1 } else { base }).collect()
}

/// Which radius each table of a tuned multi-index is probed with for one needle.
#[derive(Debug, Clone, PartialEq)]
pub struct TunedPlan {
    /// Per table: the radius its key is probed with (`None`: the table is skipped).
    pub radii: Vec<Option<u32>>,
    /// Estimated cost per needle for uniformly random hashes, in cache misses: one per
    /// bucket visited and one per candidate checked.
    pub cost: f64,
    /// Estimated buckets visited per needle.
    pub probes: f64,
    /// Estimated candidates per needle.
    pub candidates: f64,
}

/// Most bits flipped in one table's key when probing.
pub const TUNED_MAX_KEY_RADIUS: u32 = 4;

/// The cheapest probing plan for a radius-`radius` search in a tuned multi-index with key
/// widths `widths` over `n` hashes, or `None` when no plan with key radii of at most
/// [`TUNED_MAX_KEY_RADIUS`] is exact.
///
/// Exactness (generalised pigeonhole): a stored hash whose key in table i differs from the
/// needle's in at least `t_i + 1` bits for every probed table is at distance at least
/// `Σ (t_i + 1)`. Choosing radii with `Σ (t_i + 1) >= radius + 1` therefore guarantees that
/// every hash within `radius` has some table i whose key is within `t_i` bits, so it is
/// among the candidates. A skipped table contributes 0.
pub fn tuned_plan(widths: &[u32], n: u64, radius: u32) -> Option<TunedPlan> {
    let need = radius as usize + 1;
    // dp[s] = (cost, probes, candidates, radii) reaching Σ (t_i + 1) = min(s, need).
    type State = (f64, f64, f64, Vec<Option<u32>>);
    let mut dp: Vec<Option<State>> = vec![None; need + 1];
    dp[0] = Some((0.0, 0.0, 0.0, Vec::new()));
    for &w in widths {
        let mut next: Vec<Option<State>> = vec![None; need + 1];
        for (s, state) in dp.iter().enumerate() {
            let Some((c, p, k, radii)) = state else { continue };
            for t in std::iter::once(None).chain((0..=TUNED_MAX_KEY_RADIUS.min(w)).map(Some)) {
                let (s2, dc, dp_, dk) = match t {
                    None => (s, 0.0, 0.0, 0.0),
                    Some(t) => {
                        let probes = ball(w, t);
                        let cands = probes * n as f64 / (1u64 << w) as f64;
                        ((s + t as usize + 1).min(need), probes + cands, probes, cands)
                    }
                };
                if next[s2].as_ref().is_none_or(|x| c + dc < x.0) {
                    let mut r = radii.clone();
                    r.push(t);
                    next[s2] = Some((c + dc, p + dp_, k + dk, r));
                }
            }
        }
        dp = next;
    }
    dp.pop().flatten().map(|(cost, probes, candidates, radii)| TunedPlan {
        radii,
        cost,
        probes,
        candidates,
    })
}

/// Number of `w`-bit values within `t` bits of a given one.
fn ball(w: u32, t: u32) -> f64 {
    let mut sum = 0.0;
    let mut c = 1.0;
    for k in 0..=t {
        if k > 0 {
            c = c * f64::from(w - k + 1) / f64::from(k);
        }
        sum += c;
    }
    sum
}

// ---------------------------------------------------------------------------------------
// Records
// ---------------------------------------------------------------------------------------

/// Field-presence bits of an encoded record, in encoding order.
///
/// The two flag pairs carry a value without any payload: `*_KNOWN` says the source stated
/// it, `*_TRUE` gives it (set without its `*_KNOWN` bit, the record is refused).
pub mod field {
    /// `category` present (string).
    pub const CATEGORY: u64 = 1 << 0;
    /// `profile` present (string).
    pub const PROFILE: u64 = 1 << 1;
    /// `victim_identified` stated by the source.
    pub const VICTIM_KNOWN: u64 = 1 << 2;
    /// `victim_identified` is true (only with [`VICTIM_KNOWN`]).
    pub const VICTIM_TRUE: u64 = 1 << 3;
    /// `offender_identified` stated by the source.
    pub const OFFENDER_KNOWN: u64 = 1 << 4;
    /// `offender_identified` is true (only with [`OFFENDER_KNOWN`]).
    pub const OFFENDER_TRUE: u64 = 1 << 5;
    /// `series` present (string).
    pub const SERIES: u64 = 1 << 6;
    /// `source_id` present (string).
    pub const SOURCE_ID: u64 = 1 << 7;
    /// `file_name` present (bytes).
    pub const FILE_NAME: u64 = 1 << 8;
    /// `file_size` present (varint).
    pub const FILE_SIZE: u64 = 1 << 9;
    /// `note` present (string).
    pub const NOTE: u64 = 1 << 10;
    /// Every defined bit; a record with any other bit set is refused as damaged.
    pub const ALL: u64 = (1 << 11) - 1;
}

/// Appends `v` as unsigned LEB128.
pub fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Reads an unsigned LEB128 value; `None` when truncated, longer than 10 bytes or > u64.
pub fn get_varint(data: &[u8], pos: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for i in 0..10 {
        let byte = *data.get(*pos)?;
        *pos += 1;
        let bits = u64::from(byte & 0x7F);
        if i == 9 && bits > 1 {
            return None;
        }
        value |= bits << (7 * i);
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// Encodes one record: varint source id, varint field mask, then the present fields in bit
/// order; strings and the file name as varint length + bytes, the size as a varint.
pub fn encode_record(out: &mut Vec<u8>, source: u32, meta: &super::EntryMeta) {
    let mut mask = 0u64;
    let flag = |mask: &mut u64, present: bool, bit: u64| {
        if present {
            *mask |= bit;
        }
    };
    flag(&mut mask, meta.category.is_some(), field::CATEGORY);
    flag(&mut mask, meta.profile.is_some(), field::PROFILE);
    flag(&mut mask, meta.victim_identified.is_some(), field::VICTIM_KNOWN);
    flag(&mut mask, meta.victim_identified == Some(true), field::VICTIM_TRUE);
    flag(&mut mask, meta.offender_identified.is_some(), field::OFFENDER_KNOWN);
    flag(&mut mask, meta.offender_identified == Some(true), field::OFFENDER_TRUE);
    flag(&mut mask, meta.series.is_some(), field::SERIES);
    flag(&mut mask, meta.source_id.is_some(), field::SOURCE_ID);
    flag(&mut mask, meta.file_name.is_some(), field::FILE_NAME);
    flag(&mut mask, meta.file_size.is_some(), field::FILE_SIZE);
    flag(&mut mask, meta.note.is_some(), field::NOTE);
    put_varint(out, u64::from(source));
    put_varint(out, mask);
    let put_bytes = |out: &mut Vec<u8>, b: &[u8]| {
        put_varint(out, b.len() as u64);
        out.extend_from_slice(b);
    };
    if let Some(s) = &meta.category {
        put_bytes(out, s.as_bytes());
    }
    if let Some(s) = &meta.profile {
        put_bytes(out, s.as_bytes());
    }
    if let Some(s) = &meta.series {
        put_bytes(out, s.as_bytes());
    }
    if let Some(s) = &meta.source_id {
        put_bytes(out, s.as_bytes());
    }
    if let Some(b) = &meta.file_name {
        put_bytes(out, b);
    }
    if let Some(size) = meta.file_size {
        put_varint(out, size);
    }
    if let Some(s) = &meta.note {
        put_bytes(out, s.as_bytes());
    }
}

/// An entry's metadata, borrowed from the file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MetaRef<'a> {
    /// Category as the source states it (VICS: 0-4 in the Default profile).
    pub category: Option<&'a str>,
    /// The categorisation profile the category belongs to (VICS 2.0: "Default", "US"...).
    pub profile: Option<&'a str>,
    /// Whether the source says the victim is identified; `None` when it does not say.
    pub victim_identified: Option<bool>,
    /// Whether the source says the offender is identified; `None` when it does not say.
    pub offender_identified: Option<bool>,
    /// The series the source files the entry under.
    pub series: Option<&'a str>,
    /// The record's identifier in its source (VICS MediaID, NSRL row, line number...).
    pub source_id: Option<&'a str>,
    /// File name as stored (bytes: NSRL names are not always UTF-8).
    pub file_name: Option<&'a [u8]>,
    /// File size in bytes as the source states it (not checked against anything).
    pub file_size: Option<u64>,
    /// Free text (product name, comment).
    pub note: Option<&'a str>,
}

impl MetaRef<'_> {
    /// An owned copy in the importers' type.
    pub fn to_owned_meta(&self) -> super::EntryMeta {
        super::EntryMeta {
            category: self.category.map(str::to_owned),
            profile: self.profile.map(str::to_owned),
            victim_identified: self.victim_identified,
            offender_identified: self.offender_identified,
            series: self.series.map(str::to_owned),
            source_id: self.source_id.map(str::to_owned),
            file_name: self.file_name.map(<[u8]>::to_vec),
            file_size: self.file_size,
            note: self.note.map(str::to_owned),
        }
    }
}

/// Decodes one record; `Err` names what is wrong (hostile or damaged bytes).
pub fn decode_record(data: &[u8]) -> Result<(u64, MetaRef<'_>), &'static str> {
    let mut pos = 0usize;
    let source = get_varint(data, &mut pos).ok_or("truncated source id")?;
    let mask = get_varint(data, &mut pos).ok_or("truncated field mask")?;
    if mask & !field::ALL != 0 {
        return Err("unknown field bits");
    }
    if (mask & field::VICTIM_TRUE != 0 && mask & field::VICTIM_KNOWN == 0)
        || (mask & field::OFFENDER_TRUE != 0 && mask & field::OFFENDER_KNOWN == 0)
    {
        return Err("flag value without its presence bit");
    }
    fn bytes<'a>(data: &'a [u8], pos: &mut usize) -> Result<&'a [u8], &'static str> {
        let len = get_varint(data, pos).ok_or("truncated string length")?;
        let end = usize::try_from(len)
            .ok()
            .and_then(|l| pos.checked_add(l))
            .filter(|&e| e <= data.len())
            .ok_or("string runs past the record")?;
        let s = &data[*pos..end];
        *pos = end;
        Ok(s)
    }
    fn text<'a>(data: &'a [u8], pos: &mut usize) -> Result<&'a str, &'static str> {
        std::str::from_utf8(bytes(data, pos)?).map_err(|_| "string is not UTF-8")
    }
    let mut meta = MetaRef::default();
    if mask & field::CATEGORY != 0 {
        meta.category = Some(text(data, &mut pos)?);
    }
    if mask & field::PROFILE != 0 {
        meta.profile = Some(text(data, &mut pos)?);
    }
    if mask & field::VICTIM_KNOWN != 0 {
        meta.victim_identified = Some(mask & field::VICTIM_TRUE != 0);
    }
    if mask & field::OFFENDER_KNOWN != 0 {
        meta.offender_identified = Some(mask & field::OFFENDER_TRUE != 0);
    }
    if mask & field::SERIES != 0 {
        meta.series = Some(text(data, &mut pos)?);
    }
    if mask & field::SOURCE_ID != 0 {
        meta.source_id = Some(text(data, &mut pos)?);
    }
    if mask & field::FILE_NAME != 0 {
        meta.file_name = Some(bytes(data, &mut pos)?);
    }
    if mask & field::FILE_SIZE != 0 {
        meta.file_size = Some(get_varint(data, &mut pos).ok_or("truncated file size")?);
    }
    if mask & field::NOTE != 0 {
        meta.note = Some(text(data, &mut pos)?);
    }
    if pos != data.len() {
        return Err("trailing bytes after the last field");
    }
    Ok((source, meta))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::refset::EntryMeta;

    #[test]
    fn varint_round_trip_and_limits() {
        for v in [0, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX] {
            let mut b = Vec::new();
            put_varint(&mut b, v);
            let mut pos = 0;
            assert_eq!(get_varint(&b, &mut pos), Some(v));
            assert_eq!(pos, b.len());
        }
        // 11 continuation bytes, and a 10th byte carrying more than one bit: both refused.
        assert_eq!(get_varint(&[0xFF; 11], &mut 0), None);
        assert_eq!(
            get_varint(&[0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 2], &mut 0),
            None
        );
        assert_eq!(get_varint(&[0x80], &mut 0), None);
    }

    #[test]
    fn record_round_trip() {
        let meta = EntryMeta {
            category: Some("1".into()),
            profile: Some("Default".into()),
            victim_identified: Some(false),
            offender_identified: Some(true),
            series: Some("s".into()),
            source_id: Some("42".into()),
            file_name: Some(vec![0xFF, b'a']),
            file_size: Some(1 << 40),
            note: Some("n".into()),
        };
        let mut b = Vec::new();
        encode_record(&mut b, 7, &meta);
        let (source, decoded) = decode_record(&b).unwrap();
        assert_eq!(source, 7);
        assert_eq!(decoded.to_owned_meta(), meta);
        let mut empty = Vec::new();
        encode_record(&mut empty, 0, &EntryMeta::default());
        assert_eq!(empty, [0, 0]);
        for cut in 0..b.len() {
            assert!(decode_record(&b[..cut]).is_err(), "prefix {cut} decoded");
        }
        let mut longer = b.clone();
        longer.push(0);
        assert!(decode_record(&longer).is_err());
    }
}
