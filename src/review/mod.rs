//! The examiner's review report (issue #13): a static, self-contained HTML page
//! (`index.html` and a `thumbs/` folder, no network, no external script or font) made from
//! a JSON Lines scan report.
//!
//! ```text
//! REPORT.jsonl ─▶ Review::from_report (typed records kept for pictures and errors)
//!                   │ unknown pictures clustered (crate::cluster, the scan's PDQ radius)
//!                   │ "look here first" queue: near misses of alert pictures, clusters by
//!                   │ size, the rest
//!                   ▼
//!                 thumbs::make (evidence re-read read-only, checked against the SHA-256)
//!                   ▼
//!                 html::write ─▶ OUT/index.html, OUT/thumbs/NNNNNNNN.jpg
//! ```
//!
//! The page shows every picture blurred and in greyscale until the examiner reveals it;
//! marks (reviewed, alert, ignore) stay in the browser's `localStorage` and are exported as
//! a JSON download, never written beside the evidence. Everything taken from evidence
//! (names are bytes) reaches the page as JSON data set with `textContent`, or HTML-escaped;
//! a Content-Security-Policy allows only the page's own script (by hash).
//!
//! ```no_run
//! use mediahash::review::{ReviewOptions, write_review};
//! let summary = write_review(
//!     std::path::Path::new("case-123.jsonl"),
//!     std::path::Path::new("/cases/123/review"),
//!     &ReviewOptions::default(),
//!     &[],
//! )?;
//! println!("{} pictures to review of {}", summary.triage.to_review, summary.triage.pictures);
//! # Ok::<(), mediahash::review::ReviewError>(())
//! ```

pub mod html;
pub mod thumbs;

use std::collections::BTreeMap;
use std::io::{self, BufRead};
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::report::jsonl::{JsonlReader, ReadError, ReportItem};
use crate::report::{EntryDisposition, EntryRecord, Footer, Header};
use crate::scan::LoadedReference;

/// Default upper bound of the "near miss" PDQ distance to an alert picture.
pub const DEFAULT_NEAR_MISS: u32 = 70;

/// How to build a review.
#[derive(Debug, Clone)]
pub struct ReviewOptions {
    /// PDQ distance up to which an unknown picture counts as a near miss of an alert
    /// picture of the same report (shown first, nearest first). Default
    /// [`DEFAULT_NEAR_MISS`].
    pub near_miss: u32,
    /// Clustering radius; `None`: the scan's PDQ match radius from the report header.
    pub cluster_radius: Option<u32>,
    /// Longest side of a thumbnail in pixels (default 128).
    pub thumb_size: u32,
    /// Make no thumbnails (every picture shows its placeholder): for tests and quick looks.
    pub no_thumbnails: bool,
    /// Threads for thumbnails and clustering (0: one per core).
    pub threads: usize,
    /// Evidence roots besides the report's own, under which the output must not lie.
    pub extra_roots: Vec<PathBuf>,
}

impl Default for ReviewOptions {
    fn default() -> Self {
        ReviewOptions {
            near_miss: DEFAULT_NEAR_MISS,
            cluster_radius: None,
            thumb_size: 128,
            no_thumbnails: false,
            threads: 0,
            extra_roots: Vec::new(),
        }
    }
}

/// Why a review could not be made.
#[derive(Debug, Error)]
pub enum ReviewError {
    /// The report could not be opened or read.
    #[error("cannot read the report {path}: {source}; give the JSON Lines report of mh scan")]
    ReportIo {
        /// The report.
        path: PathBuf,
        /// What failed.
        source: io::Error,
    },
    /// A line of the report is not a report record.
    #[error("{path}: {source}; the review needs an intact JSON Lines report (--format jsonl)")]
    ReportLine {
        /// The report.
        path: PathBuf,
        /// The line and what is wrong with it.
        source: ReadError,
    },
    /// The report has no header line.
    #[error("{path} has no header record; give the JSON Lines report of mh scan")]
    NoHeader {
        /// The report.
        path: PathBuf,
    },
    /// The output folder lies under an evidence root.
    #[error("{0}")]
    OutputInsideEvidence(crate::scan::ScanError),
    /// The output folder exists and is not empty.
    #[error(
        "the output folder {dir} exists and is not empty; choose a new folder (reviews are never overwritten)"
    )]
    OutputNotEmpty {
        /// The folder.
        dir: PathBuf,
    },
    /// Writing the output failed.
    #[error("cannot write the review into {dir}: {source}")]
    Write {
        /// The output folder.
        dir: PathBuf,
        /// What failed.
        source: io::Error,
    },
    /// The thread pool could not be started.
    #[error("cannot start {threads} threads: {message}")]
    ThreadPool {
        /// Threads asked for.
        threads: usize,
        /// The pool's error.
        message: String,
    },
}

