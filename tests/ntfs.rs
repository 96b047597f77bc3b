//! NTFS in disk images (issue #15): images built here with ntfs-3g's tools (`mkntfs -F -Q`,
//! `ntfscp`, and for directories, compression, sparse files and proper deletions the
//! ntfs-3g FUSE driver), inside MBR/GPT partitions or alone, read by mediahash's disk
//! source and compared with The Sleuth Kit (`fls -r -p`, `icat`): the same files, streams,
//! entry numbers, deleted flags, sizes and SHA-1, and every deleted file TSK recovers found
//! with the same content. Hostile records (overlapping or absurd data runs, a bad fixup,
//! a parent loop, an absurd `$MFT`, a truncated image) give typed error records.
//!
//! Gated by cfg `mediahash_ntfs_tools` (build.rs; always set in CI, where a missing tool
//! fails).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::synth;
use common::tools::{self, pattern, run_tool, sha1_hex, tool_path};
use mediahash::evidence::{Item, SourceOptions, open_root};
use mediahash::report::{EntryDisposition, EntryKind, EntryRecord, ReasonCode};

const TOOLS: &str = "needs ntfs-3g, sleuthkit, fdisk, gdisk (apt-get install -y ntfs-3g \
                     sleuthkit fdisk gdisk; then touch build.rs)";

fn run(cmd: &str, args: &[&str]) -> Vec<u8> {
    run_tool(cmd, args, TOOLS)
}

fn picture() -> Vec<u8> {
    synth::png_rgb8(160, 120, &synth::photo_like(160, 120, 11))
}

/// Partition start (sectors) in partitioned images.
const START: u64 = 2048;
/// NTFS volume size in sectors (32 MiB).
const FS_SECTORS: u64 = 65_536;

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
    let image = dir.join(format!("disk-{table:?}.raw"));
    let total = (START + FS_SECTORS + 2048) * 512;
    std::fs::File::create(&image).unwrap().set_len(total).unwrap();
    let img = image.to_str().unwrap();
    if table == Table::Mbr {
        let script = format!("label: dos\nstart={START}, size={FS_SECTORS}, type=7\n");
        let mut child = Command::new(tool_path("sfdisk"))
            .args(["-q", img])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("sfdisk could not run ({e}): {TOOLS}"));
        std::io::Write::write_all(child.stdin.as_mut().unwrap(), script.as_bytes()).unwrap();
        assert!(child.wait().unwrap().success(), "sfdisk failed");
    } else {
        let range = format!("1:{START}:{}", START + FS_SECTORS - 1);
        run("sgdisk", &["-n", &range, "-t", "1:0700", img]);
    }
    let bytes = std::fs::read(fs).unwrap();
    let f = std::fs::OpenOptions::new().write(true).open(&image).unwrap();
    f.write_all_at(&bytes, START * 512).unwrap();
    (image, START)
}

fn mkntfs(dir: &Path) -> PathBuf {
    let fs = dir.join("ntfs.img");
    std::fs::File::create(&fs).unwrap().set_len(FS_SECTORS * 512).unwrap();
    run("mkntfs", &["-F", "-Q", "-q", fs.to_str().unwrap()]);
    fs
}

/// The volume's geometry as the tests need it to craft damage.
struct Geo {
    /// Media offset of the volume.
    base: u64,
    cluster: u64,
    mft: u64,
}

fn geo(image: &Path, start: u64) -> Geo {
    let f = std::fs::File::open(image).unwrap();
    let mut boot = [0u8; 512];
    f.read_exact_at(&mut boot, start * 512).unwrap();
    let cluster = u64::from(u16::from_le_bytes([boot[11], boot[12]])) * u64::from(boot[13]);
    let mft = u64::from_le_bytes(boot[0x30..0x38].try_into().unwrap());
    Geo { base: start * 512, cluster, mft }
}

/// Media offset of MFT record `n` (the tests' images have a contiguous `$MFT`; checked).
fn record_offset(image: &Path, g: &Geo, n: u64) -> u64 {
    let at = g.base + g.mft * g.cluster + n * 1024;
    let mut head = [0u8; 48];
    std::fs::File::open(image).unwrap().read_exact_at(&mut head, at).unwrap();
    assert_eq!(&head[0..4], b"FILE");
    assert_eq!(u32::from_le_bytes(head[44..48].try_into().unwrap()) as u64, n, "MFT contiguous");
    at
}

