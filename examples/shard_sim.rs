//! Sharded sets at scale (issue #17): generates N SHA-1 values and P PDQ hashes directly as
//! S shards plus their manifest (what `mh refset shard` writes, without first building the
//! one set), then opens the manifest through `ShardedSet` and measures open time, memory
//! and lookups per second.
//!
//! `shard_sim build N P S DIR [BUDGET_MB]`: writes `DIR/sim.shard-II-of-SS.mhset` and
//! `DIR/sim.shards.json`. Value i goes to the shard `shard_of` routes it to, so the shards
//! are exactly what `refset::shard::shard` makes of the set holding every value.
//! `shard_sim run N P DIR/sim.shards.json [LOOKUPS] [NEEDLES] [mapped]`: opens the manifest
//! (copied into memory, or mapped), then LOOKUPS exact SHA-1 lookups (half stored, half not)
//! through the routing and NEEDLES PDQ searches (radius 31, fanned out to every shard;
//! half are stored hashes with 8 bits flipped); prints lookups/s, searches/s, open time and
//! the process's RSS.

use mediahash::perceptual::pdq::PdqHash;
use mediahash::refset::shard::{Manifest, ShardFile, ShardedSet, shard_of};
use mediahash::refset::{
    BuildOptions, Builder, Disposition, EntryMeta, HashValue, Record, SourceInfo,
};
use mediahash::scan::ReferenceIndex;
use rayon::prelude::*;
use std::path::Path;
use std::time::Instant;

/// splitmix64.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// SHA-1 value `i` (i >= n: values not stored).
fn sha1(i: u64) -> [u8; 20] {
    let mut v = [0u8; 20];
    for (k, c) in v.chunks_mut(8).enumerate() {
        c.copy_from_slice(&mix(i * 3 + k as u64).to_le_bytes()[..c.len()]);
    }
    v
}

/// PDQ hash `j` (a different stream from the SHA-1 values).
fn pdq(j: u64) -> [u8; 32] {
    let mut v = [0u8; 32];
    for (k, c) in v.chunks_mut(8).enumerate() {
        c.copy_from_slice(&mix((1 << 62) + j * 4 + k as u64).to_le_bytes());
    }
    v
}

