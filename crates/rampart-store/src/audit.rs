//! The append-only audit log.
//!
//! Features record an event with [`AuditEvent`]: either on its own with
//! [`Store::record_audit`], or — preferably — inside the transaction of the mutation it
//! describes, with the crate-internal `insert_audit!` macro, so the change and its record
//! commit together. No function updates or deletes entries; triggers refuse both.

use chrono::{DateTime, Utc};

use crate::{with_pool, PageRequest, Store, StoreError};

/// Who did it: a person, a service account (a team's CI key) or the system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditActor {
    pub user_id: Option<i64>,
    /// E-mail of a person, `api_<key-name>` of a service account, `anonymous` or `system`.
    pub label: String,
    /// `user`, `service_account`, `anonymous` or `system`.
    pub kind: &'static str,
}

impl AuditActor {
    pub fn anonymous(label: impl Into<String>) -> Self {
        AuditActor {
            user_id: None,
            label: label.into(),
            kind: "anonymous",
        }
    }
}

/// One event to record.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    pub team_id: Option<i64>,
    pub actor: AuditActor,
    /// Dotted verb, e.g. `api_key.create`, `auth.login`, `member.remove`.
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    /// Extra facts (never secrets), stored as JSON text.
    pub details: Option<serde_json::Value>,
    /// The request's `X-Request-Id`.
    pub request_id: Option<String>,
    pub source_ip: Option<String>,
}

impl AuditEvent {
    pub fn new(team_id: Option<i64>, actor: AuditActor, action: impl Into<String>) -> Self {
        AuditEvent {
            team_id,
            actor,
            action: action.into(),
            target_type: None,
            target_id: None,
            details: None,
            request_id: None,
            source_ip: None,
        }
    }

    pub fn target(mut self, kind: &str, id: impl ToString) -> Self {
        self.target_type = Some(kind.to_string());
        self.target_id = Some(id.to_string());
        self
    }

    pub fn details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }

    /// The same event for another team (e.g. a login recorded in the team it opened).
    pub fn in_team(mut self, team_id: i64) -> Self {
        self.team_id = Some(team_id);
        self
    }
}

/// Inserts `$event` (an `&AuditEvent`) at `$at` on `$conn` (`&mut *tx` inside a
/// `with_pool!` body), so the record commits with the mutation it describes.
macro_rules! insert_audit {
    ($conn:expr, $event:expr, $at:expr) => {{
        let event: &$crate::AuditEvent = $event;
        sqlx::query(
            "INSERT INTO audit_log (team_id, actor_user_id, actor, actor_kind, action, target_type,
                                    target_id, details, request_id, source_ip, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(event.team_id)
        .bind(event.actor.user_id)
        .bind(&event.actor.label)
        .bind(event.actor.kind)
        .bind(&event.action)
        .bind(&event.target_type)
        .bind(&event.target_id)
        .bind(event.details.as_ref().map(|d| d.to_string()))
        .bind(&event.request_id)
        .bind(&event.source_ip)
        .bind($at)
        .execute($conn)
        .await
        .map(|_| ())
    }};
}
pub(crate) use insert_audit;

/// A recorded entry.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditEntry {
    pub id: i64,
    pub team_id: Option<i64>,
    pub actor_user_id: Option<i64>,
    pub actor: String,
    pub actor_kind: String,
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub details: Option<String>,
    pub request_id: Option<String>,
    pub source_ip: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// Filters of the audit-log listing; all optional and combined with AND.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Exact actor label (e-mail or `api_<name>`).
    pub actor: Option<String>,
    /// Exact action, or a prefix ending in `.` (`api_key.` matches every key event).
    pub action: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

impl Store {
    /// Records one event in its own transaction. Prefer recording inside the mutation's
    /// transaction where the store function offers it.
    pub async fn record_audit(
        &self,
        event: &AuditEvent,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => insert_audit!(pool, event, at))?;
        Ok(())
    }

    /// Tries an UPDATE and a DELETE on the audit log and returns both outcomes; the tests
    /// use it to prove the database refuses them. Never called by the server.
    #[doc(hidden)]
    pub async fn try_tamper_with_audit_log_for_tests(
        &self,
    ) -> (Result<(), StoreError>, Result<(), StoreError>) {
        with_pool!(self, pool => {
            let update = sqlx::query("UPDATE audit_log SET action = 'forged'")
                .execute(pool)
                .await
                .map(|_| ())
                .map_err(StoreError::from);
            let delete = sqlx::query("DELETE FROM audit_log")
                .execute(pool)
                .await
                .map(|_| ())
                .map_err(StoreError::from);
            (update, delete)
        })
    }

    /// A team's entries, newest first: (page of entries, total matching). No page means
    /// every matching entry (exports).
    pub async fn list_audit(
        &self,
        team_id: i64,
        filter: &AuditFilter,
        page: Option<PageRequest>,
    ) -> Result<(Vec<AuditEntry>, i64), StoreError> {
        let action_prefix = filter
            .action
            .as_deref()
            .filter(|a| a.ends_with('.'))
            .map(|a| format!("{}%", a.replace('%', "").replace('_', "\\_")));
        let action_exact = filter.action.as_deref().filter(|a| !a.ends_with('.'));
        let conditions = "team_id = $1
             AND ($2 IS NULL OR actor = $2)
             AND ($3 IS NULL OR action = $3)
             AND ($4 IS NULL OR action LIKE $4 ESCAPE '\\')
             AND ($5 IS NULL OR target_type = $5)
             AND ($6 IS NULL OR target_id = $6)
             AND ($7 IS NULL OR created_at >= $7)
             AND ($8 IS NULL OR created_at <= $8)";
        let (limit, offset) = page.map_or((i64::MAX, 0), |page| (page.limit(), page.offset()));
        let list_sql = format!(
            "SELECT id, team_id, actor_user_id, actor, actor_kind, action, target_type, target_id,
                    details, request_id, source_ip, created_at
             FROM audit_log WHERE {conditions} ORDER BY id DESC LIMIT $9 OFFSET $10"
        );
        let count_sql = format!("SELECT COUNT(*) FROM audit_log WHERE {conditions}");
        with_pool!(self, pool => {
            // PostgreSQL needs the NULL-able parameters typed; both sides bind Option<T>.
            let entries: Vec<AuditEntry> = sqlx::query_as(&list_sql)
                .bind(team_id)
                .bind(&filter.actor)
                .bind(action_exact)
                .bind(&action_prefix)
                .bind(&filter.target_type)
                .bind(&filter.target_id)
                .bind(filter.since)
                .bind(filter.until)
                .bind(limit)
                .bind(offset)
                .fetch_all(pool)
                .await?;
            let total: i64 = sqlx::query_scalar(&count_sql)
                .bind(team_id)
                .bind(&filter.actor)
                .bind(action_exact)
                .bind(&action_prefix)
                .bind(&filter.target_type)
                .bind(&filter.target_id)
                .bind(filter.since)
                .bind(filter.until)
                .fetch_one(pool)
                .await?;
            Ok((entries, total))
        })
    }
}
