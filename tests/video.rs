//! Videos: vPDQ through the `ffmpeg` program against Meta's `vpdq` package, matching of
//! transformed copies, hostile files and the child-process limits.
//!
//! * `vpdq_lists_equal_the_reference_package`: the committed videos of `tests/data/video/`
//!   against the lists `scripts/vpdq_vectors.py` computed with the `vpdq` package
//!   (`tests/vectors/vpdq/`): same frames, timestamps and qualities, PDQ distance 0, and the
//!   list text byte for byte.
//! * `vpdq_package_live`: new videos made here, hashed by the `vpdq` package at run time
//!   (`MEDIAHASH_VPDQ_PYTHON` = a Python with `vpdq`; cfg `mediahash_vpdq`).
//! * transforms, hostile files, limits: need `ffmpeg` and `ffprobe` (cfg
//!   `mediahash_video_tools`, Debian package `ffmpeg`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use mediahash::perceptual::vpdq::{
    VpdqFrame, VpdqMatchOptions, compare, compare_with_variants, parse_list, write_list,
};
use mediahash::video::{FfmpegOptions, VideoError, VideoOptions, hash_video_file};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn options(seconds: f64) -> VideoOptions {
    VideoOptions { seconds_per_hash: seconds, ..Default::default() }
}

/// Checks mediahash's frames against the reference's: same numbers, qualities, timestamps
/// (as the reference prints them), PDQ distance 0.
fn assert_equal_lists(what: &str, ours: &[VpdqFrame], reference: &[VpdqFrame]) {
    assert_eq!(ours.len(), reference.len(), "{what}: frame count");
    for (a, b) in ours.iter().zip(reference) {
        assert_eq!(a.frame, b.frame, "{what}: frame number");
        assert_eq!(a.quality, b.quality, "{what}: quality of frame {}", a.frame);
        assert_eq!(
            format!("{:.3}", f64::from(a.timestamp)),
            format!("{:.3}", f64::from(b.timestamp)),
            "{what}: timestamp of frame {}",
            a.frame
        );
        assert_eq!(a.hash.distance(&b.hash), 0, "{what}: PDQ of frame {}", a.frame);
    }
}

#[test]
#[cfg_attr(
    not(mediahash_video_tools),
    ignore = "needs ffmpeg and ffprobe (apt-get install ffmpeg)"
)]
fn vpdq_lists_equal_the_reference_package() {
    let vectors = repo().join("tests/vectors/vpdq");
    let mut checked = 0;
    for entry in std::fs::read_dir(&vectors).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let Some(stem) = name.strip_suffix(".txt") else { continue };
        let Some((video, seconds)) = stem.rsplit_once('.') else { continue };
        let seconds: f64 = seconds.parse().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let reference = parse_list(&text).unwrap();
        let ours = hash_video_file(&repo().join("tests/data/video").join(video), &options(seconds))
            .unwrap_or_else(|e| panic!("{video}: {e}"));
        assert!(ours.not_vpdq_equal.is_empty(), "{video}: {:?}", ours.not_vpdq_equal);
        assert_equal_lists(&name, &ours.frames, &reference);
        assert_eq!(write_list(&ours.frames), text, "{name}: list text");
        checked += 1;
    }
    assert!(checked >= 12, "only {checked} reference lists found in {}", vectors.display());
}

/// `mh hash --video-fps FPS` of a video as a list in the reference's text format, and its
/// frame count.
fn vpdq_list_by_mh_hash(video: &Path, fps: &str) -> (String, u64) {
    let out = Command::new(env!("CARGO_BIN_EXE_mh"))
        .args(["hash", "--video-fps", fps])
        .arg(video)
        .output()
        .unwrap();
    let line: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let frames = line["vpdq"].as_array().unwrap();
    let list = frames
        .iter()
        .map(|f| {
            format!(
                "{},{},{},{:.3}\n",
                f["frame"],
                f["quality"],
                f["hash"].as_str().unwrap(),
                f["timestamp"].as_f64().unwrap()
            )
        })
        .collect();
    (list, frames.len() as u64)
}

/// Makes a video with ffmpeg (`args` before the output path).
fn make(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    let out = dir.join(name);
    let status = Command::new("ffmpeg")
        .args(["-y", "-v", "error", "-nostdin"])
        .args(args)
        .arg(&out)
        .status()
        .expect("ffmpeg runs");
    assert!(status.success(), "ffmpeg {args:?}");
    out
}

