//! Fresh PostgreSQL databases for tests, cloned from a template that is migrated once per
//! set of migrations (shared by all test processes: nextest runs each test in its own).

use std::str::FromStr;
use std::time::Duration;

use rampart_store::{Backend, DatabaseLocation, Store};
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::Connection;

const URL_VAR: &str = "RAMPART_TEST_PG_URL";
const REQUIRE_VAR: &str = "RAMPART_REQUIRE_PG";
/// Serialises template creation across test processes.
const TEMPLATE_LOCK_KEY: i64 = 0x7261_6d70_7465_7374; // "ramptest"

/// A test's own database; dropped (connections and all) when this value is dropped, so a
/// long test run does not fill the disk with finished tests' databases.
#[derive(Debug)]
pub struct TestDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl TestDatabase {
    /// The URL of this database.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // Drop runs inside the test's runtime, which cannot be blocked on; a short-lived
        // runtime on its own thread does the work.
        let admin_url = self.admin_url.clone();
        let statement = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let options = PgConnectOptions::from_str(&admin_url)?;
                let mut admin = PgConnection::connect_with(&options).await?;
                sqlx::query(&statement).execute(&mut admin).await?;
                admin.close().await?;
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
            })
        })
        .join();
        if let Ok(Err(error)) = dropped {
            eprintln!("could not drop test database {}: {error}", self.name);
        }
    }
}

/// A new database, migrated from the template when `migrated`, else completely empty;
/// `None` (reason printed) when no server is configured, or a panic when
/// `RAMPART_REQUIRE_PG=1`.
pub async fn fresh_database(migrated: bool) -> Option<TestDatabase> {
    let Ok(admin_url) = std::env::var(URL_VAR) else {
        if std::env::var(REQUIRE_VAR).as_deref() == Ok("1") {
            panic!("{URL_VAR} is not set but {REQUIRE_VAR}=1");
        }
        eprintln!("skipping PostgreSQL case: {URL_VAR} is not set");
        return None;
    };
    let template = if migrated {
        ensure_template(&admin_url).await
    } else {
        "template0".to_string()
    };
    let name = format!("rampart_test_{}", uuid::Uuid::new_v4().simple());
    let mut admin = connect(&admin_url).await;
    // PostgreSQL 15's default strategy writes the whole template through the WAL; copying
    // the files keeps a long run's WAL (and disk use) small.
    let version: String = sqlx::query_scalar("SHOW server_version_num")
        .fetch_one(&mut admin)
        .await
        .expect("server version");
    let strategy = if version.parse::<u32>().unwrap_or(0) >= 150_000 {
        " STRATEGY FILE_COPY"
    } else {
        ""
    };
    // Cloning fails while another session is connected to the template; that window is
    // short (only the template builder connects), so retry briefly.
    for attempt in 0.. {
        let created = sqlx::query(&format!(
            "CREATE DATABASE {name} TEMPLATE {template}{strategy}"
        ))
        .execute(&mut admin)
        .await;
        match created {
            Ok(_) => break,
            Err(error) if attempt < 300 => {
                eprintln!("retrying CREATE DATABASE: {error}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(error) => panic!("cannot create test database: {error}"),
        }
    }
    Some(TestDatabase {
        url: with_database(&admin_url, &name),
        admin_url,
        name,
    })
}

async fn ensure_template(admin_url: &str) -> String {
    let template = format!(
        "rampart_template_{}",
        Store::migrations_fingerprint(Backend::Postgres)
    );
    let mut admin = connect(admin_url).await;
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(TEMPLATE_LOCK_KEY)
        .execute(&mut admin)
        .await
        .expect("template lock");
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(&template)
            .fetch_one(&mut admin)
            .await
            .expect("query pg_database");
    if !exists {
        // Built under another name and renamed when complete, so a crash mid-way never
        // leaves a half-migrated template behind.
        let building = format!("{template}_building");
        sqlx::query(&format!("DROP DATABASE IF EXISTS {building}"))
            .execute(&mut admin)
            .await
            .expect("drop stale template");
        sqlx::query(&format!("CREATE DATABASE {building}"))
            .execute(&mut admin)
            .await
            .expect("create template");
        let store = Store::connect(&DatabaseLocation::Postgres(with_database(
            admin_url, &building,
        )))
        .await
        .expect("connect to template");
        store.migrate().await.expect("migrate template");
        store.close().await;
        // Renaming fails while any session is attached, and a closed pool can leave one
        // behind for a while (seen after the migrator's unlock): end them all first.
        for attempt in 0.. {
            sqlx::query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = $1 AND pid <> pg_backend_pid()",
            )
            .bind(&building)
            .execute(&mut admin)
            .await
            .expect("end sessions on the template");
            let renamed = sqlx::query(&format!("ALTER DATABASE {building} RENAME TO {template}"))
                .execute(&mut admin)
                .await;
            match renamed {
                Ok(_) => break,
                Err(error) if attempt < 100 => {
                    eprintln!("retrying template rename: {error}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(error) => panic!("publish template: {error}"),
            }
        }
    }
    sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(TEMPLATE_LOCK_KEY)
        .execute(&mut admin)
        .await
        .expect("template unlock");
    template
}

async fn connect(url: &str) -> PgConnection {
    let options = PgConnectOptions::from_str(url).expect("valid RAMPART_TEST_PG_URL");
    PgConnection::connect_with(&options)
        .await
        .expect("connect to RAMPART_TEST_PG_URL")
}

/// The same URL pointing at another database.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[authority_end..].find('/') {
        Some(slash) => &base[..authority_end + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{database}?{query}"),
        None => format!("{base}/{database}"),
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn replaces_only_the_database_name() {
        assert_eq!(
            with_database("postgres://u:p@127.0.0.1:5433/postgres", "t1"),
            "postgres://u:p@127.0.0.1:5433/t1"
        );
        assert_eq!(
            with_database("postgres://u@localhost", "t1"),
            "postgres://u@localhost/t1"
        );
        assert_eq!(
            with_database("postgresql:///postgres?host=/tmp/pg&port=5499", "t1"),
            "postgresql:///t1?host=/tmp/pg&port=5499"
        );
    }
}
