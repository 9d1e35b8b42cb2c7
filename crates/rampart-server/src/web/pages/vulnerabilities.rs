//! A vulnerability from the knowledge base: the record's data (OSV/NVD), its alias group,
//! severities, affected packages and ranges, references, and what KEV, EPSS and Exploit
//! Database say about its CVEs. It reads the knowledge base as `GET
//! /api/v1/vulnerabilities/{id}` does (no team data: the knowledge base is shared).

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use rampart_core::Scope;
use rampart_formats::advisory::{Advisory, RangeEvent};
use rampart_store::{EpssPoint, EpssView, ExploitView, KevView};

use super::when;
use crate::state::AppState;
use crate::web::error::WebError;
use crate::web::layout::{render, Layout};
use crate::web::session::SignedIn;
use crate::web::trend;

pub struct SeverityRow {
    pub kind: String,
    pub vector: String,
    pub score: String,
    pub source: String,
}

pub struct AffectedRow {
    pub package: String,
    pub ecosystem: String,
    pub ranges: Vec<String>,
    pub versions: String,
}

pub struct ReferenceRow {
    pub url: String,
    pub label: String,
    pub exploit: bool,
    /// An http(s) URL, safe to link (feeds could carry `javascript:` and the like).
    pub linkable: bool,
}

#[derive(Template)]
#[template(path = "vulnerability.html")]
struct VulnerabilityPage {
    layout: Layout,
    id: String,
    source: String,
    identifiers: Vec<String>,
    summary: Option<String>,
    details: Option<String>,
    published: String,
    modified: String,
    withdrawn: Option<String>,
    cwes: String,
    severities: Vec<SeverityRow>,
    affected: Vec<AffectedRow>,
    cpe_configurations: usize,
    references: Vec<ReferenceRow>,
    kev: Vec<KevView>,
    epss: Vec<EpssView>,
    epss_history: Vec<EpssChart>,
    exploits: Vec<ExploitView>,
}

/// One CVE's EPSS history as a small step chart.
pub struct EpssChart {
    pub cve_id: String,
    pub points: String,
    pub first_day: String,
    pub last_day: String,
    pub first: String,
    pub latest: String,
    pub low: String,
    pub high: String,
    pub changes: usize,
}

fn percent(value: f64) -> String {
    format!("{:.2} %", value * 100.0)
}

/// The charts of the CVEs' histories (a CVE with no history has none).
fn epss_charts(history: &[EpssPoint]) -> Vec<EpssChart> {
    let mut charts = Vec::new();
    for points in history.chunk_by(|a, b| a.cve_id == b.cve_id) {
        let series: Vec<(chrono::NaiveDate, f64)> =
            points.iter().map(|p| (p.score_day, p.epss)).collect();
        let (Some(first), Some(last)) = (points.first(), points.last()) else {
            continue;
        };
        let low = series.iter().map(|(_, v)| *v).fold(f64::INFINITY, f64::min);
        let high = series.iter().map(|(_, v)| *v).fold(0.0_f64, f64::max);
        charts.push(EpssChart {
            cve_id: first.cve_id.clone(),
            points: trend::step_polyline(&series, 300.0, 60.0),
            first_day: first.score_day.to_string(),
            last_day: last.score_day.to_string(),
            first: percent(first.epss),
            latest: percent(last.epss),
            low: percent(low),
            high: percent(high),
            changes: points.len().saturating_sub(1),
        });
    }
    charts
}

/// The page with the EPSS history of the CVEs it shows scores of.
async fn with_history(
    state: &AppState,
    mut page: VulnerabilityPage,
) -> Result<VulnerabilityPage, WebError> {
    let cves: Vec<String> = page.epss.iter().map(|e| e.cve_id.clone()).collect();
    page.epss_history = epss_charts(&state.store.epss_history(&cves).await?);
    Ok(page)
}

