use std::path::PathBuf;

/// Root of the shared test data: `RAMPART_TEST_DATA`, else `../shared/data` beside the
/// repository. `None` (with a printed reason) when absent, unless
/// `RAMPART_REQUIRE_TEST_DATA=1`, in which case the calling test fails.
pub(crate) fn root() -> Option<PathBuf> {
    let path = match std::env::var_os("RAMPART_TEST_DATA") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
    };
    existing(path, "test data")
}

/// `relative` inside the shared test data, when both are there. A missing sub-folder is
/// treated like missing data: it fails the test under `RAMPART_REQUIRE_TEST_DATA=1`, and is
/// skipped with a printed reason otherwise.
pub(crate) fn corpus(relative: &str) -> Option<PathBuf> {
    existing(root()?.join(relative), "test corpus")
}

fn existing(path: PathBuf, what: &str) -> Option<PathBuf> {
    if path.is_dir() {
        return Some(path);
    }
    if std::env::var("RAMPART_REQUIRE_TEST_DATA").as_deref() == Ok("1") {
        panic!(
            "{what} not found at {} and RAMPART_REQUIRE_TEST_DATA=1",
            path.display()
        );
    }
    eprintln!(
        "skipping: {what} not found at {} (set RAMPART_TEST_DATA)",
        path.display()
    );
    None
}
