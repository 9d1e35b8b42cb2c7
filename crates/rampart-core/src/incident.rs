//! Incidents (seed 002's `POST /v1/incidents`): the vocabulary (severity, priority, status)
//! and the pure rules of automated triage, SLA due dates, the status workflow, dedupe and
//! assignment. The store keeps what these decide; the engine gathers their inputs.
//!
//! ## Triage (priority P1–P4)
//! 1. The reported severity sets the base: critical P1, high P2, medium P3, low P4.
//! 2. Exploitation evidence of a linked vulnerability raises it one level: listed in CISA
//!    KEV, or an EPSS probability of at least [`EPSS_RAISE_THRESHOLD`]. A KEV-listed
//!    vulnerability also makes the incident at least P2 (CISA gives two to three weeks).
//! 3. Exposure of the affected systems raises it one more level: an affected asset (today a
//!    product or release; later scanned hosts) has open findings that are critical or in KEV.
//!
//! Nothing lowers the base: evidence only raises priority, and P1 is the ceiling.

use std::fmt;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// EPSS probability from which a linked vulnerability counts as likely exploited.
pub const EPSS_RAISE_THRESHOLD: f64 = 0.5;

macro_rules! word_enum {
    ($(#[$meta:meta])* $name:ident, $what:literal { $($variant:ident => $text:literal),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $text)] $variant,)*
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)*
                }
            }

            /// Reads the wire form (surrounding white space and letter case ignored).
            pub fn parse(text: &str) -> Option<$name> {
                let text = text.trim();
                $name::ALL
                    .iter()
                    .copied()
                    .find(|value| value.as_str().eq_ignore_ascii_case(text))
            }

            /// The allowed values, for error messages: `a, b, c`.
            pub fn choices() -> String {
                $name::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

word_enum! {
    /// Seed 002's severity enum, least severe first.
    IncidentSeverity, "severity" {
        Low => "low",
        Medium => "medium",
        High => "high",
        Critical => "critical",
    }
}

word_enum! {
    /// P1 is the most urgent.
    Priority, "priority" {
        P1 => "P1",
        P2 => "P2",
        P3 => "P3",
        P4 => "P4",
    }
}

word_enum! {
    /// The workflow's states, in order.
    IncidentStatus, "status" {
        Open => "open",
        Acknowledged => "acknowledged",
        Investigating => "investigating",
        Resolved => "resolved",
        Closed => "closed",
    }
}

impl Priority {
    /// 0 for P1 … 3 for P4.
    fn rank(self) -> usize {
        self as usize
    }

    fn from_rank(rank: usize) -> Priority {
        Priority::ALL[rank.min(Priority::ALL.len() - 1)]
    }

    /// One level more urgent (P1 stays P1).
    pub fn raised(self) -> Priority {
        Priority::from_rank(self.rank().saturating_sub(1))
    }

    /// The more urgent of the two.
    pub fn most_urgent(self, other: Priority) -> Priority {
        if other.rank() < self.rank() {
            other
        } else {
            self
        }
    }

    /// Index into per-priority tables ([`SlaPolicy`]).
    pub fn index(self) -> usize {
        self.rank()
    }
}

impl IncidentSeverity {
    /// The base priority of a report of this severity.
    pub fn base_priority(self) -> Priority {
        match self {
            IncidentSeverity::Critical => Priority::P1,
            IncidentSeverity::High => Priority::P2,
            IncidentSeverity::Medium => Priority::P3,
            IncidentSeverity::Low => Priority::P4,
        }
    }
}

impl IncidentStatus {
    /// Open, acknowledged or investigating: a repeat report is appended to it.
    pub fn is_active(self) -> bool {
        matches!(
            self,
            IncidentStatus::Open | IncidentStatus::Acknowledged | IncidentStatus::Investigating
        )
    }
}

/// What the knowledge base says about one linked vulnerability.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VulnerabilitySignal {
    /// The identifier the incident names (as linked).
    pub id: String,
    /// Listed in CISA KEV (under any alias).
    pub in_kev: bool,
    /// Highest EPSS probability over its aliases.
    pub epss: Option<f64>,
}

