//! `mh scan`: a thin front over `mediahash::scan`.
//!
//! Exit status: 0 no alert and no error; 1 alerts found; 2 errors occurred (unreadable
//! entries, images that could not be decoded, an interrupted scan, access times of evidence
//! changed, or a fatal error such as an unreadable hash set). Errors win over alerts. 64:
//! refused before starting because reading would change the evidence's access times (see
//! `--allow-atime-changes`).

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, IsTerminal};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use mediahash::refset::Disposition;
use mediahash::report::jsonl::JsonlWriter;
use mediahash::report::{EntryRecord, Footer, Header, ReportFormat, ReportWriter};
use mediahash::scan::{self as lib, LoadedReference, ScanOptions, ScanProgress};

/// Scan evidence read-only; report known (alert / ignore), unknown images, and failures.
#[derive(Args, Debug)]
#[command(
    after_help = "Exit status: 0 clean, 1 alerts found, 2 errors occurred, interrupted or access \
                  times changed, 64 refused: reading would change access times (mount the \
                  evidence read-only, or --allow-atime-changes)."
)]
pub struct ScanArgs {
    /// A compiled reference set (.mhset); repeatable.
    #[arg(long, value_name = "SET.mhset")]
    refset: Vec<PathBuf>,
    /// A hash-set source file whose entries are alerts (VICS JSON, md5sum, PDQ list...);
    /// imported in memory, no build step needed. Repeatable.
    #[arg(long, value_name = "FILE")]
    alert: Vec<PathBuf>,
    /// A hash-set source file whose entries are known harmless (e.g. NSRL). Repeatable.
    #[arg(long, value_name = "FILE")]
    ignore: Vec<PathBuf>,
    /// Write the report here (default: standard output). Refused inside an evidence root.
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// Report format: jsonl, csv, dfxml or case (CASE/UCO JSON-LD).
    #[arg(long, default_value = "jsonl")]
    format: ReportFormat,
    /// Hashing threads (0: one per core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// PDQ match radius (Hamming distance of 256 bits).
    #[arg(long, default_value_t = lib::DEFAULT_PDQ_RADIUS)]
    pdq_radius: u32,
    /// pHash match radius (Hamming distance of 64 bits).
    #[arg(long, default_value_t = lib::DEFAULT_PHASH_RADIUS)]
    phash_radius: u32,
    /// Also match the 8 rotations and mirror images of each picture.
    #[arg(long)]
    dihedral: bool,
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
    /// Skip (and record) regular files larger than this many bytes.
    #[arg(long, value_name = "BYTES")]
    max_file_size: Option<u64>,
    /// Skip (and record) entries matching this glob: a name pattern (`*.tmp`) or a path
    /// relative to the evidence root (`Windows/**`). Repeatable.
    #[arg(long, value_name = "GLOB")]
    exclude: Vec<String>,
    /// Group near-duplicate unknown images (PDQ within --pdq-radius) into clusters.
    #[arg(long)]
    cluster: bool,
    /// Scan the bundled benign demo (examples/demo) with its demo hash sets.
    #[arg(long)]
    demo: bool,
    /// No progress display.
    #[arg(long)]
    no_progress: bool,
    /// Evidence roots: directories or files (mount disks read-only first).
    #[arg(value_name = "EVIDENCE_ROOT", required_unless_present = "demo")]
    roots: Vec<PathBuf>,
}

/// Set by the SIGINT handler; relayed to the scan's cancel flag.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigint(_signal: libc::c_int) {
    // Only an atomic store: async-signal-safe.
    INTERRUPTED.store(true, Ordering::SeqCst);
}

fn install_sigint_handler() {
    let handler: extern "C" fn(libc::c_int) = on_sigint;
    // SAFETY: the handler only performs an atomic store, which is async-signal-safe, and
    // stays valid for the life of the process.
    unsafe { libc::signal(libc::SIGINT, handler as libc::sighandler_t) };
}

/// CSV has no header/footer records: they go to `<report>.provenance.jsonl`.
struct WithSidecar<'a> {
    main: Box<dyn ReportWriter + 'a>,
    sidecar: Option<JsonlWriter<BufWriter<File>>>,
}

impl ReportWriter for WithSidecar<'_> {
    fn header(&mut self, header: &Header) -> io::Result<()> {
        if let Some(s) = self.sidecar.as_mut() {
            s.header(header)?;
        }
        self.main.header(header)
    }
    fn entry(&mut self, entry: &EntryRecord) -> io::Result<()> {
        self.main.entry(entry)
    }
    fn footer(&mut self, footer: &Footer) -> io::Result<()> {
        if let Some(s) = self.sidecar.as_mut() {
            s.footer(footer)?;
        }
        self.main.footer(footer)
    }
}

fn fatal(message: impl std::fmt::Display) -> i32 {
    eprintln!("mh scan: error: {message}");
    2
}

