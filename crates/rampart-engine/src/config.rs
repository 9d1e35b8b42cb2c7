//! The server's configuration (the CLI resolves it from flags, environment, file and
//! defaults), the plans' limits, and the clock every rule reads.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use rampart_store::DatabaseLocation;

use crate::mail::SmtpConfig;
use crate::sync::{SecretKey, SyncSettings};
use crate::webhooks::WebhookSettings;

/// Resolved server settings (the CLI merges flags, environment, file and defaults).
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub database: DatabaseLocation,
    /// E-mail of the admin user created on first start.
    pub admin_email: String,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Time a client has to send a request's headers; a slower connection is closed
    /// (slow-client protection).
    pub header_read_timeout: std::time::Duration,
    /// Time a client has to send a request's body; a slower one gets 408.
    pub request_body_timeout: std::time::Duration,
    /// Largest SBOM upload accepted, in bytes; the upload route's body limit (413 beyond).
    pub max_sbom_bytes: usize,
    /// Largest SARIF upload accepted as sent (JSON, gzip or base64), in bytes (413 beyond).
    pub max_sarif_bytes: usize,
    /// Largest SARIF log once decompressed, in bytes (413 beyond): bounds gzip bombs.
    pub max_sarif_decoded_bytes: usize,
    /// How long `?wait=true` on an upload waits for its analysis.
    pub analysis_wait: std::time::Duration,
    /// A worker's lease on the analysis it runs, renewed every third of it while it runs:
    /// an analysis whose process died is taken over once it runs out.
    pub analysis_lease: std::time::Duration,
    /// Encrypts stored secrets (sync-source API keys). `None`: on SQLite one is generated
    /// and kept in the data directory (mode 0600); on PostgreSQL the server refuses to start,
    /// because every replica must share the key.
    pub secret_key: Option<SecretKey>,
    pub sync: SyncSettings,
    /// Webhook delivery: outbound rules, retry schedule, leases.
    pub webhooks: WebhookSettings,
    /// Website and host scans: allowed targets, limits, Recog.
    pub scans: crate::scans::ScanSettings,
    /// Plan limits (configuration, not code).
    pub plans: Plans,
    /// The plan of teams created after bootstrap (sign-ups, `POST /api/v1/teams`).
    pub default_plan: String,
    /// Outgoing mail for login codes and invitations; `None` writes codes to the log
    /// (development only).
    pub smtp: Option<SmtpConfig>,
    /// The URL clients use (e.g. `https://rampart.example.com`); an `https` URL marks the
    /// session cookie `Secure`.
    pub public_url: Option<String>,
    /// Whether an unknown e-mail may log in, creating a user and a team on the default plan.
    pub allow_signup: bool,
    pub otp_ttl: chrono::Duration,
    /// Login codes per e-mail, and per source IP, within [`ServerConfig::otp_window`].
    pub otp_max_per_email: i64,
    pub otp_max_per_ip: i64,
    pub otp_window: chrono::Duration,
    pub session_ttl: chrono::Duration,
    /// Requests per minute for callers without credentials (per source IP).
    pub anonymous_rate_limit_per_minute: u32,
    /// How often batched key usage (request counts, last use) is written.
    pub usage_flush_interval: Duration,
    /// Memory for rendered OSV records answering `/v1/query`, in bytes.
    pub osv_cache_bytes: u64,
    /// How often the e-mail notifier looks for new events.
    pub notification_interval: Duration,
    /// How often the compliance worker looks for teams without today's posture snapshot
    /// (`None`: no daily snapshots). Its first look is after the interval or five minutes,
    /// whichever is shorter.
    pub compliance_snapshot_interval: Option<Duration>,
    /// The API request log (who called which route, with what outcome).
    pub request_log: RequestLogSettings,
    /// Reverse proxies (load balancers) whose `X-Forwarded-For` is believed: a request from
    /// one of them is attributed to the address it forwarded for (the request log, the audit
    /// log's source IP, per-IP rate limits). Empty: the peer address, always.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// The server's notion of now; tests move it forward to expire codes, keys, windows.
    pub clock: Clock,
}

/// The API request log: written off the request path through a bounded buffer (a full buffer
/// drops the entry and counts it, never making a request wait), in batches, kept
/// `retention_days` and pruned every `prune_interval`.
#[derive(Debug, Clone)]
pub struct RequestLogSettings {
    pub enabled: bool,
    pub retention_days: u32,
    /// Entries the buffer holds before new ones are dropped: enough for a couple of seconds
    /// of a busy server's requests while a batch is being written.
    pub buffer: usize,
    /// Entries written per transaction at most; the writer also writes as soon as this many
    /// wait, before its next tick. Every transaction costs a commit and an update of each
    /// rollup, so under load fewer, larger ones cost less per request.
    pub batch: usize,
    /// How long an entry may wait in the buffer before it is written.
    pub flush_interval: Duration,
    pub prune_interval: Duration,
}

impl Default for RequestLogSettings {
    fn default() -> Self {
        RequestLogSettings {
            enabled: true,
            retention_days: 90,
            buffer: 60_000,
            batch: 10_000,
            flush_interval: Duration::from_secs(1),
            prune_interval: Duration::from_secs(24 * 3600),
        }
    }
}

