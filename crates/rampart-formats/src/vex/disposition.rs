//! The triage vocabulary: what a product team decided about one vulnerability in one
//! component, and how that decision is spelled in CycloneDX, OpenVEX 0.2.0 and CSAF 2.0.
//!
//! Rampart stores decisions in CycloneDX's vocabulary (6 states, 9 justifications, 5
//! responses: the richest of the three, and the one Dependency-Track users already know).
//! OpenVEX and CSAF have fewer values, so their own fields merge values; each table below
//! lists, per value, what is written in those fields and what reading them gives back. A row
//! marked **lossy** does not survive on those fields alone. The tables are the constants
//! [`STATE_MAPPING`], [`JUSTIFICATION_MAPPING`] and [`RESPONSE_MAPPING`], which the writers
//! and readers use, so the documentation and the code cannot drift apart.
//!
//! # Exact round trips
//!
//! Every decision survives a write–read round trip through **every** format, lossy rows
//! included: when a decision's OpenVEX or CSAF fields lose something
//! ([`Disposition::needs_exact_analysis`]), the writer adds its exact CycloneDX values as an
//! [`ExactAnalysis`], in a place each format's schema allows for free text:
//! - OpenVEX: the last paragraph of the statement's `status_notes`
//!   (`CycloneDX analysis: state=false_positive; justification=requires_environment;
//!   response=rollback`); statements forbid other properties (`additionalProperties: false`).
//! - CSAF: a `vulnerabilities[].notes` entry of category `other`, title
//!   [`CSAF_EXACT_ANALYSIS_TITLE`], whose text ends with `; product_ids=` and the product ids.
//!
//! Readers prefer those values when they agree with the format's own fields (the same
//! status, flag label and remediation categories once spelled plainly); a note that
//! contradicts them (an edited status) is ignored with a warning. Documents from other tools
//! carry no such note and read as the tables say. The output still passes the OpenVEX and
//! CSAF schemas and the BSI validator's mandatory tests.
//!
//! # States
//!
//! | Rampart / CycloneDX `analysis.state` | OpenVEX `status` | CSAF `product_status` | read back from OpenVEX / CSAF |
//! |---|---|---|---|
//! | `not_affected` | `not_affected` | `known_not_affected` | `not_affected` |
//! | `false_positive` | `not_affected` | `known_not_affected` | `not_affected` (**lossy**) |
//! | `resolved` | `fixed` | `fixed` | `resolved` |
//! | `resolved_with_pedigree` | `fixed` | `fixed` | `resolved` (**lossy**) |
//! | `exploitable` | `affected` | `known_affected` | `exploitable` |
//! | `in_triage` | `under_investigation` | `under_investigation` | `in_triage` |
//!
//! CSAF's other product status groups are read too: `first_affected` and `last_affected` as
//! `exploitable`, `first_fixed` and `recommended` as `resolved` (each with a warning).
//!
//! # Justifications (only with `not_affected` / `false_positive`)
//!
//! OpenVEX `justification` and CSAF `flags[].label` share the same five labels.
//!
//! | Rampart / CycloneDX `analysis.justification` | OpenVEX / CSAF label | read back |
//! |---|---|---|
//! | `code_not_present` | `vulnerable_code_not_present` | `code_not_present` |
//! | `code_not_reachable` | `vulnerable_code_not_in_execute_path` | `code_not_reachable` |
//! | `requires_configuration` | `vulnerable_code_cannot_be_controlled_by_adversary` | `requires_configuration` |
//! | `requires_dependency` | `component_not_present` | `requires_dependency` |
//! | `requires_environment` | `vulnerable_code_cannot_be_controlled_by_adversary` | `requires_configuration` (**lossy**) |
//! | `protected_by_compiler` | `inline_mitigations_already_exist` | `protected_by_mitigating_control` (**lossy**) |
//! | `protected_at_runtime` | `inline_mitigations_already_exist` | `protected_by_mitigating_control` (**lossy**) |
//! | `protected_at_perimeter` | `inline_mitigations_already_exist` | `protected_by_mitigating_control` (**lossy**) |
//! | `protected_by_mitigating_control` | `inline_mitigations_already_exist` | `protected_by_mitigating_control` |
//!
//! # Responses
//!
//! | Rampart / CycloneDX `analysis.response` | CSAF `remediations[].category` | read back from CSAF |
//! |---|---|---|
//! | `can_not_fix` | `none_available` | `can_not_fix` |
//! | `will_not_fix` | `no_fix_planned` | `will_not_fix` |
//! | `update` | `vendor_fix` | `update` |
//! | `rollback` | `vendor_fix` | `update` (**lossy**) |
//! | `workaround_available` | `workaround` | `workaround_available` |
//! | (none, with an action statement) | `mitigation` | no response, the action statement kept |
//!
//! OpenVEX has no responses field: they travel only in the exact analysis (**lossy** on
//! OpenVEX's own fields); the action statement is written as `action_statement`.
//!
//! # Statement texts
//!
//! | Rampart | CycloneDX | OpenVEX | CSAF |
//! |---|---|---|---|
//! | `detail` (impact / why) | `analysis.detail` | `impact_statement` for `not_affected`, else `status_notes` | `threats[]` of category `impact`, `details` |
//! | `action_statement` | `vulnerabilities[].recommendation` | `action_statement` | `remediations[].details` |
//!
//! A CSAF remediation needs `details`: when a decision has responses but no action statement,
//! the writer uses the fixed text [`DEFAULT_REMEDIATION_DETAILS`], which the reader recognises
//! and drops again.
//!
//! # Rules a decision must follow ([`Disposition::validate`])
//!
//! Chosen so that every valid decision can be written in all three formats and pass their
//! schemas (OpenVEX: `not_affected` needs a justification or an impact statement, `affected`
//! needs an action statement; CSAF VEX profile: known-not-affected products need a flag or an
//! impact threat, known-affected ones a remediation):
//! - `not_affected` and `false_positive` need a `justification` or a `detail`;
//! - `exploitable` needs an `action_statement`;
//! - a `justification` is only allowed with `not_affected` and `false_positive`.
//!
//! Suppressed states (hidden from default lists, summaries and `--fail-on`) are
//! `not_affected`, `false_positive` and `resolved` ([`DispositionState::is_suppressed`]).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The triage state of a finding (CycloneDX `analysis.state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DispositionState {
    /// Fixed (the vulnerable component was changed or removed).
    Resolved,
    /// Fixed, and the pedigree of the component shows how.
    ResolvedWithPedigree,
    /// The product is affected.
    Exploitable,
    /// Not decided yet.
    InTriage,
    /// The finding was wrong: the component does not have this vulnerability.
    FalsePositive,
    /// The component has the vulnerability but the product is not affected by it.
    NotAffected,
}

