//! Generates the small, benign demo in `examples/demo/` (committed; under 1 MB):
//! synthetic pictures, transformed copies (JPEG re-encoded, resized, mirrored, truncated),
//! a few documents, a re-encoded copy of a generated video (made with `ffmpeg`), and demo
//! hash sets (and a vPDQ list) that mark some files as alert and some as ignore.
//!
//! ```text
//! cargo run --release --example make_demo      # regenerate
//! cargo run --release --bin mh -- scan --demo [--dihedral] [--cluster]
//! ```
//!
//! `mh` embeds these files (`examples/mh/demo.rs`): add any new file to its list; the test
//! `demo_runs_from_any_directory_with_the_documented_verdicts` fails until the two agree.
//!
//! Nothing here is real case material: the "alert" set simply lists hashes of generated
//! gradients and shapes.

#[path = "../tests/common/rng.rs"]
mod rng;
#[path = "../tests/common/synth.rs"]
mod synth;

use std::fs;
use std::path::Path;

use mediahash::digest::digest_bytes;
use mediahash::perceptual::pdq::{PdqConvention, pdq_from_rgb};

/// Baseline JPEG through MozJPEG's compressor (the crate's C library; the `image` crate's
/// JPEG feature is deliberately not enabled).
fn jpeg(width: u32, height: u32, rgb: &[u8], quality: i32) -> Vec<u8> {
    use mozjpeg_sys::*;
    assert_eq!(rgb.len(), width as usize * height as usize * 3);
    // SAFETY: the structs are zero-initialised then set up by libjpeg's own constructors;
    // every scanline pointer points into `rgb`, which outlives the compression, and holds
    // `width * 3` bytes; the output buffer is allocated by libjpeg (jpeg_mem_dest) and freed
    // with libc::free after copying. Inputs are fixed and valid, so libjpeg's default error
    // handler (which exits the process) is never reached.
    unsafe {
        let mut err: jpeg_error_mgr = std::mem::zeroed();
        let mut cinfo: jpeg_compress_struct = std::mem::zeroed();
        cinfo.common.err = jpeg_std_error(&mut err);
        jpeg_create_compress(&mut cinfo);
        let mut buffer: *mut u8 = std::ptr::null_mut();
        let mut size: std::ffi::c_ulong = 0;
        jpeg_mem_dest(&mut cinfo, &mut buffer, &mut size);
        cinfo.image_width = width;
        cinfo.image_height = height;
        cinfo.input_components = 3;
        cinfo.in_color_space = J_COLOR_SPACE::JCS_RGB;
        jpeg_set_defaults(&mut cinfo);
        jpeg_set_quality(&mut cinfo, quality, 1);
        jpeg_start_compress(&mut cinfo, 1);
        let stride = width as usize * 3;
        while cinfo.next_scanline < cinfo.image_height {
            let row = rgb[cinfo.next_scanline as usize * stride..].as_ptr();
            let rows = [row];
            jpeg_write_scanlines(&mut cinfo, rows.as_ptr(), 1);
        }
        jpeg_finish_compress(&mut cinfo);
        let out = std::slice::from_raw_parts(buffer, size as usize).to_vec();
        libc::free(buffer.cast());
        jpeg_destroy_compress(&mut cinfo);
        out
    }
}

fn half(img: &synth::SynthImage) -> (u32, u32, Vec<u8>) {
    let (w, h) = (img.width / 2, img.height / 2);
    let mut out = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        for x in 0..w {
            for c in 0..3 {
                let at = |dx: u32, dy: u32| {
                    u32::from(
                        img.pixels[(((2 * y + dy) * img.width + 2 * x + dx) * 3 + c) as usize],
                    )
                };
                out.push(((at(0, 0) + at(1, 0) + at(0, 1) + at(1, 1) + 2) / 4) as u8);
            }
        }
    }
    (w, h, out)
}

fn mirrored(img: &synth::SynthImage) -> Vec<u8> {
    let w = img.width as usize;
    let mut out = img.pixels.clone();
    for row in out.chunks_exact_mut(w * 3) {
        let copy = row.to_vec();
        for x in 0..w {
            row[x * 3..x * 3 + 3].copy_from_slice(&copy[(w - 1 - x) * 3..(w - x) * 3]);
        }
    }
    out
}

fn find(name: &str) -> synth::SynthImage {
    synth::all().into_iter().find(|i| i.name == name).expect("synthetic image exists")
}

fn write(root: &Path, rel: &str, bytes: &[u8]) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().expect("has parent")).expect("create directory");
    fs::write(&path, bytes).expect("write demo file");
}

