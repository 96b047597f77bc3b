//! Luma and the Jarosz downsampling of PDQ (two rounds of box filters along rows then columns,
//! then point decimation to 64x64), bit for bit as the C++ `downscaling.cpp`, but streamed.
//!
//! The C++ filters two full-size float buffers in four sweeps. Here every row flows through
//! the four passes as soon as its inputs exist, so the working set is a few rows plus a
//! window-high ring (it stays in cache, and a 12-MP photo needs well under 1 MB instead of
//! 2 x 48 MB). Each output value is still produced by exactly the float operations of the C++
//! `box1DFloat` in the same order: a running float32 sum that adds the entering sample before
//! subtracting the leaving one, divided by the count of samples in the window. Only values that
//! the decimation reads are divided out in the last two passes.

use std::sync::atomic::{AtomicBool, Ordering};

use super::PdqError;

/// Source rows filtered between two looks at the cancel flag (a 16000-px-wide image:
/// well under a millisecond of work).
const ROWS_PER_CANCEL_CHECK: usize = 64;

/// C++ `static const float luma_from_R_coeff = 0.299;`: the double literal rounded to float.
const LUMA_R: f32 = 0.299_f64 as f32;
const LUMA_G: f32 = 0.587_f64 as f32;
const LUMA_B: f32 = 0.114_f64 as f32;

/// Rows processed together in the row passes: their running sums are independent, so the CPU
/// overlaps them instead of waiting on one long add/subtract chain.
const BATCH: usize = 4;

/// Pixels converted per block in the luma pass (its float scratch stays in L1).
const LUMA_BLOCK: usize = 128;

/// The C++ float32 luma: products then sums, left to right, no gamma.
#[inline(always)]
fn luma(r: u8, g: u8, b: u8) -> f32 {
    LUMA_R * f32::from(r) + LUMA_G * f32::from(g) + LUMA_B * f32::from(b)
}

/// `computeJaroszFilterWindowSize(old, 64)`: ceil(old / 128).
pub(crate) fn jarosz_window(dimension: usize) -> usize {
    dimension.div_ceil(128)
}

/// Input rows of decimateFloat for each of the 64 outputs: `(int)(((i + 0.5) * n) / 64)` in
/// double, which is exact and equals the integer `((2i + 1) * n) / 128`.
fn decimation_indices(n: usize) -> [usize; 64] {
    // In u64 so that 32-bit targets cannot overflow on very tall or wide images.
    std::array::from_fn(|i| ((2 * i as u64 + 1) * n as u64 / 128) as usize)
}

/// A zero-filled float buffer, reported as an error rather than an abort when memory is short.
fn zeroed(len: usize) -> Result<Vec<f32>, PdqError> {
    let mut v = Vec::new();
    v.try_reserve_exact(len).map_err(|_| PdqError::OutOfMemory {
        bytes: len.saturating_mul(std::mem::size_of::<f32>()),
    })?;
    v.resize(len, 0.0);
    Ok(v)
}

/// Where luma rows come from: the RGB8 image itself, or (C++ CLI convention) its
/// nearest-neighbour resize, sampled on the fly since luma is per pixel.
pub(crate) struct LumaSource<'a> {
    rgb: &'a [u8],
    /// Luma given by the caller (C++ `pdqHash256FromFloatLuma`'s input), row-major; when
    /// set, `rgb` is empty and rows are copied from here.
    floats: Option<&'a [f32]>,
    source_width: usize,
    /// Hashed dimensions.
    pub(crate) width: usize,
    pub(crate) height: usize,
    /// Source row and column of each hashed row and column, when resized.
    resize: Option<(Vec<usize>, Vec<usize>)>,
}

impl<'a> LumaSource<'a> {
    /// `rgb` must hold `width * height * 3` bytes (checked by the caller).
    pub(crate) fn full(rgb: &'a [u8], width: usize, height: usize) -> Self {
        LumaSource { rgb, floats: None, source_width: width, width, height, resize: None }
    }

    /// Luma computed by the caller: `luma` must hold `width * height` floats (checked by the
    /// caller).
    pub(crate) fn luma(luma: &'a [f32], width: usize, height: usize) -> Self {
        LumaSource {
            rgb: &[],
            floats: Some(luma),
            source_width: width,
            width,
            height,
            resize: None,
        }
    }

