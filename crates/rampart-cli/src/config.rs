//! Server settings from flags, `RAMPART_*` environment variables and an optional TOML file.
//! Precedence: flag > environment > file > default. Every secret also has a `*_FILE`
//! variant (a path whose contents are the secret), for container secret mounts.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use rampart_server::ServerConfig;
use rampart_store::DatabaseLocation;
use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Human,
    Json,
}

/// Where the database is; shared by every subcommand that touches one.
#[derive(Args, Debug, Default)]
pub struct DatabaseArgs {
    /// TOML configuration file (keys as the long flags with `_`: `data_dir = "…"`).
    #[arg(long, env = "RAMPART_CONFIG")]
    pub config: Option<PathBuf>,
    /// Directory of the embedded SQLite database [default: ./rampart-data].
    #[arg(long, env = "RAMPART_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Use PostgreSQL instead of SQLite: postgres://user:password@host:port/database.
    #[arg(long, env = "RAMPART_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// File containing the PostgreSQL URL (alternative to --database-url).
    #[arg(long, env = "RAMPART_DATABASE_URL_FILE")]
    pub database_url_file: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "RAMPART_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// E-mail of the admin user created on first start [default: admin@localhost].
    #[arg(long, env = "RAMPART_ADMIN_EMAIL")]
    pub admin_email: Option<String>,
    /// Write the first start's admin API key to this file (mode 0600) instead of stdout.
    #[arg(long, env = "RAMPART_ADMIN_API_KEY_FILE")]
    pub admin_api_key_file: Option<PathBuf>,
    /// Log format [default: human].
    #[arg(long, env = "RAMPART_LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,
    /// Largest request body accepted, in bytes [default: 52428800].
    #[arg(long, env = "RAMPART_MAX_BODY_BYTES")]
    pub max_body_bytes: Option<usize>,
    /// Largest SBOM upload accepted, in bytes [default: 52428800].
    #[arg(long, env = "RAMPART_MAX_SBOM_BYTES")]
    pub max_sbom_bytes: Option<usize>,
}

/// The optional TOML file. Unknown keys are an error, so a typo cannot be silently ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    database_url_file: Option<PathBuf>,
    admin_email: Option<String>,
    admin_api_key_file: Option<PathBuf>,
    log_format: Option<LogFormat>,
    max_body_bytes: Option<usize>,
    max_sbom_bytes: Option<usize>,
}

/// Everything `rampart serve` needs, resolved.
#[derive(Debug)]
pub struct ServeSettings {
    pub listen: SocketAddr,
    pub log_format: LogFormat,
    pub admin_api_key_file: Option<PathBuf>,
    pub server: ServerConfig,
}

const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
const DEFAULT_DATA_DIR: &str = "./rampart-data";

fn load_file(path: Option<&Path>) -> anyhow::Result<FileConfig> {
    let Some(path) = path else {
        return Ok(FileConfig::default());
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read configuration file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("invalid configuration file {}", path.display()))
}

/// A secret given directly or through a `*_FILE` path; both at once is an error.
fn secret(
    name: &str,
    value: Option<String>,
    file: Option<PathBuf>,
) -> anyhow::Result<Option<String>> {
    match (value, file) {
        (Some(_), Some(_)) => bail!("set either {name} or {name}_file, not both"),
        (Some(value), None) => Ok(Some(value)),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {name}_file {}", path.display()))?;
            Ok(Some(text.trim().to_string()))
        }
        (None, None) => Ok(None),
    }
}

impl DatabaseArgs {
    fn resolve(self, file: &mut FileConfig) -> anyhow::Result<DatabaseLocation> {
        let url = secret(
            "database_url",
            self.database_url.or(file.database_url.take()),
            self.database_url_file.or(file.database_url_file.take()),
        )?;
        Ok(match url {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                DatabaseLocation::Postgres(url)
            }
            Some(_) => bail!("database_url must start with postgres:// or postgresql://"),
            None => DatabaseLocation::SqliteDir(
                self.data_dir
                    .or(file.data_dir.take())
                    .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR)),
            ),
        })
    }

    pub fn into_location(self) -> anyhow::Result<DatabaseLocation> {
        let mut file = load_file(self.config.as_deref())?;
        self.resolve(&mut file)
    }
}

