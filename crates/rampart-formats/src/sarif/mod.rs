//! SARIF 2.1.0 (OASIS Static Analysis Results Interchange Format), as code-scanning
//! dashboards read it.
//!
//! [`model`] holds typed serde structures for the part of the format Rampart speaks: one log of
//! runs, each with its tool (driver and rules) and results (level, message, locations,
//! fingerprints, property bags). [`write`] turns package vulnerability findings into a log, as
//! `rampart scan --sarif` prints it. A reader of other tools' logs (CodeQL, Semgrep) belongs
//! beside it, reading into the same model.

pub mod model;
pub mod write;

pub use model::{
    ArtifactLocation, Level, Location, LogicalLocation, Message, PhysicalLocation, PropertyBag,
    ReportingDescriptor, Run, SarifLog, SarifResult, Tool, ToolComponent,
};
pub use write::{write_package_findings, PackageFinding};

#[cfg(test)]
mod schema_tests;
