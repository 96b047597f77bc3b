//! Hash-list formats added for issue 14: HashKeeper `.hsh`/`.hke`, iLook v3/v4 `.hsh`,
//! md5deep `-z` size lists, PDQ CSVs with the hash in another column, and bare 64-hex lists
//! (stored as SHA-256 and PDQ). Each is tested on a file made here from the format's
//! documentation (md5deep's `files.cpp` headers, the hashdeep FILEFORMAT notes, TSK's `hk`
//! type), with hostile lines counted and never a panic; against the reference readers where
//! they exist (md5deep/sha1deep/sha256deep matching known files, TSK `hfind -i hk` building
//! its index); and against the public samples of jessek/hashdeep and facebook/ThreatExchange
//! when `MEDIAHASH_HASHLIST_SAMPLES` names a folder holding them (not committed: see
//! `sample_files_from_the_public_repositories`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use mediahash::digest::{Digests, digest_bytes};
use mediahash::import::pdqlist::PdqColumn;
use mediahash::import::{
    Format, ImportError, ImportOptions, ImportSummary, detect_source_format_bytes, import_path,
    import_reader,
};
use mediahash::refset::{HashValue, Record};
use proptest::prelude::*;

fn collect(
    bytes: &[u8],
    format: Option<Format>,
    opts: &ImportOptions,
) -> Result<(Vec<Record>, ImportSummary), ImportError> {
    let mut records = Vec::new();
    let summary = import_reader(bytes, "test-input", format, opts, &mut |r| {
        records.push(r);
        Ok(())
    })?;
    Ok((records, summary))
}

fn collect_path(
    path: &Path,
    format: Option<Format>,
    opts: &ImportOptions,
) -> Result<(Vec<Record>, ImportSummary), ImportError> {
    let mut records = Vec::new();
    let summary = import_path(path, format, opts, &mut |r| {
        records.push(r);
        Ok(())
    })?;
    Ok((records, summary))
}

fn bad_lines(summary: &ImportSummary) -> Vec<u64> {
    summary.bad_examples.iter().map(|b| b.line).collect()
}

fn content(i: usize) -> Vec<u8> {
    format!("hash-list test file {i}\n").into_bytes()
}

fn digests(i: usize) -> Digests {
    digest_bytes(&content(i), Default::default())
}

fn upper(bytes: &[u8]) -> String {
    mediahash::hex::encode(bytes).to_ascii_uppercase()
}

const HK_HEADER: &str = "\"file_id\",\"hashset_id\",\"file_name\",\"directory\",\"hash\",\"file_size\",\"date_modified\",\"time_modified\",\"time_zone\",\"comments\",\"date_accessed\",\"time_accessed\"";
const ILOOK3_HEADER: &str =
    "V3Hash,HashSHA1,FileName,FilePath,FileSize,HashSHA256,HashSHA384,HashSHA512";
const ILOOK4_HEADER: &str = "V4Hash,HashSHA1,FileName,FilePath,FileSize,HashSHA256,HashSHA384,HashSHA512,CreateTime,ModTime,LastAccessTime";

/// A HashKeeper `.hsh` for files 0..n (CRLF line ends, as the public sample's `.hke` has).
fn hashkeeper(n: usize) -> String {
    let mut text = format!("{HK_HEADER}\r\n");
    for i in 0..n {
        let d = digests(i);
        text.push_str(&format!(
            "{},671,\"file {i}.dll\",\"C:\\WINNT\",\"{}\",{},,,,,,\r\n",
            4_151_000 + i,
            upper(&d.md5),
            content(i).len()
        ));
    }
    text
}

fn ilook(version: u8, n: usize) -> String {
    let mut text = format!("{}\n", if version == 3 { ILOOK3_HEADER } else { ILOOK4_HEADER });
    for i in 0..n {
        let d = digests(i);
        let times =
            if version == 4 { ",16.4.2008 14:29:24,16.4.2008 10:24:28,18.4.2008" } else { "" };
        // Every other line leaves the SHA-256 column empty, as the public samples do.
        let sha256 = if i % 2 == 0 { upper(&d.sha256) } else { String::new() };
        text.push_str(&format!(
            "{},{},file{i}.bin,D:\\cases\\,{},{sha256},,{times}\n",
            upper(&d.md5),
            upper(&d.sha1),
            content(i).len()
        ));
    }
    text
}

