//! `rampart version sort|cmp|check`, run as the built binary.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn rampart(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the rampart binary starts");
    let written = child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(stdin.as_bytes());
    // A command refused before it reads its input (an unknown ecosystem) may exit first.
    if let Err(error) = written {
        assert_eq!(error.kind(), std::io::ErrorKind::BrokenPipe, "{error}");
    }
    child.wait_with_output().expect("the rampart binary exits")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("UTF-8 stdout")
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).expect("UTF-8 stderr")
}

/// Runs and expects success, returning stdout.
fn ok(args: &[&str], stdin: &str) -> String {
    let output = rampart(args, stdin);
    assert!(
        output.status.success(),
        "{args:?} failed: {}",
        stderr(&output)
    );
    stdout(&output)
}

/// Runs and expects exit code 2 with nothing on stdout, returning stderr.
fn usage_error(args: &[&str], stdin: &str) -> String {
    let output = rampart(args, stdin);
    assert_eq!(output.status.code(), Some(2), "{args:?}: {output:?}");
    assert_eq!(stdout(&output), "", "{args:?}");
    stderr(&output)
}

#[test]
fn sort_orders_pypi_versions_by_pep_440() {
    let input = "1.0\n1.0.post1\n\n1!0.1\n1.0a1\n0.9\r\n1.0.dev0\n1.0rc1\n";
    let sorted = ok(&["version", "sort", "--ecosystem", "pypi"], input);
    assert_eq!(
        sorted,
        "0.9\n1.0.dev0\n1.0a1\n1.0rc1\n1.0\n1.0.post1\n1!0.1\n"
    );
}

#[test]
fn sort_keeps_equal_versions_in_input_order() {
    // Maven pads with zeros and ignores `ga`: all four are one version.
    let input = "1.0\n1-ga\n1\n1.0.0\n1-alpha-1\n";
    let sorted = ok(&["version", "sort", "--ecosystem", "Maven"], input);
    assert_eq!(sorted, "1-alpha-1\n1.0\n1-ga\n1\n1.0.0\n");
}

#[test]
fn sort_of_nothing_prints_nothing() {
    assert_eq!(ok(&["version", "sort", "--ecosystem", "npm"], ""), "");
}

#[test]
fn sort_names_the_line_it_cannot_parse() {
    let message = usage_error(
        &["version", "sort", "--ecosystem", "crates.io"],
        "1.0.0\nnot a version\n",
    );
    assert!(message.contains("line 2"), "{message}");
    assert!(message.contains("not a version"), "{message}");
}

#[test]
fn cmp_prints_the_relation() {
    let cases = [
        ("Maven", "1.0-alpha-1", "1.0", "<"),
        ("maven", "1", "1.0.0", "="),
        ("npm", "1.2.3", "1.2.3-rc.1", ">"),
        ("Debian", "1:1.0", "2.0", ">"),
        ("PyPI", "1.0.0", "1", "="),
        ("Go", "v1.2.3", "1.2.3", "="),
        ("Debian:12", "1.0~rc1", "1.0", "<"),
    ];
    for (ecosystem, a, b, expected) in cases {
        let printed = ok(&["version", "cmp", "--ecosystem", ecosystem, a, b], "");
        assert_eq!(printed, format!("{expected}\n"), "{ecosystem} {a} {b}");
    }
}

#[test]
fn unknown_ecosystem_and_bad_versions_exit_2() {
    let message = usage_error(&["version", "cmp", "--ecosystem", "Pypy", "1", "2"], "");
    assert!(message.contains("unknown ecosystem \"Pypy\""), "{message}");
    let message = usage_error(
        &["version", "cmp", "--ecosystem", "npm", "1.2.3", "~1.2"],
        "",
    );
    assert!(
        message.contains("npm") && message.contains("~1.2"),
        "{message}"
    );
    let message = usage_error(&["version", "sort", "--ecosystem", "nope"], "1\n");
    assert!(message.contains("unknown ecosystem"), "{message}");
}

#[test]
fn check_decides_a_vers_range_and_names_the_constraints() {
    let range = "vers:npm/>=1.0.0|<1.4.3";
    let check = |version: &str| {
        ok(
            &[
                "version",
                "check",
                "--ecosystem",
                "npm",
                "--version",
                version,
                "--range",
                range,
            ],
            "",
        )
    };
    assert_eq!(
        check("1.4.2"),
        "affected\ndecided by: >=1.0.0\nbounded by: <1.4.3\n"
    );
    assert_eq!(check("1.4.3"), "not affected\ndecided by: <1.4.3\n");
    assert_eq!(check("0.9.0"), "not affected\ndecided by: >=1.0.0\n");
    assert_eq!(
        check("1.0.0"),
        "affected\ndecided by: >=1.0.0\nbounded by: <1.4.3\n"
    );
}

