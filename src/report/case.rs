//! CASE/UCO JSON-LD report: the Cyber-investigation Analysis Standard Expression
//! (<https://caseontology.org/>) over the Unified Cyber Ontology
//! (<https://unifiedcyberontology.org/>, <https://github.com/ucoProject/UCO>).
//!
//! One `@graph`, streamed: each directory entry is a `uco-observable:File` with a
//! `FileFacet` (name, path, size, times; `isDirectory` for directories) and, when the file
//! was read, a `ContentDataFacet` whose `hash` list holds MD5, SHA1 and SHA256 (plain-string
//! `hashMethod`, UCO ≥ 1.4 style; `hashValue` as `xsd:hexBinary`). Each entry also gets a
//! `uco-core:Annotation`, tagged `mediahash:<disposition>`, whose statement gives the
//! disposition, reason, PDQ (with quality) and pHash, and the matches: PDQ and pHash are
//! outside UCO's `HashNameVocab`, and `case_validate` then reports the graph as not
//! conforming (Info level), so they are not `uco-types:Hash` nodes.
//!
//! An entry inside a disk image or archive is placed by observables, each written once: the
//! image (`uco-observable:Image`, `ImageFacet.imageType` = the container), its partition
//! (`DiskPartition` with `DiskPartitionFacet`: number, offset, length, type), the partition's
//! file system (`FileSystem`, `FileSystemFacet.fileSystemType`), joined by
//! `ObservableRelationship`s `Contained_Within` (file → file system → partition → image;
//! archive member → archive file). The file's `FileFacet.allocationStatus` is `allocated` or
//! `deleted`, an NTFS file has `NTFSFileFacet.entryID` (the MFT record number), and the
//! annotation's statement repeats the location in words (entry number, byte runs, archive
//! member). `mh scan --verify-image` outcomes are `InvestigativeAction`s on the image, whose
//! `ContentDataFacet` holds the media's MD5 and SHA1 as computed.
//!
//! Provenance: the tool (`uco-tool:Tool`), each reference set file with its SHA-256, and a
//! `case-investigation:InvestigativeAction` (start and end time, command line, counts)
//! written with the footer.
//!
//! Every `@id` is derived from content, never random: a UUID-formatted value made from the
//! SHA-256 of a node-kind label and the entry's exact path bytes (and, for hashes, the
//! method), with the version nibble set to 5 and the RFC 4122 variant bits — the same
//! evidence gives the same identifiers.

use std::collections::HashSet;
use std::io::{self, Write};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::jsonl::EntryLine;
use super::{
    EntryDisposition, EntryKind, EntryRecord, Footer, Header, ImageVerification, Location,
    ReportWriter,
};

/// Writes a CASE/UCO JSON-LD report.
pub struct CaseWriter<W: Write> {
    out: W,
    nodes_written: u64,
    tool_id: String,
    reference_ids: Vec<String>,
    header: Option<Header>,
    /// Nodes written once per report (images, partitions, file systems and the
    /// relationships between them), by `@id`.
    written_once: HashSet<String>,
}

/// A deterministic UUID-formatted identifier from the SHA-256 of `parts`.
pub fn content_uuid(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        // Length-prefix each part so different splits cannot collide.
        h.update((p.len() as u64).to_be_bytes());
        h.update(p);
    }
    let d = h.finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    b[6] = (b[6] & 0x0f) | 0x50;
    b[8] = (b[8] & 0x3f) | 0x80;
    let x = crate::hex::encode(&b);
    format!("{}-{}-{}-{}-{}", &x[0..8], &x[8..12], &x[12..16], &x[16..20], &x[20..32])
}

fn node_id(kind: &str, parts: &[&[u8]]) -> String {
    let mut all: Vec<&[u8]> = vec![kind.as_bytes()];
    all.extend_from_slice(parts);
    format!("kb:{kind}-{}", content_uuid(&all))
}

fn integer(n: u64) -> Value {
    json!({"@type": "xsd:integer", "@value": n.to_string()})
}

fn date_time(s: &str) -> Value {
    json!({"@type": "xsd:dateTime", "@value": s})
}

