//! VEX documents: generate from the current triage decisions, review, and take through the
//! workflow `draft` → `submitted` → `approved` | `rejected` → `published`. The rules
//! (versions, four eyes, immutability) are [`rampart_engine::services::vex_documents`]'s.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Json;
use chrono::{DateTime, Utc};
use rampart_core::vex_workflow::VexAction;
use rampart_core::Scope;
use rampart_engine::services::vex_documents::{
    self, GenerateVex, ListFilter, RejectVex, UpdateVex, VexSettings, VexTarget,
};
use rampart_store::{VexDocumentEvent, VexDocumentRecord};
use serde::{Deserialize, Serialize};

use super::{PageQuery, Paginated};
use crate::auth::{Principal, RequestMeta};
use crate::document_download::document_response;
use crate::error::{ApiError, ApiJson, ApiQuery, ErrorBody};
use crate::state::AppState;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VexDocumentBody {
    pub id: i64,
    pub product_id: i64,
    /// `null` for a document about every release of the product.
    pub release_id: Option<i64>,
    /// `openvex`, `cyclonedx-json`, `cyclonedx-xml` or `csaf`.
    pub format: String,
    /// CycloneDX with the release's SBOM in the same document.
    pub include_bom: bool,
    /// The SBOM combined with the VEX (`include_bom`).
    pub sbom_id: Option<i64>,
    /// CSAF `tracking.id` / OpenVEX `@id` suffix: the same for every version of the document.
    pub tracking_id: String,
    /// CycloneDX `serialNumber`: the same for every version of the document.
    pub serial_number: String,
    /// 1 + the number of versions published before it.
    pub version: i64,
    /// `draft`, `submitted`, `approved`, `rejected`, `published` or `superseded`.
    pub status: String,
    pub title: String,
    /// This version's entry in the revision history.
    pub summary: String,
    pub statement_count: i64,
    pub content_type: String,
    pub size_bytes: i64,
    /// Hex SHA-256 of the document's bytes (its `ETag`).
    pub sha256: String,
    pub initial_release_date: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub submitted_at: Option<DateTime<Utc>>,
    pub submitted_by: Option<String>,
    pub approved_at: Option<DateTime<Utc>>,
    pub approved_by: Option<String>,
    pub rejected_at: Option<DateTime<Utc>>,
    pub rejected_by: Option<String>,
    pub rejection_reason: Option<String>,
    pub published_at: Option<DateTime<Utc>>,
    pub published_by: Option<String>,
    pub updated_at: DateTime<Utc>,
    /// `true` when this is test data (created with an `rk_test_` key); absent for live data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_mode: Option<bool>,
}

impl From<VexDocumentRecord> for VexDocumentBody {
    fn from(r: VexDocumentRecord) -> Self {
        VexDocumentBody {
            id: r.id,
            product_id: r.product_id,
            release_id: r.release_id,
            format: r.format,
            include_bom: r.include_bom,
            sbom_id: r.sbom_id,
            tracking_id: r.tracking_id,
            serial_number: r.serial_number,
            version: r.version,
            status: r.status,
            title: r.title,
            summary: r.summary,
            statement_count: r.statement_count,
            content_type: r.content_type,
            size_bytes: r.size_bytes,
            sha256: r.sha256,
            initial_release_date: r.initial_release_date,
            created_at: r.created_at,
            created_by: r.created_by,
            submitted_at: r.submitted_at,
            submitted_by: r.submitted_by,
            approved_at: r.approved_at,
            approved_by: r.approved_by,
            rejected_at: r.rejected_at,
            rejected_by: r.rejected_by,
            rejection_reason: r.rejection_reason,
            published_at: r.published_at,
            published_by: r.published_by,
            updated_at: r.updated_at,
            test_mode: r.is_test.then_some(true),
        }
    }
}

/// One workflow event (`vex.generated`, `vex.submitted`, `vex.approved`, `vex.rejected`,
/// `vex.published`, `vex.superseded`, `vex.updated`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VexEventBody {
    pub id: i64,
    pub document_id: i64,
    pub kind: String,
    pub actor: String,
    #[schema(value_type = Option<Object>)]
    pub details: Option<serde_json::Value>,
    pub created_at: DateTime<Utc>,
}