    /// CImg `resize(new_w, new_h)` with its default nearest-neighbour interpolation: output
    /// index x reads source index floor(x * old / new) (CImg computes it in double; exact here).
    pub(crate) fn resized(
        rgb: &'a [u8],
        width: usize,
        height: usize,
        new_width: usize,
        new_height: usize,
    ) -> Self {
        let map = |old: usize, new: usize| -> Vec<usize> {
            (0..new).map(|x| ((x as u128 * old as u128) / new as u128) as usize).collect()
        };
        LumaSource {
            rgb,
            floats: None,
            source_width: width,
            width: new_width,
            height: new_height,
            resize: Some((map(height, new_height), map(width, new_width))),
        }
    }

    #[inline(always)]
    fn fill_row(&self, y: usize, out: &mut [f32]) {
        if let Some(floats) = self.floats {
            out.copy_from_slice(&floats[y * self.width..][..self.width]);
            return;
        }
        let row_bytes = self.source_width * 3;
        match &self.resize {
            None => {
                let row = &self.rgb[y * row_bytes..][..row_bytes];
                // Two simple passes per block vectorise far better than one with a stride-3
                // byte gather: bytes to floats (exact), then the float32 formula on the floats.
                let mut floats = [0.0f32; 3 * LUMA_BLOCK];
                for (o, p) in out.chunks_mut(LUMA_BLOCK).zip(row.chunks(3 * LUMA_BLOCK)) {
                    let f = &mut floats[..p.len()];
                    for (f, &b) in f.iter_mut().zip(p) {
                        *f = f32::from(b);
                    }
                    for (o, p) in o.iter_mut().zip(f.chunks_exact(3)) {
                        *o = LUMA_R * p[0] + LUMA_G * p[1] + LUMA_B * p[2];
                    }
                }
            }
            Some((rows, cols)) => {
                let row = &self.rgb[rows[y] * row_bytes..][..row_bytes];
                for (o, &x) in out.iter_mut().zip(cols) {
                    let p = &row[x * 3..][..3];
                    *o = luma(p[0], p[1], p[2]);
                }
            }
        }
    }
}

/// Luma rows straight into the 64x64 block: the C++ `pdqFloat256FromFloatLuma` shortcut for
/// an input that is already 64x64 (no filtering at all).
pub(crate) fn copy_64x64(src: &LumaSource<'_>, out: &mut [[f32; 64]; 64]) {
    for (y, row) in out.iter_mut().enumerate() {
        src.fill_row(y, row);
    }
}

/// Number of samples in the clipped window of output `i` of `box1DFloat` (length `n`,
/// window `w`): the C++ `current_window_size` at the moment it writes output `i`.
#[inline(always)]
fn window_count(i: usize, n: usize, w: usize) -> usize {
    let half = (w + 2) / 2;
    let last = (i + half - 1).min(n - 1);
    let first = i.saturating_sub(w - half);
    last - first + 1
}

