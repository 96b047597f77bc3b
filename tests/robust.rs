//! Robust matching (issue 12): each normalisation on generated pictures of known geometry
//! (border widths, embedded rectangle, banner, angle), the `.mhset` windows, and the two
//! guarantees: robust mode never loses a plain match, and featureless pictures (flat,
//! gradients, stripes, low quality) never match robustly.

mod common;

use common::rng::Rng;
use std::f64::consts::TAU;

use mediahash::analyze::{AnalyzeOptions, analyze_bytes};
use mediahash::perceptual::pdq::{PdqConvention, pdq_from_rgb};
use mediahash::refset::build::Builder;
use mediahash::refset::{
    BuildOptions, Disposition, EntryMeta, HashValue, Record, RefSet, SourceInfo,
};
use mediahash::robust::{self, Side, Window, geometry, query_candidates, reference_windows};
use mediahash::scan::{ScanOptions, match_analysis};

/// A picture with texture at several scales and no straight lines: sums of sinusoids with
/// seeded frequencies and phases, plus mild noise. RGB8.
fn texture(w: u32, h: u32, seed: u32) -> Vec<u8> {
    let mut rng = Rng(seed | 1);
    let waves: Vec<[f64; 4]> = (0..7)
        .map(|_| {
            let f = |r: &mut Rng| f64::from(r.next() % 1000) / 1000.0;
            [1.0 + 9.0 * f(&mut rng), 1.0 + 9.0 * f(&mut rng), TAU * f(&mut rng), 0.3 + f(&mut rng)]
        })
        .collect();
    let mut out = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        for x in 0..w {
            let (u, v) = (f64::from(x) / f64::from(w), f64::from(y) / f64::from(h));
            let mut c = [0f64; 3];
            for (k, wv) in waves.iter().enumerate() {
                let s =
                    (wv[0] * u * TAU + wv[1] * v * TAU + wv[2] + 3.0 * (u * v).sin()).sin() * wv[3];
                c[k % 3] += s;
                c[(k + 1) % 3] += 0.5 * s;
            }
            let noise = f64::from(rng.next() % 9) - 4.0;
            out.extend(c.map(|s| (128.0 + 45.0 * s + noise).clamp(0.0, 255.0) as u8));
        }
    }
    out
}

/// `pic` (pw x ph) placed at (x, y) on a canvas of `bg(x, y)`.
// Canvas, background, picture and position: grouping them would only rename the arguments.
#[allow(clippy::too_many_arguments)]
fn compose(
    cw: u32,
    ch: u32,
    bg: impl Fn(u32, u32) -> [u8; 3],
    pic: &[u8],
    pw: u32,
    ph: u32,
    x: u32,
    y: u32,
) -> Vec<u8> {
    let mut out = Vec::with_capacity((cw * ch * 3) as usize);
    for cy in 0..ch {
        for cx in 0..cw {
            if (x..x + pw).contains(&cx) && (y..y + ph).contains(&cy) {
                let i = (((cy - y) * pw + (cx - x)) * 3) as usize;
                out.extend_from_slice(&pic[i..i + 3]);
            } else {
                out.extend(bg(cx, cy));
            }
        }
    }
    out
}

/// Noise of ±`amp` on every channel (a stand-in for JPEG noise on flat areas).
fn noisy(mut rgb: Vec<u8>, amp: u32, seed: u32) -> Vec<u8> {
    let mut rng = Rng(seed | 1);
    for v in &mut rgb {
        let n = (rng.next() % (2 * amp + 1)) as i32 - amp as i32;
        *v = (i32::from(*v) + n).clamp(0, 255) as u8;
    }
    rgb
}

