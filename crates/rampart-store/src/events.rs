//! The event stream (outbox). A state change that other parties care about records its
//! event on the transaction that makes the change, so the two commit (or roll back)
//! together; webhook delivery, e-mail and alerts read events afterwards, never from inside
//! the request.
//!
//! Recording, from any store function that holds a transaction:
//!
//! ```ignore
//! use crate::events::{record_event, NewEvent};
//! let mut tx = pool.begin_write().await?;
//! // … the change …
//! record_event(&mut *tx, &NewEvent::team(tenant, EventType::IncidentCreated, json!({"incident_id": id}))).await?;
//! tx.commit().await?;
//! ```
//!
//! Tenancy: an event belongs to one team (`team_id`) and carries the caller's test flag
//! (`test_mode`: recorded for test keys, listed to test keys only, never delivered).
//! Server-wide events (`sync.*`, [`EventType::is_server_wide`]) have no team: they are listed
//! to and delivered to the operator team only, the one team that configures sync sources.

use chrono::{DateTime, Utc};
use rampart_core::EventType;

use crate::bulk::{Bulk, Column};
use crate::{now, with_pool, Store, StoreError, Tenant};

/// An event to record.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// `None` only for server-wide events.
    pub team_id: Option<i64>,
    pub event_type: EventType,
    pub test_mode: bool,
    /// A JSON object: the subject's ids and the facts a receiver needs.
    pub data: serde_json::Value,
}

impl NewEvent {
    /// An event of `tenant` (its team and test flag).
    pub fn team(tenant: Tenant, event_type: EventType, data: serde_json::Value) -> NewEvent {
        NewEvent {
            team_id: Some(tenant.team_id),
            event_type,
            test_mode: tenant.test,
            data,
        }
    }

    /// A server-wide event (no team): the operator team's.
    pub fn server_wide(event_type: EventType, data: serde_json::Value) -> NewEvent {
        NewEvent {
            team_id: None,
            event_type,
            test_mode: false,
            data,
        }
    }
}

/// A recorded event.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRecord {
    pub id: i64,
    /// `None`: server-wide.
    pub team_id: Option<i64>,
    pub event_type: String,
    pub test_mode: bool,
    pub data: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
pub(crate) struct EventRow {
    id: i64,
    team_id: Option<i64>,
    #[sqlx(rename = "type")]
    event_type: String,
    test_mode: bool,
    data: String,
    created_at: DateTime<Utc>,
}

pub(crate) const EVENT_COLUMNS: &str = "id, team_id, type, test_mode, data, created_at";

impl From<EventRow> for EventRecord {
    fn from(row: EventRow) -> Self {
        EventRecord {
            id: row.id,
            team_id: row.team_id,
            event_type: row.event_type,
            test_mode: row.test_mode,
            // Written by `record_events` from a `serde_json::Value`: always JSON.
            data: serde_json::from_str(&row.data).unwrap_or(serde_json::Value::Null),
            created_at: row.created_at,
        }
    }
}

/// Records one event on `conn`, the transaction of the change that causes it.
pub(crate) async fn record_event<C: Bulk>(
    conn: &mut C,
    event: &NewEvent,
) -> Result<(), sqlx::Error> {
    record_events(conn, std::slice::from_ref(event), now()).await
}

/// Records several events on `conn` (many rows per statement), all created `at`.
pub(crate) async fn record_events<C: Bulk>(
    conn: &mut C,
    events: &[NewEvent],
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    if events.is_empty() {
        return Ok(());
    }
    let data: Vec<String> = events.iter().map(|e| e.data.to_string()).collect();
    let columns = [
        Column::OptionalInt(events.iter().map(|e| e.team_id).collect()),
        Column::Text(events.iter().map(|e| e.event_type.as_str()).collect()),
        Column::Bool(events.iter().map(|e| e.test_mode).collect()),
        Column::Text(data.iter().map(String::as_str).collect()),
        Column::Time(vec![at; events.len()]),
        // A test-mode event is never delivered: nothing to fan out.
        Column::Bool(events.iter().map(|e| e.test_mode).collect()),
    ];
    conn.insert_columns(
        "INSERT INTO events (team_id, type, test_mode, data, created_at, dispatched)",
        &columns,
        "",
    )
    .await
}

/// What to list of a team's events; all filters combine with AND.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// Only these types (empty: all).
    pub types: Vec<EventType>,
    /// Only events after this id (the cursor: the last id seen).
    pub after: i64,
    /// Only events created at or after.
    pub since: Option<DateTime<Utc>>,
    /// Page size.
    pub limit: i64,
}

/// `type IN ('a', 'b')`, or nothing for no filter. The names come from [`EventType`], never
/// from the caller's text, so they are spelled inline.
fn types_condition(types: &[EventType]) -> String {
    if types.is_empty() {
        return String::new();
    }
    let names: Vec<String> = types.iter().map(|t| format!("'{}'", t.as_str())).collect();
    format!(" AND type IN ({})", names.join(", "))
}

impl Store {
    /// The tenant's events matching `filter`, oldest first. `operator`: the caller's team is
    /// the operator team, which also sees server-wide events.
    pub async fn list_events(
        &self,
        tenant: Tenant,
        operator: bool,
        filter: &EventFilter,
    ) -> Result<Vec<EventRecord>, StoreError> {
        let types = types_condition(&filter.types);
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events
             WHERE (team_id = $1 OR (team_id IS NULL AND $2)) AND test_mode = $3 AND id > $4
               AND ($6 IS NULL OR created_at >= $6){types}
             ORDER BY id LIMIT $5"
        );
        let rows: Vec<EventRow> = with_pool!(self, pool => {
            sqlx::query_as(&sql)
                .bind(tenant.team_id)
                .bind(operator && !tenant.test)
                .bind(tenant.test)
                .bind(filter.after)
                .bind(filter.limit)
                .bind(filter.since)
                .fetch_all(pool)
                .await
        })?;
        Ok(rows.into_iter().map(EventRecord::from).collect())
    }

    /// One of the tenant's events (server-wide ones too for the operator team).
    pub async fn event(
        &self,
        tenant: Tenant,
        operator: bool,
        id: i64,
    ) -> Result<Option<EventRecord>, StoreError> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events
             WHERE id = $1 AND (team_id = $2 OR (team_id IS NULL AND $3)) AND test_mode = $4"
        );
        let row: Option<EventRow> = with_pool!(self, pool => {
            sqlx::query_as(&sql)
                .bind(id)
                .bind(tenant.team_id)
                .bind(operator && !tenant.test)
                .bind(tenant.test)
                .fetch_optional(pool)
                .await
        })?;
        Ok(row.map(EventRecord::from))
    }

    /// Records events outside any other change (e.g. a webhook test event).
    pub async fn record_events(&self, events: &[NewEvent]) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            let mut conn = pool.acquire().await?;
            record_events(&mut *conn, events, now()).await
        })?;
        Ok(())
    }
}