#[test]
#[cfg_attr(
    not(mediahash_vpdq),
    ignore = "needs MEDIAHASH_VPDQ_PYTHON (a Python with the vpdq package)"
)]
#[cfg_attr(
    not(mediahash_video_tools),
    ignore = "needs ffmpeg and ffprobe (apt-get install ffmpeg)"
)]
fn vpdq_package_live() {
    let python = std::env::var_os("MEDIAHASH_VPDQ_PYTHON")
        .expect("MEDIAHASH_VPDQ_PYTHON: a Python with the vpdq package (pip install vpdq)");
    let dir = tempfile::tempdir().unwrap();
    let videos = [
        make(
            dir.path(),
            "a.mp4",
            &[
                "-f",
                "lavfi",
                "-i",
                "mandelbrot=s=200x150:r=24",
                "-t",
                "3",
                "-c:v",
                "libx264",
                "-pix_fmt",
                "yuv420p",
                "-bf",
                "2",
            ],
        ),
        make(
            dir.path(),
            "b.webm",
            &[
                "-f",
                "lavfi",
                "-i",
                "testsrc2=s=176x144:r=30000/1001:d=3",
                "-c:v",
                "libvpx",
                "-b:v",
                "200k",
            ],
        ),
        make(
            dir.path(),
            "c.mkv",
            &[
                "-f",
                "lavfi",
                "-i",
                "cellauto=s=160x120:r=25:rule=110",
                "-t",
                "2",
                "-c:v",
                "mpeg2video",
            ],
        ),
    ];
    for video in &videos {
        for seconds in [1.0, 0.0] {
            let script = format!(
                "import sys, vpdq\nfor h in vpdq.computeHash(sys.argv[1], seconds_per_hash={seconds}, thread_count=1):\n    print(f'{{h.frame_number}},{{h.quality}},{{h.hex}},{{h.timestamp:.3f}}')\n"
            );
            let out = Command::new(&python).arg("-c").arg(&script).arg(video).output().unwrap();
            assert!(out.status.success(), "vpdq: {}", String::from_utf8_lossy(&out.stderr));
            let text = String::from_utf8(out.stdout).unwrap();
            let reference = parse_list(&text).unwrap();
            let ours = hash_video_file(video, &options(seconds)).unwrap();
            let what = format!("{} @ {seconds}s", video.display());
            assert_equal_lists(&what, &ours.frames, &reference);
            assert_eq!(write_list(&ours.frames), text, "{what}: list text");
        }
    }
}

/// Processes (other than us) whose command line mentions `needle`.
fn processes_mentioning(needle: &str) -> Vec<String> {
    let me = std::process::id().to_string();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().filter(|p| p.bytes().all(|b| b.is_ascii_digit())) else {
            continue;
        };
        if pid == me {
            continue;
        }
        if let Ok(cmd) = std::fs::read(entry.path().join("cmdline")) {
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            if cmd.contains(needle) {
                found.push(format!("{pid}: {cmd}"));
            }
        }
    }
    found
}

