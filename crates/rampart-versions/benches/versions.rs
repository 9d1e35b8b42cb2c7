//! Parse and comparison rates per version scheme, on the version strings of the peers'
//! ordering fixtures (read from the shared test data at run time). A plain binary
//! (`harness = false`) timed with `std::time`, so it needs no benchmark framework:
//!
//! ```sh
//! nice -n 10 cargo bench -p rampart-versions --bench versions
//! ```
//!
//! Each figure is the best of several samples of at least [`SAMPLE`], one thread, per second
//! of the thread's own CPU time (the machine is shared, so wall time would also count other
//! processes' turns). Parsing
//! includes dropping the parsed version. Comparisons run over the fixture lines' own pairs
//! (near-ties, the hard case), pre-parsed. OSV range evaluation evaluates every pre-parsed
//! version against one `ECOSYSTEM` range of six events (three affected intervals, one closed
//! by `last_affected`) whose versions are taken from the same strings.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use rampart_versions::range::{EventKind, RawEvent};
use rampart_versions::{CompiledRange, RangeKind, Scheme, Version};

const SAMPLE: Duration = Duration::from_millis(150);
const SAMPLES: usize = 5;
const FIXTURES: &str = "peer-tests/osv-scalibr-semantic/semantic/testdata";

/// The fixture files whose versions each scheme is measured on.
const WORKLOADS: &[(Scheme, &[&str])] = &[
    (Scheme::Semver, &["semver-versions.txt"]),
    (Scheme::Npm, &["semver-versions.txt"]),
    (Scheme::Go, &["semver-versions.txt"]),
    (Scheme::Pub, &["pub-versions.txt"]),
    (
        Scheme::Pep440,
        &["pypi-versions.txt", "pypi-versions-generated.txt"],
    ),
    (
        Scheme::Maven,
        &["maven-versions.txt", "maven-versions-generated.txt"],
    ),
    (Scheme::NuGet, &["nuget-versions.txt"]),
    (
        Scheme::RubyGems,
        &["rubygems-versions.txt", "rubygems-versions-generated.txt"],
    ),
    (
        Scheme::Composer,
        &["packagist-versions.txt", "packagist-versions-generated.txt"],
    ),
    (
        Scheme::Dpkg,
        &["debian-versions.txt", "debian-versions-generated.txt"],
    ),
    (Scheme::Rpm, &["redhat-versions.txt"]),
    (
        Scheme::Apk,
        &["alpine-versions.txt", "alpine-versions-generated.txt"],
    ),
    (
        Scheme::Cran,
        &["cran-versions.txt", "cran-versions-generated.txt"],
    ),
    (Scheme::Hackage, &["hackage-versions.txt"]),
    (
        Scheme::Generic,
        &[
            "semver-versions.txt",
            "maven-versions.txt",
            "pypi-versions.txt",
        ],
    ),
];

fn data_root() -> Option<PathBuf> {
    let path = match std::env::var_os("RAMPART_TEST_DATA") {
        Some(path) => PathBuf::from(path),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
    };
    path.is_dir().then_some(path)
}

/// The `(left, right)` pairs of a fixture file's comparison lines.
fn fixture_pairs(root: &std::path::Path, file: &str) -> Vec<(String, String)> {
    let path = root.join(FIXTURES).join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()));
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#') && !line.starts_with("//"))
        .filter_map(
            |line| match line.split_whitespace().collect::<Vec<_>>()[..] {
                [left, _, right] => Some((left.to_string(), right.to_string())),
                _ => None,
            },
        )
        .collect()
}

/// Nanoseconds this thread has spent on a CPU (Linux schedstat), so that other processes
/// competing for the cores do not count; `None` elsewhere.
fn thread_cpu_nanos() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Operations per second, per second of this thread's CPU time (wall time where that is
/// unavailable) and per second of wall time.
#[derive(Clone, Copy, Default)]
struct Rate {
    cpu: f64,
    wall: f64,
}

