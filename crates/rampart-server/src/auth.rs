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
//! [`identify`] runs on every request, in named steps: read the credentials from the headers,
//! resolve them into an `Actor` (the engine's `services::sessions::authenticate`), apply the
//! rate limit (per key, per session user, else per source IP), note the caller on the
//! response (the request log counts key usage from it), and audit scope denials; it sets the `X-RateLimit-*` headers on every response but the health
//! probes', which are never limited. [`require_principal`] guards protected routes. Handlers receive the
//! [`Principal`] and [`RequestMeta`] as extractors (the engine's `Actor` and `RequestOrigin`,
//! which also documents test mode).

use std::ops::Deref;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rampart_engine::services::api_keys::UPGRADE_MESSAGE;
use rampart_engine::services::sessions::{self, PresentedCredentials};
use rampart_engine::{Actor, Credential, RequestOrigin, ServiceError};

use crate::error::{ApiError, ErrorCode};
use crate::ratelimit::RateDecision;
use crate::request_log::{client_ip, peer_ip, CallerTag};
use crate::state::AppState;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "rampart_session";

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
    let origin = request_origin(&request, &state.config.trusted_proxies);
    let now = state.now();
    let outcome = match read_credentials(request.headers()) {
        Ok(presented) => sessions::authenticate(&state, &presented, now).await,
        Err(refused) => Err(refused),
    };
    let (bucket, limit) = rate_limit_bucket(
        &state,
        outcome.as_ref().ok().and_then(Option::as_ref),
        &origin,
    );
    let decision = state
        .rate_limiter
        .hit(&state.store, &bucket, limit, now)
        .await;
    let caller = outcome.as_ref().ok().cloned().flatten();
    let tag = caller_tag(caller.as_ref());
    let mut response = if decision.allowed {
        request.extensions_mut().insert(origin.clone());
        request
            .extensions_mut()
            .insert(AuthOutcome(outcome.map_err(ServiceError::into_parts)));
        let path = request.uri().path().to_string();
        let response = next.run(request).await;
        let denied =
            response.extensions().get::<ErrorCode>() == Some(&ErrorCode::InsufficientScope);
        if let (true, Some(caller)) = (denied, caller) {
            audit_scope_denial(&state, &caller, &origin, &path, now).await;
        }
        response
    } else {
        metrics::counter!("rampart_rate_limit_refusals_total").increment(1);
        rate_limited(&decision)
    };
    set_rate_limit_headers(&mut response, &decision);
    // For the request log, which also counts key usage (every request made with a key,
    // refused by the rate limit or not).
    response.extensions_mut().insert(tag);
    response
}

/// Who the request log names: the key (and its owner) or the session's user, and the team.
fn caller_tag(caller: Option<&Actor>) -> CallerTag {
    match caller {
        None => CallerTag::default(),
        Some(caller) => CallerTag {
            team_id: Some(caller.team_id),
            key_id: match caller.credential {
                Credential::ApiKey { id, .. } => Some(id),
                Credential::Session { .. } => None,
            },
            user_id: Some(caller.user_id),
        },
    }
}

/// The request id (as the client sent it) and the client's IP: the peer's, or behind a
/// trusted proxy the address it forwarded for.
fn request_origin(request: &Request, trusted_proxies: &[ipnet::IpNet]) -> RequestOrigin {
    RequestOrigin {
        request_id: request
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        source_ip: client_ip(peer_ip(request), request.headers(), trusted_proxies)
            .map(|ip| ip.to_string()),
    }
}

/// The credentials in the headers, as the engine reads them; an `Authorization` value that
/// is not text is an invalid key.
fn read_credentials(headers: &HeaderMap) -> Result<PresentedCredentials<'_>, ServiceError> {
    let authorization = match headers.get(header::AUTHORIZATION) {
        Some(value) => Some(value.to_str().map_err(|_| sessions::invalid_key())?.trim()),
        None => None,
    };
    Ok(PresentedCredentials {
        authorization,
        // Not text: no number either, so an invalid key.
        key_id: headers
            .get("x-xdr-auth-id")
            .map(|value| value.to_str().unwrap_or("")),
        session_cookie: session_cookie(headers),
    })
}

/// Who the rate limit counts: a key, a session's user, else the source IP; and their limit.
fn rate_limit_bucket(
    state: &AppState,
    caller: Option<&Actor>,
    origin: &RequestOrigin,
) -> (String, u32) {
    match caller {
        Some(caller) => {
            let limit = state
                .config
                .plans
                .limits(&caller.plan)
                .rate_limit_per_minute;
            let bucket = match caller.credential {
                Credential::ApiKey { id, .. } => format!("key:{id}"),
                Credential::Session { .. } => format!("user:{}", caller.user_id),
            };
            (bucket, limit)
        }
        None => (
            format!("ip:{}", origin.source_ip.as_deref().unwrap_or("unknown")),
            state.config.anonymous_rate_limit_per_minute,
        ),
    }
}

/// A 403 `insufficient_scope` answer is recorded as `access.denied` on the route.
async fn audit_scope_denial(
    state: &AppState,
    caller: &Actor,
    origin: &RequestOrigin,
    path: &str,
    now: chrono::DateTime<chrono::Utc>,
) {
    let event = caller.audit(origin, "access.denied").target("route", path);
    if let Err(error) = state.store.record_audit(&event, now).await {
        tracing::warn!(%error, "cannot record scope denial");
    }
}

fn rate_limited(decision: &RateDecision) -> Response {
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
}

fn set_rate_limit_headers(response: &mut Response, decision: &RateDecision) {
    let headers = response.headers_mut();
    headers.insert("x-ratelimit-limit", HeaderValue::from(decision.limit));
    headers.insert(
        "x-ratelimit-remaining",
        HeaderValue::from(decision.remaining),
    );
    headers.insert("x-ratelimit-reset", HeaderValue::from(decision.reset));
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

/// The caller [`identify`] resolved for this request, for routes that also serve visitors
/// without credentials (the dashboard); `None` when none or invalid ones were presented.
pub(crate) fn identified(extensions: &axum::http::Extensions) -> Option<&Actor> {
    extensions
        .get::<AuthOutcome>()
        .and_then(|outcome| outcome.0.as_ref().ok())
        .and_then(Option::as_ref)
}

/// The `Set-Cookie` value of a session (an empty value with `max_age` 0 clears it).
pub fn session_cookie_header(value: &str, max_age: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    ))
    .expect("cookie is ASCII")
}

pub(crate) fn session_cookie(headers: &HeaderMap) -> Option<&str> {
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