#[test]
#[cfg_attr(
    not(mediahash_video_tools),
    ignore = "needs ffmpeg and ffprobe (apt-get install ffmpeg)"
)]
fn hostile_videos_give_errors_within_the_limit_and_leave_no_child() {
    let dir = tempfile::tempdir().unwrap();
    let good = make(
        dir.path(),
        "good.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=s=320x240:r=25:d=4",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
        ],
    );
    let bytes = std::fs::read(&good).unwrap();
    let p = |name: &str| dir.path().join(name);
    // Truncated at half: moov is at the end of an ffmpeg mp4, so nothing is decodable.
    std::fs::write(p("truncated.mp4"), &bytes[..bytes.len() / 2]).unwrap();
    // A real header followed by garbage.
    let mut garbage = bytes[..bytes.len().min(2048)].to_vec();
    garbage.extend((0..200_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    std::fs::write(p("garbage.mp4"), &garbage).unwrap();
    // A Y4M header declaring 100000x100000 frames.
    let mut huge = b"YUV4MPEG2 W100000 H100000 F25:1 Ip A1:1 C420jpeg\nFRAME\n".to_vec();
    huge.extend(std::iter::repeat_n(0x80u8, 100_000));
    std::fs::write(p("huge.y4m"), &huge).unwrap();
    // 16000x16000: within what FFmpeg accepts, over mediahash's default frame limit.
    let mut big = b"YUV4MPEG2 W16000 H16000 F25:1 Ip A1:1 C420jpeg\nFRAME\n".to_vec();
    big.extend(std::iter::repeat_n(0x80u8, 100_000));
    std::fs::write(p("big.y4m"), &big).unwrap();
    // A Matroska file whose declared duration is absurd (the Duration float patched to 1e15 s).
    let mkv = make(
        dir.path(),
        "long.mkv",
        &["-f", "lavfi", "-i", "testsrc2=s=160x120:r=25:d=2", "-c:v", "libx264"],
    );
    let mut bytes = std::fs::read(&mkv).unwrap();
    let at = bytes.windows(2).position(|w| w == [0x44, 0x89]).expect("Duration element");
    let size = bytes[at + 2];
    assert!(size == 0x88 || size == 0x84, "duration size byte {size:#x}");
    if size == 0x88 {
        bytes[at + 3..at + 11].copy_from_slice(&1e15f64.to_be_bytes());
    } else {
        bytes[at + 3..at + 7].copy_from_slice(&1e15f32.to_be_bytes());
    }
    std::fs::write(&mkv, &bytes).unwrap();

    let limit = Duration::from_secs(20);
    let opts = VideoOptions {
        ffmpeg: FfmpegOptions { time_limit: limit, ..Default::default() },
        ..Default::default()
    };
    for name in ["truncated.mp4", "garbage.mp4", "huge.y4m", "big.y4m"] {
        let start = Instant::now();
        let r = hash_video_file(&p(name), &opts);
        assert!(start.elapsed() < limit + Duration::from_secs(2), "{name}: {:?}", start.elapsed());
        match r {
            Err(e) => eprintln!("{name}: {e}"),
            Ok(h) => assert!(
                !h.not_vpdq_equal.is_empty(),
                "{name}: hashed {} frames as if intact",
                h.frames.len()
            ),
        }
    }
    // FFmpeg refuses 100000x100000 itself; mediahash refuses 16000x16000 before decoding.
    assert!(hash_video_file(&p("huge.y4m"), &opts).is_err());
    assert!(matches!(
        hash_video_file(&p("big.y4m"), &opts),
        Err(VideoError::FrameSize { width: 16000, height: 16000, .. })
    ));
    // The absurd duration is reported as declared; the frames are the ones really there.
    let start = Instant::now();
    let long = hash_video_file(&mkv, &opts).unwrap();
    assert!(start.elapsed() < limit);
    assert_eq!(long.frames.len(), 2, "{:?}", long.info);
    assert!(long.info.duration.is_some_and(|d| d > 1e9), "{:?}", long.info.duration);

    // A time limit shorter than the decode: ffmpeg killed, typed error, nothing left behind.
    let tight = VideoOptions {
        ffmpeg: FfmpegOptions { time_limit: Duration::from_millis(1), ..Default::default() },
        ..Default::default()
    };
    assert!(matches!(hash_video_file(&good, &tight), Err(VideoError::TimedOut { .. })));
    let needle = dir.path().to_str().unwrap();
    assert_eq!(processes_mentioning(needle), Vec::<String>::new(), "children left behind");
}

#[test]
fn a_missing_ffmpeg_is_a_typed_error_that_says_what_to_do() {
    let opts = VideoOptions {
        ffmpeg: FfmpegOptions {
            ffmpeg: PathBuf::from("/nonexistent/mediahash/ffmpeg"),
            ..Default::default()
        },
        ..Default::default()
    };
    let e = hash_video_file(Path::new("whatever.mp4"), &opts).unwrap_err();
    assert!(matches!(e, VideoError::ToolMissing { .. }), "{e}");
    assert!(e.to_string().contains("apt-get install ffmpeg"), "{e}");
}

/// The original clip and its copies for the matching tests.
struct Clips {
    _dir: tempfile::TempDir,
    dir: PathBuf,
}

fn clip(clips: &Clips, name: &str, args: &[&str]) -> PathBuf {
    make(&clips.dir, name, args)
}

#[test]
#[cfg_attr(
    not(mediahash_video_tools),
    ignore = "needs ffmpeg and ffprobe (apt-get install ffmpeg)"
)]
fn transformed_copies_match_and_other_clips_do_not() {
    let tmp = tempfile::tempdir().unwrap();
    let clips = Clips { dir: tmp.path().to_path_buf(), _dir: tmp };
    // The known clip: 6 s of a Mandelbrot zoom, 240x180 at 15 fps, nearly lossless.
    let original = clip(
        &clips,
        "original.mkv",
        &[
            "-f",
            "lavfi",
            "-i",
            "mandelbrot=s=240x180:r=15",
            "-t",
            "6",
            "-c:v",
            "libx264",
            "-crf",
            "12",
            "-pix_fmt",
            "yuv420p",
        ],
    );
    let from = |name: &str, args: &[&str]| {
        let mut all = vec!["-i", original.to_str().unwrap()];
        all.extend_from_slice(args);
        clip(&clips, name, &all)
    };
    let copies = [
        from("h264.mp4", &["-c:v", "libx264", "-crf", "30"]),
        from("h265.mp4", &["-c:v", "libx265", "-crf", "30", "-x265-params", "log-level=error"]),
        from("vp9.webm", &["-c:v", "libvpx-vp9", "-b:v", "300k", "-deadline", "realtime"]),
        from("mpeg4.avi", &["-c:v", "mpeg4", "-q:v", "6"]),
        from("resized.mp4", &["-vf", "scale=120:90", "-c:v", "libx264"]),
        from("trimmed.mp4", &["-ss", "2", "-t", "4", "-c:v", "libx264"]),
        from("bars.mp4", &["-vf", "pad=240:200:0:10:black", "-c:v", "libx264"]),
        from("fps25.mp4", &["-vf", "fps=25", "-c:v", "libx264"]),
    ];
    let opts = VpdqMatchOptions::default();
    // Known videos are hashed at every frame (docs/video.md: sampling phase).
    let known = hash_video_file(&original, &options(0.0)).unwrap().frames;
    for copy in &copies {
        let seized = hash_video_file(copy, &options(1.0)).unwrap();
        let c = compare_with_variants(&seized.frames, &seized.trimmed, &known, &opts);
        assert!(
            c.is_reference_match(&opts),
            "{}: query {:.1}% target {:.1}%",
            copy.display(),
            c.query_percent,
            c.target_percent
        );
    }
    // A long seized video holding the (short) known clip: the reference's default misses
    // it, the clip rule finds it.
    let other = clip(
        &clips,
        "other.mkv",
        &[
            "-f",
            "lavfi",
            "-i",
            "life=s=240x180:r=15:mold=10:ratio=0.2",
            "-t",
            "16",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
        ],
    );
    let long = clip(
        &clips,
        "long.mp4",
        &[
            "-i",
            other.to_str().unwrap(),
            "-i",
            copies[0].to_str().unwrap(),
            "-filter_complex",
            "[0:v]fps=15,format=yuv420p,setsar=1[a];[1:v]fps=15,format=yuv420p,setsar=1[b];[a][b]concat=n=2:v=1",
            "-c:v",
            "libx264",
        ],
    );
    let long_frames = hash_video_file(&long, &options(0.0)).unwrap().frames;
    let trimmed_known = hash_video_file(&copies[5], &options(0.0)).unwrap().frames;
    let c = compare(&long_frames, &trimmed_known, &opts);
    assert!(!c.is_reference_match(&opts), "query {:.1}%", c.query_percent);
    assert!(c.contains_known(&opts), "target {:.1}%", c.target_percent);
    // Other clips match neither way.
    let others = [
        other,
        clip(
            &clips,
            "testsrc2.mp4",
            &["-f", "lavfi", "-i", "testsrc2=s=240x180:r=15:d=6", "-c:v", "libx264"],
        ),
        clip(
            &clips,
            "cellauto.mp4",
            &["-f", "lavfi", "-i", "cellauto=s=240x180:r=15:rule=30", "-t", "6", "-c:v", "libx264"],
        ),
    ];
    for o in &others {
        let seized = hash_video_file(o, &options(1.0)).unwrap();
        let c = compare_with_variants(&seized.frames, &seized.trimmed, &known, &opts);
        assert!(
            !c.is_match(&opts),
            "{}: query {:.1}% target {:.1}%",
            o.display(),
            c.query_percent,
            c.target_percent
        );
    }
}

