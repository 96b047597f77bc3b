//! Provenance indicators of a picture, read from its metadata: signs of how it was made
//! (a camera, an editor, an image generator), never verdicts. docs/provenance.md says what
//! each one means and how it is forged or stripped.
//!
//! | kind | found in | value |
//! |---|---|---|
//! | `c2pa` | JPEG APP11 / PNG `caBX` / WebP `C2PA`: a JUMBF box labelled `c2pa` | the claim generator, when readable |
//! | `generator-parameters` | PNG `tEXt`/`zTXt`/`iTXt` keywords image generators write (`parameters`, `prompt`, `workflow`, ...) | `keyword: first characters` |
//! | `software` | EXIF `Software` (0x0131) in JPEG, PNG, WebP and TIFF, PNG `Software` text | the text |
//! | `camera` | EXIF `Make` (0x010F) / `Model` (0x0110), TIFF IFD0's own tags | `make model` |
//! | `digital-source-type` | XMP `Iptc4xmpExt:DigitalSourceType` (JPEG APP1, PNG iTXt, WebP `XMP `, TIFF tag 700, GIF `XMP DataXMP` extension) | the IPTC term (`trainedAlgorithmicMedia`, ...) |
//! | `no-camera-metadata` | a JPEG, PNG, WebP or TIFF without EXIF `Make`/`Model` (never said of GIF, BMP, ICO or Netpbm, which cannot carry them) | - |
//! | `metadata-unreadable` | a metadata structure that is damaged or over a bound | what is wrong |
//!
//! **Bounded.** Hostile metadata is parsed with every offset and length checked against the
//! buffer, at most [`MAX_STRUCTURES`] segments or chunks, [`MAX_IFD_ENTRIES`] EXIF entries,
//! compressed text inflated to at most [`MAX_INFLATED`] bytes and values cut to
//! [`MAX_VALUE_CHARS`] characters; a damaged structure ends the walk with a typed
//! [`ProvenanceError`] kept beside what was found before it. Never a panic.
//!
//! ```
//! use mediahash::provenance::{IndicatorKind, inspect};
//! // A PNG signature, then a tEXt chunk "parameters\0a lighthouse, Steps: 20" (CRC unchecked).
//! let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
//! let text = b"parameters\0a lighthouse, Steps: 20";
//! png.extend((text.len() as u32).to_be_bytes());
//! png.extend(b"tEXt");
//! png.extend(text);
//! png.extend([0; 4]);
//! let found = inspect(&png);
//! assert!(found.indicators.iter().any(|i| i.kind == IndicatorKind::GeneratorParameters));
//! assert!(found.indicators.iter().any(|i| i.kind == IndicatorKind::NoCameraMetadata));
//! ```

use std::io::Read;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Most JPEG segments, PNG chunks or RIFF chunks walked.
pub const MAX_STRUCTURES: usize = 4096;
/// Most entries read from one EXIF IFD.
pub const MAX_IFD_ENTRIES: usize = 1024;
/// Most bytes a compressed PNG text chunk may inflate to.
pub const MAX_INFLATED: u64 = 1 << 20;
/// Longest value kept, in characters.
pub const MAX_VALUE_CHARS: usize = 200;

/// What an indicator says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IndicatorKind {
    /// A C2PA manifest (JUMBF box labelled `c2pa`).
    C2pa,
    /// Text chunks that image generators write (prompt, sampler settings, node graph).
    GeneratorParameters,
    /// The software that wrote the file (EXIF `Software`, PNG `Software`).
    Software,
    /// Camera make and model (EXIF `Make`, `Model`).
    Camera,
    /// IPTC digital source type (XMP `Iptc4xmpExt:DigitalSourceType`).
    DigitalSourceType,
    /// No camera make or model in a format that can carry them.
    NoCameraMetadata,
    /// A metadata structure was damaged or over a bound (what follows it was not read).
    MetadataUnreadable,
}

impl IndicatorKind {
    /// The stable name reports use.
    pub fn as_str(self) -> &'static str {
        match self {
            IndicatorKind::C2pa => "c2pa",
            IndicatorKind::GeneratorParameters => "generator-parameters",
            IndicatorKind::Software => "software",
            IndicatorKind::Camera => "camera",
            IndicatorKind::DigitalSourceType => "digital-source-type",
            IndicatorKind::NoCameraMetadata => "no-camera-metadata",
            IndicatorKind::MetadataUnreadable => "metadata-unreadable",
        }
    }
}

