//! Who is calling, and how often.
//!
//! Credentials, in order: `x-xdr-auth-id: <key id>` with the key as the whole
//! `Authorization` value (seed 001's Cortex style); `Authorization: Bearer <token>` where the
//! token is an API key (`rk_live_…`/`rk_test_…`) or a session token (`rks_…`, from the OTP
//! login); else the `rampart_session` cookie. Sessions are looked up in the database on
//! every request; so are keys on PostgreSQL, so a revoked key or ended session fails on the
//! very next request on every replica. On SQLite (one server process) keys come from an
//! in-memory cache that the store empties on every identity change (revoke, rotate, member
//! removal, plan change), which is just as exact and keeps the database off the hot path.
//!
//! [`identify`] runs on every request: it authenticates when credentials are present,
//! applies the rate limit (per key, per session user, else per source IP) and sets the
//! `X-RateLimit-*` headers on every response but the health probes', which are never
//! limited. [`require_principal`] guards protected routes. Handlers receive the
//! [`Principal`] and [`RequestMeta`] as extractors (the engine's `Actor` and `RequestOrigin`,
//! which also documents test mode).

use std::net::SocketAddr;
use std::ops::Deref;

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rampart_core::{ApiKeyHash, ApiKeySecret};
use rampart_store::UserKind;
use sha2::{Digest, Sha256};

use rampart_engine::services::api_keys::UPGRADE_MESSAGE;
use rampart_engine::{Actor, Credential, RequestOrigin};

use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "rampart_session";
/// Prefix of session tokens (opaque, 256 random bits, stored as SHA-256).
pub const SESSION_PREFIX: &str = "rks_";

/// The authenticated caller of a request, as a handler extracts it; the engine's [`Actor`]
/// (which services take: pass `&principal`).
#[derive(Debug, Clone)]
pub struct Principal(pub Actor);

impl Deref for Principal {
    type Target = Actor;

    fn deref(&self) -> &Actor {
        &self.0
    }
}

/// The request id and source IP of a request, as a handler extracts it; the engine's
/// [`RequestOrigin`] (pass `&meta` to services).
#[derive(Debug, Clone, Default)]
pub struct RequestMeta(pub RequestOrigin);

impl Deref for RequestMeta {
    type Target = RequestOrigin;

    fn deref(&self) -> &RequestOrigin {
        &self.0
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RequestMeta {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        Ok(RequestMeta(
            parts
                .extensions
                .get::<RequestOrigin>()
                .cloned()
                .unwrap_or_default(),
        ))
    }
}

/// What [`identify`] found: a principal, no credentials at all, or a refusal to report on
/// protected routes.
#[derive(Clone)]
struct AuthOutcome(Result<Option<Actor>, (ErrorCode, String)>);

/// Global middleware: authenticate if credentials are present, rate-limit, and set the
/// rate-limit headers on the response. Also records scope denials in the audit log.
pub async fn identify(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    if crate::ratelimit::is_exempt(request.uri().path()) {
        return next.run(request).await;
    }
    let meta = RequestOrigin {
        request_id: request
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        source_ip: request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip().to_string()),
    };
    let now = state.now();
    let outcome = authenticate(&state, request.headers(), now).await;
    let (bucket, limit) = match &outcome {
        Ok(Some(principal)) => {
            let limit = state
                .config
                .plans
                .limits(&principal.plan)
                .rate_limit_per_minute;
            let bucket = match principal.credential {
                Credential::ApiKey { id, .. } => format!("key:{id}"),
                Credential::Session { .. } => format!("user:{}", principal.user_id),
            };
            (bucket, limit)
        }
        _ => (
            format!("ip:{}", meta.source_ip.as_deref().unwrap_or("unknown")),
            state.config.anonymous_rate_limit_per_minute,
        ),
    };
    let decision = state
        .rate_limiter
        .hit(&state.store, &bucket, limit, now)
        .await;
    let mut response = if decision.allowed {
        if let Ok(Some(Actor {
            credential: Credential::ApiKey { id, .. },
            ..
        })) = &outcome
        {
            state.key_usage.record(*id, now);
        }
        let principal = outcome.as_ref().ok().cloned().flatten();
        request.extensions_mut().insert(meta.clone());
        request.extensions_mut().insert(AuthOutcome(
            outcome.map_err(|e| (e.code(), e.message().to_string())),
        ));
        let path = request.uri().path().to_string();
        let response = next.run(request).await;
        if response.extensions().get::<ErrorCode>() == Some(&ErrorCode::InsufficientScope) {
            if let Some(principal) = principal {
                let event = principal
                    .audit(&meta, "access.denied")
                    .target("route", &path);
                if let Err(error) = state.store.record_audit(&event, now).await {
                    tracing::warn!(%error, "cannot record scope denial");
                }
            }
        }
        response
    } else {
        let mut refused = ApiError::new(
            ErrorCode::RateLimited,
            format!(
                "rate limit of {} requests per minute exceeded; retry after {} seconds",
                decision.limit, decision.retry_after
            ),
        )
        .into_response();
        refused
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(decision.retry_after));
        refused
    };
    let headers = response.headers_mut();
    headers.insert("x-ratelimit-limit", HeaderValue::from(decision.limit));
    headers.insert(
        "x-ratelimit-remaining",
        HeaderValue::from(decision.remaining),
    );
    headers.insert("x-ratelimit-reset", HeaderValue::from(decision.reset));
    response
}

