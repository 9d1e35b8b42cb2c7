//! Incidents (seed 002's `POST /v1/incidents` and `/api/v1/incidents`; scopes
//! `incidents:read|write`): a report is validated (422 naming the field), triaged
//! (`rampart_core::incident::triage`: severity, the linked vulnerabilities' KEV and EPSS from
//! the knowledge base, the exposure of the affected systems), given SLA due dates by the
//! team's policy, deduplicated against the team's open incidents and assigned by the team's
//! rules, in one transaction with its audit record and its outbox event. Then: the status
//! workflow with its timestamps (MTTA, MTTR), field changes, comments and links, each on the
//! timeline, audited and emitted as `incident.updated` / `incident.resolved`.
//!
//! Exposure sources: an affected system names a product (`product:<id>` or its name) or a
//! release (`release:<id>`) of the team, whose open findings count; IP addresses and CIDR
//! ranges are recognised and kept for the scans capability, which adds its hosts' exposure in
//! [`asset_exposure`].

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use rampart_core::incident::{
    self, AssetExposure, AssignmentMode, IncidentSeverity, IncidentStatus, Priority, SlaPolicy,
    SlaTarget, TagRule, TransitionError, Triage, TriageInput, VulnerabilitySignal,
};
use rampart_core::{EventType, PageRequest, Role, Scope};
use rampart_store::{
    ChangeOutcome, IncidentChange, IncidentEvent, IncidentFilter, IncidentLink, IncidentMetrics,
    IncidentRecord, IncidentSettingsRecord, IncidentTimelineEntry, NewIncident, NewTimelineEntry,
    Page, Tenant,
};
use serde::{Deserialize, Deserializer, Serialize};

use crate::actor::{Actor, RequestOrigin};
use crate::error::{ErrorCode, ServiceError};
use crate::fields;
use crate::Engine;

const MAX_TITLE: usize = 200;
const MAX_DESCRIPTION: usize = 20_000;
const MAX_SYSTEMS: usize = 100;
const MAX_SYSTEM: usize = 255;
const MAX_LINKS: usize = 50;
const MAX_TAGS: usize = 20;
const MAX_TAG: usize = 50;
const MAX_COMMENT: usize = 10_000;
const MAX_NOTE: usize = 2_000;
const MAX_TAG_RULES: usize = 50;
/// Longest SLA target: one year.
const MAX_SLA_HOURS: i64 = 366 * 24;

fn invalid(message: impl Into<String>) -> ServiceError {
    ServiceError::invalid(message)
}

fn not_found() -> ServiceError {
    ServiceError::not_found("incident")
}

/// A report as sent (seed 002's fields, plus optional links and tags).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentRequest {
    /// Brief incident summary (required, 1–200 characters).
    #[schema(
        max_length = 200,
        value_type = String,
        required = true,
        min_length = 1,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    pub title: Option<String>,
    /// `low`, `medium`, `high` or `critical` (required).
    #[schema(value_type = String, required = true, pattern = "^(low|medium|high|critical)$")]
    pub severity: Option<String>,
    /// Detailed incident report (required, at most 20,000 characters).
    #[schema(
        value_type = String,
        required = true,
        max_length = 20000,
        min_length = 1,
        pattern = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]*[^\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]*$"
    )]
    pub description: Option<String>,
    /// Asset ids or IPs: `product:<id>`, `release:<id>`, a product's name, an IP address or a
    /// CIDR range (at most 100).
    #[schema(max_items = 100)]
    pub affected_systems: Option<Vec<String>>,
    /// Vulnerabilities the incident concerns: any identifier of the knowledge base (CVE, GHSA,
    /// …) or a CVE id (at most 50). Their KEV listing and EPSS raise the priority.
    #[schema(max_items = 50)]
    pub vulnerabilities: Option<Vec<String>>,
    /// Ids of the team's dependency findings the incident concerns (at most 50).
    #[schema(max_items = 50)]
    pub findings: Option<Vec<i64>>,
    /// Tags (at most 20); the team's tag rules assign by them.
    #[schema(max_items = 20)]
    pub tags: Option<Vec<String>>,
}

/// An incident with what is read alongside it.
#[derive(Debug, Clone)]
pub struct Incident {
    pub record: IncidentRecord,
    pub links: Vec<IncidentLink>,
    pub triage: Option<Triage>,
    /// Seconds from creation to acknowledgement / resolution.
    pub time_to_acknowledge: Option<i64>,
    pub time_to_resolve: Option<i64>,
    /// Not acknowledged / not resolved and past the due date (or done after it).
    pub acknowledge_overdue: bool,
    pub resolve_overdue: bool,
}

impl Incident {
    fn of(record: IncidentRecord, links: Vec<IncidentLink>, now: DateTime<Utc>) -> Incident {
        let triage = serde_json::from_str(&record.triage).ok();
        let time_to_acknowledge = record
            .acknowledged_at
            .map(|at| incident::seconds_between(record.created_at, at));
        let time_to_resolve = record
            .resolved_at
            .map(|at| incident::seconds_between(record.created_at, at));
        let acknowledge_overdue = record
            .acknowledge_due_at
            .is_some_and(|due| record.acknowledged_at.unwrap_or(now) > due);
        let resolve_overdue = record
            .resolve_due_at
            .is_some_and(|due| record.resolved_at.unwrap_or(now) > due);
        Incident {
            record,
            links,
            triage,
            time_to_acknowledge,
            time_to_resolve,
            acknowledge_overdue,
            resolve_overdue,
        }
    }

