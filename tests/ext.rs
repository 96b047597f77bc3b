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
    put(src, "Docs/prealloc.bin", b"");
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

/// mke2fs -d `src` into a new 96 MiB file system image (larger than the 70 MiB sparse
/// file: TSK refuses a run past the end of the file system, even a sparse one).
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
        if spec.kind == "ext4" && !spec.options.iter().any(|o| o.contains("^extents")) {
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

/// With extents: gives `Docs/prealloc.bin` 8 uninitialized blocks (logical blocks 2-9 of a
/// 64 KiB file, as `fallocate` leaves them) holding stale bytes, which read as zeros.
fn preallocate(fs: &Path, spec: Spec) {
    let inline = spec.options.iter().any(|o| o.contains("inline_data"));
    if spec.kind != "ext4" || spec.options.iter().any(|o| o.contains("^extents")) || inline {
        return;
    }
    debugfs(fs, "fallocate Docs/prealloc.bin 2 9\nsif Docs/prealloc.bin size 65536\n");
    let out = run("debugfs", &["-R", "blocks Docs/prealloc.bin", fs.to_str().unwrap()]);
    let blocks: Vec<u64> =
        String::from_utf8(out).unwrap().split_whitespace().map(|b| b.parse().unwrap()).collect();
    assert_eq!(blocks.len(), 8, "{blocks:?}");
    for b in blocks {
        write_at(fs, b * spec.block, &vec![0xAA; spec.block as usize]);
    }
}

/// Builds an image of `spec` with the tree and the deletions, inside `table`.
fn build(dir: &Path, spec: Spec, table: Table) -> (PathBuf, u64, Vec<&'static str>) {
    let src = dir.join("src");
    populate(&src);
    let fs = mkfs(dir, spec, &src);
    preallocate(&fs, spec);
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

/// Compares mh with TSK on `image` (volume at `start`). `crafted`: names whose inode was
/// freed under a live name (mh marks them deleted, TSK only names). `block`: the block size,
/// to spare `icat` the 70 MiB sparse file where TSK takes about a minute over it (1 KiB
/// block maps): there the size is compared with `ils`'s, the content with what was
/// written (in [`check`]).
fn check_against_tsk(
    image: &Path,
    start: u64,
    fs_type: &str,
    crafted: &[&str],
    block: u64,
) -> (Mh, Outcome) {
    let tsk = tools::fls(image, start, TOOLS);
    let items = mh(image);
    let volume = &items[1].0;
    assert_eq!(volume.disposition, EntryDisposition::Directory, "{:?}", volume.reason);
    assert_eq!(volume.location.as_ref().unwrap().fs_type.as_deref(), Some(fs_type));
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
        if t.path == "Docs/far.bin" && block == 1024 && fs_type != "ext4" {
            assert_eq!(record.size, Some(tsk_size(image, start, n)), "{}: size", t.path);
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

/// TSK's metadata of inode `n` (`ils -e`: no block list, which `istat` and `icat` build
/// first and which takes a minute for a large sparse file with 1 KiB blocks), by field
/// name (`st_size`, `st_mtime`...).
fn tsk_inode(image: &Path, start: u64, n: u64) -> BTreeMap<String, String> {
    let range = format!("{n}-{n}");
    let out = run("ils", &["-e", "-o", &start.to_string(), image.to_str().unwrap(), &range]);
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let header = lines.iter().find(|l| l.starts_with("st_ino|")).expect("ils header");
    let values = lines.last().unwrap();
    assert!(values.starts_with(&format!("{n}|")), "ils: {text}");
    header.split('|').map(String::from).zip(values.split('|').map(String::from)).collect()
}

fn tsk_size(image: &Path, start: u64, n: u64) -> u64 {
    tsk_inode(image, start, n)["st_size"].parse().unwrap()
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
    let (items, outcome) = check_against_tsk(&image, start, spec.kind, &crafted, spec.block);
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
    if spec.kind == "ext4" && spec.options.is_empty() {
        assert_eq!(content("/Docs/prealloc.bin"), vec![0; 65536], "uninitialized: zeros");
    }
    // Times as TSK gives them (ils: modified, accessed, changed).
    let png = &find(&items, "/Pictures/holiday photo.png").0;
    let ils = tsk_inode(&image, start, png.location.as_ref().unwrap().entry_number.unwrap());
    for (mine, field) in [(png.mtime, "st_mtime"), (png.atime, "st_atime"), (png.ctime, "st_ctime")]
    {
        assert_eq!(
            mine.map(|t| t.secs.to_string()).as_deref(),
            Some(ils[field].as_str()),
            "{field}"
        );
    }
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
fn ext2_128_byte_inodes_indexed_directories_match_the_sleuth_kit() {
    let spec = Spec { kind: "ext2", options: &["-I", "128"], block: 4096, htree: true };
    check(spec, Table::None);
}

#[test]
#[cfg_attr(not(mediahash_ext_tools), ignore = "needs e2fsprogs sleuthkit fdisk gdisk")]
fn ext4_64k_blocks_match_the_sleuth_kit() {
    let spec = Spec { kind: "ext4", options: &[], block: 65536, htree: false };
    check(spec, Table::Mbr);
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
    let (items, outcome) = check_against_tsk(&image, start, "ext3", &crafted, spec.block);
    assert!(outcome.recovered >= 5, "{outcome:?}");
    assert_eq!(
        find(&items, "/Docs/indirect.bin").1.as_ref().unwrap().as_ref().unwrap(),
        &pattern(300_000, 4)
    );
    assert_eq!(mh_free(&image, start, spec.block), dumpe2fs_free(&image), "free blocks");
}

/// A file over 4 GiB (sparse): its size from `i_size_high`, as `ils` gives it, and its
/// data where it was written (the bytes past 4 GiB are on the media, the rest zeros).
#[test]
#[cfg_attr(not(mediahash_ext_tools), ignore = "needs e2fsprogs sleuthkit fdisk gdisk")]
fn ext4_file_over_4_gib() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    let at = (4u64 << 30) + 12_345;
    sparse(&src, "huge.bin", 5 << 30, &[(at, pattern(100_000, 21))]);
    put(&src, "small.txt", b"small\n");
    let spec = Spec { kind: "ext4", options: &[], block: 4096, htree: false };
    let fs = mkfs(dir.path(), spec, &src);
    let items = mh(&fs);
    let (record, _) = find(&items, "/p0/huge.bin");
    let loc = record.location.as_ref().unwrap();
    let n = loc.entry_number.unwrap();
    let size = tsk_size(&fs, 0, n);
    assert_eq!(size, 5 << 30);
    assert_eq!(record.size, Some(size));
    // Its only stored bytes: the blocks holding the data at 4 GiB + 12345.
    let f = std::fs::File::open(&fs).unwrap();
    let mut stored = Vec::new();
    for run in &loc.byte_runs {
        let mut buf = vec![0u8; run.len as usize];
        f.read_exact_at(&mut buf, run.img_offset).unwrap();
        stored.extend(buf);
    }
    let within = (at % 4096) as usize;
    assert_eq!(&stored[within..within + 100_000], &pattern(100_000, 21)[..]);
}

/// Where inode `n` is in the file system image `fs` (debugfs `imap`).
fn inode_offset(fs: &Path, n: u64) -> u64 {
    let out =
        String::from_utf8(run("debugfs", &["-R", &format!("imap <{n}>"), fs.to_str().unwrap()]))
            .unwrap();
    let line = out.lines().find(|l| l.contains("located at block")).unwrap();
    let block: u64 =
        line.split("block ").nth(1).unwrap().split(',').next().unwrap().parse().unwrap();
    let offset = u64::from_str_radix(line.split("offset 0x").nth(1).unwrap().trim(), 16).unwrap();
    block * block_size(fs) + offset
}

fn block_size(fs: &Path) -> u64 {
    let mut b = [0u8; 4];
    std::fs::File::open(fs).unwrap().read_exact_at(&mut b, 1024 + 24).unwrap();
    1024 << u32::from_le_bytes(b)
}

fn write_at(fs: &Path, at: u64, bytes: &[u8]) {
    std::fs::OpenOptions::new().write(true).open(fs).unwrap().write_all_at(bytes, at).unwrap();
}

fn read_at(fs: &Path, at: u64, len: usize) -> Vec<u8> {
    let mut buf = vec![0u8; len];
    std::fs::File::open(fs).unwrap().read_exact_at(&mut buf, at).unwrap();
    buf
}

/// An extent node header.
fn extent_header(entries: u16, max: u16, depth: u16) -> Vec<u8> {
    let mut h = 0xF30Au16.to_le_bytes().to_vec();
    for v in [entries, max, depth] {
        h.extend_from_slice(&v.to_le_bytes());
    }
    h.extend_from_slice(&[0; 4]);
    h
}

/// An extent index entry pointing to `block`.
fn extent_index(block: u32) -> Vec<u8> {
    let mut e = 0u32.to_le_bytes().to_vec();
    e.extend_from_slice(&block.to_le_bytes());
    e.extend_from_slice(&[0; 4]);
    e
}

/// Makes `n`'s extent tree loop: its root an index of depth 2 pointing to block `x`, which
/// holds an index node of depth 1 pointing to itself.
fn extent_loop(fs: &Path, n: u64, x: u64) {
    let root = inode_offset(fs, n) + 0x28;
    let mut node = extent_header(1, 4, 2);
    node.extend(extent_index(x as u32));
    write_at(fs, root, &node);
    let mut inner = extent_header(1, 340, 1);
    inner.extend(extent_index(x as u32));
    write_at(fs, x * block_size(fs), &inner);
}

fn first_block(items: &Mh, suffix: &str, fs: &Path) -> u64 {
    find(items, suffix).0.location.as_ref().unwrap().byte_runs[0].img_offset / block_size(fs)
}

fn assert_damaged(items: &Mh, suffix: &str, words: &str) {
    let r = &find(items, suffix).0;
    assert_eq!(r.disposition, EntryDisposition::Error, "{suffix}: {r:?}");
    assert_eq!(code(r), Some(ReasonCode::FileSystemDamaged), "{suffix}");
    let message = r.reason_message().unwrap();
    assert!(message.contains(words), "{suffix}: {message}");
}

/// The rest of the volume still reads right.
fn others_fine(items: &Mh) {
    let png = find(items, "/Pictures/holiday photo.png");
    assert_eq!(png.1.as_ref().unwrap().as_ref().unwrap(), &picture());
}

/// A plain image of `spec` (the tree, no deletions) and mh's listing of it.
fn plain(dir: &Path, spec: Spec) -> (PathBuf, Mh) {
    let src = dir.join("src");
    populate(&src);
    let fs = mkfs(dir, spec, &src);
    let items = mh(&fs);
    (fs, items)
}

#[test]
#[cfg_attr(not(mediahash_ext_tools), ignore = "needs e2fsprogs sleuthkit fdisk gdisk")]
fn hostile_extent_trees() {
    let dir = tempfile::tempdir().unwrap();
    let spec = Spec { kind: "ext4", options: &[], block: 4096, htree: false };
    let (fs, items) = plain(dir.path(), spec);
    let blocks = {
        let b = read_at(&fs, 1024 + 4, 4);
        u64::from(u32::from_le_bytes(b.try_into().unwrap()))
    };
    // A cycle: index block pointing to itself.
    extent_loop(
        &fs,
        inode_of(&items, "/Docs/indirect.bin"),
        first_block(&items, "/Docs/indirect.bin", &fs),
    );
    // Deeper than 5.
    let report = inode_offset(&fs, inode_of(&items, "/Docs/Deep Folder/report.bin")) + 0x28;
    write_at(&fs, report, &extent_header(1, 4, 6));
    // An extent reaching past the end of the file system.
    let plus = inode_offset(&fs, inode_of(&items, "/Docs/one block plus one.bin")) + 0x28;
    let mut leaf = extent_header(1, 4, 0);
    leaf.extend_from_slice(&0u32.to_le_bytes());
    leaf.extend_from_slice(&10u16.to_le_bytes());
    leaf.extend_from_slice(&0u16.to_le_bytes());
    leaf.extend_from_slice(&(blocks as u32 - 1).to_le_bytes());
    write_at(&fs, plus, &leaf);
    // More entries than the node holds.
    let sixty = inode_offset(&fs, inode_of(&items, "/Docs/exactly 60.bin")) + 0x28;
    write_at(&fs, sixty, &extent_header(400, 4, 0));
    // An index pointing past the end.
    let tiny = inode_offset(&fs, inode_of(&items, "/Docs/tiny.txt")) + 0x28;
    let mut index = extent_header(1, 4, 1);
    index.extend(extent_index(u32::MAX));
    write_at(&fs, tiny, &index);
    let started = std::time::Instant::now();
    let items = mh(&fs);
    assert!(started.elapsed().as_secs() < 10);
    assert_damaged(&items, "/Docs/indirect.bin", "loops");
    assert_damaged(&items, "/Docs/Deep Folder/report.bin", "depth 6");
    assert_damaged(&items, "/Docs/one block plus one.bin", "outside the file system");
    assert_damaged(&items, "/Docs/exactly 60.bin", "400 entries");
    assert_damaged(&items, "/Docs/tiny.txt", "outside the file system");
    others_fine(&items);
}

#[test]
#[cfg_attr(not(mediahash_ext_tools), ignore = "needs e2fsprogs sleuthkit fdisk gdisk")]
fn hostile_block_maps() {
    let dir = tempfile::tempdir().unwrap();
    let spec = Spec { kind: "ext3", options: &[], block: 1024, htree: false };
    let (fs, items) = plain(dir.path(), spec);
    let pointers = |suffix: &str| inode_offset(&fs, inode_of(&items, suffix)) + 0x28;
    // indirect.bin (293 blocks of 1 KiB: double indirect): the double indirect block's
    // first pointer is the double indirect block itself.
    let at = pointers("/Docs/indirect.bin");
    let dind = read_at(&fs, at + 4 * 13, 4);
    let dind_block = u64::from(u32::from_le_bytes(dind.clone().try_into().unwrap()));
    write_at(&fs, dind_block * 1024, &dind);
    // report.bin: its second block is its first.
    let at = pointers("/Docs/Deep Folder/report.bin");
    let first = read_at(&fs, at, 4);
    write_at(&fs, at + 4, &first);
    // tiny.txt: a block past the end.
    write_at(&fs, pointers("/Docs/tiny.txt"), &0xFFFF_FFF0u32.to_le_bytes());
    // far.bin: a size of 2^62 bytes (zeros for ever).
    let n = inode_offset(&fs, inode_of(&items, "/Docs/far.bin"));
    write_at(&fs, n + 0x6C, &(1u32 << 30).to_le_bytes());
    let started = std::time::Instant::now();
    let items = mh(&fs);
    assert!(started.elapsed().as_secs() < 10);
    assert_damaged(&items, "/Docs/indirect.bin", "used twice");
    assert_damaged(&items, "/Docs/Deep Folder/report.bin", "uses a block twice");
    assert_damaged(&items, "/Docs/tiny.txt", "past the file system");
    assert_damaged(&items, "/Docs/far.bin", "16 times its volume");
    others_fine(&items);
}

#[test]
#[cfg_attr(not(mediahash_ext_tools), ignore = "needs e2fsprogs sleuthkit fdisk gdisk")]
fn hostile_directories() {
    // ext4: a directory loop (a second link to an ancestor, as TSK lists it) and a
    // directory whose extent tree loops.
    let dir = tempfile::tempdir().unwrap();
    let spec = Spec { kind: "ext4", options: &[], block: 4096, htree: false };
    let (fs, items) = plain(dir.path(), spec);
    debugfs(&fs, "link Docs \"Docs/Deep Folder/loop\"\n");
    let many = inode_of(&items, "/p0/many");
    extent_loop(&fs, many, first_block(&items, "/many/file 000.txt", &fs));
    let started = std::time::Instant::now();
    let (items, _) = check_against_tsk_loops(&fs);
    assert!(started.elapsed().as_secs() < 30);
    assert_damaged(&items, "/Docs/Deep Folder/loop", "already listed");
    assert_damaged(&items, "/p0/many", "loops");
    assert!(!items.iter().any(|e| e.0.path_text().contains("/many/file")));
    others_fine(&items);

    // ext3: a directory using one block twice (its block map repeats it).
    let dir = tempfile::tempdir().unwrap();
    let spec = Spec { kind: "ext3", options: &[], block: 1024, htree: false };
    let (fs, items) = plain(dir.path(), spec);
    let at = inode_offset(&fs, inode_of(&items, "/p0/many")) + 0x28;
    let first = read_at(&fs, at, 4);
    write_at(&fs, at + 8, &first);
    let items = mh(&fs);
    assert_damaged(&items, "/p0/many", "uses a block twice");
    others_fine(&items);
}

/// The TSK comparison on an image with crafted loops: TSK lists the loop's name and does
/// not walk it; the directory whose extents loop is listed by both, its content by neither.
fn check_against_tsk_loops(fs: &Path) -> (Mh, Outcome) {
    let items = mh(fs);
    let tsk = tools::fls(fs, 0, TOOLS);
    for suffix in ["Docs/Deep Folder/loop", "many"] {
        assert!(tsk.iter().any(|t| t.path == suffix), "TSK lists {suffix}");
    }
    assert!(!tsk.iter().any(|t| t.path.starts_with("Docs/Deep Folder/loop/")));
    (items, Outcome::default())
}

#[test]
#[cfg_attr(not(mediahash_ext_tools), ignore = "needs e2fsprogs sleuthkit fdisk gdisk")]
fn hostile_superblocks() {
    let dir = tempfile::tempdir().unwrap();
    let spec = Spec { kind: "ext4", options: &[], block: 4096, htree: false };
    let (fs, _) = plain(dir.path(), spec);
    let pristine = std::fs::read(&fs).unwrap();
    let listing = |edit: &dyn Fn(&Path)| -> Mh {
        std::fs::write(&fs, &pristine).unwrap();
        edit(&fs);
        let started = std::time::Instant::now();
        let items = mh(&fs);
        assert!(started.elapsed().as_secs() < 10);
        items
    };
    let volume = |edit: &dyn Fn(&Path)| -> EntryRecord {
        let items = listing(edit);
        // A damaged volume's space is carved: its pictures follow the two records.
        let listed: Vec<&Listed> = items
            .iter()
            .filter(|i| i.0.location.as_ref().is_none_or(|l| l.carved.is_none()))
            .collect();
        assert_eq!(listed.len(), 2, "the image and its volume: {:?}", listed.get(2));
        items[1].0.clone()
    };
    // An absurd inode count.
    let v = volume(&|fs| write_at(fs, 1024, &u32::MAX.to_le_bytes()));
    assert_eq!(code(&v), Some(ReasonCode::FileSystemDamaged), "{v:?}");
    assert!(v.reason_message().unwrap().contains("inodes"), "{v:?}");
    // An absurd block count (2^40 blocks: terabytes of descriptors).
    let v = volume(&|fs| write_at(fs, 1024 + 0x150, &256u32.to_le_bytes()));
    assert_eq!(code(&v), Some(ReasonCode::FileSystemDamaged), "{v:?}");
    assert!(v.reason_message().unwrap().contains("descriptors alone"), "{v:?}");
    // Group 0's inode table past the end of the file system.
    let gdt = 4096;
    let v = volume(&|fs| write_at(fs, gdt + 8, &0xFFFF_FF00u32.to_le_bytes()));
    assert_eq!(code(&v), Some(ReasonCode::FileSystemDamaged), "{v:?}");
    // Inodes per group over what a bitmap block can count: no ext superblock, so no disk
    // image by its content either (a raw image without partition table): one file.
    let items = listing(&|fs| write_at(fs, 1024 + 0x28, &u32::MAX.to_le_bytes()));
    assert_eq!(items.len(), 1);
    assert!(items[0].1.is_some(), "hashed as one file");
}

#[test]
#[cfg_attr(not(mediahash_ext_tools), ignore = "needs e2fsprogs sleuthkit fdisk gdisk")]
fn hostile_truncated_image() {
    let dir = tempfile::tempdir().unwrap();
    let spec = Spec { kind: "ext4", options: &[], block: 4096, htree: false };
    let src = dir.path().join("src");
    populate(&src);
    let fs = mkfs(dir.path(), spec, &src);
    let (image, _) = partition(dir.path(), &fs, Table::Mbr);
    let items = mh(&image);
    let cut =
        find(&items, "/Docs/indirect.bin").0.location.as_ref().unwrap().byte_runs[0].img_offset;
    std::fs::OpenOptions::new().write(true).open(&image).unwrap().set_len(cut + 10_000).unwrap();
    let items = mh(&image);
    assert_eq!(code(&items[1].0), Some(ReasonCode::PartitionPastEnd));
    let err = find(&items, "/Docs/indirect.bin").1.as_ref().unwrap().as_ref().unwrap_err();
    assert!(err.to_string().contains("past the end of the image"), "{err}");
}

/// Random damage to the metadata (deterministic seeds): typed records, never a panic or a
/// hang, whatever the bytes.
#[test]
#[cfg_attr(not(mediahash_ext_tools), ignore = "needs e2fsprogs sleuthkit fdisk gdisk")]
fn hostile_random_metadata_damage_never_panics() {
    let dir = tempfile::tempdir().unwrap();
    let spec = Spec { kind: "ext4", options: &["-O", "inline_data"], block: 1024, htree: true };
    let (fs, _) = plain(dir.path(), spec);
    let file = std::fs::OpenOptions::new().read(true).write(true).open(&fs).unwrap();
    let started = std::time::Instant::now();
    for seed in 1..=1000u32 {
        // The superblock, descriptors, bitmaps, inode tables and first directories.
        let noise = pattern(96, seed);
        let mut saved = Vec::new();
        for pair in noise.chunks_exact(4) {
            let at = 1024 + u64::from(u32::from_le_bytes(pair.try_into().unwrap())) % (3 << 20);
            let mut old = [0u8];
            file.read_exact_at(&mut old, at).unwrap();
            saved.push((at, old[0]));
            file.write_all_at(&[pair[0] ^ pair[3]], at).unwrap();
        }
        let records = common::assert_no_panic(format!("seed {seed}"), || {
            // Every item, its content read (up to 1 MiB: the sparse files are long).
            open_root(&fs, &SourceOptions::default())
                .map(|item| {
                    if let Item::Content(c) = item
                        && let Ok(opened) = c.content.open()
                    {
                        let _ = opened.reader.take(1 << 20).read_to_end(&mut Vec::new());
                    }
                })
                .count()
        });
        assert!(records > 0);
        for (at, old) in saved.into_iter().rev() {
            file.write_all_at(&[old], at).unwrap();
        }
    }
    assert!(started.elapsed().as_secs() < 120, "{:?}", started.elapsed());
}

/// Entries in the big directory.
const MILLION: u32 = 1_000_000;

/// An ext4 image whose directory `big` holds [`MILLION`] entries (`f0000000`...), hard links
/// to one empty file: mke2fs -d makes the directory and the file, then the directory's
/// blocks are written here (16 MiB, one extent of contiguous free blocks, marked in use
/// with debugfs `setb`): far cheaper than creating a million files.
fn million_entry_image(dir: &Path) -> PathBuf {
    let src = dir.join("src");
    put(&src, "big/seed", b"");
    put(&src, "Pictures/holiday photo.png", &picture());
    let fs = dir.join("million.img");
    std::fs::File::create(&fs).unwrap().set_len(128 << 20).unwrap();
    run(
        "mke2fs",
        &[
            "-q",
            "-F",
            "-t",
            "ext4",
            "-b",
            "4096",
            "-d",
            src.to_str().unwrap(),
            fs.to_str().unwrap(),
        ],
    );
    let items = mh(&fs);
    let big = inode_of(&items, "/p0/big");
    let seed = inode_of(&items, "/p0/big/seed") as u32;
    // The blocks: "." and ".." first, then 16-byte entries, the last of each block reaching
    // its end.
    let bs = 4096usize;
    let mut blocks: Vec<Vec<u8>> = Vec::new();
    let mut block = Vec::with_capacity(bs);
    let entry = |inode: u32, rec_len: usize, name: &[u8], kind: u8| -> Vec<u8> {
        let mut e = inode.to_le_bytes().to_vec();
        e.extend_from_slice(&(rec_len as u16).to_le_bytes());
        e.push(name.len() as u8);
        e.push(kind);
        e.extend_from_slice(name);
        e.resize(rec_len, 0);
        e
    };
    block.extend(entry(big as u32, 12, b".", 2));
    block.extend(entry(2, 12, b"..", 2));
    let mut last = 12usize; // offset of the last entry in the block
    for i in 0..MILLION {
        if block.len() + 16 > bs {
            // Stretch the last entry to the end of the block.
            let rec = (bs - last) as u16;
            block[last + 4..last + 6].copy_from_slice(&rec.to_le_bytes());
            block.resize(bs, 0);
            blocks.push(std::mem::replace(&mut block, Vec::with_capacity(bs)));
        }
        last = block.len();
        block.extend(entry(seed, 16, format!("f{i:07}").as_bytes(), 1));
    }
    let rec = (bs - last) as u16;
    block[last + 4..last + 6].copy_from_slice(&rec.to_le_bytes());
    block.resize(bs, 0);
    blocks.push(block);
    let count = blocks.len() as u64;
    let (start, _) = *dumpe2fs_free(&fs).iter().find(|&&(_, n)| n >= count).unwrap();
    let bytes: Vec<u8> = blocks.concat();
    write_at(&fs, start * bs as u64, &bytes);
    debugfs(&fs, &format!("setb {start} {count}\n"));
    // The directory's inode: one extent, the size, no htree flag.
    let at = inode_offset(&fs, big);
    let mut root = extent_header(1, 4, 0);
    root.extend_from_slice(&0u32.to_le_bytes());
    root.extend_from_slice(&(count as u16).to_le_bytes());
    root.extend_from_slice(&0u16.to_le_bytes());
    root.extend_from_slice(&(start as u32).to_le_bytes());
    write_at(&fs, at + 0x28, &root);
    write_at(&fs, at + 4, &((count * bs as u64) as u32).to_le_bytes());
    let flags = u32::from_le_bytes(read_at(&fs, at + 0x20, 4).try_into().unwrap()) & !0x1000;
    write_at(&fs, at + 0x20, &flags.to_le_bytes());
    fs
}

/// A directory of 10^6 entries (the hostile list): listed whole, in bounded time
/// and memory. The listing through the library is timed here; `mh scan` on the same image
/// (every entry a record, hashed) in `mh_scan_reads_a_million_entry_directory`.
#[test]
#[cfg_attr(not(mediahash_ext_tools), ignore = "needs e2fsprogs sleuthkit fdisk gdisk")]
fn million_entry_directory_is_listed() {
    let dir = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let fs = million_entry_image(dir.path());
    let built = started.elapsed();
    let started = std::time::Instant::now();
    let mut entries = 0u32;
    let mut first = None;
    for item in open_root(&fs, &SourceOptions::default()) {
        let record = match &item {
            Item::Decided(r) => r,
            Item::Content(c) => &c.record,
        };
        if record.path_text().contains("/p0/big/f") {
            entries += 1;
            first.get_or_insert_with(|| record.path_text().into_owned());
        }
    }
    let listed = started.elapsed();
    eprintln!("10^6-entry directory: image built in {built:?}, listed in {listed:?}");
    assert_eq!(entries, MILLION);
    assert!(first.unwrap().ends_with("/p0/big/f0000000"), "sorted by name");
    assert!(listed.as_secs() < 60, "{listed:?}");
}

/// The whole scan of the 10^6-entry directory (every entry a record, hashed, the report
/// discarded), in a process of its own so that its peak memory is its alone: run by
/// `million_entry_directory_scans_in_bounded_memory`, which sets the image's path.
#[test]
#[ignore = "run by million_entry_directory_scans_in_bounded_memory in a process of its own"]
fn million_entry_directory_child() {
    let Some(image) = std::env::var_os("MEDIAHASH_EXT_MILLION_IMAGE") else { return };
    struct Counting(u64);
    impl mediahash::report::ReportWriter for Counting {
        fn header(&mut self, _: &mediahash::report::Header) -> std::io::Result<()> {
            Ok(())
        }
        fn entry(&mut self, _: &EntryRecord) -> std::io::Result<()> {
            self.0 += 1;
            Ok(())
        }
        fn footer(&mut self, _: &mediahash::report::Footer) -> std::io::Result<()> {
            Ok(())
        }
    }
    let options = mediahash::scan::ScanOptions { threads: 2, ..Default::default() };
    let mut writer = Counting(0);
    let summary =
        mediahash::scan::scan(&[PathBuf::from(image)], &[], &options, &mut writer).unwrap();
    println!("entries={} files={}", writer.0, summary.footer.files_read);
}

/// A directory of 10^6 entries scanned whole (`mh scan`'s library path, 2 threads) in
/// bounded time and memory: the child process's peak resident set and wall time.
#[test]
#[cfg_attr(not(mediahash_ext_tools), ignore = "needs e2fsprogs sleuthkit fdisk gdisk")]
fn million_entry_directory_scans_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let image = million_entry_image(dir.path());
    let started = std::time::Instant::now();
    // Waited for with wait4 below (for its resource usage), not Child::wait.
    #[allow(clippy::zombie_processes)]
    let child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "million_entry_directory_child", "--ignored", "--nocapture"])
        .env("MEDIAHASH_EXT_MILLION_IMAGE", &image)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut stdout = String::new();
    let pid = child.id() as libc::pid_t;
    child.stdout.unwrap().read_to_string(&mut stdout).unwrap();
    let mut status = 0;
    // SAFETY: `rusage` is a plain C struct for which all-zero bytes are valid; wait4 fills
    // it and `status` for the child spawned above (not waited for elsewhere).
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        assert_eq!(libc::wait4(pid, &mut status, 0, &mut usage), pid);
        usage
    };
    let elapsed = started.elapsed();
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, "child failed: {stdout}");
    let peak_mib = usage.ru_maxrss as u64 / 1024;
    eprintln!("10^6-entry directory: scanned in {elapsed:?}, peak resident set {peak_mib} MiB");
    let line = stdout.lines().find(|l| l.starts_with("entries=")).expect("the child's counts");
    assert_eq!(
        line,
        format!("entries={} files={}", u64::from(MILLION) + 6, u64::from(MILLION) + 1)
    );
    // About 250 bytes per entry held (the file system's entries), records made as taken.
    assert!(peak_mib < 600, "peak resident set {peak_mib} MiB");
    assert!(elapsed.as_secs() < 120, "{elapsed:?}");
}