/// An `ObservableRelationship`: `source` is contained within `target`; its `@id` and node.
fn contained_within(source: &str, target: &str) -> (String, Value) {
    let id = node_id("Relationship", &[source.as_bytes(), target.as_bytes()]);
    let node = json!({
        "@id": id,
        "@type": "uco-observable:ObservableRelationship",
        "uco-core:source": [{"@id": source}],
        "uco-core:target": [{"@id": target}],
        "uco-core:kindOfRelationship": "Contained_Within",
        "uco-core:isDirectional": true,
    });
    (id, node)
}

fn hash_node(owner: &[u8], method: &str, value: &str) -> Value {
    json!({
        "@id": node_id("Hash", &[owner, method.as_bytes()]),
        "@type": "uco-types:Hash",
        "uco-types:hashMethod": method,
        "uco-types:hashValue": {"@type": "xsd:hexBinary", "@value": value},
    })
}

impl<W: Write> CaseWriter<W> {
    /// A writer over `out` (buffer it: one small write per node). The JSON-LD document is
    /// complete, with its closing brackets, only once [`ReportWriter::footer`] has run.
    pub fn new(out: W) -> Self {
        Self {
            out,
            nodes_written: 0,
            tool_id: String::new(),
            reference_ids: Vec::new(),
            header: None,
            written_once: HashSet::new(),
        }
    }

    /// The underlying output.
    pub fn into_inner(self) -> W {
        self.out
    }

    fn node(&mut self, node: &Value) -> io::Result<()> {
        if self.nodes_written > 0 {
            self.out.write_all(b",\n")?;
        }
        self.nodes_written += 1;
        serde_json::to_writer(&mut self.out, node).map_err(io::Error::from)
    }

    /// Writes `node` unless a node with its `@id` was written before.
    fn node_once(&mut self, id: &str, node: impl FnOnce() -> Value) -> io::Result<()> {
        if self.written_once.insert(id.to_string()) { self.node(&node()) } else { Ok(()) }
    }

    /// `source` is contained within `target` (written once per pair).
    fn contained_within_once(&mut self, source: &str, target: &str) -> io::Result<()> {
        let (id, node) = contained_within(source, target);
        self.node_once(&id, || node)
    }

    /// The disk image's node (with the media's computed digests when it was verified).
    fn image_node(
        &mut self,
        image: &str,
        container: &str,
        verified: Option<&ImageVerification>,
    ) -> io::Result<String> {
        let id = node_id("Image", &[image.as_bytes()]);
        let owner = id.as_bytes().to_vec();
        self.node_once(&id.clone(), || {
            let mut facets = vec![json!({
                "@id": node_id("ImageFacet", &[&owner]),
                "@type": "uco-observable:ImageFacet",
                "uco-observable:imageType": container,
            })];
            if let Some(v) = verified {
                let hashes: Vec<Value> = [("MD5", &v.computed_md5), ("SHA1", &v.computed_sha1)]
                    .into_iter()
                    .filter_map(|(method, value)| {
                        value.as_ref().map(|x| hash_node(&owner, method, x))
                    })
                    .collect();
                let mut content = json!({
                    "@id": node_id("ContentDataFacet", &[&owner]),
                    "@type": "uco-observable:ContentDataFacet",
                    "uco-observable:sizeInBytes": integer(v.media_size),
                });
                if !hashes.is_empty() {
                    content
                        .as_object_mut()
                        .expect("object literal")
                        .insert("uco-observable:hash".into(), Value::Array(hashes));
                }
                facets.push(content);
            }
            json!({
                "@id": id,
                "@type": "uco-observable:Image",
                "uco-core:name": image,
                "uco-core:hasFacet": facets,
            })
        })?;
        Ok(id)
    }

