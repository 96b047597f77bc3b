//! Deterministic synthetic test images (benign: gradients, shapes, stripes, noise, blocky
//! "text"). One implementation, used by the tests in memory and by
//! `examples/gen_synthetic.rs`, which writes them as PNG for the reference scripts in
//! `scripts/` (Python `pdqhash` / `imagehash`) that computed the committed expected values.
#![allow(dead_code)]

/// A generated image: RGB8 row-major, or grey when `channels == 1`.
pub struct SynthImage {
    pub name: String,
    pub width: u32,
    pub height: u32,
    pub channels: u8,
    pub pixels: Vec<u8>,
}

// The shared test generator: a sibling module, `tests/common/rng.rs` (tests/common/mod.rs
// declares both; the examples that include this file by path include that one beside it).
pub use super::rng::Rng;

fn render(name: &str, w: u32, h: u32, f: impl Fn(u32, u32) -> [u8; 3]) -> SynthImage {
    let mut pixels = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        for x in 0..w {
            pixels.extend_from_slice(&f(x, y));
        }
    }
    SynthImage { name: name.to_string(), width: w, height: h, channels: 3, pixels }
}

fn gradient(w: u32, h: u32) -> SynthImage {
    render(&format!("gradient-{w}x{h}"), w, h, |x, y| {
        [(x * 255 / w.max(2)) as u8, (y * 255 / h.max(2)) as u8, ((x + y) * 255 / (w + h)) as u8]
    })
}

fn shapes(w: u32, h: u32) -> SynthImage {
    render(&format!("shapes-{w}x{h}"), w, h, |x, y| {
        let (cx, cy, r) = (w as i64 / 3, h as i64 / 2, (w.min(h) / 4) as i64);
        let (dx, dy) = (x as i64 - cx, y as i64 - cy);
        if dx * dx + dy * dy <= r * r {
            [220, 40, 40]
        } else if x > w * 3 / 5 && x < w * 9 / 10 && y > h / 5 && y < h * 3 / 5 {
            [30, 60, 200]
        } else if y > h * 4 / 5 {
            [40, 160, 60]
        } else {
            [(200 - y * 100 / h) as u8, (210 - y * 80 / h) as u8, 235]
        }
    })
}

fn stripes(w: u32, h: u32) -> SynthImage {
    render(&format!("stripes-{w}x{h}"), w, h, |x, y| {
        let v = if ((x * 3 + y) / 11) % 2 == 0 { 230 } else { 25 };
        [v, v / 2 + 60, 255 - v]
    })
}

fn noise(w: u32, h: u32, seed: u32) -> SynthImage {
    let mut rng = Rng(seed);
    let mut pixels = Vec::with_capacity((w * h * 3) as usize);
    for _ in 0..w * h * 3 {
        pixels.push((rng.next() >> 24) as u8);
    }
    SynthImage { name: format!("noise-{w}x{h}"), width: w, height: h, channels: 3, pixels }
}

/// Blocky glyph-like marks on paper: the kind of high-contrast document scan seen in cases.
pub fn text(w: u32, h: u32, seed: u32) -> SynthImage {
    let mut rng = Rng(seed);
    let cells: Vec<u32> = (0..(w / 6 + 1) * (h / 10 + 1)).map(|_| rng.next()).collect();
    render(&format!("text-{w}x{h}"), w, h, move |x, y| {
        let (cx, cy) = (x / 6, y / 10);
        let bits = cells[(cy * (w / 6 + 1) + cx) as usize];
        let (px, py) = (x % 6, y % 10);
        let on = px < 5 && py < 7 && (bits >> ((py * 5 + px) % 32)) & 1 == 1 && (cy % 3 != 2);
        if on { [20, 20, 30] } else { [245, 242, 230] }
    })
}

/// Smooth gradients, a few filled discs and rectangles, and mild noise: compresses and
/// hashes like a photograph rather than like flat colour or white noise. RGB8, row-major.
pub fn photo_like(width: u32, height: u32, seed: u32) -> Vec<u8> {
    let mut rng = Rng(seed | 1);
    let shapes: Vec<(i64, i64, i64, [i32; 3], bool)> = (0..6)
        .map(|_| {
            let cx = (rng.next() % width) as i64;
            let cy = (rng.next() % height) as i64;
            let r = (width.min(height) / 12 + rng.next() % (width.min(height) / 4)) as i64;
            let colour = [0, 0, 0].map(|_: i32| (rng.next() % 256) as i32);
            (cx, cy, r, colour, rng.next() & 1 == 0)
        })
        .collect();
    let mut pixels = Vec::with_capacity(width as usize * height as usize * 3);
    for y in 0..height as i64 {
        for x in 0..width as i64 {
            let mut px = [
                (x * 200 / width as i64) as i32 + 20,
                (y * 180 / height as i64) as i32 + 30,
                ((x + y) * 120 / (width + height) as i64) as i32 + 60,
            ];
            for &(cx, cy, r, colour, disc) in &shapes {
                let inside = if disc {
                    (x - cx) * (x - cx) + (y - cy) * (y - cy) <= r * r
                } else {
                    (x - cx).abs() <= r && (y - cy).abs() <= r / 2
                };
                if inside {
                    px = colour;
                }
            }
            let noise = (rng.next() >> 28) as i32 - 8;
            pixels.extend(px.map(|c| (c + noise).clamp(0, 255) as u8));
        }
    }
    pixels
}

/// PNG of an RGB8 buffer (image crate's encoder, default settings).
pub fn png_rgb8(width: u32, height: u32, rgb: &[u8]) -> Vec<u8> {
    use image::ImageEncoder;
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(rgb, width, height, image::ExtendedColorType::Rgb8)
        .expect("PNG encoding of a valid RGB8 buffer");
    out
}

fn to_grey(mut img: SynthImage) -> SynthImage {
    img.pixels = img.pixels.chunks_exact(3).map(|p| p[1]).collect();
    img.channels = 1;
    img.name = format!("grey-{}", img.name);
    img
}

/// The full set, in a fixed order. Sizes cover the PDQ edge cases: below 5 px, exactly 5,
/// exactly 64, odd sizes, extreme aspect ratios, and sides above 512.
pub fn all() -> Vec<SynthImage> {
    vec![
        gradient(4, 4),
        gradient(5, 5),
        gradient(64, 64),
        gradient(300, 200),
        shapes(63, 65),
        shapes(640, 480),
        shapes(1000, 30),
        shapes(37, 700),
        stripes(256, 256),
        stripes(1031, 517),
        noise(64, 64, 7),
        noise(200, 150, 99),
        text(320, 240, 3),
        text(800, 600, 11),
        to_grey(shapes(250, 190)),
        to_grey(noise(96, 128, 5)),
    ]
}
