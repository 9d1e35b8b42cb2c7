//! Software bills of materials: CycloneDX (JSON, XML) and SPDX (JSON, tag-value).
//!
//! Every format is read into one model, [`Sbom`]. Parsing validates as it goes and stops at
//! the first problem, naming where it is: a JSON pointer for JSON, a line and column for XML
//! and tag-value. Nested CycloneDX components are flattened; each keeps its parent's index.
//!
//! Quirks that real generators produce and whose meaning is still clear are tolerated and
//! reported as [`Sbom::warnings`] instead (tolerant on input, DESIGN §2): a `bom-ref` used
//! twice (Dependency-Track's own SBOM has them) keeps the first component, merges an
//! identical repeat into it and keeps a different one without the reference.
//!
//! ```
//! use rampart_formats::sbom::{detect, parse, DocumentFormat};
//!
//! let upload = br#"{"bomFormat": "CycloneDX", "specVersion": "1.6",
//!   "components": [{"type": "library", "name": "lodash", "version": "4.17.20",
//!                   "purl": "pkg:npm/lodash@4.17.20"}]}"#;
//! assert_eq!(detect(upload), Some(DocumentFormat::CycloneDxJson));
//! let sbom = parse(upload).unwrap();
//! assert_eq!(sbom.components[0].purl.as_deref(), Some("pkg:npm/lodash@4.17.20"));
//!
//! let broken = br#"{"bomFormat": "CycloneDX", "specVersion": "1.6",
//!   "components": [{"type": "library", "name": "lodash", "version": 4}]}"#;
//! let error = parse(broken).unwrap_err();
//! assert!(error.to_string().starts_with("/components/0/version: invalid type"));
//! ```

#[cfg(test)]
mod corpus_tests;
mod cyclonedx;
pub(crate) mod json_support;
#[cfg(test)]
mod property_tests;
mod spdx;
pub(crate) mod text;
#[cfg(test)]
mod throughput_tests;

use std::fmt;

pub use cyclonedx::{parse_cyclonedx_json, parse_cyclonedx_xml};
pub use spdx::{parse_spdx_json, parse_spdx_tag_value};

/// The standard a document follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SbomFormat {
    CycloneDx,
    Spdx,
}

/// A standard together with its serialisation, as found by [`detect`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentFormat {
    CycloneDxJson,
    CycloneDxXml,
    SpdxJson,
    SpdxTagValue,
}

impl DocumentFormat {
    pub fn sbom_format(self) -> SbomFormat {
        match self {
            DocumentFormat::CycloneDxJson | DocumentFormat::CycloneDxXml => SbomFormat::CycloneDx,
            DocumentFormat::SpdxJson | DocumentFormat::SpdxTagValue => SbomFormat::Spdx,
        }
    }
}

/// One bill of materials, whatever format it came in.
#[derive(Debug, Clone, PartialEq)]
pub struct Sbom {
    pub format: SbomFormat,
    /// `1.6` for CycloneDX, `2.3` for SPDX (without the `SPDX-` prefix).
    pub spec_version: String,
    /// CycloneDX `serialNumber` or SPDX `documentNamespace`.
    pub serial_number: Option<String>,
    /// CycloneDX: the name of `metadata.component`; SPDX: the document name.
    pub name: Option<String>,
    /// Creation time as written in the document (RFC 3339 in valid documents).
    pub created: Option<String>,
    /// Tools that produced the document, as `vendor name version` (CycloneDX) or the SPDX
    /// `Tool:` creator text.
    pub tools: Vec<String>,
    /// CycloneDX `metadata.component`: what the BOM describes. Not part of `components`.
    pub primary_component: Option<Component>,
    pub components: Vec<Component>,
    pub dependencies: Vec<Dependency>,
    /// What was tolerated while reading, in document order (at most [`MAX_WARNINGS`], the
    /// last one then saying how many more there were).
    pub warnings: Vec<SbomWarning>,
}

/// Most warnings kept per document: a hostile one could otherwise repeat a quirk millions
/// of times.
pub const MAX_WARNINGS: usize = 100;

/// A quirk of the document that was tolerated, and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SbomWarning {
    pub location: Option<ErrorLocation>,
    pub message: String,
}

impl fmt::Display for SbomWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_located(f, self.location.as_ref(), &self.message)
    }
}

/// Collects warnings up to [`MAX_WARNINGS`], counting the rest.
#[derive(Debug, Default)]
pub(crate) struct Warnings {
    kept: Vec<SbomWarning>,
    dropped: usize,
}

