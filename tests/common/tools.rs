//! Running the reference tools the oracle tests compare with (The Sleuth Kit, mtools,
//! ntfs-3g, libewf's tools, Info-ZIP), and what their outputs are compared by.

use std::path::Path;
use std::process::Command;

use sha1::{Digest, Sha1};

use super::rng::Rng;

/// `cmd`, looked up in /usr/sbin and /sbin first (mkntfs, sfdisk live there and a user's
/// PATH may lack them), else on PATH.
pub fn tool_path(cmd: &str) -> String {
    for dir in ["/usr/sbin", "/sbin"] {
        let p = Path::new(dir).join(cmd);
        if p.is_file() {
            return p.to_string_lossy().into_owned();
        }
    }
    cmd.to_string()
}

/// Runs a reference tool in `dir` (or the current directory) and returns its stdout; fails
/// the test with its output when it cannot run or exits with an error. `needs` says which
/// packages provide it. mtools' check of the drive geometry is turned off (images here are
/// made by mkfs.vfat with any size).
pub fn run_tool_in(dir: Option<&Path>, cmd: &str, args: &[&str], needs: &str) -> Vec<u8> {
    let mut command = Command::new(tool_path(cmd));
    command.args(args).env("MTOOLS_SKIP_CHECK", "1");
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    let out = command.output().unwrap_or_else(|e| panic!("{cmd} could not run ({e}): {needs}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// [`run_tool_in`] the current directory.
pub fn run_tool(cmd: &str, args: &[&str], needs: &str) -> Vec<u8> {
    run_tool_in(None, cmd, args, needs)
}

/// Lowercase hex SHA-1, as `sha1sum` prints it.
pub fn sha1_hex(bytes: &[u8]) -> String {
    Sha1::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// `len` incompressible bytes from `seed` (the shared test RNG), for file contents that
/// must span several clusters, runs or compressed chunks.
pub fn pattern(len: usize, seed: u32) -> Vec<u8> {
    Rng::from_seed(u64::from(seed)).bytes(len)
}

/// One line of The Sleuth Kit's `fls -r -p` listing.
#[derive(Debug, Clone)]
pub struct FlsLine {
    /// The type column (`r/r`, `d/d`, `V/V`, `-/r`...).
    pub kind: String,
    /// Marked `*`: a deleted entry.
    pub deleted: bool,
    /// The metadata address as printed, `:` removed (`12`, `64-128-4`, `38-128-1(realloc)`).
    pub address: String,
    /// The path inside the file system.
    pub path: String,
}

impl FlsLine {
    /// A directory (by its name type or metadata type).
    pub fn is_dir(&self) -> bool {
        self.kind.starts_with('d') || self.kind.ends_with('d')
    }

    /// One of TSK's virtual entries (`$MBR`, `$FAT1`, `$OrphanFiles`).
    pub fn is_virtual(&self) -> bool {
        self.kind.starts_with('v') || self.kind.starts_with('V')
    }

    /// The entry (inode / MFT record) number: the address up to its first `-` or `(`.
    pub fn entry_number(&self) -> u64 {
        let end = self.address.find(['-', '(']).unwrap_or(self.address.len());
        self.address[..end].parse().unwrap_or_else(|e| panic!("fls address {:?}: {e}", self))
    }
}

/// `fls -r -p -o OFFSET IMAGE` (offset in sectors), parsed.
pub fn fls(image: &Path, offset_sectors: u64, needs: &str) -> Vec<FlsLine> {
    let image = image.to_str().unwrap();
    let listing = run_tool("fls", &["-r", "-p", "-o", &offset_sectors.to_string(), image], needs);
    // Names are bytes (ext directories may hold any, and TSK prints them as they are, control
    // characters as `^`): compared as lossy UTF-8.
    String::from_utf8_lossy(&listing)
        .lines()
        .map(|line| {
            let (meta, path) = line.split_once('\t').unwrap();
            let mut parts = meta.split_whitespace();
            let kind = parts.next().unwrap().to_string();
            let mut rest: Vec<&str> = parts.collect();
            let deleted = rest.first() == Some(&"*");
            if deleted {
                rest.remove(0);
            }
            let address = rest[0].trim_end_matches(':').to_string();
            FlsLine { kind, deleted, address, path: path.to_string() }
        })
        .collect()
}

/// What `xmllint --schema` (Debian `libxml2-utils`) finds wrong in the DFXML report at
/// `report`, validated against the DFXML 1.2.0 and 2.0.0-beta.0 schemas kept in
/// `tests/data` (see `tests/data/dfxml-README.md`); `None` when it is valid against both.
pub fn dfxml_schema_errors(report: &Path) -> Option<String> {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let mut errors = String::new();
    for version in ["dfxml-1.2.0", "dfxml-2.0.0-beta.0"] {
        let out = Command::new("xmllint")
            .arg("--noout")
            .arg("--nonet")
            .arg("--schema")
            .arg(data.join(version).join("dfxml.xsd"))
            .arg(report)
            .output()
            .unwrap_or_else(|e| panic!("xmllint could not run ({e}): install libxml2-utils"));
        if !out.status.success() {
            errors += &format!("{version}: {}", String::from_utf8_lossy(&out.stderr));
        }
    }
    (!errors.is_empty()).then_some(errors)
}
