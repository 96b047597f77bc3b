//! Verifying a disk image: its media read once, in order, hashed (MD5 and SHA-1) and
//! compared with the digests its container stored at acquisition (EWF `hash`/`digest`
//! sections), as `ewfverify` does. An unreadable chunk never counts as verified: the
//! outcome is then [`VerifyStatus::Unreadable`], with the byte ranges.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use md5::{Digest as _, Md5};
use sha1::Sha1;

use super::disk::{Detected, OpenedImage};
use super::image::DiskImage;
use crate::report::{ImageVerification, VerifyStatus};

/// Unreadable ranges listed at most (the count of bytes covers them all).
const MAX_RANGES: usize = 100;

/// Opens the image at `path` by content (EWF or raw, as [`super::disk::open_container`])
/// and verifies it. A file that cannot be opened at all is [`VerifyStatus::Unreadable`].
pub fn verify_path(
    path: &Path,
    allow_atime_changes: bool,
    cancel: Option<&AtomicBool>,
) -> ImageVerification {
    match super::disk::open_container(path, allow_atime_changes) {
        Ok(Some(OpenedImage { image, .. })) => verify_image(path, &*image, cancel),
        Ok(None) => {
            unopenable(path, "raw", "cannot open the file (does it exist, is it readable?)")
        }
        Err(e) => unopenable(path, "ewf", &e.to_string()),
    }
}

/// Verifies what [`super::disk::detect`] found at a root.
pub fn verify_detected(
    path: &Path,
    detected: &Detected,
    cancel: Option<&AtomicBool>,
) -> ImageVerification {
    match detected {
        Detected::Image(opened) => verify_image(path, &*opened.image, cancel),
        Detected::Unreadable(e) => unopenable(path, "ewf", &e.to_string()),
    }
}

fn unopenable(path: &Path, container: &str, message: &str) -> ImageVerification {
    ImageVerification {
        image: path.to_string_lossy().into_owned(),
        container: container.to_string(),
        status: VerifyStatus::Unreadable,
        media_size: 0,
        stored_md5: None,
        stored_sha1: None,
        computed_md5: None,
        computed_sha1: None,
        unreadable_bytes: 0,
        unreadable_ranges: Vec::new(),
        message: message.to_string(),
        metadata: Vec::new(),
    }
}

/// Hashes `image`'s media in one pass and compares with its stored digests.
pub fn verify_image(
    path: &Path,
    image: &dyn DiskImage,
    cancel: Option<&AtomicBool>,
) -> ImageVerification {
    let stored = image.stored_digests();
    let mut next = 0u64;
    let mut ranges: Vec<(u64, u64)> = Vec::new();
    let mut unreadable = 0u64;
    let mut errors: Vec<String> = Vec::new();
    let mut cancelled = false;
    // MD5 and SHA-1 each on their own thread while this one reads and inflates: the three
    // costs overlap instead of adding up. Batches of about 1 MiB, a few in flight.
    const BATCH: usize = 1 << 20;
    let (md5, sha1) = std::thread::scope(|scope| {
        let (md5_tx, md5_rx) = std::sync::mpsc::sync_channel::<std::sync::Arc<Vec<u8>>>(4);
        let (sha1_tx, sha1_rx) = std::sync::mpsc::sync_channel::<std::sync::Arc<Vec<u8>>>(4);
        let md5_thread = scope.spawn(move || {
            let mut h = Md5::new();
            md5_rx.iter().for_each(|b| h.update(&b[..]));
            h.finalize()
        });
        let sha1_thread = scope.spawn(move || {
            let mut h = Sha1::new();
            sha1_rx.iter().for_each(|b| h.update(&b[..]));
            h.finalize()
        });
        let mut batch = Vec::with_capacity(BATCH);
        let send = |batch: &mut Vec<u8>| {
            let full = std::sync::Arc::new(std::mem::replace(batch, Vec::with_capacity(BATCH)));
            let _ = md5_tx.send(full.clone());
            let _ = sha1_tx.send(full);
        };
        image.for_each_block(&mut |offset, len, block| {
            if cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
                cancelled = true;
                return false;
            }
            match block {
                Ok(bytes) => {
                    if unreadable == 0 {
                        batch.extend_from_slice(bytes);
                        if batch.len() >= BATCH {
                            send(&mut batch);
                        }
                    }
                    next = offset + bytes.len() as u64;
                }
                Err(e) => {
                    let end = offset + len;
                    unreadable += end - offset;
                    let count = ranges.len();
                    match ranges.last_mut() {
                        Some(last) if last.1 == offset => last.1 = end,
                        _ if count < MAX_RANGES => ranges.push((offset, end)),
                        _ => {}
                    }
                    if errors.len() < 3 {
                        errors.push(e.to_string());
                    }
                    next = end;
                }
            }
            true
        });
        if !batch.is_empty() {
            send(&mut batch);
        }
        drop((md5_tx, sha1_tx));
        let md5 = md5_thread.join().unwrap_or_default();
        let sha1 = sha1_thread.join().unwrap_or_default();
        (md5, sha1)
    });
    let hex = crate::hex::encode;
    let stored_md5 = stored.md5.map(|d| hex(&d));
    let stored_sha1 = stored.sha1.map(|d| hex(&d));
    let complete = !cancelled && next >= image.len() && unreadable == 0;
    let (computed_md5, computed_sha1) =
        if complete { (Some(hex(&md5)), Some(hex(&sha1))) } else { (None, None) };
    let mut notes = Vec::new();
    let status = if cancelled {
        notes.push(format!("stopped after {next} of {} bytes", image.len()));
        VerifyStatus::Incomplete
    } else if unreadable > 0 {
        notes.push(format!(
            "{unreadable} bytes of the media could not be read ({} range(s)): {}",
            ranges.len(),
            errors.join("; ")
        ));
        VerifyStatus::Unreadable
    } else if stored_md5.is_none() && stored_sha1.is_none() {
        notes.push("the container stores no digest; the computed ones are the media's".into());
        VerifyStatus::NoStoredDigest
    } else {
        let mut mismatch = false;
        for (name, s, c) in
            [("MD5", &stored_md5, &computed_md5), ("SHA-1", &stored_sha1, &computed_sha1)]
        {
            match s {
                Some(s) if Some(s) != c.as_ref() => {
                    mismatch = true;
                    notes.push(format!(
                        "{name} stored {s} but computed {}",
                        c.as_deref().unwrap_or("-")
                    ));
                }
                Some(_) => notes.push(format!("{name} matches")),
                None => notes.push(format!("no stored {name}")),
            }
        }
        if mismatch { VerifyStatus::Mismatch } else { VerifyStatus::Verified }
    };
    ImageVerification {
        image: path.to_string_lossy().into_owned(),
        container: image.container(),
        status,
        media_size: image.len(),
        stored_md5,
        stored_sha1,
        computed_md5,
        computed_sha1,
        unreadable_bytes: unreadable,
        unreadable_ranges: ranges,
        message: notes.join("; "),
        metadata: image.metadata().into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
    }
}
