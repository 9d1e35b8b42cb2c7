//! Team roles and the scopes a logged-in session gets from them.
//!
//! - `owner`, `admin`: every scope.
//! - `member`: every read and write scope except `teams:manage` (members, plans, service
//!   accounts) and `audit:read` (the audit log is for administrators).
//! - `viewer`: read scopes only (`*:read` and `kb:read`), again without `audit:read`.
//! - `service`: the membership of a service account; its keys carry the scopes chosen when
//!   the key was created, so the role itself grants every scope.
//!
//! An API key's effective scopes are the scopes chosen at creation intersected with its
//! owner's current role, so demoting or removing a member narrows or ends their keys at once.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::scope::{Scope, ScopeSet};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Owner,
    Admin,
    Member,
    Viewer,
    Service,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?} (owner, admin, member, viewer)")]
pub struct UnknownRole(pub String);

impl Role {
    /// Roles a person can be given (service is reserved for service accounts).
    pub const ASSIGNABLE: &'static [Role] = &[Role::Owner, Role::Admin, Role::Member, Role::Viewer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Member => "member",
            Role::Viewer => "viewer",
            Role::Service => "service",
        }
    }

    /// The scopes a session of this role carries (see the module documentation).
    pub fn scopes(self) -> ScopeSet {
        match self {
            Role::Owner | Role::Admin | Role::Service => ScopeSet::all(),
            Role::Member => Scope::ALL
                .iter()
                .copied()
                .filter(|s| !matches!(s, Scope::TeamsManage | Scope::AuditRead))
                .collect(),
            Role::Viewer => Scope::ALL
                .iter()
                .copied()
                .filter(|s| s.is_read() && *s != Scope::AuditRead)
                .collect(),
        }
    }

    /// Owners and admins manage the team (members, service accounts).
    pub fn is_admin(self) -> bool {
        matches!(self, Role::Owner | Role::Admin)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "owner" => Ok(Role::Owner),
            "admin" => Ok(Role::Admin),
            "member" => Ok(Role::Member),
            "viewer" => Ok(Role::Viewer),
            "service" => Ok(Role::Service),
            other => Err(UnknownRole(other.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_scopes_follow_the_documented_table() {
        assert_eq!(Role::Owner.scopes(), ScopeSet::all());
        let member = Role::Member.scopes();
        assert!(member.contains(Scope::ProductsWrite));
        assert!(!member.contains(Scope::TeamsManage));
        assert!(!member.contains(Scope::AuditRead));
        let viewer = Role::Viewer.scopes();
        assert!(viewer.contains(Scope::KbRead));
        assert!(viewer.contains(Scope::ProductsRead));
        assert!(!viewer.contains(Scope::ProductsWrite));
        assert!(!viewer.contains(Scope::CveTrigger));
        assert!(!viewer.contains(Scope::AuditRead));
        for role in Role::ASSIGNABLE {
            assert_eq!(role.as_str().parse::<Role>(), Ok(*role));
        }
    }
}
