//! `mh`: the examiner's tool. A thin front over the mediahash library's public API.
//!
//! * `mh hash`: digests and perceptual hashes of files, JSON Lines on stdout.
//! * `mh refset`: build, inspect, verify and query `.mhset` reference sets.
//! * `mh scan`: the read-only scan of seized media against reference sets.
//! * `mh review`: the examiner's review page (HTML) from a scan report.
//!
//! Exit status: see [`status`] (and `mh --help`).

/// `eprintln!` that never panics: std's panics when the write fails, so a closed stderr
/// (`mh ... 2>&1 | head -1`) would abort the run with a panic; a message that cannot be
/// shown is lost instead. Defined before the modules so that it shadows std's in all of
/// them. (Standard output is written with `writeln!` and its errors are reported.)
macro_rules! eprintln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

mod demo;
mod hash;
mod refset;
mod review;
mod scan;
mod verify;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use thiserror::Error;

/// The exit statuses, one meaning each, whatever the command.
pub mod status {
    /// Success: nothing found that needs attention.
    pub const CLEAN: u8 = 0;
    /// `scan`: alerts found (and every entry was examined).
    pub const ALERTS: u8 = 1;
    /// Some input could not be read: evidence (`scan`, `hash`), or a damaged set (`refset
    /// verify`). Wins over 1: part of the evidence was not examined.
    pub const UNREAD: u8 = 2;
    /// The command failed: a reference set could not be loaded or built, the report or
    /// output could not be written, or another internal error. No valid result was produced.
    pub const FAILURE: u8 = 3;
    /// Usage error: an unknown option, an impossible value, or a request refused before
    /// anything ran (an output that exists, a report under an evidence root).
    pub const USAGE: u8 = 64;
}

const EXIT_STATUS_HELP: &str = "\
Exit status:
  0   success (scan: no alert, no error)
  1   scan: alerts found, every entry examined
  2   some input could not be read: an evidence file or directory (scan, hash), an
      interrupted scan, or a damaged set (refset verify); a disk image whose digests do
      not match or with unreadable chunks (verify-image, scan --verify-image); wins over
      1, and the report's footer gives both counts
  3   failure: a reference set could not be loaded or built (e.g. mostly bad lines), the
      report or output could not be written, or an internal error; no valid result
  64  usage error: unknown option, impossible value (e.g. a radius above the hash length,
      --threads far above the core count), or a refused request (output exists without
      --force, report under an evidence root)";

#[derive(Parser)]
#[command(name = "mh", about = "Forensic media-hash matching (mediahash)")]
#[command(after_help = EXIT_STATUS_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Hash files (directories recursively): MD5, SHA-1, SHA-256, PDQ, pHash, dHash, aHash.
    Hash(hash::HashArgs),
    /// Build, inspect, verify and query .mhset reference sets.
    #[command(subcommand)]
    Refset(refset::RefsetCommand),
    /// Scan evidence read-only against hash sets and write a report for the case file.
    Scan(scan::ScanArgs),
    /// Make the examiner's review page (static HTML, blurred thumbnails, clusters, "look
    /// here first") from a JSON Lines scan report.
    Review(review::ReviewArgs),
    /// Verify disk images: hash the media (MD5, SHA-1) and compare with the digests stored
    /// at acquisition (EWF/E01); exit 2 on a mismatch or an unreadable chunk.
    VerifyImage(verify::VerifyArgs),
}

/// A command line the tool refuses (exit status 64). Other errors exit with 3.
#[derive(Debug, Error)]
#[error("{message}")]
pub struct UsageError {
    /// What is wrong and what to do instead.
    pub message: String,
}

/// A boxed [`UsageError`], for `?` in the commands.
pub fn usage(message: impl Into<String>) -> Box<dyn std::error::Error> {
    Box::new(UsageError { message: message.into() })
}

/// Most worker threads per core that `--threads` accepts: hashing is CPU-bound, and past a
/// few per core (slow storage) more threads only cost memory (each may hold a decoded image).
const MAX_THREADS_PER_CORE: usize = 4;

/// Parses `--threads`: 0 (one per core) up to [`MAX_THREADS_PER_CORE`] per core.
pub fn parse_threads(text: &str) -> Result<usize, String> {
    let n: usize = text.trim().parse().map_err(|e| format!("not a thread count: {e}"))?;
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    let max = cores * MAX_THREADS_PER_CORE;
    if n > max {
        return Err(format!(
            "at most {max} threads on this machine ({MAX_THREADS_PER_CORE} per core, {cores} \
             cores); 0 means one per core"
        ));
    }
    Ok(n)
}

/// `mh --version`: the version and whether this build decodes JPEG with SIMD code.
fn version_text() -> &'static str {
    let jpeg = if mediahash::decode::jpeg_simd_built() {
        "JPEG decoding with SIMD (libjpeg-turbo)"
    } else {
        "JPEG decoding without SIMD (libjpeg-turbo's C code: nasm was missing at build time; \
         same pixels, about 1.5x slower)"
    };
    // Built once per process, for clap's 'static version string.
    Box::leak(format!("{}, {jpeg}", env!("CARGO_PKG_VERSION")).into_boxed_str())
}

/// Prints clap's message; help and version are successes, everything else a usage error.
fn clap_exit(error: clap::Error) -> ExitCode {
    let _ = error.print();
    if error.use_stderr() { ExitCode::from(status::USAGE) } else { ExitCode::SUCCESS }
}

fn main() -> ExitCode {
    let matches = match Cli::command().version(version_text()).try_get_matches() {
        Ok(m) => m,
        Err(e) => return clap_exit(e),
    };
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => return clap_exit(e),
    };
    let result = match cli.command {
        Command::Hash(args) => hash::run(args),
        Command::Refset(command) => refset::run(command),
        Command::Scan(args) => scan::run(args),
        Command::VerifyImage(args) => verify::run(args),
        Command::Review(args) => review::run(args),
    };
    match result {
        Ok(code) => code,
        // A closed pipe (`mh ... | head`) is the reader's choice, not a failure.
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) if e.is::<UsageError>() => {
            eprintln!("mh: usage error: {e}");
            ExitCode::from(status::USAGE)
        }
        Err(e) => {
            eprintln!("mh: error: {e}");
            ExitCode::from(status::FAILURE)
        }
    }
}
