//! Adapter between the scan and the per-file analysis: what the scan needs to know about
//! one file's content.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use crate::digest::{DigestOptions, Digests};

/// What was computed for one file.
pub(crate) struct Facts {
    pub size: u64,
    pub digests: Digests,
    pub image_format: Option<String>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// PDQ hash and quality.
    pub pdq: Option<([u8; 32], u8)>,
    pub pdq_dihedral: Option<[[u8; 32]; 8]>,
    pub phash: Option<u64>,
    pub image_error: Option<String>,
}

/// Interim analysis until `crate::analyze` lands: one read pass for the digests, keeping
/// the bytes of sniffed images for decoding and PDQ (pHash arrives with `analyze`).
pub(crate) fn analyze<R: Read>(
    mut reader: R,
    dihedral: bool,
    max_image_bytes: u64,
) -> io::Result<Facts> {
    use crate::decode::{self, DecodeOptions};
    use crate::digest::MultiHasher;
    use crate::perceptual::pdq::{self, PdqConvention};
    let mut hasher = MultiHasher::new(DigestOptions::default());
    let mut buffer = vec![0u8; crate::digest::READ_BUFFER_SIZE];
    let mut kept: Option<Vec<u8>> = None;
    let mut first = true;
    let mut too_large = false;
    loop {
        let n = match reader.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buffer[..n]);
        if first {
            first = false;
            if decode::detect_format(&buffer[..n]).is_some() {
                kept = Some(Vec::new());
            }
        }
        if let Some(bytes) = kept.as_mut() {
            if bytes.len() as u64 + n as u64 > max_image_bytes {
                kept = None;
                too_large = true;
            } else {
                bytes.extend_from_slice(&buffer[..n]);
            }
        }
    }
    let size = hasher.bytes();
    let mut facts = Facts {
        size,
        digests: hasher.finalize(),
        image_format: None,
        width: None,
        height: None,
        pdq: None,
        pdq_dihedral: None,
        phash: None,
        image_error: None,
    };
    if too_large {
        facts.image_error = Some(format!(
            "image not decoded: file of {size} bytes exceeds the {max_image_bytes}-byte image file limit"
        ));
    }
    let Some(bytes) = kept else { return Ok(facts) };
    facts.image_format = decode::detect_format(&bytes).map(|f| f.as_str().to_string());
    let image = match decode::decode_rgb8(&bytes, &DecodeOptions::default()) {
        Ok(image) => image,
        Err(e) => {
            facts.image_error = Some(format!("image not decoded: {e}"));
            return Ok(facts);
        }
    };
    facts.width = Some(image.source_width);
    facts.height = Some(image.source_height);
    let conv = PdqConvention::FullResolution;
    let result = if dihedral {
        pdq::pdq_dihedral_from_rgb(image.width, image.height, &image.pixels, conv).map(|d| {
            facts.pdq = Some((d.hashes[0].0, d.quality));
            facts.pdq_dihedral = Some(d.hashes.map(|h| h.0));
        })
    } else {
        pdq::pdq_from_rgb(image.width, image.height, &image.pixels, conv)
            .map(|r| facts.pdq = Some((r.hash.0, r.quality)))
    };
    if let Err(e) = result {
        facts.image_error = Some(format!("perceptual hash failed: {e}"));
    }
    Ok(facts)
}

/// Placeholder until `crate::analyze::open_evidence_with` lands.
pub(crate) fn open_evidence_with(path: &Path, follow_symlinks: bool) -> io::Result<(File, bool)> {
    use std::fs::OpenOptions;
    use std::os::unix::fs::OpenOptionsExt;
    let nofollow = if follow_symlinks { 0 } else { libc::O_NOFOLLOW };
    match OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOATIME | nofollow | libc::O_CLOEXEC)
        .open(path)
    {
        Ok(f) => Ok((f, true)),
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => {
            let f = OpenOptions::new()
                .read(true)
                .custom_flags(nofollow | libc::O_CLOEXEC)
                .open(path)?;
            Ok((f, false))
        }
        Err(e) => Err(e),
    }
}
