//! Pillow's `convert('L')` and antialiased resize (`Image.resize(size,
//! Image.Resampling.LANCZOS)`) for 8-bit single-channel images, reproduced bit for bit
//! (Pillow 13.0; checked against it on thousands of random cases, see `scripts/`).
//!
//! Pillow (libImaging `Resample.c`) resizes in two separable passes with an 8-bit
//! intermediate image. Each pass computes, per output sample, a window of input samples and
//! float64 Lanczos-3 weights (support widened by the downscale factor, weights normalised to
//! sum to 1), converts the weights to 22-bit fixed point and accumulates in `i32` with
//! round-half-up and clamping to 0..=255. Pillow 13 runs the horizontal pass first unless
//! the height shrinks by more than twice as many pixels as the width ([`pillow_pass_order`]);
//! earlier Pillow versions were always horizontal-first. The pass order changes the
//! intermediate rounding, and one off-by-one byte can flip a dHash bit, so every step
//! follows Pillow's order exactly. Integer results do not depend on the CPU path, so the
//! passes are also compiled for AVX2 and picked at run time.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::ImageHashError;
use crate::cpu::{SimdLevel, simd_level};

mod simd;

/// Bits of fraction in the fixed-point weights: 32 bits minus 8 for the pixel value minus
/// 2 for overshoot and sign, as Pillow defines `PRECISION_BITS`.
const PRECISION_BITS: u32 = 32 - 8 - 2;

/// Lanczos-3 support radius in input pixels, before widening for downscaling.
const LANCZOS_SUPPORT: f64 = 3.0;

/// `sin(pi x) / (pi x)`, evaluated exactly as Pillow writes it.
fn sinc(x: f64) -> f64 {
    if x == 0.0 {
        return 1.0;
    }
    let x = x * std::f64::consts::PI;
    x.sin() / x
}

/// Pillow's truncated-sinc Lanczos-3 window.
fn lanczos(x: f64) -> f64 {
    if (-3.0..3.0).contains(&x) { sinc(x) * sinc(x / 3.0) } else { 0.0 }
}

/// Fixed-point resampling weights for one axis: output sample `i` reads
/// `input[starts[i] .. starts[i] + lens[i]]` with weights `weights[i * stride ..][..lens[i]]`.
pub(crate) struct AxisCoefficients {
    starts: Vec<usize>,
    lens: Vec<usize>,
    stride: usize,
    weights: Vec<i32>,
}

impl AxisCoefficients {
    /// Pillow's `precompute_coeffs` followed by `normalize_coeffs_8bpc`, for the full
    /// source range `0..in_size` (Pillow's default `box`).
    pub(crate) fn lanczos(in_size: usize, out_size: usize) -> Self {
        debug_assert!(in_size > 0 && out_size > 0);
        // Pillow passes the box edges as C `float`; the span is computed in float, then
        // widened. Casting through f32 keeps that rounding for sizes beyond 2^24.
        let span = f64::from(in_size as f32 - 0.0f32);
        let scale = span / out_size as f64;
        let filterscale = scale.max(1.0);
        let support = LANCZOS_SUPPORT * filterscale;
        let stride = support.ceil() as usize * 2 + 1;
        let inverse_filterscale = 1.0 / filterscale;

        let mut starts = Vec::with_capacity(out_size);
        let mut lens = Vec::with_capacity(out_size);
        let mut weights = vec![0i32; out_size * stride];
        let mut window = vec![0f64; stride];
        for (out_index, row) in weights.chunks_exact_mut(stride).enumerate() {
            let center = 0.0 + (out_index as f64 + 0.5) * scale;
            // C `(int)` truncates toward zero; `as i64` does the same.
            let xmin = ((center - support + 0.5) as i64).max(0) as usize;
            let xmax = ((center + support + 0.5) as i64).min(in_size as i64);
            let len = (xmax - xmin as i64).max(0) as usize;
            let mut total = 0.0;
            for (x, w) in window[..len].iter_mut().enumerate() {
                *w = lanczos(((x + xmin) as f64 - center + 0.5) * inverse_filterscale);
                total += *w;
            }
            for (w, fixed) in window[..len].iter_mut().zip(row.iter_mut()) {
                if total != 0.0 {
                    *w /= total;
                }
                *fixed = to_fixed(*w);
            }
            starts.push(xmin);
            lens.push(len);
        }
        AxisCoefficients { starts, lens, stride, weights }
    }

