//! Runner for the peers' ordering fixtures (`A < B`, `A = B`, `A > B` per line; `#` and `//`
//! start comments). Every scheme's tests call [`assert_ordering_fixture`] with its files;
//! all failing lines are reported at once.

use std::cmp::Ordering;
use std::path::{Path, PathBuf};

use crate::{Scheme, Version};

/// Where osv-scalibr's `semantic` fixtures live inside the shared test data.
pub(crate) const SCALIBR_TESTDATA: &str = "peer-tests/osv-scalibr-semantic/semantic/testdata";

/// What a fixture run found.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FixtureSummary {
    /// Comparison lines whose both sides parsed and compared as expected.
    pub passed: usize,
    /// Of those, lines with a side that the ecosystem's own tool rejects and that only OSV's
    /// lenient reading ([`Scheme::parse`] against [`Scheme::parse_strict`]) accepts.
    pub lenient: usize,
    /// Lines where the fixture contradicts the ecosystem's own tool and the tool's verdict,
    /// which we give, was checked instead.
    pub overridden: usize,
}

/// A fixture line that the ecosystem's own tool decides differently, with the tool's verdict
/// for `left` against `right`, read from the tool's committed output
/// ([`tool_verdicts`]).
pub(crate) struct ToolVerdict {
    pub left: String,
    pub right: String,
    pub tool_says: Ordering,
}

/// Where the real tools' committed verdicts live (made by `oracles/`, command in its README).
fn verdicts_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("oracles/verdicts")
}

/// Reads `oracles/verdicts/<file>`: lines `A op B` that the ecosystem's real tool printed.
pub(crate) fn tool_verdicts(file: &str) -> Vec<ToolVerdict> {
    let path = verdicts_dir().join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("cannot read tool verdicts {}: {err}", path.display()));
    let verdicts: Vec<ToolVerdict> = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let tokens: Vec<&str> = line.split_whitespace().collect();
            let [left, operator, right] = tokens[..] else {
                panic!("{file}: malformed tool verdict {line:?}");
            };
            ToolVerdict {
                left: left.to_string(),
                right: right.to_string(),
                tool_says: parse_operator(operator)
                    .unwrap_or_else(|| panic!("{file}: unknown operator in {line:?}")),
            }
        })
        .collect();
    assert!(!verdicts.is_empty(), "{file} holds no verdict");
    verdicts
}

fn parse_operator(operator: &str) -> Option<Ordering> {
    match operator {
        "<" => Some(Ordering::Less),
        "=" => Some(Ordering::Equal),
        ">" => Some(Ordering::Greater),
        _ => None,
    }
}

/// Checks every comparison line of `file` (relative to [`SCALIBR_TESTDATA`]) under `scheme`,
/// in both directions, and that `==` agrees with the order.
///
/// `tool_verdicts` replaces the expectation of lines the real tool decides otherwise; each
/// must match a line and must differ from it. Returns `None` when the shared test data is
/// absent.
pub(crate) fn assert_ordering_fixture(
    file: &str,
    scheme: Scheme,
    tool_verdicts: &[ToolVerdict],
) -> Option<FixtureSummary> {
    let path = rampart_test_data::root()?.join(SCALIBR_TESTDATA).join(file);
    Some(check_fixture_file(&path, scheme, tool_verdicts, &[]))
}

/// Like [`assert_ordering_fixture`] for a whole file, but skips `contradictory` lines: lines
/// that no total order can satisfy together with the rest of the file (each with the
/// reason). Each must be present and must still fail, so the list cannot silently go stale.
pub(crate) fn assert_ordering_fixture_except(
    file: &str,
    scheme: Scheme,
    contradictory: &[(&str, &str)],
) -> Option<FixtureSummary> {
    let path = rampart_test_data::root()?.join(SCALIBR_TESTDATA).join(file);
    Some(check_fixture_file(&path, scheme, &[], contradictory))
}

/// Checks `oracles/verdicts/<scheme>-random.txt`: comparisons of random versions that the
/// ecosystem's real tool decided, made once by `oracles/` and committed (the tools are not
/// part of the build), so they are checked on every run. Every line must be checked.
pub(crate) fn assert_oracle_fixture(file: &str, scheme: Scheme) -> FixtureSummary {
    let path = verdicts_dir().join(file);
    let summary = check_fixture_file(&path, scheme, &[], &[]);
    let lines = std::fs::read_to_string(&path)
        .unwrap_or_default()
        .lines()
        .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
        .count();
    assert_eq!(summary.passed, lines, "{file}: not every line was checked");
    assert!(lines >= 10_000, "{file}: only {lines} tool verdicts");
    summary
}

