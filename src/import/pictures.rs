//! Reference sets built from pictures (`mh refset build --alert-images DIR`): each picture
//! of a folder becomes one record with its digests, PDQ, pHash and the PDQ of its window
//! family ([`crate::robust::reference_windows`]), named by its file name, so that robust
//! matching finds cropped and turned copies of it.

use std::path::{Path, PathBuf};

use crate::analyze::{AnalyzeOptions, analyze_file};
use crate::refset::build::Builder;
use crate::refset::{BadRecord, Disposition, EntryMeta, HashValue, Record};

use super::ImportError;

/// What a folder of pictures gave.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PictureSummary {
    /// Pictures stored (each with its windows).
    pub pictures: u64,
    /// PDQ windows stored in all.
    pub windows: u64,
    /// Files that were not stored, with the reason (not an image, unreadable, featureless).
    pub refused: Vec<(PathBuf, String)>,
}

/// Regular files under `dir`, sorted by path, not following links (a picture folder is the
/// examiner's own input, read as given).
pub(crate) fn files_under(dir: &Path) -> Result<Vec<PathBuf>, ImportError> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries =
            std::fs::read_dir(&d).map_err(|e| ImportError::io(&d.display().to_string(), e))?;
        for entry in entries {
            let entry = entry.map_err(|e| ImportError::io(&d.display().to_string(), e))?;
            let kind = entry
                .file_type()
                .map_err(|e| ImportError::io(&entry.path().display().to_string(), e))?;
            if kind.is_dir() {
                stack.push(entry.path());
            } else if kind.is_file() {
                out.push(entry.path());
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Adds every picture under `dir` as one source of the builder (set `set_name`, default
/// the folder's name). Pictures whose PDQ quality is below 50 are stored without windows
/// (their plain hashes still match exactly); files that are not images are refused and
/// listed as bad records. Each record's `file_name` and `source_id` are the picture's path
/// relative to `dir`.
pub fn import_pictures(
    builder: &mut Builder,
    dir: &Path,
    disposition: Disposition,
    set_name: Option<&str>,
) -> Result<PictureSummary, ImportError> {
    let source = builder
        .add_source(super::new_source(dir, "pictures", disposition, set_name))
        .map_err(ImportError::sink)?;
    let options = AnalyzeOptions { windows: true, ..AnalyzeOptions::default() };
    let mut summary = PictureSummary::default();
    // The source's identity: SHA-256 over "relative name NUL sha256" lines, sorted.
    let mut identity = sha2_lines::Lines::default();
    let files = files_under(dir)?;
    for (line, path) in files.iter().enumerate() {
        let relative = path.strip_prefix(dir).unwrap_or(path);
        let rel_text = relative.to_string_lossy().into_owned();
        let a = analyze_file(path, &options)
            .map_err(|e| ImportError::io(&path.display().to_string(), e))?;
        identity.add(&rel_text, &a.digests.sha256);
        let refuse = |reason: String| BadRecord { line: line as u64 + 1, reason };
        let Some(pdq) = a.pdq.filter(|_| a.image.is_some()) else {
            let why = a.image_error.map_or_else(|| "not an image".to_string(), |e| e.to_string());
            builder
                .record_bad(source, refuse(format!("{rel_text}: {why}")))
                .map_err(ImportError::sink)?;
            summary.refused.push((path.clone(), why));
            continue;
        };
        let mut hashes = vec![
            HashValue::Md5(a.digests.md5),
            HashValue::Sha1(a.digests.sha1),
            HashValue::Sha256(a.digests.sha256),
            HashValue::Pdq { hash: pdq.hash.0, quality: Some(pdq.quality) },
        ];
        if let Some(ih) = &a.imagehashes {
            hashes.push(HashValue::PHash(ih.phash.0));
        }
        let meta = EntryMeta {
            source_id: Some(rel_text.clone()),
            file_name: Some(relative.as_os_str().as_encoded_bytes().to_vec()),
            file_size: Some(a.size),
            ..EntryMeta::default()
        };
        builder
            .add_picture(source, Record { hashes, meta }, &a.windows)
            .map_err(ImportError::sink)?;
        summary.pictures += 1;
        summary.windows += a.windows.len() as u64;
    }
    builder
        .complete_source(source, "pictures".into(), identity.finish(), None)
        .map_err(ImportError::sink)?;
    Ok(summary)
}

pub(crate) mod sha2_lines {
    use sha2::{Digest, Sha256};

    /// SHA-256 over "name NUL digest-hex LF" lines in the order given (sorted paths).
    #[derive(Default)]
    pub(crate) struct Lines(Sha256);

    impl Lines {
        pub fn add(&mut self, name: &str, sha256: &[u8; 32]) {
            self.0.update(name.as_bytes());
            self.0.update([0]);
            self.0.update(crate::hex::encode(sha256).as_bytes());
            self.0.update(b"\n");
        }

        pub fn finish(self) -> String {
            crate::hex::encode(&self.0.finalize())
        }
    }
}
