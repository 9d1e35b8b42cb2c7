//! The normalised advisory model every feed parser produces: OSV-shaped, plus what OSV
//! leaves out but NVD carries (computed CVSS scores, CWE ids, CPE configurations).

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::cvss::{score_vector, CvssScore};

/// One vulnerability record, whichever feed it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Advisory {
    pub id: String,
    /// OSV `schema_version` the record declared, if any.
    pub schema_version: Option<String>,
    pub aliases: Vec<String>,
    pub related: Vec<String>,
    pub upstream: Vec<String>,
    pub summary: Option<String>,
    pub details: Option<String>,
    pub published: Option<DateTime<Utc>>,
    pub modified: DateTime<Utc>,
    /// Set when the source withdrew the record (OSV `withdrawn`, NVD status "Rejected").
    pub withdrawn: Option<DateTime<Utc>>,
    pub severity: Vec<Severity>,
    /// `CWE-<n>` identifiers, deduplicated, in source order.
    pub cwe_ids: Vec<String>,
    pub references: Vec<Reference>,
    pub affected: Vec<Affected>,
    /// NVD applicability statements; empty for OSV records.
    pub cpe_configurations: Vec<CpeConfiguration>,
    pub database_specific: Option<Value>,
}

impl Advisory {
    /// True when any reference points at an exploit or proof of concept.
    pub fn has_exploit_reference(&self) -> bool {
        self.references.iter().any(|reference| reference.is_exploit)
    }

    /// Data-quality findings that do not make the record unusable: empty ranges and CVSS
    /// vectors that could not be scored. A vector of another CVSS version than its declared
    /// type is still scored: its `CvssScore::version` says which it is.
    pub fn quality_warnings(&self) -> Vec<String> {
        let mut warnings = empty_range_warnings(self);
        let top_level = self.severity.iter().map(|s| ("severity".to_string(), s));
        let per_package = self.affected.iter().enumerate().flat_map(|(position, a)| {
            a.severity
                .iter()
                .map(move |s| (format!("affected[{position}]: severity"), s))
        });
        for (location, severity) in top_level.chain(per_package) {
            let is_cvss = matches!(
                severity.kind,
                SeverityType::CvssV2 | SeverityType::CvssV3 | SeverityType::CvssV4
            );
            if !is_cvss || severity.computed.is_some() {
                continue;
            }
            if let Err(reason) = score_vector(&severity.score) {
                warnings.push(format!(
                    "{location} {:?} not scored: {reason}",
                    severity.score
                ));
            }
        }
        warnings
    }

    /// The kind of informational advisory this record is (`unmaintained`, `unsound`,
    /// `notice`, or a kind RustSec adds later, lower-cased), or `None` for a vulnerability.
    /// RustSec marks them `informational = "…"` in its native format and
    /// `affected[].database_specific.informational` in its OSV export (`null` for a
    /// vulnerability); cargo-audit reports them as warnings, not vulnerabilities, whatever
    /// CVSS their aliases carry.
    pub fn informational(&self) -> Option<String> {
        let declared = |specific: Option<&Value>| {
            specific?
                .get("informational")?
                .as_str()
                .map(|kind| kind.trim().to_ascii_lowercase())
                .filter(|kind| !kind.is_empty())
        };
        self.affected
            .iter()
            .find_map(|a| declared(a.database_specific.as_ref()))
            .or_else(|| declared(self.database_specific.as_ref()))
    }

    /// The highest computed CVSS score among the record's severities, if any parsed.
    pub fn max_cvss(&self) -> Option<&CvssScore> {
        self.severity
            .iter()
            .chain(self.affected.iter().flat_map(|a| a.severity.iter()))
            .filter_map(|s| s.computed.as_ref())
            .max_by(|a, b| a.base_score.total_cmp(&b.base_score))
    }
}

