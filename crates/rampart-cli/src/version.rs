//! `rampart version …`: the crate's version orders and range evaluation for users, with
//! ecosystems named as OSV names them. Output goes to stdout; a problem with the input
//! (unknown ecosystem, unparseable version or range) is one line on stderr and exit code 2.

use std::cmp::Ordering;
use std::fmt;
use std::io::{BufRead, Write};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use rampart_versions::range::{EventKind, RawEvent};
use rampart_versions::vers::{scheme_for_vers_type, Comparator, Constraint};
use rampart_versions::{
    CompiledRange, Ecosystem, EcosystemKind, RangeKind, RangeOutcome, Scheme, VersRange, Version,
};

#[derive(Args)]
pub struct VersionArgs {
    #[command(subcommand)]
    command: VersionCommand,
}

#[derive(Subcommand)]
enum VersionCommand {
    /// Sort the versions read from stdin (one a line, blank lines ignored) in ascending order.
    Sort {
        /// Ecosystem as OSV spells it, case-insensitive: PyPI, npm, Maven, crates.io, Debian, …
        #[arg(long)]
        ecosystem: String,
    },
    /// Compare two versions; prints `<`, `=` or `>`.
    Cmp {
        /// Ecosystem as OSV spells it, case-insensitive.
        #[arg(long)]
        ecosystem: String,
        a: String,
        b: String,
    },
    /// Decide whether a version is inside a range; prints `affected` or `not affected` and
    /// the constraint (or OSV event) that decided.
    Check {
        /// Ecosystem as OSV spells it, case-insensitive.
        #[arg(long)]
        ecosystem: String,
        #[arg(long)]
        version: String,
        /// A `vers:` range (`vers:npm/>=1.0.0|<1.4.3`) or an OSV range object as JSON
        /// (`{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1.4.3"}]}`).
        #[arg(long)]
        range: String,
    },
}

/// What went wrong with the user's input; printed on stderr, exit code 2.
#[derive(Debug)]
struct UsageError(String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<rampart_versions::VersionError> for UsageError {
    fn from(error: rampart_versions::VersionError) -> Self {
        UsageError(error.to_string())
    }
}

pub fn run(args: VersionArgs) -> ExitCode {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let result = match args.command {
        VersionCommand::Sort { ecosystem } => sort(&ecosystem, std::io::stdin().lock(), &mut out),
        VersionCommand::Cmp { ecosystem, a, b } => compare(&ecosystem, &a, &b, &mut out),
        VersionCommand::Check {
            ecosystem,
            version,
            range,
        } => check(&ecosystem, &version, &range, &mut out),
    };
    match result.and_then(|()| out.flush().map_err(output_error)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(2)
        }
    }
}

fn output_error(error: std::io::Error) -> UsageError {
    UsageError(format!("cannot write the output: {error}"))
}

/// The scheme of an ecosystem OSV defines; names it does not define are refused rather than
/// ordered by the generic fallback, so a typo cannot silently change the answer.
fn scheme_of(name: &str) -> Result<(Ecosystem, Scheme), UsageError> {
    let ecosystem = Ecosystem::parse(name)?;
    if let EcosystemKind::Other(unknown) = ecosystem.kind() {
        return Err(UsageError(format!(
            "unknown ecosystem {unknown:?}; use an OSV ecosystem name such as PyPI, npm, Maven, \
             crates.io, Go, NuGet, RubyGems, Packagist, Debian, Alpine or Red Hat"
        )));
    }
    let scheme = ecosystem.scheme();
    Ok((ecosystem, scheme))
}

fn sort(ecosystem: &str, input: impl BufRead, out: &mut impl Write) -> Result<(), UsageError> {
    let (_, scheme) = scheme_of(ecosystem)?;
    let mut entries: Vec<(String, Version)> = Vec::new();
    for (index, line) in input.lines().enumerate() {
        let line = line.map_err(|error| UsageError(format!("cannot read stdin: {error}")))?;
        let text = line.trim_end_matches('\r');
        if text.trim().is_empty() {
            continue;
        }
        let version = scheme
            .parse(text)
            .map_err(|error| UsageError(format!("line {}: {error}", index + 1)))?;
        entries.push((text.to_string(), version));
    }
    for (text, _) in merge_sort_by(entries, |a, b| a.1.cmp(&b.1)) {
        writeln!(out, "{text}").map_err(output_error)?;
    }
    Ok(())
}

