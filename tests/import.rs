//! Importers: exact records per format, bad lines counted with line numbers, detection,
//! strict mode, and every named bad input (not JSON, truncated JSON, wrong JSON types, an
//! SQLite database of another schema, a PNG or random bytes given as a hash set).
//!
//! Fixtures in tests/data/import/ are small hand-made files whose hashes are the digests of
//! "AAAA\n" and "BBBB\n" (computed here with the crate's own digests); SQLite databases, zips,
//! EnCase sets and binary junk are generated in a temporary directory.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use mediahash::digest::{Digests, digest_bytes};
use mediahash::import::{
    Format, ImportError, ImportOptions, ImportSummary, detect_source_format,
    detect_source_format_bytes, import_path, import_reader,
};
use mediahash::refset::{EntryMeta, HashValue, Record};
use proptest::prelude::*;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/import").join(name)
}

fn a() -> Digests {
    digest_bytes(b"AAAA\n", Default::default())
}

fn b() -> Digests {
    digest_bytes(b"BBBB\n", Default::default())
}

fn opts() -> ImportOptions {
    ImportOptions::default()
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

fn collect_bytes(
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

fn bad_lines(summary: &ImportSummary) -> Vec<u64> {
    summary.bad_examples.iter().map(|b| b.line).collect()
}

fn md5(d: &Digests) -> HashValue {
    HashValue::Md5(d.md5)
}
fn sha1(d: &Digests) -> HashValue {
    HashValue::Sha1(d.sha1)
}
fn sha256(d: &Digests) -> HashValue {
    HashValue::Sha256(d.sha256)
}

fn line_meta(line: u64, name: Option<&[u8]>) -> EntryMeta {
    EntryMeta {
        source_id: Some(line.to_string()),
        file_name: name.map(<[u8]>::to_vec),
        ..EntryMeta::default()
    }
}

fn file_sha256(path: &Path) -> [u8; 32] {
    digest_bytes(&std::fs::read(path).unwrap(), Default::default()).sha256
}

fn photodna(bytes: impl Iterator<Item = u8>) -> HashValue {
    let v: Vec<u8> = bytes.collect();
    HashValue::PhotoDna(Box::new(v.try_into().unwrap()))
}

// ---------------------------------------------------------------- VICS JSON

#[test]
fn vics_2_0_hash_set_with_bom_and_string_booleans() {
    let path = fixture("vics-2.0-media.json");
    let (records, summary) = collect_path(&path, None, &opts()).unwrap();
    assert_eq!(summary.format, Format::VicsJson);
    assert_eq!(summary.format_label, "vics-json-2.0");
    assert_eq!(summary.source_version.as_deref(), Some("2.0"));
    assert!(summary.source_description.as_deref().unwrap().ends_with("/US/$metadata#Media"));
    assert!(summary.notes.iter().any(|n| n == "VICS profile US"), "{:?}", summary.notes);
    assert_eq!(summary.sha256, file_sha256(&path));
    assert_eq!(summary.bytes, std::fs::metadata(&path).unwrap().len());
    let us = Some("US".to_string());
    assert_eq!(
        records,
        vec![
            Record {
                hashes: vec![md5(&a()), sha1(&a()), photodna(0..144u8)],
                meta: EntryMeta {
                    category: Some("1".into()),
                    profile: us.clone(),
                    victim_identified: Some(false),
                    offender_identified: Some(true),
                    series: Some("S-1".into()),
                    source_id: Some("1".into()),
                    file_size: Some(5),
                    ..EntryMeta::default()
                },
            },
            Record {
                hashes: vec![md5(&b())],
                meta: EntryMeta {
                    category: Some("0".into()),
                    profile: us,
                    victim_identified: Some(true),
                    source_id: Some("2".into()),
                    file_name: Some(b"b.jpg".to_vec()),
                    file_size: Some(5),
                    ..EntryMeta::default()
                },
            },
        ]
    );
    // The third entry's MD5 is 6 characters: counted, with the line of its "{" (CRLF file).
    assert_eq!((summary.records, summary.bad_records), (2, 1));
    assert_eq!(bad_lines(&summary), vec![12]);
    assert!(summary.bad_examples[0].reason.contains("MD5"), "{:?}", summary.bad_examples);
}

#[test]
fn vics_1_3_case_shape_with_alternative_hashes() {
    let (records, summary) = collect_path(&fixture("vics-1.3-case.json"), None, &opts()).unwrap();
    assert_eq!(summary.format_label, "vics-json-1.3");
    assert_eq!(summary.bad_records, 0, "{:?}", summary.bad_examples);
    assert!(summary.notes.iter().any(|n| n.contains("\"EDK\"")), "{:?}", summary.notes);
    let pd2 = photodna((0..144u32).map(|i| ((i * 7 + 3) % 256) as u8));
    assert_eq!(
        records,
        vec![
            Record {
                hashes: vec![md5(&a()), sha1(&a()), pd2, sha256(&a())],
                meta: EntryMeta {
                    source_id: Some("10".into()),
                    file_name: Some(b"a.jpg".to_vec()),
                    ..EntryMeta::default()
                },
            },
            Record {
                hashes: vec![md5(&b())],
                meta: EntryMeta {
                    category: Some("3".into()),
                    source_id: Some("11".into()),
                    note: Some("Tags: t1|t2".into()),
                    ..EntryMeta::default()
                },
            },
        ]
    );
}

const CTX20: &str =
    "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/Default/$metadata#Media";

#[test]
fn vics_not_json_is_a_json_error() {
    let doc = format!("{{\"@odata.context\": \"{CTX20}\", \"value\": [ {{\"MD5\": nope}} ]}}");
    let err = collect_bytes(doc.as_bytes(), Some(Format::VicsJson), &opts()).unwrap_err();
    // serde_json stops at the "o" of "nope" (it expected "null").
    let column = doc.find("nope").unwrap() + 2;
    match &err {
        ImportError::Json { line, column: at, .. } => assert_eq!((*line, *at), (1, column)),
        other => panic!("expected a JSON error, got {other:?}"),
    }
    assert!(err.to_string().contains(&format!("line 1, column {column}")), "{err}");
}

#[test]
fn vics_truncated_is_a_json_error_with_position() {
    let good = std::fs::read(fixture("vics-2.0-media.json")).unwrap();
    let cut = &good[..good.len() / 2];
    let err = collect_bytes(cut, None, &opts()).unwrap_err();
    match &err {
        ImportError::Json { line, message, .. } => {
            assert!(*line >= 5, "line {line}");
            assert!(message.contains("truncated"), "{message}");
        }
        other => panic!("expected a JSON error, got {other:?}"),
    }
}

#[test]
fn vics_trailing_garbage_is_a_json_error() {
    let doc = format!("{{\"@odata.context\": \"{CTX20}\", \"value\": []}} x");
    let err = collect_bytes(doc.as_bytes(), None, &opts()).unwrap_err();
    assert!(matches!(err, ImportError::Json { .. }), "{err:?}");
}

#[test]
fn vics_wrong_types_are_bad_records_not_an_abort() {
    let m = a().md5_hex();
    let doc = [
        "{".to_string(),
        format!("\"@odata.context\": \"{CTX20}\","),
        "\"value\": [".to_string(),
        format!("{{\"MD5\": \"{m}\", \"MediaID\": 1}},"),
        "{\"MD5\": 12345},".to_string(),
        format!("{{\"MD5\": \"{m}\", \"Category\": {{\"x\": 1}}}},"),
        "42,".to_string(),
        format!("{{\"MD5\": \"{m}\", \"VictimIdentified\": \"maybe\"}},"),
        format!("{{\"MD5\": \"{m}\", \"AlternativeHashes\": \"PhotoDNA\"}},"),
        "{\"MediaID\": 7},".to_string(),
        format!("{{\"MD5\": \"{m}\", \"MediaSize\": -5}},"),
        format!("{{\"MD5\": \"{m}\", \"MediaID\": 2}}"),
        "]}".to_string(),
    ]
    .join("\n");
    let (records, summary) = collect_bytes(doc.as_bytes(), None, &opts()).unwrap();
    let ids: Vec<_> = records.iter().map(|r| r.meta.source_id.clone().unwrap()).collect();
    assert_eq!(ids, ["1", "2"]);
    assert_eq!(summary.bad_records, 7);
    assert_eq!(bad_lines(&summary), vec![5, 6, 7, 8, 9, 10, 11]);
    let reasons: Vec<&str> = summary.bad_examples.iter().map(|b| b.reason.as_str()).collect();
    assert!(reasons[0].contains("MD5 is a number"), "{reasons:?}");
    assert!(reasons[1].contains("Category is an object"), "{reasons:?}");
    assert!(reasons[2].contains("is a number, not a Media object"), "{reasons:?}");
    assert!(reasons[3].contains("\"maybe\""), "{reasons:?}");
    assert!(reasons[5].contains("no MD5, SHA1, PhotoDNA"), "{reasons:?}");
}

#[test]
fn vics_wrong_document_shapes_are_schema_errors() {
    let cases = [
        ("[1, 2]".to_string(), "VICS JSON object"),
        ("{\"value\": []}".to_string(), "odata.context"),
        (format!("{{\"@odata.context\": \"{CTX20}\"}}"), "no \"value\""),
        (format!("{{\"@odata.context\": \"{CTX20}\", \"value\": {{}}}}"), "array"),
        (
            "{\"@odata.context\": \"http://example.org/x#Media\", \"value\": []}".into(),
            "Project VIC",
        ),
        ("{\"odata.metadata\": 13, \"value\": []}".into(), "a number"),
    ];
    for (doc, expect) in cases {
        let err = collect_bytes(doc.as_bytes(), Some(Format::VicsJson), &opts()).unwrap_err();
        assert!(matches!(err, ImportError::WrongSchema { .. }), "{doc}: {err:?}");
        assert!(err.to_string().contains(expect), "{doc}: {err}");
    }
}

#[test]
fn vics_pdq_alternative_hash_refuses_md5_length() {
    let m = a().md5_hex();
    let pdq = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
    let doc = format!(
        "{{\"@odata.context\": \"{CTX20}\", \"value\": [\
         {{\"MD5\": \"{m}\", \"AlternativeHashes\": [{{\"HashName\": \"PDQ\", \"HashValue\": \"{m}\"}}]}},\
         {{\"MD5\": \"{m}\", \"AlternativeHashes\": [{{\"HashName\": \"pdq\", \"HashValue\": \"{pdq}\"}}]}}]}}"
    );
    let (records, summary) = collect_bytes(doc.as_bytes(), None, &opts()).unwrap();
    assert_eq!(summary.bad_records, 1);
    assert!(summary.bad_examples[0].reason.contains("not a PDQ hash"));
    assert_eq!(records.len(), 1);
    assert!(matches!(records[0].hashes[1], HashValue::Pdq { quality: None, .. }));
}

#[test]
fn vics_context_after_value_is_noted() {
    let m = a().md5_hex();
    let doc = format!("{{\"value\": [{{\"MD5\": \"{m}\"}}], \"@odata.context\": \"{CTX20}\"}}");
    let (records, summary) = collect_bytes(doc.as_bytes(), None, &opts()).unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].meta.profile, None);
    assert!(summary.notes.iter().any(|n| n.contains("before the context")), "{:?}", summary.notes);
}

