//! Every entry point reads a package the same way (DESIGN §5). For every affected package of
//! the shared OSV corpora whose ecosystem has a purl type, the purl is written the way common
//! SBOM generators write it (syft, Trivy, cyclonedx-py / cyclonedx-npm / cyclonedx-maven,
//! cdxgen) at a version the record itself lists as affected; then SBOM analysis (an upload
//! through the real server), `rampart scan` (the real binary on the same database) and
//! `/v1/querybatch` must each find that record, and must agree on everything they find.
//!
//! One server and one import per backend, one SBOM per generator spelling, one querybatch
//! per thousand purls.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use rampart_formats::advisory::{parse_osv_json, parse_osv_yaml, Advisory, RangeEvent, RangeType};
use rampart_store::DatabaseLocation;
use rampart_test_support::{backend_tests, TestApp};
use serde_json::{json, Value};

/// The corpora loaded: whole trees, and single real records where a tree also holds
/// deliberately broken linter inputs.
fn corpus_paths(root: &Path) -> Vec<PathBuf> {
    let mut paths = vec![
        root.join("osv-pypa/vulns"),
        root.join("rustsec-advisory-db/osv/crates"),
        root.join("osv-oss-fuzz-vulns"),
        root.join("peer-tests/osv-dev/gcp/workers/oss_fuzz_worker/testdata"),
        root.join("peer-tests/osv-schema/tools/redhat/testdata/OSV"),
    ];
    let linter = root.join("peer-tests/osv-schema/tools/osv-linter/testdata");
    let ghsa = root.join("peer-tests/osv-schema/tools/ghsa/testdata");
    for (dir, keep) in [
        (
            &linter,
            (|name: &str| !name.starts_with("no")) as fn(&str) -> bool,
        ),
        (&ghsa, |name: &str| name.ends_with(".osv.json")),
    ] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| entry.unwrap().path())
            .filter(|path| keep(&path.file_name().unwrap().to_string_lossy()))
            .collect();
        files.sort();
        paths.extend(files);
    }
    paths
}

fn read_records(path: &Path, out: &mut Vec<Advisory>) {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .collect();
        entries.sort();
        for entry in entries {
            read_records(&entry, out);
        }
        return;
    }
    let name = path.to_string_lossy();
    let bytes = std::fs::read(path).unwrap();
    let parsed = if name.ends_with(".json") {
        parse_osv_json(&bytes)
    } else if name.ends_with(".yaml") || name.ends_with(".yml") {
        parse_osv_yaml(&bytes)
    } else {
        return;
    };
    // Documents that are not OSV records (an NVD file among the importer's inputs) are
    // skipped by the import too.
    if let Ok(report) = parsed {
        out.extend(report.records);
    }
}

/// A version the record says is affected: one it lists, else a range's first `introduced`
/// other than 0, else a `last_affected`, else (a range open from the start) `0.0.0`.
fn affected_version(affected: &rampart_formats::advisory::Affected) -> Option<String> {
    if let Some(version) = affected.versions.first() {
        return Some(version.clone());
    }
    let ranges: Vec<_> = affected
        .ranges
        .iter()
        .filter(|r| matches!(r.kind, RangeType::Semver | RangeType::Ecosystem))
        .collect();
    let events = || ranges.iter().flat_map(|r| r.events.iter());
    // An `introduced` that is also `fixed` opens an empty interval (RustSec writes them).
    let fixed: Vec<&str> = events()
        .filter_map(|e| match e {
            RangeEvent::Fixed(v) => Some(v.as_str()),
            _ => None,
        })
        .collect();
    let introduced = events().find_map(|e| match e {
        RangeEvent::Introduced(v)
            if v != "0" && !v.starts_with("0.0.0-") && !fixed.contains(&v.as_str()) =>
        {
            Some(v.clone())
        }
        _ => None,
    });
    let last_affected = events().find_map(|e| match e {
        RangeEvent::LastAffected(v) => Some(v.clone()),
        _ => None,
    });
    let from_start = events()
        .any(|e| matches!(e, RangeEvent::Introduced(v) if v == "0" || v.starts_with("0.0.0-")));
    introduced
        .or(last_affected)
        .or_else(|| from_start.then(|| "0.0.0".to_string()))
}

