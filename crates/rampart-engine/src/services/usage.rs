//! API usage analytics (issue 20, seed 003 "Usage Analytics"): a team's request totals,
//! error rates and latency percentiles from the per-minute rollups, and its raw request log
//! with filters. Needs `audit:read` (owners and admins hold it); a team only ever sees its
//! own requests.

use chrono::{DateTime, Duration, NaiveDate, SubsecRound, Utc};
use rampart_core::usage::{StatusFilter, UsageGrouping};
use rampart_core::{PageRequest, Scope};
use rampart_store::{RequestLogRecord, UsageAggregate, UsageFilter};
use serde::{Deserialize, Serialize};

use crate::actor::Actor;
use crate::error::ServiceError;
use crate::Engine;

/// The window analytics cover when `since` is not given.
pub const DEFAULT_WINDOW_DAYS: i64 = 30;

/// Rows an export of the raw log holds at most.
pub const EXPORT_LIMIT: i64 = 100_000;

/// The filters of `GET /api/v1/usage` and `GET /api/v1/usage/requests`, as sent.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct UsageQuery {
    /// Only requests made with this API key.
    pub key_id: Option<i64>,
    /// Only requests of this user: an e-mail address, a service account's `api_<name>`, or a
    /// user id.
    pub user: Option<String>,
    /// From (inclusive): an RFC 3339 time, a date (`2026-12-01`), or a duration ago (`24h`,
    /// `7d`). Default: 30 days ago.
    pub since: Option<String>,
    /// Until (exclusive), as `since`. Default: now.
    pub until: Option<String>,
    /// A status code (`404`), a class (`4xx`) or `error` (400 and above).
    pub status: Option<String>,
    /// A route template exactly as logged, e.g. `/api/v1/releases/{id}`.
    pub endpoint: Option<String>,
    /// An HTTP method (`GET`).
    pub method: Option<String>,
    /// Raw log only: the client IP.
    pub ip: Option<String>,
    /// Analytics only: `endpoint`, `status`, `day`, `hour` or `key`.
    pub group_by: Option<String>,
}

/// Latency figures in milliseconds; percentiles come from the rollups' histogram buckets.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LatencyFigures {
    pub avg: Option<f64>,
    pub p50: Option<f64>,
    pub p90: Option<f64>,
    pub p95: Option<f64>,
    pub p99: Option<f64>,
}

/// Totals of one group (or of everything).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UsageFigures {
    /// The group's value: `GET /api/v1/products` (endpoint), `404` (status), the start of
    /// the day or hour (RFC 3339), or the key id. Absent in totals.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// For `key` groups: the key's name (while the key exists).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_name: Option<String>,
    pub requests: i64,
    /// Responses with status 400 and above.
    pub errors: i64,
    pub client_errors: i64,
    pub server_errors: i64,
    /// `errors / requests` (0 when there were none).
    pub error_rate: f64,
    pub response_bytes: i64,
    pub latency_ms: LatencyFigures,
}

/// `GET /api/v1/usage`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UsageReport {
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_by: Option<&'static str>,
    pub totals: UsageFigures,
    /// One entry per group (most requests first; by time for `day` and `hour`). Empty
    /// without `group_by`.
    pub groups: Vec<UsageFigures>,
}

fn figures(aggregate: &UsageAggregate, grouping: Option<UsageGrouping>) -> UsageFigures {
    let errors = aggregate.client_errors + aggregate.server_errors;
    let histogram = &aggregate.latency;
    let group = grouping.map(|grouping| match grouping {
        UsageGrouping::Day | UsageGrouping::Hour => aggregate
            .group
            .parse::<i64>()
            .ok()
            .and_then(|secs| DateTime::from_timestamp(secs, 0))
            .map(|at| at.to_rfc3339())
            .unwrap_or_else(|| aggregate.group.clone()),
        _ => aggregate.group.clone(),
    });
    UsageFigures {
        group,
        key_name: aggregate.label.clone(),
        requests: aggregate.requests,
        errors,
        client_errors: aggregate.client_errors,
        server_errors: aggregate.server_errors,
        error_rate: if aggregate.requests == 0 {
            0.0
        } else {
            errors as f64 / aggregate.requests as f64
        },
        response_bytes: aggregate.response_bytes,
        latency_ms: LatencyFigures {
            avg: (aggregate.requests > 0)
                .then(|| aggregate.latency_us_sum as f64 / aggregate.requests as f64 / 1000.0),
            p50: histogram.quantile_ms(0.50),
            p90: histogram.quantile_ms(0.90),
            p95: histogram.quantile_ms(0.95),
            p99: histogram.quantile_ms(0.99),
        },
    }
}

/// A time as the filters take it: RFC 3339, a date (its start, UTC), or a duration ago.
fn parse_time(field: &str, text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, ServiceError> {
    let text = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc).trunc_subsecs(6));
    }
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        if let Some(start) = date.and_hms_opt(0, 0, 0) {
            return Ok(start.and_utc());
        }
    }
    if let Ok(ago) = humantime::parse_duration(text) {
        if let Ok(ago) = Duration::from_std(ago) {
            if let Some(at) = now.checked_sub_signed(ago) {
                return Ok(at);
            }
        }
    }
    Err(ServiceError::invalid(format!(
        "`{field}` must be an RFC 3339 time, a date (YYYY-MM-DD) or a duration ago (24h), not {text:?}"
    )))
}

