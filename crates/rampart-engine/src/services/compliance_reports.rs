//! Compliance reports (seed 004's `compliance:read`: "Download compliance reports"): one
//! framework's posture for a team or product, rendered from a snapshot taken for the report,
//! as JSON, self-contained printable HTML (inline style, no external resource), PDF (the
//! standard Helvetica font, no embedded resource) or OSCAL assessment-results JSON. Each
//! names its generation time, the snapshot id and the snapshot's SHA-256; the download is
//! audited with the SHA-256 of the file itself.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};
use rampart_core::Scope;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::compliance::{self, FrameworkPosture, Posture};
use super::compliance_checks::{CheckResult, Status};
use crate::actor::{Actor, RequestOrigin};
use crate::error::{ErrorCode, ServiceError};
use crate::Engine;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    Json,
    Html,
    Pdf,
    Oscal,
}

impl ReportFormat {
    /// 400 naming `format` when it is not one of the four.
    pub fn parse(text: Option<&str>) -> Result<ReportFormat, ServiceError> {
        match text.map(|t| t.trim().to_ascii_lowercase()).as_deref() {
            None | Some("") | Some("json") => Ok(ReportFormat::Json),
            Some("html") => Ok(ReportFormat::Html),
            Some("pdf") => Ok(ReportFormat::Pdf),
            Some("oscal") | Some("oscal-json") => Ok(ReportFormat::Oscal),
            Some(other) => Err(ServiceError::new(
                ErrorCode::BadRequest,
                format!("`format` must be json, html, pdf or oscal, not {other:?}"),
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ReportFormat::Json => "json",
            ReportFormat::Html => "html",
            ReportFormat::Pdf => "pdf",
            ReportFormat::Oscal => "oscal",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            ReportFormat::Json | ReportFormat::Oscal => "application/json",
            ReportFormat::Html => "text/html; charset=utf-8",
            ReportFormat::Pdf => "application/pdf",
        }
    }

    fn extension(self) -> &'static str {
        match self {
            ReportFormat::Json => "json",
            ReportFormat::Oscal => "oscal.json",
            ReportFormat::Html => "html",
            ReportFormat::Pdf => "pdf",
        }
    }
}

/// The report's framework: exactly one, required (400 naming `framework`).
pub fn one_framework(text: Option<&str>) -> Result<String, ServiceError> {
    let mut frameworks = compliance::parse_frameworks(text)?;
    if frameworks.len() != 1 {
        return Err(ServiceError::new(
            ErrorCode::BadRequest,
            "`framework` is required and names exactly one framework (soc2, iso27001, hipaa, gdpr, ntia_sbom, eu_cra)",
        ));
    }
    Ok(frameworks.remove(0))
}

/// A rendered report.
#[derive(Debug, Clone)]
pub struct Report {
    pub bytes: Vec<u8>,
    pub file_name: String,
    /// SHA-256 (hex) of `bytes`.
    pub sha256: String,
    pub snapshot_id: i64,
}

/// Takes a snapshot, renders the framework's report from it and audits the download.
pub async fn download(
    engine: &Engine,
    actor: &Actor,
    origin: &RequestOrigin,
    framework: &str,
    product: Option<i64>,
    format: ReportFormat,
) -> Result<Report, ServiceError> {
    actor.require(Scope::ComplianceRead)?;
    let posture = compliance::fresh_snapshot(engine, actor, product).await?;
    let report = render(&posture, framework, format, engine.now())?;
    let mut event = actor.audit(origin, "compliance.report.download");
    event.details = Some(json!({
        "framework": framework,
        "format": format.as_str(),
        "product_id": product,
        "snapshot_id": report.snapshot_id,
        "sha256": report.sha256,
    }));
    let event = event.target("compliance_snapshot", report.snapshot_id);
    engine.store.record_audit(&event, engine.now()).await?;
    Ok(report)
}

/// Renders a snapshot's posture as a report of one framework.
pub fn render(
    posture: &Posture,
    framework: &str,
    format: ReportFormat,
    generated_at: DateTime<Utc>,
) -> Result<Report, ServiceError> {
    let snapshot = posture.snapshot.clone().ok_or_else(|| {
        ServiceError::new(ErrorCode::InternalError, "a report needs a stored snapshot")
    })?;
    let section = posture
        .framework(framework)
        .ok_or_else(|| ServiceError::not_found("framework"))?;
    let meta = ReportMeta {
        posture,
        framework: section,
        generated_at,
        snapshot_id: snapshot.id,
        snapshot_taken_at: snapshot.taken_at,
        snapshot_sha256: snapshot.sha256.clone(),
    };
    let bytes = match format {
        ReportFormat::Json => serde_json::to_vec_pretty(&json_report(&meta)).expect("plain data"),
        ReportFormat::Oscal => serde_json::to_vec_pretty(&oscal_report(&meta)).expect("plain data"),
        ReportFormat::Html => html_report(&meta).into_bytes(),
        ReportFormat::Pdf => pdf_report(&meta),
    };
    let sha256 = hex::encode(Sha256::digest(&bytes));
    let scope = match posture.product_id {
        Some(id) => format!("product-{id}"),
        None => format!("team-{}", posture.team_id),
    };
    Ok(Report {
        file_name: format!(
            "compliance-{framework}-{scope}-snapshot-{}.{}",
            snapshot.id,
            format.extension()
        ),
        bytes,
        sha256,
        snapshot_id: snapshot.id,
    })
}

struct ReportMeta<'a> {
    posture: &'a Posture,
    framework: &'a FrameworkPosture,
    generated_at: DateTime<Utc>,
    snapshot_id: i64,
    snapshot_taken_at: DateTime<Utc>,
    snapshot_sha256: String,
}

