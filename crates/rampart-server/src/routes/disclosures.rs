//! Disclosures: published VEX documents for customers (`disclosures:read`), the per-product
//! public-distribution switch, and the public (unauthenticated, read-only) routes under
//! `/public/disclosures/{team_id}/`, including the CSAF 2.0 §7.1 directory layout. The rules
//! are [`rampart_engine::services::disclosures`]'s.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use rampart_core::Scope;
use rampart_engine::services::disclosures::{
    self, CsafFile, DistributionSetting, PublicDocument, SetDistribution,
};
use rampart_engine::services::vex_documents::ListFilter;
use rampart_store::VexDocumentRecord;
use serde::{Deserialize, Serialize};

use super::{PageQuery, Paginated};
use crate::auth::{Principal, RequestMeta};
use crate::document_download::document_response;
use crate::error::{ApiError, ApiJson, ApiQuery, ErrorBody};
use crate::state::AppState;

/// A published VEX document.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DisclosureBody {
    pub id: i64,
    pub product_id: i64,
    /// `null` for a document about every release of the product.
    pub release_id: Option<i64>,
    /// `openvex`, `cyclonedx-json`, `cyclonedx-xml` or `csaf`.
    pub format: String,
    pub include_bom: bool,
    pub tracking_id: String,
    pub serial_number: String,
    pub version: i64,
    pub title: String,
    pub summary: String,
    pub statement_count: i64,
    pub content_type: String,
    pub size_bytes: i64,
    /// Hex SHA-256 of the document (its `ETag`).
    pub sha256: String,
    pub initial_release_date: DateTime<Utc>,
    pub published_at: Option<DateTime<Utc>>,
    /// Where to download it.
    pub download_url: String,
}

impl From<VexDocumentRecord> for DisclosureBody {
    fn from(r: VexDocumentRecord) -> Self {
        DisclosureBody {
            download_url: format!("/api/v1/disclosures/{}/download", r.id),
            id: r.id,
            product_id: r.product_id,
            release_id: r.release_id,
            format: r.format,
            include_bom: r.include_bom,
            tracking_id: r.tracking_id,
            serial_number: r.serial_number,
            version: r.version,
            title: r.title,
            summary: r.summary,
            statement_count: r.statement_count,
            content_type: r.content_type,
            size_bytes: r.size_bytes,
            sha256: r.sha256,
            initial_release_date: r.initial_release_date,
            published_at: r.published_at,
        }
    }
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DisclosureListQuery {
    pub product_id: Option<i64>,
    pub release_id: Option<i64>,
    /// `openvex`, `cyclonedx-json`, `cyclonedx-xml` or `csaf`.
    #[param(pattern = "^(openvex|cyclonedx-json|cyclonedx-xml|csaf)$")]
    pub format: Option<String>,
    /// Published at or after this time (RFC 3339).
    pub since: Option<DateTime<Utc>>,
    /// Published before this time (RFC 3339).
    pub until: Option<DateTime<Utc>>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

/// Lists the team's published VEX documents, newest first.
#[utoipa::path(get, path = "/api/v1/disclosures", tag = "disclosures",
    security(("bearer" = ["disclosures:read"])),
    params(DisclosureListQuery),
    responses(
        (status = 200, description = "One page of disclosures", body = Paginated<DisclosureBody>),
        (status = 422, description = "Unknown format", body = ErrorBody),
    ))]
pub async fn list_disclosures(
    State(state): State<AppState>,
    principal: Principal,
    query: Result<ApiQuery<DisclosureListQuery>, ApiError>,
) -> Result<Json<Paginated<DisclosureBody>>, ApiError> {
    principal.require(Scope::DisclosuresRead)?;
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
        status: None,
        since: query.since,
        until: query.until,
    };
    let page = disclosures::list(&state, &principal, filter, request).await?;
    Ok(Json(Paginated::new(page, request, DisclosureBody::from)))
}

/// One disclosure's metadata.
#[utoipa::path(get, path = "/api/v1/disclosures/{id}", tag = "disclosures",
    security(("bearer" = ["disclosures:read"])),
    params(("id" = i64, Path, description = "Document id")),
    responses(
        (status = 200, description = "The disclosure", body = DisclosureBody),
        (status = 404, description = "No such published document in this team", body = ErrorBody),
    ))]
