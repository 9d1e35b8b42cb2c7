//! Downloads of the knowledge base: the whole of it in OSV's layout (a zip like osv.dev's
//! `{ecosystem}/all.zip`, streamed as it is written; scope `kb:export`, audited), and the
//! complete results of a vulnerability search or of seed 003's `/api/product-cves` as one
//! JSON file (scope `kb:read`). Downloads follow the audit log's convention: an `/export`
//! sub-path with the listing's filters, a `Content-Disposition: attachment` answer.
//!
//! A mirror points an `OSV` sync source at `/api/v1/kb/export` (a bucket base: it fetches
//! `/api/v1/kb/export/{ecosystem}/all.zip` per configured ecosystem) with an API key that has
//! `kb:export`.

use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use rampart_core::{PageRequest, Scope};
use rampart_engine::kb_export::{self, ExportFilter};
use rampart_engine::services::kb::{self, VulnerabilityQuery};
use serde::Deserialize;
use tokio::sync::mpsc;

use super::{list_item, VulnerabilityListItem};
use crate::auth::{Principal, RequestMeta};
use crate::document_download::json_attachment;
use crate::error::{ApiError, ApiQuery, ErrorBody, ErrorCode};
use crate::openapi::Binary;
use crate::state::AppState;

/// Rows a JSON export holds at most; a query matching more is refused (422), to be narrowed.
pub const MAX_EXPORT_ROWS: u64 = 50_000;
/// Rows read per page while exporting.
const EXPORT_PAGE: i64 = 500;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct KbExportQuery {
    /// Only records affecting a package of this OSV ecosystem or of its releases (`Debian`
    /// takes `Debian:12`), case-insensitive; default: every OSV record.
    pub ecosystem: Option<String>,
}

/// A response body fed by the export task, chunk by chunk.
struct ChannelBody {
    receiver: mpsc::Receiver<std::io::Result<Bytes>>,
}

impl http_body::Body for ChannelBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        self.receiver
            .poll_recv(context)
            .map(|item| item.map(|chunk| chunk.map(http_body::Frame::data)))
    }
}

/// The streamed OSV archive of `filter`.
fn osv_archive(state: &AppState, filter: ExportFilter) -> Response {
    let (sender, receiver) = mpsc::channel(4);
    let file_name = filter.file_name();
    tokio::spawn(kb_export::stream_osv_zip(
        state.store.clone(),
        filter,
        sender,
    ));
    let mut response = Body::new(ChannelBody { receiver }).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/zip"),
    );
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

/// The knowledge base as OSV records in a zip archive (one `<id>.json` per record), like
/// osv.dev's `all.zip`; streamed. Every download is recorded in the audit log (`kb.export`).
#[utoipa::path(get, path = "/api/v1/kb/export", tag = "knowledge-base",
    security(("bearer" = ["kb:export"])),
    params(KbExportQuery),
    responses(
        (status = 200, description = "The zip archive", content_type = "application/zip", body = inline(Binary)),
        (status = 400, description = "A bad `ecosystem`", body = ErrorBody),
        (status = 403, description = "Missing scope `kb:export`", body = ErrorBody),
    ))]
pub async fn kb_export(
    State(state): State<AppState>,
    principal: Principal,
    meta: RequestMeta,
    query: Result<ApiQuery<KbExportQuery>, ApiError>,
) -> Result<Response, ApiError> {
    principal.require(Scope::KbExport)?;
    let ApiQuery(query) = query?;
    let filter =
        kb_export::authorize_export(&state, &principal, &meta, query.ecosystem.as_deref()).await?;
    Ok(osv_archive(&state, filter))
}

/// One ecosystem's records at the path osv.dev's bucket uses (`{ecosystem}/all.zip`), so an
/// `OSV` sync source with the base URL `…/api/v1/kb/export` mirrors this server.
#[utoipa::path(get, path = "/api/v1/kb/export/{ecosystem}/all.zip", tag = "knowledge-base",
    security(("bearer" = ["kb:export"])),
    params(("ecosystem" = String, Path, description = "OSV ecosystem (`PyPI`, `crates.io`, `Debian`)")),
    responses(
        (status = 200, description = "The zip archive", content_type = "application/zip", body = inline(Binary)),
        (status = 400, description = "A bad `ecosystem`", body = ErrorBody),
        (status = 403, description = "Missing scope `kb:export`", body = ErrorBody),
    ))]
pub async fn kb_export_ecosystem(
    State(state): State<AppState>,
    principal: Principal,
    meta: RequestMeta,
    Path(ecosystem): Path<String>,
) -> Result<Response, ApiError> {
    principal.require(Scope::KbExport)?;
    if ecosystem.trim().is_empty() {
        return Err(ApiError::new(
            ErrorCode::BadRequest,
            "`ecosystem` is required",
        ));
    }
    let filter = kb_export::authorize_export(&state, &principal, &meta, Some(&ecosystem)).await?;
    Ok(osv_archive(&state, filter))
}

