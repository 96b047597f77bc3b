//! Carving pictures from disk images (issue #15): pictures made here (JPEG from
//! `tests/data/jpeg`, PNG, GIF, BMP, WebP) planted at known offsets in the free clusters of a
//! FAT32 and an NTFS file system (checked free with The Sleuth Kit's `blkstat`), in the
//! space outside the partitions and in a volume without a file system. mediahash must find
//! each whole planted picture at its exact offset, with its length and SHA-1; a truncated
//! picture and one interrupted by free garbage are one `carved-fragment` record each; a
//! picture split by an allocated file is carved whole from the free space around it.
//! `foremost` (Debian package) carves the same images and the recall of both is printed
//! side by side; mediahash must find at least as many. Reports carry the carved location
//! (JSONL, CSV, DFXML byte runs without inode, CASE), records are the same for 1 and 2
//! threads, and `--no-carve` carves nothing.
//!
//! Gated by cfg `mediahash_carve_tools` (build.rs; always set in CI, where a missing tool
//! fails).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::synth;
use common::tools::{fls, pattern, run_tool, sha1_hex, tool_path};
use mediahash::evidence::{Item, SourceOptions, open_root};
use mediahash::report::{EntryDisposition, EntryRecord, ReasonCode};

const TOOLS: &str = "needs foremost, sleuthkit, dosfstools, mtools, ntfs-3g, fdisk \
                     (apt-get install -y foremost sleuthkit dosfstools mtools ntfs-3g fdisk; \
                     then touch build.rs)";

fn run(cmd: &str, args: &[&str]) -> Vec<u8> {
    run_tool(cmd, args, TOOLS)
}

fn jpeg(name: &str) -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/jpeg").join(name)).unwrap()
}

fn encoded(w: u32, h: u32, seed: u32, format: image::ImageFormat) -> Vec<u8> {
    let rgb = synth::photo_like(w, h, seed);
    let img = image::RgbImage::from_raw(w, h, rgb).unwrap();
    let mut out = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut out), format).unwrap();
    out
}

fn gif(w: u16, h: u16, seed: u32) -> Vec<u8> {
    let palette: Vec<u8> = (0..=255u8).flat_map(|i| [i, i.wrapping_mul(3), 255 - i]).collect();
    let indices = synth::photo_like(u32::from(w), u32::from(h), seed)
        .chunks(3)
        .map(|p| p[0] ^ p[1])
        .collect::<Vec<u8>>();
    let mut out = Vec::new();
    {
        let mut enc = gif::Encoder::new(&mut out, w, h, &palette).unwrap();
        let frame = gif::Frame {
            width: w,
            height: h,
            buffer: std::borrow::Cow::Owned(indices),
            ..gif::Frame::default()
        };
        enc.write_frame(&frame).unwrap();
    }
    out
}

/// A planted picture: its bytes, where they went, and what mh must report.
#[derive(Debug, Clone)]
struct Planted {
    name: &'static str,
    ext: &'static str,
    bytes: Vec<u8>,
    /// Media byte offset of its first byte.
    offset: u64,
    /// Whole: a content record with these bytes; otherwise one fragment record.
    whole: bool,
}

fn write_at(image: &Path, offset: u64, bytes: &[u8]) {
    let f = std::fs::OpenOptions::new().write(true).open(image).unwrap();
    f.write_all_at(bytes, offset).unwrap();
}

/// Asserts that TSK sees every block of `offset..offset + len` (media bytes) unallocated in
/// the file system at sector `start`, whose blocks are `block` bytes.
fn assert_free(image: &Path, start: u64, block: u64, offset: u64, len: u64) {
    let rel = offset - start * 512;
    for b in rel / block..(rel + len).div_ceil(block) {
        let out =
            run("blkstat", &["-o", &start.to_string(), image.to_str().unwrap(), &b.to_string()]);
        assert!(
            String::from_utf8_lossy(&out).lines().any(|l| l == "Not Allocated"),
            "block {b} of the volume at sector {start} is allocated: cannot plant there"
        );
    }
}

