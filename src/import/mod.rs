//! Importers for the hash-set formats examiners receive.
//!
//! Every importer streams: it turns each source record into a [`Record`] and hands it to a
//! caller-supplied sink (in `mh refset build`, the `.mhset` builder), so memory stays bounded
//! by one record whatever the size of the source (multi-GB VICS JSON, 180 GB NSRL databases).
//! Lines or records that cannot be used are counted and reported as [`BadRecord`]s, never
//! dropped silently, and abort the import only in strict mode.
//!
//! * [`vics`]: Project VIC VICS JSON 1.x (`odata.metadata`) and 2.0 (`@odata.context`),
//!   hash-set (`value[]`) and case (`value[].Media[]`) shapes.
//! * [`nsrl`]: NIST NSRL RDSv3 SQLite (minimal and full layouts) and RDS 2.x `NSRLFile.txt`
//!   (plain or zipped).
//! * [`hashdeep`]: `%%%% HASHDEEP-1.0` files.
//! * [`lists`]: md5sum / sha1sum / sha256sum, BSD tag lines, plain one-hash-per-line lists.
//! * [`pdqlist`]: PDQ lists (`hash,quality,name` CSV and `pdq <hex>` lines).
//! * [`encase`]: EnCase (v6) `.hash` binary sets.
//! * [`legacy`]: HashKeeper `.hsh` and iLook v1/v3/v4 `.hsh` CSV sets.
//! * md5deep `-z` size lists (`SIZE  HASH  NAME`), in [`lists`].
//!
//! [`policy::check_usable`] is the one rule for a source too damaged to build from.

pub mod encase;
pub mod hashdeep;
pub mod legacy;
pub mod lists;
pub mod nsrl;
pub mod pdqlist;
pub mod pictures;
pub mod policy;
pub mod vics;
pub mod vpdq;

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Cursor, Read};
use std::path::Path;
use std::str::FromStr;

use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::refset::{BadRecord, Disposition, HashKind, HashValue, Record, SourceInfo};

/// The source formats the importers read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Format {
    /// Project VIC VICS JSON (1.x or 2.0; hash-set or case shape).
    VicsJson,
    /// NIST NSRL RDSv3 SQLite database (minimal or full layout).
    NsrlRdsV3,
    /// NIST NSRL RDS 2.x `NSRLFile.txt`, plain or inside a zip.
    NsrlRds2Txt,
    /// hashdeep `%%%% HASHDEEP-1.0` file.
    Hashdeep,
    /// GNU `md5sum` output.
    Md5sum,
    /// GNU `sha1sum` output.
    Sha1sum,
    /// GNU `sha256sum` output.
    Sha256sum,
    /// BSD / `--tag` lines: `MD5 (name) = hash`.
    BsdTag,
    /// One MD5, SHA-1 or SHA-256 per line (kind from length); 64-hex values, which may
    /// equally be PDQ hashes, are stored as both SHA-256 and PDQ.
    HashList,
    /// PDQ CSV: `hash,quality,name` (pdq-photo-hasher), `hash=...` or bare hashes.
    PdqCsv,
    /// ThreatExchange local-file signals: `pdq <hex>`.
    PdqLines,
    /// EnCase v6 binary `.hash` set (MD5 only).
    EncaseHash,
    /// HashKeeper `.hsh` CSV (MD5 per file record).
    HashKeeper,
    /// iLook `.hsh` CSV, v1, v3 or v4 (MD5, SHA-1, SHA-256).
    Ilook,
    /// md5deep / sha1deep / sha256deep `-z` lists: `SIZE  HASH  NAME`.
    Md5deepSize,
}

impl Format {
    /// Every format, in the order detection messages and `--format` help list them.
    pub const ALL: [Format; 15] = [
        Format::VicsJson,
        Format::NsrlRdsV3,
        Format::NsrlRds2Txt,
        Format::Hashdeep,
        Format::Md5sum,
        Format::Sha1sum,
        Format::Sha256sum,
        Format::BsdTag,
        Format::HashList,
        Format::PdqCsv,
        Format::PdqLines,
        Format::EncaseHash,
        Format::HashKeeper,
        Format::Ilook,
        Format::Md5deepSize,
    ];

    /// The name used by `--format` and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::VicsJson => "vics-json",
            Format::NsrlRdsV3 => "nsrl-rdsv3-sqlite",
            Format::NsrlRds2Txt => "nsrl-rds2-txt",
            Format::Hashdeep => "hashdeep",
            Format::Md5sum => "md5sum",
            Format::Sha1sum => "sha1sum",
            Format::Sha256sum => "sha256sum",
            Format::BsdTag => "bsd-tag",
            Format::HashList => "hash-list",
            Format::PdqCsv => "pdq-csv",
            Format::PdqLines => "pdq-lines",
            Format::EncaseHash => "encase-hash",
            Format::HashKeeper => "hashkeeper",
            Format::Ilook => "ilook",
            Format::Md5deepSize => "md5deep-size",
        }
    }

    /// All format names, comma-separated, for messages.
    pub fn all_names() -> String {
        Format::ALL.iter().map(|f| f.as_str()).collect::<Vec<_>>().join(", ")
    }

    /// Whether the format can be read from any byte stream by [`import_reader`]. NSRL RDSv3
    /// cannot (SQLite needs a file); neither can a zipped `NSRLFile.txt`, which only the
    /// content tells apart from a plain one, so `true` here is not a promise for it.
    pub fn is_streamable(self) -> bool {
        !matches!(self, Format::NsrlRdsV3)
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = ImportError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        if let Some(format) = Format::ALL.iter().find(|f| f.as_str() == lower) {
            return Ok(*format);
        }
        // Short aliases examiners are likely to type.
        let format = match lower.as_str() {
            "vics" | "vic" | "json" => Format::VicsJson,
            "nsrl" | "rdsv3" | "nsrl-rdsv3" | "sqlite" => Format::NsrlRdsV3,
            "rds2" | "nsrl-rds2" | "nsrlfile" | "nsrl-txt" => Format::NsrlRds2Txt,
            "bsd" | "tag" => Format::BsdTag,
            "list" | "hashlist" => Format::HashList,
            "pdq" => Format::PdqCsv,
            "encase" => Format::EncaseHash,
            "hk" | "hke" => Format::HashKeeper,
            "ilook-hsh" | "ilook-v3" | "ilook-v4" => Format::Ilook,
            "md5deep-z" | "size-list" => Format::Md5deepSize,
            _ => {
                return Err(ImportError::UnknownFormatName {
                    given: s.to_string(),
                    known: Format::all_names(),
                });
            }
        };
        Ok(format)
    }
}

