//! The Windows build against the Linux build: `mh.exe` (built for `x86_64-pc-windows-gnu`)
//! run under Wine scans the same evidence as `mh` here, and every record agrees except in
//! what differs between the systems by nature (path spelling, Unix mode/owner, link counts,
//! directory sizes, time resolution). The tree holds pictures (JPEG, PNG), a ZIP with
//! pictures, Unicode and spaced names, an empty file and a path longer than `MAX_PATH`; a
//! second root is a FAT disk image split in two segments (partition-less volume, file
//! system, deleted file, carving).
//!
//! Run by `.ci/windows`, which builds `mh.exe` and sets `MEDIAHASH_WINDOWS_MH` (the program)
//! and `MEDIAHASH_WINE` (the `wine64` loader); skipped (visibly) without them, and a failure
//! under `MEDIAHASH_REQUIRE_WINDOWS=1`.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::synth;
use serde_json::Value;

/// The Windows spelling of a Unix path under Wine's `Z:` drive.
fn wine_path(p: &Path) -> String {
    format!("Z:{}", p.to_str().unwrap().replace('/', "\\"))
}

fn setup() -> Option<(PathBuf, PathBuf)> {
    let mh = std::env::var_os("MEDIAHASH_WINDOWS_MH").map(PathBuf::from);
    let wine = std::env::var_os("MEDIAHASH_WINE").map(PathBuf::from);
    match (mh, wine) {
        (Some(mh), Some(wine)) => Some((mh, wine)),
        _ => {
            assert!(
                std::env::var_os("MEDIAHASH_REQUIRE_WINDOWS").is_none_or(|v| v != "1"),
                "MEDIAHASH_REQUIRE_WINDOWS=1 but MEDIAHASH_WINDOWS_MH / MEDIAHASH_WINE are not set"
            );
            eprintln!(
                "SKIPPED: the Windows cross-check needs MEDIAHASH_WINDOWS_MH (mh.exe) and \
                 MEDIAHASH_WINE (wine64); .ci/windows sets them"
            );
            None
        }
    }
}

fn jpeg(width: u32, height: u32, seed: u32) -> Vec<u8> {
    let rgb = synth::photo_like(width, height, seed);
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
        .encode(&rgb, width, height, image::ExtendedColorType::Rgb8)
        .unwrap();
    out
}

fn png(width: u32, height: u32, seed: u32) -> Vec<u8> {
    synth::png_rgb8(width, height, &synth::photo_like(width, height, seed))
}