/// Reads record `n` with its fixups applied, calls `edit` on it, writes it back with the
/// fixups put in again.
fn edit_record(image: &Path, g: &Geo, n: u64, edit: impl FnOnce(&mut [u8])) {
    let at = record_offset(image, g, n);
    let f = std::fs::OpenOptions::new().read(true).write(true).open(image).unwrap();
    let mut rec = vec![0u8; 1024];
    f.read_exact_at(&mut rec, at).unwrap();
    let usa = usize::from(u16::from_le_bytes([rec[4], rec[5]]));
    for i in 0..2 {
        let end = 512 * (i + 1) - 2;
        rec[end] = rec[usa + 2 + 2 * i];
        rec[end + 1] = rec[usa + 3 + 2 * i];
    }
    edit(&mut rec);
    for i in 0..2 {
        let end = 512 * (i + 1) - 2;
        rec[usa + 2 + 2 * i] = rec[end];
        rec[usa + 3 + 2 * i] = rec[end + 1];
        rec[end] = rec[usa];
        rec[end + 1] = rec[usa + 1];
    }
    f.write_all_at(&rec, at).unwrap();
}

/// Offset (in a fixed-up record) of the first attribute of `kind` with no name.
fn attribute(rec: &[u8], kind: u32) -> usize {
    let mut at = usize::from(u16::from_le_bytes([rec[20], rec[21]]));
    loop {
        let k = u32::from_le_bytes(rec[at..at + 4].try_into().unwrap());
        assert_ne!(k, 0xFFFF_FFFF, "attribute 0x{kind:x} not found");
        let len = u32::from_le_bytes(rec[at + 4..at + 8].try_into().unwrap()) as usize;
        if k == kind && rec[at + 9] == 0 {
            return at;
        }
        at += len;
    }
}

/// Marks record `n` deleted as Windows does: in-use flag cleared, sequence number
/// incremented, its clusters freed in `$Bitmap` (record 6's first run).
fn delete_record(image: &Path, g: &Geo, n: u64, clusters: &[(u64, u64)]) {
    edit_record(image, g, n, |rec| {
        let flags = u16::from_le_bytes([rec[22], rec[23]]) & !1;
        rec[22..24].copy_from_slice(&flags.to_le_bytes());
        let seq = u16::from_le_bytes([rec[16], rec[17]]).wrapping_add(1);
        rec[16..18].copy_from_slice(&seq.to_le_bytes());
    });
    if clusters.is_empty() {
        return;
    }
    let mut bitmap_rec = vec![0u8; 1024];
    let f = std::fs::OpenOptions::new().read(true).write(true).open(image).unwrap();
    f.read_exact_at(&mut bitmap_rec, record_offset(image, g, 6)).unwrap();
    let a = attribute(&bitmap_rec, 0x80);
    assert_eq!(bitmap_rec[a + 8], 1, "$Bitmap is non-resident");
    let runs = a + usize::from(u16::from_le_bytes([bitmap_rec[a + 32], bitmap_rec[a + 33]]));
    let h = bitmap_rec[runs];
    let (ls, os) = (usize::from(h & 15), usize::from(h >> 4));
    let mut lcn = 0u64;
    for i in 0..os {
        lcn |= u64::from(bitmap_rec[runs + 1 + ls + i]) << (8 * i);
    }
    let bitmap_at = g.base + lcn * g.cluster;
    for &(offset, len) in clusters {
        let first = (offset - g.base) / g.cluster;
        for c in first..first + len.div_ceil(g.cluster) {
            let mut b = [0u8];
            f.read_exact_at(&mut b, bitmap_at + c / 8).unwrap();
            b[0] &= !(1 << (c % 8));
            f.write_all_at(&b, bitmap_at + c / 8).unwrap();
        }
    }
}

/// A record and, for content items, the bytes read.
type Listed = (EntryRecord, Option<std::io::Result<Vec<u8>>>);
type Mh = Vec<Listed>;

