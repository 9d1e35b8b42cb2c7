//! Website and host scans, URL monitors and quota use. Canonical resources under
//! `/api/v1/scans`, plus the seeds' endpoints verbatim as thin adapters over the same service:
//! seed 003's `POST /api/scan` (CVEFinder's `success` envelope) with its rescan and JSON
//! export, and seed 002's `GET /v1/threats/scan` (CyberVault's shape, `sc_` ids). Scopes
//! `scans:read` / `scans:write`; the rules are [`rampart_engine::services::scans`]'s.

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use rampart_core::Scope;
use rampart_engine::scans::website::{FetchedPage, Technology};
use rampart_engine::services::scans::{
    self, CreateMonitor, Quotas, ScanDiff, ScanResult, ScanVulnerability, SeveritySummary,
    StartHostScan, StartWebsiteScan, StartedBy, ThreatFinding,
};
use rampart_engine::{ErrorCode, ServiceError};
use rampart_store::{ScanMonitor, ScanRecord};
use serde::{Deserialize, Serialize};

use super::{PageQuery, Paginated};
use crate::auth::{Principal, RequestMeta};
use crate::error::{ApiError, ApiJson, ApiQuery, ErrorBody};
use crate::state::AppState;

/// An error, with `Retry-After` when a quota or the concurrency cap refused a scan.
pub struct ScanApiError {
    error: ApiError,
    retry_after: Option<i64>,
}

impl From<ApiError> for ScanApiError {
    fn from(error: ApiError) -> Self {
        ScanApiError {
            error,
            retry_after: None,
        }
    }
}

impl From<ServiceError> for ScanApiError {
    fn from(error: ServiceError) -> Self {
        let retry_after = (error.code() == ErrorCode::RateLimited).then(|| {
            if error.message().contains("quota resets") {
                let (_, reset) = scans::quota_day(Utc::now());
                (reset - Utc::now()).num_seconds().max(1)
            } else {
                5
            }
        });
        ScanApiError {
            error: error.into(),
            retry_after,
        }
    }
}

impl IntoResponse for ScanApiError {
    fn into_response(self) -> Response {
        let mut response = self.error.into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// A scan.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ScanBody {
    /// `sc_` + 12 hex digits.
    pub id: String,
    /// `website` or `host`.
    pub kind: String,
    pub target: String,
    /// `queued`, `running`, `completed` or `failed`.
    pub status: String,
    /// Host scans: `depth`, `include_vulns`.
    #[schema(value_type = Object)]
    pub options: serde_json::Value,
    /// `api`, `ui`, `rescan` or `monitor`.
    pub origin: String,
    /// The scan this one repeats (rescans, monitor runs).
    pub rescan_of: Option<String>,
    pub monitor_id: Option<i64>,
    pub requested_by: String,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
    /// Once completed.
    pub result: Option<ScanResult>,
    /// Once completed: what changed since the previous completed scan of the target.
    pub diff: Option<ScanDiff>,
    /// Present for test keys: a simulated scan (no packet was sent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_mode: Option<bool>,
}

async fn scan_body(
    state: &AppState,
    principal: &Principal,
    scan: ScanRecord,
) -> Result<ScanBody, ScanApiError> {
    let result = if scan.status == "completed" {
        Some(scans::parse_result(&scan)?)
    } else {
        None
    };
    let rescan_of = scans::public_id_of(state, principal, scan.previous_scan_id).await?;
    Ok(ScanBody {
        diff: scans::parse_diff(&scan),
        result,
        rescan_of,
        options: serde_json::from_str(&scan.options).unwrap_or_default(),
        test_mode: scan.is_test.then_some(true),
        id: scan.public_id,
        kind: scan.kind,
        target: scan.target,
        status: scan.status,
        origin: scan.origin,
        monitor_id: scan.monitor_id,
        requested_by: scan.requested_by,
        created_at: scan.created_at,
        started_at: scan.started_at,
        finished_at: scan.finished_at,
        error: scan.error,
    })
}

/// `?wait=true`: answer when the scan finished (or the server's wait ran out).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WaitQuery {
    /// Wait for the scan to finish (up to the server's limit) before answering.
    pub wait: Option<bool>,
}

