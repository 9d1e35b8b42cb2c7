//! Package vulnerability findings as a SARIF 2.1.0 log: one rule per vulnerability, one
//! result per affected package, located in the scanned file (a lockfile or SBOM) and, inside
//! it, at the package.

use std::collections::BTreeMap;

use serde_json::json;

use super::model::{
    ArtifactLocation, Level, Location, LogicalLocation, Message, PhysicalLocation, PropertyBag,
    ReportingDescriptor, Run, SarifLog, SarifResult, Tool, ToolComponent, SARIF_SCHEMA_URI,
    SARIF_VERSION,
};
use crate::advisory::SeverityBand;

/// The fingerprint scheme that identifies a result across runs: vulnerability and package.
pub const FINGERPRINT_SCHEME: &str = "rampartFinding/v1";

/// One vulnerability (or informational advisory) found in one package.
#[derive(Debug, Clone, Copy)]
pub struct PackageFinding<'a> {
    /// The advisory's id (the rule).
    pub id: &'a str,
    /// The advisory's other identifiers.
    pub aliases: &'a [String],
    pub summary: Option<&'a str>,
    /// For an informational advisory (RustSec unmaintained, unsound, notice): its kind.
    pub informational: Option<&'a str>,
    /// The severity band; `None` when nothing rates the advisory.
    pub severity: Option<SeverityBand>,
    pub cvss_score: Option<f64>,
    pub kev: bool,
    pub package_name: &'a str,
    pub package_version: Option<&'a str>,
    pub package_purl: Option<&'a str>,
    /// How the package was matched (`purl`, `cpe`) and why.
    pub matched_by: &'a str,
    pub detail: &'a str,
    pub fixed_versions: &'a [String],
}

impl PackageFinding<'_> {
    fn severity_name(&self) -> &'static str {
        self.severity.map_or("unknown", SeverityBand::as_str)
    }

    /// Informational advisories are notes whatever their band; vulnerabilities rated high or
    /// above are errors, and an unrated one is a warning, not a note, so it is not overlooked.
    fn level(&self) -> Level {
        if self.informational.is_some() {
            return Level::Note;
        }
        match self.severity {
            Some(SeverityBand::Critical | SeverityBand::High) => Level::Error,
            Some(SeverityBand::Medium) | None => Level::Warning,
            Some(SeverityBand::Low | SeverityBand::None) => Level::Note,
        }
    }

    fn rule(&self) -> ReportingDescriptor {
        let tags = match self.informational {
            Some(kind) => json!(["security", "informational", kind]),
            None => json!(["security", "vulnerability", self.severity_name()]),
        };
        let mut properties = PropertyBag::default().with("tags", tags);
        // Code-scanning dashboards rank by `security-severity`: an informational advisory
        // must not show as a critical vulnerability because an alias carries a CVSS.
        if let (Some(score), None) = (self.cvss_score, self.informational) {
            properties = properties.with("security-severity", format!("{score:.1}"));
        }
        ReportingDescriptor {
            help_uri: Some(format!("https://osv.dev/vulnerability/{}", self.id)),
            id: self.id.to_string(),
            properties,
            short_description: Some(Message {
                text: self.summary.unwrap_or(self.id).to_string(),
            }),
        }
    }

    fn message(&self) -> String {
        let version = self.package_version.unwrap_or("(no version)");
        let fix = if self.fixed_versions.is_empty() {
            "no fixed version is known".to_string()
        } else {
            format!("fixed in {}", self.fixed_versions.join(", "))
        };
        let (name, id, matched_by, detail) =
            (self.package_name, self.id, self.matched_by, self.detail);
        match self.informational {
            Some(kind) => format!(
                "{name} {version} has an informational advisory ({kind}): {id} ({fix}). Matched by {matched_by}: {detail}."
            ),
            None => format!(
                "{name} {version} is affected by {id} ({}; {fix}). Matched by {matched_by}: {detail}.",
                self.severity_name()
            ),
        }
    }

    fn result(&self, artifact_uri: &str) -> SarifResult {
        let package_id = self.package_purl.unwrap_or(self.package_name);
        let kind = if self.informational.is_some() {
            "informational"
        } else {
            "vulnerability"
        };
        SarifResult {
            level: Some(self.level()),
            locations: vec![Location {
                logical_locations: vec![LogicalLocation {
                    kind: Some("package".into()),
                    name: Some(package_id.to_string()),
                }],
                physical_location: Some(PhysicalLocation {
                    artifact_location: ArtifactLocation {
                        uri: artifact_uri.to_string(),
                    },
                }),
            }],
            message: Message {
                text: self.message(),
            },
            partial_fingerprints: BTreeMap::from([(
                FINGERPRINT_SCHEME.to_string(),
                format!("{}|{package_id}", self.id),
            )]),
            properties: PropertyBag::default()
                .with("aliases", self.aliases)
                .with("fixedVersions", self.fixed_versions)
                .with("kev", self.kev)
                .with("kind", kind)
                .with("informational", self.informational),
            rule_id: Some(self.id.to_string()),
        }
    }
}

