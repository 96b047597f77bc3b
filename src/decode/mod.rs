//! Image decoding: see the crate documentation.
