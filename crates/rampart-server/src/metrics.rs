//! Prometheus metrics (issue 20): the `metrics` facade records everywhere (this crate and the
//! engine: requests, rate-limit refusals, sync runs, index builds, analyses, webhook
//! deliveries, request-log drops) and `metrics-exporter-prometheus` renders the text
//! exposition format. Figures read from the database or memory (knowledge-base records,
//! queue depth, pool use, index size) are set when scraped.
//!
//! Served at `/metrics` on the separate `--metrics-listen` address (no credentials: bind it
//! where only the monitoring system reaches it), and on the main listener to an operator
//! (an owner or admin of the team made at bootstrap) only.

use std::sync::OnceLock;

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use rampart_core::Scope;
use rampart_engine::ServiceError;

use crate::auth::Principal;
use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;

/// The text exposition format's content type.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Histogram buckets of every `*_seconds` metric.
const SECONDS_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
    300.0, 900.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process-wide recorder's handle, installing the recorder on first use (several apps in
/// one process, as in tests, share it).
pub fn handle() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)
                .expect("the bucket list is not empty")
                .build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed; /metrics stays empty");
            }
            describe();
            handle
        })
        .clone()
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(
        "rampart_http_requests_total",
        "HTTP requests by method, route template and status"
    );
    describe_histogram!(
        "rampart_http_request_duration_seconds",
        Unit::Seconds,
        "HTTP request latency by method, route template and status"
    );
    describe_counter!(
        "rampart_rate_limit_refusals_total",
        "Requests refused by the rate limit (429)"
    );
    describe_counter!(
        "rampart_request_log_dropped_total",
        "Request-log entries dropped (buffer full or write failed)"
    );
    describe_counter!(
        "rampart_request_log_written_total",
        "Request-log entries written"
    );
    describe_gauge!(
        "rampart_request_log_queued",
        "Request-log entries waiting to be written"
    );
    describe_counter!(
        "rampart_sync_runs_total",
        "Sync runs by source type and outcome"
    );
    describe_histogram!(
        "rampart_sync_run_duration_seconds",
        Unit::Seconds,
        "Sync run duration by source type and outcome"
    );
    describe_counter!(
        "rampart_sync_records_total",
        "Records written by sync runs, by source type"
    );
    describe_gauge!("rampart_kb_records", "Knowledge-base records by source");
    describe_histogram!(
        "rampart_match_index_build_seconds",
        Unit::Seconds,
        "Match index build time"
    );
    describe_gauge!(
        "rampart_match_index_entries",
        "Match index size by kind of entry"
    );
    describe_gauge!(
        "rampart_match_index_kb_version",
        "Knowledge-base version of the match index in use"
    );
    describe_gauge!(
        "rampart_process_resident_memory_bytes",
        Unit::Bytes,
        "Resident memory of the server process (the match index is most of it)"
    );
    describe_gauge!(
        "rampart_analysis_queue_depth",
        "SBOM analyses waiting or running, by status"
    );
    describe_histogram!(
        "rampart_analysis_duration_seconds",
        Unit::Seconds,
        "SBOM analysis duration by outcome"
    );
    describe_counter!(
        "rampart_webhook_deliveries_total",
        "Webhook delivery attempts by outcome"
    );
    describe_gauge!(
        "rampart_db_pool_connections",
        "Database pool connections by state (in_use, idle, max)"
    );
}

/// Sets the figures read at scrape time and renders everything.
pub async fn render(state: &AppState) -> String {
    let handle = handle();
    let (in_use, idle, max) = state.store.pool_usage();
    for (label, value) in [("in_use", in_use), ("idle", idle), ("max", max)] {
        metrics::gauge!("rampart_db_pool_connections", "state" => label).set(f64::from(value));
    }
    metrics::gauge!("rampart_request_log_queued").set(state.request_log.queued() as f64);
    // Both from the log's own counts, so they are exported at 0 too (a counter only appears
    // once incremented): "no drops" is read, not inferred from a missing line.
    metrics::counter!("rampart_request_log_written_total").absolute(state.request_log.written());
    metrics::counter!("rampart_request_log_dropped_total").absolute(state.request_log.dropped());
    match state.store.metrics_counts().await {
        Ok((records, analyses)) => {
            for (source, count) in records {
                metrics::gauge!("rampart_kb_records", "source" => source).set(count as f64);
            }
            for status in ["queued", "running"] {
                let count = analyses
                    .iter()
                    .find(|(s, _)| s == status)
                    .map_or(0, |(_, c)| *c);
                metrics::gauge!("rampart_analysis_queue_depth", "status" => status)
                    .set(count as f64);
            }
        }
        Err(error) => tracing::warn!(%error, "metrics: cannot read database figures"),
    }
    let index = state.kb_index.load();
    let stats = index.stats();
    for (kind, value) in [
        ("packages", stats.packages),
        ("affected_entries", stats.affected_entries),
        ("ranges", stats.ranges),
        ("cpe_criteria", stats.cpe_criteria),
        ("cpe_configurations", stats.cpe_configurations),
    ] {
        metrics::gauge!("rampart_match_index_entries", "kind" => kind).set(value as f64);
    }
    metrics::gauge!("rampart_match_index_kb_version").set(index.kb_version() as f64);
    if let Some(bytes) = resident_memory_bytes() {
        metrics::gauge!("rampart_process_resident_memory_bytes").set(bytes as f64);
    }
    handle.run_upkeep();
    handle.render()
}

/// `VmRSS` of `/proc/self/status` (Linux); `None` elsewhere.
fn resident_memory_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn exposition(body: String) -> Response {
    let mut response = body.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    response
}

/// `/metrics` on the separate metrics listener: no credentials.
pub async fn unauthenticated(State(state): State<AppState>) -> Response {
    exposition(render(&state).await)
}

/// Prometheus metrics of this replica in the text exposition format. On the main listener
/// for operators only (an owner or admin of the team made at bootstrap); a scraper without
/// credentials uses the `--metrics-listen` address.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    security(("bearer" = ["teams:manage"])),
    responses(
        (status = 200, description = "Text exposition format (version 0.0.4)", content_type = "text/plain", body = String),
        (status = 401, description = "Missing or invalid credentials", body = crate::error::ErrorBody),
        (status = 403, description = "Not an operator", body = crate::error::ErrorBody),
    ))]
pub async fn operator(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Response, ApiError> {
    principal.require(Scope::TeamsManage)?;
    if !state.store.is_operator_team(principal.team_id).await? {
        return Err(ServiceError::new(
            ErrorCode::Forbidden,
            "server metrics are for the operators' team (or use the --metrics-listen address)",
        )
        .into());
    }
    Ok(exposition(render(&state).await))
}
