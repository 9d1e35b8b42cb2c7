//! The CycloneDX specification's own conformance corpus: every `valid-*` document of the
//! versions we claim must parse, every `invalid-*` one must be rejected.

use std::fs;
use std::path::Path;

use crate::test_data;

#[derive(Default)]
struct Tally {
    valid_accepted: usize,
    valid_total: usize,
    invalid_rejected: usize,
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
                Ok(_) => tally.valid_accepted += 1,
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
                Ok(_) => tally.failures.push(format!("{version}/{name} accepted")),
            }
        }
    }
    tally
}

fn conformance(extension: &str) {
    let Some(root) = test_data::root() else {
        return;
    };
    let dir = root.join("cyclonedx-spec-tests/tools/src/test/resources");
    let mut failures = Vec::new();
    for version in ["1.4", "1.5", "1.6"] {
        let tally = run(&dir, version, extension);
        println!(
            "CycloneDX {version} {extension}: valid accepted {}/{}, invalid rejected {}/{}",
            tally.valid_accepted, tally.valid_total, tally.invalid_rejected, tally.invalid_total
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
