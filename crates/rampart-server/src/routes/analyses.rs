//! Analyses: the background job an SBOM upload (or a knowledge-base change touching the
//! SBOM) queues; it matches the components and records the findings.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::Json;
use chrono::{DateTime, Utc};
use rampart_core::Scope;
use rampart_store::Analysis;
use serde::Serialize;

use crate::auth::Principal;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AnalysisBody {
    pub id: i64,
    pub sbom_id: i64,
    pub release_id: i64,
    /// `queued`, `running`, `completed` or `failed`.
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Times a worker took this job (more than 1 after a worker died mid-run).
    pub attempts: i64,
    pub component_count: i64,
    /// Components whose purl names a package of a known ecosystem (set when completed).
    pub resolved_count: Option<i64>,
    /// Resolved components per OSV ecosystem (set when completed).
    pub ecosystems: Option<BTreeMap<String, i64>>,
    /// Why the analysis failed.
    pub error: Option<String>,
    /// `upload`, or `knowledge_base` when a knowledge-base change queued it.
    pub reason: String,
    /// Open findings of the SBOM after the analysis (set when completed).
    pub findings_count: Option<i64>,
    /// Findings this analysis found first (set when completed).
    pub new_findings_count: Option<i64>,
}

impl From<Analysis> for AnalysisBody {
    fn from(analysis: Analysis) -> Self {
        let ecosystems = analysis
            .summary
            .as_deref()
            .and_then(|summary| serde_json::from_str::<serde_json::Value>(summary).ok())
            .and_then(|summary| serde_json::from_value(summary.get("ecosystems")?.clone()).ok());
        AnalysisBody {
            id: analysis.id,
            sbom_id: analysis.sbom_id,
            release_id: analysis.release_id,
            status: analysis.status.as_str().to_string(),
            created_at: analysis.created_at,
            started_at: analysis.started_at,
            finished_at: analysis.finished_at,
            attempts: analysis.attempts,
            component_count: analysis.component_count,
            resolved_count: analysis.resolved_count,
            ecosystems,
            error: analysis.error,
            reason: analysis.reason,
            findings_count: analysis.findings_count,
            new_findings_count: analysis.new_findings_count,
        }
    }
}

/// Polls until the analysis has finished or the configured wait ran out; returns its latest
/// state either way.
pub async fn wait_for_analysis(
    state: &AppState,
    team_id: i64,
    mut analysis: Analysis,
) -> Result<Analysis, ApiError> {
    let deadline = tokio::time::Instant::now() + state.config.analysis_wait;
    let mut interval = Duration::from_millis(20);
    while !analysis.status.is_finished() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(interval).await;
        interval = (interval * 2).min(Duration::from_millis(250));
        match state.store.analysis(team_id, analysis.id).await? {
            Some(latest) => analysis = latest,
            // Deleted with its SBOM meanwhile: report what we last saw.
            None => break,
        }
    }
    Ok(analysis)
}

/// One analysis job.
#[utoipa::path(get, path = "/api/v1/analyses/{id}", tag = "sboms",
    security(("bearer" = ["sboms:read"])),
    params(("id" = i64, Path, description = "Analysis id")),
    responses(
        (status = 200, description = "The analysis", body = AnalysisBody),
        (status = 404, description = "No such analysis in this team", body = ErrorBody),
    ))]
pub async fn get_analysis(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Json<AnalysisBody>, ApiError> {
    principal.require(Scope::SbomsRead)?;
    let analysis = state
        .store
        .analysis(principal.team_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("analysis"))?;
    // Analyses follow their SBOM's partition: test keys see only test data and vice versa.
    if state
        .store
        .sbom(principal.tenant(), analysis.sbom_id)
        .await?
        .is_none()
    {
        return Err(ApiError::not_found("analysis"));
    }
    Ok(Json(analysis.into()))
}
