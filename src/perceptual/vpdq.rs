//! vPDQ: Meta's video hash (ThreatExchange `vpdq`), computed from decoded RGB frames.
//!
//! A video's vPDQ is the PDQ hash and quality of frames sampled at a fixed step: with
//! `fps` the stream's average frame rate and `seconds_per_hash` the sampling interval
//! (default 1 s), the step is `K = max(1, trunc(seconds_per_hash * fps))` and the frames
//! hashed are those whose 0-based decode-order number `n` has `n % K == 0`; each carries
//! the timestamp `n / fps` computed in `f32` as the reference does (derived from the frame
//! number, **not** the frame's presentation time). Nothing is dropped at hash time: the
//! reference removes duplicates only when matching. [`VpdqHasher`] takes frames in decode
//! order and gives the list; [`crate::video`] decodes files through the `ffmpeg` program.
//!
//! [`compare`] is the reference's matching (python-threatexchange's brute matcher): each
//! side's frames of quality ≥ 50, deduplicated by hash, and the share of each side's frames
//! that have any frame of the other side within PDQ distance 31. Both shares are reported.
//! [`VpdqComparison::is_reference_match`] is python-threatexchange's verdict (query ≥ 80%);
//! [`VpdqComparison::contains_known`] the rule that finds a short known clip inside a long
//! seized video (known side ≥ 80%), which the reference's default misses.
//!
//! [`parse_list`] and [`write_list`] read and write the reference's text format (one line
//! per frame, `frame,quality,hex,timestamp`, timestamp with 3 decimals).

use std::collections::HashSet;
use std::fmt::Write as _;

use thiserror::Error;

use super::pdq::{PdqConvention, PdqError, PdqHash, pdq_from_rgb};

/// The reference's default sampling interval: one hashed frame per second.
pub const DEFAULT_SECONDS_PER_HASH: f64 = 1.0;
/// The reference's PDQ distance for two frames to match (inclusive, python-threatexchange).
pub const DEFAULT_DISTANCE: u32 = 31;
/// The reference's frame quality threshold: frames below it take no part in matching.
pub const DEFAULT_QUALITY: u8 = 50;
/// The reference's share (percent) of frames that must be matched (python-threatexchange's
/// query side; the README's known side).
pub const DEFAULT_PERCENT: f64 = 80.0;
/// The most frames one list may hold (a bound on memory for hostile or absurd inputs:
/// 10 hours at 60 frames per second hashed every frame is 2.16 million).
pub const MAX_FRAMES: usize = 4_000_000;

/// One hashed frame of a video.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VpdqFrame {
    /// 0-based number of the frame in decode order.
    pub frame: u64,
    /// PDQ quality, 0–100.
    pub quality: u8,
    /// PDQ hash of the whole frame.
    pub hash: PdqHash,
    /// Seconds: `frame / fps` in `f32`, as the reference computes it (not the frame's
    /// presentation time: never use it as evidence of position in a variable-rate file).
    pub timestamp: f32,
}

/// The reference's sampling step for `seconds_per_hash` at `fps` frames per second:
/// `trunc(seconds_per_hash * fps)` in double precision, at least 1 (0 s = every frame).
pub fn frame_step(seconds_per_hash: f64, fps: f64) -> u64 {
    let k = seconds_per_hash * fps;
    // `as` saturates (NaN → 0), and the reference's int cast truncates the same way for
    // every value a real frame rate gives.
    (k as u64).max(1)
}

/// The reference's timestamp of frame `frame` at `fps`: both cast to `f32`, then divided.
pub fn frame_timestamp(frame: u64, fps: f64) -> f32 {
    frame as f32 / fps as f32
}

/// Samples frames in decode order and hashes the ones the step selects.
#[derive(Debug)]
pub struct VpdqHasher {
    width: u32,
    height: u32,
    fps: f64,
    step: u64,
    next: u64,
    frames: Vec<VpdqFrame>,
    trim_bars: bool,
    trimmed: Vec<VpdqFrame>,
}

/// A frame that could not be taken.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum VpdqError {
    /// The frame's pixels could not be hashed (wrong buffer length, zero size).
    #[error("frame {frame} cannot be hashed: {source}")]
    Pdq {
        /// Frame number.
        frame: u64,
        /// Why.
        source: PdqError,
    },
    /// More than [`MAX_FRAMES`] hashed frames.
    #[error(
        "more than {max} hashed frames: sample less often (a larger seconds-per-hash) for a video this long"
    )]
    TooManyFrames {
        /// The limit.
        max: usize,
    },
}

