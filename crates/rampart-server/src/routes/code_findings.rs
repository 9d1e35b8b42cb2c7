//! The findings API across kinds (`GET /api/v1/findings?kind=code|dependency`), a code
//! finding with its history, its triage, and the team's SLA days. The rules are
//! `rampart_engine::services::code_findings`'s.

use axum::extract::{Path, State};
use axum::Json;
use chrono::{DateTime, Utc};
use rampart_core::Scope;
use rampart_engine::services::code_findings::{
    self, CodeFinding, CodeFindingCriteria, SlaDays, TriageRequest,
};
use rampart_engine::services::findings::{self, FindingCriteria};
use rampart_store::CodeFindingEvent;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{PageQuery, Paginated};
use crate::auth::{Principal, RequestMeta};
use crate::bodies::FindingBody;
use crate::error::{ApiError, ApiJson, ApiQuery, ErrorBody};
use crate::state::AppState;

/// Filters, sort and page of the findings list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FindingsQuery {
    /// `code` (SARIF uploads; the default) or `dependency` (SBOM analysis, across the
    /// team's releases).
    #[param(pattern = "^$|^(code|dependency)$")]
    pub kind: Option<String>,
    /// Only findings of this product: `kind=dependency`, of its releases; `kind=code`, of the
    /// repositories its integrations' project mappings tie to it.
    pub product: Option<i64>,
    /// Only findings of this integration.
    pub integration_id: Option<i64>,
    /// Only findings of this repository.
    pub repository: Option<String>,
    /// Only findings of this branch.
    pub branch: Option<String>,
    /// Only findings of this tool (the SARIF driver's name).
    pub tool: Option<String>,
    /// Only findings of this rule id.
    pub rule: Option<String>,
    /// Comma-separated severities: `critical`, `high`, `medium`, `low`, `none`.
    #[param(pattern = "^$|^(critical|high|medium|low|none)(,(critical|high|medium|low|none))*$")]
    pub severity: Option<String>,
    /// Comma-separated statuses. `kind=code`: `open`, `fixed`, `false_positive`,
    /// `accepted_risk`, `suppressed` (an accepted risk past its expiry counts as open).
    /// `kind=dependency`: triage states (`untriaged`, `in_triage`, `exploitable`, …).
    #[param(
        pattern = "^$|^(open|fixed|false_positive|accepted_risk|suppressed|resolved|resolved_with_pedigree|exploitable|in_triage|not_affected|untriaged)(,(open|fixed|false_positive|accepted_risk|suppressed|resolved|resolved_with_pedigree|exploitable|in_triage|not_affected|untriaged))*$"
    )]
    pub status: Option<String>,
    /// `kind=code`: `severity` (most severe first, the default), `newest`, `oldest` or
    /// `path`; `kind=dependency`: `severity`, `epss` or `newest`.
    #[param(pattern = "^$|^(severity|newest|oldest|path|epss)$")]
    pub sort: Option<String>,
    /// 1-based page number [default: 1].
    pub page: Option<u32>,
    /// Items per page, 1–500 [default: 50].
    pub per_page: Option<u32>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CodeRuleBody {
    pub id: String,
    pub name: Option<String>,
    pub help: Option<String>,
    pub help_uri: Option<String>,
    pub tags: Vec<String>,
    /// `CWE-89`, …
    pub cwes: Vec<String>,
    /// OWASP categories (`A03:2021`, `A1`).
    pub owasp: Vec<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CodeLocationBody {
    pub path: Option<String>,
    pub start_line: Option<i64>,
    pub start_column: Option<i64>,
    pub end_line: Option<i64>,
    pub end_column: Option<i64>,
    pub snippet: Option<String>,
}

/// A finding from a SARIF result location.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CodeFindingBody {
    pub id: i64,
    /// Always `code`.
    pub kind: String,
    pub integration_id: i64,
    /// The integration was deleted; the finding stays.
    pub orphaned: bool,
    pub repository: String,
    pub branch: String,
    pub commit_sha: Option<String>,
    pub tool: String,
    pub tool_version: Option<String>,
    pub rule: CodeRuleBody,
    /// The SARIF level: `error`, `warning`, `note` or `none`.
    pub level: String,
    /// The rule's or result's `security-severity` (0–10).
    pub security_severity: Option<f64>,
    /// `critical`, `high`, `medium`, `low` or `none`.
    pub severity: String,
    pub message: String,
    pub location: CodeLocationBody,
    /// The result's `codeFlows`, as evidence of the path.
    #[schema(value_type = Option<Vec<Object>>)]
    pub code_flows: Option<Value>,
    /// Fingerprints as given (`partial:` marks partial ones).
    #[schema(value_type = Object)]
    pub fingerprints: Value,
    /// `open`, `fixed`, `false_positive`, `accepted_risk` or `suppressed` (an accepted risk
    /// past its expiry is `open`).
    pub status: String,
    pub suppression_justification: Option<String>,
    pub triage_reason: Option<String>,
    /// When an accepted risk expires.
    pub accepted_until: Option<DateTime<Utc>>,
    /// First seen plus the team's SLA days for the severity, while `open` (none once fixed,
    /// a false positive, an accepted risk or suppressed).
    pub due_at: Option<DateTime<Utc>>,
    /// Open past its due date.
    pub overdue: bool,
    pub first_seen_at: DateTime<Utc>,
    pub first_import_id: i64,
    /// The last import that changed the finding.
    pub last_import_id: i64,
    pub updated_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_mode: Option<bool>,
}

