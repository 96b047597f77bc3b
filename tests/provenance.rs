//! Provenance indicators (issue #13): pictures generated here (gradients and shapes, never
//! people), each given one indicator by the test (PNG text chunks, EXIF Software, XMP
//! DigitalSourceType, a minimal C2PA JUMBF box), each detected; a clean camera-like JPEG
//! shows only its camera; every report format carries the indicators.

mod common;

use common::synth;
use mediahash::analyze::{AnalyzeOptions, analyze_bytes};
use mediahash::provenance::{Indicator, IndicatorKind, inspect};
use mediahash::report::{EntryDisposition, ReportFormat};
use mediahash::scan::{ScanOptions, scan};

fn jpeg(seed: u32) -> Vec<u8> {
    let rgb = synth::photo_like(160, 120, seed);
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
        .encode(&rgb, 160, 120, image::ExtendedColorType::Rgb8)
        .unwrap();
    out
}

fn png(seed: u32) -> Vec<u8> {
    synth::png_rgb8(160, 120, &synth::photo_like(160, 120, seed))
}

/// A JPEG with `segments` (marker, payload) inserted right after SOI.
fn with_segments(mut jpeg: Vec<u8>, segments: &[(u8, Vec<u8>)]) -> Vec<u8> {
    let mut inserted = Vec::new();
    for (marker, payload) in segments {
        inserted.extend([0xff, *marker]);
        inserted.extend(((payload.len() + 2) as u16).to_be_bytes());
        inserted.extend(payload);
    }
    jpeg.splice(2..2, inserted);
    jpeg
}

/// A PNG with a chunk inserted before IEND (CRC computed).
fn with_chunk(mut png: Vec<u8>, kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut chunk = (data.len() as u32).to_be_bytes().to_vec();
    chunk.extend(kind);
    chunk.extend(data);
    let crc = crc32fast::hash(&chunk[4..]);
    chunk.extend(crc.to_be_bytes());
    let at = png.len() - 12;
    png.splice(at..at, chunk);
    png
}

/// EXIF (big-endian TIFF) with ASCII tags in IFD0.
fn exif(tags: &[(u16, &str)]) -> Vec<u8> {
    let mut t = b"MM\0*\0\0\0\x08".to_vec();
    t.extend((tags.len() as u16).to_be_bytes());
    let data_start = 8 + 2 + 12 * tags.len() + 4;
    let mut data = Vec::new();
    for (tag, text) in tags {
        let mut value = text.as_bytes().to_vec();
        value.push(0);
        t.extend(tag.to_be_bytes());
        t.extend(2u16.to_be_bytes());
        t.extend((value.len() as u32).to_be_bytes());
        t.extend(((data_start + data.len()) as u32).to_be_bytes());
        data.extend(value);
    }
    t.extend([0; 4]);
    t.extend(data);
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend(t);
    app1
}

fn xmp_packet(source_type: &str) -> String {
    format!(
        r#"<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" Iptc4xmpExt:DigitalSourceType="http://cv.iptc.org/newscodes/digitalsourcetype/{source_type}"/></rdf:RDF></x:xmpmeta><?xpacket end="w"?>"#
    )
}

fn jumbf_box(kind: &[u8; 4], content: &[u8]) -> Vec<u8> {
    let mut b = ((content.len() + 8) as u32).to_be_bytes().to_vec();
    b.extend(kind);
    b.extend(content);
    b
}

/// A minimal C2PA manifest store: a `jumb` superbox labelled `c2pa` holding a claim box
/// (`c2pa.claim`) whose CBOR names the claim generator.
fn c2pa_store(generator: &str) -> Vec<u8> {
    let description = |label: &str| {
        let mut d =
            vec![0x63, 0x32, 0x70, 0x61, 0, 0x11, 0, 0x10, 0x80, 0, 0, 0xaa, 0, 0x38, 0x9b, 0x71];
        d.push(0x03); // toggles: requestable, label present
        d.extend(label.as_bytes());
        d.push(0);
        jumbf_box(b"jumd", &d)
    };
    let mut cbor = vec![0xa1, 0x6f];
    cbor.extend(b"claim_generator");
    match generator.len() {
        n @ 0..24 => cbor.push(0x60 + n as u8),
        n => cbor.extend([0x78, n as u8]),
    }
    cbor.extend(generator.as_bytes());
    let mut claim = description("c2pa.claim");
    claim.extend(jumbf_box(b"cbor", &cbor));
    let mut store = description("c2pa");
    store.extend(jumbf_box(b"jumb", &claim));
    jumbf_box(b"jumb", &store)
}

