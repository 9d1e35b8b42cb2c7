//! `rampart`: the server and its command-line tools.

mod admin;
mod backup;
mod config;
mod export;
mod import;
mod keys;
mod sarif;
mod scan;
mod scan_server;
mod scan_vex;
mod serve;
mod spare;
mod team;
mod version;
mod vex;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "rampart",
    version,
    about = "Self-hosted vulnerability intelligence and management"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server (migrates and bootstraps the database first).
    Serve(Box<config::ServeArgs>),
    /// Apply pending database migrations and exit.
    Migrate(config::DatabaseArgs),
    /// Load an advisory feed (file, directory tree, .zip or http(s) URL) into the knowledge base.
    Import(import::ImportArgs),
    /// Write the knowledge base offline in OSV's layout (`--type osv --out DIR|FILE.zip`), for
    /// an air-gapped Rampart or any OSV tool.
    Export(export::ExportArgs),
    /// Copy the embedded SQLite database to `--out FILE` while the server runs (a consistent
    /// snapshot); PostgreSQL is backed up with `pg_dump`.
    Backup(backup::BackupArgs),
    /// Install a backup file in a data directory (`--data-dir`, with the old `secret.key` as
    /// `--secret-key-file`) and migrate it to this version.
    Restore(backup::RestoreArgs),
    /// Print the OpenAPI 3.1 document of this build (the one served at /api/v1/openapi.json).
    Openapi,
    /// Version tools: sort, compare, check against a range, in an ecosystem's own order.
    Version(version::VersionArgs),
    /// Operator tools without e-mail: `admin login-code --email E` prints a one-time login code.
    Admin(admin::AdminArgs),
    /// API keys without a browser: `keys create --team T --name N --scopes …` prints a new key once.
    Keys(keys::KeysArgs),
    /// Team subscriptions through a running server: `team plan --team ID --status inactive`
    /// (an operator's key in RAMPART_API_KEY).
    Team(team::TeamArgs),
    /// Check an SBOM or lockfile against a local knowledge base, offline: table, --json or
    /// --sarif; exit 1 on a finding at or above --fail-on, 2 on bad input.
    Scan(Box<scan::ScanArgs>),
    /// SARIF for CI pipelines: `sarif upload --integration ID FILE` sends a log to a server
    /// (key from RAMPART_API_KEY); exit 1 when it opened a finding at or above --fail-on.
    Sarif(sarif::SarifArgs),
    /// VEX tools, offline: `vex convert --to openvex|cyclonedx|csaf [--xml] FILE` to stdout.
    Vex(vex::VexArgs),
}

fn main() -> ExitCode {
    // A scan's second thread is started before the command line is read, so that its start
    // (a millisecond or more on a virtual machine whose other vCPU sleeps) overlaps that.
    let spare = (std::env::args_os().nth(1).as_deref() == Some(std::ffi::OsStr::new("scan")))
        .then(spare::Spare::started);
    let cli = Cli::parse();
    let command = match cli.command {
        // Pure computation: no async runtime needed.
        Command::Version(args) => return version::run(args),
        // Exit codes of its own (1 = findings, 2 = bad input); its own small runtime.
        Command::Scan(args) => return scan::run(*args, spare.unwrap_or_default()),
        Command::Vex(args) => return vex::run(args),
        // Exit codes of its own (1 = findings opened, 2 = upload failed).
        Command::Sarif(args) => return sarif::run(args),
        command => command,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match command {
            Command::Serve(args) => serve::run(*args).await,
            Command::Migrate(args) => serve::migrate(args).await,
            Command::Import(args) => import::run(args).await,
            Command::Export(args) => export::run(args).await,
            Command::Backup(args) => backup::backup(args).await,
            Command::Restore(args) => backup::restore(args).await,
            Command::Openapi => serve::print_openapi(),
            Command::Admin(args) => admin::run(args).await,
            Command::Keys(args) => keys::run(args).await,
            Command::Team(args) => team::run(args).await,
            Command::Version(_) | Command::Scan(_) | Command::Vex(_) | Command::Sarif(_) => {
                unreachable!("handled before the runtime starts")
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            // As documented: 2 for bad input, 1 for any other failure.
            if error.chain().any(|cause| cause.is::<import::BadInput>()) {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