pub async fn get_disclosure(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Json<DisclosureBody>, ApiError> {
    Ok(Json(disclosures::get(&state, &principal, id).await?.into()))
}

/// Downloads a disclosure with its content type (`application/json` for CSAF and OpenVEX,
/// `application/vnd.cyclonedx+json; version=1.6`, `application/vnd.cyclonedx+xml;
/// version=1.6`), `ETag` (its SHA-256; `If-None-Match` answers 304) and
/// `Content-Disposition`.
#[utoipa::path(get, path = "/api/v1/disclosures/{id}/download", tag = "disclosures",
    security(("bearer" = ["disclosures:read"])),
    params(("id" = i64, Path, description = "Document id")),
    responses(
        (status = 200, description = "The document", content_type = "application/json", body = String),
        (status = 304, description = "Not modified"),
        (status = 404, description = "No such published document in this team", body = ErrorBody),
    ))]
pub async fn download_disclosure(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (record, bytes) = disclosures::download(&state, &principal, id).await?;
    Ok(document_response(&headers, &record, bytes))
}

/// Whether a product's published documents are served without credentials.
#[utoipa::path(get, path = "/api/v1/products/{id}/disclosure-settings", tag = "disclosures",
    security(("bearer" = ["disclosures:read"])),
    params(("id" = i64, Path, description = "Product id")),
    responses(
        (status = 200, description = "The setting", body = DistributionSetting),
        (status = 404, description = "No such product in this team", body = ErrorBody),
    ))]
pub async fn get_distribution(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Json<DistributionSetting>, ApiError> {
    Ok(Json(
        disclosures::distribution(&state, &principal, id).await?,
    ))
}

/// Turns public distribution of a product's published documents on or off (owners and
/// admins; off by default); audited as `disclosure.distribution`.
#[utoipa::path(put, path = "/api/v1/products/{id}/disclosure-settings", tag = "disclosures",
    security(("bearer" = ["teams:manage"])),
    params(("id" = i64, Path, description = "Product id")),
    request_body = SetDistribution,
    responses(
        (status = 200, description = "The setting after the change", body = DistributionSetting),
        (status = 404, description = "No such product in this team", body = ErrorBody),
        (status = 422, description = "A field is invalid", body = ErrorBody),
    ))]
pub async fn set_distribution(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    Path(id): Path<i64>,
    body: Result<ApiJson<SetDistribution>, ApiError>,
) -> Result<Json<DistributionSetting>, ApiError> {
    principal.require(Scope::TeamsManage)?;
    let ApiJson(body) = body?;
    Ok(Json(
        disclosures::set_distribution(&state, &principal, &meta, id, body).await?,
    ))
}

/// A publicly distributed document.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PublicDisclosureBody {
    pub id: i64,
    pub product: String,
    /// `null` for a document about every release of the product.
    pub release: Option<String>,
    pub format: String,
    pub tracking_id: String,
    pub version: i64,
    pub title: String,
    pub content_type: String,
    pub sha256: String,
    pub published_at: Option<DateTime<Utc>>,
    /// Where to download it (no credentials needed).
    pub url: String,
}

fn public_body(team_id: i64, document: PublicDocument) -> PublicDisclosureBody {
    let r = document.record;
    PublicDisclosureBody {
        url: format!("/public/disclosures/{team_id}/documents/{}", r.id),
        id: r.id,
        product: document.product_name,
        release: document.release_version,
        format: r.format,
        tracking_id: r.tracking_id,
        version: r.version,
        title: r.title,
        content_type: r.content_type,
        sha256: r.sha256,
        published_at: r.published_at,
    }
}

/// The team's publicly distributed documents (no credentials), newest first. 404 when the
/// team distributes nothing.
#[utoipa::path(get, path = "/public/disclosures/{team_id}", tag = "disclosures",
    params(("team_id" = i64, Path, description = "Team id")),
    responses(
        (status = 200, description = "The public documents", body = Vec<PublicDisclosureBody>),
        (status = 404, description = "Nothing is distributed publicly", body = ErrorBody),
    ))]
pub async fn public_index(
    State(state): State<AppState>,
    Path(team_id): Path<i64>,
) -> Result<Json<Vec<PublicDisclosureBody>>, ApiError> {
    let documents = disclosures::public_documents(&state, team_id, None).await?;
    Ok(Json(
        documents
            .into_iter()
            .map(|d| public_body(team_id, d))
            .collect(),
    ))
}

/// One publicly distributed document (no credentials), with `ETag` and
/// `Content-Disposition`.
#[utoipa::path(get, path = "/public/disclosures/{team_id}/documents/{id}", tag = "disclosures",
    params(("team_id" = i64, Path, description = "Team id"), ("id" = i64, Path, description = "Document id")),
    responses(
        (status = 200, description = "The document", content_type = "application/json", body = String),
        (status = 304, description = "Not modified"),
        (status = 404, description = "Not publicly distributed", body = ErrorBody),
    ))]
