//! Videos: frames decoded by the `ffmpeg` program in a child process, hashed as vPDQ.
//!
//! mediahash links no video decoder. Each video is probed by `ffprobe` and decoded by
//! `ffmpeg`, run as child processes that pipe raw RGB24 frames back: a hostile file can crash
//! or hang the child, never the caller. Each child runs in its own process group under an
//! address-space limit (`setrlimit(RLIMIT_AS)`, default [`DEFAULT_MEMORY_LIMIT`]) and no
//! core dumps; a wall-time limit per video (default [`DEFAULT_TIME_LIMIT`]) and the caller's
//! cancel flag kill the whole group, and no child outlives the call (the group is killed
//! and reaped on every path out, errors and panics included).
//!
//! The command reproduces the `vpdq` reference (vpdq 0.2.5 on FFmpeg 5.1, x86-64; see
//! `docs/video.md`): the first video stream by index, slice threads only, rotation metadata
//! ignored, no frame-rate conversion, area scaling, the stream converted as BT.601 with the
//! range of its pixel format (full for `yuvj*`, else limited) whatever its tags. The frames
//! the step skips are dropped inside ffmpeg (`select`), so only sampled frames cross the
//! pipe. Where the output can differ from the reference's, [`VideoHashes::not_vpdq_equal`]
//! says why.
//!
//! Inputs are opened as `file:` URLs with only the `file` protocol allowed and only the
//! demuxers of [`DEMUXERS`], so a playlist or concat file on seized media cannot make ffmpeg
//! open other files or the network.

mod child;
pub mod ffmpeg;
pub mod matching;
pub mod spool;

use std::path::Path;

use crate::perceptual::vpdq::{DEFAULT_SECONDS_PER_HASH, VpdqError, VpdqFrame, VpdqHasher};

pub use ffmpeg::{
    DEFAULT_MAX_PIXELS, DEFAULT_MEMORY_LIMIT, DEFAULT_TIME_LIMIT, DEMUXERS, FfmpegOptions,
    Toolchain, VideoError, VideoInfo,
};

/// How a video is hashed.
#[derive(Debug, Clone)]
pub struct VideoOptions {
    /// The programs and their limits.
    pub ffmpeg: FfmpegOptions,
    /// Sampling interval in seconds (0: every frame). Default 1, as the reference.
    pub seconds_per_hash: f64,
    /// Also hash each sampled frame with its dark bars cut off
    /// ([`VideoHashes::trimmed`], for matching letterboxed copies). Default true.
    pub trim_bars: bool,
    /// Largest video inside a disk image or archive that a scan copies into memory to
    /// decode it ([`spool`]). Default [`spool::DEFAULT_SPOOL_LIMIT`].
    pub spool_limit: u64,
}

impl Default for VideoOptions {
    fn default() -> Self {
        VideoOptions {
            ffmpeg: FfmpegOptions::default(),
            seconds_per_hash: DEFAULT_SECONDS_PER_HASH,
            trim_bars: true,
            spool_limit: spool::DEFAULT_SPOOL_LIMIT,
        }
    }
}

/// A video's vPDQ and what it was computed from.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoHashes {
    /// The stream that was hashed, as `ffprobe` describes it.
    pub info: VideoInfo,
    /// Sampling interval in seconds.
    pub seconds_per_hash: f64,
    /// The reference's step: every `step`-th decoded frame is hashed.
    pub step: u64,
    /// The hashed frames, ascending: the vPDQ list.
    pub frames: Vec<VpdqFrame>,
    /// For the frames with dark bars (letterbox, pillarbox), the hash with the bars cut off
    /// ([`crate::perceptual::vpdq::dark_bars`]): not part of the vPDQ list, used by
    /// [`crate::perceptual::vpdq::compare_with_variants`] to match letterboxed copies.
    pub trimmed: Vec<VpdqFrame>,
    /// Why this list may differ from the `vpdq` package's on the same file (empty: it is
    /// computed as the reference computes it).
    pub not_vpdq_equal: Vec<String>,
    /// ffmpeg's own messages (errors it reported while decoding), shortened.
    pub decoder_messages: String,
}

