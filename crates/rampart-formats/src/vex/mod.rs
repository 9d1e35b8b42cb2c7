//! VEX documents (Vulnerability Exploitability eXchange) in OpenVEX 0.2.0, CycloneDX 1.6
//! (JSON and XML) and the CSAF 2.0 VEX profile, over one neutral model, [`VexDocument`].
//!
//! A statement says, for one vulnerability (named by its CVE where one exists, other aliases
//! listed) and some products (releases) and their components, what was decided: a
//! [`Disposition`] in the vocabulary of [`disposition`], whose module documentation holds the
//! mapping table between the three formats and says which values are lossy where.
//!
//! Writers are strict: every statement's disposition must pass [`Disposition::validate`],
//! and the output passes each format's own schema (tests run the schemas and, for CSAF, the
//! BSI validator's mandatory tests). Readers are tolerant: real documents from vendors
//! (Red Hat CSAF, OpenVEX v0.0.1, CycloneDX examples) are read, quirks become
//! [`VexRead::warnings`], and every part that cannot be used is listed in
//! [`VexRead::skipped`] with its reason. A document that is not one of the formats at all
//! is an error naming where it went wrong (JSON pointer, or line and column for XML).
//!
//! ```
//! use rampart_formats::vex::{read, write, VexFormat};
//!
//! let openvex = br#"{"@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://example.com/vex/1",
//!   "author": "Example PSIRT", "timestamp": "2024-01-02T03:04:05Z", "version": 1,
//!   "statements": [{"vulnerability": {"name": "CVE-2021-44228"},
//!     "products": [{"@id": "pkg:maven/com.example/app@1.0"}],
//!     "status": "not_affected", "justification": "vulnerable_code_not_in_execute_path"}]}"#;
//! let read = read(openvex).unwrap();
//! assert_eq!(read.format, VexFormat::OpenVex);
//! let written = write(&read.document, VexFormat::OpenVex).unwrap();
//! let again = rampart_formats::vex::read(&written).unwrap();
//! assert_eq!(again.document.statements[0].disposition, read.document.statements[0].disposition);
//! ```

pub mod csaf;
pub mod cyclonedx;
pub mod disposition;
mod json_walk;
pub mod openvex;

#[cfg(test)]
mod corpus_tests;
#[cfg(test)]
mod roundtrip_tests;
#[cfg(test)]
pub(crate) mod schema_tests;
#[cfg(test)]
pub(crate) mod test_documents;
#[cfg(test)]
mod throughput_tests;

use std::collections::HashSet;
use std::fmt;

use chrono::{DateTime, Utc};

use crate::sbom::write_located;

pub use crate::sbom::ErrorLocation;
pub use disposition::{
    Disposition, DispositionError, DispositionState, Justification, Response, UnknownValue,
};

/// The VEX formats Rampart reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VexFormat {
    OpenVex,
    CycloneDxJson,
    CycloneDxXml,
    Csaf,
}

impl VexFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            VexFormat::OpenVex => "openvex",
            VexFormat::CycloneDxJson => "cyclonedx-json",
            VexFormat::CycloneDxXml => "cyclonedx-xml",
            VexFormat::Csaf => "csaf",
        }
    }
}

impl fmt::Display for VexFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One VEX document, whatever format it came in or goes out as.
#[derive(Debug, Clone, PartialEq)]
pub struct VexDocument {
    pub metadata: DocumentMetadata,
    /// The releases the document speaks about. `key`s are unique within the document.
    pub products: Vec<Subject>,
    /// Components of those releases that statements name. `key`s are unique, and distinct
    /// from product keys.
    pub components: Vec<Subject>,
    pub statements: Vec<Statement>,
}

/// Who issued a document, which revision it is and when.
#[derive(Debug, Clone, PartialEq)]
pub struct DocumentMetadata {
    /// OpenVEX `@id` (an IRI), CSAF `tracking.id`; CycloneDX derives its `serialNumber` from it.
    pub id: String,
    /// 1 for the first version; a regenerated document gets the next one.
    pub version: u32,
    pub title: Option<String>,
    pub author: Author,
    /// First release of the document (CSAF `initial_release_date`, OpenVEX `timestamp`).
    pub created: DateTime<Utc>,
    /// This version's release (CSAF `current_release_date`, OpenVEX `last_updated`).
    pub last_updated: DateTime<Utc>,
    pub status: DocumentStatus,
    /// Oldest first; the writer adds the current version when it is missing.
    pub revision_history: Vec<Revision>,
    /// CycloneDX `urn:uuid:` serial number, the same for every version of a document.
    /// `None`: derived from `id` (a name-based UUID), so it stays stable anyway.
    pub serial_number: Option<String>,
}

