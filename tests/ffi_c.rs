//! Compiles the C programs in tests/c/ against include/mediahash.h and the static library,
//! with AddressSanitizer and UndefinedBehaviorSanitizer, and runs them. With
//! `MEDIAHASH_VALGRIND=1` the same programs are also built without sanitizers and run under
//! valgrind (leak-check=full, any error fails). Also checks that the header compiles as C99
//! and C++ with -Wall -Wextra -Werror -pedantic, and runs the examples in examples/c and
//! examples/python.
//!
//! `cargo test` builds the library only as an rlib, so the first test to need the static or
//! shared library runs `cargo build --lib` for the same profile and target directory.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

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

/// Builds libmediahash.a / libmediahash.so once per test run, with the same profile and
/// target directory as this test binary.
fn libraries() -> &'static Libraries {
    static LIBS: OnceLock<Libraries> = OnceLock::new();
    LIBS.get_or_init(|| {
        let profile_dir = profile_dir();
        let profile_name = profile_dir.file_name().and_then(OsStr::to_str).unwrap().to_owned();
        let above = profile_dir.parent().unwrap();
        // <target>/<profile> has CACHEDIR.TAG beside it; <target>/<triple>/<profile> does not.
        let (target_root, triple) = if above.join("CACHEDIR.TAG").exists() {
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
        let output = cmd.output().expect("run cargo build --lib");
        assert!(
            output.status.success(),
            "cargo build --lib failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let libs = Libraries {
            static_lib: profile_dir.join("libmediahash.a"),
            shared_lib: profile_dir.join("libmediahash.so"),
        };
        assert!(libs.static_lib.is_file(), "missing {}", libs.static_lib.display());
        assert!(libs.shared_lib.is_file(), "missing {}", libs.shared_lib.display());
        libs
    })
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
        "--errors-for-leak-kinds=definite,indirect,possible",
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

#[test]
fn c_basics() {
    run_c_test("test_basics", &[]);
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
        let mut cmd = Command::new(compiler);
        cmd.arg(std).args(WARNINGS).arg("-fsyntax-only").arg("-I").arg(&include).arg(source);
        run_checked(&mut cmd, &format!("{compiler} {std} include/mediahash.h"));
    }
}
