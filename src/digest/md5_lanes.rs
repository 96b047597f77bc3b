//! MD5 of several independent messages at once, one message per SIMD lane ("multi-buffer"
//! hashing, as Intel's ISA-L and minio's md5-simd do; written here from RFC 1321).
//!
//! One MD5 stream is a chain of 64 dependent steps per block, so a core runs it at about one
//! step per few cycles whatever its width. Sixteen streams side by side in the 32-bit lanes of
//! an AVX-512 register (eight with AVX2) run the same instruction sequence on different data,
//! so the cost per step is shared: the per-byte cost falls by about the lane count.
//!
//! The message words of a block are 16 little-endian `u32`; a lane kernel loads one block of
//! each lane and transposes the words so that register `j` holds word `j` of every lane.
//! The portable [`compress`] is the reference every kernel is tested against.

use crate::cpu::SimdLevel;

/// Most lanes any kernel runs (AVX-512).
pub(crate) const MAX_LANES: usize = 16;

/// The initial state (RFC 1321, 3.3).
pub(crate) const INIT: [u32; 4] = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476];

/// `floor(abs(sin(i + 1)) * 2^32)` (RFC 1321, 3.4).
const K: [u32; 64] = [
    0xd76a_a478,
    0xe8c7_b756,
    0x2420_70db,
    0xc1bd_ceee,
    0xf57c_0faf,
    0x4787_c62a,
    0xa830_4613,
    0xfd46_9501,
    0x6980_98d8,
    0x8b44_f7af,
    0xffff_5bb1,
    0x895c_d7be,
    0x6b90_1122,
    0xfd98_7193,
    0xa679_438e,
    0x49b4_0821,
    0xf61e_2562,
    0xc040_b340,
    0x265e_5a51,
    0xe9b6_c7aa,
    0xd62f_105d,
    0x0244_1453,
    0xd8a1_e681,
    0xe7d3_fbc8,
    0x21e1_cde6,
    0xc337_07d6,
    0xf4d5_0d87,
    0x455a_14ed,
    0xa9e3_e905,
    0xfcef_a3f8,
    0x676f_02d9,
    0x8d2a_4c8a,
    0xfffa_3942,
    0x8771_f681,
    0x6d9d_6122,
    0xfde5_380c,
    0xa4be_ea44,
    0x4bde_cfa9,
    0xf6bb_4b60,
    0xbebf_bc70,
    0x289b_7ec6,
    0xeaa1_27fa,
    0xd4ef_3085,
    0x0488_1d05,
    0xd9d4_d039,
    0xe6db_99e5,
    0x1fa2_7cf8,
    0xc4ac_5665,
    0xf429_2244,
    0x432a_ff97,
    0xab94_23a7,
    0xfc93_a039,
    0x655b_59c3,
    0x8f0c_cc92,
    0xffef_f47d,
    0x8584_5dd1,
    0x6fa8_7e4f,
    0xfe2c_e6e0,
    0xa301_4314,
    0x4e08_11a1,
    0xf753_7e82,
    0xbd3a_f235,
    0x2ad7_d2bb,
    0xeb86_d391,
];

/// Left-rotation per step: four values per round.
const S: [[u32; 4]; 4] = [[7, 12, 17, 22], [5, 9, 14, 20], [4, 11, 16, 23], [6, 10, 15, 21]];

/// Left-rotation of step `i` (a function, so that macro-expanded step numbers are not
/// divided in place).
const fn rotation(i: usize) -> i32 {
    S[i / 16][i % 4] as i32
}

/// Message word read by step `i`.
const fn word(i: usize) -> usize {
    match i / 16 {
        0 => i,
        1 => (5 * i + 1) % 16,
        2 => (3 * i + 5) % 16,
        _ => (7 * i) % 16,
    }
}

/// One block into `state`: the plain RFC 1321 compression function (the reference).
pub(crate) fn compress(state: &mut [u32; 4], block: &[u8; 64]) {
    let m: [u32; 16] =
        std::array::from_fn(|j| u32::from_le_bytes(block[4 * j..4 * j + 4].try_into().unwrap()));
    let [mut a, mut b, mut c, mut d] = *state;
    for i in 0..64 {
        let f = match i / 16 {
            0 => d ^ (b & (c ^ d)),
            1 => c ^ (d & (b ^ c)),
            2 => b ^ c ^ d,
            _ => c ^ (b | !d),
        };
        let t = a.wrapping_add(f).wrapping_add(K[i]).wrapping_add(m[word(i)]);
        let rotated = t.rotate_left(S[i / 16][i % 4]);
        (a, b, c, d) = (d, b.wrapping_add(rotated), b, c);
    }
    for (s, v) in state.iter_mut().zip([a, b, c, d]) {
        *s = s.wrapping_add(v);
    }
}

