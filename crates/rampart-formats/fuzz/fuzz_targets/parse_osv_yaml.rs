#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart_formats::advisory::parse_osv_yaml;

fuzz_target!(|data: &[u8]| {
    if let Ok(report) = parse_osv_yaml(data) {
        // Every skipped record says why.
        assert!(report.skipped.iter().all(|s| !s.reason.is_empty()));
    }
});
