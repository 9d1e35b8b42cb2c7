//! API keys (DESIGN §4, seeds 003 and 004): canonical `/api/v1/api-keys` resources and seed
//! 003's `/api/*-api-key` endpoints with their `success` envelopes, over one service.
//!
//! Managing keys needs a logged-in session (an API key gets 403). A key's scopes are a
//! subset of its creator's; a person's active keys are limited by the team's plan (a plan
//! with 0 keys — `free` by default — refuses with seed 003's upgrade error). A team key for
//! CI (`"service_account": true`, needs `teams:manage`) is backed by a service account
//! `api_<key-name>` that is outside user quotas and is deleted with the key.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, NaiveDate, Utc};
use rampart_core::{ApiKeyKind, ApiKeySecret, Scope, ScopeSet};
use rampart_store::{ApiKeyInfo, KeyOwner, KeyStatusFilter, KeyVisibility, NewApiKey, UserKind};
use serde::{Deserialize, Serialize};

use crate::auth::{Principal, RequestMeta};
use crate::error::{ApiError, ApiJson, ApiQuery, ErrorBody, ErrorCode};
use crate::state::AppState;

const NAME_MAX: usize = 100;
const EXPIRY_DAYS: &[i64] = &[30, 90, 180, 365];

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKey {
    /// 1-100 characters, no control characters.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// Scopes for the key, a subset of the creator's (default: all of the creator's).
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    /// 30, 90, 180 or 365.
    #[serde(default)]
    pub expires_in_days: Option<i64>,
    /// A date (`2027-01-31`, end of that day UTC) or an RFC 3339 time, at most 365 days
    /// ahead. Exclusive with `expires_in_days`.
    #[serde(default)]
    pub expires_at: Option<String>,
    /// Create an `rk_test_` key (test data, no real scans or notifications).
    #[serde(default)]
    pub test_mode: bool,
    /// A team key for CI backed by a service account `api_<name>` (needs `teams:manage`).
    #[serde(default)]
    pub service_account: bool,
}

/// A key as listed: never the secret.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ApiKeyView {
    pub id: i64,
    pub name: String,
    /// `rk_live_••••••` + last six characters.
    pub masked_key: String,
    pub scopes: Vec<String>,
    pub test_mode: bool,
    /// `user` or `service_account`.
    pub owner_type: &'static str,
    /// The owner's e-mail, or `api_<key-name>` for a service account.
    pub owner: String,
    /// `active`, `expired` or `revoked`.
    pub status: &'static str,
    pub expires_at: Option<DateTime<Utc>>,
    /// When the key was revoked (listed only with `?status=revoked` or `all`).
    pub revoked_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub requests_count: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ApiKeyCreated {
    /// The full key: shown this once, never again.
    pub api_key: String,
    #[serde(flatten)]
    pub key: ApiKeyView,
    /// Set by a rotation: the key it replaced (revoked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replaced_api_key_id: Option<i64>,
}