/// An iLook v1 file: one hash per line with its type and the set's description.
fn ilook_v1(n: usize) -> String {
    let mut text = String::from("V1Hash,HashType,SetDescription,FileName,FilePath,FileSize\n");
    for i in 0..n {
        let size = content(i).len();
        text.push_str(&format!(
            "{},MD5,Test set,file{i}.bin,D:\\cases\\,{size}\n",
            upper(&digests(i).md5)
        ));
    }
    text
}

fn md5deep_size(n: usize) -> String {
    (0..n)
        .map(|i| {
            let d = digests(i);
            format!("{:>10}  {}  /cases/file {i}.bin\n", content(i).len(), d.md5_hex())
        })
        .collect()
}

#[test]
fn hashkeeper_from_the_documented_layout() {
    let mut text = hashkeeper(3);
    text.push_str("9,671,\"x, with comma.txt\",,\"00112233445566778899AABBCCDDEEFF\",5,,,,\"a \"\"note\"\"\",,\r\n");
    text.push_str("10,671,\"short\",,\"0011\",5,,,,,,\r\n"); // hash too short
    text.push_str("11,671,\"f\",,\"00112233445566778899AABBCCDDEEFF\",5\r\n"); // 6 fields
    text.push_str("12,671,\"open,,\"00112233445566778899AABBCCDDEEFF\",5,,,,,,\r\n"); // open quote
    text.push_str("13,671,\"f\",,\"00112233445566778899AABBCCDDEEFF\",big,,,,,,\r\n"); // size
    let (records, summary) = collect(text.as_bytes(), None, &ImportOptions::default()).unwrap();
    assert_eq!(summary.format, Format::HashKeeper);
    assert_eq!(records.len(), 4);
    assert_eq!(records[0].hashes, vec![HashValue::Md5(digests(0).md5)]);
    assert_eq!(records[0].meta.file_name.as_deref(), Some(&b"C:\\WINNT\\file 0.dll"[..]));
    assert_eq!(records[0].meta.file_size, Some(content(0).len() as u64));
    assert_eq!(records[0].meta.source_id.as_deref(), Some("2"));
    assert_eq!(records[0].meta.note.as_deref(), Some("HashKeeper file_id 4151000, hashset_id 671"));
    // A quoted comma stays in the name; a doubled quote in the comment is one quote.
    assert_eq!(records[3].meta.file_name.as_deref(), Some(&b"x, with comma.txt"[..]));
    assert!(records[3].meta.note.as_deref().unwrap().ends_with(": a \"note\""));
    assert_eq!(bad_lines(&summary), vec![6, 7, 8, 9]);
    let reasons: Vec<&str> = summary.bad_examples.iter().map(|b| b.reason.as_str()).collect();
    assert!(reasons[0].contains("MD5"), "{reasons:?}");
    assert!(reasons[1].contains("12 HashKeeper fields, found 6"), "{reasons:?}");
    assert!(reasons[2].contains("after a closing quote"), "{reasons:?}");
    assert!(reasons[3].contains("not a whole number"), "{reasons:?}");
}

#[test]
fn hashkeeper_hke_alone_is_refused_naming_the_hsh() {
    let hke = "\"hashset_id\",\"name\",\"vendor\",\"package\",\"version\",\"authenicated_flag\",\"notable_flag\",\"initials\",\"num_of_files\",\"description\",\"date_loaded\"\r\n671,\"Z00236\",\"Microsoft\",\"W2K\",\"2000\",1,0,\"ndic\",0,\"d\",2/22/02 13:41:29\r\n";
    let e = collect(hke.as_bytes(), None, &ImportOptions::default()).unwrap_err();
    assert!(matches!(e, ImportError::WrongSchema { .. }), "{e}");
    assert!(e.to_string().contains("import the .hsh file"), "{e}");
    // Beside the .hsh it names the set.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Z1.hke"), hke).unwrap();
    std::fs::write(dir.path().join("Z1.hsh"), hashkeeper(2)).unwrap();
    let (_, summary) = collect_path(&dir.path().join("Z1.hsh"), None, &Default::default()).unwrap();
    assert_eq!(summary.source_description.as_deref(), Some("HashKeeper set 671: Z00236"));
    // Forced on a file without the header: a schema error, not a pile of bad lines.
    let e = collect(b"1,2,3\n", Some(Format::HashKeeper), &ImportOptions::default()).unwrap_err();
    assert!(e.to_string().contains("no HashKeeper header"), "{e}");
}

