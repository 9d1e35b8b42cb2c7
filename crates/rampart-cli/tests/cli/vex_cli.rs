//! `rampart vex convert`, run as the built binary over the shared corpus's VEX documents.

use std::process::{Command, Output};

fn rampart(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(args)
        .output()
        .expect("the rampart binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("UTF-8 output")
}

#[test]
fn a_csaf_vex_document_converts_to_openvex_and_cyclonedx() {
    let Some(data) = rampart_test_data::root() else {
        return;
    };
    let csaf = data.join("vex/csaf-2.0/csaf_2.0/examples/csaf/csaf_vex/2022-evd-uc-01-na-001.json");
    let csaf = csaf.to_str().unwrap();

    let output = rampart(&["vex", "convert", "--to", "openvex", csaf]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let openvex: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(openvex["@context"], "https://openvex.dev/ns/v0.2.0");
    assert_eq!(
        openvex["statements"][0]["vulnerability"]["name"],
        "CVE-2021-44228"
    );
    assert_eq!(openvex["statements"][0]["status"], "not_affected");
    assert!(
        text(&output.stderr).contains("csaf → openvex, 1 statements"),
        "{}",
        text(&output.stderr)
    );

    let output = rampart(&["vex", "convert", "--to", "cyclonedx", "--xml", csaf]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let xml = text(&output.stdout);
    assert!(xml.contains("<state>not_affected</state>"), "{xml}");
}

#[test]
fn an_openvex_document_converts_to_csaf_and_back() {
    let Some(data) = rampart_test_data::root() else {
        return;
    };
    let openvex = data.join("vex/openvex-go-vex/pkg/vex/testdata/v0.2.0.json");
    let output = rampart(&["vex", "convert", "--to", "csaf", openvex.to_str().unwrap()]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let csaf: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(csaf["document"]["category"], "csaf_vex");
    assert_eq!(csaf["vulnerabilities"].as_array().unwrap().len(), 5);

    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("csaf.json");
    std::fs::write(&path, &output.stdout).unwrap();
    let back = rampart(&["vex", "convert", "--to", "openvex", path.to_str().unwrap()]);
    assert!(back.status.success(), "{}", text(&back.stderr));
    let openvex: serde_json::Value = serde_json::from_slice(&back.stdout).unwrap();
    let statuses: Vec<&str> = openvex["statements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == "fixed").count(),
        3,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == "not_affected").count(),
        2,
        "{statuses:?}"
    );
}

#[test]
fn bad_input_exits_2_naming_the_problem() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("broken.json");
    std::fs::write(
        &path,
        r#"{"@context": "https://openvex.dev/ns/v0.2.0", "statements": {}}"#,
    )
    .unwrap();
    let output = rampart(&["vex", "convert", "--to", "csaf", path.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("/statements: expected an array, found an object"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty());

    let output = rampart(&[
        "vex",
        "convert",
        "--to",
        "openvex",
        "--xml",
        path.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("--xml goes with --to cyclonedx only"));

    let missing = folder.path().join("missing.json");
    let output = rampart(&["vex", "convert", "--to", "csaf", missing.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("cannot read"));
}
