//! The server's integration tests, one binary (one link) for all of them: each module talks
//! HTTP to the real app, on SQLite and PostgreSQL.

mod adjacent_intervals;
mod analysis_bench;
mod analysis_queue;
mod appsec;
mod audit_walk;
mod dashboard;
mod dashboard_appsec;
mod dashboard_bench;
mod dashboard_browser;
mod dashboard_vex;
mod dispositions;
mod docs_browser;
mod events;
mod findings;
mod foundation;
mod identity;
mod kb;
mod products;
mod real_sboms;
mod replicas;
mod request_policy;
mod sarif_bench;
mod sbom_insert_bench;
mod sbom_reading;
mod sync_sources;
mod teams;
mod tenancy;
mod test_mode;
mod triage_bench;
mod vex_bench;
mod vex_documents;
mod vex_import_bench;
mod vex_imports;
mod webhooks;
mod webhooks_bench;
