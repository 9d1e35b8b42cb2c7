//! Seed 003's CVE endpoints, verbatim paths and parameters, with its `success` envelope:
//! `GET /api/product-cves?product_id=&version=&page=&per_page=&sort=epss` over the CPE
//! catalogue, and `GET /api/get-exploits?cve_id=` (a CVE id or a numeric internal id).

use axum::extract::State;
use axum::Json;
use rampart_core::{PageRequest, Scope};
use rampart_store::{EpssView, ExploitView, KevView};
use serde::{Deserialize, Serialize};

use super::{highest_epss, list_item, CatalogProductView, ReferenceView, VulnerabilityListItem};
use crate::auth::Principal;
use crate::error::{ApiError, ApiQuery, ErrorBody, ErrorCode};
use crate::state::AppState;
use rampart_engine::services::kb;

/// Seed 003's page size for `/api/product-cves`.
const PRODUCT_CVES_PER_PAGE: u32 = 20;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProductCvesQuery {
    /// Catalogue product id (`GET /api/v1/catalog/products?q=`).
    #[param(value_type = String, required = true, pattern = "^-?[0-9]{1,18}$")]
    pub product_id: Option<String>,
    /// Only CVEs whose NVD configurations include this version.
    pub version: Option<String>,
    pub page: Option<u32>,
    /// 1..=500, default 20.
    pub per_page: Option<u32>,
    /// epss | newest (default) | oldest.
    #[param(pattern = "^$|^(epss|newest|oldest)$")]
    pub sort: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ProductCvesResponse {
    pub success: bool,
    pub product: CatalogProductView,
    /// The version filtered by, if any.
    pub version: Option<String>,
    pub cves: Vec<VulnerabilityListItem>,
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
    pub total_pages: u64,
}

/// CVEs of a catalogue product, optionally only those affecting a version (seed 003).
#[utoipa::path(get, path = "/api/product-cves", tag = "knowledge-base",
    security(("bearer" = ["kb:read"])),
    params(ProductCvesQuery),
    responses(
        (status = 200, description = "A page of the product's CVEs", body = ProductCvesResponse),
        (status = 400, description = "A bad parameter, named in the message", body = ErrorBody),
        (status = 404, description = "No such product", body = ErrorBody),
    ))]
pub async fn product_cves(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<ProductCvesQuery>,
) -> Result<Json<ProductCvesResponse>, ApiError> {
    principal.require(Scope::KbRead)?;
    let product_id: i64 = query
        .product_id
        .as_deref()
        .ok_or_else(|| ApiError::new(ErrorCode::BadRequest, "`product_id` is required"))?
        .trim()
        .parse()
        .map_err(|_| ApiError::new(ErrorCode::BadRequest, "`product_id` must be a number"))?;
    let page = PageRequest::from_query(query.page, query.per_page, PRODUCT_CVES_PER_PAGE)?;
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
    Ok(Json(ProductCvesResponse {
        success: true,
        product: found.product.into(),
        version: found.version,
        cves: found
            .cves
            .with_evidence()
            .map(|(row, evidence)| list_item(row, evidence))
            .collect(),
        total,
        page: page.page(),
        per_page: page.per_page(),
        total_pages: page.page_count(total),
    }))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GetExploitsQuery {
    /// A CVE id (`CVE-2021-44228`) or the numeric internal id of a vulnerability record.
    #[param(value_type = String, required = true, min_length = 1)]
    pub cve_id: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct GetExploitsResponse {
    pub success: bool,
    /// The CVE the exploits belong to.
    pub cve_id: String,
    /// Internal id of the vulnerability record, when one is stored.
    pub vulnerability_id: Option<i64>,
    /// Exploit Database entries.
    pub exploits: Vec<ExploitView>,
    /// References flagged as exploits or proofs of concept (EVIDENCE, NVD "Exploit" tag,
    /// exploit archives, GitHub PoC repositories).
    pub poc_references: Vec<ReferenceView>,
    /// CISA KEV entry: exploited in the wild.
    pub kev: Option<KevView>,
    /// EPSS: the probability of exploitation in the next 30 days.
    pub epss: Option<EpssView>,
    /// Exploits plus proof-of-concept references.
    pub total: usize,
}

/// Exploits and proofs of concept for a CVE (seed 003).
#[utoipa::path(get, path = "/api/get-exploits", tag = "knowledge-base",
    security(("bearer" = ["kb:read"])),
    params(GetExploitsQuery),
    responses(
        (status = 200, description = "The CVE's exploits", body = GetExploitsResponse),
        (status = 400, description = "Missing `cve_id`", body = ErrorBody),
        (status = 404, description = "Neither a stored record nor KEV, EPSS or Exploit Database knows the CVE or id", body = ErrorBody),
    ))]
pub async fn get_exploits(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<GetExploitsQuery>,
) -> Result<Json<GetExploitsResponse>, ApiError> {
    principal.require(Scope::KbRead)?;
    let requested = query
        .cve_id
        .as_deref()
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .ok_or_else(|| ApiError::new(ErrorCode::BadRequest, "`cve_id` is required"))?;
    let group = match requested.parse::<i64>() {
        Ok(internal_id) => Some(
            state
                .store
                .vulnerability_group_by_internal_id(internal_id)
                .await?
                .ok_or_else(|| ApiError::not_found("vulnerability"))?,
        ),
        Err(_) => state.store.vulnerability_group(requested).await?,
    };
    let response = match group {
        Some(group) => {
            let cve_id = if requested.parse::<i64>().is_ok() {
                std::iter::once(&group.primary.advisory.id)
                    .chain(group.identifiers.iter())
                    .find(|id| id.starts_with("CVE-"))
                    .cloned()
                    .unwrap_or_else(|| group.primary.advisory.id.clone())
            } else {
                requested.to_uppercase()
            };
            let mut poc_references: Vec<ReferenceView> = Vec::new();
            for member in &group.members {
                for reference in member.advisory.references.iter().filter(|r| r.is_exploit) {
                    if !poc_references.iter().any(|r| r.url == reference.url) {
                        poc_references.push(ReferenceView {
                            kind: reference.kind.as_osv().to_string(),
                            url: reference.url.clone(),
                            tags: reference.tags.clone(),
                            is_exploit: true,
                        });
                    }
                }
            }
            let exploits = group.exploits;
            GetExploitsResponse {
                success: true,
                cve_id,
                vulnerability_id: Some(group.primary.internal_id),
                total: exploits.len() + poc_references.len(),
                exploits,
                poc_references,
                kev: group.kev.into_iter().next(),
                epss: highest_epss(group.epss),
            }
        }
        None => {
            // No record of the CVE is stored, but KEV, EPSS and Exploit Database are keyed by
            // CVE id alone and may still know it.
            let cve_id = requested.to_uppercase();
            let known = state
                .store
                .cve_enrichment(std::slice::from_ref(&cve_id))
                .await?;
            if known.is_empty() {
                return Err(ApiError::not_found("CVE"));
            }
            let exploits = known.exploits;
            GetExploitsResponse {
                success: true,
                cve_id,
                vulnerability_id: None,
                total: exploits.len(),
                exploits,
                poc_references: Vec::new(),
                kev: known.kev.into_iter().next(),
                epss: highest_epss(known.epss),
            }
        }
    };
    Ok(Json(response))
}