fn rss() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .filter(|l| l.starts_with("VmRSS") || l.starts_with("VmHWM"))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join(", ")
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim().to_string()
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn build(n: u64, p: u64, shards: u32, dir: &Path, budget_mb: usize) -> Result<(), BoxError> {
    let start = Instant::now();
    std::fs::create_dir_all(dir)?;
    let width = shards.to_string().len().max(2);
    let files = (0..shards)
        .into_par_iter()
        .map(|s| -> Result<ShardFile, BoxError> {
            let name = format!("sim.shard-{s:0width$}-of-{shards:0width$}.mhset");
            let path = dir.join(&name);
            let mut b = Builder::new(BuildOptions {
                build_time: Some(0),
                temp_dir: Some(dir.to_path_buf()),
                memory_budget_bytes: budget_mb << 20,
                ..Default::default()
            })?;
            let source = b.add_source(SourceInfo {
                name: "sim".into(),
                format: "synthetic".into(),
                sha256: String::new(),
                disposition: Disposition::Alert,
                set_name: "sim".into(),
                records: 0,
                bad_records: 0,
                empty_file_records_skipped: 0,
                source_version: None,
            })?;
            let mut values = 0;
            for i in 0..n {
                let v = sha1(i);
                if shard_of(&v, shards) == s {
                    values += 1;
                    let hashes = vec![HashValue::Sha1(v)];
                    b.add(source, Record { hashes, meta: EntryMeta::default() })?;
                }
            }
            for j in 0..p {
                let v = pdq(j);
                if shard_of(&v, shards) == s {
                    values += 1;
                    let hashes = vec![HashValue::Pdq { hash: v, quality: Some(100) }];
                    b.add(source, Record { hashes, meta: EntryMeta::default() })?;
                }
            }
            b.finish(&path)?;
            let (digests, _) =
                mediahash::digest::digest_reader(std::fs::File::open(&path)?, Default::default())?;
            let sha256 = digests.sha256.iter().map(|b| format!("{b:02x}")).collect();
            eprintln!("shard {s}: {values} values, {:.0} s", start.elapsed().as_secs_f64());
            Ok(ShardFile { name, sha256, values })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let bytes: u64 =
        files.iter().map(|f| std::fs::metadata(dir.join(&f.name)).map_or(0, |m| m.len())).sum();
    let manifest = Manifest {
        format: "mediahash-shards".into(),
        routing: "prefix32".into(),
        shards,
        // No one set was built: the manifest names the generator instead.
        source_sha256: format!("shard_sim {n} {p}"),
        files,
    };
    std::fs::write(dir.join("sim.shards.json"), serde_json::to_string_pretty(&manifest)? + "\n")?;
    println!(
        "built {n} SHA-1 + {p} PDQ in {shards} shards ({:.2} GB) in {:.0} s, load {}",
        bytes as f64 / 1e9,
        start.elapsed().as_secs_f64(),
        load()
    );
    Ok(())
}

fn run(
    n: u64,
    p: u64,
    manifest: &Path,
    lookups: u64,
    needles: u64,
    mapped: bool,
) -> Result<(), BoxError> {
    println!("before open: {}", rss());
    let t = Instant::now();
    let set = if mapped {
        // SAFETY: the benchmark's own files, not modified while it runs.
        unsafe { ShardedSet::open_mapped(manifest, false) }?
    } else {
        ShardedSet::open(manifest, false)?
    };
    let open_s = t.elapsed().as_secs_f64();
    println!(
        "opened {} shards ({}) in {open_s:.1} s: {}, load {}",
        set.shards().len(),
        if mapped { "mapped" } else { "copied" },
        rss(),
        load()
    );
    let keys: Vec<HashValue> = (0..lookups)
        .map(|k| HashValue::Sha1(sha1(if k % 2 == 0 { mix(k) % n } else { n + mix(k) % n })))
        .collect();
    for round in 0..3 {
        let t = Instant::now();
        let mut found = 0;
        for k in &keys {
            found += usize::from(!ReferenceIndex::lookup(&set, k)?.is_empty());
        }
        let s = t.elapsed().as_secs_f64();
        assert_eq!(found as u64, lookups.div_ceil(2), "every stored value is found, no other");
        println!(
            "round {round}: {lookups} SHA-1 lookups through the manifest: {:.2} M/s \
             ({found} found), {}, load {}",
            lookups as f64 / s / 1e6,
            rss(),
            load()
        );
    }
    if p > 0 && needles > 0 {
        let queries: Vec<PdqHash> = (0..needles)
            .map(|k| {
                if k % 2 == 0 {
                    let mut h = pdq(mix(k) % p);
                    for b in 0..8 {
                        let bit = (mix(k * 8 + b) % 256) as usize;
                        h[bit / 8] ^= 1 << (bit % 8);
                    }
                    PdqHash(h)
                } else {
                    PdqHash(pdq(p + mix(k) % p))
                }
            })
            .collect();
        let t = Instant::now();
        let mut hits = 0;
        for q in &queries {
            hits += ReferenceIndex::search_pdq(&set, std::slice::from_ref(q), 31, 16)?.len();
        }
        let s = t.elapsed().as_secs_f64();
        println!(
            "{needles} PDQ searches (radius 31, {} shards each): {:.0} /s, {hits} hits, {}, load {}",
            set.shards().len(),
            needles as f64 / s,
            rss(),
            load()
        );
    }
    Ok(())
}

fn main() -> Result<(), BoxError> {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: shard_sim build N P SHARDS DIR [BUDGET_MB] | \
                 run N P MANIFEST [LOOKUPS] [NEEDLES] [mapped]";
    let num = |i: usize, d: u64| -> Result<u64, BoxError> {
        args.get(i).map_or(Ok(d), |s| s.parse::<u64>().map_err(|e| format!("{s}: {e}").into()))
    };
    match args.get(1).map(String::as_str) {
        Some("build") => build(
            num(2, 0)?,
            num(3, 0)?,
            u32::try_from(num(4, 16)?)?,
            Path::new(args.get(5).ok_or(usage)?),
            usize::try_from(num(6, 512)?)?,
        ),
        Some("run") => run(
            num(2, 0)?,
            num(3, 0)?,
            Path::new(args.get(4).ok_or(usage)?),
            num(5, 1 << 20)?,
            num(6, 1000)?,
            args.get(7).is_some_and(|a| a == "mapped"),
        ),
        _ => Err(usage.into()),
    }
}