/// Starts a website scan: the page and a few well-known paths are fetched, technologies and
/// versions identified (headers, HTML, assets) and cross-referenced with the knowledge base.
/// Counts against `scans_per_day`.
#[utoipa::path(post, path = "/api/v1/scans", tag = "scans",
    security(("bearer" = ["scans:write"])),
    params(WaitQuery),
    request_body = StartWebsiteScan,
    responses(
        (status = 201, description = "Finished (test keys, or `wait=true`)", body = ScanBody),
        (status = 202, description = "Queued; poll `GET /api/v1/scans/{id}`", body = ScanBody),
        (status = 403, description = "The target is not in `--scan-allowed-targets`, or is a link-local/metadata address", body = ErrorBody),
        (status = 422, description = "`target` is invalid", body = ErrorBody),
        (status = 429, description = "`scans_per_day` used up (message has the reset time, `Retry-After` the seconds) or too many scans running", body = ErrorBody),
    ))]
pub async fn start_scan(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    query: Result<ApiQuery<WaitQuery>, ApiError>,
    body: Result<ApiJson<StartWebsiteScan>, ApiError>,
) -> Result<(StatusCode, Json<ScanBody>), ScanApiError> {
    principal
        .require(Scope::ScansWrite)
        .map_err(ApiError::from)?;
    let ApiQuery(query) = query?;
    let ApiJson(body) = body?;
    let scan = scans::start_website(&state, &principal, &meta, body, StartedBy::Api).await?;
    respond_started(&state, &principal, scan, query.wait.unwrap_or(false)).await
}

async fn respond_started(
    state: &AppState,
    principal: &Principal,
    scan: ScanRecord,
    wait: bool,
) -> Result<(StatusCode, Json<ScanBody>), ScanApiError> {
    let scan = if wait {
        scans::wait_for(state, principal, scan, state.config.scans.wait).await?
    } else {
        scan
    };
    let status = if matches!(scan.status.as_str(), "completed" | "failed") {
        StatusCode::CREATED
    } else {
        StatusCode::ACCEPTED
    };
    Ok((status, Json(scan_body(state, principal, scan).await?)))
}

/// Starts a host threat scan of an address or CIDR (`depth` quick|standard|deep).
#[utoipa::path(post, path = "/api/v1/scans/hosts", tag = "scans",
    security(("bearer" = ["scans:write"])),
    params(WaitQuery),
    request_body = StartHostScan,
    responses(
        (status = 201, description = "Finished (test keys, or `wait=true`)", body = ScanBody),
        (status = 202, description = "Queued; poll `GET /api/v1/scans/{id}`", body = ScanBody),
        (status = 403, description = "Not in `--scan-allowed-targets`, or link-local/metadata", body = ErrorBody),
        (status = 422, description = "`target_ip` or `depth` invalid, or the CIDR is larger than `--scan-max-cidr-hosts`", body = ErrorBody),
        (status = 429, description = "`scans_per_day` used up, or too many scans running", body = ErrorBody),
    ))]
pub async fn start_host_scan(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    query: Result<ApiQuery<WaitQuery>, ApiError>,
    body: Result<ApiJson<StartHostScan>, ApiError>,
) -> Result<(StatusCode, Json<ScanBody>), ScanApiError> {
    principal
        .require(Scope::ScansWrite)
        .map_err(ApiError::from)?;
    let ApiQuery(query) = query?;
    let ApiJson(body) = body?;
    let scan = scans::start_host(&state, &principal, &meta, body).await?;
    respond_started(&state, &principal, scan, query.wait.unwrap_or(false)).await
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ScanListQuery {
    /// `website` or `host`.
    #[param(pattern = "^$|^(website|host)$")]
    pub kind: Option<String>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

/// A page of scans.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ScanList {
    pub items: Vec<ScanBody>,
    pub page: u32,
    pub per_page: u32,
    pub total: i64,
}

/// The team's scans, newest first.
#[utoipa::path(get, path = "/api/v1/scans", tag = "scans",
    security(("bearer" = ["scans:read"])),
    params(ScanListQuery),
    responses(
        (status = 200, description = "One page of scans", body = ScanList),
        (status = 400, description = "Bad query parameter", body = ErrorBody),
    ))]
