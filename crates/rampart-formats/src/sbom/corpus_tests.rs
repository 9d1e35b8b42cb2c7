//! The public example corpora: every CycloneDX example of a version we claim, and every SPDX
//! 2.2/2.3 JSON and tag-value example, must parse, and without a warning (none of them has a
//! quirk we tolerate, so a warning would mean the reader changed what it reads).

use std::fs;
use std::path::{Path, PathBuf};

use super::{detect, parse, DocumentFormat, SbomFormat};

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn sorted_files(dir: &Path, extensions: &[&str]) -> Vec<PathBuf> {
    let mut files = Vec::new();
    files_under(dir, &mut files);
    files.retain(|path| {
        let name = path.to_string_lossy();
        extensions.iter().any(|extension| name.ends_with(extension))
    });
    files.sort();
    files
}

#[test]
fn cyclonedx_examples_parse() {
    let Some(root) = rampart_test_data::root() else {
        return;
    };
    let dir = root.join("cyclonedx-bom-examples");
    let (mut json, mut xml) = ((0, 0), (0, 0));
    let mut unsupported = Vec::new();
    let mut failures = Vec::new();
    for path in sorted_files(&dir, &[".json", ".xml"]) {
        let bytes = fs::read(&path).expect("readable example");
        let name = path
            .strip_prefix(&dir)
            .unwrap_or(&path)
            .display()
            .to_string();
        let tally = match detect(&bytes) {
            Some(DocumentFormat::CycloneDxJson) => &mut json,
            Some(DocumentFormat::CycloneDxXml) => &mut xml,
            other => {
                failures.push(format!("{name}: detected as {other:?}"));
                continue;
            }
        };
        tally.1 += 1;
        match parse(&bytes) {
            Ok(sbom) => {
                assert_eq!(sbom.format, SbomFormat::CycloneDx);
                if !sbom.warnings.is_empty() {
                    failures.push(format!("{name}: warnings {:?}", sbom.warnings));
                }
                tally.0 += 1;
            }
            // 1.0 and 1.1 are older than what we claim; they are listed, not failed.
            Err(error)
                if error
                    .message
                    .contains("unsupported CycloneDX specVersion \"1.1\"")
                    || error
                        .message
                        .contains("unsupported CycloneDX specVersion \"1.0\"") =>
            {
                unsupported.push(format!("{name}: {error}"));
            }
            Err(error) => failures.push(format!("{name}: {error}")),
        }
    }
    println!(
        "CycloneDX examples: JSON {}/{} parsed, XML {}/{} parsed",
        json.0, json.1, xml.0, xml.1
    );
    for line in &unsupported {
        println!("  not claimed: {line}");
    }
    assert!(json.1 > 50 && xml.1 > 5, "corpus unexpectedly small");
    assert!(
        failures.is_empty(),
        "examples rejected:\n{}",
        failures.join("\n")
    );
}

#[test]
fn spdx_examples_parse() {
    let Some(root) = rampart_test_data::root() else {
        return;
    };
    let dir = root.join("spdx-examples");
    let (mut json, mut tag_value) = ((0, 0), (0, 0));
    let mut failures = Vec::new();
    let mut components = 0;
    let mut spdx3 = 0;
    for path in sorted_files(&dir, &[".json", ".spdx"]) {
        // The JSON schema names `spdxVersion` as a property, which is not a document.
        if path.ends_with("schemas/spdx-schema.json") {
            continue;
        }
        let bytes = fs::read(&path).expect("readable example");
        let name = path
            .strip_prefix(&dir)
            .unwrap_or(&path)
            .display()
            .to_string();
        let tally = match detect(&bytes) {
            Some(DocumentFormat::SpdxJson) => &mut json,
            Some(DocumentFormat::SpdxTagValue) => &mut tag_value,
            // SPDX 3.0 JSON-LD is not an SPDX 2 document; nothing else may be skipped.
            _ if name.contains("spdx3.0/") => {
                spdx3 += 1;
                continue;
            }
            other => {
                failures.push(format!("{name}: detected as {other:?}"));
                continue;
            }
        };
        tally.1 += 1;
        match parse(&bytes) {
            Ok(sbom) => {
                tally.0 += 1;
                components += sbom.components.len();
            }
            Err(error) => failures.push(format!("{name}: {error}")),
        }
    }
    println!(
        "SPDX examples: JSON {}/{} parsed, tag-value {}/{} parsed, {components} packages; {spdx3} SPDX 3.0 files not claimed",
        json.0, json.1, tag_value.0, tag_value.1
    );
    assert!(json.1 > 15 && tag_value.1 > 10, "corpus unexpectedly small");
    assert!(
        failures.is_empty(),
        "examples rejected:\n{}",
        failures.join("\n")
    );
}