/// Why a product is not affected (CycloneDX `analysis.justification`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Justification {
    CodeNotPresent,
    CodeNotReachable,
    RequiresConfiguration,
    RequiresDependency,
    RequiresEnvironment,
    ProtectedByCompiler,
    ProtectedAtRuntime,
    ProtectedAtPerimeter,
    ProtectedByMitigatingControl,
}

/// What the team does about it (CycloneDX `analysis.response`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Response {
    CanNotFix,
    WillNotFix,
    Update,
    Rollback,
    WorkaroundAvailable,
}

/// One row of [`STATE_MAPPING`].
#[derive(Debug, Clone, Copy)]
pub struct StateSpelling {
    pub state: DispositionState,
    pub cyclonedx: &'static str,
    pub openvex: &'static str,
    pub csaf: &'static str,
    /// Whether reading the OpenVEX / CSAF spelling gives `state` back.
    pub survives_openvex_and_csaf: bool,
}

/// The state table of the module documentation. For OpenVEX and CSAF, the first row with a
/// spelling is what reading it gives.
pub const STATE_MAPPING: [StateSpelling; 6] = [
    StateSpelling {
        state: DispositionState::NotAffected,
        cyclonedx: "not_affected",
        openvex: "not_affected",
        csaf: "known_not_affected",
        survives_openvex_and_csaf: true,
    },
    StateSpelling {
        state: DispositionState::FalsePositive,
        cyclonedx: "false_positive",
        openvex: "not_affected",
        csaf: "known_not_affected",
        survives_openvex_and_csaf: false,
    },
    StateSpelling {
        state: DispositionState::Resolved,
        cyclonedx: "resolved",
        openvex: "fixed",
        csaf: "fixed",
        survives_openvex_and_csaf: true,
    },
    StateSpelling {
        state: DispositionState::ResolvedWithPedigree,
        cyclonedx: "resolved_with_pedigree",
        openvex: "fixed",
        csaf: "fixed",
        survives_openvex_and_csaf: false,
    },
    StateSpelling {
        state: DispositionState::Exploitable,
        cyclonedx: "exploitable",
        openvex: "affected",
        csaf: "known_affected",
        survives_openvex_and_csaf: true,
    },
    StateSpelling {
        state: DispositionState::InTriage,
        cyclonedx: "in_triage",
        openvex: "under_investigation",
        csaf: "under_investigation",
        survives_openvex_and_csaf: true,
    },
];

