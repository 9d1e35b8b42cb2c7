//! Code findings (from SARIF imports): the filters of `GET /api/v1/findings?kind=code`, one
//! finding with its history, triage (`open`, `false_positive`, `accepted_risk` with an expiry
//! and a reason, `fixed`) audited with a history entry, and the team's SLA: days from first
//! seen to due, per severity.

use chrono::{DateTime, Duration, Utc};
use rampart_core::code_finding_diff::CodeStatus;
use rampart_core::{PageRequest, Scope};
use rampart_formats::advisory::SeverityBand;
use rampart_store::{
    CodeFindingEvent, CodeFindingFilter, CodeFindingRecord, CodeFindingSort, CodeTriage, Page,
};
use serde::{Deserialize, Serialize};

use crate::actor::{Actor, RequestOrigin};
use crate::error::{ErrorCode, ServiceError};
use crate::Engine;

const MAX_REASON: usize = 2000;
/// Longest accepted risk: three years.
const MAX_ACCEPTANCE_DAYS: i64 = 3 * 366;

/// Default SLA days: critical 7, high 30, medium 90, low 180, none without a due date.
pub const DEFAULT_SLA_DAYS: [(SeverityBand, Option<i64>); 5] = [
    (SeverityBand::Critical, Some(7)),
    (SeverityBand::High, Some(30)),
    (SeverityBand::Medium, Some(90)),
    (SeverityBand::Low, Some(180)),
    (SeverityBand::None, None),
];

fn bad(message: impl Into<String>) -> ServiceError {
    ServiceError::new(ErrorCode::BadRequest, message)
}

/// The filters of a code-finding listing as the query wrote them.
#[derive(Debug, Default)]
pub struct CodeFindingCriteria<'a> {
    pub integration_id: Option<i64>,
    pub repository: Option<&'a str>,
    pub branch: Option<&'a str>,
    pub tool: Option<&'a str>,
    pub rule: Option<&'a str>,
    /// Comma-separated severities.
    pub severity: Option<&'a str>,
    /// Comma-separated statuses.
    pub status: Option<&'a str>,
    /// `severity` (default), `newest`, `oldest`, `path`.
    pub sort: Option<&'a str>,
}

fn list_of(text: Option<&str>) -> Vec<String> {
    text.into_iter()
        .flat_map(|t| t.split(','))
        .map(|t| t.trim().to_ascii_lowercase())
        .filter(|t| !t.is_empty())
        .collect()
}

fn present(text: Option<&str>) -> Option<String> {
    text.map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
}

impl CodeFindingCriteria<'_> {
    /// The store's filter and sort; 400 naming the parameter out of its set.
    pub fn resolve(&self) -> Result<(CodeFindingFilter, CodeFindingSort), ServiceError> {
        let severities = list_of(self.severity);
        if let Some(bad_one) = severities.iter().find(|s| SeverityBand::parse(s).is_none()) {
            return Err(bad(format!(
                "`severity` must be one or more of critical, high, medium, low, none, not {bad_one:?}"
            )));
        }
        let statuses = list_of(self.status);
        if let Some(bad_one) = statuses.iter().find(|s| CodeStatus::parse(s).is_none()) {
            return Err(bad(format!(
                "`status` must be one or more of open, fixed, false_positive, accepted_risk, suppressed, not {bad_one:?}"
            )));
        }
        let sort = match self.sort.map(str::trim) {
            None | Some("") | Some("severity") => CodeFindingSort::Severity,
            Some("newest") => CodeFindingSort::Newest,
            Some("oldest") => CodeFindingSort::Oldest,
            Some("path") => CodeFindingSort::Path,
            Some(other) => {
                return Err(bad(format!(
                    "`sort` must be severity, newest, oldest or path, not {other:?}"
                )))
            }
        };
        Ok((
            CodeFindingFilter {
                integration_id: self.integration_id,
                repository: present(self.repository),
                branch: present(self.branch),
                tool: present(self.tool),
                rule: present(self.rule),
                severities,
                statuses,
                within: None,
            },
            sort,
        ))
    }
}

/// A code finding with what is computed on reading: the effective status (an expired
/// accepted risk is open again) and the SLA due date.
#[derive(Debug, Clone)]
pub struct CodeFinding {
    pub record: CodeFindingRecord,
    pub status: CodeStatus,
    /// First seen plus the team's SLA days for the severity, while open.
    pub due_at: Option<DateTime<Utc>>,
    /// Open past its due date.
    pub overdue: bool,
}

