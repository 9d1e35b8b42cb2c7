#![no_main]
//! OSV YAML records (PyPA, OSS-Fuzz feeds): every skipped record says why.

use libfuzzer_sys::fuzz_target;
use rampart_formats::advisory::parse_osv_yaml;

fuzz_target!(|data: &[u8]| {
    if let Ok(report) = parse_osv_yaml(data) {
        assert!(report.skipped.iter().all(|s| !s.reason.is_empty()));
    }
});
