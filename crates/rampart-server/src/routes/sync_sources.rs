//! Sync sources, seed 000 verbatim (`POST /api/v1/security/cve/sync-sources` with
//! `{config, apiKey}` and the seed's camelCase response), plus list, get, delete, run and
//! runs. Sync sources are server-wide (the knowledge base is shared by all teams): any team
//! may read them with `sync:read`, only the operators' team may change or run them.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, SecondsFormat, Utc};
use rampart_core::{PageError, PageRequest, Scope, DEFAULT_PER_PAGE, MAX_PER_PAGE};
use rampart_store::{ApiKeyChange, SyncRunRecord, SyncSourceRecord, SyncSourceUpsert};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::auth::{Principal, RequestMeta};
use crate::error::{ApiError, ApiJson, ApiQuery, ErrorBody, ErrorCode};
use crate::state::AppState;
use rampart_engine::feeds::FeedType;
use rampart_engine::sync::mask_api_key;

/// Longest interval accepted: one year.
const MAX_INTERVAL_HOURS: i64 = 24 * 366;
const DEFAULT_INTERVAL_HOURS: i64 = 24;
/// Most ecosystems one source may list (osv.dev has fewer than 50).
const MAX_ECOSYSTEMS: usize = 100;

/// Seed 000's request body.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfigureSyncSourceRequest {
    /// Sync source configuration to create or update.
    pub config: SyncSourceConfigInput,
    /// Plain-text API key for the upstream (NVD). Stored encrypted; never returned. Omitted
    /// or empty on an update: the stored key is kept.
    #[serde(default)]
    #[schema(max_length = 4096)]
    pub api_key: Option<String>,
}

/// Accepted as in seed 000: `ecosystems` a list or a comma-separated string, `type` as
/// `NVD` or `SYNC_SOURCE_TYPE_NVD`. `apiKeyMasked` and `createdAt` are ignored (computed).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncSourceConfigInput {
    /// `sync-src-001`; generated when absent. Same id = update.
    #[schema(max_length = 64)]
    pub id: Option<String>,
    /// OSV, NVD, GHSA, KEV, EPSS or EXPLOITDB (also `SYNC_SOURCE_TYPE_<X>`).
    #[serde(rename = "type")]
    pub source_type: Option<String>,
    /// Ignored: the server computes the mask.
    #[allow(dead_code)]
    pub api_key_masked: Option<String>,
    /// Hours between runs, 1 to 8784 (default 24).
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 8784)]
    pub sync_interval_hours: Option<Value>,
    /// List or comma-separated string of at most 100 ecosystems, each at most 100
    /// characters (OSV bucket sources need at least one).
    #[schema(value_type = Option<Vec<String>>, max_items = 100)]
    pub ecosystems: Option<Value>,
    /// Cursor (RFC 3339): fetch entries modified since. `null` clears it (full reload);
    /// absent keeps the stored one.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub last_modified_since: Option<Option<String>>,
    /// Ignored: set by the server on creation.
    #[allow(dead_code)]
    pub created_at: Option<String>,
    /// Upstream URL (also `baseUrl`); default: the type's public URL. OSV: a bucket base
    /// (`{url}/{ecosystem}/all.zip`), a `.zip`, or (if the operator allows local sync
    /// paths) a directory or `file://` URL.
    #[serde(alias = "baseUrl")]
    pub url: Option<String>,
}

/// Distinguishes an absent field (outer `None`) from `null` (`Some(None)`).
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Option<String>>, D::Error> {
    Ok(Some(Option::deserialize(deserializer)?))
}

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
pub struct PageQuery {
    /// 1-based page (default 1).
    pub page: Option<i64>,
    /// Items per page, 1 to 500 (default 50).
    pub per_page: Option<i64>,
}

fn invalid(field: &str, message: impl std::fmt::Display) -> ApiError {
    ApiError::new(ErrorCode::ValidationFailed, format!("{field}: {message}"))
}

/// Records a change of a sync source. The store's sync-source functions keep no audit
/// record themselves, so the record is written right after the change it describes.
async fn audit_change(
    state: &AppState,
    principal: &Principal,
    meta: &RequestMeta,
    action: &str,
    source_id: &str,
    details: Option<Value>,
) -> Result<(), ApiError> {
    let mut event = principal
        .audit(meta, action)
        .target("sync_source", source_id);
    event.details = details;
    state.store.record_audit(&event, state.now()).await?;
    Ok(())
}

async fn require_operator(state: &AppState, principal: &Principal) -> Result<(), ApiError> {
    if state.store.is_operator_team(principal.team_id).await? {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorCode::Forbidden,
            "sync sources are server-wide configuration: only the operators' team may change or run them",
        ))
    }
}

