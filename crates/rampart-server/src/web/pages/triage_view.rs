//! What the release page shows of triage: a finding's decision cell and the triage form.
//! Apart from the triage handlers (`triage`), which render the release page themselves, so
//! that neither page module imports the other.

use rampart_core::triage::{DispositionState, Justification, Response as TriageResponse};
use rampart_engine::services::dispositions::CurrentDecision;

use crate::web::form::Fields;

/// A finding's current decision as the table shows it.
pub struct TriageCell {
    pub state: &'static str,
    pub justification: Option<&'static str>,
    pub inherited: bool,
    /// Why to look at it again (empty: nothing changed).
    pub review: String,
}

impl TriageCell {
    pub fn of(current: &CurrentDecision) -> Self {
        let disposition = &current.decision.disposition;
        TriageCell {
            state: disposition.state.as_str(),
            justification: disposition.justification.map(Justification::as_str),
            inherited: current.inherited,
            review: current.review_reasons.join("; "),
        }
    }
}

/// The triage form: its choices, what was entered (kept when the decision is refused) and
/// the refusal.
#[derive(Default)]
pub struct TriageForm {
    pub state: String,
    pub justification: String,
    pub responses: Vec<String>,
    pub detail: String,
    pub action_statement: String,
    pub scope: String,
    pub version_range: String,
    pub error: Option<String>,
    pub states: Vec<&'static str>,
    pub justifications: Vec<&'static str>,
    pub response_choices: Vec<&'static str>,
}

impl TriageForm {
    /// An empty form, or the one a refused post entered.
    pub fn new(entered: Option<&Fields>, error: Option<String>) -> Self {
        let text = |name: &str| {
            entered
                .and_then(|fields| fields.get(name))
                .unwrap_or("")
                .to_string()
        };
        TriageForm {
            state: text("state"),
            justification: text("justification"),
            responses: entered
                .map(|fields| fields.all("responses"))
                .unwrap_or_default()
                .into_iter()
                .map(str::to_string)
                .collect(),
            detail: text("detail"),
            action_statement: text("action_statement"),
            scope: text("scope"),
            version_range: text("version_range"),
            error,
            states: DispositionState::ALL.map(DispositionState::as_str).to_vec(),
            justifications: Justification::ALL.map(Justification::as_str).to_vec(),
            response_choices: TriageResponse::ALL.map(TriageResponse::as_str).to_vec(),
        }
    }

    pub fn has_response(&self, response: &&str) -> bool {
        self.responses.iter().any(|r| r == response)
    }
}
