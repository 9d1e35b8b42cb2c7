//! SBOMs of a release, for `/api/v1/releases/{id}/sboms` and `/api/v1/sboms/{id}`: an
//! upload is detected from its content, parsed, stored verbatim with its components and
//! dependency graph, and queues an analysis; nothing is stored when the document is rejected.

use std::future::Future;

use bytes::Bytes;
use rampart_core::{PageRequest, Scope};
use rampart_formats::sbom::{self, DocumentFormat, Sbom};
use rampart_store::{
    Analysis, AnalysisStatus, ComponentPackage, FindingFilter, FindingSort, NewSbom, Page,
    SbomRecord, StoredComponent,
};
use sha2::{Digest, Sha256};

use crate::actor::{Actor, RequestOrigin};
use crate::analysis::component_packages;
use crate::error::{ErrorCode, ServiceError};
use crate::services::analyses::wait_for_analysis;
use crate::services::findings::{finding_page, FindingPage};
use crate::Engine;

/// Most findings an upload with `?wait=true` returns inline.
const WAIT_FINDINGS_LIMIT: i64 = rampart_core::MAX_PER_PAGE as i64;

/// The name the API gives a document format.
pub fn document_format_name(format: DocumentFormat) -> &'static str {
    match format {
        DocumentFormat::CycloneDxJson => "cyclonedx_json",
        DocumentFormat::CycloneDxXml => "cyclonedx_xml",
        DocumentFormat::SpdxJson => "spdx_json",
        DocumentFormat::SpdxTagValue => "spdx_tag_value",
    }
}

/// The registered media type, for uploads that came without a content type.
pub fn default_content_type(format: DocumentFormat) -> &'static str {
    match format {
        DocumentFormat::CycloneDxJson => "application/vnd.cyclonedx+json",
        DocumentFormat::CycloneDxXml => "application/vnd.cyclonedx+xml",
        DocumentFormat::SpdxJson => "application/spdx+json",
        DocumentFormat::SpdxTagValue => "text/spdx",
    }
}

/// The file name extension of a stored document format (for downloads).
pub fn file_extension(document_format: &str) -> &'static str {
    match document_format {
        "cyclonedx_json" => "cdx.json",
        "cyclonedx_xml" => "cdx.xml",
        "spdx_json" => "spdx.json",
        _ => "spdx",
    }
}

/// 413 for an SBOM over the configured upload limit.
pub fn too_large(limit: usize) -> ServiceError {
    ServiceError::new(
        ErrorCode::PayloadTooLarge,
        format!("the SBOM exceeds the upload limit of {limit} bytes"),
    )
}

struct Parsed {
    format: DocumentFormat,
    sbom: Sbom,
    sha256: String,
    /// [`crate::analysis::UnmatchedComponents`] as JSON.
    unmatched_json: String,
    /// The package each component's purl names, stored with it.
    packages: Vec<Option<ComponentPackage>>,
}

/// Detects, parses, hashes and notes the components without a package, off the async
/// threads: a large document is seconds of CPU.
async fn parse_document(bytes: Bytes, cpe_matching: bool) -> Result<(Bytes, Parsed), ServiceError> {
    tokio::task::spawn_blocking(move || {
        let Some(format) = sbom::detect(&bytes) else {
            return Err(ServiceError::new(
                ErrorCode::NotAnSbom,
                "not a supported SBOM: expected CycloneDX (JSON or XML) or SPDX (JSON or tag-value)",
            ));
        };
        let parsed = sbom::parse(&bytes).map_err(|error| {
            ServiceError::new(ErrorCode::InvalidSbom, format!("invalid SBOM: {error}"))
        })?;
        let sha256 = hex::encode(Sha256::digest(&bytes));
        let (packages, unmatched) = component_packages(
            parsed.components.iter().map(|c| {
                (
                    c.name.as_str(),
                    c.version.as_deref(),
                    c.purl.as_deref(),
                    c.cpe.as_deref(),
                )
            }),
            cpe_matching,
        );
        let unmatched_json = serde_json::to_string(&unmatched).map_err(ServiceError::internal)?;
        Ok((
            bytes,
            Parsed {
                format,
                sbom: parsed,
                sha256,
                unmatched_json,
                packages,
            },
        ))
    })
    .await
    .map_err(ServiceError::internal)?
}

/// An upload as the caller sent it.
pub struct SbomUpload<'a, R> {
    pub release_id: i64,
    /// Reads the document; only once the release is known to be the caller's, so an upload
    /// to a release that is not theirs is refused before its body is read.
    pub document: R,
    /// The content type it came with (kept for download); the format's registered type when
    /// absent or blank.
    pub content_type: Option<&'a str>,
    /// Wait (up to the configured time) for the analysis to finish.
    pub wait: bool,
}

/// What an upload stored and queued.
pub struct UploadOutcome {
    pub sbom: SbomRecord,
    /// The queued analysis; finished already when the caller waited and it completed in time.
    pub analysis: Analysis,
    /// When the caller waited and the analysis completed with at most 500 findings: the
    /// SBOM's findings, most severe first.
    pub findings: Option<FindingPage>,
}

