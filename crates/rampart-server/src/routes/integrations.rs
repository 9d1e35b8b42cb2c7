//! AppSec data-source integrations (`/api/v1/integrations`): CRUD, test connection and
//! repository discovery for GitHub and GitLab, SARIF uploads and their imports. The rules are
//! `rampart_engine::services::{integrations, sarif_imports}`'s; seed 001's paths are adapters
//! over the same services (`seed_integrations`).

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use chrono::{DateTime, Utc};
use rampart_core::Scope;
use rampart_engine::services::integrations::{
    self, ConnectionCheck, CreateIntegration, UpdateIntegration,
};
use std::collections::BTreeMap;

use rampart_engine::services::sarif_imports::{self, too_large, ImportView, UploadContext};
use rampart_engine::vcs::DiscoveredRepository;
use rampart_formats::sarif::SarifWarning;
use rampart_store::SarifImportRecord;
use serde::{Deserialize, Serialize};

use super::{PageQuery, Paginated};
use crate::appsec_bodies::{IntegrationBody, IntegrationListQuery};
use crate::auth::{Principal, RequestMeta};
use crate::error::{ApiError, ApiJson, ApiQuery, ErrorBody};
use crate::openapi::Binary;
use crate::state::AppState;
use crate::upload::read_limited;

/// Creates an integration.
#[utoipa::path(post, path = "/api/v1/integrations", tag = "integrations",
    security(("bearer" = ["integrations:write"])),
    request_body = CreateIntegration,
    responses(
        (status = 201, description = "Created", body = IntegrationBody),
        (status = 409, description = "The team already has an integration with this name", body = ErrorBody),
        (status = 422, description = "A field is invalid (named in the message)", body = ErrorBody),
    ))]
pub async fn create_integration(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    body: Result<ApiJson<CreateIntegration>, ApiError>,
) -> Result<(StatusCode, Json<IntegrationBody>), ApiError> {
    principal.require(Scope::IntegrationsWrite)?;
    let ApiJson(body) = body?;
    let created = integrations::create(&state, &principal, &meta, body).await?;
    Ok((StatusCode::CREATED, Json(created.into())))
}

/// Lists the team's integrations by name, optionally of one `type_category` or `type`.
#[utoipa::path(get, path = "/api/v1/integrations", tag = "integrations",
    security(("bearer" = ["integrations:read"])),
    params(IntegrationListQuery),
    responses(
        (status = 200, description = "One page of integrations", body = Paginated<IntegrationBody>),
        (status = 400, description = "Bad query parameter", body = ErrorBody),
    ))]
pub async fn list_integrations(
    State(state): State<AppState>,
    principal: Principal,
    query: Result<ApiQuery<IntegrationListQuery>, ApiError>,
) -> Result<Json<Paginated<IntegrationBody>>, ApiError> {
    principal.require(Scope::IntegrationsRead)?;
    let ApiQuery(query) = query?;
    let request = PageQuery {
        page: query.page,
        per_page: query.per_page,
    }
    .to_request()?;
    let types = integrations::type_filter(
        query.type_category.as_deref(),
        query.integration_type.as_deref(),
    )?;
    let page = integrations::list(&state, &principal, types, request).await?;
    Ok(Json(Paginated::new(page, request, IntegrationBody::from)))
}

/// One integration.
#[utoipa::path(get, path = "/api/v1/integrations/{id}", tag = "integrations",
    security(("bearer" = ["integrations:read"])),
    params(("id" = i64, Path, description = "Integration id")),
    responses(
        (status = 200, description = "The integration", body = IntegrationBody),
        (status = 404, description = "No such integration in this team", body = ErrorBody),
    ))]
pub async fn get_integration(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Json<IntegrationBody>, ApiError> {
    Ok(Json(
        integrations::get(&state, &principal, id).await?.into(),
    ))
}

/// Updates the repository selection, selection type, external project mappings, name, base
/// URL or credentials.
#[utoipa::path(patch, path = "/api/v1/integrations/{id}", tag = "integrations",
    security(("bearer" = ["integrations:write"])),
    params(("id" = i64, Path, description = "Integration id")),
    request_body = UpdateIntegration,
    responses(
        (status = 200, description = "The updated integration", body = IntegrationBody),
        (status = 404, description = "No such integration in this team", body = ErrorBody),
        (status = 409, description = "Another integration has this name", body = ErrorBody),
        (status = 422, description = "A field is invalid", body = ErrorBody),
    ))]
pub async fn update_integration(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    Path(id): Path<i64>,
    body: Result<ApiJson<UpdateIntegration>, ApiError>,
) -> Result<Json<IntegrationBody>, ApiError> {
    principal.require(Scope::IntegrationsWrite)?;
    let ApiJson(body) = body?;
    let updated = integrations::update(&state, &principal, &meta, id, body).await?;
    Ok(Json(updated.into()))
}

