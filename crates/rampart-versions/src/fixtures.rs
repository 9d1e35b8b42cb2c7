//! Runs the peers' ordering fixtures (`A < B`, `A = B`, `A > B` per line) against a [`Scheme`]
//! and reports every failing line at once.

use std::cmp::Ordering;

use crate::test_data;
use crate::Scheme;

/// Where the osv-scalibr `semantic` fixtures live inside the shared test data.
const FIXTURE_DIR: &str = "peer-tests/osv-scalibr-semantic/semantic/testdata";

/// Checks every comparison in `file_name` both ways round (`cmp(a, b)` and `cmp(b, a)`), and
/// panics listing all failures. Lines starting with `#` or `//` are comments. Skips (with a
/// note) when the shared test data is absent, unless `RAMPART_REQUIRE_TEST_DATA=1`.
pub(crate) fn assert_ordering_fixture(file_name: &str, scheme: Scheme) {
    assert_ordering_fixture_except(file_name, scheme, &[]);
}

/// Like [`assert_ordering_fixture`], but skips `contradictory` lines: lines that no total order
/// can satisfy together with the rest of the file (each comes with the reason). Each must be
/// present in the file and must still fail, so the list cannot silently go stale.
pub(crate) fn assert_ordering_fixture_except(
    file_name: &str,
    scheme: Scheme,
    contradictory: &[(&str, &str)],
) {
    let Some(root) = test_data::root() else {
        return;
    };
    let path = root.join(FIXTURE_DIR).join(file_name);
    let content = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read fixture {}: {e}", path.display()));

    let mut checked = 0usize;
    let mut failures = Vec::new();
    let mut skipped = Vec::new();
    for (index, raw_line) in content.lines().enumerate() {
        let line = raw_line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with("//") {
            continue;
        }
        let line_number = index + 1;
        if contradictory.iter().any(|(known, _)| *known == line) {
            skipped.push(line);
            assert!(
                check_line(line, scheme).is_err(),
                "{file_name} line {line_number} {line:?} is listed as contradictory but passes"
            );
            continue;
        }
        checked += 1;
        if let Err(reason) = check_line(line, scheme) {
            failures.push(format!("  line {line_number}: {line:?}: {reason}"));
        }
    }

    eprintln!(
        "{file_name} with {}: {}/{checked} lines passed",
        scheme.name(),
        checked - failures.len()
    );
    for (known, reason) in contradictory {
        assert!(
            skipped.contains(known),
            "{file_name} has no line {known:?} (listed as contradictory: {reason})"
        );
        eprintln!("{file_name}: skipped contradictory line {known:?}: {reason}");
    }
    assert!(checked > 0, "{file_name} contains no comparisons");
    assert!(
        failures.is_empty(),
        "{file_name} with {}: {} of {checked} lines failed:\n{}",
        scheme.name(),
        failures.len(),
        failures.join("\n")
    );
}

fn check_line(line: &str, scheme: Scheme) -> Result<(), String> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let [left, operator, right] = fields[..] else {
        return Err("expected `A <op> B`".to_string());
    };
    let expected = match operator {
        "<" => Ordering::Less,
        "=" => Ordering::Equal,
        ">" => Ordering::Greater,
        other => return Err(format!("unknown operator {other:?}")),
    };
    let a = scheme.parse(left).map_err(|e| e.to_string())?;
    let b = scheme.parse(right).map_err(|e| e.to_string())?;
    let forward = a.cmp(&b);
    let backward = b.cmp(&a);
    if forward != expected || backward != expected.reverse() {
        return Err(format!(
            "expected {expected:?}, got {forward:?} (and {backward:?} reversed)"
        ));
    }
    if (a == b) != (expected == Ordering::Equal) {
        return Err("`==` disagrees with `cmp`".to_string());
    }
    Ok(())
}

/// Where the vers specification's test files live inside the shared test data.
const VERS_TEST_DIR: &str = "peer-tests/vers-spec/tests";

/// Checks a vers-spec `*_version_cmp_test.json` file: every `comparison` test (two versions and
/// the expected ascending order) and every `equality` test (two versions and whether they are
/// equal). Panics listing all failures.
pub(crate) fn assert_vers_comparison_fixture(file_name: &str, scheme: Scheme) {
    let Some(root) = test_data::root() else {
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
        assert_ordering_fixture("rubygems-versions.txt", Scheme::RubyGems);
        assert_ordering_fixture("rubygems-versions-generated.txt", Scheme::RubyGems);
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
        assert_ordering_fixture("packagist-versions-generated.txt", Scheme::Composer);
    }

    #[test]
    fn debian() {
        assert_ordering_fixture("debian-versions.txt", Scheme::Dpkg);
        assert_ordering_fixture("debian-versions-generated.txt", Scheme::Dpkg);
    }

    #[test]
    fn redhat() {
        assert_ordering_fixture("redhat-versions.txt", Scheme::Rpm);
    }

    #[test]
    fn alpine() {
        assert_ordering_fixture("alpine-versions.txt", Scheme::Apk);
        assert_ordering_fixture("alpine-versions-generated.txt", Scheme::Apk);
        assert_vers_comparison_fixture("alpine_version_cmp_test.json", Scheme::Apk);
    }

    #[test]
    fn cran() {
        assert_ordering_fixture("cran-versions.txt", Scheme::Cran);
        assert_ordering_fixture("cran-versions-generated.txt", Scheme::Cran);
    }

    #[test]
    fn hackage() {
        assert_ordering_fixture("hackage-versions.txt", Scheme::Hackage);
    }
}