/// The padded tail and the digest: `tail` (< 64 bytes) is what follows the last full block,
/// `total` the message length in bytes.
pub(crate) fn finish(mut state: [u32; 4], tail: &[u8], total: u64) -> [u8; 16] {
    debug_assert!(tail.len() < 64);
    let mut last = [0u8; 128];
    last[..tail.len()].copy_from_slice(tail);
    last[tail.len()] = 0x80;
    let blocks = if tail.len() < 56 { 1 } else { 2 };
    last[blocks * 64 - 8..blocks * 64].copy_from_slice(&(total.wrapping_mul(8)).to_le_bytes());
    for block in last[..blocks * 64].chunks_exact(64) {
        compress(&mut state, block.try_into().unwrap());
    }
    let mut out = [0u8; 16];
    for (o, s) in out.chunks_exact_mut(4).zip(state) {
        o.copy_from_slice(&s.to_le_bytes());
    }
    out
}

/// Lanes a kernel of `level` runs at once.
pub(crate) fn lanes_for(level: SimdLevel) -> usize {
    match level {
        SimdLevel::Portable => 4,
        SimdLevel::Avx2 => 8,
        SimdLevel::Avx512 => MAX_LANES,
    }
}

/// Compresses `blocks` whole blocks of every lane: lane `i` reads `data[i][..64 * blocks]`
/// into `states[i]`. At most [`lanes_for`]`(level)` lanes; `level` must not exceed
/// [`SimdLevel::detected`].
pub(crate) fn compress_lanes(
    level: SimdLevel,
    states: &mut [[u32; 4]],
    data: &[&[u8]],
    blocks: usize,
) {
    assert_eq!(states.len(), data.len());
    assert!(states.len() <= lanes_for(level));
    assert!(data.iter().all(|d| d.len() >= blocks * 64), "lane shorter than the blocks asked");
    assert!(level <= SimdLevel::detected());
    if states.is_empty() || blocks == 0 {
        return;
    }
    match level {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the level is at most the detected one (asserted above), so the CPU has
        // AVX2; every lane holds `blocks` blocks (asserted above).
        SimdLevel::Avx2 => unsafe { avx2::compress8(states, data, blocks) },
        #[cfg(all(target_arch = "x86_64", feature = "avx512"))]
        // SAFETY: as above, the CPU has AVX-512 F/BW/VL; lanes hold `blocks` blocks.
        SimdLevel::Avx512 => unsafe { avx512::compress16(states, data, blocks) },
        _ => {
            for (state, lane) in states.iter_mut().zip(data) {
                for block in lane[..blocks * 64].chunks_exact(64) {
                    compress(state, block.try_into().unwrap());
                }
            }
        }
    }
}

