//! Webhook endpoints (tenant-scoped CRUD; secrets arrive sealed by the engine), their
//! deliveries and the delivery log, and the delivery worker's job queue:
//!
//! - fan-out: [`Store::dispatch_events`] takes undispatched events (`FOR UPDATE SKIP LOCKED`
//!   on PostgreSQL) and queues one delivery per matching endpoint, in one transaction;
//! - claim: [`Store::claim_webhook_deliveries`] leases due deliveries to one worker in one
//!   atomic `UPDATE … RETURNING` (the same pattern as sync runs and analyses); a delivery
//!   whose worker died is claimed again once its lease expired (at least once);
//! - outcome: [`Store::record_delivery_results`] logs each attempt and moves the delivery
//!   (delivered, retry at, failed), disabling an endpoint that answered `410 Gone` or has
//!   failed for too long, with a `webhook.disabled` event for its team.

use crate::BeginWrite;
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rampart_core::EventType;

use crate::audit::insert_audit;
use crate::bulk::{Bulk, Column};
use crate::events::{record_event, NewEvent};
use crate::products::{Page, PageRequest, Tenant};
use crate::{now, with_pool, AuditEvent, Pool, Store, StoreError};

/// A stored endpoint. The secrets are only here sealed; the engine opens them.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookEndpoint {
    pub id: i64,
    pub team_id: i64,
    pub is_test: bool,
    pub url: String,
    pub description: String,
    /// Empty: every type.
    pub event_types: Vec<String>,
    pub enabled: bool,
    pub secret_ciphertext: Vec<u8>,
    pub previous_secret_ciphertext: Option<Vec<u8>>,
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    pub secret_rotated_at: Option<DateTime<Utc>>,
    pub disabled_reason: Option<String>,
    pub disabled_at: Option<DateTime<Utc>>,
    pub failing_since: Option<DateTime<Utc>>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct EndpointRow {
    id: i64,
    team_id: i64,
    is_test: bool,
    url: String,
    description: String,
    event_types: String,
    enabled: bool,
    secret_ciphertext: Vec<u8>,
    previous_secret_ciphertext: Option<Vec<u8>>,
    previous_secret_expires_at: Option<DateTime<Utc>>,
    secret_rotated_at: Option<DateTime<Utc>>,
    disabled_reason: Option<String>,
    disabled_at: Option<DateTime<Utc>>,
    failing_since: Option<DateTime<Utc>>,
    created_by: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<EndpointRow> for WebhookEndpoint {
    fn from(row: EndpointRow) -> Self {
        WebhookEndpoint {
            id: row.id,
            team_id: row.team_id,
            is_test: row.is_test,
            url: row.url,
            description: row.description,
            event_types: split_types(&row.event_types),
            enabled: row.enabled,
            secret_ciphertext: row.secret_ciphertext,
            previous_secret_ciphertext: row.previous_secret_ciphertext,
            previous_secret_expires_at: row.previous_secret_expires_at,
            secret_rotated_at: row.secret_rotated_at,
            disabled_reason: row.disabled_reason,
            disabled_at: row.disabled_at,
            failing_since: row.failing_since,
            created_by: row.created_by,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

fn split_types(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_string).collect()
}

/// Whether an endpoint whose type filter is `types` receives events of `event_type`: an
/// empty filter admits every type.
fn admits(types: &[String], event_type: &str) -> bool {
    types.is_empty() || types.iter().any(|t| t == event_type)
}

/// The type filters of team `$1`'s endpoints that receive deliveries (enabled, not test): an
/// event of a type none admits will never be delivered ([`EndpointFilters`]).
pub(crate) const TEAM_ENDPOINT_FILTERS: &str =
    "SELECT event_types FROM webhook_endpoints WHERE team_id = $1 AND enabled AND NOT is_test";

/// The type filters of a team's receiving endpoints ([`TEAM_ENDPOINT_FILTERS`]).
#[derive(Debug, Clone)]
pub(crate) struct EndpointFilters(Vec<Vec<String>>);

impl EndpointFilters {
    pub(crate) fn new(filters: &[String]) -> EndpointFilters {
        EndpointFilters(filters.iter().map(|types| split_types(types)).collect())
    }

    /// Whether some endpoint would receive an event of `event_type`.
    pub(crate) fn any_admits(&self, event_type: EventType) -> bool {
        self.0
            .iter()
            .any(|types| admits(types, event_type.as_str()))
    }
}

const ENDPOINT_COLUMNS: &str = "id, team_id, is_test, url, description, event_types, enabled,
    secret_ciphertext, previous_secret_ciphertext, previous_secret_expires_at, secret_rotated_at,
    disabled_reason, disabled_at, failing_since, created_by, created_at, updated_at";

/// A validated new endpoint with its sealed secret.
#[derive(Debug, Clone)]
pub struct NewWebhookEndpoint {
    pub url: String,
    pub description: String,
    pub event_types: Vec<String>,
    pub enabled: bool,
    pub secret_ciphertext: Vec<u8>,
    pub created_by: String,
}

/// Fields to change; `None` keeps a field. Enabling clears why it was disabled.
#[derive(Debug, Clone, Default)]
pub struct WebhookEndpointChanges {
    pub url: Option<String>,
    pub description: Option<String>,
    pub event_types: Option<Vec<String>>,
    pub enabled: Option<bool>,
}

/// One delivery of an event to an endpoint, as listed.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct WebhookDelivery {
    pub id: i64,
    pub endpoint_id: i64,
    pub event_id: i64,
    pub event_type: String,
    /// `pending`, `delivered`, `failed` or `cancelled`.
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: DateTime<Utc>,
    pub last_status_code: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

const DELIVERY_COLUMNS: &str = "d.id, d.endpoint_id, d.event_id, e.type AS event_type, d.status,
    d.attempts, d.next_attempt_at, d.last_status_code, d.last_error, d.created_at, d.delivered_at,
    d.updated_at";

/// One attempt of a delivery (the delivery log).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct WebhookAttempt {
    pub id: i64,
    pub delivery_id: i64,
    pub attempt: i64,
    pub started_at: DateTime<Utc>,
    pub duration_ms: i64,
    pub status_code: Option<i64>,
    /// The first 1 KB of the response body.
    pub response_excerpt: Option<String>,
    pub error: Option<String>,
}

/// A delivery a worker holds the lease of, with what it needs to send it.
#[derive(Debug, Clone)]
pub struct ClaimedDelivery {
    pub delivery_id: i64,
    pub team_id: i64,
    /// This attempt's number (1-based).
    pub attempt: i64,
    pub endpoint_id: i64,
    pub url: String,
    pub secret_ciphertext: Vec<u8>,
    /// The previous secret while its overlap lasts.
    pub previous_secret_ciphertext: Option<Vec<u8>>,
    pub event: crate::EventRecord,
}

/// How an attempt ended, as the engine decided from the answer and the schedule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DeliveryOutcome {
    Delivered,
    /// Failed; try again at this time.
    Retry(DateTime<Utc>),
    /// Failed and the schedule is exhausted.
    GiveUp,
    /// The receiver answered `410 Gone`: the endpoint is disabled.
    Gone,
}

/// One attempt's result.
#[derive(Debug, Clone)]
pub struct DeliveryResult {
    pub delivery_id: i64,
    pub endpoint_id: i64,
    pub team_id: i64,
    pub attempt: i64,
    pub started_at: DateTime<Utc>,
    pub duration_ms: i64,
    pub status_code: Option<i64>,
    pub response_excerpt: Option<String>,
    pub error: Option<String>,
    pub outcome: DeliveryOutcome,
}

/// An endpoint as fan-out sees it: id, event types (empty: all), creation time.
type Subscriber = (i64, Vec<String>, DateTime<Utc>);

/// A comma-separated list of ids for `IN (…)`: integers only, so spelled inline.
fn id_list(ids: impl Iterator<Item = i64>) -> String {
    ids.map(|id| id.to_string()).collect::<Vec<_>>().join(", ")
}

fn lock_clause(pool: &Pool) -> &'static str {
    match pool {
        Pool::Sqlite(_) => "",
        Pool::Postgres(_) => "FOR UPDATE SKIP LOCKED",
    }
}