fn check_fixture_file(
    path: &Path,
    scheme: Scheme,
    tool_verdicts: &[ToolVerdict],
    contradictory: &[(&str, &str)],
) -> FixtureSummary {
    let file = path
        .file_name()
        .map_or_else(String::new, |name| name.to_string_lossy().into_owned());
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|err| panic!("cannot read fixture {}: {err}", path.display()));

    let mut summary = FixtureSummary::default();
    let mut failures = Vec::new();
    let mut used_verdicts = 0;
    let mut used_contradictions = 0;
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with("//") {
            continue;
        }
        let number = index + 1;
        let tokens: Vec<&str> = line.split_whitespace().collect();
        let [left, operator, right] = tokens[..] else {
            failures.push(format!("{file}:{number}: malformed line {line:?}"));
            continue;
        };
        if let Some((_, reason)) = contradictory.iter().find(|(known, _)| *known == line) {
            used_contradictions += 1;
            let expected = match operator {
                "<" => Ordering::Less,
                "=" => Ordering::Equal,
                _ => Ordering::Greater,
            };
            if check_line(scheme, left, right, expected).is_ok() {
                failures.push(format!(
                    "{file}:{number}: {line:?} is listed as contradictory ({reason}) but passes"
                ));
            }
            eprintln!("{file}:{number}: skipped contradictory line {line:?}: {reason}");
            continue;
        }
        let Some(mut expected) = parse_operator(operator) else {
            failures.push(format!("{file}:{number}: unknown operator in {line:?}"));
            continue;
        };
        if let Some(verdict) = tool_verdicts
            .iter()
            .find(|v| v.left == left && v.right == right)
        {
            if verdict.tool_says == expected {
                failures.push(format!(
                    "{file}:{number}: verdict for {line:?} repeats the fixture"
                ));
            }
            expected = verdict.tool_says;
            used_verdicts += 1;
            summary.overridden += 1;
        }
        match check_line(scheme, left, right, expected) {
            Ok(()) => {
                summary.passed += 1;
                if [left, right]
                    .iter()
                    .any(|side| scheme.parse_strict(side).is_err())
                {
                    summary.lenient += 1;
                }
            }
            Err(problem) => failures.push(format!("{file}:{number}: {line}: {problem}")),
        }
    }
    if used_contradictions != contradictory.len() {
        failures.push(format!(
            "{file}: {} contradictory lines listed, {used_contradictions} found",
            contradictory.len()
        ));
    }
    if used_verdicts != tool_verdicts.len() {
        failures.push(format!(
            "{file}: {} tool verdicts given, {used_verdicts} matched a line",
            tool_verdicts.len()
        ));
    }
    eprintln!(
        "{file} as {}: {} passed ({} needing OSV's lenient reading, {} by the tool's verdict), \
         {} contradictory, {} failed",
        scheme.name(),
        summary.passed,
        summary.lenient,
        summary.overridden,
        used_contradictions,
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} failing fixture lines:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(summary.passed > 0, "{file}: no comparison was checked");
    summary
}

fn check_line(scheme: Scheme, left: &str, right: &str, expected: Ordering) -> Result<(), String> {
    let parse = |text: &str| -> Result<Version, String> {
        scheme.parse(text).map_err(|err| err.to_string())
    };
    let (a, b) = (parse(left)?, parse(right)?);
    let forward = a.cmp(&b);
    let backward = b.cmp(&a);
    if forward != expected {
        return Err(format!("got {forward:?} (parsed as {a} and {b})"));
    }
    if backward != expected.reverse() {
        return Err(format!("reversed comparison gave {backward:?}"));
    }
    if (a == b) != (expected == Ordering::Equal) {
        return Err("== disagrees with the order".to_string());
    }
    Ok(())
}

/// Where the vers specification's test files live inside the shared test data.
const VERS_TEST_DIR: &str = "peer-tests/vers-spec/tests";

