//! Outcome of parsing a feed document: the records that parsed, and each one that did not
//! with its reason. Only a document that cannot be read at all is an error.

use serde::Serialize;

/// Records parsed from one document plus the ones skipped, in document order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParseReport<T> {
    pub records: Vec<T>,
    pub skipped: Vec<SkippedRecord>,
    /// Data-quality findings on records that were kept (e.g. an empty range).
    pub warnings: Vec<RecordWarning>,
}

impl<T> Default for ParseReport<T> {
    fn default() -> Self {
        Self {
            records: Vec::new(),
            skipped: Vec::new(),
            warnings: Vec::new(),
        }
    }
}

impl ParseReport<super::model::Advisory> {
    /// Keeps an advisory, recording its data-quality findings as warnings.
    pub(crate) fn keep(&mut self, index: usize, advisory: super::model::Advisory) {
        for message in advisory.quality_warnings() {
            self.warnings.push(RecordWarning {
                index,
                id: advisory.id.clone(),
                message,
            });
        }
        self.records.push(advisory);
    }
}

impl<T> ParseReport<T> {
    pub(crate) fn skip(&mut self, index: usize, id: Option<String>, reason: impl Into<String>) {
        self.skipped.push(SkippedRecord {
            index,
            id,
            reason: reason.into(),
        });
    }
}

/// A finding on a kept record, located like a [`SkippedRecord`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordWarning {
    pub index: usize,
    pub id: String,
    pub message: String,
}

/// A record left out of a [`ParseReport`], located by its position in the document (0-based
/// element or data-row index) and, when it could be read, its identifier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedRecord {
    pub index: usize,
    pub id: Option<String>,
    pub reason: String,
}

/// The document as a whole is unreadable; no record could be taken from it.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FormatError {
    #[error("not valid JSON: {0}")]
    Json(String),
    #[error("not valid YAML: {0}")]
    Yaml(String),
    #[error("not a valid gzip stream: {0}")]
    Gzip(String),
    #[error("not valid CSV: {0}")]
    Csv(String),
    #[error("not UTF-8 text: {0}")]
    Encoding(String),
    #[error("unexpected document shape: {0}")]
    Shape(String),
    #[error("malformed header: {0}")]
    Header(String),
}
