//! EnCase EWF (E01) images (issue #15): a raw disk image (MBR + FAT16, built here with
//! `mkfs.vfat`/`mcopy`/`sfdisk`) converted with `ewfacquire` (ewf-tools) to single- and
//! multi-segment E01s, compressed and not, in each EWF v1 flavour ewfacquire writes, then
//! read by mediahash's own EWF reader and compared with the oracles: the media bytes equal
//! the raw image; the stored and recomputed MD5/SHA-1 equal `ewfinfo`'s and `ewfverify`'s;
//! `mh scan x.E01` gives the same entries and SHA-1 as the raw image and as The Sleuth Kit
//! (`fls`/`icat`, built with libewf, reading the E01 itself). Hostile sets (truncated,
//! corrupted chunk, forged tables and geometry, missing segment) give typed errors.
//!
//! The tests that need the tools carry `cfg_attr(not(mediahash_ewf_tools), ignore)`
//! (build.rs sets the cfg when the tools are on PATH, and always in CI).

mod common;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::synth;
use common::tools::{fls, pattern, run_tool, sha1_hex};
use mediahash::evidence::disk::{Detected, detect};
use mediahash::evidence::ewf::{ChunkError, EwfError, EwfImage, adler32};
use mediahash::evidence::image::DiskImage;
use mediahash::evidence::verify::verify_path;
use mediahash::evidence::{Item, SourceOptions, open_root};
use mediahash::report::{EntryDisposition, EntryRecord, ReasonCode, VerifyStatus};
use sha1::Digest;

const TOOLS: &str = "needs ewf-tools, sleuthkit, dosfstools, mtools, fdisk (apt-get install -y \
                     ewf-tools sleuthkit dosfstools mtools fdisk; then touch build.rs)";

fn run(cmd: &str, args: &[&str]) -> Vec<u8> {
    run_tool(cmd, args, TOOLS)
}

fn picture() -> Vec<u8> {
    synth::png_rgb8(160, 120, &synth::photo_like(160, 120, 7))
}

/// Partition start (sectors).
const START: u64 = 2048;
/// File-system size (sectors): 16 MiB of FAT16.
const FS_SECTORS: u64 = 32 * 1024;
/// The content of the file whose chunk the corruption tests damage.
fn victim() -> Vec<u8> {
    pattern(40_000, 99)
}

/// A raw image: MBR, one FAT16 partition at [`START`] holding files (3 MB of them
/// incompressible), a directory, a picture and a deleted file.
fn build_raw(dir: &Path) -> PathBuf {
    let fs = dir.join("fs.img");
    std::fs::File::create(&fs).unwrap().set_len(FS_SECTORS * 512).unwrap();
    let fs_text = fs.to_str().unwrap();
    run("mkfs.vfat", &["-F", "16", fs_text]);
    let put = |name: &str, bytes: &[u8], target: &str| {
        let src = dir.join(name);
        std::fs::write(&src, bytes).unwrap();
        run("mcopy", &["-i", fs_text, src.to_str().unwrap(), target]);
    };
    run("mmd", &["-i", fs_text, "::/Docs"]);
    put("f1", b"short file\n", "::/A.TXT");
    put("f2", &pattern(3_000_000, 1), "::/big random.bin");
    put("f3", &picture(), "::/Docs/holiday photo.png");
    put("f4", &victim(), "::/Docs/victim.bin");
    put("f5", &vec![b'z'; 100_000], "::/Docs/zeds.txt");
    put("f6", &pattern(5000, 4), "::/deleted.bin");
    run("mdel", &["-i", fs_text, "::/deleted.bin"]);
    let image = dir.join("disk.raw");
    let total = (START + FS_SECTORS + 2048) * 512;
    std::fs::File::create(&image).unwrap().set_len(total).unwrap();
    let script = format!("label: dos\nstart={START}, size={FS_SECTORS}, type=6\n");
    let mut child = Command::new("sfdisk")
        .args(["-q", image.to_str().unwrap()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("sfdisk could not run ({e}): {TOOLS}"));
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), script.as_bytes()).unwrap();
    assert!(child.wait().unwrap().success(), "sfdisk failed");
    let bytes = std::fs::read(&fs).unwrap();
    std::os::unix::fs::FileExt::write_all_at(
        &std::fs::OpenOptions::new().write(true).open(&image).unwrap(),
        &bytes,
        START * 512,
    )
    .unwrap();
    image
}