#[test]
fn ilook_v3_and_v4_from_the_documented_headers() {
    for version in [3u8, 4] {
        let mut text = ilook(version, 4);
        let tail = if version == 4 { ",,," } else { "" };
        text.push_str(&format!("ZZ,,name,\\,1,,,{tail}\n")); // MD5 not hex
        text.push_str(&format!(",,name,\\,1,,,{tail}\n")); // no hash at all
        text.push_str("short,line\n");
        let (records, summary) = collect(text.as_bytes(), None, &ImportOptions::default()).unwrap();
        assert_eq!(summary.format, Format::Ilook);
        assert_eq!(summary.format_label, format!("ilook-v{version}"));
        assert_eq!(records.len(), 4, "v{version}");
        let d = digests(0);
        assert_eq!(
            records[0].hashes,
            vec![HashValue::Md5(d.md5), HashValue::Sha1(d.sha1), HashValue::Sha256(d.sha256)]
        );
        assert_eq!(records[1].hashes.len(), 2, "empty SHA-256 column: MD5 and SHA-1 only");
        assert_eq!(records[0].meta.file_name.as_deref(), Some(&b"D:\\cases\\file0.bin"[..]));
        assert_eq!(records[0].meta.file_size, Some(content(0).len() as u64));
        assert_eq!(bad_lines(&summary), vec![6, 7, 8]);
    }
    // v1: the hash's kind from its length, the set description as the note.
    let mut text = ilook_v1(2);
    text.push_str("0011,MD5,Test set,x,\\,1\n");
    let (records, summary) = collect(text.as_bytes(), None, &ImportOptions::default()).unwrap();
    assert_eq!(summary.format_label, "ilook-v1");
    assert_eq!(records[0].hashes, vec![HashValue::Md5(digests(0).md5)]);
    assert_eq!(records[0].meta.note.as_deref(), Some("Test set"));
    assert_eq!(records[1].meta.file_name.as_deref(), Some(&b"D:\\cases\\file1.bin"[..]));
    assert_eq!(bad_lines(&summary), vec![4]);
    // A comma inside a name shifts the columns; the hashes are still found at both ends.
    let d = digests(1);
    let line = format!(
        "{ILOOK3_HEADER}\n{},{},a,b.txt,\\,7,{},,\n",
        upper(&d.md5),
        upper(&d.sha1),
        upper(&d.sha256)
    );
    let (records, _) = collect(line.as_bytes(), None, &ImportOptions::default()).unwrap();
    assert_eq!(records[0].hashes.len(), 3);
    assert_eq!(records[0].meta.file_name.as_deref(), Some(&b"\\a,b.txt"[..]));
    assert_eq!(records[0].meta.file_size, Some(7));
}

#[test]
fn md5deep_size_lists() {
    let mut text = md5deep_size(3);
    let d = digests(7);
    text.push_str(&format!("12345678901  {}  /big file\n", d.sha256_hex())); // sha256deep -z
    text.push_str("       298  4d46e4ef07fd0c7fa82bd5008b06db3  /odd length\n");
    text.push_str("  notasize  4d46e4ef07fd0c7fa82bd5008b06db37  /x\n");
    let (records, summary) = collect(text.as_bytes(), None, &ImportOptions::default()).unwrap();
    assert_eq!(summary.format, Format::Md5deepSize);
    assert_eq!(records.len(), 4);
    assert_eq!(records[0].hashes, vec![HashValue::Md5(digests(0).md5)]);
    assert_eq!(records[0].meta.file_name.as_deref(), Some(&b"/cases/file 0.bin"[..]));
    assert_eq!(records[0].meta.file_size, Some(content(0).len() as u64));
    // 64 hex after a size is sha256deep's output: SHA-256 alone.
    assert_eq!(records[3].hashes, vec![HashValue::Sha256(d.sha256)]);
    assert_eq!(records[3].meta.file_size, Some(12_345_678_901));
    assert_eq!(bad_lines(&summary), vec![5, 6]);
}

const PDQ_A: &str = "d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22";
const PDQ_B: &str = "e4cc89d91c623842f8d1f1d9a398e78c9f199a3bf87925f2b7e11e0bf061b064";

fn pdq(hex: &str, quality: Option<u8>) -> HashValue {
    HashValue::Pdq { hash: mediahash::hex::decode_fixed(hex).unwrap(), quality }
}

