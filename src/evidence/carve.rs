//! Carving pictures (JPEG, PNG, GIF, BMP, WebP) from the space of a disk image that no
//! file-system entry names: the free clusters of each file system
//! ([`super::fs::FileSystem::unallocated`]), whole volumes whose file system is unknown or
//! damaged, and the space outside every partition (gaps between and after partitions, and
//! before the first one, without the partition-table sectors).
//!
//! * **Streams**: each area is read as one stream, in media offset order, a window
//!   ([`WINDOW`]) at a time; the free space of one file system is one stream made of its
//!   free ranges (as PhotoRec reads free space), so a picture split by an allocated file
//!   is carved whole, with one byte run per piece. Areas are carved in media offset order,
//!   after every volume's file-system entries.
//! * **Signatures** are looked for at every 512-byte boundary of the media, never between:
//!   files start at cluster starts, clusters are whole sectors on every file system read
//!   here, and unpartitioned space has no cluster grid, so the sector is the finest grid
//!   that misses no file start while the signature test runs 2^9 times less often than at
//!   every byte (PhotoRec checks block starts for the same reason). Pictures embedded in
//!   other files at arbitrary offsets are not carved.
//! * **End** found by structure, never by the next header: JPEG marker segments, then the
//!   entropy-coded data up to EOI (an EXIF thumbnail inside APP1 is skipped by its segment
//!   length; progressive scans continue); PNG chunks with their CRC-32 up to IEND; GIF
//!   blocks and sub-blocks up to the trailer; BMP the file-size field; WebP the RIFF size.
//!   At most [`max_bytes`] per format.
//! * **Validation**: the bytes are decoded with the crate's decoders under their limits
//!   (JPEG at 1/8 scale: every coefficient is still entropy-decoded; at most 64 Mpx); a
//!   decode that fails or warns (libjpeg's "corrupt data" warnings) is not a whole picture.
//!   A picture too large to validate is kept when its structure is whole (the scan then
//!   decodes it, or reports why not, as for any file).
//! * **Records**: a whole picture is a content item, hashed, decoded and matched like any
//!   file, at `IMAGE/pN/$CarvedFiles/OFFSET.EXT` (free space of volume N, or volume N
//!   carved whole) or `IMAGE/$CarvedFiles/OFFSET.EXT` (outside every partition), OFFSET
//!   being the media byte offset in decimal; its [`Location::carved`] gives the area,
//!   format, offset and length and its byte runs the media ranges. A signature whose data
//!   is not a whole picture is one record, skipped with [`ReasonCode::CarvedFragment`]
//!   and the bytes examined, never hashed; scanning resumes at the next sector (so a
//!   signature inside a broken candidate is still found), unless the walks of the area have
//!   read more than [`WALK_FACTOR`] times its bytes (crafted space full of nested headers),
//!   then after the bytes examined. After a whole picture scanning resumes at its end. A
//!   range that cannot be read is one error record ([`ReasonCode::ReadFailed`]) at
//!   `.../$CarvedFiles`.
//! * **Memory** is bounded by the window and the largest candidate ([`max_bytes`]); the
//!   carver runs on the thread that takes items from the sources, in order, so its records
//!   are the same for any thread count.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::fs::{DataReader, Extent, FileData};
use super::image::DiskImage;
use super::{Content, ContentItem, Item, OpenedContent};
use crate::decode::{self, DecodeError, DecodeOptions, ImageFormat, JpegScale, Limits};
use crate::report::{
    ByteRun, Carved, EntryDisposition, EntryKind, EntryRecord, Location, Reason, ReasonCode,
};

/// Bytes of an area scanned for signatures at once.
pub const WINDOW: u64 = 1 << 20;
/// The grid signatures are looked for on.
pub const ALIGN: u64 = 512;
/// Bytes read at once while following a candidate's structure.
const GROW: usize = 256 << 10;

/// Largest picture carved, per format: larger ones are reported as fragments.
pub fn max_bytes(format: ImageFormat) -> u64 {
    match format {
        ImageFormat::Jpeg | ImageFormat::Png => 128 << 20,
        ImageFormat::Bmp => 256 << 20,
        _ => 64 << 20,
    }
}

/// The extension carved files get.
fn extension(format: ImageFormat) -> &'static str {
    match format {
        ImageFormat::Jpeg => "jpg",
        ImageFormat::Png => "png",
        ImageFormat::Gif => "gif",
        ImageFormat::Bmp => "bmp",
        _ => "webp",
    }
}

/// What kind of space an area is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AreaKind {
    /// Free space of a file system.
    Unallocated,
    /// A whole volume whose file system is unknown or damaged.
    Volume,
    /// Outside every partition.
    Unpartitioned,
}