#[test]
#[cfg_attr(
    not(mediahash_video_tools),
    ignore = "needs ffmpeg and ffprobe (apt-get install ffmpeg)"
)]
fn known_videos_and_pictures_in_a_set_are_found_with_timestamps() {
    use mediahash::refset::build::{BuildOptions, Builder};
    use mediahash::refset::{Disposition, RefSet};
    use mediahash::video::matching::match_video;

    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // A known picture, and a clip that shows it for 2 s (from 3 s to 5 s) between other
    // footage.
    std::fs::create_dir(dir.join("pictures")).unwrap();
    let picture = make(
        &dir.join("pictures"),
        "known.png",
        &["-f", "lavfi", "-i", "testsrc2=s=240x180", "-frames:v", "1"],
    );
    let shows = make(
        dir,
        "shows-picture.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "life=s=240x180:r=15:mold=10:ratio=0.2",
            "-loop",
            "1",
            "-t",
            "2",
            "-i",
            picture.to_str().unwrap(),
            "-filter_complex",
            "[0:v]trim=0:3,setpts=PTS-STARTPTS,format=yuv420p[a];[0:v]trim=5:8,setpts=PTS-STARTPTS,format=yuv420p[c];[1:v]fps=15,format=yuv420p[b];[a][b][c]concat=n=3:v=1",
            "-t",
            "8",
            "-c:v",
            "libx264",
        ],
    );
    // A known video, as a vPDQ list (every frame), and a re-encoded, resized copy.
    let known = make(
        dir,
        "known.mkv",
        &[
            "-f",
            "lavfi",
            "-i",
            "mandelbrot=s=240x180:r=15",
            "-t",
            "4",
            "-c:v",
            "libx264",
            "-crf",
            "12",
        ],
    );
    let copy = make(
        dir,
        "copy.mp4",
        &["-i", known.to_str().unwrap(), "-vf", "scale=160:120", "-c:v", "libx264", "-crf", "28"],
    );
    std::fs::create_dir(dir.join("lists")).unwrap();
    let list = hash_video_file(&known, &options(0.0)).unwrap();
    std::fs::write(dir.join("lists/case-7-video.txt"), write_list(&list.frames)).unwrap();

    let mut builder = Builder::new(BuildOptions::default()).unwrap();
    let s = mediahash::import::vpdq::import_vpdq_lists(
        &mut builder,
        &dir.join("lists"),
        Disposition::Alert,
        Some("known videos"),
    )
    .unwrap();
    assert_eq!((s.videos, s.frames), (1, 60));
    mediahash::import::pictures::import_pictures(
        &mut builder,
        &dir.join("pictures"),
        Disposition::Alert,
        Some("known pictures"),
    )
    .unwrap();
    let (bytes, _) = builder.finish_to_vec().unwrap();
    let set = RefSet::from_bytes(bytes).unwrap();
    set.verify().unwrap();
    assert_eq!(set.video_frame_count(), 60);
    let stored = set.videos();
    assert_eq!(stored.len(), 1);
    assert_equal_lists("stored list", &stored[0].1, &list.frames);

    let opts = VpdqMatchOptions::default();
    let seized = hash_video_file(&copy, &options(1.0)).unwrap();
    let (videos, frames) = match_video(&set, &seized, &opts).unwrap();
    assert_eq!(videos.len(), 1, "{videos:?}");
    assert_eq!(videos[0].video_id.as_deref(), Some("case-7-video"));
    assert_eq!(videos[0].rule, "reference");
    assert!(frames.is_empty(), "{frames:?}");

    let seized = hash_video_file(&shows, &options(1.0)).unwrap();
    let (videos, frames) = match_video(&set, &seized, &opts).unwrap();
    assert!(videos.is_empty(), "{videos:?}");
    assert!(!frames.is_empty(), "the picture shown from 3 s to 5 s was not found");
    for f in &frames {
        assert!((3.0..5.0).contains(&f.timestamp), "{f:?}");
        assert_eq!(f.file_name.as_deref(), Some("known.png"));
        assert_eq!(f.set, "known pictures");
    }
}