#[test]
fn sink_errors_stop_the_import() {
    let bytes = std::fs::read(fixture("vics-2.0-media.json")).unwrap();
    let mut calls = 0;
    let err = import_reader(&bytes[..], "x", None, &opts(), &mut |_| {
        calls += 1;
        Err(ImportError::sink("disk full"))
    })
    .unwrap_err();
    assert_eq!(calls, 1);
    assert!(matches!(err, ImportError::Sink { .. }));
    assert!(err.to_string().contains("disk full"));
}

// ---------------------------------------------------------------- NSRL RDSv3

const MINIMAL_SCHEMA: &str = "
CREATE TABLE FILE ( sha256 VARCHAR NOT NULL, sha1 VARCHAR NOT NULL, md5 VARCHAR NOT NULL,
  crc32 VARCHAR NOT NULL, file_name VARCHAR NOT NULL, file_size INTEGER NOT NULL,
  package_id INTEGER NOT NULL,
  CONSTRAINT PK_FILE__FILE PRIMARY KEY (sha256, sha1, md5, file_name, file_size, package_id) );
CREATE TABLE MFG (manufacturer_id INTEGER NOT NULL, name VARCHAR NOT NULL);
CREATE TABLE VERSION (version VARCHAR, build_set VARCHAR, build_date TIMESTAMP,
  release_date TIMESTAMP, description VARCHAR);