/// The running sums of `box1DFloat` along `K` rows at once (rows of length `n`, stored one
/// after another in `input` and `sums`): `sums[i]` is the value the C++ divides by
/// `window_count(i)` to produce output `i`. Phases as in the C++: accumulate, write while the
/// window grows, add-then-subtract, shrink.
// Indexing by (row, position) is the point here: K independent chains advance in lockstep.
#[allow(clippy::needless_range_loop)]
#[inline(always)]
fn row_sums<const K: usize>(input: &[f32], sums: &mut [f32], n: usize, w: usize) {
    let half = (w + 2) / 2;
    let rows: [&[f32]; K] = std::array::from_fn(|k| &input[k * n..][..n]);
    let outs: [&mut [f32]; K] = {
        let mut chunks = sums.chunks_exact_mut(n);
        std::array::from_fn(|_| chunks.next().unwrap_or_default())
    };
    let mut acc = [0.0f32; K];
    for ri in 0..half - 1 {
        for k in 0..K {
            acc[k] += rows[k][ri];
        }
    }
    for ri in half - 1..w {
        for k in 0..K {
            acc[k] += rows[k][ri];
            outs[k][ri + 1 - half] = acc[k];
        }
    }
    // The long full-window phase, on pre-cut slices of equal length so the hot loop carries
    // no bounds checks: entering samples, leaving samples, destinations.
    let steps = n - w;
    let entering: [&[f32]; K] = std::array::from_fn(|k| &rows[k][w..][..steps]);
    let leaving: [&[f32]; K] = std::array::from_fn(|k| &rows[k][..steps]);
    let dests: [&mut [f32]; K] = {
        let mut outs = outs.into_iter();
        std::array::from_fn(|_| {
            outs.next().map(|o| &mut o[w + 1 - half..][..steps]).unwrap_or_default()
        })
    };
    for t in 0..steps {
        for k in 0..K {
            acc[k] += entering[k][t];
            acc[k] -= leaving[k][t];
            dests[k][t] = acc[k];
        }
    }
    let outs: [&mut [f32]; K] = {
        let mut chunks = sums.chunks_exact_mut(n);
        std::array::from_fn(|_| chunks.next().unwrap_or_default())
    };
    for li in n - w..n - w + half - 1 {
        for k in 0..K {
            acc[k] -= rows[k][li];
            outs[k][li + w + 1 - half] = acc[k];
        }
    }
}

/// `row_sums` over the first `rows` rows of the buffers, in groups of `BATCH`.
#[inline(always)]
fn row_sums_any(input: &[f32], sums: &mut [f32], rows: usize, n: usize, w: usize) {
    let mut r = 0;
    while r + BATCH <= rows {
        row_sums::<BATCH>(&input[r * n..], &mut sums[r * n..], n, w);
        r += BATCH;
    }
    while r < rows {
        row_sums::<1>(&input[r * n..], &mut sums[r * n..], n, w);
        r += 1;
    }
}

/// Divides a row of running sums by the window counts, giving `box1DFloat`'s outputs.
#[inline(always)]
fn divide_row(row: &mut [f32], w: usize) {
    let n = row.len();
    let half = (w + 2) / 2;
    let grow_end = w - half + 1; // outputs written while the window grows
    let full_end = n - half + 1; // then full windows, then the shrinking tail
    for (i, x) in row[..grow_end].iter_mut().enumerate() {
        *x /= (i + half) as f32;
    }
    let full = w as f32;
    for x in &mut row[grow_end..full_end] {
        *x /= full;
    }
    for (i, x) in row[full_end..].iter_mut().enumerate() {
        *x /= (w - 1 - i) as f32;
    }
}

/// `box1DFloat` down the columns of a stream of rows, all columns at once (so memory is read
/// row by row): each lane is one column's running sum, and a ring keeps the last `window`
/// rows for the subtractions.
struct ColumnBox {
    lanes: usize,
    length: usize,
    window: usize,
    half: usize,
    sum: Vec<f32>,
    ring: Vec<f32>,
    pushed: usize,
    shrunk: usize,
}

impl ColumnBox {
    fn new(lanes: usize, length: usize, window: usize) -> Result<Self, PdqError> {
        Ok(ColumnBox {
            lanes,
            length,
            window,
            half: (window + 2) / 2,
            sum: zeroed(lanes)?,
            ring: zeroed(lanes.saturating_mul(window))?,
            pushed: 0,
            shrunk: 0,
        })
    }

    /// Feeds the next row; returns `(output index, window count)` when that makes an output
    /// row available in `self.sum` (to be divided by the count).
    #[inline(always)]
    fn push(&mut self, row: &[f32]) -> Option<(usize, usize)> {
        let ri = self.pushed;
        self.pushed += 1;
        let slot = &mut self.ring[(ri % self.window) * self.lanes..][..self.lanes];
        if ri < self.window {
            for ((s, r), &x) in self.sum.iter_mut().zip(slot.iter_mut()).zip(row) {
                *s += x;
                *r = x;
            }
            (ri + 1 >= self.half).then(|| (ri + 1 - self.half, ri + 1))
        } else {
            for ((s, r), &x) in self.sum.iter_mut().zip(slot.iter_mut()).zip(row) {
                // Add the entering row first, then subtract the one leaving (C++ order).
                *s += x;
                *s -= *r;
                *r = x;
            }
            Some((ri + 1 - self.half, self.window))
        }
    }

