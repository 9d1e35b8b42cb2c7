//! Throughput of the hot paths on real data, for `BENCHMARKS.md`. Ignored by default: run
//! with an optimised build (see `BENCHMARKS.md` for the command).

use std::hint::black_box;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::cpe::{Cpe, CpeMatchCriteria};
use crate::range::{AffectedOutcome, CompiledAffected, EventKind, RangeKind, RawEvent};
use crate::{Ecosystem, Purl, Version};

/// Best wall time of `runs` executions of `work`.
fn best_of(runs: usize, mut work: impl FnMut()) -> Duration {
    (0..runs)
        .map(|_| {
            let start = Instant::now();
            work();
            start.elapsed()
        })
        .min()
        .unwrap_or_default()
}

fn per_item(total: Duration, items: usize) -> f64 {
    total.as_nanos() as f64 / items.max(1) as f64
}

#[test]
#[ignore = "benchmark; run explicitly with an optimised build"]
fn throughput() {
    let Some(affected) = crate::range::tests::real_osv_affected() else {
        return;
    };

    // OSV ranges: compile every real affected entry, then evaluate each at its own event
    // versions (pre-parsed, as a match index would hold scanned versions).
    let mut entries: Vec<(CompiledAffected, Vec<Version>)> = Vec::new();
    let compile_time = best_of(5, || {
        entries.clear();
        for entry in &affected {
            let Ok(ecosystem) =
                Ecosystem::parse(entry["package"]["ecosystem"].as_str().unwrap_or(""))
            else {
                continue;
            };
            let mut probes = Vec::new();
            let mut ranges = Vec::new();
            for raw in entry["ranges"].as_array().into_iter().flatten() {
                let Ok(kind) = RangeKind::parse(raw["type"].as_str().unwrap_or("")) else {
                    continue;
                };
                let events: Vec<RawEvent> = raw["events"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|e| {
                        let (name, version) = e.as_object()?.iter().next()?;
                        Some(RawEvent::new(
                            EventKind::parse(name).ok()?,
                            version.as_str()?,
                        ))
                    })
                    .collect();
                probes.extend(
                    events
                        .iter()
                        .filter(|e| e.version != "0")
                        .filter_map(|e| ecosystem.scheme().parse(&e.version).ok()),
                );
                ranges.push((kind, events));
            }
            let versions = entry["versions"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect();
            if let Ok(compiled) = CompiledAffected::compile(&ecosystem, ranges, versions) {
                entries.push((compiled, probes));
            }
        }
    });
    let evaluations: usize = entries.iter().map(|(_, probes)| probes.len()).sum();
    let mut affected_count = 0;
    let evaluate_time = best_of(20, || {
        affected_count = 0;
        for (entry, probes) in &entries {
            for probe in probes {
                if let Ok(AffectedOutcome::Affected(_)) = black_box(entry.evaluate(probe)) {
                    affected_count += 1;
                }
            }
        }
    });
    eprintln!(
        "OSV: compiled {} affected entries (events read from JSON values) in {:.2} ms ({:.0} ns each); {} evaluations, {:.0} ns each ({} affected)",
        entries.len(),
        compile_time.as_secs_f64() * 1e3,
        per_item(compile_time, entries.len()),
        evaluations,
        per_item(evaluate_time, evaluations),
        affected_count
    );

    // purl: parse and re-serialise every purl in the real OSV records.
    let purls: Vec<&str> = affected
        .iter()
        .filter_map(|entry| entry["package"]["purl"].as_str())
        .collect();
    let purl_time = best_of(20, || {
        for text in &purls {
            if let Ok(purl) = black_box(Purl::parse_lenient(text)) {
                black_box(purl.to_string());
            }
        }
    });
    eprintln!(
        "purl: {} parse+serialise, {:.0} ns each",
        purls.len(),
        per_item(purl_time, purls.len())
    );

    // CPE: every NVD match criteria of the recorded 2023 page against every listed name of
    // the Match Criteria API response (most pairs differ in vendor or product).
    let Some(root) = rampart_test_data::root() else {
        return;
    };
    let responses = root.join("nvd-cve-api-2.0/pablotron-nvd-go/responses");
    let page: Value =
        serde_json::from_str(&std::fs::read_to_string(responses.join("cves-2023.json")).unwrap())
            .unwrap();
    let mut criteria = Vec::new();
    for vulnerability in page["vulnerabilities"].as_array().into_iter().flatten() {
        for configuration in vulnerability["cve"]["configurations"]
            .as_array()
            .into_iter()
            .flatten()
        {
            for node in configuration["nodes"].as_array().into_iter().flatten() {
                for entry in node["cpeMatch"].as_array().into_iter().flatten() {
                    let field = |name: &str| entry[name].as_str();
                    let Ok(name) = Cpe::parse(field("criteria").unwrap_or("")) else {
                        continue;
                    };
                    if let Ok(c) = CpeMatchCriteria::new(
                        name,
                        crate::Scheme::Generic,
                        field("versionStartIncluding"),
                        field("versionStartExcluding"),
                        field("versionEndIncluding"),
                        field("versionEndExcluding"),
                    ) {
                        criteria.push(c);
                    }
                }
            }
        }
    }
    let cpematch: Value = serde_json::from_str(
        &std::fs::read_to_string(responses.join("cpematch-CVE-2022-32223.json")).unwrap(),
    )
    .unwrap();
    let targets: Vec<Cpe> = cpematch["matchStrings"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|m| m["matchString"]["matches"].as_array().into_iter().flatten())
        .filter_map(|m| Cpe::parse(m["cpeName"].as_str()?).ok())
        .collect();
    // Pair each criteria with a target of its own product too, so range checks run.
    let own: Vec<Cpe> = criteria
        .iter()
        .map(|c| {
            c.criteria()
                .with_version(crate::cpe::CpeValue::literal("1.0"))
        })
        .collect();
    let pairs = criteria.len() * (targets.len() + 1);
    let cpe_time = best_of(10, || {
        for (c, own_target) in criteria.iter().zip(&own) {
            black_box(c.matches(own_target));
            for target in &targets {
                black_box(c.matches(target));
            }
        }
    });
    eprintln!(
        "CPE: {} criteria x {} names, {:.0} ns per match",
        criteria.len(),
        targets.len() + 1,
        per_item(cpe_time, pairs)
    );
}
