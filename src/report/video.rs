//! What a report says about a video: its stream, its vPDQ summary, the known videos it
//! matched (both shares) and the frames that matched pictures (with their timestamps).

use serde::{Deserialize, Serialize};

use crate::refset::Disposition;

/// A video's part of its entry record.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VideoRecord {
    /// The container its first bytes name (`mp4`, `matroska`, ...).
    pub container: String,
    /// ffprobe's demuxer name (`mov,mp4,m4a,3gp,3g2,mj2`); empty when not probed.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub format: String,
    /// The video codec (`h264`, `hevc`, ...).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub codec: String,
    /// Frame width in pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    /// Frame height in pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// The frame rate vPDQ used (`30000/1001`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub frame_rate: String,
    /// Declared duration in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<f64>,
    /// Sampling interval in seconds (0: every frame).
    pub seconds_per_hash: f64,
    /// Frames hashed.
    pub frames_hashed: u64,
    /// Of those, frames of quality ≥ 50 (the ones matching uses).
    pub frames_usable: u64,
    /// Distinct hashes among the usable frames.
    pub distinct_hashes: u64,
    /// Why the list may differ from Meta's vpdq on the same file (empty: equal).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_vpdq_equal: Vec<String>,
    /// `ffmpeg -version`'s first line.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub ffmpeg_version: String,
    /// Known videos matched, best first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub video_matches: Vec<VideoMatchRecord>,
    /// Sampled frames matching pictures of the sets, by frame.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub frame_matches: Vec<FrameMatchRecord>,
    /// Why the video was not hashed (then the entry is an error with this reason).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

// Floats here are finite by construction (percentages, seconds): equality is total.
impl Eq for VideoRecord {}

/// A known video matched by the vPDQ rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VideoMatchRecord {
    /// Index of the reference set in the header's list.
    pub reference: usize,
    /// The set's name.
    pub set: String,
    /// Alert or ignore.
    pub disposition: Disposition,
    /// The known video's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_id: Option<String>,
    /// Share of the seized video's usable distinct frames matched, percent.
    pub query_percent: f64,
    /// Share of the known video's usable distinct frames matched, percent.
    pub known_percent: f64,
    /// `reference` (seized ≥ 80%) or `contains-known` (known ≥ 80%).
    pub rule: String,
}

/// A sampled frame that matched a picture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrameMatchRecord {
    /// Frame number.
    pub frame: u64,
    /// Its timestamp in seconds (frame number / frame rate, 3 decimals as the reference).
    pub timestamp: f64,
    /// PDQ distance.
    pub distance: u32,
    /// Whether the frame's bar-trimmed hash matched.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub trimmed: bool,
    /// Index of the reference set in the header's list.
    pub reference: usize,
    /// The set's name.
    pub set: String,
    /// Alert or ignore.
    pub disposition: Disposition,
    /// The picture's id in its source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_id: Option<String>,
    /// The picture's file name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
}

impl VideoRecord {
    /// Whether any video or frame match has this disposition.
    pub fn has(&self, d: Disposition) -> bool {
        self.video_matches.iter().any(|m| m.disposition == d)
            || self.frame_matches.iter().any(|m| m.disposition == d)
    }

    /// One line for CSV, DFXML and CASE: the stream, the vPDQ summary and the best video
    /// match.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "{} {} {}x{} @{} fps, {} frames hashed every {} s ({} usable, {} distinct){}",
            self.container,
            self.codec,
            self.width.unwrap_or(0),
            self.height.unwrap_or(0),
            self.frame_rate,
            self.frames_hashed,
            self.seconds_per_hash,
            self.frames_usable,
            self.distinct_hashes,
            if self.not_vpdq_equal.is_empty() { "" } else { ", not vpdq-equal" }
        );
        if let Some(m) = self.video_matches.first() {
            s.push_str(&format!(
                "; best video match {} in {} ({}: seized {:.1}%, known {:.1}%)",
                m.video_id.as_deref().unwrap_or("?"),
                m.set,
                m.rule,
                m.query_percent,
                m.known_percent
            ));
        }
        if !self.frame_matches.is_empty() {
            let first = &self.frame_matches[0];
            s.push_str(&format!(
                "; {} frame match(es), first at {:.3} s ({} in {})",
                self.frame_matches.len(),
                first.timestamp,
                first.file_name.as_deref().or(first.source_id.as_deref()).unwrap_or("?"),
                first.set
            ));
        }
        if let Some(e) = &self.error {
            s = format!("{}: {e}", self.container);
        }
        s
    }
}
