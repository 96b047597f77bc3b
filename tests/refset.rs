//! `.mhset` reference sets: building, lookup, search, and hostile files.

mod common;

use common::rng::Rng;
use mediahash::refset::format::{self, SectionEntry, kind};
use mediahash::refset::{
    BadRecord, BuildError, BuildOptions, Builder, Disposition, EntryMeta, HashKind, HashValue,
    PdqIndexLayout, PdqStrategy, Record, RefSet, RefsetError, SourceId, SourceInfo,
};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

use common::source;

fn options() -> BuildOptions {
    BuildOptions { build_time: Some(1_700_000_000), ..BuildOptions::default() }
}

/// Deterministic bytes from a seed.
fn bytes_from<const N: usize>(seed: u64) -> [u8; N] {
    Rng::from_seed(seed).array()
}

/// The records of the functional test: three sets, values shared across them.
fn three_set_records() -> Vec<(usize, Record)> {
    let mut out = Vec::new();
    for i in 0..300u64 {
        // Set 0 "VICS" (alert): MD5 + SHA-1 + PhotoDNA, category and profile.
        let (src, hashes, meta) = match i % 3 {
            0 => (
                0,
                vec![
                    HashValue::Md5(bytes_from(i / 2)),
                    HashValue::Sha1(bytes_from(1000 + i)),
                    HashValue::PhotoDna(Box::new(bytes_from(2000 + i % 10))),
                ],
                EntryMeta {
                    category: Some((i % 5).to_string()),
                    profile: Some("Default".into()),
                    victim_identified: Some(i % 2 == 0),
                    series: (i % 7 == 0).then(|| format!("series {}", i % 4)),
                    source_id: Some(format!("media-{i}")),
                    ..EntryMeta::default()
                },
            ),
            // Set 1 "Local" (alert): MD5 (half shared with set 0) and PDQ with quality.
            1 => (
                1,
                vec![
                    HashValue::Md5(bytes_from(i / 2)),
                    HashValue::Pdq {
                        hash: bytes_from(3000 + i % 20),
                        quality: Some((i % 101) as u8),
                    },
                    HashValue::PHash(i % 25),
                ],
                EntryMeta { note: Some(format!("case {}", i % 3)), ..EntryMeta::default() },
            ),
            // Set 2 "NSRL" (ignore): SHA-1 (some shared with set 0), SHA-256, file names.
            _ => (
                2,
                vec![
                    HashValue::Sha1(bytes_from(1000 + i - 2)),
                    HashValue::Sha256(bytes_from(4000 + i % 50)),
                ],
                EntryMeta {
                    file_name: Some(format!("file{}.dll", i % 11).into_bytes()),
                    file_size: Some(i * 1000),
                    ..EntryMeta::default()
                },
            ),
        };
        out.push((src, Record { hashes, meta }));
        // Exact duplicates (same source, same metadata) of a few records.
        if i % 50 == 0 {
            out.push(out.last().cloned().expect("just pushed"));
        }
    }
    // A plain hash list in the NSRL set: no metadata at all.
    for i in 0..40u64 {
        out.push((
            3,
            Record { hashes: vec![HashValue::Md5(bytes_from(i))], meta: EntryMeta::default() },
        ));
    }
    out
}

fn three_set_sources() -> Vec<SourceInfo> {
    vec![
        source("vics.json", "VICS", Disposition::Alert),
        source("local.csv", "Local", Disposition::Alert),
        source("nsrl.db", "NSRL", Disposition::Ignore),
        source("nsrl-extra.txt", "NSRL", Disposition::Ignore),
    ]
}

fn build_three_sets(opts: BuildOptions) -> Vec<u8> {
    let mut b = Builder::new(opts).unwrap();
    let ids: Vec<SourceId> =
        three_set_sources().into_iter().map(|s| b.add_source(s).unwrap()).collect();
    for (src, rec) in three_set_records() {
        b.add(ids[src], rec).unwrap();
    }
    b.finish_to_vec().unwrap().0
}

fn small_file() -> Vec<u8> {
    let mut b = Builder::new(options()).unwrap();
    let a = b.add_source(source("a", "A", Disposition::Alert)).unwrap();
    let n = b.add_source(source("n", "N", Disposition::Ignore)).unwrap();
    for i in 0..6u64 {
        let meta = EntryMeta { category: Some(i.to_string()), ..EntryMeta::default() };
        let hashes = vec![
            HashValue::Md5(bytes_from(i)),
            HashValue::Pdq { hash: bytes_from(100 + i), quality: Some(90) },
            HashValue::DHash(i),
        ];
        b.add(a, Record { hashes: hashes.clone(), meta }).unwrap();
        if i % 2 == 0 {
            b.add(n, Record { hashes, meta: EntryMeta::default() }).unwrap();
        }
    }
    b.finish_to_vec().unwrap().0
}

/// Exercises every read path; must never panic whatever the bytes.
fn poke<B: AsRef<[u8]>>(set: &RefSet<B>) {
    let _ = set.info();
    for i in 0..8u64 {
        let _ = set.lookup(&HashValue::Md5(bytes_from(i)));
        let _ = set.lookup(&HashValue::DHash(i));
        let _ = set.lookup(&HashValue::Pdq { hash: bytes_from(100 + i), quality: None });
    }
    for m in set.search_pdq(&bytes_from(100), 256, &[bytes_from(101)]) {
        let _ = set.memberships(m.entry);
    }
    let _ = set.search_u64(HashKind::DHash, 0, 64, &[]);
    for r in 0..8 {
        let _ = set.membership(r);
    }
}

fn section_table(bytes: &[u8]) -> Vec<(usize, SectionEntry)> {
    let count = format::le_u32(&bytes[32..36]) as usize;
    (0..count)
        .map(|i| {
            let at = format::HEADER_LEN + i * format::SECTION_ENTRY_LEN;
            let raw: [u8; 32] = bytes[at..at + 32].try_into().unwrap();
            (at, SectionEntry::from_bytes(&raw))
        })
        .collect()
}

/// Recomputes the trailer checksum after a deliberate edit.
fn reseal(bytes: &mut [u8]) {
    let n = bytes.len() - 32;
    let h = blake3::hash(&bytes[..n]);
    bytes[n..].copy_from_slice(h.as_bytes());
}

// --- hostile input -------------------------------------------------------------------------

