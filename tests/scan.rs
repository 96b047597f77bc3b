//! `mediahash::scan` on hostile evidence: every entry reported once with the right
//! disposition, counts that add up, evidence times untouched, identical reports for 1 and 4
//! threads, and the report formats.

#[path = "common/synth.rs"]
mod synth;

use std::collections::BTreeMap;
use std::ffi::{CString, OsStr, OsString};
use std::fs;
use std::io;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{MetadataExt, symlink};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use mediahash::refset::{Disposition, HashKind, HashValue};
use mediahash::report::ReferenceProvenance;
use mediahash::report::jsonl::JsonlWriter;
use mediahash::report::{
    EntryDisposition, EntryKind, EntryRecord, Footer, Header, Match, ReportFormat, ReportWriter,
};
use mediahash::scan::{
    HookPoint, LoadedReference, ReferenceIndex, ScanError, ScanOptions, ensure_outside_evidence,
    scan,
};

// ---------------------------------------------------------------- test reference index

/// A tiny in-memory reference set: exact values and linear perceptual search.
#[derive(Default)]
struct TestIndex {
    exact: Vec<(HashValue, Match)>,
    pdq: Vec<([u8; 32], Match)>,
    phash: Vec<(u64, Match)>,
}

fn test_match(
    set: &str,
    disposition: Disposition,
    hash: HashKind,
    category: Option<&str>,
) -> Match {
    Match {
        reference: 0,
        set: set.to_string(),
        disposition,
        hash,
        distance: None,
        transform: None,
        category: category.map(String::from),
        profile: category.map(|_| "Default".to_string()),
        victim_identified: category.map(|_| false),
        offender_identified: None,
        series: None,
        source_id: None,
        note: None,
    }
}

impl ReferenceIndex for TestIndex {
    fn lookup(&self, value: &HashValue) -> Result<Vec<Match>, String> {
        Ok(self.exact.iter().filter(|(v, _)| v == value).map(|(_, m)| m.clone()).collect())
    }
    /// Like `RefSet`: one result per stored hash, with its nearest needle.
    fn search_pdq(
        &self,
        needles: &[[u8; 32]],
        radius: u32,
        limit: usize,
    ) -> Result<Vec<(usize, Match)>, String> {
        let mut out = Vec::new();
        for (h, m) in &self.pdq {
            let best = needles
                .iter()
                .enumerate()
                .map(|(n, needle)| {
                    (h.iter().zip(needle).map(|(a, b)| (a ^ b).count_ones()).sum::<u32>(), n)
                })
                .min()
                .unwrap();
            if best.0 <= radius {
                out.push((best.1, Match { distance: Some(best.0), ..m.clone() }));
            }
        }
        out.truncate(limit);
        Ok(out)
    }
    fn search_64(
        &self,
        kind: HashKind,
        value: u64,
        radius: u32,
        limit: usize,
    ) -> Result<Vec<Match>, String> {
        assert_eq!(kind, HashKind::PHash);
        let mut out: Vec<Match> = self
            .phash
            .iter()
            .filter_map(|(h, m)| {
                let d = (h ^ value).count_ones();
                (d <= radius).then(|| Match { distance: Some(d), ..m.clone() })
            })
            .collect();
        out.truncate(limit);
        Ok(out)
    }
}

fn loaded(index: TestIndex, name: &str) -> LoadedReference {
    LoadedReference {
        provenance: ReferenceProvenance {
            path: name.to_string(),
            sha256: "00".repeat(32),
            kind: "test".to_string(),
            disposition: None,
            sources: Vec::new(),
        },
        index: Box::new(index),
    }
}

fn md5_of(bytes: &[u8]) -> [u8; 16] {
    mediahash::digest::digest_bytes(bytes, Default::default()).md5
}

// ---------------------------------------------------------------- helpers

/// A report captured in memory.
#[derive(Default)]
struct Captured {
    header: Option<Header>,
    entries: Vec<EntryRecord>,
    footer: Option<Footer>,
}

impl ReportWriter for Captured {
    fn header(&mut self, header: &Header) -> io::Result<()> {
        self.header = Some(header.clone());
        Ok(())
    }
    fn entry(&mut self, entry: &EntryRecord) -> io::Result<()> {
        self.entries.push(entry.clone());
        Ok(())
    }
    fn footer(&mut self, footer: &Footer) -> io::Result<()> {
        self.footer = Some(footer.clone());
        Ok(())
    }
}

impl Captured {
    fn by_path(&self) -> BTreeMap<Vec<u8>, &EntryRecord> {
        let mut map = BTreeMap::new();
        for e in &self.entries {
            assert!(map.insert(e.path_bytes(), e).is_none(), "{} reported twice", e.path);
        }
        map
    }

    fn get(&self, path: &Path) -> &EntryRecord {
        let bytes = path.as_os_str().as_bytes();
        self.entries
            .iter()
            .find(|e| e.path_bytes() == bytes)
            .unwrap_or_else(|| panic!("{} missing from the report", path.display()))
    }

    fn footer(&self) -> &Footer {
        self.footer.as_ref().expect("footer written")
    }
}

fn run(roots: &[PathBuf], refs: &[LoadedReference], options: &ScanOptions) -> Captured {
    let mut captured = Captured::default();
    scan(roots, refs, options, &mut captured).expect("scan runs");
    captured
}

