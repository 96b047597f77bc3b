//! # mediahash
//!
//! Forensic media-hash matching: find known files on seized media fast, prove it
//! reproducibly, set aside known-harmless files, and surface unknown images early.
//!
//! * [`digest`]: MD5, SHA-1 and SHA-256 (BLAKE3 optional) in one read pass.
//! * [`decode`]: content-sniffed, limit-checked image decoding to RGB8 (JPEG through
//!   libjpeg-turbo's decoder, so PDQ matches the reference pipeline bit for bit).
//! * [`perceptual`]: PDQ bit-exact with Meta's C++ reference (hash, quality, 8 dihedrals),
//!   pHash/dHash/aHash exactly as Python `imagehash` computes them.
//! * [`analyze`]: one file or buffer through digests, decoding and perceptual hashes.
//! * [`refset`] and [`import`]: the `.mhset` reference-set format and its importers.
//! * [`evidence`]: sources of evidence items (a folder tree today), each item a location,
//!   metadata and a way to read its bytes.
//! * [`scan`] and [`report`]: the examiner's read-only scan (one pipeline for every source)
//!   and its typed records and report writers.
//! * [`cpu`]: which SIMD code the hot loops use, chosen once per process.
//! * [`cluster`]: near-duplicate clusters of PDQ hashes through a multi-index.
//! * [`provenance`]: provenance indicators from picture metadata (C2PA, generator
//!   parameters, EXIF, XMP digital source type).
//! * [`review`]: the examiner's review page (HTML, thumbnails, "look here first").
//! * [`video`]: videos decoded by the `ffmpeg` program in a child process, hashed as vPDQ
//!   ([`perceptual::vpdq`]).
//! * [`ffi`]: the C ABI (`include/mediahash.h`).
//!
//! The library installs no logger, panic hook or global thread pool and writes nothing to
//! stdout. `docs/architecture.md` describes the modules and how data flows between them.

// Warnings here are errors in CI (`cargo clippy -- -D warnings`, `cargo doc` with
// `RUSTDOCFLAGS=-D warnings`).
#![warn(missing_docs)]
#![warn(clippy::undocumented_unsafe_blocks)]

pub mod analyze;
pub mod cluster;
pub mod cpu;
pub mod decode;
pub mod digest;
pub mod evidence;
pub mod ffi;
pub mod hex;
pub mod import;
pub mod openfile;
pub mod pathbytes;
pub mod perceptual;
pub mod provenance;
pub mod refset;
pub mod report;
pub mod review;
pub mod robust;
pub mod scan;
mod sysinfo;
pub mod video;

/// The crate version, as in Cargo.toml.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The README's Rust snippets, compiled by `cargo test --doc` so they cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
