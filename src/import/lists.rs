//! Line-oriented digest lists: GNU md5sum / sha1sum / sha256sum output, BSD tag lines
//! (`MD5 (name) = hash`, as BSD tools and `md5sum --tag` write them) and plain lists with one
//! hash per line.
//!
//! Blank lines and lines starting with `#` are skipped (neither tool writes them, but
//! hand-made lists have them).

use std::io::BufRead;

use super::{
    ImportError, Progress, Skip, for_each_line, kind_label, parse_digest, parse_digest_any, shown,
};
use crate::refset::{EntryMeta, HashKind, HashValue, Record};

/// A record for one hash line: the hash, the file name if any, the line number as source id.
fn line_record(hash: crate::refset::HashValue, name: Option<Vec<u8>>, line: u64) -> Record {
    Record {
        hashes: vec![hash],
        meta: EntryMeta {
            file_name: name.filter(|n| !n.is_empty()),
            source_id: Some(line.to_string()),
            ..EntryMeta::default()
        },
    }
}

/// Undoes GNU coreutils' escaping of names on lines that start with `\`: `\\`, `\n`, `\r`.
pub(crate) fn unescape_gnu(name: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(name.len());
    let mut bytes = name.iter();
    while let Some(&b) = bytes.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        match bytes.next() {
            Some(b'\\') => out.push(b'\\'),
            Some(b'n') => out.push(b'\n'),
            Some(b'r') => out.push(b'\r'),
            Some(&other) => {
                return Err(format!("invalid escape \\{} in an escaped name", other as char));
            }
            None => return Err("escaped name ends with a lone backslash".into()),
        }
    }
    Ok(out)
}

/// Splits an md5sum-style line into (hash field, name). Follows coreutils: optional leading
/// `\` (escaped name), the hash, one blank, then `' '` (text) or `'*'` (binary) and the name;
/// a single blank followed directly by the name (`md5 -r`) is accepted too.
pub(crate) fn split_sum_line(line: &[u8]) -> Result<(&[u8], Option<Vec<u8>>), String> {
    let line = line.trim_ascii_start();
    let (escaped, body) = match line.strip_prefix(b"\\") {
        Some(rest) => (true, rest),
        None => (false, line),
    };
    let Some(end) = body.iter().position(|&b| b == b' ' || b == b'\t') else {
        return Ok((body, None));
    };
    let hash = &body[..end];
    let mut rest = &body[end + 1..];
    if rest.len() > 1 && (rest[0] == b' ' || rest[0] == b'*') {
        rest = &rest[1..];
    }
    let name = if escaped { unescape_gnu(rest)? } else { rest.to_vec() };
    Ok((hash, Some(name)))
}

/// md5sum / sha1sum / sha256sum output: every hash must be of `kind`.
pub(crate) fn import_sums<R: BufRead + ?Sized>(
    input: &mut R,
    progress: &mut Progress<'_, '_>,
    kind: HashKind,
) -> Result<(), ImportError> {
    let expected = 2 * kind.value_len();
    for_each_line(input, progress, Skip::BlankAndComments, None, |progress, n, line| {
        let parsed = split_sum_line(line).and_then(|(hash, name)| {
            if hash.len() != expected {
                let guess = match hash.len() {
                    32 => " (an MD5: is this an md5sum file?)",
                    40 => " (a SHA-1: is this a sha1sum file?)",
                    64 => " (a SHA-256: is this a sha256sum file?)",
                    _ => "",
                };
                return Err(format!(
                    "expected a {} of {expected} hex characters, found {} characters{guess}: {}",
                    kind_label(kind),
                    hash.len(),
                    shown(hash)
                ));
            }
            Ok((parse_digest(kind, hash)?, name))
        });
        match parsed {
            Ok((hash, name)) => progress.emit(line_record(hash, name, n))?,
            Err(reason) => progress.bad(n, reason)?,
        }
        Ok(())
    })
}

/// An md5deep `-z` line's parts: the size, the hash field and the name.
pub(crate) type SizeLine<'a> = (u64, &'a [u8], Option<Vec<u8>>);

