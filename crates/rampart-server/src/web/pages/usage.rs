//! API usage (issue 20): requests, errors and latency percentiles of the team's API traffic by
//! endpoint, by key and by status, over a chosen window (as `GET /api/v1/usage` reads them;
//! `audit:read`, so owners and admins), with a link to the raw log's export.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use rampart_engine::services::usage::{self, UsageFigures, UsageQuery};

use super::when;
use crate::state::AppState;
use crate::web::error::WebError;
use crate::web::form::Query;
use crate::web::layout::{render, Layout};
use crate::web::session::SignedIn;

/// The windows the page offers (the API takes any).
const WINDOWS: [(&str, &str); 4] = [
    ("1h", "Last hour"),
    ("24h", "Last 24 hours"),
    ("7d", "Last 7 days"),
    ("30d", "Last 30 days"),
];

pub struct FigureRow {
    pub label: String,
    pub requests: i64,
    pub errors: i64,
    pub error_rate: String,
    pub p50: String,
    pub p95: String,
    pub p99: String,
}

/// One breakdown: its heading, its first column's name, its rows.
pub struct UsageTable {
    pub id: &'static str,
    pub title: &'static str,
    pub column: &'static str,
    pub rows: Vec<FigureRow>,
}

#[derive(Template)]
#[template(path = "usage.html")]
struct UsagePage {
    layout: Layout,
    windows: [(&'static str, &'static str); 4],
    window: String,
    from: String,
    to: String,
    totals: FigureRow,
    tables: Vec<UsageTable>,
}

fn milliseconds(value: Option<f64>) -> String {
    value.map_or_else(|| "—".to_string(), |ms| format!("{ms:.1} ms"))
}

fn row(label: String, figures: &UsageFigures) -> FigureRow {
    FigureRow {
        label,
        requests: figures.requests,
        errors: figures.errors,
        error_rate: format!("{:.1} %", figures.error_rate * 100.0),
        p50: milliseconds(figures.latency_ms.p50),
        p95: milliseconds(figures.latency_ms.p95),
        p99: milliseconds(figures.latency_ms.p99),
    }
}

/// `GET /usage`.
pub async fn show(
    State(state): State<AppState>,
    user: SignedIn,
    Query(fields): Query,
) -> Result<Response, WebError> {
    let window = fields.get("window").unwrap_or("24h");
    if !WINDOWS.iter().any(|(value, _)| *value == window) {
        return Err(WebError::bad_request("`window` must be 1h, 24h, 7d or 30d"));
    }
    let query = |group_by: &str| UsageQuery {
        since: Some(window.to_string()),
        group_by: Some(group_by.to_string()),
        ..UsageQuery::default()
    };
    let by_endpoint = usage::usage_report(&state, &user.actor, &query("endpoint")).await?;
    let by_key = usage::usage_report(&state, &user.actor, &query("key")).await?;
    let by_status = usage::usage_report(&state, &user.actor, &query("status")).await?;
    let group = |figures: &UsageFigures| figures.group.clone().unwrap_or_default();
    Ok(render(&UsagePage {
        layout: user.layout("API usage", "usage"),
        windows: WINDOWS,
        window: window.to_string(),
        from: when(by_endpoint.since),
        to: when(by_endpoint.until),
        totals: row("All requests".to_string(), &by_endpoint.totals),
        tables: vec![
            UsageTable {
                id: "usage-endpoint",
                title: "By endpoint",
                column: "Endpoint",
                rows: by_endpoint
                    .groups
                    .iter()
                    .map(|g| row(group(g), g))
                    .collect(),
            },
            UsageTable {
                id: "usage-key",
                title: "By API key",
                column: "Key",
                rows: by_key
                    .groups
                    .iter()
                    .map(|g| {
                        let label = match &g.key_name {
                            Some(name) => format!("{name} (key {})", group(g)),
                            None => format!("key {} (deleted)", group(g)),
                        };
                        row(label, g)
                    })
                    .collect(),
            },
            UsageTable {
                id: "usage-status",
                title: "By status",
                column: "Status",
                rows: by_status.groups.iter().map(|g| row(group(g), g)).collect(),
            },
        ],
    }))
}
