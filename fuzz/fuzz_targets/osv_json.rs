#![no_main]
//! OSV JSON records (OSV and GHSA feeds, `rampart scan --server` answers): any score computed lies on the CVSS scale.

use libfuzzer_sys::fuzz_target;
use rampart_formats::advisory::{parse_osv_json, Advisory};

fuzz_target!(|data: &[u8]| {
    if let Ok(report) = parse_osv_json(data) {
        report.records.iter().for_each(check_scores);
    }
});

fn check_scores(advisory: &Advisory) {
    for severity in advisory
        .severity
        .iter()
        .chain(advisory.affected.iter().flat_map(|a| a.severity.iter()))
    {
        if let Some(score) = severity.computed {
            assert!((0.0..=10.0).contains(&score.base_score));
        }
    }
}
