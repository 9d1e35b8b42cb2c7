//! Clients generated from the committed `openapi.json` (issue 20 item 7; seed 002's SDKs that
//! "handle authentication, retries, and pagination"): `openapi-python-client` and
//! `openapi-typescript`, pinned in `scripts/clients`, must generate without a warning and
//! without leaving an operation out; the TypeScript types must type-check; and the Python
//! client drives the real `rampart serve` (`scripts/clients/drive.py`): a key, a product and
//! releases, a real SBOM uploaded as JSON and as bytes, the findings read page by page, and
//! a 429 with its `Retry-After` under a tiny rate limit, then waited out.
//!
//! The generators are optional locally (the test says why it skips) and required in CI
//! (`RAMPART_REQUIRE_CLIENTS=1`): `pip install -r scripts/clients/requirements.txt` into the
//! Python named by `RAMPART_PYTHON` (else `python3`), and `npm ci --prefix scripts/clients`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::first_steps::{fresh_command, rampart, start_server};

const REQUIRE_VAR: &str = "RAMPART_REQUIRE_CLIENTS";
/// The per-minute limit of the server under test: small, so the driver meets a 429 soon.
const RATE_LIMIT: u64 = 30;
/// What the shared RustSec advisories say about the SBOM's components (the same pairs as
/// `crates/rampart-server/tests/data/real_sbom_findings.tsv` writes down for it).
const SBOM: &str = "spdx-examples/software/example11/spdx2.3/sbom.spdx.json";
const EXPECTED: [(&str, &str); 7] = [
    ("pkg:cargo/hyper@0.14", "RUSTSEC-2021-0020"),
    ("pkg:cargo/hyper@0.14", "RUSTSEC-2021-0078"),
    ("pkg:cargo/hyper@0.14", "RUSTSEC-2021-0079"),
    ("pkg:cargo/hyper@0.14", "RUSTSEC-2022-0022"),
    ("pkg:cargo/tokio@1.19.2", "RUSTSEC-2023-0001"),
    ("pkg:cargo/tokio@1.19.2", "RUSTSEC-2023-0005"),
    ("pkg:cargo/tokio@1.19.2", "RUSTSEC-2025-0023"),
];

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn scripts() -> PathBuf {
    repository().join("scripts/clients")
}

/// The Python with the pinned generator, and the folder of its console scripts (where
/// `openapi-python-client` and the `ruff` it formats with are).
fn python() -> Result<(String, PathBuf), String> {
    let python = std::env::var("RAMPART_PYTHON").unwrap_or_else(|_| "python3".to_string());
    let probe = Command::new(&python)
        .args([
            "-c",
            "import sysconfig, openapi_python_client, httpx, attrs, dateutil, mypy; \
             print(sysconfig.get_path('scripts'))",
        ])
        .output()
        .map_err(|e| format!("{python} cannot be run ({e})"))?;
    if !probe.status.success() {
        return Err(format!(
            "{python} lacks the packages of scripts/clients/requirements.txt"
        ));
    }
    let bin = PathBuf::from(String::from_utf8_lossy(&probe.stdout).trim());
    if !bin.join("openapi-python-client").exists() || !bin.join("ruff").exists() {
        return Err(format!(
            "openapi-python-client or ruff is not in {}",
            bin.display()
        ));
    }
    Ok((python, bin))
}

/// `node` and the pinned openapi-typescript and TypeScript of `scripts/clients`.
fn node() -> Result<(), String> {
    let modules = scripts().join("node_modules");
    for tool in [
        "openapi-typescript/bin/cli.js",
        "typescript/bin/tsc",
        "openapi-fetch/package.json",
    ] {
        if !modules.join(tool).exists() {
            return Err(format!(
                "{} is missing (`npm ci --prefix scripts/clients`)",
                modules.join(tool).display()
            ));
        }
    }
    match Command::new("node").arg("--version").output() {
        Ok(output) if output.status.success() => Ok(()),
        _ => Err("node is not installed".to_string()),
    }
}

/// Every operation of the document: (method, path, operationId).
fn operations(document: &Value) -> Vec<(String, String, String)> {
    let mut all = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            if let Some(id) = operation["operationId"].as_str() {
                all.push((method.clone(), path.clone(), id.to_string()));
            }
        }
    }
    all
}

/// The generators' console output must hold no complaint about the document.
fn assert_quiet(what: &str, output: &Output) {
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
    .to_lowercase();
    for complaint in ["warn", "error", "skipping", "cannot", "not generated", "⚠"] {
        assert!(
            !printed.contains(complaint),
            "{what} complained ({complaint:?}):\n{}",
            crate::command_output(output)
        );
    }
}

