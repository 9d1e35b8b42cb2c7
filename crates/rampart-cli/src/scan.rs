//! `rampart scan FILE`: the offline check a CI pipeline runs. Reads an SBOM (CycloneDX or
//! SPDX, any serialisation) or a lockfile, matches every package against a local Rampart
//! database with the same index and rules as the server's analysis, and prints a table,
//! JSON or SARIF 2.1.0.
//!
//! Every finding has a kind: `vulnerability`, or `informational` for RustSec's unmaintained,
//! unsound and notice advisories, which warn (as cargo-audit's warnings do) whatever CVSS their
//! aliases carry.
//!
//! `--vex FILE` (repeatable; OpenVEX, CycloneDX or CSAF) applies VEX documents as Trivy and
//! Grype do: findings decided not_affected, false_positive or resolved leave the report and
//! `--fail-on`, counted by reason (see `scan_vex`).
//!
//! `--server URL` asks a running Rampart instead of a local database (key from
//! `RAMPART_API_KEY`): `/v1/querybatch`, then each record's details (see `scan_server`); the
//! rest of the scan is the same code, so the findings, formats and exit codes are the same.
//!
//! Exit codes: 0 no vulnerability at or above `--fail-on` (or no `--fail-on`), 1 at least one
//! (informational findings count only with `--fail-on-informational`), 2 bad input
//! (unreadable or unparseable file or VEX document, no database, a server that refused or
//! could not be reached).

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{self, AtomicUsize};
use std::sync::{mpsc, Arc};

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use rampart_core::match_index::AffectedInput;
use rampart_engine::analysis::{
    choose_findings, match_components, match_resolved, resolve_purl, ResolvedPurl,
    UnmatchedComponents,
};
use rampart_engine::kb_index::compile_rows;
use rampart_formats::advisory::SeverityBand;
use rampart_formats::lockfile::{self, Origin};
use rampart_formats::{sarif, sbom};
use rampart_store::{
    current_index, database_kb_state, ComponentIdentity, CpeMatchRow, DatabaseLocation, IndexState,
    MatchedRecordView, NewFinding, ScanIndex, ScanIndexError, ScanSnapshot, Store,
    VulnerabilityRef, SCAN_INDEX_FILE,
};
use serde::Serialize;

use crate::config::DatabaseArgs;
use crate::spare::{in_two, Spare};
use crate::{scan_server, scan_vex};

#[derive(Args, Debug)]
pub struct ScanArgs {
    /// SBOM (CycloneDX/SPDX; JSON, XML or tag-value) or lockfile (Cargo.lock,
    /// package-lock.json, requirements.txt, poetry.lock, go.sum, go.mod, Gemfile.lock).
    pub file: PathBuf,
    /// A Rampart data directory, or its `rampart.db` file (instead of --data-dir).
    #[arg(long, conflicts_with_all = ["data_dir", "database_url", "database_url_file"])]
    pub db: Option<PathBuf>,
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Ask a running Rampart at this URL instead of a local database, as osv-scanner asks
    /// OSV.dev (`/v1/querybatch`, then each record's details); the API key (scope `kb:read`)
    /// comes from RAMPART_API_KEY. Not with --cpe (the OSV API matches packages only).
    #[arg(long, value_name = "URL", conflicts_with_all = ["db", "data_dir", "database_url", "database_url_file", "cpe"])]
    pub server: Option<String>,
    /// The API key for --server.
    #[arg(
        long = "api-key",
        env = "RAMPART_API_KEY",
        hide_env_values = true,
        requires = "server"
    )]
    pub api_key: Option<String>,
    /// Print JSON instead of a table.
    #[arg(long, conflicts_with = "sarif")]
    pub json: bool,
    /// Print SARIF 2.1.0 instead of a table (for code-scanning dashboards).
    #[arg(long)]
    pub sarif: bool,
    /// Exit with code 1 when a finding is at or above this severity (`unknown` counts
    /// findings nothing rates as the lowest severity).
    #[arg(long, value_enum)]
    pub fail_on: Option<Severity>,
    /// With --fail-on, informational findings (RustSec unmaintained, unsound and notice
    /// advisories) at or above the severity fail too; by default only vulnerabilities do.
    #[arg(long, requires = "fail_on")]
    pub fail_on_informational: bool,
    /// Also match SBOM components by CPE (NVD configurations); off by default, as on the
    /// server, because CPE names are imprecise.
    #[arg(long)]
    pub cpe: bool,
    /// Also match lockfile entries that are not registry packages (workspace members, path
    /// and git dependencies) against registry advisories.
    #[arg(long)]
    pub include_local: bool,
    /// Apply a VEX document (OpenVEX, CycloneDX JSON/XML or CSAF; repeatable, the last one
    /// given wins where two decide one finding): findings it decides not_affected,
    /// false_positive or resolved leave the report and --fail-on, and are counted by reason.
    #[arg(long = "vex", value_name = "FILE")]
    pub vex: Vec<PathBuf>,
    /// With --vex: list the suppressed findings too (they never fail the run).
    #[arg(long, requires = "vex")]
    pub include_suppressed: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Unknown,
    None,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    /// The severity a stored band names; `Unknown` when nothing rates the record.
    fn of(band: Option<&str>) -> Severity {
        let band = band.and_then(SeverityBand::parse);
        Severity::value_variants()
            .iter()
            .copied()
            .find(|severity| severity.band() == band)
            .unwrap_or(Severity::Unknown)
    }

    fn as_str(self) -> &'static str {
        self.band().map_or("unknown", SeverityBand::as_str)
    }

    /// The CVSS band, or `None` when nothing rates the finding.
    fn band(self) -> Option<SeverityBand> {
        match self {
            Severity::Unknown => None,
            Severity::None => Some(SeverityBand::None),
            Severity::Low => Some(SeverityBand::Low),
            Severity::Medium => Some(SeverityBand::Medium),
            Severity::High => Some(SeverityBand::High),
            Severity::Critical => Some(SeverityBand::Critical),
        }
    }
}

