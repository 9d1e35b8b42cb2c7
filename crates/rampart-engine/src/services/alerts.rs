//! Product/vendor CVE alerts (seed 003: "product/vendor CVE alerts", up to the plan's
//! `product_alerts`, 10 on pro): a team watches a vendor, a vendor + product (names as the
//! CPE catalogue, CVE 5 records or KEV spell them), or a package (ecosystem + name, or a
//! purl), with optional conditions (minimum CVSS, minimum EPSS, KEV only). When a sync adds
//! or materially changes a record that matches, the watch gets a match and the team an
//! `alert.matched` event (which webhooks and e-mail deliver).
//!
//! Evaluation follows the knowledge-base version like re-analysis does: the match-index
//! refresher calls [`evaluate_changes`] with the version it reached; the records changed
//! since the last evaluated version are matched against every enabled watch by
//! [`rampart_core::alert_match`], and the matches are written with a compare-and-set on the
//! evaluated version, so one replica writes each step and a crash repeats it whole.

use rampart_core::alert_match::{self, WatchConditions, WatchTarget};
use rampart_core::{package_lookup_key, Scope};
use rampart_store::{
    AlertMatchRecord, AlertPass, AlertWatch, AlertWatchChanges, EmailDelivery, NewAlertMatch,
    NewAlertWatch, Page, PageRequest, Store, StoreError, WebhookDeliveryStatus,
};
use serde::{Deserialize, Deserializer};

use crate::actor::{Actor, RequestOrigin};
use crate::error::{ErrorCode, ServiceError};
use crate::{fields, Engine};

const NAME_MAX: usize = 200;
const IDENTIFIER_MAX: usize = 200;

/// `null` → `Some(None)` (clear), absent → `None` (keep).
fn nullable<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Option<f64>>, D::Error> {
    Ok(Some(Option::<f64>::deserialize(deserializer)?))
}

/// A new watch: `vendor` (with `product` for one product), or a package (`ecosystem` +
/// `package`, or `purl`).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAlert {
    /// 1–200 characters; default: what the watch is on (`vendor apache`).
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    pub name: Option<String>,
    /// A vendor as the CPE catalogue, CVE 5 records or KEV spell it (`apache`, `Apache
    /// Software Foundation`); matched as whole words, case-insensitively.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    pub vendor: Option<String>,
    /// A product of `vendor` (`http_server`, `HTTP Server`).
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    pub product: Option<String>,
    /// An OSV ecosystem (`PyPI`, `npm`, `Maven`, …), with `package`.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    pub ecosystem: Option<String>,
    /// A package name in `ecosystem`.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    pub package: Option<String>,
    /// A package URL (`pkg:pypi/django`); instead of `ecosystem` + `package`.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    pub purl: Option<String>,
    /// Alert only on records whose highest CVSS base score is at least this (0–10).
    #[schema(minimum = 0, maximum = 10)]
    pub min_cvss: Option<f64>,
    /// Alert only on records whose EPSS probability is at least this (0–1).
    #[schema(minimum = 0, maximum = 1)]
    pub min_epss: Option<f64>,
    /// Alert only on records CISA KEV lists.
    #[serde(default)]
    pub kev_only: bool,
    /// Default true.
    pub enabled: Option<bool>,
}

/// Changes to a watch (what it is on cannot change: make another watch). `null` clears a
/// condition.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateAlert {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<f64>, minimum = 0, maximum = 10)]
    pub min_cvss: Option<Option<f64>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<f64>, minimum = 0, maximum = 1)]
    pub min_epss: Option<Option<f64>>,
    pub kev_only: Option<bool>,
    pub enabled: Option<bool>,
}

fn invalid(field: &str, reason: &str) -> ServiceError {
    ServiceError::invalid(format!("`{field}` {reason}"))
}

fn not_found() -> ServiceError {
    ServiceError::not_found("alert")
}

