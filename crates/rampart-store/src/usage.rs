//! API usage: the request log (written in batches by the server's background writer), its
//! per key × route × minute rollup kept in the same transaction, retention, and the queries
//! analytics read. Log rows carry `team_id`; every read takes the caller's team.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

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
    /// The standard methods without an allocation per request.
    pub method: Cow<'static, str>,
    /// The route template (`/api/v1/releases/{id}`), `unmatched` when no route answered:
    /// shared with the route's own (no copy per request).
    pub endpoint: Arc<str>,
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

/// The rollup's key of an entry: (team, period, key, user, endpoint, method, status); 0 is
/// "none" for the ids. Borrows the batch's strings: aggregating copies none.
type RollupKey<'a> = (i64, i64, i64, i64, &'a str, &'a str, i64);

#[derive(Default)]
struct RollupSums {
    requests: i64,
    client_errors: i64,
    server_errors: i64,
    latency_us_sum: i64,
    response_bytes: i64,
    latency: LatencyHistogram,
}

impl RollupSums {
    fn add(&mut self, entry: &RequestLogEntry) {
        self.requests += 1;
        match entry.status {
            400..=499 => self.client_errors += 1,
            500.. => self.server_errors += 1,
            _ => {}
        }
        self.latency_us_sum += entry.latency_us;
        self.response_bytes += entry.response_bytes;
        self.latency.record(entry.latency_us);
    }

    fn merge(&mut self, other: &RollupSums) {
        self.requests += other.requests;
        self.client_errors += other.client_errors;
        self.server_errors += other.server_errors;
        self.latency_us_sum += other.latency_us_sum;
        self.response_bytes += other.response_bytes;
        self.latency.add(&other.latency);
    }
}

/// The rollup tables that keep every dimension, finest first. Each holds the same sums per
/// (team, period, key, user, endpoint, method, status); a query reads whole periods from the
/// coarsest table that fits and only its edges from finer ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tier {
    Minute,
    Hour,
    Day,
}

impl Tier {
    const ALL: [Tier; 3] = [Tier::Minute, Tier::Hour, Tier::Day];

    fn table(self) -> &'static str {
        match self {
            Tier::Minute => "request_rollups",
            Tier::Hour => "request_rollups_hourly",
            Tier::Day => "request_rollups_daily",
        }
    }

    /// The period's column: Unix seconds at its start.
    fn column(self) -> &'static str {
        match self {
            Tier::Minute => "minute",
            Tier::Hour => "hour",
            Tier::Day => "day",
        }
    }

    fn seconds(self) -> i64 {
        match self {
            Tier::Minute => 60,
            Tier::Hour => 3_600,
            Tier::Day => 86_400,
        }
    }

    /// `INSERT … ON CONFLICT DO UPDATE` adding a batch's sums to this table: (head, tail).
    fn upsert(self) -> (String, String) {
        let (table, column) = (self.table(), self.column());
        let head = format!(
            "INSERT INTO {table} (team_id, {column}, key_id, user_id, endpoint, method, status,
                 requests, latency_us_sum, response_bytes, {})",
            LATENCY_COLUMNS.join(", ")
        );
        let tail = format!(
            " ON CONFLICT (team_id, {column}, key_id, user_id, endpoint, method, status) DO UPDATE
              SET {}",
            summed_on_conflict(table, &["requests", "latency_us_sum", "response_bytes"])
        );
        (head, tail)
    }
}

