//! Findings: what affects a release (one finding per component and vulnerability, with the
//! evidence of the match and the knowledge base's current severity, EPSS and KEV), a
//! product's summary, and the internal finding events.

use axum::extract::{Path, State};
use axum::response::Response;
use axum::Json;
use chrono::{DateTime, Utc};
use rampart_core::PageRequest;
use rampart_engine::services::findings::{self, FindingCriteria};
use rampart_store::FindingEvent;
use serde::{Deserialize, Serialize};

use super::{PageQuery, Paginated};
use crate::auth::Principal;
use crate::bodies::FindingBody;
use crate::document_download::json_attachment;
use crate::error::{ApiError, ApiQuery, ErrorBody, ErrorCode};
use crate::state::AppState;

/// Filters and sort of a release's vulnerabilities.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FindingQuery {
    /// Comma-separated severities: `critical`, `high`, `medium`, `low`, `none`.
    #[param(pattern = "^$|^(critical|high|medium|low|none)(,(critical|high|medium|low|none))*$")]
    pub severity: Option<String>,
    /// Only (true) or no (false) vulnerabilities in CISA KEV.
    pub kev: Option<bool>,
    /// Lowest EPSS probability, 0–1.
    #[param(minimum = 0, maximum = 1)]
    pub epss_min: Option<f64>,
    /// Only findings with (true) or without (false) a fixed version.
    pub fixable: Option<bool>,
    /// Only findings new (true) or not new (false) in the latest analysis.
    pub new: Option<bool>,
    /// `severity` (highest CVSS first, the default), `epss` (highest first) or `newest`.
    #[param(pattern = "^$|^(severity|epss|newest)$")]
    pub sort: Option<String>,
    /// Only findings of this SBOM.
    pub sbom_id: Option<i64>,
    /// Also findings whose decision suppresses them (`not_affected`, `false_positive`,
    /// `resolved`) [default: false].
    pub include_suppressed: Option<bool>,
    /// Comma-separated triage states (`exploitable`, `in_triage`, …, or `untriaged` for no
    /// decision); naming a suppressed state shows it.
    #[param(
        pattern = "^$|^(resolved|resolved_with_pedigree|exploitable|in_triage|false_positive|not_affected|untriaged)(,(resolved|resolved_with_pedigree|exploitable|in_triage|false_positive|not_affected|untriaged))*$"
    )]
    pub state: Option<String>,
    /// 1-based page number [default: 1].
    pub page: Option<u32>,
    /// Items per page, 1–500 [default: 50].
    pub per_page: Option<u32>,
}

impl FindingQuery {
    fn criteria(&self) -> FindingCriteria<'_> {
        FindingCriteria {
            severity: self.severity.as_deref(),
            kev: self.kev,
            epss_min: self.epss_min,
            fixable: self.fixable,
            new: self.new,
            sort: self.sort.as_deref(),
            sbom_id: self.sbom_id,
            include_suppressed: self.include_suppressed,
            state: self.state.as_deref(),
        }
    }
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
    principal.require(rampart_core::Scope::VulnerabilitiesRead)?;
    let ApiQuery(query) = query?;
    let filter = query.criteria().resolve()?;
    let request = PageQuery {
        page: query.page,
        per_page: query.per_page,
    }
    .to_request()?;
    let page =
        findings::release_vulnerabilities(&state, &principal, release_id, filter, request).await?;
    Ok(Json(Paginated::new(
        page.into_items(),
        request,
        FindingBody::from,
    )))
}

/// Filters and sort of a release's findings export (those of the listing, without paging).
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FindingExportQuery {
    /// Comma-separated severities: `critical`, `high`, `medium`, `low`, `none`.
    #[param(pattern = "^$|^(critical|high|medium|low|none)(,(critical|high|medium|low|none))*$")]
    pub severity: Option<String>,
    /// Only (true) or no (false) vulnerabilities in CISA KEV.
    pub kev: Option<bool>,
    /// Lowest EPSS probability, 0–1.
    #[param(minimum = 0, maximum = 1)]
    pub epss_min: Option<f64>,
    /// Only findings with (true) or without (false) a fixed version.
    pub fixable: Option<bool>,
    /// Only findings new (true) or not new (false) in the latest analysis.
    pub new: Option<bool>,
    /// `severity` (highest CVSS first, the default), `epss` (highest first) or `newest`.
    #[param(pattern = "^$|^(severity|epss|newest)$")]
    pub sort: Option<String>,
    /// Only findings of this SBOM.
    pub sbom_id: Option<i64>,
    /// Also findings whose decision suppresses them [default: false].
    pub include_suppressed: Option<bool>,
    /// Comma-separated triage states (`exploitable`, `in_triage`, …, or `untriaged`).
    #[param(
        pattern = "^$|^(resolved|resolved_with_pedigree|exploitable|in_triage|false_positive|not_affected|untriaged)(,(resolved|resolved_with_pedigree|exploitable|in_triage|false_positive|not_affected|untriaged))*$"
    )]
    pub state: Option<String>,
}

