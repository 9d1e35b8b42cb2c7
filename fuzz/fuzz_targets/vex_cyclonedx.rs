#![no_main]
//! CycloneDX VEX (the first byte picks JSON or XML), then written in every format.

use libfuzzer_sys::fuzz_target;
use rampart_formats::vex::{self, VexFormat};

fuzz_target!(|data: &[u8]| {
    let Some((format, bytes)) =
        rampart_fuzz::select(&[VexFormat::CycloneDxJson, VexFormat::CycloneDxXml], data)
    else {
        return;
    };
    rampart_fuzz::check_vex(vex::read_as(bytes, format));
});