#[test]
fn real_sboms_keep_their_identifiers() {
    let Some(root) = rampart_test_data::root() else {
        return;
    };
    let keycloak = root.join("cyclonedx-bom-examples/SBOM/keycloak-10.0.2");
    let from_json = parse(&fs::read(keycloak.join("bom.json")).unwrap()).unwrap();
    let from_xml = parse(&fs::read(keycloak.join("bom.xml")).unwrap()).unwrap();
    assert_eq!(from_json.components.len(), from_xml.components.len());
    assert!(
        from_json.components.len() > 900,
        "{}",
        from_json.components.len()
    );
    let with_purl = from_json
        .components
        .iter()
        .filter(|c| c.purl.is_some())
        .count();
    assert!(
        with_purl * 10 > from_json.components.len() * 9,
        "most components carry a purl"
    );
    let purls_json: Vec<_> = from_json.components.iter().map(|c| &c.purl).collect();
    let purls_xml: Vec<_> = from_xml.components.iter().map(|c| &c.purl).collect();
    assert_eq!(purls_json, purls_xml, "JSON and XML encodings read alike");

    let trivy = root.join("spdx-examples/_tools-python/tests/spdx/data/invalid");
    let path = sorted_files(&trivy, &[".json"]).into_iter().next().unwrap();
    let sbom = parse(&fs::read(path).unwrap()).unwrap();
    assert!(sbom.components.len() > 500);
    assert!(sbom.components.iter().filter(|c| c.purl.is_some()).count() > 400);

    let utf16 = root.join("spdx-examples/_tools-python/tests/spdx/data");
    let json = parse(&fs::read(utf16.join("SPDXJSONExample-UTF-16.spdx.json")).unwrap()).unwrap();
    let tag = parse(&fs::read(utf16.join("SPDXTagExample-UTF-16.spdx")).unwrap()).unwrap();
    assert_eq!(json.components.len(), tag.components.len());
    assert!(!json.components.is_empty());
}

/// The SPDX examples come as JSON and tag-value twins; both must give the same packages and
/// graph.
#[test]
fn spdx_json_and_tag_value_twins_read_alike() {
    let Some(root) = rampart_test_data::root() else {
        return;
    };
    let pairs = [
        (
            "_spdx-spec-2.3.1/examples/SPDXJSONExample-v2.3.spdx.json",
            "_spdx-spec-2.3.1/examples/SPDXTagExample-v2.3.spdx",
        ),
        (
            "_tools-python/tests/spdx/data/SPDXJSONExample-v2.3.spdx.json",
            "_tools-python/tests/spdx/data/SPDXTagExample-v2.3.spdx",
        ),
        (
            "_tools-python/tests/spdx/data/SPDXJSONExample-v2.2.spdx.json",
            "_tools-python/tests/spdx/data/SPDXTagExample-v2.2.spdx",
        ),
        (
            "_tools-python/tests/spdx/data/SPDXJSONExample-UTF-16.spdx.json",
            "_tools-python/tests/spdx/data/SPDXTagExample-UTF-16.spdx",
        ),
    ];
    let dir = root.join("spdx-examples");
    for (json, tag_value) in pairs {
        let json = parse(&fs::read(dir.join(json)).unwrap()).unwrap();
        let tag_value = parse(&fs::read(dir.join(tag_value)).unwrap()).unwrap();
        let summary = |sbom: &super::Sbom| {
            let mut packages: Vec<_> = sbom
                .components
                .iter()
                .map(|c| {
                    (
                        c.bom_ref.clone(),
                        c.name.clone(),
                        c.version.clone(),
                        c.purl.clone(),
                        c.cpe.clone(),
                        c.hashes.clone(),
                        c.supplier.clone(),
                    )
                })
                .collect();
            packages.sort();
            let mut edges: Vec<_> = sbom
                .dependencies
                .iter()
                .map(|d| (d.from.clone(), d.to.clone()))
                .collect();
            edges.sort();
            (
                sbom.spec_version.clone(),
                sbom.serial_number.clone(),
                packages,
                edges,
            )
        };
        assert!(!json.components.is_empty());
        assert_eq!(summary(&json), summary(&tag_value));
    }
}
