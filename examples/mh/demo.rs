//! `mh scan --demo`: the bundled benign demo (`examples/demo`, made by
//! `examples/make_demo.rs`), embedded in the binary so that it runs from any working
//! directory and from an installed `mh`. It is unpacked into a fresh temporary directory,
//! removed when the scan ends. After regenerating the demo, update [`FILES`]; the test
//! `demo_runs_from_any_directory_with_the_documented_verdicts` compares it with the tree.

/// Every demo file: its path below `examples/demo` and its bytes.
const FILES: &[(&str, &[u8])] = &[
    ("evidence/DCIM/IMG_0001.png", include_bytes!("../demo/evidence/DCIM/IMG_0001.png")),
    ("evidence/DCIM/IMG_0002.jpg", include_bytes!("../demo/evidence/DCIM/IMG_0002.jpg")),
    ("evidence/DCIM/IMG_0003.png", include_bytes!("../demo/evidence/DCIM/IMG_0003.png")),
    ("evidence/DCIM/IMG_0004.png", include_bytes!("../demo/evidence/DCIM/IMG_0004.png")),
    ("evidence/DCIM/IMG_0005.jpg", include_bytes!("../demo/evidence/DCIM/IMG_0005.jpg")),
    ("evidence/DCIM/IMG_0006.jpg", include_bytes!("../demo/evidence/DCIM/IMG_0006.jpg")),
    ("evidence/Documents/empty.txt", include_bytes!("../demo/evidence/Documents/empty.txt")),
    ("evidence/Documents/letter.txt", include_bytes!("../demo/evidence/Documents/letter.txt")),
    ("evidence/Documents/receipt.dat", include_bytes!("../demo/evidence/Documents/receipt.dat")),
    ("evidence/Documents/scan.png", include_bytes!("../demo/evidence/Documents/scan.png")),
    ("evidence/System/license.txt", include_bytes!("../demo/evidence/System/license.txt")),
    ("evidence/System/readme.txt", include_bytes!("../demo/evidence/System/readme.txt")),
    ("evidence/Videos/VID_0001.mp4", include_bytes!("../demo/evidence/Videos/VID_0001.mp4")),
    ("sets/demo-known.md5", include_bytes!("../demo/sets/demo-known.md5")),
    ("sets/demo-pdq.txt", include_bytes!("../demo/sets/demo-pdq.txt")),
    ("sets/demo-vics.json", include_bytes!("../demo/sets/demo-vics.json")),
    ("sets/demo-vpdq/known-clip.txt", include_bytes!("../demo/sets/demo-vpdq/known-clip.txt")),
];

/// The demo, unpacked; the directory is removed when this is dropped.
pub struct Demo {
    dir: tempfile::TempDir,
}

impl Demo {
    /// Writes the demo files into a new temporary directory.
    pub fn unpack() -> std::io::Result<Demo> {
        let dir = tempfile::Builder::new().prefix("mh-demo-").tempdir()?;
        for (rel, bytes) in FILES {
            let path = dir.path().join(rel);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&path, bytes)?;
        }
        Ok(Demo { dir })
    }

    /// The demo evidence root.
    pub fn evidence(&self) -> std::path::PathBuf {
        self.dir.path().join("evidence")
    }

    /// The demo's alert sets (VICS JSON, PDQ list) and ignore set (md5sum list).
    pub fn sets(&self) -> (Vec<std::path::PathBuf>, Vec<std::path::PathBuf>) {
        let sets = self.dir.path().join("sets");
        (
            vec![sets.join("demo-vics.json"), sets.join("demo-pdq.txt")],
            vec![sets.join("demo-known.md5")],
        )
    }

    /// The demo's known videos: a folder of vPDQ lists, alerts.
    pub fn vpdq_lists(&self) -> std::path::PathBuf {
        self.dir.path().join("sets/demo-vpdq")
    }
}
