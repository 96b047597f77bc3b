//! Arbitrary bytes as an NTFS volume: a valid boot sector is put in front (so the input
//! reaches the $MFT parser) unless the input starts with its own; every entry's content is
//! then read. Nothing may panic, hang or allocate without bound.
//! Run: cargo fuzz run --sanitizer none ntfs -- -runs=1000000 -max_len=65536
#![no_main]

use std::io::Read;
use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use mediahash::evidence::fs::{self, DataReader, EntryState};
use mediahash::evidence::image::DiskImage;

/// A boot sector: 512-byte sectors, 1 sector per cluster, 128 sectors, $MFT at cluster 2,
/// 1 KiB records.
fn boot() -> Vec<u8> {
    let mut b = vec![0u8; 1024];
    b[0] = 0xEB;
    b[3..11].copy_from_slice(b"NTFS    ");
    b[11..13].copy_from_slice(&512u16.to_le_bytes());
    b[13] = 1;
    b[0x28..0x30].copy_from_slice(&128u64.to_le_bytes());
    b[0x30..0x38].copy_from_slice(&2u64.to_le_bytes());
    b[0x40] = 0xF6; // 2^10 bytes per record
    b[510] = 0x55;
    b[511] = 0xAA;
    b
}

fuzz_target!(|data: &[u8]| {
    let mut media = if data.starts_with(b"\xEB\x52\x90NTFS") { Vec::new() } else { boot() };
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
