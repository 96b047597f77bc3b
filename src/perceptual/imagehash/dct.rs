//! The 32-point unnormalised DCT-II exactly as `scipy.fftpack.dct(x)` computes it in float64.
//!
//! SciPy (1.4 and later) evaluates the DCT with pocketfft: a pre-twiddle, a real backward FFT
//! (FFTPACK radix passes 2, 4, 4 for length 32) and a post-twiddle. A textbook O(n^2) sum
//! gives the same values to within a few ulps, but pHash compares each coefficient with the
//! median of 64 of them, and images with symmetric or flat regions produce coefficients that
//! are exactly zero in real arithmetic and tiny rounding noise in float64. Their bits depend
//! on that noise, so this module repeats pocketfft's operations in the same order with the
//! same twiddle factors. (No fused multiply-add: neither SciPy's x86-64 build nor Rust fuses.)

/// Transform length: imagehash's pHash resizes to 32x32 (hash size 8, high-frequency factor 4).
pub(crate) const N: usize = 32;

/// pocketfft's real-FFT twiddles for factor 2 (`ido` = 16): `(cos, sin)(2 pi i / 32)` for
/// i = 1..=7, interleaved; the 15th slot is allocated but unused.
const RADIX2_TWIDDLES_BITS: [u64; 15] = include!("dct_tw_radix2.in");
/// Twiddles for the middle radix-4 pass (`ido` = 4): `(cos, sin)(2 pi 2j / 32)` for j = 1..=3,
/// each pair followed by an unused slot.
const RADIX4_TWIDDLES_BITS: [u64; 9] = include!("dct_tw_radix4.in");
/// DCT post-twiddles `cos(2 pi (i + 1) / 128)` for i = 0..32.
const DCT_TWIDDLES_BITS: [u64; N] = include!("dct_tw_dct.in");

fn table<const K: usize>(bits: &[u64; K]) -> [f64; K] {
    bits.map(f64::from_bits)
}

/// `a + b, a - b`.
#[inline(always)]
fn pm(a: f64, b: f64) -> (f64, f64) {
    (a + b, a - b)
}

/// pocketfft `MULPM`: `(c*e + d*f, c*f - d*e)`, i.e. `conj(c + id) * (e + if)`.
#[inline(always)]
fn mulpm(c: f64, d: f64, e: f64, f: f64) -> (f64, f64) {
    (c * e + d * f, c * f - d * e)
}

/// FFTPACK `radb2`: input `cc` laid out as (ido, 2, l1), output `ch` as (ido, l1, 2).
fn radix2_backward(ido: usize, l1: usize, cc: &[f64], ch: &mut [f64], wa: &[f64]) {
    let cc_at = |a: usize, b: usize, c: usize| cc[a + ido * (b + 2 * c)];
    let ch_ix = |a: usize, b: usize, c: usize| a + ido * (b + l1 * c);
    for k in 0..l1 {
        let (s, d) = pm(cc_at(0, 0, k), cc_at(ido - 1, 1, k));
        ch[ch_ix(0, k, 0)] = s;
        ch[ch_ix(0, k, 1)] = d;
    }
    if ido.is_multiple_of(2) {
        for k in 0..l1 {
            ch[ch_ix(ido - 1, k, 0)] = 2.0 * cc_at(ido - 1, 0, k);
            ch[ch_ix(ido - 1, k, 1)] = -2.0 * cc_at(0, 1, k);
        }
    }
    if ido <= 2 {
        return;
    }
    for k in 0..l1 {
        for i in (2..ido).step_by(2) {
            let ic = ido - i;
            let (re0, tr2) = pm(cc_at(i - 1, 0, k), cc_at(ic - 1, 1, k));
            let (ti2, im0) = pm(cc_at(i, 0, k), cc_at(ic, 1, k));
            ch[ch_ix(i - 1, k, 0)] = re0;
            ch[ch_ix(i, k, 0)] = im0;
            let (im1, re1) = mulpm(wa[i - 2], wa[i - 1], ti2, tr2);
            ch[ch_ix(i, k, 1)] = im1;
            ch[ch_ix(i - 1, k, 1)] = re1;
        }
    }
}

