//! Website and host scans (seeds 003 and 002) and URL monitors: the rules.
//!
//! - Scopes `scans:write` to start, rescan and manage monitors, `scans:read` to read.
//! - Safety: a target must be in the operator's `--scan-allowed-targets` (403 naming the
//!   setting otherwise); link-local and metadata addresses never
//!   ([`crate::scans::targets`]). A CIDR larger than `--scan-max-cidr-hosts` is 422.
//! - Quota: every scan and rescan counts against the plan's `scans_per_day` (UTC day), API and
//!   dashboard alike; over it → 429 with the reset time. Monitor runs do not count (the
//!   monitor itself is counted against `url_monitors`). A team has at most
//!   `concurrent_per_team` scans queued or running (429 beyond).
//! - Test keys (`rk_test_`) never send a packet nor resolve a name: they get a deterministic
//!   simulated result (synthetic responses and banners run through the real detection and the
//!   real knowledge-base matching), stored `completed` and marked `test_mode`.
//! - Jobs: a live scan is queued and run by a worker that claims it with a lease (once across
//!   replicas; a scan whose replica died is taken again when the lease expires). Requests wait
//!   up to `wait` for small scans, else answer `queued`/`running`.
//! - CVEs: each technology with a CPE and a version is looked up with the same version-aware
//!   CPE matching as `/api/product-cves` ([`crate::services::kb::cves_of_cpe_product`]).
//! - History: a rescan keeps the earlier scan; each completed scan stores its diff against the
//!   previous completed scan of the same target, and a `scan.completed` event with it.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use ipnet::IpNet;
use rampart_core::{PageRequest, Scope};
use rampart_store::{NewScan, Page, ScanLimits, ScanMonitor, ScanRecord, ScanRefusal, StoreError};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::actor::{Actor, RequestOrigin};
use crate::error::{ErrorCode, ServiceError};
use crate::scans::host::{self, Depth, OpenPort, ProbeLimits};
use crate::scans::recog::RecogLibrary;
use crate::scans::website::{self, FetchLimits, FetchedPage, Response, Technology};
use crate::scans::TargetRefusal;
use crate::sync::{OutboundClient, OutboundPolicy};
use crate::Engine;

/// Body of `POST /api/scan` and `POST /api/v1/scans`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartWebsiteScan {
    /// The website: `https://example.com` (a bare host name means https).
    #[schema(min_length = 1, pattern = "\\S")]
    pub target: String,
}

/// Body of `POST /api/v1/scans/hosts`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartHostScan {
    /// An IP address or a CIDR range.
    #[schema(min_length = 1, pattern = "\\S")]
    pub target_ip: String,
    /// `quick` (default), `standard` or `deep`.
    #[schema(pattern = "^(quick|standard|deep)$")]
    pub depth: Option<String>,
    /// Cross-reference identified services with the knowledge base (default false).
    #[serde(default)]
    pub include_vulns: bool,
}

/// Body of `POST /api/v1/scans/monitors`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateMonitor {
    /// The website to rescan.
    #[schema(min_length = 1, pattern = "\\S")]
    pub target: String,
    /// Minutes between scans: 15–10080, default 1440 (daily).
    #[schema(minimum = 15, maximum = 10080)]
    pub interval_minutes: Option<i64>,
}

/// A knowledge-base record affecting a detected technology.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ScanVulnerability {
    /// The CVE id when the record has one, else the record's id.
    pub cve_id: String,
    pub vuln_id: String,
    pub technology: String,
    pub version: String,
    pub cpe: String,
    /// `critical`, `high`, `medium`, `low`, `none` or null (no CVSS).
    pub severity: Option<String>,
    pub cvss: Option<f64>,
    pub epss: Option<f64>,
    pub epss_percentile: Option<f64>,
    /// Listed in CISA KEV (exploited in the wild).
    pub kev: bool,
    /// The record references an exploit or proof of concept.
    pub exploit_available: bool,
    pub summary: Option<String>,
    /// Where the technology was seen (host scans: `address:port`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Why it matched (the CPE range of the record), as the match index reports it.
    #[schema(value_type = Object)]
    pub evidence: serde_json::Value,
}

/// Counts by severity band.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SeveritySummary {
    pub critical: u32,
    pub high: u32,
    pub medium: u32,
    pub low: u32,
    /// Records without a CVSS score (or scored `none`).
    pub unscored: u32,
    pub total: u32,
    pub kev: u32,
    pub exploitable: u32,
}

/// A host-scan finding in seed 002's terms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ThreatFinding {
    /// `open_port` or `vulnerable_service`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `low`, `medium`, `high` or `critical`.
    pub severity: String,
    pub details: String,
    pub cve: Option<String>,
    pub address: String,
    pub port: u16,
}

/// What a scan found.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ScanResult {
    pub technologies: Vec<Technology>,
    pub vulnerabilities: Vec<ScanVulnerability>,
    pub severity_summary: SeveritySummary,
    /// Website scans: every path fetched.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pages: Vec<FetchedPage>,
    /// Website scans: whether the final page was served over TLS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub https: Option<bool>,
    /// Website scans of https targets: the certificate the server presented (subject,
    /// issuer, validity, names, whether a browser would trust it and why not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<crate::scans::tls::TlsCertificate>,
    /// Why the certificate could not be read (no TLS on the port, a failed handshake).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_error: Option<String>,
    /// Host scans.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub open_ports: Vec<OpenPort>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<ThreatFinding>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addresses_scanned: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ports_scanned: Option<usize>,
    /// Time on the network and in identification + CVE matching.
    pub network_ms: u64,
    pub analysis_ms: u64,
    /// Simulated (test key): no packet was sent.
    #[serde(default)]
    pub test_mode: bool,
}