/// One picture, error or alert as the review keeps it.
#[derive(Debug, Clone)]
pub struct ReviewItem {
    /// Position of the record in the report (0 = first entry after the header).
    pub ordinal: u64,
    /// The record.
    pub record: EntryRecord,
    /// Cluster id among the unknown pictures (numbered from 1 in path order).
    pub cluster: Option<u64>,
    /// Nearest alert by PDQ (an alert picture of the report, or an alert hash of a
    /// reference set given to the review) when within [`ReviewOptions::near_miss`].
    pub near_alert: Option<(u32, NearTo)>,
}

/// What an unknown picture is a near miss of.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum NearTo {
    /// An alert picture of the same report (index into [`Review::items`]).
    Picture(usize),
    /// An alert hash of a reference set (the set's name).
    Set(String),
}

/// A unit of the "look here first" queue: one unknown picture, or one cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueUnit {
    /// Indexes into [`Review::items`], in report order; the first is the representative.
    pub members: Vec<usize>,
    /// The cluster id, for clusters.
    pub cluster: Option<u64>,
    /// The smallest distance of a member to an alert, which member (index into
    /// [`Review::items`]) and which alert, when within [`ReviewOptions::near_miss`].
    pub near_miss: Option<(u32, usize, NearTo)>,
}

/// Alerts of one set and category.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertGroup {
    /// The set's name.
    pub set: String,
    /// The category, when the set gives one.
    pub category: Option<String>,
    /// Indexes into [`Review::items`], in report order.
    pub items: Vec<usize>,
}

/// The triage figure: what a person has to open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Triage {
    /// Entries that are pictures (an image format was recognised), any disposition.
    pub pictures: u64,
    /// Alerts to confirm (each alert entry).
    pub alerts: u64,
    /// Units of unknown pictures to look at: clusters plus pictures in no cluster.
    pub unknown_units: u64,
    /// Unknown pictures in all.
    pub unknown_pictures: u64,
    /// `alerts + unknown_units`: "pictures to review".
    pub to_review: u64,
}

impl Triage {
    /// `to_review` as a percentage of `pictures` (0 when there are none).
    pub fn percent(&self) -> f64 {
        if self.pictures == 0 { 0.0 } else { 100.0 * self.to_review as f64 / self.pictures as f64 }
    }
}

impl std::fmt::Display for Triage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "pictures to review: {} of {} ({:.1}%): {} alerts to confirm + {} unknown units ({} unknown pictures in clusters and alone)",
            self.to_review,
            self.pictures,
            self.percent(),
            self.alerts,
            self.unknown_units,
            self.unknown_pictures
        )
    }
}

/// Counts the triage figure from records as a scan emits them (for `mh scan`'s summary):
/// the same rule as [`Review`] (unknown pictures clustered by PDQ within the radius).
#[derive(Debug, Clone, Default)]
pub struct TriageCounter {
    triage: Triage,
    /// Usable PDQ hashes of unknown pictures (32 bytes each).
    hashes: Vec<[u8; 32]>,
}

impl TriageCounter {
    /// Counts one record.
    pub fn add(&mut self, record: &EntryRecord) {
        if is_picture(record) {
            self.triage.pictures += 1;
        }
        match record.disposition {
            EntryDisposition::Alert => self.triage.alerts += 1,
            EntryDisposition::UnknownImage => {
                self.triage.unknown_pictures += 1;
                if let Some(h) = pdq_usable(record) {
                    self.hashes.push(h);
                }
            }
            _ => {}
        }
    }

