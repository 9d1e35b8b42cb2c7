//! Compliance: seed 002's `GET /v1/compliance/posture` and the canonical
//! `/api/v1/compliance/...` resources (posture, history, reports, attestations, access reviews,
//! settings), thin over `rampart_engine::services::compliance` (and `compliance_reports`).
//! Reading needs `compliance:read`; attesting, reviewing access and changing thresholds need
//! `teams:manage`.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use rampart_core::Scope;
use rampart_engine::error::{ErrorCode as EngineErrorCode, ServiceError};
use rampart_engine::services::compliance::{
    self, AccessReviewBody, AccessReviewRequest, AttestationBody, AttestationRequest, HistoryPoint,
    Posture, MAX_EVIDENCE_BYTES,
};
use rampart_engine::services::compliance_checks::Thresholds;
use rampart_engine::services::compliance_reports::{self, ReportFormat};
use serde::{Deserialize, Serialize};

use crate::auth::{Principal, RequestMeta};
use crate::error::{ApiError, ApiJson, ApiQuery, ErrorBody};
use crate::openapi::Binary;
use crate::state::AppState;
use crate::upload::read_limited;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PostureQuery {
    /// Comma-separated framework ids: `soc2`, `iso27001`, `hipaa`, `gdpr`, `ntia_sbom`,
    /// `eu_cra` (default: all).
    #[param(
        pattern = "^$|^(soc2|iso27001|hipaa|gdpr|ntia_sbom|eu_cra)(,(soc2|iso27001|hipaa|gdpr|ntia_sbom|eu_cra))*$"
    )]
    pub framework: Option<String>,
    /// Only this product's releases (team-wide checks stay team-wide).
    pub product: Option<i64>,
}

async fn posture_of(
    state: &AppState,
    principal: &Principal,
    query: Result<ApiQuery<PostureQuery>, ApiError>,
) -> Result<Json<Posture>, ApiError> {
    principal.require(Scope::ComplianceRead)?;
    let ApiQuery(query) = query?;
    let frameworks = compliance::parse_frameworks(query.framework.as_deref())?;
    Ok(Json(
        compliance::posture(state, principal, &frameworks, query.product).await?,
    ))
}

/// Current compliance posture across SOC 2, ISO 27001, HIPAA and GDPR (plus NTIA SBOM minimum
/// elements and EU CRA Annex I): per framework a score and counts, per control its status and
/// evidence, and the gap analysis with the objects causing each gap.
#[utoipa::path(get, path = "/api/v1/compliance/posture", tag = "compliance",
    security(("bearer" = ["compliance:read"])),
    params(PostureQuery),
    responses(
        (status = 200, description = "The posture (stored as a snapshot when it changed)", body = Posture),
        (status = 400, description = "Unknown framework or parameter (named)", body = ErrorBody),
        (status = 404, description = "No such product in this team", body = ErrorBody),
    ))]
pub async fn get_posture(
    State(state): State<AppState>,
    principal: Principal,
    query: Result<ApiQuery<PostureQuery>, ApiError>,
) -> Result<Json<Posture>, ApiError> {
    posture_of(&state, &principal, query).await
}

/// Seed 002: retrieve current compliance posture across SOC 2, ISO 27001, HIPAA, and GDPR
/// frameworks. Returns control mapping and gap analysis.
#[utoipa::path(get, path = "/v1/compliance/posture", tag = "compliance",
    operation_id = "seed_compliance_posture",
    security(("bearer" = ["compliance:read"])),
    params(PostureQuery),
    responses(
        (status = 200, description = "The posture", body = Posture),
        (status = 400, description = "Unknown framework or parameter (named)", body = ErrorBody),
        (status = 404, description = "No such product in this team", body = ErrorBody),
    ))]
pub async fn seed_posture(
    State(state): State<AppState>,
    principal: Principal,
    query: Result<ApiQuery<PostureQuery>, ApiError>,
) -> Result<Json<Posture>, ApiError> {
    posture_of(&state, &principal, query).await
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    /// Comma-separated framework ids: `soc2`, `iso27001`, `hipaa`, `gdpr`, `ntia_sbom`,
    /// `eu_cra` (default: all).
    #[param(
        pattern = "^$|^(soc2|iso27001|hipaa|gdpr|ntia_sbom|eu_cra)(,(soc2|iso27001|hipaa|gdpr|ntia_sbom|eu_cra))*$"
    )]
    pub framework: Option<String>,
    pub product: Option<i64>,
    /// Snapshots taken at or after this RFC 3339 time.
    pub since: Option<DateTime<Utc>>,
    /// Snapshots taken at or before this RFC 3339 time.
    pub until: Option<DateTime<Utc>>,
    /// At most this many, newest first (1-500, default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HistoryBody {
    pub product_id: Option<i64>,
    pub snapshots: Vec<HistoryPoint>,
}

#[utoipa::path(get, path = "/api/v1/compliance/posture/history", tag = "compliance",
    security(("bearer" = ["compliance:read"])),
    params(HistoryQuery),
    responses(
        (status = 200, description = "Stored snapshots, newest first", body = HistoryBody),
        (status = 400, description = "A bad parameter (named)", body = ErrorBody),
        (status = 404, description = "No such product in this team", body = ErrorBody),
    ))]
