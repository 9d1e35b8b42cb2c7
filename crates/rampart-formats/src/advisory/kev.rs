//! CISA Known Exploited Vulnerabilities catalog, JSON (the feed) and CSV (its twin download).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::report::{FormatError, ParseReport};
use super::time::{parse_date, parse_timestamp};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KevEntry {
    pub cve_id: String,
    pub vendor_project: String,
    pub product: String,
    pub vulnerability_name: String,
    pub date_added: NaiveDate,
    pub short_description: String,
    pub required_action: String,
    pub due_date: Option<NaiveDate>,
    /// CISA's "Known" (true) or "Unknown" (false).
    pub known_ransomware_campaign_use: bool,
    pub notes: String,
    pub cwes: Vec<String>,
}

/// The catalog's header and its entries. Header fields are `None` when the document is a
/// bare entry or a bare list of entries.
#[derive(Debug, Clone, PartialEq)]
pub struct KevCatalog {
    pub title: Option<String>,
    pub catalog_version: Option<String>,
    pub date_released: Option<DateTime<Utc>>,
    /// The count the catalog declares (compare with `entries.records.len()`).
    pub declared_count: Option<u64>,
    pub entries: ParseReport<KevEntry>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCatalog {
    title: Option<String>,
    catalog_version: Option<String>,
    date_released: Option<String>,
    count: Option<u64>,
    vulnerabilities: Vec<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawEntry {
    #[serde(rename = "cveID")]
    cve_id: String,
    vendor_project: String,
    product: String,
    vulnerability_name: String,
    date_added: String,
    #[serde(default)]
    short_description: String,
    #[serde(default)]
    required_action: String,
    due_date: Option<String>,
    known_ransomware_campaign_use: Option<String>,
    #[serde(default)]
    notes: String,
    #[serde(default)]
    cwes: Vec<String>,
}

/// Parses the KEV JSON catalog; also accepts a bare entry or an array of entries.
pub fn parse_kev_json(bytes: &[u8]) -> Result<KevCatalog, FormatError> {
    let document: Value =
        serde_json::from_slice(bytes).map_err(|e| FormatError::Json(e.to_string()))?;
    let mut catalog = KevCatalog {
        title: None,
        catalog_version: None,
        date_released: None,
        declared_count: None,
        entries: ParseReport::default(),
    };
    let elements = match document {
        Value::Object(ref object) if object.contains_key("vulnerabilities") => {
            let raw: RawCatalog = serde_json::from_value(document)
                .map_err(|e| FormatError::Shape(format!("not a KEV catalog: {e}")))?;
            catalog.title = raw.title;
            catalog.catalog_version = raw.catalog_version;
            catalog.date_released = raw
                .date_released
                .as_deref()
                .map(parse_timestamp)
                .transpose()
                .map_err(|e| FormatError::Header(format!("dateReleased: {e}")))?;
            catalog.declared_count = raw.count;
            raw.vulnerabilities
        }
        Value::Object(ref object) if object.contains_key("cveID") => vec![document],
        Value::Array(elements) => elements,
        _ => {
            return Err(FormatError::Shape(
                "expected a KEV catalog, entry or array of entries".to_string(),
            ))
        }
    };
    for (index, element) in elements.into_iter().enumerate() {
        let id = element
            .get("cveID")
            .and_then(Value::as_str)
            .map(str::to_string);
        match serde_json::from_value::<RawEntry>(element)
            .map_err(|e| e.to_string())
            .and_then(normalise)
        {
            Ok(entry) => catalog.entries.records.push(entry),
            Err(reason) => catalog.entries.skip(index, id, reason),
        }
    }
    Ok(catalog)
}

/// Parses the KEV CSV download (same columns as the JSON; `cwes` comma-separated in one cell).
pub fn parse_kev_csv(bytes: &[u8]) -> Result<ParseReport<KevEntry>, FormatError> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
    let headers = reader
        .headers()
        .map_err(|e| FormatError::Csv(e.to_string()))?
        .clone();
    let column = |name: &str| headers.iter().position(|h| h.trim() == name);
    let required = [
        "cveID",
        "vendorProject",
        "product",
        "vulnerabilityName",
        "dateAdded",
    ];
    if let Some(missing) = required.iter().find(|name| column(name).is_none()) {
        return Err(FormatError::Header(format!(
            "KEV CSV lacks column {missing}"
        )));
    }
    let mut report = ParseReport::default();
    for (index, row) in reader.records().enumerate() {
        let row = match row {
            Ok(row) => row,
            Err(e) => {
                report.skip(index, None, e.to_string());
                continue;
            }
        };
        let cell = |name: &str| {
            column(name)
                .and_then(|i| row.get(i))
                .unwrap_or_default()
                .to_string()
        };
        let raw = RawEntry {
            cve_id: cell("cveID"),
            vendor_project: cell("vendorProject"),
            product: cell("product"),
            vulnerability_name: cell("vulnerabilityName"),
            date_added: cell("dateAdded"),
            short_description: cell("shortDescription"),
            required_action: cell("requiredAction"),
            due_date: Some(cell("dueDate")).filter(|d| !d.is_empty()),
            known_ransomware_campaign_use: Some(cell("knownRansomwareCampaignUse"))
                .filter(|v| !v.is_empty()),
            notes: cell("notes"),
            cwes: cell("cwes")
                .split(',')
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_string)
                .collect(),
        };
        let id = Some(raw.cve_id.clone()).filter(|id| !id.is_empty());
        match normalise(raw) {
            Ok(entry) => report.records.push(entry),
            Err(reason) => report.skip(index, id, reason),
        }
    }
    Ok(report)
}