impl std::fmt::Display for IndicatorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One indicator with its detail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Indicator {
    /// What it says.
    pub kind: IndicatorKind,
    /// The detail (generator name, software, camera, source type, error), when any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

impl std::fmt::Display for Indicator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.value {
            Some(v) => write!(f, "{}={v}", self.kind),
            None => f.write_str(self.kind.as_str()),
        }
    }
}

/// Why metadata could not be read to its end.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProvenanceError {
    /// A length or offset points past the end of the data.
    #[error("{structure} at byte {offset} runs past the end of the file (truncated or forged)")]
    Truncated {
        /// The structure (JPEG segment, PNG chunk, EXIF IFD...).
        structure: &'static str,
        /// Where it starts.
        offset: u64,
    },
    /// More structures than [`MAX_STRUCTURES`] (or IFD entries than [`MAX_IFD_ENTRIES`]).
    #[error("more than {limit} {structure}s: metadata not read further")]
    TooMany {
        /// The structure.
        structure: &'static str,
        /// The bound.
        limit: usize,
    },
    /// A compressed text chunk inflates past [`MAX_INFLATED`] or does not inflate.
    #[error("compressed PNG text chunk {keyword:?} {problem}")]
    Compressed {
        /// The chunk's keyword.
        keyword: String,
        /// What went wrong.
        problem: String,
    },
    /// An EXIF header that is not TIFF (byte order or magic).
    #[error("EXIF data at byte {offset} is not a TIFF structure")]
    BadExif {
        /// Where the EXIF data starts.
        offset: u64,
    },
}

/// What [`inspect`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Provenance {
    /// The indicators, in a fixed order (kind, then value).
    pub indicators: Vec<Indicator>,
    /// The first damaged structure met, if any (also an indicator,
    /// [`IndicatorKind::MetadataUnreadable`]).
    pub error: Option<ProvenanceError>,
}

/// Keywords of PNG text chunks written by image generators: AUTOMATIC1111/Forge/Fooocus
/// (`parameters`), ComfyUI (`prompt`, `workflow`), InvokeAI (`Dream`, `sd-metadata`,
/// `invokeai_metadata`), NovelAI (`Comment` with a JSON prompt, see `is_generator_comment`),
/// others (`generation_data`, `negative_prompt`, `Steps`...).
const GENERATOR_KEYWORDS: [&str; 10] = [
    "parameters",
    "prompt",
    "workflow",
    "Dream",
    "sd-metadata",
    "invokeai_metadata",
    "generation_data",
    "negative_prompt",
    "sd_parameters",
    "ai_metadata",
];

/// IPTC digital source types of algorithmic media (IPTC NewsCodes `digitalsourcetype`).
pub const ALGORITHMIC_SOURCE_TYPES: [&str; 4] = [
    "trainedAlgorithmicMedia",
    "compositeWithTrainedAlgorithmicMedia",
    "algorithmicMedia",
    "compositeSynthetic",
];

#[derive(Default)]
struct Found {
    c2pa: Option<Option<String>>,
    generator: Vec<String>,
    software: Vec<String>,
    make: Option<String>,
    model: Option<String>,
    source_type: Vec<String>,
    error: Option<ProvenanceError>,
    /// Concatenated JUMBF payloads (APP11 segments carry one box in pieces).
    jumbf: Vec<u8>,
}

impl Found {
    fn fail(&mut self, e: ProvenanceError) {
        if self.error.is_none() {
            self.error = Some(e);
        }
    }
}

fn clip(text: &str) -> String {
    let cleaned: String =
        text.chars().map(|c| if c.is_control() { ' ' } else { c }).take(MAX_VALUE_CHARS).collect();
    cleaned.trim().to_string()
}

fn clip_bytes(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    clip(&String::from_utf8_lossy(&bytes[..end.min(4 * MAX_VALUE_CHARS)]))
}