/// The issuer: OpenVEX `author`, CSAF `publisher`, CycloneDX `metadata.manufacturer`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Author {
    pub name: String,
    /// An URL naming the issuer's organisation (CSAF `publisher.namespace`).
    pub namespace: Option<String>,
    /// OpenVEX `role`.
    pub role: Option<String>,
}

/// CSAF `tracking.status`; OpenVEX and CycloneDX have no equivalent and write none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentStatus {
    Draft,
    Interim,
    Final,
}

impl DocumentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentStatus::Draft => "draft",
            DocumentStatus::Interim => "interim",
            DocumentStatus::Final => "final",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revision {
    pub version: u32,
    pub date: DateTime<Utc>,
    pub summary: String,
}

/// A product release or a component, as identified in a document.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Subject {
    /// What statements use to refer to it: CycloneDX `bom-ref`, CSAF `product_id`.
    pub key: String,
    pub name: String,
    /// The product's vendor (CSAF `vendor` branch); components usually have none.
    pub vendor: Option<String>,
    pub version: Option<String>,
    pub purl: Option<String>,
    /// CPE 2.3 (or 2.2 as read).
    pub cpe: Option<String>,
}

/// A vulnerability named by its primary id (the CVE where one exists) and its other ids.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Vulnerability {
    pub id: String,
    pub aliases: Vec<String>,
}

impl Vulnerability {
    /// Names a vulnerability by its ids: a CVE id (the smallest, if several) becomes the
    /// primary id, the others aliases (sorted, without repeats). `None` when `ids` is empty.
    pub fn from_ids<I, S>(ids: I) -> Option<Vulnerability>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut ids: Vec<String> = ids
            .into_iter()
            .map(Into::into)
            .map(|id| id.trim().to_string())
            .filter(|id| !id.is_empty())
            .collect();
        ids.sort();
        ids.dedup();
        let primary = ids.iter().position(|id| is_cve(id)).unwrap_or(0);
        if ids.is_empty() {
            return None;
        }
        let id = ids.remove(primary);
        Some(Vulnerability { id, aliases: ids })
    }

    /// The CVE id among the primary id and aliases, if any.
    pub fn cve(&self) -> Option<&str> {
        std::iter::once(&self.id)
            .chain(&self.aliases)
            .map(String::as_str)
            .find(|id| is_cve(id))
    }
}

/// `CVE-YYYY-NNNN…` as the CSAF schema's `cve` pattern wants it.
pub(crate) fn is_cve(id: &str) -> bool {
    let Some(rest) = id.strip_prefix("CVE-") else {
        return false;
    };
    let mut parts = rest.splitn(2, '-');
    let year = parts.next().unwrap_or("");
    let number = parts.next().unwrap_or("");
    year.len() == 4
        && year.bytes().all(|b| b.is_ascii_digit())
        && number.len() >= 4
        && number.bytes().all(|b| b.is_ascii_digit())
}

/// One decision: a vulnerability × products × their components → a disposition.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub vulnerability: Vulnerability,
    /// Keys of [`VexDocument::products`]; at least one in a writable document.
    pub products: Vec<String>,
    /// Keys of [`VexDocument::components`]: the parts of those products the decision is
    /// about. Empty: the products themselves.
    pub components: Vec<String>,
    pub disposition: Disposition,
    /// When the decision was made, if the format says.
    pub timestamp: Option<DateTime<Utc>>,
}

/// What a reader made of a document.
#[derive(Debug, Clone, PartialEq)]
pub struct VexRead {
    pub format: VexFormat,
    pub document: VexDocument,
    /// Quirks that were tolerated, and where.
    pub warnings: Vec<VexNote>,
    /// Parts that could not be used (statements, products, ...), each with its reason.
    pub skipped: Vec<VexNote>,
}