    /// The figure, clustering the unknown pictures within `radius`.
    pub fn finish(self, radius: u32) -> Triage {
        let clusters = crate::cluster::cluster_pdq(&self.hashes, radius);
        let mut t = self.triage;
        t.unknown_units = t.unknown_pictures - clusters.clustered() + clusters.count();
        t.to_review = t.alerts + t.unknown_units;
        t
    }
}

/// A report prepared for review: kept records, clusters, queue and groups.
#[derive(Debug, Clone)]
pub struct Review {
    /// The report's header.
    pub header: Header,
    /// The report's footer (`None` when the report ends without one: an interrupted write).
    pub footer: Option<Footer>,
    /// Alerts, unknown pictures and errors, in report order.
    pub items: Vec<ReviewItem>,
    /// Entries in the report (all dispositions).
    pub entries: u64,
    /// Alert groups, by set then category.
    pub alert_groups: Vec<AlertGroup>,
    /// The "look here first" order of unknown pictures.
    pub queue: Vec<QueueUnit>,
    /// Indexes of error items.
    pub errors: Vec<usize>,
    /// The triage figure.
    pub triage: Triage,
    /// The clustering radius used.
    pub cluster_radius: u32,
}

/// Whether a record is a picture (for the triage figure's "out of all pictures").
pub fn is_picture(record: &EntryRecord) -> bool {
    record.image_format.is_some() || record.disposition == EntryDisposition::UnknownImage
}

fn pdq_usable(record: &EntryRecord) -> Option<[u8; 32]> {
    let q = record.pdq_quality?;
    (q >= crate::scan::PDQ_QUALITY_THRESHOLD).then_some(record.pdq?.0)
}

impl Review {
    /// A path of the report (an evidence root or an entry's path, as bytes) on this
    /// machine: a relative one is taken from the directory the scan ran in
    /// ([`Header::working_directory`]), so the review runs from any directory; reports
    /// that do not record it leave it relative to the current directory.
    pub fn evidence_path(&self, recorded: &[u8]) -> PathBuf {
        let path = crate::pathbytes::path_from_bytes(recorded);
        match &self.header.working_directory {
            Some(dir) if path.is_relative() => Path::new(dir).join(path),
            _ => path,
        }
    }

    /// Reads a JSON Lines report and prepares the review (clusters on rayon's current
    /// pool).
    /// `references`: sets whose alert PDQ hashes also count for near misses (searched
    /// within [`ReviewOptions::near_miss`] for every unknown picture; may be empty).
    pub fn from_report(
        path: &Path,
        options: &ReviewOptions,
        references: &[LoadedReference],
    ) -> Result<Review, ReviewError> {
        let file = std::fs::File::open(path)
            .map_err(|source| ReviewError::ReportIo { path: path.to_path_buf(), source })?;
        Review::from_reader(io::BufReader::new(file), path, options, references)
    }

    /// As [`Review::from_report`] from any reader (`name` is used in errors).
    pub fn from_reader<R: BufRead>(
        input: R,
        name: &Path,
        options: &ReviewOptions,
        references: &[LoadedReference],
    ) -> Result<Review, ReviewError> {
        let mut header = None;
        let mut footer = None;
        let mut items = Vec::new();
        let mut entries = 0u64;
        let mut pictures = 0u64;
        for item in JsonlReader::new(input) {
            let item = item
                .map_err(|source| ReviewError::ReportLine { path: name.to_path_buf(), source })?;
            match item {
                ReportItem::Header(h) => header = Some(*h),
                ReportItem::Footer(f) => footer = Some(*f),
                ReportItem::Entry(record) => {
                    let ordinal = entries;
                    entries += 1;
                    if is_picture(&record) {
                        pictures += 1;
                    }
                    let keep = matches!(
                        record.disposition,
                        EntryDisposition::Alert
                            | EntryDisposition::UnknownImage
                            | EntryDisposition::Error
                    );
                    if keep {
                        items.push(ReviewItem {
                            ordinal,
                            record: *record,
                            cluster: None,
                            near_alert: None,
                        });
                    }
                }
            }
        }
        let header = header.ok_or_else(|| ReviewError::NoHeader { path: name.to_path_buf() })?;
        let radius = options.cluster_radius.unwrap_or(header.options.pdq_radius);
        let mut review = Review {
            header,
            footer,
            items,
            entries,
            alert_groups: Vec::new(),
            queue: Vec::new(),
            errors: Vec::new(),
            triage: Triage { pictures, ..Default::default() },
            cluster_radius: radius,
        };
        review.prepare(options, references);
        Ok(review)
    }

