//! Driver for case 4 of benches/compare/run.sh: PDQ radius search in a `.mhset`, for
//! comparison with FAISS on the same codes and queries.
//!
//! * `gen --n N --kind random|clustered --queries Q --codes FILE.bin --query-file FILE`:
//!   deterministic codes as raw 32-byte records (for 10^8 codes a hex list would be 6.5 GB;
//!   FAISS reads the same file with `numpy.fromfile`) and queries as compare.py makes them
//!   (half with needle 0 within 0-40 bits of a stored code, a quarter also needle 3).
//! * `build --codes FILE --out SET.mhset [--layout tuned|slots16]`: one 64-digit hex PDQ hash per line, or raw
//!   32-byte codes when the name ends in `.bin`; one source.
//! * `search --set SET.mhset --queries FILE --out FILE [--radius 31] [--threads 1]
//!   [--strategy auto|flat|mih]`: each query line holds the needles (typically the 8
//!   dihedral hashes of an image) as hex separated by spaces; writes `query hash distance`
//!   per match (distance = best over the needles), sorted by hash.
//!
//! Each prints one JSON line on stderr with the timed part (`elapsed`: the query loop, after
//! the set is opened and its pages touched, as FAISS has its codes in memory; `build`).

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::{Parser, Subcommand, ValueEnum};
use mediahash::hex;
use mediahash::refset::{
    BuildOptions, Builder, Disposition, EntryMeta, HashValue, PdqIndexLayout, PdqStrategy, Record,
    RefSet, SourceInfo, scan_kernel_name,
};

#[derive(Clone, Copy, ValueEnum)]
enum Strategy {
    Auto,
    Flat,
    Mih,
}

#[derive(Clone, Copy, ValueEnum)]
enum Layout {
    Tuned,
    Slots16,
}

#[derive(Clone, Copy, ValueEnum)]
enum Kind {
    Random,
    Clustered,
}

