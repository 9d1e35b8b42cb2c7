//! Incidents: seed 002's `POST /v1/incidents` (its field names and severity enum; read back at
//! `GET /v1/incidents/{id}`) and the canonical `/api/v1/incidents` resource, one service
//! (`rampart_engine::services::incidents`) and one JSON body. Creation triages, sets SLA due
//! dates, deduplicates (a repeat of an open incident answers 200 with `deduplicated: true`
//! instead of 201) and assigns; then the status workflow, changes, comments, links, the
//! timeline, the team's MTTA/MTTR and its incident settings.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use rampart_core::incident::Triage;
use rampart_core::Scope;
use rampart_engine::services::incidents::{
    self, CommentRequest, Incident, IncidentCriteria, IncidentRequest, IncidentSettings,
    IncidentUpdate, LinkRequest, StatusRequest,
};
use rampart_store::{IncidentMetrics, IncidentTimelineEntry};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{PageQuery, Paginated};
use crate::auth::{Principal, RequestMeta};
use crate::error::{ApiError, ApiJson, ApiQuery, ErrorBody};
use crate::state::AppState;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IncidentAssignee {
    pub user_id: i64,
    pub email: Option<String>,
}

/// What the incident is linked to.
#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
pub struct IncidentLinksBody {
    /// Vulnerability ids (CVE, GHSA, …).
    pub vulnerabilities: Vec<String>,
    /// Dependency finding ids.
    pub findings: Vec<i64>,
    /// Code finding ids.
    pub code_findings: Vec<i64>,
    pub scans: Vec<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TriageVulnerabilityBody {
    pub id: String,
    /// Listed in CISA KEV (under any alias).
    pub in_kev: bool,
    /// Highest EPSS probability over its aliases.
    pub epss: Option<f64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TriageAssetBody {
    /// The affected system as reported.
    pub system: String,
    /// `product`, `release`, `ip`, `cidr` or `unknown`.
    pub kind: String,
    /// The team's product or release id.
    pub id: Option<i64>,
    pub name: Option<String>,
    /// Open (not suppressed) findings of the asset.
    pub open_findings: i64,
    /// Distinct critical vulnerabilities among them.
    pub open_critical: i64,
    /// Distinct CISA KEV vulnerabilities among them.
    pub open_kev: i64,
}

/// Automated triage: the priority and why.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TriageBody {
    /// `P1` (most urgent) to `P4`, as triage computed it.
    pub priority: String,
    /// One line per rule that applied.
    pub reasons: Vec<String>,
    pub vulnerabilities: Vec<TriageVulnerabilityBody>,
    pub assets: Vec<TriageAssetBody>,
}

impl From<Triage> for TriageBody {
    fn from(triage: Triage) -> Self {
        TriageBody {
            priority: triage.priority.as_str().to_string(),
            reasons: triage.reasons,
            vulnerabilities: triage
                .vulnerabilities
                .into_iter()
                .map(|v| TriageVulnerabilityBody {
                    id: v.id,
                    in_kev: v.in_kev,
                    epss: v.epss,
                })
                .collect(),
            assets: triage
                .assets
                .into_iter()
                .map(|a| TriageAssetBody {
                    system: a.system,
                    kind: a.kind,
                    id: a.id,
                    name: a.name,
                    open_findings: a.open_findings,
                    open_critical: a.open_critical,
                    open_kev: a.open_kev,
                })
                .collect(),
        }
    }
}

/// Due dates by the team's SLA for the priority.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IncidentSlaBody {
    pub acknowledge_due_at: Option<DateTime<Utc>>,
    pub resolve_due_at: Option<DateTime<Utc>>,
    /// Acknowledged after the due date, or not yet and past it.
    pub acknowledge_overdue: bool,
    /// Resolved after the due date, or not yet and past it.
    pub resolve_overdue: bool,
}

