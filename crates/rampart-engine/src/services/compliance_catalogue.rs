//! The compliance catalogues: one YAML file per framework in `crates/rampart-engine/compliance/`
//! (format: `compliance/README.md`, schema: `compliance/catalogue.schema.json`), embedded in the
//! binary, and the cross-framework mappings (`compliance/mappings.yaml`) that say which evidence
//! check measures which control, and why. Read once, on first use.
//!
//! SOC 2 and ISO/IEC 27001 are copyrighted: their files carry the identifiers and Rampart's own
//! short titles, never the standards' text.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

/// The embedded catalogue files, in the order frameworks are presented.
pub const CATALOGUE_FILES: &[(&str, &str)] = &[
    ("soc2.yaml", include_str!("../../compliance/soc2.yaml")),
    (
        "iso27001.yaml",
        include_str!("../../compliance/iso27001.yaml"),
    ),
    ("hipaa.yaml", include_str!("../../compliance/hipaa.yaml")),
    ("gdpr.yaml", include_str!("../../compliance/gdpr.yaml")),
    (
        "ntia-sbom.yaml",
        include_str!("../../compliance/ntia-sbom.yaml"),
    ),
    ("eu-cra.yaml", include_str!("../../compliance/eu-cra.yaml")),
];

pub const MAPPINGS_FILE: &str = include_str!("../../compliance/mappings.yaml");
pub const CATALOGUE_SCHEMA: &str = include_str!("../../compliance/catalogue.schema.json");
pub const MAPPINGS_SCHEMA: &str = include_str!("../../compliance/mappings.schema.json");

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FrameworkInfo {
    /// `soc2`, `iso27001`, `hipaa`, `gdpr`, `ntia_sbom`, `eu_cra`.
    pub id: String,
    pub name: String,
    pub version: String,
    pub publisher: String,
    pub licence: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Control {
    /// The framework's own identifier (`CC6.1`, `A.8.8`, `164.312(b)`, `Art.32(1)(a)`).
    pub id: String,
    /// An OSCAL control id token; derived from `id` when the file gives none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oscal_id: Option<String>,
    pub group: String,
    pub title: String,
    /// HIPAA: `standard` or `implementation_specification`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// HIPAA: the standard an implementation specification belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// HIPAA: `required` or `addressable`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requirement: Option<String>,
}

impl Control {
    /// The OSCAL id: the file's, else the identifier lower-cased with every character outside
    /// `[a-z0-9._-]` turned into `-` (`164.312(a)(2)(iv)` → `164.312-a-2-iv`).
    pub fn oscal_id(&self) -> String {
        if let Some(id) = &self.oscal_id {
            return id.clone();
        }
        let mut out = String::with_capacity(self.id.len());
        for c in self.id.to_lowercase().chars() {
            let c = if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            };
            if c == '-' && out.ends_with('-') {
                continue;
            }
            out.push(c);
        }
        out.trim_matches('-').to_string()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Catalogue {
    pub framework: FrameworkInfo,
    pub controls: Vec<Control>,
}

impl Catalogue {
    pub fn control(&self, id: &str) -> Option<&Control> {
        self.controls.iter().find(|c| c.id == id)
    }
}

/// One control an evidence check measures, and why.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MappedControl {
    pub framework: String,
    pub control: String,
    /// A part of the check's result (`supplier` of the NTIA elements check); the whole
    /// result when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facet: Option<String>,
    pub rationale: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    pub check: String,
    pub controls: Vec<MappedControl>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct MappingsFile {
    mappings: Vec<Mapping>,
}

/// All catalogues and mappings, with the mappings indexed by control.
#[derive(Debug)]
pub struct Catalogues {
    pub frameworks: Vec<Catalogue>,
    pub mappings: Vec<Mapping>,
    /// (framework, control) → (check, facet, rationale) of each mapping to it.
    by_control: BTreeMap<(String, String), Vec<ControlEvidence>>,
}

/// A check that measures a control.
#[derive(Debug, Clone, PartialEq)]
pub struct ControlEvidence {
    pub check: String,
    pub facet: Option<String>,
    pub rationale: String,
}

impl Catalogues {
    fn load() -> Catalogues {
        let frameworks: Vec<Catalogue> = CATALOGUE_FILES
            .iter()
            .map(|(name, text)| {
                yaml_serde::from_str(text)
                    .unwrap_or_else(|error| panic!("embedded catalogue {name} is invalid: {error}"))
            })
            .collect();
        let mappings: MappingsFile = yaml_serde::from_str(MAPPINGS_FILE)
            .unwrap_or_else(|error| panic!("embedded mappings.yaml is invalid: {error}"));
        let mut by_control: BTreeMap<(String, String), Vec<ControlEvidence>> = BTreeMap::new();
        for mapping in &mappings.mappings {
            for mapped in &mapping.controls {
                by_control
                    .entry((mapped.framework.clone(), mapped.control.clone()))
                    .or_default()
                    .push(ControlEvidence {
                        check: mapping.check.clone(),
                        facet: mapped.facet.clone(),
                        rationale: mapped.rationale.clone(),
                    });
            }
        }
        Catalogues {
            frameworks,
            mappings: mappings.mappings,
            by_control,
        }
    }

    pub fn framework(&self, id: &str) -> Option<&Catalogue> {
        self.frameworks.iter().find(|f| f.framework.id == id)
    }

    pub fn framework_ids(&self) -> Vec<&str> {
        self.frameworks
            .iter()
            .map(|f| f.framework.id.as_str())
            .collect()
    }

    /// The checks that measure a control (empty: the control needs a manual attestation).
    pub fn evidence_for(&self, framework: &str, control: &str) -> &[ControlEvidence] {
        self.by_control
            .get(&(framework.to_string(), control.to_string()))
            .map(Vec::as_slice)
            .unwrap_or_default()
    }
}

/// The catalogues, parsed on first use.
pub fn catalogues() -> &'static Catalogues {
    static CATALOGUES: OnceLock<Catalogues> = OnceLock::new();
    CATALOGUES.get_or_init(Catalogues::load)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::compliance_checks::CheckId;

    fn schema(text: &str) -> jsonschema::Validator {
        let schema: serde_json::Value = serde_json::from_str(text).unwrap();
        jsonschema::validator_for(&schema).expect("the schema compiles")
    }

    #[test]
    fn catalogue_files_validate_against_their_schema() {
        let validator = schema(CATALOGUE_SCHEMA);
        for (name, text) in CATALOGUE_FILES {
            let value: serde_json::Value = yaml_serde::from_str(text).unwrap();
            let errors: Vec<String> = validator
                .iter_errors(&value)
                .map(|e| format!("{}: {e}", e.instance_path()))
                .collect();
            assert!(errors.is_empty(), "{name}: {errors:#?}");
        }
        let value: serde_json::Value = yaml_serde::from_str(MAPPINGS_FILE).unwrap();
        let validator = schema(MAPPINGS_SCHEMA);
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "mappings.yaml: {errors:#?}");
        // The schema refuses what the format forbids.
        let bad = serde_json::json!({"framework": {"id": "x"}, "controls": []});
        assert!(!schema(CATALOGUE_SCHEMA).is_valid(&bad));
    }

    #[test]
    fn every_control_of_each_framework_is_present() {
        let all = catalogues();
        let count = |id: &str| all.framework(id).unwrap().controls.len();
        // SOC 2: CC1.1-CC9.2 (33), A1.1-A1.3, C1.1-C1.2, PI1.1-PI1.5, P1.1-P8.1 (18).
        assert_eq!(count("soc2"), 61);
        let soc2 = all.framework("soc2").unwrap();
        let cc = soc2
            .controls
            .iter()
            .filter(|c| c.id.starts_with("CC"))
            .count();
        assert_eq!(cc, 33);
        for (series, n) in [("A1.", 3), ("C1.", 2), ("PI1.", 5)] {
            let found = soc2
                .controls
                .iter()
                .filter(|c| c.id.starts_with(series))
                .count();
            assert_eq!(found, n, "{series}");
        }
        // ISO/IEC 27001:2022 Annex A: 37 organisational, 8 people, 14 physical, 34 technological.
        assert_eq!(count("iso27001"), 93);
        let iso = all.framework("iso27001").unwrap();
        for (theme, n) in [("A.5.", 37), ("A.6.", 8), ("A.7.", 14), ("A.8.", 34)] {
            let ids: Vec<String> = (1..=n).map(|i| format!("{theme}{i}")).collect();
            for id in ids {
                assert!(iso.control(&id).is_some(), "{id} missing");
            }
        }
        // HIPAA: 22 standards and 43 implementation specifications (21 required, 22
        // addressable, as in the HHS Security Rule matrix) across 164.308, .310, .312, .314
        // and .316.
        assert_eq!(count("hipaa"), 65);
        let hipaa = all.framework("hipaa").unwrap();
        let of_kind = |kind: &str| {
            hipaa
                .controls
                .iter()
                .filter(|c| c.kind.as_deref() == Some(kind))
                .count()
        };
        assert_eq!(of_kind("standard"), 22);
        assert_eq!(of_kind("implementation_specification"), 43);
        let addressable = hipaa
            .controls
            .iter()
            .filter(|c| c.requirement.as_deref() == Some("addressable"))
            .count();
        assert_eq!(addressable, 22);
        for control in &hipaa.controls {
            assert!(control.requirement.is_some(), "{}", control.id);
            if let Some(parent) = &control.parent {
                assert!(hipaa.control(parent).is_some(), "{} parent", control.id);
            }
        }
        for section in ["164.308", "164.310", "164.312", "164.314", "164.316"] {
            assert!(hipaa.controls.iter().any(|c| c.id.starts_with(section)));
        }
        // GDPR: the paragraphs of Articles 5, 24, 25, 28, 30, 32, 33, 34 and 35.
        assert_eq!(count("gdpr"), 37);
        for article in ["5", "24", "25", "28", "30", "32", "33", "34", "35"] {
            let prefix = format!("Art.{article}(");
            assert!(
                all.framework("gdpr")
                    .unwrap()
                    .controls
                    .iter()
                    .any(|c| c.id.starts_with(&prefix)),
                "Art. {article}"
            );
        }
        // NTIA: seven data fields, automation support, six practices.
        assert_eq!(count("ntia_sbom"), 14);
        // CRA Annex I: Part I (1) and (2)(a)-(m), Part II (1)-(8).
        assert_eq!(count("eu_cra"), 22);
    }

    #[test]
    fn identifiers_are_unique_and_oscal_ids_are_tokens() {
        for catalogue in &catalogues().frameworks {
            let mut seen = std::collections::BTreeSet::new();
            let mut oscal = std::collections::BTreeSet::new();
            for control in &catalogue.controls {
                assert!(seen.insert(control.id.clone()), "{} twice", control.id);
                let token = control.oscal_id();
                assert!(
                    token
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || ".-_".contains(c)),
                    "{token}"
                );
                assert!(oscal.insert(token.clone()), "{token} twice");
            }
        }
        let control = catalogues()
            .framework("hipaa")
            .unwrap()
            .control("164.312(a)(2)(iv)")
            .unwrap();
        assert_eq!(control.oscal_id(), "164.312-a-2-iv");
    }

    #[test]
    fn every_mapping_names_a_known_check_and_control() {
        let all = catalogues();
        for mapping in &all.mappings {
            let check: CheckId = mapping
                .check
                .parse()
                .unwrap_or_else(|_| panic!("unknown check {}", mapping.check));
            for mapped in &mapping.controls {
                let framework = all
                    .framework(&mapped.framework)
                    .unwrap_or_else(|| panic!("unknown framework {}", mapped.framework));
                assert!(
                    framework.control(&mapped.control).is_some(),
                    "{} {} (from {})",
                    mapped.framework,
                    mapped.control,
                    mapping.check
                );
                if let Some(facet) = &mapped.facet {
                    assert!(check.facets().contains(&facet.as_str()), "{facet}");
                }
            }
        }
        // Every check serves at least one control of the four main frameworks or NTIA/CRA.
        for check in CheckId::ALL {
            assert!(
                all.mappings.iter().any(|m| m.check == check.as_str()),
                "{} is not mapped",
                check.as_str()
            );
        }
        // One check serves several frameworks.
        let frameworks: std::collections::BTreeSet<&str> = all
            .mappings
            .iter()
            .find(|m| m.check == "api_key_hygiene")
            .unwrap()
            .controls
            .iter()
            .map(|c| c.framework.as_str())
            .collect();
        assert!(frameworks.len() >= 4);
    }
}
