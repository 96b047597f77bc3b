//! The `mh` tool end to end, run as the examiner would run it. `mh` is a binary target, so
//! cargo builds it for this test and names it in `CARGO_BIN_EXE_mh` (no earlier build step).
#![cfg(feature = "cli")]

use std::path::PathBuf;
use std::process::Command;

fn mh() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mh"))
}

fn json_lines(stdout: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8(stdout.to_vec())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn jpeg(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/jpeg").join(name)
}

#[test]
fn hash_prints_sorted_json_lines_with_every_field() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(jpeg("shapes-q85-420.jpg"), dir.path().join("b-photo.txt")).unwrap();
    std::fs::write(dir.path().join("a-notes.md"), b"abc").unwrap();
    let mut broken = std::fs::read(jpeg("text-q60-420.jpg")).unwrap();
    broken.truncate(2000);
    std::fs::write(dir.path().join("c-broken.jpg"), &broken).unwrap();

    let out = mh().args(["hash", "--dihedral"]).arg(dir.path()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines = json_lines(&out.stdout);
    let names: Vec<&str> = lines.iter().map(|l| l["path"].as_str().unwrap()).collect();
    assert_eq!(lines.len(), 3);
    assert!(names.windows(2).all(|w| w[0] < w[1]), "not sorted: {names:?}");

    let text = &lines[0];
    assert_eq!(text["md5"], "900150983cd24fb0d6963f7d28e17f72");
    assert_eq!(text["image"], serde_json::Value::Null);
    assert!(text.get("pdq").is_none());

    let photo = &lines[1];
    assert_eq!(photo["image"]["format"], "jpeg");
    assert_eq!(
        photo["pdq"]["hash"],
        "e3f1638b138e99569c56fc79e071a3700389568b9c8eec6ee07e8b749b10748b"
    );
    assert_eq!(photo["pdq"]["convention"], "full");
    // The 8 dihedral PDQs are labelled with their orientation, in the hasher's order.
    let dihedral = photo["pdq_dihedral"].as_object().unwrap();
    assert_eq!(dihedral.len(), 8);
    let raw = String::from_utf8_lossy(&out.stdout);
    let at: Vec<usize> =
        ["orig", "rot90", "rot180", "rot270", "flipx", "flipy", "flipplus1", "flipminus1"]
            .iter()
            .map(|name| raw.find(&format!("\"{name}\":\"")).expect(name))
            .collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "printed in the hasher's order: {raw}");
    assert_eq!(dihedral["orig"], photo["pdq"]["hash"]);
    assert_eq!(
        dihedral["rot90"],
        "9f3e39a68718c39c1c26f38ee1c60e79e0e160e3871c60f164f9c7c37879383e"
    );
    assert_eq!(photo["phash"], "f8e884973739b868");

    let broken = &lines[2];
    assert!(broken["sha256"].is_string(), "digests are given when the bytes were read");
    assert!(broken["error"].as_str().unwrap().contains("truncated"), "{broken}");
}

