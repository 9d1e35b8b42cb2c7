//! Seed 003's API key endpoints, verbatim: `POST /api/create-api-key`,
//! `GET /api/list-api-keys`, `POST /api/revoke-api-key`, `POST /api/rotate-api-key`, with
//! the `success` envelope and `"YYYY-MM-DD HH:MM:SS"` times. Thin adapters over
//! [`rampart_engine::services::api_keys`]. Invalid input is 400 here, as the seed documents.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use rampart_store::KeyStatusFilter;

use crate::auth::{upgrade_response, Principal, RequestMeta};
use crate::error::{ApiError, ApiJson, ErrorCode, ServiceError};
use crate::state::AppState;
use rampart_engine::services::api_keys::{self, CreateApiKey, CreateRefusal, KeyRequester};

/// Seed 003's error envelope: `{"success": false, "error": "<message>"}`.
pub struct SeedError(ApiError);

impl From<ApiError> for SeedError {
    fn from(error: ApiError) -> Self {
        SeedError(error)
    }
}

impl From<ServiceError> for SeedError {
    fn from(error: ServiceError) -> Self {
        SeedError(error.into())
    }
}

impl IntoResponse for SeedError {
    fn into_response(self) -> Response {
        let code = self.0.code();
        let status = match code {
            ErrorCode::ValidationFailed | ErrorCode::InvalidBody | ErrorCode::MalformedJson => {
                StatusCode::BAD_REQUEST
            }
            other => crate::error::status_of(other),
        };
        let mut response = (
            status,
            Json(serde_json::json!({ "success": false, "error": self.0.message() })),
        )
            .into_response();
        response.extensions_mut().insert(code);
        response
    }
}

fn seed_time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S").to_string()
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SeedKeyCreated {
    pub success: bool,
    /// The full key, shown only in this response.
    pub api_key: String,
    pub api_key_id: i64,
    pub name: String,
    /// `YYYY-MM-DD HH:MM:SS` (UTC).
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_mode: Option<bool>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SeedKey {
    pub id: i64,
    pub masked_key: String,
    pub name: String,
    pub requests_count: i64,
    pub last_used_at: Option<String>,
    pub created_at: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SeedKeyList {
    pub success: bool,
    pub keys: Vec<SeedKey>,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct SeedKeyId {
    pub api_key_id: i64,
}

/// Seed 003's rotation body, plus an optional grace period for the old key.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct SeedRotate {
    pub api_key_id: i64,
    /// How long the old key keeps working (`"24h"`, at most 30 days). Absent: it is
    /// revoked at once, as seed 003 documents.
    #[serde(default)]
    #[schema(pattern = "^[0-9]+[hmd]$")]
    pub expire_old_in: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SeedMessage {
    pub success: bool,
    pub message: String,
}

/// Seed 003: creates an API key (needs a logged-in session; Pro plan or better).
#[utoipa::path(post, path = "/api/create-api-key", tag = "api-keys",
    operation_id = "seed_create_api_key",
    security(("bearer" = [])),
    request_body = CreateApiKey,
    responses(
        (status = 200, description = "Created; `api_key` is shown only now", body = SeedKeyCreated),
        (status = 400, description = "Invalid input (`{success:false, error}`)"),
        (status = 401, description = "Missing or invalid credentials"),
        (status = 403, description = "Not a Pro user (`upgrade_required`, `upgrade_url`), key limit reached, or not a session"),
    ))]
pub async fn create(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    body: Result<ApiJson<CreateApiKey>, ApiError>,
) -> Result<Response, SeedError> {
    let ApiJson(body) = body?;
    let test_mode = body.test_mode;
    let requester = KeyRequester::session(&principal, &meta)?;
    let now = state.now();
    match api_keys::create_key(&state.store, &state.config.plans, now, &requester, body).await {
        Ok((key, secret)) => Ok(Json(SeedKeyCreated {
            success: true,
            api_key: secret.reveal().to_string(),
            api_key_id: key.id,
            name: key.name,
            created_at: seed_time(key.created_at),
            test_mode: (test_mode || principal.is_test_mode()).then_some(true),
        })
        .into_response()),
        Err(CreateRefusal::Upgrade) => Ok(upgrade_response(true)),
        Err(CreateRefusal::Api(error)) => Err(error.into()),
    }
}

/// Seed 003: the caller's active keys (neither revoked nor expired), masked, with usage.
#[utoipa::path(get, path = "/api/list-api-keys", tag = "api-keys",
    operation_id = "seed_list_api_keys",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Keys", body = SeedKeyList),
        (status = 401, description = "Missing or invalid credentials"),
        (status = 403, description = "Not a session"),
    ))]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<SeedKeyList>, SeedError> {
    // Seed 003 lists the keys that work: revoked and expired keys are left out.
    let keys = api_keys::list_keys(&state, &principal, KeyStatusFilter::Active).await?;
    let keys = keys
        .iter()
        .map(|key| {
            let (mut count, mut last_used) = (key.request_count, key.last_used_at);
            if let Some((pending, at)) = state.key_usage.pending(key.id) {
                count += pending;
                last_used = Some(last_used.map_or(at, |l| l.max(at)));
            }
            SeedKey {
                id: key.id,
                masked_key: key.masked(),
                name: key.name.clone(),
                requests_count: count,
                last_used_at: last_used.map(seed_time),
                created_at: seed_time(key.created_at),
            }
        })
        .collect();
    Ok(Json(SeedKeyList {
        success: true,
        keys,
    }))
}

