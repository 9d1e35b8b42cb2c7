//! Incidents: the list with filters (status, severity, assignee), reporting one (triage
//! decides its priority and due dates; a repeat is appended to the open incident), and an
//! incident's page with its triage, links, timeline and comments, assignment and the status
//! workflow (open → acknowledged → investigating → resolved → closed). The rules are
//! `services::incidents` (and `rampart_core::incident` for which moves the workflow allows).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use rampart_core::incident::{self, IncidentSeverity, IncidentStatus};
use rampart_core::{PageRequest, Scope};
use rampart_engine::services::incidents::{
    self, CommentRequest, Incident, IncidentCriteria, IncidentRequest, IncidentUpdate,
    StatusRequest,
};
use rampart_engine::services::teams;
use rampart_engine::{ErrorCode, ServiceError};

use super::{maybe_when, page_number, when, Pager};
use crate::state::AppState;
use crate::web::error::WebError;
use crate::web::form::{Fields, Form, Query};
use crate::web::layout::{render_with_status, see_other, Layout};
use crate::web::session::SignedIn;

const PER_PAGE: u32 = 50;

/// A duration in seconds as "2 h 5 min".
fn duration(seconds: Option<i64>) -> String {
    match seconds {
        None => "—".to_string(),
        Some(s) if s < 60 => format!("{s} s"),
        Some(s) if s < 3600 => format!("{} min", s / 60),
        Some(s) if s < 86_400 => format!("{} h {} min", s / 3600, (s % 3600) / 60),
        Some(s) => format!("{} d {} h", s / 86_400, (s % 86_400) / 3600),
    }
}

pub struct IncidentRow {
    pub id: i64,
    pub title: String,
    pub description: String,
    pub severity: String,
    pub priority: String,
    pub status: String,
    pub assignee: String,
    pub reporter: String,
    pub occurrences: i64,
    pub systems: Vec<String>,
    pub tags: Vec<String>,
    pub acknowledge_due: String,
    pub resolve_due: String,
    pub acknowledge_overdue: bool,
    pub resolve_overdue: bool,
    pub time_to_acknowledge: String,
    pub time_to_resolve: String,
    pub reasons: Vec<String>,
    pub links: Vec<(String, String)>,
    pub created: String,
    pub updated: String,
    pub test: bool,
}

impl IncidentRow {
    fn of(incident: &Incident) -> Self {
        let r = &incident.record;
        IncidentRow {
            id: r.id,
            title: r.title.clone(),
            description: r.description.clone(),
            severity: r.severity.clone(),
            priority: r.priority.clone(),
            status: r.status.clone(),
            assignee: r.assignee_email.clone().unwrap_or_default(),
            reporter: r.reporter.clone(),
            occurrences: r.occurrences,
            systems: Incident::list_field(&r.affected_systems),
            tags: Incident::list_field(&r.tags),
            acknowledge_due: maybe_when(r.acknowledge_due_at),
            resolve_due: maybe_when(r.resolve_due_at),
            acknowledge_overdue: incident.acknowledge_overdue,
            resolve_overdue: incident.resolve_overdue,
            time_to_acknowledge: duration(incident.time_to_acknowledge),
            time_to_resolve: duration(incident.time_to_resolve),
            reasons: incident
                .triage
                .as_ref()
                .map(|t| t.reasons.clone())
                .unwrap_or_default(),
            links: incident
                .links
                .iter()
                .map(|l| (l.kind.clone(), l.target.clone()))
                .collect(),
            created: when(r.created_at),
            updated: when(r.updated_at),
            test: r.is_test,
        }
    }

    /// Where a link leads on the dashboard, when it has a page.
    pub fn link_href(&self, kind: &str, target: &str) -> String {
        match kind {
            "vulnerability" => format!("/vulnerabilities/{target}"),
            "code_finding" => format!("/code-findings/{target}"),
            "finding" => format!("/findings/{target}/history"),
            _ => String::new(),
        }
    }
}

/// The list's filters as the query gave them.
#[derive(Default)]
pub struct IncidentQuery {
    pub statuses: Vec<String>,
    pub severities: Vec<String>,
    pub assignee: String,
}