impl ReportMeta<'_> {
    fn scope_label(&self) -> String {
        match (&self.posture.product_name, self.posture.product_id) {
            (Some(name), Some(id)) => {
                format!("product {name} (#{id}), team #{}", self.posture.team_id)
            }
            _ => format!("team #{}", self.posture.team_id),
        }
    }

    /// The checks behind this framework's controls.
    fn checks(&self) -> Vec<&CheckResult> {
        self.posture
            .checks
            .iter()
            .filter(|c| {
                self.framework
                    .controls
                    .iter()
                    .any(|control| control.evidence.iter().any(|e| e.check == c.check))
            })
            .collect()
    }
}

fn json_report(meta: &ReportMeta) -> Value {
    json!({
        "report": {
            "title": format!("{} compliance report", meta.framework.name),
            "generated_at": meta.generated_at,
            "snapshot_id": meta.snapshot_id,
            "snapshot_taken_at": meta.snapshot_taken_at,
            "snapshot_sha256": meta.snapshot_sha256,
            "team_id": meta.posture.team_id,
            "product_id": meta.posture.product_id,
            "product_name": meta.posture.product_name,
            "generator": "Rampart",
        },
        "framework": meta.framework,
        "checks": meta.checks(),
        "thresholds": meta.posture.thresholds,
    })
}

fn oscal_state(status: Status) -> (&'static str, &'static str) {
    match status {
        Status::Met => ("satisfied", "pass"),
        Status::NotApplicable => ("satisfied", "other"),
        Status::Partial | Status::Gap => ("not-satisfied", "fail"),
        Status::Manual => ("not-satisfied", "other"),
    }
}