/// Seed 003: revokes a key permanently.
#[utoipa::path(post, path = "/api/revoke-api-key", tag = "api-keys",
    operation_id = "seed_revoke_api_key",
    security(("bearer" = [])),
    request_body = SeedKeyId,
    responses(
        (status = 200, description = "Revoked", body = SeedMessage),
        (status = 400, description = "Invalid id"),
        (status = 401, description = "Missing or invalid credentials"),
        (status = 403, description = "Not a session"),
        (status = 404, description = "No such key of yours"),
    ))]
pub async fn revoke(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    body: Result<ApiJson<SeedKeyId>, ApiError>,
) -> Result<Json<SeedMessage>, SeedError> {
    let ApiJson(body) = body?;
    api_keys::revoke_key(&state, &principal, &meta, body.api_key_id).await?;
    Ok(Json(SeedMessage {
        success: true,
        message: "API key revoked successfully".into(),
    }))
}

/// Seed 003: a new key with the same name; the old one is revoked at once, or after
/// `expire_old_in` (e.g. `"24h"`) when given.
#[utoipa::path(post, path = "/api/rotate-api-key", tag = "api-keys",
    operation_id = "seed_rotate_api_key",
    security(("bearer" = [])),
    request_body = SeedRotate,
    responses(
        (status = 200, description = "The new key; `api_key` is shown only now", body = SeedKeyCreated),
        (status = 400, description = "Invalid id"),
        (status = 401, description = "Missing or invalid credentials"),
        (status = 403, description = "Not a session, or the subscription is inactive (`upgrade_required`)"),
        (status = 404, description = "No such key of yours"),
    ))]
pub async fn rotate(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    body: Result<ApiJson<SeedRotate>, ApiError>,
) -> Result<Response, SeedError> {
    let ApiJson(body) = body?;
    let grace = api_keys::rotation_grace(body.expire_old_in.as_deref())?;
    match api_keys::rotate_key(&state, &principal, &meta, body.api_key_id, grace).await {
        Ok((key, secret)) => Ok(Json(SeedKeyCreated {
            success: true,
            api_key: secret.reveal().to_string(),
            api_key_id: key.id,
            name: key.name,
            created_at: seed_time(key.created_at),
            test_mode: (key.kind == rampart_core::ApiKeyKind::Test).then_some(true),
        })
        .into_response()),
        Err(CreateRefusal::Upgrade) => Ok(upgrade_response(true)),
        Err(CreateRefusal::Api(error)) => Err(error.into()),
    }
}
