//! Triage decisions (dispositions) on findings: recording one decision on many findings in
//! one transaction (bulk triage), how far a decision reaches (`rampart_core::triage`),
//! carry-over to findings that appear later (new releases, re-uploads), each finding's
//! history, and the re-review flag when the knowledge base changes what a decision was based
//! on (severity band, KEV membership, affected ranges).
//!
//! A decision is made on one finding — an alias group × a component — and stored with the
//! vulnerability's id, the component's key and version, its scope and its source (`manual`,
//! `vex`, `sbom`). Every finding it reaches takes it as its current decision; a finding in
//! another release than the one it was made on, or reached later by carry-over, is marked
//! inherited. Imported decisions (VEX, SBOM analysis) never replace a manual decision unless
//! the import asks to overwrite.

use std::collections::{BTreeMap, HashMap, HashSet};

use rampart_core::triage::{
    applies, component_key, DecisionRange, DecisionReach, DecisionScope, DecisionSubject,
    Disposition, DispositionState, Justification, Response,
};
use rampart_core::Scope;
use rampart_store::{
    Analysis, AuditEvent, DecisionBasis, DispositionSource, NewDisposition, Store,
    StoredDisposition, TriageFinding, TriageWithin,
};
use serde::Deserialize;

use crate::actor::{Actor, RequestOrigin};
use crate::error::ServiceError;
use crate::Engine;

/// Most findings one request may name.
pub const MAX_FINDINGS_PER_REQUEST: usize = 50_000;
const MAX_TEXT: usize = 10_000;

/// A decision as the API receives it: what was decided, on which findings, how far it
/// reaches.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    /// Findings to decide on (ids from the vulnerability lists). Give these, or
    /// `vulnerability`, or both (then only those findings of that vulnerability).
    #[serde(default)]
    pub findings: Vec<i64>,
    /// Decide on every open finding of this vulnerability (any of its aliases) in the release
    /// (or product) the request is made on.
    pub vulnerability: Option<String>,
    /// `resolved`, `resolved_with_pedigree`, `exploitable`, `in_triage`, `false_positive`,
    /// `not_affected` (CycloneDX analysis states).
    #[schema(value_type = String, pattern = "^(resolved|resolved_with_pedigree|exploitable|in_triage|false_positive|not_affected)$")]
    pub state: DispositionState,
    /// With `not_affected` / `false_positive` only: `code_not_present`, `code_not_reachable`,
    /// `requires_configuration`, `requires_dependency`, `requires_environment`,
    /// `protected_by_compiler`, `protected_at_runtime`, `protected_at_perimeter`,
    /// `protected_by_mitigating_control`.
    #[schema(value_type = Option<String>)]
    pub justification: Option<Justification>,
    /// `can_not_fix`, `will_not_fix`, `update`, `rollback`, `workaround_available`.
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub responses: Vec<Response>,
    /// Impact / why the state holds (required for `not_affected` / `false_positive` without
    /// a justification).
    pub detail: Option<String>,
    /// What users should do (required for `exploitable`).
    pub action_statement: Option<String>,
    /// `release` (this release's component version only; the default on a release),
    /// `product` (the component in every release; the default on a product) or `range`.
    pub scope: Option<String>,
    /// For `range`: a `vers:` range (`vers:npm/>=4.0.0|<4.17.21`) or an OSV range's events
    /// (`[{"introduced": "4.0.0"}, {"fixed": "4.17.21"}]`, read in the component's
    /// ecosystem).
    #[schema(value_type = Option<Object>)]
    pub version_range: Option<serde_json::Value>,
}

/// Where a decision request is made.
#[derive(Debug, Clone, Copy)]
pub enum DecisionTarget {
    Release(i64),
    Product(i64),
}

/// A decision the caller planned on one finding.
#[derive(Debug, Clone)]
pub struct PlannedDecision {
    /// The finding it is made on.
    pub finding: TriageFinding,
    pub scope: DecisionScope,
    pub range: Option<DecisionRange>,
    pub disposition: Disposition,
}

/// What recording decisions did.
#[derive(Debug, Clone, Default)]
pub struct RecordOutcome {
    pub decisions: Vec<StoredDisposition>,
    /// Findings that took one of them as their current decision.
    pub reached: Vec<i64>,
    /// Findings left as they were because a manual decision wins over an imported one.
    pub kept_manual: Vec<i64>,
}