/// TSK's sectors of the file at `path` in the FAT volume at `start` (first, last+1).
fn fat_file_sectors(image: &Path, start: u64, path: &str) -> (u64, u64) {
    let line = fls(image, start, TOOLS).into_iter().find(|l| l.path == path).unwrap();
    let out = run(
        "istat",
        &["-o", &start.to_string(), image.to_str().unwrap(), &line.entry_number().to_string()],
    );
    let text = String::from_utf8(out).unwrap();
    let sectors: Vec<u64> = text
        .split("Sectors:")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .filter(|&s| s != 0)
        .collect();
    (*sectors.first().unwrap(), sectors.last().unwrap() + 1)
}

/// Zeroes the start cluster and size of the deleted 8.3 entry `short` (11 bytes, first
/// byte already 0xE5) in the FAT32 root directory: a deleted entry whose clusters no
/// longer point anywhere, so its space is plain free space.
fn forget_deleted_entry(image: &Path, start: u64, short: &[u8; 11]) {
    let f = std::fs::OpenOptions::new().read(true).write(true).open(image).unwrap();
    let mut boot = [0u8; 512];
    f.read_exact_at(&mut boot, start * 512).unwrap();
    let le16 = |at: usize| u64::from(u16::from_le_bytes([boot[at], boot[at + 1]]));
    let le32 = |at: usize| u64::from(u32::from_le_bytes(boot[at..at + 4].try_into().unwrap()));
    let spc = u64::from(boot[13]);
    let data = le16(14) + u64::from(boot[16]) * le32(36);
    let root = start * 512 + (data + (le32(44) - 2) * spc) * 512;
    let mut dir = vec![0u8; (spc * 512) as usize];
    f.read_exact_at(&mut dir, root).unwrap();
    let slot = dir
        .chunks(32)
        .position(|e| e[0] == 0xE5 && e[1..11] == short[1..])
        .unwrap_or_else(|| panic!("deleted entry {:?} not found", String::from_utf8_lossy(short)));
    let at = root + 32 * slot as u64;
    f.write_all_at(&[0, 0], at + 20).unwrap();
    f.write_all_at(&[0, 0], at + 26).unwrap();
    f.write_all_at(&[0, 0, 0, 0], at + 28).unwrap();
}

const P1: u64 = 2048;
const P1_SECTORS: u64 = 131_072; // 64 MiB
const P2: u64 = P1 + P1_SECTORS + 2048;
const P2_SECTORS: u64 = 16_384; // 8 MiB
const DISK_SECTORS: u64 = P2 + P2_SECTORS + 8192;

