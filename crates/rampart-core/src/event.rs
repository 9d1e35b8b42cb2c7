//! The event stream's vocabulary: every kind of event a state change records (in the same
//! transaction as the change, the outbox) and that webhooks, e-mail and alerts read.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

macro_rules! event_types {
    ($($variant:ident => $name:literal, $doc:literal;)*) => {
        /// A kind of event. Its text form (`finding.new`) is the wire and storage form.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum EventType {
            $(#[doc = $doc] $variant,)*
        }

        impl EventType {
            pub const ALL: &'static [EventType] = &[$(EventType::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(EventType::$variant => $name,)*
                }
            }

            pub fn description(self) -> &'static str {
                match self {
                    $(EventType::$variant => $doc,)*
                }
            }
        }

        impl FromStr for EventType {
            type Err = UnknownEventType;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                match text {
                    $($name => Ok(EventType::$variant),)*
                    other => Err(UnknownEventType(other.to_string())),
                }
            }
        }
    };
}

event_types! {
    FindingNew => "finding.new", "An analysis found a vulnerability of a component (new or reopened)";
    FindingResolved => "finding.resolved", "An analysis no longer finds a vulnerability it found before";
    FindingKevAdded => "finding.kev_added", "CISA KEV now lists the vulnerability of an open finding";
    FindingReanalysed => "finding.reanalysed", "An SBOM was analysed again (knowledge base changed or on demand)";
    VexSubmitted => "vex.submitted", "A VEX document was submitted for approval";
    VexApproved => "vex.approved", "A VEX document was approved";
    VexRejected => "vex.rejected", "A VEX document was rejected";
    VexPublished => "vex.published", "A VEX document was published";
    SyncFailed => "sync.failed", "A sync run failed (server-wide: the operator team's)";
    SyncCompleted => "sync.completed", "A sync run completed (server-wide: the operator team's)";
    AlertMatched => "alert.matched", "A product/vendor/package watch matched a vulnerability";
    IncidentCreated => "incident.created", "An incident was opened";
    IncidentUpdated => "incident.updated", "An incident changed (status, assignment, comment, link)";
    IncidentResolved => "incident.resolved", "An incident was resolved";
    ScanCompleted => "scan.completed", "A scan finished";
    ComplianceChanged => "compliance.changed", "A compliance control's status changed";
    SarifImported => "sarif.imported", "A SARIF log was imported into code findings";
    WebhookTest => "webhook.test", "A test event sent on request to one webhook endpoint";
    WebhookDisabled => "webhook.disabled", "A webhook endpoint was disabled (410 Gone or failing too long)";
    TeamPlanChanged => "team.plan_changed", "A team's subscription status or paid period changed (its API keys stop or work again)";
}

impl EventType {
    /// Events of the whole server rather than of one team (sync runs: the knowledge base is
    /// shared). They are recorded without a team; the operator team lists and receives them.
    pub fn is_server_wide(self) -> bool {
        matches!(self, EventType::SyncFailed | EventType::SyncCompleted)
    }

    /// Events only ever sent to one endpoint on request, never fanned out by type filters.
    pub fn is_direct(self) -> bool {
        matches!(self, EventType::WebhookTest)
    }

    /// Parses a comma-separated list (`finding.new,vex.published`); blanks are skipped.
    pub fn parse_list(text: &str) -> Result<Vec<EventType>, UnknownEventType> {
        let mut types = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let kind: EventType = part.parse()?;
            if !types.contains(&kind) {
                types.push(kind);
            }
        }
        Ok(types)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown event type {0:?}")]
pub struct UnknownEventType(pub String);

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for EventType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for EventType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_round_trips_and_lists_parse() {
        for kind in EventType::ALL {
            assert_eq!(kind.as_str().parse::<EventType>().unwrap(), *kind);
        }
        assert_eq!(
            EventType::parse_list(" finding.new, ,vex.published,finding.new").unwrap(),
            [EventType::FindingNew, EventType::VexPublished]
        );
        assert!(EventType::parse_list("finding.old").is_err());
        assert!(EventType::SyncFailed.is_server_wide());
        assert!(!EventType::FindingNew.is_server_wide());
    }
}