/// An incident ticket.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IncidentBody {
    pub id: i64,
    pub title: String,
    /// `low`, `medium`, `high` or `critical`.
    pub severity: String,
    pub description: String,
    /// Asset ids or IPs as reported.
    pub affected_systems: Vec<String>,
    /// `P1` (most urgent) to `P4`.
    pub priority: String,
    /// `open`, `acknowledged`, `investigating`, `resolved` or `closed`.
    pub status: String,
    pub tags: Vec<String>,
    pub assignee: Option<IncidentAssignee>,
    /// Who reported it first.
    pub reporter: String,
    /// Reports of it (a repeat while it is open is appended, not a new ticket).
    pub occurrences: i64,
    pub last_occurred_at: DateTime<Utc>,
    pub triage: Option<TriageBody>,
    pub sla: IncidentSlaBody,
    pub links: IncidentLinksBody,
    pub created_at: DateTime<Utc>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub investigating_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    /// Seconds from creation to acknowledgement (this incident's share of MTTA).
    pub time_to_acknowledge_seconds: Option<i64>,
    /// Seconds from creation to resolution (this incident's share of MTTR).
    pub time_to_resolve_seconds: Option<i64>,
    /// On creation: `true` when the report was appended to an open incident.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deduplicated: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_mode: Option<bool>,
}

impl From<Incident> for IncidentBody {
    fn from(incident: Incident) -> Self {
        let Incident {
            record,
            links,
            triage,
            time_to_acknowledge,
            time_to_resolve,
            acknowledge_overdue,
            resolve_overdue,
        } = incident;
        let mut linked = IncidentLinksBody::default();
        for link in links {
            match link.kind.as_str() {
                "vulnerability" => linked.vulnerabilities.push(link.target),
                "finding" => linked.findings.extend(link.target.parse::<i64>().ok()),
                "code_finding" => linked.code_findings.extend(link.target.parse::<i64>().ok()),
                _ => linked.scans.push(link.target),
            }
        }
        IncidentBody {
            id: record.id,
            title: record.title,
            severity: record.severity,
            description: record.description,
            affected_systems: Incident::list_field(&record.affected_systems),
            priority: record.priority,
            status: record.status,
            tags: Incident::list_field(&record.tags),
            assignee: record.assignee_user_id.map(|user_id| IncidentAssignee {
                user_id,
                email: record.assignee_email,
            }),
            reporter: record.reporter,
            occurrences: record.occurrences,
            last_occurred_at: record.last_occurred_at,
            triage: triage.map(TriageBody::from),
            sla: IncidentSlaBody {
                acknowledge_due_at: record.acknowledge_due_at,
                resolve_due_at: record.resolve_due_at,
                acknowledge_overdue,
                resolve_overdue,
            },
            links: linked,
            created_at: record.created_at,
            acknowledged_at: record.acknowledged_at,
            investigating_at: record.investigating_at,
            resolved_at: record.resolved_at,
            closed_at: record.closed_at,
            updated_at: record.updated_at,
            time_to_acknowledge_seconds: time_to_acknowledge,
            time_to_resolve_seconds: time_to_resolve,
            deduplicated: None,
            test_mode: record.is_test.then_some(true),
        }
    }
}

async fn create(
    state: AppState,
    meta: RequestMeta,
    principal: Principal,
    body: Result<ApiJson<IncidentRequest>, ApiError>,
) -> Result<(StatusCode, Json<IncidentBody>), ApiError> {
    principal.require(Scope::IncidentsWrite)?;
    let ApiJson(body) = body?;
    let (incident, appended) = incidents::create(&state, &principal, &meta, body).await?;
    let mut body = IncidentBody::from(incident);
    body.deduplicated = Some(appended);
    let status = if appended {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(body)))
}

