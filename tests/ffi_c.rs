//! Compiles the C programs in tests/c/ against include/mediahash.h and the static library,
//! with AddressSanitizer and UndefinedBehaviorSanitizer, and runs them. With
//! `MEDIAHASH_VALGRIND=1` the same programs are also built without sanitizers and run under
//! valgrind (leak-check=full, any error fails). Also checks that the header compiles as C99
//! and C++ with -Wall -Wextra -Werror -pedantic, and runs the examples in examples/c and
//! examples/python.
//!
//! The static and shared libraries are the ones `cargo test` itself built (see [`libraries`]):
//! no second cargo build, unless they are missing.

mod common;

use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use mediahash::analyze::{Analysis, AnalyzeOptions, analyze_file};
use mediahash::refset::build::{BuildOptions, Builder};
use mediahash::refset::format::FORMAT_VERSION;
use mediahash::refset::read::{RefSet, RefsetError};
use mediahash::refset::{BadRecord, Disposition, EntryMeta, HashValue, Record, SourceInfo};

const WARNINGS: &[&str] = &["-Wall", "-Wextra", "-Werror", "-pedantic"];
const SANITIZERS: &[&str] =
    &["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"];
/// System libraries the Rust static library needs: the list `cargo rustc --lib --crate-type
/// staticlib -- --print native-static-libs` prints on Linux (also in mediahash.pc.in).
const NATIVE_LIBS: &[&str] = &["-lgcc_s", "-lutil", "-lrt", "-lpthread", "-lm", "-ldl", "-lc"];

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Where cargo put this test binary's profile: `<target>/<profile>` (or
/// `<target>/<triple>/<profile>`), the directory the libraries are built into.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // <profile>/deps/ffi_c-<hash>
    exe.parent().and_then(Path::parent).expect("test binary lives in <profile>/deps").to_owned()
}

struct Libraries {
    static_lib: PathBuf,
    shared_lib: PathBuf,
}

/// libmediahash.a / libmediahash.so for the C programs.
///
/// `cargo test` compiles the library once with every crate type Cargo.toml lists (rlib,
/// cdylib, staticlib): the rlib linked into this test binary comes with a static and a shared
/// library from the same compilation, in `<profile>/deps`. Those are used as they are.
///
/// Only when they are missing (this binary was built some other way) does this run
/// `cargo build --lib` for the same profile and target directory, and it says so on the
/// terminal: without dev-dependencies some dependencies resolve to other features, so on a
/// fresh clone that build recompiles them (minutes, once).
fn libraries() -> &'static Libraries {
    static LIBS: OnceLock<Libraries> = OnceLock::new();
    LIBS.get_or_init(|| {
        let profile_dir = profile_dir();
        let deps = profile_dir.join("deps");
        let from_test_build = Libraries {
            static_lib: deps.join("libmediahash.a"),
            shared_lib: deps.join("libmediahash.so"),
        };
        if from_test_build.static_lib.is_file() && from_test_build.shared_lib.is_file() {
            eprintln!("ffi_c: using the libraries cargo test built, in {}", deps.display());
            return from_test_build;
        }
        build_libraries(&profile_dir)
    })
}

/// The fallback of [`libraries`]: `cargo build --lib`, its progress shown on the terminal.
fn build_libraries(profile_dir: &Path) -> Libraries {
    let profile_name = profile_dir.file_name().and_then(OsStr::to_str).unwrap().to_owned();
    let above = profile_dir.parent().unwrap();
    // The target root holds cargo's `.rustc_info.json` (and usually CACHEDIR.TAG);
    // <target>/<triple>/<profile> has neither beside the profile directory.
    let is_root =
        |dir: &Path| dir.join(".rustc_info.json").exists() || dir.join("CACHEDIR.TAG").exists();
    let (target_root, triple) = if is_root(above) {
        (above.to_owned(), None)
    } else {
        let triple = above.file_name().and_then(OsStr::to_str).unwrap().to_owned();
        (above.parent().unwrap().to_owned(), Some(triple))
    };
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.arg("build").arg("--lib").arg("--manifest-path").arg(crate_dir().join("Cargo.toml"));
    match profile_name.as_str() {
        "debug" => {}
        "release" => {
            cmd.arg("--release");
        }
        other => {
            cmd.args(["--profile", other]);
        }
    }
    if let Some(triple) = triple {
        cmd.args(["--target", &triple]);
    }
    cmd.env("CARGO_TARGET_DIR", &target_root);
    // Straight to the terminal (libtest captures only its own print macros): a build that
    // may take minutes must not look like a hung test.
    let _ = writeln!(
        std::io::stderr(),
        "ffi_c: libmediahash.a/.so not found in {}/deps; running {cmd:?}",
        profile_dir.display()
    );
    let status = cmd.stdin(Stdio::null()).stdout(Stdio::inherit()).stderr(Stdio::inherit());
    let status = status.status().expect("run cargo build --lib");
    assert!(status.success(), "cargo build --lib failed ({status}); its output is above");
    let libs = Libraries {
        static_lib: profile_dir.join("libmediahash.a"),
        shared_lib: profile_dir.join("libmediahash.so"),
    };
    assert!(libs.static_lib.is_file(), "missing {}", libs.static_lib.display());
    assert!(libs.shared_lib.is_file(), "missing {}", libs.shared_lib.display());
    libs
}

