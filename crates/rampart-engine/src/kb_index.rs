//! Keeps the in-memory match index in step with the knowledge base: a background task polls
//! the store's `kb_version` and, when it moved, rebuilds the index off the request path and
//! swaps it in. Requests read whichever index is current and never wait.

use std::time::Duration;

use rampart_core::match_index::{AffectedInput, CpeInput, MatchIndex, MatchIndexHandle};
use rampart_formats::advisory::CpeOperator;
use rampart_store::{AffectedPackageRow, CpeMatchRow, Store, StoreError};

/// How often replicas check whether the knowledge base changed (one cheap query).
pub const REFRESH_INTERVAL: Duration = Duration::from_secs(1);

/// The stored operator label (`AND` / `OR`); anything else reads as OR, NVD's default.
fn operator(label: &str) -> CpeOperator {
    if label.eq_ignore_ascii_case("AND") {
        CpeOperator::And
    } else {
        CpeOperator::Or
    }
}

/// Builds an index from the store's current contents.
pub async fn build_index(store: &Store) -> Result<MatchIndex, StoreError> {
    // Read the version first: a concurrent ingest then at worst triggers one extra rebuild.
    let version = store.kb_version().await?;
    let affected = store.affected_package_rows().await?;
    let cpe = store.cpe_match_rows().await?;
    index_of_rows(version, affected, cpe).await
}

/// Compiles an index of these rows (of knowledge-base version `version`) on a blocking
/// thread, off the runtime's workers (a whole knowledge base takes seconds).
pub async fn index_of_rows(
    version: i64,
    affected: Vec<AffectedPackageRow>,
    cpe: Vec<CpeMatchRow>,
) -> Result<MatchIndex, StoreError> {
    tokio::task::spawn_blocking(move || compile_rows(version, affected, cpe))
        .await
        .map_err(|e| StoreError::Corrupt(format!("index build task failed: {e}")))
}

/// Compiles an index of these rows (stored rows, or the scan index's ready inputs) on the
/// calling thread. A one-off scan passes the rows of just the packages it names
/// ([`rampart_store::ScanSnapshot`]) and has nothing else to do meanwhile: a thread of its own
/// would only cost its start and a fresh allocator arena, every page of which faults in (a
/// tenth of a worst-case scan's time).
pub fn compile_rows(
    version: i64,
    affected: impl IntoIterator<Item = impl Into<AffectedInput>>,
    cpe: Vec<CpeMatchRow>,
) -> MatchIndex {
    let affected = affected.into_iter().map(Into::into);
    let cpe = cpe.into_iter().map(|row| CpeInput {
        vulnerability_id: row.vulnerability_id,
        product_id: row.product_id,
        configuration_index: row.configuration_index,
        configuration_operator: operator(&row.configuration_operator),
        configuration_negate: row.configuration_negate,
        node_index: row.node_index,
        node_operator: operator(&row.node_operator),
        node_negate: row.node_negate,
        criteria: row.criteria,
        vulnerable: row.vulnerable,
        version_start_including: row.version_start_including,
        version_start_excluding: row.version_start_excluding,
        version_end_including: row.version_end_including,
        version_end_excluding: row.version_end_excluding,
    });
    MatchIndex::build(version, affected, cpe)
}

/// Rebuilds when the store's version differs from the index's. Returns whether it swapped.
pub async fn refresh(store: &Store, handle: &MatchIndexHandle) -> Result<bool, StoreError> {
    let current = handle.load().kb_version();
    if store.kb_version().await? == current {
        return Ok(false);
    }
    let started = std::time::Instant::now();
    let index = build_index(store).await?;
    metrics::histogram!("rampart_match_index_build_seconds")
        .record(started.elapsed().as_secs_f64());
    tracing::info!(
        kb_version = index.kb_version(),
        entries = index.stats().affected_entries,
        "match index rebuilt"
    );
    handle.swap(index);
    Ok(true)
}

/// Runs [`refresh`] every [`REFRESH_INTERVAL`] until the task is aborted; each time the index
/// moves to a newer knowledge base, evaluates product/vendor alerts against the changed
/// records, queues the re-analyses the change calls for (only SBOMs the changed records can
/// touch; one replica does each step) and wakes the analysis worker.
pub fn spawn_refresher(
    store: Store,
    handle: MatchIndexHandle,
    analysis_queued: std::sync::Arc<tokio::sync::Notify>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(REFRESH_INTERVAL);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut reanalysed_up_to = None;
        let mut alerted_up_to = None;
        loop {
            ticker.tick().await;
            if let Err(error) = refresh(&store, &handle).await {
                tracing::warn!(%error, "match index refresh failed; serving the previous index");
            }
            let version = handle.load().kb_version();
            if alerted_up_to != Some(version) {
                match crate::services::alerts::evaluate_changes(&store, version).await {
                    Ok(pass) => {
                        alerted_up_to = Some(version);
                        if pass.new_matches + pass.updated_matches > 0 {
                            tracing::info!(
                                kb_version = version,
                                new = pass.new_matches,
                                updated = pass.updated_matches,
                                "knowledge base changed: product/vendor alerts matched"
                            );
                        }
                    }
                    Err(error) => tracing::warn!(%error, "evaluating alerts failed; retrying"),
                }
            }
            if reanalysed_up_to == Some(version) {
                continue;
            }
            match store.queue_reanalyses(version).await {
                Ok(pass) => {
                    reanalysed_up_to = Some(version);
                    if pass.queued_analyses > 0 {
                        tracing::info!(
                            from = pass.from,
                            to = pass.to,
                            changed_records = pass.changed_records,
                            analyses = pass.queued_analyses,
                            "knowledge base changed: re-analysing the SBOMs it touches"
                        );
                        analysis_queued.notify_one();
                    }
                }
                Err(error) => tracing::warn!(%error, "queueing re-analyses failed; retrying"),
            }
        }
    })
}