    /// After all rows are in: the next shrinking-window output, as for `push`.
    #[inline(always)]
    fn pop_tail(&mut self) -> Option<(usize, usize)> {
        debug_assert_eq!(self.pushed, self.length);
        let t = self.shrunk;
        if t + 1 >= self.half {
            return None;
        }
        self.shrunk += 1;
        let li = self.length - self.window + t;
        let slot = &self.ring[(li % self.window) * self.lanes..][..self.lanes];
        for (s, &r) in self.sum.iter_mut().zip(slot) {
            *s -= r;
        }
        Some((li + self.window + 1 - self.half, self.window - 1 - t))
    }
}

/// The four streamed passes and the decimation.
struct Downsampler {
    width: usize,
    window_along_rows: usize,
    cols64: [usize; 64],
    rows64: [usize; 64],
    /// Pass 1 (rows) output for the current batch of luma rows.
    pass1: Vec<f32>,
    /// Pass 2 (columns), over whole rows.
    columns: ColumnBox,
    /// Pass 2 output rows waiting for pass 3, and pass 3's running sums.
    pass2: Vec<f32>,
    pass2_rows: usize,
    pass3_sums: Vec<f32>,
    /// Pass 4 (columns) over the 64 decimated columns only.
    columns64: ColumnBox,
    next_out_row: usize,
}

impl Downsampler {
    fn new(width: usize, height: usize) -> Result<Self, PdqError> {
        let window_along_cols = jarosz_window(height);
        let batch_len = width.saturating_mul(BATCH);
        Ok(Downsampler {
            width,
            window_along_rows: jarosz_window(width),
            cols64: decimation_indices(width),
            rows64: decimation_indices(height),
            pass1: zeroed(batch_len)?,
            columns: ColumnBox::new(width, height, window_along_cols)?,
            pass2: zeroed(batch_len)?,
            pass2_rows: 0,
            pass3_sums: zeroed(batch_len)?,
            columns64: ColumnBox::new(64, height, window_along_cols)?,
            next_out_row: 0,
        })
    }

    /// Passes 1 and 2 for `rows` luma rows.
    #[inline(always)]
    fn push_luma(&mut self, luma: &[f32], rows: usize, out: &mut [[f32; 64]; 64]) {
        let n = self.width;
        row_sums_any(luma, &mut self.pass1, rows, n, self.window_along_rows);
        for r in 0..rows {
            let row = &mut self.pass1[r * n..][..n];
            divide_row(row, self.window_along_rows);
            if let Some((_, count)) = self.columns.push(row) {
                self.take_pass2_row(count, out);
            }
        }
    }

    #[inline(always)]
    fn finish(&mut self, out: &mut [[f32; 64]; 64]) {
        while let Some((_, count)) = self.columns.pop_tail() {
            self.take_pass2_row(count, out);
        }
        self.flush_pass3(out);
        while let Some((oi, count)) = self.columns64.pop_tail() {
            self.emit(oi, count, out);
        }
    }

    #[inline(always)]
    fn take_pass2_row(&mut self, count: usize, out: &mut [[f32; 64]; 64]) {
        let n = self.width;
        let dst = &mut self.pass2[self.pass2_rows * n..][..n];
        let count = count as f32;
        for (d, &s) in dst.iter_mut().zip(&self.columns.sum) {
            *d = s / count;
        }
        self.pass2_rows += 1;
        if self.pass2_rows == BATCH {
            self.flush_pass3(out);
        }
    }

    /// Pass 3 (rows) on the waiting pass-2 rows; only the 64 decimated columns are divided
    /// out, then each row goes into pass 4.
    #[inline(always)]
    fn flush_pass3(&mut self, out: &mut [[f32; 64]; 64]) {
        let (n, w) = (self.width, self.window_along_rows);
        let rows = self.pass2_rows;
        row_sums_any(&self.pass2, &mut self.pass3_sums, rows, n, w);
        self.pass2_rows = 0;
        for r in 0..rows {
            let sums = &self.pass3_sums[r * n..][..n];
            let row64: [f32; 64] = std::array::from_fn(|j| {
                sums[self.cols64[j]] / window_count(self.cols64[j], n, w) as f32
            });
            if let Some((oi, count)) = self.columns64.push(&row64) {
                self.emit(oi, count, out);
            }
        }
    }