/// `pic` turned by `deg` counter-clockwise (as seen) on a black canvas just large enough
/// (the bounding box), bilinear.
fn rotate_expand(pic: &[u8], w: u32, h: u32, deg: f64) -> (u32, u32, Vec<u8>) {
    let a = deg.to_radians();
    let (s, c) = a.sin_cos();
    let bw = (f64::from(w) * c.abs() + f64::from(h) * s.abs()).ceil() as u32;
    let bh = (f64::from(w) * s.abs() + f64::from(h) * c.abs()).ceil() as u32;
    let (cx, cy) = (f64::from(w) / 2.0, f64::from(h) / 2.0);
    let (ox, oy) = (f64::from(bw) / 2.0, f64::from(bh) / 2.0);
    let mut out = vec![0u8; (bw * bh * 3) as usize];
    for y in 0..bh {
        for x in 0..bw {
            let (dx, dy) = (f64::from(x) + 0.5 - ox, f64::from(y) + 0.5 - oy);
            let sx = c * dx - s * dy + cx - 0.5;
            let sy = s * dx + c * dy + cy - 0.5;
            if sx < 0.0 || sy < 0.0 || sx > f64::from(w - 1) || sy > f64::from(h - 1) {
                continue;
            }
            let (x0, y0) = (sx.floor() as u32, sy.floor() as u32);
            let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
            let (fx, fy) = (sx - f64::from(x0), sy - f64::from(y0));
            for k in 0..3 {
                let p = |xx: u32, yy: u32| f64::from(pic[((yy * w + xx) * 3 + k) as usize]);
                let v = (1.0 - fy) * ((1.0 - fx) * p(x0, y0) + fx * p(x1, y0))
                    + fy * ((1.0 - fx) * p(x0, y1) + fx * p(x1, y1));
                out[((y * bw + x) * 3 + k) as usize] = v.round() as u8;
            }
        }
    }
    (bw, bh, out)
}

fn pdq(w: u32, h: u32, rgb: &[u8]) -> mediahash::perceptual::pdq::PdqHash {
    pdq_from_rgb(w, h, rgb, PdqConvention::FullResolution).unwrap().hash
}

fn near(a: (usize, usize, usize, usize), b: (usize, usize, usize, usize), tol: usize) -> bool {
    a.0.abs_diff(b.0) <= tol
        && a.1.abs_diff(b.1) <= tol
        && a.2.abs_diff(b.2) <= tol
        && a.3.abs_diff(b.3) <= tol
}

#[test]
fn uniform_borders_of_any_colour_are_trimmed_per_side_to_the_pixel() {
    let (pw, ph) = (300, 200);
    let pic = texture(pw, ph, 7);
    for (k, (colour, l, t, r, b)) in [
        ([255u8, 255, 255], 15u32, 15u32, 15u32, 15u32),
        ([0, 0, 0], 0, 60, 0, 60),      // letterbox
        ([0, 0, 0], 70, 0, 70, 0),      // pillarbox
        ([40, 120, 200], 5, 30, 50, 8), // different widths per side
    ]
    .into_iter()
    .enumerate()
    {
        let (cw, ch) = (pw + l + r, ph + t + b);
        let rgb = noisy(compose(cw, ch, |_, _| colour, &pic, pw, ph, l, t), 6, k as u32);
        let got = geometry::uniform_trim(cw, ch, &rgb).unwrap();
        let want = (l as usize, t as usize, (l + pw) as usize, (t + ph) as usize);
        assert!(near(got, want, 1), "case {k}: trimmed to {got:?}, picture at {want:?}");
        // And the trimmed candidate matches the picture's own PDQ.
        let original = pdq(pw, ph, &pic);
        let found = query_candidates(cw, ch, &rgb).unwrap();
        let best = found.iter().map(|c| c.hash.distance(&original)).min().unwrap();
        assert!(best <= 20, "case {k}: nearest candidate {best} bits from the picture");
    }
}

#[test]
fn blurred_padding_is_trimmed() {
    let (pw, ph) = (240, 320);
    let pic = texture(pw, ph, 11);
    // A square canvas: the picture's colours smeared (column averages of a band of the
    // picture, i.e. a heavy blur of an enlarged copy), the picture on top.
    let side = 400u32;
    let x0 = (side - pw) / 2;
    let mean_at = |x: u32, y: u32| {
        let (sx, sy) = ((x * pw / side).min(pw - 1), (y * ph / side).min(ph - 1));
        let mut acc = [0u32; 3];
        let mut n = 0;
        for dy in 0..8 {
            for dx in 0..8 {
                let (xx, yy) = ((sx / 8 * 8 + dx).min(pw - 1), (sy / 8 * 8 + dy).min(ph - 1));
                let i = ((yy * pw + xx) * 3) as usize;
                for k in 0..3 {
                    acc[k] += u32::from(pic[i + k]);
                }
                n += 1;
            }
        }
        acc.map(|a| (a / n / 2 + 40) as u8)
    };
    // Smooth the blocky smear further so the padding has no edges of its own.
    let rough: Vec<u8> = compose(side, side, mean_at, &[], 0, 0, 0, 0);
    let mut smooth = rough.clone();
    for y in 0..side {
        for x in 0..side {
            for k in 0..3 {
                let mut s = 0u32;
                let mut n = 0u32;
                for dy in (-24i32..=24).step_by(3) {
                    let yy = (y as i32 + dy).clamp(0, side as i32 - 1) as u32;
                    for dx in (-24i32..=24).step_by(3) {
                        let xx = (x as i32 + dx).clamp(0, side as i32 - 1) as u32;
                        s += u32::from(rough[((yy * side + xx) * 3 + k) as usize]);
                        n += 1;
                    }
                }
                smooth[((y * side + x) * 3 + k) as usize] = (s / n) as u8;
            }
        }
    }
    let rgb = compose(
        side,
        side,
        |x, y| {
            let i = ((y * side + x) * 3) as usize;
            [smooth[i], smooth[i + 1], smooth[i + 2]]
        },
        &pic,
        pw,
        ph,
        x0,
        (side - ph) / 2,
    );
    let got = geometry::blurred_trim(side, side, &rgb).unwrap().expect("padding found");
    let want =
        (x0 as usize, ((side - ph) / 2) as usize, (x0 + pw) as usize, ((side + ph) / 2) as usize);
    assert!(near(got, want, 1), "trimmed to {got:?}, picture at {want:?}");
}