/// A finding's current decision with the reasons to look at it again, if any.
#[derive(Debug, Clone)]
pub struct CurrentDecision {
    pub decision: StoredDisposition,
    pub inherited: bool,
    /// What changed in the knowledge base since the decision (empty: nothing).
    pub review_reasons: Vec<String>,
}

/// Every open finding of a release with its current decision, for VEX documents.
#[derive(Debug, Clone)]
pub struct ReleaseDecision {
    pub finding: TriageFinding,
    /// The identifiers of the finding's alias group (sorted).
    pub aliases: Vec<String>,
    pub decision: Option<CurrentDecision>,
}

fn invalid(message: impl Into<String>) -> ServiceError {
    ServiceError::invalid(message)
}

/// The decision's own fields, checked: 422 naming the field that breaks a rule.
fn disposition_of(request: &DecisionRequest) -> Result<Disposition, ServiceError> {
    let text = |field: &str, value: &Option<String>| -> Result<Option<String>, ServiceError> {
        match value.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(text) if text.chars().count() > MAX_TEXT => Err(invalid(format!(
                "`{field}` must be at most {MAX_TEXT} characters"
            ))),
            Some(text) => Ok(Some(text.to_string())),
        }
    };
    let disposition = Disposition {
        state: request.state,
        justification: request.justification,
        responses: request.responses.clone(),
        detail: text("detail", &request.detail)?,
        action_statement: text("action_statement", &request.action_statement)?,
    }
    .normalized();
    disposition
        .validate()
        .map_err(|error| invalid(format!("`{}`: {}", error.field, error.message)))?;
    Ok(disposition)
}

/// The request's scope (the target's default when absent) and range.
fn scope_of(
    request: &DecisionRequest,
    target: DecisionTarget,
    finding: &TriageFinding,
) -> Result<(DecisionScope, Option<DecisionRange>), ServiceError> {
    let scope = match request.scope.as_deref().map(str::trim) {
        None | Some("") => match target {
            DecisionTarget::Release(_) => DecisionScope::Release,
            DecisionTarget::Product(_) => DecisionScope::Product,
        },
        Some(text) => DecisionScope::parse(text).ok_or_else(|| {
            invalid(format!(
                "`scope` must be release, product or range, not {text:?}"
            ))
        })?,
    };
    if scope == DecisionScope::Release && matches!(target, DecisionTarget::Product(_)) {
        return Err(invalid(
            "`scope`: a decision made on a product reaches every release (`product` or `range`)",
        ));
    }
    let range = match (scope, &request.version_range) {
        (DecisionScope::Range, None) => {
            return Err(invalid("`version_range` is required with scope `range`"))
        }
        (DecisionScope::Range, Some(value)) => Some(range_of(value, finding)?),
        (_, Some(_)) => return Err(invalid("`version_range` only goes with scope `range`")),
        (_, None) => None,
    };
    Ok((scope, range))
}

/// A `vers:` string, or OSV events read in the version order of the component's purl type.
fn range_of(
    value: &serde_json::Value,
    finding: &TriageFinding,
) -> Result<DecisionRange, ServiceError> {
    let bad = |why: String| invalid(format!("`version_range`: {why}"));
    match value {
        serde_json::Value::String(text) => DecisionRange::parse(text).map_err(bad),
        serde_json::Value::Array(events) => {
            let purl_type = finding
                .component_purl
                .as_deref()
                .and_then(|purl| rampart_versions::Purl::parse_lenient(purl).ok())
                .map(|purl| purl.purl_type().to_string())
                .ok_or_else(|| {
                    bad("OSV events need a component with a purl (its type gives the version order); send a `vers:` range".into())
                })?;
            let mut raw = Vec::with_capacity(events.len());
            for (index, event) in events.iter().enumerate() {
                let object = event.as_object().filter(|o| o.len() == 1).ok_or_else(|| {
                    bad(format!(
                        "event {index} must be one key: introduced, fixed, last_affected"
                    ))
                })?;
                let (kind, version) = object.iter().next().expect("one key");
                let kind = rampart_versions::range::EventKind::parse(kind)
                    .map_err(|e| bad(format!("event {index}: {e}")))?;
                let version = version
                    .as_str()
                    .ok_or_else(|| bad(format!("event {index}: the version must be a string")))?;
                raw.push(rampart_versions::range::RawEvent::new(kind, version));
            }
            DecisionRange::from_osv_events(&purl_type, &raw).map_err(bad)
        }
        _ => Err(bad("a `vers:` string or an array of OSV events".into())),
    }
}