fn jsonl_entries(roots: &[PathBuf], refs: &[LoadedReference], options: &ScanOptions) -> String {
    let mut w = JsonlWriter::new(Vec::new());
    scan(roots, refs, options, &mut w).expect("scan runs");
    let text = String::from_utf8(w.into_inner()).unwrap();
    text.lines().filter(|l| l.starts_with(r#"{"record":"entry""#)).collect::<Vec<_>>().join("\n")
}

fn png_bytes(img: &synth::SynthImage) -> Vec<u8> {
    use image::ImageEncoder;
    let mut out = Vec::new();
    let color = if img.channels == 1 {
        image::ExtendedColorType::L8
    } else {
        image::ExtendedColorType::Rgb8
    };
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(&img.pixels, img.width, img.height, color)
        .unwrap();
    out
}

fn synth_named(prefix: &str) -> synth::SynthImage {
    synth::all().into_iter().find(|i| i.name.starts_with(prefix)).unwrap()
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc = crc32fast::Hasher::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(&crc.finalize().to_be_bytes());
}

/// A PNG that claims 60000 x 60000 RGB pixels (10.8 GB decoded) in a few hundred bytes.
fn bomb_png() -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&60_000u32.to_be_bytes());
    ihdr.extend_from_slice(&60_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    png_chunk(&mut out, b"IHDR", &ihdr);
    // A stored (uncompressed) zlib stream of a few zero bytes: a valid start of the data.
    let zeros = [0u8; 64];
    let mut idat = vec![0x78, 0x01, 0x01];
    idat.extend_from_slice(&(zeros.len() as u16).to_le_bytes());
    idat.extend_from_slice(&(!(zeros.len() as u16)).to_le_bytes());
    idat.extend_from_slice(&zeros);
    png_chunk(&mut out, b"IDAT", &idat);
    png_chunk(&mut out, b"IEND", &[]);
    out
}

fn jpeg_fixture() -> Vec<u8> {
    fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/jpeg/shapes-q85-420.jpg"))
        .expect("committed JPEG fixture")
}

/// Sets atime to 2001 and mtime to 2002 (atime older than mtime, so a relatime mount would
/// update atime on any read) without following symbolic links.
fn age_times(path: &Path) {
    let c = CString::new(path.as_os_str().as_bytes()).unwrap();
    let times = [
        libc::timespec { tv_sec: 981_173_106, tv_nsec: 0 },
        libc::timespec { tv_sec: 1_012_709_106, tv_nsec: 0 },
    ];
    // SAFETY: c is a valid C string; times points to two timespecs.
    let rc = unsafe {
        libc::utimensat(libc::AT_FDCWD, c.as_ptr(), times.as_ptr(), libc::AT_SYMLINK_NOFOLLOW)
    };
    assert_eq!(rc, 0, "utimensat {}: {}", path.display(), io::Error::last_os_error());
}

/// Every path under `root` (root included), listed independently of the scanner.
fn all_paths(root: &Path) -> Vec<PathBuf> {
    let mut out = vec![root.to_path_buf()];
    let mut i = 0;
    while i < out.len() {
        let p = out[i].clone();
        i += 1;
        let meta = fs::symlink_metadata(&p).unwrap();
        if meta.is_dir()
            && let Ok(rd) = fs::read_dir(&p)
        {
            for e in rd {
                out.push(e.unwrap().path());
            }
        }
    }
    out
}

/// (atime, mtime) of every path, nanosecond precision, without following links.
fn times(paths: &[PathBuf]) -> BTreeMap<PathBuf, (i64, i64, i64, i64)> {
    paths
        .iter()
        .map(|p| {
            let m = fs::symlink_metadata(p).unwrap();
            (p.clone(), (m.atime(), m.atime_nsec(), m.mtime(), m.mtime_nsec()))
        })
        .collect()
}

fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

fn permission_denied_hook(dir: PathBuf) -> ScanOptions {
    let mut options = ScanOptions::default();
    options.hooks.fail = Some(Arc::new(move |point, path| {
        (point == HookPoint::ListDir && path == dir)
            .then(|| io::Error::from_raw_os_error(libc::EACCES))
    }));
    options
}

// ---------------------------------------------------------------- the hostile tree

struct Hostile {
    _dir: tempfile::TempDir,
    root: PathBuf,
    refs: Vec<LoadedReference>,
    locked: PathBuf,
}

const ALERT_BYTES: &[u8] = b"pretend this is known illegal material\n";
const IGNORE_BYTES: &[u8] = b"pretend this is a known operating-system file\n";

fn hostile_tree() -> Hostile {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("evidence");
    fs::create_dir(&root).unwrap();
    let w = |rel: &str, bytes: &[u8]| fs::write(root.join(rel), bytes).unwrap();

    let png = png_bytes(&synth_named("shapes-640x480"));
    let jpeg = jpeg_fixture();
    fs::create_dir(root.join("photos")).unwrap();
    w("photos/picture.png", &png);
    w("photos/truncated.jpg", &jpeg[..jpeg.len() / 2]);
    w("photos/renamed.txt", &png_bytes(&synth_named("text-320x240")));
    w("photos/bomb.png", &bomb_png());
    w("empty", b"");
    w("notes.txt", b"shopping list\n");
    w("alert.bin", ALERT_BYTES);
    w("ignore.bin", IGNORE_BYTES);
    w("both.bin", b"in an alert set and in an ignore set\n");
    let name = OsString::from_vec(b"caf\xe9-latin1.txt".to_vec());
    fs::write(root.join(&name), b"latin-1 name").unwrap();
    let fifo = CString::new(root.join("pipe").as_os_str().as_bytes()).unwrap();
    // SAFETY: fifo is a valid C string.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
    symlink("does-not-exist", root.join("dangling")).unwrap();
    symlink("loop-b", root.join("loop-a")).unwrap();
    symlink("loop-a", root.join("loop-b")).unwrap();
    symlink("..", root.join("photos/up")).unwrap();
    let locked = root.join("locked");
    fs::create_dir(&locked).unwrap();
    fs::write(locked.join("secret.txt"), b"never listed").unwrap();
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();

    let mut alert = TestIndex::default();
    alert.exact.push((
        HashValue::Md5(md5_of(ALERT_BYTES)),
        test_match("vics-demo", Disposition::Alert, HashKind::Md5, Some("1")),
    ));
    alert.exact.push((
        HashValue::Md5(md5_of(b"in an alert set and in an ignore set\n")),
        test_match("vics-demo", Disposition::Alert, HashKind::Md5, Some("2")),
    ));
    let mut ignore = TestIndex::default();
    for bytes in [IGNORE_BYTES, b"in an alert set and in an ignore set\n".as_slice()] {
        ignore.exact.push((
            HashValue::Md5(md5_of(bytes)),
            test_match("nsrl-demo", Disposition::Ignore, HashKind::Md5, None),
        ));
    }
    Hostile {
        _dir: dir,
        root,
        refs: vec![loaded(alert, "alert"), loaded(ignore, "ignore")],
        locked,
    }
}

use std::os::unix::fs::PermissionsExt;

fn hostile_options(h: &Hostile) -> ScanOptions {
    // As root, chmod 000 does not stop us: simulate the refusal.
    if euid() == 0 { permission_denied_hook(h.locked.clone()) } else { ScanOptions::default() }
}

#[test]
fn hostile_tree_every_entry_once_with_the_right_disposition() {
    let h = hostile_tree();
    let paths = all_paths(&h.root);
    for p in &paths {
        age_times(p);
    }
    let before = times(&paths);

    let mut options = hostile_options(&h);
    options.threads = 2;
    let report = run(std::slice::from_ref(&h.root), &h.refs, &options);

    // Every directory entry exactly once (the locked directory's content is never listed).
    let reported = report.by_path();
    let expected: Vec<&PathBuf> =
        paths.iter().filter(|p| !p.starts_with(&h.locked) || **p == h.locked).collect();
    assert_eq!(
        reported.len(),
        expected.len(),
        "{:#?}",
        reported.keys().map(|k| String::from_utf8_lossy(k)).collect::<Vec<_>>()
    );
    for p in &expected {
        assert!(reported.contains_key(p.as_os_str().as_bytes()), "{} not reported", p.display());
    }

    let d = |rel: &str| report.get(&h.root.join(rel)).disposition();
    let r = |rel: &str| report.get(&h.root.join(rel)).reason.clone().unwrap_or_default();
    assert_eq!(report.get(&h.root).disposition(), EntryDisposition::Directory);
    assert_eq!(d("photos"), EntryDisposition::Directory);
    assert_eq!(d("alert.bin"), EntryDisposition::Alert);
    assert_eq!(d("ignore.bin"), EntryDisposition::Ignore);
    assert_eq!(d("both.bin"), EntryDisposition::Alert, "alert wins over ignore");
    let both = report.get(&h.root.join("both.bin"));
    assert_eq!(both.matches.len(), 2);
    assert_eq!(both.matches[0].disposition, Disposition::Alert, "alerts sort first");
    assert_eq!(both.matches[0].category.as_deref(), Some("2"));
    assert_eq!(both.matches[0].hash, HashKind::Md5);
    assert_eq!(d("notes.txt"), EntryDisposition::Other);
    assert_eq!(d("empty"), EntryDisposition::Other);
    assert_eq!(
        report.get(&h.root.join("empty")).md5.as_deref(),
        Some("d41d8cd98f00b204e9800998ecf8427e")
    );
    assert_eq!(d("pipe"), EntryDisposition::Skipped);
    assert!(r("pipe").contains("FIFO"), "{}", r("pipe"));
    assert_eq!(report.get(&h.root.join("pipe")).kind(), EntryKind::Fifo);
    assert_eq!(d("dangling"), EntryDisposition::Skipped);
    // On this writable relatime mount the link target is not read (it would touch atime).
    let dangling = report.get(&h.root.join("dangling"));
    assert!(
        dangling.link_target.is_none()
            && dangling.reason.as_deref().unwrap().contains("access time")
    );
    assert_eq!(d("loop-a"), EntryDisposition::Skipped);
    assert!(r("loop-a").contains("not followed"), "{}", r("loop-a"));
    assert_eq!(d("photos/up"), EntryDisposition::Skipped);
    assert_eq!(d("locked"), EntryDisposition::Error);
    assert!(
        r("locked").contains("cannot read directory") && r("locked").contains("ermission denied"),
        "{}",
        r("locked")
    );

    // Images (content-sniffed, never by extension).
    let picture = report.get(&h.root.join("photos/picture.png"));
    assert_eq!(picture.disposition(), EntryDisposition::UnknownImage, "{picture:?}");
    assert_eq!(picture.image_format.as_deref(), Some("png"));
    assert_eq!((picture.width, picture.height), (Some(640), Some(480)));
    assert_eq!(picture.pdq.as_ref().map(String::len), Some(64));
    assert!(picture.pdq_quality.is_some());
    assert_eq!(picture.phash.as_ref().map(String::len), Some(16));
    let renamed = report.get(&h.root.join("photos/renamed.txt"));
    assert_eq!(renamed.disposition(), EntryDisposition::UnknownImage, "{renamed:?}");
    assert_eq!(renamed.image_format.as_deref(), Some("png"));
    let bomb = report.get(&h.root.join("photos/bomb.png"));
    assert_eq!(bomb.disposition(), EntryDisposition::Error, "{bomb:?}");
    assert!(bomb.md5.is_some(), "digests are still computed");
    assert!(bomb.image_error.is_some());
    assert!(bomb.reason.as_deref().unwrap().starts_with("image not decoded"), "{bomb:?}");
    assert_eq!(bomb.image_format.as_deref(), Some("png"), "format sniffed even when refused");
    let truncated = report.get(&h.root.join("photos/truncated.jpg"));
    assert!(truncated.md5.is_some());
    assert_eq!(truncated.image_format.as_deref(), Some("jpeg"));
    assert_eq!(truncated.disposition(), EntryDisposition::Error, "{truncated:?}");
    assert!(truncated.reason.as_deref().unwrap().contains("truncated"), "{truncated:?}");

    // The non-UTF-8 name: lossy text plus exact bytes.
    let latin = report.get(&h.root.join(OsStr::from_bytes(b"caf\xe9-latin1.txt")));
    assert!(latin.path.ends_with("caf\u{fffd}-latin1.txt"));
    assert!(latin.path_bytes_hex.as_deref().unwrap().ends_with("636166e92d6c6174696e312e747874"));
    assert_eq!(latin.disposition(), EntryDisposition::Other);

    // Sorted by path, component by component.
    let order: Vec<PathBuf> =
        report.entries.iter().map(|e| PathBuf::from(OsString::from_vec(e.path_bytes()))).collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted);

    // Counts add up and match the records.
    let footer = report.footer();
    assert!(footer.completed);
    assert!(footer.counts.is_consistent());
    assert_eq!(footer.counts.entries, report.entries.len() as u64);
    for disposition in EntryDisposition::ALL {
        let n = report.entries.iter().filter(|e| e.disposition() == disposition).count() as u64;
        assert_eq!(footer.counts.get(disposition), n, "{disposition}");
    }
    assert_eq!(footer.counts.alert, 2);
    assert_eq!(footer.exit_status, 2, "errors occurred");
    let read: u64 = report.entries.iter().filter_map(|e| e.bytes_read).sum();
    assert_eq!(footer.bytes_read, read);

    // The evidence's access and modification times are unchanged.
    assert_eq!(times(&paths), before);
    fs::set_permissions(&h.locked, fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn reports_identical_for_one_and_four_threads() {
    let h = hostile_tree();
    let mut one = hostile_options(&h);
    one.threads = 1;
    let mut four = hostile_options(&h);
    four.threads = 4;
    four.window = 3; // force reordering through a tiny window
    let a = jsonl_entries(std::slice::from_ref(&h.root), &h.refs, &one);
    let b = jsonl_entries(std::slice::from_ref(&h.root), &h.refs, &four);
    assert!(a.lines().count() > 15);
    assert_eq!(a, b);
    fs::set_permissions(&h.locked, fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn deep_tree_of_1000_levels() {
    let dir = tempfile::tempdir().unwrap();
    let mut p = dir.path().join("deep");
    let root = p.clone();
    for _ in 0..1000 {
        p.push("d");
    }
    fs::create_dir_all(&p).unwrap();
    fs::write(p.join("bottom.txt"), b"deep").unwrap();
    let report =
        run(std::slice::from_ref(&root), &[], &ScanOptions { threads: 2, ..Default::default() });
    assert_eq!(report.entries.len(), 1002);
    assert_eq!(report.get(&p.join("bottom.txt")).disposition(), EntryDisposition::Other);
    assert_eq!(report.footer().counts.directory, 1001);
    assert_eq!(report.footer().exit_status, 0);
}

#[test]
fn file_that_grows_while_read_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("ev");
    fs::create_dir(&root).unwrap();
    let growing = root.join("growing.log");
    fs::write(&growing, vec![b'x'; 100_000]).unwrap();
    fs::write(root.join("steady.log"), b"steady").unwrap();
    let mut options = ScanOptions::default();
    let target = growing.clone();
    options.hooks.after_open = Some(Arc::new(move |path: &Path| {
        if path == target {
            use std::io::Write;
            let mut f = fs::OpenOptions::new().append(true).open(path).unwrap();
            f.write_all(&[b'y'; 5000]).unwrap();
        }
    }));
    let report = run(std::slice::from_ref(&root), &[], &options);
    let e = report.get(&growing);
    assert_eq!(e.disposition(), EntryDisposition::Error);
    let reason = e.reason.as_deref().unwrap();
    assert!(reason.contains("changed while being read"), "{reason}");
    assert!(reason.contains("100000 bytes when listed"), "{reason}");
    assert_eq!(e.bytes_read, Some(105_000));
    assert_eq!(report.get(&root.join("steady.log")).disposition(), EntryDisposition::Other);
    assert_eq!(report.footer().exit_status, 2);
}

#[test]
fn read_error_is_reported_with_its_offset() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("ev");
    fs::create_dir(&root).unwrap();
    let bad = root.join("bad-sector.bin");
    fs::write(&bad, vec![7u8; 3 * 256 * 1024]).unwrap();
    let mut options = ScanOptions::default();
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let target = bad.clone();
    options.hooks.fail = Some(Arc::new(move |point, path| {
        (point == HookPoint::Read && path == target && calls.fetch_add(1, Ordering::SeqCst) == 1)
            .then(|| io::Error::from_raw_os_error(libc::EIO))
    }));
    let report = run(std::slice::from_ref(&root), &[], &options);
    let e = report.get(&bad);
    assert_eq!(e.disposition(), EntryDisposition::Error);
    let reason = e.reason.as_deref().unwrap();
    assert!(reason.contains("read error at offset 262144"), "{reason}");
    assert!(reason.contains("Input/output error"), "{reason}");
    assert!(e.md5.is_none(), "no digests of a partial read");
    assert_eq!(report.footer().exit_status, 2);
}

#[test]
fn follow_symlinks_detects_loops_and_dangling_links() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("ev");
    fs::create_dir_all(root.join("a/b")).unwrap();
    fs::write(root.join("a/b/file.txt"), b"hello").unwrap();
    symlink("../..", root.join("a/b/up")).unwrap(); // to root: an ancestor
    symlink("b/file.txt", root.join("a/link.txt")).unwrap();
    symlink("nowhere", root.join("a/dangling")).unwrap();
    symlink("self", root.join("self")).unwrap();
    let options = ScanOptions { follow_symlinks: true, ..Default::default() };
    let report = run(std::slice::from_ref(&root), &[], &options);
    let up = report.get(&root.join("a/b/up"));
    assert_eq!(up.disposition(), EntryDisposition::Skipped);
    assert!(up.reason.as_deref().unwrap().contains("directory loop"), "{up:?}");
    let link = report.get(&root.join("a/link.txt"));
    assert_eq!(link.kind(), EntryKind::Symlink);
    assert_eq!(link.disposition(), EntryDisposition::Other);
    assert_eq!(link.md5.as_deref(), Some("5d41402abc4b2a76b9719d911017c592"));
    assert!(report.get(&root.join("a/dangling")).reason.as_deref().unwrap().contains("dangling"));
    assert!(report.get(&root.join("self")).reason.as_deref().unwrap().contains("loop"));
    assert!(report.footer().counts.is_consistent());
}

#[test]
fn link_targets_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("ev");
    fs::create_dir(&root).unwrap();
    symlink(OsStr::from_bytes(b"t\xffrget"), root.join("link")).unwrap();
    let options = ScanOptions { link_targets: true, ..Default::default() };
    let report = run(std::slice::from_ref(&root), &[], &options);
    let link = report.get(&root.join("link"));
    assert_eq!(link.disposition(), EntryDisposition::Skipped);
    assert_eq!(link.link_target.as_deref(), Some("t\u{fffd}rget"));
    assert_eq!(link.link_target_hex.as_deref(), Some("74ff72676574"));
    assert!(report.header.as_ref().unwrap().options.link_targets);
}

