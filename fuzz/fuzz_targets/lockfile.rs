#![no_main]
//! `rampart scan` on a lockfile: recognised by file name (the first byte picks one of `LOCKFILE_NAMES`, `-` meaning by content), then parsed. Covers Cargo.lock, package-lock.json, requirements.txt, poetry.lock, go.sum, go.mod and Gemfile.lock.

use libfuzzer_sys::fuzz_target;
use rampart_fuzz::{check_lockfile, select, LOCKFILE_NAMES};

fuzz_target!(|data: &[u8]| {
    if let Some((name, bytes)) = select(LOCKFILE_NAMES, data) {
        check_lockfile(name, bytes);
    }
});