#[test]
fn hash_of_a_missing_path_fails_with_status_2() {
    let out = mh().args(["hash", "/nonexistent/evidence"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let lines = json_lines(&out.stdout);
    assert!(lines[0]["error"].is_string());
}

#[test]
fn refset_build_verify_lookup_search() {
    let dir = tempfile::tempdir().unwrap();
    let photo = jpeg("shapes-q85-420.jpg");
    let md5 = mediahash::digest::digest_bytes(&std::fs::read(&photo).unwrap(), Default::default())
        .md5_hex();
    let alert = dir.path().join("alert.md5");
    std::fs::write(&alert, format!("{md5}  shapes.jpg\nnot-a-hash  bad.jpg\n")).unwrap();
    let pdq = dir.path().join("pdq.csv");
    std::fs::write(
        &pdq,
        "e3f1638b138e99569c56fc79e071a3700389568b9c8eec6ee07e8b749b10748b,88,shapes\n",
    )
    .unwrap();
    let set = dir.path().join("t.mhset");

    let out = mh()
        .args(["refset", "build", "-o"])
        .arg(&set)
        .arg("--alert")
        .args([&alert, &pdq])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("1 bad") && stderr.contains("line 2"), "{stderr}");

    let out = mh().args(["refset", "verify"]).arg(&set).output().unwrap();
    assert!(out.status.success());

    // One line per query, found or not.
    let miss = "00000000000000000000000000000001";
    let out = mh().args(["refset", "lookup"]).arg(&set).args([&md5, miss]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 2);
    assert_eq!(
        (lines[0]["query"].as_str(), lines[0]["found"].as_bool()),
        (Some(&*md5), Some(true))
    );
    let found = lines[0]["matches"].as_array().unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(
        (found[0]["disposition"].as_str(), found[0]["kind"].as_str()),
        (Some("alert"), Some("md5"))
    );
    assert_eq!(lines[1]["query"], miss);
    assert_eq!(lines[1]["found"], false);
    assert_eq!(lines[1]["matches"], serde_json::json!([]));

    // A re-encode at another quality and chroma subsampling is found by PDQ search.
    let out = mh()
        .args(["refset", "search"])
        .arg(&set)
        .arg("--image")
        .arg(jpeg("shapes-q95-444.jpg"))
        .arg("--dihedral")
        .output()
        .unwrap();
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["distance"], 0);

    // A damaged file: verify reports it and exits 2.
    let mut bytes = std::fs::read(&set).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    std::fs::write(&set, &bytes).unwrap();
    let out = mh().args(["refset", "verify"]).arg(&set).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(json_lines(&out.stdout)[0]["ok"], false);
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A set built from one md5sum line for `photo`, at `dir/name`.
fn small_set(dir: &std::path::Path, name: &str) -> PathBuf {
    let md5 = mediahash::digest::digest_bytes(b"known text\n", Default::default()).md5_hex();
    let list = dir.join(format!("{name}.md5"));
    std::fs::write(&list, format!("{md5}  known.txt\n")).unwrap();
    let set = dir.join(name);
    let out = mh().args(["refset", "build", "-o"]).arg(&set).arg("--alert").arg(&list).output();
    let out = out.unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    set
}

#[test]
fn usage_errors_exit_64_help_and_version_exit_0() {
    for args in [
        &["--no-such-option"][..],
        &[],                              // no subcommand: help on stderr
        &["scan"],                        // no evidence root
        &["refset", "lookup", "x.mhset"], // no query
        &["hash", "--threads", "many", "x"],
        &["scan", "--format", "pdf", "x"],
    ] {
        let out = mh().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(64), "mh {args:?}: {}", stderr(&out));
        assert!(!out.stderr.is_empty(), "mh {args:?} says why");
    }
    let out = mh().arg("--help").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8_lossy(&out.stdout);
    for code in ["0 ", "1 ", "2 ", "3 ", "64 "] {
        assert!(help.contains(&format!("\n  {code}")), "exit status {code}documented: {help}");
    }
    let out = mh().arg("--version").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let version = String::from_utf8_lossy(&out.stdout);
    assert!(version.starts_with(&format!("mh {}, ", env!("CARGO_PKG_VERSION"))), "{version}");
    let simd = if mediahash::decode::jpeg_simd_built() { "with SIMD" } else { "without SIMD" };
    assert!(version.contains(&format!("JPEG decoding {simd}")), "{version}");
}

#[test]
fn impossible_option_values_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let set = small_set(dir.path(), "s.mhset");
    let evidence = dir.path().join("evidence");
    std::fs::create_dir(&evidence).unwrap();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec!["scan".into(), "--threads".into(), "100000".into()], "at most"),
        (vec!["hash".into(), "-j".into(), "100000".into()], "at most"),
        (vec!["scan".into(), "--pdq-radius".into(), "999".into()], "0..=256"),
        (vec!["scan".into(), "--phash-radius".into(), "65".into()], "0..=64"),
    ];
    for (mut args, said) in cases {
        args.push(evidence.display().to_string());
        let out = mh().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(64), "mh {args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(said), "mh {args:?}: {}", stderr(&out));
    }
    let cases: Vec<(Vec<String>, &str)> = vec![(
        vec!["refset", "build", "--memory-mib", "0", "-o", "x.mhset", "--alert", "a.md5"]
            .into_iter()
            .map(String::from)
            .collect(),
        "16..=",
    )];
    for (args, said) in cases {
        let out = mh().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(64), "mh {args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(said), "mh {args:?}: {}", stderr(&out));
    }
    let search = |extra: &[&str]| {
        let out = mh().args(["refset", "search"]).arg(&set).args(extra).output().unwrap();
        (out.status.code(), stderr(&out))
    };
    let pdq = "e3f1638b138e99569c56fc79e071a3700389568b9c8eec6ee07e8b749b10748b";
    let (code, err) = search(&["--pdq", pdq, "--radius", "300"]);
    assert_eq!(code, Some(64));
    assert!(err.contains("--radius 300 is longer than the 256-bit PDQ hash"), "{err}");
    let (code, err) = search(&["--phash", "f8e884973739b868", "--radius", "65"]);
    assert_eq!(code, Some(64));
    assert!(err.contains("longer than the 64-bit pHash hash"), "{err}");
    // The hash lengths themselves are allowed.
    assert_eq!(search(&["--pdq", pdq, "--radius", "256"]).0, Some(0));
    assert_eq!(search(&["--phash", "f8e884973739b868", "--radius", "64"]).0, Some(0));
    // Malformed hashes are usage errors, not failures.
    assert_eq!(search(&["--pdq", "xyz"]).0, Some(64));
    let out = mh().args(["refset", "lookup"]).arg(&set).arg("0123").output().unwrap();
    assert_eq!(out.status.code(), Some(64));
    assert!(stderr(&out).contains("no known hash length"), "{}", stderr(&out));
    let out = mh().args(["refset", "lookup"]).arg(&set).arg("z".repeat(32)).output().unwrap();
    assert_eq!(out.status.code(), Some(64), "{}", stderr(&out));
}

