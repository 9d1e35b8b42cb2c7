//! SARIF uploads to an integration (`findings:write`): decode (JSON, gzip, GitHub's gzip +
//! base64) within the size limits, read tolerantly, and reconcile each (integration,
//! repository, branch, tool) scope with what is stored: new findings, the same ones again
//! (moved lines update their location), fixed ones reopened, suppressed ones stored
//! suppressed, and the open ones that are gone closed, with a history entry per change and
//! the import's counts. Nothing is stored when the log is refused.

use std::collections::BTreeMap;

use rampart_core::code_finding_diff::{
    diff_code_findings, CodeDiffCounts, CodeStatus, ResultOutcome, StoredCodeFinding,
    UploadedResult,
};
use rampart_core::{PageRequest, Scope};
use rampart_formats::sarif::{
    decode_upload, read_sarif, CodeResult, ReadLimits, SarifError, SarifReport, SarifWarning,
};
use rampart_store::{
    ImportCounts, NewCodeFinding, Page, Relocation, SarifImportRecord, SarifImportWrite,
    StatusChange,
};
use sha2::{Digest, Sha256};

use crate::actor::{Actor, RequestOrigin};
use crate::error::{ErrorCode, ServiceError};
use crate::services::integrations;
use crate::Engine;

/// Where the uploaded code comes from, when the request says (it wins over the log's
/// `versionControlProvenance`).
#[derive(Debug, Default, Clone)]
pub struct UploadContext {
    pub repository: Option<String>,
    /// A branch or `refs/heads/<branch>`.
    pub git_ref: Option<String>,
    pub commit_sha: Option<String>,
}

/// The 413 of a body over the SARIF limit.
pub fn too_large(limit: usize) -> ServiceError {
    ServiceError::new(
        ErrorCode::PayloadTooLarge,
        format!("the SARIF upload is larger than the {limit}-byte limit"),
    )
}

fn sarif_error(error: SarifError) -> ServiceError {
    match error {
        SarifError::NotSarif(message) => ServiceError::new(ErrorCode::NotSarif, message),
        SarifError::TooLarge { limit } => ServiceError::new(
            ErrorCode::PayloadTooLarge,
            format!("the SARIF log is larger than the {limit}-byte limit once decompressed"),
        ),
        invalid => ServiceError::new(ErrorCode::InvalidSarif, invalid.to_string()),
    }
}

/// `refs/heads/main` → `main`; tags and other refs stay whole.
fn branch_of(git_ref: &str) -> String {
    let git_ref = git_ref.trim();
    git_ref
        .strip_prefix("refs/heads/")
        .unwrap_or(git_ref)
        .to_string()
}

fn clean_param(
    field: &str,
    value: &Option<String>,
    max: usize,
) -> Result<Option<String>, ServiceError> {
    match value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) if v.len() > max || v.chars().any(char::is_control) => Err(ServiceError::new(
            ErrorCode::BadRequest,
            format!("`{field}` must be at most {max} characters without control characters"),
        )),
        Some(v) => Ok(Some(v.to_string())),
    }
}

/// Reads the upload off the async runtime (a large log takes a while to parse).
async fn read_upload(
    bytes: bytes::Bytes,
    max_decoded: usize,
) -> Result<(SarifReport, &'static str), ServiceError> {
    tokio::task::spawn_blocking(move || {
        let (json, encoding) = decode_upload(&bytes, max_decoded).map_err(sarif_error)?;
        let report = read_sarif(&json, ReadLimits::default()).map_err(sarif_error)?;
        Ok((report, encoding.as_str()))
    })
    .await
    .map_err(ServiceError::internal)?
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("plain data serialises")
}

fn new_finding(tool: &str, tool_version: Option<&str>, result: &CodeResult) -> NewCodeFinding {
    NewCodeFinding {
        tool: tool.to_string(),
        tool_version: tool_version.map(str::to_string),
        identity: result.identity.clone(),
        alternates: json(&result.alternate_identities),
        fingerprints: json(&result.fingerprints),
        rule_id: result.rule_id.clone(),
        rule_name: result.rule_name.clone(),
        rule_help: result.rule_help.clone(),
        help_uri: result.help_uri.clone(),
        tags: json(&result.tags),
        cwes: json(&result.cwes),
        owasp: json(&result.owasp),
        level: result.level.to_string(),
        security_severity: result.security_severity,
        severity: result.severity.as_str().to_string(),
        message: result.message.clone(),
        path: result.path.clone(),
        start_line: result.start_line,
        start_column: result.start_column,
        end_line: result.end_line,
        end_column: result.end_column,
        snippet: result.snippet.clone(),
        code_flows: result.code_flows.as_ref().map(json),
        status: if result.suppressed {
            CodeStatus::Suppressed.as_str()
        } else {
            CodeStatus::Open.as_str()
        },
        suppression_justification: result.suppression_justification.clone(),
    }
}

