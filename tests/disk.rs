//! Disk images (issue #15, first slice): raw images with MBR or GPT and FAT12/16/32 file
//! systems built here with Debian's tools (`mkfs.vfat`, `mcopy`/`mmd`/`mdel`, `sfdisk`,
//! `sgdisk`), read by mediahash's disk source and compared with The Sleuth Kit (`fls -r -p`,
//! `icat`): the same allocated files with the same sizes and SHA-1, and every deleted file
//! TSK recovers found with the same content. Hostile images give typed error records.
//!
//! The tests that need the tools carry `cfg_attr(not(mediahash_disk_tools), ignore)`
//! (build.rs sets the cfg when the tools are on PATH, and always in CI, where a missing
//! tool is then a failure).

mod common;

use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::tools::{fls, pattern, run_tool, sha1_hex};
use common::{synth, tools};
use mediahash::evidence::{Item, SourceOptions, open_root};
use mediahash::report::{EntryDisposition, EntryKind, EntryRecord, ReasonCode};

const TOOLS: &str = "needs sleuthkit, dosfstools, mtools, fdisk, gdisk (apt-get install -y \
                     sleuthkit dosfstools mtools fdisk gdisk; then touch build.rs)";

#[derive(Clone, Copy, Debug)]
enum Table {
    Mbr,
    Gpt,
}

/// Partition start (sectors) in every built image.
const START: u64 = 2048;

/// The picture put in every file system.
fn run(cmd: &str, args: &[&str]) -> Vec<u8> {
    run_tool(cmd, args, TOOLS)
}

fn picture() -> Vec<u8> {
    synth::png_rgb8(160, 120, &synth::photo_like(160, 120, 7))
}

/// A FAT file system of `fat` bits holding files, long names, subdirectories, a picture and
/// deleted files, inside a partition of `table` at sector [`START`]. Returns the image.
fn build(dir: &Path, fat: u32, table: Table) -> PathBuf {
    let (fs_sectors, extra): (u64, &[&str]) = match fat {
        12 => (8 * 2048, &[]),
        16 => (40 * 2048, &[]),
        _ => (80 * 2048, &["-s", "1"]),
    };
    let fs = dir.join(format!("fs{fat}.img"));
    std::fs::File::create(&fs).unwrap().set_len(fs_sectors * 512).unwrap();
    let fat_arg = fat.to_string();
    let mut args = vec!["-F", fat_arg.as_str()];
    args.extend_from_slice(extra);
    let fs_text = fs.to_str().unwrap();
    args.push(fs_text);
    run("mkfs.vfat", &args);
    let put = |name: &str, bytes: &[u8], target: &str| {
        let src = dir.join(name);
        std::fs::write(&src, bytes).unwrap();
        run("mcopy", &["-i", fs_text, src.to_str().unwrap(), target]);
    };
    for d in ["::/Pictures", "::/Docs", "::/Docs/Deep Folder", "::/Trash"] {
        run("mmd", &["-i", fs_text, d]);
    }
    put("f1", b"short file\n", "::/A.TXT");
    put("f2", &pattern(3000, 1), "::/A long file name with spaces.txt");
    put("f3", &picture(), "::/Pictures/holiday photo.png");
    put("f4", &pattern(20_000, 2), "::/Docs/Deep Folder/report.bin");
    put("f5", &pattern(70_000, 3), "::/big.bin");
    put("f6", b"", "::/empty.txt");
    put("f7", &pattern(5000, 4), "::/Trash/deleted long name.bin");
    put("f8", b"gone\n", "::/GONE.TXT");
    put(
        "f9",
        &synth::png_rgb8(90, 70, &synth::photo_like(90, 70, 9)),
        "::/Pictures/deleted picture.png",
    );
    put("f10", &pattern(100, 5), "::/keep.bin");
    run("mdel", &["-i", fs_text, "::/Trash/deleted long name.bin"]);
    run("mdel", &["-i", fs_text, "::/GONE.TXT"]);
    run("mdel", &["-i", fs_text, "::/Pictures/deleted picture.png"]);

    let image = dir.join(format!("disk-fat{fat}-{table:?}.raw"));
    let total = (START + fs_sectors + 2048) * 512;
    std::fs::File::create(&image).unwrap().set_len(total).unwrap();
    let img = image.to_str().unwrap();
    match table {
        Table::Mbr => {
            let kind = match fat {
                12 => "1",
                16 => "6",
                _ => "c",
            };
            let script = format!("label: dos\nstart={START}, size={fs_sectors}, type={kind}\n");
            let mut child = Command::new("sfdisk")
                .args(["-q", img])
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("sfdisk could not run ({e}): {TOOLS}"));
            std::io::Write::write_all(child.stdin.as_mut().unwrap(), script.as_bytes()).unwrap();
            assert!(child.wait().unwrap().success(), "sfdisk failed");
        }
        Table::Gpt => {
            let range = format!("1:{START}:{}", START + fs_sectors - 1);
            run("sgdisk", &["-n", &range, "-t", "1:0700", img]);
        }
    }
    let bytes = std::fs::read(&fs).unwrap();
    let f = std::fs::OpenOptions::new().write(true).open(&image).unwrap();
    f.write_all_at(&bytes, START * 512).unwrap();
    image
}

