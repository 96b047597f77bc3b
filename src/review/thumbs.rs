//! Thumbnails for the review page, made from the evidence read-only.
//!
//! A file on a mounted file system is opened with [`crate::analyze::open_evidence`]
//! (read-only, `O_NOATIME`, `O_NOFOLLOW`), read up to the scan's image size limit, checked
//! against the SHA-256 the report records (a file changed since the scan gets a placeholder
//! saying so, never a picture of other content), decoded under the default limits (JPEGs
//! scaled in the DCT domain) and reduced by area averaging to at most
//! [`ReviewOptions::thumb_size`](super::ReviewOptions::thumb_size) pixels a side, then
//! written as a JPEG into `OUT/thumbs/`. Entries inside a disk image (files of its file
//! systems, deleted ones included) are read through the same evidence source the scan
//! used ([`crate::evidence::disk`]: the image walked again, read-only, without carving),
//! and checked the same way. Members of ZIP archives (nested too, on a mounted file system or
//! inside a disk image) and pictures carved from a disk image are read again through
//! [`crate::evidence::reopen`]: each archive listed once for all its pictures, carved bytes
//! read at the offset the record gives. Whatever cannot be read again, or reads differently
//! from the scan, gets a placeholder with the reason.

use std::io::Read;
use std::path::Path;

use rayon::prelude::*;

use super::{Review, ReviewOptions};
use crate::decode::{DecodeOptions, JpegScale, RgbImage};
use crate::evidence::archive::ArchiveLimits;
use crate::evidence::reopen;
use crate::report::EntryDisposition;

/// A picture's thumbnail, or why there is none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Thumb {
    /// Not a picture (error records): nothing to show.
    None,
    /// Written as `thumbs/NAME`.
    Made(String),
    /// Shown as a placeholder with this reason.
    Placeholder(String),
}

/// Largest file read for a thumbnail when the report gives no image size limit.
const DEFAULT_MAX_BYTES: u64 = 256 << 20;

/// One thumbnail per review item (in item order), made in parallel on the current pool.
pub fn make_all(review: &Review, out: &Path, options: &ReviewOptions) -> Vec<Thumb> {
    let max_bytes = match review.header.options.max_image_file_bytes {
        0 => DEFAULT_MAX_BYTES,
        n => n,
    };
    let mut thumbs: Vec<Thumb> = review
        .items
        .par_iter()
        .map(|item| {
            let r = &item.record;
            if r.disposition == EntryDisposition::Error {
                return Thumb::None;
            }
            if options.no_thumbnails {
                return Thumb::Placeholder("thumbnails were not made (--no-thumbnails)".into());
            }
            if let Some(loc) = &r.location {
                // Read again below, grouped by archive and by disk image.
                let pending = if loc.carved.is_some() || !loc.archive.is_empty() {
                    NOT_FOUND_AGAIN
                } else {
                    NOT_FOUND_IN_IMAGE
                };
                return Thumb::Placeholder(pending.into());
            }
            open_file(review, r)
                .and_then(|reader| read_limited(reader, max_bytes))
                .and_then(|bytes| save(out, options, item.ordinal, r, &bytes))
                .map_or_else(Thumb::Placeholder, Thumb::Made)
        })
        .collect();
    if !options.no_thumbnails {
        let limits = archive_limits(&review.header.options.limits);
        from_folder_archives(review, out, options, max_bytes, &limits, &mut thumbs);
        from_disk_images(review, out, options, max_bytes, &limits, &mut thumbs);
    }
    thumbs
}

/// Said of an archive member or carved picture whose bytes were not met again.
const NOT_FOUND_AGAIN: &str =
    "inside an archive or carved: not found again when the evidence was read for thumbnails";

/// The archive limits the scan recorded in its header (`archive_max_entries=...`), the
/// defaults for those it did not.
fn archive_limits(described: &[String]) -> ArchiveLimits {
    let mut limits = ArchiveLimits::default();
    for line in described {
        let Some((key, value)) = line.split_once('=') else { continue };
        let Ok(value) = value.parse::<u64>() else { continue };
        match key {
            "archive_max_entries" => limits.max_entries = value,
            "archive_max_nested_in_memory" => limits.max_nested_in_memory = value,
            _ => {}
        }
    }
    limits
}