CREATE VIEW DISTINCT_HASH AS SELECT DISTINCT sha256, sha1, md5, crc32 FROM FILE;
INSERT INTO VERSION VALUES ('2024.03.1', 'Modern', '2024-02-20', '2024-03-01', 'minimal test');
";

const FULL_SCHEMA: &str = "
CREATE TABLE PACKAGE_OBJECT (package_object_id INTEGER PRIMARY KEY, package_id INTEGER,
  object_id INTEGER);
CREATE TABLE METADATA (metadata_id INTEGER PRIMARY KEY, object_id INTEGER, key_hash VARCHAR,
  image_hash VARCHAR, path VARCHAR, path_b64 VARCHAR, path_coding VARCHAR, file_name VARCHAR,
  file_name_b64 VARCHAR, file_name_coding VARCHAR, extension VARCHAR, extension_b64 VARCHAR,
  extension_coding VARCHAR, bytes INTEGER, mtime INTEGER, used_in_rds INTEGER,
  update_date TIMESTAMP, recursion_level INTEGER, extractee_id INTEGER,
  crc32 VARCHAR NOT NULL, md5 VARCHAR NOT NULL, sha1 VARCHAR NOT NULL, sha256 VARCHAR NOT NULL);
CREATE TABLE VERSION (version VARCHAR, build_set VARCHAR, build_date TIMESTAMP,
  release_date TIMESTAMP, description VARCHAR);
CREATE VIEW FILE AS SELECT UPPER(md.sha256) AS sha256, UPPER(md.sha1) AS sha1,
  UPPER(md.md5) AS md5,
  CASE md.extension WHEN '' THEN md.file_name ELSE md.file_name||'.'||md.extension END
    AS file_name,
  md.bytes AS file_size, po.package_id
  FROM METADATA AS md, PACKAGE_OBJECT AS po WHERE md.object_id = po.object_id;
INSERT INTO VERSION VALUES ('2022.12.2', 'curated', '2022-12-01', '2022-12-02', 'full test');
";

fn make_db(dir: &Path, name: &str, sql: &str, rows: impl FnOnce(&rusqlite::Connection)) -> PathBuf {
    let path = dir.join(name);
    let db = rusqlite::Connection::open(&path).unwrap();
    db.execute_batch(sql).unwrap();
    rows(&db);
    drop(db);
    path
}

fn dir_listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn nsrl_rdsv3_minimal_layout() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (a(), b());
    let path = make_db(dir.path(), "RDS_2024.03.1_modern_minimal.db", MINIMAL_SCHEMA, |db| {
        let insert = "INSERT INTO FILE VALUES (?1, ?2, ?3, '00000000', ?4, ?5, ?6)";
        db.execute(
            insert,
            (a.sha256_hex().to_uppercase(), a.sha1_hex(), a.md5_hex(), "a.txt", 5, 7),
        )
        .unwrap();
        // Non-UTF-8 name bytes are kept as bytes.
        let name = rusqlite::types::Value::Blob(b"caf\xe9.txt".to_vec());
        db.execute(insert, (b.sha256_hex(), b.sha1_hex(), b.md5_hex(), name, 5, 8)).unwrap();
        db.execute(insert, ("XYZ", b.sha1_hex(), b.md5_hex(), "bad.txt", 5, 9)).unwrap();
    });
    let before = std::fs::read(&path).unwrap();
    assert_eq!(detect_source_format(&path).unwrap(), Format::NsrlRdsV3);
    let (mut records, summary) = collect_path(&path, None, &opts()).unwrap();
    // SQLite may read FILE through its primary-key index (sha256 order): compare sorted.
    records.sort_by(|x, y| x.meta.source_id.cmp(&y.meta.source_id));
    assert_eq!(summary.format_label, "nsrl-rdsv3-sqlite");
    assert_eq!(summary.source_version.as_deref(), Some("2024.03.1"));
    assert!(summary.source_description.as_deref().unwrap().contains("build_set=Modern"));
    assert!(summary.notes.iter().any(|n| n.contains("minimal layout")), "{:?}", summary.notes);
    assert_eq!(summary.sha256, file_sha256(&path));
    assert_eq!(
        records,
        vec![
            Record {
                hashes: vec![sha256(&a), sha1(&a), md5(&a)],
                meta: EntryMeta {
                    source_id: Some("7".into()),
                    file_name: Some(b"a.txt".to_vec()),
                    file_size: Some(5),
                    ..EntryMeta::default()
                },
            },
            Record {
                hashes: vec![sha256(&b), sha1(&b), md5(&b)],
                meta: EntryMeta {
                    source_id: Some("8".into()),
                    file_name: Some(b"caf\xe9.txt".to_vec()),
                    file_size: Some(5),
                    ..EntryMeta::default()
                },
            },
        ]
    );
    assert_eq!((summary.bad_records, bad_lines(&summary)), (1, vec![3]));
    // Read-only and immutable: the database is byte-identical and no journal appeared.
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert_eq!(dir_listing(dir.path()), ["RDS_2024.03.1_modern_minimal.db"]);
}

