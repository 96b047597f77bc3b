//! JSON Lines: one JSON object per line. The first is `{"record":"header",...}`, then one
//! `{"record":"entry",...}` per directory entry, then `{"record":"footer",...}`.
//! Optional fields are omitted when absent; field order is fixed.
//!
//! [`EntryLine`] is the text form of an [`EntryRecord`] (hashes as lower-case hex, times as
//! RFC 3339, paths as lossy UTF-8 plus hex when not UTF-8); [`JsonlReader`] reads a report
//! back into typed records (for tools that post-process reports, and for the scan's
//! clustering spool).
//!
//! ```
//! use mediahash::report::jsonl::{JsonlReader, JsonlWriter, ReportItem};
//! use mediahash::report::{
//!     EntryDisposition, EntryKind, EntryRecord, Footer, Header, ReportWriter,
//! };
//!
//! let mut entry = EntryRecord::at(b"/evidence/a\xffb.jpg".to_vec()); // not UTF-8
//! entry.kind = EntryKind::File;
//! entry.conclude(EntryDisposition::Other, None);
//! entry.size = Some(3);
//! entry.sha256 = Some([0xab; 32]);
//!
//! let mut writer = JsonlWriter::new(Vec::new());
//! writer.header(&Header { tool: "mediahash".into(), ..Header::default() })?;
//! writer.entry(&entry)?;
//! writer.footer(&Footer { completed: true, ..Footer::default() })?;
//! let text = writer.into_inner();
//! assert!(String::from_utf8_lossy(&text).contains(r#""path_bytes_hex":"2f65"#));
//!
//! let items: Vec<ReportItem> = JsonlReader::new(&text[..]).collect::<Result<_, _>>()?;
//! assert_eq!(items.len(), 3);
//! // The exact path bytes come back from their hex form.
//! assert_eq!(items[1], ReportItem::Entry(Box::new(entry)));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::io::{self, BufRead, Write};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::{
    EntryDisposition, EntryKind, EntryRecord, Footer, Header, Match, Reason, ReasonCode,
    ReportWriter, Timestamp, text_and_hex,
};
use crate::decode::ImageFormat;
use crate::perceptual::imagehash::Hash64;
use crate::perceptual::pdq::PdqHash;

/// Writes a report as JSON Lines.
pub struct JsonlWriter<W: Write> {
    out: W,
}

#[derive(Serialize)]
struct Tagged<'a, T: Serialize> {
    record: &'static str,
    #[serde(flatten)]
    body: &'a T,
}

impl<W: Write> JsonlWriter<W> {
    /// A writer over `out` (buffer it: one small write per record). The footer flushes.
    pub fn new(out: W) -> Self {
        Self { out }
    }

    /// The underlying output.
    pub fn into_inner(self) -> W {
        self.out
    }

    fn line<T: Serialize>(&mut self, record: &'static str, body: &T) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, &Tagged { record, body }).map_err(io::Error::from)?;
        self.out.write_all(b"\n")
    }
}

impl<W: Write> ReportWriter for JsonlWriter<W> {
    fn header(&mut self, header: &Header) -> io::Result<()> {
        self.line("header", header)
    }

    fn entry(&mut self, entry: &EntryRecord) -> io::Result<()> {
        self.line("entry", &EntryLine::from(entry))
    }

    fn footer(&mut self, footer: &Footer) -> io::Result<()> {
        self.line("footer", footer)?;
        self.out.flush()
    }
}