#[test]
fn excluded_and_oversized_entries_are_recorded_as_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("ev");
    fs::create_dir_all(root.join("Windows/System32")).unwrap();
    fs::write(root.join("Windows/System32/kernel.dll"), b"mz").unwrap();
    fs::write(root.join("a.tmp"), b"t").unwrap();
    fs::write(root.join("big.bin"), vec![0u8; 2000]).unwrap();
    let options = ScanOptions {
        exclude: vec!["*.tmp".into(), "Windows/**".into()],
        max_file_size: Some(1000),
        ..Default::default()
    };
    let report = run(std::slice::from_ref(&root), &[], &options);
    assert_eq!(report.get(&root.join("Windows")).disposition(), EntryDisposition::Directory);
    let sys = report.get(&root.join("Windows/System32"));
    assert_eq!(sys.disposition(), EntryDisposition::Skipped);
    assert!(sys.reason.as_deref().unwrap().contains("Windows/**"));
    assert!(report.entries.iter().all(|e| !e.path.ends_with("kernel.dll")), "not entered");
    assert_eq!(report.get(&root.join("a.tmp")).disposition(), EntryDisposition::Skipped);
    let big = report.get(&root.join("big.bin"));
    assert_eq!(big.disposition(), EntryDisposition::Skipped);
    assert!(big.reason.as_deref().unwrap().contains("--max-file-size"));
    assert_eq!(report.footer().exit_status, 0);

    let bad = ScanOptions { exclude: vec!["[oops".into()], ..Default::default() };
    let err = scan(std::slice::from_ref(&root), &[], &bad, &mut Captured::default()).unwrap_err();
    assert!(matches!(err, ScanError::Exclude(_)), "{err}");
}

