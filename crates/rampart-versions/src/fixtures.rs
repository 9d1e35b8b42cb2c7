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
    /// Lines skipped because a side is rejected by the ecosystem's own tool (and by us).
    pub skipped: usize,
    /// Lines where the fixture contradicts the ecosystem's own tool and the tool's verdict,
    /// which we give, was checked instead.
    pub overridden: usize,
}

/// A fixture line that the ecosystem's own tool decides differently, with the tool's verdict
/// for `left` against `right`. Keep the evidence (tool, version, command) next to each one.
pub(crate) struct ToolVerdict {
    pub line: &'static str,
    pub tool_says: Ordering,
}

/// Checks every comparison line of `file` (relative to [`SCALIBR_TESTDATA`]) under `scheme`,
/// in both directions, and that `==` agrees with the order.
///
/// `rejected_by_tool` names inputs that the ecosystem's own tool refuses (a peer's lenient
/// parser accepted them); lines using one are skipped, but only after checking that we reject
/// that input too, so the list cannot hide a wrong comparison. Pass `&|_| false` when the
/// whole file applies. `tool_verdicts` replaces the expectation of lines the real tool decides
/// otherwise; each must match a line and must differ from it. Returns `None` when the shared
/// test data is absent.
pub(crate) fn assert_ordering_fixture(
    file: &str,
    scheme: Scheme,
    rejected_by_tool: &dyn Fn(&str) -> bool,
    tool_verdicts: &[ToolVerdict],
) -> Option<FixtureSummary> {
    let path = crate::test_data::root()?.join(SCALIBR_TESTDATA).join(file);
    Some(check_fixture_file(
        &path,
        scheme,
        rejected_by_tool,
        tool_verdicts,
    ))
}

/// Checks `<scheme>-random.txt` from `RAMPART_ORACLE_FIXTURES`, a directory of comparisons
/// that the ecosystems' real tools decided (made by `crates/rampart-versions/oracles/`).
/// Skipped when the variable is unset: the tools are not part of the build.
pub(crate) fn assert_oracle_fixture(file: &str, scheme: Scheme) -> Option<FixtureSummary> {
    let Some(directory) = std::env::var_os("RAMPART_ORACLE_FIXTURES") else {
        eprintln!("skipping {file}: RAMPART_ORACLE_FIXTURES is not set");
        return None;
    };
    let path = PathBuf::from(directory).join(file);
    Some(check_fixture_file(&path, scheme, &|_| false, &[]))
}

fn check_fixture_file(
    path: &Path,
    scheme: Scheme,
    rejected_by_tool: &dyn Fn(&str) -> bool,
    tool_verdicts: &[ToolVerdict],
) -> FixtureSummary {
    let file = path
        .file_name()
        .map_or_else(String::new, |name| name.to_string_lossy().into_owned());
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|err| panic!("cannot read fixture {}: {err}", path.display()));

    let mut summary = FixtureSummary::default();
    let mut failures = Vec::new();
    let mut used_verdicts = 0;
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
        let mut expected = match operator {
            "<" => Ordering::Less,
            "=" => Ordering::Equal,
            ">" => Ordering::Greater,
            _ => {
                failures.push(format!("{file}:{number}: unknown operator in {line:?}"));
                continue;
            }
        };
        if let Some(verdict) = tool_verdicts.iter().find(|v| v.line == line) {
            if verdict.tool_says == expected {
                failures.push(format!(
                    "{file}:{number}: verdict for {line:?} repeats the fixture"
                ));
            }
            expected = verdict.tool_says;
            used_verdicts += 1;
            summary.overridden += 1;
        }
        if rejected_by_tool(left) || rejected_by_tool(right) {
            let mut wrongly_accepted = false;
            for side in [left, right] {
                if rejected_by_tool(side) && scheme.parse(side).is_ok() {
                    failures.push(format!(
                        "{file}:{number}: {side:?} is listed as rejected by the tool but parses"
                    ));
                    wrongly_accepted = true;
                }
            }
            if !wrongly_accepted {
                summary.skipped += 1;
            }
            continue;
        }
        match check_line(scheme, left, right, expected) {
            Ok(()) => summary.passed += 1,
            Err(problem) => failures.push(format!("{file}:{number}: {line}: {problem}")),
        }
    }
    if used_verdicts != tool_verdicts.len() {
        failures.push(format!(
            "{file}: {} tool verdicts given, {used_verdicts} matched a line",
            tool_verdicts.len()
        ));
    }
    eprintln!(
        "{file} as {}: {} passed ({} of them by the tool's verdict), {} skipped (rejected by \
         the tool), {} failed",
        scheme.name(),
        summary.passed,
        summary.overridden,
        summary.skipped,
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
