//! SBOM analysis: the worker that claims queued analyses from the store's job queue (a lease,
//! so a job whose worker died is taken again, and on PostgreSQL `FOR UPDATE SKIP LOCKED`, so
//! replicas take different jobs), and [`analyse`], which matches every component against the
//! in-memory index and records the findings.
//!
//! Matching: a component's purl names an ecosystem package, looked up at the purl's version
//! (or the component's); CPE matching, only for products that turn it on, looks the
//! component's CPE up in the NVD catalogue. One finding per component and alias group: when
//! several records of one group match (a GHSA and the PYSEC it aliases), one represents the
//! group by a documented rule ([`representative_rank`]) and the others are its aliases.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use chrono::{DateTime, Utc};
use rampart_core::match_index::{
    IndexMatch, MatchIndex, MatchIndexHandle, PlatformPolicy, PresentCpe,
};
use rampart_core::package_lookup_key;
use rampart_store::{
    Analysis, AnalysisOutcome, AnalysisPart, AnalysisProgress, ComponentIdentity, ComponentPackage,
    ComponentResolution, NewFinding, Store, StoreError, VulnerabilityRef,
};
use rampart_versions::cpe::CpeValue;
use rampart_versions::purl::{OsvPackage, Purl};
use rampart_versions::Cpe;
use tokio::sync::{watch, Notify};

/// How long a claimed analysis stays with its worker before another may take it; renewed
/// every third of it while the analysis runs, so work resumes within about a minute of a
/// crash however long the analysis takes.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(60);
/// How often an idle worker looks for work nobody announced (another replica's uploads,
/// expired leases).
const IDLE_POLL: Duration = Duration::from_secs(2);

/// Components matched together (their matches are reduced to findings before the next).
const MATCH_CHUNK: usize = 10_000;

/// Renews the lease on a running analysis every third of `lease` (returns when the renewal
/// fails: the analysis is no longer this worker's to run, or the database is gone; the
/// completion then finds it not running and writes nothing).
async fn renew_lease(store: &Store, analysis: &Analysis, lease: Duration) {
    loop {
        tokio::time::sleep(lease / 3).await;
        match store.renew_analysis_lease(analysis, lease).await {
            Ok(true) => {}
            Ok(false) => return,
            Err(error) => {
                tracing::warn!(analysis = analysis.id, %error, "renewing the analysis lease failed");
                return;
            }
        }
    }
}

/// Runs until `stop` turns true: claims and analyses jobs, sleeping when there are none.
pub async fn run_worker(
    store: Store,
    index: MatchIndexHandle,
    wakeup: std::sync::Arc<Notify>,
    lease: Duration,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        if *stop.borrow() {
            return;
        }
        match store.claim_analysis(lease).await {
            Ok(Some(analysis)) => {
                let id = analysis.id;
                let started = std::time::Instant::now();
                let analysed = {
                    // The lease is renewed for as long as the analysis runs. When a renewal
                    // fails (the claim was lost), the analysis still finishes: its completion
                    // writes nothing unless the analysis is still running.
                    let work = analyse(&store, &index, &analysis);
                    tokio::pin!(work);
                    tokio::select! {
                        analysed = &mut work => analysed,
                        () = renew_lease(&store, &analysis, lease) => work.await,
                    }
                };
                let outcome = if analysed.is_ok() {
                    "completed"
                } else {
                    "failed"
                };
                metrics::histogram!("rampart_analysis_duration_seconds", "outcome" => outcome)
                    .record(started.elapsed().as_secs_f64());
                if let Err(error) = analysed {
                    tracing::error!(analysis = id, %error, "analysis failed");
                    if let Err(error) = store
                        .fail_analysis(id, "internal error while analysing")
                        .await
                    {
                        tracing::error!(analysis = id, %error, "could not record the failure");
                    }
                }
                continue;
            }
            Ok(None) => {}
            Err(error) => tracing::warn!(%error, "claiming an analysis failed"),
        }
        tokio::select! {
            _ = wakeup.notified() => {}
            _ = tokio::time::sleep(IDLE_POLL) => {}
            _ = stop.changed() => {}
        }
    }
}

/// The package a component's purl names, if its type maps to an OSV ecosystem.
pub fn resolve(component: &ComponentIdentity) -> Option<(String, String)> {
    let (_, package) = resolve_purl(component.purl.as_deref()).ok()?;
    Some((package.ecosystem.to_string(), package.name))
}

