//! Which SIMD code the hot loops use (multi-buffer MD5, Pillow-exact resampling), chosen once
//! per process from the CPU's features.
//!
//! Every SIMD path computes exactly the same bytes as the portable code it replaces (tests
//! compare them on random inputs at every level the CPU has). To run a whole process on a
//! lower level, set `MEDIAHASH_SIMD=portable` (or `avx2`) in its environment before the
//! first hash: it can lower the level, never raise it above what the CPU has.
//!
//! ```
//! use mediahash::cpu::{simd_level, SimdLevel};
//!
//! let level = simd_level();
//! assert!(level <= SimdLevel::detected());
//! println!("SIMD level: {}", level.name());
//! ```

use std::sync::OnceLock;

/// A SIMD level, ordered: a level implies every lower one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SimdLevel {
    /// Plain Rust, no CPU-specific code: the reference every other level must equal.
    Portable,
    /// x86-64 AVX2: 8 MD5 lanes, 16-bit multiply-adds for resampling.
    Avx2,
    /// x86-64 AVX-512 F/BW/VL/VNNI (Intel Ice Lake and later, AMD Zen 4 and later): 16 MD5
    /// lanes, 8-bit dot products for resampling. Only with the `avx512` cargo feature.
    Avx512,
}

impl SimdLevel {
    /// The highest level this CPU supports (and this build contains), ignoring
    /// `MEDIAHASH_SIMD`.
    pub fn detected() -> SimdLevel {
        static DETECTED: OnceLock<SimdLevel> = OnceLock::new();
        *DETECTED.get_or_init(|| {
            #[cfg(target_arch = "x86_64")]
            {
                #[cfg(feature = "avx512")]
                if std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512bw")
                    && std::arch::is_x86_feature_detected!("avx512vl")
                    && std::arch::is_x86_feature_detected!("avx512vnni")
                    && std::arch::is_x86_feature_detected!("avx2")
                {
                    return SimdLevel::Avx512;
                }
                if std::arch::is_x86_feature_detected!("avx2") {
                    return SimdLevel::Avx2;
                }
            }
            SimdLevel::Portable
        })
    }

    /// Every level up to [`SimdLevel::detected`], lowest first (for tests and benchmarks
    /// that compare the paths).
    pub fn available() -> Vec<SimdLevel> {
        [SimdLevel::Portable, SimdLevel::Avx2, SimdLevel::Avx512]
            .into_iter()
            .filter(|&l| l <= SimdLevel::detected())
            .collect()
    }

    /// Lower-case name: `portable`, `avx2` or `avx512`.
    pub fn name(self) -> &'static str {
        match self {
            SimdLevel::Portable => "portable",
            SimdLevel::Avx2 => "avx2",
            SimdLevel::Avx512 => "avx512",
        }
    }
}

/// The level in use: [`SimdLevel::detected`], lowered by `MEDIAHASH_SIMD` when set (read
/// once, at the first call).
pub fn simd_level() -> SimdLevel {
    static LEVEL: OnceLock<SimdLevel> = OnceLock::new();
    *LEVEL.get_or_init(|| {
        let detected = SimdLevel::detected();
        let cap = match std::env::var("MEDIAHASH_SIMD").ok().as_deref().map(str::trim) {
            Some("portable") => SimdLevel::Portable,
            Some("avx2") => SimdLevel::Avx2,
            _ => detected,
        };
        cap.min(detected)
    })
}