/// The exposure of one affected system.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssetExposure {
    /// The system as reported.
    pub system: String,
    /// `product`, `release`, `ip` or `unknown` (later: scanned hosts).
    pub kind: String,
    /// The asset's id when it is one of the team's.
    pub id: Option<i64>,
    pub name: Option<String>,
    /// Open (not suppressed) findings of the asset.
    pub open_findings: i64,
    /// Distinct vulnerabilities of those findings rated critical.
    pub open_critical: i64,
    /// Distinct vulnerabilities of those findings listed in CISA KEV.
    pub open_kev: i64,
}

impl AssetExposure {
    /// An affected system no asset source knows (yet).
    pub fn unmatched(system: &str, kind: &str) -> Self {
        AssetExposure {
            system: system.to_string(),
            kind: kind.to_string(),
            id: None,
            name: None,
            open_findings: 0,
            open_critical: 0,
            open_kev: 0,
        }
    }

    /// Exposed: open findings that are critical or known exploited.
    pub fn is_exposed(&self) -> bool {
        self.open_critical > 0 || self.open_kev > 0
    }
}

/// Triage's inputs.
#[derive(Debug, Clone, PartialEq)]
pub struct TriageInput {
    pub severity: IncidentSeverity,
    pub vulnerabilities: Vec<VulnerabilitySignal>,
    pub assets: Vec<AssetExposure>,
}

/// Triage's outcome: the priority and why, with its inputs (stored with the incident).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Triage {
    pub priority: Priority,
    /// One line per rule that applied, in order.
    pub reasons: Vec<String>,
    pub vulnerabilities: Vec<VulnerabilitySignal>,
    pub assets: Vec<AssetExposure>,
}

/// The priority of a report (see the module documentation for the rules).
pub fn triage(input: TriageInput) -> Triage {
    let base = input.severity.base_priority();
    let mut priority = base;
    let mut reasons = vec![format!("severity {} → {base}", input.severity)];
    let kev: Vec<&str> = input
        .vulnerabilities
        .iter()
        .filter(|v| v.in_kev)
        .map(|v| v.id.as_str())
        .collect();
    let likely: Vec<String> = input
        .vulnerabilities
        .iter()
        .filter(|v| !v.in_kev && v.epss.is_some_and(|e| e >= EPSS_RAISE_THRESHOLD))
        .map(|v| format!("{} (EPSS {:.2})", v.id, v.epss.unwrap_or_default()))
        .collect();
    if !kev.is_empty() {
        let raised = priority.raised().most_urgent(Priority::P2);
        reasons.push(format!("{} listed in CISA KEV → {raised}", kev.join(", ")));
        priority = raised;
    } else if !likely.is_empty() {
        priority = priority.raised();
        reasons.push(format!(
            "{} likely exploited (EPSS ≥ {EPSS_RAISE_THRESHOLD}) → {priority}",
            likely.join(", ")
        ));
    }
    let exposed: Vec<&str> = input
        .assets
        .iter()
        .filter(|a| a.is_exposed())
        .map(|a| a.system.as_str())
        .collect();
    if !exposed.is_empty() {
        priority = priority.raised();
        reasons.push(format!(
            "{} exposed (open critical or known exploited findings) → {priority}",
            exposed.join(", ")
        ));
    }
    Triage {
        priority,
        reasons,
        vulnerabilities: input.vulnerabilities,
        assets: input.assets,
    }
}

/// Hours to acknowledge and to resolve, per priority (`None`: no due date).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaTarget {
    pub acknowledge_hours: Option<i64>,
    pub resolve_hours: Option<i64>,
}

/// A team's SLA: one target per priority, P1 first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlaPolicy(pub [SlaTarget; 4]);

