//! The in-memory match index on the whole OSV corpus in the shared test data (`osv-pypa`,
//! `osv-oss-fuzz-vulns`, `rustsec-advisory-db/osv`): the heap it holds per affected entry
//! and per range, and lookup time. A plain binary (`harness = false`) with a counting global
//! allocator:
//!
//! ```sh
//! cargo bench -p rampart-core --bench match_index
//! MATCH_INDEX_SCALE=500000 cargo bench -p rampart-core --bench match_index   # the scale run's
//! ```
//!
//! The records are parsed first (they are not part of the index); the live heap is read
//! before the index is built and again after, with the build's inputs consumed, so the
//! difference is what the built index keeps. The same records go in as the server's index
//! rebuild gives them (one input per `affected[]` entry).

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicIsize, Ordering};

use rampart_core::match_index::{AffectedInput, MatchIndex};
use rampart_formats::advisory::{parse_osv_json, parse_osv_yaml, Advisory};

struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const CORPORA: &[&str] = &["osv-pypa", "osv-oss-fuzz-vulns", "rustsec-advisory-db/osv"];

fn data_root() -> Option<PathBuf> {
    let path = match std::env::var_os("RAMPART_TEST_DATA") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
    };
    path.is_dir().then_some(path)
}

fn files(root: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files(&path, out);
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("json" | "yaml" | "yml")
        ) {
            out.push(path);
        }
    }
}

fn inputs(advisories: &[Advisory]) -> impl Iterator<Item = AffectedInput> + '_ {
    advisories.iter().enumerate().flat_map(|(index, advisory)| {
        advisory.affected.iter().filter_map(move |affected| {
            let package = affected.package.as_ref()?;
            Some(AffectedInput {
                vulnerability_id: index as i64,
                vuln_id: advisory.id.clone(),
                modified: advisory.modified,
                withdrawn: advisory.withdrawn.is_some(),
                informational: advisory.informational(),
                ecosystem: package.ecosystem.clone(),
                name: package.name.clone(),
                ranges: affected.ranges.clone(),
                versions: affected.versions.clone(),
            })
        })
    })
}

fn main() {
    let Some(root) = data_root() else {
        eprintln!("skipping: no test data (set RAMPART_TEST_DATA)");
        return;
    };
    let mut advisories = Vec::new();
    // Where the scale run's corpora (PyPA and RustSec) start and end in `advisories`.
    let mut scale_corpora = Vec::new();
    for corpus in CORPORA {
        let start = advisories.len();
        let mut paths = Vec::new();
        files(&root.join(corpus), &mut paths);
        for path in paths {
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            let yaml = path.extension().is_some_and(|e| e != "json");
            let report = if yaml {
                parse_osv_yaml(&bytes)
            } else {
                parse_osv_json(&bytes)
            };
            if let Ok(report) = report {
                advisories.extend(report.records);
            }
        }
        if *corpus != "osv-oss-fuzz-vulns" {
            scale_corpora.push(start..advisories.len());
        }
    }
    if let Some(scale) = std::env::var("MATCH_INDEX_SCALE")
        .ok()
        .and_then(|n| n.parse::<usize>().ok())
    {
        let base: Vec<&Advisory> = scale_corpora
            .into_iter()
            .flat_map(|range| &advisories[range])
            .collect();
        scaled(&base, scale);
        return;
    }
    let before = LIVE.load(Ordering::Relaxed);
    let index = MatchIndex::build(1, inputs(&advisories), std::iter::empty());
    let after = LIVE.load(Ordering::Relaxed);
    let bytes = (after - before).max(0) as f64;
    let stats = index.stats();
    println!(
        "{} advisories; index: {} packages, {} affected entries, {} ranges ({} entries without compiled ranges)",
        advisories.len(),
        stats.packages,
        stats.affected_entries,
        stats.ranges,
        stats.uncompiled_entries
    );
    println!(
        "index heap {:.2} MiB: {:.0} bytes per affected entry, {:.0} bytes per range",
        bytes / (1024.0 * 1024.0),
        bytes / stats.affected_entries.max(1) as f64,
        bytes / stats.ranges.max(1) as f64
    );
    // Where the bytes go: explicit `versions` lists (kept once per package).
    let (listed, listed_bytes) = advisories
        .iter()
        .filter(|a| a.withdrawn.is_none())
        .flat_map(|a| &a.affected)
        .filter(|affected| affected.package.is_some())
        .flat_map(|affected| &affected.versions)
        .fold((0usize, 0usize), |(n, bytes), v| (n + 1, bytes + v.len()));
    println!(
        "explicit versions listed: {listed} ({:.0} per entry), {:.2} MiB of text as parsed",
        listed as f64 / stats.affected_entries.max(1) as f64,
        listed_bytes as f64 / (1024.0 * 1024.0),
    );
    println!(
        "size_of::<rampart_versions::Version>() = {} bytes",
        std::mem::size_of::<rampart_versions::Version>()
    );
    lookups(&advisories, &index);
    drop(index);

    // The same entries without their explicit `versions` lists: what the ranges cost.
    let before = LIVE.load(Ordering::Relaxed);
    let ranges_only = MatchIndex::build(
        1,
        inputs(&advisories).map(|mut input| {
            input.versions.clear();
            input
        }),
        std::iter::empty(),
    );
    let bytes = (LIVE.load(Ordering::Relaxed) - before).max(0) as f64;
    println!(
        "without the versions lists: index heap {:.2} MiB, {:.0} bytes per affected entry",
        bytes / (1024.0 * 1024.0),
        bytes / ranges_only.stats().affected_entries.max(1) as f64
    );
}
/// The scale run's knowledge base (BENCHMARKS.md, "Scale run"): the PyPA and RustSec records
/// copied until there are `advisories` of them, copy `k` with `-s<k>` after every id and
/// package name (copy 0 the originals), so that copies share no package; indexed as one. Its
/// heap per range is the exact in-memory figure of issue 21's "index ≤ 1 KB per affected
/// range" at that scale. The copies are made as the build consumes them.
fn scaled(base: &[&Advisory], advisories: usize) {
    scaled_index(base, advisories, true);
    scaled_index(base, advisories, false);
}