fn main() {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/demo");
    let evidence = demo.join("evidence");
    let sets = demo.join("sets");
    for dir in [&evidence, &sets] {
        if dir.exists() {
            fs::remove_dir_all(dir).expect("remove old demo output");
        }
    }

    let gradient = find("gradient-300x200");
    let shapes = find("shapes-640x480");
    let stripes = find("stripes-256x256");
    let text = find("text-320x240");
    let noise = find("noise-64x64");

    // A "known" picture, by exact digest.
    let known = synth::png_rgb8(gradient.width, gradient.height, &gradient.pixels);
    write(&evidence, "DCIM/IMG_0001.png", &known);
    // Transformed copies of a "known" picture, found by PDQ.
    let shapes_jpeg = jpeg(shapes.width, shapes.height, &shapes.pixels, 70);
    write(&evidence, "DCIM/IMG_0002.jpg", &shapes_jpeg);
    let (hw, hh, small) = half(&shapes);
    write(&evidence, "DCIM/IMG_0003.png", &synth::png_rgb8(hw, hh, &small));
    write(
        &evidence,
        "DCIM/IMG_0004.png",
        &synth::png_rgb8(shapes.width, shapes.height, &mirrored(&shapes)),
    );
    // Unknown pictures (and a damaged copy).
    let stripes_jpeg = jpeg(stripes.width, stripes.height, &stripes.pixels, 85);
    write(&evidence, "DCIM/IMG_0005.jpg", &stripes_jpeg);
    write(&evidence, "DCIM/IMG_0006.jpg", &stripes_jpeg[..stripes_jpeg.len() / 3]);
    write(&evidence, "Documents/scan.png", &synth::png_rgb8(text.width, text.height, &text.pixels));
    write(
        &evidence,
        "Documents/receipt.dat",
        &synth::png_rgb8(noise.width, noise.height, &noise.pixels),
    );
    // Documents and "operating-system" files.
    write(
        &evidence,
        "Documents/letter.txt",
        b"Dear Sam,\nthe demo evidence is entirely synthetic.\n",
    );
    write(&evidence, "Documents/empty.txt", b"");
    let readme = b"Demo OS 1.0 -- read me\n";
    let license = b"Demo OS 1.0 -- license: public domain\n";
    write(&evidence, "System/readme.txt", readme);
    write(&evidence, "System/license.txt", license);

    // Alert set 1: VICS JSON 2.0 with the gradient's MD5 and SHA-1.
    let d = digest_bytes(&known, Default::default());
    let vics = serde_json::json!({
        "@odata.context": "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/Default/$metadata#Media",
        "value": [{
            "MediaID": 1,
            "Category": 1,
            "MD5": d.md5_hex().to_uppercase(),
            "SHA1": d.sha1_hex().to_uppercase(),
            "MediaSize": known.len(),
            "VictimIdentified": "false",
            "IsPrecategorized": "true",
            "Series": "demo-series (synthetic gradient)"
        }]
    });
    let mut vics_text = serde_json::to_string_pretty(&vics).expect("JSON");
    vics_text.push('\n');
    write(&sets, "demo-vics.json", vics_text.as_bytes());

    // Alert set 2: a PDQ list (`hash,quality,name`) with the original shapes picture.
    let pdq =
        pdq_from_rgb(shapes.width, shapes.height, &shapes.pixels, PdqConvention::FullResolution)
            .expect("PDQ of the demo picture");
    let line = format!("{},{},shapes-original.png\n", pdq.hash.to_hex(), pdq.quality);
    write(&sets, "demo-pdq.txt", line.as_bytes());

    // Ignore set: md5sum lines for the "operating-system" files.
    let md5 = |b: &[u8]| digest_bytes(b, Default::default()).md5_hex();
    let known_list = format!("{}  readme.txt\n{}  license.txt\n", md5(readme), md5(license));
    write(&sets, "demo-known.md5", known_list.as_bytes());

    known_video(&evidence, &sets);

    let total: u64 = [&evidence, &sets]
        .iter()
        .flat_map(|d| walk(d))
        .map(|p| fs::metadata(p).map(|m| m.len()).unwrap_or(0))
        .sum();
    println!("demo written to {} ({total} bytes)", demo.display());
}

/// A "known" video (ffmpeg's `testsrc2` source, 4 s at 320x240), kept only as its vPDQ list
/// (`sets/demo-vpdq/known-clip.txt`, the reference's text format), and a re-encoded,
/// resized copy in the evidence (`Videos/VID_0001.mp4`) that the list flags. Needs the
/// `ffmpeg` program when the demo is made, not when it is scanned from the committed files.
fn known_video(evidence: &Path, sets: &Path) {
    let work = tempfile::tempdir().expect("temporary directory");
    let original = work.path().join("known-clip.mp4");
    let copy = evidence.join("Videos/VID_0001.mp4");
    fs::create_dir_all(copy.parent().unwrap()).expect("create Videos");
    let ffmpeg = |args: &[&str], out: &Path| {
        let status = std::process::Command::new("ffmpeg")
            .args(["-y", "-v", "error", "-nostdin"])
            .args(args)
            .args(["-c:v", "libx264", "-pix_fmt", "yuv420p", "-threads", "1"])
            .args(["-map_metadata", "-1", "-fflags", "+bitexact"])
            .arg(out)
            .status()
            .expect("run ffmpeg (apt-get install ffmpeg)");
        assert!(status.success(), "ffmpeg failed for {}", out.display());
    };
    ffmpeg(&["-f", "lavfi", "-i", "testsrc2=s=320x240:r=10", "-t", "4"], &original);
    ffmpeg(&["-i", original.to_str().unwrap(), "-vf", "scale=192:144", "-crf", "30"], &copy);
    let hashes = mediahash::video::hash_video_file(&original, &Default::default())
        .expect("vPDQ of the demo video");
    let list = mediahash::perceptual::vpdq::write_list(&hashes.frames);
    write(sets, "demo-vpdq/known-clip.txt", list.as_bytes());
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).expect("list demo directory") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}