impl Default for SlaPolicy {
    /// P1 1 h / 24 h, P2 4 h / 72 h, P3 24 h / 14 days, P4 72 h / 30 days.
    fn default() -> Self {
        let target = |acknowledge: i64, resolve: i64| SlaTarget {
            acknowledge_hours: Some(acknowledge),
            resolve_hours: Some(resolve),
        };
        SlaPolicy([
            target(1, 24),
            target(4, 72),
            target(24, 14 * 24),
            target(72, 30 * 24),
        ])
    }
}

impl SlaPolicy {
    pub fn target(&self, priority: Priority) -> SlaTarget {
        self.0[priority.index()]
    }

    /// When an incident of `priority` reported at `created_at` is due to be acknowledged and
    /// resolved.
    pub fn due_dates(
        &self,
        priority: Priority,
        created_at: DateTime<Utc>,
    ) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
        let target = self.target(priority);
        let at = |hours: Option<i64>| hours.map(|h| created_at + Duration::hours(h));
        (at(target.acknowledge_hours), at(target.resolve_hours))
    }
}

/// Why a status change is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransitionError {
    /// Already in that status.
    Unchanged(IncidentStatus),
    /// Not a move the workflow allows from here.
    NotAllowed {
        from: IncidentStatus,
        to: IncidentStatus,
    },
}

impl fmt::Display for TransitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransitionError::Unchanged(status) => write!(f, "the incident is already {status}"),
            TransitionError::NotAllowed { from, to } => {
                let allowed = allowed_from(*from);
                if allowed.is_empty() {
                    write!(f, "a {from} incident cannot change status (to {to})")
                } else {
                    let allowed: Vec<&str> = allowed.iter().map(|s| s.as_str()).collect();
                    write!(
                        f,
                        "a {from} incident cannot move to {to}; allowed: {}",
                        allowed.join(", ")
                    )
                }
            }
        }
    }
}

/// The statuses an incident may move to from `from`: forward along open → acknowledged →
/// investigating → resolved → closed (steps may be skipped, except that only a resolved
/// incident closes), and a resolved incident may be reopened (→ investigating). Closed is
/// final.
pub fn allowed_from(from: IncidentStatus) -> &'static [IncidentStatus] {
    use IncidentStatus::*;
    match from {
        Open => &[Acknowledged, Investigating, Resolved],
        Acknowledged => &[Investigating, Resolved],
        Investigating => &[Resolved],
        Resolved => &[Closed, Investigating],
        Closed => &[],
    }
}

/// Which timestamps a status change sets or clears.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub from: IncidentStatus,
    pub to: IncidentStatus,
    /// Set `acknowledged_at` if it is not set (any move out of `open` acknowledges).
    pub acknowledge: bool,
    /// Set `investigating_at` if it is not set.
    pub investigate: bool,
    /// Set `resolved_at` (to now).
    pub resolve: bool,
    /// Clear `resolved_at` (a reopening).
    pub reopen: bool,
    /// Set `closed_at`.
    pub close: bool,
}

/// Checks a status change against the workflow.
pub fn transition(from: IncidentStatus, to: IncidentStatus) -> Result<Transition, TransitionError> {
    if from == to {
        return Err(TransitionError::Unchanged(from));
    }
    if !allowed_from(from).contains(&to) {
        return Err(TransitionError::NotAllowed { from, to });
    }
    Ok(Transition {
        from,
        to,
        acknowledge: from == IncidentStatus::Open,
        investigate: to == IncidentStatus::Investigating,
        resolve: to == IncidentStatus::Resolved,
        reopen: from == IncidentStatus::Resolved && to == IncidentStatus::Investigating,
        close: to == IncidentStatus::Closed,
    })
}

/// A title as dedupe compares it: lower case, every run of characters other than letters and
/// digits one space, trimmed ("DB outage!" = "db  outage").
pub fn normalize_title(title: &str) -> String {
    let mut out = String::with_capacity(title.len());
    let mut gap = false;
    for c in title.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            if gap && !out.is_empty() {
                out.push(' ');
            }
            gap = false;
            out.push(c);
        } else {
            gap = true;
        }
    }
    out
}

