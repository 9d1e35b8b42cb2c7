//! VEX import: a supplier's or upstream VEX document (OpenVEX, CycloneDX JSON/XML, CSAF)
//! applied to a release's findings. The rules are
//! [`rampart_engine::services::vex_import`]'s.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use chrono::{DateTime, Utc};
use rampart_core::Scope;
use rampart_engine::services::vex_import::{self, too_large, ImportOutcome, StatementResult};
use rampart_store::VexImport;
use serde::{Deserialize, Serialize};

use crate::auth::{Principal, RequestMeta};
use crate::error::{ApiError, ApiQuery, ErrorBody};
use crate::state::AppState;
use crate::upload::read_limited;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// Replace manual decisions too (by default a manual decision wins over an imported one).
    #[serde(default)]
    pub overwrite: bool,
}

/// A recorded VEX import.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VexImportBody {
    pub id: i64,
    pub release_id: i64,
    /// `openvex`, `cyclonedx-json`, `cyclonedx-xml` or `csaf`.
    pub format: String,
    /// The document's own id (OpenVEX `@id`, CSAF `tracking.id`, CycloneDX `serialNumber`).
    pub document_id: String,
    pub document_version: i64,
    /// SHA-256 of the document as uploaded; the decisions' `source_ref` is `sha256:<this>`.
    pub sha256: String,
    pub size_bytes: i64,
    pub overwrite: bool,
    pub statements: i64,
    pub applied: i64,
    pub skipped: i64,
    pub unmatched: i64,
    /// Findings that took an imported decision.
    pub findings_decided: i64,
    /// Findings whose manual decision was kept.
    pub kept_manual: i64,
    pub imported_by: String,
    pub imported_at: DateTime<Utc>,
}

impl From<VexImport> for VexImportBody {
    fn from(import: VexImport) -> Self {
        VexImportBody {
            id: import.id,
            release_id: import.release_id,
            format: import.format,
            document_id: import.document_id,
            document_version: import.document_version,
            sha256: import.sha256,
            size_bytes: import.size_bytes,
            overwrite: import.overwrite,
            statements: import.statements,
            applied: import.applied,
            skipped: import.skipped,
            unmatched: import.unmatched,
            findings_decided: import.findings_decided,
            kept_manual: import.kept_manual,
            imported_by: import.imported_by,
            imported_at: import.imported_at,
        }
    }
}

/// What an import did, statement by statement.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ImportResponse {
    pub import: VexImportBody,
    /// Statements that decided findings, with the findings.
    pub applied: Vec<StatementResult>,
    /// Statements read but not applied, each with its reason.
    pub skipped: Vec<StatementResult>,
    /// Statements whose vulnerability is in the release, but not in a component they name.
    pub unmatched: Vec<StatementResult>,
    /// Findings that took an imported decision.
    pub findings: Vec<i64>,
    /// Findings a manual decision kept (import with `overwrite=true` to replace it).
    pub kept_manual: Vec<i64>,
    /// Parts of the document that could not be read, each with its reason and location.
    pub unreadable: Vec<String>,
    /// What reading the document tolerated.
    pub warnings: Vec<String>,
}

impl From<ImportOutcome> for ImportResponse {
    fn from(outcome: ImportOutcome) -> Self {
        let mut applied = Vec::new();
        let mut skipped = Vec::new();
        let mut unmatched = Vec::new();
        for statement in outcome.statements {
            match statement.outcome {
                "applied" => applied.push(statement),
                "skipped" => skipped.push(statement),
                _ => unmatched.push(statement),
            }
        }
        ImportResponse {
            import: outcome.import.into(),
            applied,
            skipped,
            unmatched,
            findings: outcome.findings,
            kept_manual: outcome.kept_manual,
            unreadable: outcome.unreadable,
            warnings: outcome.warnings,
        }
    }
}

/// Applies a VEX document to the release's findings. The body is the document as is, in any
/// of the formats (recognised from the content). A statement decides a finding when it names
/// the finding's vulnerability (any alias) and its component (purl with version or range,
/// CPE) — never the vulnerability alone. Decisions are recorded with source `vex`, scope
/// `release`; a manual decision wins unless `overwrite=true`. Nothing is stored when the
/// document cannot be read.
#[utoipa::path(post, path = "/api/v1/releases/{id}/vex-imports", tag = "triage",
    security(("bearer" = ["dispositions:write"])),
    params(("id" = i64, Path, description = "Release id"), ImportQuery),
    request_body(content = String, content_type = "application/json",
        description = "The VEX document, verbatim: OpenVEX 0.2.0 JSON, CycloneDX 1.4–1.6 JSON \
            or XML, or CSAF 2.0 JSON."),
    responses(
        (status = 201, description = "Imported", body = ImportResponse),
        (status = 400, description = "Not a VEX document", body = ErrorBody),
        (status = 404, description = "No such release in this team", body = ErrorBody),
        (status = 413, description = "Larger than the configured document limit", body = ErrorBody),
        (status = 422, description = "A VEX document with a problem; the message names where", body = ErrorBody),
    ))]
pub async fn import_vex(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    Path(release_id): Path<i64>,
    query: Result<ApiQuery<ImportQuery>, ApiError>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<ImportResponse>), ApiError> {
    principal.require(Scope::DispositionsWrite)?;
    let ApiQuery(query) = query?;
    let document = read_limited(&headers, body, state.config.max_sbom_bytes, too_large).await?;
    let outcome = vex_import::import_vex(
        &state,
        &principal,
        &meta,
        release_id,
        &document,
        query.overwrite,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(outcome.into())))
}

/// The VEX documents imported into a release, newest first.
#[utoipa::path(get, path = "/api/v1/releases/{id}/vex-imports", tag = "triage",
    security(("bearer" = ["dispositions:read"])),
    params(("id" = i64, Path, description = "Release id")),
    responses(
        (status = 200, description = "The imports", body = Vec<VexImportBody>),
        (status = 404, description = "No such release in this team", body = ErrorBody),
    ))]
pub async fn list_vex_imports(
    State(state): State<AppState>,
    principal: Principal,
    Path(release_id): Path<i64>,
) -> Result<Json<Vec<VexImportBody>>, ApiError> {
    let imports = vex_import::list_imports(&state, &principal, release_id).await?;
    Ok(Json(imports.into_iter().map(Into::into).collect()))
}
