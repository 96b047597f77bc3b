//! ext2/ext3/ext4 in disk images (issue #15): images built here with e2fsprogs
//! (`mke2fs -d DIR`, with 4 KiB and 1 KiB blocks, block maps and extents, `64bit`,
//! `meta_bg`, `inline_data`, directories indexed by `e2fsck -D`), files deleted with
//! `debugfs` (`rm`, `rmdir`, `kill_file`; pointers wiped with `sif` as ext3/ext4 wipe them;
//! blocks marked in use again with `setb`), inside MBR/GPT partitions or alone, read by
//! mediahash's disk source and compared with The Sleuth Kit (`fls -r -p`, `icat`,
//! `blkstat`, `blkls`) and e2fsprogs' own view of the free blocks (`dumpe2fs`): the same
//! entries, inode numbers, deleted flags, sizes and SHA-1, every deleted file TSK recovers
//! found with the same content, the same free space. Hostile structures (an extent tree
//! that loops or is too deep, extents past the end, an indirect block loop, a directory
//! loop, a directory using a block twice, absurd counts, a truncated image) give typed
//! error records; a directory of 10^6 entries is read in bounded time and memory.
//!
//! Gated by cfg `mediahash_ext_tools` (build.rs; always set in CI, where a missing tool
//! fails).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::synth;
use common::tools::{self, pattern, run_tool, sha1_hex, tool_path};
use mediahash::evidence::{Item, SourceOptions, open_root};
use mediahash::report::{EntryDisposition, EntryKind, EntryRecord, ReasonCode};

const TOOLS: &str = "needs e2fsprogs, sleuthkit, fdisk, gdisk (apt-get install -y e2fsprogs \
                     sleuthkit fdisk gdisk; then touch build.rs)";

fn run(cmd: &str, args: &[&str]) -> Vec<u8> {
    run_tool(cmd, args, TOOLS)
}

fn picture() -> Vec<u8> {
    synth::png_rgb8(160, 120, &synth::photo_like(160, 120, 21))
}

/// Partition start (sectors) in partitioned images.
const START: u64 = 2048;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Table {
    None,
    Mbr,
    Gpt,
}

/// Puts the file system image `fs` into a new disk image with `table`; returns the image
/// and the file system's start sector.
fn partition(dir: &Path, fs: &Path, table: Table) -> (PathBuf, u64) {
    if table == Table::None {
        return (fs.to_path_buf(), 0);
    }
    let fs_sectors = std::fs::metadata(fs).unwrap().len() / 512;
    let image = dir.join(format!("disk-{table:?}.raw"));
    std::fs::File::create(&image).unwrap().set_len((START + fs_sectors + 2048) * 512).unwrap();
    let img = image.to_str().unwrap();
    if table == Table::Mbr {
        let script = format!("label: dos\nstart={START}, size={fs_sectors}, type=83\n");
        let mut child = Command::new(tool_path("sfdisk"))
            .args(["-q", img])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("sfdisk could not run ({e}): {TOOLS}"));
        child.stdin.as_mut().unwrap().write_all(script.as_bytes()).unwrap();
        assert!(child.wait().unwrap().success(), "sfdisk failed");
    } else {
        let range = format!("1:{START}:{}", START + fs_sectors - 1);
        run("sgdisk", &["-n", &range, "-t", "1:8300", img]);
    }
    // Copied in 1 MiB pieces, skipping zeros, so sparse images stay sparse.
    let src = std::fs::File::open(fs).unwrap();
    let dst = std::fs::OpenOptions::new().write(true).open(&image).unwrap();
    let mut buf = vec![0u8; 1 << 20];
    let mut at = 0u64;
    loop {
        let n = src.read_at(&mut buf, at).unwrap();
        if n == 0 {
            break;
        }
        if buf[..n].iter().any(|&b| b != 0) {
            dst.write_all_at(&buf[..n], START * 512 + at).unwrap();
        }
        at += n as u64;
    }
    (image, START)
}

/// Writes `bytes` at `path` under `root`, making its directories.
fn put(root: &Path, path: &str, bytes: &[u8]) {
    let p = root.join(path);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, bytes).unwrap();
}

/// A sparse file of `len` bytes with `pieces` of data at their offsets.
fn sparse(root: &Path, path: &str, len: u64, pieces: &[(u64, Vec<u8>)]) {
    let p = root.join(path);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    let f = std::fs::File::create(p).unwrap();
    f.set_len(len).unwrap();
    for (at, bytes) in pieces {
        f.write_all_at(bytes, *at).unwrap();
    }
}

