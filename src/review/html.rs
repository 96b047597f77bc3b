//! The review page: one `index.html` holding its style, its script and the report's data.
//!
//! Escaping rules: text from evidence or sets reaches the page either HTML-escaped
//! ([`escape`]) in the static summary, or inside the JSON data block (every `<`, `>` and
//! `&` written as `\u003c`, `\u003e`, `\u0026`, so nothing can close the block) which the
//! script only ever puts into `textContent`. Names are bytes: [`display_bytes`] shows
//! bytes that are not UTF-8 as `\xNN` and control characters as `\u{NN}`. The
//! Content-Security-Policy allows the page's own script (by its SHA-256) and images from
//! the page's folder, nothing else: no network, no other script.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::Path;

use base64::Engine as _;
use serde_json::{Value, json};
use sha2::Digest as _;

use super::Review;
use super::thumbs::Thumb;
use crate::refset::Disposition;
use crate::report::{EntryDisposition, EntryRecord, Match};

const CSS: &str = include_str!("page.css");
const JS: &str = include_str!("page.js");

/// HTML-escapes text for element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Bytes as text a person can read without being misled: valid UTF-8 as is, each byte of
/// an invalid sequence as `\xNN`, control characters (and a backslash, so the form is
/// unambiguous) escaped.
pub fn display_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                c if c.is_control() => {
                    let _ = write!(out, "\\u{{{:x}}}", c as u32);
                }
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

/// JSON safe inside a `<script type="application/json">` element.
fn script_json(value: &Value) -> String {
    let text = value.to_string();
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            c => out.push(c),
        }
    }
    out
}

/// One match in words: `set, category 1, pdq distance 12 rot90`.
pub fn describe_match(m: &Match) -> String {
    let mut parts = vec![m.set.clone()];
    if m.disposition == Disposition::Ignore {
        parts.push("ignore set".into());
    }
    if let Some(c) = &m.category {
        parts.push(format!("category {c}"));
    }
    let how = match m.distance {
        Some(d) => format!("{} distance {d}", m.hash.as_str()),
        None => format!("{} exact", m.hash.as_str()),
    };
    parts.push(match &m.transform {
        Some(t) => format!("{how} {t}"),
        None => how,
    });
    if let Some(r) = &m.robust {
        parts.push(format!("robust: {}", r.describe()));
    }
    parts.join(", ")
}

fn location_text(record: &EntryRecord) -> Option<String> {
    let loc = record.location.as_ref()?;
    let mut parts = vec![format!("{} ({})", loc.image, loc.container)];
    if let Some(p) = loc.partition {
        parts.push(format!("partition {p}"));
    }
    if let Some(fs) = &loc.fs_type {
        parts.push(fs.clone());
    }
    if let Some(n) = loc.entry_number {
        parts.push(format!("entry {n}"));
    }
    if loc.deleted == Some(true) {
        parts.push("deleted".into());
    }
    if let Some(c) = &loc.carved {
        parts.push(format!("carved from {} at byte {}", c.area, c.offset));
    }
    for m in &loc.archive {
        parts.push(format!("archive member {}", m.name));
    }
    Some(parts.join(", "))
}

