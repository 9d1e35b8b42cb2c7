//! The compliance posture per framework (as `GET /api/v1/compliance/posture` measures it;
//! `compliance:read`): score and counts, the gap analysis with links to the objects causing
//! each gap, every control with its status and evidence, report downloads, the framework's
//! attestations with their evidence files, and the forms to attest a control (with an
//! evidence file), attach or replace a file, withdraw an attestation and record an access
//! review (`teams:manage`).

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{NaiveDate, Utc};
use rampart_core::Scope;
use rampart_engine::error::{ErrorCode, ServiceError};
use rampart_engine::services::compliance::{
    self, AccessReviewRequest, AttestationRequest, MAX_EVIDENCE_BYTES,
};
use rampart_engine::services::compliance_catalogue::catalogues;

use crate::state::AppState;
use crate::web::error::WebError;
use crate::web::form::{Form, Query};
use crate::web::layout::{render, see_other, Layout};
use crate::web::session::SignedIn;

pub struct GapRow {
    pub kind: String,
    pub label: String,
    /// The dashboard page of the object, else its API resource.
    pub link: String,
    pub reason: String,
    pub remediation: String,
}

pub struct GapSection {
    pub title: String,
    pub status: String,
    pub summary: String,
    pub controls: String,
    pub items: Vec<GapRow>,
    pub more: i64,
}

pub struct ControlRow {
    pub id: String,
    pub title: String,
    pub status: String,
    pub evidence: Vec<String>,
}

pub struct AttestationRow {
    pub id: i64,
    pub control_id: String,
    pub status: String,
    pub owner: String,
    pub statement: String,
    pub expires_on: String,
    /// `current`, `expired` or `withdrawn`.
    pub state: String,
    /// (name, size, SHA-256 prefix, download link)
    pub evidence: Option<(String, i64, String, String)>,
}

#[derive(Template)]
#[template(path = "compliance.html")]
struct CompliancePage {
    layout: Layout,
    frameworks: Vec<(String, String, bool)>,
    framework: String,
    name: String,
    score: String,
    counts: String,
    snapshot: String,
    gaps: Vec<GapSection>,
    controls: Vec<ControlRow>,
    attestations: Vec<AttestationRow>,
    product_query: String,
    can_manage: bool,
    max_evidence_mib: usize,
}

/// The dashboard page of an object an API link names, when there is one.
fn dashboard_link(api: &str) -> String {
    let parts: Vec<&str> = api.trim_start_matches('/').split('/').collect();
    match parts.as_slice() {
        ["api", "v1", "releases", id, ..] => format!("/releases/{id}"),
        ["api", "v1", "sboms", id, ..] => format!("/sboms/{id}"),
        ["api", "v1", "api-keys", ..] => "/settings/api-keys".into(),
        ["api", "v1", "security", "cve", "sync-sources", id] => format!("/sync-sources/{id}"),
        ["api", "v1", "security", "cve", "sync-sources"] => "/sync-sources".into(),
        ["api", "v1", "teams", ..] | ["api", "v1", "compliance", "access-reviews"] => {
            "/settings/members".into()
        }
        ["api", "v1", "audit-log", ..] => "/audit".into(),
        ["api", "v1", "incidents", id] => format!("/incidents/{id}"),
        ["api", "v1", "webhooks", id] => format!("/webhooks/{id}"),
        ["api", "v1", "integrations", id] => format!("/integrations/{id}"),
        _ => api.to_string(),
    }
}

