//! exFAT in disk images (issue #15): volumes made with exfatprogs' `mkfs.exfat` and
//! populated through the exfat-fuse driver (on a loop device: it needs a block device),
//! alone or inside MBR/GPT partitions, read by mediahash's disk source and compared with
//! The Sleuth Kit (`fls -r -p`, `icat`, `blkstat`): the same files and directories, entry
//! numbers, deleted flags, sizes and SHA-1, and every deleted file TSK recovers found with
//! the same content (or refused as not recoverable where `blkstat` shows its clusters in use
//! again). Contiguous (`NoFatChain`) and fragmented (FAT chain) files, long Unicode names,
//! a directory of hundreds of entries, deleted files and a deleted directory tree; one file
//! edited to have its `ValidDataLength` below its `DataLength` (mh reads zeros past it, as
//! the exFAT specification and drivers do; `icat` gives the stale bytes). Hostile edits of a
//! real volume (looping chain, chain leaving the heap, bad set checksum, huge `DataLength`,
//! a directory pointing at the root, a truncated image) give typed error records.
//!
//! Gated by cfg `mediahash_exfat_tools` (build.rs; always set in CI, where a missing tool
//! fails). Mounting needs root.

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

const TOOLS: &str = "needs exfatprogs, exfat-fuse, sleuthkit, fdisk, gdisk, mount (losetup) \
                     and root (apt-get install -y exfatprogs exfat-fuse sleuthkit fdisk gdisk; \
                     then touch build.rs)";

fn run(cmd: &str, args: &[&str]) -> Vec<u8> {
    run_tool(cmd, args, TOOLS)
}

fn picture() -> Vec<u8> {
    synth::png_rgb8(160, 120, &synth::photo_like(160, 120, 21))
}

/// Partition start (sectors) in partitioned images.
const START: u64 = 2048;
/// exFAT volume size in sectors (64 MiB).
const FS_SECTORS: u64 = 131_072;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Table {
    None,
    Mbr,
    Gpt,
}

/// Puts the file-system image `fs` into a new disk image with `table`; returns the image
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

fn mkexfat(dir: &Path, cluster: &str) -> PathBuf {
    let fs = dir.join("exfat.img");
    std::fs::File::create(&fs).unwrap().set_len(FS_SECTORS * 512).unwrap();
    run("mkfs.exfat", &["-c", cluster, fs.to_str().unwrap()]);
    fs
}

/// A volume mounted through exfat-fuse on a loop device; unmounted and detached on drop
/// (also when a test panics).
struct Mounted {
    mnt: PathBuf,
    device: String,
    mounted: bool,
}

impl Drop for Mounted {
    fn drop(&mut self) {
        if self.mounted {
            let _ = Command::new("umount").arg(&self.mnt).status();
        }
        let _ = Command::new(tool_path("losetup")).args(["-d", &self.device]).status();
    }
}

fn mount(fs: &Path, mnt: &Path) -> Mounted {
    std::fs::create_dir_all(mnt).unwrap();
    let out = run("losetup", &["-f", "--show", fs.to_str().unwrap()]);
    let device = String::from_utf8(out).unwrap().trim().to_string();
    let mut m = Mounted { mnt: mnt.to_path_buf(), device, mounted: false };
    run("mount.exfat-fuse", &[&m.device, mnt.to_str().unwrap()]);
    m.mounted = true;
    m
}

fn append(path: &Path, bytes: &[u8]) {
    let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    std::io::Write::write_all(&mut f, bytes).unwrap();
}

fn text() -> Vec<u8> {
    (0..3000).flat_map(|i| format!("line {i} of a text file\n").into_bytes()).collect()
}

