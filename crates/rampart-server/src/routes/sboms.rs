//! SBOMs of a release: upload (format detected from content, stored verbatim with its
//! parsed components and dependency graph, analysis queued), metadata, download, components,
//! delete.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use rampart_core::Scope;
use rampart_engine::analysis::UnmatchedComponents;
use rampart_engine::services::sboms::{self, file_extension, too_large, SbomUpload};
use rampart_store::{SbomRecord, StoredComponent};
use serde::{Deserialize, Serialize};

use super::{search_term, PageQuery, Paginated};
use crate::auth::{Principal, RequestMeta};
use crate::bodies::{AnalysisBody, FindingBody};
use crate::error::{ApiError, ApiQuery, ErrorBody};
use crate::openapi::Binary;
use crate::state::AppState;
use crate::upload::read_limited;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SbomBody {
    pub id: i64,
    pub release_id: i64,
    /// `cyclonedx` or `spdx`.
    pub format: String,
    /// `cyclonedx_json`, `cyclonedx_xml`, `spdx_json` or `spdx_tag_value`.
    pub document_format: String,
    /// `1.6`, `2.3`, …
    pub spec_version: String,
    /// CycloneDX `serialNumber` or SPDX `documentNamespace`.
    pub serial_number: Option<String>,
    pub name: Option<String>,
    /// The content type the document was uploaded with; download returns it.
    pub content_type: String,
    pub size_bytes: i64,
    /// Hex SHA-256 of the uploaded bytes.
    pub sha256: String,
    pub component_count: i64,
    pub dependency_count: i64,
    pub uploaded_at: DateTime<Utc>,
    /// The user or service account that uploaded it.
    pub uploaded_by: String,
    /// `true` when this is test data (created with an `rk_test_` key); absent for live data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_mode: Option<bool>,
    /// Quirks of the document that were tolerated (e.g. a repeated `bom-ref`), each with
    /// where it is. At most 100; the last then says how many more there were.
    pub warnings: Vec<SbomWarningBody>,
    /// Components whose package could not be determined (no purl, an unreadable purl, a
    /// purl type without an OSV ecosystem), counted by reason with examples: they are not
    /// matched by package. `null` for SBOMs uploaded before this was recorded.
    pub unmatched_components: Option<UnmatchedComponents>,
}

/// A tolerated quirk of an uploaded document.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SbomWarningBody {
    pub message: String,
    /// 1-based line (XML and tag-value documents).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// 1-based column (XML and tag-value documents).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<u64>,
    /// RFC 6901 pointer (JSON documents).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pointer: Option<String>,
}

