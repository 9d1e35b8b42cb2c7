use std::path::PathBuf;

/// Storage failures. Callers map them to responses; the details stay in server logs.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// The object does not exist for this caller (absent or another team's).
    #[error("not found")]
    NotFound,
    /// The change conflicts with current state; the text says how (safe to show).
    #[error("{0}")]
    Conflict(String),
    /// A quota is full; carries the limit.
    #[error("limit of {0} reached")]
    LimitReached(i64),
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
}
