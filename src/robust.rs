//! Robust matching: PDQ hashes of normalised versions of a picture (query side) and of a small
//! fixed family of its sub-windows (reference side), so that copies with borders, letterbox
//! bars, blurred padding, screenshot chrome, caption banners, small crops and small rotations
//! still meet their original (issue 12).
//!
//! Everything works on a *working copy*: the decoded RGB8 picture reduced by area averaging
//! so that its longer side is at most [`WORK_SIDE`] pixels. PDQ reduces every picture to 64x64
//! anyway; the working copy makes the extra hashes cheap (about one plain hash's cost for all
//! of them on a 12 MP photograph) and keeps the geometry estimates independent of the
//! resolution. The plain hash is never replaced: callers keep it and add these.
//!
//! * [`query_candidates`]: (a) uniform or low-activity bars trimmed per side (any colour,
//!   JPEG noise, blurred-copy padding); (b) the picture rectangle inside a composition,
//!   found from straight edges (screenshot chrome, captions, a picture pasted on a
//!   background), and a banner over one side filled by mirroring the picture beside it;
//!   (c) a rotation of up to ±10° estimated from the straight edges of a picture rotated on
//!   a fill colour, undone, the original rectangle taken; the 7 dihedral variants.
//! * [`reference_windows`]: (d) centre and side crops, and the inscribed rectangle of the
//!   picture turned by ±5°, hashed with PDQ.
//!
//! Each candidate and window records what was done ([`Candidate::describe`],
//! [`Window::as_str`]) so that a match can be explained. Candidates and windows of low
//! PDQ quality (below [`crate::perceptual::pdq::QUALITY_THRESHOLD`]) or with too little
//! two-dimensional structure (flat, gradients, stripes: [`is_structured`]) are dropped, so
//! featureless pictures never match robustly.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::perceptual::pdq::{
    Dihedral, PdqConvention, PdqError, PdqHash, QUALITY_THRESHOLD, pdq_from_rgb,
};

/// Longer side of the copy that candidates and windows are hashed from, in pixels.
pub const WORK_SIDE: u32 = 1024;

/// Longer side of the smaller copy the geometry (borders, rectangles, angles) is found on.
pub const ANALYSIS_SIDE: u32 = 512;

/// Default radius (Hamming distance, inclusive) for robust pairs: any query candidate
/// against any reference hash other than plain against plain (which keeps the plain
/// radius). Calibrated on negatives with `benches/robustness` (docs/robustness.md): 31 was
/// the largest radius with no false pair on the development corpus (307 pictures, 4.1 M
/// negative pairs), less a margin of 2.
pub const DEFAULT_ROBUST_RADIUS: u32 = 29;

/// One normalisation applied to a query picture.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "kebab-case")]
pub enum Step {
    /// Bars removed from each side (fractions of the query's width and height).
    TrimmedBorders {
        /// Share of the width removed on the left.
        left: f32,
        /// Share of the height removed at the top.
        top: f32,
        /// Share of the width removed on the right.
        right: f32,
        /// Share of the height removed at the bottom.
        bottom: f32,
    },
    /// The picture found inside a larger composition: the rectangle kept (fractions).
    EmbeddedRectangle {
        /// Left edge, share of the width.
        x: f32,
        /// Top edge, share of the height.
        y: f32,
        /// Width, share of the width.
        width: f32,
        /// Height, share of the height.
        height: f32,
    },
    /// A flat banner over one side replaced by the mirror image of the picture beside it.
    FilledBanner {
        /// Which side: "top", "bottom", "left" or "right".
        side: Side,
        /// Share of the height (top/bottom) or width (left/right) covered.
        share: f32,
    },
    /// A rotation undone (degrees, counter-clockwise positive as the query was turned).
    Derotated {
        /// The rotation found in the query.
        degrees: f32,
    },
    /// A rotation or flip of the whole picture.
    Dihedral {
        /// Which one.
        transform: Dihedral,
    },
}

/// A side of a picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// Top.
    Top,
    /// Bottom.
    Bottom,
    /// Left.
    Left,
    /// Right.
    Right,
}

impl Side {
    /// `"top"`, `"bottom"`, `"left"` or `"right"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Top => "top",
            Side::Bottom => "bottom",
            Side::Left => "left",
            Side::Right => "right",
        }
    }
}

fn pct(x: f32) -> String {
    format!("{:.0}%", x * 100.0)
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Step::TrimmedBorders { left, top, right, bottom } => {
                let parts: Vec<String> =
                    [("left", left), ("top", top), ("right", right), ("bottom", bottom)]
                        .iter()
                        .filter(|(_, v)| *v > 0.0)
                        .map(|(n, v)| format!("{} {n}", pct(*v)))
                        .collect();
                write!(f, "trimmed borders {}", parts.join(", "))
            }
            Step::EmbeddedRectangle { x, y, width, height } => write!(
                f,
                "picture found at {} {} of the query, {} x {} of it",
                pct(x),
                pct(y),
                pct(width),
                pct(height)
            ),
            Step::FilledBanner { side, share } => {
                write!(
                    f,
                    "banner over the {} {} filled from the picture",
                    side.as_str(),
                    pct(share)
                )
            }
            Step::Derotated { degrees } => write!(f, "rotation of {degrees:.1}° undone"),
            Step::Dihedral { transform } => write!(f, "dihedral {}", transform.as_str()),
        }
    }
}

/// A PDQ hash of a normalised version of a query picture.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// The hash.
    pub hash: PdqHash,
    /// Its PDQ quality (always at least [`QUALITY_THRESHOLD`]).
    pub quality: u8,
    /// What was done to the query, in order.
    pub steps: Vec<Step>,
}

impl Candidate {
    /// The steps in words, for reports ("trimmed borders 12% left, 12% right").
    pub fn describe(&self) -> String {
        self.steps.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
    }
}

/// A sub-window of a reference picture (the fixed family stored in `.mhset` files built from
/// pictures).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Window {
    /// The centre 94% (3% off each side).
    Centre94 = 1,
    /// The centre 90% (5% off each side).
    Centre90 = 2,
    /// The centre 85% (7.5% off each side).
    Centre85 = 3,
    /// The centre 80% (10% off each side).
    Centre80 = 4,
    /// Left 90% of the width, full height.
    Left90 = 5,
    /// Right 90% of the width, full height.
    Right90 = 6,
    /// Top 90% of the height, full width.
    Top90 = 7,
    /// Bottom 90% of the height, full width.
    Bottom90 = 8,
    /// Middle 80% of the height, full width.
    Middle80Rows = 9,
    /// Middle 80% of the width, full height.
    Middle80Columns = 10,
    /// Turned 5° counter-clockwise, the largest rectangle of the same shape inside.
    Turned5 = 11,
    /// Turned 5° clockwise, the largest rectangle of the same shape inside.
    TurnedMinus5 = 12,
    /// Turned 2.5° counter-clockwise, inscribed rectangle.
    Turned2 = 13,
    /// Turned 2.5° clockwise, inscribed rectangle.
    TurnedMinus2 = 14,
}