    /// Writes the image, partition and file-system nodes of `l` (once each) and returns the
    /// `@id` of the innermost one, which holds the entry.
    fn location_nodes(&mut self, l: &Location) -> io::Result<String> {
        let image = self.image_node(&l.image, &l.container, None)?;
        let Some(number) = l.partition else { return Ok(image) };
        let number_text = number.to_string();
        let part = node_id("DiskPartition", &[l.image.as_bytes(), number_text.as_bytes()]);
        let owner = part.as_bytes().to_vec();
        self.node_once(&part.clone(), || {
            let mut facet = json!({
                "@id": node_id("DiskPartitionFacet", &[&owner]),
                "@type": "uco-observable:DiskPartitionFacet",
                "uco-observable:partitionID": number_text,
            });
            let f = facet.as_object_mut().expect("object literal");
            if let Some(o) = l.partition_offset {
                f.insert("uco-observable:partitionOffset".into(), integer(o));
            }
            if let Some(n) = l.partition_length {
                f.insert("uco-observable:partitionLength".into(), integer(n));
            }
            if let Some(t) = &l.partition_type {
                f.insert("uco-observable:diskPartitionType".into(), json!(t));
            }
            json!({"@id": part, "@type": "uco-observable:DiskPartition", "uco-core:hasFacet": [facet]})
        })?;
        self.contained_within_once(&part, &image)?;
        let Some(fs_type) = &l.fs_type else { return Ok(part) };
        let fs = node_id("FileSystem", &[&owner]);
        let fs_owner = fs.as_bytes().to_vec();
        self.node_once(&fs.clone(), || {
            json!({
                "@id": fs,
                "@type": "uco-observable:FileSystem",
                "uco-core:hasFacet": [{
                    "@id": node_id("FileSystemFacet", &[&fs_owner]),
                    "@type": "uco-observable:FileSystemFacet",
                    "uco-observable:fileSystemType": fs_type,
                }],
            })
        })?;
        self.contained_within_once(&fs, &part)?;
        Ok(fs)
    }

    /// Each verified image, and the verification as an action on it.
    fn verification_nodes(&mut self, h: &Header) -> io::Result<()> {
        for v in &h.image_verifications {
            let image = self.image_node(&v.image, &v.container, Some(v))?;
            let mut words = format!(
                "{}: media of {} bytes; stored MD5 {}, SHA1 {}; computed MD5 {}, SHA1 {}; {} \
                 bytes unreadable",
                v.status.as_str(),
                v.media_size,
                v.stored_md5.as_deref().unwrap_or("none"),
                v.stored_sha1.as_deref().unwrap_or("none"),
                v.computed_md5.as_deref().unwrap_or("none"),
                v.computed_sha1.as_deref().unwrap_or("none"),
                v.unreadable_bytes,
            );
            for (start, end) in &v.unreadable_ranges {
                words.push_str(&format!(" [{start}, {end})"));
            }
            if !v.message.is_empty() {
                words.push_str(&format!("; {}", v.message));
            }
            let action = json!({
                "@id": node_id("InvestigativeAction", &[b"verify-image", v.image.as_bytes(), h.start_time.as_bytes()]),
                "@type": "case-investigation:InvestigativeAction",
                "uco-core:name": "mediahash image verification",
                "uco-core:description": [words],
                "uco-action:instrument": {"@id": self.tool_id},
                "uco-action:object": [{"@id": image}],
                "uco-action:actionStatus": if v.status.failed() { "Fail" } else { "Complete/Finish" },
            });
            self.node(&action)?;
        }
        Ok(())
    }
}

impl<W: Write> ReportWriter for CaseWriter<W> {
    fn header(&mut self, h: &Header) -> io::Result<()> {
        let context = json!({
            "kb": "http://example.org/kb/",
            "case-investigation": "https://ontology.caseontology.org/case/investigation/",
            "uco-action": "https://ontology.unifiedcyberontology.org/uco/action/",
            "uco-core": "https://ontology.unifiedcyberontology.org/uco/core/",
            "uco-observable": "https://ontology.unifiedcyberontology.org/uco/observable/",
            "uco-tool": "https://ontology.unifiedcyberontology.org/uco/tool/",
            "uco-types": "https://ontology.unifiedcyberontology.org/uco/types/",
            "xsd": "http://www.w3.org/2001/XMLSchema#",
        });
        self.out.write_all(b"{\"@context\":")?;
        serde_json::to_writer(&mut self.out, &context).map_err(io::Error::from)?;
        self.out.write_all(b",\n\"@graph\":[\n")?;

        self.tool_id = node_id("Tool", &[h.tool.as_bytes(), h.version.as_bytes()]);
        let tool = json!({
            "@id": self.tool_id,
            "@type": "uco-tool:Tool",
            "uco-core:name": h.tool,
            "uco-tool:version": h.version,
        });
        self.node(&tool)?;
        for r in &h.reference_sets {
            let id = node_id("File", &[b"reference-set", r.path.as_bytes(), r.sha256.as_bytes()]);
            let owner = id.as_bytes().to_vec();
            let name = r.path.rsplit('/').next().unwrap_or(&r.path).to_string();
            let file = json!({
                "@id": id,
                "@type": "uco-observable:File",
                "uco-core:description": format!("reference set ({})", r.kind),
                "uco-core:hasFacet": [
                    {
                        "@id": node_id("FileFacet", &[&owner]),
                        "@type": "uco-observable:FileFacet",
                        "uco-observable:fileName": name,
                        "uco-observable:filePath": r.path,
                    },
                    {
                        "@id": node_id("ContentDataFacet", &[&owner]),
                        "@type": "uco-observable:ContentDataFacet",
                        "uco-observable:hash": [hash_node(&owner, "SHA256", &r.sha256)],
                    }
                ],
            });
            self.node(&file)?;
            self.reference_ids.push(id);
        }
        self.verification_nodes(h)?;
        self.header = Some(h.clone());
        Ok(())
    }

