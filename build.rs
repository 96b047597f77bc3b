//! Build script: compiles the C shim that drives libjpeg, warns when the `jpeg-simd` feature
//! cannot get its SIMD code (no nasm), and tells the tests whether the shared test data is
//! there (cfg `mediahash_testdata`).

use std::path::PathBuf;

fn main() {
    build_jpeg_shim();
    warn_if_jpeg_simd_missing();
    detect_shared_testdata();
    detect_oracle_tools();
    detect_vpdq();
}

/// cfg `mediahash_vpdq` when `MEDIAHASH_VPDQ_PYTHON` names a Python that has Meta's `vpdq`
/// package (tests/video.rs runs it live as an oracle), or always under
/// `MEDIAHASH_REQUIRE_TESTDATA=1` (CI installs it, so a missing one fails).
fn detect_vpdq() {
    println!("cargo:rerun-if-env-changed=MEDIAHASH_VPDQ_PYTHON");
    println!("cargo::rustc-check-cfg=cfg(mediahash_vpdq)");
    let required = std::env::var_os("MEDIAHASH_REQUIRE_TESTDATA").is_some_and(|v| v == "1");
    let python = std::env::var_os("MEDIAHASH_VPDQ_PYTHON").map(PathBuf::from);
    if required || python.is_some_and(|p| p.is_file()) {
        println!("cargo:rustc-cfg=mediahash_vpdq");
    }
}

/// The reference tools each group of oracle tests runs (Debian packages in brackets), and
/// the cfg set when all of them are installed: the tests carry
/// `#[cfg_attr(not(CFG), ignore = "...")]`, so without the tools they are listed as ignored.
const ORACLE_TOOLS: &[(&str, &[&str])] = &[
    // tests/disk.rs: FAT images in MBR/GPT vs The Sleuth Kit [sleuthkit dosfstools mtools
    // fdisk gdisk]; DFXML reports validated against the schema [libxml2-utils].
    (
        "mediahash_disk_tools",
        &["fls", "icat", "mkfs.vfat", "mcopy", "mdel", "mmd", "sfdisk", "sgdisk", "xmllint"],
    ),
    // tests/ntfs.rs: NTFS images [ntfs-3g] vs The Sleuth Kit.
    (
        "mediahash_ntfs_tools",
        &["mkntfs", "ntfscp", "ntfs-3g", "fls", "icat", "blkstat", "sfdisk", "sgdisk"],
    ),
    // tests/ewf.rs: E01 converted and checked with libewf's tools [ewf-tools].
    (
        "mediahash_ewf_tools",
        &[
            "ewfacquire",
            "ewfverify",
            "ewfinfo",
            "ewfexport",
            "xmllint",
            "fls",
            "icat",
            "mkfs.vfat",
            "mcopy",
            "mdel",
            "mmd",
            "sfdisk",
            "sgdisk",
        ],
    ),
    // tests/exfat.rs: exFAT volumes [exfatprogs], populated through exfat-fuse on a loop
    // device [exfat-fuse mount], vs The Sleuth Kit.
    (
        "mediahash_exfat_tools",
        &[
            "mkfs.exfat",
            "mount.exfat-fuse",
            "losetup",
            "fls",
            "icat",
            "blkstat",
            "sfdisk",
            "sgdisk",
        ],
    ),
    // tests/ext.rs: ext2/3/4 images [e2fsprogs] vs The Sleuth Kit.
    (
        "mediahash_ext_tools",
        &[
            "mke2fs", "debugfs", "e2fsck", "dumpe2fs", "fls", "icat", "ils", "blkstat", "sfdisk",
            "sgdisk", "sgdisk",
        ],
    ),
    // tests/carve.rs: pictures planted in FAT32/NTFS free space and unpartitioned space,
    // carved by foremost too [foremost sleuthkit dosfstools mtools ntfs-3g fdisk].
    (
        "mediahash_carve_tools",
        &[
            "foremost",
            "xmllint",
            "fls",
            "istat",
            "blkstat",
            "mkfs.vfat",
            "mcopy",
            "mdel",
            "mkntfs",
            "ntfscp",
            "sfdisk",
        ],
    ),
    // tests/archive.rs: Info-ZIP [zip unzip].
    ("mediahash_zip_tools", &["zip", "unzip"]),
    // tests/scan.rs: DFXML reports of folders validated against the schema [libxml2-utils].
    ("mediahash_xmllint", &["xmllint"]),
    // tests/hashlists.rs: hash-list files read as md5deep and TSK's hfind read them
    // [hashdeep sleuthkit].
    ("mediahash_hashlist_tools", &["md5deep", "sha1deep", "sha256deep", "hfind"]),
    // tests/review.rs: the review page opened by headless Chromium [chromium].
    ("mediahash_chromium", &["chromium"]),
    // tests/video.rs: videos decoded by FFmpeg's programs [ffmpeg].
    ("mediahash_video_tools", &["ffmpeg", "ffprobe"]),
];

