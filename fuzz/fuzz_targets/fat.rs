//! Arbitrary bytes as a FAT volume: a valid FAT16 boot sector is put in front (so the input
//! reaches the FAT and directory parsers) unless the input starts with its own jump
//! instruction; every entry's content, live or deleted, is then read. Nothing may panic,
//! hang or allocate without bound.
//! Run: cargo fuzz run --sanitizer none fat -- -runs=1000000 -max_len=65536
#![no_main]

use std::io::Read;
use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use mediahash::evidence::fs::{self, DataReader, EntryState};
use mediahash::evidence::image::DiskImage;

/// A FAT16 boot sector: 512-byte sectors, 1 sector per cluster, 1 reserved sector, 2 FATs of
/// 1 sector, 16 root entries, 4096 sectors (the input follows it; reads past it are errors).
fn boot() -> Vec<u8> {
    let mut b = vec![0u8; 512];
    b[0..3].copy_from_slice(&[0xEB, 0x3C, 0x90]);
    b[3..11].copy_from_slice(b"MSDOS5.0");
    b[11..13].copy_from_slice(&512u16.to_le_bytes());
    b[13] = 1; // sectors per cluster
    b[14..16].copy_from_slice(&1u16.to_le_bytes()); // reserved
    b[16] = 2; // FATs
    b[17..19].copy_from_slice(&16u16.to_le_bytes()); // root entries
    b[19..21].copy_from_slice(&4096u16.to_le_bytes()); // sectors
    b[21] = 0xF8;
    b[22..24].copy_from_slice(&1u16.to_le_bytes()); // sectors per FAT
    b[38] = 0x29;
    b[54..62].copy_from_slice(b"FAT16   ");
    b[510] = 0x55;
    b[511] = 0xAA;
    b
}

fuzz_target!(|data: &[u8]| {
    let mut media = if data.first() == Some(&0xEB) { Vec::new() } else { boot() };
    media.extend_from_slice(data);
    let image: Arc<dyn DiskImage> = Arc::new(media);
    let Ok(found) = fs::open(&*image, 0, image.len()) else { return };
    for e in found.entries {
        if let EntryState::Read(data) = e.state {
            let mut reader = DataReader::new(image.clone(), data);
            let mut sink = [0u8; 65536];
            let mut total = 0u64;
            while let Ok(n) = reader.read(&mut sink) {
                if n == 0 || total > 64 << 20 {
                    break;
                }
                total += n as u64;
            }
        }
    }
});
