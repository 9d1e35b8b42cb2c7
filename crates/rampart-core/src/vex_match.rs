//! Applying a VEX document to one release: which findings each statement decides.
//!
//! A statement decides a finding when the finding's vulnerability is one the statement names
//! (any alias of either side) **and** the finding's component is one the statement identifies
//! — never on the vulnerability alone (Dependency-Track matched by CVE alone, DT#3554).
//!
//! Identity, read leniently (DESIGN §5), with one rule for every format:
//! - **purl**: the package the purl denotes (its OSV ecosystem and name where it has one,
//!   normalised with [`package_lookup_key`]: case where the ecosystem ignores case, PEP 503 for
//!   PyPI, npm scopes with or without `@` or as `%40`, Maven groups written with `/` or `.`),
//!   plus the version. Qualifiers and subpath are ignored: `pkg:deb/debian/openssl@3.0.11`
//!   names the package on every architecture and distribution release, and a VEX that differs
//!   from the SBOM only in `repository_url` or `arch` (grype#1836) still applies. A purl without
//!   a version names every version of the package (the OpenVEX convention).
//! - **version range**: a subject whose version is a `vers:` range (CSAF
//!   `product_version_range`) names every version of the package inside the range, compared
//!   in the ecosystem's own order.
//! - **CPE**: vendor (when both say one), product and version (ANY in the statement: every
//!   version), case-insensitively.
//! - **name and version**: only for a subject with neither purl nor CPE, and only with a
//!   version; the name compared case-insensitively.
//!
//! Products and components: a statement that names components applies to those components,
//! provided one of its products is this release (by the release's own identities, or a
//! CycloneDX BOM-link to the release's SBOM serial number) or a component of it, or it names
//! no product at all (a VEX embedded in the release's own SBOM). A statement that names only
//! products applies, per product, to the release's components that product identifies, or —
//! when the product is the release itself — to every finding of the vulnerability in the
//! release (a document-level statement).
//!
//! Every statement has one outcome: applied (the findings it decides), skipped (with a
//! [`SkipReason`]: an invalid decision, a product that is not this release, a vulnerability
//! the release does not have) or unmatched (the vulnerability is present, but no component
//! the statement identifies has it). Nothing is dropped silently.
//!
//! When several statements decide one finding, [`VexMatch::decisions`] keeps one: a statement
//! naming components beats a release-wide one, and among equals the later statement in the
//! document wins (documents list updates after what they update).

use std::collections::{HashMap, HashSet};

use rampart_formats::vex::{Statement, Subject, VexDocument};
use rampart_versions::purl::{Purl, PurlParts};
use rampart_versions::vers::scheme_for_vers_type;
use rampart_versions::{Cpe, Scheme, VersRange};

use crate::package_name::package_lookup_key;

/// A component of the release, as its SBOM names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseComponent {
    pub id: i64,
    pub name: String,
    pub version: Option<String>,
    pub purl: Option<String>,
    pub cpe: Option<String>,
    /// Its `bom-ref` in the SBOM, for CycloneDX BOM-links (`urn:cdx:<serial>/<v>#<bom-ref>`).
    pub bom_ref: Option<String>,
}

/// A finding of the release: a component × a vulnerability, known by all its aliases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseFinding {
    pub id: i64,
    pub component_id: i64,
    /// The ids of the vulnerability's alias group (`CVE-…`, `GHSA-…`, …).
    pub vulnerability_ids: Vec<String>,
}

/// What the statements are matched against.
#[derive(Debug, Clone, Default)]
pub struct Release {
    /// What names the release itself: the product name with the release version, the SBOM's
    /// own component (`metadata.component`), … Matched like statement subjects.
    pub identities: Vec<Subject>,
    /// Serial numbers (`urn:uuid:…`) of the release's CycloneDX SBOMs, for BOM-links.
    pub bom_serial_numbers: Vec<String>,
    pub components: Vec<ReleaseComponent>,
    pub findings: Vec<ReleaseFinding>,
}

/// How a release names itself in VEX documents: its product's name and the release version,
/// plus the purl `pkg:generic/<product name>@<version>` for formats that identify products
/// only by an IRI (OpenVEX `@id`). Documents Rampart writes name releases this way, and
/// imports recognise it.
pub fn release_subject(product_name: &str, version: &str) -> Subject {
    let purl = Purl::build(&PurlParts {
        purl_type: "generic",
        name: product_name,
        version: Some(version),
        ..PurlParts::default()
    })
    .ok()
    .map(|purl| purl.to_string());
    Subject {
        key: purl
            .clone()
            .unwrap_or_else(|| format!("{product_name}@{version}")),
        name: product_name.to_string(),
        vendor: None,
        version: Some(version.to_string()),
        purl,
        cpe: None,
    }
}

