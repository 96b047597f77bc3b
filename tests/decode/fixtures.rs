//! Small images in every supported format and pixel layout, generated in code. The tests
//! decode them in memory and compare with Pillow's decode of the same bytes, whose digests
//! are committed in tests/vectors/pillow-fixtures-sha256.csv (written by
//! scripts/pillow_decode_digests.py from the files that
//! `MEDIAHASH_WRITE_DECODE_FIXTURES=DIR cargo test --test decode write_fixtures` writes).
//! Also home to the raw container writers that the hostile-input tests use.
#![allow(dead_code)]

use super::jpeg_encode::{self, JpegColor, JpegSpec};

/// One generated file.
pub struct Fixture {
    /// Relative path with a telling extension, e.g. "png/grey16-23x17.png".
    pub name: String,
    pub bytes: Vec<u8>,
}

pub use crate::common::rng::Rng;

/// A photo-like RGB test picture: gradients, a disc, stripes and mild noise.
pub fn photo_rgb(w: u32, h: u32, seed: u32) -> Vec<u8> {
    let mut rng = Rng(seed | 1);
    let mut out = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        for x in 0..w {
            let (cx, cy) = (x as i64 - w as i64 / 3, y as i64 - h as i64 / 2);
            let r2 = (w.min(h) as i64 / 4).pow(2);
            let noise = (rng.byte() % 9) as i64 - 4;
            let base = if cx * cx + cy * cy <= r2 {
                [200, 60, 50]
            } else if (x / 3 + y / 5) % 7 == 0 {
                [30, 40, 160]
            } else {
                [
                    (x * 255 / w.max(1)) as i64,
                    (y * 255 / h.max(1)) as i64,
                    ((x + y) * 127 / (w + h)) as i64 + 64,
                ]
            };
            for c in base {
                out.push((c + noise).clamp(0, 255) as u8);
            }
        }
    }
    out
}

/// Uniform random samples.
pub fn noise(len: usize, seed: u32) -> Vec<u8> {
    let mut rng = Rng(seed | 1);
    (0..len).map(|_| rng.byte()).collect()
}

// ---------------------------------------------------------------- PNG