/// Why a component names no package to look up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum UnmatchedReason {
    /// Neither a purl nor a CPE.
    NoIdentifier,
    /// Only a CPE, and CPE matching is off for the product.
    CpeOnly,
    /// A purl that cannot be read even leniently.
    UnreadablePurl,
    /// A purl whose type (or distribution) has no OSV ecosystem.
    NoEcosystem,
}

impl UnmatchedReason {
    pub fn code(self) -> &'static str {
        match self {
            UnmatchedReason::NoIdentifier => "no_identifier",
            UnmatchedReason::CpeOnly => "cpe_only",
            UnmatchedReason::UnreadablePurl => "unreadable_purl",
            UnmatchedReason::NoEcosystem => "no_osv_ecosystem",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            UnmatchedReason::NoIdentifier => "no package URL and no CPE",
            UnmatchedReason::CpeOnly => {
                "no package URL, only a CPE (matched only when the product turns on CPE matching)"
            }
            UnmatchedReason::UnreadablePurl => "the package URL cannot be read",
            UnmatchedReason::NoEcosystem => {
                "the package URL's type or distribution has no OSV ecosystem"
            }
        }
    }
}

/// The package a purl names, read leniently as every incoming identifier is (DESIGN §5), or
/// why there is none (with the detail: the parse error, the type).
pub fn resolve_purl(purl: Option<&str>) -> Result<(Purl, OsvPackage), (UnmatchedReason, String)> {
    let text = purl
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .ok_or((UnmatchedReason::NoIdentifier, String::new()))?;
    let parsed = Purl::parse_lenient(text)
        .map_err(|error| (UnmatchedReason::UnreadablePurl, error.to_string()))?;
    match parsed.osv_package() {
        Some(package) => Ok((parsed, package)),
        None => {
            let detail = match parsed.namespace() {
                Some(namespace) => {
                    format!("{text}: type {}, namespace {namespace}", parsed.purl_type())
                }
                None => format!("{text}: type {}", parsed.purl_type()),
            };
            Err((UnmatchedReason::NoEcosystem, detail))
        }
    }
}

/// Examples kept per reason.
const UNMATCHED_EXAMPLES: usize = 5;

/// Components that name no package to look up, by reason: what SBOM upload records on the
/// SBOM and `rampart scan` prints, so that nothing an analysis cannot read vanishes.
#[derive(
    Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
pub struct UnmatchedComponents {
    /// Components whose package could not be determined.
    pub count: i64,
    /// One entry per reason, most frequent first.
    pub reasons: Vec<UnmatchedReasonCount>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct UnmatchedReasonCount {
    /// `no_identifier`, `cpe_only`, `unreadable_purl` or `no_osv_ecosystem`.
    pub reason: String,
    pub description: String,
    pub count: i64,
    /// Up to five components, as `name version: detail`.
    pub examples: Vec<String>,
}

impl UnmatchedComponents {
    /// Counts `component` under `reason`, keeping it as an example while there is room.
    pub fn add(&mut self, reason: UnmatchedReason, component: &str, detail: &str) {
        self.count += 1;
        let entry = match self.reasons.iter().position(|r| r.reason == reason.code()) {
            Some(position) => &mut self.reasons[position],
            None => {
                self.reasons.push(UnmatchedReasonCount {
                    reason: reason.code().to_string(),
                    description: reason.description().to_string(),
                    count: 0,
                    examples: Vec::new(),
                });
                self.reasons.last_mut().expect("just pushed")
            }
        };
        entry.count += 1;
        if entry.examples.len() < UNMATCHED_EXAMPLES {
            entry.examples.push(if detail.is_empty() {
                component.to_string()
            } else {
                format!("{component}: {detail}")
            });
        }
    }

    /// Adds another tally (a later chunk of the same input).
    pub fn merge(&mut self, other: UnmatchedComponents) {
        for group in other.reasons {
            let position = self.reasons.iter().position(|r| r.reason == group.reason);
            match position {
                Some(position) => {
                    let entry = &mut self.reasons[position];
                    entry.count += group.count;
                    let room = UNMATCHED_EXAMPLES.saturating_sub(entry.examples.len());
                    entry.examples.extend(group.examples.into_iter().take(room));
                }
                None => self.reasons.push(group),
            }
        }
        self.count += other.count;
        self.sort();
    }

