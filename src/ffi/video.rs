//! Videos: vPDQ of a video file (decoded by the `ffmpeg` program in a child process) or of
//! frames the caller decoded itself, and matching a video's frames against the known
//! videos of a reference set.

use std::ffi::{CStr, CString, c_char};
use std::time::Duration;

use super::hash::path_from_c;
use super::mh_status;
use super::refset::{mh_disposition, mh_refset, refset_ref};
use super::status::{fail, ffi_boundary, non_null};

super::abi::sized32!(mh_vpdq_match: contains_known as u32);
use crate::perceptual::pdq::PdqHash;
use crate::perceptual::vpdq::{self, VpdqFrame, VpdqMatchOptions};

/// One hashed frame of a video. An array element (`mh_vpdq_list_frames`,
/// `mh_refset_match_vpdq`), so it has no `struct_size`: its layout is fixed for
/// `MH_ABI_VERSION` 1.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct mh_vpdq_frame {
    /// 0-based frame number in decode order.
    pub frame: u64,
    /// Seconds: frame / frame rate, as the reference computes it (not presentation time).
    pub timestamp: f64,
    /// PDQ quality 0-100; frames below 50 take no part in matching.
    pub quality: u32,
    /// PDQ hash, 32 bytes (the 64-hex-digit form's bytes).
    pub hash: [u8; 32],
}

impl From<&VpdqFrame> for mh_vpdq_frame {
    fn from(f: &VpdqFrame) -> Self {
        mh_vpdq_frame {
            frame: f.frame,
            timestamp: f64::from(f.timestamp),
            quality: u32::from(f.quality),
            hash: f.hash.0,
        }
    }
}

/// A video's vPDQ list (opaque; free with `mh_vpdq_list_free`).
pub struct mh_vpdq_list {
    frames: Vec<mh_vpdq_frame>,
    vpdq_equal: bool,
}

/// Hashes the video file at `path` (NUL-terminated) as vPDQ, one frame every
/// `seconds_per_hash` seconds (1 = the reference's default; 0 = every frame), through the
/// `ffmpeg` program (`ffmpeg_path` NULL: `ffmpeg` on PATH; `ffprobe` is taken from the same
/// directory), killed after `time_limit_ms` milliseconds (0: the default, 30 minutes).
/// Writes a new list to `*out`. `MH_STATUS_VIDEO_FAILED` when ffmpeg is missing, fails or
/// times out, or the file has no video stream (the error detail says which).
///
/// # Safety
///
/// `path` and `ffmpeg_path` NULL or NUL-terminated strings; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mh_vpdq_hash_file(
    path: *const c_char,
    seconds_per_hash: f64,
    ffmpeg_path: *const c_char,
    time_limit_ms: u64,
    out: *mut *mut mh_vpdq_list,
) -> mh_status {
    ffi_boundary(|| {
        non_null!("mh_vpdq_hash_file", path, out)?;
        if !(seconds_per_hash.is_finite() && seconds_per_hash >= 0.0) {
            return Err(fail(
                mh_status::InvalidParameter,
                "mh_vpdq_hash_file: seconds_per_hash must be finite and 0 or more",
            ));
        }
        // SAFETY: `path` is non-NULL and the caller guarantees a NUL-terminated string.
        let path = path_from_c(unsafe { CStr::from_ptr(path) })?;
        let mut options = crate::video::VideoOptions { seconds_per_hash, ..Default::default() };
        if !ffmpeg_path.is_null() {
            // SAFETY: non-NULL; the caller guarantees a NUL-terminated string.
            options.ffmpeg.ffmpeg = path_from_c(unsafe { CStr::from_ptr(ffmpeg_path) })?;
        }
        if time_limit_ms > 0 {
            options.ffmpeg.time_limit = Duration::from_millis(time_limit_ms);
        }
        let hashes = crate::video::hash_video_file(&path, &options)
            .map_err(|e| fail(mh_status::VideoFailed, format!("{}: {e}", path.display())))?;
        let list = mh_vpdq_list {
            frames: hashes.frames.iter().map(mh_vpdq_frame::from).collect(),
            vpdq_equal: hashes.not_vpdq_equal.is_empty(),
        };
        // SAFETY: `out` is non-NULL and the caller guarantees it is writable.
        unsafe { *out = Box::into_raw(Box::new(list)) };
        Ok(())
    })
}