/// Why a statement was not applied although it was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SkipReason {
    /// The decision breaks a rule of `Disposition::validate` (e.g. `affected` without an
    /// action statement).
    InvalidDisposition,
    /// The statement names components, but its products are neither this release nor one of
    /// its components.
    ProductNotThisRelease,
    /// None of the vulnerability's ids is among the release's findings.
    NoSuchVulnerability,
}

impl SkipReason {
    pub fn code(self) -> &'static str {
        match self {
            SkipReason::InvalidDisposition => "invalid_disposition",
            SkipReason::ProductNotThisRelease => "product_not_this_release",
            SkipReason::NoSuchVulnerability => "no_such_vulnerability",
        }
    }
}

/// What became of one statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The statement decides these findings (ids, ascending).
    Applied {
        findings: Vec<i64>,
        /// Whether the statement named components (rather than the release as a whole).
        by_component: bool,
    },
    Skipped {
        reason: SkipReason,
        detail: String,
    },
    /// The vulnerability is in the release, but not in a component the statement names.
    Unmatched {
        detail: String,
    },
}

/// One statement's outcome; `statement` indexes [`VexDocument::statements`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementMatch {
    pub statement: usize,
    pub vulnerability: String,
    pub outcome: Outcome,
}

/// The outcome of every statement of a document, in document order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VexMatch {
    pub statements: Vec<StatementMatch>,
}

impl VexMatch {
    pub fn applied(&self) -> impl Iterator<Item = &StatementMatch> {
        self.statements
            .iter()
            .filter(|s| matches!(s.outcome, Outcome::Applied { .. }))
    }

    pub fn skipped(&self) -> impl Iterator<Item = &StatementMatch> {
        self.statements
            .iter()
            .filter(|s| matches!(s.outcome, Outcome::Skipped { .. }))
    }

    pub fn unmatched(&self) -> impl Iterator<Item = &StatementMatch> {
        self.statements
            .iter()
            .filter(|s| matches!(s.outcome, Outcome::Unmatched { .. }))
    }

    /// One deciding statement per finding: `(finding id, statement index)`, by finding id.
    /// A statement naming components beats a release-wide one; among equals, the later one.
    pub fn decisions(&self) -> Vec<(i64, usize)> {
        let mut chosen: HashMap<i64, (bool, usize)> = HashMap::new();
        for matched in &self.statements {
            let Outcome::Applied {
                findings,
                by_component,
            } = &matched.outcome
            else {
                continue;
            };
            for finding in findings {
                let candidate = (*by_component, matched.statement);
                chosen
                    .entry(*finding)
                    .and_modify(|current| {
                        if candidate >= *current {
                            *current = candidate;
                        }
                    })
                    .or_insert(candidate);
            }
        }
        let mut decisions: Vec<(i64, usize)> = chosen
            .into_iter()
            .map(|(finding, (_, statement))| (finding, statement))
            .collect();
        decisions.sort_unstable();
        decisions
    }
}

/// Matches every statement of `document` against `release`.
pub fn match_document(document: &VexDocument, release: &Release) -> VexMatch {
    let index = ReleaseIndex::new(release);
    let subjects: HashMap<&str, &Subject> = document
        .products
        .iter()
        .chain(&document.components)
        .map(|s| (s.key.as_str(), s))
        .collect();
    let mut resolved = SubjectCache::default();
    let statements = document
        .statements
        .iter()
        .enumerate()
        .map(|(position, statement)| StatementMatch {
            statement: position,
            vulnerability: statement.vulnerability.id.clone(),
            outcome: match_statement(statement, &subjects, &index, &mut resolved),
        })
        .collect();
    VexMatch { statements }
}

