//! API usage analytics (issue 20): `GET /api/v1/usage` (totals, error rates and latency
//! percentiles from the per-minute rollups, optionally grouped) and `GET /api/v1/usage/requests`
//! (the raw request log, a page of it or a JSON/CSV download). Needs `audit:read`; a team sees
//! its own requests only. The rules are the engine's `services::usage`.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use rampart_core::{PageRequest, Scope, DEFAULT_PER_PAGE};
use rampart_engine::services::usage::{self, UsageQuery, UsageReport};
use rampart_store::RequestLogRecord;
use serde::{Deserialize, Serialize};

use crate::auth::Principal;
use crate::error::{ApiError, ApiQuery, ErrorBody, ErrorCode};
use crate::state::AppState;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UsageParams {
    /// Only requests made with this API key.
    pub key_id: Option<i64>,
    /// Only requests of this user: an e-mail, a service account's `api_<name>`, or a user id.
    pub user: Option<String>,
    /// From (inclusive): RFC 3339, a date (`2026-12-01`) or a duration ago (`24h`, `7d`).
    /// Default: 30 days ago. Analytics count whole minutes.
    #[param(min_length = 1)]
    pub since: Option<String>,
    /// Until (exclusive), as `since`. Default: now.
    #[param(min_length = 1)]
    pub until: Option<String>,
    /// A code (`404`), a class (`4xx`) or `error` (400 and above).
    pub status: Option<String>,
    /// A route template as logged, e.g. `/api/v1/releases/{id}`.
    pub endpoint: Option<String>,
    /// An HTTP method.
    pub method: Option<String>,
    /// `endpoint`, `status`, `day`, `hour` or `key`.
    #[param(pattern = "^(endpoint|status|day|hour|key)$")]
    pub group_by: Option<String>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RequestLogParams {
    pub key_id: Option<i64>,
    /// An e-mail, a service account's `api_<name>`, or a user id.
    pub user: Option<String>,
    /// From (inclusive): RFC 3339, a date or a duration ago (`24h`). Default: 30 days ago.
    #[param(min_length = 1)]
    pub since: Option<String>,
    /// Until (exclusive). Default: now.
    #[param(min_length = 1)]
    pub until: Option<String>,
    /// A code (`404`), a class (`4xx`) or `error`.
    pub status: Option<String>,
    /// A route template as logged.
    pub endpoint: Option<String>,
    pub method: Option<String>,
    /// The client IP (after trusted proxies).
    pub ip: Option<String>,
    /// `json` or `csv`: every matching request (up to 100,000) as a download instead of a page.
    #[param(pattern = "^(json|csv)$")]
    pub format: Option<String>,
    /// 1-based (default 1).
    pub page: Option<u32>,
    /// 1-500 (default 50).
    pub per_page: Option<u32>,
}

/// One logged request.
#[derive(Serialize, utoipa::ToSchema)]
pub struct RequestLogView {
    pub id: i64,
    pub time: DateTime<Utc>,
    pub key_id: Option<i64>,
    /// The key's name, while the key exists.
    pub key_name: Option<String>,
    pub user_id: Option<i64>,
    /// The user's e-mail (`api_<name>` for a service account), while they exist.
    pub user: Option<String>,
    pub method: String,
    /// The route template (`/api/v1/releases/{id}`); `unmatched` when no route answered.
    pub endpoint: String,
    pub status: i32,
    pub latency_ms: f64,
    pub request_bytes: i64,
    pub response_bytes: i64,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RequestLogPage {
    pub data: Vec<RequestLogView>,
    pub page: u32,
    pub per_page: u32,
    pub total: i64,
}

fn view(record: RequestLogRecord) -> RequestLogView {
    RequestLogView {
        id: record.id,
        time: record.at,
        key_id: record.key_id,
        key_name: record.key_name,
        user_id: record.user_id,
        user: record.user_label,
        method: record.method,
        endpoint: record.endpoint,
        status: record.status,
        latency_ms: record.latency_us as f64 / 1000.0,
        request_bytes: record.request_bytes,
        response_bytes: record.response_bytes,
        client_ip: record.client_ip,
        user_agent: record.user_agent,
        request_id: record.request_id,
    }
}

/// The team's API usage: totals, error rates and latency percentiles (from the per-minute
/// rollups' histograms), optionally grouped by endpoint, status, day, hour or key.
/// The JSON answer of `GET /api/v1/usage/requests`: a page, or with `format=json` every
/// matching request as one array (the document's description of it; never built).
#[derive(Serialize, utoipa::ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum RequestLogJson {
    Page(RequestLogPage),
    Export(Vec<RequestLogView>),
}

#[utoipa::path(get, path = "/api/v1/usage", tag = "usage",
    security(("bearer" = ["audit:read"])),
    params(UsageParams),
    responses(
        (status = 200, description = "Totals and groups", body = UsageReport),
        (status = 400, description = "Unknown query parameter", body = ErrorBody),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
        (status = 403, description = "Missing scope", body = ErrorBody),
        (status = 422, description = "Bad filter value (the message names it)", body = ErrorBody),
    ))]