fn item_json(review: &Review, index: usize, thumb: &Thumb) -> Value {
    let item = &review.items[index];
    let r = &item.record;
    let mut v = json!({
        "o": item.ordinal,
        "p": display_bytes(&r.path),
        "d": r.disposition.as_str(),
    });
    let o = v.as_object_mut().expect("object");
    if std::str::from_utf8(&r.path).is_err() {
        o.insert("x".into(), crate::hex::encode(&r.path).into());
    }
    match thumb {
        Thumb::Made(name) => {
            o.insert("t".into(), format!("thumbs/{name}").into());
        }
        Thumb::Placeholder(reason) => {
            o.insert("tr".into(), reason.clone().into());
        }
        Thumb::None => {}
    }
    if let Some(f) = r.image_format {
        o.insert("f".into(), f.as_str().into());
    }
    if let (Some(w), Some(h)) = (r.width, r.height) {
        o.insert("w".into(), w.into());
        o.insert("h".into(), h.into());
    }
    if let Some(d) = r.md5 {
        o.insert("md5".into(), crate::hex::encode(&d).into());
    }
    if let Some(d) = r.sha1 {
        o.insert("sha1".into(), crate::hex::encode(&d).into());
    }
    if let Some(d) = r.sha256 {
        o.insert("sha256".into(), crate::hex::encode(&d).into());
    }
    if let Some(p) = r.pdq {
        o.insert("pdq".into(), p.to_hex().into());
        o.insert("q".into(), r.pdq_quality.unwrap_or(0).into());
    }
    if !r.matches.is_empty() {
        let m: Vec<String> = r.matches.iter().map(describe_match).collect();
        o.insert("m".into(), m.into());
    }
    if let Some(reason) = &r.reason {
        o.insert("e".into(), reason.message.clone().into());
        o.insert("rc".into(), reason.code.as_str().into());
    }
    if let Some(c) = item.cluster {
        o.insert("c".into(), c.into());
    }
    if let Some(loc) = location_text(r) {
        o.insert("loc".into(), loc.into());
    }
    let pv = provenance_json(r);
    if !pv.is_empty() {
        o.insert("pv".into(), pv.into());
    }
    v
}

/// Provenance indicators as `{k: kind, v: detail}` for the page's badges and filter.
fn provenance_json(record: &EntryRecord) -> Vec<Value> {
    record
        .provenance
        .iter()
        .map(|p| {
            let mut o = serde_json::Map::new();
            o.insert("k".into(), p.kind.as_str().into());
            if let Some(v) = &p.value {
                o.insert("v".into(), v.clone().into());
            }
            Value::Object(o)
        })
        .collect()
}

fn queue_json(review: &Review, u: &super::QueueUnit) -> Value {
    json!({
        "m": u.members,
        "c": u.cluster,
        "nm": u.near_miss.as_ref().map(|(d, m, to)| {
            let what = match to {
                super::NearTo::Picture(a) => {
                    format!("alert picture {}", display_bytes(&review.items[*a].record.path))
                }
                super::NearTo::Set(set) => format!("an alert hash of set {set}"),
            };
            json!([d, m, what])
        }),
    })
}

/// Writes the page's data block as JSON, one item and one queue unit at a time (memory
/// stays that of one item), every `<`, `>` and `&` escaped as [`script_json`] does.
fn write_data(out: &mut impl Write, review: &Review, thumbs: &[Thumb]) -> io::Result<()> {
    let h = &review.header;
    let report_id =
        format!("{}|{}|{}", h.start_time, h.host.as_deref().unwrap_or(""), review.entries);
    let head = json!({
        "reportId": report_id,
        "alertCount": review.triage.alerts,
        "radius": review.header.options.pdq_radius,
        "errors": review.errors,
        "groups": review
            .alert_groups
            .iter()
            .map(|g| json!({"s": g.set, "c": g.category, "i": g.items}))
            .collect::<Vec<_>>(),
    });
    let head = script_json(&head);
    // The object without its closing brace, then the two long arrays.
    out.write_all(&head.as_bytes()[..head.len() - 1])?;
    out.write_all(b",\"items\":[")?;
    for (i, thumb) in thumbs.iter().enumerate().take(review.items.len()) {
        if i > 0 {
            out.write_all(b",")?;
        }
        out.write_all(script_json(&item_json(review, i, thumb)).as_bytes())?;
    }
    out.write_all(b"],\"queue\":[")?;
    for (k, u) in review.queue.iter().enumerate() {
        if k > 0 {
            out.write_all(b",")?;
        }
        out.write_all(script_json(&queue_json(review, u)).as_bytes())?;
    }
    out.write_all(b"]}")
}

