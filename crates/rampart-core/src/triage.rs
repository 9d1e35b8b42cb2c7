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
//!
//! Reach ([`applies`]): a decision is made on one finding (a vulnerability's alias group ×
//! a component) and reaches every finding of the same alias group and component
//! ([`component_key`]) that its [`DecisionScope`] covers: the same component version in
//! the same release (`release`), any version in any release of the product (`product`), or
//! the versions in a range in any release of the product (`range`). A finding's current
//! decision is the latest decision that reaches it.

pub use rampart_formats::vex::disposition::{
    Disposition, DispositionError, DispositionState, Justification, Response, UnknownValue,
    JUSTIFICATION_MAPPING, RESPONSE_MAPPING, STATE_MAPPING,
};

use rampart_versions::vers::{scheme_for_vers_type, CompiledVers, VersRange};

/// How far a decision reaches beyond the finding it was made on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DecisionScope {
    /// The same component version in the release it was made on.
    Release,
    /// The component, any version, in every release of the product.
    Product,
    /// The component's versions in a [`DecisionRange`], in every release of the product.
    Range,
}

impl DecisionScope {
    pub const ALL: [DecisionScope; 3] = [
        DecisionScope::Release,
        DecisionScope::Product,
        DecisionScope::Range,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DecisionScope::Release => "release",
            DecisionScope::Product => "product",
            DecisionScope::Range => "range",
        }
    }

    pub fn parse(text: &str) -> Option<DecisionScope> {
        Self::ALL.into_iter().find(|scope| scope.as_str() == text)
    }
}

/// The component versions a `range` decision covers: a `vers:` range, kept canonical.
#[derive(Debug, Clone)]
pub struct DecisionRange {
    text: String,
    compiled: CompiledVers,
}

impl DecisionRange {
    /// Reads a `vers:` range tolerantly (constraints in any order are sorted by the type's
    /// version order); the error says why it cannot be used.
    pub fn parse(text: &str) -> Result<DecisionRange, String> {
        let syntax = VersRange::parse_syntax(text.trim()).map_err(|e| e.to_string())?;
        let scheme = scheme_for_vers_type(syntax.vers_type()).ok_or_else(|| {
            format!(
                "vers type {:?} has no version order Rampart knows",
                syntax.vers_type()
            )
        })?;
        let range = syntax.normalized(scheme).map_err(|e| e.to_string())?;
        let compiled = range.compile(scheme).map_err(|e| e.to_string())?;
        Ok(DecisionRange {
            text: range.to_string(),
            compiled,
        })
    }

    /// An OSV range (its events, e.g. `introduced` 1.0 / `fixed` 1.4.2) in the version
    /// order of `vers_type` (a purl type: `npm`, `pypi`, `maven`, …), as a `vers:` range.
    pub fn from_osv_events(
        vers_type: &str,
        events: &[rampart_versions::range::RawEvent],
    ) -> Result<DecisionRange, String> {
        let scheme = scheme_for_vers_type(vers_type)
            .ok_or_else(|| format!("no version order for package type {vers_type:?}"))?;
        let range =
            VersRange::from_osv(vers_type, scheme, events, &[]).map_err(|e| e.to_string())?;
        Self::parse(&range.to_string())
    }

    /// The canonical `vers:` text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether `version` is in the range; a version the range's order cannot read is not.
    pub fn contains(&self, version: &str) -> bool {
        self.compiled
            .contains_str(version)
            .is_ok_and(|containment| containment.contained)
    }
}

/// The component identity decisions are keyed by: analysis's package key (`ecosystem/
/// normalised name`, the same for every spelling of the purl), else the lower-cased name.
pub fn component_key(package_key: Option<&str>, name: &str) -> String {
    match package_key.map(str::trim).filter(|key| !key.is_empty()) {
        Some(key) => key.to_string(),
        None => format!("name:{}", name.trim().to_lowercase()),
    }
}

/// What a recorded decision reaches (the alias group is matched by the caller).
#[derive(Debug, Clone, Copy)]
pub struct DecisionReach<'a> {
    pub scope: DecisionScope,
    /// The release it was made on.
    pub release_id: Option<i64>,
    pub component_key: &'a str,
    pub component_version: Option<&'a str>,
    /// For [`DecisionScope::Range`].
    pub range: Option<&'a DecisionRange>,
}

/// A finding as decisions see it (its product and alias group already matched).
#[derive(Debug, Clone, Copy)]
pub struct DecisionSubject<'a> {
    pub release_id: i64,
    pub component_key: &'a str,
    pub component_version: Option<&'a str>,
}