/// `GET /vulnerabilities/{id}`: by any identifier of the vulnerability.
pub async fn show(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    user.actor.require(Scope::KbRead)?;
    let layout = user.layout(id.clone(), "portfolio");
    if let Some(group) = state.store.vulnerability_group(&id).await? {
        let advisory = group.primary.advisory;
        let mut page = page_of(layout, &advisory, group.primary.source);
        page.identifiers = group.identifiers;
        page.kev = group.kev;
        page.epss = group.epss;
        page.exploits = group.exploits;
        return Ok(render(&with_history(&state, page).await?));
    }
    // A CVE that no stored record names, but that KEV, EPSS or Exploit Database know.
    let cve_id = id.trim().to_uppercase();
    if cve_id.starts_with("CVE-") {
        let known = state
            .store
            .cve_enrichment(std::slice::from_ref(&cve_id))
            .await?;
        if !known.is_empty() {
            let page = VulnerabilityPage {
                kev: known.kev,
                epss: known.epss,
                exploits: known.exploits,
                ..empty_page(layout, cve_id)
            };
            return Ok(render(&with_history(&state, page).await?));
        }
    }
    Err(WebError::not_found("vulnerability"))
}

fn empty_page(layout: Layout, id: String) -> VulnerabilityPage {
    VulnerabilityPage {
        layout,
        identifiers: vec![id.clone()],
        id,
        source: "enrichment only".to_string(),
        summary: None,
        details: None,
        published: "—".to_string(),
        modified: "—".to_string(),
        withdrawn: None,
        cwes: String::new(),
        severities: Vec::new(),
        affected: Vec::new(),
        cpe_configurations: 0,
        references: Vec::new(),
        kev: Vec::new(),
        epss: Vec::new(),
        epss_history: Vec::new(),
        exploits: Vec::new(),
    }
}

fn page_of(layout: Layout, advisory: &Advisory, source: String) -> VulnerabilityPage {
    VulnerabilityPage {
        source,
        summary: advisory.summary.clone(),
        details: advisory.details.clone(),
        published: advisory.published.map_or("—".to_string(), when),
        modified: when(advisory.modified),
        withdrawn: advisory.withdrawn.map(when),
        cwes: advisory.cwe_ids.join(", "),
        severities: advisory
            .severity
            .iter()
            .map(|s| SeverityRow {
                kind: s.kind.as_osv().to_string(),
                vector: s.score.clone(),
                score: s.computed.as_ref().map_or("—".to_string(), |c| {
                    format!("{:.1} ({})", c.base_score, c.band.as_str())
                }),
                source: s.source.clone().unwrap_or_default(),
            })
            .collect(),
        affected: advisory
            .affected
            .iter()
            .map(|a| AffectedRow {
                package: a.package.as_ref().map_or("—".to_string(), |p| {
                    p.purl.clone().unwrap_or_else(|| p.name.clone())
                }),
                ecosystem: a
                    .package
                    .as_ref()
                    .map_or(String::new(), |p| p.ecosystem.clone()),
                ranges: a
                    .ranges
                    .iter()
                    .map(|r| describe_range(r.kind.as_osv(), &r.events))
                    .collect(),
                versions: a.versions.join(", "),
            })
            .collect(),
        cpe_configurations: advisory.cpe_configurations.len(),
        references: advisory
            .references
            .iter()
            .map(|r| ReferenceRow {
                url: r.url.clone(),
                label: if r.tags.is_empty() {
                    r.kind.as_osv().to_string()
                } else {
                    r.tags.join(", ")
                },
                exploit: r.is_exploit,
                linkable: r.url.starts_with("https://") || r.url.starts_with("http://"),
            })
            .collect(),
        ..empty_page(layout, advisory.id.clone())
    }
}

/// OSV events as text: `ECOSYSTEM: introduced 0, fixed 1.2.3`.
pub fn describe_range(kind: &str, events: &[RangeEvent]) -> String {
    let events: Vec<String> = events
        .iter()
        .map(|event| {
            let name = match event {
                RangeEvent::Introduced(_) => "introduced",
                RangeEvent::Fixed(_) => "fixed",
                RangeEvent::LastAffected(_) => "last affected",
                RangeEvent::Limit(_) => "limit",
            };
            format!("{name} {}", event.version())
        })
        .collect();
    format!("{kind}: {}", events.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_read_as_their_events() {
        let events = [
            RangeEvent::Introduced("0".into()),
            RangeEvent::Fixed("1.2.3".into()),
            RangeEvent::LastAffected("2.0".into()),
        ];
        assert_eq!(
            describe_range("ECOSYSTEM", &events),
            "ECOSYSTEM: introduced 0, fixed 1.2.3, last affected 2.0"
        );
    }
}
