//! Exact version semantics for every ecosystem Rampart matches, plus the identifiers and
//! range notations that carry versions (OSV ranges, purl, vers, CPE 2.3).
//!
//! Pure: no I/O, no allocation on the comparison hot path where avoidable. Every parser
//! returns a [`VersionError`] on bad input and never panics.

mod error;
pub mod scheme;
pub mod schemes;

pub use error::VersionError;
pub use scheme::{Scheme, Version};

/// Where the crate's tests find the shared, read-only test data (`../shared/data` beside the
/// repository, or `RAMPART_TEST_DATA`). Only tests use it.
#[cfg(test)]
pub(crate) mod test_data;

/// Runner for the peers' ordering fixture files; only tests use it.
#[cfg(test)]
mod fixtures;

/// Property tests of the `Ord` laws per scheme.
#[cfg(test)]
mod properties;
