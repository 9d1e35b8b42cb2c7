//! Sync sources (server-wide feed configuration) and their runs.
//!
//! A run is a job row. At most one run per source is queued or running at a time (a partial
//! unique index, so replicas cannot queue two); a worker claims a run by setting a lease
//! (`lease_owner`, `lease_expires_at`) in one atomic `UPDATE … RETURNING`, renews it while it
//! works, and a run whose lease expired (its worker crashed) can be claimed again.

use crate::BeginWrite;
use chrono::{DateTime, Duration, Utc};

use rampart_core::EventType;

use crate::events::{record_event, NewEvent};
use crate::{now, with_pool, PageRequest, Pool, Store, StoreError};

/// A stored sync source. The API key is only here encrypted; callers decrypt it.
#[derive(Debug, Clone)]
pub struct SyncSourceRecord {
    pub id: String,
    /// `OSV`, `NVD`, `GHSA`, `KEV`, `EPSS` or `EXPLOITDB`.
    pub source_type: String,
    /// `None`: the type's public default URL.
    pub url: Option<String>,
    pub api_key_ciphertext: Option<Vec<u8>>,
    pub api_key_masked: String,
    pub sync_interval_hours: i64,
    pub ecosystems: Vec<String>,
    pub last_modified_since: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub next_run_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct SyncSourceRow {
    id: String,
    source_type: String,
    url: Option<String>,
    api_key_ciphertext: Option<Vec<u8>>,
    api_key_masked: String,
    sync_interval_hours: i64,
    ecosystems: String,
    last_modified_since: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    next_run_at: DateTime<Utc>,
}

impl TryFrom<SyncSourceRow> for SyncSourceRecord {
    type Error = StoreError;

    fn try_from(row: SyncSourceRow) -> Result<Self, StoreError> {
        let ecosystems: Vec<String> = serde_json::from_str(&row.ecosystems)
            .map_err(|e| StoreError::Corrupt(format!("sync source {} ecosystems: {e}", row.id)))?;
        Ok(SyncSourceRecord {
            id: row.id,
            source_type: row.source_type,
            url: row.url,
            api_key_ciphertext: row.api_key_ciphertext,
            api_key_masked: row.api_key_masked,
            sync_interval_hours: row.sync_interval_hours,
            ecosystems,
            last_modified_since: row.last_modified_since,
            created_at: row.created_at,
            updated_at: row.updated_at,
            next_run_at: row.next_run_at,
        })
    }
}

const SOURCE_COLUMNS: &str = "id, source_type, url, api_key_ciphertext, api_key_masked, \
    sync_interval_hours, ecosystems, last_modified_since, created_at, updated_at, next_run_at";

/// What happens to the stored API key on an update.
#[derive(Debug, Clone)]
pub enum ApiKeyChange {
    /// Keep the stored key (an update without `apiKey`).
    Keep,
    /// Store this encrypted key and its mask (`None`: no key).
    Set {
        ciphertext: Option<Vec<u8>>,
        masked: String,
    },
}

/// A create-or-update of a sync source (same id = update).
#[derive(Debug, Clone)]
pub struct SyncSourceUpsert {
    pub id: String,
    pub source_type: String,
    pub url: Option<String>,
    pub api_key: ApiKeyChange,
    pub sync_interval_hours: i64,
    pub ecosystems: Vec<String>,
    /// `None`: keep the stored cursor; `Some(None)`: clear it (full reload).
    pub last_modified_since: Option<Option<DateTime<Utc>>>,
}

/// Run states, in their storage spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncRunStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
}

impl SyncRunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SyncRunStatus::Queued => "queued",
            SyncRunStatus::Running => "running",
            SyncRunStatus::Succeeded => "succeeded",
            SyncRunStatus::Failed => "failed",
        }
    }

    fn from_db(text: &str) -> Result<Self, StoreError> {
        match text {
            "queued" => Ok(SyncRunStatus::Queued),
            "running" => Ok(SyncRunStatus::Running),
            "succeeded" => Ok(SyncRunStatus::Succeeded),
            "failed" => Ok(SyncRunStatus::Failed),
            other => Err(StoreError::Corrupt(format!("unknown run status {other:?}"))),
        }
    }
}

/// Record counts of a run so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncCounts {
    pub added: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub skipped: i64,
}