/// The product a target belongs to (404 when it is not the caller's).
async fn product_of(
    engine: &Engine,
    actor: &Actor,
    target: DecisionTarget,
) -> Result<i64, ServiceError> {
    match target {
        DecisionTarget::Release(id) => Ok(engine
            .store
            .release(actor.tenant(), id)
            .await?
            .ok_or_else(|| ServiceError::not_found("release"))?
            .product_id),
        DecisionTarget::Product(id) => Ok(engine
            .store
            .product(actor.tenant(), id)
            .await?
            .ok_or_else(|| ServiceError::not_found("product"))?
            .id),
    }
}

/// Records one decision on findings of a release or product (`dispositions:write`):
/// the findings named, or every open finding of the vulnerability named; one transaction,
/// audited as `disposition.create`.
pub async fn decide(
    engine: &Engine,
    actor: &Actor,
    origin: &RequestOrigin,
    target: DecisionTarget,
    request: DecisionRequest,
) -> Result<RecordOutcome, ServiceError> {
    actor.require(Scope::DispositionsWrite)?;
    let product_id = product_of(engine, actor, target).await?;
    let disposition = disposition_of(&request)?;
    if request.findings.is_empty() && request.vulnerability.is_none() {
        return Err(invalid(
            "name the findings (`findings`) or a `vulnerability`",
        ));
    }
    if request.findings.len() > MAX_FINDINGS_PER_REQUEST {
        return Err(invalid(format!(
            "`findings`: at most {MAX_FINDINGS_PER_REQUEST} per request"
        )));
    }
    let open = engine
        .store
        .triage_findings(actor.team_id, product_id, TriageWithin::Product)
        .await?;
    let in_target = |finding: &TriageFinding| match target {
        DecisionTarget::Release(id) => finding.release_id == id,
        DecisionTarget::Product(_) => true,
    };
    let group = match request.vulnerability.as_deref().map(str::trim) {
        None => None,
        Some(id) => Some(engine.store.alias_group(id).await?.ok_or_else(|| {
            invalid(format!(
                "`vulnerability`: {id:?} is not in the knowledge base"
            ))
        })?),
    };
    let named: HashSet<i64> = request.findings.iter().copied().collect();
    let chosen: Vec<&TriageFinding> = open
        .iter()
        .filter(|f| in_target(f))
        .filter(|f| named.is_empty() || named.contains(&f.finding_id))
        .filter(|f| group.is_none_or(|g| f.group_id == g))
        .collect();
    if !named.is_empty() {
        let found: HashSet<i64> = chosen.iter().map(|f| f.finding_id).collect();
        let mut missing: Vec<i64> = named.difference(&found).copied().collect();
        if !missing.is_empty() {
            missing.sort_unstable();
            missing.truncate(20);
            let list: Vec<String> = missing.iter().map(i64::to_string).collect();
            return Err(invalid(format!(
                "`findings`: no open finding {} here{}",
                list.join(", "),
                if group.is_some() {
                    " of that vulnerability"
                } else {
                    ""
                }
            )));
        }
    }
    if chosen.is_empty() {
        return Err(invalid("`vulnerability`: no open finding of it here"));
    }
    // One decision per alias group and component (and version, for a release's decision).
    let mut planned: BTreeMap<(i64, String, Option<String>), PlannedDecision> = BTreeMap::new();
    for finding in chosen {
        let (scope, range) = scope_of(&request, target, finding)?;
        let key = component_key(finding.package_key.as_deref(), &finding.component_name);
        let version = (scope == DecisionScope::Release)
            .then(|| finding.component_version.clone())
            .flatten();
        planned
            .entry((finding.group_id, key, version))
            .or_insert_with(|| PlannedDecision {
                finding: finding.clone(),
                scope,
                range,
                disposition: disposition.clone(),
            });
    }
    let planned: Vec<PlannedDecision> = planned.into_values().collect();
    let (target_type, target_id) = match target {
        DecisionTarget::Release(id) => ("release", id),
        DecisionTarget::Product(id) => ("product", id),
    };
    let event = actor
        .audit(origin, "disposition.create")
        .target(target_type, target_id)
        .details(serde_json::json!({
            "state": disposition.state.as_str(),
            "justification": disposition.justification.map(|j| j.as_str()),
            "scope": planned[0].scope.as_str(),
            "decisions": planned.len(),
        }));
    record(
        engine,
        actor,
        product_id,
        &open,
        planned,
        (DispositionSource::Manual, None),
        true,
        event,
    )
    .await
}

