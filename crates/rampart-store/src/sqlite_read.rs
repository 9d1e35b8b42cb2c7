//! Reads of many rows on SQLite, stepped through SQLite's own API (rusqlite over a pooled
//! connection's handle) on the calling thread; and, through the same handle, the writes of
//! many rows that a transaction makes ([`on_connection`]).
//!
//! sqlx runs each SQLite connection on a worker thread and hands every row to the async side
//! over a channel, copying each column value on the way: about 7 µs a row, which made the
//! database steps of a worst-case `rampart scan` (≈5,000 rows in four queries) 35 of its
//! 51 ms (BENCHMARKS.md). A locked handle gives this thread the connection alone, so the
//! rows are read where they are used. The SQL is the same text both backends run; only the
//! decoding of a row is written here, next to the query that selects its columns.

use sqlx::{SqliteConnection, SqlitePool};

use crate::StoreError;

/// Runs `read` on a pooled connection's SQLite handle. On a multi-threaded runtime the read
/// runs under `block_in_place`, so the runtime moves its other tasks off this thread while
/// SQLite works; a current-thread runtime (the CLI) simply waits for it.
pub(crate) async fn read<T>(
    pool: &SqlitePool,
    read: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<T>,
) -> Result<T, StoreError> {
    let mut connection = pool.acquire().await?;
    on_connection(&mut connection, read)
        .await
        .map_err(StoreError::Database)
}

/// Runs `work` on this connection's SQLite handle, as [`read`] does, inside whatever
/// transaction the connection is in (a sqlx transaction's connection: `&mut *tx`). SQLite's
/// errors come back as `sqlx::Error::Protocol`, with SQLite's message.
pub(crate) async fn on_connection<T>(
    connection: &mut SqliteConnection,
    work: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<T>,
) -> Result<T, sqlx::Error> {
    let mut handle = connection.lock_handle().await?;
    let raw = handle.as_raw_handle().as_ptr();
    let run = move || {
        // SAFETY: the locked handle gives this thread the open connection alone until it is
        // dropped, after this call; `from_handle` never closes the connection it borrows, and
        // the borrowed `Connection` (with its prepared statements) is dropped before the lock.
        let connection = unsafe { rusqlite::Connection::from_handle(raw) }?;
        let result = work(&connection);
        drop(connection);
        result
    };
    let result = match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(run),
        _ => run(),
    };
    drop(handle);
    result.map_err(|error| sqlx::Error::Protocol(error.to_string()))
}
