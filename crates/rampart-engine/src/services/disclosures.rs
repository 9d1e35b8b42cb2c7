//! Disclosures: the published VEX documents, for customers (`disclosures:read`), and their
//! optional public distribution per product (off by default; owners and admins turn it on,
//! audited as `disclosure.distribution`).
//!
//! Public distribution serves a team's published documents without credentials under
//! `/public/disclosures/{team_id}/`, and its CSAF documents in the directory layout of CSAF
//! 2.0 §7.1 (a per-team equivalent of `/.well-known/csaf/`): `provider-metadata.json`
//! (role `csaf_publisher`: the documents are not OpenPGP-signed), and under `white/` the
//! latest published version of each document in a folder per year of its
//! `initial_release_date`, named by its `tracking.id` (§5.1), with a `.sha256` file beside
//! it, plus `index.txt` and `changes.csv`. Test data is never public.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Utc};
use rampart_core::{PageRequest, Scope};
use rampart_store::{Page, PublicDisclosureProduct, VexDocumentRecord};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::actor::{Actor, RequestOrigin};
use crate::error::ServiceError;
use crate::services::vex_documents::{self, csaf_file_stem, ListFilter};
use crate::Engine;

/// The published documents of the team, newest first (`disclosures:read`).
pub async fn list(
    engine: &Engine,
    actor: &Actor,
    mut filter: ListFilter,
    page: PageRequest,
) -> Result<Page<VexDocumentRecord>, ServiceError> {
    actor.require(Scope::DisclosuresRead)?;
    filter.status = Some("published".into());
    let filter = filter.into_store()?;
    Ok(engine
        .store
        .list_vex_documents(actor.tenant(), &filter, page)
        .await?)
}

/// One published document and its bytes (`disclosures:read`); unpublished ones are 404.
pub async fn download(
    engine: &Engine,
    actor: &Actor,
    id: i64,
) -> Result<(VexDocumentRecord, Vec<u8>), ServiceError> {
    actor.require(Scope::DisclosuresRead)?;
    let record = published(engine.store.vex_document(actor.tenant(), id).await?)?;
    let (_, bytes) = engine
        .store
        .vex_document_content(actor.tenant(), id)
        .await?
        .ok_or_else(|| ServiceError::not_found("disclosure"))?;
    Ok((record, bytes))
}

/// One published document's metadata (`disclosures:read`).
pub async fn get(
    engine: &Engine,
    actor: &Actor,
    id: i64,
) -> Result<VexDocumentRecord, ServiceError> {
    actor.require(Scope::DisclosuresRead)?;
    published(engine.store.vex_document(actor.tenant(), id).await?)
}

fn published(record: Option<VexDocumentRecord>) -> Result<VexDocumentRecord, ServiceError> {
    record
        .filter(|r| r.status == "published")
        .ok_or_else(|| ServiceError::not_found("disclosure"))
}

/// Whether `if_none_match` (an `If-None-Match` header value) names the entity tag of a
/// document with hash `sha256`: `*`, or any listed tag, weak or strong (RFC 9110 §13.1.2
/// compares weakly).
pub fn etag_matches(if_none_match: &str, sha256: &str) -> bool {
    if_none_match
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag.trim_start_matches("W/").trim_matches('"') == sha256)
}

/// A product's public-distribution setting.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DistributionSetting {
    pub product_id: i64,
    /// Published documents of the product are served without credentials.
    pub public: bool,
    /// When it was turned on.
    pub enabled_at: Option<DateTime<Utc>>,
    /// Who turned it on.
    pub enabled_by: Option<String>,
}

/// The change of a product's public-distribution setting.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetDistribution {
    pub public: bool,
}

fn setting(product_id: i64, row: Option<PublicDisclosureProduct>) -> DistributionSetting {
    DistributionSetting {
        product_id,
        public: row.is_some(),
        enabled_at: row.as_ref().map(|r| r.enabled_at),
        enabled_by: row.map(|r| r.enabled_by),
    }
}

