//! Permissions carried by API keys and sessions. One table: seed 004's list plus the
//! scopes of the other capabilities. Every route declares the one it needs.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

macro_rules! scopes {
    ($($variant:ident => $name:literal, $doc:literal;)*) => {
        /// A permission. Its text form (`products:read`) is the wire and storage form.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Scope {
            $(#[doc = $doc] $variant,)*
        }

        impl Scope {
            pub const ALL: &'static [Scope] = &[$(Scope::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Scope::$variant => $name,)*
                }
            }

            /// A read-only scope (`*:read`).
            pub fn is_read(self) -> bool {
                self.as_str().ends_with(":read")
            }

            pub fn description(self) -> &'static str {
                match self {
                    $(Scope::$variant => $doc,)*
                }
            }
        }

        impl FromStr for Scope {
            type Err = UnknownScope;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                match text {
                    $($name => Ok(Scope::$variant),)*
                    other => Err(UnknownScope(other.to_string())),
                }
            }
        }
    };
}

scopes! {
    ProductsRead => "products:read", "List and view products";
    ProductsWrite => "products:write", "Create, update, and delete products";
    ReleasesRead => "releases:read", "List and view releases";
    ReleasesWrite => "releases:write", "Create and update releases";
    SbomsRead => "sboms:read", "Download SBOM files";
    SbomsWrite => "sboms:write", "Upload new SBOMs";
    VulnerabilitiesRead => "vulnerabilities:read", "View vulnerability scan results";
    DispositionsRead => "dispositions:read", "View triage decisions";
    DispositionsWrite => "dispositions:write", "Create and update triage decisions";
    VexRead => "vex:read", "View VEX documents and approvals";
    VexWrite => "vex:write", "Generate, submit, approve, reject, publish VEX";
    DisclosuresRead => "disclosures:read", "List and download published disclosures";
    ComplianceRead => "compliance:read", "Download compliance reports";
    AuditRead => "audit:read", "Export audit log entries";
    CveTrigger => "cve:trigger", "Trigger CVE scans and sync runs";
    KbRead => "kb:read", "Query the vulnerability knowledge base";
    KbExport => "kb:export", "Download the whole knowledge base (OSV archive, for mirrors)";
    SyncRead => "sync:read", "View sync sources and their runs";
    SyncWrite => "sync:write", "Configure sync sources";
    ScansRead => "scans:read", "View scans and their findings";
    ScansWrite => "scans:write", "Start scans and rescans, manage monitors and alerts";
    IncidentsRead => "incidents:read", "View incidents";
    IncidentsWrite => "incidents:write", "Create and update incidents";
    WebhooksRead => "webhooks:read", "View webhook endpoints, their deliveries and the event stream";
    WebhooksWrite => "webhooks:write", "Create, update and delete webhook endpoints";
    IntegrationsRead => "integrations:read", "View AppSec data source integrations";
    IntegrationsWrite => "integrations:write", "Create, update and delete integrations";
    FindingsRead => "findings:read", "View findings from uploaded scanner results";
    FindingsWrite => "findings:write", "Upload scanner results (SARIF)";
    TeamsManage => "teams:manage", "Manage team members, service accounts and settings";
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown scope {0:?}")]
pub struct UnknownScope(pub String);

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Scope {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Scope {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A set of scopes as a bit set: checking a scope on every request is one AND.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScopeSet(u64);

impl ScopeSet {
    pub fn all() -> Self {
        Scope::ALL.iter().copied().collect()
    }

    pub fn contains(self, scope: Scope) -> bool {
        self.0 & Self::bit(scope) != 0
    }

    /// Every scope of `self` is also in `other`.
    pub fn is_subset_of(self, other: ScopeSet) -> bool {
        self.0 & !other.0 == 0
    }

    pub fn intersection(self, other: ScopeSet) -> ScopeSet {
        ScopeSet(self.0 & other.0)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn insert(&mut self, scope: Scope) {
        self.0 |= Self::bit(scope);
    }

    pub fn iter(self) -> impl Iterator<Item = Scope> {
        Scope::ALL
            .iter()
            .copied()
            .filter(move |s| self.contains(*s))
    }

    /// Storage form: scope names separated by single spaces, in table order.
    pub fn to_storage(self) -> String {
        self.iter().map(Scope::as_str).collect::<Vec<_>>().join(" ")
    }

    /// Parses the storage form (or any whitespace/comma separated list).
    pub fn parse_list(text: &str) -> Result<Self, UnknownScope> {
        text.split(|c: char| c.is_whitespace() || c == ',')
            .filter(|s| !s.is_empty())
            .map(str::parse)
            .collect()
    }

    fn bit(scope: Scope) -> u64 {
        1 << (scope as u32)
    }
}

impl FromIterator<Scope> for ScopeSet {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> Self {
        let mut set = ScopeSet::default();
        for scope in iter {
            set.insert(scope);
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scope_round_trips_through_text_and_storage() {
        for scope in Scope::ALL {
            assert_eq!(scope.as_str().parse::<Scope>(), Ok(*scope));
        }
        let all = ScopeSet::all();
        assert_eq!(ScopeSet::parse_list(&all.to_storage()), Ok(all));
        assert_eq!(all.iter().count(), Scope::ALL.len());
    }

    #[test]
    fn a_set_holds_only_what_was_inserted() {
        let set = ScopeSet::parse_list("products:read, vex:write").unwrap();
        assert!(set.contains(Scope::ProductsRead));
        assert!(set.contains(Scope::VexWrite));
        assert!(!set.contains(Scope::ProductsWrite));
        assert_eq!(
            ScopeSet::parse_list("products:read bogus"),
            Err(UnknownScope("bogus".into()))
        );
    }
}