/// One run of a source.
#[derive(Debug, Clone)]
pub struct SyncRunRecord {
    pub id: i64,
    pub source_id: String,
    /// `schedule` or `manual`.
    pub trigger: String,
    pub status: SyncRunStatus,
    pub queued_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub cursor_from: Option<DateTime<Utc>>,
    pub counts: SyncCounts,
    pub progress: Option<String>,
    pub error: Option<String>,
    pub attempts: i64,
}

#[derive(sqlx::FromRow)]
struct SyncRunRow {
    id: i64,
    source_id: String,
    trigger_kind: String,
    status: String,
    queued_at: DateTime<Utc>,
    started_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
    cursor_from: Option<DateTime<Utc>>,
    records_added: i64,
    records_updated: i64,
    records_unchanged: i64,
    records_skipped: i64,
    progress: Option<String>,
    error: Option<String>,
    attempts: i64,
}

impl TryFrom<SyncRunRow> for SyncRunRecord {
    type Error = StoreError;

    fn try_from(row: SyncRunRow) -> Result<Self, StoreError> {
        Ok(SyncRunRecord {
            id: row.id,
            source_id: row.source_id,
            trigger: row.trigger_kind,
            status: SyncRunStatus::from_db(&row.status)?,
            queued_at: row.queued_at,
            started_at: row.started_at,
            finished_at: row.finished_at,
            cursor_from: row.cursor_from,
            counts: SyncCounts {
                added: row.records_added,
                updated: row.records_updated,
                unchanged: row.records_unchanged,
                skipped: row.records_skipped,
            },
            progress: row.progress,
            error: row.error,
            attempts: row.attempts,
        })
    }
}

const RUN_COLUMNS: &str = "id, source_id, trigger_kind, status, queued_at, started_at, \
    finished_at, cursor_from, records_added, records_updated, records_unchanged, \
    records_skipped, progress, error, attempts";

/// A run a worker now holds the lease of.
#[derive(Debug, Clone)]
pub struct ClaimedRun {
    pub run: SyncRunRecord,
    pub source: SyncSourceRecord,
}