    /// Pass 4 produced output row `oi`: keep it if the decimation samples it (possibly for
    /// several output rows when the image is under 64 high).
    #[inline(always)]
    fn emit(&mut self, oi: usize, count: usize, out: &mut [[f32; 64]; 64]) {
        let count = count as f32;
        while self.next_out_row < 64 && self.rows64[self.next_out_row] == oi {
            for (o, &s) in out[self.next_out_row].iter_mut().zip(&self.columns64.sum) {
                *o = s / count;
            }
            self.next_out_row += 1;
        }
    }
}

/// Luma, `jaroszFilterFloat` with 2 rounds, and `decimateFloat` to 64x64.
/// The source must be at least 1x1 (the caller handles images under 5 px before this).
///
/// On x86-64 CPUs with AVX2 the same code is compiled a second time for AVX2 and chosen at run
/// time: wider vectors run more independent lanes per instruction (the divisions dominate),
/// while every lane still performs the identical IEEE-754 float32 operations in the identical
/// order, so the result is bit-identical. FMA is not enabled, and Rust never contracts a
/// multiply and an add into one on its own.
///
/// Fails with [`PdqError::Cancelled`] once `cancel` is seen set (every 64 source rows).
pub(crate) fn downsample(
    src: &LumaSource<'_>,
    out: &mut [[f32; 64]; 64],
    cancel: Option<&AtomicBool>,
) -> Result<(), PdqError> {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: `downsample_avx2` only requires AVX2, which the CPU was just checked to have.
        return unsafe { downsample_avx2(src, out, cancel) };
    }
    downsample_portable(src, out, cancel)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn downsample_avx2(
    src: &LumaSource<'_>,
    out: &mut [[f32; 64]; 64],
    cancel: Option<&AtomicBool>,
) -> Result<(), PdqError> {
    downsample_portable(src, out, cancel)
}

/// The pipeline itself, for any instruction set (everything it calls is inlined into it, so
/// the AVX2 copy is AVX2 throughout).
#[inline(always)]
fn downsample_portable(
    src: &LumaSource<'_>,
    out: &mut [[f32; 64]; 64],
    cancel: Option<&AtomicBool>,
) -> Result<(), PdqError> {
    let (width, height) = (src.width, src.height);
    let mut stage = Downsampler::new(width, height)?;
    let mut luma = zeroed(width.saturating_mul(BATCH))?;
    let mut y = 0;
    while y < height {
        if y.is_multiple_of(ROWS_PER_CANCEL_CHECK)
            && cancel.is_some_and(|c| c.load(Ordering::Relaxed))
        {
            return Err(PdqError::Cancelled);
        }
        let rows = BATCH.min(height - y);
        for r in 0..rows {
            src.fill_row(y + r, &mut luma[r * width..][..width]);
        }
        stage.push_luma(&luma, rows, out);
        y += rows;
    }
    stage.finish(out);
    debug_assert_eq!(stage.next_out_row, 64);
    Ok(())
}

#[cfg(test)]
#[allow(clippy::needless_range_loop)] // the oracle mirrors the C++ index arithmetic
mod tests {
    use super::*;

    /// The C++ `box1DFloat`, transcribed literally with a stride, as the oracle.
    fn box1d_reference(input: &[f32], output: &mut [f32], n: usize, stride: usize, w: usize) {
        let half = (w + 2) / 2;
        let (p1, p2, p3, p4) = (half - 1, w - half + 1, n - w, half - 1);
        let (mut li, mut ri, mut oi) = (0, 0, 0);
        let mut sum = 0.0f32;
        let mut count = 0;
        for _ in 0..p1 {
            sum += input[ri];
            count += 1;
            ri += stride;
        }
        for _ in 0..p2 {
            sum += input[ri];
            count += 1;
            output[oi] = sum / count as f32;
            ri += stride;
            oi += stride;
        }
        for _ in 0..p3 {
            sum += input[ri];
            sum -= input[li];
            output[oi] = sum / count as f32;
            li += stride;
            ri += stride;
            oi += stride;
        }
        for _ in 0..p4 {
            sum -= input[li];
            count -= 1;
            output[oi] = sum / count as f32;
            li += stride;
            oi += stride;
        }
    }