impl IncidentQuery {
    fn read(fields: &Fields) -> Self {
        IncidentQuery {
            statuses: fields.all("status").into_iter().map(String::from).collect(),
            severities: fields
                .all("severity")
                .into_iter()
                .map(String::from)
                .collect(),
            assignee: fields.get("assignee").unwrap_or("").to_string(),
        }
    }

    pub fn has_status(&self, status: &&str) -> bool {
        self.statuses.iter().any(|s| s == status)
    }

    pub fn has_severity(&self, severity: &&str) -> bool {
        self.severities.iter().any(|s| s == severity)
    }

    pub fn is_filtered(&self) -> bool {
        !self.statuses.is_empty() || !self.severities.is_empty() || !self.assignee.is_empty()
    }

    fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs: Vec<(&'static str, String)> = Vec::new();
        pairs.extend(self.statuses.iter().map(|s| ("status", s.clone())));
        pairs.extend(self.severities.iter().map(|s| ("severity", s.clone())));
        pairs.push(("assignee", self.assignee.clone()));
        pairs
    }
}

/// A person one may assign an incident to, or filter by.
pub struct Person {
    pub id: i64,
    pub email: String,
}

/// The team's members when the signed-in person may list them; else only themselves.
async fn people(state: &AppState, user: &SignedIn) -> Result<Vec<Person>, WebError> {
    if user.can(Scope::TeamsManage) {
        let members = teams::members(state, &user.actor, user.actor.team_id).await?;
        return Ok(members
            .into_iter()
            .map(|m| Person {
                id: m.user_id,
                email: m.email,
            })
            .collect());
    }
    Ok(vec![Person {
        id: user.actor.user_id,
        email: user.actor.user_email.clone(),
    }])
}

/// The report form as entered (kept when refused).
#[derive(Default)]
pub struct ReportForm {
    pub title: String,
    pub severity: String,
    pub description: String,
    pub systems: String,
    pub vulnerabilities: String,
    pub tags: String,
}

impl ReportForm {
    fn entered(fields: &Fields) -> Self {
        let text = |name: &str| fields.get(name).unwrap_or("").to_string();
        ReportForm {
            title: text("title"),
            severity: text("severity"),
            description: text("description"),
            systems: text("affected_systems"),
            vulnerabilities: text("vulnerabilities"),
            tags: text("tags"),
        }
    }
}

/// Entries typed one per line or separated by commas.
fn entries(text: &str) -> Option<Vec<String>> {
    let list: Vec<String> = text
        .split(['\n', ','])
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect();
    (!list.is_empty()).then_some(list)
}

fn refused_on_form(error: &ServiceError) -> bool {
    matches!(
        error.code(),
        ErrorCode::ValidationFailed | ErrorCode::Conflict | ErrorCode::BadRequest
    )
}

fn statuses() -> Vec<&'static str> {
    IncidentStatus::ALL.iter().map(|s| s.as_str()).collect()
}

fn severities() -> Vec<&'static str> {
    IncidentSeverity::ALL.iter().map(|s| s.as_str()).collect()
}

#[derive(Template)]
#[template(path = "incidents.html")]
struct ListPage {
    layout: Layout,
    incidents: Vec<IncidentRow>,
    pager: Pager,
    query: IncidentQuery,
    people: Vec<Person>,
    statuses: Vec<&'static str>,
    severities: Vec<&'static str>,
    form: ReportForm,
    error: Option<String>,
    can_write: bool,
}

async fn list_page(
    state: &AppState,
    user: &SignedIn,
    query: IncidentQuery,
    page: u32,
    (form, error): (ReportForm, Option<String>),
    status: StatusCode,
) -> Result<Response, WebError> {
    let assignee_user_id = match query.assignee.as_str() {
        "" => None,
        "me" => Some(user.actor.user_id),
        id => Some(
            id.parse::<i64>()
                .map_err(|_| WebError::bad_request("`assignee` must be `me` or a member's id"))?,
        ),
    };
    let status_text = query.statuses.join(",");
    let severity_text = query.severities.join(",");
    let filter = IncidentCriteria {
        status: Some(status_text.as_str()),
        priority: None,
        severity: Some(severity_text.as_str()),
        assignee_user_id,
    }
    .resolve()?;
    let request = PageRequest::from_query(Some(page), Some(PER_PAGE), PER_PAGE)
        .map_err(|error| WebError::bad_request(error.to_string()))?;
    let listed = incidents::list(state, &user.actor, filter, request).await?;
    Ok(render_with_status(
        status,
        &ListPage {
            layout: user.layout("Incidents", "incidents"),
            incidents: listed.items.iter().map(IncidentRow::of).collect(),
            pager: Pager::new("/incidents", &query.pairs(), page, PER_PAGE, listed.total),
            people: people(state, user).await?,
            query,
            statuses: statuses(),
            severities: severities(),
            form,
            error,
            can_write: user.can(Scope::IncidentsWrite),
        },
    ))
}