/// The generator spellings compared, each one SBOM.
const SPELLINGS: [&str; 3] = ["syft", "trivy", "cyclonedx"];

fn encode_scope(name: &str) -> String {
    name.replacen('@', "%40", 1)
}

/// How `spelling` writes the purl of `name` at `version` in OSV `ecosystem` (suffix
/// included, e.g. `Debian:7`), from each tool's documented output; `None` for ecosystems
/// without a purl type.
fn generator_purl(spelling: &str, ecosystem: &str, name: &str, version: &str) -> Option<String> {
    let (base, suffix) = match ecosystem.split_once(':') {
        Some((base, suffix)) => (base, Some(suffix)),
        None => (ecosystem, None),
    };
    let purl = match (base, spelling) {
        // cyclonedx-py keeps the distribution's own spelling; syft and Trivy lower-case it
        // (Trivy also turns `_` into `-`).
        ("PyPI", "cyclonedx") => format!("pkg:pypi/{name}@{version}"),
        ("PyPI", "syft") => format!("pkg:pypi/{}@{version}", name.to_lowercase()),
        ("PyPI", _) => format!(
            "pkg:pypi/{}@{version}",
            name.to_lowercase().replace('_', "-")
        ),
        ("crates.io", _) => format!("pkg:cargo/{name}@{version}"),
        // cyclonedx-npm and syft encode the scope's `@`; cdxgen-era SBOMs leave it bare.
        ("npm", "trivy") => format!("pkg:npm/{name}@{version}"),
        ("npm", _) => format!("pkg:npm/{}@{version}", encode_scope(name)),
        // The Go toolchain: syft drops the `v`, Trivy keeps it, cyclonedx-gomod says `std`.
        ("Go", "syft") if name == "stdlib" => format!("pkg:golang/stdlib@{version}"),
        ("Go", "trivy") if name == "stdlib" => format!("pkg:golang/stdlib@v{version}"),
        ("Go", _) if name == "stdlib" => format!("pkg:golang/std@v{version}"),
        // Module versions carry a `v`; a tag that is not a semantic version is kept as is.
        // Trivy lower-cases module paths (trivy#4306).
        ("Go", _) => {
            let path = if spelling == "trivy" {
                name.to_lowercase()
            } else {
                name.to_string()
            };
            let v = if version.starts_with(|c: char| c.is_ascii_digit()) {
                "v"
            } else {
                ""
            };
            format!("pkg:golang/{path}@{v}{version}")
        }
        // cyclonedx-maven adds `?type=jar`.
        ("Maven", "cyclonedx") => {
            let (group, artifact) = name.split_once(':')?;
            format!("pkg:maven/{group}/{artifact}@{version}?type=jar")
        }
        ("Maven", _) => {
            let (group, artifact) = name.split_once(':')?;
            format!("pkg:maven/{group}/{artifact}@{version}")
        }
        ("RubyGems", _) => format!("pkg:gem/{name}@{version}"),
        ("Packagist", _) => format!("pkg:composer/{name}@{version}"),
        ("NuGet", _) => format!("pkg:nuget/{name}@{version}"),
        ("Hackage", _) => format!("pkg:hackage/{name}@{version}"),
        ("CRAN", _) => format!("pkg:cran/{name}@{version}"),
        ("Hex", _) => format!("pkg:hex/{name}@{version}"),
        ("Pub", _) => format!("pkg:pub/{name}@{version}"),
        // Distribution packages: syft names the binary and points at the source package in
        // `upstream`; Trivy writes the epoch as a qualifier; both add arch and distro.
        ("Debian", "syft") => format!(
            "pkg:deb/debian/lib{name}@{version}?arch=amd64&upstream={name}&distro=debian-{}",
            suffix.unwrap_or("12")
        ),
        ("Debian", _) => deb_purl("debian", name, version, suffix.unwrap_or("12")),
        ("Ubuntu", _) => deb_purl("ubuntu", name, version, "22.04"),
        ("Alpine", _) => format!(
            "pkg:apk/alpine/{name}@{version}?arch=x86_64&distro={}",
            suffix.map_or("3.19", |s| s.trim_start_matches('v'))
        ),
        ("Red Hat", _) => {
            let (epoch, bare) = match version.split_once(':') {
                Some((epoch, bare)) => (Some(epoch), bare),
                None => (None, version),
            };
            let epoch = epoch.map(|e| format!("&epoch={e}")).unwrap_or_default();
            format!("pkg:rpm/redhat/{name}@{bare}?arch=x86_64{epoch}")
        }
        _ => return None,
    };
    Some(purl)
}