/// zlib stream of stored (uncompressed) deflate blocks.
pub fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let mut chunks = data.chunks(65_535).peekable();
    if chunks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xFF, 0xFF]);
    }
    while let Some(chunk) = chunks.next() {
        out.push(u8::from(chunks.peek().is_none()));
        let len = chunk.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in data {
        a = (a + u32::from(byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    out.extend_from_slice(&((b << 16) | a).to_be_bytes());
    out
}

pub fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32fast::hash(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

pub fn png_ihdr(width: u32, height: u32, bit_depth: u8, color_type: u8) -> Vec<u8> {
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[bit_depth, color_type, 0, 0, 0]);
    ihdr
}

/// Packs samples (each < 2^bits) into big-endian rows as PNG and PNM store them.
pub fn pack_row(samples: &[u16], bits: u8) -> Vec<u8> {
    match bits {
        16 => samples.iter().flat_map(|s| s.to_be_bytes()).collect(),
        8 => samples.iter().map(|&s| s as u8).collect(),
        _ => {
            let per_byte = 8 / bits as usize;
            samples
                .chunks(per_byte)
                .map(|group| {
                    group.iter().enumerate().fold(0u8, |acc, (i, &s)| {
                        acc | ((s as u8) << (8 - bits as usize * (i + 1)))
                    })
                })
                .collect()
        }
    }
}

/// A PNG with unfiltered rows of `samples_per_row` samples each.
pub fn png(
    width: u32,
    height: u32,
    bit_depth: u8,
    color_type: u8,
    samples: &[u16],
    extra_chunks: &[(&[u8; 4], Vec<u8>)],
) -> Vec<u8> {
    let channels = match color_type {
        0 | 3 => 1,
        2 => 3,
        4 => 2,
        6 => 4,
        _ => panic!("colour type"),
    };
    let per_row = width as usize * channels;
    let mut raw = Vec::new();
    for row in samples.chunks(per_row) {
        raw.push(0);
        raw.extend(pack_row(row, bit_depth));
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    png_chunk(&mut out, b"IHDR", &png_ihdr(width, height, bit_depth, color_type));
    for (kind, data) in extra_chunks {
        png_chunk(&mut out, kind, data);
    }
    png_chunk(&mut out, b"IDAT", &zlib_stored(&raw));
    png_chunk(&mut out, b"IEND", &[]);
    out
}

fn samples_u16(count: usize, bits: u8, seed: u32) -> Vec<u16> {
    let mut rng = Rng(seed | 1);
    let max = if bits == 16 { u32::from(u16::MAX) } else { (1u32 << bits) - 1 };
    (0..count)
        .map(|i| {
            // Cover the extremes and the values near 255/256 as well as random ones.
            let special =
                [0, max, 1, 254.min(max), 255.min(max), 256.min(max), 257.min(max), max / 2];
            if i < special.len() { special[i] as u16 } else { (rng.next() % (max + 1)) as u16 }
        })
        .collect()
}

fn png_fixtures(out: &mut Vec<Fixture>) {
    let (w, h) = (23u32, 17u32);
    let n = (w * h) as usize;
    let mut add = |name: &str, bytes: Vec<u8>| {
        out.push(Fixture { name: format!("png/{name}-{w}x{h}.png"), bytes })
    };
    for bits in [1u8, 2, 4, 8, 16] {
        add(&format!("grey{bits}"), png(w, h, bits, 0, &samples_u16(n, bits, 11), &[]));
    }
    add("grey8-trns", png(w, h, 8, 0, &samples_u16(n, 8, 12), &[(b"tRNS", vec![0, 7])]));
    add("greyalpha8", png(w, h, 8, 4, &samples_u16(n * 2, 8, 13), &[]));
    add("greyalpha16", png(w, h, 16, 4, &samples_u16(n * 2, 16, 14), &[]));
    add("rgb8", png(w, h, 8, 2, &samples_u16(n * 3, 8, 15), &[]));
    add("rgb16", png(w, h, 16, 2, &samples_u16(n * 3, 16, 16), &[]));
    add(
        "rgb8-trns",
        png(w, h, 8, 2, &samples_u16(n * 3, 8, 17), &[(b"tRNS", vec![0, 9, 0, 9, 0, 9])]),
    );
    add("rgba8", png(w, h, 8, 6, &samples_u16(n * 4, 8, 18), &[]));
    add("rgba16", png(w, h, 16, 6, &samples_u16(n * 4, 16, 19), &[]));
    for bits in [1u8, 2, 4, 8] {
        let entries = 1usize << bits;
        let plte = noise(entries * 3, 20 + u32::from(bits));
        let trns: Vec<u8> = (0..entries).map(|i| (i * 37 % 256) as u8).collect();
        add(
            &format!("palette{bits}"),
            png(w, h, bits, 3, &samples_u16(n, bits, 21), &[(b"PLTE", plte.clone())]),
        );
        add(
            &format!("palette{bits}-trns"),
            png(w, h, bits, 3, &samples_u16(n, bits, 22), &[(b"PLTE", plte), (b"tRNS", trns)]),
        );
    }
    // A 5-entry palette while indices go up to 255: out-of-range indices.
    add("palette8-short", png(w, h, 8, 3, &samples_u16(n, 8, 23), &[(b"PLTE", noise(15, 24))]));
}

// ---------------------------------------------------------------- GIF

/// One GIF image block.
pub struct GifFrame {
    pub left: u16,
    pub top: u16,
    pub width: u16,
    pub height: u16,
    /// RGB triples; length must be 3 * 2^k entries, k in 1..=8.
    pub local_palette: Option<Vec<u8>>,
    pub transparent: Option<u8>,
    pub interlaced: bool,
    /// Indices in stored order (for interlaced frames: pass order).
    pub indices: Vec<u8>,
    pub min_code_size: u8,
}

fn palette_size_bits(palette: &[u8]) -> u8 {
    let entries = palette.len() / 3;
    assert!(entries.is_power_of_two() && (2..=256).contains(&entries), "palette size");
    entries.trailing_zeros() as u8 - 1
}

/// LZW without compression: a clear code before the code table would widen.
pub fn gif_lzw(indices: &[u8], min_code_size: u8) -> Vec<u8> {
    let clear = 1u32 << min_code_size;
    let width = u32::from(min_code_size) + 1;
    let per_clear = (clear - 2) as usize;
    let mut codes = Vec::new();
    for chunk in indices.chunks(per_clear.max(1)) {
        codes.push(clear);
        codes.extend(chunk.iter().map(|&i| u32::from(i)));
    }
    codes.push(clear + 1);
    let (mut acc, mut nbits, mut out) = (0u64, 0u32, Vec::new());
    for code in codes {
        acc |= u64::from(code) << nbits;
        nbits += width;
        while nbits >= 8 {
            out.push(acc as u8);
            acc >>= 8;
            nbits -= 8;
        }
    }
    if nbits > 0 {
        out.push(acc as u8);
    }
    out
}

pub fn gif(width: u16, height: u16, global_palette: Option<&[u8]>, frames: &[GifFrame]) -> Vec<u8> {
    let mut out = b"GIF89a".to_vec();
    out.extend_from_slice(&width.to_le_bytes());
    out.extend_from_slice(&height.to_le_bytes());
    match global_palette {
        Some(p) => out.extend_from_slice(&[0x80 | 0x70 | palette_size_bits(p), 0, 0]),
        None => out.extend_from_slice(&[0x70, 0, 0]),
    }
    if let Some(p) = global_palette {
        out.extend_from_slice(p);
    }
    for f in frames {
        if let Some(t) = f.transparent {
            out.extend_from_slice(&[0x21, 0xF9, 4, 1, 10, 0, t, 0]);
        }
        out.push(0x2C);
        for v in [f.left, f.top, f.width, f.height] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        let mut flags = if f.interlaced { 0x40 } else { 0 };
        if let Some(p) = &f.local_palette {
            flags |= 0x80 | palette_size_bits(p);
        }
        out.push(flags);
        if let Some(p) = &f.local_palette {
            out.extend_from_slice(p);
        }
        out.push(f.min_code_size);
        for block in gif_lzw(&f.indices, f.min_code_size).chunks(255) {
            out.push(block.len() as u8);
            out.extend_from_slice(block);
        }
        out.push(0);
    }
    out.push(0x3B);
    out
}

fn gif_fixtures(out: &mut Vec<Fixture>) {
    let palette16 = noise(16 * 3, 31);
    let frame = |w: u16, h: u16, seed: u32, colours: u32| GifFrame {
        left: 0,
        top: 0,
        width: w,
        height: h,
        local_palette: None,
        transparent: None,
        interlaced: false,
        indices: noise(w as usize * h as usize, seed)
            .iter()
            .map(|&v| (u32::from(v) % colours) as u8)
            .collect(),
        min_code_size: 4,
    };
    let mut add =
        |name: &str, bytes: Vec<u8>| out.push(Fixture { name: format!("gif/{name}.gif"), bytes });
    add("plain-19x13", gif(19, 13, Some(&palette16), &[frame(19, 13, 32, 16)]));
    add(
        "transparent-19x13",
        gif(
            19,
            13,
            Some(&palette16),
            &[GifFrame { transparent: Some(3), ..frame(19, 13, 33, 16) }],
        ),
    );
    add(
        "offset-frame-30x20",
        gif(30, 20, Some(&palette16), &[GifFrame { left: 5, top: 3, ..frame(17, 11, 34, 16) }]),
    );
    add(
        "offset-frame-transparent-30x20",
        gif(
            30,
            20,
            Some(&palette16),
            &[GifFrame { left: 5, top: 3, transparent: Some(9), ..frame(17, 11, 35, 16) }],
        ),
    );
    add(
        "frame-beyond-screen-10x8",
        gif(10, 8, Some(&palette16), &[GifFrame { left: 4, top: 2, ..frame(12, 9, 36, 16) }]),
    );
    add(
        "local-palette-19x13",
        gif(
            19,
            13,
            Some(&palette16),
            &[GifFrame { local_palette: Some(noise(8 * 3, 37)), ..frame(19, 13, 38, 8) }],
        ),
    );
    // Interlaced: rows are stored in pass order, which the writer takes as given.
    add(
        "interlaced-19x13",
        gif(19, 13, Some(&palette16), &[GifFrame { interlaced: true, ..frame(19, 13, 39, 16) }]),
    );
    // Indices beyond a 4-entry palette (code size 8).
    let small = noise(4 * 3, 40);
    add(
        "indices-beyond-palette-19x13",
        gif(19, 13, Some(&small), &[GifFrame { min_code_size: 8, ..frame(19, 13, 41, 256) }]),
    );
    // Identity grey ramp palette: Pillow opens it as mode "L".
    let ramp: Vec<u8> = (0..4u8).flat_map(|i| [i, i, i]).collect();
    add(
        "grey-ramp-beyond-palette-19x13",
        gif(19, 13, Some(&ramp), &[GifFrame { min_code_size: 8, ..frame(19, 13, 42, 256) }]),
    );
    // Data ending early (end code after 100 of 247 pixels): the rest is background.
    let mut short = frame(19, 13, 43, 16);
    short.indices.truncate(100);
    add("short-data-19x13", gif(19, 13, Some(&palette16), &[short]));
    // No colour table at all: Pillow reads indices as grey; we refuse it as unsupported.
    add("no-palette-19x13", gif(19, 13, None, &[frame(19, 13, 46, 16)]));
    // Two frames: only the first counts.
    add(
        "two-frames-19x13",
        gif(
            19,
            13,
            Some(&palette16),
            &[frame(19, 13, 44, 16), GifFrame { left: 2, top: 2, ..frame(5, 5, 45, 16) }],
        ),
    );
}

// ---------------------------------------------------------------- BMP

/// A BMP. `rows` are top to bottom, unpadded; `header_size` 40, 56 or 108; `masks` (R, G,
/// B, A) for BI_BITFIELDS; `palette` as B, G, R, 0 quads.
pub fn bmp(
    width: i32,
    height: i32,
    bpp: u16,
    header_size: u32,
    masks: Option<[u32; 4]>,
    palette: &[[u8; 4]],
    rows: &[Vec<u8>],
) -> Vec<u8> {
    let compression: u32 = if masks.is_some() { 3 } else { 0 };
    let separate_masks = if masks.is_some() && header_size == 40 { 12 } else { 0 };
    let data_offset = 14 + header_size + separate_masks + palette.len() as u32 * 4;
    let stride = rows[0].len().div_ceil(4) * 4;
    let image_size = (stride * rows.len()) as u32;
    let mut out = b"BM".to_vec();
    out.extend_from_slice(&(data_offset + image_size).to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&data_offset.to_le_bytes());
    let mut header = Vec::new();
    header.extend_from_slice(&header_size.to_le_bytes());
    header.extend_from_slice(&width.to_le_bytes());
    header.extend_from_slice(&height.to_le_bytes());
    header.extend_from_slice(&1u16.to_le_bytes());
    header.extend_from_slice(&bpp.to_le_bytes());
    header.extend_from_slice(&compression.to_le_bytes());
    header.extend_from_slice(&image_size.to_le_bytes());
    header.extend_from_slice(&2835i32.to_le_bytes());
    header.extend_from_slice(&2835i32.to_le_bytes());
    header.extend_from_slice(&(palette.len() as u32).to_le_bytes());
    header.extend_from_slice(&0u32.to_le_bytes());
    if let Some(m) = masks {
        let count = if header_size == 40 { 3 } else { 4 };
        for v in &m[..count] {
            header.extend_from_slice(&v.to_le_bytes());
        }
    }
    if header_size == 108 {
        header.extend_from_slice(b"BGRs");
        header.resize(108, 0);
    }
    header.resize((header_size + separate_masks) as usize, 0);
    out.extend(header);
    for entry in palette {
        out.extend_from_slice(entry);
    }
    let bottom_up = height > 0;
    let ordered: Vec<&Vec<u8>> =
        if bottom_up { rows.iter().rev().collect() } else { rows.iter().collect() };
    for row in ordered {
        let mut padded = row.clone();
        padded.resize(stride, 0);
        out.extend(padded);
    }
    out
}

fn bmp_fixtures(out: &mut Vec<Fixture>) {
    let (w, h) = (21u32, 14u32);
    let mut add = |name: &str, bytes: Vec<u8>| {
        out.push(Fixture { name: format!("bmp/{name}-{w}x{h}.bmp"), bytes })
    };
    for bpp in [1u16, 4, 8] {
        let entries = 1usize << bpp;
        let palette: Vec<[u8; 4]> = noise(entries * 3, 50 + u32::from(bpp))
            .chunks(3)
            .map(|c| [c[0], c[1], c[2], 0])
            .collect();
        let rows: Vec<Vec<u8>> = (0..h)
            .map(|y| {
                let s = samples_u16(w as usize, bpp as u8, 60 + y);
                pack_row(&s, bpp as u8)
            })
            .collect();
        add(&format!("palette{bpp}"), bmp(w as i32, h as i32, bpp, 40, None, &palette, &rows));
    }
    let rgb_rows = |bytes_per_pixel: usize, seed: u32| -> Vec<Vec<u8>> {
        (0..h).map(|y| noise(w as usize * bytes_per_pixel, seed + y)).collect()
    };
    add("bgr24", bmp(w as i32, h as i32, 24, 40, None, &[], &rgb_rows(3, 70)));
    add("bgr24-top-down", bmp(w as i32, -(h as i32), 24, 40, None, &[], &rgb_rows(3, 71)));
    add("bgrx32", bmp(w as i32, h as i32, 32, 40, None, &[], &rgb_rows(4, 72)));
    add("rgb555", bmp(w as i32, h as i32, 16, 40, None, &[], &rgb_rows(2, 73)));
    add(
        "rgb565",
        bmp(w as i32, h as i32, 16, 40, Some([0xF800, 0x07E0, 0x001F, 0]), &[], &rgb_rows(2, 74)),
    );
    add(
        "bgra32-v4",
        bmp(
            w as i32,
            h as i32,
            32,
            108,
            Some([0x00FF_0000, 0x0000_FF00, 0x0000_00FF, 0xFF00_0000]),
            &[],
            &rgb_rows(4, 75),
        ),
    );
}

// ---------------------------------------------------------------- TIFF

/// A little-endian, uncompressed, single-strip TIFF. `data` holds the packed rows.
#[allow(clippy::too_many_arguments)]
pub fn tiff(
    width: u32,
    height: u32,
    bits: u16,
    samples_per_pixel: u16,
    photometric: u16,
    extra_alpha: bool,
    colormap: Option<&[u16]>,
    data: &[u8],
) -> Vec<u8> {
    enum Value<'a> {
        Short(u16),
        Long(u32),
        Shorts(&'a [u16]),
    }
    let bits_list = vec![bits; samples_per_pixel as usize];
    let data_offset = 8u32;
    let mut tags: Vec<(u16, Value)> = vec![
        (256, Value::Long(width)),
        (257, Value::Long(height)),
        (258, if samples_per_pixel == 1 { Value::Short(bits) } else { Value::Shorts(&bits_list) }),
        (259, Value::Short(1)),
        (262, Value::Short(photometric)),
        (273, Value::Long(data_offset)),
        (277, Value::Short(samples_per_pixel)),
        (278, Value::Long(height)),
        (279, Value::Long(data.len() as u32)),
        (284, Value::Short(1)),
    ];
    if let Some(map) = colormap {
        tags.push((320, Value::Shorts(map)));
    }
    if extra_alpha {
        tags.push((338, Value::Short(2)));
    }
    let mut out = b"II*\0".to_vec();
    let ifd_offset = data_offset + data.len() as u32 + (data.len() as u32 & 1);
    out.extend_from_slice(&ifd_offset.to_le_bytes());
    out.extend_from_slice(data);
    if data.len() % 2 == 1 {
        out.push(0);
    }
    let ifd_len = 2 + tags.len() as u32 * 12 + 4;
    let mut overflow = Vec::new();
    let mut ifd = Vec::new();
    ifd.extend_from_slice(&(tags.len() as u16).to_le_bytes());
    for (tag, value) in &tags {
        ifd.extend_from_slice(&tag.to_le_bytes());
        match value {
            Value::Short(v) => {
                ifd.extend_from_slice(&3u16.to_le_bytes());
                ifd.extend_from_slice(&1u32.to_le_bytes());
                ifd.extend_from_slice(&v.to_le_bytes());
                ifd.extend_from_slice(&[0, 0]);
            }
            Value::Long(v) => {
                ifd.extend_from_slice(&4u16.to_le_bytes());
                ifd.extend_from_slice(&1u32.to_le_bytes());
                ifd.extend_from_slice(&v.to_le_bytes());
            }
            Value::Shorts(list) => {
                ifd.extend_from_slice(&3u16.to_le_bytes());
                ifd.extend_from_slice(&(list.len() as u32).to_le_bytes());
                if list.len() <= 2 {
                    let mut inline = [0u8; 4];
                    for (i, v) in list.iter().enumerate() {
                        inline[i * 2..i * 2 + 2].copy_from_slice(&v.to_le_bytes());
                    }
                    ifd.extend_from_slice(&inline);
                } else {
                    let at = ifd_offset + ifd_len + overflow.len() as u32;
                    ifd.extend_from_slice(&at.to_le_bytes());
                    for v in *list {
                        overflow.extend_from_slice(&v.to_le_bytes());
                    }
                }
            }
        }
    }
    ifd.extend_from_slice(&0u32.to_le_bytes());
    out.extend(ifd);
    out.extend(overflow);
    out
}

fn tiff_fixtures(out: &mut Vec<Fixture>) {
    let (w, h) = (19u32, 11u32);
    let n = (w * h) as usize;
    let mut add = |name: &str, bytes: Vec<u8>| {
        out.push(Fixture { name: format!("tiff/{name}-{w}x{h}.tif"), bytes })
    };
    let le16 = |s: &[u16]| -> Vec<u8> { s.iter().flat_map(|v| v.to_le_bytes()).collect() };
    let packed = |bits: u8, seed: u32| -> Vec<u8> {
        (0..h).flat_map(|y| pack_row(&samples_u16(w as usize, bits, seed + y), bits)).collect()
    };
    add("bilevel-blackiszero", tiff(w, h, 1, 1, 1, false, None, &packed(1, 80)));
    add("bilevel-whiteiszero", tiff(w, h, 1, 1, 0, false, None, &packed(1, 81)));
    add("grey8", tiff(w, h, 8, 1, 1, false, None, &noise(n, 82)));
    add("grey16", tiff(w, h, 16, 1, 1, false, None, &le16(&samples_u16(n, 16, 83))));
    add("greyalpha8", tiff(w, h, 8, 2, 1, true, None, &noise(n * 2, 84)));
    add("rgb8", tiff(w, h, 8, 3, 2, false, None, &noise(n * 3, 85)));
    add("rgb16", tiff(w, h, 16, 3, 2, false, None, &le16(&samples_u16(n * 3, 16, 86))));
    add("rgba8", tiff(w, h, 8, 4, 2, true, None, &noise(n * 4, 87)));
    add("rgba16", tiff(w, h, 16, 4, 2, true, None, &le16(&samples_u16(n * 4, 16, 88))));
    add("cmyk8", tiff(w, h, 8, 4, 5, false, None, &noise(n * 4, 89)));
    let map: Vec<u16> = samples_u16(3 * 256, 16, 90);
    add("palette8", tiff(w, h, 8, 1, 3, false, Some(&map), &noise(n, 91)));
    let map4: Vec<u16> = samples_u16(3 * 16, 16, 92);
    add("palette4", tiff(w, h, 4, 1, 3, false, Some(&map4), &packed(4, 93)));
    // Every (ink, K) pair once: C = x, M = 255 - x, Y = x ^ y, K = y over 256 x 256.
    let all_pairs: Vec<u8> =
        (0..=255u8).flat_map(|y| (0..=255u8).flat_map(move |x| [x, 255 - x, x ^ y, y])).collect();
    out.push(Fixture {
        name: "tiff/cmyk8-all-pairs-256x256.tif".into(),
        bytes: tiff(256, 256, 8, 4, 5, false, None, &all_pairs),
    });
}

// ---------------------------------------------------------------- ICO

/// An ICO whose entries are (width, height, stored image bytes: PNG or headerless DIB).
pub fn ico(entries: &[(u32, u32, u16, Vec<u8>)]) -> Vec<u8> {
    let mut out = vec![0, 0, 1, 0];
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    let mut offset = 6 + 16 * entries.len() as u32;
    for (w, h, bpp, data) in entries {
        out.push((*w % 256) as u8);
        out.push((*h % 256) as u8);
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&1u16.to_le_bytes());
        out.extend_from_slice(&bpp.to_le_bytes());
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(&offset.to_le_bytes());
        offset += data.len() as u32;
    }
    for (_, _, _, data) in entries {
        out.extend_from_slice(data);
    }
    out
}

/// A 32-bit BGRA DIB as ICO stores it: doubled height, then an AND mask.
pub fn ico_dib32(w: u32, h: u32, seed: u32) -> Vec<u8> {
    let rows: Vec<Vec<u8>> = (0..h).map(|y| noise(w as usize * 4, seed + y)).collect();
    let full = bmp(w as i32, 2 * h as i32, 32, 40, None, &[], &rows);
    let mut dib = full[14..].to_vec();
    // `bmp` wrote h rows; add the AND mask rows (1 bpp, padded to 4 bytes).
    let mask_stride = (w as usize).div_ceil(32) * 4;
    dib.extend(vec![0u8; mask_stride * h as usize]);
    dib
}

fn ico_fixtures(out: &mut Vec<Fixture>) {
    let png_entry = |w: u32, h: u32, seed: u32| {
        png(w, h, 8, 6, &samples_u16((w * h * 4) as usize, 8, seed), &[])
    };
    let mut add =
        |name: &str, bytes: Vec<u8>| out.push(Fixture { name: format!("ico/{name}.ico"), bytes });
    add(
        "png-16-and-32",
        ico(&[(16, 16, 32, png_entry(16, 16, 100)), (32, 32, 32, png_entry(32, 32, 101))]),
    );
    add("bmp32-16", ico(&[(16, 16, 32, ico_dib32(16, 16, 102))]));
    add(
        "bmp32-16-and-png-24",
        ico(&[(16, 16, 32, ico_dib32(16, 16, 103)), (24, 24, 32, png_entry(24, 24, 104))]),
    );
}

// ---------------------------------------------------------------- PNM

fn pnm_fixtures(out: &mut Vec<Fixture>) {
    let (w, h) = (13u32, 7u32);
    let n = (w * h) as usize;
    let mut add = |name: &str, bytes: Vec<u8>| {
        out.push(Fixture { name: format!("pnm/{name}-{w}x{h}.pnm"), bytes })
    };
    let binary = |magic: &str, maxval: Option<u32>, samples: &[u16], wide: bool| {
        let mut b = match maxval {
            Some(m) => format!("{magic}\n# a comment\n{w} {h}\n{m}\n").into_bytes(),
            None => format!("{magic}\n{w} {h}\n").into_bytes(),
        };
        b.extend(pack_row(samples, if wide { 16 } else { 8 }));
        b
    };
    let plain = |magic: &str, maxval: Option<u32>, samples: &[u16]| {
        let mut s = match maxval {
            Some(m) => format!("{magic}\n{w} {h}\n{m}\n"),
            None => format!("{magic}\n{w} {h}\n"),
        };
        for (i, v) in samples.iter().enumerate() {
            s.push_str(&v.to_string());
            s.push(if i % 11 == 10 { '\n' } else { ' ' });
        }
        s.into_bytes()
    };
    let scaled = |count: usize, maxval: u32, seed: u32| -> Vec<u16> {
        let mut rng = Rng(seed);
        (0..count)
            .map(|i| if i < 2 { [0, maxval][i] as u16 } else { (rng.next() % (maxval + 1)) as u16 })
            .collect()
    };
    // P4: rows padded to whole bytes.
    let mut p4 = format!("P4\n{w} {h}\n").into_bytes();
    for y in 0..h {
        p4.extend(pack_row(&samples_u16(w as usize, 1, 110 + y), 1));
    }
    add("p4", p4);
    add("p1", plain("P1", None, &samples_u16(n, 1, 111)));
    add("p5-255", binary("P5", Some(255), &scaled(n, 255, 112), false));
    add("p5-200", binary("P5", Some(200), &scaled(n, 200, 113), false));
    add("p5-15", binary("P5", Some(15), &scaled(n, 15, 114), false));
    add("p5-1000", binary("P5", Some(1000), &scaled(n, 1000, 115), true));
    add("p5-65535", binary("P5", Some(65535), &scaled(n, 65535, 116), true));
    add("p6-255", binary("P6", Some(255), &scaled(n * 3, 255, 117), false));
    add("p6-10", binary("P6", Some(10), &scaled(n * 3, 10, 118), false));
    add("p6-1000", binary("P6", Some(1000), &scaled(n * 3, 1000, 119), true));
    add("p6-65535", binary("P6", Some(65535), &scaled(n * 3, 65535, 120), true));
    add("p2-255", plain("P2", Some(255), &scaled(n, 255, 121)));
    add("p2-10", plain("P2", Some(10), &scaled(n, 10, 122)));
    add("p2-1000", plain("P2", Some(1000), &scaled(n, 1000, 123)));
    add("p3-255", plain("P3", Some(255), &scaled(n * 3, 255, 124)));
    add("p3-7", plain("P3", Some(7), &scaled(n * 3, 7, 125)));
    add("p3-4095", plain("P3", Some(4095), &scaled(n * 3, 4095, 126)));
}

// ---------------------------------------------------------------- WebP

/// Lossy WebP (VP8, and VP8 + ALPH) cannot be encoded by the Rust crates in use, so these two
/// tiny files were made once with Pillow 13 (libwebp 1.6) from a generated 27x18 gradient with
/// noise: `Image.fromarray(pattern).save(f, quality=80)`, and with an alpha ramp added at
/// quality 70. Their Pillow decodes are in the fixtures CSV like every other fixture.
const LOSSY_WEBP_HEX: [&str; 6] = [
    "524946460c010000574542505650382000010000b006009d012a1b0012003e6d2e9245a422a19804004006c4b6004e99",
    "71bd3fce698d17c14de98c0cff3df401574b39bbcb45badb3be9657c973110e7760000fefcb5872748d3e002912af2cb",
    "5934494bb9f7042e7a9b93e7c09d13eebeccbda48b20cda0059790f2a6a8498633d5cf461f7bbe37357c077fcd284930",
    "47c95f7f3a4cbd88d0317614b7d0d157ece49fb4948a60f730f99292fc18034fe9f95a3072c477f8352d67b9de608193",
    "2c9e8b7d4c1d107369bcc8fcfcb46d442abc03326d7105a0318d10f7a67b1a33a1b175c9fa5ab216cbcc1c8de5269381",
    "441572170397121545d03d16a2ad1399ba0b0f5e72a2f45aa803910f4db7bcaad4e00000",
];
const LOSSY_ALPHA_WEBP_HEX: [&str; 6] = [
    "524946460401000057454250565038580a000000100000001a0000110000414c50481600000001b98ce87f80488004f4",
    "ff70a32d6202268035c4930056503820c80000007006009d012a1b0012003e9d449a4925a4222130180800b013896c00",
    "9d32ecfa586000299a93f74de18f32ee2d97c87753e16de463c45de4300d1c4000fef6c8e129b40c03088a391e274ee1",
    "187fe684070721a2383891ad96b3d20e43a94309af2e9f3a18e41aeb6bb2840f6e3349c63a21783ac1bffa752485db77",
    "acdfaf99ee8e7f3e5e9c0c6ae84027a903c673fc989cc4d450198cd3436a0e99157d27b6bdd688f089cba1dcc405864a",
    "ef946b8ac4e1b6ebc41939f5b24c40a52a8680a9795d99e030357000",
];

fn webp_fixtures(out: &mut Vec<Fixture>) {
    let unhex = |parts: &[&str]| mediahash::hex::decode_vec(&parts.concat()).unwrap();
    out.push(Fixture { name: "webp/lossy-27x18.webp".into(), bytes: unhex(&LOSSY_WEBP_HEX) });
    out.push(Fixture {
        name: "webp/lossy-alpha-27x18.webp".into(),
        bytes: unhex(&LOSSY_ALPHA_WEBP_HEX),
    });
    let (w, h) = (27u32, 18u32);
    let encode = |pixels: &[u8], color: image::ExtendedColorType| {
        let mut bytes = Vec::new();
        image::codecs::webp::WebPEncoder::new_lossless(&mut bytes)
            .encode(pixels, w, h, color)
            .unwrap();
        bytes
    };
    out.push(Fixture {
        name: format!("webp/lossless-rgb-{w}x{h}.webp"),
        bytes: encode(&photo_rgb(w, h, 130), image::ExtendedColorType::Rgb8),
    });
    out.push(Fixture {
        name: format!("webp/lossless-rgba-{w}x{h}.webp"),
        bytes: encode(&noise((w * h * 4) as usize, 131), image::ExtendedColorType::Rgba8),
    });
}

// ---------------------------------------------------------------- JPEG

/// The JPEG fixtures' pixels: input channels as `jpeg_encode::input_channels` wants.
pub fn jpeg_input(color: JpegColor, w: u32, h: u32, seed: u32) -> Vec<u8> {
    let rgb = photo_rgb(w, h, seed);
    match color {
        JpegColor::Grey => rgb.chunks_exact(3).map(|p| p[1]).collect(),
        JpegColor::YCbCr | JpegColor::Rgb => rgb,
        JpegColor::Cmyk | JpegColor::Ycck => rgb
            .chunks_exact(3)
            .flat_map(|p| {
                let k = 255 - p.iter().copied().max().unwrap();
                [255 - p[0], 255 - p[1], 255 - p[2], k.saturating_add(p[0] / 4)]
            })
            .collect(),
    }
}

pub fn jpeg_fixture(name: &str, w: u32, h: u32, spec: JpegSpec, seed: u32) -> Fixture {
    let pixels = jpeg_input(spec.color, w, h, seed);
    Fixture {
        name: format!("jpeg/{name}-{w}x{h}.jpg"),
        bytes: jpeg_encode::encode(&pixels, w, h, &spec),
    }
}

fn jpeg_fixtures(out: &mut Vec<Fixture>) {
    use JpegColor::*;
    let spec = JpegSpec::new;
    let sampled = |color, q, s: (u8, u8)| JpegSpec { luma_sampling: s, ..spec(color, q) };
    let progressive = |s: JpegSpec| JpegSpec { progressive: true, ..s };
    out.push(jpeg_fixture("ycc420-q85", 37, 23, sampled(YCbCr, 85, (2, 2)), 200));
    out.push(jpeg_fixture("ycc422-q90", 40, 30, sampled(YCbCr, 90, (2, 1)), 201));
    out.push(jpeg_fixture("ycc440-q90", 33, 41, sampled(YCbCr, 90, (1, 2)), 202));
    out.push(jpeg_fixture("ycc444-q75", 50, 50, sampled(YCbCr, 75, (1, 1)), 203));
    out.push(jpeg_fixture("ycc411-q80", 45, 20, sampled(YCbCr, 80, (4, 1)), 204));
    out.push(jpeg_fixture(
        "ycc420-progressive-q70",
        61,
        47,
        progressive(sampled(YCbCr, 70, (2, 2))),
        205,
    ));
    out.push(jpeg_fixture(
        "ycc444-progressive-q95",
        29,
        31,
        progressive(sampled(YCbCr, 95, (1, 1))),
        206,
    ));
    out.push(jpeg_fixture(
        "ycc420-progressive-q10",
        120,
        90,
        progressive(sampled(YCbCr, 10, (2, 2))),
        207,
    ));
    out.push(jpeg_fixture(
        "ycc420-restart-q80",
        64,
        48,
        JpegSpec { restart_rows: 1, ..sampled(YCbCr, 80, (2, 2)) },
        208,
    ));
    out.push(jpeg_fixture("grey-q80", 30, 30, sampled(Grey, 80, (1, 1)), 209));
    out.push(jpeg_fixture(
        "grey-progressive-q60",
        41,
        27,
        progressive(sampled(Grey, 60, (1, 1))),
        210,
    ));
    out.push(jpeg_fixture("rgb-q90", 30, 20, sampled(Rgb, 90, (1, 1)), 211));
    out.push(jpeg_fixture("cmyk-q90", 30, 20, sampled(Cmyk, 90, (1, 1)), 212));
    out.push(jpeg_fixture("ycck-q85", 34, 22, sampled(Ycck, 85, (2, 2)), 213));
    out.push(jpeg_fixture(
        "ycck-progressive-q85",
        34,
        22,
        progressive(sampled(Ycck, 85, (2, 2))),
        214,
    ));
    out.push(jpeg_fixture("ycc420-q95", 517, 389, sampled(YCbCr, 95, (2, 2)), 215));
    // Damaged entropy data that libjpeg recovers from with a warning ("Corrupt JPEG data:
    // premature end of data segment"), as Pillow does: a stray RST marker mid-scan.
    let mut damaged = jpeg_fixture("damaged-scan-q80", 96, 64, sampled(YCbCr, 80, (2, 2)), 216);
    let sos = damaged.bytes.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap();
    let mid = sos + (damaged.bytes.len() - sos) / 2;
    damaged.bytes.splice(mid..mid, [0xFF, 0xD3]);
    out.push(damaged);
}

/// Every fixture, in a fixed order.
pub fn all() -> Vec<Fixture> {
    let mut out = Vec::new();
    jpeg_fixtures(&mut out);
    png_fixtures(&mut out);
    gif_fixtures(&mut out);
    bmp_fixtures(&mut out);
    tiff_fixtures(&mut out);
    ico_fixtures(&mut out);
    pnm_fixtures(&mut out);
    webp_fixtures(&mut out);
    out
}