/// Sets each cfg of [`ORACLE_TOOLS`] whose tools are all on `PATH` (or in /sbin, /usr/sbin,
/// which a user's PATH may lack), or every one with `MEDIAHASH_REQUIRE_TESTDATA=1` (CI),
/// where a missing tool must fail the tests rather than skip them. After installing tools,
/// `touch build.rs` (a new program on PATH re-runs nothing).
fn detect_oracle_tools() {
    println!("cargo:rerun-if-env-changed=PATH");
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs: Vec<PathBuf> = std::env::split_paths(&path).collect();
    dirs.extend(["/sbin", "/usr/sbin"].map(PathBuf::from));
    let found = |tool: &str| dirs.iter().any(|d| d.join(tool).is_file());
    let required = std::env::var_os("MEDIAHASH_REQUIRE_TESTDATA").is_some_and(|v| v == "1");
    for (cfg, tools) in ORACLE_TOOLS {
        println!("cargo::rustc-check-cfg=cfg({cfg})");
        if required || tools.iter().all(|t| found(t)) {
            println!("cargo:rustc-cfg={cfg}");
        }
    }
}

/// The shim exists so libjpeg's `error_exit` can `longjmp` back to C instead of unwinding
/// through Rust frames: hostile JPEGs then become ordinary error codes.
fn build_jpeg_shim() {
    println!("cargo:rerun-if-changed=csrc");
    let include =
        std::env::var_os("DEP_JPEG_INCLUDE").expect("mozjpeg-sys exports its include path");
    let mut build = cc::Build::new();
    for dir in std::env::split_paths(&include) {
        build.include(dir);
    }
    for entry in std::fs::read_dir("csrc").expect("csrc directory") {
        let path = entry.expect("csrc entry").path();
        if path.extension().is_some_and(|e| e == "c") {
            build.file(&path);
        }
    }
    build.warnings(true).extra_warnings(true).compile("mediahash_csrc");
}

/// mozjpeg-sys prints its own "NASM not installed" warning, but cargo hides the warnings of
/// dependencies' build scripts, so without this the README's promised warning never shows.
/// Asks the `jconfig.h` mozjpeg-sys generated (it defines `WITH_SIMD` only when it built the
/// SIMD code): the exact outcome of its own nasm check, not a second guess at it.
fn warn_if_jpeg_simd_missing() {
    if std::env::var_os("CARGO_FEATURE_JPEG_SIMD").is_none() {
        return;
    }
    let include = std::env::var_os("DEP_JPEG_INCLUDE").unwrap_or_default();
    let Some(jconfig) =
        std::env::split_paths(&include).map(|d| d.join("jconfig.h")).find(|p| p.is_file())
    else {
        println!("cargo:warning=jpeg-simd: jconfig.h not found in mozjpeg-sys's include path");
        return;
    };
    let text = std::fs::read_to_string(&jconfig).unwrap_or_default();
    if text.contains("#define WITH_SIMD") {
        return;
    }
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let hint = if arch == "x86_64" || arch == "x86" {
        "nasm was not found (or is older than 2.x) when mozjpeg-sys was built. Install nasm \
         (Debian: apt-get install nasm), then `cargo clean -p mozjpeg-sys` and rebuild"
    } else {
        "mozjpeg-sys has no SIMD code for this target"
    };
    println!(
        "cargo:warning=jpeg-simd: libjpeg-turbo was built without its SIMD code (same pixels, \
         JPEG decoding about 1.5x slower): {hint}. Build with --no-default-features --features \
         avx512,cli to silence this."
    );
}

/// Sets cfg `mediahash_testdata` when the shared test data is present (or required): the tests
/// that need it carry `#[cfg_attr(not(mediahash_testdata), ignore = "...")]`, so without it
/// `cargo test` lists them as ignored with the reason instead of passing them silently. With
/// `MEDIAHASH_REQUIRE_TESTDATA=1` (CI) they are never ignored, and fail if the data is missing.
///
/// The directory is looked up when this script runs: after adding it, set MEDIAHASH_TESTDATA
/// (a changed variable re-runs the script) or `touch build.rs`. A missing path cannot be
/// watched: cargo would re-run the script, and rebuild the crate, on every build.
fn detect_shared_testdata() {
    println!("cargo::rustc-check-cfg=cfg(mediahash_testdata)");
    println!("cargo:rerun-if-env-changed=MEDIAHASH_TESTDATA");
    println!("cargo:rerun-if-env-changed=MEDIAHASH_REQUIRE_TESTDATA");
    let dir = match std::env::var_os("MEDIAHASH_TESTDATA") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"))
            .join("../shared/testdata"),
    };
    // The same marker file tests/common/mod.rs checks.
    let marker = dir.join("pdq/README.md");
    let present = marker.is_file();
    let required = std::env::var_os("MEDIAHASH_REQUIRE_TESTDATA").is_some_and(|v| v == "1");
    if present {
        // Removing the data re-runs the script (the tests would otherwise fail to find it).
        println!("cargo:rerun-if-changed={}", marker.display());
    }
    if present || required {
        println!("cargo:rustc-cfg=mediahash_testdata");
    }
}