/// One row of [`JUSTIFICATION_MAPPING`].
#[derive(Debug, Clone, Copy)]
pub struct JustificationSpelling {
    pub justification: Justification,
    pub cyclonedx: &'static str,
    /// OpenVEX `justification` and CSAF `flags[].label` (the same five labels).
    pub openvex_and_csaf: &'static str,
    pub survives_openvex_and_csaf: bool,
}

/// The justification table of the module documentation; first row per label wins on reading.
pub const JUSTIFICATION_MAPPING: [JustificationSpelling; 9] = {
    use Justification::*;
    const fn row(
        justification: Justification,
        cyclonedx: &'static str,
        openvex_and_csaf: &'static str,
        survives_openvex_and_csaf: bool,
    ) -> JustificationSpelling {
        JustificationSpelling {
            justification,
            cyclonedx,
            openvex_and_csaf,
            survives_openvex_and_csaf,
        }
    }
    [
        row(
            CodeNotPresent,
            "code_not_present",
            "vulnerable_code_not_present",
            true,
        ),
        row(
            CodeNotReachable,
            "code_not_reachable",
            "vulnerable_code_not_in_execute_path",
            true,
        ),
        row(
            RequiresConfiguration,
            "requires_configuration",
            "vulnerable_code_cannot_be_controlled_by_adversary",
            true,
        ),
        row(
            RequiresDependency,
            "requires_dependency",
            "component_not_present",
            true,
        ),
        row(
            RequiresEnvironment,
            "requires_environment",
            "vulnerable_code_cannot_be_controlled_by_adversary",
            false,
        ),
        row(
            ProtectedByMitigatingControl,
            "protected_by_mitigating_control",
            "inline_mitigations_already_exist",
            true,
        ),
        row(
            ProtectedByCompiler,
            "protected_by_compiler",
            "inline_mitigations_already_exist",
            false,
        ),
        row(
            ProtectedAtRuntime,
            "protected_at_runtime",
            "inline_mitigations_already_exist",
            false,
        ),
        row(
            ProtectedAtPerimeter,
            "protected_at_perimeter",
            "inline_mitigations_already_exist",
            false,
        ),
    ]
};

/// One row of [`RESPONSE_MAPPING`].
#[derive(Debug, Clone, Copy)]
pub struct ResponseSpelling {
    pub response: Response,
    pub cyclonedx: &'static str,
    pub csaf_remediation: &'static str,
    pub survives_csaf: bool,
}

/// The response table of the module documentation; first row per category wins on reading.
pub const RESPONSE_MAPPING: [ResponseSpelling; 5] = [
    ResponseSpelling {
        response: Response::CanNotFix,
        cyclonedx: "can_not_fix",
        csaf_remediation: "none_available",
        survives_csaf: true,
    },
    ResponseSpelling {
        response: Response::WillNotFix,
        cyclonedx: "will_not_fix",
        csaf_remediation: "no_fix_planned",
        survives_csaf: true,
    },
    ResponseSpelling {
        response: Response::Update,
        cyclonedx: "update",
        csaf_remediation: "vendor_fix",
        survives_csaf: true,
    },
    ResponseSpelling {
        response: Response::Rollback,
        cyclonedx: "rollback",
        csaf_remediation: "vendor_fix",
        survives_csaf: false,
    },
    ResponseSpelling {
        response: Response::WorkaroundAvailable,
        cyclonedx: "workaround_available",
        csaf_remediation: "workaround",
        survives_csaf: true,
    },
];

/// The CSAF remediation category written for an action statement without a response.
pub const CSAF_REMEDIATION_WITHOUT_RESPONSE: &str = "mitigation";

/// `details` of a CSAF remediation written for a response without an action statement
/// (CSAF requires the text). Read back as "no action statement".
pub const DEFAULT_REMEDIATION_DETAILS: &str =
    "See the response category; no further action statement was given.";