impl Window {
    /// Every window, in storage order.
    pub const ALL: [Window; 14] = [
        Window::Centre94,
        Window::Centre90,
        Window::Centre85,
        Window::Centre80,
        Window::Left90,
        Window::Right90,
        Window::Top90,
        Window::Bottom90,
        Window::Middle80Rows,
        Window::Middle80Columns,
        Window::Turned5,
        Window::TurnedMinus5,
        Window::Turned2,
        Window::TurnedMinus2,
    ];

    /// Stable name for reports and the `.mhset` documentation (`"centre-90"`...).
    pub fn as_str(self) -> &'static str {
        match self {
            Window::Centre94 => "centre-94",
            Window::Centre90 => "centre-90",
            Window::Centre85 => "centre-85",
            Window::Centre80 => "centre-80",
            Window::Left90 => "left-90",
            Window::Right90 => "right-90",
            Window::Top90 => "top-90",
            Window::Bottom90 => "bottom-90",
            Window::Middle80Rows => "middle-80-rows",
            Window::Middle80Columns => "middle-80-columns",
            Window::Turned5 => "turned-5",
            Window::TurnedMinus5 => "turned-minus-5",
            Window::Turned2 => "turned-2.5",
            Window::TurnedMinus2 => "turned-minus-2.5",
        }
    }

    /// The code stored in `.mhset` files.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The window of a stored code, if known.
    pub fn from_code(code: u8) -> Option<Window> {
        Window::ALL.iter().copied().find(|w| w.code() == code)
    }

    /// (left, top, right, bottom) shares cut off, and the turn in degrees.
    fn geometry(self) -> ([f32; 4], f32) {
        match self {
            Window::Centre94 => ([0.03; 4], 0.0),
            Window::Centre90 => ([0.05; 4], 0.0),
            Window::Centre85 => ([0.075; 4], 0.0),
            Window::Centre80 => ([0.10; 4], 0.0),
            Window::Left90 => ([0.0, 0.0, 0.10, 0.0], 0.0),
            Window::Right90 => ([0.10, 0.0, 0.0, 0.0], 0.0),
            Window::Top90 => ([0.0, 0.0, 0.0, 0.10], 0.0),
            Window::Bottom90 => ([0.0, 0.10, 0.0, 0.0], 0.0),
            Window::Middle80Rows => ([0.0, 0.10, 0.0, 0.10], 0.0),
            Window::Middle80Columns => ([0.10, 0.0, 0.10, 0.0], 0.0),
            Window::Turned5 => ([0.0; 4], 5.0),
            Window::TurnedMinus5 => ([0.0; 4], -5.0),
            Window::Turned2 => ([0.0; 4], 2.5),
            Window::TurnedMinus2 => ([0.0; 4], -2.5),
        }
    }
}

impl Window {
    /// The window of a name given by [`Window::as_str`].
    pub fn from_name(name: &str) -> Option<Window> {
        Window::ALL.iter().copied().find(|w| w.as_str() == name)
    }
}

impl Serialize for Window {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Window {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Window::from_name(&name)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown window {name:?}")))
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The PDQ hash of one window of a reference picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowHash {
    /// Which window.
    pub window: Window,
    /// Its PDQ hash.
    pub hash: PdqHash,
    /// Its PDQ quality (always at least [`QUALITY_THRESHOLD`]).
    pub quality: u8,
}

/// A small RGB8 raster with its luma, the working copy every step reads.
#[derive(Clone)]
struct Work {
    w: usize,
    h: usize,
    rgb: Vec<u8>,
    grey: Vec<f32>,
}

impl Work {
    /// Area-average reduction so that the longer side is at most `side`.
    fn new(width: u32, height: u32, rgb: &[u8], side: u32) -> Result<Work, PdqError> {
        let (sw, sh) = (width as usize, height as usize);
        if sw == 0 || sh == 0 {
            return Err(PdqError::EmptyImage { width, height });
        }
        let expected = sw
            .checked_mul(sh)
            .and_then(|p| p.checked_mul(3))
            .ok_or(PdqError::TooLarge { width, height })?;
        if rgb.len() != expected {
            return Err(PdqError::BufferLength { width, height, expected, actual: rgb.len() });
        }
        let side = side as usize;
        let scale = (sw.max(sh) as f64 / side as f64).max(1.0);
        let w = ((sw as f64 / scale).round() as usize).clamp(1, sw);
        let h = ((sh as f64 / scale).round() as usize).clamp(1, sh);
        let mut out = vec![0u8; w * h * 3];
        if w == sw && h == sh {
            out.copy_from_slice(rgb);
        } else {
            // Column ranges once; rows accumulated in u32 sums (at most 4096 / 512 squared
            // pixels per cell at the default limits; u64 for safety on huge images).
            let xr: Vec<(usize, usize)> =
                (0..w).map(|x| (x * sw / w, ((x + 1) * sw / w).max(x * sw / w + 1))).collect();
            let mut acc = vec![0u64; w * 3];
            for y in 0..h {
                let (y0, y1) = (y * sh / h, ((y + 1) * sh / h).max(y * sh / h + 1));
                acc.iter_mut().for_each(|a| *a = 0);
                for sy in y0..y1 {
                    let row = &rgb[sy * sw * 3..(sy + 1) * sw * 3];
                    for (x, &(x0, x1)) in xr.iter().enumerate() {
                        let (mut r, mut g, mut b) = (0u64, 0u64, 0u64);
                        for p in row[x0 * 3..x1 * 3].chunks_exact(3) {
                            r += u64::from(p[0]);
                            g += u64::from(p[1]);
                            b += u64::from(p[2]);
                        }
                        acc[x * 3] += r;
                        acc[x * 3 + 1] += g;
                        acc[x * 3 + 2] += b;
                    }
                }
                for (x, &(x0, x1)) in xr.iter().enumerate() {
                    let n = ((x1 - x0) * (y1 - y0)) as u64;
                    for c in 0..3 {
                        out[(y * w + x) * 3 + c] = ((acc[x * 3 + c] + n / 2) / n) as u8;
                    }
                }
            }
        }
        Ok(Work::from_rgb(w, h, out))
    }

    /// A smaller copy (longer side at most `side`).
    fn reduced(&self, side: u32) -> Work {
        // The buffer is this copy's own, so its length is right: the error cannot happen.
        Work::new(self.w as u32, self.h as u32, &self.rgb, side).unwrap_or_else(|_| self.clone())
    }

