//! The examiner's read-only scan.
