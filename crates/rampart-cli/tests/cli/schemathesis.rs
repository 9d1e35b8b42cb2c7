//! The served OpenAPI document against the real server, checked by Schemathesis (issue 21
//! item 4): every check (no server error; every status, content type, header and body as
//! the document declares; data the document calls invalid refused and data it calls valid
//! accepted; auth not ignored; another team's objects not reachable), with bounded examples
//! and time, first with the bootstrap admin's key (team Operators) and then with a second
//! team's key. Any failure fails the test, with Schemathesis's report printed.
//!
//! Schemathesis (pinned in `scripts/schemathesis/requirements.txt`) is optional locally (the
//! test says why it skips) and required in CI (`RAMPART_REQUIRE_SCHEMATHESIS=1`): `pip install
//! -r scripts/schemathesis/requirements.txt` into the Python named by `RAMPART_PYTHON` (else
//! `python3`). `RAMPART_SCHEMATHESIS_SECONDS` scales the time budget (default 150 seconds for
//! the first key, half for the second), `RAMPART_SCHEMATHESIS_SEED` picks another seed.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::first_steps::{fresh_command, rampart, start_server};

const REQUIRE_VAR: &str = "RAMPART_REQUIRE_SCHEMATHESIS";
/// Every scope: the keys may call every operation.
const ALL_SCOPES: &str = "products:read,products:write,releases:read,releases:write,sboms:read,\
sboms:write,vulnerabilities:read,dispositions:read,dispositions:write,vex:read,vex:write,\
disclosures:read,compliance:read,audit:read,cve:trigger,kb:read,kb:export,sync:read,sync:write,\
scans:read,scans:write,incidents:read,incidents:write,webhooks:read,webhooks:write,\
integrations:read,integrations:write,findings:read,findings:write,teams:manage";
const DEFAULT_SEED: &str = "20261203";

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The `schemathesis` console script beside the Python that has the pinned package.
fn schemathesis() -> Result<PathBuf, String> {
    let python = std::env::var("RAMPART_PYTHON").unwrap_or_else(|_| "python3".to_string());
    let probe = std::process::Command::new(&python)
        .args([
            "-c",
            "import sysconfig, importlib.metadata as m; \
             print(m.version('schemathesis')); print(sysconfig.get_path('scripts'))",
        ])
        .output()
        .map_err(|e| format!("{python} cannot be run ({e})"))?;
    if !probe.status.success() {
        return Err(format!(
            "{python} lacks scripts/schemathesis/requirements.txt (schemathesis)"
        ));
    }
    let printed = String::from_utf8_lossy(&probe.stdout).to_string();
    let mut lines = printed.lines();
    let version = lines.next().unwrap_or_default().trim().to_string();
    let pinned =
        std::fs::read_to_string(repository().join("scripts/schemathesis/requirements.txt"))
            .unwrap();
    if !pinned.contains(&format!("schemathesis=={version}\n")) {
        return Err(format!(
            "{python} has schemathesis {version}, not the version pinned in scripts/schemathesis/requirements.txt"
        ));
    }
    let script = PathBuf::from(lines.next().unwrap_or_default().trim()).join("schemathesis");
    if !script.exists() {
        return Err(format!("{} does not exist", script.display()));
    }
    Ok(script)
}