#[test]
fn nsrl_rdsv3_full_layout_through_the_file_view() {
    let dir = tempfile::tempdir().unwrap();
    let a = a();
    let path = make_db(dir.path(), "RDS_curated.db", FULL_SCHEMA, |db| {
        db.execute("INSERT INTO PACKAGE_OBJECT VALUES (1, 31, 100)", []).unwrap();
        db.execute(
            "INSERT INTO METADATA (object_id, file_name, extension, bytes, crc32, md5, sha1, \
             sha256) VALUES (100, 'IMG_1', 'jpg', 5, '0', ?1, ?2, ?3)",
            (a.md5_hex(), a.sha1_hex(), a.sha256_hex()),
        )
        .unwrap();
        // No PACKAGE_OBJECT row: not in the FILE view, so not imported.
        db.execute(
            "INSERT INTO METADATA (object_id, file_name, extension, bytes, crc32, md5, sha1, \
             sha256) VALUES (999, 'orphan', '', 1, '0', ?1, ?2, ?3)",
            (a.md5_hex(), a.sha1_hex(), a.sha256_hex()),
        )
        .unwrap();
    });
    let (records, summary) = collect_path(&path, Some(Format::NsrlRdsV3), &opts()).unwrap();
    assert!(summary.notes.iter().any(|n| n.contains("full layout")), "{:?}", summary.notes);
    assert_eq!(summary.source_version.as_deref(), Some("2022.12.2"));
    assert_eq!(
        records,
        vec![Record {
            hashes: vec![sha256(&a), sha1(&a), md5(&a)],
            meta: EntryMeta {
                source_id: Some("31".into()),
                file_name: Some(b"IMG_1.jpg".to_vec()),
                file_size: Some(5),
                ..EntryMeta::default()
            },
        }]
    );
}

#[test]
fn sqlite_of_another_schema_is_wrong_schema() {
    let dir = tempfile::tempdir().unwrap();
    let other =
        make_db(dir.path(), "other.db", "CREATE TABLE hashes (md5 BLOB, name TEXT);", |_| {});
    let err = collect_path(&other, None, &opts()).unwrap_err();
    assert!(matches!(err, ImportError::WrongSchema { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("no FILE table or view") && text.contains("hashes"), "{text}");

    let partial = make_db(
        dir.path(),
        "partial.db",
        "CREATE TABLE FILE (sha1 VARCHAR, md5 VARCHAR, file_name VARCHAR);",
        |_| {},
    );
    let err = collect_path(&partial, None, &opts()).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, ImportError::WrongSchema { .. }), "{err:?}");
    assert!(text.contains("sha256, file_size, package_id"), "{text}");
}

#[test]
fn nsrl_rdsv3_forced_on_a_text_file_is_wrong_schema() {
    let err = collect_path(&fixture("list.md5"), Some(Format::NsrlRdsV3), &opts()).unwrap_err();
    assert!(err.to_string().contains("not an SQLite database"), "{err}");
}

#[test]
fn sqlite_bytes_through_a_reader_need_a_path() {
    let err = collect_bytes(b"SQLite format 3\0rest", None, &opts()).unwrap_err();
    assert!(matches!(err, ImportError::NeedsPath { .. }), "{err:?}");
}

// ---------------------------------------------------------------- NSRL RDS 2.x

fn nsrlfile_txt() -> Vec<u8> {
    let (a, b) = (a(), b());
    let mut text = Vec::new();
    text.extend_from_slice(
        b"\"SHA-1\",\"MD5\",\"CRC32\",\"FileName\",\"FileSize\",\"ProductCode\",\
\"OpSystemCode\",\"SpecialCode\"\r\n",
    );
    let line = |sha1: &str, md5: &str, name: &[u8], rest: &str| {
        let mut l = format!("\"{sha1}\",\"{md5}\",\"CABEC7CD\",\"").into_bytes();
        l.extend_from_slice(name);
        l.extend_from_slice(format!("\",{rest}\r\n").as_bytes());
        l
    };
    text.extend(line(
        &a.sha1_hex().to_uppercase(),
        &a.md5_hex(),
        b"a, \"quoted\".txt",
        "5,1,\"WIN\",\"\"",
    ));
    text.extend(line(&b.sha1_hex(), &b.md5_hex(), b"na\xefve.dll", "5,2,\"358\",\"M\""));
    text.extend(line(&b.sha1_hex(), "SHORT", b"x", "5,3,\"WIN\",\"\""));
    text.extend_from_slice(b"\"garbage\"\r\n");
    text
}

