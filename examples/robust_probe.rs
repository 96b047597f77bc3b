//! Prints what robust matching finds in pictures (borders, rectangles, banner, angle) and
//! the candidates' descriptions: `cargo run --release --example robust_probe -- FILE...`.

use mediahash::decode::{DecodeOptions, decode_rgb8};
use mediahash::robust::{geometry, query_candidates};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    for path in std::env::args().skip(1) {
        let bytes = std::fs::read(&path)?;
        let im = decode_rgb8(&bytes, &DecodeOptions::default())?;
        let (w, h, px) = (im.width, im.height, &im.pixels[..]);
        println!("{path}: {w}x{h}");
        println!("  uniform trim {:?}", geometry::uniform_trim(w, h, px)?);
        println!("  blurred trim {:?}", geometry::blurred_trim(w, h, px)?);
        println!("  rectangles {:?}", geometry::embedded(w, h, px)?);
        println!("  banner {:?}", geometry::banner(w, h, px)?);
        println!("  rotation {:?}", geometry::rotation(w, h, px)?);
        for c in query_candidates(w, h, px)? {
            println!("  candidate {} q{}: {}", c.hash, c.quality, c.describe());
        }
    }
    Ok(())
}
