//! VEX import ("apply supplier or upstream VEX"): a VEX document in any of the three formats
//! (OpenVEX 0.2.0, CycloneDX 1.4–1.6 JSON/XML, CSAF 2.0; recognised from its content) applied
//! to one release.
//!
//! Each statement is matched against the release's open findings by
//! `rampart_core::vex_match` (the vulnerability by any alias AND the component by purl, CPE or
//! range — never the vulnerability alone); the decisions are recorded through
//! [`dispositions::record`] with source `vex` and source reference `sha256:<document hash>`,
//! scope `release`, so that a manual decision wins unless the import asks to `overwrite`.
//! The import itself is recorded (format, document id and version, SHA-256, who, when, what it
//! did) and audited as `vex.import`. A document that cannot be read stores nothing.
//!
//! An uploaded CycloneDX SBOM that carries `vulnerabilities[].analysis` applies it the same
//! way when its analysis completes ([`apply_sbom_analysis`], source `sbom`).

use std::collections::{BTreeMap, HashMap};

use rampart_core::triage::{component_key, DecisionScope};
use rampart_core::vex_match::{self, Outcome, Release, ReleaseComponent, ReleaseFinding};
use rampart_core::Scope;
use rampart_formats::vex::{self, Subject, VexDocument, VexRead};
use rampart_store::{
    DispositionSource, NewVexImport, PageRequest, Store, TriageFinding, TriageWithin, VexImport,
};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::actor::{Actor, RequestOrigin};
use crate::error::{ErrorCode, ServiceError};
use crate::services::dispositions::{self, PlannedDecision};
use crate::Engine;

/// What became of one statement of an imported document.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StatementResult {
    /// Position in the document's statements (as read: an OpenVEX statement naming products
    /// with different subcomponents is read as several), from 0.
    pub statement: usize,
    pub vulnerability: String,
    /// `applied`, `skipped` or `unmatched`.
    pub outcome: &'static str,
    /// For a skipped statement: `invalid_disposition`, `product_not_this_release` or
    /// `no_such_vulnerability`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// For an applied statement: the findings it decides.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<i64>,
}

/// What an import did.
#[derive(Debug, Clone)]
pub struct ImportOutcome {
    pub import: VexImport,
    pub statements: Vec<StatementResult>,
    /// Findings that took an imported decision.
    pub findings: Vec<i64>,
    /// Findings a manual decision kept (import again with `overwrite` to replace it).
    pub kept_manual: Vec<i64>,
    /// Parts of the document the reader could not use, each with its reason.
    pub unreadable: Vec<String>,
    /// What the reader tolerated.
    pub warnings: Vec<String>,
}

/// 413 for a VEX document past the upload limit (the SBOM limit, which VEX shares).
pub fn too_large(limit: usize) -> ServiceError {
    ServiceError::new(
        ErrorCode::PayloadTooLarge,
        format!("the VEX document exceeds the upload limit of {limit} bytes"),
    )
}

/// Reads a VEX document: 400 `not_a_vex` when it is none of the formats, 422 `invalid_vex`
/// naming where one of them went wrong.
pub fn read_document(bytes: &[u8]) -> Result<VexRead, ServiceError> {
    let Some(format) = vex::detect(bytes) else {
        let problem = vex::read(bytes).err().map(|e| e.to_string());
        return Err(ServiceError::new(
            ErrorCode::NotAVex,
            format!(
                "not a VEX document (OpenVEX, CycloneDX JSON/XML or CSAF JSON){}",
                problem.map(|p| format!(": {p}")).unwrap_or_default()
            ),
        ));
    };
    vex::read_as(bytes, format).map_err(|error| {
        ServiceError::new(
            ErrorCode::InvalidVex,
            format!("the {format} document cannot be read: {error}"),
        )
    })
}

