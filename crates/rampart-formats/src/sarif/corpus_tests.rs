//! Every SARIF log of the shared corpus (Microsoft's tutorial samples, the OASIS examples,
//! DefectDojo's real tool outputs) reads, with the expected number of result locations,
//! skipped non-failures and suppressed results; and the reader's fatal errors are errors of
//! the OASIS SARIF 2.1.0 schema too (it never refuses what the schema accepts on the parts
//! it reads).

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::read::{read_sarif, ReadLimits, SarifError};
use rampart_test_data::format_checks::SchemaCheck;

/// (path under `sarif/`, result locations, skipped results, suppressed locations), counted
/// from the files independently of this reader (results whose `kind` is absent or `fail`,
/// one per location, at least one per result).
const EXPECTED: &[(&str, usize, usize, usize)] = &[
    ("defectdojo-sarif-fixtures/unittests/scans/sarif/DefectDojo_django-DefectDojo__2020-12-11_13 42 10__export.sarif", 510, 0, 0),
    ("defectdojo-sarif-fixtures/unittests/scans/sarif/SuppressionTestCurrent.sarif", 4, 0, 3),
    ("defectdojo-sarif-fixtures/unittests/scans/sarif/appendix_k.sarif", 1, 0, 1),
    ("defectdojo-sarif-fixtures/unittests/scans/sarif/appendix_k1.sarif", 0, 0, 0),
    ("defectdojo-sarif-fixtures/unittests/scans/sarif/appendix_k1_double.sarif", 0, 0, 0),
    ("defectdojo-sarif-fixtures/unittests/scans/sarif/appendix_k2.sarif", 1, 0, 0),
    ("defectdojo-sarif-fixtures/unittests/scans/sarif/appendix_k3.sarif", 1, 0, 0),
    ("defectdojo-sarif-fixtures/unittests/scans/sarif/appendix_k4.sarif", 1, 0, 1),
    ("defectdojo-sarif-fixtures/unittests/scans/sarif/bash-report-fabricated-no-internal-dupes-subset.sarif", 4, 0, 0),
    ("defectdojo-sarif-fixtures/unittests/scans/sarif/bash-report-fabricated-no-internal-dupes.sarif", 5, 0, 0),
    ("defectdojo-sarif-fixtures/unittests/scans/sarif/bash-report-subset-same-hash-code-same-unique-id.sarif", 4, 0, 0),
    ("defectdojo-sarif-fixtures/unittests/scans/sarif/bash-report.sarif", 27, 0, 0),
    ("defectdojo-sarif-fixtures/unittests/scans/sarif/blackduck_nested_fingerprints.sarif", 5, 0, 0),
    ("defectdojo-sarif-fixtures/unittests/scans/sarif/codeQL-output.sarif", 72, 0, 0),
    ("defectdojo-sarif-fixtures/unittests/scans/sarif/cxf-3.4.6.sarif", 22, 0, 0),
    ("defectdojo-sarif-fixtures/unittests/scans/sarif/dependency_check.sarif", 13, 0, 0),
    ("defectdojo-sarif-fixtures/unittests/scans/sarif/dockle_0_3_15.sarif", 4, 0, 0),
    ("defectdojo-sarif-fixtures/unittests/scans/sarif/flawfinder.sarif", 53, 1, 0),
    ("defectdojo-sarif-fixtures/unittests/scans/sarif/gitleaks_7.5.0.sarif", 8, 0, 0),
    ("defectdojo-sarif-fixtures/unittests/scans/sarif/issue_10191.json", 77, 0, 0),
    ("defectdojo-sarif-fixtures/unittests/scans/sarif/mobsfscan.json", 18, 0, 0),
    ("defectdojo-sarif-fixtures/unittests/scans/sarif/njsscan.sarif", 3, 0, 0),
    ("defectdojo-sarif-fixtures/unittests/scans/sarif/no_runs.sarif", 0, 0, 0),
    ("defectdojo-sarif-fixtures/unittests/scans/sarif/semgrepowasp-benchmark-sample.sarif", 1768, 0, 0),
    ("defectdojo-sarif-fixtures/unittests/scans/sarif/spotbugs.sarif", 56, 0, 0),
    ("defectdojo-sarif-fixtures/unittests/scans/sarif/suppression_test.sarif", 5, 0, 3),
    ("defectdojo-sarif-fixtures/unittests/scans/sarif/taint-python-report.sarif", 11, 0, 0),
    ("microsoft-sarif-tutorials/samples/1-Introduction/simple-example.sarif", 1, 0, 0),
    ("microsoft-sarif-tutorials/samples/2-Basics/empty-log.sarif.json", 0, 0, 0),
    ("microsoft-sarif-tutorials/samples/3-Beyond-basics/automation-details.sarif", 0, 0, 0),
    ("microsoft-sarif-tutorials/samples/3-Beyond-basics/bad-eval-related-locations.sarif", 1, 0, 0),
    ("microsoft-sarif-tutorials/samples/3-Beyond-basics/bad-eval-with-code-flow.sarif", 1, 0, 0),
    ("microsoft-sarif-tutorials/samples/3-Beyond-basics/bad-eval.sarif", 1, 0, 0),
    ("microsoft-sarif-tutorials/samples/3-Beyond-basics/link-to-location.sarif", 1, 0, 0),
    ("microsoft-sarif-tutorials/samples/3-Beyond-basics/message-from-metadata.sarif", 1, 0, 0),
    ("microsoft-sarif-tutorials/samples/3-Beyond-basics/message-with-arguments.sarif", 1, 0, 0),
    ("microsoft-sarif-tutorials/samples/3-Beyond-basics/standard-taxonomy.sarif", 1, 0, 0),
    ("microsoft-sarif-tutorials/samples/Baseline.sarif", 4, 0, 0),
    ("microsoft-sarif-tutorials/samples/CodeFlows.sarif", 1, 0, 0),
    ("microsoft-sarif-tutorials/samples/ContextRegion.sarif", 1, 0, 0),
    ("microsoft-sarif-tutorials/samples/DefaultRuleConfiguration.sarif", 2, 0, 0),
    ("microsoft-sarif-tutorials/samples/EmbeddedBinaryContent.sarif", 1, 0, 0),
    ("microsoft-sarif-tutorials/samples/EmbeddedTextContent.sarif", 2, 0, 0),
    ("microsoft-sarif-tutorials/samples/ExceptionalConditions/Catastrophic configuration error.sarif", 0, 0, 0),
    ("microsoft-sarif-tutorials/samples/ExceptionalConditions/Catastrophic execution error.sarif", 0, 0, 0),
    ("microsoft-sarif-tutorials/samples/ExceptionalConditions/Empty runs.sarif", 0, 0, 0),
    ("microsoft-sarif-tutorials/samples/ExceptionalConditions/No runs.sarif", 0, 0, 0),
    ("microsoft-sarif-tutorials/samples/ExceptionalConditions/One run empty results.sarif", 0, 0, 0),
    ("microsoft-sarif-tutorials/samples/ExceptionalConditions/One run no results.sarif", 0, 0, 0),
    ("microsoft-sarif-tutorials/samples/ExceptionalConditions/One run with results.sarif", 1, 0, 0),
    ("microsoft-sarif-tutorials/samples/Notifications.sarif", 0, 0, 0),
    ("microsoft-sarif-tutorials/samples/OriginalUriBaseIds.sarif", 3, 0, 0),
    ("microsoft-sarif-tutorials/samples/RegionVariants.sarif", 18, 0, 0),
    ("microsoft-sarif-tutorials/samples/ResultStacks.sarif", 1, 0, 0),
    ("microsoft-sarif-tutorials/samples/RuleMetadata.sarif", 1, 0, 0),
    ("microsoft-sarif-tutorials/samples/Suppressions.sarif", 9, 0, 5),
    ("microsoft-sarif-tutorials/samples/Taxonomies.sarif", 2, 0, 0),
    ("microsoft-sarif-tutorials/samples/_template.sarif", 1, 0, 0),
    ("oasis-sarif-spec/sarif-2.2/example/comprehensive.json", 1, 0, 1),
    ("oasis-sarif-spec/sarif-2.2/example/example-3-13-5-01.json", 2, 0, 0),
    ("oasis-sarif-spec/sarif-2.2/example/example-3-3-4-01.json", 1, 0, 0),
    ("oasis-sarif-spec/sarif-2.2/example/graft.json", 0, 0, 0),
    ("oasis-sarif-spec/sarif-2.2/example/minimal-recommended-with-source-info.json", 1, 0, 0),
    ("oasis-sarif-spec/sarif-2.2/example/minimal-recommended-without-source-info.json", 1, 0, 0),
    ("oasis-sarif-spec/sarif-2.2/example/minimal-valid.json", 0, 0, 0),
];

