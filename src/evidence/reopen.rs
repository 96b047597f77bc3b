//! Reading a recorded entry's bytes again from its record's location: members of ZIP
//! archives (nested too) and pictures carved from a disk image. The review's thumbnails use
//! this; anything that must show or export an entry after the scan can.
//!
//! An archive member is found again by the chain of members its location records (the
//! central-directory index and local-header offset at each level), never by name alone:
//! names in an archive may repeat. Each archive is listed once for all the members wanted
//! from it, so reading back every picture of an archive costs one listing, not one per
//! picture. Reads are bounded: a member by the caller's limit, a nested archive by the
//! scan's in-memory limit for nested archives. The caller checks the bytes against the
//! record's digests: a location says where to look, the digests say whether it is still
//! the same content.

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::Arc;

use super::Item;
use super::archive::{self, ArchiveBytes, ArchiveLimits, MEMBER_SEPARATOR};
use super::image::DiskImage;
use crate::report::{ArchiveMember, ByteRun, Carved};

/// The bytes of one wanted entry, or why they could not be read again.
pub type Reread = Result<Vec<u8>, String>;

/// One wanted archive member: the caller's key and the member chain from the record's
/// location, outermost first.
pub type WantedMember<'a> = (usize, &'a [ArchiveMember]);

/// The path of the outermost archive file holding a member whose record path is
/// `member_path` and whose location records `chain` (outermost first): the member path with
/// each `!/NAME` step removed. `None` when the path does not end with those steps (a record
/// that was not written by a scan).
pub fn outer_archive_path<'a>(member_path: &'a [u8], chain: &[ArchiveMember]) -> Option<&'a [u8]> {
    let mut path = member_path;
    for member in chain.iter().rev() {
        let name = member_name(member)?;
        path = path.strip_suffix(name.as_slice())?.strip_suffix(MEMBER_SEPARATOR)?;
    }
    Some(path)
}

/// A member's name as its archive records it (the hex form when it is not UTF-8).
fn member_name(member: &ArchiveMember) -> Option<Vec<u8>> {
    match &member.name_hex {
        Some(hex) => crate::hex::decode_vec(hex).ok(),
        None => Some(member.name.as_bytes().to_vec()),
    }
}

