//! Exact version semantics for every ecosystem Rampart matches, plus the identifiers and
//! range notations that carry versions (OSV ranges, purl, vers, CPE 2.3).
//!
//! Pure: no I/O, no allocation on the comparison hot path where avoidable. Every parser
//! returns a [`VersionError`] on bad input and never panics.

pub mod cpe;
pub mod ecosystem;
mod error;
pub mod purl;
pub mod range;
pub mod scheme;
pub mod schemes;
pub mod vers;

pub use cpe::{Cpe, CpeMatchCriteria};
pub use ecosystem::{Ecosystem, EcosystemKind};
pub use error::VersionError;
pub use purl::Purl;
pub use range::{CompiledAffected, CompiledRange, RangeKind, RangeOutcome};
pub use scheme::{Scheme, Version};
pub use vers::VersRange;

/// The shared runner for the peers' ordering fixtures. Only tests use it.
#[cfg(test)]
pub(crate) mod fixtures;

/// Order and round-trip laws shared by every scheme's property tests. Only tests use it.
#[cfg(test)]
pub(crate) mod order_laws;

/// The purl, vers and CPE fuzz targets' checks as bounded property tests (stable toolchain).
#[cfg(test)]
mod fuzz_smoke;

/// Property tests of the `Ord` laws per scheme.
#[cfg(test)]
mod properties;

/// Throughput figures for `BENCHMARKS.md` (ignored unless run explicitly).
#[cfg(test)]
mod throughput;
