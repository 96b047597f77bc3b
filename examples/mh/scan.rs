//! `mh scan`: a thin front over `mediahash::scan`.
//!
//! Exit status: 0 no alert and no error; 1 alerts found; 2 some entry could not be examined
//! (unreadable entries, images that could not be decoded, an interrupted scan, access times of
//! evidence changed with `--allow-atime-changes`), which wins over alerts; 3 the scan could not
//! run or its report could not be written (e.g. a hash set that cannot be loaded); 64 usage
//! error, or refused before starting because reading would change the evidence's access times.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, IsTerminal};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use mediahash::evidence::archive::ArchiveLimits;
use mediahash::import::policy::check_usable;
use mediahash::refset::Disposition;
use mediahash::report::jsonl::JsonlWriter;
use mediahash::report::{
    EntryDisposition, EntryRecord, Footer, Header, ReportFormat, ReportWriter,
};
use mediahash::scan::{self as lib, LoadedReference, ScanError, ScanOptions, ScanProgress};

use crate::demo::Demo;
use crate::status::{FAILURE, UNREAD, USAGE};

/// Scan evidence read-only; report known (alert / ignore), unknown images, and failures.
#[derive(Args, Debug)]
#[command(after_help = "Exit status: 0 clean; 1 alerts found; 2 some entry could not be \
    examined, interrupted, or access times changed (wins over 1; the footer counts both); 3 the \
    scan could not run or write its report; 64 usage error, or refused because reading would \
    change access times (mount the evidence read-only, or --allow-atime-changes).")]
