//! The `mh` tool end to end (`hash` and `refset`), run as the examiner would run it.
//! `cargo test` builds the examples first; the binary is found beside the test binary.

use std::path::PathBuf;
use std::process::Command;

fn mh() -> Command {
    let deps = std::env::current_exe().unwrap().parent().unwrap().to_path_buf();
    let exe: PathBuf = deps.parent().unwrap().join("examples").join("mh");
    assert!(exe.is_file(), "{} not built (cargo test builds examples)", exe.display());
    Command::new(exe)
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
    assert_eq!(photo["pdq_dihedral"].as_array().unwrap().len(), 8);
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

    let out = mh().args(["refset", "lookup"]).arg(&set).arg(&md5).output().unwrap();
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 1);
    assert_eq!(
        (lines[0]["disposition"].as_str(), lines[0]["kind"].as_str()),
        (Some("alert"), Some("md5"))
    );

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
    assert_eq!(out.status.code(), Some(2), "{stderr}");
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
    assert_eq!(out.status.code(), Some(2), "{stderr}");
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
