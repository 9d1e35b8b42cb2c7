//! What a SARIF reimport changes in a scope's code findings (one integration, repository,
//! branch and tool): which results are new, which are the same findings again, which come
//! back after being fixed, which are suppressed, and which open findings are gone. Pure: the
//! engine loads the scope's findings, calls [`diff_code_findings`] and stores the outcome.
//!
//! A result matches a stored finding when its identity, or any of its alternate identities
//! (other fingerprint schemes), equals the finding's identity or one of its alternates, so a
//! tool that adds a fingerprint scheme does not duplicate every finding. Triage decisions
//! (`false_positive`, `accepted_risk`) are sticky: a reimport neither closes nor reopens them.

use std::collections::{HashMap, HashSet};

/// A code finding's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CodeStatus {
    Open,
    /// Gone from a later import, or marked fixed by a person.
    Fixed,
    FalsePositive,
    AcceptedRisk,
    /// Suppressed in the source or by the tool (SARIF `suppressions`).
    Suppressed,
}

impl CodeStatus {
    pub const ALL: [CodeStatus; 5] = [
        CodeStatus::Open,
        CodeStatus::Fixed,
        CodeStatus::FalsePositive,
        CodeStatus::AcceptedRisk,
        CodeStatus::Suppressed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CodeStatus::Open => "open",
            CodeStatus::Fixed => "fixed",
            CodeStatus::FalsePositive => "false_positive",
            CodeStatus::AcceptedRisk => "accepted_risk",
            CodeStatus::Suppressed => "suppressed",
        }
    }

    pub fn parse(text: &str) -> Option<CodeStatus> {
        Self::ALL.into_iter().find(|status| status.as_str() == text)
    }

    /// A person's decision that imports keep.
    pub fn is_triaged(self) -> bool {
        matches!(self, CodeStatus::FalsePositive | CodeStatus::AcceptedRisk)
    }
}

/// A finding of the scope as stored.
#[derive(Debug, Clone)]
pub struct StoredCodeFinding {
    pub id: i64,
    pub identity: String,
    pub alternates: Vec<String>,
    pub status: CodeStatus,
}

/// A result of this upload.
#[derive(Debug, Clone, Copy)]
pub struct UploadedResult<'a> {
    pub identity: &'a str,
    pub alternates: &'a [String],
    pub suppressed: bool,
}

/// What happens to one uploaded result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultOutcome {
    /// A finding to create, open.
    New,
    /// A finding to create, suppressed.
    NewSuppressed,
    /// The stored finding again, status kept.
    Unchanged(i64),
    /// The stored finding (fixed or suppressed before) opens again.
    Reopened(i64),
    /// The stored finding becomes (or stays) suppressed.
    Suppressed(i64),
    /// Another result of this upload already stands for the same finding.
    Duplicate,
}

/// The outcome of one reimport: one outcome per uploaded result, in upload order, and the
/// findings to close (open or suppressed before, absent now).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeDiff {
    pub outcomes: Vec<ResultOutcome>,
    pub closed: Vec<i64>,
}

/// The import's counts; `new + unchanged + reopened + suppressed + duplicates` is the number
/// of uploaded results.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CodeDiffCounts {
    pub new: usize,
    pub unchanged: usize,
    pub closed: usize,
    pub reopened: usize,
    pub suppressed: usize,
    pub duplicates: usize,
}

impl CodeDiff {
    pub fn counts(&self) -> CodeDiffCounts {
        let mut counts = CodeDiffCounts {
            closed: self.closed.len(),
            ..Default::default()
        };
        for outcome in &self.outcomes {
            match outcome {
                ResultOutcome::New => counts.new += 1,
                ResultOutcome::NewSuppressed | ResultOutcome::Suppressed(_) => {
                    counts.suppressed += 1
                }
                ResultOutcome::Unchanged(_) => counts.unchanged += 1,
                ResultOutcome::Reopened(_) => counts.reopened += 1,
                ResultOutcome::Duplicate => counts.duplicates += 1,
            }
        }
        counts
    }
}