fn list_field(json: &str) -> Vec<String> {
    serde_json::from_str(json).unwrap_or_default()
}

impl From<CodeFinding> for CodeFindingBody {
    fn from(finding: CodeFinding) -> Self {
        let CodeFinding {
            record,
            status,
            due_at,
            overdue,
        } = finding;
        CodeFindingBody {
            id: record.id,
            kind: "code".to_string(),
            integration_id: record.integration_id,
            orphaned: record.orphaned,
            repository: record.repository,
            branch: record.branch,
            commit_sha: record.commit_sha,
            tool: record.tool,
            tool_version: record.tool_version,
            rule: CodeRuleBody {
                id: record.rule_id,
                name: record.rule_name,
                help: record.rule_help,
                help_uri: record.help_uri,
                tags: list_field(&record.tags),
                cwes: list_field(&record.cwes),
                owasp: list_field(&record.owasp),
            },
            level: record.level,
            security_severity: record.security_severity,
            severity: record.severity,
            message: record.message,
            location: CodeLocationBody {
                path: record.path,
                start_line: record.start_line,
                start_column: record.start_column,
                end_line: record.end_line,
                end_column: record.end_column,
                snippet: record.snippet,
            },
            code_flows: record
                .code_flows
                .as_deref()
                .and_then(|json| serde_json::from_str(json).ok()),
            fingerprints: serde_json::from_str(&record.fingerprints).unwrap_or_default(),
            status: status.as_str().to_string(),
            suppression_justification: record.suppression_justification,
            triage_reason: record.triage_reason,
            accepted_until: record.accepted_until,
            due_at,
            overdue,
            first_seen_at: record.first_seen_at,
            first_import_id: record.first_import_id,
            last_import_id: record.last_import_id,
            updated_at: record.updated_at,
            test_mode: record.is_test.then_some(true),
        }
    }
}

/// A page of findings of one kind.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum FindingsPage {
    Code(Paginated<CodeFindingBody>),
    Dependency(Paginated<FindingBody>),
}

fn not_for(kind: &str, parameter: &str) -> ApiError {
    ApiError::new(
        rampart_engine::ErrorCode::BadRequest,
        format!("`{parameter}` is not a filter of kind={kind} findings"),
    )
}