    fn prepare(&mut self, options: &ReviewOptions, references: &[LoadedReference]) {
        let unknown: Vec<usize> = (0..self.items.len())
            .filter(|&i| self.items[i].record.disposition == EntryDisposition::UnknownImage)
            .collect();
        let alerts: Vec<usize> = (0..self.items.len())
            .filter(|&i| self.items[i].record.disposition == EntryDisposition::Alert)
            .collect();
        self.errors = (0..self.items.len())
            .filter(|&i| self.items[i].record.disposition == EntryDisposition::Error)
            .collect();

        // Clusters: the scan's rule (unknown pictures with a usable PDQ, in report order).
        let points: Vec<usize> = unknown
            .iter()
            .copied()
            .filter(|&i| pdq_usable(&self.items[i].record).is_some())
            .collect();
        let hashes: Vec<[u8; 32]> =
            points.iter().filter_map(|&i| pdq_usable(&self.items[i].record)).collect();
        let clusters = crate::cluster::cluster_pdq(&hashes, self.cluster_radius);
        for (&i, id) in points.iter().zip(&clusters.ids) {
            self.items[i].cluster = *id;
        }

        // Near misses: every unknown picture against the alert pictures of the report and the
        // alert PDQ hashes of the sets, in one blocked pass (crate::cluster::nearest_within)
        // over a haystack ordered by preference (pictures, then sets by name), so ties go
        // where a per-needle minimum of (distance, NearTo) would send them.
        let mut targets: Vec<(NearTo, [u8; 32])> = alerts
            .iter()
            .filter_map(|&i| self.items[i].record.pdq.map(|p| (NearTo::Picture(i), p.0)))
            .collect();
        let mut per_needle = Vec::new();
        for r in references {
            // A set that fails here failed the scan too; it adds no near miss.
            match r.index.alert_pdq_hashes() {
                Ok(Some(hashes)) => {
                    targets.extend(hashes.into_iter().map(|(h, set)| (NearTo::Set(set), h)));
                }
                Ok(None) => per_needle.push(r),
                Err(_) => {}
            }
        }
        if !targets.is_empty() || !per_needle.is_empty() {
            use rayon::prelude::*;
            targets.sort_by(|a, b| a.0.cmp(&b.0));
            let (names, haystack): (Vec<NearTo>, Vec<[u8; 32]>) = targets.into_iter().unzip();
            let needles: Vec<[u8; 32]> =
                points.iter().filter_map(|&i| pdq_usable(&self.items[i].record)).collect();
            let batch = crate::cluster::nearest_within(&needles, &haystack, options.near_miss);
            let near: Vec<Option<(u32, NearTo)>> = needles
                .par_iter()
                .zip(batch)
                .map(|(h, found)| {
                    let found = found.map(|(d, at)| (d, names[at].clone()));
                    let needle = [crate::perceptual::pdq::PdqHash(*h)];
                    let others = per_needle.iter().filter_map(|r| {
                        let found = r.index.search_pdq(&needle, options.near_miss, 8).ok()?;
                        found
                            .into_iter()
                            .filter(|(_, m)| m.disposition == crate::refset::Disposition::Alert)
                            .filter_map(|(_, m)| Some((m.distance?, NearTo::Set(m.set))))
                            .min()
                    });
                    found.into_iter().chain(others).min().filter(|(d, _)| *d <= options.near_miss)
                })
                .collect();
            for (&i, n) in points.iter().zip(near) {
                self.items[i].near_alert = n;
            }
        }

        // Queue units: clusters (at their first member) and single pictures.
        let mut units: Vec<QueueUnit> = Vec::new();
        let mut unit_of_cluster: BTreeMap<u64, usize> = BTreeMap::new();
        for &i in &unknown {
            match self.items[i].cluster {
                Some(c) => match unit_of_cluster.get(&c) {
                    Some(&u) => units[u].members.push(i),
                    None => {
                        unit_of_cluster.insert(c, units.len());
                        units.push(QueueUnit {
                            members: vec![i],
                            cluster: Some(c),
                            near_miss: None,
                        });
                    }
                },
                None => units.push(QueueUnit { members: vec![i], cluster: None, near_miss: None }),
            }
        }
        for unit in &mut units {
            unit.near_miss = unit
                .members
                .iter()
                .filter_map(|&m| self.items[m].near_alert.clone().map(|(d, a)| (d, m, a)))
                .min();
        }
        // Near misses nearest first, then clusters largest first, then the rest; ties in
        // report order (units are built in report order of their first member).
        let rank = |u: &QueueUnit| match (&u.near_miss, u.members.len()) {
            (Some((d, _, _)), _) => (0, u64::from(*d)),
            (None, n) if n >= 2 => (1, u64::MAX - n as u64),
            _ => (2, 0),
        };
        units.sort_by_key(|u| rank(u));
        self.queue = units;

        // Alerts by (set, category) of their first alert match.
        let mut groups: BTreeMap<(String, Option<String>), Vec<usize>> = BTreeMap::new();
        for &i in &alerts {
            let first = self.items[i]
                .record
                .matches
                .iter()
                .find(|m| m.disposition == crate::refset::Disposition::Alert);
            let key = first
                .map(|m| (m.set.clone(), m.category.clone()))
                .unwrap_or_else(|| ("(no alert match recorded)".to_string(), None));
            groups.entry(key).or_default().push(i);
        }
        self.alert_groups = groups
            .into_iter()
            .map(|((set, category), items)| AlertGroup { set, category, items })
            .collect();

        self.triage.alerts = alerts.len() as u64;
        self.triage.unknown_pictures = unknown.len() as u64;
        self.triage.unknown_units = self.queue.len() as u64;
        self.triage.to_review = self.triage.alerts + self.triage.unknown_units;
    }
}