    pub fn list_field(json: &str) -> Vec<String> {
        serde_json::from_str(json).unwrap_or_default()
    }
}

async fn load(
    engine: &Engine,
    tenant: Tenant,
    record: IncidentRecord,
) -> Result<Incident, ServiceError> {
    let links = engine.store.incident_links(tenant, record.id).await?;
    Ok(Incident::of(record, links, engine.now()))
}

/// A required text field: 422 naming it when absent or blank.
fn required<'a>(field: &str, value: &'a Option<String>) -> Result<&'a str, ServiceError> {
    match value.as_deref().map(str::trim) {
        Some(text) if !text.is_empty() => Ok(text),
        _ => Err(invalid(format!("`{field}` is required"))),
    }
}

fn severity_of(field: &str, text: &str) -> Result<IncidentSeverity, ServiceError> {
    IncidentSeverity::parse(text).ok_or_else(|| {
        invalid(format!(
            "`{field}` must be one of {}, not {text:?}",
            IncidentSeverity::choices()
        ))
    })
}

fn names(
    field: &str,
    items: &[String],
    max_items: usize,
    max_chars: usize,
) -> Result<Vec<String>, ServiceError> {
    fields::at_most(field, items, max_items)?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| fields::name(&format!("{field}[{i}]"), item, max_chars))
        .collect()
}

/// A vulnerability id as linked: trimmed, CVE ids in upper case.
fn vulnerability_id(text: &str) -> String {
    let text = text.trim();
    if text.len() > 4
        && text
            .get(..4)
            .is_some_and(|p| p.eq_ignore_ascii_case("cve-"))
    {
        text.to_uppercase()
    } else {
        text.to_string()
    }
}

fn is_cve_id(id: &str) -> bool {
    let Some(rest) = id.strip_prefix("CVE-") else {
        return false;
    };
    let Some((year, number)) = rest.split_once('-') else {
        return false;
    };
    year.len() == 4
        && year.bytes().all(|b| b.is_ascii_digit())
        && number.len() >= 4
        && number.bytes().all(|b| b.is_ascii_digit())
}

/// The KEV listing and EPSS of each vulnerability (its id and alias group when the knowledge
/// base holds it), read over every CVE alias of its group.
async fn signals(
    engine: &Engine,
    items: &[(String, Option<i64>)],
) -> Result<Vec<VulnerabilitySignal>, ServiceError> {
    let groups: Vec<i64> = items.iter().filter_map(|(_, group)| *group).collect();
    let identifiers = engine.store.group_identifiers(&groups).await?;
    let cves_of = |(id, group): &(String, Option<i64>)| -> Vec<String> {
        let mut cves: Vec<String> = group
            .and_then(|g| identifiers.get(&g))
            .into_iter()
            .flatten()
            .filter(|alias| alias.starts_with("CVE-"))
            .cloned()
            .collect();
        if is_cve_id(id) && !cves.contains(id) {
            cves.push(id.clone());
        }
        cves
    };
    let mut all: Vec<String> = items.iter().flat_map(cves_of).collect();
    all.sort();
    all.dedup();
    let enrichment = engine.store.cve_enrichment(&all).await?;
    let mut seen = std::collections::HashSet::new();
    Ok(items
        .iter()
        .filter(|(id, _)| seen.insert(id.clone()))
        .map(|item| {
            let cves = cves_of(item);
            VulnerabilitySignal {
                id: item.0.clone(),
                in_kev: enrichment.kev.iter().any(|k| cves.contains(&k.cve_id)),
                epss: enrichment
                    .epss
                    .iter()
                    .filter(|e| cves.contains(&e.cve_id))
                    .map(|e| e.epss)
                    .reduce(f64::max),
            }
        })
        .collect())
}

fn id_after<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    // `get`: the text is the caller's and may hold multi-byte characters at any offset.
    let head = text.get(..prefix.len())?;
    (text.len() > prefix.len() && head.eq_ignore_ascii_case(prefix)).then(|| &text[prefix.len()..])
}

/// The exposure of one affected system: the team's product or release it names, with its open
/// findings; an IP address or CIDR range (the scans capability adds its hosts' findings here);
/// or unknown.
pub async fn asset_exposure(
    engine: &Engine,
    tenant: Tenant,
    system: &str,
) -> Result<AssetExposure, ServiceError> {
    let text = system.trim();
    let mut asset = AssetExposure::unmatched(system, "unknown");
    let product = if let Some(id) = id_after(text, "product:") {
        match id.trim().parse::<i64>() {
            Ok(id) => engine
                .store
                .product(tenant, id)
                .await?
                .map(|p| (p.id, p.name)),
            Err(_) => None,
        }
    } else if let Some(id) = id_after(text, "release:") {
        asset.kind = "release".to_string();
        if let Ok(id) = id.trim().parse::<i64>() {
            if let Some(release) = engine.store.release(tenant, id).await? {
                asset.id = Some(release.id);
                asset.name = Some(release.version);
                let found = engine
                    .store
                    .asset_open_findings(tenant, true, release.id)
                    .await?;
                asset.open_findings = found.open_findings;
                asset.open_critical = found.open_critical;
                asset.open_kev = found.open_kev;
            }
        }
        return Ok(asset);
    } else if text.parse::<IpAddr>().is_ok() {
        asset.kind = "ip".to_string();
        return Ok(asset);
    } else if text.parse::<ipnet::IpNet>().is_ok() {
        asset.kind = "cidr".to_string();
        return Ok(asset);
    } else {
        engine.store.product_named(tenant, text).await?
    };
    if let Some((id, name)) = product {
        asset.kind = "product".to_string();
        asset.id = Some(id);
        asset.name = Some(name);
        let found = engine.store.asset_open_findings(tenant, false, id).await?;
        asset.open_findings = found.open_findings;
        asset.open_critical = found.open_critical;
        asset.open_kev = found.open_kev;
    } else if id_after(text, "product:").is_some() {
        asset.kind = "product".to_string();
    }
    Ok(asset)
}