impl std::fmt::Display for Rate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:.2} M/s ({:.2})", self.cpu / 1e6, self.wall / 1e6)
    }
}

/// Best rates over [`SAMPLES`] samples; `round` does `ops` operations.
fn best_rate(ops: usize, mut round: impl FnMut()) -> Rate {
    let mut best = Rate::default();
    for _ in 0..SAMPLES {
        let cpu_start = thread_cpu_nanos();
        let start = Instant::now();
        let mut done = 0usize;
        while start.elapsed() < SAMPLE {
            round();
            done += ops;
        }
        let wall = start.elapsed().as_secs_f64();
        let seconds = match (cpu_start, thread_cpu_nanos()) {
            (Some(begin), Some(end)) if end > begin => (end - begin) as f64 / 1e9,
            _ => wall,
        };
        best.cpu = best.cpu.max(done as f64 / seconds);
        best.wall = best.wall.max(done as f64 / wall);
    }
    best
}

/// `introduced`, `fixed`, `introduced`, `last_affected`, `introduced`, `fixed` at versions
/// spread over `texts` (the range sorts them by version itself).
fn six_event_range(scheme: Scheme, texts: &[String]) -> CompiledRange {
    let kinds = [
        EventKind::Introduced,
        EventKind::Fixed,
        EventKind::Introduced,
        EventKind::LastAffected,
        EventKind::Introduced,
        EventKind::Fixed,
    ];
    let events = kinds.iter().enumerate().map(|(index, kind)| {
        RawEvent::new(
            *kind,
            texts[texts.len() * (index + 1) / (kinds.len() + 1)].clone(),
        )
    });
    CompiledRange::compile(RangeKind::Ecosystem, scheme, events).expect("versions parse")
}

fn main() {
    // `cargo bench -- <filter>` passes the filter (and `--bench`) through.
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with("--"))
        .collect();
    let Some(root) = data_root() else {
        eprintln!("shared test data not found; set RAMPART_TEST_DATA");
        return;
    };

    println!("Rates per CPU-second of the benchmark thread (per wall-clock second in brackets).");
    println!();
    println!(
        "| Scheme | Versions | Pairs | Parses/s | Comparisons/s (pre-parsed) | OSV range evaluations/s |"
    );
    println!("|---|---|---|---|---|---|");
    for (scheme, files) in WORKLOADS {
        if !filter.is_empty() && !filter.iter().any(|f| scheme.name().eq_ignore_ascii_case(f)) {
            continue;
        }
        let pairs: Vec<(Version, Version)> = files
            .iter()
            .flat_map(|file| fixture_pairs(&root, file))
            .filter_map(|(left, right)| {
                Some((scheme.parse(&left).ok()?, scheme.parse(&right).ok()?))
            })
            .collect();
        let mut texts: Vec<String> = files
            .iter()
            .flat_map(|file| fixture_pairs(&root, file))
            .flat_map(|(left, right)| [left, right])
            .filter(|text| scheme.parse(text).is_ok())
            .collect();
        texts.sort();
        texts.dedup();

        let parses = best_rate(texts.len(), || {
            for text in &texts {
                black_box(scheme.parse(black_box(text)).ok());
            }
        });
        let comparisons = best_rate(pairs.len(), || {
            for (left, right) in &pairs {
                black_box(black_box(left).cmp(black_box(right)));
            }
        });
        let range = six_event_range(*scheme, &texts);
        let versions: Vec<Version> = texts
            .iter()
            .map(|text| scheme.parse(text).expect("kept because it parses"))
            .collect();
        let evaluations = best_rate(versions.len(), || {
            for version in &versions {
                black_box(range.evaluate(black_box(version)).ok());
            }
        });
        println!(
            "| {} | {} | {} | {} | {} | {} |",
            scheme.name(),
            texts.len(),
            pairs.len(),
            parses,
            comparisons,
            evaluations
        );
    }
}
