//! A hashed video against reference sets: known videos (vPDQ frames stored in a `.mhset`)
//! by the vPDQ rules, and every sampled frame against the PDQ hashes of pictures.

use crate::perceptual::vpdq::{VpdqComparison, VpdqMatchOptions, compare_with_variants};
use crate::refset::{Disposition, RefSet, RefsetError};

use super::VideoHashes;

/// A known video whose frames match the seized video's by [`VpdqComparison::is_match`].
#[derive(Debug, Clone, PartialEq)]
pub struct VideoMatch {
    /// The known video's record in the set.
    pub record: u32,
    /// The set's name.
    pub set: String,
    /// Alert or ignore.
    pub disposition: Disposition,
    /// The video id (the list's name when imported from a vPDQ list).
    pub video_id: Option<String>,
    /// Both shares: `query_percent` of the seized video's frames, `target_percent` of the
    /// known video's.
    pub comparison: VpdqComparison,
    /// Which rule matched: `"reference"` (seized ≥ 80%: a copy or clip of the known video)
    /// or `"contains-known"` (known ≥ 80%: the seized video contains the known one).
    pub rule: &'static str,
}

/// A sampled frame of the seized video within the PDQ radius of a picture in a set.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameMatch {
    /// The frame's number.
    pub frame: u64,
    /// Its timestamp in seconds (the reference's, derived from the frame number).
    pub timestamp: f32,
    /// PDQ distance.
    pub distance: u32,
    /// Whether the frame's bar-trimmed hash matched (not the plain one).
    pub trimmed: bool,
    /// The picture's record in the set.
    pub record: u32,
    /// The set's name.
    pub set: String,
    /// Alert or ignore.
    pub disposition: Disposition,
    /// The record's id in its source (VICS MediaID, picture name...).
    pub source_id: Option<String>,
    /// The record's file name, as text.
    pub file_name: Option<String>,
}

/// Compares `video` with every known video of `set` and searches each sampled frame (of
/// quality ≥ `options.quality`) in the set's PDQ hashes within `options.distance`. Frame
/// matches against a known video's own frames are left out (the video match covers them).
/// Video matches come best first (larger sum of both shares, then record id); frame matches
/// by frame, then distance, then record.
pub fn match_video<B: AsRef<[u8]>>(
    set: &RefSet<B>,
    video: &VideoHashes,
    options: &VpdqMatchOptions,
) -> Result<(Vec<VideoMatch>, Vec<FrameMatch>), RefsetError> {
    let known = set.videos();
    let mut videos = Vec::new();
    for (record, frames) in &known {
        let c = compare_with_variants(&video.frames, &video.trimmed, frames, options);
        if !c.is_match(options) {
            continue;
        }
        let m = set.membership(*record)?;
        videos.push(VideoMatch {
            record: *record,
            set: m.set.name.clone(),
            disposition: m.set.disposition,
            video_id: m.meta.source_id.map(str::to_owned),
            comparison: c,
            rule: if c.is_reference_match(options) { "reference" } else { "contains-known" },
        });
    }
    videos.sort_by(|a, b| {
        let score = |m: &VideoMatch| m.comparison.query_percent + m.comparison.target_percent;
        score(b).total_cmp(&score(a)).then(a.record.cmp(&b.record))
    });
    let video_records: std::collections::HashSet<u32> = known.iter().map(|(r, _)| *r).collect();
    let mut frames = Vec::new();
    for f in video.frames.iter().filter(|f| f.quality >= options.quality) {
        let mut needles = vec![f.hash.0];
        if let Ok(i) = video.trimmed.binary_search_by_key(&f.frame, |t| t.frame)
            && video.trimmed[i].quality >= options.quality
        {
            needles.push(video.trimmed[i].hash.0);
        }
        for hit in set.search_pdq_needles(&needles, options.distance) {
            for m in set.memberships(hit.entry)? {
                if video_records.contains(&m.record) {
                    continue;
                }
                frames.push(FrameMatch {
                    frame: f.frame,
                    timestamp: f.timestamp,
                    distance: hit.distance,
                    trimmed: hit.needle == 1,
                    record: m.record,
                    set: m.set.name.clone(),
                    disposition: m.set.disposition,
                    source_id: m.meta.source_id.map(str::to_owned),
                    file_name: m.meta.file_name.map(|n| String::from_utf8_lossy(n).into_owned()),
                });
            }
        }
    }
    // One match per (frame, record): the smallest distance.
    frames.sort_by_key(|m| (m.frame, m.record, m.distance));
    frames.dedup_by(|a, b| a.frame == b.frame && a.record == b.record);
    frames.sort_by_key(|m| (m.frame, m.distance, m.record));
    Ok((videos, frames))
}
