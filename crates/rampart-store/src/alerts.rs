//! Product/vendor CVE alerts: a team's watches (tenant-scoped CRUD, counted against the
//! plan), the facts of the knowledge-base records a sync changed (gathered from every source
//! that names what a record affects: NVD CPE configurations, CVE JSON 5 `affected`, KEV, OSV
//! packages), and the matches the engine decides, written with their `alert.matched` events.
//! CVE JSON 5 records are ingested here too ([`Store::ingest_cve_records`]).

use crate::BeginWrite;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, SubsecRound, Utc};
use rampart_core::alert_match::{
    materially_changed, PackageFact, ProductFact, ProductSource, RecordFacts,
};
use rampart_formats::advisory::CveRecord;
use serde::Serialize;

use crate::audit::insert_audit;
use crate::bulk::{id_lists, Bulk};
use crate::products::{Page, PageRequest, Tenant};
use crate::{now, with_pool, AuditEvent, IngestStats, Store, StoreError};

/// A stored watch.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct AlertWatch {
    pub id: i64,
    pub team_id: i64,
    pub is_test: bool,
    pub name: String,
    /// `vendor`, `product` or `package`.
    pub kind: String,
    pub vendor: Option<String>,
    pub product: Option<String>,
    pub ecosystem: Option<String>,
    pub package_name: Option<String>,
    pub purl: Option<String>,
    pub package_key: Option<String>,
    pub min_cvss: Option<f64>,
    pub min_epss: Option<f64>,
    pub kev_only: bool,
    pub enabled: bool,
    pub created_kb_version: i64,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A validated new watch.
#[derive(Debug, Clone)]
pub struct NewAlertWatch {
    pub name: String,
    pub kind: String,
    pub vendor: Option<String>,
    pub product: Option<String>,
    pub ecosystem: Option<String>,
    pub package_name: Option<String>,
    pub purl: Option<String>,
    pub package_key: Option<String>,
    pub min_cvss: Option<f64>,
    pub min_epss: Option<f64>,
    pub kev_only: bool,
    pub enabled: bool,
    pub created_by: String,
}

/// Changes to a watch; `None` keeps a field (`Some(None)` clears a condition).
#[derive(Debug, Clone, Default)]
pub struct AlertWatchChanges {
    pub name: Option<String>,
    pub min_cvss: Option<Option<f64>>,
    pub min_epss: Option<Option<f64>>,
    pub kev_only: Option<bool>,
    pub enabled: Option<bool>,
}

/// A stored match of a watch and a record.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct AlertMatchRecord {
    pub id: i64,
    pub watch_id: i64,
    pub vuln_id: String,
    /// JSON array.
    pub aliases: String,
    pub summary: Option<String>,
    pub matched_by: String,
    pub matched_on: String,
    pub max_cvss: Option<f64>,
    pub epss: Option<f64>,
    pub kev: bool,
    pub change: String,
    pub kb_version: i64,
    pub event_id: Option<i64>,
    pub alerts: i64,
    pub first_matched_at: DateTime<Utc>,
    pub last_matched_at: DateTime<Utc>,
}

/// One e-mail notification of an event.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EmailDelivery {
    #[serde(skip)]
    pub event_id: i64,
    /// The recipient.
    pub email: String,
    /// `immediate` or `daily_digest`.
    pub delivery: String,
    /// `queued` (waiting for the digest), `sent` or `failed`.
    pub status: String,
    pub error: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// One webhook delivery of an event (the delivery worker's job row).
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WebhookDeliveryStatus {
    #[serde(skip)]
    pub event_id: i64,
    pub endpoint_id: i64,
    pub url: String,
    /// `pending`, `delivered`, `failed` (retries exhausted) or `cancelled`.
    pub status: String,
    pub attempts: i64,
    pub last_status_code: Option<i64>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// A record (alias group) a sync added or changed, with what watches ask about it.
#[derive(Debug, Clone)]
pub struct AlertSubject {
    /// The record's CVE id when it has one, else its own id.
    pub vuln_id: String,
    /// Its other identifiers.
    pub aliases: Vec<String>,
    pub summary: Option<String>,
    /// The knowledge-base version of its latest change.
    pub changed_in: i64,
    pub facts: RecordFacts,
}

/// A decided match, to be written.
#[derive(Debug, Clone)]
pub struct NewAlertMatch {
    pub watch_id: i64,
    pub team_id: i64,
    pub is_test: bool,
    pub watch_name: String,
    pub vuln_id: String,
    pub aliases: Vec<String>,
    pub summary: Option<String>,
    pub matched_by: String,
    pub matched_on: String,
    pub kb_version: i64,
    pub facts: RecordFacts,
}

/// What one evaluation step wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AlertPass {
    /// Whether this replica claimed the step (false: nothing new, or another replica did).
    pub claimed: bool,
    pub new_matches: usize,
    pub updated_matches: usize,
}