    fn sort(&mut self) {
        self.reasons
            .sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.reason.cmp(&b.reason)));
    }

    /// `3 no_identifier, 1 unreadable_purl`, for one-line summaries.
    pub fn summary(&self) -> String {
        self.reasons
            .iter()
            .map(|r| format!("{} {}", r.count, r.reason))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// How a component is named in an example: `name version`.
fn component_label(name: &str, version: Option<&str>) -> String {
    match version.map(str::trim).filter(|v| !v.is_empty()) {
        Some(version) => format!("{name} {version}"),
        None => name.to_string(),
    }
}

/// The package a resolved purl names, as it is stored with its component.
pub fn component_package(package: OsvPackage) -> ComponentPackage {
    let ecosystem = package.ecosystem.to_string();
    ComponentPackage {
        package_key: package_lookup_key(&ecosystem, &package.name),
        ecosystem,
        package_name: package.name,
    }
}

/// The package each component's purl names (`None` where it names none), and the components
/// whose package cannot be determined tallied by reason, the same way [`match_components`]
/// resolves them: by purl, and by CPE when `cpe_matching`.
pub fn component_packages<'a>(
    components: impl IntoIterator<Item = (&'a str, Option<&'a str>, Option<&'a str>, Option<&'a str>)>,
    cpe_matching: bool,
) -> (Vec<Option<ComponentPackage>>, UnmatchedComponents) {
    let components: Vec<_> = components.into_iter().collect();
    let resolved = resolve_purls(components.iter().map(|(_, _, purl, _)| *purl).collect());
    let mut packages = Vec::with_capacity(components.len());
    let mut unmatched = UnmatchedComponents::default();
    for ((name, version, _, cpe), resolved) in components.into_iter().zip(resolved) {
        match resolved {
            Ok(package) => packages.push(Some(package)),
            Err((reason, detail)) => {
                packages.push(None);
                let cpe = cpe.map(str::trim).filter(|c| !c.is_empty());
                note_unmatched(
                    &mut unmatched,
                    reason,
                    cpe,
                    cpe_matching,
                    &component_label(name, version),
                    &detail,
                );
            }
        }
    }
    unmatched.sort();
    (packages, unmatched)
}

/// [`resolve_purl`] of each purl, as the stored package, in order. A large SBOM's purls are
/// split between two threads: parsing 300,000 of them is 0.4 s of an upload.
fn resolve_purls(
    purls: Vec<Option<&str>>,
) -> Vec<Result<ComponentPackage, (UnmatchedReason, String)>> {
    const ALONE: usize = 10_000;
    let resolve = |purls: &[Option<&str>]| -> Vec<_> {
        purls
            .iter()
            .map(|purl| resolve_purl(*purl).map(|(_, package)| component_package(package)))
            .collect()
    };
    if purls.len() < ALONE {
        return resolve(&purls);
    }
    let (first, second) = purls.split_at(purls.len() / 2);
    std::thread::scope(|scope| {
        let other = scope.spawn(|| resolve(second));
        let mut resolved = resolve(first);
        match other.join() {
            Ok(rest) => resolved.extend(rest),
            Err(panic) => std::panic::resume_unwind(panic),
        }
        resolved
    })
}

/// Counts a component whose purl gave no package, unless its CPE will be looked up.
fn note_unmatched(
    out: &mut UnmatchedComponents,
    reason: UnmatchedReason,
    cpe: Option<&str>,
    cpe_matching: bool,
    label: &str,
    detail: &str,
) {
    match (reason, cpe) {
        (_, Some(cpe)) if cpe_matching && Cpe::parse(cpe).is_ok() => {}
        (UnmatchedReason::NoIdentifier, Some(cpe)) => out.add(UnmatchedReason::CpeOnly, label, cpe),
        _ => out.add(reason, label, detail),
    }
}

/// A component's CPE, its version filled from the component's when the CPE leaves it open
/// (a versionless CPE would otherwise stand for every version).
fn component_cpe(component: &ComponentIdentity) -> Option<Cpe> {
    let cpe = Cpe::parse(component.cpe.as_deref()?.trim()).ok()?;
    match (cpe.version(), component.version.as_deref()) {
        (CpeValue::Any | CpeValue::Na, Some(version)) if !version.trim().is_empty() => {
            Some(cpe.with_version(CpeValue::literal(version.trim())))
        }
        _ => Some(cpe),
    }
}

/// What matching an SBOM's components produced.
#[derive(Debug, Default)]
pub struct ComponentMatches {
    /// Resolved components whose package differs from the one stored with them.
    pub resolutions: Vec<ComponentResolution>,
    /// Resolved components per OSV ecosystem.
    pub ecosystems: BTreeMap<String, i64>,
    /// (component id, match), every record that matched.
    pub matches: Vec<(i64, IndexMatch)>,
    /// Components that name no package to look up.
    pub unmatched: UnmatchedComponents,
}