#[test]
fn report_inside_evidence_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("ev");
    fs::create_dir_all(root.join("sub")).unwrap();
    let roots = vec![root.clone()];
    let inside = root.join("sub/../sub/report.jsonl");
    let err = ensure_outside_evidence(&inside, &roots).unwrap_err();
    assert!(matches!(err, ScanError::ReportInsideEvidence { .. }));
    assert!(err.to_string().contains("write the report elsewhere"), "{err}");
    // Through a symbolic link that points into the evidence.
    symlink(&root, dir.path().join("alias")).unwrap();
    assert!(ensure_outside_evidence(&dir.path().join("alias/new/report.csv"), &roots).is_err());
    ensure_outside_evidence(&dir.path().join("report.jsonl"), &roots).unwrap();
    ensure_outside_evidence(&dir.path().join("ev-report.jsonl"), &roots).unwrap();
}

#[test]
fn missing_root_is_a_clear_error() {
    let err = scan(
        &[PathBuf::from("/nonexistent/evidence")],
        &[],
        &ScanOptions::default(),
        &mut Captured::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("/nonexistent/evidence"), "{err}");
    let err = scan(&[], &[], &ScanOptions::default(), &mut Captured::default()).unwrap_err();
    assert!(matches!(err, ScanError::NoRoots));
}