/// openapi-typescript's types for the document, then `tsc --strict --noEmit` over them and
/// `scripts/clients/example.ts`, a typed client using them.
fn typescript(document: &Path, out: &Path, operation_ids: &[String]) {
    let modules = scripts().join("node_modules");
    std::fs::create_dir_all(out).unwrap();
    let generated = Command::new("node")
        .arg(modules.join("openapi-typescript/bin/cli.js"))
        .arg(document)
        .arg("--output")
        .arg(out.join("rampart.d.ts"))
        .output()
        .expect("run openapi-typescript");
    assert!(
        generated.status.success(),
        "openapi-typescript: {}",
        crate::command_output(&generated)
    );
    assert_quiet("openapi-typescript", &generated);
    let types = std::fs::read_to_string(out.join("rampart.d.ts")).unwrap();
    for id in operation_ids {
        assert!(
            types.contains(&format!("\n    {id}: {{")),
            "openapi-typescript has no operation {id}"
        );
    }
    // The worked example (openapi-fetch over these types: a product, a release, every finding
    // page by page, a 429 waited out) beside the types, type-checked with them.
    std::fs::copy(scripts().join("example.ts"), out.join("example.ts")).unwrap();
    let tsconfig = serde_json::json!({
        "compilerOptions": {
            "strict": true,
            "noEmit": true,
            "target": "es2022",
            "module": "esnext",
            "moduleResolution": "bundler",
            "paths": {"openapi-fetch": [modules.join("openapi-fetch")]},
        },
        "files": ["rampart.d.ts", "example.ts"],
    });
    std::fs::write(out.join("tsconfig.json"), tsconfig.to_string()).unwrap();
    let checked = Command::new("node")
        .arg(modules.join("typescript/bin/tsc"))
        .arg("-p")
        .arg(out.join("tsconfig.json"))
        .output()
        .expect("run tsc");
    assert!(
        checked.status.success(),
        "tsc: {}",
        crate::command_output(&checked)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_clients_build_and_the_python_one_drives_the_server() {
    let Some(root) = rampart_test_data::root() else {
        return;
    };
    let (python, python_bin) = match python() {
        Ok(found) => found,
        Err(reason) => return crate::unavailable(REQUIRE_VAR, &reason),
    };
    if let Err(reason) = node() {
        return crate::unavailable(REQUIRE_VAR, &reason);
    }
    let document_path = repository().join("openapi.json");
    let document: Value =
        serde_json::from_str(&std::fs::read_to_string(&document_path).unwrap()).unwrap();
    let operations = operations(&document);
    let ids: Vec<String> = operations.iter().map(|(_, _, id)| id.clone()).collect();
    let unique: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(
        unique.len(),
        ids.len(),
        "operationIds repeat: {operations:?}"
    );

    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().to_path_buf();

    // TypeScript on another thread while Python generates and drives.
    let typescript_thread = {
        let (document_path, out, ids) = (document_path.clone(), work.join("ts"), ids.clone());
        std::thread::spawn(move || typescript(&document_path, &out, &ids))
    };

    // The Python client, every operation in it.
    let package = work.join("py/rampart_client");
    std::fs::create_dir_all(work.join("py")).unwrap();
    let path = format!(
        "{}:{}",
        python_bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let generated = Command::new(python_bin.join("openapi-python-client"))
        .env("PATH", &path)
        .arg("generate")
        .arg("--path")
        .arg(&document_path)
        .arg("--output-path")
        .arg(&package)
        .args(["--meta", "none", "--config"])
        .arg(scripts().join("openapi-python-client.yaml"))
        .output()
        .expect("run openapi-python-client");
    assert!(
        generated.status.success(),
        "openapi-python-client: {}",
        crate::command_output(&generated)
    );
    assert_quiet("openapi-python-client", &generated);
    let mut modules = BTreeSet::new();
    for tag in std::fs::read_dir(package.join("api")).unwrap() {
        let tag = tag.unwrap().path();
        if tag.is_dir() {
            for module in std::fs::read_dir(&tag).unwrap() {
                let name = module.unwrap().file_name().to_string_lossy().to_string();
                if let Some(stem) = name.strip_suffix(".py").filter(|s| *s != "__init__") {
                    modules.insert(stem.trim_end_matches('_').to_lowercase());
                }
            }
        }
    }
    for (method, path, id) in &operations {
        let module = snake(id);
        assert!(
            modules.contains(&module),
            "the Python client has no {module} for {method} {path}"
        );
    }
    // A schema the generator misreads can become ill-typed code (the evidence upload, an
    // octet-stream body of plain `type: string`, was `str.payload`). `client.py` is the
    // generator's fixed template, not the document's, and is only followed silently.
    let typed = Command::new(&python)
        .current_dir(work.join("py"))
        .args([
            "-m",
            "mypy",
            "--follow-imports=silent",
            "--no-incremental",
            "--cache-dir=/dev/null",
            "-p",
            "rampart_client.api",
            "-p",
            "rampart_client.models",
        ])
        .output()
        .expect("run mypy");
    assert!(
        typed.status.success(),
        "mypy over the Python client: {}",
        crate::command_output(&typed)
    );

    // The server: RustSec's advisories, a tiny rate limit, two keys.
    let data = work.join("data");
    let data = data.to_str().unwrap();
    std::fs::write(
        work.join("rampart.toml"),
        format!("[plans.enterprise]\nrate_limit_per_minute = {RATE_LIMIT}\n"),
    )
    .unwrap();
    let config = work.join("rampart.toml");
    let config = config.to_str().unwrap();
    let advisories = root.join("rustsec-advisory-db/osv/crates");
    let imported = rampart(
        &work,
        &[
            "import",
            "--type",
            "osv",
            "--quiet",
            "--data-dir",
            data,
            advisories.to_str().unwrap(),
        ],
    );
    assert!(
        imported.status.success(),
        "import: {}",
        crate::command_output(&imported)
    );
    let server = start_server(&work, &["--data-dir", data, "--config", config]);
    let key = |name: &str, scopes: &str| {
        let created = rampart(
            &work,
            &[
                "keys",
                "create",
                "--team",
                "Operators",
                "--name",
                name,
                "--scopes",
                scopes,
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
        String::from_utf8(created.stdout)
            .unwrap()
            .trim()
            .to_string()
    };
    let sdk_key = key(
        "sdk",
        "products:read,products:write,releases:read,releases:write,sboms:read,sboms:write,vulnerabilities:read",
    );
    let limited_key = key("limited", "kb:read");

    let driven = fresh_command(&python, &work)
        .env("PATH", &path)
        .env("RAMPART_API_KEY", &sdk_key)
        .env("RAMPART_RATE_LIMITED_KEY", &limited_key)
        .arg(scripts().join("drive.py"))
        .arg("--base-url")
        .arg(format!("http://{}", server.address))
        .arg("--client")
        .arg(work.join("py"))
        .arg("--sbom")
        .arg(root.join(SBOM))
        .args(["--per-page", "2"])
        .output()
        .expect("run drive.py");
    let log = std::fs::read_to_string(work.join("rampart.log")).unwrap_or_default();
    assert!(
        driven.status.success(),
        "drive.py: {}\nserver log (tail):\n{}",
        crate::command_output(&driven),
        log.lines().rev().take(30).collect::<Vec<_>>().join("\n")
    );
    let summary: Value = serde_json::from_slice(&driven.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", crate::command_output(&driven)));

    assert_eq!(summary["authentication"]["key_name"], "sdk", "{summary:#}");
    assert_eq!(summary["authentication"]["team"], "Operators");
    assert_eq!(summary["authentication"]["wrong_key"], "invalid_api_key");
    let expected: BTreeSet<(String, String)> = EXPECTED
        .iter()
        .map(|(purl, id)| (purl.to_string(), id.to_string()))
        .collect();
    let releases = summary["releases"].as_array().unwrap();
    assert_eq!(releases.len(), 2, "{summary:#}");
    for (release, content_type) in releases
        .iter()
        .zip(["application/json", "application/octet-stream"])
    {
        assert_eq!(
            release["upload"]["document_format"], "spdx_json",
            "{release:#}"
        );
        assert_eq!(
            release["upload"]["content_type"], content_type,
            "{release:#}"
        );
        assert_eq!(
            release["upload"]["findings_count"],
            EXPECTED.len(),
            "{release:#}"
        );
        // Seven findings two a page: four pages.
        assert_eq!(release["pages"], 4, "{release:#}");
        let found: BTreeSet<(String, String)> = release["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["purl"].as_str().unwrap().to_string(),
                    f["vulnerability"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(found, expected, "{release:#}");
    }
    let limited = &summary["rate_limit"];
    assert_eq!(limited["limit"], RATE_LIMIT, "{limited:#}");
    // At least the limit answered before the 429 (twice it when a minute turned meanwhile).
    let before = limited["requests_before_429"].as_u64().unwrap();
    assert!(
        (RATE_LIMIT..=2 * RATE_LIMIT).contains(&before),
        "{limited:#}"
    );
    let retry_after = limited["retry_after"].as_u64().unwrap();
    assert!((1..=60).contains(&retry_after), "{limited:#}");
    assert!(
        limited["message"]
            .as_str()
            .unwrap()
            .contains(&format!("retry after {retry_after} seconds")),
        "{limited:#}"
    );
    drop(server);

    typescript_thread.join().expect("the TypeScript client");
}

/// openapi-python-client's module name for an operationId (`ConfigureSyncSource` →
/// `configure_sync_source`), without the trailing `_` it adds to Python keywords.
fn snake(id: &str) -> String {
    let mut out = String::new();
    for (i, c) in id.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 && !out.ends_with('_') {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else if c == '-' || c == ' ' {
            out.push('_');
        } else {
            out.push(c);
        }
    }
    out
}