/// On `$conn` (a transaction): disables endpoint `$endpoint_id` when it is enabled, cancels
/// its pending deliveries and records `webhook.disabled` for its team.
macro_rules! disable_endpoint {
    ($conn:expr, $endpoint_id:expr, $reason:expr, $at:expr) => {{
        let reason: &str = $reason;
        let at: DateTime<Utc> = $at;
        let disabled: Option<(i64, String)> = sqlx::query_as(
            "UPDATE webhook_endpoints SET enabled = FALSE, disabled_reason = $2, disabled_at = $3,
                 updated_at = $3
             WHERE id = $1 AND enabled
             RETURNING team_id, url",
        )
        .bind($endpoint_id)
        .bind(reason)
        .bind(at)
        .fetch_optional(&mut *$conn)
        .await?;
        if let Some((team_id, url)) = &disabled {
            sqlx::query(
                "UPDATE webhook_deliveries SET status = 'cancelled', lease_owner = NULL,
                     lease_expires_at = NULL, updated_at = $2
                 WHERE endpoint_id = $1 AND status = 'pending'",
            )
            .bind($endpoint_id)
            .bind(at)
            .execute(&mut *$conn)
            .await?;
            let data = serde_json::json!({
                "endpoint_id": $endpoint_id,
                "url": url,
                "reason": reason,
            });
            record_event(
                &mut *$conn,
                &NewEvent::team(Tenant::live(*team_id), EventType::WebhookDisabled, data),
            )
            .await?;
        }
    }};
}