/// What TSK lists: path → (inode, deleted, is_dir), and icat's bytes of every file.
struct Tsk {
    entries: Vec<(String, u64, bool, bool)>,
    content: BTreeMap<u64, Vec<u8>>,
}

fn tsk(image: &Path) -> Tsk {
    let img = image.to_str().unwrap();
    let offset = START.to_string();
    let mut entries = Vec::new();
    let mut content = BTreeMap::new();
    for line in fls(image, START, TOOLS) {
        if line.is_virtual() || line.path.starts_with('$') {
            continue; // TSK's virtual files ($MBR, $FAT1, $OrphanFiles)
        }
        let inode = line.entry_number();
        if !line.is_dir() {
            content.insert(inode, run("icat", &["-o", &offset, img, &inode.to_string()]));
        }
        entries.push((line.path.clone(), inode, line.deleted, line.is_dir()));
    }
    Tsk { entries, content }
}

/// A record and, for a content item, the bytes read through the image.
type Yielded = (EntryRecord, Option<std::io::Result<Vec<u8>>>);

/// What mediahash's disk source yields: records and, for content items, the bytes read.
fn mh(image: &Path) -> Vec<Yielded> {
    let options = SourceOptions::default();
    open_root(image, &options)
        .map(|item| match item {
            Item::Decided(r) => (r, None),
            Item::Content(c) => {
                let mut opened = c.content.open().unwrap_or_else(|r| panic!("open failed: {r}"));
                let mut buf = Vec::new();
                let bytes = opened.reader.read_to_end(&mut buf).map(|_| buf);
                (c.record, Some(bytes))
            }
        })
        .collect()
}

fn fs_path(record: &EntryRecord, image: &Path) -> Option<String> {
    let prefix = format!("{}/p1/", image.display());
    record.path_text().strip_prefix(&prefix).map(str::to_string)
}

