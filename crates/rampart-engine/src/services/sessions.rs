//! Sessions (seed 003): redeeming a login code for a session, ending it, and resolving the
//! credentials a request presents (an API key, a session token or the session cookie) into
//! the [`Actor`] that services act for.
//!
//! Sessions are opaque tokens (`rks_` + 64 hex) stored only as SHA-256 and looked up on every
//! request, so logout ends them at once on every replica. Codes are single use, lock after
//! [`MAX_CODE_ATTEMPTS`] wrong tries and are compared in constant time.

use chrono::{DateTime, Utc};
use rampart_core::{ApiKeyHash, ApiKeySecret};
use rampart_store::{AuditActor, AuditEvent, NewSession, StoreError, UserKind};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::actor::{Actor, Credential, RequestOrigin};
use crate::error::{ErrorCode, ServiceError};
use crate::services::api_keys::UPGRADE_MESSAGE;
use crate::services::login::{code_hash, normalize_email};
use crate::Engine;

/// Prefix of session tokens (opaque, 256 random bits, stored as SHA-256).
pub const SESSION_PREFIX: &str = "rks_";

/// Wrong tries after which a login code is locked.
pub const MAX_CODE_ATTEMPTS: i32 = 5;

/// SHA-256 of a session token: the only form stored.
pub fn hash_token(token: &str) -> ApiKeyHash {
    ApiKeyHash(Sha256::digest(token.as_bytes()).into())
}

/// A session just opened by [`redeem_login_code`]; `token` is shown this once.
#[derive(Debug)]
pub struct OpenedSession {
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub user_id: i64,
    pub team_id: i64,
    /// True when this login created the user and their team.
    pub signed_up: bool,
}

fn invalid_code(message: &str) -> ServiceError {
    ServiceError::new(ErrorCode::InvalidCode, message)
}

/// Exchanges the latest login code of `email` for a new session acting for `team_id` (default:
/// the user's first team); with sign-up allowed, an unknown address gets a user and a team.
pub async fn redeem_login_code(
    engine: &Engine,
    origin: &RequestOrigin,
    email: &str,
    code: &str,
    team_id: Option<i64>,
) -> Result<OpenedSession, ServiceError> {
    let email = normalize_email(email)?;
    let now = engine.now();
    let wrong = "the login code is wrong or expired";
    let Some(otp) = engine.store.latest_otp(&email).await? else {
        return Err(invalid_code(wrong));
    };
    if otp.attempts >= MAX_CODE_ATTEMPTS {
        return Err(invalid_code(
            "this code is locked after too many wrong tries; request a new one",
        ));
    }
    if otp.consumed_at.is_some() || otp.expires_at <= now {
        return Err(invalid_code(wrong));
    }
    let presented = code_hash(&otp.code_salt, code.trim());
    if !bool::from(presented.ct_eq(&otp.code_hash)) {
        let event = anonymous_event(origin, &email, "auth.otp_failure").target("email", &email);
        let attempts = engine.store.fail_otp(otp.id, &email, &event, now).await?;
        return Err(invalid_code(if attempts >= MAX_CODE_ATTEMPTS {
            "wrong code; it is now locked after too many wrong tries"
        } else {
            wrong
        }));
    }
    if !engine.store.consume_otp(otp.id, now).await? {
        return Err(invalid_code(wrong));
    }
    open_session(engine, origin, &email, team_id, now).await
}

fn anonymous_event(origin: &RequestOrigin, email: &str, action: &str) -> AuditEvent {
    origin.stamp(AuditEvent::new(
        None,
        AuditActor::anonymous(email.to_string()),
        action,
    ))
}

fn new_session_token() -> String {
    let mut random = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut random);
    format!("{SESSION_PREFIX}{}", hex::encode(random))
}

async fn open_session(
    engine: &Engine,
    origin: &RequestOrigin,
    email: &str,
    team_id: Option<i64>,
    now: DateTime<Utc>,
) -> Result<OpenedSession, ServiceError> {
    let config = &engine.config;
    let token = new_session_token();
    let expires_at = now + config.session_ttl;
    let signup_plan = config.allow_signup.then_some(config.default_plan.as_str());
    let session = NewSession {
        email,
        team_id,
        signup_plan,
        token_hash: hash_token(&token),
        source_ip: origin.source_ip.as_deref(),
        expires_at,
    };
    let event = anonymous_event(origin, email, "auth.login");
    let outcome = engine
        .store
        .login(&session, event, now)
        .await
        .map_err(|error| match error {
            StoreError::NotFound if team_id.is_some() => ServiceError::not_found("team"),
            StoreError::NotFound => invalid_code("no account for this e-mail address"),
            other => other.into(),
        })?;
    Ok(OpenedSession {
        token,
        expires_at,
        user_id: outcome.user_id,
        team_id: outcome.team_id,
        signed_up: outcome.signed_up,
    })
}

/// Ends the caller's session (the token stops working at once); API keys get 403.
pub async fn end_session(
    engine: &Engine,
    actor: &Actor,
    origin: &RequestOrigin,
) -> Result<(), ServiceError> {
    let session_id = actor.require_session()?;
    let event = actor
        .audit(origin, "auth.logout")
        .target("session", session_id);
    engine
        .store
        .end_session(session_id, &event, engine.now())
        .await?;
    Ok(())
}