/// Records planned decisions of one product and makes each the current decision of the
/// findings it reaches (`open`: the product's open findings), with `event`, in one
/// transaction. Imported decisions (`source` other than manual) leave findings whose current
/// decision is manual alone unless `overwrite`. For the VEX import and SBOM analyses too.
#[allow(clippy::too_many_arguments)]
pub async fn record(
    engine: &Engine,
    actor: &Actor,
    product_id: i64,
    open: &[TriageFinding],
    planned: Vec<PlannedDecision>,
    source: (DispositionSource, Option<String>),
    overwrite: bool,
    event: AuditEvent,
) -> Result<RecordOutcome, ServiceError> {
    record_in(
        &engine.store,
        actor,
        product_id,
        open,
        planned,
        source,
        overwrite,
        event,
    )
    .await
}

/// [`record`] on a store, for work that runs outside a request (SBOM analysis).
#[allow(clippy::too_many_arguments)]
pub async fn record_in(
    store: &Store,
    actor: &Actor,
    product_id: i64,
    open: &[TriageFinding],
    planned: Vec<PlannedDecision>,
    (source, source_ref): (DispositionSource, Option<String>),
    overwrite: bool,
    event: AuditEvent,
) -> Result<RecordOutcome, ServiceError> {
    actor.require(Scope::DispositionsWrite)?;
    let record_ids: Vec<i64> = planned.iter().map(|p| p.finding.vulnerability_id).collect();
    let views = store.matched_record_views(&record_ids).await?;
    let groups: Vec<i64> = planned.iter().map(|p| p.finding.group_id).collect();
    let digests = store.group_range_digests(&groups).await?;
    let mut by_group: HashMap<i64, Vec<&TriageFinding>> = HashMap::new();
    for finding in open {
        by_group.entry(finding.group_id).or_default().push(finding);
    }
    let mut outcome = RecordOutcome::default();
    let mut decisions = Vec::with_capacity(planned.len());
    let mut taken: HashSet<i64> = HashSet::new();
    for plan in &planned {
        let made_on = &plan.finding;
        let key = component_key(made_on.package_key.as_deref(), &made_on.component_name);
        let reach = DecisionReach {
            scope: plan.scope,
            release_id: Some(made_on.release_id),
            component_key: &key,
            component_version: made_on.component_version.as_deref(),
            range: plan.range.as_ref(),
        };
        let mut reaches = Vec::new();
        for finding in by_group.get(&made_on.group_id).into_iter().flatten() {
            let subject_key =
                component_key(finding.package_key.as_deref(), &finding.component_name);
            let subject = DecisionSubject {
                release_id: finding.release_id,
                component_key: &subject_key,
                component_version: finding.component_version.as_deref(),
            };
            if !applies(&reach, &subject) || !taken.insert(finding.finding_id) {
                continue;
            }
            let manual =
                finding.disposition_source.as_deref() == Some(DispositionSource::Manual.as_str());
            if source != DispositionSource::Manual && manual && !overwrite {
                outcome.kept_manual.push(finding.finding_id);
                continue;
            }
            reaches.push((finding.finding_id, finding.release_id != made_on.release_id));
            outcome.reached.push(finding.finding_id);
        }
        let view = views.get(&made_on.vulnerability_id);
        decisions.push(NewDisposition {
            product_id,
            release_id: made_on.release_id,
            scope: plan.scope,
            version_range: plan.range.as_ref().map(|r| r.as_str().to_string()),
            vuln_id: made_on.vuln_id.clone(),
            component_key: key.clone(),
            component_name: made_on.component_name.clone(),
            component_version: made_on.component_version.clone(),
            component_purl: made_on.component_purl.clone(),
            disposition: plan.disposition.clone(),
            source,
            source_ref: source_ref.clone(),
            author: actor.audit_actor(),
            basis: DecisionBasis {
                severity: view.and_then(|v| v.severity.clone()),
                in_kev: view.is_some_and(|v| v.in_kev),
                ranges: digests.get(&made_on.group_id).cloned().unwrap_or_default(),
            },
            reaches,
        });
    }
    outcome.decisions = store
        .record_dispositions(actor.team_id, &decisions, &event)
        .await?;
    Ok(outcome)
}