fn check_nsrlfile(records: &[Record], summary: &ImportSummary) {
    let (a, b) = (a(), b());
    assert_eq!(summary.format_label, "nsrl-rds2-txt");
    assert_eq!(
        records,
        vec![
            Record {
                hashes: vec![sha1(&a), md5(&a)],
                meta: EntryMeta {
                    source_id: Some("1".into()),
                    file_name: Some(b"a, \"quoted\".txt".to_vec()),
                    file_size: Some(5),
                    ..EntryMeta::default()
                },
            },
            Record {
                hashes: vec![sha1(&b), md5(&b)],
                meta: EntryMeta {
                    source_id: Some("2".into()),
                    file_name: Some(b"na\xefve.dll".to_vec()),
                    file_size: Some(5),
                    note: Some("SpecialCode=M".into()),
                    ..EntryMeta::default()
                },
            },
        ]
    );
    assert_eq!((summary.bad_records, bad_lines(summary)), (2, vec![4, 5]));
}

#[test]
fn nsrl_rds2_text_crlf_and_byte_names() {
    let text = nsrlfile_txt();
    assert_eq!(detect_source_format_bytes(&text, "x").unwrap(), Format::NsrlRds2Txt);
    let (records, summary) = collect_bytes(&text, None, &opts()).unwrap();
    check_nsrlfile(&records, &summary);
    assert_eq!(summary.sha256, digest_bytes(&text, Default::default()).sha256);
}

#[test]
fn nsrl_rds2_zipped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("NSRLFile.txt.zip");
    {
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        zip.start_file("RDS_2.59/NSRLFile.txt", options).unwrap();
        zip.write_all(&nsrlfile_txt()).unwrap();
        zip.finish().unwrap();
    }
    assert_eq!(detect_source_format(&path).unwrap(), Format::NsrlRds2Txt);
    let (records, summary) = collect_path(&path, None, &opts()).unwrap();
    check_nsrlfile(&records, &summary);
    assert_eq!(summary.sha256, file_sha256(&path));

    let other = dir.path().join("photos.zip");
    {
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&other).unwrap());
        zip.start_file("a.txt", zip::write::SimpleFileOptions::default()).unwrap();
        zip.write_all(b"hello").unwrap();
        zip.finish().unwrap();
    }
    let err = detect_source_format(&other).unwrap_err();
    assert!(matches!(err, ImportError::UnknownFormat { .. }), "{err:?}");
    assert!(err.to_string().contains("without NSRLFile.txt"), "{err}");
}

// ---------------------------------------------------------------- text lists

#[test]
fn md5sum_with_bad_lines() {
    let (a, b) = (a(), b());
    let (records, summary) = collect_path(&fixture("list.md5"), None, &opts()).unwrap();
    assert_eq!(summary.format, Format::Md5sum);
    assert_eq!(
        records,
        vec![
            Record { hashes: vec![md5(&a)], meta: line_meta(1, Some(b"a.txt")) },
            Record { hashes: vec![md5(&b)], meta: line_meta(2, Some(b"bin/b.dat")) },
            Record { hashes: vec![md5(&a)], meta: line_meta(3, Some(b"dir\\with\nnewline")) },
            Record { hashes: vec![md5(&b)], meta: line_meta(9, Some(b"reversed-bsd-style")) },
        ]
    );
    assert_eq!(summary.bad_records, 3);
    assert_eq!(bad_lines(&summary), vec![4, 5, 6]);
    let reasons: Vec<&str> = summary.bad_examples.iter().map(|b| b.reason.as_str()).collect();
    assert!(reasons[0].contains("found 31 characters"), "{reasons:?}");
    assert!(reasons[1].contains("invalid hex character 'g'"), "{reasons:?}");
    assert!(reasons[2].contains("sha1sum"), "{reasons:?}");
}

#[test]
fn sha1sum_and_sha256sum() {
    let (a, b) = (a(), b());
    let (records, summary) = collect_path(&fixture("list.sha1"), None, &opts()).unwrap();
    assert_eq!(summary.format, Format::Sha1sum);
    assert_eq!(
        records.iter().map(|r| r.hashes[0].clone()).collect::<Vec<_>>(),
        [sha1(&a), sha1(&b)]
    );
    let (records, summary) = collect_path(&fixture("list.sha256"), None, &opts()).unwrap();
    assert_eq!(summary.format, Format::Sha256sum);
    assert_eq!(
        records,
        vec![
            Record { hashes: vec![sha256(&a)], meta: line_meta(1, Some(b"a.txt")) },
            Record { hashes: vec![sha256(&b)], meta: line_meta(2, Some(b"b.txt")) },
        ]
    );
}

#[test]
fn bsd_tag_lines() {
    let (a, b) = (a(), b());
    let (records, summary) = collect_path(&fixture("list.bsd"), None, &opts()).unwrap();
    assert_eq!(summary.format, Format::BsdTag);
    assert_eq!(
        records,
        vec![
            Record { hashes: vec![md5(&a)], meta: line_meta(1, Some(b"a.txt")) },
            Record { hashes: vec![sha1(&b)], meta: line_meta(2, Some(b"x (1).txt")) },
            Record { hashes: vec![sha256(&b)], meta: line_meta(3, Some(b"b.txt")) },
        ]
    );
    assert_eq!(bad_lines(&summary), vec![4, 5]);
    assert!(summary.bad_examples[0].reason.contains("SHA512"));
    assert!(summary.bad_examples[1].reason.contains("expected 32"));
}

