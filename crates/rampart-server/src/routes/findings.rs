//! Findings: what affects a release (one finding per component and vulnerability, with the
//! evidence of the match and the knowledge base's current severity, EPSS and KEV), a
//! product's summary, and the internal finding events.

use axum::extract::{Path, State};
use axum::Json;
use chrono::{DateTime, Utc};
use rampart_core::Scope;
use rampart_formats::advisory::SeverityBand;
use rampart_store::{FindingEvent, FindingFilter, FindingSort, FindingView, ProductFindingSummary};
use serde::{Deserialize, Serialize};

use super::{PageQuery, Paginated};
use crate::auth::Principal;
use crate::error::{ApiError, ApiQuery, ErrorBody, ErrorCode};
use crate::state::AppState;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FindingVulnerability {
    /// The record that matched.
    pub id: String,
    /// Every identifier of its alias group (CVE, GHSA, PYSEC, …), sorted.
    pub aliases: Vec<String>,
    pub summary: Option<String>,
    /// The feed the matched record came from (`osv`, `ghsa`, `nvd`, …).
    pub source: String,
    pub published: Option<DateTime<Utc>>,
}

/// What a finding reports: a vulnerability, or an informational advisory (RustSec's
/// unmaintained, unsound and notice advisories), which warns without reporting a
/// vulnerability, as cargo-audit's warnings do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum FindingKind {
    Vulnerability,
    Informational,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FindingComponent {
    pub id: i64,
    pub name: String,
    pub version: Option<String>,
    pub purl: Option<String>,
    pub cpe: Option<String>,
}

/// How the component matched the record.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FindingEvidence {
    /// `purl` or `cpe`.
    pub matched_by: String,
    /// The purl or CPE criteria the match was made on.
    pub identifier: String,
    /// What decided: the range (`introduced 1.0, fixed 1.4`), a listed version, or the CPE
    /// version bounds.
    pub detail: String,
    /// Index of the deciding range in the record's `affected[].ranges`.
    pub range_index: Option<i64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FindingBody {
    pub id: i64,
    pub release_id: i64,
    pub sbom_id: i64,
    pub vulnerability: FindingVulnerability,
    pub component: FindingComponent,
    pub evidence: FindingEvidence,
    /// `vulnerability`, or `informational` for an advisory that warns (see `informational`).
    pub kind: FindingKind,
    /// For an informational finding, what it warns of: `unmaintained`, `unsound` or
    /// `notice` (RustSec's kinds); null for a vulnerability.
    pub informational: Option<String>,
    /// `critical`, `high`, `medium`, `low`, `none`, or null when nothing rates it. An
    /// informational finding keeps the CVSS its alias group carries; `kind` tells it apart.
    pub severity: Option<String>,
    /// Highest CVSS base score in the alias group.
    pub cvss_score: Option<f64>,
    pub epss: Option<f64>,
    pub epss_percentile: Option<f64>,
    /// In CISA's Known Exploited Vulnerabilities catalogue.
    pub kev: bool,
    /// Versions that fix it (empty: no fix known).
    pub fixed_versions: Vec<String>,
    /// First found by the latest analysis of its SBOM.
    pub new: bool,
    pub first_seen_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
}

impl FindingBody {
    fn from_view(view: FindingView, aliases: Vec<String>) -> Self {
        FindingBody {
            id: view.id,
            release_id: view.release_id,
            sbom_id: view.sbom_id,
            vulnerability: FindingVulnerability {
                id: view.vuln_id,
                aliases,
                summary: view.summary,
                source: view.source,
                published: view.published,
            },
            component: FindingComponent {
                id: view.component_id,
                name: view.component_name,
                version: view.component_version,
                purl: view.component_purl,
                cpe: view.component_cpe,
            },
            evidence: FindingEvidence {
                matched_by: view.matched_by,
                identifier: view.identifier,
                detail: view.detail,
                range_index: view.range_index,
            },
            kind: if view.informational.is_some() {
                FindingKind::Informational
            } else {
                FindingKind::Vulnerability
            },
            informational: view.informational,
            severity: view.severity,
            cvss_score: view.cvss,
            epss: view.epss,
            epss_percentile: view.epss_percentile,
            kev: view.in_kev,
            fixed_versions: serde_json::from_str(&view.fixed_versions).unwrap_or_default(),
            new: view.is_new,
            first_seen_at: view.first_seen_at,
            last_seen_at: view.last_seen_at,
        }
    }
}

