//! Insertion time of large SBOMs (a benchmark, not a timed test: it prints, it does not
//! assert on time). Run with
//! `cargo test -p rampart-server --test api sbom_insert -- --ignored --nocapture`
//! (PostgreSQL too when `RAMPART_TEST_PG_URL` is set).

use std::time::Instant;

use rampart_formats::sbom::{Component, Dependency, Hash, License, Relationship, Sbom, SbomFormat};
use rampart_store::{DatabaseLocation, NewProduct, NewRelease, NewSbom, Store};

/// A CycloneDX-shaped SBOM of `n` npm/Maven/PyPI components, each depending on the next.
fn synthetic_sbom(n: usize) -> Sbom {
    let components: Vec<Component> = (0..n)
        .map(|i| {
            let (purl, name) = match i % 3 {
                0 => (
                    format!("pkg:npm/%40scope{i}/package-{i}@1.{}.{}", i % 17, i % 5),
                    format!("@scope{i}/package-{i}"),
                ),
                1 => (
                    format!("pkg:maven/org.example{i}/artifact-{i}@2.{}.0", i % 13),
                    format!("artifact-{i}"),
                ),
                _ => (
                    format!("pkg:pypi/package-{i}@0.{}.{}", i % 7, i % 3),
                    format!("package-{i}"),
                ),
            };
            Component {
                bom_ref: Some(format!("ref-{i}")),
                parent: None,
                name,
                version: Some(format!("1.{}.{}", i % 17, i % 5)),
                group: None,
                purl: Some(purl),
                cpe: None,
                hashes: vec![Hash {
                    algorithm: "SHA-256".into(),
                    value: format!("{i:064x}"),
                }],
                licenses: vec![License::Id("MIT".into())],
                supplier: Some("Example Corp".into()),
                component_type: Some("library".into()),
                scope: Some("required".into()),
            }
        })
        .collect();
    let dependencies = (1..n)
        .map(|i| Dependency {
            from: format!("ref-{}", i - 1),
            to: format!("ref-{i}"),
            relationship: Relationship::DependsOn,
        })
        .collect();
    Sbom {
        format: SbomFormat::CycloneDx,
        spec_version: "1.6".into(),
        serial_number: None,
        name: Some("synthetic".into()),
        created: None,
        tools: Vec::new(),
        primary_component: None,
        components,
        dependencies,
        warnings: Vec::new(),
    }
}

async fn measure(location: DatabaseLocation, label: &str) {
    let store = Store::connect(&location).await.unwrap();
    store.migrate().await.unwrap();
    let team_id = store
        .bootstrap("bench@localhost")
        .await
        .unwrap()
        .unwrap()
        .team_id;
    let product = store
        .create_product(
            team_id,
            &NewProduct {
                name: "bench".into(),
                description: None,
                tags: Vec::new(),
                cpe_matching: false,
            },
            &system_event(team_id),
        )
        .await
        .unwrap();
    for size in [10_000, 100_000] {
        let release = store
            .create_release(
                team_id,
                product.id,
                &NewRelease {
                    version: size.to_string(),
                    status: "development".into(),
                    release_date: None,
                    eol_date: None,
                },
                &system_event(team_id),
            )
            .await
            .unwrap()
            .unwrap();
        let sbom = synthetic_sbom(size);
        // A document of roughly the real size per component, stored verbatim.
        let content = vec![b' '; size * 400];
        let started = Instant::now();
        let (record, _) = store
            .create_sbom(
                team_id,
                &NewSbom {
                    release_id: release.id,
                    document_format: "cyclonedx_json",
                    content_type: "application/vnd.cyclonedx+json",
                    content: &content,
                    sha256: "0",
                    uploaded_by_user_id: 1,
                    uploaded_by: "bench",
                    sbom: &sbom,
                    unmatched_components: None,
                    packages: &[],
                },
                &system_event(team_id),
            )
            .await
            .unwrap()
            .unwrap();
        let elapsed = started.elapsed();
        assert_eq!(record.component_count, size as i64);
        println!(
            "{label}: {size} components + {} edges + {} MB document in one transaction: {:.2} s ({:.0} components/s)",
            size - 1,
            content.len() / 1_000_000,
            elapsed.as_secs_f64(),
            size as f64 / elapsed.as_secs_f64()
        );
    }
    store.close().await;
}

#[tokio::test]
#[ignore = "benchmark: run explicitly with --ignored --nocapture"]
async fn sbom_insertion_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    measure(
        DatabaseLocation::SqliteDir(dir.path().to_path_buf()),
        "SQLite",
    )
    .await;
}

#[tokio::test]
#[ignore = "benchmark: run explicitly with --ignored --nocapture"]
async fn sbom_insertion_postgres() {
    let Some(database) = rampart_test_support::fresh_postgres_database(true).await else {
        return;
    };
    measure(
        DatabaseLocation::Postgres(database.url().to_string()),
        "PostgreSQL",
    )
    .await;
}

/// The audit record store-level test writes carry.
fn system_event(team_id: i64) -> rampart_store::AuditEvent {
    rampart_store::AuditEvent::new(
        Some(team_id),
        rampart_store::AuditActor::anonymous("test"),
        "test.write",
    )
}