impl ServeArgs {
    pub fn resolve(self) -> anyhow::Result<ServeSettings> {
        let mut file = load_file(self.database.config.as_deref())?;
        let database = self.database.resolve(&mut file)?;
        let mut server = ServerConfig::new(database);
        if let Some(email) = self.admin_email.or(file.admin_email) {
            server.admin_email = email;
        }
        if let Some(limit) = self.max_body_bytes.or(file.max_body_bytes) {
            server.max_body_bytes = limit;
        }
        if let Some(limit) = self.max_sbom_bytes.or(file.max_sbom_bytes) {
            server.max_sbom_bytes = limit;
        }
        Ok(ServeSettings {
            listen: self
                .listen
                .or(file.listen)
                .unwrap_or_else(|| DEFAULT_LISTEN.parse().expect("default address parses")),
            log_format: self
                .log_format
                .or(file.log_format)
                .unwrap_or(LogFormat::Human),
            admin_api_key_file: self.admin_api_key_file.or(file.admin_api_key_file),
            server,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Harness {
        #[command(flatten)]
        serve: ServeArgs,
    }

    fn settings(args: &[&str]) -> anyhow::Result<ServeSettings> {
        let mut argv = vec!["rampart"];
        argv.extend_from_slice(args);
        Harness::try_parse_from(argv)?.serve.resolve()
    }

    #[test]
    fn sbom_limit_comes_from_flag_or_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("rampart.toml");
        std::fs::write(&file, "max_sbom_bytes = 1000\n").unwrap();
        let path = file.to_str().unwrap();
        assert_eq!(
            settings(&[]).unwrap().server.max_sbom_bytes,
            ServerConfig::DEFAULT_MAX_SBOM_BYTES
        );
        assert_eq!(
            settings(&["--config", path]).unwrap().server.max_sbom_bytes,
            1000
        );
        let flagged = settings(&["--config", path, "--max-sbom-bytes", "2000"]).unwrap();
        assert_eq!(flagged.server.max_sbom_bytes, 2000);
    }

    #[test]
    fn flags_beat_the_file_and_the_file_beats_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("rampart.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:9999\"\nadmin_email = \"ops@example.com\"\ndata_dir = \"/tmp/x\"\n",
        )
        .unwrap();
        let path = file.to_str().unwrap();
        let from_file = settings(&["--config", path]).unwrap();
        assert_eq!(from_file.listen.to_string(), "127.0.0.1:9999");
        assert_eq!(from_file.server.admin_email, "ops@example.com");
        let flagged = settings(&["--config", path, "--listen", "127.0.0.1:7000"]).unwrap();
        assert_eq!(flagged.listen.to_string(), "127.0.0.1:7000");
        assert_eq!(flagged.server.admin_email, "ops@example.com");
        let defaults = settings(&[]).unwrap();
        assert_eq!(defaults.listen.to_string(), DEFAULT_LISTEN);
        assert!(
            matches!(defaults.server.database, DatabaseLocation::SqliteDir(ref p) if p == Path::new(DEFAULT_DATA_DIR))
        );
    }

    #[test]
    fn secrets_come_from_files_and_conflicts_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let secret_file = dir.path().join("db-url");
        std::fs::write(&secret_file, "postgres://u:p@127.0.0.1/db\n").unwrap();
        let path = secret_file.to_str().unwrap();
        let resolved = settings(&["--database-url-file", path]).unwrap();
        assert!(
            matches!(resolved.server.database, DatabaseLocation::Postgres(ref u) if u == "postgres://u:p@127.0.0.1/db")
        );
        let both = settings(&[
            "--database-url-file",
            path,
            "--database-url",
            "postgres://x@y/z",
        ]);
        assert!(both.unwrap_err().to_string().contains("not both"));
        assert!(settings(&["--database-url", "mysql://nope"]).is_err());
    }

    #[test]
    fn unknown_file_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("rampart.toml");
        std::fs::write(&file, "lisen = \"127.0.0.1:1\"\n").unwrap();
        let error = settings(&["--config", file.to_str().unwrap()]).unwrap_err();
        assert!(format!("{error:#}").contains("lisen"), "{error:#}");
    }
}