/// Reads the provenance indicators of a picture's bytes (JPEG, PNG, WebP, TIFF and GIF
/// metadata; other formats give none). Never fails: damage is reported in [`Provenance::error`].
pub fn inspect(bytes: &[u8]) -> Provenance {
    let mut found = Found::default();
    let camera_capable = if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        jpeg(bytes, &mut found);
        true
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        png(bytes, &mut found);
        true
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        webp(bytes, &mut found);
        true
    } else if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
        // A TIFF file is itself the structure EXIF borrows: IFD0 holds Make, Model,
        // Software and the XMP packet (tag 700).
        exif(bytes, 0, &mut found);
        true
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        // GIF has no place for camera metadata: its absence says nothing.
        gif(bytes, &mut found);
        false
    } else {
        false
    };
    if !found.jumbf.is_empty() {
        let jumbf = std::mem::take(&mut found.jumbf);
        c2pa(&jumbf, &mut found);
    }
    let mut out = Vec::new();
    let mut push = |kind, value: Option<String>| {
        let ind = Indicator { kind, value: value.filter(|v| !v.is_empty()) };
        if !out.contains(&ind) {
            out.push(ind);
        }
    };
    if let Some(generator) = found.c2pa.clone() {
        push(IndicatorKind::C2pa, generator);
    }
    for g in &found.generator {
        push(IndicatorKind::GeneratorParameters, Some(g.clone()));
    }
    for s in &found.software {
        push(IndicatorKind::Software, Some(s.clone()));
    }
    match (&found.make, &found.model) {
        (None, None) if camera_capable => push(IndicatorKind::NoCameraMetadata, None),
        (None, None) => {}
        (make, model) => {
            let text =
                [make.as_deref(), model.as_deref()].into_iter().flatten().collect::<Vec<_>>();
            push(IndicatorKind::Camera, Some(clip(&text.join(" "))));
        }
    }
    for t in &found.source_type {
        push(IndicatorKind::DigitalSourceType, Some(t.clone()));
    }
    if let Some(e) = &found.error {
        push(IndicatorKind::MetadataUnreadable, Some(clip(&e.to_string())));
    }
    out.sort_by(|a, b| (a.kind, &a.value).cmp(&(b.kind, &b.value)));
    Provenance { indicators: out, error: found.error }
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

const XMP_JPEG: &[u8] = b"http://ns.adobe.com/xap/1.0/\0";

fn jpeg(b: &[u8], found: &mut Found) {
    let mut at = 2usize;
    for _ in 0..MAX_STRUCTURES {
        // Fill bytes (0xFF) may precede a marker.
        while b.get(at) == Some(&0xff) && b.get(at + 1) == Some(&0xff) {
            at += 1;
        }
        let (Some(&0xff), Some(&marker)) = (b.get(at), b.get(at + 1)) else { return };
        if marker == 0xda || marker == 0xd9 {
            return; // start of scan or end of image: metadata comes before
        }
        if (0xd0..=0xd7).contains(&marker) || marker == 0x01 {
            at += 2;
            continue;
        }
        let Some(len) = be16(b, at + 2).map(usize::from) else {
            return found
                .fail(ProvenanceError::Truncated { structure: "JPEG segment", offset: at as u64 });
        };
        let (start, end) = (at + 4, at + 2 + len);
        if len < 2 || end > b.len() {
            return found
                .fail(ProvenanceError::Truncated { structure: "JPEG segment", offset: at as u64 });
        }
        let payload = &b[start..end];
        match marker {
            0xe1 if payload.starts_with(b"Exif\0\0") => {
                exif(&payload[6..], start as u64 + 6, found)
            }
            0xe1 if payload.starts_with(XMP_JPEG) => xmp(&payload[XMP_JPEG.len()..], found),
            // APP11 JUMBF: "JP", instance (2), sequence (4), then the box bytes; the first
            // piece holds the box header, later pieces repeat it (8 bytes) before more data.
            0xeb if payload.starts_with(b"JP") && payload.len() > 8 => {
                let seq = be32(payload, 4).unwrap_or(0);
                let data = &payload[8..];
                let data = if seq > 1 && data.len() > 8 { &data[8..] } else { data };
                if found.jumbf.len() + data.len() <= 64 << 20 {
                    found.jumbf.extend_from_slice(data);
                }
            }
            _ => {}
        }
        at = end;
    }
    found.fail(ProvenanceError::TooMany { structure: "JPEG segment", limit: MAX_STRUCTURES });
}

