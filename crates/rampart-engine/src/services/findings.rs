//! Findings (what affects a release), a product's summary and the finding events, for
//! `/api/v1/releases/{id}/vulnerabilities`, `/api/v1/products/{id}/vulnerability-summary`,
//! `/api/v1/finding-events` and an upload's `?wait=true` answer: the filter rules and the
//! reads, with each finding's alias group.

use std::collections::HashMap;

use rampart_core::triage::DispositionState;
use rampart_core::{PageRequest, Scope};
use rampart_formats::advisory::SeverityBand;
use rampart_store::{
    FindingEvent, FindingFilter, FindingSort, FindingView, Page, ProductFindingSummary,
    UNTRIAGED_STATE,
};

use crate::actor::Actor;
use crate::error::{ErrorCode, ServiceError};
use crate::services::dispositions::{current_decisions, CurrentDecision};
use crate::Engine;

/// Events listed when no page size is asked for.
const DEFAULT_EVENTS: i64 = 100;

fn bad(message: impl Into<String>) -> ServiceError {
    ServiceError::new(ErrorCode::BadRequest, message)
}

/// The filters and sort of a release's vulnerabilities as the caller wrote them.
#[derive(Debug, Default)]
pub struct FindingCriteria<'a> {
    /// Comma-separated severities.
    pub severity: Option<&'a str>,
    pub kev: Option<bool>,
    pub epss_min: Option<f64>,
    pub fixable: Option<bool>,
    pub new: Option<bool>,
    /// `severity` (the default), `epss` or `newest`.
    pub sort: Option<&'a str>,
    pub sbom_id: Option<i64>,
    /// Also findings a decision suppresses (`not_affected`, `false_positive`, `resolved`).
    pub include_suppressed: Option<bool>,
    /// Comma-separated triage states, `untriaged` for findings without a decision.
    pub state: Option<&'a str>,
}

impl FindingCriteria<'_> {
    /// The store's filter and sort; 400 naming the parameter that is out of its set or range.
    pub fn resolve(&self) -> Result<(FindingFilter, FindingSort), ServiceError> {
        let mut severities = Vec::new();
        for severity in self.severity.iter().flat_map(|s| s.split(',')) {
            let severity = severity.trim().to_lowercase();
            if severity.is_empty() {
                continue;
            }
            if SeverityBand::parse(&severity).is_none() {
                return Err(bad(format!(
                    "`severity` must be one or more of {} (comma-separated), not {severity:?}",
                    SeverityBand::ALL.map(SeverityBand::as_str).join(", ")
                )));
            }
            severities.push(severity);
        }
        if let Some(min) = self.epss_min {
            if !(0.0..=1.0).contains(&min) {
                return Err(bad("`epss_min` must be between 0 and 1"));
            }
        }
        let sort = match self.sort.map(str::trim) {
            None | Some("") | Some("severity") => FindingSort::Severity,
            Some("epss") => FindingSort::Epss,
            Some("newest") => FindingSort::Newest,
            Some(other) => {
                return Err(bad(format!(
                    "`sort` must be severity, epss or newest, not {other:?}"
                )))
            }
        };
        let mut states = Vec::new();
        for state in self.state.iter().flat_map(|s| s.split(',')) {
            let state = state.trim().to_lowercase();
            if state.is_empty() {
                continue;
            }
            if state != UNTRIAGED_STATE && state.parse::<DispositionState>().is_err() {
                let known: Vec<&str> = DispositionState::ALL
                    .into_iter()
                    .map(DispositionState::as_str)
                    .chain([UNTRIAGED_STATE])
                    .collect();
                return Err(bad(format!(
                    "`state` must be one or more of {} (comma-separated), not {state:?}",
                    known.join(", ")
                )));
            }
            states.push(state);
        }
        // Asking for a suppressed state means showing it.
        let asks_suppressed = states.iter().any(|state| {
            state
                .parse::<DispositionState>()
                .is_ok_and(DispositionState::is_suppressed)
        });
        Ok((
            FindingFilter {
                sbom_id: self.sbom_id,
                severities,
                kev: self.kev,
                epss_min: self.epss_min,
                fixable: self.fixable,
                new: self.new,
                include_suppressed: self.include_suppressed.unwrap_or(false) || asks_suppressed,
                states,
            },
            sort,
        ))
    }
}

