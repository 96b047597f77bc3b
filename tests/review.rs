//! The review page (issue #13): a generated scan tree (pictures made here: gradients and
//! shapes, never people) scanned to JSON Lines, turned into a review, and the page checked:
//! escaping of hostile names in the file itself, and, with headless Chromium (Debian
//! `chromium`; cfg `mediahash_chromium`, set by build.rs when it is installed and always in
//! CI), what the browser renders: thumbnails blurred and greyscale by default (computed
//! style, and the screenshot's pixels), reveal by key, counts shown equal to the footer.

mod common;

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::synth;
use mediahash::refset::Disposition;
use mediahash::report::jsonl::JsonlWriter;
use mediahash::report::{EntryDisposition, Footer};
use mediahash::review::{Review, ReviewError, ReviewOptions, write_review};
use mediahash::scan::{ScanOptions, reference::load_source, scan};

/// A directory and a file whose joined path reads `<script>...</script><img ...>`.
const HOSTILE_DIR: &str = "<script>document.title='pwned'<";
const HOSTILE_FILE: &str = "script><img src=x onerror=alert(1)>.png";
const QUOTED: &str = "say \"hi\" & 'bye'.png";

fn jpeg(width: u32, height: u32, rgb: &[u8], quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
        .encode(rgb, width, height, image::ExtendedColorType::Rgb8)
        .unwrap();
    out
}

/// Vivid colours (saturated discs on a strong gradient), so a greyscale rendering is
/// measurable in a screenshot.
fn vivid(width: u32, height: u32, seed: u32) -> Vec<u8> {
    let mut px = Vec::with_capacity((width * height * 3) as usize);
    for y in 0..height {
        for x in 0..width {
            let band = (x * 4 / width + seed) % 3;
            let v = (y * 255 / height) as u8;
            px.extend(match band {
                0 => [255, v / 4, 0],
                1 => [0, 255, v / 4],
                _ => [v / 4, 0, 255],
            });
        }
    }
    px
}

struct Case {
    _dir: tempfile::TempDir,
    root: PathBuf,
    report: PathBuf,
    out: PathBuf,
    footer: Footer,
}

/// Evidence: a known picture (alert by MD5), two re-encoded copies of one unknown picture
/// (a cluster), single unknown pictures under hostile names, a truncated JPEG (error).
fn make_case() -> Case {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("evidence");
    std::fs::create_dir_all(root.join("DCIM")).unwrap();
    let known = synth::png_rgb8(200, 150, &vivid(200, 150, 0));
    std::fs::write(root.join("DCIM/known.png"), &known).unwrap();
    let burst = synth::photo_like(240, 180, 7);
    std::fs::write(root.join("DCIM/burst-1.jpg"), jpeg(240, 180, &burst, 92)).unwrap();
    std::fs::write(root.join("DCIM/burst-2.jpg"), jpeg(240, 180, &burst, 60)).unwrap();
    std::fs::create_dir_all(root.join(HOSTILE_DIR)).unwrap();
    let hostile = root.join(HOSTILE_DIR).join(HOSTILE_FILE);
    std::fs::write(hostile, synth::png_rgb8(160, 120, &vivid(160, 120, 1))).unwrap();
    std::fs::write(root.join(QUOTED), synth::png_rgb8(160, 120, &vivid(160, 120, 2))).unwrap();
    let bad_name = std::ffi::OsStr::from_bytes(b"bad-\xff\xfe-name.png");
    std::fs::write(root.join(bad_name), synth::png_rgb8(120, 90, &synth::photo_like(120, 90, 3)))
        .unwrap();
    let truncated = jpeg(200, 150, &synth::photo_like(200, 150, 5), 90);
    std::fs::write(root.join("DCIM/cut.jpg"), &truncated[..truncated.len() / 2]).unwrap();

    let list = dir.path().join("known.md5");
    let md5 = mediahash::digest::digest_bytes(&known, Default::default()).md5;
    std::fs::write(&list, format!("{}  known.png\n", mediahash::hex::encode(&md5))).unwrap();
    let refs = vec![load_source(&list, Disposition::Alert, None).unwrap()];
    let report = dir.path().join("report.jsonl");
    let mut writer = JsonlWriter::new(std::fs::File::create(&report).unwrap());
    let options = ScanOptions { cluster: true, threads: 2, ..Default::default() };
    let summary = scan(std::slice::from_ref(&root), &refs, &options, &mut writer).unwrap();
    let out = dir.path().join("review");
    Case { root, report, out, footer: summary.footer, _dir: dir }
}

