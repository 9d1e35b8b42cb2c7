//! The knowledge base over HTTP: vulnerabilities by any alias and by filters, the CPE
//! product catalogue, the OSV-compatible API (`osv`), and seed 003's CVE endpoints (`seed`).
//! Scope: `kb:read` everywhere.

pub mod export;
pub mod osv;
pub mod seed;

use axum::extract::{Path, State};
use axum::Json;
use chrono::{DateTime, Utc};
use rampart_core::{PageRequest, Scope, DEFAULT_PER_PAGE};
use rampart_store::{
    CatalogProduct, CveEnrichment, EpssView, ExploitView, KevView, StoredVulnerability,
    VulnerabilityGroup, VulnerabilitySummary,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::auth::Principal;
use crate::error::{ApiError, ApiQuery, ErrorBody};
use crate::state::AppState;
use rampart_engine::services::kb::{self, VulnerabilityQuery};

#[derive(Serialize, utoipa::ToSchema)]
pub struct SeverityView {
    /// `CVSS_V2`, `CVSS_V3`, `CVSS_V4`, `Ubuntu`, ...
    #[serde(rename = "type")]
    pub kind: String,
    /// The vector or rating as the source wrote it.
    pub vector: String,
    pub source: Option<String>,
    /// `2.0`, `3.0`, `3.1`, `4.0` when the vector was scored.
    pub cvss_version: Option<String>,
    pub base_score: Option<f64>,
    /// `none`, `low`, `medium`, `high`, `critical`.
    pub band: Option<String>,
    /// The record this severity comes from.
    pub record: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ReferenceView {
    #[serde(rename = "type")]
    pub kind: String,
    pub url: String,
    pub tags: Vec<String>,
    /// Points at an exploit or proof of concept.
    pub is_exploit: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AffectedView {
    pub ecosystem: String,
    pub name: String,
    pub purl: Option<String>,
    /// OSV ranges: `{type, repo?, events:[{introduced|fixed|last_affected|limit}]}`.
    #[schema(value_type = Vec<Object>)]
    pub ranges: Vec<Value>,
    pub versions: Vec<String>,
    /// The record this entry comes from.
    pub record: String,
}

/// The highest of a vulnerability's EPSS scores (one per CVE id of its alias group).
pub(crate) fn highest_epss(scores: Vec<EpssView>) -> Option<EpssView> {
    scores.into_iter().max_by(|a, b| a.epss.total_cmp(&b.epss))
}

/// A vulnerability: the record asked for, with everything its alias group knows.
#[derive(Serialize, utoipa::ToSchema)]
pub struct VulnerabilityDetail {
    pub id: String,
    /// Internal numeric id of this record (accepted by `/api/get-exploits?cve_id=`); `null`
    /// when no record of the CVE is stored and only KEV, EPSS or Exploit Database know it.
    pub internal_id: Option<i64>,
    /// The feed that wrote this record: osv, nvd, ghsa; `null` when no record is stored.
    pub source: Option<String>,
    /// Every other identifier of the group (CVE, GHSA, PYSEC, ...).
    pub aliases: Vec<String>,
    /// Other stored records of the same group.
    pub related_records: Vec<String>,
    pub summary: Option<String>,
    pub details: Option<String>,
    pub published: Option<DateTime<Utc>>,
    /// `null` when no record is stored.
    pub modified: Option<DateTime<Utc>>,
    pub withdrawn: Option<DateTime<Utc>>,
    /// Severities of every record in the group.
    pub severity: Vec<SeverityView>,
    pub cwe_ids: Vec<String>,
    pub references: Vec<ReferenceView>,
    /// Affected packages of every record in the group.
    pub affected: Vec<AffectedView>,
    /// NVD CPE configurations of every record in the group.
    #[schema(value_type = Vec<Object>)]
    pub cpe_configurations: Vec<Value>,
    pub kev: Option<KevView>,
    pub epss: Option<EpssView>,
    pub exploits: Vec<ExploitView>,
}

fn severity_views(member: &StoredVulnerability) -> impl Iterator<Item = SeverityView> + '_ {
    let advisory = &member.advisory;
    advisory
        .severity
        .iter()
        .chain(advisory.affected.iter().flat_map(|a| a.severity.iter()))
        .map(move |s| SeverityView {
            kind: s.kind.as_osv().to_string(),
            vector: s.score.clone(),
            source: s.source.clone(),
            cvss_version: s.computed.map(|c| match c.version {
                rampart_formats::advisory::CvssVersion::V2_0 => "2.0".to_string(),
                rampart_formats::advisory::CvssVersion::V3_0 => "3.0".to_string(),
                rampart_formats::advisory::CvssVersion::V3_1 => "3.1".to_string(),
                rampart_formats::advisory::CvssVersion::V4_0 => "4.0".to_string(),
            }),
            base_score: s.computed.map(|c| c.base_score),
            band: s.computed.map(|c| c.band.as_str().to_string()),
            record: advisory.id.clone(),
        })
}

impl From<VulnerabilityGroup> for VulnerabilityDetail {
    fn from(group: VulnerabilityGroup) -> Self {
        let primary = &group.primary.advisory;
        let mut severity = Vec::new();
        let mut affected = Vec::new();
        let mut cpe_configurations = Vec::new();
        let mut cwe_ids: Vec<String> = Vec::new();
        let mut references: Vec<ReferenceView> = Vec::new();
        // The primary record first, then the other members.
        let members = std::iter::once(&group.primary).chain(
            group
                .members
                .iter()
                .filter(|m| m.internal_id != group.primary.internal_id),
        );
        for member in members {
            let advisory = &member.advisory;
            for view in severity_views(member) {
                if !severity
                    .iter()
                    .any(|s: &SeverityView| s.vector == view.vector && s.source == view.source)
                {
                    severity.push(view);
                }
            }
            for cwe in &advisory.cwe_ids {
                if !cwe_ids.contains(cwe) {
                    cwe_ids.push(cwe.clone());
                }
            }
            for reference in &advisory.references {
                if !references.iter().any(|r| r.url == reference.url) {
                    references.push(ReferenceView {
                        kind: reference.kind.as_osv().to_string(),
                        url: reference.url.clone(),
                        tags: reference.tags.clone(),
                        is_exploit: reference.is_exploit,
                    });
                }
            }
            for entry in &advisory.affected {
                let Some(package) = &entry.package else {
                    continue;
                };
                let osv = rampart_formats::advisory::write_osv_json(
                    &rampart_formats::advisory::Advisory {
                        affected: vec![entry.clone()],
                        ..advisory.clone()
                    },
                );
                let ranges = osv["affected"][0]["ranges"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                affected.push(AffectedView {
                    ecosystem: package.ecosystem.clone(),
                    name: package.name.clone(),
                    purl: package.purl.clone(),
                    ranges,
                    versions: entry.versions.clone(),
                    record: advisory.id.clone(),
                });
            }
            for configuration in &advisory.cpe_configurations {
                cpe_configurations.push(serde_json::to_value(configuration).unwrap_or(Value::Null));
            }
        }
        VulnerabilityDetail {
            id: primary.id.clone(),
            internal_id: Some(group.primary.internal_id),
            source: Some(group.primary.source.clone()),
            aliases: group
                .identifiers
                .iter()
                .filter(|id| **id != primary.id)
                .cloned()
                .collect(),
            related_records: group
                .members
                .iter()
                .filter(|m| m.internal_id != group.primary.internal_id)
                .map(|m| m.advisory.id.clone())
                .collect(),
            summary: primary.summary.clone(),
            details: primary.details.clone(),
            published: primary.published,
            modified: Some(primary.modified),
            withdrawn: primary.withdrawn,
            severity,
            cwe_ids,
            references,
            affected,
            cpe_configurations,
            kev: group.kev.into_iter().next(),
            epss: highest_epss(group.epss),
            exploits: group.exploits,
        }
    }
}

impl VulnerabilityDetail {
    /// A CVE no stored record names, as the feeds keyed by CVE id alone know it.
    fn known_only_from_enrichment(cve_id: String, known: CveEnrichment) -> Self {
        VulnerabilityDetail {
            id: cve_id,
            internal_id: None,
            source: None,
            aliases: Vec::new(),
            related_records: Vec::new(),
            summary: None,
            details: None,
            published: None,
            modified: None,
            withdrawn: None,
            severity: Vec::new(),
            cwe_ids: Vec::new(),
            references: Vec::new(),
            affected: Vec::new(),
            cpe_configurations: Vec::new(),
            kev: known.kev.into_iter().next(),
            epss: highest_epss(known.epss),
            exploits: known.exploits,
        }
    }
}

/// A vulnerability by any of its identifiers (CVE, GHSA, PYSEC, RUSTSEC, GO, OSV, ...). A
/// CVE that no stored record names still answers when KEV, EPSS or Exploit Database know it
/// (with `internal_id: null` and no record data).
#[utoipa::path(get, path = "/api/v1/vulnerabilities/{id}", tag = "knowledge-base",
    security(("bearer" = ["kb:read"])),
    params(("id" = String, Path, description = "Any identifier of the vulnerability")),
    responses(
        (status = 200, description = "The vulnerability", body = VulnerabilityDetail),
        (status = 404, description = "No record, and for a CVE no KEV, EPSS or Exploit Database entry, knows this identifier", body = ErrorBody),
    ))]
pub async fn get_vulnerability(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<VulnerabilityDetail>, ApiError> {
    principal.require(Scope::KbRead)?;
    if let Some(group) = state.store.vulnerability_group(&id).await? {
        return Ok(Json(group.into()));
    }
    let cve_id = id.trim().to_uppercase();
    if cve_id.starts_with("CVE-") {
        let known = state
            .store
            .cve_enrichment(std::slice::from_ref(&cve_id))
            .await?;
        if !known.is_empty() {
            return Ok(Json(VulnerabilityDetail::known_only_from_enrichment(
                cve_id, known,
            )));
        }
    }
    Err(ApiError::not_found("vulnerability"))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VulnerabilityListQuery {
    /// OSV ecosystem (`PyPI`, `npm`, `crates.io`, `Debian:12`, ...).
    pub ecosystem: Option<String>,
    /// Package name (with `ecosystem`).
    pub package: Option<String>,
    /// Only records affecting this version (with `ecosystem`+`package`, `purl` or `cpe`).
    pub version: Option<String>,
    /// Package URL; its version (or `version`) selects affected records.
    pub purl: Option<String>,
    /// CPE 2.3 name; a concrete version (or `version`) selects by NVD version ranges.
    /// NVD configurations count as NVD means them (AND/OR nodes, negation); a match that
    /// also needs a platform the CPE alone does not show (a `vulnerable: false` node, e.g.
    /// "running on Windows") names it in `evidence.unverified_platforms`.
    pub cpe: Option<String>,
    /// With `cpe`: drop the matches that need such an unverified platform (default false).
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
    pub page: Option<u32>,
    /// 1..=500, default 50.
    pub per_page: Option<u32>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct VulnerabilityListItem {
    pub id: String,
    pub internal_id: i64,
    pub summary: Option<String>,
    pub published: Option<DateTime<Utc>>,
    pub modified: DateTime<Utc>,
    pub withdrawn: Option<DateTime<Utc>>,
    pub cvss_score: Option<f64>,
    pub severity: Option<String>,
    pub epss_score: Option<f64>,
    pub epss_percentile: Option<f64>,
    pub in_kev: bool,
    pub has_exploit: bool,
    /// Why the record matched a version-aware query.
    #[schema(value_type = Option<Object>)]
    pub evidence: Option<Value>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct VulnerabilityList {
    pub data: Vec<VulnerabilityListItem>,
    pub page: u32,
    pub per_page: u32,
    pub total: u64,
}

pub fn list_item(row: VulnerabilitySummary, evidence: Option<Value>) -> VulnerabilityListItem {
    VulnerabilityListItem {
        id: row.vuln_id,
        internal_id: row.internal_id,
        summary: row.summary,
        published: row.published,
        modified: row.modified,
        withdrawn: row.withdrawn,
        cvss_score: row.max_cvss,
        severity: row.severity_band,
        epss_score: row.epss,
        epss_percentile: row.epss_percentile,
        in_kev: row.in_kev,
        has_exploit: row.has_exploit_reference,
        evidence,
    }
}

/// Vulnerabilities by package (version-aware), purl, CPE, severity, KEV, text.
#[utoipa::path(get, path = "/api/v1/vulnerabilities", tag = "knowledge-base",
    security(("bearer" = ["kb:read"])),
    params(VulnerabilityListQuery),
    responses(
        (status = 200, description = "A page of vulnerability records", body = VulnerabilityList),
        (status = 400, description = "A bad parameter, named in the message", body = ErrorBody),
    ))]
pub async fn list_vulnerabilities(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<VulnerabilityListQuery>,
) -> Result<Json<VulnerabilityList>, ApiError> {
    principal.require(Scope::KbRead)?;
    let page = PageRequest::from_query(query.page, query.per_page, DEFAULT_PER_PAGE)?;
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
    let found = kb::search_vulnerabilities(&state, &principal, &search, page).await?;
    let total = found.total;
    Ok(Json(VulnerabilityList {
        data: found
            .with_evidence()
            .map(|(row, evidence)| list_item(row, evidence))
            .collect(),
        page: page.page(),
        per_page: page.per_page(),
        total,
    }))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CatalogQuery {
    /// Text in the vendor or product name.
    pub q: Option<String>,
    pub page: Option<u32>,
    /// 1..=500, default 50.
    pub per_page: Option<u32>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CatalogProductView {
    /// Numeric id, the `product_id` of `/api/product-cves`.
    pub id: i64,
    pub vendor: String,
    pub product: String,
    pub vulnerability_count: i64,
}

impl From<CatalogProduct> for CatalogProductView {
    fn from(p: CatalogProduct) -> Self {
        CatalogProductView {
            id: p.id,
            vendor: p.vendor,
            product: p.product,
            vulnerability_count: p.vulnerability_count,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CatalogList {
    pub data: Vec<CatalogProductView>,
    pub page: u32,
    pub per_page: u32,
    pub total: u64,
}

/// The CPE vendor/product catalogue derived from NVD configurations.
#[utoipa::path(get, path = "/api/v1/catalog/products", tag = "knowledge-base",
    security(("bearer" = ["kb:read"])),
    params(CatalogQuery),
    responses(
        (status = 200, description = "A page of catalogue products", body = CatalogList),
    ))]
pub async fn catalog_products(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(query): ApiQuery<CatalogQuery>,
) -> Result<Json<CatalogList>, ApiError> {
    principal.require(Scope::KbRead)?;
    let page = PageRequest::from_query(query.page, query.per_page, DEFAULT_PER_PAGE)?;
    let (rows, total) = state
        .store
        .catalog_products(query.q.as_deref(), page)
        .await?;
    Ok(Json(CatalogList {
        data: rows.into_iter().map(Into::into).collect(),
        page: page.page(),
        per_page: page.per_page(),
        total,
    }))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct KbStatus {
    /// The knowledge base's version in the store.
    pub kb_version: i64,
    /// The version the serving match index was built from (equal once it caught up).
    pub index_kb_version: i64,
    pub index_built_at: DateTime<Utc>,
    /// The version whose changes have been queued as re-analyses of the SBOMs they touch
    /// (equal to `kb_version` once findings are being brought up to date).
    pub reanalysis_kb_version: i64,
    #[schema(value_type = Object)]
    pub index: Value,
}

/// Knowledge-base and match-index state (for operators and for waiting on a rebuild).
#[utoipa::path(get, path = "/api/v1/kb/status", tag = "knowledge-base",
    security(("bearer" = ["kb:read"])),
    responses((status = 200, description = "Versions and index counts", body = KbStatus)))]
pub async fn kb_status(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<KbStatus>, ApiError> {
    principal.require(Scope::KbRead)?;
    let kb_version = state.store.kb_version().await?;
    let index = state.kb_index.load();
    Ok(Json(KbStatus {
        kb_version,
        index_kb_version: index.kb_version(),
        index_built_at: index.built_at(),
        reanalysis_kb_version: state.store.reanalysis_kb_version().await?,
        index: serde_json::to_value(index.stats()).unwrap_or(Value::Null),
    }))
}