/// What [`write_review`] made.
#[derive(Debug, Clone)]
pub struct ReviewSummary {
    /// The page.
    pub index: PathBuf,
    /// Thumbnails written.
    pub thumbnails: u64,
    /// Pictures shown with a placeholder instead (with the reason on the page).
    pub placeholders: u64,
    /// The triage figure.
    pub triage: Triage,
    /// Evidence roots of the report (relative ones from the directory the scan ran in, or
    /// from the current directory for reports that do not record it) that do not exist
    /// here: their pictures have placeholders, and the output folder could not be checked
    /// against them.
    pub missing_roots: Vec<String>,
}

/// Refuses an output folder under an evidence root (the report's roots and `extra_roots`)
/// or one that exists and is not empty; creates it.
pub fn prepare_output(dir: &Path, roots: &[PathBuf]) -> Result<(), ReviewError> {
    crate::scan::ensure_work_dir_outside_evidence(dir, roots)
        .map_err(ReviewError::OutputInsideEvidence)?;
    let write_err = |source| ReviewError::Write { dir: dir.to_path_buf(), source };
    match std::fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(ReviewError::OutputNotEmpty { dir: dir.to_path_buf() });
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dir).map_err(write_err)?
        }
        Err(e) => return Err(write_err(e)),
    }
    std::fs::create_dir(dir.join("thumbs")).map_err(write_err)
}