/// The populated volume: nested directories, a picture, a long Unicode name, an empty
/// file, a large contiguous file, fragmented files (FAT chains), a directory of 300
/// entries, and deleted files (contiguous and fragmented), a deleted directory tree and a
/// deleted file whose clusters were reused.
fn build(dir: &Path, table: Table) -> (PathBuf, u64) {
    let fs = mkexfat(dir, "4096");
    {
        let m = mount(&fs, &dir.join("mnt"));
        let p = |rel: &str| m.mnt.join(rel);
        for d in ["Pictures/2023/Summer", "Dokumente", "Trash", "Old Dir/inner", "Many"] {
            std::fs::create_dir_all(p(d)).unwrap();
        }
        std::fs::write(p("Pictures/2023/Summer/holiday photo.png"), picture()).unwrap();
        std::fs::write(
            p("Dokumente/Über die Größe eines recht langen Dateinamens – 名前.txt"),
            text(),
        )
        .unwrap();
        std::fs::write(p("empty.txt"), b"").unwrap();
        std::fs::write(p("big.bin"), pattern(3 << 20, 1)).unwrap();
        // Fragmented: grows past a file written after it.
        std::fs::write(p("fragmented.bin"), pattern(5000, 2)).unwrap();
        std::fs::write(p("blocker.bin"), pattern(5000, 3)).unwrap();
        append(&p("fragmented.bin"), &pattern(60_000, 4));
        std::fs::write(p("Trash/frag gone.bin"), pattern(5000, 5)).unwrap();
        std::fs::write(p("Trash/frag blocker.bin"), pattern(5000, 6)).unwrap();
        append(&p("Trash/frag gone.bin"), &pattern(20_000, 7));
        for i in 0..300 {
            std::fs::write(p(&format!("Many/file number {i:03}.txt")), format!("{i}\n")).unwrap();
        }
        std::fs::write(p("Trash/gone.bin"), pattern(30_000, 8)).unwrap();
        std::fs::write(p("Trash/gone small.txt"), b"small and deleted\n").unwrap();
        std::fs::write(p("Old Dir/inner/deep deleted.bin"), pattern(12_000, 9)).unwrap();
        std::fs::write(p("Old Dir/top.txt"), b"in a deleted directory\n").unwrap();
        std::fs::write(p("prealloc.bin"), pattern(8192, 10)).unwrap();
        std::fs::write(p("keep.txt"), b"kept\n").unwrap();
        std::fs::write(p("Trash/reused.bin"), pattern(40_000, 11)).unwrap();
        let sync = |path: PathBuf| std::fs::File::open(path).unwrap().sync_all().unwrap();
        sync(m.mnt.clone());
        // Deleted, then its clusters taken by a later file (the driver allocates the first
        // free clusters).
        std::fs::remove_file(p("Trash/reused.bin")).unwrap();
        sync(m.mnt.clone());
        std::fs::write(p("newcomer.bin"), pattern(200_000, 12)).unwrap();
        sync(m.mnt.clone());
        // Deleted last: nothing is written after, so their clusters stay free.
        std::fs::remove_file(p("Trash/gone.bin")).unwrap();
        std::fs::remove_file(p("Trash/gone small.txt")).unwrap();
        std::fs::remove_file(p("Trash/frag gone.bin")).unwrap();
        std::fs::remove_dir_all(p("Old Dir")).unwrap();
    }
    set_valid_length(&fs, 0, "prealloc.bin", 1000);
    partition(dir, &fs, table)
}

/// The volume's geometry as the tests need it to craft damage.
struct Geo {
    /// Media offset of the volume.
    base: u64,
    sector: u64,
    cluster: u64,
    fat: u64,
    heap: u64,
}

fn geo(image: &Path, start: u64) -> Geo {
    let f = std::fs::File::open(image).unwrap();
    let mut boot = [0u8; 512];
    f.read_exact_at(&mut boot, start * 512).unwrap();
    assert_eq!(&boot[3..11], b"EXFAT   ");
    let sector = 1u64 << boot[108];
    let le32 = |at: usize| u64::from(u32::from_le_bytes(boot[at..at + 4].try_into().unwrap()));
    Geo {
        base: start * 512,
        sector,
        cluster: sector << boot[109],
        fat: le32(80) * sector,
        heap: le32(88) * sector,
    }
}

