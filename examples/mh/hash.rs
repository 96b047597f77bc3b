//! `mh hash`: one JSON object per file, sorted by path. Walks with the library's folder
//! source (the scan's walk: `O_NOATIME`, descriptors, no link followed below a named
//! path); every entry that is not hashed gets a line saying what it is and why.

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use clap::Args;
use mediahash::analyze::{self, Analysis, AnalyzeOptions};
use mediahash::decode::JpegScale;
use mediahash::evidence::{self, ContentItem, Item, SourceOptions};
use mediahash::perceptual::pdq::{DIHEDRAL_NAMES, PdqConvention};
use mediahash::report::{EntryDisposition, EntryRecord, Reason, ReasonCode};
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

#[derive(Args)]
pub struct HashArgs {
    /// Use the C++ command-line tool's convention: resize images larger than 512 to 512x512
    /// (nearest neighbour) before PDQ. The default hashes at full resolution.
    #[arg(long)]
    pdq_512: bool,
    /// Also print the 8 dihedral PDQ variants.
    #[arg(long)]
    dihedral: bool,
    /// Also print the robust query-side candidates (`robust`: PDQ of each normalisation
    /// that found something, with what was done), as `mh scan --robust` searches them.
    #[arg(long)]
    robust: bool,
    /// Also print the reference-side windows (`windows`: PDQ of the fixed window family), as
    /// `mh refset build --alert-images` stores them.
    #[arg(long)]
    windows: bool,
    /// Decode large JPEGs at 1/2, 1/4 or 1/8 scale in the DCT domain (faster, approximate).
    #[arg(long)]
    fast: bool,
    /// Digests only: skip image decoding and perceptual hashes.
    #[arg(long)]
    no_perceptual: bool,
    /// Also hash videos (found by content) as vPDQ, sampling this many frames per second of
    /// video (1 = the reference's default; 0 = every frame, as known videos should be
    /// hashed): prints `"vpdq": [{"frame", "timestamp", "quality", "hash"}, ...]` and a
    /// `"video"` summary. Needs FFmpeg's `ffmpeg` and `ffprobe` programs.
    #[arg(long, value_name = "FPS")]
    video_fps: Option<f64>,
    /// The `ffmpeg` program (default: `ffmpeg` on PATH; `ffprobe` is taken from the same
    /// directory).
    #[arg(long, value_name = "PATH", default_value = "ffmpeg")]
    ffmpeg: PathBuf,
    /// Wall-time limit per video in seconds (ffmpeg is killed past it).
    #[arg(long, value_name = "SECONDS", default_value_t = mediahash::video::DEFAULT_TIME_LIMIT.as_secs())]
    video_time_limit: u64,
    /// Address-space limit of each ffmpeg process, in MiB (0: none).
    #[arg(long, value_name = "MIB", default_value_t = mediahash::video::DEFAULT_MEMORY_LIMIT >> 20)]
    video_memory_mib: u64,
    /// Decoder threads per video (ffmpeg's slice threads; 0: ffmpeg chooses). The hashes do
    /// not depend on it.
    #[arg(long, value_name = "N", default_value_t = 0)]
    video_threads: u32,
    /// Worker threads (default: all cores; at most 4 per core).
    #[arg(long, short = 'j', value_parser = crate::parse_threads)]
    threads: Option<usize>,
    /// Read files and directories even where that changes their access times (you do not
    /// own them, so O_NOATIME is refused, on a mount that records access times). Without
    /// it they get an error line and are not read.
    #[arg(long)]
    allow_atime_changes: bool,
    /// Files or directories (walked recursively; links below them are not followed, a link
    /// named here is).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
}

#[derive(Serialize)]
struct ImageOut {
    format: &'static str,
    width: u32,
    height: u32,
}

#[derive(Serialize)]
struct PdqOut {
    hash: String,
    quality: u8,
    convention: &'static str,
}

/// The 8 dihedral PDQ hashes as an object keyed by orientation name (`orig`, `rot90`,
/// `rot180`, `rot270`, `flipx`, `flipy`, `flipplus1`, `flipminus1`), in that order.
struct Dihedral(Vec<String>);

impl Serialize for Dihedral {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, hash) in DIHEDRAL_NAMES.iter().zip(&self.0) {
            map.serialize_entry(name, hash)?;
        }
        map.end()
    }
}

#[derive(Serialize)]
struct CandidateOut {
    hash: String,
    quality: u8,
    what: String,
}

#[derive(Serialize)]
struct WindowOut {
    hash: String,
    quality: u8,
    window: &'static str,
}