/// The 64 steps over vectors of lanes, for any vector type: `$f`..`$i` are the round
/// functions, `$add`, `$rotl` the lane-wise operations, `$m` the 16 transposed words.
macro_rules! md5_rounds {
    ($a:ident, $b:ident, $c:ident, $d:ident, $m:expr, $k:ident,
     $add:ident, $rotl:ident, $f:ident, $g:ident, $h:ident, $i:ident) => {{
        macro_rules! step {
            ($fun:ident, $step:expr) => {{
                let t = $add($add($a, $fun($b, $c, $d)), $add($k($step), $m[word($step)]));
                let r = $rotl::<{ rotation($step) }, { 32 - rotation($step) }>(t);
                $a = $d;
                $d = $c;
                $c = $b;
                $b = $add($b, r);
            }};
        }
        macro_rules! sixteen {
            ($fun:ident, $base:expr) => {
                step!($fun, $base);
                step!($fun, $base + 1);
                step!($fun, $base + 2);
                step!($fun, $base + 3);
                step!($fun, $base + 4);
                step!($fun, $base + 5);
                step!($fun, $base + 6);
                step!($fun, $base + 7);
                step!($fun, $base + 8);
                step!($fun, $base + 9);
                step!($fun, $base + 10);
                step!($fun, $base + 11);
                step!($fun, $base + 12);
                step!($fun, $base + 13);
                step!($fun, $base + 14);
                step!($fun, $base + 15);
            };
        }
        sixteen!($f, 0);
        sixteen!($g, 16);
        sixteen!($h, 32);
        sixteen!($i, 48);
    }};
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{K, rotation, word};
    use std::arch::x86_64::*;

    /// 8 lanes; fewer are padded with copies of lane 0 whose results are dropped.
    #[target_feature(enable = "avx2")]
    pub(super) fn compress8(states: &mut [[u32; 4]], data: &[&[u8]], blocks: usize) {
        let n = states.len();
        let lane = |i: usize| if i < n { data[i].as_ptr() } else { data[0].as_ptr() };
        let ptrs: [*const u8; 8] = std::array::from_fn(lane);
        let gather = |j: usize| {
            _mm256_setr_epi32(
                states.first().map_or(0, |s| s[j] as i32),
                states.get(1).map_or(0, |s| s[j] as i32),
                states.get(2).map_or(0, |s| s[j] as i32),
                states.get(3).map_or(0, |s| s[j] as i32),
                states.get(4).map_or(0, |s| s[j] as i32),
                states.get(5).map_or(0, |s| s[j] as i32),
                states.get(6).map_or(0, |s| s[j] as i32),
                states.get(7).map_or(0, |s| s[j] as i32),
            )
        };
        let (mut sa, mut sb, mut sc, mut sd) = (gather(0), gather(1), gather(2), gather(3));
        #[inline(always)]
        fn add(x: __m256i, y: __m256i) -> __m256i {
            // SAFETY: only reached from `compress8`, which has AVX2 enabled.
            unsafe { _mm256_add_epi32(x, y) }
        }
        #[inline(always)]
        fn rotl<const L: i32, const R: i32>(x: __m256i) -> __m256i {
            // Immediate shifts (one uop each); `R` is `32 - L`, passed in because a const
            // generic cannot be computed from another on stable Rust.
            // SAFETY: as `add`.
            unsafe { _mm256_or_si256(_mm256_slli_epi32::<L>(x), _mm256_srli_epi32::<R>(x)) }
        }
        #[inline(always)]
        fn f(b: __m256i, c: __m256i, d: __m256i) -> __m256i {
            // SAFETY: as `add`.
            unsafe { _mm256_xor_si256(d, _mm256_and_si256(b, _mm256_xor_si256(c, d))) }
        }
        #[inline(always)]
        fn g(b: __m256i, c: __m256i, d: __m256i) -> __m256i {
            // SAFETY: as `add`.
            unsafe { _mm256_xor_si256(c, _mm256_and_si256(d, _mm256_xor_si256(b, c))) }
        }
        #[inline(always)]
        fn h(b: __m256i, c: __m256i, d: __m256i) -> __m256i {
            // SAFETY: as `add`.
            unsafe { _mm256_xor_si256(_mm256_xor_si256(b, c), d) }
        }
        #[inline(always)]
        fn i(b: __m256i, c: __m256i, d: __m256i) -> __m256i {
            // SAFETY: as `add`.
            unsafe {
                _mm256_xor_si256(c, _mm256_or_si256(b, _mm256_xor_si256(d, _mm256_set1_epi32(-1))))
            }
        }
        #[inline(always)]
        fn k(step: usize) -> __m256i {
            // SAFETY: as `add`.
            unsafe { _mm256_set1_epi32(K[step] as i32) }
        }
        for blk in 0..blocks {
            let mut m = [_mm256_setzero_si256(); 16];
            for half in 0..2 {
                // SAFETY: every lane holds `blocks` blocks (checked by the caller), so the 32
                // bytes at block `blk`, half `half` are inside it; unaligned loads.
                let r: [__m256i; 8] = std::array::from_fn(|l| unsafe {
                    _mm256_loadu_si256(ptrs[l].add(blk * 64 + half * 32).cast())
                });
                let t: [__m256i; 8] = std::array::from_fn(|p| {
                    let (x, y) = (r[(p / 2) * 2], r[(p / 2) * 2 + 1]);
                    if p % 2 == 0 {
                        _mm256_unpacklo_epi32(x, y)
                    } else {
                        _mm256_unpackhi_epi32(x, y)
                    }
                });
                // u[4q + j]: 128-bit chunk c holds word 4c + j of rows 4q..4q+3.
                let u: [__m256i; 8] = std::array::from_fn(|p| {
                    let (q, j) = (p / 4, p % 4);
                    let (x, y) = (t[4 * q + (j / 2)], t[4 * q + 2 + (j / 2)]);
                    if j % 2 == 0 {
                        _mm256_unpacklo_epi64(x, y)
                    } else {
                        _mm256_unpackhi_epi64(x, y)
                    }
                });
                for j in 0..4 {
                    m[half * 8 + j] = _mm256_permute2x128_si256::<0x20>(u[j], u[4 + j]);
                    m[half * 8 + 4 + j] = _mm256_permute2x128_si256::<0x31>(u[j], u[4 + j]);
                }
            }
            let (mut a, mut b, mut c, mut d) = (sa, sb, sc, sd);
            md5_rounds!(a, b, c, d, m, k, add, rotl, f, g, h, i);
            sa = add(sa, a);
            sb = add(sb, b);
            sc = add(sc, c);
            sd = add(sd, d);
        }
        let mut out = [[0u32; 8]; 4];
        for (o, v) in out.iter_mut().zip([sa, sb, sc, sd]) {
            // SAFETY: `o` is 8 u32 (32 bytes); unaligned store.
            unsafe { _mm256_storeu_si256(o.as_mut_ptr().cast(), v) };
        }
        for (l, state) in states.iter_mut().enumerate() {
            *state = [out[0][l], out[1][l], out[2][l], out[3][l]];
        }
    }
}

