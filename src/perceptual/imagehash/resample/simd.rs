//! SIMD kernels for the greyscale conversion and the horizontal Lanczos pass, giving exactly
//! the integers of the portable code in the parent module (which stays the reference).
//!
//! The horizontal pass is a dot product of `u8` pixels with 22-bit fixed-point weights in
//! `i32`. Pillow's sums never leave `i32`, so any exact integer method gives its bytes:
//!
//! * AVX2: each weight split as `w = hi * 2^11 + lo` (`lo` in 0..2048, both fit `i16`);
//!   `vpmaddwd` multiplies 16 pixels by `hi` and by `lo`, and the sum is `(Σ hi) << 11 + Σ lo`
//!   in wrapping `i32`: exact, because the true sum fits in `i32`.
//! * AVX-512 VNNI: each weight split into three signed base-256 digits
//!   (`w = d0 + 2^8 d1 + 2^16 d2`, each in -128..=127); `vpdpbusd` multiplies 64 pixels by
//!   one digit and adds in `i32`; the sum is `Σ d0 + (Σ d1 << 8) + (Σ d2 << 16)`, exact by
//!   the same argument.
//!
//! Windows are zero-padded to whole chunks (16 or 64 taps), so a kernel may read up to 63
//! bytes past a window's end; an output whose padded window would run past the end of the
//! readable bytes is computed by the portable code.

use super::{AxisCoefficients, ROUND_HALF, clip8, dot};
use crate::cpu::SimdLevel;

/// Bytes a row buffer needs past its last pixel so that no SIMD window falls back.
pub(super) const ROW_PADDING: usize = 64;

/// Fixed-point weights of one axis, laid out for one SIMD level.
pub(super) enum HorizontalKernel {
    /// The parent module's portable loop.
    Portable,
    /// 16-tap chunks of `[hi; 16][lo; 16]` as `i16`.
    #[cfg(target_arch = "x86_64")]
    Avx2(Chunked<i16>),
    /// 64-tap chunks of `[d0; 64][d1; 64][d2; 64]` as `i8`.
    #[cfg(all(target_arch = "x86_64", feature = "avx512"))]
    Vnni(Chunked<i8>),
}

/// Per output: window start, number of chunks and where its chunks begin in `data`.
pub(super) struct Chunked<T> {
    starts: Vec<usize>,
    chunks: Vec<usize>,
    offsets: Vec<usize>,
    data: Vec<T>,
}

/// Taps per chunk and elements of `data` per chunk for each layout.
const AVX2_TAPS: usize = 16;
const VNNI_TAPS: usize = 64;

/// Splits `w` into `(hi, lo)` with `w = hi * 2^11 + lo`, `lo` in 0..2048; `None` when `hi`
/// does not fit `i16` (never for normalised weights, which stay below 2^23).
fn split_i16(w: i32) -> Option<(i16, i16)> {
    let lo = w & 0x7ff;
    let hi = i16::try_from(w >> 11).ok()?;
    Some((hi, lo as i16))
}

/// Splits `w` into three signed base-256 digits, low first; `None` when `|w|` is too large.
fn split_i8(w: i32) -> Option<[i8; 3]> {
    let d0 = w as i8;
    let rest = (w - i32::from(d0)) >> 8;
    let d1 = rest as i8;
    let d2 = i8::try_from((rest - i32::from(d1)) >> 8).ok()?;
    Some([d0, d1, d2])
}

impl HorizontalKernel {
    /// The layout for `level`, or the portable loop when the level has none or a weight does
    /// not fit the split (not expected for Pillow's normalised weights).
    pub(super) fn new(coeffs: &AxisCoefficients, level: SimdLevel) -> Self {
        match level {
            SimdLevel::Portable => HorizontalKernel::Portable,
            #[cfg(all(target_arch = "x86_64", feature = "avx512"))]
            // Short windows (upscaling) would waste most of a 64-tap chunk.
            SimdLevel::Avx512 if coeffs.stride >= VNNI_TAPS / 2 => {
                chunked(coeffs, VNNI_TAPS, 3 * VNNI_TAPS, |weights, out| {
                    for (i, &w) in weights.iter().enumerate() {
                        let digits = split_i8(w)?;
                        for (plane, d) in digits.into_iter().enumerate() {
                            out[plane * VNNI_TAPS + i] = d;
                        }
                    }
                    Some(())
                })
                .map_or(HorizontalKernel::Portable, HorizontalKernel::Vnni)
            }
            #[cfg(target_arch = "x86_64")]
            _ => chunked(coeffs, AVX2_TAPS, 2 * AVX2_TAPS, |weights, out| {
                for (i, &w) in weights.iter().enumerate() {
                    let (hi, lo) = split_i16(w)?;
                    out[i] = hi;
                    out[AVX2_TAPS + i] = lo;
                }
                Some(())
            })
            .map_or(HorizontalKernel::Portable, HorizontalKernel::Avx2),
            #[cfg(not(target_arch = "x86_64"))]
            _ => HorizontalKernel::Portable,
        }
    }