/// OSCAL 1.1.2 assessment results: one result; an observation per evidence check; a finding
/// per control with its objective status.
fn oscal_report(meta: &ReportMeta) -> Value {
    let uuid = || uuid::Uuid::new_v4().to_string();
    let time = meta
        .generated_at
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut observation_ids = std::collections::BTreeMap::new();
    let observations: Vec<Value> = meta
        .checks()
        .iter()
        .map(|check| {
            let id = uuid();
            observation_ids.insert(check.check.clone(), id.clone());
            json!({
                "uuid": id,
                "title": check.title,
                "description": check.summary,
                "props": [
                    {"name": "rampart-check", "ns": "https://rampart.invalid/ns/oscal", "value": check.check},
                    {"name": "rampart-status", "ns": "https://rampart.invalid/ns/oscal", "value": check.status.as_str()},
                ],
                "methods": ["TEST"],
                "types": ["finding"],
                "collected": time,
                "remarks": serde_json::to_string(&check.evidence).expect("plain data"),
            })
        })
        .collect();
    let findings: Vec<Value> = meta
        .framework
        .controls
        .iter()
        .map(|control| {
            let (state, reason) = oscal_state(control.status);
            let related: Vec<Value> = control
                .evidence
                .iter()
                .filter_map(|e| observation_ids.get(&e.check))
                .map(|id| json!({"observation-uuid": id}))
                .collect();
            let mut description = format!("{}: {}", control.id, control.title);
            if let Some(a) = &control.attestation {
                let _ = write!(
                    description,
                    ". Attested by {} until {}: {}",
                    a.owner,
                    a.expires_at.format("%Y-%m-%d"),
                    a.statement
                );
            }
            let mut finding = json!({
                "uuid": uuid(),
                "title": format!("{} {}", control.id, control.title),
                "description": description,
                "props": [
                    {"name": "rampart-status", "ns": "https://rampart.invalid/ns/oscal", "value": control.status.as_str()},
                    {"name": "basis", "ns": "https://rampart.invalid/ns/oscal", "value": control.basis},
                ],
                "target": {
                    "type": "objective-id",
                    "target-id": control.oscal_id,
                    "status": {"state": state, "reason": reason},
                },
            });
            if !related.is_empty() {
                finding["related-observations"] = Value::Array(related);
            }
            finding
        })
        .collect();
    let controls: Vec<Value> = meta
        .framework
        .controls
        .iter()
        .map(|c| json!({"control-id": c.oscal_id}))
        .collect();
    json!({
        "assessment-results": {
            "uuid": uuid(),
            "metadata": {
                "title": format!("{} assessment results ({})", meta.framework.name, meta.scope_label()),
                "last-modified": time,
                "version": format!("snapshot-{}", meta.snapshot_id),
                "oscal-version": "1.1.2",
                "props": [
                    {"name": "snapshot-id", "ns": "https://rampart.invalid/ns/oscal", "value": meta.snapshot_id.to_string()},
                    {"name": "snapshot-sha256", "ns": "https://rampart.invalid/ns/oscal", "value": meta.snapshot_sha256},
                    {"name": "generated-at", "ns": "https://rampart.invalid/ns/oscal", "value": time},
                    {"name": "framework", "ns": "https://rampart.invalid/ns/oscal", "value": meta.framework.id},
                ],
            },
            "import-ap": {"href": "#rampart-continuous-assessment"},
            "results": [{
                "uuid": uuid(),
                "title": format!("{} posture", meta.framework.name),
                "description": format!(
                    "Measured from platform evidence; score {}; {} met, {} partial, {} gap, {} not applicable, {} manual.",
                    meta.framework.score.map(|s| format!("{s}%")).unwrap_or_else(|| "n/a".into()),
                    meta.framework.counts.met, meta.framework.counts.partial, meta.framework.counts.gap,
                    meta.framework.counts.not_applicable, meta.framework.counts.manual
                ),
                "start": meta.snapshot_taken_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                "end": time,
                "reviewed-controls": {
                    "control-selections": [{"include-controls": controls}],
                },
                "observations": observations,
                "findings": findings,
            }],
        }
    })
}

