//! Server settings from flags, `RAMPART_*` environment variables and an optional TOML file.
//! Precedence: flag > environment > file > default. Every secret also has a `*_FILE`
//! variant (a path whose contents are the secret), for container secret mounts.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use rampart_engine::mail::{SmtpConfig, SmtpTls};
use rampart_engine::sync::SecretKey;
use rampart_engine::{Plans, ServerConfig};
use rampart_store::DatabaseLocation;
use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Human,
    Json,
}

/// Where the database is; shared by every subcommand that touches one.
#[derive(Args, Debug, Default, Clone)]
pub struct DatabaseArgs {
    /// TOML configuration file (keys as the long flags with `_`: `data_dir = "…"`).
    #[arg(long, env = "RAMPART_CONFIG")]
    pub config: Option<PathBuf>,
    /// Directory of the embedded SQLite database [default: ./rampart-data].
    #[arg(long, env = "RAMPART_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Use PostgreSQL instead of SQLite: postgres://user:password@host:port/database.
    #[arg(long, env = "RAMPART_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// File containing the PostgreSQL URL (alternative to --database-url).
    #[arg(long, env = "RAMPART_DATABASE_URL_FILE")]
    pub database_url_file: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "RAMPART_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// E-mail of the admin user created on first start [default: admin@localhost].
    #[arg(long, env = "RAMPART_ADMIN_EMAIL")]
    pub admin_email: Option<String>,
    /// Write the first start's admin API key to this file (mode 0600) instead of stdout.
    #[arg(long, env = "RAMPART_ADMIN_API_KEY_FILE")]
    pub admin_api_key_file: Option<PathBuf>,
    /// Log format [default: human].
    #[arg(long, env = "RAMPART_LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,
    /// Largest request body accepted, in bytes [default: 52428800].
    #[arg(long, env = "RAMPART_MAX_BODY_BYTES")]
    pub max_body_bytes: Option<usize>,
    /// Seconds a client has to send a request's headers before its connection is closed
    /// [default: 10].
    #[arg(long, env = "RAMPART_HEADER_READ_TIMEOUT_SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    pub header_read_timeout_seconds: Option<u64>,
    /// Seconds a client has to send a request's body before it gets 408 [default: 120].
    #[arg(long, env = "RAMPART_REQUEST_BODY_TIMEOUT_SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    pub request_body_timeout_seconds: Option<u64>,
    /// Largest SBOM upload accepted, in bytes [default: 52428800].
    #[arg(long, env = "RAMPART_MAX_SBOM_BYTES")]
    pub max_sbom_bytes: Option<usize>,
    /// Memory for knowledge-base records rendered as OSV JSON, kept to answer `/v1/query`
    /// without the database, in bytes [default: 268435456].
    #[arg(long, env = "RAMPART_OSV_CACHE_BYTES")]
    pub osv_cache_bytes: Option<u64>,
    /// Requests per minute per source IP without valid credentials [default: 300].
    #[arg(long, env = "RAMPART_ANONYMOUS_RATE_LIMIT_PER_MINUTE")]
    pub anonymous_rate_limit_per_minute: Option<u32>,
    /// Reverse proxies (CIDR, comma-separated) whose X-Forwarded-For is believed for the
    /// client address (request log, audit log, per-IP rate limits) [default: none].
    #[arg(long, env = "RAMPART_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Serve Prometheus metrics at /metrics on this separate address, without credentials
    /// (bind it where only the monitoring system reaches it). Without it, /metrics is on the
    /// main address for operators only.
    #[arg(long, env = "RAMPART_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    /// Days the API request log is kept (pruned daily) [default: 90].
    #[arg(long, env = "RAMPART_REQUEST_LOG_RETENTION_DAYS", value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub request_log_retention_days: Option<u32>,
    /// Do not write the API request log (usage analytics stay empty; key usage counts and
    /// metrics go on).
    #[arg(long, env = "RAMPART_DISABLE_REQUEST_LOG")]
    pub disable_request_log: bool,
    /// Server secret key (32 bytes as 64 hex digits or base64) encrypting stored secrets such
    /// as sync-source API keys. Required on PostgreSQL (every replica needs the same key); on
    /// SQLite one is generated into the data directory when unset.
    #[arg(long, env = "RAMPART_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,
    /// File containing the server secret key (alternative to --secret-key).
    #[arg(long, env = "RAMPART_SECRET_KEY_FILE")]
    pub secret_key_file: Option<PathBuf>,
    /// Let sync sources reach loopback and private-network addresses (a LAN mirror; tests).
    /// Link-local/metadata addresses stay refused unless listed in --sync-allowed-networks.
    #[arg(long, env = "RAMPART_ALLOW_PRIVATE_SYNC_TARGETS")]
    pub allow_private_sync_targets: bool,
    /// Networks (CIDR, comma-separated) sync sources may reach whatever their class.
    #[arg(long, env = "RAMPART_SYNC_ALLOWED_NETWORKS", value_delimiter = ',')]
    pub sync_allowed_networks: Vec<ipnet::IpNet>,
    /// Let sync sources read local directories, archives and file:// URLs.
    #[arg(long, env = "RAMPART_ALLOW_LOCAL_SYNC_PATHS")]
    pub allow_local_sync_paths: bool,
    /// Do not queue sync runs by schedule on this replica (runs started through the API
    /// still execute).
    #[arg(long, env = "RAMPART_DISABLE_SYNC_SCHEDULER")]
    pub disable_sync_scheduler: bool,
    /// Do not execute sync runs on this replica (it only serves the API); other replicas
    /// sharing the database run them.
    #[arg(long, env = "RAMPART_DISABLE_SYNC_WORKER")]
    pub disable_sync_worker: bool,
    /// Seconds a replica's lease on a sync run lasts (renewed every third of it): a run
    /// whose replica died is taken over by another (or by the restarted one) once it ran out.
    #[arg(long, env = "RAMPART_SYNC_LEASE_SECONDS", value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub sync_lease_seconds: Option<u64>,
    /// Seconds a worker's lease on an SBOM analysis lasts (renewed every third of it while it
    /// runs): an analysis whose process died is taken over once it ran out [default: 60].
    #[arg(long, env = "RAMPART_ANALYSIS_LEASE_SECONDS", value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub analysis_lease_seconds: Option<u64>,
    /// Let webhook endpoints be loopback and private-network addresses (a receiver on the
    /// LAN; tests); plain `http://` is then allowed to them. Link-local/metadata addresses
    /// stay refused unless listed in --webhook-allowed-networks.
    #[arg(long, env = "RAMPART_ALLOW_PRIVATE_WEBHOOK_TARGETS")]
    pub allow_private_webhook_targets: bool,
    /// Networks (CIDR, comma-separated) webhook endpoints may be in whatever their class
    /// (plain `http://` allowed to them).
    #[arg(long, env = "RAMPART_WEBHOOK_ALLOWED_NETWORKS", value_delimiter = ',')]
    pub webhook_allowed_networks: Vec<ipnet::IpNet>,
    /// Do not deliver webhooks on this replica (it only serves the API); other replicas
    /// sharing the database deliver.
    #[arg(long, env = "RAMPART_DISABLE_WEBHOOK_WORKER")]
    pub disable_webhook_worker: bool,
    /// What website and host scans may target: CIDRs, IP addresses and host names
    /// (`*.example.com` for a domain's hosts), comma-separated. Empty (the default) refuses
    /// every scan. Link-local and cloud metadata addresses are refused whatever this says.
    #[arg(long, env = "RAMPART_SCAN_ALLOWED_TARGETS", value_delimiter = ',')]
    pub scan_allowed_targets: Vec<String>,
    /// The largest CIDR a host scan accepts, in addresses [default: 256]; larger is 422.
    #[arg(long, env = "RAMPART_SCAN_MAX_CIDR_HOSTS")]
    pub scan_max_cidr_hosts: Option<u64>,
    /// Ports added to every host-scan depth's port set, comma-separated (services on
    /// non-standard ports).
    #[arg(long, env = "RAMPART_SCAN_EXTRA_PORTS", value_delimiter = ',')]
    pub scan_extra_ports: Vec<u16>,
    /// A newer Recog `xml/` directory than the snapshot built in (each database scans use is
    /// read from there when present).
    #[arg(long, env = "RAMPART_RECOG_DIR")]
    pub recog_dir: Option<PathBuf>,
    /// Do not run scans on this replica (it only queues them); other replicas run them.
    #[arg(long, env = "RAMPART_DISABLE_SCAN_WORKER")]
    pub disable_scan_worker: bool,
    /// Seconds a replica's lease on the deliveries it sends lasts: a delivery whose replica
    /// died is sent again by another (or the restarted one) once it ran out [default: 60].
    #[arg(long, env = "RAMPART_WEBHOOK_LEASE_SECONDS", value_parser = clap::value_parser!(u64).range(1..=3_600))]
    pub webhook_lease_seconds: Option<u64>,
    /// Seconds before each retry of a failed delivery, comma-separated; the number of
    /// attempts is one more [default: 60,300,1800,7200,18000,36000,50400,72000,86400:
    /// 10 attempts over about 3 days]. Each delay varies by ±20 % (jitter).
    #[arg(long, env = "RAMPART_WEBHOOK_RETRY_SCHEDULE", value_delimiter = ',')]
    pub webhook_retry_schedule: Vec<u64>,
    /// Hours of nothing but failed deliveries after which an endpoint is disabled and its
    /// team told (a `webhook.disabled` event) [default: 120].
    #[arg(long, env = "RAMPART_WEBHOOK_DISABLE_AFTER_HOURS")]
    pub webhook_disable_after_hours: Option<u64>,
    /// Seconds between the e-mail notifier's passes over new events (each replica runs one;
    /// a lease per subscriber keeps them apart) [default: 10].
    #[arg(long, env = "RAMPART_NOTIFICATION_INTERVAL_SECONDS", value_parser = clap::value_parser!(u64).range(1..=3_600))]
    pub notification_interval_seconds: Option<u64>,
    /// The URL clients use; `https://…` marks the session cookie Secure.
    #[arg(long, env = "RAMPART_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Plan of teams created after the first start: free, pro or enterprise [default: free].
    #[arg(long, env = "RAMPART_DEFAULT_PLAN")]
    pub default_plan: Option<String>,
    /// Let unknown e-mail addresses sign up (a new team on the default plan) [default: true].
    #[arg(long, env = "RAMPART_ALLOW_SIGNUP")]
    pub allow_signup: Option<bool>,
    /// SMTP server for login codes; without it codes go to the log (development only).
    #[arg(long, env = "RAMPART_SMTP_HOST")]
    pub smtp_host: Option<String>,
    /// SMTP port [default: 587 for starttls, 465 for tls, 25 for none].
    #[arg(long, env = "RAMPART_SMTP_PORT")]
    pub smtp_port: Option<u16>,
    /// SMTP transport security: none, starttls or tls [default: starttls].
    #[arg(long, env = "RAMPART_SMTP_TLS")]
    pub smtp_tls: Option<String>,
    #[arg(long, env = "RAMPART_SMTP_USERNAME")]
    pub smtp_username: Option<String>,
    #[arg(long, env = "RAMPART_SMTP_PASSWORD", hide_env_values = true)]
    pub smtp_password: Option<String>,
    /// File containing the SMTP password.
    #[arg(long, env = "RAMPART_SMTP_PASSWORD_FILE")]
    pub smtp_password_file: Option<PathBuf>,
    /// From address of login e-mails [default: rampart@<smtp host>].
    #[arg(long, env = "RAMPART_SMTP_FROM")]
    pub smtp_from: Option<String>,
}

