//! PDQ hash lists.
//!
//! * CSV (`pdq-csv`): what Meta's `pdq-photo-hasher` prints, `hash,quality,filename`; its
//!   `-d` form `hash=<hex>,norm=..,delta=..,quality=<q>,filename=<f>`; `--pdqdih-across`
//!   (`h1,...,h8,quality,filename`, eight dihedral hashes of one image); and the C++ loader's
//!   `<hex>[,metadata]`. Tabs may replace commas. The file name is the rest of the line.
//! * Signal lines (`pdq-lines`): python-threatexchange's local files, `pdq <hex>`.
//! * CSVs whose hash is in another column (ThreatExchange's own test data has
//!   `FilePath,Hash`): the column is named by [`PdqColumn`] (`--pdq-column 2` or
//!   `--pdq-column Hash`), or found from a header row that names it `hash` or `pdq`. Fields
//!   may be quoted; a header's `quality` column gives the quality, and its `filename`,
//!   `file_name`, `filepath`, `path` or `name` column the file name.
//!
//! A PDQ hash is 64 hex characters; stored as the 32 bytes of its hex form. A 32-character
//! value is refused by name: it is an MD5-sized value, and reading it as PDQ would be wrong.

use std::io::BufRead;
use std::str::FromStr;

use super::legacy::{split_csv, unquote};
use super::{ImportError, Progress, Skip, for_each_line, shown};
use crate::refset::{EntryMeta, HashValue, Record};

/// Which column of a PDQ CSV holds the hash (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PdqColumn {
    /// 1-based column number.
    Number(usize),
    /// A header field's name (case-insensitive); the first line must then be the header.
    Name(String),
}

impl FromStr for PdqColumn {
    type Err = String;

    /// A positive number is a column number, anything else a header name.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.is_empty() {
            return Err("a PDQ column is a number (1 is the first) or a header name".into());
        }
        match s.parse::<usize>() {
            Ok(0) => Err("PDQ columns are numbered from 1".into()),
            Ok(n) => Ok(PdqColumn::Number(n)),
            Err(_) => Ok(PdqColumn::Name(s.to_string())),
        }
    }
}

/// Header names taken to mean the PDQ hash column.
const HASH_NAMES: [&str; 4] = ["hash", "pdq", "pdq_hash", "pdqhash"];
/// Header names taken to mean the file-name column, in order of preference.
const NAME_NAMES: [&str; 5] = ["filename", "file_name", "filepath", "path", "name"];

/// A CSV read by column: where the hash, quality and name are.
#[derive(Debug)]
struct Columns {
    delimiter: u8,
    hash: usize,
    quality: Option<usize>,
    name: Option<usize>,
}

fn delimiter_of(line: &[u8]) -> u8 {
    if line.contains(&b'\t') && !line.contains(&b',') { b'\t' } else { b',' }
}

fn field_is(field: &[u8], names: &[&str]) -> bool {
    let field = unquote(field);
    let field = field.trim_ascii();
    names.iter().any(|n| field.eq_ignore_ascii_case(n.as_bytes()))
}

/// Reads the first line as a possible header: the columns to use, and whether the line is
/// a header (to be skipped). `Ok(None)`: the line-oriented reader applies.
fn columns_from_first_line(
    line: &[u8],
    requested: Option<&PdqColumn>,
) -> Result<Option<(Columns, bool)>, String> {
    let line = line.trim_ascii();
    let delimiter = delimiter_of(line);
    let fields = split_csv(line, delimiter).unwrap_or_default();
    let is_header = !fields.is_empty() && !fields.iter().any(|f| is_pdq_hex(f));
    let find = |names: &[&str]| fields.iter().position(|f| field_is(f, names));
    let (quality, name) = if is_header {
        (find(&["quality"]), NAME_NAMES.iter().find_map(|n| find(&[*n])))
    } else {
        (None, None)
    };
    let hash = match requested {
        Some(PdqColumn::Number(n)) => n - 1,
        Some(PdqColumn::Name(wanted)) => {
            if !is_header {
                return Err(format!(
                    "the PDQ column is named {wanted:?}, but the first line {} is not a header",
                    shown(line)
                ));
            }
            find(&[wanted.as_str()]).ok_or_else(|| {
                format!("the header {} has no column named {wanted:?}", shown(line))
            })?
        }
        None => match (is_header, find(&HASH_NAMES)) {
            // A header naming the hash column anywhere but first: read by column.
            (true, Some(i)) if i > 0 => i,
            _ => return Ok(None),
        },
    };
    Ok(Some((Columns { delimiter, hash, quality, name }, is_header)))
}