fn escape(text: &str) -> String {
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

const HTML_STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem;color:#111}
h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2rem;border-bottom:1px solid #ccc}
table{border-collapse:collapse;width:100%;font-size:.9rem}th,td{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}
.met{color:#0a6b2d}.partial{color:#8a5a00}.gap{color:#a11}.manual{color:#555}.not_applicable{color:#555}
.meta td{border:none;padding:.1rem .5rem}code{font-size:.85rem}
@media print{body{margin:0}h2{page-break-after:avoid}tr{page-break-inside:avoid}}";

fn html_report(meta: &ReportMeta) -> String {
    let f = meta.framework;
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{} compliance report</title><style>{HTML_STYLE}</style></head><body>",
        escape(&f.name)
    );
    let _ = write!(h, "<h1>{} compliance report</h1>", escape(&f.name));
    let _ = write!(
        h,
        "<table class=\"meta\"><tr><td>Scope</td><td>{}</td></tr><tr><td>Generated</td><td>{}</td></tr><tr><td>Snapshot</td><td>#{} taken {}</td></tr><tr><td>Snapshot SHA-256</td><td><code>{}</code></td></tr><tr><td>Framework</td><td>{} {} ({})</td></tr><tr><td>Score</td><td>{}</td></tr><tr><td>Controls</td><td>{} met, {} partial, {} gap, {} not applicable, {} manual of {}</td></tr></table>",
        escape(&meta.scope_label()),
        meta.generated_at.to_rfc3339(),
        meta.snapshot_id,
        meta.snapshot_taken_at.to_rfc3339(),
        meta.snapshot_sha256,
        escape(&f.name),
        escape(&f.version),
        escape(&f.licence),
        f.score.map(|s| format!("{s}%")).unwrap_or_else(|| "n/a".into()),
        f.counts.met, f.counts.partial, f.counts.gap, f.counts.not_applicable, f.counts.manual, f.counts.total
    );
    h.push_str("<h2>Gap analysis</h2>");
    if f.gaps.is_empty() {
        h.push_str("<p>No measured gap.</p>");
    }
    for gap in &f.gaps {
        let _ = write!(
            h,
            "<h3 class=\"{}\">{} — {}</h3><p>{}</p><p>Controls: {}</p>",
            gap.status.as_str(),
            escape(&gap.title),
            gap.status.as_str(),
            escape(&gap.summary),
            escape(&gap.controls.join(", "))
        );
        if !gap.items.is_empty() {
            h.push_str("<table><tr><th>Object</th><th>Why</th><th>Remediation</th></tr>");
            for item in &gap.items {
                let _ = write!(
                    h,
                    "<tr><td>{} {}<br><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                    escape(&item.kind),
                    escape(&item.label),
                    escape(&item.link),
                    escape(&item.reason),
                    escape(&item.remediation)
                );
            }
            if gap.items_total > gap.items.len() as i64 {
                let _ = write!(
                    h,
                    "<tr><td colspan=\"3\">… and {} more</td></tr>",
                    gap.items_total - gap.items.len() as i64
                );
            }
            h.push_str("</table>");
        }
    }
    h.push_str("<h2>Controls</h2><table><tr><th>Control</th><th>Title</th><th>Status</th><th>Evidence</th></tr>");
    for control in &f.controls {
        let mut evidence = String::new();
        for e in &control.evidence {
            let _ = write!(
                evidence,
                "<div><b>{}</b>{} ({}): {}</div>",
                escape(&e.check),
                e.facet
                    .as_deref()
                    .map(|x| format!(" / {}", escape(x)))
                    .unwrap_or_default(),
                e.status.as_str(),
                escape(&e.summary)
            );
        }
        if let Some(a) = &control.attestation {
            let _ = write!(
                evidence,
                "<div>Attested by {} until {}{}: {}</div>",
                escape(&a.owner),
                a.expires_at.format("%Y-%m-%d"),
                if a.current {
                    ""
                } else {
                    " (no longer current)"
                },
                escape(&a.statement)
            );
        }
        if evidence.is_empty() {
            evidence.push_str("Not measured by the platform: needs an attestation.");
        }
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td class=\"{}\">{}</td><td>{}</td></tr>",
            escape(&control.id),
            escape(&control.title),
            control.status.as_str(),
            control.status.as_str(),
            evidence
        );
    }
    h.push_str("</table></body></html>\n");
    h
}

/// Text the standard Type 1 fonts can show (WinAnsi): ASCII, everything else replaced.
fn pdf_text(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            '—' | '–' => b'-',
            '…' => b'.',
            '’' | '‘' => b'\'',
            '“' | '”' => b'"',
            '§' => b'S',
            c if c.is_ascii() && !c.is_ascii_control() => c as u8,
            _ => b'?',
        })
        .collect()
}

