#![no_main]
//! Any input either fails to parse or yields a purl whose canonical string re-parses to the
//! same purl (serialisation is a fixed point).

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