/// Affected systems as dedupe compares them: trimmed, lower case, sorted, without repeats.
pub fn normalize_systems(systems: &[String]) -> Vec<String> {
    let mut out: Vec<String> = systems
        .iter()
        .map(|s| s.trim().to_lowercase())
        .filter(|s| !s.is_empty())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The dedupe key of a report: hex SHA-256 of its normalised title and systems. Two reports
/// with the same key while one is open (open, acknowledged, investigating) are one incident.
pub fn dedupe_key(title: &str, systems: &[String]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(normalize_title(title).as_bytes());
    for system in normalize_systems(systems) {
        hasher.update([0u8]);
        hasher.update(system.as_bytes());
    }
    hex::encode(hasher.finalize())
}

/// How new incidents get an assignee.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum AssignmentMode {
    /// Only tag rules assign; otherwise nobody.
    #[default]
    None,
    /// In turn among the team's members with the configured role (after tag rules).
    RoundRobin,
}

/// A tag rule: an incident carrying `tag` goes to `assignee_user_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagRule {
    pub tag: String,
    pub assignee_user_id: i64,
}

/// The assignee by tag rules: the first rule (in order) whose tag the incident carries
/// (letter case ignored) and whose assignee is still a member (`is_member`).
pub fn assignee_by_tag(
    rules: &[TagRule],
    tags: &[String],
    is_member: impl Fn(i64) -> bool,
) -> Option<i64> {
    rules
        .iter()
        .find(|rule| {
            tags.iter().any(|t| t.eq_ignore_ascii_case(&rule.tag))
                && is_member(rule.assignee_user_id)
        })
        .map(|rule| rule.assignee_user_id)
}

/// The next assignee in turn: the first candidate (user ids in ascending order) after the
/// last one assigned, wrapping around; `None` without candidates.
pub fn next_in_turn(candidates: &[i64], last: Option<i64>) -> Option<i64> {
    let mut sorted = candidates.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    match last {
        Some(last) => sorted
            .iter()
            .copied()
            .find(|id| *id > last)
            .or_else(|| sorted.first().copied()),
        None => sorted.first().copied(),
    }
}