impl Warnings {
    pub(crate) fn push(&mut self, location: Option<ErrorLocation>, message: impl Into<String>) {
        if self.kept.len() < MAX_WARNINGS - 1 {
            self.kept.push(SbomWarning {
                location,
                message: message.into(),
            });
        } else {
            self.dropped += 1;
        }
    }

    pub(crate) fn finish(mut self) -> Vec<SbomWarning> {
        match self.dropped {
            0 => {}
            1 => self.kept.push(SbomWarning {
                location: None,
                message: "1 more warning not listed".into(),
            }),
            more => self.kept.push(SbomWarning {
                location: None,
                message: format!("{more} more warnings not listed"),
            }),
        }
        self.kept
    }
}

/// Whether a component repeating an earlier one's `bom-ref` describes the same thing, so that
/// merging it loses nothing (its place in the tree aside).
pub(crate) fn same_component(first: &Component, repeat: &Component) -> bool {
    Component {
        parent: None,
        ..first.clone()
    } == Component {
        parent: None,
        ..repeat.clone()
    }
}

/// A package, library, file or other item listed in a bill of materials.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Component {
    /// CycloneDX `bom-ref` or SPDX `SPDXID`: what dependencies refer to.
    pub bom_ref: Option<String>,
    /// Index in [`Sbom::components`] of the component this one was nested in (CycloneDX).
    pub parent: Option<usize>,
    pub name: String,
    pub version: Option<String>,
    /// CycloneDX `group` (e.g. Maven group id); SPDX has no equivalent.
    pub group: Option<String>,
    /// Package URL as written; starts with `pkg:`.
    pub purl: Option<String>,
    pub cpe: Option<String>,
    pub hashes: Vec<Hash>,
    pub licenses: Vec<License>,
    pub supplier: Option<String>,
    /// CycloneDX `type` (`library`, `application`, ...) or SPDX `primaryPackagePurpose`
    /// lower-cased.
    pub component_type: Option<String>,
    /// CycloneDX `scope`: `required`, `optional` or `excluded`.
    pub scope: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Hash {
    /// As spelled by the format: `SHA-256` (CycloneDX), `SHA256` (SPDX).
    pub algorithm: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum License {
    /// An SPDX license identifier.
    Id(String),
    /// A license that has no SPDX identifier, by name.
    Name(String),
    /// An SPDX license expression.
    Expression(String),
}

/// How two components relate in the dependency graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Relationship {
    /// `from` needs `to` (CycloneDX `dependsOn`, SPDX `DEPENDS_ON` and the `*_DEPENDENCY_OF`
    /// family read in reverse).
    DependsOn,
    /// `from` contains `to` (SPDX `CONTAINS` / `CONTAINED_BY`).
    Contains,
}

/// An edge of the dependency graph, between `bom_ref`s.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Dependency {
    pub from: String,
    pub to: String,
    pub relationship: Relationship,
}

/// Where in the input a problem was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorLocation {
    /// RFC 6901 pointer into a JSON document; empty for the document itself.
    JsonPointer(String),
    /// 1-based line and column (in characters) of an XML or tag-value document.
    LineColumn { line: usize, column: usize },
}

/// Why a document was rejected: the first problem found, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SbomError {
    pub location: Option<ErrorLocation>,
    pub message: String,
}

impl SbomError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        SbomError {
            location: None,
            message: message.into(),
        }
    }

    pub(crate) fn at_pointer(pointer: impl Into<String>, message: impl Into<String>) -> Self {
        SbomError {
            location: Some(ErrorLocation::JsonPointer(pointer.into())),
            message: message.into(),
        }
    }

    pub(crate) fn at_line(line: usize, column: usize, message: impl Into<String>) -> Self {
        SbomError {
            location: Some(ErrorLocation::LineColumn { line, column }),
            message: message.into(),
        }
    }

    /// Locates an error found at byte `offset` of `text` by line and column.
    pub(crate) fn at_offset(text: &str, offset: usize, message: impl Into<String>) -> Self {
        let (line, column) = text::line_column(text, offset);
        Self::at_line(line, column, message)
    }
}

pub(crate) fn write_located(
    f: &mut fmt::Formatter<'_>,
    location: Option<&ErrorLocation>,
    message: &str,
) -> fmt::Result {
    match location {
        Some(ErrorLocation::JsonPointer(pointer)) if pointer.is_empty() => {
            write!(f, "(document): {message}")
        }
        Some(ErrorLocation::JsonPointer(pointer)) => write!(f, "{pointer}: {message}"),
        Some(ErrorLocation::LineColumn { line, column }) => {
            write!(f, "line {line}, column {column}: {message}")
        }
        None => f.write_str(message),
    }
}

