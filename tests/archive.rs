//! ZIP archives found during a scan (issue #15, items 5 and 6): members hashed like files,
//! nested archives, zip-bomb limits, hostile names, encrypted, truncated and damaged
//! archives. Archives are built here: with the `zip` crate's writer, with a small writer of
//! our own for hostile structures, and with Info-ZIP's `zip`, whose `unzip -p` is the
//! oracle for the members' bytes (those tests carry `cfg_attr(not(mediahash_zip_tools),
//! ignore)`; build.rs sets the cfg when the tools are on PATH, and always in CI).

mod common;

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::capture::Captured;
use common::synth;
use common::tools::run_tool_in;
use mediahash::evidence::archive::ArchiveLimits;
use mediahash::report::{
    EntryDisposition, EntryKind, EntryRecord, Footer, Header, ReasonCode, ReportWriter,
};
use mediahash::scan::{ScanOptions, scan};
use sha1::{Digest, Sha1};

const ZIP_TOOLS: &str =
    "needs Info-ZIP zip and unzip (apt-get install -y zip unzip; then touch build.rs)";

fn scan_with(root: &Path, options: &ScanOptions) -> (Vec<EntryRecord>, Footer) {
    let mut out = Captured::default();
    scan(&[root.to_path_buf()], &[], options, &mut out).unwrap();
    let footer = out.footer.unwrap();
    assert!(footer.counts.is_consistent(), "counts add up");
    assert_eq!(footer.counts.entries, out.entries.len() as u64);
    (out.entries, footer)
}

fn scan_dir(root: &Path) -> Vec<EntryRecord> {
    scan_with(root, &ScanOptions { threads: 2, ..ScanOptions::default() }).0
}

fn find<'a>(records: &'a [EntryRecord], suffix: &str) -> &'a EntryRecord {
    records
        .iter()
        .find(|r| r.path.ends_with(suffix.as_bytes()))
        .unwrap_or_else(|| panic!("no record ending {suffix:?} in {:#?}", paths(records)))
}

fn paths(records: &[EntryRecord]) -> Vec<String> {
    records.iter().map(|r| r.path_text().into_owned()).collect()
}

fn code(r: &EntryRecord) -> Option<ReasonCode> {
    r.reason.as_ref().map(|r| r.code)
}

fn sha1(bytes: &[u8]) -> [u8; 20] {
    Sha1::digest(bytes).into()
}

fn picture(seed: u32) -> Vec<u8> {
    synth::png_rgb8(96, 64, &synth::photo_like(96, 64, seed))
}