pub async fn list_scans(
    State(state): State<AppState>,
    principal: Principal,
    query: Result<ApiQuery<ScanListQuery>, ApiError>,
) -> Result<Json<ScanList>, ScanApiError> {
    principal
        .require(Scope::ScansRead)
        .map_err(ApiError::from)?;
    let ApiQuery(query) = query?;
    let request = PageQuery {
        page: query.page,
        per_page: query.per_page,
    }
    .to_request()?;
    let page = scans::list(&state, &principal, query.kind.as_deref(), request).await?;
    let total = page.total;
    let mut items = Vec::with_capacity(page.items.len());
    for scan in page.items {
        items.push(scan_body(&state, &principal, scan).await?);
    }
    Ok(Json(ScanList {
        items,
        page: request.page(),
        per_page: request.per_page(),
        total,
    }))
}

/// One scan, with its result and diff once completed.
#[utoipa::path(get, path = "/api/v1/scans/{id}", tag = "scans",
    security(("bearer" = ["scans:read"])),
    params(("id" = String, Path, description = "Scan id (`sc_…`)", pattern = "^sc_[0-9a-f]{12}$")),
    responses(
        (status = 200, description = "The scan", body = ScanBody),
        (status = 404, description = "No such scan in this team", body = ErrorBody),
    ))]
pub async fn get_scan(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<ScanBody>, ScanApiError> {
    principal
        .require(Scope::ScansRead)
        .map_err(ApiError::from)?;
    let scan = scans::get(&state, &principal, &id).await?;
    Ok(Json(scan_body(&state, &principal, scan).await?))
}

/// Scans the same target again with the same options; the earlier scan stays, and the new
/// one's diff compares with it. Counts against `scans_per_day`.
#[utoipa::path(post, path = "/api/v1/scans/{id}/rescan", tag = "scans",
    security(("bearer" = ["scans:write"])),
    params(("id" = String, Path, description = "Scan id (`sc_…`)", pattern = "^sc_[0-9a-f]{12}$"), WaitQuery),
    responses(
        (status = 201, description = "Finished (test keys, or `wait=true`)", body = ScanBody),
        (status = 202, description = "Queued", body = ScanBody),
        (status = 404, description = "No such scan in this team", body = ErrorBody),
        (status = 429, description = "`scans_per_day` used up", body = ErrorBody),
    ))]
pub async fn rescan(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    Path(id): Path<String>,
    query: Result<ApiQuery<WaitQuery>, ApiError>,
) -> Result<(StatusCode, Json<ScanBody>), ScanApiError> {
    principal
        .require(Scope::ScansWrite)
        .map_err(ApiError::from)?;
    let ApiQuery(query) = query?;
    let scan = scans::rescan(&state, &principal, &meta, &id).await?;
    respond_started(&state, &principal, scan, query.wait.unwrap_or(false)).await
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DiffQuery {
    /// An earlier scan of the same target (default: the previous completed one).
    pub against: Option<String>,
}

/// What changed between a scan and the previous completed scan of its target (or `against`).
#[utoipa::path(get, path = "/api/v1/scans/{id}/diff", tag = "scans",
    security(("bearer" = ["scans:read"])),
    params(("id" = String, Path, description = "Scan id (`sc_…`)", pattern = "^sc_[0-9a-f]{12}$"), DiffQuery),
    responses(
        (status = 200, description = "The diff", body = ScanDiff),
        (status = 404, description = "No such scan in this team", body = ErrorBody),
        (status = 409, description = "The scan has not completed", body = ErrorBody),
        (status = 422, description = "`against` is not a completed scan of the same target", body = ErrorBody),
    ))]
pub async fn scan_diff(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    query: Result<ApiQuery<DiffQuery>, ApiError>,
) -> Result<Json<ScanDiff>, ScanApiError> {
    principal
        .require(Scope::ScansRead)
        .map_err(ApiError::from)?;
    let ApiQuery(query) = query?;
    Ok(Json(
        scans::diff(&state, &principal, &id, query.against.as_deref()).await?,
    ))
}