fn sarif_root() -> Option<PathBuf> {
    rampart_test_data::root().map(|root| root.join("sarif"))
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect(&path, out);
        } else {
            let name = path.to_string_lossy();
            let log = name.ends_with(".sarif") || name.ends_with(".json");
            if log && !name.contains("/schema/") {
                out.push(path);
            }
        }
    }
}

#[test]
fn every_corpus_log_reads_with_the_expected_counts() {
    let Some(root) = sarif_root() else { return };
    let mut files = Vec::new();
    collect(&root, &mut files);
    files.sort();
    assert_eq!(
        files.len(),
        EXPECTED.len(),
        "a log of the corpus has no expected counts"
    );
    for file in files {
        let relative = file
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .to_string();
        let (_, locations, skipped, suppressed) = EXPECTED
            .iter()
            .find(|(path, ..)| *path == relative)
            .unwrap_or_else(|| panic!("{relative} has no expected counts"));
        let bytes = std::fs::read(&file).unwrap();
        let report = read_sarif(&bytes, ReadLimits::default())
            .unwrap_or_else(|error| panic!("{relative}: {error}"));
        assert_eq!(report.result_count(), *locations, "{relative}");
        assert_eq!(report.skipped.len(), *skipped, "{relative}");
        let read_suppressed = report
            .runs
            .iter()
            .flat_map(|run| &run.results)
            .filter(|result| result.suppressed)
            .count();
        assert_eq!(read_suppressed, *suppressed, "{relative}");
        for result in report.runs.iter().flat_map(|run| &run.results) {
            assert_eq!(result.identity.len(), 64, "{relative}");
        }
    }
}