#[test]
fn cancellation_leaves_an_incomplete_sorted_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("ev");
    fs::create_dir(&root).unwrap();
    for i in 0..200 {
        fs::write(root.join(format!("f{i:03}")), format!("file {i}")).unwrap();
    }
    let cancel = Arc::new(AtomicBool::new(false));
    // A small window, so the cancelled head entry blocks a full window.
    let mut options =
        ScanOptions { threads: 2, window: 4, cancel: Some(cancel.clone()), ..Default::default() };
    let opened = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let flag = cancel.clone();
    options.hooks.after_open = Some(Arc::new(move |_: &Path| {
        if opened.fetch_add(1, Ordering::SeqCst) == 50 {
            flag.store(true, Ordering::SeqCst);
        }
    }));
    let report = run(std::slice::from_ref(&root), &[], &options);
    let footer = report.footer();
    assert!(!footer.completed);
    assert!(footer.stopped_reason.is_some());
    assert_eq!(footer.exit_status, 2);
    assert!(footer.counts.is_consistent());
    let n = report.entries.len();
    assert!(n < 201, "stopped early ({n} entries)");
    // A prefix: the root, then f000.. in order, with no gaps.
    assert_eq!(report.entries[0].path_bytes(), root.as_os_str().as_bytes());
    for (i, e) in report.entries[1..].iter().enumerate() {
        assert_eq!(e.path_bytes(), root.join(format!("f{i:03}")).as_os_str().as_bytes());
        assert_eq!(e.disposition(), EntryDisposition::Other);
    }
}

/// A report destination that fails after a number of entries (a full disk).
struct FailingWriter {
    entries_left: usize,
}

impl ReportWriter for FailingWriter {
    fn header(&mut self, _: &Header) -> io::Result<()> {
        Ok(())
    }
    fn entry(&mut self, _: &EntryRecord) -> io::Result<()> {
        if self.entries_left == 0 {
            return Err(io::Error::from_raw_os_error(libc::ENOSPC));
        }
        self.entries_left -= 1;
        Ok(())
    }
    fn footer(&mut self, _: &Footer) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn report_write_failure_stops_the_scan_with_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("ev");
    fs::create_dir(&root).unwrap();
    for i in 0..50 {
        fs::write(root.join(format!("f{i:02}")), [i as u8; 10]).unwrap();
    }
    let options = ScanOptions { threads: 2, window: 4, ..Default::default() };
    let err =
        scan(std::slice::from_ref(&root), &[], &options, &mut FailingWriter { entries_left: 10 })
            .unwrap_err();
    assert!(matches!(err, ScanError::Report { .. }), "{err}");
    assert!(err.to_string().contains("No space left"), "{err}");
}

