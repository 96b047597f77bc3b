//! hashdeep known-file format (jessek/hashdeep 4.4, `FILEFORMAT`):
//!
//! ```text
//! %%%% HASHDEEP-1.0
//! %%%% size,md5,sha256,filename
//! ## comments
//! 5,ae5b468c...,4677942d...,/path/name, with commas
//! ```
//!
//! The first column is `size`, the last `filename`; extra commas belong to the file name.
//! Tiger and Whirlpool columns are read past (mediahash does not store them). A later
//! `%%%% ` header (concatenated outputs) replaces the column list.

use std::io::BufRead;

use super::{ImportError, Progress, Skip, for_each_line, parse_digest, shown};
use crate::refset::{HashKind, Record};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Size,
    Digest(HashKind),
    /// A hash kind mediahash does not store (tiger, whirlpool).
    Skipped,
    FileName,
}

/// Parses the `%%%% size,...,filename` column header.
fn parse_columns(spec: &[u8]) -> Result<Vec<Column>, String> {
    let text = std::str::from_utf8(spec).map_err(|_| "the column header is not text")?;
    let columns: Vec<Column> = text
        .split(',')
        .map(|name| match name.trim().to_ascii_lowercase().as_str() {
            "size" => Ok(Column::Size),
            "md5" => Ok(Column::Digest(HashKind::Md5)),
            "sha1" | "sha-1" => Ok(Column::Digest(HashKind::Sha1)),
            "sha256" | "sha-256" => Ok(Column::Digest(HashKind::Sha256)),
            "tiger" | "whirlpool" => Ok(Column::Skipped),
            "filename" => Ok(Column::FileName),
            other => Err(format!("unknown column {other:?} in the header")),
        })
        .collect::<Result<_, _>>()?;
    if columns.first() != Some(&Column::Size) || columns.last() != Some(&Column::FileName) {
        return Err(format!(
            "the column header {} must start with size and end with filename",
            shown(spec)
        ));
    }
    if !columns.iter().any(|c| matches!(c, Column::Digest(_))) {
        return Err("the column header names no md5, sha1 or sha256 column".into());
    }
    Ok(columns)
}

fn parse_line(line: &[u8], columns: &[Column]) -> Result<Record, String> {
    let mut record = Record::default();
    let mut rest = line;
    for (i, column) in columns.iter().enumerate() {
        let field = if *column == Column::FileName {
            std::mem::take(&mut rest)
        } else {
            let Some(comma) = rest.iter().position(|&b| b == b',') else {
                return Err(format!(
                    "expected {} comma-separated fields, found {}",
                    columns.len(),
                    i + 1
                ));
            };
            let field = &rest[..comma];
            rest = &rest[comma + 1..];
            field
        };
        match *column {
            Column::Size => {
                let size = std::str::from_utf8(field)
                    .ok()
                    .and_then(|s| s.parse::<u64>().ok())
                    .ok_or_else(|| format!("size {} is not a whole number", shown(field)))?;
                record.meta.file_size = Some(size);
            }
            Column::Digest(kind) => record.hashes.push(parse_digest(kind, field)?),
            Column::Skipped => {}
            Column::FileName => {
                record.meta.file_name = (!field.is_empty()).then(|| field.to_vec());
            }
        }
    }
    Ok(record)
}

pub(crate) fn import<R: BufRead + ?Sized>(
    input: &mut R,
    progress: &mut Progress<'_, '_>,
) -> Result<(), ImportError> {
    let mut columns: Option<Vec<Column>> = None;
    let mut saw_magic = false;
    for_each_line(input, progress, Skip::Blank, None, |progress, n, line| {
        if let Some(header) = line.strip_prefix(b"%%%% ") {
            let header = header.trim_ascii();
            if header.starts_with(b"HASHDEEP-") {
                if header != b"HASHDEEP-1.0" {
                    return Err(progress.wrong_schema(format!(
                        "line {n}: unsupported version {} (only HASHDEEP-1.0 is known)",
                        shown(header)
                    )));
                }
                saw_magic = true;
                return Ok(());
            }
            if !saw_magic {
                return Err(progress.wrong_schema(NOT_HASHDEEP));
            }
            columns = Some(
                parse_columns(header)
                    .map_err(|why| progress.wrong_schema(format!("line {n}: {why}")))?,
            );
            return Ok(());
        }
        if line.starts_with(b"#") {
            return Ok(());
        }
        let Some(columns) = columns.as_deref() else {
            return Err(progress.wrong_schema(NOT_HASHDEEP));
        };
        let mut parsed = parse_line(line, columns);
        if let Ok(record) = parsed.as_mut() {
            record.meta.source_id = Some(n.to_string());
        }
        match parsed {
            Ok(record) => progress.emit(record)?,
            Err(reason) => progress.bad(n, reason)?,
        }
        Ok(())
    })?;
    if columns.is_none() {
        return Err(progress.wrong_schema(NOT_HASHDEEP));
    }
    Ok(())
}

/// Why a source is not hashdeep output: no header before the first record (or at all).
const NOT_HASHDEEP: &str = "a hashdeep file starts with the lines \"%%%% HASHDEEP-1.0\" and \
                            \"%%%% size,<hashes>,filename\"";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns() {
        let c = parse_columns(b"size,md5,sha-1,tiger,filename").unwrap();
        assert_eq!(c.len(), 5);
        assert_eq!(c[2], Column::Digest(HashKind::Sha1));
        assert!(parse_columns(b"md5,size,filename").is_err());
        assert!(parse_columns(b"size,filename").is_err());
        assert!(parse_columns(b"size,crc,filename").is_err());
    }

    #[test]
    fn names_keep_commas() {
        let cols = parse_columns(b"size,md5,filename").unwrap();
        let r = parse_line(b"5,ae5b468c7707a1f3d36c49b1fe2ef850,/a,b,c", &cols).unwrap();
        assert_eq!(r.meta.file_name.as_deref(), Some(&b"/a,b,c"[..]));
        assert_eq!(r.meta.file_size, Some(5));
        assert!(parse_line(b"5", &cols).unwrap_err().contains("expected 3"));
        assert!(parse_line(b"x,ae5b468c7707a1f3d36c49b1fe2ef850,n", &cols).is_err());
    }
}