fn identifier(field: &str, value: &Option<String>) -> Result<Option<String>, ServiceError> {
    match value {
        None => Ok(None),
        Some(value) => {
            let value = fields::name(field, value, IDENTIFIER_MAX)?;
            if alert_match::name_words(&value).is_empty() {
                return Err(invalid(field, "must contain a letter or digit"));
            }
            Ok(Some(value))
        }
    }
}

fn score(field: &str, value: Option<f64>, max: f64) -> Result<Option<f64>, ServiceError> {
    match value {
        Some(v) if !(0.0..=max).contains(&v) || v.is_nan() => {
            Err(invalid(field, &format!("must be between 0 and {max}")))
        }
        other => Ok(other),
    }
}

/// The watch a create body asks for, validated.
fn new_watch(actor: &Actor, body: &CreateAlert) -> Result<NewAlertWatch, ServiceError> {
    let vendor = identifier("vendor", &body.vendor)?;
    let product = identifier("product", &body.product)?;
    let ecosystem = identifier("ecosystem", &body.ecosystem)?;
    let package = identifier("package", &body.package)?;
    let purl = match &body.purl {
        None => None,
        Some(text) => Some(fields::name("purl", text, 2048)?),
    };
    let by_package = ecosystem.is_some() || package.is_some() || purl.is_some();
    if by_package && (vendor.is_some() || product.is_some()) {
        return Err(invalid(
            "vendor",
            "cannot be combined with a package (`ecosystem`/`package`/`purl`): make two watches",
        ));
    }
    let (kind, package_key, ecosystem, package_name) = if by_package {
        let (ecosystem, name) = match (&purl, &ecosystem, &package) {
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
                return Err(invalid(
                    "purl",
                    "is instead of `ecosystem` + `package`, not with them",
                ))
            }
            (Some(purl), None, None) => {
                let parsed = rampart_versions::Purl::parse_lenient(purl)
                    .map_err(|e| invalid("purl", &format!("is not a package URL: {e}")))?;
                let package = parsed.osv_package().ok_or_else(|| {
                    invalid("purl", "names a package type without an OSV ecosystem")
                })?;
                (package.ecosystem.to_string(), package.name)
            }
            (None, Some(ecosystem), Some(name)) => (ecosystem.clone(), name.clone()),
            (None, None, _) => return Err(invalid("ecosystem", "is required with `package`")),
            (None, Some(_), None) => {
                return Err(invalid("package", "is required with `ecosystem`"))
            }
        };
        (
            "package",
            Some(package_lookup_key(&ecosystem, &name)),
            Some(ecosystem),
            Some(name),
        )
    } else {
        match (&vendor, &product) {
            (Some(_), Some(_)) => ("product", None, None, None),
            (Some(_), None) => ("vendor", None, None, None),
            (None, Some(_)) => return Err(invalid("vendor", "is required with `product`")),
            (None, None) => {
                return Err(invalid(
                    "vendor",
                    "is required: watch a `vendor` (and `product`), or a package (`ecosystem` + `package`, or `purl`)",
                ))
            }
        }
    };
    let default_name = match kind {
        "vendor" => format!("vendor {}", vendor.as_deref().unwrap_or_default()),
        "product" => format!(
            "{} {}",
            vendor.as_deref().unwrap_or_default(),
            product.as_deref().unwrap_or_default()
        ),
        _ => format!(
            "{} {}",
            ecosystem.as_deref().unwrap_or_default(),
            package_name.as_deref().unwrap_or_default()
        ),
    };
    let name = match &body.name {
        Some(name) => fields::name("name", name, NAME_MAX)?,
        None => default_name.chars().take(NAME_MAX).collect(),
    };
    Ok(NewAlertWatch {
        name,
        kind: kind.to_string(),
        vendor,
        product,
        ecosystem,
        package_name,
        purl,
        package_key,
        min_cvss: score("min_cvss", body.min_cvss, 10.0)?,
        min_epss: score("min_epss", body.min_epss, 1.0)?,
        kev_only: body.kev_only,
        enabled: body.enabled.unwrap_or(true),
        created_by: actor.user_email.clone(),
    })
}

