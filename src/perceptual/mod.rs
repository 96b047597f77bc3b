//! Perceptual hashes.
//!
//! * [`pdq`]: Meta's PDQ, bit-exact with the C++ reference.
//! * [`imagehash`]: pHash, dHash and aHash exactly as Python `imagehash` 4.3.2 defines them.

pub mod imagehash;
pub mod pdq;
pub mod vpdq;