pub struct ScanArgs {
    /// A compiled reference set (.mhset), or the manifest of a sharded set (`mh refset
    /// shard`: exact lookups routed to one shard, radius searches to all); repeatable.
    #[arg(long, value_name = "SET.mhset")]
    refset: Vec<PathBuf>,
    /// Map --refset files in place instead of copying them into memory: for sets too large
    /// to copy. The files must not be modified or truncated during the scan (a truncated
    /// file crashes mh); sets replaced by `mh refset build` are safe.
    #[arg(long)]
    map_refsets: bool,
    /// A hash-set source file whose entries are alerts (VICS JSON, md5sum, PDQ list...);
    /// imported in memory, no build step needed. Repeatable.
    #[arg(long, value_name = "FILE")]
    alert: Vec<PathBuf>,
    /// A hash-set source file whose entries are known harmless (e.g. NSRL). Repeatable.
    #[arg(long, value_name = "FILE")]
    ignore: Vec<PathBuf>,
    /// A vPDQ list of a known video (the reference's text format, the file name as video
    /// id), or a folder of them, whose videos are alerts; imported in memory. Repeatable.
    #[arg(long, value_name = "PATH")]
    alert_vpdq: Vec<PathBuf>,
    /// As --alert-vpdq, for known harmless videos. Repeatable.
    #[arg(long, value_name = "PATH")]
    ignore_vpdq: Vec<PathBuf>,
    /// Write the report here (default: standard output). Refused inside an evidence root.
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// Report format: jsonl, csv, dfxml or case (CASE/UCO JSON-LD).
    #[arg(long, default_value = "jsonl")]
    format: ReportFormat,
    /// Hashing threads (0: one per core; at most 4 per core).
    #[arg(long, default_value_t = 0, value_parser = crate::parse_threads)]
    threads: usize,
    /// PDQ match radius (Hamming distance of 256 bits: 0-256).
    #[arg(long, default_value_t = mediahash::refset::DEFAULT_PDQ_RADIUS,
          value_parser = clap::value_parser!(u32).range(0..=256))]
    pdq_radius: u32,
    /// pHash match radius (Hamming distance of 64 bits: 0-64).
    #[arg(long, default_value_t = mediahash::refset::DEFAULT_U64_RADIUS,
          value_parser = clap::value_parser!(u32).range(0..=64))]
    phash_radius: u32,
    /// Also match the 8 rotations and mirror images of each picture.
    #[arg(long)]
    dihedral: bool,
    /// Robust matching: also find pictures behind borders, letterbox bars, blurred padding,
    /// screenshot chrome and banners, turned by up to 10°, rotated or mirrored, and (in sets
    /// built with --alert-images) cropped; each match says what was done. The plain match
    /// is always made too.
    #[arg(long)]
    robust: bool,
    /// Radius for robust pairs (PDQ bits, 0-256; default calibrated on negatives, see
    /// docs/robustness.md).
    #[arg(long, default_value_t = mediahash::robust::DEFAULT_ROBUST_RADIUS,
          value_parser = clap::value_parser!(u32).range(0..=256))]
    robust_radius: u32,
    /// Follow symbolic links (loops are detected and reported).
    #[arg(long)]
    follow_symlinks: bool,
    /// Read symbolic-link targets even on a writable mount (updates the links' access times).
    #[arg(long)]
    link_targets: bool,
    /// Read evidence even where that changes its access times: where O_NOATIME is refused
    /// (you do not own the files and lack CAP_FOWNER) on a mount that records access times.
    /// Without it the scan refuses to start when that is the case for an evidence root, and
    /// leaves such entries unread (errors). With it they are read, counted in the footer,
    /// and the exit status is 2.
    #[arg(long)]
    allow_atime_changes: bool,
    /// Do not enter other file systems mounted below an evidence root.
    #[arg(long)]
    one_file_system: bool,
    /// Hash an evidence root that is a disk image (E01, raw or split raw with MBR/GPT or a
    /// FAT, exFAT, NTFS or ext2/3/4 file system, detected by content) as one file instead of reading
    /// its files.
    #[arg(long)]
    no_disk_images: bool,
    /// Do not read the members of ZIP archives (detected by content, in folders and disk
    /// images): hash archives as files only.
    #[arg(long)]
    no_archives: bool,
    /// Do not carve pictures (JPEG, PNG, GIF, BMP, WebP) from disk images' free space,
    /// unpartitioned space and volumes whose file system is unknown.
    #[arg(long)]
    no_carve: bool,
    /// Do not hash videos (found by content) as vPDQ: hash them as files only.
    #[arg(long)]
    no_videos: bool,
    /// vPDQ sampling: frames hashed per second of video (1 = the reference's default; 0 =
    /// every frame).
    #[arg(long, value_name = "FPS", default_value_t = 1.0)]
    video_fps: f64,
    /// The `ffmpeg` program that decodes videos (default: `ffmpeg` on PATH; `ffprobe` is
    /// taken from the same directory). Without it every video is an error record and the
    /// exit status is 2.
    #[arg(long, value_name = "PATH", default_value = "ffmpeg")]
    ffmpeg: std::path::PathBuf,
    /// Wall-time limit per video in seconds (ffmpeg is killed past it; the video is an
    /// error record).
    #[arg(long, value_name = "SECONDS", default_value_t = mediahash::video::DEFAULT_TIME_LIMIT.as_secs())]
    video_time_limit: u64,
    /// Address-space limit of each ffmpeg process, in MiB (0: none).
    #[arg(long, value_name = "MIB", default_value_t = mediahash::video::DEFAULT_MEMORY_LIMIT >> 20)]
    video_memory_mib: u64,
    /// Largest video inside a disk image or archive copied into memory (never to disk) to
    /// be decoded, in MiB; larger ones are error records. Each scan thread holds at most
    /// one copy.
    #[arg(long, value_name = "MIB", default_value_t = mediahash::video::spool::DEFAULT_SPOOL_LIMIT >> 20)]
    video_spool_mib: u64,
    /// Deepest ZIP nesting read (1: members of archives met as files; 2: also archives in
    /// those...). 0 reads no archive.
    #[arg(long, value_name = "N", default_value_t = ArchiveLimits::default().max_depth)]
    archive_depth: u32,
    /// Zip-bomb limit: largest uncompressed/compressed ratio of a member over 1 MiB.
    #[arg(long, value_name = "RATIO", default_value_t = ArchiveLimits::default().max_ratio)]
    archive_max_ratio: u64,
    /// Zip-bomb limit: largest total uncompressed size of one archive's members, nested
    /// archives included, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = ArchiveLimits::default().max_bytes)]
    archive_max_bytes: u64,
    /// Zip-bomb limit: most entries in one archive's central directory.
    #[arg(long, value_name = "N", default_value_t = ArchiveLimits::default().max_entries)]
    archive_max_entries: u64,
    /// Largest compressed nested archive inflated into memory to read its members, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = ArchiveLimits::default().max_nested_in_memory)]
    archive_max_nested_size: u64,
    /// Before scanning, verify every root that is a disk image: hash its media (MD5,
    /// SHA-1) and compare with the digests stored at acquisition (EWF). The outcome goes
    /// into the report header; a mismatch or unreadable chunk is reported on stderr and
    /// makes the exit status 2 (the scan still runs).
    #[arg(long)]
    verify_image: bool,
    /// Skip (and record) regular files larger than this many bytes.
    #[arg(long, value_name = "BYTES")]
    max_file_size: Option<u64>,
    /// Memory shared by the image decodes in flight, in MB (default: a quarter of this
    /// machine's memory). Decodes wait for their share; a picture needing more than all of
    /// it is recorded as an error instead of risking an out-of-memory kill.
    #[arg(long, value_name = "MB")]
    decode_memory: Option<u64>,
    /// Skip (and record) entries matching this glob: a name pattern (`*.tmp`) or a path
    /// relative to the evidence root (`Windows/**`). Repeatable.
    #[arg(long, value_name = "GLOB")]
    exclude: Vec<String>,
    /// Group near-duplicate unknown images (PDQ within --pdq-radius) into clusters.
    #[arg(long)]
    cluster: bool,
    /// After the scan, write the review page (index.html and thumbnails) into this new
    /// folder (`mh review`); needs --report FILE in the jsonl format.
    #[arg(long, value_name = "DIR")]
    review: Option<PathBuf>,
    /// Use --refset files without the full check (trailer checksum and structure) made
    /// before a scan; a damaged set is otherwise refused (exit 3). The check costs one
    /// sequential read of each set (see the README for measured times).
    #[arg(long)]
    no_verify: bool,
    /// Use --alert/--ignore files even when no line, or fewer good lines than bad, could be
    /// read (refused by default: usually the wrong file or format). Also --allow-empty.
    #[arg(long, visible_alias = "allow-empty")]
    allow_bad_lines: bool,
    /// Scan the bundled benign demo (built in; see examples/demo) with its demo hash sets.
    #[arg(long)]
    demo: bool,
    /// No progress display.
    #[arg(long)]
    no_progress: bool,
    /// Evidence roots: directories or files (mount disks read-only first).
    #[arg(value_name = "EVIDENCE_ROOT", required_unless_present = "demo")]
    roots: Vec<PathBuf>,
}