/// The plan's limit of watches, and how many the team has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlertUsage {
    pub used: i64,
    pub limit: i64,
}

pub async fn create(
    engine: &Engine,
    actor: &Actor,
    origin: &RequestOrigin,
    body: CreateAlert,
) -> Result<AlertWatch, ServiceError> {
    actor.require(Scope::ScansWrite)?;
    let new = new_watch(actor, &body)?;
    let limit = i64::from(engine.config.plans.limits(&actor.plan).product_alerts);
    if limit == 0 {
        return Err(ServiceError::new(
            ErrorCode::UpgradeRequired,
            "product/vendor alerts are not part of the team's plan",
        ));
    }
    let event = actor
        .audit(origin, "alert.create")
        .details(serde_json::json!({
            "kind": new.kind, "vendor": new.vendor, "product": new.product,
            "ecosystem": new.ecosystem, "package": new.package_name,
            "min_cvss": new.min_cvss, "min_epss": new.min_epss, "kev_only": new.kev_only,
        }));
    engine
        .store
        .create_alert_watch(actor.tenant(), &new, limit, &event)
        .await
        .map_err(|error| match error {
            StoreError::LimitReached(limit) => ServiceError::new(
                ErrorCode::QuotaExceeded,
                format!("Maximum of {limit} product/vendor alerts allowed on the team's plan (`product_alerts`)"),
            ),
            other => other.into(),
        })
}

pub async fn list(
    engine: &Engine,
    actor: &Actor,
    page: PageRequest,
) -> Result<(Page<AlertWatch>, AlertUsage), ServiceError> {
    actor.require(Scope::ScansRead)?;
    let watches = engine
        .store
        .list_alert_watches(actor.tenant(), page)
        .await?;
    let usage = AlertUsage {
        used: watches.total,
        limit: i64::from(engine.config.plans.limits(&actor.plan).product_alerts),
    };
    Ok((watches, usage))
}

pub async fn get(engine: &Engine, actor: &Actor, id: i64) -> Result<AlertWatch, ServiceError> {
    actor.require(Scope::ScansRead)?;
    engine
        .store
        .alert_watch(actor.tenant(), id)
        .await?
        .ok_or_else(not_found)
}

pub async fn update(
    engine: &Engine,
    actor: &Actor,
    origin: &RequestOrigin,
    id: i64,
    body: UpdateAlert,
) -> Result<AlertWatch, ServiceError> {
    actor.require(Scope::ScansWrite)?;
    let changes = AlertWatchChanges {
        name: match &body.name {
            Some(name) => Some(fields::name("name", name, NAME_MAX)?),
            None => None,
        },
        min_cvss: match body.min_cvss {
            Some(value) => Some(score("min_cvss", value, 10.0)?),
            None => None,
        },
        min_epss: match body.min_epss {
            Some(value) => Some(score("min_epss", value, 1.0)?),
            None => None,
        },
        kev_only: body.kev_only,
        enabled: body.enabled,
    };
    let event = actor
        .audit(origin, "alert.update")
        .details(serde_json::json!({
            "name": changes.name, "min_cvss": changes.min_cvss, "min_epss": changes.min_epss,
            "kev_only": changes.kev_only, "enabled": changes.enabled,
        }));
    engine
        .store
        .update_alert_watch(actor.tenant(), id, &changes, &event)
        .await?
        .ok_or_else(not_found)
}

pub async fn delete(
    engine: &Engine,
    actor: &Actor,
    origin: &RequestOrigin,
    id: i64,
) -> Result<(), ServiceError> {
    actor.require(Scope::ScansWrite)?;
    let event = actor.audit(origin, "alert.delete");
    if engine
        .store
        .delete_alert_watch(actor.tenant(), id, &event)
        .await?
    {
        Ok(())
    } else {
        Err(not_found())
    }
}

/// A match with the e-mail notifications of its latest alert.
#[derive(Debug, Clone)]
pub struct AlertMatchView {
    pub record: AlertMatchRecord,
    pub emails: Vec<EmailDelivery>,
    pub webhooks: Vec<WebhookDeliveryStatus>,
}