impl AreaKind {
    /// The name reports use (`unallocated`, `volume`, `unpartitioned`).
    pub fn as_str(self) -> &'static str {
        match self {
            AreaKind::Unallocated => "unallocated",
            AreaKind::Volume => "volume",
            AreaKind::Unpartitioned => "unpartitioned",
        }
    }
}

/// A space to carve, read as one stream.
#[derive(Debug, Clone)]
pub struct Area {
    /// Record paths start with this (`IMAGE/pN` or `IMAGE`), then `/$CarvedFiles/`.
    pub prefix: Vec<u8>,
    /// Location fields its records share (image, container, partition, file system).
    pub location: Location,
    /// What kind of space it is.
    pub kind: AreaKind,
    /// Media ranges `(offset, len)`, sorted, disjoint, read in order as one stream.
    pub runs: Vec<(u64, u64)>,
}

/// A stream over an area's runs: stream positions to media offsets.
struct Stream {
    runs: Vec<(u64, u64)>,
    /// Stream position of each run's first byte.
    starts: Vec<u64>,
    len: u64,
}

impl Stream {
    fn new(runs: Vec<(u64, u64)>) -> Stream {
        let mut starts = Vec::with_capacity(runs.len());
        let mut len = 0u64;
        for &(_, l) in &runs {
            starts.push(len);
            len += l;
        }
        Stream { runs, starts, len }
    }

    /// Index of the run holding stream position `pos` (< len).
    fn run_at(&self, pos: u64) -> usize {
        self.starts.partition_point(|&s| s <= pos) - 1
    }

    /// Fills `buf` from stream position `pos` (short only at the stream's end).
    fn read(&self, image: &dyn DiskImage, pos: u64, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut done = 0usize;
        while done < buf.len() && pos + (done as u64) < self.len {
            let at = pos + done as u64;
            let i = self.run_at(at);
            let within = at - self.starts[i];
            let (media, run_len) = self.runs[i];
            let n = ((run_len - within) as usize).min(buf.len() - done);
            image.read_exact_at(media + within, &mut buf[done..done + n])?;
            done += n;
        }
        Ok(done)
    }

    /// The media runs of stream bytes `pos..pos + len`.
    fn media_runs(&self, pos: u64, len: u64) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        let mut at = pos;
        let end = (pos + len).min(self.len);
        while at < end {
            let i = self.run_at(at);
            let within = at - self.starts[i];
            let (media, run_len) = self.runs[i];
            let n = (run_len - within).min(end - at);
            out.push((media + within, n));
            at += n;
        }
        out
    }
}

/// The bytes of a candidate, read from the stream as its structure is followed.
struct Grow<'s> {
    stream: &'s Stream,
    image: &'s dyn DiskImage,
    start: u64,
    max: u64,
    data: Vec<u8>,
    /// Why no more bytes come: the stream's end, the size limit, or a read error.
    stop: Option<String>,
    /// Start of the structural unit being followed (marker, chunk, block): where the
    /// structure broke when it breaks.
    at: usize,
}

impl Grow<'_> {
    /// Makes `data` at least `n` bytes long; false when it cannot be.
    fn ensure(&mut self, n: usize) -> bool {
        while self.data.len() < n {
            if self.stop.is_some() {
                return false;
            }
            let have = self.data.len() as u64;
            if have >= self.max {
                self.stop = Some(format!("no end within the {}-byte limit", self.max));
                return false;
            }
            let want = (GROW as u64).min(self.max - have) as usize;
            let at = self.data.len();
            self.data.resize(at + want, 0);
            match self.stream.read(self.image, self.start + have, &mut self.data[at..]) {
                Ok(got) => {
                    self.data.truncate(at + got);
                    if got < want {
                        self.stop = Some(format!(
                            "the carved space ends {} bytes after the header",
                            self.data.len()
                        ));
                    }
                }
                Err(e) => {
                    self.data.truncate(at);
                    self.stop = Some(format!("cannot read further: {e}"));
                }
            }
        }
        true
    }

    fn get(&mut self, i: usize) -> Option<u8> {
        self.ensure(i + 1).then(|| self.data[i])
    }

    fn be16(&mut self, i: usize) -> Option<usize> {
        self.ensure(i + 2)
            .then(|| usize::from(u16::from_be_bytes([self.data[i], self.data[i + 1]])))
    }

    fn le32(&mut self, i: usize) -> Option<u64> {
        self.ensure(i + 4).then(|| {
            u64::from(u32::from_le_bytes([
                self.data[i],
                self.data[i + 1],
                self.data[i + 2],
                self.data[i + 3],
            ]))
        })
    }

    /// Index of the next 0xFF at or after `from`.
    fn find_ff(&mut self, mut from: usize) -> Option<usize> {
        loop {
            if let Some(k) = self.data.get(from..).and_then(|d| d.iter().position(|&b| b == 0xFF)) {
                return Some(from + k);
            }
            from = from.max(self.data.len());
            if !self.ensure(self.data.len() + 1) {
                return None;
            }
        }
    }

    /// Why the structure could not be followed further at byte `i` (the bytes ran out:
    /// every byte read was examined).
    fn short(&mut self, i: usize) -> String {
        self.at = self.data.len();
        match &self.stop {
            Some(s) => format!("{s} (needed byte {i})"),
            None => format!("ends at byte {i}"),
        }
    }
}