/// Moves a signed-in person to another of their teams (the dashboard's team switcher): opens
/// a session in `team_id` and ends the current one. The session already proves who they are,
/// so no new code is needed; a team they are not in is a 404.
pub async fn switch_team(
    engine: &Engine,
    actor: &Actor,
    origin: &RequestOrigin,
    team_id: i64,
) -> Result<OpenedSession, ServiceError> {
    let session_id = actor.require_session()?;
    let now = engine.now();
    let opened = open_session(engine, origin, &actor.user_email, Some(team_id), now).await?;
    let event = actor
        .audit(origin, "auth.switch_team")
        .target("session", session_id)
        .details(serde_json::json!({ "to_team_id": opened.team_id }));
    engine.store.end_session(session_id, &event, now).await?;
    Ok(opened)
}

/// The credentials a request presents, as text (the front end reads them from wherever its
/// protocol carries them).
#[derive(Debug, Default, Clone, Copy)]
pub struct PresentedCredentials<'a> {
    /// The whole `Authorization` value, trimmed.
    pub authorization: Option<&'a str>,
    /// Seed 001 (Cortex): the key id sent beside the bare key in `Authorization`.
    pub key_id: Option<&'a str>,
    /// The session cookie's value.
    pub session_cookie: Option<&'a str>,
}

/// 401 `invalid_api_key` for a key that is unknown, expired, revoked or malformed.
pub fn invalid_key() -> ServiceError {
    ServiceError::new(
        ErrorCode::InvalidApiKey,
        "The provided API key is expired or invalid.",
    )
}

fn invalid_session() -> ServiceError {
    ServiceError::new(
        ErrorCode::InvalidApiKey,
        "The session has ended or expired; log in again.",
    )
}

/// Who presents these credentials; `Ok(None)` when none were presented.
///
/// In order: a key id with the key as the whole `Authorization` value (a `Bearer ` prefix is
/// tolerated); `Bearer <token>` with a session token or an API key; else the session cookie.
pub async fn authenticate(
    engine: &Engine,
    presented: &PresentedCredentials<'_>,
    now: DateTime<Utc>,
) -> Result<Option<Actor>, ServiceError> {
    if let Some(key_id) = presented.key_id {
        let key_id: i64 = key_id.trim().parse().map_err(|_| invalid_key())?;
        let secret = presented.authorization.ok_or_else(|| {
            ServiceError::new(
                ErrorCode::MissingCredentials,
                "x-xdr-auth-id needs the API key in `Authorization`",
            )
        })?;
        let secret = secret
            .strip_prefix("Bearer ")
            .or_else(|| secret.strip_prefix("bearer "))
            .unwrap_or(secret)
            .trim();
        return authenticate_key(engine, secret, Some(key_id), now)
            .await
            .map(Some);
    }
    if let Some(value) = presented.authorization {
        let token = bearer_token(value)?;
        if token.starts_with(SESSION_PREFIX) {
            return authenticate_session(engine, token, now).await.map(Some);
        }
        return authenticate_key(engine, token, None, now).await.map(Some);
    }
    if let Some(token) = presented.session_cookie {
        return authenticate_session(engine, token, now).await.map(Some);
    }
    Ok(None)
}

/// The token of `Bearer <token>` (the scheme in any case); else 401 `missing_credentials`.
fn bearer_token(authorization: &str) -> Result<&str, ServiceError> {
    let (scheme, token) = authorization.split_once(' ').unwrap_or((authorization, ""));
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(ServiceError::new(
            ErrorCode::MissingCredentials,
            "expected `Authorization: Bearer <api key or session token>`",
        ));
    }
    Ok(token)
}

async fn authenticate_key(
    engine: &Engine,
    token: &str,
    expected_id: Option<i64>,
    now: DateTime<Utc>,
) -> Result<Actor, ServiceError> {
    let secret = ApiKeySecret::parse(token).ok_or_else(invalid_key)?;
    let record = engine
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
    // Seed 003 too: when the subscription is inactive (or its paid period ended) keys stop
    // at once and work again when it is reactivated.
    if engine
        .config
        .plans
        .limits(&record.team_plan)
        .api_keys_per_user
        == 0
        || !record
            .team_plan_status
            .keys_allowed(record.team_period_end, now)
    {
        return Err(ServiceError::new(
            ErrorCode::UpgradeRequired,
            UPGRADE_MESSAGE,
        ));
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
    engine: &Engine,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Actor, ServiceError> {
    let record = engine
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_are_read_in_any_case_of_the_scheme() {
        assert_eq!(bearer_token("Bearer rks_abc").unwrap(), "rks_abc");
        assert_eq!(bearer_token("bearer   rk_live_x ").unwrap(), "rk_live_x");
        assert_eq!(bearer_token("BEARER t").unwrap(), "t");
    }

    #[test]
    fn other_schemes_and_empty_tokens_are_missing_credentials() {
        for bad in ["Basic dXNlcjpwYXNz", "Bearer", "Bearer   ", "rk_live_x", ""] {
            let error = bearer_token(bad).unwrap_err();
            assert_eq!(error.code(), ErrorCode::MissingCredentials, "{bad:?}");
        }
    }

    #[test]
    fn session_tokens_are_prefixed_and_hashed_not_kept() {
        let token = new_session_token();
        assert!(token.starts_with(SESSION_PREFIX));
        assert_eq!(token.len(), SESSION_PREFIX.len() + 64);
        assert_ne!(token, new_session_token());
        assert_eq!(hash_token(&token).0, hash_token(&token).0);
        assert_ne!(hash_token(&token).0, hash_token("rks_other").0);
    }
}
