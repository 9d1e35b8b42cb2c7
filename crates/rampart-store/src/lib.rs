//! One [`Store`] over SQLite (the embedded default) or PostgreSQL (several replicas).
//!
//! SQL is written once in the dialect subset both understand (`$1` placeholders,
//! `ON CONFLICT`, `RETURNING`) and run on whichever pool is configured; the few statements
//! that differ are spelled per dialect next to each other. Migrations are plain SQL, one
//! directory per dialect. Every function that touches tenant data takes the caller's team.

mod access;
mod alerts;
mod appsec;
mod audit;
mod backup;
mod bulk;
mod compliance;
mod dispositions;
mod error;
pub mod events;
mod findings;
mod identity;
mod incidents;
pub mod kb;
mod key_cache;
mod notifications;
mod products;
mod sboms;
mod scan_index;
mod scan_snapshot;
mod scans;
mod severity;
mod sqlite_read;
mod sync;
mod usage;
mod vex_documents;
mod vex_imports;
mod webhooks;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

pub use access::{
    ApiKeyInfo, KeyOwner, KeyStatusFilter, KeyVisibility, LoginOutcome, MemberInfo, NewApiKey,
    NewOtp, NewSession, OtpRecord, PlanChange, SessionRecord, TeamInfo,
};
pub use alerts::{
    alert_event_data, AlertMatchRecord, AlertPass, AlertSubject, AlertWatch, AlertWatchChanges,
    EmailDelivery, NewAlertMatch, NewAlertWatch, WebhookDeliveryStatus,
};
pub use appsec::{
    CodeFindingEvent, CodeFindingFilter, CodeFindingRecord, CodeFindingSort, CodeTriage,
    ImportCounts, IntegrationChanges, IntegrationRecord, NewCodeFinding, NewIntegration,
    Relocation, SarifImportRecord, SarifImportWrite, ScopeFinding, StatusChange,
};
pub use audit::{AuditActor, AuditEntry, AuditEvent, AuditFilter};
pub use backup::{inspect_sqlite_file, restore_sqlite, BackupError, DatabaseSummary};
pub use compliance::{
    AccessReviewRecord, AttestationRecord, AuditFact, ComplianceFinding, FailingComponent,
    FindingCounts, FindingFacts, IncidentFact, KeyFact, MemberFact, NewAttestation, NewSnapshot,
    ReleaseSbomFact, SbomDocumentFacts, SbomElementCounts, SealedSecret, ShippedReleaseVex,
    SnapshotOutcome, SnapshotRecord, SyncSourceFact, WebhookFact, COMPLIANCE_ITEM_LIMIT,
};
pub use dispositions::{
    DecisionBasis, DispositionSource, NewDisposition, StoredDisposition, TriageFinding,
    TriageWithin,
};
pub use error::StoreError;
pub use events::{EventFilter, EventRecord, NewEvent};
pub use findings::{
    AnalysisOutcome, AnalysisPart, AnalysisProgress, FindingEvent, FindingFilter, FindingSort,
    FindingView, MatchedRecordView, NewFinding, ProductFindingSummary, ReanalysisPass,
    VulnerabilityRef, UNTRIAGED_STATE,
};
pub use identity::{ApiKeyRecord, Bootstrap, Membership, UserKind};
pub use incidents::{
    AssetFindings, ChangeOutcome, IncidentChange, IncidentCreation, IncidentEvent, IncidentFilter,
    IncidentLink, IncidentMetrics, IncidentRecord, IncidentSettingsRecord, IncidentTimelineEntry,
    LinkedFinding, NewIncident, NewTimelineEntry,
};
pub use kb::*;
pub use notifications::{NotifiableEvent, NotificationPreferences, PreferencesWrite, Subscriber};
pub use products::{
    NewProduct, NewRelease, Page, PageRequest, Product, ProductChanges, Release, ReleaseChanges,
    Tenant, RELEASE_STATUSES,
};
pub use sboms::{
    Analysis, AnalysisStatus, AnalysisSubject, ComponentIdentity, ComponentPackage,
    ComponentResolution, NewSbom, SbomRecord, StoredComponent, COMPONENT_CHUNK,
};
pub use scan_index::{
    current_index, database_kb_state, IndexState, ScanIndex, ScanIndexError, SCAN_INDEX_FILE,
    SCAN_INDEX_MAX_ROWS,
};
pub use scan_snapshot::ScanSnapshot;
pub use scans::{NewScan, ScanLimits, ScanMonitor, ScanRecord, ScanRefusal};
pub use sync::{
    ApiKeyChange, ClaimedRun, SyncCounts, SyncRunRecord, SyncRunStatus, SyncSourceRecord,
    SyncSourceUpsert,
};
pub use usage::{minute_of, RequestLogEntry, RequestLogRecord, UsageAggregate, UsageFilter};
pub use vex_documents::{
    NewVexDocument, PublicDisclosureProduct, PublishedVersion, VexActor, VexDocumentEvent,
    VexDocumentFilter, VexDocumentRecord, VexRendering, VexSeries, VexTransition,
};
pub use vex_imports::{NewVexImport, VexImport};
pub use webhooks::{
    ClaimedDelivery, DeliveryOutcome, DeliveryResult, NewWebhookEndpoint, WebhookAttempt,
    WebhookDelivery, WebhookEndpoint, WebhookEndpointChanges,
};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