#[test]
fn every_truncation_is_an_error() {
    let bytes = small_file();
    RefSet::from_bytes(&bytes[..]).unwrap().verify().unwrap();
    for len in 0..bytes.len() {
        let err = RefSet::from_bytes(&bytes[..len]).err();
        assert!(
            matches!(err, Some(RefsetError::TooShort { .. } | RefsetError::LengthMismatch { .. })),
            "prefix of {len} bytes: {err:?}"
        );
    }
}

#[test]
fn every_flipped_byte_fails_verify_and_never_panics() {
    let bytes = small_file();
    for pos in 0..bytes.len() {
        let mut damaged = bytes.clone();
        damaged[pos] ^= 0x40;
        match RefSet::from_bytes(&damaged[..]) {
            Err(_) => {}
            Ok(set) => {
                poke(&set);
                // Whatever else is wrong, the trailer checksum no longer matches.
                let err = set.verify().err();
                assert!(
                    matches!(err, Some(RefsetError::ChecksumMismatch { .. })),
                    "flip at {pos}: {err:?}"
                );
            }
        }
    }
}

#[test]
fn structural_damage_behind_a_valid_checksum_is_found_by_verify() {
    let bytes = small_file();
    let table = section_table(&bytes);
    let entries = table
        .iter()
        .find(|(_, s)| s.kind == kind::hash_section(HashKind::Md5, kind::SUB_ENTRIES))
        .unwrap()
        .1;
    let values = table
        .iter()
        .find(|(_, s)| s.kind == kind::hash_section(HashKind::Md5, kind::SUB_VALUES))
        .unwrap()
        .1;

    // An entry id past the end: lookups of that value report it, verify fails.
    let mut forged = bytes.clone();
    let at = entries.offset as usize;
    forged[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    reseal(&mut forged);
    let set = RefSet::from_bytes(&forged[..]).unwrap();
    let first: [u8; 16] =
        forged[values.offset as usize..values.offset as usize + 16].try_into().unwrap();
    assert!(matches!(set.lookup_md5(&first), Err(RefsetError::ReferenceOutOfRange { .. })));
    assert!(matches!(set.verify(), Err(RefsetError::ReferenceOutOfRange { .. })));

    // Two values swapped: no longer sorted.
    let mut forged = bytes.clone();
    let v = values.offset as usize;
    let (a, b) = forged[v..v + 32].split_at_mut(16);
    a.swap_with_slice(b);
    reseal(&mut forged);
    let set = RefSet::from_bytes(&forged[..]).unwrap();
    poke(&set);
    assert!(matches!(set.verify(), Err(RefsetError::NotSorted { .. })));
}

#[test]
fn section_pointing_past_the_end_is_refused_at_open() {
    let bytes = small_file();
    let (at, entry) = section_table(&bytes)[1];
    let mut forged = bytes.clone();
    let past = (bytes.len() as u64).next_multiple_of(64) + 64;
    forged[at + 8..at + 16].copy_from_slice(&past.to_le_bytes());
    match RefSet::from_bytes(&forged[..]) {
        Err(RefsetError::SectionOutOfBounds { offset, length, .. }) => {
            assert_eq!((offset, length), (past, entry.length));
        }
        other => panic!("expected SectionOutOfBounds, got {:?}", other.err()),
    }
    // The section table itself past the end.
    let mut forged = bytes.clone();
    forged[24..32].copy_from_slice(&(bytes.len() as u64).to_le_bytes());
    assert!(matches!(RefSet::from_bytes(&forged[..]), Err(RefsetError::SectionOutOfBounds { .. })));
}

#[test]
fn offset_plus_length_overflow_is_refused() {
    let bytes = small_file();
    let (at, _) = section_table(&bytes)[2];
    let mut forged = bytes.clone();
    forged[at + 8..at + 16].copy_from_slice(&64u64.to_le_bytes());
    forged[at + 16..at + 24].copy_from_slice(&(u64::MAX - 8).to_le_bytes());
    assert!(matches!(RefSet::from_bytes(&forged[..]), Err(RefsetError::SectionOutOfBounds { .. })));
    // count * item length overflowing u64.
    let mut forged = bytes.clone();
    forged[at + 24..at + 32].copy_from_slice(&(u64::MAX / 2).to_le_bytes());
    assert!(matches!(RefSet::from_bytes(&forged[..]), Err(RefsetError::Corrupt { .. })));
    // Table offset near u64::MAX.
    let mut forged = bytes.clone();
    forged[24..32].copy_from_slice(&(u64::MAX - 16).to_le_bytes());
    assert!(matches!(RefSet::from_bytes(&forged[..]), Err(RefsetError::SectionOutOfBounds { .. })));
}

#[test]
fn zero_length_file_is_refused() {
    assert!(matches!(RefSet::from_bytes(Vec::new()), Err(RefsetError::TooShort { len: 0, .. })));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.mhset");
    std::fs::write(&path, b"").unwrap();
    let err = RefSet::open(&path).err().unwrap();
    assert!(matches!(err, RefsetError::TooShort { len: 0, .. }), "{err}");
    assert!(matches!(RefSet::open(dir.path().join("missing")), Err(RefsetError::Io { .. })));
}

#[test]
fn newer_version_asks_for_an_upgrade() {
    let mut bytes = small_file();
    bytes[12..16].copy_from_slice(&2u32.to_le_bytes());
    let err = RefSet::from_bytes(bytes).err().unwrap();
    assert!(matches!(err, RefsetError::NewerVersion { found: 2, supported: 1, .. }));
    assert!(err.to_string().contains("upgrade mediahash"), "{err}");
}

#[test]
fn wrong_magic_is_refused_with_a_hint() {
    let mut bytes = small_file();
    bytes[0] = b'P';
    assert!(matches!(RefSet::from_bytes(&bytes[..]), Err(RefsetError::BadMagic { .. })));
    let err = RefSet::from_bytes(&b"hello, this is a text file and not a reference set..."[..])
        .err()
        .unwrap();
    assert!(matches!(err, RefsetError::BadMagic { .. }));
    // CRLF -> LF conversion by a text-mode transfer is recognised.
    let good = small_file();
    let mut converted = good[..6].to_vec();
    converted.extend_from_slice(&good[7..]);
    let err = RefSet::from_bytes(converted).err().unwrap();
    assert!(err.to_string().contains("text-mode"), "{err}");
}

// --- functional ----------------------------------------------------------------------------

type Model = BTreeMap<(HashKind, Vec<u8>), BTreeSet<(String, String, EntryMeta)>>;

fn stored(v: &HashValue) -> Vec<u8> {
    match v {
        HashValue::PHash(x) | HashValue::DHash(x) | HashValue::AHash(x) => x.to_le_bytes().to_vec(),
        other => other.to_bytes(),
    }
}

#[test]
fn lookups_return_every_membership_across_sets() {
    let bytes = build_three_sets(options());
    let set = RefSet::from_bytes(&bytes[..]).unwrap();
    set.verify().unwrap();

    let sources = three_set_sources();
    let mut model = Model::new();
    let mut values: BTreeSet<HashValue> = BTreeSet::new();
    for (src, rec) in three_set_records() {
        for h in &rec.hashes {
            let key = match h {
                HashValue::Pdq { hash, .. } => HashValue::Pdq { hash: *hash, quality: None },
                other => other.clone(),
            };
            values.insert(key);
            model.entry((h.kind(), stored(h))).or_default().insert((
                sources[src].set_name.clone(),
                sources[src].name.clone(),
                rec.meta.clone(),
            ));
        }
    }
    let mut multi = 0;
    for v in &values {
        let matches = set.lookup(v).unwrap();
        let got: BTreeSet<_> = matches
            .iter()
            .map(|m| {
                assert_eq!(m.kind, v.kind());
                let expected_disposition =
                    if m.set_name() == "NSRL" { Disposition::Ignore } else { Disposition::Alert };
                assert_eq!(m.disposition(), expected_disposition);
                (
                    m.set_name().to_string(),
                    m.membership.source.name.clone(),
                    m.membership.meta.to_owned_meta(),
                )
            })
            .collect();
        assert_eq!(got.len(), matches.len(), "duplicate membership for {v:?}");
        let sets: BTreeSet<_> = got.iter().map(|g| g.0.clone()).collect();
        multi += usize::from(sets.len() > 1);
        assert_eq!(got, model[&(v.kind(), stored(v))], "{v:?}");
    }
    assert!(multi > 20, "the data must share values across sets ({multi})");

    // Values absent from the set.
    assert!(set.lookup_md5(&bytes_from(999_999)).unwrap().is_empty());
    assert!(set.lookup_sha256(&[0; 32]).unwrap().is_empty());
    assert!(set.lookup_u64(HashKind::AHash, 3).unwrap().is_empty());
    assert!(matches!(set.lookup_u64(HashKind::Md5, 3), Err(RefsetError::InvalidArgument { .. })));

    // Typed lookups agree with lookup(); PDQ quality is the best given.
    let md5 = bytes_from::<16>(0);
    assert_eq!(set.lookup_md5(&md5).unwrap(), set.lookup(&HashValue::Md5(md5)).unwrap());
    let pdq = bytes_from::<32>(3000 + 1);
    let hit = set.search_pdq(&pdq, 0, &[]);
    assert_eq!(hit.len(), 1);
    let best_quality =
        (0..300u64).filter(|i| i % 3 == 1 && 3000 + i % 20 == 3001).map(|i| (i % 101) as u8).max();
    assert_eq!(hit[0].quality, best_quality);

    // info: counts, sets, sources with their record counts.
    let info = set.info();
    assert_eq!(info.sets.len(), 3);
    assert_eq!(info.sets[2].sources, vec![2, 3]);
    assert_eq!(info.sources[3].records, 40);
    assert_eq!(info.sources[0].records, 100 + 2);
    assert_eq!(info.build_time_unix, 1_700_000_000);
    assert_eq!(info.tool, format!("mediahash {}", mediahash::VERSION));
    let count_of = |k| info.counts.iter().find(|c| c.kind == k).map_or(0, |c| c.count);
    assert_eq!(count_of(HashKind::Sha256), 50);
    assert_eq!(count_of(HashKind::PhotoDna), 10);
    assert_eq!(count_of(HashKind::Pdq), 20);
    assert_eq!(count_of(HashKind::DHash), 0);
    // The 40 plain-list lines share one record: same source, no metadata.
    assert!(info.records < 300, "records {}", info.records);
}

#[test]
fn open_maps_the_file_and_matches_the_vec_build() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sets.mhset");
    let from_vec = build_three_sets(options());
    let mut b = Builder::new(options()).unwrap();
    let ids: Vec<SourceId> =
        three_set_sources().into_iter().map(|s| b.add_source(s).unwrap()).collect();
    for (src, rec) in three_set_records() {
        b.add(ids[src], rec).unwrap();
    }
    let report = b.finish(&path).unwrap();
    assert_eq!(report.output.as_deref(), Some(path.as_path()));
    let on_disk = std::fs::read(&path).unwrap();
    assert_eq!(on_disk, from_vec, "file and in-memory builds differ");
    assert_eq!(report.bytes_written, on_disk.len() as u64);
    // No temporary file left beside the output.
    let names: Vec<_> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, vec![std::ffi::OsString::from("sets.mhset")]);

    let set = RefSet::open(&path).unwrap();
    set.verify().unwrap();
    assert_eq!(set.lookup_md5(&bytes_from(0)).unwrap().len(), 3);
    assert_eq!(report.checksum, mediahash::hex::encode(&on_disk[on_disk.len() - 32..]));
}

