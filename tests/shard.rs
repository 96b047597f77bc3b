//! Sharded reference sets (issue #17): `refset::shard` splits a set by value prefix; every
//! exact lookup through the routing, and every radius search fanned out to all shards, gives
//! what the one set gives (oracle: the unsharded set itself). Also `mh refset shard` and the
//! routed `mh refset lookup MANIFEST`, and the hostile cases.

mod common;

use std::process::Command;

use common::rng::Rng;
use mediahash::perceptual::pdq::PdqHash;
use mediahash::refset::shard::{self, ShardError, ShardedSet, shard_of};
use mediahash::refset::{
    BuildOptions, Builder, Disposition, EntryMeta, HashKind, HashValue, Record, RefSet, SourceId,
};
use mediahash::scan::ReferenceIndex;

use common::source;

fn bytes<const N: usize>(seed: u64) -> [u8; N] {
    Rng::from_seed(seed).array()
}

/// A set of 3 sources in 2 sets; values shared across records and sets; near PDQ hashes.
fn build_set(path: &std::path::Path) -> Vec<HashValue> {
    let mut b = Builder::new(BuildOptions { build_time: Some(1), ..BuildOptions::default() })
        .expect("builder");
    let ids: Vec<SourceId> = [
        source("vics.json", "VICS", Disposition::Alert),
        source("local.csv", "Local", Disposition::Alert),
        source("nsrl.db", "NSRL", Disposition::Ignore),
    ]
    .into_iter()
    .map(|s| b.add_source(s).expect("source"))
    .collect();
    let mut values = Vec::new();
    for i in 0..3000u64 {
        let mut pdq: [u8; 32] = bytes(7000 + i % 400);
        pdq[31] ^= (i % 3) as u8; // near duplicates
        let hashes = vec![
            HashValue::Md5(bytes(i / 2)),
            HashValue::Sha1(bytes(100_000 + i)),
            HashValue::Sha256(bytes(200_000 + i % 1500)),
            HashValue::Pdq { hash: pdq, quality: Some((i % 101) as u8) },
            HashValue::PHash(u64::from_le_bytes(bytes(300_000 + i % 700))),
        ];
        values.extend(hashes.iter().cloned());
        let meta = EntryMeta {
            category: Some((i % 5).to_string()),
            source_id: Some(format!("id-{i}")),
            file_name: (i % 4 == 0).then(|| format!("f{i}.jpg").into_bytes()),
            ..EntryMeta::default()
        };
        b.add(ids[(i % 3) as usize], Record { hashes, meta }).expect("add");
    }
    b.finish(path).expect("finish");
    values
}