fn summary_html(review: &Review) -> String {
    let h = &review.header;
    let mut s = String::new();
    let completed = match &review.footer {
        Some(f) if f.completed => "yes".to_string(),
        Some(f) => format!(
            "<span class=\"warn\">NO — {}</span>",
            escape(f.stopped_reason.as_deref().unwrap_or("interrupted"))
        ),
        None => "<span class=\"warn\">NO — the report has no footer (cut short)</span>".into(),
    };
    let _ = write!(
        s,
        "<div class=\"summary\"><table><tr><th>tool</th><td>{} {}</td></tr>\
         <tr><th>scan started</th><td>{}</td></tr><tr><th>host</th><td>{}</td></tr>\
         <tr><th>completed</th><td>{completed}</td></tr><tr><th>evidence</th><td class=\"mono\">{}</td></tr>\
         <tr><th>cluster radius</th><td>PDQ {} (match radius {})</td></tr></table>",
        escape(&h.tool),
        escape(&h.version),
        escape(&h.start_time),
        escape(h.host.as_deref().unwrap_or("-")),
        h.evidence_roots.iter().map(|r| escape(r)).collect::<Vec<_>>().join("<br>"),
        review.cluster_radius,
        h.options.pdq_radius,
    );
    s.push_str("<table><tr><th>entries</th><td data-count=\"entries\">");
    match &review.footer {
        Some(f) => {
            let _ = write!(s, "{}</td></tr>", f.counts.entries);
            for d in EntryDisposition::ALL {
                let _ = write!(
                    s,
                    "<tr><th>{}</th><td data-count=\"{}\">{}</td></tr>",
                    d.as_str(),
                    d.as_str(),
                    f.counts.get(d)
                );
            }
            if let Some(c) = f.clusters {
                let _ = write!(s, "<tr><th>clusters (scan)</th><td>{c}</td></tr>");
            }
        }
        None => {
            let _ = write!(s, "{}</td></tr>", review.entries);
        }
    }
    s.push_str("</table><table>");
    for (i, set) in h.reference_sets.iter().enumerate() {
        let _ = write!(
            s,
            "<tr><th>reference set {}</th><td>{} ({})<br><span class=\"mono\">SHA-256 {}</span></td></tr>",
            i + 1,
            escape(&set.path),
            escape(&set.kind),
            escape(&set.sha256)
        );
    }
    if h.reference_sets.is_empty() {
        s.push_str(
            "<tr><th>reference sets</th><td class=\"warn\">none: nothing could match</td></tr>",
        );
    }
    s.push_str("</table></div>");
    let t = &review.triage;
    let _ = write!(
        s,
        "<div class=\"triage\" id=\"triage\">Pictures to review: <span data-count=\"to_review\">{}</span> of \
         <span data-count=\"pictures\">{}</span> ({:.1}%) — {} alerts to confirm + {} unknown \
         clusters and single pictures ({} unknown pictures)</div>",
        t.to_review,
        t.pictures,
        t.percent(),
        t.alerts,
        t.unknown_units,
        t.unknown_pictures
    );
    s
}

/// Writes `index.html` for `review` with its thumbnails (one per item).
pub fn write(review: &Review, thumbs: &[Thumb], path: &Path) -> io::Result<()> {
    let script_hash =
        base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(JS.as_bytes()));
    let mut out = io::BufWriter::new(std::fs::File::create(path)?);
    write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src 'self' file: data:; style-src 'unsafe-inline'; script-src 'sha256-{script_hash}'\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <title>mediahash review</title>\n<style>{CSS}</style></head>\n<body>\n\
         <header><h1>mediahash review</h1>{}</header>\n<nav></nav>\n<main><div id=\"list\"></div></main>\n\
         <pre id=\"selftest\"></pre>\n<script type=\"application/json\" id=\"mh-data\">",
        summary_html(review)
    )?;
    write_data(&mut out, review, thumbs)?;
    write!(out, "</script>\n<script>{JS}</script>\n</body></html>\n")?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(escape("<script>\"'&"), "&lt;script&gt;&quot;&#39;&amp;");
        assert_eq!(display_bytes(b"a\xffb\\c\n"), "a\\xffb\\\\c\\u{a}");
        assert_eq!(display_bytes("é.jpg".as_bytes()), "é.jpg");
        let v = json!({"p": "</script><script>alert(1)</script>&"});
        let s = script_json(&v);
        assert!(!s.contains('<') && !s.contains('>') && !s.contains('&'));
        assert_eq!(serde_json::from_str::<Value>(&s).unwrap(), v);
    }
}