/// `[plans.<name>]` in the TOML file: any subset of a plan's limits.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanOverride {
    api_keys_per_user: Option<u32>,
    scans_per_day: Option<u32>,
    url_monitors: Option<u32>,
    product_alerts: Option<u32>,
    rate_limit_per_minute: Option<u32>,
}

/// The optional TOML file. Unknown keys are an error, so a typo cannot be silently ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    database_url_file: Option<PathBuf>,
    admin_email: Option<String>,
    admin_api_key_file: Option<PathBuf>,
    log_format: Option<LogFormat>,
    max_body_bytes: Option<usize>,
    header_read_timeout_seconds: Option<u64>,
    request_body_timeout_seconds: Option<u64>,
    max_sbom_bytes: Option<usize>,
    osv_cache_bytes: Option<u64>,
    anonymous_rate_limit_per_minute: Option<u32>,
    trusted_proxies: Option<Vec<ipnet::IpNet>>,
    metrics_listen: Option<SocketAddr>,
    request_log_retention_days: Option<u32>,
    disable_request_log: Option<bool>,
    secret_key: Option<String>,
    secret_key_file: Option<PathBuf>,
    allow_private_sync_targets: Option<bool>,
    sync_allowed_networks: Option<Vec<ipnet::IpNet>>,
    allow_local_sync_paths: Option<bool>,
    disable_sync_scheduler: Option<bool>,
    disable_sync_worker: Option<bool>,
    sync_lease_seconds: Option<u64>,
    analysis_lease_seconds: Option<u64>,
    allow_private_webhook_targets: Option<bool>,
    webhook_allowed_networks: Option<Vec<ipnet::IpNet>>,
    scan_allowed_targets: Option<Vec<String>>,
    scan_max_cidr_hosts: Option<u64>,
    scan_extra_ports: Option<Vec<u16>>,
    recog_dir: Option<PathBuf>,
    disable_scan_worker: Option<bool>,
    disable_webhook_worker: Option<bool>,
    webhook_lease_seconds: Option<u64>,
    webhook_retry_schedule: Option<Vec<u64>>,
    webhook_disable_after_hours: Option<u64>,
    notification_interval_seconds: Option<u64>,
    public_url: Option<String>,
    default_plan: Option<String>,
    allow_signup: Option<bool>,
    smtp_host: Option<String>,
    smtp_port: Option<u16>,
    smtp_tls: Option<String>,
    smtp_username: Option<String>,
    smtp_password: Option<String>,
    smtp_password_file: Option<PathBuf>,
    smtp_from: Option<String>,
    plans: Option<std::collections::BTreeMap<String, PlanOverride>>,
}