/// Creates a security incident ticket (seed 002): `title`, `severity` (`low`, `medium`,
/// `high`, `critical`), `description`, optional `affected_systems` (asset ids or IPs).
/// Triggers automated triage (priority from severity, linked vulnerabilities' KEV/EPSS and
/// the affected systems' exposure), SLA due dates and assignment, and emits
/// `incident.created`. A repeat of an open incident (same normalised title and systems) is
/// appended to it: 200 with `deduplicated: true`.
#[utoipa::path(post, path = "/v1/incidents", tag = "incidents",
    operation_id = "seed_create_incident",
    security(("bearer" = ["incidents:write"])),
    request_body = IncidentRequest,
    responses(
        (status = 201, description = "The new incident", body = IncidentBody),
        (status = 200, description = "Appended to the open incident it repeats", body = IncidentBody),
        (status = 422, description = "A field is missing or invalid (named)", body = ErrorBody),
    ))]
pub async fn seed_create_incident(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    body: Result<ApiJson<IncidentRequest>, ApiError>,
) -> Result<(StatusCode, Json<IncidentBody>), ApiError> {
    create(state, meta, principal, body).await
}

/// Creates an incident (the same service and body as seed 002's `POST /v1/incidents`).
#[utoipa::path(post, path = "/api/v1/incidents", tag = "incidents",
    security(("bearer" = ["incidents:write"])),
    request_body = IncidentRequest,
    responses(
        (status = 201, description = "The new incident", body = IncidentBody),
        (status = 200, description = "Appended to the open incident it repeats", body = IncidentBody),
        (status = 422, description = "A field is missing or invalid (named)", body = ErrorBody),
    ))]
pub async fn create_incident(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    body: Result<ApiJson<IncidentRequest>, ApiError>,
) -> Result<(StatusCode, Json<IncidentBody>), ApiError> {
    create(state, meta, principal, body).await
}

/// Filters and page of the incident list.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct IncidentListQuery {
    /// Comma-separated statuses.
    #[param(
        pattern = "^$|^(open|acknowledged|investigating|resolved|closed)(,(open|acknowledged|investigating|resolved|closed))*$"
    )]
    pub status: Option<String>,
    /// Comma-separated priorities (`P1`–`P4`).
    #[param(pattern = "^$|^(P1|P2|P3|P4)(,(P1|P2|P3|P4))*$")]
    pub priority: Option<String>,
    /// Comma-separated severities.
    #[param(pattern = "^$|^(low|medium|high|critical)(,(low|medium|high|critical))*$")]
    pub severity: Option<String>,
    pub assignee_user_id: Option<i64>,
    /// 1-based page number [default: 1].
    pub page: Option<u32>,
    /// Items per page, 1–500 [default: 50].
    pub per_page: Option<u32>,
}

/// The team's incidents, newest first.
#[utoipa::path(get, path = "/api/v1/incidents", tag = "incidents",
    security(("bearer" = ["incidents:read"])),
    params(IncidentListQuery),
    responses(
        (status = 200, description = "One page of incidents", body = Paginated<IncidentBody>),
        (status = 400, description = "A filter is malformed (named)", body = ErrorBody),
    ))]
pub async fn list_incidents(
    State(state): State<AppState>,
    principal: Principal,
    query: Result<ApiQuery<IncidentListQuery>, ApiError>,
) -> Result<Json<Paginated<IncidentBody>>, ApiError> {
    principal.require(Scope::IncidentsRead)?;
    let ApiQuery(query) = query?;
    let request = PageQuery {
        page: query.page,
        per_page: query.per_page,
    }
    .to_request()?;
    let filter = IncidentCriteria {
        status: query.status.as_deref(),
        priority: query.priority.as_deref(),
        severity: query.severity.as_deref(),
        assignee_user_id: query.assignee_user_id,
    }
    .resolve()?;
    let page = incidents::list(&state, &principal, filter, request).await?;
    Ok(Json(Paginated::new(page, request, IncidentBody::from)))
}

