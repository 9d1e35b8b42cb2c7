//! The analysis job queue at the store level, on both backends: an upload queues one job,
//! a claim takes it exactly once, an expired lease makes it claimable again, and a finished
//! job is never claimed again. (No server runs here, so no worker competes for the jobs.)

use std::time::Duration;

use rampart_formats::sbom;
use rampart_store::{AnalysisStatus, DatabaseLocation, NewProduct, NewRelease, NewSbom, Store};

const DOCUMENT: &str = r#"{"bomFormat": "CycloneDX", "specVersion": "1.5", "components": [
  {"type": "library", "name": "lodash", "version": "4.17.20", "purl": "pkg:npm/lodash@4.17.20"},
  {"type": "library", "name": "requests", "version": "2.31.0", "purl": "pkg:pypi/requests@2.31.0"},
  {"type": "library", "name": "no-purl", "version": "1"}]}"#;

async fn exercise(location: DatabaseLocation) {
    let store = Store::connect(&location).await.unwrap();
    store.migrate().await.unwrap();
    let team_id = store
        .bootstrap("queue@localhost")
        .await
        .unwrap()
        .unwrap()
        .team_id;
    let product = store
        .create_product(
            team_id,
            &NewProduct {
                name: "p".into(),
                description: None,
                tags: vec![],
                cpe_matching: false,
            },
            &system_event(team_id),
        )
        .await
        .unwrap();
    let release = store
        .create_release(
            team_id,
            product.id,
            &NewRelease {
                version: "1".into(),
                status: "released".into(),
                release_date: None,
                eol_date: None,
            },
            &system_event(team_id),
        )
        .await
        .unwrap()
        .unwrap();
    let parsed = sbom::parse(DOCUMENT.as_bytes()).unwrap();
    let new = NewSbom {
        release_id: release.id,
        document_format: "cyclonedx_json",
        content_type: "application/json",
        content: DOCUMENT.as_bytes(),
        sha256: "x",
        uploaded_by_user_id: 1,
        uploaded_by: "queue@localhost",
        sbom: &parsed,
        unmatched_components: None,
        packages: &[],
    };
    let (_, queued) = store
        .create_sbom(team_id, &new, &system_event(team_id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(queued.status, AnalysisStatus::Queued);
    assert_eq!(queued.component_count, 3);
    // Another team's release cannot receive an SBOM.
    assert!(store
        .create_sbom(team_id + 1000, &new, &system_event(team_id))
        .await
        .unwrap()
        .is_none());

    let claimed = store.claim_analysis(Duration::ZERO).await.unwrap().unwrap();
    assert_eq!(claimed.id, queued.id);
    assert_eq!(claimed.status, AnalysisStatus::Running);
    assert_eq!(claimed.attempts, 1);
    // A zero lease has already expired: the job is claimable again (its worker "died").
    tokio::time::sleep(Duration::from_millis(5)).await;
    let reclaimed = store
        .claim_analysis(Duration::from_secs(600))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reclaimed.id, queued.id);
    assert_eq!(reclaimed.attempts, 2);
    // Under a live lease nobody else gets it.
    assert!(store
        .claim_analysis(Duration::from_secs(600))
        .await
        .unwrap()
        .is_none());

    let index = rampart_core::match_index::MatchIndexHandle::default();
    rampart_engine::analysis::analyse(&store, &index, &reclaimed)
        .await
        .unwrap()
        .expect("the running analysis completes");
    let done = store.analysis(team_id, queued.id).await.unwrap().unwrap();
    assert_eq!(done.status, AnalysisStatus::Completed);
    assert_eq!(done.resolved_count, Some(2));
    assert!(done.finished_at.is_some());
    let summary: serde_json::Value =
        serde_json::from_str(done.summary.as_deref().unwrap()).unwrap();
    assert_eq!(
        summary["ecosystems"],
        serde_json::json!({"PyPI": 1, "npm": 1})
    );
    // Only the running attempt could complete it; nothing is left to claim.
    assert!(store
        .claim_analysis(Duration::ZERO)
        .await
        .unwrap()
        .is_none());
    assert!(store
        .complete_analysis(&reclaimed, &[], &[], "{}")
        .await
        .unwrap()
        .is_none());

    // Concurrent claims (two workers, or two replicas on PostgreSQL) take different jobs.
    let (_, first) = store
        .create_sbom(team_id, &new, &system_event(team_id))
        .await
        .unwrap()
        .unwrap();
    let (_, second) = store
        .create_sbom(team_id, &new, &system_event(team_id))
        .await
        .unwrap()
        .unwrap();
    let lease = Duration::from_secs(600);
    let (a, b, c) = tokio::join!(
        store.claim_analysis(lease),
        store.claim_analysis(lease),
        store.claim_analysis(lease)
    );
    let mut claimed: Vec<i64> = [a, b, c]
        .into_iter()
        .filter_map(|claim| claim.unwrap().map(|analysis| analysis.id))
        .collect();
    claimed.sort();
    assert_eq!(claimed, vec![first.id, second.id]);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn analysis_queue_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    exercise(DatabaseLocation::SqliteDir(dir.path().to_path_buf())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn analysis_queue_postgres() {
    let Some(database) = rampart_test_support::fresh_postgres_database(true).await else {
        return;
    };
    exercise(DatabaseLocation::Postgres(database.url().to_string())).await;
}

/// The audit record store-level test writes carry.
fn system_event(team_id: i64) -> rampart_store::AuditEvent {
    rampart_store::AuditEvent::new(
        Some(team_id),
        rampart_store::AuditActor::anonymous("test"),
        "test.write",
    )
}
