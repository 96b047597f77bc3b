//! Project VIC VICS JSON, streamed.
//!
//! The document is one JSON object, `{"@odata.context" | "odata.metadata": "...",
//! "value": [...]}`, that can be gigabytes long. It is parsed with serde visitors over a
//! reader: each element of `value` is handled as it is read, and only one Media entry's
//! fields are held at a time. Elements are either Media entries (hash-set shape, `#Media`) or
//! Cases whose `Media` array holds the entries (`#Cases`); an element is taken for a Case
//! when it has a `Media` key, so the shape is known even if the context comes last.
//!
//! Per-entry problems (a field of the wrong JSON type, a malformed hash, no hash at all)
//! make that entry a bad record; the rest of the file is still read. Invalid or truncated
//! JSON stops the import with its line and column.
//!
//! Field rules, from formats.md §2: MD5 / SHA1 hex of either case; PhotoDNA as 192 base64
//! characters (144 bytes) or 288 hex; 1.3 `AlternativeHashes[{HashName, HashValue}]`
//! (PhotoDNA, SHA256, PDQ, MD5, SHA1 read; others counted and ignored); booleans as JSON
//! booleans or the strings "true"/"false"; MediaID, MediaSize and Category as numbers or
//! strings. The category is kept raw, with the profile of the 2.0 context URL.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, BufRead, Read};
use std::rc::Rc;

use base64::Engine;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::{ImportError, Progress, parse_digest};
use crate::refset::{EntryMeta, HashKind, HashValue, Record};

/// What the `@odata.context` / `odata.metadata` URL declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VicsContext {
    /// Data-model version, e.g. "1.3" or "2.0".
    pub version: String,
    /// 2.0 profile segment ("Default", "US", "UK", "CUSTOM"...).
    pub profile: Option<String>,
    /// "Media" or "Cases" (after `#`), as written; `None` when the URL has no `#`.
    pub shape: Option<String>,
    /// The URL verbatim, kept as the source's description in the provenance.
    pub raw: String,
}

/// Parses a VICS context URL such as
/// `http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/US/$metadata#Media`.
/// Case-insensitive in the fixed parts. The error (a message for the examiner) says why the
/// URL is not a Project VIC data-model URL or its version is not `<major>.<minor>`.
///
/// ```
/// let url = "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/US/$metadata#Media";
/// let context = mediahash::import::vics::parse_context(url).unwrap();
/// assert_eq!(context.version, "2.0");
/// assert_eq!(context.profile.as_deref(), Some("US"));
/// assert_eq!(context.shape.as_deref(), Some("Media"));
/// assert!(mediahash::import::vics::parse_context("http://example.org/$metadata").is_err());
/// ```
pub fn parse_context(url: &str) -> Result<VicsContext, String> {
    let lower = url.to_ascii_lowercase();
    let not_vics = || {
        format!(
            "{url:?} is not a Project VIC data-model URL (expected \
             .../ProjectVic/DataModels/<version>.xml...)"
        )
    };
    if !lower.contains("projectvic") {
        return Err(not_vics());
    }
    let start = lower.find("/datamodels/").ok_or_else(not_vics)? + "/datamodels/".len();
    let rest = &url[start..];
    let xml = rest.to_ascii_lowercase().find(".xml").ok_or_else(not_vics)?;
    let version = &rest[..xml];
    let valid_version = version.split('.').count() == 2
        && version.split('.').all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if !valid_version {
        return Err(format!("{url:?}: data-model version {version:?} is not like 1.3 or 2.0"));
    }
    let after = &rest[xml + 4..];
    let (path, shape) = match after.split_once('#') {
        Some((path, shape)) => (path, Some(shape.to_string())),
        None => (after, None),
    };
    let profile = path
        .strip_prefix('/')
        .and_then(|p| p.split('/').next())
        .filter(|p| !p.is_empty() && !p.starts_with('$'))
        .map(str::to_string);
    Ok(VicsContext { version: version.to_string(), profile, shape, raw: url.to_string() })
}

/// Counts newlines as serde_json reads (it reads byte by byte), so entries can be reported
/// by line.
struct LineCounting<R> {
    inner: R,
    line: Rc<Cell<u64>>,
}

