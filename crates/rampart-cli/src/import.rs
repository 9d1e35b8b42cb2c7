//! `rampart import --type osv|nvd|ghsa|kev|epss|exploitdb PATH_OR_URL...`: air-gapped loading
//! of advisory feeds into the knowledge base, through the same parsers and ingest API as sync.
//!
//! PATH is a file, a directory tree (every `.json`/`.yaml`/`.yml`/`.csv`/`.gz` file in it) or a
//! `.zip` archive (e.g. OSV's `{ecosystem}/all.zip`); URL is fetched over http(s). Several are
//! read in the order given, in one stream of batches. A malformed record or document is
//! skipped, counted and reported, never fatal; an input that yields nothing at all (every
//! record skipped, no document of the feed), a missing path, an archive that is no zip or one
//! with an entry past the archive entry limit (64 MiB) is bad input: exit 2, saying what and where.

use std::fmt;
use std::io::{Cursor, Read, Seek};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rampart_engine::feeds::{self, BoundedZip, Document, Entry, FeedContent, FeedType};
use rampart_formats::advisory::{
    Advisory, EpssFile, ExploitRecord, FormatError, KevEntry, ParseReport, SkippedRecord,
};
use rampart_store::{DatabaseLocation, IngestStats, PreparedAdvisory, Store};

use crate::config::DatabaseArgs;

/// A problem with what the user gave `rampart import` (exit 2), as opposed to a failure of the
/// database or the machine (exit 1).
#[derive(Debug)]
pub struct BadInput(pub String);

impl fmt::Display for BadInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadInput {}

fn bad_input(message: String) -> anyhow::Error {
    anyhow::Error::new(BadInput(message))
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// The feed's format: osv (OSV JSON or YAML records: a file, a tree or a zip such as
    /// `all.zip`), nvd (NVD CVE API 2.0 responses, or one vulnerability item per file), ghsa
    /// (the GitHub Advisory Database in OSV format), kev (CISA KEV catalog, JSON or CSV), epss
    /// (FIRST EPSS scores CSV, plain or gzip), exploitdb (Exploit Database
    /// `files_exploits.csv`).
    #[arg(
        long = "type",
        value_parser = PossibleValuesParser::new(["osv", "nvd", "ghsa", "kev", "epss", "exploitdb"])
            .map(|name| FeedType::parse(&name).expect("every listed name is a feed"))
    )]
    pub feed: FeedType,
    /// Files, directory trees, .zip archives or http(s) URLs, read in this order.
    #[arg(required = true, value_name = "PATH_OR_URL")]
    pub sources: Vec<String>,
    /// Records per transaction.
    #[arg(long, default_value_t = 1000)]
    pub batch_size: usize,
    /// Hide the progress bar (the summary line is still printed).
    #[arg(long)]
    pub quiet: bool,
    /// Read and parse everything but write nothing (no database is opened): the parse-only
    /// time that ingest benchmarks compare against.
    #[arg(long)]
    pub parse_only: bool,
}

/// Documents parsed together (split over the cores) while the previous ones are taken: at
/// most this many, or as many as make this many bytes.
const CHUNK_DOCUMENTS: usize = 512;
const CHUNK_BYTES: usize = 16 * 1024 * 1024;