/// Everything `rampart serve` needs, resolved.
#[derive(Debug)]
pub struct ServeSettings {
    pub listen: SocketAddr,
    /// The separate `/metrics` listener, if any.
    pub metrics_listen: Option<SocketAddr>,
    pub log_format: LogFormat,
    pub admin_api_key_file: Option<PathBuf>,
    pub server: ServerConfig,
}

const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
const DEFAULT_DATA_DIR: &str = "./rampart-data";

fn load_file(path: Option<&Path>) -> anyhow::Result<FileConfig> {
    let Some(path) = path else {
        return Ok(FileConfig::default());
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read configuration file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("invalid configuration file {}", path.display()))
}

/// A secret given directly or through a `*_FILE` path; both at once is an error.
fn secret(
    name: &str,
    value: Option<String>,
    file: Option<PathBuf>,
) -> anyhow::Result<Option<String>> {
    match (value, file) {
        (Some(_), Some(_)) => bail!("set either {name} or {name}_file, not both"),
        (Some(value), None) => Ok(Some(value)),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {name}_file {}", path.display()))?;
            Ok(Some(text.trim().to_string()))
        }
        (None, None) => Ok(None),
    }
}

impl DatabaseArgs {
    fn resolve(self, file: &mut FileConfig) -> anyhow::Result<DatabaseLocation> {
        let url = secret(
            "database_url",
            self.database_url.or(file.database_url.take()),
            self.database_url_file.or(file.database_url_file.take()),
        )?;
        Ok(match url {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                DatabaseLocation::Postgres(url)
            }
            Some(_) => bail!("database_url must start with postgres:// or postgresql://"),
            None => DatabaseLocation::SqliteDir(
                self.data_dir
                    .or(file.data_dir.take())
                    .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR)),
            ),
        })
    }

    pub fn into_location(self) -> anyhow::Result<DatabaseLocation> {
        let mut file = load_file(self.config.as_deref())?;
        self.resolve(&mut file)
    }

    /// The database and the plan limits (`[plans.<name>]` of the same file), for
    /// subcommands that apply the server's plan rules (`rampart keys create`).
    pub fn into_location_and_plans(self) -> anyhow::Result<(DatabaseLocation, Plans)> {
        let mut file = load_file(self.config.as_deref())?;
        let location = self.resolve(&mut file)?;
        let mut plans = Plans::default();
        apply_plan_overrides(&mut plans, file.plans.take())?;
        Ok((location, plans))
    }
}

