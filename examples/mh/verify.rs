//! `mh verify-image`: reads a disk image's media once, hashes it (MD5, SHA-1) and compares
//! with the digests its container stored at acquisition (EWF `hash`/`digest` sections), as
//! `ewfverify` does. Prints the case metadata and the outcome per image.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use mediahash::evidence::ewf::EwfImage;
use mediahash::evidence::verify::verify_path;
use mediahash::report::{ImageVerification, VerifyStatus};

use crate::status;

/// Arguments of `mh verify-image`.
#[derive(Args)]
pub struct VerifyArgs {
    /// Print one JSON object per image (the report header's `image_verifications` shape)
    /// instead of text.
    #[arg(long)]
    json: bool,
    /// Read images whose access times would change (see `mh scan --allow-atime-changes`).
    #[arg(long)]
    allow_atime_changes: bool,
    /// The images (the first segment of a set: `case.E01`, `disk.001`). The container is
    /// recognised by content.
    #[arg(required = true, value_name = "IMAGE")]
    images: Vec<PathBuf>,
}

/// Runs `mh verify-image`: exit 0 when every image verified (or stores no digest: then
/// its computed digests are printed), 2 when one mismatched, had an unreadable part or
/// could not be opened.
pub fn run(args: VerifyArgs) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let mut worst = status::CLEAN;
    let stdout = io::stdout();
    let mut out = stdout.lock();
    for path in &args.images {
        if !args.json {
            print_metadata(&mut out, path, args.allow_atime_changes)?;
        }
        let v = verify_path(path, args.allow_atime_changes, None);
        if v.status.failed() {
            worst = status::UNREAD;
            eprintln!(
                "mh verify-image: {}: VERIFICATION FAILED ({}): {}",
                v.image,
                v.status.as_str(),
                v.message
            );
        }
        if args.json {
            writeln!(out, "{}", serde_json::to_string(&v)?)?;
        } else {
            print_text(&mut out, &v)?;
        }
        out.flush()?;
    }
    Ok(ExitCode::from(worst))
}

fn print_metadata(
    out: &mut dyn Write,
    path: &std::path::Path,
    allow_atime_changes: bool,
) -> io::Result<()> {
    // Not EWF (or not openable): the verification below says so.
    let Ok(image) = EwfImage::open(path, allow_atime_changes) else { return Ok(()) };
    let i = image.info();
    writeln!(out, "{}", path.display())?;
    writeln!(out, "  format:            {} ({} segment(s))", i.format, i.segments.len())?;
    let c = &i.case;
    for (name, value) in [
        ("case number", &c.case_number),
        ("evidence number", &c.evidence_number),
        ("description", &c.description),
        ("examiner", &c.examiner),
        ("notes", &c.notes),
        ("acquired with", &c.software_version),
        ("platform", &c.platform),
        ("acquisition date", &c.acquisition_date),
        ("model", &c.model),
        ("serial number", &c.serial_number),
    ] {
        if let Some(v) = value {
            writeln!(out, "  {:<18} {v}", format!("{name}:"))?;
        }
    }
    writeln!(
        out,
        "  geometry:          {} sectors of {} bytes, {} sectors per chunk",
        i.sector_count, i.bytes_per_sector, i.sectors_per_chunk
    )?;
    if !i.acquisition_errors.is_empty() {
        writeln!(
            out,
            "  acquisition errors: {} range(s) the acquisition could not read (zero-filled)",
            i.acquisition_errors.len()
        )?;
    }
    for p in &i.problems {
        writeln!(out, "  note:              {p}")?;
    }
    Ok(())
}

fn print_text(out: &mut dyn Write, v: &ImageVerification) -> io::Result<()> {
    let or = |s: &Option<String>| s.clone().unwrap_or_else(|| "-".to_string());
    writeln!(out, "{} [{}], {} bytes of media", v.image, v.container, v.media_size)?;
    writeln!(out, "  MD5   stored {}  computed {}", or(&v.stored_md5), or(&v.computed_md5))?;
    writeln!(out, "  SHA-1 stored {}  computed {}", or(&v.stored_sha1), or(&v.computed_sha1))?;
    for (start, end) in &v.unreadable_ranges {
        writeln!(out, "  unreadable media bytes {start}..{end}")?;
    }
    let verdict = match v.status {
        VerifyStatus::Verified => "VERIFIED",
        VerifyStatus::Mismatch => "MISMATCH",
        VerifyStatus::Unreadable => "UNREADABLE",
        VerifyStatus::NoStoredDigest => "NO STORED DIGEST",
        VerifyStatus::Incomplete => "INCOMPLETE",
    };
    writeln!(out, "  result: {verdict}: {}", v.message)
}