#[test]
fn builds_are_reproducible_and_only_build_time_differs() {
    let a = build_three_sets(options());
    let b = build_three_sets(options());
    assert_eq!(a, b);
    let c = build_three_sets(BuildOptions { build_time: Some(1_800_000_000), ..options() });
    assert_eq!(a.len(), c.len());
    let pa = RefSet::from_bytes(&a[..]).unwrap().provenance().clone();
    let pc = RefSet::from_bytes(&c[..]).unwrap().provenance().clone();
    assert_eq!(pa.build_time_unix, 1_700_000_000);
    assert_eq!(pc.build_time_unix, 1_800_000_000);
    assert_eq!(pa.sources, pc.sources);
    // Differences only inside the provenance section and the checksum.
    let prov = section_table(&a).into_iter().find(|(_, s)| s.kind == kind::PROVENANCE).unwrap().1;
    let n = a.len() - 32;
    for i in (0..n).filter(|&i| a[i] != c[i]) {
        assert!(prov.range().contains(&i), "byte {i} differs outside the provenance");
    }
}

#[test]
fn tiny_memory_budget_spills_and_gives_the_same_file() {
    let dir = tempfile::tempdir().unwrap();
    let spill = BuildOptions {
        temp_dir: Some(dir.path().to_path_buf()),
        memory_budget_bytes: 1,
        merge_fan_in: 2,
        ..options()
    };
    let mut b = Builder::new(spill).unwrap();
    let ids: Vec<SourceId> =
        three_set_sources().into_iter().map(|s| b.add_source(s).unwrap()).collect();
    for (src, rec) in three_set_records() {
        b.add(ids[src], rec).unwrap();
    }
    let (bytes, report) = b.finish_to_vec().unwrap();
    let md5 = report.kinds.iter().find(|k| k.kind == HashKind::Md5).unwrap();
    assert!(md5.spilled_runs >= 8, "expected many runs, got {}", md5.spilled_runs);
    assert_eq!(bytes, build_three_sets(options()));
    // Temporary files are anonymous and gone.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn bad_records_are_counted_listed_or_fatal_in_strict_mode() {
    let mut b = Builder::new(BuildOptions { max_bad_records_kept: 2, ..options() }).unwrap();
    let s = b.add_source(source("list.txt", "L", Disposition::Alert)).unwrap();
    b.add(s, Record { hashes: vec![HashValue::Md5([1; 16])], meta: EntryMeta::default() }).unwrap();
    b.record_bad(s, BadRecord { line: 2, reason: "not hex".into() }).unwrap();
    b.add(s, Record::default()).unwrap();
    b.add(
        s,
        Record {
            hashes: vec![HashValue::Pdq { hash: [0; 32], quality: Some(101) }],
            ..Record::default()
        },
    )
    .unwrap();
    assert!(matches!(
        b.add(SourceId(9), Record::default()),
        Err(BuildError::UnknownSource { source_id: 9 })
    ));
    let (bytes, report) = b.finish_to_vec().unwrap();
    assert_eq!(report.sources[0].records, 1);
    assert_eq!(report.sources[0].bad_records, 3);
    assert_eq!(report.bad_records.len(), 2);
    assert_eq!(report.bad_records[0].record, BadRecord { line: 2, reason: "not hex".into() });
    assert_eq!(report.bad_records[1].record.line, 3);
    assert!(report.bad_records[1].record.reason.contains("no hash"));
    assert_eq!(report.bad_records_not_listed, 1);
    let set = RefSet::from_bytes(bytes).unwrap();
    assert_eq!(set.info().sources[0].bad_records, 3);

    let mut strict = Builder::new(BuildOptions { strict: true, ..options() }).unwrap();
    let s = strict.add_source(source("list.txt", "L", Disposition::Alert)).unwrap();
    let err = strict.record_bad(s, BadRecord { line: 7, reason: "bad hex".into() }).unwrap_err();
    assert!(matches!(&err, BuildError::BadRecord { line: 7, .. }), "{err}");
    let err = strict.add(s, Record::default()).unwrap_err();
    assert!(
        matches!(&err, BuildError::BadRecord { reason, .. } if reason == "record has no hash values"),
        "{err}"
    );
}