/// The tree every image is made from: nested directories, files of sizes around the
/// inline, block, indirect and extent limits, sparse files (one reaching the triple
/// indirect block with 1 KiB blocks), 300 files in one directory, symbolic links (fast
/// and slow), a FIFO, names with spaces and UTF-8, and the files the deletions use.
fn populate(src: &Path) {
    put(src, "Pictures/holiday photo.png", &picture());
    put(src, "Docs/Deep Folder/report.bin", &pattern(20_000, 1));
    put(src, "Docs/tiny.txt", b"tiny\n");
    put(src, "Docs/empty.txt", b"");
    put(src, "Docs/exactly 60.bin", &pattern(60, 2));
    put(src, "Docs/one block plus one.bin", &pattern(4097, 3));
    put(src, "Docs/indirect.bin", &pattern(300_000, 4));
    put(src, "unicode \u{e9}t\u{e9}.txt", "\u{e9}t\u{e9}\n".as_bytes());
    sparse(
        src,
        "sparse.bin",
        3 << 20,
        &[(1 << 20, pattern(10_000, 5)), ((3 << 20) - 100, pattern(100, 6))],
    );
    sparse(src, "Docs/far.bin", 70 << 20, &[(68 << 20, pattern(5000, 7))]);
    for i in 0..300 {
        put(src, &format!("many/file {i:03}.txt"), format!("content of file {i}\n").as_bytes());
    }
    put(src, "Trash/gone.bin", &pattern(30_000, 8));
    put(src, "Trash/gone small.txt", b"deleted small\n");
    put(src, "Trash/inner/deep gone.bin", &pattern(12_000, 9));
    put(src, "Trash/killed.bin", &pattern(8_000, 10));
    put(src, "Trash/wiped.bin", &pattern(9_000, 11));
    put(src, "Trash/reused blocks.bin", &pattern(40_000, 12));
    put(src, "Trash/realloc.bin", &pattern(5_000, 13));
    put(src, "Lost/orphan.bin", &pattern(7_000, 14));
    std::os::unix::fs::symlink("Docs/tiny.txt", src.join("link fast")).unwrap();
    std::os::unix::fs::symlink("x".repeat(100), src.join("link slow")).unwrap();
    let fifo = std::ffi::CString::new(src.join("pipe").to_str().unwrap()).unwrap();
    // SAFETY: a NUL-terminated path that lives across the call.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
}

/// How an image is made.
#[derive(Clone, Copy)]
struct Spec {
    /// `ext2`, `ext3` or `ext4` (mke2fs -t).
    kind: &'static str,
    /// More mke2fs options.
    options: &'static [&'static str],
    /// Block size (mke2fs -b).
    block: u64,
    /// Index the directories (`e2fsck -fD`) before the deletions.
    htree: bool,
}

