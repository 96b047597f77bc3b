//! One file or buffer through digests, decoding and perceptual hashes.
