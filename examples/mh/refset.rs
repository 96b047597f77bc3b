//! `mh refset`: build, inspect, verify and query `.mhset` reference sets.

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use mediahash::analyze::{AnalyzeOptions, analyze_file};
use mediahash::import::{self, Format, ImportOptions};
use mediahash::perceptual::pdq::{DIHEDRAL_NAMES, PdqHash};
use mediahash::refset::build::{BuildOptions, Builder};
use mediahash::refset::read::{Membership, RefSet};
use mediahash::refset::search::{DEFAULT_PDQ_RADIUS, DEFAULT_U64_RADIUS};
use mediahash::refset::{Disposition, HashKind, HashValue};
use serde_json::{Value, json};

use crate::status::UNREAD;
use crate::usage;

#[derive(Subcommand)]
pub enum RefsetCommand {
    /// Build a .mhset from hash-set files (VICS JSON, NSRL RDSv3/RDS 2.x, hashdeep,
    /// md5sum-style, BSD, plain lists, PDQ lists, EnCase .hash); formats are detected.
    Build(BuildArgs),
    /// Provenance, counts and the file's own SHA-256, as JSON.
    Info { set: PathBuf },
    /// Full check: checksum and structure. Exit status 2 when the file is damaged.
    Verify { set: PathBuf },
    /// Exact lookup of digests or hashes (kind from the length: 32 hex MD5, 40 SHA-1,
    /// 64 SHA-256 or PDQ, 16 pHash/dHash/aHash). One JSON line per query, found or not,
    /// with every membership.
    Lookup {
        set: PathBuf,
        #[arg(required = true)]
        hex: Vec<String>,
    },
    /// Hamming-radius search of a PDQ hash (or of an image's PDQ, with all 8 dihedral
    /// variants when --dihedral), or of a 64-bit pHash.
    Search(SearchArgs),
    /// Split a set into N shards by value prefix (`SET.shard-I-of-N.mhset` and the manifest
    /// `SET.shards.json`, in --out-dir). `refset lookup MANIFEST.shards.json HEX...` then reads
    /// only the shard each value routes to.
    Shard {
        set: PathBuf,
        /// Number of shards (1-4096).
        #[arg(long)]
        shards: u32,
        /// Folder for the shards and manifest (default: the set's folder).
        #[arg(long)]
        out_dir: Option<PathBuf>,
        /// Memory for the builders' sort buffers, in MiB, shared by all shards.
        #[arg(long, default_value_t = 1024)]
        memory_mib: usize,
        /// Replace existing shards and manifest.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Args)]
pub struct BuildArgs {
    /// Output file (written atomically). An existing file is refused unless --force: its
    /// SHA-256 may be cited in earlier reports.
    #[arg(short = 'o', long)]
    output: PathBuf,
    /// Replace an existing output file.
    #[arg(long)]
    force: bool,
    /// Build even from a file in which no line, or fewer good lines than bad, could be read
    /// (refused by default: usually the wrong file or format). Also --allow-empty.
    #[arg(long, visible_alias = "allow-empty")]
    allow_bad_lines: bool,
    /// Name of the collection: sets are named "NAME: <file name>" (default: the file name).
    #[arg(long)]
    name: Option<String>,
    /// Hash sets whose matches are alerts (e.g. VICS, NCMEC lists, PDQ lists).
    #[arg(long, num_args = 1..)]
    alert: Vec<PathBuf>,
    /// Hash sets of known-harmless files (e.g. NSRL).
    #[arg(long, num_args = 1..)]
    ignore: Vec<PathBuf>,
    /// Folders of pictures whose matches are alerts: each picture is stored with its
    /// digests, PDQ, pHash and the PDQ of its windows (centre and side crops, turned by
    /// ±2.5° and ±5°) for robust matching (`mh scan --robust`); entries are named by the
    /// pictures' file names.
    #[arg(long, num_args = 1..)]
    alert_images: Vec<PathBuf>,
    /// Folders of known-harmless pictures, stored as with --alert-images.
    #[arg(long, num_args = 1..)]
    ignore_images: Vec<PathBuf>,
    /// vPDQ hash lists of known videos whose matches are alerts, in the reference's text
    /// format (`vpdq-hash-video` output: `frame,quality,pdq-hex,timestamp` per line): a
    /// list file (one video) or a folder of them; the video id is the file name without
    /// `.txt`. Hash known videos at every frame (`mh hash --video-fps 0`).
    #[arg(long, num_args = 1..)]
    alert_vpdq: Vec<PathBuf>,
    /// vPDQ hash lists of known-harmless videos, as --alert-vpdq.
    #[arg(long, num_args = 1..)]
    ignore_vpdq: Vec<PathBuf>,
    /// Force the input format (default: detected per file). One of the importer names.
    #[arg(long)]
    format: Option<Format>,
    /// PDQ CSVs: the column holding the hash, by number (1 is the first) or header name,
    /// when it is not the first (e.g. ThreatExchange's `FilePath,Hash`). A header naming it
    /// `hash` or `pdq` is found without this.
    #[arg(long, value_name = "N|NAME")]
    pdq_column: Option<mediahash::import::pdqlist::PdqColumn>,
    /// Stop at the first bad record instead of counting it.
    #[arg(long)]
    strict: bool,
    /// Directory for sorted runs (default: the system temporary directory).
    #[arg(long)]
    temp_dir: Option<PathBuf>,
    /// Memory for sort buffers, in MiB: 16 to 4194304 (beyond it, runs spill to disk).
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u64).range(16..=4_194_304))]
    memory_mib: u64,
}