/// Imports a VEX document into a release (`dispositions:write`).
pub async fn import_vex(
    engine: &Engine,
    actor: &Actor,
    origin: &RequestOrigin,
    release_id: i64,
    document: &[u8],
    overwrite: bool,
) -> Result<ImportOutcome, ServiceError> {
    actor.require(Scope::DispositionsWrite)?;
    let store = &engine.store;
    let release = store
        .release(actor.tenant(), release_id)
        .await?
        .ok_or_else(|| ServiceError::not_found("release"))?;
    let read = read_document(document)?;
    let product = store
        .product(actor.tenant(), release.product_id)
        .await?
        .ok_or_else(|| ServiceError::not_found("release"))?;
    let sboms = store
        .list_sboms(
            actor.tenant(),
            release_id,
            PageRequest::new(1, 500).map_err(ServiceError::internal)?,
        )
        .await?
        .map(|page| page.items)
        .unwrap_or_default();
    let serials: Vec<String> = sboms
        .iter()
        .filter_map(|s| s.serial_number.clone())
        .collect();
    let open = store
        .triage_findings(
            actor.team_id,
            release.product_id,
            TriageWithin::Release(release_id),
        )
        .await?;
    // The release as Rampart names it, and as each of its SBOMs describes it.
    let mut identities = vec![vex_match::release_subject(&product.name, &release.version)];
    identities.extend(sboms.iter().filter_map(sbom_subject));
    let (planned, statements) = plan(store, &read.document, &open, identities, serials).await?;
    let sha256 = hex::encode(Sha256::digest(document));
    let metadata = &read.document.metadata;
    let count = |outcome: &str| statements.iter().filter(|s| s.outcome == outcome).count() as i64;
    let (applied, skipped, unmatched) = (count("applied"), count("skipped"), count("unmatched"));
    let event = actor
        .audit(origin, "vex.import")
        .target("release", release_id)
        .details(serde_json::json!({
            "format": read.format.as_str(),
            "document_id": metadata.id,
            "document_version": metadata.version,
            "sha256": sha256,
            "statements": statements.len(),
            "applied": applied,
            "skipped": skipped,
            "unmatched": unmatched,
            "overwrite": overwrite,
        }));
    let recorded = dispositions::record(
        engine,
        actor,
        release.product_id,
        &open,
        planned,
        (DispositionSource::Vex, Some(format!("sha256:{sha256}"))),
        overwrite,
        event,
    )
    .await?;
    let import = store
        .record_vex_import(
            actor.team_id,
            &NewVexImport {
                release_id,
                format: read.format.as_str().to_string(),
                document_id: metadata.id.clone(),
                document_version: i64::from(metadata.version),
                sha256,
                size_bytes: document.len() as i64,
                overwrite,
                statements: statements.len() as i64,
                applied,
                skipped,
                unmatched,
                findings_decided: recorded.reached.len() as i64,
                kept_manual: recorded.kept_manual.len() as i64,
                imported_by: actor.audit_actor(),
            },
        )
        .await?;
    Ok(ImportOutcome {
        import,
        statements,
        findings: recorded.reached,
        kept_manual: recorded.kept_manual,
        unreadable: read.skipped.iter().map(ToString::to_string).collect(),
        warnings: read.warnings.iter().map(ToString::to_string).collect(),
    })
}

/// The VEX imports of a release, newest first (`dispositions:read`).
pub async fn list_imports(
    engine: &Engine,
    actor: &Actor,
    release_id: i64,
) -> Result<Vec<VexImport>, ServiceError> {
    actor.require(Scope::DispositionsRead)?;
    engine
        .store
        .release(actor.tenant(), release_id)
        .await?
        .ok_or_else(|| ServiceError::not_found("release"))?;
    Ok(engine.store.vex_imports(actor.team_id, release_id).await?)
}

/// Applies the `vulnerabilities[].analysis` an uploaded CycloneDX SBOM carries to the
/// findings its analysis left without a decision (before carry-over, so that the SBOM's own
/// word wins over an older release's), the same way as an import: source `sbom`, scope
/// `release`, a manual decision never replaced, on behalf of the uploader, audited as
/// `disposition.sbom_analysis`. Returns how many findings took a decision; an SBOM without
/// analysis (or not CycloneDX) does nothing.
pub async fn apply_sbom_analysis(
    store: &Store,
    analysis: &rampart_store::Analysis,
) -> Result<usize, ServiceError> {
    let Some((_, bytes)) = store
        .sbom_document(analysis.team_id, analysis.sbom_id)
        .await?
    else {
        return Ok(0);
    };
    // Most SBOMs carry no VEX: they are not read a second time.
    let Some(format) = vex::embedded_vex_format(&bytes) else {
        return Ok(0);
    };
    let Ok(read) = vex::read_as(&bytes, format) else {
        return Ok(0);
    };
    if read.document.statements.is_empty() {
        return Ok(0);
    }
    let Some(product_id) = store
        .release_product(analysis.team_id, analysis.release_id)
        .await?
    else {
        return Ok(0);
    };
    let open: Vec<TriageFinding> = store
        .triage_findings(
            analysis.team_id,
            product_id,
            TriageWithin::Sbom(analysis.sbom_id),
        )
        .await?
        .into_iter()
        .filter(|f| f.disposition_id.is_none())
        .collect();
    let mut sbom = None;
    for test in [false, true] {
        let tenant = rampart_store::Tenant {
            team_id: analysis.team_id,
            test,
        };
        if let Some(record) = store.sbom(tenant, analysis.sbom_id).await? {
            sbom = Some(record);
            break;
        }
    }
    let Some(sbom) = sbom else {
        return Ok(0);
    };
    // The document is the release's own SBOM: its products are this release.
    let identities = read.document.products.clone();
    let serials: Vec<String> = sbom.serial_number.iter().cloned().collect();
    let (planned, statements) = plan(store, &read.document, &open, identities, serials).await?;
    if planned.is_empty() {
        return Ok(0);
    }
    let uploader = Actor {
        team_id: analysis.team_id,
        user_id: sbom.uploaded_by_user_id,
        user_email: sbom.uploaded_by.clone(),
        credential: crate::actor::Credential::Session { id: 0 },
        scopes: [Scope::DispositionsWrite].into_iter().collect(),
        role: rampart_core::Role::Member,
        plan: String::new(),
    };
    let applied = statements.iter().filter(|s| s.outcome == "applied").count();
    let event = uploader
        .audit(&RequestOrigin::default(), "disposition.sbom_analysis")
        .target("sbom", analysis.sbom_id)
        .details(serde_json::json!({
            "statements": statements.len(),
            "applied": applied,
        }));
    let recorded = dispositions::record_in(
        store,
        &uploader,
        product_id,
        &open,
        planned,
        (
            DispositionSource::Sbom,
            Some(format!("sha256:{}", sbom.sha256)),
        ),
        false,
        event,
    )
    .await?;
    Ok(recorded.reached.len())
}

