//! The `ffprobe` and `ffmpeg` child processes: command lines, limits, reading the pipe.

use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use thiserror::Error;

use super::child;
use crate::perceptual::vpdq::VpdqError;

/// Default wall-time limit per video (probe and decode together): 30 minutes, about a
/// two-hour 1080p film at 1 hash per second on one core.
pub const DEFAULT_TIME_LIMIT: Duration = Duration::from_secs(1800);
/// Default address-space limit of each child: 4 GiB (FFmpeg decoding 4K HEVC with its
/// threads stays well below).
pub const DEFAULT_MEMORY_LIMIT: u64 = 4 << 30;
/// Default largest frame (width x height) decoded: 8192 x 8192.
pub const DEFAULT_MAX_PIXELS: u64 = 8192 * 8192;
/// The demuxers ffmpeg may use (`-format_whitelist`): containers and elementary streams of
/// video. Playlists (HLS, DASH), `concat` and image sequences are left out so a file on
/// seized media cannot make ffmpeg open other files.
pub const DEMUXERS: &str = "mov,matroska,avi,flv,mpegts,mpeg,mpegvideo,asf,ogg,gif,h264,hevc,\
m4v,mjpeg,ivf,nut,rm,yuv4mpegpipe,dv,mxf,wtv,3gp,webm,vc1,av1,obu";
/// ffmpeg's messages kept per video (the first bytes of its stderr).
const MESSAGE_LIMIT: usize = 16 * 1024;

/// Which programs decode videos and their limits.
#[derive(Debug, Clone)]
pub struct FfmpegOptions {
    /// The `ffmpeg` program (default `ffmpeg`, looked up on `PATH`).
    pub ffmpeg: PathBuf,
    /// The `ffprobe` program; `None`: `ffprobe` beside `ffmpeg` (same directory), or on
    /// `PATH` when `ffmpeg` is a bare name.
    pub ffprobe: Option<PathBuf>,
    /// Wall-time limit per video. Default [`DEFAULT_TIME_LIMIT`].
    pub time_limit: Duration,
    /// Address-space limit of each child in bytes (0: none). Default
    /// [`DEFAULT_MEMORY_LIMIT`].
    pub memory_limit: u64,
    /// Largest frame in pixels; larger declared sizes are refused before decoding. Default
    /// [`DEFAULT_MAX_PIXELS`].
    pub max_pixels: u64,
    /// Decoder threads (`-threads`; 0: ffmpeg chooses). Slice threads only, so the output
    /// never depends on it.
    pub threads: u32,
    /// Set by the caller to stop: the child is killed within about 100 ms.
    pub cancel: Option<Arc<AtomicBool>>,
}

impl Default for FfmpegOptions {
    fn default() -> Self {
        FfmpegOptions {
            ffmpeg: PathBuf::from("ffmpeg"),
            ffprobe: None,
            time_limit: DEFAULT_TIME_LIMIT,
            memory_limit: DEFAULT_MEMORY_LIMIT,
            max_pixels: DEFAULT_MAX_PIXELS,
            threads: 0,
            cancel: None,
        }
    }
}

impl FfmpegOptions {
    /// The `ffprobe` program used.
    pub fn ffprobe_program(&self) -> PathBuf {
        if let Some(p) = &self.ffprobe {
            return p.clone();
        }
        match self.ffmpeg.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.join("ffprobe"),
            _ => PathBuf::from("ffprobe"),
        }
    }

    pub(crate) fn deadline(&self) -> Instant {
        Instant::now()
            .checked_add(self.time_limit)
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(100 * 365 * 86400))
    }
}

