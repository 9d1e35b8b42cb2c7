//! The knowledge base in OSV's own layout, so that another Rampart (an air-gapped one) or any
//! OSV tool can mirror this one: an archive like osv.dev's `{ecosystem}/all.zip` (one
//! `<id>.json` OSV record per entry) or a directory tree of the same files.
//!
//! The records are those of the OSV-format feeds (OSV, GHSA), written by the same OSV writer
//! that `/v1/vulns/{id}` uses: what a feed gave is what the export gives back (aliases, ranges,
//! severity, `database_specific`), so importing the archive elsewhere (`rampart import --type
//! osv`, or an `OSV` sync source pointed at `/api/v1/kb/export`) rebuilds the same knowledge
//! base. NVD's CVE records stay out: OSV has no place for their CPE configurations.
//!
//! The archive is written as it is read, page by page: [`OsvZip`] hands out each finished
//! entry's bytes at once (the zip crate only seeks back inside the entry it is writing), so a
//! download streams and nothing holds the whole archive.

use std::io::{self, Seek, SeekFrom, Write};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use chrono::{DateTime, Datelike, Timelike, Utc};
use rampart_core::Scope;
use rampart_formats::advisory::{write_osv_json, Advisory};
use rampart_store::{ExportRow, Store, StoreError};
use serde_json::json;
use tokio::sync::mpsc;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use crate::actor::{Actor, RequestOrigin};
use crate::error::{ErrorCode, ServiceError};
use crate::Engine;

/// Records read per store query.
const PAGE_SIZE: i64 = 500;

/// What to export: every OSV record, or those of one ecosystem (and its releases).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportFilter {
    /// As asked (`PyPI`, `Debian`); matched case-insensitively.
    pub ecosystem: Option<String>,
}

impl ExportFilter {
    /// The filter for an `ecosystem` parameter: absent or empty exports everything; a name
    /// is at most 100 characters without `/`, `\` or control characters (400 naming
    /// `ecosystem` otherwise).
    pub fn parse(ecosystem: Option<&str>) -> Result<ExportFilter, ServiceError> {
        let Some(ecosystem) = ecosystem.map(str::trim).filter(|e| !e.is_empty()) else {
            return Ok(ExportFilter::default());
        };
        if ecosystem.chars().count() > 100
            || ecosystem.contains(['/', '\\'])
            || ecosystem.chars().any(char::is_control)
        {
            return Err(ServiceError::new(
                ErrorCode::BadRequest,
                format!("`ecosystem`: {ecosystem:?} is not an ecosystem name"),
            ));
        }
        Ok(ExportFilter {
            ecosystem: Some(ecosystem.to_string()),
        })
    }

    /// The download's file name: `all.zip`, or `<ecosystem>-all.zip`.
    pub fn file_name(&self) -> String {
        match &self.ecosystem {
            None => "all.zip".to_string(),
            Some(ecosystem) => {
                let safe: String = ecosystem
                    .chars()
                    .map(|c| {
                        if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                            c
                        } else {
                            '_'
                        }
                    })
                    .collect();
                format!("{safe}-all.zip")
            }
        }
    }
}

/// Checks the caller may export (`kb:export`) and records the download in the audit log
/// (`kb.export`, with the ecosystem), before a byte is sent.
pub async fn authorize_export(
    engine: &Engine,
    actor: &Actor,
    origin: &RequestOrigin,
    ecosystem: Option<&str>,
) -> Result<ExportFilter, ServiceError> {
    actor.require(Scope::KbExport)?;
    let filter = ExportFilter::parse(ecosystem)?;
    let mut event = actor
        .audit(origin, "kb.export")
        .target("knowledge_base", filter.ecosystem.as_deref().unwrap_or("*"));
    event.details = Some(json!({
        "format": "osv",
        "ecosystem": filter.ecosystem,
        "kb_version": engine.store.kb_version().await?,
    }));
    engine.store.record_audit(&event, engine.now()).await?;
    Ok(filter)
}

/// Reads the export's records page by page, in internal-id order.
pub struct ExportCursor {
    ecosystem: Option<String>,
    after: i64,
    done: bool,
}

impl ExportCursor {
    pub fn new(filter: &ExportFilter) -> ExportCursor {
        ExportCursor {
            ecosystem: filter.ecosystem.as_deref().map(str::to_lowercase),
            after: 0,
            done: false,
        }
    }

    /// The next page; `None` once every record was read.
    pub async fn next_page(&mut self, store: &Store) -> Result<Option<Vec<ExportRow>>, StoreError> {
        if self.done {
            return Ok(None);
        }
        let rows = store
            .osv_export_page(self.ecosystem.as_deref(), self.after, PAGE_SIZE)
            .await?;
        match rows.last() {
            Some(last) => self.after = last.internal_id,
            None => {
                self.done = true;
                return Ok(None);
            }
        }
        if (rows.len() as i64) < PAGE_SIZE {
            self.done = true;
        }
        Ok(Some(rows))
    }
}

