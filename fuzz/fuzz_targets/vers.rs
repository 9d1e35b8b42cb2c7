#![no_main]
//! vers ranges: parsing, normalising, simplifying and containment never panic; a syntactically valid range re-parses from its own serialisation.

use libfuzzer_sys::fuzz_target;
use rampart_versions::vers::VersRange;
use rampart_versions::Scheme;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = VersRange::parse(text);
    if let Ok(range) = VersRange::parse_syntax(text) {
        let reparsed =
            VersRange::parse_syntax(&range.to_string()).expect("serialised vers must re-parse");
        assert_eq!(reparsed, range);
        if let Ok(simplified) = range.simplified(Scheme::Generic) {
            if let Ok(compiled) = simplified.compile(Scheme::Generic) {
                let _ = compiled.contains_str("1.0");
            }
        }
    }
});
