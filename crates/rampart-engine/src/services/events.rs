//! The event stream as the API lists it (`GET /api/v1/events`): the team's events, oldest
//! first, after a cursor, filtered by type and time. Reading the stream needs
//! `webhooks:read`: the stream is exactly what webhook endpoints receive, and whoever may
//! manage endpoints could subscribe one to every type anyway.
//!
//! Server-wide events (`sync.*`) have no team; the operator team (the one that configures
//! sync sources) lists and receives them, other teams never see them. Test keys list the
//! test-mode events (their own activity's), live credentials the live ones.

use chrono::{DateTime, Utc};
use rampart_core::{EventType, Scope};
use rampart_store::{EventFilter, EventRecord};

use crate::actor::Actor;
use crate::error::{ErrorCode, ServiceError};
use crate::Engine;

/// Events listed when no page size is asked for.
pub const DEFAULT_EVENTS: i64 = 100;

/// The caller's filters, as sent.
#[derive(Debug, Default, Clone)]
pub struct EventCriteria<'a> {
    /// Comma-separated event types.
    pub types: Option<&'a str>,
    /// The last id seen.
    pub after: Option<i64>,
    pub since: Option<DateTime<Utc>>,
    pub per_page: Option<i64>,
}

/// A page of events and the cursor to continue from.
#[derive(Debug, Clone)]
pub struct EventPage {
    pub events: Vec<EventRecord>,
    /// The id to pass as `after` next (the last listed, or the `after` asked for).
    pub next_after: i64,
    /// A full page was returned: more may follow at once.
    pub has_more: bool,
}

fn bad(message: impl Into<String>) -> ServiceError {
    ServiceError::new(ErrorCode::BadRequest, message)
}

/// Entries of an `event_types` list (webhook filters, e-mail preferences) read at most,
/// repeats included: a bound on one request's work, the schemas' `maxItems`.
pub const MAX_EVENT_TYPE_ENTRIES: usize = 100;

/// The team's events matching `criteria` (`webhooks:read`).
pub async fn list_events(
    engine: &Engine,
    actor: &Actor,
    criteria: &EventCriteria<'_>,
) -> Result<EventPage, ServiceError> {
    actor.require(Scope::WebhooksRead)?;
    let types = match criteria.types {
        Some(text) => EventType::parse_list(text).map_err(|unknown| {
            bad(format!(
                "`type`: {unknown}; known types: {}",
                EventType::ALL
                    .iter()
                    .map(|t| t.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?,
        None => Vec::new(),
    };
    let limit = criteria.per_page.unwrap_or(DEFAULT_EVENTS);
    if !(1..=i64::from(rampart_core::MAX_PER_PAGE)).contains(&limit) {
        return Err(bad("`per_page` must be between 1 and 500"));
    }
    let after = criteria.after.unwrap_or(0);
    if after < 0 {
        return Err(bad("`after` must be an event id (0 or more)"));
    }
    let operator = engine.store.is_operator_team(actor.team_id).await?;
    let filter = EventFilter {
        types,
        after,
        since: criteria.since,
        limit,
    };
    let events = engine
        .store
        .list_events(actor.tenant(), operator, &filter)
        .await?;
    let next_after = events.last().map_or(after, |event| event.id);
    let has_more = events.len() as i64 == limit;
    Ok(EventPage {
        events,
        next_after,
        has_more,
    })
}

/// One of the team's events (`webhooks:read`); 404 for another team's.
pub async fn get_event(
    engine: &Engine,
    actor: &Actor,
    id: i64,
) -> Result<EventRecord, ServiceError> {
    actor.require(Scope::WebhooksRead)?;
    let operator = engine.store.is_operator_team(actor.team_id).await?;
    engine
        .store
        .event(actor.tenant(), operator, id)
        .await?
        .ok_or_else(|| ServiceError::not_found("event"))
}
