//! The compliance posture per framework (as `GET /api/v1/compliance/posture` measures it;
//! `compliance:read`): score and counts, the gap analysis with links to the objects causing
//! each gap, every control with its status and evidence, report downloads, and the forms to
//! attest a control and to record an access review (`teams:manage`).

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use chrono::{NaiveDate, Utc};
use rampart_core::Scope;
use rampart_engine::services::compliance::{self, AccessReviewRequest, AttestationRequest};
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
    product_query: String,
    can_manage: bool,
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
        framework,
        product_query,
        can_manage: user.can(Scope::TeamsManage),
    }))
}

/// `POST /compliance/attestations`: attests a control until a date.
pub async fn attest(
    State(state): State<AppState>,
    user: SignedIn,
    Form(form): Form,
) -> Result<Response, WebError> {
    let framework = form.get("framework").unwrap_or("").to_string();
    let expires_at = match form.get("expires_on") {
        Some(day) => Some(
            NaiveDate::parse_from_str(day, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(23, 59, 59))
                .map(|t| t.and_utc())
                .ok_or_else(|| WebError::bad_request("`expires_on` must be a date (YYYY-MM-DD)"))?,
        ),
        None => None,
    };
    let request = AttestationRequest {
        framework: Some(framework.clone()),
        control_id: form.get("control_id").map(str::to_string),
        status: form.get("status").map(str::to_string),
        owner: form.get("owner").map(str::to_string),
        statement: form.get("statement").map(str::to_string),
        expires_at: expires_at.filter(|at| *at > Utc::now() - chrono::Duration::days(36500)),
    };
    compliance::attest(&state, &user.actor, &user.origin, request).await?;
    Ok(see_other(
        user.fragment,
        &format!("/compliance?framework={}", url_part(&framework)),
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
        assert_eq!(dashboard_link("/api/v1/incidents/4"), "/api/v1/incidents/4");
    }
}
