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
//! and checked the same way. Members of archives and carved pictures get a placeholder
//! with the reason: this version does not re-open them.

use std::io::Read;
use std::path::Path;

use rayon::prelude::*;

use super::{Review, ReviewOptions};
use crate::decode::{DecodeOptions, JpegScale, RgbImage};
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
                if !loc.archive.is_empty() || loc.carved.is_some() {
                    let what = if loc.carved.is_some() { "carved" } else { "inside an archive" };
                    return Thumb::Placeholder(format!(
                        "{what} ({}): this version makes no thumbnail of it; the location \
                         below says where to extract it",
                        loc.image
                    ));
                }
                // Read through the disk image below.
                return Thumb::Placeholder(NOT_FOUND_IN_IMAGE.into());
            }
            let name = format!("{:08}.jpg", item.ordinal);
            let made = open_file(review, r)
                .and_then(|reader| thumbnail(reader, r, max_bytes, options.thumb_size));
            match made.and_then(|jpeg| write(&out.join("thumbs").join(&name), jpeg)) {
                Ok(()) => Thumb::Made(name),
                Err(reason) => Thumb::Placeholder(reason),
            }
        })
        .collect();
    if !options.no_thumbnails {
        from_disk_images(review, out, options, max_bytes, &mut thumbs);
    }
    thumbs
}

const NOT_FOUND_IN_IMAGE: &str =
    "inside a disk image: not found again when the image was read for thumbnails";

/// Walks each disk image holding wanted entries once more (no carving, no archives) and
/// makes their thumbnails from the contents it yields.
fn from_disk_images(
    review: &Review,
    out: &Path,
    options: &ReviewOptions,
    max_bytes: u64,
    thumbs: &mut [Thumb],
) {
    use std::collections::{BTreeMap, HashMap};
    let mut wanted: BTreeMap<String, HashMap<Vec<u8>, usize>> = BTreeMap::new();
    for (i, item) in review.items.iter().enumerate() {
        if thumbs[i] == Thumb::Placeholder(NOT_FOUND_IN_IMAGE.into())
            && let Some(loc) = &item.record.location
        {
            wanted.entry(loc.image.clone()).or_default().insert(item.record.path.clone(), i);
        }
    }
    let source =
        crate::evidence::SourceOptions { no_carve: true, no_archives: true, ..Default::default() };
    for (image, mut paths) in wanted {
        let root = &review.evidence_path(image.as_bytes());
        let Some(detected) = crate::evidence::disk::detect(root, &source) else { continue };
        for item in crate::evidence::disk::items(root, detected, &source) {
            if paths.is_empty() {
                break;
            }
            let crate::evidence::Item::Content(job) = item else { continue };
            let Some(i) = paths.remove(&job.record.path) else { continue };
            let r = &review.items[i].record;
            let name = format!("{:08}.jpg", review.items[i].ordinal);
            let made = job
                .content
                .open()
                .map_err(|reason| format!("cannot read it in the image again: {reason}"))
                .and_then(|opened| thumbnail(opened.reader, r, max_bytes, options.thumb_size))
                .and_then(|jpeg| write(&out.join("thumbs").join(&name), jpeg));
            thumbs[i] = match made {
                Ok(()) => Thumb::Made(name),
                Err(reason) => Thumb::Placeholder(reason),
            };
        }
    }
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

/// Reads the content (bounded), checks it against the record's SHA-256, and makes the
/// thumbnail's JPEG bytes.
fn thumbnail(
    reader: impl Read,
    record: &crate::report::EntryRecord,
    max_bytes: u64,
    side: u32,
) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    reader
        .take(max_bytes + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read the file again: {e}"))?;
    if bytes.len() as u64 > max_bytes {
        return Err(format!("larger than the image size limit ({max_bytes} bytes)"));
    }
    if let Some(expected) = record.sha256 {
        let got = crate::digest::digest_bytes(&bytes, Default::default()).sha256;
        if got != expected {
            return Err("the file changed since the scan (SHA-256 differs): not shown".into());
        }
    }
    let options = DecodeOptions {
        jpeg_scale: JpegScale::Fast { min_side: side.max(1) },
        ..DecodeOptions::default()
    };
    let image = crate::decode::decode_rgb8(&bytes, &options)
        .map_err(|e| format!("cannot decode the picture: {e}"))?;
    drop(bytes);
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
