//! Backup and restore of the embedded (SQLite) database. A backup is one SQLite file written
//! with `VACUUM INTO`: a consistent snapshot taken inside one read transaction, so the server
//! keeps serving (and writing) while it runs. PostgreSQL deployments use `pg_dump`.
//!
//! The server secret key is not part of a backup (it would put the key beside the values it
//! seals); the operator keeps `secret.key` with it and hands it to the restore.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use sqlx::{Connection, SqliteConnection};

use crate::{with_pool, DatabaseLocation, Pool, Store, StoreError, SQLITE_MIGRATIONS};

/// Why a backup or restore did not happen.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("backups are for the embedded SQLite database; for PostgreSQL use pg_dump (see the README's Operations section)")]
    Postgres,
    #[error("{0} is not a Rampart database: {1}")]
    NotADatabase(PathBuf, String),
    #[error("{path} was written by a newer Rampart (schema version {found}; this binary knows up to {known}): restore it with that version or newer")]
    Newer {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error(
        "{0} already holds a database: stop the server that uses it and pass --force to replace it"
    )]
    Exists(PathBuf),
    #[error("{0} exists: choose another file")]
    OutputExists(PathBuf),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for BackupError {
    fn from(error: sqlx::Error) -> Self {
        BackupError::Store(StoreError::Database(error))
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// What a database file holds: its schema version and the size of its main tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseSummary {
    pub bytes: u64,
    /// The newest migration applied.
    pub schema_version: i64,
    /// (table, rows) of the tables an operator recognises, in this order.
    pub rows: Vec<(&'static str, i64)>,
}

impl DatabaseSummary {
    /// `teams 1, products 3, …` for a line of output.
    pub fn rows_text(&self) -> String {
        self.rows
            .iter()
            .map(|(table, rows)| format!("{table} {rows}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The tables a summary counts (present since the first migrations).
const SUMMARY_TABLES: [&str; 8] = [
    "teams",
    "users",
    "api_keys",
    "vulnerabilities",
    "products",
    "releases",
    "sboms",
    "findings",
];

impl Store {
    /// Writes a consistent copy of the SQLite database to `out` (created with mode 0600; an
    /// existing file is refused), safe while the server runs. The copy is written beside
    /// `out` and renamed into place, so a failed backup leaves no partial file behind.
    pub async fn backup_sqlite(&self, out: &Path) -> Result<DatabaseSummary, BackupError> {
        let Pool::Sqlite(pool) = &self.pool else {
            return Err(BackupError::Postgres);
        };
        if out.exists() {
            return Err(BackupError::OutputExists(out.to_path_buf()));
        }
        let partial = partial_path(out);
        let _ = std::fs::remove_file(&partial);
        let written = sqlx::query("VACUUM INTO ?")
            .bind(partial.to_string_lossy().into_owned())
            .execute(pool)
            .await;
        if let Err(error) = written {
            let _ = std::fs::remove_file(&partial);
            return Err(error.into());
        }
        set_private(&partial)?;
        std::fs::File::open(&partial)
            .and_then(|file| file.sync_all())
            .map_err(io(&partial))?;
        // Never replace a file that appeared meanwhile (hard_link fails on an existing name).
        std::fs::hard_link(&partial, out).map_err(|error| {
            let _ = std::fs::remove_file(&partial);
            if error.kind() == std::io::ErrorKind::AlreadyExists {
                BackupError::OutputExists(out.to_path_buf())
            } else {
                io(out)(error)
            }
        })?;
        std::fs::remove_file(&partial).map_err(io(&partial))?;
        inspect_sqlite_file(out).await
    }
}

impl Store {
    /// One value of each kind sealed with the server key (sync-source API keys, webhook
    /// secrets, integration credentials), to check that a key opens this database's secrets.
    pub async fn sealed_samples(&self) -> Result<Vec<Vec<u8>>, StoreError> {
        let mut samples = Vec::new();
        for sql in [
            "SELECT api_key_ciphertext FROM sync_sources WHERE api_key_ciphertext IS NOT NULL LIMIT 1",
            "SELECT secret_ciphertext FROM webhook_endpoints LIMIT 1",
            "SELECT credentials FROM integrations WHERE credentials IS NOT NULL LIMIT 1",
        ] {
            let sample: Option<Vec<u8>> = with_pool!(self, pool => {
                sqlx::query_scalar(sql).fetch_optional(pool).await
            })?;
            samples.extend(sample);
        }
        Ok(samples)
    }
}

/// Checks that `file` is a sound Rampart SQLite database this binary can open (integrity
/// check, migrations all applied successfully, none newer than this binary's) and summarises
/// it. Opens the file read-only.
pub async fn inspect_sqlite_file(file: &Path) -> Result<DatabaseSummary, BackupError> {
    let not_a_database = |why: String| BackupError::NotADatabase(file.to_path_buf(), why);
    let metadata = std::fs::metadata(file).map_err(io(file))?;
    if !metadata.is_file() {
        return Err(not_a_database("not a file".into()));
    }
    let options = SqliteConnectOptions::new()
        .filename(file)
        .read_only(true)
        .immutable(true);
    let mut connection = SqliteConnection::connect_with(&options)
        .await
        .map_err(|e| not_a_database(e.to_string()))?;
    let integrity: Result<String, sqlx::Error> = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut connection)
        .await;
    match integrity {
        Ok(answer) if answer == "ok" => {}
        Ok(answer) => return Err(not_a_database(format!("integrity check: {answer}"))),
        Err(error) => return Err(not_a_database(error.to_string())),
    }
    let applied: Vec<(i64, bool, Vec<u8>)> =
        sqlx::query_as("SELECT version, success, checksum FROM _sqlx_migrations ORDER BY version")
            .fetch_all(&mut connection)
            .await
            .map_err(|_| not_a_database("it has no Rampart schema".into()))?;
    let known: std::collections::HashMap<i64, &[u8]> = SQLITE_MIGRATIONS
        .iter()
        .map(|m| (m.version, m.checksum.as_ref()))
        .collect();
    let known_latest = known.keys().copied().max().unwrap_or(0);
    let mut schema_version = 0;
    for (version, success, checksum) in &applied {
        if !success {
            return Err(not_a_database(format!(
                "migration {version} did not complete"
            )));
        }
        match known.get(version) {
            Some(expected) if *expected == checksum.as_slice() => {}
            Some(_) => {
                return Err(not_a_database(format!(
                    "migration {version} differs from this binary's"
                )))
            }
            None if *version > known_latest => {
                return Err(BackupError::Newer {
                    path: file.to_path_buf(),
                    found: *version,
                    known: known_latest,
                })
            }
            None => return Err(not_a_database(format!("unknown migration {version}"))),
        }
        schema_version = *version;
    }
    if applied.is_empty() {
        return Err(not_a_database("no migration applied".into()));
    }
    let mut rows = Vec::with_capacity(SUMMARY_TABLES.len());
    for table in SUMMARY_TABLES {
        let count: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(&mut connection)
            .await?;
        rows.push((table, count));
    }
    connection.close().await?;
    Ok(DatabaseSummary {
        bytes: metadata.len(),
        schema_version,
        rows,
    })
}

/// Installs the backup `file` as the database of the data directory `dir` and migrates it to
/// this binary's schema. Refuses a directory that already holds a database unless `replace`
/// (the server using it must be stopped). The file is checked first, copied beside the
/// database and renamed over it; the old database's WAL and shared-memory files are removed
/// (a stale WAL would otherwise be replayed into the restored file).
pub async fn restore_sqlite(
    file: &Path,
    dir: &Path,
    replace: bool,
) -> Result<DatabaseSummary, BackupError> {
    inspect_sqlite_file(file).await?;
    let database = dir.join("rampart.db");
    if database.exists() && !replace {
        return Err(BackupError::Exists(dir.to_path_buf()));
    }
    crate::create_data_dir(dir).map_err(io(dir))?;
    let partial = partial_path(&database);
    std::fs::copy(file, &partial).map_err(io(&partial))?;
    set_private(&partial)?;
    std::fs::File::open(&partial)
        .and_then(|copy| copy.sync_all())
        .map_err(io(&partial))?;
    for suffix in ["-wal", "-shm"] {
        let stale = dir.join(format!("rampart.db{suffix}"));
        match std::fs::remove_file(&stale) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => return Err(io(&stale)(error)),
        }
    }
    std::fs::rename(&partial, &database).map_err(io(&database))?;
    let store = Store::connect(&DatabaseLocation::SqliteDir(dir.to_path_buf())).await?;
    store.migrate().await?;
    store.close().await;
    // The restored database, migrated and checkpointed, as the server will open it.
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", database.display()))?;
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await?;
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&pool)
        .await?;
    pool.close().await;
    inspect_sqlite_file(&database).await
}

/// Where a file is written before it is renamed into place.
fn partial_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    path.with_file_name(name)
}

#[cfg(unix)]
fn set_private(path: &Path) -> Result<(), BackupError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(io(path))
}

#[cfg(not(unix))]
fn set_private(_path: &Path) -> Result<(), BackupError> {
    Ok(())
}
