//! API usage: the request log (written in batches by the server's background writer), its
//! per key × route × minute rollup kept in the same transaction, retention, and the queries
//! analytics read. Log rows carry `team_id`; every read takes the caller's team.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rampart_core::usage::{LatencyHistogram, StatusFilter, UsageGrouping, LATENCY_BUCKET_COUNT};
use rampart_core::PageRequest;

use crate::bulk::{Bulk, Column};
use crate::{with_pool, BeginWrite, Store, StoreError};

/// One API request as the log keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestLogEntry {
    pub at: DateTime<Utc>,
    /// `None` for requests without valid credentials.
    pub team_id: Option<i64>,
    pub key_id: Option<i64>,
    /// The session's user, or the key's owner (a person or a service account).
    pub user_id: Option<i64>,
    pub method: String,
    /// The route template (`/api/v1/releases/{id}`), `unmatched` when no route answered.
    pub endpoint: String,
    pub status: u16,
    pub latency_us: i64,
    pub request_bytes: i64,
    pub response_bytes: i64,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
}

/// A logged request as listed (with its row id).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RequestLogRecord {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub team_id: Option<i64>,
    pub key_id: Option<i64>,
    pub user_id: Option<i64>,
    /// The key's name when the key still exists.
    pub key_name: Option<String>,
    /// The user's e-mail (or `api_<name>` for a service account) when they still exist.
    pub user_label: Option<String>,
    pub method: String,
    pub endpoint: String,
    pub status: i32,
    pub latency_us: i64,
    pub request_bytes: i64,
    pub response_bytes: i64,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
}

/// What a usage query keeps; all filters combine with AND. `since`/`until` are inclusive /
/// exclusive; rollup queries take whole minutes, from the one `since` falls in to the last one
/// that started before `until`.
#[derive(Debug, Clone, Default)]
pub struct UsageFilter {
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub key_id: Option<i64>,
    pub user_id: Option<i64>,
    pub status: Option<StatusFilter>,
    pub endpoint: Option<String>,
    pub method: Option<String>,
    /// Raw log only: exact client IP.
    pub client_ip: Option<String>,
}

/// Requests, errors, bytes and the latency histogram of one group (or of everything).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsageAggregate {
    /// The group's value (`GET /api/v1/products`, `404`, a day or hour as Unix seconds, a key
    /// id; empty for totals).
    pub group: String,
    /// For `key` groups: the key's name, if the key still exists.
    pub label: Option<String>,
    pub requests: i64,
    pub client_errors: i64,
    pub server_errors: i64,
    pub latency_us_sum: i64,
    pub response_bytes: i64,
    pub latency: LatencyHistogram,
}

/// The rollup's key of an entry: (team, minute, key, user, endpoint, method, status); 0 is
/// "none" for the ids.
type RollupKey = (i64, i64, i64, i64, String, String, i64);

#[derive(Default)]
struct RollupSums {
    requests: i64,
    latency_us_sum: i64,
    response_bytes: i64,
    latency: LatencyHistogram,
}

/// Unix seconds of the start of `at`'s minute.
pub fn minute_of(at: DateTime<Utc>) -> i64 {
    let seconds = at.timestamp();
    seconds - seconds.rem_euclid(60)
}

/// The bound `minute < bound` that keeps exactly the minutes that started before `until`:
/// `until` rounded up to a whole second (a minute that started at 05:21:00 started before
/// 05:21:00.3, which `timestamp()` alone would round down to 05:21:00 and leave out).
fn seconds_after_minutes_before(until: DateTime<Utc>) -> i64 {
    let seconds = until.timestamp();
    if until.timestamp_subsec_nanos() > 0 {
        seconds + 1
    } else {
        seconds
    }
}

const LATENCY_COLUMNS: [&str; LATENCY_BUCKET_COUNT] = [
    "latency_b00",
    "latency_b01",
    "latency_b02",
    "latency_b03",
    "latency_b04",
    "latency_b05",
    "latency_b06",
    "latency_b07",
    "latency_b08",
    "latency_b09",
    "latency_b10",
    "latency_b11",
    "latency_b12",
    "latency_b13",
];

/// A value bound into a dynamically built statement.
enum Bind {
    Int(i64),
    Text(String),
    Time(DateTime<Utc>),
}