    /// Flipped or turned by a multiple of 90° (pixels moved, no resampling).
    fn dihedral(&self, t: Dihedral) -> Work {
        let (w, h) = (self.w, self.h);
        let swap = matches!(
            t,
            Dihedral::Rot90 | Dihedral::Rot270 | Dihedral::FlipPlus1 | Dihedral::FlipMinus1
        );
        let (ow, oh) = if swap { (h, w) } else { (w, h) };
        let mut rgb = vec![0u8; w * h * 3];
        for oy in 0..oh {
            for ox in 0..ow {
                // Source pixel of output (ox, oy); rotations counter-clockwise as seen.
                let (sx, sy) = match t {
                    Dihedral::Original => (ox, oy),
                    Dihedral::Rot90 => (w - 1 - oy, ox),
                    Dihedral::Rot180 => (w - 1 - ox, h - 1 - oy),
                    Dihedral::Rot270 => (oy, h - 1 - ox),
                    Dihedral::FlipX => (ox, h - 1 - oy),
                    Dihedral::FlipY => (w - 1 - ox, oy),
                    Dihedral::FlipPlus1 => (oy, ox),
                    Dihedral::FlipMinus1 => (w - 1 - oy, h - 1 - ox),
                };
                let (d, s) = ((oy * ow + ox) * 3, (sy * w + sx) * 3);
                rgb[d..d + 3].copy_from_slice(&self.rgb[s..s + 3]);
            }
        }
        Work::from_rgb(ow, oh, rgb)
    }

    fn from_rgb(w: usize, h: usize, rgb: Vec<u8>) -> Work {
        let grey = rgb
            .chunks_exact(3)
            .map(|p| 0.299 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2]))
            .collect();
        Work { w, h, rgb, grey }
    }

    fn px(&self, x: usize, y: usize) -> [u8; 3] {
        let i = (y * self.w + x) * 3;
        [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
    }

    /// The pixels of a rectangle [x0, x1) x [y0, y1).
    fn crop(&self, x0: usize, y0: usize, x1: usize, y1: usize) -> Work {
        let (cw, ch) = (x1 - x0, y1 - y0);
        let mut rgb = Vec::with_capacity(cw * ch * 3);
        for y in y0..y1 {
            rgb.extend_from_slice(&self.rgb[(y * self.w + x0) * 3..(y * self.w + x1) * 3]);
        }
        Work::from_rgb(cw, ch, rgb)
    }

    /// Rotated by `degrees` counter-clockwise about the centre (bilinear), output `ow x oh`
    /// centred on the same point. Pixels from outside are `None`-filled with black.
    fn rotated(&self, degrees: f32, ow: usize, oh: usize) -> Work {
        let a = f64::from(degrees).to_radians();
        let (s, c) = a.sin_cos();
        let (cx, cy) = (self.w as f64 / 2.0, self.h as f64 / 2.0);
        let (ocx, ocy) = (ow as f64 / 2.0, oh as f64 / 2.0);
        let mut rgb = vec![0u8; ow * oh * 3];
        for oy in 0..oh {
            for ox in 0..ow {
                // Output point, back to the source: rotate by -a in image coordinates (y
                // down), i.e. the inverse of a counter-clockwise turn as seen on screen.
                let (dx, dy) = (ox as f64 + 0.5 - ocx, oy as f64 + 0.5 - ocy);
                let sx = c * dx - s * dy + cx - 0.5;
                let sy = s * dx + c * dy + cy - 0.5;
                if sx < -0.5 || sy < -0.5 || sx > self.w as f64 - 0.5 || sy > self.h as f64 - 0.5 {
                    continue;
                }
                let (x0, y0) = (sx.floor().max(0.0) as usize, sy.floor().max(0.0) as usize);
                let (x1, y1) = ((x0 + 1).min(self.w - 1), (y0 + 1).min(self.h - 1));
                let (fx, fy) = ((sx - x0 as f64).clamp(0.0, 1.0), (sy - y0 as f64).clamp(0.0, 1.0));
                let (p00, p10, p01, p11) =
                    (self.px(x0, y0), self.px(x1, y0), self.px(x0, y1), self.px(x1, y1));
                for ch in 0..3 {
                    let v = (1.0 - fy)
                        * ((1.0 - fx) * f64::from(p00[ch]) + fx * f64::from(p10[ch]))
                        + fy * ((1.0 - fx) * f64::from(p01[ch]) + fx * f64::from(p11[ch]));
                    rgb[(oy * ow + ox) * 3 + ch] = v.round().clamp(0.0, 255.0) as u8;
                }
            }
        }
        Work::from_rgb(ow, oh, rgb)
    }

    fn pdq(&self) -> Result<(PdqHash, u8), PdqError> {
        let r =
            pdq_from_rgb(self.w as u32, self.h as u32, &self.rgb, PdqConvention::FullResolution)?;
        Ok((r.hash, r.quality))
    }
}

/// Whether a picture has enough two-dimensional structure to be matched robustly: not flat,
/// not a gradient, not stripes. Measured on the luma: the variance left once the best
/// additive model "row mean + column mean" is removed must be at least 2% of the variance,
/// and the standard deviation at least 5 grey levels. Stripes and gradients in one direction
/// are additive (separable) and fail; photographs keep most of their variance.
fn is_structured_work(wk: &Work) -> bool {
    let (w, h) = (wk.w, wk.h);
    if w < 16 || h < 16 {
        return false;
    }
    let n = (w * h) as f64;
    let mean = wk.grey.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let mut rows = vec![0f64; h];
    let mut cols = vec![0f64; w];
    for (y, line) in wk.grey.chunks_exact(w).enumerate() {
        for (x, &v) in line.iter().enumerate() {
            let v = f64::from(v) - mean;
            rows[y] += v;
            cols[x] += v;
        }
    }
    rows.iter_mut().for_each(|r| *r /= w as f64);
    cols.iter_mut().for_each(|c| *c /= h as f64);
    let (mut total, mut residual) = (0f64, 0f64);
    for (line, row) in wk.grey.chunks_exact(w).zip(&rows) {
        for (&v, col) in line.iter().zip(&cols) {
            let v = f64::from(v) - mean;
            total += v * v;
            let r = v - row - col;
            residual += r * r;
        }
    }
    let var = total / n;
    var >= 25.0 && residual >= 0.02 * total
}

/// Whether an RGB8 picture has enough two-dimensional structure to be matched robustly (not
/// flat, a gradient or stripes): measured on its reduced copy, the luma variance left after
/// removing the best "row mean + column mean" model must be at least 2% of the variance,
/// and the standard deviation at least 5 grey levels.
pub fn is_structured(width: u32, height: u32, rgb: &[u8]) -> Result<bool, PdqError> {
    Ok(is_structured_work(&Work::new(width, height, rgb, ANALYSIS_SIDE)?))
}

/// A rectangle in working-copy pixels, [x0, x1) x [y0, y1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Rect {
    x0: usize,
    y0: usize,
    x1: usize,
    y1: usize,
}

