#![no_main]
//! Package URLs, strict and lenient (what SBOM components, alerts and `/v1/query` read): whatever parses serialises to a purl that parses back equal.

use libfuzzer_sys::fuzz_target;
use rampart_versions::purl::{Purl, Strictness};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for strictness in [Strictness::Strict, Strictness::Lenient] {
        if let Ok(purl) = Purl::parse_with(text, strictness) {
            let canonical = purl.to_string();
            let reparsed =
                Purl::parse_with(&canonical, strictness).expect("canonical purl must re-parse");
            assert_eq!(reparsed, purl, "{canonical}");
            let _ = purl.osv_package();
        }
    }
});
