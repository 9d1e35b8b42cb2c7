//! `rampart scan --server URL` (issue 20 item 8): the same scan asked of a running Rampart
//! through `/v1/querybatch` instead of a local database. On both backends, a server loaded
//! with the real RustSec and PyPA advisories and CISA KEV, and the same inputs scanned both
//! ways: a real SPDX SBOM of ../shared/data, a CycloneDX SBOM and lockfiles (Cargo.lock,
//! requirements.txt) naming real affected package versions: the same findings (JSON and
//! SARIF, byte for byte but the knowledge-base version), the same table, the same exit codes
//! with --fail-on, the same effect of --vex; and the refusals (no key, a refused key).

use std::path::Path;
use std::process::Command;

use rampart_test_support::{backend_tests, TestApp};
use serde_json::{json, Value};

use crate::database_args;

fn run(args: &[String], key: Option<&str>) -> (i32, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rampart"));
    command
        .args(args)
        .env_remove("RAMPART_DATABASE_URL")
        .env_remove("RAMPART_DATA_DIR")
        .env_remove("RAMPART_API_KEY");
    if let Some(key) = key {
        command.env("RAMPART_API_KEY", key);
    }
    let output = command.output().expect("run rampart");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The scan of `file` with `extra` flags, offline (`--data-dir`/`--database-url`) and against
/// the server: (exit code, stdout) of each.
fn both(app: &TestApp, file: &Path, extra: &[&str]) -> ((i32, String), (i32, String)) {
    let mut offline = vec!["scan".to_string()];
    offline.extend(database_args(app));
    offline.extend(extra.iter().map(|s| s.to_string()));
    offline.push(file.display().to_string());
    let mut remote = vec!["scan".to_string(), "--server".into(), app.url.clone()];
    remote.extend(extra.iter().map(|s| s.to_string()));
    remote.push(file.display().to_string());
    let (code_offline, out_offline, err_offline) = run(&offline, None);
    let (code_remote, out_remote, err_remote) = run(&remote, Some(&app.admin_key));
    assert!(
        code_offline == 0 || code_offline == 1,
        "offline: {err_offline}"
    );
    assert!(code_remote == 0 || code_remote == 1, "server: {err_remote}");
    ((code_offline, out_offline), (code_remote, out_remote))
}

/// A JSON report without what differs by design (the knowledge-base version: the local
/// database's versus the server's).
fn comparable(report: &str) -> Value {
    let mut report: Value =
        serde_json::from_str(report).unwrap_or_else(|e| panic!("{e}: {report}"));
    report
        .as_object_mut()
        .unwrap()
        .remove("knowledge_base_version");
    report
}

fn import(app: &TestApp, feed: &str, sources: &[&Path]) {
    let mut args = vec!["import".to_string()];
    args.extend(database_args(app));
    args.extend(["--type".into(), feed.into(), "--quiet".into()]);
    args.extend(sources.iter().map(|s| s.display().to_string()));
    let (code, stdout, stderr) = run(&args, None);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
}

backend_tests! {
    async fn a_scan_against_a_server_finds_what_the_offline_scan_finds(app) {
        let Some(root) = rampart_test_data::root() else { return };
        let pypa: Vec<_> = ["aiohttp", "django", "jinja2", "pillow", "requests", "urllib3"]
            .iter().map(|name| root.join("osv-pypa/vulns").join(name)).collect();
        let mut osv = vec![root.join("rustsec-advisory-db/osv")];
        osv.extend(pypa);
        import(&app, "osv", &osv.iter().map(|p| p.as_path()).collect::<Vec<_>>());
        import(&app, "kev", &[&root.join("cisa-kev/known_exploited_vulnerabilities.json")]);
        app.wait_for_index().await;

        let work = tempfile::tempdir().unwrap();
        let cargo_lock = work.path().join("Cargo.lock");
        let crates = [("smallvec", "0.6.0"), ("hyper", "0.10.0"), ("tokio", "0.1.0"), ("time", "0.1.40"),
            ("openssl", "0.10.20"), ("regex", "1.5.4"), ("chrono", "0.4.19"), ("serde", "1.0.100")];
        let mut lock = String::from("version = 3\n");
        for (name, version) in crates {
            lock.push_str(&format!("\n[[package]]\nname = \"{name}\"\nversion = \"{version}\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n"));
        }
        std::fs::write(&cargo_lock, lock).unwrap();
        let requirements = work.path().join("requirements.txt");
        std::fs::write(&requirements, "Jinja2==2.7.2\ndjango==3.2.0\nPillow==8.0.0\nrequests>=2.0\nurllib3==1.26.4\n").unwrap();
        let cyclonedx = work.path().join("bom.json");
        std::fs::write(&cyclonedx, json!({"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1,
            "metadata": {"component": {"type": "application", "name": "scanned", "version": "1.0", "bom-ref": "app"}},
            "components": [
                {"type": "library", "bom-ref": "a", "name": "aiohttp", "version": "3.7.0", "purl": "pkg:pypi/aiohttp@3.7.0"},
                {"type": "library", "bom-ref": "b", "name": "hyper", "version": "0.14.0", "purl": "pkg:cargo/hyper@0.14.0"},
                {"type": "library", "bom-ref": "c", "name": "left-pad", "version": "1.0.0"}]}).to_string()).unwrap();
        let spdx = root.join("spdx-examples/software/example11/spdx2.3/sbom.spdx.json");

        let mut total_findings = 0;
        for file in [&cargo_lock, &requirements, &cyclonedx, &spdx] {
            let ((code_offline, offline), (code_remote, remote)) = both(&app, file, &["--json"]);
            assert_eq!(code_remote, code_offline, "{}", file.display());
            assert_eq!(comparable(&remote), comparable(&offline), "{}", file.display());
            total_findings += comparable(&offline)["findings"].as_array().unwrap().len();
            let (sarif_offline, sarif_remote) = both(&app, file, &["--sarif"]);
            assert_eq!(sarif_remote, sarif_offline, "{}", file.display());
            let (table_offline, table_remote) = both(&app, file, &[]);
            assert_eq!(table_remote, table_offline, "{}", file.display());
            for threshold in ["low", "critical", "unknown"] {
                let ((code_offline, _), (code_remote, _)) = both(&app, file, &["--json", "--fail-on", threshold]);
                assert_eq!(code_remote, code_offline, "{} --fail-on {threshold}", file.display());
            }
        }
        assert!(total_findings > 20, "only {total_findings} findings: the comparison proves little");

        // --vex: a decision on one finding suppresses it the same way in both modes.
        let report = comparable(&both(&app, &cargo_lock, &["--json"]).0 .1);
        let first = &report["findings"][0];
        let vex = work.path().join("vex.json");
        std::fs::write(&vex, json!({"@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://example.com/vex/1",
            "author": "test", "timestamp": "2024-01-01T00:00:00Z", "version": 1,
            "statements": [{"vulnerability": {"name": first["id"]},
                "products": [{"@id": first["package"]["purl"]}],
                "status": "not_affected", "justification": "vulnerable_code_not_in_execute_path"}]}).to_string()).unwrap();
        let vex_flag = vex.display().to_string();
        let ((code_offline, offline), (code_remote, remote)) = both(&app, &cargo_lock,
            &["--json", "--vex", &vex_flag, "--include-suppressed", "--fail-on", "low"]);
        assert_eq!(code_remote, code_offline);
        let offline = comparable(&offline);
        assert_eq!(comparable(&remote), offline);
        assert_eq!(offline["suppressed_findings"].as_array().map(Vec::len), Some(1), "{offline}");

        // Refusals: no key, a refused key; both bad input (2) saying why.
        let file = cargo_lock.display().to_string();
        let (code, _, stderr) = run(&["scan".into(), "--server".into(), app.url.clone(), file.clone()], None);
        assert_eq!(code, 2, "{stderr}");
        assert!(stderr.contains("RAMPART_API_KEY"), "{stderr}");
        let (code, _, stderr) = run(&["scan".into(), "--server".into(), app.url.clone(), file.clone()],
            Some("rk_live_0000000000000000000000000000000000000000000000000000000000000000"));
        assert_eq!(code, 2, "{stderr}");
        assert!(stderr.contains("401"), "{stderr}");
        let (code, _, stderr) = run(&["scan".into(), "--server".into(), app.url.clone(), "--cpe".into(), file],
            Some(&app.admin_key));
        assert_eq!(code, 2, "{stderr}");
    }
}