impl Rect {
    fn w(&self) -> usize {
        self.x1 - self.x0
    }
    fn h(&self) -> usize {
        self.y1 - self.y0
    }
    fn near(&self, o: &Rect, tol: usize) -> bool {
        self.x0.abs_diff(o.x0) <= tol
            && self.x1.abs_diff(o.x1) <= tol
            && self.y0.abs_diff(o.y0) <= tol
            && self.y1.abs_diff(o.y1) <= tol
    }
}

/// Colour distance (largest channel difference).
fn cdist(a: [u8; 3], b: [u8; 3]) -> u8 {
    (0..3).map(|c| a[c].abs_diff(b[c])).max().unwrap_or(0)
}

/// Median colour of a run of pixels.
fn median_colour(px: impl Iterator<Item = [u8; 3]>) -> [u8; 3] {
    let mut ch: [Vec<u8>; 3] = Default::default();
    for p in px {
        for c in 0..3 {
            ch[c].push(p[c]);
        }
    }
    let mut out = [0u8; 3];
    for c in 0..3 {
        ch[c].sort_unstable();
        out[c] = ch[c].get(ch[c].len() / 2).copied().unwrap_or(0);
    }
    out
}

/// Tolerance (largest channel difference) for "the same colour" under JPEG noise.
const COLOUR_TOLERANCE: u8 = 24;

/// (a) Uniform bars: from each side, lines whose pixels are (97%) within the tolerance of
/// the outermost line's median colour. Each side independently; at most 45% per side.
fn trim_uniform(wk: &Work) -> Rect {
    let (w, h) = (wk.w, wk.h);
    let row = |y: usize, x0: usize, x1: usize| (x0..x1).map(move |x| wk.px(x, y));
    let col = |x: usize, y0: usize, y1: usize| (y0..y1).map(move |y| wk.px(x, y));
    let uniform = |line: Vec<[u8; 3]>, colour: [u8; 3]| {
        let n = line.len().max(1);
        let within = line.iter().filter(|p| cdist(**p, colour) <= COLOUR_TOLERANCE).count();
        within * 100 >= n * 97
    };
    let mut r = Rect { x0: 0, y0: 0, x1: w, y1: h };
    let max_h = h * 45 / 100;
    let max_w = w * 45 / 100;
    let top_colour = median_colour(row(0, 0, w));
    while r.y0 < max_h && uniform(row(r.y0, 0, w).collect(), top_colour) {
        r.y0 += 1;
    }
    let bottom_colour = median_colour(row(h - 1, 0, w));
    while h - r.y1 < max_h && uniform(row(r.y1 - 1, 0, w).collect(), bottom_colour) {
        r.y1 -= 1;
    }
    let (y0, y1) = (r.y0, r.y1);
    let left_colour = median_colour(col(0, y0, y1));
    while r.x0 < max_w && uniform(col(r.x0, y0, y1).collect(), left_colour) {
        r.x0 += 1;
    }
    let right_colour = median_colour(col(w - 1, y0, y1));
    while w - r.x1 < max_w && uniform(col(r.x1 - 1, y0, y1).collect(), right_colour) {
        r.x1 -= 1;
    }
    r
}

/// Mean absolute difference between neighbours along a line of luma values.
fn activity(line: &[f32]) -> f32 {
    if line.len() < 2 {
        return 0.0;
    }
    line.windows(2).map(|p| (p[1] - p[0]).abs()).sum::<f32>() / (line.len() - 1) as f32
}

/// (a) Low-activity bars (blurred-copy padding, soft gradients used as padding): from each
/// side, lines whose neighbour-to-neighbour activity stays below a quarter of the picture's
/// median line activity (or 1 grey level, whichever is more), ending at a straight edge (a line step at least three times the
/// bar's own activity). At most 45% per side.
fn trim_blurred(wk: &Work) -> Option<Rect> {
    let (w, h) = (wk.w, wk.h);
    let g = &wk.grey;
    let row_act: Vec<f32> = (0..h).map(|y| activity(&g[y * w..(y + 1) * w])).collect();
    let col_line = |x: usize| -> Vec<f32> { (0..h).map(|y| g[y * w + x]).collect() };
    let col_act: Vec<f32> = (0..w).map(|x| activity(&col_line(x))).collect();
    let median = |v: &[f32]| {
        let mut s = v.to_vec();
        s.sort_by(f32::total_cmp);
        s[s.len() / 2]
    };
    let row_step = |y: usize| -> f32 {
        // Mean |difference| between rows y-1 and y.
        (0..w).map(|x| (g[y * w + x] - g[(y - 1) * w + x]).abs()).sum::<f32>() / w as f32
    };
    let col_step = |x: usize| -> f32 {
        (0..h).map(|y| (g[y * w + x] - g[y * w + x - 1]).abs()).sum::<f32>() / h as f32
    };
    let (rlim, clim) = (median(&row_act) * 0.25, median(&col_act) * 0.25);
    let walk = |acts: &[f32], lim: f32, forward: bool, step: &dyn Fn(usize) -> f32| -> usize {
        let n = acts.len();
        let max = n * 45 / 100;
        let mut k = 0;
        while k < max {
            let i = if forward { k } else { n - 1 - k };
            if acts[i] > lim.max(1.0) {
                break;
            }
            k += 1;
        }
        if k < 2 || k >= max {
            return 0;
        }
        // The boundary between the bar and the picture must be a clear straight edge.
        let b = if forward { k } else { n - k };
        let bar = acts[if forward { k - 1 } else { n - k }].max(0.5);
        if step(b) >= 3.0 * bar && step(b) >= 4.0 { k } else { 0 }
    };
    let t = walk(&row_act, rlim, true, &row_step);
    let b = walk(&row_act, rlim, false, &row_step);
    let l = walk(&col_act, clim, true, &col_step);
    let r = walk(&col_act, clim, false, &col_step);
    if t + b + l + r == 0 {
        return None;
    }
    Some(Rect { x0: l, y0: t, x1: w - r, y1: h - b })
}

/// Edge maps: `hor[y * w + x]` is true when rows y-1 and y differ clearly at x (a horizontal
/// edge), `ver[y * w + x]` when columns x-1 and x do.
fn edges(wk: &Work) -> (Vec<bool>, Vec<bool>) {
    let (w, h) = (wk.w, wk.h);
    let g = &wk.grey;
    const T: f32 = 12.0;
    let mut hor = vec![false; w * h];
    let mut ver = vec![false; w * h];
    for y in 0..h {
        for x in 0..w {
            if y > 0 {
                hor[y * w + x] = (g[y * w + x] - g[(y - 1) * w + x]).abs() > T;
            }
            if x > 0 {
                ver[y * w + x] = (g[y * w + x] - g[y * w + x - 1]).abs() > T;
            }
        }
    }
    (hor, ver)
}