/// The file's `[plans.<name>]` tables over the built-in limits.
fn apply_plan_overrides(
    plans: &mut Plans,
    overrides: Option<std::collections::BTreeMap<String, PlanOverride>>,
) -> anyhow::Result<()> {
    for (name, limits) in overrides.unwrap_or_default() {
        let Some(plan) = plans.get_mut(&name) else {
            bail!("unknown plan [plans.{name}] (free, pro, enterprise)");
        };
        if let Some(v) = limits.api_keys_per_user {
            plan.api_keys_per_user = v;
        }
        if let Some(v) = limits.scans_per_day {
            plan.scans_per_day = v;
        }
        if let Some(v) = limits.url_monitors {
            plan.url_monitors = v;
        }
        if let Some(v) = limits.product_alerts {
            plan.product_alerts = v;
        }
        if let Some(v) = limits.rate_limit_per_minute {
            plan.rate_limit_per_minute = v;
        }
    }
    Ok(())
}

impl ServeArgs {
    pub fn resolve(self) -> anyhow::Result<ServeSettings> {
        let mut file = load_file(self.database.config.as_deref())?;
        let database = self.database.resolve(&mut file)?;
        let mut server = ServerConfig::new(database);
        if let Some(email) = self.admin_email.or(file.admin_email) {
            server.admin_email = email;
        }
        if let Some(limit) = self
            .anonymous_rate_limit_per_minute
            .or(file.anonymous_rate_limit_per_minute)
        {
            server.anonymous_rate_limit_per_minute = limit;
        }
        if let Some(limit) = self.max_body_bytes.or(file.max_body_bytes) {
            server.max_body_bytes = limit;
        }
        if let Some(seconds) = self
            .header_read_timeout_seconds
            .or(file.header_read_timeout_seconds)
        {
            server.header_read_timeout = std::time::Duration::from_secs(seconds.max(1));
        }
        if let Some(seconds) = self
            .request_body_timeout_seconds
            .or(file.request_body_timeout_seconds)
        {
            server.request_body_timeout = std::time::Duration::from_secs(seconds.max(1));
        }
        if let Some(limit) = self.max_sbom_bytes.or(file.max_sbom_bytes) {
            server.max_sbom_bytes = limit;
        }
        if let Some(bytes) = self.osv_cache_bytes.or(file.osv_cache_bytes) {
            server.osv_cache_bytes = bytes;
        }
        server.trusted_proxies = if self.trusted_proxies.is_empty() {
            file.trusted_proxies.take().unwrap_or_default()
        } else {
            self.trusted_proxies
        };
        if let Some(days) = self
            .request_log_retention_days
            .or(file.request_log_retention_days)
        {
            if days == 0 {
                bail!("request_log_retention_days must be at least 1");
            }
            server.request_log.retention_days = days;
        }
        server.request_log.enabled =
            !(self.disable_request_log || file.disable_request_log.unwrap_or(false));
        let metrics_listen = self.metrics_listen.or(file.metrics_listen);
        let secret_key = secret(
            "secret_key",
            self.secret_key.or(file.secret_key),
            self.secret_key_file.or(file.secret_key_file),
        )?;
        server.secret_key = secret_key
            .as_deref()
            .map(SecretKey::parse)
            .transpose()
            .context("invalid secret key")?;
        let outbound = &mut server.sync.outbound;
        outbound.allow_private_targets =
            self.allow_private_sync_targets || file.allow_private_sync_targets.unwrap_or(false);
        outbound.allow_local_paths =
            self.allow_local_sync_paths || file.allow_local_sync_paths.unwrap_or(false);
        outbound.allowed_networks = if self.sync_allowed_networks.is_empty() {
            file.sync_allowed_networks.unwrap_or_default()
        } else {
            self.sync_allowed_networks
        };
        server.sync.scheduler =
            !(self.disable_sync_scheduler || file.disable_sync_scheduler.unwrap_or(false));
        server.sync.execute_runs =
            !(self.disable_sync_worker || file.disable_sync_worker.unwrap_or(false));
        if let Some(seconds) = self.sync_lease_seconds.or(file.sync_lease_seconds) {
            if !(1..=86_400).contains(&seconds) {
                bail!("sync_lease_seconds must be between 1 and 86400");
            }
            server.sync.lease = std::time::Duration::from_secs(seconds);
        }
        if let Some(seconds) = self.analysis_lease_seconds.or(file.analysis_lease_seconds) {
            if !(1..=86_400).contains(&seconds) {
                bail!("analysis_lease_seconds must be between 1 and 86400");
            }
            server.analysis_lease = std::time::Duration::from_secs(seconds);
        }
        if let Some(seconds) = self
            .notification_interval_seconds
            .or(file.notification_interval_seconds)
        {
            if !(1..=3_600).contains(&seconds) {
                bail!("notification_interval_seconds must be between 1 and 3600");
            }
            server.notification_interval = std::time::Duration::from_secs(seconds);
        }
        let scans = &mut server.scans;
        let targets = if self.scan_allowed_targets.is_empty() {
            file.scan_allowed_targets.unwrap_or_default()
        } else {
            self.scan_allowed_targets
        };
        scans.targets.allowed = targets
            .iter()
            .filter(|t| !t.trim().is_empty())
            .map(|t| {
                t.parse()
                    .map_err(|e: String| anyhow::anyhow!("--scan-allowed-targets: {e}"))
            })
            .collect::<anyhow::Result<_>>()?;
        if let Some(hosts) = self.scan_max_cidr_hosts.or(file.scan_max_cidr_hosts) {
            if hosts == 0 {
                bail!("scan_max_cidr_hosts must be at least 1");
            }
            scans.max_cidr_hosts = hosts;
        }
        scans.extra_ports = if self.scan_extra_ports.is_empty() {
            file.scan_extra_ports.unwrap_or_default()
        } else {
            self.scan_extra_ports
        };
        scans.recog_dir = self.recog_dir.or(file.recog_dir);
        scans.execute = !(self.disable_scan_worker || file.disable_scan_worker.unwrap_or(false));
        let webhooks = &mut server.webhooks;
        webhooks.outbound.allow_private_targets = self.allow_private_webhook_targets
            || file.allow_private_webhook_targets.unwrap_or(false);
        webhooks.outbound.allowed_networks = if self.webhook_allowed_networks.is_empty() {
            file.webhook_allowed_networks.unwrap_or_default()
        } else {
            self.webhook_allowed_networks
        };
        webhooks.deliver =
            !(self.disable_webhook_worker || file.disable_webhook_worker.unwrap_or(false));
        if let Some(seconds) = self.webhook_lease_seconds.or(file.webhook_lease_seconds) {
            if !(1..=3_600).contains(&seconds) {
                bail!("webhook_lease_seconds must be between 1 and 3600");
            }
            webhooks.lease = std::time::Duration::from_secs(seconds);
        }
        let schedule = if self.webhook_retry_schedule.is_empty() {
            file.webhook_retry_schedule.unwrap_or_default()
        } else {
            self.webhook_retry_schedule
        };
        if !schedule.is_empty() {
            if schedule.len() > 50 || schedule.iter().any(|s| *s > 7 * 86_400) {
                bail!("webhook_retry_schedule: at most 50 delays of at most 604800 seconds each");
            }
            webhooks.retry_delays = schedule
                .into_iter()
                .map(std::time::Duration::from_secs)
                .collect();
        }
        if let Some(hours) = self
            .webhook_disable_after_hours
            .or(file.webhook_disable_after_hours)
        {
            webhooks.disable_after = std::time::Duration::from_secs(hours.max(1) * 3600);
        }
        server.public_url = self.public_url.or(file.public_url);
        if let Some(plan) = self.default_plan.or(file.default_plan) {
            server.default_plan = plan;
        }
        if let Some(allow) = self.allow_signup.or(file.allow_signup) {
            server.allow_signup = allow;
        }
        apply_plan_overrides(&mut server.plans, file.plans.take())?;
        let password = secret(
            "smtp_password",
            self.smtp_password.or(file.smtp_password.take()),
            self.smtp_password_file.or(file.smtp_password_file.take()),
        )?;
        if let Some(host) = self.smtp_host.or(file.smtp_host.take()) {
            let tls = match self
                .smtp_tls
                .or(file.smtp_tls.take())
                .as_deref()
                .unwrap_or("starttls")
            {
                "none" => SmtpTls::None,
                "starttls" => SmtpTls::Starttls,
                "tls" => SmtpTls::Tls,
                other => bail!("smtp_tls must be none, starttls or tls, not {other:?}"),
            };
            let port = self.smtp_port.or(file.smtp_port).unwrap_or(match tls {
                SmtpTls::None => 25,
                SmtpTls::Starttls => 587,
                SmtpTls::Tls => 465,
            });
            let from = self
                .smtp_from
                .or(file.smtp_from.take())
                .unwrap_or_else(|| format!("rampart@{host}"));
            server.smtp = Some(SmtpConfig {
                host,
                port,
                username: self.smtp_username.or(file.smtp_username.take()),
                password,
                tls,
                from,
            });
        }
        Ok(ServeSettings {
            metrics_listen,
            listen: self
                .listen
                .or(file.listen)
                .unwrap_or_else(|| DEFAULT_LISTEN.parse().expect("default address parses")),
            log_format: self
                .log_format
                .or(file.log_format)
                .unwrap_or(LogFormat::Human),
            admin_api_key_file: self.admin_api_key_file.or(file.admin_api_key_file),
            server,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Harness {
        #[command(flatten)]
        serve: ServeArgs,
    }

    fn settings(args: &[&str]) -> anyhow::Result<ServeSettings> {
        let mut argv = vec!["rampart"];
        argv.extend_from_slice(args);
        Harness::try_parse_from(argv)?.serve.resolve()
    }

    #[test]
    fn sbom_limit_comes_from_flag_or_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("rampart.toml");
        std::fs::write(&file, "max_sbom_bytes = 1000\n").unwrap();
        let path = file.to_str().unwrap();
        assert_eq!(
            settings(&[]).unwrap().server.max_sbom_bytes,
            ServerConfig::DEFAULT_MAX_SBOM_BYTES
        );
        assert_eq!(
            settings(&["--config", path]).unwrap().server.max_sbom_bytes,
            1000
        );
        let flagged = settings(&["--config", path, "--max-sbom-bytes", "2000"]).unwrap();
        assert_eq!(flagged.server.max_sbom_bytes, 2000);
    }

    #[test]
    fn the_sync_lease_comes_from_flag_or_file_and_zero_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("rampart.toml");
        std::fs::write(&file, "sync_lease_seconds = 30\n").unwrap();
        let path = file.to_str().unwrap();
        let default = settings(&[]).unwrap().server.sync.lease;
        assert_eq!(default, rampart_engine::sync::SyncSettings::default().lease);
        let from_file = settings(&["--config", path]).unwrap();
        assert_eq!(from_file.server.sync.lease.as_secs(), 30);
        let flagged = settings(&["--config", path, "--sync-lease-seconds", "4"]).unwrap();
        assert_eq!(flagged.server.sync.lease.as_secs(), 4);
        assert!(settings(&["--sync-lease-seconds", "0"]).is_err());
        std::fs::write(&file, "sync_lease_seconds = 0\n").unwrap();
        let error = settings(&["--config", path]).unwrap_err().to_string();
        assert!(error.contains("sync_lease_seconds"), "{error}");
    }

    #[test]
    fn flags_beat_the_file_and_the_file_beats_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("rampart.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:9999\"\nadmin_email = \"ops@example.com\"\ndata_dir = \"/tmp/x\"\n",
        )
        .unwrap();
        let path = file.to_str().unwrap();
        let from_file = settings(&["--config", path]).unwrap();
        assert_eq!(from_file.listen.to_string(), "127.0.0.1:9999");
        assert_eq!(from_file.server.admin_email, "ops@example.com");
        let flagged = settings(&["--config", path, "--listen", "127.0.0.1:7000"]).unwrap();
        assert_eq!(flagged.listen.to_string(), "127.0.0.1:7000");
        assert_eq!(flagged.server.admin_email, "ops@example.com");
        let defaults = settings(&[]).unwrap();
        assert_eq!(defaults.listen.to_string(), DEFAULT_LISTEN);
        assert!(
            matches!(defaults.server.database, DatabaseLocation::SqliteDir(ref p) if p == Path::new(DEFAULT_DATA_DIR))
        );
    }