fn check_against_tsk(fat: u32, table: Table) {
    let dir = tempfile::tempdir().unwrap();
    let image = build(dir.path(), fat, table);
    let tsk = tsk(&image);
    let mh = mh(&image);

    // The image record, then the volume.
    assert_eq!(mh[0].0.reason.as_ref().unwrap().code, ReasonCode::DiskImage, "{:?}", mh[0].0);
    let volume = &mh[1].0;
    assert_eq!(volume.path_text(), format!("{}/p1", image.display()));
    assert_eq!(volume.disposition, EntryDisposition::Directory, "{:?}", volume.reason);
    let loc = volume.location.as_ref().unwrap();
    assert_eq!(loc.partition_offset, Some(START * 512));
    assert_eq!(loc.fs_type.as_deref(), Some(format!("fat{fat}").as_str()));
    assert_eq!(
        loc.scheme.as_deref(),
        Some(if matches!(table, Table::Mbr) { "mbr" } else { "gpt" })
    );

    // Every TSK entry is found with the same entry number, deletion flag and content.
    let by_number: BTreeMap<u64, &Yielded> =
        mh.iter().filter_map(|e| Some((e.0.location.as_ref()?.entry_number?, e))).collect();
    let mut recovered_deleted = 0;
    for (path, inode, deleted, is_dir) in &tsk.entries {
        let (record, bytes) = by_number
            .get(inode)
            .unwrap_or_else(|| panic!("fat{fat} {table:?}: TSK's {path} ({inode}) not found"));
        assert_eq!(fs_path(record, &image).as_deref(), Some(path.as_str()), "entry {inode}");
        let loc = record.location.as_ref().unwrap();
        assert_eq!(loc.deleted, Some(*deleted), "{path}");
        assert_eq!(record.kind, if *is_dir { EntryKind::Directory } else { EntryKind::File });
        if *is_dir {
            continue;
        }
        let theirs = &tsk.content[inode];
        if *deleted && theirs.is_empty() {
            continue; // nothing recovered by TSK
        }
        let ours = match bytes {
            Some(Ok(b)) => b,
            other => panic!(
                "{path}: TSK recovers {} bytes, mh gives {other:?} {:?}",
                theirs.len(),
                record.reason
            ),
        };
        assert_eq!(sha1_hex(ours), sha1_hex(theirs), "{path}: content differs from icat");
        if !*deleted {
            assert_eq!(record.size, Some(theirs.len() as u64), "{path}: size");
        } else {
            recovered_deleted += 1;
        }
        let runs: u64 = loc.byte_runs.iter().map(|r| r.len).sum();
        assert_eq!(runs, ours.len() as u64, "{path}: byte runs cover the content");
    }
    assert_eq!(
        recovered_deleted, 3,
        "fat{fat}: the three deleted files are recovered by TSK and mh"
    );
    // And nothing mh lists under the file system is unknown to TSK.
    let file_records = mh.iter().filter(|e| fs_path(&e.0, &image).is_some()).count();
    assert_eq!(file_records, tsk.entries.len(), "mh lists the same number of entries as TSK");
    // The picture is there, byte-exact.
    let png = mh
        .iter()
        .find(|e| e.0.path_text().ends_with("/p1/Pictures/holiday photo.png"))
        .expect("picture listed");
    assert_eq!(png.1.as_ref().unwrap().as_ref().unwrap(), &picture());
}

#[test]
#[cfg_attr(not(mediahash_disk_tools), ignore = "needs sleuthkit dosfstools mtools fdisk gdisk")]
fn fat12_in_mbr_matches_the_sleuth_kit() {
    check_against_tsk(12, Table::Mbr);
}

#[test]
#[cfg_attr(not(mediahash_disk_tools), ignore = "needs sleuthkit dosfstools mtools fdisk gdisk")]
fn fat16_in_gpt_matches_the_sleuth_kit() {
    check_against_tsk(16, Table::Gpt);
}

#[test]
#[cfg_attr(not(mediahash_disk_tools), ignore = "needs sleuthkit dosfstools mtools fdisk gdisk")]
fn fat32_in_mbr_matches_the_sleuth_kit() {
    check_against_tsk(32, Table::Mbr);
}

#[test]
#[cfg_attr(not(mediahash_disk_tools), ignore = "needs sleuthkit dosfstools mtools fdisk gdisk")]
fn fat32_in_gpt_matches_the_sleuth_kit() {
    check_against_tsk(32, Table::Gpt);
}

