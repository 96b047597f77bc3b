//! NIST NSRL Reference Data Set.
//!
//! * RDSv3 (SQLite): `FILE(sha256, sha1, md5, [crc32,] file_name, file_size, package_id)` is
//!   a table in the "minimal" layout and a view over `METADATA ⋈ PACKAGE_OBJECT` in the full
//!   layout; both are read through `FILE`, row by row, one record per row (the same digests
//!   recur once per name and package: the builder deduplicates). The `VERSION` row is kept.
//!   The database is opened read-only and `immutable=1`: SQLite then takes no locks and
//!   creates no journal beside it, so the examiner's copy is left untouched.
//! * RDS 2.x `NSRLFile.txt` (plain or in `NSRLFile.txt.zip`): a quoted-CSV header names the
//!   columns (FORM2 `"SHA-1","MD5","CRC32","FileName",...` or FORM1 with `FileName` second).
//!   File names are free bytes and may hold commas and stray quotes, so each line is split
//!   positionally: fields left of `FileName` from the left, fields right of it from the
//!   right, the name is what lies between. A bad line never swallows the next (a CSV parser
//!   would, after an unbalanced quote).

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};

use super::{
    Format, ImportError, ImportOptions, ImportSummary, Progress, Sink, Skip, for_each_line,
    parse_digest, shown,
};
use crate::refset::{HashKind, Record};

/// The columns read from `FILE`, in this order.
const FILE_COLUMNS: [&str; 6] = ["sha256", "sha1", "md5", "file_name", "file_size", "package_id"];

/// Builds an SQLite URI for a read-only, immutable open of `path`.
fn sqlite_uri(path: &Path) -> String {
    let raw = path.as_os_str().as_encoded_bytes();
    let mut uri = String::from("file:");
    #[cfg(windows)]
    let raw_owned: Vec<u8> = {
        let mut v: Vec<u8> = raw.iter().map(|&b| if b == b'\\' { b'/' } else { b }).collect();
        if v.len() >= 2 && v[1] == b':' {
            v.insert(0, b'/');
        }
        v
    };
    #[cfg(windows)]
    let raw = &raw_owned[..];
    for &b in raw {
        if b.is_ascii_alphanumeric() || b"/-_.~".contains(&b) {
            uri.push(b as char);
        } else {
            uri.push_str(&format!("%{b:02X}"));
        }
    }
    uri.push_str("?immutable=1");
    uri
}

fn sqlite_error(path: &str, action: &'static str) -> impl FnOnce(rusqlite::Error) -> ImportError {
    move |source| ImportError::Sqlite { path: path.to_string(), action, source }
}

/// SHA-256 of a file, read on a helper thread while the main thread imports it; `stop`
/// ends it early when the import fails.
fn hash_file(path: &Path, stop: &AtomicBool) -> io::Result<([u8; 32], u64)> {
    let mut reader = super::HashingReader::new(File::open(path)?);
    let mut buffer = vec![0u8; crate::digest::READ_BUFFER_SIZE];
    loop {
        if stop.load(Ordering::Relaxed) {
            return Err(io::Error::new(io::ErrorKind::Interrupted, "import stopped"));
        }
        match reader.read(&mut buffer) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(reader.finish())
}

/// Runs `import` while hashing the file on a scoped thread; the file hash lands in the summary.
fn with_file_hash(
    path: &Path,
    import: impl FnOnce() -> Result<ImportSummary, ImportError>,
) -> Result<ImportSummary, ImportError> {
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let hasher = scope.spawn(|| hash_file(path, &stop));
        let result = import();
        if result.is_err() {
            stop.store(true, Ordering::Relaxed);
        }
        let hashed = hasher
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the file-hashing thread panicked")));
        let mut summary = result?;
        (summary.sha256, summary.bytes) =
            hashed.map_err(|e| ImportError::io(&path.display().to_string(), e))?;
        Ok(summary)
    })
}

/// Imports an NSRL RDSv3 SQLite database (minimal or full layout).
pub(crate) fn import_rdsv3(
    path: &Path,
    opts: &ImportOptions,
    sink: &mut Sink<'_>,
) -> Result<ImportSummary, ImportError> {
    with_file_hash(path, || import_rdsv3_rows(path, opts, sink))
}