/// Share of a horizontal boundary at row y over columns [x0, x1) that is an edge (the image
/// border counts as a full edge).
fn hcover(hor: &[bool], w: usize, h: usize, y: usize, x0: usize, x1: usize) -> f32 {
    if y == 0 || y >= h {
        return 1.0;
    }
    let n = (x0..x1)
        .filter(|&x| hor[y * w + x] || hor.get((y + 1) * w + x).copied().unwrap_or(false))
        .count();
    n as f32 / (x1 - x0).max(1) as f32
}

fn vcover(ver: &[bool], w: usize, x: usize, y0: usize, y1: usize) -> f32 {
    if x == 0 || x >= w {
        return 1.0;
    }
    let n = (y0..y1).filter(|&y| ver[y * w + x] || (x + 1 < w && ver[y * w + x + 1])).count();
    n as f32 / (y1 - y0).max(1) as f32
}

/// Positions of the strongest lines in a coverage profile (non-maximum suppressed, ±3).
fn peaks(profile: &[f32], min: f32, keep: usize) -> Vec<usize> {
    let mut idx: Vec<usize> = (1..profile.len()).filter(|&i| profile[i] >= min).collect();
    idx.sort_by(|&a, &b| profile[b].total_cmp(&profile[a]).then(a.cmp(&b)));
    let mut out: Vec<usize> = Vec::new();
    for i in idx {
        if out.iter().all(|&o| o.abs_diff(i) > 3) {
            out.push(i);
            if out.len() == keep {
                break;
            }
        }
    }
    out
}

/// Moves each side of `r` (on the hashing copy, mapped from the analysis copy, so up to a
/// few pixels off) to the strongest edge line within ±3 px; sides on the image border stay.
fn refine(wk: &Work, r: Rect) -> Rect {
    let (w, h) = (wk.w, wk.h);
    let g = &wk.grey;
    const T: f32 = 12.0;
    let hline = |y: usize| -> usize {
        (r.x0..r.x1).filter(|&x| (g[y * w + x] - g[(y - 1) * w + x]).abs() > T).count()
    };
    let vline = |x: usize| -> usize {
        (r.y0..r.y1).filter(|&y| (g[y * w + x] - g[y * w + x - 1]).abs() > T).count()
    };
    let best = |at: usize, n: usize, line: &dyn Fn(usize) -> usize| -> usize {
        if at == 0 || at >= n {
            return at;
        }
        let lo = at.saturating_sub(3).max(1);
        let hi = (at + 3).min(n - 1);
        // Strongest line; nearest to the mapped position on ties.
        (lo..=hi).max_by_key(|&p| (line(p), std::cmp::Reverse(p.abs_diff(at)))).unwrap_or(at)
    };
    let out = Rect {
        x0: best(r.x0, w, &vline),
        x1: best(r.x1, w, &vline),
        y0: best(r.y0, h, &hline),
        y1: best(r.y1, h, &hline),
    };
    if out.x1 > out.x0 + 16 && out.y1 > out.y0 + 16 { out } else { r }
}

/// (b) Rectangles bounded by straight edges: a picture inside a composition. Candidate lines
/// are the strongest full-width / full-height edge rows and columns (and the image border);
/// a side is *real* when it is an edge (not the image border) along at least 60% of its
/// length. A rectangle needs two real sides, 15-96% of the query's area and sides of at
/// least a quarter of the query's; the best two are kept, ranked by real sides, then by the
/// weakest real side's coverage, then by area.
fn embedded_rects(wk: &Work) -> Vec<(Rect, f32)> {
    let (w, h) = (wk.w, wk.h);
    let (hor, ver) = edges(wk);
    let hprof: Vec<f32> = (0..h).map(|y| hcover(&hor, w, h, y, 0, w)).collect();
    let vprof: Vec<f32> = (0..w).map(|x| vcover(&ver, w, x, 0, h)).collect();
    let mut ys = peaks(&hprof, 0.2, 8);
    let mut xs = peaks(&vprof, 0.2, 8);
    ys.extend([0, h]);
    xs.extend([0, w]);
    ys.sort_unstable();
    xs.sort_unstable();
    ys.dedup();
    xs.dedup();
    let mut found: Vec<(Rect, f32)> = Vec::new();
    for (j, &x0) in xs.iter().enumerate() {
        for &x1 in &xs[j + 1..] {
            if (x1 - x0) * 4 < w {
                continue;
            }
            // Rows that are edges along this column span (a picture's top and bottom edges
            // are full lines there, while chrome and text lines are not).
            let span: Vec<f32> = (0..h).map(|y| hcover(&hor, w, h, y, x0, x1)).collect();
            let mut rows = peaks(&span, 0.5, 6);
            rows.extend(&ys);
            rows.sort_unstable();
            rows.dedup();
            for (i, &y0) in rows.iter().enumerate() {
                for &y1 in &rows[i + 1..] {
                    if (y1 - y0) * 4 < h {
                        continue;
                    }
                    let area = ((x1 - x0) * (y1 - y0)) as f32 / (w * h) as f32;
                    if !(0.15..=0.96).contains(&area) {
                        continue;
                    }
                    let sides = [
                        (y0 > 0).then(|| hcover(&hor, w, h, y0, x0, x1)),
                        (y1 < h).then(|| hcover(&hor, w, h, y1, x0, x1)),
                        (x0 > 0).then(|| vcover(&ver, w, x0, y0, y1)),
                        (x1 < w).then(|| vcover(&ver, w, x1, y0, y1)),
                    ];
                    let real: Vec<f32> = sides.iter().flatten().copied().collect();
                    if real.len() < 2 || real.iter().any(|&c| c < 0.6) {
                        continue;
                    }
                    let weakest = real.iter().copied().fold(1.0f32, f32::min);
                    let r = Rect { x0, y0, x1, y1 };
                    found.push((r, real.len() as f32 + 0.5 * weakest + 0.1 * area));
                }
            }
        }
    }
    found.sort_by(|a, b| b.1.total_cmp(&a.1));
    let mut out: Vec<(Rect, f32)> = Vec::new();
    for (r, s) in found {
        if out.iter().all(|(o, _)| !o.near(&r, 4)) {
            out.push((r, s));
            if out.len() == 2 {
                break;
            }
        }
    }
    out
}

