//! A report writer that keeps the report in memory, for tests that inspect records.

use std::io;

use mediahash::report::{EntryRecord, Footer, Header, ReportWriter};

/// A report captured in memory.
#[derive(Default)]
pub struct Captured {
    /// The header, once written.
    pub header: Option<Header>,
    /// Every entry record, in report order.
    pub entries: Vec<EntryRecord>,
    /// The footer, once written.
    pub footer: Option<Footer>,
}

impl ReportWriter for Captured {
    fn header(&mut self, header: &Header) -> io::Result<()> {
        self.header = Some(header.clone());
        Ok(())
    }
    fn entry(&mut self, entry: &EntryRecord) -> io::Result<()> {
        self.entries.push(entry.clone());
        Ok(())
    }
    fn footer(&mut self, footer: &Footer) -> io::Result<()> {
        self.footer = Some(footer.clone());
        Ok(())
    }
}