/// FFTPACK `radb4`: input `cc` laid out as (ido, 4, l1), output `ch` as (ido, l1, 4).
fn radix4_backward(ido: usize, l1: usize, cc: &[f64], ch: &mut [f64], wa: &[f64]) {
    const SQRT2: f64 = std::f64::consts::SQRT_2;
    let cc_at = |a: usize, b: usize, c: usize| cc[a + ido * (b + 4 * c)];
    let ch_ix = |a: usize, b: usize, c: usize| a + ido * (b + l1 * c);
    let wa_at = |x: usize, i: usize| wa[i + x * (ido - 1)];
    for k in 0..l1 {
        let (tr2, tr1) = pm(cc_at(0, 0, k), cc_at(ido - 1, 3, k));
        let tr3 = 2.0 * cc_at(ido - 1, 1, k);
        let tr4 = 2.0 * cc_at(0, 2, k);
        let (c0, c2) = pm(tr2, tr3);
        let (c3, c1) = pm(tr1, tr4);
        ch[ch_ix(0, k, 0)] = c0;
        ch[ch_ix(0, k, 2)] = c2;
        ch[ch_ix(0, k, 3)] = c3;
        ch[ch_ix(0, k, 1)] = c1;
    }
    if ido.is_multiple_of(2) {
        for k in 0..l1 {
            let (ti1, ti2) = pm(cc_at(0, 3, k), cc_at(0, 1, k));
            let (tr2, tr1) = pm(cc_at(ido - 1, 0, k), cc_at(ido - 1, 2, k));
            ch[ch_ix(ido - 1, k, 0)] = tr2 + tr2;
            ch[ch_ix(ido - 1, k, 1)] = SQRT2 * (tr1 - ti1);
            ch[ch_ix(ido - 1, k, 2)] = ti2 + ti2;
            ch[ch_ix(ido - 1, k, 3)] = -SQRT2 * (tr1 + ti1);
        }
    }
    if ido <= 2 {
        return;
    }
    for k in 0..l1 {
        for i in (2..ido).step_by(2) {
            let ic = ido - i;
            let (tr2, tr1) = pm(cc_at(i - 1, 0, k), cc_at(ic - 1, 3, k));
            let (ti1, ti2) = pm(cc_at(i, 0, k), cc_at(ic, 3, k));
            let (tr4, ti3) = pm(cc_at(i, 2, k), cc_at(ic, 1, k));
            let (tr3, ti4) = pm(cc_at(i - 1, 2, k), cc_at(ic - 1, 1, k));
            let (re0, cr3) = pm(tr2, tr3);
            let (im0, ci3) = pm(ti2, ti3);
            let (cr4, cr2) = pm(tr1, tr4);
            let (ci2, ci4) = pm(ti1, ti4);
            ch[ch_ix(i - 1, k, 0)] = re0;
            ch[ch_ix(i, k, 0)] = im0;
            for (x, (ci, cr)) in [(ci2, cr2), (ci3, cr3), (ci4, cr4)].into_iter().enumerate() {
                let (im, re) = mulpm(wa_at(x, i - 2), wa_at(x, i - 1), ci, cr);
                ch[ch_ix(i, k, x + 1)] = im;
                ch[ch_ix(i - 1, k, x + 1)] = re;
            }
        }
    }
}

/// Precomputed twiddle tables (decoded once per call; decoding is a bit copy).
pub(crate) struct Dct32 {
    radix2: [f64; 15],
    radix4: [f64; 9],
    post: [f64; N],
}

impl Default for Dct32 {
    fn default() -> Self {
        Dct32 {
            radix2: table(&RADIX2_TWIDDLES_BITS),
            radix4: table(&RADIX4_TWIDDLES_BITS),
            post: table(&DCT_TWIDDLES_BITS),
        }
    }
}

impl Dct32 {
    /// In-place unnormalised DCT-II of 32 values: `y[k] = 2 sum x[n] cos(pi k (2n+1) / 64)`,
    /// with pocketfft's rounding.
    pub(crate) fn transform(&self, c: &mut [f64; N]) {
        c[0] *= 2.0;
        c[N - 1] *= 2.0;
        for k in (1..N - 1).step_by(2) {
            let t = c[k + 1];
            c[k + 1] = t - c[k];
            c[k] += t;
        }
        // Real backward FFT, FFTPACK factor order [2, 4, 4], ping-ponging two buffers.
        let mut buf = [0f64; N];
        radix2_backward(16, 1, c, &mut buf, &self.radix2);
        radix4_backward(4, 2, &buf, c, &self.radix4);
        radix4_backward(1, 8, c, &mut buf, &[]);
        *c = buf;
        let tw = &self.post;
        for k in 1..N / 2 {
            let kc = N - k;
            let t1 = tw[k - 1] * c[kc] + tw[kc - 1] * c[k];
            let t2 = tw[k - 1] * c[k] - tw[kc - 1] * c[kc];
            c[k] = 0.5 * (t1 + t2);
            c[kc] = 0.5 * (t1 - t2);
        }
        c[N / 2] *= tw[N / 2 - 1];
    }

    /// `scipy.fftpack.dct(scipy.fftpack.dct(pixels, axis=0), axis=1)` of a 32x32 row-major
    /// image: columns first, then rows.
    pub(crate) fn transform_2d(&self, pixels: &[u8]) -> [[f64; N]; N] {
        debug_assert_eq!(pixels.len(), N * N);
        let mut out = [[0f64; N]; N];
        for x in 0..N {
            let mut column = [0f64; N];
            for (y, v) in column.iter_mut().enumerate() {
                *v = f64::from(pixels[y * N + x]);
            }
            self.transform(&mut column);
            for (y, v) in column.iter().enumerate() {
                out[y][x] = *v;
            }
        }
        for row in out.iter_mut() {
            self.transform(row);
        }
        out
    }
}