    /// [`AxisCoefficients::lanczos`] through a small per-thread cache: pictures of a case
    /// come in few sizes (cameras, phones, screenshots), and the weights of a 12 MP picture
    /// cost about 250,000 `sin` calls (some 2.5 ms), most of the resampling after the SIMD
    /// kernels. The cache holds the [`COEFFICIENT_CACHE`] sizes met last.
    pub(crate) fn cached(in_size: usize, out_size: usize) -> Rc<Self> {
        thread_local! {
            static CACHE: RefCell<Vec<CachedAxis>> =
                const { RefCell::new(Vec::new()) };
        }
        CACHE.with_borrow_mut(|cache| {
            let key = (in_size, out_size);
            if let Some(i) = cache.iter().position(|(k, _)| *k == key) {
                let hit = cache.remove(i);
                cache.insert(0, hit);
            } else {
                cache.insert(0, (key, Rc::new(Self::lanczos(in_size, out_size))));
                cache.truncate(COEFFICIENT_CACHE);
            }
            Rc::clone(&cache[0].1)
        })
    }

    fn window(&self, out_index: usize) -> (usize, &[i32]) {
        let start = out_index * self.stride;
        (self.starts[out_index], &self.weights[start..start + self.lens[out_index]])
    }

    /// Input indices read by any output sample (Pillow: first sample's start to the last
    /// sample's end; windows move monotonically).
    fn input_range(&self) -> std::ops::Range<usize> {
        let first = self.starts.first().copied().unwrap_or(0);
        let end = match (self.starts.last(), self.lens.last()) {
            (Some(s), Some(l)) => s + l,
            _ => first,
        };
        first..end.max(first)
    }
}

/// One entry of [`AxisCoefficients::cached`]: (input size, output size) and the weights.
type CachedAxis = ((usize, usize), Rc<AxisCoefficients>);

/// Axis sizes whose weights each thread keeps ([`AxisCoefficients::cached`]): the three
/// hash sizes of both axes of two picture sizes.
const COEFFICIENT_CACHE: usize = 12;

/// Pillow's float-to-fixed conversion: round half away from zero, then truncate.
fn to_fixed(weight: f64) -> i32 {
    let scaled = weight * f64::from(1u32 << PRECISION_BITS);
    if weight < 0.0 { (-0.5 + scaled) as i32 } else { (0.5 + scaled) as i32 }
}

/// Accumulator start value: one half in fixed point, so the final shift rounds.
const ROUND_HALF: i32 = 1 << (PRECISION_BITS - 1);

/// Pillow's `clip8`: drop the fraction bits and clamp to a byte.
#[inline(always)]
fn clip8(acc: i32) -> u8 {
    (acc >> PRECISION_BITS).clamp(0, 255) as u8
}

#[inline(always)]
fn dot(pixels: &[u8], weights: &[i32]) -> i32 {
    // Weights are normalised, so |sum| < 2 * 255 * 2^22 and the i32 never overflows.
    pixels.iter().zip(weights).fold(ROUND_HALF, |acc, (&p, &w)| acc.wrapping_add(i32::from(p) * w))
}

/// Which separable pass runs first. Pillow up to 12 always ran horizontal first; Pillow 13
/// runs vertical first when the height shrinks much more than the width (see
/// [`pillow_pass_order`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PassOrder {
    HorizontalFirst,
    VerticalFirst,
}

/// One output row of the horizontal pass: `row_in` holds input columns from `col_offset` on.
#[inline(always)]
fn horizontal_row(row_in: &[u8], coeffs: &AxisCoefficients, col_offset: usize, out: &mut [u8]) {
    for (x, o) in out.iter_mut().enumerate() {
        let (start, weights) = coeffs.window(x);
        let start = start - col_offset;
        *o = clip8(dot(&row_in[start..start + weights.len()], weights));
    }
}

