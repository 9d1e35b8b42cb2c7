//! SPDX 2.2/2.3 tag-value: `Tag: value` lines, with `<text>…</text>` values that may span
//! lines. A `PackageName` opens a package; `FileName`, `SnippetSPDXID` and `LicenseID` open
//! sections whose tags do not belong to it.

use super::{
    apply_identifier, edge, external_identifier, license, spec_version, supplier, tool,
    unique_edges,
};
use crate::sbom::{Component, Hash, Sbom, SbomError, SbomFormat};
use crate::sbom::{Dependency, Relationship};

#[derive(PartialEq)]
enum Section {
    Document,
    Package,
    /// A file; tag-value files belong to the package before them.
    File,
    Other,
}

/// One `Tag: value` pair and the 1-based line it starts on.
struct Entry<'t> {
    line: usize,
    tag: &'t str,
    value: &'t str,
}

/// Splits the document into entries, joining multi-line `<text>` values.
fn entries(text: &str) -> Result<Vec<Entry<'_>>, SbomError> {
    let mut entries = Vec::new();
    let mut rest = text;
    let mut line = 1;
    while !rest.is_empty() {
        let line_end = rest.find('\n').map_or(rest.len(), |i| i + 1);
        let current = &rest[..line_end];
        let trimmed = current.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            rest = &rest[line_end..];
            line += 1;
            continue;
        }
        let Some(colon) = current.find(':') else {
            return Err(SbomError::at_line(
                line,
                1,
                format!("expected `Tag: value`, found \"{}\"", truncate(trimmed)),
            ));
        };
        let tag = current[..colon].trim();
        let after = &rest[colon + 1..];
        let value_start = after.len() - after.trim_start_matches([' ', '\t']).len();
        let value_text = &after[value_start..];
        if let Some(body) = value_text.strip_prefix("<text>") {
            let Some(end) = body.find("</text>") else {
                return Err(SbomError::at_line(
                    line,
                    colon + 2,
                    format!("`{tag}`: <text> is never closed by </text>"),
                ));
            };
            let value = &body[..end];
            let through_close = (rest.len() - body.len()) + end + "</text>".len();
            // Whatever follows `</text>` on its line is ignored, as SPDX tools do.
            let remainder = &rest[through_close..];
            let consumed = through_close + remainder.find('\n').map_or(remainder.len(), |i| i + 1);
            entries.push(Entry { line, tag, value });
            line += rest[..consumed].matches('\n').count();
            rest = &rest[consumed..];
            continue;
        }
        entries.push(Entry {
            line,
            tag,
            value: current[colon + 1..].trim(),
        });
        rest = &rest[line_end..];
        line += 1;
    }
    Ok(entries)
}

fn truncate(text: &str) -> String {
    text.chars().take(60).collect()
}

