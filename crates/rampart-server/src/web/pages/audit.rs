//! The team's audit log with filters (as `GET /api/v1/audit-log` reads it; `audit:read`) and
//! links to the API's JSON and CSV export of the same filters.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use chrono::{DateTime, NaiveDate, Utc};
use rampart_core::{PageRequest, Scope};
use rampart_store::AuditFilter;

use super::{page_number, when, Pager};
use crate::state::AppState;
use crate::web::error::WebError;
use crate::web::form::{Fields, Query};
use crate::web::layout::{render, Layout};
use crate::web::session::SignedIn;

const PER_PAGE: u32 = 100;
const FILTERS: [&str; 6] = [
    "actor",
    "action",
    "target_type",
    "target_id",
    "since",
    "until",
];

pub struct EntryRow {
    pub time: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub details: String,
    pub source_ip: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    layout: Layout,
    entries: Vec<EntryRow>,
    filters: Vec<(&'static str, String)>,
    export_query: String,
    pager: Pager,
}

/// A `YYYY-MM-DD` day's start (or, for `until`, its end) in UTC, or an RFC 3339 time.
pub fn day_bound(text: &str, end_of_day: bool) -> Option<DateTime<Utc>> {
    if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        let time = if end_of_day {
            day.and_hms_opt(23, 59, 59)
        } else {
            day.and_hms_opt(0, 0, 0)
        };
        return time.map(|t| t.and_utc());
    }
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn filter_of(fields: &Fields) -> Result<AuditFilter, WebError> {
    let bound = |name: &str, end: bool| {
        fields
            .get(name)
            .map(|text| {
                day_bound(text, end).ok_or_else(|| {
                    WebError::bad_request(format!("`{name}` must be a date (YYYY-MM-DD)"))
                })
            })
            .transpose()
    };
    Ok(AuditFilter {
        actor: fields.get("actor").map(str::to_string),
        action: fields.get("action").map(str::to_string),
        target_type: fields.get("target_type").map(str::to_string),
        target_id: fields.get("target_id").map(str::to_string),
        since: bound("since", false)?,
        until: bound("until", true)?,
    })
}

/// `GET /audit`.
pub async fn list(
    State(state): State<AppState>,
    user: SignedIn,
    Query(fields): Query,
) -> Result<Response, WebError> {
    user.actor.require(Scope::AuditRead)?;
    let page = page_number(&fields)?;
    let filter = filter_of(&fields)?;
    let request = PageRequest::from_query(Some(page), Some(PER_PAGE), PER_PAGE)
        .map_err(|error| WebError::bad_request(error.to_string()))?;
    let (entries, total) = state
        .store
        .list_audit(user.actor.team_id, &filter, Some(request))
        .await?;
    let filters: Vec<(&'static str, String)> = FILTERS
        .iter()
        .map(|name| (*name, fields.get(name).unwrap_or("").to_string()))
        .collect();
    let mut export = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in &filters {
        if !value.is_empty() {
            let value = match *name {
                "since" => filter.since.map(|t| t.to_rfc3339()),
                "until" => filter.until.map(|t| t.to_rfc3339()),
                _ => Some(value.clone()),
            };
            export.append_pair(name, &value.unwrap_or_default());
        }
    }
    Ok(render(&AuditPage {
        layout: user.layout("Audit log", "audit"),
        pager: Pager::new("/audit", &filters, page, PER_PAGE, total),
        entries: entries
            .into_iter()
            .map(|e| EntryRow {
                time: when(e.created_at),
                actor: format!("{} ({})", e.actor, e.actor_kind),
                action: e.action,
                target: match (e.target_type, e.target_id) {
                    (Some(kind), Some(id)) => format!("{kind} {id}"),
                    (Some(kind), None) => kind,
                    _ => String::new(),
                },
                details: e.details.unwrap_or_default(),
                source_ip: e.source_ip.unwrap_or_default(),
            })
            .collect(),
        filters,
        export_query: export.finish(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_bound_the_filter_from_start_to_end() {
        let since = day_bound("2026-12-01", false).unwrap();
        let until = day_bound("2026-12-01", true).unwrap();
        assert_eq!(since.to_rfc3339(), "2026-12-01T00:00:00+00:00");
        assert_eq!(until.to_rfc3339(), "2026-12-01T23:59:59+00:00");
        assert!(day_bound("2026-12-01T10:00:00Z", false).is_some());
        assert!(day_bound("yesterday", false).is_none());
        let fields = Fields::parse(b"since=yesterday");
        assert!(filter_of(&fields).is_err());
    }
}