/// Checks a vers-spec `*_version_cmp_test.json` file: every `comparison` test (two versions and
/// the expected ascending order) and every `equality` test (two versions and whether they are
/// equal). Panics listing all failures.
pub(crate) fn assert_vers_comparison_fixture(file_name: &str, scheme: Scheme) {
    let Some(root) = rampart_test_data::root() else {
        return;
    };
    let path = root.join(VERS_TEST_DIR).join(file_name);
    let content = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read fixture {}: {e}", path.display()));
    let document: serde_json::Value = serde_json::from_str(&content)
        .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
    let tests = document["tests"]
        .as_array()
        .unwrap_or_else(|| panic!("{file_name} has no `tests` array"));

    let mut checked = 0usize;
    let mut failures = Vec::new();
    for (index, test) in tests.iter().enumerate() {
        let kind = test["test_type"].as_str().unwrap_or_default();
        if kind != "comparison" && kind != "equality" {
            continue;
        }
        checked += 1;
        if let Err(reason) = check_vers_test(test, kind, scheme) {
            failures.push(format!("  test {index}: {reason}"));
        }
    }

    eprintln!(
        "{file_name} with {}: {}/{checked} tests passed",
        scheme.name(),
        checked - failures.len()
    );
    assert!(checked > 0, "{file_name} contains no comparison tests");
    assert!(
        failures.is_empty(),
        "{file_name} with {}: {} of {checked} tests failed:\n{}",
        scheme.name(),
        failures.len(),
        failures.join("\n")
    );
}

fn check_vers_test(test: &serde_json::Value, kind: &str, scheme: Scheme) -> Result<(), String> {
    let strings = |value: &serde_json::Value| -> Result<Vec<String>, String> {
        value
            .as_array()
            .ok_or("expected an array of versions")?
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or("expected a string version")
            })
            .collect::<Result<_, _>>()
            .map_err(str::to_string)
    };
    let inputs = strings(&test["input"]["versions"])?;
    let [first, second] = &inputs[..] else {
        return Err(format!("expected two versions, got {inputs:?}"));
    };
    let a = scheme.parse(first).map_err(|e| e.to_string())?;
    let b = scheme.parse(second).map_err(|e| e.to_string())?;
    match kind {
        "equality" => {
            let expected = test["expected_output"]
                .as_bool()
                .ok_or("equality test without a boolean expectation")?;
            if (a == b) != expected || (a.cmp(&b) == Ordering::Equal) != expected {
                return Err(format!("{first:?} == {second:?} should be {expected}"));
            }
        }
        _ => {
            let expected = strings(&test["expected_output"])?;
            let [low, high] = &expected[..] else {
                return Err(format!("expected two sorted versions, got {expected:?}"));
            };
            let (low_version, high_version) = if low == first && high == second {
                (&a, &b)
            } else if low == second && high == first {
                (&b, &a)
            } else {
                return Err(format!("{expected:?} is not a permutation of {inputs:?}"));
            };
            // Distinct texts must sort strictly; identical texts must be equal.
            let wanted = if low == high {
                Ordering::Equal
            } else {
                Ordering::Less
            };
            let got = low_version.cmp(high_version);
            if got != wanted {
                return Err(format!(
                    "{low:?} vs {high:?}: expected {wanted:?}, got {got:?}"
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rubygems() {
        assert_ordering_fixture("rubygems-versions.txt", Scheme::RubyGems, &[]);
        assert_ordering_fixture("rubygems-versions-generated.txt", Scheme::RubyGems, &[]);
    }

    #[test]
    fn packagist() {
        assert_ordering_fixture_except(
            "packagist-versions.txt",
            Scheme::Composer,
            &[(
                "1.2.3.# = 1.2.3.1",
                "the file also says `1.2.3.# = 1.2.3`, so this would make 1.2.3 == 1.2.3.1, \
                 contradicting `1.0.0 > 1.0` and the generated `1.10 < 1.10.1`",
            )],
        );
        assert_ordering_fixture("packagist-versions-generated.txt", Scheme::Composer, &[]);
    }

    #[test]
    fn debian() {
        assert_ordering_fixture("debian-versions.txt", Scheme::Dpkg, &[]);
        assert_ordering_fixture("debian-versions-generated.txt", Scheme::Dpkg, &[]);
    }

    #[test]
    fn redhat() {
        assert_ordering_fixture("redhat-versions.txt", Scheme::Rpm, &[]);
    }

    #[test]
    fn alpine() {
        assert_ordering_fixture("alpine-versions.txt", Scheme::Apk, &[]);
        assert_ordering_fixture("alpine-versions-generated.txt", Scheme::Apk, &[]);
        assert_vers_comparison_fixture("alpine_version_cmp_test.json", Scheme::Apk);
    }

    #[test]
    fn cran() {
        assert_ordering_fixture("cran-versions.txt", Scheme::Cran, &[]);
        assert_ordering_fixture("cran-versions-generated.txt", Scheme::Cran, &[]);
    }

    #[test]
    fn hackage() {
        assert_ordering_fixture("hackage-versions.txt", Scheme::Hackage, &[]);
    }
}