#[test]
fn pdq_csv_with_the_hash_in_another_column() {
    // ThreatExchange's test-data shape: a header naming the column, found without an option.
    let text = format!("FilePath,Hash\n../b.jpg,{PDQ_A}\n\"c, 2.png\",{PDQ_B}\nx.png,nothex\n");
    let pdq_csv = Some(Format::PdqCsv);
    let (records, summary) = collect(text.as_bytes(), pdq_csv, &ImportOptions::default()).unwrap();
    assert_eq!(
        records.iter().map(|r| r.hashes[0].clone()).collect::<Vec<_>>(),
        [pdq(PDQ_A, None), pdq(PDQ_B, None)]
    );
    assert_eq!(records[1].meta.file_name.as_deref(), Some(&b"c, 2.png"[..]));
    assert_eq!(bad_lines(&summary), vec![4]);
    assert!(summary.notes.iter().any(|n| n.contains("column 2")), "{:?}", summary.notes);

    // Undetected without --format: the message names the column to give.
    let e = detect_source_format_bytes(text.as_bytes(), "t").unwrap_err();
    assert!(e.to_string().contains("--format pdq-csv --pdq-column 2"), "{e}");

    // No header: the column by number; a quality column by header name when there is one.
    let headless = format!("id1;x,7,{PDQ_A}\nid2,8,{PDQ_B}\nid3\n");
    let by_number = ImportOptions { pdq_column: Some(PdqColumn::Number(3)), ..Default::default() };
    let (records, summary) = collect(headless.as_bytes(), pdq_csv, &by_number).unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!(bad_lines(&summary), vec![3]);
    assert!(summary.bad_examples[0].reason.contains("column 3"), "{:?}", summary.bad_examples);
    let tabbed = format!("name\tscore\tquality\tsignal\na.jpg\t1\t90\t{PDQ_A}\n");
    let by_name = ImportOptions {
        pdq_column: Some("Signal".parse::<PdqColumn>().unwrap()),
        ..Default::default()
    };
    let (records, _) = collect(tabbed.as_bytes(), pdq_csv, &by_name).unwrap();
    assert_eq!(records[0].hashes, vec![pdq(PDQ_A, Some(90))]);
    assert_eq!(records[0].meta.file_name.as_deref(), Some(&b"a.jpg"[..]));
    // A named column missing from the header, or no header: schema errors.
    let missing =
        ImportOptions { pdq_column: Some(PdqColumn::Name("pdq".into())), ..Default::default() };
    let e = collect(b"a,b\n1,2\n", pdq_csv, &missing).unwrap_err();
    assert!(e.to_string().contains("no column named \"pdq\""), "{e}");
    let e = collect(headless.as_bytes(), pdq_csv, &missing).unwrap_err();
    assert!(e.to_string().contains("is not a header"), "{e}");
    assert!("0".parse::<PdqColumn>().is_err());
}

#[test]
fn bare_64_hex_lists_are_stored_as_sha256_and_pdq() {
    let empty_sha256 = digest_bytes(b"", Default::default()).sha256_hex();
    let text = format!("{PDQ_A}\n{empty_sha256}\n{}\n", digests(0).md5_hex());
    let (records, summary) = collect(text.as_bytes(), None, &ImportOptions::default()).unwrap();
    assert_eq!(summary.format, Format::HashList);
    let a: [u8; 32] = mediahash::hex::decode_fixed(PDQ_A).unwrap();
    assert_eq!(records[0].hashes, vec![HashValue::Sha256(a), pdq(PDQ_A, None)]);
    assert_eq!(records[1].hashes, vec![HashValue::Md5(digests(0).md5)]);
    // The empty file's SHA-256 is not kept as a PDQ either: skipped and counted.
    assert_eq!(summary.empty_file_records_skipped, 1);
    assert_eq!(summary.records, 2);
    // Naming the format stores one kind.
    let (records, _) = collect(text.as_bytes(), Some(Format::Sha256sum), &Default::default())
        .map(|(r, s)| (r, s.bad_records))
        .unwrap();
    assert_eq!(records[0].hashes, vec![HashValue::Sha256(a)]);
    let (records, _) =
        collect(PDQ_A.as_bytes(), Some(Format::PdqCsv), &Default::default()).unwrap();
    assert_eq!(records[0].hashes, vec![pdq(PDQ_A, None)]);
}