#[test]
fn one_set_name_cannot_have_two_dispositions() {
    let mut b = Builder::new(options()).unwrap();
    b.add_source(source("a", "S", Disposition::Alert)).unwrap();
    let err = b.add_source(source("b", "S", Disposition::Ignore)).unwrap_err();
    assert!(matches!(err, BuildError::DispositionConflict { .. }), "{err}");
}

#[test]
fn empty_builder_gives_a_valid_empty_set() {
    let (bytes, _) = Builder::new(options()).unwrap().finish_to_vec().unwrap();
    let set = RefSet::from_bytes(bytes).unwrap();
    set.verify().unwrap();
    assert!(set.lookup_md5(&[0; 16]).unwrap().is_empty());
    assert!(set.search_pdq(&[0; 32], 256, &[]).is_empty());
}

// --- search ---------------------------------------------------------------------------------

fn distance(a: &[u8; 32], b: &[u8; 32]) -> u32 {
    a.iter().zip(b).map(|(x, y)| (x ^ y).count_ones()).sum()
}

fn pdq_set(hashes: &[[u8; 32]]) -> Vec<u8> {
    pdq_set_with(hashes, options())
}

/// A PDQ set with the (tuned) multi-index even when small.
fn indexed_pdq_set(hashes: &[[u8; 32]]) -> Vec<u8> {
    layout_pdq_set(hashes, PdqIndexLayout::Tuned)
}

/// A PDQ set with the given multi-index layout even when small.
fn layout_pdq_set(hashes: &[[u8; 32]], layout: PdqIndexLayout) -> Vec<u8> {
    pdq_set_with(
        hashes,
        BuildOptions { pdq_multi_index_min: 1, pdq_index_layout: layout, ..options() },
    )
}

/// Every multi-index layout the tests build: the 16 x 16-bit index of earlier versions, the
/// tuned one chosen by size, and tuned ones of other shapes (10 tables as at 10^8 hashes,
/// 11 as at 10^7, uneven widths, 8-bit keys). Directories are 4·2^w bytes per table
/// whatever the set's size (2.1 GB for the 10^8 shape): the property test uses
/// [`LIGHT_LAYOUTS`].
const LAYOUTS: [PdqIndexLayout; 6] = [
    PdqIndexLayout::Slots16,
    PdqIndexLayout::Tuned,
    PdqIndexLayout::TunedWidths(&[26, 26, 26, 26, 26, 26, 25, 25, 25, 25]),
    PdqIndexLayout::TunedWidths(&[24, 24, 24, 23, 23, 23, 23, 23, 23, 23, 23]),
    PdqIndexLayout::TunedWidths(&[20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 20, 8, 8]),
    PdqIndexLayout::TunedWidths(&[8; 32]),
];

/// [`LAYOUTS`] without the 10^8 and 10^7 shapes (built once per proptest case).
const LIGHT_LAYOUTS: [PdqIndexLayout; 4] = [LAYOUTS[0], LAYOUTS[1], LAYOUTS[4], LAYOUTS[5]];

