//! Who is acting, and from where: the [`Actor`] every service call is made for (a person or a
//! service account in a team, with its credential's scopes) and the [`RequestOrigin`] that
//! audit entries are stamped with. The HTTP layer authenticates requests into these; the CLI
//! builds them for the server's own operator.
//!
//! ## Test mode (for every feature)
//! An actor using an `rk_test_` key is in test mode ([`Actor::is_test_mode`]).
//! The rule for features: rows such a request creates carry `is_test = TRUE` (a BOOLEAN
//! column next to `team_id`, default FALSE) and live listings exclude them unless asked;
//! test-mode requests never start real scans or send real outbound messages (webhooks,
//! e-mail), they produce dry-run results; and key-authenticated write responses include
//! `"test_mode": true` (use [`Actor::test_mode_field`]).

use rampart_core::{ApiKeyKind, Role, Scope, ScopeSet};
use rampart_store::{AuditActor, AuditEvent};

use crate::error::{ErrorCode, ServiceError};

/// Who acts: an authenticated person or service account in a team, with the scopes of the
/// credential they act through.
#[derive(Debug, Clone)]
pub struct Actor {
    pub team_id: i64,
    pub user_id: i64,
    /// A person's e-mail, or `api_<key-name>` for a service account.
    pub user_email: String,
    pub credential: Credential,
    pub scopes: ScopeSet,
    pub role: Role,
    /// The team's plan name.
    pub plan: String,
}

#[derive(Debug, Clone)]
pub enum Credential {
    ApiKey {
        id: i64,
        name: String,
        kind: ApiKeyKind,
        /// The key belongs to the team (a service account), not to a person.
        service_account: bool,
    },
    Session {
        id: i64,
    },
}

impl Actor {
    /// Every handler's first line: `principal.require(Scope::ProductsRead)?;` (and the same
    /// scope in its `#[utoipa::path(security(("bearer" = ["products:read"])))]`).
    pub fn require(&self, scope: Scope) -> Result<(), ServiceError> {
        if self.scopes.contains(scope) {
            Ok(())
        } else {
            Err(ServiceError::new(
                ErrorCode::InsufficientScope,
                format!("this endpoint needs the `{scope}` scope"),
            ))
        }
    }

    /// Key management and other account actions need a logged-in session (seed 003: API
    /// keys cannot create, rotate or revoke keys). Returns the session id.
    pub fn require_session(&self) -> Result<i64, ServiceError> {
        match self.credential {
            Credential::Session { id } => Ok(id),
            Credential::ApiKey { .. } => Err(ServiceError::new(
                ErrorCode::Forbidden,
                "this action needs a logged-in session (POST /api/v1/auth/otp); API keys cannot manage API keys",
            )),
        }
    }

    /// Test keys create test data and never cause real outbound effects (see the module
    /// documentation for the rule features follow).
    pub fn is_test_mode(&self) -> bool {
        matches!(
            self.credential,
            Credential::ApiKey {
                kind: ApiKeyKind::Test,
                ..
            }
        )
    }

    /// Real outbound work (sync runs, scans, notifications) needs a live credential: a test
    /// key gets 403 `test_mode_forbidden` naming `action`.
    pub fn require_live(&self, action: &str) -> Result<(), ServiceError> {
        if self.is_test_mode() {
            Err(ServiceError::new(
                ErrorCode::TestModeForbidden,
                format!("test keys (rk_test_) cannot {action}; use a live key (rk_live_)"),
            ))
        } else {
            Ok(())
        }
    }

    /// The rows this caller works on: its team's test rows in test mode, else the live ones.
    pub fn tenant(&self) -> rampart_store::Tenant {
        rampart_store::Tenant {
            team_id: self.team_id,
            test: self.is_test_mode(),
        }
    }

    /// `Some(true)` in test mode, else `None`: for a `#[serde(skip_serializing_if =
    /// "Option::is_none")] test_mode: Option<bool>` response field.
    pub fn test_mode_field(&self) -> Option<bool> {
        self.is_test_mode().then_some(true)
    }

    /// The actor audit entries name: the person, or the service account behind a team key.
    pub fn audit_actor(&self) -> AuditActor {
        let service = matches!(
            self.credential,
            Credential::ApiKey {
                service_account: true,
                ..
            }
        );
        AuditActor {
            user_id: Some(self.user_id),
            label: self.user_email.clone(),
            kind: if service { "service_account" } else { "user" },
        }
    }

    /// An audit event by this caller in their team, with the request's id and source IP.
    pub fn audit(&self, origin: &RequestOrigin, action: &str) -> AuditEvent {
        origin.stamp(AuditEvent::new(
            Some(self.team_id),
            self.audit_actor(),
            action,
        ))
    }
}

/// Where an action came from (the request id and source IP), for audit entries.
#[derive(Debug, Clone, Default)]
pub struct RequestOrigin {
    pub request_id: Option<String>,
    pub source_ip: Option<String>,
}

impl RequestOrigin {
    pub fn stamp(&self, mut event: AuditEvent) -> AuditEvent {
        event.request_id = self.request_id.clone();
        event.source_ip = self.source_ip.clone();
        event
    }
}