/// A stable bottom-up merge sort that only ever asks `compare` about pairs and trusts each
/// answer, so an order that is not transitive (Maven's `ComparableVersion` has such corner
/// cases) still yields a permutation instead of a panic, which `slice::sort_by` may raise
/// when it notices an inconsistent order.
fn merge_sort_by<T>(items: Vec<T>, mut compare: impl FnMut(&T, &T) -> Ordering) -> Vec<T> {
    let length = items.len();
    let mut order: Vec<usize> = (0..length).collect();
    let mut merged: Vec<usize> = Vec::with_capacity(length);
    let mut width = 1;
    while width < length {
        merged.clear();
        for start in (0..length).step_by(2 * width) {
            let middle = (start + width).min(length);
            let end = (start + 2 * width).min(length);
            let (mut left, mut right) = (start, middle);
            while left < middle && right < end {
                // Take from the right only when strictly smaller: equal versions keep their
                // input order.
                if compare(&items[order[right]], &items[order[left]]) == Ordering::Less {
                    merged.push(order[right]);
                    right += 1;
                } else {
                    merged.push(order[left]);
                    left += 1;
                }
            }
            merged.extend_from_slice(&order[left..middle]);
            merged.extend_from_slice(&order[right..end]);
        }
        std::mem::swap(&mut order, &mut merged);
        width *= 2;
    }
    let mut slots: Vec<Option<T>> = items.into_iter().map(Some).collect();
    order
        .into_iter()
        .map(|index| slots[index].take().expect("each index appears once"))
        .collect()
}

fn compare(ecosystem: &str, a: &str, b: &str, out: &mut impl Write) -> Result<(), UsageError> {
    let (_, scheme) = scheme_of(ecosystem)?;
    let symbol = match scheme.parse(a)?.cmp(&scheme.parse(b)?) {
        Ordering::Less => "<",
        Ordering::Equal => "=",
        Ordering::Greater => ">",
    };
    writeln!(out, "{symbol}").map_err(output_error)
}

/// The answer of `check`, printed as `affected` / `not affected` and the deciding bounds.
struct Verdict {
    affected: bool,
    decided_by: Option<String>,
    bounded_by: Option<String>,
}

fn check(
    ecosystem: &str,
    version: &str,
    range: &str,
    out: &mut impl Write,
) -> Result<(), UsageError> {
    let (_, scheme) = scheme_of(ecosystem)?;
    let range = range.trim();
    let verdict = if range.starts_with("vers:") {
        check_vers(scheme, version, range)?
    } else if range.starts_with('{') {
        match check_osv(scheme, version, range)? {
            Some(verdict) => verdict,
            None => {
                return writeln!(
                    out,
                    "not evaluated\nGIT ranges name commits; ordering them needs the repository"
                )
                .map_err(output_error);
            }
        }
    } else {
        return Err(UsageError(format!(
            "range {range:?} is neither a vers range (vers:<type>/<constraints>) nor an OSV \
             range object ({{\"type\": …, \"events\": […]}})"
        )));
    };
    let mut text = String::from(if verdict.affected {
        "affected\n"
    } else {
        "not affected\n"
    });
    if let Some(decided_by) = verdict.decided_by {
        text.push_str(&format!("decided by: {decided_by}\n"));
    }
    if let Some(bounded_by) = verdict.bounded_by {
        text.push_str(&format!("bounded by: {bounded_by}\n"));
    }
    out.write_all(text.as_bytes()).map_err(output_error)
}