/// Set by the SIGINT / SIGTERM handler; relayed to the scan's cancel flag.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

#[cfg(unix)]
extern "C" fn on_stop_signal(_signal: libc::c_int) {
    // Only an atomic store: async-signal-safe.
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// SIGINT (Ctrl-C) and SIGTERM (`kill`, shutdown) both stop the scan: decodes in progress
/// stop at their next row, and the report gets its footer marked incomplete. The handler
/// stays installed, so a repeated signal never kills the process before the footer is
/// written.
#[cfg(unix)]
fn install_stop_handlers() {
    let handler: extern "C" fn(libc::c_int) = on_stop_signal;
    for signal in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: sigaction with a zeroed mask and no SA_RESETHAND keeps the handler for
        // later signals; the handler only performs an atomic store, which is
        // async-signal-safe, and stays valid for the life of the process.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = handler as libc::sighandler_t;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut());
        }
    }
}

/// Ctrl-C and Ctrl-Break stop the scan as SIGINT does on Unix (the handler runs on a thread
/// of its own and only sets the flag; returning TRUE keeps the process alive to finish the
/// report's footer).
#[cfg(windows)]
fn install_stop_handlers() {
    unsafe extern "system" fn on_console_event(_event: u32) -> windows_sys::core::BOOL {
        INTERRUPTED.store(true, Ordering::SeqCst);
        1
    }
    // SAFETY: the handler is a plain function valid for the life of the process.
    unsafe {
        windows_sys::Win32::System::Console::SetConsoleCtrlHandler(Some(on_console_event), 1);
    }
}