const WATCH_COLUMNS: &str = "id, team_id, is_test, name, kind, vendor, product, ecosystem,
    package_name, purl, package_key, min_cvss, min_epss, kev_only, enabled, created_kb_version,
    created_by, created_at, updated_at";

const MATCH_COLUMNS: &str = "id, watch_id, vuln_id, aliases, summary, matched_by, matched_on,
    max_cvss, epss, kev, change, kb_version, event_id, alerts, first_matched_at, last_matched_at";

fn micros(at: DateTime<Utc>) -> DateTime<Utc> {
    at.trunc_subsecs(6)
}

/// Writes an `alert.matched` event on `$conn`, inside the match's transaction (the outbox),
/// and evaluates to its id. One evaluation step writes at a time (the compare-and-set on
/// `alert_state` holds its row lock until commit), so the team's newest `alert.matched` event
/// is the one just written.
macro_rules! record_alert_event {
    ($conn:expr, $team_id:expr, $test:expr, $data:expr) => {{
        let conn = $conn;
        let event = crate::events::NewEvent::team(
            Tenant {
                team_id: $team_id,
                test: $test,
            },
            rampart_core::EventType::AlertMatched,
            $data,
        );
        match crate::events::record_event(&mut *conn, &event).await {
            Ok(()) => {
                sqlx::query_scalar::<_, Option<i64>>(
                    "SELECT MAX(id) FROM events WHERE team_id = $1 AND type = 'alert.matched'",
                )
                .bind($team_id)
                .fetch_one(&mut *conn)
                .await
            }
            Err(error) => Err(error),
        }
    }};
}

/// The `alert.matched` event's `data`.
pub fn alert_event_data(new: &NewAlertMatch, match_id: i64, change: &str) -> serde_json::Value {
    serde_json::json!({
        "watch_id": new.watch_id,
        "watch_name": new.watch_name,
        "match_id": match_id,
        "change": change,
        "vuln_id": new.vuln_id,
        "aliases": new.aliases,
        "summary": new.summary,
        "matched_by": new.matched_by,
        "matched_on": new.matched_on,
        "max_cvss": new.facts.max_cvss,
        "epss": new.facts.epss,
        "kev": new.facts.kev,
    })
}

