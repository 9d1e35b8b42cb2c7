//! The portfolio: the team's products with their open findings by severity, KEV exposure and
//! the trend of open findings; and the form creating a product.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use rampart_core::{PageRequest, Scope};
use rampart_engine::services::{findings, products};
use rampart_store::{FindingEvent, ProductFindingSummary};

use super::{maybe_when, page_number, Pager};
use crate::state::AppState;
use crate::web::error::WebError;
use crate::web::form::Query;
use crate::web::layout::{render, Layout};
use crate::web::session::SignedIn;
use crate::web::trend;

const PER_PAGE: u32 = 50;
/// Finding events replayed for the trend, at most (500 per read).
const TREND_EVENT_PAGES: usize = 40;

/// Open findings of one product by severity band.
pub struct SeverityCounts {
    pub critical: i64,
    pub high: i64,
    pub medium: i64,
    pub low: i64,
    pub other: i64,
}

impl SeverityCounts {
    pub fn of(summary: &ProductFindingSummary) -> Self {
        let count = |band: &str| summary.by_severity.get(band).copied().unwrap_or(0);
        SeverityCounts {
            critical: count("critical"),
            high: count("high"),
            medium: count("medium"),
            low: count("low"),
            other: count("none") + count("unknown"),
        }
    }
}

pub struct ProductRow {
    pub id: i64,
    pub name: String,
    pub tags: String,
    pub counts: SeverityCounts,
    pub vulnerabilities: i64,
    pub kev: i64,
    pub last_analysed: String,
}

pub struct Trend {
    pub points: String,
    pub first_day: String,
    pub last_day: String,
    pub latest: i64,
    pub peak: i64,
    /// The replay stopped before the newest events.
    pub partial: bool,
}

#[derive(Template)]
#[template(path = "portfolio.html")]
struct PortfolioPage {
    layout: Layout,
    products: Vec<ProductRow>,
    search: String,
    pager: Pager,
    can_create: bool,
    trend: Option<Trend>,
}

/// `GET /`.
pub async fn show(
    State(state): State<AppState>,
    user: SignedIn,
    Query(query): Query,
) -> Result<Response, WebError> {
    let page = page_number(&query)?;
    let search = query.get("q").map(str::to_string);
    let request = PageRequest::from_query(Some(page), Some(PER_PAGE), PER_PAGE)
        .map_err(|error| WebError::bad_request(error.to_string()))?;
    let listed = products::list_products(&state, &user.actor, search.as_deref(), request).await?;
    let mut rows = Vec::with_capacity(listed.items.len());
    for product in listed.items {
        let summary = findings::product_summary(&state, &user.actor, product.id, false).await?;
        rows.push(ProductRow {
            counts: SeverityCounts::of(&summary),
            vulnerabilities: summary.vulnerabilities,
            kev: summary.kev,
            last_analysed: maybe_when(summary.last_analysed_at),
            tags: product.tags.join(", "),
            id: product.id,
            name: product.name,
        });
    }
    let search = search.unwrap_or_default();
    Ok(render(&PortfolioPage {
        layout: user.layout("Portfolio", "portfolio"),
        pager: Pager::new("/", &[("q", search.clone())], page, PER_PAGE, listed.total),
        products: rows,
        search,
        can_create: user.can(Scope::ProductsWrite),
        trend: open_findings_trend(&state, &user).await?,
    }))
}

/// The team's open findings per day, from its finding events.
async fn open_findings_trend(state: &AppState, user: &SignedIn) -> Result<Option<Trend>, WebError> {
    let mut events: Vec<FindingEvent> = Vec::new();
    let mut partial = true;
    for _ in 0..TREND_EVENT_PAGES {
        let after = events.last().map(|e| e.id);
        let batch = findings::finding_events(state, &user.actor, after, Some(500), None).await?;
        let done = batch.len() < 500;
        events.extend(batch);
        if done {
            partial = false;
            break;
        }
    }
    let days = trend::open_by_day(&events);
    let (Some(first), Some(last)) = (days.first(), days.last()) else {
        return Ok(None);
    };
    Ok(Some(Trend {
        points: trend::polyline(&days, 300.0, 60.0),
        first_day: first.0.to_string(),
        last_day: last.0.to_string(),
        latest: last.1,
        peak: days.iter().map(|(_, c)| *c).max().unwrap_or(0),
        partial,
    }))
}