fn png(b: &[u8], found: &mut Found) {
    let mut at = 8usize;
    for _ in 0..MAX_STRUCTURES {
        let (Some(len), Some(kind)) = (be32(b, at), b.get(at + 4..at + 8)) else { return };
        let start = at + 8;
        let Some(end) = start.checked_add(len as usize).filter(|&e| e <= b.len()) else {
            return found
                .fail(ProvenanceError::Truncated { structure: "PNG chunk", offset: at as u64 });
        };
        let data = &b[start..end];
        match kind {
            b"tEXt" => {
                let (key, text) = split_nul(data);
                png_text(key, text, found);
            }
            b"zTXt" => {
                let (key, rest) = split_nul(data);
                if rest.len() > 1 {
                    match inflate(&rest[1..]) {
                        Ok(text) => png_text(key, &text, found),
                        Err(problem) => found.fail(ProvenanceError::Compressed {
                            keyword: clip_bytes(key),
                            problem,
                        }),
                    }
                }
            }
            b"iTXt" => {
                let (key, rest) = split_nul(data);
                if rest.len() >= 2 {
                    let compressed = rest[0] == 1;
                    let (_lang, rest) = split_nul(&rest[2..]);
                    let (_translated, text) = split_nul(rest);
                    if compressed {
                        match inflate(text) {
                            Ok(text) => png_text(key, &text, found),
                            Err(problem) => found.fail(ProvenanceError::Compressed {
                                keyword: clip_bytes(key),
                                problem,
                            }),
                        }
                    } else {
                        png_text(key, text, found);
                    }
                }
            }
            b"eXIf" => exif(data, start as u64, found),
            b"caBX" => found.jumbf.extend_from_slice(data),
            b"IEND" => return,
            _ => {}
        }
        at = end + 4; // CRC
    }
    found.fail(ProvenanceError::TooMany { structure: "PNG chunk", limit: MAX_STRUCTURES });
}

fn webp(b: &[u8], found: &mut Found) {
    let mut at = 12usize;
    for _ in 0..MAX_STRUCTURES {
        let (Some(kind), Some(len)) = (b.get(at..at + 4), le32(b, at + 4)) else { return };
        let start = at + 8;
        let Some(end) = start.checked_add(len as usize).filter(|&e| e <= b.len()) else {
            return found
                .fail(ProvenanceError::Truncated { structure: "RIFF chunk", offset: at as u64 });
        };
        let data = &b[start..end];
        match kind {
            b"EXIF" => {
                // Some writers keep JPEG's "Exif\0\0" prefix.
                let data = data.strip_prefix(b"Exif\0\0").unwrap_or(data);
                exif(data, start as u64, found)
            }
            b"XMP " => xmp(data, found),
            b"C2PA" => found.jumbf.extend_from_slice(data),
            _ => {}
        }
        at = end + (len as usize & 1); // chunks are padded to even sizes
    }
    found.fail(ProvenanceError::TooMany { structure: "RIFF chunk", limit: MAX_STRUCTURES });
}

/// GIF blocks: the XMP application extension (`XMP DataXMP`). Its packet is stored raw, not
/// in sub-blocks (a "magic trailer" of 257 bytes makes it parse as sub-blocks too), so the
/// packet is read from the extension's start to `<?xpacket end` (at most 1 MiB).
fn gif(b: &[u8], found: &mut Found) {
    let truncated =
        |at: usize| ProvenanceError::Truncated { structure: "GIF block", offset: at as u64 };
    // Header (6) and logical screen descriptor (7), then the global colour table.
    let Some(&flags) = b.get(10) else { return found.fail(truncated(6)) };
    let mut at = 13 + if flags & 0x80 != 0 { 3 << ((flags & 7) + 1) } else { 0 };
    // The data sub-blocks from `at`; the offset after their terminator.
    let skip_sub_blocks = |mut at: usize| -> Option<usize> {
        for _ in 0..(1 << 24) {
            let len = usize::from(*b.get(at)?);
            at += 1 + len;
            if len == 0 {
                return (at <= b.len()).then_some(at);
            }
        }
        None
    };
    for _ in 0..MAX_STRUCTURES {
        match b.get(at) {
            Some(0x21) => {
                let Some(&label) = b.get(at + 1) else { return found.fail(truncated(at)) };
                if label == 0xff
                    && b.get(at + 2) == Some(&11)
                    && b.get(at + 3..at + 14) == Some(b"XMP DataXMP")
                {
                    let packet = &b[at + 14..b.len().min(at + 14 + (1 << 20))];
                    let end = find(packet, b"<?xpacket end").unwrap_or(packet.len());
                    xmp(&packet[..end], found);
                }
                let Some(next) = skip_sub_blocks(at + 2) else { return found.fail(truncated(at)) };
                at = next;
            }
            Some(0x2c) => {
                // Image descriptor (10), local colour table, LZW code size, image data.
                let Some(&flags) = b.get(at + 9) else { return found.fail(truncated(at)) };
                let table = if flags & 0x80 != 0 { 3 << ((flags & 7) + 1) } else { 0 };
                let Some(next) = skip_sub_blocks(at + 10 + table + 1) else {
                    return found.fail(truncated(at));
                };
                at = next;
            }
            // The trailer, or anything else: no more metadata to read.
            _ => return,
        }
    }
    found.fail(ProvenanceError::TooMany { structure: "GIF block", limit: MAX_STRUCTURES });
}

