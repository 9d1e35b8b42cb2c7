//! Rampart's engine: everything between the store and the two front ends (the HTTP API in
//! `rampart-server`, the command line in `rampart-cli`), with no HTTP server in it.
//!
//! Where each capability lives:
//! - [`services`]: the business rules of each API subject (API keys, login and sessions, sync
//!   sources, products/releases/SBOMs, findings). Route handlers and CLI subcommands parse
//!   their input, call one service function and shape its result; a [`ServiceError`] carries
//!   the stable [`ErrorCode`] the API answers with.
//! - [`actor`]: who is acting (team, role, scopes, credential) and the request origin stamped on
//!   audit entries.
//! - [`feeds`]: the six advisory feeds and the one reader of files, trees and zip archives that
//!   both `rampart import` and sync runs use, with the same limits.
//! - [`sync`]: sync sources' scheduler and runner, and the outbound guard every fetch passes.
//! - [`kb_index`]: builds and refreshes the in-memory match index from the knowledge base.
//! - [`analysis`]: SBOM components → findings (the worker behind uploads, and `rampart scan`).
//! - [`osv_cache`]: rendered OSV records answering `/v1/query`.
//! - [`mail`]: outgoing e-mail (login codes, invitations, notifications).
//! - [`vcs`]: GitHub and GitLab REST clients for integrations' test connection and discovery.
//! - [`webhooks`]: signed webhook delivery (fan-out, leases, retries, the delivery log).
//! - [`config`]: the server's settings, plan limits and the clock.

pub mod actor;
pub mod analysis;
pub mod config;
pub mod error;
pub mod feeds;
pub mod fields;
pub mod kb_export;
pub mod kb_index;
pub mod mail;
pub mod osv_cache;
pub mod scans;
pub mod services;
pub mod sync;
pub mod vcs;
pub mod webhooks;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use rampart_core::match_index::MatchIndexHandle;
use rampart_store::{Bootstrap, DatabaseLocation, Store};
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

pub use actor::{Actor, Credential, RequestOrigin};
pub use config::{Clock, PlanLimits, Plans, RequestLogSettings, ServerConfig};
pub use error::{ErrorCode, ServiceError};

use crate::mail::Mailer;
use crate::osv_cache::OsvRecordCache;
use crate::sync::{SecretKey, SyncService};
use crate::webhooks::DeliveryWorker;

/// The running engine: what services and background workers share. Cheap to clone.
#[derive(Clone)]
pub struct Engine {
    pub store: Store,
    pub config: Arc<ServerConfig>,
    /// The knowledge base's match index, kept current by [`kb_index::spawn_refresher`].
    pub kb_index: MatchIndexHandle,
    /// OSV JSON of the records `/v1/query` answered with, per knowledge-base version.
    pub osv_records: Arc<OsvRecordCache>,
    /// Wakes the analysis worker when an upload queued work.
    pub analysis_queued: Arc<Notify>,
    /// This replica's sync worker (also holds the secret key for stored secrets).
    pub sync: SyncService,
    pub mailer: Arc<Mailer>,
    /// This replica's webhook delivery worker (woken after a test event or a redelivery).
    pub webhooks: DeliveryWorker,
    /// Wakes the scan worker when a scan was queued.
    pub scans_queued: Arc<Notify>,
    /// The Recog databases scans identify with (compiled on first use).
    pub recog: scans::RecogHandle,
}