/// Why a video could not be hashed.
#[derive(Debug, Error)]
pub enum VideoError {
    /// The program is not installed (or not at the path given).
    #[error(
        "video not hashed: {} not found ({source}); install FFmpeg (Debian: apt-get install ffmpeg) or name the program with --ffmpeg PATH",
        program.display()
    )]
    ToolMissing {
        /// The program looked for.
        program: PathBuf,
        /// The error from starting it.
        source: io::Error,
    },
    /// The program could not be started for another reason.
    #[error("cannot start {}: {source}", program.display())]
    Spawn {
        /// The program.
        program: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// ffprobe found no video stream it could read.
    #[error("no video stream: {message}")]
    NoVideoStream {
        /// ffprobe's message, or what was missing.
        message: String,
    },
    /// The stream declares a frame rate of 0 (the reference refuses it too).
    #[error("the video stream declares no frame rate (avg {avg}, r {r}): vPDQ needs one")]
    NoFrameRate {
        /// `avg_frame_rate`.
        avg: String,
        /// `r_frame_rate`.
        r: String,
    },
    /// Declared frame size beyond the limit (or zero).
    #[error(
        "declared frame size {width}x{height} is zero or over the limit of {max_pixels} pixels: refused before decoding (raise the limit only for trusted files)"
    )]
    FrameSize {
        /// Declared width.
        width: u64,
        /// Declared height.
        height: u64,
        /// The limit.
        max_pixels: u64,
    },
    /// The wall-time limit was reached; the children were killed.
    #[error(
        "video not finished within the time limit of {seconds} s ({frames} frames hashed): ffmpeg killed; raise the limit (--video-time-limit) for very long videos"
    )]
    TimedOut {
        /// The limit.
        seconds: u64,
        /// Frames hashed before it.
        frames: u64,
    },
    /// The caller's cancel flag was set.
    #[error("video hashing cancelled")]
    Cancelled,
    /// ffmpeg or ffprobe failed with no frame decoded.
    #[error("ffmpeg could not decode the video (exit {}): {message}", status.map_or("by signal".to_string(), |s| s.to_string()))]
    Ffmpeg {
        /// Exit code, `None` when killed by a signal (a crash, or the memory limit).
        status: Option<i32>,
        /// ffmpeg's messages.
        message: String,
    },
    /// ffprobe's answer was not what `-of json` gives.
    #[error("unexpected ffprobe output: {message}")]
    Probe {
        /// What was wrong.
        message: String,
    },
    /// A decoded frame could not be hashed.
    #[error("{source}")]
    Frame {
        /// Why.
        source: VpdqError,
    },
    /// Reading the pipe failed.
    #[error("reading ffmpeg's output failed: {source}")]
    Io {
        /// Why.
        source: io::Error,
    },
}

/// The video stream hashed, as `ffprobe` reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoInfo {
    /// The demuxer (`mov,mp4,m4a,3gp,3g2,mj2`, `matroska,webm`...).
    pub format_name: String,
    /// The codec (`h264`, `hevc`, `vp9`...).
    pub codec: String,
    /// Index of the stream in the file (the first video stream).
    pub stream_index: u32,
    /// Frame width in pixels (coded size, before rotation metadata).
    pub width: u32,
    /// Frame height in pixels.
    pub height: u32,
    /// Decoded pixel format (`yuv420p`, `yuvj420p`...).
    pub pix_fmt: String,
    /// The frame rate vPDQ uses: `avg_frame_rate`, else `r_frame_rate`, as text (`30000/1001`).
    pub frame_rate: String,
    /// The same as a number.
    pub fps: f64,
    /// Duration in seconds (the stream's, else the container's), when declared.
    pub duration: Option<f64>,
    /// Frames the decoder delays (B-frame reordering).
    pub has_b_frames: u32,
}

/// What a finished ffmpeg run left.
#[derive(Debug)]
pub(crate) struct Outcome {
    pub status: Option<i32>,
    pub status_failed: bool,
    pub messages: String,
}

/// The programs' versions and the CPU, recorded with every hash list: FFmpeg's version and
/// the CPU's SIMD path both change swscale's output (see `docs/video.md`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Toolchain {
    /// First line of `ffmpeg -version`.
    pub ffmpeg_version: String,
    /// The CPU model and its SIMD flags (x86: sse*, avx*, ...), from `/proc/cpuinfo`.
    pub cpu: String,
}

