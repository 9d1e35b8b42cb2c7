#![no_main]
//! VEX import and `rampart vex convert`: format detected (OpenVEX, CycloneDX JSON or XML, CSAF), read, then written in every format.

use libfuzzer_sys::fuzz_target;
use rampart_formats::vex;

fuzz_target!(|data: &[u8]| {
    let _ = vex::detect(data);
    rampart_fuzz::check_vex(vex::read(data));
});
