//! API keys (DESIGN §4, seeds 003 and 004): the canonical `/api/v1/api-keys` resources.
//! Seed 003's `/api/*-api-key` endpoints are in `seed_api_keys`; the rules of both (and of
//! `rampart keys create`) are in [`rampart_engine::services::api_keys`].

use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use rampart_core::ApiKeyKind;
use rampart_store::{ApiKeyInfo, KeyStatusFilter, UserKind};
use serde::{Deserialize, Serialize};

use crate::auth::{upgrade_response, Principal, RequestMeta};
use crate::error::{ApiError, ApiJson, ApiQuery, ErrorBody};
use crate::state::AppState;
use rampart_engine::services::api_keys::{
    self, CreateApiKey, CreateRefusal, KeyRequester, RotateApiKey,
};

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
    /// When the key was revoked (listed only with `?status=revoked` or `all`); for a key
    /// rotated with a grace period, the future time it stops working.
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
        // A key in the grace period of a rotation works (and is active) until `revoked_at`.
        status: if key.revoked_at.is_some_and(|at| at <= now) {
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

/// Creates an API key; the full key is in this response only.
#[utoipa::path(post, path = "/api/v1/api-keys", tag = "api-keys",
    operation_id = "create_api_key",
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
    let requester = KeyRequester::session(&principal, &meta)?;
    let now = state.now();
    match api_keys::create_key(&state.store, &state.config.plans, now, &requester, body).await {
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
        Err(CreateRefusal::Api(error)) => Err(error.into()),
    }
}

/// The caller's keys (and the team's service-account keys for `teams:manage`), masked.
/// By default only active keys (neither revoked nor expired), like seed 003's list;
/// `?status=expired|revoked|all` shows the others.
#[utoipa::path(get, path = "/api/v1/api-keys", tag = "api-keys",
    operation_id = "list_api_keys",
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
    let status = match query.status.unwrap_or_default() {
        KeyStatusParam::Active => KeyStatusFilter::Active,
        KeyStatusParam::Expired => KeyStatusFilter::Expired,
        KeyStatusParam::Revoked => KeyStatusFilter::Revoked,
        KeyStatusParam::All => KeyStatusFilter::All,
    };
    let keys: Vec<ApiKeyView> = api_keys::list_keys(&state, &principal, status)
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
    operation_id = "revoke_api_key",
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
    let key = api_keys::revoke_key(&state, &principal, &meta, id).await?;
    Ok(Json(view(&state, &key)))
}

/// The optional JSON body of a rotation: none at all (no `Content-Length`, or 0) is the
/// default, an immediate revocation of the old key.
pub struct OptionalRotateBody(RotateApiKey);

impl<S: Send + Sync> FromRequest<S> for OptionalRotateBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let headers = request.headers();
        let has_body = match headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
        {
            Some(length) => length > 0,
            None => headers.contains_key(header::TRANSFER_ENCODING),
        };
        if !has_body {
            return Ok(OptionalRotateBody(RotateApiKey::default()));
        }
        // `null` is no body too, as the document allows.
        let ApiJson(body) = ApiJson::<Option<RotateApiKey>>::from_request(request, state).await?;
        Ok(OptionalRotateBody(body.unwrap_or_default()))
    }
}

/// Replaces a key with a new one (same name, scopes and expiry policy). The old one is
/// revoked at once, or after `expire_old_in` (e.g. `"24h"`): both work until then.
#[utoipa::path(post, path = "/api/v1/api-keys/{id}/rotate", tag = "api-keys",
    operation_id = "rotate_api_key",
    security(("bearer" = [])),
    params(("id" = i64, Path, description = "API key id")),
    request_body(content = Option<RotateApiKey>, description = "Optional: `{\"expire_old_in\": \"24h\"}`"),
    responses(
        (status = 201, description = "The new key; `api_key` is shown only now", body = ApiKeyCreated),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
        (status = 403, description = "Not a session, or the subscription is inactive (`upgrade_required`)", body = ErrorBody),
        (status = 404, description = "No such key of yours", body = ErrorBody),
        (status = 422, description = "Invalid `expire_old_in`", body = ErrorBody),
    ))]
pub async fn rotate(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    Path(id): Path<i64>,
    OptionalRotateBody(body): OptionalRotateBody,
) -> Result<Response, ApiError> {
    let grace = api_keys::rotation_grace(body.expire_old_in.as_deref())?;
    match api_keys::rotate_key(&state, &principal, &meta, id, grace).await {
        Ok((key, secret)) => Ok((
            StatusCode::CREATED,
            Json(ApiKeyCreated {
                api_key: secret.reveal().to_string(),
                key: view(&state, &key),
                replaced_api_key_id: Some(id),
            }),
        )
            .into_response()),
        Err(CreateRefusal::Upgrade) => Ok(upgrade_response(false)),
        Err(CreateRefusal::Api(error)) => Err(error.into()),
    }
}