fn create_new(path: &Path) -> Result<File, String> {
    OpenOptions::new().write(true).create_new(true).open(path).map_err(|e| {
        if e.kind() == io::ErrorKind::AlreadyExists {
            format!(
                "{} already exists; choose another report name (reports are never overwritten)",
                path.display()
            )
        } else {
            format!("cannot create {}: {e}", path.display())
        }
    })
}

fn demo_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/demo")
}

pub fn run(args: ScanArgs) -> Result<ExitCode, Box<dyn std::error::Error>> {
    Ok(ExitCode::from(scan(args) as u8))
}

fn scan(mut args: ScanArgs) -> i32 {
    if args.demo {
        let demo = demo_dir();
        if args.roots.is_empty() {
            args.roots.push(demo.join("evidence"));
        }
        args.alert.push(demo.join("sets/demo-vics.json"));
        args.alert.push(demo.join("sets/demo-pdq.txt"));
        args.ignore.push(demo.join("sets/demo-known.md5"));
    }

    // Nothing is written inside the evidence: the report first (the rule in the words of
    // --report), then the scratch space (sets built in memory may spill sorted runs;
    // clustering spools), beside the report, else the system temporary directory.
    if let Some(report) = &args.report
        && let Err(e) = lib::ensure_outside_evidence(report, &args.roots)
    {
        return fatal(e);
    }
    let work_dir = match args.report.as_ref().and_then(|r| r.parent()) {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        Some(_) => PathBuf::from("."),
        None => std::env::temp_dir(),
    };
    if let Err(e) = lib::ensure_work_dir_outside_evidence(&work_dir, &args.roots) {
        return fatal(e);
    }
    if let Some(code) = atime_preflight(&args) {
        return code;
    }
    let mut references: Vec<LoadedReference> = Vec::new();
    for path in &args.refset {
        match lib::reference::open_mhset(path) {
            Ok(r) => references.push(r),
            Err(e) => return fatal(e),
        }
    }
    for (paths, disposition) in
        [(&args.alert, Disposition::Alert), (&args.ignore, Disposition::Ignore)]
    {
        for path in paths {
            match lib::reference::load_source(path, disposition, Some(work_dir.clone())) {
                Ok(r) => references.push(r),
                Err(e) => return fatal(e),
            }
        }
    }

    let cancel = Arc::new(AtomicBool::new(false));
    let progress = Arc::new(ScanProgress::default());
    let options = ScanOptions {
        threads: args.threads,
        follow_symlinks: args.follow_symlinks,
        link_targets: args.link_targets,
        one_file_system: args.one_file_system,
        max_file_size: args.max_file_size,
        exclude: args.exclude.clone(),
        pdq_radius: args.pdq_radius,
        phash_radius: args.phash_radius,
        dihedral: args.dihedral,
        cluster: args.cluster,
        cancel: Some(cancel.clone()),
        progress: Some(progress.clone()),
        command_line: std::env::args_os().map(|a| a.to_string_lossy().into_owned()).collect(),
        spool_dir: Some(work_dir.clone()),
        allow_atime_changes: args.allow_atime_changes,
        ..ScanOptions::default()
    };

    // The report: checked against the evidence before anything is created.
    let stdout = io::stdout();
    let mut writer: WithSidecar<'_> = match &args.report {
        Some(path) => {
            let file = match create_new(path) {
                Ok(f) => f,
                Err(e) => return fatal(e),
            };
            let sidecar = if args.format == ReportFormat::Csv {
                let mut side = path.as_os_str().to_owned();
                side.push(".provenance.jsonl");
                match create_new(Path::new(&side)) {
                    Ok(f) => Some(JsonlWriter::new(BufWriter::new(f))),
                    Err(e) => return fatal(e),
                }
            } else {
                None
            };
            WithSidecar { main: args.format.writer(BufWriter::new(file)), sidecar }
        }
        None => {
            WithSidecar { main: args.format.writer(BufWriter::new(stdout.lock())), sidecar: None }
        }
    };

    install_sigint_handler();
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
                "mh scan: {} entries: {} alert, {} ignore, {} unknown-image, {} other, {} directory, {} skipped, {} error; {} files, {} bytes read in {:.1} s ({:.1} files/s, {:.1} MB/s){}",
                c.entries,
                c.alert,
                c.ignore,
                c.unknown_image,
                c.other,
                c.directory,
                c.skipped,
                c.error,
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
            if let Some(n) = f.clusters {
                eprintln!("mh scan: {n} clusters of near-duplicate unknown images");
            }
            if let Some(path) = &args.report {
                eprintln!("mh scan: report written to {}", path.display());
            }
            summary.exit_status()
        }
        Err(e) => fatal(e),
    }
}

/// Warns, before anything is read, about evidence roots whose access times reading would
/// change; returns the exit status (64) when the scan must not start.
fn atime_preflight(args: &ScanArgs) -> Option<i32> {
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
        return Some(64);
    }
    eprintln!(
        "mh scan: --allow-atime-changes: scanning anyway; the footer counts what was read \
         without O_NOATIME and the exit status will be 2."
    );
    None
}

/// Relays Ctrl-C to the scan and, on a terminal, draws progress from the scan's counters.
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