/// Asks `ffmpeg -version` (within the time limit) and reads the CPU's flags.
pub fn toolchain(options: &FfmpegOptions) -> Result<Toolchain, VideoError> {
    let mut cmd = Command::new(&options.ffmpeg);
    cmd.arg("-version");
    let (out, outcome) = run_to_end(cmd, &options.ffmpeg, options, options.deadline(), 1 << 20)?;
    if outcome.status != Some(0) {
        return Err(VideoError::Ffmpeg { status: outcome.status, message: outcome.messages });
    }
    let text = String::from_utf8_lossy(&out);
    Ok(Toolchain {
        ffmpeg_version: text.lines().next().unwrap_or("").trim().to_string(),
        cpu: cpu_description(),
    })
}

/// `model name` and the SIMD flags of the first CPU in `/proc/cpuinfo` (empty elsewhere).
fn cpu_description() -> String {
    let Ok(info) = std::fs::read_to_string("/proc/cpuinfo") else {
        return std::env::consts::ARCH.to_string();
    };
    let field = |name: &str| {
        info.lines()
            .find(|l| l.split(':').next().is_some_and(|k| k.trim() == name))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    let simd = |f: &&str| {
        ["sse", "ssse3", "avx", "fma", "mmx", "neon", "asimd", "sve", "f16c", "bmi"]
            .iter()
            .any(|p| f.starts_with(p))
    };
    let flags = field("flags");
    let flags = if flags.is_empty() { field("Features") } else { flags };
    let simd_flags: Vec<&str> = flags.split_whitespace().filter(simd).collect();
    format!("{} {}; {}", std::env::consts::ARCH, field("model name"), simd_flags.join(" "))
}

/// The input URL: `file:` forces the file protocol whatever the name looks like
/// (`concat:`, `http:`, a leading `-`).
fn input_url(path: &Path) -> std::ffi::OsString {
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().map(|d| d.join(path)).unwrap_or_else(|_| path.to_path_buf())
    };
    let mut url = std::ffi::OsString::from("file:");
    url.push(abs.as_os_str());
    url
}

fn input_args(cmd: &mut Command) {
    cmd.args(["-protocol_whitelist", "file", "-format_whitelist", DEMUXERS]);
}

/// Probes the first video stream of `path` with `ffprobe`.
pub fn probe(
    path: &Path,
    options: &FfmpegOptions,
    deadline: Instant,
) -> Result<VideoInfo, VideoError> {
    let program = options.ffprobe_program();
    let mut cmd = Command::new(&program);
    cmd.args(["-v", "error"]);
    input_args(&mut cmd);
    cmd.args([
        "-select_streams",
        "v:0",
        "-show_entries",
        "stream=index,codec_name,width,height,pix_fmt,avg_frame_rate,r_frame_rate,has_b_frames,duration:format=format_name,duration",
        "-of",
        "json",
        "-i",
    ]);
    cmd.arg(input_url(path));
    let (out, outcome) = run_to_end(cmd, &program, options, deadline, 1 << 20)?;
    if outcome.status != Some(0) {
        return Err(VideoError::Ffmpeg { status: outcome.status, message: outcome.messages });
    }
    parse_probe(&out, options.max_pixels)
}