#[test]
fn a_picture_inside_app_chrome_is_found_to_the_pixel() {
    let (pw, ph) = (320, 220);
    let pic = texture(pw, ph, 3);
    let (cw, ch) = (400u32, 420u32);
    let (x, y) = (40u32, 110u32);
    // Status bar, a coloured title bar with round icons, lines of "text", a reply box.
    let bg = |cx: u32, cy: u32| -> [u8; 3] {
        if cy < 20 {
            [30, 30, 30]
        } else if cy < 52 {
            let icon = (0..3).any(|k| {
                let (ix, iy) = (360 - 40 * k, 36);
                (cx as i32 - ix).pow(2) + (cy as i32 - iy).pow(2) < 100
            });
            if icon { [255, 255, 255] } else { [0, 120, 200] }
        } else if (75..90).contains(&cy)
            && (40..300).contains(&cx)
            && (cx / 3 + cy).is_multiple_of(4)
        {
            [20, 20, 20]
        } else if (360..362).contains(&cy) && (20..380).contains(&cx) {
            [60, 60, 60]
        } else {
            [240, 242, 245]
        }
    };
    let rgb = noisy(compose(cw, ch, bg, &pic, pw, ph, x, y), 3, 5);
    let found = geometry::embedded(cw, ch, &rgb).unwrap();
    let want = (x as usize, y as usize, (x + pw) as usize, (y + ph) as usize);
    assert!(found.iter().any(|r| near(*r, want, 1)), "rectangles {found:?}, picture at {want:?}");
    let original = pdq(pw, ph, &pic);
    let best =
        query_candidates(cw, ch, &rgb).unwrap().iter().map(|c| c.hash.distance(&original)).min();
    assert!(best.is_some_and(|d| d <= 20), "nearest candidate {best:?}");
}

#[test]
fn a_caption_banner_is_found_and_filled() {
    let (w, h) = (360u32, 300u32);
    let mut rgb = texture(w, h, 21);
    let band = 36u32; // 12%
    for y in h - band..h {
        for x in 0..w {
            let text =
                (60..300).contains(&x) && (h - 28..h - 10).contains(&y) && (x / 4 + y) % 3 == 0;
            let i = ((y * w + x) * 3) as usize;
            rgb[i..i + 3].copy_from_slice(if text { &[0, 0, 0] } else { &[255, 255, 255] });
        }
    }
    let (side, k) = geometry::banner(w, h, &rgb).unwrap().expect("banner found");
    assert_eq!(side, Side::Bottom);
    assert!(k.abs_diff(band as usize) <= 1, "banner of {k} rows, drawn {band}");
}

#[test]
fn small_rotations_on_a_fill_are_measured_within_half_a_degree() {
    let (pw, ph) = (300, 220);
    let pic = texture(pw, ph, 9);
    let original = pdq(pw, ph, &pic);
    for deg in [2.0, -2.0, 5.0, -7.5, 10.0] {
        let (bw, bh, rgb) = rotate_expand(&pic, pw, ph, deg);
        let got = geometry::rotation(bw, bh, &rgb).unwrap();
        let got = got.unwrap_or_else(|| panic!("no angle found for {deg}°"));
        assert!((f64::from(got) - deg).abs() <= 0.5, "turned {deg}°, measured {got}°");
        let found = query_candidates(bw, bh, &rgb).unwrap();
        let derotated = found
            .iter()
            .find(|c| matches!(c.steps[0], robust::Step::Derotated { .. }))
            .expect("a derotated candidate");
        assert!(
            derotated.hash.distance(&original) <= 31,
            "{deg}°: {}",
            derotated.hash.distance(&original)
        );
    }
    // An upright picture has no rotation to undo.
    assert_eq!(geometry::rotation(pw, ph, &pic).unwrap(), None);
}