/// The directory for the compiled C programs and fixtures (kept for debugging a failure).
fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = profile_dir().join("ffi-c-tests");
        std::fs::create_dir_all(&dir).expect("create the C test build directory");
        dir
    })
}

fn run_checked(cmd: &mut Command, what: &str) -> Output {
    let output = cmd.output().unwrap_or_else(|e| panic!("{what}: could not start: {e}"));
    if !output.status.success() {
        panic!(
            "{what} failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    output
}

#[derive(Clone, Copy, PartialEq)]
enum Instrumentation {
    Sanitizers,
    /// Plain build for valgrind (which cannot run ASan binaries).
    None,
}

/// Compiles tests/c/<name>.c (C99, warnings as errors) and links it with the static library.
fn compile_c_test(name: &str, instrumentation: Instrumentation) -> PathBuf {
    let libs = libraries();
    let source = crate_dir().join("tests/c").join(format!("{name}.c"));
    let suffix = if instrumentation == Instrumentation::Sanitizers { "asan" } else { "plain" };
    let exe = scratch().join(format!("{name}-{suffix}"));
    let mut cmd = Command::new("cc");
    cmd.arg("-std=c99").args(WARNINGS).arg("-g").arg("-O1");
    if instrumentation == Instrumentation::Sanitizers {
        cmd.args(SANITIZERS);
    }
    cmd.arg("-I").arg(crate_dir().join("include"));
    cmd.arg("-I").arg(crate_dir().join("tests/c"));
    cmd.arg(&source).arg("-o").arg(&exe);
    cmd.arg(&libs.static_lib).args(NATIVE_LIBS);
    run_checked(&mut cmd, &format!("compiling {}", source.display()));
    exe
}

/// Runs a sanitizer build: any ASan/UBSan/LSan report makes it exit non-zero.
fn run_sanitized(exe: &Path, args: &[&OsStr]) -> String {
    let mut cmd = Command::new(exe);
    cmd.args(args)
        .env("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0:halt_on_error=1")
        .env("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1");
    let output = run_checked(&mut cmd, &exe.display().to_string());
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn valgrind_requested() -> bool {
    std::env::var_os("MEDIAHASH_VALGRIND").is_some_and(|v| v == "1")
}

fn run_valgrind(exe: &Path, args: &[&OsStr]) {
    let mut cmd = Command::new("valgrind");
    cmd.args([
        "--quiet",
        "--leak-check=full",
        // Not "possible": mh_scan's hashing threads (a rayon pool per scan) are told to exit
        // when the scan returns but finish asynchronously, so at process exit their thread
        // blocks may still be in use, which valgrind reports as "possibly lost".
        "--errors-for-leak-kinds=definite,indirect",
        "--error-exitcode=99",
        "--track-origins=yes",
    ])
    .arg(exe)
    .args(args);
    run_checked(&mut cmd, &format!("valgrind {}", exe.display()));
}

/// Builds and runs one C test program with sanitizers, and under valgrind if requested.
fn run_c_test(name: &str, args: &[&OsStr]) -> String {
    let exe = compile_c_test(name, Instrumentation::Sanitizers);
    let stdout = run_sanitized(&exe, args);
    assert!(stdout.contains(&format!("{name}: ok")), "{name} did not finish:\n{stdout}");
    if valgrind_requested() {
        let plain = compile_c_test(name, Instrumentation::None);
        run_valgrind(&plain, args);
    } else {
        eprintln!("{name}: valgrind run skipped (set MEDIAHASH_VALGRIND=1)");
    }
    stdout
}

/// Test inputs, made once per run in the scratch directory (see tests/c/test_refset.c for
/// what the reference set holds).
struct Fixture {
    image: PathBuf,
    corrupt_image: PathBuf,
    set: PathBuf,
    tampered_set: PathBuf,
    newer_set: PathBuf,
    garbage_set: PathBuf,
    empty_set: PathBuf,
    analysis: Analysis,
}

const IMAGE_WIDTH: u32 = 96;
const IMAGE_HEIGHT: u32 = 64;

/// An asymmetric picture (so its 8 dihedral PDQ hashes all differ), as PNG.
fn fixture_png() -> Vec<u8> {
    let picture = image::RgbImage::from_fn(IMAGE_WIDTH, IMAGE_HEIGHT, |x, y| {
        let in_disc = (x as i32 - 30).pow(2) + (y as i32 - 20).pow(2) < 225;
        let in_bar = (60..88).contains(&x) && (40..52).contains(&y);
        if in_disc {
            image::Rgb([230, 40, 40])
        } else if in_bar {
            image::Rgb([20, 20, 200])
        } else {
            // Texture, so that the PDQ quality passes the matching threshold (50).
            let t = ((x * 37) ^ (y * 91)) as u8;
            image::Rgb([t, (x * 2) as u8 ^ (t / 2), (y * 3) as u8])
        }
    });
    let mut png = Vec::new();
    picture
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .expect("encode the fixture PNG");
    png
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = scratch().join("fixture");
        std::fs::create_dir_all(&dir).unwrap();
        let png = fixture_png();
        let image = dir.join("image.png");
        std::fs::write(&image, &png).unwrap();
        let corrupt_image = dir.join("truncated.png");
        std::fs::write(&corrupt_image, &png[..png.len() / 2]).unwrap();

        let options = AnalyzeOptions { dihedral: true, ..AnalyzeOptions::default() };
        let analysis = analyze_file(&image, &options).expect("analyze the fixture image");
        let pdq = analysis.pdq.as_ref().expect("fixture PDQ").hash.0;
        let dihedral = analysis.pdq_dihedral.expect("fixture dihedrals");
        assert!(dihedral[1..].iter().all(|h| h.0 != pdq), "fixture image must be asymmetric");
        let quality = analysis.pdq.as_ref().unwrap().quality;
        assert!(quality >= 50, "fixture PDQ quality {quality} is below the matching threshold");
        let set = dir.join("set.mhset");
        build_fixture_set(&analysis, &set);
        check_fixture_set(&set, &analysis);

        let bytes = std::fs::read(&set).unwrap();
        let tampered_set = dir.join("tampered.mhset");
        std::fs::write(&tampered_set, tamper(&bytes)).unwrap();
        let newer_set = dir.join("newer.mhset");
        let mut newer = bytes.clone();
        newer[12..16].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes());
        assert!(matches!(RefSet::from_bytes(newer.clone()), Err(RefsetError::NewerVersion { .. })));
        std::fs::write(&newer_set, newer).unwrap();
        let garbage_set = dir.join("garbage.mhset");
        std::fs::write(&garbage_set, b"this is not a reference set, just text\n".repeat(8))
            .unwrap();
        let empty_set = dir.join("empty.mhset");
        std::fs::write(&empty_set, b"").unwrap();
        Fixture {
            image,
            corrupt_image,
            set,
            tampered_set,
            newer_set,
            garbage_set,
            empty_set,
            analysis,
        }
    })
}