fn pdq_set_with(hashes: &[[u8; 32]], opts: BuildOptions) -> Vec<u8> {
    let mut b = Builder::new(opts).unwrap();
    let s = b.add_source(source("pdq", "P", Disposition::Alert)).unwrap();
    for (line, h) in hashes.iter().enumerate() {
        let meta = EntryMeta { source_id: Some(line.to_string()), ..EntryMeta::default() };
        b.add(s, Record { hashes: vec![HashValue::Pdq { hash: *h, quality: None }], meta })
            .unwrap();
    }
    b.finish_to_vec().unwrap().0
}

/// Stored hashes near the needles (so small radii match) and random ones.
fn hashes_near(needles: Vec<[u8; 32]>, flips: Vec<(usize, Vec<u8>)>) -> Vec<[u8; 32]> {
    flips
        .into_iter()
        .map(|(which, bits)| {
            let mut h = needles[which % needles.len()];
            for bit in bits {
                h[usize::from(bit) / 8] ^= 1 << (bit % 8);
            }
            h
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn pdq_search_equals_brute_force(
        needles in prop::collection::vec(any::<[u8; 32]>(), 8),
        flips in prop::collection::vec((0usize..8, prop::collection::vec(any::<u8>(), 0..70)), 1..150),
        random in prop::collection::vec(any::<[u8; 32]>(), 0..20),
        radius in 0u32..=64,
        eight in any::<bool>(),
    ) {
        let mut stored = hashes_near(needles.clone(), flips);
        stored.extend(random);
        let bytes = indexed_pdq_set(&stored);
        let set = RefSet::from_bytes(&bytes[..]).unwrap();
        let used = if eight { &needles[..] } else { &needles[..1] };
        let got = set.search_pdq(&used[0], radius, &used[1..]);
        prop_assert_eq!(&set.search_pdq_with(used, radius, PdqStrategy::Flat), &got);
        prop_assert_eq!(&set.search_pdq_with(used, radius, PdqStrategy::MultiIndex), &got);
        for layout in LIGHT_LAYOUTS {
            let bytes = layout_pdq_set(&stored, layout);
            let other = RefSet::from_bytes(&bytes[..]).unwrap();
            for strategy in [PdqStrategy::Auto, PdqStrategy::MultiIndex] {
                prop_assert_eq!(&other.search_pdq_with(used, radius, strategy), &got, "{:?}", layout);
            }
        }

        let distinct: BTreeSet<[u8; 32]> = stored.iter().copied().collect();
        let mut want = Vec::new();
        for (index, h) in distinct.iter().enumerate() {
            let (d, needle) = used.iter().enumerate().map(|(j, n)| (distance(h, n), j)).min().unwrap();
            if d <= radius {
                want.push((d, index as u64, needle, *h));
            }
        }
        want.sort();
        let got_tuples: Vec<_> = got.iter().map(|m| (m.distance, m.index, m.needle, m.hash)).collect();
        prop_assert_eq!(got_tuples, want);
        for m in &got {
            let members = set.memberships(m.entry).unwrap();
            for mem in members {
                let line: usize = mem.meta.source_id.unwrap().parse().unwrap();
                prop_assert_eq!(stored[line], m.hash);
            }
        }
    }

    #[test]
    fn u64_search_equals_brute_force(
        values in prop::collection::vec(any::<u64>(), 1..200),
        queries in prop::collection::vec(any::<u64>(), 1..=8),
        radius in 0u32..=64,
    ) {
        // Half the values are near query 0.
        let values: Vec<u64> = values.iter().enumerate()
            .map(|(i, v)| if i % 2 == 0 { queries[0] ^ (v & v >> 7 & v >> 13) } else { *v })
            .collect();
        let mut b = Builder::new(options()).unwrap();
        let s = b.add_source(source("ph", "P", Disposition::Alert)).unwrap();
        for v in &values {
            b.add(s, Record { hashes: vec![HashValue::PHash(*v)], meta: EntryMeta::default() }).unwrap();
        }
        let bytes = b.finish_to_vec().unwrap().0;
        let set = RefSet::from_bytes(&bytes[..]).unwrap();
        let got = set.search_u64(HashKind::PHash, queries[0], radius, &queries[1..]).unwrap();
        let distinct: BTreeSet<u64> = values.iter().copied().collect();
        let mut want = Vec::new();
        for (index, v) in distinct.iter().enumerate() {
            let (d, j) = queries.iter().enumerate().map(|(j, q)| ((v ^ q).count_ones(), j)).min().unwrap();
            if d <= radius {
                want.push((d, index as u64, j, *v));
            }
        }
        want.sort();
        let got: Vec<_> = got.iter().map(|m| (m.distance, m.index, m.needle, m.value)).collect();
        prop_assert_eq!(got, want);
    }
}

#[test]
#[cfg_attr(
    not(mediahash_testdata),
    ignore = "needs ../shared/testdata or MEDIAHASH_TESTDATA (README: Testing)"
)]
fn needles_vs_haystack_match_the_reference_csv() {
    let data = common::testdata_dir();
    let read_hashes = |name: &str| -> Vec<[u8; 32]> {
        std::fs::read_to_string(data.join("pdq/reg-test-input").join(name))
            .unwrap()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| mediahash::hex::decode_fixed::<32>(l.trim()).unwrap())
            .collect()
    };
    let haystack = read_hashes("haystack.txt");
    let needles = read_hashes("needles.txt");
    let bytes = pdq_set(&haystack);
    let set = RefSet::from_bytes(&bytes[..]).unwrap();
    set.verify().unwrap();
    let indexed_bytes = indexed_pdq_set(&haystack);
    let indexed = RefSet::from_bytes(&indexed_bytes[..]).unwrap();
    indexed.verify().unwrap();
    for radius in [0, 15, 16, 31, 32, 47, 63] {
        for n in &needles {
            let flat = set.search_pdq_with(&[*n], radius, PdqStrategy::Flat);
            assert_eq!(indexed.search_pdq_with(&[*n], radius, PdqStrategy::MultiIndex), flat);
        }
        let flat = set.search_pdq_with(&needles[..8], radius, PdqStrategy::Flat);
        assert_eq!(indexed.search_pdq_with(&needles[..8], radius, PdqStrategy::MultiIndex), flat);
    }
    let csv =
        std::fs::read_to_string(data.join("pdq/expected/index-needles-vs-haystack.csv")).unwrap();
    let mut total = 0;
    for row in csv.lines().skip(1) {
        let f: Vec<&str> = row.split(',').collect();
        let n: usize = f[0].parse().unwrap();
        assert_eq!(mediahash::hex::decode_fixed::<32>(f[1]).unwrap(), needles[n]);
        let expected: BTreeSet<(usize, u32)> = f[3]
            .split_whitespace()
            .map(|p| {
                let (line, d) = p.split_once(':').unwrap();
                (line.parse().unwrap(), d.parse().unwrap())
            })
            .collect();
        assert_eq!(expected.len(), f[2].parse::<usize>().unwrap());
        let lines_within = |radius| -> BTreeSet<(usize, u32)> {
            set.search_pdq(&needles[n], radius, &[])
                .iter()
                .flat_map(|m| {
                    set.memberships(m.entry).unwrap().into_iter().map(move |mem| {
                        (mem.meta.source_id.unwrap().parse::<usize>().unwrap(), m.distance)
                    })
                })
                .collect()
        };
        assert_eq!(lines_within(31), expected, "needle {n}");
        assert_eq!(lines_within(32).len(), f[4].parse::<usize>().unwrap(), "needle {n} at 32");
        assert_eq!(lines_within(63).len(), f[5].parse::<usize>().unwrap(), "needle {n} at 63");
        let min = set.search_pdq(&needles[n], 256, &[])[0].distance;
        assert_eq!(min, f[6].parse::<u32>().unwrap());
        total += expected.len();
    }
    assert_eq!(total, 250);
    // All needles at once: each haystack hash reports its nearest needle.
    let all = set.search_pdq_needles(&needles, 31);
    let distinct: BTreeSet<u64> = all.iter().map(|m| m.index).collect();
    assert_eq!(distinct.len(), all.len());
}