/// Splits an md5deep `-z` line (`SIZE  HASH  NAME`, the size right-aligned in 10 columns
/// or wider) into (size, hash field, name); `None` if the line does not start with a size
/// followed by a hex field.
pub(crate) fn split_size_line(line: &[u8]) -> Option<SizeLine<'_>> {
    let line = line.trim_ascii_start();
    let digits = line.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || digits > 20 || !line.get(digits).is_some_and(|&b| b == b' ' || b == b'\t') {
        return None;
    }
    let size = std::str::from_utf8(&line[..digits]).ok()?.parse::<u64>().ok()?;
    let rest = line[digits..].trim_ascii_start();
    let (hash, name) = split_sum_line(rest).ok()?;
    is_hex_field(hash).then_some((size, hash, name))
}

fn is_hex_field(field: &[u8]) -> bool {
    !field.is_empty() && field.iter().all(u8::is_ascii_hexdigit)
}

/// md5deep / sha1deep / sha256deep `-z` output: the file size before each hash, whose kind
/// comes from its length (32 MD5, 40 SHA-1, 64 SHA-256: the *deep tools print no PDQ).
pub(crate) fn import_size_lists<R: BufRead + ?Sized>(
    input: &mut R,
    progress: &mut Progress<'_, '_>,
) -> Result<(), ImportError> {
    for_each_line(input, progress, Skip::BlankAndComments, None, |progress, n, line| {
        let parsed = match split_size_line(line) {
            None => Err(format!(
                "expected \"SIZE  HASH  NAME\" (md5deep -z), found {}",
                shown(line.trim_ascii())
            )),
            Some((size, hash, name)) => parse_digest_any(hash).map(|h| (size, h, name)),
        };
        match parsed {
            Ok((size, hash, name)) => {
                let mut record = line_record(hash, name, n);
                record.meta.file_size = Some(size);
                progress.emit(record)?
            }
            Err(reason) => progress.bad(n, reason)?,
        }
        Ok(())
    })
}

/// A parsed BSD tag line.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct BsdLine<'a> {
    pub algorithm: &'a [u8],
    pub name: Vec<u8>,
    pub hash: &'a [u8],
}

/// Parses `ALGO (name) = hash` (also OpenSSL's `ALGO(name)= hash`), with coreutils' leading
/// `\` for escaped names.
pub(crate) fn parse_bsd_line(line: &[u8]) -> Result<BsdLine<'_>, String> {
    let line = line.trim_ascii();
    let (escaped, body) = match line.strip_prefix(b"\\") {
        Some(rest) => (true, rest),
        None => (false, line),
    };
    let open = body.iter().position(|&b| b == b'(').ok_or("no '(' after the algorithm name")?;
    let algorithm = body[..open].trim_ascii_end();
    if algorithm.is_empty() || !algorithm.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-') {
        return Err(format!("{} is not an algorithm name", shown(algorithm)));
    }
    // The hash never contains ")", so the last ")" closes the name even if the name has one.
    let close = body.iter().rposition(|&b| b == b')').ok_or("no ')' after the file name")?;
    if close <= open {
        return Err("no ')' after the file name".into());
    }
    let after = body[close + 1..].trim_ascii_start();
    let hash = after.strip_prefix(b"=").ok_or("no '=' before the hash")?.trim_ascii();
    let raw_name = &body[open + 1..close];
    let name = if escaped { unescape_gnu(raw_name)? } else { raw_name.to_vec() };
    if hash.is_empty() {
        return Err("no hash after '='".into());
    }
    Ok(BsdLine { algorithm, name, hash })
}

fn bsd_kind(algorithm: &[u8]) -> Option<HashKind> {
    let lower = algorithm.to_ascii_lowercase();
    match lower.as_slice() {
        b"md5" => Some(HashKind::Md5),
        b"sha1" | b"sha-1" => Some(HashKind::Sha1),
        b"sha256" | b"sha-256" | b"sha2-256" => Some(HashKind::Sha256),
        _ => None,
    }
}

/// BSD tag lines; MD5, SHA-1 and SHA-256 may be mixed in one file.
pub(crate) fn import_bsd<R: BufRead + ?Sized>(
    input: &mut R,
    progress: &mut Progress<'_, '_>,
) -> Result<(), ImportError> {
    for_each_line(input, progress, Skip::BlankAndComments, None, |progress, n, line| {
        let parsed = parse_bsd_line(line).and_then(|bsd| {
            let kind = bsd_kind(bsd.algorithm).ok_or_else(|| {
                format!("algorithm {} is not supported (MD5, SHA1 or SHA256)", shown(bsd.algorithm))
            })?;
            Ok((parse_digest(kind, bsd.hash)?, bsd.name))
        });
        match parsed {
            Ok((hash, name)) => progress.emit(line_record(hash, Some(name), n))?,
            Err(reason) => progress.bad(n, reason)?,
        }
        Ok(())
    })
}