/// Parses a chunk of documents on `threads` threads, in their order (advisories are prepared
/// for writing too when `writing`).
fn parse_chunk(
    feed: FeedType,
    documents: Vec<Document>,
    threads: usize,
    writing: bool,
) -> Vec<ParsedDocument> {
    let per_thread = documents.len().div_ceil(threads).max(1);
    let mut documents = documents.into_iter();
    let parts: Vec<Vec<Document>> = std::iter::from_fn(|| {
        let part: Vec<Document> = documents.by_ref().take(per_thread).collect();
        (!part.is_empty()).then_some(part)
    })
    .collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = parts
            .into_iter()
            .map(|part| {
                scope.spawn(move || {
                    part.into_iter()
                        .map(|document| parse_document(feed, document, writing))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}

/// What one document held.
enum Parsed {
    /// Prepared for writing where they were parsed, off the writer's path.
    Advisories(ParseReport<PreparedAdvisory<'static>>),
    /// With `--parse-only`: parsed, not prepared.
    UnpreparedAdvisories(ParseReport<Advisory>),
    Kev(ParseReport<KevEntry>),
    /// CVE JSON 5 records in an OSV/GHSA tree (written as they come: a few per document).
    CveRecords(ParseReport<rampart_formats::advisory::CveRecord>),
    Epss(EpssFile),
    Exploits(ParseReport<ExploitRecord>),
}

struct ParsedDocument {
    name: String,
    content: Result<Parsed, FormatError>,
}

/// Parses one document of `feed` (pure: runs on a blocking thread).
fn parse_document(feed: FeedType, document: Document, writing: bool) -> ParsedDocument {
    let content = feeds::parse_document(feed, &document).map(|content| match content {
        FeedContent::Advisories(report) if writing => Parsed::Advisories(prepare(report)),
        FeedContent::Advisories(report) => Parsed::UnpreparedAdvisories(report),
        FeedContent::Kev(report) => Parsed::Kev(report),
        FeedContent::CveRecords(report) => Parsed::CveRecords(report),
        FeedContent::Epss(file) => Parsed::Epss(file),
        FeedContent::Exploits(report) => Parsed::Exploits(report),
    });
    ParsedDocument {
        name: document.name,
        content,
    }
}

/// Prepares parsed advisories for writing; one that cannot be is skipped with its reason.
fn prepare(report: ParseReport<Advisory>) -> ParseReport<PreparedAdvisory<'static>> {
    let ParseReport {
        records,
        mut skipped,
        warnings,
    } = report;
    let mut prepared = Vec::with_capacity(records.len());
    for (index, advisory) in records.into_iter().enumerate() {
        match PreparedAdvisory::new(advisory) {
            Ok(advisory) => prepared.push(advisory),
            // The reason names the record's id.
            Err(error) => skipped.push(SkippedRecord {
                index,
                id: None,
                reason: error.to_string(),
            }),
        }
    }
    ParseReport {
        records: prepared,
        skipped,
        warnings,
    }
}

/// Collects parsed records and writes them in batches.
struct Importer<'a> {
    /// `None` with `--parse-only`.
    store: Option<&'a Store>,
    /// Records parsed (what `--parse-only` reports).
    parsed: u64,
    feed: FeedType,
    batch_size: usize,
    advisories: Vec<PreparedAdvisory<'static>>,
    kev: Vec<KevEntry>,
    exploits: Vec<ExploitRecord>,
    stats: IngestStats,
    /// The advisory batch being written while the next documents are parsed (one at a time,
    /// so batches commit in order and memory stays at two batches).
    writing: Option<tokio::task::JoinHandle<Result<IngestStats, rampart_store::StoreError>>>,
    /// Reasons of skipped records and documents, as printed.
    reported_skips: usize,
    progress: ProgressBar,
}

/// Skip reasons printed before the rest are only counted.
const MAX_REPORTED_SKIPS: usize = 20;

impl<'a> Importer<'a> {
    fn skip(&mut self, what: String) {
        self.stats.skipped += 1;
        if self.reported_skips < MAX_REPORTED_SKIPS {
            self.progress.suspend(|| eprintln!("skipped: {what}"));
        } else if self.reported_skips == MAX_REPORTED_SKIPS {
            self.progress
                .suspend(|| eprintln!("skipped: … (further skips are only counted)"));
        }
        self.reported_skips += 1;
    }

    fn skip_records(&mut self, document: &str, skipped: Vec<SkippedRecord>) {
        for record in skipped {
            let id = record.id.as_deref().unwrap_or("?");
            self.skip(format!(
                "{document}: record {} ({id}): {}",
                record.index, record.reason
            ));
        }
    }

    /// Takes one parsed document: counts and reports its skips, queues its records, writes
    /// full batches.
    async fn document(&mut self, document: ParsedDocument) -> anyhow::Result<()> {
        let name = document.name;
        match document.content {
            Err(error) => self.skip(format!("{name}: unreadable document: {error}")),
            Ok(Parsed::Advisories(report)) => {
                self.skip_records(&name, report.skipped);
                self.advisories.extend(report.records);
            }
            Ok(Parsed::UnpreparedAdvisories(report)) => {
                self.skip_records(&name, report.skipped);
                self.parsed += report.records.len() as u64;
            }
            Ok(Parsed::Kev(report)) => {
                self.skip_records(&name, report.skipped);
                self.kev.extend(report.records);
            }
            Ok(Parsed::Exploits(report)) => {
                self.skip_records(&name, report.skipped);
                self.exploits.extend(report.records);
            }
            Ok(Parsed::CveRecords(report)) => {
                self.skip_records(&name, report.skipped);
                self.parsed += report.records.len() as u64;
                if let Some(store) = self.store {
                    self.stats
                        .absorb(store.ingest_cve_records(&report.records).await?);
                }
            }
            Ok(Parsed::Epss(mut file)) => {
                let skipped = std::mem::take(&mut file.scores.skipped);
                self.skip_records(&name, skipped);
                self.parsed += file.scores.records.len() as u64;
                if let Some(store) = self.store {
                    // One file = one score date: its scores are written together.
                    for chunk in file.scores.records.chunks(self.batch_size.max(1)) {
                        let part = rampart_formats::advisory::EpssFile {
                            model_version: file.model_version.clone(),
                            score_date: file.score_date,
                            scores: rampart_formats::advisory::ParseReport {
                                records: chunk.to_vec(),
                                ..Default::default()
                            },
                        };
                        self.stats.absorb(store.ingest_epss(&part).await?);
                    }
                }
            }
        }
        self.progress.inc(1);
        self.flush(false).await
    }

    /// Parses documents in chunks on blocking threads (each chunk split over the cores), one
    /// chunk ahead of the one being taken, and takes them in their order (so batches, and
    /// what a rerun writes, do not depend on timing).
    async fn documents(
        &mut self,
        inputs: impl Iterator<Item = anyhow::Result<Entry>>,
    ) -> anyhow::Result<()> {
        let mut inputs = inputs.peekable();
        let mut parsing: Option<tokio::task::JoinHandle<Vec<ParsedDocument>>> = None;
        loop {
            let mut chunk = Vec::new();
            let mut chunk_bytes = 0;
            while chunk.len() < CHUNK_DOCUMENTS && chunk_bytes < CHUNK_BYTES {
                let Some(input) = inputs.next() else { break };
                match input? {
                    Entry::Document(document) => {
                        chunk_bytes += document.bytes.len();
                        chunk.push(document);
                    }
                    Entry::Unreadable(reason) => self.skip(reason),
                    Entry::NotOfTheFeed => self.progress.inc(1),
                }
            }
            let next = if chunk.is_empty() {
                None
            } else {
                let feed = self.feed;
                // A batch being written takes a core of its own (its statements and the
                // database's work); parsing gets the others, and every core before the
                // first batch is full.
                let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
                let threads = if self.writing.is_some() {
                    cores.saturating_sub(1).max(1)
                } else {
                    cores
                };
                let writing = self.store.is_some();
                Some(tokio::task::spawn_blocking(move || {
                    parse_chunk(feed, chunk, threads, writing)
                }))
            };
            let done = next.is_none() && inputs.peek().is_none();
            if let Some(previous) = std::mem::replace(&mut parsing, next) {
                for document in previous.await.context("a parsing task failed")? {
                    self.document(document).await?;
                }
            }
            if done && parsing.is_none() {
                return Ok(());
            }
        }
    }

    /// Waits for the batch being written, if any, and counts what it did.
    async fn finish_writing(&mut self) -> anyhow::Result<()> {
        if let Some(writing) = self.writing.take() {
            let stats = writing.await.context("the writing task failed")??;
            self.stats.absorb(stats);
        }
        Ok(())
    }

    /// Writes what is pending once a batch is full (or everything when `all`).
    async fn flush(&mut self, all: bool) -> anyhow::Result<()> {
        let size = self.batch_size.max(1);
        let Some(store) = self.store else {
            self.parsed += (self.advisories.len() + self.kev.len() + self.exploits.len()) as u64;
            self.advisories.clear();
            self.kev.clear();
            self.exploits.clear();
            self.progress
                .set_message(format!("{} records parsed", self.parsed));
            return Ok(());
        };
        while self.advisories.len() >= size || (all && !self.advisories.is_empty()) {
            let take = self.advisories.len().min(size);
            let batch: Vec<PreparedAdvisory<'static>> = self.advisories.drain(..take).collect();
            self.finish_writing().await?;
            let store = store.clone();
            let source = self.feed.kb_source();
            self.writing = Some(tokio::spawn(async move {
                store.ingest_prepared(source, &batch).await
            }));
        }
        if all {
            self.finish_writing().await?;
        }
        while self.kev.len() >= size || (all && !self.kev.is_empty()) {
            let take = self.kev.len().min(size);
            let batch: Vec<KevEntry> = self.kev.drain(..take).collect();
            self.stats.absorb(store.ingest_kev(&batch).await?);
        }
        while self.exploits.len() >= size || (all && !self.exploits.is_empty()) {
            let take = self.exploits.len().min(size);
            let batch: Vec<ExploitRecord> = self.exploits.drain(..take).collect();
            self.stats.absorb(store.ingest_exploits(&batch).await?);
        }
        let stats = self.stats;
        self.progress.set_message(format!(
            "{} added, {} updated, {} unchanged, {} skipped",
            stats.added, stats.updated, stats.unchanged, stats.skipped
        ));
        Ok(())
    }
}

pub async fn run(args: ImportArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    // Every path is checked before anything is written, so that a typo in the last one does
    // not leave the first ones imported.
    for source in &args.sources {
        if !is_url(source) && !local_path(source).exists() {
            return Err(bad_input(format!("{source}: no such file or directory")));
        }
    }
    let location = if args.parse_only {
        None
    } else {
        Some(args.database.into_location()?)
    };
    let store = if let Some(location) = &location {
        let store = Store::connect(location)
            .await
            .context("cannot open the database")?;
        store
            .migrate()
            .await
            .context("cannot migrate the database")?;
        Some(store)
    } else {
        None
    };

    let progress = if args.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
    };
    progress.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed}] {pos}/{len} documents  {msg}")
            .expect("valid template"),
    );
    let mut importer = Importer {
        store: store.as_ref(),
        parsed: 0,
        feed: args.feed,
        batch_size: args.batch_size,
        advisories: Vec::new(),
        kev: Vec::new(),
        exploits: Vec::new(),
        stats: IngestStats::default(),
        writing: None,
        reported_skips: 0,
        progress,
    };

    for source in &args.sources {
        import_source(&mut importer, args.feed, source).await?;
    }
    importer.flush(true).await?;
    importer.progress.finish_and_clear();
    let stats = importer.stats;
    let source = args.sources.join(", ");
    if store.is_none() {
        println!(
            "parsed {} from {}: {} records, {} skipped in {:.1}s (nothing written)",
            args.feed.kb_source(),
            source,
            importer.parsed,
            stats.skipped,
            started.elapsed().as_secs_f64()
        );
        return nothing_read(importer.parsed, stats.skipped, args.feed, &source);
    }
    println!(
        "imported {} from {}: {} records: {} added, {} updated, {} unchanged, {} skipped in {:.1}s",
        args.feed.kb_source(),
        source,
        stats.total(),
        stats.added,
        stats.updated,
        stats.unchanged,
        stats.skipped,
        started.elapsed().as_secs_f64()
    );
    if let Some(store) = store {
        // `rampart scan` against this directory reads the index instead of the database.
        if let Some(DatabaseLocation::SqliteDir(dir)) = &location {
            if let Err(error) = store.write_scan_index(dir).await {
                eprintln!(
                    "warning: cannot write the scan index (scans read the database): {error}"
                );
            }
        }
        store.close().await;
    }
    nothing_read(
        stats.added + stats.updated + stats.unchanged,
        stats.skipped,
        args.feed,
        &source,
    )
}

