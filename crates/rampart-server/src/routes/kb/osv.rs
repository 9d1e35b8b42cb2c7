//! The OSV API (osv.dev's `/v1/query`, `/v1/querybatch`, `/v1/vulns/{id}`), answered from the
//! match index, so that OSV clients can use Rampart as their server. As on osv.dev, empty
//! lists are left out of responses (`{}` means no vulnerabilities).

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, SecondsFormat, Utc};
use rampart_core::match_index::{IndexMatch, MatchIndex};
use rampart_core::Scope;
use rampart_formats::advisory::write_osv_json;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::auth::Principal;
use crate::error::{AnyContentTypeJson, ApiError, ErrorBody, ErrorCode};
use crate::state::AppState;

/// Vulnerabilities per page of `/v1/query` and per result of `/v1/querybatch`.
const PAGE_SIZE: usize = 1000;
/// Queries per `/v1/querybatch` request (osv.dev's limit).
const MAX_BATCH: usize = 1000;

#[derive(Deserialize, utoipa::ToSchema)]
pub struct OsvPackageQuery {
    pub name: Option<String>,
    pub ecosystem: Option<String>,
    pub purl: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct OsvQuery {
    pub package: Option<OsvPackageQuery>,
    pub version: Option<String>,
    /// A commit hash: GIT ranges are not evaluated, so this matches nothing.
    pub commit: Option<String>,
    pub page_token: Option<String>,
}

/// The records a query matches, by record id.
fn run_query(
    index: &MatchIndex,
    query: &OsvQuery,
    position: &str,
) -> Result<Vec<IndexMatch>, ApiError> {
    let version = query
        .version
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty());
    // osv-scanner sends commit queries with an empty `package: {}`.
    let package = query.package.as_ref().filter(|p| {
        [&p.name, &p.ecosystem, &p.purl]
            .iter()
            .any(|field| field.as_deref().is_some_and(|f| !f.trim().is_empty()))
    });
    if query
        .commit
        .as_deref()
        .is_some_and(|c| !c.trim().is_empty())
    {
        if package.is_some() || version.is_some() {
            return Err(ApiError::new(
                ErrorCode::BadRequest,
                format!("{position}`commit` cannot be combined with `package` or `version`"),
            ));
        }
        return Ok(Vec::new());
    }
    let Some(package) = package else {
        return Err(ApiError::new(
            ErrorCode::BadRequest,
            format!("{position}`package` or `commit` is required"),
        ));
    };
    if let Some(purl) = package.purl.as_deref().filter(|p| !p.trim().is_empty()) {
        if package.name.is_some() || package.ecosystem.is_some() {
            return Err(ApiError::new(
                ErrorCode::BadRequest,
                format!("{position}`package.purl` cannot be combined with `package.name` or `package.ecosystem`"),
            ));
        }
        // Read leniently, as SBOM analysis and `rampart scan` read it (DESIGN §5).
        let parsed = rampart_versions::Purl::parse_lenient(purl).map_err(|e| {
            ApiError::new(
                ErrorCode::BadRequest,
                format!("{position}`package.purl`: {e}"),
            )
        })?;
        if parsed.version().is_some() && version.is_some() {
            return Err(ApiError::new(
                ErrorCode::BadRequest,
                format!("{position}a version is given both in `package.purl` and in `version`"),
            ));
        }
        return index.query_purl(purl, version).ok_or_else(|| {
            ApiError::new(
                ErrorCode::BadRequest,
                format!("{position}`package.purl` maps to no OSV ecosystem"),
            )
        });
    }
    match (package.ecosystem.as_deref(), package.name.as_deref()) {
        (Some(ecosystem), Some(name))
            if !ecosystem.trim().is_empty() && !name.trim().is_empty() =>
        {
            Ok(index.query_package(ecosystem.trim(), name.trim(), version))
        }
        _ => Err(ApiError::new(
            ErrorCode::BadRequest,
            format!(
                "{position}`package.name` and `package.ecosystem` (or `package.purl`) are required"
            ),
        )),
    }
}

fn page_offset(token: Option<&str>, position: &str) -> Result<usize, ApiError> {
    match token.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(0),
        Some(token) => token.parse().map_err(|_| {
            ApiError::new(
                ErrorCode::BadRequest,
                format!("{position}`page_token` is invalid"),
            )
        }),
    }
}

/// `(page, next_page_token)` of a match list.
fn page(matches: &[IndexMatch], offset: usize) -> (&[IndexMatch], Option<String>) {
    let start = offset.min(matches.len());
    let end = (start + PAGE_SIZE).min(matches.len());
    let next = (end < matches.len()).then(|| end.to_string());
    (&matches[start..end], next)
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct OsvQueryResponse {
    /// Full OSV records; left out when none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Object>)]
    pub vulns: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

/// Vulnerabilities affecting a package version (or a purl), as OSV records (osv.dev API).
#[utoipa::path(post, path = "/v1/query", tag = "osv",
    security(("bearer" = ["kb:read"])),
    request_body = OsvQuery,
    responses(
        (status = 200, description = "The matching OSV records", body = OsvQueryResponse),
        (status = 400, description = "An invalid query", body = ErrorBody),
    ))]