/// The team's SLA (stored over the defaults).
async fn sla_of(engine: &Engine, team_id: i64) -> Result<SlaPolicy, ServiceError> {
    Ok(engine
        .store
        .incident_settings(team_id)
        .await?
        .sla
        .unwrap_or_default())
}

/// Validated links of a report or a link request: (kind, target) with the vulnerabilities
/// triage reads from them.
struct Links {
    links: Vec<(&'static str, String)>,
    vulnerabilities: Vec<(String, Option<i64>)>,
}

/// Checks links given as (field name, value): a vulnerability must be in the knowledge base
/// or a CVE id, a finding one of the team's (422 naming the field otherwise).
async fn resolve_links(
    engine: &Engine,
    tenant: Tenant,
    vulnerabilities: &[(String, String)],
    findings: &[(String, i64)],
) -> Result<Links, ServiceError> {
    let mut out = Links {
        links: Vec::new(),
        vulnerabilities: Vec::new(),
    };
    for (field, id) in vulnerabilities {
        let id = vulnerability_id(&fields::name(field, id, 100)?);
        let group = engine.store.alias_group(&id).await?;
        if group.is_none() && !is_cve_id(&id) {
            return Err(invalid(format!(
                "`{field}`: {id:?} is neither in the knowledge base nor a CVE id"
            )));
        }
        out.vulnerabilities.push((id.clone(), group));
        out.links.push(("vulnerability", id));
    }
    for (field, id) in findings {
        let Some(finding) = engine.store.linked_finding(tenant, *id).await? else {
            return Err(invalid(format!("`{field}`: no finding {id} in this team")));
        };
        out.vulnerabilities
            .push((finding.vuln_id.clone(), Some(finding.group_id)));
        out.links.push(("finding", finding.id.to_string()));
    }
    Ok(out)
}

/// Creates an incident from a report, or appends a repeat to the open one with the same
/// normalised title and affected systems (`incidents:write`). The flag says whether it was
/// appended.
pub async fn create(
    engine: &Engine,
    actor: &Actor,
    origin: &RequestOrigin,
    request: IncidentRequest,
) -> Result<(Incident, bool), ServiceError> {
    actor.require(Scope::IncidentsWrite)?;
    required("title", &request.title)?;
    let severity = required("severity", &request.severity)?;
    let title = fields::name(
        "title",
        request.title.as_deref().unwrap_or_default(),
        MAX_TITLE,
    )?;
    let severity = severity_of("severity", severity)?;
    let description = fields::required_text(
        "description",
        request.description.as_deref(),
        MAX_DESCRIPTION,
    )?;
    let systems = names(
        "affected_systems",
        request.affected_systems.as_deref().unwrap_or_default(),
        MAX_SYSTEMS,
        MAX_SYSTEM,
    )?;
    let tags = names(
        "tags",
        request.tags.as_deref().unwrap_or_default(),
        MAX_TAGS,
        MAX_TAG,
    )?;
    let vulnerabilities = request.vulnerabilities.unwrap_or_default();
    let findings = request.findings.unwrap_or_default();
    fields::at_most("vulnerabilities", &vulnerabilities, MAX_LINKS)?;
    fields::at_most("findings", &findings, MAX_LINKS)?;
    let tenant = actor.tenant();
    let vulnerabilities: Vec<(String, String)> = vulnerabilities
        .into_iter()
        .enumerate()
        .map(|(i, id)| (format!("vulnerabilities[{i}]"), id))
        .collect();
    let findings: Vec<(String, i64)> = findings
        .into_iter()
        .enumerate()
        .map(|(i, id)| (format!("findings[{i}]"), id))
        .collect();
    let links = resolve_links(engine, tenant, &vulnerabilities, &findings).await?;
    let mut assets = Vec::with_capacity(systems.len());
    for system in &systems {
        assets.push(asset_exposure(engine, tenant, system).await?);
    }
    let triage = incident::triage(TriageInput {
        severity,
        vulnerabilities: signals(engine, &links.vulnerabilities).await?,
        assets,
    });
    let new = NewIncident {
        dedupe_key: incident::dedupe_key(&title, &systems),
        title,
        description,
        severity,
        priority: triage.priority,
        affected_systems: systems,
        tags,
        triage: serde_json::to_value(&triage).expect("plain data"),
        reporter: actor.user_email.clone(),
        links: links.links,
        sla: sla_of(engine, actor.team_id).await?,
    };
    let mut event = actor.audit(origin, "incident.create");
    event.details = Some(serde_json::json!({
        "severity": severity.as_str(),
        "priority": triage.priority.as_str(),
    }));
    let created = engine
        .store
        .create_incident(tenant, &new, &event, engine.now())
        .await?;
    Ok((
        load(engine, tenant, created.incident).await?,
        created.appended,
    ))
}

/// The filters of an incident listing as the query wrote them (comma-separated lists).
#[derive(Debug, Default)]
pub struct IncidentCriteria<'a> {
    pub status: Option<&'a str>,
    pub priority: Option<&'a str>,
    pub severity: Option<&'a str>,
    pub assignee_user_id: Option<i64>,
}