/// How to convert.
#[derive(Debug, Clone, Copy)]
struct Acquire {
    format: &'static str,
    compression: &'static str,
    /// Segment size in bytes (`-S`); `None`: ewfacquire's default (one segment here).
    segment: Option<u64>,
    sectors_per_chunk: u32,
    bytes_per_sector: u32,
}

const DEFAULT: Acquire = Acquire {
    format: "encase6",
    compression: "deflate:fast",
    segment: None,
    sectors_per_chunk: 64,
    bytes_per_sector: 512,
};

/// Converts `raw` with ewfacquire into `dir/name.*`; returns the first segment.
fn acquire(raw: &Path, dir: &Path, name: &str, a: Acquire) -> PathBuf {
    let target = dir.join(name);
    let spc = a.sectors_per_chunk.to_string();
    let bps = a.bytes_per_sector.to_string();
    let mut args = vec![
        "-u",
        "-q",
        "-t",
        target.to_str().unwrap(),
        "-f",
        a.format,
        "-c",
        a.compression,
        "-d",
        "sha1",
        "-b",
        &spc,
        "-P",
        &bps,
        "-C",
        "CASE-15",
        "-e",
        "Examiner Jane",
        "-E",
        "EV-1",
        "-D",
        "seized laptop",
        "-N",
        "test notes",
    ];
    let segment = a.segment.map(|s| s.to_string());
    if let Some(s) = &segment {
        args.extend_from_slice(&["-S", s]);
    }
    args.push(raw.to_str().unwrap());
    run("ewfacquire", &args);
    let mut segments: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_stem().is_some_and(|s| s == name))
        .collect();
    segments.sort();
    segments.into_iter().next().expect("ewfacquire wrote a segment")
}

/// `ewfverify -d sha1`: (stored MD5, computed MD5, stored SHA-1, computed SHA-1, success).
fn ewfverify(e01: &Path) -> (String, String, String, String, bool) {
    let out = Command::new("ewfverify")
        .args(["-q", "-d", "sha1", e01.to_str().unwrap()])
        .output()
        .unwrap_or_else(|e| panic!("ewfverify could not run ({e}): {TOOLS}"));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let field = |label: &str| -> String {
        text.lines()
            .find(|l| l.starts_with(label))
            .and_then(|l| l.split('\t').next_back())
            .unwrap_or("")
            .trim()
            .to_string()
    };
    (
        field("MD5 hash stored in file:"),
        field("MD5 hash calculated over data:"),
        field("SHA1 hash stored in file:"),
        field("SHA1 hash calculated over data:"),
        out.status.success() && text.contains("SUCCESS"),
    )
}