/// The team's SLA days by severity (stored values over the defaults).
pub async fn sla_days(
    engine: &Engine,
    team_id: i64,
) -> Result<Vec<(SeverityBand, Option<i64>)>, ServiceError> {
    let stored = engine.store.code_finding_sla(team_id).await?;
    Ok(DEFAULT_SLA_DAYS
        .iter()
        .map(|(band, default)| {
            let days = stored
                .iter()
                .find(|(severity, _)| severity == band.as_str())
                .map_or(*default, |(_, days)| *days);
            (*band, days)
        })
        .collect())
}

fn effective(
    record: CodeFindingRecord,
    sla: &[(SeverityBand, Option<i64>)],
    now: DateTime<Utc>,
) -> CodeFinding {
    let mut status = CodeStatus::parse(&record.status).unwrap_or(CodeStatus::Open);
    if status == CodeStatus::AcceptedRisk && record.accepted_until.is_some_and(|until| until < now)
    {
        status = CodeStatus::Open;
    }
    let days = sla
        .iter()
        .find(|(band, _)| band.as_str() == record.severity)
        .and_then(|(_, days)| *days);
    // A deadline binds only while the finding is open: a fixed, false-positive, accepted or
    // suppressed one has none (an accepted risk gets it back once its acceptance expires).
    let due_at = days
        .filter(|_| status == CodeStatus::Open)
        .map(|days| record.first_seen_at + Duration::days(days));
    let overdue = due_at.is_some_and(|due| due < now);
    CodeFinding {
        record,
        status,
        due_at,
        overdue,
    }
}

/// A page of the team's code findings (`findings:read`).
/// The team's code findings; with `product`, only those of the repositories its integrations'
/// project mappings tie to that product (404 when the product is not the team's).
pub async fn list(
    engine: &Engine,
    actor: &Actor,
    (mut filter, sort): (CodeFindingFilter, CodeFindingSort),
    product: Option<i64>,
    page: PageRequest,
) -> Result<Page<CodeFinding>, ServiceError> {
    actor.require(Scope::FindingsRead)?;
    if let Some(product_id) = product {
        filter.within = Some(product_repositories(engine, actor, product_id).await?);
    }
    let now = engine.now();
    let sla = sla_days(engine, actor.team_id).await?;
    let page = engine
        .store
        .list_code_findings(actor.tenant(), &filter, sort, page, now)
        .await?;
    Ok(Page {
        items: page
            .items
            .into_iter()
            .map(|record| effective(record, &sla, now))
            .collect(),
        total: page.total,
    })
}

/// The (integration, repository) pairs whose project mappings name the product.
async fn product_repositories(
    engine: &Engine,
    actor: &Actor,
    product_id: i64,
) -> Result<Vec<(i64, String)>, ServiceError> {
    if engine
        .store
        .product(actor.tenant(), product_id)
        .await?
        .is_none()
    {
        return Err(ServiceError::not_found("product"));
    }
    let mut pairs = Vec::new();
    let mut number = 1;
    loop {
        let request = PageRequest::new(number, 500).map_err(|e| bad(e.to_string()))?;
        let page = engine
            .store
            .list_integrations(actor.tenant(), None, request)
            .await?;
        let seen = page.items.len();
        for record in page.items {
            let integration = super::integrations::Integration::from_record(record)?;
            for mapping in integration.mappings {
                if mapping.product_id == Some(product_id) {
                    pairs.push((integration.record.id, mapping.repository));
                }
            }
        }
        if seen < 500 {
            break;
        }
        number += 1;
    }
    pairs.sort();
    pairs.dedup();
    Ok(pairs)
}

fn not_found() -> ServiceError {
    ServiceError::not_found("code finding")
}

pub async fn get(engine: &Engine, actor: &Actor, id: i64) -> Result<CodeFinding, ServiceError> {
    actor.require(Scope::FindingsRead)?;
    let record = engine
        .store
        .code_finding(actor.tenant(), id)
        .await?
        .ok_or_else(not_found)?;
    let sla = sla_days(engine, actor.team_id).await?;
    Ok(effective(record, &sla, engine.now()))
}

/// A finding's history: its first import, then every status change, oldest first.
pub async fn history(
    engine: &Engine,
    actor: &Actor,
    id: i64,
) -> Result<(CodeFindingRecord, Vec<CodeFindingEvent>), ServiceError> {
    actor.require(Scope::FindingsRead)?;
    let record = engine
        .store
        .code_finding(actor.tenant(), id)
        .await?
        .ok_or_else(not_found)?;
    let events = engine.store.code_finding_events(actor.tenant(), id).await?;
    Ok((record, events))
}