/// An MBR disk: FAT32 in partition 1, a 1 MiB gap, partition 2 (type 0x83) without a file
/// system, 4 MiB after it; pictures planted in all of them.
fn fat_disk(dir: &Path) -> (PathBuf, Vec<Planted>) {
    let fs = dir.join("fat32.img");
    std::fs::File::create(&fs).unwrap().set_len(P1_SECTORS * 512).unwrap();
    let fs_text = fs.to_str().unwrap();
    run("mkfs.vfat", &["-F", "32", "-s", "1", fs_text]);
    let put = |name: &str, bytes: &[u8], target: &str| {
        let src = dir.join(name);
        std::fs::write(&src, bytes).unwrap();
        run("mcopy", &["-i", fs_text, src.to_str().unwrap(), target]);
    };
    put("a", b"a text file\n", "::/A.TXT");
    put("p1", &pattern(8192, 1), "::/PAD1.BIN");
    put("b", &pattern(16_384, 2), "::/BLOCKER.BIN");
    put("p2", &pattern(40_960, 3), "::/PAD2.BIN");
    put("c", &pattern(3000, 4), "::/C.BIN");
    run("mdel", &["-i", fs_text, "::/PAD1.BIN"]);
    run("mdel", &["-i", fs_text, "::/PAD2.BIN"]);
    let image = dir.join("fat-disk.raw");
    std::fs::File::create(&image).unwrap().set_len(DISK_SECTORS * 512).unwrap();
    let script = format!(
        "label: dos\nstart={P1}, size={P1_SECTORS}, type=c\nstart={P2}, size={P2_SECTORS}, \
         type=83\n"
    );
    let mut child = Command::new(tool_path("sfdisk"))
        .args(["-q", image.to_str().unwrap()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("sfdisk could not run ({e}): {TOOLS}"));
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), script.as_bytes()).unwrap();
    assert!(child.wait().unwrap().success(), "sfdisk failed");
    write_at(&image, P1 * 512, &std::fs::read(&fs).unwrap());
    forget_deleted_entry(&image, P1, b"\xE5AD1    BIN");
    forget_deleted_entry(&image, P1, b"\xE5AD2    BIN");

    let mut planted = Vec::new();
    let mut plant = |name, ext, bytes: Vec<u8>, offset: u64, whole| {
        write_at(&image, offset, &bytes);
        planted.push(Planted { name, ext, bytes, offset, whole });
    };
    // Whole pictures in the FAT's free clusters, 512 KiB apart from 32 MiB into it.
    let slot = |k: u64| P1 * 512 + (32 << 20) + k * (512 << 10) + 4096;
    let fat_whole: Vec<(&'static str, &'static str, Vec<u8>)> = vec![
        ("jpeg", "jpg", jpeg("stripes-1031x517-q75-420.jpg")),
        ("png", "png", synth::png_rgb8(160, 120, &synth::photo_like(160, 120, 31))),
        ("gif", "gif", gif(64, 48, 32)),
        ("bmp", "bmp", encoded(50, 40, 33, image::ImageFormat::Bmp)),
        ("webp", "webp", encoded(40, 30, 34, image::ImageFormat::WebP)),
        ("progressive jpeg", "jpg", jpeg("shapes-q70-422-progressive.jpg")),
    ];
    for (k, (name, ext, bytes)) in fat_whole.into_iter().enumerate() {
        assert_free(&image, P1, 512, slot(k as u64), bytes.len() as u64);
        plant(name, ext, bytes, slot(k as u64), true);
    }
    // Truncated: the first 10000 bytes, then zeros.
    let text = jpeg("text-q60-420.jpg");
    plant("truncated jpeg", "jpg", text[..10_000].to_vec(), slot(6), false);
    // Fragmented with free garbage between its pieces.
    let noise = jpeg("noise-q50-420.jpg");
    write_at(&image, slot(7) + 4096, &pattern(8192, 5));
    write_at(&image, slot(7) + 4096 + 8192, &noise[4096..]);
    plant("fragmented jpeg", "jpg", noise[..4096].to_vec(), slot(7), false);
    // Split by an allocated file: its first 1024 bytes end where BLOCKER.BIN starts, the
    // rest follows BLOCKER.BIN's last cluster.
    let (first, end) = fat_file_sectors(&image, P1, "BLOCKER.BIN");
    let split = jpeg("shapes-q95-444.jpg");
    let before = (first + P1) * 512 - 1024;
    assert_free(&image, P1, 512, before, 1024);
    assert_free(&image, P1, 512, (end + P1) * 512, split.len() as u64 - 1024);
    write_at(&image, (end + P1) * 512, &split[1024..]);
    planted.push(Planted {
        name: "jpeg split by an allocated file",
        ext: "jpg",
        bytes: split.clone(),
        offset: before,
        whole: true,
    });
    write_at(&image, before, &split[..1024]);
    let mut plant = |name, ext, bytes: Vec<u8>, offset: u64| {
        write_at(&image, offset, &bytes);
        planted.push(Planted { name, ext, bytes, offset, whole: true });
    };
    // Outside the partitions: before the first, between, after the last.
    plant("jpeg before p1", "jpg", jpeg("gradient-q90-420.jpg"), 100 * 512);
    let png = synth::png_rgb8(90, 70, &synth::photo_like(90, 70, 35));
    plant("png between partitions", "png", png, (P1 + P1_SECTORS + 8) * 512);
    plant(
        "bmp after p2",
        "bmp",
        encoded(64, 64, 36, image::ImageFormat::Bmp),
        (P2 + P2_SECTORS + 16) * 512,
    );
    // A volume without a file system: carved whole.
    let png = synth::png_rgb8(120, 90, &synth::photo_like(120, 90, 37));
    plant("png in p2", "png", png, (P2 + 128) * 512);
    plant("gif in p2", "gif", gif(80, 60, 38), (P2 + 4096) * 512);
    (image, planted)
}

