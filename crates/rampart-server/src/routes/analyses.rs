//! Analyses: the background job an SBOM upload (or a knowledge-base change touching the
//! SBOM) queues; it matches the components and records the findings. The rules are
//! [`rampart_engine::services::analyses`]'s.

use axum::extract::{Path, State};
use axum::Json;
use rampart_engine::services::analyses;

use crate::auth::Principal;
use crate::bodies::AnalysisBody;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

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
    let analysis = analyses::get_analysis(&state, &principal, id).await?;
    Ok(Json(analysis.into()))
}
