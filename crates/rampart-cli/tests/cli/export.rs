//! `rampart export --type osv` as an operator runs it, on both backends (issue 20 item 5):
//! a server's knowledge base, loaded with `rampart import` from the real RustSec and PyPA
//! corpora, exported offline as a zip and as a directory (the same files as the server's
//! `GET /api/v1/kb/export`), then imported into a fresh server with `rampart import --type
//! osv`: both answer `/v1/querybatch` and `/v1/vulns/{id}` the same.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::process::Command;

use rampart_test_support::{backend_tests, TestApp};

use crate::database_args;
use reqwest::StatusCode;
use serde_json::{json, Value};

fn rampart(args: &[String]) -> std::process::Output {
    let output = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(args)
        .env_remove("RAMPART_DATABASE_URL")
        .env_remove("RAMPART_DATA_DIR")
        .output()
        .expect("run rampart");
    assert!(
        output.status.success(),
        "rampart {args:?}: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn import(app: &TestApp, sources: &[&Path]) {
    let mut args = vec!["import".to_string()];
    args.extend(database_args(app));
    args.extend(["--type".into(), "osv".into(), "--quiet".into()]);
    args.extend(sources.iter().map(|s| s.display().to_string()));
    rampart(&args);
}

fn export(app: &TestApp, out: &Path) -> String {
    let mut args = vec!["export".to_string()];
    args.extend(database_args(app));
    args.extend(["--type".into(), "osv".into(), "--out".into()]);
    args.push(out.display().to_string());
    String::from_utf8_lossy(&rampart(&args).stderr).into_owned()
}

fn zip_entries(bytes: Vec<u8>) -> BTreeMap<String, Vec<u8>> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip archive");
    (0..zip.len())
        .map(|i| {
            let mut file = zip.by_index(i).unwrap();
            let mut bytes = Vec::new();
            file.read_to_end(&mut bytes).unwrap();
            (file.name().to_string(), bytes)
        })
        .collect()
}

/// Queries for the records' packages, at a listed version and without one.
fn sample_queries(entries: &BTreeMap<String, Vec<u8>>) -> Vec<Value> {
    let mut queries = Vec::new();
    for bytes in entries.values().step_by(3) {
        let record: Value = serde_json::from_slice(bytes).unwrap();
        for affected in record["affected"].as_array().into_iter().flatten() {
            let package = &affected["package"];
            if package.is_null() {
                continue;
            }
            let package = json!({"ecosystem": package["ecosystem"], "name": package["name"]});
            if let Some(version) = affected["versions"][0].as_str() {
                queries.push(json!({"package": package, "version": version}));
            }
            queries.push(json!({"package": package}));
        }
        if queries.len() >= 1000 {
            break;
        }
    }
    queries.truncate(1000);
    queries
}

