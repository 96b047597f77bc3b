//! The one rule for an import too damaged to use, shared by every builder (`mh refset build`,
//! `mh scan --alert/--ignore`, the C builder).
//!
//! Bad lines are counted, not fatal ([`super::ImportOptions::strict`] aside). But a source in
//! which no record was usable, or most records were bad, is almost always the wrong file or a
//! misdetected format: a set built from it would silently match little or nothing, and a scan
//! against it would look clean. Such an import is refused unless the caller explicitly allows
//! bad lines.

use thiserror::Error;

use super::ImportSummary;

/// Why an import's result is refused by [`check_usable`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum UnusableImport {
    /// Not one record could be used (the file is empty, only held the empty file's hashes,
    /// or every record was bad).
    #[error(
        "{path}: no usable record ({bad_records} bad, {empty_file_records_skipped} only the \
         empty file's hashes); check that this is the right file and, if the format was \
         misdetected, name it (mh: --format); to accept an empty source, say so explicitly \
         (mh: --allow-empty)"
    )]
    NoRecords {
        /// The source, as given.
        path: String,
        /// Records refused.
        bad_records: u64,
        /// Records skipped because their only hashes were those of the empty file.
        empty_file_records_skipped: u64,
    },
    /// More records were bad than usable.
    #[error(
        "{path}: {bad_records} of {total} records are bad and only {records} usable; this is \
         probably the wrong file or a misdetected format (mh: --format); to use the {records} \
         good records anyway, allow bad lines explicitly (mh: --allow-bad-lines, or \
         --allow-empty)",
        total = records + bad_records
    )]
    MostlyBad {
        /// The source, as given.
        path: String,
        /// Records accepted.
        records: u64,
        /// Records refused.
        bad_records: u64,
    },
}

/// Refuses an import in which no record was usable, or in which bad records outnumber the
/// usable ones. `records` are the records accepted, `bad_records` those refused,
/// `empty_file_records_skipped` those dropped for holding only the empty file's hashes
/// (reported, not judged).
pub fn check_usable(
    path: &str,
    records: u64,
    bad_records: u64,
    empty_file_records_skipped: u64,
) -> Result<(), UnusableImport> {
    if records == 0 {
        return Err(UnusableImport::NoRecords {
            path: path.to_string(),
            bad_records,
            empty_file_records_skipped,
        });
    }
    if bad_records > records {
        return Err(UnusableImport::MostlyBad { path: path.to_string(), records, bad_records });
    }
    Ok(())
}

impl ImportSummary {
    /// [`check_usable`] over this summary's counts.
    pub fn check_usable(&self, path: &str) -> Result<(), UnusableImport> {
        check_usable(path, self.records, self.bad_records, self.empty_file_records_skipped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_record_is_refused_whatever_the_bad_count() {
        assert_eq!(
            check_usable("a.md5", 0, 0, 2),
            Err(UnusableImport::NoRecords {
                path: "a.md5".into(),
                bad_records: 0,
                empty_file_records_skipped: 2
            })
        );
        let e = check_usable("a.md5", 0, 7, 0).unwrap_err();
        assert!(e.to_string().starts_with("a.md5: no usable record (7 bad"), "{e}");
    }

    #[test]
    fn most_bad_is_refused_half_is_not() {
        assert_eq!(check_usable("l", 5, 5, 0), Ok(()));
        assert_eq!(check_usable("l", 1000, 1, 0), Ok(()));
        let e = check_usable("l", 5, 6, 0).unwrap_err();
        assert_eq!(e, UnusableImport::MostlyBad { path: "l".into(), records: 5, bad_records: 6 });
        assert!(e.to_string().contains("6 of 11 records are bad and only 5 usable"), "{e}");
    }
}