#[test]
fn damaged_pdq_multi_index_is_found_by_verify_and_never_panics() {
    damaged_index_test(PdqIndexLayout::Slots16, kind::SUB_MIH_IDS, kind::SUB_MIH_OFFSETS, 16);
    damaged_index_test(PdqIndexLayout::Tuned, kind::SUB_TUNED_IDS, kind::SUB_TUNED_OFFSETS, 16);
    // Uneven widths, 8-bit keys; not the 10^8 shape: its 2.1 GB of directories would be
    // copied and checksummed for each of the 100 forgeries.
    damaged_index_test(LAYOUTS[4], kind::SUB_TUNED_IDS, kind::SUB_TUNED_OFFSETS, 14);
}

fn damaged_index_test(layout: PdqIndexLayout, ids_sub: u32, offsets_sub: u32, tables: u64) {
    let hashes: Vec<[u8; 32]> = (0..300).map(bytes_from).collect();
    let bytes = layout_pdq_set(&hashes, layout);
    let set = RefSet::from_bytes(&bytes[..]).unwrap();
    set.verify().unwrap();
    let table = section_table(&bytes);
    let find = |sub| {
        table.iter().find(|(_, s)| s.kind == kind::hash_section(HashKind::Pdq, sub)).unwrap().1
    };
    let ids = find(ids_sub);
    let offsets = find(offsets_sub);
    assert_eq!(ids.count, tables * 300);
    let search_all = |set: &RefSet<&[u8]>| {
        for r in [0, 31, 63] {
            let _ = set.search_pdq_with(&hashes[..8], r, PdqStrategy::MultiIndex);
        }
    };
    let mut rng = Rng::from_seed(7);
    let mut forge = |range: std::ops::Range<usize>, value: u32| {
        let mut forged = bytes.clone();
        // A slot that does not hold `value` already (else the "forgery" changes nothing).
        let at = loop {
            let at = range.start + rng.below(range.len() / 4) * 4;
            if forged[at..at + 4] != value.to_le_bytes() {
                break at;
            }
        };
        forged[at..at + 4].copy_from_slice(&value.to_le_bytes());
        reseal(&mut forged);
        forged
    };
    for _ in 0..20 {
        for forged in [
            forge(ids.range(), u32::MAX),
            forge(ids.range(), 5),
            forge(offsets.range(), u32::MAX),
            forge(offsets.range(), 150),
            forge(offsets.range(), 0),
        ] {
            let set = RefSet::from_bytes(&forged[..]).unwrap();
            search_all(&set);
            // Resealed, so the checksum holds: the structure check must catch the forgery.
            let err = set.verify().unwrap_err();
            assert!(
                !matches!(err, RefsetError::ChecksumMismatch { .. })
                    && err.to_string().starts_with("damaged reference set"),
                "{err}"
            );
        }
    }
    // Truncating the index sections' counts is refused at open.
    let mut forged = bytes.clone();
    let (at, _) = table.iter().find(|(_, s)| s.kind == ids.kind).unwrap();
    let shorter = ids.count - 1;
    forged[at + 16..at + 24].copy_from_slice(&(shorter * 4).to_le_bytes());
    forged[at + 24..at + 32].copy_from_slice(&shorter.to_le_bytes());
    assert!(matches!(RefSet::from_bytes(&forged[..]), Err(RefsetError::Corrupt { .. })));
    // Dropping one of the index's sections (renamed to an unknown kind) is refused at open.
    let mut forged = bytes.clone();
    let (at, _) = table.iter().find(|(_, s)| s.kind == offsets.kind).unwrap();
    forged[*at..at + 4].copy_from_slice(&0x7777u32.to_le_bytes());
    assert!(matches!(RefSet::from_bytes(&forged[..]), Err(RefsetError::Corrupt { .. })));
}

#[test]
fn damaged_tuned_layout_is_refused_at_open() {
    let hashes: Vec<[u8; 32]> = (0..300).map(bytes_from).collect();
    let bytes = indexed_pdq_set(&hashes);
    let table = section_table(&bytes);
    let layout_kind = kind::hash_section(HashKind::Pdq, kind::SUB_TUNED_LAYOUT);
    let layout = table.iter().find(|(_, s)| s.kind == layout_kind).unwrap().1;
    let m = format::le_u32(&bytes[layout.range()]) as usize;
    // A wrong table count, a width out of range, widths not summing to 256.
    for (word, value) in [(0, 0u32), (0, 33), (0, m as u32 + 1), (1, 31), (1, 7), (1, 17)] {
        let mut forged = bytes.clone();
        let at = layout.range().start + 4 * word;
        forged[at..at + 4].copy_from_slice(&value.to_le_bytes());
        reseal(&mut forged);
        let err = RefSet::from_bytes(&forged[..]).err().expect("refused");
        assert!(matches!(err, RefsetError::Corrupt { .. }), "{err}");
    }
    let tampered = {
        let mut b = bytes.clone();
        let at = layout.range().start + 4;
        b[at] ^= 1;
        b
    };
    // Without resealing, the checksum catches it first... but open is O(1) and still checks
    // the layout.
    assert!(RefSet::from_bytes(&tampered[..]).is_err());
    // Invalid widths are refused by the builder too.
    for bad in [&[16u32; 15][..], &[], &[7, 249], &[32; 8]] {
        let opts = BuildOptions {
            pdq_index_layout: PdqIndexLayout::TunedWidths(Box::leak(
                bad.to_vec().into_boxed_slice(),
            )),
            ..options()
        };
        assert!(matches!(Builder::new(opts), Err(BuildError::InvalidOptions { .. })));
    }
}