pub async fn report(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(params): ApiQuery<UsageParams>,
) -> Result<Json<UsageReport>, ApiError> {
    let query = UsageQuery {
        key_id: params.key_id,
        user: params.user,
        since: params.since,
        until: params.until,
        status: params.status,
        endpoint: params.endpoint,
        method: params.method,
        ip: None,
        group_by: params.group_by,
    };
    Ok(Json(usage::usage_report(&state, &principal, &query).await?))
}

/// The team's request log, newest first: a page, or with `format=json|csv` every matching
/// request as a download.
#[utoipa::path(get, path = "/api/v1/usage/requests", tag = "usage",
    security(("bearer" = ["audit:read"])),
    params(RequestLogParams),
    responses(
        (status = 200, description = "A page, or a JSON array / CSV download with `format`", content(
            (RequestLogJson = "application/json"),
            (String = "text/csv"),
        )),
        (status = 400, description = "Unknown query parameter or format", body = ErrorBody),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
        (status = 403, description = "Missing scope", body = ErrorBody),
        (status = 422, description = "Bad filter value (the message names it)", body = ErrorBody),
    ))]
pub async fn requests(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(params): ApiQuery<RequestLogParams>,
) -> Result<Response, ApiError> {
    principal.require(Scope::AuditRead)?;
    let format = match params.format.as_deref() {
        None => None,
        Some(format @ ("json" | "csv")) => Some(format),
        Some(_) => {
            return Err(ApiError::new(
                ErrorCode::BadRequest,
                "`format` must be json or csv",
            ))
        }
    };
    // Checked with a download too (which has no pages), so a bad value is never ignored.
    let requested = PageRequest::from_query(params.page, params.per_page, DEFAULT_PER_PAGE)?;
    let page = format.is_none().then_some(requested);
    let query = UsageQuery {
        key_id: params.key_id,
        user: params.user,
        since: params.since,
        until: params.until,
        status: params.status,
        endpoint: params.endpoint,
        method: params.method,
        ip: params.ip,
        group_by: None,
    };
    let (records, total) = usage::request_log(&state, &principal, &query, page).await?;
    let rows: Vec<RequestLogView> = records.into_iter().map(view).collect();
    match (format, page) {
        (None, Some(page)) => Ok(Json(RequestLogPage {
            data: rows,
            page: page.page(),
            per_page: page.per_page(),
            total,
        })
        .into_response()),
        (Some("csv"), _) => csv_download(&rows),
        _ => Ok((
            [(
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"api-requests.json\"",
            )],
            Json(rows),
        )
            .into_response()),
    }
}

fn csv_download(rows: &[RequestLogView]) -> Result<Response, ApiError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let csv_error = |e: csv::Error| ApiError::internal(e);
    writer
        .write_record([
            "id",
            "time",
            "key_id",
            "key_name",
            "user_id",
            "user",
            "method",
            "endpoint",
            "status",
            "latency_ms",
            "request_bytes",
            "response_bytes",
            "client_ip",
            "user_agent",
            "request_id",
        ])
        .map_err(csv_error)?;
    let text = |value: &Option<String>| value.clone().unwrap_or_default();
    let number = |value: Option<i64>| value.map(|v| v.to_string()).unwrap_or_default();
    for row in rows {
        writer
            .write_record([
                row.id.to_string(),
                row.time.to_rfc3339(),
                number(row.key_id),
                text(&row.key_name),
                number(row.user_id),
                text(&row.user),
                row.method.clone(),
                row.endpoint.clone(),
                row.status.to_string(),
                format!("{:.3}", row.latency_ms),
                row.request_bytes.to_string(),
                row.response_bytes.to_string(),
                text(&row.client_ip),
                text(&row.user_agent),
                text(&row.request_id),
            ])
            .map_err(csv_error)?;
    }
    let body = writer
        .into_inner()
        .map_err(|e| ApiError::internal(e.to_string()))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"api-requests.csv\"",
            ),
        ],
        body,
    )
        .into_response())
}
