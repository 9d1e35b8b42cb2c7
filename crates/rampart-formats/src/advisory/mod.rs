//! Advisory feeds: OSV (JSON and YAML), NVD CVE API 2.0, CISA KEV, FIRST EPSS, ExploitDB; and
//! the OSV JSON writer ([`write_osv_json`]) that serves stored records back.
//!
//! Every parser takes bytes and returns typed records in a [`ParseReport`]: a malformed
//! record is skipped with its reason and never aborts the batch; only a document that is not
//! readable at all (not JSON, bad gzip, wrong shape) is a [`FormatError`].

pub mod cve5;
pub mod cvss;
pub mod epss;
pub mod exploitdb;
pub mod kev;
pub mod model;
pub mod nvd;
pub mod osv;
pub mod osv_write;
pub mod report;
#[cfg(test)]
mod robustness;
mod time;

pub use cve5::{is_cve5_json, parse_cve5_json, CveProduct, CveRecord};
pub use cvss::{score_vector, CvssScore, CvssVersion, SeverityBand, V3_V4_LOWER_BOUNDS};
pub use epss::{parse_epss, EpssFile, EpssScore};
pub use exploitdb::{parse_exploitdb_csv, ExploitRecord};
pub use kev::{parse_kev_csv, parse_kev_json, KevCatalog, KevEntry};
pub use model::*;
pub use nvd::{parse_nvd_cve_item, parse_nvd_cves, parse_nvd_page, NvdPage};
pub use osv::{parse_osv_json, parse_osv_yaml};
pub use osv_write::write_osv_json;
pub use report::{FormatError, ParseReport, RecordWarning, SkippedRecord};