/// Everything that can stop an import. Bad records do not: they are counted in the
/// [`ImportSummary`] unless [`ImportOptions::strict`] is set.
#[derive(Debug, Error)]
#[non_exhaustive]
///
/// In every variant, `path` is the source as the caller named it (the path, or the `name`
/// given to [`import_reader`]).
pub enum ImportError {
    /// The source could not be opened or read (a read error ends the import: a partly read
    /// source would give a set that silently lacks records).
    #[error("cannot read {path}: {source}; check the path and permissions")]
    Io {
        /// The source.
        path: String,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// Detection recognised none of the formats; the caller should name the format.
    #[error(
        "{path} is in none of the known formats: {tried} ({reason}); if you know the format, \
         name it with --format"
    )]
    UnknownFormat {
        /// The source.
        path: String,
        /// The format names tried, comma-separated ([`Format::all_names`]).
        tried: String,
        /// What the content looked like instead (empty, binary, UTF-16, no hash line...).
        reason: String,
    },
    /// A format name (`--format`, [`Format::from_str`]) matches no format or alias.
    #[error("unknown format name {given:?}; use one of: {known}")]
    UnknownFormatName {
        /// The name as given.
        given: String,
        /// The accepted names, comma-separated.
        known: String,
    },
    /// VICS JSON that is not valid JSON (often a truncated download). Records before the
    /// error were already delivered to the sink.
    #[error(
        "{path}: not valid JSON at line {line}, column {column}: {message}; the file may be \
         truncated or not a VICS JSON file"
    )]
    Json {
        /// The source.
        path: String,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// The JSON parser's message.
        message: String,
    },
    /// SQLite could not open or read the NSRL RDSv3 database (damaged, or truncated after
    /// its header). Records before the error were already delivered to the sink.
    #[error(
        "{path}: SQLite error while {action}: {source}; check that this is an undamaged NSRL \
         RDSv3 database"
    )]
    Sqlite {
        /// The source.
        path: String,
        /// What was being done, e.g. "opening the database read-only".
        action: &'static str,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
    /// The source is not in the layout of the format it was detected as or named (an NSRL
    /// database without its `FILE` table or columns, a hashdeep file without its header, a
    /// VICS document without `value`). If the format was named, check the name.
    #[error("{path}: not the expected layout for {format}: {what}")]
    WrongSchema {
        /// The source.
        path: String,
        /// The format's name ([`Format::as_str`]).
        format: &'static str,
        /// What is missing or unexpected.
        what: String,
    },
    /// The first bad record, when [`ImportOptions::strict`] is set.
    #[error(
        "{path}: line {line}: {reason}; strict mode stops at the first bad record (run without \
         --strict to skip and count bad records)"
    )]
    Strict {
        /// The source.
        path: String,
        /// 1-based line (or record index, for structured formats).
        line: u64,
        /// Why the record is bad.
        reason: String,
    },
    /// [`import_reader`] was given a format that needs a seekable file (NSRL RDSv3 SQLite, a
    /// zipped `NSRLFile.txt`); use [`import_path`].
    #[error("{path}: the reader cannot seek, but {format} needs a file; import it by path")]
    NeedsPath {
        /// The source.
        path: String,
        /// The format's name.
        format: &'static str,
    },
    /// A zipped RDS 2.x `NSRLFile.txt` whose archive cannot be read (a zip without
    /// `NSRLFile.txt` is [`ImportError::UnknownFormat`]).
    #[error("{path}: cannot read the zip archive: {source}")]
    Zip {
        /// The source.
        path: String,
        /// The zip reader's error.
        #[source]
        source: zip::result::ZipError,
    },
    /// The sink returned an error (e.g. the `.mhset` builder could not write its scratch
    /// files); made with [`ImportError::sink`].
    #[error("the record consumer stopped the import: {source}")]
    Sink {
        /// The sink's own error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl ImportError {
    /// Wraps an error of the record consumer (e.g. the `.mhset` builder).
    pub fn sink(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        ImportError::Sink { source: source.into() }
    }

    pub(crate) fn io(path: &str, source: io::Error) -> Self {
        ImportError::Io { path: path.to_string(), source }
    }
}

/// How strict an import is, and how much of the bad-record detail is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportOptions {
    /// Stop with [`ImportError::Strict`] at the first bad record.
    pub strict: bool,
    /// Keep the first N bad records with line and reason; all are counted.
    pub max_bad_records_kept: usize,
    /// Keep the MD5/SHA-1/SHA-256 of the empty file. Off by default: every empty file on a
    /// disk would match it (IPED and TSK skip them too); skipped values are counted.
    pub keep_empty_file_hashes: bool,
    /// PDQ CSV ([`Format::PdqCsv`]) only: the column holding the hash, when it is not the
    /// first (a header naming it `hash` or `pdq` is found without this).
    pub pdq_column: Option<pdqlist::PdqColumn>,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            strict: false,
            max_bad_records_kept: 100,
            keep_empty_file_hashes: false,
            pdq_column: None,
        }
    }
}