fn match_statement<'d>(
    statement: &'d Statement,
    subjects: &HashMap<&str, &'d Subject>,
    index: &ReleaseIndex<'_>,
    resolved: &mut SubjectCache<'d>,
) -> Outcome {
    if let Err(error) = statement.disposition.validate() {
        return Outcome::Skipped {
            reason: SkipReason::InvalidDisposition,
            detail: error.to_string(),
        };
    }
    let vulnerability = &statement.vulnerability;
    let with_vulnerability: HashSet<usize> = std::iter::once(&vulnerability.id)
        .chain(&vulnerability.aliases)
        .filter_map(|id| index.findings_by_vulnerability.get(&vulnerability_key(id)))
        .flatten()
        .copied()
        .collect();
    if with_vulnerability.is_empty() {
        return Outcome::Skipped {
            reason: SkipReason::NoSuchVulnerability,
            detail: format!(
                "the release has no finding of {}",
                ids_text(&vulnerability.id, &vulnerability.aliases)
            ),
        };
    }
    let subject = |key: &str| subjects.get(key).copied();
    let mut targets: HashSet<usize> = HashSet::new();
    let mut release_wide = false;
    if statement.components.is_empty() {
        for key in &statement.products {
            let Some(product) = subject(key) else {
                continue;
            };
            let components = resolved.components(product, index);
            if !components.is_empty() {
                targets.extend(components.iter().copied());
            } else if resolved.is_release(product, index) {
                release_wide = true;
            }
        }
    } else {
        let product_ok = statement.products.is_empty()
            || statement.products.iter().any(|key| {
                subject(key).is_some_and(|product| {
                    resolved.is_release(product, index)
                        || !resolved.components(product, index).is_empty()
                })
            });
        if !product_ok {
            return Outcome::Skipped {
                reason: SkipReason::ProductNotThisRelease,
                detail: format!(
                    "the statement is about {}, not this release",
                    identifiers_text(&statement.products, &subject)
                ),
            };
        }
        for key in &statement.components {
            if let Some(component) = subject(key) {
                targets.extend(resolved.components(component, index).iter().copied());
            }
        }
    }
    let mut findings: Vec<i64> = with_vulnerability
        .iter()
        .map(|&position| &index.release.findings[position])
        .filter(|finding| {
            release_wide
                || index
                    .component_position
                    .get(&finding.component_id)
                    .is_some_and(|position| targets.contains(position))
        })
        .map(|finding| finding.id)
        .collect();
    if findings.is_empty() {
        let named = if statement.components.is_empty() {
            &statement.products
        } else {
            &statement.components
        };
        let detail = if targets.is_empty() {
            format!(
                "{} is in the release, but no component of the release is {}",
                vulnerability.id,
                identifiers_text(named, &subject)
            )
        } else {
            format!(
                "{} is in the release, but not in {}",
                vulnerability.id,
                identifiers_text(named, &subject)
            )
        };
        return Outcome::Unmatched { detail };
    }
    findings.sort_unstable();
    findings.dedup();
    Outcome::Applied {
        findings,
        by_component: !release_wide,
    }
}

fn ids_text(id: &str, aliases: &[String]) -> String {
    if aliases.is_empty() {
        id.to_string()
    } else {
        format!("{id} ({})", aliases.join(", "))
    }
}

fn identifiers_text<'d>(keys: &[String], subject: &impl Fn(&str) -> Option<&'d Subject>) -> String {
    let names: Vec<&str> = keys
        .iter()
        .map(|key| subject(key).map_or(key.as_str(), Subject::identifier))
        .collect();
    match names.as_slice() {
        [] => "nothing".into(),
        [one] => format!("`{one}`"),
        many => format!("`{}`", many.join("`, `")),
    }
}

/// Vulnerability ids compare case-insensitively (`GHSA-abcd-…` and `ghsa-abcd-…`).
fn vulnerability_key(id: &str) -> String {
    id.trim().to_ascii_uppercase()
}

/// The package a purl denotes, independent of how it is spelled: the OSV lookup key where
/// the purl's type has an ecosystem, else type, namespace and name. Maven groups written as
/// paths (`org/apache/…`) meet the dotted spelling.
pub fn purl_package_key(purl: &Purl) -> String {
    if let Some(package) = purl.osv_package() {
        let name = if purl.purl_type() == "maven" {
            package.name.replace('/', ".")
        } else {
            package.name
        };
        return package_lookup_key(&package.ecosystem.without_suffix().to_string(), &name);
    }
    match purl.namespace() {
        Some(namespace) => format!(
            "{}/{}/{}",
            purl.purl_type(),
            namespace.to_lowercase(),
            purl.name().to_lowercase()
        ),
        None => format!("{}/{}", purl.purl_type(), purl.name().to_lowercase()),
    }
}