#[test]
fn refset_build_refuses_to_replace_a_set_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let set = small_set(dir.path(), "s.mhset");
    let before = std::fs::read(&set).unwrap();
    let old_sha = mediahash::digest::digest_bytes(&before, Default::default()).sha256_hex();
    let list = dir.path().join("other.md5");
    std::fs::write(&list, "0123456789abcdef0123456789abcdef  other.txt\n").unwrap();

    let out = mh().args(["refset", "build", "-o"]).arg(&set).arg("--alert").arg(&list).output();
    let out = out.unwrap();
    assert_eq!(out.status.code(), Some(64));
    assert!(stderr(&out).contains("already exists") && stderr(&out).contains("--force"));
    assert_eq!(std::fs::read(&set).unwrap(), before, "the set is untouched");

    let out = mh()
        .args(["refset", "build", "--force", "-o"])
        .arg(&set)
        .arg("--alert")
        .arg(&list)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains(&format!("(SHA-256 {old_sha})")), "{}", stderr(&out));
    assert_ne!(std::fs::read(&set).unwrap(), before);
}

#[test]
fn refset_build_labels_the_sha256_that_reports_cite() {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("a.md5");
    std::fs::write(&list, "0123456789abcdef0123456789abcdef  a.txt\n").unwrap();
    let set = dir.path().join("a.mhset");
    let out = mh().args(["refset", "build", "-o"]).arg(&set).arg("--alert").arg(&list).output();
    let out = out.unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let sha = mediahash::digest::digest_bytes(&std::fs::read(&set).unwrap(), Default::default())
        .sha256_hex();
    assert_eq!(report["sha256"], sha);
    assert_eq!(report["trailer_blake3"].as_str().map(str::len), Some(64));
    assert!(report.get("checksum").is_none(), "no unlabelled checksum: {report}");
    let out = mh().args(["refset", "info"]).arg(&set).output().unwrap();
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(info["sha256"], sha);
}

#[test]
fn refset_build_fails_on_a_mostly_bad_source_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("mostly-bad.md5");
    std::fs::write(
        &list,
        "0123456789abcdef0123456789abcdef  good.txt\nnot-a-hash  a\nnot-a-hash  b\n",
    )
    .unwrap();
    let set = dir.path().join("x.mhset");
    let build = |extra: &[&str]| {
        mh().args(["refset", "build", "-o"])
            .arg(&set)
            .args(extra)
            .arg("--alert")
            .arg(&list)
            .output()
            .unwrap()
    };
    let out = build(&[]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("2 of 3 records are bad and only 1 usable"), "{}", stderr(&out));
    assert!(!set.exists(), "nothing written");

    let out = build(&["--allow-bad-lines"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("warning (--allow-bad-lines)"), "{}", stderr(&out));
    assert!(set.is_file());

    // No good line at all.
    std::fs::write(&list, "not-a-hash  a\n").unwrap();
    let out = mh()
        .args(["refset", "build", "--format", "md5sum", "-o"])
        .arg(dir.path().join("y.mhset"))
        .arg("--alert")
        .arg(&list)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr(&out).contains("no usable record (1 bad"), "{}", stderr(&out));
}