impl From<VexDocumentEvent> for VexEventBody {
    fn from(e: VexDocumentEvent) -> Self {
        VexEventBody {
            id: e.id,
            document_id: e.document_id,
            kind: e.kind,
            actor: e.actor,
            details: e.details.and_then(|d| serde_json::from_str(&d).ok()),
            created_at: e.created_at,
        }
    }
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VexListQuery {
    pub product_id: Option<i64>,
    pub release_id: Option<i64>,
    /// `openvex`, `cyclonedx-json`, `cyclonedx-xml` or `csaf`.
    #[param(pattern = "^(openvex|cyclonedx-json|cyclonedx-xml|csaf)$")]
    pub format: Option<String>,
    /// `draft`, `submitted`, `approved`, `rejected`, `published` or `superseded`.
    #[param(pattern = "^(draft|submitted|approved|rejected|published|superseded)$")]
    pub status: Option<String>,
    /// Published (or, before publication, created) at or after this time (RFC 3339).
    pub since: Option<DateTime<Utc>>,
    /// Published (or created) before this time (RFC 3339).
    pub until: Option<DateTime<Utc>>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

/// Generates a draft VEX document for a release from its open findings and their current
/// decisions (a finding without a decision is `in_triage`). A new draft supersedes the
/// unpublished documents of the same release, format and BOM option; its version is one
/// more than the versions published.
#[utoipa::path(post, path = "/api/v1/releases/{id}/vex-documents", tag = "vex",
    security(("bearer" = ["vex:write"])),
    params(("id" = i64, Path, description = "Release id")),
    request_body = GenerateVex,
    responses(
        (status = 201, description = "The draft", body = VexDocumentBody),
        (status = 404, description = "No such release in this team", body = ErrorBody),
        (status = 422, description = "A field is invalid, or the format cannot carry an empty document (OpenVEX and CSAF need a statement)", body = ErrorBody),
    ))]
pub async fn generate_for_release(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    Path(id): Path<i64>,
    body: Result<ApiJson<GenerateVex>, ApiError>,
) -> Result<(StatusCode, Json<VexDocumentBody>), ApiError> {
    principal.require(Scope::VexWrite)?;
    let ApiJson(body) = body?;
    let record =
        vex_documents::generate(&state, &principal, &meta, VexTarget::Release(id), body).await?;
    Ok((StatusCode::CREATED, Json(record.into())))
}

/// Generates a draft VEX document about every release of a product.
#[utoipa::path(post, path = "/api/v1/products/{id}/vex-documents", tag = "vex",
    security(("bearer" = ["vex:write"])),
    params(("id" = i64, Path, description = "Product id")),
    request_body = GenerateVex,
    responses(
        (status = 201, description = "The draft", body = VexDocumentBody),
        (status = 404, description = "No such product in this team", body = ErrorBody),
        (status = 422, description = "A field is invalid, or the format cannot carry an empty document", body = ErrorBody),
    ))]
pub async fn generate_for_product(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    Path(id): Path<i64>,
    body: Result<ApiJson<GenerateVex>, ApiError>,
) -> Result<(StatusCode, Json<VexDocumentBody>), ApiError> {
    principal.require(Scope::VexWrite)?;
    let ApiJson(body) = body?;
    let record =
        vex_documents::generate(&state, &principal, &meta, VexTarget::Product(id), body).await?;
    Ok((StatusCode::CREATED, Json(record.into())))
}

/// Lists the team's VEX documents, newest first.
#[utoipa::path(get, path = "/api/v1/vex-documents", tag = "vex",
    security(("bearer" = ["vex:read"])),
    params(VexListQuery),
    responses(
        (status = 200, description = "One page of documents", body = Paginated<VexDocumentBody>),
        (status = 422, description = "Unknown format or status", body = ErrorBody),
    ))]
pub async fn list_documents(
    State(state): State<AppState>,
    principal: Principal,
    query: Result<ApiQuery<VexListQuery>, ApiError>,
) -> Result<Json<Paginated<VexDocumentBody>>, ApiError> {
    principal.require(Scope::VexRead)?;
    let ApiQuery(query) = query?;
    let request = PageQuery {
        page: query.page,
        per_page: query.per_page,
    }
    .to_request()?;
    let filter = ListFilter {
        product_id: query.product_id,
        release_id: query.release_id,
        format: query.format,
        status: query.status,
        since: query.since,
        until: query.until,
    };
    let page = vex_documents::list(&state, &principal, filter, request).await?;
    Ok(Json(Paginated::new(page, request, VexDocumentBody::from)))
}

