//! One run of one source: fetch through the outbound guard, parse with rampart-formats,
//! ingest batch by batch (each batch one transaction in the store), report progress.
//!
//! Incremental behaviour per type:
//! - NVD: from the cursor, `lastModStartDate`/`lastModEndDate` windows of at most 120 days
//!   up to the run's start; without a cursor a full load by plain `startIndex` paging.
//! - OSV/GHSA: the archive is read whole (OSV publishes no deltas); records last modified
//!   before the cursor are counted unchanged without touching the store.
//! - KEV/EPSS/ExploitDB: whole-file snapshots, fetched with `If-Modified-Since: <cursor>`;
//!   a 304 answer ends the run with nothing to do.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use chrono::{DateTime, Utc};
use rampart_formats::advisory::{parse_nvd_page, Advisory, CveRecord, EpssFile, ParseReport};
use rampart_store::{ClaimedRun, IngestStats, Store, SyncCounts};
use reqwest::header::{HeaderValue, AUTHORIZATION, IF_MODIFIED_SINCE, RETRY_AFTER};
use reqwest::{StatusCode, Url};
use tokio::sync::mpsc;

use super::outbound::{Location, OutboundClient};
use super::{SecretKey, SyncSettings};
use crate::feeds::{self, BoundedZip, Document, Entry, FeedContent, FeedType};

/// NVD refuses date windows longer than 120 days.
const NVD_MAX_WINDOW_DAYS: i64 = 120;

/// What a running run shares with its lease heartbeat: counts and a progress line.
#[derive(Default)]
pub(super) struct Progress {
    state: Mutex<(SyncCounts, String)>,
    /// Set by the heartbeat when the lease was lost: the run must stop writing.
    lease_lost: AtomicBool,
}

impl Progress {
    pub(super) fn snapshot(&self) -> (SyncCounts, String) {
        self.state.lock().expect("progress lock").clone()
    }

    pub(super) fn mark_lease_lost(&self) {
        self.lease_lost.store(true, Ordering::SeqCst);
    }

    fn set_message(&self, message: impl Into<String>) {
        self.state.lock().expect("progress lock").1 = message.into();
    }

    fn add(&self, stats: IngestStats) {
        let mut state = self.state.lock().expect("progress lock");
        state.0.added += stats.added as i64;
        state.0.updated += stats.updated as i64;
        state.0.unchanged += stats.unchanged as i64;
        state.0.skipped += stats.skipped as i64;
    }

    fn add_unchanged(&self, count: usize) {
        self.state.lock().expect("progress lock").0.unchanged += count as i64;
    }

    fn add_skipped(&self, count: usize) {
        self.state.lock().expect("progress lock").0.skipped += count as i64;
    }

    fn processed(&self) -> i64 {
        let counts = self.state.lock().expect("progress lock").0;
        counts.added + counts.updated + counts.unchanged + counts.skipped
    }

    fn ensure_lease(&self) -> anyhow::Result<()> {
        if self.lease_lost.load(Ordering::SeqCst) {
            bail!("the run's lease was lost (taken over by another worker, or the source was deleted)");
        }
        Ok(())
    }
}

/// Everything a run needs.
pub(super) struct RunContext<'a> {
    pub store: &'a Store,
    pub client: &'a OutboundClient,
    pub settings: &'a SyncSettings,
    pub secret_key: &'a SecretKey,
    pub progress: &'a Progress,
}

impl RunContext<'_> {
    async fn ingest_advisories(&self, source: &str, batch: &[Advisory]) -> anyhow::Result<()> {
        self.progress.ensure_lease()?;
        let stats = self.store.ingest_advisories(source, batch).await?;
        self.progress.add(stats);
        Ok(())
    }
}