/// An import that read no record at all was given the wrong files (or the wrong `--type`):
/// bad input, not a success.
fn nothing_read(read: u64, skipped: u64, feed: FeedType, source: &str) -> anyhow::Result<()> {
    match (read, skipped) {
        (0, 0) => Err(bad_input(format!(
            "{source}: no {} record found (is --type right?)",
            feed.kb_source()
        ))),
        (0, skipped) => Err(bad_input(format!(
            "{source}: nothing imported, all {skipped} records or documents were skipped (reasons above)"
        ))),
        _ => Ok(()),
    }
}

/// Reads one PATH_OR_URL into the importer's batches.
async fn import_source(
    importer: &mut Importer<'_>,
    feed: FeedType,
    source: &str,
) -> anyhow::Result<()> {
    if is_url(source) {
        let bytes = download(source).await?;
        let name = source.rsplit('/').next().unwrap_or(source).to_string();
        import_file(importer, name, bytes).await?;
    } else {
        let path = local_path(source);
        if path.is_dir() {
            let files = feeds::tree_files(&path, feed)?;
            importer.progress.inc_length(files.len() as u64);
            let inputs = files.into_iter().map(|file| {
                let bytes = std::fs::read(&file)
                    .map_err(|e| bad_input(format!("cannot read {}: {e}", file.display())))?;
                let name = file.display().to_string();
                Ok(Entry::Document(Document { name, bytes }))
            });
            importer.documents(inputs).await?;
        } else if path.is_file() {
            let bytes = std::fs::read(&path)
                .map_err(|e| bad_input(format!("cannot read {}: {e}", path.display())))?;
            import_file(importer, path.display().to_string(), bytes).await?;
        } else {
            return Err(bad_input(format!("{source}: no such file or directory")));
        }
    }
    Ok(())
}