    fn entry(&mut self, e: &EntryRecord) -> io::Result<()> {
        let line = EntryLine::from(e);
        let path_bytes = &e.path;
        let file_id = node_id("File", &[path_bytes]);
        let mut file_facet = json!({
            "@id": node_id("FileFacet", &[path_bytes]),
            "@type": "uco-observable:FileFacet",
            "uco-observable:fileName": e.file_name(),
            "uco-observable:filePath": line.path,
        });
        let ff = file_facet.as_object_mut().expect("object literal");
        if e.kind == EntryKind::Directory {
            ff.insert("uco-observable:isDirectory".into(), json!(true));
        }
        if let Some(size) = e.size {
            ff.insert("uco-observable:sizeInBytes".into(), integer(size));
        }
        if let Some(t) = &line.mtime {
            ff.insert("uco-observable:modifiedTime".into(), date_time(t));
        }
        if let Some(t) = &line.atime {
            ff.insert("uco-observable:accessedTime".into(), date_time(t));
        }
        if let Some(t) = &line.ctime {
            ff.insert("uco-observable:metadataChangeTime".into(), date_time(t));
        }
        let location = e.location.as_ref();
        if let Some(deleted) = location.and_then(|l| l.deleted) {
            let status = if deleted { "deleted" } else { "allocated" };
            ff.insert("uco-observable:allocationStatus".into(), json!(status));
        }
        let mut facets = vec![file_facet];
        let ntfs_record = location
            .filter(|l| l.fs_type.as_deref() == Some("ntfs") && l.archive.is_empty())
            .and_then(|l| l.entry_number);
        if let Some(n) = ntfs_record {
            facets.push(json!({
                "@id": node_id("NTFSFileFacet", &[path_bytes]),
                "@type": "uco-observable:NTFSFileFacet",
                "uco-observable:entryID": integer(n),
            }));
        }
        let mut hashes = Vec::new();
        // PDQ and pHash are not in UCO's HashNameVocab (validators flag them), so they go
        // in the annotation's statement instead.
        for (method, value) in [("MD5", &line.md5), ("SHA1", &line.sha1), ("SHA256", &line.sha256)]
        {
            if let Some(v) = value {
                hashes.push(hash_node(path_bytes, method, v));
            }
        }
        if !hashes.is_empty() {
            let mut content = json!({
                "@id": node_id("ContentDataFacet", &[path_bytes]),
                "@type": "uco-observable:ContentDataFacet",
                "uco-observable:hash": hashes,
            });
            if let Some(n) = e.bytes_read {
                content
                    .as_object_mut()
                    .expect("object literal")
                    .insert("uco-observable:sizeInBytes".into(), integer(n));
            }
            facets.push(content);
        }
        let file = json!({
            "@id": file_id,
            "@type": "uco-observable:File",
            "uco-core:hasFacet": facets,
        });
        self.node(&file)?;
        if let Some(l) = location {
            let holder = if l.archive.is_empty() {
                self.location_nodes(l)?
            } else {
                // A member is inside the archive file, whose own record (and node) comes
                // before it: the path up to the last `!/`.
                let split = path_bytes.windows(2).rposition(|w| w == b"!/").unwrap_or(0);
                node_id("File", &[&path_bytes[..split]])
            };
            // Not remembered: one per entry.
            let (_, relationship) = contained_within(&file_id, &holder);
            self.node(&relationship)?;
        }

        let annotation = json!({
            "@id": node_id("Annotation", &[path_bytes]),
            "@type": "uco-core:Annotation",
            "uco-core:tag": [format!("mediahash:{}", e.disposition.as_str())],
            "uco-core:statement": statement(e),
            "uco-core:object": [{"@id": file_id}],
        });
        self.node(&annotation)
    }