/// One incident.
#[utoipa::path(get, path = "/api/v1/incidents/{id}", tag = "incidents",
    security(("bearer" = ["incidents:read"])),
    params(("id" = i64, Path, description = "Incident id")),
    responses(
        (status = 200, description = "The incident", body = IncidentBody),
        (status = 404, description = "No such incident in this team", body = ErrorBody),
    ))]
pub async fn get_incident(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Json<IncidentBody>, ApiError> {
    Ok(Json(incidents::get(&state, &principal, id).await?.into()))
}

/// One incident (seed 002's path, the same body).
#[utoipa::path(get, path = "/v1/incidents/{id}", tag = "incidents",
    operation_id = "seed_get_incident",
    security(("bearer" = ["incidents:read"])),
    params(("id" = i64, Path, description = "Incident id")),
    responses(
        (status = 200, description = "The incident", body = IncidentBody),
        (status = 404, description = "No such incident in this team", body = ErrorBody),
    ))]
pub async fn seed_get_incident(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Json<IncidentBody>, ApiError> {
    Ok(Json(incidents::get(&state, &principal, id).await?.into()))
}

/// Changes an incident's title, description, severity (triage runs again), priority
/// (overrides triage; due dates follow), assignee (`null` unassigns) or tags.
#[utoipa::path(patch, path = "/api/v1/incidents/{id}", tag = "incidents",
    security(("bearer" = ["incidents:write"])),
    params(("id" = i64, Path, description = "Incident id")),
    request_body = IncidentUpdate,
    responses(
        (status = 200, description = "The incident", body = IncidentBody),
        (status = 404, description = "No such incident in this team", body = ErrorBody),
        (status = 409, description = "Changed meanwhile", body = ErrorBody),
        (status = 422, description = "A field is invalid (named)", body = ErrorBody),
    ))]
pub async fn update_incident(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    Path(id): Path<i64>,
    body: Result<ApiJson<IncidentUpdate>, ApiError>,
) -> Result<Json<IncidentBody>, ApiError> {
    principal.require(Scope::IncidentsWrite)?;
    let ApiJson(body) = body?;
    Ok(Json(
        incidents::update(&state, &principal, &meta, id, body)
            .await?
            .into(),
    ))
}

/// Moves an incident along the workflow: open → acknowledged → investigating → resolved →
/// closed (steps may be skipped; only a resolved incident closes; `investigating` reopens a
/// resolved one). Each status's time is kept (MTTA, MTTR); resolving emits
/// `incident.resolved`.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/status", tag = "incidents",
    security(("bearer" = ["incidents:write"])),
    params(("id" = i64, Path, description = "Incident id")),
    request_body = StatusRequest,
    responses(
        (status = 200, description = "The incident", body = IncidentBody),
        (status = 404, description = "No such incident in this team", body = ErrorBody),
        (status = 409, description = "Not a move the workflow allows from the current status", body = ErrorBody),
        (status = 422, description = "Unknown status", body = ErrorBody),
    ))]
pub async fn set_incident_status(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    Path(id): Path<i64>,
    body: Result<ApiJson<StatusRequest>, ApiError>,
) -> Result<Json<IncidentBody>, ApiError> {
    principal.require(Scope::IncidentsWrite)?;
    let ApiJson(body) = body?;
    Ok(Json(
        incidents::set_status(&state, &principal, &meta, id, body)
            .await?
            .into(),
    ))
}

/// One entry of an incident's timeline.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TimelineEntryBody {
    pub id: i64,
    /// `created`, `occurrence` (a repeat report), `status`, `comment`, `assignment`,
    /// `priority`, `link` or `update`.
    pub kind: String,
    pub actor: String,
    /// A comment's text, a status change's note, a repeat's description.
    pub message: Option<String>,
    #[schema(value_type = Object)]
    pub details: Value,
    pub at: DateTime<Utc>,
}