/// Horizontal pass: rows `rows` of `src` (row stride `src_width`) into `out_width` columns.
/// Always inlined so the AVX2 wrapper below compiles it with AVX2 enabled.
#[inline(always)]
fn horizontal_pass_generic(
    src: &[u8],
    src_width: usize,
    rows: std::ops::Range<usize>,
    coeffs: &AxisCoefficients,
    col_offset: usize,
    out_width: usize,
) -> Vec<u8> {
    let mut out = vec![0u8; out_width * rows.len()];
    for (row_out, y) in out.chunks_exact_mut(out_width).zip(rows) {
        horizontal_row(&src[y * src_width..][..src_width], coeffs, col_offset, row_out);
    }
    out
}

/// Vertical pass: columns `cols` of `src` (row stride `src_width`, first stored row is input
/// row `row_offset`) into `out_height` rows. Always inlined, as above.
#[inline(always)]
fn vertical_pass_generic(
    src: &[u8],
    src_width: usize,
    cols: std::ops::Range<usize>,
    coeffs: &AxisCoefficients,
    row_offset: usize,
    out_height: usize,
) -> Vec<u8> {
    let out_width = cols.len();
    let mut out = vec![0u8; out_width * out_height];
    let mut acc = vec![0i32; out_width];
    for (y, row_out) in out.chunks_exact_mut(out_width).enumerate() {
        let (start, weights) = coeffs.window(y);
        acc.fill(ROUND_HALF);
        // Integer sums are order-independent; walking whole rows keeps the loop contiguous.
        for (dy, &w) in weights.iter().enumerate() {
            let row = &src[(start + dy - row_offset) * src_width..][cols.clone()];
            for (a, &p) in acc.iter_mut().zip(row) {
                *a = a.wrapping_add(i32::from(p) * w);
            }
        }
        for (o, &a) in row_out.iter_mut().zip(&acc) {
            *o = clip8(a);
        }
    }
    out
}