fn zip_of(members: &[(&str, Vec<u8>)]) -> Vec<u8> {
    use zip::write::SimpleFileOptions;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, data) in members {
        w.start_file(*name, SimpleFileOptions::default()).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn run(cmd: &str, args: &[&str]) {
    let out = Command::new(cmd).args(args).output().unwrap_or_else(|e| panic!("{cmd}: {e}"));
    assert!(out.status.success(), "{cmd} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// The folder root.
fn build_tree(root: &Path) {
    let put = |rel: &str, bytes: &[u8]| {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    };
    put("photos/garden.jpg", &jpeg(320, 240, 1));
    put("photos/lake view.png", &png(200, 150, 2));
    put("photos/Ünïcödé façade.jpg", &jpeg(256, 256, 3));
    put("docs/notes.txt", b"not a picture\n");
    put("docs/empty.bin", b"");
    put(
        "chat export.zip",
        &zip_of(&[("media/a.jpg", jpeg(180, 120, 4)), ("b.png", png(90, 90, 5))]),
    );
    // Past MAX_PATH (260 UTF-16 units): read through the handle of its directory.
    let mut deep = String::new();
    for i in 0..6 {
        deep.push_str(&format!("level {i} {}/", "d".repeat(48)));
    }
    put(&format!("{deep}deep picture.jpg"), &jpeg(120, 90, 6));
}

/// A FAT16 file system (no partition table) with pictures and a deleted one, split into two
/// segments `fat.001`, `fat.002`.
fn build_split_image(dir: &Path) -> PathBuf {
    let fs = dir.join("fat.img");
    std::fs::File::create(&fs).unwrap().set_len(16 << 20).unwrap();
    let fs_text = fs.to_str().unwrap();
    run("mkfs.vfat", &["-F", "16", fs_text]);
    let put = |name: &str, bytes: &[u8], target: &str| {
        let src = dir.join(name);
        std::fs::write(&src, bytes).unwrap();
        run("mcopy", &["-i", fs_text, src.to_str().unwrap(), target]);
    };
    put("i1", &jpeg(300, 200, 7), "::/kept.jpg");
    put("i2", &png(128, 96, 8), "::/gone.png");
    run("mdel", &["-i", fs_text, "::/gone.png"]);
    let bytes = std::fs::read(&fs).unwrap();
    let half = bytes.len() / 2;
    let images = dir.join("images");
    std::fs::create_dir(&images).unwrap();
    std::fs::write(images.join("fat.001"), &bytes[..half]).unwrap();
    std::fs::write(images.join("fat.002"), &bytes[half..]).unwrap();
    images.join("fat.001")
}

/// Records with what differs by nature removed, keyed by their path below the root they
/// came from, with `/` separators.
fn comparable(report: &Path, roots: &[(String, &str)]) -> (Vec<(String, Value)>, Value) {
    let text = std::fs::read_to_string(report).unwrap();
    let mut entries = Vec::new();
    let mut footer = Value::Null;
    for line in text.lines() {
        let mut v: Value = serde_json::from_str(line).unwrap();
        match v["record"].as_str() {
            Some("entry") => {}
            Some("footer") => {
                for k in ["end_time", "duration_ms"] {
                    v.as_object_mut().unwrap().remove(k);
                }
                footer = v;
                continue;
            }
            _ => continue,
        }
        let mut path = v["path"].as_str().expect("UTF-8 paths here").to_string();
        for (prefix, label) in roots {
            if let Some(rest) = path.strip_prefix(prefix.as_str()) {
                path = format!("{label}{}", rest.replace('\\', "/"));
                break;
            }
        }
        let object = v.as_object_mut().unwrap();
        for k in ["path", "mode", "uid", "gid", "nlink", "inode", "atime", "mtime", "ctime"] {
            object.remove(k);
        }
        if object.get("kind").and_then(Value::as_str) == Some("directory")
            && object.get("location").is_none()
        {
            object.remove("size");
        }
        // The location of items inside images and archives names the container by path.
        if let Some(loc) = object.get_mut("location") {
            let text = loc.to_string();
            let mut normalised = text.clone();
            for (prefix, label) in roots {
                let escaped = serde_json::to_string(prefix).unwrap();
                let escaped = &escaped[1..escaped.len() - 1];
                normalised = normalised.replace(escaped, label);
            }
            *loc = serde_json::from_str(&normalised.replace("\\\\", "/")).unwrap();
        }
        entries.push((path, v));
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    (entries, footer)
}

#[test]
fn windows_build_under_wine_gives_the_linux_records() {
    let Some((mh_exe, wine)) = setup() else { return };
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    build_tree(&tree);
    let image = build_split_image(dir.path());
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();

    let linux_report = out.join("linux.jsonl");
    let status = Command::new(env!("CARGO_BIN_EXE_mh"))
        .args(["scan", "--no-progress", "--threads", "2", "--report"])
        .arg(&linux_report)
        .arg(&tree)
        .arg(&image)
        .status()
        .unwrap();
    assert!(status.success() || status.code() == Some(1), "linux mh: {status:?}");

    let windows_report = out.join("windows.jsonl");
    let output = Command::new(&wine)
        .arg(&mh_exe)
        .args(["scan", "--no-progress", "--threads", "2", "--report"])
        .arg(wine_path(&windows_report))
        .arg(wine_path(&tree))
        .arg(wine_path(&image))
        .env("WINEDEBUG", "-all")
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        status.code(),
        "exit status of mh.exe under Wine: {}",
        String::from_utf8_lossy(&output.stderr)
    );

    let linux_roots = [
        (tree.to_str().unwrap().to_string(), "TREE"),
        (image.to_str().unwrap().to_string(), "IMAGE"),
    ];
    let windows_roots = [(wine_path(&tree), "TREE"), (wine_path(&image), "IMAGE")];
    let (linux, linux_footer) = comparable(&linux_report, &linux_roots);
    let (windows, windows_footer) = comparable(&windows_report, &windows_roots);

    let paths = |r: &[(String, Value)]| r.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>();
    assert_eq!(paths(&windows), paths(&linux), "the same entries, in any order");
    for ((path, w), (_, l)) in windows.iter().zip(&linux) {
        assert_eq!(w, l, "record of {path} differs between mh.exe (left) and mh (right)");
    }
    assert_eq!(windows_footer, linux_footer);

    // What the tree must have exercised, so that equality means something.
    let find = |suffix: &str| {
        linux
            .iter()
            .find(|(p, _)| p.ends_with(suffix))
            .unwrap_or_else(|| panic!("{suffix}"))
            .1
            .clone()
    };
    assert!(find("deep picture.jpg")["pdq"].is_string(), "the deep picture was hashed");
    assert!(find("façade.jpg")["pdq"].is_string());
    assert!(linux.iter().any(|(p, v)| p.contains("a.jpg") && v["pdq"].is_string()), "ZIP member");
    assert!(
        linux.iter().any(|(p, v)| p.to_lowercase().ends_with("kept.jpg") && v["pdq"].is_string()),
        "the picture in the disk image"
    );
    assert!(
        linux.iter().any(|(_, v)| v["location"]["deleted"] == Value::Bool(true)),
        "a deleted file"
    );
    // Under Wine the handle's last-access time is frozen (SetFileTime), as on Windows.
    let text = std::fs::read_to_string(&windows_report).unwrap();
    assert!(text.contains("\"noatime\":true") && !text.contains("\"noatime\":false"));
}