#[test]
fn check_reads_non_canonical_vers_and_exact_versions() {
    let output = ok(
        &[
            "version",
            "check",
            "--ecosystem",
            "PyPI",
            "--version",
            "2.0",
            "--range",
            "vers:pypi/<1.5|2.0.0|>=1.0",
        ],
        "",
    );
    assert_eq!(output, "affected\ndecided by: 2.0.0\n");
}

#[test]
fn check_evaluates_an_osv_range_object() {
    let range = r#"{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"2.0.0"},{"introduced":"2.1.0"},{"last_affected":"2.1.4"}]}"#;
    let check = |version: &str| {
        ok(
            &[
                "version",
                "check",
                "--ecosystem",
                "crates.io",
                "--version",
                version,
                "--range",
                range,
            ],
            "",
        )
    };
    assert_eq!(
        check("1.9.9"),
        "affected\ndecided by: introduced 0\nbounded by: fixed 2.0.0\n"
    );
    assert_eq!(
        check("2.0.5"),
        "not affected\ndecided by: fixed 2.0.0\nbounded by: introduced 2.1.0\n"
    );
    assert_eq!(
        check("2.1.4"),
        "affected\ndecided by: introduced 2.1.0\nbounded by: last_affected 2.1.4\n"
    );
    assert!(check("2.1.5").starts_with("not affected\n"));

    let git = r#"{"type":"GIT","repo":"https://example.org/r","events":[{"introduced":"abc"}]}"#;
    let output = ok(
        &[
            "version",
            "check",
            "--ecosystem",
            "Go",
            "--version",
            "1.0.0",
            "--range",
            git,
        ],
        "",
    );
    assert!(output.starts_with("not evaluated\n"), "{output}");
}

/// Bitnami's apache record for CVE-2021-42013: the intervals [2.4.49, 2.4.50) and
/// [2.4.50, 2.4.51), so 2.4.50 (the incomplete fix) is affected. Written down, not computed.
#[test]
fn check_reads_adjacent_osv_intervals_in_any_order() {
    let ranges = [
        r#"{"type":"SEMVER","events":[{"introduced":"2.4.49"},{"fixed":"2.4.50"},{"introduced":"2.4.50"},{"fixed":"2.4.51"}]}"#,
        r#"{"type":"SEMVER","events":[{"introduced":"2.4.50"},{"fixed":"2.4.51"},{"fixed":"2.4.50"},{"introduced":"2.4.49"}]}"#,
    ];
    for range in ranges {
        let check = |version: &str| {
            ok(
                &[
                    "version",
                    "check",
                    "--ecosystem",
                    "Bitnami",
                    "--version",
                    version,
                    "--range",
                    range,
                ],
                "",
            )
        };
        assert_eq!(
            check("2.4.48"),
            "not affected\nbounded by: introduced 2.4.49\n",
            "{range}"
        );
        assert_eq!(
            check("2.4.49"),
            "affected\ndecided by: introduced 2.4.49\nbounded by: fixed 2.4.50\n",
            "{range}"
        );
        assert_eq!(
            check("2.4.50"),
            "affected\ndecided by: introduced 2.4.50\nbounded by: fixed 2.4.51\n",
            "{range}"
        );
        assert_eq!(
            check("2.4.51"),
            "not affected\ndecided by: fixed 2.4.51\n",
            "{range}"
        );
    }
}

#[test]
fn check_rejects_bad_ranges_with_exit_2() {
    let check = |ecosystem: &str, version: &str, range: &str| {
        usage_error(
            &[
                "version",
                "check",
                "--ecosystem",
                ecosystem,
                "--version",
                version,
                "--range",
                range,
            ],
            "",
        )
    };
    let message = check("npm", "1.0.0", ">=1.0.0");
    assert!(message.contains("neither a vers range"), "{message}");
    let message = check("PyPI", "1.0", "vers:npm/>=1.0.0");
    assert!(message.contains("vers type \"npm\""), "{message}");
    let message = check("npm", "1.0.0", r#"{"type":"ECOSYSTEM"}"#);
    assert!(message.contains("events"), "{message}");
    let message = check(
        "npm",
        "1.0.0",
        r#"{"type":"ECOSYSTEM","events":[{"fixed":"x.y"}]}"#,
    );
    assert!(message.contains("x.y"), "{message}");
    let message = check("npm", "not-a-version", "vers:npm/>=1.0.0");
    assert!(message.contains("not-a-version"), "{message}");
}