/// Stores an SBOM in a release of the team (`sboms:write`) and queues its analysis; audited
/// as `sbom.upload`.
pub async fn upload_sbom<R>(
    engine: &Engine,
    actor: &Actor,
    origin: &RequestOrigin,
    upload: SbomUpload<'_, R>,
) -> Result<UploadOutcome, ServiceError>
where
    R: Future<Output = Result<Bytes, ServiceError>>,
{
    actor.require(Scope::SbomsWrite)?;
    let release_id = upload.release_id;
    engine
        .store
        .release(actor.tenant(), release_id)
        .await?
        .ok_or_else(|| ServiceError::not_found("release"))?;
    let bytes = upload.document.await?;
    let cpe_matching = engine
        .store
        .release_cpe_matching(actor.team_id, release_id)
        .await?;
    let (bytes, parsed) = parse_document(bytes, cpe_matching).await?;
    let content_type = upload
        .content_type
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .unwrap_or(default_content_type(parsed.format));
    let new = NewSbom {
        release_id,
        document_format: document_format_name(parsed.format),
        content_type,
        content: &bytes,
        sha256: &parsed.sha256,
        uploaded_by_user_id: actor.user_id,
        uploaded_by: &actor.user_email,
        sbom: &parsed.sbom,
        unmatched_components: Some(&parsed.unmatched_json),
        packages: &parsed.packages,
    };
    let event = actor
        .audit(origin, "sbom.upload")
        .details(serde_json::json!({ "release_id": release_id, "sha256": parsed.sha256 }));
    let (record, mut analysis) = engine
        .store
        .create_sbom(actor.tenant(), &new, &event)
        .await?
        .ok_or_else(|| ServiceError::not_found("release"))?;
    engine.analysis_queued.notify_one();
    // Freeing a large document's parse takes a while: not on this thread, where the woken
    // worker waits its turn.
    tokio::task::spawn_blocking(move || drop(parsed));
    let mut findings = None;
    if upload.wait {
        analysis = wait_for_analysis(engine, actor.team_id, analysis).await?;
        if analysis.status == AnalysisStatus::Completed
            && analysis.findings_count.unwrap_or(0) <= WAIT_FINDINGS_LIMIT
        {
            let filter = FindingFilter {
                sbom_id: Some(record.id),
                ..Default::default()
            };
            let page = finding_page(
                engine,
                actor.team_id,
                record.release_id,
                &filter,
                FindingSort::Severity,
                PageRequest::FIRST_OF_LARGEST,
            )
            .await?;
            findings = Some(page);
        }
    }
    Ok(UploadOutcome {
        sbom: record,
        analysis,
        findings,
    })
}

/// One page of a release's SBOMs, newest first (`sboms:read`).
pub async fn list_sboms(
    engine: &Engine,
    actor: &Actor,
    release_id: i64,
    page: PageRequest,
) -> Result<Page<SbomRecord>, ServiceError> {
    actor.require(Scope::SbomsRead)?;
    engine
        .store
        .list_sboms(actor.tenant(), release_id, page)
        .await?
        .ok_or_else(|| ServiceError::not_found("release"))
}

/// An SBOM's metadata (`sboms:read`).
pub async fn get_sbom(engine: &Engine, actor: &Actor, id: i64) -> Result<SbomRecord, ServiceError> {
    actor.require(Scope::SbomsRead)?;
    engine
        .store
        .sbom(actor.tenant(), id)
        .await?
        .ok_or_else(|| ServiceError::not_found("SBOM"))
}

/// An uploaded document: the same bytes with the content type they came with.
pub struct SbomDocument {
    pub sbom: SbomRecord,
    pub content_type: String,
    pub content: Vec<u8>,
}

/// The document as uploaded (`sboms:read`).
pub async fn sbom_document(
    engine: &Engine,
    actor: &Actor,
    id: i64,
) -> Result<SbomDocument, ServiceError> {
    let sbom = get_sbom(engine, actor, id).await?;
    let (content_type, content) = engine
        .store
        .sbom_document(actor.team_id, id)
        .await?
        .ok_or_else(|| ServiceError::not_found("SBOM"))?;
    Ok(SbomDocument {
        sbom,
        content_type,
        content,
    })
}

/// One page of an SBOM's components in document order, optionally only those whose name,
/// version or purl contains `search` (`sboms:read`).
pub async fn list_components(
    engine: &Engine,
    actor: &Actor,
    id: i64,
    search: Option<&str>,
    page: PageRequest,
) -> Result<Page<StoredComponent>, ServiceError> {
    actor.require(Scope::SbomsRead)?;
    engine
        .store
        .list_sbom_components(actor.tenant(), id, search, page)
        .await?
        .ok_or_else(|| ServiceError::not_found("SBOM"))
}

/// Deletes an SBOM with its components and analyses (`sboms:write`).
pub async fn delete_sbom(
    engine: &Engine,
    actor: &Actor,
    origin: &RequestOrigin,
    id: i64,
) -> Result<(), ServiceError> {
    actor.require(Scope::SbomsWrite)?;
    let event = actor.audit(origin, "sbom.delete");
    if engine.store.delete_sbom(actor.tenant(), id, &event).await? {
        Ok(())
    } else {
        Err(ServiceError::not_found("SBOM"))
    }
}