impl<R: Read> Read for LineCounting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let newlines = buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
        if newlines > 0 {
            self.line.set(self.line.get() + newlines);
        }
        Ok(n)
    }
}

/// State shared by the visitors.
struct Import<'p, 's, 'k> {
    progress: RefCell<&'p mut Progress<'s, 'k>>,
    /// The error that stopped the parse (sink, strict mode, schema), returned instead of
    /// serde's stand-in.
    failure: RefCell<Option<ImportError>>,
    line: Rc<Cell<u64>>,
    context: RefCell<Option<VicsContext>>,
    entries_before_context: Cell<u64>,
    saw_value: Cell<bool>,
    ignored_hash_names: RefCell<BTreeMap<String, u64>>,
}

impl Import<'_, '_, '_> {
    fn fail<E: de::Error>(&self, error: ImportError) -> E {
        let message = error.to_string();
        self.failure.borrow_mut().get_or_insert(error);
        E::custom(message)
    }

    fn schema_error<E: de::Error>(&self, what: String) -> E {
        let error = self.progress.borrow().wrong_schema(what);
        self.fail(error)
    }

    fn line_now(&self) -> u64 {
        self.line.get() + 1
    }

    fn bad<E: de::Error>(&self, line: u64, reason: String) -> Result<(), E> {
        let result = self.progress.borrow_mut().bad(line, reason);
        result.map_err(|e| self.fail(e))
    }

    /// Turns one Media entry into a record, or a bad record.
    fn media<E: de::Error>(&self, line: u64, fields: MediaFields) -> Result<(), E> {
        let context = self.context.borrow();
        if context.is_none() {
            self.entries_before_context.set(self.entries_before_context.get() + 1);
        }
        let profile = context.as_ref().and_then(|c| c.profile.clone());
        drop(context);
        let mut ignored = Vec::new();
        match media_record(fields, profile, &mut ignored) {
            Ok(record) => {
                for name in ignored {
                    let mut names = self.ignored_hash_names.borrow_mut();
                    // Bounded: hostile files could invent a name per entry.
                    if names.len() < 32 || names.contains_key(&name) {
                        *names.entry(name).or_default() += 1;
                    }
                }
                let result = self.progress.borrow_mut().emit(record);
                result.map_err(|e| self.fail(e))
            }
            Err(reason) => self.bad(line, format!("Media entry at line {line}: {reason}")),
        }
    }
}

/// The Media fields mediahash reads, as raw JSON values (one entry's worth).
#[derive(Default)]
struct MediaFields {
    md5: Option<Value>,
    sha1: Option<Value>,
    sha256: Option<Value>,
    photodna: Option<Value>,
    alternative_hashes: Option<Value>,
    category: Option<Value>,
    media_id: Option<Value>,
    media_size: Option<Value>,
    victim_identified: Option<Value>,
    offender_identified: Option<Value>,
    series: Option<Value>,
    name: Option<Value>,
    media_files: Option<Value>,
    tags: Option<Value>,
}

#[derive(Clone, Copy)]
enum Field {
    Md5,
    Sha1,
    Sha256,
    PhotoDna,
    AlternativeHashes,
    Category,
    MediaId,
    MediaSize,
    VictimIdentified,
    OffenderIdentified,
    Series,
    Name,
    MediaFiles,
    Tags,
    /// A case's Media array.
    Media,
}

fn field_of(key: &str) -> Option<Field> {
    Some(match key.to_ascii_lowercase().as_str() {
        "md5" => Field::Md5,
        "sha1" => Field::Sha1,
        "sha256" => Field::Sha256,
        "photodna" => Field::PhotoDna,
        "alternativehashes" => Field::AlternativeHashes,
        "category" => Field::Category,
        "mediaid" => Field::MediaId,
        "mediasize" => Field::MediaSize,
        "victimidentified" => Field::VictimIdentified,
        "offenderidentified" => Field::OffenderIdentified,
        "series" => Field::Series,
        "name" => Field::Name,
        "mediafiles" => Field::MediaFiles,
        "tags" => Field::Tags,
        "media" => Field::Media,
        _ => return None,
    })
}