/// A triage decision as sent.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TriageRequest {
    /// `open`, `false_positive`, `accepted_risk` or `fixed`.
    #[schema(pattern = "^(open|false_positive|accepted_risk|fixed)$")]
    pub status: String,
    /// Why (required for `false_positive` and `accepted_risk`), at most 2000 characters.
    #[schema(max_length = 2000)]
    pub reason: Option<String>,
    /// With `accepted_risk`: when the acceptance expires (RFC 3339, in the future, at most
    /// three years ahead); the finding is open again afterwards.
    pub expires_at: Option<DateTime<Utc>>,
}

/// Validates a triage decision into what the store writes.
pub fn triage_change(
    request: &TriageRequest,
    actor_label: &str,
    now: DateTime<Utc>,
) -> Result<CodeTriage, ServiceError> {
    let status = match CodeStatus::parse(request.status.trim()) {
        Some(CodeStatus::Suppressed) | None => {
            return Err(ServiceError::invalid(
                "status: must be open, false_positive, accepted_risk or fixed",
            ))
        }
        Some(status) => status,
    };
    let reason = crate::fields::optional_text("reason", request.reason.as_deref(), MAX_REASON)?;
    if reason.is_none() && status.is_triaged() {
        return Err(ServiceError::invalid(format!(
            "reason: is required for {}",
            status.as_str()
        )));
    }
    let accepted_until = match (status, request.expires_at) {
        (CodeStatus::AcceptedRisk, Some(until)) if until <= now => {
            return Err(ServiceError::invalid("expires_at: must be in the future"))
        }
        (CodeStatus::AcceptedRisk, Some(until))
            if until > now + Duration::days(MAX_ACCEPTANCE_DAYS) =>
        {
            return Err(ServiceError::invalid(
                "expires_at: at most three years ahead",
            ))
        }
        (CodeStatus::AcceptedRisk, Some(until)) => Some(until),
        (CodeStatus::AcceptedRisk, None) => {
            return Err(ServiceError::invalid(
                "expires_at: an accepted risk needs an expiry",
            ))
        }
        (_, Some(_)) => {
            return Err(ServiceError::invalid(
                "expires_at: only an accepted_risk expires",
            ))
        }
        (_, None) => None,
    };
    Ok(CodeTriage {
        status: status.as_str(),
        reason,
        accepted_until,
        actor: actor_label.to_string(),
    })
}

/// Records a triage decision (`findings:write`), with its history entry and audit record.
pub async fn triage(
    engine: &Engine,
    actor: &Actor,
    origin: &RequestOrigin,
    id: i64,
    request: TriageRequest,
) -> Result<CodeFinding, ServiceError> {
    actor.require(Scope::FindingsWrite)?;
    let change = triage_change(&request, &actor.user_email, engine.now())?;
    let mut event = actor.audit(origin, "code_finding.triage");
    event.details = Some(serde_json::json!({
        "status": change.status,
        "expires_at": change.accepted_until,
    }));
    let record = engine
        .store
        .triage_code_finding(actor.tenant(), id, &change, &event)
        .await?
        .ok_or_else(not_found)?;
    let sla = sla_days(engine, actor.team_id).await?;
    Ok(effective(record, &sla, engine.now()))
}

/// The SLA as sent: days per severity; `null` means no due date for that severity.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SlaDays {
    #[schema(minimum = 1, maximum = 3650)]
    pub critical: Option<i64>,
    #[schema(minimum = 1, maximum = 3650)]
    pub high: Option<i64>,
    #[schema(minimum = 1, maximum = 3650)]
    pub medium: Option<i64>,
    #[schema(minimum = 1, maximum = 3650)]
    pub low: Option<i64>,
    #[schema(minimum = 1, maximum = 3650)]
    pub none: Option<i64>,
}

impl SlaDays {
    fn from_bands(days: &[(SeverityBand, Option<i64>)]) -> SlaDays {
        let of = |band: SeverityBand| days.iter().find(|(b, _)| *b == band).and_then(|(_, d)| *d);
        SlaDays {
            critical: of(SeverityBand::Critical),
            high: of(SeverityBand::High),
            medium: of(SeverityBand::Medium),
            low: of(SeverityBand::Low),
            none: of(SeverityBand::None),
        }
    }
}

/// The caller's team's SLA (`findings:read`).
pub async fn get_sla(engine: &Engine, actor: &Actor) -> Result<SlaDays, ServiceError> {
    actor.require(Scope::FindingsRead)?;
    Ok(SlaDays::from_bands(&sla_days(engine, actor.team_id).await?))
}