async fn answers(app: &TestApp, queries: &[Value]) -> Vec<Vec<String>> {
    let response = app
        .post("/v1/querybatch")
        .json(&json!({"queries": queries}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|result| {
            let mut ids: Vec<String> = result["vulns"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|v| format!("{} {}", v["id"], v["modified"]))
                .collect();
            ids.sort();
            ids
        })
        .collect()
}

backend_tests! {
    async fn an_offline_export_imported_into_a_fresh_server_answers_the_same(app) {
        let Some(root) = rampart_test_data::root() else { return };
        let work = tempfile::tempdir().unwrap();
        import(&app, &[&root.join("rustsec-advisory-db/osv"), &root.join("osv-pypa/vulns/aiohttp"),
            &root.join("osv-pypa/vulns/django")]);
        app.wait_for_index().await;

        // The offline zip, the offline tree and the server's download hold the same files.
        let archive = work.path().join("out/kb.zip");
        let said = export(&app, &archive);
        assert!(said.contains("exported "), "{said}");
        let offline = zip_entries(std::fs::read(&archive).unwrap());
        assert!(offline.len() > 1200, "{}", offline.len());
        let tree = work.path().join("tree");
        export(&app, &tree);
        let files: BTreeMap<String, Vec<u8>> = std::fs::read_dir(&tree).unwrap()
            .map(|e| e.unwrap().path())
            .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
            .collect();
        assert_eq!(files, offline, "the tree and the zip differ");
        let downloaded = app.get("/api/v1/kb/export").send().await.unwrap();
        assert_eq!(downloaded.status(), StatusCode::OK);
        assert_eq!(zip_entries(downloaded.bytes().await.unwrap().to_vec()), offline);
        assert!(!work.path().join("out/kb.zip.partial").exists());

        // A fresh server loads the archive with `rampart import --type osv` and answers alike.
        let mirror = TestApp::spawn_with(app.backend, |_| {}).await.unwrap();
        import(&mirror, &[&archive]);
        mirror.wait_for_index().await;
        let queries = sample_queries(&offline);
        let primary_answers = answers(&app, &queries).await;
        assert_eq!(answers(&mirror, &queries).await, primary_answers);
        let matched = primary_answers.iter().filter(|a| !a.is_empty()).count();
        assert!(matched > 200, "only {matched} of {} queries matched", queries.len());
        for name in offline.keys().step_by(50) {
            let path = format!("/v1/vulns/{}", name.trim_end_matches(".json"));
            let there: Value = mirror.get(&path).send().await.unwrap().json().await.unwrap();
            let here: Value = app.get(&path).send().await.unwrap().json().await.unwrap();
            assert_eq!(there, here, "{path}");
        }
        // Exporting the mirror gives the archive it was loaded from back.
        let again = work.path().join("again.zip");
        export(&mirror, &again);
        assert_eq!(zip_entries(std::fs::read(&again).unwrap()), offline);
    }
}

#[test]
fn export_refuses_a_missing_database_and_a_bad_ecosystem() {
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("kb.zip");
    for (extra, expected) in [
        (vec![], "no Rampart database"),
        (vec!["--ecosystem", "a/b"], "--ecosystem"),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_rampart"))
            .args(["export", "--type", "osv", "--data-dir"])
            .arg(work.path().join("empty"))
            .arg("--out")
            .arg(&out)
            .args(extra)
            .env_remove("RAMPART_DATABASE_URL")
            .env_remove("RAMPART_DATA_DIR")
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{output:?}");
        assert!(
            String::from_utf8_lossy(&output.stderr).contains(expected),
            "{output:?}"
        );
        assert!(!out.exists());
    }
}

/// The benchmark of BENCHMARKS.md: the whole shared OSV corpus (RustSec, PyPA, OSS-Fuzz) in a
/// SQLite database, exported to a zip by `rampart export`; it prints the time (budget in
/// BENCHMARKS.md: 2 s in a release build), it does not assert it.
/// `cargo test --release -p rampart-cli --test cli export_bench -- --ignored --nocapture`
#[test]
#[ignore]
fn export_bench_whole_corpus() {
    let Some(root) = rampart_test_data::root() else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    let database = vec!["--data-dir".to_string(), data.display().to_string()];
    let mut args = vec!["import".to_string()];
    args.extend(database.clone());
    args.extend(["--type", "osv", "--quiet"].map(String::from));
    for corpus in ["rustsec-advisory-db/osv", "osv-pypa", "osv-oss-fuzz-vulns"] {
        args.push(root.join(corpus).display().to_string());
    }
    rampart(&args);
    let out = work.path().join("kb.zip");
    let mut best = f64::MAX;
    for _ in 0..3 {
        let mut args = vec!["export".to_string()];
        args.extend(database.clone());
        args.extend(["--type", "osv", "--out"].map(String::from));
        args.push(out.display().to_string());
        let started = std::time::Instant::now();
        rampart(&args);
        best = best.min(started.elapsed().as_secs_f64());
    }
    let bytes = std::fs::read(&out).unwrap();
    let records = zip_entries(bytes.clone()).len();
    println!(
        "export of {records} OSV records: best of 3 {best:.2} s (process start included), {:.1} MB zip",
        bytes.len() as f64 / 1e6
    );
    assert!(records > 7_500, "{records}");
}