/// Whether the item waits for its archive or carved bytes to be read again.
fn awaits_reread(thumb: &Thumb) -> bool {
    matches!(thumb, Thumb::Placeholder(p) if p == NOT_FOUND_AGAIN)
}

/// The wanted members of one outermost archive: item indices with their member chains.
type ArchiveWants<'a> = Vec<reopen::WantedMember<'a>>;

/// Makes the thumbnails of the wanted members of `data` (the outermost archive, whose
/// record path is `path`) and stores them in `thumbs`.
#[allow(clippy::too_many_arguments)]
fn thumbs_of_members(
    review: &Review,
    out: &Path,
    options: &ReviewOptions,
    max_bytes: u64,
    limits: &ArchiveLimits,
    data: crate::evidence::archive::ArchiveBytes,
    path: &[u8],
    wanted: &ArchiveWants<'_>,
) -> Vec<(usize, Thumb)> {
    let mut made = Vec::with_capacity(wanted.len());
    reopen::archive_members(data, path, wanted, limits, max_bytes, &mut |i, bytes| {
        let thumb = bytes.and_then(|b| save_item(review, out, options, i, &b));
        made.push((i, thumb.map_or_else(Thumb::Placeholder, Thumb::Made)));
    });
    made
}

/// Thumbnail of the bytes read again for review item `i`.
fn save_item(
    review: &Review,
    out: &Path,
    options: &ReviewOptions,
    i: usize,
    bytes: &[u8],
) -> Result<String, String> {
    let item = &review.items[i];
    save(out, options, item.ordinal, &item.record, bytes)
}

/// Checks `bytes` against the record's SHA-256, makes the thumbnail and writes it as
/// `thumbs/NNNNNNNN.jpg` (the record's ordinal); its file name.
fn save(
    out: &Path,
    options: &ReviewOptions,
    ordinal: u64,
    record: &crate::report::EntryRecord,
    bytes: &[u8],
) -> Result<String, String> {
    let name = format!("{ordinal:08}.jpg");
    let jpeg = thumbnail_of(bytes, record, options.thumb_size)?;
    write(&out.join("thumbs").join(&name), jpeg)?;
    Ok(name)
}

/// Members of archives on a mounted file system: each outermost archive file opened
/// read-only and listed once, archives in parallel.
fn from_folder_archives(
    review: &Review,
    out: &Path,
    options: &ReviewOptions,
    max_bytes: u64,
    limits: &ArchiveLimits,
    thumbs: &mut [Thumb],
) {
    use std::collections::BTreeMap;
    let mut by_archive: BTreeMap<&[u8], ArchiveWants<'_>> = BTreeMap::new();
    for (i, item) in review.items.iter().enumerate() {
        let Some(loc) = &item.record.location else { continue };
        if !awaits_reread(&thumbs[i]) || loc.container != "file" || loc.archive.is_empty() {
            continue;
        }
        match reopen::outer_archive_path(&item.record.path, &loc.archive) {
            Some(path) => by_archive.entry(path).or_default().push((i, &loc.archive)),
            None => thumbs[i] = Thumb::Placeholder(UNNAMED_ARCHIVE.into()),
        }
    }
    let made: Vec<Vec<(usize, Thumb)>> = by_archive
        .into_par_iter()
        .map(|(path, wanted)| {
            let opened = crate::analyze::open_evidence(&review.evidence_path(path))
                .map_err(|e| format!("cannot open the archive again: {e}"))
                .and_then(|file| {
                    crate::evidence::folder::file_bytes(file)
                        .map_err(|e| format!("cannot open the archive again: {e}"))
                });
            match opened {
                Ok(data) => {
                    thumbs_of_members(review, out, options, max_bytes, limits, data, path, &wanted)
                }
                Err(why) => {
                    wanted.iter().map(|&(i, _)| (i, Thumb::Placeholder(why.clone()))).collect()
                }
            }
        })
        .collect();
    for (i, thumb) in made.into_iter().flatten() {
        thumbs[i] = thumb;
    }
}

const UNNAMED_ARCHIVE: &str =
    "inside an archive the record does not name (its path does not end with its members' names)";