impl Store {
    /// True when `team_id` is the operators' team (made at bootstrap): the only team that
    /// may change server-wide configuration such as sync sources.
    pub async fn is_operator_team(&self, team_id: i64) -> Result<bool, StoreError> {
        let flag: Option<bool> = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT is_operator FROM teams WHERE id = $1")
                .bind(team_id)
                .fetch_optional(pool)
                .await
        })?;
        Ok(flag.unwrap_or(false))
    }

    /// Creates or updates a source in one statement (concurrent creates of one id cannot
    /// both insert). A new source is due at once. An update keeps `created_at` and, unless
    /// told otherwise, the stored key and cursor; it keeps the schedule unless the interval
    /// changes, which reschedules the next run one new interval after the source's last run
    /// started (or after now, when it never ran). Returns the stored source and whether it
    /// is new.
    pub async fn upsert_sync_source(
        &self,
        upsert: &SyncSourceUpsert,
    ) -> Result<(SyncSourceRecord, bool), StoreError> {
        let at = now();
        let last_run: Option<DateTime<Utc>> = with_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT COALESCE(started_at, queued_at) FROM sync_runs
                 WHERE source_id = $1 ORDER BY id DESC LIMIT 1",
            )
            .bind(&upsert.id)
            .fetch_optional(pool)
            .await
        })?;
        let rescheduled = last_run.unwrap_or(at) + Duration::hours(upsert.sync_interval_hours);
        let ecosystems = serde_json::to_string(&upsert.ecosystems)
            .map_err(|e| StoreError::Corrupt(format!("ecosystems: {e}")))?;
        let (replace_key, ciphertext, masked) = match &upsert.api_key {
            ApiKeyChange::Keep => (false, None, String::new()),
            ApiKeyChange::Set { ciphertext, masked } => (true, ciphertext.clone(), masked.clone()),
        };
        let replace_cursor = upsert.last_modified_since.is_some();
        let cursor = upsert.last_modified_since.flatten();
        let sql = format!(
            "INSERT INTO sync_sources (id, source_type, url, api_key_ciphertext, api_key_masked,
                 sync_interval_hours, ecosystems, last_modified_since, created_at, updated_at, next_run_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $9)
             ON CONFLICT (id) DO UPDATE SET
                 source_type = excluded.source_type,
                 url = excluded.url,
                 api_key_ciphertext = CASE WHEN $10 THEN excluded.api_key_ciphertext
                                           ELSE sync_sources.api_key_ciphertext END,
                 api_key_masked = CASE WHEN $10 THEN excluded.api_key_masked
                                       ELSE sync_sources.api_key_masked END,
                 sync_interval_hours = excluded.sync_interval_hours,
                 ecosystems = excluded.ecosystems,
                 last_modified_since = CASE WHEN $11 THEN excluded.last_modified_since
                                            ELSE sync_sources.last_modified_since END,
                 next_run_at = CASE
                     WHEN sync_sources.sync_interval_hours <> excluded.sync_interval_hours THEN $12
                     ELSE sync_sources.next_run_at END,
                 updated_at = excluded.updated_at
             RETURNING {SOURCE_COLUMNS}, (created_at = updated_at) AS created"
        );
        #[derive(sqlx::FromRow)]
        struct Upserted {
            #[sqlx(flatten)]
            row: SyncSourceRow,
            created: bool,
        }
        let upserted: Upserted = with_pool!(self, pool => {
            sqlx::query_as(&sql)
                .bind(&upsert.id)
                .bind(&upsert.source_type)
                .bind(&upsert.url)
                .bind(ciphertext)
                .bind(masked)
                .bind(upsert.sync_interval_hours)
                .bind(ecosystems)
                .bind(cursor)
                .bind(at)
                .bind(replace_key)
                .bind(replace_cursor)
                .bind(rescheduled)
                .fetch_one(pool)
                .await
        })?;
        Ok((upserted.row.try_into()?, upserted.created))
    }

    pub async fn sync_source(&self, id: &str) -> Result<Option<SyncSourceRecord>, StoreError> {
        let sql = format!("SELECT {SOURCE_COLUMNS} FROM sync_sources WHERE id = $1");
        let row: Option<SyncSourceRow> = with_pool!(self, pool => {
            sqlx::query_as(&sql).bind(id).fetch_optional(pool).await
        })?;
        row.map(TryInto::try_into).transpose()
    }

    pub async fn sync_sources(&self) -> Result<Vec<SyncSourceRecord>, StoreError> {
        let sql = format!("SELECT {SOURCE_COLUMNS} FROM sync_sources ORDER BY created_at, id");
        let rows: Vec<SyncSourceRow> = with_pool!(self, pool => {
            sqlx::query_as(&sql).fetch_all(pool).await
        })?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    /// Deletes a source and its runs; a worker running it loses its lease at the next renewal.
    pub async fn delete_sync_source(&self, id: &str) -> Result<bool, StoreError> {
        let deleted = with_pool!(self, pool => {
            sqlx::query("DELETE FROM sync_sources WHERE id = $1")
                .bind(id)
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
        })?;
        Ok(deleted > 0)
    }

    /// Queues a run of `source_id` unless one is already queued or running; returns the
    /// new run, or the active one. `None` when the source does not exist.
    pub async fn queue_sync_run(
        &self,
        source_id: &str,
        trigger: &str,
    ) -> Result<Option<SyncRunRecord>, StoreError> {
        let at = now();
        let insert = format!(
            "INSERT INTO sync_runs (source_id, trigger_kind, status, queued_at)
             SELECT id, $2, 'queued', $3 FROM sync_sources WHERE id = $1
             ON CONFLICT DO NOTHING RETURNING {RUN_COLUMNS}"
        );
        let active = format!(
            "SELECT {RUN_COLUMNS} FROM sync_runs
             WHERE source_id = $1 AND status IN ('queued', 'running') ORDER BY id DESC LIMIT 1"
        );
        let row: Option<SyncRunRow> = with_pool!(self, pool => {
            let inserted: Option<SyncRunRow> = sqlx::query_as(&insert)
                .bind(source_id)
                .bind(trigger)
                .bind(at)
                .fetch_optional(pool)
                .await?;
            match inserted {
                Some(row) => Ok::<_, sqlx::Error>(Some(row)),
                None => sqlx::query_as(&active).bind(source_id).fetch_optional(pool).await,
            }
        })?;
        row.map(TryInto::try_into).transpose()
    }

    /// The scheduler's tick: queues a run of every source whose `next_run_at` has come and
    /// moves its `next_run_at` one interval on, in one transaction per source. Several
    /// replicas ticking together queue each run once (the active-run index). Returns how
    /// many runs were queued.
    pub async fn queue_due_sync_runs(&self) -> Result<u64, StoreError> {
        let at = now();
        let due: Vec<(String, i64)> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, sync_interval_hours FROM sync_sources WHERE next_run_at <= $1 ORDER BY id",
            )
            .bind(at)
            .fetch_all(pool)
            .await
        })?;
        let mut queued = 0;
        for (id, hours) in due {
            let next = at + Duration::hours(hours);
            let inserted = with_pool!(self, pool => {
                let mut tx = pool.begin_write().await?;
                // Only the replica that moves `next_run_at` queues: the others see it moved.
                let moved = sqlx::query(
                    "UPDATE sync_sources SET next_run_at = $1 WHERE id = $2 AND next_run_at <= $3",
                )
                .bind(next)
                .bind(&id)
                .bind(at)
                .execute(&mut *tx)
                .await?;
                let mut inserted = 0;
                if moved.rows_affected() > 0 {
                    inserted = sqlx::query(
                        "INSERT INTO sync_runs (source_id, trigger_kind, status, queued_at)
                         VALUES ($1, 'schedule', 'queued', $2) ON CONFLICT DO NOTHING",
                    )
                    .bind(&id)
                    .bind(at)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                }
                tx.commit().await?;
                Ok::<u64, StoreError>(inserted)
            })?;
            queued += inserted;
        }
        Ok(queued)
    }

    /// Claims the oldest queued run, or a running one whose lease expired (its worker died),
    /// for `worker` until now + `lease`. Atomic on both backends: the status condition is
    /// re-checked on the row being updated, so two workers never both win one run.
    pub async fn claim_sync_run(
        &self,
        worker: &str,
        lease: std::time::Duration,
    ) -> Result<Option<ClaimedRun>, StoreError> {
        let at = now();
        let expires = at + Duration::from_std(lease).unwrap_or(Duration::minutes(5));
        let claimable = "(status = 'queued' OR (status = 'running' AND lease_expires_at < $3))";
        let lock = match self.pool {
            Pool::Sqlite(_) => "",
            Pool::Postgres(_) => "FOR UPDATE SKIP LOCKED",
        };
        let sql = format!(
            "UPDATE sync_runs SET status = 'running', lease_owner = $1, lease_expires_at = $2,
                 started_at = COALESCE(started_at, $3), attempts = attempts + 1,
                 cursor_from = (SELECT last_modified_since FROM sync_sources s
                                WHERE s.id = sync_runs.source_id)
             WHERE id = (SELECT id FROM sync_runs WHERE {claimable} ORDER BY id LIMIT 1 {lock})
               AND {claimable}
             RETURNING {RUN_COLUMNS}"
        );
        let row: Option<SyncRunRow> = with_pool!(self, pool => {
            sqlx::query_as(&sql)
                .bind(worker)
                .bind(expires)
                .bind(at)
                .fetch_optional(pool)
                .await
        })?;
        let Some(row) = row else { return Ok(None) };
        let run = SyncRunRecord::try_from(row)?;
        match self.sync_source(&run.source_id).await? {
            Some(source) => Ok(Some(ClaimedRun { run, source })),
            // Deleted between claim and read: the cascade removed the run too.
            None => Ok(None),
        }
    }

    /// Renews `worker`'s lease on a running run and records its progress. `false` when the
    /// lease is lost (expired and taken over, or the source deleted): the worker must stop.
    pub async fn renew_sync_run(
        &self,
        run_id: i64,
        worker: &str,
        lease: std::time::Duration,
        counts: SyncCounts,
        progress: &str,
    ) -> Result<bool, StoreError> {
        let expires = now() + Duration::from_std(lease).unwrap_or(Duration::minutes(5));
        let updated = with_pool!(self, pool => {
            sqlx::query(
                "UPDATE sync_runs SET lease_expires_at = $1, records_added = $2,
                     records_updated = $3, records_unchanged = $4, records_skipped = $5,
                     progress = $6
                 WHERE id = $7 AND lease_owner = $8 AND status = 'running'",
            )
            .bind(expires)
            .bind(counts.added)
            .bind(counts.updated)
            .bind(counts.unchanged)
            .bind(counts.skipped)
            .bind(progress)
            .bind(run_id)
            .bind(worker)
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
        })?;
        Ok(updated > 0)
    }

    /// Ends a run `worker` holds, recording `sync.completed` or `sync.failed` (server-wide
    /// events) in the same transaction. On success the source's cursor advances to the run's
    /// start time and its next run is one interval after that start.
    /// `false` when the lease was lost (nothing is written).
    pub async fn finish_sync_run(
        &self,
        run_id: i64,
        worker: &str,
        counts: SyncCounts,
        progress: &str,
        error: Option<&str>,
    ) -> Result<bool, StoreError> {
        let at = now();
        let status = if error.is_some() {
            SyncRunStatus::Failed
        } else {
            SyncRunStatus::Succeeded
        };
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let finished: Option<(String, Option<DateTime<Utc>>, String)> = sqlx::query_as(
                "UPDATE sync_runs SET status = $1, finished_at = $2, records_added = $3,
                     records_updated = $4, records_unchanged = $5, records_skipped = $6,
                     progress = $7, error = $8, lease_owner = NULL, lease_expires_at = NULL
                 WHERE id = $9 AND lease_owner = $10 AND status = 'running'
                 RETURNING source_id, started_at, trigger_kind",
            )
            .bind(status.as_str())
            .bind(at)
            .bind(counts.added)
            .bind(counts.updated)
            .bind(counts.unchanged)
            .bind(counts.skipped)
            .bind(progress)
            .bind(error)
            .bind(run_id)
            .bind(worker)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((source_id, started_at, trigger)) = finished else {
                return Ok(false);
            };
            let event_type = if error.is_some() {
                EventType::SyncFailed
            } else {
                EventType::SyncCompleted
            };
            let data = serde_json::json!({
                "run_id": run_id,
                "source_id": source_id,
                "trigger": trigger,
                "status": status.as_str(),
                "started_at": started_at,
                "finished_at": at,
                "records_added": counts.added,
                "records_updated": counts.updated,
                "records_unchanged": counts.unchanged,
                "records_skipped": counts.skipped,
                "error": error,
            });
            record_event(&mut *tx, &NewEvent::server_wide(event_type, data)).await?;
            if status == SyncRunStatus::Succeeded {
                let started_at = started_at.unwrap_or(at);
                let hours: Option<i64> = sqlx::query_scalar(
                    "SELECT sync_interval_hours FROM sync_sources WHERE id = $1",
                )
                .bind(&source_id)
                .fetch_optional(&mut *tx)
                .await?;
                if let Some(hours) = hours {
                    sqlx::query(
                        "UPDATE sync_sources SET last_modified_since = $1, next_run_at = $2
                         WHERE id = $3",
                    )
                    .bind(started_at)
                    .bind(started_at + Duration::hours(hours))
                    .bind(&source_id)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            tx.commit().await?;
            Ok(true)
        })
    }

    pub async fn sync_run(&self, run_id: i64) -> Result<Option<SyncRunRecord>, StoreError> {
        let sql = format!("SELECT {RUN_COLUMNS} FROM sync_runs WHERE id = $1");
        let row: Option<SyncRunRow> = with_pool!(self, pool => {
            sqlx::query_as(&sql).bind(run_id).fetch_optional(pool).await
        })?;
        row.map(TryInto::try_into).transpose()
    }

    /// A source's runs, newest first, one page, with the total.
    pub async fn sync_runs(
        &self,
        source_id: &str,
        page: PageRequest,
    ) -> Result<(Vec<SyncRunRecord>, i64), StoreError> {
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM sync_runs WHERE source_id = $1
             ORDER BY id DESC LIMIT $2 OFFSET $3"
        );
        let (rows, total): (Vec<SyncRunRow>, i64) = with_pool!(self, pool => {
            let rows = sqlx::query_as(&sql)
                .bind(source_id)
                .bind(page.limit())
                .bind(page.offset())
                .fetch_all(pool)
                .await?;
            let total = sqlx::query_scalar("SELECT COUNT(*) FROM sync_runs WHERE source_id = $1")
                .bind(source_id)
                .fetch_one(pool)
                .await?;
            Ok::<_, sqlx::Error>((rows, total))
        })?;
        let runs = rows
            .into_iter()
            .map(TryInto::try_into)
            .collect::<Result<_, _>>()?;
        Ok((runs, total))
    }
}