/// The JSON form of an [`EntryRecord`]. Field order is the report's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryLine {
    /// The path as lossy UTF-8 (invalid sequences become U+FFFD).
    pub path: String,
    /// The path's bytes in hex, only when they are not valid UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_bytes_hex: Option<String>,
    /// The type of the entry itself ([`EntryKind`]).
    pub kind: EntryKind,
    /// What the scan concluded ([`EntryDisposition`]).
    pub disposition: EntryDisposition,
    /// Why the entry was skipped or is an error, in words ([`Reason::message`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The same as a stable code for programs ([`Reason::code`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_code: Option<ReasonCode>,
    /// Size in bytes as `lstat` (or `stat`, for a followed link) gave it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Unix mode bits (type and permissions), as a decimal number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<u32>,
    /// Owner user id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    /// Owner group id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<u32>,
    /// Inode number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inode: Option<u64>,
    /// Hard link count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nlink: Option<u64>,
    /// Modification time before the read, RFC 3339 UTC (nanoseconds when non-zero).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtime: Option<String>,
    /// Access time before the read, RFC 3339 UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub atime: Option<String>,
    /// Inode change time before the read, RFC 3339 UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ctime: Option<String>,
    /// A symbolic link's target as lossy UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_target: Option<String>,
    /// The link target's bytes in hex, only when they are not valid UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_target_hex: Option<String>,
    /// Whether the file was opened with `O_NOATIME` (false: its access time may have changed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noatime: Option<bool>,
    /// Bytes actually read (differs from `size` when the file changed while read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes_read: Option<u64>,
    /// MD5 of the bytes read, 32 lower-case hex digits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub md5: Option<String>,
    /// SHA-1 of the bytes read, 40 lower-case hex digits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha1: Option<String>,
    /// SHA-256 of the bytes read, 64 lower-case hex digits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Image format sniffed from content ([`ImageFormat::as_str`]: `jpeg`, `png`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_format: Option<String>,
    /// Image width as stored, in pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    /// Image height as stored, in pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// PDQ hash of the image, 64 hex digits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pdq: Option<String>,
    /// PDQ quality 0-100; below 50 the hash is recorded but never matched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pdq_quality: Option<u8>,
    /// The 8 dihedral hashes, by orientation name, in `orig, rot90, ...` order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pdq_dihedral: Option<Vec<String>>,
    /// pHash as Python `imagehash` computes it, 16 hex digits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phash: Option<String>,
    /// Why the content looked like an image but produced no perceptual hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_error: Option<String>,
    /// Every membership found, alerts first ([`Match::sort_key`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub matches: Vec<Match>,
    /// With `--cluster`: the number of this unknown image's cluster of near duplicates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<u64>,
    /// Provenance indicators of a picture ([`crate::provenance::Indicator`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub provenance: Vec<crate::provenance::Indicator>,
    /// Where an entry inside a disk image lies ([`super::Location`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<super::Location>,
    /// A video's stream, vPDQ summary and matches ([`super::video::VideoRecord`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video: Option<super::video::VideoRecord>,
}

impl From<&EntryRecord> for EntryLine {
    fn from(r: &EntryRecord) -> Self {
        let (path, path_bytes_hex) = text_and_hex(&r.path);
        let (link_target, link_target_hex) = match &r.link_target {
            Some(t) => {
                let (text, hex) = text_and_hex(t);
                (Some(text), hex)
            }
            None => (None, None),
        };
        let hex = |b: &[u8]| crate::hex::encode(b);
        EntryLine {
            path,
            path_bytes_hex,
            kind: r.kind,
            disposition: r.disposition,
            reason: r.reason.as_ref().map(|x| x.message.clone()),
            reason_code: r.reason.as_ref().map(|x| x.code),
            size: r.size,
            mode: r.mode,
            uid: r.uid,
            gid: r.gid,
            inode: r.inode,
            nlink: r.nlink,
            mtime: r.mtime.map(Timestamp::to_rfc3339),
            atime: r.atime.map(Timestamp::to_rfc3339),
            ctime: r.ctime.map(Timestamp::to_rfc3339),
            link_target,
            link_target_hex,
            noatime: r.noatime,
            bytes_read: r.bytes_read,
            md5: r.md5.as_ref().map(|d| hex(d)),
            sha1: r.sha1.as_ref().map(|d| hex(d)),
            sha256: r.sha256.as_ref().map(|d| hex(d)),
            image_format: r.image_format.map(|f| f.as_str().to_string()),
            width: r.width,
            height: r.height,
            pdq: r.pdq.map(|h| h.to_hex()),
            pdq_quality: r.pdq_quality,
            pdq_dihedral: r.pdq_dihedral.map(|all| all.iter().map(PdqHash::to_hex).collect()),
            phash: r.phash.map(|h| h.to_hex()),
            image_error: r.image_error.clone(),
            matches: r.matches.clone(),
            cluster: r.cluster,
            provenance: r.provenance.clone(),
            location: r.location.clone(),
            video: r.video.as_deref().cloned(),
        }
    }
}

/// A JSON Lines report line that does not hold what its field names promise.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ReadError {
    /// Not JSON, or not a report record.
    #[error("line {line}: not a mediahash JSON Lines record ({message})")]
    Syntax {
        /// 1-based line number.
        line: u64,
        /// The parser's message.
        message: String,
    },
    /// A field whose text is not a valid value.
    #[error("line {line}: field {field} has an invalid value {value:?}")]
    Field {
        /// 1-based line number.
        line: u64,
        /// The field name.
        field: &'static str,
        /// The text found.
        value: String,
    },
    /// Reading the input failed.
    #[error("reading the report failed at line {line}: {message}")]
    Io {
        /// 1-based line number.
        line: u64,
        /// The I/O error's message.
        message: String,
    },
}