/// Matches components against the index: by purl always; by CPE (NVD configurations, platform
/// conditions the component cannot show listed in the evidence) when `cpe_matching`. Pure
/// and CPU-bound.
pub fn match_components(
    index: &MatchIndex,
    components: &[ComponentIdentity],
    cpe_matching: bool,
) -> ComponentMatches {
    let resolved = components
        .iter()
        .map(|component| resolve_purl(component.purl.as_deref()));
    match_resolved(index, components, resolved, cpe_matching)
}

/// What [`resolve_purl`] says of a component's purl.
pub type ResolvedPurl = Result<(Purl, OsvPackage), (UnmatchedReason, String)>;

/// [`match_components`] of components whose purls are resolved already (`resolved`, one per
/// component in their order), for a caller that needed their packages first.
pub fn match_resolved(
    index: &MatchIndex,
    components: &[ComponentIdentity],
    resolved: impl IntoIterator<Item = ResolvedPurl>,
    cpe_matching: bool,
) -> ComponentMatches {
    let mut out = ComponentMatches::default();
    for (component, resolved) in components.iter().zip(resolved) {
        let purl_text = component.purl.as_deref().unwrap_or_default();
        match resolved {
            Err((reason, detail)) => note_unmatched(
                &mut out.unmatched,
                reason,
                component
                    .cpe
                    .as_deref()
                    .map(str::trim)
                    .filter(|c| !c.is_empty()),
                cpe_matching,
                &component_label(&component.name, component.version.as_deref()),
                &detail,
            ),
            Ok((purl, package)) => {
                let version = if purl.version().is_some() {
                    None
                } else {
                    component.version.as_deref()
                };
                let found = index.query_osv_package(&purl, &package, purl_text, version);
                out.matches
                    .extend(found.into_iter().map(|m| (component.id, m)));
                let package = component_package(package);
                *out.ecosystems.entry(package.ecosystem.clone()).or_default() += 1;
                if component.package.as_ref() != Some(&package) {
                    out.resolutions.push(ComponentResolution {
                        component_id: component.id,
                        package,
                    });
                }
            }
        }
        if cpe_matching {
            if let Some(cpe) = component_cpe(component) {
                let present = [PresentCpe::Name(Box::new(cpe))];
                out.matches.extend(
                    index
                        .query_cpe(&present, PlatformPolicy::Report)
                        .into_iter()
                        .map(|m| (component.id, m)),
                );
            }
        }
    }
    out.unmatched.sort();
    out
}

/// How a group's representative is chosen among the records of one alias group that match a
/// component; the first that decides wins:
///
/// 1. a purl/package match before a CPE match (the precise evidence);
/// 2. the source's canonical record: an ecosystem advisory before NVD's CPE-based record, and
///    an id the source assigned before a placeholder id, whose sequence number is zero (RustSec
///    numbers each year from 0001 and its template is `RUSTSEC-0000-0000`; its OSV export
///    carries `RUSTSEC-2025-0000`, a stray copy of `RUSTSEC-2025-0065` that its native
///    database, cargo-audit and rustsec.org do not have);
/// 3. the oldest published (the first report, which later ones such as a GHSA copying a
///    RustSec or PyPA advisory alias); records without a publication date last;
/// 4. the lowest id.
///
/// Withdrawn records never get here: the index matches nothing of theirs.
fn representative_rank<'a>(
    found: &IndexMatch,
    record: &'a VulnerabilityRef,
) -> (bool, bool, bool, bool, Option<DateTime<Utc>>, &'a str) {
    (
        found.evidence.matched_by == "cpe",
        record.source == "nvd",
        is_placeholder_id(&record.vuln_id),
        record.published.is_none(),
        record.published,
        &record.vuln_id,
    )
}

/// An id whose last part, its sequence number, is all zeros (`RUSTSEC-2025-0000`): no
/// database assigns it; RustSec's template uses it until an id is assigned.
fn is_placeholder_id(id: &str) -> bool {
    id.rsplit_once('-')
        .is_some_and(|(_, sequence)| !sequence.is_empty() && sequence.bytes().all(|b| b == b'0'))
}

