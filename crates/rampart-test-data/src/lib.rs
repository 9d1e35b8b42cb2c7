//! The shared, read-only test data: real advisories, SBOMs, SARIF, peers' fixtures, at
//! `RAMPART_TEST_DATA` or else `../shared/data` beside the repository. Read at test time,
//! never copied into the repository. Every crate's tests find it here (a dev-dependency).
//!
//! No silent skip: when the data is absent a test may skip (with a printed reason), unless
//! `RAMPART_REQUIRE_TEST_DATA=1` (CI), where the calling test fails instead, so a missing
//! corpus can never pass as a green test.

#[cfg(feature = "format-checks")]
pub mod format_checks;

use std::ffi::OsString;
use std::path::PathBuf;

const DATA_VAR: &str = "RAMPART_TEST_DATA";
const REQUIRE_VAR: &str = "RAMPART_REQUIRE_TEST_DATA";

/// The data root, or `None` with a printed reason when absent; panics instead when
/// `RAMPART_REQUIRE_TEST_DATA=1`.
pub fn root() -> Option<PathBuf> {
    existing(
        configured_root(std::env::var_os(DATA_VAR)),
        "test data",
        required(),
    )
}

/// `relative` inside the test data, when both are there. A missing sub-folder is treated
/// like missing data: it fails the test under `RAMPART_REQUIRE_TEST_DATA=1`, and is skipped
/// with a printed reason otherwise.
pub fn corpus(relative: &str) -> Option<PathBuf> {
    existing(root()?.join(relative), "test corpus", required())
}

fn required() -> bool {
    std::env::var(REQUIRE_VAR).as_deref() == Ok("1")
}

/// `RAMPART_TEST_DATA` when set, else `../shared/data` beside the repository.
fn configured_root(variable: Option<OsString>) -> PathBuf {
    match variable {
        Some(path) => PathBuf::from(path),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
    }
}

fn existing(path: PathBuf, what: &str, required: bool) -> Option<PathBuf> {
    if path.is_dir() {
        return Some(path);
    }
    if required {
        panic!("{what} not found at {} and {REQUIRE_VAR}=1", path.display());
    }
    eprintln!(
        "skipping: {what} not found at {} (set {DATA_VAR})",
        path.display()
    );
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRESENT: &str = env!("CARGO_MANIFEST_DIR");

    #[test]
    fn the_variable_wins_over_the_folder_beside_the_repository() {
        assert_eq!(
            configured_root(Some("/elsewhere/data".into())),
            PathBuf::from("/elsewhere/data")
        );
        let beside = configured_root(None);
        assert!(beside.ends_with("../../../shared/data"), "{beside:?}");
        assert!(beside.starts_with(PRESENT));
    }

    #[test]
    fn a_present_folder_is_found_whether_or_not_it_is_required() {
        for required in [false, true] {
            assert_eq!(
                existing(PathBuf::from(PRESENT), "test data", required),
                Some(PathBuf::from(PRESENT))
            );
        }
    }

    #[test]
    fn a_missing_folder_is_skipped_when_not_required() {
        assert_eq!(
            existing(PathBuf::from(PRESENT).join("absent"), "test data", false),
            None
        );
    }

    #[test]
    #[should_panic(expected = "test corpus not found at")]
    fn a_missing_folder_fails_the_test_when_required() {
        existing(PathBuf::from(PRESENT).join("absent"), "test corpus", true);
    }

    #[test]
    #[should_panic(expected = "RAMPART_REQUIRE_TEST_DATA=1")]
    fn the_failure_names_the_variable_that_demanded_the_data() {
        existing(PathBuf::from(PRESENT).join("absent"), "test data", true);
    }
}