/// An import with the findings it opened (created open or reopened) by severity, which CI
/// gates on.
#[derive(Debug, Clone)]
pub struct ImportView {
    pub record: SarifImportRecord,
    pub opened_by_severity: BTreeMap<String, i64>,
}

async fn view(
    engine: &Engine,
    actor: &Actor,
    record: SarifImportRecord,
) -> Result<ImportView, ServiceError> {
    let counted = engine
        .store
        .sarif_import_opened_by_severity(actor.tenant(), record.id)
        .await?;
    let mut opened_by_severity: BTreeMap<String, i64> =
        rampart_formats::advisory::SeverityBand::ALL
            .iter()
            .map(|band| (band.as_str().to_string(), 0))
            .collect();
    for (severity, count) in counted {
        *opened_by_severity.entry(severity).or_default() += count;
    }
    Ok(ImportView {
        record,
        opened_by_severity,
    })
}

/// Uploads a SARIF log to an integration of the caller's team and returns the import.
/// `body` reads the upload: only once the integration is known to be the caller's.
pub async fn upload(
    engine: &Engine,
    actor: &Actor,
    origin: &RequestOrigin,
    integration_id: i64,
    body: impl std::future::Future<Output = Result<bytes::Bytes, ServiceError>>,
    context: UploadContext,
) -> Result<ImportView, ServiceError> {
    actor.require(Scope::FindingsWrite)?;
    let integration = integrations::find(engine, actor, integration_id).await?;
    let repository_param = clean_param("repository", &context.repository, 300)?;
    let ref_param = clean_param("ref", &context.git_ref, 300)?;
    let commit_param = clean_param("commit_sha", &context.commit_sha, 100)?;
    let body = body.await?;
    let size_bytes = body.len() as i64;
    let sha256 = hex::encode(Sha256::digest(&body));
    let (report, encoding) = read_upload(body, engine.config.max_sarif_decoded_bytes).await?;

    let provenance = report
        .runs
        .iter()
        .find(|run| run.repository.is_some() || run.branch.is_some());
    let repository = repository_param
        .or_else(|| provenance.and_then(|run| run.repository.clone()))
        .unwrap_or_default();
    let branch = ref_param
        .or_else(|| provenance.and_then(|run| run.branch.clone()))
        .map(|r| branch_of(&r))
        .unwrap_or_default();
    let commit_sha = commit_param.or_else(|| provenance.and_then(|run| run.revision.clone()));

    // Runs of one tool form one scope.
    let mut by_tool: BTreeMap<&str, Vec<(&CodeResult, Option<&str>)>> = BTreeMap::new();
    for run in &report.runs {
        let entry = by_tool.entry(run.tool_name.as_str()).or_default();
        entry.extend(run.results.iter().map(|r| (r, run.tool_version.as_deref())));
    }
    let mut totals = CodeDiffCounts::default();
    let mut new_findings = Vec::new();
    let mut status_changes = Vec::new();
    let mut relocations = Vec::new();
    for (tool, results) in &by_tool {
        let stored = engine
            .store
            .code_scope_findings(actor.tenant(), integration_id, &repository, &branch, tool)
            .await?;
        let previous: Vec<StoredCodeFinding> = stored
            .iter()
            .map(|row| StoredCodeFinding {
                id: row.id,
                identity: row.identity.clone(),
                alternates: serde_json::from_str(&row.alternates).unwrap_or_default(),
                status: CodeStatus::parse(&row.status).unwrap_or(CodeStatus::Open),
            })
            .collect();
        let uploaded: Vec<UploadedResult<'_>> = results
            .iter()
            .map(|(result, _)| UploadedResult {
                identity: &result.identity,
                alternates: &result.alternate_identities,
                suppressed: result.suppressed,
            })
            .collect();
        let diff = diff_code_findings(&previous, &uploaded);
        let counts = diff.counts();
        totals.new += counts.new;
        totals.unchanged += counts.unchanged;
        totals.closed += counts.closed;
        totals.reopened += counts.reopened;
        totals.suppressed += counts.suppressed;
        totals.duplicates += counts.duplicates;
        let row_of: std::collections::HashMap<i64, &rampart_store::ScopeFinding> =
            stored.iter().map(|row| (row.id, row)).collect();
        for ((result, version), outcome) in results.iter().zip(&diff.outcomes) {
            let existing = match *outcome {
                ResultOutcome::New | ResultOutcome::NewSuppressed => {
                    new_findings.push(new_finding(tool, *version, result));
                    continue;
                }
                ResultOutcome::Duplicate => continue,
                ResultOutcome::Unchanged(id)
                | ResultOutcome::Reopened(id)
                | ResultOutcome::Suppressed(id) => id,
            };
            let row = row_of[&existing];
            let target = match outcome {
                ResultOutcome::Reopened(_) => Some(CodeStatus::Open),
                ResultOutcome::Suppressed(_) if row.status != "suppressed" => {
                    Some(CodeStatus::Suppressed)
                }
                _ => None,
            };
            if let Some(target) = target {
                status_changes.push(StatusChange {
                    finding_id: existing,
                    from: row.status.clone(),
                    to: target.as_str(),
                });
            }
            let moved = row.path != result.path
                || row.start_line != result.start_line
                || row.start_column != result.start_column
                || row.end_line != result.end_line
                || row.end_column != result.end_column
                || (commit_sha.is_some() && row.commit_sha != commit_sha);
            if moved {
                relocations.push(Relocation {
                    finding_id: existing,
                    path: result.path.clone(),
                    start_line: result.start_line,
                    start_column: result.start_column,
                    end_line: result.end_line,
                    end_column: result.end_column,
                });
            }
        }
        for id in &diff.closed {
            status_changes.push(StatusChange {
                finding_id: *id,
                from: row_of[id].status.clone(),
                to: CodeStatus::Fixed.as_str(),
            });
        }
    }
    let mut warnings: Vec<SarifWarning> = report.warnings.clone();
    warnings.extend(report.skipped.iter().map(|skipped| SarifWarning {
        pointer: skipped.pointer.clone(),
        message: format!("skipped: {}", skipped.reason),
    }));
    let counts = ImportCounts {
        results: report.result_count() as i64,
        new: totals.new as i64,
        unchanged: totals.unchanged as i64,
        closed: totals.closed as i64,
        reopened: totals.reopened as i64,
        suppressed: totals.suppressed as i64,
        duplicates: totals.duplicates as i64,
        skipped: report.skipped.len() as i64,
    };
    let tools: Vec<&str> = by_tool.keys().copied().collect();
    let mut event = actor.audit(origin, "sarif.import");
    event.details = Some(serde_json::json!({
        "integration_id": integration_id,
        "repository": repository,
        "branch": branch,
        "tools": tools,
        "new": counts.new, "closed": counts.closed, "reopened": counts.reopened,
    }));
    let record = engine
        .store
        .apply_sarif_import(
            actor.tenant(),
            &SarifImportWrite {
                integration_id: integration.record.id,
                repository,
                branch,
                commit_sha,
                tools: json(&tools),
                encoding: encoding.to_string(),
                size_bytes,
                sha256,
                counts,
                warnings: json(&warnings),
                uploaded_by: actor.user_email.clone(),
                new_findings,
                status_changes,
                relocations,
            },
            &event,
        )
        .await?;
    tracing::info!(
        import = record.id,
        integration = integration_id,
        new = counts.new,
        closed = counts.closed,
        "SARIF imported"
    );
    view(engine, actor, record).await
}