/// Number of frames in a list (0 for NULL).
///
/// # Safety
///
/// `list` NULL or a live list.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mh_vpdq_list_len(list: *const mh_vpdq_list) -> usize {
    super::status::boundary(0, || {
        // SAFETY: the caller guarantees NULL or a live list.
        unsafe { list.as_ref() }.map_or(0, |l| l.frames.len())
    })
}

/// 1 when the list was computed as Meta's vpdq computes it, 0 when it may differ (damaged
/// file, frames the reference loses; `mh hash --video-fps` says why) or `list` is NULL.
///
/// # Safety
///
/// `list` NULL or a live list.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mh_vpdq_list_vpdq_equal(list: *const mh_vpdq_list) -> u32 {
    super::status::boundary(0, || {
        // SAFETY: the caller guarantees NULL or a live list.
        unsafe { list.as_ref() }.map_or(0, |l| u32::from(l.vpdq_equal))
    })
}

/// Copies frame `index` of `list` into `*out`; `MH_STATUS_INVALID_PARAMETER` past the end.
/// The list's frames are also readable as one array: see `mh_vpdq_list_frames`.
///
/// # Safety
///
/// `list` NULL or a live list; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mh_vpdq_list_get(
    list: *const mh_vpdq_list,
    index: usize,
    out: *mut mh_vpdq_frame,
) -> mh_status {
    ffi_boundary(|| {
        non_null!("mh_vpdq_list_get", list, out)?;
        // SAFETY: non-NULL; the caller guarantees a live list.
        let list = unsafe { &*list };
        let frame = list.frames.get(index).ok_or_else(|| {
            fail(
                mh_status::InvalidParameter,
                format!("mh_vpdq_list_get: index {index} past the {} frames", list.frames.len()),
            )
        })?;
        // SAFETY: non-NULL and writable by the caller's guarantee.
        unsafe { *out = *frame };
        Ok(())
    })
}

/// The list's frames as a contiguous array of `mh_vpdq_list_len` elements (NULL for an
/// empty or NULL list), valid until the list is freed: pass it to `mh_refset_match_vpdq`.
///
/// # Safety
///
/// `list` NULL or a live list.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mh_vpdq_list_frames(list: *const mh_vpdq_list) -> *const mh_vpdq_frame {
    super::status::boundary(std::ptr::null(), || {
        // SAFETY: the caller guarantees NULL or a live list.
        match unsafe { list.as_ref() } {
            Some(l) if !l.frames.is_empty() => l.frames.as_ptr(),
            _ => std::ptr::null(),
        }
    })
}

/// Frees a list (NULL: nothing).
///
/// # Safety
///
/// `list` NULL or a list from `mh_vpdq_hash_file`, not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mh_vpdq_list_free(list: *mut mh_vpdq_list) {
    super::status::boundary((), || {
        if !list.is_null() {
            // SAFETY: the caller guarantees a list from Box::into_raw, freed once.
            drop(unsafe { Box::from_raw(list) });
        }
    })
}

