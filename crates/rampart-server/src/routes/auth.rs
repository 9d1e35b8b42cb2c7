//! Passwordless login (seed 003): a 6-digit code by e-mail, exchanged for a session.
//!
//! Codes live 10 minutes (configurable), are single use, lock after 5 wrong tries, are
//! stored as salted SHA-256 and compared in constant time; requests are limited per e-mail
//! and per source IP. Sessions are opaque tokens (`rks_` + 64 hex) stored as SHA-256 and
//! checked on every request, so logout ends them at once on every replica. The rules are the
//! engine's `services::login` and `services::sessions`; these handlers shape the cookie.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use rampart_engine::services::{login, sessions};
use serde::{Deserialize, Serialize};

use crate::auth::{session_cookie_header as session_cookie, Principal, RequestMeta};
use crate::error::{ApiError, ApiJson, ErrorBody};
use crate::state::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
pub struct OtpRequest {
    #[schema(format = IdnEmail)]
    pub email: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct OtpSent {
    pub success: bool,
    pub message: String,
    /// Seconds the code stays valid.
    pub expires_in: i64,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct OtpVerify {
    #[schema(format = IdnEmail)]
    pub email: String,
    pub code: String,
    /// The team to act for (default: the user's first team).
    #[serde(default)]
    pub team_id: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SessionCreated {
    pub success: bool,
    /// Send as `Authorization: Bearer <token>` (also set as an HttpOnly cookie).
    pub token: String,
    pub token_type: &'static str,
    pub expires_at: chrono::DateTime<chrono::Utc>,
    pub user_id: i64,
    pub team_id: i64,
    /// True when this login created the user and their team.
    pub signed_up: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct LoggedOut {
    pub success: bool,
    pub message: &'static str,
}

/// Sends a 6-digit login code to the e-mail address.
#[utoipa::path(post, path = "/api/v1/auth/otp", tag = "auth",
    request_body = OtpRequest,
    responses(
        (status = 202, description = "Code sent", body = OtpSent),
        (status = 422, description = "Invalid e-mail", body = ErrorBody),
        (status = 429, description = "Too many codes requested", body = ErrorBody),
    ))]
pub async fn request_otp(
    State(state): State<AppState>,
    meta: RequestMeta,
    ApiJson(body): ApiJson<OtpRequest>,
) -> Result<(StatusCode, Json<OtpSent>), ApiError> {
    let valid_for = login::request_login_code(&state, &meta, &body.email).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(OtpSent {
            success: true,
            message: "If the address can receive mail, a login code is on its way.".into(),
            expires_in: valid_for.num_seconds(),
        }),
    ))
}

/// Exchanges a login code for a session token (also set as an HttpOnly cookie).
#[utoipa::path(post, path = "/api/v1/auth/otp/verify", tag = "auth",
    request_body = OtpVerify,
    responses(
        (status = 200, description = "Logged in", body = SessionCreated),
        (status = 401, description = "Wrong, expired, used or locked code", body = ErrorBody),
        (status = 422, description = "Invalid e-mail", body = ErrorBody),
    ))]
pub async fn verify_otp(
    State(state): State<AppState>,
    meta: RequestMeta,
    ApiJson(body): ApiJson<OtpVerify>,
) -> Result<Response, ApiError> {
    let session =
        sessions::redeem_login_code(&state, &meta, &body.email, &body.code, body.team_id).await?;
    let cookie = session_cookie(
        &session.token,
        state.config.session_ttl.num_seconds(),
        state.config.secure_cookies(),
    );
    let mut response = Json(SessionCreated {
        success: true,
        token: session.token,
        token_type: "Bearer",
        expires_at: session.expires_at,
        user_id: session.user_id,
        team_id: session.team_id,
        signed_up: session.signed_up,
    })
    .into_response();
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(response)
}

/// Ends the current session (the token and cookie stop working at once).
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Logged out", body = LoggedOut),
        (status = 401, description = "Missing or invalid credentials", body = ErrorBody),
        (status = 403, description = "Called with an API key (revoke keys instead)", body = ErrorBody),
    ))]
pub async fn logout(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
) -> Result<Response, ApiError> {
    sessions::end_session(&state, &principal, &meta).await?;
    let mut response = Json(LoggedOut {
        success: true,
        message: "logged out",
    })
    .into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        session_cookie("", 0, state.config.secure_cookies()),
    );
    Ok(response)
}