/// One VEX document's metadata.
#[utoipa::path(get, path = "/api/v1/vex-documents/{id}", tag = "vex",
    security(("bearer" = ["vex:read"])),
    params(("id" = i64, Path, description = "Document id")),
    responses(
        (status = 200, description = "The document", body = VexDocumentBody),
        (status = 404, description = "No such document in this team", body = ErrorBody),
    ))]
pub async fn get_document(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Json<VexDocumentBody>, ApiError> {
    Ok(Json(
        vex_documents::get(&state, &principal, id).await?.into(),
    ))
}

/// Changes a draft's title (it is rendered again). Any other status is 409: a published
/// document is immutable (generate a new version instead).
#[utoipa::path(put, path = "/api/v1/vex-documents/{id}", tag = "vex",
    security(("bearer" = ["vex:write"])),
    params(("id" = i64, Path, description = "Document id")),
    request_body = UpdateVex,
    responses(
        (status = 200, description = "The draft", body = VexDocumentBody),
        (status = 404, description = "No such document in this team", body = ErrorBody),
        (status = 409, description = "Not a draft (published documents are immutable)", body = ErrorBody),
        (status = 422, description = "A field is invalid", body = ErrorBody),
    ))]
pub async fn update_document(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    Path(id): Path<i64>,
    body: Result<ApiJson<UpdateVex>, ApiError>,
) -> Result<Json<VexDocumentBody>, ApiError> {
    principal.require(Scope::VexWrite)?;
    let ApiJson(body) = body?;
    let record = vex_documents::update(&state, &principal, &meta, id, body).await?;
    Ok(Json(record.into()))
}

/// Deletes a document that is not published (409 for a published one).
#[utoipa::path(delete, path = "/api/v1/vex-documents/{id}", tag = "vex",
    security(("bearer" = ["vex:write"])),
    params(("id" = i64, Path, description = "Document id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such document in this team", body = ErrorBody),
        (status = 409, description = "Published documents are immutable", body = ErrorBody),
    ))]
pub async fn delete_document(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    vex_documents::delete(&state, &principal, &meta, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The document itself, whatever its status (for review), with `ETag` and
/// `Content-Disposition`.
#[utoipa::path(get, path = "/api/v1/vex-documents/{id}/content", tag = "vex",
    security(("bearer" = ["vex:read"])),
    params(("id" = i64, Path, description = "Document id")),
    responses(
        (status = 200, description = "The document's bytes, in its format's media type: OpenVEX and CSAF `application/json`, CycloneDX `application/vnd.cyclonedx+json; version=1.6` or `application/vnd.cyclonedx+xml; version=1.6`",
            content(
                (Object = "application/json"),
                (Object = "application/vnd.cyclonedx+json"),
                (inline(crate::openapi::Binary) = "application/vnd.cyclonedx+xml"),
            )),
        (status = 304, description = "Not modified (`If-None-Match`)"),
        (status = 404, description = "No such document in this team", body = ErrorBody),
    ))]
pub async fn document_content(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (record, bytes) = vex_documents::content(&state, &principal, id).await?;
    Ok(document_response(&headers, &record, bytes))
}

/// A document's workflow events (who generated, submitted, approved, rejected, published
/// it, and when), oldest first.
#[utoipa::path(get, path = "/api/v1/vex-documents/{id}/events", tag = "vex",
    security(("bearer" = ["vex:read"])),
    params(("id" = i64, Path, description = "Document id")),
    responses(
        (status = 200, description = "The events", body = Vec<VexEventBody>),
        (status = 404, description = "No such document in this team", body = ErrorBody),
    ))]
pub async fn document_events(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Json<Vec<VexEventBody>>, ApiError> {
    let events = vex_documents::events(&state, &principal, id).await?;
    Ok(Json(events.into_iter().map(VexEventBody::from).collect()))
}

async fn step(
    state: &AppState,
    meta: &RequestMeta,
    principal: &Principal,
    id: i64,
    action: VexAction,
    reason: Option<&str>,
) -> Result<Json<VexDocumentBody>, ApiError> {
    let record = vex_documents::transition(state, principal, meta, id, action, reason).await?;
    Ok(Json(record.into()))
}

/// Submits a draft for approval.
#[utoipa::path(post, path = "/api/v1/vex-documents/{id}/submit", tag = "vex",
    security(("bearer" = ["vex:write"])),
    params(("id" = i64, Path, description = "Document id")),
    responses(
        (status = 200, description = "Submitted", body = VexDocumentBody),
        (status = 404, description = "No such document in this team", body = ErrorBody),
        (status = 409, description = "Not a draft", body = ErrorBody),
    ))]
