//! `mediahash::scan` on hostile evidence: every entry reported once with the right
//! disposition, counts that add up, evidence times untouched, identical reports for 1 and 4
//! threads, and the report formats.

mod common;

use common::capture::Captured;
use common::synth;

use std::collections::BTreeMap;
use std::ffi::{CString, OsStr, OsString};
use std::fs;
use std::io;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{MetadataExt, symlink};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use mediahash::evidence::folder::HookPoint;
use mediahash::perceptual::pdq::PdqHash;
use mediahash::refset::RefsetError;
use mediahash::refset::{Disposition, HashKind, HashValue};
use mediahash::report::ReferenceProvenance;
use mediahash::report::jsonl::JsonlWriter;
use mediahash::report::{
    EntryDisposition, EntryKind, EntryRecord, Footer, Header, Match, ReportFormat, ReportWriter,
};
use mediahash::scan::{
    LoadedReference, ReferenceIndex, ScanError, ScanOptions, ensure_outside_evidence, scan,
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
        robust: None,
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
    fn lookup(&self, value: &HashValue) -> Result<Vec<Match>, RefsetError> {
        Ok(self.exact.iter().filter(|(v, _)| v == value).map(|(_, m)| m.clone()).collect())
    }
    /// Like `RefSet`: one result per stored hash, with its nearest needle.
    fn search_pdq(
        &self,
        needles: &[PdqHash],
        radius: u32,
        limit: usize,
    ) -> Result<Vec<(usize, Match)>, RefsetError> {
        let mut out = Vec::new();
        for (h, m) in &self.pdq {
            let best = needles
                .iter()
                .enumerate()
                .map(|(n, needle)| {
                    (h.iter().zip(&needle.0).map(|(a, b)| (a ^ b).count_ones()).sum::<u32>(), n)
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
    fn search_u64(
        &self,
        kind: HashKind,
        value: u64,
        radius: u32,
        limit: usize,
    ) -> Result<Vec<Match>, RefsetError> {
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

impl Captured {
    fn by_path(&self) -> BTreeMap<Vec<u8>, &EntryRecord> {
        let mut map = BTreeMap::new();
        for e in &self.entries {
            assert!(map.insert(e.path.clone(), e).is_none(), "{} reported twice", e.path_text());
        }
        map
    }

    fn get(&self, path: &Path) -> &EntryRecord {
        let bytes = path.as_os_str().as_bytes();
        self.entries
            .iter()
            .find(|e| e.path.clone() == bytes)
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

    let d = |rel: &str| report.get(&h.root.join(rel)).disposition;
    let r =
        |rel: &str| report.get(&h.root.join(rel)).reason_message().unwrap_or_default().to_string();
    assert_eq!(report.get(&h.root).disposition, EntryDisposition::Directory);
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
        report.get(&h.root.join("empty")).md5.map(|d| mediahash::hex::encode(&d)).as_deref(),
        Some("d41d8cd98f00b204e9800998ecf8427e")
    );
    assert_eq!(d("pipe"), EntryDisposition::Skipped);
    assert!(r("pipe").contains("FIFO"), "{}", r("pipe"));
    assert_eq!(report.get(&h.root.join("pipe")).kind, EntryKind::Fifo);
    assert_eq!(d("dangling"), EntryDisposition::Skipped);
    // On this writable relatime mount the link target is not read (it would touch atime).
    let dangling = report.get(&h.root.join("dangling"));
    assert!(
        dangling.link_target.is_none()
            && dangling.reason_message().unwrap().contains("access time")
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
    assert_eq!(picture.disposition, EntryDisposition::UnknownImage, "{picture:?}");
    assert_eq!(picture.image_format.map(|f| f.as_str()), Some("png"));
    assert_eq!((picture.width, picture.height), (Some(640), Some(480)));
    assert_eq!(picture.pdq.map(|h| h.to_hex().len()), Some(64));
    assert!(picture.pdq_quality.is_some());
    assert_eq!(picture.phash.map(|h| h.to_hex().len()), Some(16));
    let renamed = report.get(&h.root.join("photos/renamed.txt"));
    assert_eq!(renamed.disposition, EntryDisposition::UnknownImage, "{renamed:?}");
    assert_eq!(renamed.image_format.map(|f| f.as_str()), Some("png"));
    let bomb = report.get(&h.root.join("photos/bomb.png"));
    assert_eq!(bomb.disposition, EntryDisposition::Error, "{bomb:?}");
    assert!(bomb.md5.is_some(), "digests are still computed");
    // Refused by the limits (not, say, a caught decoder panic, which is also an image error).
    let bomb_error = bomb.image_error.as_deref().unwrap();
    assert!(bomb_error.contains("refused before decoding"), "{bomb_error}");
    assert!(bomb.reason_message().unwrap().starts_with("image not decoded"), "{bomb:?}");
    assert_eq!(bomb.reason.as_ref().unwrap().code, mediahash::report::ReasonCode::ImageNotDecoded);
    assert_eq!(
        bomb.image_format.map(|f| f.as_str()),
        Some("png"),
        "format sniffed even when refused"
    );
    let truncated = report.get(&h.root.join("photos/truncated.jpg"));
    assert!(truncated.md5.is_some());
    assert_eq!(truncated.image_format.map(|f| f.as_str()), Some("jpeg"));
    assert_eq!(truncated.disposition, EntryDisposition::Error, "{truncated:?}");
    assert!(truncated.reason_message().unwrap().contains("truncated"), "{truncated:?}");

    // The non-UTF-8 name: lossy text plus exact bytes.
    let latin = report.get(&h.root.join(OsStr::from_bytes(b"caf\xe9-latin1.txt")));
    assert!(latin.path_text().ends_with("caf\u{fffd}-latin1.txt"));
    assert!(latin.path.ends_with(b"caf\xe9-latin1.txt"));
    assert_eq!(latin.disposition, EntryDisposition::Other);

    // Sorted by path, component by component.
    let order: Vec<PathBuf> =
        report.entries.iter().map(|e| PathBuf::from(OsString::from_vec(e.path.clone()))).collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted);

    // Counts add up and match the records.
    let footer = report.footer();
    assert!(footer.completed);
    assert!(footer.counts.is_consistent());
    assert_eq!(footer.counts.entries, report.entries.len() as u64);
    for disposition in EntryDisposition::ALL {
        let n = report.entries.iter().filter(|e| e.disposition == disposition).count() as u64;
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
    assert_eq!(report.get(&p.join("bottom.txt")).disposition, EntryDisposition::Other);
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
    assert_eq!(e.disposition, EntryDisposition::Error);
    let reason = e.reason_message().unwrap();
    assert!(reason.contains("changed while being read"), "{reason}");
    assert!(reason.contains("100000 bytes when listed"), "{reason}");
    assert_eq!(e.bytes_read, Some(105_000));
    assert_eq!(report.get(&root.join("steady.log")).disposition, EntryDisposition::Other);
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
    assert_eq!(e.disposition, EntryDisposition::Error);
    let reason = e.reason_message().unwrap();
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
    assert_eq!(up.disposition, EntryDisposition::Skipped);
    assert!(up.reason_message().unwrap().contains("directory loop"), "{up:?}");
    let link = report.get(&root.join("a/link.txt"));
    assert_eq!(link.kind, EntryKind::Symlink);
    assert_eq!(link.disposition, EntryDisposition::Other);
    assert_eq!(
        link.md5.map(|d| mediahash::hex::encode(&d)).as_deref(),
        Some("5d41402abc4b2a76b9719d911017c592")
    );
    assert!(report.get(&root.join("a/dangling")).reason_message().unwrap().contains("dangling"));
    assert!(report.get(&root.join("self")).reason_message().unwrap().contains("loop"));
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
    assert_eq!(link.disposition, EntryDisposition::Skipped);
    assert_eq!(link.link_target.as_deref(), Some(&b"t\xffrget"[..]));
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
    assert_eq!(report.get(&root.join("Windows")).disposition, EntryDisposition::Directory);
    let sys = report.get(&root.join("Windows/System32"));
    assert_eq!(sys.disposition, EntryDisposition::Skipped);
    assert!(sys.reason_message().unwrap().contains("Windows/**"));
    assert!(report.entries.iter().all(|e| !e.path.ends_with(b"kernel.dll")), "not entered");
    assert_eq!(report.get(&root.join("a.tmp")).disposition, EntryDisposition::Skipped);
    let big = report.get(&root.join("big.bin"));
    assert_eq!(big.disposition, EntryDisposition::Skipped);
    assert!(big.reason_message().unwrap().contains("--max-file-size"));
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
    let err =
        ensure_outside_evidence(&dir.path().join("alias/new/report.csv"), &roots).unwrap_err();
    assert!(matches!(err, ScanError::ReportInsideEvidence { .. }), "{err}");
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
    assert_eq!(report.entries[0].path.as_slice(), root.as_os_str().as_bytes());
    for (i, e) in report.entries[1..].iter().enumerate() {
        assert_eq!(e.path.clone(), root.join(format!("f{i:03}")).as_os_str().as_bytes());
        assert_eq!(e.disposition, EntryDisposition::Other);
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
    let pdq_of = |e: &EntryRecord| e.pdq.unwrap().0;

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
    assert_eq!(m.disposition, EntryDisposition::Alert);
    assert_eq!(m.matches[0].distance, Some(20));
    assert_eq!(m.matches[0].hash, HashKind::Pdq);
    assert_eq!(
        report.get(&root.join("flat.png")).disposition,
        EntryDisposition::UnknownImage,
        "quality < 50 never matches"
    );

    // pHash: a set holding the image's pHash with 5 bits flipped matches at distance 5.
    let phash = shapes.phash.unwrap().0;
    let mut index = TestIndex::default();
    index.phash.push((
        phash ^ 0b11111,
        test_match("phash-list", Disposition::Ignore, HashKind::PHash, None),
    ));
    let by_phash =
        run(std::slice::from_ref(&root), &[loaded(index, "phash")], &ScanOptions::default());
    let m = by_phash.get(&root.join("shapes.png"));
    assert_eq!(m.disposition, EntryDisposition::Ignore);
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
    assert_eq!(report.get(&root.join("shapes.png")).disposition, EntryDisposition::UnknownImage);
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
    let pdq = first.entries[1].pdq.unwrap().0;
    let mut index = TestIndex::default();
    index.pdq.push((pdq, test_match("pdq-list", Disposition::Alert, HashKind::Pdq, None)));
    let refs = vec![loaded(index, "pdq")];
    let plain = run(std::slice::from_ref(&root), &refs, &ScanOptions::default());
    assert_ne!(plain.get(&root.join("mirrored.png")).disposition, EntryDisposition::Alert);
    let dihedral = run(
        std::slice::from_ref(&root),
        &refs,
        &ScanOptions { dihedral: true, ..Default::default() },
    );
    let e = dihedral.get(&root.join("mirrored.png"));
    assert_eq!(e.disposition, EntryDisposition::Alert, "{e:?}");
    // PDQ's name for the left-to-right mirror.
    assert_eq!(e.matches[0].transform.map(|t| t.as_str()), Some("flipy"));
    assert_eq!(e.pdq_dihedral.as_ref().map(|d| d.len()), Some(8));
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
    assert!(matches!(err, ScanError::WorkDirInsideEvidence { .. }), "{err}");
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

fn dfxml_report(h: &Hostile, options: ScanOptions) -> String {
    let mut out = Vec::new();
    {
        let mut w = ReportFormat::Dfxml.writer(&mut out);
        let options = ScanOptions { command_line: vec!["mh".into(), "scan".into()], ..options };
        scan(std::slice::from_ref(&h.root), &h.refs, &options, &mut w).unwrap();
    }
    String::from_utf8(out).unwrap()
}

#[test]
fn dfxml_is_well_formed_with_schema_order() {
    let h = hostile_tree();
    let xml = String::from_utf8(report_bytes(ReportFormat::Dfxml, &h)).unwrap();
    let spool = Some(h._dir.path().to_path_buf());
    let options =
        ScanOptions { dihedral: true, cluster: true, spool_dir: spool, ..hostile_options(&h) };
    let xml_dihedral_cluster = dfxml_report(&h, options);
    let jsonl = String::from_utf8(report_bytes(ReportFormat::Jsonl, &h)).unwrap();
    fs::set_permissions(&h.locked, fs::Permissions::from_mode(0o755)).unwrap();

    for report in [&xml, &xml_dihedral_cluster] {
        let violations = dfxml_violations(report);
        assert!(violations.is_empty(), "{}\n\n{report}", violations.join("\n"));
        // And the schema itself, through xmllint.
        if cfg!(mediahash_xmllint) {
            let file = tempfile::NamedTempFile::new().unwrap();
            fs::write(file.path(), report).unwrap();
            if let Some(errors) = common::tools::dfxml_schema_errors(file.path()) {
                panic!("not valid against the DFXML 1.2.0 schema:\n{errors}\n\n{report}");
            }
        } else {
            eprintln!("DFXML schema validation skipped: xmllint (libxml2-utils) not installed");
        }
    }
    let root = parse_xml(&xml).unwrap();
    let fileobjects: Vec<&XmlNode> =
        root.children.iter().filter(|c| c.is_dfxml("fileobject")).collect();
    assert_eq!(fileobjects.len(), jsonl.lines().count() - 2);
    // What the hostile tree must exercise, so that the rules above are actually applied.
    assert!(xml.contains(r#"<hashdigest type="MD5">"#));
    assert!(xml.contains("<error>cannot read directory"));
    assert!(xml.contains("<name_type>p</name_type>") && xml.contains("<name_type>l</name_type>"));
    assert!(xml.contains("<filesize>0</filesize>"));
    assert!(xml.contains("<mh:disposition>alert</mh:disposition>"));
    assert!(xml.contains(r#" category="2""#));
    assert!(xml.contains("<mh:pdq quality="));
    assert!(xml.contains("<mh:path_bytes_hex>"));
    assert!(xml.contains("<mh:scan>") && xml.contains("<mh:scan_end "));
    assert!(xml_dihedral_cluster.contains("<mh:pdq_dihedral transform="));
    assert!(xml_dihedral_cluster.contains(r#" cluster="true""#));
}

/// Each rule of [`dfxml_violations`] rejects a report broken in the way it guards against.
#[test]
fn dfxml_checks_reject_schema_violations() {
    let h = hostile_tree();
    let xml = String::from_utf8(report_bytes(ReportFormat::Dfxml, &h)).unwrap();
    fs::set_permissions(&h.locked, fs::Permissions::from_mode(0o755)).unwrap();
    assert!(dfxml_violations(&xml).is_empty());
    let first_file = xml.find("<name_type>r</name_type>").expect("a regular file");
    let file_start = xml[..first_file].rfind("<fileobject>").unwrap();
    let file_end = file_start + xml[file_start..].find("</fileobject>").unwrap();
    let file = &xml[file_start..file_end];
    let swapped_file = {
        let filename = &file[file.find("<filename>").unwrap()..];
        let filename = &filename[..filename.find('\n').unwrap()];
        let name_type = "<name_type>r</name_type>";
        file.replacen(filename, "@@", 1)
            .replacen(name_type, filename, 1)
            .replacen("@@", name_type, 1)
    };
    let error = &xml[xml.find("<error>cannot read directory").unwrap()..];
    let error = &error[..error.find("</error>").unwrap() + 8];
    let mtime = &file[file.find("<mtime>").unwrap()..];
    let mtime = &mtime[..mtime.find("</mtime>").unwrap() + 8];
    // `m(from, to)`: the report with the first `from` replaced by `to` (which must be there).
    let m = |from: &str, to: &str| {
        assert!(xml.contains(from), "{from:?} not in the report");
        xml.replacen(from, to, 1)
    };
    let mh_elsewhere = |to: &str| m("<mh:disposition>", to);
    let cases: Vec<(&str, String, &str)> = vec![
        ("not well-formed", m("</source>", "</sourc>"), "closes"),
        ("unknown entity", m("<filesize>", "&nbsp;<filesize>"), "entity"),
        ("root name", m("<dfxml ", "<dfxm ").replacen("</dfxml>", "</dfxm>", 1), "root"),
        ("root namespace", m(DFXML_NS, "http://example.org/dfxml"), "root"),
        ("version required", m(r#" version="1.2.0">"#, ">"), "version"),
        ("metadata required", m("<metadata><dc:type>Hash List</dc:type></metadata>", ""), "order"),
        ("metadata first", m("  <metadata>", "  <source/><metadata>"), "order"),
        ("no Dublin Core", m("<dc:type>Hash List</dc:type>", ""), "Dublin Core"),
        (
            "creator order",
            m("<program>mediahash</program>", "").replacen(
                "</execution_environment>",
                "</execution_environment><program>mediahash</program>",
                1,
            ),
            "order",
        ),
        ("creator@version", m("<creator>", r#"<creator version="1.0">"#), "attribute"),
        ("execution_environment once", m("<command_line>", "<host/><command_line>"), "once"),
        ("start_time", m("<start_time>", "<start_time>on "), "xs:dateTime"),
        ("fileobject order", m(file, &swapped_file), "order"),
        ("two filenames", m("<name_type>r", "<filename>x</filename><name_type>r"), "exactly one"),
        (
            "extension between fileobjects",
            m("</fileobject>\n  <fileobject>", "</fileobject><mh:x/><fileobject>"),
            "order",
        ),
        ("hashdigest type", m(r#"type="MD5""#, r#"type="BLAKE3""#), "not MD5, SHA1 or SHA256"),
        (
            "hashdigest value",
            m(r#"<hashdigest type="SHA1">"#, r#"<hashdigest type="SHA1">0x"#),
            "lower-case hex",
        ),
        ("filesize integer", m("<filesize>0</filesize>", "<filesize>0.0</filesize>"), "xs:integer"),
        ("inode integer", m("<inode>", "<inode>-"), "nonNegativeInteger"),
        ("mtime lexical", m(mtime, &mtime.replacen('T', " ", 1)), "xs:dateTime"),
        ("mtime year 0000", m(mtime, "<mtime>0000-01-01T00:00:00Z</mtime>"), "xs:dateTime"),
        (
            "name_type enum",
            m("<name_type>p</name_type>", "<name_type>fifo</name_type>"),
            "not a name_type letter",
        ),
        ("error content", m("<error>cannot", "<error><mh:why/>cannot"), "simple content"),
        ("empty error", m(error, "<error> </error>"), "not an error message"),
        (
            "error only on errors",
            m(file, &file.replacen("<name_type>", "<error>x</error><name_type>", 1)),
            "error",
        ),
        ("extension in DFXML namespace", mh_elsewhere("<disposition/><mh:disposition>"), "order"),
        (
            "extension in no namespace",
            mh_elsewhere(r#"<d xmlns=""/><mh:disposition>"#),
            "namespace",
        ),
        ("third namespace", mh_elsewhere(r#"<x:d xmlns:x="urn:x"/><mh:disposition>"#), "namespace"),
        ("Dublin Core outside metadata", mh_elsewhere("<dc:type/><mh:disposition>"), "namespace"),
        ("attribute on a DFXML element", m("<filesize>", r#"<filesize unit="B">"#), "attribute"),
    ];
    for (rule, broken, expected) in cases {
        let violations = dfxml_violations(&broken);
        assert!(
            violations.iter().any(|v| v.contains(expected)),
            "{rule}: expected a violation mentioning {expected:?}, got {violations:#?}"
        );
    }
}

// ---------------------------------------------------------------- DFXML rules

const DFXML_NS: &str = "http://www.forensicswiki.org/wiki/Category:Digital_Forensics_XML";
const DC_NS: &str = "http://purl.org/dc/elements/1.1/";

/// One element of a parsed XML document, names resolved to (namespace, local name).
#[derive(Debug)]
struct XmlNode {
    ns: Option<String>,
    name: String,
    /// (namespace, local name, value); namespace declarations are not attributes.
    attrs: Vec<(Option<String>, String, String)>,
    children: Vec<XmlNode>,
    text: String,
    line: usize,
}

impl XmlNode {
    fn is_dfxml(&self, name: &str) -> bool {
        self.ns.as_deref() == Some(DFXML_NS) && self.name == name
    }
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.iter().find(|(ns, n, _)| ns.is_none() && n == name).map(|(_, _, v)| v.as_str())
    }
    fn label(&self) -> String {
        let ns = match self.ns.as_deref() {
            Some(DFXML_NS) => "",
            Some(DC_NS) => "dc:",
            Some(ns) if ns == mediahash::report::dfxml::MH_NAMESPACE => "mh:",
            Some(_) => "{other}:",
            None => "{no namespace}:",
        };
        format!("<{ns}{}> (line {})", self.name, self.line)
    }
}

fn decode_entities(raw: &str, line: usize) -> Result<String, String> {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let end = rest[i..].find(';').ok_or(format!("line {line}: '&' without ';'"))? + i;
        let entity = &rest[i + 1..end];
        let c = match entity {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            _ => {
                let code = match entity.strip_prefix("#x") {
                    Some(hex) => u32::from_str_radix(hex, 16).ok(),
                    None => entity.strip_prefix('#').and_then(|d| d.parse().ok()),
                };
                code.and_then(char::from_u32)
                    .filter(|&c| c >= ' ' || "\t\n\r".contains(c))
                    .ok_or(format!("line {line}: unknown entity &{entity};"))?
            }
        };
        out.push(c);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// An element being parsed: the node, its qualified name as written, and the namespace
/// prefixes in scope (prefix, URI; "" for the default namespace).
type OpenElement = (XmlNode, String, Vec<(String, String)>);

/// A strict parser for the XML this crate writes: an XML declaration, elements, attributes in
/// quotes, text with entities; no DTD, comments, CDATA or processing instructions. Checks
/// well-formedness and resolves namespaces.
fn parse_xml(xml: &str) -> Result<XmlNode, String> {
    let decl = r#"<?xml version="1.0" encoding="UTF-8"?>"#;
    let mut rest = xml.strip_prefix(decl).ok_or("no XML declaration")?;
    if let Some(c) = xml.chars().find(|&c| c < ' ' && c != '\n' && c != '\t') {
        return Err(format!("control character {c:?}"));
    }
    let line_of = |rest: &str| xml[..xml.len() - rest.len()].matches('\n').count() + 1;
    let mut stack: Vec<OpenElement> = Vec::new();
    let mut root = None;
    loop {
        let start = rest.find('<').unwrap_or(rest.len());
        let text = decode_entities(&rest[..start], line_of(rest))?;
        match stack.last_mut() {
            Some((node, _, _)) => node.text.push_str(&text),
            None if !text.trim().is_empty() => return Err("text outside the root element".into()),
            None => {}
        }
        rest = &rest[start..];
        if rest.is_empty() {
            break;
        }
        let line = line_of(rest);
        if let Some(close) = rest.strip_prefix("</") {
            let end = close.find('>').ok_or("unterminated end tag")?;
            let (node, qname, _) =
                stack.pop().ok_or(format!("line {line}: end tag without start"))?;
            if close[..end].trim_end() != qname {
                return Err(format!("line {line}: </{}> closes <{qname}>", &close[..end]));
            }
            rest = &close[end + 1..];
            match stack.last_mut() {
                Some((parent, _, _)) => parent.children.push(node),
                None if root.is_none() => root = Some(node),
                None => return Err("two root elements".into()),
            }
            continue;
        }
        if rest.starts_with("<!") || rest.starts_with("<?") {
            return Err(format!("line {line}: comment, CDATA, DTD or PI"));
        }
        if stack.is_empty() && root.is_some() {
            return Err(format!("line {line}: second root element"));
        }
        // Start tag: name, then attributes up to '>' or '/>'.
        let mut tag = &rest[1..];
        let name_end = tag
            .find(|c: char| c.is_whitespace() || c == '/' || c == '>')
            .ok_or("unterminated tag")?;
        let qname = tag[..name_end].to_string();
        tag = &tag[name_end..];
        let mut raw_attrs: Vec<(String, String)> = Vec::new();
        let empty = loop {
            tag = tag.trim_start();
            if let Some(after) = tag.strip_prefix("/>") {
                tag = after;
                break true;
            }
            if let Some(after) = tag.strip_prefix('>') {
                tag = after;
                break false;
            }
            let eq = tag.find('=').ok_or(format!("line {line}: attribute without value"))?;
            let name = tag[..eq].trim().to_string();
            let value = tag[eq + 1..].trim_start();
            let quote = value.chars().next().filter(|q| *q == '"' || *q == '\'');
            let quote = quote.ok_or(format!("line {line}: unquoted attribute {name}"))?;
            let close =
                value[1..].find(quote).ok_or(format!("line {line}: unterminated attribute"))?;
            let raw = &value[1..close + 1];
            if raw.contains('<') {
                return Err(format!("line {line}: '<' in attribute {name}"));
            }
            if raw_attrs.iter().any(|(n, _)| *n == name) {
                return Err(format!("line {line}: duplicate attribute {name}"));
            }
            raw_attrs.push((name, decode_entities(raw, line)?));
            tag = &value[close + 2..];
        };
        rest = tag;
        let mut scope = stack.last().map(|(_, _, s)| s.clone()).unwrap_or_default();
        for (name, value) in &raw_attrs {
            if name == "xmlns" {
                scope.push((String::new(), value.clone()));
            } else if let Some(prefix) = name.strip_prefix("xmlns:") {
                scope.push((prefix.to_string(), value.clone()));
            }
        }
        let resolve = |prefix: &str| -> Result<Option<String>, String> {
            match scope.iter().rev().find(|(p, _)| p == prefix) {
                Some((_, uri)) if uri.is_empty() => Ok(None),
                Some((_, uri)) => Ok(Some(uri.clone())),
                None if prefix.is_empty() => Ok(None),
                None => Err(format!("line {line}: undeclared prefix {prefix}")),
            }
        };
        let (ns, name) = match qname.split_once(':') {
            Some((prefix, local)) => (resolve(prefix)?, local.to_string()),
            None => (resolve("")?, qname.clone()),
        };
        let mut attrs = Vec::new();
        for (name, value) in raw_attrs {
            if name == "xmlns" || name.starts_with("xmlns:") {
                continue;
            }
            match name.split_once(':') {
                Some((prefix, local)) => attrs.push((resolve(prefix)?, local.to_string(), value)),
                None => attrs.push((None, name, value)),
            }
        }
        let node = XmlNode { ns, name, attrs, children: Vec::new(), text: String::new(), line };
        if empty {
            match stack.last_mut() {
                Some((parent, _, _)) => parent.children.push(node),
                None => root = Some(node),
            }
        } else {
            stack.push((node, qname, scope));
        }
    }
    if let Some((node, _, _)) = stack.last() {
        return Err(format!("{} is not closed", node.label()));
    }
    root.ok_or("no root element".into())
}

const MANY: usize = usize::MAX;
/// A content model: a sequence of (DFXML element name, or `None` for "any element of another
/// namespace", min, max).
type Model = &'static [(Option<&'static str>, usize, usize)];

const ROOT_MODEL: Model = &[
    (None, 0, MANY),
    (Some("metadata"), 1, 1),
    (Some("creator"), 0, 1),
    (Some("source"), 0, 1),
    (None, 0, MANY),
    (Some("diskimageobject"), 0, MANY),
    (Some("partitionsystemobject"), 0, MANY),
    (Some("partitionobject"), 0, MANY),
    (Some("volume"), 0, MANY),
    (Some("fileobject"), 0, MANY),
    (Some("rusage"), 0, 1),
    (None, 0, MANY),
];
const CREATOR_MODEL: Model = &[
    (Some("program"), 0, 1),
    (Some("version"), 0, 1),
    (Some("build_environment"), 0, 1),
    (Some("execution_environment"), 0, 1),
    (Some("library"), 0, MANY),
];
const SOURCE_MODEL: Model = &[(Some("image_filename"), 0, MANY)];
/// The fiwalk order of a fileobject's children, with the places that admit other namespaces.
const FILEOBJECT_MODEL: Model = &[
    (None, 0, MANY),
    (Some("parent_object"), 0, 1),
    (Some("filename"), 0, MANY),
    (Some("error"), 0, 1),
    (Some("partition"), 0, 1),
    (Some("id"), 0, 1),
    (Some("name_type"), 0, 1),
    (Some("filesize"), 0, 1),
    (Some("unalloc"), 0, 1),
    (Some("alloc"), 0, 1),
    (Some("alloc_inode"), 0, 1),
    (Some("alloc_name"), 0, 1),
    (Some("used"), 0, 1),
    (Some("unused"), 0, 1),
    (Some("orphan"), 0, 1),
    (Some("compressed"), 0, 1),
    (Some("inode"), 0, 1),
    (Some("meta_type"), 0, 1),
    (Some("mode"), 0, 1),
    (Some("nlink"), 0, 1),
    (Some("uid"), 0, 1),
    (Some("gid"), 0, 1),
    (Some("mtime"), 0, 1),
    (Some("ctime"), 0, 1),
    (Some("atime"), 0, 1),
    (Some("crtime"), 0, 1),
    (Some("seq"), 0, 1),
    (Some("dtime"), 0, 1),
    (Some("bkup_time"), 0, 1),
    (Some("link_target"), 0, 1),
    (Some("libmagic"), 0, 1),
    (None, 0, MANY),
    (Some("byte_runs"), 0, 1),
    (Some("hashdigest"), 0, MANY),
    (None, 0, MANY),
];
/// execution_environment is an unordered group: each of these at most once, nothing else.
const EXECUTION_ENVIRONMENT: [&str; 9] = [
    "os_sysname",
    "os_release",
    "os_version",
    "host",
    "arch",
    "command_line",
    "uid",
    "username",
    "start_time",
];
const NAME_TYPES: [&str; 12] = ["-", "p", "c", "d", "b", "r", "l", "s", "h", "w", "V", "v"];

/// Checks `node`'s children against a sequence model; the particles match disjoint sets of
/// elements, so taking as many as possible for each particle in turn decides.
fn check_sequence(node: &XmlNode, model: Model, v: &mut Vec<String>) {
    let kids = &node.children;
    let mut i = 0;
    for &(particle, min, max) in model {
        let matches = |k: &XmlNode| match particle {
            Some(name) => k.is_dfxml(name),
            None => k.ns.is_some() && k.ns.as_deref() != Some(DFXML_NS),
        };
        let mut n = 0;
        while i < kids.len() && n < max && matches(&kids[i]) {
            i += 1;
            n += 1;
        }
        if n < min {
            v.push(format!(
                "{}: needs <{}> here (schema order)",
                node.label(),
                particle.unwrap_or("*")
            ));
        }
    }
    if let Some(k) = kids.get(i) {
        v.push(format!(
            "{}: child {} out of the schema order or not allowed",
            node.label(),
            k.label()
        ));
    }
}

/// `xs:dateTime` lexical space: `-?YYYY-MM-DDThh:mm:ss(.s+)?(Z|(+|-)hh:mm)?`, year not 0000.
fn is_xs_date_time(s: &str) -> bool {
    let s = s.strip_prefix('-').unwrap_or(s);
    let Some((date, time)) = s.split_once('T') else { return false };
    let parts: Vec<&str> = date.split('-').collect();
    let num =
        |p: &str| p.bytes().all(|b| b.is_ascii_digit()).then(|| p.parse::<u64>().ok()).flatten();
    let [year, month, day] = parts[..] else { return false };
    let date_ok = year.len() >= 4
        && (year.len() == 4 || !year.starts_with('0'))
        && num(year).is_some_and(|y| y != 0)
        && month.len() == 2
        && num(month).is_some_and(|m| (1..=12).contains(&m))
        && day.len() == 2
        && num(day).is_some_and(|d| (1..=31).contains(&d));
    let time = time.strip_suffix('Z').unwrap_or_else(|| {
        let cut = time.len().saturating_sub(6);
        match time.get(cut..) {
            Some(zone)
                if zone.len() == 6
                    && (zone.starts_with('+') || zone.starts_with('-'))
                    && zone.as_bytes()[3] == b':' =>
            {
                &time[..cut]
            }
            _ => time,
        }
    });
    let (hms, fraction) = time.split_once('.').unwrap_or((time, "0"));
    let fields: Vec<&str> = hms.split(':').collect();
    let time_ok = fields.len() == 3
        && fields.iter().all(|f| f.len() == 2)
        && num(fields[0]).is_some_and(|h| h < 24)
        && num(fields[1]).is_some_and(|m| m < 60)
        && num(fields[2]).is_some_and(|s| s < 60)
        && !fraction.is_empty()
        && num(fraction).is_some();
    date_ok && time_ok
}

fn is_xs_integer(s: &str) -> bool {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

fn is_xs_non_negative_integer(s: &str) -> bool {
    let digits = s.strip_prefix('+').unwrap_or(s);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// Checks a simple-typed DFXML element: no child elements, and the text in its type.
fn check_leaf(node: &XmlNode, v: &mut Vec<String>) {
    if !node.children.is_empty() {
        v.push(format!(
            "{}: simple content, but has child {}",
            node.label(),
            node.children[0].label()
        ));
    }
    let text = node.text.as_str();
    let (ok, kind) = match node.name.as_str() {
        "filesize" => (is_xs_integer(text), "xs:integer"),
        // uid and gid are strings in DFXML 1.2 (for NTFS SIDs); we write POSIX numbers.
        "inode" | "mode" | "nlink" | "uid" | "gid" | "meta_type" | "seq" => {
            (is_xs_non_negative_integer(text), "xs:nonNegativeInteger")
        }
        "mtime" | "ctime" | "atime" | "crtime" | "dtime" | "bkup_time" | "start_time" => {
            (is_xs_date_time(text), "xs:dateTime")
        }
        "name_type" => (NAME_TYPES.contains(&text), "a name_type letter"),
        "hashdigest" => {
            // The schema's enumeration has upper- and lower-case names; we write these three.
            let len = match node.attr("type") {
                Some("MD5") => 32,
                Some("SHA1") => 40,
                Some("SHA256") => 64,
                other => {
                    let label = node.label();
                    return v.push(format!("{label}: type {other:?}, not MD5, SHA1 or SHA256"));
                }
            };
            let hex = text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
            (text.len() == len && hex, "lower-case hex of the digest's length")
        }
        "error" => (!text.trim().is_empty(), "an error message"),
        _ => (true, ""),
    };
    if !ok {
        v.push(format!("{}: {text:?} is not {kind}", node.label()));
    }
}

/// The DFXML schema's rules as they apply to what mediahash writes, checked without the
/// schema file: one message per violation.
fn dfxml_violations(xml: &str) -> Vec<String> {
    let root = match parse_xml(xml) {
        Ok(root) => root,
        Err(e) => return vec![format!("not well-formed XML: {e}")],
    };
    let mut v = Vec::new();
    if !root.is_dfxml("dfxml") {
        v.push(format!("root is {}, not <dfxml> in the DFXML namespace", root.label()));
        return v;
    }
    if root.attr("version").is_none_or(str::is_empty) {
        v.push("<dfxml>: the version attribute is required".into());
    }
    check_sequence(&root, ROOT_MODEL, &mut v);
    if root
        .children
        .iter()
        .find(|c| c.ns.as_deref() == Some(DFXML_NS))
        .is_none_or(|c| !c.is_dfxml("metadata"))
    {
        v.push("<metadata> must be the first DFXML element (order)".into());
    }
    walk_dfxml(&root, None, &mut v);
    v
}

fn walk_dfxml(node: &XmlNode, parent: Option<&XmlNode>, v: &mut Vec<String>) {
    let mh = mediahash::report::dfxml::MH_NAMESPACE;
    match node.ns.as_deref() {
        Some(DFXML_NS) => {}
        // Dublin Core belongs in <metadata>; every other non-DFXML element is ours.
        Some(DC_NS) if parent.is_some_and(|p| p.is_dfxml("metadata")) => return,
        Some(ns) if ns == mh => return,
        _ => {
            let where_ = parent.map(XmlNode::label).unwrap_or_default();
            return v.push(format!(
                "{} in {where_}: namespace is neither DFXML nor {mh}",
                node.label()
            ));
        }
    }
    // Attributes DFXML defines on what we write (foreign-namespace attributes are admitted).
    let allowed: &[&str] = match node.name.as_str() {
        "dfxml" => &["version", "catalogDesignDate"],
        "hashdigest" => &["type"],
        _ => &[],
    };
    for (ns, name, _) in &node.attrs {
        if ns.is_none() && !allowed.contains(&name.as_str()) {
            v.push(format!(
                "{}: attribute {name} is not defined (or deprecated) in DFXML",
                node.label()
            ));
        }
    }
    match node.name.as_str() {
        "dfxml" => {}
        "metadata" => {
            if !node.children.iter().any(|c| c.ns.as_deref() == Some(DC_NS)) {
                v.push("<metadata>: no Dublin Core element".into());
            }
            return;
        }
        "creator" => check_sequence(node, CREATOR_MODEL, v),
        "source" => check_sequence(node, SOURCE_MODEL, v),
        "execution_environment" => {
            for (i, c) in node.children.iter().enumerate() {
                if !EXECUTION_ENVIRONMENT.iter().any(|n| c.is_dfxml(n)) {
                    v.push(format!("<execution_environment>: {} not allowed", c.label()));
                } else if node.children[..i].iter().any(|p| p.ns == c.ns && p.name == c.name) {
                    v.push(format!("<execution_environment>: {} more than once", c.label()));
                }
            }
        }
        "fileobject" => {
            check_sequence(node, FILEOBJECT_MODEL, v);
            let count = |name: &str| node.children.iter().filter(|c| c.is_dfxml(name)).count();
            if count("filename") != 1 || count("name_type") != 1 {
                v.push(format!(
                    "{}: we write exactly one filename and one name_type",
                    node.label()
                ));
            }
            let disposition = node
                .children
                .iter()
                .find(|c| {
                    c.ns.as_deref() == Some(mediahash::report::dfxml::MH_NAMESPACE)
                        && c.name == "disposition"
                })
                .map(|c| c.text.as_str());
            if (count("error") == 1) != (disposition == Some("error")) {
                v.push(format!("{}: <error> exactly when mh:disposition is error", node.label()));
            }
        }
        _ => check_leaf(node, v),
    }
    for c in &node.children {
        walk_dfxml(c, Some(node), v);
    }
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
    let pdq = first.get(&root.join("shapes.png")).pdq.unwrap().to_hex();

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
    assert_eq!(alert.disposition, EntryDisposition::Alert);
    let m = &alert.matches[0];
    assert_eq!((m.set.as_str(), m.hash), ("cases.json", HashKind::Md5));
    assert_eq!((m.category.as_deref(), m.profile.as_deref()), (Some("1"), Some("US")));
    assert_eq!((m.victim_identified, m.source_id.as_deref()), (Some(true), Some("7")));
    assert_eq!(report.get(&root.join("ignore.bin")).disposition, EntryDisposition::Ignore);
    assert_eq!(report.get(&root.join("other.txt")).disposition, EntryDisposition::Other);
    let shapes = report.get(&root.join("shapes.png"));
    assert_eq!(shapes.disposition, EntryDisposition::Alert);
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
        assert_eq!(a.disposition, b.disposition, "{}", a.path_text());
    }

    // A damaged .mhset is refused with a clear error.
    let mut bytes = fs::read(&mhset).unwrap();
    bytes.truncate(bytes.len() / 2);
    fs::write(dir.path().join("bad.mhset"), bytes).unwrap();
    let err = open_mhset(&dir.path().join("bad.mhset")).unwrap_err();
    assert!(err.to_string().contains("bad.mhset"), "{err}");
}

// ---------------------------------------------------------------- issue 11: soundness

fn md5_hex(e: &EntryRecord) -> Option<String> {
    e.md5.map(|d| mediahash::hex::encode(&d))
}

fn reason_code(e: &EntryRecord) -> Option<mediahash::report::ReasonCode> {
    e.reason.as_ref().map(|r| r.code)
}

#[test]
fn followed_links_stay_inside_the_evidence_root() {
    use mediahash::report::ReasonCode;
    let dir = tempfile::tempdir().unwrap();
    // The examiner's own machine: never to be read as evidence.
    let host = dir.path().join("host");
    fs::create_dir(&host).unwrap();
    fs::write(host.join("secret.txt"), b"examiner's own file").unwrap();
    let root = dir.path().join("ev");
    fs::create_dir_all(root.join("usr/share/doc")).unwrap();
    fs::create_dir_all(root.join("a/b")).unwrap();
    fs::write(root.join("usr/share/doc/inside.txt"), b"on the seized disk").unwrap();
    // Absolute links: paths on the seized disk, looked up inside the root.
    symlink(&host, root.join("to-host")).unwrap();
    symlink("/usr/share/doc", root.join("doc")).unwrap();
    symlink("/etc/passwd", root.join("passwd")).unwrap();
    symlink("/n2", root.join("n1")).unwrap();
    symlink("usr/share/doc/inside.txt", root.join("n2")).unwrap();
    // `..` chains.
    symlink("../../..", root.join("a/b/up3")).unwrap();
    symlink("../../../host/secret.txt", root.join("a/b/secret")).unwrap();
    symlink("../../usr/./share/../share/doc", root.join("a/b/doc-rel")).unwrap();
    // Loops, relative and absolute.
    symlink("loop-b", root.join("loop-a")).unwrap();
    symlink("/loop-a", root.join("loop-b")).unwrap();

    let options = ScanOptions { follow_symlinks: true, ..Default::default() };
    let report = run(std::slice::from_ref(&root), &[], &options);
    let host_md5 = mediahash::hex::encode(&md5_of(b"examiner's own file"));
    for e in &report.entries {
        assert!(!e.path_text().contains("secret.txt"), "host entry reported: {}", e.path_text());
        assert_ne!(md5_hex(e).as_deref(), Some(host_md5.as_str()), "host file read: {e:?}");
    }

    let to_host = report.get(&root.join("to-host"));
    assert_eq!(to_host.disposition, EntryDisposition::Skipped);
    assert_eq!(reason_code(to_host), Some(ReasonCode::DanglingSymlink));
    assert!(to_host.reason_message().unwrap().contains("inside the evidence root"), "{to_host:?}");
    let passwd = report.get(&root.join("passwd"));
    assert_eq!(passwd.disposition, EntryDisposition::Skipped);
    assert!(passwd.md5.is_none());
    assert!(passwd.reason_message().unwrap().contains("/etc does not exist"), "{passwd:?}");

    // `/usr/share/doc` is the evidence's own /usr/share/doc: followed there.
    let inside_md5 = mediahash::hex::encode(&md5_of(b"on the seized disk"));
    assert_eq!(report.get(&root.join("doc")).disposition, EntryDisposition::Directory);
    let via_abs = report.get(&root.join("doc/inside.txt"));
    assert_eq!(md5_hex(via_abs).as_deref(), Some(inside_md5.as_str()));
    let via_rel = report.get(&root.join("a/b/doc-rel/inside.txt"));
    assert_eq!(md5_hex(via_rel).as_deref(), Some(inside_md5.as_str()));
    // A link to an absolute link to a relative link.
    let nested = report.get(&root.join("n1"));
    assert_eq!(nested.kind, EntryKind::Symlink);
    assert_eq!(md5_hex(nested).as_deref(), Some(inside_md5.as_str()));

    for (link, target) in [("a/b/up3", "../../.."), ("a/b/secret", "../../../host/secret.txt")] {
        let e = report.get(&root.join(link));
        assert_eq!(e.disposition, EntryDisposition::Skipped, "{link}");
        assert_eq!(reason_code(e), Some(ReasonCode::SymlinkOutsideEvidence), "{link}");
        let why = e.reason_message().unwrap();
        assert!(why.contains(target) && why.contains("above the evidence root"), "{why}");
    }
    for link in ["loop-a", "loop-b"] {
        let e = report.get(&root.join(link));
        assert_eq!(reason_code(e), Some(ReasonCode::SymlinkLoop), "{link}: {e:?}");
    }
    assert!(report.footer().counts.is_consistent());
}

/// Creates `levels` nested directories `d` under `root` with `openat`/`mkdirat` (the path
/// outgrows PATH_MAX), a file `e` holding the level number every `every` levels, and
/// `bottom.txt` at the bottom. Returns the bottom's path.
fn deep_tree(root: &Path, levels: usize, every: usize) -> PathBuf {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    fs::create_dir(root).unwrap();
    let c = |s: &str| CString::new(s).unwrap();
    let write_at = |dir: &OwnedFd, name: &str, bytes: &[u8]| {
        // SAFETY: dir is open; the name is NUL-terminated.
        let fd = unsafe {
            libc::openat(dir.as_raw_fd(), c(name).as_ptr(), libc::O_WRONLY | libc::O_CREAT, 0o644)
        };
        assert!(fd >= 0, "{}", io::Error::last_os_error());
        // SAFETY: fd was just opened and is owned here.
        let mut file = fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) });
        io::Write::write_all(&mut file, bytes).unwrap();
    };
    let mut dir: OwnedFd = fs::File::open(root).unwrap().into();
    let mut path = root.to_path_buf();
    for level in 1..=levels {
        // SAFETY: dir is open; the names are NUL-terminated.
        unsafe {
            assert_eq!(libc::mkdirat(dir.as_raw_fd(), c("d").as_ptr(), 0o755), 0);
            let fd = libc::openat(dir.as_raw_fd(), c("d").as_ptr(), libc::O_DIRECTORY);
            assert!(fd >= 0, "{}", io::Error::last_os_error());
            dir = OwnedFd::from_raw_fd(fd);
        }
        path.push("d");
        if level % every == 0 {
            write_at(&dir, "e", level.to_string().as_bytes());
        }
    }
    write_at(&dir, "bottom.txt", b"deep");
    path.join("bottom.txt")
}

#[test]
fn tree_deeper_than_path_max_is_walked_to_the_bottom() {
    const LEVELS: usize = 3000;
    const EVERY: usize = 10;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("deep");
    let bottom = deep_tree(&root, LEVELS, EVERY);
    assert!(bottom.as_os_str().len() > libc::PATH_MAX as usize);

    // The most descriptors open at once while files are opened (bounded, not one per level).
    let most_fds = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut options = ScanOptions { threads: 2, ..Default::default() };
    let counter = most_fds.clone();
    options.hooks.after_open = Some(Arc::new(move |_path: &Path| {
        let open = fs::read_dir("/proc/self/fd").map(|d| d.count()).unwrap_or(0);
        counter.fetch_max(open, Ordering::Relaxed);
    }));
    let report = run(std::slice::from_ref(&root), &[], &options);
    let files = LEVELS / EVERY + 1;
    assert_eq!(report.entries.len(), 1 + LEVELS + files, "{:?}", report.footer());
    assert_eq!(report.footer().counts.directory, 1 + LEVELS as u64);
    assert_eq!(
        report.footer().counts.error,
        0,
        "{:?}",
        report.entries.iter().find(|e| e.reason.is_some())
    );
    let deepest = report.get(&bottom);
    assert_eq!(deepest.disposition, EntryDisposition::Other);
    assert_eq!(md5_hex(deepest), Some(mediahash::hex::encode(&md5_of(b"deep"))));
    // Each level's file, read on the way back up (its directory reopened by name).
    let mut level_path = root.clone();
    for level in 1..=LEVELS {
        level_path.push("d");
        if level % EVERY == 0 {
            let e = report.get(&level_path.join("e"));
            assert_eq!(
                md5_hex(e),
                Some(mediahash::hex::encode(&md5_of(level.to_string().as_bytes())))
            );
        }
    }
    assert_eq!(report.footer().exit_status, 0);
    let most = most_fds.load(Ordering::Relaxed);
    assert!(most > 0 && most < 1000, "{most} descriptors open at once");
    remove_deep_tree(&root);
}

/// Removes a [`deep_tree`] one level at a time with short paths (`remove_dir_all` takes
/// seconds on 3,000 levels).
fn remove_deep_tree(root: &Path) {
    let (d, t) = (root.join("d"), root.join("t"));
    while fs::symlink_metadata(&d).is_ok() {
        fs::rename(&d, &t).unwrap();
        if fs::symlink_metadata(t.join("d")).is_ok() {
            fs::rename(t.join("d"), &d).unwrap();
        }
        fs::remove_dir_all(&t).unwrap();
    }
}

fn refuse_noatime(options: &mut ScanOptions, mount_keeps_atime: bool) {
    options.hooks.fail = Some(Arc::new(|point, _path| {
        (point == HookPoint::NoAtime).then(|| io::Error::from_raw_os_error(libc::EPERM))
    }));
    options.hooks.mount_keeps_atime = Some(mount_keeps_atime);
}

fn small_tree(dir: &Path) -> PathBuf {
    let root = dir.join("ev");
    fs::create_dir_all(root.join("sub")).unwrap();
    fs::write(root.join("sub/f.txt"), b"f").unwrap();
    fs::write(root.join("g.txt"), b"g").unwrap();
    root
}

#[test]
fn refused_noatime_reads_nothing_unless_allowed_and_then_counts_and_fails() {
    use mediahash::report::ReasonCode;
    use mediahash::scan::{AtimeProtection, atime_preflight};
    let dir = tempfile::tempdir().unwrap();
    let root = small_tree(dir.path());
    let mut options = ScanOptions::default();
    refuse_noatime(&mut options, false);

    let checks = atime_preflight(std::slice::from_ref(&root), &options);
    assert_eq!(checks.len(), 1);
    assert!(matches!(checks[0].protection, AtimeProtection::Refused), "{checks:?}");

    // Not allowed: nothing is listed or read, and the root says why.
    let report = run(std::slice::from_ref(&root), &[], &options);
    assert_eq!(report.entries.len(), 1);
    let e = report.get(&root);
    assert_eq!(e.disposition, EntryDisposition::Error);
    assert_eq!(reason_code(e), Some(ReasonCode::AtimeWouldChange));
    assert!(e.reason_message().unwrap().contains("--allow-atime-changes"));
    assert_eq!(report.footer().exit_status, 2);

    // Allowed: read, every directory and file counted, exit status 2 all the same.
    options.allow_atime_changes = true;
    let report = run(std::slice::from_ref(&root), &[], &options);
    assert_eq!(report.entries.len(), 4);
    assert_eq!(report.footer().counts.error, 0);
    assert_eq!(report.footer().files_without_noatime, 2);
    assert_eq!(report.footer().dirs_without_noatime, 2);
    assert_eq!(report.get(&root.join("sub")).noatime, Some(false));
    assert_eq!(report.get(&root.join("g.txt")).noatime, Some(false));
    assert_eq!(report.footer().exit_status, 2);

    // A read-only or noatime mount keeps the times whatever O_NOATIME does.
    let mut on_ro_mount = ScanOptions::default();
    refuse_noatime(&mut on_ro_mount, true);
    let checks = atime_preflight(std::slice::from_ref(&root), &on_ro_mount);
    assert!(matches!(checks[0].protection, AtimeProtection::Mount), "{checks:?}");
    let report = run(std::slice::from_ref(&root), &[], &on_ro_mount);
    assert_eq!(report.footer().files_without_noatime + report.footer().dirs_without_noatime, 0);
    assert_eq!(report.get(&root.join("g.txt")).noatime, Some(true));
    assert_eq!(report.footer().exit_status, 0);

    // Unhooked (root here has CAP_FOWNER): granted, or the mount protects.
    let checks = atime_preflight(std::slice::from_ref(&root), &ScanOptions::default());
    assert!(
        matches!(checks[0].protection, AtimeProtection::NoAtime | AtimeProtection::Mount),
        "{checks:?}"
    );
}

#[test]
fn scan_leaves_directory_and_file_access_times_alone() {
    let dir = tempfile::tempdir().unwrap();
    let root = small_tree(dir.path());
    let paths = all_paths(&root);
    for p in &paths {
        age_times(p);
    }
    let before = times(&paths);
    let report = run(std::slice::from_ref(&root), &[], &ScanOptions::default());
    assert_eq!(report.entries.len(), 4);
    assert_eq!(times(&paths), before);
}

#[test]
fn overlapping_roots_report_each_entry_once() {
    use mediahash::report::ReasonCode;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("ev");
    fs::create_dir_all(root.join("sub")).unwrap();
    fs::write(root.join("sub/a.png"), png_bytes(&synth_named("shapes-640x480"))).unwrap();
    fs::write(root.join("top.txt"), b"top").unwrap();
    symlink(&root, dir.path().join("zz-alias")).unwrap();
    let roots = vec![
        root.join("sub/a.png"),
        root.clone(),
        root.join("sub"),
        root.join("sub/../sub/a.png"),
        dir.path().join("zz-alias"),
        root.join("sub/.."),
    ];
    let report = run(&roots, &[], &ScanOptions::default());
    let png_md5 = md5_of(&fs::read(root.join("sub/a.png")).unwrap());
    let hashed: Vec<_> = report.entries.iter().filter(|e| e.md5 == Some(png_md5)).collect();
    assert_eq!(hashed.len(), 1, "{hashed:?}");
    assert_eq!(hashed[0].path, root.join("sub/a.png").as_os_str().as_bytes());
    // root + sub + a.png + top.txt walked once; five roots reported as covered.
    let covered: Vec<_> =
        report.entries.iter().filter(|e| reason_code(e) == Some(ReasonCode::Duplicate)).collect();
    assert_eq!(covered.len(), 5, "{covered:#?}");
    for e in &covered {
        assert_eq!(e.disposition, EntryDisposition::Skipped);
        let why = e.reason_message().unwrap();
        assert!(why.contains(&format!("evidence root {}", root.display())), "{why}");
    }
    let alias = report.get(&dir.path().join("zz-alias"));
    assert!(alias.reason_message().unwrap().contains("the same place"), "{alias:?}");
    assert_eq!(report.entries.len(), 4 + 5);
    let c = report.footer().counts;
    assert!(c.is_consistent());
    assert_eq!((c.entries, c.directory, c.unknown_image, c.other, c.skipped), (9, 2, 1, 1, 5));
}

#[test]
fn report_and_work_dir_never_beside_an_evidence_file() {
    use mediahash::scan::ensure_work_dir_outside_evidence;
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("ev1/sub");
    fs::create_dir_all(&sub).unwrap();
    fs::write(sub.join("a.png"), b"evidence").unwrap();
    let roots = vec![sub.join("a.png")];
    for report in [sub.join("r.jsonl"), sub.join("new/r.jsonl"), sub.join("a.png")] {
        let err = ensure_outside_evidence(&report, &roots).unwrap_err();
        assert!(matches!(err, ScanError::ReportInsideEvidence { root_is_file: true, .. }), "{err}");
        let text = err.to_string();
        assert!(text.contains("the folder of evidence file"), "{text}");
        assert!(text.contains(&sub.join("a.png").display().to_string()), "{text}");
    }
    ensure_outside_evidence(&dir.path().join("ev1/r.jsonl"), &roots).unwrap();
    let err = ensure_work_dir_outside_evidence(&sub, &roots).unwrap_err();
    assert!(matches!(err, ScanError::WorkDirInsideEvidence { .. }), "{err}");
    assert!(err.to_string().contains("TMPDIR"), "{err}");
    ensure_work_dir_outside_evidence(&dir.path().join("ev1"), &roots).unwrap();
}

#[test]
fn deep_tree_behind_a_followed_link_is_walked_and_reopened() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("ev");
    let mut p = root.join("real");
    let mut files = Vec::new();
    for level in 1..=150 {
        p.push("d");
        fs::create_dir_all(&p).unwrap();
        if level % 10 == 0 {
            fs::write(p.join("e"), level.to_string()).unwrap();
            files.push((level, p.join("e")));
        }
    }
    symlink("real", root.join("link")).unwrap();
    let options = ScanOptions { follow_symlinks: true, ..Default::default() };
    let report = run(std::slice::from_ref(&root), &[], &options);
    for (level, real) in &files {
        let rel = real.strip_prefix(root.join("real")).unwrap();
        let linked = report.get(&root.join("link").join(rel));
        assert_eq!(
            md5_hex(linked),
            Some(mediahash::hex::encode(&md5_of(level.to_string().as_bytes())))
        );
        assert_eq!(report.get(real).md5, linked.md5);
    }
    assert_eq!(report.footer().counts.error, 0);
    assert_eq!(report.footer().counts.directory, 1 + 2 * 151);
}

/// Many small files (batched: their MD5s run in SIMD lanes together) and a few large ones
/// (streamed alone): the entries are byte-identical at 1, 2 and 3 threads and with a tiny
/// reorder window, and every digest equals the one-stream digests.
#[test]
fn batched_small_files_give_identical_reports() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("many");
    fs::create_dir_all(root.join("d")).unwrap();
    let mut contents = BTreeMap::new();
    for n in 0..240usize {
        let size = match n % 40 {
            0 => (1 << 20) + 7 * n, // over the batch limit: a task of its own
            1 => [0, 1, 55, 56, 63, 64, 65][n / 40 % 7],
            _ => (n * 7919) % 9000,
        };
        let data: Vec<u8> = (0..size).map(|i| (i * 13 + n * 101 + (i >> 7)) as u8).collect();
        let path =
            if n % 2 == 0 { root.join(format!("d/{n:03}")) } else { root.join(format!("{n:03}")) };
        fs::write(&path, &data).unwrap();
        contents.insert(path, data);
    }
    let one = ScanOptions { threads: 1, ..Default::default() };
    let a = jsonl_entries(std::slice::from_ref(&root), &[], &one);
    for (threads, window) in [(2, 0), (3, 5), (2, 1)] {
        let options = ScanOptions { threads, window, ..Default::default() };
        assert_eq!(
            a,
            jsonl_entries(std::slice::from_ref(&root), &[], &options),
            "{threads} threads"
        );
    }
    let report = run(std::slice::from_ref(&root), &[], &one);
    for (path, data) in &contents {
        let entry = report.get(path);
        let want = mediahash::digest::digest_bytes(data, Default::default());
        assert_eq!(entry.md5, Some(want.md5), "{path:?}");
        assert_eq!(entry.sha1, Some(want.sha1), "{path:?}");
        assert_eq!(entry.sha256, Some(want.sha256), "{path:?}");
        assert_eq!(entry.bytes_read, Some(data.len() as u64));
    }
}