#[test]
fn perceptual_matching_respects_radius_and_quality() {
    // Learn the image's hashes from a first scan, then match against sets built from them.
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("ev");
    fs::create_dir(&root).unwrap();
    fs::write(root.join("shapes.png"), png_bytes(&synth_named("shapes-640x480"))).unwrap();
    // A flat image: PDQ quality 0.
    let flat = synth::SynthImage {
        name: "flat".into(),
        width: 64,
        height: 64,
        channels: 1,
        pixels: vec![128; 64 * 64],
    };
    fs::write(root.join("flat.png"), png_bytes(&flat)).unwrap();
    let first = run(std::slice::from_ref(&root), &[], &ScanOptions::default());
    let shapes = first.get(&root.join("shapes.png"));
    let flat_rec = first.get(&root.join("flat.png"));
    assert!(shapes.pdq_quality.unwrap() >= 50);
    assert!(flat_rec.pdq_quality.unwrap() < 50, "{flat_rec:?}");
    let pdq_of =
        |e: &EntryRecord| mediahash::hex::decode_fixed::<32>(e.pdq.as_deref().unwrap()).unwrap();

    let mut near = pdq_of(shapes);
    for bit in 0..20 {
        near[bit / 8] ^= 1 << (bit % 8);
    }
    let mut index = TestIndex::default();
    index.pdq.push((near, test_match("pdq-list", Disposition::Alert, HashKind::Pdq, None)));
    index
        .pdq
        .push((pdq_of(flat_rec), test_match("pdq-list", Disposition::Alert, HashKind::Pdq, None)));
    let refs = vec![loaded(index, "pdq")];
    let report = run(std::slice::from_ref(&root), &refs, &ScanOptions::default());
    let m = report.get(&root.join("shapes.png"));
    assert_eq!(m.disposition(), EntryDisposition::Alert);
    assert_eq!(m.matches[0].distance, Some(20));
    assert_eq!(m.matches[0].hash, HashKind::Pdq);
    assert_eq!(
        report.get(&root.join("flat.png")).disposition(),
        EntryDisposition::UnknownImage,
        "quality < 50 never matches"
    );

    // pHash: a set holding the image's pHash with 5 bits flipped matches at distance 5.
    let phash = u64::from_str_radix(shapes.phash.as_deref().unwrap(), 16).unwrap();
    let mut index = TestIndex::default();
    index.phash.push((
        phash ^ 0b11111,
        test_match("phash-list", Disposition::Ignore, HashKind::PHash, None),
    ));
    let by_phash =
        run(std::slice::from_ref(&root), &[loaded(index, "phash")], &ScanOptions::default());
    let m = by_phash.get(&root.join("shapes.png"));
    assert_eq!(m.disposition(), EntryDisposition::Ignore);
    assert_eq!((m.matches[0].hash, m.matches[0].distance), (HashKind::PHash, Some(5)));
    let narrow = ScanOptions { phash_radius: 4, ..Default::default() };
    let mut index = TestIndex::default();
    index.phash.push((
        phash ^ 0b11111,
        test_match("phash-list", Disposition::Ignore, HashKind::PHash, None),
    ));
    let by_phash = run(std::slice::from_ref(&root), &[loaded(index, "phash")], &narrow);
    assert!(by_phash.get(&root.join("shapes.png")).matches.is_empty());

    let tight = ScanOptions { pdq_radius: 19, ..Default::default() };
    let report = run(std::slice::from_ref(&root), &refs, &tight);
    assert_eq!(report.get(&root.join("shapes.png")).disposition(), EntryDisposition::UnknownImage);
}

#[test]
fn mirrored_copy_matches_only_with_dihedral() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("ev");
    fs::create_dir(&root).unwrap();
    let img = synth_named("shapes-640x480");
    let mut mirrored = img.pixels.clone();
    let w = img.width as usize;
    for row in mirrored.chunks_exact_mut(w * 3) {
        let copy = row.to_vec();
        for x in 0..w {
            row[x * 3..x * 3 + 3].copy_from_slice(&copy[(w - 1 - x) * 3..(w - x) * 3]);
        }
    }
    let mirrored = synth::SynthImage { name: "m".into(), pixels: mirrored, ..img };
    fs::write(root.join("mirrored.png"), png_bytes(&mirrored)).unwrap();
    let original = tempfile::tempdir().unwrap();
    fs::write(original.path().join("o.png"), png_bytes(&synth_named("shapes-640x480"))).unwrap();
    let first = run(&[original.path().to_path_buf()], &[], &ScanOptions::default());
    let pdq = mediahash::hex::decode_fixed::<32>(first.entries[1].pdq.as_deref().unwrap()).unwrap();
    let mut index = TestIndex::default();
    index.pdq.push((pdq, test_match("pdq-list", Disposition::Alert, HashKind::Pdq, None)));
    let refs = vec![loaded(index, "pdq")];
    let plain = run(std::slice::from_ref(&root), &refs, &ScanOptions::default());
    assert_ne!(plain.get(&root.join("mirrored.png")).disposition(), EntryDisposition::Alert);
    let dihedral = run(
        std::slice::from_ref(&root),
        &refs,
        &ScanOptions { dihedral: true, ..Default::default() },
    );
    let e = dihedral.get(&root.join("mirrored.png"));
    assert_eq!(e.disposition(), EntryDisposition::Alert, "{e:?}");
    // PDQ's name for the left-to-right mirror.
    assert_eq!(e.matches[0].transform.as_deref(), Some("flipy"));
    assert_eq!(e.pdq_dihedral.as_ref().map(Vec::len), Some(8));
}

