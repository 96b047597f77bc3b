//! Digital Forensics XML (DFXML) report, following the DFXML 1.2.0 schema
//! (<https://github.com/dfxml-working-group/dfxml_schema>, `dfxml.xsd`).
//!
//! Layout: `<dfxml version="1.2.0">` with
//! `<metadata>` (`dc:type` "Hash List"), `<creator>` (program, version,
//! execution_environment: host, command_line, start_time), `<source>` (one
//! `image_filename` per evidence root), then one `<fileobject>` per directory entry (nested
//! in `diskimageobject` and `volume` elements for disk images, below), with
//! children in the schema's order: `filename`, `error` (errors only), `name_type`,
//! `filesize`, `inode`, `mode`, `nlink`, `uid`, `gid`, `mtime`, `ctime`, `atime`,
//! `link_target`, then `hashdigest` MD5, SHA1, SHA256. `creator@version` is not written
//! (deprecated in DFXML 1.2.0, announced for removal in 2.0.0).
//!
//! DFXML has no element for PDQ, pHash, dispositions or matches, so those are extension
//! elements in the namespace [`MH_NAMESPACE`] (prefix `mh`), placed where the schema admits
//! elements of other namespaces: after the DFXML children of each `fileobject`
//! (`mh:disposition`, `mh:reason`, `mh:path_bytes_hex`, `mh:fs_address`,
//! `mh:link_target_hex`, `mh:mtime`,
//! `mh:ctime`, `mh:atime`, `mh:carved`, `mh:image`, `mh:pdq`, `mh:pdq_dihedral`, `mh:phash`,
//! `mh:image_error`, `mh:match`, `mh:cluster`, `mh:provenance`, `mh:noatime`, `mh:bytes_read`), and at the top
//! level: run-level provenance (reference sets with SHA-256, options) is `mh:scan` first,
//! before `<metadata>`, and the footer is `mh:scan_end` after the last fileobject or image.
//! These are the places where both DFXML 1.2.0 and 2.0.0-beta.0 admit foreign elements
//! (a volume's `mh:partition` is therefore its last child).
//!
//! Entries inside a disk image (see [`crate::evidence::disk`]) are nested as DFXML was made
//! for: one `<diskimageobject>` per image (`mh:disk_image`: its file, container and
//! partitioning scheme), in it one `<volume offset>` per partition (`mh:partition`: number,
//! scheme, type, length; then fiwalk's `byte_runs`, `partition_offset` and `ftype_str`)
//! holding the `fileobject`s of that partition (the volume's own record first, archive
//! members after their archive), then at image level, after the volumes, the image file's
//! own record and the carved items (which name their area in `mh:carved` and their
//! partition in `partition`). Such fileobjects also get `partition` (after `error`),
//! fiwalk's `alloc`/`unalloc` flag and `inode` (The Sleuth Kit's entry number) after
//! `filesize`, and `byte_runs` (`byte_run file_offset img_offset len`) before the hash
//! digests. Everything else (folders, archives on them) is a top-level `fileobject`, after
//! the images: the scan reads disk-image roots first
//! ([`crate::evidence::open_roots`]), so the document streams in the schema's order. The
//! tests validate reports against the DFXML 1.2.0 and 2.0.0-beta.0 schemas with `xmllint`.
//!
//! Times are `xs:dateTime` (UTC). A time that `xs:dateTime` cannot hold (year 0000: the
//! report clamps times before year 1 to it) is not written as the DFXML element but, as
//! recorded, in the `mh:` element of the same name (`mh:start_time` in `mh:scan`).
//!
//! Characters XML 1.0 cannot carry (C0 controls other than tab, LF, CR) are replaced by
//! U+FFFD in text; the exact bytes of such a path are then always given in
//! `mh:path_bytes_hex`.

use std::io::{self, Write};

use super::jsonl::EntryLine;
use super::{EntryDisposition, EntryRecord, Footer, Header, ReportWriter};

/// Namespace of the mediahash extension elements.
pub const MH_NAMESPACE: &str = "urn:mediahash:dfxml:1";
const DFXML_NAMESPACE: &str = "http://www.forensicswiki.org/wiki/Category:Digital_Forensics_XML";
const DIHEDRAL: [&str; 8] = crate::perceptual::pdq::DIHEDRAL_NAMES;

/// Writes a DFXML report.
pub struct DfxmlWriter<W: Write> {
    out: W,
    /// The disk image whose `<diskimageobject>` is open.
    open: Option<OpenImage>,
}