/// A technology as diffs name it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TechnologyRef {
    pub name: String,
    pub version: Option<String>,
}

/// A version that changed between two scans.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VersionChange {
    pub name: String,
    pub from: Option<String>,
    pub to: Option<String>,
}

/// What changed since the previous completed scan of the same target.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ScanDiff {
    /// `null` for the first scan of a target.
    pub previous_scan_id: Option<String>,
    pub changed: bool,
    pub technologies_added: Vec<TechnologyRef>,
    pub technologies_removed: Vec<TechnologyRef>,
    pub version_changes: Vec<VersionChange>,
    pub new_cves: Vec<String>,
    pub resolved_cves: Vec<String>,
    /// Host scans: `address:port`.
    pub ports_opened: Vec<String>,
    pub ports_closed: Vec<String>,
}

fn invalid(field: &str, reason: &str) -> ServiceError {
    ServiceError::invalid(format!("`{field}` {reason}"))
}

fn not_found() -> ServiceError {
    ServiceError::not_found("scan")
}

fn refused(refusal: TargetRefusal) -> ServiceError {
    ServiceError::new(ErrorCode::Forbidden, refusal.to_string())
}

/// The start of the UTC day of `at` and of the next one (when the quota resets).
pub fn quota_day(at: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = at
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .expect("midnight exists")
        .and_utc();
    (start, start + chrono::Duration::days(1))
}

/// A `sc_` id: 12 random hex digits (seed 002's shape).
fn new_public_id() -> String {
    use rand::Rng;
    let bytes: [u8; 6] = rand::thread_rng().gen();
    format!("sc_{}", hex::encode(bytes))
}

/// The parsed host-scan target: the addresses, and the CIDR as given.
#[derive(Debug, Clone)]
pub struct HostTarget {
    pub network: IpNet,
    pub addresses: Vec<IpAddr>,
}

/// `target_ip`: an address or a CIDR no larger than the configured size.
pub fn parse_host_target(text: &str, max_hosts: u64) -> Result<HostTarget, ServiceError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(invalid(
            "target_ip",
            "is required: an IP address or a CIDR range",
        ));
    }
    let network: IpNet = match text.parse::<IpNet>() {
        Ok(net) => net.trunc(),
        Err(_) => match text.parse::<IpAddr>() {
            Ok(address) => IpNet::from(address),
            Err(_) => {
                return Err(invalid(
                    "target_ip",
                    &format!("must be an IP address or a CIDR range, not {text:?}"),
                ))
            }
        },
    };
    let host_bits = u32::from(network.max_prefix_len() - network.prefix_len());
    let size: u128 = 1u128 << host_bits.min(127);
    if size > u128::from(max_hosts) {
        return Err(invalid(
            "target_ip",
            &format!(
                "covers {size} addresses; this server scans at most {max_hosts} per scan (--scan-max-cidr-hosts)"
            ),
        ));
    }
    let addresses: Vec<IpAddr> = if size == 1 {
        vec![network.addr()]
    } else {
        network.hosts().collect()
    };
    Ok(HostTarget { network, addresses })
}

/// The scans a team may start today, used and limit, and when the count resets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaUse {
    pub used: i64,
    pub limit: i64,
    pub resets_at: DateTime<Utc>,
}

/// How a scan was asked for: `api` or `ui` (each counts), `rescan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartedBy {
    Api,
    Dashboard,
}

impl StartedBy {
    fn as_str(self) -> &'static str {
        match self {
            StartedBy::Api => "api",
            StartedBy::Dashboard => "ui",
        }
    }
}

async fn queue(
    engine: &Engine,
    actor: &Actor,
    origin: &RequestOrigin,
    mut new: NewScan,
) -> Result<ScanRecord, ServiceError> {
    let now = engine.now();
    let (day_start, resets_at) = quota_day(now);
    let limits = ScanLimits {
        per_day: i64::from(engine.config.plans.limits(&actor.plan).scans_per_day),
        day_start,
        concurrent: engine.config.scans.concurrent_per_team,
    };
    if actor.is_test_mode() {
        new.simulated_result = Some(
            serde_json::to_value(simulate(engine, &new.kind, &new.target, &new.options).await?)
                .map_err(ServiceError::internal)?,
        );
    }
    let action = if new.origin == "rescan" {
        "scan.rescan"
    } else {
        "scan.create"
    };
    let event = actor.audit(origin, action).details(serde_json::json!({
        "kind": new.kind, "target": new.target, "options": new.options, "origin": new.origin,
        "test_mode": actor.is_test_mode(),
    }));
    let record = engine
        .store
        .create_scan(actor.tenant(), &new, limits, now, &event)
        .await
        .map_err(|refusal| match refusal {
            ScanRefusal::Quota { limit, used } => ServiceError::new(
                ErrorCode::RateLimited,
                format!(
                    "the team's plan allows {limit} scans per day (`scans_per_day`) and {used} were started today; the quota resets at {}",
                    resets_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                ),
            ),
            ScanRefusal::Busy { limit } => ServiceError::new(
                ErrorCode::RateLimited,
                format!("the team already has {limit} scans queued or running (the per-team concurrency cap); retry when one finishes"),
            ),
            ScanRefusal::Store(error) => error.into(),
        })?;
    if record.status == "queued" {
        engine.scans_queued.notify_one();
    }
    Ok(record)
}