#[derive(Serialize)]
struct VpdqFrameOut {
    frame: u64,
    timestamp: f64,
    quality: u8,
    hash: String,
}

/// A video's summary on its `mh hash` line.
#[derive(Serialize)]
struct VideoOut {
    container: &'static str,
    format: String,
    codec: String,
    width: u32,
    height: u32,
    frame_rate: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    duration: Option<f64>,
    seconds_per_hash: f64,
    frames_hashed: usize,
    /// Empty: computed as Meta's vpdq computes it.
    not_vpdq_equal: Vec<String>,
    ffmpeg_version: String,
    cpu: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    decoder_messages: String,
}

#[derive(Serialize, Default)]
struct Line {
    path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    path_bytes_hex: Option<String>,
    /// What the entry is, on lines of entries not hashed (`fifo`, `symlink`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    /// Why an entry was not read (it is not a regular file): the reason in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    skipped: Option<String>,
    /// The stable reason code of `skipped` or of an unreadable entry's `error`.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason_code: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    link_target: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    md5: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sha1: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sha256: Option<String>,
    /// `null` for content that is not an image; absent on lines of entries not read.
    #[serde(skip_serializing_if = "Option::is_none")]
    image: Option<Option<ImageOut>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pdq: Option<PdqOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pdq_dihedral: Option<Dihedral>,
    #[serde(skip_serializing_if = "Option::is_none")]
    robust: Option<Vec<CandidateOut>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    windows: Option<Vec<WindowOut>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    phash: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dhash: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ahash: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    video: Option<VideoOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    vpdq: Option<Vec<VpdqFrameOut>>,
    /// Why a video could not be hashed (ffmpeg missing, failed, timed out...).
    #[serde(skip_serializing_if = "Option::is_none")]
    video_error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// How `mh hash` hashes videos, when asked to.
struct VideoSetup {
    options: mediahash::video::VideoOptions,
    /// `ffmpeg -version` and the CPU, or why ffmpeg could not be run.
    toolchain: Result<mediahash::video::Toolchain, String>,
}

pub fn run(args: HashArgs) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let video = match args.video_fps {
        Some(fps) if !(fps.is_finite() && fps >= 0.0) => {
            return Err(format!("--video-fps {fps}: give frames per second, 0 or more").into());
        }
        Some(fps) => {
            let ffmpeg = mediahash::video::FfmpegOptions {
                ffmpeg: args.ffmpeg.clone(),
                time_limit: std::time::Duration::from_secs(args.video_time_limit),
                memory_limit: args.video_memory_mib << 20,
                threads: args.video_threads,
                ..Default::default()
            };
            let toolchain = mediahash::video::ffmpeg::toolchain(&ffmpeg).map_err(|e| e.to_string());
            let options = mediahash::video::VideoOptions {
                ffmpeg,
                seconds_per_hash: if fps == 0.0 { 0.0 } else { 1.0 / fps },
                ..Default::default()
            };
            Some(VideoSetup { options, toolchain })
        }
        None => None,
    };
    let mut options = AnalyzeOptions {
        perceptual: !args.no_perceptual,
        dihedral: args.dihedral,
        robust: args.robust,
        windows: args.windows,
        ..AnalyzeOptions::default()
    };
    if args.pdq_512 {
        options.pdq_convention = PdqConvention::Cli512;
    }
    if args.fast {
        options.decode.jpeg_scale = JpegScale::FAST_DEFAULT;
    }

    let source =
        SourceOptions { allow_atime_changes: args.allow_atime_changes, ..SourceOptions::default() };
    let mut files: Vec<ContentItem> = Vec::new();
    let mut decided: Vec<(Vec<u8>, Line)> = Vec::new();
    for item in evidence::open_roots(&args.paths, &source) {
        match item {
            Item::Content(file) => files.push(file),
            Item::Decided(record) => {
                decided.extend(decided_line(&record).map(|l| (record.path.clone(), l)))
            }
        }
    }
    // Largest files first, each taken by the next idle worker: a big file met late cannot
    // leave one thread hashing it alone at the end (greedy longest-first scheduling). The
    // output is sorted by path below, so the order of work does not show.
    files.sort_by(|a, b| {
        b.expected_len.cmp(&a.expected_len).then_with(|| a.record.path.cmp(&b.record.path))
    });
    let files: Vec<Mutex<Option<ContentItem>>> =
        files.into_iter().map(|f| Mutex::new(Some(f))).collect();

