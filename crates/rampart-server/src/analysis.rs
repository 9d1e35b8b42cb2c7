//! The SBOM analysis worker: claims queued analyses from the store's job queue (a lease, so
//! a job whose worker died is taken again, and on PostgreSQL `FOR UPDATE SKIP LOCKED`, so
//! replicas take different jobs) and runs [`analyse`] on each.
//!
//! Today an analysis resolves every component's purl to the package it names (OSV ecosystem
//! and name) and records that with per-ecosystem counts. Matching those packages against the
//! knowledge base's index (findings) plugs in here once the index exists: it needs exactly
//! the resolved (ecosystem, name, version) triples computed below.

use std::collections::BTreeMap;
use std::time::Duration;

use rampart_store::{Analysis, ComponentIdentity, ComponentResolution, Store, StoreError};
use rampart_versions::purl::Purl;
use tokio::sync::{watch, Notify};

/// How long a claimed analysis stays with its worker before another may take it.
const LEASE: Duration = Duration::from_secs(10 * 60);
/// How often an idle worker looks for work nobody announced (another replica's uploads,
/// expired leases).
const IDLE_POLL: Duration = Duration::from_secs(2);

/// Runs until `stop` turns true: claims and analyses jobs, sleeping when there are none.
pub async fn run_worker(
    store: Store,
    wakeup: std::sync::Arc<Notify>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        if *stop.borrow() {
            return;
        }
        match store.claim_analysis(LEASE).await {
            Ok(Some(analysis)) => {
                let id = analysis.id;
                if let Err(error) = analyse(&store, &analysis).await {
                    tracing::error!(analysis = id, %error, "analysis failed");
                    if let Err(error) = store
                        .fail_analysis(id, "internal error while analysing")
                        .await
                    {
                        tracing::error!(analysis = id, %error, "could not record the failure");
                    }
                }
                continue;
            }
            Ok(None) => {}
            Err(error) => tracing::warn!(%error, "claiming an analysis failed"),
        }
        tokio::select! {
            _ = wakeup.notified() => {}
            _ = tokio::time::sleep(IDLE_POLL) => {}
            _ = stop.changed() => {}
        }
    }
}

/// The package a component's purl names, if its type maps to an OSV ecosystem.
pub fn resolve(component: &ComponentIdentity) -> Option<(String, String)> {
    let purl = Purl::parse_lenient(component.purl.as_deref()?).ok()?;
    let package = purl.osv_package()?;
    Some((package.ecosystem.to_string(), package.name))
}

/// Resolves the SBOM's components and records the result.
pub async fn analyse(store: &Store, analysis: &Analysis) -> Result<(), StoreError> {
    let components = store
        .component_identities(analysis.team_id, analysis.sbom_id)
        .await?;
    let (resolutions, ecosystems) = tokio::task::spawn_blocking(move || {
        let mut ecosystems: BTreeMap<String, i64> = BTreeMap::new();
        let resolutions: Vec<ComponentResolution> = components
            .iter()
            .filter_map(|component| {
                let (ecosystem, package_name) = resolve(component)?;
                *ecosystems.entry(ecosystem.clone()).or_default() += 1;
                Some(ComponentResolution {
                    component_id: component.id,
                    ecosystem,
                    package_name,
                })
            })
            .collect();
        (resolutions, ecosystems)
    })
    .await
    .map_err(|e| StoreError::Corrupt(format!("analysis task: {e}")))?;
    let summary = serde_json::json!({ "ecosystems": ecosystems }).to_string();
    store
        .complete_analysis(analysis, &resolutions, &summary)
        .await?;
    Ok(())
}