/// Starts a website scan.
pub async fn start_website(
    engine: &Engine,
    actor: &Actor,
    origin: &RequestOrigin,
    body: StartWebsiteScan,
    started_by: StartedBy,
) -> Result<ScanRecord, ServiceError> {
    actor.require(Scope::ScansWrite)?;
    let url = website::parse_target(&body.target).map_err(|reason| invalid("target", &reason))?;
    if !actor.is_test_mode() {
        admit_website(engine, &url).await?;
    }
    queue(
        engine,
        actor,
        origin,
        NewScan {
            public_id: new_public_id(),
            kind: "website".into(),
            target: url.to_string(),
            options: serde_json::json!({}),
            origin: started_by.as_str().into(),
            previous_scan_id: None,
            monitor_id: None,
            requested_by: actor.user_email.clone(),
            simulated_result: None,
        },
    )
    .await
}

async fn admit_website(engine: &Engine, url: &reqwest::Url) -> Result<(), ServiceError> {
    website::admit_url(&engine.config.scans.targets, url)
        .await
        .map(drop)
        .map_err(|error| match error {
            website::AdmitError::Refused(refusal) => refused(refusal),
            website::AdmitError::Resolve(reason) => invalid("target", &reason),
        })
}

fn admit_host(engine: &Engine, target: &HostTarget) -> Result<(), ServiceError> {
    let policy = &engine.config.scans.targets;
    if target.addresses.len() == 1 {
        policy.admit_host(None, &target.addresses)
    } else {
        policy.admit_network(&target.network)
    }
    .map_err(refused)
}

/// Starts a host threat scan.
pub async fn start_host(
    engine: &Engine,
    actor: &Actor,
    origin: &RequestOrigin,
    body: StartHostScan,
) -> Result<ScanRecord, ServiceError> {
    actor.require(Scope::ScansWrite)?;
    let depth = match body
        .depth
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty())
    {
        None => Depth::Quick,
        Some(text) => {
            Depth::parse(text).ok_or_else(|| invalid("depth", "must be quick, standard or deep"))?
        }
    };
    let target = parse_host_target(&body.target_ip, engine.config.scans.max_cidr_hosts)?;
    if !actor.is_test_mode() {
        admit_host(engine, &target)?;
    }
    queue(
        engine,
        actor,
        origin,
        NewScan {
            public_id: new_public_id(),
            kind: "host".into(),
            target: target.network.to_string(),
            options: serde_json::json!({"depth": depth.as_str(), "include_vulns": body.include_vulns}),
            origin: "api".into(),
            previous_scan_id: None,
            monitor_id: None,
            requested_by: actor.user_email.clone(),
            simulated_result: None,
        },
    )
    .await
}

/// Scans the same target again with the same options (counted like any scan).
pub async fn rescan(
    engine: &Engine,
    actor: &Actor,
    origin: &RequestOrigin,
    public_id: &str,
) -> Result<ScanRecord, ServiceError> {
    actor.require(Scope::ScansWrite)?;
    let earlier = engine
        .store
        .scan(actor.tenant(), public_id.trim())
        .await?
        .ok_or_else(not_found)?;
    if !actor.is_test_mode() {
        match earlier.kind.as_str() {
            "website" => {
                let url = website::parse_target(&earlier.target)
                    .map_err(|reason| invalid("target", &reason))?;
                admit_website(engine, &url).await?;
            }
            _ => {
                let target =
                    parse_host_target(&earlier.target, engine.config.scans.max_cidr_hosts)?;
                admit_host(engine, &target)?;
            }
        }
    }
    queue(
        engine,
        actor,
        origin,
        NewScan {
            public_id: new_public_id(),
            kind: earlier.kind.clone(),
            target: earlier.target.clone(),
            options: serde_json::from_str(&earlier.options).unwrap_or_default(),
            origin: "rescan".into(),
            previous_scan_id: Some(earlier.id),
            monitor_id: None,
            requested_by: actor.user_email.clone(),
            simulated_result: None,
        },
    )
    .await
}

/// One scan.
pub async fn get(
    engine: &Engine,
    actor: &Actor,
    public_id: &str,
) -> Result<ScanRecord, ServiceError> {
    actor.require(Scope::ScansRead)?;
    engine
        .store
        .scan(actor.tenant(), public_id.trim())
        .await?
        .ok_or_else(not_found)
}

/// Waits up to `timeout` for a queued or running scan to finish; returns it as it then is.
pub async fn wait_for(
    engine: &Engine,
    actor: &Actor,
    scan: ScanRecord,
    timeout: Duration,
) -> Result<ScanRecord, ServiceError> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut scan = scan;
    while matches!(scan.status.as_str(), "queued" | "running")
        && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(25)).await;
        scan = engine
            .store
            .scan(actor.tenant(), &scan.public_id)
            .await?
            .ok_or_else(not_found)?;
    }
    Ok(scan)
}

/// The team's scans, newest first (`kind`: `website` or `host`).
pub async fn list(
    engine: &Engine,
    actor: &Actor,
    kind: Option<&str>,
    page: PageRequest,
) -> Result<Page<ScanRecord>, ServiceError> {
    actor.require(Scope::ScansRead)?;
    let kind = match kind.map(str::trim).filter(|k| !k.is_empty()) {
        None => None,
        Some(kind @ ("website" | "host")) => Some(kind),
        Some(_) => {
            return Err(ServiceError::new(
                ErrorCode::BadRequest,
                "`kind` must be website or host",
            ))
        }
    };
    Ok(engine.store.list_scans(actor.tenant(), kind, page).await?)
}

