//! Older comma-separated hash sets that md5deep and The Sleuth Kit still read: HashKeeper
//! and iLook, and the quoted-CSV field splitter they (and column-addressed PDQ CSVs) share.
//!
//! * HashKeeper (`hashkeeper`): a `.hsh` file of file records under the header
//!   `"file_id","hashset_id","file_name","directory","hash","file_size","date_modified",
//!   "time_modified","time_zone","comments","date_accessed","time_accessed"`, the hash an MD5;
//!   strings quoted, numbers bare (md5deep's `files.cpp`, TSK's `hk` database type). Its
//!   companion `.hke` (header `"hashset_id","name","vendor",...`) describes the hash sets
//!   and holds no hash: given alone it is refused with a message naming the `.hsh`.
//! * iLook (`ilook`): `V3Hash,HashSHA1,FileName,FilePath,FileSize,HashSHA256,HashSHA384,
//!   HashSHA512` (v3) and the same with `,CreateTime,ModTime,LastAccessTime` (v4); `V3Hash`
//!   / `V4Hash` is the MD5 and the SHA columns may be empty. v1
//!   (`V1Hash,HashType,SetDescription,FileName,FilePath,FileSize`) is read too, the hash's
//!   kind from its length. Values are not quoted, so a comma inside a name shifts the
//!   columns: the hashes are taken from both ends and the name from what is between.

use std::io::BufRead;

use super::{
    ImportError, Progress, Skip, for_each_line, kind_label, parse_digest, parse_digest_any, shown,
};
use crate::refset::{EntryMeta, HashKind, HashValue, Record};

/// The header line of a HashKeeper `.hsh` file (file records).
pub(crate) const HASHKEEPER_HEADER: &[u8] = b"\"file_id\",\"hashset_id\",\"file_name\",\"directory\",\"hash\",\"file_size\",\"date_modified\",\"time_modified\",\"time_zone\",\"comments\",\"date_accessed\",\"time_accessed\"";
/// How a HashKeeper `.hke` file (hash-set descriptions, no hashes) begins.
pub(crate) const HASHKEEPER_SETS_PREFIX: &[u8] = b"\"hashset_id\",\"name\",";

/// The iLook headers md5deep recognises, with the version each names.
const ILOOK_HEADERS: [(&[u8], u8); 3] = [
    (b"V1Hash,HashType,SetDescription,FileName,FilePath,FileSize", 1),
    (b"V3Hash,HashSHA1,FileName,FilePath,FileSize,HashSHA256,HashSHA384,HashSHA512", 3),
    (
        b"V4Hash,HashSHA1,FileName,FilePath,FileSize,HashSHA256,HashSHA384,HashSHA512,CreateTime,ModTime,LastAccessTime",
        4,
    ),
];

/// Whether `line` (trimmed) is a HashKeeper `.hsh` or `.hke` header.
pub(crate) fn is_hashkeeper_header(line: &[u8]) -> bool {
    starts_with_ignore_case(line, HASHKEEPER_HEADER)
        || starts_with_ignore_case(line, HASHKEEPER_SETS_PREFIX)
}

/// The iLook version a header line names, if it is one.
pub(crate) fn ilook_version(line: &[u8]) -> Option<u8> {
    let line = line.trim_ascii();
    ILOOK_HEADERS.iter().find(|(h, _)| line.eq_ignore_ascii_case(h)).map(|(_, v)| *v)
}

fn starts_with_ignore_case(line: &[u8], prefix: &[u8]) -> bool {
    line.len() >= prefix.len() && line[..prefix.len()].eq_ignore_ascii_case(prefix)
}