fn column_record(line: &[u8], columns: &Columns) -> Result<Record, String> {
    let fields = split_csv(line.trim_ascii(), columns.delimiter)?;
    let field = |i: usize| fields.get(i).map(|f| unquote(f));
    let hash_field = field(columns.hash).ok_or_else(|| {
        format!(
            "the line has {} fields; the PDQ hash is in column {}",
            fields.len(),
            columns.hash + 1
        )
    })?;
    let hash = parse_pdq_hex(&hash_field)?;
    let quality = match columns.quality.and_then(field) {
        Some(q) if !q.trim_ascii().is_empty() => Some(parse_quality(&q)?),
        _ => None,
    };
    let name = columns.name.and_then(field).filter(|n| !n.is_empty());
    Ok(Record {
        hashes: vec![HashValue::Pdq { hash, quality }],
        meta: EntryMeta { file_name: name, ..EntryMeta::default() },
    })
}

/// Parses a 64-hex PDQ hash (either case).
pub(crate) fn parse_pdq_hex(field: &[u8]) -> Result<[u8; 32], String> {
    let field = field.trim_ascii();
    let all_hex = field.iter().all(u8::is_ascii_hexdigit);
    if field.len() == 32 && all_hex {
        return Err(format!(
            "{} has 32 hex characters: that is an MD5-sized value, not a PDQ hash \
             (PDQ hashes have 64)",
            shown(field)
        ));
    }
    if field.len() != 64 {
        return Err(format!(
            "a PDQ hash has 64 hex characters, found {} in {}",
            field.len(),
            shown(field)
        ));
    }
    let text = std::str::from_utf8(field).map_err(|_| format!("{} is not hex", shown(field)))?;
    crate::hex::decode_fixed(text).map_err(|e| format!("PDQ hash {}: {e}", shown(field)))
}

fn parse_quality(field: &[u8]) -> Result<u8, String> {
    let value = std::str::from_utf8(field)
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .ok_or_else(|| format!("quality {} is not a whole number", shown(field)))?;
    u8::try_from(value)
        .ok()
        .filter(|q| *q <= 100)
        .ok_or_else(|| format!("quality {value} is out of range (0 to 100)"))
}

/// Whether a field looks like a number, i.e. was meant as the quality column.
fn looks_numeric(field: &[u8]) -> bool {
    let field = field.trim_ascii();
    !field.is_empty()
        && field.iter().any(u8::is_ascii_digit)
        && field.iter().all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.'))
}

/// Splits off the next comma- or tab-separated field.
fn next_field(rest: &[u8]) -> (&[u8], Option<&[u8]>) {
    match rest.iter().position(|&b| b == b',' || b == b'\t') {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    }
}

fn is_pdq_hex(field: &[u8]) -> bool {
    let field = field.trim_ascii();
    field.len() == 64 && field.iter().all(u8::is_ascii_hexdigit)
}

