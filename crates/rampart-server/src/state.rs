use std::sync::Arc;

use rampart_store::{DatabaseLocation, Store};

/// Resolved server settings (the CLI merges flags, environment, file and defaults).
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub database: DatabaseLocation,
    /// E-mail of the admin user created on first start.
    pub admin_email: String,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Largest SBOM upload accepted, in bytes; the upload route's body limit (413 beyond).
    pub max_sbom_bytes: usize,
    /// How long `?wait=true` on an upload waits for its analysis.
    pub analysis_wait: std::time::Duration,
}

impl ServerConfig {
    pub const DEFAULT_ADMIN_EMAIL: &'static str = "admin@localhost";
    /// 50 MB: the default SBOM size limit, the largest body any route takes.
    pub const DEFAULT_MAX_BODY_BYTES: usize = 50 * 1024 * 1024;
    /// 50 MB.
    pub const DEFAULT_MAX_SBOM_BYTES: usize = 50 * 1024 * 1024;

    pub fn new(database: DatabaseLocation) -> Self {
        ServerConfig {
            database,
            admin_email: Self::DEFAULT_ADMIN_EMAIL.to_string(),
            max_body_bytes: Self::DEFAULT_MAX_BODY_BYTES,
            max_sbom_bytes: Self::DEFAULT_MAX_SBOM_BYTES,
            analysis_wait: std::time::Duration::from_secs(30),
        }
    }
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub config: Arc<ServerConfig>,
    /// Wakes the analysis worker when an upload queued work.
    pub analysis_queued: Arc<tokio::sync::Notify>,
    /// The knowledge base's match index, kept current by `kb_index::spawn_refresher`.
    pub kb_index: rampart_core::match_index::MatchIndexHandle,
}
