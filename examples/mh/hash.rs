//! `mh hash`: one JSON object per file, sorted by path.

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};

use clap::Args;
use mediahash::analyze::{self, Analysis, AnalyzeOptions};
use mediahash::decode::JpegScale;
use mediahash::perceptual::pdq::{DIHEDRAL_NAMES, PdqConvention};
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

#[derive(Args)]
pub struct HashArgs {
    /// Use the C++ command-line tool's convention: resize images larger than 512 to 512x512
    /// (nearest neighbour) before PDQ. The default hashes at full resolution.
    #[arg(long)]
    pdq_512: bool,
    /// Also print the 8 dihedral PDQ variants.
    #[arg(long)]
    dihedral: bool,
    /// Decode large JPEGs at 1/2, 1/4 or 1/8 scale in the DCT domain (faster, approximate).
    #[arg(long)]
    fast: bool,
    /// Digests only: skip image decoding and perceptual hashes.
    #[arg(long)]
    no_perceptual: bool,
    /// Worker threads (default: all cores; at most 4 per core).
    #[arg(long, short = 'j', value_parser = crate::parse_threads)]
    threads: Option<usize>,
    /// Files or directories (walked recursively; symlinks are not followed).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
}

#[derive(Serialize)]
struct ImageOut {
    format: &'static str,
    width: u32,
    height: u32,
}

#[derive(Serialize)]
struct PdqOut {
    hash: String,
    quality: u8,
    convention: &'static str,
}

/// The 8 dihedral PDQ hashes as an object keyed by orientation name (`orig`, `rot90`,
/// `rot180`, `rot270`, `flipx`, `flipy`, `flipplus1`, `flipminus1`), in that order.
struct Dihedral(Vec<String>);

impl Serialize for Dihedral {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, hash) in DIHEDRAL_NAMES.iter().zip(&self.0) {
            map.serialize_entry(name, hash)?;
        }
        map.end()
    }
}

#[derive(Serialize)]
struct Line {
    path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    path_bytes_hex: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    md5: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sha1: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sha256: Option<String>,
    image: Option<ImageOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pdq: Option<PdqOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pdq_dihedral: Option<Dihedral>,
    #[serde(skip_serializing_if = "Option::is_none")]
    phash: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dhash: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ahash: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

pub fn run(args: HashArgs) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let mut options = AnalyzeOptions {
        perceptual: !args.no_perceptual,
        dihedral: args.dihedral,
        ..AnalyzeOptions::default()
    };
    if args.pdq_512 {
        options.pdq_convention = PdqConvention::Cli512;
    }
    if args.fast {
        options.decode.jpeg_scale = JpegScale::FAST_DEFAULT;
    }

    let mut files = Vec::new();
    let mut walk_errors = Vec::new();
    for root in &args.paths {
        collect(root, &mut files, &mut walk_errors);
    }
    files.sort();
    files.dedup_by(|a, b| a.0 == b.0);
    // Largest files first, each taken by the next idle worker: a big file met late cannot
    // leave one thread hashing it alone at the end (greedy longest-first scheduling). The
    // output is sorted by path below, so the order of work does not show.
    files.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));

    let pool = rayon::ThreadPoolBuilder::new().num_threads(args.threads.unwrap_or(0)).build()?;
    let next = AtomicUsize::new(0);
    let per_worker: Vec<Vec<Line>> = pool.broadcast(|_| {
        let mut done = Vec::new();
        while let Some((path, _)) = files.get(next.fetch_add(1, Ordering::Relaxed)) {
            done.push(match analyze::analyze_file(path, &options) {
                Ok(a) => line_for(path, &a),
                Err(e) => error_line(path, e.to_string()),
            });
        }
        done
    });
    let mut lines: Vec<Line> = per_worker.into_iter().flatten().collect();
    lines.extend(walk_errors.into_iter().map(|(p, e)| error_line(&p, e)));
    lines.sort_by(|a, b| a.path.cmp(&b.path).then(a.path_bytes_hex.cmp(&b.path_bytes_hex)));

    let unread = lines.iter().filter(|l| l.md5.is_none()).count();
    let image_errors = lines.iter().filter(|l| l.md5.is_some() && l.error.is_some()).count();
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    for line in &lines {
        serde_json::to_writer(&mut out, line)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    if unread > 0 || image_errors > 0 {
        eprintln!(
            "mh hash: {} files, {unread} could not be read, {image_errors} images could not be decoded",
            lines.len()
        );
    }
    Ok(if unread > 0 { ExitCode::from(2) } else { ExitCode::SUCCESS })
}

/// Recursively lists regular files (with their sizes) under `root` without following
/// symlinks.
fn collect(root: &Path, files: &mut Vec<(PathBuf, u64)>, errors: &mut Vec<(PathBuf, String)>) {
    let meta = match std::fs::symlink_metadata(root) {
        Ok(m) => m,
        Err(e) => return errors.push((root.to_path_buf(), e.to_string())),
    };
    if meta.is_dir() {
        match std::fs::read_dir(root) {
            Ok(entries) => {
                for entry in entries {
                    match entry {
                        Ok(entry) => collect(&entry.path(), files, errors),
                        Err(e) => errors.push((root.to_path_buf(), e.to_string())),
                    }
                }
            }
            Err(e) => errors.push((root.to_path_buf(), e.to_string())),
        }
    } else if meta.is_file() {
        files.push((root.to_path_buf(), meta.len()));
    }
}

fn path_fields(path: &Path) -> (String, Option<String>) {
    use std::os::unix::ffi::OsStrExt;
    match path.to_str() {
        Some(s) => (s.to_string(), None),
        None => (
            path.to_string_lossy().into_owned(),
            Some(mediahash::hex::encode(path.as_os_str().as_bytes())),
        ),
    }
}

fn error_line(path: &Path, error: String) -> Line {
    let (path, path_bytes_hex) = path_fields(path);
    Line {
        path,
        path_bytes_hex,
        size: None,
        md5: None,
        sha1: None,
        sha256: None,
        image: None,
        pdq: None,
        pdq_dihedral: None,
        phash: None,
        dhash: None,
        ahash: None,
        error: Some(error),
    }
}

fn line_for(path: &Path, a: &Analysis) -> Line {
    let (path, path_bytes_hex) = path_fields(path);
    Line {
        path,
        path_bytes_hex,
        size: Some(a.size),
        md5: Some(a.digests.md5_hex()),
        sha1: Some(a.digests.sha1_hex()),
        sha256: Some(a.digests.sha256_hex()),
        image: a.image.as_ref().map(|i| ImageOut {
            format: i.format.as_str(),
            width: i.width,
            height: i.height,
        }),
        pdq: a.pdq.as_ref().map(|p| PdqOut {
            hash: p.hash.to_hex(),
            quality: p.quality,
            convention: p.convention.as_str(),
        }),
        pdq_dihedral: a
            .pdq_dihedral
            .as_ref()
            .map(|d| Dihedral(d.iter().map(|h| h.to_hex()).collect())),
        phash: a.imagehashes.as_ref().map(|h| h.phash.to_hex()),
        dhash: a.imagehashes.as_ref().map(|h| h.dhash.to_hex()),
        ahash: a.imagehashes.as_ref().map(|h| h.ahash.to_hex()),
        error: a.image_error.as_ref().map(|e| e.to_string()),
    }
}
