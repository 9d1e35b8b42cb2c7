//! The SARIF 2.1.0 objects Rampart writes (and a reader will read), under their SARIF names.
//!
//! Fields are declared in the alphabetical order of their SARIF names, so that a log is
//! serialised with its keys sorted, as the earlier `serde_json::json!`-built writer did: the
//! same findings give the same bytes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The version this model speaks; a log states it in `version`.
pub const SARIF_VERSION: &str = "2.1.0";
/// Where editors find the 2.1.0 schema; a log names it in `$schema`.
pub const SARIF_SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// A SARIF log (§3.13): the top-level object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SarifLog {
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    pub runs: Vec<Run>,
    pub version: String,
}

/// One invocation of one tool (§3.14).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    #[serde(default)]
    pub results: Vec<SarifResult>,
    pub tool: Tool,
}

/// The analysis tool (§3.18).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tool {
    pub driver: ToolComponent,
}

/// A tool's driver or extension (§3.19), with the rules its results refer to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolComponent {
    pub name: String,
    #[serde(default)]
    pub rules: Vec<ReportingDescriptor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// A rule (§3.49): for Rampart, one vulnerability.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportingDescriptor {
    #[serde(rename = "helpUri", default, skip_serializing_if = "Option::is_none")]
    pub help_uri: Option<String>,
    pub id: String,
    #[serde(default, skip_serializing_if = "PropertyBag::is_empty")]
    pub properties: PropertyBag,
    #[serde(
        rename = "shortDescription",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub short_description: Option<Message>,
}

/// One result (§3.27): a rule's finding at some locations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SarifResult {
    /// Absent means `warning` (§3.27.10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<Level>,
    #[serde(default)]
    pub locations: Vec<Location>,
    pub message: Message,
    /// Stable identities of the result across runs, by fingerprint scheme (§3.27.17).
    #[serde(
        rename = "partialFingerprints",
        default,
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub partial_fingerprints: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "PropertyBag::is_empty")]
    pub properties: PropertyBag,
    #[serde(rename = "ruleId", default, skip_serializing_if = "Option::is_none")]
    pub rule_id: Option<String>,
}

/// A result's severity (§3.27.10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    None,
    Note,
    Warning,
    Error,
}

/// A message (§3.11); Rampart writes plain text only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub text: String,
}

/// Where a result is (§3.28): a file, and the logical things (a package) inside it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Location {
    #[serde(rename = "logicalLocations", default)]
    pub logical_locations: Vec<LogicalLocation>,
    #[serde(
        rename = "physicalLocation",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub physical_location: Option<PhysicalLocation>,
}

/// A location in an artifact (§3.29).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhysicalLocation {
    #[serde(rename = "artifactLocation")]
    pub artifact_location: ArtifactLocation,
}

/// An artifact (§3.4): the scanned file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArtifactLocation {
    pub uri: String,
}

/// A named thing that is not a place in a file (§3.33), such as a package.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogicalLocation {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A property bag (§3.8): `tags` plus whatever a producer adds, kept by name (so in sorted
/// order when written).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PropertyBag(pub BTreeMap<String, Value>);

impl PropertyBag {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Sets one property (builder style).
    pub fn with(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.0.insert(name.to_string(), value.into());
        self
    }

    /// The bag's `tags` (§3.8.2), those that are strings.
    pub fn tags(&self) -> Vec<&str> {
        self.0
            .get("tags")
            .and_then(Value::as_array)
            .map(|tags| tags.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    }
}