fn list_of<T>(
    parameter: &str,
    text: Option<&str>,
    parse: fn(&str) -> Option<T>,
    as_str: fn(&T) -> &'static str,
    choices: String,
) -> Result<Vec<String>, ServiceError> {
    text.into_iter()
        .flat_map(|t| t.split(','))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| {
            parse(t).map(|v| as_str(&v).to_string()).ok_or_else(|| {
                ServiceError::new(
                    ErrorCode::BadRequest,
                    format!("`{parameter}` must be one or more of {choices}, not {t:?}"),
                )
            })
        })
        .collect()
}

impl IncidentCriteria<'_> {
    /// The store's filter; 400 naming the parameter out of its set.
    pub fn resolve(&self) -> Result<IncidentFilter, ServiceError> {
        Ok(IncidentFilter {
            statuses: list_of(
                "status",
                self.status,
                IncidentStatus::parse,
                |s| s.as_str(),
                IncidentStatus::choices(),
            )?,
            priorities: list_of(
                "priority",
                self.priority,
                Priority::parse,
                |p| p.as_str(),
                Priority::choices(),
            )?,
            severities: list_of(
                "severity",
                self.severity,
                IncidentSeverity::parse,
                |s| s.as_str(),
                IncidentSeverity::choices(),
            )?,
            assignee_user_id: self.assignee_user_id,
        })
    }
}

/// A page of the team's incidents, newest first (`incidents:read`).
pub async fn list(
    engine: &Engine,
    actor: &Actor,
    filter: IncidentFilter,
    page: PageRequest,
) -> Result<Page<Incident>, ServiceError> {
    actor.require(Scope::IncidentsRead)?;
    let tenant = actor.tenant();
    let page = engine.store.list_incidents(tenant, &filter, page).await?;
    let mut items = Vec::with_capacity(page.items.len());
    for record in page.items {
        items.push(load(engine, tenant, record).await?);
    }
    Ok(Page {
        items,
        total: page.total,
    })
}

async fn record_of(
    engine: &Engine,
    actor: &Actor,
    id: i64,
) -> Result<IncidentRecord, ServiceError> {
    engine
        .store
        .incident(actor.tenant(), id)
        .await?
        .ok_or_else(not_found)
}

pub async fn get(engine: &Engine, actor: &Actor, id: i64) -> Result<Incident, ServiceError> {
    actor.require(Scope::IncidentsRead)?;
    let record = record_of(engine, actor, id).await?;
    load(engine, actor.tenant(), record).await
}

/// An incident's timeline, oldest first (`incidents:read`).
pub async fn timeline(
    engine: &Engine,
    actor: &Actor,
    id: i64,
) -> Result<Vec<IncidentTimelineEntry>, ServiceError> {
    actor.require(Scope::IncidentsRead)?;
    record_of(engine, actor, id).await?;
    Ok(engine.store.incident_timeline(actor.tenant(), id).await?)
}

/// Applies a change, mapping a concurrent change to 409 and a vanished incident to 404.
async fn apply(
    engine: &Engine,
    actor: &Actor,
    id: i64,
    change: &IncidentChange,
    event: rampart_store::AuditEvent,
    outbox: IncidentEvent,
) -> Result<Incident, ServiceError> {
    let tenant = actor.tenant();
    let (outcome, record) = engine
        .store
        .change_incident(tenant, id, change, &event, outbox, engine.now())
        .await?;
    match (outcome, record) {
        (ChangeOutcome::Changed, Some(record)) => load(engine, tenant, record).await,
        (ChangeOutcome::Stale, _) => Err(ServiceError::new(
            ErrorCode::Conflict,
            "the incident changed meanwhile; read it again and retry",
        )),
        _ => Err(not_found()),
    }
}

/// A status change as sent.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusRequest {
    /// `acknowledged`, `investigating`, `resolved` or `closed` (forward; steps may be
    /// skipped, only a resolved incident closes), or `investigating` to reopen a resolved one.
    #[schema(value_type = String, required = true, pattern = "^(open|acknowledged|investigating|resolved|closed)$")]
    pub status: Option<String>,
    /// A note for the timeline (at most 2000 characters; line breaks and tabs are the only
    /// control characters allowed).
    #[schema(
        max_length = 2000,
        pattern = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]*$"
    )]
    pub note: Option<String>,
}

