//! Import throughput (records/s): a generated 10^6-line md5sum list and a generated
//! 10^5-entry VICS 2.0 JSON document, read from a temporary file through `import_path` (so
//! file reading and the source SHA-256 are included) into a counting sink.
//!
//! `cargo bench --bench import`

use std::io::Write;
use std::path::Path;

use base64::Engine;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mediahash::import::{Format, ImportOptions, import_path};

const MD5_LINES: u64 = 1_000_000;
const VICS_ENTRIES: u64 = 100_000;

/// Deterministic pseudo-random bytes (xorshift), so every run reads the same file.
fn pseudo_random(state: &mut u64, out: &mut [u8]) {
    for byte in out {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *byte = (*state >> 32) as u8;
    }
}

fn write_md5sum(path: &Path) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut state = 1u64;
    let mut digest = [0u8; 16];
    for i in 0..MD5_LINES {
        pseudo_random(&mut state, &mut digest);
        let hex = mediahash::hex::encode(&digest);
        writeln!(out, "{hex}  evidence/dir{}/IMG_{i:07}.jpg", i % 100).unwrap();
    }
    out.flush().unwrap();
}

fn write_vics(path: &Path) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(
        out,
        "{{\"@odata.context\": \"http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/\
         Default/$metadata#Media\",\n\"value\": ["
    )
    .unwrap();
    let mut state = 7u64;
    let (mut md5, mut sha1, mut pdna) = ([0u8; 16], [0u8; 20], [0u8; 144]);
    for i in 0..VICS_ENTRIES {
        pseudo_random(&mut state, &mut md5);
        pseudo_random(&mut state, &mut sha1);
        pseudo_random(&mut state, &mut pdna);
        let comma = if i + 1 < VICS_ENTRIES { "," } else { "" };
        writeln!(
            out,
            "  {{\"MediaID\": {i}, \"Category\": {}, \"MD5\": \"{}\", \"SHA1\": \"{}\", \
             \"MediaSize\": {}, \"VictimIdentified\": \"false\", \"IsPrecategorized\": true, \
             \"Series\": \"series-{}\", \"PhotoDNA\": \"{}\"}}{comma}",
            i % 5,
            mediahash::hex::encode(&md5).to_uppercase(),
            mediahash::hex::encode(&sha1).to_uppercase(),
            1000 + i,
            i % 37,
            base64::engine::general_purpose::STANDARD.encode(pdna),
        )
        .unwrap();
    }
    writeln!(out, "]}}").unwrap();
    out.flush().unwrap();
}

fn run(path: &Path, format: Format) -> u64 {
    let mut count = 0u64;
    let summary = import_path(path, Some(format), &ImportOptions::default(), &mut |_| {
        count += 1;
        Ok(())
    })
    .unwrap();
    assert_eq!(summary.bad_records, 0);
    count
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let md5_path = dir.path().join("list.md5");
    let vics_path = dir.path().join("vics.json");
    write_md5sum(&md5_path);
    write_vics(&vics_path);

    let mut group = c.benchmark_group("import");
    group.sample_size(10);
    group.throughput(Throughput::Elements(MD5_LINES));
    group.bench_function("md5sum_1e6_lines", |b| {
        b.iter(|| assert_eq!(run(&md5_path, Format::Md5sum), MD5_LINES))
    });
    group.throughput(Throughput::Elements(VICS_ENTRIES));
    group.bench_function("vics_json_1e5_entries", |b| {
        b.iter(|| assert_eq!(run(&vics_path, Format::VicsJson), VICS_ENTRIES))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
