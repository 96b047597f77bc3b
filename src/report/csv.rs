//! CSV: a header row, then one row per directory entry with the fixed [`COLUMNS`].
//!
//! CSV has no place for the report header and footer; `mh scan --format csv` writes them
//! to a sidecar `<report>.provenance.jsonl` (header and footer records as in JSON Lines).
//! The best match (alerts first) fills the `match_*` columns; `matches_json` holds every
//! match as a JSON array, so nothing is lost.

use std::io::{self, Write};

use super::jsonl::EntryLine;
use super::{EntryRecord, Footer, Header, ReportWriter};

/// The columns, in order.
pub const COLUMNS: [&str; 59] = [
    "path",
    "path_bytes_hex",
    "kind",
    "disposition",
    "reason",
    "reason_code",
    "size",
    "bytes_read",
    "mtime",
    "atime",
    "ctime",
    "mode",
    "uid",
    "gid",
    "inode",
    "nlink",
    "noatime",
    "link_target",
    "link_target_hex",
    "md5",
    "sha1",
    "sha256",
    "image_format",
    "width",
    "height",
    "pdq",
    "pdq_quality",
    "phash",
    "image_error",
    "match_count",
    "match_set",
    "match_disposition",
    "match_hash",
    "match_distance",
    "match_category",
    "match_profile",
    "match_victim_identified",
    "matches_json",
    "cluster",
    "provenance",
    "image",
    "partition",
    "partition_offset",
    "partition_type",
    "fs_type",
    "entry_number",
    "deleted",
    "byte_runs",
    "container",
    "fs_address",
    "archive_member",
    "archive_member_index",
    "archive_name_flags",
    "carved_area",
    "carved_format",
    "carved_offset",
    "carved_length",
    "video",
    "video_json",
];

/// Writes one CSV row per entry.
pub struct CsvWriter<W: Write> {
    out: ::csv::Writer<W>,
}

impl<W: Write> CsvWriter<W> {
    /// A writer over `out`. Rows are buffered internally, so `out` need not be; the column
    /// row is written by [`ReportWriter::header`], and the report header and footer
    /// themselves are not written (see the module notes).
    pub fn new(out: W) -> Self {
        Self { out: ::csv::WriterBuilder::new().has_headers(false).from_writer(out) }
    }

    /// Flushes the buffered rows and returns the underlying output.
    ///
    /// # Errors
    /// The I/O error of that final flush: rows may then be missing from the output.
    pub fn into_inner(self) -> io::Result<W> {
        self.out.into_inner().map_err(|e| e.into_error())
    }
}

fn opt<T: ToString>(value: &Option<T>) -> String {
    value.as_ref().map(ToString::to_string).unwrap_or_default()
}

fn archive_chain(
    loc: Option<&super::Location>,
    part: impl Fn(&super::ArchiveMember) -> String,
    separator: &str,
) -> String {
    loc.map(|l| l.archive.iter().map(part).collect::<Vec<_>>().join(separator)).unwrap_or_default()
}