impl VpdqHasher {
    /// A hasher for frames of `width` x `height` RGB24 pixels from a stream of `fps` frames
    /// per second, sampled every `seconds_per_hash` seconds (0: every frame).
    pub fn new(width: u32, height: u32, fps: f64, seconds_per_hash: f64) -> VpdqHasher {
        VpdqHasher {
            width,
            height,
            fps,
            step: frame_step(seconds_per_hash, fps),
            next: 0,
            frames: Vec::new(),
            trim_bars: false,
            trimmed: Vec::new(),
        }
    }

    /// Also hashes each sampled frame with its dark bars (letterbox, pillarbox) cut off
    /// ([`dark_bars`]), for matching only: those hashes go to [`VpdqHasher::trimmed`],
    /// never into the reference-equal list.
    pub fn with_trimmed_bars(mut self, on: bool) -> VpdqHasher {
        self.trim_bars = on;
        self
    }

    /// The bar-trimmed hashes of the frames that had bars (see
    /// [`VpdqHasher::with_trimmed_bars`]), ascending.
    pub fn trimmed(&self) -> &[VpdqFrame] {
        &self.trimmed
    }

    /// The sampling step K.
    pub fn step(&self) -> u64 {
        self.step
    }

    /// Takes the next frame in decode order (`rgb`: rows top to bottom, 3 bytes per pixel,
    /// no padding), hashing it when the step selects it.
    pub fn push(&mut self, rgb: &[u8]) -> Result<(), VpdqError> {
        let n = self.next;
        self.next += 1;
        if n.is_multiple_of(self.step) { self.hash(n, rgb) } else { Ok(()) }
    }

    /// Takes the next *sampled* frame, for callers whose decoder already dropped the frames
    /// in between (`ffmpeg -vf select`): it is frame `k * step`, the next after it `(k + 1) *
    /// step`. Do not mix with [`VpdqHasher::push`].
    pub fn push_sampled(&mut self, rgb: &[u8]) -> Result<(), VpdqError> {
        let n = self.next.next_multiple_of(self.step);
        self.next = n.saturating_add(self.step);
        self.hash(n, rgb)
    }

    fn hash(&mut self, n: u64, rgb: &[u8]) -> Result<(), VpdqError> {
        if self.frames.len() >= MAX_FRAMES {
            return Err(VpdqError::TooManyFrames { max: MAX_FRAMES });
        }
        let r = pdq_from_rgb(self.width, self.height, rgb, PdqConvention::FullResolution)
            .map_err(|source| VpdqError::Pdq { frame: n, source })?;
        let timestamp = frame_timestamp(n, self.fps);
        self.frames.push(VpdqFrame { frame: n, quality: r.quality, hash: r.hash, timestamp });
        if self.trim_bars
            && let Some((x, y, w, h)) = dark_bars(self.width, self.height, rgb)
        {
            let (width, x, y) = (self.width as usize, x as usize, y as usize);
            let mut inner = Vec::with_capacity(w as usize * h as usize * 3);
            for row in y..y + h as usize {
                let start = (row * width + x) * 3;
                inner.extend_from_slice(&rgb[start..start + w as usize * 3]);
            }
            let t = pdq_from_rgb(w, h, &inner, PdqConvention::FullResolution)
                .map_err(|source| VpdqError::Pdq { frame: n, source })?;
            self.trimmed.push(VpdqFrame { frame: n, quality: t.quality, hash: t.hash, timestamp });
        }
        Ok(())
    }

    /// Frames taken so far, hashed or not (after [`VpdqHasher::push_sampled`]: up to the
    /// next sampled frame).
    pub fn frames_seen(&self) -> u64 {
        self.next
    }

    /// The hashed frames, ascending by frame number.
    pub fn finish(self) -> Vec<VpdqFrame> {
        self.frames
    }
}

/// Luma at or below which a bar pixel counts as dark (0-255; ffmpeg's `cropdetect` uses 24
/// on limited-range video, whose black is 16).
const BAR_LUMA: u32 = 32;