#[test]
fn directories_devices_and_fifos_as_sources_say_what_they_are() {
    let dir = tempfile::tempdir().unwrap();
    let e = collect_path(dir.path(), None, &ImportOptions::default()).unwrap_err();
    assert!(e.to_string().contains("is a directory"), "{e}");
    let e = collect_path(Path::new("/dev/zero"), Some(Format::Md5sum), &Default::default())
        .unwrap_err();
    assert!(e.to_string().contains("is a character device"), "{e}");
    let fifo = dir.path().join("pipe");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    // Without a writer: detection would block or consume it; refused at once.
    let e = collect_path(&fifo, None, &ImportOptions::default()).unwrap_err();
    assert!(e.to_string().contains("FIFO"), "{e}");
}

// ------------------------------------------------------------ hostile lines

const NEW_FORMATS: [Format; 5] =
    [Format::HashKeeper, Format::Ilook, Format::Md5deepSize, Format::PdqCsv, Format::HashList];

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(64),
        ..ProptestConfig::default()
    })]

    /// A valid file with one line replaced by arbitrary bytes: never a panic; every line is
    /// a record, a bad line, or (the header) a schema error.
    #[test]
    fn a_hostile_line_is_counted_never_a_panic(
        which in 0usize..5,
        at in 1usize..5,
        junk in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        let format = NEW_FORMATS[which];
        let valid = match format {
            Format::HashKeeper => hashkeeper(4),
            Format::Ilook => ilook(4, 4),
            Format::Md5deepSize => md5deep_size(5),
            Format::PdqCsv => format!("FilePath,Hash\n{}", (0..4).map(|i| format!("f{i},{PDQ_A}\n")).collect::<String>()),
            _ => (0..5).map(|i| format!("{}\n", digests(i).sha256_hex())).collect(),
        };
        let mut lines: Vec<Vec<u8>> = valid.lines().map(|l| l.as_bytes().to_vec()).collect();
        let junk: Vec<u8> = junk.into_iter().filter(|&b| b != b'\n').collect();
        lines[at] = junk;
        let bytes = lines.join(&b'\n');
        for opts in [ImportOptions::default(), ImportOptions { pdq_column: Some(PdqColumn::Number(2)), ..Default::default() }] {
            match collect(&bytes, Some(format), &opts) {
                Ok((records, summary)) => {
                    prop_assert_eq!(records.len() as u64, summary.records);
                    prop_assert!(summary.records + summary.bad_records <= lines.len() as u64);
                }
                Err(ImportError::WrongSchema { .. }) => {}
                Err(e) => prop_assert!(false, "unexpected error {}", e),
            }
        }
        let _ = collect(&bytes, None, &ImportOptions::default());
    }
}

// ------------------------------------------------------------ reference readers

fn run(command: &mut Command) -> String {
    let out = command.output().expect("run the reference tool");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Files 0..6 in a folder; lists name files 0..4 only.
fn evidence_folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..6 {
        std::fs::write(dir.path().join(format!("f{i}")), content(i)).unwrap();
    }
    dir
}

/// The files of `folder` whose digests are among the imported records' hashes.
fn our_matches(folder: &Path, list: &Path, format: Format) -> BTreeSet<String> {
    let (records, _) = collect_path(list, None, &ImportOptions::default()).unwrap();
    let known: Vec<HashValue> = records.into_iter().flat_map(|r| r.hashes).collect();
    let _ = format;
    (0..6)
        .filter(|&i| {
            let d = digests(i);
            [HashValue::Md5(d.md5), HashValue::Sha1(d.sha1), HashValue::Sha256(d.sha256)]
                .iter()
                .any(|h| known.contains(h))
        })
        .map(|i| folder.join(format!("f{i}")).display().to_string())
        .collect()
}

