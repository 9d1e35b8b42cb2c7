//! `rampart keys create`: an API key without a browser or e-mail, for headless set-ups. The
//! key is made by the same service as `POST /api/v1/api-keys`, as if the owning member had
//! asked for it: their role bounds its scopes, the team's plan its number, the team's
//! `api_key_creation` setting whether they may have one at all. It is printed once and the
//! creation is audited with the operating-system user who ran the command.

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use rampart_core::Role;
use rampart_engine::services::api_keys::{create_key, CreateApiKey, CreateRefusal, KeyRequester};
use rampart_engine::Plans;
use rampart_store::{Store, TeamInfo};

use crate::admin::{open_existing, operator_actor};
use crate::config::DatabaseArgs;

#[derive(Args, Debug)]
pub struct KeysArgs {
    #[command(subcommand)]
    command: KeysCommand,
}

#[derive(Subcommand, Debug)]
enum KeysCommand {
    /// Create an API key for a member of a team and print it once (audited).
    Create(CreateArgs),
}

#[derive(Args, Debug)]
struct CreateArgs {
    /// The team: its id, or its exact name (the bootstrap team is `Operators`, id 1).
    #[arg(long)]
    team: String,
    /// A name for the key (1-100 characters).
    #[arg(long)]
    name: String,
    /// Scopes, comma-separated (e.g. `kb:read,products:read`) [default: all of the owner's].
    #[arg(long, value_delimiter = ',')]
    scopes: Vec<String>,
    /// E-mail of the member who owns the key [default: the team's first owner].
    #[arg(long)]
    owner: Option<String>,
    /// Expire the key after 30, 90, 180 or 365 days.
    #[arg(long)]
    expires_in_days: Option<i64>,
    /// An `rk_test_` key (test data only, no real scans or notifications).
    #[arg(long)]
    test_mode: bool,
    /// A team key for CI backed by a service account `api_<name>` (outside user quotas).
    #[arg(long)]
    service_account: bool,
    #[command(flatten)]
    database: DatabaseArgs,
}

pub async fn run(args: KeysArgs) -> anyhow::Result<()> {
    match args.command {
        KeysCommand::Create(args) => create(args).await,
    }
}

async fn create(args: CreateArgs) -> anyhow::Result<()> {
    let (location, plans) = args.database.clone().into_location_and_plans()?;
    let store = open_existing(&location).await?;
    let result = create_in(&store, &plans, &args).await;
    store.close().await;
    let (team, owner, key, secret) = result?;
    let scopes: Vec<&str> = key.scopes.iter().map(|s| s.as_str()).collect();
    eprintln!(
        "API key {} {:?} for team {} ({}), owned by {}, scopes {}: shown this once, store it now",
        key.id,
        key.name,
        team.id,
        team.name,
        owner,
        scopes.join(",")
    );
    println!("{}", secret.reveal());
    Ok(())
}

type Created = (
    TeamInfo,
    String,
    rampart_store::ApiKeyInfo,
    rampart_core::ApiKeySecret,
);

async fn create_in(store: &Store, plans: &Plans, args: &CreateArgs) -> anyhow::Result<Created> {
    let team = find_team(store, &args.team).await?;
    let members = store.list_members(team.id).await?;
    let owner = match &args.owner {
        Some(email) => {
            let email = email.trim().to_lowercase();
            members
                .into_iter()
                .find(|m| m.email == email)
                .with_context(|| format!("{email} is not a member of team {}", team.id))?
        }
        None => members
            .into_iter()
            .find(|m| m.role == Role::Owner.as_str())
            .with_context(|| format!("team {} has no owner", team.id))?,
    };
    let role: Role = owner
        .role
        .parse()
        .with_context(|| format!("member {} has an unknown role", owner.email))?;
    let requester = KeyRequester {
        team_id: team.id,
        user_id: owner.user_id,
        role,
        scopes: role.scopes(),
        plan: team.plan.clone(),
        actor: operator_actor(),
        origin: Default::default(),
    };
    let body = CreateApiKey {
        name: args.name.clone(),
        scopes: (!args.scopes.is_empty()).then(|| args.scopes.clone()),
        expires_in_days: args.expires_in_days,
        expires_at: None,
        test_mode: args.test_mode,
        service_account: args.service_account,
    };
    match create_key(store, plans, chrono::Utc::now(), &requester, body).await {
        Ok((key, secret)) => Ok((team, owner.email, key, secret)),
        Err(CreateRefusal::Upgrade) => bail!(
            "team {} is on the {:?} plan, which has no API keys: move it to another plan \
             (PUT /api/v1/teams/{}/plan as an operator) or raise the plan's \
             api_keys_per_user in [plans.{}] of the configuration file",
            team.id,
            team.plan,
            team.id,
            team.plan
        ),
        Err(refusal) => bail!("cannot create the key: {}", refusal.message()),
    }
}

async fn find_team(store: &Store, team: &str) -> anyhow::Result<TeamInfo> {
    if let Ok(id) = team.trim().parse::<i64>() {
        return store
            .team(id)
            .await?
            .with_context(|| format!("no team with id {id}"));
    }
    let mut named = store.teams_named(team.trim()).await?;
    match named.len() {
        0 => bail!("no team named {team:?}"),
        1 => Ok(named.remove(0)),
        n => bail!("{n} teams are named {team:?}: give the team's id instead"),
    }
}