fn import_rdsv3_rows(
    path: &Path,
    opts: &ImportOptions,
    sink: &mut Sink<'_>,
) -> Result<ImportSummary, ImportError> {
    let name = path.display().to_string();
    let mut progress = Progress::new(&name, Format::NsrlRdsV3, opts, sink);
    // Check the header first: SQLite would otherwise open anything and fail later with a
    // vaguer "file is not a database".
    let mut head = Vec::new();
    File::open(path)
        .and_then(|f| f.take(16).read_to_end(&mut head))
        .map_err(|e| ImportError::io(&name, e))?;
    if head != super::SQLITE_MAGIC {
        return Err(progress.wrong_schema("not an SQLite database (no \"SQLite format 3\" header)"));
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let db = Connection::open_with_flags(sqlite_uri(path), flags)
        .map_err(sqlite_error(&name, "opening the database read-only"))?;

    let layout = file_layout(&db, &name, &mut progress)?;
    read_version(&db, &name, &mut progress)?;
    {
        let summary = progress.summary_mut();
        summary.notes.push(format!("RDSv3 {layout} layout"));
    }

    let sql = format!("SELECT {} FROM FILE", FILE_COLUMNS.join(", "));
    let mut statement =
        db.prepare(&sql).map_err(sqlite_error(&name, "preparing the FILE query"))?;
    let mut rows = statement.query([]).map_err(sqlite_error(&name, "reading FILE"))?;
    let mut row_number = 0u64;
    while let Some(row) = rows.next().map_err(sqlite_error(&name, "reading FILE"))? {
        row_number += 1;
        match file_row(row) {
            Ok(record) => progress.emit(record)?,
            Err(reason) => progress.bad(row_number, format!("FILE row {row_number}: {reason}"))?,
        }
    }
    Ok(progress.finish())
}

/// Checks that `FILE` exists with the needed columns; returns "minimal" (table) or "full"
/// (view).
fn file_layout(
    db: &Connection,
    name: &str,
    progress: &mut Progress<'_, '_>,
) -> Result<&'static str, ImportError> {
    let kind: Option<String> = db
        .query_row(
            "SELECT type FROM sqlite_master WHERE name = 'FILE' COLLATE NOCASE \
             AND type IN ('table', 'view')",
            [],
            |row| row.get(0),
        )
        .map(Some)
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            e => Err(e),
        })
        .map_err(sqlite_error(name, "reading the schema"))?;
    let Some(kind) = kind else {
        let mut statement = db
            .prepare("SELECT name FROM sqlite_master WHERE type IN ('table', 'view') ORDER BY name")
            .map_err(sqlite_error(name, "reading the schema"))?;
        let names: Vec<String> = statement
            .query_map([], |row| row.get(0))
            .and_then(|rows| rows.take(20).collect())
            .map_err(sqlite_error(name, "reading the schema"))?;
        let found = if names.is_empty() { "none".to_string() } else { names.join(", ") };
        return Err(progress.wrong_schema(format!(
            "no FILE table or view (tables and views found: {found}); an NSRL RDSv3 database \
             has FILE(sha256, sha1, md5, file_name, file_size, package_id)"
        )));
    };
    let mut statement =
        db.prepare("PRAGMA table_info(FILE)").map_err(sqlite_error(name, "reading the schema"))?;
    let present: Vec<String> = statement
        .query_map([], |row| row.get::<_, String>(1))
        .and_then(|rows| rows.collect())
        .map_err(sqlite_error(name, "reading the schema"))?;
    let missing: Vec<&str> = FILE_COLUMNS
        .iter()
        .copied()
        .filter(|c| !present.iter().any(|p| p.eq_ignore_ascii_case(c)))
        .collect();
    if !missing.is_empty() {
        return Err(progress.wrong_schema(format!(
            "FILE has no column {} (it has: {}); an NSRL RDSv3 database has FILE(sha256, sha1, \
             md5, file_name, file_size, package_id)",
            missing.join(", "),
            present.join(", ")
        )));
    }
    Ok(if kind.eq_ignore_ascii_case("view") { "full" } else { "minimal" })
}