/// Trivy's deb spelling: `+` encoded, the epoch as a qualifier.
fn deb_purl(vendor: &str, name: &str, version: &str, release: &str) -> String {
    let (epoch, bare) = match version.split_once(':') {
        Some((epoch, bare)) => (Some(epoch), bare),
        None => (None, version),
    };
    let epoch = epoch.map(|e| format!("&epoch={e}")).unwrap_or_default();
    format!(
        "pkg:deb/{vendor}/{name}@{}?arch=amd64{epoch}&distro={vendor}-{release}",
        bare.replace('+', "%2B")
    )
}

/// Per spelling: purl → the records that list it as affected.
type Cases = BTreeMap<&'static str, BTreeMap<String, BTreeSet<String>>>;

/// Whether every version the entry's ranges name is a version of its ecosystem. Records that
/// bound a range with something else (`fixed: 2019-09-12` on PyPI, a branch name on Go) cannot
/// be evaluated by any entry point; they stay in the agreement check but cannot be expected
/// to be found.
fn evaluable(
    ecosystem: &str,
    affected: &rampart_formats::advisory::Affected,
    version: &str,
) -> bool {
    let Ok(ecosystem) = rampart_versions::Ecosystem::parse(ecosystem) else {
        return false;
    };
    let scheme = ecosystem.scheme();
    affected
        .ranges
        .iter()
        .filter(|r| matches!(r.kind, RangeType::Semver | RangeType::Ecosystem))
        .flat_map(|r| r.events.iter())
        .map(RangeEvent::version)
        .chain([version])
        .filter(|v| *v != "0")
        .all(|v| scheme.parse_strict(v).is_ok())
}

/// Records whose range bound is no PEP 440 version (packaging's `Version` raises
/// InvalidVersion for both), although our PEP 440 reader takes it leniently: nothing orders
/// a version against them.
const NOT_PEP_440: [(&str, &str); 2] = [
    ("PYSEC-2021-371", "fixed: 0.2.0-n653"),
    ("PYSEC-2019-125", "fixed: 2019-09-12"),
];

fn cases(records: &[Advisory]) -> (Cases, BTreeMap<String, usize>, BTreeSet<String>) {
    let mut cases: Cases = BTreeMap::new();
    let mut per_ecosystem: BTreeMap<String, usize> = BTreeMap::new();
    let mut unevaluable: BTreeSet<String> =
        NOT_PEP_440.iter().map(|(id, _)| id.to_string()).collect();
    for record in records.iter().filter(|r| r.withdrawn.is_none()) {
        for affected in &record.affected {
            let Some(package) = &affected.package else {
                continue;
            };
            let Some(version) = affected_version(affected) else {
                continue;
            };
            if !evaluable(&package.ecosystem, affected, &version) {
                unevaluable.insert(record.id.clone());
            }
            for spelling in SPELLINGS {
                let Some(purl) =
                    generator_purl(spelling, &package.ecosystem, &package.name, &version)
                else {
                    continue;
                };
                if spelling == SPELLINGS[0] {
                    let base = package.ecosystem.split(':').next().unwrap_or_default();
                    *per_ecosystem.entry(base.to_string()).or_default() += 1;
                }
                cases
                    .entry(spelling)
                    .or_default()
                    .entry(purl)
                    .or_default()
                    .insert(record.id.clone());
            }
        }
    }
    (cases, per_ecosystem, unevaluable)
}