/// Whether a decision reaches a finding of the same product and alias group.
pub fn applies(reach: &DecisionReach<'_>, subject: &DecisionSubject<'_>) -> bool {
    if reach.component_key != subject.component_key {
        return false;
    }
    match reach.scope {
        DecisionScope::Release => {
            reach.release_id == Some(subject.release_id)
                && reach.component_version == subject.component_version
        }
        DecisionScope::Product => true,
        DecisionScope::Range => match (reach.range, subject.component_version) {
            (Some(range), Some(version)) => range.contains(version),
            _ => false,
        },
    }
}

/// The states that hide a finding by default, in the vocabulary's order.
pub fn suppressed_states() -> impl Iterator<Item = DispositionState> {
    DispositionState::ALL
        .into_iter()
        .filter(|state| state.is_suppressed())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reach<'a>(
        scope: DecisionScope,
        version: Option<&'a str>,
        range: Option<&'a DecisionRange>,
    ) -> DecisionReach<'a> {
        DecisionReach {
            scope,
            release_id: Some(1),
            component_key: "npm/lodash",
            component_version: version,
            range,
        }
    }

    fn subject(
        release_id: i64,
        key: &'static str,
        version: Option<&'static str>,
    ) -> DecisionSubject<'static> {
        DecisionSubject {
            release_id,
            component_key: key,
            component_version: version,
        }
    }

    #[test]
    fn release_scope_reaches_the_same_component_version_in_the_same_release_only() {
        let decision = reach(DecisionScope::Release, Some("4.17.20"), None);
        assert!(applies(
            &decision,
            &subject(1, "npm/lodash", Some("4.17.20"))
        ));
        assert!(!applies(
            &decision,
            &subject(2, "npm/lodash", Some("4.17.20"))
        ));
        assert!(!applies(
            &decision,
            &subject(1, "npm/lodash", Some("4.17.21"))
        ));
        assert!(!applies(
            &decision,
            &subject(1, "npm/underscore", Some("4.17.20"))
        ));
    }

    #[test]
    fn product_scope_reaches_every_release_and_version_of_the_component() {
        let decision = reach(DecisionScope::Product, Some("4.17.20"), None);
        assert!(applies(&decision, &subject(9, "npm/lodash", Some("1.0.0"))));
        assert!(applies(&decision, &subject(9, "npm/lodash", None)));
        assert!(!applies(
            &decision,
            &subject(1, "pypi/lodash", Some("4.17.20"))
        ));
    }

    #[test]
    fn range_scope_reaches_versions_in_the_range_by_the_ecosystem_order() {
        let range = DecisionRange::parse("vers:npm/<4.17.21|>=4.0.0").unwrap();
        assert_eq!(range.as_str(), "vers:npm/>=4.0.0|<4.17.21");
        let decision = reach(DecisionScope::Range, None, Some(&range));
        assert!(applies(&decision, &subject(3, "npm/lodash", Some("4.9.0"))));
        assert!(applies(
            &decision,
            &subject(3, "npm/lodash", Some("4.17.20"))
        ));
        assert!(!applies(
            &decision,
            &subject(3, "npm/lodash", Some("4.17.21"))
        ));
        assert!(!applies(
            &decision,
            &subject(3, "npm/lodash", Some("3.10.1"))
        ));
        assert!(!applies(&decision, &subject(3, "npm/lodash", None)));
        assert!(!applies(
            &decision,
            &subject(3, "npm/lodash", Some("not a version"))
        ));
    }

    #[test]
    fn osv_events_become_a_vers_range() {
        use rampart_versions::range::{EventKind, RawEvent};
        let events = [
            RawEvent {
                kind: EventKind::Introduced,
                version: "1.0".into(),
            },
            RawEvent {
                kind: EventKind::Fixed,
                version: "1.4.2".into(),
            },
        ];
        let range = DecisionRange::from_osv_events("pypi", &events).unwrap();
        assert_eq!(range.as_str(), "vers:pypi/>=1.0|<1.4.2");
        assert!(range.contains("1.4.1"));
        assert!(!range.contains("1.4.2"));
        assert!(DecisionRange::parse("vers:nosuchtype/1.0").is_err());
        assert!(DecisionRange::parse("not-a-range").is_err());
    }

    #[test]
    fn component_key_prefers_the_package_key() {
        assert_eq!(
            component_key(Some("npm/@babel/core"), "core"),
            "npm/@babel/core"
        );
        assert_eq!(component_key(None, " OpenSSL "), "name:openssl");
        assert_eq!(component_key(Some(""), "zlib"), "name:zlib");
    }

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