/// What following a candidate's structure found.
enum Found {
    /// No picture starts here (the signature is there but the header is not plausible).
    Nothing,
    /// A whole structure of this many bytes.
    Whole(u64),
    /// A plausible header whose structure breaks: why, after how many bytes.
    Broken(String, u64),
}

/// The format whose signature starts `head`, if any.
fn signature(head: &[u8]) -> Option<ImageFormat> {
    match head {
        [0xFF, 0xD8, 0xFF, ..] => Some(ImageFormat::Jpeg),
        [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, ..] => Some(ImageFormat::Png),
        [b'G', b'I', b'F', b'8', b'7' | b'9', b'a', ..] => Some(ImageFormat::Gif),
        [b'B', b'M', ..] => Some(ImageFormat::Bmp),
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => Some(ImageFormat::WebP),
        _ => None,
    }
}

fn follow(format: ImageFormat, g: &mut Grow<'_>) -> Found {
    match format {
        ImageFormat::Jpeg => jpeg_end(g),
        ImageFormat::Png => png_end(g),
        ImageFormat::Gif => gif_end(g),
        ImageFormat::Bmp => bmp_end(g),
        _ => webp_end(g),
    }
}

/// The bytes ran out while byte `i` was needed.
fn ran_out(g: &mut Grow<'_>, i: usize) -> Found {
    let why = g.short(i);
    broken(g, why)
}

/// A broken structure: why, and the bytes examined up to the break.
fn broken(g: &Grow<'_>, why: String) -> Found {
    Found::Broken(why, g.at.clamp(1, g.data.len().max(1)) as u64)
}

/// JPEG: marker segments to SOS, entropy-coded data to the next marker, up to EOI.
fn jpeg_end(g: &mut Grow<'_>) -> Found {
    // The first segment must be one a JPEG starts with (APPn, DQT, DHT, SOFn, COM, DRI).
    match (g.get(3), g.be16(4)) {
        (Some(0xE0..=0xEF | 0xDB | 0xC4 | 0xC0..=0xC3 | 0xFE | 0xDD), Some(len)) if len >= 2 => {}
        _ => return Found::Nothing,
    }
    let mut i = 2usize;
    let (mut frame, mut scan) = (false, false);
    loop {
        g.at = i;
        match g.get(i) {
            Some(0xFF) => {}
            Some(b) => return broken(g, format!("byte 0x{b:02x} where a marker should be at {i}")),
            None => return ran_out(g, i),
        }
        // Fill bytes before the marker code.
        while g.get(i + 1) == Some(0xFF) {
            i += 1;
        }
        let Some(marker) = g.get(i + 1) else { return ran_out(g, i + 1) };
        i += 2;
        match marker {
            0xD9 if scan => return Found::Whole(i as u64),
            0xD9 => return broken(g, format!("end of image at byte {i} before any image data")),
            0xD8 | 0x00 => return broken(g, format!("marker 0x{marker:02x} at byte {}", i - 2)),
            0x01 | 0xD0..=0xD7 => continue,
            _ => {}
        }
        let Some(len) = g.be16(i) else { return ran_out(g, i + 2) };
        if len < 2 {
            return broken(g, format!("segment length {len} at byte {i}"));
        }
        if matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC) {
            frame = true;
        }
        i += len;
        if marker != 0xDA {
            continue;
        }
        if !frame {
            return broken(g, "image data before any frame header".into());
        }
        scan = true;
        // Entropy-coded data: 0xFF is followed by 0x00 (stuffing), a restart marker or
        // fill bytes; anything else is the next marker.
        loop {
            g.at = i;
            let Some(j) = g.find_ff(i) else {
                let n = g.data.len();
                return ran_out(g, n);
            };
            match g.get(j + 1) {
                None => return ran_out(g, j + 1),
                Some(0x00 | 0xD0..=0xD7) => i = j + 2,
                Some(0xFF) => i = j + 1,
                Some(_) => {
                    i = j;
                    break;
                }
            }
        }
    }
}