fn record<'a>(
    items: &'a [(EntryRecord, Option<std::io::Result<Vec<u8>>>)],
    suffix: &str,
) -> &'a (EntryRecord, Option<std::io::Result<Vec<u8>>>) {
    items
        .iter()
        .find(|e| e.0.path_text().ends_with(suffix))
        .unwrap_or_else(|| panic!("no record ending {suffix}"))
}

fn code(r: &EntryRecord) -> Option<ReasonCode> {
    r.reason.as_ref().map(|r| r.code)
}

/// An MBR with the given entries (type, start, sectors) on a media of `sectors` sectors.
fn mbr(entries: &[(u8, u32, u32)], sectors: usize) -> Vec<u8> {
    let mut m = vec![0u8; sectors * 512];
    for (i, &(kind, start, count)) in entries.iter().enumerate() {
        let e = 0x1BE + 16 * i;
        m[e + 4] = kind;
        m[e + 8..e + 12].copy_from_slice(&start.to_le_bytes());
        m[e + 12..e + 16].copy_from_slice(&count.to_le_bytes());
    }
    m[510..512].copy_from_slice(&[0x55, 0xAA]);
    m
}

#[test]
fn hostile_partition_past_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("past-end.raw");
    std::fs::write(&path, mbr(&[(0x0c, 64, 4_000_000)], 128)).unwrap();
    let items = mh(&path);
    assert_eq!(items.len(), 2, "image and its one volume");
    let volume = &items[1].0;
    assert_eq!(volume.disposition, EntryDisposition::Error);
    assert_eq!(code(volume), Some(ReasonCode::PartitionPastEnd));
    assert!(volume.reason_message().unwrap().contains("past the end of the media"));
}

#[test]
fn hostile_ebr_loop() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ebr-loop.raw");
    let mut m = mbr(&[(0x05, 100, 400)], 600);
    // EBR 100 → EBR 200 → EBR 200 ... (next EBRs are relative to the extended partition).
    for (at, next) in [(100usize, 100u32), (200, 100)] {
        let e = at * 512;
        m[e + 0x1BE + 4] = 0x83;
        m[e + 0x1BE + 8..e + 0x1BE + 12].copy_from_slice(&2u32.to_le_bytes());
        m[e + 0x1BE + 12..e + 0x1BE + 16].copy_from_slice(&8u32.to_le_bytes());
        m[e + 0x1CE + 4] = 0x05;
        m[e + 0x1CE + 8..e + 0x1CE + 12].copy_from_slice(&next.to_le_bytes());
        m[e + 0x1CE + 12..e + 0x1CE + 16].copy_from_slice(&10u32.to_le_bytes());
        m[e + 510..e + 512].copy_from_slice(&[0x55, 0xAA]);
    }
    std::fs::write(&path, m).unwrap();
    let start = std::time::Instant::now();
    let items = mh(&path);
    assert!(start.elapsed().as_secs() < 5);
    let image = &items[0].0;
    assert_eq!(code(image), Some(ReasonCode::PartitionTableDamaged));
    assert!(image.reason_message().unwrap().contains("loops back to sector 200"), "{image:?}");
    let numbers: Vec<u32> =
        items[1..].iter().map(|e| e.0.location.as_ref().unwrap().partition.unwrap()).collect();
    assert_eq!(numbers, [5, 6], "each logical partition once");
    assert!(items[1..].iter().all(|e| code(&e.0) == Some(ReasonCode::UnknownFileSystem)));
}

/// A FAT16 image (MBR) and where its FAT and a file's clusters are.
fn fat16_image(dir: &Path) -> (PathBuf, u64) {
    let image = build(dir, 16, Table::Mbr);
    let f = std::fs::File::open(&image).unwrap();
    let mut boot = [0u8; 512];
    f.read_exact_at(&mut boot, START * 512).unwrap();
    let reserved = u64::from(u16::from_le_bytes([boot[14], boot[15]]));
    (image, (START + reserved) * 512)
}

