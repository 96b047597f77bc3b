//! Adapter between the scan and the per-file analysis: what the scan needs to know about
//! one file's content.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use crate::digest::{DigestOptions, Digests, digest_reader};

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

/// Placeholder until `crate::analyze` lands: digests only.
pub(crate) fn analyze<R: Read>(reader: R, _dihedral: bool) -> io::Result<Facts> {
    let (digests, size) = digest_reader(reader, DigestOptions::default())?;
    Ok(Facts {
        size,
        digests,
        image_format: None,
        width: None,
        height: None,
        pdq: None,
        pdq_dihedral: None,
        phash: None,
        image_error: None,
    })
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
