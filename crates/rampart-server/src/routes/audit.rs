//! The team's audit log: listing with filters and pagination, export as JSON or CSV.
//! Read-only: no route updates or deletes entries.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use rampart_core::{PageError, PageRequest, Scope, DEFAULT_PER_PAGE};
use rampart_store::{AuditEntry, AuditFilter};
use serde::{Deserialize, Serialize};

use crate::auth::{Principal, RequestMeta};
use crate::error::{ApiError, ApiQuery, ErrorBody, ErrorCode};
use crate::state::AppState;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Exact actor (e-mail, or `api_<key-name>` for a service account).
    pub actor: Option<String>,
    /// Exact action (`api_key.create`), or a prefix ending in `.` (`api_key.`).
    pub action: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    /// Entries at or after this RFC 3339 time.
    pub since: Option<DateTime<Utc>>,
    /// Entries at or before this RFC 3339 time.
    pub until: Option<DateTime<Utc>>,
    /// 1-based (default 1).
    pub page: Option<u32>,
    /// 1-500 (default 50).
    pub per_page: Option<u32>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// `json` (default) or `csv`.
    #[param(pattern = "^(json|csv)$")]
    pub format: Option<String>,
    pub actor: Option<String>,
    pub action: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AuditEntryView {
    pub id: i64,
    pub time: DateTime<Utc>,
    pub actor: String,
    /// `user`, `service_account` or `anonymous`.
    pub actor_type: String,
    pub actor_user_id: Option<i64>,
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub request_id: Option<String>,
    pub source_ip: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub details: Option<serde_json::Value>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AuditPage {
    pub data: Vec<AuditEntryView>,
    pub page: u32,
    pub per_page: u32,
    pub total: i64,
}

fn entry_view(entry: AuditEntry) -> AuditEntryView {
    AuditEntryView {
        id: entry.id,
        time: entry.created_at,
        actor: entry.actor,
        actor_type: entry.actor_kind,
        actor_user_id: entry.actor_user_id,
        action: entry.action,
        target_type: entry.target_type,
        target_id: entry.target_id,
        request_id: entry.request_id,
        source_ip: entry.source_ip,
        details: entry.details.and_then(|d| serde_json::from_str(&d).ok()),
    }
}

/// The team's audit entries, newest first.
#[utoipa::path(get, path = "/api/v1/audit-log", tag = "audit",
    operation_id = "list_audit_log",
    security(("bearer" = ["audit:read"])),
    params(AuditQuery),
    responses(
        (status = 200, description = "A page of entries", body = AuditPage),
        (status = 400, description = "Bad query parameter", body = ErrorBody),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
        (status = 403, description = "Missing scope", body = ErrorBody),
    ))]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<Json<AuditPage>, ApiError> {
    principal.require(Scope::AuditRead)?;
    let page =
        PageRequest::from_query(query.page, query.per_page, DEFAULT_PER_PAGE).map_err(|error| {
            match error {
                // This route's wording since it was written; kept so its responses do not change.
                PageError::PerPage => ApiError::new(
                    ErrorCode::BadRequest,
                    format!("`per_page` must be 1 to {}", rampart_core::MAX_PER_PAGE),
                ),
                PageError::Page => error.into(),
            }
        })?;
    let filter = AuditFilter {
        actor: query.actor,
        action: query.action,
        target_type: query.target_type,
        target_id: query.target_id,
        since: query.since,
        until: query.until,
    };
    let (entries, total) = state
        .store
        .list_audit(principal.team_id, &filter, Some(page))
        .await?;
    Ok(Json(AuditPage {
        data: entries.into_iter().map(entry_view).collect(),
        page: page.page(),
        per_page: page.per_page(),
        total,
    }))
}

/// Every matching entry as a JSON array or CSV (a download).
#[utoipa::path(get, path = "/api/v1/audit-log/export", tag = "audit",
    operation_id = "export_audit_log",
    security(("bearer" = ["audit:read"])),
    params(ExportQuery),
    responses(
        (status = 200, description = "JSON array or CSV", content(
            (Vec<AuditEntryView> = "application/json"),
            (String = "text/csv"),
        )),
        (status = 400, description = "Bad query parameter", body = ErrorBody),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
        (status = 403, description = "Missing scope", body = ErrorBody),
    ))]
pub async fn export(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    ApiQuery(query): ApiQuery<ExportQuery>,
) -> Result<Response, ApiError> {
    principal.require(Scope::AuditRead)?;
    let format = query.format.as_deref().unwrap_or("json");
    if format != "json" && format != "csv" {
        return Err(ApiError::new(
            ErrorCode::BadRequest,
            "`format` must be json or csv",
        ));
    }
    let filter = AuditFilter {
        actor: query.actor,
        action: query.action,
        target_type: query.target_type,
        target_id: query.target_id,
        since: query.since,
        until: query.until,
    };
    let (entries, _) = state
        .store
        .list_audit(principal.team_id, &filter, None)
        .await?;
    let entries: Vec<AuditEntryView> = entries.into_iter().map(entry_view).collect();
    // The export itself is recorded (after reading, so it is not in this file): the
    // compliance check `audit_log` asks when the log was last exported.
    let mut event = principal.audit(&meta, "audit.export");
    event.details = Some(serde_json::json!({"format": format, "entries": entries.len()}));
    state.store.record_audit(&event, state.now()).await?;
    if format == "json" {
        return Ok((
            [(
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"audit-log.json\"",
            )],
            Json(entries),
        )
            .into_response());
    }
    let mut writer = csv::Writer::from_writer(Vec::new());
    let csv_error = |e: csv::Error| ApiError::internal(e);
    writer
        .write_record([
            "id",
            "time",
            "actor",
            "actor_type",
            "actor_user_id",
            "action",
            "target_type",
            "target_id",
            "request_id",
            "source_ip",
            "details",
        ])
        .map_err(csv_error)?;
    for entry in &entries {
        writer
            .write_record([
                entry.id.to_string(),
                entry.time.to_rfc3339(),
                entry.actor.clone(),
                entry.actor_type.clone(),
                entry
                    .actor_user_id
                    .map(|i| i.to_string())
                    .unwrap_or_default(),
                entry.action.clone(),
                entry.target_type.clone().unwrap_or_default(),
                entry.target_id.clone().unwrap_or_default(),
                entry.request_id.clone().unwrap_or_default(),
                entry.source_ip.clone().unwrap_or_default(),
                entry
                    .details
                    .as_ref()
                    .map(|d| d.to_string())
                    .unwrap_or_default(),
            ])
            .map_err(csv_error)?;
    }
    let bytes = writer.into_inner().map_err(ApiError::internal)?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"audit-log.csv\"",
            ),
        ],
        bytes,
    )
        .into_response())
}