/// Media offset of a file's first byte, from its record's byte runs.
fn first_offset(items: &[(EntryRecord, Option<std::io::Result<Vec<u8>>>)], suffix: &str) -> u64 {
    record(items, suffix).0.location.as_ref().unwrap().byte_runs[0].img_offset
}

fn set_fat16(image: &Path, fat: u64, cluster: u64, value: u16) {
    let f = std::fs::OpenOptions::new().write(true).open(image).unwrap();
    f.write_all_at(&value.to_le_bytes(), fat + 2 * cluster).unwrap();
}

/// Cluster number of a media offset in a FAT16 volume, given a known cluster's offset.
fn cluster_at(image: &Path, offset: u64) -> u64 {
    let f = std::fs::File::open(image).unwrap();
    let mut boot = [0u8; 512];
    f.read_exact_at(&mut boot, START * 512).unwrap();
    let spc = u64::from(boot[13]);
    let reserved = u64::from(u16::from_le_bytes([boot[14], boot[15]]));
    let fats = u64::from(boot[16]);
    let root = u64::from(u16::from_le_bytes([boot[17], boot[18]])) * 32 / 512;
    let fat_sectors = u64::from(u16::from_le_bytes([boot[22], boot[23]]));
    let data = (START + reserved + fats * fat_sectors + root) * 512;
    2 + (offset - data) / (spc * 512)
}

#[test]
#[cfg_attr(not(mediahash_disk_tools), ignore = "needs sleuthkit dosfstools mtools fdisk gdisk")]
fn hostile_fat_chain_loop() {
    let dir = tempfile::tempdir().unwrap();
    let (image, fat) = fat16_image(dir.path());
    let first = cluster_at(&image, first_offset(&mh(&image), "/p1/big.bin"));
    // big.bin's second cluster points back to its first.
    set_fat16(&image, fat, first + 1, first as u16);
    let start = std::time::Instant::now();
    let items = mh(&image);
    assert!(start.elapsed().as_secs() < 5);
    let big = &record(&items, "/p1/big.bin").0;
    assert_eq!(big.disposition, EntryDisposition::Error);
    assert_eq!(code(big), Some(ReasonCode::FileSystemDamaged));
    assert!(big.reason_message().unwrap().contains(&format!("loops back to cluster {first}")));
    // The others are unaffected.
    assert!(record(&items, "/p1/keep.bin").1.as_ref().unwrap().is_ok());
}

#[test]
#[cfg_attr(not(mediahash_disk_tools), ignore = "needs sleuthkit dosfstools mtools fdisk gdisk")]
fn hostile_directory_chain_points_to_itself() {
    let dir = tempfile::tempdir().unwrap();
    let (image, fat) = fat16_image(dir.path());
    // Docs' first cluster, from its entry in the root directory.
    let f = std::fs::File::open(&image).unwrap();
    let mut boot = [0u8; 512];
    f.read_exact_at(&mut boot, START * 512).unwrap();
    let reserved = u64::from(u16::from_le_bytes([boot[14], boot[15]]));
    let fat_sectors = u64::from(u16::from_le_bytes([boot[22], boot[23]]));
    let root = (START + reserved + 2 * fat_sectors) * 512;
    let mut root_dir = vec![0u8; 512 * 32];
    f.read_exact_at(&mut root_dir, root).unwrap();
    let docs = root_dir
        .chunks_exact(32)
        .find(|e| &e[0..11] == b"DOCS       ")
        .map(|e| u64::from(u16::from_le_bytes([e[26], e[27]])))
        .expect("Docs entry");
    set_fat16(&image, fat, docs, docs as u16);
    let start = std::time::Instant::now();
    let items = mh(&image);
    assert!(start.elapsed().as_secs() < 5);
    let volume = &items[1].0;
    assert_eq!(code(volume), Some(ReasonCode::FileSystemDamaged), "{volume:?}");
    assert!(volume.reason_message().unwrap().contains(&format!("loops back to cluster {docs}")));
    // The directory's first cluster is still listed.
    assert!(items.iter().any(|e| e.0.path_text().ends_with("/p1/Docs/Deep Folder")));
}

