//! Known videos from vPDQ hash lists in the reference's text format (`vpdq-hash-video`
//! output: one `frame,quality,pdq-hex,timestamp` line per hashed frame, one file per
//! video), stored in a `.mhset` with their frames (`mh refset build --alert-vpdq`).

use std::path::{Path, PathBuf};

use crate::perceptual::vpdq::{DEFAULT_QUALITY, parse_list};
use crate::refset::build::Builder;
use crate::refset::{BadRecord, Disposition, EntryMeta, HashValue, Record};

use super::ImportError;
use super::pictures::sha2_lines;

/// What a vPDQ import gave.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VpdqListSummary {
    /// Videos stored (one per list file).
    pub videos: u64,
    /// Frames stored in all.
    pub frames: u64,
    /// Files that were not stored, with the reason (not a vPDQ list, no usable frame).
    pub refused: Vec<(PathBuf, String)>,
}

/// The list files: `path` itself, or the regular files under the folder `path`, sorted.
fn list_files(path: &Path) -> Result<Vec<PathBuf>, ImportError> {
    let meta =
        std::fs::metadata(path).map_err(|e| ImportError::io(&path.display().to_string(), e))?;
    if !meta.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    super::pictures::files_under(path)
}

/// Adds the vPDQ list file `path` (one video), or every list under the folder `path` (one
/// video each), as one source of the builder (set `set_name`, default the file or folder
/// name). Each video is a record whose `source_id` is its **video id** (the list's file name
/// without `.txt`, relative to the folder) and whose values are its distinct frame hashes
/// of quality ≥ 50 (so a still of the video is found by plain PDQ search), stored with all
/// its frames ([`Builder::add_video`]). Files that do not parse, or have no frame of
/// quality ≥ 50, are bad records.
pub fn import_vpdq_lists(
    builder: &mut Builder,
    path: &Path,
    disposition: Disposition,
    set_name: Option<&str>,
) -> Result<VpdqListSummary, ImportError> {
    let source = builder
        .add_source(super::new_source(path, "vpdq-list", disposition, set_name))
        .map_err(ImportError::sink)?;
    let mut summary = VpdqListSummary::default();
    let mut identity = sha2_lines::Lines::default();
    let files = list_files(path)?;
    let single = files.len() == 1 && files[0] == path;
    for (line, file) in files.iter().enumerate() {
        let relative = if single {
            Path::new(file.file_name().unwrap_or(file.as_os_str()))
        } else {
            file.strip_prefix(path).unwrap_or(file)
        };
        let rel_text = relative.to_string_lossy().into_owned();
        let bytes =
            std::fs::read(file).map_err(|e| ImportError::io(&file.display().to_string(), e))?;
        let digest = crate::digest::digest_bytes(&bytes, Default::default());
        identity.add(&rel_text, &digest.sha256);
        let refuse = |builder: &mut Builder, summary: &mut VpdqListSummary, why: String| {
            summary.refused.push((file.clone(), why.clone()));
            builder
                .record_bad(
                    source,
                    BadRecord { line: line as u64 + 1, reason: format!("{rel_text}: {why}") },
                )
                .map_err(ImportError::sink)
        };
        let text = match String::from_utf8(bytes) {
            Ok(t) => t,
            Err(_) => {
                refuse(builder, &mut summary, "not UTF-8 text".into())?;
                continue;
            }
        };
        let frames = match parse_list(&text) {
            Ok(f) => f,
            Err(e) => {
                refuse(builder, &mut summary, e.to_string())?;
                continue;
            }
        };
        if let Some(f) = frames.iter().find(|f| f.frame > u64::from(u32::MAX)) {
            refuse(builder, &mut summary, format!("frame number {} over 2^32", f.frame))?;
            continue;
        }
        let mut hashes: Vec<HashValue> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for f in frames.iter().filter(|f| f.quality >= DEFAULT_QUALITY) {
            if seen.insert(f.hash) {
                hashes.push(HashValue::Pdq { hash: f.hash.0, quality: Some(f.quality) });
            }
        }
        if hashes.is_empty() {
            refuse(builder, &mut summary, "no frame of quality 50 or more".into())?;
            continue;
        }
        let video_id = rel_text.strip_suffix(".txt").unwrap_or(&rel_text).to_string();
        let meta = EntryMeta {
            source_id: Some(video_id),
            file_name: Some(relative.as_os_str().as_encoded_bytes().to_vec()),
            note: Some(format!("vPDQ list of {} frames", frames.len())),
            ..EntryMeta::default()
        };
        builder.add_video(source, Record { hashes, meta }, &frames).map_err(ImportError::sink)?;
        summary.videos += 1;
        summary.frames += frames.len() as u64;
    }
    builder
        .complete_source(source, "vpdq-list".into(), identity.finish(), None)
        .map_err(ImportError::sink)?;
    Ok(summary)
}