/// The rectangle `(x, y, width, height)` left when the rows and columns at the edges whose
/// every pixel is dark (luma ≤ 32) are cut off, or `None` when there are none, or when less
/// than half of either side would remain (a dark frame, not bars). Bars under 1% of a side
/// are ignored (encoder edge noise).
pub fn dark_bars(width: u32, height: u32, rgb: &[u8]) -> Option<(u32, u32, u32, u32)> {
    let (w, h) = (width as usize, height as usize);
    if w < 8 || h < 8 || rgb.len() != w * h * 3 {
        return None;
    }
    let dark = |x: usize, y: usize| {
        let p = &rgb[(y * w + x) * 3..][..3];
        (299 * u32::from(p[0]) + 587 * u32::from(p[1]) + 114 * u32::from(p[2])) / 1000 <= BAR_LUMA
    };
    let row_dark = |y: usize| (0..w).all(|x| dark(x, y));
    let top = (0..h).take_while(|&y| row_dark(y)).count();
    if top * 2 >= h {
        return None;
    }
    let bottom = (top..h).rev().take_while(|&y| row_dark(y)).count();
    let col_dark = |x: usize| (top..h - bottom).all(|y| dark(x, y));
    let left = (0..w).take_while(|&x| col_dark(x)).count();
    if left * 2 >= w {
        return None;
    }
    let right = (left..w).rev().take_while(|&x| col_dark(x)).count();
    let keep = |a: usize, side: usize| if a * 100 < side { 0 } else { a };
    let (top, bottom) = (keep(top, h), keep(bottom, h));
    let (left, right) = (keep(left, w), keep(right, w));
    let (iw, ih) = (w - left - right, h - top - bottom);
    if top + bottom + left + right == 0 || iw * 2 < w || ih * 2 < h {
        return None;
    }
    Some((left as u32, top as u32, iw as u32, ih as u32))
}

/// A line of a vPDQ list that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum VpdqParseError {
    /// Fewer than four comma-separated fields.
    #[error(
        "line {line}: expected `frame,quality,pdq-hex,timestamp` (the vpdq reference's format), found {fields} field(s)"
    )]
    Fields {
        /// 1-based line number.
        line: usize,
        /// Fields found.
        fields: usize,
    },
    /// A field that is not what its position needs.
    #[error("line {line}: {field} {value:?} is not valid: {what}")]
    Field {
        /// 1-based line number.
        line: usize,
        /// Which field.
        field: &'static str,
        /// The text (shortened).
        value: String,
        /// What it must be.
        what: &'static str,
    },
    /// No frame line at all (the reference refuses an empty file too).
    #[error(
        "no frame lines: a vpdq list holds one `frame,quality,pdq-hex,timestamp` line per hashed frame"
    )]
    Empty,
    /// More than [`MAX_FRAMES`] lines.
    #[error("more than {max} frame lines in one list: split it")]
    TooManyFrames {
        /// The limit.
        max: usize,
    },
}

/// Reads a list in the reference's text format (`vpdq-hash-video` output): one line per
/// frame, `frameNumber,quality,pdqHex,timestamp`; blank lines and lines starting with `#`
/// are skipped, extra fields ignored (the reference reads the first four).
pub fn parse_list(text: &str) -> Result<Vec<VpdqFrame>, VpdqParseError> {
    let mut frames = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let l = raw.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = l.split(',').map(str::trim).collect();
        if fields.len() < 4 {
            return Err(VpdqParseError::Fields { line, fields: fields.len() });
        }
        let bad = |field: &'static str, value: &str, what: &'static str| VpdqParseError::Field {
            line,
            field,
            value: value.chars().take(80).collect(),
            what,
        };
        let frame: u64 =
            fields[0].parse().map_err(|_| bad("frame", fields[0], "a frame number (0 or more)"))?;
        let quality: u8 = fields[1]
            .parse()
            .ok()
            .filter(|q| *q <= 100)
            .ok_or_else(|| bad("quality", fields[1], "a PDQ quality 0-100"))?;
        let hash = PdqHash::from_hex(fields[2])
            .map_err(|_| bad("hash", fields[2], "64 hexadecimal digits"))?;
        let timestamp: f32 = fields[3]
            .parse()
            .ok()
            .filter(|t: &f32| t.is_finite() && *t >= 0.0)
            .ok_or_else(|| bad("timestamp", fields[3], "seconds, 0 or more"))?;
        if frames.len() >= MAX_FRAMES {
            return Err(VpdqParseError::TooManyFrames { max: MAX_FRAMES });
        }
        frames.push(VpdqFrame { frame, quality, hash, timestamp });
    }
    if frames.is_empty() {
        return Err(VpdqParseError::Empty);
    }
    Ok(frames)
}