impl DispositionState {
    pub const ALL: [DispositionState; 6] = [
        DispositionState::Resolved,
        DispositionState::ResolvedWithPedigree,
        DispositionState::Exploitable,
        DispositionState::InTriage,
        DispositionState::FalsePositive,
        DispositionState::NotAffected,
    ];

    fn spelling(self) -> &'static StateSpelling {
        STATE_MAPPING
            .iter()
            .find(|row| row.state == self)
            .expect("every state has a row in STATE_MAPPING")
    }

    /// The CycloneDX spelling, which is also Rampart's (`serde`, API, store).
    pub fn as_str(self) -> &'static str {
        self.spelling().cyclonedx
    }

    pub fn openvex(self) -> &'static str {
        self.spelling().openvex
    }

    /// The CSAF `product_status` group.
    pub fn csaf(self) -> &'static str {
        self.spelling().csaf
    }

    pub fn from_openvex(status: &str) -> Option<Self> {
        STATE_MAPPING
            .iter()
            .find(|row| row.openvex == status)
            .map(|row| row.state)
    }

    /// Reads a CSAF `product_status` group; the second value says whether the group was
    /// merged into a coarser state (`first_fixed` → `resolved`, ...).
    pub fn from_csaf(group: &str) -> Option<(Self, bool)> {
        if let Some(row) = STATE_MAPPING.iter().find(|row| row.csaf == group) {
            return Some((row.state, false));
        }
        match group {
            "first_affected" | "last_affected" => Some((DispositionState::Exploitable, true)),
            "first_fixed" | "recommended" => Some((DispositionState::Resolved, true)),
            _ => None,
        }
    }

    /// Suppressed decisions leave the default vulnerability lists, summaries and
    /// `rampart scan --fail-on` (callers opt back in with `include_suppressed=true`).
    pub fn is_suppressed(self) -> bool {
        matches!(
            self,
            DispositionState::NotAffected
                | DispositionState::FalsePositive
                | DispositionState::Resolved
        )
    }

    /// Whether a justification may accompany this state.
    pub fn takes_justification(self) -> bool {
        matches!(
            self,
            DispositionState::NotAffected | DispositionState::FalsePositive
        )
    }
}

impl Justification {
    pub const ALL: [Justification; 9] = [
        Justification::CodeNotPresent,
        Justification::CodeNotReachable,
        Justification::RequiresConfiguration,
        Justification::RequiresDependency,
        Justification::RequiresEnvironment,
        Justification::ProtectedByCompiler,
        Justification::ProtectedAtRuntime,
        Justification::ProtectedAtPerimeter,
        Justification::ProtectedByMitigatingControl,
    ];

    fn spelling(self) -> &'static JustificationSpelling {
        JUSTIFICATION_MAPPING
            .iter()
            .find(|row| row.justification == self)
            .expect("every justification has a row in JUSTIFICATION_MAPPING")
    }

    pub fn as_str(self) -> &'static str {
        self.spelling().cyclonedx
    }

    /// The OpenVEX `justification`, which is also the CSAF flag label.
    pub fn openvex(self) -> &'static str {
        self.spelling().openvex_and_csaf
    }

    /// Reads an OpenVEX justification or a CSAF flag label.
    pub fn from_openvex(label: &str) -> Option<Self> {
        JUSTIFICATION_MAPPING
            .iter()
            .find(|row| row.openvex_and_csaf == label)
            .map(|row| row.justification)
    }
}

impl Response {
    pub const ALL: [Response; 5] = [
        Response::CanNotFix,
        Response::WillNotFix,
        Response::Update,
        Response::Rollback,
        Response::WorkaroundAvailable,
    ];

    fn spelling(self) -> &'static ResponseSpelling {
        RESPONSE_MAPPING
            .iter()
            .find(|row| row.response == self)
            .expect("every response has a row in RESPONSE_MAPPING")
    }

    pub fn as_str(self) -> &'static str {
        self.spelling().cyclonedx
    }

    pub fn csaf_remediation(self) -> &'static str {
        self.spelling().csaf_remediation
    }

    /// Reads a CSAF remediation category: `Some(None)` for `mitigation`, which carries an
    /// action statement without a response; `None` for an unknown category.
    pub fn from_csaf_remediation(category: &str) -> Option<Option<Self>> {
        if category == CSAF_REMEDIATION_WITHOUT_RESPONSE {
            return Some(None);
        }
        RESPONSE_MAPPING
            .iter()
            .find(|row| row.csaf_remediation == category)
            .map(|row| Some(row.response))
    }
}