/// What a finding reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Vulnerability,
    /// An advisory that warns (RustSec unmaintained, unsound, notice) rather than reports a
    /// vulnerability.
    Informational,
}

/// One package read from the input.
struct Package {
    name: String,
    version: Option<String>,
    purl: Option<String>,
    cpe: Option<String>,
    bom_ref: Option<String>,
}

/// What the input held, and what it was.
struct Input {
    kind: String,
    packages: Vec<Package>,
    /// Why each entry read but not matched was left out (unpinned requirements, local
    /// packages), one reason per entry.
    skipped: Vec<String>,
    /// What names the scanned thing itself (an SBOM's own component), for VEX products.
    identities: Vec<rampart_formats::vex::Subject>,
    /// The SBOM's serial number, for VEX BOM-links.
    serial_number: Option<String>,
}

#[derive(Debug, Serialize)]
struct PackageOut {
    name: String,
    version: Option<String>,
    purl: Option<String>,
    cpe: Option<String>,
}

#[derive(Debug, Serialize)]
struct FindingOut {
    /// Position of the package in the input.
    #[serde(skip)]
    component: i64,
    id: String,
    aliases: Vec<String>,
    summary: Option<String>,
    kind: Kind,
    /// For an informational finding: `unmaintained`, `unsound` or `notice`.
    informational: Option<String>,
    /// An informational finding keeps the CVSS its alias group carries; `kind` tells it apart.
    severity: Severity,
    cvss_score: Option<f64>,
    epss: Option<f64>,
    kev: bool,
    source: String,
    package: PackageOut,
    matched_by: String,
    identifier: String,
    detail: String,
    fixed_versions: Vec<String>,
    /// The decision of a `--vex` document about this finding.
    /// Boxed: most findings have none, and findings are moved while they are sorted.
    #[serde(skip_serializing_if = "Option::is_none")]
    vex: Option<Box<scan_vex::VexDecision>>,
}

#[derive(Debug, Serialize)]
struct Report {
    file: String,
    input: String,
    packages: usize,
    /// Lockfile entries left out before matching (unpinned, local).
    skipped: usize,
    /// Packages read whose package could not be determined, by reason.
    unmatched_components: UnmatchedComponents,
    knowledge_base_version: i64,
    findings: Vec<FindingOut>,
    /// Vulnerabilities per severity (informational findings are counted apart).
    by_severity: BTreeMap<&'static str, usize>,
    /// Informational findings per kind (`unmaintained`, `unsound`, `notice`).
    informational: BTreeMap<String, usize>,
    /// What the `--vex` documents did.
    #[serde(skip_serializing_if = "Option::is_none")]
    vex: Option<scan_vex::VexReport>,
    /// With --include-suppressed: the findings VEX suppressed.
    #[serde(skip_serializing_if = "Option::is_none")]
    suppressed_findings: Option<Vec<FindingOut>>,
}