/// Which keys `GET /api/v1/api-keys` lists.
#[derive(Debug, Clone, Copy, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum KeyStatusParam {
    /// Keys that work: not revoked, not expired (the keys the plan's quota counts).
    #[default]
    Active,
    /// Not revoked but past their expiry (they can still be rotated).
    Expired,
    /// Revoked keys (they never work again).
    Revoked,
    All,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct KeyListQuery {
    /// `active` (default), `expired`, `revoked` or `all`.
    #[param(inline)]
    pub status: Option<KeyStatusParam>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ApiKeyList {
    pub keys: Vec<ApiKeyView>,
    pub total: usize,
}

fn view(state: &AppState, key: &ApiKeyInfo) -> ApiKeyView {
    let now = state.now();
    let (mut requests_count, mut last_used_at) = (key.request_count, key.last_used_at);
    // Usage not yet flushed by this replica.
    if let Some((count, at)) = state.key_usage.pending(key.id) {
        requests_count += count;
        last_used_at = Some(last_used_at.map_or(at, |l| l.max(at)));
    }
    ApiKeyView {
        id: key.id,
        name: key.name.clone(),
        masked_key: key.masked(),
        scopes: key.scopes.iter().map(|s| s.as_str().to_string()).collect(),
        test_mode: key.kind == ApiKeyKind::Test,
        owner_type: match key.owner_kind {
            UserKind::Person => "user",
            UserKind::Service => "service_account",
        },
        owner: key.owner.clone(),
        status: if key.revoked_at.is_some() {
            "revoked"
        } else if key.expires_at.is_some_and(|e| e <= now) {
            "expired"
        } else {
            "active"
        },
        expires_at: key.expires_at,
        revoked_at: key.revoked_at,
        created_at: key.created_at,
        last_used_at,
        requests_count,
    }
}

/// The keys the caller may manage.
fn visibility(principal: &Principal) -> KeyVisibility {
    KeyVisibility {
        team_id: principal.team_id,
        user_id: principal.user_id,
        include_service_accounts: principal.scopes.contains(Scope::TeamsManage),
    }
}

/// Why a key cannot be created, distinguishing seed 003's upgrade refusal.
pub enum CreateRefusal {
    Upgrade,
    Api(ApiError),
}

impl From<ApiError> for CreateRefusal {
    fn from(error: ApiError) -> Self {
        CreateRefusal::Api(error)
    }
}

pub(crate) const UPGRADE_MESSAGE: &str = "API keys are only available for Pro users.";

/// Validates and creates a key; shared by both routes.
pub async fn create_key(
    state: &AppState,
    principal: &Principal,
    meta: &RequestMeta,
    body: CreateApiKey,
) -> Result<(ApiKeyInfo, ApiKeySecret), CreateRefusal> {
    principal.require_session()?;
    let name = super::fields::name("name", &body.name, NAME_MAX)?;
    let scopes = match &body.scopes {
        None => principal.scopes,
        Some(names) => {
            let mut set = ScopeSet::default();
            for name in names {
                let scope: Scope = name.parse().map_err(|_| {
                    ApiError::new(
                        ErrorCode::ValidationFailed,
                        format!("`scopes` contains an unknown scope {name:?}"),
                    )
                })?;
                set.insert(scope);
            }
            set
        }
    };
    if scopes.is_empty() {
        return Err(ApiError::new(
            ErrorCode::ValidationFailed,
            "`scopes` must name at least one scope",
        )
        .into());
    }
    if let Some(missing) = scopes.iter().find(|s| !principal.scopes.contains(*s)) {
        return Err(ApiError::new(
            ErrorCode::InsufficientScope,
            format!("you cannot grant the `{missing}` scope: your role does not have it"),
        )
        .into());
    }
    let now = state.now();
    let (expires_at, expiry_days) = match (body.expires_in_days, &body.expires_at) {
        (Some(_), Some(_)) => {
            return Err(ApiError::new(
                ErrorCode::ValidationFailed,
                "set either `expires_in_days` or `expires_at`, not both",
            )
            .into())
        }
        (Some(days), None) => {
            if !EXPIRY_DAYS.contains(&days) {
                return Err(ApiError::new(
                    ErrorCode::ValidationFailed,
                    "`expires_in_days` must be 30, 90, 180 or 365",
                )
                .into());
            }
            (Some(now + chrono::Duration::days(days)), Some(days as i32))
        }
        (None, Some(text)) => {
            let at = parse_expiry(text).ok_or_else(|| {
                ApiError::new(
                    ErrorCode::ValidationFailed,
                    "`expires_at` must be a date (YYYY-MM-DD) or an RFC 3339 time",
                )
            })?;
            if at <= now || at > now + chrono::Duration::days(366) {
                return Err(ApiError::new(
                    ErrorCode::ValidationFailed,
                    "`expires_at` must be in the future and at most 365 days ahead",
                )
                .into());
            }
            (Some(at), None)
        }
        (None, None) => (None, None),
    };
    let limits = state.config.plans.limits(&principal.plan);
    if limits.api_keys_per_user == 0 {
        return Err(CreateRefusal::Upgrade);
    }
    let owner = if body.service_account {
        principal.require(Scope::TeamsManage)?;
        KeyOwner::ServiceAccount
    } else {
        KeyOwner::User {
            user_id: principal.user_id,
            max_active: limits.api_keys_per_user.into(),
        }
    };
    let new = NewApiKey {
        team_id: principal.team_id,
        owner,
        name,
        kind: if body.test_mode {
            ApiKeyKind::Test
        } else {
            ApiKeyKind::Live
        },
        scopes,
        expires_at,
        expiry_days,
        created_by: principal.user_id,
    };
    let event = principal
        .audit(meta, "api_key.create")
        .details(serde_json::json!({
            "name": new.name,
            "scopes": new.scopes.to_storage(),
            "service_account": body.service_account,
            "test_mode": body.test_mode,
        }));
    state
        .store
        .create_api_key(&new, event, now)
        .await
        .map_err(|error| match error {
            rampart_store::StoreError::LimitReached(limit) => CreateRefusal::Api(ApiError::new(
                ErrorCode::QuotaExceeded,
                format!("Maximum of {limit} API keys allowed per user"),
            )),
            other => CreateRefusal::Api(other.into()),
        })
}

fn parse_expiry(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(date) = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d") {
        return date.and_hms_opt(23, 59, 59).map(|t| t.and_utc());
    }
    DateTime::parse_from_rfc3339(text.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The keys the caller may manage, in `status` (seed 003's list shows only active keys).
pub async fn list_keys(
    state: &AppState,
    principal: &Principal,
    status: KeyStatusParam,
) -> Result<Vec<ApiKeyInfo>, ApiError> {
    principal.require_session()?;
    let status = match status {
        KeyStatusParam::Active => KeyStatusFilter::Active,
        KeyStatusParam::Expired => KeyStatusFilter::Expired,
        KeyStatusParam::Revoked => KeyStatusFilter::Revoked,
        KeyStatusParam::All => KeyStatusFilter::All,
    };
    Ok(state
        .store
        .list_api_keys(visibility(principal), status, state.now())
        .await?)
}

pub async fn revoke_key(
    state: &AppState,
    principal: &Principal,
    meta: &RequestMeta,
    key_id: i64,
) -> Result<ApiKeyInfo, ApiError> {
    principal.require_session()?;
    let event = principal.audit(meta, "api_key.revoke");
    state
        .store
        .revoke_api_key(visibility(principal), key_id, event, state.now())
        .await
        .map_err(|e| match e {
            rampart_store::StoreError::NotFound => ApiError::not_found("API key"),
            other => other.into(),
        })
}

pub async fn rotate_key(
    state: &AppState,
    principal: &Principal,
    meta: &RequestMeta,
    key_id: i64,
) -> Result<(ApiKeyInfo, ApiKeySecret), ApiError> {
    principal.require_session()?;
    let event = principal.audit(meta, "api_key.rotate");
    state
        .store
        .rotate_api_key(
            visibility(principal),
            key_id,
            principal.user_id,
            event,
            state.now(),
        )
        .await
        .map_err(|e| match e {
            rampart_store::StoreError::NotFound => ApiError::not_found("API key"),
            other => other.into(),
        })
}

/// The canonical upgrade refusal: the standard error body plus seed 003's fields.
pub(crate) fn upgrade_response(seed: bool) -> Response {
    let body = if seed {
        serde_json::json!({
            "success": false,
            "error": UPGRADE_MESSAGE,
            "upgrade_required": true,
            "upgrade_url": "/pricing",
        })
    } else {
        serde_json::json!({
            "success": false,
            "error": {
                "code": ErrorCode::UpgradeRequired.as_str(),
                "message": UPGRADE_MESSAGE,
                "documentation_url": format!("/docs/errors#{}", ErrorCode::UpgradeRequired.as_str()),
            },
            "upgrade_required": true,
            "upgrade_url": "/pricing",
        })
    };
    let mut response = (StatusCode::FORBIDDEN, Json(body)).into_response();
    response.extensions_mut().insert(ErrorCode::UpgradeRequired);
    response
}

/// Creates an API key; the full key is in this response only.
#[utoipa::path(post, path = "/api/v1/api-keys", tag = "api-keys",
    security(("bearer" = [])),
    request_body = CreateApiKey,
    responses(
        (status = 201, description = "Created; `api_key` is shown only now", body = ApiKeyCreated),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
        (status = 403, description = "Not a session, plan without API keys (`upgrade_required`), key limit reached, or a scope the caller lacks", body = ErrorBody),
        (status = 422, description = "Invalid name, scopes or expiry", body = ErrorBody),
    ))]
pub async fn create(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    ApiJson(body): ApiJson<CreateApiKey>,
) -> Result<Response, ApiError> {
    match create_key(&state, &principal, &meta, body).await {
        Ok((key, secret)) => Ok((
            StatusCode::CREATED,
            Json(ApiKeyCreated {
                api_key: secret.reveal().to_string(),
                key: view(&state, &key),
                replaced_api_key_id: None,
            }),
        )
            .into_response()),
        Err(CreateRefusal::Upgrade) => Ok(upgrade_response(false)),
        Err(CreateRefusal::Api(error)) => Err(error),
    }
}

/// The caller's keys (and the team's service-account keys for `teams:manage`), masked.
/// By default only active keys (neither revoked nor expired), like seed 003's list;
/// `?status=expired|revoked|all` shows the others.
#[utoipa::path(get, path = "/api/v1/api-keys", tag = "api-keys",
    security(("bearer" = [])),
    params(KeyListQuery),
    responses(
        (status = 200, description = "Keys, masked", body = ApiKeyList),
        (status = 400, description = "Unknown `status`", body = ErrorBody),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
        (status = 403, description = "Not a session", body = ErrorBody),
    ))]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    query: Result<ApiQuery<KeyListQuery>, ApiError>,
) -> Result<Json<ApiKeyList>, ApiError> {
    let ApiQuery(query) = query?;
    let keys: Vec<ApiKeyView> = list_keys(&state, &principal, query.status.unwrap_or_default())
        .await?
        .iter()
        .map(|k| view(&state, k))
        .collect();
    Ok(Json(ApiKeyList {
        total: keys.len(),
        keys,
    }))
}