#[derive(Subcommand)]
enum Command {
    Gen {
        #[arg(long)]
        n: u64,
        #[arg(long, value_enum, default_value_t = Kind::Random)]
        kind: Kind,
        #[arg(long, default_value_t = 1000)]
        queries: usize,
        #[arg(long)]
        codes: PathBuf,
        #[arg(long)]
        query_file: PathBuf,
    },
    Build {
        #[arg(long)]
        codes: PathBuf,
        #[arg(long)]
        out: PathBuf,
        /// Multi-index layout: `tuned` (default, chosen by size) or `slots16` (the 16 x
        /// 16-bit index of earlier versions), for side-by-side runs.
        #[arg(long, value_enum, default_value_t = Layout::Tuned)]
        layout: Layout,
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
        /// Prefetch distance of the tuned search (0: the library's default).
        #[arg(long, default_value_t = 0)]
        ahead: usize,
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
        Command::Gen { n, kind, queries, codes, query_file } => {
            generate(n, kind, queries, &codes, &query_file)
        }
        Command::Build { codes, out, layout } => {
            let layout = match layout {
                Layout::Tuned => PdqIndexLayout::Tuned,
                Layout::Slots16 => PdqIndexLayout::Slots16,
            };
            build(&codes, &out, layout)
        }
        Command::Search { set, queries, out, radius, threads, strategy, ahead } => {
            mediahash::refset::set_pdq_prefetch_distance(ahead);
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

/// splitmix64: fixed and portable.
struct Mix(u64);
impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn code(&mut self) -> [u8; 32] {
        let mut c = [0u8; 32];
        for k in 0..4 {
            c[8 * k..8 * k + 8].copy_from_slice(&self.next().to_le_bytes());
        }
        c
    }
    fn flip(&mut self, code: &mut [u8; 32], bits: u64) {
        // Distinct positions, so exactly `bits` bits differ.
        let mut done = [false; 256];
        let mut left = bits;
        while left > 0 {
            let b = (self.next() % 256) as usize;
            if !done[b] {
                done[b] = true;
                code[b / 8] ^= 0x80 >> (b % 8);
                left -= 1;
            }
        }
    }
}

/// Code `i` of a generated set (random: independent; clustered: n/100 centres with 100
/// variants of 1-48 flipped bits), computable alone so queries can pick stored codes.
fn code_at(kind: Kind, i: u64) -> [u8; 32] {
    match kind {
        Kind::Random => Mix(i.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ 31).code(),
        Kind::Clustered => {
            let mut c = Mix((i / 100).wrapping_mul(0x2545_F491_4F6C_DD1D) ^ 77).code();
            let mut r = Mix(i ^ 0xC1u64 << 56);
            let bits = 1 + r.next() % 48;
            r.flip(&mut c, bits);
            c
        }
    }
}

fn generate(
    n: u64,
    kind: Kind,
    queries: usize,
    codes: &Path,
    query_file: &Path,
) -> Result<(), BoxError> {
    let mut w = BufWriter::with_capacity(1 << 22, std::fs::File::create(codes)?);
    for i in 0..n {
        w.write_all(&code_at(kind, i))?;
    }
    w.flush()?;
    let mut rng = Mix(n ^ 0x5EED);
    let mut q = BufWriter::new(std::fs::File::create(query_file)?);
    for k in 0..queries {
        let mut needles: Vec<[u8; 32]> = (0..8).map(|_| rng.code()).collect();
        for (slot, every) in [(0, 2), (3, 4)] {
            if k % every == 0 {
                let mut c = code_at(kind, rng.next() % n);
                let bits = rng.next() % 41;
                rng.flip(&mut c, bits);
                needles[slot] = c;
            }
        }
        let line: Vec<String> = needles.iter().map(|c| hex::encode(c)).collect();
        writeln!(q, "{}", line.join(" "))?;
    }
    q.flush()?;
    Ok(())
}

fn build(codes: &Path, out: &Path, layout: PdqIndexLayout) -> Result<(), BoxError> {
    if codes.extension().is_some_and(|e| e == "bin") {
        return build_bin(codes, out, layout);
    }
    let text = std::fs::read_to_string(codes)?;
    let start = Instant::now();
    let mut builder = Builder::new(BuildOptions {
        build_time: Some(0),
        pdq_index_layout: layout,
        ..Default::default()
    })?;
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

fn bench_source(codes: &Path) -> SourceInfo {
    SourceInfo {
        name: codes.display().to_string(),
        format: "raw".into(),
        sha256: String::new(),
        disposition: Disposition::Alert,
        set_name: "bench".into(),
        records: 0,
        bad_records: 0,
        empty_file_records_skipped: 0,
        source_version: None,
    }
}

fn build_bin(codes: &Path, out: &Path, layout: PdqIndexLayout) -> Result<(), BoxError> {
    use std::io::Read;
    let start = Instant::now();
    let temp_dir = out.parent().map(|p| p.to_path_buf());
    let mut builder = Builder::new(BuildOptions {
        build_time: Some(0),
        temp_dir,
        pdq_index_layout: layout,
        ..Default::default()
    })?;
    let source = builder.add_source(bench_source(codes))?;
    let mut r = std::io::BufReader::with_capacity(1 << 22, std::fs::File::open(codes)?);
    let mut hash = [0u8; 32];
    let mut n = 0u64;
    loop {
        match r.read_exact(&mut hash) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(e.into()),
        }
        let record = Record {
            hashes: vec![HashValue::Pdq { hash, quality: None }],
            meta: EntryMeta::default(),
        };
        builder.add(source, record)?;
        n += 1;
    }
    let report = builder.finish(out)?;
    eprintln!(
        "{{\"build\": {:.3}, \"codes\": {n}, \"bytes\": {}}}",
        start.elapsed().as_secs_f64(),
        report.bytes_written
    );
    Ok(())
}

fn search(
    set: &Path,
    queries: &Path,
    out: &Path,
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

    // One query before the clock: derives the index's in-memory directory (once per set).
    let warm = Instant::now();
    if let Some(first) = needles.first() {
        std::hint::black_box(refset.search_pdq_with(first, radius, strategy));
    }
    let warm = warm.elapsed().as_secs_f64();
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
        "{{\"elapsed\": {elapsed:.6}, \"cpu\": {cpu:.6}, \"open\": {open:.3}, \"first_query\": {warm:.3}, \"matches\": {found}, \"kernel\": \"{}\", \"auto_uses_index\": {uses_index}, \"anon_huge_kb\": {}, \"rss_kb\": {}}}",
        scan_kernel_name(),
        smaps_kb("AnonHugePages:"),
        smaps_kb("Rss:")
    );
    Ok(())
}

/// A field of /proc/self/smaps_rollup in kB (-1 where unavailable): whether the set's copy
/// got transparent huge pages, and the resident size.
fn smaps_kb(field: &str) -> i64 {
    std::fs::read_to_string("/proc/self/smaps_rollup")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(field))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(-1)
}

/// CPU seconds used by this process so far (all threads), -1 if the clock is unavailable.
fn process_cpu_seconds() -> f64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime only writes the timespec we pass, which outlives the call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    if rc != 0 { -1.0 } else { ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9 }
}
