#![no_main]
//! SBOM upload and `rampart scan` of an SBOM: format detected from content (CycloneDX JSON or XML, SPDX JSON or tag-value, UTF-16 looked through), then parsed.

use libfuzzer_sys::fuzz_target;
use rampart_formats::sbom;

fuzz_target!(|data: &[u8]| {
    let _ = sbom::detect(data);
    rampart_fuzz::check_sbom(sbom::parse(data));
});