/// 422 for an export larger than [`MAX_EXPORT_ROWS`].
fn too_many(total: u64) -> ApiError {
    ApiError::new(
        ErrorCode::ValidationFailed,
        format!(
            "the query matches {total} records; an export holds at most {MAX_EXPORT_ROWS}: narrow it with the listing's filters"
        ),
    )
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct VulnerabilityExportQuery {
    /// OSV ecosystem (`PyPI`, `npm`, `crates.io`, `Debian:12`, ...).
    pub ecosystem: Option<String>,
    /// Package name (with `ecosystem`).
    pub package: Option<String>,
    /// Only records affecting this version (with `ecosystem`+`package`, `purl` or `cpe`).
    pub version: Option<String>,
    /// Package URL; its version (or `version`) selects affected records.
    pub purl: Option<String>,
    /// CPE 2.3 name; a concrete version (or `version`) selects by NVD version ranges.
    pub cpe: Option<String>,
    /// With `cpe`: drop the matches that need an unverified platform (default false).
    pub strict_platforms: Option<bool>,
    /// Highest CVSS band: critical, high, medium, low, none.
    #[param(pattern = "^(critical|high|medium|low|none)$")]
    pub severity: Option<String>,
    /// In CISA KEV (true) or not (false).
    pub kev: Option<bool>,
    /// Text in the id, summary or details.
    pub q: Option<String>,
    /// epss | newest (default) | oldest.
    pub sort: Option<String>,
}

/// Every record a vulnerability search matches (the filters of `GET /api/v1/vulnerabilities`),
/// as one JSON file: an array of the listing's items, in its order.
#[utoipa::path(get, path = "/api/v1/vulnerabilities/export", tag = "knowledge-base",
    security(("bearer" = ["kb:read"])),
    params(VulnerabilityExportQuery),
    responses(
        (status = 200, description = "A JSON file: every matching record", body = Vec<VulnerabilityListItem>),
        (status = 400, description = "A bad parameter, named in the message", body = ErrorBody),
        (status = 422, description = "More than 50,000 records match", body = ErrorBody),
    ))]
pub async fn vulnerabilities_export(
    State(state): State<AppState>,
    principal: Principal,
    query: Result<ApiQuery<VulnerabilityExportQuery>, ApiError>,
) -> Result<Response, ApiError> {
    principal.require(Scope::KbRead)?;
    let ApiQuery(query) = query?;
    let search = VulnerabilityQuery {
        ecosystem: query.ecosystem.as_deref(),
        package: query.package.as_deref(),
        version: query.version.as_deref(),
        purl: query.purl.as_deref(),
        cpe: query.cpe.as_deref(),
        strict_platforms: query.strict_platforms.unwrap_or(false),
        severity: query.severity.as_deref(),
        kev: query.kev,
        text: query.q.as_deref(),
        sort: query.sort.as_deref(),
    };
    let mut items: Vec<VulnerabilityListItem> = Vec::new();
    for page_number in 1.. {
        let page = PageRequest::new(page_number, EXPORT_PAGE)?;
        let found = kb::search_vulnerabilities(&state, &principal, &search, page).await?;
        if found.total > MAX_EXPORT_ROWS {
            return Err(too_many(found.total));
        }
        let total = found.total;
        let before = items.len();
        items.extend(
            found
                .with_evidence()
                .map(|(row, evidence)| list_item(row, evidence)),
        );
        if items.len() as u64 >= total || items.len() == before {
            break;
        }
    }
    Ok(json_attachment("vulnerabilities.json", &items))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ProductCvesExportQuery {
    /// Catalogue product id (`GET /api/v1/catalog/products?q=`).
    #[param(value_type = String, required = true, pattern = "^-?[0-9]{1,18}$")]
    pub product_id: Option<String>,
    /// Only CVEs whose NVD configurations include this version.
    pub version: Option<String>,
    /// epss | newest (default) | oldest.
    #[param(pattern = "^$|^(epss|newest|oldest)$")]
    pub sort: Option<String>,
}

/// Every CVE of a catalogue product (the filters of seed 003's `GET /api/product-cves`) as one
/// JSON file: an array of the listing's `cves` items, in its order.
#[utoipa::path(get, path = "/api/product-cves/export", tag = "knowledge-base",
    security(("bearer" = ["kb:read"])),
    params(ProductCvesExportQuery),
    responses(
        (status = 200, description = "A JSON file: every CVE of the product", body = Vec<VulnerabilityListItem>),
        (status = 400, description = "A bad parameter, named in the message", body = ErrorBody),
        (status = 404, description = "No such product", body = ErrorBody),
        (status = 422, description = "More than 50,000 records match", body = ErrorBody),
    ))]
pub async fn product_cves_export(
    State(state): State<AppState>,
    principal: Principal,
    query: Result<ApiQuery<ProductCvesExportQuery>, ApiError>,
) -> Result<Response, ApiError> {
    principal.require(Scope::KbRead)?;
    let ApiQuery(query) = query?;
    let product_id: i64 = query
        .product_id
        .as_deref()
        .ok_or_else(|| ApiError::new(ErrorCode::BadRequest, "`product_id` is required"))?
        .trim()
        .parse()
        .map_err(|_| ApiError::new(ErrorCode::BadRequest, "`product_id` must be a number"))?;
    let mut items: Vec<VulnerabilityListItem> = Vec::new();
    for page_number in 1.. {
        let page = PageRequest::new(page_number, EXPORT_PAGE)?;
        let found = kb::product_cves(
            &state,
            &principal,
            product_id,
            query.version.as_deref(),
            query.sort.as_deref(),
            page,
        )
        .await?;
        let total = found.cves.total;
        if total > MAX_EXPORT_ROWS {
            return Err(too_many(total));
        }
        let before = items.len();
        items.extend(
            found
                .cves
                .with_evidence()
                .map(|(row, evidence)| list_item(row, evidence)),
        );
        if items.len() as u64 >= total || items.len() == before {
            break;
        }
    }
    Ok(json_attachment(
        &format!("product-{product_id}-cves.json"),
        &items,
    ))
}
