//! SPDX 2.2/2.3 JSON. `packages` and `relationships` are converted element by element while
//! the document is read, so neither is held twice; everything else is skipped.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::Deserialize;

use super::{
    apply_identifier, edge, external_identifier, license, spec_version, supplier, tool,
    unique_edges,
};
use crate::sbom::json_support::{deserialize_tracked, deserialize_untracked};
use crate::sbom::{Component, Dependency, Hash, Relationship, Sbom, SbomError, SbomFormat};

pub(crate) fn parse_str(text: &str) -> Result<Sbom, SbomError> {
    let document: Document = match deserialize_untracked(text, PhantomData) {
        Ok(document) => document,
        // Read again, tracking the path, to say where the problem is.
        Err(()) => deserialize_tracked(text, PhantomData)?,
    };
    let creation = document.creation_info.unwrap_or_default();
    Ok(Sbom {
        format: SbomFormat::Spdx,
        spec_version: document.spdx_version.0,
        serial_number: document.document_namespace,
        name: Some(document.name),
        created: creation.created,
        tools: creation.creators.iter().filter_map(|c| tool(c)).collect(),
        primary_component: None,
        components: document.packages.components,
        dependencies: unique_edges(document.packages.contained_files, document.relationships),
        warnings: Vec::new(),
    })
}

#[derive(Debug)]
struct SpdxVersion(String);

impl<'de> Deserialize<'de> for SpdxVersion {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = String::deserialize(deserializer)?;
        spec_version(&value)
            .map(SpdxVersion)
            .map_err(de::Error::custom)
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Document {
    spdx_version: SpdxVersion,
    #[serde(rename = "SPDXID")]
    #[allow(dead_code)] // Required by the schema; read to enforce that.
    spdx_id: String,
    name: String,
    document_namespace: Option<String>,
    creation_info: Option<CreationInfo>,
    #[serde(default, deserialize_with = "packages_as_components")]
    packages: Packages,
    #[serde(default, deserialize_with = "relationships_as_edges")]
    relationships: Vec<Dependency>,
}

#[derive(Debug, Default, Deserialize)]
struct CreationInfo {
    created: Option<String>,
    #[serde(default)]
    creators: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawPackage {
    #[serde(rename = "SPDXID")]
    spdx_id: String,
    name: String,
    version_info: Option<String>,
    supplier: Option<String>,
    #[serde(default)]
    external_refs: Vec<ExternalRef>,
    #[serde(default)]
    checksums: Vec<Checksum>,
    license_concluded: Option<String>,
    license_declared: Option<String>,
    primary_package_purpose: Option<String>,
    /// Files the package contains: the same as `CONTAINS` relationships.
    #[serde(default)]
    has_files: Vec<String>,
}

/// The packages as components, and the containment edges their `hasFiles` imply.
#[derive(Debug, Default)]
struct Packages {
    components: Vec<Component>,
    contained_files: Vec<Dependency>,
}

#[derive(Debug)]
struct ExternalRef(Option<super::ExternalIdentifier>);

impl<'de> Deserialize<'de> for ExternalRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Raw {
            reference_type: String,
            reference_locator: String,
        }
        let raw = Raw::deserialize(deserializer)?;
        external_identifier(&raw.reference_type, &raw.reference_locator)
            .map(ExternalRef)
            .map_err(de::Error::custom)
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Checksum {
    algorithm: String,
    checksum_value: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRelationship {
    spdx_element_id: String,
    relationship_type: String,
    related_spdx_element: String,
}

fn convert_package(raw: RawPackage) -> Component {
    let mut component = Component {
        bom_ref: Some(raw.spdx_id),
        name: raw.name,
        version: raw.version_info,
        supplier: raw.supplier.as_deref().and_then(supplier),
        component_type: raw.primary_package_purpose.map(|p| p.to_ascii_lowercase()),
        hashes: raw
            .checksums
            .into_iter()
            .map(|c| Hash {
                algorithm: c.algorithm,
                value: c.checksum_value,
            })
            .collect(),
        licenses: [raw.license_concluded, raw.license_declared]
            .iter()
            .flatten()
            .filter_map(|l| license(l))
            .fold(Vec::new(), |mut licenses, l| {
                if !licenses.contains(&l) {
                    licenses.push(l);
                }
                licenses
            }),
        ..Component::default()
    };
    for identifier in raw.external_refs.into_iter().filter_map(|r| r.0) {
        apply_identifier(&mut component, identifier);
    }
    component
}

fn packages_as_components<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Packages, D::Error> {
    struct PackagesVisitor;

    impl<'de> Visitor<'de> for PackagesVisitor {
        type Value = Packages;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an array of packages")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Packages, A::Error> {
            let mut packages = Packages {
                components: Vec::with_capacity(seq.size_hint().unwrap_or(0)),
                contained_files: Vec::new(),
            };
            while let Some(mut raw) = seq.next_element::<RawPackage>()? {
                for file in std::mem::take(&mut raw.has_files) {
                    packages.contained_files.push(Dependency {
                        from: raw.spdx_id.clone(),
                        to: file,
                        relationship: Relationship::Contains,
                    });
                }
                packages.components.push(convert_package(raw));
            }
            Ok(packages)
        }
    }

    deserializer.deserialize_seq(PackagesVisitor)
}

fn relationships_as_edges<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<Dependency>, D::Error> {
    struct Relationships;

    impl<'de> Visitor<'de> for Relationships {
        type Value = Vec<Dependency>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an array of relationships")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Dependency>, A::Error> {
            let mut edges = Vec::new();
            while let Some(raw) = seq.next_element::<RawRelationship>()? {
                edges.extend(edge(
                    &raw.spdx_element_id,
                    &raw.relationship_type,
                    &raw.related_spdx_element,
                ));
            }
            Ok(edges)
        }
    }

