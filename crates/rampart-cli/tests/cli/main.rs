//! The command-line tool as a user runs it: the real binary, real files, real databases.

mod analysis_kill;
mod backup;
mod clients;
mod export;
mod first_steps;
mod import;
mod notifier_kill;
mod purl_agreement;
mod replicas;
mod sarif_upload;
mod scan;
mod scan_index;
mod scan_reading;
mod scan_server;
mod scan_vex;
mod schemathesis;
mod secrets_at_rest;
mod serve;
mod sync_kill;
mod upgrade;
mod version_cli;
mod vex_cli;
mod webhook_kill;

use rampart_store::DatabaseLocation;
use rampart_test_support::TestApp;

/// The database flags of an app's database, for commands run beside its server.
fn database_args(app: &TestApp) -> Vec<String> {
    match &app.config.database {
        DatabaseLocation::SqliteDir(dir) => {
            vec!["--data-dir".into(), dir.display().to_string()]
        }
        DatabaseLocation::Postgres(url) => vec!["--database-url".into(), url.clone()],
    }
}

/// Skips a test whose tool is missing with the reason, or fails when CI requires the tool
/// (`require_var=1`).
fn unavailable(require_var: &str, reason: &str) {
    if std::env::var(require_var).as_deref() == Ok("1") {
        panic!("{reason} but {require_var}=1");
    }
    eprintln!("skipping: {reason} (CI installs it and sets {require_var}=1)");
}

/// A finished command's status and output, for assertion messages.
fn command_output(output: &std::process::Output) -> String {
    format!(
        "status: {}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}
