//! Scans in the dashboard: the team's website and host scans with today's quota and a form to
//! scan a website, one scan's technologies (with the evidence of each), vulnerabilities, the
//! diff against the previous scan and a rescan button, and URL monitors. The same service as
//! the API (`services::scans`): dashboard scans count against `scans_per_day` like API ones.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use rampart_core::{PageRequest, Scope};
use rampart_engine::scans::website::Technology;
use rampart_engine::services::scans::{
    self, CreateMonitor, ScanDiff, ScanVulnerability, StartWebsiteScan, StartedBy, ThreatFinding,
};
use rampart_store::ScanRecord;

use super::{maybe_when, when};
use crate::state::AppState;
use crate::web::error::WebError;
use crate::web::form::Form;
use crate::web::layout::{render_with_status, see_other, Layout};
use crate::web::session::SignedIn;

pub struct ScanRow {
    pub id: String,
    pub kind: String,
    pub target: String,
    pub status: String,
    pub origin: String,
    pub created: String,
    pub technologies: usize,
    pub vulnerabilities: usize,
    pub critical_high: u32,
}

fn row(scan: &ScanRecord) -> ScanRow {
    let result = scans::parse_result(scan).unwrap_or_default();
    ScanRow {
        id: scan.public_id.clone(),
        kind: scan.kind.clone(),
        target: scan.target.clone(),
        status: scan.status.clone(),
        origin: scan.origin.clone(),
        created: when(scan.created_at),
        technologies: result.technologies.len(),
        vulnerabilities: result.vulnerabilities.len(),
        critical_high: result.severity_summary.critical + result.severity_summary.high,
    }
}

#[derive(Template)]
#[template(path = "scans.html")]
struct ScansPage {
    layout: Layout,
    scans: Vec<ScanRow>,
    total: i64,
    used: i64,
    limit: i64,
    resets: String,
    can_scan: bool,
}

/// `GET /scans`.
pub async fn list(State(state): State<AppState>, user: SignedIn) -> Result<Response, WebError> {
    let page = PageRequest::new(1, 100).expect("1 and 100 are a valid page");
    let listed = scans::list(&state, &user.actor, None, page).await?;
    let quotas = scans::quotas(&state, &user.actor).await?;
    Ok(render_with_status(
        StatusCode::OK,
        &ScansPage {
            layout: user.layout("Scans", "scans"),
            scans: listed.items.iter().map(row).collect(),
            total: listed.total,
            used: quotas.scans.used,
            limit: quotas.scans.limit,
            resets: when(quotas.scans_reset_at),
            can_scan: user.can(Scope::ScansWrite),
        },
    ))
}

/// `POST /scans`: scans a website (counted like an API scan), then shows it.
pub async fn start(
    State(state): State<AppState>,
    user: SignedIn,
    Form(form): Form,
) -> Result<Response, WebError> {
    let body = StartWebsiteScan {
        target: form.get("target").unwrap_or("").to_string(),
    };
    let scan = scans::start_website(
        &state,
        &user.actor,
        &user.origin,
        body,
        StartedBy::Dashboard,
    )
    .await?;
    scans::wait_for(&state, &user.actor, scan.clone(), state.config.scans.wait).await?;
    Ok(see_other(
        user.fragment,
        &format!("/scans/{}", scan.public_id),
    ))
}

pub struct EvidenceRow {
    pub source: String,
    pub field: String,
    pub value: String,
    pub matched_by: String,
    pub location: String,
}

pub struct TechnologyRow {
    pub name: String,
    pub version: String,
    pub category: String,
    pub cpe: String,
    pub evidence: Vec<EvidenceRow>,
}

fn technology_row(technology: &Technology) -> TechnologyRow {
    TechnologyRow {
        name: technology.name.clone(),
        version: technology.version.clone().unwrap_or_else(|| "—".into()),
        category: technology.category.clone(),
        cpe: technology.cpe.clone().unwrap_or_else(|| "—".into()),
        evidence: technology
            .evidence
            .iter()
            .map(|e| EvidenceRow {
                source: e.source.clone(),
                field: e.field.clone(),
                value: e.value.clone(),
                matched_by: e.matched_by.clone(),
                location: e.location.clone(),
            })
            .collect(),
    }
}

pub struct VulnerabilityRow {
    pub cve_id: String,
    pub technology: String,
    pub severity: String,
    pub cvss: String,
    pub epss: String,
    pub kev: bool,
    pub exploit: bool,
    pub summary: String,
}

fn vulnerability_row(v: &ScanVulnerability) -> VulnerabilityRow {
    VulnerabilityRow {
        cve_id: v.cve_id.clone(),
        technology: format!("{} {}", v.technology, v.version),
        severity: v.severity.clone().unwrap_or_else(|| "unscored".into()),
        cvss: v.cvss.map_or("—".into(), |s| format!("{s:.1}")),
        epss: v.epss.map_or("—".into(), |s| format!("{:.1}%", s * 100.0)),
        kev: v.kev,
        exploit: v.exploit_available,
        summary: v
            .summary
            .clone()
            .unwrap_or_default()
            .chars()
            .take(200)
            .collect(),
    }
}

pub struct FindingRow {
    pub kind: String,
    pub severity: String,
    pub details: String,
    pub cve: String,
}

fn finding_row(f: &ThreatFinding) -> FindingRow {
    FindingRow {
        kind: f.kind.clone(),
        severity: f.severity.clone(),
        details: f.details.clone(),
        cve: f.cve.clone().unwrap_or_else(|| "—".into()),
    }
}