/// A log of one run of `tool_name` `tool_version` over the file at `artifact_uri`: one rule
/// per advisory (in id order; the first finding of an advisory describes it), one result per
/// finding (in the order given).
pub fn write_package_findings(
    tool_name: &str,
    tool_version: &str,
    artifact_uri: &str,
    findings: &[PackageFinding<'_>],
) -> SarifLog {
    let mut rules: BTreeMap<&str, ReportingDescriptor> = BTreeMap::new();
    for finding in findings {
        rules.entry(finding.id).or_insert_with(|| finding.rule());
    }
    SarifLog {
        schema: Some(SARIF_SCHEMA_URI.to_string()),
        runs: vec![Run {
            results: findings.iter().map(|f| f.result(artifact_uri)).collect(),
            tool: Tool {
                driver: ToolComponent {
                    name: tool_name.to_string(),
                    rules: rules.into_values().collect(),
                    version: Some(tool_version.to_string()),
                },
            },
        }],
        version: SARIF_VERSION.to_string(),
    }
}

#[cfg(test)]
pub(super) mod tests {
    use serde_json::{json, Value};

    use super::*;

    pub(crate) const NO_FIX: &[String] = &[];

    /// A critical vulnerability of smallvec, matched by purl, fixed in 1.6.1.
    pub(crate) fn critical<'a>(fixed: &'a [String], aliases: &'a [String]) -> PackageFinding<'a> {
        PackageFinding {
            id: "RUSTSEC-2021-0003",
            aliases,
            summary: Some("Buffer overflow in SmallVec::insert_many"),
            informational: None,
            severity: Some(SeverityBand::Critical),
            cvss_score: Some(9.8),
            kev: false,
            package_name: "smallvec",
            package_version: Some("1.6.0"),
            package_purl: Some("pkg:cargo/smallvec@1.6.0"),
            matched_by: "purl",
            detail: "SEMVER range introduced 0.6.3, fixed 1.6.1",
            fixed_versions: fixed,
        }
    }

    fn log_json(findings: &[PackageFinding<'_>]) -> Value {
        serde_json::to_value(write_package_findings(
            "rampart",
            "9.9.9",
            "Cargo.lock",
            findings,
        ))
        .unwrap()
    }

    #[test]
    fn a_vulnerability_becomes_a_rule_and_a_result_located_at_its_package() {
        let fixed = ["1.6.1".to_string()];
        let aliases = ["CVE-2021-25900".to_string()];
        let log = log_json(&[critical(&fixed, &aliases)]);
        assert_eq!(log["version"], "2.1.0");
        assert_eq!(log["$schema"], SARIF_SCHEMA_URI);
        let run = &log["runs"][0];
        assert_eq!(run["tool"]["driver"]["name"], "rampart");
        assert_eq!(run["tool"]["driver"]["version"], "9.9.9");
        assert_eq!(
            run["tool"]["driver"]["rules"],
            json!([{
                "id": "RUSTSEC-2021-0003",
                "helpUri": "https://osv.dev/vulnerability/RUSTSEC-2021-0003",
                "shortDescription": {"text": "Buffer overflow in SmallVec::insert_many"},
                "properties": {"tags": ["security", "vulnerability", "critical"],
                               "security-severity": "9.8"},
            }])
        );
        assert_eq!(
            run["results"],
            json!([{
                "ruleId": "RUSTSEC-2021-0003",
                "level": "error",
                "message": {"text": "smallvec 1.6.0 is affected by RUSTSEC-2021-0003 (critical; fixed in 1.6.1). \
                                     Matched by purl: SEMVER range introduced 0.6.3, fixed 1.6.1."},
                "locations": [{
                    "physicalLocation": {"artifactLocation": {"uri": "Cargo.lock"}},
                    "logicalLocations": [{"name": "pkg:cargo/smallvec@1.6.0", "kind": "package"}],
                }],
                "partialFingerprints": {"rampartFinding/v1": "RUSTSEC-2021-0003|pkg:cargo/smallvec@1.6.0"},
                "properties": {"aliases": ["CVE-2021-25900"], "fixedVersions": ["1.6.1"],
                               "kev": false, "kind": "vulnerability", "informational": null},
            }])
        );
    }

    #[test]
    fn the_level_follows_the_band_and_an_unrated_vulnerability_is_a_warning() {
        let expected = [
            (Some(SeverityBand::Critical), "error"),
            (Some(SeverityBand::High), "error"),
            (Some(SeverityBand::Medium), "warning"),
            (None, "warning"),
            (Some(SeverityBand::Low), "note"),
            (Some(SeverityBand::None), "note"),
        ];
        for (severity, level) in expected {
            let finding = PackageFinding {
                severity,
                ..critical(NO_FIX, NO_FIX)
            };
            let log = log_json(&[finding]);
            assert_eq!(log["runs"][0]["results"][0]["level"], level, "{severity:?}");
            let name = severity.map_or("unknown", SeverityBand::as_str);
            assert_eq!(
                log["runs"][0]["tool"]["driver"]["rules"][0]["properties"]["tags"][2],
                name
            );
        }
    }

    #[test]
    fn an_informational_advisory_is_a_note_without_a_security_severity() {
        let finding = PackageFinding {
            id: "RUSTSEC-2020-0025",
            informational: Some("unmaintained"),
            summary: None,
            package_purl: None,
            package_version: None,
            ..critical(NO_FIX, NO_FIX)
        };
        let log = log_json(&[finding]);
        let rule = &log["runs"][0]["tool"]["driver"]["rules"][0];
        assert_eq!(
            rule["properties"],
            json!({"tags": ["security", "informational", "unmaintained"]})
        );
        // Without a summary the rule is described by its id.
        assert_eq!(rule["shortDescription"]["text"], "RUSTSEC-2020-0025");
        let result = &log["runs"][0]["results"][0];
        assert_eq!(result["level"], "note");
        assert_eq!(result["properties"]["kind"], "informational");
        assert_eq!(result["properties"]["informational"], "unmaintained");
        // Without a purl the package is named; without a version the message says so.
        assert_eq!(
            result["locations"][0]["logicalLocations"][0]["name"],
            "smallvec"
        );
        assert_eq!(
            result["message"]["text"],
            "smallvec (no version) has an informational advisory (unmaintained): RUSTSEC-2020-0025 \
             (no fixed version is known). Matched by purl: SEMVER range introduced 0.6.3, fixed 1.6.1."
        );
    }

    #[test]
    fn one_rule_per_advisory_in_id_order_and_one_result_per_finding_in_order() {
        let first = PackageFinding {
            id: "RUSTSEC-2022-0001",
            summary: Some("first description"),
            ..critical(NO_FIX, NO_FIX)
        };
        let again = PackageFinding {
            summary: Some("a later description"),
            package_name: "smallvec-fork",
            package_purl: Some("pkg:cargo/smallvec-fork@1.6.0"),
            ..first
        };
        let other = critical(NO_FIX, NO_FIX);
        let log = log_json(&[first, again, other]);
        let rules = log["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .unwrap();
        let rule_ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
        assert_eq!(rule_ids, ["RUSTSEC-2021-0003", "RUSTSEC-2022-0001"]);
        assert_eq!(rules[1]["shortDescription"]["text"], "first description");
        let fingerprints: Vec<&str> = log["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                r["partialFingerprints"][FINGERPRINT_SCHEME]
                    .as_str()
                    .unwrap()
            })
            .collect();
        assert_eq!(
            fingerprints,
            [
                "RUSTSEC-2022-0001|pkg:cargo/smallvec@1.6.0",
                "RUSTSEC-2022-0001|pkg:cargo/smallvec-fork@1.6.0",
                "RUSTSEC-2021-0003|pkg:cargo/smallvec@1.6.0",
            ]
        );
    }

    #[test]
    fn no_findings_is_a_run_with_no_rules_and_no_results() {
        let log = log_json(&[]);
        assert_eq!(log["runs"][0]["results"], json!([]));
        assert_eq!(log["runs"][0]["tool"]["driver"]["rules"], json!([]));
    }

    /// Keys come out sorted, as the writer this replaced (built with `json!`) wrote them.
    #[test]
    fn the_log_is_written_with_its_keys_in_sorted_order() {
        let fixed = ["1.6.1".to_string()];
        let log = write_package_findings("rampart", "1", "x", &[critical(&fixed, NO_FIX)]);
        let typed = serde_json::to_string(&log).unwrap();
        let sorted = serde_json::to_value(&log).unwrap().to_string();
        assert_eq!(typed, sorted);
    }

    #[test]
    fn a_written_log_reads_back_into_the_same_model() {
        let fixed = ["1.6.1".to_string()];
        let log = write_package_findings("rampart", "1", "x", &[critical(&fixed, NO_FIX)]);
        let read: SarifLog = serde_json::from_str(&serde_json::to_string(&log).unwrap()).unwrap();
        assert_eq!(read, log);
        assert_eq!(
            read.runs[0].tool.driver.rules[0].properties.tags(),
            ["security", "vulnerability", "critical"]
        );
    }
}