#[test]
fn review_model_and_escaping_in_the_file() {
    let case = make_case();
    let c = &case.footer.counts;
    assert_eq!((c.alert, c.unknown_image, c.error), (1, 5, 1), "{c}");
    let summary = write_review(&case.report, &case.out, &ReviewOptions::default(), &[]).unwrap();
    assert_eq!(summary.thumbnails, 6, "one per alert and unknown picture");
    assert_eq!(summary.placeholders, 0);
    // 7 pictures (the truncated JPEG is one); 1 alert + 4 unknown units (burst is one).
    let t = summary.triage;
    assert_eq!((t.pictures, t.alerts, t.unknown_pictures, t.unknown_units), (7, 1, 5, 4));
    assert_eq!(t.to_review, 5);

    let review = Review::from_report(&case.report, &ReviewOptions::default(), &[]).unwrap();
    assert_eq!(review.queue[0].members.len(), 2, "the cluster before single pictures");
    assert_eq!(review.alert_groups.len(), 1);
    assert_eq!(review.errors.len(), 1);

    let html = std::fs::read(case.out.join("index.html")).unwrap();
    let html = String::from_utf8(html).expect("the page is UTF-8 whatever the names");
    assert_eq!(html.matches("<script").count(), 2, "only the data block and our script");
    assert!(!html.contains("document.title='pwned'</script>"));
    assert!(!html.contains("onerror=alert(1)>"));
    assert!(html.contains(r"\u003cscript\u003edocument.title='pwned'\u003c/script\u003e"));
    assert!(html.contains(r#"say \"hi\" \u0026 'bye'.png"#));
    assert!(html.contains(r"bad-\\xff\\xfe-name.png"), "non-UTF-8 bytes shown as \\xNN");
    assert!(html.contains("script-src 'sha256-"), "only our script may run");
    for entry in std::fs::read_dir(case.out.join("thumbs")).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        let img = image::load_from_memory(&bytes).unwrap();
        assert!(img.width() <= 128 && img.height() <= 128);
    }
}

#[test]
fn output_folder_is_refused_under_evidence_or_when_not_empty() {
    let case = make_case();
    let inside = case.root.join("DCIM/review");
    match write_review(&case.report, &inside, &ReviewOptions::default(), &[]) {
        Err(ReviewError::OutputInsideEvidence(_)) => {}
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(!inside.exists(), "nothing written under the evidence");
    std::fs::create_dir_all(&case.out).unwrap();
    std::fs::write(case.out.join("old.txt"), b"x").unwrap();
    match write_review(&case.report, &case.out, &ReviewOptions::default(), &[]) {
        Err(ReviewError::OutputNotEmpty { .. }) => {}
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn changed_evidence_gets_a_placeholder_not_a_picture() {
    let case = make_case();
    std::fs::write(case.root.join("DCIM/burst-2.jpg"), synth::png_rgb8(8, 8, &[9; 192])).unwrap();
    let summary = write_review(&case.report, &case.out, &ReviewOptions::default(), &[]).unwrap();
    assert_eq!((summary.thumbnails, summary.placeholders), (5, 1));
    let html = std::fs::read_to_string(case.out.join("index.html")).unwrap();
    assert!(html.contains("the file changed since the scan"));
}

fn chromium(args: &[&str]) -> Vec<u8> {
    let out = Command::new("timeout")
        .arg("120")
        .arg(common::tools::tool_path("chromium"))
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"])
        .args(["--disable-extensions", "--hide-scrollbars", "--virtual-time-budget=5000"])
        .args(args)
        .output()
        .expect("run chromium (Debian package chromium)");
    assert!(out.status.success(), "chromium failed: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

fn url(page: &Path, fragment: &str) -> String {
    format!("file://{}{fragment}", page.display())
}

#[test]
#[cfg_attr(not(mediahash_chromium), ignore = "needs chromium")]
fn chromium_renders_blurred_reveals_and_shows_the_footer_counts() {
    let case = make_case();
    write_review(&case.report, &case.out, &ReviewOptions::default(), &[]).unwrap();
    let page = case.out.join("index.html");
    let dom = String::from_utf8(chromium(&["--dump-dom", &url(&page, "#selftest")])).unwrap();
    let start = dom.find("<pre id=\"selftest\">").expect("self-test ran") + 19;
    let end = start + dom[start..].find("</pre>").unwrap();
    let text = dom[start..end].replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">");
    let r: serde_json::Value = serde_json::from_str(&text).expect("self-test JSON");

    // Safe by default: the first thumbnail blurred and grey; 'r' reveals it only.
    assert_eq!(r["filter_before"], "grayscale(1) blur(10px)", "{r}");
    assert_eq!(r["filter_after"], "none", "{r}");
    assert_eq!(r["filter_other"], "grayscale(1) blur(10px)", "{r}");
    // The counts shown are the footer's.
    let c = &case.footer.counts;
    for d in EntryDisposition::ALL {
        assert_eq!(r["shown_counts"][d.as_str()], c.get(d), "{d}: {r}");
    }
    assert_eq!(r["shown_counts"]["entries"], c.entries);
    assert_eq!(r["alert_cards"], c.alert);
    assert_eq!(r["error_rows"], c.error);
    assert_eq!(r["unknown_pictures"], c.unknown_image);
    // Hostile names stayed text: no script of theirs ran, no element of theirs exists.
    assert!(dom.contains("<title>mediahash review</title>"), "title unchanged");
    assert!(!dom.contains("onerror=alert(1)>"));
    assert!(dom.contains("&lt;script&gt;document.title='pwned'&lt;/script&gt;"));

    // The pixels: the thumbnails are vivid, the rendered page shows no vivid colour.
    let vivid_share = |img: &image::RgbImage| {
        let n = img.pixels().filter(|p| {
            let (hi, lo) = (p.0.iter().max().unwrap(), p.0.iter().min().unwrap());
            hi - lo > 120
        });
        n.count() as f64 / (img.width() * img.height()) as f64
    };
    let most_vivid = std::fs::read_dir(case.out.join("thumbs"))
        .unwrap()
        .map(|e| vivid_share(&image::open(e.unwrap().path()).unwrap().to_rgb8()))
        .fold(0.0, f64::max);
    assert!(most_vivid > 0.5, "the known picture's thumbnail is vivid: {most_vivid}");
    let shot = case.out.parent().unwrap().join("shot.png");
    let arg = format!("--screenshot={}", shot.display());
    chromium(&[&arg, "--window-size=1200,1600", &url(&page, "")]);
    let png = image::open(&shot).unwrap().to_rgb8();
    assert!(vivid_share(&png) < 0.0005, "a vivid pixel share of {}", vivid_share(&png));
}

/// Pictures inside a disk image (a FAT file system made by `mkfs.vfat`, filled by `mcopy`,
/// one picture deleted by `mdel`) get thumbnails read through the image, checked against
/// the report's SHA-256.
#[test]
#[cfg_attr(not(mediahash_disk_tools), ignore = "needs dosfstools mtools")]
fn pictures_inside_a_disk_image_get_thumbnails() {
    let needs = "needs dosfstools mtools";
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("evidence")).unwrap();
    let fs = dir.path().join("evidence/fat.img");
    std::fs::File::create(&fs).unwrap().set_len(16 << 20).unwrap();
    let fs_text = fs.to_str().unwrap();
    common::tools::run_tool("mkfs.vfat", &["-F", "16", fs_text], needs);
    for (name, bytes) in [
        ("a.png", synth::png_rgb8(160, 120, &vivid(160, 120, 0))),
        ("b.jpg", jpeg(200, 150, &synth::photo_like(200, 150, 4), 85)),
        ("gone.png", synth::png_rgb8(90, 70, &synth::photo_like(90, 70, 9))),
    ] {
        let src = dir.path().join(name);
        std::fs::write(&src, bytes).unwrap();
        common::tools::run_tool("mcopy", &["-i", fs_text, src.to_str().unwrap(), "::/"], needs);
    }
    common::tools::run_tool("mdel", &["-i", fs_text, "::/gone.png"], needs);

    let report = dir.path().join("report.jsonl");
    let mut writer = JsonlWriter::new(std::fs::File::create(&report).unwrap());
    let options = ScanOptions { no_carve: true, ..Default::default() };
    let summary = scan(std::slice::from_ref(&fs), &[], &options, &mut writer).unwrap();
    drop(writer);
    assert_eq!(summary.footer.counts.unknown_image, 3, "{}", summary.footer.counts);
    let out = dir.path().join("review");
    let made = write_review(&report, &out, &ReviewOptions::default(), &[]).unwrap();
    assert_eq!((made.thumbnails, made.placeholders), (3, 0));
}

/// A report whose evidence root was given relative to the scan's directory is reviewed from
/// another directory: the header records where the scan ran, and the review reads the
/// pictures from there.
#[test]
fn relative_roots_are_found_from_any_directory() {
    let case = make_case();
    let dir = case.root.parent().unwrap();
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_mh"))
        .args(["scan", "--no-progress", "--report", "relative.jsonl", "evidence"])
        .current_dir(dir)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(2), "the truncated JPEG is an error");
    let report = dir.join("relative.jsonl");
    let header: serde_json::Value =
        serde_json::from_str(std::fs::read_to_string(&report).unwrap().lines().next().unwrap())
            .unwrap();
    assert_eq!(header["evidence_roots"][0], "evidence");
    assert_eq!(
        std::path::Path::new(header["working_directory"].as_str().unwrap()).canonicalize().unwrap(),
        dir.canonicalize().unwrap()
    );
    // This test's own directory is the package root, not the scan's.
    assert_ne!(
        std::env::current_dir().unwrap().canonicalize().unwrap(),
        dir.canonicalize().unwrap()
    );
    let summary = write_review(&report, &case.out, &ReviewOptions::default(), &[]).unwrap();
    assert_eq!((summary.thumbnails, summary.placeholders), (6, 0));
    assert!(summary.missing_roots.is_empty(), "{:?}", summary.missing_roots);
    // The output folder is still checked against the root where the scan ran.
    match write_review(&report, &case.root.join("out"), &ReviewOptions::default(), &[]) {
        Err(ReviewError::OutputInsideEvidence(_)) => {}
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// A ZIP archive made with the `zip` crate: `(name, bytes, deflated)` members.
fn zip_of(members: &[(&str, Vec<u8>, bool)]) -> Vec<u8> {
    use std::io::Write;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, bytes, deflated) in members {
        let method = if *deflated {
            zip::CompressionMethod::Deflated
        } else {
            zip::CompressionMethod::Stored
        };
        let options = zip::write::SimpleFileOptions::default().compression_method(method);
        w.start_file(*name, options).unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// Pictures in ZIP archives (stored, deflated, in a nested archive; the archive as a file of
/// the evidence folder and as a file inside a FAT image) get thumbnails read again through
/// their member chain and checked against the report's SHA-256; a member whose archive
/// changed since the scan gets a placeholder.
#[test]
#[cfg_attr(not(mediahash_disk_tools), ignore = "needs dosfstools mtools")]
fn pictures_inside_archives_get_thumbnails() {
    let needs = "needs dosfstools mtools";
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("evidence");
    std::fs::create_dir(&root).unwrap();
    let inner = zip_of(&[("deep/c.png", synth::png_rgb8(120, 90, &vivid(120, 90, 2)), true)]);
    let photos = zip_of(&[
        ("a.png", synth::png_rgb8(160, 120, &vivid(160, 120, 0)), false),
        ("b.jpg", jpeg(200, 150, &synth::photo_like(200, 150, 4), 85), true),
        ("inner.zip", inner, true),
        ("more/b.jpg", jpeg(100, 80, &synth::photo_like(100, 80, 6), 85), true),
    ]);
    std::fs::write(root.join("photos.zip"), &photos).unwrap();
    // A disk image is read as one when given as a root.
    std::fs::create_dir(dir.path().join("disk")).unwrap();
    let fs = dir.path().join("disk/fat.img");
    std::fs::File::create(&fs).unwrap().set_len(16 << 20).unwrap();
    let fs_text = fs.to_str().unwrap();
    common::tools::run_tool("mkfs.vfat", &["-F", "16", fs_text], needs);
    let src = dir.path().join("PHOTOS.ZIP");
    std::fs::write(&src, &photos).unwrap();
    common::tools::run_tool("mcopy", &["-i", fs_text, src.to_str().unwrap(), "::/"], needs);

    let report = dir.path().join("report.jsonl");
    let mut writer = JsonlWriter::new(std::fs::File::create(&report).unwrap());
    let options = ScanOptions { no_carve: true, ..Default::default() };
    let summary = scan(&[root.clone(), fs.clone()], &[], &options, &mut writer).unwrap();
    drop(writer);
    assert_eq!(summary.footer.counts.unknown_image, 8, "{}", summary.footer.counts);
    let out = dir.path().join("review");
    let made = write_review(&report, &out, &ReviewOptions::default(), &[]).unwrap();
    assert_eq!((made.thumbnails, made.placeholders), (8, 0));
    // Each thumbnail shows its own member: its shape is the member's.
    let review = Review::from_report(&report, &ReviewOptions::default(), &[]).unwrap();
    let mut shapes = std::collections::BTreeMap::new();
    for item in &review.items {
        if item.record.location.as_ref().is_none_or(|l| l.archive.is_empty()) {
            continue;
        }
        let thumb = out.join("thumbs").join(format!("{:08}.jpg", item.ordinal));
        let img = image::load_from_memory(&std::fs::read(&thumb).unwrap()).unwrap();
        let name = item.record.location.as_ref().unwrap().archive.last().unwrap().name.clone();
        shapes.entry(name).or_insert_with(Vec::new).push((img.width(), img.height()));
    }
    assert_eq!(shapes["a.png"], [(128, 96), (128, 96)]);
    assert_eq!(shapes["deep/c.png"], [(120, 90), (120, 90)]);
    assert_eq!(shapes["b.jpg"], [(128, 96), (128, 96)]);
    assert_eq!(shapes["more/b.jpg"], [(100, 80), (100, 80)]);

    // The folder's archive changes after the scan: its members are not shown.
    let other = zip_of(&[("a.png", synth::png_rgb8(160, 120, &vivid(160, 120, 1)), false)]);
    std::fs::write(root.join("photos.zip"), other).unwrap();
    let again =
        write_review(&report, &dir.path().join("review2"), &ReviewOptions::default(), &[]).unwrap();
    assert_eq!((again.thumbnails, again.placeholders), (4, 4));
    let html = std::fs::read_to_string(dir.path().join("review2/index.html")).unwrap();
    assert!(html.contains("the file changed since the scan"));
    assert!(html.contains("the member is no longer in the archive"));
}