#[test]
fn scan_exit_statuses_0_1_2_3_64() {
    let dir = tempfile::tempdir().unwrap();
    let evidence = dir.path().join("evidence");
    std::fs::create_dir(&evidence).unwrap();
    std::fs::write(evidence.join("known.txt"), b"known text\n").unwrap();
    std::fs::write(evidence.join("other.txt"), b"other text\n").unwrap();
    let set = small_set(dir.path(), "s.mhset");
    let mut truncated = std::fs::read(jpeg("text-q60-420.jpg")).unwrap();
    truncated.truncate(2000);
    let damaged = dir.path().join("damaged");
    std::fs::create_dir(&damaged).unwrap();
    std::fs::write(damaged.join("broken.jpg"), &truncated).unwrap();
    let scan = |args: &[&std::ffi::OsStr]| {
        let out = mh().args(["scan", "--no-progress"]).args(args).output().unwrap();
        (out.status.code(), stderr(&out), out.stdout)
    };
    let os = |s: &'static str| std::ffi::OsStr::new(s);

    // 0: nothing matched, nothing failed; no reference set is said on stderr.
    let (code, err, _) = scan(&[evidence.as_os_str()]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("warning: no reference set given"), "{err}");

    // 1: an alert, every entry examined; the alert is named on stderr.
    let (code, err, _) = scan(&[os("--refset"), set.as_os_str(), evidence.as_os_str()]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains(&format!("ALERT {}  (", evidence.join("known.txt").display())), "{err}");
    assert!(err.contains("md5 exact"), "{err}");
    assert!(!err.contains("no reference set"), "{err}");

    // 2: an entry could not be examined, which wins over the alert; both are on stderr.
    let (code, err, stdout) =
        scan(&[os("--refset"), set.as_os_str(), evidence.as_os_str(), damaged.as_os_str()]);
    assert_eq!(code, Some(2), "{err}");
    let broken = damaged.join("broken.jpg");
    assert!(err.contains(&format!("ERROR {}: ", broken.display())), "{err}");
    assert!(err.contains("truncated"), "{err}");
    assert!(err.contains("errors win, the footer counts both"), "{err}");
    let footer = json_lines(&stdout).pop().unwrap();
    assert_eq!(
        (footer["counts"]["alert"].as_u64(), footer["counts"]["error"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(footer["exit_status"], 2);

    // An evidence root that cannot be read at all is 2 as well.
    let missing = dir.path().join("no-such-root");
    let (code, err, _) = scan(&[evidence.as_os_str(), missing.as_os_str()]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("no-such-root cannot be examined"), "{err}");

    // 3: a reference set that cannot be loaded; a report that cannot be written.
    let (code, err, _) = scan(&[os("--alert"), os("/nonexistent/list.md5"), evidence.as_os_str()]);
    assert_eq!(code, Some(3), "{err}");
    assert!(err.contains("/nonexistent/list.md5"), "{err}");
    let unwritable = dir.path().join("no-such-dir/report.jsonl");
    let (code, err, _) = scan(&[os("--report"), unwritable.as_os_str(), evidence.as_os_str()]);
    assert_eq!(code, Some(3), "{err}");
    assert!(err.contains("cannot create"), "{err}");

    // 64: refused before anything ran.
    let report = dir.path().join("r.jsonl");
    std::fs::write(&report, b"an older report").unwrap();
    let (code, err, _) = scan(&[os("--report"), report.as_os_str(), evidence.as_os_str()]);
    assert_eq!(code, Some(64), "{err}");
    assert!(err.contains("already exists"), "{err}");
    assert_eq!(std::fs::read(&report).unwrap(), b"an older report");
    let inside = evidence.join("r.jsonl");
    let (code, err, _) = scan(&[os("--report"), inside.as_os_str(), evidence.as_os_str()]);
    assert_eq!(code, Some(64), "{err}");
    assert!(!inside.exists());
    let (code, _, _) = scan(&[os("--exclude"), os("[unclosed"), evidence.as_os_str()]);
    assert_eq!(code, Some(64));
}

#[test]
fn scan_says_so_when_alert_files_have_bad_lines() {
    let dir = tempfile::tempdir().unwrap();
    let evidence = dir.path().join("evidence");
    std::fs::create_dir(&evidence).unwrap();
    std::fs::write(evidence.join("a.txt"), b"a\n").unwrap();
    let md5 = mediahash::digest::digest_bytes(b"a\n", Default::default()).md5_hex();
    let list = dir.path().join("list.md5");
    std::fs::write(&list, format!("{md5}  a.txt\nnot-a-hash  b\n")).unwrap();
    let out = mh().args(["scan", "--no-progress", "--alert"]).arg(&list).arg(&evidence).output();
    let out = out.unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("1 bad lines skipped, 1 records used"), "{}", stderr(&out));

    // Mostly bad: refused (3), unless --allow-bad-lines.
    std::fs::write(&list, format!("{md5}  a.txt\nbad  b\nbad  c\n")).unwrap();
    let out = mh().args(["scan", "--no-progress", "--alert"]).arg(&list).arg(&evidence).output();
    let out = out.unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("2 of 3 records are bad"), "{}", stderr(&out));
    assert!(out.stdout.is_empty(), "no report is started");
    let out = mh()
        .args(["scan", "--no-progress", "--allow-bad-lines", "--alert"])
        .arg(&list)
        .arg(&evidence)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
}

#[test]
fn scan_lists_the_first_alerts_then_counts_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let evidence = dir.path().join("evidence");
    std::fs::create_dir(&evidence).unwrap();
    for i in 0..12 {
        std::fs::write(evidence.join(format!("copy-{i:02}.txt")), b"known text\n").unwrap();
    }
    let set = small_set(dir.path(), "s.mhset");
    let out = mh().args(["scan", "--no-progress", "--refset"]).arg(&set).arg(&evidence).output();
    let out = out.unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(err.lines().filter(|l| l.starts_with("  ALERT ")).count(), 10, "{err}");
    assert!(err.contains("copy-09.txt") && !err.contains("copy-10.txt"), "{err}");
    assert!(err.contains("  ... and 2 more alerts (see the report)"), "{err}");
}