/// `mh scan IMAGE` on ext4 in a GPT partition end to end: records byte-identical for 1 and
/// 2 threads, counts add up, the picture inside hashed with the PDQ of the same picture in
/// a folder, deleted files marked and (where recoverable) hashed, inode numbers and the
/// file-system type in each location.
#[cfg(feature = "cli")]
#[test]
#[cfg_attr(not(mediahash_ext_tools), ignore = "needs e2fsprogs sleuthkit fdisk gdisk")]
fn mh_scan_reads_an_ext4_image() {
    let evidence = tempfile::tempdir().unwrap();
    let folder = tempfile::tempdir().unwrap();
    let reports = tempfile::tempdir().unwrap();
    let spec = Spec { kind: "ext4", options: &[], block: 4096, htree: false };
    let (image, _, _) = build(evidence.path(), spec, Table::Gpt);
    std::fs::write(folder.path().join("same.png"), picture()).unwrap();
    let scan = |root: &Path, name: &str, threads: &str| -> Vec<serde_json::Value> {
        let report = reports.path().join(name);
        let out = Command::new(env!("CARGO_BIN_EXE_mh"))
            .args(["scan", "--no-progress", "--threads", threads, "--report"])
            .arg(&report)
            .arg(root)
            .output()
            .unwrap();
        // Exit status 2: some entries are errors (the deleted files that cannot be read).
        assert!(out.status.code().is_some_and(|c| c == 0 || c == 2), "{out:?}");
        std::fs::read_to_string(report)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let entries = |lines: &[serde_json::Value]| -> Vec<serde_json::Value> {
        lines.iter().filter(|l| l["record"] == "entry").cloned().collect()
    };
    let one = scan(&image, "t1.jsonl", "1");
    let two = scan(&image, "t2.jsonl", "2");
    assert_eq!(entries(&one), entries(&two), "records differ between 1 and 2 threads");
    let counts = &one.last().unwrap()["counts"];
    let n = entries(&one).len() as u64;
    let sum: u64 = ["alert", "ignore", "unknown_image", "other", "directory", "skipped", "error"]
        .iter()
        .map(|k| counts[*k].as_u64().unwrap())
        .sum();
    assert_eq!(sum, n, "counts add up: {counts}");
    let by_suffix = |suffix: &str| {
        one.iter()
            .find(|l| l["path"].as_str().is_some_and(|p| p.ends_with(suffix)))
            .unwrap_or_else(|| panic!("no {suffix}"))
            .clone()
    };
    let photo = by_suffix("/p1/Pictures/holiday photo.png");
    assert_eq!(photo["location"]["fs_type"], "ext4");
    assert_eq!(photo["location"]["scheme"], "gpt");
    assert!(photo["location"]["entry_number"].as_u64().unwrap() > 11);
    let plain = scan(folder.path(), "folder.jsonl", "1");
    let same = plain.iter().find(|l| l["path"].as_str().is_some_and(|p| p.ends_with("same.png")));
    assert!(photo["pdq"].is_string());
    assert_eq!(photo["pdq"], same.unwrap()["pdq"]);
    let deleted = by_suffix("/p1/Trash/gone.bin");
    assert_eq!(deleted["location"]["deleted"], true);
    assert_eq!(deleted["sha1"], sha1_hex(&pattern(30_000, 8)));
    let wiped = by_suffix("/p1/Trash/wiped.bin");
    assert_eq!(wiped["reason_code"], "not-recoverable");
    let link = by_suffix("/p1/link fast");
    assert_eq!(link["reason_code"], "symlink-not-followed");
    assert!(
        one.iter().any(|l| l["path"]
            .as_str()
            .is_some_and(|p| p.contains("/p1/$OrphanFiles/OrphanFile-"))
            && l["location"]["deleted"] == true),
        "an orphan listed"
    );
}

/// `bigalloc` (clusters of several blocks) is not read: the volume says so, in an error
/// record of its own, and nothing is listed from it.
#[test]
#[cfg_attr(not(mediahash_ext_tools), ignore = "needs e2fsprogs sleuthkit fdisk gdisk")]
fn ext4_bigalloc_is_reported_as_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    put(&src, "a.txt", b"a\n");
    let spec = Spec {
        kind: "ext4",
        options: &["-O", "bigalloc", "-C", "16384"],
        block: 4096,
        htree: false,
    };
    let fs = mkfs(dir.path(), spec, &src);
    let items = mh(&fs);
    assert_eq!(items.len(), 2, "the image and its volume");
    let volume = &items[1].0;
    assert_eq!(code(volume), Some(ReasonCode::UnknownFileSystem), "{volume:?}");
    assert!(volume.reason_message().unwrap().contains("bigalloc"), "{volume:?}");
}