/// The OSV linter's "range-is-distinct" finding: an introduced version equal to a fixed or
/// last_affected one in the same range. Real feeds publish such ranges, either to say "this
/// line was never affected" (`introduced X`, `fixed X`: an empty interval; RustSec, PyPA,
/// OSS-Fuzz) or as adjacent intervals (`fixed X`, `introduced X`: X is affected again; Bitnami).
/// Both are evaluated by the intervals they describe (`rampart_versions::range`), so the record
/// is kept and the lint reported rather than the record dropped.
fn empty_range_warnings(advisory: &Advisory) -> Vec<String> {
    let mut warnings = Vec::new();
    for (affected_position, affected) in advisory.affected.iter().enumerate() {
        for (range_position, range) in affected.ranges.iter().enumerate() {
            let introduced: HashSet<&str> = range
                .events
                .iter()
                .filter_map(|e| match e {
                    RangeEvent::Introduced(v) => Some(v.as_str()),
                    _ => None,
                })
                .collect();
            for event in &range.events {
                if let RangeEvent::Fixed(v) | RangeEvent::LastAffected(v) = event {
                    if introduced.contains(v.as_str()) {
                        warnings.push(format!(
                            "affected[{affected_position}]: ranges[{range_position}]: range is not distinct: {v:?} is both introduced and {}",
                            if matches!(event, RangeEvent::Fixed(_)) { "fixed" } else { "last_affected" }
                        ));
                    }
                }
            }
        }
    }
    warnings
}

/// A severity statement: the source's type and vector, plus our computed score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Severity {
    pub kind: SeverityType,
    /// The vector (CVSS) or rating string (e.g. Ubuntu's "medium") as the source wrote it.
    pub score: String,
    /// Who scored it (NVD metric `source`), when the feed says.
    pub source: Option<String>,
    /// Computed base score and band; `None` when the vector does not parse or is not CVSS.
    pub computed: Option<CvssScore>,
}

/// Serialised as its OSV spelling, unknown values verbatim.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", from = "String")]
pub enum SeverityType {
    CvssV2,
    CvssV3,
    CvssV4,
    Ubuntu,
    Other(String),
}

impl SeverityType {
    pub fn from_osv(raw: &str) -> Self {
        match raw {
            "CVSS_V2" => Self::CvssV2,
            "CVSS_V3" => Self::CvssV3,
            "CVSS_V4" => Self::CvssV4,
            "Ubuntu" => Self::Ubuntu,
            other => Self::Other(other.to_string()),
        }
    }