#[test]
fn cluster_groups_near_duplicate_unknown_images() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("ev");
    fs::create_dir(&root).unwrap();
    let shapes = synth_named("shapes-640x480");
    fs::write(root.join("a-shapes.png"), png_bytes(&shapes)).unwrap();
    // Same picture with a little noise: near duplicate.
    let mut noisy = shapes.pixels.clone();
    for (i, p) in noisy.iter_mut().enumerate() {
        if i % 97 == 0 {
            *p = p.wrapping_add(9);
        }
    }
    fs::write(
        root.join("b-shapes-noisy.png"),
        png_bytes(&synth::SynthImage { pixels: noisy, name: "n".into(), ..shapes }),
    )
    .unwrap();
    fs::write(root.join("c-text.png"), png_bytes(&synth_named("text-800x600"))).unwrap();
    fs::write(root.join("d-notes.txt"), b"not an image").unwrap();
    let options = ScanOptions {
        cluster: true,
        spool_dir: Some(dir.path().to_path_buf()),
        ..Default::default()
    };
    let report = run(std::slice::from_ref(&root), &[], &options);
    assert_eq!(report.get(&root.join("a-shapes.png")).cluster, Some(1));
    assert_eq!(report.get(&root.join("b-shapes-noisy.png")).cluster, Some(1));
    assert_eq!(report.get(&root.join("c-text.png")).cluster, None);
    assert_eq!(report.get(&root.join("d-notes.txt")).cluster, None);
    assert_eq!(report.footer().clusters, Some(1));
    assert_eq!(report.footer().clustered_images, Some(2));
    let spool_inside =
        ScanOptions { cluster: true, spool_dir: Some(root.clone()), ..Default::default() };
    let err = scan(std::slice::from_ref(&root), &[], &spool_inside, &mut Captured::default())
        .unwrap_err();
    assert!(matches!(err, ScanError::ReportInsideEvidence { .. }), "{err}");
}

// ---------------------------------------------------------------- formats

fn report_bytes(format: ReportFormat, h: &Hostile) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut w = format.writer(&mut out);
        let options =
            ScanOptions { command_line: vec!["mh".into(), "scan".into()], ..hostile_options(h) };
        scan(std::slice::from_ref(&h.root), &h.refs, &options, &mut w).unwrap();
    }
    out
}