/// A page of findings with the identifiers of each one's alias group (by group id) and
/// each one's current triage decision (by finding id).
pub struct FindingPage {
    pub page: Page<FindingView>,
    pub aliases: HashMap<i64, Vec<String>>,
    pub decisions: HashMap<i64, CurrentDecision>,
}

/// A finding with its alias group's identifiers (sorted) and its current decision.
pub struct FindingItem {
    pub view: FindingView,
    pub aliases: Vec<String>,
    pub decision: Option<CurrentDecision>,
}

impl FindingPage {
    /// Each finding with its alias group and decision.
    pub fn into_items(self) -> Page<FindingItem> {
        let FindingPage {
            page,
            aliases,
            mut decisions,
        } = self;
        Page {
            items: page
                .items
                .into_iter()
                .map(|view| FindingItem {
                    aliases: aliases.get(&view.group_id).cloned().unwrap_or_default(),
                    decision: decisions.remove(&view.id),
                    view,
                })
                .collect(),
            total: page.total,
        }
    }
}

/// A page of a release's findings with their alias groups and decisions filled in (no scope
/// check: for callers that already hold the release).
pub async fn finding_page(
    engine: &Engine,
    team_id: i64,
    release_id: i64,
    filter: &FindingFilter,
    sort: FindingSort,
    request: PageRequest,
) -> Result<FindingPage, ServiceError> {
    let page = engine
        .store
        .release_findings(team_id, release_id, filter, sort, request)
        .await?;
    let groups: Vec<i64> = page.items.iter().map(|f| f.group_id).collect();
    let aliases = engine.store.group_identifiers(&groups).await?;
    let decisions = current_decisions(engine, team_id, &page.items).await?;
    Ok(FindingPage {
        page,
        aliases,
        decisions,
    })
}

/// The team's dependency findings across releases (or one product's), filtered and sorted as
/// for a release (`vulnerabilities:read`), with alias groups and decisions filled in.
pub async fn team_vulnerabilities(
    engine: &Engine,
    actor: &Actor,
    product_id: Option<i64>,
    (filter, sort): (FindingFilter, FindingSort),
    request: PageRequest,
) -> Result<FindingPage, ServiceError> {
    actor.require(Scope::VulnerabilitiesRead)?;
    if let Some(product_id) = product_id {
        engine
            .store
            .product(actor.tenant(), product_id)
            .await?
            .ok_or_else(|| ServiceError::not_found("product"))?;
    }
    let page = engine
        .store
        .team_findings(actor.tenant(), product_id, &filter, sort, request)
        .await?;
    let groups: Vec<i64> = page.items.iter().map(|f| f.group_id).collect();
    let aliases = engine.store.group_identifiers(&groups).await?;
    let decisions = current_decisions(engine, actor.team_id, &page.items).await?;
    Ok(FindingPage {
        page,
        aliases,
        decisions,
    })
}

/// The vulnerabilities affecting a release of the team (`vulnerabilities:read`), filtered and
/// sorted as asked (see [`FindingCriteria::resolve`]).
pub async fn release_vulnerabilities(
    engine: &Engine,
    actor: &Actor,
    release_id: i64,
    (filter, sort): (FindingFilter, FindingSort),
    request: PageRequest,
) -> Result<FindingPage, ServiceError> {
    actor.require(Scope::VulnerabilitiesRead)?;
    engine
        .store
        .release(actor.tenant(), release_id)
        .await?
        .ok_or_else(|| ServiceError::not_found("release"))?;
    finding_page(engine, actor.team_id, release_id, &filter, sort, request).await
}