#[test]
fn plain_hash_list_kind_from_length() {
    let (a, b) = (a(), b());
    let (records, summary) = collect_path(&fixture("list.txt"), None, &opts()).unwrap();
    assert_eq!(summary.format, Format::HashList);
    assert_eq!(
        records,
        vec![
            Record { hashes: vec![md5(&a)], meta: line_meta(1, None) },
            Record { hashes: vec![sha1(&b)], meta: line_meta(2, None) },
            // 64 hex alone: SHA-256 or PDQ, the file does not say; stored as both.
            Record {
                hashes: vec![sha256(&a), HashValue::Pdq { hash: a.sha256, quality: None }],
                meta: line_meta(3, None)
            },
        ]
    );
    assert!(summary.notes.iter().any(|n| n.contains("both as SHA-256 and as PDQ")), "{summary:?}");
    assert_eq!(bad_lines(&summary), vec![5, 6, 7]);
    assert!(summary.bad_examples[0].reason.contains("4 characters"));
    assert!(summary.bad_examples[1].reason.contains("one hash alone"));
}

#[test]
fn hashdeep_known_file() {
    let (a, b) = (a(), b());
    let (records, summary) = collect_path(&fixture("known.hashdeep"), None, &opts()).unwrap();
    assert_eq!(summary.format, Format::Hashdeep);
    let meta =
        |line: u64, name: &[u8]| EntryMeta { file_size: Some(5), ..line_meta(line, Some(name)) };
    assert_eq!(
        records,
        vec![
            Record {
                hashes: vec![md5(&a), sha256(&a)],
                meta: meta(6, b"/evidence/a,with,commas.txt")
            },
            Record { hashes: vec![md5(&b), sha256(&b)], meta: meta(7, b"/evidence/b.txt") },
        ]
    );
    assert_eq!(bad_lines(&summary), vec![8, 9]);
    assert!(summary.bad_examples[0].reason.contains("size"));
    assert!(summary.bad_examples[1].reason.contains("expected 4"));
}

#[test]
fn hashdeep_without_header_is_wrong_schema() {
    let text = b"%%%% HASHDEEP-1.0\n5,abc,name\n";
    let err = collect_bytes(text, None, &opts()).unwrap_err();
    assert!(matches!(err, ImportError::WrongSchema { .. }), "{err:?}");
    let text = b"%%%% HASHDEEP-1.0\n%%%% md5,size,filename\n";
    let err = collect_bytes(text, None, &opts()).unwrap_err();
    assert!(err.to_string().contains("must start with size"), "{err}");
}

// ---------------------------------------------------------------- PDQ

const H1: &str = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
const H2: &str = "0000000000000000ffffffffffffffff0123456789abcdef0123456789abcdef";

fn pdq(hex: &str, quality: Option<u8>) -> HashValue {
    HashValue::Pdq { hash: mediahash::hex::decode_fixed(hex).unwrap(), quality }
}

#[test]
fn pdq_csv_with_bad_lines() {
    let (records, summary) = collect_path(&fixture("hashes.pdq.csv"), None, &opts()).unwrap();
    assert_eq!(summary.format, Format::PdqCsv);
    assert_eq!(
        records,
        vec![
            Record {
                hashes: vec![pdq(H1, Some(100))],
                meta: line_meta(1, Some(b"images/a,1.jpg"))
            },
            Record { hashes: vec![pdq(H2, Some(49))], meta: line_meta(2, Some(b"b.png")) },
            Record { hashes: vec![pdq(H2, None)], meta: line_meta(6, None) },
        ]
    );
    assert_eq!(bad_lines(&summary), vec![3, 4, 5]);
    let reasons: Vec<&str> = summary.bad_examples.iter().map(|b| b.reason.as_str()).collect();
    assert!(reasons[0].contains("32 hex characters") && reasons[0].contains("not a PDQ"));
    assert!(reasons[1].contains("quality 101 is out of range"), "{reasons:?}");
    assert!(reasons[2].contains("found 60"), "{reasons:?}");
}

#[test]
fn pdq_signal_lines() {
    let (records, summary) = collect_path(&fixture("signals.pdq.txt"), None, &opts()).unwrap();
    assert_eq!(summary.format, Format::PdqLines);
    assert_eq!(
        records,
        vec![
            Record { hashes: vec![pdq(H1, None)], meta: line_meta(1, None) },
            Record { hashes: vec![pdq(H2, None)], meta: line_meta(2, None) },
        ]
    );
    assert_eq!(bad_lines(&summary), vec![3, 4]);
    assert!(summary.bad_examples[0].reason.contains("video_md5"));
    assert!(summary.bad_examples[1].reason.contains("not a PDQ hash"));
}

// ---------------------------------------------------------------- EnCase

fn encase_set(md5s: &[[u8; 16]], declared: u32) -> Vec<u8> {
    let mut bytes = vec![0u8; 0x480];
    bytes[..8].copy_from_slice(b"HASH\r\n\xff\x00");
    bytes[8..12].copy_from_slice(&1u32.to_le_bytes());
    bytes[0x10..0x14].copy_from_slice(&declared.to_le_bytes());
    for (i, unit) in "Known Bad".encode_utf16().enumerate() {
        bytes[0x408 + 2 * i..0x408 + 2 * i + 2].copy_from_slice(&unit.to_le_bytes());
    }
    for md5 in md5s {
        bytes.extend_from_slice(md5);
        bytes.extend_from_slice(&[0, 0]);
    }
    bytes
}

