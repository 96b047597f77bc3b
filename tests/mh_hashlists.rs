//! `mh` end to end for issue 14's hash-list and output items: empty and mostly-bad sources
//! refused (exit 3) unless `--allow-empty`, empty-file hashes counted in `build` and `info`,
//! bare 64-hex lists matching as SHA-256 and PDQ, `--refset` sets verified before a scan
//! (`--no-verify` to skip), sets written with the umask's mode, no panic on a closed stderr,
//! and FIFOs, devices and directories refused by name, never read or waited on.
#![cfg(feature = "cli")]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn mh() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mh"))
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs `command` (stdin closed), killing it and failing the test after `limit`: a command
/// that blocks on a FIFO or reads `/dev/zero` forever must not hang the suite.
fn run_with_timeout(command: &mut Command, limit: Duration) -> Output {
    let mut child =
        command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if start.elapsed() > limit {
            child.kill().unwrap();
            let out = child.wait_with_output().unwrap();
            panic!("still running after {limit:?}: {}", stderr(&out));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn build(dir: &Path, name: &str, extra: &[&str], alert: &Path) -> (PathBuf, Output) {
    let set = dir.join(name);
    let out = mh()
        .args(["refset", "build", "-o"])
        .arg(&set)
        .args(extra)
        .arg("--alert")
        .arg(alert)
        .output()
        .unwrap();
    (set, out)
}

#[test]
fn empty_sources_are_refused_unless_allowed_and_empty_file_hashes_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let empty_md5 = mediahash::digest::digest_bytes(b"", Default::default()).md5_hex();
    let known = mediahash::digest::digest_bytes(b"known\n", Default::default()).md5_hex();
    // Only the empty file's hash: zero records.
    let only_empty = dir.path().join("only-empty.md5");
    std::fs::write(&only_empty, format!("{empty_md5}  empty.txt\n")).unwrap();
    let (set, out) = build(dir.path(), "a.mhset", &[], &only_empty);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("no usable record (0 bad, 1 only the empty file's hashes)"));
    assert!(stderr(&out).contains("--allow-empty"), "{}", stderr(&out));
    assert!(!set.exists());
    let (set, out) = build(dir.path(), "a.mhset", &["--allow-empty"], &only_empty);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(set.is_file());

    // A usable list with one empty-file line: built, and the skip is counted.
    let list = dir.path().join("list.md5");
    std::fs::write(&list, format!("{known}  k.txt\n{empty_md5}  empty.txt\n")).unwrap();
    let (set, out) = build(dir.path(), "b.mhset", &[], &list);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("1 records, 0 bad, 1 empty-file hashes skipped"),
        "{}",
        stderr(&out)
    );
    let info = mh().args(["refset", "info"]).arg(&set).output().unwrap();
    let info: serde_json::Value = serde_json::from_slice(&info.stdout).unwrap();
    let source = &info["provenance"]["sources"][0];
    let source = if source.is_null() { &info["sources"][0] } else { source };
    assert_eq!(source["empty_file_records_skipped"], 1, "{info}");

    // mh scan --alert applies the same rule, with the same flag.
    let evidence = dir.path().join("evidence");
    std::fs::create_dir(&evidence).unwrap();
    std::fs::write(evidence.join("x.txt"), b"x").unwrap();
    let report = dir.path().join("r.jsonl");
    let scan = |extra: &[&str]| {
        mh().args(["scan", "--no-progress", "--report"])
            .arg(&report)
            .args(extra)
            .arg("--alert")
            .arg(&only_empty)
            .arg(&evidence)
            .output()
            .unwrap()
    };
    let out = scan(&[]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("no usable record"), "{}", stderr(&out));
    let _ = std::fs::remove_file(&report);
    let out = scan(&["--allow-empty"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn a_bare_64_hex_list_matches_as_sha256_and_as_pdq() {
    let dir = tempfile::tempdir().unwrap();
    let value = "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22";
    let list = dir.path().join("list.txt");
    std::fs::write(&list, format!("{value}\n")).unwrap();
    let (set, out) = build(dir.path(), "s.mhset", &[], &list);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("stored both as SHA-256 and as PDQ"), "{}", stderr(&out));
    let out = mh().args(["refset", "lookup"]).arg(&set).arg(value).output().unwrap();
    let line: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let kinds: Vec<&str> =
        line["matches"].as_array().unwrap().iter().filter_map(|m| m["kind"].as_str()).collect();
    assert!(kinds.contains(&"sha256") && kinds.contains(&"pdq"), "{line}");
    // A PDQ one bit away is found by the radius search.
    let mut near = value.to_string();
    near.replace_range(0..1, "c");
    let out = mh().args(["refset", "search"]).arg(&set).args(["--pdq", &near]).output().unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("\"distance\":1"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn scan_refuses_a_damaged_refset_unless_no_verify() {
    let dir = tempfile::tempdir().unwrap();
    let known = mediahash::digest::digest_bytes(b"known\n", Default::default()).md5_hex();
    let list = dir.path().join("list.md5");
    std::fs::write(&list, format!("{known}  k.txt\n")).unwrap();
    let (set, out) = build(dir.path(), "s.mhset", &[], &list);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // Flip one bit of the trailer checksum: opening (structure) still succeeds, the full
    // check does not.
    let mut bytes = std::fs::read(&set).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&set, &bytes).unwrap();
    let evidence = dir.path().join("evidence");
    std::fs::create_dir(&evidence).unwrap();
    std::fs::write(evidence.join("k.txt"), b"known\n").unwrap();
    for mapped in [false, true] {
        let report = dir.path().join(format!("r-{mapped}.jsonl"));
        let scan = |extra: &[&str]| {
            let mut c = mh();
            c.args(["scan", "--no-progress", "--report"]).arg(&report).args(extra);
            if mapped {
                c.arg("--map-refsets");
            }
            c.arg("--refset").arg(&set).arg(&evidence).output().unwrap()
        };
        let out = scan(&[]);
        assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
        assert!(stderr(&out).contains("is damaged"), "{}", stderr(&out));
        assert!(stderr(&out).contains("--no-verify"), "{}", stderr(&out));
        assert!(!report.exists(), "no report from a refused set");
        let out = scan(&["--no-verify"]);
        assert_eq!(out.status.code(), Some(1), "the alert is still found: {}", stderr(&out));
    }
}

#[test]
fn sets_are_written_with_the_umask_mode() {
    let dir = tempfile::tempdir().unwrap();
    let known = mediahash::digest::digest_bytes(b"known\n", Default::default()).md5_hex();
    let list = dir.path().join("list.md5");
    std::fs::write(&list, format!("{known}  k.txt\n")).unwrap();
    for (umask, mode) in [("022", 0o644), ("077", 0o600), ("002", 0o664)] {
        let set = dir.path().join(format!("s{umask}.mhset"));
        let status = Command::new("sh")
            .arg("-c")
            .arg(format!("umask {umask} && exec \"$0\" refset build -o \"$1\" --alert \"$2\""))
            .arg(env!("CARGO_BIN_EXE_mh"))
            .arg(&set)
            .arg(&list)
            .stderr(Stdio::null())
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
        let got = std::fs::metadata(&set).unwrap().permissions().mode() & 0o777;
        assert_eq!(got, mode, "umask {umask}");
    }
}

#[test]
fn a_closed_stderr_pipe_is_no_panic() {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("bad.md5");
    // Many bad lines: build prints one stderr line per line kept.
    let mut text = String::new();
    for i in 0..500 {
        text.push_str(&format!("bad line {i}\n"));
    }
    std::fs::write(&list, text).unwrap();
    // `mh ... 2>&1 | head -1`, as the issue gives it: the shell reports mh's own status.
    let script = "\"$0\" refset build --format md5sum --allow-bad-lines -o \"$1\" --alert \"$2\" \
                  2>&1 | head -1 >/dev/null; echo \"${PIPESTATUS[0]}\"";
    let out = Command::new("bash")
        .arg("-c")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_mh"))
        .arg(dir.path().join("x.mhset"))
        .arg(&list)
        .output()
        .unwrap();
    let status = String::from_utf8_lossy(&out.stdout).trim().to_string();
    // 101 is Rust's panic status; 3 is "the output could not be written" (stdout closed
    // too), 0 when mh finished before head closed the pipe.
    assert!(status == "3" || status == "0", "mh exited {status}: {}", stderr(&out));
    // Also the scan, whose summary and alert lines go to stderr.
    let script = "\"$0\" scan --demo --no-progress --report \"$1\" 2>&1 | head -1 >/dev/null; \
                  echo \"${PIPESTATUS[0]}\"";
    let out = Command::new("bash")
        .arg("-c")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_mh"))
        .arg(dir.path().join("demo.jsonl"))
        .output()
        .unwrap();
    let status = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert_eq!(
        status,
        "2",
        "the demo's status (one unreadable file), not a panic: {}",
        stderr(&out)
    );
}

#[test]
fn fifos_devices_and_directories_are_refused_by_name_never_read() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let limit = Duration::from_secs(30);
    // mh hash: one skipped line each, at once.
    let out = run_with_timeout(mh().arg("hash").arg(&fifo).arg("/dev/zero"), limit);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("\"reason_code\":\"fifo\"")
            && text.contains("\"reason_code\":\"char-device\""),
        "{text}"
    );
    // A directory, a device or a FIFO given as a set or a hash-set source says what it is.
    for (path, what) in [
        (dir.path().to_path_buf(), "is a directory"),
        (PathBuf::from("/dev/zero"), "is a character device"),
        (fifo.clone(), "is a FIFO"),
    ] {
        let out = run_with_timeout(mh().args(["refset", "info"]).arg(&path), limit);
        assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
        assert!(stderr(&out).contains(what), "{path:?}: {}", stderr(&out));
        let out = run_with_timeout(
            mh().args(["scan", "--no-progress", "--refset"])
                .arg(&path)
                .arg(dir.path().join("none")),
            limit,
        );
        assert!(stderr(&out).contains(what), "{path:?}: {}", stderr(&out));
        // A FIFO source is read when the format is named (`<(zcat list.gz)`), so it is
        // only tried with detection, which refuses it.
        let format: &[&str] = if path == fifo { &[] } else { &["--format", "md5sum"] };
        let out = run_with_timeout(
            mh().args(["refset", "build"])
                .args(format)
                .arg("-o")
                .arg(dir.path().join("o.mhset"))
                .arg("--alert")
                .arg(&path),
            limit,
        );
        assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
        assert!(stderr(&out).contains(what), "{path:?}: {}", stderr(&out));
    }
}