impl Store {
    /// Creates a watch unless the team (its live or its test rows) already has `limit`, and
    /// records `event`, in one transaction.
    pub async fn create_alert_watch(
        &self,
        tenant: Tenant,
        new: &NewAlertWatch,
        limit: i64,
        event: &AuditEvent,
    ) -> Result<AlertWatch, StoreError> {
        let at = now();
        let sql = format!(
            "INSERT INTO alert_watches (team_id, is_test, name, kind, vendor, product, ecosystem,
                package_name, purl, package_key, min_cvss, min_epss, kev_only, enabled,
                created_kb_version, created_by, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17)
             RETURNING {WATCH_COLUMNS}"
        );
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            // Taking the team row's lock first serialises concurrent creations (PostgreSQL);
            // SQLite writers are serialised already.
            sqlx::query("UPDATE teams SET plan = plan WHERE id = $1")
                .bind(tenant.team_id)
                .execute(&mut *tx)
                .await?;
            let count: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM alert_watches WHERE team_id = $1 AND is_test = $2",
            )
            .bind(tenant.team_id)
            .bind(tenant.test)
            .fetch_one(&mut *tx)
            .await?;
            if count >= limit {
                return Err(StoreError::LimitReached(limit));
            }
            let kb_version: i64 = sqlx::query_scalar("SELECT version FROM kb_state WHERE id = 1")
                .fetch_one(&mut *tx)
                .await?;
            let row: AlertWatch = sqlx::query_as(&sql)
                .bind(tenant.team_id)
                .bind(tenant.test)
                .bind(&new.name)
                .bind(&new.kind)
                .bind(&new.vendor)
                .bind(&new.product)
                .bind(&new.ecosystem)
                .bind(&new.package_name)
                .bind(&new.purl)
                .bind(&new.package_key)
                .bind(new.min_cvss)
                .bind(new.min_epss)
                .bind(new.kev_only)
                .bind(new.enabled)
                .bind(kb_version)
                .bind(&new.created_by)
                .bind(at)
                .fetch_one(&mut *tx)
                .await?;
            insert_audit!(&mut *tx, &event.clone().target("alert", row.id), at)?;
            tx.commit().await?;
            Ok(row)
        })
    }

    /// The team's watches, oldest first, and how many it has in all.
    pub async fn list_alert_watches(
        &self,
        tenant: Tenant,
        page: PageRequest,
    ) -> Result<Page<AlertWatch>, StoreError> {
        let sql = format!(
            "SELECT {WATCH_COLUMNS} FROM alert_watches WHERE team_id = $1 AND is_test = $2
             ORDER BY id LIMIT $3 OFFSET $4"
        );
        let (items, total) = with_pool!(self, pool => {
            let items: Vec<AlertWatch> = sqlx::query_as(&sql)
                .bind(tenant.team_id)
                .bind(tenant.test)
                .bind(page.limit())
                .bind(page.offset())
                .fetch_all(pool)
                .await?;
            let total: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM alert_watches WHERE team_id = $1 AND is_test = $2",
            )
            .bind(tenant.team_id)
            .bind(tenant.test)
            .fetch_one(pool)
            .await?;
            (items, total)
        });
        Ok(Page { items, total })
    }

    pub async fn alert_watch(
        &self,
        tenant: Tenant,
        id: i64,
    ) -> Result<Option<AlertWatch>, StoreError> {
        let sql = format!(
            "SELECT {WATCH_COLUMNS} FROM alert_watches WHERE id = $1 AND team_id = $2 AND is_test = $3"
        );
        Ok(with_pool!(self, pool => {
            sqlx::query_as(&sql)
                .bind(id)
                .bind(tenant.team_id)
                .bind(tenant.test)
                .fetch_optional(pool)
                .await
        })?)
    }

    /// Applies `changes` and records `event`; `None` when the watch is not the team's.
    pub async fn update_alert_watch(
        &self,
        tenant: Tenant,
        id: i64,
        changes: &AlertWatchChanges,
        event: &AuditEvent,
    ) -> Result<Option<AlertWatch>, StoreError> {
        let at = now();
        let select = format!(
            "SELECT {WATCH_COLUMNS} FROM alert_watches WHERE id = $1 AND team_id = $2 AND is_test = $3"
        );
        let update = format!(
            "UPDATE alert_watches SET name = $4, min_cvss = $5, min_epss = $6, kev_only = $7,
                enabled = $8, updated_at = $9
             WHERE id = $1 AND team_id = $2 AND is_test = $3 RETURNING {WATCH_COLUMNS}"
        );
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let current: Option<AlertWatch> = sqlx::query_as(&select)
                .bind(id)
                .bind(tenant.team_id)
                .bind(tenant.test)
                .fetch_optional(&mut *tx)
                .await?;
            let Some(current) = current else {
                return Ok(None);
            };
            let row: AlertWatch = sqlx::query_as(&update)
                .bind(id)
                .bind(tenant.team_id)
                .bind(tenant.test)
                .bind(changes.name.as_ref().unwrap_or(&current.name))
                .bind(changes.min_cvss.unwrap_or(current.min_cvss))
                .bind(changes.min_epss.unwrap_or(current.min_epss))
                .bind(changes.kev_only.unwrap_or(current.kev_only))
                .bind(changes.enabled.unwrap_or(current.enabled))
                .bind(at)
                .fetch_one(&mut *tx)
                .await?;
            insert_audit!(&mut *tx, &event.clone().target("alert", id), at)?;
            tx.commit().await?;
            Ok(Some(row))
        })
    }

    /// Deletes a watch (and its matches) and records `event`; false when not the team's.
    pub async fn delete_alert_watch(
        &self,
        tenant: Tenant,
        id: i64,
        event: &AuditEvent,
    ) -> Result<bool, StoreError> {
        let at = now();
        let deleted = with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            sqlx::query("DELETE FROM alert_matches WHERE watch_id = $1 AND team_id = $2 AND is_test = $3")
                .bind(id)
                .bind(tenant.team_id)
                .bind(tenant.test)
                .execute(&mut *tx)
                .await?;
            let deleted = sqlx::query(
                "DELETE FROM alert_watches WHERE id = $1 AND team_id = $2 AND is_test = $3",
            )
            .bind(id)
            .bind(tenant.team_id)
            .bind(tenant.test)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if deleted > 0 {
                insert_audit!(&mut *tx, &event.clone().target("alert", id), at)?;
            }
            tx.commit().await?;
            deleted
        });
        Ok(deleted > 0)
    }

    /// A watch's matches, latest alert first.
    pub async fn list_alert_matches(
        &self,
        tenant: Tenant,
        watch_id: i64,
        page: PageRequest,
    ) -> Result<Page<AlertMatchRecord>, StoreError> {
        let sql = format!(
            "SELECT {MATCH_COLUMNS} FROM alert_matches
             WHERE watch_id = $1 AND team_id = $2 AND is_test = $3
             ORDER BY last_matched_at DESC, id DESC LIMIT $4 OFFSET $5"
        );
        let (items, total) = with_pool!(self, pool => {
            let items: Vec<AlertMatchRecord> = sqlx::query_as(&sql)
                .bind(watch_id)
                .bind(tenant.team_id)
                .bind(tenant.test)
                .bind(page.limit())
                .bind(page.offset())
                .fetch_all(pool)
                .await?;
            let total: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM alert_matches WHERE watch_id = $1 AND team_id = $2 AND is_test = $3",
            )
            .bind(watch_id)
            .bind(tenant.team_id)
            .bind(tenant.test)
            .fetch_one(pool)
            .await?;
            (items, total)
        });
        Ok(Page { items, total })
    }

    /// The e-mail notifications of the team's events `event_ids`.
    pub async fn email_deliveries(
        &self,
        team_id: i64,
        event_ids: &[i64],
    ) -> Result<Vec<EmailDelivery>, StoreError> {
        let mut deliveries = Vec::new();
        for list in id_lists(event_ids) {
            let sql = format!(
                "SELECT d.event_id, u.email, d.delivery, d.status, d.error, d.sent_at
                 FROM notification_deliveries d JOIN users u ON u.id = d.user_id
                 WHERE d.team_id = $1 AND d.event_id IN ({list}) ORDER BY d.event_id, u.email"
            );
            let rows: Vec<EmailDelivery> = with_pool!(self, pool => {
                sqlx::query_as(&sql).bind(team_id).fetch_all(pool).await
            })?;
            deliveries.extend(rows);
        }
        Ok(deliveries)
    }

    /// The webhook deliveries of the team's events `event_ids`.
    pub async fn webhook_deliveries_of_events(
        &self,
        team_id: i64,
        event_ids: &[i64],
    ) -> Result<Vec<WebhookDeliveryStatus>, StoreError> {
        let mut deliveries = Vec::new();
        for list in id_lists(event_ids) {
            let sql = format!(
                "SELECT d.event_id, d.endpoint_id, e.url, d.status, d.attempts,
                    d.last_status_code, d.delivered_at
                 FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
                 WHERE d.team_id = $1 AND d.event_id IN ({list}) ORDER BY d.event_id, d.endpoint_id"
            );
            let rows: Vec<WebhookDeliveryStatus> = with_pool!(self, pool => {
                sqlx::query_as(&sql).bind(team_id).fetch_all(pool).await
            })?;
            deliveries.extend(rows);
        }
        Ok(deliveries)
    }

    /// Every enabled watch of every team (the evaluator's input; not a tenant listing).
    pub async fn enabled_alert_watches(&self) -> Result<Vec<AlertWatch>, StoreError> {
        let sql = format!("SELECT {WATCH_COLUMNS} FROM alert_watches WHERE enabled ORDER BY id");
        Ok(with_pool!(self, pool => sqlx::query_as(&sql).fetch_all(pool).await)?)
    }

    /// The knowledge-base version alerts have been evaluated up to.
    pub async fn alert_progress(&self) -> Result<i64, StoreError> {
        Ok(with_pool!(self, pool => {
            sqlx::query_scalar("SELECT kb_version FROM alert_state WHERE id = 1")
                .fetch_one(pool)
                .await
        })?)
    }

    /// Stores CVE JSON 5 records (keyed by CVE id) in one transaction: a changed record
    /// replaces the stored one and is stamped with the new knowledge-base version.
    pub async fn ingest_cve_records(&self, batch: &[CveRecord]) -> Result<IngestStats, StoreError> {
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let kb_version: i64 = sqlx::query_scalar(
                "UPDATE kb_state SET version = version + 1 WHERE id = 1 RETURNING version",
            )
            .fetch_one(&mut *tx)
            .await?;
            let mut stats = IngestStats::default();
            for record in batch {
                let cve_id = record.cve_id.trim();
                if cve_id.is_empty() {
                    stats.skipped += 1;
                    continue;
                }
                type Stored = (String, Option<String>, Option<f64>, Option<DateTime<Utc>>);
                let stored: Option<Stored> = sqlx::query_as(
                    "SELECT state, title, max_cvss, date_updated FROM cve_records WHERE cve_id = $1",
                )
                .bind(cve_id)
                .fetch_optional(&mut *tx)
                .await?;
                let stored_products: Vec<(String, String)> = sqlx::query_as(
                    "SELECT vendor, product FROM cve_affected_products WHERE cve_id = $1
                     ORDER BY vendor, product",
                )
                .bind(cve_id)
                .fetch_all(&mut *tx)
                .await?;
                let products: BTreeSet<(String, String)> = record
                    .products
                    .iter()
                    .map(|p| (p.vendor.clone(), p.product.clone()))
                    .collect();
                let updated = record.date_updated.map(micros);
                let same = stored.as_ref().is_some_and(|(state, title, max_cvss, date)| {
                    *state == record.state
                        && *title == record.title
                        && *max_cvss == record.max_cvss
                        && *date == updated
                        && stored_products.iter().cloned().collect::<BTreeSet<_>>() == products
                });
                match (&stored, same) {
                    (_, true) => {
                        stats.unchanged += 1;
                        continue;
                    }
                    (Some(_), false) => stats.updated += 1,
                    (None, _) => stats.added += 1,
                }
                sqlx::query(
                    "INSERT INTO cve_records (cve_id, state, title, date_published, date_updated,
                        max_cvss, changed_in_kb_version)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)
                     ON CONFLICT (cve_id) DO UPDATE SET state = excluded.state,
                        title = excluded.title, date_published = excluded.date_published,
                        date_updated = excluded.date_updated, max_cvss = excluded.max_cvss,
                        changed_in_kb_version = excluded.changed_in_kb_version",
                )
                .bind(cve_id)
                .bind(&record.state)
                .bind(&record.title)
                .bind(record.date_published.map(micros))
                .bind(updated)
                .bind(record.max_cvss)
                .bind(kb_version)
                .execute(&mut *tx)
                .await?;
                sqlx::query("DELETE FROM cve_affected_products WHERE cve_id = $1")
                    .bind(cve_id)
                    .execute(&mut *tx)
                    .await?;
                for (vendor, product) in &products {
                    sqlx::query(
                        "INSERT INTO cve_affected_products (cve_id, vendor, product)
                         VALUES ($1, $2, $3)",
                    )
                    .bind(cve_id)
                    .bind(vendor)
                    .bind(product)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            if stats.changed() {
                tx.commit().await?;
            } else {
                tx.rollback().await?;
            }
            Ok(stats)
        })
    }

    /// The records (alias groups, and CVE ids no stored record names) that changed after
    /// knowledge-base version `from` up to `to`, each with its facts from every source.
    pub async fn alert_subjects(
        &self,
        from: i64,
        to: i64,
    ) -> Result<Vec<AlertSubject>, StoreError> {
        with_pool!(self, pool => {
            let mut conn = pool.acquire().await?;
            let changed_vulns: Vec<(i64, i64)> = sqlx::query_as(
                "SELECT group_id, changed_in_kb_version FROM vulnerabilities
                 WHERE changed_in_kb_version > $1 AND changed_in_kb_version <= $2",
            )
            .bind(from)
            .bind(to)
            .fetch_all(&mut *conn)
            .await?;
            let mut changed_cves: Vec<(String, i64)> = sqlx::query_as(
                "SELECT cve_id, changed_in_kb_version FROM kev_entries
                 WHERE changed_in_kb_version > $1 AND changed_in_kb_version <= $2",
            )
            .bind(from)
            .bind(to)
            .fetch_all(&mut *conn)
            .await?;
            changed_cves.extend(
                sqlx::query_as::<_, (String, i64)>(
                    "SELECT cve_id, changed_in_kb_version FROM cve_records
                     WHERE changed_in_kb_version > $1 AND changed_in_kb_version <= $2",
                )
                .bind(from)
                .bind(to)
                .fetch_all(&mut *conn)
                .await?,
            );
            // Group → version of its latest change; CVE ids that no stored record names.
            let mut groups: BTreeMap<i64, i64> = BTreeMap::new();
            for (group, version) in changed_vulns {
                let entry = groups.entry(group).or_insert(version);
                *entry = (*entry).max(version);
            }
            let cve_ids: Vec<&str> = changed_cves.iter().map(|(id, _)| id.as_str()).collect();
            let grouped: HashMap<String, i64> = conn
                .select_in::<(String, i64)>("SELECT alias, group_id FROM vuln_aliases WHERE alias", &cve_ids)
                .await?
                .into_iter()
                .collect();
            let mut standalone: BTreeMap<String, i64> = BTreeMap::new();
            for (cve, version) in &changed_cves {
                match grouped.get(cve) {
                    Some(group) => {
                        let entry = groups.entry(*group).or_insert(*version);
                        *entry = (*entry).max(*version);
                    }
                    None => {
                        let entry = standalone.entry(cve.clone()).or_insert(*version);
                        *entry = (*entry).max(*version);
                    }
                }
            }
            if groups.is_empty() && standalone.is_empty() {
                return Ok(Vec::new());
            }
            let group_ids: Vec<i64> = groups.keys().copied().collect();
            // Members, aliases, CPE products and packages of the groups.
            let mut members: Vec<MemberRow> = Vec::new();
            let mut aliases: Vec<(String, i64)> = Vec::new();
            for list in id_lists(&group_ids) {
                members.extend(
                    sqlx::query_as::<_, MemberRow>(&format!(
                        "SELECT id, vuln_id, group_id, summary, max_cvss, withdrawn IS NOT NULL
                         FROM vulnerabilities WHERE group_id IN ({list}) ORDER BY id"
                    ))
                    .fetch_all(&mut *conn)
                    .await?,
                );
                aliases.extend(
                    sqlx::query_as::<_, (String, i64)>(&format!(
                        "SELECT alias, group_id FROM vuln_aliases WHERE group_id IN ({list})"
                    ))
                    .fetch_all(&mut *conn)
                    .await?,
                );
            }
            let member_ids: Vec<i64> = members.iter().map(|m| m.0).collect();
            let group_of_member: HashMap<i64, i64> = members.iter().map(|m| (m.0, m.2)).collect();
            let mut cpe: Vec<(i64, String, String)> = Vec::new();
            let mut packages: Vec<(i64, String, String)> = Vec::new();
            for list in id_lists(&member_ids) {
                cpe.extend(
                    sqlx::query_as::<_, (i64, String, String)>(&format!(
                        "SELECT DISTINCT m.vulnerability_id, p.vendor, p.product
                         FROM cpe_matches m JOIN cpe_products p ON p.id = m.product_id
                         WHERE m.vulnerable AND m.vulnerability_id IN ({list})"
                    ))
                    .fetch_all(&mut *conn)
                    .await?,
                );
                packages.extend(
                    sqlx::query_as::<_, (i64, String, String)>(&format!(
                        "SELECT DISTINCT vulnerability_id, ecosystem, name FROM affected_packages
                         WHERE vulnerability_id IN ({list})"
                    ))
                    .fetch_all(&mut *conn)
                    .await?,
                );
            }
            // Per-CVE facts of every CVE id involved.
            let mut all_cves: BTreeSet<String> = standalone.keys().cloned().collect();
            all_cves.extend(
                aliases
                    .iter()
                    .filter(|(alias, _)| alias.starts_with("CVE-"))
                    .map(|(alias, _)| alias.clone()),
            );
            let all_cves: Vec<&str> = all_cves.iter().map(String::as_str).collect();
            let kev: Vec<(String, String, String)> = conn
                .select_in("SELECT cve_id, vendor_project, product FROM kev_entries WHERE cve_id", &all_cves)
                .await?;
            let epss: Vec<(String, f64)> = conn
                .select_in("SELECT cve_id, epss FROM epss_scores WHERE cve_id", &all_cves)
                .await?;
            let cve_products: Vec<(String, String, String)> = conn
                .select_in("SELECT cve_id, vendor, product FROM cve_affected_products WHERE cve_id", &all_cves)
                .await?;
            type CveRow = (String, String, Option<String>, Option<f64>);
            let cve_rows: Vec<CveRow> = conn
                .select_in("SELECT cve_id, state, title, max_cvss FROM cve_records WHERE cve_id", &all_cves)
                .await?;
            Ok(assemble_subjects(SubjectRows {
                groups,
                standalone,
                members,
                aliases,
                group_of_member,
                cpe,
                packages,
                kev,
                epss,
                cve_products,
                cve_rows,
            }))
        })
    }

    /// Claims the evaluation step `from` → `to` (compare-and-set, so one replica writes each
    /// step) and writes its matches: a new (watch, record) pair is a `new` match; a known
    /// pair alerts again (`updated`) only when the record changed materially. Each alert
    /// writes its `alert.matched` event in the same transaction.
    pub async fn record_alert_matches(
        &self,
        from: i64,
        to: i64,
        matches: &[NewAlertMatch],
    ) -> Result<AlertPass, StoreError> {
        let at = now();
        let select = format!(
            "SELECT {MATCH_COLUMNS} FROM alert_matches WHERE watch_id = $1 AND vuln_id = $2"
        );
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let claimed = sqlx::query(
                "UPDATE alert_state SET kb_version = $2 WHERE id = 1 AND kb_version = $1",
            )
            .bind(from)
            .bind(to)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if claimed == 0 {
                return Ok(AlertPass::default());
            }
            let mut pass = AlertPass { claimed: true, ..Default::default() };
            for new in matches {
                let aliases = serde_json::to_string(&new.aliases).unwrap_or_else(|_| "[]".into());
                let stored: Option<AlertMatchRecord> = sqlx::query_as(&select)
                    .bind(new.watch_id)
                    .bind(&new.vuln_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                let (match_id, change) = match stored {
                    None => {
                        let id: i64 = sqlx::query_scalar(
                            "INSERT INTO alert_matches (team_id, is_test, watch_id, vuln_id, aliases,
                                summary, matched_by, matched_on, max_cvss, epss, kev, change,
                                kb_version, alerts, first_matched_at, last_matched_at)
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'new', $12, 1, $13, $13)
                             RETURNING id",
                        )
                        .bind(new.team_id)
                        .bind(new.is_test)
                        .bind(new.watch_id)
                        .bind(&new.vuln_id)
                        .bind(&aliases)
                        .bind(&new.summary)
                        .bind(&new.matched_by)
                        .bind(&new.matched_on)
                        .bind(new.facts.max_cvss)
                        .bind(new.facts.epss)
                        .bind(new.facts.kev)
                        .bind(new.kb_version)
                        .bind(at)
                        .fetch_one(&mut *tx)
                        .await?;
                        pass.new_matches += 1;
                        (id, "new")
                    }
                    Some(stored) if materially_changed(stored.max_cvss, stored.kev, &new.facts) => {
                        sqlx::query(
                            "UPDATE alert_matches SET aliases = $2, summary = $3, matched_by = $4,
                                matched_on = $5, max_cvss = $6, epss = $7, kev = $8,
                                change = 'updated', kb_version = $9, alerts = alerts + 1,
                                last_matched_at = $10
                             WHERE id = $1",
                        )
                        .bind(stored.id)
                        .bind(&aliases)
                        .bind(&new.summary)
                        .bind(&new.matched_by)
                        .bind(&new.matched_on)
                        .bind(new.facts.max_cvss)
                        .bind(new.facts.epss)
                        .bind(new.facts.kev)
                        .bind(new.kb_version)
                        .bind(at)
                        .execute(&mut *tx)
                        .await?;
                        pass.updated_matches += 1;
                        (stored.id, "updated")
                    }
                    Some(_) => continue,
                };
                let data = alert_event_data(new, match_id, change);
                let event_id: Option<i64> =
                    record_alert_event!(&mut *tx, new.team_id, new.is_test, data)?;
                if let Some(event_id) = event_id {
                    sqlx::query("UPDATE alert_matches SET event_id = $2 WHERE id = $1")
                        .bind(match_id)
                        .bind(event_id)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            tx.commit().await?;
            Ok(pass)
        })
    }
}

