//! The approval workflow of VEX documents: `draft` → `submitted` → `approved` | `rejected`,
//! `approved` → `published`; a new draft of the same series makes every unpublished document
//! of it `superseded`. Published documents never change again.
//!
//! Four eyes: whoever approves must not be whoever submitted, unless the team allows
//! self-approval (a setting for small teams, off by default). Rejection needs a reason.

use std::fmt;

/// Where a document is in the workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VexStatus {
    Draft,
    Submitted,
    Approved,
    Rejected,
    Published,
    Superseded,
}

impl VexStatus {
    pub const ALL: [VexStatus; 6] = [
        VexStatus::Draft,
        VexStatus::Submitted,
        VexStatus::Approved,
        VexStatus::Rejected,
        VexStatus::Published,
        VexStatus::Superseded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            VexStatus::Draft => "draft",
            VexStatus::Submitted => "submitted",
            VexStatus::Approved => "approved",
            VexStatus::Rejected => "rejected",
            VexStatus::Published => "published",
            VexStatus::Superseded => "superseded",
        }
    }

    pub fn parse(text: &str) -> Option<VexStatus> {
        VexStatus::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Only a published document is final; everything before it is a draft to its readers
    /// (CSAF `tracking.status`).
    pub fn is_final(self) -> bool {
        self == VexStatus::Published
    }
}

impl fmt::Display for VexStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A step of the workflow someone takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VexAction {
    Submit,
    Approve,
    Reject,
    Publish,
}

impl VexAction {
    /// The status the document must be in.
    pub fn from(self) -> VexStatus {
        match self {
            VexAction::Submit => VexStatus::Draft,
            VexAction::Approve | VexAction::Reject => VexStatus::Submitted,
            VexAction::Publish => VexStatus::Approved,
        }
    }

    /// The status it gets.
    pub fn to(self) -> VexStatus {
        match self {
            VexAction::Submit => VexStatus::Submitted,
            VexAction::Approve => VexStatus::Approved,
            VexAction::Reject => VexStatus::Rejected,
            VexAction::Publish => VexStatus::Published,
        }
    }

    /// The event (outbox) kind and audit action.
    pub fn event_kind(self) -> &'static str {
        match self {
            VexAction::Submit => "vex.submitted",
            VexAction::Approve => "vex.approved",
            VexAction::Reject => "vex.rejected",
            VexAction::Publish => "vex.published",
        }
    }
}

/// Why an approval is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FourEyesViolation;

impl fmt::Display for FourEyesViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "the approver must not be the submitter (four-eyes rule); another member approves, \
             or a team admin allows self-approval (PATCH /api/v1/teams/{team_id}/vex-settings)",
        )
    }
}

/// The four-eyes rule: `approver` may approve what `submitter` submitted. A document whose
/// submitter is unknown is refused too unless self-approval is allowed.
pub fn check_approver(
    submitter: Option<i64>,
    approver: i64,
    self_approval_allowed: bool,
) -> Result<(), FourEyesViolation> {
    if self_approval_allowed || submitter.is_some_and(|s| s != approver) {
        Ok(())
    } else {
        Err(FourEyesViolation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_submitter_cannot_approve_unless_the_team_allows_it() {
        assert_eq!(check_approver(Some(7), 7, false), Err(FourEyesViolation));
        assert_eq!(check_approver(Some(7), 8, false), Ok(()));
        assert_eq!(check_approver(Some(7), 7, true), Ok(()));
        assert_eq!(check_approver(None, 7, false), Err(FourEyesViolation));
    }

    #[test]
    fn actions_move_between_the_documented_statuses() {
        let steps: Vec<(&str, &str)> = [
            VexAction::Submit,
            VexAction::Approve,
            VexAction::Reject,
            VexAction::Publish,
        ]
        .into_iter()
        .map(|a| (a.from().as_str(), a.to().as_str()))
        .collect();
        assert_eq!(
            steps,
            [
                ("draft", "submitted"),
                ("submitted", "approved"),
                ("submitted", "rejected"),
                ("approved", "published")
            ]
        );
        assert!(VexStatus::Published.is_final());
        assert!(!VexStatus::Approved.is_final());
        assert_eq!(VexStatus::parse("superseded"), Some(VexStatus::Superseded));
        assert_eq!(VexStatus::parse("final"), None);
    }
}
