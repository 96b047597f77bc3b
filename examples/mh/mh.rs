//! `mh`: the examiner's tool. A thin front over the mediahash library's public API.
//!
//! * `mh hash`: digests and perceptual hashes of files, JSON Lines on stdout.
//! * `mh refset`: build, inspect, verify and query `.mhset` reference sets.
//! * `mh scan`: the read-only scan of seized media against reference sets.
//!
//! Exit status: 0 success, 1 alerts found (scan), 2 errors occurred, 64 usage error.

mod hash;
mod refset;
mod scan;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "mh", version, about = "Forensic media-hash matching (mediahash)")]
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Hash(args) => hash::run(args),
        Command::Refset(command) => refset::run(command),
        Command::Scan(args) => scan::run(args),
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
        Err(e) => {
            eprintln!("mh: error: {e}");
            ExitCode::from(2)
        }
    }
}