impl Geo {
    /// Media offset of the entry set TSK numbers `n` (its File entry).
    fn entry_at(&self, n: u64) -> u64 {
        self.base + self.heap + (n - 3) * 32
    }

    fn cluster_at(&self, c: u64) -> u64 {
        self.base + self.heap + (c - 2) * self.cluster
    }

    /// TSK's block (sector) address, volume-relative, of cluster `c`.
    fn cluster_sector(&self, c: u64) -> u64 {
        (self.heap + (c - 2) * self.cluster) / self.sector
    }
}

/// Reads the entry set numbered `n`, lets `edit` change it, writes it back with its set
/// checksum recomputed (unless `edit` returns false).
fn edit_set(image: &Path, g: &Geo, n: u64, edit: impl FnOnce(&mut [[u8; 32]]) -> bool) {
    let f = std::fs::OpenOptions::new().read(true).write(true).open(image).unwrap();
    let at = g.entry_at(n);
    let mut first = [0u8; 32];
    f.read_exact_at(&mut first, at).unwrap();
    assert_eq!(first[0] & 0x7F, 0x05, "entry {n} is a File entry");
    let count = 1 + usize::from(first[1]);
    let mut raw = vec![0u8; 32 * count];
    f.read_exact_at(&mut raw, at).unwrap();
    let mut set: Vec<[u8; 32]> = raw.chunks(32).map(|c| c.try_into().unwrap()).collect();
    if edit(&mut set) {
        let mut sum = 0u16;
        for (k, e) in set.iter().enumerate() {
            for (i, &b) in e.iter().enumerate() {
                if k == 0 && (i == 2 || i == 3) {
                    continue;
                }
                sum = sum.rotate_right(1).wrapping_add(u16::from(b));
            }
        }
        set[0][2..4].copy_from_slice(&sum.to_le_bytes());
    }
    f.write_all_at(&set.concat(), at).unwrap();
}