/// Gives the findings an analysis of `analysis`'s SBOM left without a decision the latest
/// decision of their product that reaches them, marked inherited (carry-over to new releases
/// and re-uploads). Returns how many findings took one.
pub async fn carry_over(
    store: &Store,
    analysis: &Analysis,
) -> Result<usize, rampart_store::StoreError> {
    let Some(product_id) = store
        .release_product(analysis.team_id, analysis.release_id)
        .await?
    else {
        return Ok(0);
    };
    let decisions = store
        .product_dispositions(analysis.team_id, product_id)
        .await?;
    if decisions.is_empty() {
        return Ok(0);
    }
    let findings = store
        .triage_findings(
            analysis.team_id,
            product_id,
            TriageWithin::Sbom(analysis.sbom_id),
        )
        .await?;
    let reaches = carried_over(&decisions, &findings);
    store.apply_dispositions(analysis.team_id, &reaches).await?;
    Ok(reaches.len())
}

/// For each finding without a decision, the latest decision that reaches it: `(finding,
/// decision, inherited = true)`. Decisions with a range that no longer parses reach nothing.
fn carried_over(
    decisions: &[StoredDisposition],
    findings: &[TriageFinding],
) -> Vec<(i64, i64, bool)> {
    let ranges: HashMap<i64, DecisionRange> = decisions
        .iter()
        .filter_map(|d| {
            Some((
                d.id,
                DecisionRange::parse(d.version_range.as_deref()?).ok()?,
            ))
        })
        .collect();
    let mut by_key: HashMap<(i64, &str), Vec<&StoredDisposition>> = HashMap::new();
    for decision in decisions {
        if let Some(group) = decision.group_id {
            by_key
                .entry((group, decision.component_key.as_str()))
                .or_default()
                .push(decision);
        }
    }
    let mut reaches = Vec::new();
    for finding in findings.iter().filter(|f| f.disposition_id.is_none()) {
        let key = component_key(finding.package_key.as_deref(), &finding.component_name);
        let subject = DecisionSubject {
            release_id: finding.release_id,
            component_key: &key,
            component_version: finding.component_version.as_deref(),
        };
        let latest = by_key
            .get(&(finding.group_id, key.as_str()))
            .into_iter()
            .flatten()
            .rev()
            .find(|decision| applies(&reach_of(decision, ranges.get(&decision.id)), &subject));
        if let Some(decision) = latest {
            reaches.push((finding.finding_id, decision.id, true));
        }
    }
    reaches
}

fn reach_of<'a>(
    decision: &'a StoredDisposition,
    range: Option<&'a DecisionRange>,
) -> DecisionReach<'a> {
    DecisionReach {
        scope: decision.scope,
        release_id: decision.release_id,
        component_key: &decision.component_key,
        component_version: decision.component_version.as_deref(),
        range,
    }
}

/// Why a decision needs another look: what the knowledge base says now against what it said
/// then (`severity`, `in_kev` now; `ranges` now, when known).
pub fn review_reasons(
    basis: &DecisionBasis,
    severity: Option<&str>,
    in_kev: bool,
    ranges: Option<&str>,
) -> Vec<String> {
    let mut reasons = Vec::new();
    if basis.severity.as_deref() != severity {
        reasons.push(format!(
            "severity changed from {} to {}",
            basis.severity.as_deref().unwrap_or("unrated"),
            severity.unwrap_or("unrated")
        ));
    }
    if in_kev && !basis.in_kev {
        reasons.push("added to CISA KEV".to_string());
    }
    if let Some(ranges) = ranges {
        if !basis.ranges.is_empty() && basis.ranges != ranges {
            reasons.push("affected ranges changed".to_string());
        }
    }
    reasons
}