pub async fn posture_history(
    State(state): State<AppState>,
    principal: Principal,
    query: Result<ApiQuery<HistoryQuery>, ApiError>,
) -> Result<Json<HistoryBody>, ApiError> {
    principal.require(Scope::ComplianceRead)?;
    let ApiQuery(query) = query?;
    let frameworks = compliance::parse_frameworks(query.framework.as_deref())?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(
            ServiceError::new(EngineErrorCode::BadRequest, "`limit` must be 1 to 500").into(),
        );
    }
    let snapshots = compliance::history(
        &state,
        &principal,
        &frameworks,
        query.product,
        query.since,
        query.until,
        limit,
    )
    .await?;
    Ok(Json(HistoryBody {
        product_id: query.product,
        snapshots,
    }))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    /// One framework id (required): `soc2`, `iso27001`, `hipaa`, `gdpr`, `ntia_sbom`, `eu_cra`.
    #[param(value_type = String, required = true, pattern = "^(soc2|iso27001|hipaa|gdpr|ntia_sbom|eu_cra)$")]
    pub framework: Option<String>,
    /// `json` (default), `html`, `pdf` or `oscal` (OSCAL assessment-results JSON).
    #[param(pattern = "^$|^(json|html|pdf|oscal)$")]
    pub format: Option<String>,
    /// Only this product's releases.
    pub product: Option<i64>,
}

/// Downloads a compliance report of one framework, built from a fresh snapshot: JSON,
/// self-contained HTML (printable, no external resource), PDF or OSCAL assessment results.
/// Each names its generation time, snapshot id and the snapshot's SHA-256; the response's
/// `X-Report-Sha256` is the SHA-256 of the file itself. Downloads are audited.
#[utoipa::path(get, path = "/api/v1/compliance/reports", tag = "compliance",
    security(("bearer" = ["compliance:read"])),
    params(ReportQuery),
    responses(
        (status = 200, description = "The report file: application/pdf, text/html or application/json (json, oscal), as `format` asks",
            content(
                (inline(Binary) = "application/pdf"),
                (String = "text/html"),
                (Object = "application/json"),
            )),
        (status = 400, description = "Missing or unknown framework or format (named)", body = ErrorBody),
        (status = 404, description = "No such product in this team", body = ErrorBody),
    ))]
pub async fn download_report(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    query: Result<ApiQuery<ReportQuery>, ApiError>,
) -> Result<Response, ApiError> {
    principal.require(Scope::ComplianceRead)?;
    let ApiQuery(query) = query?;
    let format = ReportFormat::parse(query.format.as_deref())?;
    let framework = compliance_reports::one_framework(query.framework.as_deref())?;
    let report =
        compliance_reports::download(&state, &principal, &meta, &framework, query.product, format)
            .await?;
    let mut response = report.bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    if let Ok(value) =
        HeaderValue::from_str(&format!("attachment; filename=\"{}\"", report.file_name))
    {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    if let Ok(value) = HeaderValue::from_str(&report.sha256) {
        headers.insert("x-report-sha256", value);
    }
    if let Ok(value) = HeaderValue::from_str(&report.snapshot_id.to_string()) {
        headers.insert("x-snapshot-id", value);
    }
    Ok(response)
}

#[utoipa::path(get, path = "/api/v1/compliance/settings", tag = "compliance",
    security(("bearer" = ["compliance:read"])),
    responses((status = 200, description = "The team's thresholds", body = Thresholds)))]
pub async fn get_compliance_settings(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Thresholds>, ApiError> {
    Ok(Json(compliance::get_settings(&state, &principal).await?))
}

#[utoipa::path(put, path = "/api/v1/compliance/settings", tag = "compliance",
    security(("bearer" = ["teams:manage"])),
    request_body = Thresholds,
    responses(
        (status = 200, description = "The thresholds as stored", body = Thresholds),
        (status = 422, description = "A threshold out of range (named)", body = ErrorBody),
    ))]
pub async fn set_compliance_settings(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    body: Result<ApiJson<Thresholds>, ApiError>,
) -> Result<Json<Thresholds>, ApiError> {
    principal.require(Scope::TeamsManage)?;
    let ApiJson(body) = body?;
    Ok(Json(
        compliance::set_settings(&state, &principal, &meta, body).await?,
    ))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AttestationList {
    pub items: Vec<AttestationBody>,
}

#[utoipa::path(post, path = "/api/v1/compliance/attestations", tag = "compliance",
    security(("bearer" = ["teams:manage"])),
    request_body = AttestationRequest,
    responses(
        (status = 201, description = "The attestation", body = AttestationBody),
        (status = 422, description = "A field is missing or invalid (named)", body = ErrorBody),
    ))]
