//! The CycloneDX specification's own conformance corpus: every `valid-*` document of the
//! versions we read (1.4–1.6 claimed, 1.2–1.3 accepted too) must parse without a warning,
//! every `invalid-*` one must be flagged: rejected, or, for the defects real generators
//! produce and uploads therefore tolerate (a repeated `bom-ref`), read with a warning that
//! names it.

use std::fs;
use std::path::Path;

#[derive(Default)]
struct Tally {
    valid_accepted: usize,
    valid_total: usize,
    invalid_rejected: usize,
    invalid_warned: usize,
    invalid_total: usize,
    failures: Vec<String>,
}

fn run(dir: &Path, version: &str, extension: &str) -> Tally {
    let parse = match extension {
        "json" => super::parse_cyclonedx_json,
        _ => super::parse_cyclonedx_xml,
    };
    let mut tally = Tally::default();
    let mut names: Vec<_> = fs::read_dir(dir.join(version))
        .expect("conformance directory")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| name.ends_with(&format!(".{extension}")))
        .collect();
    names.sort();
    for name in names {
        let bytes = fs::read(dir.join(version).join(&name)).expect("readable test document");
        let result = parse(&bytes);
        if name.starts_with("valid-") {
            tally.valid_total += 1;
            match result {
                Ok(sbom) if sbom.warnings.is_empty() => tally.valid_accepted += 1,
                Ok(sbom) => tally.failures.push(format!(
                    "{version}/{name} accepted with warnings: {:?}",
                    sbom.warnings
                )),
                Err(error) => tally
                    .failures
                    .push(format!("{version}/{name} rejected: {error}")),
            }
        } else if name.starts_with("invalid-") {
            tally.invalid_total += 1;
            match result {
                Err(error) => {
                    tally.invalid_rejected += 1;
                    eprintln!("    {version}/{name}: {error}");
                }
                // Only the repeated-reference documents may be tolerated, and only with a
                // warning about that.
                Ok(sbom)
                    if name.starts_with("invalid-component-ref-")
                        && sbom
                            .warnings
                            .iter()
                            .any(|w| w.message.starts_with("duplicate bom-ref")) =>
                {
                    tally.invalid_warned += 1;
                    eprintln!(
                        "    {version}/{name}: accepted with warnings {:?}",
                        sbom.warnings
                    );
                }
                Ok(_) => tally.failures.push(format!("{version}/{name} accepted")),
            }
        }
    }
    tally
}

fn conformance(extension: &str) {
    let Some(root) = rampart_test_data::root() else {
        return;
    };
    let dir = root.join("cyclonedx-spec-tests/tools/src/test/resources");
    let mut failures = Vec::new();
    for version in ["1.2", "1.3", "1.4", "1.5", "1.6"] {
        let tally = run(&dir, version, extension);
        println!(
            "CycloneDX {version} {extension}: valid accepted {}/{}, invalid rejected {} + tolerated with a warning {} of {}",
            tally.valid_accepted, tally.valid_total, tally.invalid_rejected, tally.invalid_warned, tally.invalid_total
        );
        assert!(
            tally.valid_total > 0 && tally.invalid_total > 0,
            "empty corpus for {version}"
        );
        failures.extend(tally.failures);
    }
    assert!(
        failures.is_empty(),
        "conformance failures:\n{}",
        failures.join("\n")
    );
}

#[test]
fn cyclonedx_json_conformance_suite() {
    conformance("json");
}

#[test]
fn cyclonedx_xml_conformance_suite() {
    conformance("xml");
}

/// The 1.6 corpus writes its valid documents in both encodings with the same content (the
/// 1.4/1.5 twins drift apart: different names, extra components); both encodings must read
/// to the same inventory and graph.
#[test]
fn json_and_xml_twins_read_alike() {
    let Some(root) = rampart_test_data::root() else {
        return;
    };
    let dir = root.join("cyclonedx-spec-tests/tools/src/test/resources");
    let mut compared = 0;
    let mut differences = Vec::new();
    for version in ["1.6"] {
        for entry in fs::read_dir(dir.join(version)).expect("conformance directory") {
            let path = entry.expect("entry").path();
            let name = path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            if !name.starts_with("valid-") || !name.ends_with(".json") {
                continue;
            }
            let twin = path.with_extension("xml");
            let Ok(xml_bytes) = fs::read(&twin) else {
                continue;
            };
            let json = super::parse_cyclonedx_json(&fs::read(&path).expect("readable"))
                .expect("valid JSON");
            let xml = super::parse_cyclonedx_xml(&xml_bytes).expect("valid XML");
            compared += 1;
            let summary = |sbom: &crate::sbom::Sbom| {
                let components: Vec<_> = sbom
                    .components
                    .iter()
                    .map(|c| {
                        (
                            c.bom_ref.clone(),
                            c.parent,
                            c.name.clone(),
                            c.version.clone(),
                            c.purl.clone(),
                            c.hashes.len(),
                            c.licenses.clone(),
                        )
                    })
                    .collect();
                (
                    components,
                    sbom.dependencies.clone(),
                    sbom.serial_number.clone(),
                )
            };
            if summary(&json) != summary(&xml) {
                differences.push(format!("{version}/{name}"));
            }
        }
    }
    println!(
        "compared {compared} JSON/XML twins, {} differ",
        differences.len()
    );
    assert!(compared > 40, "only {compared} twins");
    assert!(differences.is_empty(), "twins differ: {differences:?}");
}
