#![no_main]
//! NVD API 2.0: a page as the sync reads it (paging must move forward), a feed document of CVEs, and a single CVE item.

use libfuzzer_sys::fuzz_target;
use rampart_formats::advisory::{parse_nvd_cve_item, parse_nvd_cves, parse_nvd_page};

fuzz_target!(|data: &[u8]| {
    if let Ok(page) = parse_nvd_page(data) {
        let seen = page.advisories.records.len() + page.advisories.skipped.len();
        assert_eq!(seen as u64, page.entries_on_page);
        if let Some(next) = page.next_start_index() {
            assert!(next > page.start_index);
        }
    }
    let _ = parse_nvd_cves(data);
    let _ = parse_nvd_cve_item(data);
});
