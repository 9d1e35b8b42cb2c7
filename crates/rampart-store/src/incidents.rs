//! Incidents: creation with dedupe and assignment in one transaction, changes (status, fields,
//! comments, links, repeats) each with their timeline entries and audit record, listings, the
//! team's MTTA/MTTR, the exposure of affected assets, and the team's incident settings.
//!
//! Every writing transaction writes first (a settings upsert or a conditional UPDATE), so that
//! SQLite never has to upgrade a read snapshot and PostgreSQL serialises competing creations
//! of one team on the settings row: dedupe and round robin see every committed incident.

use crate::BeginWrite;
use chrono::{DateTime, Utc};
use rampart_core::incident::{
    assignee_by_tag, next_in_turn, IncidentSeverity, Priority, SlaPolicy, TagRule,
};
use serde_json::Value;

use rampart_core::EventType;

use crate::audit::insert_audit;
use crate::events::{record_events, NewEvent};
use crate::products::{Page, PageRequest, Tenant};
use crate::{with_pool, AuditEvent, Store, StoreError};

/// An incident as stored, with its assignee's e-mail.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct IncidentRecord {
    pub id: i64,
    pub team_id: i64,
    pub is_test: bool,
    pub title: String,
    pub description: String,
    pub severity: String,
    pub priority: String,
    pub status: String,
    /// JSON array.
    pub affected_systems: String,
    /// JSON array.
    pub tags: String,
    /// JSON ([`rampart_core::incident::Triage`]).
    pub triage: String,
    pub dedupe_key: String,
    pub occurrences: i64,
    pub last_occurred_at: DateTime<Utc>,
    pub assignee_user_id: Option<i64>,
    pub assignee_email: Option<String>,
    pub reporter: String,
    pub acknowledge_due_at: Option<DateTime<Utc>>,
    pub resolve_due_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub investigating_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

const INCIDENT_COLUMNS: &str = "i.id, i.team_id, i.is_test, i.title, i.description, i.severity,
    i.priority, i.status, i.affected_systems, i.tags, i.triage, i.dedupe_key, i.occurrences,
    i.last_occurred_at, i.assignee_user_id, u.email AS assignee_email, i.reporter,
    i.acknowledge_due_at, i.resolve_due_at, i.created_at, i.acknowledged_at, i.investigating_at,
    i.resolved_at, i.closed_at, i.updated_at";

/// A link of an incident to a finding, a code finding, a vulnerability or a scan.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct IncidentLink {
    pub kind: String,
    pub target: String,
    pub created_at: DateTime<Utc>,
}

/// One entry of an incident's timeline.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct IncidentTimelineEntry {
    pub id: i64,
    pub incident_id: i64,
    /// `created`, `occurrence`, `status`, `comment`, `assignment`, `priority`, `link`, `update`.
    pub kind: String,
    pub actor: String,
    pub message: Option<String>,
    /// JSON object.
    pub details: String,
    pub created_at: DateTime<Utc>,
}

/// A timeline entry to write.
#[derive(Debug, Clone)]
pub struct NewTimelineEntry {
    pub kind: &'static str,
    pub actor: String,
    pub message: Option<String>,
    pub details: Value,
}