/// An NTFS volume (no partition table) with two files; pictures planted in free clusters.
fn ntfs_volume(dir: &Path) -> (PathBuf, Vec<Planted>) {
    let image = dir.join("ntfs.img");
    std::fs::File::create(&image).unwrap().set_len(65_536 * 512).unwrap();
    run("mkntfs", &["-F", "-Q", "-q", image.to_str().unwrap()]);
    for (name, bytes) in [("one.bin", pattern(50_000, 6)), ("two.txt", b"two\n".to_vec())] {
        let src = dir.join(name);
        std::fs::write(&src, bytes).unwrap();
        run("ntfscp", &["-q", image.to_str().unwrap(), src.to_str().unwrap(), name]);
    }
    let pictures: Vec<(&'static str, &'static str, Vec<u8>)> = vec![
        ("jpeg", "jpg", jpeg("shapes-q85-420.jpg")),
        ("png", "png", synth::png_rgb8(100, 80, &synth::photo_like(100, 80, 41))),
        ("gif", "gif", gif(50, 50, 42)),
        ("bmp", "bmp", encoded(30, 20, 43, image::ImageFormat::Bmp)),
        ("webp", "webp", encoded(48, 36, 44, image::ImageFormat::WebP)),
    ];
    let mut planted = Vec::new();
    for (k, (name, ext, bytes)) in pictures.into_iter().enumerate() {
        let offset = (12 << 20) + k as u64 * (512 << 10) + 8192;
        assert_free(&image, 0, 4096, offset, bytes.len() as u64);
        write_at(&image, offset, &bytes);
        planted.push(Planted { name, ext, bytes, offset, whole: true });
    }
    (image, planted)
}

/// A record and, for content items, the bytes read.
type Listed = (EntryRecord, Option<Vec<u8>>);

fn mh(image: &Path, no_carve: bool) -> Vec<Listed> {
    let options = SourceOptions { no_carve, ..SourceOptions::default() };
    open_root(image, &options)
        .map(|item| match item {
            Item::Decided(r) => (r, None),
            Item::Content(c) => {
                let mut buf = Vec::new();
                let mut opened = c.content.open().unwrap();
                opened.reader.read_to_end(&mut buf).unwrap();
                (c.record, Some(buf))
            }
        })
        .collect()
}

/// Checks mh's carved records against the planted pictures; returns the SHA-1s of the
/// whole pictures mh carved.
fn check_mh(
    image: &Path,
    planted: &[Planted],
    prefix_of: impl Fn(u64) -> String,
) -> BTreeSet<String> {
    let items = mh(image, false);
    let carved: BTreeMap<u64, &Listed> = items
        .iter()
        .filter_map(|e| Some((e.0.location.as_ref()?.carved.as_ref()?.offset, e)))
        .collect();
    let mut found = BTreeSet::new();
    for p in planted {
        let (record, bytes) = carved
            .get(&p.offset)
            .unwrap_or_else(|| panic!("{}: nothing carved at media byte {}", p.name, p.offset));
        let path = format!("{}/$CarvedFiles/{}.{}", prefix_of(p.offset), p.offset, p.ext);
        assert_eq!(record.path_text(), path, "{}", p.name);
        let c = record.location.as_ref().unwrap().carved.as_ref().unwrap();
        if p.whole {
            let bytes = bytes.as_ref().unwrap_or_else(|| panic!("{}: {:?}", p.name, record.reason));
            assert_eq!(c.length, p.bytes.len() as u64, "{}: length", p.name);
            assert_eq!(sha1_hex(bytes), sha1_hex(&p.bytes), "{}: SHA-1", p.name);
            assert_eq!(record.location.as_ref().unwrap().entry_number, None);
            found.insert(sha1_hex(bytes));
        } else {
            assert!(bytes.is_none(), "{}: a fragment is not read", p.name);
            assert_eq!(record.disposition, EntryDisposition::Skipped, "{}", p.name);
            assert_eq!(
                record.reason.as_ref().map(|r| r.code),
                Some(ReasonCode::CarvedFragment),
                "{}",
                p.name
            );
        }
    }
    // Nothing else is carved whole, and each fragment is one record.
    let whole: BTreeSet<u64> = planted.iter().filter(|p| p.whole).map(|p| p.offset).collect();
    let carved_whole: BTreeSet<u64> =
        carved.iter().filter(|(_, e)| e.1.is_some()).map(|(o, _)| *o).collect();
    assert_eq!(carved_whole, whole, "whole carved pictures are exactly the planted ones");
    found
}