/// The files `tool -m list -r folder` reports as known.
fn tool_matches(tool: &str, folder: &Path, list: &Path) -> BTreeSet<String> {
    run(Command::new(tool).arg("-m").arg(list).arg("-r").arg(folder))
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
#[cfg_attr(
    not(mediahash_hashlist_tools),
    ignore = "needs md5deep, sha1deep, sha256deep and hfind (apt-get install hashdeep sleuthkit)"
)]
fn md5deep_matches_the_same_files_from_ilook_and_size_lists() {
    let folder = evidence_folder();
    let lists = tempfile::tempdir().unwrap();
    let cases = [
        ("v3.hsh", ilook(3, 4), Format::Ilook, &["md5deep", "sha1deep", "sha256deep"][..]),
        ("v4.hsh", ilook(4, 4), Format::Ilook, &["md5deep", "sha1deep", "sha256deep"][..]),
        ("size.txt", md5deep_size(4), Format::Md5deepSize, &["md5deep"][..]),
    ];
    for (name, text, format, tools) in cases {
        let list = lists.path().join(name);
        std::fs::write(&list, text).unwrap();
        let ours = our_matches(folder.path(), &list, format);
        assert_eq!(ours.len(), 4, "{name}");
        for tool in tools {
            let theirs = tool_matches(tool, folder.path(), &list);
            // sha256deep reads iLook's SHA-256 column, which every other line leaves empty.
            if *tool == "sha256deep" {
                assert!(theirs.is_subset(&ours) && theirs.len() == 2, "{name} {tool}: {theirs:?}");
            } else {
                assert_eq!(theirs, ours, "{name} {tool}");
            }
        }
    }
}

/// The MD5s TSK's `hfind -i hk` indexes from a HashKeeper file (its `-md5.idx` lines, less
/// the two header lines).
fn hfind_hk_index(list: &Path) -> BTreeSet<String> {
    let out = Command::new("hfind").arg("-i").arg("hk").arg(list).output().unwrap();
    assert!(out.status.success(), "hfind: {}", String::from_utf8_lossy(&out.stderr));
    let mut index = list.as_os_str().to_owned();
    index.push("-md5.idx");
    std::fs::read_to_string(PathBuf::from(index))
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once('|').map(|(h, _)| h.to_ascii_lowercase()))
        .filter(|h| h.len() == 32)
        .collect()
}

fn md5_set(records: &[Record]) -> BTreeSet<String> {
    records
        .iter()
        .flat_map(|r| &r.hashes)
        .filter_map(|h| match h {
            HashValue::Md5(v) => Some(mediahash::hex::encode(v)),
            _ => None,
        })
        .collect()
}

#[test]
#[cfg_attr(
    not(mediahash_hashlist_tools),
    ignore = "needs md5deep, sha1deep, sha256deep and hfind (apt-get install hashdeep sleuthkit)"
)]
fn hfind_indexes_the_same_md5s_from_a_hashkeeper_file() {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("set.hsh");
    std::fs::write(&list, hashkeeper(5)).unwrap();
    let (records, summary) = collect_path(&list, None, &ImportOptions::default()).unwrap();
    assert_eq!(summary.bad_records, 0);
    assert_eq!(md5_set(&records), hfind_hk_index(&list));
}

// ------------------------------------------------------------ public samples

/// The public samples, when `MEDIAHASH_HASHLIST_SAMPLES` names a folder holding them:
/// from jessek/hashdeep (`sample-hashes/`: `ilookv3.hsh`, `ilookv4.hsh`,
/// `md5deep-size.txt`, `md5deep.txt`, `hashdeep.txt`, `hashkeeper/Z00236.hsh` and `.hke`) and facebook/ThreatExchange
/// (`pdq/wasm/test/TestData/PDQMD5TestData.csv`, `pdq/data/reg-test-input/haystack.txt`).
/// They are not committed (the tests above use files made from the documentation).
fn sample(name: &str) -> Option<PathBuf> {
    let dir = std::env::var_os("MEDIAHASH_HASHLIST_SAMPLES")?;
    let path = Path::new(&dir).join(name);
    path.is_file().then_some(path)
}