/// A watch's matches, latest first, each with its delivery status.
pub async fn matches(
    engine: &Engine,
    actor: &Actor,
    id: i64,
    page: PageRequest,
) -> Result<Page<AlertMatchView>, ServiceError> {
    let watch = get(engine, actor, id).await?;
    let matches = engine
        .store
        .list_alert_matches(actor.tenant(), watch.id, page)
        .await?;
    let event_ids: Vec<i64> = matches.items.iter().filter_map(|m| m.event_id).collect();
    let emails = engine
        .store
        .email_deliveries(actor.team_id, &event_ids)
        .await?;
    let webhooks = engine
        .store
        .webhook_deliveries_of_events(actor.team_id, &event_ids)
        .await?;
    Ok(Page {
        total: matches.total,
        items: matches
            .items
            .into_iter()
            .map(|record| AlertMatchView {
                emails: emails
                    .iter()
                    .filter(|e| Some(e.event_id) == record.event_id)
                    .cloned()
                    .collect(),
                webhooks: webhooks
                    .iter()
                    .filter(|w| Some(w.event_id) == record.event_id)
                    .cloned()
                    .collect(),
                record,
            })
            .collect(),
    })
}

/// Whether anyone in the caller's team gets `alert.matched` e-mail.
pub async fn anyone_subscribed(engine: &Engine, actor: &Actor) -> Result<bool, ServiceError> {
    Ok(engine
        .store
        .subscribers_of(actor.team_id, "alert.matched")
        .await?
        > 0)
}

/// What a stored watch is on and asks for, for [`alert_match::evaluate`].
pub fn target_of(watch: &AlertWatch) -> Option<(WatchTarget, WatchConditions)> {
    let target = match watch.kind.as_str() {
        "vendor" => WatchTarget::Vendor {
            vendor: watch.vendor.clone()?,
        },
        "product" => WatchTarget::Product {
            vendor: watch.vendor.clone()?,
            product: watch.product.clone()?,
        },
        "package" => WatchTarget::Package {
            key: watch.package_key.clone()?,
        },
        _ => return None,
    };
    Some((
        target,
        WatchConditions {
            min_cvss: watch.min_cvss,
            min_epss: watch.min_epss,
            kev_only: watch.kev_only,
        },
    ))
}

/// Evaluates every enabled watch against the records changed after the last evaluated
/// knowledge-base version up to `to`, and writes the matches and their events (one replica
/// per step). A change older than a watch does not alert it.
pub async fn evaluate_changes(store: &Store, to: i64) -> Result<AlertPass, StoreError> {
    let from = store.alert_progress().await?;
    if from >= to {
        return Ok(AlertPass::default());
    }
    let watches = store.enabled_alert_watches().await?;
    let mut matches = Vec::new();
    if !watches.is_empty() {
        let compiled: Vec<(&AlertWatch, WatchTarget, WatchConditions)> = watches
            .iter()
            .filter_map(|w| target_of(w).map(|(t, c)| (w, t, c)))
            .collect();
        for subject in store.alert_subjects(from, to).await? {
            for (watch, target, conditions) in &compiled {
                if subject.changed_in <= watch.created_kb_version {
                    continue;
                }
                let Some(reason) = alert_match::evaluate(target, conditions, &subject.facts) else {
                    continue;
                };
                matches.push(NewAlertMatch {
                    watch_id: watch.id,
                    team_id: watch.team_id,
                    is_test: watch.is_test,
                    watch_name: watch.name.clone(),
                    vuln_id: subject.vuln_id.clone(),
                    aliases: subject.aliases.clone(),
                    summary: subject.summary.clone(),
                    matched_by: reason.matched_by.to_string(),
                    matched_on: reason.matched_on,
                    kb_version: subject.changed_in,
                    facts: subject.facts.clone(),
                });
            }
        }
    }
    store.record_alert_matches(from, to, &matches).await
}