/// Breaks text into lines of at most `width` characters (Helvetica at the sizes used averages
/// under 0.5 em per character, so this stays inside the margins).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let mut word = word.to_string();
        while word.chars().count() > width {
            let head: String = word.chars().take(width).collect();
            word = word.chars().skip(width).collect();
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            lines.push(head);
        }
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&word);
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// Lines of a PDF page being laid out, A4 portrait.
struct PdfLayout {
    pages: Vec<Vec<(f32, f32, bool, String)>>,
    y: f32,
}

const PAGE_TOP: f32 = 800.0;
const PAGE_BOTTOM: f32 = 50.0;
const MARGIN: f32 = 48.0;

impl PdfLayout {
    fn new() -> Self {
        PdfLayout {
            pages: vec![Vec::new()],
            y: PAGE_TOP,
        }
    }

    fn line(&mut self, size: f32, bold: bool, indent: f32, text: &str) {
        let width = ((595.0 - 2.0 * MARGIN - indent) / (size * 0.5)) as usize;
        for part in wrap(text, width.max(20)) {
            if self.y - size * 1.3 < PAGE_BOTTOM {
                self.pages.push(Vec::new());
                self.y = PAGE_TOP;
            }
            self.y -= size * 1.3;
            let y = self.y;
            self.pages.last_mut().expect("one page at least").push((
                size,
                y,
                bold,
                format!("{indent}\u{0}{part}"),
            ));
        }
    }

    fn gap(&mut self, points: f32) {
        self.y -= points;
    }
}

