//! See `perceptual`.