#[derive(Args)]
pub struct SearchArgs {
    set: PathBuf,
    /// A PDQ hash (64 hex).
    #[arg(long, conflicts_with_all = ["image", "phash"])]
    pdq: Option<String>,
    /// An image file: its PDQ is searched (and its 8 dihedral variants with --dihedral).
    #[arg(long, conflicts_with = "phash")]
    image: Option<PathBuf>,
    /// A 64-bit pHash (16 hex).
    #[arg(long)]
    phash: Option<String>,
    /// Inclusive radius (default 31 for PDQ, 8 for pHash; at most 256 and 64, the hash
    /// lengths).
    #[arg(long)]
    radius: Option<u32>,
    /// With --image: also search the 7 rotated/mirrored variants.
    #[arg(long)]
    dihedral: bool,
    /// With --image: robust matching as `mh scan --robust` makes it (borders, screenshots,
    /// small rotations; windows of sets built from pictures). Prints one JSON line per match
    /// in the scan report's match form.
    #[arg(long, requires = "image")]
    robust: bool,
    /// Radius for robust pairs (default calibrated on negatives).
    #[arg(long, default_value_t = mediahash::robust::DEFAULT_ROBUST_RADIUS)]
    robust_radius: u32,
}

pub fn run(command: RefsetCommand) -> Result<ExitCode, Box<dyn std::error::Error>> {
    match command {
        RefsetCommand::Build(args) => build(args),
        RefsetCommand::Info { set } => info(&set),
        RefsetCommand::Verify { set } => verify(&set),
        RefsetCommand::Lookup { set, hex } => lookup(&set, &hex),
        RefsetCommand::Search(args) => search(args),
        RefsetCommand::Shard { set, shards, out_dir, memory_mib, force } => {
            shard(&set, shards, out_dir, memory_mib, force)
        }
    }
}

