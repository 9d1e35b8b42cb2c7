//! The event stream: every state change other parties care about (findings, VEX workflow,
//! sync runs, SARIF imports, alerts, incidents …), oldest first, with a cursor. What webhook
//! endpoints receive, as a list.

use axum::extract::{Path, State};
use axum::Json;
use chrono::{DateTime, Utc};
use rampart_engine::services::events::{self, EventCriteria};
use rampart_store::EventRecord;
use serde::{Deserialize, Serialize};

use crate::auth::Principal;
use crate::error::{ApiError, ApiQuery, ErrorBody};
use crate::state::AppState;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EventListQuery {
    /// Comma-separated event types (`finding.new,vex.published`); all types when absent.
    #[serde(rename = "type")]
    #[param(
        rename = "type",
        pattern = "^$|^(finding\\.new|finding\\.resolved|finding\\.kev_added|finding\\.reanalysed|vex\\.submitted|vex\\.approved|vex\\.rejected|vex\\.published|sync\\.failed|sync\\.completed|alert\\.matched|incident\\.created|incident\\.updated|incident\\.resolved|scan\\.completed|compliance\\.changed|sarif\\.imported|webhook\\.test|webhook\\.disabled|team\\.plan_changed)(,(finding\\.new|finding\\.resolved|finding\\.kev_added|finding\\.reanalysed|vex\\.submitted|vex\\.approved|vex\\.rejected|vex\\.published|sync\\.failed|sync\\.completed|alert\\.matched|incident\\.created|incident\\.updated|incident\\.resolved|scan\\.completed|compliance\\.changed|sarif\\.imported|webhook\\.test|webhook\\.disabled|team\\.plan_changed))*$"
    )]
    pub event_type: Option<String>,
    /// Only events after this id (the cursor: `next_after` of the previous page) [default: 0].
    #[param(minimum = 0)]
    pub after: Option<i64>,
    /// Only events created at or after this RFC 3339 time.
    pub since: Option<DateTime<Utc>>,
    /// At most this many, 1–500 [default: 100].
    #[param(minimum = 1, maximum = 500)]
    pub per_page: Option<i64>,
}

/// One event, as listed and as a webhook delivery's body.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EventBody {
    pub id: i64,
    /// `finding.new`, `vex.published`, `sync.failed`, …
    #[serde(rename = "type")]
    pub event_type: String,
    pub created_at: DateTime<Utc>,
    /// `null` for server-wide events (`sync.*`), which only the operator team sees.
    pub team_id: Option<i64>,
    /// Recorded by test-key activity: never delivered.
    pub test_mode: bool,
    /// The subject's ids and facts; the fields depend on the type.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

impl From<EventRecord> for EventBody {
    fn from(event: EventRecord) -> Self {
        EventBody {
            id: event.id,
            event_type: event.event_type,
            created_at: event.created_at,
            team_id: event.team_id,
            test_mode: event.test_mode,
            data: event.data,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EventPageBody {
    pub items: Vec<EventBody>,
    /// Pass as `after` to continue (the last id listed, or the `after` sent when none).
    pub next_after: i64,
    /// A full page came back: more events may follow at once.
    pub has_more: bool,
}

/// The team's events, oldest first, after a cursor; filter by type and time.
#[utoipa::path(get, path = "/api/v1/events", tag = "events",
    security(("bearer" = ["webhooks:read"])),
    params(EventListQuery),
    responses(
        (status = 200, description = "Events after `after`", body = EventPageBody),
        (status = 400, description = "A parameter is malformed (the message names it)", body = ErrorBody),
    ))]
pub async fn list_events(
    State(state): State<AppState>,
    principal: Principal,
    query: Result<ApiQuery<EventListQuery>, ApiError>,
) -> Result<Json<EventPageBody>, ApiError> {
    principal.require(rampart_core::Scope::WebhooksRead)?;
    let ApiQuery(query) = query?;
    let criteria = EventCriteria {
        types: query.event_type.as_deref(),
        after: query.after,
        since: query.since,
        per_page: query.per_page,
    };
    let page = events::list_events(&state, &principal, &criteria).await?;
    Ok(Json(EventPageBody {
        items: page.events.into_iter().map(EventBody::from).collect(),
        next_after: page.next_after,
        has_more: page.has_more,
    }))
}

/// One of the team's events.
#[utoipa::path(get, path = "/api/v1/events/{id}", tag = "events",
    security(("bearer" = ["webhooks:read"])),
    params(("id" = i64, Path, description = "Event id")),
    responses(
        (status = 200, description = "The event", body = EventBody),
        (status = 404, description = "No such event in this team", body = ErrorBody),
    ))]
pub async fn get_event(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Json<EventBody>, ApiError> {
    principal.require(rampart_core::Scope::WebhooksRead)?;
    let event = events::get_event(&state, &principal, id).await?;
    Ok(Json(event.into()))
}

#[cfg(test)]
mod tests {
    use rampart_core::EventType;

    /// The `type` parameter's pattern names exactly the event types the server knows, so a
    /// new type cannot be refused by the document while the server accepts it.
    #[test]
    fn the_type_pattern_names_every_event_type() {
        let document = serde_json::to_value(crate::openapi_document()).unwrap();
        let parameters = document["paths"]["/api/v1/events"]["get"]["parameters"]
            .as_array()
            .unwrap();
        let pattern = parameters
            .iter()
            .find(|p| p["name"] == "type")
            .and_then(|p| p["schema"]["pattern"].as_str())
            .expect("a pattern on `type`");
        let names = pattern
            .strip_prefix("^$|^(")
            .and_then(|rest| rest.split_once(")(,("))
            .map(|(first, rest)| {
                assert_eq!(rest, format!("{first}))*$"), "both alternations agree");
                first
            })
            .expect("the comma-list pattern's shape");
        let mut in_pattern: Vec<String> = names.split('|').map(|n| n.replace("\\.", ".")).collect();
        let mut known: Vec<String> = EventType::ALL
            .iter()
            .map(|t| t.as_str().to_string())
            .collect();
        in_pattern.sort();
        known.sort();
        assert_eq!(in_pattern, known);
    }
}