/// One record as its OSV file: the entry name (`<id>.json`) and the JSON.
pub struct OsvFile {
    pub name: String,
    pub modified: DateTime<Utc>,
    pub json: Vec<u8>,
}

/// The OSV file of a stored record (pure: runs on a blocking thread).
pub fn render(row: &ExportRow) -> Result<OsvFile, StoreError> {
    let advisory: Advisory = serde_json::from_str(&row.record)
        .map_err(|e| StoreError::Corrupt(format!("vulnerability {} record: {e}", row.vuln_id)))?;
    let json = serde_json::to_vec_pretty(&write_osv_json(&advisory))
        .map_err(|e| StoreError::Corrupt(format!("writing {} as OSV: {e}", row.vuln_id)))?;
    Ok(OsvFile {
        name: file_name(&row.vuln_id),
        modified: advisory.modified,
        json,
    })
}

/// `<id>.json`, with any character a path would read as a separator replaced.
pub fn file_name(vuln_id: &str) -> String {
    let safe: String = vuln_id
        .chars()
        .map(|c| {
            if matches!(c, '/' | '\\' | ':') || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    format!("{safe}.json")
}

/// A `Write + Seek` that keeps only what the zip writer may still rewrite: the bytes since
/// the last `flush`. The zip writer flushes after finishing each entry (`set_flush_on_finish_file`)
/// and only seeks back into the entry it is writing, so everything before is final and
/// moves to `out` at once.
struct Spool {
    out: Arc<Mutex<Vec<u8>>>,
    /// Bytes already moved to `out`.
    flushed: u64,
    /// Bytes from `flushed` on.
    pending: Vec<u8>,
    position: u64,
}

impl Write for Spool {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let offset = usize::try_from(self.position - self.flushed).map_err(io::Error::other)?;
        if offset > self.pending.len() {
            self.pending.resize(offset, 0);
        }
        let overlap = buf.len().min(self.pending.len() - offset);
        self.pending[offset..offset + overlap].copy_from_slice(&buf[..overlap]);
        self.pending.extend_from_slice(&buf[overlap..]);
        self.position += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        let mut out = self
            .out
            .lock()
            .map_err(|_| io::Error::other("export buffer poisoned"))?;
        out.extend_from_slice(&self.pending);
        self.flushed += self.pending.len() as u64;
        self.pending.clear();
        Ok(())
    }
}

/// The zip writer asks for `Read` to offer copying entries it wrote; the export never does,
/// and what was sent cannot be read back.
impl io::Read for Spool {
    fn read(&mut self, _buf: &mut [u8]) -> io::Result<usize> {
        Err(io::Error::other(
            "the export archive cannot read back what it wrote",
        ))
    }
}

impl Seek for Spool {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let end = self.flushed + self.pending.len() as u64;
        let target = match to {
            SeekFrom::Start(at) => Some(at),
            SeekFrom::Current(delta) => self.position.checked_add_signed(delta),
            SeekFrom::End(delta) => end.checked_add_signed(delta),
        };
        match target {
            Some(target) if target >= self.flushed => {
                self.position = target;
                Ok(target)
            }
            _ => Err(io::Error::other(
                "the export archive cannot seek back into bytes already sent",
            )),
        }
    }
}

/// An OSV archive written entry by entry; [`OsvZip::take_written`] hands out the finished
/// bytes so far.
pub struct OsvZip {
    zip: ZipWriter<Spool>,
    out: Arc<Mutex<Vec<u8>>>,
}

impl Default for OsvZip {
    fn default() -> Self {
        Self::new()
    }
}

impl OsvZip {
    pub fn new() -> OsvZip {
        let out = Arc::new(Mutex::new(Vec::new()));
        let mut zip = ZipWriter::new(Spool {
            out: out.clone(),
            flushed: 0,
            pending: Vec::new(),
            position: 0,
        });
        zip.set_flush_on_finish_file(true);
        OsvZip { zip, out }
    }

    pub fn add(&mut self, file: &OsvFile) -> io::Result<()> {
        let modified = file.modified;
        let mut options =
            SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
        // Zip times start in 1980; an older or unrepresentable time keeps the default.
        if let Ok(time) = zip::DateTime::from_date_and_time(
            u16::try_from(modified.year()).unwrap_or(1980),
            modified.month() as u8,
            modified.day() as u8,
            modified.hour() as u8,
            modified.minute() as u8,
            modified.second() as u8,
        ) {
            options = options.last_modified_time(time);
        }
        self.zip.start_file(file.name.as_str(), options)?;
        self.zip.write_all(&file.json)?;
        Ok(())
    }

    /// The archive's bytes finished since the last call.
    pub fn take_written(&self) -> Vec<u8> {
        self.out
            .lock()
            .map(|mut out| std::mem::take(&mut *out))
            .unwrap_or_default()
    }