/// A located message about part of a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VexNote {
    pub location: Option<ErrorLocation>,
    pub message: String,
}

impl fmt::Display for VexNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_located(f, self.location.as_ref(), &self.message)
    }
}

/// Why a document could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VexError {
    pub location: Option<ErrorLocation>,
    pub message: String,
}

impl VexError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        VexError {
            location: None,
            message: message.into(),
        }
    }

    pub(crate) fn at_pointer(pointer: impl Into<String>, message: impl Into<String>) -> Self {
        VexError {
            location: Some(ErrorLocation::JsonPointer(pointer.into())),
            message: message.into(),
        }
    }
}

impl fmt::Display for VexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_located(f, self.location.as_ref(), &self.message)
    }
}

impl std::error::Error for VexError {}

/// Most warnings and skipped parts kept per list: a hostile document could otherwise repeat
/// a quirk millions of times. The last kept note says how many more there were.
pub const MAX_NOTES: usize = 100;

/// Collects located notes up to [`MAX_NOTES`], counting the rest.
#[derive(Debug, Default)]
pub(crate) struct Notes {
    kept: Vec<VexNote>,
    dropped: usize,
}

impl Notes {
    pub(crate) fn push(&mut self, location: Option<ErrorLocation>, message: impl Into<String>) {
        if self.kept.len() < MAX_NOTES - 1 {
            self.kept.push(VexNote {
                location,
                message: message.into(),
            });
        } else {
            self.dropped += 1;
        }
    }

    pub(crate) fn at(&mut self, pointer: &str, message: impl Into<String>) {
        self.push(
            Some(ErrorLocation::JsonPointer(pointer.to_string())),
            message,
        );
    }

    pub(crate) fn finish(mut self) -> Vec<VexNote> {
        if self.dropped > 0 {
            self.kept.push(VexNote {
                location: None,
                message: format!("{} more not listed", self.dropped),
            });
        }
        self.kept
    }
}

/// Recognises the format of a VEX document from its first bytes and top-level keys.
pub fn detect(bytes: &[u8]) -> Option<VexFormat> {
    let text = std::str::from_utf8(bytes).ok()?;
    let start = text.trim_start_matches('\u{feff}').trim_start();
    if start.starts_with('<') {
        return Some(VexFormat::CycloneDxXml);
    }
    if !start.starts_with('{') {
        return None;
    }
    TopLevel::read(start)?.format()
}

/// The format of the VEX statements an SBOM carries (a CycloneDX BOM with a non-empty
/// `vulnerabilities` list), or `None` when it carries none. Cheap on a large SBOM without
/// them: the JSON is scanned without being built, the XML searched for the element's name.
pub fn embedded_vex_format(bytes: &[u8]) -> Option<VexFormat> {
    let text = std::str::from_utf8(bytes).ok()?;
    let start = text.trim_start_matches('\u{feff}').trim_start();
    if start.starts_with('<') {
        return start
            .contains("vulnerabilities")
            .then_some(VexFormat::CycloneDxXml);
    }
    let top = TopLevel::read(start)?;
    (top.format()? == VexFormat::CycloneDxJson && top.vulnerabilities > 0)
        .then_some(VexFormat::CycloneDxJson)
}

/// What format detection needs of a JSON document: its top-level keys, and how many entries
/// its `vulnerabilities` array has; read without building the document.
#[derive(Default)]
struct TopLevel {
    keys: HashSet<String>,
    vulnerabilities: usize,
}

impl TopLevel {
    fn read(text: &str) -> Option<TopLevel> {
        serde_json::from_str(text).ok()
    }

    fn format(&self) -> Option<VexFormat> {
        let has = |key: &str| self.keys.contains(key);
        if has("bomFormat") {
            Some(VexFormat::CycloneDxJson)
        } else if has("document") {
            Some(VexFormat::Csaf)
        } else if has("@context") || has("statements") {
            Some(VexFormat::OpenVex)
        } else {
            None
        }
    }
}