/// A report to create (or to append to the open incident with the same dedupe key).
#[derive(Debug, Clone)]
pub struct NewIncident {
    pub title: String,
    pub description: String,
    pub severity: IncidentSeverity,
    pub priority: Priority,
    /// The systems as reported.
    pub affected_systems: Vec<String>,
    pub tags: Vec<String>,
    /// JSON of the triage.
    pub triage: Value,
    pub dedupe_key: String,
    /// Who reported it (e-mail or `api_<key name>`).
    pub reporter: String,
    /// (kind, target) links.
    pub links: Vec<(&'static str, String)>,
    /// Due dates follow this SLA.
    pub sla: SlaPolicy,
}

/// What creation did.
#[derive(Debug, Clone)]
pub struct IncidentCreation {
    pub incident: IncidentRecord,
    /// A repeat appended to an open incident (no new ticket).
    pub appended: bool,
}

/// An outbox event an incident change writes (`incident.created|updated|resolved`).
#[derive(Debug, Clone)]
pub struct IncidentEvent {
    pub event_type: EventType,
    /// What changed (`created`, `repeat`, `status`, `comment`, `update`, `link`).
    pub change: &'static str,
}

/// When an incident is due to be acknowledged and resolved (`None`: no due date).
pub type DueDates = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// A change of an incident's row; `None` fields stay as they are.
#[derive(Debug, Clone, Default)]
pub struct IncidentChange {
    /// Only if the status is still this one (the workflow's check, made atomic).
    pub expect_status: Option<String>,
    /// Only if nobody changed the incident since it was read.
    pub expect_updated_at: Option<DateTime<Utc>>,
    pub status: Option<String>,
    /// Set `acknowledged_at` when unset.
    pub acknowledge: bool,
    /// Set `investigating_at` when unset.
    pub investigate: bool,
    /// Set `resolved_at`.
    pub resolve: bool,
    /// Clear `resolved_at`.
    pub reopen: bool,
    /// Set `closed_at`.
    pub close: bool,
    pub title: Option<String>,
    pub description: Option<String>,
    pub severity: Option<String>,
    pub priority: Option<String>,
    /// New due dates (acknowledge, resolve).
    pub due: Option<DueDates>,
    /// `Some(None)` unassigns.
    pub assignee: Option<Option<i64>>,
    /// JSON array.
    pub tags: Option<String>,
    /// JSON of a triage run again.
    pub triage: Option<String>,
    pub links: Vec<(&'static str, String)>,
    pub timeline: Vec<NewTimelineEntry>,
}

/// Why a change was not made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeOutcome {
    Changed,
    /// No such incident for this tenant.
    Missing,
    /// The incident changed meanwhile (status or update time no longer as expected).
    Stale,
}

/// The team's incident settings as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentSettingsRecord {
    /// `None`: the defaults.
    pub sla: Option<SlaPolicy>,
    /// `none` or `round_robin`.
    pub assignment_mode: String,
    pub assignment_role: String,
    pub tag_rules: Vec<TagRule>,
}

impl Default for IncidentSettingsRecord {
    fn default() -> Self {
        IncidentSettingsRecord {
            sla: None,
            assignment_mode: "none".to_string(),
            assignment_role: "member".to_string(),
            tag_rules: Vec::new(),
        }
    }
}

/// Filters of an incident listing (all optional; lists are any-of).
#[derive(Debug, Clone, Default)]
pub struct IncidentFilter {
    pub statuses: Vec<String>,
    pub priorities: Vec<String>,
    pub severities: Vec<String>,
    pub assignee_user_id: Option<i64>,
}

/// The team's incidents created in a window, summed up.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IncidentMetrics {
    pub total: i64,
    pub by_status: Vec<(String, i64)>,
    pub by_priority: Vec<(String, i64)>,
    pub acknowledged: i64,
    pub resolved: i64,
    /// Mean seconds from creation to acknowledgement / resolution.
    pub mtta_seconds: Option<f64>,
    pub mttr_seconds: Option<f64>,
    /// Acknowledged or resolved after their due date, or still not and past it.
    pub acknowledge_breaches: i64,
    pub resolve_breaches: i64,
}

/// An affected asset's open findings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AssetFindings {
    pub open_findings: i64,
    pub open_critical: i64,
    pub open_kev: i64,
}

/// A finding an incident links to, with what triage reads from it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LinkedFinding {
    pub id: i64,
    pub release_id: i64,
    pub vuln_id: String,
    pub group_id: i64,
}

/// A bound value of a dynamically built statement.
enum Bind {
    Int(i64),
    OptionalInt(Option<i64>),
    Text(String),
    Bool(bool),
    Time(DateTime<Utc>),
    OptionalTime(Option<DateTime<Utc>>),
}

/// Statement text with `$n` placeholders in bind order.
struct Statement {
    binds: Vec<Bind>,
}

impl Statement {
    fn new() -> Self {
        Statement { binds: Vec::new() }
    }

    fn bind(&mut self, value: Bind) -> String {
        self.binds.push(value);
        format!("${}", self.binds.len())
    }
}

macro_rules! bind_all {
    ($query:expr, $binds:expr) => {{
        let mut query = $query;
        for bind in $binds {
            query = match bind {
                Bind::Int(v) => query.bind(*v),
                Bind::OptionalInt(v) => query.bind(*v),
                Bind::Text(v) => query.bind(v.clone()),
                Bind::Bool(v) => query.bind(*v),
                Bind::Time(v) => query.bind(*v),
                Bind::OptionalTime(v) => query.bind(*v),
            };
        }
        query
    }};
}

fn select_incident_sql() -> String {
    format!(
        "SELECT {INCIDENT_COLUMNS} FROM incidents i LEFT JOIN users u ON u.id = i.assignee_user_id
         WHERE i.id = $1 AND i.team_id = $2 AND i.is_test = $3"
    )
}

fn json_list(items: &[String]) -> String {
    serde_json::to_string(items).expect("strings serialise")
}

fn unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.is_unique_violation())
}

