//! SPDX 2.2 and 2.3, in JSON and tag-value. Packages become components (files and snippets
//! are not inventory for vulnerability matching); `externalRefs` of type `purl` and
//! `cpe23Type` (or `cpe22Type`) give the identifiers; relationships of the dependency and
//! containment families give the graph, together with the containment that JSON states with
//! `hasFiles` and tag-value with a file's place after its package.

pub(crate) mod json;
pub(crate) mod tag_value;

use super::{text, Dependency, License, Relationship, Sbom, SbomError};

/// Parses an SPDX JSON document (UTF-8 or UTF-16 with a byte-order mark).
pub fn parse_spdx_json(bytes: &[u8]) -> Result<Sbom, SbomError> {
    json::parse_str(&text::decode(bytes)?)
}

/// Parses an SPDX tag-value document (UTF-8 or UTF-16 with a byte-order mark).
pub fn parse_spdx_tag_value(bytes: &[u8]) -> Result<Sbom, SbomError> {
    tag_value::parse_str(&text::decode(bytes)?)
}

/// `SPDX-2.3` → `2.3`, for the versions we read.
pub(crate) fn spec_version(value: &str) -> Result<String, String> {
    match value.trim() {
        "SPDX-2.2" => Ok("2.2".to_owned()),
        "SPDX-2.3" => Ok("2.3".to_owned()),
        other => Err(format!(
            "unsupported SPDX version \"{other}\" (supported: SPDX-2.2, SPDX-2.3)"
        )),
    }
}

/// Turns an SPDX relationship into a graph edge when it is about dependency or containment.
pub(crate) fn edge(element: &str, relationship: &str, related: &str) -> Option<Dependency> {
    let (from, to, relationship) = match relationship {
        "DEPENDS_ON" => (element, related, Relationship::DependsOn),
        "DEPENDENCY_OF"
        | "BUILD_DEPENDENCY_OF"
        | "DEV_DEPENDENCY_OF"
        | "OPTIONAL_DEPENDENCY_OF"
        | "PROVIDED_DEPENDENCY_OF"
        | "TEST_DEPENDENCY_OF"
        | "RUNTIME_DEPENDENCY_OF" => (related, element, Relationship::DependsOn),
        "CONTAINS" => (element, related, Relationship::Contains),
        "CONTAINED_BY" => (related, element, Relationship::Contains),
        _ => return None,
    };
    Some(Dependency {
        from: from.to_owned(),
        to: to.to_owned(),
        relationship,
    })
}

/// Containment edges first, then relationships, each edge once: documents often state a
/// containment both ways (`hasFiles` and a `CONTAINS` relationship) or list a file twice.
pub(crate) fn unique_edges(
    contained: Vec<Dependency>,
    relationships: Vec<Dependency>,
) -> Vec<Dependency> {
    let mut seen = std::collections::HashSet::new();
    contained
        .into_iter()
        .chain(relationships)
        .filter(|edge| seen.insert(edge.clone()))
        .collect()
}

/// `Organization: Acme (a@b.c)` → `Acme (a@b.c)`; `NOASSERTION` → nothing.
pub(crate) fn supplier(value: &str) -> Option<String> {
    let value = value.trim();
    if value.is_empty() || value == "NOASSERTION" {
        return None;
    }
    let name = ["Organization:", "Person:", "Tool:"]
        .iter()
        .find_map(|prefix| value.strip_prefix(prefix))
        .unwrap_or(value);
    Some(name.trim().to_owned())
}

/// A concluded or declared licence: a single SPDX identifier or an expression;
/// `NOASSERTION` and `NONE` say nothing.
pub(crate) fn license(value: &str) -> Option<License> {
    let value = value.trim();
    match value {
        "" | "NOASSERTION" | "NONE" => None,
        id if ::spdx::license_id(id).is_some() => Some(License::Id(id.to_owned())),
        expression => Some(License::Expression(expression.to_owned())),
    }
}