fn flip_low_bits(hash: [u8; 32], bits: u32) -> [u8; 32] {
    let mut out = hash;
    out[31] ^= ((1u16 << bits) - 1) as u8;
    out
}

fn build_fixture_set(analysis: &Analysis, out: &Path) {
    let pdq = analysis.pdq.as_ref().unwrap().hash.0;
    let rot90 = analysis.pdq_dihedral.unwrap()[1].0;
    let phash = analysis.imagehashes.as_ref().unwrap().phash.0;
    let mut builder = Builder::new(BuildOptions::default()).expect("builder");
    let source = |name: &str, set: &str, disposition, version: Option<&str>| SourceInfo {
        name: name.into(),
        format: "test".into(),
        sha256: "0".repeat(64),
        disposition,
        set_name: set.into(),
        records: 0,
        bad_records: 0,
        empty_file_records_skipped: 0,
        source_version: version.map(str::to_owned),
    };
    let alerts = builder
        .add_source(source("alerts.json", "alerts", Disposition::Alert, Some("2.0")))
        .unwrap();
    let nsrl = builder.add_source(source("nsrl.txt", "NSRL", Disposition::Ignore, None)).unwrap();
    let meta =
        |category: &str| EntryMeta { category: Some(category.into()), ..EntryMeta::default() };
    builder
        .add(
            alerts,
            Record {
                hashes: vec![
                    HashValue::Sha256(analysis.digests.sha256),
                    HashValue::Md5(analysis.digests.md5),
                    HashValue::Pdq { hash: flip_low_bits(pdq, 5), quality: Some(90) },
                ],
                meta: EntryMeta {
                    profile: Some("Default".into()),
                    victim_identified: Some(true),
                    source_id: Some("media-1".into()),
                    file_name: Some(b"img\xff.png".to_vec()),
                    file_size: Some(1234),
                    note: Some("a\0b".into()),
                    ..meta("1")
                },
            },
        )
        .unwrap();
    builder
        .add(
            alerts,
            Record { hashes: vec![HashValue::Pdq { hash: rot90, quality: None }], meta: meta("2") },
        )
        .unwrap();
    builder
        .add(alerts, Record { hashes: vec![HashValue::PHash(phash ^ 7)], meta: meta("3") })
        .unwrap();
    builder.record_bad(alerts, BadRecord { line: 7, reason: "not a hash".into() }).unwrap();
    builder
        .add(
            nsrl,
            Record {
                hashes: vec![HashValue::Sha256(analysis.digests.sha256)],
                meta: EntryMeta { file_name: Some(b"x.png".to_vec()), ..EntryMeta::default() },
            },
        )
        .unwrap();
    builder.finish(out).expect("write the fixture reference set");
}