/// The report writer, plus what the examiner sees on stderr afterwards. CSV has no
/// header/footer records: they go to `<report>.provenance.jsonl`.
struct WithSidecar<'a> {
    main: Box<dyn ReportWriter + 'a>,
    sidecar: Option<JsonlWriter<BufWriter<File>>>,
    notable: Notable,
}

impl ReportWriter for WithSidecar<'_> {
    fn header(&mut self, header: &Header) -> io::Result<()> {
        if let Some(s) = self.sidecar.as_mut() {
            s.header(header)?;
        }
        self.main.header(header)
    }
    fn entry(&mut self, entry: &EntryRecord) -> io::Result<()> {
        self.notable.add(entry);
        self.main.entry(entry)
    }
    fn footer(&mut self, footer: &Footer) -> io::Result<()> {
        if let Some(s) = self.sidecar.as_mut() {
            s.footer(footer)?;
        }
        self.main.footer(footer)
    }
}

fn fatal(status: u8, message: impl std::fmt::Display) -> u8 {
    let what = if status == USAGE { "usage error" } else { "error" };
    eprintln!("mh scan: {what}: {message}");
    status
}

/// The exit status of a scan that could not run or finish.
fn scan_error_status(error: &ScanError) -> u8 {
    match error {
        // The evidence itself could not be read.
        ScanError::Root { .. } => UNREAD,
        // Refused before anything ran: the command line must change.
        ScanError::NoRoots
        | ScanError::ReportInsideEvidence { .. }
        | ScanError::WorkDirInsideEvidence { .. }
        | ScanError::Exclude(_) => USAGE,
        _ => FAILURE,
    }
}

/// Creates a report file that must not exist yet; the error carries its exit status.
fn create_new(path: &Path) -> Result<File, (u8, String)> {
    OpenOptions::new().write(true).create_new(true).open(path).map_err(|e| {
        if e.kind() == io::ErrorKind::AlreadyExists {
            let message = format!(
                "{} already exists; choose another report name (reports are never overwritten)",
                path.display()
            );
            (USAGE, message)
        } else {
            (FAILURE, format!("cannot create {}: {e}", path.display()))
        }
    })
}

pub fn run(args: ScanArgs) -> Result<ExitCode, Box<dyn std::error::Error>> {
    Ok(ExitCode::from(scan(args)))
}