    #[test]
    fn secrets_come_from_files_and_conflicts_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let secret_file = dir.path().join("db-url");
        std::fs::write(&secret_file, "postgres://u:p@127.0.0.1/db\n").unwrap();
        let path = secret_file.to_str().unwrap();
        let resolved = settings(&["--database-url-file", path]).unwrap();
        assert!(
            matches!(resolved.server.database, DatabaseLocation::Postgres(ref u) if u == "postgres://u:p@127.0.0.1/db")
        );
        let both = settings(&[
            "--database-url-file",
            path,
            "--database-url",
            "postgres://x@y/z",
        ]);
        assert!(both.unwrap_err().to_string().contains("not both"));
        assert!(settings(&["--database-url", "mysql://nope"]).is_err());
    }

    #[test]
    fn sync_settings_and_the_secret_key_resolve() {
        let key = "ab".repeat(32);
        let resolved = settings(&[
            "--secret-key",
            &key,
            "--allow-private-sync-targets",
            "--sync-allowed-networks",
            "10.20.0.0/16,192.168.7.0/24",
        ])
        .unwrap();
        assert!(resolved.server.secret_key.is_some());
        let outbound = &resolved.server.sync.outbound;
        assert!(outbound.allow_private_targets);
        assert!(!outbound.allow_local_paths);
        assert_eq!(outbound.allowed_networks.len(), 2);
        assert!(resolved.server.sync.scheduler);
        let defaults = settings(&[]).unwrap();
        assert!(defaults.server.secret_key.is_none());
        assert!(!defaults.server.sync.outbound.allow_private_targets);
        assert!(settings(&["--secret-key", "tooshort"]).is_err());
    }

    #[test]
    fn smtp_and_plans_come_from_flags_and_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("rampart.toml");
        std::fs::write(
            &file,
            "smtp_host = \"mail.example.com\"\nsmtp_tls = \"tls\"\ndefault_plan = \"pro\"\n\
             [plans.pro]\napi_keys_per_user = 7\n",
        )
        .unwrap();
        let resolved = settings(&["--config", file.to_str().unwrap()]).unwrap();
        let smtp = resolved.server.smtp.expect("smtp configured");
        assert_eq!((smtp.port, smtp.tls), (465, SmtpTls::Tls));
        assert_eq!(smtp.from, "rampart@mail.example.com");
        assert_eq!(resolved.server.default_plan, "pro");
        assert_eq!(resolved.server.plans.pro.api_keys_per_user, 7);
        assert_eq!(resolved.server.plans.pro.rate_limit_per_minute, 600);
        assert!(settings(&[]).unwrap().server.smtp.is_none());
        std::fs::write(&file, "[plans.gold]\napi_keys_per_user = 1\n").unwrap();
        assert!(settings(&["--config", file.to_str().unwrap()]).is_err());
    }

    #[test]
    fn the_anonymous_rate_limit_comes_from_the_file_or_the_flag() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("rampart.toml");
        std::fs::write(&file, "anonymous_rate_limit_per_minute = 5000\n").unwrap();
        let path = file.to_str().unwrap();
        let limit = |args: &[&str]| {
            settings(args)
                .unwrap()
                .server
                .anonymous_rate_limit_per_minute
        };
        assert_eq!(limit(&[]), 300);
        assert_eq!(limit(&["--config", path]), 5000);
        assert_eq!(
            limit(&["--config", path, "--anonymous-rate-limit-per-minute", "7"]),
            7
        );
    }

    #[test]
    fn unknown_file_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("rampart.toml");
        std::fs::write(&file, "lisen = \"127.0.0.1:1\"\n").unwrap();
        let error = settings(&["--config", file.to_str().unwrap()]).unwrap_err();
        assert!(format!("{error:#}").contains("lisen"), "{error:#}");
    }
}