/// Where the data lives.
#[derive(Debug, Clone)]
pub enum DatabaseLocation {
    /// `rampart.db` (WAL mode) inside this directory, created on first start.
    SqliteDir(PathBuf),
    /// A PostgreSQL connection URL.
    Postgres(String),
}

#[derive(Clone)]
pub(crate) enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the configured pool. The body is compiled once per
/// backend, so it can use any sqlx API both drivers implement.
macro_rules! with_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.pool {
            $crate::Pool::Sqlite($pool) => $body,
            $crate::Pool::Postgres($pool) => $body,
        }
    };
}
pub(crate) use with_pool;

/// Opens a transaction that writes. On SQLite it starts as the writer (`BEGIN IMMEDIATE`): a
/// deferred transaction that reads before its first write fails at once with "database is
/// locked" when another connection (the webhook worker, an analysis) commits in between,
/// whereas an immediate one waits its turn under the busy timeout. PostgreSQL needs nothing.
pub(crate) trait BeginWrite {
    type Db: sqlx::Database;
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, Self::Db>, sqlx::Error>;
}

impl BeginWrite for SqlitePool {
    type Db = sqlx::Sqlite;
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
        self.begin_with("BEGIN IMMEDIATE").await
    }
}

impl BeginWrite for sqlx::PgPool {
    type Db = sqlx::Postgres;
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
        self.begin().await
    }
}

/// How a store's SQLite connections are used.
#[derive(Debug, Clone, Copy)]
enum Reading {
    /// Requests and workers at once: a pool of connections.
    Server,
    /// One command reading one query after another. One connection: each new SQLite
    /// connection parses the whole schema (~2 ms), and a pool opens a second one for the next
    /// read while the first is still on its way back. Pages memory-mapped: read in place
    /// instead of copied by `pread` (BENCHMARKS.md, `rampart scan`).
    OneShot,
}

impl Reading {
    fn sqlite_connections(self) -> u32 {
        match self {
            Reading::Server => 8,
            Reading::OneShot => 1,
        }
    }

    fn mmap_bytes(self) -> &'static str {
        match self {
            Reading::Server => "0",
            Reading::OneShot => "268435456",
        }
    }

    /// Pages of write-ahead log after which a commit checkpoints: never for a server, whose
    /// checkpoints run in the background ([`checkpoint_in_background`]); SQLite's default
    /// for a one-shot command.
    fn wal_autocheckpoint(self) -> &'static str {
        match self {
            Reading::Server => "0",
            Reading::OneShot => "1000",
        }
    }
}

/// How often a server's write-ahead log is checkpointed.
const CHECKPOINT_INTERVAL: Duration = Duration::from_secs(1);

/// Checkpoints a server's write-ahead log (copies the committed pages into the database
/// file) every [`CHECKPOINT_INTERVAL`] until the pool closes. SQLite's own automatic
/// checkpoint runs inside the commit that crosses its threshold, so whichever request or job
/// committed then paid to copy everything written since: a second for the analysis of a
/// 300,000-component SBOM, 0.15 s for its upload (BENCHMARKS.md, SBOM analysis). `PASSIVE`
/// waits for no reader or writer, as the automatic checkpoint does; the last connection to
/// close checkpoints what is left.
async fn checkpoint_in_background(pool: SqlitePool) {
    let mut tick = tokio::time::interval(CHECKPOINT_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if pool.is_closed() {
            return;
        }
        if let Err(error) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&pool)
            .await
        {
            if pool.is_closed() {
                return;
            }
            tracing::warn!(%error, "checkpointing the write-ahead log failed");
        }
    }
}

#[derive(Clone)]
pub struct Store {
    pool: Pool,
    /// API keys by hash, on SQLite only (see [`key_cache`]).
    key_cache: std::sync::Arc<key_cache::KeyCache>,
}

/// Which backend a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Creates the data directory (0700) and an empty database file (0600) when they are missing,
/// before SQLite opens it: SQLite would create the file world-readable (0644 under the usual
/// umask) and gives its `-wal` and `-shm` files the database file's mode, so a private
/// database file keeps all three private. The database holds key hashes, sessions and
/// encrypted secrets: only the account that runs Rampart reads it, as with the secret key.
#[cfg(unix)]
fn create_private_database_file(dir: &Path, file: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    create_data_dir(dir)?;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(file)
    {
        Ok(_) => Ok(()),
        // An existing database keeps the mode its operator gave it.
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(error) => Err(error),
    }
}

#[cfg(not(unix))]
fn create_private_database_file(dir: &Path, _file: &Path) -> std::io::Result<()> {
    create_data_dir(dir)
}