/// A product's public-distribution setting (`disclosures:read`).
pub async fn distribution(
    engine: &Engine,
    actor: &Actor,
    product_id: i64,
) -> Result<DistributionSetting, ServiceError> {
    actor.require(Scope::DisclosuresRead)?;
    let row = engine
        .store
        .public_disclosure_product(actor.tenant(), product_id)
        .await?
        .ok_or_else(|| ServiceError::not_found("product"))?;
    Ok(setting(product_id, row))
}

/// Turns a product's public distribution on or off (`teams:manage`: owners and admins);
/// audited as `disclosure.distribution`.
pub async fn set_distribution(
    engine: &Engine,
    actor: &Actor,
    origin: &RequestOrigin,
    product_id: i64,
    input: SetDistribution,
) -> Result<DistributionSetting, ServiceError> {
    actor.require(Scope::TeamsManage)?;
    let audit = actor.audit(origin, "disclosure.distribution");
    let row = engine
        .store
        .set_public_disclosure(
            actor.tenant(),
            product_id,
            input.public,
            &actor.user_email,
            &audit,
        )
        .await
        .map_err(|error| match error {
            rampart_store::StoreError::NotFound => ServiceError::not_found("product"),
            other => other.into(),
        })?;
    Ok(setting(product_id, row))
}

/// A publicly served document with its product's name and release's version.
#[derive(Debug, Clone)]
pub struct PublicDocument {
    pub record: VexDocumentRecord,
    pub product_name: String,
    pub release_version: Option<String>,
}

/// The team's public documents, newest first. 404 when the team distributes nothing (or
/// does not exist: an anonymous caller learns nothing about teams).
pub async fn public_documents(
    engine: &Engine,
    team_id: i64,
    format: Option<&str>,
) -> Result<Vec<PublicDocument>, ServiceError> {
    let records = engine.store.public_disclosures(team_id, format).await?;
    if format.is_none() && records.is_empty() {
        return Err(ServiceError::not_found("public disclosures"));
    }
    let mut products: HashMap<i64, String> = HashMap::new();
    let mut releases: HashMap<i64, String> = HashMap::new();
    let mut documents = Vec::with_capacity(records.len());
    for record in records {
        if let std::collections::hash_map::Entry::Vacant(entry) = products.entry(record.product_id)
        {
            let product = engine.store.product(team_id, record.product_id).await?;
            entry.insert(product.map(|p| p.name).unwrap_or_default());
        }
        if let Some(release_id) = record.release_id {
            if let std::collections::hash_map::Entry::Vacant(entry) = releases.entry(release_id) {
                let release = engine.store.release(team_id, release_id).await?;
                entry.insert(release.map(|r| r.version).unwrap_or_default());
            }
        }
        documents.push(PublicDocument {
            product_name: products[&record.product_id].clone(),
            release_version: record.release_id.map(|id| releases[&id].clone()),
            record,
        });
    }
    Ok(documents)
}

/// One public document's bytes.
pub async fn public_document(
    engine: &Engine,
    team_id: i64,
    id: i64,
) -> Result<(VexDocumentRecord, Vec<u8>), ServiceError> {
    let record = engine
        .store
        .public_disclosures(team_id, None)
        .await?
        .into_iter()
        .find(|r| r.id == id)
        .ok_or_else(|| ServiceError::not_found("public disclosure"))?;
    let (_, bytes) = engine
        .store
        .vex_document_content(team_id, id)
        .await?
        .ok_or_else(|| ServiceError::not_found("public disclosure"))?;
    Ok((record, bytes))
}

/// A CSAF document in the distribution directory: the latest published version of a series.
#[derive(Debug, Clone, PartialEq)]
pub struct CsafEntry {
    pub id: i64,
    /// `YYYY/name.json`, relative to the TLP folder.
    pub path: String,
    pub current_release_date: DateTime<Utc>,
    pub sha256: String,
}

