//! `rampart sarif upload --integration ID FILE`: a CI pipeline's SARIF upload to a Rampart
//! server (`POST /api/v1/integrations/{id}/sarif`), with the key from `RAMPART_API_KEY`.
//! The file goes as it is (JSON, gzip, or base64 of gzip); the server reads it.
//!
//! Exit codes: 0 uploaded and nothing opened at or above `--fail-on` (or no `--fail-on`);
//! 1 the import opened (new or reopened) a finding at or above `--fail-on`; 2 the upload
//! failed (unreadable file, refused log, no key, server unreachable).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Args, Subcommand, ValueEnum};
use serde_json::Value;

#[derive(Args, Debug)]
pub struct SarifArgs {
    #[command(subcommand)]
    pub command: SarifCommand,
}

#[derive(Subcommand, Debug)]
pub enum SarifCommand {
    /// Upload a SARIF 2.1.0 log to an integration; print the import's counts.
    Upload(UploadArgs),
}

#[derive(Args, Debug)]
pub struct UploadArgs {
    /// The integration's id.
    #[arg(long)]
    pub integration: i64,
    /// The SARIF log (JSON, gzip, or base64 of gzip).
    pub file: PathBuf,
    /// The server's URL.
    #[arg(long, env = "RAMPART_URL", default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// The API key (scope `findings:write`).
    #[arg(long = "api-key", env = "RAMPART_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// The repository (overrides the log's versionControlProvenance).
    #[arg(long)]
    pub repository: Option<String>,
    /// The branch or `refs/heads/<branch>`.
    #[arg(long = "ref")]
    pub git_ref: Option<String>,
    #[arg(long)]
    pub commit_sha: Option<String>,
    /// Exit with code 1 when the import opened a finding at or above this severity.
    #[arg(long, value_enum)]
    pub fail_on: Option<FailOn>,
    /// Print the import as JSON instead of a summary line.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum FailOn {
    None,
    Low,
    Medium,
    High,
    Critical,
}

impl FailOn {
    fn rank(name: &str) -> Option<FailOn> {
        FailOn::from_str(name, true).ok()
    }
}

/// Findings opened at or above `threshold`, from the import's `opened_by_severity`.
fn opened_at_or_above(import: &Value, threshold: FailOn) -> i64 {
    import["opened_by_severity"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(severity, _)| FailOn::rank(severity).is_some_and(|rank| rank >= threshold))
        .filter_map(|(_, count)| count.as_i64())
        .sum()
}

pub fn run(args: SarifArgs) -> ExitCode {
    let SarifCommand::Upload(args) = args.command;
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(upload(&args)) {
        Ok(import) => {
            if args.json {
                println!("{import:#}");
            } else {
                println!(
                    "import {}: {} new, {} unchanged, {} closed, {} reopened, {} suppressed ({} results, {} skipped)",
                    import["id"], import["new"], import["unchanged"], import["closed"],
                    import["reopened"], import["suppressed"], import["results"], import["skipped"]
                );
            }
            match args.fail_on {
                Some(threshold) if opened_at_or_above(&import, threshold) > 0 => {
                    eprintln!(
                        "{} finding(s) opened at or above {threshold:?}",
                        opened_at_or_above(&import, threshold)
                    );
                    ExitCode::from(1)
                }
                _ => ExitCode::SUCCESS,
            }
        }
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

async fn upload(args: &UploadArgs) -> anyhow::Result<Value> {
    let Some(key) = args.api_key.as_deref().filter(|k| !k.trim().is_empty()) else {
        bail!("no API key: set RAMPART_API_KEY (or --api-key)");
    };
    let body = std::fs::read(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let mut url = reqwest::Url::parse(&args.url)
        .with_context(|| format!("--url {:?} is not a URL", args.url))?
        .join(&format!("api/v1/integrations/{}/sarif", args.integration))?;
    {
        let mut query = url.query_pairs_mut();
        for (name, value) in [
            ("repository", &args.repository),
            ("ref", &args.git_ref),
            ("commit_sha", &args.commit_sha),
        ] {
            if let Some(value) = value {
                query.append_pair(name, value);
            }
        }
    }
    if url.query() == Some("") {
        url.set_query(None);
    }
    let response = reqwest::Client::new()
        .post(url)
        .bearer_auth(key.trim())
        .header("content-type", "application/sarif+json")
        .body(body)
        .send()
        .await
        .with_context(|| format!("cannot reach {}", args.url))?;
    let status = response.status();
    let text = response.text().await.context("reading the answer")?;
    let answer: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    if !status.is_success() {
        let message = answer["error"]["message"].as_str().unwrap_or(text.as_str());
        bail!("the server refused the upload ({status}): {message}");
    }
    Ok(answer)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_gate_counts_opened_findings_at_or_above_the_threshold() {
        let import = json!({"opened_by_severity": {"critical": 0, "high": 2, "medium": 1, "low": 4, "none": 0}});
        assert_eq!(opened_at_or_above(&import, FailOn::Critical), 0);
        assert_eq!(opened_at_or_above(&import, FailOn::High), 2);
        assert_eq!(opened_at_or_above(&import, FailOn::Medium), 3);
        assert_eq!(opened_at_or_above(&import, FailOn::None), 7);
        assert_eq!(opened_at_or_above(&json!({}), FailOn::None), 0);
    }
}