/// A value that is not part of the vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} `{value}`; expected one of: {expected}")]
pub struct UnknownValue {
    pub kind: &'static str,
    pub value: String,
    pub expected: String,
}

fn parse_spelling<T: Copy>(
    kind: &'static str,
    value: &str,
    all: &[T],
    spell: impl Fn(T) -> &'static str,
) -> Result<T, UnknownValue> {
    all.iter()
        .copied()
        .find(|item| spell(*item) == value)
        .ok_or_else(|| UnknownValue {
            kind,
            value: value.to_string(),
            expected: all
                .iter()
                .map(|item| spell(*item))
                .collect::<Vec<_>>()
                .join(", "),
        })
}

macro_rules! spelled {
    ($type:ty, $kind:literal) => {
        impl FromStr for $type {
            type Err = UnknownValue;

            /// Parses the CycloneDX (and Rampart) spelling.
            fn from_str(value: &str) -> Result<Self, Self::Err> {
                parse_spelling($kind, value, &<$type>::ALL, <$type>::as_str)
            }
        }

        impl fmt::Display for $type {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

spelled!(DispositionState, "state");
spelled!(Justification, "justification");
spelled!(Response, "response");

/// One triage decision's content: the part of a decision that VEX documents carry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Disposition {
    pub state: DispositionState,
    pub justification: Option<Justification>,
    /// Sorted, without repeats (see [`Disposition::normalized`]).
    pub responses: Vec<Response>,
    /// Impact / detail: why the state holds (CycloneDX `analysis.detail`).
    pub detail: Option<String>,
    /// What users should do (OpenVEX `action_statement`).
    pub action_statement: Option<String>,
}

/// A decision that breaks one of the rules of [`Disposition::validate`]; `field` names the
/// field to fix (the server answers 422 with it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct DispositionError {
    pub field: &'static str,
    pub message: String,
}

impl Disposition {
    /// A decision with only a state.
    pub fn new(state: DispositionState) -> Self {
        Disposition {
            state,
            justification: None,
            responses: Vec::new(),
            detail: None,
            action_statement: None,
        }
    }

    /// Responses sorted without repeats, and blank texts as absent: two decisions that say
    /// the same thing compare equal.
    pub fn normalized(mut self) -> Self {
        self.responses.sort_unstable();
        self.responses.dedup();
        self.detail = non_blank(self.detail);
        self.action_statement = non_blank(self.action_statement);
        self
    }

    /// Checks the rules listed in the module documentation.
    pub fn validate(&self) -> Result<(), DispositionError> {
        let has_text =
            |text: &Option<String>| text.as_deref().is_some_and(|t| !t.trim().is_empty());
        if self.justification.is_some() && !self.state.takes_justification() {
            return Err(DispositionError {
                field: "justification",
                message: format!(
                    "a justification is only allowed with not_affected or false_positive, not with {}",
                    self.state
                ),
            });
        }
        if self.state.takes_justification()
            && self.justification.is_none()
            && !has_text(&self.detail)
        {
            return Err(DispositionError {
                field: "justification",
                message: format!(
                    "state {} needs a justification or an impact statement (detail)",
                    self.state
                ),
            });
        }
        if self.state == DispositionState::Exploitable && !has_text(&self.action_statement) {
            return Err(DispositionError {
                field: "action_statement",
                message: "state exploitable needs an action statement telling users what to do"
                    .into(),
            });
        }
        Ok(())
    }
}

/// The vocabularies that spell a decision with fewer values than CycloneDX.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlainFormat {
    OpenVex,
    Csaf,
}

impl Disposition {
    /// What reading this decision back from `format`'s own fields gives, by the mapping
    /// tables (without the [`ExactAnalysis`] Rampart's writers add).
    pub fn read_back_plainly(&self, format: PlainFormat) -> Disposition {
        let mut plain = self.clone();
        plain.state = DispositionState::from_openvex(self.state.openvex())
            .expect("every state's OpenVEX spelling reads back");
        plain.justification = self
            .justification
            .and_then(|j| Justification::from_openvex(j.openvex()));
        plain.responses = match format {
            PlainFormat::OpenVex => Vec::new(),
            PlainFormat::Csaf => self
                .responses
                .iter()
                .filter_map(|r| Response::from_csaf_remediation(r.csaf_remediation()).flatten())
                .collect(),
        };
        plain.normalized()
    }

