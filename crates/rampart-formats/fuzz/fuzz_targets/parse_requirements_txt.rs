#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart_formats::lockfile::{detect, parse_lockfile, LockfileKind};

// Any input must give packages or an error, never a panic; every package must be named,
// versioned, of the format's ecosystem and carry a purl.
fuzz_target!(|data: &[u8]| {
    let kind = LockfileKind::RequirementsTxt;
    let _ = detect(kind.file_name(), data);
    let _ = detect("-", data);
    if let Ok(lockfile) = parse_lockfile(kind, data) {
        for package in &lockfile.packages {
            assert_eq!(package.ecosystem, kind.ecosystem());
            assert!(!package.name.is_empty() && !package.version.is_empty());
            assert!(package.purl.starts_with("pkg:"));
        }
    }
});
