#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart_formats::sbom::parse_cyclonedx_xml;

// Any input must give a document or an error, never a panic; a parsed document's parent
// links must point inside it.
fuzz_target!(|data: &[u8]| {
    if let Ok(sbom) = parse_cyclonedx_xml(data) {
        let count = sbom.components.len();
        assert!(sbom.components.iter().all(|c| c.parent.is_none_or(|p| p < count)));
    }
});
