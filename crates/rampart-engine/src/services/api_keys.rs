//! API key rules (DESIGN §4, seeds 003 and 004), shared by `/api/v1/api-keys`, seed 003's
//! `/api/*-api-key` endpoints and `rampart keys create`.
//!
//! A key's scopes are a subset of its creator's; a person's active keys are limited by the
//! team's plan (a plan with 0 keys — `free` by default — refuses with seed 003's upgrade
//! error); the team setting `api_key_creation` (`members` or `admins`) says who may create
//! keys at all. A team key for CI (`service_account`, needs `teams:manage`) is backed by a
//! service account `api_<key-name>` that is outside user quotas and is deleted with the key.
//! Over HTTP, managing keys needs a logged-in session (an API key gets 403).

use chrono::{DateTime, NaiveDate, Utc};
use rampart_core::{ApiKeyKind, ApiKeySecret, Role, Scope, ScopeSet};
use rampart_store::{
    ApiKeyInfo, AuditActor, AuditEvent, KeyOwner, KeyStatusFilter, KeyVisibility, NewApiKey, Store,
    StoreError,
};
use serde::Deserialize;

use crate::actor::{Actor, RequestOrigin};
use crate::config::Plans;
use crate::error::{ErrorCode, ServiceError};
use crate::Engine;

/// Seed 003's refusal on a plan without API keys (key routes and key authentication).
pub const UPGRADE_MESSAGE: &str = "API keys are only available for Pro users.";

const NAME_MAX: usize = 100;
const EXPIRY_DAYS: &[i64] = &[30, 90, 180, 365];

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKey {
    /// 1-100 characters, no control characters.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
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

/// The optional body of a rotation.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateApiKey {
    /// How long the old key keeps working beside the new one (`"24h"`, `"90m"`, `"7d"`; at
    /// most 30 days). Absent: the old key stops at once.
    #[serde(default)]
    #[schema(pattern = "^[0-9]+[hmd]$")]
    pub expire_old_in: Option<String>,
}

/// Who asks for a key: a person in a team, acting through a logged-in session or through
/// the server's own command line.
#[derive(Debug, Clone)]
pub struct KeyRequester {
    pub team_id: i64,
    /// The person who will own a personal key (and is named as its creator).
    pub user_id: i64,
    pub role: Role,
    /// What the requester holds: a key gets a subset of it.
    pub scopes: ScopeSet,
    /// The team's plan.
    pub plan: String,
    /// Who the audit log names, with the request's id and source IP when there is one.
    pub actor: AuditActor,
    pub origin: RequestOrigin,
}

impl KeyRequester {
    /// The caller of a request; managing keys needs a logged-in session (seed 003).
    pub fn session(actor: &Actor, origin: &RequestOrigin) -> Result<Self, ServiceError> {
        actor.require_session()?;
        Ok(KeyRequester {
            team_id: actor.team_id,
            user_id: actor.user_id,
            role: actor.role,
            scopes: actor.scopes,
            plan: actor.plan.clone(),
            actor: actor.audit_actor(),
            origin: origin.clone(),
        })
    }

    fn event(&self, action: &str) -> AuditEvent {
        self.origin.stamp(AuditEvent::new(
            Some(self.team_id),
            self.actor.clone(),
            action,
        ))
    }

    /// The keys this requester may manage.
    fn visibility(&self) -> KeyVisibility {
        KeyVisibility {
            team_id: self.team_id,
            user_id: self.user_id,
            include_service_accounts: self.scopes.contains(Scope::TeamsManage),
        }
    }
}

/// Why a key cannot be created, distinguishing seed 003's upgrade refusal.
pub enum CreateRefusal {
    Upgrade,
    Api(ServiceError),
}

impl From<ServiceError> for CreateRefusal {
    fn from(error: ServiceError) -> Self {
        CreateRefusal::Api(error)
    }
}

impl CreateRefusal {
    pub fn message(&self) -> &str {
        match self {
            CreateRefusal::Upgrade => UPGRADE_MESSAGE,
            CreateRefusal::Api(error) => error.message(),
        }
    }
}

