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

/// The shared runner for the peers' ordering fixtures. Only tests use it.
#[cfg(test)]
pub(crate) mod fixtures;

/// Order and round-trip laws shared by every scheme's property tests. Only tests use it.
#[cfg(test)]
pub(crate) mod order_laws;

/// Property tests of the `Ord` laws per scheme.
#[cfg(test)]
mod properties;