/// The current decisions of a page of findings, by finding id, with their review reasons.
pub async fn current_decisions(
    engine: &Engine,
    team_id: i64,
    findings: &[rampart_store::FindingView],
) -> Result<HashMap<i64, CurrentDecision>, ServiceError> {
    let ids: Vec<i64> = findings.iter().filter_map(|f| f.disposition_id).collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let decisions = engine.store.dispositions_by_ids(team_id, &ids).await?;
    let groups: Vec<i64> = findings
        .iter()
        .filter(|f| f.disposition_id.is_some())
        .map(|f| f.group_id)
        .collect();
    let digests = engine.store.group_range_digests(&groups).await?;
    Ok(findings
        .iter()
        .filter_map(|finding| {
            let decision = decisions.get(&finding.disposition_id?)?.clone();
            let review_reasons = review_reasons(
                &decision.basis,
                finding.severity.as_deref(),
                finding.in_kev,
                digests.get(&finding.group_id).map(String::as_str),
            );
            Some((
                finding.id,
                CurrentDecision {
                    decision,
                    inherited: finding.disposition_inherited,
                    review_reasons,
                },
            ))
        })
        .collect())
}

/// A finding's decisions, newest first: every decision of its product that reaches it
/// (`dispositions:read`). The first is the current one unless a later import was kept out
/// by a manual decision.
pub async fn history(
    engine: &Engine,
    actor: &Actor,
    finding_id: i64,
) -> Result<(TriageFinding, Vec<StoredDisposition>), ServiceError> {
    actor.require(Scope::DispositionsRead)?;
    let (finding, product_id) = engine
        .store
        .triage_finding(actor.tenant(), finding_id)
        .await?
        .ok_or_else(|| ServiceError::not_found("finding"))?;
    let decisions = engine
        .store
        .product_dispositions(actor.team_id, product_id)
        .await?;
    let key = component_key(finding.package_key.as_deref(), &finding.component_name);
    let subject = DecisionSubject {
        release_id: finding.release_id,
        component_key: &key,
        component_version: finding.component_version.as_deref(),
    };
    let mut reaching: Vec<StoredDisposition> = decisions
        .into_iter()
        .filter(|d| d.group_id == Some(finding.group_id))
        .filter(|d| {
            let range = d
                .version_range
                .as_deref()
                .and_then(|r| DecisionRange::parse(r).ok());
            applies(&reach_of(d, range.as_ref()), &subject)
        })
        .collect();
    reaching.reverse();
    Ok((finding, reaching))
}