pub async fn create_attestation(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    body: Result<ApiJson<AttestationRequest>, ApiError>,
) -> Result<(StatusCode, Json<AttestationBody>), ApiError> {
    principal.require(Scope::TeamsManage)?;
    let ApiJson(body) = body?;
    let created = compliance::attest(&state, &principal, &meta, body).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(get, path = "/api/v1/compliance/attestations", tag = "compliance",
    security(("bearer" = ["compliance:read"])),
    responses((status = 200, description = "The team's attestations, newest first", body = AttestationList)))]
pub async fn list_attestations(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<AttestationList>, ApiError> {
    Ok(Json(AttestationList {
        items: compliance::list_attestations(&state, &principal).await?,
    }))
}

#[utoipa::path(get, path = "/api/v1/compliance/attestations/{id}", tag = "compliance",
    security(("bearer" = ["compliance:read"])),
    params(("id" = i64, Path, description = "Attestation id")),
    responses(
        (status = 200, description = "The attestation", body = AttestationBody),
        (status = 404, description = "No such attestation in this team", body = ErrorBody),
    ))]
pub async fn get_attestation(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Json<AttestationBody>, ApiError> {
    Ok(Json(
        compliance::get_attestation(&state, &principal, id).await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/compliance/attestations/{id}", tag = "compliance",
    security(("bearer" = ["teams:manage"])),
    params(("id" = i64, Path, description = "Attestation id")),
    responses(
        (status = 200, description = "Withdrawn (kept, no longer counted)", body = AttestationBody),
        (status = 404, description = "No such attestation in this team (or already withdrawn)", body = ErrorBody),
    ))]
pub async fn withdraw_attestation(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Json<AttestationBody>, ApiError> {
    Ok(Json(
        compliance::withdraw_attestation(&state, &principal, &meta, id).await?,
    ))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EvidenceQuery {
    /// The file name to keep (default `evidence`).
    pub name: Option<String>,
}

fn evidence_too_large(limit: usize) -> ServiceError {
    ServiceError::new(
        EngineErrorCode::PayloadTooLarge,
        format!("the evidence file exceeds {limit} bytes"),
    )
}

/// Attaches an evidence file to an attestation: the body is the file as is.
#[utoipa::path(put, path = "/api/v1/compliance/attestations/{id}/evidence", tag = "compliance",
    security(("bearer" = ["teams:manage"])),
    params(("id" = i64, Path, description = "Attestation id"), EvidenceQuery),
    request_body(content = inline(Binary), content_type = "application/octet-stream",
        description = "The evidence file, verbatim (any content type, at most 10 MiB)."),
    responses(
        (status = 200, description = "The attestation with its evidence", body = AttestationBody),
        (status = 404, description = "No such attestation in this team", body = ErrorBody),
        (status = 413, description = "Larger than 10 MiB", body = ErrorBody),
        (status = 422, description = "Empty file", body = ErrorBody),
    ))]
pub async fn upload_evidence(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    Path(id): Path<i64>,
    query: Result<ApiQuery<EvidenceQuery>, ApiError>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<AttestationBody>, ApiError> {
    principal.require(Scope::TeamsManage)?;
    let ApiQuery(query) = query?;
    let content = read_limited(&headers, body, MAX_EVIDENCE_BYTES, evidence_too_large).await?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    Ok(Json(
        compliance::upload_evidence(
            &state,
            &principal,
            &meta,
            id,
            query.name.as_deref(),
            content_type,
            &content,
        )
        .await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/compliance/attestations/{id}/evidence", tag = "compliance",
    security(("bearer" = ["compliance:read"])),
    params(("id" = i64, Path, description = "Attestation id")),
    responses(
        (status = 200, description = "The evidence file, with the content type it was uploaded with", content_type = "application/octet-stream", body = inline(Binary)),
        (status = 404, description = "No such attestation or no file", body = ErrorBody),
    ))]
pub async fn download_evidence(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let (name, content_type, content) =
        compliance::download_evidence(&state, &principal, id).await?;
    let mut response = content.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&content_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{safe}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AccessReviewList {
    pub items: Vec<AccessReviewBody>,
}

#[utoipa::path(post, path = "/api/v1/compliance/access-reviews", tag = "compliance",
    security(("bearer" = ["teams:manage"])),
    request_body = AccessReviewRequest,
    responses(
        (status = 201, description = "The review of the team's current members", body = AccessReviewBody),
        (status = 422, description = "A field is invalid (named)", body = ErrorBody),
    ))]
pub async fn create_access_review(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    body: Result<ApiJson<AccessReviewRequest>, ApiError>,
) -> Result<(StatusCode, Json<AccessReviewBody>), ApiError> {
    principal.require(Scope::TeamsManage)?;
    let ApiJson(body) = body?;
    let review = compliance::record_access_review(&state, &principal, &meta, body).await?;
    Ok((StatusCode::CREATED, Json(review)))
}

#[utoipa::path(get, path = "/api/v1/compliance/access-reviews", tag = "compliance",
    security(("bearer" = ["compliance:read"])),
    responses((status = 200, description = "The team's access reviews, newest first", body = AccessReviewList)))]
pub async fn list_access_reviews(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<AccessReviewList>, ApiError> {
    Ok(Json(AccessReviewList {
        items: compliance::list_access_reviews(&state, &principal).await?,
    }))
}