const NOT_FOUND_IN_IMAGE: &str =
    "inside a disk image: not found again when the image was read for thumbnails";

/// What one disk image holds of the wanted items.
#[derive(Default)]
struct ImageWants<'a> {
    /// Files of its file systems, by record path.
    files: std::collections::HashMap<&'a [u8], usize>,
    /// Members of archives that are files of its file systems, by the archive's path.
    archives: std::collections::HashMap<&'a [u8], ArchiveWants<'a>>,
    /// Carved pictures.
    carved: Vec<(usize, &'a crate::report::Location)>,
}

/// Walks each disk image holding wanted entries once more (no carving, no archives) and
/// makes their thumbnails from the contents it yields: its files, the members of archives
/// among them, and pictures carved from it (read at their recorded offsets).
fn from_disk_images(
    review: &Review,
    out: &Path,
    options: &ReviewOptions,
    max_bytes: u64,
    limits: &ArchiveLimits,
    thumbs: &mut [Thumb],
) {
    use std::collections::BTreeMap;
    let mut by_image: BTreeMap<&str, ImageWants<'_>> = BTreeMap::new();
    for (i, item) in review.items.iter().enumerate() {
        let Some(loc) = &item.record.location else { continue };
        let path = item.record.path.as_slice();
        if thumbs[i] == Thumb::Placeholder(NOT_FOUND_IN_IMAGE.into()) {
            by_image.entry(&loc.image).or_default().files.insert(path, i);
        } else if awaits_reread(&thumbs[i]) && loc.container != "file" {
            let wants = by_image.entry(&loc.image).or_default();
            if loc.carved.is_some() {
                wants.carved.push((i, loc));
            } else if let Some(outer) = reopen::outer_archive_path(path, &loc.archive) {
                wants.archives.entry(outer).or_default().push((i, &loc.archive));
            } else {
                thumbs[i] = Thumb::Placeholder(UNNAMED_ARCHIVE.into());
            }
        }
    }
    let source =
        crate::evidence::SourceOptions { no_carve: true, no_archives: true, ..Default::default() };
    for (image, mut wants) in by_image {
        let root = &review.evidence_path(image.as_bytes());
        let Some(detected) = crate::evidence::disk::detect(root, &source) else { continue };
        if let crate::evidence::disk::Detected::Image(opened) = &detected {
            let media = opened.image.clone();
            let made: Vec<(usize, Thumb)> = wants
                .carved
                .par_iter()
                .filter_map(|&(i, loc)| Some((i, loc.carved.as_ref()?, &loc.byte_runs)))
                .map(|(i, carved, runs)| {
                    let thumb = reopen::carved_bytes(&*media, carved, runs, max_bytes)
                        .and_then(|b| save_item(review, out, options, i, &b));
                    (i, thumb.map_or_else(Thumb::Placeholder, Thumb::Made))
                })
                .collect();
            for (i, thumb) in made {
                thumbs[i] = thumb;
            }
        }
        if wants.files.is_empty() && wants.archives.is_empty() {
            continue;
        }
        for item in crate::evidence::disk::items(root, detected, &source) {
            if wants.files.is_empty() && wants.archives.is_empty() {
                break;
            }
            let crate::evidence::Item::Content(job) = item else { continue };
            if let Some(archive) = wants.archives.remove(job.record.path.as_slice()) {
                let path = job.record.path.clone();
                let made = match job.content.open() {
                    Ok(opened) => match opened.reader.random_access() {
                        Some(data) => thumbs_of_members(
                            review, out, options, max_bytes, limits, data, &path, &archive,
                        ),
                        None => placeholders(&archive, "the archive cannot be read in place"),
                    },
                    Err(reason) => placeholders(
                        &archive,
                        &format!("cannot read the archive in the image again: {reason}"),
                    ),
                };
                for (i, thumb) in made {
                    thumbs[i] = thumb;
                }
                continue;
            }
            let Some(i) = wants.files.remove(job.record.path.as_slice()) else { continue };
            thumbs[i] = job
                .content
                .open()
                .map_err(|reason| format!("cannot read it in the image again: {reason}"))
                .and_then(|opened| read_limited(opened.reader, max_bytes))
                .and_then(|bytes| save_item(review, out, options, i, &bytes))
                .map_or_else(Thumb::Placeholder, Thumb::Made);
        }
    }
}