/// The purl without qualifiers and subpath: the package whatever the architecture, distro
/// release or repository (the purl itself if a type requires a qualifier).
fn bare(purl: &Purl) -> Purl {
    if purl.qualifiers().is_empty() && purl.subpath().is_none() {
        return purl.clone();
    }
    Purl::build(&PurlParts {
        purl_type: purl.purl_type(),
        namespace: purl.namespace(),
        name: purl.name(),
        version: purl.version(),
        qualifiers: Vec::new(),
        subpath: None,
    })
    .unwrap_or_else(|_| purl.clone())
}

/// The version order of the purl's ecosystem (generic where it has none).
fn purl_scheme(purl: &Purl) -> Scheme {
    purl.osv_package()
        .map_or(Scheme::Generic, |package| package.ecosystem.scheme())
}

/// Whether two spellings name one version: equal text, or equal in the ecosystem's order
/// (`v1.2.0` and `1.2.0` in Go).
fn same_version(scheme: Scheme, a: &str, b: &str) -> bool {
    let (a, b) = (a.trim(), b.trim());
    a == b || scheme.compare(a, b).is_ok_and(|o| o.is_eq())
}

/// A version a statement subject names.
enum VersionSpec {
    Any,
    Exact(String),
    Range(Box<rampart_versions::vers::CompiledVers>),
    /// A range this crate cannot evaluate: matches nothing.
    Unusable,
}

impl VersionSpec {
    fn of(version: Option<&str>) -> VersionSpec {
        match version.map(str::trim).filter(|v| !v.is_empty()) {
            None => VersionSpec::Any,
            Some(range) if range.starts_with("vers:") => VersRange::parse_syntax(range)
                .ok()
                .and_then(|parsed| {
                    if parsed.is_any() {
                        return Some(None);
                    }
                    let scheme = scheme_for_vers_type(parsed.vers_type())?;
                    parsed
                        .normalized(scheme)
                        .ok()?
                        .compile(scheme)
                        .ok()
                        .map(Some)
                })
                .map_or(VersionSpec::Unusable, |compiled| match compiled {
                    None => VersionSpec::Any,
                    Some(compiled) => VersionSpec::Range(Box::new(compiled)),
                }),
            Some(version) => VersionSpec::Exact(version.to_string()),
        }
    }

    fn admits(&self, scheme: Scheme, version: Option<&str>) -> bool {
        match self {
            VersionSpec::Any => true,
            VersionSpec::Unusable => false,
            VersionSpec::Exact(wanted) => version.is_some_and(|v| same_version(scheme, wanted, v)),
            VersionSpec::Range(range) => version
                .and_then(|v| range.contains_str(v).ok())
                .is_some_and(|c| c.contained),
        }
    }
}

/// A release component's identity, parsed once.
struct IndexedComponent {
    /// The spellings of its version: the purl's, the purl's as its ecosystem's advisories
    /// spell it (epoch folded in), the component's.
    versions: Vec<String>,
    scheme: Scheme,
    cpe: Option<Cpe>,
}

struct ReleaseIndex<'r> {
    release: &'r Release,
    components: Vec<IndexedComponent>,
    by_package: HashMap<String, Vec<usize>>,
    by_cpe_product: HashMap<String, Vec<usize>>,
    by_name: HashMap<String, Vec<usize>>,
    by_bom_ref: HashMap<String, Vec<usize>>,
    component_position: HashMap<i64, usize>,
    findings_by_vulnerability: HashMap<String, Vec<usize>>,
    serials: HashSet<String>,
}