/// What an import read: counts, the first bad records, and the source's identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportSummary {
    /// The format read (detected or given).
    pub format: Format,
    /// Format with the version the file declares, e.g. "vics-json-2.0", "nsrl-rdsv3-sqlite".
    pub format_label: String,
    /// Records handed to the sink.
    pub records: u64,
    /// Records refused (all counted; the first ones in `bad_examples`).
    pub bad_records: u64,
    /// The first [`ImportOptions::max_bad_records_kept`] bad records, with line and reason.
    pub bad_examples: Vec<BadRecord>,
    /// Records whose only hashes were those of the empty file (see
    /// [`ImportOptions::keep_empty_file_hashes`]).
    pub empty_file_records_skipped: u64,
    /// Version the source states (NSRL VERSION row, VICS data-model version).
    pub source_version: Option<String>,
    /// The source's own identity text, verbatim (VICS context URL, NSRL VERSION row, EnCase
    /// set name).
    pub source_description: Option<String>,
    /// Observations worth showing the examiner (profile, layout, ignored fields...).
    pub notes: Vec<String>,
    /// SHA-256 of the source file's bytes.
    pub sha256: [u8; 32],
    /// Size of the source file in bytes.
    pub bytes: u64,
}

impl ImportSummary {
    /// The provenance entry for this source, for the `.mhset` builder.
    pub fn source_info(&self, name: &str, disposition: Disposition, set_name: &str) -> SourceInfo {
        SourceInfo {
            name: name.to_string(),
            format: self.format_label.clone(),
            sha256: crate::hex::encode(&self.sha256),
            disposition,
            set_name: set_name.to_string(),
            records: self.records,
            bad_records: self.bad_records,
            empty_file_records_skipped: self.empty_file_records_skipped,
            source_version: self.source_version.clone(),
        }
    }
}

/// The record consumer: called once per accepted record, in source order. An `Err` stops
/// the import and is returned as is (wrap foreign errors with [`ImportError::sink`]).
pub type Sink<'a> = dyn FnMut(Record) -> Result<(), ImportError> + 'a;

/// How many bytes detection looks at.
const SNIFF_BYTES: usize = 64 * 1024;
/// How many meaningful text lines detection tries before giving up.
const SNIFF_LINES: usize = 16;
/// Lines longer than this are reported as bad and skipped, so a file without newlines
/// cannot exhaust memory.
pub(crate) const MAX_LINE_BYTES: usize = 1 << 20;

const SQLITE_MAGIC: &[u8] = b"SQLite format 3\0";
const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

fn display(path: &Path) -> String {
    path.display().to_string()
}

/// Detects which hash-set format (VICS, NSRL, md5sum, ...) the file at `path` holds, from its
/// content (the first 64 KiB; the file name plays no part). Not to be confused with
/// [`crate::decode::detect_format`], which recognises image formats.
///
/// # Errors
/// [`ImportError::Io`] if the file cannot be read; [`ImportError::UnknownFormat`] (saying
/// what the content looked like) if no format fits; [`ImportError::Zip`] for a zip that
/// cannot be read.
pub fn detect_source_format(path: &Path) -> Result<Format, ImportError> {
    let name = display(path);
    let file = File::open(path).map_err(|e| ImportError::io(&name, e))?;
    let mut prefix = Vec::with_capacity(SNIFF_BYTES);
    file.take(SNIFF_BYTES as u64)
        .read_to_end(&mut prefix)
        .map_err(|e| ImportError::io(&name, e))?;
    if prefix.starts_with(ZIP_MAGIC) {
        return nsrl::zip_entry_name(path).map(|_| Format::NsrlRds2Txt);
    }
    detect_source_format_bytes(&prefix, &name)
}

/// As [`detect_source_format`], from the first bytes of a source (64 KiB is plenty); `name`
/// is used in the error message.
pub fn detect_source_format_bytes(prefix: &[u8], name: &str) -> Result<Format, ImportError> {
    let unknown = |reason: String| ImportError::UnknownFormat {
        path: name.to_string(),
        tried: Format::all_names(),
        reason,
    };
    if prefix.starts_with(SQLITE_MAGIC) {
        return Ok(Format::NsrlRdsV3);
    }
    if prefix.starts_with(encase::MAGIC) {
        return Ok(Format::EncaseHash);
    }
    if prefix.starts_with(ZIP_MAGIC) {
        // A zip can only be checked for NSRLFile.txt by path; import_path does that.
        return Ok(Format::NsrlRds2Txt);
    }
    if prefix.is_empty() {
        return Err(unknown("the file is empty".into()));
    }
    if prefix.starts_with(b"\xFF\xFE") || prefix.starts_with(b"\xFE\xFF") {
        return Err(unknown("UTF-16 text; convert it to UTF-8 first".into()));
    }
    if let Some(kind) = binary_kind(prefix) {
        return Err(unknown(kind));
    }
    let text = prefix.strip_prefix(UTF8_BOM).unwrap_or(prefix);
    match text.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') | Some(b'[') => return Ok(Format::VicsJson),
        None => return Err(unknown("the file holds only white space".into())),
        Some(_) => {}
    }
    let mut tried_lines = 0;
    // The last line of the prefix may be cut short: only classify complete ones, unless the
    // prefix is the whole file.
    let complete = match text.iter().rposition(|&b| b == b'\n') {
        Some(end) if prefix.len() == SNIFF_BYTES => &text[..end],
        _ => text,
    };
    let mut column_hint = None;
    for raw in complete.split(|&b| b == b'\n') {
        let line = raw.strip_suffix(b"\r").unwrap_or(raw).trim_ascii();
        if line.is_empty() || line.starts_with(b"#") {
            continue;
        }
        if let Some(format) = classify_line(line) {
            return Ok(format);
        }
        column_hint = column_hint.or_else(|| hex64_column(line));
        tried_lines += 1;
        if tried_lines >= SNIFF_LINES {
            break;
        }
    }
    let mut reason =
        format!("none of the first {tried_lines} non-empty lines looks like a hash line");
    if let Some(column) = column_hint {
        reason.push_str(&format!(
            "; column {column} holds 64-hex values: if they are PDQ hashes, use --format pdq-csv \
             --pdq-column {column}"
        ));
    }
    Err(unknown(reason))
}