    fn footer(&mut self, f: &Footer) -> io::Result<()> {
        let h = self.header.take().unwrap_or_default();
        let description = format!(
            "{} scan of {}; completed: {}{}; {}; files read {}, bytes read {}; exit status {}",
            h.tool,
            h.evidence_roots.join(", "),
            f.completed,
            f.stopped_reason.as_ref().map(|r| format!(" ({r})")).unwrap_or_default(),
            f.counts,
            f.files_read,
            f.bytes_read,
            f.exit_status,
        );
        let objects: Vec<Value> = self.reference_ids.iter().map(|id| json!({"@id": id})).collect();
        let mut action = json!({
            "@id": node_id("InvestigativeAction", &[h.start_time.as_bytes(), h.command_line.join("\0").as_bytes()]),
            "@type": "case-investigation:InvestigativeAction",
            "uco-core:name": "mediahash scan",
            "uco-core:description": [description, format!("command line: {}", super::dfxml::shell_join(&h.command_line))],
            "uco-action:startTime": date_time(&h.start_time),
            "uco-action:endTime": date_time(&f.end_time),
            "uco-action:instrument": {"@id": self.tool_id},
            // A field, not only prose, so tools can tell an interrupted scan apart.
            // UCO 1.4+: a plain string from ActionStatusTypeVocab.
            "uco-action:actionStatus": if f.completed { "Complete/Finish" } else { "Fail" },
        });
        if !objects.is_empty() {
            action
                .as_object_mut()
                .expect("object literal")
                .insert("uco-action:object".into(), Value::Array(objects));
        }
        self.node(&action)?;
        self.out.write_all(b"\n]}\n")?;
        self.out.flush()
    }
}