fn cyclonedx(purls: &BTreeMap<String, BTreeSet<String>>) -> Vec<u8> {
    let components: Vec<Value> = purls
        .keys()
        .enumerate()
        .map(|(index, purl)| {
            json!({"type": "library", "bom-ref": format!("c{index}"), "name": format!("c{index}"), "purl": purl})
        })
        .collect();
    serde_json::to_vec(&json!({
        "bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1, "components": components,
    }))
    .unwrap()
}

/// Loads the corpora into the app's database with the real `rampart import`.
fn import(location: &DatabaseLocation, paths: &[PathBuf]) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rampart"));
    command.args(["import", "--quiet", "--type", "osv"]);
    match location {
        DatabaseLocation::SqliteDir(dir) => command.arg("--data-dir").arg(dir),
        DatabaseLocation::Postgres(url) => command.arg("--database-url").arg(url),
    };
    let output = command.args(paths).output().unwrap();
    assert!(output.status.success(), "{output:?}");
}

fn scan(location: &DatabaseLocation, file: &Path) -> Value {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rampart"));
    command.args(["scan", "--json"]);
    match location {
        DatabaseLocation::SqliteDir(dir) => command.arg("--db").arg(dir),
        DatabaseLocation::Postgres(url) => command.arg("--database-url").arg(url),
    };
    let output = command.arg(file).output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Uploads the SBOM to a fresh release and waits for its analysis; purl → every record id
/// (and alias) of its findings.
async fn analyse(
    app: &TestApp,
    spelling: &str,
    sbom: Vec<u8>,
) -> (Value, BTreeMap<String, BTreeSet<String>>) {
    let release_id = app.create_release(&format!("agreement {spelling}")).await;
    let response = app
        .post(&format!("/api/v1/releases/{release_id}/sboms"))
        .header("content-type", "application/vnd.cyclonedx+json")
        .body(sbom)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let uploaded: Value = response.json().await.unwrap();
    let analysis_id = uploaded["analysis"]["id"].as_i64().unwrap();
    let mut analysis = Value::Null;
    for _ in 0..6000 {
        analysis = app
            .get(&format!("/api/v1/analyses/{analysis_id}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if analysis["status"] == "completed" || analysis["status"] == "failed" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(analysis["status"], "completed", "{analysis}");
    let sbom_id = uploaded["sbom"]["id"].as_i64().unwrap();
    let mut found: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for page in 1.. {
        let listed: Value = app
            .get(&format!(
                "/api/v1/releases/{release_id}/vulnerabilities?sbom_id={sbom_id}&per_page=500&page={page}"
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let items = listed["items"].as_array().unwrap();
        for finding in items {
            let purl = finding["component"]["purl"].as_str().unwrap().to_string();
            let ids = found.entry(purl).or_default();
            ids.insert(finding["vulnerability"]["id"].as_str().unwrap().to_string());
            for alias in finding["vulnerability"]["aliases"].as_array().unwrap() {
                ids.insert(alias.as_str().unwrap().to_string());
            }
        }
        if items.len() < 500 {
            break;
        }
    }
    (uploaded["sbom"].clone(), found)
}

/// purl → the record ids `/v1/querybatch` answers (osv.dev's limit: 1000 queries a batch).
async fn query(app: &TestApp, purls: &[&String]) -> BTreeMap<String, BTreeSet<String>> {
    let mut found = BTreeMap::new();
    for chunk in purls.chunks(1000) {
        let queries: Vec<Value> = chunk
            .iter()
            .map(|purl| json!({"package": {"purl": purl}}))
            .collect();
        let response = app
            .post("/v1/querybatch")
            .json(&json!({"queries": queries}))
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 200, "{body}");
        for (purl, result) in chunk.iter().zip(body["results"].as_array().unwrap()) {
            let ids: BTreeSet<String> = result["vulns"]
                .as_array()
                .map(|vulns| {
                    vulns
                        .iter()
                        .map(|v| v["id"].as_str().unwrap().to_string())
                        .collect()
                })
                .unwrap_or_default();
            assert!(result["next_page_token"].is_null(), "{purl}: paged");
            found.insert((*purl).clone(), ids);
        }
    }
    found
}

backend_tests! {
    async fn analysis_scan_and_osv_query_agree_on_every_generator_spelled_purl(app) {
        let Some(root) = rampart_test_data::root() else { return };
        let paths = corpus_paths(&root);
        let mut records = Vec::new();
        for path in &paths {
            read_records(path, &mut records);
        }
        let (cases, per_ecosystem, unevaluable) = cases(&records);
        eprintln!("affected packages with a generator purl, per ecosystem: {per_ecosystem:?}");
        eprintln!("records whose ranges name versions their ecosystem cannot read: {unevaluable:?}");
        assert!(unevaluable.len() < 20, "{unevaluable:?}");
        // Every ecosystem of the corpora that has a purl type is exercised.
        for ecosystem in ["PyPI", "crates.io", "Go", "npm", "Maven", "RubyGems", "Debian", "Alpine", "Red Hat"] {
            assert!(per_ecosystem.contains_key(ecosystem), "no {ecosystem} case: {per_ecosystem:?}");
        }
        assert!(per_ecosystem.values().sum::<usize>() > 3000, "{per_ecosystem:?}");

        import(&app.config.database, &paths);
        app.wait_for_index().await;
        let work = tempfile::tempdir().unwrap();
        let mut failures = Vec::new();
        for (spelling, purls) in &cases {
            let sbom = cyclonedx(purls);
            let file = work.path().join(format!("{spelling}.cdx.json"));
            std::fs::write(&file, &sbom).unwrap();
            let (sbom_body, analysed) = analyse(&app, spelling, sbom).await;
            // Every component of these SBOMs names a package: none may be left out.
            assert_eq!(sbom_body["unmatched_components"]["count"], 0, "{spelling}: {}", sbom_body["unmatched_components"]);

            let report = {
                let location = app.config.database.clone();
                tokio::task::spawn_blocking(move || scan(&location, &file)).await.unwrap()
            };
            assert_eq!(report["unmatched_components"]["count"], 0, "{spelling}: {}", report["unmatched_components"]);
            let mut scanned: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
            for finding in report["findings"].as_array().unwrap() {
                let ids = scanned.entry(finding["package"]["purl"].as_str().unwrap().to_string()).or_default();
                ids.insert(finding["id"].as_str().unwrap().to_string());
                for alias in finding["aliases"].as_array().unwrap() {
                    ids.insert(alias.as_str().unwrap().to_string());
                }
            }
            let queried = query(&app, &purls.keys().collect::<Vec<_>>()).await;

            let empty = BTreeSet::new();
            for (purl, expected) in purls {
                let by_analysis = analysed.get(purl).unwrap_or(&empty);
                let by_scan = scanned.get(purl).unwrap_or(&empty);
                let by_query = &queried[purl];
                for record in expected.iter().filter(|r| !unevaluable.contains(*r)) {
                    for (entry_point, found) in [("analysis", by_analysis), ("scan", by_scan), ("/v1/query", by_query)] {
                        if !found.contains(record) {
                            failures.push(format!("{spelling}: {entry_point} misses {record} for {purl}"));
                        }
                    }
                }
                // Analysis and scan report one finding per alias group, with the group's
                // identifiers; the query answers every record. All must name the same records.
                if by_analysis != by_scan {
                    failures.push(format!("{spelling}: {purl}: analysis {by_analysis:?} != scan {by_scan:?}"));
                }
                if let Some(extra) = by_query.iter().find(|id| !by_analysis.contains(*id)) {
                    failures.push(format!("{spelling}: {purl}: /v1/query finds {extra}, analysis does not"));
                }
            }
        }
        let total: usize = cases.values().map(BTreeMap::len).sum();
        eprintln!("{total} purls compared, {} disagreements", failures.len());
        assert!(failures.is_empty(), "{} of {total}:\n{}", failures.len(), failures.iter().take(60).cloned().collect::<Vec<_>>().join("\n"));
    }
}