#[test]
fn sharded_lookups_and_searches_equal_the_one_set() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("big.mhset");
    let values = build_set(&path);
    let set = RefSet::open(&path).expect("open");
    for n in [1u32, 3, 16] {
        let out = dir.path().join(format!("n{n}"));
        std::fs::create_dir(&out).expect("mkdir");
        let report =
            shard::shard(&set, n, &out, "big", &BuildOptions::default(), false).expect("shard");
        assert_eq!(report.manifest.files.len(), n as usize);
        let total: u64 = report.manifest.files.iter().map(|f| f.values).sum();
        let distinct: u64 =
            [HashKind::Md5, HashKind::Sha1, HashKind::Sha256, HashKind::Pdq, HashKind::PHash]
                .iter()
                .map(|&k| set.count(k))
                .sum();
        assert_eq!(total, distinct);
        let sharded = ShardedSet::open(&report.manifest_path, true).expect("open shards");
        // The review's near-miss listing: every alert PDQ hash once, each with its set, the
        // same through the shards (in value order) as from the one set.
        let one = ReferenceIndex::alert_pdq_hashes(&set).expect("list").expect("listed");
        assert!(!one.is_empty());
        assert!(one.iter().all(|(h, _)| !RefSet::lookup_pdq(&set, h).expect("lookup").is_empty()));
        let through = ReferenceIndex::alert_pdq_hashes(&sharded).expect("list").expect("listed");
        assert_eq!(through, one);
        for v in &values {
            let one = ReferenceIndex::lookup(&set, v).expect("lookup");
            let many = ReferenceIndex::lookup(&sharded, v).expect("lookup");
            assert!(!one.is_empty());
            assert_eq!(one, many, "{v:?}");
            // The routed shard holds it; no other does.
            for (i, s) in sharded.shards().iter().enumerate() {
                assert_eq!(s.find_value(v).is_some(), i == sharded.route(v));
            }
        }
        let mut rng = Rng::from_seed(n.into());
        for i in 0..200u64 {
            let mut needle: [u8; 32] = bytes(7000 + i % 400);
            let flips = rng.below(40);
            for _ in 0..flips {
                let bit = rng.below(256);
                needle[bit / 8] ^= 1 << (bit % 8);
            }
            let needles = [PdqHash(needle), PdqHash(bytes(900_000 + i))];
            for (radius, limit) in [(31, 16), (60, usize::MAX), (0, 1)] {
                let one = ReferenceIndex::search_pdq(&set, &needles, radius, limit).expect("one");
                let many =
                    ReferenceIndex::search_pdq(&sharded, &needles, radius, limit).expect("many");
                assert_eq!(one, many, "radius {radius} limit {limit}");
            }
            let q = u64::from_le_bytes(bytes(300_000 + i % 700)) ^ (1 << (i % 64));
            for (radius, limit) in [(8, 16), (20, usize::MAX)] {
                assert_eq!(
                    ReferenceIndex::search_u64(&set, HashKind::PHash, q, radius, limit).unwrap(),
                    ReferenceIndex::search_u64(&sharded, HashKind::PHash, q, radius, limit)
                        .unwrap()
                );
            }
        }
    }
}

#[test]
fn shard_refuses_bad_counts_existing_files_and_detects_replaced_shards() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("s.mhset");
    build_set(&path);
    let set = RefSet::open(&path).expect("open");
    let opts = BuildOptions::default();
    for bad in [0, shard::MAX_SHARDS + 1] {
        assert!(matches!(
            shard::shard(&set, bad, dir.path(), "s", &opts, false),
            Err(ShardError::ShardCount { .. })
        ));
    }
    let report = shard::shard(&set, 4, dir.path(), "s", &opts, false).expect("shard");
    assert!(matches!(
        shard::shard(&set, 4, dir.path(), "s", &opts, false),
        Err(ShardError::Manifest { .. })
    ));
    shard::shard(&set, 4, dir.path(), "s", &opts, true).expect("forced");
    // A shard swapped for another: the manifest's SHA-256 catches it.
    let files = &report.manifest.files;
    std::fs::copy(dir.path().join(&files[1].name), dir.path().join(&files[0].name)).unwrap();
    assert!(matches!(
        ShardedSet::open(&report.manifest_path, true),
        Err(ShardError::ShardMismatch { .. })
    ));
    // A damaged manifest.
    std::fs::write(&report.manifest_path, b"{\"format\":").unwrap();
    assert!(matches!(
        ShardedSet::open(&report.manifest_path, false),
        Err(ShardError::Manifest { .. })
    ));
    std::fs::write(
        &report.manifest_path,
        br#"{"format":"mediahash-shards","routing":"prefix32","shards":3,"source_sha256":"","files":[]}"#,
    )
    .unwrap();
    assert!(matches!(
        ShardedSet::open(&report.manifest_path, false),
        Err(ShardError::Manifest { .. })
    ));
    assert!(shard_of(&[0xff; 4], 3) < 3);
}