/// mke2fs -d `src` into a new 96 MiB file system image.
fn mkfs(dir: &Path, spec: Spec, src: &Path) -> PathBuf {
    let fs = dir.join(format!("{}.img", spec.kind));
    std::fs::File::create(&fs).unwrap().set_len(96 << 20).unwrap();
    let block = spec.block.to_string();
    let mut args = vec!["-q", "-F", "-t", spec.kind, "-b", &block];
    args.extend_from_slice(spec.options);
    args.extend(["-d", src.to_str().unwrap(), fs.to_str().unwrap()]);
    run("mke2fs", &args);
    if spec.htree {
        // Exit status 1: the file system was changed (directories indexed).
        let status = Command::new(tool_path("e2fsck"))
            .args(["-fyD", fs.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap_or_else(|e| panic!("e2fsck could not run ({e}): {TOOLS}"));
        assert!(status.code().is_some_and(|c| c <= 1), "e2fsck -fyD: {status}");
    }
    fs
}

/// Runs a debugfs script (one command a line) on `fs`, writable.
fn debugfs(fs: &Path, script: &str) {
    let mut child = Command::new(tool_path("debugfs"))
        .args(["-w", "-f", "-", fs.to_str().unwrap()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("debugfs could not run ({e}): {TOOLS}"));
    child.stdin.take().unwrap().write_all(script.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let text =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    for bad in ["not found", "Couldn't", "rror", "Usage", "nvalid"] {
        assert!(!text.contains(bad), "debugfs script failed ({bad}):\n{script}\n{text}");
    }
}

/// A record and, for content items, the bytes read (not for files over 256 MiB).
type Listed = (EntryRecord, Option<std::io::Result<Vec<u8>>>);
type Mh = Vec<Listed>;

fn mh(image: &Path) -> Mh {
    open_root(image, &SourceOptions::default())
        .map(|item| match item {
            Item::Decided(r) => (r, None),
            Item::Content(c) => {
                let record = c.record;
                if record.size.unwrap_or(0) > 256 << 20 {
                    return (record, None);
                }
                let bytes = match c.content.open() {
                    Ok(mut opened) => {
                        let mut buf = Vec::new();
                        opened.reader.read_to_end(&mut buf).map(|_| buf)
                    }
                    Err(r) => panic!("open failed: {r}"),
                };
                (record, Some(bytes))
            }
        })
        .collect()
}

fn find<'a>(items: &'a Mh, suffix: &str) -> &'a Listed {
    items
        .iter()
        .find(|e| e.0.path_text().ends_with(suffix))
        .unwrap_or_else(|| panic!("no record ending {suffix}"))
}

fn code(r: &EntryRecord) -> Option<ReasonCode> {
    r.reason.as_ref().map(|r| r.code)
}

fn inode_of(items: &Mh, suffix: &str) -> u64 {
    find(items, suffix).0.location.as_ref().unwrap().entry_number.unwrap()
}

/// The record's path inside the file system, as `fls` prints it (control characters as
/// `^`, then lossy UTF-8).
fn fs_path(record: &EntryRecord, image: &Path, start: u64) -> Option<String> {
    let part = if start == 0 { "p0" } else { "p1" };
    let prefix = format!("{}/{part}/", image.display());
    let inside = record.path.strip_prefix(prefix.as_bytes())?;
    let printed: Vec<u8> = inside.iter().map(|&b| if b < 0x20 { b'^' } else { b }).collect();
    Some(String::from_utf8_lossy(&printed).into_owned())
}

/// The deletions every image gets, as debugfs does them (it keeps the block pointers and
/// extents, as ext2 does): see the module docs. Returns the paths whose name stays live
/// while the inode is freed (`kill_file`): TSK marks only names deleted.
fn delete(fs: &Path, spec: Spec) -> Vec<&'static str> {
    let before = mh(fs);
    let new_file = fs.with_extension("new");
    std::fs::write(&new_file, pattern(6_000, 15)).unwrap();
    let wiped = inode_of(&before, "/Trash/wiped.bin");
    let lost = inode_of(&before, "/p0/Lost");
    let reused = find(&before, "/Trash/reused blocks.bin").0.location.clone().unwrap();
    let reused_block = reused.byte_runs[0].img_offset / spec.block;
    // ext3 and ext4 clear the size and the pointers (or the extent count) at deletion.
    let wipe = |n: u64| -> String {
        let mut s = format!("sif <{n}> size 0\n");
        if spec.kind == "ext4" && !spec.options.contains(&"^extents") {
            s.push_str(&format!("sif <{n}> block[0] 0xF30A\n"));
        } else {
            let fields =
                (0..12).map(|k| k.to_string()).chain(["IND", "DIND", "TIND"].map(String::from));
            for k in fields {
                s.push_str(&format!("sif <{n}> block[{k}] 0\n"));
            }
        }
        s
    };
    let script = format!(
        "rm Trash/realloc.bin\n\
         write {} Docs/new.bin\n\
         rm Trash/gone.bin\n\
         rm \"Trash/gone small.txt\"\n\
         rm \"Trash/inner/deep gone.bin\"\n\
         rmdir Trash/inner\n\
         kill_file Trash/killed.bin\n\
         rm Trash/wiped.bin\n\
         {}\
         rm \"Trash/reused blocks.bin\"\n\
         setb {reused_block}\n\
         rm Lost/orphan.bin\n\
         rmdir Lost\n\
         {}",
        new_file.display(),
        wipe(wiped),
        wipe(lost),
    );
    debugfs(fs, &script);
    vec!["Trash/killed.bin"]
}

/// Builds an image of `spec` with the tree and the deletions, inside `table`.
fn build(dir: &Path, spec: Spec, table: Table) -> (PathBuf, u64, Vec<&'static str>) {
    let src = dir.join("src");
    populate(&src);
    let fs = mkfs(dir, spec, &src);
    let crafted = delete(&fs, spec);
    let (image, start) = partition(dir, &fs, table);
    (image, start, crafted)
}

/// What the comparison with TSK found.
#[derive(Default, Debug)]
struct Outcome {
    /// Deleted files whose content TSK and mh give alike.
    recovered: usize,
    /// Deleted files mh refuses because their blocks are in use again (blkstat agrees).
    reused: usize,
    /// Deleted names whose inode is in use again (TSK's "(realloc)").
    realloc: usize,
    /// Deleted files whose pointers were wiped (icat gives zeros or nothing).
    wiped: usize,
}

/// Compares mh with TSK on `image` (volume at `start`).
fn check_against_tsk(image: &Path, start: u64, kind: &str, crafted: &[&str]) -> (Mh, Outcome) {
    let tsk = tools::fls(image, start, TOOLS);
    let items = mh(image);
    let volume = &items[1].0;
    assert_eq!(volume.disposition, EntryDisposition::Directory, "{:?}", volume.reason);
    assert_eq!(volume.location.as_ref().unwrap().fs_type.as_deref(), Some(kind));
    let mut ours: BTreeMap<(String, u64), &Listed> = BTreeMap::new();
    for e in &items[2..] {
        let path = fs_path(&e.0, image, start).unwrap();
        let n = e.0.location.as_ref().unwrap().entry_number.unwrap();
        assert!(ours.insert((path.clone(), n), e).is_none(), "{path} ({n}) listed twice");
    }
    let img = image.to_str().unwrap();
    let off = start.to_string();
    let mut expected = BTreeSet::new();
    let mut outcome = Outcome::default();
    for t in tsk.iter().filter(|t| !t.is_virtual()) {
        let n = t.entry_number();
        let realloc = t.address.ends_with("(realloc)");
        assert!(expected.insert((t.path.clone(), n)), "TSK lists {} twice", t.path);
        let (record, bytes) = ours
            .get(&(t.path.clone(), n))
            .unwrap_or_else(|| panic!("TSK's {} ({}) not listed by mh", t.path, t.address));
        let loc = record.location.as_ref().unwrap();
        let deleted = t.deleted || crafted.contains(&t.path.as_str());
        assert_eq!(loc.deleted, Some(deleted), "{}: deleted flag", t.path);
        let kind = if t.is_dir() { EntryKind::Directory } else { EntryKind::File };
        assert_eq!(record.kind, kind, "{} ({})", t.path, t.kind);
        let message = record.reason_message().unwrap_or_default().to_string();
        if realloc {
            assert_eq!(code(record), Some(ReasonCode::NotRecoverable), "{}: {message}", t.path);
            assert!(message.contains("in use again"), "{}: {message}", t.path);
            outcome.realloc += 1;
            continue;
        }
        if t.is_dir() {
            if !deleted {
                assert_eq!(record.disposition, EntryDisposition::Directory, "{}", t.path);
            }
            continue;
        }
        match t.kind.as_str() {
            "l/l" => {
                assert_eq!(code(record), Some(ReasonCode::SymlinkNotFollowed), "{}", t.path);
                continue;
            }
            "p/p" => {
                assert_eq!(code(record), Some(ReasonCode::Fifo), "{}", t.path);
                continue;
            }
            _ => {}
        }
        if n == 0 {
            // A deleted name without inode: nothing to read, for TSK too.
            assert_eq!(code(record), Some(ReasonCode::NotRecoverable), "{}", t.path);
            continue;
        }
        let theirs = run("icat", &["-o", &off, img, &n.to_string()]);
        if deleted && code(record) == Some(ReasonCode::NotRecoverable) {
            if message.contains("allocated again") {
                // TSK's blkstat must agree that the block is in use.
                let block =
                    message.split("block ").nth(1).unwrap().split_whitespace().next().unwrap();
                let stat = run("blkstat", &["-o", &off, img, block]);
                assert!(
                    String::from_utf8_lossy(&stat).lines().any(|l| l == "Allocated"),
                    "{}: {message}, but blkstat says otherwise",
                    t.path
                );
                outcome.reused += 1;
            } else {
                assert!(
                    (message.contains("keeps no block pointers") || message.contains("is cleared"))
                        && theirs.iter().all(|&b| b == 0),
                    "{}: mh says {message}, TSK gives {} bytes",
                    t.path,
                    theirs.len()
                );
                outcome.wiped += 1;
            }
            continue;
        }
        let mine = match bytes {
            Some(Ok(b)) => b,
            other => panic!(
                "{}: TSK gives {} bytes, mh {other:?} {:?}",
                t.path,
                theirs.len(),
                record.reason
            ),
        };
        assert_eq!(record.size, Some(theirs.len() as u64), "{}: size", t.path);
        assert_eq!(sha1_hex(mine), sha1_hex(&theirs), "{}: content differs from icat", t.path);
        if deleted && !theirs.is_empty() {
            outcome.recovered += 1;
        }
    }
    let listed: BTreeSet<(String, u64)> = ours.keys().cloned().collect();
    let only_mh: Vec<_> = listed.difference(&expected).collect();
    assert!(only_mh.is_empty(), "mh lists entries TSK does not: {only_mh:?}");
    (items, outcome)
}

/// The free blocks (ranges, in blocks) that dumpe2fs lists per group: e2fsprogs' own view,
/// also of groups whose block bitmap is not initialized.
fn dumpe2fs_free(fs_image: &Path) -> Vec<(u64, u64)> {
    let text = String::from_utf8(run("dumpe2fs", &[fs_image.to_str().unwrap()])).unwrap();
    let mut out: Vec<(u64, u64)> = Vec::new();
    for line in text.lines() {
        // Per group, indented (the header's "Free blocks:" is a count).
        let Some(list) = line.strip_prefix("  Free blocks: ") else { continue };
        for item in list.split(", ").filter(|s| !s.is_empty()) {
            let (a, b) = item.split_once('-').unwrap_or((item, item));
            let (a, b): (u64, u64) = (a.parse().unwrap(), b.parse().unwrap());
            match out.last_mut() {
                Some((s, c)) if *s + *c == a => *c += b - a + 1,
                _ => out.push((a, b - a + 1)),
            }
        }
    }
    out
}

/// mh's free space as block ranges (`start`: the volume's sector).
fn mh_free(image: &Path, start: u64, block: u64) -> Vec<(u64, u64)> {
    let source = mediahash::evidence::disk::open_container(image, false).unwrap().unwrap();
    let len = source.image.len() - start * 512;
    let fs = mediahash::evidence::fs::open(&*source.image, start * 512, len).unwrap();
    fs.unallocated.iter().map(|&(o, l)| ((o - start * 512) / block, l / block)).collect()
}

fn check(spec: Spec, table: Table) -> (Mh, Outcome, PathBuf, u64) {
    let dir = tempfile::tempdir().unwrap();
    let (image, start, crafted) = build(dir.path(), spec, table);
    let (items, outcome) = check_against_tsk(&image, start, spec.kind, &crafted);
    // Content checks beyond TSK's: the files as written.
    let content = |suffix: &str| match find(&items, suffix) {
        (_, Some(Ok(bytes))) => bytes.clone(),
        (record, other) => panic!("{suffix}: {other:?} {record:?}"),
    };
    assert_eq!(content("/Pictures/holiday photo.png"), picture());
    assert_eq!(content("/Docs/indirect.bin"), pattern(300_000, 4));
    let sparse = content("/sparse.bin");
    assert_eq!(sparse.len(), 3 << 20);
    assert_eq!(&sparse[1 << 20..(1 << 20) + 10_000], &pattern(10_000, 5)[..]);
    assert!(sparse[..1 << 20].iter().all(|&b| b == 0));
    let far = content("/Docs/far.bin");
    assert_eq!(&far[68 << 20..(68 << 20) + 5000], &pattern(5000, 7)[..]);
    assert_eq!(content("/Trash/gone.bin"), pattern(30_000, 8), "deleted, recovered");
    // Deleted from an inline directory, its entry loses its inode number (it is the first
    // entry: no predecessor takes its space), and its inode becomes an orphan.
    if !spec.options.contains(&"inline_data") {
        assert_eq!(content("/Trash/inner/deep gone.bin"), pattern(12_000, 9), "in a deleted dir");
    }
    assert_eq!(content("/Trash/killed.bin"), pattern(8_000, 10), "inode freed, name live");
    let wiped = &find(&items, "/Trash/wiped.bin").0;
    assert_eq!(code(wiped), Some(ReasonCode::NotRecoverable));
    let reused = &find(&items, "/Trash/reused blocks.bin").0;
    assert!(reused.reason_message().unwrap().contains("allocated again"), "{reused:?}");
    let orphan = pattern(7_000, 14);
    assert!(
        items.iter().any(|e| e.0.path_text().contains("/$OrphanFiles/OrphanFile-")
            && e.1.as_ref().is_some_and(|b| b.as_ref().is_ok_and(|b| *b == orphan))),
        "the orphan (its directory wiped) is listed and read"
    );
    let many = items.iter().filter(|e| e.0.path_text().contains("/many/file ")).count();
    assert_eq!(many, 300);
    assert!(outcome.recovered >= 5, "{outcome:?}");
    assert_eq!(outcome.reused, 1, "{outcome:?}");
    assert!(outcome.wiped >= 1, "{outcome:?}");
    // Free space: as e2fsprogs computes it from the bitmaps (BLOCK_UNINIT groups too).
    let fs_image = dir.path().join(format!("{}.img", spec.kind));
    assert_eq!(mh_free(&image, start, spec.block), dumpe2fs_free(&fs_image), "free blocks");
    (items, outcome, image, start)
}

#[test]
#[cfg_attr(not(mediahash_ext_tools), ignore = "needs e2fsprogs sleuthkit fdisk gdisk")]
fn ext4_matches_the_sleuth_kit() {
    let spec = Spec { kind: "ext4", options: &[], block: 4096, htree: false };
    let (_, outcome, ..) = check(spec, Table::None);
    assert_eq!(outcome.realloc, 1, "{outcome:?}");
}

#[test]
#[cfg_attr(not(mediahash_ext_tools), ignore = "needs e2fsprogs sleuthkit fdisk gdisk")]
fn ext4_1k_blocks_indexed_directories_in_mbr_match_the_sleuth_kit() {
    let spec = Spec { kind: "ext4", options: &[], block: 1024, htree: true };
    check(spec, Table::Mbr);
}

#[test]
#[cfg_attr(not(mediahash_ext_tools), ignore = "needs e2fsprogs sleuthkit fdisk gdisk")]
fn ext3_block_maps_1k_in_gpt_match_the_sleuth_kit() {
    let spec = Spec { kind: "ext3", options: &[], block: 1024, htree: false };
    check(spec, Table::Gpt);
}

#[test]
#[cfg_attr(not(mediahash_ext_tools), ignore = "needs e2fsprogs sleuthkit fdisk gdisk")]
fn ext2_indexed_directories_match_the_sleuth_kit() {
    let spec = Spec { kind: "ext2", options: &[], block: 4096, htree: true };
    check(spec, Table::None);
}

#[test]
#[cfg_attr(not(mediahash_ext_tools), ignore = "needs e2fsprogs sleuthkit fdisk gdisk")]
fn ext4_inline_data_matches_the_sleuth_kit() {
    let spec = Spec { kind: "ext4", options: &["-O", "inline_data"], block: 4096, htree: true };
    let (items, ..) = check(spec, Table::None);
    let tiny = find(&items, "/Docs/tiny.txt");
    assert!(tiny.0.location.as_ref().unwrap().byte_runs.is_empty(), "inline: no byte runs");
    assert_eq!(tiny.1.as_ref().unwrap().as_ref().unwrap(), b"tiny\n");
}

#[test]
#[cfg_attr(not(mediahash_ext_tools), ignore = "needs e2fsprogs sleuthkit fdisk gdisk")]
fn ext4_block_maps_meta_bg_match_the_sleuth_kit() {
    let spec = Spec {
        kind: "ext4",
        options: &["-O", "^extents,^64bit,meta_bg,^resize_inode"],
        block: 1024,
        htree: false,
    };
    // TSK names an ext4 without extents `ext3` (it looks at the extents feature only).
    let dir = tempfile::tempdir().unwrap();
    let (image, start, crafted) = build(dir.path(), spec, Table::None);
    let (items, outcome) = check_against_tsk(&image, start, "ext3", &crafted);
    assert!(outcome.recovered >= 5, "{outcome:?}");
    assert_eq!(
        find(&items, "/Docs/indirect.bin").1.as_ref().unwrap().as_ref().unwrap(),
        &pattern(300_000, 4)
    );
    assert_eq!(mh_free(&image, start, spec.block), dumpe2fs_free(&image), "free blocks");
}