fn source(builder: &mut Builder, name: &str) -> mediahash::refset::SourceId {
    builder
        .add_source(SourceInfo {
            name: name.into(),
            format: "pictures".into(),
            sha256: String::new(),
            disposition: Disposition::Alert,
            set_name: name.into(),
            records: 0,
            bad_records: 0,
            empty_file_records_skipped: 0,
            source_version: None,
        })
        .unwrap()
}

/// A set built from pictures (plain PDQ + windows), in memory.
fn picture_set(pictures: &[(u32, u32, Vec<u8>)]) -> RefSet<Vec<u8>> {
    let mut builder =
        Builder::new(BuildOptions { build_time: Some(0), ..BuildOptions::default() }).unwrap();
    let src = source(&mut builder, "pictures");
    for (i, (w, h, rgb)) in pictures.iter().enumerate() {
        let plain = pdq_from_rgb(*w, *h, rgb, PdqConvention::FullResolution).unwrap();
        let windows = reference_windows(*w, *h, rgb).unwrap();
        let record = Record {
            hashes: vec![HashValue::Pdq { hash: plain.hash.0, quality: Some(plain.quality) }],
            meta: EntryMeta { source_id: Some(format!("p{i}")), ..EntryMeta::default() },
        };
        builder.add_picture(src, record, &windows).unwrap();
    }
    let (bytes, _) = builder.finish_to_vec().unwrap();
    let set = RefSet::from_bytes(bytes).unwrap();
    set.verify().unwrap();
    set
}

fn analyse(w: u32, h: u32, rgb: &[u8]) -> mediahash::analyze::Analysis {
    let png = common::synth::png_rgb8(w, h, rgb);
    analyze_bytes(&png, &AnalyzeOptions { robust: true, ..AnalyzeOptions::default() })
}

#[test]
fn windows_are_stored_and_a_cropped_copy_meets_one() {
    let (w, h) = (400u32, 300u32);
    let pic = texture(w, h, 33);
    let set = picture_set(&[(w, h, pic.clone())]);
    assert!(set.window_count() >= 10, "{} windows", set.window_count());
    // The centre 80%: 10% off each side.
    let (cw, ch) = (320u32, 240u32);
    let mut crop = Vec::new();
    for y in 30..30 + ch {
        let i = ((y * w + 40) * 3) as usize;
        crop.extend_from_slice(&pic[i..i + (cw * 3) as usize]);
    }
    let hits = set.search_pdq_windows(&[pdq(cw, ch, &crop).0], 20);
    assert!(hits.iter().any(|m| m.window == Window::Centre80), "{hits:?}");
    let options = ScanOptions { robust: true, ..ScanOptions::default() };
    let matches = match_analysis(&analyse(cw, ch, &crop), &set, &options).unwrap();
    let m = matches.iter().find(|m| m.source_id.as_deref() == Some("p0")).expect("robust match");
    let detail = m.robust.as_ref().expect("robust detail");
    assert_eq!(detail.window, Some(Window::Centre80));
    assert!(detail.describe().contains("centre-80"));
}

#[test]
fn robust_mode_never_loses_a_plain_match() {
    let pictures: Vec<(u32, u32, Vec<u8>)> =
        (0..6).map(|s| (256, 192, texture(256, 192, 100 + s))).collect();
    let set = picture_set(&pictures);
    let plain_options = ScanOptions::default();
    let robust_options = ScanOptions { robust: true, ..ScanOptions::default() };
    for (i, (w, h, rgb)) in pictures.iter().enumerate() {
        // The picture itself, a noisy copy and a bordered copy.
        let variants = [
            (*w, *h, rgb.clone()),
            (*w, *h, noisy(rgb.clone(), 10, i as u32)),
            (w + 40, h + 40, compose(w + 40, h + 40, |_, _| [255; 3], rgb, *w, *h, 20, 20)),
        ];
        for (vw, vh, v) in variants {
            let a = analyse(vw, vh, &v);
            let plain = match_analysis(&a, &set, &plain_options).unwrap();
            let robust = match_analysis(&a, &set, &robust_options).unwrap();
            for m in &plain {
                assert!(
                    robust.iter().any(|r| r.source_id == m.source_id && r.robust.is_none()),
                    "plain match {m:?} lost in robust mode: {robust:?}"
                );
            }
        }
    }
}

