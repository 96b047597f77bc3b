//! Fuzzes the EWF (E01) reader: any bytes as a one-segment set must give a typed error or an
//! image whose every chunk reads or fails with a typed error, without panicking, hanging or
//! allocating without bound. The reader takes files (segments are found by name), so each
//! input is written to a temporary file first (use a tmpfs `TMPDIR`, e.g. /dev/shm).
//! Run: `cargo fuzz run ewf` (nightly, cargo-fuzz). Seed corpus: small E01s from
//! `ewfacquire -u -t seed -c deflate:fast -S 1048576 some.raw` (and `-c none`, `-f encase1`,
//! `-f smart`).
#![no_main]

use std::io::Write;

use libfuzzer_sys::fuzz_target;
use mediahash::evidence::ewf::EwfImage;
use mediahash::evidence::image::DiskImage;

fuzz_target!(|data: &[u8]| {
    let Ok(dir) = tempfile::tempdir() else { return };
    let path = dir.path().join("fuzz.E01");
    let Ok(mut file) = std::fs::File::create(&path) else { return };
    if file.write_all(data).is_err() {
        return;
    }
    drop(file);
    let Ok(image) = EwfImage::open(&path, true) else { return };
    let _ = image.info();
    // Every chunk, at most a few hundred (a forged media size is bounded by the tables).
    for index in 0..image.chunk_count().min(256) {
        let _ = image.read_chunk(index);
    }
    let mut buf = [0u8; 4096];
    let _ = image.read_at(image.len() / 2, &mut buf);
    let _ = image.read_at(image.len().saturating_sub(1), &mut buf);
});
