//! `mh review`: the examiner's review page (static HTML with safe thumbnails) from a JSON
//! Lines scan report. A thin front over `mediahash::review`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use mediahash::review::{ReviewError, ReviewOptions, write_review};

use crate::status;

/// Arguments of `mh review`.
#[derive(Args, Debug)]
pub struct ReviewArgs {
    /// The scan's JSON Lines report (`mh scan --report FILE`, format jsonl).
    #[arg(value_name = "REPORT.jsonl")]
    report: PathBuf,
    /// Folder to create for `index.html` and `thumbs/` (new or empty; never under an
    /// evidence root).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// PDQ distance up to which an unknown picture is shown first as a near miss of an
    /// alert picture of the report.
    #[arg(long, default_value_t = mediahash::review::DEFAULT_NEAR_MISS,
          value_parser = clap::value_parser!(u32).range(0..=256))]
    near_miss: u32,
    /// Clustering radius (PDQ bits; default: the scan's match radius).
    #[arg(long, value_parser = clap::value_parser!(u32).range(0..=256))]
    cluster_radius: Option<u32>,
    /// Threads for thumbnails (0: one per core).
    #[arg(long, default_value_t = 0, value_parser = crate::parse_threads)]
    threads: usize,
    /// Make no thumbnails (placeholders only).
    #[arg(long)]
    no_thumbnails: bool,
    /// A reference set (.mhset) whose alert PDQ hashes make near misses too (pictures
    /// just outside the match radius of a known picture are shown first). Repeatable.
    #[arg(long, value_name = "SET.mhset")]
    refset: Vec<PathBuf>,
    /// Another evidence root the output folder must not be under (the report's roots are
    /// always checked). Repeatable.
    #[arg(long, value_name = "DIR")]
    evidence: Vec<PathBuf>,
}

/// The review options of these arguments.
pub fn options(args: &ReviewArgs) -> ReviewOptions {
    ReviewOptions {
        near_miss: args.near_miss,
        cluster_radius: args.cluster_radius,
        no_thumbnails: args.no_thumbnails,
        threads: args.threads,
        extra_roots: args.evidence.clone(),
        ..ReviewOptions::default()
    }
}

/// Writes the review and prints where and the triage figure; the exit status of an error.
pub fn make(
    report: &std::path::Path,
    out: &std::path::Path,
    options: &ReviewOptions,
    references: &[mediahash::scan::LoadedReference],
) -> u8 {
    match write_review(report, out, options, references) {
        Ok(summary) => {
            eprintln!(
                "mh review: {} ({} thumbnails, {} placeholders)",
                summary.index.display(),
                summary.thumbnails,
                summary.placeholders
            );
            for root in &summary.missing_roots {
                eprintln!(
                    "mh review: warning: evidence root {root} (as the report records it) is not \
                     found from this directory: its pictures have placeholders and the output \
                     folder was not checked against it; run mh review where mh scan ran"
                );
            }
            eprintln!("mh review: {}", summary.triage);
            status::CLEAN
        }
        Err(e) => {
            let code = match e {
                ReviewError::OutputInsideEvidence(_) | ReviewError::OutputNotEmpty { .. } => {
                    status::USAGE
                }
                _ => status::FAILURE,
            };
            eprintln!("mh review: error: {e}");
            code
        }
    }
}

/// Runs `mh review`.
pub fn run(args: ReviewArgs) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let mut references = Vec::new();
    for path in &args.refset {
        match mediahash::scan::reference::open_mhset(path) {
            Ok(r) => references.push(r),
            Err(e) => {
                eprintln!("mh review: error: {e}");
                return Ok(ExitCode::from(status::FAILURE));
            }
        }
    }
    Ok(ExitCode::from(make(&args.report, &args.out, &options(&args), &references)))
}
