//! `rampart team plan --team ID [--plan P] [--status S] [--period-end T|none]`: an operator
//! sets a team's plan and subscription through the running server's admin API
//! (`PUT /api/v1/teams/{id}/plan`, key from `RAMPART_API_KEY`, an operator's key with
//! `teams:manage`). Through the server rather than the database, so every replica refuses or
//! restores the team's keys at once (a SQLite server keeps keys in memory). Audited and
//! emitted as `team.plan_changed` by the server.

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use serde_json::{json, Map, Value};

#[derive(Args, Debug)]
pub struct TeamArgs {
    #[command(subcommand)]
    command: TeamCommand,
}

#[derive(Subcommand, Debug)]
enum TeamCommand {
    /// Set a team's plan and/or subscription status and paid period; prints the team.
    Plan(PlanArgs),
}

#[derive(Args, Debug)]
struct PlanArgs {
    /// The team's id.
    #[arg(long)]
    team: i64,
    /// free, pro or enterprise.
    #[arg(long)]
    plan: Option<String>,
    /// active, past_due or inactive (inactive refuses the team's API keys at once).
    #[arg(long)]
    status: Option<String>,
    /// When the paid period ends (RFC 3339 or YYYY-MM-DD); `none` clears it.
    #[arg(long)]
    period_end: Option<String>,
    /// The server's URL.
    #[arg(long, env = "RAMPART_URL", default_value = "http://127.0.0.1:8080")]
    url: String,
    /// An operator's API key (scope `teams:manage`).
    #[arg(long = "api-key", env = "RAMPART_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
}

pub async fn run(args: TeamArgs) -> anyhow::Result<()> {
    match args.command {
        TeamCommand::Plan(args) => plan(args).await,
    }
}

async fn plan(args: PlanArgs) -> anyhow::Result<()> {
    let Some(api_key) = args.api_key.filter(|k| !k.trim().is_empty()) else {
        bail!("no API key: set RAMPART_API_KEY (an operator's key with teams:manage)");
    };
    let mut body = Map::new();
    if let Some(plan) = args.plan {
        body.insert("plan".into(), json!(plan));
    }
    if let Some(status) = args.status {
        body.insert("status".into(), json!(status));
    }
    if let Some(end) = args.period_end {
        let value = if end.eq_ignore_ascii_case("none") {
            Value::Null
        } else {
            json!(end)
        };
        body.insert("current_period_end".into(), value);
    }
    if body.is_empty() {
        bail!("give at least one of --plan, --status and --period-end");
    }
    let mut url = reqwest::Url::parse(&args.url)
        .with_context(|| format!("--url {:?} is not a URL", args.url))?;
    url.set_path(&format!("/api/v1/teams/{}/plan", args.team));
    let response = reqwest::Client::new()
        .put(url)
        .bearer_auth(api_key.trim())
        .json(&Value::Object(body))
        .send()
        .await
        .with_context(|| format!("cannot reach the server at {}", args.url))?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    if !status.is_success() {
        let message = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v["error"]["message"].as_str().map(str::to_string))
            .unwrap_or(text);
        bail!("the server refused ({status}): {message}");
    }
    let team: Value = serde_json::from_str(&text).context("the server's answer is not JSON")?;
    println!("{}", serde_json::to_string_pretty(&team)?);
    Ok(())
}