/// Every scan of the team (newest first, at most 1,000) for the JSON export.
pub async fn export_all(engine: &Engine, actor: &Actor) -> Result<Vec<ScanRecord>, ServiceError> {
    actor.require(Scope::ScansRead)?;
    let page = PageRequest::new(1, 500).map_err(|e| ServiceError::internal(e.to_string()))?;
    let mut all = engine
        .store
        .list_scans(actor.tenant(), None, page)
        .await?
        .items;
    let second = PageRequest::new(2, 500).map_err(|e| ServiceError::internal(e.to_string()))?;
    all.extend(
        engine
            .store
            .list_scans(actor.tenant(), None, second)
            .await?
            .items,
    );
    Ok(all)
}

/// The public id of a scan's internal id, within the tenant.
pub async fn public_id_of(
    engine: &Engine,
    actor: &Actor,
    id: Option<i64>,
) -> Result<Option<String>, ServiceError> {
    match id {
        None => Ok(None),
        Some(id) => Ok(engine
            .store
            .scan_by_id(actor.tenant(), id)
            .await?
            .map(|s| s.public_id)),
    }
}

/// The diff against an explicit earlier scan of the same target (`against`), or the stored
/// diff against the previous one.
pub async fn diff(
    engine: &Engine,
    actor: &Actor,
    public_id: &str,
    against: Option<&str>,
) -> Result<ScanDiff, ServiceError> {
    let scan = get(engine, actor, public_id).await?;
    if scan.status != "completed" {
        return Err(ServiceError::new(
            ErrorCode::Conflict,
            format!("the scan is {}; a diff needs a completed scan", scan.status),
        ));
    }
    let result: ScanResult = parse_result(&scan)?;
    let previous = match against.map(str::trim).filter(|a| !a.is_empty()) {
        Some(other) => {
            let other = engine
                .store
                .scan(actor.tenant(), other)
                .await?
                .ok_or_else(|| ServiceError::not_found("scan `against`"))?;
            if other.target != scan.target || other.kind != scan.kind {
                return Err(invalid("against", "must be a scan of the same target"));
            }
            Some(other)
        }
        None => {
            engine
                .store
                .previous_completed_scan(actor.tenant(), &scan.kind, &scan.target, scan.id)
                .await?
        }
    };
    let previous_result = match &previous {
        Some(p) if p.status == "completed" => Some(parse_result(p)?),
        Some(_) => return Err(invalid("against", "must be a completed scan")),
        None => None,
    };
    Ok(compute_diff(
        previous.as_ref().map(|p| p.public_id.clone()),
        previous_result.as_ref(),
        &result,
    ))
}

pub fn parse_result(scan: &ScanRecord) -> Result<ScanResult, ServiceError> {
    scan.result
        .as_deref()
        .map(serde_json::from_str)
        .transpose()
        .map_err(ServiceError::internal)
        .map(Option::unwrap_or_default)
}

pub fn parse_diff(scan: &ScanRecord) -> Option<ScanDiff> {
    scan.diff
        .as_deref()
        .and_then(|d| serde_json::from_str(d).ok())
}

/// What changed from `previous` to `current`.
pub fn compute_diff(
    previous_id: Option<String>,
    previous: Option<&ScanResult>,
    current: &ScanResult,
) -> ScanDiff {
    let Some(previous) = previous else {
        return ScanDiff::default();
    };
    let versions = |result: &ScanResult| -> BTreeMap<String, BTreeSet<Option<String>>> {
        let mut map: BTreeMap<String, BTreeSet<Option<String>>> = BTreeMap::new();
        for technology in &result.technologies {
            map.entry(technology.name.clone())
                .or_default()
                .insert(technology.version.clone());
        }
        map
    };
    let (before, after) = (versions(previous), versions(current));
    let mut diff = ScanDiff {
        previous_scan_id: previous_id,
        ..ScanDiff::default()
    };
    for (name, now) in &after {
        match before.get(name) {
            None => diff
                .technologies_added
                .extend(now.iter().map(|v| TechnologyRef {
                    name: name.clone(),
                    version: v.clone(),
                })),
            Some(then) if then != now => diff.version_changes.push(VersionChange {
                name: name.clone(),
                from: then.iter().flatten().next_back().cloned(),
                to: now.iter().flatten().next_back().cloned(),
            }),
            Some(_) => {}
        }
    }
    for (name, then) in &before {
        if !after.contains_key(name) {
            diff.technologies_removed
                .extend(then.iter().map(|v| TechnologyRef {
                    name: name.clone(),
                    version: v.clone(),
                }));
        }
    }
    let cves = |result: &ScanResult| -> BTreeSet<String> {
        result
            .vulnerabilities
            .iter()
            .map(|v| v.cve_id.clone())
            .collect()
    };
    let (cves_before, cves_after) = (cves(previous), cves(current));
    diff.new_cves = cves_after.difference(&cves_before).cloned().collect();
    diff.resolved_cves = cves_before.difference(&cves_after).cloned().collect();
    let ports = |result: &ScanResult| -> BTreeSet<String> {
        result
            .open_ports
            .iter()
            .map(|p| format!("{}:{}", p.address, p.port))
            .collect()
    };
    let (ports_before, ports_after) = (ports(previous), ports(current));
    diff.ports_opened = ports_after.difference(&ports_before).cloned().collect();
    diff.ports_closed = ports_before.difference(&ports_after).cloned().collect();
    diff.changed = !(diff.technologies_added.is_empty()
        && diff.technologies_removed.is_empty()
        && diff.version_changes.is_empty()
        && diff.new_cves.is_empty()
        && diff.resolved_cves.is_empty()
        && diff.ports_opened.is_empty()
        && diff.ports_closed.is_empty());
    diff
}

