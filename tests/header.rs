//! The committed `include/mediahash.h` must be exactly what the pinned cbindgen (a
//! dev-dependency, so no separate install) generates from `cbindgen.toml` and `src/ffi/`.
//! Regenerate with `MEDIAHASH_BLESS=1 cargo test --test header`.

use std::path::{Path, PathBuf};

const REGENERATE: &str = "MEDIAHASH_BLESS=1 cargo test --test header";

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn generate() -> String {
    let root = crate_dir();
    let config = cbindgen::Config::from_file(root.join("cbindgen.toml")).expect("cbindgen.toml");
    // Only src/ffi/ is parsed: public constants elsewhere in the crate are not C API.
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_src(root.join("src/ffi/mod.rs"))
        .generate()
        .expect("cbindgen could not generate the header");
    let mut out = Vec::new();
    bindings.write(&mut out);
    String::from_utf8(out).expect("cbindgen wrote UTF-8")
}

fn header_path() -> PathBuf {
    crate_dir().join("include/mediahash.h")
}

#[test]
fn committed_header_matches_fresh_cbindgen_run() {
    let fresh = generate();
    let path = header_path();
    if std::env::var_os("MEDIAHASH_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&path, &fresh).expect("write include/mediahash.h");
        eprintln!("wrote {}", path.display());
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != fresh {
        let first_diff = committed
            .lines()
            .zip(fresh.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| committed.lines().count().min(fresh.lines().count()));
        panic!(
            "include/mediahash.h is stale (first difference at line {}): \
             committed {:?} vs generated {:?}.\nRegenerate it with: {REGENERATE}",
            first_diff + 1,
            committed.lines().nth(first_diff),
            fresh.lines().nth(first_diff),
        );
    }
}

fn define_value(header: &str, name: &str) -> Option<u32> {
    header.lines().find_map(|line| {
        let rest = line.trim().strip_prefix("#define ")?;
        let (key, value) = rest.split_once(char::is_whitespace)?;
        (key == name).then(|| value.trim().parse().ok())?
    })
}

#[test]
fn header_version_macros_match_cargo_toml() {
    let header = std::fs::read_to_string(header_path()).expect("include/mediahash.h");
    for (name, want) in [
        ("MH_VERSION_MAJOR", env!("CARGO_PKG_VERSION_MAJOR")),
        ("MH_VERSION_MINOR", env!("CARGO_PKG_VERSION_MINOR")),
        ("MH_VERSION_PATCH", env!("CARGO_PKG_VERSION_PATCH")),
    ] {
        let want: u32 = want.parse().unwrap();
        assert_eq!(
            define_value(&header, name),
            Some(want),
            "{name} in include/mediahash.h differs from Cargo.toml: update the constant in \
             src/ffi/version.rs, then {REGENERATE}"
        );
    }
}

#[test]
fn header_documents_regeneration() {
    let header = std::fs::read_to_string(header_path()).expect("include/mediahash.h");
    assert!(header.contains(REGENERATE), "header preamble must say how to regenerate it");
    assert!(Path::new(&crate_dir()).join("cbindgen.toml").is_file());
}