/// One finding per component and alias group, represented by the record
/// [`representative_rank`] puts first.
pub fn choose_findings(
    matches: Vec<(i64, IndexMatch)>,
    refs: &HashMap<i64, VulnerabilityRef>,
) -> Vec<NewFinding> {
    let rank = representative_rank;
    let mut best: HashMap<(i64, i64), (IndexMatch, &VulnerabilityRef)> = HashMap::new();
    for (component_id, found) in matches {
        let Some(record) = refs.get(&found.vulnerability_id) else {
            continue;
        };
        let key = (component_id, record.group_id);
        match best.get(&key) {
            Some((current, current_ref)) if rank(current, current_ref) <= rank(&found, record) => {}
            _ => {
                best.insert(key, (found, record));
            }
        }
    }
    let mut findings: Vec<NewFinding> = best
        .into_iter()
        .map(|((component_id, group_id), (found, record))| NewFinding {
            component_id,
            group_id,
            vulnerability_id: record.internal_id,
            matched_by: found.evidence.matched_by.to_string(),
            identifier: found.evidence.identifier,
            // A platform condition the component could not show stays visible in the
            // evidence rather than silently assumed.
            detail: if found.evidence.unverified_platforms.is_empty() {
                found.evidence.detail
            } else {
                format!(
                    "{}; platform not verified: {}",
                    found.evidence.detail,
                    found.evidence.unverified_platforms.join(" or ")
                )
            },
            range_index: found
                .evidence
                .range_index
                .and_then(|i| i64::try_from(i).ok()),
            fixed_versions: found.fixed_versions,
        })
        .collect();
    findings.sort_by_key(|f| (f.component_id, f.group_id));
    findings
}

/// The findings of a set of matches: the records' alias groups looked up, then one finding
/// per component and group ([`choose_findings`]).
pub async fn findings_of(
    store: &Store,
    matches: Vec<(i64, IndexMatch)>,
) -> Result<Vec<NewFinding>, StoreError> {
    let ids: Vec<i64> = matches.iter().map(|(_, m)| m.vulnerability_id).collect();
    let refs = store.vulnerability_refs(&ids).await?;
    Ok(choose_findings(matches, &refs))
}

/// Matches `components` a chunk at a time and sends each chunk's resolutions and findings,
/// then the summary; an error is sent instead of what follows it. Stops when nobody
/// receives. The next chunk is matched on another thread while one's findings are chosen.
async fn produce_parts(
    store: Store,
    index: std::sync::Arc<MatchIndex>,
    components: Vec<ComponentIdentity>,
    cpe_matching: bool,
    parts: tokio::sync::mpsc::Sender<Result<AnalysisProgress, StoreError>>,
) {
    let components = std::sync::Arc::new(components);
    let match_chunk = |start: usize| {
        let end = (start + MATCH_CHUNK).min(components.len());
        let (index, chunk) = (index.clone(), components.clone());
        tokio::task::spawn_blocking(move || {
            match_components(&index, &chunk[start..end], cpe_matching)
        })
    };
    let mut ecosystems: BTreeMap<String, i64> = BTreeMap::new();
    let mut starts = (0..components.len()).step_by(MATCH_CHUNK);
    let mut next = starts.next().map(match_chunk);
    while let Some(matching) = next.take() {
        let matched = match matching.await {
            Ok(matched) => matched,
            Err(error) => {
                let error = StoreError::Corrupt(format!("analysis task: {error}"));
                let _ = parts.send(Err(error)).await;
                return;
            }
        };
        next = starts.next().map(match_chunk);
        let mut resolved = 0;
        for (ecosystem, count) in matched.ecosystems {
            resolved += usize::try_from(count).unwrap_or(0);
            *ecosystems.entry(ecosystem).or_default() += count;
        }
        let part = match findings_of(&store, matched.matches).await {
            Ok(findings) => AnalysisPart::new(resolved, matched.resolutions, findings),
            Err(error) => {
                let _ = parts.send(Err(error)).await;
                return;
            }
        };
        if parts.send(Ok(AnalysisProgress::Part(part))).await.is_err() {
            return;
        }
    }
    let summary = serde_json::json!({ "ecosystems": ecosystems }).to_string();
    let _ = parts.send(Ok(AnalysisProgress::Done { summary })).await;
}