/// A disk image whose `<diskimageobject>` is open, and what is open inside it.
struct OpenImage {
    /// `Location::image` of its records.
    image: String,
    /// The partition whose `<volume>` is open.
    volume: Option<u32>,
    /// The open volume's `mh:partition` element, written last in it (DFXML 2.0 admits
    /// other namespaces only at a volume's end).
    volume_tail: String,
    /// Image-level `fileobject`s met before the first volume (the image file's own record):
    /// the schema puts them after the volumes.
    deferred: Vec<u8>,
    /// An image-level `fileobject` (a carved item) was written after the volumes: a volume
    /// met now opens a new `<diskimageobject>` for the same image.
    past_volumes: bool,
}

/// Writes `object` (lines indented for the top level) with every line indented by `prefix`.
fn write_indented(out: &mut impl Write, prefix: &str, object: &[u8]) -> io::Result<()> {
    for line in object.split_inclusive(|&b| b == b'\n') {
        out.write_all(prefix.as_bytes())?;
        out.write_all(line)?;
    }
    Ok(())
}

/// XML-escaped text; the flag is true when a character had to be replaced.
fn xml_text(s: &str) -> (String, bool) {
    let mut out = String::with_capacity(s.len());
    let mut lossy = false;
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\t' | '\n' => out.push(c),
            '\r' => out.push_str("&#13;"),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {
                out.push('\u{fffd}');
                lossy = true;
            }
            c => out.push(c),
        }
    }
    (out, lossy)
}

fn esc(s: &str) -> String {
    xml_text(s).0
}

/// Whether `s` is in the `xs:dateTime` lexical space as this crate writes times
/// (`YYYY-MM-DDThh:mm:ss[.f+]Z`, see [`super::rfc3339_utc`]). XML Schema 1.0 has no year
/// 0000, which is where times before year 1 are clamped.
fn is_xsd_date_time(s: &str) -> bool {
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    let num = |r: std::ops::Range<usize>| s[r].parse::<u32>().unwrap_or(u32::MAX);
    let shape = b.len() >= 20
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19)
        && b[b.len() - 1] == b'Z'
        && (b.len() == 20 || (b[19] == b'.' && b.len() > 21 && digits(20..b.len() - 1)));
    shape
        && &s[0..4] != "0000"
        && (1..=12).contains(&num(5..7))
        && (1..=31).contains(&num(8..10))
        && num(11..13) < 24
        && num(14..16) < 60
        && num(17..19) < 60
}

impl<W: Write> DfxmlWriter<W> {
    /// A writer over `out` (buffer it: several small writes per entry). The document is
    /// well-formed, with its closing `</dfxml>`, only once [`ReportWriter::footer`] has run.
    pub fn new(out: W) -> Self {
        Self { out, open: None }
    }

    /// The underlying output.
    pub fn into_inner(self) -> W {
        self.out
    }

    fn element(&mut self, indent: &str, name: &str, text: &str) -> io::Result<()> {
        writeln!(self.out, "{indent}<{name}>{}</{name}>", esc(text))
    }

    /// Writes a rendered `fileobject` where its record belongs: an entry of a disk image
    /// inside the image's `<diskimageobject>`, in the `<volume>` of its partition
    /// (carved items, which name the area they came from, and the image file's own record
    /// at image level, after the volumes); everything else at the top level.
    fn place(&mut self, e: &EntryRecord, object: Vec<u8>) -> io::Result<()> {
        // An archive on a mounted file system names its file as `image`, container `file`.
        let Some(l) = e.location.as_ref().filter(|l| l.container != "file") else {
            self.close_image()?;
            return self.out.write_all(&object);
        };
        if self.open.as_ref().is_some_and(|open| open.image != l.image) {
            self.close_image()?;
        }
        let volume = l.partition.filter(|_| l.carved.is_none());
        let reopen = volume.is_some()
            && self.open.as_ref().is_some_and(|open| open.past_volumes && open.volume.is_none());
        if reopen {
            self.close_image()?;
        }
        if self.open.is_none() {
            self.open_image(l)?;
        }
        let Some(open) = self.open.as_mut() else { return Ok(()) };
        match volume {
            Some(number) => {
                if open.volume != Some(number) {
                    close_volume(&mut self.out, open)?;
                    open.volume = Some(number);
                    open.volume_tail = open_volume(&mut self.out, l, number)?;
                }
                write_indented(&mut self.out, "    ", &object)
            }
            None if open.volume.is_some() || open.past_volumes => {
                close_volume(&mut self.out, open)?;
                open.past_volumes = true;
                write_indented(&mut self.out, "  ", &std::mem::take(&mut open.deferred))?;
                write_indented(&mut self.out, "  ", &object)
            }
            None => {
                open.deferred.extend_from_slice(&object);
                Ok(())
            }
        }
    }