/// Moves an incident along the workflow (`incidents:write`): 422 for an unknown status, 409
/// for a move the workflow does not allow from the current status.
pub async fn set_status(
    engine: &Engine,
    actor: &Actor,
    origin: &RequestOrigin,
    id: i64,
    request: StatusRequest,
) -> Result<Incident, ServiceError> {
    actor.require(Scope::IncidentsWrite)?;
    let text = required("status", &request.status)?;
    let to = IncidentStatus::parse(text).ok_or_else(|| {
        invalid(format!(
            "`status` must be one of {}, not {text:?}",
            IncidentStatus::choices()
        ))
    })?;
    let note = fields::optional_text("note", request.note.as_deref(), MAX_NOTE)?;
    let current = record_of(engine, actor, id).await?;
    let from = IncidentStatus::parse(&current.status).unwrap_or(IncidentStatus::Open);
    let step = incident::transition(from, to).map_err(|error| {
        let code = match error {
            TransitionError::Unchanged(_) | TransitionError::NotAllowed { .. } => {
                ErrorCode::Conflict
            }
        };
        ServiceError::new(code, error.to_string())
    })?;
    let change = IncidentChange {
        expect_status: Some(from.as_str().to_string()),
        status: Some(to.as_str().to_string()),
        acknowledge: step.acknowledge,
        investigate: step.investigate,
        resolve: step.resolve,
        reopen: step.reopen,
        close: step.close,
        timeline: vec![NewTimelineEntry {
            kind: "status",
            actor: actor.user_email.clone(),
            message: note,
            details: serde_json::json!({"from": from.as_str(), "to": to.as_str()}),
        }],
        ..Default::default()
    };
    let mut event = actor.audit(origin, "incident.status");
    event.details = Some(serde_json::json!({"from": from.as_str(), "to": to.as_str()}));
    let outbox = IncidentEvent {
        event_type: if to == IncidentStatus::Resolved {
            EventType::IncidentResolved
        } else {
            EventType::IncidentUpdated
        },
        change: "status",
    };
    apply(engine, actor, id, &change, event, outbox).await
}

/// `Some(value)` for a field present in the body, `null` included (`Some(None)`).
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Option<i64>>, D::Error> {
    Option::<i64>::deserialize(deserializer).map(Some)
}

/// Changes as sent; absent fields stay as they are.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentUpdate {
    #[schema(
        max_length = 200,
        min_length = 1,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    pub title: Option<String>,
    /// At most 20,000 characters, not blank.
    #[schema(
        max_length = 20000,
        pattern = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]*[^\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]*$"
    )]
    pub description: Option<String>,
    /// `low`, `medium`, `high` or `critical`: triage runs again on the stored evidence (the
    /// priority follows unless `priority` is given too).
    #[schema(pattern = "^(low|medium|high|critical)$")]
    pub severity: Option<String>,
    /// `P1`–`P4`: overrides triage; the due dates follow.
    #[schema(pattern = "^(P1|P2|P3|P4)$")]
    pub priority: Option<String>,
    /// A member of the team, or `null` to unassign.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    pub assignee_user_id: Option<Option<i64>>,
    /// At most 20.
    #[schema(max_items = 20)]
    pub tags: Option<Vec<String>>,
}

/// Changes an incident's fields (`incidents:write`).
pub async fn update(
    engine: &Engine,
    actor: &Actor,
    origin: &RequestOrigin,
    id: i64,
    request: IncidentUpdate,
) -> Result<Incident, ServiceError> {
    actor.require(Scope::IncidentsWrite)?;
    let title = request
        .title
        .as_deref()
        .map(|t| fields::name("title", t, MAX_TITLE))
        .transpose()?;
    let description = match request.description.as_deref() {
        Some(text) if text.trim().is_empty() => {
            return Err(invalid("`description` must not be empty"))
        }
        Some(text) => Some(fields::text("description", text, MAX_DESCRIPTION)?),
        None => None,
    };
    let severity = request
        .severity
        .as_deref()
        .map(|s| severity_of("severity", s))
        .transpose()?;
    let priority = request
        .priority
        .as_deref()
        .map(|p| {
            Priority::parse(p).ok_or_else(|| {
                invalid(format!(
                    "`priority` must be one of {}, not {p:?}",
                    Priority::choices()
                ))
            })
        })
        .transpose()?;
    let tags = request
        .tags
        .as_deref()
        .map(|tags| names("tags", tags, MAX_TAGS, MAX_TAG))
        .transpose()?;
    if let Some(Some(user)) = request.assignee_user_id {
        if !engine.store.is_team_person(actor.team_id, user).await? {
            return Err(invalid(format!(
                "`assignee_user_id`: user {user} is not a member of this team"
            )));
        }
    }
    let current = record_of(engine, actor, id).await?;
    let current_priority = Priority::parse(&current.priority).unwrap_or(Priority::P3);
    let mut triage: Option<Triage> = serde_json::from_str(&current.triage).ok();
    let mut change = IncidentChange {
        expect_updated_at: Some(current.updated_at),
        ..Default::default()
    };
    let mut changed = Vec::new();
    if let Some(title) = title.filter(|t| *t != current.title) {
        change.title = Some(title);
        changed.push("title");
    }
    if let Some(description) = description.filter(|d| *d != current.description) {
        change.description = Some(description);
        changed.push("description");
    }
    let mut new_priority = None;
    if let Some(severity) = severity.filter(|s| s.as_str() != current.severity) {
        change.severity = Some(severity.as_str().to_string());
        changed.push("severity");
        if let Some(previous) = triage.take() {
            let again = incident::triage(TriageInput {
                severity,
                vulnerabilities: previous.vulnerabilities,
                assets: previous.assets,
            });
            new_priority = Some(again.priority);
            triage = Some(again);
        } else {
            new_priority = Some(severity.base_priority());
        }
    }
    if let Some(priority) = priority {
        new_priority = Some(priority);
    }
    if let Some(priority) = new_priority.filter(|p| *p != current_priority) {
        change.priority = Some(priority.as_str().to_string());
        let sla = sla_of(engine, actor.team_id).await?;
        change.due = Some(sla.due_dates(priority, current.created_at));
        changed.push("priority");
        change.timeline.push(NewTimelineEntry {
            kind: "priority",
            actor: actor.user_email.clone(),
            message: None,
            details: serde_json::json!({
                "from": current_priority.as_str(),
                "to": priority.as_str(),
                "override": priority_override(&request),
            }),
        });
    }
    if let Some(tags) = tags {
        let json = serde_json::to_string(&tags).expect("strings");
        if json != current.tags {
            change.tags = Some(json);
            changed.push("tags");
        }
    }
    if let Some(assignee) = request
        .assignee_user_id
        .filter(|a| *a != current.assignee_user_id)
    {
        change.assignee = Some(assignee);
        changed.push("assignee_user_id");
        change.timeline.push(NewTimelineEntry {
            kind: "assignment",
            actor: actor.user_email.clone(),
            message: None,
            details: serde_json::json!({
                "from": current.assignee_user_id,
                "assignee_user_id": assignee,
                "rule": "manual",
            }),
        });
    }
    if changed.is_empty() {
        return load(engine, actor.tenant(), current).await;
    }
    change.timeline.insert(
        0,
        NewTimelineEntry {
            kind: "update",
            actor: actor.user_email.clone(),
            message: None,
            details: serde_json::json!({"changed": changed}),
        },
    );
    if change.severity.is_some() {
        change.triage = triage.map(|t| serde_json::to_string(&t).expect("plain data"));
    }
    let mut event = actor.audit(origin, "incident.update");
    event.details = Some(serde_json::json!({"changed": changed}));
    let outbox = IncidentEvent {
        event_type: EventType::IncidentUpdated,
        change: "update",
    };
    apply(engine, actor, id, &change, event, outbox).await
}