impl ServerConfig {
    pub const DEFAULT_ADMIN_EMAIL: &'static str = "admin@localhost";
    /// 50 MB: the default SBOM size limit, the largest body any route takes.
    pub const DEFAULT_MAX_BODY_BYTES: usize = 50 * 1024 * 1024;
    /// 50 MB.
    pub const DEFAULT_MAX_SBOM_BYTES: usize = 50 * 1024 * 1024;
    pub const DEFAULT_HEADER_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
    /// Two minutes: a 50 MB SBOM at 3.5 Mbit/s.
    pub const DEFAULT_REQUEST_BODY_TIMEOUT: std::time::Duration =
        std::time::Duration::from_secs(120);

    pub fn new(database: DatabaseLocation) -> Self {
        ServerConfig {
            database,
            admin_email: Self::DEFAULT_ADMIN_EMAIL.to_string(),
            max_body_bytes: Self::DEFAULT_MAX_BODY_BYTES,
            header_read_timeout: Self::DEFAULT_HEADER_READ_TIMEOUT,
            request_body_timeout: Self::DEFAULT_REQUEST_BODY_TIMEOUT,
            max_sbom_bytes: Self::DEFAULT_MAX_SBOM_BYTES,
            max_sarif_bytes: Self::DEFAULT_MAX_SBOM_BYTES,
            max_sarif_decoded_bytes: 256 * 1024 * 1024,
            analysis_wait: std::time::Duration::from_secs(30),
            analysis_lease: crate::analysis::DEFAULT_LEASE,
            secret_key: None,
            sync: SyncSettings::default(),
            webhooks: WebhookSettings::default(),
            scans: crate::scans::ScanSettings::default(),
            plans: Plans::default(),
            default_plan: "free".to_string(),
            smtp: None,
            public_url: None,
            allow_signup: true,
            otp_ttl: chrono::Duration::minutes(10),
            otp_max_per_email: 5,
            otp_max_per_ip: 30,
            otp_window: chrono::Duration::minutes(15),
            osv_cache_bytes: crate::osv_cache::DEFAULT_CAPACITY_BYTES,
            notification_interval: Duration::from_secs(10),
            compliance_snapshot_interval: Some(Duration::from_secs(3600)),
            session_ttl: chrono::Duration::days(7),
            anonymous_rate_limit_per_minute: 300,
            usage_flush_interval: Duration::from_secs(5),
            request_log: RequestLogSettings::default(),
            trusted_proxies: Vec::new(),
            clock: Clock::default(),
        }
    }

    /// Cookies get `Secure`, and responses `Strict-Transport-Security`, when the public URL
    /// is https.
    pub fn secure_cookies(&self) -> bool {
        self.public_url
            .as_deref()
            .is_some_and(|url| url.starts_with("https://"))
    }
}

/// What a plan allows. `api_keys_per_user = 0` means the plan has no API keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct PlanLimits {
    pub api_keys_per_user: u32,
    pub scans_per_day: u32,
    pub url_monitors: u32,
    pub product_alerts: u32,
    pub rate_limit_per_minute: u32,
}

/// The three plans' limits.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct Plans {
    pub free: PlanLimits,
    pub pro: PlanLimits,
    pub enterprise: PlanLimits,
}

impl Plans {
    pub const NAMES: &'static [&'static str] = &["free", "pro", "enterprise"];

    pub fn get(&self, plan: &str) -> Option<&PlanLimits> {
        match plan {
            "free" => Some(&self.free),
            "pro" => Some(&self.pro),
            "enterprise" => Some(&self.enterprise),
            _ => None,
        }
    }

    pub fn get_mut(&mut self, plan: &str) -> Option<&mut PlanLimits> {
        match plan {
            "free" => Some(&mut self.free),
            "pro" => Some(&mut self.pro),
            "enterprise" => Some(&mut self.enterprise),
            _ => None,
        }
    }

    /// The limits of a stored plan name; an unknown name (edited by hand) gets `free`.
    pub fn limits(&self, plan: &str) -> &PlanLimits {
        self.get(plan).unwrap_or(&self.free)
    }
}

impl Default for Plans {
    /// Seed 003's Pro figures; free has no API keys; enterprise is generous.
    fn default() -> Self {
        Plans {
            free: PlanLimits {
                api_keys_per_user: 0,
                scans_per_day: 3,
                url_monitors: 1,
                product_alerts: 1,
                rate_limit_per_minute: 60,
            },
            pro: PlanLimits {
                api_keys_per_user: 5,
                scans_per_day: 10,
                url_monitors: 5,
                product_alerts: 10,
                rate_limit_per_minute: 600,
            },
            enterprise: PlanLimits {
                api_keys_per_user: 50,
                scans_per_day: 1000,
                url_monitors: 100,
                product_alerts: 500,
                rate_limit_per_minute: 6000,
            },
        }
    }
}

/// Wall-clock time plus an adjustable offset (zero in production). Clones share the offset.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset_ms: Arc<AtomicI64>,
}

impl Clock {
    /// Now, at the precision both databases store (microseconds).
    pub fn now(&self) -> DateTime<Utc> {
        (Utc::now() + chrono::Duration::milliseconds(self.offset_ms.load(Ordering::Relaxed)))
            .trunc_subsecs(6)
    }

    /// Moves this clock (and every clone) forward.
    pub fn advance(&self, by: chrono::Duration) {
        self.offset_ms
            .fetch_add(by.num_milliseconds(), Ordering::Relaxed);
    }
}