impl EntryLine {
    /// The typed record this line describes (`line` numbers the errors).
    ///
    /// Exact bytes come from `path_bytes_hex` / `link_target_hex` when present. A `reason`
    /// without a `reason_code` (a hand-edited or older report) gets [`ReasonCode::Internal`].
    ///
    /// # Errors
    /// [`ReadError::Field`] naming the first field whose text does not parse (bad hex,
    /// a time not in the form [`Timestamp::to_rfc3339`] writes, an unknown image format,
    /// not exactly 8 dihedral hashes).
    pub fn to_record(&self, line: u64) -> Result<EntryRecord, ReadError> {
        fn field<T>(
            line: u64,
            name: &'static str,
            text: &Option<String>,
            parse: impl Fn(&str) -> Option<T>,
        ) -> Result<Option<T>, ReadError> {
            match text {
                None => Ok(None),
                Some(t) => parse(t).map(Some).ok_or_else(|| ReadError::Field {
                    line,
                    field: name,
                    value: t.clone(),
                }),
            }
        }
        let bytes = |name, plain: &String, hex: &Option<String>| -> Result<Vec<u8>, ReadError> {
            match hex {
                Some(h) => crate::hex::decode_vec(h).map_err(|_| ReadError::Field {
                    line,
                    field: name,
                    value: h.clone(),
                }),
                None => Ok(plain.as_bytes().to_vec()),
            }
        };
        let time = |t: &str| Timestamp::from_rfc3339(t);
        let link_target = match &self.link_target {
            Some(t) => Some(bytes("link_target_hex", t, &self.link_target_hex)?),
            None => None,
        };
        let reason = match (&self.reason, self.reason_code) {
            (Some(message), Some(code)) => Some(Reason { code, message: message.clone() }),
            (Some(message), None) => {
                Some(Reason { code: ReasonCode::Internal, message: message.clone() })
            }
            (None, _) => None,
        };
        let dihedral = match &self.pdq_dihedral {
            None => None,
            Some(list) => {
                let parsed: Option<Vec<PdqHash>> =
                    list.iter().map(|h| PdqHash::from_hex(h).ok()).collect();
                let array = parsed.and_then(|v| <[PdqHash; 8]>::try_from(v).ok());
                Some(array.ok_or_else(|| ReadError::Field {
                    line,
                    field: "pdq_dihedral",
                    value: list.join(","),
                })?)
            }
        };
        Ok(EntryRecord {
            path: bytes("path_bytes_hex", &self.path, &self.path_bytes_hex)?,
            kind: self.kind,
            disposition: self.disposition,
            reason,
            size: self.size,
            mode: self.mode,
            uid: self.uid,
            gid: self.gid,
            inode: self.inode,
            nlink: self.nlink,
            mtime: field(line, "mtime", &self.mtime, time)?,
            atime: field(line, "atime", &self.atime, time)?,
            ctime: field(line, "ctime", &self.ctime, time)?,
            link_target,
            noatime: self.noatime,
            bytes_read: self.bytes_read,
            md5: field(line, "md5", &self.md5, |t| crate::hex::decode_fixed(t).ok())?,
            sha1: field(line, "sha1", &self.sha1, |t| crate::hex::decode_fixed(t).ok())?,
            sha256: field(line, "sha256", &self.sha256, |t| crate::hex::decode_fixed(t).ok())?,
            image_format: field(line, "image_format", &self.image_format, ImageFormat::from_name)?,
            width: self.width,
            height: self.height,
            pdq: field(line, "pdq", &self.pdq, |t| PdqHash::from_hex(t).ok())?,
            pdq_quality: self.pdq_quality,
            pdq_dihedral: dihedral,
            phash: field(line, "phash", &self.phash, |t| Hash64::from_hex(t).ok())?,
            image_error: self.image_error.clone(),
            matches: self.matches.clone(),
            cluster: self.cluster,
            provenance: self.provenance.clone(),
            location: self.location.clone(),
            video: self.video.clone().map(Box::new),
        })
    }
}

/// One record of a JSON Lines report, read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportItem {
    /// The first record.
    Header(Box<Header>),
    /// One entry.
    Entry(Box<EntryRecord>),
    /// The last record.
    Footer(Box<Footer>),
}

#[derive(Deserialize)]
#[serde(tag = "record", rename_all = "lowercase")]
enum TaggedLine {
    Header(Box<Header>),
    Entry(Box<EntryLine>),
    Footer(Box<Footer>),
}

/// Reads a JSON Lines report back into typed records, one per line (blank lines skipped).
pub struct JsonlReader<R: BufRead> {
    input: R,
    line: u64,
    text: String,
}

impl<R: BufRead> JsonlReader<R> {
    /// A reader over `input`.
    pub fn new(input: R) -> Self {
        Self { input, line: 0, text: String::new() }
    }
}