/// Runs `claimed` to the end. Errors become the run's error message: they must never
/// contain the API key (it only ever travels in a request header).
pub(super) async fn execute(context: &RunContext<'_>, claimed: &ClaimedRun) -> anyhow::Result<()> {
    let source = &claimed.source;
    let source_type = FeedType::parse(&source.source_type)
        .ok_or_else(|| anyhow!("unknown source type {:?}", source.source_type))?;
    let api_key = match &source.api_key_ciphertext {
        Some(sealed) => Some(
            String::from_utf8(context.secret_key.decrypt(sealed)?)
                .context("stored API key is not UTF-8")?,
        ),
        None => None,
    };
    let base = source
        .url
        .clone()
        .unwrap_or_else(|| source_type.default_url().to_string());
    let cursor = claimed.run.cursor_from;
    let started_at = claimed.run.started_at.unwrap_or_else(Utc::now);
    match source_type {
        FeedType::Nvd => nvd(context, &base, api_key.as_deref(), cursor, started_at).await,
        FeedType::Osv => {
            osv(
                context,
                &base,
                &source.ecosystems,
                cursor,
                api_key.as_deref(),
            )
            .await
        }
        FeedType::Ghsa => {
            let location = context.client.policy().admit(&base).await?;
            archive(
                context,
                FeedType::Ghsa,
                location,
                &source.ecosystems,
                cursor,
                None,
            )
            .await
        }
        FeedType::Kev | FeedType::Epss | FeedType::ExploitDb => {
            snapshot(context, source_type, &base, cursor).await
        }
    }
}

// ---------------------------------------------------------------------------------------
// NVD API 2.0

/// NVD's published rate limit, enforced on our side: at most `limit` requests in any
/// `window`.
struct RateLimiter {
    limit: usize,
    window: Duration,
    sent: VecDeque<Instant>,
}

impl RateLimiter {
    async fn acquire(&mut self) {
        loop {
            let now = Instant::now();
            while self
                .sent
                .front()
                .is_some_and(|sent| now.duration_since(*sent) >= self.window)
            {
                self.sent.pop_front();
            }
            if self.sent.len() < self.limit.max(1) {
                self.sent.push_back(now);
                return;
            }
            let oldest = *self.sent.front().expect("non-empty");
            tokio::time::sleep(self.window.saturating_sub(now.duration_since(oldest))).await;
        }
    }
}

fn nvd_timestamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3f+00:00").to_string()
}

/// The `lastModStartDate`/`lastModEndDate` windows from `cursor` to `until`, each at most
/// 120 days long.
fn nvd_windows(cursor: DateTime<Utc>, until: DateTime<Utc>) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let mut windows = Vec::new();
    let mut start = cursor;
    loop {
        let end = (start + chrono::Duration::days(NVD_MAX_WINDOW_DAYS)).min(until);
        windows.push((start, end.max(start)));
        if end >= until {
            return windows;
        }
        start = end;
    }
}

async fn nvd(
    context: &RunContext<'_>,
    base: &str,
    api_key: Option<&str>,
    cursor: Option<DateTime<Utc>>,
    started_at: DateTime<Utc>,
) -> anyhow::Result<()> {
    let Location::Remote(url) = context.client.policy().admit(base).await? else {
        bail!("the NVD source needs an http(s) URL");
    };
    let settings = &context.settings.nvd;
    let mut limiter = RateLimiter {
        limit: if api_key.is_some() {
            settings.requests_per_window_with_key
        } else {
            settings.requests_per_window
        } as usize,
        window: settings.rate_window,
        sent: VecDeque::new(),
    };
    let windows: Vec<Option<(DateTime<Utc>, DateTime<Utc>)>> = match cursor {
        Some(cursor) => nvd_windows(cursor, started_at)
            .into_iter()
            .map(Some)
            .collect(),
        None => vec![None],
    };
    let window_count = windows.len();
    for (position, window) in windows.into_iter().enumerate() {
        let mut start_index: u64 = 0;
        loop {
            let mut request_url = url.clone();
            {
                let mut query = request_url.query_pairs_mut();
                if let Some((from, to)) = window {
                    query.append_pair("lastModStartDate", &nvd_timestamp(from));
                    query.append_pair("lastModEndDate", &nvd_timestamp(to));
                }
                query.append_pair("resultsPerPage", &settings.results_per_page.to_string());
                query.append_pair("startIndex", &start_index.to_string());
            }
            let body = nvd_request(context, &mut limiter, request_url, api_key).await?;
            let page = tokio::task::spawn_blocking(move || parse_nvd_page(&body))
                .await?
                .context("NVD answered with something that is not a CVE API 2.0 page")?;
            context.progress.add_skipped(page.advisories.skipped.len());
            for batch in page
                .advisories
                .records
                .chunks(context.settings.batch_size.max(1))
            {
                context.ingest_advisories("nvd", batch).await?;
            }
            let next = page.next_start_index();
            let done = next.map_or(page.total_results, |n| n);
            let scope = match window {
                Some((from, to)) => format!(
                    "NVD window {}/{} ({} to {})",
                    position + 1,
                    window_count,
                    from.format("%Y-%m-%d"),
                    to.format("%Y-%m-%d")
                ),
                None => "NVD full load".to_string(),
            };
            context
                .progress
                .set_message(format!("{scope}: {done} of {} CVEs", page.total_results));
            match next {
                Some(next) => start_index = next,
                None => break,
            }
        }
    }
    Ok(())
}