#[test]
#[cfg_attr(
    not(mediahash_video_tools),
    ignore = "needs ffmpeg and ffprobe (apt-get install ffmpeg)"
)]
fn mh_hash_prints_vpdq_and_refset_build_imports_lists() {
    let mh = env!("CARGO_BIN_EXE_mh");
    let video = repo().join("tests/data/video/mandelbrot-2997.mp4");
    let out = Command::new(mh).args(["hash", "--video-fps", "1"]).arg(&video).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let line: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let reference = parse_list(
        &std::fs::read_to_string(repo().join("tests/vectors/vpdq/mandelbrot-2997.mp4.1.txt"))
            .unwrap(),
    )
    .unwrap();
    let vpdq = line["vpdq"].as_array().unwrap();
    assert_eq!(vpdq.len(), reference.len());
    for (v, r) in vpdq.iter().zip(&reference) {
        assert_eq!(v["frame"], r.frame);
        assert_eq!(v["quality"], r.quality);
        assert_eq!(v["hash"], r.hash.to_hex());
        assert_eq!(
            format!("{:.3}", v["timestamp"].as_f64().unwrap()),
            format!("{:.3}", r.timestamp)
        );
    }
    assert_eq!(line["video"]["not_vpdq_equal"], serde_json::json!([]));
    assert!(line["video"]["ffmpeg_version"].as_str().unwrap().starts_with("ffmpeg version"));

    // Without ffmpeg: the line says why, the exit status says the output is incomplete.
    let out = Command::new(mh)
        .args(["hash", "--video-fps", "1", "--ffmpeg", "/nonexistent/ffmpeg"])
        .arg(&video)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let line: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(line["video_error"].as_str().unwrap().contains("not found"), "{line}");

    // A vPDQ list into a set, then found by its video id.
    let tmp = tempfile::tempdir().unwrap();
    let set = tmp.path().join("videos.mhset");
    let out = Command::new(mh)
        .args(["refset", "build", "-o"])
        .arg(&set)
        .arg("--alert-vpdq")
        .arg(repo().join("tests/vectors/vpdq/testsrc2-h264.mp4.0.txt"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let set = mediahash::refset::RefSet::open(&set).unwrap();
    set.verify().unwrap();
    assert_eq!(set.video_frame_count(), 120);
    // A file that is not a vPDQ list is refused.
    let out = Command::new(mh)
        .args(["refset", "build", "-o"])
        .arg(tmp.path().join("bad.mhset"))
        .arg("--alert-vpdq")
        .arg(repo().join("tests/vectors/vpdq/README.txt"))
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
#[cfg_attr(
    not(mediahash_video_tools),
    ignore = "needs ffmpeg and ffprobe (apt-get install ffmpeg)"
)]
fn mh_scan_reports_videos_in_every_format() {
    let mh = env!("CARGO_BIN_EXE_mh");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    for d in ["pictures", "lists", "evidence", "work"] {
        std::fs::create_dir(dir.join(d)).unwrap();
    }
    let picture = make(
        &dir.join("pictures"),
        "known.png",
        &["-f", "lavfi", "-i", "testsrc2=s=240x180", "-frames:v", "1"],
    );
    let known = make(
        &dir.join("work"),
        "known.mkv",
        &[
            "-f",
            "lavfi",
            "-i",
            "mandelbrot=s=240x180:r=15",
            "-t",
            "3",
            "-c:v",
            "libx264",
            "-crf",
            "12",
        ],
    );
    let (list, _) = vpdq_list_by_mh_hash(&known, "0");
    std::fs::write(dir.join("lists/known-video.txt"), list).unwrap();
    let set = dir.join("work/set.mhset");
    let status = Command::new(mh)
        .args(["refset", "build", "-o"])
        .arg(&set)
        .arg("--alert-vpdq")
        .arg(dir.join("lists"))
        .arg("--alert-images")
        .arg(dir.join("pictures"))
        .status()
        .unwrap();
    assert!(status.success());
    let ev = dir.join("evidence");
    make(
        &ev,
        "copy.mp4",
        &["-i", known.to_str().unwrap(), "-vf", "scale=120:90", "-c:v", "libx264"],
    );
    make(
        &ev,
        "shows-picture.mkv",
        &[
            "-f",
            "lavfi",
            "-i",
            "life=s=240x180:r=15:mold=10:ratio=0.2",
            "-loop",
            "1",
            "-t",
            "2",
            "-i",
            picture.to_str().unwrap(),
            "-filter_complex",
            "[0:v]trim=0:2,setpts=PTS-STARTPTS,format=yuv420p[a];[1:v]fps=15,format=yuv420p[b];[a][b]concat=n=2:v=1",
            "-c:v",
            "libx264",
        ],
    );
    make(
        &ev,
        "other.webm",
        &[
            "-f",
            "lavfi",
            "-i",
            "cellauto=s=160x120:r=10:rule=30",
            "-t",
            "3",
            "-c:v",
            "libvpx",
            "-b:v",
            "100k",
        ],
    );
    let bytes = std::fs::read(ev.join("copy.mp4")).unwrap();
    std::fs::write(ev.join("truncated.mp4"), &bytes[..bytes.len() / 3]).unwrap();

    let scan = |format: &str, extra: &[&str]| {
        let out = Command::new(mh)
            .args(["scan", "--no-progress", "--threads", "2", "--format", format, "--refset"])
            .arg(&set)
            .args(extra)
            .arg(&ev)
            .output()
            .unwrap();
        (out.status.code(), String::from_utf8(out.stdout).unwrap())
    };
    let (code, jsonl) = scan("jsonl", &[]);
    assert_eq!(code, Some(2), "the truncated video is an error: exit 2");
    let entries: Vec<serde_json::Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["record"] == "entry")
        .collect();
    let entry = |name: &str| {
        entries
            .iter()
            .find(|e| e["path"].as_str().unwrap().ends_with(name))
            .unwrap_or_else(|| panic!("{name} not in report"))
    };
    let copy = entry("copy.mp4");
    assert_eq!(copy["disposition"], "alert", "{copy}");
    let m = &copy["video"]["video_matches"][0];
    assert_eq!(
        (m["video_id"].as_str(), m["rule"].as_str()),
        (Some("known-video"), Some("reference"))
    );
    assert!(m["query_percent"].as_f64().unwrap() >= 80.0);
    let shows = entry("shows-picture.mkv");
    assert_eq!(shows["disposition"], "alert", "{shows}");
    let f = &shows["video"]["frame_matches"][0];
    assert_eq!(f["file_name"], "known.png");
    assert!((2.0..4.0).contains(&f["timestamp"].as_f64().unwrap()), "{f}");
    let other = entry("other.webm");
    assert_eq!(other["disposition"], "other", "{other}");
    assert_eq!(other["video"]["codec"], "vp8");
    assert!(other["video"]["frames_hashed"].as_u64().unwrap() >= 3);
    let truncated = entry("truncated.mp4");
    assert_eq!(truncated["disposition"], "error");
    assert_eq!(truncated["reason_code"], "video-not-hashed");

    // The other formats carry the same.
    let (_, csv) = scan("csv", &[]);
    assert!(csv.contains("best video match known-video"), "{csv}");
    let (_, dfxml) = scan("dfxml", &[]);
    assert!(dfxml.contains("<mh:video_match ") && dfxml.contains("<mh:frame_match "), "{dfxml}");
    let (_, case) = scan("case", &[]);
    assert!(
        case.contains("video match alert") && case.contains("picture \\\"known.png\\\""),
        "{case}"
    );

    // Without ffmpeg: every video is an error record saying why; exit 2.
    let (code, jsonl) = scan("jsonl", &["--ffmpeg", "/nonexistent/ffmpeg"]);
    assert_eq!(code, Some(2));
    let missing = jsonl.lines().filter(|l| l.contains("video-not-hashed")).count();
    assert_eq!(missing, 4, "{jsonl}");
    // --no-videos: hashed as files only.
    let (_, jsonl) = scan("jsonl", &["--no-videos"]);
    assert!(!jsonl.contains("\"video\""));
}