    let pool = rayon::ThreadPoolBuilder::new().num_threads(args.threads.unwrap_or(0)).build()?;
    let next = AtomicUsize::new(0);
    let per_worker: Vec<Vec<(Vec<u8>, Line)>> = pool.broadcast(|_| {
        // Each worker keeps several files in flight: their MD5s run side by side in SIMD
        // lanes (analyze_many), and each file's picture work runs when it has been read.
        let mut done = Vec::new();
        let opened = std::iter::from_fn(|| {
            while let Some(slot) = files.get(next.fetch_add(1, Ordering::Relaxed)) {
                let Some(file) = slot.lock().ok().and_then(|mut f| f.take()) else { continue };
                let ContentItem { record, content, .. } = file;
                match content.open() {
                    Ok(opened) => return Some(OpenFile { record, opened }),
                    Err(reason) => done.push((record.path.clone(), error_line(&record, &reason))),
                }
            }
            None
        });
        let mut finished = Vec::new();
        analyze::analyze_many(opened, &options, |file, analysis| {
            let path = file.record.path.clone();
            finished.push((path, hashed_line(file, analysis, &options, video.as_ref())));
        });
        done.extend(finished);
        done
    });
    let mut keyed: Vec<(Vec<u8>, Line)> = per_worker.into_iter().flatten().collect();
    keyed.extend(decided);
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    let lines: Vec<Line> = keyed.into_iter().map(|(_, l)| l).collect();

    let skipped = lines.iter().filter(|l| l.skipped.is_some()).count();
    let unread = lines.iter().filter(|l| l.md5.is_none() && l.skipped.is_none()).count();
    let image_errors = lines.iter().filter(|l| l.md5.is_some() && l.error.is_some()).count();
    let video_errors = lines.iter().filter(|l| l.video_error.is_some()).count();
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    for line in &lines {
        serde_json::to_writer(&mut out, line)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    if unread > 0 || image_errors > 0 || skipped > 0 || video_errors > 0 {
        eprintln!(
            "mh hash: {} entries, {unread} could not be read, {skipped} skipped (their lines say \
             why), {image_errors} images could not be decoded, {video_errors} videos could not \
             be hashed",
            lines.len()
        );
    }
    // A video not hashed (ffmpeg missing, failed, timed out) leaves the output incomplete.
    Ok(if unread > 0 || video_errors > 0 { ExitCode::from(2) } else { ExitCode::SUCCESS })
}

fn path_fields(path: &[u8]) -> (String, Option<String>) {
    match std::str::from_utf8(path) {
        Ok(s) => (s.to_string(), None),
        Err(_) => (String::from_utf8_lossy(path).into_owned(), Some(mediahash::hex::encode(path))),
    }
}

/// The line of an entry decided without reading: none for a directory listed, else what
/// it is and why it was not read.
fn decided_line(record: &EntryRecord) -> Option<Line> {
    let reason = record.reason.as_ref();
    let (path, path_bytes_hex) = path_fields(&record.path);
    let mut line = Line {
        path,
        path_bytes_hex,
        kind: Some(record.kind.as_str()),
        reason_code: reason.map(|r| r.code.as_str()),
        link_target: record.link_target.as_ref().map(|t| String::from_utf8_lossy(t).into_owned()),
        ..Line::default()
    };
    let message = reason.map(|r| r.message.clone());
    match record.disposition {
        EntryDisposition::Directory => return None,
        EntryDisposition::Skipped => line.skipped = message,
        _ => line.error = Some(message.unwrap_or_else(|| "not read".to_string())),
    }
    Some(line)
}

fn error_line(record: &EntryRecord, reason: &Reason) -> Line {
    let (path, path_bytes_hex) = path_fields(&record.path);
    Line {
        path,
        path_bytes_hex,
        size: record.size,
        reason_code: Some(reason.code.as_str()),
        error: Some(reason.message.clone()),
        ..Line::default()
    }
}

/// A file opened for [`analyze::analyze_many`].
struct OpenFile {
    record: EntryRecord,
    opened: evidence::OpenedContent,
}

impl io::Read for OpenFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.opened.reader.read(buf)
    }
}