/// PNG: IHDR first, chunks with their CRC-32, up to IEND.
fn png_end(g: &mut Grow<'_>) -> Found {
    let mut i = 8usize;
    loop {
        g.at = i;
        if !g.ensure(i + 8) {
            return ran_out(g, i + 8);
        }
        let len = u32::from_be_bytes([g.data[i], g.data[i + 1], g.data[i + 2], g.data[i + 3]]);
        let kind: [u8; 4] = [g.data[i + 4], g.data[i + 5], g.data[i + 6], g.data[i + 7]];
        if i == 8 && (&kind != b"IHDR" || len != 13) {
            return Found::Nothing;
        }
        if len > 0x7FFF_FFFF || !kind.iter().all(u8::is_ascii_alphabetic) {
            return broken(g, format!("chunk header at byte {i} is not valid"));
        }
        let end = i + 12 + len as usize;
        if !g.ensure(end) {
            return ran_out(g, end);
        }
        let stored = u32::from_be_bytes([
            g.data[end - 4],
            g.data[end - 3],
            g.data[end - 2],
            g.data[end - 1],
        ]);
        if crc32fast::hash(&g.data[i + 4..end - 4]) != stored {
            return broken(
                g,
                format!("chunk {} at byte {i} fails its CRC-32", String::from_utf8_lossy(&kind)),
            );
        }
        if &kind == b"IEND" {
            return Found::Whole(end as u64);
        }
        i = end;
    }
}

/// GIF: logical screen, blocks and sub-blocks, up to the trailer.
fn gif_end(g: &mut Grow<'_>) -> Found {
    if !g.ensure(13) {
        return Found::Nothing;
    }
    let width = u16::from_le_bytes([g.data[6], g.data[7]]);
    let height = u16::from_le_bytes([g.data[8], g.data[9]]);
    if width == 0 || height == 0 {
        return Found::Nothing;
    }
    let flags = g.data[10];
    let mut i = 13usize;
    if flags & 0x80 != 0 {
        i += 3 * (2usize << (flags & 7));
    }
    let sub_blocks = |g: &mut Grow<'_>, mut i: usize| -> Result<usize, Found> {
        loop {
            g.at = i;
            match g.get(i) {
                None => return Err(ran_out(g, i)),
                Some(0) => return Ok(i + 1),
                Some(n) => i += 1 + usize::from(n),
            }
        }
    };
    loop {
        g.at = i;
        match g.get(i) {
            None => return ran_out(g, i),
            Some(0x3B) => return Found::Whole(i as u64 + 1),
            Some(0x2C) => {
                let Some(local) = g.get(i + 9) else { return ran_out(g, i + 9) };
                i += 10;
                if local & 0x80 != 0 {
                    i += 3 * (2usize << (local & 7));
                }
                match g.get(i) {
                    Some(1..=12) => {}
                    Some(b) => return broken(g, format!("LZW code size {b} at byte {i}")),
                    None => return ran_out(g, i),
                }
                i = match sub_blocks(g, i + 1) {
                    Ok(i) => i,
                    Err(f) => return f,
                };
            }
            Some(0x21) => {
                i = match sub_blocks(g, i + 2) {
                    Ok(i) => i,
                    Err(f) => return f,
                };
            }
            Some(b) => return broken(g, format!("block type 0x{b:02x} at byte {i}")),
        }
    }
}

/// BMP: a plausible header, then the file-size field.
fn bmp_end(g: &mut Grow<'_>) -> Found {
    if !g.ensure(26) {
        return Found::Nothing;
    }
    let d = &g.data;
    let le32 = |at: usize| u64::from(u32::from_le_bytes([d[at], d[at + 1], d[at + 2], d[at + 3]]));
    let size = le32(2);
    let offset = le32(10);
    let dib = le32(14);
    let (w, h) = if dib == 12 {
        (
            u64::from(u16::from_le_bytes([d[18], d[19]])),
            u64::from(u16::from_le_bytes([d[20], d[21]])),
        )
    } else {
        (le32(18), le32(22))
    };
    let plausible = d[6..10] == [0, 0, 0, 0]
        && matches!(dib, 12 | 16 | 40 | 52 | 56 | 64 | 108 | 124)
        && w != 0
        && h != 0
        && offset >= 14 + dib
        && offset < size
        && size >= 65;
    if !plausible {
        return Found::Nothing;
    }
    if size > g.max {
        return broken(g, format!("declares {size} bytes, over the {}-byte limit", g.max));
    }
    if !g.ensure(size as usize) {
        return ran_out(g, size as usize);
    }
    Found::Whole(size)
}