/// Replaces the caller's team's SLA (`teams:manage`): each value 1–3650 days or `null`.
pub async fn set_sla(
    engine: &Engine,
    actor: &Actor,
    origin: &RequestOrigin,
    days: SlaDays,
) -> Result<SlaDays, ServiceError> {
    actor.require(Scope::TeamsManage)?;
    let values = [
        ("critical", days.critical),
        ("high", days.high),
        ("medium", days.medium),
        ("low", days.low),
        ("none", days.none),
    ];
    for (name, value) in values {
        if value.is_some_and(|d| !(1..=3650).contains(&d)) {
            return Err(ServiceError::invalid(format!(
                "{name}: must be 1 to 3650 days, or null for no due date"
            )));
        }
    }
    let mut event = actor.audit(origin, "finding_sla.update");
    event.details = Some(serde_json::to_value(&days).expect("plain data"));
    engine
        .store
        .set_code_finding_sla(actor.team_id, &values, &event)
        .await?;
    get_sla(engine, actor).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(
        status: &str,
        reason: Option<&str>,
        expires_at: Option<DateTime<Utc>>,
    ) -> TriageRequest {
        TriageRequest {
            status: status.to_string(),
            reason: reason.map(str::to_string),
            expires_at,
        }
    }

    #[test]
    fn accepted_risk_needs_a_reason_and_a_future_expiry() {
        let now = Utc::now();
        let later = now + Duration::days(30);
        let ok = triage_change(
            &request("accepted_risk", Some("vendor fix due"), Some(later)),
            "a",
            now,
        )
        .unwrap();
        assert_eq!(
            (ok.status, ok.accepted_until),
            ("accepted_risk", Some(later))
        );
        for bad in [
            request("accepted_risk", None, Some(later)),
            request("accepted_risk", Some("r"), None),
            request("accepted_risk", Some("r"), Some(now - Duration::days(1))),
            request(
                "accepted_risk",
                Some("r"),
                Some(now + Duration::days(4 * 366)),
            ),
            request("false_positive", None, None),
            request("open", None, Some(later)),
            request("suppressed", Some("r"), None),
            request("closed", None, None),
        ] {
            assert_eq!(
                triage_change(&bad, "a", now).unwrap_err().code(),
                ErrorCode::ValidationFailed,
                "{bad:?}"
            );
        }
        assert!(triage_change(&request("fixed", None, None), "a", now).is_ok());
    }

    #[test]
    fn an_expired_acceptance_is_open_and_due_dates_follow_the_sla() {
        let now = Utc::now();
        let record = CodeFindingRecord {
            id: 1,
            team_id: 1,
            is_test: false,
            integration_id: 1,
            orphaned: false,
            repository: String::new(),
            branch: String::new(),
            tool: "t".into(),
            tool_version: None,
            identity: "x".into(),
            fingerprints: "{}".into(),
            rule_id: "r".into(),
            rule_name: None,
            rule_help: None,
            help_uri: None,
            tags: "[]".into(),
            cwes: "[]".into(),
            owasp: "[]".into(),
            level: "error".into(),
            security_severity: None,
            severity: "high".into(),
            message: "m".into(),
            path: None,
            start_line: None,
            start_column: None,
            end_line: None,
            end_column: None,
            snippet: None,
            code_flows: None,
            commit_sha: None,
            status: "accepted_risk".into(),
            suppression_justification: None,
            triage_reason: None,
            accepted_until: Some(now - Duration::hours(1)),
            first_import_id: 1,
            last_import_id: 1,
            first_seen_at: now - Duration::days(31),
            updated_at: now,
        };
        let finding = effective(record.clone(), &DEFAULT_SLA_DAYS, now);
        assert_eq!(finding.status, CodeStatus::Open);
        assert_eq!(
            finding.due_at,
            Some(record.first_seen_at + Duration::days(30))
        );
        assert!(finding.overdue);
        let mut current = record;
        current.accepted_until = Some(now + Duration::days(1));
        let finding = effective(current, &DEFAULT_SLA_DAYS, now);
        assert_eq!(finding.status, CodeStatus::AcceptedRisk);
        assert!(!finding.overdue);
        assert_eq!(
            finding.due_at, None,
            "no deadline while the risk is accepted"
        );
    }

    #[test]
    fn unknown_filters_are_refused_naming_the_parameter() {
        let bad_status = CodeFindingCriteria {
            status: Some("open,closed"),
            ..Default::default()
        };
        assert!(bad_status
            .resolve()
            .unwrap_err()
            .message()
            .contains("`status`"));
        let ok = CodeFindingCriteria {
            status: Some("Open, accepted_risk"),
            severity: Some("high"),
            repository: Some(" "),
            ..Default::default()
        };
        let (filter, _) = ok.resolve().unwrap();
        assert_eq!(filter.statuses, ["open", "accepted_risk"]);
        assert_eq!(filter.repository, None);
    }
}
