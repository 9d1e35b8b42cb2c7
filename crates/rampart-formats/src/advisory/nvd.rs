//! NVD CVE API 2.0 pages (`{resultsPerPage, startIndex, totalResults, vulnerabilities}`) →
//! one [`Advisory`] per CVE, with its CPE configurations.

use std::collections::HashSet;

use serde::Deserialize;
use serde_json::{json, Value};

use super::cvss::score_vector;
use super::model::{
    Advisory, CpeConfiguration, CpeMatch, CpeNode, CpeOperator, Reference, ReferenceType, Severity,
    SeverityType,
};
use super::report::{FormatError, ParseReport};
use super::time::parse_timestamp;

/// One page of the CVE API with its paging metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct NvdPage {
    pub results_per_page: u64,
    pub start_index: u64,
    pub total_results: u64,
    /// When NVD produced the page (NVD's zone-less UTC form, verbatim).
    pub timestamp: Option<String>,
    /// Number of entries in `vulnerabilities`, parsed or skipped.
    pub entries_on_page: u64,
    pub advisories: ParseReport<Advisory>,
}

impl NvdPage {
    /// `startIndex` of the following page, or `None` when this page reaches `totalResults`.
    pub fn next_start_index(&self) -> Option<u64> {
        let next = self.start_index.saturating_add(self.entries_on_page);
        (self.entries_on_page > 0 && next < self.total_results).then_some(next)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawPage {
    results_per_page: u64,
    start_index: u64,
    total_results: u64,
    timestamp: Option<String>,
    vulnerabilities: Vec<Value>,
}

/// Parses one CVE API 2.0 response page. Other NVD APIs' responses (CPE, match criteria,
/// change history, sources) have no `vulnerabilities` list and are a [`FormatError::Shape`].
pub fn parse_nvd_page(bytes: &[u8]) -> Result<NvdPage, FormatError> {
    page_from(parse_json(bytes)?)
}

/// Parses a single vulnerability item as it appears inside a page (`{"cve": {...}}`), the
/// shape NVD mirrors store per CVE. A malformed item is reported as skipped, not as an error.
pub fn parse_nvd_cve_item(bytes: &[u8]) -> Result<ParseReport<Advisory>, FormatError> {
    let item = parse_json(bytes)?;
    if item.get("cve").is_none_or(|cve| !cve.is_object()) {
        return Err(FormatError::Shape(
            "not an NVD vulnerability item: no \"cve\" object".to_string(),
        ));
    }
    Ok(item_from(item))
}

/// Reads the CVEs of any recorded CVE API 2.0 document: a response page, or a single
/// vulnerability item as mirrors store one per CVE (both shapes are real: nvd-go records
/// `cve-2022-44006.json` as an item). A response of NVD's other APIs is a
/// [`FormatError::Shape`] that names the API, so an import says what it was given.
pub fn parse_nvd_cves(bytes: &[u8]) -> Result<ParseReport<Advisory>, FormatError> {
    let document = parse_json(bytes)?;
    if document.get("vulnerabilities").is_some() {
        return page_from(document).map(|page| page.advisories);
    }
    if document.get("cve").is_some_and(Value::is_object) {
        return Ok(item_from(document));
    }
    let format = document.get("format").and_then(Value::as_str);
    let api =
        match format {
            Some("NVD_CPE") => "a CPE API response",
            Some("NVD_CPEMatchString") => "a Match Criteria API response",
            Some("NVD_CVEHistory") => "a CVE Change History API response",
            Some("NVD_SOURCE") => "a Source API response",
            _ => return Err(FormatError::Shape(
                "not an NVD CVE API 2.0 document: neither a response page (\"vulnerabilities\") \
                 nor a vulnerability item (\"cve\")"
                    .to_string(),
            )),
        };
    Err(FormatError::Shape(format!(
        "{api} (format {}), not CVE data: only CVE API 2.0 pages and items hold CVEs",
        format.unwrap_or_default()
    )))
}

fn parse_json(bytes: &[u8]) -> Result<Value, FormatError> {
    serde_json::from_slice(bytes).map_err(|e| FormatError::Json(e.to_string()))
}

fn page_from(document: Value) -> Result<NvdPage, FormatError> {
    let page: RawPage = serde_json::from_value(document)
        .map_err(|e| FormatError::Shape(format!("not an NVD CVE API 2.0 page: {e}")))?;
    let mut advisories = ParseReport::default();
    let entries_on_page = page.vulnerabilities.len() as u64;
    for (index, entry) in page.vulnerabilities.into_iter().enumerate() {
        let (id, parsed) = entry_from(entry);
        match parsed {
            Ok(advisory) => advisories.keep(index, advisory),
            Err(reason) => advisories.skip(index, id, reason),
        }
    }
    Ok(NvdPage {
        results_per_page: page.results_per_page,
        start_index: page.start_index,
        total_results: page.total_results,
        timestamp: page.timestamp,
        entries_on_page,
        advisories,
    })
}

/// One `{"cve": {...}}` item as a report of one record, kept or skipped.
fn item_from(item: Value) -> ParseReport<Advisory> {
    let mut report = ParseReport::default();
    match entry_from(item) {
        (_, Ok(advisory)) => report.keep(0, advisory),
        (id, Err(reason)) => report.skip(0, id, reason),
    }
    report
}

/// The CVE id (when readable) and the normalised advisory or why not.
fn entry_from(entry: Value) -> (Option<String>, Result<Advisory, String>) {
    let id = entry
        .pointer("/cve/id")
        .and_then(Value::as_str)
        .map(str::to_string);
    let parsed = serde_json::from_value::<RawEntry>(entry)
        .map_err(|e| e.to_string())
        .and_then(|entry| normalise(entry.cve));
    (id, parsed)
}

#[derive(Deserialize)]
struct RawEntry {
    cve: RawCve,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCve {
    id: String,
    source_identifier: Option<String>,
    published: Option<String>,
    last_modified: Option<String>,
    vuln_status: Option<String>,
    #[serde(default)]
    descriptions: Vec<RawLangString>,
    #[serde(default)]
    metrics: RawMetrics,
    #[serde(default)]
    weaknesses: Vec<RawWeakness>,
    #[serde(default)]
    configurations: Vec<RawConfiguration>,
    #[serde(default)]
    references: Vec<RawReference>,
}

#[derive(Deserialize)]
struct RawLangString {
    lang: String,
    value: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawMetrics {
    #[serde(default)]
    cvss_metric_v40: Vec<RawMetric>,
    #[serde(default)]
    cvss_metric_v31: Vec<RawMetric>,
    #[serde(default)]
    cvss_metric_v30: Vec<RawMetric>,
    #[serde(default)]
    cvss_metric_v2: Vec<RawMetric>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMetric {
    source: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    cvss_data: RawCvssData,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCvssData {
    vector_string: String,
}

#[derive(Deserialize)]
struct RawWeakness {
    #[serde(default)]
    description: Vec<RawLangString>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawConfiguration {
    operator: Option<String>,
    #[serde(default)]
    negate: bool,
    nodes: Vec<RawNode>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawNode {
    operator: String,
    #[serde(default)]
    negate: bool,
    cpe_match: Vec<RawCpeMatch>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCpeMatch {
    vulnerable: bool,
    criteria: String,
    match_criteria_id: Option<String>,
    version_start_including: Option<String>,
    version_start_excluding: Option<String>,
    version_end_including: Option<String>,
    version_end_excluding: Option<String>,
}

#[derive(Deserialize)]
struct RawReference {
    url: String,
    #[serde(default)]
    tags: Vec<String>,
}

fn normalise(cve: RawCve) -> Result<Advisory, String> {
    if cve.id.trim().is_empty() {
        return Err("empty CVE id".to_string());
    }
    let modified = parse_timestamp(cve.last_modified.as_deref().ok_or("missing lastModified")?)
        .map_err(|e| format!("lastModified: {e}"))?;
    let published = cve
        .published
        .as_deref()
        .map(parse_timestamp)
        .transpose()
        .map_err(|e| format!("published: {e}"))?;
    // NVD gives no rejection time; the last modification is when the rejection was recorded.
    let withdrawn = (cve.vuln_status.as_deref() == Some("Rejected")).then_some(modified);
    let details = cve
        .descriptions
        .iter()
        .find(|d| d.lang == "en")
        .or_else(|| cve.descriptions.first())
        .map(|d| d.value.clone());

    let metrics = cve.metrics;
    let severity = [
        (
            SeverityType::CvssV4,
            preferred_metric(&metrics.cvss_metric_v40),
        ),
        (
            SeverityType::CvssV3,
            preferred_metric(&metrics.cvss_metric_v31)
                .or_else(|| preferred_metric(&metrics.cvss_metric_v30)),
        ),
        (
            SeverityType::CvssV2,
            preferred_metric(&metrics.cvss_metric_v2),
        ),
    ]
    .into_iter()
    .filter_map(|(kind, metric)| {
        metric.map(|m| Severity {
            kind,
            score: m.cvss_data.vector_string.clone(),
            source: m.source.clone(),
            computed: score_vector(&m.cvss_data.vector_string).ok(),
        })
    })
    .collect();

    let mut seen_cwes = HashSet::new();
    let cwe_ids = cve
        .weaknesses
        .iter()
        .flat_map(|w| &w.description)
        .map(|d| d.value.trim())
        // "NVD-CWE-Other" / "NVD-CWE-noinfo" are NVD placeholders, not weaknesses.
        .filter(|value| value.starts_with("CWE-"))
        .filter(|value| seen_cwes.insert(value.to_string()))
        .map(str::to_string)
        .collect();

    let references: Vec<Reference> = cve
        .references
        .into_iter()
        .map(|r| Reference::new(reference_type(&r.tags, &r.url), r.url, r.tags))
        .collect();
    let aliases = ghsa_aliases(&references);

    let cpe_configurations = cve
        .configurations
        .into_iter()
        .enumerate()
        .map(|(position, c)| {
            normalise_configuration(c).map_err(|e| format!("configurations[{position}]: {e}"))
        })
        .collect::<Result<Vec<_>, _>>()?;

    Ok(Advisory {
        id: cve.id,
        schema_version: None,
        aliases,
        related: Vec::new(),
        upstream: Vec::new(),
        summary: None,
        details,
        published,
        modified,
        withdrawn,
        severity,
        cwe_ids,
        references,
        affected: Vec::new(),
        cpe_configurations,
        database_specific: Some(json!({
            "vuln_status": cve.vuln_status,
            "source_identifier": cve.source_identifier,
        })),
    })
}

/// NVD's own ("Primary") assessment wins over a CNA's ("Secondary"); else the first listed.
fn preferred_metric(metrics: &[RawMetric]) -> Option<&RawMetric> {
    metrics
        .iter()
        .find(|m| m.kind.as_deref() == Some("Primary"))
        .or_else(|| metrics.first())
}

/// Maps an NVD reference onto an OSV reference type, following the precedence osv.dev's
/// NVD converter uses so that our records and osv.dev's agree: a patch is a FIX even when
/// it is also an exploit (the exploit flag is kept separately), a bug tracker entry is a
/// REPORT, then exploits, advisories and mailing-list posts; untagged URLs are typed by
/// well-known shapes (commits, distribution advisories), else WEB.
fn reference_type(tags: &[String], url: &str) -> ReferenceType {
    let has = |wanted: &str| tags.iter().any(|t| t.eq_ignore_ascii_case(wanted));
    if has("Patch") {
        ReferenceType::Fix
    } else if has("Issue Tracking") || has("Permissions Required") {
        ReferenceType::Report
    } else if has("Exploit") {
        ReferenceType::Evidence
    } else if [
        "Vendor Advisory",
        "Third Party Advisory",
        "VDB Entry",
        "Release Notes",
    ]
    .iter()
    .any(|tag| has(tag))
    {
        ReferenceType::Advisory
    } else if has("Mailing List") {
        ReferenceType::Article
    } else {
        reference_type_from_url(url)
    }
}

fn reference_type_from_url(url: &str) -> ReferenceType {
    let lower = url.to_ascii_lowercase();
    const FIX_SHAPES: [&str; 3] = ["/commit/", "/commits/", "/pull/"];
    const ADVISORY_SHAPES: [&str; 8] = [
        "/security/advisories/",
        "github.com/advisories/",
        "debian.org/security/",
        "ubuntu.com/usn/",
        "usn.ubuntu.com/",
        "security.gentoo.org/glsa/",
        "access.redhat.com/errata/",
        "/advisory/",
    ];
    if FIX_SHAPES.iter().any(|shape| lower.contains(shape)) {
        ReferenceType::Fix
    } else if ADVISORY_SHAPES.iter().any(|shape| lower.contains(shape)) {
        ReferenceType::Advisory
    } else {
        ReferenceType::Web
    }
}

/// GitHub advisory ids named in reference URLs (`.../security/advisories/GHSA-…` or
/// `github.com/advisories/GHSA-…`): NVD records carry no aliases, and these tie a CVE to
/// its GHSA record for deduplication.
fn ghsa_aliases(references: &[Reference]) -> Vec<String> {
    let mut seen = HashSet::new();
    references
        .iter()
        .filter(|r| r.url.contains("github.com/"))
        .filter_map(|r| {
            let start = r.url.find("/GHSA-")? + 1;
            let candidate: String = r.url[start..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            is_ghsa_id(&candidate).then_some(candidate)
        })
        .filter(|id| seen.insert(id.clone()))
        .collect()
}

/// `GHSA-xxxx-xxxx-xxxx`, each group four characters of GitHub's base-32 alphabet.
fn is_ghsa_id(candidate: &str) -> bool {
    let Some(rest) = candidate.strip_prefix("GHSA-") else {
        return false;
    };
    let groups: Vec<&str> = rest.split('-').collect();
    groups.len() == 3
        && groups.iter().all(|g| {
            g.len() == 4
                && g.chars()
                    .all(|c| c.is_ascii_digit() || c.is_ascii_lowercase())
        })
}

fn parse_operator(raw: &str) -> Result<CpeOperator, String> {
    match raw {
        "AND" => Ok(CpeOperator::And),
        "OR" => Ok(CpeOperator::Or),
        other => Err(format!("unknown operator {other:?}")),
    }
}

fn normalise_configuration(raw: RawConfiguration) -> Result<CpeConfiguration, String> {
    let operator = raw.operator.as_deref().map(parse_operator).transpose()?;
    let nodes = raw
        .nodes
        .into_iter()
        .map(|node| {
            Ok(CpeNode {
                operator: parse_operator(&node.operator)?,
                negate: node.negate,
                cpe_match: node
                    .cpe_match
                    .into_iter()
                    .map(|m| CpeMatch {
                        vulnerable: m.vulnerable,
                        criteria: m.criteria,
                        match_criteria_id: m.match_criteria_id,
                        version_start_including: m.version_start_including,
                        version_start_excluding: m.version_start_excluding,
                        version_end_including: m.version_end_including,
                        version_end_excluding: m.version_end_excluding,
                    })
                    .collect(),
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(CpeConfiguration {
        operator,
        negate: raw.negate,
        nodes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advisory::cvss::{CvssVersion, SeverityBand};
    use std::path::{Path, PathBuf};

    const SINGLE_CVE: &str = r#"{"resultsPerPage":1,"startIndex":0,"totalResults":1,"format":"NVD_CVE","version":"2.0","timestamp":"2023-07-28T05:46:22.353","vulnerabilities":[{"cve":{"id":"CVE-2023-0001","sourceIdentifier":"psirt@example.com","published":"2023-02-08T18:15:11.523","lastModified":"2023-02-18T20:41:02.460","vulnStatus":"Analyzed","descriptions":[{"lang":"es","value":"hola"},{"lang":"en","value":"An information exposure."}],"metrics":{"cvssMetricV31":[{"source":"psirt@example.com","type":"Secondary","cvssData":{"version":"3.1","vectorString":"CVSS:3.1/AV:L/AC:L/PR:H/UI:N/S:U/C:H/I:N/A:H","baseScore":6.0}},{"source":"nvd@nist.gov","type":"Primary","cvssData":{"version":"3.1","vectorString":"CVSS:3.1/AV:L/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H","baseScore":6.7}}]},"weaknesses":[{"source":"nvd@nist.gov","type":"Primary","description":[{"lang":"en","value":"CWE-319"}]},{"source":"x","type":"Secondary","description":[{"lang":"en","value":"CWE-319"},{"lang":"en","value":"NVD-CWE-noinfo"}]}],"configurations":[{"operator":"AND","nodes":[{"operator":"OR","negate":false,"cpeMatch":[{"vulnerable":true,"criteria":"cpe:2.3:a:vendor:agent:*:*:*:*:*:*:*:*","versionStartIncluding":"7.5","versionEndExcluding":"7.5.101","matchCriteriaId":"EC5B"}]},{"operator":"OR","negate":false,"cpeMatch":[{"vulnerable":false,"criteria":"cpe:2.3:o:microsoft:windows:-:*:*:*:*:*:*:*"}]}]}],"references":[{"url":"https://github.com/acme/lib/security/advisories/GHSA-abcd-efgh-2345","source":"x","tags":["Vendor Advisory"]},{"url":"https://www.exploit-db.com/exploits/1","tags":["Exploit","Third Party Advisory"]},{"url":"https://github.com/acme/lib/commit/1","tags":["Patch"]}]}}]}"#;

    #[test]
    fn single_cve_page_is_fully_normalised() {
        let page = parse_nvd_page(SINGLE_CVE.as_bytes()).unwrap();
        assert_eq!(
            (page.results_per_page, page.start_index, page.total_results),
            (1, 0, 1)
        );
        assert_eq!(page.next_start_index(), None);
        assert!(page.advisories.skipped.is_empty());
        let cve = &page.advisories.records[0];
        assert_eq!(cve.id, "CVE-2023-0001");
        assert_eq!(cve.details.as_deref(), Some("An information exposure."));
        assert_eq!(
            cve.published.unwrap().to_rfc3339(),
            "2023-02-08T18:15:11.523+00:00"
        );
        assert!(cve.withdrawn.is_none());
        assert_eq!(cve.cwe_ids, ["CWE-319"]);
        assert_eq!(cve.aliases, ["GHSA-abcd-efgh-2345"]);
        // The Primary metric wins although a Secondary one is listed first.
        assert_eq!(cve.severity.len(), 1);
        assert_eq!(cve.severity[0].source.as_deref(), Some("nvd@nist.gov"));
        let score = cve.severity[0].computed.unwrap();
        assert_eq!(
            (score.version, score.base_score, score.band),
            (CvssVersion::V3_1, 6.7, SeverityBand::Medium)
        );
        let kinds: Vec<&ReferenceType> = cve.references.iter().map(|r| &r.kind).collect();
        assert_eq!(
            kinds,
            [
                &ReferenceType::Advisory,
                &ReferenceType::Evidence,
                &ReferenceType::Fix
            ]
        );
        assert!(cve.references[1].is_exploit);
        assert!(!cve.references[2].is_exploit);
        let configuration = &cve.cpe_configurations[0];
        assert_eq!(configuration.operator, Some(CpeOperator::And));
        assert_eq!(configuration.nodes.len(), 2);
        let vulnerable = &configuration.nodes[0].cpe_match[0];
        assert!(vulnerable.vulnerable);
        assert_eq!(vulnerable.version_start_including.as_deref(), Some("7.5"));
        assert_eq!(vulnerable.version_end_excluding.as_deref(), Some("7.5.101"));
        assert!(!configuration.nodes[1].cpe_match[0].vulnerable);
    }

    #[test]
    fn rejected_cve_is_withdrawn_and_bad_entries_are_skipped() {
        let page = parse_nvd_page(br#"{"resultsPerPage":4,"startIndex":10,"totalResults":30,"vulnerabilities":[
            {"cve":{"id":"CVE-1999-0001","lastModified":"2020-01-01T00:00:00.000","vulnStatus":"Rejected","descriptions":[{"lang":"en","value":"** REJECT **"}]}},
            {"cve":{"id":"CVE-1999-0002"}},
            {"cve":{"id":"CVE-1999-0003","lastModified":"2020-01-01T00:00:00","configurations":[{"nodes":[{"operator":"XOR","cpeMatch":[]}]}]}},
            {"nope":1}
        ]}"#).unwrap();
        assert_eq!(page.next_start_index(), Some(14));
        let rejected = &page.advisories.records[0];
        assert_eq!(rejected.withdrawn, Some(rejected.modified));
        assert!(rejected.severity.is_empty() && rejected.references.is_empty());
        let skipped: Vec<(usize, Option<&str>)> = page
            .advisories
            .skipped
            .iter()
            .map(|s| (s.index, s.id.as_deref()))
            .collect();
        assert_eq!(
            skipped,
            [
                (1, Some("CVE-1999-0002")),
                (2, Some("CVE-1999-0003")),
                (3, None)
            ]
        );
        assert!(page.advisories.skipped[0].reason.contains("lastModified"));
        assert!(page.advisories.skipped[1].reason.contains("XOR"));
    }

    #[test]
    fn non_pages_are_errors() {
        assert!(matches!(
            parse_nvd_page(b"<html>"),
            Err(FormatError::Json(_))
        ));
        assert!(matches!(parse_nvd_page(b"[]"), Err(FormatError::Shape(_))));
        assert!(matches!(
            parse_nvd_page(br#"{"resultsPerPage":1,"startIndex":0,"totalResults":1}"#),
            Err(FormatError::Shape(_))
        ));
    }

    /// Every file under `dir`, sorted, as paths relative to it.
    fn every_file(dir: &Path) -> Vec<PathBuf> {
        let mut found = Vec::new();
        let mut pending = vec![dir.to_path_buf()];
        while let Some(current) = pending.pop() {
            for entry in std::fs::read_dir(&current).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    pending.push(path);
                } else {
                    found.push(path.strip_prefix(dir).unwrap().to_path_buf());
                }
            }
        }
        found.sort();
        found
    }

    /// What reading a file of the corpus must give.
    enum Expected {
        /// This many CVEs, none skipped.
        Cves(usize),
        /// Another NVD API's response: the error names it.
        OtherApi(&'static str),
        /// JSON that is no NVD response (the JSON schemas beside the recordings).
        NotNvd,
        /// Not JSON at all (licence and provenance notes).
        NotJson,
    }

    /// Every file of `nvd-cve-api-2.0`, with what it holds (CVE counts read off each file with
    /// `jq '.vulnerabilities | length'`; the `format` of the other APIs' responses).
    const CORPUS: &[(&str, Expected)] = &[
        ("SOURCE.txt", Expected::NotJson),
        ("pablotron-nvd-go/ref/README.md", Expected::NotJson),
        (
            "pablotron-nvd-go/ref/cpe_api_json_2.0.schema",
            Expected::NotNvd,
        ),
        (
            "pablotron-nvd-go/ref/cpematch_api_json_2.0.schema",
            Expected::NotNvd,
        ),
        (
            "pablotron-nvd-go/ref/cve_api_json_2.0.schema",
            Expected::NotNvd,
        ),
        (
            "pablotron-nvd-go/ref/cve_history_api_json_2.0.schema",
            Expected::NotNvd,
        ),
        ("pablotron-nvd-go/ref/cvss-v2.0.json", Expected::NotNvd),
        ("pablotron-nvd-go/ref/cvss-v3.0.json", Expected::NotNvd),
        ("pablotron-nvd-go/ref/cvss-v3.1.json", Expected::NotNvd),
        (
            "pablotron-nvd-go/ref/source_api_json_2.0.schema",
            Expected::NotNvd,
        ),
        ("pablotron-nvd-go/responses/README.md", Expected::NotJson),
        (
            "pablotron-nvd-go/responses/cpematch-CVE-2022-32223.json",
            Expected::OtherApi("Match Criteria API"),
        ),
        (
            "pablotron-nvd-go/responses/cpes-2023.json.gz",
            Expected::OtherApi("CPE API"),
        ),
        (
            "pablotron-nvd-go/responses/cve-2022-44006.json",
            Expected::Cves(1),
        ),
        (
            "pablotron-nvd-go/responses/cvehistory-CVE-2019-1010218.json",
            Expected::OtherApi("CVE Change History API"),
        ),
        (
            "pablotron-nvd-go/responses/cves-1999.json",
            Expected::Cves(200),
        ),
        (
            "pablotron-nvd-go/responses/cves-2023.json",
            Expected::Cves(200),
        ),
        (
            "pablotron-nvd-go/responses/cves-CVE-2023-0001.json",
            Expected::Cves(1),
        ),
        (
            "pablotron-nvd-go/responses/sources-20.json",
            Expected::OtherApi("Source API"),
        ),
        ("vunnel-nvd-fixtures/LICENSE", Expected::NotJson),
        (
            "vunnel-nvd-fixtures/tests/unit/providers/nvd/test-fixtures/full-page.json",
            Expected::Cves(38),
        ),
        (
            "vunnel-nvd-fixtures/tests/unit/providers/nvd/test-fixtures/single-entry.json",
            Expected::Cves(1),
        ),
    ];

    #[test]
    fn every_file_of_the_recorded_nvd_corpus_is_read_or_named() {
        let Some(root) = rampart_test_data::root() else {
            return;
        };
        let dir = root.join("nvd-cve-api-2.0");
        let files: Vec<String> = every_file(&dir)
            .iter()
            .map(|f| f.to_string_lossy().into_owned())
            .collect();
        let listed: Vec<&str> = CORPUS.iter().map(|(name, _)| *name).collect();
        assert_eq!(files, listed, "a file of the corpus has no expectation");
        let mut rejected = 0;
        let mut score_checks = (0, 0);
        for (name, expected) in CORPUS {
            let mut bytes = std::fs::read(dir.join(name)).unwrap();
            if name.ends_with(".gz") {
                let mut plain = Vec::new();
                std::io::Read::read_to_end(
                    &mut flate2::read::GzDecoder::new(bytes.as_slice()),
                    &mut plain,
                )
                .unwrap();
                bytes = plain;
            }
            match (expected, parse_nvd_cves(&bytes)) {
                (Expected::Cves(count), Ok(report)) => {
                    assert!(report.skipped.is_empty(), "{name}: {:?}", report.skipped);
                    assert_eq!(report.records.len(), *count, "{name}");
                    rejected += report
                        .records
                        .iter()
                        .filter(|a| a.withdrawn.is_some())
                        .count();
                    score_checks = add(score_checks, computed_scores_match_nvd(&bytes));
                }
                (Expected::OtherApi(api), Err(FormatError::Shape(message))) => {
                    assert!(message.contains(api), "{name}: {message}");
                    assert!(message.contains("not CVE data"), "{name}: {message}");
                }
                (Expected::NotNvd, Err(FormatError::Shape(message))) => {
                    assert!(
                        message.starts_with("not an NVD CVE API 2.0 document"),
                        "{name}: {message}"
                    );
                }
                (Expected::NotJson, Err(FormatError::Json(_))) => {}
                (_, outcome) => panic!("{name}: unexpected {:?}", outcome.map(|r| r.records.len())),
            }
        }
        // `vulnStatus: "Rejected"`: 3 in cves-1999.json, 1 in cves-2023.json.
        assert_eq!(rejected, 4);
        assert_eq!(
            score_checks.0, score_checks.1,
            "computed scores disagree with NVD"
        );
        assert!(score_checks.1 > 400);
    }

    #[test]
    fn a_single_item_reads_like_the_same_cve_on_a_page() {
        let page = parse_nvd_page(SINGLE_CVE.as_bytes()).unwrap();
        let item = serde_json::to_vec(
            &serde_json::from_str::<Value>(SINGLE_CVE).unwrap()["vulnerabilities"][0],
        )
        .unwrap();
        let from_item = parse_nvd_cves(&item).unwrap();
        assert_eq!(from_item.records, page.advisories.records);
        assert_eq!(
            parse_nvd_cves(SINGLE_CVE.as_bytes()).unwrap().records,
            page.advisories.records
        );
    }

    #[test]
    fn recorded_2023_page_keeps_paging_and_cpe_configurations() {
        let Some(root) = rampart_test_data::root() else {
            return;
        };
        let bytes =
            std::fs::read(root.join("nvd-cve-api-2.0/pablotron-nvd-go/responses/cves-2023.json"))
                .unwrap();
        let page = parse_nvd_page(&bytes).unwrap();
        assert_eq!(
            (page.start_index, page.results_per_page, page.total_results),
            (200_000, 200, 220_499)
        );
        assert_eq!(page.next_start_index(), Some(200_200));
        let configurations: Vec<&CpeConfiguration> = page
            .advisories
            .records
            .iter()
            .flat_map(|a| &a.cpe_configurations)
            .collect();
        // The data set's own description: 267 configurations, 87 of them AND.
        assert_eq!(configurations.len(), 267);
        let and_count = configurations
            .iter()
            .filter(|c| c.operator == Some(CpeOperator::And))
            .count();
        assert_eq!(and_count, 87);
        let ranged = configurations
            .iter()
            .flat_map(|c| &c.nodes)
            .flat_map(|n| &n.cpe_match)
            .filter(|m| m.version_start_including.is_some() || m.version_end_excluding.is_some())
            .count();
        assert!(ranged > 0);
        // Every AND configuration pairs a vulnerable node with a platform node.
        for configuration in configurations
            .iter()
            .filter(|c| c.operator == Some(CpeOperator::And))
        {
            assert!(configuration.nodes.len() >= 2);
            assert!(configuration
                .nodes
                .iter()
                .flat_map(|n| &n.cpe_match)
                .any(|m| m.vulnerable));
        }
    }

    fn add(a: (usize, usize), b: (usize, usize)) -> (usize, usize) {
        (a.0 + b.0, a.1 + b.1)
    }

    /// Compares our computed score with NVD's `baseScore` for every metric of the page (or
    /// the single item).
    fn computed_scores_match_nvd(bytes: &[u8]) -> (usize, usize) {
        let document: Value = serde_json::from_slice(bytes).unwrap();
        let entries = match document["vulnerabilities"].as_array() {
            Some(entries) => entries.clone(),
            None => vec![document],
        };
        let mut agreed = 0;
        let mut total = 0;
        for entry in &entries {
            let Some(metrics) = entry["cve"]["metrics"].as_object() else {
                continue;
            };
            for metric in metrics.values().flat_map(|m| m.as_array().unwrap()) {
                let data = &metric["cvssData"];
                let expected = data["baseScore"].as_f64().unwrap();
                total += 1;
                let computed = score_vector(data["vectorString"].as_str().unwrap()).unwrap();
                if computed.base_score == expected {
                    agreed += 1;
                } else {
                    eprintln!(
                        "{}: computed {} NVD {expected}",
                        data["vectorString"], computed.base_score
                    );
                }
            }
        }
        (agreed, total)
    }

    /// osv.dev's NVD → OSV converter snapshots, keyed by CVE id.
    fn osv_dev_snapshots(text: &str) -> Vec<(String, Value)> {
        let mut snapshots = Vec::new();
        let mut lines = text.lines();
        while let Some(line) = lines.next() {
            let Some(id) = line
                .strip_prefix("[TestCVEToOSV_TestJsonSnapshots/")
                .and_then(|rest| rest.strip_suffix(" - 1]"))
            else {
                continue;
            };
            let body: Vec<&str> = lines.by_ref().take_while(|l| *l != "---").collect();
            snapshots.push((
                id.to_string(),
                serde_json::from_str(&body.join("\n")).unwrap(),
            ));
        }
        snapshots
    }

    fn strings_at<'a>(value: &'a Value, pointer: &str, field: &str) -> Vec<&'a str> {
        value
            .pointer(pointer)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|item| {
                if field.is_empty() {
                    item.as_str()
                } else {
                    item[field].as_str()
                }
            })
            .collect()
    }

    #[test]
    fn agrees_with_osv_dev_nvd_conversion_snapshots() {
        let Some(root) = rampart_test_data::root() else {
            return;
        };
        let dir = root.join("peer-tests/osv-dev/vulnfeeds/conversion/nvd");
        let page = parse_nvd_page(&std::fs::read(dir.join("testdata/test.json")).unwrap()).unwrap();
        assert!(
            page.advisories.skipped.is_empty(),
            "{:?}",
            page.advisories.skipped
        );
        let snapshots = osv_dev_snapshots(
            &std::fs::read_to_string(dir.join("__snapshots__/converter_test.snap")).unwrap(),
        );
        assert!(snapshots.len() >= 10);
        let mut compared = 0;
        for (id, expected) in &snapshots {
            let ours = page
                .advisories
                .records
                .iter()
                .find(|a| &a.id == id)
                .unwrap_or_else(|| panic!("{id} missing from our parse"));
            compared += 1;
            let millis = |t: &chrono::DateTime<chrono::Utc>| {
                t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
            };
            assert_eq!(
                Some(millis(&ours.modified).as_str()),
                expected["modified"].as_str(),
                "{id} modified"
            );
            assert_eq!(
                ours.published.as_ref().map(millis).as_deref(),
                expected["published"].as_str(),
                "{id} published"
            );
            assert_eq!(
                ours.details.as_deref(),
                expected["details"].as_str(),
                "{id} details"
            );
            let mut aliases: Vec<&str> = ours.aliases.iter().map(String::as_str).collect();
            let mut expected_aliases = strings_at(expected, "/aliases", "");
            aliases.sort();
            expected_aliases.sort();
            assert_eq!(aliases, expected_aliases, "{id} aliases");
            // osv.dev keeps every reference URL once; so do we (NVD lists each once).
            let mut urls: Vec<&str> = ours.references.iter().map(|r| r.url.as_str()).collect();
            let mut expected_urls = strings_at(expected, "/references", "url");
            urls.sort();
            urls.dedup();
            expected_urls.sort();
            expected_urls.dedup();
            assert_eq!(urls, expected_urls, "{id} reference urls");
            for reference in &ours.references {
                let expected_types: Vec<&str> = expected["references"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|r| r["url"] == reference.url.as_str())
                    .filter_map(|r| r["type"].as_str())
                    .collect();
                assert!(
                    expected_types.contains(&reference.kind.as_osv()),
                    "{id} {} typed {} by us, {expected_types:?} by osv.dev",
                    reference.url,
                    reference.kind.as_osv()
                );
            }
            // osv.dev's converter emits only CVSS v3; our v4 (and v2) severities are extra.
            let expected_v3: Vec<&str> = expected["severity"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|s| s["type"] == "CVSS_V3")
                .filter_map(|s| s["score"].as_str())
                .collect();
            let ours_v3: Vec<&str> = ours
                .severity
                .iter()
                .filter(|s| s.kind == SeverityType::CvssV3)
                .map(|s| s.score.as_str())
                .collect();
            assert_eq!(ours_v3, expected_v3, "{id} CVSS_V3");
        }
        let v4_scored = page
            .advisories
            .records
            .iter()
            .flat_map(|a| &a.severity)
            .filter(|s| s.kind == SeverityType::CvssV4)
            .inspect(|s| assert!(s.computed.is_some(), "{} did not score", s.score))
            .count();
        assert!(v4_scored > 0);
        println!("osv.dev NVD snapshots: {v4_scored} CVSS v4 metrics scored; {compared} CVEs agree on timestamps, details, aliases, reference URLs and types, CVSS v3 vectors");
    }
}