/// Files and directories below `root`, relative to it, sorted.
fn tree(root: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            out.push(path.strip_prefix(root).unwrap().display().to_string());
            if path.is_dir() {
                stack.push(path);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn demo_runs_from_any_directory_with_the_documented_verdicts() {
    let elsewhere = tempfile::tempdir().unwrap();
    let out = mh()
        .args(["scan", "--demo", "--no-progress"])
        .current_dir(elsewhere.path())
        .output()
        .unwrap();
    let err = stderr(&out);
    // The counts and exit status examples/demo/README.md and the README give.
    assert_eq!(out.status.code(), Some(2), "{err}");
    // The demo video is an alert where ffmpeg decodes it, else one more error.
    let summary = if cfg!(mediahash_video_tools) {
        "18 entries: 4 alert, 2 ignore, 4 unknown-image, 2 other, 5 directory, 0 skipped, 1 error"
    } else {
        "18 entries: 3 alert, 2 ignore, 4 unknown-image, 2 other, 5 directory, 0 skipped, 2 error"
    };
    assert!(err.contains(summary), "{err}");
    let lines = json_lines(&out.stdout);
    let root = lines[0]["evidence_roots"][0].as_str().unwrap().to_string();
    let verdict = |rel: &str| {
        let path = format!("{root}/{rel}");
        let line = lines.iter().find(|l| l["path"] == path.as_str()).expect(rel);
        line["disposition"].as_str().unwrap().to_string()
    };
    for (rel, expected) in [
        ("DCIM/IMG_0001.png", "alert"),
        ("DCIM/IMG_0002.jpg", "alert"),
        ("DCIM/IMG_0003.png", "alert"),
        ("DCIM/IMG_0004.png", "unknown-image"),
        ("DCIM/IMG_0005.jpg", "unknown-image"),
        ("DCIM/IMG_0006.jpg", "error"),
        ("Documents/scan.png", "unknown-image"),
        ("Documents/receipt.dat", "unknown-image"),
        ("Documents/letter.txt", "other"),
        ("Documents/empty.txt", "other"),
        ("System/readme.txt", "ignore"),
        ("System/license.txt", "ignore"),
        ("Videos/VID_0001.mp4", if cfg!(mediahash_video_tools) { "alert" } else { "error" }),
    ] {
        assert_eq!(verdict(rel), expected, "{rel}");
    }
    // The embedded demo is the committed one: the same entries as examples/demo/evidence.
    let committed = tree(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/demo/evidence"));
    let mut scanned: Vec<String> = lines[1..lines.len() - 1]
        .iter()
        .map(|l| {
            l["path"]
                .as_str()
                .unwrap()
                .strip_prefix(&root)
                .unwrap()
                .trim_start_matches('/')
                .to_string()
        })
        .filter(|p| !p.is_empty())
        .collect();
    scanned.sort();
    assert_eq!(scanned, committed);
    assert!(!std::path::Path::new(&root).exists(), "the unpacked demo is removed");
    assert!(
        std::fs::read_dir(elsewhere.path()).unwrap().next().is_none(),
        "nothing written in the working directory"
    );

    // The mirrored copy is found with --dihedral, with its orientation named on stderr.
    let out = mh().args(["scan", "--demo", "--dihedral", "--no-progress"]).output().unwrap();
    let err = stderr(&out);
    let alerts = if cfg!(mediahash_video_tools) { "5 alert" } else { "4 alert" };
    assert!(err.contains(&format!("{alerts}, 2 ignore, 3 unknown-image")), "{err}");
    let mirrored = err.lines().find(|l| l.contains("IMG_0004.png")).expect("IMG_0004 named");
    assert!(
        mirrored.starts_with("  ALERT ")
            && mirrored.ends_with("(demo-pdq.txt, pdq distance 2 flipy)"),
        "{mirrored}"
    );
}

// ---------------------------------------------------------------- issue 11: soundness

use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::Path;

/// Sets atime to 2001 and mtime to 2002 (a relatime mount then updates atime on any read).
fn age_times(path: &Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    let times = [
        libc::timespec { tv_sec: 981_173_106, tv_nsec: 0 },
        libc::timespec { tv_sec: 1_012_709_106, tv_nsec: 0 },
    ];
    // SAFETY: c is a valid C string; times points to two timespecs.
    let rc = unsafe {
        libc::utimensat(libc::AT_FDCWD, c.as_ptr(), times.as_ptr(), libc::AT_SYMLINK_NOFOLLOW)
    };
    assert_eq!(rc, 0, "utimensat {}", path.display());
}

fn atime(path: &Path) -> (i64, i64) {
    let m = std::fs::symlink_metadata(path).unwrap();
    (m.atime(), m.atime_nsec())
}

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: c is a valid C string.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
}

#[test]
fn hash_gives_every_entry_it_does_not_read_a_line_saying_why() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    std::fs::create_dir(&tree).unwrap();
    std::fs::write(tree.join("a.txt"), b"abc").unwrap();
    symlink("a.txt", tree.join("link")).unwrap();
    mkfifo(&tree.join("pipe"));
    let _socket = std::os::unix::net::UnixListener::bind(tree.join("sock")).unwrap();
    let named_fifo = dir.path().join("named-pipe");
    mkfifo(&named_fifo);

    let out = mh().arg("hash").arg(&tree).arg(&named_fifo).arg("/dev/null").output().unwrap();
    let lines = json_lines(&out.stdout);
    let by_path = |p: &Path| {
        lines
            .iter()
            .find(|l| l["path"].as_str() == p.to_str())
            .unwrap_or_else(|| panic!("no line for {}: {lines:?}", p.display()))
    };
    assert_eq!(by_path(&tree.join("a.txt"))["md5"], "900150983cd24fb0d6963f7d28e17f72");
    for (path, kind, code) in [
        (tree.join("link"), "symlink", "symlink-not-followed"),
        (tree.join("pipe"), "fifo", "fifo"),
        (tree.join("sock"), "socket", "socket"),
        (named_fifo.clone(), "fifo", "fifo"),
        (Path::new("/dev/null").to_path_buf(), "char-device", "char-device"),
    ] {
        let line = by_path(&path);
        assert_eq!(line["kind"], kind, "{line}");
        assert_eq!(line["reason_code"], code, "{line}");
        assert!(line["skipped"].as_str().is_some_and(|s| s.len() > 10), "{line}");
        assert!(line.get("md5").is_none(), "{line}");
    }
    assert_eq!(lines.len(), 6, "{lines:?}");
    // Skips are not failures; the summary on stderr counts them.
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("5 skipped"));
}