fn priority_override(request: &IncidentUpdate) -> bool {
    request.priority.is_some()
}

/// A comment as sent.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentRequest {
    /// The comment (1–10,000 characters).
    #[schema(
        value_type = String,
        required = true,
        min_length = 1,
        max_length = 10000,
        pattern = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]*[^\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]*$"
    )]
    pub body: Option<String>,
}

/// Adds a comment to an incident's timeline (`incidents:write`); returns the entry.
pub async fn comment(
    engine: &Engine,
    actor: &Actor,
    origin: &RequestOrigin,
    id: i64,
    request: CommentRequest,
) -> Result<IncidentTimelineEntry, ServiceError> {
    actor.require(Scope::IncidentsWrite)?;
    let body = fields::required_text("body", request.body.as_deref(), MAX_COMMENT)?;
    let change = IncidentChange {
        timeline: vec![NewTimelineEntry {
            kind: "comment",
            actor: actor.user_email.clone(),
            message: Some(body),
            details: serde_json::json!({}),
        }],
        ..Default::default()
    };
    let event = actor.audit(origin, "incident.comment");
    let outbox = IncidentEvent {
        event_type: EventType::IncidentUpdated,
        change: "comment",
    };
    apply(engine, actor, id, &change, event, outbox).await?;
    let entries = engine.store.incident_timeline(actor.tenant(), id).await?;
    entries
        .into_iter()
        .rev()
        .find(|e| e.kind == "comment")
        .ok_or_else(|| ServiceError::internal("comment not on the timeline"))
}

/// A link as sent: exactly one of the fields.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkRequest {
    /// A dependency finding of the team.
    pub finding: Option<i64>,
    /// A code finding (SARIF) of the team.
    pub code_finding: Option<i64>,
    /// Any identifier of the knowledge base, or a CVE id.
    pub vulnerability: Option<String>,
    /// A scan (not available yet: 422).
    pub scan: Option<String>,
}