/// The 1-based column (after the first) of a comma- or tab-separated line that holds a
/// 64-hex value, for the hint of an unrecognised file.
fn hex64_column(line: &[u8]) -> Option<usize> {
    let delimiter = if line.contains(&b'\t') && !line.contains(&b',') { b'\t' } else { b',' };
    let fields = legacy::split_csv(line, delimiter).ok()?;
    let position = fields.iter().skip(1).position(|f| {
        let f = f.trim_ascii();
        f.len() == 64 && f.iter().all(u8::is_ascii_hexdigit)
    })?;
    Some(position + 2)
}

/// Names well-known binary content, or says "binary" when the prefix holds NUL bytes.
fn binary_kind(prefix: &[u8]) -> Option<String> {
    let named = [
        (&b"\x89PNG\r\n\x1a\n"[..], "a PNG image"),
        (&b"\xFF\xD8\xFF"[..], "a JPEG image"),
        (&b"GIF8"[..], "a GIF image"),
        (&b"%PDF"[..], "a PDF document"),
    ];
    for (magic, what) in named {
        if prefix.starts_with(magic) {
            return Some(format!("the content is {what}, not a hash set"));
        }
    }
    if prefix.contains(&0) {
        let shown: Vec<String> = prefix.iter().take(8).map(|b| format!("{b:02x}")).collect();
        return Some(format!("binary content (starts with {})", shown.join(" ")));
    }
    None
}

fn is_hex(field: &[u8]) -> bool {
    !field.is_empty() && field.iter().all(u8::is_ascii_hexdigit)
}

/// The format one text line suggests, if any.
fn classify_line(line: &[u8]) -> Option<Format> {
    if line.starts_with(b"%%%% HASHDEEP") {
        return Some(Format::Hashdeep);
    }
    if nsrl::is_rds2_header(line) {
        return Some(Format::NsrlRds2Txt);
    }
    if legacy::is_hashkeeper_header(line) {
        return Some(Format::HashKeeper);
    }
    if legacy::ilook_version(line).is_some() {
        return Some(Format::Ilook);
    }
    if pdqlist::is_pdq_signal_line(line) {
        return Some(Format::PdqLines);
    }
    if line.len() >= 5 && line[..5].eq_ignore_ascii_case(b"hash=") {
        return Some(Format::PdqCsv);
    }
    let body = line.strip_prefix(b"\\").unwrap_or(line);
    let end = body.iter().position(|&b| b == b' ' || b == b'\t' || b == b',');
    let token = &body[..end.unwrap_or(body.len())];
    if is_hex(token) {
        let by_token = match (token.len(), end.map(|i| body[i])) {
            (64, Some(b',' | b'\t')) => Some(Format::PdqCsv),
            (32 | 40 | 64, None) => Some(Format::HashList),
            (32, Some(_)) => Some(Format::Md5sum),
            (40, Some(_)) => Some(Format::Sha1sum),
            (64, Some(_)) => Some(Format::Sha256sum),
            _ => None,
        };
        if by_token.is_some() {
            return by_token;
        }
    }
    if lists::split_size_line(line).is_some_and(|(_, hash, _)| matches!(hash.len(), 32 | 40 | 64)) {
        return Some(Format::Md5deepSize);
    }
    // After the hash-first forms, so that an md5sum name like "(a) = b" stays md5sum.
    lists::parse_bsd_line(line).is_ok().then_some(Format::BsdTag)
}

/// Imports the file at `path`, detecting its format unless `format` is given. Records go to
/// `sink` in source order; the SHA-256 of the file is computed on the way.
///
/// Records are streamed, so an error (truncated JSON, a read error, strict mode, a sink
/// error) can come after some records were delivered: on `Err` the caller discards what the
/// sink received.
pub fn import_path(
    path: &Path,
    format: Option<Format>,
    opts: &ImportOptions,
    sink: &mut Sink<'_>,
) -> Result<ImportSummary, ImportError> {
    let name = display(path);
    check_source_file(path, format.is_some())?;
    let format = match format {
        Some(format) => format,
        None => detect_source_format(path)?,
    };
    match format {
        Format::NsrlRdsV3 => nsrl::import_rdsv3(path, opts, sink),
        Format::NsrlRds2Txt if starts_with(path, ZIP_MAGIC)? => {
            nsrl::import_rds2_zip(path, opts, sink)
        }
        _ => {
            let file = File::open(path).map_err(|e| ImportError::io(&name, e))?;
            let mut summary = import_stream(file, &name, format, opts, sink)?;
            if format == Format::HashKeeper {
                // The set's name lives in the companion .hke file, when it came along.
                summary.source_description = legacy::hke_description(path);
            }
            Ok(summary)
        }
    }
}

/// Refuses a source that is a directory, a device (`/dev/zero` never ends) or a socket,
/// saying what it is. A FIFO (`<(zcat list.gz)`) is read only when the format is named:
/// detection would consume the bytes it looks at.
fn check_source_file(path: &Path, format_named: bool) -> Result<(), ImportError> {
    use crate::openfile::NotRegularFile;
    let name = display(path);
    // Opened non-blocking: a FIFO without a writer must not hang the check.
    let error = match crate::openfile::open_regular(path, 0) {
        Ok(_) => return Ok(()),
        Err(e) => match NotRegularFile::of(&e) {
            Some(NotRegularFile { kind: "fifo" }) if format_named => return Ok(()),
            Some(NotRegularFile { kind: "fifo" }) => {
                return Err(ImportError::UnknownFormat {
                    path: name,
                    tried: Format::all_names(),
                    reason: "it is a FIFO (pipe), which cannot be read twice, once to detect \
                             its format and once to import it"
                        .into(),
                });
            }
            _ => e,
        },
    };
    Err(ImportError::io(&name, error))
}

fn starts_with(path: &Path, magic: &[u8]) -> Result<bool, ImportError> {
    let file = File::open(path).map_err(|e| ImportError::io(&display(path), e))?;
    let mut head = Vec::with_capacity(magic.len());
    file.take(magic.len() as u64)
        .read_to_end(&mut head)
        .map_err(|e| ImportError::io(&display(path), e))?;
    Ok(head == magic)
}