/// A damaged "PDQ video frames" section: `open` still works (cheap checks), `verify` names
/// the problem, reading never panics.
#[test]
fn damaged_video_frame_sections_fail_verification() {
    use mediahash::refset::build::{BuildOptions, Builder};
    use mediahash::refset::{Disposition, RefSet};

    let tmp = tempfile::tempdir().unwrap();
    let list = repo().join("tests/vectors/vpdq/testsrc2-vfr.mkv.0.txt");
    let mut builder = Builder::new(BuildOptions::default()).unwrap();
    mediahash::import::vpdq::import_vpdq_lists(&mut builder, &list, Disposition::Alert, None)
        .unwrap();
    let (bytes, _) = builder.finish_to_vec().unwrap();
    RefSet::from_bytes(bytes.clone()).unwrap().verify().unwrap();
    let u64_at = |b: &[u8], at: usize| u64::from_le_bytes(b[at..at + 8].try_into().unwrap());
    let table = u64_at(&bytes, 0x18) as usize;
    let count = u32::from_le_bytes(bytes[0x20..0x24].try_into().unwrap()) as usize;
    let section = (0..count)
        .map(|i| table + 32 * i)
        .find(|&e| u32::from_le_bytes(bytes[e..e + 4].try_into().unwrap()) == 0x1407)
        .expect("video frames section");
    let offset = u64_at(&bytes, section + 8) as usize;
    let reseal = |b: &mut Vec<u8>| {
        let n = b.len() - 32;
        let h = blake3::hash(&b[..n]);
        b[n..].copy_from_slice(h.as_bytes());
    };
    let _ = tmp;
    // Quality 200; frames out of order; a record id past the records.
    type Edit<'a> = &'a dyn Fn(&mut Vec<u8>);
    let edits: [Edit; 3] = [
        &|b| b[offset + 12] = 200,
        &|b| b[offset + 48 + 4..offset + 48 + 8].copy_from_slice(&0u32.to_le_bytes()),
        &|b| b[offset..offset + 4].copy_from_slice(&9999u32.to_le_bytes()),
    ];
    for edit in edits {
        let mut bad = bytes.clone();
        edit(&mut bad);
        reseal(&mut bad);
        let set = RefSet::from_bytes(bad).unwrap();
        assert!(set.verify().is_err());
        let _ = set.videos();
    }
}

