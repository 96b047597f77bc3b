//! Netpbm P1-P6, decoded as Pillow 13's `PpmImagePlugin` does. Written here rather than
//! taken from the `image` crate because the sample scaling is part of the policy: Pillow
//! rescales a maxval other than 255 with Python's `round(v / maxval * out_max)` in double
//! precision (ties to even), which `image` (f32, ties away) does not reproduce.
//!
//! * P1/P4 (bilevel): 1 is black, 0 is white; output 0 or 255.
//! * P2/P5 (grey), P3/P6 (RGB), maxval 255: samples as stored.
//! * Other maxvals: `round_ties_even(v / maxval * out_max)` with `out_max` 255, except grey
//!   with maxval > 255, which Pillow opens as 32-bit "I" (`out_max` 65535) and then clamps to
//!   255 when converting to RGB. Binary samples above maxval saturate at `out_max`; plain
//!   (ASCII) samples above maxval are an error, as in Pillow.
//! * Header tokens are ASCII decimal digits of at most 10 characters; `#` starts a comment
//!   that runs to the end of the line. Exactly one whitespace byte follows the last header
//!   token of a binary file.
//! * P7 (PAM) is refused as unsupported: Pillow cannot open it, so there is no reference.

use super::{DecodeError, ImageFormat, Job, MemoryReservation, RgbImage, SourceColor};

/// Samples converted between two looks at the cancel flag.
const SAMPLES_PER_CANCEL_CHECK: usize = 1 << 20;

const FORMAT: ImageFormat = ImageFormat::Pnm;

fn corrupt(message: impl Into<String>) -> DecodeError {
    DecodeError::Corrupt { format: FORMAT, message: message.into() }
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

/// Reads header tokens as Pillow's `_read_token` does.
struct Header<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Header<'_> {
    fn token(&mut self, what: &str) -> Result<u64, DecodeError> {
        let mut token = Vec::new();
        loop {
            let Some(&c) = self.bytes.get(self.pos) else {
                if token.is_empty() {
                    return Err(DecodeError::Truncated { format: FORMAT });
                }
                break;
            };
            self.pos += 1;
            if is_space(c) {
                if token.is_empty() {
                    continue;
                }
                break; // the terminating whitespace byte is consumed
            }
            if c == b'#' {
                while let Some(&c) = self.bytes.get(self.pos) {
                    self.pos += 1;
                    if c == b'\r' || c == b'\n' {
                        break;
                    }
                }
                continue;
            }
            token.push(c);
            if token.len() > 10 {
                return Err(corrupt(format!(
                    "header token for {what} is longer than 10 characters"
                )));
            }
        }
        if !token.iter().all(u8::is_ascii_digit) {
            let shown = String::from_utf8_lossy(&token).into_owned();
            return Err(corrupt(format!("{what} is not a decimal number: {shown:?}")));
        }
        // At most 10 digits: fits in u64.
        Ok(token.iter().fold(0u64, |acc, &d| acc * 10 + u64::from(d - b'0')))
    }
}

struct Parsed {
    kind: u8, // b'1'..=b'6'
    width: u32,
    height: u32,
    maxval: u32, // 1 for bilevel
    data_start: usize,
}

fn dimension(value: u64, width: u64, height: u64) -> Result<u32, DecodeError> {
    u32::try_from(value).map_err(|_| DecodeError::TooLarge {
        format: FORMAT,
        width: u32::try_from(width).unwrap_or(u32::MAX),
        height: u32::try_from(height).unwrap_or(u32::MAX),
        limit: "the 32-bit dimension range",
    })
}

fn parse_header(bytes: &[u8]) -> Result<Parsed, DecodeError> {
    let kind = match bytes {
        [b'P', k @ b'1'..=b'6', ..] => *k,
        [b'P', b'7', ..] => {
            return Err(DecodeError::Unsupported {
                format: FORMAT,
                message: "PAM (P7) images: Pillow cannot open them, so there is no reference \
                          conversion"
                    .to_string(),
            });
        }
        _ => return Err(corrupt("not a P1-P6 netpbm signature")),
    };
    let mut header = Header { bytes, pos: 2 };
    let width = header.token("width")?;
    let height = header.token("height")?;
    let (w, h) = (dimension(width, width, height)?, dimension(height, width, height)?);
    let maxval = if kind == b'1' || kind == b'4' {
        1
    } else {
        let maxval = header.token("maxval")?;
        if !(1..=65_535).contains(&maxval) {
            return Err(corrupt(format!("maxval {maxval} is outside 1..=65535")));
        }
        maxval as u32
    };
    Ok(Parsed { kind, width: w, height: h, maxval, data_start: header.pos })
}

/// Plain-format data with comments removed as Pillow's `_ignore_comments` does: from `#`
/// through the next CR or LF inclusive (so "12#c\n34" reads as "1234").
fn without_comments(data: &[u8]) -> impl Iterator<Item = u8> + '_ {
    let mut in_comment = false;
    data.iter().copied().filter(move |&c| {
        if in_comment {
            if c == b'\n' || c == b'\r' {
                in_comment = false;
            }
            return false;
        }
        if c == b'#' {
            in_comment = true;
            return false;
        }
        true
    })
}

pub(super) fn probe(bytes: &[u8]) -> Result<(u32, u32), DecodeError> {
    let parsed = parse_header(bytes)?;
    Ok((parsed.width, parsed.height))
}

/// Python's `round(value / maxval * out_max)` on doubles (ties to even).
fn rescale(value: u32, maxval: u32, out_max: u32) -> u32 {
    (f64::from(value) / f64::from(maxval) * f64::from(out_max)).round_ties_even() as u32
}