/// Counts over a product's open findings (`vulnerabilities:read`); findings a decision
/// suppresses count only with `include_suppressed`.
pub async fn product_summary(
    engine: &Engine,
    actor: &Actor,
    product_id: i64,
    include_suppressed: bool,
) -> Result<ProductFindingSummary, ServiceError> {
    actor.require(Scope::VulnerabilitiesRead)?;
    engine
        .store
        .product_finding_summary(actor.tenant(), product_id, include_suppressed)
        .await?
        .ok_or_else(|| ServiceError::not_found("product"))
}

/// The page size of the events list: `per_page` or its older name `limit` (the same value
/// when both are given), 1–500, default 100.
pub fn event_page_size(per_page: Option<i64>, limit: Option<i64>) -> Result<i64, ServiceError> {
    let size = match (per_page, limit) {
        (Some(per_page), Some(limit)) if per_page != limit => {
            return Err(bad("`per_page` and `limit` name the same thing: send one"))
        }
        (per_page, limit) => per_page.or(limit).unwrap_or(DEFAULT_EVENTS),
    };
    if (1..=i64::from(rampart_core::MAX_PER_PAGE)).contains(&size) {
        Ok(size)
    } else {
        Err(bad("`per_page` (or `limit`) must be between 1 and 500"))
    }
}

/// The team's finding events after `after` (the last id seen), oldest first
/// (`vulnerabilities:read`).
pub async fn finding_events(
    engine: &Engine,
    actor: &Actor,
    after: Option<i64>,
    per_page: Option<i64>,
    limit: Option<i64>,
) -> Result<Vec<FindingEvent>, ServiceError> {
    actor.require(Scope::VulnerabilitiesRead)?;
    let size = event_page_size(per_page, limit)?;
    Ok(engine
        .store
        .finding_events(actor.tenant(), after.unwrap_or(0), size)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities_are_trimmed_lowercased_and_checked() {
        let criteria = FindingCriteria {
            severity: Some(" High,,critical "),
            ..Default::default()
        };
        let (filter, _) = criteria.resolve().unwrap();
        assert_eq!(filter.severities, ["high", "critical"]);
        let bad = FindingCriteria {
            severity: Some("high,severe"),
            ..Default::default()
        };
        assert!(bad.resolve().unwrap_err().message().contains("\"severe\""));
    }

    #[test]
    fn sort_and_epss_bounds_are_checked() {
        let epss = FindingCriteria {
            epss_min: Some(1.5),
            ..Default::default()
        };
        assert_eq!(epss.resolve().unwrap_err().code(), ErrorCode::BadRequest);
        let sort = FindingCriteria {
            sort: Some("oldest"),
            ..Default::default()
        };
        assert!(sort.resolve().is_err());
        let newest = FindingCriteria {
            sort: Some(" newest "),
            ..Default::default()
        };
        assert!(matches!(newest.resolve().unwrap().1, FindingSort::Newest));
    }

    #[test]
    fn states_are_checked_and_asking_for_a_suppressed_one_shows_it() {
        let (filter, _) = FindingCriteria::default().resolve().unwrap();
        assert!(!filter.include_suppressed);
        let (filter, _) = FindingCriteria {
            state: Some("Exploitable, untriaged"),
            ..Default::default()
        }
        .resolve()
        .unwrap();
        assert_eq!(filter.states, ["exploitable", "untriaged"]);
        assert!(!filter.include_suppressed);
        let (filter, _) = FindingCriteria {
            state: Some("not_affected"),
            ..Default::default()
        }
        .resolve()
        .unwrap();
        assert!(filter.include_suppressed);
        let error = FindingCriteria {
            state: Some("fixed"),
            ..Default::default()
        }
        .resolve()
        .unwrap_err();
        assert!(error.message().contains("\"fixed\""));
    }

    #[test]
    fn event_page_size_takes_either_name_once() {
        assert_eq!(event_page_size(None, None).unwrap(), 100);
        assert_eq!(event_page_size(None, Some(7)).unwrap(), 7);
        assert_eq!(event_page_size(Some(7), Some(7)).unwrap(), 7);
        assert!(event_page_size(Some(7), Some(8)).is_err());
        assert!(event_page_size(Some(0), None).is_err());
        assert!(event_page_size(Some(501), None).is_err());
    }
}