impl<R: BufRead> Iterator for JsonlReader<R> {
    type Item = Result<ReportItem, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            self.text.clear();
            self.line += 1;
            let line = self.line;
            match self.input.read_line(&mut self.text) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(e) => return Some(Err(ReadError::Io { line, message: e.to_string() })),
            }
            if self.text.trim().is_empty() {
                continue;
            }
            let parsed: TaggedLine = match serde_json::from_str(&self.text) {
                Ok(p) => p,
                Err(e) => return Some(Err(ReadError::Syntax { line, message: e.to_string() })),
            };
            return Some(match parsed {
                TaggedLine::Header(h) => Ok(ReportItem::Header(h)),
                TaggedLine::Footer(f) => Ok(ReportItem::Footer(f)),
                TaggedLine::Entry(e) => e.to_record(line).map(|r| ReportItem::Entry(Box::new(r))),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perceptual::pdq::Dihedral;
    use crate::refset::{Disposition, HashKind};

    fn sample() -> EntryRecord {
        EntryRecord {
            path: b"/ev/a\nb\xff".to_vec(),
            kind: EntryKind::File,
            disposition: EntryDisposition::Alert,
            reason: Some(Reason::new(ReasonCode::ChangedWhileRead, "changed")),
            size: Some(3),
            mtime: Some(Timestamp { secs: 1_000_000_000, nanos: 7 }),
            link_target: Some(b"t\xffx".to_vec()),
            md5: Some([0xab; 16]),
            sha1: Some([1; 20]),
            sha256: Some([2; 32]),
            image_format: Some(ImageFormat::Png),
            pdq: Some(PdqHash([0x5a; 32])),
            pdq_quality: Some(100),
            pdq_dihedral: Some([PdqHash([3; 32]); 8]),
            phash: Some(Hash64(0x0123_4567_89ab_cdef)),
            matches: vec![Match {
                reference: 0,
                set: "s".into(),
                disposition: Disposition::Alert,
                hash: HashKind::Pdq,
                distance: Some(4),
                transform: Some(Dihedral::Rot90),
                robust: None,
                category: None,
                profile: None,
                victim_identified: None,
                offender_identified: None,
                series: None,
                source_id: None,
                note: None,
            }],
            ..Default::default()
        }
    }

    #[test]
    fn three_record_kinds_one_per_line() {
        let mut w = JsonlWriter::new(Vec::new());
        w.header(&Header { tool: "mediahash".into(), ..Default::default() }).unwrap();
        let entry = EntryRecord {
            path: b"/ev/a\nb".to_vec(),
            kind: EntryKind::File,
            disposition: EntryDisposition::Other,
            md5: Some([0; 16]),
            ..Default::default()
        };
        w.entry(&entry).unwrap();
        w.footer(&Footer { completed: true, ..Default::default() }).unwrap();
        let text = String::from_utf8(w.into_inner()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with(r#"{"record":"header","tool":"mediahash""#));
        assert!(lines[1].starts_with(
            r#"{"record":"entry","path":"/ev/a\nb","kind":"file","disposition":"other","md5":"00000000000000000000000000000000"}"#
        ));
        assert!(!lines[1].contains("sha1"), "absent fields are omitted: {}", lines[1]);
        assert!(lines[2].starts_with(r#"{"record":"footer","completed":true"#));
        let back: Vec<ReportItem> =
            JsonlReader::new(text.as_bytes()).collect::<Result<_, _>>().unwrap();
        assert_eq!(back[1], ReportItem::Entry(Box::new(entry)));
    }

    #[test]
    fn every_typed_field_round_trips_through_text() {
        let record = sample();
        let mut w = JsonlWriter::new(Vec::new());
        w.entry(&record).unwrap();
        let text = String::from_utf8(w.into_inner()).unwrap();
        assert!(text.contains(r#""path_bytes_hex":"2f65762f610a62ff""#), "{text}");
        assert!(text.contains(r#""reason":"changed","reason_code":"changed-while-read""#));
        assert!(text.contains(r#""mtime":"2001-09-09T01:46:40.000000007Z""#), "{text}");
        assert!(text.contains(r#""transform":"rot90""#), "{text}");
        assert!(text.contains(r#""phash":"0123456789abcdef""#), "{text}");
        let back: Vec<ReportItem> =
            JsonlReader::new(text.as_bytes()).collect::<Result<_, _>>().unwrap();
        assert_eq!(back, vec![ReportItem::Entry(Box::new(record))]);
    }

    #[test]
    fn bad_fields_are_typed_errors_with_line_numbers() {
        let text = "\n{\"record\":\"entry\",\"path\":\"a\",\"kind\":\"file\",\"disposition\":\"other\",\"md5\":\"zz\"}\n";
        let err = JsonlReader::new(text.as_bytes()).next().unwrap().unwrap_err();
        assert_eq!(err, ReadError::Field { line: 2, field: "md5", value: "zz".into() });
        let err = JsonlReader::new(&b"{\"record\":\"nope\"}"[..]).next().unwrap().unwrap_err();
        assert!(matches!(err, ReadError::Syntax { line: 1, .. }), "{err}");
    }
}