/// Records the VERSION row (absent in some hand-made extracts: noted, not an error).
fn read_version(
    db: &Connection,
    name: &str,
    progress: &mut Progress<'_, '_>,
) -> Result<(), ImportError> {
    let has_version: bool = db
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name = 'VERSION' COLLATE NOCASE",
            [],
            |row| row.get::<_, i64>(0),
        )
        .map(|n| n > 0)
        .map_err(sqlite_error(name, "reading the schema"))?;
    let summary = progress.summary_mut();
    if !has_version {
        summary.notes.push("no VERSION table: the RDS release is unknown".into());
        return Ok(());
    }
    let mut statement =
        db.prepare("SELECT * FROM VERSION").map_err(sqlite_error(name, "reading VERSION"))?;
    let columns: Vec<String> = statement.column_names().map(|c| c.to_string()).collect();
    let mut rows = statement.query([]).map_err(sqlite_error(name, "reading VERSION"))?;
    let mut count = 0;
    while let Some(row) = rows.next().map_err(sqlite_error(name, "reading VERSION"))? {
        count += 1;
        if count > 1 {
            continue;
        }
        let mut parts = Vec::new();
        for (i, column) in columns.iter().enumerate() {
            let value = match row.get_ref(i).map_err(sqlite_error(name, "reading VERSION"))? {
                ValueRef::Null => continue,
                ValueRef::Integer(v) => v.to_string(),
                ValueRef::Real(v) => v.to_string(),
                ValueRef::Text(t) | ValueRef::Blob(t) => String::from_utf8_lossy(t).into_owned(),
            };
            if column.eq_ignore_ascii_case("version") {
                summary.source_version = Some(value.clone());
            }
            parts.push(format!("{column}={value}"));
        }
        summary.source_description = Some(parts.join("; "));
    }
    if count != 1 {
        summary.notes.push(format!("VERSION has {count} rows (expected 1)"));
    }
    Ok(())
}

fn text_bytes<'a>(value: ValueRef<'a>, column: &str) -> Result<Option<&'a [u8]>, String> {
    match value {
        ValueRef::Null => Ok(None),
        ValueRef::Text(t) | ValueRef::Blob(t) => Ok((!t.is_empty()).then_some(t)),
        ValueRef::Integer(_) | ValueRef::Real(_) => Err(format!("{column} is a number, not text")),
    }
}

fn integer(value: ValueRef<'_>, column: &str) -> Result<Option<i64>, String> {
    match value {
        ValueRef::Null => Ok(None),
        ValueRef::Integer(v) => Ok(Some(v)),
        ValueRef::Text(t) => std::str::from_utf8(t)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .map(Some)
            .ok_or_else(|| format!("{column} {} is not a whole number", shown(t))),
        ValueRef::Real(_) | ValueRef::Blob(_) => Err(format!("{column} is not a whole number")),
    }
}

fn file_row(row: &rusqlite::Row<'_>) -> Result<Record, String> {
    let get = |i: usize| row.get_ref(i).map_err(|e| e.to_string());
    let mut record = Record::default();
    for (i, kind) in [(0, HashKind::Sha256), (1, HashKind::Sha1), (2, HashKind::Md5)] {
        if let Some(text) = text_bytes(get(i)?, FILE_COLUMNS[i])? {
            record.hashes.push(parse_digest(kind, text)?);
        }
    }
    if record.hashes.is_empty() {
        return Err("no sha256, sha1 or md5 value".into());
    }
    record.meta.file_name = text_bytes(get(3)?, "file_name")?.map(<[u8]>::to_vec);
    record.meta.file_size = match integer(get(4)?, "file_size")? {
        Some(size) => Some(u64::try_from(size).map_err(|_| format!("file_size {size} < 0"))?),
        None => None,
    };
    record.meta.source_id = integer(get(5)?, "package_id")?.map(|id| id.to_string());
    Ok(record)
}

// ---- RDS 2.x NSRLFile.txt ----