/// Every open finding of a release with its alias group and current decision (no scope
/// check: for callers that already hold the release, such as VEX generation).
pub async fn release_decisions(
    engine: &Engine,
    team_id: i64,
    release_id: i64,
) -> Result<Vec<ReleaseDecision>, ServiceError> {
    if engine
        .store
        .release_product(team_id, release_id)
        .await?
        .is_none()
    {
        return Err(ServiceError::not_found("release"));
    }
    // Findings with their decisions, and the alias groups' identifiers, each in one query
    // that names the release rather than thousands of ids.
    let findings = engine
        .store
        .release_findings_with_decisions(team_id, release_id)
        .await?;
    let aliases = engine
        .store
        .release_group_identifiers(team_id, release_id)
        .await?;
    Ok(findings
        .into_iter()
        .map(|(finding, decision)| {
            let decision = decision.map(|decision| CurrentDecision {
                decision,
                inherited: finding.disposition_inherited,
                review_reasons: Vec::new(),
            });
            ReleaseDecision {
                aliases: aliases.get(&finding.group_id).cloned().unwrap_or_default(),
                decision,
                finding,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    fn finding(id: i64, release: i64, version: &str, decided: Option<i64>) -> TriageFinding {
        TriageFinding {
            finding_id: id,
            release_id: release,
            sbom_id: release,
            group_id: 7,
            vulnerability_id: 1,
            vuln_id: "CVE-2021-23337".into(),
            component_id: id,
            component_name: "lodash".into(),
            component_version: Some(version.into()),
            component_purl: Some(format!("pkg:npm/lodash@{version}")),
            component_cpe: None,
            package_key: Some("npm/lodash".into()),
            disposition_id: decided,
            disposition_inherited: false,
            disposition_source: None,
        }
    }

    fn decision(
        id: i64,
        scope: DecisionScope,
        release: i64,
        version: &str,
        range: Option<&str>,
    ) -> StoredDisposition {
        StoredDisposition {
            id,
            product_id: 1,
            release_id: Some(release),
            scope,
            version_range: range.map(str::to_string),
            vuln_id: "GHSA-35jh-r3h4-6jhm".into(),
            group_id: Some(7),
            component_key: "npm/lodash".into(),
            component_name: "lodash".into(),
            component_version: Some(version.into()),
            component_purl: None,
            disposition: Disposition {
                state: DispositionState::NotAffected,
                justification: Some(Justification::CodeNotReachable),
                responses: vec![],
                detail: None,
                action_statement: None,
            },
            source: DispositionSource::Manual,
            source_ref: None,
            author_kind: "user".into(),
            author_user_id: Some(1),
            author: "a@example.com".into(),
            basis: DecisionBasis::default(),
            created_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn carry_over_takes_the_latest_decision_that_reaches_and_skips_decided_findings() {
        let decisions = [
            decision(1, DecisionScope::Product, 1, "4.17.20", None),
            decision(2, DecisionScope::Release, 1, "4.17.20", None),
            decision(
                3,
                DecisionScope::Range,
                1,
                "4.17.20",
                Some("vers:npm/<4.17.19"),
            ),
        ];
        let findings = [
            // Re-upload to release 1: the release decision (2) is the latest reaching it.
            finding(10, 1, "4.17.20", None),
            // Release 2, same version: only the product decision reaches it.
            finding(11, 2, "4.17.20", None),
            // Release 2, older version in the range: the range decision is the latest.
            finding(12, 2, "4.17.15", None),
            // Already decided: left alone.
            finding(13, 2, "4.17.15", Some(99)),
        ];
        assert_eq!(
            carried_over(&decisions, &findings),
            vec![(10, 2, true), (11, 1, true), (12, 3, true)]
        );
        assert!(carried_over(&decisions[1..2], &findings[1..2]).is_empty());
    }

    #[test]
    fn review_reasons_name_what_changed() {
        let basis = DecisionBasis {
            severity: Some("medium".into()),
            in_kev: false,
            ranges: "abc".into(),
        };
        assert!(review_reasons(&basis, Some("medium"), false, Some("abc")).is_empty());
        assert_eq!(
            review_reasons(&basis, Some("critical"), true, Some("def")),
            [
                "severity changed from medium to critical",
                "added to CISA KEV",
                "affected ranges changed"
            ]
        );
    }

    #[test]
    fn a_decision_needs_its_fields_and_a_range_needs_range_scope() {
        let request: DecisionRequest = serde_json::from_value(serde_json::json!({
            "findings": [1], "state": "not_affected"
        }))
        .unwrap();
        let error = disposition_of(&request).unwrap_err();
        assert_eq!(error.code(), ErrorCode::ValidationFailed);
        assert!(
            error.message().contains("justification"),
            "{}",
            error.message()
        );
        let request: DecisionRequest = serde_json::from_value(serde_json::json!({
            "findings": [1], "state": "in_triage", "scope": "release",
            "version_range": "vers:npm/<1"
        }))
        .unwrap();
        let target = DecisionTarget::Release(1);
        assert!(scope_of(&request, target, &finding(1, 1, "1.0.0", None)).is_err());
        let request: DecisionRequest = serde_json::from_value(serde_json::json!({
            "findings": [1], "state": "in_triage", "scope": "range",
            "version_range": [{"introduced": "4.0.0"}, {"fixed": "4.17.21"}]
        }))
        .unwrap();
        let (scope, range) = scope_of(&request, target, &finding(1, 1, "4.17.20", None)).unwrap();
        assert_eq!(scope, DecisionScope::Range);
        assert_eq!(range.unwrap().as_str(), "vers:npm/>=4.0.0|<4.17.21");
    }
}
