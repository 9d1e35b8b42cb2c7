//! Knowledge-base queries shared by the canonical `/api/v1/vulnerabilities` and seed 003's
//! `/api/product-cves`: the sort names, the severity filter, and the version-aware narrowing
//! through the match index (a purl, a CPE, a package with a version, or a catalogue product),
//! which also yields each match's evidence. Scope: `kb:read`.

use std::collections::HashMap;

use rampart_core::match_index::{IndexMatch, PlatformPolicy, PresentCpe};
use rampart_core::{PageRequest, Scope};
use rampart_formats::advisory::SeverityBand;
use rampart_store::{CatalogProduct, VulnerabilityFilter, VulnerabilitySort, VulnerabilitySummary};
use serde_json::Value;

use crate::actor::Actor;
use crate::error::{ErrorCode, ServiceError};
use crate::Engine;

fn bad(message: impl Into<String>) -> ServiceError {
    ServiceError::new(ErrorCode::BadRequest, message)
}

/// `epss`, `newest` (the default) or `oldest`; 400 otherwise.
pub fn parse_sort(sort: Option<&str>) -> Result<VulnerabilitySort, ServiceError> {
    match sort.map(str::trim) {
        None | Some("") | Some("newest") => Ok(VulnerabilitySort::Newest),
        Some("epss") => Ok(VulnerabilitySort::Epss),
        Some("oldest") => Ok(VulnerabilitySort::Oldest),
        Some(other) => Err(bad(format!(
            "`sort` must be epss, newest or oldest, not {other:?}"
        ))),
    }
}

/// A version as asked: trimmed; empty means none.
fn asked_version(version: Option<&str>) -> Option<&str> {
    version.map(str::trim).filter(|v| !v.is_empty())
}

/// What `/api/v1/vulnerabilities` filters by, as the caller wrote it.
#[derive(Debug, Default)]
pub struct VulnerabilityQuery<'a> {
    pub ecosystem: Option<&'a str>,
    pub package: Option<&'a str>,
    pub version: Option<&'a str>,
    pub purl: Option<&'a str>,
    pub cpe: Option<&'a str>,
    pub strict_platforms: bool,
    pub severity: Option<&'a str>,
    pub kev: Option<bool>,
    pub text: Option<&'a str>,
    pub sort: Option<&'a str>,
}

/// A page of vulnerability records, with the evidence of each version-aware match by
/// internal id.
pub struct VulnerabilityPage {
    pub rows: Vec<VulnerabilitySummary>,
    /// Records in the whole listing.
    pub total: u64,
    pub evidence: HashMap<i64, Value>,
}

impl VulnerabilityPage {
    /// Each record with the evidence of its match, when it came from the index.
    pub fn with_evidence(self) -> impl Iterator<Item = (VulnerabilitySummary, Option<Value>)> {
        let VulnerabilityPage { rows, evidence, .. } = self;
        rows.into_iter().map(move |row| {
            let found = evidence.get(&row.internal_id).cloned();
            (row, found)
        })
    }
}

/// Restricts a filter to the index's matches; returns their evidence by internal id.
fn narrow_to(filter: &mut VulnerabilityFilter, matches: Vec<IndexMatch>) -> HashMap<i64, Value> {
    filter.internal_ids = Some(matches.iter().map(|m| m.vulnerability_id).collect());
    matches
        .into_iter()
        .map(|m| {
            (
                m.vulnerability_id,
                serde_json::to_value(&m.evidence).unwrap_or(Value::Null),
            )
        })
        .collect()
}

/// One page of the records the filter admits, with the evidence given.
async fn page_of(
    engine: &Engine,
    filter: &VulnerabilityFilter,
    sort: VulnerabilitySort,
    page: PageRequest,
    evidence: HashMap<i64, Value>,
) -> Result<VulnerabilityPage, ServiceError> {
    let (rows, total) = engine
        .store
        .list_vulnerabilities(filter, sort, page)
        .await?;
    Ok(VulnerabilityPage {
        rows,
        total,
        evidence,
    })
}

/// The index's matches for a version-aware query (a purl, a CPE, or a package with a
/// version), or `None` when the query is not version-aware.
async fn version_matches(
    engine: &Engine,
    query: &VulnerabilityQuery<'_>,
) -> Result<Option<Vec<IndexMatch>>, ServiceError> {
    let index = engine.kb_index.load();
    let version = asked_version(query.version);
    if let Some(purl) = query.purl {
        let found = index
            .query_purl(purl, version)
            .ok_or_else(|| bad("`purl` is not a package URL of a known ecosystem"))?;
        return Ok(Some(found));
    }
    if let Some(cpe) = query.cpe {
        let parsed = rampart_versions::Cpe::parse(cpe).map_err(|e| bad(format!("`cpe`: {e}")))?;
        let cpe_version = parsed
            .version()
            .unquoted()
            .filter(|v| !v.contains(['*', '?']));
        let vendor = parsed.vendor().to_string();
        let product = parsed.product().to_string();
        let product_id = engine.store.catalog_product_id(&vendor, &product).await?;
        let policy = if query.strict_platforms {
            PlatformPolicy::Strict
        } else {
            PlatformPolicy::Report
        };
        return Ok(Some(match product_id {
            Some(product_id) => index.query_cpe(
                &[PresentCpe::Product {
                    product_id,
                    version: version.or(cpe_version.as_deref()).map(str::to_string),
                }],
                policy,
            ),
            None => Vec::new(),
        }));
    }
    let Some(version) = version else {
        return Ok(None);
    };
    let (Some(ecosystem), Some(package)) = (query.ecosystem, query.package) else {
        return Err(bad(
            "`version` needs `ecosystem` and `package`, a `purl` or a `cpe`",
        ));
    };
    Ok(Some(index.query_package(ecosystem, package, Some(version))))
}

