//! The integration-test harness: [`TestApp::spawn`] starts the real app (real router, real
//! TCP on 127.0.0.1:0, real database) and hands back its URL and admin key.
//!
//! Every API test runs on both backends through [`backend_tests!`]: SQLite always;
//! PostgreSQL when `RAMPART_TEST_PG_URL` is set (a URL whose user may create databases),
//! each test in a fresh database cloned from a migrated template. Without the variable the
//! PostgreSQL cases print why they are skipped, or fail when `RAMPART_REQUIRE_PG=1`.

mod postgres;
pub mod smtp;

use rampart_server::axum::Router;
use rampart_server::{App, AppState, ServerConfig};
use rampart_store::DatabaseLocation;
use reqwest::{Method, RequestBuilder};
use tokio::sync::oneshot;

pub use postgres::{fresh_database as fresh_postgres_database, TestDatabase};
pub use rampart_server;
pub use smtp::{ReceivedMail, SmtpSink};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A running server for one test. Dropping it shuts the server down.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`
    pub url: String,
    /// The bootstrap admin key (every scope).
    pub admin_key: String,
    pub backend: Backend,
    pub client: reqwest::Client,
    pub config: ServerConfig,
    /// The SMTP server the app sends its mail to (login codes, invitations).
    pub mail: SmtpSink,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    _data_dir: Option<tempfile::TempDir>,
    /// Declared last: dropped after the server has been told to stop.
    _database: Option<TestDatabase>,
}

impl TestApp {
    /// The app on SQLite with default settings.
    pub async fn spawn() -> TestApp {
        Self::spawn_with(Backend::Sqlite, |_| {})
            .await
            .expect("SQLite is always available")
    }

    /// The app on `backend`, after `configure` adjusted the settings. `None` when the
    /// backend is PostgreSQL and no test server is configured (the reason is printed).
    pub async fn spawn_with(
        backend: Backend,
        configure: impl FnOnce(&mut ServerConfig),
    ) -> Option<TestApp> {
        Self::spawn_with_routes(backend, configure, Router::new()).await
    }

    /// [`TestApp::spawn_with`] plus `extra` routes behind the real middleware stack.
    pub async fn spawn_with_routes(
        backend: Backend,
        configure: impl FnOnce(&mut ServerConfig),
        extra: Router<AppState>,
    ) -> Option<TestApp> {
        let (database, data_dir, test_database) = match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                (
                    DatabaseLocation::SqliteDir(dir.path().to_path_buf()),
                    Some(dir),
                    None,
                )
            }
            Backend::Postgres => {
                let test_database = postgres::fresh_database(true).await?;
                (
                    DatabaseLocation::Postgres(test_database.url().to_string()),
                    None,
                    Some(test_database),
                )
            }
        };
        let mail = SmtpSink::start().await;
        let mut config = ServerConfig::new(database);
        // Replicas on PostgreSQL must be given the secret key; each test gets a fresh one.
        if backend == Backend::Postgres {
            config.secret_key = Some(rampart_engine::sync::SecretKey::generate());
        }
        // No run starts by itself in a test: tests that exercise the scheduler turn it on.
        config.sync.scheduler = false;
        config.smtp = Some(mail.config());
        configure(&mut config);
        let mut app = App::build(config.clone()).await.expect("app starts");
        let admin_key = app
            .bootstrap
            .take()
            .expect("a fresh database bootstraps")
            .admin_key
            .reveal()
            .to_string();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let url = format!("http://{}", listener.local_addr().expect("local addr"));
        let (shutdown, stop) = oneshot::channel::<()>();
        let server = tokio::spawn(app.serve_with_routes(listener, extra, async {
            let _ = stop.await;
        }));
        Some(TestApp {
            url,
            admin_key,
            backend,
            client: reqwest::Client::new(),
            config,
            mail,
            shutdown: Some(shutdown),
            server: Some(server),
            _data_dir: data_dir,
            _database: test_database,
        })
    }

    /// A request with the admin key.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.anonymous(method, path).bearer_auth(&self.admin_key)
    }

    /// A request without credentials.
    pub fn anonymous(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, format!("{}{}", self.url, path))
    }

    pub fn get(&self, path: &str) -> RequestBuilder {
        self.request(Method::GET, path)
    }

    pub fn post(&self, path: &str) -> RequestBuilder {
        self.request(Method::POST, path)
    }

    /// A request with a bearer token (session token or API key).
    pub fn with_token(&self, method: Method, path: &str, token: &str) -> RequestBuilder {
        self.anonymous(method, path).bearer_auth(token)
    }

    /// Asks for a login code and returns it, read from the e-mail the sink received.
    pub async fn request_code(&self, email: &str) -> String {
        let response = self
            .anonymous(Method::POST, "/api/v1/auth/otp")
            .json(&serde_json::json!({ "email": email }))
            .send()
            .await
            .expect("request OTP");
        assert_eq!(response.status().as_u16(), 202, "OTP request for {email}");
        self.mail
            .last_to(email)
            .and_then(|m| m.six_digits_after("code is "))
            .expect("the login code e-mail arrived")
    }

    /// Logs in by e-mail code (signing up if new): returns the verify response body, whose
    /// `token` is the session token.
    pub async fn login(&self, email: &str) -> serde_json::Value {
        let code = self.request_code(email).await;
        let response = self
            .anonymous(Method::POST, "/api/v1/auth/otp/verify")
            .json(&serde_json::json!({ "email": email, "code": code }))
            .send()
            .await
            .expect("verify OTP");
        assert_eq!(response.status().as_u16(), 200, "login of {email}");
        response.json().await.expect("verify body")
    }

    /// A new user with their own team, moved to `plan` by the operator's admin key:
    /// (session token, team id).
    pub async fn user_on_plan(&self, email: &str, plan: &str) -> (String, i64) {
        let login = self.login(email).await;
        let team_id = login["team_id"].as_i64().expect("team id");
        let response = self
            .request(Method::PUT, &format!("/api/v1/teams/{team_id}/plan"))
            .json(&serde_json::json!({ "plan": plan }))
            .send()
            .await
            .expect("set plan");
        assert_eq!(response.status().as_u16(), 200, "set plan {plan}");
        (login["token"].as_str().expect("token").to_string(), team_id)
    }

    /// Stops accepting, waits for in-flight requests, returns once the server has exited.
    /// Waits until the server's match index has caught up with the knowledge base (it never
    /// blocks requests; its status says which version it serves), and the changes have been
    /// queued as re-analyses (so a later upload is not re-analysed for an earlier change).
    pub async fn wait_for_index(&self) {
        let mut status = serde_json::Value::Null;
        for _ in 0..3000 {
            status = self
                .get("/api/v1/kb/status")
                .send()
                .await
                .expect("kb status")
                .json()
                .await
                .expect("kb status body");
            if status["kb_version"] == status["index_kb_version"]
                && status["kb_version"] == status["reanalysis_kb_version"]
            {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("the match index never caught up with the knowledge base: {status}");
    }

    /// A new product named `name` with one release; returns the release id.
    pub async fn create_release(&self, name: &str) -> i64 {
        let product = self
            .created("/api/v1/products", serde_json::json!({"name": name}))
            .await;
        let releases = format!("/api/v1/products/{}/releases", product["id"]);
        let release = self
            .created(&releases, serde_json::json!({"version": "1.0.0"}))
            .await;
        release["id"].as_i64().expect("release id")
    }

    /// POSTs `body` to `path` with the admin key; the created object.
    async fn created(&self, path: &str, body: serde_json::Value) -> serde_json::Value {
        let response = self.post(path).json(&body).send().await.expect("POST");
        assert_eq!(
            response.status(),
            reqwest::StatusCode::CREATED,
            "POST {path}"
        );
        response.json().await.expect("created body")
    }

    pub async fn shutdown(mut self) {
        if let Some(stop) = self.shutdown.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server
                .await
                .expect("server task")
                .expect("server exits cleanly");
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.shutdown.take() {
            let _ = stop.send(());
        }
    }
}

/// Runs each test once per backend: `mod <name> { fn sqlite(); fn postgres(); }`.
/// Optional attributes, in this order: `#[configure(closure over &mut ServerConfig)]` and
/// `#[routes(Router<AppState>)]` (extra routes behind the real middleware).
///
/// ```ignore
/// backend_tests! {
///     async fn me_works(app) { ... }
///     #[configure(|c| c.max_body_bytes = 1024)]
///     async fn small_limit(app) { ... }
/// }
/// ```
#[macro_export]
macro_rules! backend_tests {
    ($(
        $(#[configure($configure:expr)])?
        $(#[routes($routes:expr)])?
        async fn $name:ident($app:ident) $body:block
    )*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let $app = $crate::TestApp::spawn_with_routes(
                        $crate::Backend::Sqlite,
                        $crate::backend_tests!(@configure $($configure)?),
                        $crate::backend_tests!(@routes $($routes)?),
                    )
                    .await
                    .expect("SQLite is always available");
                    $body
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    let Some($app) = $crate::TestApp::spawn_with_routes(
                        $crate::Backend::Postgres,
                        $crate::backend_tests!(@configure $($configure)?),
                        $crate::backend_tests!(@routes $($routes)?),
                    )
                    .await
                    else {
                        return;
                    };
                    $body
                }
            }
        )*
    };
    (@configure $configure:expr) => { $configure };
    (@configure) => { |_: &mut $crate::rampart_server::ServerConfig| {} };
    (@routes $routes:expr) => { $routes };
    (@routes) => { $crate::rampart_server::axum::Router::new() };
}