fn deflate(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// One member for [`zip_bytes`]: what the headers say can differ from the data (hostile).
#[derive(Clone)]
struct Member {
    name: Vec<u8>,
    /// The bytes stored (already compressed for method 8).
    stored: Vec<u8>,
    method: u16,
    flags: u16,
    crc: u32,
    size: u64,
}

impl Member {
    fn stored(name: &[u8], data: &[u8]) -> Member {
        Member {
            name: name.to_vec(),
            stored: data.to_vec(),
            method: 0,
            flags: 0,
            crc: crc32fast::hash(data),
            size: data.len() as u64,
        }
    }
    fn deflated(name: &[u8], data: &[u8]) -> Member {
        Member { stored: deflate(data), method: 8, ..Member::stored(name, data) }
    }
}

fn local_header(m: &Member) -> Vec<u8> {
    let mut h = Vec::new();
    h.extend_from_slice(b"PK\x03\x04");
    h.extend_from_slice(&20u16.to_le_bytes());
    h.extend_from_slice(&m.flags.to_le_bytes());
    h.extend_from_slice(&m.method.to_le_bytes());
    h.extend_from_slice(&[0, 0, 0x21, 0]);
    h.extend_from_slice(&m.crc.to_le_bytes());
    h.extend_from_slice(&(m.stored.len() as u32).to_le_bytes());
    h.extend_from_slice(&(m.size as u32).to_le_bytes());
    h.extend_from_slice(&(m.name.len() as u16).to_le_bytes());
    h.extend_from_slice(&0u16.to_le_bytes());
    h.extend_from_slice(&m.name);
    h
}

fn central_header(m: &Member, offset: u64) -> Vec<u8> {
    let mut h = Vec::new();
    h.extend_from_slice(b"PK\x01\x02");
    h.extend_from_slice(&[20, 3, 20, 0]);
    h.extend_from_slice(&m.flags.to_le_bytes());
    h.extend_from_slice(&m.method.to_le_bytes());
    h.extend_from_slice(&[0, 0, 0x21, 0]);
    h.extend_from_slice(&m.crc.to_le_bytes());
    h.extend_from_slice(&(m.stored.len() as u32).to_le_bytes());
    h.extend_from_slice(&(m.size as u32).to_le_bytes());
    h.extend_from_slice(&(m.name.len() as u16).to_le_bytes());
    h.extend_from_slice(&[0; 8]);
    h.extend_from_slice(&[0; 4]);
    h.extend_from_slice(&(offset as u32).to_le_bytes());
    h.extend_from_slice(&m.name);
    h
}

fn end_record(entries: usize, cd_len: usize, cd_offset: usize) -> Vec<u8> {
    let mut h = Vec::new();
    h.extend_from_slice(b"PK\x05\x06");
    h.extend_from_slice(&[0; 4]);
    h.extend_from_slice(&(entries as u16).to_le_bytes());
    h.extend_from_slice(&(entries as u16).to_le_bytes());
    h.extend_from_slice(&(cd_len as u32).to_le_bytes());
    h.extend_from_slice(&(cd_offset as u32).to_le_bytes());
    h.extend_from_slice(&0u16.to_le_bytes());
    h
}

/// A ZIP of `members`, written as the headers say (our own writer, for hostile archives).
fn zip_bytes(members: &[Member]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut offsets = Vec::new();
    for m in members {
        offsets.push(out.len() as u64);
        out.extend_from_slice(&local_header(m));
        out.extend_from_slice(&m.stored);
    }
    let cd_offset = out.len();
    for (m, &off) in members.iter().zip(&offsets) {
        out.extend_from_slice(&central_header(m, off));
    }
    let cd_len = out.len() - cd_offset;
    out.extend_from_slice(&end_record(members.len(), cd_len, cd_offset));
    out
}

/// A ZIP written by the `zip` crate: (name, bytes, deflate?).
fn crate_zip(members: &[(&str, &[u8], bool)]) -> Vec<u8> {
    use zip::write::SimpleFileOptions;
    let mut w = zip::ZipWriter::new(io::Cursor::new(Vec::new()));
    for (name, data, deflated) in members {
        let method = if *deflated {
            zip::CompressionMethod::Deflated
        } else {
            zip::CompressionMethod::Stored
        };
        w.start_file(*name, SimpleFileOptions::default().compression_method(method)).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

#[test]
fn members_are_hashed_like_files_in_central_directory_order() {
    let dir = tempfile::tempdir().unwrap();
    let pic = picture(3);
    let text = b"chat export line\n".repeat(100);
    let bytes = crate_zip(&[
        ("media/IMG_0001.png", &pic, true),
        ("chat.txt", &text, true),
        ("media/stored.png", &pic, false),
    ]);
    // Named as anything but .zip: detection is by content.
    std::fs::write(dir.path().join("export.bin"), &bytes).unwrap();
    std::fs::write(dir.path().join("loose.png"), &pic).unwrap();
    let records = scan_dir(dir.path());
    let names = paths(&records);
    let root = dir.path().to_string_lossy().into_owned();
    assert_eq!(
        names,
        [
            root.clone(),
            format!("{root}/export.bin"),
            format!("{root}/export.bin!/"),
            format!("{root}/export.bin!/media/IMG_0001.png"),
            format!("{root}/export.bin!/chat.txt"),
            format!("{root}/export.bin!/media/stored.png"),
            format!("{root}/loose.png"),
        ]
    );
    let archive = find(&records, "/export.bin");
    assert_eq!(archive.disposition, EntryDisposition::Other);
    assert_eq!(archive.sha1, Some(sha1(&bytes)), "the archive is hashed as a file too");
    assert!(archive.location.is_none());
    let listing = find(&records, "export.bin!/");
    assert_eq!(listing.kind, EntryKind::Directory);
    assert_eq!(listing.disposition, EntryDisposition::Directory);
    let loose = find(&records, "/loose.png");
    for suffix in ["!/media/IMG_0001.png", "!/media/stored.png"] {
        let m = find(&records, suffix);
        assert_eq!(m.disposition, EntryDisposition::UnknownImage, "{suffix}");
        assert_eq!(m.sha1, Some(sha1(&pic)));
        assert_eq!(m.pdq, loose.pdq, "PDQ of a member equals the loose file's");
        assert_eq!(m.size, Some(pic.len() as u64));
    }
    let chat = find(&records, "!/chat.txt");
    assert_eq!(chat.disposition, EntryDisposition::Other);
    assert_eq!(chat.sha256.unwrap().as_slice(), sha2::Sha256::digest(&text).as_slice());
    let loc = chat.location.as_ref().unwrap();
    assert_eq!(loc.image, format!("{root}/export.bin"));
    assert_eq!(loc.container, "file");
    assert_eq!(loc.archive.len(), 1);
    assert_eq!(loc.archive[0].name, "chat.txt");
    assert_eq!(loc.archive[0].index, 1);
    assert_eq!(loc.archive[0].method, "deflate");
    assert_eq!(loc.archive[0].crc32, format!("{:08x}", crc32fast::hash(&text)));

    // Off: the archive is one file.
    let off = ScanOptions { no_archives: true, ..ScanOptions::default() };
    let (records, _) = scan_with(dir.path(), &off);
    assert_eq!(records.len(), 3);
}

#[test]
fn nested_archives_to_the_depth_limit() {
    let dir = tempfile::tempdir().unwrap();
    let pic = picture(5);
    let level3 = crate_zip(&[("deepest.png", &pic, true)]);
    let level2 = crate_zip(&[("l3.zip", &level3, true), ("two.png", &pic, false)]);
    let level1 = crate_zip(&[("l2.zip", &level2, false), ("one.txt", b"one", true)]);
    std::fs::write(dir.path().join("outer.zip"), &level1).unwrap();

    let limits = ArchiveLimits { max_depth: 2, ..ArchiveLimits::default() };
    let options = ScanOptions { archive_limits: limits, threads: 2, ..ScanOptions::default() };
    let (records, _) = scan_with(dir.path(), &options);
    let two = find(&records, "outer.zip!/l2.zip!/two.png");
    assert_eq!(two.disposition, EntryDisposition::UnknownImage);
    assert_eq!(two.sha1, Some(sha1(&pic)));
    let chain = &two.location.as_ref().unwrap().archive;
    assert_eq!(chain.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(), ["l2.zip", "two.png"]);
    // The third level is hashed as a file; its members are beyond the limit.
    let l3 = find(&records, "outer.zip!/l2.zip!/l3.zip");
    assert_eq!(l3.sha1, Some(sha1(&level3)));
    let deep = find(&records, "outer.zip!/l2.zip!/l3.zip!/");
    assert_eq!(deep.disposition, EntryDisposition::Skipped);
    assert_eq!(code(deep), Some(ReasonCode::ArchiveTooDeep));
    assert!(!paths(&records).iter().any(|p| p.ends_with("deepest.png")));

    // Default depth: all three levels.
    let (records, _) = scan_with(dir.path(), &ScanOptions::default());
    let deepest = find(&records, "outer.zip!/l2.zip!/l3.zip!/deepest.png");
    assert_eq!(deepest.sha1, Some(sha1(&pic)));
    assert_eq!(deepest.location.as_ref().unwrap().archive.len(), 3);

    // A deflated nested archive over the in-memory limit is not inflated; a stored one of
    // any size is read in place.
    let limits = ArchiveLimits { max_nested_in_memory: 100, ..ArchiveLimits::default() };
    let options = ScanOptions { archive_limits: limits, ..ScanOptions::default() };
    let (records, _) = scan_with(dir.path(), &options);
    assert_eq!(find(&records, "outer.zip!/l2.zip!/two.png").sha1, Some(sha1(&pic)));
    let big = find(&records, "outer.zip!/l2.zip!/l3.zip!/");
    assert_eq!(big.disposition, EntryDisposition::Skipped);
    assert_eq!(code(big), Some(ReasonCode::TooLarge));
    assert!(big.reason_message().unwrap().contains("--archive-max-nested-size"));
}

#[test]
fn records_are_identical_for_any_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..6u32 {
        let pics: Vec<Vec<u8>> = (0..8).map(|j| picture(i * 10 + j)).collect();
        let members: Vec<(String, &[u8], bool)> = pics
            .iter()
            .enumerate()
            .map(|(j, p)| (format!("p{j}.png"), p.as_slice(), j % 2 == 0))
            .collect();
        let refs: Vec<(&str, &[u8], bool)> =
            members.iter().map(|(n, d, c)| (n.as_str(), *d, *c)).collect();
        let inner = crate_zip(&refs);
        let outer = crate_zip(&[("inner.zip", &inner, i % 2 == 0), ("x.png", &pics[0], true)]);
        std::fs::write(dir.path().join(format!("a{i}.zip")), &outer).unwrap();
    }
    let run = |threads| {
        let (records, footer) =
            scan_with(dir.path(), &ScanOptions { threads, window: 4, ..ScanOptions::default() });
        (records, footer.counts)
    };
    let (one, counts) = run(1);
    let (two, counts2) = run(2);
    let (four, _) = run(4);
    assert_eq!(one, two);
    assert_eq!(one, four);
    assert_eq!(counts, counts2);
    // Root + per archive: file, !/, inner.zip, inner !/, 8 pictures, x.png.
    assert_eq!(one.len(), 1 + 6 * 13);
}

/// The overlapping-entries bomb (David Fifield, "A better zip bomb", full overlap): one
/// deflated kernel that every central-directory entry points to.
fn overlap_bomb(entries: usize, kernel_len: usize) -> Vec<u8> {
    let zeros = vec![0u8; kernel_len];
    let kernel = Member::deflated(b"0", &zeros);
    let mut out = local_header(&kernel);
    out.extend_from_slice(&kernel.stored);
    let cd_offset = out.len();
    for i in 0..entries {
        let m = Member { name: format!("{i}").into_bytes(), ..kernel.clone() };
        out.extend_from_slice(&central_header(&m, 0));
    }
    let cd_len = out.len() - cd_offset;
    out.extend_from_slice(&end_record(entries, cd_len, cd_offset));
    out
}

#[test]
fn zip_bombs_are_refused_quickly() {
    let dir = tempfile::tempdir().unwrap();
    // 1 GB of zeros, deflated (about 1 MB).
    let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
    let chunk = vec![0u8; 1 << 20];
    for _ in 0..1024 {
        e.write_all(&chunk).unwrap();
    }
    let gigabyte = e.finish().unwrap();
    let crc = {
        let mut h = crc32fast::Hasher::new();
        for _ in 0..1024 {
            h.update(&chunk);
        }
        h.finalize()
    };
    let classic = Member {
        name: b"zeros.bin".to_vec(),
        stored: gigabyte.clone(),
        method: 8,
        flags: 0,
        crc,
        size: 1 << 30,
    };
    std::fs::write(dir.path().join("classic.zip"), zip_bytes(std::slice::from_ref(&classic)))
        .unwrap();
    // The same data declared as 1000 bytes: inflating stops at the declared size.
    let liar = Member { size: 1000, ..classic };
    std::fs::write(dir.path().join("liar.zip"), zip_bytes(&[liar])).unwrap();
    // 10,000 entries of 100 MB each, all the same bytes.
    std::fs::write(dir.path().join("overlap.zip"), overlap_bomb(10_000, 100 << 20)).unwrap();
    std::fs::write(dir.path().join("z-after.txt"), b"still scanned").unwrap();

    let started = Instant::now();
    let (records, footer) = scan_with(dir.path(), &ScanOptions::default());
    assert!(started.elapsed() < Duration::from_secs(20), "took {:?}", started.elapsed());
    assert!(footer.completed);
    let zeros = find(&records, "classic.zip!/zeros.bin");
    assert_eq!(zeros.disposition, EntryDisposition::Skipped);
    assert_eq!(code(zeros), Some(ReasonCode::ArchiveBomb));
    assert!(zeros.reason_message().unwrap().contains("--archive-max-ratio"));
    assert!(zeros.bytes_read.is_none(), "not inflated");
    let liar = find(&records, "liar.zip!/zeros.bin");
    assert_eq!(liar.disposition, EntryDisposition::Error);
    assert_eq!(code(liar), Some(ReasonCode::ArchiveBomb));
    assert!(liar.reason_message().unwrap().contains("declared 1000 bytes"));
    let overlap = find(&records, "overlap.zip!/");
    assert_eq!(overlap.disposition, EntryDisposition::Skipped);
    assert_eq!(code(overlap), Some(ReasonCode::ArchiveBomb));
    assert!(overlap.reason_message().unwrap().contains("overlap"));
    assert!(!paths(&records).iter().any(|p| p.contains("overlap.zip!/0")));
    assert_eq!(find(&records, "z-after.txt").disposition, EntryDisposition::Other);

    // Entry count and total size limits name themselves.
    let limits = ArchiveLimits { max_entries: 3, max_bytes: 2500, ..ArchiveLimits::default() };
    let many: Vec<Member> =
        (0..5).map(|i| Member::stored(format!("m{i}").as_bytes(), &[b'x'; 1000])).collect();
    let small = tempfile::tempdir().unwrap();
    std::fs::write(small.path().join("many.zip"), zip_bytes(&many)).unwrap();
    std::fs::write(small.path().join("three.zip"), zip_bytes(&many[..3])).unwrap();
    let (records, _) =
        scan_with(small.path(), &ScanOptions { archive_limits: limits, ..ScanOptions::default() });
    let many = find(&records, "many.zip!/");
    assert_eq!(code(many), Some(ReasonCode::ArchiveBomb));
    assert!(many.reason_message().unwrap().contains("--archive-max-entries"));
    assert_eq!(find(&records, "three.zip!/m1").disposition, EntryDisposition::Other);
    let third = find(&records, "three.zip!/m2");
    assert_eq!(code(third), Some(ReasonCode::ArchiveBomb));
    assert!(third.reason_message().unwrap().contains("--archive-max-bytes"));
}

/// Peak memory of `mh scan` inflating the whole 1 GB member (ratio limit raised): streamed.
#[cfg(feature = "cli")]
#[test]
fn inflating_a_gigabyte_member_streams() {
    let dir = tempfile::tempdir().unwrap();
    let reports = tempfile::tempdir().unwrap();
    let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
    let chunk = vec![0u8; 1 << 20];
    let mut h = crc32fast::Hasher::new();
    for _ in 0..1024 {
        e.write_all(&chunk).unwrap();
        h.update(&chunk);
    }
    let m = Member {
        name: b"zeros.bin".to_vec(),
        stored: e.finish().unwrap(),
        method: 8,
        flags: 0,
        crc: h.finalize(),
        size: 1 << 30,
    };
    std::fs::write(dir.path().join("big.zip"), zip_bytes(&[m])).unwrap();
    let report = reports.path().join("r.jsonl");
    let mut child = Command::new(env!("CARGO_BIN_EXE_mh"))
        .args(["scan", "--archive-max-ratio", "2000", "--threads", "2", "--report"])
        .arg(&report)
        .arg(dir.path())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // The child's own peak (VmHWM), sampled while it runs: getrusage would also count what a
    // forked child inherits from this test process before exec.
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak_kb = 0u64;
    let status = loop {
        if let Ok(text) = std::fs::read_to_string(&status_file)
            && let Some(line) = text.lines().find(|l| l.starts_with("VmHWM:"))
        {
            let kb = line.split_whitespace().nth(1).and_then(|v| v.parse().ok()).unwrap_or(0);
            peak_kb = peak_kb.max(kb);
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    assert_eq!(status.code(), Some(0));
    assert!(peak_kb > 0 && peak_kb < 100 << 10, "peak RSS of mh scan {peak_kb} kB");
    let text = std::fs::read_to_string(report).unwrap();
    let zeros = text.lines().find(|l| l.contains("zeros.bin")).unwrap();
    let zeros: serde_json::Value = serde_json::from_str(zeros).unwrap();
    assert_eq!(zeros["bytes_read"], 1u64 << 30);
    assert_eq!(zeros["sha1"], "2a492f15396a6768bcbca016993f4b4c8b0b5307");
}

#[test]
fn hostile_names_are_reported_and_nothing_is_written() {
    let outer = tempfile::tempdir().unwrap();
    let evidence = outer.path().join("evidence");
    std::fs::create_dir(&evidence).unwrap();
    let names: [&[u8]; 6] = [
        b"../../evil.txt",
        b"/tmp/abs-evil.txt",
        b"C:\\win.txt",
        b"a\\..\\b.txt",
        b"n\0ul",
        b"\xff\xfe.txt",
    ];
    let members: Vec<Member> = names.iter().map(|n| Member::stored(n, b"payload")).collect();
    std::fs::write(evidence.join("names.zip"), zip_bytes(&members)).unwrap();
    let before: Vec<_> =
        std::fs::read_dir(outer.path()).unwrap().map(|e| e.unwrap().path()).collect();
    let records = scan_dir(&evidence);
    let after: Vec<_> =
        std::fs::read_dir(outer.path()).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(before, after, "nothing written beside the evidence");
    assert!(!Path::new("/tmp/abs-evil.txt").exists());
    let flags = |suffix: &[u8]| -> Vec<String> {
        let r = records.iter().find(|r| r.path.ends_with(suffix)).expect("member record");
        assert_eq!(r.disposition, EntryDisposition::Other, "hashed like any file");
        r.location.as_ref().unwrap().archive[0].name_flags.clone()
    };
    assert_eq!(flags(b"names.zip!/../../evil.txt"), ["parent-dir"]);
    assert_eq!(flags(b"names.zip!//tmp/abs-evil.txt"), ["absolute"]);
    assert_eq!(flags(b"!/C:\\win.txt"), ["drive-letter", "backslash"]);
    assert_eq!(flags(b"!/a\\..\\b.txt"), ["parent-dir", "backslash"]);
    assert_eq!(flags(b"!/n\0ul"), ["nul"]);
    let odd = records.iter().find(|r| r.path.ends_with(b"!/\xff\xfe.txt")).unwrap();
    assert_eq!(odd.location.as_ref().unwrap().archive[0].name_hex.as_deref(), Some("fffe2e747874"));
    // Every writer copes with such names.
    for format in ["jsonl", "csv", "dfxml", "case"] {
        let format: mediahash::report::ReportFormat = format.parse().unwrap();
        let mut buf = Vec::new();
        let mut w = format.writer(&mut buf);
        w.header(&Header::default()).unwrap();
        for r in &records {
            w.entry(r).unwrap();
        }
        w.footer(&Footer::default()).unwrap();
        drop(w);
        assert!(!buf.is_empty());
        if format == mediahash::report::ReportFormat::Dfxml {
            let text = String::from_utf8(buf).unwrap();
            assert!(text.contains("mh:archive_member"));
            assert!(!text.contains('\0'), "NUL never reaches the XML");
            // Well-formed XML (Python's parser: python3 is needed by the C ABI tests too).
            let file = outer.path().join("report.xml");
            std::fs::write(&file, &text).unwrap();
            let parsed = Command::new("python3")
                .args(["-c", "import sys, xml.dom.minidom; xml.dom.minidom.parse(sys.argv[1])"])
                .arg(&file)
                .output()
                .expect("python3");
            assert!(parsed.status.success(), "{}", String::from_utf8_lossy(&parsed.stderr));
            if cfg!(mediahash_xmllint)
                && let Some(errors) = common::tools::dfxml_schema_errors(&file)
            {
                panic!("not valid against the DFXML schemas:\n{errors}");
            }
            std::fs::remove_file(&file).unwrap();
        }
    }
}

#[test]
fn damaged_archives_give_typed_errors_and_the_scan_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let pic = picture(9);
    let good =
        zip_bytes(&[Member::stored(b"a.png", &pic), Member::deflated(b"b.txt", &[b'b'; 5000])]);
    // Truncated: the central directory is gone.
    std::fs::write(dir.path().join("cut.zip"), &good[..good.len() / 2]).unwrap();
    // A flipped byte in the stored picture: CRC-32 mismatch.
    let mut flipped = good.clone();
    flipped[30 + 5 + 100] ^= 0x55;
    std::fs::write(dir.path().join("crc.zip"), &flipped).unwrap();
    // A damaged deflate stream.
    let mut bad_deflate = good.clone();
    let b_data = 30 + 5 + pic.len() + 30 + 5;
    bad_deflate[b_data] = 0xff;
    bad_deflate[b_data + 1] = 0xff;
    std::fs::write(dir.path().join("inflate.zip"), &bad_deflate).unwrap();
    // Unsupported method and encryption flag.
    let odd = zip_bytes(&[
        Member { method: 12, ..Member::stored(b"bz.bin", b"x") },
        Member { flags: 1, ..Member::stored(b"secret.jpg", b"x") },
    ]);
    std::fs::write(dir.path().join("odd.zip"), &odd).unwrap();
    std::fs::write(dir.path().join("z.txt"), b"after").unwrap();

    let records = scan_dir(dir.path());
    let cut = find(&records, "cut.zip!/");
    assert_eq!(cut.disposition, EntryDisposition::Error);
    assert_eq!(code(cut), Some(ReasonCode::ArchiveDamaged));
    assert_eq!(find(&records, "/cut.zip").disposition, EntryDisposition::Other);
    let crc = find(&records, "crc.zip!/a.png");
    assert_eq!(crc.disposition, EntryDisposition::Error);
    assert_eq!(code(crc), Some(ReasonCode::ArchiveCrcMismatch));
    assert_eq!(find(&records, "crc.zip!/b.txt").disposition, EntryDisposition::Other);
    let inflate = find(&records, "inflate.zip!/b.txt");
    assert_eq!(inflate.disposition, EntryDisposition::Error);
    assert_eq!(code(inflate), Some(ReasonCode::ArchiveDamaged));
    assert_eq!(code(find(&records, "odd.zip!/bz.bin")), Some(ReasonCode::ArchiveMethodUnsupported));
    let secret = find(&records, "odd.zip!/secret.jpg");
    assert_eq!(secret.disposition, EntryDisposition::Skipped);
    assert_eq!(code(secret), Some(ReasonCode::ArchiveEncrypted));
    assert!(secret.location.as_ref().unwrap().archive[0].encrypted);
    assert_eq!(find(&records, "/z.txt").disposition, EntryDisposition::Other);

    // A picture with a ZIP appended (offsets not adjusted) is found by its end record.
    let mut polyglot = pic.clone();
    polyglot.extend_from_slice(&zip_bytes(&[Member::stored(b"hidden.txt", b"hidden")]));
    let poly = tempfile::tempdir().unwrap();
    std::fs::write(poly.path().join("photo.png"), &polyglot).unwrap();
    let records = scan_dir(poly.path());
    assert_eq!(find(&records, "photo.png!/hidden.txt").sha1, Some(sha1(b"hidden")));
}

fn run(cmd: &str, dir: &Path, args: &[&str]) -> Vec<u8> {
    run_tool_in(Some(dir), cmd, args, ZIP_TOOLS)
}

/// A folder of files to zip with Info-ZIP.
fn tree(dir: &Path) {
    std::fs::create_dir_all(dir.join("DCIM/Camera")).unwrap();
    std::fs::create_dir_all(dir.join("WhatsApp/Media")).unwrap();
    std::fs::write(dir.join("DCIM/Camera/IMG_1.png"), picture(21)).unwrap();
    std::fs::write(dir.join("WhatsApp/Media/IMG-2.png"), picture(22)).unwrap();
    std::fs::write(dir.join("WhatsApp/msgstore.txt"), b"hello\n".repeat(3000)).unwrap();
    std::fs::write(dir.join("empty"), b"").unwrap();
}

#[test]
#[cfg_attr(not(mediahash_zip_tools), ignore = "needs zip and unzip (apt-get install zip unzip)")]
fn info_zip_members_match_unzip() {
    let work = tempfile::tempdir().unwrap();
    let src = work.path().join("src");
    tree(&src);
    let evidence = work.path().join("evidence");
    std::fs::create_dir(&evidence).unwrap();
    let archive = evidence.join("extraction.zip");
    run("zip", &src, &["-q", "-r", "-X", archive.to_str().unwrap(), "."]);
    // A nested archive: the extraction inside a chat export, stored (-0).
    let export = evidence.join("export.zip");
    run("zip", &evidence, &["-q", "-0", export.to_str().unwrap(), "extraction.zip"]);
    // Encrypted with a password.
    run(
        "zip",
        &src,
        &[
            "-q",
            "-P",
            "secret",
            work.path().join("enc.zip").to_str().unwrap(),
            "empty",
            "WhatsApp/msgstore.txt",
        ],
    );
    std::fs::rename(work.path().join("enc.zip"), evidence.join("enc.zip")).unwrap();

    let records = scan_dir(&evidence);
    // unzip -Z1 lists names in central-directory order: the members must follow it.
    let listed = String::from_utf8(run("unzip", &evidence, &["-Z1", "extraction.zip"])).unwrap();
    let names: Vec<&str> = listed.lines().collect();
    assert!(names.len() >= 7, "{names:?}");
    let prefix = format!("{}/extraction.zip!/", evidence.display());
    let ours: Vec<String> = paths(&records)
        .into_iter()
        .filter_map(|p| p.strip_prefix(&prefix).map(str::to_string))
        .filter(|p| !p.is_empty())
        .collect();
    assert_eq!(ours, names, "central-directory order");
    for name in &names {
        let r = find(&records, &format!("/extraction.zip!/{name}"));
        if name.ends_with('/') {
            assert_eq!(r.kind, EntryKind::Directory);
            continue;
        }
        let bytes = run("unzip", &evidence, &["-p", "extraction.zip", name]);
        assert_eq!(r.sha1, Some(sha1(&bytes)), "{name}: SHA-1 equals unzip -p's");
        assert_eq!(r.bytes_read, Some(bytes.len() as u64));
        // The same member one level deeper, through the stored nested archive.
        let nested = find(&records, &format!("/export.zip!/extraction.zip!/{name}"));
        assert_eq!(nested.sha1, r.sha1);
    }
    let img = find(&records, "extraction.zip!/DCIM/Camera/IMG_1.png");
    assert_eq!(img.disposition, EntryDisposition::UnknownImage);
    for name in ["empty", "WhatsApp/msgstore.txt"] {
        let r = find(&records, &format!("enc.zip!/{name}"));
        assert_eq!(r.disposition, EntryDisposition::Skipped, "{name}");
        assert_eq!(code(r), Some(ReasonCode::ArchiveEncrypted));
    }
}

#[cfg(feature = "cli")]
#[test]
#[cfg_attr(not(mediahash_zip_tools), ignore = "needs zip and unzip (apt-get install zip unzip)")]
fn mh_scan_matches_a_picture_inside_a_zip() {
    let work = tempfile::tempdir().unwrap();
    let src = work.path().join("src");
    tree(&src);
    let evidence = work.path().join("evidence");
    std::fs::create_dir(&evidence).unwrap();
    run("zip", &src, &["-q", "-r", evidence.join("phone.zip").to_str().unwrap(), "."]);
    std::fs::write(evidence.join("notes.txt"), b"nothing").unwrap();
    // The reference set: the picture's MD5 (md5sum list) and its PDQ re-encoded elsewhere.
    let known = src.join("WhatsApp/Media/IMG-2.png");
    let md5 = md5::Md5::digest(std::fs::read(&known).unwrap());
    let list = work.path().join("known.md5");
    let hex: String = md5.iter().map(|b| format!("{b:02x}")).collect();
    std::fs::write(&list, format!("{hex}  IMG-2.png\n")).unwrap();
    let set = work.path().join("known.mhset");
    let mh = env!("CARGO_BIN_EXE_mh");
    let out = Command::new(mh)
        .args(["refset", "build", "-o"])
        .arg(&set)
        .arg("--alert")
        .arg(&list)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let scan = |threads: &str, name: &str| {
        let report = work.path().join(name);
        let out = Command::new(mh)
            .args(["scan", "--threads", threads, "--refset"])
            .arg(&set)
            .arg("--report")
            .arg(&report)
            .arg(&evidence)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "alerts: {}", String::from_utf8_lossy(&out.stderr));
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        (std::fs::read_to_string(report).unwrap(), stderr)
    };
    let (one, stderr) = scan("1", "one.jsonl");
    let (two, _) = scan("2", "two.jsonl");
    let entries = |t: &str| -> Vec<String> {
        t.lines().filter(|l| l.starts_with(r#"{"record":"entry""#)).map(str::to_string).collect()
    };
    assert_eq!(entries(&one), entries(&two));
    assert!(stderr.contains("phone.zip!/WhatsApp/Media/IMG-2.png"), "{stderr}");
    let alert: serde_json::Value = serde_json::from_str(
        one.lines().find(|l| l.contains("phone.zip!/WhatsApp/Media/IMG-2.png")).unwrap(),
    )
    .unwrap();
    assert_eq!(alert["disposition"], "alert");
    assert_eq!(alert["location"]["archive"][0]["name"], "WhatsApp/Media/IMG-2.png");
    let header: serde_json::Value = serde_json::from_str(one.lines().next().unwrap()).unwrap();
    let limits = header["options"]["limits"].to_string();
    assert!(limits.contains("archive_max_ratio=100"), "{limits}");
}

/// A ZIP inside a FAT file system inside a disk image: the member's location names the image,
/// the partition, the file system and the archive member.
#[test]
#[cfg_attr(
    not(all(mediahash_zip_tools, mediahash_disk_tools)),
    ignore = "needs zip, dosfstools and mtools"
)]
fn zip_inside_a_fat_disk_image() {
    let work = tempfile::tempdir().unwrap();
    let pic = picture(31);
    let bytes = crate_zip(&[("inside.png", &pic, true)]);
    let z = work.path().join("chat.zip");
    std::fs::write(&z, &bytes).unwrap();
    let image: PathBuf = work.path().join("fat.img");
    std::fs::File::create(&image).unwrap().set_len(8 << 20).unwrap();
    let status = Command::new("mkfs.vfat").arg(&image).output().unwrap();
    assert!(status.status.success());
    let status = Command::new("mcopy")
        .env("MTOOLS_SKIP_CHECK", "1")
        .arg("-i")
        .arg(&image)
        .arg(&z)
        .arg("::/CHAT.ZIP")
        .output()
        .unwrap();
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    let (records, _) = scan_with(&image, &ScanOptions::default());
    let archive = find(&records, "/p0/CHAT.ZIP");
    assert_eq!(archive.sha1, Some(sha1(&bytes)));
    let member = find(&records, "/p0/CHAT.ZIP!/inside.png");
    assert_eq!(member.sha1, Some(sha1(&pic)));
    assert_eq!(member.disposition, EntryDisposition::UnknownImage);
    let loc = member.location.as_ref().unwrap();
    assert!(loc.fs_type.as_deref().is_some_and(|t| t.starts_with("fat")));
    assert_eq!(loc.entry_number, archive.location.as_ref().unwrap().entry_number);
    assert!(loc.byte_runs.is_empty());
    assert_eq!(loc.archive[0].name, "inside.png");
}