/// Writes frames in the reference's text format, byte for byte as `vpdq-hash-video` writes
/// them (and as `f"{n},{q},{hex},{t:.3f}"` over the Python package's features).
pub fn write_list(frames: &[VpdqFrame]) -> String {
    let mut out = String::with_capacity(frames.len() * 80);
    for f in frames {
        // The reference prints the f32 timestamp widened to double with %.3f.
        let _ = writeln!(out, "{},{},{},{:.3}", f.frame, f.quality, f.hash, f64::from(f.timestamp));
    }
    out
}

/// How two frame lists are compared.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VpdqMatchOptions {
    /// Frames match within this PDQ distance (inclusive). Default 31.
    pub distance: u32,
    /// Frames below this quality take no part. Default 50.
    pub quality: u8,
    /// Query-side share (percent) for the reference's verdict. Default 80.
    pub query_percent: f64,
    /// Known-side share (percent) for the reference's verdict. Default 0.
    pub target_percent: f64,
    /// Known-side share (percent) for the clip rule ([`VpdqComparison::contains_known`]).
    /// Default 80.
    pub contains_percent: f64,
}

impl Default for VpdqMatchOptions {
    fn default() -> Self {
        VpdqMatchOptions {
            distance: DEFAULT_DISTANCE,
            quality: DEFAULT_QUALITY,
            query_percent: DEFAULT_PERCENT,
            target_percent: 0.0,
            contains_percent: DEFAULT_PERCENT,
        }
    }
}

/// The outcome of comparing a query video (seized) with a target video (known).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VpdqComparison {
    /// Distinct query hashes of quality ≥ the threshold.
    pub query_frames: usize,
    /// Distinct target hashes of quality ≥ the threshold.
    pub target_frames: usize,
    /// Of those query hashes, how many are within the distance of some target hash.
    pub query_matched: usize,
    /// Of those target hashes, how many are within the distance of some query hash.
    pub target_matched: usize,
    /// `100 * query_matched / query_frames` (0 when there is no query frame; the reference
    /// divides by zero there).
    pub query_percent: f64,
    /// `100 * target_matched / target_frames` (0 when there is no target frame).
    pub target_percent: f64,
}

impl VpdqComparison {
    /// python-threatexchange's verdict: query share ≥ `query_percent` and target share ≥
    /// `target_percent` (defaults 80 and 0): the seized video is (a clip of) the known one.
    pub fn is_reference_match(&self, options: &VpdqMatchOptions) -> bool {
        self.query_frames > 0
            && self.target_frames > 0
            && self.query_percent >= options.query_percent
            && self.target_percent >= options.target_percent
    }

    /// The clip rule: the known side's share ≥ `contains_percent` (default 80): the seized
    /// video contains (most of) the known video, however long the seized one is. The vpdq
    /// README's example rule; python-threatexchange's default misses this case.
    pub fn contains_known(&self, options: &VpdqMatchOptions) -> bool {
        self.query_frames > 0
            && self.target_frames > 0
            && self.target_percent >= options.contains_percent
    }

    /// Either rule: what `mh` reports as a video match.
    pub fn is_match(&self, options: &VpdqMatchOptions) -> bool {
        self.is_reference_match(options) || self.contains_known(options)
    }
}

/// Distinct hashes of quality ≥ `quality`, in first-seen order, as python-threatexchange
/// takes them: deduplicated by hash first (the first occurrence kept), then filtered by
/// quality, so a hash first seen at a low quality is left out even where it recurs at a
/// higher one.
pub fn usable_hashes(frames: &[VpdqFrame], quality: u8) -> Vec<PdqHash> {
    usable_frames(frames, quality).map(|f| f.hash).collect()
}

/// The frames behind [`usable_hashes`].
fn usable_frames(frames: &[VpdqFrame], quality: u8) -> impl Iterator<Item = &VpdqFrame> {
    let mut seen = HashSet::new();
    frames.iter().filter(move |f| seen.insert(f.hash) && f.quality >= quality)
}

fn near(a: &PdqHash, b: &[PdqHash], distance: u32) -> bool {
    b.iter().any(|y| a.distance(y) <= distance)
}

fn percent(n: usize, of: usize) -> f64 {
    if of == 0 { 0.0 } else { n as f64 * 100.0 / of as f64 }
}

/// Compares a query (seized) video's frames with a target (known) video's, as
/// python-threatexchange's brute matcher does. Brute force: O(query × target) distances
/// (distinct hashes only), fine for lists of thousands of frames.
pub fn compare(
    query: &[VpdqFrame],
    target: &[VpdqFrame],
    options: &VpdqMatchOptions,
) -> VpdqComparison {
    compare_with_variants(query, &[], target, options)
}