fn seconds() -> u64 {
    std::env::var("RAMPART_SCHEMATHESIS_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(150)
}

/// One Schemathesis run with `key`; panics with the report when anything failed.
#[allow(clippy::too_many_arguments)]
fn run(
    schemathesis: &Path,
    work: &Path,
    base: &str,
    key: &str,
    label: &str,
    phases: &str,
    examples: u32,
    seconds: u64,
) {
    let reports = work.join(format!("report-{label}"));
    let seed = std::env::var("RAMPART_SCHEMATHESIS_SEED").unwrap_or_else(|_| DEFAULT_SEED.into());
    let started = std::time::Instant::now();
    let output = fresh_command(schemathesis.to_str().unwrap(), work)
        .arg("--config-file")
        .arg(repository().join("scripts/schemathesis/schemathesis.toml"))
        .arg("run")
        .arg(format!("{base}/api/v1/openapi.json"))
        // One worker: Debian's Python 3.11 `ast.parse` is not safe in two threads at once
        // (CPython gh-106905, "AST constructor recursion depth mismatch"), and Hypothesis
        // parses lambdas' source to describe its strategies.
        .args(["--checks", "all", "--workers", "1", "--no-color"])
        .args(["--phases", phases])
        .args(["--max-examples", &examples.to_string()])
        .args(["--max-time", &seconds.to_string()])
        .args(["--seed", &seed, "--generation-database", "none"])
        .args(["--request-timeout", "30"])
        .arg("--header")
        .arg(format!("Authorization: Bearer {key}"))
        .args(["--report", "json", "--report-dir"])
        .arg(&reports)
        .output()
        .expect("run schemathesis");
    eprintln!(
        "schemathesis ({label}, phases {phases}, {examples} examples, budget {seconds}s, seed {seed}): {:.0?}",
        started.elapsed()
    );
    let report = std::fs::read_dir(&reports)
        .ok()
        .and_then(|mut entries| entries.next())
        .and_then(|entry| std::fs::read_to_string(entry.ok()?.path()).ok())
        .and_then(|text| serde_json::from_str::<Value>(&text).ok());
    let Some(report) = report else {
        panic!(
            "schemathesis ({label}) wrote no JSON report: {}",
            crate::command_output(&output)
        );
    };
    let failures = report["failures"].as_array().cloned().unwrap_or_default();
    let errors = report["errors"].as_array().cloned().unwrap_or_default();
    let tested = report["operations"]["tested"].as_u64().unwrap_or(0);
    assert!(
        failures.is_empty() && errors.is_empty() && output.status.success(),
        "schemathesis ({label}) found failures {failures:#?}, errors {errors:#?}:\n{}",
        crate::command_output(&output)
    );
    let total = report["operations"]["total"].as_u64().unwrap_or(0);
    assert!(
        total > 100 && tested == total,
        "schemathesis ({label}) tested {tested} of {total} operations:\n{}",
        crate::command_output(&output)
    );
    eprintln!(
        "schemathesis ({label}): {} test cases over {tested} operations, no failure",
        report["test_cases"]["generated"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_served_openapi_document_holds_under_schemathesis_with_two_teams_keys() {
    let schemathesis = match schemathesis() {
        Ok(found) => found,
        Err(reason) => return crate::unavailable(REQUIRE_VAR, &reason),
    };
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().to_path_buf();
    let data = work.join("data");
    let data = data.to_str().unwrap();
    // Limits far above what the run sends: a 429 is declared everywhere, but every
    // request answered 429 tests nothing. New teams on enterprise so the second one may
    // hold keys.
    std::fs::write(
        work.join("rampart.toml"),
        "anonymous_rate_limit_per_minute = 10000000\ndefault_plan = \"enterprise\"\n\
         [plans.enterprise]\nrate_limit_per_minute = 10000000\n",
    )
    .unwrap();
    let config = work.join("rampart.toml");
    let config = config.to_str().unwrap();
    let admin_key_file = work.join("admin.key");
    let server = start_server(
        &work,
        &[
            "--data-dir",
            data,
            "--config",
            config,
            "--admin-api-key-file",
            admin_key_file.to_str().unwrap(),
        ],
    );
    let base = format!("http://{}", server.address);
    let admin_key = std::fs::read_to_string(&admin_key_file)
        .unwrap()
        .trim()
        .to_string();

    // A second team: a person logs in with an e-mailed code (written to the server's log
    // without SMTP) and gets a team of their own; its key is made like an operator would.
    let client = reqwest::Client::new();
    let email = "second@example.com";
    let asked = client
        .post(format!("{base}/api/v1/auth/otp"))
        .json(&serde_json::json!({ "email": email }))
        .send()
        .await
        .unwrap();
    assert!(asked.status().is_success(), "{asked:?}");
    let log = std::fs::read_to_string(work.join("rampart.log")).unwrap();
    let code = log
        .lines()
        .filter(|line| line.contains(email))
        .filter_map(|line| line.split("login code: ").nth(1))
        .filter_map(|rest| rest.get(..6))
        .next_back()
        .expect("the login code in the server's log")
        .to_string();
    let session: Value = client
        .post(format!("{base}/api/v1/auth/otp/verify"))
        .json(&serde_json::json!({ "email": email, "code": code }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let me: Value = client
        .get(format!("{base}/api/v1/me"))
        .bearer_auth(session["token"].as_str().expect("a session token"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let team = me["team"]["id"]
        .as_i64()
        .expect("the second team")
        .to_string();
    assert_ne!(team, "1", "{me:#}");
    let created = rampart(
        &work,
        &[
            "keys",
            "create",
            "--team",
            &team,
            "--name",
            "schemathesis",
            "--owner",
            email,
            "--scopes",
            ALL_SCOPES,
            "--data-dir",
            data,
            "--config",
            config,
        ],
    );
    assert!(
        created.status.success(),
        "keys create: {}",
        crate::command_output(&created)
    );
    let second_key = String::from_utf8(created.stdout)
        .unwrap()
        .trim()
        .to_string();

    // The second team first: the operator's run may change that team's plan
    // (scripts/schemathesis/schemathesis.toml).
    let budget = seconds();
    run(
        &schemathesis,
        &work,
        &base,
        &second_key,
        "second-team",
        "coverage,fuzzing",
        3,
        budget / 2,
    );
    run(
        &schemathesis,
        &work,
        &base,
        &admin_key,
        "admin",
        "coverage,fuzzing,stateful",
        5,
        budget,
    );
    drop(server);
}
