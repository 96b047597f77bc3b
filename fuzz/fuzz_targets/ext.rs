//! Arbitrary bytes against the ext2/3/4 reader. An input holding an ext superblock magic
//! at byte 1080 is read as a whole volume (seed a corpus with small `mke2fs -d` images);
//! any other input is XORed onto a small built-in ext2 volume (1 KiB blocks: a root
//! directory with a deleted name in its slack, a file through a block map, a directory and
//! a file through extent trees, an index node, a deleted inode and an orphan), so mutations
//! reach the descriptors, bitmaps, inodes, directory blocks and extent nodes. Every entry's
//! content is then read and the free space listed. Nothing may panic, hang or allocate
//! without bound.
//! Run: RUSTC_BOOTSTRAP=1 cargo fuzz run --sanitizer none ext -- -runs=1000000 -max_len=65536
#![no_main]

use std::io::Read;
use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use mediahash::evidence::fs::{self, DataReader, EntryState};
use mediahash::evidence::image::DiskImage;

const BS: usize = 1024;
const BLOCKS: usize = 64;

fn put(img: &mut [u8], at: usize, bytes: &[u8]) {
    img[at..at + bytes.len()].copy_from_slice(bytes);
}

fn put32(img: &mut [u8], at: usize, v: u32) {
    put(img, at, &v.to_le_bytes());
}

fn put16(img: &mut [u8], at: usize, v: u16) {
    put(img, at, &v.to_le_bytes());
}

/// Inode `n`'s offset (inode table at block 5, 128-byte inodes).
fn inode(n: usize) -> usize {
    5 * BS + (n - 1) * 128
}

/// A directory entry at `at`.
fn dirent(img: &mut [u8], at: usize, ino: u32, rec_len: u16, name: &[u8], kind: u8) {
    put32(img, at, ino);
    put16(img, at + 4, rec_len);
    img[at + 6] = name.len() as u8;
    img[at + 7] = kind;
    put(img, at + 8, name);
}

fn extent_header(img: &mut [u8], at: usize, entries: u16, max: u16, depth: u16) {
    put16(img, at, 0xF30A);
    put16(img, at + 2, entries);
    put16(img, at + 4, max);
    put16(img, at + 6, depth);
}

/// A regular file or directory inode.
fn make_inode(img: &mut [u8], n: usize, mode: u16, size: u32, flags: u32) {
    let at = inode(n);
    put16(img, at, mode);
    put32(img, at + 4, size);
    put32(img, at + 0x0C, 1_700_000_000); // ctime: used
    put32(img, at + 0x10, 1_700_000_000);
    put16(img, at + 0x1A, 1);
    put32(img, at + 0x20, flags);
}

fn template() -> Vec<u8> {
    let mut img = vec![0u8; BS * BLOCKS];
    let sb = 1024;
    put32(&mut img, sb, 32); // inodes
    put32(&mut img, sb + 4, BLOCKS as u32);
    put32(&mut img, sb + 0x14, 1); // first data block
    put32(&mut img, sb + 0x20, 8192);
    put32(&mut img, sb + 0x24, 8192);
    put32(&mut img, sb + 0x28, 32);
    put16(&mut img, sb + 0x38, 0xEF53);
    put32(&mut img, sb + 0x4C, 1); // dynamic revision
    put32(&mut img, sb + 0x54, 11);
    put16(&mut img, sb + 0x58, 128);
    put32(&mut img, sb + 0x60, 0x0002 | 0x0040); // filetype, extents
    put32(&mut img, sb + 0x64, 0x0002); // large_file
    // Group 0: bitmaps at 3 and 4, inode table 5-8.
    put32(&mut img, 2 * BS, 3);
    put32(&mut img, 2 * BS + 4, 4);
    put32(&mut img, 2 * BS + 8, 5);
    // Blocks 1-15 in use (bit i: block 1 + i), 16 and 17 free (deleted, orphan data).
    put16(&mut img, 3 * BS, 0x7FFF);
    // Inodes 1-13 and 15 in use; 14 deleted, 16 an orphan.
    put16(&mut img, 4 * BS, 0x5FFF);
    // Root (2): block 9.
    make_inode(&mut img, 2, 0x41ED, BS as u32, 0);
    put32(&mut img, inode(2) + 0x28, 9);
    let root = 9 * BS;
    dirent(&mut img, root, 2, 12, b".", 2);
    dirent(&mut img, root + 12, 2, 12, b"..", 2);
    dirent(&mut img, root + 24, 12, 16, b"file", 1);
    // "sub" claims the rest; a deleted "gone" sits in its slack.
    dirent(&mut img, root + 40, 13, (BS - 40) as u16, b"sub", 2);
    dirent(&mut img, root + 52, 14, 12, b"gone", 1);
    // 12: 1500 bytes in blocks 10-11 (block map).
    make_inode(&mut img, 12, 0x81A4, 1500, 0);
    put32(&mut img, inode(12) + 0x28, 10);
    put32(&mut img, inode(12) + 0x2C, 11);
    img[10 * BS..10 * BS + 1500].fill(b'a');
    // 13: a directory through an extent (block 13).
    make_inode(&mut img, 13, 0x41ED, BS as u32, 0x80000);
    extent_header(&mut img, inode(13) + 0x28, 1, 4, 0);
    put16(&mut img, inode(13) + 0x28 + 16, 1);
    put32(&mut img, inode(13) + 0x28 + 20, 13);
    let sub = 13 * BS;
    dirent(&mut img, sub, 13, 12, b".", 2);
    dirent(&mut img, sub + 12, 2, 12, b"..", 2);
    dirent(&mut img, sub + 24, 15, (BS - 24) as u16, b"x", 1);
    // 14: deleted, its pointer (block 16) intact.
    make_inode(&mut img, 14, 0x81A4, 100, 0);
    put32(&mut img, inode(14) + 0x14, 1_700_000_001); // dtime
    put32(&mut img, inode(14) + 0x28, 16);
    img[16 * BS..16 * BS + 100].fill(b'd');
    // 15: an extent tree of depth 1: index in the inode, leaf in block 14, data in 15.
    make_inode(&mut img, 15, 0x81A4, 700, 0x80000);
    extent_header(&mut img, inode(15) + 0x28, 1, 4, 1);
    put32(&mut img, inode(15) + 0x28 + 16, 14);
    extent_header(&mut img, 14 * BS, 1, 84, 0);
    put16(&mut img, 14 * BS + 16, 1);
    put32(&mut img, 14 * BS + 20, 15);
    img[15 * BS..15 * BS + 700].fill(b'x');
    // 16: an orphan (free, used, no name), data in block 17.
    make_inode(&mut img, 16, 0x81A4, 10, 0);
    put32(&mut img, inode(16) + 0x28, 17);
    img
}

fuzz_target!(|data: &[u8]| {
    let media = if data.len() >= 2048 && data[1080..1082] == [0x53, 0xEF] {
        data.to_vec()
    } else {
        let mut img = template();
        for (b, d) in img.iter_mut().zip(data) {
            *b ^= d;
        }
        img
    };
    let image: Arc<dyn DiskImage> = Arc::new(media);
    let Ok(found) = fs::open(&*image, 0, image.len()) else { return };
    assert!(found.unallocated.windows(2).all(|w| w[0].0 + w[0].1 <= w[1].0));
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