/// The human-readable verdict for an entry's annotation.
fn statement(e: &EntryRecord) -> String {
    let mut s = format!("disposition: {}", e.disposition.as_str());
    if let Some(l) = &e.location {
        // The observables carry the structure; the words help a reader of the statement.
        s.push_str(&format!("; in {} ({})", l.image, l.container));
        if let Some(p) = l.partition {
            s.push_str(&format!(", partition {p} at byte {}", l.partition_offset.unwrap_or(0)));
        }
        if let Some(fs) = &l.fs_type {
            s.push_str(&format!(", {fs}"));
        }
        if let Some(n) = l.entry_number {
            s.push_str(&format!(", entry {n}"));
        }
        if l.deleted == Some(true) {
            s.push_str(", deleted");
        }
        let runs: Vec<String> =
            l.byte_runs.iter().map(|r| format!("{}+{}", r.img_offset, r.len)).collect();
        if !runs.is_empty() {
            s.push_str(&format!(", byte runs {}", runs.join(" ")));
        }
        if let Some(c) = &l.carved {
            s.push_str(&format!(
                ", carved ({}) from {} space at byte {}, {} bytes",
                c.format, c.area, c.offset, c.length
            ));
        }
        for m in &l.archive {
            s.push_str(&format!(", archive member {} {:?}", m.index, m.name));
            if m.encrypted {
                s.push_str(" (encrypted)");
            }
            if !m.name_flags.is_empty() {
                s.push_str(&format!(" (name flags: {})", m.name_flags.join(" ")));
            }
        }
    }
    if let Some(r) = &e.reason {
        s.push_str(&format!("; reason: {} ({})", r.message, r.code));
    }
    if let Some(r) = &e.image_error {
        s.push_str(&format!("; image: {r}"));
    }
    if let Some(pdq) = &e.pdq {
        s.push_str(&format!("; pdq {}", pdq.to_hex()));
    }
    if let Some(q) = e.pdq_quality {
        s.push_str(&format!(" (quality {q})"));
    }
    if let Some(phash) = &e.phash {
        s.push_str(&format!("; phash {}", phash.to_hex()));
    }
    if let Some(v) = &e.video {
        s.push_str(&format!("; video: {}", v.summary()));
        for m in &v.video_matches {
            s.push_str(&format!(
                "; video match {} set {:?} video {:?} by vPDQ ({}: seized {:.1}%, known {:.1}%)",
                m.disposition.as_str(),
                m.set,
                m.video_id.as_deref().unwrap_or(""),
                m.rule,
                m.query_percent,
                m.known_percent
            ));
        }
        for m in &v.frame_matches {
            s.push_str(&format!(
                "; frame {} at {:.3} s matches {} set {:?} picture {:?} by PDQ at distance {}",
                m.frame,
                m.timestamp,
                m.disposition.as_str(),
                m.set,
                m.file_name.as_deref().or(m.source_id.as_deref()).unwrap_or(""),
                m.distance
            ));
        }
    }
    for m in &e.matches {
        s.push_str(&format!(
            "; match {} set {:?} by {}",
            m.disposition.as_str(),
            m.set,
            m.hash.as_str()
        ));
        if let Some(d) = m.distance {
            s.push_str(&format!(" at distance {d}"));
        }
        if let Some(t) = &m.transform {
            s.push_str(&format!(" ({t})"));
        }
        if let Some(r) = &m.robust {
            s.push_str(&format!(" (robust: {})", r.describe()));
        }
        if let Some(c) = &m.category {
            s.push_str(&format!(", category {c}"));
            if let Some(p) = &m.profile {
                s.push_str(&format!(" (profile {p})"));
            }
        }
        if let Some(v) = m.victim_identified {
            s.push_str(&format!(", victim identified: {v}"));
        }
    }
    if let Some(c) = e.cluster {
        s.push_str(&format!("; cluster {c}"));
    }
    if !e.provenance.is_empty() {
        let shown: Vec<String> = e.provenance.iter().map(ToString::to_string).collect();
        s.push_str(&format!("; provenance indicators: {}", shown.join("; ")));
    }
    if e.disposition == EntryDisposition::UnknownImage {
        s.push_str("; not in any reference set");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_deterministic_and_well_formed() {
        let a = content_uuid(&[b"File", b"/ev/a"]);
        assert_eq!(a, content_uuid(&[b"File", b"/ev/a"]));
        assert_ne!(a, content_uuid(&[b"File", b"/ev/b"]));
        // Splitting differently gives a different id.
        assert_ne!(content_uuid(&[b"ab", b"c"]), content_uuid(&[b"a", b"bc"]));
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "5");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"));
    }

    #[test]
    fn graph_is_valid_json() {
        let mut w = CaseWriter::new(Vec::new());
        w.header(&Header { tool: "mediahash".into(), version: "0".into(), ..Default::default() })
            .unwrap();
        let e = EntryRecord {
            path: b"/ev/a.jpg".to_vec(),
            kind: EntryKind::File,
            disposition: EntryDisposition::UnknownImage,
            size: Some(5),
            md5: Some(crate::hex::decode_fixed("ae5b468c7707a1f3d36c49b1fe2ef850").unwrap()),
            ..Default::default()
        };
        w.entry(&e).unwrap();
        w.footer(&Footer {
            completed: true,
            end_time: "2025-01-01T00:00:00Z".into(),
            ..Default::default()
        })
        .unwrap();
        let v: Value = serde_json::from_slice(&w.into_inner()).unwrap();
        let graph = v["@graph"].as_array().unwrap();
        assert_eq!(graph.len(), 4, "tool, file, annotation, action");
        let file = &graph[1];
        assert_eq!(file["@type"], "uco-observable:File");
        let hashes = &file["uco-core:hasFacet"][1]["uco-observable:hash"];
        assert_eq!(hashes[0]["uco-types:hashMethod"], "MD5");
        assert_eq!(graph[2]["uco-core:tag"][0], "mediahash:unknown-image");
        assert_eq!(graph[3]["uco-action:actionStatus"], "Complete/Finish");
    }

    #[test]
    fn interrupted_scan_is_marked_in_a_field() {
        let mut w = CaseWriter::new(Vec::new());
        w.header(&Header::default()).unwrap();
        w.footer(&Footer { completed: false, ..Default::default() }).unwrap();
        let v: Value = serde_json::from_slice(&w.into_inner()).unwrap();
        let action = v["@graph"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(action["@type"], "case-investigation:InvestigativeAction");
        assert_eq!(action["uco-action:actionStatus"], "Fail");
    }
}