impl From<IncidentTimelineEntry> for TimelineEntryBody {
    fn from(entry: IncidentTimelineEntry) -> Self {
        TimelineEntryBody {
            id: entry.id,
            kind: entry.kind,
            actor: entry.actor,
            message: entry.message,
            details: serde_json::from_str(&entry.details).unwrap_or_default(),
            at: entry.created_at,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TimelineBody {
    pub incident_id: i64,
    /// Oldest first.
    pub entries: Vec<TimelineEntryBody>,
}

/// Comments on an incident (on its timeline; emits `incident.updated`).
#[utoipa::path(post, path = "/api/v1/incidents/{id}/comments", tag = "incidents",
    security(("bearer" = ["incidents:write"])),
    params(("id" = i64, Path, description = "Incident id")),
    request_body = CommentRequest,
    responses(
        (status = 201, description = "The comment's timeline entry", body = TimelineEntryBody),
        (status = 404, description = "No such incident in this team", body = ErrorBody),
        (status = 422, description = "`body` missing or too long", body = ErrorBody),
    ))]
pub async fn add_incident_comment(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    Path(id): Path<i64>,
    body: Result<ApiJson<CommentRequest>, ApiError>,
) -> Result<(StatusCode, Json<TimelineEntryBody>), ApiError> {
    principal.require(Scope::IncidentsWrite)?;
    let ApiJson(body) = body?;
    let entry = incidents::comment(&state, &principal, &meta, id, body).await?;
    Ok((StatusCode::CREATED, Json(entry.into())))
}

/// An incident's timeline: reports and repeats, status changes, comments, assignments,
/// priority changes, links.
#[utoipa::path(get, path = "/api/v1/incidents/{id}/timeline", tag = "incidents",
    security(("bearer" = ["incidents:read"])),
    params(("id" = i64, Path, description = "Incident id")),
    responses(
        (status = 200, description = "The timeline", body = TimelineBody),
        (status = 404, description = "No such incident in this team", body = ErrorBody),
    ))]
pub async fn incident_timeline(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<i64>,
) -> Result<Json<TimelineBody>, ApiError> {
    let entries = incidents::timeline(&state, &principal, id).await?;
    Ok(Json(TimelineBody {
        incident_id: id,
        entries: entries.into_iter().map(Into::into).collect(),
    }))
}

/// Links a finding, code finding or vulnerability (exactly one) to an incident; triage runs
/// again and may raise the priority.
#[utoipa::path(post, path = "/api/v1/incidents/{id}/links", tag = "incidents",
    security(("bearer" = ["incidents:write"])),
    params(("id" = i64, Path, description = "Incident id")),
    request_body = LinkRequest,
    responses(
        (status = 201, description = "The incident with the link", body = IncidentBody),
        (status = 404, description = "No such incident in this team", body = ErrorBody),
        (status = 422, description = "Not exactly one target, or no such target (named)", body = ErrorBody),
    ))]
pub async fn add_incident_link(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    Path(id): Path<i64>,
    body: Result<ApiJson<LinkRequest>, ApiError>,
) -> Result<(StatusCode, Json<IncidentBody>), ApiError> {
    principal.require(Scope::IncidentsWrite)?;
    let ApiJson(body) = body?;
    let incident = incidents::add_link(&state, &principal, &meta, id, body).await?;
    Ok((StatusCode::CREATED, Json(incident.into())))
}

/// The window of the metrics.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct MetricsQuery {
    /// Incidents created at or after (RFC 3339).
    pub since: Option<DateTime<Utc>>,
    /// Incidents created before (RFC 3339).
    pub until: Option<DateTime<Utc>>,
}