/// One file or download: a zip archive's documents, or the file as one document.
async fn import_file(
    importer: &mut Importer<'_>,
    name: String,
    bytes: Vec<u8>,
) -> anyhow::Result<()> {
    if feeds::is_zip(&name, &bytes) {
        return import_zip(importer, &name, Cursor::new(bytes)).await;
    }
    importer.progress.inc_length(1);
    importer
        .documents(std::iter::once(Ok(Entry::Document(Document {
            name,
            bytes,
        }))))
        .await
}

fn is_url(source: &str) -> bool {
    source.starts_with("http://") || source.starts_with("https://")
}

fn local_path(source: &str) -> PathBuf {
    PathBuf::from(source.strip_prefix("file://").unwrap_or(source))
}

/// The documents of a zip archive, each read through the bounded reader sync runs use: a
/// damaged entry is skipped, an entry past the size limit refuses the whole archive.
async fn import_zip(
    importer: &mut Importer<'_>,
    archive_name: &str,
    reader: impl Read + Seek,
) -> anyhow::Result<()> {
    let refused = |error| bad_input(format!("{archive_name}: {error}"));
    let mut archive = BoundedZip::new(reader).map_err(refused)?;
    importer.progress.inc_length(archive.len() as u64);
    let inputs = feeds::zip_entries(&mut archive, importer.feed, archive_name)
        .map(|entry| entry.map_err(refused));
    importer.documents(inputs).await
}

async fn download(url: &str) -> anyhow::Result<Vec<u8>> {
    let response = reqwest::Client::new()
        .get(url)
        .send()
        .await
        .with_context(|| format!("cannot fetch {url}"))?;
    let status = response.status();
    if !status.is_success() {
        return Err(bad_input(format!("{url} answered {status}")));
    }
    Ok(response
        .bytes()
        .await
        .with_context(|| format!("cannot read {url}"))?
        .to_vec())
}