/// Hashes at exactly distance 31 and 32 from a needle, their flipped bits spread evenly over
/// the 256 bits: the case where every table's key is off by about as much as the plan
/// allows, which a wrong pigeonhole bound would miss (31) or report (32).
#[test]
fn pdq_index_boundary_distances_31_and_32_with_spread_bits() {
    let mut rng = Rng::from_seed(3132);
    let needles: Vec<[u8; 32]> = (0..8).map(|_| std::array::from_fn(|_| rng.byte())).collect();
    let mut stored = Vec::new();
    for (k, needle) in needles.iter().enumerate() {
        for d in [30usize, 31, 32, 33] {
            for shift in 0..24 {
                // Every (shift + k)-th stored hash has its bits evenly spaced; the others at
                // d distinct random positions (partial Fisher-Yates).
                let mut h = *needle;
                let mut bits: Vec<usize> = (0..256).collect();
                for j in 0..d {
                    let pick = j + rng.below(256 - j);
                    bits.swap(j, pick);
                    if (shift + k) % 4 == 0 {
                        bits[j] = (j * 256 / d + shift + k) % 256;
                    }
                }
                for &bit in &bits[..d] {
                    h[bit / 8] ^= 0x80 >> (bit % 8);
                }
                stored.push(h);
            }
        }
    }
    for _ in 0..500 {
        stored.push(std::array::from_fn(|_| rng.byte()));
    }
    let flat_bytes = pdq_set(&stored);
    let flat = RefSet::from_bytes(&flat_bytes[..]).unwrap();
    // Each layout built once (the 10^8 shape has 2.1 GB of directories).
    for layout in LAYOUTS {
        let bytes = layout_pdq_set(&stored, layout);
        let set = RefSet::from_bytes(&bytes[..]).unwrap();
        set.verify().unwrap();
        for radius in [31, 32] {
            let want = flat.search_pdq_with(&needles, radius, PdqStrategy::Flat);
            let at_radius = want.iter().filter(|m| m.distance == radius).count();
            assert!(at_radius >= 8 * 20, "{at_radius} hashes at exactly {radius}");
            assert!(want.iter().all(|m| m.distance <= radius));
            for strategy in [PdqStrategy::Auto, PdqStrategy::MultiIndex] {
                assert_eq!(set.search_pdq_with(&needles, radius, strategy), want, "{layout:?}");
                assert_eq!(
                    set.search_pdq_with(&needles[..1], radius, strategy),
                    flat.search_pdq_with(&needles[..1], radius, PdqStrategy::Flat),
                    "{layout:?}"
                );
            }
        }
    }
}

#[test]
fn pdq_multi_index_built_in_many_passes_is_identical() {
    let hashes: Vec<[u8; 32]> = (0..3000).map(|i| bytes_from(i % 2900)).collect();
    // Light layouts: with a 1-byte budget the 10^8 shape's 2.1 GB of directories would be
    // built in thousands of passes; the pass logic does not depend on the widths.
    for layout in LIGHT_LAYOUTS {
        let roomy = layout_pdq_set(&hashes, layout);
        let tight = pdq_set_with(
            &hashes,
            BuildOptions {
                pdq_multi_index_min: 1,
                memory_budget_bytes: 1,
                pdq_index_layout: layout,
                ..options()
            },
        );
        assert_eq!(roomy, tight, "{layout:?}");
        let set = RefSet::from_bytes(&roomy[..]).unwrap();
        set.verify().unwrap();
        // Cost model: the index for small radii, the scan when the index would visit too much.
        if layout == PdqIndexLayout::Slots16 {
            assert!(set.pdq_uses_multi_index(8, 31), "{layout:?}");
        }
        assert!(!set.pdq_uses_multi_index(8, 63));
        assert!(!set.pdq_uses_multi_index(1, 64));
        assert_eq!(
            set.search_pdq_with(&hashes[..8], 40, PdqStrategy::MultiIndex),
            set.search_pdq_with(&hashes[..8], 40, PdqStrategy::Flat)
        );
    }
}

/// Set by [`truncation_does_not_crash_the_safe_open`] when it re-runs this test binary as the
/// reader process: the path of the set to open, then `copy` or `mapped`.
const TRUNCATION_CHILD: &str = "MEDIAHASH_TEST_TRUNCATION_CHILD";

/// The reader half of the truncation test (does nothing unless [`TRUNCATION_CHILD`] is set):
/// opens the set, says "set opened", waits for the parent to truncate the file, then reads the
/// whole set (checksum, every lookup, every search) and prints what it found.
#[test]
fn truncation_child() {
    use std::io::{BufRead, Write};
    let Some(spec) = std::env::var_os(TRUNCATION_CHILD) else { return };
    let spec = spec.into_string().unwrap();
    let (path, mode) = spec.rsplit_once('\n').unwrap();
    let set = match mode {
        "copy" => RefSet::open(path).unwrap(),
        // SAFETY: deliberately broken (the parent truncates the file): this mode exists to
        // show that the same reads through a map die by SIGBUS, i.e. the test can fail.
        "mapped" => unsafe { RefSet::open_mapped(path) }.unwrap(),
        other => panic!("unknown mode {other}"),
    };
    // On its own line: libtest prints "test truncation_child ... " before running the body.
    println!("\nset opened");
    std::io::stdout().flush().unwrap();
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).unwrap();
    assert_eq!(line, "truncated\n");

    set.verify().unwrap();
    let mut found = 0;
    for (_, record) in three_set_records() {
        for value in &record.hashes {
            found += set.lookup(value).unwrap().len();
        }
    }
    let pdq = set.search_pdq_needles(&[[0u8; 32]], 256);
    for hit in &pdq {
        found += set.memberships(hit.entry).unwrap().len();
    }
    let phash = set.search_u64(HashKind::PHash, 0, 64, &[]).unwrap();
    println!("found {found} pdq {} phash {}", pdq.len(), phash.len());
}