fn normalise(raw: RawEntry) -> Result<KevEntry, String> {
    if !raw.cve_id.starts_with("CVE-") {
        return Err(format!("cveID {:?} is not a CVE id", raw.cve_id));
    }
    let known_ransomware_campaign_use = match raw.known_ransomware_campaign_use.as_deref() {
        Some("Known") => true,
        // Absent in catalogs from before CISA added the field (October 2023): nothing known.
        Some("Unknown") | None => false,
        Some(other) => {
            return Err(format!(
                "knownRansomwareCampaignUse {other:?} is neither Known nor Unknown"
            ))
        }
    };
    Ok(KevEntry {
        date_added: parse_date(&raw.date_added).map_err(|e| format!("dateAdded: {e}"))?,
        due_date: raw
            .due_date
            .as_deref()
            .map(parse_date)
            .transpose()
            .map_err(|e| format!("dueDate: {e}"))?,
        cve_id: raw.cve_id,
        vendor_project: raw.vendor_project,
        product: raw.product,
        vulnerability_name: raw.vulnerability_name,
        short_description: raw.short_description,
        required_action: raw.required_action,
        known_ransomware_campaign_use,
        notes: raw.notes,
        cwes: raw.cwes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_header_and_entries() {
        let json = br#"{"title":"CISA Catalog","catalogVersion":"2025.08.25","dateReleased":"2025-08-25T17:04:19.9796Z","count":3,"vulnerabilities":[
            {"cveID":"CVE-2025-0108","vendorProject":"Palo Alto Networks","product":"PAN-OS","vulnerabilityName":"Auth Bypass","dateAdded":"2025-02-18","shortDescription":"d","requiredAction":"a","dueDate":"2025-03-11","knownRansomwareCampaignUse":"Known","notes":"n","cwes":["CWE-306"],"extra":"ignored"},
            {"cveID":"CVE-2025-0109","vendorProject":"V","product":"P","vulnerabilityName":"N","dateAdded":"2025-02-30","knownRansomwareCampaignUse":"Unknown"},
            {"cveID":"CVE-2025-0110","vendorProject":"V","product":"P","vulnerabilityName":"N","dateAdded":"2025-02-01","knownRansomwareCampaignUse":"Maybe"}
        ]}"#;
        let catalog = parse_kev_json(json).unwrap();
        assert_eq!(catalog.catalog_version.as_deref(), Some("2025.08.25"));
        assert_eq!(catalog.declared_count, Some(3));
        assert!(catalog.date_released.is_some());
        let entry = &catalog.entries.records[0];
        assert!(entry.known_ransomware_campaign_use);
        assert_eq!(entry.due_date, NaiveDate::from_ymd_opt(2025, 3, 11));
        assert_eq!(entry.cwes, ["CWE-306"]);
        let skipped: Vec<&str> = catalog
            .entries
            .skipped
            .iter()
            .map(|s| s.id.as_deref().unwrap())
            .collect();
        assert_eq!(skipped, ["CVE-2025-0109", "CVE-2025-0110"]);
        assert!(catalog.entries.skipped[0].reason.contains("dateAdded"));
        assert!(catalog.entries.skipped[1].reason.contains("Maybe"));
    }

    #[test]
    fn unreadable_documents_are_errors() {
        assert!(matches!(parse_kev_json(b"nope"), Err(FormatError::Json(_))));
        assert!(matches!(
            parse_kev_json(b"{\"a\":1}"),
            Err(FormatError::Shape(_))
        ));
        assert!(matches!(
            parse_kev_csv(b"a,b\n1,2\n"),
            Err(FormatError::Header(_))
        ));
    }

    #[test]
    fn real_catalog_parses_and_matches_its_csv_twin() {
        let Some(root) = rampart_test_data::root() else {
            return;
        };
        let dir = root.join("cisa-kev");
        let catalog = parse_kev_json(
            &std::fs::read(dir.join("known_exploited_vulnerabilities.json")).unwrap(),
        )
        .unwrap();
        assert!(
            catalog.entries.skipped.is_empty(),
            "{:?}",
            catalog.entries.skipped
        );
        assert_eq!(catalog.catalog_version.as_deref(), Some("2025.08.25"));
        assert_eq!(
            catalog.declared_count,
            Some(catalog.entries.records.len() as u64)
        );
        assert_eq!(catalog.entries.records.len(), 1404);
        let ransomware = catalog
            .entries
            .records
            .iter()
            .filter(|e| e.known_ransomware_campaign_use)
            .count();
        assert!(ransomware > 0 && ransomware < 1404);

        let csv =
            parse_kev_csv(&std::fs::read(dir.join("known_exploited_vulnerabilities.csv")).unwrap())
                .unwrap();
        assert!(csv.skipped.is_empty(), "{:?}", csv.skipped);
        assert_eq!(csv.records.len(), catalog.entries.records.len());
        let mismatches: Vec<&str> = catalog
            .entries
            .records
            .iter()
            .zip(&csv.records)
            .filter(|(json, csv)| json != csv)
            .map(|(json, _)| json.cve_id.as_str())
            .collect();
        println!(
            "KEV: {} JSON entries, {} CSV rows, {} differ ({:?})",
            catalog.entries.records.len(),
            csv.records.len(),
            mismatches.len(),
            &mismatches[..mismatches.len().min(5)]
        );
        assert!(mismatches.is_empty());
        println!("KEV catalog: {ransomware} entries with known ransomware use");
    }

    #[test]
    fn vunnel_fixtures_parse() {
        let Some(root) = rampart_test_data::root() else {
            return;
        };
        let dir = root.join("cisa-kev/vunnel-fixtures");
        let catalog =
            parse_kev_json(&std::fs::read(dir.join("valid-catalog-1.json")).unwrap()).unwrap();
        assert!(catalog.entries.skipped.is_empty());
        assert!(!catalog.entries.records.is_empty());
        let single =
            parse_kev_json(&std::fs::read(dir.join("single-entry/example1.json")).unwrap())
                .unwrap();
        assert_eq!(single.entries.records.len(), 1);
        assert_eq!(single.entries.records[0].cve_id, "CVE-2025-0108");
        assert!(single.catalog_version.is_none());
    }
}