fn active_duplicate() -> StoreError {
    StoreError::Conflict(
        "another open incident has the same title and affected systems; reopen that one instead"
            .to_string(),
    )
}

/// Inserts `$links` ((kind, target) pairs) of incident `$id`, skipping ones it has.
macro_rules! insert_links {
    ($tx:expr, $team_id:expr, $id:expr, $links:expr, $at:expr) => {{
        for (kind, target) in $links {
            sqlx::query(
                "INSERT INTO incident_links (team_id, incident_id, kind, target, created_at)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (incident_id, kind, target) DO NOTHING",
            )
            .bind($team_id)
            .bind($id)
            .bind(*kind)
            .bind(target)
            .bind($at)
            .execute($tx)
            .await?;
        }
    }};
}

/// Inserts `$entries` into incident `$id`'s timeline.
macro_rules! insert_timeline {
    ($tx:expr, $team_id:expr, $id:expr, $entries:expr, $at:expr) => {{
        for entry in $entries {
            sqlx::query(
                "INSERT INTO incident_timeline (team_id, incident_id, kind, actor, message,
                     details, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind($team_id)
            .bind($id)
            .bind(entry.kind)
            .bind(&entry.actor)
            .bind(&entry.message)
            .bind(entry.details.to_string())
            .bind($at)
            .execute($tx)
            .await?;
        }
    }};
}

/// Writes the outbox event of an incident change on the transaction of the change, so the two
/// commit together: the incident as it now is, and what changed.
macro_rules! record_incident_event {
    ($tx:expr, $tenant:expr, $event:expr, $incident:expr, $at:expr) => {{
        let recorded = NewEvent::team(
            $tenant,
            $event.event_type,
            event_data(&$incident, $event.change),
        );
        record_events($tx, std::slice::from_ref(&recorded), $at).await?;
    }};
}

/// An incident event's `data`: what a receiver (webhook, e-mail) needs to notify.
fn event_data(incident: &IncidentRecord, change: &str) -> Value {
    let list = |json: &str| serde_json::from_str::<Value>(json).unwrap_or(Value::Array(Vec::new()));
    serde_json::json!({
        "incident_id": incident.id,
        "change": change,
        "title": incident.title,
        "severity": incident.severity,
        "priority": incident.priority,
        "status": incident.status,
        "affected_systems": list(&incident.affected_systems),
        "tags": list(&incident.tags),
        "occurrences": incident.occurrences,
        "assignee_user_id": incident.assignee_user_id,
        "assignee_email": incident.assignee_email,
        "acknowledge_due_at": incident.acknowledge_due_at,
        "resolve_due_at": incident.resolve_due_at,
        "created_at": incident.created_at,
        "updated_at": incident.updated_at,
    })
}

fn settings_from_row(
    row: Option<(Option<String>, String, String, String)>,
) -> Result<IncidentSettingsRecord, StoreError> {
    let Some((sla, mode, role, rules)) = row else {
        return Ok(IncidentSettingsRecord::default());
    };
    let sla = sla
        .map(|text| serde_json::from_str::<SlaPolicy>(&text))
        .transpose()
        .map_err(|e| StoreError::Corrupt(format!("incident SLA: {e}")))?;
    let tag_rules = serde_json::from_str(&rules)
        .map_err(|e| StoreError::Corrupt(format!("incident tag rules: {e}")))?;
    Ok(IncidentSettingsRecord {
        sla,
        assignment_mode: mode,
        assignment_role: role,
        tag_rules,
    })
}

impl Store {
    /// Creates an incident, or appends the report to the team's open incident with the same
    /// dedupe key (a repeat: occurrence count, a timeline entry, severity and priority only
    /// ever raised, new links added). A new incident gets its assignee by the team's tag rules,
    /// else in turn among its members with the configured role. `event` is recorded as
    /// `incident.create` or `incident.repeat`, targeting the incident.
    pub async fn create_incident(
        &self,
        tenant: Tenant,
        new: &NewIncident,
        event: &AuditEvent,
        at: DateTime<Utc>,
    ) -> Result<IncidentCreation, StoreError> {
        let select = select_incident_sql();
        let systems = json_list(&new.affected_systems);
        let tags = json_list(&new.tags);
        let result = with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            // The first statement writes: the team's creations serialise here.
            let settings: (Option<String>, String, String, String, Option<i64>) = sqlx::query_as(
                "INSERT INTO incident_settings (team_id, updated_at) VALUES ($1, $2)
                 ON CONFLICT (team_id) DO UPDATE SET team_id = excluded.team_id
                 RETURNING sla, assignment_mode, assignment_role, tag_rules,
                           round_robin_last_user_id",
            )
            .bind(tenant.team_id)
            .bind(at)
            .fetch_one(&mut *tx)
            .await?;
            let (sla, mode, role, rules, last_assigned) = settings;
            let settings = settings_from_row(Some((sla, mode, role, rules)))?;
            let active: Option<IncidentRecord> = sqlx::query_as(&format!(
                "SELECT {INCIDENT_COLUMNS} FROM incidents i
                 LEFT JOIN users u ON u.id = i.assignee_user_id
                 WHERE i.team_id = $1 AND i.is_test = $2 AND i.dedupe_key = $3
                   AND i.status IN ('open', 'acknowledged', 'investigating')"
            ))
            .bind(tenant.team_id)
            .bind(tenant.test)
            .bind(&new.dedupe_key)
            .fetch_optional(&mut *tx)
            .await?;
            let (id, appended, audit_action, outbox) = if let Some(current) = active {
                // A repeat: appended, never a second ticket.
                let current_severity =
                    IncidentSeverity::parse(&current.severity).unwrap_or(new.severity);
                let current_priority = Priority::parse(&current.priority).unwrap_or(new.priority);
                let severity = current_severity.max(new.severity);
                let priority = current_priority.most_urgent(new.priority);
                let (acknowledge_due, resolve_due) = if priority != current_priority {
                    new.sla.due_dates(priority, current.created_at)
                } else {
                    (current.acknowledge_due_at, current.resolve_due_at)
                };
                sqlx::query(
                    "UPDATE incidents SET occurrences = occurrences + 1, last_occurred_at = $3,
                         severity = $4, priority = $5, acknowledge_due_at = $6,
                         resolve_due_at = $7, updated_at = $3
                     WHERE id = $1 AND team_id = $2",
                )
                .bind(current.id)
                .bind(tenant.team_id)
                .bind(at)
                .bind(severity.as_str())
                .bind(priority.as_str())
                .bind(acknowledge_due)
                .bind(resolve_due)
                .execute(&mut *tx)
                .await?;
                let mut entries = vec![NewTimelineEntry {
                    kind: "occurrence",
                    actor: new.reporter.clone(),
                    message: Some(new.description.clone()),
                    details: serde_json::json!({
                        "occurrence": current.occurrences + 1,
                        "title": new.title,
                        "severity": new.severity.as_str(),
                        "priority": new.priority.as_str(),
                    }),
                }];
                if priority != current_priority {
                    entries.push(NewTimelineEntry {
                        kind: "priority",
                        actor: "triage".to_string(),
                        message: Some(format!("raised by a repeat report: {current_priority} → {priority}")),
                        details: serde_json::json!({"from": current_priority.as_str(), "to": priority.as_str()}),
                    });
                }
                insert_links!(&mut *tx, tenant.team_id, current.id, &new.links, at);
                insert_timeline!(&mut *tx, tenant.team_id, current.id, &entries, at);
                (
                    current.id,
                    true,
                    "incident.repeat",
                    IncidentEvent { event_type: EventType::IncidentUpdated, change: "repeat" },
                )
            } else {
                let members: Vec<(i64, String)> = sqlx::query_as(
                    "SELECT m.user_id, m.role FROM team_members m JOIN users u ON u.id = m.user_id
                     WHERE m.team_id = $1 AND u.kind = 'person' ORDER BY m.user_id",
                )
                .bind(tenant.team_id)
                .fetch_all(&mut *tx)
                .await?;
                let by_tag = assignee_by_tag(&settings.tag_rules, &new.tags, |user| {
                    members.iter().any(|(id, _)| *id == user)
                });
                let in_turn = if by_tag.is_none() && settings.assignment_mode == "round_robin" {
                    let candidates: Vec<i64> = members
                        .iter()
                        .filter(|(_, role)| *role == settings.assignment_role)
                        .map(|(id, _)| *id)
                        .collect();
                    next_in_turn(&candidates, last_assigned)
                } else {
                    None
                };
                let assignee = by_tag.or(in_turn);
                let (acknowledge_due, resolve_due) = new.sla.due_dates(new.priority, at);
                let inserted: Result<i64, sqlx::Error> = sqlx::query_scalar(
                    "INSERT INTO incidents (team_id, is_test, title, description, severity,
                         priority, status, affected_systems, tags, triage, dedupe_key,
                         occurrences, last_occurred_at, assignee_user_id, reporter,
                         acknowledge_due_at, resolve_due_at, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, 'open', $7, $8, $9, $10, 1, $11, $12, $13,
                         $14, $15, $11, $11)
                     RETURNING id",
                )
                .bind(tenant.team_id)
                .bind(tenant.test)
                .bind(&new.title)
                .bind(&new.description)
                .bind(new.severity.as_str())
                .bind(new.priority.as_str())
                .bind(&systems)
                .bind(&tags)
                .bind(new.triage.to_string())
                .bind(&new.dedupe_key)
                .bind(at)
                .bind(assignee)
                .bind(&new.reporter)
                .bind(acknowledge_due)
                .bind(resolve_due)
                .fetch_one(&mut *tx)
                .await;
                let id = match inserted {
                    Ok(id) => id,
                    Err(error) if unique_violation(&error) => return Err(active_duplicate()),
                    Err(error) => return Err(error.into()),
                };
                if in_turn.is_some() {
                    sqlx::query(
                        "UPDATE incident_settings SET round_robin_last_user_id = $2
                         WHERE team_id = $1",
                    )
                    .bind(tenant.team_id)
                    .bind(in_turn)
                    .execute(&mut *tx)
                    .await?;
                }
                let mut entries = vec![NewTimelineEntry {
                    kind: "created",
                    actor: new.reporter.clone(),
                    message: None,
                    details: serde_json::json!({
                        "severity": new.severity.as_str(),
                        "priority": new.priority.as_str(),
                        "triage": new.triage.get("reasons"),
                    }),
                }];
                if let Some(user) = assignee {
                    let rule = if by_tag.is_some() { "tag" } else { "round_robin" };
                    entries.push(NewTimelineEntry {
                        kind: "assignment",
                        actor: "assignment rules".to_string(),
                        message: None,
                        details: serde_json::json!({"assignee_user_id": user, "rule": rule}),
                    });
                }
                insert_links!(&mut *tx, tenant.team_id, id, &new.links, at);
                insert_timeline!(&mut *tx, tenant.team_id, id, &entries, at);
                (
                    id,
                    false,
                    "incident.create",
                    IncidentEvent { event_type: EventType::IncidentCreated, change: "created" },
                )
            };
            let incident: IncidentRecord = sqlx::query_as(&select)
                .bind(id)
                .bind(tenant.team_id)
                .bind(tenant.test)
                .fetch_one(&mut *tx)
                .await?;
            let mut audit = event.clone().target("incident", id);
            audit.action = audit_action.to_string();
            insert_audit!(&mut *tx, &audit, at)?;
            record_incident_event!(&mut *tx, tenant, outbox, incident, at);
            tx.commit().await?;
            IncidentCreation { incident, appended }
        });
        Ok(result)
    }

    /// Applies `change` to incident `id` with its links, timeline entries, audit record and
    /// outbox event, in one transaction. The record is returned when the change was made.
    pub async fn change_incident(
        &self,
        tenant: Tenant,
        id: i64,
        change: &IncidentChange,
        event: &AuditEvent,
        outbox: IncidentEvent,
        at: DateTime<Utc>,
    ) -> Result<(ChangeOutcome, Option<IncidentRecord>), StoreError> {
        let mut statement = Statement::new();
        let p_id = statement.bind(Bind::Int(id));
        let p_team = statement.bind(Bind::Int(tenant.team_id));
        let p_test = statement.bind(Bind::Bool(tenant.test));
        let p_at = statement.bind(Bind::Time(at));
        let mut sets = vec![format!("updated_at = {p_at}")];
        if let Some(status) = &change.status {
            let p = statement.bind(Bind::Text(status.clone()));
            sets.push(format!("status = {p}"));
        }
        if change.acknowledge {
            sets.push(format!(
                "acknowledged_at = COALESCE(acknowledged_at, {p_at})"
            ));
        }
        if change.investigate {
            sets.push(format!(
                "investigating_at = COALESCE(investigating_at, {p_at})"
            ));
        }
        if change.resolve {
            sets.push(format!("resolved_at = {p_at}"));
        }
        if change.reopen {
            sets.push("resolved_at = NULL".to_string());
        }
        if change.close {
            sets.push(format!("closed_at = {p_at}"));
        }
        for (column, value) in [
            ("title", &change.title),
            ("description", &change.description),
            ("severity", &change.severity),
            ("priority", &change.priority),
            ("tags", &change.tags),
            ("triage", &change.triage),
        ] {
            if let Some(value) = value {
                let p = statement.bind(Bind::Text(value.clone()));
                sets.push(format!("{column} = {p}"));
            }
        }
        if let Some((acknowledge, resolve)) = change.due {
            let a = statement.bind(Bind::OptionalTime(acknowledge));
            let r = statement.bind(Bind::OptionalTime(resolve));
            sets.push(format!("acknowledge_due_at = {a}, resolve_due_at = {r}"));
        }
        if let Some(assignee) = change.assignee {
            let p = statement.bind(Bind::OptionalInt(assignee));
            sets.push(format!("assignee_user_id = {p}"));
        }
        let mut conditions = format!("id = {p_id} AND team_id = {p_team} AND is_test = {p_test}");
        if let Some(status) = &change.expect_status {
            let p = statement.bind(Bind::Text(status.clone()));
            conditions.push_str(&format!(" AND status = {p}"));
        }
        if let Some(updated_at) = change.expect_updated_at {
            let p = statement.bind(Bind::Time(updated_at));
            conditions.push_str(&format!(" AND updated_at = {p}"));
        }
        let update = format!(
            "UPDATE incidents SET {} WHERE {conditions}",
            sets.join(", ")
        );
        let select = select_incident_sql();
        let result = with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let updated = bind_all!(sqlx::query(&update), &statement.binds)
                .execute(&mut *tx)
                .await;
            let updated = match updated {
                Ok(done) => done.rows_affected(),
                Err(error) if unique_violation(&error) => return Err(active_duplicate()),
                Err(error) => return Err(error.into()),
            };
            if updated == 0 {
                let exists: Option<i64> = sqlx::query_scalar(
                    "SELECT id FROM incidents WHERE id = $1 AND team_id = $2 AND is_test = $3",
                )
                .bind(id)
                .bind(tenant.team_id)
                .bind(tenant.test)
                .fetch_optional(&mut *tx)
                .await?;
                let outcome = if exists.is_some() { ChangeOutcome::Stale } else { ChangeOutcome::Missing };
                return Ok((outcome, None));
            }
            insert_links!(&mut *tx, tenant.team_id, id, &change.links, at);
            insert_timeline!(&mut *tx, tenant.team_id, id, &change.timeline, at);
            let incident: IncidentRecord = sqlx::query_as(&select)
                .bind(id)
                .bind(tenant.team_id)
                .bind(tenant.test)
                .fetch_one(&mut *tx)
                .await?;
            insert_audit!(&mut *tx, &event.clone().target("incident", id), at)?;
            record_incident_event!(&mut *tx, tenant, outbox, incident, at);
            tx.commit().await?;
            incident
        });
        Ok((ChangeOutcome::Changed, Some(result)))
    }

    pub async fn incident(
        &self,
        tenant: Tenant,
        id: i64,
    ) -> Result<Option<IncidentRecord>, StoreError> {
        let sql = select_incident_sql();
        Ok(with_pool!(self, pool => {
            sqlx::query_as(&sql)
                .bind(id)
                .bind(tenant.team_id)
                .bind(tenant.test)
                .fetch_optional(pool)
                .await
        })?)
    }

    /// A page of the team's incidents, newest first.
    pub async fn list_incidents(
        &self,
        tenant: Tenant,
        filter: &IncidentFilter,
        page: PageRequest,
    ) -> Result<Page<IncidentRecord>, StoreError> {
        let mut statement = Statement::new();
        let team = statement.bind(Bind::Int(tenant.team_id));
        let test = statement.bind(Bind::Bool(tenant.test));
        let mut conditions = format!("i.team_id = {team} AND i.is_test = {test}");
        for (column, values) in [
            ("i.status", &filter.statuses),
            ("i.priority", &filter.priorities),
            ("i.severity", &filter.severities),
        ] {
            if !values.is_empty() {
                let list: Vec<String> = values
                    .iter()
                    .map(|v| statement.bind(Bind::Text(v.clone())))
                    .collect();
                conditions.push_str(&format!(" AND {column} IN ({})", list.join(", ")));
            }
        }
        if let Some(user) = filter.assignee_user_id {
            let p = statement.bind(Bind::Int(user));
            conditions.push_str(&format!(" AND i.assignee_user_id = {p}"));
        }
        let filter_binds = statement.binds.len();
        let limit = statement.bind(Bind::Int(page.limit()));
        let offset = statement.bind(Bind::Int(page.offset()));
        let list_sql = format!(
            "SELECT {INCIDENT_COLUMNS} FROM incidents i LEFT JOIN users u ON u.id = i.assignee_user_id
             WHERE {conditions} ORDER BY i.id DESC LIMIT {limit} OFFSET {offset}"
        );
        let count_sql = format!("SELECT COUNT(*) FROM incidents i WHERE {conditions}");
        let (items, total) = with_pool!(self, pool => {
            let items: Vec<IncidentRecord> = bind_all!(sqlx::query_as(&list_sql), &statement.binds)
                .fetch_all(pool)
                .await?;
            let total: i64 = bind_all!(sqlx::query_scalar(&count_sql), &statement.binds[..filter_binds])
                .fetch_one(pool)
                .await?;
            (items, total)
        });
        Ok(Page { items, total })
    }

    /// An incident's links, oldest first.
    pub async fn incident_links(
        &self,
        tenant: Tenant,
        id: i64,
    ) -> Result<Vec<IncidentLink>, StoreError> {
        Ok(with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT l.kind, l.target, l.created_at FROM incident_links l
                 JOIN incidents i ON i.id = l.incident_id
                 WHERE l.incident_id = $1 AND i.team_id = $2 AND i.is_test = $3
                 ORDER BY l.id",
            )
            .bind(id)
            .bind(tenant.team_id)
            .bind(tenant.test)
            .fetch_all(pool)
            .await
        })?)
    }

    /// An incident's timeline, oldest first.
    pub async fn incident_timeline(
        &self,
        tenant: Tenant,
        id: i64,
    ) -> Result<Vec<IncidentTimelineEntry>, StoreError> {
        Ok(with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT t.id, t.incident_id, t.kind, t.actor, t.message, t.details, t.created_at
                 FROM incident_timeline t JOIN incidents i ON i.id = t.incident_id
                 WHERE t.incident_id = $1 AND i.team_id = $2 AND i.is_test = $3
                 ORDER BY t.id",
            )
            .bind(id)
            .bind(tenant.team_id)
            .bind(tenant.test)
            .fetch_all(pool)
            .await
        })?)
    }

    /// The team's incidents created in `[since, until)`, summed up as of `now`.
    pub async fn incident_metrics(
        &self,
        tenant: Tenant,
        since: Option<DateTime<Utc>>,
        until: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<IncidentMetrics, StoreError> {
        type Row = (
            String,
            String,
            DateTime<Utc>,
            Option<DateTime<Utc>>,
            Option<DateTime<Utc>>,
            Option<DateTime<Utc>>,
            Option<DateTime<Utc>>,
        );
        let rows: Vec<Row> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT status, priority, created_at, acknowledged_at, resolved_at,
                        acknowledge_due_at, resolve_due_at
                 FROM incidents
                 WHERE team_id = $1 AND is_test = $2
                   AND ($3 IS NULL OR created_at >= $3) AND ($4 IS NULL OR created_at < $4)",
            )
            .bind(tenant.team_id)
            .bind(tenant.test)
            .bind(since)
            .bind(until)
            .fetch_all(pool)
            .await
        })?;
        let mut metrics = IncidentMetrics::default();
        let (mut ack_sum, mut res_sum) = (0f64, 0f64);
        for (status, priority, created, acknowledged, resolved, ack_due, res_due) in rows {
            metrics.total += 1;
            bump(&mut metrics.by_status, status);
            bump(&mut metrics.by_priority, priority);
            if let Some(at) = acknowledged {
                metrics.acknowledged += 1;
                ack_sum += (at - created).num_milliseconds() as f64 / 1000.0;
            }
            if let Some(at) = resolved {
                metrics.resolved += 1;
                res_sum += (at - created).num_milliseconds() as f64 / 1000.0;
            }
            if ack_due.is_some_and(|due| acknowledged.unwrap_or(now) > due) {
                metrics.acknowledge_breaches += 1;
            }
            if res_due.is_some_and(|due| resolved.unwrap_or(now) > due) {
                metrics.resolve_breaches += 1;
            }
        }
        metrics.mtta_seconds =
            (metrics.acknowledged > 0).then(|| ack_sum / metrics.acknowledged as f64);
        metrics.mttr_seconds = (metrics.resolved > 0).then(|| res_sum / metrics.resolved as f64);
        Ok(metrics)
    }

    /// The team's incident settings (the defaults when it never set any).
    pub async fn incident_settings(
        &self,
        team_id: i64,
    ) -> Result<IncidentSettingsRecord, StoreError> {
        let row: Option<(Option<String>, String, String, String)> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT sla, assignment_mode, assignment_role, tag_rules
                 FROM incident_settings WHERE team_id = $1",
            )
            .bind(team_id)
            .fetch_optional(pool)
            .await
        })?;
        settings_from_row(row)
    }

    /// Replaces the team's incident settings and records `event` (targeting the team).
    pub async fn set_incident_settings(
        &self,
        team_id: i64,
        settings: &IncidentSettingsRecord,
        event: &AuditEvent,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let sla = settings
            .sla
            .map(|sla| serde_json::to_string(&sla).expect("plain data"));
        let rules = serde_json::to_string(&settings.tag_rules).expect("plain data");
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            sqlx::query(
                "INSERT INTO incident_settings (team_id, sla, assignment_mode, assignment_role,
                     tag_rules, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (team_id) DO UPDATE SET sla = excluded.sla,
                     assignment_mode = excluded.assignment_mode,
                     assignment_role = excluded.assignment_role,
                     tag_rules = excluded.tag_rules, updated_at = excluded.updated_at",
            )
            .bind(team_id)
            .bind(&sla)
            .bind(&settings.assignment_mode)
            .bind(&settings.assignment_role)
            .bind(&rules)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            insert_audit!(&mut *tx, &event.clone().target("team", team_id), at)?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Whether `user_id` is a person in the team (an assignee must be).
    pub async fn is_team_person(&self, team_id: i64, user_id: i64) -> Result<bool, StoreError> {
        let found: Option<i64> = with_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT m.user_id FROM team_members m JOIN users u ON u.id = m.user_id
                 WHERE m.team_id = $1 AND m.user_id = $2 AND u.kind = 'person'",
            )
            .bind(team_id)
            .bind(user_id)
            .fetch_optional(pool)
            .await
        })?;
        Ok(found.is_some())
    }

    /// A dependency finding of the tenant's releases, with its vulnerability.
    pub async fn linked_finding(
        &self,
        tenant: Tenant,
        finding_id: i64,
    ) -> Result<Option<LinkedFinding>, StoreError> {
        Ok(with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT f.id, f.release_id, v.vuln_id, f.group_id FROM findings f
                 JOIN releases r ON r.id = f.release_id
                 JOIN vulnerabilities v ON v.id = f.vulnerability_id
                 WHERE f.id = $1 AND f.team_id = $2 AND r.is_test = $3",
            )
            .bind(finding_id)
            .bind(tenant.team_id)
            .bind(tenant.test)
            .fetch_optional(pool)
            .await
        })?)
    }

    /// The tenant's product named `name` (letter case ignored): (id, name).
    pub async fn product_named(
        &self,
        tenant: Tenant,
        name: &str,
    ) -> Result<Option<(i64, String)>, StoreError> {
        Ok(with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, name FROM products
                 WHERE team_id = $1 AND is_test = $2 AND LOWER(name) = LOWER($3)
                 ORDER BY id LIMIT 1",
            )
            .bind(tenant.team_id)
            .bind(tenant.test)
            .bind(name)
            .fetch_optional(pool)
            .await
        })?)
    }

    /// Open (not suppressed) findings of a product's releases (`release = false`) or of one
    /// release: how many, and the distinct vulnerabilities among them that are critical
    /// (CVSS ≥ 9 or rated critical) or in CISA KEV.
    pub async fn asset_open_findings(
        &self,
        tenant: Tenant,
        release: bool,
        id: i64,
    ) -> Result<AssetFindings, StoreError> {
        let suppressed: Vec<String> = rampart_core::triage::suppressed_states()
            .map(|state| format!("'{}'", state.as_str()))
            .collect();
        let scope = if release {
            "r.id = $3"
        } else {
            "r.product_id = $3"
        };
        let sql = format!(
            "SELECT COUNT(*),
                    COUNT(DISTINCT CASE WHEN v.max_cvss >= 9.0 OR v.severity_band = 'critical'
                                        THEN f.group_id END),
                    COUNT(DISTINCT CASE WHEN g.in_kev THEN f.group_id END)
             FROM findings f
             JOIN releases r ON r.id = f.release_id
             JOIN vulnerabilities v ON v.id = f.vulnerability_id
             LEFT JOIN dispositions d ON d.id = f.disposition_id
             LEFT JOIN group_ratings g ON g.group_id = f.group_id
             WHERE f.team_id = $1 AND r.team_id = $1 AND r.is_test = $2 AND {scope}
               AND f.resolved_at IS NULL
               AND (d.state IS NULL OR d.state NOT IN ({}))",
            suppressed.join(", ")
        );
        let (open_findings, open_critical, open_kev): (i64, i64, i64) = with_pool!(self, pool => {
            sqlx::query_as(&sql)
                .bind(tenant.team_id)
                .bind(tenant.test)
                .bind(id)
                .fetch_one(pool)
                .await
        })?;
        Ok(AssetFindings {
            open_findings,
            open_critical,
            open_kev,
        })
    }
}

fn bump(counts: &mut Vec<(String, i64)>, key: String) {
    match counts.iter_mut().find(|(k, _)| *k == key) {
        Some((_, n)) => *n += 1,
        None => counts.push((key, 1)),
    }
}