/// Real quirks are read and reported where they are, not refused.
#[test]
fn real_tool_quirks_become_warnings_with_their_pointer() {
    let Some(root) = sarif_root() else { return };
    let dojo = root.join("defectdojo-sarif-fixtures/unittests/scans/sarif");
    let flawfinder = std::fs::read(dojo.join("flawfinder.sarif")).unwrap();
    let report = read_sarif(&flawfinder, ReadLimits::default()).unwrap();
    // The one result without a message is a `pass`: skipped, with its pointer and reason.
    assert_eq!(report.skipped[0].pointer, "/runs/0/results/52");
    assert!(report.skipped[0].reason.contains("pass"));
    let blackduck = std::fs::read(dojo.join("blackduck_nested_fingerprints.sarif")).unwrap();
    let report = read_sarif(&blackduck, ReadLimits::default()).unwrap();
    assert!(report
        .warnings
        .iter()
        .any(|w| w.pointer == "/runs/0/results/0/fingerprints/csvRowSha256"));
    let identities: std::collections::HashSet<_> =
        report.runs[0].results.iter().map(|r| &r.identity).collect();
    assert_eq!(
        identities.len(),
        5,
        "nested fingerprints tell the results apart"
    );
}

#[test]
fn fatal_errors_are_schema_errors_too() {
    let Some(root) = sarif_root() else { return };
    let schema = SchemaCheck::load(
        &root.join("oasis-sarif-spec/sarif-2.1/schema/sarif-schema-2.1.0.json"),
        &[],
    );
    let base = json!({"version": "2.1.0", "runs": [{
        "tool": {"driver": {"name": "demo", "rules": [{"id": "R1"}]}},
        "results": [{"ruleId": "R1", "level": "error", "message": {"text": "m"},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": "a.c"},
                "region": {"startLine": 2}}}],
            "suppressions": [{"kind": "inSource"}]}]}]});
    assert!(schema.errors(base.to_string().as_bytes()).is_empty());
    read_sarif(base.to_string().as_bytes(), ReadLimits::default()).unwrap();
    let mutations: &[(&str, Value, &str)] = &[
        ("/version", json!("1.0.0"), "/version"),
        ("/runs", json!({}), "/runs"),
        ("/runs/0/tool", json!({}), "/runs/0/tool/driver"),
        (
            "/runs/0/tool/driver/name",
            json!(5),
            "/runs/0/tool/driver/name",
        ),
        (
            "/runs/0/tool/driver/rules",
            json!({}),
            "/runs/0/tool/driver/rules",
        ),
        (
            "/runs/0/tool/driver/rules/0",
            json!({"name": "no id"}),
            "/runs/0/tool/driver/rules/0/id",
        ),
        ("/runs/0/results", json!("none"), "/runs/0/results"),
        (
            "/runs/0/results/0/level",
            json!("fatal"),
            "/runs/0/results/0/level",
        ),
        (
            "/runs/0/results/0/message",
            json!({"arguments": []}),
            "/runs/0/results/0/message",
        ),
        (
            "/runs/0/results/0/locations",
            json!({}),
            "/runs/0/results/0/locations",
        ),
        (
            "/runs/0/results/0/locations/0/physicalLocation/region/startLine",
            json!(0),
            "/runs/0/results/0/locations/0/physicalLocation/region/startLine",
        ),
        (
            "/runs/0/results/0/locations/0/physicalLocation/artifactLocation/uri",
            json!(3),
            "/runs/0/results/0/locations/0/physicalLocation/artifactLocation/uri",
        ),
        (
            "/runs/0/results/0/suppressions/0/status",
            json!("maybe"),
            "/runs/0/results/0/suppressions/0/status",
        ),
        (
            "/runs/0/results/0/codeFlows",
            json!({}),
            "/runs/0/results/0/codeFlows",
        ),
    ];
    for (at, value, named) in mutations {
        let mut log = base.clone();
        let (parent, name) = at.rsplit_once('/').unwrap();
        match log.pointer_mut(parent).unwrap_or_else(|| panic!("{at}")) {
            Value::Object(map) => {
                map.insert(name.to_string(), value.clone());
            }
            Value::Array(items) => items[name.parse::<usize>().unwrap()] = value.clone(),
            _ => panic!("{at}"),
        }
        let bytes = log.to_string();
        assert!(
            !schema.errors(bytes.as_bytes()).is_empty(),
            "the schema accepts the mutation at {at}"
        );
        match read_sarif(bytes.as_bytes(), ReadLimits::default()) {
            Err(SarifError::Invalid { pointer, .. }) => assert_eq!(&pointer, named, "{at}"),
            other => panic!("{at}: {other:?}"),
        }
    }
}