/// pocketfft's `sincos_2pibyn(n)[idx]` for power-of-two `n`: `(cos, sin)(2 pi idx / n)`
/// assembled from two small tables of octant-reduced `cos`/`sin` values and one complex
/// product. Used to derive the constant tables above (see the tests).
#[cfg(test)]
pub(crate) fn pocketfft_sincos(n: usize, idx: usize) -> (f64, f64) {
    // 0.25 * pi / n in long double, rounded to double: exact scaling for power-of-two n.
    assert!(n.is_power_of_two());
    let ang = std::f64::consts::PI / (4 * n) as f64;
    let calc = |x: usize| -> (f64, f64) {
        let x = x << 3;
        let c = |v: usize| (v as f64 * ang).cos();
        let s = |v: usize| (v as f64 * ang).sin();
        if x < 4 * n {
            if x < 2 * n {
                if x < n {
                    return (c(x), s(x));
                }
                return (s(2 * n - x), c(2 * n - x));
            }
            let x = x - 2 * n;
            if x < n {
                return (-s(x), c(x));
            }
            return (-c(2 * n - x), s(2 * n - x));
        }
        let x = 8 * n - x;
        if x < 2 * n {
            if x < n {
                return (c(x), -s(x));
            }
            return (s(2 * n - x), -c(2 * n - x));
        }
        let x = x - 2 * n;
        if x < n {
            return (-s(x), -c(x));
        }
        (-c(2 * n - x), -s(2 * n - x))
    };
    let nval = (n + 2) / 2;
    let mut shift = 1;
    while (1usize << shift) * (1usize << shift) < nval {
        shift += 1;
    }
    let mask = (1usize << shift) - 1;
    let table1 = |i: usize| if i == 0 { (1.0, 0.0) } else { calc(i) };
    let table2 = |i: usize| if i == 0 { (1.0, 0.0) } else { calc(i * (mask + 1)) };
    let (idx, conj) = if 2 * idx <= n { (idx, false) } else { (n - idx, true) };
    let (x1, x2) = (table1(idx & mask), table2(idx >> shift));
    let re = x1.0 * x2.0 - x1.1 * x2.1;
    let im = x1.0 * x2.1 + x1.1 * x2.0;
    (re, if conj { -im } else { im })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn derived_tables() -> ([u64; 15], [u64; 9], [u64; N]) {
        let mut radix2 = [0u64; 15];
        for i in 1..=7 {
            let (re, im) = pocketfft_sincos(N, i);
            radix2[2 * i - 2] = re.to_bits();
            radix2[2 * i - 1] = im.to_bits();
        }
        let mut radix4 = [0u64; 9];
        for j in 1..=3 {
            let (re, im) = pocketfft_sincos(N, 2 * j);
            radix4[(j - 1) * 3] = re.to_bits();
            radix4[(j - 1) * 3 + 1] = im.to_bits();
        }
        let post = std::array::from_fn(|i| pocketfft_sincos(4 * N, i + 1).0.to_bits());
        (radix2, radix4, post)
    }

    #[test]
    fn constant_tables_match_pocketfft_construction() {
        let (radix2, radix4, post) = derived_tables();
        assert_eq!(radix2, RADIX2_TWIDDLES_BITS);
        assert_eq!(radix4, RADIX4_TWIDDLES_BITS);
        assert_eq!(post, DCT_TWIDDLES_BITS);
    }

    #[test]
    fn agrees_with_textbook_dct_to_rounding() {
        let dct = Dct32::default();
        let mut seed = 12345u32;
        for _ in 0..50 {
            let x: [f64; N] = std::array::from_fn(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                f64::from(seed >> 24)
            });
            let mut y = x;
            dct.transform(&mut y);
            for (k, &yk) in y.iter().enumerate() {
                let exact: f64 = x
                    .iter()
                    .enumerate()
                    .map(|(n, &v)| {
                        let angle = std::f64::consts::PI * (k * (2 * n + 1)) as f64 / 64.0;
                        2.0 * v * angle.cos()
                    })
                    .sum();
                assert!((yk - exact).abs() < 1e-9, "k={k}: {yk} vs {exact}");
            }
        }
    }

    #[test]
    fn constant_input_has_exactly_zero_ac() {
        let dct = Dct32::default();
        let mut c = [7.0; N];
        dct.transform(&mut c);
        assert_eq!(c[0], 2.0 * 7.0 * N as f64);
        assert!(c[1..].iter().all(|&v| v == 0.0), "{c:?}");
    }
}
