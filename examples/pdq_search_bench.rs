//! Driver for case 4 of benches/compare/run.sh: PDQ radius search in a `.mhset`, for
//! comparison with FAISS on the same codes and queries.
//!
//! * `build --codes FILE --out SET.mhset`: one 64-digit hex PDQ hash per line, one source.
//! * `search --set SET.mhset --queries FILE --out FILE [--radius 31] [--threads 1]
//!   [--strategy auto|flat|mih]`: each query line holds the needles (typically the 8
//!   dihedral hashes of an image) as hex separated by spaces; writes `query hash distance`
//!   per match (distance = best over the needles), sorted by hash.
//!
//! Each prints one JSON line on stderr with the timed part (`elapsed`: the query loop, after
//! the set is opened and its pages touched, as FAISS has its codes in memory; `build`).

use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::Instant;

use clap::{Parser, Subcommand, ValueEnum};
use mediahash::hex;
use mediahash::refset::{
    BuildOptions, Builder, Disposition, EntryMeta, HashValue, PdqStrategy, Record, RefSet,
    SourceInfo, scan_kernel_name,
};

#[derive(Clone, Copy, ValueEnum)]
enum Strategy {
    Auto,
    Flat,
    Mih,
}

#[derive(Subcommand)]
enum Command {
    Build {
        #[arg(long)]
        codes: PathBuf,
        #[arg(long)]
        out: PathBuf,
    },
    Search {
        #[arg(long)]
        set: PathBuf,
        #[arg(long)]
        queries: PathBuf,
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 31)]
        radius: u32,
        #[arg(long, default_value_t = 1)]
        threads: usize,
        #[arg(long, value_enum, default_value_t = Strategy::Auto)]
        strategy: Strategy,
    },
}

#[derive(Parser)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn parse_hash(text: &str) -> Result<[u8; 32], BoxError> {
    Ok(hex::decode_fixed::<32>(text).map_err(|e| format!("bad PDQ hex {text:?}: {e}"))?)
}

fn main() -> Result<(), BoxError> {
    match Args::parse().command {
        Command::Build { codes, out } => build(&codes, &out),
        Command::Search { set, queries, out, radius, threads, strategy } => {
            let strategy = match strategy {
                Strategy::Auto => PdqStrategy::Auto,
                Strategy::Flat => PdqStrategy::Flat,
                Strategy::Mih => PdqStrategy::MultiIndex,
            };
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build()?;
            pool.install(|| search(&set, &queries, &out, radius, strategy))
        }
    }
}

fn build(codes: &PathBuf, out: &PathBuf) -> Result<(), BoxError> {
    let text = std::fs::read_to_string(codes)?;
    let start = Instant::now();
    let mut builder = Builder::new(BuildOptions { build_time: Some(0), ..Default::default() })?;
    let source = builder.add_source(SourceInfo {
        name: codes.display().to_string(),
        format: "hex".into(),
        sha256: String::new(),
        disposition: Disposition::Alert,
        set_name: "bench".into(),
        records: 0,
        bad_records: 0,
        empty_file_records_skipped: 0,
        source_version: None,
    })?;
    let mut n = 0u64;
    for line in text.lines().filter(|l| !l.is_empty()) {
        let hash = parse_hash(line)?;
        let record = Record {
            hashes: vec![HashValue::Pdq { hash, quality: None }],
            meta: EntryMeta::default(),
        };
        builder.add(source, record)?;
        n += 1;
    }
    builder.finish(out)?;
    eprintln!("{{\"build\": {:.3}, \"codes\": {n}}}", start.elapsed().as_secs_f64());
    Ok(())
}

fn search(
    set: &PathBuf,
    queries: &PathBuf,
    out: &PathBuf,
    radius: u32,
    strategy: PdqStrategy,
) -> Result<(), BoxError> {
    let start = Instant::now();
    let refset = RefSet::open(set)?;
    // Touch every page so the timed loop starts from memory, as FAISS's does.
    let touched = refset.as_bytes().iter().step_by(4096).fold(0u8, |a, &b| a ^ b);
    std::hint::black_box(touched);
    let open = start.elapsed().as_secs_f64();
    let needles: Vec<Vec<[u8; 32]>> = std::fs::read_to_string(queries)?
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| l.split_whitespace().map(parse_hash).collect())
        .collect::<Result<_, _>>()?;

    let (start, cpu0) = (Instant::now(), process_cpu_seconds());
    let results: Vec<_> =
        needles.iter().map(|n| refset.search_pdq_with(n, radius, strategy)).collect();
    let (elapsed, cpu) = (start.elapsed().as_secs_f64(), process_cpu_seconds() - cpu0);

    let mut w = BufWriter::new(std::fs::File::create(out)?);
    let mut found = 0;
    for (q, matches) in results.iter().enumerate() {
        let mut lines: Vec<(String, u32)> =
            matches.iter().map(|m| (hex::encode(&m.hash), m.distance)).collect();
        lines.sort();
        found += lines.len();
        for (hash, distance) in lines {
            writeln!(w, "{q} {hash} {distance}")?;
        }
    }
    w.flush()?;
    let uses_index = needles.first().is_some_and(|n| refset.pdq_uses_multi_index(n.len(), radius));
    eprintln!(
        "{{\"elapsed\": {elapsed:.6}, \"cpu\": {cpu:.6}, \"open\": {open:.3}, \"matches\": {found}, \"kernel\": \"{}\", \"auto_uses_index\": {uses_index}}}",
        scan_kernel_name()
    );
    Ok(())
}

/// CPU seconds used by this process so far (all threads), -1 if the clock is unavailable.
fn process_cpu_seconds() -> f64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime only writes the timespec we pass, which outlives the call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    if rc != 0 { -1.0 } else { ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9 }
}