/// The team's findings of one kind, filtered, sorted and paged: `kind=code` from SARIF
/// uploads, `kind=dependency` from SBOM analysis across the team's releases (also needs
/// `vulnerabilities:read`).
#[utoipa::path(get, path = "/api/v1/findings", tag = "findings",
    security(("bearer" = ["findings:read"])),
    params(FindingsQuery),
    responses(
        (status = 200, description = "One page of findings of the kind", body = FindingsPage),
        (status = 400, description = "A filter is malformed or not one of the kind (named)", body = ErrorBody),
        (status = 404, description = "`product` is not a product of this team", body = ErrorBody),
    ))]
pub async fn list_findings(
    State(state): State<AppState>,
    principal: Principal,
    query: Result<ApiQuery<FindingsQuery>, ApiError>,
) -> Result<Json<FindingsPage>, ApiError> {
    principal.require(Scope::FindingsRead)?;
    let ApiQuery(query) = query?;
    let request = PageQuery {
        page: query.page,
        per_page: query.per_page,
    }
    .to_request()?;
    match query.kind.as_deref().map(str::trim) {
        None | Some("") | Some("code") => {
            let criteria = CodeFindingCriteria {
                integration_id: query.integration_id,
                repository: query.repository.as_deref(),
                branch: query.branch.as_deref(),
                tool: query.tool.as_deref(),
                rule: query.rule.as_deref(),
                severity: query.severity.as_deref(),
                status: query.status.as_deref(),
                sort: query.sort.as_deref(),
            };
            let page = code_findings::list(
                &state,
                &principal,
                criteria.resolve()?,
                query.product,
                request,
            )
            .await?;
            Ok(Json(FindingsPage::Code(Paginated::new(
                page,
                request,
                CodeFindingBody::from,
            ))))
        }
        Some("dependency") => {
            for (name, given) in [
                ("integration_id", query.integration_id.is_some()),
                ("repository", query.repository.is_some()),
                ("branch", query.branch.is_some()),
                ("tool", query.tool.is_some()),
                ("rule", query.rule.is_some()),
            ] {
                if given {
                    return Err(not_for("dependency", name));
                }
            }
            let criteria = FindingCriteria {
                severity: query.severity.as_deref(),
                state: query.status.as_deref(),
                sort: query.sort.as_deref(),
                ..Default::default()
            };
            let page = findings::team_vulnerabilities(
                &state,
                &principal,
                query.product,
                criteria.resolve()?,
                request,
            )
            .await?;
            Ok(Json(FindingsPage::Dependency(Paginated::new(
                page.into_items(),
                request,
                FindingBody::from,
            ))))
        }
        Some(other) => Err(ApiError::new(
            rampart_engine::ErrorCode::BadRequest,
            format!("`kind` must be code or dependency, not {other:?}"),
        )),
    }
}

/// One code finding.
#[utoipa::path(get, path = "/api/v1/code-findings/{id}", tag = "findings",
    security(("bearer" = ["findings:read"])),
    params(("id" = i64, Path, description = "Code finding id")),
    responses(
        (status = 200, description = "The finding", body = CodeFindingBody),
        (status = 404, description = "No such finding in this team", body = ErrorBody),
    ))]
pub async fn get_code_finding(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Json<CodeFindingBody>, ApiError> {
    Ok(Json(
        code_findings::get(&state, &principal, id).await?.into(),
    ))
}

/// Triages a code finding: `open`, `false_positive` (with a reason), `accepted_risk` (with a
/// reason and an expiry) or `fixed`. Recorded in its history and the audit log; later imports
/// keep `false_positive` and `accepted_risk`.
#[utoipa::path(post, path = "/api/v1/code-findings/{id}/triage", tag = "findings",
    security(("bearer" = ["findings:write"])),
    params(("id" = i64, Path, description = "Code finding id")),
    request_body = TriageRequest,
    responses(
        (status = 200, description = "The finding as triaged", body = CodeFindingBody),
        (status = 404, description = "No such finding in this team", body = ErrorBody),
        (status = 422, description = "A field is invalid (named)", body = ErrorBody),
    ))]