fn scan(mut args: ScanArgs) -> u8 {
    // Lives until the scan ends: the unpacked demo is removed when it is dropped.
    let _demo = if args.demo {
        let demo = match Demo::unpack() {
            Ok(d) => d,
            Err(e) => return fatal(FAILURE, format!("cannot unpack the demo: {e}")),
        };
        if args.roots.is_empty() {
            args.roots.push(demo.evidence());
        }
        let (alert, ignore) = demo.sets();
        args.alert.extend(alert);
        args.ignore.extend(ignore);
        args.alert_vpdq.push(demo.vpdq_lists());
        Some(demo)
    } else {
        None
    };

    // Nothing is written inside the evidence: the report first (the rule in the words of
    // --report), then the scratch space (sets built in memory may spill sorted runs;
    // clustering spools), beside the report, else the system temporary directory.
    if let Some(report) = &args.report
        && let Err(e) = lib::ensure_outside_evidence(report, &args.roots)
    {
        return fatal(scan_error_status(&e), e);
    }
    let work_dir = match args.report.as_ref().and_then(|r| r.parent()) {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        Some(_) => PathBuf::from("."),
        None => std::env::temp_dir(),
    };
    if let Err(e) = lib::ensure_work_dir_outside_evidence(&work_dir, &args.roots) {
        return fatal(scan_error_status(&e), e);
    }
    if let Some(dir) = &args.review {
        if args.report.is_none() || args.format != ReportFormat::Jsonl {
            return fatal(USAGE, "--review needs --report FILE in the jsonl format");
        }
        if let Err(e) = lib::ensure_work_dir_outside_evidence(dir, &args.roots) {
            return fatal(USAGE, e);
        }
        // Refused now rather than after a long scan (reviews are never overwritten).
        if std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some()) {
            return fatal(
                USAGE,
                format!(
                    "the review folder {} exists and is not empty; choose a new folder",
                    dir.display()
                ),
            );
        }
    }
    if let Some(code) = atime_preflight(&args) {
        return code;
    }
    let mut references: Vec<LoadedReference> = Vec::new();
    for path in &args.refset {
        // Each set is checked in full (checksum and structure: one more sequential pass over
        // its bytes) unless --no-verify.
        let opened = match (args.map_refsets, args.no_verify) {
            // A shard manifest (`mh refset shard`): the shards open as one set.
            // SAFETY: the examiner opted in with --map-refsets, whose help states the contract
            // (the files, here every shard, stay unchanged during the scan).
            (true, no_verify) if lib::reference::is_shard_manifest(path) => unsafe {
                lib::reference::open_sharded_mapped(path, !no_verify)
            },
            (false, no_verify) if lib::reference::is_shard_manifest(path) => {
                lib::reference::open_sharded(path, !no_verify)
            }
            // SAFETY: the examiner opted in with --map-refsets, whose help states the contract
            // (the files stay unchanged during the scan).
            (true, false) => unsafe { lib::reference::open_mhset_mapped_verified(path) },
            // SAFETY: as above.
            (true, true) => unsafe { lib::reference::open_mhset_mapped(path) },
            (false, false) => lib::reference::open_mhset_verified(path),
            (false, true) => lib::reference::open_mhset(path),
        };
        match opened {
            Ok(r) => references.push(r),
            Err(e) => return fatal(FAILURE, e),
        }
    }
    for (paths, disposition, vpdq) in [
        (&args.alert, Disposition::Alert, false),
        (&args.ignore, Disposition::Ignore, false),
        (&args.alert_vpdq, Disposition::Alert, true),
        (&args.ignore_vpdq, Disposition::Ignore, true),
    ] {
        for path in paths {
            let temp_dir = Some(work_dir.clone());
            let loaded = match if vpdq {
                lib::reference::load_vpdq_lists(path, disposition, temp_dir)
            } else {
                lib::reference::load_source(path, disposition, temp_dir)
            } {
                Ok(r) => r,
                Err(e) => return fatal(FAILURE, e),
            };
            if let Err(refused) = check_source(path, &loaded, args.allow_bad_lines) {
                return fatal(FAILURE, refused);
            }
            references.push(loaded);
        }
    }
    if references.is_empty() {
        eprintln!(
            "mh scan: warning: no reference set given (--refset, --alert, --ignore, \
             --alert-vpdq, --ignore-vpdq): nothing can match, every image will be reported \
             unknown-image"
        );
    }

    let cancel = Arc::new(AtomicBool::new(false));
    let progress = Arc::new(ScanProgress::default());
    let mut analyze = mediahash::analyze::AnalyzeOptions::default();
    if let Some(mb) = args.decode_memory {
        analyze.decode_memory_budget =
            mediahash::decode::MemoryBudget::new(mb.saturating_mul(1 << 20));
    }
    if !(args.video_fps.is_finite() && args.video_fps >= 0.0) {
        return fatal(
            FAILURE,
            format!("--video-fps {}: give frames per second, 0 or more", args.video_fps),
        );
    }
    let video = (!args.no_videos).then(|| mediahash::video::VideoOptions {
        ffmpeg: mediahash::video::FfmpegOptions {
            ffmpeg: args.ffmpeg.clone(),
            time_limit: std::time::Duration::from_secs(args.video_time_limit),
            memory_limit: args.video_memory_mib << 20,
            ..Default::default()
        },
        seconds_per_hash: if args.video_fps == 0.0 { 0.0 } else { 1.0 / args.video_fps },
        spool_limit: args.video_spool_mib.saturating_mul(1 << 20),
        ..Default::default()
    });
    let options = ScanOptions {
        video,
        threads: args.threads,
        follow_symlinks: args.follow_symlinks,
        link_targets: args.link_targets,
        one_file_system: args.one_file_system,
        max_file_size: args.max_file_size,
        exclude: args.exclude.clone(),
        pdq_radius: args.pdq_radius,
        phash_radius: args.phash_radius,
        dihedral: args.dihedral,
        robust: args.robust,
        robust_radius: args.robust_radius,
        cluster: args.cluster,
        cancel: Some(cancel.clone()),
        progress: Some(progress.clone()),
        command_line: std::env::args_os().map(|a| a.to_string_lossy().into_owned()).collect(),
        spool_dir: Some(work_dir.clone()),
        analyze,
        allow_atime_changes: args.allow_atime_changes,
        no_disk_images: args.no_disk_images,
        no_archives: args.no_archives,
        no_carve: args.no_carve,
        archive_limits: ArchiveLimits {
            max_depth: args.archive_depth,
            max_ratio: args.archive_max_ratio,
            max_bytes: args.archive_max_bytes,
            max_entries: args.archive_max_entries,
            max_nested_in_memory: args.archive_max_nested_size,
        },
        verify_images: args.verify_image,
        ..ScanOptions::default()
    };

    // From here on a stop signal must not kill the process: the report being created must
    // end with its footer. (A signal before the scan starts gives an empty, incomplete one.)
    install_stop_handlers();

    // The report: checked against the evidence before anything is created.
    let stdout = io::stdout();
    let mut writer: WithSidecar<'_> = match &args.report {
        Some(path) => {
            let file = match create_new(path) {
                Ok(f) => f,
                Err((status, e)) => return fatal(status, e),
            };
            let sidecar = if args.format == ReportFormat::Csv {
                let mut side = path.as_os_str().to_owned();
                side.push(".provenance.jsonl");
                match create_new(Path::new(&side)) {
                    Ok(f) => Some(JsonlWriter::new(BufWriter::new(f))),
                    Err((status, e)) => return fatal(status, e),
                }
            } else {
                None
            };
            WithSidecar {
                main: args.format.writer(BufWriter::new(file)),
                sidecar,
                notable: Notable::default(),
            }
        }
        None => WithSidecar {
            main: args.format.writer(BufWriter::new(stdout.lock())),
            sidecar: None,
            notable: Notable::default(),
        },
    };

    let done = Arc::new(AtomicBool::new(false));
    let show = !args.no_progress && io::stderr().is_terminal();
    let monitor = {
        let (done, cancel, progress) = (done.clone(), cancel.clone(), progress.clone());
        let roots = args.roots.clone();
        let precount_options = ScanOptions { cancel: Some(cancel.clone()), ..options.clone() };
        std::thread::spawn(move || {
            monitor(show, &roots, &precount_options, &progress, &cancel, &done)
        })
    };

    let result = lib::scan(&args.roots, &references, &options, &mut writer);
    done.store(true, Ordering::SeqCst);
    let _ = monitor.join();
    match result {
        Ok(summary) => {
            let f = &summary.footer;
            let c = &f.counts;
            let seconds = (f.duration_ms as f64 / 1000.0).max(0.001);
            eprintln!(
                "mh scan: {c}; {} files, {} bytes read in {:.1} s ({:.1} files/s, {:.1} MB/s){}",
                f.files_read,
                f.bytes_read,
                seconds,
                f.files_read as f64 / seconds,
                f.bytes_read as f64 / 1e6 / seconds,
                if f.completed {
                    String::new()
                } else {
                    " — INTERRUPTED, report incomplete".to_string()
                }
            );
            if f.files_without_noatime + f.dirs_without_noatime > 0 {
                eprintln!(
                    "mh scan: WARNING: access times of the evidence changed: {} files and {} \
                     directories were read without O_NOATIME (--allow-atime-changes); exit status 2",
                    f.files_without_noatime, f.dirs_without_noatime
                );
            }
            for v in &summary.image_verifications {
                if v.status.failed() {
                    eprintln!(
                        "mh scan: *** IMAGE VERIFICATION FAILED *** {} ({}): {}; exit status 2",
                        v.image,
                        v.status.as_str(),
                        v.message
                    );
                } else {
                    eprintln!(
                        "mh scan: image {} {}: MD5 {} SHA-1 {}",
                        v.image,
                        v.status.as_str(),
                        v.computed_md5.as_deref().unwrap_or("-"),
                        v.computed_sha1.as_deref().unwrap_or("-")
                    );
                }
            }
            if let Some(n) = f.clusters {
                eprintln!("mh scan: {n} clusters of near-duplicate unknown images");
            }
            let triage = std::mem::take(&mut writer.notable.triage).finish(args.pdq_radius);
            eprintln!("mh scan: {triage}");
            for line in writer.notable.lines() {
                eprintln!("  {line}");
            }
            let status = summary.exit_status();
            if status == i32::from(UNREAD) && c.alert > 0 {
                eprintln!(
                    "mh scan: exit status 2 (not everything could be examined) although {} \
                     alerts were found: errors win, the footer counts both",
                    c.alert
                );
            }
            if let Some(path) = &args.report {
                eprintln!("mh scan: report written to {}", path.display());
            }
            if let (Some(dir), Some(report)) = (&args.review, &args.report) {
                drop(writer);
                let options = mediahash::review::ReviewOptions {
                    threads: args.threads,
                    cluster_radius: Some(args.pdq_radius),
                    extra_roots: args.roots.clone(),
                    ..Default::default()
                };
                let code = crate::review::make(report, dir, &options, &references);
                if code != 0 {
                    return code;
                }
            }
            u8::try_from(status).unwrap_or(FAILURE)
        }
        Err(e) => fatal(scan_error_status(&e), e),
    }
}