    /// The C++ pipeline on full buffers: two rounds of rows then columns, then decimation.
    fn reference_downsample(luma: &[f32], w: usize, h: usize) -> [[f32; 64]; 64] {
        let mut a = luma.to_vec();
        let mut b = vec![0.0f32; w * h];
        let (wr, wc) = (jarosz_window(w), jarosz_window(h));
        for _ in 0..2 {
            for i in 0..h {
                box1d_reference(&a[i * w..], &mut b[i * w..], w, 1, wr);
            }
            for j in 0..w {
                box1d_reference(&b[j..], &mut a[j..], h, w, wc);
            }
        }
        let mut out = [[0.0f32; 64]; 64];
        for (i, row) in out.iter_mut().enumerate() {
            let ini = ((i as f64 + 0.5) * h as f64 / 64.0) as usize;
            for (j, x) in row.iter_mut().enumerate() {
                let inj = ((j as f64 + 0.5) * w as f64 / 64.0) as usize;
                *x = a[ini * w + inj];
            }
        }
        out
    }

    fn noisy_rgb(w: usize, h: usize, seed: u32) -> Vec<u8> {
        let mut s = seed;
        (0..w * h * 3)
            .map(|i| {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                // Mostly smooth with noise, so sums are not all exact.
                ((i / 3 % w) as u32 + (s >> 28)) as u8
            })
            .collect()
    }

    #[test]
    fn streamed_filter_equals_cpp_order_bit_for_bit() {
        for &(w, h) in &[
            (1, 1),
            (5, 5),
            (7, 300),
            (63, 65),
            (64, 64),
            (129, 130),
            (257, 255),
            (300, 17),
            (513, 200),
            (1000, 31),
        ] {
            let rgb = noisy_rgb(w, h, (w * 31 + h) as u32);
            let src = LumaSource::full(&rgb, w, h);
            let mut luma = vec![0.0f32; w * h];
            for y in 0..h {
                src.fill_row(y, &mut luma[y * w..][..w]);
            }
            let expected = reference_downsample(&luma, w, h);
            let mut dispatched = [[0.0f32; 64]; 64];
            downsample(&src, &mut dispatched, None).unwrap();
            let mut portable = [[0.0f32; 64]; 64];
            downsample_portable(&src, &mut portable, None).unwrap();
            for got in [dispatched, portable] {
                for i in 0..64 {
                    for j in 0..64 {
                        assert_eq!(
                            got[i][j].to_bits(),
                            expected[i][j].to_bits(),
                            "{w}x{h} at ({i},{j})"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn window_counts_match_the_phases() {
        for n in 1..40 {
            for w in 1..=n {
                let input = vec![1.0f32; n];
                let mut output = vec![0.0f32; n];
                box1d_reference(&input, &mut output, n, 1, w);
                // With all-ones input every output is count/count = 1 unless counts are off;
                // compare the counts through sums of ones instead.
                let mut sums = vec![0.0f32; n];
                row_sums::<1>(&input, &mut sums, n, w);
                for i in 0..n {
                    assert_eq!(sums[i], window_count(i, n, w) as f32, "n={n} w={w} i={i}");
                }
                let mut divided = sums.clone();
                divide_row(&mut divided, w);
                assert_eq!(divided, output);
            }
        }
    }

    #[test]
    fn luma_coefficients_are_the_rounded_doubles() {
        assert_eq!(LUMA_R, 0.299f32);
        assert_eq!(LUMA_G, 0.587f32);
        assert_eq!(LUMA_B, 0.114f32);
    }

    #[test]
    fn decimation_matches_the_double_formula() {
        for n in 1..2000 {
            let idx = decimation_indices(n);
            for (i, &x) in idx.iter().enumerate() {
                assert_eq!(x, ((i as f64 + 0.5) * n as f64 / 64.0) as usize);
            }
        }
    }
}