    pub fn as_osv(&self) -> &str {
        match self {
            Self::CvssV2 => "CVSS_V2",
            Self::CvssV3 => "CVSS_V3",
            Self::CvssV4 => "CVSS_V4",
            Self::Ubuntu => "Ubuntu",
            Self::Other(raw) => raw,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reference {
    pub kind: ReferenceType,
    pub url: String,
    /// Source tags (NVD: "Exploit", "Patch", "Vendor Advisory", ...); empty for OSV.
    pub tags: Vec<String>,
    /// Points at an exploit or proof of concept (see [`is_exploit_reference`]).
    pub is_exploit: bool,
}

impl Reference {
    pub fn new(kind: ReferenceType, url: String, tags: Vec<String>) -> Self {
        let is_exploit = is_exploit_reference(&kind, &url, &tags);
        Self {
            kind,
            url,
            tags,
            is_exploit,
        }
    }
}

/// OSV reference types; unknown ones are kept verbatim.
/// Serialised as its OSV spelling, unknown values verbatim.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", from = "String")]
pub enum ReferenceType {
    Advisory,
    Article,
    Detection,
    Discussion,
    Report,
    Fix,
    Introduced,
    Git,
    Package,
    Evidence,
    Web,
    Other(String),
}

impl ReferenceType {
    pub fn from_osv(raw: &str) -> Self {
        match raw {
            "ADVISORY" => Self::Advisory,
            "ARTICLE" => Self::Article,
            "DETECTION" => Self::Detection,
            "DISCUSSION" => Self::Discussion,
            "REPORT" => Self::Report,
            "FIX" => Self::Fix,
            "INTRODUCED" => Self::Introduced,
            "GIT" => Self::Git,
            "PACKAGE" => Self::Package,
            "EVIDENCE" => Self::Evidence,
            "WEB" => Self::Web,
            other => Self::Other(other.to_string()),
        }
    }

    pub fn as_osv(&self) -> &str {
        match self {
            Self::Advisory => "ADVISORY",
            Self::Article => "ARTICLE",
            Self::Detection => "DETECTION",
            Self::Discussion => "DISCUSSION",
            Self::Report => "REPORT",
            Self::Fix => "FIX",
            Self::Introduced => "INTRODUCED",
            Self::Git => "GIT",
            Self::Package => "PACKAGE",
            Self::Evidence => "EVIDENCE",
            Self::Web => "WEB",
            Self::Other(raw) => raw,
        }
    }
}

/// Whether a reference points at an exploit or a proof of concept: OSV's EVIDENCE type, an
/// NVD "Exploit" tag, or a URL on a well-known exploit archive or a GitHub PoC repository.
pub fn is_exploit_reference(kind: &ReferenceType, url: &str, tags: &[String]) -> bool {
    if *kind == ReferenceType::Evidence {
        return true;
    }
    if tags.iter().any(|tag| tag.eq_ignore_ascii_case("exploit")) {
        return true;
    }
    let Some((host, path)) = split_url(url) else {
        return false;
    };
    const EXPLOIT_ARCHIVES: [&str; 5] = [
        "exploit-db.com",
        "packetstormsecurity.com",
        "packetstormsecurity.org",
        "packetstorm.news",
        "0day.today",
    ];
    if EXPLOIT_ARCHIVES
        .iter()
        .any(|archive| host == *archive || host.ends_with(&format!(".{archive}")))
    {
        return true;
    }
    if host == "github.com" || host == "gist.github.com" || host == "raw.githubusercontent.com" {
        // PoC repositories name themselves "CVE-2021-1234-PoC", "exploits", ...: look for such
        // words as whole tokens so that e.g. "pocketbase" does not count.
        return path
            .split(|c: char| !c.is_ascii_alphanumeric())
            .any(|token| {
                matches!(
                    token.to_ascii_lowercase().as_str(),
                    "poc" | "pocs" | "exploit" | "exploits"
                )
            });
    }
    false
}

/// Lower-cased host and the rest of an http(s) URL; `None` for anything else.
fn split_url(url: &str) -> Option<(String, &str)> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let (authority, path) = match rest.find('/') {
        Some(slash) => (&rest[..slash], &rest[slash..]),
        None => (rest, ""),
    };
    let host = authority.rsplit('@').next()?.split(':').next()?;
    Some((host.to_ascii_lowercase(), path))
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Affected {
    pub package: Option<Package>,
    pub severity: Vec<Severity>,
    pub ranges: Vec<AffectedRange>,
    pub versions: Vec<String>,
    pub ecosystem_specific: Option<Value>,
    pub database_specific: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    pub ecosystem: String,
    pub name: String,
    pub purl: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AffectedRange {
    pub kind: RangeType,
    /// Repository URL, required for GIT ranges.
    pub repo: Option<String>,
    pub events: Vec<RangeEvent>,
    pub database_specific: Option<Value>,
}

/// Serialised as its OSV spelling, unknown values verbatim.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", from = "String")]
pub enum RangeType {
    Semver,
    Ecosystem,
    Git,
    Other(String),
}

impl RangeType {
    pub fn from_osv(raw: &str) -> Self {
        match raw {
            "SEMVER" => Self::Semver,
            "ECOSYSTEM" => Self::Ecosystem,
            "GIT" => Self::Git,
            other => Self::Other(other.to_string()),
        }
    }

    pub fn as_osv(&self) -> &str {
        match self {
            Self::Semver => "SEMVER",
            Self::Ecosystem => "ECOSYSTEM",
            Self::Git => "GIT",
            Self::Other(raw) => raw,
        }
    }
}

/// OSV range events; versions stay raw strings, ordered later by the ecosystem's scheme.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RangeEvent {
    Introduced(String),
    Fixed(String),
    LastAffected(String),
    Limit(String),
}

impl RangeEvent {
    pub fn version(&self) -> &str {
        match self {
            Self::Introduced(v) | Self::Fixed(v) | Self::LastAffected(v) | Self::Limit(v) => v,
        }
    }
}

/// One NVD configuration: its nodes combined with `operator` (AND for "running on/with").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CpeConfiguration {
    /// `None` when NVD leaves it out, which it does for single-node configurations (read as OR).
    pub operator: Option<CpeOperator>,
    pub negate: bool,
    pub nodes: Vec<CpeNode>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CpeOperator {
    And,
    Or,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CpeNode {
    pub operator: CpeOperator,
    pub negate: bool,
    pub cpe_match: Vec<CpeMatch>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpeMatch {
    pub vulnerable: bool,
    /// CPE 2.3 formatted string, possibly with wildcards.
    pub criteria: String,
    pub match_criteria_id: Option<String>,
    pub version_start_including: Option<String>,
    pub version_start_excluding: Option<String>,
    pub version_end_including: Option<String>,
    pub version_end_excluding: Option<String>,
}

impl From<String> for SeverityType {
    fn from(raw: String) -> Self {
        Self::from_osv(&raw)
    }
}

impl From<SeverityType> for String {
    fn from(kind: SeverityType) -> Self {
        kind.as_osv().to_string()
    }
}

impl From<String> for ReferenceType {
    fn from(raw: String) -> Self {
        Self::from_osv(&raw)
    }
}

impl From<ReferenceType> for String {
    fn from(kind: ReferenceType) -> Self {
        kind.as_osv().to_string()
    }
}

impl From<String> for RangeType {
    fn from(raw: String) -> Self {
        Self::from_osv(&raw)
    }
}

impl From<RangeType> for String {
    fn from(kind: RangeType) -> Self {
        kind.as_osv().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exploit(kind: ReferenceType, url: &str, tags: &[&str]) -> bool {
        let tags: Vec<String> = tags.iter().map(|t| t.to_string()).collect();
        is_exploit_reference(&kind, url, &tags)
    }

    #[test]
    fn evidence_type_and_exploit_tag_flag_exploits() {
        assert!(exploit(
            ReferenceType::Evidence,
            "https://example.org/writeup",
            &[]
        ));
        assert!(exploit(
            ReferenceType::Web,
            "https://example.org/x",
            &["Third Party Advisory", "Exploit"]
        ));
    }

    #[test]
    fn exploit_archives_and_github_poc_repositories_are_flagged() {
        assert!(exploit(
            ReferenceType::Web,
            "https://www.exploit-db.com/exploits/51234",
            &[]
        ));
        assert!(exploit(
            ReferenceType::Web,
            "http://packetstormsecurity.com/files/171234/foo.html",
            &[]
        ));
        assert!(exploit(
            ReferenceType::Web,
            "https://github.com/Aaron911/PoC/blob/main/Gradio.md",
            &[]
        ));
        assert!(exploit(
            ReferenceType::Web,
            "https://github.com/someone/CVE-2021-44228-poc",
            &[]
        ));
    }

    #[test]
    fn kinds_serialise_as_their_osv_spelling() {
        let kinds = (
            SeverityType::CvssV3,
            ReferenceType::Other("NEW_KIND".into()),
            RangeType::Git,
        );
        let json = serde_json::to_string(&kinds).unwrap();
        assert_eq!(json, r#"["CVSS_V3","NEW_KIND","GIT"]"#);
        let back: (SeverityType, ReferenceType, RangeType) = serde_json::from_str(&json).unwrap();
        assert_eq!(back, kinds);
    }

    #[test]
    fn ordinary_references_are_not_exploits() {
        assert!(!exploit(
            ReferenceType::Fix,
            "https://github.com/pocketbase/pocketbase/commit/abc",
            &["Patch"]
        ));
        assert!(!exploit(
            ReferenceType::Advisory,
            "https://nvd.nist.gov/vuln/detail/CVE-2024-1",
            &[]
        ));
        assert!(!exploit(
            ReferenceType::Web,
            "https://notexploit-db.com.evil/x",
            &[]
        ));
        assert!(!exploit(ReferenceType::Web, "not a url", &[]));
    }
}