fn mh(image: &Path) -> Mh {
    let options = SourceOptions::default();
    open_root(image, &options)
        .map(|item| match item {
            Item::Decided(r) => (r, None),
            Item::Content(c) => {
                let record = c.record;
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

/// One line of `fls -r -p`.
#[derive(Debug)]
struct Fls {
    path: String,
    address: String,
    record: u64,
    attr_type: Option<u32>,
    deleted: bool,
    realloc: bool,
    is_dir: bool,
}

fn fls(image: &Path, start: u64) -> Vec<Fls> {
    let mut out = Vec::new();
    for line in tools::fls(image, start, TOOLS) {
        if line.kind.starts_with('V') {
            continue; // $OrphanFiles itself: a virtual directory
        }
        let realloc = line.address.ends_with("(realloc)");
        let address = line.address.trim_end_matches("(realloc)").to_string();
        let attr_type = address.split('-').nth(1).map(|t| t.parse().unwrap());
        out.push(Fls {
            record: line.entry_number(),
            path: line.path,
            address,
            attr_type,
            deleted: line.deleted,
            realloc,
            is_dir: line.kind.ends_with('d'),
        });
    }
    out
}

fn fs_path(record: &EntryRecord, image: &Path, start: u64) -> Option<String> {
    let part = if start == 0 { "p0" } else { "p1" };
    let prefix = format!("{}/{part}/", image.display());
    record.path_text().strip_prefix(&prefix).map(str::to_string)
}

/// Whether TSK's entry is an NTFS system file (mh lists those as skipped).
fn is_metadata(e: &Fls) -> bool {
    e.record < 16 || e.path.starts_with("$Extend")
}

/// Compares mh with TSK on `image` (volume at `start`); returns mh's items and how many
/// deleted files TSK recovered with content that mh matched.
fn check_against_tsk(image: &Path, start: u64, crafted_deletions: &[&str]) -> (Mh, usize) {
    let tsk = fls(image, start);
    let items = mh(image);
    let volume = &items[1].0;
    assert_eq!(volume.disposition, EntryDisposition::Directory, "{:?}", volume.reason);
    assert_eq!(volume.location.as_ref().unwrap().fs_type.as_deref(), Some("ntfs"));
    let ours: BTreeMap<String, &Listed> =
        items.iter().filter_map(|e| Some((fs_path(&e.0, image, start)?, e))).collect();
    let mut expected = BTreeSet::new();
    let mut recovered = 0;
    for t in &tsk {
        // TSK lists non-$I30 indexes of system files as streams ($Secure:$SDH, type 144):
        // they are indexes, not content, and mh does not list them. "(realloc)" names are
        // index entries whose record now belongs to another file.
        if (!t.is_dir && t.attr_type.is_some_and(|k| k != 128)) || t.realloc {
            continue;
        }
        expected.insert(t.path.clone());
        let (record, bytes) = ours
            .get(&t.path)
            .unwrap_or_else(|| panic!("TSK's {} ({}) not listed by mh", t.path, t.address));
        let loc = record.location.as_ref().unwrap();
        assert_eq!(loc.entry_number, Some(t.record), "{}", t.path);
        // A record deleted in the test by clearing its in-use flag keeps its index entry,
        // so TSK's flag (the name's) still says allocated.
        let deleted = t.deleted || crafted_deletions.contains(&t.path.as_str());
        assert_eq!(loc.deleted, Some(deleted), "{}: deleted flag", t.path);
        if t.attr_type.is_some() && !t.is_dir {
            assert_eq!(loc.fs_address.as_deref(), Some(t.address.as_str()), "{}", t.path);
        }
        assert_eq!(
            record.kind,
            if t.is_dir { EntryKind::Directory } else { EntryKind::File },
            "{}",
            t.path
        );
        if is_metadata(t) {
            if !t.is_dir {
                assert_eq!(code(record), Some(ReasonCode::FileSystemMetadata), "{}", t.path);
            }
            continue;
        }
        if t.is_dir {
            assert_eq!(record.disposition, EntryDisposition::Directory, "{}", t.path);
            continue;
        }
        if t.attr_type.is_none() {
            // No $DATA at all (a record without content): icat has nothing to give.
            assert_eq!(record.size, Some(0), "{}", t.path);
            continue;
        }
        let theirs = run("icat", &["-o", &start.to_string(), image.to_str().unwrap(), &t.address]);
        if deleted && theirs.is_empty() {
            continue;
        }
        if deleted && code(record) == Some(ReasonCode::NotRecoverable) {
            // mh refuses a deleted file whose clusters are allocated again (icat shows the
            // new owner's bytes): TSK's blkstat must agree that the cluster is allocated.
            let message = record.reason_message().unwrap();
            let cluster = message
                .split("cluster ")
                .nth(1)
                .and_then(|t| t.split_whitespace().next())
                .unwrap_or_else(|| panic!("{}: {message}", t.path));
            let stat =
                run("blkstat", &["-o", &start.to_string(), image.to_str().unwrap(), cluster]);
            assert!(
                String::from_utf8_lossy(&stat).lines().any(|l| l == "Allocated"),
                "{}: {message}, but blkstat says otherwise",
                t.path
            );
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
        assert_eq!(sha1_hex(mine), sha1_hex(&theirs), "{}: content differs from icat", t.path);
        assert_eq!(record.size, Some(theirs.len() as u64), "{}: size", t.path);
        if deleted {
            recovered += 1;
        }
    }
    let listed: BTreeSet<String> = ours.keys().cloned().collect();
    assert_eq!(listed, expected, "mh lists exactly TSK's entries");
    (items, recovered)
}

/// An NTFS volume populated with `ntfscp` only (no mount): a resident file, a picture,
/// a multi-run file, an empty file, a 1 MB file, alternate data streams (resident and
/// not), and two files deleted by clearing their records' in-use flags and their clusters.
fn build_plain(dir: &Path, table: Table) -> (PathBuf, u64) {
    let fs = mkntfs(dir);
    let img = fs.to_str().unwrap();
    let put = |name: &str, bytes: &[u8], target: &str, stream: Option<&str>| {
        let src = dir.join(name);
        std::fs::write(&src, bytes).unwrap();
        let mut args = vec!["-q"];
        if let Some(s) = stream {
            args.extend(["-N", s]);
        }
        args.extend([img, src.to_str().unwrap(), target]);
        run("ntfscp", &args);
    };
    put("s1", b"tiny resident file\n", "tiny.txt", None);
    put("s2", &picture(), "holiday photo.png", None);
    put("s3", &pattern(9000, 1), "fragmented.bin", None);
    put("s4", &pattern(9000, 2), "between.bin", None);
    // Rewriting it larger allocates a second run after between.bin.
    put("s5", &pattern(100_000, 3), "fragmented.bin", None);
    put("s6", b"", "empty.txt", None);
    put("s7", &pattern(1_000_000, 4), "big.bin", None);
    put("s8", b"[ZoneTransfer]\r\nZoneId=3\r\n", "holiday photo.png", Some("Zone.Identifier"));
    put("s9", &pattern(5000, 5), "tiny.txt", Some("secret"));
    put("s10", &pattern(50_000, 6), "deleted.bin", None);
    put("s11", b"deleted resident\n", "deleted small.txt", None);
    let (image, start) = partition(dir, &fs, table);
    // Delete the two files as Windows does.
    let before = mh(&image);
    let g = geo(&image, start);
    for name in ["/deleted.bin", "/deleted small.txt"] {
        let loc = find(&before, name).0.location.clone().unwrap();
        let runs: Vec<(u64, u64)> = loc.byte_runs.iter().map(|r| (r.img_offset, r.len)).collect();
        delete_record(&image, &g, loc.entry_number.unwrap(), &runs);
    }
    (image, start)
}

fn check_plain(table: Table) {
    let dir = tempfile::tempdir().unwrap();
    let (image, start) = build_plain(dir.path(), table);
    let (items, recovered) =
        check_against_tsk(&image, start, &["deleted.bin", "deleted small.txt"]);
    assert_eq!(recovered, 2, "both deleted files recovered by TSK and mh");
    let frag = find(&items, "/fragmented.bin");
    assert!(frag.0.location.as_ref().unwrap().byte_runs.len() >= 2, "a multi-run file");
    assert_eq!(frag.1.as_ref().unwrap().as_ref().unwrap(), &pattern(100_000, 3));
    assert_eq!(
        find(&items, "/holiday photo.png").1.as_ref().unwrap().as_ref().unwrap(),
        &picture()
    );
    let ads = find(&items, "/holiday photo.png:Zone.Identifier");
    assert!(ads.0.location.as_ref().unwrap().fs_address.as_ref().unwrap().contains("-128-"));
    let deleted = find(&items, "/deleted.bin");
    assert_eq!(deleted.0.location.as_ref().unwrap().deleted, Some(true));
    assert_eq!(deleted.1.as_ref().unwrap().as_ref().unwrap(), &pattern(50_000, 6));
    // System files are listed, not read.
    let mft = find(&items, "/$MFT");
    assert_eq!(mft.0.disposition, EntryDisposition::Skipped);
}

#[test]
#[cfg_attr(not(mediahash_ntfs_tools), ignore = "needs ntfs-3g sleuthkit fdisk gdisk")]
fn ntfs_alone_matches_the_sleuth_kit() {
    check_plain(Table::None);
}

#[test]
#[cfg_attr(not(mediahash_ntfs_tools), ignore = "needs ntfs-3g sleuthkit fdisk gdisk")]
fn ntfs_in_mbr_matches_the_sleuth_kit() {
    check_plain(Table::Mbr);
}

/// Unmounts on drop (also when a test panics).
struct Mount(PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

fn set_compressed(dir: &Path) {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).unwrap();
    let name = c"system.ntfs_attrib_be";
    let value = 0x0000_0810u32.to_be_bytes(); // directory | compressed
    // SAFETY: both strings are NUL-terminated and live across the call; the value
    // pointer and length describe a live 4-byte array.
    let rc = unsafe {
        libc::setxattr(path.as_ptr(), name.as_ptr(), value.as_ptr().cast(), value.len(), 0)
    };
    assert_eq!(rc, 0, "setxattr: {}", std::io::Error::last_os_error());
}

/// An NTFS volume populated through the ntfs-3g FUSE driver: directories, a compressed
/// directory (LZNT1), a sparse file, an alternate data stream, files and a directory
/// deleted with `rm`.
fn build_mounted(dir: &Path, table: Table) -> (PathBuf, u64) {
    let fs = mkntfs(dir);
    let mnt = dir.join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    run(
        "ntfs-3g",
        &[
            "-o",
            "streams_interface=windows,compression",
            fs.to_str().unwrap(),
            mnt.to_str().unwrap(),
        ],
    );
    {
        let _mount = Mount(mnt.clone());
        let m = |p: &str| mnt.join(p);
        for d in ["Pictures", "Docs/Deep Folder", "Trash", "Old Dir/inner", "Packed"] {
            std::fs::create_dir_all(m(d)).unwrap();
        }
        set_compressed(&m("Packed"));
        std::fs::write(m("Pictures/holiday photo.png"), picture()).unwrap();
        std::fs::write(m("Pictures/holiday photo.png:Zone.Identifier"), b"ZoneId=3\r\n").unwrap();
        std::fs::write(m("Docs/Deep Folder/report.bin"), pattern(20_000, 7)).unwrap();
        let text: Vec<u8> = (0..20_000)
            .flat_map(|i| format!("line {i} of a compressible text\n").into_bytes())
            .collect();
        std::fs::write(m("Packed/compressible.txt"), &text).unwrap();
        std::fs::write(m("Packed/random.bin"), pattern(150_000, 8)).unwrap();
        let sparse = std::fs::File::create(m("sparse.bin")).unwrap();
        sparse.set_len(3 << 20).unwrap();
        sparse.write_all_at(&pattern(10_000, 9), 1 << 20).unwrap();
        drop(sparse);
        std::fs::write(m("Trash/gone.bin"), pattern(30_000, 10)).unwrap();
        std::fs::write(m("Trash/gone small.txt"), b"resident and deleted\n").unwrap();
        std::fs::write(m("Old Dir/inner/deep deleted.bin"), pattern(12_000, 11)).unwrap();
        std::fs::write(m("keep.txt"), b"kept\n").unwrap();
        // Hard links: one record, several names (The Sleuth Kit lists each).
        std::fs::hard_link(m("keep.txt"), m("Docs/keep link.txt")).unwrap();
        std::fs::hard_link(m("Pictures/holiday photo.png"), m("Docs/Deep Folder/same.png"))
            .unwrap();
        std::fs::remove_file(m("Trash/gone.bin")).unwrap();
        std::fs::remove_file(m("Trash/gone small.txt")).unwrap();
        std::fs::remove_dir_all(m("Old Dir")).unwrap();
    }
    partition(dir, &fs, table)
}

#[test]
#[cfg_attr(not(mediahash_ntfs_tools), ignore = "needs ntfs-3g sleuthkit fdisk gdisk")]
fn ntfs_directories_compression_sparse_deleted_in_gpt_match_the_sleuth_kit() {
    let dir = tempfile::tempdir().unwrap();
    let (image, start) = build_mounted(dir.path(), Table::Gpt);
    let (items, recovered) = check_against_tsk(&image, start, &[]);
    assert!(recovered >= 2, "deleted files recovered: {recovered}");
    let packed = find(&items, "/Packed/compressible.txt");
    let text: Vec<u8> = (0..20_000)
        .flat_map(|i| format!("line {i} of a compressible text\n").into_bytes())
        .collect();
    assert_eq!(packed.1.as_ref().unwrap().as_ref().unwrap(), &text);
    let runs: u64 = packed.0.location.as_ref().unwrap().byte_runs.iter().map(|r| r.len).sum();
    assert!(runs < text.len() as u64 / 2, "stored compressed: {runs} bytes on disk");
    let sparse = find(&items, "/sparse.bin");
    let bytes = sparse.1.as_ref().unwrap().as_ref().unwrap();
    assert_eq!(bytes.len(), 3 << 20);
    assert_eq!(&bytes[1 << 20..(1 << 20) + 10_000], &pattern(10_000, 9)[..]);
    assert!(find(&items, "/Docs/Deep Folder").0.kind == EntryKind::Directory);
    // Each name of a hard-linked file, with the same record and content.
    assert_eq!(entry_number(&items, "/Docs/keep link.txt"), entry_number(&items, "/keep.txt"));
    let same = find(&items, "/Docs/Deep Folder/same.png");
    assert_eq!(same.1.as_ref().unwrap().as_ref().unwrap(), &picture());
    assert_eq!(
        entry_number(&items, "/Docs/Deep Folder/same.png"),
        entry_number(&items, "/Pictures/holiday photo.png")
    );
}

/// Offset (in a fixed-up record) of the runlist of the record's unnamed `$DATA`.
fn runlist(rec: &[u8]) -> usize {
    let a = attribute(rec, 0x80);
    assert_eq!(rec[a + 8], 1, "non-resident");
    a + usize::from(u16::from_le_bytes([rec[a + 32], rec[a + 33]]))
}

fn entry_number(items: &Mh, suffix: &str) -> u64 {
    find(items, suffix).0.location.as_ref().unwrap().entry_number.unwrap()
}

fn assert_damaged(items: &Mh, suffix: &str, words: &str) {
    let r = &find(items, suffix).0;
    assert_eq!(r.disposition, EntryDisposition::Error, "{suffix}: {r:?}");
    assert_eq!(code(r), Some(ReasonCode::FileSystemDamaged), "{suffix}");
    let message = r.reason_message().unwrap();
    assert!(message.contains(words), "{suffix}: {message}");
}

/// The other files of the volume still read right.
fn others_fine(items: &Mh) {
    let png = find(items, "/holiday photo.png");
    assert_eq!(png.1.as_ref().unwrap().as_ref().unwrap(), &picture());
}

#[test]
#[cfg_attr(not(mediahash_ntfs_tools), ignore = "needs ntfs-3g sleuthkit fdisk gdisk")]
fn hostile_overlapping_and_absurd_data_runs() {
    let dir = tempfile::tempdir().unwrap();
    let (image, start) = build_plain(dir.path(), Table::None);
    let items = mh(&image);
    let g = geo(&image, start);
    // fragmented.bin: its second run made to start where its first starts (delta 0).
    edit_record(&image, &g, entry_number(&items, "/fragmented.bin"), |rec| {
        let r = runlist(rec);
        let h = rec[r];
        let second = r + 1 + usize::from(h & 15) + usize::from(h >> 4);
        let h2 = rec[second];
        assert!(h2 >> 4 > 0, "the second run has an offset");
        let off = second + 1 + usize::from(h2 & 15);
        rec[off..off + usize::from(h2 >> 4)].fill(0);
    });
    // big.bin: its first run made absurdly long.
    edit_record(&image, &g, entry_number(&items, "/big.bin"), |rec| {
        let r = runlist(rec);
        let ls = usize::from(rec[r] & 15);
        rec[r + 1..r + 1 + ls].fill(0x7F);
    });
    let start_time = std::time::Instant::now();
    let items = mh(&image);
    assert!(start_time.elapsed().as_secs() < 10);
    assert_damaged(&items, "/fragmented.bin", "overlap");
    assert_damaged(&items, "/big.bin", "clusters");
    others_fine(&items);
}

#[test]
#[cfg_attr(not(mediahash_ntfs_tools), ignore = "needs ntfs-3g sleuthkit fdisk gdisk")]
fn hostile_bad_fixup_and_attribute_past_the_record() {
    let dir = tempfile::tempdir().unwrap();
    let (image, start) = build_plain(dir.path(), Table::None);
    let items = mh(&image);
    let g = geo(&image, start);
    // tiny.txt: the end of its second sector no longer carries the update sequence number.
    let at = record_offset(&image, &g, entry_number(&items, "/tiny.txt"));
    let f = std::fs::OpenOptions::new().write(true).open(&image).unwrap();
    f.write_all_at(&[0x12, 0x34], at + 1022).unwrap();
    // empty.txt: its $DATA attribute claims to be longer than the record.
    edit_record(&image, &g, entry_number(&items, "/empty.txt"), |rec| {
        let a = attribute(rec, 0x80);
        rec[a + 4..a + 8].copy_from_slice(&0x7FF0u32.to_le_bytes());
    });
    let items = mh(&image);
    assert_damaged(&items, "/tiny.txt", "update sequence mismatch");
    assert_damaged(&items, "/tiny.txt:secret", "update sequence mismatch");
    assert_damaged(&items, "/empty.txt", "past the record");
    others_fine(&items);
}

#[test]
#[cfg_attr(not(mediahash_ntfs_tools), ignore = "needs ntfs-3g sleuthkit fdisk gdisk")]
fn hostile_absurd_mft_size() {
    let dir = tempfile::tempdir().unwrap();
    let (image, start) = build_plain(dir.path(), Table::None);
    let g = geo(&image, start);
    edit_record(&image, &g, 0, |rec| {
        let a = attribute(rec, 0x80);
        rec[a + 48..a + 56].copy_from_slice(&(1u64 << 50).to_le_bytes());
    });
    let items = mh(&image);
    let carved = |e: &&Listed| e.0.location.as_ref().is_some_and(|l| l.carved.is_some());
    assert_eq!(items.iter().filter(|e| !carved(e)).count(), 2, "the image and its volume");
    let volume = &items[1].0;
    assert_eq!(code(volume), Some(ReasonCode::FileSystemDamaged), "{volume:?}");
    assert!(volume.reason_message().unwrap().contains("master file table is damaged"));
    // The damaged volume is carved whole: the picture in it is found by its signature.
    let found = items
        .iter()
        .filter(carved)
        .any(|e| e.1.as_ref().is_some_and(|b| b.as_ref().is_ok_and(|b| *b == picture())));
    assert!(found, "the picture carved from the damaged volume");
}

/// `$MFT` record 0 without its FILE signature: the `$MFT` is located through `$MFTMirr`,
/// every file is read as before, and the volume's record says what happened.
#[test]
#[cfg_attr(not(mediahash_ntfs_tools), ignore = "needs ntfs-3g sleuthkit fdisk gdisk")]
fn damaged_mft_record_0_is_read_through_mftmirr() {
    let dir = tempfile::tempdir().unwrap();
    let (image, start) = build_plain(dir.path(), Table::None);
    let before = mh(&image);
    let g = geo(&image, start);
    let at = record_offset(&image, &g, 0);
    let f = std::fs::OpenOptions::new().write(true).open(&image).unwrap();
    f.write_all_at(b"BAAD", at).unwrap();
    let after = mh(&image);
    let volume = &after[1].0;
    assert_eq!(code(volume), Some(ReasonCode::FileSystemDamaged), "{volume:?}");
    assert!(volume.reason_message().unwrap().contains("$MFTMirr"), "{volume:?}");
    let files = |items: &Mh| -> Vec<(String, Vec<u8>)> {
        items
            .iter()
            .filter(|e| !e.0.path_text().contains("/$"))
            .filter_map(|e| {
                Some((e.0.path_text().into_owned(), e.1.as_ref()?.as_ref().ok()?.clone()))
            })
            .collect()
    };
    let (was, now) = (files(&before), files(&after));
    assert!(was.len() >= 3, "{was:?}");
    assert_eq!(was, now, "the same files with the same content");
}

#[test]
#[cfg_attr(not(mediahash_ntfs_tools), ignore = "needs ntfs-3g sleuthkit fdisk gdisk")]
fn hostile_truncated_image() {
    let dir = tempfile::tempdir().unwrap();
    let (image, _) = build_plain(dir.path(), Table::Mbr);
    let items = mh(&image);
    let big = find(&items, "/big.bin").0.location.as_ref().unwrap().byte_runs[0].img_offset;
    std::fs::OpenOptions::new().write(true).open(&image).unwrap().set_len(big + 10_000).unwrap();
    let items = mh(&image);
    assert_eq!(code(&items[1].0), Some(ReasonCode::PartitionPastEnd));
    let err = find(&items, "/big.bin").1.as_ref().unwrap().as_ref().unwrap_err();
    assert!(err.to_string().contains("past the end of the image"), "{err}");
}

#[test]
#[cfg_attr(not(mediahash_ntfs_tools), ignore = "needs ntfs-3g sleuthkit fdisk gdisk")]
fn hostile_parent_loop() {
    let dir = tempfile::tempdir().unwrap();
    let (image, start) = build_mounted(dir.path(), Table::None);
    let items = mh(&image);
    let g = geo(&image, start);
    let docs = entry_number(&items, "/p0/Docs");
    let deep = entry_number(&items, "/p0/Docs/Deep Folder");
    let mut head = [0u8; 18];
    std::fs::File::open(&image)
        .unwrap()
        .read_exact_at(&mut head, record_offset(&image, &g, deep))
        .unwrap();
    let deep_seq = u64::from(u16::from_le_bytes([head[16], head[17]]));
    // Docs's parent becomes its own subdirectory: Docs -> Deep Folder -> Docs.
    edit_record(&image, &g, docs, |rec| {
        let a = attribute(rec, 0x30);
        let v = a + usize::from(u16::from_le_bytes([rec[a + 20], rec[a + 21]]));
        rec[v..v + 8].copy_from_slice(&(deep | deep_seq << 48).to_le_bytes());
    });
    let start_time = std::time::Instant::now();
    let items = mh(&image);
    assert!(start_time.elapsed().as_secs() < 10);
    let report = items.iter().find(|e| e.0.path_text().ends_with("/report.bin")).unwrap();
    assert!(report.0.path_text().contains("/p0/$OrphanFiles/"), "{}", report.0.path_text());
    assert_eq!(code(&report.0), Some(ReasonCode::FileSystemDamaged));
    assert!(report.0.reason_message().unwrap().contains("loop"));
    // The rest of the volume is unaffected.
    assert_eq!(
        find(&items, "/p0/Pictures/holiday photo.png").1.as_ref().unwrap().as_ref().unwrap(),
        &picture()
    );
}

/// Random damage to the `$MFT` (deterministic seeds): typed records, never a panic or a
/// hang, whatever the bytes.
#[test]
#[cfg_attr(not(mediahash_ntfs_tools), ignore = "needs ntfs-3g sleuthkit fdisk gdisk")]
fn hostile_random_mft_damage_never_panics() {
    let dir = tempfile::tempdir().unwrap();
    let (image, start) = build_plain(dir.path(), Table::None);
    let g = geo(&image, start);
    let pristine = std::fs::read(&image).unwrap();
    let mft = (g.base + g.mft * g.cluster) as usize;
    let start_time = std::time::Instant::now();
    for seed in 1..=200u32 {
        let mut bytes = pristine.clone();
        let noise = pattern(64, seed);
        for pair in noise.chunks_exact(4) {
            let at = mft + usize::from(u16::from_le_bytes([pair[0], pair[1]])) % (80 * 1024);
            bytes[at] = pair[2];
        }
        std::fs::write(&image, &bytes).unwrap();
        let items = mh(&image);
        assert!(!items.is_empty());
    }
    assert!(start_time.elapsed().as_secs() < 120);
}

/// `mh scan IMAGE` on NTFS end to end: records byte-identical for 1 and 2 threads, counts
/// add up, the picture inside is hashed with the PDQ of the same picture in a folder, the
/// stream's address is in the report.
#[cfg(feature = "cli")]
#[test]
#[cfg_attr(not(mediahash_ntfs_tools), ignore = "needs ntfs-3g sleuthkit fdisk gdisk")]
fn mh_scan_reads_an_ntfs_image() {
    let evidence = tempfile::tempdir().unwrap();
    let folder = tempfile::tempdir().unwrap();
    let reports = tempfile::tempdir().unwrap();
    let (image, _) = build_plain(evidence.path(), Table::Gpt);
    std::fs::write(folder.path().join("same.png"), picture()).unwrap();
    let scan = |root: &Path, name: &str, threads: &str| -> Vec<serde_json::Value> {
        let report = reports.path().join(name);
        let out = Command::new(env!("CARGO_BIN_EXE_mh"))
            .args(["scan", "--threads", threads, "--report"])
            .arg(&report)
            .arg(root)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
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
    assert_eq!(counts["error"].as_u64(), Some(0), "{counts}");
    let by_suffix = |suffix: &str| {
        one.iter()
            .find(|l| l["path"].as_str().is_some_and(|p| p.ends_with(suffix)))
            .unwrap_or_else(|| panic!("no {suffix}"))
            .clone()
    };
    let photo = by_suffix("/p1/holiday photo.png");
    assert_eq!(photo["location"]["fs_type"], "ntfs");
    let plain = scan(folder.path(), "folder.jsonl", "1");
    let same = plain.iter().find(|l| l["path"].as_str().is_some_and(|p| p.ends_with("same.png")));
    assert_eq!(photo["pdq"], same.unwrap()["pdq"]);
    assert!(photo["pdq"].is_string());
    let ads = by_suffix("/p1/holiday photo.png:Zone.Identifier");
    assert!(ads["location"]["fs_address"].as_str().unwrap().contains("-128-"));
    let mft = by_suffix("/p1/$MFT");
    assert_eq!(mft["reason_code"], "file-system-metadata");
    let deleted = by_suffix("/p1/deleted.bin");
    assert_eq!(deleted["location"]["deleted"], true);
    assert!(deleted["sha1"].is_string());
}

/// A file in hundreds of fragments: the volume is filled, every other small file deleted,
/// and the file written into the holes, so its runs no longer fit one MFT record and
/// ntfs-3g moves them (and its name) into extension records named by `$ATTRIBUTE_LIST`.
#[test]
#[cfg_attr(not(mediahash_ntfs_tools), ignore = "needs ntfs-3g sleuthkit fdisk gdisk")]
fn ntfs_attribute_list_matches_the_sleuth_kit() {
    let dir = tempfile::tempdir().unwrap();
    let fs = mkntfs(dir.path());
    let mnt = dir.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    run("ntfs-3g", &[fs.to_str().unwrap(), mnt.to_str().unwrap()]);
    {
        let _mount = Mount(mnt.clone());
        // SAFETY: `stat` is a plain C struct for which all-zero bytes are valid; statvfs
        // fills it from a NUL-terminated path that lives across the call.
        let free = unsafe {
            use std::os::unix::ffi::OsStrExt;
            let path = std::ffi::CString::new(mnt.as_os_str().as_bytes()).unwrap();
            let mut st: libc::statvfs = std::mem::zeroed();
            assert_eq!(libc::statvfs(path.as_ptr(), &mut st), 0);
            st.f_bavail as u64 * st.f_frsize as u64
        };
        std::fs::write(mnt.join("filler.bin"), vec![0u8; (free - 900 * 4096) as usize]).unwrap();
        let mut n = 0;
        while std::fs::write(mnt.join(format!("h{n:04}")), pattern(4096, n)).is_ok() {
            n += 1;
        }
        for k in (0..n).step_by(2) {
            std::fs::remove_file(mnt.join(format!("h{k:04}"))).unwrap();
        }
        std::fs::write(mnt.join("fragmented.bin"), pattern(300 * 4096, 77)).unwrap();
    }
    let (items, _) = check_against_tsk(&fs, 0, &[]);
    let frag = find(&items, "/p0/fragmented.bin");
    assert_eq!(frag.1.as_ref().unwrap().as_ref().unwrap(), &pattern(300 * 4096, 77));
    let runs = frag.0.location.as_ref().unwrap().byte_runs.len();
    assert!(runs > 100, "{runs} runs: the file is fragmented");
}