    /// Ends the archive (central directory); the remaining bytes.
    pub fn finish(self) -> io::Result<Vec<u8>> {
        let OsvZip { zip, out } = self;
        let mut spool = zip.finish()?;
        spool.flush()?;
        let mut out = out
            .lock()
            .map_err(|_| io::Error::other("export buffer poisoned"))?;
        Ok(std::mem::take(&mut *out))
    }
}

/// Renders a page into the archive (on a blocking thread); the finished bytes.
fn add_page(archive: &mut OsvZip, rows: &[ExportRow]) -> io::Result<Vec<u8>> {
    for row in rows {
        let file = render(row).map_err(io::Error::other)?;
        archive.add(&file)?;
    }
    Ok(archive.take_written())
}

/// Writes the export as a zip archive into `sender`, chunk by chunk, until every record is
/// sent or the receiver has gone (a client that disconnected). An error is sent as the last
/// item. Returns the number of records written.
pub async fn stream_osv_zip(
    store: Store,
    filter: ExportFilter,
    sender: mpsc::Sender<io::Result<Bytes>>,
) -> usize {
    let mut cursor = ExportCursor::new(&filter);
    let mut archive = OsvZip::new();
    let mut written = 0;
    loop {
        let rows = match cursor.next_page(&store).await {
            Ok(Some(rows)) => rows,
            Ok(None) => break,
            Err(error) => {
                tracing::error!(%error, "knowledge-base export failed reading the store");
                let _ = sender
                    .send(Err(io::Error::other("reading the knowledge base failed")))
                    .await;
                return written;
            }
        };
        let count = rows.len();
        let page = tokio::task::spawn_blocking(move || {
            let bytes = add_page(&mut archive, &rows);
            (archive, bytes)
        })
        .await;
        let bytes = match page {
            Ok((back, Ok(bytes))) => {
                archive = back;
                bytes
            }
            Ok((_, Err(error))) => {
                tracing::error!(%error, "knowledge-base export failed writing the archive");
                let _ = sender.send(Err(error)).await;
                return written;
            }
            Err(error) => {
                tracing::error!(%error, "knowledge-base export task failed");
                let _ = sender.send(Err(io::Error::other("export failed"))).await;
                return written;
            }
        };
        written += count;
        if !bytes.is_empty() && sender.send(Ok(Bytes::from(bytes))).await.is_err() {
            return written;
        }
    }
    match tokio::task::spawn_blocking(move || archive.finish()).await {
        Ok(Ok(bytes)) => {
            let _ = sender.send(Ok(Bytes::from(bytes))).await;
        }
        Ok(Err(error)) => {
            let _ = sender.send(Err(error)).await;
        }
        Err(error) => {
            tracing::error!(%error, "knowledge-base export task failed");
            let _ = sender.send(Err(io::Error::other("export failed"))).await;
        }
    }
    written
}

/// Writes the export as a directory tree: one `<id>.json` per record in `dir` (created when
/// missing). Returns the number of records written.
pub async fn write_osv_tree(
    store: &Store,
    filter: &ExportFilter,
    dir: &std::path::Path,
) -> anyhow::Result<usize> {
    use anyhow::Context;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut cursor = ExportCursor::new(filter);
    let mut written = 0;
    while let Some(rows) = cursor.next_page(store).await? {
        for row in &rows {
            let file = render(row)?;
            let path = dir.join(&file.name);
            std::fs::write(&path, &file.json)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        written += rows.len();
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn the_streamed_archive_reads_back_entry_by_entry() {
        let mut archive = OsvZip::new();
        let mut streamed = Vec::new();
        for i in 0..50 {
            archive
                .add(&OsvFile {
                    name: format!("GHSA-{i:04}.json"),
                    modified: Utc::now(),
                    json: format!(
                        "{{\"id\":\"GHSA-{i:04}\",\"pad\":\"{}\"}}",
                        "x".repeat(i * 100)
                    )
                    .into_bytes(),
                })
                .unwrap();
            // Everything but the entry being written is handed out as it is finished.
            streamed.extend(archive.take_written());
        }
        assert!(!streamed.is_empty());
        streamed.extend(archive.finish().unwrap());
        let mut zip = zip::ZipArchive::new(io::Cursor::new(streamed)).unwrap();
        assert_eq!(zip.len(), 50);
        let mut text = String::new();
        zip.by_name("GHSA-0049.json")
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        assert!(text.starts_with("{\"id\":\"GHSA-0049\""));
    }

    #[test]
    fn an_ecosystem_is_a_name_and_names_the_file() {
        assert_eq!(ExportFilter::parse(None).unwrap(), ExportFilter::default());
        assert_eq!(
            ExportFilter::parse(Some("  ")).unwrap().file_name(),
            "all.zip"
        );
        let debian = ExportFilter::parse(Some("Debian:12")).unwrap();
        assert_eq!(debian.file_name(), "Debian_12-all.zip");
        let error = ExportFilter::parse(Some("../etc")).unwrap_err();
        assert!(error.to_string().contains("`ecosystem`"), "{error}");
        assert_eq!(file_name("DEBIAN-CVE:1/2"), "DEBIAN-CVE_1_2.json");
    }
}
