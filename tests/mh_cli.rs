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