/// Videos with no path of their own (ZIP members, nested ZIPs, files inside a FAT disk
/// image) are decoded from an in-memory copy and give the vPDQ the same file gives from a
/// folder; an MP4 with its index at the end (needs seeking) is among them. Past
/// `--video-spool-mib` they are error records that say so.
#[test]
#[cfg_attr(
    not(all(mediahash_video_tools, mediahash_disk_tools, mediahash_zip_tools)),
    ignore = "needs ffmpeg, zip and mtools (apt-get install ffmpeg zip mtools dosfstools)"
)]
fn videos_inside_archives_and_disk_images_are_hashed_from_memory() {
    let mh = env!("CARGO_BIN_EXE_mh");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    for d in ["lists", "evidence", "work", "zip"] {
        std::fs::create_dir(dir.join(d)).unwrap();
    }
    let known = make(
        &dir.join("work"),
        "known.mp4",
        &["-f", "lavfi", "-i", "mandelbrot=s=200x150:r=10", "-t", "4", "-c:v", "libx264"],
    );
    let moov = std::fs::read(&known).unwrap();
    let at = |tag: &[u8]| moov.windows(4).position(|w| w == tag).unwrap();
    assert!(at(b"moov") > at(b"mdat"), "the clip keeps its index at the end");
    let (list, frames) = vpdq_list_by_mh_hash(&known, "1");
    assert!(frames >= 4);
    std::fs::write(dir.join("lists/known-video.txt"), list).unwrap();
    let set = dir.join("work/set.mhset");
    let built = Command::new(mh)
        .args(["refset", "build", "-o"])
        .arg(&set)
        .arg("--alert-vpdq")
        .arg(dir.join("lists"))
        .status()
        .unwrap();
    assert!(built.success());

    // A ZIP holding the clip (deflated) and a nested ZIP holding it again.
    let ev = dir.join("evidence");
    std::fs::copy(&known, dir.join("zip/clip.mp4")).unwrap();
    let zip = |out: &Path, what: &str| {
        let ok = Command::new("zip")
            .arg("-q")
            .arg(out)
            .arg(what)
            .current_dir(dir.join("zip"))
            .status()
            .unwrap();
        assert!(ok.success());
    };
    zip(&dir.join("zip/inner.zip"), "clip.mp4");
    zip(&ev.join("export.zip"), "clip.mp4");
    zip(&ev.join("export.zip"), "inner.zip");
    // A FAT16 image holding it (a second evidence root: disk images are opened as roots).
    let image = dir.join("work/stick.img");
    std::fs::File::create(&image).unwrap().set_len(16 << 20).unwrap();
    assert!(
        Command::new("mkfs.vfat").args(["-F", "16"]).arg(&image).output().unwrap().status.success()
    );
    let copied = Command::new("mcopy")
        .arg("-i")
        .arg(&image)
        .arg(&known)
        .arg("::/clip.mp4")
        .output()
        .unwrap();
    assert!(copied.status.success(), "{}", String::from_utf8_lossy(&copied.stderr));

    let scan = |extra: &[&str]| {
        let out = Command::new(mh)
            .args(["scan", "--no-progress", "--threads", "2", "--format", "jsonl", "--refset"])
            .arg(&set)
            .args(extra)
            .arg(&ev)
            .arg(&image)
            .output()
            .unwrap();
        let entries: Vec<serde_json::Value> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|v| v["record"] == "entry" && v["path"].as_str().unwrap().ends_with("clip.mp4"))
            .collect();
        (out.status.code(), entries)
    };
    let (code, clips) = scan(&[]);
    assert_eq!(clips.len(), 3, "the ZIP member, the nested member, the file in the image");
    for clip in &clips {
        assert_eq!(clip["disposition"], "alert", "{clip}");
        assert_eq!(clip["video"]["frames_hashed"].as_u64(), Some(frames), "{clip}");
        assert_eq!(clip["video"]["video_matches"][0]["video_id"], "known-video", "{clip}");
        assert_eq!(clip["video"]["video_matches"][0]["query_percent"].as_f64(), Some(100.0));
    }
    assert_eq!(code, Some(1), "alerts found, nothing incomplete");

    // Past the in-memory limit: error records that say so, and the scan is incomplete.
    let (code, clips) = scan(&["--video-spool-mib", "0"]);
    assert_eq!(code, Some(2));
    assert_eq!(clips.len(), 3);
    for clip in &clips {
        assert_eq!(clip["reason_code"], "video-not-hashed", "{clip}");
        assert!(clip["video"]["error"].as_str().unwrap().contains("in-memory limit"), "{clip}");
    }
}