/// Splits one CSV line into fields: separated by `delimiter`, a field may be enclosed in
/// `"` (a doubled `""` inside is one quote, and the delimiter is then part of the field).
/// An unterminated quote or text after a closing quote is an error (a bad line).
pub(crate) fn split_csv(line: &[u8], delimiter: u8) -> Result<Vec<&[u8]>, String> {
    // Fields are borrowed; a quoted field keeps its doubled quotes (hashes, numbers and the
    // names stored never need them undone exactly, and [`unquote`] does it where it matters).
    let mut fields = Vec::new();
    let mut i = 0;
    loop {
        if line.get(i) == Some(&b'"') {
            let start = i + 1;
            let mut j = start;
            loop {
                match line.get(j) {
                    None => return Err(format!("unterminated quote in {}", shown(line))),
                    Some(b'"') if line.get(j + 1) == Some(&b'"') => j += 2,
                    Some(b'"') => break,
                    Some(_) => j += 1,
                }
            }
            fields.push(&line[start..j]);
            i = j + 1;
            match line.get(i) {
                None => return Ok(fields),
                Some(&b) if b == delimiter => i += 1,
                Some(_) => {
                    return Err(format!("text after a closing quote in {}", shown(line)));
                }
            }
        } else {
            match line[i..].iter().position(|&b| b == delimiter) {
                Some(k) => {
                    fields.push(&line[i..i + k]);
                    i += k + 1;
                }
                None => {
                    fields.push(&line[i..]);
                    return Ok(fields);
                }
            }
        }
    }
}

/// A quoted field's text with `""` made `"`.
pub(crate) fn unquote(field: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(field.len());
    let mut k = 0;
    while k < field.len() {
        out.push(field[k]);
        k += if field[k] == b'"' && field.get(k + 1) == Some(&b'"') { 2 } else { 1 };
    }
    out
}

fn parse_size(field: &[u8]) -> Result<Option<u64>, String> {
    let field = field.trim_ascii();
    if field.is_empty() {
        return Ok(None);
    }
    std::str::from_utf8(field)
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .map(Some)
        .ok_or_else(|| format!("file size {} is not a whole number", shown(field)))
}

fn text(field: &[u8]) -> Option<String> {
    let field = field.trim_ascii();
    (!field.is_empty()).then(|| String::from_utf8_lossy(field).into_owned())
}

/// HashKeeper `.hsh`: one MD5 per file record; the `.hke` description is refused.
pub(crate) fn import_hashkeeper<R: BufRead + ?Sized>(
    input: &mut R,
    progress: &mut Progress<'_, '_>,
) -> Result<(), ImportError> {
    const WHAT: &str = "no HashKeeper header (\"file_id\",\"hashset_id\",\"file_name\",...) on the \
                        first line";
    let mut first = true;
    for_each_line(input, progress, Skip::Blank, Some(WHAT), |progress, n, line| {
        let trimmed = line.trim_ascii();
        if std::mem::take(&mut first) {
            if starts_with_ignore_case(trimmed, HASHKEEPER_SETS_PREFIX) {
                return Err(progress.wrong_schema(
                    "this is a HashKeeper hash-set description (.hke): it names the sets but \
                     holds no hash; import the .hsh file of the same set",
                ));
            }
            if !trimmed.eq_ignore_ascii_case(HASHKEEPER_HEADER) {
                return Err(progress.wrong_schema(format!("{WHAT}; found {}", shown(trimmed))));
            }
            return Ok(());
        }
        match hashkeeper_record(trimmed, n) {
            Ok(record) => progress.emit(record)?,
            Err(reason) => progress.bad(n, reason)?,
        }
        Ok(())
    })
}

fn hashkeeper_record(line: &[u8], n: u64) -> Result<Record, String> {
    let fields = split_csv(line, b',')?;
    if fields.len() != 12 {
        return Err(format!("expected the 12 HashKeeper fields, found {}", fields.len()));
    }
    let hash = parse_digest(HashKind::Md5, fields[4].trim_ascii())?;
    let name = unquote(fields[2]);
    let directory = unquote(fields[3]);
    let file_name = match (directory.is_empty(), name.is_empty()) {
        (_, true) => None,
        (true, false) => Some(name),
        (false, false) => {
            let mut joined = directory;
            if !matches!(joined.last(), Some(b'\\' | b'/')) {
                joined.push(b'\\');
            }
            joined.extend_from_slice(&name);
            Some(joined)
        }
    };
    let mut note = format!(
        "HashKeeper file_id {}, hashset_id {}",
        String::from_utf8_lossy(fields[0].trim_ascii()),
        String::from_utf8_lossy(fields[1].trim_ascii())
    );
    if let Some(comment) = text(&unquote(fields[9])) {
        note.push_str(": ");
        note.push_str(&comment);
    }
    Ok(Record {
        hashes: vec![hash],
        meta: EntryMeta {
            file_name,
            file_size: parse_size(fields[5])?,
            source_id: Some(n.to_string()),
            note: Some(note),
            ..EntryMeta::default()
        },
    })
}

