//! Website and host scans: the allow-list ([`targets`]), Recog ([`recog`]), what a website
//! scan fetches and detects ([`website`]), what a host scan connects to and probes ([`host`]),
//! and the settings that bound them. The rules around them (quotas, test mode, jobs, CVE
//! cross-referencing, diffs) are [`crate::services::scans`]'.

pub mod host;
pub mod recog;
pub mod targets;
pub mod tls;
pub mod website;

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

pub use targets::{AllowedTarget, TargetPolicy, TargetRefusal};

/// The operator's scan settings.
#[derive(Debug, Clone)]
pub struct ScanSettings {
    /// `--scan-allowed-targets`: empty refuses every scan.
    pub targets: TargetPolicy,
    /// `--recog-dir`: a newer Recog `xml/` directory than the embedded snapshot.
    pub recog_dir: Option<PathBuf>,
    /// `--scan-extra-ports`: ports added to every depth's set (services on non-standard
    /// ports, e.g. PostgreSQL on 55432).
    pub extra_ports: Vec<u16>,
    /// The largest CIDR a host scan takes, in addresses (`--scan-max-cidr-hosts`, 256).
    pub max_cidr_hosts: u64,
    /// Scans a team may have queued or running at once.
    pub concurrent_per_team: i64,
    /// Whether this replica runs scans (the worker); the API queues them either way.
    pub execute: bool,
    /// A claimed scan's lease (renewed while it runs).
    pub lease: Duration,
    /// How long a request waits for a small scan to finish before answering `running`.
    pub wait: Duration,
    /// Host scans: connect timeout per port, banner wait, parallel connections.
    pub connect_timeout: Duration,
    pub banner_timeout: Duration,
    pub parallel_connections: usize,
    /// Website scans: bytes read per page, time per request, redirects followed.
    pub max_page_bytes: u64,
    pub request_timeout: Duration,
    pub max_redirects: usize,
}

impl Default for ScanSettings {
    fn default() -> Self {
        ScanSettings {
            targets: TargetPolicy::default(),
            recog_dir: None,
            extra_ports: Vec::new(),
            max_cidr_hosts: 256,
            concurrent_per_team: 3,
            execute: true,
            lease: Duration::from_secs(60),
            wait: Duration::from_secs(30),
            connect_timeout: Duration::from_millis(1500),
            banner_timeout: Duration::from_millis(1500),
            parallel_connections: 256,
            max_page_bytes: 2 * 1024 * 1024,
            request_timeout: Duration::from_secs(10),
            max_redirects: 5,
        }
    }
}

/// The Recog databases, compiled on first use (shared by clones).
#[derive(Clone, Default)]
pub struct RecogHandle {
    library: Arc<OnceLock<Result<Arc<recog::RecogLibrary>, String>>>,
}

impl RecogHandle {
    /// The library (from `dir` when given); an unreadable `--recog-dir` file is an error
    /// every scan reports.
    pub fn get(&self, dir: Option<&std::path::Path>) -> Result<Arc<recog::RecogLibrary>, String> {
        self.library
            .get_or_init(|| {
                recog::RecogLibrary::load(dir)
                    .map(Arc::new)
                    .map_err(|e| e.to_string())
            })
            .clone()
    }
}
