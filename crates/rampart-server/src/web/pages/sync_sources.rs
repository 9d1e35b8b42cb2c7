//! Sync sources (seed 000): the list, configuring one, running one now, and its run history
//! with progress and errors. Changing and running them is for the operators' team
//! (`services::sync_sources` says so; the page shows its refusal).

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use rampart_core::Scope;
use rampart_engine::services::sync_sources::{self, ConfigureSyncSourceRequest};
use rampart_engine::ServiceError;
use rampart_store::SyncRunRecord;

use super::{maybe_when, page_number, when, Pager};
use crate::state::AppState;
use crate::web::error::WebError;
use crate::web::form::{Form, Query};
use crate::web::layout::{render, see_other, Layout};
use crate::web::session::SignedIn;

const TYPES: [&str; 6] = ["OSV", "NVD", "GHSA", "KEV", "EPSS", "EXPLOITDB"];
const RUNS_PER_PAGE: u32 = 25;

pub struct SourceRow {
    pub id: String,
    pub source_type: String,
    pub url: String,
    pub api_key: String,
    pub interval: i64,
    pub ecosystems: String,
    pub cursor: String,
    pub next_run: String,
}

pub struct RunRow {
    pub id: i64,
    pub trigger: String,
    pub status: &'static str,
    pub queued: String,
    pub started: String,
    pub finished: String,
    pub counts: String,
    pub progress: String,
    pub error: String,
}

impl RunRow {
    fn of(run: SyncRunRecord) -> Self {
        RunRow {
            id: run.id,
            status: run.status.as_str(),
            queued: when(run.queued_at),
            started: maybe_when(run.started_at),
            finished: maybe_when(run.finished_at),
            counts: format!(
                "{} added, {} updated, {} unchanged, {} skipped",
                run.counts.added, run.counts.updated, run.counts.unchanged, run.counts.skipped
            ),
            progress: run.progress.unwrap_or_default(),
            error: run.error.unwrap_or_default(),
            trigger: run.trigger,
        }
    }
}

#[derive(Template)]
#[template(path = "sync_sources.html")]
struct SourcesPage {
    layout: Layout,
    sources: Vec<SourceRow>,
    types: [&'static str; 6],
    can_change: bool,
}

fn source_row(source: rampart_store::SyncSourceRecord) -> SourceRow {
    SourceRow {
        url: source.url.unwrap_or_else(|| "default".to_string()),
        api_key: source.api_key_masked,
        interval: source.sync_interval_hours,
        ecosystems: source.ecosystems.join(", "),
        cursor: maybe_when(source.last_modified_since),
        next_run: when(source.next_run_at),
        source_type: source.source_type,
        id: source.id,
    }
}

/// `GET /sync-sources`.
pub async fn list(State(state): State<AppState>, user: SignedIn) -> Result<Response, WebError> {
    let sources = sync_sources::list(&state, &user.actor).await?;
    Ok(render(&SourcesPage {
        layout: user.layout("Sync sources", "sync"),
        sources: sources.into_iter().map(source_row).collect(),
        types: TYPES,
        can_change: user.can(Scope::SyncWrite),
    }))
}

/// `POST /sync-sources`: creates or (same id) updates a source.
pub async fn configure(
    State(state): State<AppState>,
    user: SignedIn,
    Form(form): Form,
) -> Result<Response, WebError> {
    let body = serde_json::json!({
        "config": {
            "id": form.get("id"),
            "type": form.get("type"),
            "syncIntervalHours": form.number::<i64>("sync_interval_hours")?,
            "ecosystems": form.get("ecosystems"),
            "url": form.get("url"),
        },
        "apiKey": form.get("api_key"),
    });
    let request: Result<ConfigureSyncSourceRequest, ServiceError> =
        serde_json::from_value(body).map_err(|error| ServiceError::invalid(error.to_string()));
    let source = sync_sources::configure(&state, &user.actor, &user.origin, request).await?;
    Ok(see_other(
        user.fragment,
        &format!("/sync-sources/{}", source.id),
    ))
}

#[derive(Template)]
#[template(path = "sync_source.html")]
struct SourcePage {
    layout: Layout,
    source: SourceRow,
    runs: Vec<RunRow>,
    pager: Pager,
    can_run: bool,
    /// A run is queued or running: the history refreshes itself.
    active: bool,
}

/// `GET /sync-sources/{id}`: the source and its runs, newest first.
pub async fn show(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
    Query(fields): Query,
) -> Result<Response, WebError> {
    let page = page_number(&fields)?;
    let source = sync_sources::get(&state, &user.actor, &id).await?;
    let runs = sync_sources::runs(
        &state,
        &user.actor,
        &id,
        Some(i64::from(page)),
        Some(i64::from(RUNS_PER_PAGE)),
    )
    .await?;
    let runs_rows: Vec<RunRow> = runs.runs.into_iter().map(RunRow::of).collect();
    Ok(render(&SourcePage {
        layout: user.layout(format!("Sync source {id}"), "sync"),
        pager: Pager::new(
            &format!("/sync-sources/{id}"),
            &[],
            page,
            RUNS_PER_PAGE,
            runs.total,
        ),
        active: runs_rows
            .iter()
            .any(|r| r.status == "queued" || r.status == "running"),
        runs: runs_rows,
        source: source_row(source),
        can_run: user.can(Scope::CveTrigger),
    }))
}

/// `POST /sync-sources/{id}/run`: queues a run now.
pub async fn run(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    sync_sources::trigger_run(&state, &user.actor, &user.origin, &id).await?;
    Ok(see_other(user.fragment, &format!("/sync-sources/{id}")))
}
