//! Code findings from SARIF uploads: the team's list with filters (severity, status, tool,
//! rule, repository, integration) and sorts, a finding's page with its location, rule and
//! history, and its triage (`open`, `false_positive`, `accepted_risk` until a date with a
//! reason, `fixed`). The rules are `services::code_findings`: a refused triage is the page
//! again with the service's reason.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, NaiveDate, Utc};
use rampart_core::code_finding_diff::CodeStatus;
use rampart_core::{PageRequest, Scope};
use rampart_engine::services::code_findings::{
    self, CodeFinding, CodeFindingCriteria, TriageRequest,
};
use rampart_engine::{ErrorCode, ServiceError};
use rampart_store::CodeFindingEvent;

use super::{maybe_when, page_number, when, Pager};
use crate::state::AppState;
use crate::web::error::WebError;
use crate::web::form::{Fields, Form, Query};
use crate::web::layout::{render, render_with_status, see_other, Layout};
use crate::web::session::SignedIn;

const PER_PAGE: u32 = 100;
const SEVERITIES: [&str; 5] = ["critical", "high", "medium", "low", "none"];
/// The states a person may set (`suppressed` comes from the tool or the source only).
pub const TRIAGE_STATES: [&str; 4] = ["open", "false_positive", "accepted_risk", "fixed"];

/// The list's filters as the query string gives them.
#[derive(Debug, Default)]
pub struct CodeQuery {
    pub severities: Vec<String>,
    pub statuses: Vec<String>,
    pub tool: String,
    pub rule: String,
    pub repository: String,
    pub integration_id: Option<i64>,
    pub sort: String,
    pub page: u32,
}

impl CodeQuery {
    pub fn from_fields(fields: &Fields) -> Result<Self, WebError> {
        let lower = |name: &str| -> Vec<String> {
            fields
                .all(name)
                .into_iter()
                .map(str::to_lowercase)
                .collect()
        };
        Ok(CodeQuery {
            severities: lower("severity"),
            statuses: lower("status"),
            tool: fields.get("tool").unwrap_or("").to_string(),
            rule: fields.get("rule").unwrap_or("").to_string(),
            repository: fields.get("repository").unwrap_or("").to_string(),
            integration_id: fields.number("integration_id")?,
            sort: fields.get("sort").unwrap_or("severity").to_string(),
            page: page_number(fields)?,
        })
    }