/// [`compare`] where some query frames also have a second hash (`variants`, same frame
/// numbers: the bar-trimmed hashes of [`VpdqHasher::trimmed`]): a query frame is matched
/// when its hash or its variant is within the distance of a target frame, and a target
/// frame when some query hash or variant is. With no variants this is [`compare`].
pub fn compare_with_variants(
    query: &[VpdqFrame],
    variants: &[VpdqFrame],
    target: &[VpdqFrame],
    options: &VpdqMatchOptions,
) -> VpdqComparison {
    let t = usable_hashes(target, options.quality);
    // Query frames deduplicated by hash, each with its usable variant.
    let groups: Vec<(PdqHash, Option<PdqHash>)> = usable_frames(query, options.quality)
        .map(|f| {
            let variant = variants
                .binary_search_by_key(&f.frame, |v| v.frame)
                .ok()
                .map(|i| variants[i])
                .filter(|v| v.quality >= options.quality)
                .map(|v| v.hash);
            (f.hash, variant)
        })
        .collect();
    let d = options.distance;
    let query_matched =
        groups.iter().filter(|(h, v)| near(h, &t, d) || v.is_some_and(|v| near(&v, &t, d))).count();
    let all_query: Vec<PdqHash> =
        groups.iter().flat_map(|(h, v)| std::iter::once(*h).chain(*v)).collect();
    let target_matched = t.iter().filter(|x| near(x, &all_query, d)).count();
    VpdqComparison {
        query_frames: groups.len(),
        target_frames: t.len(),
        query_matched,
        target_matched,
        query_percent: percent(query_matched, groups.len()),
        target_percent: percent(target_matched, t.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(n: u64, q: u8, byte: u8) -> VpdqFrame {
        VpdqFrame { frame: n, quality: q, hash: PdqHash([byte; 32]), timestamp: n as f32 / 30.0 }
    }

    #[test]
    fn step_and_timestamp_follow_the_reference() {
        assert_eq!(frame_step(1.0, 30000.0 / 1001.0), 29);
        assert_eq!(frame_step(1.0, 0.5), 1);
        assert_eq!(frame_step(0.0, 25.0), 1);
        assert_eq!(frame_step(0.7, 30.0), 21);
        assert_eq!(format!("{:.3}", f64::from(frame_timestamp(29, 30000.0 / 1001.0))), "0.968");
    }

    #[test]
    fn list_text_round_trips_and_bad_lines_are_typed() {
        let frames = vec![frame(0, 100, 0x0f), frame(29, 49, 0xf0)];
        let text = write_list(&frames);
        assert!(text.starts_with("0,100,0f0f"), "{text}");
        assert!(text.ends_with(",0.967\n"), "{text}");
        let back = parse_list(&text).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(back[1].hash, frames[1].hash);
        assert_eq!(parse_list(""), Err(VpdqParseError::Empty));
        assert!(matches!(parse_list("1,2,3"), Err(VpdqParseError::Fields { line: 1, fields: 3 })));
        assert!(matches!(
            parse_list(&format!("0,101,{},0.0", "00".repeat(32))),
            Err(VpdqParseError::Field { field: "quality", .. })
        ));
        assert!(matches!(
            parse_list("0,100,zz,0.0"),
            Err(VpdqParseError::Field { field: "hash", .. })
        ));
    }

    #[test]
    fn comparison_reports_both_shares_and_both_rules() {
        // Known: 2 distinct frames; seized: 10 distinct frames, 2 of them the known ones.
        let known = vec![frame(0, 100, 1), frame(30, 100, 2), frame(60, 100, 2)];
        let mut seized: Vec<VpdqFrame> = (0..8).map(|i| frame(i, 100, 0x10 + i as u8)).collect();
        seized.push(frame(8, 100, 1));
        seized.push(frame(9, 100, 2));
        let o = VpdqMatchOptions::default();
        let c = compare(&seized, &known, &o);
        assert_eq!((c.query_frames, c.target_frames), (10, 2));
        assert_eq!((c.query_matched, c.target_matched), (2, 2));
        assert!(!c.is_reference_match(&o));
        assert!(c.contains_known(&o));
        // Quality below 50 drops out; no usable frame is never a match.
        let dark = vec![frame(0, 10, 1)];
        let c = compare(&dark, &known, &o);
        assert_eq!((c.query_frames, c.query_percent), (0, 0.0));
        assert!(!c.is_match(&o));
    }
}
