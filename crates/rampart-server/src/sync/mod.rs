//! Keeping the knowledge base current: sync sources (server-wide feed configuration), the
//! outbound guard every fetch passes, the fetchers per feed type, and the scheduler/worker
//! that runs each source every `syncIntervalHours`, once across all replicas.

pub mod archive;
pub mod outbound;
mod runner;
pub mod secret;
mod service;

use std::time::Duration;

pub use outbound::{GuardError, Location, OutboundClient, OutboundPolicy};
pub use secret::{mask_api_key, SecretKey};
pub use service::SyncService;

/// The feed types a sync source can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceType {
    Osv,
    Nvd,
    Ghsa,
    Kev,
    Epss,
    ExploitDb,
}

impl SourceType {
    pub const ALL: &'static [SourceType] = &[
        SourceType::Osv,
        SourceType::Nvd,
        SourceType::Ghsa,
        SourceType::Kev,
        SourceType::Epss,
        SourceType::ExploitDb,
    ];

    /// Storage spelling, also accepted on input.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceType::Osv => "OSV",
            SourceType::Nvd => "NVD",
            SourceType::Ghsa => "GHSA",
            SourceType::Kev => "KEV",
            SourceType::Epss => "EPSS",
            SourceType::ExploitDb => "EXPLOITDB",
        }
    }

    /// Seed 000's proto-style enum spelling, used in its responses.
    pub fn wire_name(self) -> &'static str {
        match self {
            SourceType::Osv => "SYNC_SOURCE_TYPE_OSV",
            SourceType::Nvd => "SYNC_SOURCE_TYPE_NVD",
            SourceType::Ghsa => "SYNC_SOURCE_TYPE_GHSA",
            SourceType::Kev => "SYNC_SOURCE_TYPE_KEV",
            SourceType::Epss => "SYNC_SOURCE_TYPE_EPSS",
            SourceType::ExploitDb => "SYNC_SOURCE_TYPE_EXPLOITDB",
        }
    }

    /// `NVD`, `nvd` or `SYNC_SOURCE_TYPE_NVD` (also `EXPLOIT_DB`). `UNSPECIFIED` is no type.
    pub fn parse(text: &str) -> Option<SourceType> {
        let upper = text.trim().to_ascii_uppercase();
        let bare = upper.strip_prefix("SYNC_SOURCE_TYPE_").unwrap_or(&upper);
        let bare = if bare == "EXPLOIT_DB" {
            "EXPLOITDB"
        } else {
            bare
        };
        SourceType::ALL.iter().copied().find(|t| t.as_str() == bare)
    }

    /// The public upstream, used when a source configures no URL.
    pub fn default_url(self) -> &'static str {
        match self {
            // The OSV bucket: `{base}/{ecosystem}/all.zip`.
            SourceType::Osv => "https://osv-vulnerabilities.storage.googleapis.com",
            SourceType::Nvd => "https://services.nvd.nist.gov/rest/json/cves/2.0",
            // The GitHub Advisory Database repository archive: OSV JSON files under advisories/.
            SourceType::Ghsa => {
                "https://github.com/github/advisory-database/archive/refs/heads/main.zip"
            }
            SourceType::Kev => {
                "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json"
            }
            SourceType::Epss => "https://epss.empiricalsecurity.com/epss_scores-current.csv.gz",
            SourceType::ExploitDb => {
                "https://gitlab.com/exploit-database/exploitdb/-/raw/main/files_exploits.csv"
            }
        }
    }

    /// The knowledge base's name for records from this feed.
    pub fn kb_source(self) -> &'static str {
        match self {
            SourceType::Osv => "osv",
            SourceType::Nvd => "nvd",
            SourceType::Ghsa => "ghsa",
            SourceType::Kev => "kev",
            SourceType::Epss => "epss",
            SourceType::ExploitDb => "exploitdb",
        }
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_spellings_parse_and_unspecified_does_not() {
        for t in SourceType::ALL {
            assert_eq!(SourceType::parse(t.as_str()), Some(*t));
            assert_eq!(SourceType::parse(t.wire_name()), Some(*t));
            assert_eq!(SourceType::parse(&t.as_str().to_lowercase()), Some(*t));
        }
        assert_eq!(SourceType::parse("EXPLOIT_DB"), Some(SourceType::ExploitDb));
        assert_eq!(SourceType::parse("SYNC_SOURCE_TYPE_UNSPECIFIED"), None);
        assert_eq!(SourceType::parse("UNSPECIFIED"), None);
        assert_eq!(SourceType::parse("RSS"), None);
    }
}
