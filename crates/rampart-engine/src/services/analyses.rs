//! Analyses: the background job an SBOM upload (or a knowledge-base change touching the SBOM)
//! queues. Reading one for `/api/v1/analyses/{id}`, and waiting for one to finish for an
//! upload's `?wait=true`.

use std::time::Duration;

use rampart_core::Scope;
use rampart_store::{Analysis, AnalysisSubject};

use crate::actor::{Actor, RequestOrigin};
use crate::error::ServiceError;
use crate::Engine;

/// One analysis of the team (`sboms:read`). Analyses follow their SBOM's partition: test keys
/// see only test data and live keys only live data.
pub async fn get_analysis(
    engine: &Engine,
    actor: &Actor,
    id: i64,
) -> Result<Analysis, ServiceError> {
    actor.require(Scope::SbomsRead)?;
    let analysis = engine
        .store
        .analysis(actor.team_id, id)
        .await?
        .ok_or_else(|| ServiceError::not_found("analysis"))?;
    if engine
        .store
        .sbom(actor.tenant(), analysis.sbom_id)
        .await?
        .is_none()
    {
        return Err(ServiceError::not_found("analysis"));
    }
    Ok(analysis)
}

/// Queues a re-analysis now (`cve:trigger`) of one SBOM or of every SBOM of a release, and
/// wakes the analysis workers; an SBOM with an analysis already queued keeps that one.
/// Audited as `analysis.trigger`.
pub async fn trigger(
    engine: &Engine,
    actor: &Actor,
    origin: &RequestOrigin,
    of: AnalysisSubject,
) -> Result<Vec<Analysis>, ServiceError> {
    actor.require(Scope::CveTrigger)?;
    let (kind, id, what) = match of {
        AnalysisSubject::Sbom(id) => ("sbom", id, "sbom"),
        AnalysisSubject::Release(id) => ("release", id, "release"),
    };
    let event = actor.audit(origin, "analysis.trigger").target(kind, id);
    let analyses = engine
        .store
        .queue_manual_analyses(actor.tenant(), of, &event)
        .await?
        .ok_or_else(|| ServiceError::not_found(what))?;
    engine.analysis_queued.notify_one();
    Ok(analyses)
}

/// Polls until the analysis has finished or the configured wait ran out; returns its latest
/// state either way.
pub async fn wait_for_analysis(
    engine: &Engine,
    team_id: i64,
    mut analysis: Analysis,
) -> Result<Analysis, ServiceError> {
    let deadline = tokio::time::Instant::now() + engine.config.analysis_wait;
    let mut interval = Duration::from_millis(20);
    while !analysis.status.is_finished() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(interval).await;
        interval = (interval * 2).min(Duration::from_millis(100));
        match engine.store.analysis(team_id, analysis.id).await? {
            Some(latest) => analysis = latest,
            // Deleted with its SBOM meanwhile: report what we last saw.
            None => break,
        }
    }
    Ok(analysis)
}