    /// `R` output rows at once (the weights are loaded once for all of them): `rows[r]`
    /// holds input columns from `col_offset` on and may be longer than the image row (bytes
    /// past it are read with zero weight, never used); `outs[r]` receives its output row.
    #[inline]
    pub(super) fn rows<const R: usize>(
        &self,
        rows: [&[u8]; R],
        coeffs: &AxisCoefficients,
        col_offset: usize,
        outs: [&mut [u8]; R],
    ) {
        match self {
            HorizontalKernel::Portable => {
                for (row, out) in rows.into_iter().zip(outs) {
                    super::horizontal_row(row, coeffs, col_offset, out);
                }
            }
            #[cfg(target_arch = "x86_64")]
            // SAFETY: an Avx2 layout is only built for a level at or above Avx2, which
            // `SimdLevel` reports only when the CPU has AVX2.
            HorizontalKernel::Avx2(k) => unsafe { rows_avx2(rows, k, coeffs, col_offset, outs) },
            #[cfg(all(target_arch = "x86_64", feature = "avx512"))]
            // SAFETY: a Vnni layout is only built for SimdLevel::Avx512, which is reported
            // only when the CPU has AVX-512 F/BW/VL/VNNI.
            HorizontalKernel::Vnni(k) => unsafe { rows_vnni(rows, k, coeffs, col_offset, outs) },
        }
    }
}

/// Builds a chunked layout: `fill(window_weights, chunk_out)` writes one chunk's elements
/// for up to `taps` weights (the rest stay zero).
fn chunked<T: Copy + Default>(
    coeffs: &AxisCoefficients,
    taps: usize,
    per_chunk: usize,
    mut fill: impl FnMut(&[i32], &mut [T]) -> Option<()>,
) -> Option<Chunked<T>> {
    let outputs = coeffs.starts.len();
    let mut k = Chunked {
        starts: coeffs.starts.clone(),
        chunks: Vec::with_capacity(outputs),
        offsets: Vec::with_capacity(outputs),
        data: Vec::new(),
    };
    for x in 0..outputs {
        let (_, weights) = coeffs.window(x);
        let n = weights.len().div_ceil(taps);
        k.offsets.push(k.data.len());
        k.chunks.push(n);
        let first = k.data.len();
        k.data.resize(first + n * per_chunk, T::default());
        for (c, piece) in weights.chunks(taps).enumerate() {
            fill(piece, &mut k.data[first + c * per_chunk..][..per_chunk])?;
        }
    }
    Some(k)
}