fn valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    (1..=64).contains(&id.len())
        && chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn parse_ecosystems(value: &Value) -> Result<Vec<String>, ApiError> {
    let too_many = || {
        invalid(
            "config.ecosystems",
            format!("holds at most {MAX_ECOSYSTEMS} ecosystems"),
        )
    };
    // The limit first, on the list as sent: nothing is trimmed or compared beyond it.
    let items: Vec<String> = match value {
        Value::Null => Vec::new(),
        Value::String(text) if text.split(',').nth(MAX_ECOSYSTEMS).is_some() => {
            return Err(too_many())
        }
        Value::Array(items) if items.len() > MAX_ECOSYSTEMS => return Err(too_many()),
        Value::String(text) => text.split(',').map(|s| s.trim().to_string()).collect(),
        Value::Array(items) => items
            .iter()
            .map(|item| {
                item.as_str().map(|s| s.trim().to_string()).ok_or_else(|| {
                    invalid(
                        "config.ecosystems",
                        "must be a list of strings or a comma-separated string",
                    )
                })
            })
            .collect::<Result<_, _>>()?,
        _ => {
            return Err(invalid(
                "config.ecosystems",
                "must be a list of strings or a comma-separated string",
            ))
        }
    };
    let mut ecosystems: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for item in items.into_iter().filter(|s| !s.is_empty()) {
        if item.len() > 100 || item.contains(['/', '\\']) || item.chars().any(char::is_control) {
            return Err(invalid(
                "config.ecosystems",
                format!("{item:?} is not an ecosystem name"),
            ));
        }
        if seen.insert(item.clone()) {
            ecosystems.push(item);
        }
    }
    Ok(ecosystems)
}

