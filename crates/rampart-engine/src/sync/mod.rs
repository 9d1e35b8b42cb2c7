//! Keeping the knowledge base current: sync sources (server-wide feed configuration), the
//! outbound guard every fetch passes, the fetchers per feed type, and the scheduler/worker
//! that runs each source every `syncIntervalHours`, once across all replicas.

pub mod outbound;
mod runner;
pub mod secret;
mod service;

use std::time::Duration;

pub use outbound::{GuardError, Location, OutboundClient, OutboundPolicy};
pub use secret::{mask_api_key, SecretKey};
pub use service::SyncService;

/// NVD API 2.0 client behaviour. Defaults follow NVD's published limits.
#[derive(Debug, Clone)]
pub struct NvdSettings {
    /// `resultsPerPage` (NVD's maximum is 2000).
    pub results_per_page: u32,
    /// Requests per `rate_window` without an API key (NVD: 5 per 30 s).
    pub requests_per_window: u32,
    /// Requests per `rate_window` with an API key (NVD: 50 per 30 s).
    pub requests_per_window_with_key: u32,
    pub rate_window: Duration,
    /// Retries of a 403/429/5xx answer or a transport error before the run fails.
    pub max_retries: u32,
    /// First retry delay; doubles per retry up to `max_retry_delay`.
    pub retry_base_delay: Duration,
    pub max_retry_delay: Duration,
}

impl Default for NvdSettings {
    fn default() -> Self {
        NvdSettings {
            results_per_page: 2000,
            requests_per_window: 5,
            requests_per_window_with_key: 50,
            rate_window: Duration::from_secs(30),
            max_retries: 6,
            retry_base_delay: Duration::from_secs(6),
            max_retry_delay: Duration::from_secs(120),
        }
    }
}

/// Sync behaviour of this server.
#[derive(Debug, Clone)]
pub struct SyncSettings {
    /// Queue a run of each source every `syncIntervalHours`. Runs asked for through the API
    /// are executed either way.
    pub scheduler: bool,
    /// Execute queued runs on this replica (off: a replica that only serves the API).
    pub execute_runs: bool,
    /// How often a replica looks for due and claimable runs.
    pub poll_interval: Duration,
    /// A worker's lease on a run; renewed every third of it. A run whose worker died is
    /// taken over once the lease has expired.
    pub lease: Duration,
    pub max_concurrent_runs: usize,
    /// Records per ingest transaction.
    pub batch_size: usize,
    pub outbound: OutboundPolicy,
    pub nvd: NvdSettings,
}

impl Default for SyncSettings {
    fn default() -> Self {
        SyncSettings {
            scheduler: true,
            execute_runs: true,
            poll_interval: Duration::from_secs(5),
            lease: Duration::from_secs(90),
            max_concurrent_runs: 2,
            batch_size: 1000,
            outbound: OutboundPolicy::default(),
            nvd: NvdSettings::default(),
        }
    }
}
