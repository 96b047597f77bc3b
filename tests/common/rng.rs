//! The one deterministic pseudo-random generator of the tests, benches' fixtures and examples
//! (xorshift32): fixed and portable, so generated images and the committed digests of them
//! (tests/vectors) stay valid. Not for anything but test inputs.
#![allow(dead_code)]

/// xorshift32 (Marsaglia). The state must not be 0; [`Rng::from_seed`] takes any seed.
#[derive(Clone, Debug)]
pub struct Rng(pub u32);

impl Rng {
    /// A generator for any 64-bit seed (0 included): the seed goes through splitmix64's
    /// finaliser, so nearby seeds give unrelated streams.
    pub fn from_seed(seed: u64) -> Rng {
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        Rng(((z >> 32) as u32 ^ z as u32).max(1))
    }

    /// The next 32 bits.
    pub fn next(&mut self) -> u32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        x
    }

    /// The next byte (the high bits, the better ones of xorshift).
    pub fn byte(&mut self) -> u8 {
        (self.next() >> 24) as u8
    }

    /// A value in `0..n` (slightly biased for huge `n`; fine for test inputs).
    pub fn below(&mut self, n: usize) -> usize {
        assert!(n > 0, "Rng::below(0)");
        self.next() as usize % n
    }

    /// `len` pseudo-random bytes.
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.byte()).collect()
    }

    /// An array of pseudo-random bytes.
    pub fn array<const N: usize>(&mut self) -> [u8; N] {
        std::array::from_fn(|_| self.byte())
    }
}