/// A record of a changed group: (row id, vuln_id, group, summary, max_cvss, withdrawn).
type MemberRow = (i64, String, i64, Option<String>, Option<f64>, bool);

/// The rows [`Store::alert_subjects`] read, to be put together.
struct SubjectRows {
    groups: BTreeMap<i64, i64>,
    standalone: BTreeMap<String, i64>,
    members: Vec<MemberRow>,
    aliases: Vec<(String, i64)>,
    group_of_member: HashMap<i64, i64>,
    cpe: Vec<(i64, String, String)>,
    packages: Vec<(i64, String, String)>,
    kev: Vec<(String, String, String)>,
    epss: Vec<(String, f64)>,
    cve_products: Vec<(String, String, String)>,
    cve_rows: Vec<(String, String, Option<String>, Option<f64>)>,
}

fn max_score(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// Adds what KEV, EPSS and the CVE JSON 5 record say about `cve` to `facts`.
fn add_cve_facts(
    facts: &mut RecordFacts,
    cve: &str,
    rows: &SubjectRows,
    summary: &mut Option<String>,
) {
    for (id, vendor, product) in &rows.kev {
        if id == cve {
            facts.kev = true;
            facts.products.push(ProductFact {
                vendor: vendor.clone(),
                product: product.clone(),
                source: ProductSource::Kev,
            });
        }
    }
    for (id, score) in &rows.epss {
        if id == cve {
            facts.epss = max_score(facts.epss, Some(*score));
        }
    }
    for (id, vendor, product) in &rows.cve_products {
        if id == cve {
            facts.products.push(ProductFact {
                vendor: vendor.clone(),
                product: product.clone(),
                source: ProductSource::Cve5,
            });
        }
    }
    for (id, _, title, max_cvss) in &rows.cve_rows {
        if id == cve {
            facts.max_cvss = max_score(facts.max_cvss, *max_cvss);
            if summary.is_none() {
                summary.clone_from(title);
            }
        }
    }
}

fn assemble_subjects(rows: SubjectRows) -> Vec<AlertSubject> {
    let mut subjects = Vec::new();
    for (&group, &changed_in) in &rows.groups {
        let members: Vec<_> = rows.members.iter().filter(|m| m.2 == group).collect();
        let mut identifiers: Vec<String> = rows
            .aliases
            .iter()
            .filter(|(_, g)| *g == group)
            .map(|(alias, _)| alias.clone())
            .collect();
        identifiers.sort();
        identifiers.dedup();
        let cves: Vec<&String> = identifiers
            .iter()
            .filter(|a| a.starts_with("CVE-"))
            .collect();
        let vuln_id = cves
            .first()
            .map(|c| c.to_string())
            .or_else(|| members.first().map(|m| m.1.clone()))
            .or_else(|| identifiers.first().cloned())
            .unwrap_or_default();
        let mut facts = RecordFacts {
            withdrawn: !members.is_empty() && members.iter().all(|m| m.5),
            ..Default::default()
        };
        let mut summary = members.iter().find_map(|m| m.3.clone());
        for member in &members {
            facts.max_cvss = max_score(facts.max_cvss, member.4);
        }
        for (member, vendor, product) in &rows.cpe {
            if rows.group_of_member.get(member) == Some(&group) {
                facts.products.push(ProductFact {
                    vendor: vendor.clone(),
                    product: product.clone(),
                    source: ProductSource::NvdCpe,
                });
            }
        }
        for (member, ecosystem, name) in &rows.packages {
            if rows.group_of_member.get(member) == Some(&group) {
                facts.packages.push(PackageFact {
                    ecosystem: ecosystem.clone(),
                    name: name.clone(),
                });
            }
        }
        for cve in &cves {
            add_cve_facts(&mut facts, cve, &rows, &mut summary);
        }
        let aliases = identifiers.into_iter().filter(|a| *a != vuln_id).collect();
        subjects.push(AlertSubject {
            vuln_id,
            aliases,
            summary,
            changed_in,
            facts,
        });
    }
    for (cve, &changed_in) in &rows.standalone {
        let mut facts = RecordFacts::default();
        let mut summary = None;
        add_cve_facts(&mut facts, cve, &rows, &mut summary);
        facts.withdrawn = rows
            .cve_rows
            .iter()
            .any(|(id, state, _, _)| id == cve && state.eq_ignore_ascii_case("REJECTED"));
        subjects.push(AlertSubject {
            vuln_id: cve.clone(),
            aliases: Vec::new(),
            summary,
            changed_in,
            facts,
        });
    }
    subjects
}