/// For suites with their own decoder: the vPDQ frame of one decoded frame. `rgb` holds
/// `width * height * 3` bytes (RGB24, rows top to bottom, no padding) of frame number
/// `frame_number` (0-based, decode order) of a stream of `fps` frames per second. To equal
/// Meta's vpdq, give frames `n` with `n % step == 0`, `step = max(1, (int)(seconds_per_hash
/// * fps))`, converted to RGB as `docs/video.md` says. Writes `*out`.
///
/// # Safety
///
/// `rgb` NULL or `len` readable bytes; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mh_vpdq_hash_rgb(
    rgb: *const u8,
    len: usize,
    width: u32,
    height: u32,
    frame_number: u64,
    fps: f64,
    out: *mut mh_vpdq_frame,
) -> mh_status {
    ffi_boundary(|| {
        non_null!("mh_vpdq_hash_rgb", rgb, out)?;
        if !(fps.is_finite() && fps > 0.0) {
            return Err(fail(mh_status::InvalidParameter, "mh_vpdq_hash_rgb: fps must be > 0"));
        }
        // SAFETY: non-NULL; the caller guarantees `len` readable bytes.
        let pixels = unsafe { std::slice::from_raw_parts(rgb, len) };
        let r = crate::perceptual::pdq::pdq_from_rgb(
            width,
            height,
            pixels,
            crate::perceptual::pdq::PdqConvention::FullResolution,
        )
        .map_err(|e| fail(mh_status::InvalidParameter, format!("mh_vpdq_hash_rgb: {e}")))?;
        let frame = VpdqFrame {
            frame: frame_number,
            quality: r.quality,
            hash: r.hash,
            timestamp: vpdq::frame_timestamp(frame_number, fps),
        };
        // SAFETY: non-NULL and writable by the caller's guarantee.
        unsafe { *out = mh_vpdq_frame::from(&frame) };
        Ok(())
    })
}

/// A known video of a set matched by a video's frames.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct mh_vpdq_match {
    /// `sizeof` this struct as the caller's header declares it: set it before passing the
    /// struct (see "ABI versioning" in the header's preamble).
    pub struct_size: u32,
    /// The known video's record in the set.
    pub record: u32,
    /// The set's name (borrowed from the `mh_vpdq_matches`).
    pub set_name: *const c_char,
    /// Alert or ignore (`mh_disposition`).
    pub disposition: u32,
    /// The known video's id (borrowed; NULL when it has none).
    pub video_id: *const c_char,
    /// Share of the query video's distinct frames of quality ≥ 50 matched, percent.
    pub query_percent: f64,
    /// Share of the known video's distinct frames of quality ≥ 50 matched, percent.
    pub known_percent: f64,
    /// 1 when `query_percent` ≥ 80 (python-threatexchange's verdict: a copy or clip of the
    /// known video).
    pub reference_match: u32,
    /// 1 when `known_percent` ≥ 80 (the query contains the known video).
    pub contains_known: u32,
}

/// Video matches (opaque; free with `mh_vpdq_matches_free`).
pub struct mh_vpdq_matches {
    rows: Vec<mh_vpdq_match>,
    _strings: Vec<CString>,
}