/// Reading throughput of the 1.7 MB Semgrep log (a benchmark: prints, asserts only counts).
/// `CARGO_TARGET_DIR=/tmp/rampart-formats-opt CARGO_PROFILE_TEST_OPT_LEVEL=3 cargo test -p
/// rampart-formats --lib sarif_throughput -- --ignored --nocapture`
#[test]
#[ignore = "benchmark: run explicitly with an optimised build"]
fn sarif_throughput() {
    let Some(root) = sarif_root() else { return };
    let path = root.join(
        "defectdojo-sarif-fixtures/unittests/scans/sarif/semgrepowasp-benchmark-sample.sarif",
    );
    let bytes = std::fs::read(path).unwrap();
    let mut best = std::time::Duration::MAX;
    for _ in 0..20 {
        let started = std::time::Instant::now();
        let report = read_sarif(&bytes, ReadLimits::default()).unwrap();
        best = best.min(started.elapsed());
        assert_eq!(report.result_count(), 1768);
    }
    println!(
        "semgrep SARIF {:.2} MB, 1,768 results: best of 20 {:.4} s = {:.0} MB/s",
        bytes.len() as f64 / 1e6,
        best.as_secs_f64(),
        bytes.len() as f64 / 1e6 / best.as_secs_f64()
    );
}
