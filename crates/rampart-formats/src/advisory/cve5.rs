//! CVE JSON 5 records (the CVE Program's `cvelistV5`, CISA's Vulnrichment): what the knowledge
//! base keeps of them is what NVD does not give for a new CVE: the vendors and products its
//! CNA (and the ADP containers) name as affected, its title, and the highest CVSS base score
//! any container gives. Product/vendor alerts match those names, so a CVE alerts before NVD
//! has written a CPE configuration for it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::report::{FormatError, ParseReport};
use super::time::parse_timestamp;

/// What the knowledge base keeps of one CVE JSON 5 record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CveRecord {
    pub cve_id: String,
    /// `PUBLISHED` or `REJECTED`.
    pub state: String,
    pub date_published: Option<DateTime<Utc>>,
    pub date_updated: Option<DateTime<Utc>>,
    pub title: Option<String>,
    /// The first English description.
    pub description: Option<String>,
    /// Highest `baseScore` of any CVSS metric of any container.
    pub max_cvss: Option<f64>,
    /// `affected[]` vendor/product pairs of every container, deduplicated, in document order;
    /// `n/a` and empty names are left out.
    pub products: Vec<CveProduct>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CveProduct {
    pub vendor: String,
    pub product: String,
}

/// Whether a JSON document is a CVE JSON 5 record (`dataType: CVE_RECORD` or a
/// `cveMetadata` object), as opposed to an OSV record.
pub fn is_cve5_json(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(4096)];
    let text = String::from_utf8_lossy(head);
    text.contains("\"cveMetadata\"") || text.contains("\"CVE_RECORD\"")
}

/// Parses one CVE JSON 5 record or a JSON array of them.
pub fn parse_cve5_json(bytes: &[u8]) -> Result<ParseReport<CveRecord>, FormatError> {
    let document: Value =
        serde_json::from_slice(bytes).map_err(|e| FormatError::Json(e.to_string()))?;
    let items = match document {
        Value::Array(items) => items,
        record @ Value::Object(_) => vec![record],
        _ => {
            return Err(FormatError::Shape(
                "expected a CVE JSON 5 record or an array of them".into(),
            ))
        }
    };
    let mut report = ParseReport::default();
    for (index, item) in items.iter().enumerate() {
        match record_of(item) {
            Ok(record) => report.records.push(record),
            Err((id, reason)) => report.skip(index, id, reason),
        }
    }
    Ok(report)
}

fn text(value: &Value) -> Option<String> {
    value
        .as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn time(value: &Value) -> Option<DateTime<Utc>> {
    value.as_str().and_then(|raw| parse_timestamp(raw).ok())
}

/// A real name: not empty and not the CNAs' `n/a` placeholder.
fn name(value: &Value) -> Option<String> {
    text(value).filter(|name| !name.eq_ignore_ascii_case("n/a") && name != "-")
}

fn record_of(item: &Value) -> Result<CveRecord, (Option<String>, String)> {
    let metadata = &item["cveMetadata"];
    let cve_id = text(&metadata["cveId"])
        .ok_or((None, "no cveMetadata.cveId".to_string()))?
        .to_ascii_uppercase();
    if !cve_id.starts_with("CVE-") {
        return Err((Some(cve_id), "cveMetadata.cveId is not a CVE id".into()));
    }
    let state = text(&metadata["state"]).unwrap_or_else(|| "PUBLISHED".into());
    let containers = &item["containers"];
    let cna = &containers["cna"];
    let adp = containers["adp"].as_array().cloned().unwrap_or_default();
    let mut products: Vec<CveProduct> = Vec::new();
    let mut max_cvss: Option<f64> = None;
    for container in std::iter::once(cna).chain(adp.iter()) {
        for affected in container["affected"].as_array().into_iter().flatten() {
            let (Some(vendor), Some(product)) =
                (name(&affected["vendor"]), name(&affected["product"]))
            else {
                continue;
            };
            let pair = CveProduct { vendor, product };
            if !products.contains(&pair) {
                products.push(pair);
            }
        }
        for metric in container["metrics"].as_array().into_iter().flatten() {
            let Some(fields) = metric.as_object() else {
                continue;
            };
            for (key, value) in fields {
                if !key.starts_with("cvssV") {
                    continue;
                }
                if let Some(score) = value["baseScore"].as_f64() {
                    if (0.0..=10.0).contains(&score) && max_cvss.is_none_or(|max| score > max) {
                        max_cvss = Some(score);
                    }
                }
            }
        }
    }
    let description = cna["descriptions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|d| {
            d["lang"]
                .as_str()
                .is_some_and(|lang| lang.to_ascii_lowercase().starts_with("en"))
        })
        .and_then(|d| text(&d["value"]));
    Ok(CveRecord {
        cve_id,
        state,
        date_published: time(&metadata["datePublished"]),
        date_updated: time(&metadata["dateUpdated"]),
        title: text(&cna["title"]),
        description,
        max_cvss,
        products,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendors_products_and_the_highest_score_of_every_container() {
        let record = serde_json::json!({
            "dataType": "CVE_RECORD", "dataVersion": "5.1",
            "cveMetadata": {"cveId": "cve-2024-0001", "state": "PUBLISHED",
                "dateUpdated": "2024-09-23T17:57:24.819Z", "datePublished": "2024-09-23T17:25:00.509Z"},
            "containers": {
                "cna": {"title": "A flaw", "descriptions": [{"lang": "en", "value": "Bad."}],
                    "affected": [{"vendor": "Pure Storage", "product": "FlashArray"},
                                 {"vendor": "n/a", "product": "n/a"}],
                    "metrics": [{"format": "CVSS", "cvssV3_1": {"baseScore": 7.5}}]},
                "adp": [{"affected": [{"vendor": "purestorage", "product": "flasharray"},
                                      {"vendor": "Pure Storage", "product": "FlashArray"}],
                         "metrics": [{"cvssV4_0": {"baseScore": 9.1}}, {"other": {"type": "ssvc"}}]}]
            }
        });
        let bytes = record.to_string().into_bytes();
        assert!(is_cve5_json(&bytes));
        let report = parse_cve5_json(&bytes).unwrap();
        let parsed = &report.records[0];
        assert_eq!(parsed.cve_id, "CVE-2024-0001");
        assert_eq!(parsed.title.as_deref(), Some("A flaw"));
        assert_eq!(parsed.max_cvss, Some(9.1));
        assert_eq!(
            parsed.products,
            [
                CveProduct {
                    vendor: "Pure Storage".into(),
                    product: "FlashArray".into()
                },
                CveProduct {
                    vendor: "purestorage".into(),
                    product: "flasharray".into()
                },
            ]
        );
        let bad = parse_cve5_json(b"[{\"cveMetadata\": {}}]").unwrap();
        assert_eq!(bad.skipped.len(), 1);
        assert!(!is_cve5_json(b"{\"id\": \"GHSA-1\"}"));
    }
}