impl From<SbomRecord> for SbomBody {
    fn from(record: SbomRecord) -> Self {
        SbomBody {
            id: record.id,
            release_id: record.release_id,
            format: record.format,
            document_format: record.document_format,
            spec_version: record.spec_version,
            serial_number: record.serial_number,
            name: record.name,
            content_type: record.content_type,
            size_bytes: record.size_bytes,
            sha256: record.sha256,
            component_count: record.component_count,
            dependency_count: record.dependency_count,
            uploaded_at: record.uploaded_at,
            uploaded_by: record.uploaded_by,
            test_mode: record.is_test.then_some(true),
            warnings: serde_json::from_str(&record.warnings).unwrap_or_default(),
            unmatched_components: record
                .unmatched_components
                .as_deref()
                .and_then(|json| serde_json::from_str(json).ok()),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UploadResponse {
    pub sbom: SbomBody,
    /// The analysis the upload queued; finished already when `?wait=true` was given and it
    /// completed in time.
    pub analysis: AnalysisBody,
    /// With `?wait=true`, once the analysis completed: the SBOM's findings, most severe
    /// first, when there are at most 500 (otherwise page through
    /// `/api/v1/releases/{id}/vulnerabilities?sbom_id=`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub findings: Option<Vec<FindingBody>>,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// Wait (up to 30 s) for the analysis to finish before answering.
    #[serde(default)]
    pub wait: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ComponentBody {
    pub id: i64,
    /// Position in the document (nested CycloneDX components flattened in document order).
    pub position: i64,
    /// Position of the component this one is nested in.
    pub parent_position: Option<i64>,
    pub bom_ref: Option<String>,
    pub name: String,
    pub version: Option<String>,
    /// CycloneDX `group`.
    pub group: Option<String>,
    pub purl: Option<String>,
    pub cpe: Option<String>,
    #[schema(value_type = Vec<Object>)]
    pub hashes: serde_json::Value,
    #[schema(value_type = Vec<Object>)]
    pub licenses: serde_json::Value,
    pub supplier: Option<String>,
    /// CycloneDX `type` or SPDX `primaryPackagePurpose` (lower case).
    #[serde(rename = "type")]
    pub component_type: Option<String>,
    pub scope: Option<String>,
    /// OSV ecosystem of the package the purl names (set by analysis).
    pub ecosystem: Option<String>,
    /// Package name within that ecosystem (set by analysis).
    pub package_name: Option<String>,
}

impl From<StoredComponent> for ComponentBody {
    fn from(c: StoredComponent) -> Self {
        ComponentBody {
            id: c.id,
            position: c.position,
            parent_position: c.parent_position,
            bom_ref: c.bom_ref,
            name: c.name,
            version: c.version,
            group: c.group_name,
            purl: c.purl,
            cpe: c.cpe,
            hashes: serde_json::from_str(&c.hashes).unwrap_or_default(),
            licenses: serde_json::from_str(&c.licenses).unwrap_or_default(),
            supplier: c.supplier,
            component_type: c.component_type,
            scope: c.scope,
            ecosystem: c.ecosystem,
            package_name: c.package_name,
        }
    }
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ComponentListQuery {
    /// Only components whose name, version or purl contains this text (case-insensitive).
    pub q: Option<String>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

/// Uploads an SBOM to a release. The body is the document as is (CycloneDX 1.2–1.6 JSON or
/// XML, SPDX 2.2/2.3 JSON or tag-value); the format is detected from the content and the
/// content type is kept for download. Nothing is stored when the document is rejected.
#[utoipa::path(post, path = "/api/v1/releases/{id}/sboms", tag = "sboms",
    security(("bearer" = ["sboms:write"])),
    params(("id" = i64, Path, description = "Release id"), UploadQuery),
    request_body(
        description = "The SBOM document, verbatim: its format is read from the content, and \
            any content type is accepted and kept (application/json, \
            application/vnd.cyclonedx+json, application/xml, application/vnd.cyclonedx+xml, \
            application/spdx+json, text/spdx, …): CycloneDX or SPDX JSON as JSON, CycloneDX XML \
            or SPDX tag-value as bytes.",
        content(
            (Object = "application/json"),
            (inline(Binary) = "application/octet-stream"),
        )),
    responses(
        (status = 201, description = "Stored; analysis queued (or finished, with `?wait=true`)", body = UploadResponse),
        (status = 400, description = "Not an SBOM", body = ErrorBody),
        (status = 404, description = "No such release in this team", body = ErrorBody),
        (status = 413, description = "Larger than the configured SBOM limit", body = ErrorBody),
        (status = 422, description = "An SBOM with a problem; the message names where", body = ErrorBody),
    ))]
pub async fn upload_sbom(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    Path(release_id): Path<i64>,
    query: Result<ApiQuery<UploadQuery>, ApiError>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<UploadResponse>), ApiError> {
    // The scope is checked before the query is read: a caller without it gets 403.
    principal.require(Scope::SbomsWrite)?;
    let ApiQuery(query) = query?;
    let upload = SbomUpload {
        release_id,
        document: read_limited(&headers, body, state.config.max_sbom_bytes, too_large),
        content_type: headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok()),
        wait: query.wait,
    };
    let outcome = sboms::upload_sbom(&state, &principal, &meta, upload).await?;
    Ok((
        StatusCode::CREATED,
        Json(UploadResponse {
            sbom: outcome.sbom.into(),
            analysis: outcome.analysis.into(),
            findings: outcome.findings.map(|page| {
                let page = page.into_items();
                page.items.into_iter().map(FindingBody::from).collect()
            }),
        }),
    ))
}

/// Lists a release's SBOMs, newest first.
#[utoipa::path(get, path = "/api/v1/releases/{id}/sboms", tag = "sboms",
    security(("bearer" = ["sboms:read"])),
    params(("id" = i64, Path, description = "Release id"), PageQuery),
    responses(
        (status = 200, description = "One page of SBOMs", body = Paginated<SbomBody>),
        (status = 404, description = "No such release in this team", body = ErrorBody),
    ))]
pub async fn list_sboms(
    State(state): State<AppState>,
    principal: Principal,
    Path(release_id): Path<i64>,
    query: Result<ApiQuery<PageQuery>, ApiError>,
) -> Result<Json<Paginated<SbomBody>>, ApiError> {
    principal.require(Scope::SbomsRead)?;
    let ApiQuery(query) = query?;
    let request = query.to_request()?;
    let page = sboms::list_sboms(&state, &principal, release_id, request).await?;
    Ok(Json(Paginated::new(page, request, SbomBody::from)))
}

/// An SBOM's metadata.
#[utoipa::path(get, path = "/api/v1/sboms/{id}", tag = "sboms",
    security(("bearer" = ["sboms:read"])),
    params(("id" = i64, Path, description = "SBOM id")),
    responses(
        (status = 200, description = "The SBOM", body = SbomBody),
        (status = 404, description = "No such SBOM in this team", body = ErrorBody),
    ))]