#[test]
fn jsonl_and_csv_have_one_record_per_entry() {
    let h = hostile_tree();
    let jsonl = String::from_utf8(report_bytes(ReportFormat::Jsonl, &h)).unwrap();
    let lines: Vec<serde_json::Value> =
        jsonl.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.first().unwrap()["record"], "header");
    assert_eq!(lines.first().unwrap()["version"], mediahash::VERSION);
    assert_eq!(lines.last().unwrap()["record"], "footer");
    let entries = lines.len() - 2;
    assert_eq!(lines.last().unwrap()["counts"]["entries"], entries as u64);

    let csv = report_bytes(ReportFormat::Csv, &h);
    let mut reader = csv::Reader::from_reader(&csv[..]);
    assert_eq!(reader.headers().unwrap().len(), mediahash::report::csv::COLUMNS.len());
    assert_eq!(reader.records().count(), entries);
    fs::set_permissions(&h.locked, fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn dfxml_is_well_formed_with_schema_order() {
    let h = hostile_tree();
    let xml = String::from_utf8(report_bytes(ReportFormat::Dfxml, &h)).unwrap();
    fs::set_permissions(&h.locked, fs::Permissions::from_mode(0o755)).unwrap();
    check_xml_well_formed(&xml);
    let fileobjects = xml.matches("<fileobject>").count();
    let jsonl = String::from_utf8(report_bytes(ReportFormat::Jsonl, &h)).unwrap();
    assert_eq!(fileobjects, jsonl.lines().count() - 2);
    // Child order inside each fileobject follows the DFXML schema sequence.
    const ORDER: [&str; 15] = [
        "filename",
        "error",
        "name_type",
        "filesize",
        "inode",
        "mode",
        "nlink",
        "uid",
        "gid",
        "mtime",
        "ctime",
        "atime",
        "link_target",
        "hashdigest",
        "mh:",
    ];
    for object in xml.split("<fileobject>").skip(1) {
        let body = &object[..object.find("</fileobject>").unwrap()];
        let mut last = 0;
        for line in body.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let name = &line[1..];
            let rank = ORDER
                .iter()
                .position(|o| name.starts_with(o))
                .unwrap_or_else(|| panic!("unexpected {line}"));
            assert!(rank >= last, "{line} out of schema order in {body}");
            last = rank;
        }
    }
    assert!(xml.contains(r#"<hashdigest type="MD5">"#));
    assert!(xml.contains("<error>cannot read directory"));
    assert!(xml.contains("<mh:disposition>alert</mh:disposition>"));
    assert!(xml.contains("<mh:pdq quality="));
    assert!(xml.contains("<mh:path_bytes_hex>"));
}

/// Minimal XML well-formedness check: balanced tags, quoted attributes, no raw `&` or `<`
/// in text, no control characters. (The DFXML schema itself is not available offline.)
fn check_xml_well_formed(xml: &str) {
    assert!(xml.starts_with(r#"<?xml version="1.0" encoding="UTF-8"?>"#));
    for c in xml.chars() {
        assert!(!(c < ' ' && c != '\n' && c != '\t'), "control character {:?}", c);
    }
    let mut stack: Vec<&str> = Vec::new();
    let mut rest = &xml[xml.find("?>").unwrap() + 2..];
    while let Some(start) = rest.find('<') {
        let text = &rest[..start];
        assert!(!text.contains('>'), "raw > in {text:?}");
        for (i, _) in text.match_indices('&') {
            let entity = &text[i..text[i..].find(';').map(|j| i + j + 1).expect("entity end")];
            assert!(["&amp;", "&lt;", "&gt;", "&quot;", "&#13;"].contains(&entity), "{entity}");
        }
        let end = rest[start..].find('>').expect("tag end") + start;
        let tag = &rest[start + 1..end];
        assert!(tag.matches('"').count().is_multiple_of(2), "unbalanced quotes in <{tag}>");
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop(), Some(name), "mismatched </{name}>");
        } else if !tag.ends_with('/') {
            stack.push(tag.split_whitespace().next().unwrap());
        }
        rest = &rest[end + 1..];
    }
    assert!(stack.is_empty(), "unclosed {stack:?}");
    assert!(rest.trim().is_empty());
}

#[test]
fn case_report_is_json_ld_with_deterministic_ids() {
    let h = hostile_tree();
    let a = report_bytes(ReportFormat::Case, &h);
    let doc: serde_json::Value = serde_json::from_slice(&a).unwrap();
    let graph = doc["@graph"].as_array().unwrap();
    let files: Vec<&serde_json::Value> =
        graph.iter().filter(|n| n["@type"] == "uco-observable:File").collect();
    let entries =
        String::from_utf8(report_bytes(ReportFormat::Jsonl, &h)).unwrap().lines().count() - 2;
    assert_eq!(files.len(), entries + h.refs.len());
    let ids: Vec<&str> = graph.iter().map(|n| n["@id"].as_str().unwrap()).collect();
    let unique: std::collections::HashSet<&&str> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "ids are unique");
    // Same evidence, same ids (the action node carries the start time; the rest is stable).
    let b = report_bytes(ReportFormat::Case, &h);
    let doc_b: serde_json::Value = serde_json::from_slice(&b).unwrap();
    let ids_b: Vec<&str> =
        doc_b["@graph"].as_array().unwrap().iter().map(|n| n["@id"].as_str().unwrap()).collect();
    assert_eq!(ids[..ids.len() - 1], ids_b[..ids_b.len() - 1]);
    fs::set_permissions(&h.locked, fs::Permissions::from_mode(0o755)).unwrap();

    match std::env::var_os("MEDIAHASH_CASE_VALIDATE") {
        None => {
            eprintln!("skipping case_validate: set MEDIAHASH_CASE_VALIDATE to its path to run it")
        }
        Some(exe) => {
            let dir = tempfile::tempdir().unwrap();
            let file = dir.path().join("report.jsonld");
            fs::write(&file, &a).unwrap();
            let out =
                std::process::Command::new(exe).arg(&file).output().expect("run case_validate");
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success() && text.contains("Conforms: True"),
                "{text}\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

// ---------------------------------------------------------------- real reference sets

#[test]
fn source_files_and_mhset_sets_match_through_refset() {
    use mediahash::refset::build::{BuildOptions, Builder};
    use mediahash::scan::reference::{load_source, open_mhset};

    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("ev");
    fs::create_dir(&root).unwrap();
    fs::write(root.join("alert.bin"), ALERT_BYTES).unwrap();
    fs::write(root.join("ignore.bin"), IGNORE_BYTES).unwrap();
    fs::write(root.join("other.txt"), b"nothing known").unwrap();
    fs::write(root.join("shapes.png"), png_bytes(&synth_named("shapes-640x480"))).unwrap();
    let first = run(std::slice::from_ref(&root), &[], &ScanOptions::default());
    let pdq = first.get(&root.join("shapes.png")).pdq.clone().unwrap();

    let sets = dir.path().join("sets");
    fs::create_dir(&sets).unwrap();
    let hex = |b: &[u8]| mediahash::hex::encode(&md5_of(b)).to_uppercase();
    let vics = format!(
        r#"{{"@odata.context":"http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/US/$metadata#Media",
            "value":[{{"MediaID":7,"Category":1,"MD5":"{}","VictimIdentified":"true"}}]}}"#,
        hex(ALERT_BYTES)
    );
    fs::write(sets.join("cases.json"), vics).unwrap();
    fs::write(sets.join("known.md5"), format!("{}  os-file\n", hex(IGNORE_BYTES).to_lowercase()))
        .unwrap();
    fs::write(sets.join("pdq.txt"), format!("{pdq},100,shapes\n")).unwrap();

    let refs = vec![
        load_source(&sets.join("cases.json"), Disposition::Alert, None).unwrap(),
        load_source(&sets.join("known.md5"), Disposition::Ignore, None).unwrap(),
        load_source(&sets.join("pdq.txt"), Disposition::Alert, None).unwrap(),
    ];
    assert_eq!(refs[0].provenance.kind, "vics-json-2.0");
    assert_eq!(refs[0].provenance.sources[0].records, 1);
    let report = run(std::slice::from_ref(&root), &refs, &ScanOptions::default());
    let alert = report.get(&root.join("alert.bin"));
    assert_eq!(alert.disposition(), EntryDisposition::Alert);
    let m = &alert.matches[0];
    assert_eq!((m.set.as_str(), m.hash), ("cases.json", HashKind::Md5));
    assert_eq!((m.category.as_deref(), m.profile.as_deref()), (Some("1"), Some("US")));
    assert_eq!((m.victim_identified, m.source_id.as_deref()), (Some(true), Some("7")));
    assert_eq!(report.get(&root.join("ignore.bin")).disposition(), EntryDisposition::Ignore);
    assert_eq!(report.get(&root.join("other.txt")).disposition(), EntryDisposition::Other);
    let shapes = report.get(&root.join("shapes.png"));
    assert_eq!(shapes.disposition(), EntryDisposition::Alert);
    assert_eq!((shapes.matches[0].hash, shapes.matches[0].distance), (HashKind::Pdq, Some(0)));
    assert_eq!(shapes.matches[0].reference, 2);
    let header = report.header.as_ref().unwrap();
    assert_eq!(header.reference_sets.len(), 3);
    assert_eq!(header.reference_sets[1].sha256.len(), 64);

    // The same sources compiled into one .mhset file give the same verdicts.
    let mut builder =
        Builder::new(BuildOptions { build_time: Some(0), ..Default::default() }).unwrap();
    for (file, disposition) in [
        ("cases.json", Disposition::Alert),
        ("known.md5", Disposition::Ignore),
        ("pdq.txt", Disposition::Alert),
    ] {
        mediahash::import::import_into(
            &mut builder,
            &sets.join(file),
            None,
            disposition,
            None,
            &Default::default(),
        )
        .unwrap();
    }
    let mhset = dir.path().join("all.mhset");
    builder.finish(&mhset).unwrap();
    let compiled = vec![open_mhset(&mhset).unwrap()];
    assert_eq!(compiled[0].provenance.kind, "mhset");
    assert_eq!(compiled[0].provenance.sources.len(), 3);
    let again = run(std::slice::from_ref(&root), &compiled, &ScanOptions::default());
    for (a, b) in report.entries.iter().zip(&again.entries) {
        assert_eq!(a.disposition(), b.disposition(), "{}", a.path);
    }

    // A damaged .mhset is refused with a clear error.
    let mut bytes = fs::read(&mhset).unwrap();
    bytes.truncate(bytes.len() / 2);
    fs::write(dir.path().join("bad.mhset"), bytes).unwrap();
    let err = open_mhset(&dir.path().join("bad.mhset")).unwrap_err();
    assert!(err.to_string().contains("bad.mhset"), "{err}");
}