#[test]
fn mh_refset_shard_and_routed_lookup() {
    let dir = tempfile::tempdir().expect("tempdir");
    let list = dir.path().join("known.md5");
    let lines: String = (0..500u64)
        .map(|i| format!("{}  file{i}.bin\n", mediahash::hex::encode(&bytes::<16>(i))))
        .collect();
    std::fs::write(&list, lines).unwrap();
    let set = dir.path().join("known.mhset");
    let mh = env!("CARGO_BIN_EXE_mh");
    let run = |args: &[&str]| {
        let out = Command::new(mh).args(args).output().expect("mh");
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).expect("utf-8")
    };
    run(&["refset", "build", "-o", set.to_str().unwrap(), "--alert", list.to_str().unwrap()]);
    let shards_dir = dir.path().join("shards");
    std::fs::create_dir(&shards_dir).unwrap();
    let manifest: serde_json::Value = serde_json::from_str(&run(&[
        "refset",
        "shard",
        set.to_str().unwrap(),
        "--shards",
        "8",
        "--out-dir",
        shards_dir.to_str().unwrap(),
    ]))
    .expect("json");
    assert_eq!(manifest["shards"], 8);
    let manifest_path = shards_dir.join("known.shards.json");
    assert!(manifest_path.is_file());
    let queries: Vec<String> =
        (495..505u64).map(|i| mediahash::hex::encode(&bytes::<16>(i))).collect();
    let mut args = vec!["refset", "lookup", set.to_str().unwrap()];
    args.extend(queries.iter().map(String::as_str));
    let one = run(&args);
    args[2] = manifest_path.to_str().unwrap();
    let routed = run(&args);
    for (a, b) in one.lines().zip(routed.lines()) {
        let a: serde_json::Value = serde_json::from_str(a).unwrap();
        let mut b: serde_json::Value = serde_json::from_str(b).unwrap();
        let shard = b.as_object_mut().unwrap().remove("shards").unwrap();
        assert_eq!(shard.as_array().unwrap().len(), 1);
        assert_eq!(a, b);
    }
    assert_eq!(one.lines().count(), 10);
}

/// `mh scan --refset MANIFEST` gives the records `mh scan --refset SET.mhset` gives (the
/// header cites the manifest instead), with and without `--map-refsets`.
#[test]
fn mh_scan_with_a_shard_manifest_equals_the_one_set() {
    let dir = tempfile::tempdir().expect("tempdir");
    let evidence = dir.path().join("evidence");
    std::fs::create_dir(&evidence).unwrap();
    let mut list = String::new();
    for i in 0..40u64 {
        let content = format!("file number {i}\n").repeat(i as usize + 1);
        std::fs::write(evidence.join(format!("f{i}.txt")), &content).unwrap();
        if i % 3 == 0 {
            let md5 = mediahash::digest::digest_bytes(content.as_bytes(), Default::default()).md5;
            list.push_str(&format!("{}  f{i}.txt\n", mediahash::hex::encode(&md5)));
        }
    }
    let list_path = dir.path().join("known.md5");
    std::fs::write(&list_path, list).unwrap();
    let set = dir.path().join("known.mhset");
    let mh = env!("CARGO_BIN_EXE_mh");
    let run = |args: &[&str], code: i32| {
        let out = Command::new(mh).args(args).output().expect("mh");
        assert_eq!(
            out.status.code(),
            Some(code),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8")
    };
    run(
        &["refset", "build", "-o", set.to_str().unwrap(), "--alert", list_path.to_str().unwrap()],
        0,
    );
    let shards_dir = dir.path().join("shards");
    std::fs::create_dir(&shards_dir).unwrap();
    let out_dir = shards_dir.to_str().unwrap();
    run(&["refset", "shard", set.to_str().unwrap(), "--shards", "4", "--out-dir", out_dir], 0);
    let manifest = shards_dir.join("known.shards.json");
    let entries = |refset: &std::path::Path, extra: &[&str]| -> Vec<String> {
        let mut args = vec!["scan", "--no-progress", "--threads", "1", "--refset"];
        args.push(refset.to_str().unwrap());
        args.extend(extra);
        args.push(evidence.to_str().unwrap());
        let report = run(&args, 1);
        report
            .lines()
            .filter(|l| l.starts_with(r#"{"record":"entry""#))
            .map(str::to_string)
            .collect()
    };
    let one = entries(&set, &[]);
    assert_eq!(one.iter().filter(|l| l.contains(r#""disposition":"alert""#)).count(), 14);
    // The set is cited by its own path in each match: compare with that path replaced.
    let cited = |lines: Vec<String>| -> Vec<String> {
        lines.into_iter().map(|l| l.replace("known.shards.json", "known.mhset")).collect()
    };
    assert_eq!(cited(entries(&manifest, &[])), one);
    assert_eq!(cited(entries(&manifest, &["--map-refsets"])), one);
}