/// The expectations the C tests hard-code, checked here through the Rust API first.
fn check_fixture_set(path: &Path, analysis: &Analysis) {
    let set = RefSet::open(path).unwrap();
    set.verify().unwrap();
    let dihedral: Vec<[u8; 32]> = analysis.pdq_dihedral.unwrap().iter().map(|h| h.0).collect();
    let found: Vec<(u32, usize)> =
        set.search_pdq_needles(&dihedral, 31).iter().map(|m| (m.distance, m.needle)).collect();
    assert_eq!(found, [(0, 1), (5, 0)], "fixture PDQ search");
    assert_eq!(set.search_pdq_needles(&dihedral[..1], 31).len(), 1);
}

/// A copy of `bytes` with one byte changed such that the set still opens but fails
/// verification (the damage is only visible to the checksum).
fn tamper(bytes: &[u8]) -> Vec<u8> {
    for offset in (0..bytes.len()).rev() {
        let mut copy = bytes.to_vec();
        copy[offset] ^= 0x01;
        if let Ok(set) = RefSet::from_bytes(copy.as_slice())
            && matches!(set.verify(), Err(RefsetError::ChecksumMismatch { .. }))
        {
            return copy;
        }
    }
    panic!("no single-byte change of the fixture set opens and then fails verification");
}

#[test]
fn c_basics() {
    run_c_test("test_basics", &[]);
}

/// ABI versioning: old- and newer-sized structs, cancel tokens.
#[test]
fn c_abi() {
    let f = fixture();
    run_c_test("test_abi", &[f.image.as_os_str()]);
}

#[test]
fn c_hash() {
    let f = fixture();
    let analysis = &f.analysis;
    let sha256 = mediahash::hex::encode(&analysis.digests.sha256);
    let pdq = mediahash::hex::encode(&analysis.pdq.as_ref().unwrap().hash.0);
    let phash = format!("{:016x}", analysis.imagehashes.as_ref().unwrap().phash.0);
    let (width, height) = (IMAGE_WIDTH.to_string(), IMAGE_HEIGHT.to_string());
    let args: [&OsStr; 8] = [
        f.image.as_os_str(),
        sha256.as_ref(),
        pdq.as_ref(),
        phash.as_ref(),
        width.as_ref(),
        height.as_ref(),
        f.corrupt_image.as_os_str(),
        scratch().as_os_str(),
    ];
    run_c_test("test_hash", &args);
}

#[test]
fn c_refset() {
    let f = fixture();
    run_c_test(
        "test_refset",
        &[
            f.set.as_os_str(),
            f.tampered_set.as_os_str(),
            f.newer_set.as_os_str(),
            f.garbage_set.as_os_str(),
            f.empty_set.as_os_str(),
            f.image.as_os_str(),
        ],
    );
}

/// Building sets from C: files, single hashes, the bad-line rule.
#[test]
fn c_build() {
    let dir = scratch().join("build");
    std::fs::create_dir_all(&dir).unwrap();
    run_c_test("test_build", &[dir.as_os_str()]);
}

