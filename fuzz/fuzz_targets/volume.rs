//! Arbitrary bytes as a whole disk: the MBR (with extended partitions) or GPT is read, and
//! each volume found is opened as a file system. A valid protective MBR is put in front when
//! the input's first byte is odd, so GPT headers and entry arrays are reached as often as
//! MBR chains. Nothing may panic, hang or allocate without bound.
//! Run: cargo fuzz run --sanitizer none volume -- -runs=1000000 -max_len=65536
#![no_main]

use libfuzzer_sys::fuzz_target;
use mediahash::evidence::fs;
use mediahash::evidence::image::DiskImage;
use mediahash::evidence::volume;

/// A protective MBR: one entry of type 0xEE over the whole disk.
fn protective_mbr() -> Vec<u8> {
    let mut b = vec![0u8; 512];
    b[446 + 4] = 0xEE;
    b[446 + 8..446 + 12].copy_from_slice(&1u32.to_le_bytes());
    b[446 + 12..446 + 16].copy_from_slice(&u32::MAX.to_le_bytes());
    b[510] = 0x55;
    b[511] = 0xAA;
    b
}

fuzz_target!(|data: &[u8]| {
    let media = match data.split_first() {
        Some((first, rest)) if first % 2 == 1 => {
            let mut m = protective_mbr();
            m.extend_from_slice(rest);
            m
        }
        _ => data.to_vec(),
    };
    let image: Box<dyn DiskImage> = Box::new(media);
    let Ok(table) = volume::read_volumes(&*image) else { return };
    for v in &table.volumes {
        let on_media = image.len().saturating_sub(v.offset).min(v.length);
        let _ = fs::open(&*image, v.offset, on_media);
    }
});