fn parse_probe(out: &[u8], max_pixels: u64) -> Result<VideoInfo, VideoError> {
    let bad = |m: &str| VideoError::Probe { message: m.to_string() };
    let json: serde_json::Value =
        serde_json::from_slice(out).map_err(|e| bad(&format!("not JSON: {e}")))?;
    let stream = json
        .get("streams")
        .and_then(|s| s.as_array())
        .and_then(|s| s.first())
        .ok_or_else(|| VideoError::NoVideoStream { message: "ffprobe lists none".into() })?;
    let text = |v: &serde_json::Value, k: &str| {
        v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string()
    };
    let num = |v: &serde_json::Value, k: &str| v.get(k).and_then(|x| x.as_u64());
    let seconds = |v: &serde_json::Value, k: &str| {
        v.get(k)
            .and_then(|x| x.as_str())
            .and_then(|s| s.parse::<f64>().ok())
            .filter(|d| d.is_finite() && *d >= 0.0)
    };
    let (width, height) = (num(stream, "width").unwrap_or(0), num(stream, "height").unwrap_or(0));
    if width == 0
        || height == 0
        || width.saturating_mul(height) > max_pixels
        || width > u64::from(u32::MAX)
        || height > u64::from(u32::MAX)
    {
        return Err(VideoError::FrameSize { width, height, max_pixels });
    }
    let (avg, r) = (text(stream, "avg_frame_rate"), text(stream, "r_frame_rate"));
    let (frame_rate, fps) = match rational(&avg) {
        Some(f) => (avg.clone(), f),
        None => match rational(&r) {
            Some(f) => (r.clone(), f),
            None => return Err(VideoError::NoFrameRate { avg, r }),
        },
    };
    let format = json.get("format").cloned().unwrap_or_default();
    Ok(VideoInfo {
        format_name: text(&format, "format_name"),
        codec: text(stream, "codec_name"),
        stream_index: num(stream, "index")
            .and_then(|i| u32::try_from(i).ok())
            .ok_or_else(|| bad("no stream index"))?,
        width: width as u32,
        height: height as u32,
        pix_fmt: text(stream, "pix_fmt"),
        frame_rate,
        fps,
        duration: seconds(stream, "duration").or_else(|| seconds(&format, "duration")),
        has_b_frames: num(stream, "has_b_frames").and_then(|i| u32::try_from(i).ok()).unwrap_or(0),
    })
}

/// `num/den` as a positive finite number (the reference: num and den non-zero).
fn rational(s: &str) -> Option<f64> {
    let (n, d) = s.split_once('/')?;
    let (n, d): (i64, i64) = (n.trim().parse().ok()?, d.trim().parse().ok()?);
    if n == 0 || d == 0 {
        return None;
    }
    let f = n as f64 / d as f64;
    (f.is_finite() && f > 0.0).then_some(f)
}

/// Decodes `path` with ffmpeg, calling `frame` with each sampled frame's RGB24 pixels
/// (`info.width * info.height * 3` bytes) in order; `frame` returns false to stop.
pub(crate) fn decode(
    path: &Path,
    info: &VideoInfo,
    step: u64,
    options: &FfmpegOptions,
    deadline: Instant,
    mut frame: impl FnMut(&[u8]) -> bool,
) -> Result<Outcome, VideoError> {
    let range = if info.pix_fmt.starts_with("yuvj") { "pc" } else { "tv" };
    let filter = format!(
        "select=not(mod(n\\,{step})),scale={}:{}:flags=area:in_color_matrix=bt601:in_range={range}",
        info.width, info.height
    );
    let mut cmd = Command::new(&options.ffmpeg);
    cmd.args(["-nostdin", "-hide_banner", "-v", "error", "-threads"])
        .arg(options.threads.to_string())
        .args(["-thread_type", "slice", "-noautorotate"]);
    input_args(&mut cmd);
    cmd.arg("-i").arg(input_url(path));
    cmd.args(["-map", "0:v:0", "-fps_mode", "passthrough", "-vf"])
        .arg(filter)
        .args(["-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"]);
    let frame_len = (info.width as usize)
        .checked_mul(info.height as usize)
        .and_then(|p| p.checked_mul(3))
        .ok_or(VideoError::FrameSize {
            width: info.width.into(),
            height: info.height.into(),
            max_pixels: options.max_pixels,
        })?;
    let mut frames = 0u64;
    let mut read = |stdout: &mut ChildStdout| -> io::Result<()> {
        let mut buf = vec![0u8; frame_len];
        loop {
            match read_full(stdout, &mut buf)? {
                n if n == frame_len => {
                    frames += 1;
                    if !frame(&buf) {
                        return Ok(());
                    }
                }
                // EOF, possibly inside a frame ffmpeg never finished (killed): ignore it.
                _ => return Ok(()),
            }
        }
    };
    let outcome = run(cmd, &options.ffmpeg, options, deadline, &mut read);
    match outcome {
        Err(VideoError::TimedOut { seconds, .. }) => Err(VideoError::TimedOut { seconds, frames }),
        other => other,
    }
}