fn app11(store: &[u8]) -> Vec<u8> {
    let mut p = b"JP\0\x01\0\0\0\x01".to_vec();
    p.extend(store);
    p
}

fn kinds(bytes: &[u8]) -> Vec<(IndicatorKind, Option<String>)> {
    let p = inspect(bytes);
    assert_eq!(p.error, None);
    p.indicators.into_iter().map(|i| (i.kind, i.value)).collect()
}

fn has(found: &[(IndicatorKind, Option<String>)], kind: IndicatorKind, value: &str) -> bool {
    found.iter().any(|(k, v)| *k == kind && v.as_deref().is_some_and(|v| v.contains(value)))
}

#[test]
fn png_generator_text_chunks_are_found() {
    let a1111 = with_chunk(
        png(1),
        b"tEXt",
        b"parameters\0a lighthouse at dusk\nSteps: 20, Sampler: Euler a",
    );
    let found = kinds(&a1111);
    assert!(
        has(&found, IndicatorKind::GeneratorParameters, "parameters: a lighthouse"),
        "{found:?}"
    );
    assert!(found.iter().any(|(k, _)| *k == IndicatorKind::NoCameraMetadata));

    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut z, br#"{"3": {"class_type": "KSampler"}}"#).unwrap();
    let mut data = b"workflow\0\0".to_vec();
    data.extend(z.finish().unwrap());
    let comfy = with_chunk(png(2), b"zTXt", &data);
    assert!(has(&kinds(&comfy), IndicatorKind::GeneratorParameters, "KSampler"));

    let itxt = with_chunk(png(3), b"iTXt", b"prompt\0\0\0\0\0a red bicycle");
    assert!(has(&kinds(&itxt), IndicatorKind::GeneratorParameters, "prompt: a red bicycle"));

    let software = with_chunk(png(4), b"tEXt", b"Software\0Paint 3.2");
    let found = kinds(&software);
    assert!(has(&found, IndicatorKind::Software, "Paint 3.2"));
    assert!(!found.iter().any(|(k, _)| *k == IndicatorKind::GeneratorParameters));

    let xmp = format!("XML:com.adobe.xmp\0\0\0\0\0{}", xmp_packet("trainedAlgorithmicMedia"));
    let with_xmp = with_chunk(png(5), b"iTXt", xmp.as_bytes());
    assert!(has(&kinds(&with_xmp), IndicatorKind::DigitalSourceType, "trainedAlgorithmicMedia"));
    // Still a PNG the decoder reads (indicators never stop hashing).
    let a = analyze_bytes(&with_xmp, &AnalyzeOptions::default());
    assert!(a.pdq.is_some() && a.image_error.is_none());
}

#[test]
fn jpeg_exif_xmp_and_c2pa_are_found() {
    let edited = with_segments(jpeg(1), &[(0xe1, exif(&[(0x0131, "ImageGen 2.1")]))]);
    let found = kinds(&edited);
    assert!(has(&found, IndicatorKind::Software, "ImageGen 2.1"), "{found:?}");
    assert!(found.iter().any(|(k, _)| *k == IndicatorKind::NoCameraMetadata));

    let mut xmp = b"http://ns.adobe.com/xap/1.0/\0".to_vec();
    xmp.extend(xmp_packet("compositeWithTrainedAlgorithmicMedia").as_bytes());
    let tagged = with_segments(jpeg(2), &[(0xe1, xmp)]);
    assert!(has(
        &kinds(&tagged),
        IndicatorKind::DigitalSourceType,
        "compositeWithTrainedAlgorithmicMedia"
    ));

    let signed = with_segments(jpeg(3), &[(0xeb, app11(&c2pa_store("TestGen/1.0 c2pa-rs/0.30")))]);
    let found = kinds(&signed);
    assert!(has(&found, IndicatorKind::C2pa, "TestGen/1.0"), "{found:?}");
    let a = analyze_bytes(&signed, &AnalyzeOptions::default());
    assert!(a.pdq.is_some() && a.image_error.is_none(), "{:?}", a.image_error);
}

