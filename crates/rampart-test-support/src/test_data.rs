//! The shared, read-only test data (`../shared/data` beside the repository, or
//! `RAMPART_TEST_DATA`): real advisories, SBOMs, SARIF. Read at test time, never copied.

use std::path::PathBuf;

/// The data root, or `None` with a printed reason when absent; panics instead when
/// `RAMPART_REQUIRE_TEST_DATA=1` (CI), so a missing corpus can never pass silently.
pub fn root() -> Option<PathBuf> {
    let path = match std::env::var_os("RAMPART_TEST_DATA") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
    };
    if path.is_dir() {
        return Some(path);
    }
    if std::env::var("RAMPART_REQUIRE_TEST_DATA").as_deref() == Ok("1") {
        panic!(
            "test data not found at {} and RAMPART_REQUIRE_TEST_DATA=1",
            path.display()
        );
    }
    eprintln!(
        "skipping: test data not found at {} (set RAMPART_TEST_DATA)",
        path.display()
    );
    None
}