/// The set description of a HashKeeper `.hsh` from the `.hke` beside it (same name,
/// extension `.hke` or `.HKE`), when there is one: "HashKeeper set 671: Z00236 Microsoft
/// Windows 2000 Server" per row. Best effort: a missing or unreadable `.hke` gives `None`.
pub(crate) fn hke_description(hsh: &std::path::Path) -> Option<String> {
    use std::io::Read;
    let hke = ["hke", "HKE"].iter().map(|e| hsh.with_extension(e)).find(|p| p.is_file())?;
    let file = crate::openfile::open_regular(&hke, 0).ok()?;
    let mut text = Vec::new();
    // A description file is a few lines; 64 KiB bounds what a hostile one can make us hold.
    file.take(64 * 1024).read_to_end(&mut text).ok()?;
    let mut lines = text.split(|&b| b == b'\n').map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let header = split_csv(lines.next()?.trim_ascii(), b',').ok()?;
    let column = |name: &str| header.iter().position(|h| h.eq_ignore_ascii_case(name.as_bytes()));
    let (id, name) = (column("hashset_id")?, column("name")?);
    let sets: Vec<String> = lines
        .filter_map(|line| split_csv(line.trim_ascii(), b',').ok())
        .filter(|fields| fields.len() > id.max(name))
        .map(|fields| {
            format!(
                "HashKeeper set {}: {}",
                String::from_utf8_lossy(fields[id].trim_ascii()),
                String::from_utf8_lossy(&unquote(fields[name]))
            )
        })
        .take(16)
        .collect();
    (!sets.is_empty()).then(|| sets.join("; "))
}

/// iLook v1, v3 and v4 hash sets.
pub(crate) fn import_ilook<R: BufRead + ?Sized>(
    input: &mut R,
    progress: &mut Progress<'_, '_>,
) -> Result<(), ImportError> {
    const WHAT: &str = "no iLook header (V1Hash,..., V3Hash,... or V4Hash,...) on the first line";
    let mut version = None;
    for_each_line(input, progress, Skip::Blank, Some(WHAT), |progress, n, line| {
        let trimmed = line.trim_ascii();
        let Some(version) = version else {
            let found = ilook_version(trimmed).ok_or_else(|| {
                progress.wrong_schema(format!("{WHAT}; found {}", shown(trimmed)))
            })?;
            version = Some(found);
            progress.summary_mut().format_label = format!("ilook-v{found}");
            return Ok(());
        };
        let parsed = if version == 1 {
            ilook_v1_record(trimmed, n)
        } else {
            ilook_record(trimmed, n, version)
        };
        match parsed {
            Ok(record) => progress.emit(record)?,
            Err(reason) => progress.bad(n, reason)?,
        }
        Ok(())
    })
}

/// An optional hash column: empty means absent.
fn optional(kind: HashKind, field: &[u8]) -> Result<Option<HashValue>, String> {
    let field = field.trim_ascii();
    if field.is_empty() { Ok(None) } else { parse_digest(kind, field).map(Some) }
}

fn ilook_record(line: &[u8], n: u64, version: u8) -> Result<Record, String> {
    let fields: Vec<&[u8]> = line.split(|&b| b == b',').collect();
    // v3: MD5, SHA1, name, path, size, SHA256, SHA384, SHA512; v4 adds three times. The
    // tail counts the columns from SHA256 on.
    let tail = if version == 4 { 6 } else { 3 };
    if fields.len() < 5 + tail {
        return Err(format!(
            "expected {} iLook v{version} fields, found {}",
            5 + tail,
            fields.len()
        ));
    }
    let right = fields.len() - tail;
    let mut hashes = Vec::new();
    hashes.extend(optional(HashKind::Md5, fields[0])?);
    hashes.extend(optional(HashKind::Sha1, fields[1])?);
    hashes.extend(optional(HashKind::Sha256, fields[right])?);
    for (column, field) in [("HashSHA384", fields[right + 1]), ("HashSHA512", fields[right + 2])] {
        // Kept only as a note: there is nothing to match them against.
        if !field.trim_ascii().is_empty() && !field.iter().all(u8::is_ascii_hexdigit) {
            return Err(format!("{column} {} is not hex", shown(field)));
        }
    }
    if hashes.is_empty() {
        return Err(format!(
            "no {}, {} or {} value on the line",
            kind_label(HashKind::Md5),
            kind_label(HashKind::Sha1),
            kind_label(HashKind::Sha256)
        ));
    }
    let size = parse_size(fields[right - 1])?;
    // Between the SHA-1 and the size: name and path; a comma inside either shifts them, so
    // the path is the last field and the name everything before it.
    let middle = &fields[2..right - 1];
    let (path, name) =
        middle.split_last().map_or((&b""[..], Vec::new()), |(p, n)| (*p, n.join(&b',')));
    let mut file_name = path.to_vec();
    if !file_name.is_empty() && !matches!(file_name.last(), Some(b'\\' | b'/')) {
        file_name.push(b'\\');
    }
    file_name.extend_from_slice(&name);
    Ok(Record {
        hashes,
        meta: EntryMeta {
            file_name: (!name.is_empty()).then_some(file_name),
            file_size: size,
            source_id: Some(n.to_string()),
            ..EntryMeta::default()
        },
    })
}