/// Analyses one SBOM: brings the index up to the knowledge base's current version if another
/// replica changed it, matches, and records resolutions, findings and events.
pub async fn analyse(
    store: &Store,
    index: &MatchIndexHandle,
    analysis: &Analysis,
) -> Result<Option<AnalysisOutcome>, StoreError> {
    if store.kb_version().await? != index.load().kb_version() {
        crate::kb_index::refresh(store, index).await?;
    }
    let cpe_matching = store
        .release_cpe_matching(analysis.team_id, analysis.release_id)
        .await?;
    let components = store
        .component_identities(analysis.team_id, analysis.sbom_id)
        .await?;
    // The analysis is written while it runs: a task matches the components a chunk at a time
    // and reduces each chunk's matches to findings (exact: a finding is per component), and
    // the store writes each chunk in the completion's transaction while the next is matched
    // (on two cores, matching and writing overlap; the matches of a large SBOM, millions
    // with their evidence, are never all in memory at once).
    let (sender, mut parts) = tokio::sync::mpsc::channel(2);
    let producer = tokio::spawn(produce_parts(
        store.clone(),
        index.load(),
        components,
        cpe_matching,
        sender,
    ));
    let outcome = store.complete_analysis_in_parts(analysis, &mut parts).await;
    // Nothing more is wanted once the store is done (or gave up).
    producer.abort();
    let outcome = outcome?;
    if outcome.is_some() {
        // The SBOM's own analysis (CycloneDX `vulnerabilities[].analysis`) first, then what
        // the product decided before. A failure is logged; the findings are stored either way.
        match crate::services::vex_import::apply_sbom_analysis(store, analysis).await {
            Ok(0) => {}
            Ok(decided) => {
                tracing::debug!(analysis = analysis.id, decided, "SBOM analysis applied")
            }
            Err(error) => {
                tracing::warn!(analysis = analysis.id, %error, "applying the SBOM's analysis failed")
            }
        }
        // New releases and re-uploads inherit the product's decisions. The findings are
        // stored either way; a failure here is logged and the next analysis retries it.
        match crate::services::dispositions::carry_over(store, analysis).await {
            Ok(0) => {}
            Ok(inherited) => {
                tracing::debug!(analysis = analysis.id, inherited, "decisions carried over")
            }
            Err(error) => {
                tracing::warn!(analysis = analysis.id, %error, "carrying decisions over failed")
            }
        }
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn component(
        id: i64,
        purl: Option<&str>,
        package: Option<ComponentPackage>,
    ) -> ComponentIdentity {
        ComponentIdentity {
            id,
            name: "x".into(),
            version: None,
            purl: purl.map(str::to_string),
            cpe: None,
            package,
        }
    }

    #[test]
    fn the_packages_an_upload_stores_are_those_analysis_resolves() {
        let purls = [
            Some("pkg:pypi/Django@4.2.0"),
            Some("pkg:npm/%40babel/core@7.0.0"),
            Some("pkg:generic/thing@1"),
            None,
        ];
        let (packages, unmatched) =
            component_packages(purls.iter().map(|purl| ("x", None, *purl, None)), false);
        assert_eq!(packages.len(), purls.len(), "one per component, in order");
        let django = packages[0].clone().unwrap();
        assert_eq!(django.ecosystem, "PyPI");
        assert_eq!(
            django.package_key,
            package_lookup_key("PyPI", &django.package_name)
        );
        assert_eq!(packages[1].as_ref().unwrap().package_name, "@babel/core");
        assert_eq!(packages[2..], [None, None]);
        assert_eq!(unmatched.count, 2, "{unmatched:?}");

        // Analysis counts every resolved component but rewrites only a package that differs
        // from the one stored.
        let components: Vec<_> = purls
            .iter()
            .zip(&packages)
            .enumerate()
            .map(|(i, (purl, package))| component(i as i64, *purl, package.clone()))
            .collect();
        let matched = match_components(&MatchIndex::empty(), &components, false);
        assert_eq!(matched.ecosystems.values().sum::<i64>(), 2);
        assert!(matched.resolutions.is_empty(), "{:?}", matched.resolutions);

        let stale = ComponentPackage {
            package_name: "an older spelling".into(),
            ..django
        };
        let components = [
            component(7, purls[0], Some(stale)),
            component(8, purls[1], None),
        ];
        let matched = match_components(&MatchIndex::empty(), &components, false);
        assert_eq!(matched.ecosystems.values().sum::<i64>(), 2);
        let rewritten: Vec<_> = matched
            .resolutions
            .iter()
            .map(|r| (r.component_id, &r.package))
            .collect();
        assert_eq!(
            rewritten,
            [
                (7, packages[0].as_ref().unwrap()),
                (8, packages[1].as_ref().unwrap())
            ]
        );
    }
}