#[test]
fn clean_camera_jpeg_shows_only_its_camera() {
    let camera = with_segments(jpeg(4), &[(0xe1, exif(&[(0x010f, "Acme"), (0x0110, "X100")]))]);
    assert_eq!(kinds(&camera), vec![(IndicatorKind::Camera, Some("Acme X100".to_string()))]);
}

#[test]
fn every_report_format_carries_the_indicators() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("evidence");
    std::fs::create_dir(&root).unwrap();
    let gen_png = with_chunk(png(9), b"tEXt", b"parameters\0castle, Steps: 30");
    std::fs::write(root.join("gen.png"), gen_png).unwrap();
    std::fs::write(root.join("notes.txt"), b"not a picture").unwrap();
    for format in [ReportFormat::Jsonl, ReportFormat::Csv, ReportFormat::Dfxml, ReportFormat::Case]
    {
        let mut out = Vec::new();
        {
            let mut writer = format.writer(&mut out);
            scan(std::slice::from_ref(&root), &[], &ScanOptions::default(), &mut writer).unwrap();
        }
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("generator-parameters"), "{format:?}: {text}");
        assert!(text.contains("castle, Steps: 30"), "{format:?}");
        assert!(text.contains("no-camera-metadata"), "{format:?}");
        if format == ReportFormat::Jsonl {
            let records: Vec<_> = mediahash::report::jsonl::JsonlReader::new(text.as_bytes())
                .filter_map(|i| match i.unwrap() {
                    mediahash::report::jsonl::ReportItem::Entry(e) => Some(e),
                    _ => None,
                })
                .collect();
            let generated = records.iter().find(|r| r.path.ends_with(b"gen.png")).unwrap();
            assert_eq!(generated.disposition, EntryDisposition::UnknownImage);
            assert!(generated.provenance.contains(&Indicator {
                kind: IndicatorKind::GeneratorParameters,
                value: Some("parameters: castle, Steps: 30".into()),
            }));
            let notes = records.iter().find(|r| r.path.ends_with(b"notes.txt")).unwrap();
            assert!(notes.provenance.is_empty(), "no indicators for non-pictures");
        }
    }
}

/// A TIFF written by the `tiff` crate's encoder with Software, Make and Model in IFD0 is
/// decoded and its indicators found; a GIF (which cannot carry camera metadata) never gets
/// `no-camera-metadata`.
#[test]
fn tiff_tags_are_found_and_gif_claims_nothing() {
    use tiff::encoder::{TiffEncoder, colortype::RGB8};
    use tiff::tags::Tag;
    let rgb = synth::photo_like(160, 120, 11);
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut encoder = TiffEncoder::new(&mut out).unwrap();
        let mut image = encoder.new_image::<RGB8>(160, 120).unwrap();
        image.encoder().write_tag(Tag::Software, "PaintGen 3").unwrap();
        image.encoder().write_tag(Tag::Make, "Acme").unwrap();
        image.encoder().write_tag(Tag::Model, "X100").unwrap();
        image.write_data(&rgb).unwrap();
    }
    let tiff = out.into_inner();
    let found = kinds(&tiff);
    assert!(has(&found, IndicatorKind::Software, "PaintGen 3"), "{found:?}");
    assert!(has(&found, IndicatorKind::Camera, "Acme X100"), "{found:?}");
    let a = analyze_bytes(&tiff, &AnalyzeOptions::default());
    assert!(a.pdq.is_some() && a.image_error.is_none(), "{:?}", a.image_error);
    assert!(a.provenance.is_some_and(|p| p.indicators.len() == 2));

    let mut gif = Vec::new();
    {
        let palette: Vec<u8> = (0..=255u8).flat_map(|i| [i, 255 - i, i / 2]).collect();
        let mut enc = gif::Encoder::new(&mut gif, 16, 16, &palette).unwrap();
        let frame = gif::Frame {
            width: 16,
            height: 16,
            buffer: vec![7u8; 256].into(),
            ..Default::default()
        };
        enc.write_frame(&frame).unwrap();
    }
    assert_eq!(kinds(&gif), vec![]);
}