fn attachment(name: &str, body: serde_json::Value) -> Response {
    let mut response = Json(body).into_response();
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

/// One scan as a JSON file (the scan resource, result and diff included).
#[utoipa::path(get, path = "/api/v1/scans/{id}/export", tag = "scans",
    security(("bearer" = ["scans:read"])),
    params(("id" = String, Path, description = "Scan id (`sc_…`)", pattern = "^sc_[0-9a-f]{12}$")),
    responses(
        (status = 200, description = "The scan as a JSON attachment", body = ScanBody),
        (status = 404, description = "No such scan in this team", body = ErrorBody),
    ))]
pub async fn export_scan(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Response, ScanApiError> {
    principal
        .require(Scope::ScansRead)
        .map_err(ApiError::from)?;
    let scan = scans::get(&state, &principal, &id).await?;
    let name = format!("{}.json", scan.public_id);
    let body = scan_body(&state, &principal, scan).await?;
    Ok(attachment(
        &name,
        serde_json::to_value(body).unwrap_or_default(),
    ))
}

/// Every scan of the team.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ScanExport {
    pub exported_at: DateTime<Utc>,
    pub total: usize,
    pub scans: Vec<ScanBody>,
}

/// Every scan of the team (newest 1,000) as one JSON file.
#[utoipa::path(get, path = "/api/v1/scans/export", tag = "scans",
    security(("bearer" = ["scans:read"])),
    responses((status = 200, description = "The scans as a JSON attachment", body = ScanExport)))]
pub async fn export_scans(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Response, ScanApiError> {
    principal
        .require(Scope::ScansRead)
        .map_err(ApiError::from)?;
    let all = scans::export_all(&state, &principal).await?;
    let mut bodies = Vec::with_capacity(all.len());
    for scan in all {
        bodies.push(scan_body(&state, &principal, scan).await?);
    }
    let export = ScanExport {
        exported_at: state.now(),
        total: bodies.len(),
        scans: bodies,
    };
    Ok(attachment(
        "scans.json",
        serde_json::to_value(export).unwrap_or_default(),
    ))
}

/// A URL monitor.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MonitorBody {
    pub id: i64,
    pub target: String,
    pub interval_minutes: i64,
    pub enabled: bool,
    pub next_run_at: DateTime<Utc>,
    /// The latest scan it started (`sc_…`).
    pub last_scan_id: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_mode: Option<bool>,
}

async fn monitor_body(
    state: &AppState,
    principal: &Principal,
    monitor: ScanMonitor,
) -> Result<MonitorBody, ScanApiError> {
    Ok(MonitorBody {
        last_scan_id: scans::public_id_of(state, principal, monitor.last_scan_id).await?,
        id: monitor.id,
        target: monitor.target,
        interval_minutes: monitor.interval_minutes,
        enabled: monitor.enabled,
        next_run_at: monitor.next_run_at,
        created_by: monitor.created_by,
        created_at: monitor.created_at,
        test_mode: monitor.is_test.then_some(true),
    })
}

/// Creates a URL monitor: the site is scanned now and every `interval_minutes`; each run's
/// diff goes into its `scan.completed` event. Counted against `url_monitors` (pro: 5).
#[utoipa::path(post, path = "/api/v1/scans/monitors", tag = "scans",
    security(("bearer" = ["scans:write"])),
    request_body = CreateMonitor,
    responses(
        (status = 201, description = "Created", body = MonitorBody),
        (status = 403, description = "`url_monitors` reached (`quota_exceeded`), or the target is not allowed", body = ErrorBody),
        (status = 422, description = "A field is invalid (named)", body = ErrorBody),
    ))]
pub async fn create_monitor(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    body: Result<ApiJson<CreateMonitor>, ApiError>,
) -> Result<(StatusCode, Json<MonitorBody>), ScanApiError> {
    principal
        .require(Scope::ScansWrite)
        .map_err(ApiError::from)?;
    let ApiJson(body) = body?;
    let monitor = scans::create_monitor(&state, &principal, &meta, body).await?;
    Ok((
        StatusCode::CREATED,
        Json(monitor_body(&state, &principal, monitor).await?),
    ))
}

/// A page of monitors with the plan's limit.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MonitorList {
    pub items: Vec<MonitorBody>,
    pub page: u32,
    pub per_page: u32,
    pub total: i64,
    /// The plan's `url_monitors`.
    pub limit: i64,
}