/// Route layer of protected routes: a principal, or the reason there is none.
pub async fn require_principal(mut request: Request, next: Next) -> Result<Response, ApiError> {
    let outcome = request
        .extensions_mut()
        .remove::<AuthOutcome>()
        .ok_or_else(|| ApiError::internal("identify middleware is not installed"))?;
    match outcome.0 {
        Ok(Some(principal)) => {
            request.extensions_mut().insert(principal);
            Ok(next.run(request).await)
        }
        Ok(None) => Err(ApiError::new(
            ErrorCode::MissingCredentials,
            "missing credentials: send `Authorization: Bearer <api key or session token>`",
        )),
        Err((ErrorCode::UpgradeRequired, _)) => Ok(upgrade_response(false)),
        Err((code, message)) => Err(ApiError::new(code, message)),
    }
}

/// Seed 003's refusal on a plan without API keys (403 `upgrade_required`): seed 003's
/// fields, inside the standard error body unless `seed` (the seed's own envelope).
pub fn upgrade_response(seed: bool) -> Response {
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
    let mut response = (axum::http::StatusCode::FORBIDDEN, axum::Json(body)).into_response();
    response.extensions_mut().insert(ErrorCode::UpgradeRequired);
    response
}

fn invalid_key() -> ApiError {
    ApiError::new(
        ErrorCode::InvalidApiKey,
        "The provided API key is expired or invalid.",
    )
}

fn invalid_session() -> ApiError {
    ApiError::new(
        ErrorCode::InvalidApiKey,
        "The session has ended or expired; log in again.",
    )
}

/// `Ok(None)`: no credentials were sent.
async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Option<Actor>, ApiError> {
    let authorization = match headers.get(header::AUTHORIZATION) {
        Some(value) => Some(value.to_str().map_err(|_| invalid_key())?.trim()),
        None => None,
    };
    // Seed 001 (Cortex): key id header plus the bare key in Authorization.
    if let Some(key_id) = headers.get("x-xdr-auth-id") {
        let key_id: i64 = key_id
            .to_str()
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .ok_or_else(invalid_key)?;
        let secret = authorization.ok_or_else(|| {
            ApiError::new(
                ErrorCode::MissingCredentials,
                "x-xdr-auth-id needs the API key in `Authorization`",
            )
        })?;
        let secret = secret
            .strip_prefix("Bearer ")
            .or_else(|| secret.strip_prefix("bearer "))
            .unwrap_or(secret)
            .trim();
        return authenticate_key(state, secret, Some(key_id), now)
            .await
            .map(Some);
    }
    if let Some(value) = authorization {
        let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
        let token = token.trim();
        if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
            return Err(ApiError::new(
                ErrorCode::MissingCredentials,
                "expected `Authorization: Bearer <api key or session token>`",
            ));
        }
        if token.starts_with(SESSION_PREFIX) {
            return authenticate_session(state, token, now).await.map(Some);
        }
        return authenticate_key(state, token, None, now).await.map(Some);
    }
    if let Some(token) = session_cookie(headers) {
        return authenticate_session(state, token, now).await.map(Some);
    }
    Ok(None)
}

async fn authenticate_key(
    state: &AppState,
    token: &str,
    expected_id: Option<i64>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Actor, ApiError> {
    let secret = ApiKeySecret::parse(token).ok_or_else(invalid_key)?;
    let record = state
        .store
        .find_api_key(&secret.hash())
        .await?
        .ok_or_else(invalid_key)?;
    if !record.is_active_at(now) || expected_id.is_some_and(|id| id != record.id) {
        return Err(invalid_key());
    }
    // The key's owner left the team: the key no longer works.
    let role = record.role.ok_or_else(invalid_key)?;
    // Seed 003: on a plan without API keys (a team moved to `free`) keys stop working at
    // once, and work again when the plan allows keys again; they are not revoked.
    if state
        .config
        .plans
        .limits(&record.team_plan)
        .api_keys_per_user
        == 0
    {
        return Err(ApiError::new(ErrorCode::UpgradeRequired, UPGRADE_MESSAGE));
    }
    let service_account = record.user_kind == UserKind::Service;
    Ok(Actor {
        team_id: record.team_id,
        user_id: record.user_id,
        user_email: if service_account {
            record.user_name.unwrap_or(record.user_email)
        } else {
            record.user_email
        },
        scopes: record.scopes.intersection(role.scopes()),
        role,
        plan: record.team_plan,
        credential: Credential::ApiKey {
            id: record.id,
            name: record.name,
            kind: record.kind,
            service_account,
        },
    })
}

async fn authenticate_session(
    state: &AppState,
    token: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Actor, ApiError> {
    let record = state
        .store
        .find_session(&hash_token(token))
        .await?
        .ok_or_else(invalid_session)?;
    if record.ended_at.is_some() || record.expires_at <= now {
        return Err(invalid_session());
    }
    let role = record.role.ok_or_else(invalid_session)?;
    Ok(Actor {
        team_id: record.team_id,
        user_id: record.user_id,
        user_email: record.email,
        scopes: role.scopes(),
        role,
        plan: record.team_plan,
        credential: Credential::Session { id: record.id },
    })
}

/// SHA-256 of a session token: the only form stored.
pub fn hash_token(token: &str) -> ApiKeyHash {
    ApiKeyHash(Sha256::digest(token.as_bytes()).into())
}

fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.trim())
        .filter(|value| !value.is_empty())
}

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<Actor>()
            .cloned()
            .map(Principal)
            .ok_or_else(|| {
                // A handler asked for a principal on a route mounted without the auth layer.
                ApiError::internal("route is missing the authentication layer")
            })
    }
}