/// Deletes an integration and its repository mappings; the findings it reported stay,
/// marked orphaned.
#[utoipa::path(delete, path = "/api/v1/integrations/{id}", tag = "integrations",
    security(("bearer" = ["integrations:write"])),
    params(("id" = i64, Path, description = "Integration id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such integration in this team", body = ErrorBody),
    ))]
pub async fn delete_integration(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    integrations::delete(&state, &principal, &meta, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Tests a GitHub or GitLab integration's credentials (`GET /user` on the service, through
/// the outbound guard); the outcome becomes the integration's health.
#[utoipa::path(post, path = "/api/v1/integrations/{id}/test-connection", tag = "integrations",
    security(("bearer" = ["integrations:write"])),
    params(("id" = i64, Path, description = "Integration id")),
    responses(
        (status = 200, description = "The outcome (`ok` false with the error when the service refused)", body = ConnectionCheck),
        (status = 403, description = "A test key (`test_mode_forbidden`)", body = ErrorBody),
        (status = 404, description = "No such integration in this team", body = ErrorBody),
        (status = 422, description = "Not a GitHub or GitLab integration, or no token", body = ErrorBody),
    ))]
pub async fn test_connection(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Json<ConnectionCheck>, ApiError> {
    Ok(Json(
        integrations::test_connection(&state, &principal, &meta, id).await?,
    ))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RepositoryList {
    pub repositories: Vec<DiscoveredRepository>,
    pub total: usize,
}

/// Discovers the repositories a GitHub (`GET /user/repos`) or GitLab (`GET
/// /api/v4/projects`) integration's token can see, every page.
#[utoipa::path(get, path = "/api/v1/integrations/{id}/repositories", tag = "integrations",
    security(("bearer" = ["integrations:read"])),
    params(("id" = i64, Path, description = "Integration id")),
    responses(
        (status = 200, description = "The repositories", body = RepositoryList),
        (status = 403, description = "A test key (`test_mode_forbidden`)", body = ErrorBody),
        (status = 404, description = "No such integration in this team", body = ErrorBody),
        (status = 422, description = "Not GitHub/GitLab, no token, or the service refused (named)", body = ErrorBody),
    ))]
pub async fn discover_repositories(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Json<RepositoryList>, ApiError> {
    let repositories = integrations::discover_repositories(&state, &principal, id).await?;
    Ok(Json(RepositoryList {
        total: repositories.len(),
        repositories,
    }))
}

/// Where the uploaded code comes from; wins over the log's `versionControlProvenance`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SarifUploadQuery {
    /// The repository (`owner/name` or a URL).
    pub repository: Option<String>,
    /// The branch or `refs/heads/<branch>`.
    #[serde(rename = "ref")]
    #[param(rename = "ref")]
    pub git_ref: Option<String>,
    pub commit_sha: Option<String>,
}

/// One SARIF upload and what it changed.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SarifImportBody {
    pub id: i64,
    pub integration_id: i64,
    pub repository: String,
    pub branch: String,
    pub commit_sha: Option<String>,
    /// The tools (runs' drivers) of the log.
    pub tools: Vec<String>,
    /// `json`, `gzip`, `gzip+base64` or `base64`.
    pub encoding: String,
    pub size_bytes: i64,
    pub sha256: String,
    /// Processing is synchronous: always `complete`.
    pub status: String,
    /// Result locations read (one finding each).
    pub results: i64,
    pub new: i64,
    pub unchanged: i64,
    /// Open findings of the scope absent from this upload, now fixed.
    pub closed: i64,
    /// Fixed or suppressed findings back in this upload.
    pub reopened: i64,
    /// Results stored suppressed (SARIF `suppressions`).
    pub suppressed: i64,
    /// Results that repeat another result of this upload.
    pub duplicates: i64,
    /// Results that are not findings (`kind` pass, notApplicable, …).
    pub skipped: i64,
    /// Tolerated quirks and skipped results, with their JSON pointers.
    #[schema(value_type = Vec<Object>)]
    pub warnings: Vec<SarifWarning>,
    pub uploaded_by: String,
    pub created_at: DateTime<Utc>,
    /// Findings this import opened (new, or reopened), by severity: what CI gates on (`rampart
    /// sarif upload --fail-on`). In the upload's answer and `GET /api/v1/sarif-imports/{id}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opened_by_severity: Option<BTreeMap<String, i64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_mode: Option<bool>,
}