/// Reads `report` (JSON Lines), makes thumbnails from the evidence (read-only) and writes
/// `out/index.html`. The output folder must be new or empty and outside every evidence
/// root the report names.
/// `references`: sets whose alert PDQ hashes also make near misses (may be empty).
pub fn write_review(
    report: &Path,
    out: &Path,
    options: &ReviewOptions,
    references: &[LoadedReference],
) -> Result<ReviewSummary, ReviewError> {
    let threads = if options.threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        options.threads
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| ReviewError::ThreadPool { threads, message: e.to_string() })?;
    pool.install(|| {
        let review = Review::from_report(report, options, references)?;
        let mut roots: Vec<PathBuf> = review
            .header
            .evidence_roots
            .iter()
            .map(|r| review.evidence_path(r.as_bytes()))
            .collect();
        roots.extend(options.extra_roots.iter().cloned());
        prepare_output(out, &roots)?;
        let thumbs = thumbs::make_all(&review, out, options);
        let index = out.join("index.html");
        html::write(&review, &thumbs, &index)
            .map_err(|source| ReviewError::Write { dir: out.to_path_buf(), source })?;
        let made = thumbs.iter().filter(|t| matches!(t, thumbs::Thumb::Made(_))).count() as u64;
        Ok(ReviewSummary {
            index,
            thumbnails: made,
            placeholders: thumbs
                .iter()
                .filter(|t| matches!(t, thumbs::Thumb::Placeholder(_)))
                .count() as u64,
            triage: review.triage,
            missing_roots: review
                .header
                .evidence_roots
                .iter()
                .filter(|r| !review.evidence_path(r.as_bytes()).exists())
                .cloned()
                .collect(),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perceptual::pdq::PdqHash;
    use crate::report::jsonl::JsonlWriter;
    use crate::report::{Match, ReportWriter};

    fn flip(h: [u8; 32], bits: usize, from: usize) -> [u8; 32] {
        let mut out = h;
        for b in from..from + bits {
            out[(b % 256) / 8] ^= 1 << (b % 8);
        }
        out
    }

    fn picture(path: &str, d: EntryDisposition, pdq: [u8; 32], quality: u8) -> EntryRecord {
        let mut r = EntryRecord::at(path.as_bytes());
        r.disposition = d;
        r.image_format = Some(crate::decode::ImageFormat::Jpeg);
        r.pdq = Some(PdqHash(pdq));
        r.pdq_quality = Some(quality);
        r
    }

    fn pdq_distance(a: &[u8; 32], b: &[u8; 32]) -> u32 {
        a.iter().zip(b).map(|(x, y)| (x ^ y).count_ones()).sum()
    }

    /// One stored alert hash, searched by brute force; listed for batch searches when
    /// the flag is set (else the review searches needle by needle).
    struct OneHash([u8; 32], bool);
    impl crate::scan::ReferenceIndex for OneHash {
        fn alert_pdq_hashes(
            &self,
        ) -> Result<Option<crate::scan::AlertPdqHashes>, crate::refset::read::RefsetError> {
            Ok(self.1.then(|| vec![(self.0, "fake-set".to_string())]))
        }
        fn lookup(
            &self,
            _: &crate::refset::HashValue,
        ) -> Result<Vec<Match>, crate::refset::read::RefsetError> {
            Ok(Vec::new())
        }
        fn search_pdq(
            &self,
            needles: &[PdqHash],
            radius: u32,
            _limit: usize,
        ) -> Result<Vec<(usize, Match)>, crate::refset::read::RefsetError> {
            let d = pdq_distance(&needles[0].0, &self.0);
            Ok((d <= radius).then(|| (0, alert_match("fake-set", Some(d)))).into_iter().collect())
        }
        fn search_u64(
            &self,
            _: crate::refset::HashKind,
            _: u64,
            _: u32,
            _: usize,
        ) -> Result<Vec<Match>, crate::refset::read::RefsetError> {
            Ok(Vec::new())
        }
    }

    fn alert_match(set: &str, distance: Option<u32>) -> Match {
        Match {
            reference: 0,
            set: set.into(),
            disposition: crate::refset::Disposition::Alert,
            hash: crate::refset::HashKind::Md5,
            distance,
            transform: None,
            robust: None,
            category: None,
            profile: None,
            victim_identified: None,
            offender_identified: None,
            series: None,
            source_id: None,
            note: None,
        }
    }

    #[test]
    fn look_here_first_order_and_triage() {
        for listed in [false, true] {
            look_here_first_order_and_triage_with(listed);
        }
    }

    fn look_here_first_order_and_triage_with(listed: bool) {
        let a = [0x5a_u8; 32];
        let b = [0x33_u8; 32];
        let c = [0x0f_u8; 32];
        let mut alert = picture("e/alert.jpg", EntryDisposition::Alert, a, 100);
        alert.matches.push(alert_match("known", None));
        let x = [0xc3_u8; 32];
        let u = EntryDisposition::UnknownImage;
        let records = vec![
            picture("e/a-single.jpg", u, c, 90),
            picture("e/b1.jpg", u, b, 90),
            picture("e/b2.jpg", u, flip(b, 3, 0), 90),
            picture("e/b3.jpg", u, flip(b, 20, 100), 90),
            picture("e/far.jpg", u, flip(a, 90, 150), 90),
            picture("e/near60.jpg", u, flip(a, 60, 10), 90),
            picture("e/near40.jpg", u, flip(a, 40, 50), 90),
            picture("e/flat.jpg", u, flip(a, 1, 0), 10),
            picture("e/set-near.jpg", u, flip(x, 50, 0), 90),
            alert,
            EntryRecord::at(b"e/broken.jpg".to_vec()),
        ];
        let mut w = JsonlWriter::new(Vec::new());
        let header = Header {
            options: crate::report::OptionsRecord { pdq_radius: 31, ..Default::default() },
            ..Default::default()
        };
        w.header(&header).unwrap();
        for r in &records {
            w.entry(r).unwrap();
        }
        w.footer(&Footer::default()).unwrap();
        let bytes = w.into_inner();
        let reference = LoadedReference {
            provenance: crate::report::ReferenceProvenance {
                path: "fake.mhset".into(),
                sha256: String::new(),
                kind: "mhset".into(),
                disposition: None,
                sources: Vec::new(),
            },
            index: Box::new(OneHash(x, listed)),
        };
        let review = Review::from_reader(
            &bytes[..],
            Path::new("r.jsonl"),
            &ReviewOptions::default(),
            std::slice::from_ref(&reference),
        )
        .unwrap();
        let names: Vec<Vec<String>> = review
            .queue
            .iter()
            .map(|unit| {
                unit.members
                    .iter()
                    .map(|&i| review.items[i].record.path_text().into_owned())
                    .collect()
            })
            .collect();
        let expect = [
            vec!["e/near40.jpg"],
            vec!["e/set-near.jpg"],
            vec!["e/near60.jpg"],
            vec!["e/b1.jpg", "e/b2.jpg", "e/b3.jpg"],
            vec!["e/a-single.jpg"],
            vec!["e/far.jpg"],
            vec!["e/flat.jpg"],
        ];
        assert_eq!(names, expect.map(|v| v.iter().map(|s| s.to_string()).collect::<Vec<_>>()));
        assert_eq!(review.queue[0].near_miss.as_ref().map(|n| n.0), Some(40));
        assert_eq!(review.queue[1].near_miss, Some((50, 8, NearTo::Set("fake-set".into()))));
        assert_eq!(review.queue[2].near_miss.as_ref().map(|n| n.0), Some(60));
        assert_eq!(review.queue[3].cluster, Some(1));
        // Pictures: 9 unknown + 1 alert (the error record has no format).
        let t = review.triage;
        assert_eq!((t.pictures, t.alerts, t.unknown_pictures, t.unknown_units), (10, 1, 9, 7));
        assert_eq!(t.to_review, 8);
        let mut counter = TriageCounter::default();
        records.iter().for_each(|r| counter.add(r));
        assert_eq!(counter.finish(31), t, "mh scan's figure is the review's");
        assert_eq!(review.errors.len(), 1);
        assert_eq!(review.alert_groups[0].set, "known");
    }
}
