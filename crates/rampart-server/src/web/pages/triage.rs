//! Triage from the release page: the findings table's decision column, the triage form (one
//! decision on the finding of a row's button, or on every selected row) and a finding's
//! decision history. The rules are `services::dispositions`: this module only turns form
//! fields into a [`DecisionRequest`] and decisions into rows.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use rampart_core::Scope;
use rampart_engine::services::dispositions::{self, DecisionRequest, DecisionTarget};
use rampart_engine::{ErrorCode, ServiceError};
use rampart_store::StoredDisposition;

use super::releases::{release_page, FindingsQuery};
use super::triage_view::TriageForm;
use super::when;
use crate::state::AppState;
use crate::web::error::WebError;
use crate::web::form::{Fields, Form};
use crate::web::layout::{render, see_other, Layout};
use crate::web::session::SignedIn;

/// The decision a triage form asks for: the finding of the row's button (`only`) or every
/// selected row (`findings`); 422 naming the field that is not one of its values.
pub fn decision_request(fields: &Fields) -> Result<DecisionRequest, ServiceError> {
    fn parsed<T: std::str::FromStr>(field: &str, text: &str) -> Result<T, ServiceError> {
        text.parse()
            .map_err(|_| ServiceError::invalid(format!("`{field}`: unknown value {text:?}")))
    }
    let ids = match fields.get("only") {
        Some(only) => vec![only],
        None => fields.all("findings"),
    };
    let findings = ids
        .into_iter()
        .map(|id| {
            id.parse::<i64>().map_err(|_| {
                ServiceError::invalid(format!("`findings`: {id:?} is not a finding id"))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if findings.is_empty() {
        return Err(ServiceError::invalid(
            "`findings`: select the findings to triage",
        ));
    }
    let state = fields
        .get("state")
        .ok_or_else(|| ServiceError::invalid("`state`: choose a triage state"))?;
    Ok(DecisionRequest {
        findings,
        vulnerability: None,
        state: parsed("state", state)?,
        justification: fields
            .get("justification")
            .map(|j| parsed("justification", j))
            .transpose()?,
        responses: fields
            .all("responses")
            .into_iter()
            .map(|r| parsed("responses", r))
            .collect::<Result<_, _>>()?,
        detail: fields.get("detail").map(str::to_string),
        action_statement: fields.get("action_statement").map(str::to_string),
        scope: fields.get("scope").map(str::to_string),
        version_range: fields
            .get("version_range")
            .map(|range| serde_json::Value::String(range.to_string())),
    })
}

/// `POST /releases/{id}/dispositions`: records the decision, then the release page; a
/// refused decision is the release page again (422) with the form as entered and the reason.
pub async fn decide(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<i64>,
    Form(fields): Form,
) -> Result<Response, WebError> {
    user.actor.require(Scope::DispositionsWrite)?;
    let outcome = match decision_request(&fields) {
        Ok(request) => {
            dispositions::decide(
                &state,
                &user.actor,
                &user.origin,
                DecisionTarget::Release(id),
                request,
            )
            .await
        }
        Err(error) => Err(error),
    };
    match outcome {
        Ok(_) => Ok(see_other(user.fragment, &format!("/releases/{id}"))),
        Err(error) if error.code() == ErrorCode::ValidationFailed => {
            let form = TriageForm::new(Some(&fields), Some(error.message().to_string()));
            let query = FindingsQuery::from_fields(&Fields::default())?;
            release_page(
                &state,
                &user,
                id,
                query,
                form,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(error) => Err(error.into()),
    }
}

/// One decision of a finding's history.
pub struct DecisionRow {
    pub current: bool,
    pub made: String,
    pub state: &'static str,
    pub justification: String,
    pub responses: String,
    pub detail: String,
    pub action_statement: String,
    pub scope: String,
    pub source: String,
    pub author: String,
}

impl DecisionRow {
    fn of(decision: &StoredDisposition, current: Option<i64>) -> Self {
        let disposition = &decision.disposition;
        DecisionRow {
            current: current == Some(decision.id),
            made: when(decision.created_at),
            state: disposition.state.as_str(),
            justification: disposition
                .justification
                .map_or(String::new(), |j| j.as_str().to_string()),
            responses: disposition
                .responses
                .iter()
                .map(|r| r.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            detail: disposition.detail.clone().unwrap_or_default(),
            action_statement: disposition.action_statement.clone().unwrap_or_default(),
            scope: match &decision.version_range {
                Some(range) => format!("{} {range}", decision.scope.as_str()),
                None => decision.scope.as_str().to_string(),
            },
            source: match &decision.source_ref {
                Some(reference) => format!("{} ({reference})", decision.source.as_str()),
                None => decision.source.as_str().to_string(),
            },
            author: decision.author.clone(),
        }
    }
}

#[derive(Template)]
#[template(path = "finding_history.html")]
struct HistoryPage {
    layout: Layout,
    release_id: i64,
    vuln_id: String,
    component: String,
    decisions: Vec<DecisionRow>,
}

/// `GET /findings/{id}/history`: every decision that reaches the finding, newest first.
pub async fn history(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let (finding, decisions) = dispositions::history(&state, &user.actor, id).await?;
    let component = match &finding.component_version {
        Some(version) => format!("{}@{version}", finding.component_name),
        None => finding.component_name.clone(),
    };
    Ok(render(&HistoryPage {
        layout: user.layout(
            format!("Decisions on {} in {component}", finding.vuln_id),
            "portfolio",
        ),
        decisions: decisions
            .iter()
            .map(|d| DecisionRow::of(d, finding.disposition_id))
            .collect(),
        release_id: finding.release_id,
        vuln_id: finding.vuln_id,
        component,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rampart_core::triage::{DispositionState, Justification, Response as TriageResponse};

    #[test]
    fn a_row_button_decides_on_its_finding_and_the_selection_on_every_row() {
        let fields = Fields::parse(
            b"findings=4&findings=7&state=not_affected&justification=code_not_reachable\
              &responses=update&responses=rollback&detail=+unused+&scope=range\
              &version_range=vers:npm/%3C2&action_statement=",
        );
        let request = decision_request(&fields).unwrap();
        assert_eq!(request.findings, [4, 7]);
        assert_eq!(request.state, DispositionState::NotAffected);
        assert_eq!(request.justification, Some(Justification::CodeNotReachable));
        assert_eq!(
            request.responses,
            [TriageResponse::Update, TriageResponse::Rollback]
        );
        assert_eq!(request.detail.as_deref(), Some("unused"));
        assert_eq!(request.action_statement, None, "blank is absent");
        assert_eq!(request.scope.as_deref(), Some("range"));
        assert_eq!(
            request.version_range,
            Some(serde_json::Value::String("vers:npm/<2".into()))
        );
        let only = Fields::parse(b"only=9&findings=4&state=in_triage");
        assert_eq!(decision_request(&only).unwrap().findings, [9]);
    }

    #[test]
    fn a_form_missing_or_misspelling_a_value_names_the_field() {
        for (body, field) in [
            (&b"state=in_triage"[..], "`findings`"),
            (b"findings=x&state=in_triage", "`findings`"),
            (b"findings=1", "`state`"),
            (b"findings=1&state=fixed", "`state`"),
            (
                b"findings=1&state=in_triage&justification=nope",
                "`justification`",
            ),
            (b"findings=1&state=in_triage&responses=pray", "`responses`"),
        ] {
            let error = decision_request(&Fields::parse(body)).unwrap_err();
            assert_eq!(error.code(), ErrorCode::ValidationFailed);
            assert!(error.message().contains(field), "{}", error.message());
        }
    }

    #[test]
    fn a_refused_form_keeps_what_was_entered() {
        let fields = Fields::parse(b"state=exploitable&responses=update&detail=why");
        let form = TriageForm::new(Some(&fields), Some("`action_statement`: needed".into()));
        assert_eq!(form.state, "exploitable");
        assert!(form.has_response(&"update") && !form.has_response(&"rollback"));
        assert_eq!(form.detail, "why");
        assert_eq!(form.states.len(), 6);
        assert_eq!(form.justifications.len(), 9);
        assert!(TriageForm::new(None, None).error.is_none());
    }
}