/// What a package external reference contributes to a component.
#[derive(Debug)]
pub(crate) enum ExternalIdentifier {
    Purl(String),
    Cpe23(String),
    Cpe22(String),
}

/// Reads a package external reference of a type we use; an invalid purl is an error.
pub(crate) fn external_identifier(
    reference_type: &str,
    locator: &str,
) -> Result<Option<ExternalIdentifier>, String> {
    let locator = locator.trim();
    Ok(match reference_type.trim() {
        "purl" => {
            if !super::is_plausible_purl(locator) {
                return Err(format!(
                    "invalid purl \"{locator}\": expected pkg:type/name"
                ));
            }
            Some(ExternalIdentifier::Purl(locator.to_owned()))
        }
        "cpe23Type" => Some(ExternalIdentifier::Cpe23(locator.to_owned())),
        "cpe22Type" => Some(ExternalIdentifier::Cpe22(locator.to_owned())),
        _ => None,
    })
}

/// Applies an external identifier, preferring CPE 2.3 over 2.2 and the first of each.
pub(crate) fn apply_identifier(component: &mut super::Component, identifier: ExternalIdentifier) {
    match identifier {
        ExternalIdentifier::Purl(purl) => {
            component.purl.get_or_insert(purl);
        }
        ExternalIdentifier::Cpe23(cpe) => {
            if !component
                .cpe
                .as_deref()
                .is_some_and(|c| c.starts_with("cpe:2.3:"))
            {
                component.cpe = Some(cpe);
            }
        }
        ExternalIdentifier::Cpe22(cpe) => {
            component.cpe.get_or_insert(cpe);
        }
    }
}

/// The tool named by an SPDX `Tool:` creator.
pub(crate) fn tool(creator: &str) -> Option<String> {
    creator
        .trim()
        .strip_prefix("Tool:")
        .map(|tool| tool.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relationships_map_to_directed_edges() {
        let edge_of = |kind| edge("A", kind, "B").map(|e| (e.from, e.to, e.relationship));
        assert_eq!(
            edge_of("DEPENDS_ON"),
            Some(("A".into(), "B".into(), Relationship::DependsOn))
        );
        assert_eq!(
            edge_of("DEV_DEPENDENCY_OF"),
            Some(("B".into(), "A".into(), Relationship::DependsOn))
        );
        assert_eq!(
            edge_of("CONTAINED_BY"),
            Some(("B".into(), "A".into(), Relationship::Contains))
        );
        assert_eq!(edge_of("DESCRIBES"), None);
    }

    #[test]
    fn suppliers_licenses_and_versions() {
        assert_eq!(supplier("Organization: Acme Inc"), Some("Acme Inc".into()));
        assert_eq!(supplier("NOASSERTION"), None);
        assert_eq!(license("MIT"), Some(License::Id("MIT".into())));
        assert_eq!(
            license("MIT OR Apache-2.0"),
            Some(License::Expression("MIT OR Apache-2.0".into()))
        );
        assert_eq!(license("NOASSERTION"), None);
        assert_eq!(spec_version("SPDX-2.3"), Ok("2.3".into()));
        assert!(spec_version("SPDX-3.0").is_err());
    }

    #[test]
    fn cpe_23_wins_over_22() {
        let mut component = super::super::Component::default();
        apply_identifier(
            &mut component,
            ExternalIdentifier::Cpe22("cpe:/a:x:y:1".into()),
        );
        apply_identifier(
            &mut component,
            ExternalIdentifier::Cpe23("cpe:2.3:a:x:y:1:*:*:*:*:*:*:*".into()),
        );
        apply_identifier(
            &mut component,
            ExternalIdentifier::Cpe22("cpe:/a:x:z:1".into()),
        );
        assert_eq!(
            component.cpe.as_deref(),
            Some("cpe:2.3:a:x:y:1:*:*:*:*:*:*:*")
        );
        assert!(external_identifier("purl", "npm/foo").is_err());
    }
}
