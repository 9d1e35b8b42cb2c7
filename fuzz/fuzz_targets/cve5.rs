#![no_main]
//! CVE JSON 5 records (a cvelistV5 tree read as an OSV/GHSA source): detection then parsing, as the feed reader does.

use libfuzzer_sys::fuzz_target;
use rampart_formats::advisory::{is_cve5_json, parse_cve5_json};

fuzz_target!(|data: &[u8]| {
    let _ = is_cve5_json(data);
    if let Ok(report) = parse_cve5_json(data) {
        assert!(report.records.iter().all(|r| !r.cve_id.is_empty()));
    }
});