fn pdf_report(meta: &ReportMeta) -> Vec<u8> {
    let f = meta.framework;
    let mut layout = PdfLayout::new();
    layout.line(18.0, true, 0.0, &format!("{} compliance report", f.name));
    layout.gap(6.0);
    for text in
        [
            format!("Scope: {}", meta.scope_label()),
            format!("Generated: {}", meta.generated_at.to_rfc3339()),
            format!(
                "Snapshot: #{} taken {}",
                meta.snapshot_id,
                meta.snapshot_taken_at.to_rfc3339()
            ),
            format!("Snapshot SHA-256: {}", meta.snapshot_sha256),
            format!("Framework: {} {} ({})", f.name, f.version, f.licence),
            format!(
            "Score: {}   Controls: {} met, {} partial, {} gap, {} not applicable, {} manual of {}",
            f.score.map(|s| format!("{s}%")).unwrap_or_else(|| "n/a".into()),
            f.counts.met,
            f.counts.partial,
            f.counts.gap,
            f.counts.not_applicable,
            f.counts.manual,
            f.counts.total
        ),
        ]
    {
        layout.line(10.0, false, 0.0, &text);
    }
    layout.gap(10.0);
    layout.line(14.0, true, 0.0, "Gap analysis");
    if f.gaps.is_empty() {
        layout.line(10.0, false, 0.0, "No measured gap.");
    }
    for gap in &f.gaps {
        layout.gap(4.0);
        layout.line(
            11.0,
            true,
            0.0,
            &format!("{} - {}", gap.title, gap.status.as_str()),
        );
        layout.line(10.0, false, 10.0, &gap.summary);
        layout.line(
            10.0,
            false,
            10.0,
            &format!("Controls: {}", gap.controls.join(", ")),
        );
        for item in &gap.items {
            layout.line(
                9.0,
                false,
                20.0,
                &format!(
                    "{} {} ({}): {}. {}",
                    item.kind, item.label, item.link, item.reason, item.remediation
                ),
            );
        }
        if gap.items_total > gap.items.len() as i64 {
            layout.line(
                9.0,
                false,
                20.0,
                &format!("... and {} more", gap.items_total - gap.items.len() as i64),
            );
        }
    }
    layout.gap(10.0);
    layout.line(14.0, true, 0.0, "Controls");
    for control in &f.controls {
        layout.gap(2.0);
        layout.line(
            10.0,
            true,
            0.0,
            &format!(
                "{}  {}  [{}]",
                control.id,
                control.title,
                control.status.as_str()
            ),
        );
        for e in &control.evidence {
            layout.line(
                9.0,
                false,
                12.0,
                &format!(
                    "{}{} ({}): {}",
                    e.check,
                    e.facet
                        .as_deref()
                        .map(|x| format!(" / {x}"))
                        .unwrap_or_default(),
                    e.status.as_str(),
                    e.summary
                ),
            );
        }
        if let Some(a) = &control.attestation {
            layout.line(
                9.0,
                false,
                12.0,
                &format!(
                    "Attested by {} until {}: {}",
                    a.owner,
                    a.expires_at.format("%Y-%m-%d"),
                    a.statement
                ),
            );
        }
        if control.evidence.is_empty() && control.attestation.is_none() {
            layout.line(
                9.0,
                false,
                12.0,
                "Not measured by the platform: needs an attestation.",
            );
        }
    }

    let mut pdf = Pdf::new();
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let regular = Ref::new(3);
    let bold = Ref::new(4);
    let info = Ref::new(5);
    let first_page = 6;
    let page_count = layout.pages.len() as i32;
    let page_ids: Vec<Ref> = (0..page_count)
        .map(|i| Ref::new(first_page + 2 * i))
        .collect();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids(page_ids.iter().copied())
        .count(page_count);
    pdf.type1_font(regular)
        .base_font(Name(b"Helvetica"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.type1_font(bold)
        .base_font(Name(b"Helvetica-Bold"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    let title = format!(
        "{} compliance report, snapshot {}",
        f.name, meta.snapshot_id
    );
    pdf.document_info(info)
        .title(TextStr(&title))
        .producer(TextStr("Rampart"));
    for (i, lines) in layout.pages.iter().enumerate() {
        let page_id = page_ids[i];
        let content_id = Ref::new(page_id.get() + 1);
        let mut page = pdf.page(page_id);
        page.media_box(Rect::new(0.0, 0.0, 595.0, 842.0));
        page.parent(tree);
        page.contents(content_id);
        let mut resources = page.resources();
        let mut fonts = resources.fonts();
        fonts.pair(Name(b"F1"), regular);
        fonts.pair(Name(b"F2"), bold);
        fonts.finish();
        resources.finish();
        page.finish();
        let mut content = Content::new();
        for (size, y, is_bold, text) in lines {
            let (indent, text) = text.split_once('\u{0}').unwrap_or(("0", text));
            let indent: f32 = indent.parse().unwrap_or(0.0);
            content.begin_text();
            content.set_font(Name(if *is_bold { b"F2" } else { b"F1" }), *size);
            content.next_line(MARGIN + indent, *y);
            content.show(Str(&pdf_text(text)));
            content.end_text();
        }
        let footer = format!(
            "Page {} of {} - snapshot {} - generated {}",
            i + 1,
            page_count,
            meta.snapshot_id,
            meta.generated_at.format("%Y-%m-%d %H:%M UTC")
        );
        content.begin_text();
        content.set_font(Name(b"F1"), 8.0);
        content.next_line(MARGIN, 28.0);
        content.show(Str(&pdf_text(&footer)));
        content.end_text();
        pdf.stream(content_id, &content.finish());
    }
    pdf.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_frameworks_name_the_parameter() {
        assert_eq!(ReportFormat::parse(Some("PDF")).unwrap(), ReportFormat::Pdf);
        assert_eq!(ReportFormat::parse(None).unwrap(), ReportFormat::Json);
        assert!(ReportFormat::parse(Some("docx"))
            .unwrap_err()
            .message()
            .contains("`format`"));
        assert!(one_framework(None)
            .unwrap_err()
            .message()
            .contains("`framework`"));
        assert!(one_framework(Some("soc2,gdpr")).is_err());
        assert_eq!(one_framework(Some("soc2")).unwrap(), "soc2");
    }

    #[test]
    fn long_text_wraps_and_non_ascii_is_replaced() {
        let lines = wrap(&"word ".repeat(50), 30);
        assert!(lines.iter().all(|l| l.len() <= 30));
        assert_eq!(pdf_text("§164.312 — é"), b"S164.312 - ?");
    }
}
