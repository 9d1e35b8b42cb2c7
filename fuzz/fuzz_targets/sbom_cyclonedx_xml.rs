#![no_main]
//! The cyclonedx_xml SBOM parser on its own (the `sbom` target reaches it through detection).

use libfuzzer_sys::fuzz_target;
use rampart_formats::sbom::parse_cyclonedx_xml;

fuzz_target!(|data: &[u8]| {
    rampart_fuzz::check_sbom(parse_cyclonedx_xml(data));
});