/// `ewfinfo`'s `Name:\tvalue` lines.
fn ewfinfo(e01: &Path) -> BTreeMap<String, String> {
    let text = String::from_utf8(run("ewfinfo", &[e01.to_str().unwrap()])).unwrap();
    text.lines()
        .filter_map(|l| {
            let (k, v) = l.trim().split_once(':')?;
            Some((k.trim().to_string(), v.trim().to_string()))
        })
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads the whole media in uneven pieces.
fn read_all(image: &dyn DiskImage) -> Vec<u8> {
    let mut out = vec![0u8; image.len() as usize];
    let mut offset = 0usize;
    let mut step = 1usize;
    while offset < out.len() {
        let n = step.min(out.len() - offset);
        image.read_exact_at(offset as u64, &mut out[offset..offset + n]).unwrap();
        offset += n;
        step = step * 7 % 1_000_003 + 511;
    }
    out
}

#[test]
#[cfg_attr(not(mediahash_ewf_tools), ignore = "needs ewf-tools sleuthkit dosfstools mtools fdisk")]
fn e01_flavours_read_like_the_raw_image_and_verify_like_ewfverify() {
    let dir = tempfile::tempdir().unwrap();
    let raw_path = build_raw(dir.path());
    let raw = std::fs::read(&raw_path).unwrap();
    let raw_md5 = hex(&md5::Md5::digest(&raw));
    let raw_sha1 = sha1_hex(&raw);
    let mib = Some(1 << 20);
    let cases = [
        DEFAULT,
        Acquire { compression: "none", segment: mib, ..DEFAULT },
        Acquire { compression: "deflate:best", segment: mib, ..DEFAULT },
        Acquire { compression: "empty-block", ..DEFAULT },
        Acquire { format: "encase7", segment: mib, ..DEFAULT },
        Acquire { format: "encase5", sectors_per_chunk: 128, ..DEFAULT },
        Acquire { format: "encase2", ..DEFAULT },
        Acquire { format: "encase1", ..DEFAULT },
        Acquire { format: "ftk", compression: "none", ..DEFAULT },
        Acquire { format: "linen6", segment: mib, ..DEFAULT },
        Acquire { format: "smart", ..DEFAULT },
        Acquire { format: "ewfx", ..DEFAULT },
        Acquire { bytes_per_sector: 4096, sectors_per_chunk: 16, ..DEFAULT },
    ];
    for (i, a) in cases.iter().enumerate() {
        let e01 = acquire(&raw_path, dir.path(), &format!("img{i}"), *a);
        let what = format!("{a:?} ({})", e01.display());
        let image = EwfImage::open(&e01, false).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(image.len(), raw.len() as u64, "{what}: media size");
        assert!(read_all(&image) == raw, "{what}: media bytes differ from the raw image");
        if a.segment.is_some() {
            assert!(image.paths().len() >= 3, "{what}: {} segments", image.paths().len());
            assert!(image.container().starts_with("ewf ("), "{}", image.container());
        }
        // Stored digests as ewfinfo and ewfverify see them; recomputed as ewfverify does.
        let (stored_md5, computed_md5, stored_sha1, computed_sha1, ok) = ewfverify(&e01);
        assert!(ok, "{what}: ewfverify fails on the fresh image");
        let info = image.info();
        assert_eq!(info.stored.md5.map(|d| hex(&d)), Some(stored_md5.clone()), "{what}");
        let theirs = ewfinfo(&e01);
        assert_eq!(theirs.get("MD5"), Some(&stored_md5), "{what}: ewfinfo's MD5");
        if stored_sha1.is_empty() || stored_sha1 == "N/A" {
            assert_eq!(info.stored.sha1, None, "{what}");
        } else {
            assert_eq!(info.stored.sha1.map(|d| hex(&d)), Some(stored_sha1.clone()), "{what}");
            assert_eq!(theirs.get("SHA1"), Some(&stored_sha1), "{what}: ewfinfo's SHA1");
        }
        let v = verify_path(&e01, false, None);
        assert_eq!(v.status, VerifyStatus::Verified, "{what}: {}", v.message);
        assert_eq!(v.computed_md5.as_deref(), Some(computed_md5.as_str()), "{what}");
        assert_eq!(v.computed_sha1.as_deref(), Some(computed_sha1.as_str()), "{what}");
        assert_eq!(computed_md5, raw_md5, "{what}");
        assert_eq!(computed_sha1, raw_sha1, "{what}");
        // Case metadata as ewfinfo prints it (formats that store it).
        if let Some(case) = theirs.get("Case number") {
            assert_eq!(info.case.case_number.as_ref(), Some(case), "{what}");
            assert_eq!(info.case.examiner.as_ref(), theirs.get("Examiner name"), "{what}");
            assert_eq!(info.case.evidence_number.as_ref(), theirs.get("Evidence number"));
            assert_eq!(info.case.description.as_ref(), theirs.get("Description"), "{what}");
            assert_eq!(info.case.notes.as_ref(), theirs.get("Notes"), "{what}");
        }
        assert_eq!(info.case.case_number.as_deref(), Some("CASE-15"), "{what}");
        // Several threads reading at once see the same bytes.
        std::thread::scope(|s| {
            for t in 0..3u64 {
                let (image, raw) = (&image, &raw);
                s.spawn(move || {
                    let mut buf = vec![0u8; 70_001];
                    let mut offset = t * 12_345;
                    while offset + buf.len() as u64 <= raw.len() as u64 {
                        image.read_exact_at(offset, &mut buf).unwrap();
                        let at = offset as usize;
                        assert!(buf == raw[at..at + buf.len()]);
                        offset += 1_234_567;
                    }
                });
            }
        });
    }
}

/// (path below the root, record, SHA-1 of the bytes read or the read error).
type Entry = (String, EntryRecord, Option<Result<String, String>>);

/// What the disk source yields: (path below the root, record, SHA-1 of the bytes read or
/// the read error).
fn mh_entries(root: &Path) -> Vec<Entry> {
    let options = SourceOptions::default();
    let prefix = root.display().to_string();
    open_root(root, &options)
        .map(|item| {
            let (record, content) = match item {
                Item::Decided(r) => (r, None),
                Item::Content(c) => {
                    let read = c.content.open().map_err(|r| r.to_string()).and_then(|mut o| {
                        let mut buf = Vec::new();
                        o.reader.read_to_end(&mut buf).map_err(|e| e.to_string())?;
                        Ok(sha1_hex(&buf))
                    });
                    (c.record, Some(read))
                }
            };
            let rel = record.path_text().strip_prefix(&prefix).unwrap_or("").to_string();
            (rel, record, content)
        })
        .collect()
}

#[test]
#[cfg_attr(not(mediahash_ewf_tools), ignore = "needs ewf-tools sleuthkit dosfstools mtools fdisk")]
fn scanning_an_e01_equals_the_raw_image_and_the_sleuth_kit() {
    let dir = tempfile::tempdir().unwrap();
    let raw = build_raw(dir.path());
    let e01 = acquire(&raw, dir.path(), "case", Acquire { segment: Some(1 << 20), ..DEFAULT });
    let ours = mh_entries(&e01);
    let theirs = mh_entries(&raw);
    assert_eq!(ours.len(), theirs.len());
    for ((p1, r1, c1), (p2, r2, c2)) in ours.iter().zip(&theirs) {
        assert_eq!(p1, p2);
        assert_eq!(r1.kind, r2.kind, "{p1}");
        assert_eq!(r1.size, r2.size, "{p1}");
        assert_eq!(c1, c2, "{p1}: content differs between E01 and raw");
        let (l1, l2) = (r1.location.as_ref().unwrap(), r2.location.as_ref().unwrap());
        assert_eq!(l1.entry_number, l2.entry_number, "{p1}");
        assert_eq!(l1.deleted, l2.deleted, "{p1}");
        assert_eq!(l1.byte_runs, l2.byte_runs, "{p1}");
        assert!(l1.container.starts_with("ewf ("), "{p1}: {}", l1.container);
        assert_eq!(l2.container, "raw");
    }
    assert_eq!(ours[0].1.reason.as_ref().unwrap().code, ReasonCode::DiskImage);
    // The Sleuth Kit reads the E01 itself (libewf): same files, same SHA-1.
    let img = e01.to_str().unwrap();
    let mut checked = 0;
    for line in fls(&e01, 2048, TOOLS) {
        let path = &line.path;
        if line.kind != "r/r" || line.deleted || path.starts_with('$') {
            continue;
        }
        let content = run("icat", &["-o", "2048", img, &line.address]);
        let (_, record, read) = ours
            .iter()
            .find(|(p, _, _)| *p == format!("/p1/{path}"))
            .unwrap_or_else(|| panic!("TSK's {path} not found by mh"));
        assert_eq!(record.size, Some(content.len() as u64), "{path}");
        assert_eq!(read.as_ref().unwrap().as_ref().unwrap(), &sha1_hex(&content), "{path}");
        checked += 1;
    }
    assert_eq!(checked, 5, "the five allocated files");
}

/// Section descriptors of a segment file: (type, offset, next).
fn sections(bytes: &[u8]) -> Vec<(String, usize, usize)> {
    let mut out = Vec::new();
    let mut off = 13usize;
    while off + 76 <= bytes.len() {
        let kind: String =
            bytes[off..off + 16].iter().take_while(|&&b| b != 0).map(|&b| b as char).collect();
        let next = u64::from_le_bytes(bytes[off + 16..off + 24].try_into().unwrap()) as usize;
        out.push((kind.clone(), off, next));
        if kind == "done" || kind == "next" || next <= off {
            break;
        }
        off = next;
    }
    out
}

fn section(bytes: &[u8], kind: &str) -> usize {
    sections(bytes).iter().find(|s| s.0 == kind).unwrap_or_else(|| panic!("no {kind}")).1
}

/// Rewrites the Adler-32 of `bytes[start..end]` at `end`.
fn fix_sum(bytes: &mut [u8], start: usize, end: usize) {
    let sum = adler32(&bytes[start..end]);
    bytes[end..end + 4].copy_from_slice(&sum.to_le_bytes());
}

fn p_is_error(entries: &[Entry], p: &str) -> bool {
    entries.iter().any(|(path, _, read)| path == p && matches!(read, Some(Err(_))))
}

fn chunk_error(e: &std::io::Error) -> &ChunkError {
    e.get_ref()
        .and_then(|e| e.downcast_ref::<ChunkError>())
        .unwrap_or_else(|| panic!("not a ChunkError: {e}"))
}

#[test]
#[cfg_attr(not(mediahash_ewf_tools), ignore = "needs ewf-tools sleuthkit dosfstools mtools fdisk")]
fn corrupted_chunk_is_an_error_naming_its_byte_range_and_the_scan_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let raw_path = build_raw(dir.path());
    let raw = std::fs::read(&raw_path).unwrap();
    let e01 = acquire(&raw_path, dir.path(), "bad", Acquire { compression: "none", ..DEFAULT });
    // Flip one byte of the victim's content where the uncompressed chunk stores it.
    let mut bytes = std::fs::read(&e01).unwrap();
    let needle = &victim()[1000..1064];
    let at = bytes.windows(needle.len()).position(|w| w == needle).expect("victim stored") + 10;
    bytes[at] ^= 0x40;
    std::fs::write(&e01, &bytes).unwrap();
    let media_at = raw.windows(needle.len()).position(|w| w == needle).unwrap() as u64 + 10;

    let image = EwfImage::open(&e01, false).unwrap();
    let chunk = media_at / image.chunk_size();
    let e = image.read_chunk(chunk).unwrap_err();
    let c = chunk_error(&e);
    assert_eq!(c.chunk, chunk);
    assert!(c.media_start <= media_at && media_at < c.media_end, "{c}");
    assert!(c.what.contains("checksum"), "{c}");
    let mut buf = [0u8; 16];
    assert!(image.read_exact_at(media_at, &mut buf).is_err(), "never zeros");
    let range = format!("media bytes {}..{}", c.media_start, c.media_end);

    // The scan: the victim (and any file sharing its chunk) is an error naming the range;
    // every other file is hashed as in the raw image.
    let clean = mh_entries(&raw_path);
    let damaged = mh_entries(&e01);
    assert_eq!(clean.len(), damaged.len());
    let mut hashed = 0;
    for ((p, clean_record, good), (_, record, read)) in clean.iter().zip(&damaged) {
        let runs = &clean_record.location.as_ref().unwrap().byte_runs;
        let touches =
            runs.iter().any(|r| r.img_offset < c.media_end && c.media_start < r.img_offset + r.len);
        if touches {
            let err = read.as_ref().unwrap().as_ref().unwrap_err();
            assert!(err.contains(&range), "{p}: {err}");
        } else {
            assert_eq!(read, good, "{p}: {:?}", record.reason);
            hashed += good.as_ref().is_some_and(|g| g.is_ok()) as usize;
        }
    }
    assert!(p_is_error(&damaged, "/p1/Docs/victim.bin"));
    assert!(hashed >= 3, "the other files are hashed ({hashed})");
    // mh verify-image and ewfverify agree that it is damaged.
    let v = verify_path(&e01, false, None);
    assert_eq!(v.status, VerifyStatus::Unreadable, "{}", v.message);
    assert_eq!(v.unreadable_ranges, vec![(c.media_start, c.media_end)]);
    assert!(v.computed_md5.is_none());
    assert!(!ewfverify(&e01).4, "ewfverify also fails");
    let out =
        Command::new(env!("CARGO_BIN_EXE_mh")).arg("verify-image").arg(&e01).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("VERIFICATION FAILED"));

    // A compressed chunk (the first, mostly zeros: zlib) damaged in its deflate data: the
    // partition table is unreadable, an error record names the range.
    let z = acquire(&raw_path, dir.path(), "badz", DEFAULT);
    let mut bytes = std::fs::read(&z).unwrap();
    let sectors = section(&bytes, "sectors");
    bytes[sectors + 76 + 8] ^= 0xff;
    std::fs::write(&z, &bytes).unwrap();
    let image = EwfImage::open(&z, false).unwrap();
    let e = image.read_chunk(0).unwrap_err();
    assert_eq!(chunk_error(&e).media_start, 0);
    let records = mh_entries(&z);
    assert_eq!(records.len(), 1, "{records:#?}");
    assert_eq!(records[0].1.disposition, EntryDisposition::Error);
    let message = records[0].1.reason_message().unwrap();
    assert!(message.contains("media bytes 0..32768"), "{message}");
}

