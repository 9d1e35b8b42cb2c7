//! The CISA KEV, FIRST EPSS and Exploit Database records as the knowledge base keeps them,
//! declared once: ingest compares and writes them, reads return them, and the API serves
//! them as they are (with the `openapi` feature they are its `KevInfo`, `EpssInfo` and
//! `ExploitInfo` schemas). The parsers in `rampart_formats::advisory` keep each feed's own
//! shape; `From` turns a parsed entry into its record.
//!
//! Only what the API documents has a `///` doc comment here: utoipa publishes those as schema
//! descriptions, and the OpenAPI document is a snapshot.

use chrono::{DateTime, NaiveDate, Utc};
use rampart_formats::advisory::exploitdb::exploit_page_url;
use rampart_formats::advisory::{EpssScore, KevEntry};
use serde::Serialize;

// A CISA KEV entry (one per CVE id).
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = KevInfo))]
pub struct KevView {
    pub cve_id: String,
    pub vendor_project: String,
    pub product: String,
    pub vulnerability_name: String,
    pub date_added: NaiveDate,
    pub short_description: String,
    pub required_action: String,
    pub due_date: Option<NaiveDate>,
    pub known_ransomware_campaign_use: bool,
    pub notes: String,
}

impl From<&KevEntry> for KevView {
    fn from(entry: &KevEntry) -> Self {
        KevView {
            cve_id: entry.cve_id.trim().to_string(),
            vendor_project: entry.vendor_project.clone(),
            product: entry.product.clone(),
            vulnerability_name: entry.vulnerability_name.clone(),
            date_added: entry.date_added,
            short_description: entry.short_description.clone(),
            required_action: entry.required_action.clone(),
            due_date: entry.due_date,
            known_ransomware_campaign_use: entry.known_ransomware_campaign_use,
            notes: entry.notes.clone(),
        }
    }
}

/// One day of a CVE's EPSS history: the score and percentile it changed to that day.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct EpssPoint {
    pub cve_id: String,
    pub score_day: chrono::NaiveDate,
    pub epss: f64,
    pub percentile: f64,
}

// A CVE's EPSS score, with the date and model of the file it came from.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = EpssInfo))]
pub struct EpssView {
    pub cve_id: String,
    #[serde(rename = "score")]
    pub epss: f64,
    pub percentile: f64,
    #[serde(rename = "date")]
    pub score_date: Option<DateTime<Utc>>,
    pub model_version: Option<String>,
}

impl EpssView {
    /// The record of a score of an EPSS file dated `score_date` by model `model_version`.
    pub fn of(
        score: &EpssScore,
        score_date: Option<DateTime<Utc>>,
        model_version: Option<&str>,
    ) -> Self {
        EpssView {
            cve_id: score.cve_id.trim().to_string(),
            epss: score.epss,
            percentile: score.percentile,
            score_date,
            model_version: model_version.map(str::to_string),
        }
    }
}

// An exploit as linked to one of its CVE ids.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = ExploitInfo))]
pub struct ExploitView {
    pub edb_id: i64,
    pub cve_id: String,
    pub description: String,
    #[serde(rename = "type")]
    pub exploit_type: String,
    pub platform: String,
    pub date_published: Option<NaiveDate>,
    pub verified: bool,
    pub author: String,
    pub source_url: Option<String>,
    /// The exploit's page on Exploit Database.
    #[sqlx(skip)]
    pub url: String,
}

/// `exploits` read from the store, with the page each one has on Exploit Database (derived
/// from its id, not stored).
pub(crate) fn with_page_urls(mut exploits: Vec<ExploitView>) -> Vec<ExploitView> {
    for exploit in &mut exploits {
        exploit.url = exploit_page_url(exploit.edb_id);
    }
    exploits
}