/// `GET /compliance?framework=&product=`.
pub async fn show(
    State(state): State<AppState>,
    user: SignedIn,
    Query(fields): Query,
) -> Result<Response, WebError> {
    user.actor.require(Scope::ComplianceRead)?;
    let framework = fields.get("framework").unwrap_or("soc2");
    let frameworks = compliance::parse_frameworks(Some(framework))?;
    let framework = frameworks
        .first()
        .cloned()
        .unwrap_or_else(|| "soc2".to_string());
    let product = fields.number::<i64>("product")?;
    let posture = compliance::posture(
        &state,
        &user.actor,
        std::slice::from_ref(&framework),
        product,
    )
    .await?;
    let section = posture
        .framework(&framework)
        .ok_or_else(|| WebError::bad_request("unknown framework"))?;
    let product_query = product.map(|p| format!("&product={p}")).unwrap_or_default();
    let attestations = compliance::list_attestations(&state, &user.actor)
        .await?
        .into_iter()
        .filter(|a| a.framework == framework)
        .map(|a| AttestationRow {
            state: if a.withdrawn_at.is_some() {
                "withdrawn"
            } else if a.current {
                "current"
            } else {
                "expired"
            }
            .to_string(),
            evidence: a
                .evidence
                .map(|e| (e.name, e.size, e.sha256[..12].to_string(), e.link)),
            id: a.id,
            control_id: a.control_id,
            status: a.status,
            owner: a.owner,
            statement: a.statement,
            expires_on: a.expires_at.format("%Y-%m-%d").to_string(),
        })
        .collect();
    let c = &section.counts;
    Ok(render(&CompliancePage {
        layout: user.layout("Compliance", "compliance"),
        frameworks: catalogues()
            .frameworks
            .iter()
            .map(|f| {
                (
                    f.framework.id.clone(),
                    f.framework.name.clone(),
                    f.framework.id == framework,
                )
            })
            .collect(),
        name: section.name.clone(),
        score: section
            .score
            .map(|s| format!("{s}%"))
            .unwrap_or_else(|| "n/a".into()),
        counts: format!(
            "{} met, {} partial, {} gap, {} not applicable, {} manual of {} controls",
            c.met, c.partial, c.gap, c.not_applicable, c.manual, c.total
        ),
        snapshot: posture
            .snapshot
            .as_ref()
            .map(|s| format!("snapshot #{} ({})", s.id, &s.sha256[..12]))
            .unwrap_or_default(),
        gaps: section
            .gaps
            .iter()
            .map(|g| GapSection {
                title: g.title.clone(),
                status: g.status.as_str().to_string(),
                summary: g.summary.clone(),
                controls: g.controls.join(", "),
                more: g.items_total - g.items.len() as i64,
                items: g
                    .items
                    .iter()
                    .map(|i| GapRow {
                        kind: i.kind.clone(),
                        label: i.label.clone(),
                        link: dashboard_link(&i.link),
                        reason: i.reason.clone(),
                        remediation: i.remediation.clone(),
                    })
                    .collect(),
            })
            .collect(),
        controls: section
            .controls
            .iter()
            .map(|control| {
                let mut evidence: Vec<String> = control
                    .evidence
                    .iter()
                    .map(|e| format!("{} ({}): {}", e.check, e.status.as_str(), e.summary))
                    .collect();
                if let Some(a) = &control.attestation {
                    evidence.push(format!(
                        "Attested by {} until {}{}: {}",
                        a.owner,
                        a.expires_at.format("%Y-%m-%d"),
                        if a.current { "" } else { " (expired)" },
                        a.statement
                    ));
                }
                ControlRow {
                    id: control.id.clone(),
                    title: control.title.clone(),
                    status: control.status.as_str().to_string(),
                    evidence,
                }
            })
            .collect(),
        attestations,
        framework,
        product_query,
        can_manage: user.can(Scope::TeamsManage),
        max_evidence_mib: MAX_EVIDENCE_BYTES / (1024 * 1024),
    }))
}

/// An evidence file from a multipart form: (name, content type, bytes).
struct EvidenceFile {
    name: Option<String>,
    content_type: Option<String>,
    bytes: Vec<u8>,
}

/// The text fields and the `evidence` file (when one was chosen) of a multipart form.
async fn read_form(
    mut multipart: Multipart,
) -> Result<(HashMap<String, String>, Option<EvidenceFile>), ServiceError> {
    let unreadable = |error: axum::extract::multipart::MultipartError| {
        if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large()
        } else {
            ServiceError::new(ErrorCode::BadRequest, error.body_text())
        }
    };
    let mut fields = HashMap::new();
    let mut file = None;
    while let Some(field) = multipart.next_field().await.map_err(unreadable)? {
        let Some(name) = field.name().map(str::to_string) else {
            continue;
        };
        if name == "evidence" {
            let file_name = field.file_name().map(str::to_string);
            let content_type = field.content_type().map(str::to_string);
            let bytes = field.bytes().await.map_err(unreadable)?;
            if bytes.len() > MAX_EVIDENCE_BYTES {
                return Err(too_large());
            }
            // A file input left empty still sends a part, nameless and empty.
            if !bytes.is_empty() || file_name.as_deref().is_some_and(|n| !n.is_empty()) {
                file = Some(EvidenceFile {
                    name: file_name,
                    content_type,
                    bytes: bytes.to_vec(),
                });
            }
        } else {
            let value = field.text().await.map_err(unreadable)?;
            fields.insert(name, value.trim().to_string());
        }
    }
    Ok((fields, file))
}

fn too_large() -> ServiceError {
    ServiceError::new(
        ErrorCode::PayloadTooLarge,
        format!("the evidence file exceeds {MAX_EVIDENCE_BYTES} bytes"),
    )
}

/// The file name a browser sent, without any directory part.
fn base_name(name: Option<&str>) -> Option<String> {
    name.map(|n| n.rsplit(['/', '\\']).next().unwrap_or(n).trim().to_string())
        .filter(|n| !n.is_empty())
}