/// The team's URL monitors.
#[utoipa::path(get, path = "/api/v1/scans/monitors", tag = "scans",
    security(("bearer" = ["scans:read"])),
    params(PageQuery),
    responses((status = 200, description = "One page of monitors", body = MonitorList)))]
pub async fn list_monitors(
    State(state): State<AppState>,
    principal: Principal,
    query: Result<ApiQuery<PageQuery>, ApiError>,
) -> Result<Json<MonitorList>, ScanApiError> {
    principal
        .require(Scope::ScansRead)
        .map_err(ApiError::from)?;
    let ApiQuery(query) = query?;
    let request = query.to_request()?;
    let (page, limit) = scans::list_monitors(&state, &principal, request).await?;
    let total = page.total;
    let mut items = Vec::new();
    for monitor in page.items {
        items.push(monitor_body(&state, &principal, monitor).await?);
    }
    let page = Paginated {
        items,
        page: request.page(),
        per_page: request.per_page(),
        total,
    };
    Ok(Json(MonitorList {
        items: page.items,
        page: page.page,
        per_page: page.per_page,
        total: page.total,
        limit,
    }))
}

/// One monitor.
#[utoipa::path(get, path = "/api/v1/scans/monitors/{id}", tag = "scans",
    security(("bearer" = ["scans:read"])),
    params(("id" = i64, Path, description = "Monitor id")),
    responses(
        (status = 200, description = "The monitor", body = MonitorBody),
        (status = 404, description = "No such monitor in this team", body = ErrorBody),
    ))]
pub async fn get_monitor(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Json<MonitorBody>, ScanApiError> {
    principal
        .require(Scope::ScansRead)
        .map_err(ApiError::from)?;
    let monitor = scans::get_monitor(&state, &principal, id).await?;
    Ok(Json(monitor_body(&state, &principal, monitor).await?))
}

/// Deletes a monitor (its scans stay).
#[utoipa::path(delete, path = "/api/v1/scans/monitors/{id}", tag = "scans",
    security(("bearer" = ["scans:write"])),
    params(("id" = i64, Path, description = "Monitor id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such monitor in this team", body = ErrorBody),
    ))]
pub async fn delete_monitor(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<StatusCode, ScanApiError> {
    principal
        .require(Scope::ScansWrite)
        .map_err(ApiError::from)?;
    scans::delete_monitor(&state, &principal, &meta, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The team's use of its plan's quotas: scans today (with the reset time), URL monitors,
/// product/vendor alerts and the caller's API keys.
#[utoipa::path(get, path = "/api/v1/usage/quotas", tag = "scans",
    security(("bearer" = ["scans:read"])),
    responses((status = 200, description = "Used and limit per quota", body = Quotas)))]
pub async fn usage_quotas(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Quotas>, ScanApiError> {
    principal
        .require(Scope::ScansRead)
        .map_err(ApiError::from)?;
    Ok(Json(scans::quotas(&state, &principal).await?))
}

// ---- Seed 003 (CVEFinder): `POST /api/scan`, rescan, JSON export ----

/// Seed 003's scan response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SeedScanResponse {
    pub success: bool,
    pub scan_id: String,
    pub target: String,
    /// `completed`, `running`, `queued` or `failed`.
    pub status: String,
    pub technologies: Vec<Technology>,
    pub vulnerabilities: Vec<ScanVulnerability>,
    pub severity_summary: SeveritySummary,
    pub pages: Vec<FetchedPage>,
    /// https targets: the server's certificate and whether a browser would trust it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<rampart_engine::scans::tls::TlsCertificate>,
    pub diff: Option<ScanDiff>,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_mode: Option<bool>,
}

fn seed_scan_response(scan: ScanRecord) -> Result<SeedScanResponse, ScanApiError> {
    let result = scans::parse_result(&scan)?;
    Ok(SeedScanResponse {
        success: scan.status != "failed",
        diff: scans::parse_diff(&scan),
        test_mode: scan.is_test.then_some(true),
        scan_id: scan.public_id,
        target: scan.target,
        status: scan.status,
        technologies: result.technologies,
        vulnerabilities: result.vulnerabilities,
        severity_summary: result.severity_summary,
        pages: result.pages,
        tls: result.tls,
        error: scan.error,
        created_at: scan.created_at,
    })
}

/// Scans a website (seed 003): technology/version detection and CVEs; answers when the scan
/// finished (or with `status: running` after the server's wait). 10 scans per day on pro, API
/// and dashboard alike.
#[utoipa::path(post, path = "/api/scan", tag = "scans",
    security(("bearer" = ["scans:write"])),
    request_body = StartWebsiteScan,
    responses(
        (status = 200, description = "The scan", body = SeedScanResponse),
        (status = 403, description = "Target not allowed", body = ErrorBody),
        (status = 422, description = "`target` invalid", body = ErrorBody),
        (status = 429, description = "`scans_per_day` used up", body = ErrorBody),
    ))]