/// Imports a source from any reader (every format but NSRL RDSv3 SQLite and zipped
/// NSRLFile.txt, which need a file: use [`import_path`]). `name` labels errors. The
/// summary's `sha256` and `bytes` cover every byte of the reader, also those after the
/// last record. Errors as [`import_path`], plus [`ImportError::NeedsPath`].
///
/// ```
/// use mediahash::import::{import_reader, Format, ImportOptions};
/// use mediahash::refset::{HashKind, Record};
///
/// let list = b"pdq f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22\n";
/// let mut records: Vec<Record> = Vec::new();
/// let summary = import_reader(&list[..], "signals.txt", None, &ImportOptions::default(),
///     &mut |record| {
///         records.push(record);
///         Ok(())
///     })?;
/// assert_eq!(summary.format, Format::PdqLines);
/// assert_eq!(records.len(), 1);
/// assert_eq!(records[0].hashes[0].kind(), HashKind::Pdq);
/// # Ok::<(), mediahash::import::ImportError>(())
/// ```
pub fn import_reader<R: Read>(
    reader: R,
    name: &str,
    format: Option<Format>,
    opts: &ImportOptions,
    sink: &mut Sink<'_>,
) -> Result<ImportSummary, ImportError> {
    let mut hashing = HashingReader::new(reader);
    let mut prefix = Vec::with_capacity(SNIFF_BYTES);
    (&mut hashing)
        .take(SNIFF_BYTES as u64)
        .read_to_end(&mut prefix)
        .map_err(|e| ImportError::io(name, e))?;
    let format = match format {
        Some(format) => format,
        None => detect_source_format_bytes(&prefix, name)?,
    };
    if !format.is_streamable() || (format == Format::NsrlRds2Txt && prefix.starts_with(ZIP_MAGIC)) {
        return Err(ImportError::NeedsPath { path: name.to_string(), format: format.as_str() });
    }
    let stream = Cursor::new(prefix).chain(&mut hashing);
    import_stream_inner(stream, name, format, opts, sink, move |mut rest| {
        io::copy(&mut rest, &mut io::sink()).map_err(|e| ImportError::io(name, e))?;
        Ok(())
    })
    .map(|mut summary| {
        (summary.sha256, summary.bytes) = hashing.finish();
        summary
    })
}

fn import_stream<R: Read>(
    reader: R,
    name: &str,
    format: Format,
    opts: &ImportOptions,
    sink: &mut Sink<'_>,
) -> Result<ImportSummary, ImportError> {
    let mut hashing = HashingReader::new(reader);
    let mut summary = import_stream_inner(&mut hashing, name, format, opts, sink, |mut rest| {
        io::copy(&mut rest, &mut io::sink()).map_err(|e| ImportError::io(name, e))?;
        Ok(())
    })?;
    (summary.sha256, summary.bytes) = hashing.finish();
    Ok(summary)
}

/// Runs the streaming importer for `format`; `drain` reads whatever the importer left, so the
/// file hash covers every byte.
fn import_stream_inner<R: Read>(
    reader: R,
    name: &str,
    format: Format,
    opts: &ImportOptions,
    sink: &mut Sink<'_>,
    drain: impl FnOnce(&mut dyn BufRead) -> Result<(), ImportError>,
) -> Result<ImportSummary, ImportError> {
    let mut input = BufReader::with_capacity(crate::digest::READ_BUFFER_SIZE, reader);
    let mut progress = Progress::new(name, format, opts, sink);
    match format {
        Format::VicsJson => vics::import(&mut input, &mut progress)?,
        Format::NsrlRds2Txt => nsrl::import_rds2_lines(&mut input, &mut progress)?,
        Format::Hashdeep => hashdeep::import(&mut input, &mut progress)?,
        Format::Md5sum => lists::import_sums(&mut input, &mut progress, HashKind::Md5)?,
        Format::Sha1sum => lists::import_sums(&mut input, &mut progress, HashKind::Sha1)?,
        Format::Sha256sum => lists::import_sums(&mut input, &mut progress, HashKind::Sha256)?,
        Format::BsdTag => lists::import_bsd(&mut input, &mut progress)?,
        Format::HashList => lists::import_plain(&mut input, &mut progress)?,
        Format::PdqCsv => pdqlist::import_csv(&mut input, &mut progress)?,
        Format::PdqLines => pdqlist::import_signals(&mut input, &mut progress)?,
        Format::EncaseHash => encase::import(&mut input, &mut progress)?,
        Format::HashKeeper => legacy::import_hashkeeper(&mut input, &mut progress)?,
        Format::Ilook => legacy::import_ilook(&mut input, &mut progress)?,
        Format::Md5deepSize => lists::import_size_lists(&mut input, &mut progress)?,
        Format::NsrlRdsV3 => {
            return Err(ImportError::NeedsPath { path: name.to_string(), format: format.as_str() });
        }
    }
    drain(&mut input)?;
    Ok(progress.finish())
}

/// Feeds SHA-256 with every byte read through it.
pub(crate) struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    bytes: u64,
}

impl<R: Read> HashingReader<R> {
    pub(crate) fn new(inner: R) -> Self {
        HashingReader { inner, hasher: Sha256::new(), bytes: 0 }
    }