pub async fn query(
    State(state): State<AppState>,
    principal: Principal,
    body: Result<AnyContentTypeJson<OsvQuery>, ApiError>,
) -> Result<Response, ApiError> {
    principal.require(Scope::KbRead)?;
    let AnyContentTypeJson(body) = body?;
    let index = state.kb_index.load();
    let matches = run_query(&index, &body, "")?;
    let offset = page_offset(body.page_token.as_deref(), "")?;
    let (page, next_page_token) = page(&matches, offset);
    let ids: Vec<i64> = page.iter().map(|m| m.vulnerability_id).collect();
    let records = state
        .osv_records
        .rendered(&state.store, index.kb_version(), &ids)
        .await?;
    // The records are already JSON: the response (an `OsvQueryResponse`) is put together
    // around them rather than parsed and serialised again.
    let mut json = Vec::with_capacity(records.iter().map(|r| r.len() + 1).sum::<usize>() + 64);
    json.push(b'{');
    if !records.is_empty() {
        json.extend_from_slice(b"\"vulns\":[");
        for (position, record) in records.iter().enumerate() {
            if position > 0 {
                json.push(b',');
            }
            json.extend_from_slice(record);
        }
        json.push(b']');
    }
    if let Some(token) = next_page_token {
        if !records.is_empty() {
            json.push(b',');
        }
        json.extend_from_slice(b"\"next_page_token\":");
        serde_json::to_writer(&mut json, &token)
            .map_err(|e| ApiError::internal(format!("writing a page token: {e}")))?;
    }
    json.push(b'}');
    Ok(([(header::CONTENT_TYPE, "application/json")], json).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct OsvBatchQuery {
    /// At most 1000 queries (osv.dev's limit).
    #[schema(max_items = 1000)]
    pub queries: Vec<OsvQuery>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct OsvVulnRef {
    pub id: String,
    pub modified: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct OsvBatchResult {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub vulns: Vec<OsvVulnRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct OsvBatchResponse {
    pub results: Vec<OsvBatchResult>,
}

fn osv_time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// Many queries at once; each result lists ids and `modified` only (osv.dev API).
#[utoipa::path(post, path = "/v1/querybatch", tag = "osv",
    security(("bearer" = ["kb:read"])),
    request_body = OsvBatchQuery,
    responses(
        (status = 200, description = "One result per query, in order", body = OsvBatchResponse),
        (status = 400, description = "An invalid query, named by position", body = ErrorBody),
    ))]
pub async fn querybatch(
    State(state): State<AppState>,
    principal: Principal,
    body: Result<AnyContentTypeJson<OsvBatchQuery>, ApiError>,
) -> Result<Json<OsvBatchResponse>, ApiError> {
    principal.require(Scope::KbRead)?;
    let AnyContentTypeJson(body) = body?;
    if body.queries.len() > MAX_BATCH {
        return Err(ApiError::new(
            ErrorCode::BadRequest,
            format!("`queries` holds at most {MAX_BATCH} queries"),
        ));
    }
    let index = state.kb_index.load();
    let mut results = Vec::with_capacity(body.queries.len());
    for (position, query) in body.queries.iter().enumerate() {
        let label = format!("queries[{position}]: ");
        let matches = run_query(&index, query, &label)?;
        let offset = page_offset(query.page_token.as_deref(), &label)?;
        let (page, next_page_token) = page(&matches, offset);
        results.push(OsvBatchResult {
            vulns: page
                .iter()
                .map(|m| OsvVulnRef {
                    id: m.vuln_id.to_string(),
                    modified: osv_time(m.modified),
                })
                .collect(),
            next_page_token,
        });
    }
    Ok(Json(OsvBatchResponse { results }))
}

/// One OSV record by its id (osv.dev API).
#[utoipa::path(get, path = "/v1/vulns/{id}", tag = "osv",
    security(("bearer" = ["kb:read"])),
    params(("id" = String, Path, description = "The record's id")),
    responses(
        (status = 200, description = "The OSV record", body = Object),
        (status = 404, description = "No record has this id", body = ErrorBody),
    ))]
pub async fn get_vuln(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    principal.require(Scope::KbRead)?;
    let advisory = state
        .store
        .advisory(id.trim())
        .await?
        .ok_or_else(|| ApiError::not_found("vulnerability"))?;
    Ok(Json(write_osv_json(&advisory)))
}
