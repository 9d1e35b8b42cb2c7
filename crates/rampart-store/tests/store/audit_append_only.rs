//! The audit log refuses UPDATE and DELETE at the database, on both backends.

use rampart_store::{AuditActor, AuditEvent, DatabaseLocation, Store};

async fn check(location: DatabaseLocation) {
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
    assert!(update.is_err(), "UPDATE must be refused");
    assert!(delete.is_err(), "DELETE must be refused");
    store.close().await;
}

#[tokio::test]
async fn sqlite_refuses_changes() {
    let dir = tempfile::tempdir().unwrap();
    check(DatabaseLocation::SqliteDir(dir.path().to_path_buf())).await;
}

#[tokio::test]
async fn postgres_refuses_changes() {
    let Some(database) = rampart_test_support::fresh_postgres_database(true).await else {
        return;
    };
    check(DatabaseLocation::Postgres(database.url().to_string())).await;
}