/// Filters and sort of a release's vulnerabilities.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FindingQuery {
    /// Comma-separated severities: `critical`, `high`, `medium`, `low`, `none`.
    pub severity: Option<String>,
    /// Only (true) or no (false) vulnerabilities in CISA KEV.
    pub kev: Option<bool>,
    /// Lowest EPSS probability, 0–1.
    pub epss_min: Option<f64>,
    /// Only findings with (true) or without (false) a fixed version.
    pub fixable: Option<bool>,
    /// Only findings new (true) or not new (false) in the latest analysis.
    pub new: Option<bool>,
    /// `severity` (highest CVSS first, the default), `epss` (highest first) or `newest`.
    pub sort: Option<String>,
    /// Only findings of this SBOM.
    pub sbom_id: Option<i64>,
    /// 1-based page number [default: 1].
    pub page: Option<u32>,
    /// Items per page, 1–500 [default: 50].
    pub per_page: Option<u32>,
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::BadRequest, message)
}

impl FindingQuery {
    fn filter(&self) -> Result<(FindingFilter, FindingSort), ApiError> {
        let mut severities = Vec::new();
        for severity in self.severity.iter().flat_map(|s| s.split(',')) {
            let severity = severity.trim().to_lowercase();
            if severity.is_empty() {
                continue;
            }
            if SeverityBand::parse(&severity).is_none() {
                return Err(bad(format!(
                    "`severity` must be one or more of {} (comma-separated), not {severity:?}",
                    SeverityBand::ALL.map(SeverityBand::as_str).join(", ")
                )));
            }
            severities.push(severity);
        }
        if let Some(min) = self.epss_min {
            if !(0.0..=1.0).contains(&min) {
                return Err(bad("`epss_min` must be between 0 and 1"));
            }
        }
        let sort = match self.sort.as_deref().map(str::trim) {
            None | Some("") | Some("severity") => FindingSort::Severity,
            Some("epss") => FindingSort::Epss,
            Some("newest") => FindingSort::Newest,
            Some(other) => {
                return Err(bad(format!(
                    "`sort` must be severity, epss or newest, not {other:?}"
                )))
            }
        };
        Ok((
            FindingFilter {
                sbom_id: self.sbom_id,
                severities,
                kev: self.kev,
                epss_min: self.epss_min,
                fixable: self.fixable,
                new: self.new,
            },
            sort,
        ))
    }
}

/// A page of findings with their alias groups filled in.
pub async fn finding_page(
    state: &AppState,
    team_id: i64,
    release_id: i64,
    filter: &FindingFilter,
    sort: FindingSort,
    request: rampart_store::PageRequest,
) -> Result<Paginated<FindingBody>, ApiError> {
    let page = state
        .store
        .release_findings(team_id, release_id, filter, sort, request)
        .await?;
    let groups: Vec<i64> = page.items.iter().map(|f| f.group_id).collect();
    let aliases = state.store.group_identifiers(&groups).await?;
    Ok(Paginated::new(page, request, |view| {
        let group = aliases.get(&view.group_id).cloned().unwrap_or_default();
        FindingBody::from_view(view, group)
    }))
}

/// The vulnerabilities affecting a release: one finding per component and vulnerability,
/// with the evidence of the match; filters and sorts as documented.
#[utoipa::path(get, path = "/api/v1/releases/{id}/vulnerabilities", tag = "findings",
    security(("bearer" = ["vulnerabilities:read"])),
    params(("id" = i64, Path, description = "Release id"), FindingQuery),
    responses(
        (status = 200, description = "One page of findings", body = Paginated<FindingBody>),
        (status = 400, description = "A filter is malformed", body = ErrorBody),
        (status = 404, description = "No such release in this team", body = ErrorBody),
    ))]
