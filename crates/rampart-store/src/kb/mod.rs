//! The knowledge base: vulnerabilities from every feed joined into alias groups, with
//! severities, CWEs, references, affected packages, NVD CPE matches (and the vendor/product
//! catalogue they yield), EPSS scores, CISA KEV entries and exploits. Shared by every team:
//! not tenant data, written only by ingest (sync jobs and `rampart import`).

mod export;
mod ingest;
mod query;
mod records;

pub use export::ExportRow;
pub use ingest::{IngestStats, PreparedAdvisory};

pub use query::{
    AffectedPackageRow, CatalogProduct, CpeMatchRow, CveEnrichment, StoredVulnerability,
    VulnerabilityFilter, VulnerabilityGroup, VulnerabilitySort, VulnerabilitySummary,
};
pub use records::{EpssPoint, EpssView, ExploitView, KevView};

pub(crate) use query::{sqlite_affected_package_rows, sqlite_affected_package_rows_named};