#[test]
fn sample_files_from_the_public_repositories() {
    let Some(dir) = std::env::var_os("MEDIAHASH_HASHLIST_SAMPLES") else {
        eprintln!("MEDIAHASH_HASHLIST_SAMPLES not set: public samples not checked");
        return;
    };
    let _ = dir;
    let opts = ImportOptions::default();
    let have_tools = cfg!(mediahash_hashlist_tools);
    for (name, format, records) in [
        ("ilookv3.hsh", Format::Ilook, 5u64),
        ("ilookv4.hsh", Format::Ilook, 5),
        ("md5deep-size.txt", Format::Md5deepSize, 4),
    ] {
        let path = sample(name).unwrap_or_else(|| panic!("{name} missing"));
        let (got, summary) = collect_path(&path, None, &opts).unwrap();
        assert_eq!(
            (summary.format, summary.records, summary.bad_records),
            (format, records, 0),
            "{name}"
        );
        if have_tools {
            // md5deep lists every known hash it loaded that no file matched (`-n`).
            let empty = tempfile::tempdir().unwrap();
            let theirs = run(Command::new("md5deep")
                .arg("-n")
                .arg("-m")
                .arg(&path)
                .arg("-r")
                .arg(empty.path()));
            assert_eq!(theirs.lines().count(), got.len(), "{name}");
        }
    }
    // hashdeep.txt lists the SHA-256 of three of the samples: the copies are the originals.
    let (listed, _) = collect_path(&sample("hashdeep.txt").unwrap(), None, &opts).unwrap();
    let listed: Vec<HashValue> = listed.into_iter().flat_map(|r| r.hashes).collect();
    for name in ["ilookv3.hsh", "md5deep-size.txt", "md5deep.txt"] {
        let (_, summary) = collect_path(&sample(name).unwrap(), None, &opts).unwrap();
        assert!(
            listed.contains(&HashValue::Sha256(summary.sha256)),
            "{name} differs from the sample"
        );
    }
    // md5deep -z and plain md5deep output of the same four files: the same MD5s.
    let (sized, _) = collect_path(&sample("md5deep-size.txt").unwrap(), None, &opts).unwrap();
    let (plain, _) = collect_path(&sample("md5deep.txt").unwrap(), None, &opts).unwrap();
    assert_eq!(md5_set(&sized), md5_set(&plain));
    assert_eq!(md5_set(&sized).len(), 4);
    let hsh = sample("Z00236.hsh").unwrap();
    let (records, summary) = collect_path(&hsh, None, &opts).unwrap();
    assert_eq!((summary.format, summary.bad_records), (Format::HashKeeper, 0));
    if have_tools {
        let dir = tempfile::tempdir().unwrap();
        let copy = dir.path().join("Z00236.hsh");
        std::fs::copy(&hsh, &copy).unwrap();
        assert_eq!(md5_set(&records), hfind_hk_index(&copy));
    }
    // The set's name comes from the .hke beside the .hsh.
    assert_eq!(
        summary.source_description.as_deref(),
        Some("HashKeeper set 671: Z00236 Microsoft Windows 2000 Server")
    );
    let e = collect_path(&sample("Z00236.hke").unwrap(), None, &opts).unwrap_err();
    assert!(e.to_string().contains("import the .hsh file"), "{e}");

    let csv = sample("PDQMD5TestData.csv").unwrap();
    let (records, summary) = collect_path(&csv, Some(Format::PdqCsv), &opts).unwrap();
    // 16 PDQ hashes of pictures; the last two lines hold the MD5s of two videos (the file
    // is ThreatExchange's "PDQ and MD5" test data): bad lines for a PDQ list, named as MD5s.
    assert_eq!((summary.records, summary.bad_records), (16, 2));
    assert_eq!(bad_lines(&summary), vec![18, 19]);
    assert!(summary.bad_examples[0].reason.contains("MD5-sized"), "{:?}", summary.bad_examples);
    assert!(records.iter().all(|r| matches!(r.hashes[..], [HashValue::Pdq { .. }])));
    let haystack = sample("haystack.txt").unwrap();
    let (records, summary) = collect_path(&haystack, None, &opts).unwrap();
    assert_eq!(summary.format, Format::HashList);
    assert_eq!(summary.records, 1350);
    assert!(records.iter().all(|r| r.hashes.len() == 2));
}

// ------------------------------------------------------------ special files

/// `analyze_file` (what `mh_hash_file` calls) on a FIFO without a writer and on
/// `/dev/zero`: refused at once with what the path is, never blocking or reading forever.
#[test]
fn analyze_file_refuses_fifos_and_devices_at_once() {
    use mediahash::openfile::NotRegularFile;
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let cases = [
        (fifo, "fifo"),
        (PathBuf::from("/dev/zero"), "char-device"),
        (dir.path().to_path_buf(), "directory"),
    ];
    for (path, kind) in cases {
        let (tx, rx) = std::sync::mpsc::channel();
        let p = path.clone();
        std::thread::spawn(move || {
            let result = mediahash::analyze::analyze_file(&p, &Default::default());
            let _ = tx.send(result.map(|_| ()));
        });
        let result = rx.recv_timeout(std::time::Duration::from_secs(20)).unwrap_or_else(|_| {
            panic!("analyze_file({}) still running after 20 s", path.display())
        });
        let e = result.unwrap_err();
        assert_eq!(NotRegularFile::of(&e).map(|n| n.kind), Some(kind), "{e}");
    }
}