fn build(args: BuildArgs) -> Result<ExitCode, Box<dyn std::error::Error>> {
    if args.alert.is_empty()
        && args.ignore.is_empty()
        && args.alert_images.is_empty()
        && args.ignore_images.is_empty()
        && args.alert_vpdq.is_empty()
        && args.ignore_vpdq.is_empty()
    {
        return Err(usage(
            "give at least one --alert or --ignore hash set, or --alert-images / --ignore-images folder",
        ));
    }
    if !args.force && std::fs::symlink_metadata(&args.output).is_ok() {
        return Err(usage(format!(
            "{} already exists and its SHA-256 may be cited in earlier reports; choose another \
             name, or pass --force to replace it",
            args.output.display()
        )));
    }
    let memory_budget_bytes = usize::try_from(args.memory_mib << 20)
        .map_err(|_| usage("--memory-mib is larger than this machine can address"))?;
    let mut builder = Builder::new(BuildOptions {
        temp_dir: args.temp_dir.clone(),
        memory_budget_bytes,
        strict: args.strict,
        ..BuildOptions::default()
    })?;
    let import_options = ImportOptions {
        strict: args.strict,
        pdq_column: args.pdq_column.clone(),
        ..ImportOptions::default()
    };
    let inputs = args
        .alert
        .iter()
        .map(|p| (p, Disposition::Alert))
        .chain(args.ignore.iter().map(|p| (p, Disposition::Ignore)));
    for (path, disposition) in inputs {
        let set_name = args.name.as_ref().map(|n| format!("{n}: {}", file_name(path)));
        let summary = import::import_into(
            &mut builder,
            path,
            args.format,
            disposition,
            set_name.as_deref(),
            &import_options,
        )?;
        eprintln!(
            "{}: {} ({}), {} records, {} bad, {} empty-file hashes skipped",
            path.display(),
            summary.format_label,
            disposition.as_str(),
            summary.records,
            summary.bad_records,
            summary.empty_file_records_skipped
        );
        if let Some(description) = &summary.source_description {
            eprintln!("  source: {description}");
        }
        for note in &summary.notes {
            eprintln!("  note: {note}");
        }
        for bad in &summary.bad_examples {
            eprintln!("  line {}: {}", bad.line, bad.reason);
        }
        // The library's rule: a source with no usable record, or more bad than good, is
        // almost always the wrong file or format. Nothing has been written yet.
        if let Err(refused) = summary.check_usable(&path.display().to_string()) {
            if !args.allow_bad_lines {
                return Err(refused.into());
            }
            eprintln!("mh refset build: warning (--allow-bad-lines): {refused}");
        }
    }
    let folders = args
        .alert_images
        .iter()
        .map(|p| (p, Disposition::Alert))
        .chain(args.ignore_images.iter().map(|p| (p, Disposition::Ignore)));
    for (dir, disposition) in folders {
        let set_name = args.name.as_ref().map(|n| format!("{n}: {}", file_name(dir)));
        let summary = mediahash::import::pictures::import_pictures(
            &mut builder,
            dir,
            disposition,
            set_name.as_deref(),
        )?;
        eprintln!(
            "{}: pictures ({}), {} pictures, {} windows, {} files refused",
            dir.display(),
            disposition.as_str(),
            summary.pictures,
            summary.windows,
            summary.refused.len()
        );
        for (path, why) in summary.refused.iter().take(10) {
            eprintln!("  {}: {why}", path.display());
        }
        if summary.pictures == 0 && !args.allow_bad_lines {
            return Err(usage(format!(
                "{}: no picture could be read; check the folder (or pass --allow-bad-lines)",
                dir.display()
            )));
        }
    }
    let lists = args
        .alert_vpdq
        .iter()
        .map(|p| (p, Disposition::Alert))
        .chain(args.ignore_vpdq.iter().map(|p| (p, Disposition::Ignore)));
    for (path, disposition) in lists {
        let set_name = args.name.as_ref().map(|n| format!("{n}: {}", file_name(path)));
        let summary = mediahash::import::vpdq::import_vpdq_lists(
            &mut builder,
            path,
            disposition,
            set_name.as_deref(),
        )?;
        eprintln!(
            "{}: vPDQ lists ({}), {} videos, {} frames, {} files refused",
            path.display(),
            disposition.as_str(),
            summary.videos,
            summary.frames,
            summary.refused.len()
        );
        for (file, why) in summary.refused.iter().take(10) {
            eprintln!("  {}: {why}", file.display());
        }
        if summary.videos == 0 && !args.allow_bad_lines {
            return Err(usage(format!(
                "{}: no vPDQ list could be read; check the path (or pass --allow-bad-lines)",
                path.display()
            )));
        }
    }
    if args.force && args.output.is_file() {
        // The replaced file's identity, for anyone reading older reports that cite it.
        let old = file_sha256(&args.output)?;
        eprintln!("mh refset build: replacing {} (SHA-256 {old})", args.output.display());
    }
    let report = builder.finish(&args.output)?;
    let mut value = serde_json::to_value(&report)?;
    // Reports and `refset info` identify a set by its file's SHA-256; the trailer's BLAKE3
    // is the format's own integrity check. Both are labelled so neither is mistaken for
    // the other.
    if let Some(object) = value.as_object_mut() {
        let trailer = object.remove("checksum").unwrap_or(Value::Null);
        object.insert("trailer_blake3".into(), trailer);
        object.insert("sha256".into(), json!(file_sha256(&args.output)?));
    }
    let mut out = io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &value)?;
    writeln!(out)?;
    Ok(ExitCode::SUCCESS)
}