/// [`scaled`]'s index, with the entries' explicit `versions` lists or without them (what the
/// ranges and the rest cost).
fn scaled_index(base: &[&Advisory], advisories: usize, with_versions: bool) {
    let copies = advisories.div_ceil(base.len().max(1));
    let inputs = (0..copies).flat_map(|copy| {
        let suffix = move |text: &str| match copy {
            0 => text.to_string(),
            k => format!("{text}-s{k}"),
        };
        base.iter()
            .enumerate()
            .take(advisories - copy * base.len())
            .flat_map(move |(index, advisory)| {
                advisory.affected.iter().filter_map(move |affected| {
                    let package = affected.package.as_ref()?;
                    Some(AffectedInput {
                        vulnerability_id: (copy * base.len() + index) as i64,
                        vuln_id: suffix(&advisory.id),
                        modified: advisory.modified,
                        withdrawn: advisory.withdrawn.is_some(),
                        informational: advisory.informational(),
                        ecosystem: package.ecosystem.clone(),
                        name: suffix(&package.name),
                        ranges: affected.ranges.clone(),
                        versions: if with_versions {
                            affected.versions.clone()
                        } else {
                            Vec::new()
                        },
                    })
                })
            })
    });
    let before = LIVE.load(Ordering::Relaxed);
    let started = std::time::Instant::now();
    let index = MatchIndex::build(1, inputs, std::iter::empty());
    let elapsed = started.elapsed();
    let bytes = (LIVE.load(Ordering::Relaxed) - before).max(0) as f64;
    let stats = index.stats();
    println!(
        "scale{}: {advisories} advisories ({} base records, {copies} copies); index: {} packages, {} affected entries, {} ranges; built in {:.1} s",
        if with_versions { "" } else { " without the versions lists" },
        base.len(),
        stats.packages,
        stats.affected_entries,
        stats.ranges,
        elapsed.as_secs_f64()
    );
    println!(
        "scale{}: index heap {:.1} MiB: {:.0} bytes per affected entry, {:.0} bytes per range",
        if with_versions {
            ""
        } else {
            " without the versions lists"
        },
        bytes / (1024.0 * 1024.0),
        bytes / stats.affected_entries.max(1) as f64,
        bytes / stats.ranges.max(1) as f64
    );
}

/// Lookup time: 10,000 purls of real (package, listed version) pairs of the PyPI and
/// crates.io records, every one an affected version (the worst case: ~3 matches each, each
/// with its evidence and fixed versions), looked up one by one as an SBOM analysis does;
/// median and 90th percentile of 30 rounds.
fn lookups(advisories: &[Advisory], index: &MatchIndex) {
    use rampart_versions::{Ecosystem, Purl};
    let mut purls = std::collections::BTreeSet::new();
    for a in advisories {
        for af in &a.affected {
            let Some(p) = &af.package else { continue };
            let Ok(eco) = Ecosystem::parse(&p.ecosystem) else {
                continue;
            };
            if !matches!(p.ecosystem.as_str(), "PyPI" | "crates.io") {
                continue;
            }
            for v in &af.versions {
                if let Ok(Some(purl)) = Purl::from_osv(&eco, &p.name, Some(v)) {
                    purls.insert(purl.to_string());
                }
            }
        }
    }
    let purls: Vec<String> = purls.into_iter().collect();
    let ten_k: Vec<&String> = (0..10_000).map(|i| &purls[i % purls.len()]).collect();
    let mut times = Vec::new();
    let mut matches = 0;
    for _ in 0..30 {
        let start = std::time::Instant::now();
        matches = 0;
        for purl in &ten_k {
            matches += index.query_purl(purl, None).map_or(0, |m| m.len());
        }
        times.push(start.elapsed());
    }
    times.sort();
    println!(
        "lookup 10k purls: p50 {:?} p90 {:?} ({matches} matches)",
        times[15], times[27]
    );
}