    fn open_image(&mut self, l: &crate::report::Location) -> io::Result<()> {
        writeln!(self.out, "  <diskimageobject>")?;
        write!(self.out, r#"    <mh:disk_image container="{}""#, esc(&l.container))?;
        if let Some(scheme) = &l.scheme {
            write!(self.out, r#" scheme="{}""#, esc(scheme))?;
        }
        writeln!(self.out, ">{}</mh:disk_image>", esc(&l.image))?;
        self.open = Some(OpenImage {
            image: l.image.clone(),
            volume: None,
            volume_tail: String::new(),
            deferred: Vec::new(),
            past_volumes: false,
        });
        Ok(())
    }

    /// Closes the open `<volume>` and `<diskimageobject>`, if any, writing the image-level
    /// `fileobject`s still held.
    fn close_image(&mut self) -> io::Result<()> {
        let Some(mut open) = self.open.take() else { return Ok(()) };
        close_volume(&mut self.out, &mut open)?;
        write_indented(&mut self.out, "  ", &open.deferred)?;
        writeln!(self.out, "  </diskimageobject>")
    }
}

/// Opens the `<volume>` of partition `number` (fiwalk's elements: the partition's byte run,
/// offset and file-system type) and returns its `mh:partition` element (the partition
/// table's own fields), which [`close_volume`] writes.
fn open_volume(o: &mut impl Write, l: &crate::report::Location, number: u32) -> io::Result<String> {
    match l.partition_offset {
        Some(offset) => writeln!(o, r#"    <volume offset="{offset}">"#)?,
        None => writeln!(o, "    <volume>")?,
    }
    if let (Some(offset), Some(len)) = (l.partition_offset, l.partition_length) {
        writeln!(o, "      <byte_runs>")?;
        writeln!(o, r#"        <byte_run img_offset="{offset}" len="{len}"/>"#)?;
        writeln!(o, "      </byte_runs>")?;
    }
    if let Some(offset) = l.partition_offset {
        writeln!(o, "      <partition_offset>{offset}</partition_offset>")?;
    }
    if let Some(fs) = &l.fs_type {
        writeln!(o, "      <ftype_str>{}</ftype_str>", esc(fs))?;
    }
    let mut tail = format!(r#"      <mh:partition number="{number}""#);
    if let Some(scheme) = &l.scheme {
        tail += &format!(r#" scheme="{}""#, esc(scheme));
    }
    if let Some(t) = &l.partition_type {
        tail += &format!(r#" type="{}""#, esc(t));
    }
    if let Some(length) = l.partition_length {
        tail += &format!(r#" length="{length}""#);
    }
    tail += "/>\n";
    Ok(tail)
}

/// Closes `open`'s `<volume>`, if one is open, with its `mh:partition` element last.
fn close_volume(o: &mut impl Write, open: &mut OpenImage) -> io::Result<()> {
    if open.volume.take().is_some() {
        o.write_all(open.volume_tail.as_bytes())?;
        writeln!(o, "    </volume>")?;
    }
    Ok(())
}

impl<W: Write> ReportWriter for DfxmlWriter<W> {
    fn header(&mut self, h: &Header) -> io::Result<()> {
        writeln!(self.out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
        writeln!(
            self.out,
            r#"<dfxml xmlns="{DFXML_NAMESPACE}" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:mh="{MH_NAMESPACE}" version="1.2.0">"#
        )?;
        writeln!(self.out, "  <mh:scan>")?;
        if !is_xsd_date_time(&h.start_time) {
            self.element("    ", "mh:start_time", &h.start_time)?;
        }
        for (i, r) in h.reference_sets.iter().enumerate() {
            write!(
                self.out,
                r#"    <mh:reference_set index="{i}" path="{}" sha256="{}" kind="{}""#,
                esc(&r.path),
                esc(&r.sha256),
                esc(&r.kind)
            )?;
            if let Some(d) = r.disposition {
                write!(self.out, r#" disposition="{}""#, d.as_str())?;
            }
            writeln!(self.out, ">")?;
            for s in &r.sources {
                write!(
                    self.out,
                    r#"      <mh:source name="{}" set_name="{}" format="{}" sha256="{}" disposition="{}" records="{}" bad_records="{}""#,
                    esc(&s.name),
                    esc(&s.set_name),
                    esc(&s.format),
                    esc(&s.sha256),
                    s.disposition.as_str(),
                    s.records,
                    s.bad_records
                )?;
                if let Some(v) = &s.source_version {
                    write!(self.out, r#" source_version="{}""#, esc(v))?;
                }
                writeln!(self.out, "/>")?;
            }
            writeln!(self.out, "    </mh:reference_set>")?;
        }
        let o = &h.options;
        write!(
            self.out,
            r#"    <mh:options pdq_radius="{}" phash_radius="{}" pdq_quality_threshold="{}" pdq_convention="{}" dihedral="{}" follow_symlinks="{}" link_targets="{}" one_file_system="{}" max_image_file_bytes="{}" cluster="{}" threads="{}""#,
            o.pdq_radius,
            o.phash_radius,
            o.pdq_quality_threshold,
            esc(&o.pdq_convention),
            o.dihedral,
            o.follow_symlinks,
            o.link_targets,
            o.one_file_system,
            o.max_image_file_bytes,
            o.cluster,
            o.threads
        )?;
        if let Some(max) = o.max_file_size {
            write!(self.out, r#" max_file_size="{max}""#)?;
        }
        writeln!(self.out, ">")?;
        for pattern in &o.exclude {
            self.element("      ", "mh:exclude", pattern)?;
        }
        for limit in &o.limits {
            self.element("      ", "mh:limit", limit)?;
        }
        writeln!(self.out, "    </mh:options>")?;
        // `mh scan --verify-image`: each disk image's media digests, stored and computed.
        for v in &h.image_verifications {
            write!(
                self.out,
                r#"    <mh:image_verification image="{}" container="{}" status="{}" media_size="{}" unreadable_bytes="{}""#,
                esc(&v.image),
                esc(&v.container),
                v.status.as_str(),
                v.media_size,
                v.unreadable_bytes
            )?;
            writeln!(self.out, ">")?;
            for (name, value) in [
                ("mh:stored_md5", &v.stored_md5),
                ("mh:stored_sha1", &v.stored_sha1),
                ("mh:computed_md5", &v.computed_md5),
                ("mh:computed_sha1", &v.computed_sha1),
            ] {
                if let Some(value) = value {
                    self.element("      ", name, value)?;
                }
            }
            for (start, end) in &v.unreadable_ranges {
                writeln!(
                    self.out,
                    r#"      <mh:unreadable img_offset="{start}" len="{}"/>"#,
                    end - start
                )?;
            }
            for (name, value) in &v.metadata {
                writeln!(
                    self.out,
                    r#"      <mh:metadata name="{}">{}</mh:metadata>"#,
                    esc(name),
                    esc(value)
                )?;
            }
            self.element("      ", "mh:message", &v.message)?;
            writeln!(self.out, "    </mh:image_verification>")?;
        }
        writeln!(self.out, "  </mh:scan>")?;
        writeln!(self.out, "  <metadata><dc:type>Hash List</dc:type></metadata>")?;
        writeln!(self.out, "  <creator>")?;
        self.element("    ", "program", &h.tool)?;
        self.element("    ", "version", &h.version)?;
        writeln!(self.out, "    <execution_environment>")?;
        if let Some(host) = &h.host {
            self.element("      ", "host", host)?;
        }
        self.element("      ", "command_line", &shell_join(&h.command_line))?;
        if is_xsd_date_time(&h.start_time) {
            self.element("      ", "start_time", &h.start_time)?;
        }
        writeln!(self.out, "    </execution_environment>")?;
        writeln!(self.out, "  </creator>")?;
        writeln!(self.out, "  <source>")?;
        for root in &h.evidence_roots {
            self.element("    ", "image_filename", root)?;
        }
        writeln!(self.out, "  </source>")
    }

    fn entry(&mut self, e: &EntryRecord) -> io::Result<()> {
        let mut object = Vec::with_capacity(1024);
        fileobject(&mut object, e)?;
        self.place(e, object)
    }

    fn footer(&mut self, f: &Footer) -> io::Result<()> {
        self.close_image()?;
        self.footer_element(f)
    }
}

/// Writes `e` as a `<fileobject>` (indented for the top level) to `o`.
fn fileobject(o: &mut Vec<u8>, e: &EntryRecord) -> io::Result<()> {
    let line = EntryLine::from(e);
    writeln!(o, "  <fileobject>")?;
    let (path_text, path_lossy) = xml_text(&line.path);
    writeln!(o, "    <filename>{path_text}</filename>")?;
    let loc = e.location.as_ref();
    if e.disposition == EntryDisposition::Error {
        let reason = e.reason_message().unwrap_or("error");
        writeln!(o, "    <error>{}</error>", esc(reason))?;
    }
    if let Some(p) = loc.and_then(|l| l.partition) {
        writeln!(o, "    <partition>{p}</partition>")?;
    }
    writeln!(o, "    <name_type>{}</name_type>", e.kind.dfxml_name_type())?;
    if let Some(size) = e.size {
        writeln!(o, "    <filesize>{size}</filesize>")?;
    }
    // fiwalk's allocation flags, for entries inside a file system of a disk image.
    match loc.and_then(|l| l.deleted) {
        Some(true) => writeln!(o, "    <unalloc>1</unalloc>")?,
        Some(false) => writeln!(o, "    <alloc>1</alloc>")?,
        None => {}
    }
    if let Some(n) = loc.and_then(|l| l.entry_number) {
        writeln!(o, "    <inode>{n}</inode>")?;
    }
    // One `inode`: the file system's entry number inside a disk image, else the folder's.
    let inode = e.inode.filter(|_| loc.and_then(|l| l.entry_number).is_none());
    let numbers = [("inode", inode), ("mode", e.mode.map(u64::from))];
    for (name, value) in numbers {
        if let Some(v) = value {
            writeln!(o, "    <{name}>{v}</{name}>")?;
        }
    }
    if let Some(v) = e.nlink {
        writeln!(o, "    <nlink>{v}</nlink>")?;
    }
    for (name, value) in [("uid", e.uid), ("gid", e.gid)] {
        if let Some(v) = value {
            writeln!(o, "    <{name}>{v}</{name}>")?;
        }
    }
    let times = [("mtime", &line.mtime), ("ctime", &line.ctime), ("atime", &line.atime)];
    for (name, value) in times {
        if let Some(v) = value.as_deref().filter(|v| is_xsd_date_time(v)) {
            writeln!(o, "    <{name}>{v}</{name}>")?;
        }
    }
    if let Some(target) = &line.link_target {
        writeln!(o, "    <link_target>{}</link_target>", esc(target))?;
    }
    if let Some(l) = loc.filter(|l| !l.byte_runs.is_empty()) {
        writeln!(o, "    <byte_runs>")?;
        let mut file_offset = 0u64;
        for r in &l.byte_runs {
            writeln!(
                o,
                r#"      <byte_run file_offset="{file_offset}" img_offset="{}" len="{}"/>"#,
                r.img_offset, r.len
            )?;
            file_offset += r.len;
        }
        writeln!(o, "    </byte_runs>")?;
    }
    for (name, value) in [("md5", &line.md5), ("sha1", &line.sha1), ("sha256", &line.sha256)] {
        if let Some(v) = value {
            let (kind, v) = (name.to_uppercase(), esc(v));
            writeln!(o, r#"    <hashdigest type="{kind}">{v}</hashdigest>"#)?;
        }
    }
    // Extension elements.
    writeln!(o, "    <mh:disposition>{}</mh:disposition>", e.disposition.as_str())?;
    if e.disposition != EntryDisposition::Error
        && let Some(reason) = e.reason_message()
    {
        writeln!(o, "    <mh:reason>{}</mh:reason>", esc(reason))?;
    }
    if let Some(code) = &line.reason_code {
        writeln!(o, "    <mh:reason_code>{code}</mh:reason_code>")?;
    }
    let path_hex = match (&line.path_bytes_hex, path_lossy) {
        (Some(hex), _) => Some(hex.clone()),
        (None, true) => Some(crate::hex::encode(&e.path)),
        (None, false) => None,
    };
    if let Some(hex) = path_hex {
        writeln!(o, "    <mh:path_bytes_hex>{hex}</mh:path_bytes_hex>")?;
    }
    // The Sleuth Kit's full address (NTFS `record-type-id`) when `inode` alone does not
    // name the content (an alternate data stream): `icat` reads it.
    if let Some(address) = loc.and_then(|l| l.fs_address.as_deref()) {
        writeln!(o, "    <mh:fs_address>{}</mh:fs_address>", esc(address))?;
    }
    if let Some(hex) = &line.link_target_hex {
        writeln!(o, "    <mh:link_target_hex>{hex}</mh:link_target_hex>")?;
    }
    // The chain of archive members leading to the entry, outermost first.
    for (depth, m) in loc.map(|l| l.archive.as_slice()).unwrap_or_default().iter().enumerate() {
        let (name, lossy) = xml_text(&m.name);
        write!(
            o,
            r#"    <mh:archive_member depth="{}" index="{}" method="{}" compressed_size="{}" crc32="{}" local_header_offset="{}""#,
            depth + 1,
            m.index,
            esc(&m.method),
            m.compressed_size,
            esc(&m.crc32),
            m.local_header_offset
        )?;
        let hex = match (&m.name_hex, lossy) {
            (Some(hex), _) => Some(hex.clone()),
            (None, true) => Some(crate::hex::encode(m.name.as_bytes())),
            (None, false) => None,
        };
        if let Some(hex) = hex {
            write!(o, r#" name_hex="{hex}""#)?;
        }
        if m.encrypted {
            write!(o, r#" encrypted="true""#)?;
        }
        if !m.name_flags.is_empty() {
            write!(o, r#" name_flags="{}""#, esc(&m.name_flags.join(" ")))?;
        }
        writeln!(o, ">{name}</mh:archive_member>")?;
    }
    // A carved item: the space, format, media offset and length (`byte_runs` above
    // hold the same bytes; there is no inode).
    if let Some(c) = loc.and_then(|l| l.carved.as_ref()) {
        writeln!(
            o,
            r#"    <mh:carved area="{}" format="{}" offset="{}" length="{}"/>"#,
            esc(&c.area),
            esc(&c.format),
            c.offset,
            c.length
        )?;
    }
    for (name, value) in times {
        if let Some(v) = value.as_deref().filter(|v| !is_xsd_date_time(v)) {
            writeln!(o, "    <mh:{name}>{}</mh:{name}>", esc(v))?;
        }
    }
    if let Some(format) = &line.image_format {
        write!(o, r#"    <mh:image format="{}""#, esc(format))?;
        if let (Some(w), Some(h)) = (e.width, e.height) {
            write!(o, r#" width="{w}" height="{h}""#)?;
        }
        writeln!(o, "/>")?;
    }
    if let Some(pdq) = &line.pdq {
        let q = e.pdq_quality.map(|q| format!(r#" quality="{q}""#)).unwrap_or_default();
        writeln!(o, "    <mh:pdq{q}>{pdq}</mh:pdq>")?;
    }
    if let Some(hashes) = &line.pdq_dihedral {
        for (name, h) in DIHEDRAL.iter().zip(hashes) {
            writeln!(o, r#"    <mh:pdq_dihedral transform="{name}">{h}</mh:pdq_dihedral>"#)?;
        }
    }
    if let Some(phash) = &line.phash {
        writeln!(o, "    <mh:phash>{phash}</mh:phash>")?;
    }
    if let Some(err) = &e.image_error {
        writeln!(o, "    <mh:image_error>{}</mh:image_error>", esc(err))?;
    }
    if let Some(v) = &e.video {
        write!(
            o,
            r#"    <mh:video container="{}" codec="{}" frame_rate="{}" seconds_per_hash="{}" frames_hashed="{}" frames_usable="{}" distinct_hashes="{}" vpdq_equal="{}""#,
            esc(&v.container),
            esc(&v.codec),
            esc(&v.frame_rate),
            v.seconds_per_hash,
            v.frames_hashed,
            v.frames_usable,
            v.distinct_hashes,
            v.not_vpdq_equal.is_empty()
        )?;
        if let (Some(w), Some(h)) = (v.width, v.height) {
            write!(o, r#" width="{w}" height="{h}""#)?;
        }
        if let Some(d) = v.duration {
            write!(o, r#" duration="{d}""#)?;
        }
        writeln!(o, ">{}</mh:video>", esc(&v.summary()))?;
        for m in &v.video_matches {
            writeln!(
                o,
                r#"    <mh:video_match reference="{}" set="{}" disposition="{}" video_id="{}" query_percent="{:.1}" known_percent="{:.1}" rule="{}"/>"#,
                m.reference,
                esc(&m.set),
                m.disposition.as_str(),
                esc(m.video_id.as_deref().unwrap_or("")),
                m.query_percent,
                m.known_percent,
                esc(&m.rule)
            )?;
        }
        for m in &v.frame_matches {
            writeln!(
                o,
                r#"    <mh:frame_match frame="{}" timestamp="{:.3}" distance="{}" reference="{}" set="{}" disposition="{}" source_id="{}" file_name="{}"/>"#,
                m.frame,
                m.timestamp,
                m.distance,
                m.reference,
                esc(&m.set),
                m.disposition.as_str(),
                esc(m.source_id.as_deref().unwrap_or("")),
                esc(m.file_name.as_deref().unwrap_or(""))
            )?;
        }
    }
    for m in &e.matches {
        write!(
            o,
            r#"    <mh:match reference="{}" set="{}" disposition="{}" hash="{}""#,
            m.reference,
            esc(&m.set),
            m.disposition.as_str(),
            m.hash.as_str()
        )?;
        if let Some(d) = m.distance {
            write!(o, r#" distance="{d}""#)?;
        }
        let transform = m.transform.map(|t| t.as_str().to_string());
        let robust_query = m
            .robust
            .as_ref()
            .map(|r| r.query.clone().unwrap_or_else(|| "image as stored".to_string()));
        let robust_window =
            m.robust.as_ref().and_then(|r| r.window).map(|w| w.as_str().to_string());
        let texts = [
            ("transform", &transform),
            ("robust_query", &robust_query),
            ("robust_window", &robust_window),
            ("category", &m.category),
            ("profile", &m.profile),
            ("series", &m.series),
            ("source_id", &m.source_id),
            ("note", &m.note),
        ];
        for (name, value) in texts {
            if let Some(v) = value {
                write!(o, r#" {name}="{}""#, esc(v))?;
            }
        }
        for (name, value) in [
            ("victim_identified", m.victim_identified),
            ("offender_identified", m.offender_identified),
        ] {
            if let Some(v) = value {
                write!(o, r#" {name}="{v}""#)?;
            }
        }
        writeln!(o, "/>")?;
    }
    if let Some(c) = e.cluster {
        writeln!(o, "    <mh:cluster>{c}</mh:cluster>")?;
    }
    for p in &e.provenance {
        match &p.value {
            Some(v) => {
                writeln!(o, r#"    <mh:provenance kind="{}">{}</mh:provenance>"#, p.kind, esc(v))?
            }
            None => writeln!(o, r#"    <mh:provenance kind="{}"/>"#, p.kind)?,
        }
    }
    if let Some(n) = e.noatime {
        writeln!(o, "    <mh:noatime>{}</mh:noatime>", u8::from(n))?;
    }
    if let Some(n) = e.bytes_read {
        writeln!(o, "    <mh:bytes_read>{n}</mh:bytes_read>")?;
    }
    writeln!(o, "  </fileobject>")
}

impl<W: Write> DfxmlWriter<W> {
    fn footer_element(&mut self, f: &Footer) -> io::Result<()> {
        let c = &f.counts;
        write!(
            self.out,
            r#"  <mh:scan_end completed="{}" end_time="{}" duration_ms="{}" exit_status="{}" entries="{}" alert="{}" ignore="{}" unknown_image="{}" other="{}" directory="{}" skipped="{}" error="{}" files_read="{}" bytes_read="{}" files_without_noatime="{}" dirs_without_noatime="{}""#,
            f.completed,
            f.end_time,
            f.duration_ms,
            f.exit_status,
            c.entries,
            c.alert,
            c.ignore,
            c.unknown_image,
            c.other,
            c.directory,
            c.skipped,
            c.error,
            f.files_read,
            f.bytes_read,
            f.files_without_noatime,
            f.dirs_without_noatime
        )?;
        if let Some(n) = f.clusters {
            write!(self.out, r#" clusters="{n}""#)?;
        }
        if let Some(n) = f.clustered_images {
            write!(self.out, r#" clustered_images="{n}""#)?;
        }
        if let Some(r) = &f.stopped_reason {
            write!(self.out, r#" stopped_reason="{}""#, esc(r))?;
        }
        writeln!(self.out, "/>")?;
        writeln!(self.out, "</dfxml>")?;
        self.out.flush()
    }
}

/// The command line as one string, arguments quoted for a POSIX shell when needed.
pub fn shell_join(args: &[String]) -> String {
    args.iter()
        .map(|a| {
            let plain = !a.is_empty()
                && a.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b));
            if plain { a.clone() } else { format!("'{}'", a.replace('\'', r"'\''")) }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_replaces_invalid_characters() {
        assert_eq!(xml_text("a&b<c>\"d\""), ("a&amp;b&lt;c&gt;&quot;d&quot;".to_string(), false));
        assert_eq!(xml_text("bell\u{7}"), ("bell\u{fffd}".to_string(), true));
        assert_eq!(xml_text("cr\r"), ("cr&#13;".to_string(), false));
    }

    #[test]
    fn shell_quoting() {
        let args = ["mh", "scan", "/mnt/my evidence", "it's"].map(String::from);
        assert_eq!(shell_join(&args), r"mh scan '/mnt/my evidence' 'it'\''s'");
    }

    #[test]
    fn error_entry_order() {
        let mut w = DfxmlWriter::new(Vec::new());
        let e = EntryRecord {
            path: b"/ev/x\x01".to_vec(),
            kind: crate::report::EntryKind::File,
            disposition: EntryDisposition::Error,
            reason: Some(crate::report::Reason::new(
                crate::report::ReasonCode::ReadFailed,
                "read error at offset 4096: Input/output error",
            )),
            size: Some(5),
            md5: Some(crate::hex::decode_fixed("ae5b468c7707a1f3d36c49b1fe2ef850").unwrap()),
            ..Default::default()
        };
        w.entry(&e).unwrap();
        let text = String::from_utf8(w.into_inner()).unwrap();
        let pos = |s: &str| text.find(s).unwrap_or_else(|| panic!("{s} missing in {text}"));
        assert!(pos("<filename>") < pos("<error>"));
        assert!(pos("<error>") < pos("<name_type>r"));
        assert!(pos("<filesize>5") < pos(r#"<hashdigest type="MD5">"#));
        assert!(pos("<hashdigest") < pos("<mh:disposition>error"));
        // The control character is replaced and the exact bytes given in hex.
        assert!(text.contains("<filename>/ev/x\u{fffd}</filename>"));
        assert!(text.contains("<mh:path_bytes_hex>2f65762f7801</mh:path_bytes_hex>"));
    }

    /// Disk-image records are nested image → volume → fileobject whatever order the
    /// levels come in, and everything else stays at the top level after the images.
    #[test]
    fn disk_image_records_nest_in_schema_order() {
        use crate::report::{Carved, Location};
        let record = |path: &str, image: &str, partition: Option<u32>, carved: bool| {
            let location = (!image.is_empty()).then(|| Location {
                image: image.to_string(),
                container: if image == "arch.zip" { "file" } else { "raw" }.to_string(),
                partition,
                partition_offset: partition.map(|p| u64::from(p) * 1_048_576),
                partition_length: partition.map(|_| 4096),
                carved: carved.then(Carved::default),
                ..Location::default()
            });
            EntryRecord { path: path.as_bytes().to_vec(), location, ..Default::default() }
        };
        let mut w = DfxmlWriter::new(Vec::new());
        for e in [
            record("a.img", "a.img", None, false),
            record("a.img/p1", "a.img", Some(1), false),
            record("a.img/p1/x", "a.img", Some(1), false),
            record("a.img/p2", "a.img", Some(2), false),
            record("a.img/$CarvedFiles/1.jpg", "a.img", Some(1), true),
            // A volume after a carved item (not made by the scan): a new image element.
            record("a.img/p3", "a.img", Some(3), false),
            record("b.img", "b.img", None, false),
            record("arch.zip/m", "arch.zip", None, false),
            record("folder/f", "", None, false),
        ] {
            w.entry(&e).unwrap();
        }
        w.close_image().unwrap();
        let text = String::from_utf8(w.into_inner()).unwrap();
        let mut stream = record("a.img/p1/file:ads", "a.img", Some(1), false);
        if let Some(l) = stream.location.as_mut() {
            l.fs_address = Some("64-128-4".into());
        }
        let mut object = Vec::new();
        fileobject(&mut object, &stream).unwrap();
        let object = String::from_utf8(object).unwrap();
        assert!(object.contains("<mh:fs_address>64-128-4</mh:fs_address>"), "{object}");
        let outline: Vec<String> = text
            .lines()
            .map(str::trim)
            .filter_map(|l| {
                let tag = l.split([' ', '>']).next()?;
                match tag {
                    "<diskimageobject" | "</diskimageobject" | "<volume" | "</volume" => {
                        Some(tag.to_string())
                    }
                    _ => {
                        l.strip_prefix("<filename>")?.strip_suffix("</filename>").map(String::from)
                    }
                }
            })
            .collect();
        let expected = [
            "<diskimageobject",
            "<volume",
            "a.img/p1",
            "a.img/p1/x",
            "</volume",
            "<volume",
            "a.img/p2",
            "</volume",
            "a.img",
            "a.img/$CarvedFiles/1.jpg",
            "</diskimageobject",
            "<diskimageobject",
            "<volume",
            "a.img/p3",
            "</volume",
            "</diskimageobject",
            "<diskimageobject",
            "b.img",
            "</diskimageobject",
            "arch.zip/m",
            "folder/f",
        ];
        assert_eq!(outline, expected, "{text}");
    }

    #[test]
    fn xsd_date_time_lexical_space() {
        for ok in ["2001-02-03T04:05:06Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999999Z"]
        {
            assert!(is_xsd_date_time(ok), "{ok}");
        }
        for bad in [
            "0000-10-15T19:33:20Z",
            "2001-02-03 04:05:06Z",
            "2001-02-03T04:05:06",
            "2001-13-03T04:05:06Z",
            "2001-02-00T04:05:06Z",
            "2001-02-03T24:05:06Z",
            "2001-02-03T04:05:06.Z",
            "",
        ] {
            assert!(!is_xsd_date_time(bad), "{bad}");
        }
    }

    #[test]
    fn time_outside_xsd_date_time_goes_to_the_extension_element() {
        let mut w = DfxmlWriter::new(Vec::new());
        let e = EntryRecord {
            path: b"/ev/old".to_vec(),
            kind: crate::report::EntryKind::File,
            disposition: EntryDisposition::Other,
            mtime: crate::report::Timestamp::from_rfc3339("0000-10-15T19:33:20Z"),
            atime: crate::report::Timestamp::from_rfc3339("2001-02-03T04:05:06Z"),
            md5: Some(crate::hex::decode_fixed("ae5b468c7707a1f3d36c49b1fe2ef850").unwrap()),
            ..Default::default()
        };
        w.entry(&e).unwrap();
        let text = String::from_utf8(w.into_inner()).unwrap();
        assert!(!text.contains("<mtime>"), "{text}");
        assert!(text.contains("<atime>2001-02-03T04:05:06Z</atime>"), "{text}");
        let pos = |s: &str| text.find(s).unwrap_or_else(|| panic!("{s} missing in {text}"));
        assert!(pos("<hashdigest") < pos("<mh:mtime>0000-10-15T19:33:20Z</mh:mtime>"));
    }
}