impl MediaFields {
    fn slot(&mut self, field: Field) -> Option<&mut Option<Value>> {
        Some(match field {
            Field::Md5 => &mut self.md5,
            Field::Sha1 => &mut self.sha1,
            Field::Sha256 => &mut self.sha256,
            Field::PhotoDna => &mut self.photodna,
            Field::AlternativeHashes => &mut self.alternative_hashes,
            Field::Category => &mut self.category,
            Field::MediaId => &mut self.media_id,
            Field::MediaSize => &mut self.media_size,
            Field::VictimIdentified => &mut self.victim_identified,
            Field::OffenderIdentified => &mut self.offender_identified,
            Field::Series => &mut self.series,
            Field::Name => &mut self.name,
            Field::MediaFiles => &mut self.media_files,
            Field::Tags => &mut self.tags,
            Field::Media => return None,
        })
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A string field; null and "" are absent.
fn opt_str<'v>(value: &'v Option<Value>, field: &str) -> Result<Option<&'v str>, String> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim())),
        Some(other) => Err(format!("{field} is {}, expected a string", type_name(other))),
    }
}

/// An identifier or code given as a whole number or a string.
fn opt_code(value: &Option<Value>, field: &str) -> Result<Option<String>, String> {
    match value {
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => Ok(Some(n.to_string())),
        Some(Value::Number(n)) => Err(format!("{field} {n} is not a whole number")),
        other => Ok(opt_str(other, field)?.map(str::to_string)),
    }
}

fn opt_size(value: &Option<Value>) -> Result<Option<u64>, String> {
    match value {
        Some(Value::Number(n)) => {
            n.as_u64().map(Some).ok_or_else(|| format!("MediaSize {n} is not a byte count"))
        }
        other => match opt_str(other, "MediaSize")? {
            None => Ok(None),
            Some(s) => {
                s.parse().map(Some).map_err(|_| format!("MediaSize {s:?} is not a byte count"))
            }
        },
    }
}

/// A flag as a JSON boolean or the strings "true" / "false" (any case).
fn opt_flag(value: &Option<Value>, field: &str) -> Result<Option<bool>, String> {
    match value {
        Some(Value::Bool(b)) => Ok(Some(*b)),
        other => match opt_str(other, field)? {
            None => Ok(None),
            Some(s) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(s) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(s) => Err(format!("{field} {s:?} is neither true nor false")),
        },
    }
}

/// Decodes a PhotoDNA hash (144 bytes) from 192 base64 characters or 288 hex characters
/// (surrounding white space ignored). The error says which form was expected and what was
/// found. Boxed because 144 bytes are large to move around by value.
pub fn parse_photodna(text: &str) -> Result<Box<[u8; 144]>, String> {
    let text = text.trim();
    let bytes = if text.len() == 288 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        crate::hex::decode_vec(text).map_err(|e| format!("PhotoDNA hex: {e}"))?
    } else {
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(|e| format!("PhotoDNA is not base64 ({e})"))?
    };
    let len = bytes.len();
    let array: [u8; 144] = bytes.try_into().map_err(|_| {
        format!("PhotoDNA is {len} bytes, expected 144 (192 base64 or 288 hex characters)")
    })?;
    Ok(Box::new(array))
}

fn push_unique(hashes: &mut Vec<HashValue>, value: HashValue) {
    if !hashes.contains(&value) {
        hashes.push(value);
    }
}

fn hex_hash(
    value: &Option<Value>,
    field: &str,
    kind: HashKind,
) -> Result<Option<HashValue>, String> {
    match opt_str(value, field)? {
        None => Ok(None),
        Some(text) => parse_digest(kind, text.as_bytes()).map(Some),
    }
}