pub async fn seed_scan(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    body: Result<ApiJson<StartWebsiteScan>, ApiError>,
) -> Result<Json<SeedScanResponse>, ScanApiError> {
    principal
        .require(Scope::ScansWrite)
        .map_err(ApiError::from)?;
    let ApiJson(body) = body?;
    let scan = scans::start_website(&state, &principal, &meta, body, StartedBy::Api).await?;
    let scan = scans::wait_for(&state, &principal, scan, state.config.scans.wait).await?;
    Ok(Json(seed_scan_response(scan)?))
}

/// Body of seed 003's rescan.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SeedRescan {
    /// The scan to repeat (`sc_…`).
    pub scan_id: String,
}

/// Rescans (refreshes) an existing scan (seed 003's "manual rescan"); counts against the quota.
#[utoipa::path(post, path = "/api/rescan", tag = "scans",
    security(("bearer" = ["scans:write"])),
    request_body = SeedRescan,
    responses(
        (status = 200, description = "The new scan", body = SeedScanResponse),
        (status = 404, description = "No such scan", body = ErrorBody),
        (status = 429, description = "`scans_per_day` used up", body = ErrorBody),
    ))]
pub async fn seed_rescan(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    body: Result<ApiJson<SeedRescan>, ApiError>,
) -> Result<Json<SeedScanResponse>, ScanApiError> {
    principal
        .require(Scope::ScansWrite)
        .map_err(ApiError::from)?;
    let ApiJson(body) = body?;
    let scan = scans::rescan(&state, &principal, &meta, &body.scan_id).await?;
    let scan = scans::wait_for(&state, &principal, scan, state.config.scans.wait).await?;
    Ok(Json(seed_scan_response(scan)?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SeedExportQuery {
    /// One scan (`sc_…`); without it, every scan of the team.
    pub scan_id: Option<String>,
}

/// JSON export of scan results (seed 003): one scan with `scan_id`, else all.
#[utoipa::path(get, path = "/api/export-scan", tag = "scans",
    security(("bearer" = ["scans:read"])),
    params(SeedExportQuery),
    responses(
        (status = 200, description = "A JSON attachment"),
        (status = 404, description = "No such scan", body = ErrorBody),
    ))]
pub async fn seed_export(
    State(state): State<AppState>,
    principal: Principal,
    query: Result<ApiQuery<SeedExportQuery>, ApiError>,
) -> Result<Response, ScanApiError> {
    principal
        .require(Scope::ScansRead)
        .map_err(ApiError::from)?;
    let ApiQuery(query) = query?;
    match query
        .scan_id
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(id) => {
            let scan = scans::get(&state, &principal, id).await?;
            let name = format!("{}.json", scan.public_id);
            let body = seed_scan_response(scan)?;
            Ok(attachment(
                &name,
                serde_json::to_value(body).unwrap_or_default(),
            ))
        }
        None => {
            let all = scans::export_all(&state, &principal).await?;
            let mut bodies = Vec::new();
            for scan in all {
                bodies.push(seed_scan_response(scan)?);
            }
            Ok(attachment(
                "scans.json",
                serde_json::json!({"success": true, "total": bodies.len(), "scans": bodies}),
            ))
        }
    }
}

// ---- Seed 002 (CyberVault): `GET /v1/threats/scan` ----

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ThreatScanQuery {
    /// IP address or CIDR range to scan (required).
    pub target_ip: Option<String>,
    /// quick (default), standard or deep.
    pub depth: Option<String>,
    /// Include CVE database cross-referencing.
    pub include_vulns: Option<bool>,
}