fn recog(engine: &Engine) -> Result<Arc<RecogLibrary>, ServiceError> {
    engine
        .recog
        .get(engine.config.scans.recog_dir.as_deref())
        .map_err(ServiceError::internal)
}

/// Knowledge-base records of each technology with a CPE vendor/product and a version.
async fn cross_reference(
    engine: &Engine,
    technologies: &[(Technology, Option<String>)],
) -> Result<Vec<ScanVulnerability>, ServiceError> {
    let mut found: Vec<ScanVulnerability> = Vec::new();
    for (technology, location) in technologies {
        let (Some(vendor), Some(product), Some(version), Some(cpe)) = (
            &technology.vendor,
            &technology.product,
            &technology.version,
            &technology.cpe,
        ) else {
            continue;
        };
        let page =
            crate::services::kb::cves_of_cpe_product(engine, vendor, product, version).await?;
        for (row, evidence) in page.with_evidence() {
            if found
                .iter()
                .any(|v| v.vuln_id == row.vuln_id && v.location == *location && v.cpe == *cpe)
            {
                continue;
            }
            found.push(ScanVulnerability {
                cve_id: row.vuln_id.clone(),
                vuln_id: row.vuln_id,
                technology: technology.name.clone(),
                version: version.clone(),
                cpe: cpe.clone(),
                severity: row.severity_band,
                cvss: row.max_cvss,
                epss: row.epss,
                epss_percentile: row.epss_percentile,
                kev: row.in_kev,
                exploit_available: row.has_exploit_reference,
                summary: row.summary,
                location: location.clone(),
                evidence: evidence.unwrap_or(serde_json::Value::Null),
            });
        }
    }
    found.sort_by(|a, b| {
        b.cvss
            .partial_cmp(&a.cvss)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| a.cve_id.cmp(&b.cve_id))
    });
    Ok(found)
}

fn summarise(vulnerabilities: &[ScanVulnerability]) -> SeveritySummary {
    let mut summary = SeveritySummary::default();
    for v in vulnerabilities {
        match v.severity.as_deref() {
            Some("critical") => summary.critical += 1,
            Some("high") => summary.high += 1,
            Some("medium") => summary.medium += 1,
            Some("low") => summary.low += 1,
            _ => summary.unscored += 1,
        }
        summary.total += 1;
        summary.kev += u32::from(v.kev);
        summary.exploitable += u32::from(v.exploit_available);
    }
    summary
}

/// Website technologies → result (CVE cross-reference included).
async fn website_result(
    engine: &Engine,
    observation: website::WebsiteObservation,
    test_mode: bool,
) -> Result<ScanResult, ServiceError> {
    let started = std::time::Instant::now();
    let located: Vec<(Technology, Option<String>)> = observation
        .technologies
        .iter()
        .cloned()
        .map(|t| (t, None))
        .collect();
    let vulnerabilities = cross_reference(engine, &located).await?;
    Ok(ScanResult {
        severity_summary: summarise(&vulnerabilities),
        technologies: observation.technologies,
        vulnerabilities,
        pages: observation.pages,
        https: Some(observation.https),
        tls: observation.tls.clone().and_then(Result::ok),
        tls_error: observation.tls.and_then(Result::err),
        network_ms: observation.fetch_ms,
        analysis_ms: observation.detect_ms + started.elapsed().as_millis() as u64,
        test_mode,
        ..ScanResult::default()
    })
}

/// Host observation → result with seed 002's findings.
async fn host_result(
    engine: &Engine,
    observation: host::HostObservation,
    include_vulns: bool,
    test_mode: bool,
) -> Result<ScanResult, ServiceError> {
    let started = std::time::Instant::now();
    let mut findings = Vec::new();
    let mut located = Vec::new();
    let mut technologies: Vec<Technology> = Vec::new();
    for open in &observation.open_ports {
        let service = open.service.clone().unwrap_or_else(|| "unknown".into());
        let what = match &open.technology {
            Some(t) => format!(
                "{service}: {}{}",
                t.name,
                t.version
                    .as_deref()
                    .map(|v| format!(" {v}"))
                    .unwrap_or_default()
            ),
            None => service,
        };
        findings.push(ThreatFinding {
            kind: "open_port".into(),
            severity: host::port_severity(open.port).into(),
            details: format!("Port {} ({what}) open on {}", open.port, open.address),
            cve: None,
            address: open.address.clone(),
            port: open.port,
        });
        if let Some(technology) = &open.technology {
            located.push((
                technology.clone(),
                Some(format!("{}:{}", open.address, open.port)),
            ));
            if !technologies
                .iter()
                .any(|t| t.name == technology.name && t.version == technology.version)
            {
                technologies.push(technology.clone());
            }
        }
    }
    let vulnerabilities = if include_vulns {
        cross_reference(engine, &located).await?
    } else {
        Vec::new()
    };
    for v in &vulnerabilities {
        let (address, port) = v
            .location
            .as_deref()
            .and_then(|l| l.rsplit_once(':'))
            .map(|(a, p)| {
                (
                    a.trim_matches(['[', ']']).to_string(),
                    p.parse().unwrap_or(0),
                )
            })
            .unwrap_or_default();
        findings.push(ThreatFinding {
            kind: "vulnerable_service".into(),
            severity: match v.severity.as_deref() {
                Some(band @ ("critical" | "high" | "medium" | "low")) => band.into(),
                _ => "medium".into(),
            },
            details: format!("{} {} detected", v.technology, v.version),
            cve: Some(v.cve_id.clone()),
            address,
            port,
        });
    }
    Ok(ScanResult {
        severity_summary: summarise(&vulnerabilities),
        technologies,
        vulnerabilities,
        addresses_scanned: Some(observation.addresses_scanned),
        ports_scanned: Some(observation.ports_scanned),
        open_ports: observation.open_ports,
        findings,
        network_ms: observation.duration_ms,
        analysis_ms: started.elapsed().as_millis() as u64,
        test_mode,
        ..ScanResult::default()
    })
}

