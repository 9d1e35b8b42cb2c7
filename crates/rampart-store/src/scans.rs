//! Scans (website and host) and URL monitors: tenant-scoped rows. A scan is also a job:
//! queued by a request (counted against the plan's daily quota in the same transaction that
//! inserts it), claimed by one worker with a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL),
//! completed with its result, its diff against the previous scan of the same target and a
//! `scan.completed` event, all in one transaction.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rampart_core::EventType;

use crate::audit::insert_audit;
use crate::events::{record_events, NewEvent};
use crate::products::{Page, PageRequest, Tenant};
use crate::{with_pool, AuditEvent, Backend, BeginWrite, Store, StoreError};

/// A stored scan.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ScanRecord {
    pub id: i64,
    pub public_id: String,
    pub team_id: i64,
    pub is_test: bool,
    /// `website` or `host`.
    pub kind: String,
    pub target: String,
    /// JSON object.
    pub options: String,
    /// `api`, `ui`, `rescan` or `monitor`.
    pub origin: String,
    /// `queued`, `running`, `completed` or `failed`.
    pub status: String,
    pub previous_scan_id: Option<i64>,
    pub monitor_id: Option<i64>,
    /// JSON result, once completed.
    pub result: Option<String>,
    /// JSON diff against the previous scan of the target, once completed.
    pub diff: Option<String>,
    pub error: Option<String>,
    pub requested_by: String,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub attempts: i64,
}

const SCAN_COLUMNS: &str = "id, public_id, team_id, is_test, kind, target, options, origin, status,
    previous_scan_id, monitor_id, result, diff, error, requested_by, created_at, started_at,
    finished_at, attempts";

/// A scan to queue (or, in test mode, a finished simulated one).
#[derive(Debug, Clone)]
pub struct NewScan {
    pub public_id: String,
    pub kind: String,
    pub target: String,
    pub options: serde_json::Value,
    pub origin: String,
    pub previous_scan_id: Option<i64>,
    pub monitor_id: Option<i64>,
    pub requested_by: String,
    /// A simulated result: the scan is stored `completed` at once (test keys).
    pub simulated_result: Option<serde_json::Value>,
}

/// The limits checked when a scan is queued.
#[derive(Debug, Clone, Copy)]
pub struct ScanLimits {
    /// Scans per UTC day (`scans_per_day`); monitor runs are not counted.
    pub per_day: i64,
    /// The start of the current UTC day.
    pub day_start: DateTime<Utc>,
    /// Scans of the team queued or running at once.
    pub concurrent: i64,
}

/// Why a scan was not queued.
#[derive(Debug)]
pub enum ScanRefusal {
    /// The day's quota is used up.
    Quota {
        limit: i64,
        used: i64,
    },
    /// The team has this many scans queued or running already.
    Busy {
        limit: i64,
    },
    Store(StoreError),
}

impl From<StoreError> for ScanRefusal {
    fn from(error: StoreError) -> Self {
        ScanRefusal::Store(error)
    }
}

impl From<sqlx::Error> for ScanRefusal {
    fn from(error: sqlx::Error) -> Self {
        ScanRefusal::Store(error.into())
    }
}

/// A URL monitor.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ScanMonitor {
    pub id: i64,
    pub team_id: i64,
    pub is_test: bool,
    pub target: String,
    pub interval_minutes: i64,
    pub enabled: bool,
    pub next_run_at: DateTime<Utc>,
    pub last_scan_id: Option<i64>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

const MONITOR_COLUMNS: &str =
    "id, team_id, is_test, target, interval_minutes, enabled, next_run_at,
    last_scan_id, created_by, created_at";