/// Rows where a padded window would run past the readable bytes get the portable dot.
fn portable_output<const R: usize>(
    rows: &[&[u8]; R],
    outs: &mut [&mut [u8]; R],
    coeffs: &AxisCoefficients,
    x: usize,
    start: usize,
) {
    let (_, weights) = coeffs.window(x);
    for (row, out) in rows.iter().zip(outs.iter_mut()) {
        out[x] = clip8(dot(&row[start..start + weights.len()], weights));
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn rows_avx2<const R: usize>(
    rows: [&[u8]; R],
    k: &Chunked<i16>,
    coeffs: &AxisCoefficients,
    col_offset: usize,
    mut outs: [&mut [u8]; R],
) {
    use std::arch::x86_64::*;
    let readable = rows.iter().map(|r| r.len()).min().unwrap_or(0);
    for x in 0..outs[0].len() {
        let start = k.starts[x] - col_offset;
        let chunks = k.chunks[x];
        if start + chunks * AVX2_TAPS > readable {
            portable_output(&rows, &mut outs, coeffs, x, start);
            continue;
        }
        let weights = &k.data[k.offsets[x]..][..chunks * 2 * AVX2_TAPS];
        let mut hi = [_mm256_setzero_si256(); R];
        let mut lo = [_mm256_setzero_si256(); R];
        for (c, w) in weights.chunks_exact(2 * AVX2_TAPS).enumerate() {
            // SAFETY: `w` is 32 `i16` (64 bytes), checked by chunks_exact; unaligned loads.
            let (wh, wl) = unsafe {
                (
                    _mm256_loadu_si256(w.as_ptr().cast()),
                    _mm256_loadu_si256(w.as_ptr().add(AVX2_TAPS).cast()),
                )
            };
            for r in 0..R {
                let p = &rows[r][start + c * AVX2_TAPS..][..AVX2_TAPS];
                // SAFETY: `p` is 16 bytes (sliced above); unaligned load.
                let p = _mm256_cvtepu8_epi16(unsafe { _mm_loadu_si128(p.as_ptr().cast()) });
                hi[r] = _mm256_add_epi32(hi[r], _mm256_madd_epi16(p, wh));
                lo[r] = _mm256_add_epi32(lo[r], _mm256_madd_epi16(p, wl));
            }
        }
        for r in 0..R {
            let sum = _mm256_add_epi32(_mm256_slli_epi32::<11>(hi[r]), lo[r]);
            let half =
                _mm_add_epi32(_mm256_castsi256_si128(sum), _mm256_extracti128_si256::<1>(sum));
            let quad = _mm_add_epi32(half, _mm_shuffle_epi32::<0b01_00_11_10>(half));
            let pair = _mm_add_epi32(quad, _mm_shuffle_epi32::<0b10_11_00_01>(quad));
            outs[r][x] = clip8(_mm_cvtsi128_si32(pair).wrapping_add(ROUND_HALF));
        }
    }
}

#[cfg(all(target_arch = "x86_64", feature = "avx512"))]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni,avx2")]
fn rows_vnni<const R: usize>(
    rows: [&[u8]; R],
    k: &Chunked<i8>,
    coeffs: &AxisCoefficients,
    col_offset: usize,
    mut outs: [&mut [u8]; R],
) {
    use std::arch::x86_64::*;
    let readable = rows.iter().map(|r| r.len()).min().unwrap_or(0);
    for x in 0..outs[0].len() {
        let start = k.starts[x] - col_offset;
        let chunks = k.chunks[x];
        if start + chunks * VNNI_TAPS > readable {
            portable_output(&rows, &mut outs, coeffs, x, start);
            continue;
        }
        let weights = &k.data[k.offsets[x]..][..chunks * 3 * VNNI_TAPS];
        let mut acc = [[_mm512_setzero_si512(); 3]; R];
        for (c, w) in weights.chunks_exact(3 * VNNI_TAPS).enumerate() {
            // SAFETY: `w` is 192 bytes, checked by chunks_exact; unaligned loads.
            let (w0, w1, w2) = unsafe {
                (
                    _mm512_loadu_si512(w.as_ptr().cast()),
                    _mm512_loadu_si512(w.as_ptr().add(VNNI_TAPS).cast()),
                    _mm512_loadu_si512(w.as_ptr().add(2 * VNNI_TAPS).cast()),
                )
            };
            for r in 0..R {
                let p = &rows[r][start + c * VNNI_TAPS..][..VNNI_TAPS];
                // SAFETY: `p` is 64 bytes (sliced above); unaligned load.
                let p = unsafe { _mm512_loadu_si512(p.as_ptr().cast()) };
                acc[r][0] = _mm512_dpbusd_epi32(acc[r][0], p, w0);
                acc[r][1] = _mm512_dpbusd_epi32(acc[r][1], p, w1);
                acc[r][2] = _mm512_dpbusd_epi32(acc[r][2], p, w2);
            }
        }
        for r in 0..R {
            let [d0, d1, d2] = acc[r];
            let sum = _mm512_add_epi32(
                d0,
                _mm512_add_epi32(_mm512_slli_epi32::<8>(d1), _mm512_slli_epi32::<16>(d2)),
            );
            outs[r][x] = clip8(_mm512_reduce_add_epi32(sum).wrapping_add(ROUND_HALF));
        }
    }
}

/// Pillow's `convert('L')` of one row of packed RGB8 (`out.len() * 3 == rgb.len()`) at
/// `level`; equal to [`super::rgb_row_to_luma`].
#[inline]
pub(super) fn rgb_row_to_luma(rgb: &[u8], out: &mut [u8], level: SimdLevel) {
    #[cfg(target_arch = "x86_64")]
    if level >= SimdLevel::Avx2 {
        // SAFETY: SimdLevel reports Avx2 or above only when the CPU has AVX2.
        unsafe { luma_avx2(rgb, out) };
        return;
    }
    let _ = level;
    super::rgb_row_to_luma(rgb, out);
}

/// 32 pixels per step: per 128-bit lane, four pixels' bytes are spread into 16-bit pairs
/// `(R, G)` and `(B, 2)`; `vpmaddwd` with `(19595, -27066)` and `(7471, 16384)` gives
/// `19595 R - 27066 G + 7471 B + 32768`, and `L = G + (that >> 16)`: the same integer as
/// `(19595 R + 38470 G + 7471 B + 32768) >> 16`, since `38470 G = 65536 G - 27066 G`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn luma_avx2(rgb: &[u8], out: &mut [u8]) {
    use std::arch::x86_64::*;
    const Z: i8 = -1; // pshufb: zero byte
    let rg =
        _mm256_broadcastsi128_si256(_mm_setr_epi8(0, Z, 1, Z, 3, Z, 4, Z, 6, Z, 7, Z, 9, Z, 10, Z));
    let b =
        _mm256_broadcastsi128_si256(_mm_setr_epi8(2, Z, Z, Z, 5, Z, Z, Z, 8, Z, Z, Z, 11, Z, Z, Z));
    let g =
        _mm256_broadcastsi128_si256(_mm_setr_epi8(1, Z, Z, Z, 4, Z, Z, Z, 7, Z, Z, Z, 10, Z, Z, Z));
    let two = _mm256_set1_epi32(2 << 16);
    let w_rg = _mm256_set1_epi32((19595 & 0xffff) | ((-27066i32) << 16));
    let w_b = _mm256_set1_epi32(7471 | (16384 << 16));
    let order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    let eight = |p: &[u8]| {
        // SAFETY: callers pass at least 28 bytes (two 16-byte loads at 0 and 12).
        let v = unsafe { _mm256_loadu2_m128i(p.as_ptr().add(12).cast(), p.as_ptr().cast()) };
        let sum = _mm256_add_epi32(
            _mm256_madd_epi16(_mm256_shuffle_epi8(v, rg), w_rg),
            _mm256_madd_epi16(_mm256_or_si256(_mm256_shuffle_epi8(v, b), two), w_b),
        );
        _mm256_add_epi32(_mm256_shuffle_epi8(v, g), _mm256_srai_epi32::<16>(sum))
    };
    // Whole 32-pixel steps while the last 16-byte load (at byte 84 + 12) stays inside.
    let steps = if rgb.len() >= 100 { (rgb.len() - 100) / 96 + 1 } else { 0 };
    let steps = steps.min(out.len() / 32);
    for s in 0..steps {
        let p = &rgb[s * 96..];
        let (v0, v1, v2, v3) = (eight(p), eight(&p[24..]), eight(&p[48..]), eight(&p[72..]));
        let words01 = _mm256_packs_epi32(v0, v1);
        let words23 = _mm256_packs_epi32(v2, v3);
        let bytes = _mm256_permutevar8x32_epi32(_mm256_packus_epi16(words01, words23), order);
        let dst = &mut out[s * 32..s * 32 + 32];
        // SAFETY: `dst` is exactly 32 bytes; unaligned store.
        unsafe { _mm256_storeu_si256(dst.as_mut_ptr().cast(), bytes) };
    }
    let done = steps * 32;
    super::rgb_row_to_luma(&rgb[done * 3..], &mut out[done..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_are_exact() {
        for w in [-(1 << 22), -123_456, -1, 0, 1, 2047, 2048, 4_194_304, 5_000_000] {
            let (hi, lo) = split_i16(w).unwrap();
            assert_eq!(i32::from(hi) * 2048 + i32::from(lo), w);
            let [d0, d1, d2] = split_i8(w).unwrap();
            assert_eq!(i32::from(d0) + 256 * i32::from(d1) + 65536 * i32::from(d2), w);
        }
        assert!(split_i8(1 << 24).is_none());
    }
}
