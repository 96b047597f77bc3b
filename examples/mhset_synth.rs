//! Writes N synthetic random records to a `.mhset` file, to measure build time and memory.
//!
//! Usage: cargo run --release --example mhset_synth -- N OUT.mhset [sha1|nsrl|pdq]
//!        [--budget-mb MB] [--temp-dir DIR]
//!
//! * `sha1`: one SHA-1 per record, no metadata (a plain hash list).
//! * `nsrl`: MD5 + SHA-1 + SHA-256 per record with a file name and size (1 in 8 records
//!   repeats an earlier record's hashes in a second set, to exercise merging).
//! * `pdq`: one PDQ hash with a quality per record.
//!
//! Measure with `/usr/bin/time -v`.

use mediahash::refset::{
    BuildOptions, Builder, Disposition, EntryMeta, HashValue, Record, SourceInfo,
};
use std::time::Instant;

/// splitmix64: fast, fixed pseudo-random numbers.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        for chunk in out.chunks_mut(8) {
            let v = self.next().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
        out
    }
}

fn source(name: &str, set: &str, disposition: Disposition) -> SourceInfo {
    SourceInfo {
        name: name.into(),
        format: "synthetic".into(),
        sha256: String::new(),
        disposition,
        set_name: set.into(),
        records: 0,
        bad_records: 0,
        empty_file_records_skipped: 0,
        source_version: None,
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: mhset_synth N OUT.mhset [sha1|nsrl|pdq] [--budget-mb MB] [--temp-dir DIR]";
    let n: u64 = args.first().ok_or(usage)?.parse()?;
    let out = args.get(1).ok_or(usage)?.clone();
    let mode = args.get(2).filter(|a| !a.starts_with("--")).cloned().unwrap_or("sha1".into());
    let mut opts = BuildOptions { build_time: Some(0), ..BuildOptions::default() };
    let mut it = args.iter().skip(2);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--budget-mb" => {
                opts.memory_budget_bytes = it.next().ok_or(usage)?.parse::<usize>()? << 20
            }
            "--temp-dir" => opts.temp_dir = Some(it.next().ok_or(usage)?.into()),
            _ => {}
        }
    }
    let started = Instant::now();
    let mut b = Builder::new(opts)?;
    let main_set = b.add_source(source("synthetic-a", "A", Disposition::Ignore))?;
    let second = b.add_source(source("synthetic-b", "B", Disposition::Alert))?;
    let mut rng = Rng(42);
    let mut repeat = Rng(42);
    for i in 0..n {
        let record = match mode.as_str() {
            "sha1" => {
                Record { hashes: vec![HashValue::Sha1(rng.bytes())], meta: EntryMeta::default() }
            }
            "pdq" => Record {
                hashes: vec![HashValue::Pdq { hash: rng.bytes(), quality: Some((i % 101) as u8) }],
                meta: EntryMeta::default(),
            },
            "nsrl" => {
                // Every 8th record repeats an earlier record's hashes into the second set.
                let (src, r) =
                    if i % 8 == 7 { (second, &mut repeat) } else { (main_set, &mut rng) };
                let rec = Record {
                    hashes: vec![
                        HashValue::Md5(r.bytes()),
                        HashValue::Sha1(r.bytes()),
                        HashValue::Sha256(r.bytes()),
                    ],
                    meta: EntryMeta {
                        file_name: Some(format!("file{}.dll", i % 100_000).into_bytes()),
                        file_size: Some(i % 1_000_000),
                        ..EntryMeta::default()
                    },
                };
                b.add(src, rec)?;
                continue;
            }
            other => return Err(format!("unknown mode {other}: {usage}").into()),
        };
        b.add(main_set, record)?;
    }
    let added = started.elapsed();
    let report = b.finish(&out)?;
    let total = started.elapsed();
    eprintln!(
        "{n} {mode} records: add {:.1}s, total {:.1}s ({:.2} M records/s); {} bytes; {} records stored; \
         {} shared entries; runs spilled {:?}",
        added.as_secs_f64(),
        total.as_secs_f64(),
        n as f64 / total.as_secs_f64() / 1e6,
        report.bytes_written,
        report.records_stored,
        report.multi_member_entries,
        report.kinds.iter().map(|k| (k.kind.as_str(), k.spilled_runs)).collect::<Vec<_>>(),
    );
    Ok(())
}