fn invalid(message: impl Into<String>) -> ServiceError {
    ServiceError::new(ErrorCode::ValidationFailed, message)
}

/// The team's subscription is in good standing (else seed 003's upgrade refusal) and its
/// `api_key_creation` setting admits the requester's role (else 403).
async fn check_creation_allowed(
    store: &Store,
    requester: &KeyRequester,
    now: DateTime<Utc>,
) -> Result<(), CreateRefusal> {
    let team = store
        .team(requester.team_id)
        .await
        .map_err(ServiceError::from)?
        .ok_or_else(|| ServiceError::not_found("team"))?;
    if !team
        .plan_status()
        .keys_allowed(team.current_period_end, now)
    {
        return Err(CreateRefusal::Upgrade);
    }
    let setting = team.api_key_creation();
    if setting.allows(requester.role) {
        Ok(())
    } else {
        Err(ServiceError::new(
            ErrorCode::Forbidden,
            format!(
                "in this team only owners and admins create API keys (team setting \
                 `api_key_creation` is `{}`)",
                setting.as_str()
            ),
        )
        .into())
    }
}

/// Validates and creates a key.
pub async fn create_key(
    store: &Store,
    plans: &Plans,
    now: DateTime<Utc>,
    requester: &KeyRequester,
    body: CreateApiKey,
) -> Result<(ApiKeyInfo, ApiKeySecret), CreateRefusal> {
    let name = crate::fields::name("name", &body.name, NAME_MAX)?;
    let scopes = match &body.scopes {
        None => requester.scopes,
        Some(names) => {
            let mut set = ScopeSet::default();
            for name in names {
                let scope: Scope = name
                    .parse()
                    .map_err(|_| invalid(format!("`scopes` contains an unknown scope {name:?}")))?;
                set.insert(scope);
            }
            set
        }
    };
    if scopes.is_empty() {
        return Err(invalid("`scopes` must name at least one scope").into());
    }
    if let Some(missing) = scopes.iter().find(|s| !requester.scopes.contains(*s)) {
        return Err(ServiceError::new(
            ErrorCode::InsufficientScope,
            format!("you cannot grant the `{missing}` scope: your role does not have it"),
        )
        .into());
    }
    let (expires_at, expiry_days) = expiry(&body, now)?;
    let limits = plans.limits(&requester.plan);
    if limits.api_keys_per_user == 0 {
        return Err(CreateRefusal::Upgrade);
    }
    check_creation_allowed(store, requester, now).await?;
    let owner = if body.service_account {
        if !requester.scopes.contains(Scope::TeamsManage) {
            return Err(ServiceError::new(
                ErrorCode::InsufficientScope,
                "a service-account key needs the `teams:manage` scope",
            )
            .into());
        }
        KeyOwner::ServiceAccount
    } else {
        KeyOwner::User {
            user_id: requester.user_id,
            max_active: limits.api_keys_per_user.into(),
        }
    };
    let new = NewApiKey {
        team_id: requester.team_id,
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
        created_by: requester.user_id,
    };
    let event = requester
        .event("api_key.create")
        .details(serde_json::json!({
            "name": new.name,
            "scopes": new.scopes.to_storage(),
            "service_account": body.service_account,
            "test_mode": body.test_mode,
        }));
    store
        .create_api_key(&new, event, now)
        .await
        .map_err(|error| match error {
            StoreError::LimitReached(limit) => CreateRefusal::Api(ServiceError::new(
                ErrorCode::QuotaExceeded,
                format!("Maximum of {limit} API keys allowed per user"),
            )),
            other => CreateRefusal::Api(other.into()),
        })
}

