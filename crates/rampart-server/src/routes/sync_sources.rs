//! Sync sources, seed 000 verbatim (`POST /api/v1/security/cve/sync-sources` with
//! `{config, apiKey}` and the seed's camelCase response), plus list, get, delete, run and
//! runs. Sync sources are server-wide (the knowledge base is shared by all teams): any team
//! may read them with `sync:read`, only the operators' team may change or run them. The rules
//! are the engine's `services::sync_sources`; these handlers shape seed 000's responses.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, SecondsFormat, Utc};
use rampart_store::{SyncRunRecord, SyncSourceRecord};
use serde::{Deserialize, Serialize};

use crate::auth::{Principal, RequestMeta};
use crate::error::{ApiError, ApiJson, ApiQuery, ErrorBody};
use crate::state::AppState;
use rampart_engine::feeds::FeedType;
use rampart_engine::services::sync_sources;
use rampart_engine::services::sync_sources::ConfigureSyncSourceRequest;

/// Seed 000's response.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncSourceResponse {
    pub id: String,
    /// `SYNC_SOURCE_TYPE_NVD`, …
    #[serde(rename = "type")]
    pub source_type: String,
    /// A short prefix, `***`, the last three characters; empty without a key.
    pub api_key_masked: String,
    pub sync_interval_hours: i64,
    pub ecosystems: Vec<String>,
    /// The cursor: the start of the last successful run (or as configured).
    pub last_modified_since: Option<String>,
    pub created_at: String,
    /// The URL runs fetch from (the type's public default unless configured).
    pub url: String,
    pub next_run_at: String,
}

fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

impl From<SyncSourceRecord> for SyncSourceResponse {
    fn from(record: SyncSourceRecord) -> Self {
        let source_type = FeedType::parse(&record.source_type);
        SyncSourceResponse {
            id: record.id,
            source_type: source_type
                .map(|t| t.wire_name().to_string())
                .unwrap_or(record.source_type),
            api_key_masked: record.api_key_masked,
            sync_interval_hours: record.sync_interval_hours,
            ecosystems: record.ecosystems,
            last_modified_since: record.last_modified_since.map(timestamp),
            created_at: timestamp(record.created_at),
            url: record
                .url
                .or_else(|| source_type.map(|t| t.default_url().to_string()))
                .unwrap_or_default(),
            next_run_at: timestamp(record.next_run_at),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SyncSourceList {
    pub sync_sources: Vec<SyncSourceResponse>,
    pub total: usize,
}

/// One run of a sync source.
#[derive(Serialize, utoipa::ToSchema)]
pub struct SyncRunResponse {
    pub id: i64,
    pub source_id: String,
    /// `schedule` or `manual`.
    pub trigger: String,
    /// `queued`, `running`, `succeeded` or `failed`.
    pub status: String,
    pub queued_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    /// The cursor the run fetched from (`null`: full load).
    pub cursor_from: Option<String>,
    pub records_added: i64,
    pub records_updated: i64,
    pub records_unchanged: i64,
    pub records_skipped: i64,
    /// What the run is doing or did last (e.g. `NVD window 1/1 …: 2000 of 4312 CVEs`).
    pub progress: Option<String>,
    pub error: Option<String>,
    /// Workers that claimed the run (more than one after a takeover of a crashed worker).
    pub attempts: i64,
}

impl From<SyncRunRecord> for SyncRunResponse {
    fn from(run: SyncRunRecord) -> Self {
        SyncRunResponse {
            id: run.id,
            source_id: run.source_id,
            trigger: run.trigger,
            status: run.status.as_str().to_string(),
            queued_at: timestamp(run.queued_at),
            started_at: run.started_at.map(timestamp),
            finished_at: run.finished_at.map(timestamp),
            cursor_from: run.cursor_from.map(timestamp),
            records_added: run.counts.added,
            records_updated: run.counts.updated,
            records_unchanged: run.counts.unchanged,
            records_skipped: run.counts.skipped,
            progress: run.progress,
            error: run.error,
            attempts: run.attempts,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SyncRunList {
    pub runs: Vec<SyncRunResponse>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// 1-based page (default 1).
    #[param(minimum = 1)]
    pub page: Option<i64>,
    /// Items per page, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub per_page: Option<i64>,
}

/// Configure a CVE data sync source (seed 000 `ConfigureSyncSource`): create, or update when
/// the id exists (keeping `createdAt`, and the stored key when `apiKey` is omitted or empty).
#[utoipa::path(post, path = "/api/v1/security/cve/sync-sources", tag = "sync",
    operation_id = "ConfigureSyncSource",
    security(("bearer" = ["sync:write"])),
    request_body = ConfigureSyncSourceRequest,
    responses(
        (status = 200, description = "The stored configuration", body = SyncSourceResponse),
        (status = 403, description = "Missing scope, or not the operators' team", body = ErrorBody),
        (status = 422, description = "Invalid field (named in the message)", body = ErrorBody),
    ))]
pub async fn configure_sync_source(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    request: Result<ApiJson<ConfigureSyncSourceRequest>, ApiError>,
) -> Result<Json<SyncSourceResponse>, ApiError> {
    let request = request.map(|ApiJson(request)| request);
    let record = sync_sources::configure(&state, &principal, &meta, request).await?;
    Ok(Json(record.into()))
}

/// List the sync sources.
#[utoipa::path(get, path = "/api/v1/security/cve/sync-sources", tag = "sync",
    security(("bearer" = ["sync:read"])),
    responses(
        (status = 200, description = "Every sync source", body = SyncSourceList),
        (status = 403, description = "Missing scope", body = ErrorBody),
    ))]
pub async fn list_sync_sources(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<SyncSourceList>, ApiError> {
    let sources: Vec<SyncSourceResponse> = sync_sources::list(&state, &principal)
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    Ok(Json(SyncSourceList {
        total: sources.len(),
        sync_sources: sources,
    }))
}

/// One sync source.
#[utoipa::path(get, path = "/api/v1/security/cve/sync-sources/{id}", tag = "sync",
    security(("bearer" = ["sync:read"])),
    params(("id" = String, Path, description = "Sync source id")),
    responses(
        (status = 200, description = "The sync source", body = SyncSourceResponse),
        (status = 404, description = "No such source", body = ErrorBody),
    ))]
pub async fn get_sync_source(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<SyncSourceResponse>, ApiError> {
    let source = sync_sources::get(&state, &principal, &id).await?;
    Ok(Json(source.into()))
}

/// Delete a sync source and its run history (a run in progress stops at its next batch).
#[utoipa::path(delete, path = "/api/v1/security/cve/sync-sources/{id}", tag = "sync",
    security(("bearer" = ["sync:write"])),
    params(("id" = String, Path, description = "Sync source id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Missing scope, or not the operators' team", body = ErrorBody),
        (status = 404, description = "No such source", body = ErrorBody),
    ))]