/// Warns about bad lines in an `--alert`/`--ignore` file, and refuses the file under the
/// library's rule (no usable line, or more bad than good) unless `allow_bad_lines`.
fn check_source(
    path: &Path,
    loaded: &LoadedReference,
    allow_bad_lines: bool,
) -> Result<(), mediahash::import::policy::UnusableImport> {
    let name = path.display().to_string();
    for source in &loaded.provenance.sources {
        if source.bad_records > 0 {
            eprintln!(
                "mh scan: warning: {name}: {} bad lines skipped, {} records used (`mh refset \
                 build` lists the bad lines)",
                source.bad_records, source.records
            );
        }
        if !allow_bad_lines {
            check_usable(
                &name,
                source.records,
                source.bad_records,
                source.empty_file_records_skipped,
            )?;
        }
    }
    Ok(())
}

/// How many alert lines, and how many error lines, are named on stderr after a scan.
const NOTABLE_SHOWN: usize = 10;

/// The alerts and errors named on stderr after a scan (the first few of each; the report
/// has them all).
#[derive(Default)]
struct Notable {
    alerts: Vec<String>,
    errors: Vec<String>,
    more_alerts: u64,
    more_errors: u64,
    triage: mediahash::review::TriageCounter,
}

impl Notable {
    fn add(&mut self, entry: &EntryRecord) {
        self.triage.add(entry);
        let (shown, more) = match entry.disposition {
            EntryDisposition::Alert => (&mut self.alerts, &mut self.more_alerts),
            EntryDisposition::Error => (&mut self.errors, &mut self.more_errors),
            _ => return,
        };
        if shown.len() < NOTABLE_SHOWN {
            shown.push(notable_line(entry));
        } else {
            *more += 1;
        }
    }