/// The line of one file read to its end (or until a read error).
fn hashed_line(
    file: OpenFile,
    analysis: io::Result<Analysis>,
    options: &AnalyzeOptions,
    video: Option<&VideoSetup>,
) -> Line {
    let OpenFile { record, mut opened } = file;
    let analysis = match analysis {
        Ok(a) => a,
        Err(e) => {
            return error_line(&record, &Reason::new(ReasonCode::ReadFailed, e.to_string()));
        }
    };
    if let Some(changed) = opened.reader.changed_while_read(analysis.size) {
        return error_line(&record, &changed);
    }
    let mut line = line_for(&record.path, &analysis);
    if options.robust && analysis.pdq.is_some() {
        line.robust = Some(
            analysis
                .robust
                .iter()
                .map(|c| CandidateOut {
                    hash: c.hash.to_hex(),
                    quality: c.quality,
                    what: c.describe(),
                })
                .collect(),
        );
    }
    if options.windows && analysis.pdq.is_some() {
        line.windows = Some(
            analysis
                .windows
                .iter()
                .map(|w| WindowOut {
                    hash: w.hash.to_hex(),
                    quality: w.quality,
                    window: w.window.as_str(),
                })
                .collect(),
        );
    }
    if let Some(setup) = video
        && analysis.image.is_none()
        && record.location.is_none()
    {
        hash_video(&record.path, setup, &mut line);
    }
    if opened.noatime == Some(false) {
        line.error = Some(
            "read without O_NOATIME (--allow-atime-changes): its access time changed".to_string(),
        );
    }
    line
}

/// Adds the vPDQ of the file at `path` to its line when its content is a video container.
fn hash_video(path: &[u8], setup: &VideoSetup, line: &mut Line) {
    let path = mediahash::pathbytes::path_from_bytes(path);
    let path = path.as_path();
    let mut prefix = Vec::with_capacity(400);
    let sniffed = analyze::open_evidence(path)
        .and_then(|f| io::Read::read_to_end(&mut io::Read::take(f, 400), &mut prefix))
        .ok()
        .and_then(|_| mediahash::video::sniff_container(&prefix));
    let Some(container) = sniffed else { return };
    let toolchain = match &setup.toolchain {
        Ok(t) => t,
        Err(why) => {
            line.video_error = Some(why.clone());
            return;
        }
    };
    match mediahash::video::hash_video_file(path, &setup.options) {
        Ok(v) => {
            line.vpdq = Some(
                v.frames
                    .iter()
                    .map(|f| VpdqFrameOut {
                        frame: f.frame,
                        // The reference's f32 timestamp, printed as it prints it (3 decimals).
                        timestamp: format!("{:.3}", f64::from(f.timestamp)).parse().unwrap_or(0.0),
                        quality: f.quality,
                        hash: f.hash.to_hex(),
                    })
                    .collect(),
            );
            line.video = Some(VideoOut {
                container,
                format: v.info.format_name,
                codec: v.info.codec,
                width: v.info.width,
                height: v.info.height,
                frame_rate: v.info.frame_rate,
                duration: v.info.duration,
                seconds_per_hash: v.seconds_per_hash,
                frames_hashed: v.frames.len(),
                not_vpdq_equal: v.not_vpdq_equal,
                ffmpeg_version: toolchain.ffmpeg_version.clone(),
                cpu: toolchain.cpu.clone(),
                decoder_messages: v.decoder_messages,
            });
        }
        // A container with no video stream (audio only) is not a video.
        Err(mediahash::video::VideoError::NoVideoStream { .. }) => {}
        Err(e) => line.video_error = Some(e.to_string()),
    }
}

fn line_for(path: &[u8], a: &Analysis) -> Line {
    let (path, path_bytes_hex) = path_fields(path);
    Line {
        path,
        path_bytes_hex,
        size: Some(a.size),
        md5: Some(a.digests.md5_hex()),
        sha1: Some(a.digests.sha1_hex()),
        sha256: Some(a.digests.sha256_hex()),
        image: Some(a.image.as_ref().map(|i| ImageOut {
            format: i.format.as_str(),
            width: i.width,
            height: i.height,
        })),
        pdq: a.pdq.as_ref().map(|p| PdqOut {
            hash: p.hash.to_hex(),
            quality: p.quality,
            convention: p.convention.as_str(),
        }),
        pdq_dihedral: a
            .pdq_dihedral
            .as_ref()
            .map(|d| Dihedral(d.iter().map(|h| h.to_hex()).collect())),
        phash: a.imagehashes.as_ref().map(|h| h.phash.to_hex()),
        dhash: a.imagehashes.as_ref().map(|h| h.dhash.to_hex()),
        ahash: a.imagehashes.as_ref().map(|h| h.ahash.to_hex()),
        error: a.image_error.as_ref().map(|e| e.to_string()),
        ..Line::default()
    }
}
