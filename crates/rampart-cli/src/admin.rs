//! `rampart admin login-code`: a way in without e-mail. It prints a one-time login code for
//! a person, redeemable like an e-mailed one at `POST /api/v1/auth/otp/verify`, and records
//! it in the audit log. Whoever runs it can read the server's database, so it gives them
//! nothing they could not take anyway; it spares a headless set-up an SMTP server.

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use rampart_engine::services::login::{issue_login_code, normalize_email};
use rampart_engine::ServerConfig;
use rampart_store::{AuditActor, AuditEvent, DatabaseLocation, Store};

use crate::config::DatabaseArgs;

#[derive(Args, Debug)]
pub struct AdminArgs {
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(Subcommand, Debug)]
enum AdminCommand {
    /// Print a one-time login code for an existing user (no e-mail sent; audited). Redeem it
    /// at POST /api/v1/auth/otp/verify within 10 minutes.
    LoginCode(LoginCodeArgs),
}

#[derive(Args, Debug)]
struct LoginCodeArgs {
    /// The user's e-mail address (the bootstrap admin is `admin@localhost` by default).
    #[arg(long)]
    email: String,
    #[command(flatten)]
    database: DatabaseArgs,
}

pub async fn run(args: AdminArgs) -> anyhow::Result<()> {
    match args.command {
        AdminCommand::LoginCode(args) => login_code(args).await,
    }
}

async fn login_code(args: LoginCodeArgs) -> anyhow::Result<()> {
    let email = normalize_email(&args.email)
        .map_err(|_| anyhow::anyhow!("{:?} is not a valid e-mail address", args.email))?;
    let location = args.database.into_location()?;
    // The server's code lifetime (the same default `rampart serve` uses).
    let ttl = ServerConfig::new(location.clone()).otp_ttl;
    let store = open_existing(&location).await?;
    let result = issue(&store, &email, ttl).await;
    store.close().await;
    let code = result?;
    let minutes = ttl.num_minutes();
    eprintln!(
        "one-time login code for {email}, valid for {minutes} minutes: redeem it with \
         POST /api/v1/auth/otp/verify {{\"email\": \"{email}\", \"code\": \"{code}\"}}"
    );
    println!("{code}");
    Ok(())
}

async fn issue(store: &Store, email: &str, ttl: chrono::Duration) -> anyhow::Result<String> {
    let Some(user_id) = store.person_by_email(email).await? else {
        bail!("no user with the e-mail address {email} (the bootstrap admin's is set by --admin-email, default admin@localhost)");
    };
    let Some(team) = store.memberships(user_id).await?.into_iter().next() else {
        bail!("{email} belongs to no team, so a login would have nothing to act for");
    };
    let now = chrono::Utc::now();
    let event = AuditEvent::new(Some(team.team_id), operator_actor(), "auth.otp_issue")
        .target("email", email)
        .details(serde_json::json!({ "via": "rampart admin login-code" }));
    Ok(issue_login_code(store, email, None, now + ttl, &event, now).await?)
}

/// The actor audit entries name for the server's own command line: the operating-system
/// user who ran it.
pub fn operator_actor() -> AuditActor {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into());
    AuditActor {
        user_id: None,
        label: format!("cli:{user}"),
        kind: "system",
    }
}

/// The server's database, migrated; refuses to create a new SQLite database, so a mistyped
/// `--data-dir` is an error rather than an empty server.
pub async fn open_existing(location: &DatabaseLocation) -> anyhow::Result<Store> {
    if let DatabaseLocation::SqliteDir(dir) = location {
        let file = dir.join("rampart.db");
        if !file.exists() {
            bail!(
                "no Rampart database at {}: start `rampart serve` once first, or point \
                 --data-dir / --database-url at the server's database",
                file.display()
            );
        }
    }
    let store = Store::connect(location)
        .await
        .context("cannot open the database")?;
    store
        .migrate()
        .await
        .context("cannot migrate the database")?;
    Ok(store)
}
