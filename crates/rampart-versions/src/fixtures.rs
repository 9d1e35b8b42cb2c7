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
