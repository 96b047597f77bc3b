//! Builds the small C shim that drives libjpeg (MozJPEG's copy of libjpeg-turbo's decoder).
//! The shim exists so libjpeg's `error_exit` can `longjmp` back to C instead of unwinding
//! through Rust frames: hostile JPEGs then become ordinary error codes.

fn main() {
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