pub(crate) fn parse_str(text: &str) -> Result<Sbom, SbomError> {
    let mut section = Section::Document;
    let mut version = None;
    let mut sbom = Sbom {
        format: SbomFormat::Spdx,
        spec_version: String::new(),
        serial_number: None,
        name: None,
        created: None,
        tools: Vec::new(),
        primary_component: None,
        components: Vec::new(),
        dependencies: Vec::new(),
        warnings: Vec::new(),
    };
    // The line of the open package's `PackageName`, to report a package without `SPDXID`.
    let mut package_line = 0;
    let mut contained_files = Vec::new();
    for entry in entries(text)? {
        let at = |message: String| SbomError::at_line(entry.line, 1, message);
        let value = entry.value;
        match entry.tag {
            "SPDXVersion" => version = Some(spec_version(value).map_err(at)?),
            "DocumentName" => sbom.name = Some(value.to_owned()),
            "DocumentNamespace" => sbom.serial_number = Some(value.to_owned()),
            "Creator" => sbom.tools.extend(tool(value)),
            "Created" => sbom.created = Some(value.to_owned()),
            "PackageName" => {
                check_package_has_id(&sbom, &section, package_line)?;
                section = Section::Package;
                package_line = entry.line;
                sbom.components.push(Component {
                    name: value.to_owned(),
                    ..Component::default()
                });
            }
            "FileName" => {
                check_package_has_id(&sbom, &section, package_line)?;
                section = Section::File;
            }
            "SPDXID" if section == Section::File => {
                // A file listed after a package is contained in it (what JSON says with
                // `hasFiles`).
                if let Some(package) = sbom.components.last().and_then(|c| c.bom_ref.clone()) {
                    contained_files.push(Dependency {
                        from: package,
                        to: value.to_owned(),
                        relationship: Relationship::Contains,
                    });
                }
            }
            "SnippetSPDXID" | "LicenseID" => {
                check_package_has_id(&sbom, &section, package_line)?;
                section = Section::Other;
            }
            "Relationship" => {
                let parts: Vec<&str> = value.split_whitespace().collect();
                let [element, relationship, related] = parts[..] else {
                    return Err(at(format!(
                        "`Relationship` needs `element TYPE related`, found \"{}\"",
                        truncate(value)
                    )));
                };
                sbom.dependencies
                    .extend(edge(element, relationship, related));
            }
            tag if section == Section::Package => {
                let Some(package) = sbom.components.last_mut() else {
                    continue;
                };
                match tag {
                    "SPDXID" if package.bom_ref.is_none() => {
                        package.bom_ref = Some(value.to_owned())
                    }
                    "PackageVersion" => package.version = Some(value.to_owned()),
                    "PackageSupplier" => package.supplier = supplier(value),
                    "PrimaryPackagePurpose" => {
                        package.component_type = Some(value.to_ascii_lowercase())
                    }
                    "PackageChecksum" => {
                        let Some((algorithm, digest)) = value.split_once(':') else {
                            return Err(at(format!(
                                "`PackageChecksum` needs `ALGORITHM: value`, found \"{}\"",
                                truncate(value)
                            )));
                        };
                        package.hashes.push(Hash {
                            algorithm: algorithm.trim().to_owned(),
                            value: digest.trim().to_owned(),
                        });
                    }
                    "PackageLicenseConcluded" | "PackageLicenseDeclared" => {
                        if let Some(found) = license(value) {
                            if !package.licenses.contains(&found) {
                                package.licenses.push(found);
                            }
                        }
                    }
                    "ExternalRef" => {
                        let parts: Vec<&str> = value.split_whitespace().collect();
                        let [_category, reference_type, locator] = parts[..] else {
                            return Err(at(format!(
                                "`ExternalRef` needs `CATEGORY TYPE locator`, found \"{}\"",
                                truncate(value)
                            )));
                        };
                        if let Some(identifier) =
                            external_identifier(reference_type, locator).map_err(at)?
                        {
                            apply_identifier(package, identifier);
                        }
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
    check_package_has_id(&sbom, &section, package_line)?;
    sbom.dependencies = unique_edges(contained_files, std::mem::take(&mut sbom.dependencies));
    sbom.spec_version = version.ok_or_else(|| SbomError::at_line(1, 1, "missing `SPDXVersion`"))?;
    Ok(sbom)
}

fn check_package_has_id(sbom: &Sbom, section: &Section, line: usize) -> Result<(), SbomError> {
    let missing =
        *section == Section::Package && sbom.components.last().is_some_and(|c| c.bom_ref.is_none());
    if missing {
        return Err(SbomError::at_line(line, 1, "package has no `SPDXID`"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sbom::{ErrorLocation, License, Relationship};

    const DOCUMENT: &str = "SPDXVersion: SPDX-2.3\nDataLicense: CC0-1.0\nSPDXID: SPDXRef-DOCUMENT\n\
DocumentName: demo\nDocumentNamespace: https://example.com/demo\n\
Creator: Tool: builder-1.2\nCreated: 2024-01-01T00:00:00Z\n\
DocumentComment: <text>spans\ntwo lines</text>\n\n\
## a package\nPackageName: a\nSPDXID: SPDXRef-a\nPackageVersion: 1.0\n\
PackageSupplier: Organization: Acme\nPackageChecksum: SHA1: 85ed0817af83a24ad8da68c2b5094de69833983c\n\
PackageLicenseDeclared: Apache-2.0\n\
ExternalRef: PACKAGE-MANAGER purl pkg:maven/org.acme/a@1.0\n\
ExternalRef: SECURITY cpe23Type cpe:2.3:a:acme:a:1.0:*:*:*:*:*:*:*\n\n\
FileName: ./a.c\nSPDXID: SPDXRef-file\nFileChecksum: SHA1: 85ed0817af83a24ad8da68c2b5094de69833983c\n\n\
PackageName: b\nSPDXID: SPDXRef-b\n\
Relationship: SPDXRef-a DEPENDS_ON SPDXRef-b\nRelationship: SPDXRef-DOCUMENT DESCRIBES SPDXRef-a\n";

    #[test]
    fn reads_packages_and_files_they_contain() {
        let sbom = parse_str(DOCUMENT).unwrap();
        assert_eq!(sbom.spec_version, "2.3");
        assert_eq!(sbom.name.as_deref(), Some("demo"));
        assert_eq!(sbom.tools, vec!["builder-1.2".to_owned()]);
        assert_eq!(sbom.components.len(), 2);
        let a = &sbom.components[0];
        assert_eq!(a.bom_ref.as_deref(), Some("SPDXRef-a"));
        assert_eq!(a.purl.as_deref(), Some("pkg:maven/org.acme/a@1.0"));
        assert_eq!(a.cpe.as_deref(), Some("cpe:2.3:a:acme:a:1.0:*:*:*:*:*:*:*"));
        assert_eq!(a.hashes.len(), 1, "file checksums stay with the file");
        assert_eq!(a.licenses, vec![License::Id("Apache-2.0".into())]);
        assert_eq!(sbom.components[1].bom_ref.as_deref(), Some("SPDXRef-b"));
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
            ]
        );
    }

    #[test]
    fn errors_name_the_line() {
        let error = parse_str("SPDXVersion: SPDX-2.3\n\nthis is not a tag\n").unwrap_err();
        assert_eq!(
            error.location,
            Some(ErrorLocation::LineColumn { line: 3, column: 1 })
        );
        let error =
            parse_str("SPDXVersion: SPDX-2.3\nDocumentComment: <text>never closed\n").unwrap_err();
        assert!(error.to_string().starts_with("line 2,"), "{error}");
        let after_text =
            "SPDXVersion: SPDX-2.3\nDocumentComment: <text>a\nb\nc</text>\nRelationship: x\n";
        let error = parse_str(after_text).unwrap_err();
        assert_eq!(
            error.location,
            Some(ErrorLocation::LineColumn { line: 5, column: 1 })
        );
        let error = parse_str("DocumentName: x\n").unwrap_err();
        assert!(error.message.contains("SPDXVersion"), "{error}");
        let error =
            parse_str("SPDXVersion: SPDX-2.3\nPackageName: a\nPackageVersion: 1\n").unwrap_err();
        assert_eq!(
            error.to_string(),
            "line 2, column 1: package has no `SPDXID`"
        );
    }
}