/// Sets the `ValidDataLength` of `name` (found by mh) to `valid`.
fn set_valid_length(image: &Path, start: u64, name: &str, valid: u64) {
    let n = entry_number(&mh(image), &format!("/{name}"));
    edit_set(image, &geo(image, start), n, |set| {
        set[1][8..16].copy_from_slice(&valid.to_le_bytes());
        true
    });
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

fn entry_number(items: &Mh, suffix: &str) -> u64 {
    find(items, suffix).0.location.as_ref().unwrap().entry_number.unwrap()
}

fn code(r: &EntryRecord) -> Option<ReasonCode> {
    r.reason.as_ref().map(|r| r.code)
}

fn fs_path(record: &EntryRecord, image: &Path, start: u64) -> Option<String> {
    let part = if start == 0 { "p0" } else { "p1" };
    let prefix = format!("{}/{part}/", image.display());
    record.path_text().strip_prefix(&prefix).map(str::to_string)
}

/// Compares mh with TSK on `image` (volume at `start`); `valid_lengths` names files whose
/// `ValidDataLength` was lowered (mh: icat's bytes up to it, zeros after). Returns mh's
/// items and how many deleted files TSK recovered with content mh matched.
fn check_against_tsk(image: &Path, start: u64, valid_lengths: &[(&str, u64)]) -> (Mh, usize) {
    let g = geo(image, start);
    let img = image.to_str().unwrap();
    let offset = start.to_string();
    let tsk: Vec<tools::FlsLine> = tools::fls(image, start, TOOLS)
        .into_iter()
        // TSK's virtual files ($MBR, $FAT1, $OrphanFiles) and the orphans its inode walk
        // finds below $OrphanFiles: mh lists what the directories reach.
        .filter(|l| !l.is_virtual() && !l.path.starts_with("$OrphanFiles"))
        .collect();
    let items = mh(image);
    let volume = &items[1].0;
    assert_eq!(volume.disposition, EntryDisposition::Directory, "{:?}", volume.reason);
    assert_eq!(volume.location.as_ref().unwrap().fs_type.as_deref(), Some("exfat"));
    let ours: BTreeMap<String, &Listed> =
        items.iter().filter_map(|e| Some((fs_path(&e.0, image, start)?, e))).collect();
    let mut expected = BTreeSet::new();
    let mut recovered = 0;
    for t in &tsk {
        expected.insert(t.path.clone());
        let (record, bytes) = ours
            .get(&t.path)
            .unwrap_or_else(|| panic!("TSK's {} ({}) not listed by mh", t.path, t.address));
        let loc = record.location.as_ref().unwrap();
        assert_eq!(loc.entry_number, Some(t.entry_number()), "{}", t.path);
        assert_eq!(loc.deleted, Some(t.deleted), "{}: deleted flag", t.path);
        let kind = if t.is_dir() { EntryKind::Directory } else { EntryKind::File };
        assert_eq!(record.kind, kind, "{}", t.path);
        if t.path.starts_with('$') {
            assert_eq!(code(record), Some(ReasonCode::FileSystemMetadata), "{}", t.path);
            continue;
        }
        if t.is_dir() {
            assert_eq!(record.disposition, EntryDisposition::Directory, "{}", t.path);
            continue;
        }
        let theirs = run("icat", &["-o", &offset, img, &t.address]);
        if t.deleted && theirs.is_empty() {
            continue;
        }
        if t.deleted && code(record) == Some(ReasonCode::NotRecoverable) {
            // mh refuses a deleted file whose clusters are in use again (icat shows the
            // new owner's bytes): TSK's blkstat must agree that the cluster is allocated.
            let message = record.reason_message().unwrap();
            let cluster: u64 = message
                .split("cluster ")
                .nth(1)
                .and_then(|t| t.split(|c: char| !c.is_ascii_digit()).next())
                .and_then(|c| c.parse().ok())
                .unwrap_or_else(|| panic!("{}: {message}", t.path));
            let sector = g.cluster_sector(cluster).to_string();
            let stat = run("blkstat", &["-o", &offset, img, &sector]);
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
        let want = match valid_lengths.iter().find(|(name, _)| *name == t.path) {
            Some(&(_, valid)) => {
                let mut w = theirs[..valid as usize].to_vec();
                w.resize(theirs.len(), 0);
                assert_ne!(
                    w, theirs,
                    "{}: icat gives the stale bytes past the valid length",
                    t.path
                );
                w
            }
            None => theirs.clone(),
        };
        assert_eq!(sha1_hex(mine), sha1_hex(&want), "{}: content differs from icat", t.path);
        assert_eq!(record.size, Some(theirs.len() as u64), "{}: size", t.path);
        if t.deleted {
            recovered += 1;
        }
    }
    let listed: BTreeSet<String> = ours.keys().cloned().collect();
    assert_eq!(listed, expected, "mh lists exactly TSK's entries");
    (items, recovered)
}

fn check(table: Table) {
    let dir = tempfile::tempdir().unwrap();
    let (image, start) = build(dir.path(), table);
    let (items, recovered) = check_against_tsk(&image, start, &[("prealloc.bin", 1000)]);
    assert!(recovered >= 4, "deleted files recovered by TSK and mh: {recovered}");
    let photo = find(&items, "/Pictures/2023/Summer/holiday photo.png");
    assert_eq!(photo.1.as_ref().unwrap().as_ref().unwrap(), &picture());
    let frag = find(&items, "/fragmented.bin");
    assert!(frag.0.location.as_ref().unwrap().byte_runs.len() >= 2, "a fragmented file");
    let mut want = pattern(5000, 2);
    want.extend(pattern(60_000, 4));
    assert_eq!(frag.1.as_ref().unwrap().as_ref().unwrap(), &want);
    let gone = find(&items, "/Trash/gone.bin");
    assert_eq!(gone.0.location.as_ref().unwrap().deleted, Some(true));
    assert_eq!(gone.1.as_ref().unwrap().as_ref().unwrap(), &pattern(30_000, 8));
    let deep = find(&items, "/Old Dir/inner/deep deleted.bin");
    assert_eq!(deep.1.as_ref().unwrap().as_ref().unwrap(), &pattern(12_000, 9));
    let long = find(&items, "/Dokumente/Über die Größe eines recht langen Dateinamens – 名前.txt");
    assert_eq!(long.1.as_ref().unwrap().as_ref().unwrap(), &text());
    let reused = find(&items, "/Trash/reused.bin");
    assert_eq!(code(&reused.0), Some(ReasonCode::NotRecoverable), "{:?}", reused.0.reason);
    let many = items.iter().filter(|e| e.0.path_text().contains("/Many/file number ")).count();
    assert_eq!(many, 300);
}

#[test]
#[cfg_attr(not(mediahash_exfat_tools), ignore = "needs exfatprogs exfat-fuse sleuthkit, root")]
fn exfat_alone_matches_the_sleuth_kit() {
    check(Table::None);
}

#[test]
#[cfg_attr(not(mediahash_exfat_tools), ignore = "needs exfatprogs exfat-fuse sleuthkit, root")]
fn exfat_in_mbr_matches_the_sleuth_kit() {
    check(Table::Mbr);
}

#[test]
#[cfg_attr(not(mediahash_exfat_tools), ignore = "needs exfatprogs exfat-fuse sleuthkit, root")]
fn exfat_in_gpt_with_512_byte_clusters_matches_the_sleuth_kit() {
    let dir = tempfile::tempdir().unwrap();
    let fs = mkexfat(dir.path(), "512");
    {
        let m = mount(&fs, &dir.path().join("mnt"));
        std::fs::create_dir_all(m.mnt.join("a/b")).unwrap();
        std::fs::write(m.mnt.join("a/b/photo.png"), picture()).unwrap();
        std::fs::write(m.mnt.join("a/one.bin"), pattern(70_000, 20)).unwrap();
        std::fs::write(m.mnt.join("a/two.bin"), pattern(3000, 21)).unwrap();
        std::fs::remove_file(m.mnt.join("a/one.bin")).unwrap();
    }
    let (image, start) = partition(dir.path(), &fs, Table::Gpt);
    let (items, recovered) = check_against_tsk(&image, start, &[]);
    assert_eq!(recovered, 1);
    assert_eq!(
        find(&items, "/a/one.bin").1.as_ref().unwrap().as_ref().unwrap(),
        &pattern(70_000, 20)
    );
}

/// A volume for the hostile edits: a contiguous file, a fragmented one, a subdirectory.
fn hostile_volume(dir: &Path) -> PathBuf {
    let fs = mkexfat(dir, "4096");
    {
        let m = mount(&fs, &dir.join("mnt"));
        std::fs::create_dir(m.mnt.join("sub")).unwrap();
        std::fs::write(m.mnt.join("sub/inside.txt"), b"inside\n").unwrap();
        std::fs::write(m.mnt.join("contiguous.bin"), pattern(50_000, 30)).unwrap();
        std::fs::write(m.mnt.join("fragmented.bin"), pattern(5000, 31)).unwrap();
        std::fs::write(m.mnt.join("blocker.bin"), pattern(5000, 32)).unwrap();
        append(&m.mnt.join("fragmented.bin"), &pattern(30_000, 33));
        std::fs::write(m.mnt.join("fine.txt"), b"fine\n").unwrap();
    }
    fs
}

fn assert_damaged(items: &Mh, suffix: &str, words: &str) {
    let (r, _) = find(items, suffix);
    assert_eq!(r.disposition, EntryDisposition::Error, "{suffix}: {r:?}");
    assert_eq!(code(r), Some(ReasonCode::FileSystemDamaged), "{suffix}: {:?}", r.reason);
    let m = r.reason_message().unwrap();
    assert!(m.contains(words), "{suffix}: {m}");
}

/// The other files of the volume still read right.
fn others_fine(items: &Mh) {
    let (_, bytes) = find(items, "/fine.txt");
    assert_eq!(bytes.as_ref().unwrap().as_ref().unwrap(), b"fine\n");
}

/// First cluster of the set numbered `n`.
fn first_cluster(image: &Path, g: &Geo, n: u64) -> u64 {
    let mut v = 0;
    edit_set(image, g, n, |set| {
        v = u64::from(u32::from_le_bytes(set[1][20..24].try_into().unwrap()));
        false
    });
    v
}

fn set_fat(image: &Path, g: &Geo, cluster: u64, value: u32) {
    let f = std::fs::OpenOptions::new().write(true).open(image).unwrap();
    f.write_all_at(&value.to_le_bytes(), g.base + g.fat + 4 * cluster).unwrap();
}

#[test]
#[cfg_attr(not(mediahash_exfat_tools), ignore = "needs exfatprogs exfat-fuse sleuthkit, root")]
fn hostile_chain_loop_and_chain_past_the_heap() {
    let dir = tempfile::tempdir().unwrap();
    let image = hostile_volume(dir.path());
    let g = geo(&image, 0);
    let before = mh(&image);
    let n = entry_number(&before, "/fragmented.bin");
    let first = first_cluster(&image, &g, n);
    // The first cluster's FAT entry points back to itself: a loop before the size is met.
    set_fat(&image, &g, first, first as u32);
    let items = mh(&image);
    assert_damaged(&items, "/fragmented.bin", "loops");
    others_fine(&items);
    set_fat(&image, &g, first, 0x0FFF_FFF0);
    let items = mh(&image);
    assert_damaged(&items, "/fragmented.bin", "outside the cluster heap");
    others_fine(&items);
}

#[test]
#[cfg_attr(not(mediahash_exfat_tools), ignore = "needs exfatprogs exfat-fuse sleuthkit, root")]
fn hostile_bad_set_checksum_and_huge_data_length() {
    let dir = tempfile::tempdir().unwrap();
    let image = hostile_volume(dir.path());
    let g = geo(&image, 0);
    let before = mh(&image);
    let n = entry_number(&before, "/contiguous.bin");
    // One byte of the name changed, the checksum left as it was.
    edit_set(&image, &g, n, |set| {
        set[2][2] ^= 0x01;
        false
    });
    let items = mh(&image);
    let (r, _) = items
        .iter()
        .find(|e| e.0.location.as_ref().and_then(|l| l.entry_number) == Some(n))
        .unwrap();
    assert_eq!(code(r), Some(ReasonCode::FileSystemDamaged), "{:?}", r.reason);
    assert!(r.reason_message().unwrap().contains("checksum"));
    others_fine(&items);
    // Put the name back; a DataLength of 2^62 with a valid checksum.
    edit_set(&image, &g, n, |set| {
        set[2][2] ^= 0x01;
        set[1][24..32].copy_from_slice(&(1u64 << 62).to_le_bytes());
        set[1][8..16].copy_from_slice(&(1u64 << 62).to_le_bytes());
        true
    });
    let items = mh(&image);
    assert_damaged(&items, "/contiguous.bin", "larger than the cluster heap");
    others_fine(&items);
}

#[test]
#[cfg_attr(not(mediahash_exfat_tools), ignore = "needs exfatprogs exfat-fuse sleuthkit, root")]
fn hostile_directory_pointing_at_the_root() {
    let dir = tempfile::tempdir().unwrap();
    let image = hostile_volume(dir.path());
    let g = geo(&image, 0);
    let before = mh(&image);
    let n = entry_number(&before, "/sub");
    let mut boot = [0u8; 512];
    std::fs::File::open(&image).unwrap().read_exact_at(&mut boot, 0).unwrap();
    let root = u32::from_le_bytes(boot[96..100].try_into().unwrap());
    edit_set(&image, &g, n, |set| {
        set[1][1] &= !0x02; // through the FAT, like the root
        set[1][20..24].copy_from_slice(&root.to_le_bytes());
        true
    });
    let items = mh(&image);
    assert_damaged(&items, "/sub", "already read");
    assert!(!items.iter().any(|e| e.0.path_text().contains("/sub/")), "not walked");
    others_fine(&items);
}

#[test]
#[cfg_attr(not(mediahash_exfat_tools), ignore = "needs exfatprogs exfat-fuse sleuthkit, root")]
fn hostile_truncated_image() {
    let dir = tempfile::tempdir().unwrap();
    let image = hostile_volume(dir.path());
    let g = geo(&image, 0);
    let before = mh(&image);
    let runs = &find(&before, "/contiguous.bin").0.location.as_ref().unwrap().byte_runs;
    // Cut in the middle of contiguous.bin: it becomes an error, the rest is listed.
    let cut = runs[0].img_offset + 10_000;
    assert!(cut > g.cluster_at(2));
    std::fs::OpenOptions::new().write(true).open(&image).unwrap().set_len(cut).unwrap();
    let items = mh(&image);
    let (_, bytes) = find(&items, "/contiguous.bin");
    assert!(bytes.as_ref().unwrap().is_err(), "a read past the end fails");
    assert!(find(&items, "/sub/inside.txt").1.as_ref().unwrap().is_ok());
}

/// `mh scan` of an exFAT image in a GPT partition end to end: records byte-identical for 1
/// and 2 threads, counts add up, the picture is hashed with the PDQ of the same picture in
/// a folder, deleted files are reported deleted with their hashes.
#[cfg(feature = "cli")]
#[test]
#[cfg_attr(not(mediahash_exfat_tools), ignore = "needs exfatprogs exfat-fuse sleuthkit, root")]
fn mh_scan_reads_an_exfat_image() {
    let evidence = tempfile::tempdir().unwrap();
    let folder = tempfile::tempdir().unwrap();
    let reports = tempfile::tempdir().unwrap();
    let (image, _) = build(evidence.path(), Table::Gpt);
    std::fs::write(folder.path().join("same.png"), picture()).unwrap();
    let scan = |root: &Path, name: &str, threads: &str| -> Vec<serde_json::Value> {
        let report = reports.path().join(name);
        let out = Command::new(env!("CARGO_BIN_EXE_mh"))
            .args(["scan", "--threads", threads, "--report"])
            .arg(&report)
            .arg(root)
            .output()
            .unwrap();
        // 2: the deleted file whose clusters were reused is an error record (checked below).
        let expected = if root.is_file() { 2 } else { 0 };
        assert_eq!(out.status.code(), Some(expected), "{}", String::from_utf8_lossy(&out.stderr));
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
    let photo = by_suffix("/p1/Pictures/2023/Summer/holiday photo.png");
    assert_eq!(photo["location"]["fs_type"], "exfat");
    assert_eq!(photo["location"]["scheme"], "gpt");
    let plain = scan(folder.path(), "folder.jsonl", "1");
    let same = plain.iter().find(|l| l["path"].as_str().is_some_and(|p| p.ends_with("same.png")));
    assert!(photo["pdq"].is_string());
    assert_eq!(photo["pdq"], same.unwrap()["pdq"]);
    assert_eq!(photo["sha1"], sha1_hex(&picture()));
    let gone = by_suffix("/p1/Trash/gone.bin");
    assert_eq!(gone["location"]["deleted"], true);
    assert_eq!(gone["sha1"], sha1_hex(&pattern(30_000, 8)));
    let bitmap = by_suffix("/p1/$ALLOC_BITMAP");
    assert_eq!(bitmap["reason_code"], "file-system-metadata");
    // The one error: the deleted file whose clusters were reused.
    assert_eq!(counts["error"].as_u64(), Some(1), "{counts}");
    assert_eq!(by_suffix("/p1/Trash/reused.bin")["reason_code"], "not-recoverable");
}