/// `WHERE` conditions and their binds, numbered from `$1`.
#[derive(Default)]
struct Conditions {
    sql: Vec<String>,
    binds: Vec<Bind>,
}

impl Conditions {
    fn push(&mut self, condition: &str, bind: Bind) {
        self.binds.push(bind);
        let n = self.binds.len();
        self.sql.push(condition.replace("$?", &format!("${n}")));
    }

    fn next_placeholder(&self) -> usize {
        self.binds.len() + 1
    }

    fn clause(&self) -> String {
        if self.sql.is_empty() {
            "TRUE".to_string()
        } else {
            self.sql.join(" AND ")
        }
    }
}

macro_rules! bind_all {
    ($query:expr, $binds:expr) => {{
        let mut query = $query;
        for bind in $binds {
            query = match bind {
                Bind::Int(value) => query.bind(*value),
                Bind::Text(value) => query.bind(value.clone()),
                Bind::Time(value) => query.bind(*value),
            };
        }
        query
    }};
}

impl Store {
    /// Writes a batch of log entries and adds them to the rollups, in one transaction: the
    /// rollups always count exactly the rows of the log.
    pub async fn write_request_log(&self, entries: &[RequestLogEntry]) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut rollups: HashMap<RollupKey, RollupSums> = HashMap::new();
        for entry in entries {
            let key = (
                entry.team_id.unwrap_or(0),
                minute_of(entry.at),
                entry.key_id.unwrap_or(0),
                entry.user_id.unwrap_or(0),
                entry.endpoint.clone(),
                entry.method.clone(),
                i64::from(entry.status),
            );
            let sums = rollups.entry(key).or_default();
            sums.requests += 1;
            sums.latency_us_sum += entry.latency_us;
            sums.response_bytes += entry.response_bytes;
            sums.latency.record(entry.latency_us);
        }
        let log_columns = [
            Column::Time(entries.iter().map(|e| e.at).collect()),
            Column::OptionalInt(entries.iter().map(|e| e.team_id).collect()),
            Column::OptionalInt(entries.iter().map(|e| e.key_id).collect()),
            Column::OptionalInt(entries.iter().map(|e| e.user_id).collect()),
            Column::Text(entries.iter().map(|e| e.method.as_str()).collect()),
            Column::Text(entries.iter().map(|e| e.endpoint.as_str()).collect()),
            Column::Int(entries.iter().map(|e| i64::from(e.status)).collect()),
            Column::Int(entries.iter().map(|e| e.latency_us).collect()),
            Column::Int(entries.iter().map(|e| e.request_bytes).collect()),
            Column::Int(entries.iter().map(|e| e.response_bytes).collect()),
            Column::OptionalText(entries.iter().map(|e| e.client_ip.as_deref()).collect()),
            Column::OptionalText(entries.iter().map(|e| e.user_agent.as_deref()).collect()),
            Column::OptionalText(entries.iter().map(|e| e.request_id.as_deref()).collect()),
        ];
        let rollups: Vec<(RollupKey, RollupSums)> = rollups.into_iter().collect();
        let mut rollup_columns = vec![
            Column::Int(rollups.iter().map(|(k, _)| k.0).collect()),
            Column::Int(rollups.iter().map(|(k, _)| k.1).collect()),
            Column::Int(rollups.iter().map(|(k, _)| k.2).collect()),
            Column::Int(rollups.iter().map(|(k, _)| k.3).collect()),
            Column::Text(rollups.iter().map(|(k, _)| k.4.as_str()).collect()),
            Column::Text(rollups.iter().map(|(k, _)| k.5.as_str()).collect()),
            Column::Int(rollups.iter().map(|(k, _)| k.6).collect()),
            Column::Int(rollups.iter().map(|(_, s)| s.requests).collect()),
            Column::Int(rollups.iter().map(|(_, s)| s.latency_us_sum).collect()),
            Column::Int(rollups.iter().map(|(_, s)| s.response_bytes).collect()),
        ];
        for bucket in 0..LATENCY_BUCKET_COUNT {
            rollup_columns.push(Column::Int(
                rollups.iter().map(|(_, s)| s.latency.0[bucket]).collect(),
            ));
        }
        let rollup_head = format!(
            "INSERT INTO request_rollups (team_id, minute, key_id, user_id, endpoint, method,
                 status, requests, latency_us_sum, response_bytes, {})",
            LATENCY_COLUMNS.join(", ")
        );
        let rollup_tail = format!(
            " ON CONFLICT (team_id, minute, key_id, user_id, endpoint, method, status) DO UPDATE
              SET requests = request_rollups.requests + excluded.requests,
                  latency_us_sum = request_rollups.latency_us_sum + excluded.latency_us_sum,
                  response_bytes = request_rollups.response_bytes + excluded.response_bytes, {}",
            LATENCY_COLUMNS
                .iter()
                .map(|c| format!("{c} = request_rollups.{c} + excluded.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            tx.insert_columns(
                "INSERT INTO request_log (at, team_id, key_id, user_id, method, endpoint, status,
                     latency_us, request_bytes, response_bytes, client_ip, user_agent, request_id)",
                &log_columns,
                "",
            )
            .await?;
            tx.insert_columns(&rollup_head, &rollup_columns, &rollup_tail).await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Deletes log rows and rollups older than `before`, a chunk at a time (a long delete
    /// would hold SQLite's writer lock against the requests' own writes). Returns the log
    /// rows and rollup rows deleted.
    pub async fn prune_request_log(&self, before: DateTime<Utc>) -> Result<(u64, u64), StoreError> {
        const CHUNK: i64 = 10_000;
        let mut log_rows = 0;
        loop {
            let deleted = with_pool!(self, pool => {
                sqlx::query(
                    "DELETE FROM request_log WHERE id IN
                        (SELECT id FROM request_log WHERE at < $1 LIMIT $2)",
                )
                .bind(before)
                .bind(CHUNK)
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
            })?;
            log_rows += deleted;
            if deleted < CHUNK as u64 {
                break;
            }
        }
        let rollup_rows = with_pool!(self, pool => {
            sqlx::query("DELETE FROM request_rollups WHERE minute < $1")
                .bind(minute_of(before))
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
        })?;
        Ok((log_rows, rollup_rows))
    }

    /// A team's usage from the rollups: the totals, or one aggregate per group (most requests
    /// first). Filters on `client_ip` are not available here (the rollups do not keep it).
    pub async fn usage_aggregates(
        &self,
        team_id: i64,
        filter: &UsageFilter,
        group_by: Option<UsageGrouping>,
    ) -> Result<Vec<UsageAggregate>, StoreError> {
        let mut conditions = Conditions::default();
        conditions.push("r.team_id = $?", Bind::Int(team_id));
        if let Some(since) = filter.since {
            conditions.push("r.minute >= $?", Bind::Int(minute_of(since)));
        }
        if let Some(until) = filter.until {
            conditions.push(
                "r.minute < $?",
                Bind::Int(seconds_after_minutes_before(until)),
            );
        }
        if let Some(key_id) = filter.key_id {
            conditions.push("r.key_id = $?", Bind::Int(key_id));
        }
        if let Some(user_id) = filter.user_id {
            conditions.push("r.user_id = $?", Bind::Int(user_id));
        }
        if let Some(status) = filter.status {
            let (low, high) = status.range();
            conditions.push("r.status >= $?", Bind::Int(low.into()));
            conditions.push("r.status <= $?", Bind::Int(high.into()));
        }
        if let Some(endpoint) = &filter.endpoint {
            conditions.push("r.endpoint = $?", Bind::Text(endpoint.clone()));
        }
        if let Some(method) = &filter.method {
            conditions.push("r.method = $?", Bind::Text(method.clone()));
        }
        // The group's value as text, computed the same way on both backends.
        let (group, join, label) = match group_by {
            None => ("''".to_string(), "", "NULL"),
            Some(UsageGrouping::Endpoint) => {
                ("r.method || ' ' || r.endpoint".to_string(), "", "NULL")
            }
            Some(UsageGrouping::Status) => ("CAST(r.status AS TEXT)".to_string(), "", "NULL"),
            Some(UsageGrouping::Hour) => (
                "CAST((r.minute / 3600) * 3600 AS TEXT)".to_string(),
                "",
                "NULL",
            ),
            Some(UsageGrouping::Day) => (
                "CAST((r.minute / 86400) * 86400 AS TEXT)".to_string(),
                "",
                "NULL",
            ),
            Some(UsageGrouping::Key) => (
                "CAST(r.key_id AS TEXT)".to_string(),
                " LEFT JOIN api_keys k ON k.id = r.key_id AND k.team_id = r.team_id",
                "MAX(k.name)",
            ),
        };
        let key_only = if group_by == Some(UsageGrouping::Key) {
            " AND r.key_id <> 0"
        } else {
            ""
        };
        let buckets = LATENCY_COLUMNS
            .iter()
            .map(|c| format!("CAST(COALESCE(SUM(r.{c}), 0) AS BIGINT)"))
            .collect::<Vec<_>>()
            .join(", ");
        let group_clause = if group_by.is_some() {
            format!("GROUP BY {group}")
        } else {
            String::new()
        };
        let order = if group_by.is_some() {
            match group_by {
                Some(UsageGrouping::Day | UsageGrouping::Hour) => "ORDER BY MIN(r.minute)",
                _ => "ORDER BY 3 DESC, 1",
            }
        } else {
            ""
        };
        let sql = format!(
            "SELECT {group} AS grp, {label} AS label,
                    CAST(COALESCE(SUM(r.requests), 0) AS BIGINT),
                    CAST(COALESCE(SUM(CASE WHEN r.status BETWEEN 400 AND 499 THEN r.requests ELSE 0 END), 0) AS BIGINT),
                    CAST(COALESCE(SUM(CASE WHEN r.status >= 500 THEN r.requests ELSE 0 END), 0) AS BIGINT),
                    CAST(COALESCE(SUM(r.latency_us_sum), 0) AS BIGINT),
                    CAST(COALESCE(SUM(r.response_bytes), 0) AS BIGINT),
                    {buckets}
             FROM request_rollups r{join}
             WHERE {}{key_only} {group_clause} {order}",
            conditions.clause()
        );
        // (group, label, the numbers in column order).
        let rows: Vec<(Option<String>, Option<String>, Vec<i64>)> = with_pool!(self, pool => {
            use sqlx::Row;
            let query = bind_all!(sqlx::query(&sql), &conditions.binds);
            let rows = query.fetch_all(pool).await?;
            rows.iter()
                .map(|row| {
                    let numbers = (2..7 + LATENCY_BUCKET_COUNT)
                        .map(|index| row.try_get::<i64, _>(index))
                        .collect::<Result<Vec<i64>, sqlx::Error>>()?;
                    Ok::<_, sqlx::Error>((row.try_get(0)?, row.try_get(1)?, numbers))
                })
                .collect::<Result<Vec<_>, sqlx::Error>>()
        })?;
        let mut aggregates = Vec::with_capacity(rows.len());
        for (group, label, numbers) in rows {
            let mut latency = LatencyHistogram::default();
            latency.0.copy_from_slice(&numbers[5..]);
            let aggregate = UsageAggregate {
                group: group.unwrap_or_default(),
                label,
                requests: numbers[0],
                client_errors: numbers[1],
                server_errors: numbers[2],
                latency_us_sum: numbers[3],
                response_bytes: numbers[4],
                latency,
            };
            // An empty total (no row matched) is still one aggregate of zeros.
            if group_by.is_some() && aggregate.requests == 0 {
                continue;
            }
            aggregates.push(aggregate);
        }
        Ok(aggregates)
    }

    /// A team's logged requests, newest first: (page, total matching). No page: every
    /// matching row up to `limit` (exports).
    pub async fn list_request_log(
        &self,
        team_id: i64,
        filter: &UsageFilter,
        page: Option<PageRequest>,
        limit: i64,
    ) -> Result<(Vec<RequestLogRecord>, i64), StoreError> {
        let mut conditions = Conditions::default();
        conditions.push("l.team_id = $?", Bind::Int(team_id));
        if let Some(since) = filter.since {
            conditions.push("l.at >= $?", Bind::Time(since));
        }
        if let Some(until) = filter.until {
            conditions.push("l.at < $?", Bind::Time(until));
        }
        if let Some(key_id) = filter.key_id {
            conditions.push("l.key_id = $?", Bind::Int(key_id));
        }
        if let Some(user_id) = filter.user_id {
            conditions.push("l.user_id = $?", Bind::Int(user_id));
        }
        if let Some(status) = filter.status {
            let (low, high) = status.range();
            conditions.push("l.status >= $?", Bind::Int(low.into()));
            conditions.push("l.status <= $?", Bind::Int(high.into()));
        }
        if let Some(endpoint) = &filter.endpoint {
            conditions.push("l.endpoint = $?", Bind::Text(endpoint.clone()));
        }
        if let Some(method) = &filter.method {
            conditions.push("l.method = $?", Bind::Text(method.clone()));
        }
        if let Some(ip) = &filter.client_ip {
            conditions.push("l.client_ip = $?", Bind::Text(ip.clone()));
        }
        let (limit, offset) = page.map_or((limit, 0), |page| (page.limit(), page.offset()));
        let limit_at = conditions.next_placeholder();
        let list_sql = format!(
            "SELECT l.id, l.at, l.team_id, l.key_id, l.user_id, k.name AS key_name,
                    COALESCE(u.name, u.email) AS user_label, l.method, l.endpoint, l.status,
                    l.latency_us, l.request_bytes, l.response_bytes, l.client_ip, l.user_agent,
                    l.request_id
             FROM request_log l
             LEFT JOIN api_keys k ON k.id = l.key_id AND k.team_id = l.team_id
             LEFT JOIN users u ON u.id = l.user_id
             WHERE {} ORDER BY l.at DESC, l.id DESC LIMIT ${limit_at} OFFSET ${}",
            conditions.clause(),
            limit_at + 1
        );
        let count_sql = format!(
            "SELECT COUNT(*) FROM request_log l WHERE {}",
            conditions.clause()
        );
        with_pool!(self, pool => {
            let rows: Vec<RequestLogRecord> =
                bind_all!(sqlx::query_as(&list_sql), &conditions.binds)
                    .bind(limit)
                    .bind(offset)
                    .fetch_all(pool)
                    .await?;
            let total: i64 = bind_all!(sqlx::query_scalar(&count_sql), &conditions.binds)
                .fetch_one(pool)
                .await?;
            Ok((rows, total))
        })
    }

    /// The id of a person or service account of `team_id` known by e-mail (or `api_<name>`).
    pub async fn team_user_by_name(
        &self,
        team_id: i64,
        name: &str,
    ) -> Result<Option<i64>, StoreError> {
        let id = with_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT u.id FROM users u JOIN team_members m ON m.user_id = u.id
                 WHERE m.team_id = $1 AND (u.email = $2 OR u.name = $2) ORDER BY u.id LIMIT 1",
            )
            .bind(team_id)
            .bind(name)
            .fetch_optional(pool)
            .await
        })?;
        Ok(id)
    }

    /// Figures `/metrics` reads when scraped: knowledge-base records by source (withdrawn
    /// ones included), and analyses by status (`queued`, `running`).
    pub async fn metrics_counts(
        &self,
    ) -> Result<(Vec<(String, i64)>, Vec<(String, i64)>), StoreError> {
        with_pool!(self, pool => {
            let records: Vec<(String, i64)> = sqlx::query_as(
                "SELECT source, COUNT(*) FROM vulnerabilities GROUP BY source ORDER BY source",
            )
            .fetch_all(pool)
            .await?;
            let analyses: Vec<(String, i64)> = sqlx::query_as(
                "SELECT status, COUNT(*) FROM analyses WHERE status IN ('queued', 'running')
                 GROUP BY status ORDER BY status",
            )
            .fetch_all(pool)
            .await?;
            Ok((records, analyses))
        })
    }

    /// Connections of the pool: (in use, idle, maximum).
    pub fn pool_usage(&self) -> (u32, u32, u32) {
        with_pool!(self, pool => {
            let size = pool.size();
            let idle = pool.num_idle() as u32;
            (size.saturating_sub(idle), idle, pool.options().get_max_connections())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn the_minute_until_falls_in_counts_once_it_has_started() {
        let minute = minute_of(at("2026-12-03T05:21:00Z"));
        // 300 ms into the minute: the minute has started, so it is kept.
        assert!(minute < seconds_after_minutes_before(at("2026-12-03T05:21:00.3Z")));
        // At its very first instant it has not yet started before `until`.
        assert!(minute >= seconds_after_minutes_before(at("2026-12-03T05:21:00Z")));
        assert!(minute < seconds_after_minutes_before(at("2026-12-03T05:21:59.999Z")));
        assert_eq!(minute_of(at("2026-12-03T05:21:59.999Z")), minute);
    }
}