/// Builds the record of one Media entry. Names of alternative hashes that are not read are
/// pushed to `ignored`.
fn media_record(
    fields: MediaFields,
    profile: Option<String>,
    ignored: &mut Vec<String>,
) -> Result<Record, String> {
    let mut hashes = Vec::new();
    for (value, field, kind) in [
        (&fields.md5, "MD5", HashKind::Md5),
        (&fields.sha1, "SHA1", HashKind::Sha1),
        (&fields.sha256, "SHA256", HashKind::Sha256),
    ] {
        if let Some(hash) = hex_hash(value, field, kind)? {
            hashes.push(hash);
        }
    }
    if let Some(text) = opt_str(&fields.photodna, "PhotoDNA")? {
        hashes.push(HashValue::PhotoDna(parse_photodna(text)?));
    }
    match &fields.alternative_hashes {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for item in items {
                let Value::Object(map) = item else {
                    return Err(format!(
                        "an AlternativeHashes item is {}, expected an object",
                        type_name(item)
                    ));
                };
                let get = |key: &str| {
                    map.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v.clone())
                };
                let (name_value, hash_value) = (get("HashName"), get("HashValue"));
                let Some(name) = opt_str(&name_value, "HashName")? else {
                    return Err("an AlternativeHashes item has no HashName".into());
                };
                let Some(text) = opt_str(&hash_value, "HashValue")? else {
                    continue;
                };
                let normalised: String = name
                    .chars()
                    .filter(|c| !matches!(c, '-' | '_' | ' '))
                    .collect::<String>()
                    .to_ascii_lowercase();
                let value = match normalised.as_str() {
                    "photodna" => HashValue::PhotoDna(parse_photodna(text)?),
                    "md5" => parse_digest(HashKind::Md5, text.as_bytes())?,
                    "sha1" => parse_digest(HashKind::Sha1, text.as_bytes())?,
                    "sha256" => parse_digest(HashKind::Sha256, text.as_bytes())?,
                    "pdq" => parse_digest(HashKind::Pdq, text.as_bytes())?,
                    _ => {
                        ignored.push(name.to_string());
                        continue;
                    }
                };
                push_unique(&mut hashes, value);
            }
        }
        Some(other) => {
            return Err(format!("AlternativeHashes is {}, expected an array", type_name(other)));
        }
    }
    let meta = EntryMeta {
        category: opt_code(&fields.category, "Category")?,
        profile,
        victim_identified: opt_flag(&fields.victim_identified, "VictimIdentified")?,
        offender_identified: opt_flag(&fields.offender_identified, "OffenderIdentified")?,
        series: opt_code(&fields.series, "Series")?,
        source_id: opt_code(&fields.media_id, "MediaID")?,
        file_name: match opt_str(&fields.name, "Name")? {
            Some(name) => Some(name.as_bytes().to_vec()),
            None => first_media_file_name(&fields.media_files),
        },
        file_size: opt_size(&fields.media_size)?,
        note: opt_str(&fields.tags, "Tags")?.map(|t| format!("Tags: {t}")),
    };
    if hashes.is_empty() {
        return Err("no MD5, SHA1, PhotoDNA or other usable hash".into());
    }
    Ok(Record { hashes, meta })
}

/// The first `MediaFiles[].FileName`, if well formed (the array is otherwise not used).
fn first_media_file_name(media_files: &Option<Value>) -> Option<Vec<u8>> {
    let Some(Value::Array(files)) = media_files else { return None };
    files.iter().find_map(|file| {
        let name = file.as_object()?.iter().find(|(k, _)| k.eq_ignore_ascii_case("FileName"))?;
        name.1.as_str().filter(|s| !s.is_empty()).map(|s| s.as_bytes().to_vec())
    })
}

// ---- serde visitors ----

struct Document<'i, 'p, 's, 'k>(&'i Import<'p, 's, 'k>);

impl<'de> DeserializeSeed<'de> for Document<'_, '_, '_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Document<'_, '_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "a VICS JSON object with \"@odata.context\" (or \"odata.metadata\") and \"value\"",
        )
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let import = self.0;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "@odata.context" | "odata.metadata" => {
                    let value: Value = map.next_value()?;
                    let Value::String(url) = value else {
                        return Err(import.schema_error(format!(
                            "\"{key}\" is {}, expected the data-model URL string",
                            type_name(&value)
                        )));
                    };
                    let context = parse_context(&url).map_err(|why| import.schema_error(why))?;
                    *import.context.borrow_mut() = Some(context);
                }
                "value" => {
                    import.saw_value.set(true);
                    map.next_value_seed(ValueArray(import))?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

struct ValueArray<'i, 'p, 's, 'k>(&'i Import<'p, 's, 'k>);

impl<'de> DeserializeSeed<'de> for ValueArray<'_, '_, '_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ValueArray<'_, '_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"value\" as an array of Media entries or Cases")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Element { import: self.0, in_case: false })?.is_some() {}
        Ok(())
    }
}