/// Converts one sample to its final 8-bit value for a grey (`grey == true`) or RGB image.
fn to_u8(value: u32, maxval: u32, grey: bool) -> u8 {
    if maxval == 255 {
        return value.min(255) as u8;
    }
    if grey && maxval > 255 {
        // Pillow's mode "I": scaled to 65535, then clamped to 255 by convert('RGB').
        let scaled = if maxval == 65_535 { value } else { rescale(value, maxval, 65_535) };
        return scaled.min(255) as u8;
    }
    rescale(value, maxval, 255).min(255) as u8
}

pub(super) fn decode(
    bytes: &[u8],
    job: &Job<'_>,
) -> Result<(RgbImage, MemoryReservation), DecodeError> {
    let limits = &job.limits;
    let parsed = parse_header(bytes)?;
    let (width, height) = (parsed.width, parsed.height);
    limits.check_dimensions(FORMAT, width, height)?;
    let pixel_count = u64::from(width) * u64::from(height);
    limits.check_alloc(FORMAT, pixel_count * 3)?;
    let reservation = job.reserve(FORMAT, pixel_count * 3, pixel_count)?;
    let mut pixels = super::alloc_zeroed(FORMAT, pixel_count * 3, limits)?;
    let data = &bytes[parsed.data_start..];
    let grey = matches!(parsed.kind, b'2' | b'5');
    let channels: usize = if matches!(parsed.kind, b'3' | b'6') { 3 } else { 1 };
    let source_color = match parsed.kind {
        b'1' | b'4' => SourceColor::Bilevel,
        b'2' | b'5' if parsed.maxval > 255 => SourceColor::Grey16,
        b'2' | b'5' => SourceColor::Grey8,
        _ if parsed.maxval > 255 => SourceColor::Rgb16,
        _ => SourceColor::Rgb8,
    };
    // Fills the output from a stream of samples (grey samples are replicated).
    let mut put = {
        let mut at = 0usize;
        let mut count = 0usize;
        let pixels = &mut pixels;
        move |value: u8| -> Result<(), DecodeError> {
            if count.is_multiple_of(SAMPLES_PER_CANCEL_CHECK) {
                job.check_cancel()?;
            }
            count += 1;
            if channels == 1 {
                pixels[at..at + 3].fill(value);
                at += 3;
            } else {
                pixels[at] = value;
                at += 1;
            }
            Ok(())
        }
    };
    let samples = usize::try_from(pixel_count).unwrap_or(usize::MAX).saturating_mul(channels);
    match parsed.kind {
        b'4' => {
            let row_bytes = width.div_ceil(8) as usize;
            let needed = row_bytes.checked_mul(height as usize);
            if needed.is_none_or(|n| data.len() < n) {
                return Err(DecodeError::Truncated { format: FORMAT });
            }
            for row in data.chunks_exact(row_bytes).take(height as usize) {
                for x in 0..width as usize {
                    let bit = (row[x / 8] >> (7 - x % 8)) & 1;
                    put(if bit == 1 { 0 } else { 255 })?;
                }
            }
        }
        b'5' | b'6' => {
            let sample_bytes = if parsed.maxval < 256 { 1 } else { 2 };
            if samples.checked_mul(sample_bytes).is_none_or(|n| data.len() < n) {
                return Err(DecodeError::Truncated { format: FORMAT });
            }
            if sample_bytes == 1 {
                for &v in &data[..samples] {
                    put(to_u8(u32::from(v), parsed.maxval, grey))?;
                }
            } else {
                for v in data[..samples * 2].chunks_exact(2) {
                    put(to_u8(u32::from(u16::from_be_bytes([v[0], v[1]])), parsed.maxval, grey))?;
                }
            }
        }
        b'1' => {
            let mut count = 0usize;
            for c in without_comments(data) {
                if count == samples {
                    break;
                }
                match c {
                    b'0' => put(255)?,
                    b'1' => put(0)?,
                    c if is_space(c) => continue,
                    other => {
                        return Err(corrupt(format!(
                            "invalid character {:?} in plain PBM data",
                            char::from(other)
                        )));
                    }
                }
                count += 1;
            }
            if count < samples {
                return Err(DecodeError::Truncated { format: FORMAT });
            }
        }
        _ => {
            // P2/P3: decimal tokens separated by whitespace.
            let mut stream = without_comments(data).peekable();
            let mut token = Vec::with_capacity(11);
            for _ in 0..samples {
                token.clear();
                while stream.next_if(|&c| is_space(c)).is_some() {}
                while let Some(c) = stream.next_if(|&c| !is_space(c)) {
                    if token.len() > 10 {
                        return Err(corrupt("plain PNM sample longer than 10 characters"));
                    }
                    token.push(c);
                }
                if token.is_empty() {
                    return Err(DecodeError::Truncated { format: FORMAT });
                }
                if token.len() > 10 || !token.iter().all(u8::is_ascii_digit) {
                    let shown = String::from_utf8_lossy(&token).into_owned();
                    return Err(corrupt(format!("invalid sample {shown:?} in plain PNM data")));
                }
                let value = token.iter().fold(0u64, |acc, &d| acc * 10 + u64::from(d - b'0'));
                if value > u64::from(parsed.maxval) {
                    return Err(corrupt(format!(
                        "sample {value} is above the maxval {}",
                        parsed.maxval
                    )));
                }
                put(to_u8(value as u32, parsed.maxval, grey))?;
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
        source_color,
        warning_count: 0,
        first_warning: None,
    };
    Ok((image, reservation))
}