/// Links a finding, code finding or vulnerability to an incident (`incidents:write`); triage
/// runs again and may raise (never lower) the priority.
pub async fn add_link(
    engine: &Engine,
    actor: &Actor,
    origin: &RequestOrigin,
    id: i64,
    request: LinkRequest,
) -> Result<Incident, ServiceError> {
    actor.require(Scope::IncidentsWrite)?;
    let given = [
        request.finding.is_some(),
        request.code_finding.is_some(),
        request.vulnerability.is_some(),
        request.scan.is_some(),
    ]
    .iter()
    .filter(|g| **g)
    .count();
    if given != 1 {
        return Err(invalid(
            "give exactly one of `finding`, `code_finding`, `vulnerability`, `scan`",
        ));
    }
    if request.scan.is_some() {
        return Err(invalid(
            "`scan`: scans are not available on this server yet",
        ));
    }
    let tenant = actor.tenant();
    let current = record_of(engine, actor, id).await?;
    let links = if let Some(code_finding) = request.code_finding {
        if engine
            .store
            .code_finding(tenant, code_finding)
            .await?
            .is_none()
        {
            return Err(invalid(format!(
                "`code_finding`: no code finding {code_finding} in this team"
            )));
        }
        Links {
            links: vec![("code_finding", code_finding.to_string())],
            vulnerabilities: Vec::new(),
        }
    } else {
        let vulnerabilities: Vec<(String, String)> = request
            .vulnerability
            .map(|id| ("vulnerability".to_string(), id))
            .into_iter()
            .collect();
        let findings: Vec<(String, i64)> = request
            .finding
            .map(|id| ("finding".to_string(), id))
            .into_iter()
            .collect();
        resolve_links(engine, tenant, &vulnerabilities, &findings).await?
    };
    let (kind, target) = links.links[0].clone();
    let mut change = IncidentChange {
        links: links.links.clone(),
        timeline: vec![NewTimelineEntry {
            kind: "link",
            actor: actor.user_email.clone(),
            message: None,
            details: serde_json::json!({"kind": kind, "target": target}),
        }],
        ..Default::default()
    };
    if !links.vulnerabilities.is_empty() {
        // Triage again over every linked vulnerability (the new one included).
        let existing = engine.store.incident_links(tenant, id).await?;
        let mut items = links.vulnerabilities.clone();
        for link in existing.iter().filter(|l| l.kind == "vulnerability") {
            items.push((
                link.target.clone(),
                engine.store.alias_group(&link.target).await?,
            ));
        }
        for link in existing.iter().filter(|l| l.kind == "finding") {
            if let Ok(finding_id) = link.target.parse::<i64>() {
                if let Some(f) = engine.store.linked_finding(tenant, finding_id).await? {
                    items.push((f.vuln_id, Some(f.group_id)));
                }
            }
        }
        let previous: Option<Triage> = serde_json::from_str(&current.triage).ok();
        let severity =
            IncidentSeverity::parse(&current.severity).unwrap_or(IncidentSeverity::Medium);
        let again = incident::triage(TriageInput {
            severity,
            vulnerabilities: signals(engine, &items).await?,
            assets: previous.map(|t| t.assets).unwrap_or_default(),
        });
        let current_priority = Priority::parse(&current.priority).unwrap_or(Priority::P4);
        let raised = current_priority.most_urgent(again.priority);
        change.triage = Some(serde_json::to_string(&again).expect("plain data"));
        if raised != current_priority {
            change.priority = Some(raised.as_str().to_string());
            change.due = Some(
                sla_of(engine, actor.team_id)
                    .await?
                    .due_dates(raised, current.created_at),
            );
            change.timeline.push(NewTimelineEntry {
                kind: "priority",
                actor: "triage".to_string(),
                message: again.reasons.last().cloned(),
                details: serde_json::json!({"from": current_priority.as_str(), "to": raised.as_str()}),
            });
        }
    }
    let mut event = actor.audit(origin, "incident.link");
    event.details = Some(serde_json::json!({"kind": kind, "target": target}));
    let outbox = IncidentEvent {
        event_type: EventType::IncidentUpdated,
        change: "link",
    };
    apply(engine, actor, id, &change, event, outbox).await
}

/// The team's MTTA/MTTR and counts over incidents created in `[since, until)`
/// (`incidents:read`).
pub async fn metrics(
    engine: &Engine,
    actor: &Actor,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
) -> Result<IncidentMetrics, ServiceError> {
    actor.require(Scope::IncidentsRead)?;
    if let (Some(since), Some(until)) = (since, until) {
        if since >= until {
            return Err(ServiceError::new(
                ErrorCode::BadRequest,
                "`since` must be before `until`",
            ));
        }
    }
    Ok(engine
        .store
        .incident_metrics(actor.tenant(), since, until, engine.now())
        .await?)
}

/// Hours to acknowledge and resolve (`null`: no due date).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SlaHours {
    #[schema(minimum = 1, maximum = 8784)]
    pub acknowledge_hours: Option<i64>,
    #[schema(minimum = 1, maximum = 8784)]
    pub resolve_hours: Option<i64>,
}

/// The SLA per priority.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SlaByPriority {
    #[serde(rename = "P1")]
    pub p1: SlaHours,
    #[serde(rename = "P2")]
    pub p2: SlaHours,
    #[serde(rename = "P3")]
    pub p3: SlaHours,
    #[serde(rename = "P4")]
    pub p4: SlaHours,
}

/// How new incidents are assigned when no tag rule applies.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignmentSettings {
    /// `none` or `round_robin`.
    #[schema(pattern = "^(none|round_robin)$")]
    pub mode: String,
    /// Round robin takes turns among the team's members with this role (`owner`, `admin`,
    /// `member`, `viewer`).
    #[schema(pattern = "^(owner|admin|member|viewer)$")]
    pub role: String,
}

/// A tag rule: incidents tagged `tag` go to this member (first matching rule wins).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TagRuleBody {
    pub tag: String,
    pub assignee_user_id: i64,
}

/// A team's incident settings.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentSettings {
    /// Hours to acknowledge and to resolve per priority; the defaults are P1 1/24, P2 4/72,
    /// P3 24/336, P4 72/720.
    pub sla: SlaByPriority,
    pub assignment: AssignmentSettings,
    /// At most 50.
    #[schema(max_items = 50)]
    pub tag_rules: Vec<TagRuleBody>,
}

fn hours(target: SlaTarget) -> SlaHours {
    SlaHours {
        acknowledge_hours: target.acknowledge_hours,
        resolve_hours: target.resolve_hours,
    }
}

