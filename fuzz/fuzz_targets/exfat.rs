//! Arbitrary bytes as an exFAT volume: unless the input starts with its own exFAT boot
//! sector, a valid boot region (512-byte sectors and clusters, FAT at sector 24, cluster
//! heap at sector 32, 200 clusters, root directory in cluster 2, checksum sector right) is
//! put in front, so the input is the FAT and the cluster heap and reaches the directory
//! parser; every entry's content is then read. Nothing may panic, hang or allocate without
//! bound.
//! Run: cargo fuzz run --sanitizer none exfat -- -runs=1000000 -max_len=131072
#![no_main]

use std::io::Read;
use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use mediahash::evidence::fs::{self, DataReader, EntryState};
use mediahash::evidence::image::DiskImage;

/// The boot region (12 sectors) and its backup.
fn boot_region() -> Vec<u8> {
    let mut r = vec![0u8; 24 * 512];
    let b = &mut r[..512];
    b[0..3].copy_from_slice(&[0xEB, 0x76, 0x90]);
    b[3..11].copy_from_slice(b"EXFAT   ");
    b[72..80].copy_from_slice(&256u64.to_le_bytes());
    b[80..84].copy_from_slice(&24u32.to_le_bytes());
    b[84..88].copy_from_slice(&8u32.to_le_bytes());
    b[88..92].copy_from_slice(&32u32.to_le_bytes());
    b[92..96].copy_from_slice(&200u32.to_le_bytes());
    b[96..100].copy_from_slice(&2u32.to_le_bytes());
    b[108] = 9;
    b[110] = 1;
    b[510] = 0x55;
    b[511] = 0xAA;
    let mut sum = 0u32;
    for (i, &v) in r[..11 * 512].iter().enumerate() {
        if i != 106 && i != 107 && i != 112 {
            sum = sum.rotate_right(1).wrapping_add(u32::from(v));
        }
    }
    for k in 0..128 {
        r[11 * 512 + 4 * k..11 * 512 + 4 * k + 4].copy_from_slice(&sum.to_le_bytes());
    }
    let (main, backup) = r.split_at_mut(12 * 512);
    backup.copy_from_slice(main);
    r
}

fuzz_target!(|data: &[u8]| {
    let mut media = if data.starts_with(b"\xEB\x76\x90EXFAT   ") { Vec::new() } else { boot_region() };
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