/// Seconds between two instants (negative spans count as zero).
pub fn seconds_between(from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
    (to - from).num_seconds().max(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signal(id: &str, in_kev: bool, epss: Option<f64>) -> VulnerabilitySignal {
        VulnerabilitySignal {
            id: id.to_string(),
            in_kev,
            epss,
        }
    }

    fn input(severity: IncidentSeverity) -> TriageInput {
        TriageInput {
            severity,
            vulnerabilities: vec![],
            assets: vec![],
        }
    }

    #[test]
    fn severity_sets_the_base_and_evidence_only_raises_it() {
        use IncidentSeverity::*;
        for (severity, expected) in [
            (Critical, Priority::P1),
            (High, Priority::P2),
            (Medium, Priority::P3),
            (Low, Priority::P4),
        ] {
            assert_eq!(triage(input(severity)).priority, expected);
        }
        let mut kev = input(Low);
        kev.vulnerabilities = vec![signal("CVE-1", true, None)];
        // One level up, but a KEV vulnerability is at least P2.
        assert_eq!(triage(kev.clone()).priority, Priority::P2);
        kev.severity = Medium;
        assert_eq!(triage(kev.clone()).priority, Priority::P2);
        kev.severity = High;
        assert_eq!(triage(kev).priority, Priority::P1);
        let mut likely = input(Medium);
        likely.vulnerabilities = vec![signal("CVE-2", false, Some(0.7))];
        assert_eq!(triage(likely.clone()).priority, Priority::P2);
        likely.vulnerabilities = vec![signal("CVE-2", false, Some(0.1))];
        assert_eq!(triage(likely).priority, Priority::P3);
        let mut exposed = input(Medium);
        let mut asset = AssetExposure::unmatched("shop", "product");
        exposed.assets = vec![asset.clone()];
        assert_eq!(triage(exposed.clone()).priority, Priority::P3);
        asset.open_kev = 1;
        exposed.assets = vec![asset];
        exposed.vulnerabilities = vec![signal("CVE-3", true, Some(0.9))];
        let outcome = triage(exposed);
        assert_eq!(outcome.priority, Priority::P1);
        assert_eq!(outcome.reasons.len(), 3, "{:?}", outcome.reasons);
        let mut top = input(Critical);
        top.vulnerabilities = vec![signal("CVE-4", true, None)];
        assert_eq!(triage(top).priority, Priority::P1);
    }

    #[test]
    fn the_workflow_moves_forward_reopens_from_resolved_and_ends_closed() {
        use IncidentStatus::*;
        let t = transition(Open, Acknowledged).unwrap();
        assert!(t.acknowledge && !t.resolve);
        let t = transition(Open, Resolved).unwrap();
        assert!(t.acknowledge && t.resolve && !t.investigate);
        let t = transition(Resolved, Investigating).unwrap();
        assert!(t.reopen && t.investigate && !t.acknowledge);
        assert!(transition(Resolved, Closed).unwrap().close);
        assert_eq!(
            transition(Open, Open),
            Err(TransitionError::Unchanged(Open))
        );
        for (from, to) in [
            (Open, Closed),
            (Acknowledged, Open),
            (Investigating, Acknowledged),
            (Closed, Open),
            (Closed, Investigating),
        ] {
            assert!(
                matches!(
                    transition(from, to),
                    Err(TransitionError::NotAllowed { .. })
                ),
                "{from} → {to}"
            );
        }
    }

    #[test]
    fn dedupe_ignores_case_punctuation_and_system_order() {
        assert_eq!(normalize_title("  DB outage!! (prod) "), "db outage prod");
        let a = dedupe_key("Database outage", &["10.0.0.1".into(), "Payments".into()]);
        let b = dedupe_key(
            "database  OUTAGE.",
            &[" payments".into(), "10.0.0.1".into(), "10.0.0.1".into()],
        );
        assert_eq!(a, b);
        assert_ne!(a, dedupe_key("Database outage", &["payments".into()]));
        assert_ne!(
            a,
            dedupe_key("Database outage 2", &["payments".into(), "10.0.0.1".into()])
        );
    }

    #[test]
    fn assignment_follows_tag_rules_then_turns() {
        let rules = vec![
            TagRule {
                tag: "payments".into(),
                assignee_user_id: 7,
            },
            TagRule {
                tag: "web".into(),
                assignee_user_id: 9,
            },
        ];
        let tags = vec!["WEB".to_string(), "payments".to_string()];
        assert_eq!(assignee_by_tag(&rules, &tags, |_| true), Some(7));
        assert_eq!(assignee_by_tag(&rules, &tags, |id| id != 7), Some(9));
        assert_eq!(assignee_by_tag(&rules, &[], |_| true), None);
        assert_eq!(next_in_turn(&[5, 3, 9], None), Some(3));
        assert_eq!(next_in_turn(&[5, 3, 9], Some(3)), Some(5));
        assert_eq!(next_in_turn(&[5, 3, 9], Some(9)), Some(3));
        assert_eq!(next_in_turn(&[5, 3, 9], Some(4)), Some(5));
        assert_eq!(next_in_turn(&[], Some(4)), None);
    }

    #[test]
    fn due_dates_follow_the_policy() {
        let now = Utc::now();
        let policy = SlaPolicy::default();
        assert_eq!(
            policy.due_dates(Priority::P1, now),
            (
                Some(now + Duration::hours(1)),
                Some(now + Duration::hours(24))
            )
        );
        let mut custom = policy;
        custom.0[3].resolve_hours = None;
        assert_eq!(custom.due_dates(Priority::P4, now).1, None);
        assert_eq!(Priority::parse("p2"), Some(Priority::P2));
        assert_eq!(
            IncidentSeverity::parse(" Critical"),
            Some(IncidentSeverity::Critical)
        );
        assert_eq!(IncidentSeverity::parse("urgent"), None);
    }
}