/// Runs [`truncation_child`] in a new process over a copy of the three-set file in `mode`,
/// truncates the file to 0 bytes once the child has opened it, and returns how the child
/// ended and what it printed.
fn run_truncation_child(mode: &str) -> (std::process::ExitStatus, String) {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sets.mhset");
    std::fs::write(&path, build_three_sets(options())).unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["truncation_child", "--exact", "--nocapture", "--test-threads=1"])
        .env(TRUNCATION_CHILD, format!("{}\n{mode}", path.to_str().unwrap()))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut printed = String::new();
    loop {
        let mut line = String::new();
        assert_ne!(stdout.read_line(&mut line).unwrap(), 0, "child ended early: {printed}");
        printed.push_str(&line);
        if line == "set opened\n" {
            break;
        }
    }
    // Truncate in place (what `cp` over the file or a sync client does), not a rename.
    std::fs::OpenOptions::new().write(true).open(&path).unwrap().set_len(0).unwrap();
    child.stdin.take().unwrap().write_all(b"truncated\n").unwrap();
    stdout.read_to_string(&mut printed).unwrap();
    (child.wait().unwrap(), printed)
}

#[test]
fn truncation_does_not_crash_the_safe_open() {
    let expected = {
        let bytes = build_three_sets(options());
        let set = RefSet::from_bytes(&bytes[..]).unwrap();
        let mut found = 0;
        for (_, record) in three_set_records() {
            for value in &record.hashes {
                found += set.lookup(value).unwrap().len();
            }
        }
        let pdq = set.search_pdq_needles(&[[0u8; 32]], 256);
        for hit in &pdq {
            found += set.memberships(hit.entry).unwrap().len();
        }
        assert_eq!(pdq.len() as u64, set.count(HashKind::Pdq));
        let phash = set.search_u64(HashKind::PHash, 0, 64, &[]).unwrap();
        assert_eq!(phash.len() as u64, set.count(HashKind::PHash));
        format!("found {found} pdq {} phash {}\n", pdq.len(), phash.len())
    };
    let (status, printed) = run_truncation_child("copy");
    assert!(status.success(), "{status}: {printed}");
    assert!(printed.contains(&expected), "expected {expected:?} in {printed}");

    // The same reads through a map of the file die by SIGBUS: what the copy protects from.
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::ExitStatusExt;
        let (status, printed) = run_truncation_child("mapped");
        assert_eq!(status.signal(), Some(libc::SIGBUS), "{status}: {printed}");
    }
}

/// `find_batch` gives exactly what `find` gives one value at a time, for every kind, on
/// values stored and not stored, repeated, in any order, and ignores a short tail.
#[test]
fn find_batch_equals_find_one_at_a_time() {
    let mut rng = Rng::from_seed(1804);
    let mut b = Builder::new(options()).unwrap();
    let s = b.add_source(source("all", "A", Disposition::Alert)).unwrap();
    let mut stored: Vec<HashValue> = Vec::new();
    for i in 0..3000u64 {
        let hashes = vec![
            HashValue::Md5(rng.array()),
            HashValue::Sha1(rng.array()),
            HashValue::Sha256(rng.array()),
            HashValue::Pdq { hash: rng.array(), quality: None },
            // Many 64-bit values share their high bits: crowded prefix buckets.
            HashValue::PHash(i / 3),
            HashValue::PhotoDna(Box::new(rng.array())),
        ];
        stored.extend(hashes.iter().cloned());
        b.add(s, Record { hashes, meta: EntryMeta::default() }).unwrap();
    }
    let bytes = b.finish_to_vec().unwrap().0;
    let set = RefSet::from_bytes(&bytes[..]).unwrap();
    let layout = |v: &HashValue| -> (HashKind, Vec<u8>) {
        match v {
            HashValue::Md5(x) => (HashKind::Md5, x.to_vec()),
            HashValue::Sha1(x) => (HashKind::Sha1, x.to_vec()),
            HashValue::Sha256(x) => (HashKind::Sha256, x.to_vec()),
            HashValue::Pdq { hash, .. } => (HashKind::Pdq, hash.to_vec()),
            HashValue::PHash(x) => (HashKind::PHash, x.to_le_bytes().to_vec()),
            HashValue::PhotoDna(x) => (HashKind::PhotoDna, x.to_vec()),
            other => panic!("not stored here: {other:?}"),
        }
    };
    let mut by_kind: BTreeMap<String, (HashKind, Vec<Vec<u8>>)> = BTreeMap::new();
    for v in &stored {
        let (kind, value) = layout(v);
        let entry = by_kind.entry(format!("{kind:?}")).or_insert((kind, Vec::new()));
        entry.1.push(value.clone());
        // Not stored: one bit flipped; and a repeat of the stored value.
        let mut absent = value.clone();
        let at = rng.below(absent.len());
        absent[at] ^= 1 << rng.below(8);
        entry.1.push(absent);
        if rng.below(4) == 0 {
            entry.1.push(value);
        }
    }
    for (kind, mut values) in by_kind.into_values() {
        // Shuffle (Fisher-Yates) so the batch is not in stored order.
        for i in (1..values.len()).rev() {
            values.swap(i, rng.below(i + 1));
        }
        let mut flat: Vec<u8> = values.concat();
        let want: Vec<_> = values.iter().map(|v| set.find(kind, v)).collect();
        assert!(want.iter().filter(|h| h.is_some()).count() >= 3000, "{kind:?}");
        for chunk in [1usize, 7, 1000, values.len()] {
            let got: Vec<_> = flat
                .chunks(chunk * kind.value_len())
                .flat_map(|c| set.find_batch(kind, c))
                .collect();
            assert_eq!(got, want, "{kind:?} in batches of {chunk}");
        }
        flat.push(0xAB); // a short tail is ignored
        assert_eq!(set.find_batch(kind, &flat), want, "{kind:?} with a tail");
    }
    assert!(set.find_batch(HashKind::DHash, &[0u8; 16]).iter().all(Option::is_none));
}