/// Probes and hashes the video at `path` (vPDQ at `options.seconds_per_hash`).
pub fn hash_video_file(path: &Path, options: &VideoOptions) -> Result<VideoHashes, VideoError> {
    let deadline = options.ffmpeg.deadline();
    let info = ffmpeg::probe(path, &options.ffmpeg, deadline)?;
    let mut hasher = VpdqHasher::new(info.width, info.height, info.fps, options.seconds_per_hash)
        .with_trimmed_bars(options.trim_bars);
    let step = hasher.step();
    let mut failure: Option<VpdqError> = None;
    let outcome = ffmpeg::decode(path, &info, step, &options.ffmpeg, deadline, |rgb| match hasher
        .push_sampled(rgb)
    {
        Ok(()) => true,
        Err(e) => {
            failure = Some(e);
            false
        }
    })?;
    if let Some(e) = failure {
        return Err(VideoError::Frame { source: e });
    }
    let trimmed = hasher.trimmed().to_vec();
    let frames = hasher.finish();
    let mut not_vpdq_equal = Vec::new();
    if info.width < 5 || info.height < 5 {
        not_vpdq_equal.push(format!(
            "frames of {}x{} pixels: the reference refuses sides under 5 pixels (here quality 0)",
            info.width, info.height
        ));
    }
    if !outcome.messages.is_empty() || outcome.status_failed {
        not_vpdq_equal.push(
            "ffmpeg reported decoding errors: the reference stops at the first one and gives no \
             hash, mediahash keeps the frames ffmpeg recovered"
                .to_string(),
        );
    }
    if info.stream_index != 0 && info.has_b_frames > 0 {
        not_vpdq_equal.push(format!(
            "video is stream {} with {} delayed frame(s): the reference never drains the \
             decoder then and loses the last {} frame(s)",
            info.stream_index, info.has_b_frames, info.has_b_frames
        ));
    }
    if frames.is_empty() && outcome.status_failed {
        return Err(VideoError::Ffmpeg { status: outcome.status, message: outcome.messages });
    }
    Ok(VideoHashes {
        info,
        seconds_per_hash: options.seconds_per_hash,
        step,
        frames,
        trimmed,
        not_vpdq_equal,
        decoder_messages: outcome.messages,
    })
}

/// The container a file's first bytes name, when it is one that holds video (by content,
/// never by name): `"mp4"` (ISO BMFF / QuickTime, not HEIF/AVIF pictures), `"matroska"`,
/// `"avi"`, `"flv"`, `"mpegts"`, `"mpeg-ps"`, `"mpeg-video"`, `"asf"`, `"ogg"`, `"y4m"`,
/// `"ivf"`. A file that sniffs as one may still hold no video stream (audio only): probing
/// says so ([`VideoError::NoVideoStream`]). Needs the first 400 bytes or all of a shorter
/// file.
pub fn sniff_container(prefix: &[u8]) -> Option<&'static str> {
    let at = |i: usize, magic: &[u8]| prefix.get(i..i + magic.len()) == Some(magic);
    if at(4, b"ftyp") {
        let brand = prefix.get(8..12)?;
        let pictures: [&[u8]; 8] =
            [b"heic", b"heix", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis"];
        return (!pictures.contains(&brand)).then_some("mp4");
    }
    if at(4, b"moov") || at(4, b"mdat") || at(4, b"wide") || at(4, b"free") && at(12, b"mdat") {
        return Some("mp4");
    }
    if at(0, &[0x1A, 0x45, 0xDF, 0xA3]) {
        return Some("matroska");
    }
    if at(0, b"RIFF") && at(8, b"AVI ") {
        return Some("avi");
    }
    if at(0, b"FLV\x01") {
        return Some("flv");
    }
    if prefix.len() >= 377 && prefix[0] == 0x47 && prefix[188] == 0x47 && prefix[376] == 0x47 {
        return Some("mpegts");
    }
    if at(0, &[0, 0, 1, 0xBA]) {
        return Some("mpeg-ps");
    }
    if at(0, &[0, 0, 1, 0xB3]) {
        return Some("mpeg-video");
    }
    if at(0, &[0x30, 0x26, 0xB2, 0x75, 0x8E, 0x66, 0xCF, 0x11]) {
        return Some("asf");
    }
    if at(0, b"OggS") {
        return Some("ogg");
    }
    if at(0, b"YUV4MPEG2 ") {
        return Some("y4m");
    }
    if at(0, b"DKIF") {
        return Some("ivf");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::sniff_container;

    #[test]
    fn containers_are_recognised_by_content() {
        assert_eq!(sniff_container(b"\0\0\0\x20ftypisom\0\0\x02\0"), Some("mp4"));
        assert_eq!(sniff_container(b"\0\0\0\x1cftypheic\0\0\0\0"), None);
        assert_eq!(sniff_container(&[0x1A, 0x45, 0xDF, 0xA3, 1]), Some("matroska"));
        assert_eq!(sniff_container(b"RIFF\0\0\0\0AVI LIST"), Some("avi"));
        assert_eq!(sniff_container(b"RIFF\0\0\0\0WEBPVP8 "), None);
        assert_eq!(sniff_container(b"\xff\xd8\xff\xe0"), None);
        assert_eq!(sniff_container(b""), None);
    }
}