impl fmt::Display for SbomError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_located(f, self.location.as_ref(), &self.message)
    }
}

impl std::error::Error for SbomError {}

/// Recognises the format of a document from its content (not its file name). UTF-16 with a
/// byte-order mark is looked through. `None` when it is none of the supported formats.
pub fn detect(bytes: &[u8]) -> Option<DocumentFormat> {
    let decoded = text::decode(bytes).ok()?;
    detect_text(&decoded)
}

fn detect_text(text: &str) -> Option<DocumentFormat> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('<') {
        return trimmed
            .contains("http://cyclonedx.org/schema/bom/")
            .then_some(DocumentFormat::CycloneDxXml);
    }
    if trimmed.starts_with('{') {
        // The format's marker key can come after other keys, so look for whichever comes
        // first; in real documents it is near the start.
        let cyclonedx = trimmed.find("\"bomFormat\"");
        let spdx = trimmed.find("\"spdxVersion\"");
        return match (cyclonedx, spdx) {
            (Some(c), Some(s)) if s < c => Some(DocumentFormat::SpdxJson),
            (Some(_), _) => Some(DocumentFormat::CycloneDxJson),
            (None, Some(_)) => Some(DocumentFormat::SpdxJson),
            (None, None) => None,
        };
    }
    trimmed
        .lines()
        .any(|line| line.trim_start().starts_with("SPDXVersion:"))
        .then_some(DocumentFormat::SpdxTagValue)
}

/// Detects the format and parses the document with the matching parser.
pub fn parse(bytes: &[u8]) -> Result<Sbom, SbomError> {
    let decoded = text::decode(bytes)?;
    match detect_text(&decoded) {
        Some(DocumentFormat::CycloneDxJson) => cyclonedx::json::parse_str(&decoded),
        Some(DocumentFormat::CycloneDxXml) => cyclonedx::xml::parse_str(&decoded),
        Some(DocumentFormat::SpdxJson) => spdx::json::parse_str(&decoded),
        Some(DocumentFormat::SpdxTagValue) => spdx::tag_value::parse_str(&decoded),
        None => Err(SbomError::new(
            "not a supported SBOM: expected CycloneDX (JSON or XML) or SPDX (JSON or tag-value)",
        )),
    }
}

/// A purl is kept as text until the purl parser is wired in; this catches values that are
/// clearly something else.
pub(crate) fn is_plausible_purl(purl: &str) -> bool {
    purl.starts_with("pkg:") && purl.len() > 4
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_each_format_from_content() {
        assert_eq!(
            detect(br#"{"bomFormat":"CycloneDX","specVersion":"1.6"}"#),
            Some(DocumentFormat::CycloneDxJson)
        );
        assert_eq!(
            detect(br#"  {"SPDXID":"SPDXRef-DOCUMENT","spdxVersion":"SPDX-2.3"}"#),
            Some(DocumentFormat::SpdxJson)
        );
        assert_eq!(
            detect(b"<?xml version=\"1.0\"?><bom xmlns=\"http://cyclonedx.org/schema/bom/1.5\"/>"),
            Some(DocumentFormat::CycloneDxXml)
        );
        assert_eq!(
            detect(b"SPDXVersion: SPDX-2.3\nDataLicense: CC0-1.0\n"),
            Some(DocumentFormat::SpdxTagValue)
        );
        assert_eq!(detect(b"{\"hello\": 1}"), None);
        assert_eq!(detect(b"<html></html>"), None);
        assert_eq!(detect(b""), None);
    }

    #[test]
    fn detects_utf16_with_byte_order_mark() {
        let utf16: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain(
                "SPDXVersion: SPDX-2.2\n"
                    .encode_utf16()
                    .flat_map(u16::to_le_bytes),
            )
            .collect();
        assert_eq!(detect(&utf16), Some(DocumentFormat::SpdxTagValue));
    }

    #[test]
    fn errors_display_their_location() {
        let error = SbomError::at_pointer("/components/3/version", "expected string");
        assert_eq!(error.to_string(), "/components/3/version: expected string");
        let error = SbomError::at_line(4, 7, "unexpected end");
        assert_eq!(error.to_string(), "line 4, column 7: unexpected end");
    }

    #[test]
    fn unsupported_content_is_rejected_by_parse() {
        let error = parse(b"just some text").unwrap_err();
        assert!(error.message.contains("not a supported SBOM"), "{error}");
    }
}