    pub(crate) fn finish(self) -> ([u8; 32], u64) {
        (self.hasher.finalize().into(), self.bytes)
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

/// Counting, bad-record bookkeeping and the sink, shared by every importer.
pub(crate) struct Progress<'s, 'k> {
    pub(crate) name: String,
    pub(crate) opts: &'s ImportOptions,
    sink: &'s mut Sink<'k>,
    summary: ImportSummary,
}

impl<'s, 'k> Progress<'s, 'k> {
    pub(crate) fn new(
        name: &str,
        format: Format,
        opts: &'s ImportOptions,
        sink: &'s mut Sink<'k>,
    ) -> Self {
        Progress {
            name: name.to_string(),
            opts,
            sink,
            summary: ImportSummary {
                format,
                format_label: format.as_str().to_string(),
                records: 0,
                bad_records: 0,
                bad_examples: Vec::new(),
                empty_file_records_skipped: 0,
                source_version: None,
                source_description: None,
                notes: Vec::new(),
                sha256: [0; 32],
                bytes: 0,
            },
        }
    }

    /// Hands one record to the sink (after dropping empty-file digests unless kept).
    pub(crate) fn emit(&mut self, mut record: Record) -> Result<(), ImportError> {
        if !self.opts.keep_empty_file_hashes {
            let before = record.hashes.len();
            record.hashes.retain(|h| !is_empty_file_digest(h));
            if record.hashes.is_empty() && before > 0 {
                self.summary.empty_file_records_skipped += 1;
                return Ok(());
            }
        }
        (self.sink)(record)?;
        self.summary.records += 1;
        Ok(())
    }

    /// Counts a bad record (and stops in strict mode).
    pub(crate) fn bad(&mut self, line: u64, reason: impl Into<String>) -> Result<(), ImportError> {
        let reason = reason.into();
        self.summary.bad_records += 1;
        if self.opts.strict {
            return Err(ImportError::Strict { path: self.name.clone(), line, reason });
        }
        if self.summary.bad_examples.len() < self.opts.max_bad_records_kept {
            self.summary.bad_examples.push(BadRecord { line, reason });
        }
        Ok(())
    }

    pub(crate) fn summary_mut(&mut self) -> &mut ImportSummary {
        &mut self.summary
    }

    pub(crate) fn wrong_schema(&self, what: impl Into<String>) -> ImportError {
        ImportError::WrongSchema {
            path: self.name.clone(),
            format: self.summary.format.as_str(),
            what: what.into(),
        }
    }

    pub(crate) fn io_error(&self, source: io::Error) -> ImportError {
        ImportError::io(&self.name, source)
    }

    pub(crate) fn finish(self) -> ImportSummary {
        self.summary
    }
}

const EMPTY_MD5: [u8; 16] = [
    0xd4, 0x1d, 0x8c, 0xd9, 0x8f, 0x00, 0xb2, 0x04, 0xe9, 0x80, 0x09, 0x98, 0xec, 0xf8, 0x42, 0x7e,
];
const EMPTY_SHA1: [u8; 20] = [
    0xda, 0x39, 0xa3, 0xee, 0x5e, 0x6b, 0x4b, 0x0d, 0x32, 0x55, 0xbf, 0xef, 0x95, 0x60, 0x18, 0x90,
    0xaf, 0xd8, 0x07, 0x09,
];
const EMPTY_SHA256: [u8; 32] = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];

/// Whether `value` is the MD5, SHA-1 or SHA-256 of zero bytes.
pub fn is_empty_file_digest(value: &HashValue) -> bool {
    match value {
        HashValue::Md5(v) => *v == EMPTY_MD5,
        HashValue::Sha1(v) => *v == EMPTY_SHA1,
        HashValue::Sha256(v) => *v == EMPTY_SHA256,
        _ => false,
    }
}

/// Parses a cryptographic digest of a known kind from hex (either case).
pub(crate) fn parse_digest(kind: HashKind, field: &[u8]) -> Result<HashValue, String> {
    let text = std::str::from_utf8(field)
        .map_err(|_| format!("{} value is not text: {}", kind_label(kind), shown(field)))?;
    let bad = |e: crate::hex::HexError| format!("{} {}: {e}", kind_label(kind), shown(field));
    Ok(match kind {
        HashKind::Md5 => HashValue::Md5(crate::hex::decode_fixed(text).map_err(bad)?),
        HashKind::Sha1 => HashValue::Sha1(crate::hex::decode_fixed(text).map_err(bad)?),
        HashKind::Sha256 => HashValue::Sha256(crate::hex::decode_fixed(text).map_err(bad)?),
        HashKind::Pdq => {
            return pdqlist::parse_pdq_hex(field)
                .map(|hash| HashValue::Pdq { hash, quality: None });
        }
        other => return Err(format!("{} values cannot be read from hex here", other.as_str())),
    })
}

/// Parses an MD5, SHA-1 or SHA-256 whose kind follows from its length.
pub(crate) fn parse_digest_any(field: &[u8]) -> Result<HashValue, String> {
    match field.len() {
        32 => parse_digest(HashKind::Md5, field),
        40 => parse_digest(HashKind::Sha1, field),
        64 => parse_digest(HashKind::Sha256, field),
        n => Err(format!(
            "a hash of {n} characters is none of MD5 (32 hex), SHA-1 (40) or SHA-256 (64): {}",
            shown(field)
        )),
    }
}

pub(crate) fn kind_label(kind: HashKind) -> &'static str {
    match kind {
        HashKind::Md5 => "MD5",
        HashKind::Sha1 => "SHA-1",
        HashKind::Sha256 => "SHA-256",
        HashKind::Pdq => "PDQ",
        HashKind::PHash => "pHash",
        HashKind::DHash => "dHash",
        HashKind::AHash => "aHash",
        HashKind::PhotoDna => "PhotoDNA",
    }
}

/// A field as shown in a message: lossy UTF-8, cut to 80 characters, quoted.
pub(crate) fn shown(field: &[u8]) -> String {
    let text = String::from_utf8_lossy(field);
    let cut: String = text.chars().take(80).collect();
    if cut.len() < text.len() { format!("{cut:?}...") } else { format!("{cut:?}") }
}

/// One line of a text source, as [`LineReader`] yields it.
pub(crate) enum Line<'a> {
    Text(&'a [u8]),
    /// Longer than [`MAX_LINE_BYTES`]; skipped.
    TooLong,
}

/// Reads `\n`-terminated lines as bytes (a trailing `\r` and a leading UTF-8 BOM removed),
/// each bounded to [`MAX_LINE_BYTES`].
pub(crate) struct LineReader<'r, R: BufRead + ?Sized> {
    inner: &'r mut R,
    buf: Vec<u8>,
    line_no: u64,
}

impl<'r, R: BufRead + ?Sized> LineReader<'r, R> {
    pub(crate) fn new(inner: &'r mut R) -> Self {
        LineReader { inner, buf: Vec::with_capacity(256), line_no: 0 }
    }