impl Engine {
    /// Opens (migrates, bootstraps) the database and builds everything the engine holds.
    /// Returns the first-start bootstrap (the admin key to show once) when there is one.
    pub async fn start(config: ServerConfig) -> anyhow::Result<(Engine, Option<Bootstrap>)> {
        let secret_key = match (&config.secret_key, &config.database) {
            (Some(key), _) => key.clone(),
            (None, DatabaseLocation::SqliteDir(dir)) => {
                rampart_store::create_data_dir(dir)?;
                SecretKey::load_or_create(&dir.join("secret.key"))?
            }
            (None, DatabaseLocation::Postgres(_)) => anyhow::bail!(
                "PostgreSQL needs a server secret key shared by every replica: set --secret-key, \
                 RAMPART_SECRET_KEY or RAMPART_SECRET_KEY_FILE (32 bytes as 64 hex digits or \
                 base64, e.g. from `openssl rand -hex 32`); stored sync-source API keys are \
                 encrypted with it"
            ),
        };
        // The admin must be able to log in with the address the server creates for them.
        let admin_email = services::login::normalize_email(&config.admin_email).map_err(|_| {
            anyhow::anyhow!(
                "the admin e-mail {:?} is not a valid e-mail address",
                config.admin_email
            )
        })?;
        let store = Store::connect(&config.database).await?;
        store.migrate().await?;
        let bootstrap = store.bootstrap(&admin_email).await?;
        // The first index is built before serving, so a restarted server answers at once.
        let kb_index = MatchIndexHandle::new(kb_index::build_index(&store).await?);
        let webhooks =
            DeliveryWorker::new(store.clone(), config.webhooks.clone(), secret_key.clone())?;
        let sync = SyncService::new(store.clone(), config.sync.clone(), secret_key)?;
        if config.plans.get(&config.default_plan).is_none() {
            anyhow::bail!(
                "default plan {:?} is not one of free, pro, enterprise",
                config.default_plan
            );
        }
        if config.smtp.is_none() {
            tracing::warn!(
                "no SMTP server configured: login codes are written to the server log (development only)"
            );
        }
        let mailer = Mailer::new(config.smtp.as_ref())?;
        let osv_records = Arc::new(OsvRecordCache::new(config.osv_cache_bytes));
        let engine = Engine {
            store,
            config: Arc::new(config),
            kb_index,
            osv_records,
            analysis_queued: Arc::new(Notify::new()),
            sync,
            mailer: Arc::new(mailer),
            webhooks,
            scans_queued: Arc::new(Notify::new()),
            recog: scans::RecogHandle::default(),
        };
        Ok((engine, bootstrap))
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.config.clock.now()
    }

    /// Starts the background work of this replica: the match-index refresher (which also
    /// evaluates product/vendor alerts), the analysis worker, the sync worker, the webhook
    /// delivery worker (unless turned off) and the e-mail notifier. Stop them with
    /// [`Workers::stop`].
    pub fn start_workers(&self) -> Workers {
        let refresher = kb_index::spawn_refresher(
            self.store.clone(),
            self.kb_index.clone(),
            Arc::clone(&self.analysis_queued),
        );
        let (stop, stopped) = watch::channel(false);
        let analysis = tokio::spawn(analysis::run_worker(
            self.store.clone(),
            self.kb_index.clone(),
            Arc::clone(&self.analysis_queued),
            self.config.analysis_lease,
            stopped.clone(),
        ));
        let webhooks =
            self.config.webhooks.deliver.then(|| {
                tokio::spawn(webhooks::run_worker(self.webhooks.clone(), stopped.clone()))
            });
        let notifier = tokio::spawn(services::notifications::run_worker(
            self.clone(),
            stopped.clone(),
        ));
        let scans = self
            .config
            .scans
            .execute
            .then(|| tokio::spawn(services::scans::run_worker(self.clone(), stopped.clone())));
        let compliance = self.config.compliance_snapshot_interval.map(|interval| {
            tokio::spawn(services::compliance::run_snapshot_worker(
                self.clone(),
                interval,
                stopped.clone(),
            ))
        });
        let sync = tokio::spawn(self.sync.clone().run(stopped));
        Workers {
            compliance,
            refresher,
            analysis,
            sync,
            webhooks,
            notifier,
            scans,
            stop,
        }
    }
}

/// The background tasks [`Engine::start_workers`] started.
pub struct Workers {
    refresher: JoinHandle<()>,
    analysis: JoinHandle<()>,
    sync: JoinHandle<()>,
    webhooks: Option<JoinHandle<()>>,
    /// The e-mail notifier (see [`services::notifications`]).
    notifier: JoinHandle<()>,
    /// The scan worker (claims scans, queues monitor runs), unless turned off.
    scans: Option<JoinHandle<()>>,
    /// The daily compliance snapshots, unless turned off.
    compliance: Option<JoinHandle<()>>,
    stop: watch::Sender<bool>,
}

impl Workers {
    /// The analysis worker finishes the analysis in hand (an interrupted one would be taken
    /// again once its lease expires) and the sync worker its run, before the pool closes.
    pub async fn stop(self) {
        self.refresher.abort();
        let _ = self.stop.send(true);
        let _ = self.analysis.await;
        let _ = self.sync.await;
        if let Some(webhooks) = self.webhooks {
            let _ = webhooks.await;
        }
        let _ = self.notifier.await;
        if let Some(scans) = self.scans {
            let _ = scans.await;
        }
        if let Some(compliance) = self.compliance {
            let _ = compliance.await;
        }
    }
}