pub async fn get_sbom(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Json<SbomBody>, ApiError> {
    let record = sboms::get_sbom(&state, &principal, id).await?;
    Ok(Json(record.into()))
}

/// The uploaded document: the same bytes with the same content type.
#[utoipa::path(get, path = "/api/v1/sboms/{id}/download", tag = "sboms",
    security(("bearer" = ["sboms:read"])),
    params(("id" = i64, Path, description = "SBOM id")),
    responses(
        (status = 200, description = "The document as uploaded, with the content type it was uploaded with (any: `application/octet-stream` when it came without one)", content_type = "*/*", body = inline(Binary)),
        (status = 404, description = "No such SBOM in this team", body = ErrorBody),
    ))]
pub async fn download_sbom(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let document = sboms::sbom_document(&state, &principal, id).await?;
    let record = document.sbom;
    let mut response = document.content.into_response();
    let content_type = HeaderValue::from_str(&document.content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, content_type);
    let disposition = format!(
        "attachment; filename=\"sbom-{}.{}\"",
        record.id,
        file_extension(&record.document_format)
    );
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        response
            .headers_mut()
            .insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// An SBOM's components in document order.
#[utoipa::path(get, path = "/api/v1/sboms/{id}/components", tag = "sboms",
    security(("bearer" = ["sboms:read"])),
    params(("id" = i64, Path, description = "SBOM id"), ComponentListQuery),
    responses(
        (status = 200, description = "One page of components", body = Paginated<ComponentBody>),
        (status = 404, description = "No such SBOM in this team", body = ErrorBody),
    ))]
pub async fn list_components(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
    query: Result<ApiQuery<ComponentListQuery>, ApiError>,
) -> Result<Json<Paginated<ComponentBody>>, ApiError> {
    principal.require(Scope::SbomsRead)?;
    let ApiQuery(query) = query?;
    let request = PageQuery {
        page: query.page,
        per_page: query.per_page,
    }
    .to_request()?;
    let page =
        sboms::list_components(&state, &principal, id, search_term(&query.q), request).await?;
    Ok(Json(Paginated::new(page, request, ComponentBody::from)))
}

/// Deletes an SBOM with its components and analyses.
#[utoipa::path(delete, path = "/api/v1/sboms/{id}", tag = "sboms",
    security(("bearer" = ["sboms:write"])),
    params(("id" = i64, Path, description = "SBOM id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such SBOM in this team", body = ErrorBody),
    ))]
pub async fn delete_sbom(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    sboms::delete_sbom(&state, &principal, &meta, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