    /// Whether `format`'s own fields lose part of this decision, so that a writer adds the
    /// [`ExactAnalysis`].
    pub fn needs_exact_analysis(&self, format: PlainFormat) -> bool {
        self.read_back_plainly(format) != self.clone().normalized()
    }
}

/// Starts the text that carries a decision's exact CycloneDX values in OpenVEX
/// `status_notes` and CSAF notes: `CycloneDX analysis: state=false_positive;
/// justification=requires_environment; response=rollback,update`.
pub const EXACT_ANALYSIS_PREFIX: &str = "CycloneDX analysis:";

/// The `title` of the CSAF `vulnerabilities[].notes` entry (category `other`) that carries
/// an [`ExactAnalysis`]; its text ends with `; product_ids=` and the product ids it is about.
pub const CSAF_EXACT_ANALYSIS_TITLE: &str = "CycloneDX analysis";

/// A decision's state, justification and responses in CycloneDX's vocabulary, written next
/// to OpenVEX's and CSAF's coarser fields so that Rampart reads back exactly what it wrote.
/// Other tools see a note; Rampart's readers prefer it when it agrees with those fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExactAnalysis {
    pub state: DispositionState,
    pub justification: Option<Justification>,
    pub responses: Vec<Response>,
    /// CSAF only: the product ids the note is about.
    pub product_ids: Vec<String>,
}

impl ExactAnalysis {
    pub fn of(disposition: &Disposition) -> Self {
        let mut responses = disposition.responses.clone();
        responses.sort_unstable();
        responses.dedup();
        ExactAnalysis {
            state: disposition.state,
            justification: disposition.justification,
            responses,
            product_ids: Vec::new(),
        }
    }

    pub fn to_text(&self) -> String {
        let mut text = format!("{EXACT_ANALYSIS_PREFIX} state={}", self.state);
        if let Some(justification) = self.justification {
            text.push_str(&format!("; justification={justification}"));
        }
        if !self.responses.is_empty() {
            let responses: Vec<&str> = self.responses.iter().map(|r| r.as_str()).collect();
            text.push_str(&format!("; response={}", responses.join(",")));
        }
        if !self.product_ids.is_empty() {
            text.push_str(&format!("; product_ids={}", self.product_ids.join(" ")));
        }
        text
    }

    /// Reads [`ExactAnalysis::to_text`]'s spelling; `None` for any other text.
    pub fn parse(text: &str) -> Option<Self> {
        let rest = text.trim().strip_prefix(EXACT_ANALYSIS_PREFIX)?;
        let mut analysis = ExactAnalysis {
            state: DispositionState::InTriage,
            justification: None,
            responses: Vec::new(),
            product_ids: Vec::new(),
        };
        let mut has_state = false;
        for part in rest.split(';') {
            let (key, value) = part.trim().split_once('=')?;
            match key {
                "state" => {
                    analysis.state = value.parse().ok()?;
                    has_state = true;
                }
                "justification" => analysis.justification = Some(value.parse().ok()?),
                "response" => {
                    for response in value.split(',') {
                        analysis.responses.push(response.parse().ok()?);
                    }
                }
                "product_ids" => {
                    analysis.product_ids = value.split_whitespace().map(str::to_string).collect()
                }
                _ => return None,
            }
        }
        has_state.then_some(analysis)
    }

    /// `read` (what the format's own fields said) with the exact values, if they agree with
    /// it: the same state and justification once spelled plainly, and for CSAF the same
    /// remediation categories. `Err` names the disagreement.
    pub fn apply_to(&self, read: &Disposition, format: PlainFormat) -> Result<Disposition, String> {
        let exact = Disposition {
            state: self.state,
            justification: self.justification,
            responses: self.responses.clone(),
            ..read.clone()
        }
        .normalized();
        let plain = exact.read_back_plainly(format);
        let agrees = plain.state == read.state
            && plain.justification == read.justification
            && (format == PlainFormat::OpenVex || plain.responses == read.responses);
        if agrees {
            Ok(exact)
        } else {
            Err(format!(
                "the note says {}, which does not agree with the document's status, justification or remediations; the note is ignored",
                self.to_text()
            ))
        }
    }
}

