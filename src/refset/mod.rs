//! Reference sets: the hash sets an examiner receives, compiled into one `.mhset` file
//! (designed to be used in place, in memory or mapped) for exact digest lookup and
//! Hamming-radius search.
//!
//! * [`format`](mod@format): the on-disk layout (magic, version, section table, trailer checksum).
//! * [`build`]: a streaming, bounded-memory builder fed [`Record`]s by the importers.
//! * [`read`]: the reader, generic over `AsRef<[u8]>` (a `Vec` in tests). Files open as a
//!   private read-only copy ([`RefSet::open`], safe) or, by explicit opt-in, as a map of the
//!   file itself ([`RefSet::open_mapped`], `unsafe`: the file must stay unchanged).
//! * [`search`]: exact lookup and PDQ / 64-bit Hamming-radius search.
//!
//! The types in this file are the contract between the importers ([`crate::import`]) and
//! the builder: an importer turns each source record into one [`Record`].

pub mod build;
pub mod format;
pub mod read;
pub mod search;

pub use build::{
    BuildError, BuildOptions, BuildReport, Builder, KindStats, ReportedBadRecord, SourceId,
};
pub use format::MetaRef;
pub use read::{
    EntryId, KindCount, MappedRefSet, Membership, Provenance, RefSet, RefSetInfo, RefsetError,
    SetInfo,
};
pub use search::{
    DEFAULT_PDQ_RADIUS, DEFAULT_U64_RADIUS, Found, Hit, PdqMatch, PdqStrategy, U64Match,
    scan_kernel_name,
};

use serde::{Deserialize, Serialize};

/// What the examiner wants done with a file that matches a set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Disposition {
    /// Known material of interest (e.g. Project VIC / CAID categories, NCMEC lists).
    Alert,
    /// Known harmless (e.g. NIST NSRL): set aside.
    Ignore,
}

impl Disposition {
    pub fn as_str(self) -> &'static str {
        match self {
            Disposition::Alert => "alert",
            Disposition::Ignore => "ignore",
        }
    }
}

/// The kinds of hash a reference set holds, each in its own section.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HashKind {
    Md5,
    Sha1,
    Sha256,
    Pdq,
    PHash,
    DHash,
    AHash,
    PhotoDna,
}

impl HashKind {
    pub const ALL: [HashKind; 8] = [
        HashKind::Md5,
        HashKind::Sha1,
        HashKind::Sha256,
        HashKind::Pdq,
        HashKind::PHash,
        HashKind::DHash,
        HashKind::AHash,
        HashKind::PhotoDna,
    ];

    /// Size of one value in bytes.
    pub fn value_len(self) -> usize {
        match self {
            HashKind::Md5 => 16,
            HashKind::Sha1 => 20,
            HashKind::Sha256 | HashKind::Pdq => 32,
            HashKind::PHash | HashKind::DHash | HashKind::AHash => 8,
            HashKind::PhotoDna => 144,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            HashKind::Md5 => "md5",
            HashKind::Sha1 => "sha1",
            HashKind::Sha256 => "sha256",
            HashKind::Pdq => "pdq",
            HashKind::PHash => "phash",
            HashKind::DHash => "dhash",
            HashKind::AHash => "ahash",
            HashKind::PhotoDna => "photodna",
        }
    }
}

/// One hash value of a reference record. Byte layouts: digests as their raw bytes; PDQ as
/// the 32 bytes of its hex form decoded (C++ `Hash256::format()` order, as FAISS stores it);
/// 64-bit hashes as the `u64` whose hex form (MSB first) imagehash prints.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HashValue {
    Md5([u8; 16]),
    Sha1([u8; 20]),
    Sha256([u8; 32]),
    /// PDQ with its quality when the source gave one.
    Pdq {
        hash: [u8; 32],
        quality: Option<u8>,
    },
    PHash(u64),
    DHash(u64),
    AHash(u64),
    PhotoDna(Box<[u8; 144]>),
}

impl HashValue {
    pub fn kind(&self) -> HashKind {
        match self {
            HashValue::Md5(_) => HashKind::Md5,
            HashValue::Sha1(_) => HashKind::Sha1,
            HashValue::Sha256(_) => HashKind::Sha256,
            HashValue::Pdq { .. } => HashKind::Pdq,
            HashValue::PHash(_) => HashKind::PHash,
            HashValue::DHash(_) => HashKind::DHash,
            HashValue::AHash(_) => HashKind::AHash,
            HashValue::PhotoDna(_) => HashKind::PhotoDna,
        }
    }

    /// The stored bytes (64-bit hashes big-endian, so byte order equals hex order).
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            HashValue::Md5(v) => v.to_vec(),
            HashValue::Sha1(v) => v.to_vec(),
            HashValue::Sha256(v) => v.to_vec(),
            HashValue::Pdq { hash, .. } => hash.to_vec(),
            HashValue::PHash(v) | HashValue::DHash(v) | HashValue::AHash(v) => {
                v.to_be_bytes().to_vec()
            }
            HashValue::PhotoDna(v) => v.to_vec(),
        }
    }
}

/// Descriptive fields a source may carry for an entry. All optional: NSRL has a file name
/// and product, VICS a category and victim/series fields, plain lists nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct EntryMeta {
    /// Category as the source states it (VICS: 0-4 in the Default profile, or the profile's code).
    pub category: Option<String>,
    /// The categorisation profile the category belongs to (VICS 2.0: "Default", "US", "UK", ...).
    pub profile: Option<String>,
    pub victim_identified: Option<bool>,
    pub offender_identified: Option<bool>,
    pub series: Option<String>,
    /// The record's identifier in its source (VICS MediaID, NSRL row, line number...).
    pub source_id: Option<String>,
    /// File name as bytes (NSRL names are not always UTF-8).
    pub file_name: Option<Vec<u8>>,
    pub file_size: Option<u64>,
    /// Free text (product name, comment).
    pub note: Option<String>,
}

/// One source record: one or more hash values of the same file, and its metadata.
/// A VICS Media entry carries MD5, SHA-1 and PhotoDNA together; a list line one hash.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Record {
    pub hashes: Vec<HashValue>,
    pub meta: EntryMeta,
}

/// A line or record an importer could not use, reported rather than dropped silently.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BadRecord {
    /// 1-based line number, or record index for structured formats.
    pub line: u64,
    pub reason: String,
}

/// What one imported source file was, for the provenance section and reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceInfo {
    /// The file's name as given (path as the examiner typed it).
    pub name: String,
    /// Detected or forced format (e.g. "vics-json-2.0", "nsrl-rdsv3-sqlite", "md5sum").
    pub format: String,
    /// SHA-256 of the source file, hex.
    pub sha256: String,
    pub disposition: Disposition,
    /// Set name shown in matches (defaults to the file name).
    pub set_name: String,
    /// Records accepted.
    pub records: u64,
    /// Records refused (see the build report for line numbers and reasons).
    pub bad_records: u64,
    /// Format version or release the source states (NSRL VERSION row, VICS odata version).
    pub source_version: Option<String>,
}