impl<'de> serde::Deserialize<'de> for TopLevel {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Keys;
        impl<'de> serde::de::Visitor<'de> for Keys {
            type Value = TopLevel;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<TopLevel, A::Error> {
                let mut top = TopLevel::default();
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    if key == "vulnerabilities" {
                        top.vulnerabilities = map.next_value::<Entries>()?.0;
                    } else {
                        map.next_value::<serde::de::IgnoredAny>()?;
                    }
                    top.keys.insert(key.into_owned());
                }
                Ok(top)
            }
        }
        deserializer.deserialize_map(Keys)
    }
}

/// How many entries a JSON value has if it is an array (0 for anything else), read without
/// building them.
struct Entries(usize);

impl<'de> serde::Deserialize<'de> for Entries {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Count;
        impl<'de> serde::de::Visitor<'de> for Count {
            type Value = Entries;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Entries, A::Error> {
                let mut count = 0;
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {
                    count += 1;
                }
                Ok(Entries(count))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Entries, A::Error> {
                while map
                    .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(Entries(0))
            }
            fn visit_unit<E>(self) -> Result<Entries, E> {
                Ok(Entries(0))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Entries, E> {
                Ok(Entries(0))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Entries, E> {
                Ok(Entries(0))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Entries, E> {
                Ok(Entries(0))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Entries, E> {
                Ok(Entries(0))
            }
            fn visit_str<E>(self, _: &str) -> Result<Entries, E> {
                Ok(Entries(0))
            }
        }
        deserializer.deserialize_any(Count)
    }
}

/// Reads a VEX document in any of the formats.
pub fn read(bytes: &[u8]) -> Result<VexRead, VexError> {
    let format = detect(bytes).ok_or_else(|| {
        match std::str::from_utf8(bytes) {
            Err(error) => VexError::new(format!("not UTF-8 text: {error}")),
            Ok(text) => match serde_json::from_str::<serde_json::Value>(text.trim_start_matches('\u{feff}')) {
                Err(error) => json_walk::syntax_error(&error),
                Ok(_) => VexError::at_pointer(
                    "",
                    "not a VEX document: expected OpenVEX (`@context`, `statements`), CycloneDX (`bomFormat`) or CSAF (`document`)",
                ),
            },
        }
    })?;
    read_as(bytes, format)
}

/// Reads a document known to be in `format`.
pub fn read_as(bytes: &[u8], format: VexFormat) -> Result<VexRead, VexError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|error| VexError::new(format!("not UTF-8 text: {error}")))?
        .trim_start_matches('\u{feff}');
    match format {
        VexFormat::OpenVex => openvex::read(text),
        VexFormat::CycloneDxJson => cyclonedx::read_json(text),
        VexFormat::CycloneDxXml => cyclonedx::read_xml(text),
        VexFormat::Csaf => csaf::read(text),
    }
}

/// Writes `document` in `format`.
pub fn write(document: &VexDocument, format: VexFormat) -> Result<Vec<u8>, VexError> {
    match format {
        VexFormat::OpenVex => openvex::write(document),
        VexFormat::CycloneDxJson => cyclonedx::write_json(document, None),
        VexFormat::CycloneDxXml => cyclonedx::write_xml(document, None),
        VexFormat::Csaf => csaf::write(document),
    }
}

impl VexDocument {
    /// Checks what every writer needs: unique keys, statements naming known products and
    /// components, and valid dispositions. The error names the statement and field.
    pub fn check_writable(&self) -> Result<(), VexError> {
        let mut keys = HashSet::new();
        for (list, subjects) in [
            ("products", &self.products),
            ("components", &self.components),
        ] {
            for (index, subject) in subjects.iter().enumerate() {
                if subject.key.is_empty() || !keys.insert(subject.key.as_str()) {
                    return Err(VexError::at_pointer(
                        format!("/{list}/{index}/key"),
                        format!("key `{}` is empty or used twice", subject.key),
                    ));
                }
            }
        }
        let products: HashSet<&str> = self.products.iter().map(|p| p.key.as_str()).collect();
        let components: HashSet<&str> = self.components.iter().map(|c| c.key.as_str()).collect();
        for (index, statement) in self.statements.iter().enumerate() {
            let at = |field: &str| format!("/statements/{index}/{field}");
            if statement.products.is_empty() {
                return Err(VexError::at_pointer(
                    at("products"),
                    "a statement needs a product",
                ));
            }
            if let Some(key) = statement
                .products
                .iter()
                .find(|k| !products.contains(k.as_str()))
            {
                return Err(VexError::at_pointer(
                    at("products"),
                    format!("unknown product `{key}`"),
                ));
            }
            if let Some(key) = statement
                .components
                .iter()
                .find(|k| !components.contains(k.as_str()))
            {
                return Err(VexError::at_pointer(
                    at("components"),
                    format!("unknown component `{key}`"),
                ));
            }
            if statement.vulnerability.id.trim().is_empty() {
                return Err(VexError::at_pointer(
                    at("vulnerability"),
                    "the vulnerability has no id",
                ));
            }
            statement.disposition.validate().map_err(|error| {
                VexError::at_pointer(at(&format!("disposition/{}", error.field)), error.message)
            })?;
        }
        Ok(())
    }