/// WebP: a RIFF container whose chunks fill its declared size.
fn webp_end(g: &mut Grow<'_>) -> Found {
    if !g.ensure(20) || !matches!(&g.data[12..16], b"VP8 " | b"VP8L" | b"VP8X") {
        return Found::Nothing;
    }
    let Some(riff) = g.le32(4) else { return Found::Nothing };
    let total = 8 + riff + (riff & 1);
    if riff < 12 {
        return Found::Nothing;
    }
    if total > g.max {
        return broken(g, format!("declares {total} bytes, over the {}-byte limit", g.max));
    }
    // Each chunk header must lead to the next, ending exactly at the RIFF's end.
    let mut i = 12u64;
    while i < total {
        g.at = i as usize;
        let Some(len) = g.le32(i as usize + 4) else { return ran_out(g, i as usize + 8) };
        i += 8 + len + (len & 1);
    }
    if i != total {
        return broken(g, format!("its chunks run {} bytes past the RIFF size", i - total));
    }
    if !g.ensure(total as usize) {
        return ran_out(g, total as usize);
    }
    Found::Whole(total)
}

/// Decodes a candidate: `None` when it is a whole picture (or too large for the decode
/// limits, its structure being whole), else why not.
fn validate(bytes: &[u8]) -> Option<String> {
    let options = DecodeOptions {
        limits: Limits {
            max_pixels: VALIDATE_MAX_PIXELS,
            max_alloc_bytes: 1 << 30,
            ..Limits::default()
        },
        jpeg_scale: JpegScale::Fast { min_side: 1 },
    };
    match decode::decode_rgb8(bytes, &options) {
        Ok(image) if image.warning_count == 0 => {
            decode::recycle(image);
            None
        }
        Ok(image) => Some(format!(
            "decodes with {} warning(s): {}",
            image.warning_count,
            image.first_warning.unwrap_or_default()
        )),
        Err(
            DecodeError::TooLarge { .. }
            | DecodeError::AllocationLimit { .. }
            | DecodeError::MemoryBudget { .. }
            | DecodeError::Unsupported { .. },
        ) => None,
        Err(e) => Some(format!("does not decode: {e}")),
    }
}

/// The carver: yields the records of every area, in media offset order.
pub struct Carver {
    image: Arc<dyn DiskImage>,
    noatime: bool,
    areas: VecDeque<Area>,
    /// The area being carved, its stream and the next stream position to scan.
    current: Option<(Area, Stream, u64)>,
    /// A read failure being coalesced: first and last failing stream positions, message.
    failing: Option<(u64, u64, String)>,
    out: VecDeque<Item>,
    cancel: Option<Arc<AtomicBool>>,
    /// Bytes read by candidate walks in the current area (see [`WALK_FACTOR`]).
    walked: u64,
}

/// Candidates are normally retried from the next sector, so a signature inside a broken
/// candidate's bytes is still found. Once the walks of an area have read more than this
/// many times the bytes scanned (plus [`WALK_SLACK`]), as crafted free space full of nested
/// headers would make them, scanning resumes after each candidate's examined bytes instead:
/// the work stays linear in the area's size.
pub const WALK_FACTOR: u64 = 8;
/// See [`WALK_FACTOR`].
pub const WALK_SLACK: u64 = 256 << 20;
/// What one validation decode counts for in the walk budget ([`WALK_FACTOR`]).
const DECODE_WEIGHT: u64 = 4 << 20;
/// Largest picture validated by decoding (64 Mpx); larger ones whose structure is whole are
/// kept without it (the scan decodes them under its own limits and memory budget).
const VALIDATE_MAX_PIXELS: u64 = 1 << 26;

impl Carver {
    /// A carver of `areas` on `image` (sorted here by their first media offset).
    pub fn new(image: Arc<dyn DiskImage>, noatime: bool, mut areas: Vec<Area>) -> Carver {
        areas.retain(|a| a.runs.iter().any(|r| r.1 > 0));
        areas.sort_by_key(|a| a.runs.first().map_or(0, |r| r.0));
        Carver {
            image,
            noatime,
            areas: areas.into(),
            current: None,
            failing: None,
            out: VecDeque::new(),
            cancel: None,
            walked: 0,
        }
    }

    /// Stops carving (no more records) once `cancel` is set.
    pub fn with_cancel(mut self, cancel: Option<Arc<AtomicBool>>) -> Carver {
        self.cancel = cancel;
        self
    }

