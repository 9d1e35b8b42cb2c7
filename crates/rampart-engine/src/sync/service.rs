//! The scheduler and worker every replica runs: queue due runs, claim runs (a lease in the
//! store, so each runs once across replicas), execute them, renew the lease while working.

use std::sync::Arc;

use rampart_store::{ClaimedRun, Store};
use tokio::sync::{watch, Notify, Semaphore};
use tokio::task::JoinSet;

use super::outbound::OutboundClient;
use super::runner::{self, Progress, RunContext};
use super::{SecretKey, SyncSettings};

/// One replica's sync worker. Cheap to clone: clones share the worker identity.
#[derive(Clone)]
pub struct SyncService {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    client: OutboundClient,
    settings: SyncSettings,
    secret_key: SecretKey,
    /// Identifies this worker in leases.
    worker_id: String,
    /// Woken when a run is queued through the API, so it starts without waiting a tick.
    wake: Notify,
    slots: Arc<Semaphore>,
}

impl SyncService {
    pub fn new(
        store: Store,
        settings: SyncSettings,
        secret_key: SecretKey,
    ) -> anyhow::Result<SyncService> {
        let client = OutboundClient::new(settings.outbound.clone())?;
        let slots = Arc::new(Semaphore::new(settings.max_concurrent_runs.max(1)));
        Ok(SyncService {
            inner: Arc::new(Inner {
                store,
                client,
                settings,
                secret_key,
                worker_id: format!("worker-{}", uuid::Uuid::new_v4()),
                wake: Notify::new(),
                slots,
            }),
        })
    }

    pub fn worker_id(&self) -> &str {
        &self.inner.worker_id
    }

    pub fn secret_key(&self) -> &SecretKey {
        &self.inner.secret_key
    }

    /// Asks the loop to look for claimable runs now.
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }

    /// Runs until `stop` turns true. Runs in flight are then abandoned: their leases expire
    /// and another replica (or the next start) takes them over from the cursor.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut running = JoinSet::new();
        loop {
            if let Err(error) = self.tick(&mut running).await {
                tracing::warn!(error = %error, "sync scheduler tick failed");
            }
            while running.try_join_next().is_some() {}
            tokio::select! {
                _ = stop.changed() => break,
                () = self.inner.wake.notified() => {}
                () = tokio::time::sleep(self.inner.settings.poll_interval) => {}
                Some(_) = running.join_next(), if !running.is_empty() => {}
            }
            if *stop.borrow() {
                break;
            }
        }
        running.abort_all();
    }

    async fn tick(&self, running: &mut JoinSet<()>) -> anyhow::Result<()> {
        if self.inner.settings.scheduler {
            self.inner.store.queue_due_sync_runs().await?;
        }
        if !self.inner.settings.execute_runs {
            return Ok(());
        }
        loop {
            let Ok(permit) = Arc::clone(&self.inner.slots).try_acquire_owned() else {
                return Ok(());
            };
            let Some(claimed) = self.claim().await? else {
                return Ok(());
            };
            let service = self.clone();
            running.spawn(async move {
                service.execute(claimed).await;
                drop(permit);
            });
        }
    }

    /// Claims one run for this worker, if any is queued or abandoned.
    pub async fn claim(&self) -> anyhow::Result<Option<ClaimedRun>> {
        Ok(self
            .inner
            .store
            .claim_sync_run(&self.inner.worker_id, self.inner.settings.lease)
            .await?)
    }

    /// Claims and executes one run to its end; `None` when nothing was claimable.
    pub async fn run_next(&self) -> anyhow::Result<Option<i64>> {
        let Some(claimed) = self.claim().await? else {
            return Ok(None);
        };
        let id = claimed.run.id;
        self.execute(claimed).await;
        Ok(Some(id))
    }

    /// Executes a claimed run, renewing its lease (with progress) every third of the lease,
    /// and records the outcome.
    pub async fn execute(&self, claimed: ClaimedRun) {
        let inner = &self.inner;
        let run_id = claimed.run.id;
        let source_id = claimed.source.id.clone();
        tracing::info!(run = run_id, source = %source_id, attempt = claimed.run.attempts, "sync run started");
        let progress = Arc::new(Progress::default());
        let context = RunContext {
            store: &inner.store,
            client: &inner.client,
            settings: &inner.settings,
            secret_key: &inner.secret_key,
            progress: &progress,
        };
        // The heartbeat lives inside this future: if the run is dropped (a crash, an abort),
        // renewals stop with it and the lease runs out, so another worker can take over.
        let heartbeat = async {
            let lease = inner.settings.lease;
            loop {
                tokio::time::sleep(lease / 3).await;
                let (counts, message) = progress.snapshot();
                match inner
                    .store
                    .renew_sync_run(run_id, &inner.worker_id, lease, counts, &message)
                    .await
                {
                    Ok(true) => {}
                    Ok(false) => {
                        progress.mark_lease_lost();
                        std::future::pending::<()>().await;
                    }
                    Err(error) => tracing::warn!(run = run_id, %error, "cannot renew sync lease"),
                }
            }
        };
        let started = std::time::Instant::now();
        let outcome = tokio::select! {
            outcome = runner::execute(&context, &claimed) => outcome,
            _ = heartbeat => unreachable!("the heartbeat never ends"),
        };
        let (counts, message) = progress.snapshot();
        let error = outcome.as_ref().err().map(|e| format!("{e:#}"));
        let labels = [
            ("source", claimed.source.source_type.clone()),
            (
                "outcome",
                if error.is_none() {
                    "succeeded"
                } else {
                    "failed"
                }
                .to_string(),
            ),
        ];
        metrics::counter!("rampart_sync_runs_total", &labels).increment(1);
        metrics::histogram!("rampart_sync_run_duration_seconds", &labels)
            .record(started.elapsed().as_secs_f64());
        for (kind, count) in [
            ("added", counts.added),
            ("updated", counts.updated),
            ("unchanged", counts.unchanged),
            ("skipped", counts.skipped),
        ] {
            metrics::counter!("rampart_sync_records_total",
                "source" => claimed.source.source_type.clone(), "kind" => kind)
            .increment(u64::try_from(count).unwrap_or(0));
        }
        match &error {
            None => tracing::info!(run = run_id, source = %source_id, added = counts.added,
                updated = counts.updated, unchanged = counts.unchanged, skipped = counts.skipped,
                "sync run succeeded"),
            Some(error) => {
                tracing::warn!(run = run_id, source = %source_id, %error, "sync run failed")
            }
        }
        match inner
            .store
            .finish_sync_run(run_id, &inner.worker_id, counts, &message, error.as_deref())
            .await
        {
            Ok(true) => {}
            Ok(false) => tracing::warn!(
                run = run_id,
                "sync run finished after losing its lease; outcome not recorded"
            ),
            Err(error) => {
                tracing::error!(run = run_id, %error, "cannot record the end of a sync run")
            }
        }
    }
}