/// One element of `value` (Media or Case), or of a Case's `Media` array (`in_case`).
struct Element<'i, 'p, 's, 'k> {
    import: &'i Import<'p, 's, 'k>,
    in_case: bool,
}

impl Element<'_, '_, '_, '_> {
    fn not_object<E: de::Error>(&self, what: &str) -> Result<(), E> {
        let line = self.import.line_now();
        self.import.bad(line, format!("entry at line {line} is {what}, not a Media object"))
    }
}

impl<'de> DeserializeSeed<'de> for Element<'_, '_, '_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Element<'_, '_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Media or Case object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let import = self.import;
        let line = import.line_now();
        let mut fields = MediaFields::default();
        let mut is_case = false;
        while let Some(key) = map.next_key::<String>()? {
            match field_of(&key) {
                Some(Field::Media) if !self.in_case => {
                    is_case = true;
                    map.next_value_seed(CaseMedia(import))?;
                }
                Some(field) => match fields.slot(field) {
                    Some(slot) => *slot = Some(map.next_value::<Value>()?),
                    None => {
                        map.next_value::<IgnoredAny>()?;
                    }
                },
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if is_case { Ok(()) } else { import.media(line, fields) }
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        self.not_object("an array")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.not_object("a boolean")
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.not_object("a number")
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.not_object("a number")
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.not_object("a number")
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.not_object("a string")
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.not_object("null")
    }
}

/// A Case's `Media` array.
struct CaseMedia<'i, 'p, 's, 'k>(&'i Import<'p, 's, 'k>);

impl<'de> DeserializeSeed<'de> for CaseMedia<'_, '_, '_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl CaseMedia<'_, '_, '_, '_> {
    fn not_array<E: de::Error>(&self, what: &str) -> Result<(), E> {
        let line = self.0.line_now();
        self.0.bad(line, format!("Case at line {line}: Media is {what}, not an array"))
    }
}

impl<'de> Visitor<'de> for CaseMedia<'_, '_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Case's Media array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Element { import: self.0, in_case: true })?.is_some() {}
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        self.not_array("an object")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.not_array("a boolean")
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.not_array("a number")
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.not_array("a number")
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.not_array("a number")
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.not_array("a string")
    }
}

/// Imports a VICS JSON document from `input` (a UTF-8 BOM is skipped).
pub(crate) fn import<R: BufRead + ?Sized>(
    input: &mut R,
    progress: &mut Progress<'_, '_>,
) -> Result<(), ImportError> {
    let head = input.fill_buf().map_err(|e| progress.io_error(e))?;
    if head.starts_with(super::UTF8_BOM) {
        input.consume(super::UTF8_BOM.len());
    }
    let name = progress.name.clone();
    let line = Rc::new(Cell::new(0));
    let import = Import {
        progress: RefCell::new(progress),
        failure: RefCell::new(None),
        line: Rc::clone(&line),
        context: RefCell::new(None),
        entries_before_context: Cell::new(0),
        saw_value: Cell::new(false),
        ignored_hash_names: RefCell::new(BTreeMap::new()),
    };
    let reader = LineCounting { inner: &mut *input, line };
    let mut deserializer = serde_json::Deserializer::from_reader(reader);
    let parsed = Document(&import).deserialize(&mut deserializer).and_then(|()| deserializer.end());
    if let Some(failure) = import.failure.borrow_mut().take() {
        return Err(failure);
    }
    if let Err(error) = parsed {
        return Err(json_error(&name, error, &import));
    }
    let Import { progress, context, entries_before_context, saw_value, ignored_hash_names, .. } =
        import;
    let progress = progress.into_inner();
    let Some(context) = context.into_inner() else {
        return Err(progress.wrong_schema(
            "no \"@odata.context\" (VICS 2.0) or \"odata.metadata\" (VICS 1.x) key",
        ));
    };
    if !saw_value.get() {
        return Err(progress.wrong_schema("no \"value\" array of Media entries or Cases"));
    }
    let summary = progress.summary_mut();
    summary.format_label = format!("vics-json-{}", context.version);
    summary.source_version = Some(context.version.clone());
    if let Some(profile) = &context.profile {
        summary.notes.push(format!("VICS profile {profile}"));
    }
    if let Some(shape) = &context.shape {
        summary.notes.push(format!("VICS shape #{shape}"));
    }
    if entries_before_context.get() > 0 {
        summary.notes.push(format!(
            "{} entries came before the context URL and carry no profile",
            entries_before_context.get()
        ));
    }
    for (name, count) in ignored_hash_names.into_inner() {
        summary.notes.push(format!("ignored {count} AlternativeHashes values named {name:?}"));
    }
    summary.source_description = Some(context.raw);
    Ok(())
}