    /// Carves until at least one record is queued or every area is done.
    fn advance(&mut self) {
        while self.out.is_empty() {
            if self.cancel.as_deref().is_some_and(|c| c.load(Ordering::Relaxed)) {
                return;
            }
            let Some((area, stream, pos)) = self.current.take() else {
                match self.areas.pop_front() {
                    Some(area) => {
                        self.walked = 0;
                        let stream = Stream::new(area.runs.clone());
                        self.current = Some((area, stream, 0));
                        continue;
                    }
                    None => return,
                }
            };
            if pos >= stream.len {
                self.flush_failure(&area, &stream);
                continue;
            }
            let next = self.scan_window(&area, &stream, pos);
            self.current = Some((area, stream, next));
        }
    }

    /// Scans one window from `pos`; returns where to continue.
    fn scan_window(&mut self, area: &Area, stream: &Stream, pos: u64) -> u64 {
        let want = (WINDOW + 16).min(stream.len - pos) as usize;
        let mut buf = vec![0u8; want];
        let got = match stream.read(&*self.image, pos, &mut buf) {
            Ok(n) => n,
            Err(e) => {
                // Coalesce consecutive unreadable windows into one record.
                let end = pos + want as u64;
                match &mut self.failing {
                    Some((_, last, _)) if *last == pos => *last = end,
                    _ => {
                        self.flush_failure(area, stream);
                        self.failing = Some((pos, end, e.to_string()));
                    }
                }
                return pos + WINDOW.min(stream.len - pos);
            }
        };
        self.flush_failure(area, stream);
        let scan_end = pos + WINDOW.min(got as u64);
        // Every sector boundary of the media inside this window, run by run.
        let mut at = pos;
        while at < scan_end {
            let i = stream.run_at(at);
            let run_end = (stream.starts[i] + stream.runs[i].1).min(scan_end);
            let media = stream.runs[i].0 + (at - stream.starts[i]);
            let mut p = at + (ALIGN - media % ALIGN) % ALIGN;
            while p < run_end {
                let k = (p - pos) as usize;
                if let Some(format) = signature(&buf[k..])
                    && let Some(resume) = self.candidate(area, stream, p, format)
                {
                    return resume;
                }
                p += ALIGN;
            }
            at = run_end;
        }
        scan_end
    }

    /// Follows a candidate at stream position `p`; queues its record and returns where to
    /// resume, or `None` when nothing starts there.
    fn candidate(
        &mut self,
        area: &Area,
        stream: &Stream,
        p: u64,
        format: ImageFormat,
    ) -> Option<u64> {
        let mut g = Grow {
            stream,
            image: &*self.image,
            start: p,
            max: max_bytes(format),
            data: Vec::new(),
            stop: None,
            at: 0,
        };
        let found = follow(format, &mut g);
        self.walked += g.data.len() as u64;
        let (len, why) = match found {
            Found::Nothing => return None,
            Found::Whole(len) => {
                // A decode counts as reading a few MiB (nested whole candidates that do not
                // decode are bounded by the same budget).
                self.walked += DECODE_WEIGHT;
                let why = validate(&g.data[..len as usize]);
                (len, why)
            }
            Found::Broken(why, len) => (len.max(1), Some(why)),
        };
        drop(g);
        let over_budget = self.walked > WALK_FACTOR.saturating_mul(p).saturating_add(WALK_SLACK);
        let runs = stream.media_runs(p, len);
        let offset = runs[0].0;
        let mut path = area.prefix.clone();
        path.extend_from_slice(format!("/$CarvedFiles/{offset}.{}", extension(format)).as_bytes());
        let mut record = EntryRecord::at(path);
        record.kind = EntryKind::File;
        record.size = Some(len);
        record.location = Some(Location {
            byte_runs: runs.iter().map(|&(img_offset, len)| ByteRun { img_offset, len }).collect(),
            carved: Some(Carved {
                offset,
                length: len,
                area: area.kind.as_str().to_string(),
                format: format.as_str().to_string(),
            }),
            ..area.location.clone()
        });
        match why {
            None => {
                self.out.push_back(Item::Content(ContentItem {
                    record,
                    expected_len: Some(len),
                    content: Box::new(CarvedContent {
                        image: self.image.clone(),
                        runs,
                        noatime: self.noatime,
                    }),
                }));
                // Past the picture (the loop goes on at the next sector boundary).
                Some(p + len)
            }
            Some(why) => {
                record.conclude(
                    EntryDisposition::Skipped,
                    Some(Reason::new(
                        ReasonCode::CarvedFragment,
                        format!(
                            "a {} signature at media byte {offset} whose data is not a whole \
                             picture: {why}; {len} bytes examined (fragmented, truncated or \
                             overwritten); not hashed",
                            format.as_str().to_uppercase()
                        ),
                    )),
                );
                self.out.push_back(Item::Decided(record));
                Some(if over_budget { p + len } else { p + 1 })
            }
        }
    }