/// The team's incident response times.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IncidentMetricsBody {
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// Incidents created in the window.
    pub incidents: i64,
    /// Counts by status (every status listed).
    pub by_status: std::collections::BTreeMap<String, i64>,
    /// Counts by priority (every priority listed).
    pub by_priority: std::collections::BTreeMap<String, i64>,
    pub acknowledged: i64,
    pub resolved: i64,
    /// Mean time to acknowledge, in seconds (over the acknowledged ones).
    pub mtta_seconds: Option<f64>,
    /// Mean time to resolve, in seconds (over the resolved ones).
    pub mttr_seconds: Option<f64>,
    /// Acknowledged late, or not yet and past due.
    pub acknowledge_sla_breaches: i64,
    /// Resolved late, or not yet and past due.
    pub resolve_sla_breaches: i64,
}

/// The team's MTTA and MTTR, counts by status and priority and SLA breaches over the
/// incidents created in a window (all of them by default).
#[utoipa::path(get, path = "/api/v1/incidents/metrics", tag = "incidents",
    security(("bearer" = ["incidents:read"])),
    params(MetricsQuery),
    responses(
        (status = 200, description = "The summary", body = IncidentMetricsBody),
        (status = 400, description = "A bad window", body = ErrorBody),
    ))]
pub async fn incident_metrics(
    State(state): State<AppState>,
    principal: Principal,
    query: Result<ApiQuery<MetricsQuery>, ApiError>,
) -> Result<Json<IncidentMetricsBody>, ApiError> {
    principal.require(Scope::IncidentsRead)?;
    let ApiQuery(query) = query?;
    let metrics: IncidentMetrics =
        incidents::metrics(&state, &principal, query.since, query.until).await?;
    let counts = |all: &[&str], counted: Vec<(String, i64)>| {
        let mut map: std::collections::BTreeMap<String, i64> =
            all.iter().map(|k| (k.to_string(), 0)).collect();
        for (key, n) in counted {
            map.insert(key, n);
        }
        map
    };
    let statuses: Vec<&str> = rampart_core::incident::IncidentStatus::ALL
        .iter()
        .map(|s| s.as_str())
        .collect();
    let priorities: Vec<&str> = rampart_core::incident::Priority::ALL
        .iter()
        .map(|p| p.as_str())
        .collect();
    Ok(Json(IncidentMetricsBody {
        since: query.since,
        until: query.until,
        incidents: metrics.total,
        by_status: counts(&statuses, metrics.by_status),
        by_priority: counts(&priorities, metrics.by_priority),
        acknowledged: metrics.acknowledged,
        resolved: metrics.resolved,
        mtta_seconds: metrics.mtta_seconds,
        mttr_seconds: metrics.mttr_seconds,
        acknowledge_sla_breaches: metrics.acknowledge_breaches,
        resolve_sla_breaches: metrics.resolve_breaches,
    }))
}

/// The team's incident settings: SLA hours per priority, assignment mode and tag rules.
#[utoipa::path(get, path = "/api/v1/incidents/settings", tag = "incidents",
    security(("bearer" = ["incidents:read"])),
    responses((status = 200, description = "The settings", body = IncidentSettings)))]
pub async fn get_incident_settings(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<IncidentSettings>, ApiError> {
    Ok(Json(incidents::get_settings(&state, &principal).await?))
}

/// Replaces the team's incident settings (owners and admins).
#[utoipa::path(put, path = "/api/v1/incidents/settings", tag = "incidents",
    security(("bearer" = ["teams:manage"])),
    request_body = IncidentSettings,
    responses(
        (status = 200, description = "The stored settings", body = IncidentSettings),
        (status = 422, description = "A value is invalid (named)", body = ErrorBody),
    ))]
pub async fn set_incident_settings(
    State(state): State<AppState>,
    meta: RequestMeta,
    principal: Principal,
    body: Result<ApiJson<IncidentSettings>, ApiError>,
) -> Result<Json<IncidentSettings>, ApiError> {
    principal.require(Scope::TeamsManage)?;
    let ApiJson(body) = body?;
    Ok(Json(
        incidents::set_settings(&state, &principal, &meta, body).await?,
    ))
}