/// The distribution's entries from published CSAF documents (pure): the highest version of
/// each tracking id, newest first (the order of `changes.csv`).
pub fn csaf_entries(records: &[VexDocumentRecord]) -> Vec<CsafEntry> {
    let mut latest: HashMap<&str, &VexDocumentRecord> = HashMap::new();
    for record in records.iter().filter(|r| r.format == "csaf") {
        let slot = latest.entry(record.tracking_id.as_str()).or_insert(record);
        if record.version > slot.version {
            *slot = record;
        }
    }
    let mut entries: Vec<CsafEntry> = latest
        .into_values()
        .map(|record| CsafEntry {
            id: record.id,
            path: format!(
                "{}/{}.json",
                record.initial_release_date.year(),
                csaf_file_stem(&record.tracking_id)
            ),
            current_release_date: record.published_at.unwrap_or(record.updated_at),
            sha256: record.sha256.clone(),
        })
        .collect();
    entries.sort_by(|a, b| {
        b.current_release_date
            .cmp(&a.current_release_date)
            .then_with(|| a.path.cmp(&b.path))
    });
    entries
}

/// `index.txt` (CSAF 2.0 §7.1.12): every document's path, one a line.
pub fn index_txt(entries: &[CsafEntry]) -> String {
    let mut paths: Vec<&str> = entries.iter().map(|e| e.path.as_str()).collect();
    paths.sort_unstable();
    paths.iter().map(|p| format!("{p}\n")).collect()
}

/// `changes.csv` (CSAF 2.0 §7.1.13): `"path","current_release_date"`, newest first.
pub fn changes_csv(entries: &[CsafEntry]) -> String {
    entries
        .iter()
        .map(|e| {
            format!(
                "\"{}\",\"{}\"\n",
                e.path,
                e.current_release_date
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            )
        })
        .collect()
}

/// A `.sha256` file (§7.1.18), as `sha256sum` writes it.
pub fn sha256_file(entry: &CsafEntry) -> String {
    let name = entry.path.rsplit('/').next().unwrap_or(&entry.path);
    format!("{}  {name}\n", entry.sha256)
}

/// `provider-metadata.json` (§7.1.7) for a team's distribution under `base` (the URL of
/// `…/csaf`, without a trailing slash).
pub fn provider_metadata(
    base: &str,
    publisher_name: &str,
    publisher_namespace: &str,
    last_updated: DateTime<Utc>,
) -> serde_json::Value {
    json!({
        "canonical_url": format!("{base}/provider-metadata.json"),
        "distributions": [{ "directory_url": format!("{base}/white/") }],
        "last_updated": last_updated.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "list_on_CSAF_aggregators": true,
        "metadata_version": "2.0",
        "mirror_on_CSAF_aggregators": true,
        "publisher": {
            "category": "vendor",
            "name": publisher_name,
            "namespace": publisher_namespace,
        },
        "role": "csaf_publisher",
    })
}

/// The team's CSAF distribution: its entries, and its provider metadata for `base`.
pub async fn csaf_distribution(
    engine: &Engine,
    team_id: i64,
    base: &str,
) -> Result<(Vec<CsafEntry>, serde_json::Value), ServiceError> {
    // The team must distribute something; its CSAF folder may still be empty.
    let all = public_documents(engine, team_id, None).await?;
    let records: Vec<VexDocumentRecord> = all.into_iter().map(|d| d.record).collect();
    let entries = csaf_entries(&records);
    let team = engine
        .store
        .team(team_id)
        .await?
        .ok_or_else(|| ServiceError::not_found("public disclosures"))?;
    let last_updated = entries
        .iter()
        .map(|e| e.current_release_date)
        .max()
        .or_else(|| records.iter().filter_map(|r| r.published_at).max())
        .unwrap_or_else(|| engine.now());
    let namespace = vex_documents::publisher_namespace(engine, team_id);
    let metadata = provider_metadata(base, &team.name, &namespace, last_updated);
    Ok((entries, metadata))
}