/// Flat, gradient, stripes, checks and low-quality pictures.
fn featureless() -> Vec<(u32, u32, Vec<u8>)> {
    let (w, h) = (256u32, 192u32);
    let make = |f: &dyn Fn(u32, u32) -> [u8; 3]| -> (u32, u32, Vec<u8>) {
        (w, h, (0..w * h).flat_map(|i| f(i % w, i / w)).collect())
    };
    vec![
        make(&|_, _| [128, 128, 128]),
        make(&|_, _| [20, 200, 90]),
        make(&|x, _| [(x * 255 / w) as u8; 3]),
        make(&|_, y| [(y * 255 / h) as u8, 50, 200]),
        make(&|x, y| [((x + y) * 255 / (w + h)) as u8; 3]),
        make(&|x, _| if (x / 8) % 2 == 0 { [0; 3] } else { [255; 3] }),
        make(&|x, _| if (x / 13) % 2 == 0 { [30, 60, 90] } else { [200, 180, 160] }),
        make(&|_, y| if (y / 6) % 2 == 0 { [0; 3] } else { [255; 3] }),
        make(&|_, y| [(128.0 + 100.0 * (f64::from(y) / 9.0).sin()) as u8; 3]),
        make(&|x, _| [(128.0 + 100.0 * (f64::from(x) / 21.0).sin()) as u8; 3]),
        // Low quality: a faint smooth blob.
        make(&|x, y| {
            let d = (f64::from(x) - 128.0).hypot(f64::from(y) - 96.0);
            [(120.0 + 6.0 * (-d / 60.0).exp()) as u8; 3]
        }),
    ]
}

#[test]
fn featureless_pictures_never_match_robustly() {
    let pictures = featureless();
    let set = picture_set(&pictures);
    let options = ScanOptions { robust: true, ..ScanOptions::default() };
    for (i, (w, h, rgb)) in pictures.iter().enumerate() {
        assert!(reference_windows(*w, *h, rgb).unwrap().is_empty(), "picture {i} has windows");
        // The picture, and the same inside a border and turned on a fill.
        let (bw, bh, turned) = rotate_expand(rgb, *w, *h, 4.0);
        let variants = [
            (*w, *h, rgb.clone()),
            (w + 60, h + 60, compose(w + 60, h + 60, |_, _| [255; 3], rgb, *w, *h, 30, 30)),
            (bw, bh, turned),
        ];
        for (k, (vw, vh, v)) in variants.into_iter().enumerate() {
            let a = analyse(vw, vh, &v);
            let robust: Vec<_> = match_analysis(&a, &set, &options)
                .unwrap()
                .into_iter()
                .filter(|m| m.robust.is_some())
                .collect();
            assert!(robust.is_empty(), "picture {i} variant {k} matched robustly: {robust:?}");
        }
    }
}

#[test]
fn a_damaged_window_section_fails_verify_without_panicking() {
    let (w, h) = (256u32, 192u32);
    let set = picture_set(&[(w, h, texture(w, h, 5))]);
    let mut bytes = set.as_bytes().to_vec();
    // Find the window section in the table and break the first item's window code.
    let count = u32::from_le_bytes(bytes[0x20..0x24].try_into().unwrap()) as usize;
    let table = u64::from_le_bytes(bytes[0x18..0x20].try_into().unwrap()) as usize;
    let entry = (0..count)
        .map(|i| table + 32 * i)
        .find(|&e| u32::from_le_bytes(bytes[e..e + 4].try_into().unwrap()) == 0x1406)
        .expect("window section");
    let offset = u64::from_le_bytes(bytes[entry + 8..entry + 16].try_into().unwrap()) as usize;
    bytes[offset + 36] = 200;
    // Recompute the trailer checksum so that only the structure check can object.
    let n = bytes.len();
    let sum = blake3::hash(&bytes[..n - 32]);
    bytes[n - 32..].copy_from_slice(sum.as_bytes());
    let damaged = RefSet::from_bytes(bytes).unwrap();
    let err = damaged.verify().unwrap_err().to_string();
    assert!(err.contains("window"), "{err}");
    // Search skips the unknown window instead of failing.
    let _ = damaged.search_pdq_windows(&[[0u8; 32]], 256);
}