fn placeholders(wanted: &ArchiveWants<'_>, why: &str) -> Vec<(usize, Thumb)> {
    wanted.iter().map(|&(i, _)| (i, Thumb::Placeholder(why.to_string()))).collect()
}

fn open_file(
    review: &Review,
    record: &crate::report::EntryRecord,
) -> Result<std::fs::File, String> {
    let path = review.evidence_path(&record.path);
    crate::analyze::open_evidence(&path).map_err(|e| format!("cannot open the file again: {e}"))
}

fn write(dest: &Path, jpeg: Vec<u8>) -> Result<(), String> {
    std::fs::write(dest, jpeg).map_err(|e| format!("cannot write the thumbnail: {e}"))
}

/// Reads the content, at most `max_bytes` (the scan's image size limit).
fn read_limited(reader: impl Read, max_bytes: u64) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    reader
        .take(max_bytes + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read the file again: {e}"))?;
    if bytes.len() as u64 > max_bytes {
        return Err(format!("larger than the image size limit ({max_bytes} bytes)"));
    }
    Ok(bytes)
}

/// Checks `bytes` against the record's SHA-256 and makes the thumbnail's JPEG bytes.
fn thumbnail_of(
    bytes: &[u8],
    record: &crate::report::EntryRecord,
    side: u32,
) -> Result<Vec<u8>, String> {
    if let Some(expected) = record.sha256 {
        let got = crate::digest::digest_bytes(bytes, Default::default()).sha256;
        if got != expected {
            return Err("the file changed since the scan (SHA-256 differs): not shown".into());
        }
    }
    let options = DecodeOptions {
        jpeg_scale: JpegScale::Fast { min_side: side.max(1) },
        ..DecodeOptions::default()
    };
    let image = crate::decode::decode_rgb8(bytes, &options)
        .map_err(|e| format!("cannot decode the picture: {e}"))?;
    let small = reduce(&image, side.max(1));
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 75)
        .encode(&small.pixels, small.width, small.height, image::ExtendedColorType::Rgb8)
        .map_err(|e| format!("cannot encode the thumbnail: {e}"))?;
    Ok(jpeg)
}

/// Area-average reduction so the longer side is at most `side` (never enlarges).
pub fn reduce(image: &RgbImage, side: u32) -> Reduced {
    let (w, h) = (image.width.max(1), image.height.max(1));
    let scale = (f64::from(side) / f64::from(w.max(h))).min(1.0);
    let ow = ((f64::from(w) * scale).round() as u32).clamp(1, w);
    let oh = ((f64::from(h) * scale).round() as u32).clamp(1, h);
    let mut pixels = vec![0u8; (ow * oh * 3) as usize];
    for oy in 0..oh {
        let y0 = (u64::from(oy) * u64::from(h) / u64::from(oh)) as u32;
        let y1 = ((u64::from(oy + 1) * u64::from(h)).div_ceil(u64::from(oh)) as u32).max(y0 + 1);
        for ox in 0..ow {
            let x0 = (u64::from(ox) * u64::from(w) / u64::from(ow)) as u32;
            let x1 =
                ((u64::from(ox + 1) * u64::from(w)).div_ceil(u64::from(ow)) as u32).max(x0 + 1);
            let mut sum = [0u64; 3];
            for y in y0..y1.min(h) {
                let row = (y * w) as usize * 3;
                for x in x0..x1.min(w) {
                    let p = row + x as usize * 3;
                    for (c, s) in sum.iter_mut().enumerate() {
                        *s += u64::from(image.pixels.get(p + c).copied().unwrap_or(0));
                    }
                }
            }
            let count = u64::from((y1.min(h) - y0) * (x1.min(w) - x0)).max(1);
            let o = ((oy * ow + ox) * 3) as usize;
            for (c, s) in sum.iter().enumerate() {
                pixels[o + c] = (s / count) as u8;
            }
        }
    }
    Reduced { width: ow, height: oh, pixels }
}

/// A reduced picture: RGB8, rows top to bottom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reduced {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width * height * 3` bytes.
    pub pixels: Vec<u8>,
}
