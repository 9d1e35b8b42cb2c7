//! Product/vendor CVE alerts: which watches a knowledge-base record answers, and why. Pure:
//! the store gathers a record's facts ([`RecordFacts`]) from every source that names what it
//! affects, and [`evaluate`] decides.
//!
//! A record names vendors and products in three places, and a watch is matched against all of
//! them, so that a new CVE that NVD has not analysed yet (no CPE configuration) still alerts:
//! - NVD CPE configurations (`cpe:2.3:a:<vendor>:<product>:…`, vulnerable criteria only);
//! - the CVE JSON 5 record's `affected[].vendor` / `affected[].product` (CNA and ADP
//!   containers), which a CVE carries from the day it is published;
//! - the CISA KEV entry's `vendorProject` / `product`.
//!
//! Packages come from OSV `affected[].package` (ecosystem + name, and the purl when given).
//!
//! Names are compared as words: case-insensitive, with spaces, `-`, `_`, `.` and `/`
//! separating words (CPE spells `http_server`, CVE 5 `HTTP Server`, KEV `HTTP Server`). A
//! record's name matches a watch's when the watch's words appear in it as consecutive whole
//! words: the watch `apache` matches CVE 5's vendor `Apache Software Foundation`, the watch
//! `http server` matches `Apache HTTP Server`, but `log4j` does not match `log4j2`.

use crate::package_name::package_lookup_key;

/// Where a vendor/product fact came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ProductSource {
    /// A vulnerable criterion of an NVD CPE configuration.
    NvdCpe,
    /// `affected[]` of the CVE JSON 5 record.
    Cve5,
    /// The CISA KEV entry.
    Kev,
}

impl ProductSource {
    pub fn as_str(self) -> &'static str {
        match self {
            ProductSource::NvdCpe => "nvd_cpe",
            ProductSource::Cve5 => "cve5",
            ProductSource::Kev => "kev",
        }
    }
}

/// A vendor and product a record names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductFact {
    pub vendor: String,
    pub product: String,
    pub source: ProductSource,
}

/// A package a record names (OSV `affected[].package`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageFact {
    pub ecosystem: String,
    pub name: String,
}

/// Everything about one record (an alias group: its CVE, GHSA, OSV ids together) that a
/// watch can ask about.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecordFacts {
    pub products: Vec<ProductFact>,
    pub packages: Vec<PackageFact>,
    /// Highest CVSS base score of any of its records (any version).
    pub max_cvss: Option<f64>,
    /// Highest EPSS probability of its CVE ids.
    pub epss: Option<f64>,
    /// CISA KEV lists one of its CVE ids.
    pub kev: bool,
    /// Every record of the group is withdrawn or rejected.
    pub withdrawn: bool,
}

/// What a watch is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchTarget {
    /// Any product of a vendor.
    Vendor { vendor: String },
    /// One product of a vendor.
    Product { vendor: String, product: String },
    /// A package: its `package_lookup_key` (from ecosystem + name, or from a purl).
    Package { key: String },
}

/// The optional conditions a match must also meet.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct WatchConditions {
    /// The record's highest CVSS base score is at least this (a record without a score fails).
    pub min_cvss: Option<f64>,
    /// Its EPSS probability is at least this (a record without a score fails).
    pub min_epss: Option<f64>,
    /// CISA KEV lists it.
    pub kev_only: bool,
}

/// Why a record matched a watch: the source and the identifier that decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchReason {
    /// `nvd_cpe`, `cve5`, `kev` or `osv_package`.
    pub matched_by: &'static str,
    /// `vendor:product` as the record spells it, or `ecosystem/name`.
    pub matched_on: String,
}