    /// Queues the record of a coalesced read failure, if any.
    fn flush_failure(&mut self, area: &Area, stream: &Stream) {
        let Some((start, end, message)) = self.failing.take() else { return };
        let runs = stream.media_runs(start, end - start);
        let mut path = area.prefix.clone();
        path.extend_from_slice(b"/$CarvedFiles");
        let mut record = EntryRecord::at(path);
        record.kind = EntryKind::Directory;
        record.location = Some(Location {
            byte_runs: runs.iter().map(|&(img_offset, len)| ByteRun { img_offset, len }).collect(),
            ..area.location.clone()
        });
        let first = runs.first().map_or(0, |r| r.0);
        record.conclude(
            EntryDisposition::Error,
            Some(Reason::new(
                ReasonCode::ReadFailed,
                format!(
                    "cannot read {} bytes of {} space from media byte {first} for carving: \
                     {message}; that range is not carved",
                    end - start,
                    area.kind.as_str()
                ),
            )),
        );
        self.out.push_back(Item::Decided(record));
    }
}

impl Iterator for Carver {
    type Item = Item;

    fn next(&mut self) -> Option<Item> {
        self.advance();
        self.out.pop_front()
    }
}

/// A carved picture's bytes, read through the image.
struct CarvedContent {
    image: Arc<dyn DiskImage>,
    runs: Vec<(u64, u64)>,
    noatime: bool,
}

impl Content for CarvedContent {
    fn open(self: Box<Self>) -> Result<OpenedContent, Reason> {
        let extents =
            self.runs.iter().map(|&(offset, len)| Extent::Media { offset, len }).collect();
        Ok(OpenedContent {
            reader: Box::new(DataReader::new(self.image, FileData::Extents(extents))),
            noatime: Some(self.noatime),
        })
    }
}

/// The media ranges of `[0, media)` outside `used` (volumes and table sectors), at least
/// one sector long.
pub fn gaps(media: u64, used: &[(u64, u64)]) -> Vec<(u64, u64)> {
    let mut used: Vec<(u64, u64)> =
        used.iter().map(|&(o, l)| (o.min(media), o.saturating_add(l).min(media))).collect();
    used.sort_unstable();
    let mut out = Vec::new();
    let mut at = 0u64;
    for (start, end) in used {
        if start > at && start - at >= ALIGN {
            out.push((at, start - at));
        }
        at = at.max(end);
    }
    if media > at && media - at >= ALIGN {
        out.push((at, media - at));
    }
    out
}