/// A banner: a flat strip over one side (a caption bar), found as a straight edge across the
/// full width (or height) within 25% of a side beyond which the strip is mostly one colour
/// (text on it allowed: 70% of its pixels within the tolerance of its median colour).
/// Returns the side and the strip's thickness.
fn banner(wk: &Work) -> Option<(Side, usize)> {
    let (w, h) = (wk.w, wk.h);
    let (hor, ver) = edges(wk);
    let flat = |r: Rect| {
        let colour = median_colour(
            (r.y0..r.y1).flat_map(|y| (r.x0..r.x1).map(move |x| (x, y))).map(|(x, y)| wk.px(x, y)),
        );
        let n = r.w() * r.h();
        let within = (r.y0..r.y1)
            .flat_map(|y| (r.x0..r.x1).map(move |x| (x, y)))
            .filter(|&(x, y)| cdist(wk.px(x, y), colour) <= COLOUR_TOLERANCE)
            .count();
        n > 0 && within * 10 >= n * 7
    };
    let mut best: Option<(Side, usize, f32)> = None;
    let mut consider = |side: Side, k: usize, cover: f32, strip: Rect| {
        if cover >= 0.8 && flat(strip) && best.is_none_or(|b| cover > b.2) {
            best = Some((side, k, cover));
        }
    };
    for k in (h / 25).max(2)..h / 4 {
        consider(
            Side::Bottom,
            k,
            hcover(&hor, w, h, h - k, 0, w),
            Rect { x0: 0, y0: h - k, x1: w, y1: h },
        );
        consider(Side::Top, k, hcover(&hor, w, h, k, 0, w), Rect { x0: 0, y0: 0, x1: w, y1: k });
    }
    for k in (w / 25).max(2)..w / 4 {
        consider(
            Side::Right,
            k,
            vcover(&ver, w, w - k, 0, h),
            Rect { x0: w - k, y0: 0, x1: w, y1: h },
        );
        consider(Side::Left, k, vcover(&ver, w, k, 0, h), Rect { x0: 0, y0: 0, x1: k, y1: h });
    }
    best.map(|(s, k, _)| (s, k))
}

/// The picture with the banner replaced by the mirror image of the strip next to it.
fn fill_banner(wk: &Work, side: Side, k: usize) -> Work {
    let (w, h) = (wk.w, wk.h);
    let mut rgb = wk.rgb.clone();
    let mut set = |x: usize, y: usize, sx: usize, sy: usize| {
        let (d, s) = ((y * w + x) * 3, (sy * w + sx) * 3);
        rgb[d..d + 3].copy_from_slice(&wk.rgb[s..s + 3]);
    };
    match side {
        Side::Bottom => {
            for i in 0..k {
                let (y, sy) = (h - k + i, (h - k).saturating_sub(1 + i));
                (0..w).for_each(|x| set(x, y, x, sy));
            }
        }
        Side::Top => {
            for i in 0..k {
                let (y, sy) = (k - 1 - i, (k + i).min(h - 1));
                (0..w).for_each(|x| set(x, y, x, sy));
            }
        }
        Side::Right => {
            for i in 0..k {
                let (x, sx) = (w - k + i, (w - k).saturating_sub(1 + i));
                (0..h).for_each(|y| set(x, y, sx, y));
            }
        }
        Side::Left => {
            for i in 0..k {
                let (x, sx) = (k - 1 - i, (k + i).min(w - 1));
                (0..h).for_each(|y| set(x, y, sx, y));
            }
        }
    }
    Work::from_rgb(w, h, rgb)
}

/// Line fit that ignores outliers (points where the picture's own pixels look like the
/// fill): least squares, then again on the points within 2 px of the first line. Returns
/// (slope, residual RMS of the kept points) when at least half the points are kept.
fn robust_fit(points: &[(f64, f64)]) -> Option<(f64, f64)> {
    // Start from the median of pairwise slopes over a coarse sample (Theil-Sen): outliers
    // do not pull it.
    let step = (points.len() / 40).max(1);
    let sample: Vec<(f64, f64)> = points.iter().step_by(step).copied().collect();
    let mut slopes = Vec::new();
    for (i, p) in sample.iter().enumerate() {
        for q in &sample[i + 1..] {
            if (q.0 - p.0).abs() >= 4.0 {
                slopes.push((q.1 - p.1) / (q.0 - p.0));
            }
        }
    }
    if slopes.len() < 8 {
        return None;
    }
    slopes.sort_by(f64::total_cmp);
    let b0 = slopes[slopes.len() / 2];
    let mut offsets: Vec<f64> = points.iter().map(|p| p.1 - b0 * p.0).collect();
    offsets.sort_by(f64::total_cmp);
    let a0 = offsets[offsets.len() / 2];
    let kept: Vec<(f64, f64)> =
        points.iter().copied().filter(|p| (p.1 - a0 - b0 * p.0).abs() <= 2.0).collect();
    if kept.len() * 2 < points.len() {
        return None;
    }
    fit(&kept)
}

/// Least-squares line fit v = a + b u; returns (b, residual RMS).
fn fit(points: &[(f64, f64)]) -> Option<(f64, f64)> {
    let n = points.len() as f64;
    if points.len() < 8 {
        return None;
    }
    let (su, sv) = points.iter().fold((0.0, 0.0), |(a, b), p| (a + p.0, b + p.1));
    let (mu, mv) = (su / n, sv / n);
    let (mut suu, mut suv) = (0.0, 0.0);
    for &(u, v) in points {
        suu += (u - mu) * (u - mu);
        suv += (u - mu) * (v - mv);
    }
    if suu <= 0.0 {
        return None;
    }
    let b = suv / suu;
    let a = mv - b * mu;
    let rms = (points.iter().map(|&(u, v)| (v - a - b * u).powi(2)).sum::<f64>() / n).sqrt();
    Some((b, rms))
}