#[cfg(all(target_arch = "x86_64", feature = "avx512"))]
mod avx512 {
    use super::{K, rotation, word};
    use std::arch::x86_64::*;

    /// 16 lanes; fewer are padded with copies of lane 0 whose results are dropped.
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2")]
    pub(super) fn compress16(states: &mut [[u32; 4]], data: &[&[u8]], blocks: usize) {
        let n = states.len();
        let ptrs: [*const u8; 16] =
            std::array::from_fn(|i| if i < n { data[i].as_ptr() } else { data[0].as_ptr() });
        let mut init = [[0u32; 16]; 4];
        for (l, s) in states.iter().enumerate() {
            for j in 0..4 {
                init[j][l] = s[j];
            }
        }
        // SAFETY: each `init[j]` is 16 u32 (64 bytes); unaligned loads.
        let [mut sa, mut sb, mut sc, mut sd] =
            init.map(|v| unsafe { _mm512_loadu_si512(v.as_ptr().cast()) });
        #[inline(always)]
        fn add(x: __m512i, y: __m512i) -> __m512i {
            // SAFETY: only reached from `compress16`, which has AVX-512F enabled.
            unsafe { _mm512_add_epi32(x, y) }
        }
        #[inline(always)]
        fn rotl<const L: i32, const R: i32>(x: __m512i) -> __m512i {
            // One vprold; `R` (`32 - L`) is the AVX2 kernel's and unused here.
            // SAFETY: as `add`.
            unsafe { _mm512_rol_epi32::<L>(x) }
        }
        // Round functions as three-input truth tables (vpternlogd): index (b<<2)|(c<<1)|d.
        #[inline(always)]
        fn f(b: __m512i, c: __m512i, d: __m512i) -> __m512i {
            // SAFETY: as `add`.
            unsafe { _mm512_ternarylogic_epi32::<0xca>(b, c, d) }
        }
        #[inline(always)]
        fn g(b: __m512i, c: __m512i, d: __m512i) -> __m512i {
            // SAFETY: as `add`.
            unsafe { _mm512_ternarylogic_epi32::<0xe4>(b, c, d) }
        }
        #[inline(always)]
        fn h(b: __m512i, c: __m512i, d: __m512i) -> __m512i {
            // SAFETY: as `add`.
            unsafe { _mm512_ternarylogic_epi32::<0x96>(b, c, d) }
        }
        #[inline(always)]
        fn i(b: __m512i, c: __m512i, d: __m512i) -> __m512i {
            // SAFETY: as `add`.
            unsafe { _mm512_ternarylogic_epi32::<0x39>(b, c, d) }
        }
        #[inline(always)]
        fn k(step: usize) -> __m512i {
            // SAFETY: as `add`.
            unsafe { _mm512_set1_epi32(K[step] as i32) }
        }
        for blk in 0..blocks {
            // SAFETY: every lane holds `blocks` blocks (checked by the caller); unaligned.
            let r: [__m512i; 16] = std::array::from_fn(|l| unsafe {
                _mm512_loadu_si512(ptrs[l].add(blk * 64).cast())
            });
            let t: [__m512i; 16] = std::array::from_fn(|p| {
                let (x, y) = (r[(p / 2) * 2], r[(p / 2) * 2 + 1]);
                if p % 2 == 0 { _mm512_unpacklo_epi32(x, y) } else { _mm512_unpackhi_epi32(x, y) }
            });
            // u[4q + j]: 128-bit chunk c holds word 4c + j of rows 4q..4q+3.
            let u: [__m512i; 16] = std::array::from_fn(|p| {
                let (q, j) = (p / 4, p % 4);
                let (x, y) = (t[4 * q + (j / 2)], t[4 * q + 2 + (j / 2)]);
                if j % 2 == 0 { _mm512_unpacklo_epi64(x, y) } else { _mm512_unpackhi_epi64(x, y) }
            });
            let mut m = [_mm512_setzero_si512(); 16];
            for j in 0..4 {
                // 4x4 transpose of 128-bit chunks: m[4c + j] chunk q = u[4q + j] chunk c.
                let e0 = _mm512_shuffle_i32x4::<0x88>(u[j], u[4 + j]);
                let e1 = _mm512_shuffle_i32x4::<0xdd>(u[j], u[4 + j]);
                let e2 = _mm512_shuffle_i32x4::<0x88>(u[8 + j], u[12 + j]);
                let e3 = _mm512_shuffle_i32x4::<0xdd>(u[8 + j], u[12 + j]);
                m[j] = _mm512_shuffle_i32x4::<0x88>(e0, e2);
                m[8 + j] = _mm512_shuffle_i32x4::<0xdd>(e0, e2);
                m[4 + j] = _mm512_shuffle_i32x4::<0x88>(e1, e3);
                m[12 + j] = _mm512_shuffle_i32x4::<0xdd>(e1, e3);
            }
            let (mut a, mut b, mut c, mut d) = (sa, sb, sc, sd);
            md5_rounds!(a, b, c, d, m, k, add, rotl, f, g, h, i);
            sa = add(sa, a);
            sb = add(sb, b);
            sc = add(sc, c);
            sd = add(sd, d);
        }
        let mut out = [[0u32; 16]; 4];
        for (o, v) in out.iter_mut().zip([sa, sb, sc, sd]) {
            // SAFETY: `o` is 16 u32 (64 bytes); unaligned store.
            unsafe { _mm512_storeu_si512(o.as_mut_ptr().cast(), v) };
        }
        for (l, state) in states.iter_mut().enumerate() {
            *state = [out[0][l], out[1][l], out[2][l], out[3][l]];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use md5::Digest;

    fn md5_of(data: &[u8], level: SimdLevel) -> [u8; 16] {
        let mut state = [INIT];
        let full = data.len() / 64;
        compress_lanes(level, &mut state, &[data], full);
        finish(state[0], &data[full * 64..], data.len() as u64)
    }

    #[test]
    fn rfc1321_suite_at_every_level() {
        let suite: [(&str, &str); 7] = [
            ("", "d41d8cd98f00b204e9800998ecf8427e"),
            ("a", "0cc175b9c0f1b6a831c399e269772661"),
            ("abc", "900150983cd24fb0d6963f7d28e17f72"),
            ("message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
            ("abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"),
            (
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
                "d174ab98d277d9f5a5611c2c9f419d9f",
            ),
            (
                "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
                "57edf4a22be3c955ac49da2e2107b67a",
            ),
        ];
        for level in SimdLevel::available() {
            for (text, want) in suite {
                assert_eq!(crate::hex::encode(&md5_of(text.as_bytes(), level)), want, "{level:?}");
            }
        }
    }

    fn noise(len: usize, seed: u64) -> Vec<u8> {
        let mut s = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        (0..len)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s >> 32) as u8
            })
            .collect()
    }

    /// Every lane count from 1 to 16 with lanes of different lengths, against the md-5 crate.
    #[test]
    fn lanes_equal_md5_crate() {
        for level in SimdLevel::available() {
            for n in 1..=lanes_for(level) {
                let lanes: Vec<Vec<u8>> =
                    (0..n).map(|i| noise(64 * (3 + i % 5) + i, (n * 31 + i) as u64)).collect();
                let blocks = lanes.iter().map(|l| l.len() / 64).min().unwrap();
                let mut states = vec![INIT; n];
                let refs: Vec<&[u8]> = lanes.iter().map(|l| &l[..]).collect();
                compress_lanes(level, &mut states, &refs, blocks);
                for (i, (lane, state)) in lanes.iter().zip(&states).enumerate() {
                    let mut s = *state;
                    let rest = &lane[blocks * 64..];
                    let full = rest.len() / 64;
                    for b in rest[..full * 64].chunks_exact(64) {
                        compress(&mut s, b.try_into().unwrap());
                    }
                    let got = finish(s, &rest[full * 64..], lane.len() as u64);
                    let want: [u8; 16] = md5::Md5::digest(lane).into();
                    assert_eq!(got, want, "{level:?} lanes {n} lane {i}");
                }
            }
        }
    }
}
