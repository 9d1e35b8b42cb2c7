//! Passwordless login (seed 003): a 6-digit code by e-mail, exchanged for a session.
//!
//! Codes live 10 minutes (configurable), are single use, lock after 5 wrong tries, are
//! stored as salted SHA-256 and compared in constant time; requests are limited per e-mail
//! and per source IP. Sessions are opaque tokens (`rks_` + 64 hex) stored as SHA-256 and
//! checked on every request, so logout ends them at once on every replica.

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use rampart_store::{AuditActor, AuditEvent, NewSession, StoreError};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::auth::{hash_token, Principal, RequestMeta, SESSION_COOKIE, SESSION_PREFIX};
use crate::error::{ApiError, ApiJson, ErrorBody, ErrorCode};
use crate::state::AppState;
use rampart_engine::services::login::{code_hash, issue_login_code, normalize_email};

/// Wrong tries after which a code is locked.
const MAX_ATTEMPTS: i32 = 5;

#[derive(Deserialize, utoipa::ToSchema)]
pub struct OtpRequest {
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
    let email = normalize_email(&body.email)?;
    let config = &state.config;
    let now = state.now();
    let (by_email, by_ip) = state
        .store
        .count_otp_requests(&email, meta.source_ip.as_deref(), now - config.otp_window)
        .await?;
    if by_email >= config.otp_max_per_email || by_ip >= config.otp_max_per_ip {
        return Err(ApiError::new(
            ErrorCode::RateLimited,
            "too many login codes requested; wait before asking for another",
        ));
    }
    let event = meta.stamp(
        AuditEvent::new(
            None,
            AuditActor::anonymous(email.clone()),
            "auth.otp_request",
        )
        .target("email", &email),
    );
    let code = issue_login_code(
        &state.store,
        &email,
        meta.source_ip.as_deref(),
        now + config.otp_ttl,
        &event,
        now,
    )
    .await?;
    let minutes = config.otp_ttl.num_minutes().max(1);
    let text = format!(
        "Your Rampart login code is {code}\n\nIt is valid for {minutes} minutes and can be used once.\n\
         If you did not ask for it, ignore this message.\n"
    );
    if let Err(error) = state
        .mailer
        .send(&email, &format!("Your Rampart login code: {code}"), text)
        .await
    {
        tracing::error!(%error, "cannot send the login code e-mail");
        return Err(ApiError::new(
            ErrorCode::ServiceUnavailable,
            "the login code could not be sent; try again later",
        ));
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(OtpSent {
            success: true,
            message: "If the address can receive mail, a login code is on its way.".into(),
            expires_in: config.otp_ttl.num_seconds(),
        }),
    ))
}

fn invalid_code(message: &str) -> ApiError {
    ApiError::new(ErrorCode::InvalidCode, message)
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
    let email = normalize_email(&body.email)?;
    let now = state.now();
    let wrong = "the login code is wrong or expired";
    let Some(otp) = state.store.latest_otp(&email).await? else {
        return Err(invalid_code(wrong));
    };
    if otp.attempts >= MAX_ATTEMPTS {
        return Err(invalid_code(
            "this code is locked after too many wrong tries; request a new one",
        ));
    }
    if otp.consumed_at.is_some() || otp.expires_at <= now {
        return Err(invalid_code(wrong));
    }
    let presented = code_hash(&otp.code_salt, body.code.trim());
    if !bool::from(presented.ct_eq(&otp.code_hash)) {
        let event = meta.stamp(
            AuditEvent::new(
                None,
                AuditActor::anonymous(email.clone()),
                "auth.otp_failure",
            )
            .target("email", &email),
        );
        let attempts = state.store.fail_otp(otp.id, &email, &event, now).await?;
        return Err(invalid_code(if attempts >= MAX_ATTEMPTS {
            "wrong code; it is now locked after too many wrong tries"
        } else {
            wrong
        }));
    }
    if !state.store.consume_otp(otp.id, now).await? {
        return Err(invalid_code(wrong));
    }
    let mut random = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut random);
    let token = format!("{SESSION_PREFIX}{}", hex::encode(random));
    let expires_at = now + state.config.session_ttl;
    let signup_plan = state
        .config
        .allow_signup
        .then_some(state.config.default_plan.as_str());
    let event = meta.stamp(AuditEvent::new(
        None,
        AuditActor::anonymous(email.clone()),
        "auth.login",
    ));
    let outcome = state
        .store
        .login(
            &NewSession {
                email: &email,
                team_id: body.team_id,
                signup_plan,
                token_hash: hash_token(&token),
                source_ip: meta.source_ip.as_deref(),
                expires_at,
            },
            event,
            now,
        )
        .await
        .map_err(|error| match error {
            StoreError::NotFound if body.team_id.is_some() => ApiError::not_found("team"),
            StoreError::NotFound => invalid_code("no account for this e-mail address"),
            other => other.into(),
        })?;
    let cookie = session_cookie(
        &token,
        state.config.session_ttl.num_seconds(),
        state.config.secure_cookies(),
    );
    let mut response = Json(SessionCreated {
        success: true,
        token,
        token_type: "Bearer",
        expires_at,
        user_id: outcome.user_id,
        team_id: outcome.team_id,
        signed_up: outcome.signed_up,
    })
    .into_response();
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(response)
}

fn session_cookie(value: &str, max_age: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    ))
    .expect("cookie is ASCII")
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
    let session_id = principal.require_session()?;
    let event = principal
        .audit(&meta, "auth.logout")
        .target("session", session_id);
    state
        .store
        .end_session(session_id, &event, state.now())
        .await?;
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