#[test]
fn hash_leaves_directory_access_times_alone() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(tree.join("sub")).unwrap();
    std::fs::write(tree.join("sub/a.txt"), b"abc").unwrap();
    for p in [tree.join("sub/a.txt"), tree.join("sub"), tree.clone()] {
        age_times(&p);
    }
    let before: Vec<_> =
        [tree.clone(), tree.join("sub"), tree.join("sub/a.txt")].iter().map(|p| atime(p)).collect();
    let out = mh().arg("hash").arg(&tree).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(json_lines(&out.stdout).len(), 1);
    let after: Vec<_> =
        [tree.clone(), tree.join("sub"), tree.join("sub/a.txt")].iter().map(|p| atime(p)).collect();
    assert_eq!(after, before);
}

/// `mh` run as user nobody, when this test runs as root and `setpriv` exists.
fn as_nobody() -> Option<Command> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 || !Path::new("/usr/bin/setpriv").exists() {
        eprintln!("skipped: needs root and setpriv to run mh as another user");
        return None;
    }
    let exe = mh().get_program().to_owned();
    let mut command = Command::new("/usr/bin/setpriv");
    command.args(["--reuid=65534", "--regid=65534", "--clear-groups"]).arg(exe);
    Some(command)
}

#[test]
fn scan_as_a_user_who_does_not_own_the_evidence_refuses_unless_allowed() {
    let Some(_) = as_nobody() else { return };
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let ev = dir.path().join("ev");
    std::fs::create_dir_all(ev.join("sub")).unwrap();
    std::fs::write(ev.join("sub/f.txt"), b"f").unwrap();
    std::fs::write(ev.join("g.txt"), b"g").unwrap();
    let reports = dir.path().join("reports");
    std::fs::create_dir(&reports).unwrap();
    std::fs::set_permissions(&reports, std::fs::Permissions::from_mode(0o777)).unwrap();
    let paths = [ev.clone(), ev.join("sub"), ev.join("sub/f.txt"), ev.join("g.txt")];
    for p in &paths {
        age_times(p);
    }
    let before: Vec<_> = paths.iter().map(|p| atime(p)).collect();

    let out = as_nobody().unwrap().args(["scan", "--no-progress"]).arg(&ev).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(64), "{stderr}");
    assert!(stderr.contains("CHANGE THE ACCESS TIMES"), "{stderr}");
    assert!(stderr.contains("--allow-atime-changes"), "{stderr}");
    assert!(out.stdout.is_empty());
    assert_eq!(paths.iter().map(|p| atime(p)).collect::<Vec<_>>(), before, "evidence touched");

    // mh hash: every unread entry says why; nothing touched; status 2.
    let out = as_nobody().unwrap().arg("hash").arg(&ev).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["reason_code"], "atime-would-change");
    assert_eq!(paths.iter().map(|p| atime(p)).collect::<Vec<_>>(), before, "evidence touched");

    // Allowed: scanned, the footer counts what changed, status 2.
    let report = reports.join("r.jsonl");
    let out = as_nobody()
        .unwrap()
        .args(["scan", "--no-progress", "--allow-atime-changes", "--report"])
        .arg(&report)
        .arg(&ev)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("access times of the evidence changed"), "{stderr}");
    let text = std::fs::read(&report).unwrap();
    let footer = json_lines(&text).pop().unwrap();
    assert_eq!(footer["record"], "footer");
    assert_eq!(footer["files_without_noatime"], 2, "{footer}");
    assert_eq!(footer["dirs_without_noatime"], 2, "{footer}");
    assert_eq!(footer["counts"]["error"], 0, "{footer}");
    assert_eq!(footer["exit_status"], 2);
}