/// `column = table.column + excluded.column` for `columns` and every latency bucket.
fn summed_on_conflict(table: &str, columns: &[&str]) -> String {
    columns
        .iter()
        .chain(LATENCY_COLUMNS.iter())
        .map(|c| format!("{c} = {table}.{c} + excluded.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Start of the period of `period_seconds` that `seconds` falls in.
fn period_start(seconds: i64, period_seconds: i64) -> i64 {
    seconds - seconds.rem_euclid(period_seconds)
}

/// The first start of a period of `period_seconds` at or after `seconds`.
fn next_period_start(seconds: i64, period_seconds: i64) -> i64 {
    -period_start(-seconds, period_seconds)
}

/// A batch's sums per rollup key of every tier (finest first), and per (team, hour) without
/// dimensions: each entry is added once, to its minute; the coarser sums are added up from the
/// minutes' (a batch has far fewer distinct minutes than entries).
#[allow(clippy::type_complexity)]
fn rollups_of(
    entries: &[RequestLogEntry],
) -> (
    Vec<(Tier, Vec<(RollupKey<'_>, RollupSums)>)>,
    Vec<((i64, i64), RollupSums)>,
) {
    let mut minutes: HashMap<RollupKey<'_>, RollupSums> = HashMap::new();
    // Consecutive entries mostly share their key (a client calling one route within a
    // minute): a run of them is summed here and hashed into `minutes` once.
    let mut run: Option<(RollupKey<'_>, RollupSums)> = None;
    for entry in entries {
        let key = (
            entry.team_id.unwrap_or(0),
            period_start(entry.at.timestamp(), Tier::Minute.seconds()),
            entry.key_id.unwrap_or(0),
            entry.user_id.unwrap_or(0),
            &*entry.endpoint,
            &*entry.method,
            i64::from(entry.status),
        );
        match &mut run {
            Some((run_key, sums)) if *run_key == key => sums.add(entry),
            _ => {
                let mut sums = RollupSums::default();
                sums.add(entry);
                if let Some((ended, ended_sums)) = run.replace((key, sums)) {
                    minutes.entry(ended).or_default().merge(&ended_sums);
                }
            }
        }
    }
    if let Some((key, sums)) = run {
        minutes.entry(key).or_default().merge(&sums);
    }
    let coarser = |tier: Tier| {
        let mut sums: HashMap<RollupKey<'_>, RollupSums> = HashMap::new();
        for (key, minute) in &minutes {
            let mut key = *key;
            key.1 = period_start(key.1, tier.seconds());
            sums.entry(key).or_default().merge(minute);
        }
        sums
    };
    let hours = coarser(Tier::Hour);
    let days = coarser(Tier::Day);
    let mut totals: HashMap<(i64, i64), RollupSums> = HashMap::new();
    for (key, hour) in &hours {
        totals.entry((key.0, key.1)).or_default().merge(hour);
    }
    let tiers = vec![
        (Tier::Minute, minutes.into_iter().collect()),
        (Tier::Hour, hours.into_iter().collect()),
        (Tier::Day, days.into_iter().collect()),
    ];
    (tiers, totals.into_iter().collect())
}

fn rollup_columns<'a>(rows: &[(RollupKey<'a>, RollupSums)]) -> Vec<Column<'a>> {
    let mut columns = vec![
        Column::Int(rows.iter().map(|(k, _)| k.0).collect()),
        Column::Int(rows.iter().map(|(k, _)| k.1).collect()),
        Column::Int(rows.iter().map(|(k, _)| k.2).collect()),
        Column::Int(rows.iter().map(|(k, _)| k.3).collect()),
        Column::Text(rows.iter().map(|(k, _)| k.4).collect()),
        Column::Text(rows.iter().map(|(k, _)| k.5).collect()),
        Column::Int(rows.iter().map(|(k, _)| k.6).collect()),
    ];
    columns.extend(sums_columns(rows.iter().map(|(_, sums)| sums), false));
    columns
}

/// The sums' columns in table order: requests, (errors), latency sum, bytes, buckets.
fn sums_columns<'a>(
    sums: impl Iterator<Item = &'a RollupSums> + Clone,
    with_errors: bool,
) -> Vec<Column<'static>> {
    let mut columns = vec![Column::Int(sums.clone().map(|s| s.requests).collect())];
    if with_errors {
        columns.push(Column::Int(sums.clone().map(|s| s.client_errors).collect()));
        columns.push(Column::Int(sums.clone().map(|s| s.server_errors).collect()));
    }
    columns.push(Column::Int(
        sums.clone().map(|s| s.latency_us_sum).collect(),
    ));
    columns.push(Column::Int(
        sums.clone().map(|s| s.response_bytes).collect(),
    ));
    for bucket in 0..LATENCY_BUCKET_COUNT {
        columns.push(Column::Int(
            sums.clone().map(|s| s.latency.0[bucket]).collect(),
        ));
    }
    columns
}

fn totals_columns(rows: &[((i64, i64), RollupSums)]) -> Vec<Column<'static>> {
    let mut columns = vec![
        Column::Int(rows.iter().map(|((team, _), _)| *team).collect()),
        Column::Int(rows.iter().map(|((_, hour), _)| *hour).collect()),
    ];
    columns.extend(sums_columns(rows.iter().map(|(_, sums)| sums), true));
    columns
}

fn hour_totals_upsert() -> (String, String) {
    let head = format!(
        "INSERT INTO request_totals_hourly (team_id, hour, requests, client_errors, server_errors,
             latency_us_sum, response_bytes, {})",
        LATENCY_COLUMNS.join(", ")
    );
    let tail = format!(
        " ON CONFLICT (team_id, hour) DO UPDATE SET {}",
        summed_on_conflict(
            "request_totals_hourly",
            &[
                "requests",
                "client_errors",
                "server_errors",
                "latency_us_sum",
                "response_bytes"
            ],
        )
    );
    (head, tail)
}