/// (c) A picture turned by a small angle on a uniform fill (the corners share one colour):
/// the straight edges between fill and picture give the angle (each side fitted over its
/// middle half ignoring outliers, straight within 1.5 px; at least two sides agreeing within
/// 0.6°, their median taken). Returns
/// the angle in degrees (counter-clockwise as seen), between 0.5 and 10 in magnitude.
fn estimate_rotation(wk: &Work) -> Option<f32> {
    let (w, h) = (wk.w, wk.h);
    let corners = [wk.px(0, 0), wk.px(w - 1, 0), wk.px(0, h - 1), wk.px(w - 1, h - 1)];
    let fill = median_colour(corners.iter().copied());
    if corners.iter().any(|c| cdist(*c, fill) > COLOUR_TOLERANCE) {
        return None;
    }
    let is_fill = |x: usize, y: usize| cdist(wk.px(x, y), fill) <= COLOUR_TOLERANCE;
    // First non-fill pixel along each column from the top / bottom, each row from the
    // left / right; middle half of each side only (away from the corners).
    let mut slopes = Vec::new();
    let (xa, xb, ya, yb) = (w / 4, 3 * w / 4, h / 4, 3 * h / 4);
    let mut side = |pts: Vec<(f64, f64)>, sign: f64| {
        if let Some((b, rms)) = robust_fit(&pts)
            && rms <= 1.5
        {
            slopes.push(sign * b);
        }
    };
    let top: Vec<(f64, f64)> = (xa..xb)
        .filter_map(|x| (0..h / 3).find(|&y| !is_fill(x, y)).map(|y| (x as f64, y as f64)))
        .collect();
    let bottom: Vec<(f64, f64)> = (xa..xb)
        .filter_map(|x| {
            (0..h / 3).find(|&k| !is_fill(x, h - 1 - k)).map(|k| (x as f64, (h - 1 - k) as f64))
        })
        .collect();
    let left: Vec<(f64, f64)> = (ya..yb)
        .filter_map(|y| (0..w / 3).find(|&x| !is_fill(x, y)).map(|x| (y as f64, x as f64)))
        .collect();
    let right: Vec<(f64, f64)> = (ya..yb)
        .filter_map(|y| {
            (0..w / 3).find(|&k| !is_fill(w - 1 - k, y)).map(|k| (y as f64, (w - 1 - k) as f64))
        })
        .collect();
    // A picture turned counter-clockwise (on screen) by a: its top edge rises to the right
    // (y decreases with x: slope -tan a), its left edge moves right going down (+tan a).
    side(top, -1.0);
    side(bottom, -1.0);
    side(left, 1.0);
    side(right, 1.0);
    // At least two sides that agree (within about 0.6°); the angle is their median.
    slopes.sort_by(f64::total_cmp);
    let best = (0..slopes.len())
        .map(|i| slopes.iter().filter(|s| (**s - slopes[i]).abs() <= 0.01).count())
        .max()
        .unwrap_or(0);
    if best < 2 {
        return None;
    }
    let agreeing: Vec<f64> = (0..slopes.len())
        .filter(|&i| slopes.iter().filter(|s| (**s - slopes[i]).abs() <= 0.01).count() == best)
        .map(|i| slopes[i])
        .collect();
    let deg = agreeing[agreeing.len() / 2].atan().to_degrees() as f32;
    // Up to 10° as turned, with the estimate's own half-degree of slack.
    (0.5..=10.5).contains(&deg.abs()).then_some(deg)
}

/// The picture turned by `degrees`: undo it and take the original rectangle (whose size
/// follows from the bounding box: W = (Bw cos - Bh sin) / cos 2a, H = (Bh cos - Bw sin) / cos 2a).
fn derotate(wk: &Work, degrees: f32) -> Option<Work> {
    let a = f64::from(degrees.abs()).to_radians();
    let (s, c) = a.sin_cos();
    let (bw, bh) = (wk.w as f64, wk.h as f64);
    let c2 = (2.0 * a).cos();
    let ow = ((bw * c - bh * s) / c2).floor();
    let oh = ((bh * c - bw * s) / c2).floor();
    if ow < 16.0 || oh < 16.0 {
        return None;
    }
    // Trim one pixel all round: the interpolated edge mixes fill and picture.
    let (ow, oh) = (ow as usize - 2, oh as usize - 2);
    Some(wk.rotated(-degrees, ow, oh))
}

/// The window's pixels (rectangle of the working copy, or the turned inscribed rectangle).
fn window_work(wk: &Work, window: Window) -> Option<Work> {
    let ([l, t, r, b], turn) = window.geometry();
    let (w, h) = (wk.w as f32, wk.h as f32);
    if turn != 0.0 {
        let a = f64::from(turn.abs()).to_radians();
        let (s, c) = a.sin_cos();
        let (fw, fh) = (wk.w as f64, wk.h as f64);
        let k = (fw / (fw * c + fh * s)).min(fh / (fw * s + fh * c));
        let (ow, oh) = ((fw * k).floor() as usize, (fh * k).floor() as usize);
        return (ow >= 16 && oh >= 16).then(|| wk.rotated(turn, ow, oh));
    }
    let x0 = (w * l).round() as usize;
    let y0 = (h * t).round() as usize;
    let x1 = wk.w - (w * r).round() as usize;
    let y1 = wk.h - (h * b).round() as usize;
    (x1 > x0 + 16 && y1 > y0 + 16).then(|| wk.crop(x0, y0, x1, y1))
}

/// Whether a hash of this working copy may be used: structured and of PDQ quality >= 50.
fn usable(wk: &Work) -> Result<Option<(PdqHash, u8)>, PdqError> {
    if !is_structured_work(wk) {
        return Ok(None);
    }
    let (hash, quality) = wk.pdq()?;
    Ok((quality >= QUALITY_THRESHOLD).then_some((hash, quality)))
}

fn share(a: usize, n: usize) -> f32 {
    ((a as f32 / n as f32) * 1000.0).round() / 1000.0
}