/// `GET /incidents`.
pub async fn list(
    State(state): State<AppState>,
    user: SignedIn,
    Query(fields): Query,
) -> Result<Response, WebError> {
    let page = page_number(&fields)?;
    list_page(
        &state,
        &user,
        IncidentQuery::read(&fields),
        page,
        (ReportForm::default(), None),
        StatusCode::OK,
    )
    .await
}

/// `POST /incidents`: reports one (or appends the repeat to the open one), then its page; a
/// refused form is the list again with the form as entered and the reason.
pub async fn create(
    State(state): State<AppState>,
    user: SignedIn,
    Form(fields): Form,
) -> Result<Response, WebError> {
    let form = ReportForm::entered(&fields);
    let request = IncidentRequest {
        title: Some(form.title.clone()),
        severity: Some(form.severity.clone()),
        description: Some(form.description.clone()),
        affected_systems: entries(&form.systems),
        vulnerabilities: entries(&form.vulnerabilities),
        findings: None,
        tags: entries(&form.tags),
    };
    match incidents::create(&state, &user.actor, &user.origin, request).await {
        Ok((incident, _appended)) => Ok(see_other(
            user.fragment,
            &format!("/incidents/{}", incident.record.id),
        )),
        Err(error) if refused_on_form(&error) => {
            let status = crate::error::status_of(error.code());
            let message = Some(error.message().to_string());
            list_page(
                &state,
                &user,
                IncidentQuery::default(),
                1,
                (form, message),
                status,
            )
            .await
        }
        Err(error) => Err(error.into()),
    }
}

pub struct TimelineRow {
    pub kind: String,
    pub actor: String,
    pub message: String,
    pub change: String,
    pub at: String,
}

#[derive(Template)]
#[template(path = "incident.html")]
struct DetailPage {
    layout: Layout,
    incident: IncidentRow,
    timeline: Vec<TimelineRow>,
    next_statuses: Vec<&'static str>,
    people: Vec<Person>,
    assignee_id: Option<i64>,
    error: Option<String>,
    can_write: bool,
}

impl DetailPage {
    pub fn is_assignee(&self, id: impl std::borrow::Borrow<i64>) -> bool {
        self.assignee_id == Some(*id.borrow())
    }
}

/// What a timeline entry changed, from its details: `open → acknowledged`.
fn change_of(details: &str) -> String {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(details) else {
        return String::new();
    };
    let to = value.get("to").or_else(|| value.get("assignee_user_id"));
    match (value.get("from"), to) {
        (Some(from), Some(to)) => {
            let text = |v: &serde_json::Value| match v {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Null => "—".to_string(),
                other => other.to_string(),
            };
            format!("{} → {}", text(from), text(to))
        }
        _ => String::new(),
    }
}