#[derive(Template)]
#[template(path = "scan.html")]
struct ScanPage {
    layout: Layout,
    scan: ScanRow,
    error: Option<String>,
    finished: String,
    test_mode: bool,
    technologies: Vec<TechnologyRow>,
    vulnerabilities: Vec<VulnerabilityRow>,
    findings: Vec<FindingRow>,
    diff: Option<ScanDiff>,
    /// https targets: the certificate's facts as (label, value) rows, and its problems.
    tls: Option<Vec<(&'static str, String)>>,
    tls_problems: Vec<String>,
    tls_error: Option<String>,
    can_scan: bool,
}

fn yes_no(value: bool) -> String {
    if value { "yes" } else { "no" }.to_string()
}

/// The certificate as the page lists it.
fn tls_rows(cert: &rampart_engine::scans::tls::TlsCertificate) -> Vec<(&'static str, String)> {
    vec![
        ("Subject", cert.subject.clone()),
        ("Issuer", cert.issuer.clone()),
        ("Names", cert.subject_alt_names.join(", ")),
        (
            "Valid",
            format!(
                "{} to {} ({} days left)",
                cert.not_before.format("%Y-%m-%d"),
                cert.not_after.format("%Y-%m-%d"),
                cert.days_remaining
            ),
        ),
        ("Trusted by browsers", yes_no(cert.trusted)),
        ("Names this host", yes_no(cert.name_matches)),
        ("Self-signed", yes_no(cert.self_signed)),
        ("Expired", yes_no(cert.expired)),
        (
            "Protocol",
            format!(
                "{} {}",
                cert.protocol.clone().unwrap_or_default(),
                cert.cipher_suite.clone().unwrap_or_default()
            ),
        ),
        ("Serial", cert.serial.clone()),
    ]
}

/// `GET /scans/{id}`.
pub async fn show(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let scan = scans::get(&state, &user.actor, &id).await?;
    let result = scans::parse_result(&scan)?;
    Ok(render_with_status(
        StatusCode::OK,
        &ScanPage {
            layout: user.layout(format!("Scan {}", scan.public_id), "scans"),
            error: scan.error.clone(),
            finished: maybe_when(scan.finished_at),
            test_mode: scan.is_test,
            technologies: result.technologies.iter().map(technology_row).collect(),
            vulnerabilities: result
                .vulnerabilities
                .iter()
                .map(vulnerability_row)
                .collect(),
            findings: result.findings.iter().map(finding_row).collect(),
            diff: scans::parse_diff(&scan).filter(|d| d.previous_scan_id.is_some()),
            tls: result.tls.as_ref().map(tls_rows),
            tls_problems: result
                .tls
                .as_ref()
                .map(|t| t.problems.clone())
                .unwrap_or_default(),
            tls_error: result.tls_error.clone(),
            scan: row(&scan),
            can_scan: user.can(Scope::ScansWrite),
        },
    ))
}

/// `POST /scans/{id}/rescan`.
pub async fn rescan(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let scan = scans::rescan(&state, &user.actor, &user.origin, &id).await?;
    scans::wait_for(&state, &user.actor, scan.clone(), state.config.scans.wait).await?;
    Ok(see_other(
        user.fragment,
        &format!("/scans/{}", scan.public_id),
    ))
}

pub struct MonitorRow {
    pub id: i64,
    pub target: String,
    pub interval: i64,
    pub next_run: String,
    pub last_scan: Option<String>,
}

#[derive(Template)]
#[template(path = "scan_monitors.html")]
struct MonitorsPage {
    layout: Layout,
    monitors: Vec<MonitorRow>,
    limit: i64,
    can_change: bool,
}

/// `GET /scans/monitors`.
pub async fn monitors(State(state): State<AppState>, user: SignedIn) -> Result<Response, WebError> {
    let page = PageRequest::new(1, 100).expect("1 and 100 are a valid page");
    let (listed, limit) = scans::list_monitors(&state, &user.actor, page).await?;
    let mut rows = Vec::new();
    for monitor in listed.items {
        rows.push(MonitorRow {
            last_scan: scans::public_id_of(&state, &user.actor, monitor.last_scan_id).await?,
            id: monitor.id,
            target: monitor.target,
            interval: monitor.interval_minutes,
            next_run: when(monitor.next_run_at),
        });
    }
    Ok(render_with_status(
        StatusCode::OK,
        &MonitorsPage {
            layout: user.layout("URL monitors", "scans"),
            monitors: rows,
            limit,
            can_change: user.can(Scope::ScansWrite),
        },
    ))
}

/// `POST /scans/monitors`.
pub async fn create_monitor(
    State(state): State<AppState>,
    user: SignedIn,
    Form(form): Form,
) -> Result<Response, WebError> {
    let body = CreateMonitor {
        target: form.get("target").unwrap_or("").to_string(),
        interval_minutes: form.number("interval_minutes")?,
    };
    scans::create_monitor(&state, &user.actor, &user.origin, body).await?;
    Ok(see_other(user.fragment, "/scans/monitors"))
}

/// `POST /scans/monitors/{id}/delete`.
pub async fn delete_monitor(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    scans::delete_monitor(&state, &user.actor, &user.origin, id).await?;
    Ok(see_other(user.fragment, "/scans/monitors"))
}
