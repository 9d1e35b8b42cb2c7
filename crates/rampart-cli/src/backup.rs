//! `rampart backup --out FILE` and `rampart restore FILE`: a consistent copy of the embedded
//! SQLite database taken while the server runs, and its installation in a data directory
//! (migrated to this binary's schema). PostgreSQL is backed up with `pg_dump`.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use rampart_engine::sync::SecretKey;
use rampart_store::{DatabaseLocation, DatabaseSummary, Store};

use crate::config::DatabaseArgs;
use crate::import::BadInput;

#[derive(Args, Debug)]
pub struct BackupArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// The backup file to write (a SQLite database, mode 0600); an existing file is refused.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

#[derive(Args, Debug)]
pub struct RestoreArgs {
    /// The data directory to restore into [default: ./rampart-data].
    #[arg(long, env = "RAMPART_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// The server secret key file kept with the backup (the old data directory's
    /// `secret.key`), installed as the restored directory's key: stored webhook secrets,
    /// integration credentials and sync-source keys open only with it.
    #[arg(long, value_name = "FILE")]
    pub secret_key_file: Option<PathBuf>,
    /// Replace the database (and key) the data directory already holds. Stop the server first.
    #[arg(long)]
    pub force: bool,
    /// A file written by `rampart backup`.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

fn summary_line(summary: &DatabaseSummary) -> String {
    format!(
        "{:.1} MB, schema version {} ({})",
        summary.bytes as f64 / 1e6,
        summary.schema_version,
        summary.rows_text()
    )
}

fn bad_input(error: impl std::fmt::Display) -> anyhow::Error {
    anyhow::Error::new(BadInput(error.to_string()))
}

pub async fn backup(args: BackupArgs) -> anyhow::Result<()> {
    let location = args.database.into_location()?;
    let dir = match &location {
        DatabaseLocation::SqliteDir(dir) => dir.clone(),
        DatabaseLocation::Postgres(_) => {
            return Err(bad_input(rampart_store::BackupError::Postgres))
        }
    };
    if !dir.join("rampart.db").is_file() {
        return Err(bad_input(format!(
            "no Rampart database in {} (point --data-dir at one)",
            dir.display()
        )));
    }
    let store = Store::connect(&location)
        .await
        .context("cannot open the database")?;
    let summary = store
        .backup_sqlite(&args.out)
        .await
        .map_err(|error| match error {
            rampart_store::BackupError::Store(error) => anyhow::Error::new(error),
            other => bad_input(other),
        })?;
    store.close().await;
    println!(
        "backed up to {}: {}",
        args.out.display(),
        summary_line(&summary)
    );
    println!(
        "The server secret key is not in the backup: keep {} with it and restore with --secret-key-file.",
        dir.join("secret.key").display()
    );
    Ok(())
}

pub async fn restore(args: RestoreArgs) -> anyhow::Result<()> {
    let dir = args
        .data_dir
        .unwrap_or_else(|| PathBuf::from("rampart-data"));
    let key_path = dir.join("secret.key");
    let given_key = match &args.secret_key_file {
        Some(path) => Some(
            SecretKey::load(path)?
                .ok_or_else(|| bad_input(format!("no secret key file {}", path.display())))?,
        ),
        None => None,
    };
    let installed_key = SecretKey::load(&key_path)?;
    if let (Some(given), Some(installed)) = (&given_key, &installed_key) {
        if !given.same_as(installed) && !args.force {
            return Err(bad_input(format!(
                "{} holds another secret key: pass --force to replace it",
                key_path.display()
            )));
        }
    }
    let summary = rampart_store::restore_sqlite(&args.file, &dir, args.force)
        .await
        .map_err(|error| match error {
            rampart_store::BackupError::Store(error) => anyhow::Error::new(error),
            other => bad_input(other),
        })?;
    if let Some(key) = &given_key {
        if installed_key.is_some() {
            std::fs::remove_file(&key_path)
                .with_context(|| format!("cannot replace {}", key_path.display()))?;
        }
        key.install(&key_path)?;
    }
    println!(
        "restored {} into {}: {}",
        args.file.display(),
        dir.display(),
        summary_line(&summary)
    );
    // The secrets the database holds must open with the key the server will use.
    let store = Store::connect(&DatabaseLocation::SqliteDir(dir.clone()))
        .await
        .context("cannot open the restored database")?;
    let samples = store.sealed_samples().await?;
    store.close().await;
    if samples.is_empty() {
        return Ok(());
    }
    let key = SecretKey::load(&key_path)?;
    let opens = key
        .as_ref()
        .is_some_and(|key| samples.iter().all(|sealed| key.decrypt(sealed).is_ok()));
    if !opens {
        eprintln!(
            "warning: the restored database holds secrets (webhook secrets, integration credentials or sync-source keys) that {} cannot open: restore again with --secret-key-file naming the old server's secret.key",
            if key.is_some() {
                format!("the key in {}", key_path.display())
            } else {
                "no key (the directory has none)".to_string()
            }
        );
    }
    Ok(())
}