/// The note a plain list with 64-hex values gets: the file does not say what they are.
pub(crate) const AMBIGUOUS_64_NOTE: &str = "64-hex values alone on a line are stored both as \
     SHA-256 and as PDQ (such a list does not say which it holds; a random SHA-256 value is \
     never within PDQ distance of a picture's hash); name the format (sha256sum or pdq-csv) \
     to store only one";

/// One hash per line; MD5, SHA-1 or SHA-256 by length. A 64-hex value is ambiguous
/// (ThreatExchange's PDQ lists look exactly like SHA-256 lists), so it is stored as both a
/// SHA-256 and a PDQ hash, never decided silently; `--format sha256sum` or `pdq-csv` stores
/// one kind only. The empty file's SHA-256 stays a SHA-256 alone, so that it is skipped and
/// counted like any other empty-file hash.
pub(crate) fn import_plain<R: BufRead + ?Sized>(
    input: &mut R,
    progress: &mut Progress<'_, '_>,
) -> Result<(), ImportError> {
    let mut noted = false;
    for_each_line(input, progress, Skip::BlankAndComments, None, |progress, n, line| {
        let field = line.trim_ascii();
        let parsed = if field.iter().any(|b| b.is_ascii_whitespace() || *b == b',') {
            Err(format!("expected one hash alone on the line, found {}", shown(field)))
        } else {
            parse_digest_any(field)
        };
        match parsed {
            Ok(HashValue::Sha256(bytes))
                if !super::is_empty_file_digest(&HashValue::Sha256(bytes)) =>
            {
                if !noted {
                    progress.summary_mut().notes.push(AMBIGUOUS_64_NOTE.to_string());
                    noted = true;
                }
                let mut record = line_record(HashValue::Sha256(bytes), None, n);
                record.hashes.push(HashValue::Pdq { hash: bytes, quality: None });
                progress.emit(record)?
            }
            Ok(hash) => progress.emit(line_record(hash, None, n))?,
            Err(reason) => progress.bad(n, reason)?,
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sum_lines_follow_coreutils() {
        let h = b"d41d8cd98f00b204e9800998ecf8427e";
        let text = [&h[..], b"  a b.txt"].concat();
        assert_eq!(split_sum_line(&text).unwrap(), (&h[..], Some(b"a b.txt".to_vec())));
        let binary = [&h[..], b" *bin"].concat();
        assert_eq!(split_sum_line(&binary).unwrap().1, Some(b"bin".to_vec()));
        let reversed = [&h[..], b" name"].concat();
        assert_eq!(split_sum_line(&reversed).unwrap().1, Some(b"name".to_vec()));
        let leading_space = [&h[..], b"   sp"].concat();
        assert_eq!(split_sum_line(&leading_space).unwrap().1, Some(b" sp".to_vec()));
        let escaped = [&b"\\"[..], h, b"  a\\nb\\\\c"].concat();
        assert_eq!(split_sum_line(&escaped).unwrap().1, Some(b"a\nb\\c".to_vec()));
        let bad_escape = [&b"\\"[..], h, b"  a\\qb"].concat();
        assert!(split_sum_line(&bad_escape).unwrap_err().contains("invalid escape"));
    }

    #[test]
    fn bsd_lines() {
        let ok = parse_bsd_line(b"SHA256 (dir/x (1).jpg) = ABCD").unwrap();
        assert_eq!(ok.algorithm, b"SHA256");
        assert_eq!(ok.name, b"dir/x (1).jpg");
        assert_eq!(ok.hash, b"ABCD");
        let openssl = parse_bsd_line(b"MD5(f)= 00").unwrap();
        assert_eq!((openssl.algorithm, openssl.hash), (&b"MD5"[..], &b"00"[..]));
        let sum_line = parse_bsd_line(b"d41d8cd98f00b204e9800998ecf8427e  x").err();
        assert_eq!(sum_line.as_deref(), Some("no '(' after the algorithm name"));
        let no_equals = parse_bsd_line(b"MD5 (x) 00").err();
        assert_eq!(no_equals.as_deref(), Some("no '=' before the hash"));
    }
}