fn non_blank(text: Option<String>) -> Option<String> {
    text.filter(|text| !text.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_parses_from_its_own_spelling() {
        for state in DispositionState::ALL {
            assert_eq!(state.as_str().parse::<DispositionState>(), Ok(state));
            let json = serde_json::to_string(&state).unwrap();
            assert_eq!(json, format!("\"{}\"", state.as_str()));
        }
        for justification in Justification::ALL {
            assert_eq!(justification.as_str().parse(), Ok(justification));
            let json = serde_json::to_string(&justification).unwrap();
            assert_eq!(json, format!("\"{}\"", justification.as_str()));
        }
        for response in Response::ALL {
            assert_eq!(response.as_str().parse(), Ok(response));
        }
        let error = "fixed".parse::<DispositionState>().unwrap_err();
        assert!(error.to_string().contains("in_triage"), "{error}");
    }

    #[test]
    fn the_mapping_tables_say_which_values_survive_openvex_and_csaf() {
        for row in STATE_MAPPING {
            assert_eq!(
                DispositionState::from_openvex(row.openvex) == Some(row.state),
                row.survives_openvex_and_csaf,
                "{:?}",
                row.state
            );
            assert_eq!(
                DispositionState::from_csaf(row.csaf) == Some((row.state, false)),
                row.survives_openvex_and_csaf,
                "{:?}",
                row.state
            );
        }
        for row in JUSTIFICATION_MAPPING {
            assert_eq!(
                Justification::from_openvex(row.openvex_and_csaf) == Some(row.justification),
                row.survives_openvex_and_csaf,
                "{:?}",
                row.justification
            );
        }
        for row in RESPONSE_MAPPING {
            assert_eq!(
                Response::from_csaf_remediation(row.csaf_remediation) == Some(Some(row.response)),
                row.survives_csaf,
                "{:?}",
                row.response
            );
        }
        assert_eq!(Response::from_csaf_remediation("mitigation"), Some(None));
        assert_eq!(Response::from_csaf_remediation("bogus"), None);
        assert_eq!(
            DispositionState::from_csaf("first_fixed"),
            Some((DispositionState::Resolved, true))
        );
        assert_eq!(DispositionState::from_openvex("known_affected"), None);
    }

    #[test]
    fn the_five_openvex_justifications_are_all_readable() {
        for label in [
            "component_not_present",
            "vulnerable_code_not_present",
            "vulnerable_code_not_in_execute_path",
            "vulnerable_code_cannot_be_controlled_by_adversary",
            "inline_mitigations_already_exist",
        ] {
            let justification = Justification::from_openvex(label).expect(label);
            assert_eq!(justification.openvex(), label);
        }
    }

    #[test]
    fn not_affected_needs_a_justification_or_a_detail() {
        let bare = Disposition::new(DispositionState::NotAffected);
        assert_eq!(bare.validate().unwrap_err().field, "justification");
        let blank = Disposition {
            detail: Some("  ".into()),
            ..bare.clone()
        };
        assert_eq!(blank.validate().unwrap_err().field, "justification");
        let justified = Disposition {
            justification: Some(Justification::CodeNotReachable),
            ..bare.clone()
        };
        assert_eq!(justified.validate(), Ok(()));
        let explained = Disposition {
            detail: Some("the parser is never given user input".into()),
            ..bare
        };
        assert_eq!(explained.validate(), Ok(()));
        let false_positive = Disposition::new(DispositionState::FalsePositive);
        assert_eq!(
            false_positive.validate().unwrap_err().field,
            "justification"
        );
    }

    #[test]
    fn exploitable_needs_an_action_statement() {
        let bare = Disposition::new(DispositionState::Exploitable);
        let error = bare.validate().unwrap_err();
        assert_eq!(error.field, "action_statement");
        assert!(
            error.to_string().starts_with("action_statement: "),
            "{error}"
        );
        let told = Disposition {
            action_statement: Some("Upgrade to 2.17.1.".into()),
            ..bare
        };
        assert_eq!(told.validate(), Ok(()));
    }

    #[test]
    fn a_justification_only_goes_with_not_affected_states() {
        let odd = Disposition {
            justification: Some(Justification::CodeNotPresent),
            ..Disposition::new(DispositionState::Resolved)
        };
        assert_eq!(odd.validate().unwrap_err().field, "justification");
        for state in [
            DispositionState::Resolved,
            DispositionState::ResolvedWithPedigree,
            DispositionState::InTriage,
        ] {
            assert_eq!(Disposition::new(state).validate(), Ok(()), "{state}");
        }
    }

    #[test]
    fn suppressed_states_are_the_three_that_close_a_finding() {
        let suppressed: Vec<_> = DispositionState::ALL
            .into_iter()
            .filter(|state| state.is_suppressed())
            .collect();
        assert_eq!(
            suppressed,
            [
                DispositionState::Resolved,
                DispositionState::FalsePositive,
                DispositionState::NotAffected
            ]
        );
    }

    #[test]
    fn normalizing_sorts_responses_and_drops_blank_texts() {
        let disposition = Disposition {
            responses: vec![Response::Update, Response::CanNotFix, Response::Update],
            detail: Some(" ".into()),
            ..Disposition::new(DispositionState::Exploitable)
        }
        .normalized();
        assert_eq!(
            disposition.responses,
            [Response::CanNotFix, Response::Update]
        );
        assert_eq!(disposition.detail, None);
    }

    #[test]
    fn the_exact_analysis_is_needed_exactly_where_a_format_merges_values() {
        use PlainFormat::*;
        let justified = |justification| Disposition {
            justification: Some(justification),
            ..Disposition::new(DispositionState::NotAffected)
        };
        assert!(!justified(Justification::CodeNotReachable).needs_exact_analysis(OpenVex));
        assert!(justified(Justification::RequiresEnvironment).needs_exact_analysis(Csaf));
        assert!(justified(Justification::ProtectedAtPerimeter).needs_exact_analysis(OpenVex));
        assert!(Disposition::new(DispositionState::ResolvedWithPedigree).needs_exact_analysis(Csaf));
        let update = Disposition {
            responses: vec![Response::Update],
            ..Disposition::new(DispositionState::Resolved)
        };
        assert!(!update.needs_exact_analysis(Csaf), "CSAF spells update");
        assert!(
            update.needs_exact_analysis(OpenVex),
            "OpenVEX has no responses"
        );
        let rollback = Disposition {
            responses: vec![Response::Rollback],
            ..update
        };
        assert!(rollback.needs_exact_analysis(Csaf));
    }

    #[test]
    fn the_exact_analysis_reads_back_its_own_text_and_nothing_else() {
        let analysis = ExactAnalysis {
            state: DispositionState::FalsePositive,
            justification: Some(Justification::ProtectedByCompiler),
            responses: vec![Response::CanNotFix, Response::Rollback],
            product_ids: vec!["PRODUCT-1".into(), "COMPONENT-2:PRODUCT-1".into()],
        };
        let text = analysis.to_text();
        assert_eq!(
            text,
            "CycloneDX analysis: state=false_positive; justification=protected_by_compiler; response=can_not_fix,rollback; product_ids=PRODUCT-1 COMPONENT-2:PRODUCT-1"
        );
        assert_eq!(ExactAnalysis::parse(&text), Some(analysis));
        for bad in [
            "CycloneDX analysis: justification=code_not_present",
            "CycloneDX analysis: state=fixed",
            "CycloneDX analysis: state=resolved; color=blue",
            "CycloneDX analysis: state=resolved; response=update,sometimes",
            "The analysis: state=resolved",
        ] {
            assert_eq!(ExactAnalysis::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_exact_analysis_applies_only_when_it_agrees_with_the_plain_fields() {
        let exact = ExactAnalysis::of(&Disposition {
            justification: Some(Justification::RequiresEnvironment),
            ..Disposition::new(DispositionState::FalsePositive)
        });
        let read = Disposition {
            justification: Some(Justification::RequiresConfiguration),
            ..Disposition::new(DispositionState::NotAffected)
        };
        let applied = exact.apply_to(&read, PlainFormat::OpenVex).unwrap();
        assert_eq!(applied.state, DispositionState::FalsePositive);
        assert_eq!(
            applied.justification,
            Some(Justification::RequiresEnvironment)
        );
        let other_label = Disposition {
            justification: Some(Justification::CodeNotPresent),
            ..read.clone()
        };
        assert!(exact.apply_to(&other_label, PlainFormat::OpenVex).is_err());
        let other_state = Disposition::new(DispositionState::Resolved);
        assert!(exact.apply_to(&other_state, PlainFormat::Csaf).is_err());
    }
}