/// Generates `$name`, which runs `$generic` compiled for AVX2 when the CPU has it and the
/// baseline build otherwise. Both compute the same integers; AVX2 only vectorises wider.
macro_rules! dispatch_avx2 {
    ($(#[$doc:meta])* $vis:vis fn $name:ident / $avx2:ident => $generic:ident
        ($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty) => {
        $(#[$doc])*
        $vis fn $name($($arg: $ty),*) -> $ret {
            #[cfg(target_arch = "x86_64")]
            if simd_level() >= SimdLevel::Avx2 {
                // SAFETY: `$avx2` only differs from `$generic` by being compiled with AVX2
                // enabled, and SimdLevel reports Avx2 or above only when the CPU has AVX2.
                return unsafe { $avx2($($arg),*) };
            }
            $generic($($arg),*)
        }

        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2")]
        fn $avx2($($arg: $ty),*) -> $ret {
            $generic($($arg),*)
        }
    };
}

/// [`horizontal_pass_generic`] with the SIMD kernel of `level` (same bytes at every level).
fn horizontal_pass_at(
    level: SimdLevel,
    src: &[u8],
    src_width: usize,
    rows: std::ops::Range<usize>,
    coeffs: &AxisCoefficients,
    col_offset: usize,
    out_width: usize,
) -> Vec<u8> {
    if level == SimdLevel::Portable {
        return horizontal_pass_generic(src, src_width, rows, coeffs, col_offset, out_width);
    }
    let kernel = simd::HorizontalKernel::new(coeffs, level);
    let mut out = vec![0u8; out_width * rows.len()];
    // The kernel may read past a row (zero weights) as far as the buffer goes.
    let mut groups = out.chunks_exact_mut(out_width * ROWS_TOGETHER);
    let mut y = rows.start;
    for group in groups.by_ref() {
        let src_rows: [&[u8]; ROWS_TOGETHER] = std::array::from_fn(|r| &src[(y + r) * src_width..]);
        let outs: [&mut [u8]; ROWS_TOGETHER] =
            group.chunks_exact_mut(out_width).collect::<Vec<_>>().try_into().unwrap();
        kernel.rows(src_rows, coeffs, col_offset, outs);
        y += ROWS_TOGETHER;
    }
    for row_out in groups.into_remainder().chunks_exact_mut(out_width) {
        kernel.rows([&src[y * src_width..]], coeffs, col_offset, [row_out]);
        y += 1;
    }
    out
}

/// [`horizontal_pass_at`] at the process's SIMD level.
fn horizontal_pass(
    src: &[u8],
    src_width: usize,
    rows: std::ops::Range<usize>,
    coeffs: &AxisCoefficients,
    col_offset: usize,
    out_width: usize,
) -> Vec<u8> {
    horizontal_pass_at(simd_level(), src, src_width, rows, coeffs, col_offset, out_width)
}

dispatch_avx2! {
    /// [`vertical_pass_generic`], vectorised for the CPU.
    fn vertical_pass / vertical_pass_avx2 => vertical_pass_generic(
        src: &[u8],
        src_width: usize,
        cols: std::ops::Range<usize>,
        coeffs: &AxisCoefficients,
        row_offset: usize,
        out_height: usize,
    ) -> Vec<u8>
}

/// Pillow's `convert('L')` of one RGB pixel: ITU-R 601 weights in 16-bit fixed point,
/// rounded (`L = (19595 R + 38470 G + 7471 B + 0x8000) >> 16`).
#[inline(always)]
pub(crate) fn pillow_luma(r: u8, g: u8, b: u8) -> u8 {
    ((19595 * u32::from(r) + 38470 * u32::from(g) + 7471 * u32::from(b) + 0x8000) >> 16) as u8
}

#[inline(always)]
fn rgb_row_to_luma(rgb: &[u8], out: &mut [u8]) {
    for (o, p) in out.iter_mut().zip(rgb.chunks_exact(3)) {
        *o = pillow_luma(p[0], p[1], p[2]);
    }
}

/// Pillow's `convert('L')` of packed RGB8 at the process's SIMD level.
pub(crate) fn rgb_to_luma(rgb: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; rgb.len() / 3];
    simd::rgb_row_to_luma(rgb, &mut out, simd_level());
    out
}

/// One horizontal-first resize prepared for [`stream_rgb_resizes`].
struct StreamedResize {
    horizontal: Rc<AxisCoefficients>,
    vertical: Option<Rc<AxisCoefficients>>,
    rows: std::ops::Range<usize>,
    out_width: usize,
    out_height: usize,
    /// Horizontal-pass output for `rows`.
    tmp: Vec<u8>,
}

/// Source rows streamed between two looks at the cancel flag.
const ROWS_PER_CANCEL_CHECK: usize = 64;

/// Rows the SIMD horizontal pass computes together: each weight is loaded once for all of
/// them (the weights of a large downscale are several times the row's bytes, and loading
/// them per row made the pass bound by cache bandwidth).
const ROWS_TOGETHER: usize = 4;

/// The row loop of [`stream_rgb_resizes`]: each source row is converted to grey once, in a
/// row buffer, and fed to every resize's horizontal pass that reads it, with the SIMD
/// kernels of `level`. Returns false when it stopped because `cancel` was set.
fn stream_rows(
    level: SimdLevel,
    rgb: &[u8],
    width: usize,
    plans: &mut [StreamedResize],
    cancel: Option<&AtomicBool>,
) -> bool {
    let first = plans.iter().map(|p| p.rows.start).min().unwrap_or(0);
    let end = plans.iter().map(|p| p.rows.end).max().unwrap_or(0);
    let kernels: Vec<simd::HorizontalKernel> =
        plans.iter().map(|p| simd::HorizontalKernel::new(&p.horizontal, level)).collect();
    // ROWS_TOGETHER grey rows, each padded so that no SIMD window runs past its buffer
    // (padding bytes get zero weight).
    let stride = width + simd::ROW_PADDING;
    let mut luma = vec![0u8; stride * ROWS_TOGETHER];
    let mut y = first;
    while y < end {
        if (y - first) % ROWS_PER_CANCEL_CHECK < ROWS_TOGETHER
            && cancel.is_some_and(|c| c.load(Ordering::Relaxed))
        {
            return false;
        }
        let n = ROWS_TOGETHER.min(end - y);
        for r in 0..n {
            let row = &rgb[(y + r) * width * 3..][..width * 3];
            simd::rgb_row_to_luma(row, &mut luma[r * stride..][..width], level);
        }
        for (plan, kernel) in plans.iter_mut().zip(&kernels) {
            let w = plan.out_width;
            let (lo, hi) = (plan.rows.start.max(y), plan.rows.end.min(y + n));
            if lo >= hi {
                continue;
            }
            let tmp = &mut plan.tmp[(lo - plan.rows.start) * w..(hi - plan.rows.start) * w];
            if hi - lo == ROWS_TOGETHER {
                let rows: [&[u8]; ROWS_TOGETHER] =
                    std::array::from_fn(|r| &luma[r * stride..][..stride]);
                let outs: [&mut [u8]; ROWS_TOGETHER] =
                    tmp.chunks_exact_mut(w).collect::<Vec<_>>().try_into().unwrap();
                kernel.rows(rows, &plan.horizontal, 0, outs);
            } else {
                for (r, out) in (lo..hi).zip(tmp.chunks_exact_mut(w)) {
                    kernel.rows([&luma[(r - y) * stride..][..stride]], &plan.horizontal, 0, [out]);
                }
            }
        }
        y += n;
    }
    true
}

/// Pillow's `convert('L').resize(size, LANCZOS)` of packed RGB8 for several sizes at once,
/// without materialising the greyscale image: one pass over the source rows feeds every
/// horizontal pass. Returns `None` (the caller then converts and resizes separately) when a
/// size needs Pillow 13's vertical-first order or no horizontal pass, and
/// `Some(Err(Cancelled))` when `cancel` was set before the pass ended.
pub(crate) fn stream_rgb_resizes(
    rgb: &[u8],
    (width, height): (usize, usize),
    sizes: &[(usize, usize)],
    cancel: Option<&AtomicBool>,
) -> Option<Result<Vec<Vec<u8>>, ImageHashError>> {
    stream_rgb_resizes_at(simd_level(), rgb, (width, height), sizes, cancel)
}

/// [`stream_rgb_resizes`] with the SIMD kernels of `level` (same bytes at every level).
pub(crate) fn stream_rgb_resizes_at(
    level: SimdLevel,
    rgb: &[u8],
    (width, height): (usize, usize),
    sizes: &[(usize, usize)],
    cancel: Option<&AtomicBool>,
) -> Option<Result<Vec<Vec<u8>>, ImageHashError>> {
    debug_assert_eq!(rgb.len(), width * height * 3);
    let mut plans = Vec::with_capacity(sizes.len());
    for &(out_width, out_height) in sizes {
        let order = pillow_pass_order((width, height), (out_width, out_height));
        if order != PassOrder::HorizontalFirst || out_width == width {
            return None;
        }
        let vertical = (out_height != height).then(|| AxisCoefficients::cached(height, out_height));
        let rows = vertical.as_ref().map_or(0..height, |v| v.input_range());
        plans.push(StreamedResize {
            horizontal: AxisCoefficients::cached(width, out_width),
            tmp: vec![0u8; out_width * rows.len()],
            vertical,
            rows,
            out_width,
            out_height,
        });
    }
    if !stream_rows(level, rgb, width, &mut plans, cancel) {
        return Some(Err(ImageHashError::Cancelled));
    }
    Some(Ok(plans
        .into_iter()
        .map(|p| match &p.vertical {
            Some(v) => {
                vertical_pass(&p.tmp, p.out_width, 0..p.out_width, v, p.rows.start, p.out_height)
            }
            None => p.tmp,
        })
        .collect()))
}

/// Resizes a `width` x `height` single-channel 8-bit image to `out_width` x `out_height`
/// exactly as Pillow's `Image.resize((out_width, out_height), Image.Resampling.LANCZOS)`
/// does for mode "L", with the given pass order. All sizes must be non-zero and
/// `pixels.len() == width * height`.
pub(crate) fn resize_lanczos_ordered(
    pixels: &[u8],
    (width, height): (usize, usize),
    (out_width, out_height): (usize, usize),
    order: PassOrder,
) -> Vec<u8> {
    debug_assert_eq!(pixels.len(), width * height);
    if width == out_width && height == out_height {
        // Pillow returns a copy without resampling.
        return pixels.to_vec();
    }
    let need_horizontal = width != out_width;
    let need_vertical = height != out_height;
    let horizontal = AxisCoefficients::cached(width, out_width);
    let vertical = AxisCoefficients::cached(height, out_height);
    match order {
        PassOrder::HorizontalFirst => {
            // The first pass only produces the rows the second one reads.
            let rows = if need_vertical { vertical.input_range() } else { 0..height };
            let (tmp, tmp_width, row_offset) = if need_horizontal {
                let tmp = horizontal_pass(pixels, width, rows.clone(), &horizontal, 0, out_width);
                (tmp, out_width, rows.start)
            } else {
                (pixels.to_vec(), width, 0)
            };
            if !need_vertical {
                return tmp;
            }
            vertical_pass(&tmp, tmp_width, 0..tmp_width, &vertical, row_offset, out_height)
        }
        PassOrder::VerticalFirst => {
            let cols = if need_horizontal { horizontal.input_range() } else { 0..width };
            let (tmp, tmp_width, col_offset) = if need_vertical {
                let tmp = vertical_pass(pixels, width, cols.clone(), &vertical, 0, out_height);
                (tmp, cols.len(), cols.start)
            } else {
                (pixels.to_vec(), width, 0)
            };
            if !need_horizontal {
                return tmp;
            }
            horizontal_pass(&tmp, tmp_width, 0..out_height, &horizontal, col_offset, out_width)
        }
    }
}

/// Pillow 13's pass order (`ImagingResampleInner`): vertical first when the height loses
/// more than twice as many pixels as the width, horizontal first otherwise. Pillow 12 and
/// earlier always ran horizontal first, so for such tall images `imagehash` values made with
/// an older Pillow can differ in a few near-tie bits.
pub(crate) fn pillow_pass_order(
    (width, height): (usize, usize),
    (out_width, out_height): (usize, usize),
) -> PassOrder {
    let height_loss = height as i64 - out_height as i64;
    let width_loss = width as i64 - out_width as i64;
    if height_loss > 0 && height_loss > width_loss * 2 {
        PassOrder::VerticalFirst
    } else {
        PassOrder::HorizontalFirst
    }
}

/// [`resize_lanczos_ordered`] with Pillow 13's pass order.
pub(crate) fn resize_lanczos(
    pixels: &[u8],
    width: usize,
    height: usize,
    out_width: usize,
    out_height: usize,
) -> Vec<u8> {
    let (src, dst) = ((width, height), (out_width, out_height));
    resize_lanczos_ordered(pixels, src, dst, pillow_pass_order(src, dst))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_sum_to_about_one_in_fixed_point() {
        for (i, o) in [(1000, 32), (32, 32), (5, 32), (4000, 9), (7, 3)] {
            let c = AxisCoefficients::lanczos(i, o);
            for x in 0..o {
                let (_, w) = c.window(x);
                let sum: i64 = w.iter().map(|&v| i64::from(v)).sum();
                assert!((sum - (1 << PRECISION_BITS)).abs() < 64, "{i}->{o} at {x}: {sum}");
            }
        }
    }

    #[test]
    fn flat_image_stays_flat() {
        let img = vec![77u8; 123 * 45];
        assert!(resize_lanczos(&img, 123, 45, 32, 32).iter().all(|&p| p == 77));
        assert!(resize_lanczos(&img, 123, 45, 300, 7).iter().all(|&p| p == 77));
    }

    fn noise(len: usize, seed: u32) -> Vec<u8> {
        let mut state = seed | 1;
        (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                (state >> 24) as u8
            })
            .collect()
    }

    #[test]
    fn every_simd_level_computes_the_portable_bytes() {
        let (w, h) = (301, 203);
        let rgb = noise(w * h * 3, 7);
        let mut luma = vec![0u8; w * h];
        rgb_row_to_luma(&rgb, &mut luma);
        assert_eq!(rgb_to_luma(&rgb), luma);
        for level in SimdLevel::available() {
            for (ow, oh) in [(32, 32), (9, 8), (400, 7), (1, 250), (301, 203)] {
                let (hc, vc) = (AxisCoefficients::lanczos(w, ow), AxisCoefficients::lanczos(h, oh));
                assert_eq!(
                    horizontal_pass_at(level, &luma, w, 0..h, &hc, 0, ow),
                    horizontal_pass_generic(&luma, w, 0..h, &hc, 0, ow),
                    "{level:?} {ow}"
                );
                assert_eq!(
                    vertical_pass(&luma, w, 0..w, &vc, 0, oh),
                    vertical_pass_generic(&luma, w, 0..w, &vc, 0, oh)
                );
            }
        }
    }

    /// Random sizes (down and up, wide and narrow, window edges at the buffer's end) and
    /// random pixels: every SIMD level gives the portable bytes, streamed or not.
    #[test]
    fn simd_levels_equal_portable_on_random_sizes() {
        let mut state = 0x2545_f491u32;
        let mut next = |n: u32| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state % n
        };
        let sizes = [(32, 32), (9, 8), (8, 8)];
        for case in 0..300 {
            let w = 1 + next(if case % 3 == 0 { 2000 } else { 300 }) as usize;
            let h = 1 + next(200) as usize;
            let ow = 1 + next(80) as usize;
            let rgb = noise(w * h * 3, case + 1);
            let mut luma = vec![0u8; w * h];
            rgb_row_to_luma(&rgb, &mut luma);
            let hc = AxisCoefficients::lanczos(w, ow);
            let want = horizontal_pass_generic(&luma, w, 0..h, &hc, 0, ow);
            let want_streamed =
                stream_rgb_resizes_at(SimdLevel::Portable, &rgb, (w, h), &sizes, None);
            for level in SimdLevel::available() {
                let mut got = vec![0u8; w * h];
                simd::rgb_row_to_luma(&rgb, &mut got, level);
                assert_eq!(got, luma, "{level:?} luma {w}x{h}");
                let got = horizontal_pass_at(level, &luma, w, 0..h, &hc, 0, ow);
                assert_eq!(got, want, "{level:?} {w}x{h} -> {ow}");
                let streamed = stream_rgb_resizes_at(level, &rgb, (w, h), &sizes, None);
                assert_eq!(
                    streamed.map(|r| r.unwrap()),
                    want_streamed.clone().map(|r| r.unwrap()),
                    "{level:?} streamed {w}x{h}"
                );
            }
        }
    }

    /// The SIMD greyscale equals Pillow's formula for all 2^24 colours.
    #[test]
    fn simd_luma_all_colours() {
        let rgb: Vec<u8> =
            (0..1u32 << 24).flat_map(|c| [(c >> 16) as u8, (c >> 8) as u8, c as u8]).collect();
        let mut want = vec![0u8; 1 << 24];
        rgb_row_to_luma(&rgb, &mut want);
        for level in SimdLevel::available() {
            let mut got = vec![0u8; 1 << 24];
            simd::rgb_row_to_luma(&rgb, &mut got, level);
            assert!(got == want, "{level:?}");
        }
    }

    #[test]
    fn streaming_equals_separate_resizes() {
        let sizes = [(32, 32), (9, 8), (8, 8), (5, 203)];
        for (w, h) in [(301, 203), (40, 33), (60, 40), (1000, 3)] {
            let rgb = noise(w * h * 3, (w * h) as u32);
            let luma = rgb_to_luma(&rgb);
            let streamed =
                stream_rgb_resizes(&rgb, (w, h), &sizes, None).expect("horizontal-first").unwrap();
            for (&(ow, oh), got) in sizes.iter().zip(&streamed) {
                assert_eq!(got, &resize_lanczos(&luma, w, h, ow, oh), "{w}x{h} -> {ow}x{oh}");
            }
        }
        // Tall images need the vertical-first order, which the streaming path declines.
        let rgb = noise(20 * 300 * 3, 3);
        assert!(stream_rgb_resizes(&rgb, (20, 300), &[(32, 32)], None).is_none());
        // So do sizes without a horizontal pass.
        assert!(stream_rgb_resizes(&rgb, (20, 300), &[(20, 400)], None).is_none());
    }

    #[test]
    fn pass_order_follows_pillow_13() {
        use PassOrder::*;
        assert_eq!(pillow_pass_order((4000, 3000), (32, 32)), HorizontalFirst);
        assert_eq!(pillow_pass_order((100, 300), (32, 32)), VerticalFirst);
        // Height loss must exceed twice the width loss: 268 > 2 * 134 is false.
        assert_eq!(pillow_pass_order((166, 300), (32, 32)), HorizontalFirst);
        assert_eq!(pillow_pass_order((165, 300), (32, 32)), VerticalFirst);
        // Upscaling height never goes vertical first.
        assert_eq!(pillow_pass_order((8, 8), (1, 32)), HorizontalFirst);
    }

    #[test]
    fn same_size_is_identity() {
        let img: Vec<u8> = (0..=255).collect();
        assert_eq!(resize_lanczos(&img, 16, 16, 16, 16), img);
    }
}