/// One file of the CSAF folder: `YYYY/name.json` (the document) or `YYYY/name.json.sha256`.
pub async fn csaf_file(
    engine: &Engine,
    team_id: i64,
    year: &str,
    file: &str,
) -> Result<CsafFile, ServiceError> {
    let (document, hash) = match file.strip_suffix(".sha256") {
        Some(document) => (document, true),
        None => (file, false),
    };
    let path = format!("{year}/{document}");
    let records: Vec<VexDocumentRecord> = engine
        .store
        .public_disclosures(team_id, Some("csaf"))
        .await?;
    let entry = csaf_entries(&records)
        .into_iter()
        .find(|e| e.path == path)
        .ok_or_else(|| ServiceError::not_found("CSAF document"))?;
    if hash {
        return Ok(CsafFile::Hash(sha256_file(&entry)));
    }
    let (record, bytes) = public_document(engine, team_id, entry.id).await?;
    Ok(CsafFile::Document(Box::new(record), bytes))
}

pub enum CsafFile {
    Document(Box<VexDocumentRecord>, Vec<u8>),
    Hash(String),
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn record(id: i64, tracking: &str, version: i64, day: u32) -> VexDocumentRecord {
        let at = Utc.with_ymd_and_hms(2026, 1, day, 0, 0, 0).unwrap();
        VexDocumentRecord {
            id,
            team_id: 1,
            is_test: false,
            product_id: 1,
            release_id: Some(1),
            format: "csaf".into(),
            include_bom: false,
            sbom_id: None,
            series_key: tracking.into(),
            tracking_id: tracking.into(),
            serial_number: "urn:uuid:x".into(),
            version,
            status: "published".into(),
            title: "t".into(),
            summary: "s".into(),
            statement_count: 1,
            content_type: "application/json".into(),
            size_bytes: 1,
            sha256: format!("{id:064x}"),
            initial_release_date: Utc.with_ymd_and_hms(2025, 12, 31, 0, 0, 0).unwrap(),
            created_at: at,
            created_by: "a".into(),
            created_by_user_id: None,
            submitted_at: None,
            submitted_by: None,
            submitted_by_user_id: None,
            approved_at: None,
            approved_by: None,
            rejected_at: None,
            rejected_by: None,
            rejection_reason: None,
            published_at: Some(at),
            published_by: None,
            updated_at: at,
        }
    }

    #[test]
    fn the_folder_holds_the_latest_version_of_each_document_by_year_newest_first() {
        let mut openvex = record(9, "OTHER", 1, 20);
        openvex.format = "openvex".into();
        let records = [
            record(1, "ACME-1", 1, 2),
            record(2, "ACME-1", 2, 10),
            record(3, "Acme:2", 1, 5),
            openvex,
        ];
        let entries = csaf_entries(&records);
        let paths: Vec<(&str, i64)> = entries.iter().map(|e| (e.path.as_str(), e.id)).collect();
        assert_eq!(paths, [("2025/acme-1.json", 2), ("2025/acme_2.json", 3)]);
        assert_eq!(index_txt(&entries), "2025/acme-1.json\n2025/acme_2.json\n");
        assert_eq!(
            changes_csv(&entries),
            "\"2025/acme-1.json\",\"2026-01-10T00:00:00Z\"\n\"2025/acme_2.json\",\"2026-01-05T00:00:00Z\"\n"
        );
        assert_eq!(
            sha256_file(&entries[0]),
            format!("{:064x}  acme-1.json\n", 2)
        );
    }

    #[test]
    fn entity_tags_match_strong_weak_listed_and_any() {
        assert!(etag_matches("\"abc\"", "abc"));
        assert!(etag_matches("W/\"abc\"", "abc"));
        assert!(etag_matches("\"x\", \"abc\"", "abc"));
        assert!(etag_matches("*", "abc"));
        assert!(!etag_matches("\"abd\"", "abc"));
    }

    #[test]
    fn provider_metadata_names_the_folder_and_the_publisher() {
        let at = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
        let metadata = provider_metadata(
            "https://h.example/public/disclosures/4/csaf",
            "Acme",
            "https://acme.example",
            at,
        );
        assert_eq!(
            metadata["canonical_url"],
            "https://h.example/public/disclosures/4/csaf/provider-metadata.json"
        );
        assert_eq!(
            metadata["distributions"][0]["directory_url"],
            "https://h.example/public/disclosures/4/csaf/white/"
        );
        assert_eq!(metadata["last_updated"], "2026-01-02T03:04:05Z");
        assert_eq!(metadata["role"], "csaf_publisher");
    }
}