fn check_vers(scheme: Scheme, version: &str, range: &str) -> Result<Verdict, UsageError> {
    let vers = VersRange::parse_syntax(range)?;
    match scheme_for_vers_type(vers.vers_type()) {
        Some(vers_scheme) if vers_scheme == scheme => {}
        _ => {
            return Err(UsageError(format!(
                "vers type {:?} does not order versions like the ecosystem ({} order)",
                vers.vers_type(),
                scheme.name()
            )))
        }
    }
    let canonical = vers.normalized(scheme)?;
    let compiled = canonical.compile(scheme)?;
    let parsed = scheme.parse(version)?;
    let containment = compiled.contains(&parsed);
    let bounds = range_bounds(scheme, canonical.constraints());
    let (decided_by, bounded_by) = if containment.contained {
        // A version equal to a `>=` bound is decided by the equality check, which does not
        // name the bound above; look it up so both ends of the interval are shown.
        let bounded_by = containment.bounded_by.or_else(|| {
            containment.decided_by?;
            bounds
                .iter()
                .find(|(c, at)| {
                    at > &parsed
                        && matches!(c.comparator, Comparator::Less | Comparator::LessOrEqual)
                })
                .map(|(c, _)| *c)
        });
        (containment.decided_by, bounded_by)
    } else {
        // Outside every interval: the last bound at or below the version (the interval it
        // closed), else the first bound above it.
        let excluded_by = containment.decided_by.or_else(|| {
            bounds
                .iter()
                .rev()
                .find(|(_, at)| at <= &parsed)
                .or_else(|| bounds.first())
                .map(|(c, _)| *c)
        });
        (excluded_by, None)
    };
    Ok(Verdict {
        affected: containment.contained,
        decided_by: decided_by.map(ToString::to_string),
        bounded_by: bounded_by.map(ToString::to_string),
    })
}

/// The `<`, `<=`, `>`, `>=` constraints of a canonical range with their parsed versions, in
/// version order.
fn range_bounds(scheme: Scheme, constraints: &[Constraint]) -> Vec<(&Constraint, Version)> {
    constraints
        .iter()
        .filter(|c| !matches!(c.comparator, Comparator::Equal | Comparator::NotEqual))
        .filter_map(|c| Some((c, scheme.parse(&c.version).ok()?)))
        .collect()
}

/// Evaluates an OSV range object; `None` for a `GIT` range, which cannot be evaluated.
fn check_osv(scheme: Scheme, version: &str, range: &str) -> Result<Option<Verdict>, UsageError> {
    let invalid = |reason: String| UsageError(format!("invalid OSV range {range:?}: {reason}"));
    let value: serde_json::Value =
        serde_json::from_str(range).map_err(|error| invalid(error.to_string()))?;
    let kind = value["type"]
        .as_str()
        .ok_or_else(|| invalid("missing \"type\"".to_string()))?;
    let kind = RangeKind::parse(kind)?;
    let events = value["events"]
        .as_array()
        .ok_or_else(|| invalid("missing \"events\" array".to_string()))?
        .iter()
        .map(|event| {
            let object = event
                .as_object()
                .filter(|object| object.len() == 1)
                .ok_or_else(|| invalid(format!("event {event} is not a one-field object")))?;
            let (name, at) = object.iter().next().expect("one field");
            let at = at
                .as_str()
                .ok_or_else(|| invalid(format!("event {event} has no string version")))?;
            Ok(RawEvent::new(EventKind::parse(name)?, at))
        })
        .collect::<Result<Vec<_>, UsageError>>()?;
    let compiled = CompiledRange::compile(kind, kind.scheme(scheme), events)?;
    let (affected, evidence) = match compiled.evaluate_str(version)? {
        RangeOutcome::NotEvaluated => return Ok(None),
        RangeOutcome::Affected(evidence) => (true, evidence),
        RangeOutcome::NotAffected(evidence) => (false, evidence),
    };
    Ok(Some(Verdict {
        affected,
        decided_by: evidence.decided_by.map(|event| event.to_string()),
        bounded_by: evidence.bounded_by.map(|event| event.to_string()),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_sort_is_stable_and_survives_an_inconsistent_order() {
        let sorted = merge_sort_by(vec![(2, 'a'), (1, 'b'), (2, 'c'), (1, 'd')], |x, y| {
            x.0.cmp(&y.0)
        });
        assert_eq!(sorted, vec![(1, 'b'), (1, 'd'), (2, 'a'), (2, 'c')]);

        // Rock, paper, scissors: no order exists; the sort must still return every item.
        let cyclic = |x: &u8, y: &u8| match (x, y) {
            _ if x == y => Ordering::Equal,
            (0, 1) | (1, 2) | (2, 0) => Ordering::Less,
            _ => Ordering::Greater,
        };
        let items: Vec<u8> = (0..300).map(|i| (i * 7 % 3) as u8).collect();
        let mut sorted = merge_sort_by(items.clone(), cyclic);
        sorted.sort_unstable();
        let mut expected = items;
        expected.sort_unstable();
        assert_eq!(sorted, expected);
        assert!(merge_sort_by(Vec::<u8>::new(), cyclic).is_empty());
    }
}
