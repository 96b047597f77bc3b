//! GIF: the first frame, as Pillow 13 composes it (`GifImagePlugin`, frame 0), through the
//! `gif` crate's indexed output.
//!
//! Pillow's rules, reproduced here and checked against Pillow in the tests:
//! * the canvas is the logical screen, enlarged to hold the first frame if it sticks out;
//! * canvas pixels outside the frame hold the frame's transparent index if it has one,
//!   else index 0;
//! * frame data that ends before the last pixel (early end code or end of file) is an
//!   error, as in Pillow ("image file is truncated");
//! * indices go through the frame's palette (local, else global); the transparent index
//!   keeps its palette colour; indices beyond the palette are black;
//! * a palette that is the identity grey ramp (entry i = (i, i, i)) makes Pillow use mode
//!   "L", where an index beyond the palette reads as grey level = index.

use std::io::{BufRead, Cursor};

use super::{DecodeError, ImageFormat, Job, Limits, MemoryReservation, RgbImage, SourceColor};

const FORMAT: ImageFormat = ImageFormat::Gif;

fn map_error(err: ::gif::DecodingError, limits: &Limits) -> DecodeError {
    match err {
        ::gif::DecodingError::Io(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            DecodeError::Truncated { format: FORMAT }
        }
        ::gif::DecodingError::MemoryLimit | ::gif::DecodingError::OutOfMemory => {
            DecodeError::AllocationLimit {
                format: FORMAT,
                needed: limits.max_alloc_bytes.saturating_add(1),
                limit: limits.max_alloc_bytes,
            }
        }
        other => {
            let message = other.to_string();
            if message.contains("no color table") {
                // Valid GIF (Pillow reads the indices as grey), but the gif crate refuses it.
                DecodeError::Unsupported { format: FORMAT, message }
            } else {
                DecodeError::Corrupt { format: FORMAT, message }
            }
        }
    }
}

struct FirstFrame<R: BufRead> {
    decoder: ::gif::Decoder<R>,
    canvas_width: u32,
    canvas_height: u32,
}

/// Reads up to the first frame's descriptor (no pixel data).
fn open<R: BufRead>(input: R, limits: &Limits) -> Result<FirstFrame<R>, DecodeError> {
    let map = |e| map_error(e, limits);
    let mut options = ::gif::DecodeOptions::new();
    options.set_color_output(::gif::ColorOutput::Indexed);
    options.set_memory_limit(match std::num::NonZeroU64::new(limits.max_alloc_bytes) {
        Some(limit) => ::gif::MemoryLimit::Bytes(limit),
        None => ::gif::MemoryLimit::Bytes(std::num::NonZeroU64::MIN),
    });
    // Frames may exceed the screen; the canvas grows as in Pillow (checked against limits).
    options.check_frame_consistency(false);
    let mut decoder = options.read_info(input).map_err(map)?;
    let (screen_w, screen_h) = (u32::from(decoder.width()), u32::from(decoder.height()));
    let frame = decoder.next_frame_info().map_err(map)?.ok_or_else(|| DecodeError::Corrupt {
        format: FORMAT,
        message: "no image in the GIF".to_string(),
    })?;
    let right = u32::from(frame.left) + u32::from(frame.width);
    let bottom = u32::from(frame.top) + u32::from(frame.height);
    Ok(FirstFrame {
        canvas_width: screen_w.max(right),
        canvas_height: screen_h.max(bottom),
        decoder,
    })
}

pub(super) fn probe(bytes: &[u8]) -> Result<(u32, u32), DecodeError> {
    let limits = Limits { max_alloc_bytes: u64::MAX, ..Limits::default() };
    let first = open(Cursor::new(bytes), &limits)?;
    Ok((first.canvas_width, first.canvas_height))
}

/// Row order of an interlaced GIF frame: 0, 8, 16...; 4, 12...; 2, 6...; 1, 3...
fn interlaced_rows(height: u32) -> impl Iterator<Item = u32> {
    [(0u32, 8u32), (4, 8), (2, 4), (1, 2)]
        .into_iter()
        .flat_map(move |(start, step)| (start..height).step_by(step as usize))
}

pub(super) fn decode(
    bytes: &[u8],
    job: &Job<'_>,
) -> Result<(RgbImage, MemoryReservation), DecodeError> {
    let limits = &job.limits;
    // The gif crate's own buffers are bounded too (it needs at most one frame's indices).
    let mut first = open(job.reader(bytes), limits)?;
    let (width, height) = (first.canvas_width, first.canvas_height);
    limits.check_dimensions(FORMAT, width, height)?;
    let pixel_count = u64::from(width) * u64::from(height);
    // The index canvas and the RGB output exist together.
    limits.check_alloc(FORMAT, pixel_count * 4)?;
    let reservation = job.reserve(FORMAT, pixel_count * 4, pixel_count)?;

    let frame = first.decoder.current_frame_info().ok_or_else(|| DecodeError::Corrupt {
        format: FORMAT,
        message: "no image in the GIF".to_string(),
    })?;
    let (left, top) = (u32::from(frame.left), u32::from(frame.top));
    let (frame_w, frame_h) = (u32::from(frame.width), u32::from(frame.height));
    let interlaced = frame.interlaced;
    let transparent = frame.transparent;
    let palette: Vec<u8> = match frame.palette.as_deref().or(first.decoder.global_palette()) {
        Some(p) => p.to_vec(),
        None => Vec::new(), // the gif crate rejects palette-less frames before this point
    };

    let background = transparent.unwrap_or(0);
    let mut canvas = super::alloc_zeroed(FORMAT, pixel_count, limits)?;
    canvas.fill(background);

    // Decode the frame's rows straight into the canvas.
    let mut row = vec![0u8; frame_w as usize];
    let rows: Box<dyn Iterator<Item = u32>> =
        if interlaced { Box::new(interlaced_rows(frame_h)) } else { Box::new(0..frame_h) };
    for y in rows {
        job.check_cancel()?;
        row.fill(background);
        let complete = if frame_w == 0 {
            true
        } else {
            first.decoder.fill_buffer(&mut row).map_err(|e| map_error(e, limits))?
        };
        let start = ((top + y) as usize) * (width as usize) + left as usize;
        canvas[start..start + frame_w as usize].copy_from_slice(&row);
        if !complete {
            // An end code before the last pixel: Pillow reports "image file is truncated".
            return Err(DecodeError::Truncated { format: FORMAT });
        }
    }

    let grey_ramp =
        palette.chunks_exact(3).enumerate().all(|(i, c)| c.iter().all(|&v| usize::from(v) == i));
    let mut pixels = super::alloc_zeroed(FORMAT, pixel_count * 3, limits)?;
    let row_len = width as usize;
    for (out_row, in_row) in pixels.chunks_exact_mut(row_len * 3).zip(canvas.chunks_exact(row_len))
    {
        job.check_cancel()?;
        for (dst, &index) in out_row.chunks_exact_mut(3).zip(in_row) {
            let at = usize::from(index) * 3;
            match palette.get(at..at + 3) {
                Some(colour) => dst.copy_from_slice(colour),
                None if grey_ramp => dst.fill(index),
                None => dst.fill(0),
            }
        }
    }
    let image = RgbImage {
        width,
        height,
        pixels,
        format: FORMAT,
        source_width: width,
        source_height: height,
        scale_denom: 1,
        source_color: SourceColor::Palette,
        warning_count: 0,
        first_warning: None,
    };
    Ok((image, reservation))
}