/// Revokes a key at once (a service-account key deletes its account too).
#[utoipa::path(post, path = "/api/v1/api-keys/{id}/revoke", tag = "api-keys",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "API key id")),
    responses(
        (status = 200, description = "Revoked", body = ApiKeyView),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
        (status = 403, description = "Not a session", body = ErrorBody),
        (status = 404, description = "No such key of yours", body = ErrorBody),
    ))]
pub async fn revoke(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Json<ApiKeyView>, ApiError> {
    let key = revoke_key(&state, &principal, &meta, id).await?;
    Ok(Json(view(&state, &key)))
}

/// Replaces a key with a new one (same name, scopes and expiry policy); the old one is
/// revoked at once.
#[utoipa::path(post, path = "/api/v1/api-keys/{id}/rotate", tag = "api-keys",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "API key id")),
    responses(
        (status = 201, description = "The new key; `api_key` is shown only now", body = ApiKeyCreated),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
        (status = 403, description = "Not a session", body = ErrorBody),
        (status = 404, description = "No such key of yours", body = ErrorBody),
    ))]
pub async fn rotate(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<(StatusCode, Json<ApiKeyCreated>), ApiError> {
    let (key, secret) = rotate_key(&state, &principal, &meta, id).await?;
    Ok((
        StatusCode::CREATED,
        Json(ApiKeyCreated {
            api_key: secret.reveal().to_string(),
            key: view(&state, &key),
            replaced_api_key_id: Some(id),
        }),
    ))
}