/// Whether a line is an NSRLFile.txt header (FORM1 or FORM2).
pub(crate) fn is_rds2_header(line: &[u8]) -> bool {
    let line = line.strip_prefix(super::UTF8_BOM).unwrap_or(line);
    line.starts_with(b"\"SHA-1\"") && contains(line, b"\"MD5\"") && contains(line, b"\"FileName\"")
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rds2Column {
    Digest(HashKind),
    FileName,
    FileSize,
    ProductCode,
    SpecialCode,
    Other,
}

#[derive(Debug)]
struct Rds2Layout {
    columns: Vec<Rds2Column>,
    /// Index of the FileName column, if any.
    name_at: Option<usize>,
}

fn parse_rds2_header(line: &[u8]) -> Result<Rds2Layout, String> {
    let columns: Vec<Rds2Column> = line
        .split(|&b| b == b',')
        .map(|field| {
            let field = unquote(field.trim_ascii());
            match field.to_ascii_lowercase().as_slice() {
                b"sha-1" | b"sha1" => Rds2Column::Digest(HashKind::Sha1),
                b"md5" => Rds2Column::Digest(HashKind::Md5),
                b"sha-256" | b"sha256" => Rds2Column::Digest(HashKind::Sha256),
                b"filename" => Rds2Column::FileName,
                b"filesize" => Rds2Column::FileSize,
                b"productcode" => Rds2Column::ProductCode,
                b"specialcode" => Rds2Column::SpecialCode,
                _ => Rds2Column::Other,
            }
        })
        .collect();
    for needed in [HashKind::Sha1, HashKind::Md5] {
        if !columns.contains(&Rds2Column::Digest(needed)) {
            return Err(format!(
                "the header {} has no {} column; NSRLFile.txt starts with \
                 \"SHA-1\",\"MD5\",\"CRC32\",\"FileName\",...",
                shown(line),
                super::kind_label(needed)
            ));
        }
    }
    let names = columns.iter().filter(|c| **c == Rds2Column::FileName).count();
    if names > 1 {
        return Err("the header names FileName twice".into());
    }
    let name_at = columns.iter().position(|c| *c == Rds2Column::FileName);
    Ok(Rds2Layout { columns, name_at })
}

/// Strips one pair of enclosing double quotes.
fn unquote(field: &[u8]) -> &[u8] {
    if field.len() >= 2 && field[0] == b'"' && field[field.len() - 1] == b'"' {
        &field[1..field.len() - 1]
    } else {
        field
    }
}

/// Splits a data line into exactly `layout.columns.len()` fields (quotes kept).
fn split_rds2_line<'a>(line: &'a [u8], layout: &Rds2Layout) -> Result<Vec<&'a [u8]>, String> {
    let n = layout.columns.len();
    let commas = line.iter().filter(|&&b| b == b',').count();
    let wrong_count = || format!("expected {n} fields, found {}", commas + 1);
    let Some(name_at) = layout.name_at else {
        if commas + 1 != n {
            return Err(wrong_count());
        }
        return Ok(line.split(|&b| b == b',').collect());
    };
    if commas + 1 < n {
        return Err(wrong_count());
    }
    let mut fields = Vec::with_capacity(n);
    let mut rest = line;
    for _ in 0..name_at {
        let comma = rest.iter().position(|&b| b == b',').ok_or_else(wrong_count)?;
        fields.push(&rest[..comma]);
        rest = &rest[comma + 1..];
    }
    let mut tail = Vec::with_capacity(n - name_at - 1);
    for _ in name_at + 1..n {
        let comma = rest.iter().rposition(|&b| b == b',').ok_or_else(wrong_count)?;
        tail.push(&rest[comma + 1..]);
        rest = &rest[..comma];
    }
    fields.push(rest);
    fields.extend(tail.into_iter().rev());
    Ok(fields)
}

fn parse_rds2_line(line: &[u8], layout: &Rds2Layout) -> Result<Record, String> {
    let fields = split_rds2_line(line, layout)?;
    let mut record = Record::default();
    let mut special: Option<&[u8]> = None;
    for (column, raw) in layout.columns.iter().zip(fields) {
        let value = unquote(raw.trim_ascii());
        match *column {
            Rds2Column::Digest(kind) => {
                if !value.is_empty() {
                    record.hashes.push(parse_digest(kind, value)?);
                }
            }
            Rds2Column::FileName => {
                record.meta.file_name = (!value.is_empty()).then(|| value.to_vec());
            }
            Rds2Column::FileSize => {
                record.meta.file_size = Some(
                    std::str::from_utf8(value)
                        .ok()
                        .and_then(|s| s.parse().ok())
                        .ok_or_else(|| format!("FileSize {} is not a whole number", shown(raw)))?,
                );
            }
            Rds2Column::ProductCode => {
                record.meta.source_id =
                    (!value.is_empty()).then(|| String::from_utf8_lossy(value).into_owned());
            }
            Rds2Column::SpecialCode => special = Some(value).filter(|v| !v.is_empty()),
            Rds2Column::Other => {}
        }
    }
    if record.hashes.is_empty() {
        return Err("no SHA-1 or MD5 value".into());
    }
    if let Some(code) = special {
        record.meta.note = Some(format!("SpecialCode={}", String::from_utf8_lossy(code)));
    }
    Ok(record)
}

/// Reads NSRLFile.txt lines (header first).
pub(crate) fn import_rds2_lines<R: BufRead + ?Sized>(
    input: &mut R,
    progress: &mut Progress<'_, '_>,
) -> Result<(), ImportError> {
    let mut layout: Option<Rds2Layout> = None;
    let header = "the first line is not an NSRLFile.txt header";
    for_each_line(input, progress, Skip::Blank, Some(header), |progress, n, line| {
        let Some(layout) = layout.as_ref() else {
            let parsed = parse_rds2_header(line)
                .map_err(|why| progress.wrong_schema(format!("line {n}: {why}")))?;
            layout = Some(parsed);
            return Ok(());
        };
        match parse_rds2_line(line, layout) {
            Ok(record) => progress.emit(record)?,
            Err(reason) => progress.bad(n, reason)?,
        }
        Ok(())
    })?;
    if layout.is_none() {
        return Err(progress.wrong_schema("the file is empty (no NSRLFile.txt header)"));
    }
    Ok(())
}