    deserializer.deserialize_seq(Relationships)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sbom::{ErrorLocation, License};

    const MINIMAL: &str = r#"{
      "spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT", "name": "demo",
      "documentNamespace": "https://example.com/demo",
      "creationInfo": {"created": "2024-01-01T00:00:00Z", "creators": ["Tool: syft-1.0", "Person: A"]},
      "packages": [
        {"SPDXID": "SPDXRef-a", "name": "a", "versionInfo": "1.0", "supplier": "Organization: Acme",
         "licenseConcluded": "MIT", "licenseDeclared": "MIT OR Apache-2.0",
         "checksums": [{"algorithm": "SHA256", "checksumValue": "abcd"}],
         "hasFiles": ["SPDXRef-file", "SPDXRef-file"],
         "externalRefs": [
           {"referenceCategory": "SECURITY", "referenceType": "cpe23Type", "referenceLocator": "cpe:2.3:a:acme:a:1.0:*:*:*:*:*:*:*"},
           {"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": "pkg:npm/a@1.0"}
         ]},
        {"SPDXID": "SPDXRef-b", "name": "b"}
      ],
      "relationships": [
        {"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES", "relatedSpdxElement": "SPDXRef-a"},
        {"spdxElementId": "SPDXRef-a", "relationshipType": "DEPENDS_ON", "relatedSpdxElement": "SPDXRef-b"}
      ]
    }"#;

    #[test]
    fn reads_packages_identifiers_and_relationships() {
        let sbom = parse_str(MINIMAL).unwrap();
        assert_eq!(sbom.spec_version, "2.3");
        assert_eq!(
            sbom.serial_number.as_deref(),
            Some("https://example.com/demo")
        );
        assert_eq!(sbom.tools, vec!["syft-1.0".to_owned()]);
        assert_eq!(sbom.components.len(), 2);
        let a = &sbom.components[0];
        assert_eq!(a.bom_ref.as_deref(), Some("SPDXRef-a"));
        assert_eq!(a.purl.as_deref(), Some("pkg:npm/a@1.0"));
        assert_eq!(a.cpe.as_deref(), Some("cpe:2.3:a:acme:a:1.0:*:*:*:*:*:*:*"));
        assert_eq!(a.supplier.as_deref(), Some("Acme"));
        assert_eq!(
            a.licenses,
            vec![
                License::Id("MIT".into()),
                License::Expression("MIT OR Apache-2.0".into())
            ]
        );
        let edges: Vec<_> = sbom
            .dependencies
            .iter()
            .map(|d| (d.from.as_str(), d.to.as_str(), d.relationship))
            .collect();
        assert_eq!(
            edges,
            [
                ("SPDXRef-a", "SPDXRef-file", Relationship::Contains),
                ("SPDXRef-a", "SPDXRef-b", Relationship::DependsOn)
            ],
            "hasFiles means CONTAINS, each edge once"
        );
    }

    #[test]
    fn errors_name_the_json_pointer() {
        let broken = MINIMAL.replace(r#""name": "b""#, r#""name": 7"#);
        let error = parse_str(&broken).unwrap_err();
        assert_eq!(
            error.location,
            Some(ErrorLocation::JsonPointer("/packages/1/name".into()))
        );
        let bad_purl = MINIMAL.replace("pkg:npm/a@1.0", "npm/a@1.0");
        let error = parse_str(&bad_purl).unwrap_err();
        assert_eq!(
            error.location,
            Some(ErrorLocation::JsonPointer(
                "/packages/0/externalRefs/1".into()
            ))
        );
        let error = parse_str(&MINIMAL.replace("SPDX-2.3", "SPDX-3.0")).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("/spdxVersion: unsupported SPDX version"),
            "{error}"
        );
    }
}