    fn lines(&self) -> Vec<String> {
        let mut out = self.alerts.clone();
        if self.more_alerts > 0 {
            out.push(format!("... and {} more alerts (see the report)", self.more_alerts));
        }
        out.extend(self.errors.iter().cloned());
        if self.more_errors > 0 {
            out.push(format!("... and {} more errors (see the report)", self.more_errors));
        }
        out
    }
}

/// One human-readable line for an alert or an error: `ALERT path  (set, category 1, pdq
/// distance 12 rot90)` or `ERROR path: reason`. Uses only the path, disposition, reason and
/// matches (set, hash kind, distance, transform, category).
fn notable_line(entry: &EntryRecord) -> String {
    if entry.disposition != EntryDisposition::Alert {
        let reason = entry.reason_message().unwrap_or("no reason recorded");
        return format!("ERROR {}: {reason}", entry.path_text());
    }
    let alerts = entry.matches.iter().filter(|m| m.disposition == Disposition::Alert);
    let described: Vec<String> = alerts
        .map(|m| {
            let mut parts = vec![m.set.clone()];
            if let Some(category) = &m.category {
                parts.push(format!("category {category}"));
            }
            let how = match m.distance {
                Some(d) => format!("{} distance {d}", m.hash.as_str()),
                None => format!("{} exact", m.hash.as_str()),
            };
            parts.push(match &m.transform {
                Some(t) => format!("{how} {t}"),
                None => how,
            });
            if let Some(r) = &m.robust {
                parts.push(format!("robust: {}", r.describe()));
            }
            parts.join(", ")
        })
        .chain(entry.video.iter().flat_map(|v| {
            let videos = v.video_matches.iter().filter(|m| m.disposition == Disposition::Alert);
            let frames = v.frame_matches.iter().filter(|m| m.disposition == Disposition::Alert);
            videos
                .map(|m| {
                    format!(
                        "{}, video {}, vpdq {:.0}% of this video's frames, {:.0}% of the known \
                         video's",
                        m.set,
                        m.video_id.as_deref().unwrap_or("?"),
                        m.query_percent,
                        m.known_percent
                    )
                })
                .chain(frames.map(|m| {
                    format!("{}, frame at {:.3} s, pdq distance {}", m.set, m.timestamp, m.distance)
                }))
        }))
        .collect();
    // A file can match many sets and hash kinds; the first few say enough here.
    let mut shown = described.iter().take(3).cloned().collect::<Vec<_>>().join(" | ");
    if described.len() > 3 {
        shown.push_str(&format!(" | +{} more", described.len() - 3));
    }
    let mut line = format!("ALERT {}  ({shown})", entry.path_text());
    if let Some(reason) = &entry.reason {
        line.push_str(&format!("; also: {reason}"));
    }
    line
}

