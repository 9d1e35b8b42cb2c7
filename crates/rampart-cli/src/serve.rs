//! `rampart serve` and `rampart migrate`.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use rampart_server::App;
use rampart_store::Store;
use tracing_subscriber::EnvFilter;

use crate::config::{DatabaseArgs, LogFormat, ServeArgs};

pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let settings = args.resolve()?;
    init_logging(settings.log_format);
    let header_read_timeout = settings.server.header_read_timeout;
    let mut app = App::build(settings.server).await?;
    if let Some(bootstrap) = app.bootstrap.take() {
        let key = bootstrap.admin_key;
        match &settings.admin_api_key_file {
            Some(path) => {
                write_secret_file(path, key.reveal())?;
                tracing::info!(path = %path.display(), "first start: admin API key written");
            }
            None => {
                // The one time the full key leaves the process: stdout, never the log.
                let mut stdout = std::io::stdout().lock();
                writeln!(stdout, "Admin API key: {}", key.reveal())?;
                stdout.flush()?;
                tracing::info!(key = %key.masked(), "first start: admin API key printed to stdout");
            }
        }
    }
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    let metrics_server = match settings.metrics_listen {
        Some(address) => {
            let metrics_listener = tokio::net::TcpListener::bind(address)
                .await
                .with_context(|| format!("cannot listen on {address} for metrics"))?;
            tracing::info!(address = %metrics_listener.local_addr()?, "metrics at /metrics");
            let router = app.metrics_router();
            Some(tokio::spawn(async move {
                let served = rampart_server::serve_connections(
                    metrics_listener,
                    router,
                    header_read_timeout,
                    std::future::pending(),
                )
                .await;
                if let Err(error) = served {
                    tracing::error!(%error, "the metrics listener stopped");
                }
            }))
        }
        None => None,
    };
    let shutdown = shutdown_signal()?;
    tracing::info!(address = %listener.local_addr()?, "listening");
    app.serve(listener, shutdown).await?;
    if let Some(metrics_server) = metrics_server {
        metrics_server.abort();
    }
    tracing::info!("stopped");
    Ok(())
}

pub async fn migrate(args: DatabaseArgs) -> anyhow::Result<()> {
    init_logging(LogFormat::Human);
    let store = Store::connect(&args.into_location()?).await?;
    store.migrate().await?;
    store.close().await;
    tracing::info!("migrations applied");
    Ok(())
}

pub fn print_openapi() -> anyhow::Result<()> {
    let document = rampart_server::openapi_document();
    println!("{}", serde_json::to_string_pretty(&document)?);
    Ok(())
}

fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour_log())
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Colour only for a person at a terminal: a log file or a collector gets plain text, and
/// `NO_COLOR` (any non-empty value, per no-color.org) turns colour off everywhere.
fn colour_log() -> bool {
    use std::io::IsTerminal;
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
    !no_color && std::io::stderr().is_terminal()
}

#[cfg(unix)]
fn write_secret_file(path: &Path, secret: &str) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    // The mode only applies on creation; tighten a pre-existing file too.
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    writeln!(file, "{secret}")?;
    Ok(())
}

/// Resolves on SIGINT or SIGTERM: the server then stops accepting and drains. The handlers
/// are installed here, before the server says it is listening: a signal sent as soon as the
/// log line appears must drain the server, not kill it by the default action.
#[cfg(unix)]
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;
    let mut terminate = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => tracing::info!("SIGINT: shutting down"),
            _ = terminate.recv() => tracing::info!("SIGTERM: shutting down"),
        }
    })
}

#[cfg(not(unix))]
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("Ctrl-C: shutting down");
    })
}