pub async fn triage_code_finding(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    Path(id): Path<i64>,
    body: Result<ApiJson<TriageRequest>, ApiError>,
) -> Result<Json<CodeFindingBody>, ApiError> {
    principal.require(Scope::FindingsWrite)?;
    let ApiJson(body) = body?;
    let finding = code_findings::triage(&state, &principal, &meta, id, body).await?;
    Ok(Json(finding.into()))
}

/// One entry of a finding's history.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CodeFindingHistoryEntry {
    /// The import that made the change (`null`: a person's triage).
    pub import_id: Option<i64>,
    /// `null` for the first sighting.
    pub from_status: Option<String>,
    pub to_status: String,
    pub reason: Option<String>,
    pub accepted_until: Option<DateTime<Utc>>,
    pub actor: String,
    pub at: DateTime<Utc>,
}

impl From<CodeFindingEvent> for CodeFindingHistoryEntry {
    fn from(event: CodeFindingEvent) -> Self {
        CodeFindingHistoryEntry {
            import_id: event.import_id,
            from_status: event.from_status,
            to_status: event.to_status,
            reason: event.reason,
            accepted_until: event.accepted_until,
            actor: event.actor,
            at: event.created_at,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CodeFindingHistory {
    pub finding_id: i64,
    /// Oldest first: the import that first reported it, then every status change.
    pub entries: Vec<CodeFindingHistoryEntry>,
}

/// A code finding's history: first seen, closed and reopened by imports, triaged by people.
#[utoipa::path(get, path = "/api/v1/code-findings/{id}/history", tag = "findings",
    security(("bearer" = ["findings:read"])),
    params(("id" = i64, Path, description = "Code finding id")),
    responses(
        (status = 200, description = "The history", body = CodeFindingHistory),
        (status = 404, description = "No such finding in this team", body = ErrorBody),
    ))]
pub async fn code_finding_history(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Json<CodeFindingHistory>, ApiError> {
    let (record, events) = code_findings::history(&state, &principal, id).await?;
    // The status before the first change is the one the finding was created with.
    let created_as = events
        .first()
        .and_then(|event| event.from_status.clone())
        .unwrap_or_else(|| record.status.clone());
    let first = CodeFindingHistoryEntry {
        import_id: Some(record.first_import_id),
        from_status: None,
        to_status: created_as,
        reason: None,
        accepted_until: None,
        actor: "import".to_string(),
        at: record.first_seen_at,
    };
    let mut entries = vec![first];
    entries.extend(events.into_iter().map(Into::into));
    Ok(Json(CodeFindingHistory {
        finding_id: record.id,
        entries,
    }))
}

/// The caller's team's SLA: days from first seen to due, per severity (`null`: no due date).
#[utoipa::path(get, path = "/api/v1/findings/sla", tag = "findings",
    security(("bearer" = ["findings:read"])),
    responses((status = 200, description = "Days per severity", body = SlaDays)))]
pub async fn get_sla(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<SlaDays>, ApiError> {
    Ok(Json(code_findings::get_sla(&state, &principal).await?))
}

/// Sets the caller's team's SLA days per severity (1–3650, or `null`).
#[utoipa::path(put, path = "/api/v1/findings/sla", tag = "findings",
    security(("bearer" = ["teams:manage"])),
    request_body = SlaDays,
    responses(
        (status = 200, description = "The stored SLA", body = SlaDays),
        (status = 422, description = "A value is out of range (named)", body = ErrorBody),
    ))]
pub async fn set_sla(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    body: Result<ApiJson<SlaDays>, ApiError>,
) -> Result<Json<SlaDays>, ApiError> {
    principal.require(Scope::TeamsManage)?;
    let ApiJson(body) = body?;
    Ok(Json(
        code_findings::set_sla(&state, &principal, &meta, body).await?,
    ))
}