/// SHA-256 of a file's bytes, hex.
fn file_sha256(path: &Path) -> Result<String, Box<dyn std::error::Error>> {
    let file = std::fs::File::open(path)?;
    let (digests, _) = mediahash::digest::digest_reader(file, Default::default())?;
    Ok(digests.sha256_hex())
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(|| path.display().to_string(), |f| f.to_string_lossy().into())
}

fn info(path: &Path) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let set = RefSet::open(path)?;
    let sha256 = mediahash::digest::digest_bytes(set.as_bytes(), Default::default()).sha256_hex();
    let mut value = serde_json::to_value(set.info())?;
    value["path"] = json!(path.display().to_string());
    value["sha256"] = json!(sha256);
    let mut out = io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &value)?;
    writeln!(out)?;
    Ok(ExitCode::SUCCESS)
}

fn verify(path: &Path) -> Result<ExitCode, Box<dyn std::error::Error>> {
    // Opening checks the structure cheaply; verify() reads every byte.
    let outcome = RefSet::open(path).and_then(|set| set.verify());
    let line = match &outcome {
        Ok(()) => json!({"path": path.display().to_string(), "ok": true}),
        Err(e) => json!({"path": path.display().to_string(), "ok": false, "error": e.to_string()}),
    };
    writeln!(io::stdout(), "{line}")?;
    Ok(if outcome.is_ok() { ExitCode::SUCCESS } else { ExitCode::from(UNREAD) })
}

fn membership_json(m: &Membership<'_>) -> Value {
    let meta = m.meta;
    let mut v = json!({
        "set": m.set.name,
        "disposition": m.set.disposition.as_str(),
        "source": m.source.name,
    });
    let fields = [
        ("category", meta.category.map(Value::from)),
        ("profile", meta.profile.map(Value::from)),
        ("victim_identified", meta.victim_identified.map(Value::from)),
        ("offender_identified", meta.offender_identified.map(Value::from)),
        ("series", meta.series.map(Value::from)),
        ("source_id", meta.source_id.map(Value::from)),
        ("file_name", meta.file_name.map(|n| Value::from(String::from_utf8_lossy(n)))),
        ("file_size", meta.file_size.map(Value::from)),
        ("note", meta.note.map(Value::from)),
    ];
    for (key, value) in fields {
        if let Some(value) = value {
            v[key] = value;
        }
    }
    v
}

/// The values a lookup query may stand for, from its length; a usage error if it is no hash.
fn query_values(query: &str) -> Result<Vec<HashValue>, Box<dyn std::error::Error>> {
    let q = query.trim().to_ascii_lowercase();
    let bad_hex = |e: mediahash::hex::HexError| usage(format!("{query:?}: {e}"));
    Ok(match q.len() {
        32 => vec![HashValue::Md5(mediahash::hex::decode_fixed(&q).map_err(bad_hex)?)],
        40 => vec![HashValue::Sha1(mediahash::hex::decode_fixed(&q).map_err(bad_hex)?)],
        64 => {
            let bytes: [u8; 32] = mediahash::hex::decode_fixed(&q).map_err(bad_hex)?;
            vec![HashValue::Sha256(bytes), HashValue::Pdq { hash: bytes, quality: None }]
        }
        16 => {
            let v = u64::from_be_bytes(mediahash::hex::decode_fixed(&q).map_err(bad_hex)?);
            vec![HashValue::PHash(v), HashValue::DHash(v), HashValue::AHash(v)]
        }
        n => {
            return Err(usage(format!(
                "{query:?}: {n} hex characters is no known hash length (32 MD5, 40 SHA-1, 64 \
                 SHA-256 or PDQ, 16 pHash/dHash/aHash)"
            )));
        }
    })
}