/// `POST /compliance/attestations` (multipart: `framework`, `control_id`, `status`, `owner`,
/// `statement`, `expires_on`, optional file `evidence`): attests a control until a date and
/// attaches the file. The file is checked before the attestation is made (an empty or too
/// large file refuses both).
pub async fn attest(
    State(state): State<AppState>,
    user: SignedIn,
    multipart: Multipart,
) -> Result<Response, WebError> {
    user.actor.require(Scope::TeamsManage)?;
    let (form, file) = read_form(multipart).await?;
    let field = |name: &str| form.get(name).filter(|v| !v.is_empty()).cloned();
    if file.as_ref().is_some_and(|f| f.bytes.is_empty()) {
        return Err(ServiceError::invalid("the evidence file is empty").into());
    }
    let framework = field("framework").unwrap_or_default();
    let expires_at = match field("expires_on") {
        Some(day) => Some(
            NaiveDate::parse_from_str(&day, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(23, 59, 59))
                .map(|t| t.and_utc())
                .ok_or_else(|| WebError::bad_request("`expires_on` must be a date (YYYY-MM-DD)"))?,
        ),
        None => None,
    };
    let request = AttestationRequest {
        framework: Some(framework.clone()),
        control_id: field("control_id"),
        status: field("status"),
        owner: field("owner"),
        statement: field("statement"),
        expires_at: expires_at.filter(|at| *at > Utc::now() - chrono::Duration::days(36500)),
    };
    let created = compliance::attest(&state, &user.actor, &user.origin, request).await?;
    if let Some(file) = file {
        compliance::upload_evidence(
            &state,
            &user.actor,
            &user.origin,
            created.id,
            base_name(file.name.as_deref()).as_deref(),
            file.content_type.as_deref(),
            &file.bytes,
        )
        .await?;
    }
    Ok(see_other(
        user.fragment,
        &format!(
            "/compliance?framework={}#attestations-heading",
            url_part(&framework)
        ),
    ))
}

/// `POST /compliance/attestations/{id}/evidence` (multipart, file `evidence`): attaches or
/// replaces the attestation's evidence file.
pub async fn attach_evidence(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<i64>,
    multipart: Multipart,
) -> Result<Response, WebError> {
    user.actor.require(Scope::TeamsManage)?;
    let (_, file) = read_form(multipart).await?;
    let file = file.ok_or_else(|| {
        ServiceError::invalid("choose an evidence file to attach (form field `evidence`)")
    })?;
    let attestation = compliance::upload_evidence(
        &state,
        &user.actor,
        &user.origin,
        id,
        base_name(file.name.as_deref()).as_deref(),
        file.content_type.as_deref(),
        &file.bytes,
    )
    .await?;
    Ok(see_other(
        user.fragment,
        &format!(
            "/compliance?framework={}#attestations-heading",
            url_part(&attestation.framework)
        ),
    ))
}

/// `POST /compliance/attestations/{id}/withdraw`: withdraws the attestation (kept, no longer
/// counted).
pub async fn withdraw(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let attestation =
        compliance::withdraw_attestation(&state, &user.actor, &user.origin, id).await?;
    Ok(see_other(
        user.fragment,
        &format!(
            "/compliance?framework={}#attestations-heading",
            url_part(&attestation.framework)
        ),
    ))
}

/// `POST /compliance/access-reviews`: records a review of the current members.
pub async fn review_access(
    State(state): State<AppState>,
    user: SignedIn,
    Form(form): Form,
) -> Result<Response, WebError> {
    let request = AccessReviewRequest {
        note: form.get("note").map(str::to_string),
    };
    compliance::record_access_review(&state, &user.actor, &user.origin, request).await?;
    Ok(see_other(user.fragment, "/compliance"))
}

fn url_part(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::dashboard_link;

    #[test]
    fn api_links_become_dashboard_pages() {
        assert_eq!(
            dashboard_link("/api/v1/releases/7/vulnerabilities"),
            "/releases/7"
        );
        assert_eq!(dashboard_link("/api/v1/sboms/3/components"), "/sboms/3");
        assert_eq!(dashboard_link("/api/v1/api-keys"), "/settings/api-keys");
        assert_eq!(
            dashboard_link("/api/v1/security/cve/sync-sources/nvd"),
            "/sync-sources/nvd"
        );
        assert_eq!(dashboard_link("/api/v1/incidents/4"), "/incidents/4");
        assert_eq!(dashboard_link("/api/v1/webhooks/2"), "/webhooks/2");
        assert_eq!(
            dashboard_link("/api/v1/compliance/attestations"),
            "/api/v1/compliance/attestations"
        );
    }
}