fn split_nul(b: &[u8]) -> (&[u8], &[u8]) {
    match b.iter().position(|&c| c == 0) {
        Some(i) => (&b[..i], &b[i + 1..]),
        None => (b, &[]),
    }
}

fn inflate(data: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    flate2::read::ZlibDecoder::new(data)
        .take(MAX_INFLATED + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("does not inflate: {e}"))?;
    if out.len() as u64 > MAX_INFLATED {
        return Err(format!("inflates past {MAX_INFLATED} bytes"));
    }
    Ok(out)
}

fn png_text(key: &[u8], text: &[u8], found: &mut Found) {
    let key_text = String::from_utf8_lossy(key);
    if GENERATOR_KEYWORDS.iter().any(|k| k.as_bytes() == key) || is_generator_comment(key, text) {
        found.generator.push(clip(&format!("{key_text}: {}", String::from_utf8_lossy(text))));
    } else if key == b"Software" {
        found.software.push(clip_bytes(text));
    } else if key == b"XML:com.adobe.xmp" {
        xmp(text, found);
    }
}

/// NovelAI and others write the generation settings as JSON in `Comment`.
fn is_generator_comment(key: &[u8], text: &[u8]) -> bool {
    key == b"Comment"
        && text.first() == Some(&b'{')
        && [&b"\"prompt\""[..], b"\"steps\"", b"\"sampler\""]
            .iter()
            .any(|k| text.windows(k.len()).any(|w| w == *k))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// XMP: `DigitalSourceType` as an attribute (`="..."`) or an element (`>...<`); the value
/// is an IRI whose last path segment is the term.
fn xmp(data: &[u8], found: &mut Found) {
    let mut rest = data;
    for _ in 0..16 {
        let Some(i) = find(rest, b"DigitalSourceType") else { return };
        rest = &rest[i + b"DigitalSourceType".len()..];
        let value_start = match rest.first() {
            Some(b'=') => rest.get(1).filter(|q| **q == b'"' || **q == b'\'').map(|_| 2),
            Some(b'>') => Some(1),
            _ => None,
        };
        let Some(s) = value_start else { continue };
        let body = &rest[s..];
        let end = body
            .iter()
            .take(1024)
            .position(|&c| c == b'"' || c == b'\'' || c == b'<')
            .unwrap_or(body.len().min(1024));
        let value = String::from_utf8_lossy(&body[..end]);
        let term = value.trim().rsplit('/').next().unwrap_or("").to_string();
        if !term.is_empty() {
            found.source_type.push(clip(&term));
        }
    }
}

/// EXIF (TIFF structure): Make, Model and Software from IFD0.
fn exif(t: &[u8], base: u64, found: &mut Found) {
    let little = match t.get(..4) {
        Some(b"II*\0") => true,
        Some(b"MM\0*") => false,
        _ => return found.fail(ProvenanceError::BadExif { offset: base }),
    };
    let u16_at = |at: usize| -> Option<u16> {
        let b: [u8; 2] = t.get(at..at + 2)?.try_into().ok()?;
        Some(if little { u16::from_le_bytes(b) } else { u16::from_be_bytes(b) })
    };
    let u32_at = |at: usize| -> Option<u32> {
        let b: [u8; 4] = t.get(at..at + 4)?.try_into().ok()?;
        Some(if little { u32::from_le_bytes(b) } else { u32::from_be_bytes(b) })
    };
    let truncated = |offset: usize| ProvenanceError::Truncated {
        structure: "EXIF IFD",
        offset: base + offset as u64,
    };
    let Some(ifd) = u32_at(4).map(|o| o as usize) else { return found.fail(truncated(4)) };
    let Some(count) = u16_at(ifd).map(usize::from) else { return found.fail(truncated(ifd)) };
    if count > MAX_IFD_ENTRIES {
        return found
            .fail(ProvenanceError::TooMany { structure: "EXIF entry", limit: MAX_IFD_ENTRIES });
    }
    for k in 0..count {
        let e = ifd + 2 + 12 * k;
        let (Some(tag), Some(kind), Some(n)) = (u16_at(e), u16_at(e + 2), u32_at(e + 4)) else {
            return found.fail(truncated(e));
        };
        let wanted = match tag {
            0x010f | 0x0110 | 0x0131 => kind == 2, // ASCII Make, Model, Software
            0x02bc => kind == 1 || kind == 7,      // XMP packet, BYTE or UNDEFINED
            _ => false,
        };
        if !wanted {
            continue;
        }
        let n = n as usize;
        let value = if n <= 4 {
            t.get(e + 8..e + 8 + n)
        } else {
            u32_at(e + 8).and_then(|o| t.get(o as usize..(o as usize).checked_add(n)?))
        };
        let Some(value) = value else { return found.fail(truncated(e)) };
        if tag == 0x02bc {
            xmp(value, found);
            continue;
        }
        let text = clip_bytes(value);
        if text.is_empty() {
            continue;
        }
        match tag {
            0x010f => found.make = Some(text),
            0x0110 => found.model = Some(text),
            _ => found.software.push(text),
        }
    }
}

/// A JUMBF superbox labelled `c2pa` (or a C2PA manifest store's `c2pa.claim`), and the
/// claim generator from the claim's CBOR when it can be found.
fn c2pa(jumbf: &[u8], found: &mut Found) {
    let labelled = find(jumbf, b"jumd").is_some()
        && (find(jumbf, b"c2pa\0").is_some() || find(jumbf, b"c2pa.claim").is_some());
    if !labelled {
        return;
    }
    let generator = cbor_text_after(jumbf, b"claim_generator").or_else(|| {
        find(jumbf, b"claim_generator_info").and_then(|i| cbor_text_after(&jumbf[i..], b"name"))
    });
    found.c2pa = Some(generator);
}

/// The CBOR text string right after the text key `key` (encoded as a CBOR text string).
fn cbor_text_after(b: &[u8], key: &[u8]) -> Option<String> {
    let mut from = 0;
    for _ in 0..64 {
        let i = from + find(&b[from..], key)?;
        from = i + key.len();
        let after = b.get(from..)?;
        let (len, skip) = match *after.first()? {
            h @ 0x60..=0x77 => (usize::from(h - 0x60), 1),
            0x78 => (usize::from(*after.get(1)?), 2),
            0x79 => (usize::from(be16(after, 1)?), 3),
            _ => continue, // "claim_generator_info" and others: not a text value
        };
        let text = after.get(skip..skip + len)?;
        return Some(clip(&String::from_utf8_lossy(text)));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_inputs_end_in_typed_errors() {
        // A JPEG segment longer than the file.
        let p = inspect(&[0xff, 0xd8, 0xff, 0xe1, 0xff, 0xff, b'E']);
        assert!(matches!(p.error, Some(ProvenanceError::Truncated { .. })), "{p:?}");
        // A PNG chunk length of 4 GiB.
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        png.extend([0xff, 0xff, 0xff, 0xf0]);
        png.extend(b"tEXt");
        assert!(matches!(inspect(&png).error, Some(ProvenanceError::Truncated { .. })));
        // EXIF with an IFD offset past the end and an entry count over the bound.
        let mut found = Found::default();
        exif(b"II*\0\xff\xff\xff\x7f", 0, &mut found);
        assert!(matches!(found.error, Some(ProvenanceError::Truncated { .. })));
        let mut found = Found::default();
        exif(b"MM\0*\0\0\0\x08\xff\xff", 0, &mut found);
        assert!(matches!(found.error, Some(ProvenanceError::TooMany { .. })));
        // A zTXt bomb: 2 MiB of zeros compressed.
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        std::io::Write::write_all(&mut z, &vec![b'a'; 2 << 20]).unwrap();
        let mut data = b"prompt\0\0".to_vec();
        data.extend(z.finish().unwrap());
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        png.extend((data.len() as u32).to_be_bytes());
        png.extend(b"zTXt");
        png.extend(&data);
        png.extend([0; 4]);
        assert!(matches!(inspect(&png).error, Some(ProvenanceError::Compressed { .. })));
        // Thousands of empty segments.
        let mut many = vec![0xff, 0xd8];
        for _ in 0..MAX_STRUCTURES + 10 {
            many.extend([0xff, 0xfe, 0, 2]);
        }
        assert!(matches!(inspect(&many).error, Some(ProvenanceError::TooMany { .. })));
        // Random bytes behind each signature never panic.
        let mut x = 0x1234_5678_9abc_def0u64;
        for sig in [
            &b"\xff\xd8\xff"[..],
            b"\x89PNG\r\n\x1a\n",
            b"RIFF\0\0\0\0WEBP",
            b"II*\0",
            b"MM\0*",
            b"GIF89a",
        ] {
            for _ in 0..2000 {
                let mut b = sig.to_vec();
                for _ in 0..(x % 300) {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    b.push(x as u8);
                }
                let _ = inspect(&b);
            }
        }
    }

    /// A little-endian TIFF whose IFD0 holds Make, Model, Software and an XMP packet.
    fn tiff_with_metadata() -> Vec<u8> {
        let xmp = br#"<x:xmpmeta><rdf:Description Iptc4xmpExt:DigitalSourceType="http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"/></x:xmpmeta>"#;
        let values: [(u16, u16, &[u8]); 4] = [
            (0x010f, 2, b"Acme\0"),
            (0x0110, 2, b"Cam 9\0"),
            (0x0131, 2, b"Editor 2\0"),
            (0x02bc, 1, xmp),
        ];
        let ifd = 8usize;
        let mut data_at = ifd + 2 + 12 * values.len() + 4;
        let mut t = b"II*\0".to_vec();
        t.extend((ifd as u32).to_le_bytes());
        t.extend((values.len() as u16).to_le_bytes());
        let mut data: Vec<u8> = Vec::new();
        for (tag, kind, value) in values {
            t.extend(tag.to_le_bytes());
            t.extend(kind.to_le_bytes());
            t.extend((value.len() as u32).to_le_bytes());
            t.extend((data_at as u32).to_le_bytes());
            data.extend(value);
            data_at += value.len();
        }
        t.extend(0u32.to_le_bytes());
        t.extend(data);
        t
    }

    #[test]
    fn tiff_ifd0_and_xmp() {
        let found = inspect(&tiff_with_metadata());
        let text: Vec<String> = found.indicators.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            [
                "software=Editor 2",
                "camera=Acme Cam 9",
                "digital-source-type=trainedAlgorithmicMedia"
            ]
        );
        assert_eq!(found.error, None);
        let bare = inspect(b"MM\0*\0\0\0\x08\0\0\0\0\0\0");
        assert_eq!(
            bare.indicators,
            [Indicator { kind: IndicatorKind::NoCameraMetadata, value: None }]
        );
    }

    #[test]
    fn gif_xmp_extension() {
        // Header, a 2x1 screen with a 2-colour table, the XMP extension (packet, magic
        // trailer), one image, the trailer.
        let mut g = b"GIF89a\x02\0\x01\0\x80\0\0".to_vec();
        g.extend([0, 0, 0, 255, 255, 255]);
        g.extend(b"\x21\xff\x0bXMP DataXMP");
        g.extend(br#"<?xpacket begin=""?><x:xmpmeta><Iptc4xmpExt:DigitalSourceType>http://cv.iptc.org/newscodes/digitalsourcetype/compositeSynthetic</Iptc4xmpExt:DigitalSourceType></x:xmpmeta><?xpacket end="w"?>"#);
        g.push(1);
        g.extend((0..=255u8).rev());
        g.extend([0, 0]);
        g.extend(b"\x2c\0\0\0\0\x02\0\x01\0\0\x02\x02\x44\x01\0\x3b");
        let found = inspect(&g);
        let text: Vec<String> = found.indicators.iter().map(ToString::to_string).collect();
        assert_eq!(text, ["digital-source-type=compositeSynthetic"]);
        assert_eq!(found.error, None);
        // Cut anywhere: typed errors or nothing, never a panic.
        for cut in 0..g.len() {
            let _ = inspect(&g[..cut]);
        }
    }

    #[test]
    fn cbor_generator_text() {
        let mut b = b"jumd....c2pa\0....".to_vec();
        b.extend(b"\x6fclaim_generator\x6bmaker/1.0.0");
        let mut found = Found::default();
        c2pa(&b, &mut found);
        assert_eq!(found.c2pa, Some(Some("maker/1.0.0".into())));
    }
}