    /// The next line and its 1-based number, or `None` at the end.
    pub(crate) fn next_line(&mut self) -> io::Result<Option<(u64, Line<'_>)>> {
        self.buf.clear();
        let mut too_long = false;
        let mut any = false;
        loop {
            let available = match self.inner.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if available.is_empty() {
                break;
            }
            any = true;
            let (chunk, used, done) = match available.iter().position(|&b| b == b'\n') {
                Some(i) => (&available[..i], i + 1, true),
                None => (available, available.len(), false),
            };
            if !too_long {
                if self.buf.len() + chunk.len() > MAX_LINE_BYTES {
                    too_long = true;
                    self.buf.clear();
                } else {
                    self.buf.extend_from_slice(chunk);
                }
            }
            self.inner.consume(used);
            if done {
                break;
            }
        }
        if !any {
            return Ok(None);
        }
        self.line_no += 1;
        if too_long {
            return Ok(Some((self.line_no, Line::TooLong)));
        }
        let mut line = &self.buf[..];
        if self.line_no == 1 {
            line = line.strip_prefix(UTF8_BOM).unwrap_or(line);
        }
        line = line.strip_suffix(b"\r").unwrap_or(line);
        Ok(Some((self.line_no, Line::Text(line))))
    }
}

/// The reason given for an over-long line.
fn too_long_reason() -> String {
    format!("line longer than {} bytes; skipped", MAX_LINE_BYTES)
}

/// Which lines [`for_each_line`] passes over without handing them to the importer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Skip {
    /// Empty or white-space-only lines.
    Blank,
    /// Those, and comments: lines whose first non-blank character is `#`.
    BlankAndComments,
}

/// The line loop of every line-based importer (hash lists, hashdeep, NSRLFile.txt, PDQ
/// lists), so they all treat lines alike: read by [`LineReader`] (leading BOM and trailing CR
/// removed, length bounded), an I/O error ends the import, an over-long line is a bad record
/// (or the wrong schema while the required first line named by `header` has not been seen),
/// the lines `skip` names are passed over, and every other line goes to `each` with its
/// 1-based number. Bytes, not text: each importer decides what invalid UTF-8 means for it.
pub(crate) fn for_each_line<R: BufRead + ?Sized>(
    input: &mut R,
    progress: &mut Progress<'_, '_>,
    skip: Skip,
    header: Option<&str>,
    mut each: impl FnMut(&mut Progress<'_, '_>, u64, &[u8]) -> Result<(), ImportError>,
) -> Result<(), ImportError> {
    let mut lines = LineReader::new(input);
    let mut seen_any = false;
    while let Some((n, line)) = lines.next_line().map_err(|e| progress.io_error(e))? {
        let Line::Text(line) = line else {
            if let (Some(header), false) = (header, seen_any) {
                return Err(progress.wrong_schema(header));
            }
            progress.bad(n, too_long_reason())?;
            continue;
        };
        let trimmed = line.trim_ascii();
        if trimmed.is_empty() || (skip == Skip::BlankAndComments && trimmed.starts_with(b"#")) {
            continue;
        }
        seen_any = true;
        each(progress, n, line)?;
    }
    Ok(())
}

/// Imports one hash-set file into a `.mhset` [`Builder`](crate::refset::build::Builder): the
/// format is detected unless given, every accepted record goes to the set `set_name`
/// (default: the file name) with `disposition`, bad records are counted and listed in the
/// builder's report, and the source's provenance (format, SHA-256, stated version) is
/// recorded. On error the builder may hold part of this source's records: discard it.
///
/// The returned summary is not judged here: call [`ImportSummary::check_usable`] before
/// building, so that the wrong file or a misdetected format is refused rather than giving
/// a set that silently matches nothing.
///
/// ```
/// use mediahash::import::{self, Format, ImportOptions};
/// use mediahash::refset::{build::Builder, BuildOptions, Disposition, RefSet};
///
/// let dir = tempfile::tempdir()?;
/// let list = dir.path().join("known.md5");
/// // md5sum output: the MD5 of "abc", then a line that is not a hash (counted, not fatal).
/// std::fs::write(&list, "900150983cd24fb0d6963f7d28e17f72  abc.txt\nnot a hash line\n")?;
///
/// let mut builder = Builder::new(BuildOptions::default())?;
/// let summary = import::import_into(
///     &mut builder,
///     &list,
///     None, // detect the format
///     Disposition::Alert,
///     Some("demo list"),
///     &ImportOptions::default(),
/// )?;
/// assert_eq!(summary.format, Format::Md5sum);
/// assert_eq!((summary.records, summary.bad_records), (1, 1));
/// summary.check_usable("known.md5")?; // 1 good, 1 bad: usable
///
/// let (bytes, _report) = builder.finish_to_vec()?;
/// let set = RefSet::from_bytes(bytes)?;
/// let md5 = mediahash::digest::digest_bytes(b"abc", Default::default()).md5;
/// let found = set.lookup_md5(&md5)?;
/// assert_eq!(found.len(), 1);
/// assert_eq!(found[0].set_name(), "demo list");
/// assert_eq!(found[0].disposition(), Disposition::Alert);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn import_into(
    builder: &mut crate::refset::build::Builder,
    path: &Path,
    format: Option<Format>,
    disposition: Disposition,
    set_name: Option<&str>,
    options: &ImportOptions,
) -> Result<ImportSummary, ImportError> {
    import_into_with(builder, path, format, disposition, set_name, options, &mut || Ok(()))
}

/// A source's description before it is read: named by its path, in the set `set_name`
/// (default the file or folder name); the builder counts its records.
pub(crate) fn new_source(
    path: &Path,
    format: &str,
    disposition: Disposition,
    set_name: Option<&str>,
) -> SourceInfo {
    let name = path.display().to_string();
    let set_name = match set_name {
        Some(s) => s.to_string(),
        None => path.file_name().map_or_else(|| name.clone(), |f| f.to_string_lossy().into_owned()),
    };
    SourceInfo {
        name,
        format: format.to_string(),
        sha256: String::new(),
        disposition,
        set_name,
        records: 0,
        bad_records: 0,
        empty_file_records_skipped: 0,
        source_version: None,
    }
}