fn lookup(path: &Path, queries: &[String]) -> Result<ExitCode, Box<dyn std::error::Error>> {
    // Every query is checked before any is answered: a typo is a usage error, not a miss.
    let parsed = queries.iter().map(|q| query_values(q)).collect::<Result<Vec<_>, _>>()?;
    if path.to_string_lossy().ends_with(".shards.json") {
        return lookup_sharded(path, queries, &parsed);
    }
    let set = RefSet::open(path)?;
    let mut out = BufWriter::new(io::stdout().lock());
    for (query, values) in queries.iter().zip(&parsed) {
        let mut matches = Vec::new();
        for value in values {
            push_matches(&set, value, &mut matches)?;
        }
        write_lookup_line(&mut out, query, matches, None)?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// The memberships of `value` in `set`, as `refset lookup` prints them.
fn push_matches<B: AsRef<[u8]>>(
    set: &RefSet<B>,
    value: &HashValue,
    matches: &mut Vec<serde_json::Value>,
) -> Result<(), Box<dyn std::error::Error>> {
    for m in set.lookup(value)? {
        let mut found = membership_json(&m.membership);
        found["kind"] = json!(m.kind.as_str());
        matches.push(found);
    }
    Ok(())
}

/// One `refset lookup` output line; `shards`: the shard files read (sharded sets only).
fn write_lookup_line(
    out: &mut impl Write,
    query: &str,
    matches: Vec<serde_json::Value>,
    shards: Option<Vec<String>>,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut line = json!({
        "query": query.trim().to_ascii_lowercase(),
        "found": !matches.is_empty(),
    });
    if let Some(shards) = shards {
        line["shards"] = json!(shards);
    }
    line["matches"] = json!(matches);
    serde_json::to_writer(&mut *out, &line)?;
    out.write_all(b"\n")?;
    Ok(())
}

/// `refset lookup` through a shard manifest: each value is looked up in the one shard it
/// routes to (opened only when needed), and the line says which.
fn lookup_sharded(
    manifest_path: &Path,
    queries: &[String],
    parsed: &[Vec<HashValue>],
) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(manifest_path)?;
    let manifest: mediahash::refset::shard::Manifest = serde_json::from_str(&text)?;
    if manifest.files.len() != manifest.shards as usize || manifest.shards == 0 {
        return Err(usage(format!("{}: not a shard manifest", manifest_path.display())));
    }
    let dir = manifest_path.parent().unwrap_or(Path::new("."));
    let mut open: Vec<Option<RefSet<_>>> = (0..manifest.shards).map(|_| None).collect();
    let mut out = BufWriter::new(io::stdout().lock());
    for (query, values) in queries.iter().zip(parsed) {
        let mut matches = Vec::new();
        let mut shards = Vec::new();
        for value in values {
            let s = mediahash::refset::shard::shard_of(&value.to_bytes(), manifest.shards) as usize;
            if open[s].is_none() {
                open[s] = Some(RefSet::open(dir.join(&manifest.files[s].name))?);
            }
            let set = open[s].as_ref().expect("opened above");
            shards.push(manifest.files[s].name.clone());
            push_matches(set, value, &mut matches)?;
        }
        write_lookup_line(&mut out, query, matches, Some(shards))?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn shard(
    path: &Path,
    shards: u32,
    out_dir: Option<PathBuf>,
    memory_mib: usize,
    force: bool,
) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let set = RefSet::open(path)?;
    set.verify()?;
    let dir = out_dir.unwrap_or_else(|| {
        path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf()
    });
    let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let stem = file_name.strip_suffix(".mhset").unwrap_or(&file_name).to_string();
    let options = BuildOptions {
        memory_budget_bytes: memory_mib.saturating_mul(1 << 20),
        temp_dir: Some(dir.clone()),
        ..BuildOptions::default()
    };
    let report = mediahash::refset::shard::shard(&set, shards, &dir, &stem, &options, force)?;
    let mut out = io::stdout().lock();
    let mut value = serde_json::to_value(&report.manifest)?;
    value["manifest"] = json!(report.manifest_path.display().to_string());
    serde_json::to_writer_pretty(&mut out, &value)?;
    writeln!(out)?;
    Ok(ExitCode::SUCCESS)
}

/// Refuses a search radius longer than the hash (`bits`).
fn check_radius(radius: u32, bits: u32, what: &str) -> Result<u32, Box<dyn std::error::Error>> {
    if radius > bits {
        return Err(usage(format!(
            "--radius {radius} is longer than the {bits}-bit {what} hash; give 0 to {bits}"
        )));
    }
    Ok(radius)
}

fn search(args: SearchArgs) -> Result<ExitCode, Box<dyn std::error::Error>> {
    if let Some(phash) = &args.phash {
        let query = mediahash::perceptual::imagehash::Hash64::from_hex(phash)
            .map_err(|e| usage(format!("--phash {phash:?}: {e}")))?;
        let radius = check_radius(args.radius.unwrap_or(DEFAULT_U64_RADIUS), 64, "pHash")?;
        let set = RefSet::open(&args.set)?;
        let mut out = BufWriter::new(io::stdout().lock());
        for m in set.search_u64(HashKind::PHash, query.0, radius, &[])? {
            for membership in set.memberships(m.entry)? {
                let mut line = membership_json(&membership);
                line["query"] = json!(query.to_hex());
                line["kind"] = json!("phash");
                line["distance"] = json!(m.distance);
                serde_json::to_writer(&mut out, &line)?;
                out.write_all(b"\n")?;
            }
        }
        out.flush()?;
        return Ok(ExitCode::SUCCESS);
    }
    let radius = check_radius(args.radius.unwrap_or(DEFAULT_PDQ_RADIUS), 256, "PDQ")?;
    let set = RefSet::open(&args.set)?;
    if let (true, Some(image)) = (args.robust, &args.image) {
        let robust_radius = check_radius(args.robust_radius, 256, "robust PDQ")?;
        let options =
            AnalyzeOptions { dihedral: args.dihedral, robust: true, ..Default::default() };
        let a = analyze_file(image, &options)?;
        if let Some(e) = a.image_error {
            return Err(format!("{}: {e}", image.display()).into());
        }
        let scan_options = mediahash::scan::ScanOptions {
            pdq_radius: radius,
            robust: true,
            robust_radius,
            dihedral: args.dihedral,
            ..Default::default()
        };
        let mut out = BufWriter::new(io::stdout().lock());
        for m in mediahash::scan::match_analysis(&a, &set, &scan_options)? {
            serde_json::to_writer(&mut out, &m)?;
            out.write_all(b"\n")?;
        }
        out.flush()?;
        return Ok(ExitCode::SUCCESS);
    }
    let needles: Vec<PdqHash> = match (&args.pdq, &args.image) {
        (Some(hex), None) => {
            vec![PdqHash::from_hex(hex).map_err(|e| usage(format!("--pdq {hex:?}: {e}")))?]
        }
        (None, Some(image)) => {
            let options =
                AnalyzeOptions { dihedral: args.dihedral, imagehash: false, ..Default::default() };
            let a = analyze_file(image, &options)?;
            if let Some(e) = a.image_error {
                return Err(format!("{}: {e}", image.display()).into());
            }
            match (a.pdq_dihedral, a.pdq) {
                (Some(all), _) => all.to_vec(),
                (None, Some(p)) => vec![p.hash],
                _ => return Err(format!("{}: not an image", image.display()).into()),
            }
        }
        _ => return Err(usage("give one of --pdq HEX, --image FILE or --phash HEX")),
    };
    let mut out = BufWriter::new(io::stdout().lock());
    let raw: Vec<[u8; 32]> = needles.iter().map(|n| n.0).collect();
    for m in set.search_pdq_needles(&raw, radius) {
        for membership in set.memberships(m.entry)? {
            let mut line = membership_json(&membership);
            line["query"] = json!(needles[0].to_hex());
            line["kind"] = json!("pdq");
            line["hash"] = json!(mediahash::hex::encode(&m.hash));
            line["distance"] = json!(m.distance);
            if needles.len() == 8 {
                line["transform"] = json!(DIHEDRAL_NAMES[m.needle]);
            }
            serde_json::to_writer(&mut out, &line)?;
            out.write_all(b"\n")?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