/// `compare` against python-threatexchange's `match_VPDQ_hash_brute` (Meta's matcher, used
/// by HMA): both percentages, on the reference lists and on copies with bits flipped around
/// the radius, frames dropped, hashes repeated with other qualities and low-quality frames
/// (tests/vectors/vpdq-match, made by scripts/vpdq_match_vectors.py).
#[test]
fn vpdq_matching_equals_python_threatexchange() {
    let dir = repo().join("tests/vectors/vpdq-match");
    let list = |name: &str| {
        let text = std::fs::read_to_string(dir.join(format!("{name}.txt"))).unwrap();
        parse_list(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    let table = std::fs::read_to_string(dir.join("matches.csv")).unwrap();
    let mut checked = 0;
    let mut partial = 0;
    for line in table.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let options = VpdqMatchOptions {
            quality: f[2].parse().unwrap(),
            distance: f[3].parse().unwrap(),
            ..Default::default()
        };
        let (want_query, want_target): (f64, f64) = (f[4].parse().unwrap(), f[5].parse().unwrap());
        let got = compare(&list(f[0]), &list(f[1]), &options);
        assert!(
            (got.query_percent - want_query).abs() < 1e-5
                && (got.target_percent - want_target).abs() < 1e-5,
            "{line}: mediahash {:.6},{:.6}",
            got.query_percent,
            got.target_percent
        );
        checked += 1;
        partial += usize::from(want_query > 0.0 && want_query < 100.0);
    }
    assert!(checked >= 300 && partial >= 20, "{checked} comparisons, {partial} partial");
}