/// `spare`: the second thread the scan's matching runs on (see `crate::spare`).
pub fn run(args: ScanArgs, spare: Spare) -> ExitCode {
    keep_large_blocks_in_the_heap();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(scan(&args, &spare)) {
        Ok(report) => {
            let output = if args.sarif {
                serde_json::to_string_pretty(&sarif(&report)).map(|s| s + "\n")
            } else if args.json {
                serde_json::to_string_pretty(&report).map(|s| s + "\n")
            } else {
                Ok(table(&report))
            };
            match output {
                Ok(text) => print!("{text}"),
                Err(error) => {
                    eprintln!("error: cannot write the report: {error}");
                    return ExitCode::from(2);
                }
            }
            if let Some(vex) = &report.vex {
                for note in vex.notes() {
                    eprintln!("vex: {note}");
                }
            }
            let failed = args.fail_on.is_some_and(|threshold| {
                report.findings.iter().any(|f| {
                    f.severity >= threshold
                        && (f.kind == Kind::Vulnerability || args.fail_on_informational)
                })
            });
            std::mem::forget(report);
            if failed {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

/// Tells glibc's allocator to serve large blocks (the input, the report, growing lists) from
/// its heap and to keep freed memory, as a short-lived process can: by default each block of
/// 128 KiB or more is a mapping of its own, unmapped when freed, and every page of the next
/// one faults in afresh. Worst-case scan: a fifth fewer page faults, A/B wall 0.92–0.98.
fn keep_large_blocks_in_the_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; it is called before this process
    // starts another thread, and a refused setting leaves the default in place.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 128 << 20);
    }
}

fn read_input(path: &Path, include_local: bool) -> anyhow::Result<Input> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if let Some(kind) = lockfile::detect(&file_name, &bytes) {
        let parsed = lockfile::parse_lockfile(kind, &bytes)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let mut skipped: Vec<String> = parsed.skipped.into_iter().map(|s| s.reason).collect();
        let mut packages = Vec::with_capacity(parsed.packages.len());
        for package in parsed.packages {
            if package.origin == Origin::Local && !include_local {
                skipped.push("local package (--include-local matches it)".into());
                continue;
            }
            packages.push(Package {
                name: package.name,
                version: Some(package.version),
                purl: Some(package.purl),
                cpe: None,
                bom_ref: None,
            });
        }
        return Ok(Input {
            kind: format!("{kind:?}"),
            packages,
            skipped,
            identities: Vec::new(),
            serial_number: None,
        });
    }
    let document = sbom::parse(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let kind = format!("{:?} {}", document.format, document.spec_version);
    let identities = document
        .primary_component
        .iter()
        .map(|c| rampart_formats::vex::Subject {
            key: c.bom_ref.clone().unwrap_or_else(|| c.name.clone()),
            name: c.name.clone(),
            vendor: None,
            version: c.version.clone(),
            purl: c.purl.clone(),
            cpe: c.cpe.clone(),
        })
        .collect();
    let packages = document
        .components
        .into_iter()
        .map(|c| Package {
            name: c.name,
            version: c.version,
            purl: c.purl,
            cpe: c.cpe,
            bom_ref: c.bom_ref,
        })
        .collect();
    Ok(Input {
        kind,
        packages,
        skipped: Vec::new(),
        identities,
        serial_number: document.serial_number,
    })
}

/// The database to scan against: `--db` (a data directory or its `rampart.db`), else the
/// usual database flags. Never created: scanning against an empty database would pass
/// everything.
fn database(args: &ScanArgs) -> anyhow::Result<DatabaseLocation> {
    let location = match &args.db {
        Some(path) if path.is_file() => DatabaseLocation::SqliteDir(
            path.parent()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| PathBuf::from(".")),
        ),
        Some(path) => DatabaseLocation::SqliteDir(path.clone()),
        None => args.database.clone().into_location()?,
    };
    if let DatabaseLocation::SqliteDir(dir) = &location {
        if !dir.join("rampart.db").is_file() {
            bail!(
                "no Rampart database in {} (load one with `rampart import`, or point --db at a data directory)",
                dir.display()
            );
        }
    }
    Ok(location)
}

/// Opens a database to scan against, refusing one this version has not migrated.
async fn open_store(location: &DatabaseLocation) -> anyhow::Result<Store> {
    let store = Store::connect_single(location).await?;
    if !store.is_ready().await {
        bail!("the database is not migrated to this version of rampart: run `rampart migrate`");
    }
    Ok(store)
}

/// What the knowledge base knows of the named packages (and its CPE rows with `cpe`), read
/// from a store.
async fn knowledge_of_store(
    store: &Store,
    names: &[String],
    cpe: bool,
) -> anyhow::Result<Knowledge> {
    let snapshot = store.scan_snapshot(names).await?;
    let cpe_rows = if cpe {
        store.cpe_match_rows().await?
    } else {
        Vec::new()
    };
    Ok(Knowledge::Snapshot(snapshot, cpe_rows))
}

/// Where a scan's knowledge comes from.
enum Knowledge {
    /// A data directory's current scan index: each part of the scan decodes its own packages.
    Index(ScanIndex),
    /// One snapshot of the named packages read from a store, with its CPE rows (`--cpe`).
    Snapshot(ScanSnapshot, Vec<CpeMatchRow>),
}

impl Knowledge {
    fn kb_version(&self) -> i64 {
        match self {
            Knowledge::Index(index) => index.kb_state().0,
            Knowledge::Snapshot(snapshot, _) => snapshot.kb_version,
        }
    }
}

/// What the knowledge base of a data directory knows: its scan index when that is of the
/// database's current state (`state`, checked while the input was read); otherwise the index
/// is written anew (a knowledge base of at most [`rampart_store::SCAN_INDEX_MAX_ROWS`] rows)
/// and used, or the database is asked for the packages `names` gives. An index that cannot be
/// written only costs time.
async fn knowledge_of_data_dir(
    dir: &Path,
    state: IndexState,
    names: impl FnOnce() -> Vec<String>,
) -> anyhow::Result<Knowledge> {
    match state {
        IndexState::Current(index) => return Ok(Knowledge::Index(index)),
        IndexState::Damaged(why) => {
            eprintln!(
                "warning: {why} ({}); reading the database instead",
                dir.join(SCAN_INDEX_FILE).display()
            );
        }
        IndexState::Stale => {}
    }
    let store = open_store(&DatabaseLocation::SqliteDir(dir.to_path_buf())).await?;
    let written = match store.write_scan_index(dir).await {
        Ok(written) => written.is_some(),
        Err(error) => {
            if !is_read_only(&error) {
                eprintln!("warning: cannot write the scan index: {error}");
            }
            false
        }
    };
    let knowledge = match written.then(|| current_index(dir)) {
        Some(IndexState::Current(index)) => Ok(Knowledge::Index(index)),
        // Not written, or a sync moved the knowledge base on since: the database's word.
        _ => store
            .scan_snapshot(&names())
            .await
            .map(|snapshot| Knowledge::Snapshot(snapshot, Vec::new())),
    };
    store.close().await;
    Ok(knowledge?)
}

/// Whether an index write failed only because the data directory is not ours to write.
fn is_read_only(error: &ScanIndexError) -> bool {
    matches!(error, ScanIndexError::Io(io) if matches!(
        io.kind(),
        std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
    ))
}

async fn scan(args: &ScanArgs, spare: &Spare) -> anyhow::Result<Report> {
    // A data directory's knowledge-base state is read from its database on the spare thread
    // while the input is read and matched against the scan index: the findings stand only if
    // the index turns out to be of that state (neither needs the other until then). The
    // thread, started before the command line was read, is running when the parts are handed
    // to it.
    let location = args.server.is_none().then(|| database(args));
    let (state_sender, kb_state) = mpsc::sync_channel(1);
    if let Some(Ok(DatabaseLocation::SqliteDir(dir))) = &location {
        if !args.cpe {
            let dir = dir.clone();
            spare.hand(Box::new(move || {
                let _ = state_sender.send(database_kb_state(&dir));
            }));
        }
    }
    let mut input = read_input(&args.file, args.include_local)?;
    let vex_documents = scan_vex::read_documents(&args.vex)?;
    // Each component's id is its place in the input; they are listed in the order the
    // parts take them (see `find_in_parts`), which spares moving them there. They take the
    // packages' texts (a copy of each would cost more than all the matching of some): from
    // here the input's packages keep only their places and `bom-ref`s.
    let mut components: Vec<ComponentIdentity> = in_parts_order(&input.packages, args.cpe)
        .into_iter()
        .map(|i| {
            let package = &mut input.packages[i];
            ComponentIdentity {
                id: i as i64,
                name: std::mem::take(&mut package.name),
                version: package.version.take(),
                purl: package.purl.take(),
                cpe: package.cpe.take(),
                package: None,
            }
        })
        .collect();
    let remote = match &args.server {
        Some(url) => Some(scan_server::load(url, args.api_key.as_deref(), &components).await?),
        None => None,
    };
    // Only the packages the input names are read from a database (an index needs no list).
    let names = |components: &[ComponentIdentity]| package_names(&resolve_all(components));
    let (knowledge, (mut findings, unmatched)) = match (&remote, location) {
        (Some(remote), _) => {
            let knowledge = knowledge_of_store(&remote.store, &names(&components), args.cpe).await;
            remote.store.close().await;
            let knowledge = Arc::new(knowledge?);
            let found = find_in_parts(&knowledge, &mut components, args.cpe, spare)?;
            (knowledge, found)
        }
        (None, location) => match location.expect("a local scan has a location")? {
            // CPE matching needs the catalogue's rows, which the index does not carry.
            DatabaseLocation::SqliteDir(dir) if !args.cpe => {
                let speculated = match ScanIndex::open(&dir.join(SCAN_INDEX_FILE)) {
                    Ok(Some(index)) => {
                        let knowledge = Arc::new(Knowledge::Index(index));
                        match find_in_parts(&knowledge, &mut components, false, spare) {
                            Err(error) => Err(IndexState::Damaged(format!("{error:#}"))),
                            Ok(found) => {
                                let state = kb_state.recv().map_err(|_| {
                                    anyhow::anyhow!("reading the knowledge base's state failed")
                                })?;
                                match &*knowledge {
                                    Knowledge::Index(index) if index.is_of(state.as_ref()) => {
                                        Ok((knowledge, found))
                                    }
                                    // Of another state: its findings are not the answer.
                                    _ => Err(IndexState::Stale),
                                }
                            }
                        }
                    }
                    Ok(None) => Err(IndexState::Stale),
                    Err(error) => Err(IndexState::Damaged(error.to_string())),
                };
                match speculated {
                    Ok(answer) => answer,
                    Err(state) => {
                        let knowledge = Arc::new(
                            knowledge_of_data_dir(&dir, state, || names(&components)).await?,
                        );
                        let found = find_in_parts(&knowledge, &mut components, false, spare)?;
                        (knowledge, found)
                    }
                }
            }
            location => {
                let store = open_store(&location).await?;
                let knowledge = knowledge_of_store(&store, &names(&components), args.cpe).await;
                store.close().await;
                let knowledge = Arc::new(knowledge?);
                let found = find_in_parts(&knowledge, &mut components, args.cpe, spare)?;
                (knowledge, found)
            }
        },
    };
    // No more work for the spare thread: it ends instead of waiting.
    spare.finish();
    let kb_version = knowledge.kb_version();
    // The process ends soon after: freeing these entry by entry would only cost time.
    std::mem::forget(knowledge);
    if let Some(remote) = &remote {
        // KEV and EPSS are no part of an OSV record: the server's word for each record.
        for finding in &mut findings {
            if let Some((epss, kev)) = remote.enrichment.get(&finding.id) {
                finding.epss = *epss;
                finding.kev = *kev;
            }
        }
    }
    let (vex, suppressed_findings) = if args.vex.is_empty() {
        // The process ends soon after: freeing them one by one would only cost time.
        std::mem::forget(components);
        (None, None)
    } else {
        let (report, suppressed) = apply_vex(&vex_documents, &input, components, &mut findings);
        (Some(report), args.include_suppressed.then_some(suppressed))
    };
    // The parts came sorted and were merged in order, so this finds one sorted run (a pass
    // of comparisons); it stays so that the report's order never rests on that.
    findings.sort_by(report_order);
    let mut by_severity = BTreeMap::new();
    let mut informational_kinds = BTreeMap::new();
    for finding in &findings {
        match &finding.informational {
            None => *by_severity.entry(finding.severity.as_str()).or_insert(0) += 1,
            Some(kind) => *informational_kinds.entry(kind.clone()).or_insert(0) += 1,
        }
    }
    let report = Report {
        file: args.file.display().to_string(),
        input: input.kind,
        packages: input.packages.len(),
        skipped: input.skipped.len(),
        unmatched_components: skipped_with(unmatched, &input.skipped),
        knowledge_base_version: remote
            .as_ref()
            .map_or(kb_version, |remote| remote.kb_version),
        findings,
        by_severity,
        informational: informational_kinds,
        vex,
        suppressed_findings,
    };
    // The process ends soon after: freeing the input package by package would only cost time.
    std::mem::forget(input.packages);
    Ok(report)
}

/// Fewer components than this are matched in one part, on one thread: a second one would
/// cost more to start than it saves.
const SPLIT_MATCHING_FROM: usize = 256;

/// How many parts the components of a split scan fall into: enough that the thread that
/// starts late (the spare reads the knowledge base's state first) takes fewer, and the two
/// end together.
const PARTS: usize = 4;

/// Each component's purl resolved to the package it names, or why it names none.
fn resolve_all(components: &[ComponentIdentity]) -> Vec<ResolvedPurl> {
    components
        .iter()
        .map(|component| resolve_purl(component.purl.as_deref()))
        .collect()
}

/// The normalised names of the packages resolved purls name, sorted, each once.
fn package_names(resolved: &[ResolvedPurl]) -> Vec<String> {
    let mut names: Vec<String> = resolved
        .iter()
        .flatten()
        .map(|(_, package)| {
            rampart_core::normalize_package_name(&package.ecosystem.to_string(), &package.name)
        })
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// The findings of the components, in report order, and the components without a package to
/// look up: in [`PARTS`] parts split by package name, taken one at a time by this thread and
/// the spare (which may start late: it reads the knowledge base's state first). Each part
/// resolves its components' purls, takes the knowledge of the packages they name, compiles
/// its index, matches and chooses its findings, exactly as the whole would for those
/// components (a component finds only its own package's entries, and findings are per
/// component). The parts' findings are merged in report order; a package's findings all come
/// from one part, so ties keep the input's order. Matching by CPE is not split (a CPE may name
/// any package's records). `components` are left in the order the parts took them.
fn find_in_parts(
    knowledge: &Arc<Knowledge>,
    components: &mut Vec<ComponentIdentity>,
    cpe: bool,
    spare: &Spare,
) -> anyhow::Result<(Vec<FindingOut>, UnmatchedComponents)> {
    let split = splits(components.len(), cpe);
    // Each part's components together, in the input's order (a stable sort; one pass over
    // components listed by `in_parts_order`).
    if split {
        components.sort_by_key(|component| part_of(&component.name));
    }
    let parts: Vec<std::ops::Range<usize>> = if split {
        let mut start = 0;
        (0..PARTS)
            .map(|part| {
                let end = start + components[start..].partition_point(|c| part_of(&c.name) == part);
                std::mem::replace(&mut start, end)..end
            })
            .collect()
    } else {
        std::iter::once(0..components.len()).collect()
    };
    let shared = Arc::new(PartsToTake {
        components: std::mem::take(components),
        parts,
        next: AtomicUsize::new(0),
    });
    let other_thread = split.then(|| {
        let (knowledge, shared) = (Arc::clone(knowledge), Arc::clone(&shared));
        move || shared.take_all(&knowledge, cpe)
    });
    let (mut found, other_found) = in_two(|| shared.take_all(knowledge, cpe), other_thread, spare);
    found.extend(other_found.into_iter().flatten());
    found.sort_unstable_by_key(|(part, _)| *part);
    // The other thread's closure, and its reference, ended before its result came.
    let PartsToTake {
        components: all,
        parts,
        ..
    } = Arc::try_unwrap(shared).unwrap_or_else(|shared| PartsToTake {
        components: shared.components.clone(),
        parts: shared.parts.clone(),
        next: AtomicUsize::new(0),
    });
    *components = all;
    let mut lists = Vec::with_capacity(found.len());
    let mut unmatched = UnmatchedComponents::default();
    let mut unresolved_by_part = Vec::new();
    for (part, part_found) in found {
        let ((part_findings, part_unmatched), part_unresolved) = part_found?;
        lists.push(part_findings);
        unmatched.merge(part_unmatched);
        if !part_unresolved.is_empty() {
            unresolved_by_part.push((part, part_unresolved));
        }
    }
    if unresolved_by_part.len() > 1 {
        // Several parts noted components without a package: noted again in the input's
        // order, so that the examples are the ones the whole would give.
        let mut unresolved: Vec<ComponentIdentity> = unresolved_by_part
            .iter()
            .flat_map(|(part, ids)| {
                components[parts[*part].clone()]
                    .iter()
                    .filter(|c| ids.binary_search(&c.id).is_ok())
            })
            .cloned()
            .collect();
        unresolved.sort_unstable_by_key(|component| component.id);
        unmatched = match_components(
            &compile_rows(
                knowledge.kb_version(),
                Vec::<AffectedInput>::new(),
                Vec::new(),
            ),
            &unresolved,
            false,
        )
        .unmatched;
    }
    Ok((merged(lists), unmatched))
}

/// The components of a split scan, each part's range of them, and the next part to take.
struct PartsToTake {
    components: Vec<ComponentIdentity>,
    parts: Vec<std::ops::Range<usize>>,
    next: AtomicUsize,
}

impl PartsToTake {
    /// Takes parts until none is left: each part's number and what it found.
    fn take_all(
        &self,
        knowledge: &Knowledge,
        cpe: bool,
    ) -> Vec<(usize, Result<PartFound, ScanIndexError>)> {
        let mut found = Vec::new();
        loop {
            let part = self.next.fetch_add(1, atomic::Ordering::Relaxed);
            let Some(range) = self.parts.get(part) else {
                return found;
            };
            found.push((
                part,
                find_part(knowledge, &self.components[range.clone()], cpe),
            ));
        }
    }
}

/// One part's findings and the components it found without a package to look up (by id).
type PartFound = ((Vec<FindingOut>, UnmatchedComponents), Vec<i64>);

/// One part of [`find_in_parts`]: `components` in the input's order.
fn find_part(
    knowledge: &Knowledge,
    components: &[ComponentIdentity],
    cpe: bool,
) -> Result<PartFound, ScanIndexError> {
    let kb_version = knowledge.kb_version();
    let resolved = resolve_all(components);
    let names = package_names(&resolved);
    let unresolved: Vec<i64> = components
        .iter()
        .zip(&resolved)
        .filter(|(_, resolved)| resolved.is_err())
        .map(|(component, _)| component.id)
        .collect();
    let found = match knowledge {
        Knowledge::Index(index) => {
            let mut snapshot = index.snapshot(&names)?;
            let rows = std::mem::take(&mut snapshot.affected);
            let found = find(
                kb_version,
                (rows, Vec::new(), false),
                components,
                resolved,
                Records::of(&snapshot),
            );
            // The process ends soon after: freeing these entry by entry would only cost
            // time.
            std::mem::forget(snapshot);
            found
        }
        Knowledge::Snapshot(snapshot, cpe_rows) => {
            let rows = snapshot
                .affected
                .iter()
                .filter(|row| names.binary_search(&row.normalized_name).is_ok())
                .cloned()
                .map(AffectedInput::from)
                .collect();
            find(
                kb_version,
                (rows, cpe_rows.clone(), cpe),
                components,
                resolved,
                Records::of(snapshot),
            )
        }
    };
    Ok((found, unresolved))
}

/// Whether a scan of `components` components matches them in [`PARTS`] parts.
fn splits(components: usize, cpe: bool) -> bool {
    components >= SPLIT_MATCHING_FROM && !cpe
}

/// The places of the input's packages in the order `find_in_parts` takes them: when it
/// splits, part by part, each part's in the input's order; otherwise as given.
fn in_parts_order(packages: &[Package], cpe: bool) -> Vec<usize> {
    let mut order: Vec<usize> = (0..packages.len()).collect();
    if splits(packages.len(), cpe) {
        order.sort_by_key(|&i| part_of(&packages[i].name));
    }
    order
}

/// Which part of a split scan a package name falls in.
fn part_of(name: &str) -> usize {
    usize::from(name.bytes().fold(0u8, |hash, byte| hash ^ byte)) % PARTS
}

/// The report's order: vulnerabilities first, then informational findings; each by severity
/// (highest first), package name and identifier.
fn report_order(a: &FindingOut, b: &FindingOut) -> Ordering {
    a.kind
        .cmp(&b.kind)
        .then_with(|| b.severity.cmp(&a.severity))
        .then_with(|| a.package.name.cmp(&b.package.name))
        .then_with(|| a.id.cmp(&b.id))
}

/// `findings` stably sorted in report order, each moved once: a finding is a few hundred
/// bytes, and sorting the findings themselves would move each a dozen times.
fn sorted(findings: Vec<FindingOut>) -> Vec<FindingOut> {
    let mut order: Vec<usize> = (0..findings.len()).collect();
    order.sort_by(|&a, &b| report_order(&findings[a], &findings[b]));
    let mut slots: Vec<Option<FindingOut>> = findings.into_iter().map(Some).collect();
    order
        .into_iter()
        .map(|position| slots[position].take().expect("each position once"))
        .collect()
}

/// Lists in report order merged into one in report order, each finding moved once. On a tie
/// the earlier list's finding comes first, where a stable sort of the lists one after the
/// other puts it.
fn merged(lists: Vec<Vec<FindingOut>>) -> Vec<FindingOut> {
    let mut out = Vec::with_capacity(lists.iter().map(Vec::len).sum());
    let mut lists: Vec<std::vec::IntoIter<FindingOut>> =
        lists.into_iter().map(Vec::into_iter).collect();
    loop {
        // The first of the equally least heads: `min_by` keeps the earliest.
        let next = (0..lists.len())
            .filter_map(|i| lists[i].as_slice().first().map(|head| (i, head)))
            .min_by(|(_, a), (_, b)| report_order(a, b))
            .map(|(i, _)| i);
        match next {
            Some(i) => out.extend(lists[i].next()),
            None => return out,
        }
    }
}

/// What a snapshot says of its records, by internal id (aliases by alias group).
#[derive(Clone, Copy)]
struct Records<'a> {
    references: &'a HashMap<i64, VulnerabilityRef>,
    views: &'a HashMap<i64, MatchedRecordView>,
    aliases: &'a HashMap<i64, Vec<String>>,
}

impl<'a> Records<'a> {
    fn of<Row>(snapshot: &'a ScanSnapshot<Row>) -> Records<'a> {
        Records {
            references: &snapshot.references,
            views: &snapshot.views,
            aliases: &snapshot.group_identifiers,
        }
    }
}

/// One part's findings in report order: its index compiled, its components matched, one
/// finding chosen per component and alias group.
fn find(
    kb_version: i64,
    (rows, cpe_rows, cpe): (Vec<AffectedInput>, Vec<CpeMatchRow>, bool),
    components: &[ComponentIdentity],
    resolved: Vec<ResolvedPurl>,
    records: Records<'_>,
) -> (Vec<FindingOut>, UnmatchedComponents) {
    let index = compile_rows(kb_version, rows, cpe_rows);
    let mut matched = match_resolved(&index, components, resolved, cpe);
    // The kind of each matched record, as the index knows it.
    let informational: HashMap<i64, Option<String>> = matched
        .matches
        .iter()
        .map(|(_, m)| {
            (
                m.vulnerability_id,
                m.informational.as_deref().map(str::to_string),
            )
        })
        .collect();
    let chosen = choose_findings(std::mem::take(&mut matched.matches), records.references);
    let findings = chosen
        .into_iter()
        .filter_map(|finding| {
            let kind = informational
                .get(&finding.vulnerability_id)
                .cloned()
                .flatten();
            finding_out(finding, kind, components, records.views, records.aliases)
        })
        .collect();
    // The process ends soon after: freeing the index entry by entry would only cost time.
    std::mem::forget((index, informational));
    (sorted(findings), matched.unmatched)
}

/// Applies the `--vex` documents (`components`: the input's, each with its id; `input`'s
/// packages keep their `bom-ref`s): decisions land on their findings, and suppressed findings
/// move out of `findings` (returned, for --include-suppressed).
fn apply_vex(
    documents: &[scan_vex::LoadedVex],
    input: &Input,
    mut components: Vec<ComponentIdentity>,
    findings: &mut Vec<FindingOut>,
) -> (scan_vex::VexReport, Vec<FindingOut>) {
    use rampart_core::vex_match::{Release, ReleaseComponent, ReleaseFinding};
    components.sort_unstable_by_key(|component| component.id);
    let release = Release {
        identities: input.identities.clone(),
        bom_serial_numbers: input.serial_number.iter().cloned().collect(),
        components: components
            .into_iter()
            .map(|c| ReleaseComponent {
                id: c.id,
                name: c.name,
                version: c.version,
                purl: c.purl,
                cpe: c.cpe,
                bom_ref: usize::try_from(c.id)
                    .ok()
                    .and_then(|at| input.packages.get(at))
                    .and_then(|p| p.bom_ref.clone()),
            })
            .collect(),
        findings: findings
            .iter()
            .enumerate()
            .map(|(id, f)| ReleaseFinding {
                id: id as i64,
                component_id: f.component,
                vulnerability_ids: std::iter::once(&f.id).chain(&f.aliases).cloned().collect(),
            })
            .collect(),
    };
    let (mut decisions, report) = scan_vex::apply(documents, &release);
    let mut kept = Vec::with_capacity(findings.len());
    let mut suppressed = Vec::new();
    for (position, mut finding) in std::mem::take(findings).into_iter().enumerate() {
        finding.vex = decisions.remove(&position).map(Box::new);
        if finding.vex.as_ref().is_some_and(|d| d.suppressed) {
            suppressed.push(finding);
        } else {
            kept.push(finding);
        }
    }
    *findings = kept;
    (report, suppressed)
}

/// Everything not matched: the packages without a package to look up, and the lockfile
/// entries left out before matching, grouped by their reason.
fn skipped_with(mut unmatched: UnmatchedComponents, skipped: &[String]) -> UnmatchedComponents {
    let mut by_reason: BTreeMap<&str, i64> = BTreeMap::new();
    for reason in skipped {
        *by_reason.entry(reason.as_str()).or_default() += 1;
    }
    for (reason, count) in by_reason {
        unmatched.merge(UnmatchedComponents {
            count,
            reasons: vec![rampart_engine::analysis::UnmatchedReasonCount {
                reason: reason.to_string(),
                description: "left out by the lockfile reader".into(),
                count,
                examples: Vec::new(),
            }],
        });
    }
    unmatched
}

fn finding_out(
    finding: NewFinding,
    informational: Option<String>,
    components: &[ComponentIdentity],
    views: &HashMap<i64, MatchedRecordView>,
    aliases: &HashMap<i64, Vec<String>>,
) -> Option<FindingOut> {
    let view = views.get(&finding.vulnerability_id)?;
    // A part's components are in the input's order: ascending ids.
    let package = components
        .binary_search_by_key(&finding.component_id, |component| component.id)
        .ok()
        .map(|at| &components[at])?;
    Some(FindingOut {
        component: finding.component_id,
        id: view.vuln_id.clone(),
        aliases: aliases
            .get(&finding.group_id)
            .map(|ids| {
                ids.iter()
                    .filter(|id| **id != view.vuln_id)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default(),
        summary: view.summary.clone(),
        kind: if informational.is_some() {
            Kind::Informational
        } else {
            Kind::Vulnerability
        },
        informational,
        severity: Severity::of(view.severity.as_deref()),
        cvss_score: view.cvss,
        epss: view.epss,
        kev: view.in_kev,
        source: view.source.clone(),
        package: PackageOut {
            name: package.name.clone(),
            version: package.version.clone(),
            purl: package.purl.clone(),
            cpe: package.cpe.clone(),
        },
        matched_by: finding.matched_by,
        identifier: finding.identifier,
        detail: finding.detail,
        fixed_versions: finding.fixed_versions,
        vex: None,
    })
}

fn table(report: &Report) -> String {
    let mut out = finding_rows(&report.findings);
    let mut bands: Vec<Severity> = report
        .findings
        .iter()
        .filter(|f| f.kind == Kind::Vulnerability)
        .map(|f| f.severity)
        .collect();
    bands.sort_by(|a, b| b.cmp(a));
    bands.dedup();
    let mut counts: Vec<String> = bands
        .into_iter()
        .map(|band| format!("{} {}", report.by_severity[band.as_str()], band.as_str()))
        .collect();
    if !report.informational.is_empty() {
        let kinds: Vec<String> = report
            .informational
            .iter()
            .map(|(kind, count)| format!("{count} {kind}"))
            .collect();
        counts.push(format!(
            "{} informational ({})",
            report.informational.values().sum::<usize>(),
            kinds.join(", ")
        ));
    }
    out.push_str(&format!(
        "{} finding{} in {} packages of {} ({}){}; {} entries not matched{}\n",
        report.findings.len(),
        if report.findings.len() == 1 { "" } else { "s" },
        report.packages,
        report.file,
        report.input,
        if counts.is_empty() {
            String::new()
        } else {
            format!(": {}", counts.join(", "))
        },
        report.unmatched_components.count,
        if report.unmatched_components.count == 0 {
            String::new()
        } else {
            format!(" ({})", report.unmatched_components.summary())
        },
    ));
    if let Some(vex) = &report.vex {
        out.push_str(&vex.summary());
    }
    if let Some(suppressed) = report
        .suppressed_findings
        .as_ref()
        .filter(|s| !s.is_empty())
    {
        out.push_str("\nSuppressed by VEX:\n");
        out.push_str(&finding_rows(suppressed));
    }
    out
}

/// The findings as an aligned table with a header (nothing when there are none).
fn finding_rows(findings: &[FindingOut]) -> String {
    if findings.is_empty() {
        return String::new();
    }
    let header = [
        "SEVERITY",
        "KIND",
        "VULNERABILITY",
        "PACKAGE",
        "VERSION",
        "FIXED IN",
    ]
    .map(Cow::Borrowed);
    // Cells borrow what they show; only the ones that combine texts are built.
    let rows: Vec<[Cow<'_, str>; 6]> = std::iter::once(header)
        .chain(findings.iter().map(|finding| {
            [
                Cow::Borrowed(finding.severity.as_str()),
                match &finding.informational {
                    Some(kind) => Cow::Owned(format!("informational ({kind})")),
                    None => Cow::Borrowed("vulnerability"),
                },
                if finding.kev {
                    Cow::Owned(format!("{} (KEV)", finding.id))
                } else {
                    Cow::Borrowed(finding.id.as_str())
                },
                Cow::Borrowed(finding.package.name.as_str()),
                Cow::Borrowed(finding.package.version.as_deref().unwrap_or("-")),
                match finding.fixed_versions.as_slice() {
                    [] => Cow::Borrowed("-"),
                    [version] => Cow::Borrowed(version.as_str()),
                    versions => Cow::Owned(versions.join(", ")),
                },
            ]
        }))
        .collect();
    let mut widths = [0usize; 6];
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line_len: usize = widths.iter().map(|width| width + 2).sum();
    let mut out = String::with_capacity(rows.len() * line_len + 1);
    for row in &rows {
        let start = out.len();
        for (cell, width) in row.iter().zip(widths) {
            out.push_str(cell);
            push_spaces(&mut out, width.saturating_sub(cell.chars().count()) + 2);
        }
        let line_end = start + out[start..].trim_end().len();
        out.truncate(line_end);
        out.push('\n');
    }
    out.push('\n');
    out
}

/// Appends `count` spaces.
fn push_spaces(out: &mut String, mut count: usize) {
    const SPACES: &str = "                                                                ";
    while count > 0 {
        let chunk = count.min(SPACES.len());
        out.push_str(&SPACES[..chunk]);
        count -= chunk;
    }
}

/// SARIF 2.1.0 (`rampart_formats::sarif`): one rule per vulnerability, one result per
/// affected package, located in the scanned file.
fn sarif(report: &Report) -> sarif::SarifLog {
    let findings: Vec<sarif::PackageFinding> = report
        .findings
        .iter()
        .map(|finding| sarif::PackageFinding {
            id: &finding.id,
            aliases: &finding.aliases,
            summary: finding.summary.as_deref(),
            informational: finding.informational.as_deref(),
            severity: finding.severity.band(),
            cvss_score: finding.cvss_score,
            kev: finding.kev,
            package_name: &finding.package.name,
            package_version: finding.package.version.as_deref(),
            package_purl: finding.package.purl.as_deref(),
            matched_by: &finding.matched_by,
            detail: &finding.detail,
            fixed_versions: &finding.fixed_versions,
        })
        .collect();
    sarif::write_package_findings(
        "rampart",
        env!("CARGO_PKG_VERSION"),
        &report.file,
        &findings,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(component: i64, name: &str, id: &str, severity: Severity) -> FindingOut {
        FindingOut {
            component,
            id: id.into(),
            aliases: Vec::new(),
            summary: None,
            kind: Kind::Vulnerability,
            informational: None,
            severity,
            cvss_score: None,
            epss: None,
            kev: false,
            source: "osv".into(),
            package: PackageOut {
                name: name.into(),
                version: Some("1.0.0".into()),
                purl: None,
                cpe: None,
            },
            matched_by: "purl".into(),
            identifier: String::new(),
            detail: String::new(),
            fixed_versions: Vec::new(),
            vex: None,
        }
    }

    /// Sorting each part and merging the parts gives what one stable sort of the whole gives,
    /// ties included (told apart by `component`).
    #[test]
    fn parts_sorted_and_merged_are_the_whole_stably_sorted() {
        let severities = [
            Severity::Unknown,
            Severity::Low,
            Severity::High,
            Severity::Critical,
        ];
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = |below: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % below
        };
        for round in 0..200 {
            let len = next(40) as i64;
            let all: Vec<FindingOut> = (0..len)
                .map(|component| {
                    let mut f = finding(
                        component,
                        ["a", "b", "c", "dd", "e"][next(5) as usize],
                        ["RUSTSEC-1", "RUSTSEC-2", "GHSA-x"][next(3) as usize],
                        severities[next(4) as usize],
                    );
                    if next(4) == 0 {
                        f.kind = Kind::Informational;
                    }
                    f
                })
                .collect();
            let order = |list: &[FindingOut]| list.iter().map(|f| f.component).collect::<Vec<_>>();
            let mut expected: Vec<&FindingOut> = all.iter().collect();
            expected.sort_by(|a, b| report_order(a, b));
            let expected: Vec<i64> = expected.iter().map(|f| f.component).collect();
            let mut parts: Vec<Vec<FindingOut>> = (0..PARTS).map(|_| Vec::new()).collect();
            for f in all {
                parts[part_of(&f.package.name)].push(f);
            }
            let got = merged(parts.into_iter().map(sorted).collect());
            assert_eq!(order(&got), expected, "round {round}");
        }
    }

    #[test]
    fn the_table_aligns_every_cell_and_trims_each_line() {
        let mut kev = finding(0, "héllo", "CVE-2024-1", Severity::Critical);
        kev.kev = true;
        kev.fixed_versions = vec!["1.2.3".into(), "2.0.1".into()];
        let mut notice = finding(1, "b", "RUSTSEC-2024-0001", Severity::Unknown);
        notice.kind = Kind::Informational;
        notice.informational = Some("unmaintained".into());
        notice.package.version = None;
        let mut fixed_once = finding(2, "c", "GHSA-1", Severity::Low);
        fixed_once.fixed_versions = vec!["0.9".into()];
        assert_eq!(
            finding_rows(&[kev, notice, fixed_once]),
            "SEVERITY  KIND                          VULNERABILITY      PACKAGE  VERSION  FIXED IN\n\
             critical  vulnerability                 CVE-2024-1 (KEV)   héllo    1.0.0    1.2.3, 2.0.1\n\
             unknown   informational (unmaintained)  RUSTSEC-2024-0001  b        -        -\n\
             low       vulnerability                 GHSA-1             c        1.0.0    0.9\n\n"
        );
        assert_eq!(finding_rows(&[]), "");
    }
}