pub(crate) fn parse_csv_line(line: &[u8]) -> Result<Record, String> {
    let line = line.trim_ascii();
    let (first, mut rest) = next_field(line);
    let key_value = first.len() >= 5 && first[..5].eq_ignore_ascii_case(b"hash=");
    let first = if key_value { &first[5..] } else { first };
    let mut hashes = vec![parse_pdq_hex(first)?];
    let mut quality = None;
    let mut name: Option<&[u8]> = None;
    if key_value {
        // `-d` output: key=value fields; filename= takes the rest of the line.
        while let Some(current) = rest {
            let (field, next) = next_field(current);
            let (key, value) = match field.iter().position(|&b| b == b'=') {
                Some(i) => (&field[..i], &field[i + 1..]),
                None => (field, &b""[..]),
            };
            match key.trim_ascii() {
                b"quality" => quality = Some(parse_quality(value)?),
                b"filename" => {
                    name = Some(&current[key.len() + 1..]);
                    break;
                }
                _ => {}
            }
            rest = next;
        }
    } else {
        // Further 64-hex fields are the dihedral hashes of `--pdqdih-across`.
        while let Some(current) = rest {
            let (field, next) = next_field(current);
            if is_pdq_hex(field) {
                hashes.push(parse_pdq_hex(field)?);
                rest = next;
            } else {
                break;
            }
        }
        if let Some(current) = rest {
            let (field, next) = next_field(current);
            if looks_numeric(field) {
                quality = Some(parse_quality(field)?);
                name = next;
            } else {
                name = Some(current);
            }
        }
    }
    Ok(Record {
        hashes: hashes.into_iter().map(|hash| HashValue::Pdq { hash, quality }).collect(),
        meta: EntryMeta {
            file_name: name.filter(|n| !n.is_empty()).map(<[u8]>::to_vec),
            ..EntryMeta::default()
        },
    })
}

pub(crate) fn import_csv<R: BufRead + ?Sized>(
    input: &mut R,
    progress: &mut Progress<'_, '_>,
) -> Result<(), ImportError> {
    let mut first = true;
    let mut by_column: Option<Columns> = None;
    let requested = progress.opts.pdq_column.clone();
    for_each_line(input, progress, Skip::BlankAndComments, None, |progress, n, line| {
        if std::mem::take(&mut first) {
            match columns_from_first_line(line, requested.as_ref()) {
                Err(what) => return Err(progress.wrong_schema(what)),
                Ok(Some((columns, is_header))) => {
                    progress.summary_mut().notes.push(format!(
                        "PDQ hash read from column {}{}",
                        columns.hash + 1,
                        if is_header { " of the header's names" } else { "" }
                    ));
                    by_column = Some(columns);
                    if is_header {
                        return Ok(());
                    }
                }
                Ok(None) => {
                    // A header row ("hash,quality,filename") is not a record.
                    let (field, _) = next_field(line.trim_ascii());
                    if field.eq_ignore_ascii_case(b"hash") || field.eq_ignore_ascii_case(b"pdq") {
                        return Ok(());
                    }
                }
            }
        }
        let parsed = match &by_column {
            Some(columns) => column_record(line, columns),
            None => parse_csv_line(line),
        };
        match parsed {
            Ok(mut record) => {
                record.meta.source_id = Some(n.to_string());
                progress.emit(record)?;
            }
            Err(reason) => progress.bad(n, reason)?,
        }
        Ok(())
    })
}

/// Whether a line is a `pdq <64 hex>` signal line.
pub(crate) fn is_pdq_signal_line(line: &[u8]) -> bool {
    let line = line.trim_ascii();
    line.len() > 4 && line[..4].eq_ignore_ascii_case(b"pdq ") && {
        let rest = line[4..].trim_ascii_start();
        let end = rest.iter().position(u8::is_ascii_whitespace).unwrap_or(rest.len());
        is_pdq_hex(&rest[..end])
    }
}