fn row(e: &EntryRecord) -> io::Result<Vec<String>> {
    // The same text forms as JSON Lines (hex, RFC 3339, lossy path plus hex).
    let line = EntryLine::from(e);
    let best = e.matches.first();
    let loc = e.location.as_ref();
    let carved = loc.and_then(|l| l.carved.as_ref());
    let matches_json = if e.matches.is_empty() {
        String::new()
    } else {
        serde_json::to_string(&e.matches).map_err(io::Error::from)?
    };
    Ok(vec![
        line.path,
        opt(&line.path_bytes_hex),
        e.kind.as_str().to_string(),
        e.disposition.as_str().to_string(),
        opt(&line.reason),
        opt(&line.reason_code),
        opt(&e.size),
        opt(&e.bytes_read),
        opt(&line.mtime),
        opt(&line.atime),
        opt(&line.ctime),
        // Decimal, as in JSONL and DFXML (whose schema says base 10).
        e.mode.map(|m| m.to_string()).unwrap_or_default(),
        opt(&e.uid),
        opt(&e.gid),
        opt(&e.inode),
        opt(&e.nlink),
        opt(&e.noatime),
        opt(&line.link_target),
        opt(&line.link_target_hex),
        opt(&line.md5),
        opt(&line.sha1),
        opt(&line.sha256),
        opt(&line.image_format),
        opt(&e.width),
        opt(&e.height),
        opt(&line.pdq),
        opt(&e.pdq_quality),
        opt(&line.phash),
        opt(&e.image_error),
        e.matches.len().to_string(),
        best.map(|m| m.set.clone()).unwrap_or_default(),
        best.map(|m| m.disposition.as_str().to_string()).unwrap_or_default(),
        best.map(|m| m.hash.as_str().to_string()).unwrap_or_default(),
        best.and_then(|m| m.distance).map(|d| d.to_string()).unwrap_or_default(),
        best.and_then(|m| m.category.clone()).unwrap_or_default(),
        best.and_then(|m| m.profile.clone()).unwrap_or_default(),
        best.and_then(|m| m.victim_identified).map(|v| v.to_string()).unwrap_or_default(),
        matches_json,
        opt(&e.cluster),
        e.provenance.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "),
        loc.map(|l| l.image.clone()).unwrap_or_default(),
        opt(&loc.and_then(|l| l.partition)),
        opt(&loc.and_then(|l| l.partition_offset)),
        opt(&loc.and_then(|l| l.partition_type.clone())),
        opt(&loc.and_then(|l| l.fs_type.clone())),
        opt(&loc.and_then(|l| l.entry_number)),
        opt(&loc.and_then(|l| l.deleted)),
        // `offset+len` pairs separated by spaces, in file order.
        loc.map(|l| {
            l.byte_runs
                .iter()
                .map(|r| format!("{}+{}", r.img_offset, r.len))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default(),
        loc.map(|l| l.container.clone()).unwrap_or_default(),
        opt(&loc.and_then(|l| l.fs_address.clone())),
        // Archive chain, outermost first: names joined by `!/`, indices and flags by `/`.
        archive_chain(loc, |m| m.name.clone(), "!/"),
        archive_chain(loc, |m| m.index.to_string(), "/"),
        archive_chain(loc, |m| m.name_flags.join(" "), "/"),
        // Carved items: the space, the signature's format, the media offset and length.
        opt(&carved.map(|c| c.area.clone())),
        opt(&carved.map(|c| c.format.clone())),
        opt(&carved.map(|c| c.offset)),
        opt(&carved.map(|c| c.length)),
        // Videos: the one-line summary, and the whole video part as JSON Lines writes it.
        e.video.as_ref().map(|v| v.summary()).unwrap_or_default(),
        match &e.video {
            Some(v) => serde_json::to_string(v).map_err(io::Error::from)?,
            None => String::new(),
        },
    ])
}

impl<W: Write> ReportWriter for CsvWriter<W> {
    fn header(&mut self, _header: &Header) -> io::Result<()> {
        self.out.write_record(COLUMNS).map_err(io::Error::from)
    }

    fn entry(&mut self, entry: &EntryRecord) -> io::Result<()> {
        self.out.write_record(row(entry)?).map_err(io::Error::from)
    }

    fn footer(&mut self, _footer: &Footer) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::refset::{Disposition, HashKind};
    use crate::report::{EntryDisposition, EntryKind, Match};

    #[test]
    fn fixed_columns_and_quoting() {
        let mut w = CsvWriter::new(Vec::new());
        w.header(&Header::default()).unwrap();
        let entry = EntryRecord {
            path: b"/ev/a,\"b\"\nc".to_vec(),
            kind: EntryKind::File,
            disposition: EntryDisposition::Alert,
            mode: Some(0o100644),
            matches: vec![Match {
                reference: 0,
                set: "vics".into(),
                disposition: Disposition::Alert,
                hash: HashKind::Pdq,
                distance: Some(12),
                transform: None,
                robust: None,
                category: Some("1".into()),
                profile: Some("Default".into()),
                victim_identified: Some(false),
                offender_identified: None,
                series: None,
                source_id: None,
                note: None,
            }],
            ..Default::default()
        };
        w.entry(&entry).unwrap();
        w.footer(&Footer::default()).unwrap();
        let bytes = w.into_inner().unwrap();
        let mut reader = ::csv::ReaderBuilder::new().from_reader(&bytes[..]);
        assert_eq!(reader.headers().unwrap().len(), COLUMNS.len());
        let rows: Vec<::csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 1);
        let r = &rows[0];
        assert_eq!(r.len(), COLUMNS.len());
        let col = |name: &str| &r[COLUMNS.iter().position(|c| *c == name).unwrap()];
        assert_eq!(col("path"), "/ev/a,\"b\"\nc");
        assert_eq!(col("disposition"), "alert");
        assert_eq!(col("mode"), "33188", "0o100644 in decimal, as JSONL and DFXML give it");
        assert_eq!(col("match_hash"), "pdq");
        assert_eq!(col("match_distance"), "12");
        assert_eq!(col("match_count"), "1");
        let all: Vec<Match> = serde_json::from_str(col("matches_json")).unwrap();
        assert_eq!(all, entry.matches);
    }
}