pub async fn public_download(
    State(state): State<AppState>,
    Path((team_id, id)): Path<(i64, i64)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (record, bytes) = disclosures::public_document(&state, team_id, id).await?;
    Ok(document_response(&headers, &record, bytes))
}

/// The URL of a team's CSAF folder: under the configured public URL, else the host the
/// request came to.
fn csaf_base(state: &AppState, headers: &HeaderMap, team_id: i64) -> String {
    let origin = match &state.config.public_url {
        Some(url) => url.trim_end_matches('/').to_string(),
        None => {
            let host = headers
                .get(header::HOST)
                .and_then(|v| v.to_str().ok())
                .filter(|h| !h.is_empty() && !h.contains(['/', ' ']))
                .unwrap_or("localhost");
            format!("http://{host}")
        }
    };
    format!("{origin}/public/disclosures/{team_id}/csaf")
}

fn text_response(content_type: &'static str, text: String) -> Response {
    let mut response = text.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// The team's CSAF provider metadata (CSAF 2.0 §7.1.7; the per-team equivalent of
/// `/.well-known/csaf/provider-metadata.json`), no credentials.
#[utoipa::path(get, path = "/public/disclosures/{team_id}/csaf/provider-metadata.json", tag = "disclosures",
    params(("team_id" = i64, Path, description = "Team id")),
    responses(
        (status = 200, description = "provider-metadata.json", body = Object),
        (status = 404, description = "Nothing is distributed publicly", body = ErrorBody),
    ))]
pub async fn csaf_provider_metadata(
    State(state): State<AppState>,
    Path(team_id): Path<i64>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    let base = csaf_base(&state, &headers, team_id);
    let (_, metadata) = disclosures::csaf_distribution(&state, team_id, &base).await?;
    Ok(Json(metadata))
}

/// `index.txt` of the team's TLP:WHITE CSAF folder (§7.1.12), no credentials.
#[utoipa::path(get, path = "/public/disclosures/{team_id}/csaf/white/index.txt", tag = "disclosures",
    params(("team_id" = i64, Path, description = "Team id")),
    responses(
        (status = 200, description = "One path a line", content_type = "text/plain", body = String),
        (status = 404, description = "Nothing is distributed publicly", body = ErrorBody),
    ))]
pub async fn csaf_index(
    State(state): State<AppState>,
    Path(team_id): Path<i64>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let base = csaf_base(&state, &headers, team_id);
    let (entries, _) = disclosures::csaf_distribution(&state, team_id, &base).await?;
    Ok(text_response(
        "text/plain; charset=utf-8",
        disclosures::index_txt(&entries),
    ))
}

/// `changes.csv` of the team's TLP:WHITE CSAF folder (§7.1.13), newest first, no
/// credentials.
#[utoipa::path(get, path = "/public/disclosures/{team_id}/csaf/white/changes.csv", tag = "disclosures",
    params(("team_id" = i64, Path, description = "Team id")),
    responses(
        (status = 200, description = "path,current_release_date lines", content_type = "text/csv", body = String),
        (status = 404, description = "Nothing is distributed publicly", body = ErrorBody),
    ))]
pub async fn csaf_changes(
    State(state): State<AppState>,
    Path(team_id): Path<i64>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let base = csaf_base(&state, &headers, team_id);
    let (entries, _) = disclosures::csaf_distribution(&state, team_id, &base).await?;
    Ok(text_response(
        "text/csv; charset=utf-8",
        disclosures::changes_csv(&entries),
    ))
}

/// A CSAF document of the folder (`YYYY/name.json`, the latest published version) or its
/// hash (`YYYY/name.json.sha256`), no credentials.
#[utoipa::path(get, path = "/public/disclosures/{team_id}/csaf/white/{year}/{file}", tag = "disclosures",
    params(("team_id" = i64, Path, description = "Team id"),
        ("year" = String, Path, description = "Year of the document's initial release"),
        ("file" = String, Path, description = "`name.json` or `name.json.sha256`")),
    responses(
        (status = 200, description = "The document or its hash", content_type = "application/json", body = String),
        (status = 304, description = "Not modified"),
        (status = 404, description = "No such document", body = ErrorBody),
    ))]
pub async fn csaf_file(
    State(state): State<AppState>,
    Path((team_id, year, file)): Path<(i64, String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    Ok(
        match disclosures::csaf_file(&state, team_id, &year, &file).await? {
            CsafFile::Document(record, bytes) => document_response(&headers, &record, bytes),
            CsafFile::Hash(text) => text_response("text/plain; charset=utf-8", text),
        },
    )
}
