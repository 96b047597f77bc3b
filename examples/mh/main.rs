//! `mh`: the examiner's command-line tool.

mod scan;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "mh", version, about = "Forensic media-hash matching")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Scan evidence read-only against hash sets and write a report.
    Scan(scan::ScanArgs),
}

fn main() {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Scan(args) => scan::run(args),
    };
    std::process::exit(code);
}