/// Runs foremost on `image`; the SHA-1 of every file it carved.
fn foremost(image: &Path, out: &Path) -> BTreeSet<String> {
    run(
        "foremost",
        // foremost 1.5.7 has no WebP type (its `riff` type is refused in this build).
        &[
            "-Q",
            "-t",
            "jpg,png,gif,bmp",
            "-i",
            image.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ],
    );
    let mut hashes = BTreeSet::new();
    let mut dirs = vec![out.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else {
                hashes.insert(sha1_hex(&std::fs::read(p).unwrap()));
            }
        }
    }
    hashes
}

/// Prints mh's and foremost's recall of the whole planted pictures side by side; asserts
/// mh finds them all and at least as many as foremost.
fn compare(what: &str, planted: &[Planted], mh: &BTreeSet<String>, fm: &BTreeSet<String>) {
    let whole: Vec<&Planted> = planted.iter().filter(|p| p.whole).collect();
    let n = whole.len();
    let by_mh = whole.iter().filter(|p| mh.contains(&sha1_hex(&p.bytes))).count();
    let by_fm = whole.iter().filter(|p| fm.contains(&sha1_hex(&p.bytes))).count();
    eprintln!(
        "carving recall on {what}: {n} whole pictures planted; mh {by_mh}/{n}, foremost {by_fm}/{n}"
    );
    for p in &whole {
        let h = sha1_hex(&p.bytes);
        eprintln!("  {:<32} mh {:<5} foremost {}", p.name, mh.contains(&h), fm.contains(&h));
    }
    assert_eq!(by_mh, n, "{what}: mh finds every whole planted picture");
    assert!(by_mh >= by_fm, "{what}: mh {by_mh} < foremost {by_fm}");
}

#[test]
#[cfg_attr(
    not(mediahash_carve_tools),
    ignore = "needs foremost sleuthkit dosfstools mtools ntfs-3g fdisk"
)]
fn carving_fat_unpartitioned_and_unknown_volume_against_foremost() {
    let dir = tempfile::tempdir().unwrap();
    let (image, planted) = fat_disk(dir.path());
    let img = image.display().to_string();
    let found = check_mh(&image, &planted, |offset| {
        if (P1 * 512..(P1 + P1_SECTORS) * 512).contains(&offset) {
            format!("{img}/p1")
        } else if (P2 * 512..(P2 + P2_SECTORS) * 512).contains(&offset) {
            format!("{img}/p2")
        } else {
            img.clone()
        }
    });
    let items = mh(&image, false);
    let area = |suffix: &str| {
        items
            .iter()
            .find(|e| e.0.path_text().ends_with(suffix))
            .and_then(|e| e.0.location.as_ref()?.carved.as_ref().map(|c| c.area.clone()))
    };
    assert_eq!(area(&format!("/{}.jpg", 100 * 512)).as_deref(), Some("unpartitioned"));
    assert_eq!(
        area(&format!("/p2/$CarvedFiles/{}.png", (P2 + 128) * 512)).as_deref(),
        Some("volume")
    );
    let split = planted.iter().find(|p| p.name.starts_with("jpeg split")).unwrap();
    let runs = items
        .iter()
        .find(|e| {
            e.0.location
                .as_ref()
                .and_then(|l| l.carved.as_ref())
                .is_some_and(|c| c.offset == split.offset)
        })
        .map(|e| e.0.location.as_ref().unwrap().byte_runs.len());
    assert_eq!(runs, Some(2), "the split picture has one byte run per piece");
    // The file system's own files are still listed, and carving can be switched off.
    assert!(items.iter().any(|e| e.0.path_text().ends_with("/p1/C.BIN")));
    let plain = mh(&image, true);
    assert!(plain.iter().all(|e| e.0.location.as_ref().is_none_or(|l| l.carved.is_none())));
    let fm = foremost(&image, &dir.path().join("foremost"));
    compare("FAT32 + unpartitioned + unknown volume", &planted, &found, &fm);
}