/// One NVD request, rate-limited, retried on 403/429/5xx and transport errors with
/// exponential backoff (or the server's `Retry-After`, whichever is longer, bounded).
async fn nvd_request(
    context: &RunContext<'_>,
    limiter: &mut RateLimiter,
    url: Url,
    api_key: Option<&str>,
) -> anyhow::Result<Vec<u8>> {
    let settings = &context.settings.nvd;
    let mut attempt: u32 = 0;
    loop {
        limiter.acquire().await;
        let mut request = context.client.get(url.clone());
        if let Some(key) = api_key {
            let mut value =
                HeaderValue::from_str(key).context("API key is not a valid header value")?;
            value.set_sensitive(true);
            request = request.header("apiKey", value);
        }
        let outcome = request.send().await;
        let (reason, retry_after) = match outcome {
            Ok(response) if response.status().is_success() => {
                return context.client.read_body(response).await;
            }
            Ok(response) => {
                let status = response.status();
                let retryable = status == StatusCode::FORBIDDEN
                    || status == StatusCode::TOO_MANY_REQUESTS
                    || status.is_server_error();
                if !retryable {
                    bail!("NVD answered {status}");
                }
                let retry_after = response
                    .headers()
                    .get(RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(Duration::from_secs);
                (format!("NVD answered {status}"), retry_after)
            }
            Err(error) => (
                format!("request to NVD failed: {}", error.without_url()),
                None,
            ),
        };
        if attempt >= settings.max_retries {
            bail!("{reason} (gave up after {} retries)", settings.max_retries);
        }
        let backoff = settings
            .retry_base_delay
            .saturating_mul(2u32.saturating_pow(attempt))
            .min(settings.max_retry_delay);
        let delay = retry_after
            .map_or(backoff, |r| r.max(backoff))
            .min(settings.max_retry_delay);
        tracing::warn!(%reason, attempt = attempt + 1, delay_ms = delay.as_millis() as u64, "retrying NVD request");
        context
            .progress
            .set_message(format!("{reason}; retry {} in {delay:?}", attempt + 1));
        tokio::time::sleep(delay).await;
        attempt += 1;
    }
}

// ---------------------------------------------------------------------------------------
// OSV and GHSA archives

/// An OSV source: osv.dev's bucket, or another Rampart's `/api/v1/kb/export` (same layout),
/// which needs the source's API key as a bearer token.
async fn osv(
    context: &RunContext<'_>,
    base: &str,
    ecosystems: &[String],
    cursor: Option<DateTime<Utc>>,
    api_key: Option<&str>,
) -> anyhow::Result<()> {
    let location = context.client.policy().admit(base).await?;
    let bucket = match &location {
        // A single archive or a local tree holds every ecosystem: filter by the list.
        Location::Local(_) => None,
        Location::Remote(url) if url.path().ends_with(".zip") => None,
        Location::Remote(url) => Some(url.clone()),
    };
    let Some(bucket) = bucket else {
        return archive(
            context,
            FeedType::Osv,
            location,
            ecosystems,
            cursor,
            api_key,
        )
        .await;
    };
    if ecosystems.is_empty() {
        bail!("an OSV bucket source needs at least one ecosystem");
    }
    for (position, ecosystem) in ecosystems.iter().enumerate() {
        let mut url = bucket.clone();
        url.path_segments_mut()
            .map_err(|()| anyhow!("OSV base URL cannot have a path"))?
            .pop_if_empty()
            .push(ecosystem)
            .push("all.zip");
        context.progress.set_message(format!(
            "OSV {ecosystem} ({}/{}): downloading",
            position + 1,
            ecosystems.len()
        ));
        archive(
            context,
            FeedType::Osv,
            Location::Remote(url),
            &[],
            cursor,
            api_key,
        )
        .await?;
    }
    Ok(())
}

/// Parsed advisories from an archive reader, with what it did not pass on.
struct ArchivePart {
    advisories: Vec<Advisory>,
    /// CVE JSON 5 records found among the OSV files (a `cvelistV5` tree or zip).
    cve_records: Vec<CveRecord>,
    /// Older than the cursor: already in the knowledge base.
    unchanged: usize,
    /// Unparseable records.
    skipped: usize,
}

type ArchiveBatch = anyhow::Result<ArchivePart>;

/// Reads OSV records (JSON, or YAML in local trees) from a zip or a directory and ingests
/// them batch by batch. Parsing runs on a blocking thread, ingest on this task. `api_key`,
/// when given, is sent as `Authorization: Bearer` (a Rampart export needs it).
async fn archive(
    context: &RunContext<'_>,
    feed: FeedType,
    location: Location,
    ecosystems: &[String],
    cursor: Option<DateTime<Utc>>,
    api_key: Option<&str>,
) -> anyhow::Result<()> {
    enum Input {
        Zip(std::fs::File),
        Directory(PathBuf),
    }
    let (input, label) = match location {
        Location::Remote(url) => {
            let mut request = context.client.get(url.clone());
            if let Some(key) = api_key {
                let value = HeaderValue::from_str(&format!("Bearer {key}"))
                    .context("API key is not a valid header value")?;
                request = request.header(AUTHORIZATION, value);
            }
            let response = request.send().await?;
            let status = response.status();
            if !status.is_success() {
                bail!("{} answered {status}", url.as_str());
            }
            let file = context.client.download(response).await?;
            (Input::Zip(file), url.to_string())
        }
        Location::Local(path) if path.is_dir() => {
            (Input::Directory(path.clone()), path.display().to_string())
        }
        Location::Local(path) => {
            let file = std::fs::File::open(&path)
                .with_context(|| format!("cannot open {}", path.display()))?;
            (Input::Zip(file), path.display().to_string())
        }
    };
    let batch_size = context.settings.batch_size.max(1);
    let wanted: Vec<String> = ecosystems.iter().map(|e| e.to_lowercase()).collect();
    let (sender, mut receiver) = mpsc::channel::<ArchiveBatch>(2);
    let label_of_reader = label.clone();
    let reader = tokio::task::spawn_blocking(move || {
        let mut emitter = BatchEmitter {
            sender,
            batch: Vec::new(),
            cve_records: Vec::new(),
            skipped: 0,
            batch_size,
            wanted,
            cursor,
            older: 0,
        };
        let result = match input {
            Input::Zip(file) => read_zip(file, feed, &label_of_reader, &mut emitter),
            Input::Directory(path) => read_tree(&path, feed, &mut emitter),
        };
        match result {
            Ok(()) => {
                emitter.flush();
            }
            Err(error) => {
                let _ = emitter.sender.blocking_send(Err(error));
            }
        }
    });
    while let Some(batch) = receiver.recv().await {
        let part = batch?;
        context.progress.add_unchanged(part.unchanged);
        context.progress.add_skipped(part.skipped);
        if !part.advisories.is_empty() {
            context
                .ingest_advisories(feed.kb_source(), &part.advisories)
                .await?;
        }
        if !part.cve_records.is_empty() {
            context.progress.ensure_lease()?;
            let stats = context.store.ingest_cve_records(&part.cve_records).await?;
            context.progress.add(stats);
        }
        context
            .progress
            .set_message(format!("{label}: {} records", context.progress.processed()));
    }
    reader.await?;
    Ok(())
}

struct BatchEmitter {
    sender: mpsc::Sender<ArchiveBatch>,
    batch: Vec<Advisory>,
    cve_records: Vec<CveRecord>,
    skipped: usize,
    batch_size: usize,
    /// Lower-cased ecosystems to keep; empty keeps all.
    wanted: Vec<String>,
    cursor: Option<DateTime<Utc>>,
    /// Records older than the cursor (or of other ecosystems) in the current batch.
    older: usize,
}

impl BatchEmitter {
    fn take(&mut self, report: ParseReport<Advisory>) {
        self.skipped += report.skipped.len();
        for advisory in report.records {
            if !self.wanted.is_empty() && !self.is_wanted(&advisory) {
                continue;
            }
            if self.cursor.is_some_and(|cursor| advisory.modified < cursor) {
                self.older += 1;
                continue;
            }
            self.batch.push(advisory);
        }
    }

    fn is_wanted(&self, advisory: &Advisory) -> bool {
        advisory.affected.iter().any(|affected| {
            affected.package.as_ref().is_some_and(|package| {
                // `Debian:12` belongs to `Debian`.
                let ecosystem = package.ecosystem.to_lowercase();
                let family = ecosystem.split(':').next().unwrap_or_default();
                self.wanted.iter().any(|w| *w == ecosystem || w == family)
            })
        })
    }

    /// Sends a full batch; `false` when the receiving run has gone away.
    fn maybe_send(&mut self) -> bool {
        if self.batch.len() + self.cve_records.len() + self.older + self.skipped >= self.batch_size
        {
            return self.flush();
        }
        true
    }

    fn flush(&mut self) -> bool {
        let part = ArchivePart {
            advisories: std::mem::take(&mut self.batch),
            cve_records: std::mem::take(&mut self.cve_records),
            unchanged: std::mem::take(&mut self.older),
            skipped: std::mem::take(&mut self.skipped),
        };
        if part.advisories.is_empty()
            && part.cve_records.is_empty()
            && part.unchanged == 0
            && part.skipped == 0
        {
            return true;
        }
        self.sender.blocking_send(Ok(part)).is_ok()
    }
}

impl BatchEmitter {
    /// Parses one document into the batch; `false` when the receiving run has gone away.
    fn document(&mut self, feed: FeedType, document: &Document) -> bool {
        match feeds::parse_document(feed, document) {
            Ok(FeedContent::Advisories(report)) => self.take(report),
            Ok(FeedContent::CveRecords(report)) => {
                self.skipped += report.skipped.len();
                for record in report.records {
                    let older = self
                        .cursor
                        .zip(record.date_updated)
                        .is_some_and(|(cursor, updated)| updated < cursor);
                    if older {
                        self.older += 1;
                    } else {
                        self.cve_records.push(record);
                    }
                }
            }
            Ok(_) => unreachable!("archive feeds hold advisories"),
            Err(error) => self.unreadable(&format!("{}: {error}", document.name)),
        }
        self.maybe_send()
    }

    /// A document or entry that cannot be read: counted as skipped, its reason logged.
    fn unreadable(&mut self, reason: &str) {
        tracing::warn!(reason, "skipped a feed document");
        self.skipped += 1;
    }
}

fn read_zip(
    file: std::fs::File,
    feed: FeedType,
    archive_name: &str,
    emitter: &mut BatchEmitter,
) -> anyhow::Result<()> {
    let mut zip = BoundedZip::new(file)?;
    for entry in feeds::zip_entries(&mut zip, feed, archive_name) {
        let going_on = match entry? {
            Entry::Document(document) => emitter.document(feed, &document),
            Entry::Unreadable(reason) => {
                emitter.unreadable(&reason);
                true
            }
            Entry::NotOfTheFeed => true,
        };
        if !going_on {
            return Ok(());
        }
    }
    Ok(())
}

fn read_tree(root: &Path, feed: FeedType, emitter: &mut BatchEmitter) -> anyhow::Result<()> {
    for path in feeds::tree_files(root, feed)? {
        let name = path.to_string_lossy().to_string();
        let bytes = std::fs::read(&path).with_context(|| format!("cannot read {name}"))?;
        if !emitter.document(feed, &Document { name, bytes }) {
            return Ok(());
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Whole-file snapshots: KEV, EPSS, ExploitDB

async fn snapshot(
    context: &RunContext<'_>,
    source_type: FeedType,
    base: &str,
    cursor: Option<DateTime<Utc>>,
) -> anyhow::Result<()> {
    let location = context.client.policy().admit(base).await?;
    let body = match location {
        Location::Local(path) => tokio::fs::read(&path)
            .await
            .with_context(|| format!("cannot read {}", path.display()))?,
        Location::Remote(url) => {
            let mut request = context.client.get(url.clone());
            if let Some(cursor) = cursor {
                let since = cursor.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
                request = request.header(IF_MODIFIED_SINCE, since);
            }
            let response = request.send().await?;
            let status = response.status();
            if status == StatusCode::NOT_MODIFIED {
                context
                    .progress
                    .set_message(format!("{}: not modified since the last run", url.as_str()));
                return Ok(());
            }
            if !status.is_success() {
                bail!("{} answered {status}", url.as_str());
            }
            context.client.read_body(response).await?
        }
    };
    let batch_size = context.settings.batch_size.max(1);
    let label = source_type.as_str();
    let document = Document {
        name: base.to_string(),
        bytes: body,
    };
    let content =
        tokio::task::spawn_blocking(move || feeds::parse_document(source_type, &document))
            .await??;
    match content {
        FeedContent::Kev(entries) => {
            context.progress.add_skipped(entries.skipped.len());
            for batch in entries.records.chunks(batch_size) {
                context.progress.ensure_lease()?;
                context.progress.add(context.store.ingest_kev(batch).await?);
                context.progress.set_message(format!(
                    "{label}: {} of {} entries",
                    context.progress.processed(),
                    entries.records.len()
                ));
            }
        }
        FeedContent::Epss(file) => {
            context.progress.add_skipped(file.scores.skipped.len());
            let total = file.scores.records.len();
            for batch in file.scores.records.chunks(batch_size) {
                context.progress.ensure_lease()?;
                let part = EpssFile {
                    model_version: file.model_version.clone(),
                    score_date: file.score_date,
                    scores: ParseReport {
                        records: batch.to_vec(),
                        ..ParseReport::default()
                    },
                };
                context
                    .progress
                    .add(context.store.ingest_epss(&part).await?);
                context.progress.set_message(format!(
                    "{label}: {} of {total} scores",
                    context.progress.processed()
                ));
            }
        }
        FeedContent::Exploits(report) => {
            context.progress.add_skipped(report.skipped.len());
            for batch in report.records.chunks(batch_size) {
                context.progress.ensure_lease()?;
                context
                    .progress
                    .add(context.store.ingest_exploits(batch).await?);
                context.progress.set_message(format!(
                    "{label}: {} of {} exploits",
                    context.progress.processed(),
                    report.records.len()
                ));
            }
        }
        FeedContent::Advisories(_) | FeedContent::CveRecords(_) => {
            bail!("{label} is not a snapshot feed")
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nvd_windows_are_at_most_120_days_and_cover_the_range() {
        let from: DateTime<Utc> = "2024-01-01T00:00:00Z".parse().unwrap();
        let until: DateTime<Utc> = "2024-12-31T12:00:00Z".parse().unwrap();
        let windows = nvd_windows(from, until);
        assert_eq!(windows.first().unwrap().0, from);
        assert_eq!(windows.last().unwrap().1, until);
        for pair in windows.windows(2) {
            assert_eq!(pair[0].1, pair[1].0, "contiguous");
        }
        for (start, end) in &windows {
            assert!(*end - *start <= chrono::Duration::days(120));
        }
        assert_eq!(windows.len(), 4);
        // A cursor seconds old is one short window.
        assert_eq!(nvd_windows(until, until).len(), 1);
        assert_eq!(nvd_timestamp(from), "2024-01-01T00:00:00.000+00:00");
    }
}
