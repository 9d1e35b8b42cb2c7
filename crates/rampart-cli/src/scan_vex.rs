//! `rampart scan --vex FILE`: VEX documents applied to an offline scan, as Trivy's and
//! Grype's `--vex` do. Each document (OpenVEX, CycloneDX JSON/XML or CSAF, recognised from its
//! content) is matched against the scanned packages and findings with
//! `rampart_core::vex_match` — the vulnerability by any alias AND the package by purl, CPE or
//! range, never the vulnerability alone. A finding decided `not_affected`, `false_positive` or
//! `resolved` (the suppressed states of `rampart_core::triage`) leaves the findings and
//! `--fail-on`; it is counted by state and justification, and listed apart with
//! `--include-suppressed`. Other decisions stay on the finding as its `vex` field. When
//! several documents decide one finding, the one given last wins.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use rampart_core::triage::Disposition;
use rampart_core::vex_match::{self, Outcome, Release};
use rampart_formats::vex::{self, VexDocument, VexFormat};
use serde::Serialize;

/// A VEX document read from a file.
pub struct LoadedVex {
    file: String,
    format: VexFormat,
    document: VexDocument,
    /// Parts of the document the reader could not use, with their reason.
    unreadable: Vec<String>,
}

/// Reads every `--vex` file; the first that cannot be read is the error, naming the file and
/// the problem (JSON pointer or line and column).
pub fn read_documents(paths: &[PathBuf]) -> anyhow::Result<Vec<LoadedVex>> {
    paths.iter().map(|path| read_document(path)).collect()
}

fn read_document(path: &Path) -> anyhow::Result<LoadedVex> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path).with_context(|| format!("cannot read VEX file {file}"))?;
    let read = vex::read(&bytes).map_err(|error| anyhow::anyhow!("VEX file {file}: {error}"))?;
    Ok(LoadedVex {
        file,
        format: read.format,
        document: read.document,
        unreadable: read.skipped.iter().map(ToString::to_string).collect(),
    })
}

/// The decision a VEX document made about one finding.
#[derive(Debug, Clone, Serialize)]
pub struct VexDecision {
    pub state: String,
    pub justification: Option<String>,
    pub responses: Vec<String>,
    pub detail: Option<String>,
    pub action_statement: Option<String>,
    /// The file the decision comes from.
    pub document: String,
    #[serde(skip)]
    pub suppressed: bool,
}

impl VexDecision {
    fn new(disposition: &Disposition, document: &str) -> Self {
        VexDecision {
            state: disposition.state.to_string(),
            justification: disposition.justification.map(|j| j.to_string()),
            responses: disposition
                .responses
                .iter()
                .map(|r| r.to_string())
                .collect(),
            detail: disposition.detail.clone(),
            action_statement: disposition.action_statement.clone(),
            document: document.to_string(),
            suppressed: disposition.state.is_suppressed(),
        }
    }

    /// `not_affected (code_not_reachable)`: what the suppressed count is grouped by.
    fn reason(&self) -> String {
        match &self.justification {
            Some(justification) => format!("{} ({justification})", self.state),
            None => self.state.clone(),
        }
    }
}

/// A statement that decided nothing, and why.
#[derive(Debug, Serialize)]
pub struct StatementNote {
    /// Position in the document's statements, from 0.
    pub statement: usize,
    pub vulnerability: String,
    /// `invalid_disposition`, `product_not_this_release`, `no_such_vulnerability` or
    /// `unmatched`.
    pub reason: &'static str,
    pub detail: String,
}

/// What one document did.
#[derive(Debug, Serialize)]
pub struct DocumentReport {
    pub file: String,
    pub format: String,
    pub statements: usize,
    pub applied: usize,
    pub skipped: Vec<StatementNote>,
    pub unmatched: Vec<StatementNote>,
    /// Parts the reader could not use (statements without status, unknown products, …).
    pub unreadable: Vec<String>,
}