/// `ranges` (sorted, disjoint) without the bytes of `cut` (any order, may overlap).
pub fn subtract(ranges: &[(u64, u64)], mut cut: Vec<(u64, u64)>) -> Vec<(u64, u64)> {
    cut.sort_unstable();
    let mut out = Vec::new();
    let mut k = 0usize;
    for &(o, l) in ranges {
        let (mut at, end) = (o, o + l);
        // Cuts ending before this range cannot touch later ones either (both sorted).
        while k < cut.len() && cut[k].0.saturating_add(cut[k].1) <= at {
            k += 1;
        }
        let mut j = k;
        while at < end && j < cut.len() && cut[j].0 < end {
            let (cs, ce) = (cut[j].0, cut[j].0.saturating_add(cut[j].1));
            if cs > at {
                out.push((at, cs - at));
            }
            at = at.max(ce);
            j += 1;
        }
        if at < end {
            out.push((at, end - at));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn png(w: u32, h: u32, seed: u8) -> Vec<u8> {
        // Noise, so the PNG is about as large as its pixels.
        let mut state = u32::from(seed).wrapping_mul(2_654_435_761) | 1;
        let img = image::RgbImage::from_fn(w, h, |_, _| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let [a, b, c, _] = state.to_le_bytes();
            image::Rgb([a, b, c])
        });
        let mut out = Vec::new();
        img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png).unwrap();
        out
    }

    fn area(runs: Vec<(u64, u64)>) -> Area {
        Area {
            prefix: b"img/p1".to_vec(),
            location: Location::default(),
            kind: AreaKind::Unallocated,
            runs,
        }
    }

    fn carve(media: Vec<u8>, areas: Vec<Area>) -> Vec<(EntryRecord, Option<Vec<u8>>)> {
        let image: Arc<dyn DiskImage> = Arc::new(media);
        Carver::new(image, true, areas)
            .map(|item| match item {
                Item::Decided(r) => (r, None),
                Item::Content(c) => {
                    let mut buf = Vec::new();
                    c.content.open().unwrap().reader.read_to_end(&mut buf).unwrap();
                    (c.record, Some(buf))
                }
            })
            .collect()
    }

    #[test]
    fn whole_fragment_and_split_by_an_allocated_range() {
        let pic = png(40, 30, 7);
        let mut media = vec![0u8; 64 << 10];
        media[4096..4096 + pic.len()].copy_from_slice(&pic);
        // A truncated copy at 16384.
        media[16384..16384 + pic.len() / 2].copy_from_slice(&pic[..pic.len() / 2]);
        // A copy split around an "allocated" range 33280..34304.
        let other = png(30, 30, 3);
        let (a, b) = other.split_at(512);
        media[32768..33280].copy_from_slice(a);
        media[34304..34304 + b.len()].copy_from_slice(b);
        let runs = vec![(0, 33280), (34304, (64 << 10) - 34304)];
        let out = carve(media, vec![area(runs)]);
        let paths: Vec<String> = out.iter().map(|r| r.0.path_text().to_string()).collect();
        assert_eq!(
            paths,
            [
                "img/p1/$CarvedFiles/4096.png",
                "img/p1/$CarvedFiles/16384.png",
                "img/p1/$CarvedFiles/32768.png"
            ]
        );
        assert_eq!(out[0].1.as_deref(), Some(&pic[..]));
        let c = out[0].0.location.as_ref().unwrap().carved.clone().unwrap();
        assert_eq!((c.offset, c.length, c.area.as_str()), (4096, pic.len() as u64, "unallocated"));
        assert_eq!(out[1].0.reason.as_ref().unwrap().code, ReasonCode::CarvedFragment);
        assert_eq!(out[2].1.as_deref(), Some(&other[..]));
        let runs = &out[2].0.location.as_ref().unwrap().byte_runs;
        assert_eq!(runs.len(), 2);
        assert_eq!((runs[1].img_offset, runs[0].len), (34304, 512));
    }

    #[test]
    fn subtract_ranges() {
        let r = subtract(&[(0, 100), (200, 100)], vec![(250, 10), (50, 200), (90, 5)]);
        assert_eq!(r, [(0, 50), (260, 40)]);
        assert_eq!(subtract(&[(0, 10)], vec![]), [(0, 10)]);
    }

    #[test]
    fn gaps_outside_volumes_and_tables() {
        let g = gaps(100 << 10, &[(0, 512), (2048, 4096), (50 << 10, 10 << 10)]);
        assert_eq!(g, [(512, 1536), (6144, (50 << 10) - 6144), (60 << 10, 40 << 10)]);
        assert!(gaps(4096, &[(0, 4096)]).is_empty());
    }

    /// Free space where every sector starts `FF D8 FF E0 01 FE`: APP0 segments chained
    /// through every sector, so each sector holds a JPEG header whose structure runs to the
    /// end of the space. Retrying every sector would read the space once per sector
    /// (quadratic); the walk budget keeps it linear.
    #[test]
    fn hostile_nested_headers_stay_linear() {
        let mut media = vec![0u8; 32 << 20];
        for sector in media.chunks_mut(512) {
            sector[..6].copy_from_slice(&[0xFF, 0xD8, 0xFF, 0xE0, 0x01, 0xFE]);
        }
        let len = media.len() as u64;
        let out = carve(media, vec![area(vec![(0, len)])]);
        assert!(
            out.iter().all(|r| r.0.reason.as_ref().unwrap().code == ReasonCode::CarvedFragment)
        );
        // A few candidates walk to the end before the budget is spent, then one more.
        assert!(out.len() < 16, "{} records", out.len());
    }

    #[test]
    fn hostile_headers_never_panic() {
        // Every signature followed by junk, every truncation of each.
        let pic = png(8, 8, 5);
        let mut heads: Vec<Vec<u8>> = vec![
            pic.clone(),
            b"\xFF\xD8\xFF\xE0\x00\x10JFIF\x00".to_vec(),
            b"GIF89a\x01\x00\x01\x00\xF7\x00\x00".to_vec(),
            b"BM\x00\x00\x00\x10\x00\x00\x00\x00\x36\x00\x00\x00\x28\x00\x00\x00".to_vec(),
            b"RIFF\xFF\xFF\xFF\x7FWEBPVP8 \x10\x00\x00\x00".to_vec(),
        ];
        heads.push(
            [&b"\xFF\xD8\xFF\xDB\x00\x02\xFF\xC0\x00\x02\xFF\xDA\x00\x02"[..], &[0xFF; 600]]
                .concat(),
        );
        for head in heads {
            for cut in 0..head.len() {
                let mut media = vec![0u8; 4096];
                media[512..512 + cut].copy_from_slice(&head[..cut]);
                for b in &mut media[512 + cut..] {
                    *b = 0xA5;
                }
                let _ = carve(media, vec![area(vec![(0, 4096)])]);
            }
        }
    }
}