#[test]
fn c_threads() {
    let f = fixture();
    run_c_test("test_threads", &[f.set.as_os_str(), f.image.as_os_str()]);
}

#[test]
fn c_scan() {
    let f = fixture();
    let dir = scratch().join("scan-root");
    if dir.exists() {
        std::fs::remove_dir_all(&dir).unwrap();
    }
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::copy(&f.image, dir.join("image.png")).unwrap();
    std::fs::copy(&f.corrupt_image, dir.join("broken.png")).unwrap();
    std::fs::write(dir.join("note.txt"), b"plain text, not an image\n").unwrap();
    std::fs::write(dir.join("sub/empty.bin"), b"").unwrap();
    run_c_test("test_scan", &[f.set.as_os_str(), dir.as_os_str()]);
}

/// A raw FAT16 image (made with `mkfs.vfat` and mtools) scanned through `mh_scan`: the image
/// read through its file system, a deleted file, entry locations, verification and the
/// options that turn disk images and archives off.
#[test]
#[cfg_attr(not(mediahash_disk_tools), ignore = "needs mkfs.vfat and mtools (see build.rs)")]
fn c_scan_disk_image() {
    let f = fixture();
    let image = scratch().join("scan-image.raw");
    let _ = std::fs::remove_file(&image);
    let image_text = image.to_str().unwrap();
    let tool = |cmd: &str, args: &[&str]| {
        common::tools::run_tool(cmd, args, "Debian packages dosfstools and mtools");
    };
    tool("mkfs.vfat", &["-C", "-F", "16", "-s", "1", "-n", "CTEST", image_text, "8192"]);
    let note = scratch().join("scan-image-note.txt");
    std::fs::write(&note, b"a note on the disk\n").unwrap();
    let gone = scratch().join("scan-image-deleted.txt");
    std::fs::write(&gone, b"deleted, but its cluster is still free\n").unwrap();
    tool("mmd", &["-i", image_text, "::/PICS"]);
    tool("mcopy", &["-i", image_text, f.image.to_str().unwrap(), "::/PICS/IMAGE.PNG"]);
    tool("mcopy", &["-i", image_text, note.to_str().unwrap(), "::/NOTE.TXT"]);
    tool("mcopy", &["-i", image_text, gone.to_str().unwrap(), "::/DELETED.TXT"]);
    tool("mdel", &["-i", image_text, "::/DELETED.TXT"]);
    run_c_test("test_scan_image", &[f.set.as_os_str(), image.as_os_str()]);
}

/// examples/c/mh_example.c built with flags from a mediahash.pc generated from the template,
/// linked against the shared library, run against the fixture set.
#[test]
fn c_example_with_pkg_config() {
    let f = fixture();
    let libs = libraries();
    let pc_dir = scratch().join("pkgconfig");
    std::fs::create_dir_all(&pc_dir).unwrap();
    let template = std::fs::read_to_string(crate_dir().join("examples/c/mediahash.pc.in")).unwrap();
    let libdir = libs.shared_lib.parent().unwrap();
    let pc = template
        .replace("@prefix@", &crate_dir().display().to_string())
        .replace("@libdir@", &libdir.display().to_string())
        .replace("@includedir@", &crate_dir().join("include").display().to_string())
        .replace("@version@", env!("CARGO_PKG_VERSION"));
    assert!(!pc.contains('@'), "unreplaced placeholder in mediahash.pc.in");
    std::fs::write(pc_dir.join("mediahash.pc"), pc).unwrap();

    let flags = run_checked(
        Command::new("pkg-config")
            .args(["--cflags", "--libs", "mediahash"])
            .env("PKG_CONFIG_PATH", &pc_dir),
        "pkg-config",
    );
    let flags = String::from_utf8(flags.stdout).unwrap();
    let modversion = run_checked(
        Command::new("pkg-config")
            .args(["--modversion", "mediahash"])
            .env("PKG_CONFIG_PATH", &pc_dir),
        "pkg-config --modversion",
    );
    assert_eq!(String::from_utf8_lossy(&modversion.stdout).trim(), env!("CARGO_PKG_VERSION"));

    let exe = scratch().join("mh_example");
    let mut cc = Command::new("cc");
    cc.arg("-std=c99").args(WARNINGS).arg(crate_dir().join("examples/c/mh_example.c"));
    cc.args(flags.split_whitespace()).arg("-o").arg(&exe);
    run_checked(&mut cc, "compiling examples/c/mh_example.c");

    let output = run_checked(
        Command::new(&exe).arg("--set").arg(&f.set).arg(&f.image).env("LD_LIBRARY_PATH", libdir),
        "mh_example",
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    let sha256 = mediahash::hex::encode(&f.analysis.digests.sha256);
    assert!(stdout.contains(&format!("sha256 {sha256}")), "{stdout}");
    assert!(stdout.contains("sha256 match: set \"alerts\" (alert), distance 0, category 1"));
    assert!(stdout.contains("sha256 match: set \"NSRL\" (ignore), distance 0"));
    assert!(stdout.contains("pdq match: set \"alerts\" (alert), distance 5, category 1"));
    assert!(stdout.contains("pdq match: set \"alerts\" (alert), distance 0, category 2"));

    // A missing file: the error detail reaches the user and the exit status says so.
    let missing = scratch().join("no-such-file.jpg");
    let output = Command::new(&exe).arg(&missing).env("LD_LIBRARY_PATH", libdir).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("file or directory not found") && stderr.contains("no-such-file"));
}