#[test]
#[cfg_attr(
    not(mediahash_carve_tools),
    ignore = "needs foremost sleuthkit dosfstools mtools ntfs-3g fdisk"
)]
fn carving_ntfs_free_space_against_foremost() {
    let dir = tempfile::tempdir().unwrap();
    let (image, planted) = ntfs_volume(dir.path());
    let img = image.display().to_string();
    let found = check_mh(&image, &planted, |_| format!("{img}/p0"));
    let fm = foremost(&image, &dir.path().join("foremost"));
    compare("NTFS", &planted, &found, &fm);
}

/// `mh scan` of the FAT disk: records byte-identical for 1 and 2 threads; the carved
/// location in JSONL, CSV, DFXML (byte runs with `img_offset`, no inode) and CASE.
#[cfg(feature = "cli")]
#[test]
#[cfg_attr(
    not(mediahash_carve_tools),
    ignore = "needs foremost sleuthkit dosfstools mtools ntfs-3g fdisk"
)]
fn mh_scan_reports_carved_pictures() {
    let evidence = tempfile::tempdir().unwrap();
    let reports = tempfile::tempdir().unwrap();
    let (image, planted) = fat_disk(evidence.path());
    let scan = |name: &str, args: &[&str]| -> String {
        let report = reports.path().join(name);
        let out = Command::new(env!("CARGO_BIN_EXE_mh"))
            .arg("scan")
            .args(args)
            .arg("--report")
            .arg(&report)
            .arg(&image)
            .output()
            .unwrap();
        // 2: partition 2 has no file system, an error record (carved whole all the same).
        assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
        std::fs::read_to_string(report).unwrap()
    };
    let entries = |text: &str| -> Vec<String> {
        text.lines().filter(|l| l.starts_with(r#"{"record":"entry""#)).map(str::to_string).collect()
    };
    let one = scan("t1.jsonl", &["--threads", "1"]);
    let two = scan("t2.jsonl", &["--threads", "2"]);
    assert_eq!(entries(&one), entries(&two), "records differ between 1 and 2 threads");
    let lines: Vec<serde_json::Value> =
        one.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let u1 = planted.iter().find(|p| p.name == "jpeg before p1").unwrap();
    let rec = lines
        .iter()
        .find(|l| l["location"]["carved"]["offset"] == u1.offset)
        .expect("the carved JPEG before p1");
    assert_eq!(rec["location"]["carved"]["area"], "unpartitioned");
    assert_eq!(rec["location"]["carved"]["format"], "jpeg");
    assert_eq!(rec["location"]["byte_runs"][0]["img_offset"], u1.offset);
    assert_eq!(rec["sha1"], sha1_hex(&u1.bytes));
    assert_eq!(rec["disposition"], "unknown-image");
    assert!(rec["pdq"].is_string());
    let counts = &lines.last().unwrap()["counts"];
    assert_eq!(counts["error"], 1, "only the volume without a file system: {counts}");
    let header = &lines[0];
    assert!(header.to_string().contains("carving=jpeg,png,gif,bmp,webp"), "{header}");

    let csv = scan("r.csv", &["--format", "csv"]);
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let headers = reader.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let row = reader
        .records()
        .map(Result::unwrap)
        .find(|r| r[col("carved_offset")] == u1.offset.to_string())
        .expect("CSV row of the carved JPEG");
    assert_eq!(&row[col("carved_area")], "unpartitioned");
    assert_eq!(&row[col("byte_runs")], format!("{}+{}", u1.offset, u1.bytes.len()));

    let xml = scan("r.xml", &["--format", "dfxml"]);
    let xml_file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(xml_file.path(), &xml).unwrap();
    if let Some(errors) = common::tools::dfxml_schema_errors(xml_file.path()) {
        panic!("not valid against the DFXML 1.2.0 schema:\n{errors}");
    }
    // Carved items sit in their image's element, after its volumes, not in a volume.
    let image_level = xml.rsplit_once("</volume>").map_or(xml.as_str(), |(_, rest)| rest);
    assert!(image_level.contains(&format!("$CarvedFiles/{}.jpg", u1.offset)));
    let object = xml
        .split("<fileobject>")
        .find(|o| o.contains(&format!("$CarvedFiles/{}.jpg", u1.offset)))
        .expect("DFXML fileobject of the carved JPEG");
    assert!(object.contains(&format!(r#"img_offset="{}" len="{}""#, u1.offset, u1.bytes.len())));
    assert!(!object.contains("<inode>"), "a carved file has no inode: {object}");
    assert!(object.contains(r#"<mh:carved area="unpartitioned" format="jpeg""#), "{object}");

    let case = scan("r.jsonld", &["--format", "case"]);
    assert!(
        case.contains(&format!("carved (jpeg) from unpartitioned space at byte {}", u1.offset))
    );

    let off = scan("off.jsonl", &["--no-carve"]);
    assert!(!off.contains("$CarvedFiles"));
    assert!(off.lines().next().unwrap().contains("carving=off"));
}

/// The review (issue #13) shows carved pictures too: each whole carved picture of the FAT
/// disk gets a thumbnail read again at its recorded offset and checked against the report's
/// SHA-256; when the image's bytes there change, a placeholder says so.
#[test]
#[cfg_attr(
    not(mediahash_carve_tools),
    ignore = "needs foremost sleuthkit dosfstools mtools ntfs-3g fdisk"
)]
fn review_thumbnails_of_carved_pictures() {
    use mediahash::report::jsonl::JsonlWriter;
    use mediahash::review::{ReviewOptions, write_review};
    let evidence = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let (image, planted) = fat_disk(evidence.path());
    let report = work.path().join("report.jsonl");
    let mut writer = JsonlWriter::new(std::fs::File::create(&report).unwrap());
    let options = mediahash::scan::ScanOptions::default();
    mediahash::scan::scan(std::slice::from_ref(&image), &[], &options, &mut writer).unwrap();
    drop(writer);
    let records: Vec<serde_json::Value> = std::fs::read_to_string(&report)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let carved_pictures = records
        .iter()
        .filter(|r| r["location"]["carved"].is_object() && r["disposition"] == "unknown-image")
        .count();
    let whole = planted.iter().filter(|p| p.whole).count();
    assert!(carved_pictures >= whole, "{carved_pictures} carved pictures, {whole} planted");
    let pictures = records.iter().filter(|r| r["disposition"] == "unknown-image").count();
    let made =
        write_review(&report, &work.path().join("review"), &ReviewOptions::default(), &[]).unwrap();
    assert_eq!((made.thumbnails, made.placeholders), (pictures as u64, 0));

    // Overwrite the first planted picture's bytes: its thumbnail is refused, not shown.
    let first = planted.iter().find(|p| p.whole).unwrap();
    write_at(&image, first.offset + 200, &[0x55; 64]);
    let again = write_review(&report, &work.path().join("review2"), &ReviewOptions::default(), &[])
        .unwrap();
    assert_eq!((again.thumbnails, again.placeholders), (pictures as u64 - 1, 1));
}