/// `(expires_at, expiry_days)` from `expires_in_days` or `expires_at`.
fn expiry(
    body: &CreateApiKey,
    now: DateTime<Utc>,
) -> Result<(Option<DateTime<Utc>>, Option<i32>), ServiceError> {
    match (body.expires_in_days, &body.expires_at) {
        (Some(_), Some(_)) => Err(invalid(
            "set either `expires_in_days` or `expires_at`, not both",
        )),
        (Some(days), None) => {
            if !EXPIRY_DAYS.contains(&days) {
                return Err(invalid("`expires_in_days` must be 30, 90, 180 or 365"));
            }
            Ok((Some(now + chrono::Duration::days(days)), Some(days as i32)))
        }
        (None, Some(text)) => {
            let at = parse_expiry(text).ok_or_else(|| {
                invalid("`expires_at` must be a date (YYYY-MM-DD) or an RFC 3339 time")
            })?;
            if at <= now || at > now + chrono::Duration::days(366) {
                return Err(invalid(
                    "`expires_at` must be in the future and at most 365 days ahead",
                ));
            }
            Ok((Some(at), None))
        }
        (None, None) => Ok((None, None)),
    }
}

fn parse_expiry(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(date) = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d") {
        return date.and_hms_opt(23, 59, 59).map(|t| t.and_utc());
    }
    DateTime::parse_from_rfc3339(text.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The keys the caller may manage, in `status`.
pub async fn list_keys(
    engine: &Engine,
    actor: &Actor,
    status: KeyStatusFilter,
) -> Result<Vec<ApiKeyInfo>, ServiceError> {
    let requester = KeyRequester::session(actor, &RequestOrigin::default())?;
    Ok(engine
        .store
        .list_api_keys(requester.visibility(), status, engine.now())
        .await?)
}

pub async fn revoke_key(
    engine: &Engine,
    actor: &Actor,
    origin: &RequestOrigin,
    key_id: i64,
) -> Result<ApiKeyInfo, ServiceError> {
    let requester = KeyRequester::session(actor, origin)?;
    engine
        .store
        .revoke_api_key(
            requester.visibility(),
            key_id,
            requester.event("api_key.revoke"),
            engine.now(),
        )
        .await
        .map_err(|e| match e {
            StoreError::NotFound => ServiceError::not_found("API key"),
            other => other.into(),
        })
}

/// How long a rotated key keeps working beside its replacement, as people write it
/// (`24h`, `90m`, `7d`); at most [`MAX_ROTATION_GRACE_DAYS`] days. `None`: the old key stops at
/// once (seed 003).
pub fn rotation_grace(text: Option<&str>) -> Result<Option<chrono::Duration>, ServiceError> {
    let Some(text) = text.map(str::trim) else {
        return Ok(None);
    };
    let bad = || {
        invalid(format!(
            "`expire_old_in` must be a duration such as \"24h\", \"90m\" or \"7d\" (at most \
             {MAX_ROTATION_GRACE_DAYS} days), not {text:?}"
        ))
    };
    let parsed = humantime::parse_duration(text).map_err(|_| bad())?;
    let grace = chrono::Duration::from_std(parsed).map_err(|_| bad())?;
    if grace > chrono::Duration::days(MAX_ROTATION_GRACE_DAYS) {
        return Err(bad());
    }
    Ok((grace > chrono::Duration::zero()).then_some(grace))
}

/// The longest grace period of a rotation.
pub const MAX_ROTATION_GRACE_DAYS: i64 = 30;

/// A rotation makes a new key, so the team's subscription and `api_key_creation` setting
/// apply to it too. With a `grace`, the old key keeps working until `now + grace`.
pub async fn rotate_key(
    engine: &Engine,
    actor: &Actor,
    origin: &RequestOrigin,
    key_id: i64,
    grace: Option<chrono::Duration>,
) -> Result<(ApiKeyInfo, ApiKeySecret), CreateRefusal> {
    let requester = KeyRequester::session(actor, origin)?;
    let now = engine.now();
    check_creation_allowed(&engine.store, &requester, now).await?;
    let old_revoked_at = now + grace.unwrap_or_else(chrono::Duration::zero);
    engine
        .store
        .rotate_api_key(
            requester.visibility(),
            key_id,
            requester.user_id,
            old_revoked_at,
            requester.event("api_key.rotate"),
            now,
        )
        .await
        .map_err(|e| match e {
            StoreError::NotFound => ServiceError::not_found("API key").into(),
            other => CreateRefusal::Api(other.into()),
        })
}
