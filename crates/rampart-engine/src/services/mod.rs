//! Rules shared by the HTTP routes and the command line (`rampart keys create`,
//! `rampart admin login-code`): handlers and subcommands parse their input, call one of these,
//! and present the result their own way.

pub mod alerts;
pub mod analyses;
pub mod api_keys;
pub mod code_findings;
pub mod compliance;
pub mod compliance_catalogue;
pub mod compliance_checks;
pub mod compliance_reports;
pub mod disclosures;
pub mod dispositions;
pub mod events;
pub mod findings;
pub mod incidents;
pub mod integrations;
pub mod kb;
pub mod login;
pub mod notifications;
pub mod products;
pub mod sarif_imports;
pub mod sboms;
pub mod scans;
pub mod sessions;
pub mod sync_sources;
pub mod teams;
pub mod usage;
pub mod vex_documents;
pub mod vex_import;
pub mod webhooks;
