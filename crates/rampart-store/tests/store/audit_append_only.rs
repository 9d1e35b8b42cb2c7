//! The audit log refuses UPDATE and DELETE at the database, on both backends: by its own
//! triggers, not by any error that happens to occur.

use rampart_store::{AuditActor, AuditEvent, DatabaseLocation, Store, StoreError};

/// The refusal the migrations' triggers raise: their message, and the code each backend gives
/// a trigger's error (PostgreSQL `RAISE EXCEPTION` without a code: `P0001` raise_exception;
/// SQLite `RAISE(ABORT, …)`: 1811, SQLITE_CONSTRAINT_TRIGGER).
fn assert_refused_by_the_trigger(result: Result<(), StoreError>, statement: &str, code: &str) {
    let error = match result {
        Ok(()) => panic!("{statement} of an audit entry must be refused"),
        Err(StoreError::Database(sqlx::Error::Database(error))) => error,
        Err(other) => panic!("{statement} failed for another reason: {other}"),
    };
    assert_eq!(
        error.message(),
        "audit_log is append-only",
        "{statement}: {error}"
    );
    assert_eq!(error.code().as_deref(), Some(code), "{statement}: {error}");
}

async fn check(location: DatabaseLocation, code: &str) {
    let store = Store::connect(&location).await.unwrap();
    store.migrate().await.unwrap();
    let event = AuditEvent::new(
        None,
        AuditActor::anonymous("someone@example.com"),
        "test.event",
    );
    store
        .record_audit(&event, chrono::Utc::now())
        .await
        .unwrap();
    let (update, delete) = store.try_tamper_with_audit_log_for_tests().await;
    assert_refused_by_the_trigger(update, "UPDATE", code);
    assert_refused_by_the_trigger(delete, "DELETE", code);
    store.close().await;
}

#[tokio::test]
async fn sqlite_refuses_changes() {
    let dir = tempfile::tempdir().unwrap();
    check(
        DatabaseLocation::SqliteDir(dir.path().to_path_buf()),
        "1811",
    )
    .await;
}

#[tokio::test]
async fn postgres_refuses_changes() {
    let Some(database) = rampart_test_support::fresh_postgres_database(true).await else {
        return;
    };
    check(
        DatabaseLocation::Postgres(database.url().to_string()),
        "P0001",
    )
    .await;
}