/// Vulnerability records by package (version-aware), purl, CPE, severity, KEV and text.
pub async fn search_vulnerabilities(
    engine: &Engine,
    actor: &Actor,
    query: &VulnerabilityQuery<'_>,
    page: PageRequest,
) -> Result<VulnerabilityPage, ServiceError> {
    actor.require(Scope::KbRead)?;
    let sort = parse_sort(query.sort)?;
    if query
        .severity
        .is_some_and(|band| SeverityBand::parse(band).is_none())
    {
        return Err(bad(
            "`severity` must be critical, high, medium, low or none",
        ));
    }
    let mut filter = VulnerabilityFilter {
        ecosystem: query.ecosystem.map(str::to_string),
        package: query.package.map(str::to_string),
        cpe_product: None,
        severity: query.severity.map(str::to_string),
        kev: query.kev,
        text: query
            .text
            .filter(|q| !q.trim().is_empty())
            .map(str::to_string),
        internal_ids: None,
    };
    let evidence = match version_matches(engine, query).await? {
        Some(matches) => {
            if query.purl.is_none() && query.cpe.is_none() {
                // The index decided by package; the SQL package filter would only repeat it.
                filter.ecosystem = None;
                filter.package = None;
            }
            narrow_to(&mut filter, matches)
        }
        None => HashMap::new(),
    };
    page_of(engine, &filter, sort, page, evidence).await
}

/// The CVEs of a catalogue product (seed 003's `/api/product-cves`).
pub struct ProductCves {
    pub product: CatalogProduct,
    /// The version filtered by (trimmed), if any.
    pub version: Option<String>,
    pub cves: VulnerabilityPage,
}

/// The records affecting a catalogue product, or only a version of it when one is given.
pub async fn product_cves(
    engine: &Engine,
    actor: &Actor,
    product_id: i64,
    version: Option<&str>,
    sort: Option<&str>,
    page: PageRequest,
) -> Result<ProductCves, ServiceError> {
    actor.require(Scope::KbRead)?;
    let sort = parse_sort(sort)?;
    let product = engine
        .store
        .catalog_product(product_id)
        .await?
        .ok_or_else(|| ServiceError::not_found("product"))?;
    let version = asked_version(version);
    let matches = engine
        .kb_index
        .load()
        .query_cpe_product(product_id, version);
    let mut filter = VulnerabilityFilter::default();
    let evidence = narrow_to(&mut filter, matches);
    let cves = page_of(engine, &filter, sort, page, evidence).await?;
    Ok(ProductCves {
        product,
        version: version.map(str::to_string),
        cves,
    })
}

/// The records affecting `version` of the catalogue product `vendor:product`, with the
/// evidence of each match: the version-aware CPE matching of [`product_cves`] (the match
/// index's), for scans' detections. The caller checks its own scope. Empty when the
/// catalogue has no such product.
pub async fn cves_of_cpe_product(
    engine: &Engine,
    vendor: &str,
    product: &str,
    version: &str,
) -> Result<VulnerabilityPage, ServiceError> {
    let Some(product_id) = engine.store.catalog_product_id(vendor, product).await? else {
        return Ok(VulnerabilityPage {
            rows: Vec::new(),
            total: 0,
            evidence: HashMap::new(),
        });
    };
    let matches = engine
        .kb_index
        .load()
        .query_cpe_product(product_id, asked_version(Some(version)));
    if matches.is_empty() {
        return Ok(VulnerabilityPage {
            rows: Vec::new(),
            total: 0,
            evidence: HashMap::new(),
        });
    }
    let mut filter = VulnerabilityFilter::default();
    let evidence = narrow_to(&mut filter, matches);
    let page = PageRequest::new(1, i64::from(rampart_core::page::MAX_PER_PAGE))
        .map_err(|e| ServiceError::internal(e.to_string()))?;
    page_of(engine, &filter, VulnerabilitySort::Epss, page, evidence).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_defaults_to_newest_and_names_the_choices() {
        assert!(matches!(parse_sort(None), Ok(VulnerabilitySort::Newest)));
        assert!(matches!(
            parse_sort(Some(" ")),
            Ok(VulnerabilitySort::Newest)
        ));
        assert!(matches!(
            parse_sort(Some("epss")),
            Ok(VulnerabilitySort::Epss)
        ));
        let error = parse_sort(Some("severity")).unwrap_err();
        assert_eq!(error.code(), ErrorCode::BadRequest);
        assert!(error.message().contains("epss, newest or oldest"));
    }

    #[test]
    fn a_blank_version_is_no_version() {
        assert_eq!(asked_version(Some("  ")), None);
        assert_eq!(asked_version(Some(" 1.2 ")), Some("1.2"));
    }
}
