#![no_main]
//! CISA KEV catalog, JSON and CSV.

use libfuzzer_sys::fuzz_target;
use rampart_formats::advisory::{parse_kev_csv, parse_kev_json};

fuzz_target!(|data: &[u8]| {
    if let Ok(catalog) = parse_kev_json(data) {
        assert!(catalog
            .entries
            .records
            .iter()
            .all(|entry| entry.cve_id.starts_with("CVE-")));
    }
    let _ = parse_kev_csv(data);
});