#[test]
#[cfg_attr(not(mediahash_disk_tools), ignore = "needs sleuthkit dosfstools mtools fdisk gdisk")]
fn hostile_truncated_image() {
    let dir = tempfile::tempdir().unwrap();
    let (image, fat) = fat16_image(dir.path());
    let _ = fat;
    let big = first_offset(&mh(&image), "/p1/big.bin");
    // Cut the image in the middle of big.bin.
    std::fs::OpenOptions::new().write(true).open(&image).unwrap().set_len(big + 10_000).unwrap();
    let items = mh(&image);
    let volume = &items[1].0;
    assert_eq!(code(volume), Some(ReasonCode::PartitionPastEnd));
    let (record, bytes) = record(&items, "/p1/big.bin");
    let err = bytes.as_ref().unwrap().as_ref().unwrap_err();
    assert!(err.to_string().contains("past the end of the image"), "{err}");
    assert_eq!(record.size, Some(70_000));
}

/// `mh scan IMAGE` end to end: counts add up, the picture inside the file system is hashed
/// with the PDQ of the same picture in a folder, records are byte-identical for 1 and 2
/// threads, and `--no-disk-images` hashes the image as one file.
#[cfg(feature = "cli")]
#[test]
#[cfg_attr(not(mediahash_disk_tools), ignore = "needs sleuthkit dosfstools mtools fdisk gdisk")]
fn mh_scan_reads_a_disk_image() {
    let evidence = tempfile::tempdir().unwrap();
    let folder = tempfile::tempdir().unwrap();
    let reports = tempfile::tempdir().unwrap();
    let image = build(evidence.path(), 32, Table::Mbr);
    std::fs::write(folder.path().join("same.png"), picture()).unwrap();
    let scan = |root: &Path, name: &str, extra: &[&str]| -> Vec<String> {
        let report = reports.path().join(name);
        let out = Command::new(env!("CARGO_BIN_EXE_mh"))
            .arg("scan")
            .args(extra)
            .arg("--report")
            .arg(&report)
            .arg(root)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        std::fs::read_to_string(report).unwrap().lines().map(str::to_string).collect()
    };
    let one = scan(&image, "t1.jsonl", &["--threads", "1"]);
    let two = scan(&image, "t2.jsonl", &["--threads", "2"]);
    let entries = |lines: &[String]| -> Vec<String> {
        lines.iter().filter(|l| l.starts_with(r#"{"record":"entry""#)).cloned().collect()
    };
    assert_eq!(entries(&one), entries(&two), "records differ between 1 and 2 threads");
    let parsed: Vec<serde_json::Value> =
        one.iter().map(|l| serde_json::from_str(l).unwrap()).collect();
    let footer = parsed.last().unwrap();
    assert_eq!(footer["record"], "footer");
    let counts = &footer["counts"];
    let n = entries(&one).len() as u64;
    assert_eq!(counts["entries"].as_u64(), Some(n));
    let sum: u64 = ["alert", "ignore", "unknown_image", "other", "directory", "skipped", "error"]
        .iter()
        .map(|k| counts[*k].as_u64().unwrap())
        .sum();
    assert_eq!(sum, n, "counts add up: {counts}");
    // Image, volume, 4 directories, 7 allocated files, 3 deleted files.
    assert_eq!(n, 2 + 4 + 7 + 3);
    assert_eq!(counts["skipped"].as_u64(), Some(1), "the image itself");
    let photo = parsed
        .iter()
        .find(|l| l["path"].as_str().is_some_and(|p| p.ends_with("/p1/Pictures/holiday photo.png")))
        .expect("picture record");
    assert_eq!(photo["disposition"], "unknown-image");
    assert_eq!(photo["location"]["deleted"], false);
    assert_eq!(photo["location"]["fs_type"], "fat32");
    let plain = scan(folder.path(), "folder.jsonl", &[]);
    let same: serde_json::Value = plain
        .iter()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|l| l["path"].as_str().is_some_and(|p| p.ends_with("same.png")))
        .unwrap();
    assert!(photo["pdq"].is_string());
    assert_eq!(photo["pdq"], same["pdq"], "PDQ inside the image equals the folder's");
    assert_eq!(photo["sha1"], same["sha1"]);
    let deleted = parsed
        .iter()
        .find(|l| {
            l["path"].as_str().is_some_and(|p| p.ends_with("/p1/Pictures/deleted picture.png"))
        })
        .expect("deleted picture record");
    assert_eq!(
        deleted["disposition"], "unknown-image",
        "a deleted picture is recovered and hashed"
    );
    assert_eq!(deleted["location"]["deleted"], true);
    assert!(deleted["pdq"].is_string());

    // DFXML of a folder and an image together: the image's entries nested in its
    // `diskimageobject` and the partition's `volume`, the folder's after it at the top level
    // (disk-image roots are read first), valid against the DFXML 1.2.0 schema.
    let report = reports.path().join("mixed.xml");
    let out = Command::new(env!("CARGO_BIN_EXE_mh"))
        .args(["scan", "--format", "dfxml", "--report"])
        .arg(&report)
        .arg(folder.path())
        .arg(&image)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    if let Some(errors) = tools::dfxml_schema_errors(&report) {
        panic!("DFXML report not valid against the schema:\n{errors}");
    }
    let xml = std::fs::read_to_string(&report).unwrap();
    let (image_part, folder_part) = xml.split_once("</diskimageobject>").expect("an image element");
    let (before, image_part) = image_part.split_once("<diskimageobject>").unwrap();
    assert!(!before.contains("<fileobject>"), "nothing precedes the image");
    let (volume, rest) = image_part.split_once("</volume>").expect("a volume");
    assert!(volume.contains(r#"<volume offset="1048576">"#), "{volume}");
    assert!(volume.contains("<ftype_str>fat32</ftype_str>"), "{volume}");
    assert_eq!(volume.matches("<fileobject>").count(), 1 + 4 + 7 + 3, "{volume}");
    assert!(volume.contains("/p1/Pictures/holiday photo.png</filename>"));
    // The image file's own record: at image level, after the volume.
    assert_eq!(rest.matches("<fileobject>").count(), 1, "{rest}");
    assert!(rest.contains("<mh:reason_code>"));
    assert!(!folder_part.contains("<volume"));
    assert_eq!(folder_part.matches("<fileobject>").count(), 2, "folder and same.png");

    let whole = scan(&image, "whole.jsonl", &["--no-disk-images"]);
    let whole = entries(&whole);
    assert_eq!(whole.len(), 1);
    let record: serde_json::Value = serde_json::from_str(&whole[0]).unwrap();
    assert_eq!(record["disposition"], "other");
    assert!(record.get("location").is_none());
}

#[test]
#[cfg_attr(not(mediahash_disk_tools), ignore = "needs sleuthkit dosfstools mtools fdisk gdisk")]
fn split_raw_reads_like_the_whole_image() {
    let dir = tempfile::tempdir().unwrap();
    let image = build(dir.path(), 16, Table::Gpt);
    let bytes = std::fs::read(&image).unwrap();
    // Odd-sized pieces, so clusters and files straddle piece boundaries.
    for (i, piece) in bytes.chunks(7_777_777).enumerate() {
        std::fs::write(dir.path().join(format!("split.{:03}", i + 1)), piece).unwrap();
    }
    let whole = mh(&image);
    let split = mh(&dir.path().join("split.001"));
    assert_eq!(whole.len(), split.len());
    assert_eq!(split[0].0.location.as_ref().unwrap().container, "raw (6 segments)");
    for (a, b) in whole.iter().zip(&split) {
        let tail = |r: &EntryRecord, root: &Path| {
            r.path_text().strip_prefix(&*root.to_string_lossy()).unwrap().to_string()
        };
        assert_eq!(tail(&a.0, &image), tail(&b.0, &dir.path().join("split.001")));
        let content = |e: &(EntryRecord, Option<std::io::Result<Vec<u8>>>)| {
            e.1.as_ref().map(|r| r.as_ref().map(|b| sha1_hex(b)).unwrap())
        };
        assert_eq!(content(a), content(b), "{}", a.0.path_text());
    }
}

#[test]
#[cfg_attr(not(mediahash_disk_tools), ignore = "needs sleuthkit dosfstools mtools fdisk gdisk")]
fn gpt_entry_array_crc_mismatch_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let image = build(dir.path(), 12, Table::Gpt);
    // Change the first entry's name (LBA 2, offset 56): the array CRC no longer matches.
    let f = std::fs::OpenOptions::new().write(true).open(&image).unwrap();
    f.write_all_at(b"X\0", 2 * 512 + 56).unwrap();
    let items = mh(&image);
    let top = &items[0].0;
    assert_eq!(code(top), Some(ReasonCode::PartitionTableDamaged));
    assert!(top.reason_message().unwrap().contains("entry array CRC32 mismatch"), "{top:?}");
    // The partition is still read.
    assert_eq!(items[1].0.disposition, EntryDisposition::Directory);
    assert!(items.iter().any(|e| e.0.path_text().ends_with("/p1/big.bin")));
}

/// Files are read in media order, not path order: written in the reverse of their names'
/// order (so path order would read the image back to front), they come in offset order.
#[test]
#[cfg_attr(not(mediahash_disk_tools), ignore = "needs sleuthkit dosfstools mtools fdisk gdisk")]
fn files_are_read_in_media_order() {
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("order.raw");
    std::fs::File::create(&image).unwrap().set_len(8 * 1024 * 1024).unwrap();
    let img = image.to_str().unwrap();
    run("mkfs.vfat", &["-F", "12", img]);
    run("mmd", &["-i", img, "::/d"]);
    for i in (0..12u32).rev() {
        let src = dir.path().join(format!("f{i:02}"));
        std::fs::write(&src, pattern(3000 + i as usize * 700, i)).unwrap();
        let target = if i % 3 == 0 { format!("::/d/f{i:02}") } else { format!("::/f{i:02}") };
        run("mcopy", &["-i", img, src.to_str().unwrap(), &target]);
    }
    let yielded = mh(&image);
    let files: Vec<(String, u64)> = yielded
        .iter()
        .filter(|(r, _)| r.kind == EntryKind::File && r.location.is_some())
        .filter_map(|(r, _)| {
            let first = r.location.as_ref()?.byte_runs.first()?.img_offset;
            Some((r.path_text().to_string(), first))
        })
        .collect();
    assert_eq!(files.len(), 12, "{files:?}");
    assert!(files.windows(2).all(|w| w[0].1 < w[1].1), "not in media order: {files:?}");
    // Written in reverse name order, so media order is reverse path order here.
    assert!(files.first().unwrap().0.ends_with("f11") && files.last().unwrap().0.ends_with("f00"));
    // Directories (no content read) come before the files, depth-first.
    let first_file = yielded.iter().position(|(_, bytes)| bytes.is_some()).unwrap();
    let last_dir = yielded.iter().rposition(|(r, _)| r.kind == EntryKind::Directory).unwrap();
    assert!(last_dir < first_file);
    // And every file's content is what was written.
    for (r, bytes) in &yielded {
        if let Some(bytes) = bytes {
            let name = r.path_text().rsplit('/').next().unwrap().to_string();
            let i: u32 = name[1..].parse().unwrap();
            assert_eq!(bytes.as_ref().unwrap(), &pattern(3000 + i as usize * 700, i), "{name}");
        }
    }
}