/// Where a usage query reads one stretch of its window from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Rollup(Tier),
    /// `request_totals_hourly`: hours without dimensions, for unfiltered totals and series.
    HourTotals,
}

impl Source {
    fn seconds(self) -> i64 {
        match self {
            Source::Rollup(tier) => tier.seconds(),
            Source::HourTotals => Tier::Hour.seconds(),
        }
    }
}

/// Splits the whole minutes `[from, to)` into stretches, each read from the coarsest of
/// `sources` (finest first; the first must be per minute) whose periods fit inside it: the
/// whole days of a 30-day window from the daily table, the hours at its edges from an hourly
/// one, the minutes at the very edges from the per-minute rollup.
fn plan(from: i64, to: i64, sources: &[Source]) -> Vec<(Source, i64, i64)> {
    let mut stretches = Vec::new();
    split(from, to, sources, &mut stretches);
    stretches
}

fn split(from: i64, to: i64, sources: &[Source], out: &mut Vec<(Source, i64, i64)>) {
    if from >= to {
        return;
    }
    let Some((&coarsest, finer)) = sources.split_last() else {
        return;
    };
    let seconds = coarsest.seconds();
    let first = next_period_start(from, seconds);
    let last = period_start(to, seconds);
    if finer.is_empty() || first >= last {
        if finer.is_empty() {
            out.push((coarsest, from, to));
        } else {
            split(from, to, finer, out);
        }
        return;
    }
    split(from, first, finer, out);
    out.push((coarsest, first, last));
    split(last, to, finer, out);
}

/// Unix seconds of the start of `at`'s minute.
pub fn minute_of(at: DateTime<Utc>) -> i64 {
    period_start(at.timestamp(), Tier::Minute.seconds())
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

/// Inserts a batch's raw `request_log` rows on one connection, each backend its fastest way.
trait InsertLogRows {
    async fn insert_log_rows(&mut self, entries: &[RequestLogEntry]) -> Result<(), sqlx::Error>;
}

impl InsertLogRows for sqlx::PgConnection {
    /// One `UNNEST` statement, an array per column.
    async fn insert_log_rows(&mut self, entries: &[RequestLogEntry]) -> Result<(), sqlx::Error> {
        let columns = [
            Column::Time(entries.iter().map(|e| e.at).collect()),
            Column::OptionalInt(entries.iter().map(|e| e.team_id).collect()),
            Column::OptionalInt(entries.iter().map(|e| e.key_id).collect()),
            Column::OptionalInt(entries.iter().map(|e| e.user_id).collect()),
            Column::Text(entries.iter().map(|e| &*e.method).collect()),
            Column::Text(entries.iter().map(|e| &*e.endpoint).collect()),
            Column::Int(entries.iter().map(|e| i64::from(e.status)).collect()),
            Column::Int(entries.iter().map(|e| e.latency_us).collect()),
            Column::Int(entries.iter().map(|e| e.request_bytes).collect()),
            Column::Int(entries.iter().map(|e| e.response_bytes).collect()),
            Column::OptionalText(entries.iter().map(|e| e.client_ip.as_deref()).collect()),
            Column::OptionalText(entries.iter().map(|e| e.user_agent.as_deref()).collect()),
            Column::OptionalText(entries.iter().map(|e| e.request_id.as_deref()).collect()),
        ];
        self.insert_columns(
            "INSERT INTO request_log (at, team_id, key_id, user_id, method, endpoint, status,
                 latency_us, request_bytes, response_bytes, client_ip, user_agent, request_id)",
            &columns,
            "",
        )
        .await
    }
}

impl InsertLogRows for sqlx::SqliteConnection {
    /// Multi-row `INSERT`s stepped through SQLite's own API ([`sqlite_rows`]).
    async fn insert_log_rows(&mut self, entries: &[RequestLogEntry]) -> Result<(), sqlx::Error> {
        let mut handle = self.lock_handle().await?;
        let db = handle.as_raw_handle().as_ptr();
        // SAFETY: the locked handle gives this thread the connection alone until it is
        // dropped, after the call; the caller's transaction is a write transaction.
        unsafe { sqlite_rows::insert(db, entries) }
    }
}