impl From<ImportView> for SarifImportBody {
    fn from(view: ImportView) -> Self {
        SarifImportBody {
            opened_by_severity: Some(view.opened_by_severity),
            ..view.record.into()
        }
    }
}

impl From<SarifImportRecord> for SarifImportBody {
    fn from(record: SarifImportRecord) -> Self {
        SarifImportBody {
            id: record.id,
            integration_id: record.integration_id,
            repository: record.repository,
            branch: record.branch,
            commit_sha: record.commit_sha,
            tools: serde_json::from_str(&record.tools).unwrap_or_default(),
            encoding: record.encoding,
            size_bytes: record.size_bytes,
            sha256: record.sha256,
            status: "complete".to_string(),
            results: record.results_count,
            new: record.new_count,
            unchanged: record.unchanged_count,
            closed: record.closed_count,
            reopened: record.reopened_count,
            suppressed: record.suppressed_count,
            duplicates: record.duplicate_count,
            skipped: record.skipped_count,
            warnings: serde_json::from_str(&record.warnings).unwrap_or_default(),
            uploaded_by: record.uploaded_by,
            created_at: record.created_at,
            opened_by_severity: None,
            test_mode: record.is_test.then_some(true),
        }
    }
}

/// Uploads SAST findings in SARIF 2.1.0 (seed 001's collector upload): the body is the log as
/// JSON, gzip, or gzip then base64 (GitHub code scanning's form). Reimporting for the same
/// repository, branch and tool closes the findings that are gone and reopens those back.
#[utoipa::path(post, path = "/api/v1/integrations/{id}/sarif", tag = "integrations",
    security(("bearer" = ["findings:write"])),
    params(("id" = i64, Path, description = "Integration id"), SarifUploadQuery),
    request_body(
        description = "The SARIF log: JSON (any content type), or as bytes gzip or base64 of gzip.",
        content(
            (Object = "application/sarif+json"),
            (inline(Binary) = "application/octet-stream"),
        )),
    responses(
        (status = 201, description = "Imported", body = SarifImportBody),
        (status = 400, description = "Not a SARIF log (`not_sarif`)", body = ErrorBody),
        (status = 404, description = "No such integration in this team", body = ErrorBody),
        (status = 413, description = "Larger than the SARIF limit (sent or decompressed)", body = ErrorBody),
        (status = 422, description = "An unreadable log (`invalid_sarif`, naming the JSON pointer); nothing stored", body = ErrorBody),
    ))]
pub async fn upload_sarif(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    Path(id): Path<i64>,
    query: Result<ApiQuery<SarifUploadQuery>, ApiError>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<SarifImportBody>), ApiError> {
    principal.require(Scope::FindingsWrite)?;
    let ApiQuery(query) = query?;
    let context = UploadContext {
        repository: query.repository,
        git_ref: query.git_ref,
        commit_sha: query.commit_sha,
    };
    let body = read_limited(&headers, body, state.config.max_sarif_bytes, too_large);
    let record = sarif_imports::upload(&state, &principal, &meta, id, body, context).await?;
    Ok((StatusCode::CREATED, Json(record.into())))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ImportListQuery {
    /// Only this integration's imports.
    pub integration_id: Option<i64>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

/// The team's SARIF imports, newest first: the history of every reimport.
#[utoipa::path(get, path = "/api/v1/sarif-imports", tag = "integrations",
    security(("bearer" = ["findings:read"])),
    params(ImportListQuery),
    responses(
        (status = 200, description = "One page of imports", body = Paginated<SarifImportBody>),
        (status = 400, description = "Bad query parameter", body = ErrorBody),
    ))]
pub async fn list_imports(
    State(state): State<AppState>,
    principal: Principal,
    query: Result<ApiQuery<ImportListQuery>, ApiError>,
) -> Result<Json<Paginated<SarifImportBody>>, ApiError> {
    principal.require(Scope::FindingsRead)?;
    let ApiQuery(query) = query?;
    let request = PageQuery {
        page: query.page,
        per_page: query.per_page,
    }
    .to_request()?;
    let page = sarif_imports::list(&state, &principal, query.integration_id, request).await?;
    Ok(Json(Paginated::new(page, request, SarifImportBody::from)))
}

/// One SARIF import.
#[utoipa::path(get, path = "/api/v1/sarif-imports/{id}", tag = "integrations",
    security(("bearer" = ["findings:read"])),
    params(("id" = i64, Path, description = "Import id")),
    responses(
        (status = 200, description = "The import", body = SarifImportBody),
        (status = 404, description = "No such import in this team", body = ErrorBody),
    ))]
pub async fn get_import(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Json<SarifImportBody>, ApiError> {
    Ok(Json(
        sarif_imports::get(&state, &principal, id).await?.into(),
    ))
}