/// Finds the NSRLFile.txt entry of a zip (any folder, any case).
pub(crate) fn zip_entry_name(path: &Path) -> Result<String, ImportError> {
    let name = path.display().to_string();
    let file = File::open(path).map_err(|e| ImportError::io(&name, e))?;
    let archive = zip::ZipArchive::new(BufReader::new(file))
        .map_err(|source| ImportError::Zip { path: name.clone(), source })?;
    let names: Vec<String> = archive
        .file_names()
        .map(|n| n.map(|n| n.into_owned()))
        .collect::<Result<_, _>>()
        .map_err(|source| ImportError::Zip { path: name.clone(), source })?;
    let found = names.iter().find(|n| {
        let base = n.rsplit(['/', '\\']).next().unwrap_or(n);
        base.eq_ignore_ascii_case("NSRLFile.txt")
    });
    match found {
        Some(entry) => Ok(entry.to_string()),
        None => {
            let mut shown_names: Vec<&str> = names.iter().take(10).map(String::as_str).collect();
            shown_names.sort_unstable();
            Err(ImportError::UnknownFormat {
                path: name,
                tried: super::Format::all_names(),
                reason: format!(
                    "a zip archive without NSRLFile.txt (entries: {})",
                    shown_names.join(", ")
                ),
            })
        }
    }
}

/// Imports NSRLFile.txt from inside a zip archive.
pub(crate) fn import_rds2_zip(
    path: &Path,
    opts: &ImportOptions,
    sink: &mut Sink<'_>,
) -> Result<ImportSummary, ImportError> {
    with_file_hash(path, || {
        let name = path.display().to_string();
        let entry_name = zip_entry_name(path)?;
        let file = File::open(path).map_err(|e| ImportError::io(&name, e))?;
        let mut archive = zip::ZipArchive::new(BufReader::new(file))
            .map_err(|source| ImportError::Zip { path: name.clone(), source })?;
        let entry = archive
            .by_name(&entry_name)
            .map_err(|source| ImportError::Zip { path: name.clone(), source })?;
        let mut input = BufReader::with_capacity(crate::digest::READ_BUFFER_SIZE, entry);
        let mut progress = Progress::new(&name, Format::NsrlRds2Txt, opts, sink);
        import_rds2_lines(&mut input, &mut progress)?;
        progress.summary_mut().notes.push(format!("read {entry_name} from the zip archive"));
        Ok(progress.finish())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const FORM2: &[u8] = b"\"SHA-1\",\"MD5\",\"CRC32\",\"FileName\",\"FileSize\",\"ProductCode\",\
\"OpSystemCode\",\"SpecialCode\"";

    #[test]
    fn uri_escapes() {
        assert_eq!(sqlite_uri(Path::new("/a b/c?#%.db")), "file:/a%20b/c%3F%23%25.db?immutable=1");
    }

    #[test]
    fn rds2_positional_split() {
        let layout = parse_rds2_header(FORM2).unwrap();
        let line =
            b"\"00D1034546F530D746131CE2A28A052DB21652EC\",\"2193697C470774EA58DA24B3BAC5FCDE\",\
\"CABEC7CD\",\"a,\"b\".txt\",503,1,\"WIN\",\"M\"";
        let r = parse_rds2_line(line, &layout).unwrap();
        assert_eq!(r.meta.file_name.as_deref(), Some(&b"a,\"b\".txt"[..]));
        assert_eq!(r.meta.file_size, Some(503));
        assert_eq!(r.meta.source_id.as_deref(), Some("1"));
        assert_eq!(r.meta.note.as_deref(), Some("SpecialCode=M"));
        assert_eq!(r.hashes.len(), 2);
        assert!(parse_rds2_line(b"\"00\",\"11\"", &layout).unwrap_err().contains("expected 8"));
    }

    #[test]
    fn rds2_form1_header() {
        let form1 = b"\"SHA-1\",\"FileName\",\"FileSize\",\"ProductCode\",\"OpSystemCode\",\
\"MD4\",\"MD5\",\"CRC32\",\"SpecialCode\"";
        assert!(is_rds2_header(form1));
        let layout = parse_rds2_header(form1).unwrap();
        assert_eq!(layout.name_at, Some(1));
        assert!(parse_rds2_header(b"\"a\",\"b\"").is_err());
    }
}