impl<'r> ReleaseIndex<'r> {
    fn new(release: &'r Release) -> Self {
        let mut index = ReleaseIndex {
            release,
            components: Vec::with_capacity(release.components.len()),
            by_package: HashMap::new(),
            by_cpe_product: HashMap::new(),
            by_name: HashMap::new(),
            by_bom_ref: HashMap::new(),
            component_position: HashMap::new(),
            findings_by_vulnerability: HashMap::new(),
            serials: release
                .bom_serial_numbers
                .iter()
                .map(|s| s.trim().to_ascii_lowercase())
                .collect(),
        };
        for (position, component) in release.components.iter().enumerate() {
            index.component_position.insert(component.id, position);
            let purl = component
                .purl
                .as_deref()
                .and_then(|p| Purl::parse_lenient(p).ok());
            let mut scheme = Scheme::Generic;
            let mut versions = Vec::new();
            if let Some(purl) = &purl {
                // Under the package the purl names without its qualifiers, and under the
                // one it denotes with them (a distribution binary's `upstream` source).
                let mut keys = vec![purl_package_key(&bare(purl)), purl_package_key(purl)];
                keys.dedup();
                for key in keys {
                    index.by_package.entry(key).or_default().push(position);
                }
                scheme = purl_scheme(purl);
                versions.extend(purl.version().map(str::to_string));
                versions.extend(purl.osv_version());
            }
            versions.extend(component.version.clone());
            versions.retain(|v| !v.trim().is_empty());
            versions.dedup();
            let cpe = component.cpe.as_deref().and_then(|c| Cpe::parse(c).ok());
            if let Some(product) = cpe.as_ref().and_then(|c| c.product().unquoted()) {
                index
                    .by_cpe_product
                    .entry(product.to_lowercase())
                    .or_default()
                    .push(position);
            }
            if let Some(bom_ref) = component.bom_ref.as_deref().filter(|r| !r.is_empty()) {
                index
                    .by_bom_ref
                    .entry(bom_ref.to_string())
                    .or_default()
                    .push(position);
            }
            let name = component.name.trim().to_lowercase();
            if !name.is_empty() {
                index.by_name.entry(name).or_default().push(position);
            }
            index.components.push(IndexedComponent {
                versions,
                scheme,
                cpe,
            });
        }
        for (position, finding) in release.findings.iter().enumerate() {
            let mut seen = HashSet::new();
            for id in &finding.vulnerability_ids {
                let key = vulnerability_key(id);
                if seen.insert(key.clone()) {
                    index
                        .findings_by_vulnerability
                        .entry(key)
                        .or_default()
                        .push(position);
                }
            }
        }
        index
    }

    /// The release's components `subject` identifies (positions in `release.components`).
    fn components_of(&self, subject: &Subject) -> Vec<usize> {
        if let Some(found) = self.linked_components(subject) {
            return found.to_vec();
        }
        if let Some(purl) = subject.purl.as_deref() {
            let Ok(purl) = Purl::parse_lenient(purl) else {
                return Vec::new();
            };
            // A range travels as the subject's version; else the purl's version decides.
            let version = match subject.version.as_deref() {
                Some(range) if range.trim_start().starts_with("vers:") => Some(range.to_string()),
                _ => purl.version().map(str::to_string),
            };
            let spec = VersionSpec::of(version.as_deref());
            let scheme = purl_scheme(&purl);
            return self
                .by_package
                .get(&purl_package_key(&bare(&purl)))
                .into_iter()
                .flatten()
                .copied()
                .filter(|&position| self.admits(position, &spec, scheme))
                .collect();
        }
        if let Some(cpe) = subject.cpe.as_deref() {
            let Ok(cpe) = Cpe::parse(cpe) else {
                return Vec::new();
            };
            return self.components_by_cpe(&cpe);
        }
        let Some(version) = subject.version.as_deref().filter(|v| !v.trim().is_empty()) else {
            return Vec::new();
        };
        let spec = VersionSpec::of(Some(version));
        self.by_name
            .get(&subject.name.trim().to_lowercase())
            .into_iter()
            .flatten()
            .copied()
            .filter(|&position| {
                let component = &self.components[position];
                self.admits(position, &spec, component.scheme)
            })
            .collect()
    }

    fn admits(&self, position: usize, spec: &VersionSpec, scheme: Scheme) -> bool {
        let versions = &self.components[position].versions;
        match spec {
            VersionSpec::Any => true,
            _ => versions.iter().any(|v| spec.admits(scheme, Some(v))),
        }
    }

    fn components_by_cpe(&self, wanted: &Cpe) -> Vec<usize> {
        let Some(product) = wanted.product().unquoted() else {
            return Vec::new();
        };
        let vendor = wanted.vendor().unquoted().map(|v| v.to_lowercase());
        let version = wanted
            .version()
            .unquoted()
            .filter(|v| !v.is_empty() && v != "*");
        self.by_cpe_product
            .get(&product.to_lowercase())
            .into_iter()
            .flatten()
            .copied()
            .filter(|&position| {
                let component = &self.components[position];
                let Some(cpe) = &component.cpe else {
                    return false;
                };
                let vendor_ok = match (&vendor, cpe.vendor().unquoted()) {
                    (Some(wanted), Some(have)) => *wanted == have.to_lowercase(),
                    _ => true,
                };
                let version_ok = match &version {
                    None => true,
                    Some(wanted) => cpe
                        .version()
                        .unquoted()
                        .filter(|v| !v.is_empty() && v != "*")
                        .or_else(|| component.versions.last().cloned())
                        .is_some_and(|have| same_version(component.scheme, wanted, &have)),
                };
                vendor_ok && version_ok
            })
            .collect()
    }