impl Store {
    /// Writes a batch of log entries and adds them to every rollup, in one transaction: the
    /// rollups always count exactly the rows of the log.
    pub async fn write_request_log(&self, entries: &[RequestLogEntry]) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let (tiers, totals) = rollups_of(entries);
        let totals_columns = totals_columns(&totals);
        with_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            tx.insert_log_rows(entries).await?;
            for (tier, rows) in &tiers {
                let (head, tail) = tier.upsert();
                tx.insert_columns(&head, &rollup_columns(rows), &tail).await?;
            }
            let (head, tail) = hour_totals_upsert();
            tx.insert_columns(&head, &totals_columns, &tail).await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Deletes log rows and rollups older than `before`, a chunk at a time (a long delete
    /// would hold SQLite's writer lock against the requests' own writes). Returns the log
    /// rows and rollup rows deleted.
    ///
    /// The log has one index besides its key, `(team_id, at)` (every insert maintains each
    /// index, on the request log's hot path): old rows are found team by team, the teams
    /// walked one index seek each (those without credentials, `NULL`, first).
    pub async fn prune_request_log(&self, before: DateTime<Utc>) -> Result<(u64, u64), StoreError> {
        const CHUNK: i64 = 10_000;
        let mut log_rows = 0;
        let mut team: Option<i64> = None;
        loop {
            loop {
                // Written out for each case: `team_id = $1 OR $1 IS NULL …` would not use the
                // index.
                let deleted = with_pool!(self, pool => {
                    let query = match team {
                        Some(team) => sqlx::query(
                            "DELETE FROM request_log WHERE id IN
                                (SELECT id FROM request_log
                                 WHERE team_id = $1 AND at < $2 LIMIT $3)",
                        )
                        .bind(team),
                        None => sqlx::query(
                            "DELETE FROM request_log WHERE id IN
                                (SELECT id FROM request_log
                                 WHERE team_id IS NULL AND at < $1 LIMIT $2)",
                        ),
                    };
                    query
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
            let next: Option<i64> = with_pool!(self, pool => {
                sqlx::query_scalar(
                    "SELECT team_id FROM request_log WHERE team_id > $1 ORDER BY team_id LIMIT 1",
                )
                .bind(team.unwrap_or(i64::MIN))
                .fetch_optional(pool)
                .await
            })?;
            match next {
                Some(next) => team = Some(next),
                None => break,
            }
        }
        // Each rollup keeps the period `before` falls in (a day's row counts minutes the
        // per-minute rollup has already let go of, until that day has passed too).
        let mut rollup_rows = 0;
        let tables = Tier::ALL
            .iter()
            .map(|tier| (tier.table(), tier.column(), tier.seconds()))
            .chain([("request_totals_hourly", "hour", Tier::Hour.seconds())]);
        for (table, column, seconds) in tables {
            let sql = format!("DELETE FROM {table} WHERE {column} < $1");
            rollup_rows += with_pool!(self, pool => {
                sqlx::query(&sql)
                    .bind(period_start(before.timestamp(), seconds))
                    .execute(pool)
                    .await
                    .map(|done| done.rows_affected())
            })?;
        }
        Ok((log_rows, rollup_rows))
    }

    /// A team's usage from the rollups: the totals, or one aggregate per group (most requests
    /// first). Filters on `client_ip` are not available here (the rollups do not keep it).
    /// Whole days come from the daily rollup, whole hours from the hourly ones, only the
    /// minutes at the window's edges from the per-minute rollup.
    pub async fn usage_aggregates(
        &self,
        team_id: i64,
        filter: &UsageFilter,
        group_by: Option<UsageGrouping>,
    ) -> Result<Vec<UsageAggregate>, StoreError> {
        let mut conditions = Conditions::default();
        conditions.push("team_id = $?", Bind::Int(team_id));
        let mut dimension_filtered = false;
        if let Some(key_id) = filter.key_id {
            conditions.push("key_id = $?", Bind::Int(key_id));
            dimension_filtered = true;
        }
        if let Some(user_id) = filter.user_id {
            conditions.push("user_id = $?", Bind::Int(user_id));
            dimension_filtered = true;
        }
        if let Some(status) = filter.status {
            let (low, high) = status.range();
            conditions.push("status >= $?", Bind::Int(low.into()));
            conditions.push("status <= $?", Bind::Int(high.into()));
            dimension_filtered = true;
        }
        if let Some(endpoint) = &filter.endpoint {
            conditions.push("endpoint = $?", Bind::Text(endpoint.clone()));
            dimension_filtered = true;
        }
        if let Some(method) = &filter.method {
            conditions.push("method = $?", Bind::Text(method.clone()));
            dimension_filtered = true;
        }
        if group_by == Some(UsageGrouping::Key) {
            conditions.sql.push("key_id <> 0".to_string());
        }
        // The whole minutes asked for: from the one `since` falls in to the last one that
        // started before `until`.
        let from = filter.since.map_or(0, minute_of);
        let to = filter.until.map_or(i64::MAX / 2, |until| {
            next_period_start(seconds_after_minutes_before(until), Tier::Minute.seconds())
        });
        let sources: &[Source] = match group_by {
            None | Some(UsageGrouping::Day | UsageGrouping::Hour) if !dimension_filtered => {
                &[Source::Rollup(Tier::Minute), Source::HourTotals]
            }
            Some(UsageGrouping::Hour) => {
                &[Source::Rollup(Tier::Minute), Source::Rollup(Tier::Hour)]
            }
            _ => &[
                Source::Rollup(Tier::Minute),
                Source::Rollup(Tier::Hour),
                Source::Rollup(Tier::Day),
            ],
        };
        let clause = conditions.clause();
        let buckets = LATENCY_COLUMNS.join(", ");
        let stretches = plan(from, to, sources)
            .into_iter()
            .map(|(source, first, last)| match source {
                // Bounds are integers computed here, not caller text.
                Source::Rollup(tier) => format!(
                    "SELECT {column} AS t, key_id, endpoint, method, status, requests,
                            CASE WHEN status BETWEEN 400 AND 499 THEN requests ELSE 0 END AS client_errors,
                            CASE WHEN status >= 500 THEN requests ELSE 0 END AS server_errors,
                            latency_us_sum, response_bytes, {buckets}
                     FROM {table} WHERE {clause} AND {column} >= {first} AND {column} < {last}",
                    column = tier.column(),
                    table = tier.table(),
                ),
                Source::HourTotals => format!(
                    "SELECT hour AS t, 0 AS key_id, '' AS endpoint, '' AS method, 0 AS status,
                            requests, client_errors, server_errors, latency_us_sum,
                            response_bytes, {buckets}
                     FROM request_totals_hourly
                     WHERE team_id = $1 AND hour >= {first} AND hour < {last}"
                ),
            })
            .collect::<Vec<_>>();
        if stretches.is_empty() {
            return Ok(if group_by.is_some() {
                Vec::new()
            } else {
                vec![UsageAggregate::default()]
            });
        }
        // The group's value as text, computed the same way on both backends.
        let (group, join, label) = match group_by {
            None => ("''".to_string(), "", "NULL"),
            Some(UsageGrouping::Endpoint) => {
                ("r.method || ' ' || r.endpoint".to_string(), "", "NULL")
            }
            Some(UsageGrouping::Status) => ("CAST(r.status AS TEXT)".to_string(), "", "NULL"),
            Some(UsageGrouping::Hour) => {
                ("CAST((r.t / 3600) * 3600 AS TEXT)".to_string(), "", "NULL")
            }
            Some(UsageGrouping::Day) => (
                "CAST((r.t / 86400) * 86400 AS TEXT)".to_string(),
                "",
                "NULL",
            ),
            Some(UsageGrouping::Key) => (
                "CAST(r.key_id AS TEXT)".to_string(),
                " LEFT JOIN api_keys k ON k.id = r.key_id AND k.team_id = $1",
                "MAX(k.name)",
            ),
        };
        let bucket_sums = LATENCY_COLUMNS
            .iter()
            .map(|c| format!("CAST(COALESCE(SUM(r.{c}), 0) AS BIGINT)"))
            .collect::<Vec<_>>()
            .join(", ");
        let group_clause = if group_by.is_some() {
            format!("GROUP BY {group}")
        } else {
            String::new()
        };
        let order = match group_by {
            None => "",
            Some(UsageGrouping::Day | UsageGrouping::Hour) => "ORDER BY MIN(r.t)",
            Some(_) => "ORDER BY 3 DESC, 1",
        };
        let sql = format!(
            "SELECT {group} AS grp, {label} AS label,
                    CAST(COALESCE(SUM(r.requests), 0) AS BIGINT),
                    CAST(COALESCE(SUM(r.client_errors), 0) AS BIGINT),
                    CAST(COALESCE(SUM(r.server_errors), 0) AS BIGINT),
                    CAST(COALESCE(SUM(r.latency_us_sum), 0) AS BIGINT),
                    CAST(COALESCE(SUM(r.response_bytes), 0) AS BIGINT),
                    {bucket_sums}
             FROM ({}) r{join} {group_clause} {order}",
            stretches.join(" UNION ALL ")
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

/// The request log's raw rows on SQLite, through SQLite's own API on the writer's
/// connection: a multi-row `INSERT` of [`sqlite_rows::ROWS_PER_STATEMENT`] rows prepared once
/// per batch and stepped per chunk, its text bound in place. Through sqlx, a batch is a
/// multi-row `VALUES` statement with 13 bound values per row, and every text value is copied
/// twice on the way (to the connection's thread, then into SQLite) and released again after: a
/// third of the log's cost per request in the profile of `POST /v1/query` (BENCHMARKS.md, the
/// request log). A single-row statement stepped per row costs more again: every execution of an
/// `INSERT` into an `AUTOINCREMENT` table reads and rewrites its row of `sqlite_sequence`
/// (a scan of that table's ~40 rows), which chunks of rows pay once. The rollups, a few rows per
/// batch, stay with sqlx.
mod sqlite_rows {
    use std::ffi::{c_int, CStr};
    use std::ops::Range;
    use std::ptr;

    use chrono::{DateTime, Datelike, SecondsFormat, Timelike, Utc};
    use libsqlite3_sys as ffi;

    use super::RequestLogEntry;

    /// `OR FAIL`: a multi-row `INSERT` that may abort (its `NOT NULL` columns) otherwise
    /// makes SQLite keep a statement journal, a copy of every page before the statement first
    /// changes it, to undo the statement alone: a fifth of the rows' own cost in the profile.
    /// A failure here fails the whole batch, whose transaction is then rolled back anyway.
    const INSERT: &str =
        "INSERT OR FAIL INTO request_log (at, team_id, key_id, user_id, method, endpoint,
        status, latency_us, request_bytes, response_bytes, client_ip, user_agent, request_id)
        VALUES ";
    const ROW: &str = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
    const COLUMNS: usize = 13;
    /// Rows per statement: 832 parameters, far below SQLite's limit (32,766); more rows per
    /// statement gain nothing measurable once the per-statement work is shared by 64.
    pub(super) const ROWS_PER_STATEMENT: usize = 64;

    /// A prepared statement, finalized when dropped.
    struct Statement {
        db: *mut ffi::sqlite3,
        statement: *mut ffi::sqlite3_stmt,
    }

    impl Drop for Statement {
        fn drop(&mut self) {
            // SAFETY: `statement` came from `sqlite3_prepare_v2` on `db` and is finalized once.
            unsafe {
                ffi::sqlite3_finalize(self.statement);
            }
        }
    }

    impl Statement {
        /// The `INSERT` of `rows` rows.
        fn prepare(db: *mut ffi::sqlite3, rows: usize) -> Result<Statement, sqlx::Error> {
            let mut sql = String::with_capacity(INSERT.len() + rows * (ROW.len() + 2));
            sql.push_str(INSERT);
            for row in 0..rows {
                if row > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(ROW);
            }
            let mut statement = ptr::null_mut();
            // SAFETY: `db` is open (the caller's contract); the length is exact, so no NUL is
            // needed.
            let code = unsafe {
                ffi::sqlite3_prepare_v2(
                    db,
                    sql.as_ptr().cast(),
                    c_int::try_from(sql.len()).unwrap_or(c_int::MAX),
                    &mut statement,
                    ptr::null_mut(),
                )
            };
            let statement = Statement { db, statement };
            statement.check(code, "prepare")?;
            Ok(statement)
        }

        fn error(&self, doing: &str) -> sqlx::Error {
            // SAFETY: `db` is open; `sqlite3_errmsg` returns a NUL-terminated string it owns,
            // copied before anything else runs on the connection.
            let message = unsafe { CStr::from_ptr(ffi::sqlite3_errmsg(self.db)) };
            sqlx::Error::Protocol(format!(
                "cannot {doing} the request log: {}",
                message.to_string_lossy()
            ))
        }

        fn check(&self, code: c_int, doing: &str) -> Result<(), sqlx::Error> {
            if code == ffi::SQLITE_OK {
                Ok(())
            } else {
                Err(self.error(doing))
            }
        }

        /// Binds `text` without copying it: it must stay alive until the parameter is bound
        /// again or the statement is finalized.
        fn text(&self, index: c_int, text: Option<&str>) -> Result<(), sqlx::Error> {
            let Some(text) = text else {
                // SAFETY: a valid statement and parameter index.
                return self.check(
                    unsafe { ffi::sqlite3_bind_null(self.statement, index) },
                    "bind",
                );
            };
            let length = c_int::try_from(text.len())
                .map_err(|_| sqlx::Error::Protocol("request log text too long".into()))?;
            // SAFETY: `text` points to `length` bytes of UTF-8; SQLITE_STATIC is sound because
            // the caller keeps it alive while it is bound (see `insert`).
            let code = unsafe {
                ffi::sqlite3_bind_text(
                    self.statement,
                    index,
                    text.as_ptr().cast(),
                    length,
                    ffi::SQLITE_STATIC(),
                )
            };
            self.check(code, "bind")
        }

        fn int(&self, index: c_int, value: Option<i64>) -> Result<(), sqlx::Error> {
            // SAFETY: a valid statement and parameter index.
            let code = unsafe {
                match value {
                    Some(value) => ffi::sqlite3_bind_int64(self.statement, index, value),
                    None => ffi::sqlite3_bind_null(self.statement, index),
                }
            };
            self.check(code, "bind")
        }

        /// Binds `rows` (as many as the statement has) and runs it.
        fn insert(
            &self,
            rows: &[RequestLogEntry],
            times: &str,
            time_ranges: &[Range<usize>],
        ) -> Result<(), sqlx::Error> {
            for (row, (entry, time)) in rows.iter().zip(time_ranges).enumerate() {
                // Parameters are numbered from 1, row after row.
                let first = (row * COLUMNS) as c_int;
                self.text(first + 1, Some(&times[time.clone()]))?;
                self.int(first + 2, entry.team_id)?;
                self.int(first + 3, entry.key_id)?;
                self.int(first + 4, entry.user_id)?;
                self.text(first + 5, Some(&entry.method))?;
                self.text(first + 6, Some(&entry.endpoint))?;
                self.int(first + 7, Some(i64::from(entry.status)))?;
                self.int(first + 8, Some(entry.latency_us))?;
                self.int(first + 9, Some(entry.request_bytes))?;
                self.int(first + 10, Some(entry.response_bytes))?;
                self.text(first + 11, entry.client_ip.as_deref())?;
                self.text(first + 12, entry.user_agent.as_deref())?;
                self.text(first + 13, entry.request_id.as_deref())?;
            }
            // SAFETY: a valid statement with every parameter bound.
            let code = unsafe { ffi::sqlite3_step(self.statement) };
            // SAFETY: a valid statement (its error, if any, is reported below).
            unsafe { ffi::sqlite3_reset(self.statement) };
            if code != ffi::SQLITE_DONE {
                return Err(self.error("write"));
            }
            Ok(())
        }
    }

    /// Inserts `entries` as `request_log` rows, the same values sqlx would bind (`at` as
    /// sqlx writes a `DateTime<Utc>`), in statements of [`ROWS_PER_STATEMENT`] rows (and one
    /// for the rest).
    ///
    /// # Safety
    /// `db` is an open connection that the calling thread holds alone for the whole call
    /// (a locked sqlx handle), inside a write transaction.
    pub(super) unsafe fn insert(
        db: *mut ffi::sqlite3,
        entries: &[RequestLogEntry],
    ) -> Result<(), sqlx::Error> {
        // Every row's time as text, written before anything is bound (the buffer never grows
        // while SQLite points into it) and alive until the statements are finalized: they are
        // declared after it, so dropped first.
        let mut times = String::with_capacity(entries.len() * 36);
        let time_ranges: Vec<Range<usize>> = entries
            .iter()
            .map(|entry| {
                let start = times.len();
                push_time(&mut times, entry.at);
                start..times.len()
            })
            .collect();
        let mut full: Option<Statement> = None;
        for (chunk, ranges) in entries
            .chunks(ROWS_PER_STATEMENT)
            .zip(time_ranges.chunks(ROWS_PER_STATEMENT))
        {
            if chunk.len() == ROWS_PER_STATEMENT {
                if full.is_none() {
                    full = Some(Statement::prepare(db, ROWS_PER_STATEMENT)?);
                }
                if let Some(statement) = &full {
                    statement.insert(chunk, &times, ranges)?;
                }
            } else {
                Statement::prepare(db, chunk.len())?.insert(chunk, &times, ranges)?;
            }
        }
        drop(full);
        drop(times);
        Ok(())
    }

    /// Appends `at` as `to_rfc3339_opts(SecondsFormat::AutoSi, false)` writes it (what sqlx
    /// binds for a `DateTime<Utc>` on SQLite), without the formatting machinery for the years
    /// 0–9999 outside leap seconds; anything else through chrono.
    pub(super) fn push_time(out: &mut String, at: DateTime<Utc>) {
        let (date, time) = (at.date_naive(), at.time());
        let nanos = time.nanosecond();
        let year = date.year();
        if !(0..=9999).contains(&year) || nanos >= 1_000_000_000 {
            out.push_str(&at.to_rfc3339_opts(SecondsFormat::AutoSi, false));
            return;
        }
        let mut buffer = [0u8; 35];
        let mut length = 0;
        let mut digits = |value: u32, count: u32| {
            for position in (0..count).rev() {
                buffer[length] = b'0' + (value / 10u32.pow(position) % 10) as u8;
                length += 1;
            }
        };
        digits(year as u32, 4);
        digits(date.month(), 2);
        digits(date.day(), 2);
        digits(time.hour(), 2);
        digits(time.minute(), 2);
        digits(time.second(), 2);
        if nanos != 0 {
            if nanos % 1_000_000 == 0 {
                digits(nanos / 1_000_000, 3);
            } else if nanos % 1_000 == 0 {
                digits(nanos / 1_000, 6);
            } else {
                digits(nanos, 9);
            }
        }
        let text = &buffer[..length];
        // "YYYY-MM-DDTHH:MM:SS[.fraction]+00:00" from the digits.
        out.reserve(length + 12);
        for (index, &digit) in text.iter().enumerate() {
            match index {
                4 | 6 => out.push('-'),
                8 => out.push('T'),
                10 | 12 => out.push(':'),
                14 => out.push('.'),
                _ => {}
            }
            out.push(char::from(digit));
        }
        out.push_str("+00:00");
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
    fn log_times_are_written_as_sqlx_writes_them() {
        use chrono::{SecondsFormat, TimeZone};
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut times: Vec<DateTime<Utc>> = [
            "2026-12-03T13:10:00Z",
            "2026-12-03T13:10:00.5Z",
            "2026-12-03T13:10:00.000123Z",
            "2026-12-03T13:10:00.000000007Z",
            "0001-01-01T00:00:00Z",
            "9999-12-31T23:59:59.999999999Z",
        ]
        .into_iter()
        .map(at)
        .collect();
        for _ in 0..10_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let seconds = (state % 4_000_000_000) as i64;
            let nanos = match state % 4 {
                0 => 0,
                1 => (state >> 20) as u32 % 1_000 * 1_000_000,
                2 => (state >> 20) as u32 % 1_000_000 * 1_000,
                _ => (state >> 20) as u32 % 1_000_000_000,
            };
            times.push(Utc.timestamp_opt(seconds, nanos).unwrap());
        }
        // Before the year 0 and after 9999: through chrono.
        times.push(Utc.with_ymd_and_hms(-1, 6, 1, 0, 0, 0).unwrap());
        times.push(Utc.with_ymd_and_hms(10_000, 6, 1, 0, 0, 0).unwrap());
        let mut text = String::new();
        for time in times {
            text.clear();
            sqlite_rows::push_time(&mut text, time);
            assert_eq!(text, time.to_rfc3339_opts(SecondsFormat::AutoSi, false));
        }
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

    #[test]
    fn a_window_reads_whole_days_then_hours_then_minutes_at_its_edges() {
        let all = [
            Source::Rollup(Tier::Minute),
            Source::Rollup(Tier::Hour),
            Source::Rollup(Tier::Day),
        ];
        let day = 86_400;
        // 10:05 on day 1 to 02:30 on day 4.
        let from = day + 10 * 3_600 + 5 * 60;
        let to = 3 * day + 2 * 3_600 + 30 * 60;
        let stretches = plan(from, to, &all);
        assert_eq!(
            stretches,
            vec![
                (Source::Rollup(Tier::Minute), from, day + 11 * 3_600),
                (Source::Rollup(Tier::Hour), day + 11 * 3_600, 2 * day),
                (Source::Rollup(Tier::Day), 2 * day, 3 * day),
                (Source::Rollup(Tier::Hour), 3 * day, 3 * day + 2 * 3_600),
                (Source::Rollup(Tier::Minute), 3 * day + 2 * 3_600, to),
            ]
        );
        // The stretches tile the window exactly, whatever its edges.
        for (from, to) in [
            (0, 60),
            (120, 3_600),
            (3_540, 7_260),
            (60, 5 * day),
            (day, 2 * day),
        ] {
            for sources in [
                &all[..],
                &all[..2],
                &[Source::Rollup(Tier::Minute), Source::HourTotals][..],
            ] {
                let stretches = plan(from, to, sources);
                assert_eq!(stretches.first().map(|s| s.1), Some(from));
                assert_eq!(stretches.last().map(|s| s.2), Some(to));
                for pair in stretches.windows(2) {
                    assert_eq!(pair[0].2, pair[1].1, "{stretches:?}");
                }
                for (source, first, last) in &stretches {
                    assert!(first < last);
                    assert_eq!(first % source.seconds(), 0, "{stretches:?}");
                    assert_eq!(last % source.seconds(), 0, "{stretches:?}");
                }
            }
        }
        assert!(plan(600, 600, &all).is_empty());
    }
}