/// Seed 002's threat scan response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ThreatScanResponse {
    pub scan_id: String,
    /// `completed` or `running` (poll `GET /v1/threats/scan/{scan_id}`).
    pub status: String,
    pub threats_found: usize,
    pub findings: Vec<SeedFinding>,
    pub timestamp: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_mode: Option<bool>,
}

/// A finding in seed 002's shape.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SeedFinding {
    /// `open_port` or `vulnerable_service`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `low`, `medium`, `high` or `critical`.
    pub severity: String,
    pub details: String,
    pub cve: Option<String>,
}

fn threat_response(scan: ScanRecord) -> Result<ThreatScanResponse, ScanApiError> {
    let result = scans::parse_result(&scan)?;
    let findings: Vec<SeedFinding> = result
        .findings
        .into_iter()
        .map(|f: ThreatFinding| SeedFinding {
            kind: f.kind,
            severity: f.severity,
            details: f.details,
            cve: f.cve,
        })
        .collect();
    Ok(ThreatScanResponse {
        status: match scan.status.as_str() {
            "queued" => "running".to_string(),
            other => other.to_string(),
        },
        threats_found: findings.len(),
        findings,
        timestamp: scan.finished_at.unwrap_or(scan.created_at),
        test_mode: scan.is_test.then_some(true),
        scan_id: scan.public_id,
    })
}

/// Initiates a threat scan of an IP or CIDR (seed 002): TCP connect scan of the depth's port
/// set, banner grabbing and service identification, CVEs with `include_vulns=true`. Small
/// targets answer `completed`; larger ones `running` with the `scan_id` to poll.
#[utoipa::path(get, path = "/v1/threats/scan", tag = "scans",
    security(("bearer" = ["scans:write"])),
    params(ThreatScanQuery),
    responses(
        (status = 200, description = "The scan", body = ThreatScanResponse),
        (status = 403, description = "Target not in `--scan-allowed-targets`, or link-local/metadata", body = ErrorBody),
        (status = 422, description = "`target_ip` or `depth` invalid, or the CIDR is too large", body = ErrorBody),
        (status = 429, description = "`scans_per_day` used up", body = ErrorBody),
    ))]
pub async fn seed_threat_scan(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    query: Result<ApiQuery<ThreatScanQuery>, ApiError>,
) -> Result<Json<ThreatScanResponse>, ScanApiError> {
    principal
        .require(Scope::ScansWrite)
        .map_err(ApiError::from)?;
    let ApiQuery(query) = query?;
    let target_ip = query.target_ip.ok_or_else(|| {
        ApiError::new(
            ErrorCode::ValidationFailed,
            "`target_ip` is required: an IP address or a CIDR range",
        )
    })?;
    let small = scans::parse_host_target(&target_ip, state.config.scans.max_cidr_hosts)
        .map(|t| t.addresses.len() <= 16)
        .unwrap_or(false)
        && query.depth.as_deref().map(str::trim) != Some("deep");
    let scan = scans::start_host(
        &state,
        &principal,
        &meta,
        StartHostScan {
            target_ip,
            depth: query.depth,
            include_vulns: query.include_vulns.unwrap_or(false),
        },
    )
    .await?;
    let scan = if small {
        scans::wait_for(&state, &principal, scan, state.config.scans.wait).await?
    } else {
        scan
    };
    Ok(Json(threat_response(scan)?))
}

/// A threat scan's status and findings (seed 002's shape), for polling a `running` scan.
#[utoipa::path(get, path = "/v1/threats/scan/{scan_id}", tag = "scans",
    security(("bearer" = ["scans:read"])),
    params(("scan_id" = String, Path, description = "`sc_…`")),
    responses(
        (status = 200, description = "The scan", body = ThreatScanResponse),
        (status = 404, description = "No such scan in this team", body = ErrorBody),
    ))]
pub async fn seed_threat_scan_status(
    State(state): State<AppState>,
    principal: Principal,
    Path(scan_id): Path<String>,
) -> Result<Json<ThreatScanResponse>, ScanApiError> {
    principal
        .require(Scope::ScansRead)
        .map_err(ApiError::from)?;
    let scan = scans::get(&state, &principal, &scan_id).await?;
    Ok(Json(threat_response(scan)?))
}