    /// The components a BOM-link into the release's SBOM names by `bom-ref`.
    fn linked_components(&self, subject: &Subject) -> Option<&[usize]> {
        let (serial, fragment) = bom_link(&subject.key)?;
        if !self.serials.contains(&serial) {
            return None;
        }
        self.by_bom_ref.get(fragment?).map(Vec::as_slice)
    }

    /// Whether `subject` names the release itself: one of its identities, or a BOM-link
    /// into its SBOM that names no component of it (the SBOM's own component).
    fn is_release(&self, subject: &Subject) -> bool {
        if let Some((serial, _)) = bom_link(&subject.key) {
            if self.serials.contains(&serial) && self.linked_components(subject).is_none() {
                return true;
            }
        }
        self.release
            .identities
            .iter()
            .any(|identity| same_subject(identity, subject))
    }
}

/// A CycloneDX BOM-link (`urn:cdx:<uuid>/<version>#<bom-ref>`): the serial number as
/// `urn:uuid:<uuid>` in lower case, and the percent-decoded `bom-ref` if there is one.
fn bom_link(key: &str) -> Option<(String, Option<&str>)> {
    let rest = key.trim().strip_prefix("urn:cdx:")?;
    let (document, fragment) = match rest.split_once('#') {
        Some((document, fragment)) => (document, Some(fragment).filter(|f| !f.is_empty())),
        None => (rest, None),
    };
    let uuid = document.split('/').next().filter(|u| !u.is_empty())?;
    Some((format!("urn:uuid:{}", uuid.to_ascii_lowercase()), fragment))
}

/// Whether two subjects name the same thing: purl package and version, CPE, or name and
/// version (a side without a version names every version).
fn same_subject(identity: &Subject, subject: &Subject) -> bool {
    let version_ok = |scheme: Scheme, a: Option<&str>, b: Option<&str>| match (a, b) {
        (Some(a), Some(b)) => same_version(scheme, a, b),
        _ => true,
    };
    if let (Some(a), Some(b)) = (identity.purl.as_deref(), subject.purl.as_deref()) {
        if let (Ok(a), Ok(b)) = (Purl::parse_lenient(a), Purl::parse_lenient(b)) {
            return purl_package_key(&bare(&a)) == purl_package_key(&bare(&b))
                && version_ok(purl_scheme(&a), a.version(), b.version());
        }
    }
    if let (Some(a), Some(b)) = (identity.cpe.as_deref(), subject.cpe.as_deref()) {
        if let (Ok(a), Ok(b)) = (Cpe::parse(a), Cpe::parse(b)) {
            let text = |value: &rampart_versions::cpe::CpeValue| {
                value.unquoted().map(|v| v.to_lowercase())
            };
            return text(a.product()) == text(b.product())
                && text(a.vendor()) == text(b.vendor())
                && version_ok(
                    Scheme::Generic,
                    text(a.version()).as_deref(),
                    text(b.version()).as_deref(),
                );
        }
    }
    let name = |s: &Subject| s.name.trim().to_lowercase();
    !identity.name.trim().is_empty()
        && name(identity) == name(subject)
        && version_ok(
            Scheme::Generic,
            identity.version.as_deref(),
            subject.version.as_deref(),
        )
}

/// Subjects resolved once per document (statements share products and components).
#[derive(Default)]
struct SubjectCache<'d> {
    components: HashMap<&'d str, Vec<usize>>,
    releases: HashMap<&'d str, bool>,
}

impl<'d> SubjectCache<'d> {
    fn components(&mut self, subject: &'d Subject, index: &ReleaseIndex<'_>) -> &[usize] {
        self.components
            .entry(subject.key.as_str())
            .or_insert_with(|| index.components_of(subject))
    }

    fn is_release(&mut self, subject: &'d Subject, index: &ReleaseIndex<'_>) -> bool {
        *self
            .releases
            .entry(subject.key.as_str())
            .or_insert_with(|| index.is_release(subject))
    }
}

#[cfg(test)]
#[path = "vex_match_tests.rs"]
mod tests;