/// Compares `count` frames at `frames` (a query video, e.g. from `mh_vpdq_list_frames` or
/// `mh_vpdq_hash_rgb`) with every known video of `set` (vPDQ lists imported with `mh refset
/// build --alert-vpdq`), with the reference's thresholds (PDQ distance ≤ 31, quality ≥ 50),
/// and writes the known videos matched by either rule (query ≥ 80% or known ≥ 80%), best
/// first, to `*out`.
///
/// # Safety
///
/// `set` NULL or live; `frames` NULL or `count` readable frames (NULL allowed when `count`
/// is 0); `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mh_refset_match_vpdq(
    set: *const mh_refset,
    frames: *const mh_vpdq_frame,
    count: usize,
    out: *mut *mut mh_vpdq_matches,
) -> mh_status {
    ffi_boundary(|| {
        // SAFETY: the caller guarantees `set` is NULL or live.
        let handle: &mh_refset = unsafe { refset_ref(set, "mh_refset_match_vpdq") }?;
        non_null!("mh_refset_match_vpdq", out)?;
        if count > 0 {
            non_null!("mh_refset_match_vpdq", frames)?;
        }
        let query: Vec<VpdqFrame> = if count == 0 {
            Vec::new()
        } else {
            // SAFETY: non-NULL; the caller guarantees `count` readable frames.
            unsafe { std::slice::from_raw_parts(frames, count) }
                .iter()
                .map(|f| VpdqFrame {
                    frame: f.frame,
                    quality: f.quality.min(100) as u8,
                    hash: PdqHash(f.hash),
                    timestamp: f.timestamp as f32,
                })
                .collect()
        };
        let options = VpdqMatchOptions::default();
        let mut found = Vec::new();
        for (record, known) in handle.set.videos() {
            let c = vpdq::compare(&query, &known, &options);
            if c.is_match(&options) {
                found.push((record, c));
            }
        }
        found.sort_by(|a, b| {
            let s = |c: &vpdq::VpdqComparison| c.query_percent + c.target_percent;
            s(&b.1).total_cmp(&s(&a.1)).then(a.0.cmp(&b.0))
        });
        let mut strings = Vec::new();
        let mut rows = Vec::new();
        for (record, c) in found {
            let m = handle
                .set
                .membership(record)
                .map_err(|e| fail(mh_status::RefsetInvalid, e.to_string()))?;
            let name = CString::new(m.set.name.replace('\0', " ")).expect("no NUL");
            let id = m.meta.source_id.map(|s| CString::new(s.replace('\0', " ")).expect("no NUL"));
            rows.push(mh_vpdq_match {
                struct_size: super::abi::size_of_struct::<mh_vpdq_match>(),
                record,
                set_name: name.as_ptr(),
                disposition: match m.set.disposition {
                    crate::refset::Disposition::Alert => mh_disposition::Alert as u32,
                    crate::refset::Disposition::Ignore => mh_disposition::Ignore as u32,
                },
                video_id: id.as_ref().map_or(std::ptr::null(), |s| s.as_ptr()),
                query_percent: c.query_percent,
                known_percent: c.target_percent,
                reference_match: u32::from(c.is_reference_match(&options)),
                contains_known: u32::from(c.contains_known(&options)),
            });
            strings.push(name);
            strings.extend(id);
        }
        let matches = mh_vpdq_matches { rows, _strings: strings };
        // SAFETY: `out` is non-NULL and the caller guarantees it is writable.
        unsafe { *out = Box::into_raw(Box::new(matches)) };
        Ok(())
    })
}

/// Number of video matches (0 for NULL).
///
/// # Safety
///
/// `matches` NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mh_vpdq_matches_len(matches: *const mh_vpdq_matches) -> usize {
    super::status::boundary(0, || {
        // SAFETY: the caller guarantees NULL or live.
        unsafe { matches.as_ref() }.map_or(0, |m| m.rows.len())
    })
}

/// Copies match `index` into `*out` (its strings borrowed from `matches`).
///
/// # Safety
///
/// `matches` NULL or live; `out` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mh_vpdq_matches_get(
    matches: *const mh_vpdq_matches,
    index: usize,
    out: *mut mh_vpdq_match,
) -> mh_status {
    ffi_boundary(|| {
        non_null!("mh_vpdq_matches_get", matches, out)?;
        // SAFETY: non-NULL; the caller guarantees live.
        let m = unsafe { &*matches };
        let row = m.rows.get(index).ok_or_else(|| {
            fail(
                mh_status::InvalidParameter,
                format!("mh_vpdq_matches_get: index {index} past the {} matches", m.rows.len()),
            )
        })?;
        // SAFETY: non-NULL; the caller guarantees its `struct_size` bytes are writable.
        unsafe { super::abi::write_output(out, *row, "mh_vpdq_matches_get") }
    })
}

/// Frees video matches (NULL: nothing).
///
/// # Safety
///
/// `matches` NULL or from `mh_refset_match_vpdq`, not freed before.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mh_vpdq_matches_free(matches: *mut mh_vpdq_matches) {
    super::status::boundary((), || {
        if !matches.is_null() {
            // SAFETY: from Box::into_raw, freed once by the caller's guarantee.
            drop(unsafe { Box::from_raw(matches) });
        }
    })
}