fn parse_interval(value: &Value) -> Result<i64, ApiError> {
    let hours = match value {
        Value::Number(number) => number.as_i64(),
        Value::String(text) => text.trim().parse::<i64>().ok(),
        _ => None,
    };
    match hours {
        Some(hours) if (1..=MAX_INTERVAL_HOURS).contains(&hours) => Ok(hours),
        _ => Err(invalid(
            "config.syncIntervalHours",
            format!("must be a whole number of hours from 1 to {MAX_INTERVAL_HOURS}"),
        )),
    }
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
    // Scope and operator checks come before the body is read: a caller without the right
    // gets 403 whatever it sent.
    principal.require(Scope::SyncWrite)?;
    require_operator(&state, &principal).await?;
    let ApiJson(request) = request?;
    let config = request.config;
    let id =
        match config.id.as_deref().map(str::trim) {
            None | Some("") => format!(
                "sync-src-{}",
                &uuid::Uuid::new_v4().simple().to_string()[..12]
            ),
            Some(id) if valid_id(id) => id.to_string(),
            Some(_) => return Err(invalid(
                "config.id",
                "must be 1 to 64 letters, digits, '-', '_' or '.', starting with a letter or digit",
            )),
        };
    let existing = state.store.sync_source(&id).await?;

    let source_type = match (&config.source_type, &existing) {
        (Some(text), _) => FeedType::parse(text).ok_or_else(|| {
            invalid(
                "config.type",
                format!(
                    "{text:?} is not a sync source type; use one of {}",
                    FeedType::ALL
                        .iter()
                        .map(|t| t.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })?,
        (None, Some(existing)) => FeedType::parse(&existing.source_type)
            .ok_or_else(|| ApiError::internal("stored sync source has an unknown type"))?,
        (None, None) => return Err(invalid("config.type", "is required")),
    };
    let interval = match (&config.sync_interval_hours, &existing) {
        (Some(value), _) => parse_interval(value)?,
        (None, Some(existing)) => existing.sync_interval_hours,
        (None, None) => DEFAULT_INTERVAL_HOURS,
    };
    let ecosystems = match (&config.ecosystems, &existing) {
        (Some(value), _) => parse_ecosystems(value)?,
        (None, Some(existing)) => existing.ecosystems.clone(),
        (None, None) => Vec::new(),
    };
    let url = match (&config.url, &existing) {
        (Some(url), _) if url.trim().is_empty() => None,
        (Some(url), _) => Some(url.trim().to_string()),
        (None, Some(existing)) => existing.url.clone(),
        (None, None) => None,
    };
    if let Some(url) = &url {
        state
            .config
            .sync
            .outbound
            .check_static(url)
            .map_err(|refused| invalid("config.url", refused))?;
    }
    let effective_url = url.as_deref().unwrap_or(source_type.default_url());
    if source_type == FeedType::Osv && ecosystems.is_empty() && is_osv_bucket(effective_url) {
        return Err(invalid(
            "config.ecosystems",
            "an OSV bucket source needs at least one ecosystem (e.g. PyPI, npm)",
        ));
    }
    let mut cursor = match &config.last_modified_since {
        None => None,
        Some(None) => Some(None),
        Some(Some(text)) if text.trim().is_empty() => Some(None),
        Some(Some(text)) => Some(Some(
            DateTime::parse_from_rfc3339(text.trim())
                .map_err(|_| {
                    invalid(
                        "config.lastModifiedSince",
                        "must be an RFC 3339 timestamp such as 2024-01-01T00:00:00Z",
                    )
                })?
                .with_timezone(&Utc),
        )),
    };
    // A source that now fetches something else starts over unless told where to start.
    if let (None, Some(existing)) = (&cursor, &existing) {
        let changed = existing.source_type != source_type.as_str()
            || existing.url != url
            || existing.ecosystems != ecosystems;
        if changed {
            cursor = Some(None);
        }
    }
    let api_key = match request.api_key.as_deref().map(str::trim) {
        None | Some("") if existing.is_some() => ApiKeyChange::Keep,
        None | Some("") => ApiKeyChange::Set {
            ciphertext: None,
            masked: String::new(),
        },
        Some(key) => {
            if key.len() > 4096 || !key.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(invalid(
                    "apiKey",
                    "must be at most 4096 printable ASCII characters without spaces",
                ));
            }
            ApiKeyChange::Set {
                ciphertext: Some(state.sync.secret_key().encrypt(key.as_bytes())),
                masked: mask_api_key(key),
            }
        }
    };
    let api_key_changed = matches!(api_key, ApiKeyChange::Set { .. });
    let (record, created) = state
        .store
        .upsert_sync_source(&SyncSourceUpsert {
            id,
            source_type: source_type.as_str().to_string(),
            url,
            api_key,
            sync_interval_hours: interval,
            ecosystems,
            last_modified_since: cursor,
        })
        .await?;
    tracing::info!(source = %record.id, created, source_type = source_type.as_str(), "sync source configured");
    audit_change(
        &state,
        &principal,
        &meta,
        if created {
            "sync_source.create"
        } else {
            "sync_source.update"
        },
        &record.id,
        Some(serde_json::json!({
            "type": record.source_type,
            "sync_interval_hours": record.sync_interval_hours,
            "ecosystems": record.ecosystems,
            "api_key_changed": api_key_changed,
        })),
    )
    .await?;
    if created {
        // A new source is due now.
        state.sync.wake();
    }
    Ok(Json(record.into()))
}

/// OSV locations that are a bucket base (per-ecosystem `all.zip`), not one archive or tree.
fn is_osv_bucket(url: &str) -> bool {
    (url.starts_with("http://") || url.starts_with("https://")) && !url.ends_with(".zip")
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
    principal.require(Scope::SyncRead)?;
    let sources: Vec<SyncSourceResponse> = state
        .store
        .sync_sources()
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
    principal.require(Scope::SyncRead)?;
    let source = state
        .store
        .sync_source(&id)
        .await?
        .ok_or_else(|| ApiError::not_found("sync source"))?;
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
    principal.require(Scope::SyncWrite)?;
    require_operator(&state, &principal).await?;
    if state.store.delete_sync_source(&id).await? {
        tracing::info!(source = %id, "sync source deleted");
        audit_change(&state, &principal, &meta, "sync_source.delete", &id, None).await?;
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("sync source"))
    }
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
    principal.require(Scope::CveTrigger)?;
    principal.require_live("start a sync run")?;
    require_operator(&state, &principal).await?;
    let run = state
        .store
        .queue_sync_run(&id, "manual")
        .await?
        .ok_or_else(|| ApiError::not_found("sync source"))?;
    audit_change(
        &state,
        &principal,
        &meta,
        "sync_source.run",
        &id,
        Some(serde_json::json!({ "run_id": run.id })),
    )
    .await?;
    state.sync.wake();
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
    principal.require(Scope::SyncRead)?;
    let page = PageRequest::from_query(query.page, query.per_page, DEFAULT_PER_PAGE).map_err(
        // Seed 000's wording (`field: reason`), as this route's other errors read.
        |error| {
            let reason = match error {
                PageError::Page => "must be 1 or more".to_string(),
                PageError::PerPage => format!("must be from 1 to {MAX_PER_PAGE}"),
            };
            ApiError::new(
                ErrorCode::BadRequest,
                format!("{}: {reason}", error.field()),
            )
        },
    )?;
    if state.store.sync_source(&id).await?.is_none() {
        return Err(ApiError::not_found("sync source"));
    }
    let (runs, total) = state.store.sync_runs(&id, page).await?;
    Ok(Json(SyncRunList {
        runs: runs.into_iter().map(Into::into).collect(),
        total,
        page: page.page().into(),
        per_page: page.per_page().into(),
    }))
}