/// Creates a data directory (and missing parents) readable by its owner only (0700 on Unix);
/// an existing directory is left as it is.
pub fn create_data_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

impl Store {
    /// Opens (creating if needed) the database. Does not migrate: call [`Store::migrate`].
    pub async fn connect(location: &DatabaseLocation) -> Result<Store, StoreError> {
        Store::connect_with(location, Reading::Server).await
    }

    /// [`Store::connect`] for a one-shot command that reads one query after another
    /// (`rampart scan`): see [`Reading::OneShot`].
    pub async fn connect_single(location: &DatabaseLocation) -> Result<Store, StoreError> {
        Store::connect_with(location, Reading::OneShot).await
    }

    async fn connect_with(
        location: &DatabaseLocation,
        reading: Reading,
    ) -> Result<Store, StoreError> {
        let pool = match location {
            DatabaseLocation::SqliteDir(dir) => {
                let file = dir.join("rampart.db");
                create_private_database_file(dir, &file).map_err(|source| StoreError::DataDir {
                    path: dir.clone(),
                    source,
                })?;
                let options = SqliteConnectOptions::new()
                    .filename(&file)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(10))
                    .foreign_keys(true)
                    // New databases only (an existing file keeps its page size): a record of
                    // a few KB fits a page instead of spilling into a chain of overflow pages.
                    .page_size(16384)
                    .pragma("mmap_size", reading.mmap_bytes())
                    .pragma("wal_autocheckpoint", reading.wal_autocheckpoint());
                let pool = SqlitePoolOptions::new()
                    .max_connections(reading.sqlite_connections())
                    .connect_with(options)
                    .await?;
                if let Reading::Server = reading {
                    tokio::spawn(checkpoint_in_background(pool.clone()));
                }
                Pool::Sqlite(pool)
            }
            DatabaseLocation::Postgres(url) => {
                let options = sqlx::postgres::PgConnectOptions::from_str(url)?;
                Pool::Postgres(
                    PgPoolOptions::new()
                        .max_connections(16)
                        .acquire_timeout(Duration::from_secs(10))
                        .connect_with(options)
                        .await?,
                )
            }
        };
        Ok(Store {
            pool,
            key_cache: Default::default(),
        })
    }

    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    fn migrator(&self) -> &'static Migrator {
        match self.pool {
            Pool::Sqlite(_) => &SQLITE_MIGRATIONS,
            Pool::Postgres(_) => &POSTGRES_MIGRATIONS,
        }
    }

    /// Applies pending migrations. On PostgreSQL the migrator holds a session advisory lock
    /// for the whole run, so replicas starting together apply each migration once.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let migrator = self.migrator();
        with_pool!(self, pool => migrator.run(pool).await)?;
        Ok(())
    }

    /// Ready = the database answers and every migration this binary knows is applied.
    pub async fn is_ready(&self) -> bool {
        let expected = self.migrator().iter().count() as i64;
        let applied: Result<i64, sqlx::Error> = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
                .fetch_one(pool)
                .await
        });
        matches!(applied, Ok(n) if n >= expected)
    }

    /// Identifies a set of migrations (for caching migrated templates in tests): changes
    /// whenever a migration is added or edited.
    pub fn migrations_fingerprint(backend: Backend) -> String {
        let migrator = match backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        // FNV-1a over versions and checksums: stable across builds and platforms.
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for migration in migrator.iter() {
            for byte in migration
                .version
                .to_le_bytes()
                .iter()
                .chain(migration.checksum.iter())
            {
                hash ^= u64::from(*byte);
                hash = hash.wrapping_mul(0x0100_0000_01b3);
            }
        }
        format!("{hash:016x}")
    }

    pub async fn close(&self) {
        with_pool!(self, pool => pool.close().await)
    }

    /// After a bulk write of at least [`BULK_WRITE_ROWS`] rows, refreshes PostgreSQL's
    /// statistics of `tables`: until autovacuum gets to them, the planner would take a table
    /// that just went from empty to 10,000 rows for a one-row table and pick nested loops
    /// that turn a 100 ms listing into seconds. SQLite plans by its indexes and needs nothing.
    /// It runs in the background, so the request that wrote does not wait for it; a failure is
    /// logged, never raised: the write is already committed.
    pub(crate) async fn after_bulk_write(&self, rows: usize, tables: &[&str]) {
        let Pool::Postgres(pool) = &self.pool else {
            return;
        };
        if rows < BULK_WRITE_ROWS {
            return;
        }
        let sql = format!("ANALYZE {}", tables.join(", "));
        let pool = pool.clone();
        tokio::spawn(async move {
            if let Err(error) = sqlx::query(&sql).execute(&pool).await {
                tracing::warn!(%error, %sql, "refreshing planner statistics failed");
            }
        });
    }
}

/// Rows written at once from which [`Store::after_bulk_write`] refreshes statistics.
pub(crate) const BULK_WRITE_ROWS: usize = 1_000;

/// The current time at the precision both backends store (microseconds), so a value
/// written and read back compares equal.
pub(crate) fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}
