//! `rampart export --type osv --out DIR|FILE.zip [--ecosystem E]`: the knowledge base written
//! offline in OSV's layout, for an air-gapped Rampart (`rampart import --type osv`, or an `OSV`
//! sync source with a local path) or any OSV tool. The same records and writer as the server's
//! `GET /api/v1/kb/export`: a `.zip` like osv.dev's `all.zip`, or a directory of `<id>.json`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Args;
use rampart_engine::kb_export::{self, ExportFilter};
use rampart_store::{DatabaseLocation, Store};

use crate::config::DatabaseArgs;
use crate::import::BadInput;

#[derive(Args, Debug)]
pub struct ExportArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// The layout: osv (OSV JSON records, as osv.dev publishes them).
    #[arg(long = "type", value_parser = ["osv"])]
    pub kind: String,
    /// A `.zip` file (one `<id>.json` per record, like osv.dev's `all.zip`) or a directory
    /// (the same files; created when missing).
    #[arg(long, value_name = "DIR|FILE.zip")]
    pub out: PathBuf,
    /// Only records affecting a package of this OSV ecosystem or of its releases (`Debian`
    /// takes `Debian:12`).
    #[arg(long)]
    pub ecosystem: Option<String>,
}

pub async fn run(args: ExportArgs) -> anyhow::Result<()> {
    let filter = ExportFilter::parse(args.ecosystem.as_deref())
        .map_err(|e| anyhow::Error::new(BadInput(format!("--ecosystem: {e}"))))?;
    let location = args.database.into_location()?;
    if let DatabaseLocation::SqliteDir(dir) = &location {
        if !dir.join("rampart.db").is_file() {
            return Err(anyhow::Error::new(BadInput(format!(
                "no Rampart database in {} (point --data-dir or --database-url at one)",
                dir.display()
            ))));
        }
    }
    let store = Store::connect(&location)
        .await
        .context("cannot open the database")?;
    if !store.is_ready().await {
        bail!("the database is not migrated to this version of rampart: run `rampart migrate`");
    }
    let started = std::time::Instant::now();
    let is_zip = args
        .out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("zip"));
    let written = if is_zip {
        write_zip(&store, filter, &args.out).await?
    } else {
        kb_export::write_osv_tree(&store, &filter, &args.out).await?
    };
    store.close().await;
    eprintln!(
        "exported {written} OSV records to {} in {:.2} s",
        args.out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The archive, streamed into the file as the server streams it into a response.
async fn write_zip(
    store: &Store,
    filter: ExportFilter,
    path: &std::path::Path,
) -> anyhow::Result<usize> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    // Written beside the target and renamed at the end: a failed export leaves no half file.
    let partial = path.with_extension("zip.partial");
    let mut file = std::io::BufWriter::new(
        std::fs::File::create(&partial)
            .with_context(|| format!("cannot create {}", partial.display()))?,
    );
    let (sender, mut receiver) = tokio::sync::mpsc::channel(4);
    let producer = tokio::spawn(kb_export::stream_osv_zip(store.clone(), filter, sender));
    let mut failure = None;
    while let Some(chunk) = receiver.recv().await {
        match chunk {
            Ok(bytes) => file
                .write_all(&bytes)
                .with_context(|| format!("cannot write {}", partial.display()))?,
            Err(error) => failure = Some(error),
        }
    }
    let written = producer.await.context("the export task failed")?;
    if let Some(error) = failure {
        let _ = std::fs::remove_file(&partial);
        bail!("export failed: {error}");
    }
    file.flush()
        .with_context(|| format!("cannot write {}", partial.display()))?;
    drop(file);
    std::fs::rename(&partial, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(written)
}