/// A test key's result: synthetic responses and banners (deterministic per target) run
/// through the real identification and knowledge-base matching. Nothing is sent.
async fn simulate(
    engine: &Engine,
    kind: &str,
    target: &str,
    options: &serde_json::Value,
) -> Result<ScanResult, ServiceError> {
    let recog = recog(engine)?;
    if kind == "website" {
        let response = Response {
            path: "/".into(),
            status: 200,
            headers: vec![
                ("server".into(), "nginx/1.18.0".into()),
                ("content-type".into(), "text/html".into()),
            ],
            body: b"<html><head><title>Simulated</title><meta name=\"generator\" content=\"WordPress 5.8.1\"><script src=\"/wp-includes/js/jquery/jquery-3.4.1.min.js\"></script></head></html>".to_vec(),
        };
        let technologies = website::detect(&recog, std::slice::from_ref(&response));
        let technologies = technologies
            .into_iter()
            .map(|mut t| {
                for e in &mut t.evidence {
                    e.matched_by = format!("{} (simulated, test key)", e.matched_by);
                }
                t
            })
            .collect();
        let observation = website::WebsiteObservation {
            pages: vec![FetchedPage {
                path: "/".into(),
                url: target.to_string(),
                status: Some(200),
                bytes: response.body.len(),
                truncated: false,
                redirects: Vec::new(),
                error: None,
                duration_ms: 0,
            }],
            technologies,
            https: target.starts_with("https://"),
            // A test key sends no packet: no handshake, no certificate.
            tls: None,
            fetch_ms: 0,
            detect_ms: 0,
        };
        return website_result(engine, observation, true).await;
    }
    let address = target.split('/').next().unwrap_or(target).to_string();
    let mut open_ports = Vec::new();
    for (port, banner) in [
        (22u16, &b"SSH-2.0-OpenSSH_7.4\r\n"[..]),
        (
            80,
            &b"HTTP/1.1 200 OK\r\nServer: Apache/2.4.29 (Ubuntu)\r\n\r\n"[..],
        ),
    ] {
        let location = format!("{address}:{port}");
        let identified = host::identify_banner(&recog, port, banner, &location);
        open_ports.push(OpenPort {
            address: address.clone(),
            port,
            service: identified.as_ref().map(|(s, _)| s.to_string()),
            banner: Some(String::from_utf8_lossy(banner).trim_end().to_string()),
            technology: identified.and_then(|(_, t)| t),
        });
    }
    let observation = host::HostObservation {
        addresses_scanned: 1,
        ports_scanned: 2,
        open_ports,
        duration_ms: 0,
    };
    let include_vulns = options
        .get("include_vulns")
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(false);
    host_result(engine, observation, include_vulns, true).await
}

/// Runs one claimed scan to its result.
async fn execute(engine: &Engine, scan: &ScanRecord) -> Result<ScanResult, String> {
    let recog = recog(engine).map_err(|e| e.to_string())?;
    let settings = &engine.config.scans;
    let options: serde_json::Value = serde_json::from_str(&scan.options).unwrap_or_default();
    match scan.kind.as_str() {
        "website" => {
            let url = website::parse_target(&scan.target)?;
            let client = OutboundClient::new(OutboundPolicy {
                // The scan allow-list decides; the guard still refuses link-local/metadata.
                allow_private_targets: true,
                allowed_networks: Vec::new(),
                allow_local_paths: false,
                max_response_bytes: settings.max_page_bytes,
                request_timeout: settings.request_timeout,
                connect_timeout: settings.connect_timeout.max(Duration::from_secs(2)),
                max_redirects: 0,
                // The certificate is judged apart (`scans::tls`); the page is read anyway.
                accept_invalid_certificates: true,
            })
            .map_err(|e| e.to_string())?;
            let observation = website::scan(
                &client,
                &settings.targets,
                &recog,
                &url,
                FetchLimits {
                    max_bytes: settings.max_page_bytes,
                    max_redirects: settings.max_redirects,
                },
            )
            .await?;
            website_result(engine, observation, false)
                .await
                .map_err(|e| e.to_string())
        }
        "host" => {
            let target = parse_host_target(&scan.target, settings.max_cidr_hosts)
                .map_err(|e| e.to_string())?;
            // The allow-list is checked again: it may have changed since the scan was queued.
            admit_host(engine, &target).map_err(|e| e.to_string())?;
            let depth = options
                .get("depth")
                .and_then(serde_json::Value::as_str)
                .and_then(Depth::parse)
                .unwrap_or(Depth::Quick);
            let include_vulns = options
                .get("include_vulns")
                .and_then(serde_json::Value::as_bool)
                .unwrap_or(false);
            let observation = host::scan(
                &target.addresses,
                &host::ports_for(depth, &settings.extra_ports),
                recog,
                ProbeLimits {
                    connect_timeout: settings.connect_timeout,
                    banner_timeout: settings.banner_timeout,
                    parallel: settings.parallel_connections,
                },
            )
            .await;
            host_result(engine, observation, include_vulns, false)
                .await
                .map_err(|e| e.to_string())
        }
        other => Err(format!("unknown scan kind {other}")),
    }
}