impl Store {
    /// Creates an endpoint and records `audit` (targeted at it) in one transaction.
    pub async fn create_webhook_endpoint(
        &self,
        tenant: Tenant,
        new: &NewWebhookEndpoint,
        audit: &AuditEvent,
    ) -> Result<WebhookEndpoint, StoreError> {
        let at = now();
        let sql = format!(
            "INSERT INTO webhook_endpoints (team_id, is_test, url, description, event_types,
                 enabled, secret_ciphertext, created_by, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING {ENDPOINT_COLUMNS}"
        );
        let row: EndpointRow = with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let row: EndpointRow = sqlx::query_as(&sql)
                .bind(tenant.team_id)
                .bind(tenant.test)
                .bind(&new.url)
                .bind(&new.description)
                .bind(new.event_types.join(" "))
                .bind(new.enabled)
                .bind(&new.secret_ciphertext)
                .bind(&new.created_by)
                .bind(at)
                .fetch_one(&mut *tx)
                .await?;
            insert_audit!(&mut *tx, &audit.clone().target("webhook", row.id), at)?;
            tx.commit().await?;
            row
        });
        Ok(row.into())
    }

    pub async fn webhook_endpoint(
        &self,
        tenant: Tenant,
        id: i64,
    ) -> Result<Option<WebhookEndpoint>, StoreError> {
        let sql = format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints
             WHERE id = $1 AND team_id = $2 AND is_test = $3"
        );
        let row: Option<EndpointRow> = with_pool!(self, pool => {
            sqlx::query_as(&sql)
                .bind(id)
                .bind(tenant.team_id)
                .bind(tenant.test)
                .fetch_optional(pool)
                .await
        })?;
        Ok(row.map(Into::into))
    }

    /// The team's endpoints, oldest first.
    pub async fn list_webhook_endpoints(
        &self,
        tenant: Tenant,
        page: PageRequest,
    ) -> Result<Page<WebhookEndpoint>, StoreError> {
        let list_sql = format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE team_id = $1 AND is_test = $2
             ORDER BY id LIMIT $3 OFFSET $4"
        );
        let (rows, total) = with_pool!(self, pool => {
            let rows: Vec<EndpointRow> = sqlx::query_as(&list_sql)
                .bind(tenant.team_id)
                .bind(tenant.test)
                .bind(page.limit())
                .bind(page.offset())
                .fetch_all(pool)
                .await?;
            let total: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM webhook_endpoints WHERE team_id = $1 AND is_test = $2",
            )
            .bind(tenant.team_id)
            .bind(tenant.test)
            .fetch_one(pool)
            .await?;
            (rows, total)
        });
        Ok(Page {
            items: rows.into_iter().map(Into::into).collect(),
            total,
        })
    }

    /// Applies `changes` and records `audit`; `None` when the endpoint is not the team's.
    /// Disabling by hand cancels the pending deliveries; enabling clears the reason and the
    /// failure streak.
    pub async fn update_webhook_endpoint(
        &self,
        tenant: Tenant,
        id: i64,
        changes: &WebhookEndpointChanges,
        audit: &AuditEvent,
    ) -> Result<Option<WebhookEndpoint>, StoreError> {
        let at = now();
        let sql = format!(
            "UPDATE webhook_endpoints SET
                 url = COALESCE($4, url),
                 description = COALESCE($5, description),
                 event_types = COALESCE($6, event_types),
                 enabled = COALESCE($7, enabled),
                 disabled_reason = CASE WHEN $7 THEN NULL ELSE disabled_reason END,
                 disabled_at = CASE WHEN $7 THEN NULL WHEN NOT $7 AND enabled THEN $8 ELSE disabled_at END,
                 failing_since = CASE WHEN $7 THEN NULL ELSE failing_since END,
                 updated_at = $8
             WHERE id = $1 AND team_id = $2 AND is_test = $3
             RETURNING {ENDPOINT_COLUMNS}"
        );
        let row: Option<EndpointRow> = with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let row: Option<EndpointRow> = sqlx::query_as(&sql)
                .bind(id)
                .bind(tenant.team_id)
                .bind(tenant.test)
                .bind(&changes.url)
                .bind(&changes.description)
                .bind(changes.event_types.as_ref().map(|t| t.join(" ")))
                .bind(changes.enabled)
                .bind(at)
                .fetch_optional(&mut *tx)
                .await?;
            if row.is_some() {
                if changes.enabled == Some(false) {
                    sqlx::query(
                        "UPDATE webhook_deliveries SET status = 'cancelled', lease_owner = NULL,
                             lease_expires_at = NULL, updated_at = $2
                         WHERE endpoint_id = $1 AND status = 'pending'",
                    )
                    .bind(id)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?;
                }
                insert_audit!(&mut *tx, &audit.clone().target("webhook", id), at)?;
            }
            tx.commit().await?;
            row
        });
        Ok(row.map(Into::into))
    }

    /// Deletes an endpoint with its deliveries and log; `false` when not the team's.
    pub async fn delete_webhook_endpoint(
        &self,
        tenant: Tenant,
        id: i64,
        audit: &AuditEvent,
    ) -> Result<bool, StoreError> {
        let at = now();
        let deleted = with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let owned: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM webhook_endpoints WHERE id = $1 AND team_id = $2 AND is_test = $3",
            )
            .bind(id)
            .bind(tenant.team_id)
            .bind(tenant.test)
            .fetch_optional(&mut *tx)
            .await?;
            let mut deleted = false;
            if owned.is_some() {
                // Children first: the delivery worker locks a delivery, then its endpoint;
                // deleting the endpoint first (its cascade locking the deliveries after)
                // took the locks in the opposite order and deadlocked on PostgreSQL.
                for statement in [
                    "DELETE FROM webhook_delivery_attempts WHERE endpoint_id = $1",
                    "DELETE FROM webhook_deliveries WHERE endpoint_id = $1",
                ] {
                    sqlx::query(statement).bind(id).execute(&mut *tx).await?;
                }
                deleted = sqlx::query("DELETE FROM webhook_endpoints WHERE id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                    > 0;
            }
            if deleted {
                insert_audit!(&mut *tx, &audit.clone().target("webhook", id), at)?;
            }
            tx.commit().await?;
            deleted
        });
        Ok(deleted)
    }

    /// Replaces the secret with `new_secret` (sealed); the current one becomes the previous
    /// one, signing too until `previous_expires_at`. `None` when not the team's.
    pub async fn rotate_webhook_secret(
        &self,
        tenant: Tenant,
        id: i64,
        new_secret: &[u8],
        previous_expires_at: DateTime<Utc>,
        audit: &AuditEvent,
    ) -> Result<Option<WebhookEndpoint>, StoreError> {
        let at = now();
        let sql = format!(
            "UPDATE webhook_endpoints SET previous_secret_ciphertext = secret_ciphertext,
                 secret_ciphertext = $4, previous_secret_expires_at = $5, secret_rotated_at = $6,
                 updated_at = $6
             WHERE id = $1 AND team_id = $2 AND is_test = $3
             RETURNING {ENDPOINT_COLUMNS}"
        );
        let row: Option<EndpointRow> = with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let row: Option<EndpointRow> = sqlx::query_as(&sql)
                .bind(id)
                .bind(tenant.team_id)
                .bind(tenant.test)
                .bind(new_secret)
                .bind(previous_expires_at)
                .bind(at)
                .fetch_optional(&mut *tx)
                .await?;
            if row.is_some() {
                insert_audit!(&mut *tx, &audit.clone().target("webhook", id), at)?;
            }
            tx.commit().await?;
            row
        });
        Ok(row.map(Into::into))
    }

    /// Records a `webhook.test` event for one endpoint and queues its delivery (none for a
    /// test-mode caller or endpoint: recorded, never delivered), with `audit`. Returns the
    /// event and the delivery id; `None` when the endpoint is not the team's.
    pub async fn queue_webhook_test(
        &self,
        tenant: Tenant,
        endpoint_id: i64,
        audit: &AuditEvent,
    ) -> Result<Option<(crate::EventRecord, Option<i64>)>, StoreError> {
        let at = now();
        let Some(endpoint) = self.webhook_endpoint(tenant, endpoint_id).await? else {
            return Ok(None);
        };
        if !endpoint.enabled {
            return Err(StoreError::Conflict(
                "the endpoint is disabled: enable it (PATCH `enabled: true`) before sending a test event".into(),
            ));
        }
        let data = serde_json::json!({
            "endpoint_id": endpoint_id,
            "message": "A test event from Rampart: your endpoint receives and verifies deliveries.",
        });
        let deliver = !tenant.test && !endpoint.is_test;
        let event_sql = format!(
            "INSERT INTO events (team_id, type, test_mode, data, created_at, dispatched)
             VALUES ($1, $2, $3, $4, $5, TRUE) RETURNING {}",
            crate::events::EVENT_COLUMNS
        );
        let (event, delivery) = with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let row: crate::events::EventRow = sqlx::query_as(&event_sql)
                .bind(tenant.team_id)
                .bind(EventType::WebhookTest.as_str())
                .bind(tenant.test)
                .bind(data.to_string())
                .bind(at)
                .fetch_one(&mut *tx)
                .await?;
            let event = crate::EventRecord::from(row);
            let delivery: Option<i64> = if deliver {
                Some(
                    sqlx::query_scalar(
                        "INSERT INTO webhook_deliveries (team_id, endpoint_id, event_id, status,
                             attempts, next_attempt_at, created_at, updated_at)
                         VALUES ($1, $2, $3, 'pending', 0, $4, $4, $4) RETURNING id",
                    )
                    .bind(tenant.team_id)
                    .bind(endpoint_id)
                    .bind(event.id)
                    .bind(at)
                    .fetch_one(&mut *tx)
                    .await?,
                )
            } else {
                None
            };
            insert_audit!(&mut *tx, &audit.clone().target("webhook", endpoint_id), at)?;
            tx.commit().await?;
            (event, delivery)
        });
        Ok(Some((event, delivery)))
    }

    /// An endpoint's deliveries, newest first; `None` when the endpoint is not the team's.
    pub async fn list_webhook_deliveries(
        &self,
        tenant: Tenant,
        endpoint_id: i64,
        status: Option<&str>,
        page: PageRequest,
    ) -> Result<Option<Page<WebhookDelivery>>, StoreError> {
        if self.webhook_endpoint(tenant, endpoint_id).await?.is_none() {
            return Ok(None);
        }
        let list_sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d JOIN events e ON e.id = d.event_id
             WHERE d.endpoint_id = $1 AND d.team_id = $2 AND ($3 IS NULL OR d.status = $3)
             ORDER BY d.id DESC LIMIT $4 OFFSET $5"
        );
        let (items, total) = with_pool!(self, pool => {
            let items: Vec<WebhookDelivery> = sqlx::query_as(&list_sql)
                .bind(endpoint_id)
                .bind(tenant.team_id)
                .bind(status)
                .bind(page.limit())
                .bind(page.offset())
                .fetch_all(pool)
                .await?;
            let total: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM webhook_deliveries d
                 WHERE d.endpoint_id = $1 AND d.team_id = $2 AND ($3 IS NULL OR d.status = $3)",
            )
            .bind(endpoint_id)
            .bind(tenant.team_id)
            .bind(status)
            .fetch_one(pool)
            .await?;
            (items, total)
        });
        Ok(Some(Page { items, total }))
    }

    /// One delivery of an endpoint with its attempts (oldest first); `None` when either is
    /// not the team's.
    pub async fn webhook_delivery(
        &self,
        tenant: Tenant,
        endpoint_id: i64,
        delivery_id: i64,
    ) -> Result<Option<(WebhookDelivery, Vec<WebhookAttempt>)>, StoreError> {
        if self.webhook_endpoint(tenant, endpoint_id).await?.is_none() {
            return Ok(None);
        }
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d JOIN events e ON e.id = d.event_id
             WHERE d.id = $1 AND d.endpoint_id = $2 AND d.team_id = $3"
        );
        let found = with_pool!(self, pool => {
            let delivery: Option<WebhookDelivery> = sqlx::query_as(&sql)
                .bind(delivery_id)
                .bind(endpoint_id)
                .bind(tenant.team_id)
                .fetch_optional(pool)
                .await?;
            match delivery {
                None => None,
                Some(delivery) => {
                    let attempts: Vec<WebhookAttempt> = sqlx::query_as(
                        "SELECT id, delivery_id, attempt, started_at, duration_ms, status_code,
                             response_excerpt, error
                         FROM webhook_delivery_attempts WHERE delivery_id = $1 ORDER BY id",
                    )
                    .bind(delivery_id)
                    .fetch_all(pool)
                    .await?;
                    Some((delivery, attempts))
                }
            }
        });
        Ok(found)
    }

    /// Queues a delivery again at once (whatever its status), with `audit`. `None` when not
    /// the team's; a conflict when the endpoint is disabled.
    pub async fn redeliver_webhook(
        &self,
        tenant: Tenant,
        endpoint_id: i64,
        delivery_id: i64,
        audit: &AuditEvent,
    ) -> Result<Option<WebhookDelivery>, StoreError> {
        let at = now();
        let Some(endpoint) = self.webhook_endpoint(tenant, endpoint_id).await? else {
            return Ok(None);
        };
        if !endpoint.enabled {
            return Err(StoreError::Conflict(
                "the endpoint is disabled: enable it (PATCH `enabled: true`) before redelivering"
                    .into(),
            ));
        }
        let queued = with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let updated = sqlx::query(
                "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = $4,
                     lease_owner = NULL, lease_expires_at = NULL, updated_at = $4
                 WHERE id = $1 AND endpoint_id = $2 AND team_id = $3",
            )
            .bind(delivery_id)
            .bind(endpoint_id)
            .bind(tenant.team_id)
            .bind(at)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                > 0;
            if updated {
                let audit = audit
                    .clone()
                    .target("webhook", endpoint_id)
                    .details(serde_json::json!({ "delivery_id": delivery_id }));
                insert_audit!(&mut *tx, &audit, at)?;
            }
            tx.commit().await?;
            updated
        });
        if !queued {
            return Ok(None);
        }
        Ok(self
            .webhook_delivery(tenant, endpoint_id, delivery_id)
            .await?
            .map(|(delivery, _)| delivery))
    }

    /// Fans up to `limit` undispatched events out: one pending delivery per enabled live
    /// endpoint of the event's team (server-wide events: of the operator team) whose type
    /// filter admits it and that existed when the event happened. Returns how many events
    /// were dispatched (0: nothing to do).
    pub async fn dispatch_events(&self, limit: i64) -> Result<usize, StoreError> {
        let at = now();
        let claim = format!(
            "UPDATE events SET dispatched = TRUE
             WHERE id IN (SELECT id FROM events WHERE NOT dispatched ORDER BY id LIMIT $1 {})
               AND NOT dispatched
             RETURNING id, team_id, type, created_at",
            lock_clause(&self.pool)
        );
        type Claimed = (i64, Option<i64>, String, DateTime<Utc>);
        type Endpoint = (i64, i64, String, DateTime<Utc>);
        let dispatched = with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            // A write first: on SQLite a transaction that reads before writing cannot
            // upgrade when another writer committed meanwhile.
            let events: Vec<Claimed> = sqlx::query_as(&claim)
                .bind(limit)
                .fetch_all(&mut *tx)
                .await?;
            if events.is_empty() {
                tx.commit().await?;
                return Ok(0);
            }
            let endpoints: Vec<Endpoint> = sqlx::query_as(
                "SELECT id, team_id, event_types, created_at FROM webhook_endpoints
                 WHERE enabled AND NOT is_test",
            )
            .fetch_all(&mut *tx)
            .await?;
            let operators: Vec<i64> = if events.iter().any(|e| e.1.is_none()) {
                sqlx::query_scalar("SELECT id FROM teams WHERE is_operator")
                    .fetch_all(&mut *tx)
                    .await?
            } else {
                Vec::new()
            };
            let mut by_team: HashMap<i64, Vec<Subscriber>> = HashMap::new();
            for (id, team_id, types, created_at) in endpoints {
                by_team
                    .entry(team_id)
                    .or_default()
                    .push((id, split_types(&types), created_at));
            }
            let mut rows: Vec<(i64, i64, i64)> = Vec::new();
            for (event_id, team_id, event_type, created_at) in &events {
                if event_type == EventType::WebhookTest.as_str() {
                    continue;
                }
                let teams: Vec<i64> = match team_id {
                    Some(team) => vec![*team],
                    None => operators.clone(),
                };
                for team in teams {
                    for (endpoint_id, types, endpoint_created) in by_team.get(&team).into_iter().flatten() {
                        let wanted = admits(types, event_type);
                        if wanted && endpoint_created <= created_at {
                            rows.push((team, *endpoint_id, *event_id));
                        }
                    }
                }
            }
            if !rows.is_empty() {
                let n = rows.len();
                let columns = [
                    Column::Int(rows.iter().map(|r| r.0).collect()),
                    Column::Int(rows.iter().map(|r| r.1).collect()),
                    Column::Int(rows.iter().map(|r| r.2).collect()),
                    Column::Text(vec!["pending"; n]),
                    Column::Int(vec![0; n]),
                    Column::Time(vec![at; n]),
                    Column::Time(vec![at; n]),
                    Column::Time(vec![at; n]),
                ];
                (*tx)
                    .insert_columns(
                        "INSERT INTO webhook_deliveries (team_id, endpoint_id, event_id, status,
                             attempts, next_attempt_at, created_at, updated_at)",
                        &columns,
                        "ON CONFLICT (endpoint_id, event_id) DO NOTHING",
                    )
                    .await?;
            }
            tx.commit().await?;
            events.len()
        });
        Ok(dispatched)
    }

    /// Leases up to `limit` due deliveries of enabled endpoints to `worker` until now +
    /// `lease`, counting the attempt; a delivery whose lease expired (its worker died) is
    /// due again. Atomic on both backends (`FOR UPDATE SKIP LOCKED` on PostgreSQL, one
    /// writer on SQLite): two workers never hold one delivery.
    pub async fn claim_webhook_deliveries(
        &self,
        worker: &str,
        lease: std::time::Duration,
        limit: i64,
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        let at = now();
        let expires =
            at + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::minutes(1));
        let due = "status = 'pending' AND next_attempt_at <= $3
                   AND (lease_expires_at IS NULL OR lease_expires_at < $3)";
        let claim = format!(
            "UPDATE webhook_deliveries SET lease_owner = $1, lease_expires_at = $2,
                 attempts = attempts + 1, updated_at = $3
             WHERE id IN (SELECT id FROM webhook_deliveries
                          WHERE {due}
                            AND endpoint_id IN (SELECT id FROM webhook_endpoints WHERE enabled)
                          ORDER BY next_attempt_at, id LIMIT $4 {})
               AND {due}
             RETURNING id, team_id, endpoint_id, event_id, attempts",
            lock_clause(&self.pool)
        );
        type Claimed = (i64, i64, i64, i64, i64);
        let claimed: Vec<Claimed> = with_pool!(self, pool => {
            sqlx::query_as(&claim)
                .bind(worker)
                .bind(expires)
                .bind(at)
                .bind(limit)
                .fetch_all(pool)
                .await
        })?;
        if claimed.is_empty() {
            return Ok(Vec::new());
        }
        let endpoint_sql = format!(
            "SELECT id, url, secret_ciphertext,
                 CASE WHEN previous_secret_expires_at > $1 THEN previous_secret_ciphertext END
             FROM webhook_endpoints WHERE id IN ({})",
            id_list(claimed.iter().map(|c| c.2))
        );
        let event_sql = format!(
            "SELECT {} FROM events WHERE id IN ({})",
            crate::events::EVENT_COLUMNS,
            id_list(claimed.iter().map(|c| c.3))
        );
        type Endpoint = (i64, String, Vec<u8>, Option<Vec<u8>>);
        let (endpoints, events) = with_pool!(self, pool => {
            let endpoints: Vec<Endpoint> = sqlx::query_as(&endpoint_sql)
                .bind(at)
                .fetch_all(pool)
                .await?;
            let events: Vec<crate::events::EventRow> =
                sqlx::query_as(&event_sql).fetch_all(pool).await?;
            (endpoints, events)
        });
        let endpoints: HashMap<i64, Endpoint> = endpoints.into_iter().map(|e| (e.0, e)).collect();
        let events: HashMap<i64, crate::EventRecord> = events
            .into_iter()
            .map(|row| {
                let event = crate::EventRecord::from(row);
                (event.id, event)
            })
            .collect();
        Ok(claimed
            .into_iter()
            .filter_map(|(delivery_id, team_id, endpoint_id, event_id, attempt)| {
                let endpoint = endpoints.get(&endpoint_id)?;
                let event = events.get(&event_id)?;
                Some(ClaimedDelivery {
                    delivery_id,
                    team_id,
                    attempt,
                    endpoint_id,
                    url: endpoint.1.clone(),
                    secret_ciphertext: endpoint.2.clone(),
                    previous_secret_ciphertext: endpoint.3.clone(),
                    event: event.clone(),
                })
            })
            .collect())
    }

    /// Logs each attempt and moves its delivery on, in one transaction: delivered; pending
    /// again at its retry time; failed. `410 Gone` disables the endpoint; a failure of an
    /// endpoint failing since longer than `disable_after` disables it too (both cancel its
    /// pending deliveries and record `webhook.disabled`). A success ends the endpoint's
    /// failure streak. Results of deliveries whose lease `worker` lost are only logged.
    pub async fn record_delivery_results(
        &self,
        worker: &str,
        results: &[DeliveryResult],
        disable_after: std::time::Duration,
    ) -> Result<(), StoreError> {
        if results.is_empty() {
            return Ok(());
        }
        let at = now();
        let disable_before =
            at - chrono::Duration::from_std(disable_after).unwrap_or(chrono::Duration::days(5));
        // Successes (nearly all of a healthy stream) are written a few statements per batch;
        // failures one by one, as they may disable their endpoint.
        let (delivered, failed): (Vec<&DeliveryResult>, Vec<&DeliveryResult>) = results
            .iter()
            .partition(|r| r.outcome == DeliveryOutcome::Delivered);
        let mut delivered_by_status: HashMap<Option<i64>, Vec<i64>> = HashMap::new();
        for result in &delivered {
            delivered_by_status
                .entry(result.status_code)
                .or_default()
                .push(result.delivery_id);
        }
        let healthy = id_list({
            let mut endpoints: Vec<i64> = delivered.iter().map(|r| r.endpoint_id).collect();
            endpoints.sort_unstable();
            endpoints.dedup();
            endpoints.into_iter()
        });
        let attempt_columns = [
            Column::Int(results.iter().map(|r| r.team_id).collect()),
            Column::Int(results.iter().map(|r| r.delivery_id).collect()),
            Column::Int(results.iter().map(|r| r.endpoint_id).collect()),
            Column::Int(results.iter().map(|r| r.attempt).collect()),
            Column::Time(results.iter().map(|r| r.started_at).collect()),
            Column::Int(results.iter().map(|r| r.duration_ms).collect()),
            Column::OptionalInt(results.iter().map(|r| r.status_code).collect()),
            Column::OptionalText(
                results
                    .iter()
                    .map(|r| r.response_excerpt.as_deref())
                    .collect(),
            ),
            Column::OptionalText(results.iter().map(|r| r.error.as_deref()).collect()),
        ];
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            for (status_code, ids) in &delivered_by_status {
                let sql = format!(
                    "UPDATE webhook_deliveries SET status = 'delivered', delivered_at = $2,
                         last_status_code = $3, last_error = NULL, lease_owner = NULL,
                         lease_expires_at = NULL, updated_at = $2
                     WHERE id IN ({}) AND lease_owner = $1 AND status = 'pending'",
                    id_list(ids.iter().copied())
                );
                sqlx::query(&sql)
                    .bind(worker)
                    .bind(at)
                    .bind(status_code)
                    .execute(&mut *tx)
                    .await?;
            }
            if !delivered.is_empty() {
                let sql = format!(
                    "UPDATE webhook_endpoints SET failing_since = NULL
                     WHERE id IN ({healthy}) AND failing_since IS NOT NULL"
                );
                sqlx::query(&sql).execute(&mut *tx).await?;
            }
            (*tx)
                .insert_columns(
                    "INSERT INTO webhook_delivery_attempts (team_id, delivery_id, endpoint_id,
                         attempt, started_at, duration_ms, status_code, response_excerpt, error)",
                    &attempt_columns,
                    "",
                )
                .await?;
            for result in failed {
                let (status, next_attempt_at) = match result.outcome {
                    DeliveryOutcome::Retry(when) => ("pending", Some(when)),
                    _ => ("failed", None),
                };
                let held = sqlx::query(
                    "UPDATE webhook_deliveries SET status = $3,
                         next_attempt_at = COALESCE($4, next_attempt_at),
                         last_status_code = $5, last_error = $6, lease_owner = NULL,
                         lease_expires_at = NULL, updated_at = $7
                     WHERE id = $1 AND lease_owner = $2 AND status = 'pending'",
                )
                .bind(result.delivery_id)
                .bind(worker)
                .bind(status)
                .bind(next_attempt_at)
                .bind(result.status_code)
                .bind(&result.error)
                .bind(at)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    > 0;
                if !held {
                    continue;
                }
                if result.outcome == DeliveryOutcome::Gone {
                    disable_endpoint!(tx, result.endpoint_id, "the receiver answered 410 Gone", at);
                    continue;
                }
                let since: Option<DateTime<Utc>> = sqlx::query_scalar(
                    "UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, $2)
                     WHERE id = $1 RETURNING failing_since",
                )
                .bind(result.endpoint_id)
                .bind(result.started_at)
                .fetch_optional(&mut *tx)
                .await?
                .flatten();
                if since.is_some_and(|since| since <= disable_before) {
                    let reason = format!(
                        "every delivery failed since {}",
                        since.map(|s| s.to_rfc3339()).unwrap_or_default()
                    );
                    disable_endpoint!(tx, result.endpoint_id, &reason, at);
                }
            }
            tx.commit().await?;
            Ok::<_, sqlx::Error>(())
        })?;
        Ok(())
    }

    /// Every attempt logged for the deliveries of `event_id` (tests and diagnostics).
    pub async fn webhook_attempts_of_event(
        &self,
        event_id: i64,
    ) -> Result<Vec<WebhookAttempt>, StoreError> {
        Ok(with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT a.id, a.delivery_id, a.attempt, a.started_at, a.duration_ms, a.status_code,
                     a.response_excerpt, a.error
                 FROM webhook_delivery_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id
                 WHERE d.event_id = $1 ORDER BY a.id",
            )
            .bind(event_id)
            .fetch_all(pool)
            .await
        })?)
    }
}