pub async fn release_vulnerabilities(
    State(state): State<AppState>,
    principal: Principal,
    Path(release_id): Path<i64>,
    query: Result<ApiQuery<FindingQuery>, ApiError>,
) -> Result<Json<Paginated<FindingBody>>, ApiError> {
    principal.require(Scope::VulnerabilitiesRead)?;
    let ApiQuery(query) = query?;
    let (filter, sort) = query.filter()?;
    let request = PageQuery {
        page: query.page,
        per_page: query.per_page,
    }
    .to_request()?;
    state
        .store
        .release(principal.tenant(), release_id)
        .await?
        .ok_or_else(|| ApiError::not_found("release"))?;
    let page = finding_page(
        &state,
        principal.team_id,
        release_id,
        &filter,
        sort,
        request,
    )
    .await?;
    Ok(Json(page))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProductSummaryBody {
    pub product_id: i64,
    /// Distinct vulnerabilities per severity (`critical` … `none`, and `unknown`).
    pub by_severity: std::collections::BTreeMap<String, i64>,
    /// Distinct vulnerabilities across the product's releases.
    pub vulnerabilities: i64,
    /// Findings (component × vulnerability) across the product's releases.
    pub findings: i64,
    /// Distinct vulnerabilities in CISA KEV.
    pub kev: i64,
    /// Findings first seen by the latest analysis of their SBOM.
    pub new_findings: i64,
    /// When an analysis of one of its SBOMs last completed.
    pub last_analysed_at: Option<DateTime<Utc>>,
}

/// Counts over a product's open findings.
#[utoipa::path(get, path = "/api/v1/products/{id}/vulnerability-summary", tag = "findings",
    security(("bearer" = ["vulnerabilities:read"])),
    params(("id" = i64, Path, description = "Product id")),
    responses(
        (status = 200, description = "The summary", body = ProductSummaryBody),
        (status = 404, description = "No such product in this team", body = ErrorBody),
    ))]
pub async fn product_summary(
    State(state): State<AppState>,
    principal: Principal,
    Path(product_id): Path<i64>,
) -> Result<Json<ProductSummaryBody>, ApiError> {
    principal.require(Scope::VulnerabilitiesRead)?;
    let summary: ProductFindingSummary = state
        .store
        .product_finding_summary(principal.tenant(), product_id)
        .await?
        .ok_or_else(|| ApiError::not_found("product"))?;
    Ok(Json(ProductSummaryBody {
        product_id,
        by_severity: summary.by_severity,
        vulnerabilities: summary.vulnerabilities,
        findings: summary.findings,
        kev: summary.kev,
        new_findings: summary.new_findings,
        last_analysed_at: summary.last_analysed_at,
    }))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EventQuery {
    /// Only events after this id (the last one seen) [default: 0].
    pub after: Option<i64>,
    /// At most this many, 1–500 [default: 100]: the page size, as on every list.
    #[param(minimum = 1, maximum = 500)]
    pub per_page: Option<i64>,
    /// The same as `per_page` (the name this cursor list first had).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

impl EventQuery {
    /// `per_page` or its older name `limit` (the same value when both are sent).
    fn page_size(&self) -> Result<i64, ApiError> {
        let size = match (self.per_page, self.limit) {
            (Some(per_page), Some(limit)) if per_page != limit => {
                return Err(bad("`per_page` and `limit` name the same thing: send one"))
            }
            (per_page, limit) => per_page.or(limit).unwrap_or(100),
        };
        if (1..=i64::from(rampart_core::MAX_PER_PAGE)).contains(&size) {
            Ok(size)
        } else {
            Err(bad("`per_page` (or `limit`) must be between 1 and 500"))
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FindingEventBody {
    pub id: i64,
    /// `finding.new` or `finding.resolved`.
    pub kind: String,
    pub release_id: i64,
    pub sbom_id: i64,
    pub finding_id: i64,
    pub analysis_id: i64,
    pub created_at: DateTime<Utc>,
}

impl From<FindingEvent> for FindingEventBody {
    fn from(event: FindingEvent) -> Self {
        FindingEventBody {
            id: event.id,
            kind: event.kind,
            release_id: event.release_id,
            sbom_id: event.sbom_id,
            finding_id: event.finding_id,
            analysis_id: event.analysis_id,
            created_at: event.created_at,
        }
    }
}

/// The team's finding events (new and resolved findings), oldest first: what webhooks and
/// alerts consume.
#[utoipa::path(get, path = "/api/v1/finding-events", tag = "findings",
    security(("bearer" = ["vulnerabilities:read"])),
    params(EventQuery),
    responses(
        (status = 200, description = "Events after `after`", body = Vec<FindingEventBody>),
        (status = 400, description = "A parameter is malformed", body = ErrorBody),
    ))]
pub async fn finding_events(
    State(state): State<AppState>,
    principal: Principal,
    query: Result<ApiQuery<EventQuery>, ApiError>,
) -> Result<Json<Vec<FindingEventBody>>, ApiError> {
    principal.require(Scope::VulnerabilitiesRead)?;
    let ApiQuery(query) = query?;
    let limit = query.page_size()?;
    let events = state
        .store
        .finding_events(principal.tenant(), query.after.unwrap_or(0), limit)
        .await?;
    Ok(Json(events.into_iter().map(Into::into).collect()))
}