#[test]
fn scan_refuses_a_report_or_temporary_files_beside_an_evidence_file() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("ev1/sub");
    std::fs::create_dir_all(&sub).unwrap();
    std::fs::write(sub.join("a.png"), b"evidence").unwrap();
    let report = sub.join("r.jsonl");
    let out = mh()
        .args(["scan", "--no-progress", "--report"])
        .arg(&report)
        .arg(sub.join("a.png"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(64), "{stderr}");
    assert!(stderr.contains("the folder of evidence file"), "{stderr}");
    assert!(stderr.contains(report.to_str().unwrap()), "{stderr}");
    assert!(!stderr.contains("scratch"), "{stderr}");
    assert!(!report.exists());

    // Report to stdout, TMPDIR inside the evidence: the message names TMPDIR.
    let out = mh()
        .args(["scan", "--no-progress"])
        .arg(dir.path().join("ev1"))
        .env("TMPDIR", &sub)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(64), "{stderr}");
    assert!(stderr.contains("the temporary directory") && stderr.contains("TMPDIR"), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn scan_with_overlapping_roots_reads_each_file_once() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("ev/sub")).unwrap();
    std::fs::write(dir.path().join("ev/sub/a.png"), b"not really a png").unwrap();
    let out = mh()
        .current_dir(dir.path())
        .args(["scan", "--no-progress", "ev", "ev/sub", "./ev", "ev/sub/a.png"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines = json_lines(&out.stdout);
    let md5 = mediahash::digest::digest_bytes(b"not really a png", Default::default()).md5_hex();
    let read: Vec<_> = lines.iter().filter(|l| l["md5"] == md5.as_str()).collect();
    assert_eq!(read.len(), 1, "{read:?}");
    let duplicates: Vec<_> = lines.iter().filter(|l| l["reason_code"] == "duplicate").collect();
    assert_eq!(duplicates.len(), 3, "{duplicates:?}");
    let footer = lines.last().unwrap();
    assert_eq!(footer["counts"]["entries"], 3 + 3);
    assert_eq!(footer["counts"]["skipped"], 3);
}

/// `mh scan --review DIR` writes the report and the review page; the output folder is
/// refused under evidence, when not empty, and without a JSON Lines report file.
#[test]
fn scan_review_writes_the_page_and_refuses_bad_folders() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("r.jsonl");
    let review = dir.path().join("review");
    let out = mh()
        .args(["scan", "--demo", "--no-progress", "--report"])
        .arg(&report)
        .arg("--review")
        .arg(&review)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out)); // the demo's truncated JPEG
    // The demo video's alert is one more to confirm where ffmpeg decodes it.
    let to_review = if cfg!(mediahash_video_tools) { "8 of 8" } else { "7 of 8" };
    assert!(stderr(&out).contains(&format!("pictures to review: {to_review}")), "{}", stderr(&out));
    assert!(review.join("index.html").is_file());
    assert_eq!(std::fs::read_dir(review.join("thumbs")).unwrap().count(), 7);

    // mh review from the report: refused into the same (non-empty) folder, accepted anew.
    let again = mh().arg("review").arg(&report).arg("--out").arg(&review).output().unwrap();
    assert_eq!(again.status.code(), Some(64), "{}", stderr(&again));
    let evidence = dir.path().join("ev");
    std::fs::create_dir(&evidence).unwrap();
    let inside = mh()
        .arg("review")
        .arg(&report)
        .arg("--out")
        .arg(evidence.join("rev"))
        .arg("--evidence")
        .arg(&evidence)
        .output()
        .unwrap();
    assert_eq!(inside.status.code(), Some(64), "{}", stderr(&inside));
    assert!(!evidence.join("rev").exists());
    let no_report = mh()
        .args(["scan", "--demo", "--no-progress", "--review"])
        .arg(dir.path().join("x"))
        .output()
        .unwrap();
    assert_eq!(no_report.status.code(), Some(64), "{}", stderr(&no_report));
}