/// examples/python/mh_ctypes.py, through the shared library, agrees with the Rust API.
#[test]
fn python_ctypes_example() {
    let f = fixture();
    let libs = libraries();
    let python = std::env::var_os("PYTHON").unwrap_or_else(|| "python3".into());
    let output = run_checked(
        Command::new(&python)
            .arg(crate_dir().join("examples/python/mh_ctypes.py"))
            .arg("--lib")
            .arg(&libs.shared_lib)
            .arg(&f.image),
        "examples/python/mh_ctypes.py",
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    let a = &f.analysis;
    let pdq = a.pdq.as_ref().unwrap();
    let want = format!(
        "{}  pdq={} q={}  phash={:016x}  {}",
        mediahash::hex::encode(&a.digests.sha256),
        mediahash::hex::encode(&pdq.hash.0),
        pdq.quality,
        a.imagehashes.as_ref().unwrap().phash.0,
        f.image.display()
    );
    assert_eq!(stdout.trim_end(), want);
}

#[test]
fn header_compiles_as_c99_and_cxx() {
    let dir = scratch().join("header-check");
    std::fs::create_dir_all(&dir).unwrap();
    let c_source = dir.join("include_header.c");
    std::fs::write(
        &c_source,
        "#include \"mediahash.h\"\nint main(void) { return mh_version() == 0; }\n",
    )
    .unwrap();
    let cxx_source = dir.join("include_header.cpp");
    std::fs::copy(&c_source, &cxx_source).unwrap();
    let include = crate_dir().join("include");
    for (compiler, std, source) in
        [("cc", "-std=c99", &c_source), ("c++", "-std=c++11", &cxx_source)]
    {
        // Also as a Windows compiler sees it (the UTF-16 path functions declared).
        for defines in [&[][..], &["-D_WIN32"][..]] {
            let mut cmd = Command::new(compiler);
            cmd.arg(std).args(WARNINGS).args(defines).arg("-fsyntax-only");
            cmd.arg("-I").arg(&include).arg(source);
            run_checked(&mut cmd, &format!("{compiler} {std} {defines:?} include/mediahash.h"));
        }
    }
}

/// Videos through the C ABI: `tests/c/test_video.c` against a committed test video and its
/// reference vPDQ list (Meta's vpdq, `tests/vectors/vpdq/`).
#[test]
#[cfg_attr(
    not(mediahash_video_tools),
    ignore = "needs ffmpeg and ffprobe (apt-get install ffmpeg)"
)]
fn c_video() {
    let list = crate_dir().join("tests/vectors/vpdq/testsrc2-h264.mp4.0.txt");
    let text = std::fs::read_to_string(&list).unwrap();
    let first_hex = text.lines().next().unwrap().split(',').nth(2).unwrap().to_string();
    let mut builder = mediahash::refset::build::Builder::new(Default::default()).unwrap();
    mediahash::import::vpdq::import_vpdq_lists(
        &mut builder,
        &list,
        mediahash::refset::Disposition::Alert,
        None,
    )
    .unwrap();
    let set = scratch().join("video.mhset");
    let _ = std::fs::remove_file(&set);
    builder.finish(&set).unwrap();
    let video = crate_dir().join("tests/data/video/testsrc2-h264.mp4");
    let first: &OsStr = first_hex.as_ref();
    run_c_test("test_video", &[video.as_os_str(), set.as_os_str(), first]);
}