/// Reads until `buf` is full or EOF; the count read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Runs a command to its end, keeping at most `limit` bytes of its stdout.
fn run_to_end(
    cmd: Command,
    program: &Path,
    options: &FfmpegOptions,
    deadline: Instant,
    limit: usize,
) -> Result<(Vec<u8>, Outcome), VideoError> {
    let mut out = Vec::new();
    let mut read = |stdout: &mut ChildStdout| -> io::Result<()> {
        stdout.take(limit as u64).read_to_end(&mut out)?;
        // Drain the rest so the child is not blocked on a full pipe.
        io::copy(stdout, &mut io::sink())?;
        Ok(())
    };
    let outcome = run(cmd, program, options, deadline, &mut read)?;
    Ok((out, outcome))
}

/// The child's process group is killed (SIGKILL) and the child reaped when this is dropped,
/// so no child outlives the call, whichever way it returns.
struct Guard {
    child: Child,
    reaped: bool,
    killer: Option<child::Killer>,
}

impl Guard {
    fn kill_group(&mut self) {
        match &self.killer {
            Some(killer) => killer.kill(),
            None => {
                let _ = self.child.kill();
            }
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if !self.reaped {
            self.kill_group();
            let _ = self.child.wait();
        }
    }
}

/// Starts `cmd` under the limits, gives its stdout to `read`, collects its stderr, kills its
/// group at the deadline or on cancel, and reaps it.
fn run(
    mut cmd: Command,
    program: &Path,
    options: &FfmpegOptions,
    deadline: Instant,
    read: &mut dyn FnMut(&mut ChildStdout) -> io::Result<()>,
) -> Result<Outcome, VideoError> {
    if Instant::now() >= deadline {
        return Err(VideoError::TimedOut { seconds: options.time_limit.as_secs(), frames: 0 });
    }
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    child::prepare(&mut cmd, options.memory_limit);
    let child = cmd.spawn().map_err(|source| {
        if source.kind() == io::ErrorKind::NotFound {
            VideoError::ToolMissing { program: program.to_path_buf(), source }
        } else {
            VideoError::Spawn { program: program.to_path_buf(), source }
        }
    })?;
    let mut guard = Guard { child, reaped: false, killer: None };
    let killer = child::contain(&guard.child, options.memory_limit)
        .map_err(|source| VideoError::Spawn { program: program.to_path_buf(), source })?;
    guard.killer = Some(killer.clone());
    let mut stdout = guard.child.stdout.take().expect("stdout is piped");
    let mut stderr = guard.child.stderr.take().expect("stderr is piped");
    let stderr_thread = thread::spawn(move || {
        let mut kept = Vec::new();
        let _ = (&mut stderr).take(MESSAGE_LIMIT as u64).read_to_end(&mut kept);
        let _ = io::copy(&mut stderr, &mut io::sink());
        kept
    });
    // The watchdog kills the group at the deadline or on cancel. It stops (and is joined)
    // before the child is reaped, so it never signals a reused process id.
    let (stop_tx, stop_rx) = mpsc::channel::<()>();
    let cancel = options.cancel.clone();
    let watchdog = thread::spawn(move || -> Option<VideoError> {
        loop {
            match stop_rx.recv_timeout(Duration::from_millis(100)) {
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                _ => return None,
            }
            if cancel.as_ref().is_some_and(|c| c.load(Ordering::Relaxed)) {
                killer.kill();
                return Some(VideoError::Cancelled);
            }
            if Instant::now() >= deadline {
                killer.kill();
                return Some(VideoError::TimedOut { seconds: 0, frames: 0 });
            }
        }
    });
    let read_result = read(&mut stdout);
    drop(stdout);
    if read_result.is_err() || Instant::now() >= deadline {
        guard.kill_group();
    }
    // The child may still be running (the reader stopped early): wait within the deadline.
    let status = loop {
        match guard.child.try_wait() {
            Ok(Some(s)) => break Some(s),
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(5)),
            Ok(None) => {
                guard.kill_group();
                thread::sleep(Duration::from_millis(5));
            }
            Err(_) => break None,
        }
    };
    let _ = stop_tx.send(());
    let stopped = watchdog.join().unwrap_or(None);
    if status.is_none() {
        guard.kill_group();
    }
    let _ = guard.child.wait();
    guard.reaped = true;
    let messages = stderr_thread.join().unwrap_or_default();
    let messages = String::from_utf8_lossy(&messages).trim().to_string();
    match stopped {
        Some(VideoError::TimedOut { .. }) => {
            return Err(VideoError::TimedOut { seconds: options.time_limit.as_secs(), frames: 0 });
        }
        Some(e) => return Err(e),
        None => {}
    }
    if Instant::now() >= deadline && status.is_none_or(|s| !s.success()) {
        return Err(VideoError::TimedOut { seconds: options.time_limit.as_secs(), frames: 0 });
    }
    read_result.map_err(|source| VideoError::Io { source })?;
    let code = status.and_then(|s: ExitStatus| s.code());
    Ok(Outcome { status: code, status_failed: status.is_none_or(|s| !s.success()), messages })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_output_is_parsed_with_the_reference_frame_rate_rule() {
        let json = br#"{"streams":[{"index":1,"codec_name":"h264","width":320,"height":240,
            "pix_fmt":"yuvj420p","avg_frame_rate":"0/0","r_frame_rate":"30000/1001",
            "has_b_frames":2}],"format":{"format_name":"mov,mp4","duration":"2.5"}}"#;
        let info = parse_probe(json, DEFAULT_MAX_PIXELS).unwrap();
        assert_eq!(info.frame_rate, "30000/1001");
        assert_eq!((info.stream_index, info.has_b_frames, info.duration), (1, 2, Some(2.5)));
        let huge =
            br#"{"streams":[{"index":0,"width":100000,"height":100000,"avg_frame_rate":"25/1"}]}"#;
        assert!(matches!(parse_probe(huge, DEFAULT_MAX_PIXELS), Err(VideoError::FrameSize { .. })));
        let no_rate = br#"{"streams":[{"index":0,"width":16,"height":16,"avg_frame_rate":"0/0","r_frame_rate":"0/0"}]}"#;
        assert!(matches!(
            parse_probe(no_rate, DEFAULT_MAX_PIXELS),
            Err(VideoError::NoFrameRate { .. })
        ));
        assert!(matches!(
            parse_probe(br#"{"streams":[]}"#, 1),
            Err(VideoError::NoVideoStream { .. })
        ));
    }

    #[test]
    fn a_missing_program_is_a_typed_error() {
        let options = FfmpegOptions {
            ffmpeg: PathBuf::from("/nonexistent/mediahash-test/ffmpeg"),
            ..Default::default()
        };
        assert!(matches!(toolchain(&options), Err(VideoError::ToolMissing { .. })));
        assert_eq!(options.ffprobe_program(), PathBuf::from("/nonexistent/mediahash-test/ffprobe"));
    }

    #[cfg(unix)]
    #[test]
    fn the_time_limit_kills_the_process_group() {
        // `sh` stands in for a hung ffmpeg: it starts a grandchild and waits.
        let options =
            FfmpegOptions { time_limit: Duration::from_millis(300), ..Default::default() };
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "sleep 30 & sleep 30; wait"]);
        let start = Instant::now();
        let r = run_to_end(cmd, Path::new("sh"), &options, options.deadline(), 1024);
        assert!(matches!(r, Err(VideoError::TimedOut { .. })), "{r:?}");
        assert!(start.elapsed() < Duration::from_secs(5));
    }
}