/// [`import_into`], calling `before_record` before each record is added: an error it
/// returns ends the import with that error (a caller's progress report or cancel check).
pub fn import_into_with(
    builder: &mut crate::refset::build::Builder,
    path: &Path,
    format: Option<Format>,
    disposition: Disposition,
    set_name: Option<&str>,
    options: &ImportOptions,
    before_record: &mut dyn FnMut() -> Result<(), ImportError>,
) -> Result<ImportSummary, ImportError> {
    let source = builder
        .add_source(new_source(path, "", disposition, set_name))
        .map_err(ImportError::sink)?;
    let summary = import_path(path, format, options, &mut |record| {
        before_record()?;
        builder.add(source, record).map_err(ImportError::sink)
    })?;
    for bad in &summary.bad_examples {
        builder.record_bad(source, bad.clone()).map_err(ImportError::sink)?;
    }
    // Bad records beyond those the importer kept in detail are counted without a line.
    let unlisted = summary.bad_records.saturating_sub(summary.bad_examples.len() as u64);
    for _ in 0..unlisted {
        let bad = BadRecord { line: 0, reason: "not listed (over the kept-detail limit)".into() };
        builder.record_bad(source, bad).map_err(ImportError::sink)?;
    }
    builder
        .set_empty_file_records_skipped(source, summary.empty_file_records_skipped)
        .map_err(ImportError::sink)?;
    builder
        .complete_source(
            source,
            summary.format_label.clone(),
            crate::hex::encode(&summary.sha256),
            summary.source_version.clone(),
        )
        .map_err(ImportError::sink)?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_names_round_trip() {
        for format in Format::ALL {
            assert_eq!(format.as_str().parse::<Format>().unwrap(), format);
        }
        assert_eq!("VICS".parse::<Format>().unwrap(), Format::VicsJson);
        let err = "xml".parse::<Format>().unwrap_err();
        assert!(err.to_string().contains("pdq-lines"), "{err}");
    }

    #[test]
    fn empty_file_digests_are_known() {
        let d = crate::digest::digest_bytes(b"", Default::default());
        assert!(is_empty_file_digest(&HashValue::Md5(d.md5)));
        assert!(is_empty_file_digest(&HashValue::Sha1(d.sha1)));
        assert!(is_empty_file_digest(&HashValue::Sha256(d.sha256)));
        assert!(!is_empty_file_digest(&HashValue::Md5([0; 16])));
    }

    #[test]
    fn line_reader_bounds_and_strips() {
        let mut data = b"\xEF\xBB\xBFone\r\ntwo\n".to_vec();
        data.extend(std::iter::repeat_n(b'x', MAX_LINE_BYTES + 10));
        data.extend_from_slice(b"\nlast");
        let mut cursor = io::BufReader::with_capacity(1000, &data[..]);
        let mut lines = LineReader::new(&mut cursor);
        let mut seen = Vec::new();
        while let Some((n, line)) = lines.next_line().unwrap() {
            seen.push(match line {
                Line::Text(t) => (n, String::from_utf8(t.to_vec()).unwrap()),
                Line::TooLong => (n, "<too long>".to_string()),
            });
        }
        let expect = [(1, "one"), (2, "two"), (3, "<too long>"), (4, "last")];
        let expect: Vec<(u64, String)> = expect.iter().map(|(n, s)| (*n, s.to_string())).collect();
        assert_eq!(seen, expect);
    }

    /// Numbered lines (or bad-line reasons).
    type Numbered = Vec<(u64, String)>;

    /// Runs `for_each_line` over `data`; returns the lines handed over, the bad-line reports,
    /// or the error.
    fn lines_of(
        data: &[u8],
        skip: Skip,
        header: Option<&str>,
    ) -> Result<(Numbered, Numbered), ImportError> {
        let opts = ImportOptions::default();
        let mut sink = |_: Record| Ok(());
        let mut progress = Progress::new("t", Format::HashList, &opts, &mut sink);
        let mut seen = Vec::new();
        let mut cursor = io::BufReader::with_capacity(1000, data);
        for_each_line(&mut cursor, &mut progress, skip, header, |_, n, line| {
            seen.push((n, String::from_utf8_lossy(line).into_owned()));
            Ok(())
        })?;
        let bad = progress.summary_mut().bad_examples.iter().map(|b| (b.line, b.reason.clone()));
        Ok((seen, bad.collect()))
    }

    #[test]
    fn for_each_line_skips_numbers_and_reports() {
        let mut data = b"\xEF\xBB\xBF# note\r\n\n \t\r\nfirst\r\n  # indented\n".to_vec();
        data.extend(std::iter::repeat_n(b'x', MAX_LINE_BYTES + 1));
        data.extend_from_slice(b"\nlast \xFF");
        let too_long = vec![(6, too_long_reason())];
        let (seen, bad) = lines_of(&data, Skip::BlankAndComments, None).unwrap();
        assert_eq!(seen, [(4, "first".into()), (7, "last \u{FFFD}".into())]);
        assert_eq!(bad, too_long);
        let (seen, bad) = lines_of(&data, Skip::Blank, None).unwrap();
        let expect = [(1, "# note"), (4, "first"), (5, "  # indented"), (7, "last \u{FFFD}")];
        assert_eq!(seen, expect.map(|(n, s)| (n, s.to_string())));
        assert_eq!(bad, too_long);
        // An over-long line where a header must come first is the wrong schema.
        let mut headless = b"\n".to_vec();
        headless.extend(std::iter::repeat_n(b'x', MAX_LINE_BYTES + 1));
        let err = lines_of(&headless, Skip::Blank, Some("no header")).unwrap_err();
        assert!(matches!(&err, ImportError::WrongSchema { what, .. } if what == "no header"));
        // After the first line it is an ordinary bad line.
        let (seen, bad) = lines_of(&data, Skip::Blank, Some("no header")).unwrap();
        assert_eq!((seen.len(), bad), (4, too_long));
    }
}
