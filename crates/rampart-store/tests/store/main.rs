//! The store against real databases (SQLite always, PostgreSQL when configured).

mod audit_append_only;
mod kb_ingest;
mod scan_snapshot;