/// Findings a release export holds at most; more is refused (422), to be narrowed.
const MAX_EXPORT_FINDINGS: i64 = 50_000;

/// Every finding of a release (the filters and sort of `GET /api/v1/releases/{id}/vulnerabilities`)
/// as one JSON file: an array of the listing's items, in its order.
#[utoipa::path(get, path = "/api/v1/releases/{id}/vulnerabilities/export", tag = "findings",
    security(("bearer" = ["vulnerabilities:read"])),
    params(("id" = i64, Path, description = "Release id"), FindingExportQuery),
    responses(
        (status = 200, description = "A JSON file: every matching finding", body = Vec<FindingBody>),
        (status = 400, description = "A filter is malformed", body = ErrorBody),
        (status = 404, description = "No such release in this team", body = ErrorBody),
        (status = 422, description = "More than 50,000 findings match", body = ErrorBody),
    ))]
pub async fn release_vulnerabilities_export(
    State(state): State<AppState>,
    principal: Principal,
    Path(release_id): Path<i64>,
    query: Result<ApiQuery<FindingExportQuery>, ApiError>,
) -> Result<Response, ApiError> {
    principal.require(rampart_core::Scope::VulnerabilitiesRead)?;
    let ApiQuery(query) = query?;
    let criteria = FindingCriteria {
        severity: query.severity.as_deref(),
        kev: query.kev,
        epss_min: query.epss_min,
        fixable: query.fixable,
        new: query.new,
        sort: query.sort.as_deref(),
        sbom_id: query.sbom_id,
        include_suppressed: query.include_suppressed,
        state: query.state.as_deref(),
    };
    let (filter, sort) = criteria.resolve()?;
    let mut items: Vec<FindingBody> = Vec::new();
    for page_number in 1.. {
        let request = PageRequest::new(page_number, 500)?;
        let page = findings::release_vulnerabilities(
            &state,
            &principal,
            release_id,
            (filter.clone(), sort),
            request,
        )
        .await?
        .into_items();
        if page.total > MAX_EXPORT_FINDINGS {
            return Err(ApiError::new(
                ErrorCode::ValidationFailed,
                format!(
                    "the release has {} matching findings; an export holds at most {MAX_EXPORT_FINDINGS}: narrow it with the listing's filters",
                    page.total
                ),
            ));
        }
        let before = items.len();
        items.extend(page.items.into_iter().map(FindingBody::from));
        if items.len() as i64 >= page.total || items.len() == before {
            break;
        }
    }
    Ok(json_attachment(
        &format!("release-{release_id}-findings.json"),
        &items,
    ))
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

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SummaryQuery {
    /// Also count findings whose decision suppresses them [default: false].
    pub include_suppressed: Option<bool>,
}

/// Counts over a product's open findings (without those a decision suppresses, unless
/// asked).
#[utoipa::path(get, path = "/api/v1/products/{id}/vulnerability-summary", tag = "findings",
    security(("bearer" = ["vulnerabilities:read"])),
    params(("id" = i64, Path, description = "Product id"), SummaryQuery),
    responses(
        (status = 200, description = "The summary", body = ProductSummaryBody),
        (status = 404, description = "No such product in this team", body = ErrorBody),
    ))]
pub async fn product_summary(
    State(state): State<AppState>,
    principal: Principal,
    Path(product_id): Path<i64>,
    query: Result<ApiQuery<SummaryQuery>, ApiError>,
) -> Result<Json<ProductSummaryBody>, ApiError> {
    principal.require(rampart_core::Scope::VulnerabilitiesRead)?;
    let ApiQuery(query) = query?;
    let summary = findings::product_summary(
        &state,
        &principal,
        product_id,
        query.include_suppressed.unwrap_or(false),
    )
    .await?;
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
    principal.require(rampart_core::Scope::VulnerabilitiesRead)?;
    let ApiQuery(query) = query?;
    let events =
        findings::finding_events(&state, &principal, query.after, query.per_page, query.limit)
            .await?;
    Ok(Json(events.into_iter().map(Into::into).collect()))
}
