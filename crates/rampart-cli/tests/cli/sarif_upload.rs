//! `rampart sarif upload` as a CI pipeline runs it: the real binary against a real server on
//! both backends, the key from `RAMPART_API_KEY`, and the exit code gating on findings opened
//! at or above `--fail-on`.

use std::process::{Command, Output};

use rampart_test_support::{backend_tests, TestApp};
use serde_json::{json, Value};

fn log(results: Value) -> Value {
    json!({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "ci-scanner", "rules": [
        {"id": "HIGH", "properties": {"security-severity": "8.1"}},
        {"id": "LOW", "properties": {"security-severity": "2.0"}}]}},
        "results": results}]})
}

fn result(rule: &str, file: &str) -> Value {
    json!({"ruleId": rule, "message": {"text": format!("{rule} finding")},
        "locations": [{"physicalLocation": {"artifactLocation": {"uri": file},
            "region": {"startLine": 3, "snippet": {"text": format!("{rule}()")}}}}]})
}

fn upload(
    app: &TestApp,
    key: &str,
    integration: i64,
    file: &std::path::Path,
    extra: &[&str],
) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args([
            "sarif",
            "upload",
            "--integration",
            &integration.to_string(),
            "--url",
            &app.url,
        ])
        .args(extra)
        .arg(file)
        .env("RAMPART_API_KEY", key)
        .env_remove("RAMPART_URL")
        .output()
        .unwrap()
}

backend_tests! {
    async fn ci_uploads_gate_on_findings_opened_at_or_above_fail_on(app) {
        let integration: Value = app.post("/api/v1/integrations")
            .json(&json!({"name": "ci", "type": "RAMPART_CLI"}))
            .send().await.unwrap().json().await.unwrap();
        let id = integration["id"].as_i64().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("scan.sarif");
        std::fs::write(&file, log(json!([result("LOW", "a.py")])).to_string()).unwrap();
        let key = app.admin_key.clone();

        let output = upload(&app, &key, id, &file, &["--fail-on", "high", "--ref", "refs/heads/main"]);
        assert_eq!(output.status.code(), Some(0), "{output:?}");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(stdout.contains("1 new, 0 unchanged"), "{stdout}");

        std::fs::write(&file, log(json!([result("LOW", "a.py"), result("HIGH", "b.py")])).to_string()).unwrap();
        let output = upload(&app, &key, id, &file, &["--fail-on", "high", "--ref", "main", "--json"]);
        assert_eq!(output.status.code(), Some(1), "a new high finding fails the build: {output:?}");
        let import: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!((import["new"].as_i64(), import["unchanged"].as_i64()), (Some(1), Some(1)));
        assert_eq!(import["opened_by_severity"]["high"], 1);

        // Nothing new the third time: the gate passes although the high finding is still open.
        let output = upload(&app, &key, id, &file, &["--fail-on", "high", "--ref", "main"]);
        assert_eq!(output.status.code(), Some(0), "{output:?}");

        // Failures are exit code 2 with the server's reason.
        std::fs::write(&file, r#"{"version": "2.1.0", "runs": [{"tool": {}}]}"#).unwrap();
        let output = upload(&app, &key, id, &file, &[]);
        assert_eq!(output.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&output.stderr).contains("/runs/0/tool/driver"), "{output:?}");
        let output = upload(&app, "rk_live_0000000000000000000000000000000000000000000000000000000000000000", id, &file, &[]);
        assert_eq!(output.status.code(), Some(2));
        let output = upload(&app, "", id, &file, &[]);
        assert_eq!(output.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&output.stderr).contains("RAMPART_API_KEY"));
    }
}