pub async fn submit_document(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Json<VexDocumentBody>, ApiError> {
    step(&state, &meta, &principal, id, VexAction::Submit, None).await
}

/// Approves a submitted document. Four eyes: the submitter cannot approve (403) unless the
/// team allows self-approval (`/api/v1/teams/{team_id}/vex-settings`).
#[utoipa::path(post, path = "/api/v1/vex-documents/{id}/approve", tag = "vex",
    security(("bearer" = ["vex:write"])),
    params(("id" = i64, Path, description = "Document id")),
    responses(
        (status = 200, description = "Approved", body = VexDocumentBody),
        (status = 403, description = "The approver submitted it (four-eyes rule)", body = ErrorBody),
        (status = 404, description = "No such document in this team", body = ErrorBody),
        (status = 409, description = "Not submitted", body = ErrorBody),
    ))]
pub async fn approve_document(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Json<VexDocumentBody>, ApiError> {
    step(&state, &meta, &principal, id, VexAction::Approve, None).await
}

/// Rejects a submitted document; `reason` is required.
#[utoipa::path(post, path = "/api/v1/vex-documents/{id}/reject", tag = "vex",
    security(("bearer" = ["vex:write"])),
    params(("id" = i64, Path, description = "Document id")),
    request_body = RejectVex,
    responses(
        (status = 200, description = "Rejected", body = VexDocumentBody),
        (status = 404, description = "No such document in this team", body = ErrorBody),
        (status = 409, description = "Not submitted", body = ErrorBody),
        (status = 422, description = "No reason given", body = ErrorBody),
    ))]
pub async fn reject_document(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    Path(id): Path<i64>,
    body: Result<ApiJson<RejectVex>, ApiError>,
) -> Result<Json<VexDocumentBody>, ApiError> {
    principal.require(Scope::VexWrite)?;
    let ApiJson(body) = body?;
    step(
        &state,
        &meta,
        &principal,
        id,
        VexAction::Reject,
        body.reason.as_deref(),
    )
    .await
}

/// Publishes an approved document: it is rendered as final (CSAF `tracking.status`
/// `final`, the publication date), becomes a disclosure and never changes again.
#[utoipa::path(post, path = "/api/v1/vex-documents/{id}/publish", tag = "vex",
    security(("bearer" = ["vex:write"])),
    params(("id" = i64, Path, description = "Document id")),
    responses(
        (status = 200, description = "Published", body = VexDocumentBody),
        (status = 404, description = "No such document in this team", body = ErrorBody),
        (status = 409, description = "Not approved", body = ErrorBody),
    ))]
pub async fn publish_document(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Json<VexDocumentBody>, ApiError> {
    step(&state, &meta, &principal, id, VexAction::Publish, None).await
}

/// The team's VEX settings.
#[utoipa::path(get, path = "/api/v1/teams/{team_id}/vex-settings", tag = "vex",
    security(("bearer" = ["vex:read"])),
    params(("team_id" = i64, Path, description = "Team id")),
    responses(
        (status = 200, description = "Settings", body = VexSettings),
        (status = 404, description = "Not your team", body = ErrorBody),
    ))]
pub async fn get_vex_settings(
    State(state): State<AppState>,
    principal: Principal,
    Path(team_id): Path<i64>,
) -> Result<Json<VexSettings>, ApiError> {
    Ok(Json(
        vex_documents::settings(&state, &principal, team_id).await?,
    ))
}

/// Changes the team's VEX settings (owners and admins); audited as `team.vex_settings`.
#[utoipa::path(patch, path = "/api/v1/teams/{team_id}/vex-settings", tag = "vex",
    security(("bearer" = ["teams:manage"])),
    params(("team_id" = i64, Path, description = "Team id")),
    request_body = VexSettings,
    responses(
        (status = 200, description = "Settings after the change", body = VexSettings),
        (status = 404, description = "Not your team", body = ErrorBody),
        (status = 422, description = "A field is invalid", body = ErrorBody),
    ))]
pub async fn update_vex_settings(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    Path(team_id): Path<i64>,
    body: Result<ApiJson<VexSettings>, ApiError>,
) -> Result<Json<VexSettings>, ApiError> {
    principal.require(Scope::TeamsManage)?;
    let ApiJson(body) = body?;
    Ok(Json(
        vex_documents::update_settings(&state, &principal, &meta, team_id, body).await?,
    ))
}