/// The words of a name, lower-cased.
pub fn name_words(name: &str) -> Vec<String> {
    name.split(|c: char| c.is_whitespace() || matches!(c, '-' | '_' | '.' | '/' | ',' | ':'))
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// The canonical spelling of a watched vendor or product name: its words joined by `_` (CPE's
/// spelling). Empty when the name has no word.
pub fn name_key(name: &str) -> String {
    name_words(name).join("_")
}

/// Whether `watched` (a watch's name) names `recorded` (a record's): the watch's words appear
/// in the record's as consecutive whole words.
pub fn names_match(watched: &str, recorded: &str) -> bool {
    let watched = name_words(watched);
    let recorded = name_words(recorded);
    if watched.is_empty() || watched.len() > recorded.len() {
        return false;
    }
    recorded
        .windows(watched.len())
        .any(|window| window == watched.as_slice())
}

/// Whether the record meets the watch's conditions.
pub fn meets(conditions: &WatchConditions, facts: &RecordFacts) -> bool {
    if conditions.kev_only && !facts.kev {
        return false;
    }
    if let Some(min) = conditions.min_cvss {
        if facts.max_cvss.is_none_or(|score| score < min) {
            return false;
        }
    }
    if let Some(min) = conditions.min_epss {
        if facts.epss.is_none_or(|score| score < min) {
            return false;
        }
    }
    true
}

/// Whether the record is about the watch's target, and by which fact. Sources are tried in a
/// fixed order (CPE, CVE 5, KEV) so the reason is stable.
pub fn target_match(target: &WatchTarget, facts: &RecordFacts) -> Option<MatchReason> {
    match target {
        WatchTarget::Vendor { vendor } => {
            best_product(facts, |fact| names_match(vendor, &fact.vendor))
        }
        WatchTarget::Product { vendor, product } => best_product(facts, |fact| {
            names_match(vendor, &fact.vendor) && names_match(product, &fact.product)
        }),
        WatchTarget::Package { key } => facts
            .packages
            .iter()
            .find(|package| package_lookup_key(&package.ecosystem, &package.name) == *key)
            .map(|package| MatchReason {
                matched_by: "osv_package",
                matched_on: format!("{}/{}", package.ecosystem, package.name),
            }),
    }
}

fn best_product(
    facts: &RecordFacts,
    accepts: impl Fn(&ProductFact) -> bool,
) -> Option<MatchReason> {
    facts
        .products
        .iter()
        .filter(|fact| accepts(fact))
        .min_by_key(|fact| fact.source)
        .map(|fact| MatchReason {
            matched_by: fact.source.as_str(),
            matched_on: format!("{}:{}", fact.vendor, fact.product),
        })
}

/// The decision for one watch and one record: `Some(reason)` when the record is about the
/// target and meets the conditions. A withdrawn record matches nothing.
pub fn evaluate(
    target: &WatchTarget,
    conditions: &WatchConditions,
    facts: &RecordFacts,
) -> Option<MatchReason> {
    if facts.withdrawn || !meets(conditions, facts) {
        return None;
    }
    target_match(target, facts)
}

/// Whether a record that matched before changed in a way its watchers care about: it newly
/// entered KEV, or its highest CVSS score moved by at least 0.1. (EPSS moves every day; it is
/// a condition, not a reason to alert again.)
pub fn materially_changed(before_cvss: Option<f64>, before_kev: bool, after: &RecordFacts) -> bool {
    if after.kev && !before_kev {
        return true;
    }
    match (before_cvss, after.max_cvss) {
        (None, Some(_)) => true,
        (Some(before), Some(after)) => (before - after).abs() >= 0.05,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn product(vendor: &str, product: &str, source: ProductSource) -> ProductFact {
        ProductFact {
            vendor: vendor.into(),
            product: product.into(),
            source,
        }
    }

    #[test]
    fn names_match_as_whole_consecutive_words() {
        assert!(names_match("apache", "Apache Software Foundation"));
        assert!(names_match("Apache", "apache"));
        assert!(names_match("http server", "Apache HTTP Server"));
        assert!(names_match("http_server", "Apache HTTP Server"));
        assert!(names_match("HTTP-Server", "http_server"));
        assert!(!names_match("log4j", "log4j2"));
        assert!(!names_match("server http", "http server"));
        assert!(!names_match("", "anything"));
        assert_eq!(name_key(" Apache  HTTP-Server "), "apache_http_server");
    }

    #[test]
    fn a_record_without_cpe_matches_by_its_cve5_or_kev_names() {
        let facts = RecordFacts {
            products: vec![product("Ivanti", "Connect Secure", ProductSource::Cve5)],
            ..Default::default()
        };
        let target = WatchTarget::Product {
            vendor: "ivanti".into(),
            product: "connect_secure".into(),
        };
        let reason = evaluate(&target, &WatchConditions::default(), &facts).unwrap();
        assert_eq!(reason.matched_by, "cve5");
        assert_eq!(reason.matched_on, "Ivanti:Connect Secure");
        let other = WatchTarget::Vendor {
            vendor: "fortinet".into(),
        };
        assert!(evaluate(&other, &WatchConditions::default(), &facts).is_none());
    }

    #[test]
    fn cpe_is_preferred_as_the_reason_when_several_sources_agree() {
        let facts = RecordFacts {
            products: vec![
                product("Apache", "Log4j2", ProductSource::Kev),
                product("apache", "log4j", ProductSource::NvdCpe),
            ],
            ..Default::default()
        };
        let target = WatchTarget::Vendor {
            vendor: "apache".into(),
        };
        let reason = target_match(&target, &facts).unwrap();
        assert_eq!(reason.matched_by, "nvd_cpe");
    }

    #[test]
    fn packages_match_by_their_lookup_key() {
        let facts = RecordFacts {
            packages: vec![PackageFact {
                ecosystem: "PyPI".into(),
                name: "Zope_Interface".into(),
            }],
            ..Default::default()
        };
        let target = WatchTarget::Package {
            key: package_lookup_key("pypi", "zope.interface"),
        };
        assert_eq!(
            target_match(&target, &facts).unwrap().matched_on,
            "PyPI/Zope_Interface"
        );
    }

    #[test]
    fn conditions_filter_and_missing_scores_fail_them() {
        let target = WatchTarget::Vendor {
            vendor: "acme".into(),
        };
        let mut facts = RecordFacts {
            products: vec![product("acme", "widget", ProductSource::NvdCpe)],
            max_cvss: Some(7.5),
            epss: None,
            kev: false,
            withdrawn: false,
            packages: vec![],
        };
        let high = WatchConditions {
            min_cvss: Some(9.0),
            ..Default::default()
        };
        assert!(evaluate(&target, &high, &facts).is_none());
        let medium = WatchConditions {
            min_cvss: Some(7.0),
            ..Default::default()
        };
        assert!(evaluate(&target, &medium, &facts).is_some());
        let kev = WatchConditions {
            kev_only: true,
            ..Default::default()
        };
        assert!(evaluate(&target, &kev, &facts).is_none());
        let epss = WatchConditions {
            min_epss: Some(0.1),
            ..Default::default()
        };
        assert!(evaluate(&target, &epss, &facts).is_none());
        facts.kev = true;
        facts.epss = Some(0.5);
        assert!(evaluate(&target, &kev, &facts).is_some());
        assert!(evaluate(&target, &epss, &facts).is_some());
        facts.withdrawn = true;
        assert!(evaluate(&target, &kev, &facts).is_none());
    }

    #[test]
    fn kev_listing_and_score_moves_are_material() {
        let mut facts = RecordFacts {
            max_cvss: Some(5.0),
            ..Default::default()
        };
        assert!(!materially_changed(Some(5.0), false, &facts));
        assert!(materially_changed(None, false, &facts));
        facts.max_cvss = Some(9.8);
        assert!(materially_changed(Some(5.0), false, &facts));
        facts.max_cvss = Some(5.0);
        facts.kev = true;
        assert!(materially_changed(Some(5.0), false, &facts));
        assert!(!materially_changed(Some(5.0), true, &facts));
    }
}