/// `mh hash` digests (MD5 in SIMD lanes over many files) equal hashdeep's on files of every
/// padding boundary and a few large ones, and the output is byte-identical at 1 and 2
/// threads and with the portable code forced (`MEDIAHASH_SIMD=portable`).
#[test]
fn hash_digests_equal_hashdeep_at_every_simd_level_and_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(tree.join("sub")).unwrap();
    let mut sizes: Vec<usize> = vec![0, 1, 55, 56, 57, 63, 64, 65, 127, 128, 129, 4096, 65_536];
    sizes.extend([65_537, 300_001, (1 << 20) + 65, 3 << 20]);
    sizes.extend((0..60).map(|i| (i * 7919) % 20_000));
    for (n, size) in sizes.iter().enumerate() {
        let data: Vec<u8> = (0..*size).map(|i| (i * 31 + n * 17 + (i >> 9)) as u8).collect();
        let folder = if n % 3 == 0 { tree.join("sub") } else { tree.clone() };
        std::fs::write(folder.join(format!("f{n:03}-{size}.bin")), data).unwrap();
    }
    let run = |threads: &str, simd: Option<&str>| {
        let mut command = mh();
        command.args(["hash", "--no-perceptual", "--threads", threads]).arg(&tree);
        if let Some(level) = simd {
            command.env("MEDIAHASH_SIMD", level);
        }
        let out = command.output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        out.stdout
    };
    let reference = run("1", None);
    for (threads, simd) in [("2", None), ("1", Some("portable")), ("2", Some("portable"))] {
        assert!(run(threads, simd) == reference, "{threads} threads, {simd:?}");
    }
    let lines = json_lines(&reference);
    assert_eq!(lines.len(), sizes.len());

    let Ok(out) =
        Command::new("hashdeep").args(["-r", "-c", "md5,sha1,sha256"]).arg(&tree).output()
    else {
        eprintln!("skipped the hashdeep comparison: hashdeep not found (apt-get install hashdeep)");
        return;
    };
    assert!(out.status.success());
    let mut theirs = std::collections::HashMap::new();
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        if line.starts_with('%') || line.starts_with('#') || line.is_empty() {
            continue;
        }
        // size,md5,sha1,sha256,path (the path may hold commas).
        let fields: Vec<&str> = line.splitn(5, ',').collect();
        theirs.insert(
            fields[4].to_string(),
            (fields[0].parse::<u64>().unwrap(), fields[1..4].join(",")),
        );
    }
    assert_eq!(theirs.len(), sizes.len());
    for line in &lines {
        let path = line["path"].as_str().unwrap();
        let (size, digests) = &theirs[path];
        assert_eq!(line["size"].as_u64().unwrap(), *size, "{path}");
        let ours = format!(
            "{},{},{}",
            line["md5"].as_str().unwrap(),
            line["sha1"].as_str().unwrap(),
            line["sha256"].as_str().unwrap()
        );
        assert_eq!(&ours, digests, "{path}");
    }
}