pub(crate) fn parse_signal_line(line: &[u8]) -> Result<Record, String> {
    let line = line.trim_ascii();
    let split = line
        .iter()
        .position(u8::is_ascii_whitespace)
        .ok_or_else(|| format!("expected \"<signal type> <signal>\", found {}", shown(line)))?;
    let (signal_type, rest) = (&line[..split], line[split..].trim_ascii_start());
    if !signal_type.eq_ignore_ascii_case(b"pdq") {
        return Err(format!("signal type {} is not supported (only pdq)", shown(signal_type)));
    }
    let end = rest.iter().position(u8::is_ascii_whitespace).unwrap_or(rest.len());
    let hash = parse_pdq_hex(&rest[..end])?;
    let label = rest[end..].trim_ascii();
    Ok(Record {
        hashes: vec![HashValue::Pdq { hash, quality: None }],
        meta: EntryMeta {
            note: (!label.is_empty()).then(|| String::from_utf8_lossy(label).into_owned()),
            ..EntryMeta::default()
        },
    })
}

pub(crate) fn import_signals<R: BufRead + ?Sized>(
    input: &mut R,
    progress: &mut Progress<'_, '_>,
) -> Result<(), ImportError> {
    for_each_line(input, progress, Skip::BlankAndComments, None, |progress, n, line| {
        match parse_signal_line(line) {
            Ok(mut record) => {
                record.meta.source_id = Some(n.to_string());
                progress.emit(record)?;
            }
            Err(reason) => progress.bad(n, reason)?,
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: &str = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";

    fn pdq(record: &Record) -> Vec<(String, Option<u8>)> {
        record
            .hashes
            .iter()
            .map(|h| match h {
                HashValue::Pdq { hash, quality } => (crate::hex::encode(hash), *quality),
                other => panic!("not PDQ: {other:?}"),
            })
            .collect()
    }

    #[test]
    fn csv_forms() {
        let r = parse_csv_line(format!("{H},100,dir/a,b.jpg").as_bytes()).unwrap();
        assert_eq!(pdq(&r), vec![(H.to_string(), Some(100))]);
        assert_eq!(r.meta.file_name.as_deref(), Some(&b"dir/a,b.jpg"[..]));

        let upper = H.to_ascii_uppercase();
        let r = parse_csv_line(
            format!("hash={upper},norm=128,delta=0,quality=87,filename=x y").as_bytes(),
        )
        .unwrap();
        assert_eq!(pdq(&r), vec![(H.to_string(), Some(87))]);
        assert_eq!(r.meta.file_name.as_deref(), Some(&b"x y"[..]));

        let r = parse_csv_line(H.as_bytes()).unwrap();
        assert_eq!(pdq(&r), vec![(H.to_string(), None)]);

        let r = parse_csv_line(format!("{H}\tlabel only").as_bytes()).unwrap();
        assert_eq!(pdq(&r), vec![(H.to_string(), None)]);
        assert_eq!(r.meta.file_name.as_deref(), Some(&b"label only"[..]));

        let eight = [H; 8].join(",");
        let r = parse_csv_line(format!("{eight},90,f.png").as_bytes()).unwrap();
        assert_eq!(r.hashes.len(), 8);
    }

    #[test]
    fn csv_refusals() {
        let md5 = "d41d8cd98f00b204e9800998ecf8427e";
        assert!(parse_csv_line(format!("{md5},100,x").as_bytes()).unwrap_err().contains("MD5"));
        assert!(parse_csv_line(format!("{H},101,x").as_bytes()).unwrap_err().contains("range"));
        assert!(parse_csv_line(format!("{H},-1,x").as_bytes()).unwrap_err().contains("range"));
        assert!(parse_csv_line(format!("{H},9.5,x").as_bytes()).unwrap_err().contains("whole"));
        assert!(parse_csv_line(format!("{}g,1,x", &H[..63]).as_bytes()).is_err());
    }

    #[test]
    fn signal_lines() {
        assert!(is_pdq_signal_line(format!("PDQ {H}").as_bytes()));
        let r = parse_signal_line(format!("pdq {H}").as_bytes()).unwrap();
        assert_eq!(pdq(&r), vec![(H.to_string(), None)]);
        assert!(parse_signal_line(format!("video_md5 {H}").as_bytes()).is_err());
        assert!(parse_signal_line(b"pdq d41d8cd98f00b204e9800998ecf8427e").is_err());
    }
}
