//! Writes the synthetic test images (tests/common/synth.rs) as PNG files into a directory,
//! for the reference scripts in scripts/ that compute the committed expected values.
//! Usage: cargo run --example gen_synthetic -- OUT_DIR

#[path = "../tests/common/rng.rs"]
mod rng;
#[path = "../tests/common/synth.rs"]
mod synth;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args_os().nth(1).ok_or("usage: gen_synthetic OUT_DIR")?;
    let out = std::path::PathBuf::from(out);
    std::fs::create_dir_all(&out)?;
    for img in synth::all() {
        let color = if img.channels == 1 {
            image::ExtendedColorType::L8
        } else {
            image::ExtendedColorType::Rgb8
        };
        let path = out.join(format!("{}.png", img.name));
        image::save_buffer(&path, &img.pixels, img.width, img.height, color)?;
        eprintln!("{}", path.display());
    }
    Ok(())
}