    pub(crate) fn product(&self, key: &str) -> Option<&Subject> {
        self.products.iter().find(|p| p.key == key)
    }

    /// The revision history with the current version present, oldest first.
    pub(crate) fn revisions(&self) -> Vec<Revision> {
        let mut revisions = self.metadata.revision_history.clone();
        if !revisions.iter().any(|r| r.version == self.metadata.version) {
            revisions.push(Revision {
                version: self.metadata.version,
                date: self.metadata.last_updated,
                summary: if self.metadata.version == 1 {
                    "Initial version.".into()
                } else {
                    format!("Version {}.", self.metadata.version)
                },
            });
        }
        revisions.sort_by_key(|r| r.version);
        revisions
    }
}

/// RFC 3339 with seconds and `Z`, as all three formats accept.
pub(crate) fn format_time(time: &DateTime<Utc>) -> String {
    time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Reads an RFC 3339 time leniently (a missing zone is read as UTC, which real
/// documents sometimes omit).
pub(crate) fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Some(time.with_timezone(&Utc));
    }
    chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|naive| naive.and_utc())
}

impl Subject {
    /// A subject known by an identifier (a purl, a CPE or any other IRI): name and version
    /// come from the purl or CPE when there is one, else the identifier is the name.
    pub fn from_identifier(key: &str, purl: Option<&str>, cpe: Option<&str>) -> Subject {
        let purl = purl
            .or_else(|| key.starts_with("pkg:").then_some(key))
            .map(str::to_string);
        let cpe = cpe
            .or_else(|| key.starts_with("cpe:").then_some(key))
            .map(str::to_string);
        let (mut name, mut version) = (key.to_string(), None);
        if let Some(parsed) = purl
            .as_deref()
            .and_then(|p| rampart_versions::purl::Purl::parse_lenient(p).ok())
        {
            name = match parsed.namespace() {
                Some(namespace) => format!("{namespace}/{}", parsed.name()),
                None => parsed.name().to_string(),
            };
            version = parsed.version().map(str::to_string);
        } else if let Some(parsed) = cpe
            .as_deref()
            .and_then(|c| rampart_versions::Cpe::parse(c).ok())
        {
            if let Some(product) = parsed.product().unquoted() {
                name = product;
            }
            version = parsed.version().unquoted().filter(|v| !v.is_empty());
        }
        Subject {
            key: key.to_string(),
            name,
            vendor: None,
            version,
            purl,
            cpe,
        }
    }

    /// The identity that statements are matched on: purl, else CPE, else the key.
    pub fn identifier(&self) -> &str {
        self.purl
            .as_deref()
            .or(self.cpe.as_deref())
            .unwrap_or(&self.key)
    }
}

/// Subjects met while reading, one per key, in order of first appearance.
#[derive(Debug, Default)]
pub(crate) struct SubjectList {
    subjects: Vec<Subject>,
    by_key: std::collections::HashMap<String, usize>,
}

impl SubjectList {
    /// Adds `subject` unless its key is known; returns the key.
    pub(crate) fn add(&mut self, subject: Subject) -> String {
        let key = subject.key.clone();
        if !self.by_key.contains_key(&key) {
            self.by_key.insert(key.clone(), self.subjects.len());
            self.subjects.push(subject);
        }
        key
    }

    pub(crate) fn into_vec(self) -> Vec<Subject> {
        self.subjects
    }
}