/// What the VEX documents did to the scan.
#[derive(Debug, Serialize)]
pub struct VexReport {
    pub documents: Vec<DocumentReport>,
    /// Findings a suppressing decision removed.
    pub suppressed: usize,
    /// Those findings per state (and justification).
    pub suppressed_by_reason: BTreeMap<String, usize>,
}

/// Applies `documents` in order; returns the decision per finding (by position in
/// `release.findings`, which must be ids `0..n`) and the report.
pub fn apply(
    documents: &[LoadedVex],
    release: &Release,
) -> (BTreeMap<usize, VexDecision>, VexReport) {
    let mut decisions = BTreeMap::new();
    let mut reports = Vec::with_capacity(documents.len());
    for loaded in documents {
        let matched = vex_match::match_document(&loaded.document, release);
        for (finding, statement) in matched.decisions() {
            let disposition = &loaded.document.statements[statement].disposition;
            decisions.insert(
                finding as usize,
                VexDecision::new(disposition, &loaded.file),
            );
        }
        let mut report = DocumentReport {
            file: loaded.file.clone(),
            format: loaded.format.to_string(),
            statements: loaded.document.statements.len(),
            applied: matched.applied().count(),
            skipped: Vec::new(),
            unmatched: Vec::new(),
            unreadable: loaded.unreadable.clone(),
        };
        for statement in &matched.statements {
            let note = |reason, detail: &str| StatementNote {
                statement: statement.statement,
                vulnerability: statement.vulnerability.clone(),
                reason,
                detail: detail.to_string(),
            };
            match &statement.outcome {
                Outcome::Applied { .. } => {}
                Outcome::Skipped { reason, detail } => {
                    report.skipped.push(note(reason.code(), detail))
                }
                Outcome::Unmatched { detail } => report.unmatched.push(note("unmatched", detail)),
            }
        }
        reports.push(report);
    }
    let mut suppressed_by_reason = BTreeMap::new();
    for decision in decisions.values().filter(|d| d.suppressed) {
        *suppressed_by_reason.entry(decision.reason()).or_insert(0) += 1;
    }
    let report = VexReport {
        documents: reports,
        suppressed: suppressed_by_reason.values().sum(),
        suppressed_by_reason,
    };
    (decisions, report)
}

impl VexReport {
    /// The table's VEX line: what was suppressed, and what each document did.
    pub fn summary(&self) -> String {
        let reasons: Vec<String> = self
            .suppressed_by_reason
            .iter()
            .map(|(reason, count)| format!("{count} {reason}"))
            .collect();
        let documents: Vec<String> = self
            .documents
            .iter()
            .map(|d| {
                let mut skipped: BTreeMap<&str, usize> = BTreeMap::new();
                for note in &d.skipped {
                    *skipped.entry(note.reason).or_insert(0) += 1;
                }
                let skipped: Vec<String> = skipped
                    .into_iter()
                    .map(|(reason, count)| format!("{count} {reason}"))
                    .collect();
                format!(
                    "{} ({}): {} of {} statements applied, {} skipped{}, {} unmatched",
                    d.file,
                    d.format,
                    d.applied,
                    d.statements,
                    d.skipped.len(),
                    if skipped.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", skipped.join(", "))
                    },
                    d.unmatched.len()
                )
            })
            .collect();
        format!(
            "VEX: {} finding{} suppressed{}; {}\n",
            self.suppressed,
            if self.suppressed == 1 { "" } else { "s" },
            if reasons.is_empty() {
                String::new()
            } else {
                format!(" ({})", reasons.join(", "))
            },
            documents.join("; ")
        )
    }

    /// Skipped, unmatched and unreadable statements, one line each, for stderr.
    pub fn notes(&self) -> Vec<String> {
        let mut lines = Vec::new();
        for document in &self.documents {
            for note in document.skipped.iter().chain(&document.unmatched) {
                lines.push(format!(
                    "{}: statement {} ({}): {}: {}",
                    document.file, note.statement, note.vulnerability, note.reason, note.detail
                ));
            }
            for unreadable in &document.unreadable {
                lines.push(format!("{}: {unreadable}", document.file));
            }
        }
        lines
    }
}
