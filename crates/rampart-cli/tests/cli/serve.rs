//! `rampart serve` as a user runs it: the real binary, real signals, real databases.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

/// A running `rampart serve` whose output is collected line by line.
pub(crate) struct ServerProcess {
    child: Child,
    address: String,
    stdout: mpsc::Receiver<String>,
    /// Every line the server logged (stderr) so far.
    pub(crate) log: Arc<Mutex<Vec<String>>>,
}

impl ServerProcess {
    /// Starts the binary and waits until it logs the address it listens on.
    pub(crate) fn start(args: &[&str], env: &[(&str, &str)]) -> ServerProcess {
        let mut command = Command::new(env!("CARGO_BIN_EXE_rampart"));
        command
            .arg("serve")
            .args(["--listen", "127.0.0.1:0", "--log-format", "json"])
            .args(args)
            .env_remove("RAMPART_ADMIN_API_KEY_FILE")
            .env_remove("RAMPART_DATABASE_URL")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("start rampart");
        let (stdout_tx, stdout) = mpsc::channel();
        let out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let _ = stdout_tx.send(line);
            }
        });
        let (address_tx, address_rx) = mpsc::channel();
        let err = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let log_lines = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                eprintln!("server: {line}");
                log_lines.lock().unwrap().push(line.clone());
                if let Ok(event) = serde_json::from_str::<Value>(&line) {
                    if event["fields"]["message"] == "listening" {
                        let address = event["fields"]["address"].as_str().unwrap().to_string();
                        let _ = address_tx.send(address);
                    }
                }
            }
        });
        let address = address_rx
            .recv_timeout(Duration::from_secs(60))
            .expect("server logs its address");
        ServerProcess {
            child,
            address,
            stdout,
            log,
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.address, path)
    }

    /// Sends `signal` (TERM, INT, KILL) and waits for the exit.
    pub(crate) fn stop(mut self, signal: &str) -> (ExitStatus, Vec<String>) {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
        let exit = self.child.wait().expect("wait");
        let printed = self.stdout.try_iter().collect();
        (exit, printed)
    }

    /// Signs `email` in as the login page does: asks for a code, reads it from the server's
    /// log (no SMTP server configured) and redeems it; the session token.
    pub(crate) async fn sign_in(&self, email: &str) -> String {
        let client = reqwest::Client::new();
        let asked = client
            .post(self.url("/api/v1/auth/otp"))
            .json(&serde_json::json!({ "email": email }))
            .send()
            .await
            .expect("ask for a login code");
        assert!(asked.status().is_success(), "{}", asked.status());
        let code = (0..100)
            .find_map(|_| {
                let code = self.log.lock().unwrap().iter().rev().find_map(|line| {
                    let (_, after) = line.split_once("login code: ")?;
                    Some(
                        after
                            .chars()
                            .take_while(char::is_ascii_digit)
                            .collect::<String>(),
                    )
                });
                if code.is_none() {
                    std::thread::sleep(Duration::from_millis(50));
                }
                code
            })
            .expect("the login code is logged when no SMTP server is configured");
        let verified: Value = client
            .post(self.url("/api/v1/auth/otp/verify"))
            .json(&serde_json::json!({ "email": email, "code": code }))
            .send()
            .await
            .expect("redeem the code")
            .json()
            .await
            .unwrap();
        verified["token"]
            .as_str()
            .unwrap_or_else(|| panic!("{verified}"))
            .to_string()
    }

    /// The admin key line printed on first start, if any (waits briefly for it).
    pub(crate) fn printed_key(&self) -> Option<String> {
        self.stdout
            .recv_timeout(Duration::from_millis(500))
            .ok()
            .and_then(|line| line.strip_prefix("Admin API key: ").map(str::to_string))
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A request with a bearer token that must succeed (2xx); its JSON answer (`Null` when the
/// answer is not JSON). The body, when given, is sent as JSON.
pub(crate) async fn api(
    method: reqwest::Method,
    url: String,
    token: &str,
    body: Option<Value>,
) -> Value {
    let body = body.map(|body| ("application/json", body.to_string().into_bytes()));
    send(method, url, token, body).await
}

/// [`api`] with a body of its own content type (an SBOM upload).
pub(crate) async fn api_upload(
    url: String,
    token: &str,
    content_type: &str,
    body: Vec<u8>,
) -> Value {
    send(
        reqwest::Method::POST,
        url,
        token,
        Some((content_type, body)),
    )
    .await
}

async fn send(
    method: reqwest::Method,
    url: String,
    token: &str,
    body: Option<(&str, Vec<u8>)>,
) -> Value {
    let mut request = reqwest::Client::new()
        .request(method, &url)
        .bearer_auth(token);
    if let Some((content_type, body)) = body {
        request = request.header("content-type", content_type).body(body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert!(status.is_success(), "{url}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

async fn status(url: &str, key: Option<&str>) -> u16 {
    let mut request = reqwest::Client::new().get(url);
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    request.send().await.expect("request").status().as_u16()
}

fn data_dir_arg(dir: &Path) -> String {
    dir.to_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_start_prints_the_admin_key_once_and_a_restart_prints_none() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = data_dir_arg(dir.path());
    let first = ServerProcess::start(&["--data-dir", &data_dir], &[]);
    let key = first
        .printed_key()
        .expect("first start prints the admin key");
    assert!(key.starts_with("rk_live_") && key.len() == 72, "{key}");
    assert_eq!(status(&first.url("/healthz"), None).await, 200);
    assert_eq!(status(&first.url("/readyz"), None).await, 200);
    assert_eq!(status(&first.url("/api/v1/me"), Some(&key)).await, 200);
    let wrong = format!("rk_live_{}", "1".repeat(64));
    assert_eq!(status(&first.url("/api/v1/me"), Some(&wrong)).await, 401);
    let (exit, _) = first.stop("TERM");
    assert!(exit.success(), "SIGTERM exits 0: {exit:?}");
    assert!(
        dir.path().join("rampart.db").exists(),
        "SQLite lives in the data dir"
    );

    let second = ServerProcess::start(&["--data-dir", &data_dir], &[]);
    assert_eq!(second.printed_key(), None, "a restart prints no key");
    assert_eq!(status(&second.url("/api/v1/me"), Some(&key)).await, 200);
    let (exit, printed) = second.stop("INT");
    assert!(exit.success(), "SIGINT exits 0: {exit:?}");
    assert!(printed.is_empty(), "nothing printed on stdout: {printed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_key_goes_to_a_private_file_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("admin.key");
    let data_dir = data_dir_arg(&dir.path().join("data"));
    let server = ServerProcess::start(
        &["--data-dir", &data_dir],
        &[("RAMPART_ADMIN_API_KEY_FILE", key_file.to_str().unwrap())],
    );
    assert_eq!(
        server.printed_key(),
        None,
        "not printed when written to a file"
    );
    let key = std::fs::read_to_string(&key_file)
        .unwrap()
        .trim()
        .to_string();
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert_eq!(status(&server.url("/api/v1/me"), Some(&key)).await, 200);
    let (exit, _) = server.stop("TERM");
    assert!(exit.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_starting_together_on_one_empty_postgres_share_one_schema() {
    let Some(database) = rampart_test_support::fresh_postgres_database(false).await else {
        return;
    };
    let url = database.url();
    // Replicas share the server secret key (PostgreSQL refuses to start without one).
    let secret_key = "5e".repeat(32);
    let args = ["--database-url", url, "--secret-key", secret_key.as_str()];
    let (a, b) = std::thread::scope(|scope| {
        let first = scope.spawn(|| ServerProcess::start(&args, &[]));
        let second = scope.spawn(|| ServerProcess::start(&args, &[]));
        (first.join().unwrap(), second.join().unwrap())
    });
    for server in [&a, &b] {
        assert_eq!(status(&server.url("/readyz"), None).await, 200);
    }
    let keys: Vec<String> = [&a, &b].iter().filter_map(|s| s.printed_key()).collect();
    assert_eq!(keys.len(), 1, "exactly one replica bootstraps: {keys:?}");
    for server in [&a, &b] {
        assert_eq!(status(&server.url("/api/v1/me"), Some(&keys[0])).await, 200);
    }
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    let teams: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM teams")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(teams, 1, "one bootstrap team");
    let failed: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE NOT success")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(failed, 0);
    pool.close().await;
    for server in [a, b] {
        let (exit, _) = server.stop("TERM");
        assert!(exit.success());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_without_a_secret_key_is_a_clear_error() {
    let Some(database) = rampart_test_support::fresh_postgres_database(false).await else {
        return;
    };
    let url = database.url();
    let output = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(["serve", "--database-url", url, "--listen", "127.0.0.1:0"])
        .env_remove("RAMPART_SECRET_KEY")
        .env_remove("RAMPART_SECRET_KEY_FILE")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--secret-key"), "{stderr}");
}

#[test]
fn bad_configuration_is_a_clear_error() {
    let output = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(["serve", "--database-url", "mysql://nope"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("postgres://"), "{stderr}");
}

/// Waits until `path` contains `needle`; fails the test after a minute.
fn wait_for_text(path: &Path, needle: &str) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if text.contains(needle) {
            return text;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no {needle:?} in {} after 60 s: {text}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// The log of a server whose stderr goes to a file (a service manager, `2> server.log`) is
/// plain text; the data directory and the SQLite files in it are private to the account that
/// runs the server, as its secret key is.
#[test]
fn a_log_file_has_no_colour_codes_and_the_database_files_are_private() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let log = dir.path().join("server.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_rampart"))
        .args(["serve", "--listen", "127.0.0.1:0", "--log-format", "human"])
        .arg("--data-dir")
        .arg(&data_dir)
        .env_remove("RAMPART_ADMIN_API_KEY_FILE")
        .env_remove("RAMPART_DATABASE_URL")
        .env_remove("NO_COLOR")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("start rampart");
    wait_for_text(&log, "listening");
    // Checked while the server runs: SQLite's -wal and -shm files exist only then.
    let modes: Vec<(String, u32)> = [
        "",
        "rampart.db",
        "rampart.db-wal",
        "rampart.db-shm",
        "secret.key",
    ]
    .iter()
    .map(|name| (name.to_string(), mode(&data_dir.join(name))))
    .collect();
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(child.wait().unwrap().success());
    assert_eq!(
        modes,
        [
            (String::new(), 0o700),
            ("rampart.db".to_string(), 0o600),
            ("rampart.db-wal".to_string(), 0o600),
            ("rampart.db-shm".to_string(), 0o600),
            ("secret.key".to_string(), 0o600),
        ]
    );
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("listening"), "{text}");
    assert!(
        !text.contains('\x1b'),
        "colour codes in a log file: {text:?}"
    );
}
