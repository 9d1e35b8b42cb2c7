#![no_main]
//! CPE 2.3 names (formatted string and URI binding): whatever parses formats to a name that parses back equal, and matching a name against itself never panics.

use libfuzzer_sys::fuzz_target;
use rampart_versions::cpe::Cpe;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(cpe) = Cpe::parse(text) {
        let formatted = cpe.to_string();
        let reparsed = Cpe::parse(&formatted).expect("formatted CPE must re-parse");
        assert_eq!(reparsed, cpe, "{formatted}");
        let _ = cpe.matches(&reparsed);
    }
});