pub fn diff_code_findings(
    stored: &[StoredCodeFinding],
    uploaded: &[UploadedResult<'_>],
) -> CodeDiff {
    let mut by_identity: HashMap<&str, usize> = HashMap::with_capacity(stored.len());
    for (index, finding) in stored.iter().enumerate() {
        by_identity.entry(&finding.identity).or_insert(index);
    }
    // Alternates after primaries: a primary identity always wins.
    for (index, finding) in stored.iter().enumerate() {
        for alternate in &finding.alternates {
            by_identity.entry(alternate).or_insert(index);
        }
    }
    let mut matched: HashSet<usize> = HashSet::with_capacity(uploaded.len());
    let mut created: HashSet<&str> = HashSet::new();
    let mut outcomes = Vec::with_capacity(uploaded.len());
    for result in uploaded {
        let found = std::iter::once(result.identity)
            .chain(result.alternates.iter().map(String::as_str))
            .find_map(|key| by_identity.get(key).copied());
        let outcome = match found {
            Some(index) if !matched.insert(index) => ResultOutcome::Duplicate,
            Some(index) => {
                let finding = &stored[index];
                match (finding.status, result.suppressed) {
                    (status, _) if status.is_triaged() => ResultOutcome::Unchanged(finding.id),
                    (_, true) => ResultOutcome::Suppressed(finding.id),
                    (CodeStatus::Open, false) => ResultOutcome::Unchanged(finding.id),
                    (_, false) => ResultOutcome::Reopened(finding.id),
                }
            }
            None if !created.insert(result.identity) => ResultOutcome::Duplicate,
            None if result.suppressed => ResultOutcome::NewSuppressed,
            None => ResultOutcome::New,
        };
        outcomes.push(outcome);
    }
    let closed = stored
        .iter()
        .enumerate()
        .filter(|(index, finding)| {
            !matched.contains(index)
                && matches!(finding.status, CodeStatus::Open | CodeStatus::Suppressed)
        })
        .map(|(_, finding)| finding.id)
        .collect();
    CodeDiff { outcomes, closed }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(id: i64, identity: &str, status: CodeStatus) -> StoredCodeFinding {
        StoredCodeFinding {
            id,
            identity: identity.to_string(),
            alternates: Vec::new(),
            status,
        }
    }

    fn result(identity: &str) -> UploadedResult<'_> {
        UploadedResult {
            identity,
            alternates: &[],
            suppressed: false,
        }
    }

    #[test]
    fn the_same_results_again_change_nothing() {
        let previous = [
            stored(1, "a", CodeStatus::Open),
            stored(2, "b", CodeStatus::Open),
        ];
        let diff = diff_code_findings(&previous, &[result("b"), result("a")]);
        assert_eq!(
            diff.counts(),
            CodeDiffCounts {
                unchanged: 2,
                ..Default::default()
            }
        );
        assert!(diff.closed.is_empty());
    }

    #[test]
    fn gone_results_close_and_returning_ones_reopen() {
        let previous = [
            stored(1, "a", CodeStatus::Open),
            stored(2, "b", CodeStatus::Fixed),
        ];
        let diff = diff_code_findings(&previous, &[result("b"), result("c")]);
        assert_eq!(
            diff.outcomes,
            [ResultOutcome::Reopened(2), ResultOutcome::New]
        );
        assert_eq!(diff.closed, [1]);
    }

    #[test]
    fn triage_decisions_are_kept_by_imports() {
        let previous = [
            stored(1, "a", CodeStatus::FalsePositive),
            stored(2, "b", CodeStatus::AcceptedRisk),
        ];
        let diff = diff_code_findings(&previous, &[result("a")]);
        assert_eq!(diff.outcomes, [ResultOutcome::Unchanged(1)]);
        assert!(
            diff.closed.is_empty(),
            "an absent accepted risk is not closed"
        );
    }

    #[test]
    fn suppressed_results_are_stored_suppressed() {
        let previous = [
            stored(1, "a", CodeStatus::Open),
            stored(2, "s", CodeStatus::Suppressed),
        ];
        let mut a = result("a");
        a.suppressed = true;
        let mut new = result("n");
        new.suppressed = true;
        let diff = diff_code_findings(&previous, &[a, new, result("s")]);
        assert_eq!(
            diff.outcomes,
            [
                ResultOutcome::Suppressed(1),
                ResultOutcome::NewSuppressed,
                ResultOutcome::Reopened(2)
            ]
        );
        assert_eq!(diff.counts().suppressed, 2);
    }

    #[test]
    fn any_fingerprint_scheme_matches_not_only_the_first() {
        let mut previous = stored(1, "fp-v1", CodeStatus::Open);
        previous.alternates = vec!["fp-v2".to_string()];
        let alternates = ["fp-v2".to_string()];
        let later = UploadedResult {
            identity: "fp-v3",
            alternates: &alternates,
            suppressed: false,
        };
        let diff = diff_code_findings(&[previous], &[later]);
        assert_eq!(diff.outcomes, [ResultOutcome::Unchanged(1)]);
    }

    #[test]
    fn duplicates_in_one_upload_count_once() {
        let previous = [stored(1, "a", CodeStatus::Open)];
        let diff = diff_code_findings(
            &previous,
            &[result("a"), result("a"), result("n"), result("n")],
        );
        assert_eq!(
            diff.counts(),
            CodeDiffCounts {
                new: 1,
                unchanged: 1,
                duplicates: 2,
                ..Default::default()
            }
        );
    }
}