fn json_error(name: &str, error: serde_json::Error, import: &Import<'_, '_, '_>) -> ImportError {
    use serde_json::error::Category;
    let (line, column) = (error.line(), error.column());
    match error.classify() {
        Category::Io => ImportError::io(name, io::Error::from(error)),
        Category::Eof => ImportError::Json {
            path: name.to_string(),
            line,
            column,
            message: "the JSON ends early (truncated file?)".into(),
        },
        Category::Syntax => {
            ImportError::Json { path: name.to_string(), line, column, message: error.to_string() }
        }
        Category::Data => {
            import.progress.borrow().wrong_schema(format!("line {line}, column {column}: {error}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contexts() {
        let c = parse_context(
            "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/US/$metadata#Cases",
        )
        .unwrap();
        assert_eq!(c.version, "2.0");
        assert_eq!(c.profile.as_deref(), Some("US"));
        assert_eq!(c.shape.as_deref(), Some("Cases"));
        let c =
            parse_context("http://github.com/ICMEC/ProjectVic/DataModels/1.3.xml#Media").unwrap();
        assert_eq!(
            (c.version.as_str(), c.profile, c.shape.as_deref()),
            ("1.3", None, Some("Media"))
        );
        let other = parse_context("http://example.org/$metadata#Media").unwrap_err();
        assert!(other.contains("is not a Project VIC data-model URL"), "{other}");
        let version =
            parse_context("http://github.com/ICMEC/ProjectVic/DataModels/x.xml#Media").unwrap_err();
        assert!(version.contains("data-model version \"x\" is not like 1.3 or 2.0"), "{version}");
    }

    #[test]
    fn photodna_forms() {
        let bytes: Vec<u8> = (0..144u8).collect();
        let b64 = base64::engine::general_purpose::STANDARD.encode(&bytes);
        assert_eq!(b64.len(), 192);
        assert_eq!(&parse_photodna(&b64).unwrap()[..], &bytes[..]);
        assert_eq!(&parse_photodna(&crate::hex::encode(&bytes)).unwrap()[..], &bytes[..]);
        assert!(parse_photodna(&b64[..188]).unwrap_err().contains("141 bytes"));
        let not_base64 = parse_photodna("not base64!").unwrap_err();
        assert!(not_base64.starts_with("PhotoDNA is not base64 ("), "{not_base64}");
    }

    #[test]
    fn flags_and_codes() {
        let v = |j: &str| Some(serde_json::from_str::<Value>(j).unwrap());
        assert_eq!(opt_flag(&v("\"TRUE\""), "f"), Ok(Some(true)));
        assert_eq!(opt_flag(&v("false"), "f"), Ok(Some(false)));
        assert_eq!(opt_flag(&v("null"), "f"), Ok(None));
        assert_eq!(opt_flag(&v("1"), "f"), Err("f is a number, expected a string".into()));
        assert_eq!(opt_code(&v("7"), "c"), Ok(Some("7".into())));
        assert_eq!(opt_code(&v("\"7\""), "c"), Ok(Some("7".into())));
        assert_eq!(opt_code(&v("1.5"), "c"), Err("c 1.5 is not a whole number".into()));
        assert_eq!(opt_size(&v("\"12\"")), Ok(Some(12)));
        assert_eq!(opt_size(&v("-1")), Err("MediaSize -1 is not a byte count".into()));
    }
}
