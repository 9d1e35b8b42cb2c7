//! The README's "First steps" as a new operator runs them: the real `rampart serve` on a
//! fresh data directory with its log in `rampart.log`, then the README's walkthrough block
//! run verbatim by bash (only the server's address differs), then the e-mail-free way in.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// The README from its "First steps" heading on.
fn first_steps() -> String {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
        .expect("README.md");
    let start = readme
        .find("## First steps")
        .expect("a First steps section");
    readme[start..].to_string()
}

/// The first block of "First steps" that opens with `fence`.
fn first_block(fence: &str) -> String {
    let section = first_steps();
    let start = section.find(fence).expect("the block") + fence.len();
    let end = start + section[start..].find("\n```").expect("the block ends");
    section[start..end].to_string()
}

/// The walkthrough: the section's `sh` block.
fn readme_walkthrough() -> String {
    first_block("```sh\n")
}

/// Drops terminal colour sequences (`ESC [ … m`), should the log carry any.
fn without_colour(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

pub(crate) struct Server {
    child: Child,
    pub(crate) address: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A command that sees none of the caller's Rampart settings: the defaults, as on a fresh
/// machine, in `dir`.
pub(crate) fn fresh_command(program: &str, dir: &Path) -> Command {
    let mut command = Command::new(program);
    command.current_dir(dir);
    for (name, _) in std::env::vars() {
        if name.starts_with("RAMPART_") {
            command.env_remove(name);
        }
    }
    command
}

/// `rampart serve 2> rampart.log` in `dir`, on a free port; waits for "listening".
pub(crate) fn start_server(dir: &Path, extra: &[&str]) -> Server {
    let log = std::fs::File::create(dir.join("rampart.log")).unwrap();
    let child = fresh_command(env!("CARGO_BIN_EXE_rampart"), dir)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start rampart serve");
    // Owned at once, so a failed start is still killed and waited for.
    let mut server = Server {
        child,
        address: String::new(),
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let text = std::fs::read_to_string(dir.join("rampart.log")).unwrap_or_default();
        let address = text.lines().map(without_colour).find_map(|line| {
            let rest = line.split(" listening address=").nth(1)?;
            Some(rest.split_whitespace().next()?.to_string())
        });
        if let Some(address) = address {
            server.address = address;
            return server;
        }
        assert!(
            Instant::now() < deadline,
            "the server did not start:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub(crate) fn rampart(dir: &Path, args: &[&str]) -> std::process::Output {
    fresh_command(env!("CARGO_BIN_EXE_rampart"), dir)
        .args(args)
        .output()
        .expect("run rampart")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_first_steps_work_verbatim_on_a_fresh_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_server(dir.path(), &[]);
    let base = format!("http://{}", server.address);
    let script = readme_walkthrough().replace("http://127.0.0.1:8080", &base);
    assert!(
        script.contains("admin@localhost") && script.contains("rampart keys create"),
        "{script}"
    );

    // `rampart` on PATH is the binary under test.
    let binary_dir = Path::new(env!("CARGO_BIN_EXE_rampart")).parent().unwrap();
    let path = format!(
        "{}:{}",
        binary_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = fresh_command("bash", dir.path())
        .env("PATH", path)
        .args(["-euo", "pipefail", "-c", &script])
        .output()
        .expect("run bash");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let log = std::fs::read_to_string(dir.path().join("rampart.log")).unwrap();
    assert!(
        output.status.success(),
        "the walkthrough failed:\nstdout: {stdout}\nstderr: {stderr}\nserver log:\n{log}"
    );

    // What the walkthrough printed: the OTP answer, then `me` for each key.
    let printed: Vec<Value> = serde_json::Deserializer::from_str(&stdout)
        .into_iter::<Value>()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(printed.len(), 3, "{stdout}");
    assert_eq!(printed[0]["success"], true);
    let first_key = &printed[1];
    assert_eq!(first_key["user"]["email"], "admin@localhost");
    assert_eq!(first_key["credential"]["type"], "api_key");
    assert_eq!(first_key["credential"]["name"], "ci");
    assert_eq!(
        first_key["credential"]["scopes"],
        json!(["products:read", "products:write", "sboms:write", "kb:read"])
    );
    let nightly = &printed[2];
    assert_eq!(nightly["credential"]["name"], "nightly");
    assert_eq!(nightly["credential"]["scopes"], json!(["kb:read"]));
    assert_eq!(nightly["team"]["name"], "Operators");
    // The code came from the log line the README quotes (same but for time, request id
    // and code).
    let code_line = log
        .lines()
        .map(without_colour)
        .find(|l| l.contains("Your Rampart login code: "))
        .expect("the code in the log");
    assert_eq!(comparable(&code_line), comparable(&readme_log_line()));
}

/// The log line quoted in "First steps": the section's first plain block.
fn readme_log_line() -> String {
    first_block("```\n")
}

/// A log line without what changes from one run to the next: the time, the request id and
/// the first line of the e-mail body, and with a fixed code.
fn comparable(line: &str) -> String {
    let line = line
        .split_once(' ')
        .map_or(line, |(_, rest)| rest)
        .trim_start();
    let line = match line.split_once("request_id=") {
        Some((head, tail)) => format!("{head}request_id=…{}", &tail[tail.find('}').unwrap_or(0)..]),
        None => line.to_string(),
    };
    let code_at = line.find("login code: ").map(|i| i + "login code: ".len());
    let mut line = match code_at {
        Some(i) if line.len() >= i + 6 => format!("{}123456{}", &line[..i], &line[i + 6..]),
        _ => line,
    };
    if let Some(body) = line.find(" body=") {
        line.truncate(body);
    }
    line
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_codes_and_keys_come_from_the_command_line_without_e_mail() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let data = data_dir.to_str().unwrap();

    // Before the first start there is nothing to log in to, and no database is created.
    let early = rampart(
        dir.path(),
        &[
            "admin",
            "login-code",
            "--email",
            "admin@localhost",
            "--data-dir",
            data,
        ],
    );
    assert_eq!(early.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&early.stderr).contains("rampart serve"),
        "{early:?}"
    );
    assert!(!data_dir.join("rampart.db").exists());

    let server = start_server(dir.path(), &["--data-dir", data]);
    let base = format!("http://{}", server.address);
    let client = reqwest::Client::new();

    let issued = rampart(
        dir.path(),
        &[
            "admin",
            "login-code",
            "--email",
            "Admin@Localhost",
            "--data-dir",
            data,
        ],
    );
    assert!(issued.status.success(), "{issued:?}");
    let code = String::from_utf8(issued.stdout).unwrap().trim().to_string();
    assert!(
        code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()),
        "{code:?}"
    );
    let login: Value = client
        .post(format!("{base}/api/v1/auth/otp/verify"))
        .json(&json!({"email": "admin@localhost", "code": code}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = login["token"]
        .as_str()
        .unwrap_or_else(|| panic!("{login}"))
        .to_string();
    let audit: Value = client
        .get(format!("{base}/api/v1/audit-log?action=auth.otp_issue"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(audit["data"][0]["actor_type"], "system", "{audit}");
    assert!(
        audit["data"][0]["actor"]
            .as_str()
            .unwrap()
            .starts_with("cli:"),
        "{audit}"
    );

    let unknown = rampart(
        dir.path(),
        &[
            "admin",
            "login-code",
            "--email",
            "nobody@localhost",
            "--data-dir",
            data,
        ],
    );
    assert_eq!(unknown.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("no user"),
        "{unknown:?}"
    );

    // A key by team id, owned by the team's owner, used at once.
    let created = rampart(
        dir.path(),
        &[
            "keys",
            "create",
            "--team",
            "1",
            "--name",
            "deploy",
            "--scopes",
            "products:read,kb:read",
            "--data-dir",
            data,
        ],
    );
    assert!(created.status.success(), "{created:?}");
    let key = String::from_utf8(created.stdout)
        .unwrap()
        .trim()
        .to_string();
    assert!(
        key.starts_with("rk_live_") && key.len() == 72,
        "only the key on stdout: {key:?}"
    );
    assert!(
        !String::from_utf8_lossy(&created.stderr).contains(&key[8..]),
        "the key is printed once"
    );
    let me: Value = client
        .get(format!("{base}/api/v1/me"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        me["credential"]["scopes"],
        json!(["products:read", "kb:read"])
    );
    assert_eq!(me["user"]["email"], "admin@localhost");
    let entries: Value = client
        .get(format!("{base}/api/v1/audit-log?action=api_key.create"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        entries["data"][0]["actor"]
            .as_str()
            .unwrap()
            .starts_with("cli:"),
        "{entries}"
    );

    // The API's rules hold: unknown scopes, missing teams and non-members are refused.
    for (args, expected) in [
        (
            vec!["--team", "1", "--name", "x", "--scopes", "root:all"],
            "unknown scope",
        ),
        (vec!["--team", "42", "--name", "x"], "no team with id 42"),
        (vec!["--team", "Nobody", "--name", "x"], "no team named"),
        (
            vec![
                "--team",
                "Operators",
                "--name",
                "x",
                "--owner",
                "stranger@localhost",
            ],
            "not a member",
        ),
        (
            vec![
                "--team",
                "Operators",
                "--name",
                "x",
                "--expires-in-days",
                "7",
            ],
            "expires_in_days",
        ),
    ] {
        let mut argv = vec!["keys", "create"];
        argv.extend(args.iter().copied());
        argv.extend(["--data-dir", data]);
        let refused = rampart(dir.path(), &argv);
        assert_eq!(refused.status.code(), Some(1), "{argv:?}");
        assert!(refused.stdout.is_empty(), "{argv:?}");
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(stderr.contains(expected), "{argv:?}: {stderr}");
    }
}
