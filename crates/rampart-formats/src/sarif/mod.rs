//! SARIF 2.1.0 (OASIS Static Analysis Results Interchange Format), as code-scanning
//! dashboards read it.
//!
//! [`model`] holds typed serde structures for the part of the format Rampart speaks: one log of
//! runs, each with its tool (driver and rules) and results (level, message, locations,
//! fingerprints, property bags). [`write`] turns package vulnerability findings into a log, as
//! `rampart scan --sarif` prints it. [`read`] reads other tools' logs (CodeQL, Semgrep,
//! SpotBugs, …) tolerantly into code results with identities that survive code motion;
//! [`decode`] unwraps the upload forms (gzip, GitHub's gzip + base64).

pub mod decode;
pub mod model;
pub mod read;
pub mod write;

pub use decode::{decode_upload, UploadEncoding};
pub use model::{
    ArtifactLocation, Level, Location, LogicalLocation, Message, PhysicalLocation, PropertyBag,
    ReportingDescriptor, Run, SarifLog, SarifResult, Tool, ToolComponent,
};
pub use read::{
    read_sarif, CodeResult, ReadLimits, RunReport, SarifError, SarifReport, SarifWarning,
    SkippedResult,
};
pub use write::{write_package_findings, PackageFinding};

#[cfg(test)]
mod corpus_tests;
#[cfg(test)]
mod schema_tests;
