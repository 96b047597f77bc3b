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
pub mod shard;

pub use build::{
    BuildError, BuildOptions, BuildReport, Builder, KindStats, PdqIndexLayout, ReportedBadRecord,
    SourceId,
};
pub use format::MetaRef;
pub use read::{
    EntryId, KindCount, MappedRefSet, Membership, Provenance, RefSet, RefSetInfo, RefsetError,
    SetInfo,
};
pub use search::{
    DEFAULT_PDQ_RADIUS, DEFAULT_U64_RADIUS, Found, Hit, PdqMatch, PdqStrategy, U64Match,
    WindowMatch, scan_kernel_name, set_pdq_prefetch_distance,
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
    /// The name used in reports, the provenance and `mh` options: `"alert"` or `"ignore"`.
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
    /// MD5 digest, 16 bytes.
    Md5,
    /// SHA-1 digest, 20 bytes.
    Sha1,
    /// SHA-256 digest, 32 bytes.
    Sha256,
    /// Meta's PDQ perceptual hash, 256 bits (searched by Hamming radius).
    Pdq,
    /// `imagehash` pHash, 64 bits (searched by Hamming radius).
    PHash,
    /// `imagehash` dHash (horizontal), 64 bits.
    DHash,
    /// `imagehash` average hash, 64 bits.
    AHash,
    /// Microsoft PhotoDNA, 144 bytes, as VICS sets carry it; exact lookup only (mediahash
    /// does not compute PhotoDNA, so a scan never matches on it by itself).
    PhotoDna,
}

impl HashKind {
    /// Every kind, in the order of the set's sections and of reports.
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

    /// The name used in reports and the provenance (`"md5"`, ..., `"photodna"`).
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
    /// MD5 digest bytes.
    Md5([u8; 16]),
    /// SHA-1 digest bytes.
    Sha1([u8; 20]),
    /// SHA-256 digest bytes.
    Sha256([u8; 32]),
    /// PDQ with its quality when the source gave one.
    Pdq {
        /// The hash, as [`crate::perceptual::pdq::PdqHash`] holds it.
        hash: [u8; 32],
        /// 0-100, if the source stated it (PDQ CSV does; signal lines do not).
        quality: Option<u8>,
    },
    /// pHash, as [`crate::perceptual::imagehash::Hash64`] holds it.
    PHash(u64),
    /// dHash, as [`crate::perceptual::imagehash::Hash64`] holds it.
    DHash(u64),
    /// Average hash, as [`crate::perceptual::imagehash::Hash64`] holds it.
    AHash(u64),
    /// PhotoDNA bytes (boxed: 144 bytes would make every value that large).
    PhotoDna(Box<[u8; 144]>),
}

impl HashValue {
    /// Which kind of hash this is (the section it goes to).
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
    /// VICS `VictimIdentified`: whether the victim shown is known to be identified.
    pub victim_identified: Option<bool>,
    /// VICS `OffenderIdentified`: whether the offender shown is known to be identified.
    pub offender_identified: Option<bool>,
    /// VICS `Series`: the series name the material belongs to.
    pub series: Option<String>,
    /// The record's identifier in its source (VICS MediaID, NSRL row, line number...).
    pub source_id: Option<String>,
    /// File name as bytes (NSRL names are not always UTF-8).
    pub file_name: Option<Vec<u8>>,
    /// File size in bytes, as the source states it (not checked against anything).
    pub file_size: Option<u64>,
    /// Free text (product name, comment).
    pub note: Option<String>,
}

/// One source record: one or more hash values of the same file, and its metadata.
/// A VICS Media entry carries MD5, SHA-1 and PhotoDNA together; a list line one hash.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Record {
    /// The file's hashes; at least one for the builder to accept the record.
    pub hashes: Vec<HashValue>,
    /// What the source says about the file.
    pub meta: EntryMeta,
}

/// A line or record an importer could not use, reported rather than dropped silently.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BadRecord {
    /// 1-based line number, or record index for structured formats.
    pub line: u64,
    /// Why it was refused, for the examiner (names the field and the value's problem).
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
    /// What a match in this source means (every record of one source has the same).
    pub disposition: Disposition,
    /// Set name shown in matches (defaults to the file name).
    pub set_name: String,
    /// Records accepted.
    pub records: u64,
    /// Records refused (see the build report for line numbers and reasons).
    pub bad_records: u64,
    /// Records skipped because their only hashes were those of the empty file (MD5, SHA-1
    /// or SHA-256 of zero bytes: they would match every empty file). Absent in sets built
    /// before it was recorded, read as 0.
    #[serde(default)]
    pub empty_file_records_skipped: u64,
    /// Format version or release the source states (NSRL VERSION row, VICS odata version).
    pub source_version: Option<String>,
}
