//! `mh`: the examiner's tool. A thin front over the mediahash library's public API.
//!
//! * `mh hash`: digests and perceptual hashes of files, JSON Lines on stdout.
//! * `mh refset`: build, inspect, verify and query `.mhset` reference sets.
//! * `mh scan`: the read-only scan of seized media against reference sets.
//!
//! Exit status: 0 success, 1 alerts found (scan), 2 errors occurred, 64 usage error.

mod hash;

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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Hash(args) => hash::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("mh: error: {e}");
            ExitCode::from(2)
        }
    }
}
