//! Arbitrary bytes as space to carve: the input is the media, read as one area of one or
//! two runs (the first byte chooses where a gap of 512 bytes is cut out, as an allocated
//! range would be); every carved picture's content is read. Nothing may panic, hang or
//! allocate without bound.
//! Run: cargo fuzz run --sanitizer none carve -- -runs=1000000 -max_len=262144
#![no_main]

use std::io::Read;
use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use mediahash::evidence::Item;
use mediahash::evidence::carve::{Area, AreaKind, Carver};
use mediahash::evidence::image::DiskImage;
use mediahash::report::Location;

fuzz_target!(|data: &[u8]| {
    let Some((&cut, _)) = data.split_first() else { return };
    let len = data.len() as u64;
    let at = u64::from(cut) * 512;
    let runs = if at > 0 && at + 512 < len {
        vec![(0, at), (at + 512, len - at - 512)]
    } else {
        vec![(0, len)]
    };
    let image: Arc<dyn DiskImage> = Arc::new(data.to_vec());
    let area = Area {
        prefix: b"fuzz".to_vec(),
        location: Location::default(),
        kind: AreaKind::Unpartitioned,
        runs,
    };
    for item in Carver::new(image, true, vec![area]) {
        if let Item::Content(c) = item
            && let Ok(mut opened) = c.content.open()
        {
            let _ = opened.reader.read_to_end(&mut Vec::new());
        }
    }
});