/// Query-side candidates of an RGB8 picture (rows top to bottom, 3 bytes a pixel): the
/// normalisations that found something, each hashed with PDQ, plus the 7 dihedral
/// variants. The plain hash is not among them (the caller has it). Empty for pictures
/// without enough structure (flat, gradients, stripes) or of PDQ quality below 50.
///
/// ```
/// use mediahash::perceptual::pdq::{pdq_from_rgb, PdqConvention};
/// use mediahash::robust::{query_candidates, Step};
///
/// // A textured 200x150 picture, and the same inside a 30-pixel white border.
/// let pixel = |x: u32, y: u32| {
///     let v = ((x * x + 3 * y * y + 5 * x * y) % 251) as u8;
///     [v, v / 2, 255 - v]
/// };
/// let picture: Vec<u8> = (0..200 * 150).flat_map(|i| pixel(i % 200, i / 200)).collect();
/// let (bw, bh) = (260u32, 210u32);
/// let bordered: Vec<u8> = (0..bw * bh)
///     .flat_map(|i| {
///         let (x, y) = (i % bw, i / bw);
///         if (30..230).contains(&x) && (30..180).contains(&y) { pixel(x - 30, y - 30) } else { [255; 3] }
///     })
///     .collect();
/// let original = pdq_from_rgb(200, 150, &picture, PdqConvention::FullResolution)?.hash;
/// let found = query_candidates(bw, bh, &bordered)?;
/// let trimmed = found.iter().find(|c| matches!(c.steps[0], Step::TrimmedBorders { .. })).unwrap();
/// assert!(trimmed.hash.distance(&original) <= 31);
/// # Ok::<(), mediahash::perceptual::pdq::PdqError>(())
/// ```
pub fn query_candidates(width: u32, height: u32, rgb: &[u8]) -> Result<Vec<Candidate>, PdqError> {
    let hk = Work::new(width, height, rgb, WORK_SIDE)?;
    let wk = hk.reduced(ANALYSIS_SIDE);
    let mut out: Vec<Candidate> = Vec::new();
    if wk.w < 32 || wk.h < 32 {
        return Ok(out);
    }
    let (w, h) = (wk.w, wk.h);
    // Geometry is found on the analysis copy and applied to the hashing copy.
    let (sx, sy) = (hk.w as f64 / w as f64, hk.h as f64 / h as f64);
    let to_hash = |r: &Rect| Rect {
        x0: (r.x0 as f64 * sx).round() as usize,
        y0: (r.y0 as f64 * sy).round() as usize,
        x1: ((r.x1 as f64 * sx).round() as usize).min(hk.w),
        y1: ((r.y1 as f64 * sy).round() as usize).min(hk.h),
    };
    let full = Rect { x0: 0, y0: 0, x1: w, y1: h };
    let mut rects: Vec<(Rect, Step)> = Vec::new();
    // Something worth a candidate: at least 1% off some side.
    let min_cut = |r: &Rect| {
        [r.x0 * 100 / w, (w - r.x1) * 100 / w, r.y0 * 100 / h, (h - r.y1) * 100 / h]
            .iter()
            .any(|&p| p >= 1)
    };
    let trim_step = |r: &Rect| Step::TrimmedBorders {
        left: share(r.x0, w),
        top: share(r.y0, h),
        right: share(w - r.x1, w),
        bottom: share(h - r.y1, h),
    };
    let uniform = trim_uniform(&wk);
    if uniform != full && min_cut(&uniform) && uniform.w() >= w / 4 && uniform.h() >= h / 4 {
        rects.push((uniform, trim_step(&uniform)));
    }
    if let Some(r) = trim_blurred(&wk)
        && r != full
        && min_cut(&r)
        && r.w() >= w / 4
        && r.h() >= h / 4
        && rects.iter().all(|(o, _)| !o.near(&r, 2))
    {
        rects.push((r, trim_step(&r)));
    }
    for (r, _) in embedded_rects(&wk) {
        if rects.iter().all(|(o, _)| !o.near(&r, 2)) {
            let step = Step::EmbeddedRectangle {
                x: share(r.x0, w),
                y: share(r.y0, h),
                width: share(r.w(), w),
                height: share(r.h(), h),
            };
            rects.push((r, step));
        }
    }
    for (r, step) in rects {
        let r = if hk.w == w { r } else { refine(&hk, to_hash(&r)) };
        if r.w() < 16 || r.h() < 16 {
            continue;
        }
        let part = hk.crop(r.x0, r.y0, r.x1, r.y1);
        if let Some((hash, quality)) = usable(&part)? {
            out.push(Candidate { hash, quality, steps: vec![step] });
        }
    }
    if let Some((side, k)) = banner(&wk) {
        let vertical = matches!(side, Side::Top | Side::Bottom);
        let kh = ((k as f64) * if vertical { sy } else { sx }).round() as usize;
        let filled = fill_banner(&hk, side, kh);
        if let Some((hash, quality)) = usable(&filled)? {
            let n = if vertical { h } else { w };
            out.push(Candidate {
                hash,
                quality,
                steps: vec![Step::FilledBanner { side, share: share(k, n) }],
            });
        }
    }
    if let Some(deg) = estimate_rotation(&wk)
        && let Some(back) = derotate(&hk, deg)
        && let Some((hash, quality)) = usable(&back)?
    {
        let degrees = (deg * 10.0).round() / 10.0;
        out.push(Candidate { hash, quality, steps: vec![Step::Derotated { degrees }] });
    }
    // Rotations and flips: the pixels moved and hashed again (exact, unlike the DCT-domain
    // variants, which differ from a re-hash by up to ~30 bits).
    for t in Dihedral::ALL[1..].iter().filter(|_| is_structured_work(&wk)) {
        let (hash, quality) = hk.dihedral(*t).pdq()?;
        if quality >= QUALITY_THRESHOLD {
            out.push(Candidate { hash, quality, steps: vec![Step::Dihedral { transform: *t }] });
        }
    }
    Ok(out)
}

/// Reference-side windows of an RGB8 picture: every [`Window`] whose pixels are structured
/// and of PDQ quality >= 50, hashed with PDQ on the working copy.
pub fn reference_windows(width: u32, height: u32, rgb: &[u8]) -> Result<Vec<WindowHash>, PdqError> {
    let wk = Work::new(width, height, rgb, WORK_SIDE)?;
    let mut out = Vec::new();
    if wk.w < 32 || wk.h < 32 || !is_structured_work(&wk.reduced(ANALYSIS_SIDE)) {
        return Ok(out);
    }
    for window in Window::ALL {
        if let Some(part) = window_work(&wk, window)
            && let Some((hash, quality)) = usable(&part)?
        {
            out.push(WindowHash { window, hash, quality });
        }
    }
    Ok(out)
}

/// Test access to the geometry estimates (working-copy pixels and degrees), for the
/// integration tests that check them on pictures of known geometry.
#[doc(hidden)]
pub mod geometry {
    use super::*;

    /// (x0, y0, x1, y1) of the uniform-border trim, in the picture's own pixels when it is
    /// no larger than [`WORK_SIDE`].
    pub fn uniform_trim(
        width: u32,
        height: u32,
        rgb: &[u8],
    ) -> Result<(usize, usize, usize, usize), PdqError> {
        let r = trim_uniform(&Work::new(width, height, rgb, ANALYSIS_SIDE)?);
        Ok((r.x0, r.y0, r.x1, r.y1))
    }

    /// As [`uniform_trim`] for low-activity (blurred) padding.
    pub fn blurred_trim(
        width: u32,
        height: u32,
        rgb: &[u8],
    ) -> Result<Option<(usize, usize, usize, usize)>, PdqError> {
        Ok(trim_blurred(&Work::new(width, height, rgb, ANALYSIS_SIDE)?)
            .map(|r| (r.x0, r.y0, r.x1, r.y1)))
    }

    /// The embedded rectangles found, best first.
    pub fn embedded(
        width: u32,
        height: u32,
        rgb: &[u8],
    ) -> Result<Vec<(usize, usize, usize, usize)>, PdqError> {
        Ok(embedded_rects(&Work::new(width, height, rgb, ANALYSIS_SIDE)?)
            .into_iter()
            .map(|(r, _)| (r.x0, r.y0, r.x1, r.y1))
            .collect())
    }

    /// The rotation found, degrees counter-clockwise.
    pub fn rotation(width: u32, height: u32, rgb: &[u8]) -> Result<Option<f32>, PdqError> {
        Ok(estimate_rotation(&Work::new(width, height, rgb, ANALYSIS_SIDE)?))
    }

    /// The banner found: side and thickness in pixels.
    pub fn banner(width: u32, height: u32, rgb: &[u8]) -> Result<Option<(Side, usize)>, PdqError> {
        Ok(super::banner(&Work::new(width, height, rgb, ANALYSIS_SIDE)?))
    }
}