fn ilook_v1_record(line: &[u8], n: u64) -> Result<Record, String> {
    let fields: Vec<&[u8]> = line.split(|&b| b == b',').collect();
    if fields.len() < 6 {
        return Err(format!("expected 6 iLook v1 fields, found {}", fields.len()));
    }
    let hash = parse_digest_any(fields[0].trim_ascii())?;
    let last = fields.len() - 1;
    let path = fields[last - 1];
    let name = fields[3..last - 1].join(&b',');
    let mut file_name = path.to_vec();
    if !file_name.is_empty() && !matches!(file_name.last(), Some(b'\\' | b'/')) {
        file_name.push(b'\\');
    }
    file_name.extend_from_slice(&name);
    Ok(Record {
        hashes: vec![hash],
        meta: EntryMeta {
            file_name: (!name.is_empty()).then_some(file_name),
            file_size: parse_size(fields[last])?,
            source_id: Some(n.to_string()),
            note: text(fields[2]),
            ..EntryMeta::default()
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_quoted_and_bare() {
        let f = split_csv(br#"1,"a,b","say ""hi""",,x"#, b',').unwrap();
        assert_eq!(f, [&b"1"[..], b"a,b", br#"say ""hi"""#, b"", b"x"]);
        assert_eq!(unquote(f[2]), br#"say "hi""#);
        assert_eq!(split_csv(b"", b',').unwrap(), [&b""[..]]);
        assert_eq!(split_csv(b"a,", b',').unwrap(), [&b"a"[..], b""]);
        assert!(split_csv(br#""open"#, b',').unwrap_err().contains("unterminated"));
        assert!(split_csv(br#""a"b,c"#, b',').unwrap_err().contains("after a closing"));
        assert_eq!(split_csv(b"a\tb", b'\t').unwrap(), [&b"a"[..], b"b"]);
    }

    #[test]
    fn a_hostile_hke_gives_no_description_and_no_panic() {
        let dir = tempfile::tempdir().unwrap();
        let hsh = dir.path().join("s.hsh");
        assert_eq!(hke_description(&hsh), None, "no .hke");
        for junk in
            [&b"\xff\x00\"\n\""[..], b"\"hashset_id\"\n1", b"", b"\"name\",\"hashset_id\"\n\"x"]
        {
            std::fs::write(dir.path().join("s.hke"), junk).unwrap();
            assert_eq!(hke_description(&hsh), None, "{junk:?}");
        }
        let mut big = b"\"hashset_id\",\"name\"\n".to_vec();
        big.extend(std::iter::repeat_n(b'x', 1 << 20));
        std::fs::write(dir.path().join("s.hke"), big).unwrap();
        assert_eq!(hke_description(&hsh), None, "one unterminated megabyte line");
    }

    #[test]
    fn headers_are_recognised() {
        assert!(is_hashkeeper_header(HASHKEEPER_HEADER));
        assert!(is_hashkeeper_header(b"\"hashset_id\",\"name\",\"vendor\""));
        assert_eq!(ilook_version(ILOOK_HEADERS[1].0), Some(3));
        assert_eq!(ilook_version(b"V3Hash,HashSHA1"), None);
    }
}