async fn detail_page(
    state: &AppState,
    user: &SignedIn,
    id: i64,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, WebError> {
    let incident = incidents::get(state, &user.actor, id).await?;
    let timeline = incidents::timeline(state, &user.actor, id).await?;
    let current = IncidentStatus::parse(&incident.record.status).unwrap_or(IncidentStatus::Open);
    let can_write = user.can(Scope::IncidentsWrite);
    Ok(render_with_status(
        status,
        &DetailPage {
            layout: user.layout(format!("Incident {id}"), "incidents"),
            assignee_id: incident.record.assignee_user_id,
            incident: IncidentRow::of(&incident),
            timeline: timeline
                .into_iter()
                .map(|t| TimelineRow {
                    change: change_of(&t.details),
                    kind: t.kind,
                    actor: t.actor,
                    message: t.message.unwrap_or_default(),
                    at: when(t.created_at),
                })
                .collect(),
            next_statuses: incident::allowed_from(current)
                .iter()
                .map(|s| s.as_str())
                .collect(),
            people: if can_write {
                let mut people = people(state, user).await?;
                // The current assignee stays selectable even when the members are not listed.
                if let (Some(id), Some(email)) = (
                    incident.record.assignee_user_id,
                    incident.record.assignee_email.clone(),
                ) {
                    if !people.iter().any(|p| p.id == id) {
                        people.push(Person { id, email });
                    }
                }
                people
            } else {
                Vec::new()
            },
            error,
            can_write,
        },
    ))
}

/// `GET /incidents/{id}`.
pub async fn show(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    detail_page(&state, &user, id, None, StatusCode::OK).await
}

/// The page again with the refusal, or the error page.
async fn after(
    state: &AppState,
    user: &SignedIn,
    id: i64,
    outcome: Result<(), ServiceError>,
) -> Result<Response, WebError> {
    match outcome {
        Ok(()) => Ok(see_other(user.fragment, &format!("/incidents/{id}"))),
        Err(error) if refused_on_form(&error) => {
            let status = crate::error::status_of(error.code());
            let mut page =
                detail_page(state, user, id, Some(error.message().to_string()), status).await?;
            // htmx shows the incident's address, not the action's.
            if let Ok(value) = HeaderValue::from_str(&format!("/incidents/{id}")) {
                page.headers_mut().insert("hx-push-url", value);
            }
            Ok(page)
        }
        Err(error) => Err(error.into()),
    }
}

/// `POST /incidents/{id}/status`: a step of the workflow, with an optional note.
pub async fn set_status(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<i64>,
    Form(fields): Form,
) -> Result<Response, WebError> {
    let request = StatusRequest {
        status: fields.get("status").map(str::to_string),
        note: fields.get("note").map(str::to_string),
    };
    let outcome = incidents::set_status(&state, &user.actor, &user.origin, id, request)
        .await
        .map(|_| ());
    after(&state, &user, id, outcome).await
}

/// `POST /incidents/{id}/assign`: `assignee_user_id` empty unassigns.
pub async fn assign(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<i64>,
    Form(fields): Form,
) -> Result<Response, WebError> {
    let request = IncidentUpdate {
        assignee_user_id: Some(fields.number::<i64>("assignee_user_id")?),
        ..IncidentUpdate::default()
    };
    let outcome = incidents::update(&state, &user.actor, &user.origin, id, request)
        .await
        .map(|_| ());
    after(&state, &user, id, outcome).await
}

/// `POST /incidents/{id}/comments`.
pub async fn comment(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<i64>,
    Form(fields): Form,
) -> Result<Response, WebError> {
    let request = CommentRequest {
        body: fields.get("body").map(str::to_string),
    };
    let outcome = incidents::comment(&state, &user.actor, &user.origin, id, request)
        .await
        .map(|_| ());
    after(&state, &user, id, outcome).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(duration(None), "—");
        assert_eq!(duration(Some(42)), "42 s");
        assert_eq!(duration(Some(600)), "10 min");
        assert_eq!(duration(Some(7500)), "2 h 5 min");
        assert_eq!(duration(Some(90_000)), "1 d 1 h");
    }

    #[test]
    fn timeline_changes_name_both_sides() {
        assert_eq!(
            change_of(r#"{"from":"open","to":"acknowledged"}"#),
            "open → acknowledged"
        );
        assert_eq!(change_of(r#"{"from":null,"to":7}"#), "— → 7");
        assert_eq!(change_of(r#"{"from":null,"assignee_user_id":3}"#), "— → 3");
        assert_eq!(change_of("{}"), "");
        assert_eq!(change_of("not json"), "");
    }

    #[test]
    fn entries_split_on_lines_and_commas() {
        assert_eq!(
            entries("10.0.0.1\r\n product:3 , web"),
            Some(vec!["10.0.0.1".into(), "product:3".into(), "web".into()])
        );
        assert_eq!(entries(" \n"), None);
    }
}