/// The validated filter and window of a query.
async fn filter_of(
    engine: &Engine,
    actor: &Actor,
    query: &UsageQuery,
) -> Result<(UsageFilter, DateTime<Utc>, DateTime<Utc>), ServiceError> {
    let now = engine.now();
    let until = match &query.until {
        Some(text) => parse_time("until", text, now)?,
        None => now,
    };
    let since = match &query.since {
        Some(text) => parse_time("since", text, now)?,
        None => until - Duration::days(DEFAULT_WINDOW_DAYS),
    };
    if since >= until {
        return Err(ServiceError::invalid("`since` must be before `until`"));
    }
    let status = query
        .status
        .as_deref()
        .map(str::parse::<StatusFilter>)
        .transpose()
        .map_err(ServiceError::invalid)?;
    let user_id = match query.user.as_deref().map(str::trim) {
        None => None,
        Some("") => return Err(ServiceError::invalid("`user` must not be empty")),
        Some(user) => Some(match user.parse::<i64>() {
            Ok(id) => id,
            // A name outside the team matches nothing (and says nothing about other teams).
            Err(_) => engine
                .store
                .team_user_by_name(actor.team_id, &user.to_lowercase())
                .await?
                .or(engine.store.team_user_by_name(actor.team_id, user).await?)
                .unwrap_or(-1),
        }),
    };
    let method = match query.method.as_deref().map(str::trim) {
        None => None,
        Some(method) if !method.is_empty() && method.chars().all(|c| c.is_ascii_alphabetic()) => {
            Some(method.to_ascii_uppercase())
        }
        Some(other) => {
            return Err(ServiceError::invalid(format!(
                "`method` must be an HTTP method such as GET, not {other:?}"
            )))
        }
    };
    let endpoint = match query.endpoint.as_deref().map(str::trim) {
        None => None,
        Some(endpoint) if endpoint.starts_with('/') || endpoint == "unmatched" => {
            Some(endpoint.to_string())
        }
        Some(other) => {
            return Err(ServiceError::invalid(format!(
                "`endpoint` must be a route template such as /api/v1/releases/{{id}}, not {other:?}"
            )))
        }
    };
    let filter = UsageFilter {
        since: Some(since),
        until: Some(until),
        key_id: query.key_id,
        user_id,
        status,
        endpoint,
        method,
        client_ip: query.ip.clone().filter(|ip| !ip.trim().is_empty()),
    };
    Ok((filter, since, until))
}

/// Totals, error rates and latency percentiles, optionally grouped.
pub async fn usage_report(
    engine: &Engine,
    actor: &Actor,
    query: &UsageQuery,
) -> Result<UsageReport, ServiceError> {
    actor.require(Scope::AuditRead)?;
    let grouping = query
        .group_by
        .as_deref()
        .map(str::parse::<UsageGrouping>)
        .transpose()
        .map_err(ServiceError::invalid)?;
    if query.ip.is_some() {
        return Err(ServiceError::invalid(
            "`ip` filters the raw log only (GET /api/v1/usage/requests)",
        ));
    }
    let (filter, since, until) = filter_of(engine, actor, query).await?;
    let totals = engine
        .store
        .usage_aggregates(actor.team_id, &filter, None)
        .await?;
    let totals = totals.first().cloned().unwrap_or_default();
    let groups = match grouping {
        Some(grouping) => engine
            .store
            .usage_aggregates(actor.team_id, &filter, Some(grouping))
            .await?
            .iter()
            .map(|aggregate| figures(aggregate, Some(grouping)))
            .collect(),
        None => Vec::new(),
    };
    Ok(UsageReport {
        since,
        until,
        group_by: grouping.map(UsageGrouping::as_str),
        totals: figures(&totals, None),
        groups,
    })
}

/// The raw log, newest first: a page of it, or (no page) every matching row up to
/// [`EXPORT_LIMIT`] for an export.
pub async fn request_log(
    engine: &Engine,
    actor: &Actor,
    query: &UsageQuery,
    page: Option<PageRequest>,
) -> Result<(Vec<RequestLogRecord>, i64), ServiceError> {
    actor.require(Scope::AuditRead)?;
    if query.group_by.is_some() {
        return Err(ServiceError::invalid(
            "`group_by` applies to GET /api/v1/usage, not to the raw log",
        ));
    }
    let (filter, _, _) = filter_of(engine, actor, query).await?;
    Ok(engine
        .store
        .list_request_log(actor.team_id, &filter, page, EXPORT_LIMIT)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc3339_dates_or_durations_ago() {
        let now = DateTime::parse_from_rfc3339("2026-12-02T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            parse_time("since", "2026-12-01", now).unwrap().to_rfc3339(),
            "2026-12-01T00:00:00+00:00"
        );
        assert_eq!(
            parse_time("since", "24h", now).unwrap().to_rfc3339(),
            "2026-12-01T12:00:00+00:00"
        );
        let error = parse_time("until", "yesterday", now).unwrap_err();
        assert!(error.message().contains("`until`"), "{}", error.message());
    }
}
