#![no_main]
//! OpenVEX read as the import does once the format is known, then written in every format.

use libfuzzer_sys::fuzz_target;
use rampart_formats::vex::{self, VexFormat};

fuzz_target!(|data: &[u8]| {
    rampart_fuzz::check_vex(vex::read_as(data, VexFormat::OpenVex));
});
