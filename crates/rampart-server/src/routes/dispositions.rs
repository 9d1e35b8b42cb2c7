//! Triage decisions (dispositions) and re-analysis on demand. The rules are
//! [`rampart_engine::services::dispositions`]'s and [`rampart_engine::services::analyses`]'s.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use rampart_core::Scope;
use rampart_engine::services::analyses;
use rampart_engine::services::dispositions::{
    self, DecisionRequest, DecisionTarget, RecordOutcome,
};
use rampart_store::AnalysisSubject;
use serde::Serialize;

use crate::auth::{Principal, RequestMeta};
use crate::bodies::{AnalysisBody, DispositionBody};
use crate::error::{ApiError, ApiJson, ErrorBody};
use crate::state::AppState;

/// What recording a decision did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DecisionOutcomeBody {
    /// The decisions recorded: one per vulnerability and component (and component version,
    /// for a release's decision).
    pub decisions: Vec<DispositionBody>,
    /// Findings that now have one of them as their current decision.
    pub findings: Vec<i64>,
}

impl From<RecordOutcome> for DecisionOutcomeBody {
    fn from(outcome: RecordOutcome) -> Self {
        DecisionOutcomeBody {
            decisions: outcome.decisions.into_iter().map(Into::into).collect(),
            findings: outcome.reached,
        }
    }
}

/// Triages findings of a release: one decision applied to the findings named (or every
/// open finding of a vulnerability) in one transaction. Scope `release` (default) reaches
/// this release's component version, `product` every release, `range` the component
/// versions in a range; releases uploaded later inherit it.
#[utoipa::path(post, path = "/api/v1/releases/{id}/dispositions", tag = "triage",
    security(("bearer" = ["dispositions:write"])),
    params(("id" = i64, Path, description = "Release id")),
    request_body = DecisionRequest,
    responses(
        (status = 201, description = "Recorded", body = DecisionOutcomeBody),
        (status = 404, description = "No such release in this team", body = ErrorBody),
        (status = 422, description = "A field is invalid or missing (the message names it)", body = ErrorBody),
    ))]
pub async fn decide_release(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    Path(release_id): Path<i64>,
    body: Result<ApiJson<DecisionRequest>, ApiError>,
) -> Result<(StatusCode, Json<DecisionOutcomeBody>), ApiError> {
    principal.require(Scope::DispositionsWrite)?;
    let ApiJson(body) = body?;
    let outcome = dispositions::decide(
        &state,
        &principal,
        &meta,
        DecisionTarget::Release(release_id),
        body,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(outcome.into())))
}

/// Triages findings across a product (bulk triage: e.g. one CVE in every release), in one
/// transaction. Scope `product` (default) or `range`.
#[utoipa::path(post, path = "/api/v1/products/{id}/dispositions", tag = "triage",
    security(("bearer" = ["dispositions:write"])),
    params(("id" = i64, Path, description = "Product id")),
    request_body = DecisionRequest,
    responses(
        (status = 201, description = "Recorded", body = DecisionOutcomeBody),
        (status = 404, description = "No such product in this team", body = ErrorBody),
        (status = 422, description = "A field is invalid or missing (the message names it)", body = ErrorBody),
    ))]
pub async fn decide_product(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    Path(product_id): Path<i64>,
    body: Result<ApiJson<DecisionRequest>, ApiError>,
) -> Result<(StatusCode, Json<DecisionOutcomeBody>), ApiError> {
    principal.require(Scope::DispositionsWrite)?;
    let ApiJson(body) = body?;
    let outcome = dispositions::decide(
        &state,
        &principal,
        &meta,
        DecisionTarget::Product(product_id),
        body,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(outcome.into())))
}

/// A finding's decision history.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DispositionHistoryBody {
    pub finding_id: i64,
    /// The current decision (null: untriaged).
    pub current_id: Option<i64>,
    /// Every decision that reaches the finding, newest first: who, when, what.
    pub history: Vec<DispositionBody>,
}

/// The decisions of a finding, newest first (append-only history).
#[utoipa::path(get, path = "/api/v1/findings/{id}/dispositions", tag = "triage",
    security(("bearer" = ["dispositions:read"])),
    params(("id" = i64, Path, description = "Finding id")),
    responses(
        (status = 200, description = "The history", body = DispositionHistoryBody),
        (status = 404, description = "No such finding in this team", body = ErrorBody),
    ))]
pub async fn finding_history(
    State(state): State<AppState>,
    principal: Principal,
    Path(finding_id): Path<i64>,
) -> Result<Json<DispositionHistoryBody>, ApiError> {
    let (finding, history) = dispositions::history(&state, &principal, finding_id).await?;
    Ok(Json(DispositionHistoryBody {
        finding_id,
        current_id: finding.disposition_id,
        history: history.into_iter().map(Into::into).collect(),
    }))
}

/// Re-analyses every SBOM of a release now (`cve:trigger`), against the knowledge base as
/// it is; answers the queued analyses to poll.
#[utoipa::path(post, path = "/api/v1/releases/{id}/analyses", tag = "sboms",
    security(("bearer" = ["cve:trigger"])),
    params(("id" = i64, Path, description = "Release id")),
    responses(
        (status = 202, description = "Queued (an SBOM with an analysis already queued keeps it)", body = Vec<AnalysisBody>),
        (status = 404, description = "No such release in this team", body = ErrorBody),
    ))]
pub async fn trigger_release(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    Path(release_id): Path<i64>,
) -> Result<(StatusCode, Json<Vec<AnalysisBody>>), ApiError> {
    let queued = analyses::trigger(
        &state,
        &principal,
        &meta,
        AnalysisSubject::Release(release_id),
    )
    .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(queued.into_iter().map(Into::into).collect()),
    ))
}

/// Re-analyses one SBOM now (`cve:trigger`); answers the queued analysis to poll.
#[utoipa::path(post, path = "/api/v1/sboms/{id}/analyses", tag = "sboms",
    security(("bearer" = ["cve:trigger"])),
    params(("id" = i64, Path, description = "SBOM id")),
    responses(
        (status = 202, description = "Queued (or the analysis already queued)", body = AnalysisBody),
        (status = 404, description = "No such SBOM in this team", body = ErrorBody),
    ))]
pub async fn trigger_sbom(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    Path(sbom_id): Path<i64>,
) -> Result<(StatusCode, Json<AnalysisBody>), ApiError> {
    let mut queued =
        analyses::trigger(&state, &principal, &meta, AnalysisSubject::Sbom(sbom_id)).await?;
    let analysis = queued
        .pop()
        .ok_or_else(|| ApiError::from(rampart_engine::error::ServiceError::not_found("sbom")))?;
    Ok((StatusCode::ACCEPTED, Json(analysis.into())))
}