impl Store {
    /// A user's active API keys in a team (for the quota view).
    pub async fn active_api_keys_of_user(
        &self,
        team_id: i64,
        user_id: i64,
        at: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        Ok(with_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM api_keys WHERE user_id = $1 AND team_id = $2
                 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $3)",
            )
            .bind(user_id)
            .bind(team_id)
            .bind(at)
            .fetch_one(pool)
            .await
        })?)
    }

    /// Scans of the tenant counted against its daily quota since `since`.
    pub async fn scans_counted_since(
        &self,
        tenant: Tenant,
        since: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        Ok(with_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM scans WHERE team_id = $1 AND is_test = $2
                 AND created_at >= $3 AND origin <> 'monitor'",
            )
            .bind(tenant.team_id)
            .bind(tenant.test)
            .bind(since)
            .fetch_one(pool)
            .await
        })?)
    }

    /// Queues a scan (or stores a simulated one completed), unless the daily quota or the
    /// concurrency cap refuses it; audited in the same transaction.
    pub async fn create_scan(
        &self,
        tenant: Tenant,
        new: &NewScan,
        limits: ScanLimits,
        at: DateTime<Utc>,
        event: &AuditEvent,
    ) -> Result<ScanRecord, ScanRefusal> {
        let sql = format!(
            "INSERT INTO scans (public_id, team_id, is_test, kind, target, options, origin, status,
                previous_scan_id, monitor_id, result, diff, requested_by, created_at, started_at,
                finished_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15)
             RETURNING {SCAN_COLUMNS}"
        );
        let (status, result, finished) = match &new.simulated_result {
            Some(result) => ("completed", Some(result.to_string()), Some(at)),
            None => ("queued", None, None),
        };
        let diff = new
            .simulated_result
            .as_ref()
            .map(|_| serde_json::json!({"previous_scan_id": null}).to_string());
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            // The team row's lock serialises concurrent requests of one team (PostgreSQL).
            sqlx::query("UPDATE teams SET plan = plan WHERE id = $1")
                .bind(tenant.team_id)
                .execute(&mut *tx)
                .await?;
            if new.origin != "monitor" {
                let used: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM scans WHERE team_id = $1 AND is_test = $2
                     AND created_at >= $3 AND origin <> 'monitor'",
                )
                .bind(tenant.team_id)
                .bind(tenant.test)
                .bind(limits.day_start)
                .fetch_one(&mut *tx)
                .await?;
                if used >= limits.per_day {
                    return Err(ScanRefusal::Quota { limit: limits.per_day, used });
                }
            }
            let active: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM scans WHERE team_id = $1 AND status IN ('queued', 'running')",
            )
            .bind(tenant.team_id)
            .fetch_one(&mut *tx)
            .await?;
            if new.simulated_result.is_none() && active >= limits.concurrent {
                return Err(ScanRefusal::Busy { limit: limits.concurrent });
            }
            let row: ScanRecord = sqlx::query_as(&sql)
                .bind(&new.public_id)
                .bind(tenant.team_id)
                .bind(tenant.test)
                .bind(&new.kind)
                .bind(&new.target)
                .bind(new.options.to_string())
                .bind(&new.origin)
                .bind(status)
                .bind(new.previous_scan_id)
                .bind(new.monitor_id)
                .bind(&result)
                .bind(&diff)
                .bind(&new.requested_by)
                .bind(at)
                .bind(finished)
                .fetch_one(&mut *tx)
                .await?;
            insert_audit!(&mut *tx, &event.clone().target("scan", &row.public_id), at)?;
            if let Some(monitor_id) = new.monitor_id {
                sqlx::query("UPDATE scan_monitors SET last_scan_id = $1 WHERE id = $2 AND team_id = $3")
                    .bind(row.id)
                    .bind(monitor_id)
                    .bind(tenant.team_id)
                    .execute(&mut *tx)
                    .await?;
            }
            if new.simulated_result.is_some() {
                let completed = NewEvent::team(
                    tenant,
                    EventType::ScanCompleted,
                    serde_json::json!({"scan_id": row.public_id, "kind": row.kind,
                        "target": row.target, "status": "completed", "test_mode": true}),
                );
                record_events(&mut *tx, std::slice::from_ref(&completed), at).await?;
            }
            tx.commit().await?;
            Ok(row)
        })
    }

    /// Claims the oldest queued scan, or a running one whose lease expired.
    pub async fn claim_scan(
        &self,
        lease: Duration,
        at: DateTime<Utc>,
    ) -> Result<Option<ScanRecord>, StoreError> {
        let lease_until =
            at + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::hours(1));
        let lock = match self.backend() {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE scans SET status = 'running', started_at = $1, lease_expires_at = $2,
                attempts = attempts + 1
             WHERE id = (SELECT id FROM scans
                         WHERE status = 'queued' OR (status = 'running' AND lease_expires_at < $1)
                         ORDER BY id LIMIT 1 {lock})
             RETURNING {SCAN_COLUMNS}"
        );
        Ok(with_pool!(self, pool => {
            sqlx::query_as(&sql).bind(at).bind(lease_until).fetch_optional(pool).await
        })?)
    }

    /// Extends a running scan's lease (a long host scan).
    pub async fn renew_scan_lease(&self, id: i64, until: DateTime<Utc>) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query("UPDATE scans SET lease_expires_at = $2 WHERE id = $1 AND status = 'running'")
                .bind(id)
                .bind(until)
                .execute(pool)
                .await
                .map(|_| ())
        })?;
        Ok(())
    }

    /// Completes a running scan with its result and diff, and records `scan.completed`.
    pub async fn complete_scan(
        &self,
        scan: &ScanRecord,
        result: &serde_json::Value,
        diff: &serde_json::Value,
        event_data: serde_json::Value,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let tenant = Tenant {
            team_id: scan.team_id,
            test: scan.is_test,
        };
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let done = sqlx::query(
                "UPDATE scans SET status = 'completed', result = $2, diff = $3, finished_at = $4,
                    lease_expires_at = NULL, error = NULL
                 WHERE id = $1 AND status = 'running'",
            )
            .bind(scan.id)
            .bind(result.to_string())
            .bind(diff.to_string())
            .bind(at)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if done {
                let completed = NewEvent::team(tenant, EventType::ScanCompleted, event_data);
                record_events(&mut *tx, std::slice::from_ref(&completed), at).await?;
            }
            tx.commit().await?;
            Ok(done)
        })
    }

    /// Marks a running scan failed with a message for the API.
    pub async fn fail_scan(
        &self,
        id: i64,
        error: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        with_pool!(self, pool => {
            sqlx::query(
                "UPDATE scans SET status = 'failed', finished_at = $2, lease_expires_at = NULL, error = $3
                 WHERE id = $1 AND status = 'running'",
            )
            .bind(id)
            .bind(at)
            .bind(error)
            .execute(pool)
            .await
            .map(|_| ())
        })?;
        Ok(())
    }

    /// One scan of the tenant by its public id.
    pub async fn scan(
        &self,
        tenant: Tenant,
        public_id: &str,
    ) -> Result<Option<ScanRecord>, StoreError> {
        let sql = format!(
            "SELECT {SCAN_COLUMNS} FROM scans WHERE public_id = $1 AND team_id = $2 AND is_test = $3"
        );
        Ok(with_pool!(self, pool => {
            sqlx::query_as(&sql)
                .bind(public_id)
                .bind(tenant.team_id)
                .bind(tenant.test)
                .fetch_optional(pool)
                .await
        })?)
    }

    /// One scan of the tenant by its internal id.
    pub async fn scan_by_id(
        &self,
        tenant: Tenant,
        id: i64,
    ) -> Result<Option<ScanRecord>, StoreError> {
        let sql = format!(
            "SELECT {SCAN_COLUMNS} FROM scans WHERE id = $1 AND team_id = $2 AND is_test = $3"
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

    /// The tenant's scans, newest first, optionally of one kind.
    pub async fn list_scans(
        &self,
        tenant: Tenant,
        kind: Option<&str>,
        page: PageRequest,
    ) -> Result<Page<ScanRecord>, StoreError> {
        let sql = format!(
            "SELECT {SCAN_COLUMNS} FROM scans WHERE team_id = $1 AND is_test = $2
             AND ($3 IS NULL OR kind = $3) ORDER BY id DESC LIMIT $4 OFFSET $5"
        );
        let kind = kind.map(str::to_string);
        let (items, total) = with_pool!(self, pool => {
            let items: Vec<ScanRecord> = sqlx::query_as(&sql)
                .bind(tenant.team_id)
                .bind(tenant.test)
                .bind(&kind)
                .bind(page.limit())
                .bind(page.offset())
                .fetch_all(pool)
                .await?;
            let total: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM scans WHERE team_id = $1 AND is_test = $2
                 AND ($3 IS NULL OR kind = $3)",
            )
            .bind(tenant.team_id)
            .bind(tenant.test)
            .bind(&kind)
            .fetch_one(pool)
            .await?;
            Ok::<_, sqlx::Error>((items, total))
        })?;
        Ok(Page { items, total })
    }

    /// The latest completed scan of the same kind and target before `before_id`.
    pub async fn previous_completed_scan(
        &self,
        tenant: Tenant,
        kind: &str,
        target: &str,
        before_id: i64,
    ) -> Result<Option<ScanRecord>, StoreError> {
        let sql = format!(
            "SELECT {SCAN_COLUMNS} FROM scans WHERE team_id = $1 AND is_test = $2 AND kind = $3
             AND target = $4 AND id < $5 AND status = 'completed' ORDER BY id DESC LIMIT 1"
        );
        Ok(with_pool!(self, pool => {
            sqlx::query_as(&sql)
                .bind(tenant.team_id)
                .bind(tenant.test)
                .bind(kind)
                .bind(target)
                .bind(before_id)
                .fetch_optional(pool)
                .await
        })?)
    }

    /// Creates a URL monitor unless the plan's `url_monitors` are all in use.
    #[allow(clippy::too_many_arguments)]
    pub async fn create_scan_monitor(
        &self,
        tenant: Tenant,
        target: &str,
        interval_minutes: i64,
        created_by: &str,
        limit: i64,
        at: DateTime<Utc>,
        event: &AuditEvent,
    ) -> Result<ScanMonitor, StoreError> {
        let sql = format!(
            "INSERT INTO scan_monitors (team_id, is_test, target, interval_minutes, enabled,
                next_run_at, created_by, created_at)
             VALUES ($1, $2, $3, $4, TRUE, $5, $6, $5) RETURNING {MONITOR_COLUMNS}"
        );
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            sqlx::query("UPDATE teams SET plan = plan WHERE id = $1")
                .bind(tenant.team_id)
                .execute(&mut *tx)
                .await?;
            let count: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM scan_monitors WHERE team_id = $1 AND is_test = $2",
            )
            .bind(tenant.team_id)
            .bind(tenant.test)
            .fetch_one(&mut *tx)
            .await?;
            if count >= limit {
                return Err(StoreError::LimitReached(limit));
            }
            let row: ScanMonitor = sqlx::query_as(&sql)
                .bind(tenant.team_id)
                .bind(tenant.test)
                .bind(target)
                .bind(interval_minutes)
                .bind(at)
                .bind(created_by)
                .fetch_one(&mut *tx)
                .await?;
            insert_audit!(&mut *tx, &event.clone().target("scan_monitor", row.id), at)?;
            tx.commit().await?;
            Ok(row)
        })
    }

    /// The tenant's monitors, oldest first.
    pub async fn list_scan_monitors(
        &self,
        tenant: Tenant,
        page: PageRequest,
    ) -> Result<Page<ScanMonitor>, StoreError> {
        let sql = format!(
            "SELECT {MONITOR_COLUMNS} FROM scan_monitors WHERE team_id = $1 AND is_test = $2
             ORDER BY id LIMIT $3 OFFSET $4"
        );
        let (items, total) = with_pool!(self, pool => {
            let items: Vec<ScanMonitor> = sqlx::query_as(&sql)
                .bind(tenant.team_id)
                .bind(tenant.test)
                .bind(page.limit())
                .bind(page.offset())
                .fetch_all(pool)
                .await?;
            let total: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM scan_monitors WHERE team_id = $1 AND is_test = $2",
            )
            .bind(tenant.team_id)
            .bind(tenant.test)
            .fetch_one(pool)
            .await?;
            Ok::<_, sqlx::Error>((items, total))
        })?;
        Ok(Page { items, total })
    }

    /// One monitor of the tenant.
    pub async fn scan_monitor(
        &self,
        tenant: Tenant,
        id: i64,
    ) -> Result<Option<ScanMonitor>, StoreError> {
        let sql = format!(
            "SELECT {MONITOR_COLUMNS} FROM scan_monitors WHERE id = $1 AND team_id = $2 AND is_test = $3"
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

    /// Deletes a monitor (its scans stay); `false` when it is not the tenant's.
    pub async fn delete_scan_monitor(
        &self,
        tenant: Tenant,
        id: i64,
        at: DateTime<Utc>,
        event: &AuditEvent,
    ) -> Result<bool, StoreError> {
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let deleted = sqlx::query(
                "DELETE FROM scan_monitors WHERE id = $1 AND team_id = $2 AND is_test = $3",
            )
            .bind(id)
            .bind(tenant.team_id)
            .bind(tenant.test)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if deleted {
                insert_audit!(&mut *tx, &event.clone().target("scan_monitor", id), at)?;
            }
            tx.commit().await?;
            Ok(deleted)
        })
    }

    /// Takes one live monitor that is due, moving its next run forward by its interval (so
    /// one replica runs it), or `None`.
    pub async fn claim_due_monitor(
        &self,
        at: DateTime<Utc>,
    ) -> Result<Option<ScanMonitor>, StoreError> {
        let lock = match self.backend() {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let select = format!(
            "SELECT {MONITOR_COLUMNS} FROM scan_monitors WHERE enabled AND NOT is_test
             AND next_run_at <= $1 ORDER BY next_run_at, id LIMIT 1 {lock}"
        );
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let due: Option<ScanMonitor> = sqlx::query_as(&select)
                .bind(at)
                .fetch_optional(&mut *tx)
                .await?;
            if let Some(monitor) = &due {
                let next = at + chrono::Duration::minutes(monitor.interval_minutes);
                sqlx::query("UPDATE scan_monitors SET next_run_at = $2 WHERE id = $1")
                    .bind(monitor.id)
                    .bind(next)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(due)
        })
    }
}