/// Reads the members named by `wanted` (a caller's key and the member chain from the
/// record's location, outermost first) from the archive `data`, whose record path is
/// `path`, and hands each one's bytes (at most `max_bytes`) or the reason to `found`, once
/// per key, in the archive's order. Nested archives on a chain are read into memory (at most
/// `limits.max_nested_in_memory` bytes) and listed once each.
pub fn archive_members(
    data: ArchiveBytes,
    path: &[u8],
    wanted: &[WantedMember<'_>],
    limits: &ArchiveLimits,
    max_bytes: u64,
    found: &mut dyn FnMut(usize, Reread),
) {
    members_at(data, path, wanted, 0, limits, max_bytes, found);
}

fn members_at(
    data: ArchiveBytes,
    path: &[u8],
    wanted: &[WantedMember<'_>],
    depth: usize,
    limits: &ArchiveLimits,
    max_bytes: u64,
    found: &mut dyn FnMut(usize, Reread),
) {
    // Wanted keys by the (index, local header offset) of their member at this depth.
    let mut by_member: BTreeMap<(u64, u64), Vec<WantedMember<'_>>> = BTreeMap::new();
    for &(key, chain) in wanted {
        match chain.get(depth) {
            Some(m) => {
                by_member.entry((m.index, m.local_header_offset)).or_default().push((key, chain))
            }
            None => found(key, Err("the record names no archive member".into())),
        }
    }
    // Members are read in full, whatever the scan's ratio and total limits were: the
    // reads here are bounded by the caller's limits instead.
    let listing =
        ArchiveLimits { max_depth: 1, max_ratio: u64::MAX, max_bytes: u64::MAX, ..*limits };
    let Some(expansion) = archive::expand_bytes(path, data, &listing) else {
        for (key, _) in by_member.into_values().flatten() {
            found(key, Err("the archive is no longer a ZIP archive".into()));
        }
        return;
    };
    for item in expansion {
        if by_member.is_empty() {
            break;
        }
        let record = match &item {
            Item::Decided(r) => r,
            Item::Content(job) => &job.record,
        };
        let Some(member) = record.location.as_ref().and_then(|l| l.archive.last()) else {
            continue;
        };
        let Some(keys) = by_member.remove(&(member.index, member.local_header_offset)) else {
            continue;
        };
        let (last, deeper): (Vec<_>, Vec<_>) =
            keys.into_iter().partition(|(_, chain)| chain.len() == depth + 1);
        let job = match item {
            Item::Content(job) => job,
            Item::Decided(record) => {
                let why = record.reason.as_ref().map_or_else(
                    || "the member holds no content".to_string(),
                    |r| format!("the member is not read: {}", r.message),
                );
                for (key, _) in last.into_iter().chain(deeper) {
                    found(key, Err(why.clone()));
                }
                continue;
            }
        };
        let member_path = job.record.path.clone();
        let limit =
            if deeper.is_empty() { max_bytes } else { max_bytes.max(limits.max_nested_in_memory) };
        let bytes = read_bounded(job, limit);
        let (for_last, for_deeper) = match (last.is_empty(), deeper.is_empty()) {
            (false, false) => (Some(bytes.clone()), Some(bytes)),
            (false, true) => (Some(bytes), None),
            (true, _) => (None, Some(bytes)),
        };
        if let Some(bytes) = for_last
            && let Some((&(final_key, _), others)) = last.split_last()
        {
            // Several records naming one member (never from one scan) get the same bytes.
            for &(key, _) in others {
                found(key, bytes.clone().and_then(|b| within(b, max_bytes)));
            }
            found(final_key, bytes.and_then(|b| within(b, max_bytes)));
        }
        let Some(bytes) = for_deeper else { continue };
        match bytes.and_then(|b| within(b, limits.max_nested_in_memory)) {
            Ok(inner) => {
                let inner: ArchiveBytes = Arc::new(inner);
                members_at(inner, &member_path, &deeper, depth + 1, limits, max_bytes, found);
            }
            Err(why) => {
                for (key, _) in deeper {
                    found(key, Err(format!("the nested archive holding it: {why}")));
                }
            }
        }
    }
    for (key, _) in by_member.into_values().flatten() {
        found(key, Err("the member is no longer in the archive".into()));
    }
}

fn within(bytes: Vec<u8>, max: u64) -> Reread {
    if bytes.len() as u64 > max {
        return Err(format!("larger than the limit of {max} bytes"));
    }
    Ok(bytes)
}

/// Opens an item's content and reads at most `limit + 1` bytes (so a longer content shows).
fn read_bounded(job: super::ContentItem, limit: u64) -> Reread {
    let opened = job.content.open().map_err(|r| format!("cannot open it again: {}", r.message))?;
    let mut bytes = Vec::new();
    opened
        .reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read it again: {e}"))?;
    Ok(bytes)
}

/// The bytes of a carved picture from the media of the disk image it was carved from: its
/// byte runs in order (a picture carved whole around an allocated file has several), or
/// `carved.offset` and `carved.length` when the record gives no runs; at most `max_bytes`.
pub fn carved_bytes(
    media: &dyn DiskImage,
    carved: &Carved,
    runs: &[ByteRun],
    max_bytes: u64,
) -> Reread {
    let whole = [ByteRun { img_offset: carved.offset, len: carved.length }];
    let runs = if runs.is_empty() { &whole[..] } else { runs };
    let total = runs.iter().try_fold(0u64, |sum, run| sum.checked_add(run.len));
    if total.is_none_or(|total| total > max_bytes) {
        return Err(format!("the carved bytes exceed the limit of {max_bytes}"));
    }
    let mut bytes = Vec::with_capacity(total.unwrap_or(0) as usize);
    for run in runs {
        let end = run.img_offset.checked_add(run.len);
        if end.is_none_or(|end| end > media.len()) {
            return Err(format!(
                "bytes {}..+{} lie past the end of the media ({} bytes)",
                run.img_offset,
                run.len,
                media.len()
            ));
        }
        let start = bytes.len();
        bytes.resize(start + run.len as usize, 0);
        media
            .read_exact_at(run.img_offset, &mut bytes[start..])
            .map_err(|e| format!("cannot read the carved bytes again: {e}"))?;
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(name: &str, index: u64) -> ArchiveMember {
        ArchiveMember { name: name.into(), index, ..ArchiveMember::default() }
    }

    #[test]
    fn outer_path_strips_each_step() {
        let chain = [member("in.zip", 0), member("a/b.jpg", 3)];
        assert_eq!(
            outer_archive_path(b"/ev/x.zip!/in.zip!/a/b.jpg", &chain),
            Some(&b"/ev/x.zip"[..])
        );
        assert_eq!(outer_archive_path(b"/ev/x.zip!/other!/a/b.jpg", &chain), None);
        let hex = ArchiveMember { name_hex: Some("ff41".into()), ..member("\u{fffd}A", 0) };
        assert_eq!(outer_archive_path(b"z.zip!/\xffA", &[hex]), Some(&b"z.zip"[..]));
    }

    #[test]
    fn carved_reads_are_bounded_by_the_media() {
        let media: Vec<u8> = (0..100u8).collect();
        let carved = |offset, length| Carved { offset, length, ..Carved::default() };
        assert_eq!(carved_bytes(&media, &carved(10, 3), &[], 1000), Ok(vec![10, 11, 12]));
        assert!(carved_bytes(&media, &carved(99, 2), &[], 1000).is_err());
        assert!(carved_bytes(&media, &carved(u64::MAX, 2), &[], 1000).is_err());
        assert!(carved_bytes(&media, &carved(0, 50), &[], 10).is_err());
        let run = |img_offset, len| ByteRun { img_offset, len };
        let split = [run(10, 2), run(20, 2)];
        assert_eq!(carved_bytes(&media, &carved(10, 12), &split, 1000), Ok(vec![10, 11, 20, 21]));
        let huge = [run(0, u64::MAX), run(0, 2)];
        assert!(carved_bytes(&media, &carved(0, 1), &huge, u64::MAX).is_err());
    }
}