/// One import of the team (`findings:read`).
pub async fn get(
    engine: &Engine,
    actor: &Actor,
    id: i64,
) -> Result<SarifImportRecord, ServiceError> {
    actor.require(Scope::FindingsRead)?;
    engine
        .store
        .sarif_import(actor.tenant(), id)
        .await?
        .ok_or_else(|| ServiceError::not_found("SARIF import"))
}

/// The team's imports, newest first, optionally of one integration (`findings:read`).
pub async fn list(
    engine: &Engine,
    actor: &Actor,
    integration_id: Option<i64>,
    page: PageRequest,
) -> Result<Page<SarifImportRecord>, ServiceError> {
    actor.require(Scope::FindingsRead)?;
    Ok(engine
        .store
        .list_sarif_imports(actor.tenant(), integration_id, page)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branch_refs_lose_their_heads_prefix() {
        assert_eq!(branch_of("refs/heads/main"), "main");
        assert_eq!(branch_of(" release/1.x "), "release/1.x");
        assert_eq!(branch_of("refs/tags/v1"), "refs/tags/v1");
    }

    #[test]
    fn sarif_errors_map_to_their_codes() {
        assert_eq!(
            sarif_error(SarifError::NotSarif("x".into())).code(),
            ErrorCode::NotSarif
        );
        let invalid = sarif_error(SarifError::Invalid {
            pointer: "/runs/0".into(),
            message: "must be an object".into(),
        });
        assert_eq!(invalid.code(), ErrorCode::InvalidSarif);
        assert!(invalid.message().starts_with("/runs/0: "));
        assert_eq!(
            sarif_error(SarifError::TooLarge { limit: 1 }).code(),
            ErrorCode::PayloadTooLarge
        );
    }
}