#[test]
fn encase_hash_set() {
    let (a, b) = (a(), b());
    let set = encase_set(&[a.md5, b.md5], 2);
    assert_eq!(detect_source_format_bytes(&set, "x").unwrap(), Format::EncaseHash);
    let (records, summary) = collect_bytes(&set, None, &opts()).unwrap();
    assert_eq!(records.iter().map(|r| r.hashes[0].clone()).collect::<Vec<_>>(), [md5(&a), md5(&b)]);
    assert!(summary.source_description.unwrap().contains("\"Known Bad\""));
    assert_eq!(summary.bad_records, 0);

    // Declares three, holds two and a half.
    let mut cut = encase_set(&[a.md5, b.md5], 3);
    cut.extend_from_slice(&[1, 2, 3]);
    let (records, summary) = collect_bytes(&cut, None, &opts()).unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!(bad_lines(&summary), vec![3, 3]);

    let err = collect_bytes(&set[..100], None, &opts()).unwrap_err();
    assert!(matches!(err, ImportError::WrongSchema { .. }), "{err:?}");
}

// ---------------------------------------------------------------- detection

#[test]
fn detection_of_each_text_format() {
    let cases = [
        ("vics-2.0-media.json", Format::VicsJson),
        ("vics-1.3-case.json", Format::VicsJson),
        ("list.md5", Format::Md5sum),
        ("list.sha1", Format::Sha1sum),
        ("list.sha256", Format::Sha256sum),
        ("list.bsd", Format::BsdTag),
        ("list.txt", Format::HashList),
        ("known.hashdeep", Format::Hashdeep),
        ("hashes.pdq.csv", Format::PdqCsv),
        ("signals.pdq.txt", Format::PdqLines),
    ];
    for (name, format) in cases {
        assert_eq!(detect_source_format(&fixture(name)).unwrap(), format, "{name}");
    }
    let md5 = a().md5_hex();
    // An md5sum name that looks like a BSD line stays md5sum.
    let tricky = format!("{md5}  (x) = y\n");
    assert_eq!(detect_source_format_bytes(tricky.as_bytes(), "x").unwrap(), Format::Md5sum);
    let escaped = format!("\\{md5}  a\\nb\n");
    assert_eq!(detect_source_format_bytes(escaped.as_bytes(), "x").unwrap(), Format::Md5sum);
    let pdq_eq = format!("hash={H1},norm=128,delta=0,quality=100,filename=a\n");
    assert_eq!(detect_source_format_bytes(pdq_eq.as_bytes(), "x").unwrap(), Format::PdqCsv);
}

#[test]
fn png_random_and_empty_files_are_unknown_formats() {
    let dir = tempfile::tempdir().unwrap();
    let png_path = dir.path().join("photo.png");
    image::RgbImage::from_pixel(4, 4, image::Rgb([200, 10, 10])).save(&png_path).unwrap();
    let random = common::rng::Rng::from_seed(0x2545_f491_4f6c_dd1d).bytes(4096);
    let random_path = dir.path().join("random.bin");
    std::fs::write(&random_path, &random).unwrap();
    let empty_path = dir.path().join("empty.txt");
    std::fs::write(&empty_path, b"").unwrap();
    let prose = dir.path().join("notes.txt");
    std::fs::write(&prose, b"Dear examiner,\nplease find attached the hashes.\n").unwrap();

    for (path, expect) in [
        (&png_path, "PNG image"),
        (&random_path, "binary content"),
        (&empty_path, "empty"),
        (&prose, "non-empty lines"),
    ] {
        let err = collect_path(path, None, &opts()).unwrap_err();
        match &err {
            ImportError::UnknownFormat { tried, .. } => {
                assert!(tried.contains("vics-json") && tried.contains("pdq-lines"));
            }
            other => panic!("{}: expected UnknownFormat, got {other:?}", path.display()),
        }
        let text = err.to_string();
        assert!(text.contains("none of the known formats") && text.contains(expect), "{text}");
    }
}

// ---------------------------------------------------------------- options

#[test]
fn strict_mode_stops_at_the_first_bad_line() {
    let strict = ImportOptions { strict: true, ..opts() };
    let mut seen = 0;
    let err = import_path(&fixture("list.md5"), None, &strict, &mut |_| {
        seen += 1;
        Ok(())
    })
    .unwrap_err();
    match &err {
        ImportError::Strict { line, reason, .. } => {
            assert_eq!(*line, 4);
            assert!(reason.contains("31 characters"));
        }
        other => panic!("expected Strict, got {other:?}"),
    }
    assert_eq!(seen, 3);
    assert!(err.to_string().contains("without --strict"));

    let json = std::fs::read(fixture("vics-2.0-media.json")).unwrap();
    let err = collect_bytes(&json, None, &strict).unwrap_err();
    assert!(matches!(err, ImportError::Strict { line: 12, .. }), "{err:?}");
}

#[test]
fn bad_records_are_all_counted_but_only_some_kept() {
    let text = "zz\n".repeat(50);
    let few = ImportOptions { max_bad_records_kept: 5, ..opts() };
    let (records, summary) = collect_bytes(text.as_bytes(), Some(Format::HashList), &few).unwrap();
    assert!(records.is_empty());
    assert_eq!(summary.bad_records, 50);
    assert_eq!(bad_lines(&summary), vec![1, 2, 3, 4, 5]);
}