#[test]
#[cfg_attr(not(mediahash_ewf_tools), ignore = "needs ewf-tools sleuthkit dosfstools mtools fdisk")]
fn mh_verify_image_and_scan_verify_image_report_the_digests() {
    let dir = tempfile::tempdir().unwrap();
    let reports = tempfile::tempdir().unwrap();
    let raw = build_raw(dir.path());
    let e01 = acquire(&raw, dir.path(), "case", Acquire { segment: Some(1 << 20), ..DEFAULT });
    let (_, md5, _, sha1, _) = ewfverify(&e01);
    let mh = || Command::new(env!("CARGO_BIN_EXE_mh"));
    let out = mh().args(["verify-image", "--json"]).arg(&e01).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["status"], "verified");
    assert_eq!(v["computed_md5"], md5.as_str());
    assert_eq!(v["stored_sha1"], sha1.as_str());
    let text = mh().arg("verify-image").arg(&e01).output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("VERIFIED") && text.contains("CASE-15"), "{text}");

    for (format, file) in
        [("jsonl", "r.jsonl"), ("dfxml", "r.xml"), ("csv", "r.csv"), ("case", "r.jsonld")]
    {
        let report = reports.path().join(file);
        let out = mh()
            .args(["scan", "--verify-image", "--format", format, "--report"])
            .arg(&report)
            .arg(&e01)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        let text = std::fs::read_to_string(&report).unwrap();
        if format == "jsonl" {
            let header: serde_json::Value =
                serde_json::from_str(text.lines().next().unwrap()).unwrap();
            let v = &header["image_verifications"][0];
            assert_eq!(v["status"], "verified", "{header}");
            assert_eq!(v["computed_sha1"], sha1.as_str());
            assert!(text.contains(r#""container":"ewf ("#));
            let metadata = v["metadata"].as_array().unwrap();
            assert!(metadata.iter().any(|m| m[0] == "case_number" && m[1] == "CASE-15"), "{v}");
            assert!(metadata.iter().any(|m| m[0] == "examiner" && m[1] == "Examiner Jane"));
        } else if format == "csv" {
            // CSV rows have no room for it: the provenance sidecar holds the header.
            let sidecar = std::fs::read_to_string(reports.path().join("r.csv.provenance.jsonl"))
                .expect("CSV provenance sidecar");
            let header: serde_json::Value =
                serde_json::from_str(sidecar.lines().next().unwrap()).unwrap();
            assert_eq!(header["image_verifications"][0]["status"], "verified", "{header}");
            assert_eq!(header["image_verifications"][0]["stored_md5"], md5.as_str());
        } else if format == "case" {
            check_case_report(&report, &md5, &sha1);
        } else {
            if let Some(errors) = common::tools::dfxml_schema_errors(&report) {
                panic!("not valid against the DFXML 1.2.0 schema:\n{errors}\n\n{text}");
            }
            assert!(text.contains("<diskimageobject>") && text.contains("<volume"), "{text}");
            assert!(text.contains(r#"<mh:image_verification"#), "{text}");
            assert!(text.contains(r#"status="verified""#));
            assert!(text.contains(&format!("<mh:computed_md5>{md5}</mh:computed_md5>")));
            assert!(text.contains(r#"<mh:metadata name="case_number">CASE-15</mh:metadata>"#));
        }
    }
    // A mismatch (the stored MD5 forged, its checksum fixed): loud on stderr, exit 2.
    let mut set: Vec<PathBuf> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_stem().is_some_and(|s| s == "case"))
        .collect();
    set.sort();
    let last = set.last().unwrap().clone();
    let mut bytes = std::fs::read(&last).unwrap();
    let hash = section(&bytes, "hash");
    bytes[hash + 76] ^= 1;
    fix_sum(&mut bytes, hash + 76, hash + 76 + 32);
    let digest = section(&bytes, "digest");
    bytes[digest + 76] ^= 1;
    fix_sum(&mut bytes, digest + 76, digest + 76 + 76);
    std::fs::write(&last, &bytes).unwrap();
    let report = reports.path().join("bad.jsonl");
    let out =
        mh().args(["scan", "--verify-image", "--report"]).arg(&report).arg(&e01).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("IMAGE VERIFICATION FAILED") && stderr.contains("mismatch"),
        "{stderr}"
    );
    let header: serde_json::Value =
        serde_json::from_str(std::fs::read_to_string(&report).unwrap().lines().next().unwrap())
            .unwrap();
    assert_eq!(header["image_verifications"][0]["status"], "mismatch");
    let out = mh().arg("verify-image").arg(&e01).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// The CASE report of a verified scan of the E01: the image with its media digests, the
/// verification action, the partition and file system, and files contained within them;
/// `case_validate` (MEDIAHASH_CASE_VALIDATE) accepts it.
fn check_case_report(report: &Path, md5: &str, sha1: &str) {
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(report).unwrap()).expect("CASE report is JSON");
    let graph = doc["@graph"].as_array().unwrap();
    let of_type =
        |t: &str| -> Vec<&serde_json::Value> { graph.iter().filter(|n| n["@type"] == t).collect() };
    let images = of_type("uco-observable:Image");
    assert_eq!(images.len(), 1, "one image node");
    let image = images[0];
    let facets = image["uco-core:hasFacet"].as_array().unwrap();
    let content = facets
        .iter()
        .find(|f| f["@type"] == "uco-observable:ContentDataFacet")
        .expect("the media's digests");
    let hashes = content["uco-observable:hash"].as_array().unwrap();
    let value = |m: &str| {
        hashes.iter().find(|h| h["uco-types:hashMethod"] == m).unwrap()["uco-types:hashValue"]
            ["@value"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(value("MD5"), md5);
    assert_eq!(value("SHA1"), sha1);
    let verification = of_type("case-investigation:InvestigativeAction")
        .into_iter()
        .find(|a| a["uco-core:name"] == "mediahash image verification")
        .expect("verification action");
    assert_eq!(verification["uco-action:actionStatus"], "Complete/Finish");
    assert_eq!(verification["uco-action:object"][0]["@id"], image["@id"]);
    let partitions = of_type("uco-observable:DiskPartition");
    let file_systems = of_type("uco-observable:FileSystem");
    assert_eq!(partitions.len(), 1);
    assert_eq!(file_systems.len(), 1);
    let relationships = of_type("uco-observable:ObservableRelationship");
    let contained = |source: &serde_json::Value, target: &serde_json::Value| {
        relationships.iter().any(|r| {
            r["uco-core:source"][0]["@id"] == source["@id"]
                && r["uco-core:target"][0]["@id"] == target["@id"]
        })
    };
    assert!(contained(partitions[0], image));
    assert!(contained(file_systems[0], partitions[0]));
    let files = of_type("uco-observable:File");
    let deleted = files
        .iter()
        .filter(|f| {
            f["uco-core:hasFacet"][0]["uco-observable:allocationStatus"].as_str() == Some("deleted")
        })
        .count();
    assert!(deleted >= 1, "a deleted file is marked");
    let in_fs = files.iter().filter(|f| contained(f, file_systems[0])).count();
    assert!(in_fs >= 3, "files are contained within the file system ({in_fs})");
    if let Some(exe) = std::env::var_os("MEDIAHASH_CASE_VALIDATE") {
        let out = Command::new(exe).arg(report).output().expect("run case_validate");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains("Conforms: True"),
            "{text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    } else {
        eprintln!("skipping case_validate: set MEDIAHASH_CASE_VALIDATE to its path to run it");
    }
}

fn open_err(path: &Path) -> EwfError {
    common::assert_no_panic(path.display(), || EwfImage::open(path, false))
        .err()
        .unwrap_or_else(|| panic!("{} opened", path.display()))
}

#[test]
#[cfg_attr(not(mediahash_ewf_tools), ignore = "needs ewf-tools sleuthkit dosfstools mtools fdisk")]
fn hostile_sets_give_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let raw_path = build_raw(dir.path());
    let e01 = acquire(&raw_path, dir.path(), "good", DEFAULT);
    let good = std::fs::read(&e01).unwrap();
    let write = |name: &str, bytes: &[u8]| -> PathBuf {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };

    // Truncated anywhere: a typed error (never a panic); the scan gives one error record.
    for cut in
        [0, 5, 13, 50, 89, 400, good.len() / 3, good.len() / 2, good.len() - 200, good.len() - 1]
    {
        let p = write("trunc.E01", &good[..cut]);
        let opened = common::assert_no_panic(cut, || EwfImage::open(&p, false));
        assert!(opened.is_err() || cut < 8, "cut at {cut} opened");
        if cut >= 8 {
            let records = mh_entries(&p);
            assert_eq!(records.len(), 1, "cut at {cut}");
            assert_eq!(records[0].1.reason.as_ref().unwrap().code, ReasonCode::ImageUnreadable);
        }
    }
    assert!(matches!(open_err(&write("t.E01", &good[..good.len() - 1])), EwfError::Damaged { .. }));

    // Absurd table entry count (header checksum fixed): refused, nothing allocated for it.
    let mut b = good.clone();
    let table = section(&b, "table");
    b[table + 76..table + 80].copy_from_slice(&0x7fff_ffffu32.to_le_bytes());
    fix_sum(&mut b, table + 76, table + 76 + 20);
    let e = open_err(&write("count.E01", &b));
    assert!(e.to_string().contains("does not fit"), "{e}");

    // A forged table entry (footer checksum fixed): that chunk is a typed read error with
    // its media range; the others read.
    let mut b = good.clone();
    let count = u32::from_le_bytes(b[table + 76..table + 80].try_into().unwrap()) as usize;
    let entries = table + 76 + 24;
    b[entries + 4 * 20..entries + 4 * 21].copy_from_slice(&0x7fff_0000u32.to_le_bytes());
    fix_sum(&mut b, entries, entries + 4 * count);
    let p = write("entry.E01", &b);
    let image = EwfImage::open(&p, false).unwrap();
    let e = image.read_chunk(20).unwrap_err();
    let c = chunk_error(&e);
    assert_eq!((c.media_start, c.media_end), (20 * 32768, 21 * 32768));
    assert!(c.what.contains("outside"), "{c}");
    assert_eq!(
        image.read_chunk(30).unwrap(),
        std::fs::read(&raw_path).unwrap()[30 * 32768..31 * 32768]
    );

    // Absurd geometry in the volume section (checksum fixed).
    let volume = section(&good, "volume");
    for (at, value, what) in
        [(16usize, 1u64 << 50, "index only"), (8, 0xffff_ffff, "sectors of"), (12, 0, "sectors of")]
    {
        let mut b = good.clone();
        if at == 16 {
            b[volume + 76 + 16..volume + 76 + 24].copy_from_slice(&value.to_le_bytes());
        } else {
            b[volume + 76 + at..volume + 76 + at + 4]
                .copy_from_slice(&(value as u32).to_le_bytes());
        }
        fix_sum(&mut b, volume + 76, volume + 76 + 1048);
        let e = open_err(&write("geom.E01", &b));
        assert!(e.to_string().contains(what), "{what}: {e}");
    }

    // A section pointing past the end, and a size disagreeing with the next offset (the
    // "dual image" trick), descriptor checksums fixed.
    for (field, value, what) in
        [(16usize, u64::MAX / 2, "outside"), (24, 12_345, "disagrees"), (16, 0, "outside")]
    {
        let mut b = good.clone();
        b[volume + field..volume + field + 8].copy_from_slice(&value.to_le_bytes());
        fix_sum(&mut b, volume, volume + 72);
        let e = open_err(&write("sect.E01", &b));
        assert!(e.to_string().contains(what), "{what}: {e}");
    }
    // A damaged descriptor checksum.
    let mut b = good.clone();
    b[volume + 20] ^= 1;
    assert!(open_err(&write("sum.E01", &b)).to_string().contains("checksum"));
    // A damaged table whose table2 is intact: read through table2, noted.
    let mut b = good.clone();
    b[entries + 8] ^= 1;
    let p = write("t2.E01", &b);
    let image = EwfImage::open(&p, false).unwrap();
    assert!(image.info().problems.iter().any(|p| p.contains("table2 used")));
    assert_eq!(read_all(&image), std::fs::read(&raw_path).unwrap());

    // Other EWF kinds are refused by name; the signature alone decides.
    let mut b = good.clone();
    b[..8].copy_from_slice(b"EVF2\r\n\x81\x00");
    assert!(matches!(open_err(&write("v2.Ex01", &b)), EwfError::Unsupported { .. }));
    let renamed = write("not-an-e01-name.bin", &good);
    let Some(Detected::Image(opened)) = detect(&renamed, &SourceOptions::default()) else {
        panic!("an E01 is detected by content")
    };
    assert_eq!(opened.image.container(), "ewf");

    // Multi-segment: a missing later segment, a segment from another place.
    let multi =
        acquire(&raw_path, dir.path(), "multi", Acquire { segment: Some(1 << 20), ..DEFAULT });
    let e02 = dir.path().join("multi.E02");
    let e03 = dir.path().join("multi.E03");
    let saved = std::fs::read(&e02).unwrap();
    std::fs::remove_file(&e02).unwrap();
    let e = open_err(&multi);
    assert!(matches!(e, EwfError::SegmentMissing { .. }), "{e}");
    assert!(e.to_string().contains("multi.E02"), "{e}");
    let records = mh_entries(&multi);
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].1.disposition, EntryDisposition::Error);
    std::fs::copy(&e03, &e02).unwrap();
    assert!(matches!(open_err(&multi), EwfError::SegmentNumber { found: 3, expected: 2, .. }));
    std::fs::write(&e02, saved).unwrap();
    assert!(EwfImage::open(&multi, false).is_ok());
}