    /// The query parameters (without the page) that reproduce these filters.
    pub fn params(&self) -> Vec<(&'static str, String)> {
        let mut params: Vec<(&'static str, String)> = self
            .severities
            .iter()
            .map(|s| ("severity", s.clone()))
            .chain(self.statuses.iter().map(|s| ("status", s.clone())))
            .collect();
        params.push(("tool", self.tool.clone()));
        params.push(("rule", self.rule.clone()));
        params.push(("repository", self.repository.clone()));
        if let Some(id) = self.integration_id {
            params.push(("integration_id", id.to_string()));
        }
        params.push(("sort", self.sort.clone()));
        params
    }

    pub fn has_severity(&self, severity: &&str) -> bool {
        self.severities.iter().any(|s| s == severity)
    }

    pub fn has_status(&self, status: &&str) -> bool {
        self.statuses.iter().any(|s| s == status)
    }

    pub fn is_filtered(&self) -> bool {
        !self.severities.is_empty()
            || !self.statuses.is_empty()
            || !self.tool.is_empty()
            || !self.rule.is_empty()
            || !self.repository.is_empty()
            || self.integration_id.is_some()
    }
}

/// A code finding as a row and as its page's facts.
pub struct CodeRow {
    pub id: i64,
    pub severity: String,
    pub rule_id: String,
    pub rule_name: String,
    pub message: String,
    pub location: String,
    pub repository: String,
    pub branch: String,
    pub tool: String,
    pub status: &'static str,
    pub accepted_until: String,
    pub reason: String,
    pub due: String,
    pub overdue: bool,
    pub first_seen: String,
    pub integration_id: i64,
}

impl CodeRow {
    pub fn of(finding: &CodeFinding) -> Self {
        let r = &finding.record;
        let location = match (&r.path, r.start_line) {
            (Some(path), Some(line)) => format!("{path}:{line}"),
            (Some(path), None) => path.clone(),
            (None, _) => String::new(),
        };
        CodeRow {
            id: r.id,
            severity: r.severity.clone(),
            rule_id: r.rule_id.clone(),
            rule_name: r.rule_name.clone().unwrap_or_default(),
            message: r.message.clone(),
            location,
            repository: r.repository.clone(),
            branch: r.branch.clone(),
            tool: match &r.tool_version {
                Some(version) => format!("{} {version}", r.tool),
                None => r.tool.clone(),
            },
            status: finding.status.as_str(),
            accepted_until: maybe_when(r.accepted_until),
            reason: r
                .triage_reason
                .clone()
                .or_else(|| r.suppression_justification.clone())
                .unwrap_or_default(),
            due: maybe_when(finding.due_at),
            overdue: finding.overdue,
            first_seen: when(r.first_seen_at),
            integration_id: r.integration_id,
        }
    }
}

#[derive(Template)]
#[template(path = "code_findings.html")]
struct ListPage {
    layout: Layout,
    query: CodeQuery,
    severities: [&'static str; 5],
    statuses: Vec<&'static str>,
    findings: Vec<CodeRow>,
    pager: Pager,
}

/// `GET /code-findings`.
pub async fn list(
    State(state): State<AppState>,
    user: SignedIn,
    Query(fields): Query,
) -> Result<Response, WebError> {
    let query = CodeQuery::from_fields(&fields)?;
    let (severity, status) = (query.severities.join(","), query.statuses.join(","));
    let criteria = CodeFindingCriteria {
        integration_id: query.integration_id,
        repository: Some(query.repository.as_str()),
        branch: None,
        tool: Some(query.tool.as_str()),
        rule: Some(query.rule.as_str()),
        severity: Some(severity.as_str()),
        status: Some(status.as_str()),
        sort: Some(query.sort.as_str()),
    };
    let request = PageRequest::from_query(Some(query.page), Some(PER_PAGE), PER_PAGE)
        .map_err(|error| WebError::bad_request(error.to_string()))?;
    let page = code_findings::list(&state, &user.actor, criteria.resolve()?, None, request).await?;
    Ok(render(&ListPage {
        layout: user.layout("Code findings", "code-findings"),
        pager: Pager::new(
            "/code-findings",
            &query.params(),
            query.page,
            PER_PAGE,
            page.total,
        ),
        findings: page.items.iter().map(CodeRow::of).collect(),
        query,
        severities: SEVERITIES,
        statuses: CodeStatus::ALL.iter().map(|s| s.as_str()).collect(),
    }))
}

pub struct EventRow {
    pub at: String,
    pub change: String,
    pub reason: String,
    pub until: String,
    pub actor: String,
    pub import: String,
}

impl EventRow {
    fn of(event: CodeFindingEvent) -> Self {
        EventRow {
            at: when(event.created_at),
            change: match event.from_status {
                Some(from) => format!("{from} → {}", event.to_status),
                None => format!("found ({})", event.to_status),
            },
            reason: event.reason.unwrap_or_default(),
            until: event.accepted_until.map(when).unwrap_or_default(),
            actor: event.actor,
            import: event.import_id.map(|i| i.to_string()).unwrap_or_default(),
        }
    }
}

/// The triage form as entered (kept when refused).
#[derive(Default)]
pub struct TriageForm {
    pub status: String,
    pub reason: String,
    pub expires: String,
}

#[derive(Template)]
#[template(path = "code_finding.html")]
struct DetailPage {
    layout: Layout,
    finding: CodeRow,
    rule_help: String,
    help_uri: Option<String>,
    snippet: String,
    commit: String,
    cwes: String,
    history: Vec<EventRow>,
    form: TriageForm,
    states: [&'static str; 4],
    error: Option<String>,
    can_triage: bool,
}

async fn detail_page(
    state: &AppState,
    user: &SignedIn,
    id: i64,
    form: TriageForm,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, WebError> {
    let finding = code_findings::get(state, &user.actor, id).await?;
    let (_, events) = code_findings::history(state, &user.actor, id).await?;
    let r = &finding.record;
    let help_uri = r
        .help_uri
        .clone()
        .filter(|u| u.starts_with("https://") || u.starts_with("http://"));
    let page = DetailPage {
        layout: user.layout(
            format!("{} in {}", r.rule_id, r.repository),
            "code-findings",
        ),
        rule_help: r.rule_help.clone().unwrap_or_default(),
        help_uri,
        snippet: r.snippet.clone().unwrap_or_default(),
        commit: r.commit_sha.clone().unwrap_or_default(),
        cwes: serde_json::from_str::<Vec<String>>(&r.cwes)
            .unwrap_or_default()
            .join(", "),
        // Newest first, ending with the upload that found it.
        history: events
            .into_iter()
            .rev()
            .map(EventRow::of)
            .chain(std::iter::once(EventRow {
                at: when(r.first_seen_at),
                change: "found (open)".to_string(),
                reason: String::new(),
                until: String::new(),
                actor: r.tool.clone(),
                import: r.first_import_id.to_string(),
            }))
            .collect(),
        form: TriageForm {
            status: if form.status.is_empty() {
                finding.status.as_str().to_string()
            } else {
                form.status
            },
            ..form
        },
        states: TRIAGE_STATES,
        error,
        can_triage: user.can(Scope::FindingsWrite),
        finding: CodeRow::of(&finding),
    };
    Ok(render_with_status(status, &page))
}

/// `GET /code-findings/{id}`.
pub async fn show(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    detail_page(
        &state,
        &user,
        id,
        TriageForm::default(),
        None,
        StatusCode::OK,
    )
    .await
}

/// An expiry as a date field sends it (the end of that day, UTC) or as RFC 3339.
pub fn expiry(text: &str) -> Result<DateTime<Utc>, ServiceError> {
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        if let Some(end) = date.and_hms_opt(23, 59, 59) {
            return Ok(end.and_utc());
        }
    }
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&Utc))
        .map_err(|_| {
            ServiceError::invalid(format!("expires_at: {text:?} is not a date (YYYY-MM-DD)"))
        })
}

/// `POST /code-findings/{id}/triage` (`status`, `reason`, `expires_at`): records the decision,
/// then the finding's page; a refused decision is the page again (422) with the reason.
pub async fn triage(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<i64>,
    Form(fields): Form,
) -> Result<Response, WebError> {
    user.actor.require(Scope::FindingsWrite)?;
    let form = TriageForm {
        status: fields.get("status").unwrap_or("").to_string(),
        reason: fields.get("reason").unwrap_or("").to_string(),
        expires: fields.get("expires_at").unwrap_or("").to_string(),
    };
    let outcome = match fields.get("expires_at").map(expiry).transpose() {
        Ok(expires_at) => {
            let request = TriageRequest {
                status: form.status.clone(),
                reason: Some(form.reason.clone()).filter(|r| !r.is_empty()),
                expires_at,
            };
            code_findings::triage(&state, &user.actor, &user.origin, id, request).await
        }
        Err(error) => Err(error),
    };
    match outcome {
        Ok(_) => Ok(see_other(user.fragment, &format!("/code-findings/{id}"))),
        Err(error) if error.code() == ErrorCode::ValidationFailed => {
            let message = Some(error.message().to_string());
            detail_page(
                &state,
                &user,
                id,
                form,
                message,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(error) => Err(error.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_reads_and_reproduces_its_filters() {
        let fields = Fields::parse(
            b"severity=High&status=open&status=accepted_risk&tool=Semgrep&rule=&integration_id=4&page=2",
        );
        let query = CodeQuery::from_fields(&fields).unwrap();
        assert_eq!(query.severities, ["high"]);
        assert!(query.has_status(&"accepted_risk") && !query.has_status(&"fixed"));
        assert_eq!((query.integration_id, query.page), (Some(4), 2));
        assert!(query.is_filtered());
        let params: Vec<String> = query
            .params()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        assert_eq!(
            params,
            [
                "severity=high",
                "status=open",
                "status=accepted_risk",
                "tool=Semgrep",
                "rule=",
                "repository=",
                "integration_id=4",
                "sort=severity"
            ]
        );
        assert!(!CodeQuery::from_fields(&Fields::default())
            .unwrap()
            .is_filtered());
        assert!(CodeQuery::from_fields(&Fields::parse(b"integration_id=x")).is_err());
    }

    #[test]
    fn an_expiry_is_a_date_or_a_time() {
        assert_eq!(
            expiry("2030-01-31").unwrap().to_rfc3339(),
            "2030-01-31T23:59:59+00:00"
        );
        assert_eq!(
            expiry("2030-01-31T10:00:00Z").unwrap().to_rfc3339(),
            "2030-01-31T10:00:00+00:00"
        );
        let error = expiry("soon").unwrap_err();
        assert!(error.message().starts_with("expires_at"));
    }
}
