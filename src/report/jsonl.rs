//! JSON Lines: one JSON object per line. The first is `{"record":"header",...}`, then one
//! `{"record":"entry",...}` per directory entry, then `{"record":"footer",...}`.
//! Optional fields are omitted when absent; field order is fixed.

use std::io::{self, Write};

use serde::Serialize;

use super::{EntryRecord, Footer, Header, ReportWriter};

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
    pub fn new(out: W) -> Self {
        Self { out }
    }

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
        self.line("entry", entry)
    }

    fn footer(&mut self, footer: &Footer) -> io::Result<()> {
        self.line("footer", footer)?;
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{EntryDisposition, EntryKind};

    #[test]
    fn three_record_kinds_one_per_line() {
        let mut w = JsonlWriter::new(Vec::new());
        w.header(&Header { tool: "mediahash".into(), ..Default::default() }).unwrap();
        let entry = EntryRecord {
            path: "/ev/a\nb".into(),
            kind: Some(EntryKind::File),
            disposition: Some(EntryDisposition::Other),
            md5: Some("00".into()),
            ..Default::default()
        };
        w.entry(&entry).unwrap();
        w.footer(&Footer { completed: true, ..Default::default() }).unwrap();
        let text = String::from_utf8(w.into_inner()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with(r#"{"record":"header","tool":"mediahash""#));
        assert!(lines[1].starts_with(
            r#"{"record":"entry","path":"/ev/a\nb","kind":"file","disposition":"other""#
        ));
        assert!(!lines[1].contains("sha1"), "absent fields are omitted: {}", lines[1]);
        let back: EntryRecord = serde_json::from_str(lines[1]).unwrap();
        assert_eq!(back, entry);
        assert!(lines[2].starts_with(r#"{"record":"footer","completed":true"#));
    }
}