/// Runs a claimed scan and records its outcome (result + diff + event, or the failure).
async fn run_claimed(engine: &Engine, scan: ScanRecord) {
    let lease = engine.config.scans.lease;
    let renewer = {
        let store = engine.store.clone();
        let clock = engine.config.clock.clone();
        let id = scan.id;
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(lease / 3).await;
                let until = clock.now()
                    + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::minutes(5));
                if store.renew_scan_lease(id, until).await.is_err() {
                    return;
                }
            }
        })
    };
    let outcome = execute(engine, &scan).await;
    renewer.abort();
    let tenant = rampart_store::Tenant {
        team_id: scan.team_id,
        test: scan.is_test,
    };
    match outcome {
        Ok(result) => {
            let previous = match engine
                .store
                .previous_completed_scan(tenant, &scan.kind, &scan.target, scan.id)
                .await
            {
                Ok(previous) => previous,
                Err(error) => {
                    tracing::error!(scan = scan.id, %error, "reading the previous scan failed");
                    None
                }
            };
            let previous_result = previous
                .as_ref()
                .and_then(|p| p.result.as_deref())
                .and_then(|r| serde_json::from_str::<ScanResult>(r).ok());
            let diff = compute_diff(
                previous.as_ref().map(|p| p.public_id.clone()),
                previous_result.as_ref(),
                &result,
            );
            let event = serde_json::json!({
                "scan_id": scan.public_id, "kind": scan.kind, "target": scan.target,
                "status": "completed", "origin": scan.origin, "monitor_id": scan.monitor_id,
                "technologies": result.technologies.len(),
                "vulnerabilities": result.vulnerabilities.len(),
                "severity_summary": result.severity_summary,
                "diff": diff,
            });
            let (result, diff) = (
                serde_json::to_value(&result).unwrap_or_default(),
                serde_json::to_value(&diff).unwrap_or_default(),
            );
            if let Err(error) = engine
                .store
                .complete_scan(&scan, &result, &diff, event, engine.now())
                .await
            {
                tracing::error!(scan = scan.id, %error, "recording a scan's result failed");
            }
        }
        Err(error) => {
            tracing::warn!(scan = scan.id, %error, "scan failed");
            if let Err(error) = engine.store.fail_scan(scan.id, &error, engine.now()).await {
                tracing::error!(scan = scan.id, %error, "recording a scan's failure failed");
            }
        }
    }
}

/// This replica's scan worker: claims queued scans (up to 4 at once) and queues due monitor
/// runs, until `stop`.
pub async fn run_worker(engine: Engine, mut stop: watch::Receiver<bool>) {
    let slots = Arc::new(tokio::sync::Semaphore::new(4));
    loop {
        if *stop.borrow() {
            return;
        }
        if let Err(error) = queue_due_monitors(&engine).await {
            tracing::warn!(%error, "queuing monitor scans failed");
        }
        let mut claimed_any = false;
        while let Ok(permit) = Arc::clone(&slots).try_acquire_owned() {
            match engine
                .store
                .claim_scan(engine.config.scans.lease, engine.now())
                .await
            {
                Ok(Some(scan)) => {
                    claimed_any = true;
                    let engine = engine.clone();
                    tokio::spawn(async move {
                        run_claimed(&engine, scan).await;
                        drop(permit);
                    });
                }
                Ok(None) => break,
                Err(error) => {
                    tracing::warn!(%error, "claiming a scan failed");
                    break;
                }
            }
        }
        if claimed_any {
            continue;
        }
        tokio::select! {
            _ = engine.scans_queued.notified() => {}
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stop.changed() => {}
        }
    }
}

/// Queues a scan for every monitor that is due (monitor runs do not count against
/// `scans_per_day`).
async fn queue_due_monitors(engine: &Engine) -> Result<(), StoreError> {
    for _ in 0..20 {
        let Some(monitor) = engine.store.claim_due_monitor(engine.now()).await? else {
            return Ok(());
        };
        let tenant = rampart_store::Tenant {
            team_id: monitor.team_id,
            test: monitor.is_test,
        };
        let event = rampart_store::AuditEvent::new(
            Some(monitor.team_id),
            rampart_store::AuditActor {
                user_id: None,
                label: "system".into(),
                kind: "system",
            },
            "scan.create",
        )
        .details(serde_json::json!({"monitor_id": monitor.id, "target": monitor.target}));
        let (day_start, _) = quota_day(engine.now());
        let created = engine
            .store
            .create_scan(
                tenant,
                &NewScan {
                    public_id: new_public_id(),
                    kind: "website".into(),
                    target: monitor.target.clone(),
                    options: serde_json::json!({}),
                    origin: "monitor".into(),
                    previous_scan_id: monitor.last_scan_id,
                    monitor_id: Some(monitor.id),
                    requested_by: monitor.created_by.clone(),
                    simulated_result: None,
                },
                ScanLimits {
                    per_day: i64::MAX,
                    day_start,
                    concurrent: i64::MAX,
                },
                engine.now(),
                &event,
            )
            .await;
        if let Err(refusal) = created {
            tracing::warn!(
                monitor = monitor.id,
                ?refusal,
                "a monitor's scan was not queued"
            );
        }
    }
    Ok(())
}