pub async fn delete_sync_source(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    sync_sources::delete(&state, &principal, &meta, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Start a run now. Answers at once with the queued run (or the one already queued or
/// running: a source runs once at a time); poll `GET …/runs` for progress.
#[utoipa::path(post, path = "/api/v1/security/cve/sync-sources/{id}/run", tag = "sync",
    security(("bearer" = ["cve:trigger"])),
    params(("id" = String, Path, description = "Sync source id")),
    responses(
        (status = 202, description = "The run", body = SyncRunResponse),
        (status = 403, description = "Missing scope, not the operators' team, or a test key (`test_mode_forbidden`)", body = ErrorBody),
        (status = 404, description = "No such source", body = ErrorBody),
    ))]
pub async fn run_sync_source(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<SyncRunResponse>), ApiError> {
    let run = sync_sources::trigger_run(&state, &principal, &meta, &id).await?;
    Ok((StatusCode::ACCEPTED, Json(run.into())))
}

/// A source's runs, newest first.
#[utoipa::path(get, path = "/api/v1/security/cve/sync-sources/{id}/runs", tag = "sync",
    security(("bearer" = ["sync:read"])),
    params(("id" = String, Path, description = "Sync source id"), PageQuery),
    responses(
        (status = 200, description = "Runs, newest first", body = SyncRunList),
        (status = 404, description = "No such source", body = ErrorBody),
    ))]
pub async fn list_sync_runs(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> Result<Json<SyncRunList>, ApiError> {
    let page = sync_sources::runs(&state, &principal, &id, query.page, query.per_page).await?;
    Ok(Json(SyncRunList {
        runs: page.runs.into_iter().map(Into::into).collect(),
        total: page.total,
        page: page.page.page().into(),
        per_page: page.page.per_page().into(),
    }))
}