impl IncidentSettings {
    fn from_record(record: IncidentSettingsRecord) -> IncidentSettings {
        let sla = record.sla.unwrap_or_default();
        IncidentSettings {
            sla: SlaByPriority {
                p1: hours(sla.0[0]),
                p2: hours(sla.0[1]),
                p3: hours(sla.0[2]),
                p4: hours(sla.0[3]),
            },
            assignment: AssignmentSettings {
                mode: record.assignment_mode,
                role: record.assignment_role,
            },
            tag_rules: record
                .tag_rules
                .into_iter()
                .map(|r| TagRuleBody {
                    tag: r.tag,
                    assignee_user_id: r.assignee_user_id,
                })
                .collect(),
        }
    }
}

/// The caller's team's incident settings (`incidents:read`).
pub async fn get_settings(
    engine: &Engine,
    actor: &Actor,
) -> Result<IncidentSettings, ServiceError> {
    actor.require(Scope::IncidentsRead)?;
    Ok(IncidentSettings::from_record(
        engine.store.incident_settings(actor.team_id).await?,
    ))
}

/// Replaces the caller's team's incident settings (`teams:manage`).
pub async fn set_settings(
    engine: &Engine,
    actor: &Actor,
    origin: &RequestOrigin,
    settings: IncidentSettings,
) -> Result<IncidentSettings, ServiceError> {
    actor.require(Scope::TeamsManage)?;
    let mut targets = [SlaTarget {
        acknowledge_hours: None,
        resolve_hours: None,
    }; 4];
    for (i, (name, value)) in [
        ("P1", settings.sla.p1),
        ("P2", settings.sla.p2),
        ("P3", settings.sla.p3),
        ("P4", settings.sla.p4),
    ]
    .into_iter()
    .enumerate()
    {
        for (field, hours) in [
            ("acknowledge_hours", value.acknowledge_hours),
            ("resolve_hours", value.resolve_hours),
        ] {
            if hours.is_some_and(|h| !(1..=MAX_SLA_HOURS).contains(&h)) {
                return Err(invalid(format!(
                    "`sla.{name}.{field}` must be 1 to {MAX_SLA_HOURS} hours, or null for no due date"
                )));
            }
        }
        targets[i] = SlaTarget {
            acknowledge_hours: value.acknowledge_hours,
            resolve_hours: value.resolve_hours,
        };
    }
    let mode: AssignmentMode = serde_json::from_value(serde_json::Value::String(
        settings.assignment.mode.trim().to_string(),
    ))
    .map_err(|_| {
        invalid(format!(
            "`assignment.mode` must be none or round_robin, not {:?}",
            settings.assignment.mode
        ))
    })?;
    let role: Role = settings
        .assignment
        .role
        .trim()
        .parse()
        .ok()
        .filter(|r| Role::ASSIGNABLE.contains(r))
        .ok_or_else(|| {
            invalid(format!(
                "`assignment.role` must be owner, admin, member or viewer, not {:?}",
                settings.assignment.role
            ))
        })?;
    fields::at_most("tag_rules", &settings.tag_rules, MAX_TAG_RULES)?;
    let mut rules = Vec::with_capacity(settings.tag_rules.len());
    for (i, rule) in settings.tag_rules.iter().enumerate() {
        let tag = fields::name(&format!("tag_rules[{i}].tag"), &rule.tag, MAX_TAG)?;
        if !engine
            .store
            .is_team_person(actor.team_id, rule.assignee_user_id)
            .await?
        {
            return Err(invalid(format!(
                "`tag_rules[{i}].assignee_user_id`: user {} is not a member of this team",
                rule.assignee_user_id
            )));
        }
        rules.push(TagRule {
            tag,
            assignee_user_id: rule.assignee_user_id,
        });
    }
    let record = IncidentSettingsRecord {
        sla: Some(SlaPolicy(targets)),
        assignment_mode: match mode {
            AssignmentMode::None => "none",
            AssignmentMode::RoundRobin => "round_robin",
        }
        .to_string(),
        assignment_role: role.as_str().to_string(),
        tag_rules: rules,
    };
    let mut event = actor.audit(origin, "incident_settings.update");
    event.details = Some(serde_json::to_value(&settings).expect("plain data"));
    engine
        .store
        .set_incident_settings(actor.team_id, &record, &event, engine.now())
        .await?;
    get_settings(engine, actor).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cve_ids_are_recognised_and_upper_cased() {
        assert_eq!(vulnerability_id(" cve-2021-44228 "), "CVE-2021-44228");
        assert_eq!(vulnerability_id("GHSA-abcd"), "GHSA-abcd");
        assert!(is_cve_id("CVE-2021-44228"));
        assert!(!is_cve_id("CVE-21-1"));
        assert!(!is_cve_id("GHSA-xxxx"));
        // Multi-byte text at any offset is read, never sliced mid-character.
        assert_eq!(vulnerability_id("CVé-1"), "CVé-1");
        assert_eq!(id_after("prodüct:1", "product:"), None);
        assert_eq!(id_after("Product:12", "product:"), Some("12"));
    }

    #[test]
    fn filters_name_the_parameter() {
        let bad = IncidentCriteria {
            status: Some("open,done"),
            ..Default::default()
        };
        let error = bad.resolve().unwrap_err();
        assert_eq!(error.code(), ErrorCode::BadRequest);
        assert!(error.message().contains("`status`"), "{}", error.message());
        let ok = IncidentCriteria {
            status: Some("Open, resolved"),
            priority: Some("p1"),
            ..Default::default()
        };
        let filter = ok.resolve().unwrap();
        assert_eq!(filter.statuses, ["open", "resolved"]);
        assert_eq!(filter.priorities, ["P1"]);
    }
}
