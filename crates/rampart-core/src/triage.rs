//! Triage decisions: the vocabulary findings are triaged with, and its rules.
//!
//! The types live in `rampart_formats::vex::disposition`, because the VEX writers and
//! readers (a lower crate) speak them too; this module is their home for the rest of
//! Rampart (store, engine, server, CLI). That module's documentation holds **the mapping
//! table** between Rampart (= CycloneDX analysis), OpenVEX 0.2.0 and CSAF 2.0, and marks
//! where a mapping is lossy.
//!
//! Rules:
//! - [`Disposition::validate`]: `not_affected` / `false_positive` need a justification or a
//!   detail, `exploitable` needs an action statement, a justification only goes with the
//!   not-affected states. The error names the field (the API answers 422 with it).
//! - [`DispositionState::is_suppressed`]: `not_affected`, `false_positive` and `resolved`
//!   leave default lists, summaries and `--fail-on`.

pub use rampart_formats::vex::disposition::{
    Disposition, DispositionError, DispositionState, Justification, Response, UnknownValue,
    JUSTIFICATION_MAPPING, RESPONSE_MAPPING, STATE_MAPPING,
};

/// The states that hide a finding by default, in the vocabulary's order.
pub fn suppressed_states() -> impl Iterator<Item = DispositionState> {
    DispositionState::ALL
        .into_iter()
        .filter(|state| state.is_suppressed())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suppressed_states_are_listed_by_their_spelling() {
        let names: Vec<&str> = suppressed_states().map(DispositionState::as_str).collect();
        assert_eq!(names, ["resolved", "false_positive", "not_affected"]);
    }

    #[test]
    fn a_decision_from_the_api_is_checked_before_it_is_stored() {
        let decision: Disposition = serde_json::from_str(
            r#"{"state": "exploitable", "justification": null, "responses": ["update"],
                "detail": null, "action_statement": null}"#,
        )
        .unwrap();
        let error = decision.validate().unwrap_err();
        assert_eq!(error.field, "action_statement");
        assert!(serde_json::from_str::<Disposition>(
            r#"{"state": "fixed", "justification": null, "responses": [], "detail": null, "action_statement": null}"#
        )
        .is_err());
    }
}