#[test]
fn empty_file_hashes_are_skipped_and_counted_unless_kept() {
    let empty = digest_bytes(b"", Default::default());
    let text = format!("{}  empty\n{}  a\n", empty.md5_hex(), a().md5_hex());
    let (records, summary) = collect_bytes(text.as_bytes(), None, &opts()).unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!((summary.records, summary.empty_file_records_skipped), (1, 1));
    let keep = ImportOptions { keep_empty_file_hashes: true, ..opts() };
    let (records, summary) = collect_bytes(text.as_bytes(), None, &keep).unwrap();
    assert_eq!((records.len(), summary.empty_file_records_skipped), (2, 0));
}

#[test]
fn over_long_lines_are_bad_not_fatal() {
    let mut text = vec![b'a'; 2 << 20];
    text.push(b'\n');
    text.extend_from_slice(format!("{}  x\n", a().md5_hex()).as_bytes());
    let (records, summary) = collect_bytes(&text, Some(Format::Md5sum), &opts()).unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(bad_lines(&summary), vec![1]);
    assert!(summary.bad_examples[0].reason.contains("longer than"));
}

#[test]
fn summary_feeds_source_info() {
    let (_, summary) = collect_path(&fixture("list.sha1"), None, &opts()).unwrap();
    let info = summary.source_info("list.sha1", mediahash::refset::Disposition::Alert, "lab");
    assert_eq!(info.format, "sha1sum");
    assert_eq!(info.records, 2);
    assert_eq!(info.sha256, mediahash::hex::encode(&file_sha256(&fixture("list.sha1"))));
}

// ---------------------------------------------------------------- hostile bytes

const STREAM_FORMATS: [Option<Format>; 15] = [
    None,
    Some(Format::VicsJson),
    Some(Format::NsrlRds2Txt),
    Some(Format::Hashdeep),
    Some(Format::Md5sum),
    Some(Format::Sha1sum),
    Some(Format::Sha256sum),
    Some(Format::BsdTag),
    Some(Format::HashList),
    Some(Format::PdqCsv),
    Some(Format::PdqLines),
    Some(Format::EncaseHash),
    Some(Format::HashKeeper),
    Some(Format::Ilook),
    Some(Format::Md5deepSize),
];

fn no_panic(bytes: &[u8]) {
    for format in STREAM_FORMATS {
        let _ = collect_bytes(bytes, format, &opts());
    }
}

proptest! {
    // 64 cases keep the suite fast; PROPTEST_CASES=N runs a longer search.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(64),
        ..ProptestConfig::default()
    })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        no_panic(&bytes);
    }

    #[test]
    fn mutated_fixtures_never_panic(
        which in 0usize..4,
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        cut in any::<usize>(),
    ) {
        let name = ["vics-2.0-media.json", "vics-1.3-case.json", "known.hashdeep", "hashes.pdq.csv"][which];
        let mut bytes = std::fs::read(fixture(name)).unwrap();
        for (at, value) in edits {
            let at = at % bytes.len();
            bytes[at] = value;
        }
        bytes.truncate(cut % (bytes.len() + 1));
        no_panic(&bytes);
    }
}

#[test]
fn deeply_nested_json_is_an_error_not_a_crash() {
    let mut doc = format!("{{\"@odata.context\": \"{CTX20}\", \"value\": [{{\"MD5\": ");
    doc.push_str(&"[".repeat(100_000));
    let err = collect_bytes(doc.as_bytes(), None, &opts()).unwrap_err();
    assert!(matches!(err, ImportError::Json { .. }), "{err:?}");
    let mut doc = format!("{{\"@odata.context\": \"{CTX20}\", \"value\": [{{\"Other\": ");
    doc.push_str(&"[".repeat(100_000));
    let err = collect_bytes(doc.as_bytes(), None, &opts()).unwrap_err();
    assert!(matches!(err, ImportError::Json { .. }), "{err:?}");
}

#[test]
fn base64_photodna_fixture_is_what_the_test_expects() {
    // Guards the fixture: entry 1's PhotoDNA is bytes 0..144 in standard base64.
    let text = std::fs::read_to_string(fixture("vics-2.0-media.json")).unwrap();
    let expected = base64::engine::general_purpose::STANDARD.encode((0..144u8).collect::<Vec<_>>());
    assert!(text.contains(&expected));
}

/// A reader that yields `data` and then fails, like a disk error mid-file.
struct FailingAfter<'a> {
    data: &'a [u8],
}

impl std::io::Read for FailingAfter<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.data.is_empty() {
            return Err(std::io::Error::other("simulated read error"));
        }
        let n = buf.len().min(self.data.len()).min(4096);
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

#[test]
fn vics_is_streamed_entry_by_entry() {
    // 100,000 entries then a read error: records reach the sink before the document ends,
    // so the document is never held whole; the read error is an Io error, not a JSON one.
    let mut doc = format!("{{\"@odata.context\": \"{CTX20}\", \"value\": [\n");
    for i in 0..100_000u32 {
        let d = digest_bytes(&i.to_le_bytes(), Default::default());
        doc.push_str(&format!("{{\"MediaID\": {i}, \"MD5\": \"{}\"}},\n", d.md5_hex()));
    }
    let mut seen = 0u32;
    let err = import_reader(FailingAfter { data: doc.as_bytes() }, "x", None, &opts(), &mut |r| {
        assert_eq!(r.meta.source_id, Some(seen.to_string()));
        seen += 1;
        Ok(())
    })
    .unwrap_err();
    assert!(matches!(err, ImportError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("simulated read error"), "{err}");
    assert_eq!(seen, 100_000);
}