/// Matches `document` against the findings `open` and plans one release-scoped decision per
/// alias group × component × version, from the statement deciding it.
/// What an SBOM says it describes (CycloneDX `metadata.component`), as a VEX subject.
fn sbom_subject(sbom: &rampart_store::SbomRecord) -> Option<Subject> {
    let name = sbom.name.clone().filter(|n| !n.trim().is_empty())?;
    if sbom.format != "cyclonedx" {
        // An SPDX document's name is the document's, not the product's.
        return None;
    }
    Some(Subject {
        key: format!("sbom:{}", sbom.id),
        name,
        vendor: None,
        version: sbom.subject_version.clone(),
        purl: sbom.subject_purl.clone(),
        cpe: sbom.subject_cpe.clone(),
    })
}

async fn plan(
    store: &Store,
    document: &VexDocument,
    open: &[TriageFinding],
    identities: Vec<Subject>,
    bom_serial_numbers: Vec<String>,
) -> Result<(Vec<PlannedDecision>, Vec<StatementResult>), ServiceError> {
    let groups: Vec<i64> = open.iter().map(|f| f.group_id).collect();
    let aliases = store.group_identifiers(&groups).await?;
    let mut components: BTreeMap<i64, ReleaseComponent> = BTreeMap::new();
    for finding in open {
        components
            .entry(finding.component_id)
            .or_insert_with(|| ReleaseComponent {
                id: finding.component_id,
                name: finding.component_name.clone(),
                version: finding.component_version.clone(),
                purl: finding.component_purl.clone(),
                cpe: finding.component_cpe.clone(),
                bom_ref: None,
            });
    }
    let release = Release {
        identities,
        bom_serial_numbers,
        components: components.into_values().collect(),
        findings: open
            .iter()
            .map(|finding| ReleaseFinding {
                id: finding.finding_id,
                component_id: finding.component_id,
                vulnerability_ids: aliases
                    .get(&finding.group_id)
                    .cloned()
                    .unwrap_or_else(|| vec![finding.vuln_id.clone()]),
            })
            .collect(),
    };
    let matched = vex_match::match_document(document, &release);
    let by_id: HashMap<i64, &TriageFinding> = open.iter().map(|f| (f.finding_id, f)).collect();
    let mut planned: BTreeMap<(i64, String, Option<String>), PlannedDecision> = BTreeMap::new();
    for (finding_id, statement) in matched.decisions() {
        let Some(finding) = by_id.get(&finding_id) else {
            continue;
        };
        let key = component_key(finding.package_key.as_deref(), &finding.component_name);
        planned
            .entry((finding.group_id, key, finding.component_version.clone()))
            .or_insert_with(|| PlannedDecision {
                finding: (*finding).clone(),
                scope: DecisionScope::Release,
                range: None,
                disposition: document.statements[statement]
                    .disposition
                    .clone()
                    .normalized(),
            });
    }
    let statements = matched
        .statements
        .into_iter()
        .map(|statement| {
            let (outcome, reason, detail, findings) = match statement.outcome {
                Outcome::Applied { findings, .. } => ("applied", None, None, findings),
                Outcome::Skipped { reason, detail } => {
                    ("skipped", Some(reason.code()), Some(detail), Vec::new())
                }
                Outcome::Unmatched { detail } => ("unmatched", None, Some(detail), Vec::new()),
            };
            StatementResult {
                statement: statement.statement,
                vulnerability: statement.vulnerability,
                outcome,
                reason,
                detail,
                findings,
            }
        })
        .collect();
    Ok((planned.into_values().collect(), statements))
}