/// Warns, before anything is read, about evidence roots whose access times reading would
/// change; returns the exit status (64) when the scan must not start.
fn atime_preflight(args: &ScanArgs) -> Option<u8> {
    let checks = lib::atime_preflight(&args.roots, &ScanOptions::default());
    let refused: Vec<String> = checks
        .iter()
        .filter(|c| matches!(c.protection, lib::AtimeProtection::Refused))
        .map(|c| c.root.display().to_string())
        .collect();
    if refused.is_empty() {
        return None;
    }
    eprintln!(
        "mh scan: WARNING: reading {} would CHANGE THE ACCESS TIMES of the evidence: O_NOATIME \
         is refused (you do not own it and lack CAP_FOWNER) and its file system is mounted \
         read-write without noatime.",
        refused.join(", ")
    );
    if !args.allow_atime_changes {
        eprintln!(
            "mh scan: not started. Mount the evidence read-only (mount -o ro,noatime ...), run \
             as its owner or root, or accept the change with --allow-atime-changes."
        );
        return Some(USAGE);
    }
    eprintln!(
        "mh scan: --allow-atime-changes: scanning anyway; the footer counts what was read \
         without O_NOATIME and the exit status will be 2."
    );
    None
}

/// Relays SIGINT / SIGTERM to the scan and, on a terminal, draws progress from the scan's
/// counters.
fn monitor(
    show: bool,
    roots: &[PathBuf],
    options: &ScanOptions,
    progress: &ScanProgress,
    cancel: &AtomicBool,
    done: &AtomicBool,
) {
    let bar = if show {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:30} {bytes}/{total_bytes} {bytes_per_sec} ETA {eta} {msg}",
            )
            .expect("valid template"),
        );
        Some(bar)
    } else {
        None
    };
    // The pre-count (for the ETA) runs beside the scan; until it ends the total is unknown.
    let precount = show.then(|| {
        let (roots, options) = (roots.to_vec(), options.clone());
        std::thread::spawn(move || lib::precount(&roots, &options).ok())
    });
    let mut precount = precount;
    while !done.load(Ordering::SeqCst) {
        if INTERRUPTED.load(Ordering::SeqCst) && !cancel.load(Ordering::SeqCst) {
            cancel.store(true, Ordering::SeqCst);
            eprintln!("\nmh scan: interrupted; finishing the report (marked incomplete)");
        }
        if let Some(bar) = &bar {
            if precount.as_ref().is_some_and(|h| h.is_finished())
                && let Some(Some(count)) = precount.take().map(|h| h.join().ok().flatten())
            {
                bar.set_length(count.bytes);
            }
            bar.set_position(progress.bytes.load(Ordering::Relaxed));
            bar.set_message(format!(
                "{} files, {} alerts, {} errors",
                progress.files.load(Ordering::Relaxed),
                progress.alerts.load(Ordering::Relaxed),
                progress.errors.load(Ordering::Relaxed)
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
}