/// Creates a URL monitor (plan `url_monitors`); its first scan runs at once.
pub async fn create_monitor(
    engine: &Engine,
    actor: &Actor,
    origin: &RequestOrigin,
    body: CreateMonitor,
) -> Result<ScanMonitor, ServiceError> {
    actor.require(Scope::ScansWrite)?;
    let url = website::parse_target(&body.target).map_err(|reason| invalid("target", &reason))?;
    let interval = body.interval_minutes.unwrap_or(1440);
    if !(15..=10_080).contains(&interval) {
        return Err(invalid("interval_minutes", "must be between 15 and 10080"));
    }
    if !actor.is_test_mode() {
        admit_website(engine, &url).await?;
    }
    let limit = i64::from(engine.config.plans.limits(&actor.plan).url_monitors);
    if limit == 0 {
        return Err(ServiceError::new(
            ErrorCode::UpgradeRequired,
            "URL monitors are not part of the team's plan",
        ));
    }
    let event = actor
        .audit(origin, "scan_monitor.create")
        .details(serde_json::json!({"target": url.to_string(), "interval_minutes": interval}));
    let monitor = engine
        .store
        .create_scan_monitor(
            actor.tenant(),
            url.as_str(),
            interval,
            &actor.user_email,
            limit,
            engine.now(),
            &event,
        )
        .await
        .map_err(|error| match error {
            StoreError::LimitReached(limit) => ServiceError::new(
                ErrorCode::QuotaExceeded,
                format!(
                    "Maximum of {limit} URL monitors allowed on the team's plan (`url_monitors`)"
                ),
            ),
            other => other.into(),
        })?;
    engine.scans_queued.notify_one();
    Ok(monitor)
}

pub async fn list_monitors(
    engine: &Engine,
    actor: &Actor,
    page: PageRequest,
) -> Result<(Page<ScanMonitor>, i64), ServiceError> {
    actor.require(Scope::ScansRead)?;
    let monitors = engine
        .store
        .list_scan_monitors(actor.tenant(), page)
        .await?;
    let limit = i64::from(engine.config.plans.limits(&actor.plan).url_monitors);
    Ok((monitors, limit))
}

pub async fn get_monitor(
    engine: &Engine,
    actor: &Actor,
    id: i64,
) -> Result<ScanMonitor, ServiceError> {
    actor.require(Scope::ScansRead)?;
    engine
        .store
        .scan_monitor(actor.tenant(), id)
        .await?
        .ok_or_else(|| ServiceError::not_found("monitor"))
}

pub async fn delete_monitor(
    engine: &Engine,
    actor: &Actor,
    origin: &RequestOrigin,
    id: i64,
) -> Result<(), ServiceError> {
    actor.require(Scope::ScansWrite)?;
    let event = actor.audit(origin, "scan_monitor.delete");
    if engine
        .store
        .delete_scan_monitor(actor.tenant(), id, engine.now(), &event)
        .await?
    {
        Ok(())
    } else {
        Err(ServiceError::not_found("monitor"))
    }
}

/// One quota: used and limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct QuotaLine {
    pub used: i64,
    pub limit: i64,
}

/// `GET /api/v1/usage/quotas`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Quotas {
    pub plan: String,
    /// Scans started today (UTC) against `scans_per_day`, with when the count resets.
    pub scans: QuotaLine,
    pub scans_reset_at: DateTime<Utc>,
    /// URL monitors against `url_monitors`.
    pub monitors: QuotaLine,
    /// Product/vendor alerts against `product_alerts`.
    pub alerts: QuotaLine,
    /// The caller's active API keys against `api_keys_per_user`.
    pub api_keys: QuotaLine,
}

/// The team's use of its plan's quotas (test keys see their own test counts).
pub async fn quotas(engine: &Engine, actor: &Actor) -> Result<Quotas, ServiceError> {
    actor.require(Scope::ScansRead)?;
    let limits = engine.config.plans.limits(&actor.plan);
    let now = engine.now();
    let (day_start, resets_at) = quota_day(now);
    let tenant = actor.tenant();
    let one = PageRequest::new(1, 1).map_err(|e| ServiceError::internal(e.to_string()))?;
    let scans = engine.store.scans_counted_since(tenant, day_start).await?;
    let monitors = engine.store.list_scan_monitors(tenant, one).await?.total;
    let alerts = engine.store.list_alert_watches(tenant, one).await?.total;
    let keys = engine
        .store
        .active_api_keys_of_user(actor.team_id, actor.user_id, now)
        .await?;
    Ok(Quotas {
        plan: actor.plan.clone(),
        scans: QuotaLine {
            used: scans,
            limit: limits.scans_per_day.into(),
        },
        scans_reset_at: resets_at,
        monitors: QuotaLine {
            used: monitors,
            limit: limits.url_monitors.into(),
        },
        alerts: QuotaLine {
            used: alerts,
            limit: limits.product_alerts.into(),
        },
        api_keys: QuotaLine {
            used: keys,
            limit: limits.api_keys_per_user.into(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_targets_are_bounded() {
        assert_eq!(
            parse_host_target("127.0.0.1", 256).unwrap().addresses.len(),
            1
        );
        assert_eq!(
            parse_host_target("127.0.0.0/24", 256)
                .unwrap()
                .addresses
                .len(),
            254
        );
        let error = parse_host_target("10.0.0.0/16", 256).unwrap_err();
        assert_eq!(error.code(), ErrorCode::ValidationFailed);
        assert!(error.message().contains("target_ip"));
        assert!(parse_host_target("not-an-ip", 256).is_err());
    }

    #[test]
    fn quota_resets_at_the_next_utc_midnight() {
        let at = DateTime::parse_from_rfc3339("2026-12-02T17:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let (start, reset) = quota_day(at);
        assert_eq!(start.to_rfc3339(), "2026-12-02T00:00:00+00:00");
        assert_eq!(reset.to_rfc3339(), "2026-12-03T00:00:00+00:00");
    }
}
