//! A release: its findings (filters, sorts and pages of `services::findings`, with the match
//! evidence, KEV/EPSS badges and fixed versions), its SBOMs and the upload form; an SBOM's
//! components.

use askama::Template;
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use rampart_core::triage::DispositionState;
use rampart_core::{PageRequest, Scope};
use rampart_engine::services::dispositions::CurrentDecision;
use rampart_engine::services::findings::{self, FindingCriteria};
use rampart_engine::services::{products, sboms};
use rampart_engine::ServiceError;
use rampart_store::{FindingView, UNTRIAGED_STATE};

use super::triage_view::{TriageCell, TriageForm};
use super::{page_number, when, Pager};
use crate::state::AppState;
use crate::web::error::WebError;
use crate::web::form::{Fields, Query};
use crate::web::layout::{render, render_with_status, see_other, Layout};
use crate::web::session::SignedIn;

/// Findings per page.
pub const FINDINGS_PER_PAGE: u32 = 100;
const COMPONENTS_PER_PAGE: u32 = 100;
const SEVERITIES: [&str; 5] = ["critical", "high", "medium", "low", "none"];

/// The findings table's filters and sort as the query string gives them.
#[derive(Debug, Default, PartialEq)]
pub struct FindingsQuery {
    pub severities: Vec<String>,
    pub kev: bool,
    pub fixable: bool,
    pub new: bool,
    pub epss_min: Option<f64>,
    /// Triage states (`untriaged` for findings without a decision).
    pub states: Vec<String>,
    /// Also findings a decision suppresses.
    pub suppressed: bool,
    pub sort: String,
    pub page: u32,
}

impl FindingsQuery {
    pub fn from_fields(fields: &Fields) -> Result<Self, WebError> {
        Ok(FindingsQuery {
            severities: fields
                .all("severity")
                .into_iter()
                .map(str::to_lowercase)
                .collect(),
            kev: fields.checked("kev"),
            fixable: fields.checked("fixable"),
            new: fields.checked("new"),
            epss_min: fields.number("epss_min")?,
            states: fields
                .all("state")
                .into_iter()
                .map(str::to_lowercase)
                .collect(),
            suppressed: fields.checked("include_suppressed"),
            sort: fields.get("sort").unwrap_or("severity").to_string(),
            page: page_number(fields)?,
        })
    }

    /// The query parameters (without the page) that reproduce these filters.
    pub fn params(&self) -> Vec<(&'static str, String)> {
        let mut params: Vec<(&'static str, String)> = self
            .severities
            .iter()
            .map(|s| ("severity", s.clone()))
            .chain(self.states.iter().map(|s| ("state", s.clone())))
            .collect();
        for (name, on) in [
            ("kev", self.kev),
            ("fixable", self.fixable),
            ("new", self.new),
            ("include_suppressed", self.suppressed),
        ] {
            if on {
                params.push((name, "1".to_string()));
            }
        }
        if let Some(min) = self.epss_min {
            params.push(("epss_min", min.to_string()));
        }
        params.push(("sort", self.sort.clone()));
        params
    }

    /// Any filter set (the sort is not a filter).
    pub fn is_filtered(&self) -> bool {
        !self.severities.is_empty()
            || self.kev
            || self.fixable
            || self.new
            || self.epss_min.is_some()
            || !self.states.is_empty()
    }

    pub fn has_severity(&self, severity: &&str) -> bool {
        self.severities.iter().any(|s| s == severity)
    }

    pub fn has_state(&self, state: &&str) -> bool {
        self.states.iter().any(|s| s == state)
    }
}

/// One row of the findings table.
pub struct FindingRow {
    pub id: i64,
    /// The current decision; `None` when untriaged.
    pub triage: Option<TriageCell>,
    pub vuln_id: String,
    pub aliases: String,
    pub summary: String,
    pub severity: String,
    pub cvss: String,
    pub epss: Option<String>,
    pub kev: bool,
    /// A public exploit (Exploit Database) names one of its CVEs.
    pub exploit: bool,
    pub informational: Option<String>,
    pub component: String,
    pub purl: String,
    pub matched_by: String,
    pub identifier: String,
    pub detail: String,
    pub fixed: Vec<String>,
    pub is_new: bool,
    pub first_seen: String,
}

impl FindingRow {
    pub fn of(view: FindingView, aliases: Vec<String>, decision: Option<CurrentDecision>) -> Self {
        let fixed: Vec<String> = serde_json::from_str(&view.fixed_versions).unwrap_or_default();
        let aliases: Vec<String> = aliases.into_iter().filter(|a| *a != view.vuln_id).collect();
        FindingRow {
            id: view.id,
            triage: decision.as_ref().map(TriageCell::of),
            aliases: aliases.join(", "),
            summary: view.summary.unwrap_or_default(),
            severity: view.severity.unwrap_or_else(|| "unknown".to_string()),
            cvss: view.cvss.map_or("—".to_string(), |s| format!("{s:.1}")),
            epss: view.epss.map(|e| {
                let percentile = view.epss_percentile.map_or(String::new(), |p| {
                    format!(", top {:.0}%", (1.0 - p) * 100.0)
                });
                format!("{:.1}%{percentile}", e * 100.0)
            }),
            kev: view.in_kev,
            exploit: false,
            informational: view.informational,
            component: match view.component_version {
                Some(version) => format!("{}@{version}", view.component_name),
                None => view.component_name,
            },
            purl: view
                .component_purl
                .or(view.component_cpe)
                .unwrap_or_default(),
            matched_by: view.matched_by,
            identifier: view.identifier,
            detail: view.detail,
            fixed,
            is_new: view.is_new,
            first_seen: when(view.first_seen_at),
            vuln_id: view.vuln_id,
        }
    }
}

/// The rows of a page of findings, with the exploit badge of those whose CVEs Exploit
/// Database names (one knowledge-base look-up for the page).
async fn with_exploits(
    state: &AppState,
    items: Vec<rampart_engine::services::findings::FindingItem>,
) -> Result<Vec<FindingRow>, WebError> {
    let cves_of = |item: &rampart_engine::services::findings::FindingItem| -> Vec<String> {
        std::iter::once(&item.view.vuln_id)
            .chain(item.aliases.iter())
            .filter(|id| id.starts_with("CVE-"))
            .cloned()
            .collect()
    };
    let mut cves: Vec<String> = items.iter().flat_map(cves_of).collect();
    cves.sort();
    cves.dedup();
    let exploited: std::collections::HashSet<String> = if cves.is_empty() {
        Default::default()
    } else {
        let known = state.store.cve_enrichment(&cves).await?;
        known.exploits.into_iter().map(|e| e.cve_id).collect()
    };
    Ok(items
        .into_iter()
        .map(|item| {
            let exploit = cves_of(&item).iter().any(|cve| exploited.contains(cve));
            let mut row = FindingRow::of(item.view, item.aliases, item.decision);
            row.exploit = exploit;
            row
        })
        .collect())
}

pub struct SbomRow {
    pub id: i64,
    pub name: String,
    pub format: String,
    pub components: i64,
    pub uploaded: String,
    pub uploaded_by: String,
}

#[derive(Template)]
#[template(path = "release.html")]
struct ReleasePage {
    layout: Layout,
    id: i64,
    product_id: i64,
    product_name: String,
    version: String,
    status: String,
    query: FindingsQuery,
    severities: [&'static str; 5],
    triage_states: Vec<&'static str>,
    findings: Vec<FindingRow>,
    /// `None` for those who may not triage (no `dispositions:write`).
    triage: Option<TriageForm>,
    pager: Pager,
    sboms: Vec<SbomRow>,
    can_upload: bool,
}

/// `GET /releases/{id}`.
pub async fn show(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<i64>,
    Query(fields): Query,
) -> Result<Response, WebError> {
    let query = FindingsQuery::from_fields(&fields)?;
    release_page(
        &state,
        &user,
        id,
        query,
        TriageForm::new(None, None),
        StatusCode::OK,
    )
    .await
}

/// The release page with the findings `query` asks for and the triage form as given.
pub async fn release_page(
    state: &AppState,
    user: &SignedIn,
    id: i64,
    query: FindingsQuery,
    triage: TriageForm,
    status: StatusCode,
) -> Result<Response, WebError> {
    let release = products::get_release(state, &user.actor, id).await?;
    let product = products::get_product(state, &user.actor, release.product_id).await?;
    let severity = query.severities.join(",");
    let states = query.states.join(",");
    let criteria = FindingCriteria {
        severity: Some(severity.as_str()),
        kev: query.kev.then_some(true),
        epss_min: query.epss_min,
        fixable: query.fixable.then_some(true),
        new: query.new.then_some(true),
        sort: Some(query.sort.as_str()),
        sbom_id: None,
        include_suppressed: query.suppressed.then_some(true),
        state: Some(states.as_str()),
    };
    let request =
        PageRequest::from_query(Some(query.page), Some(FINDINGS_PER_PAGE), FINDINGS_PER_PAGE)
            .map_err(|error| WebError::bad_request(error.to_string()))?;
    let page =
        findings::release_vulnerabilities(state, &user.actor, id, criteria.resolve()?, request)
            .await?
            .into_items();
    let listed = sboms::list_sboms(state, &user.actor, id, PageRequest::FIRST_OF_LARGEST).await?;
    let page_view = ReleasePage {
        layout: user.layout(format!("{} {}", product.name, release.version), "portfolio"),
        pager: Pager::new(
            &format!("/releases/{id}"),
            &query.params(),
            query.page,
            FINDINGS_PER_PAGE,
            page.total,
        ),
        findings: with_exploits(state, page.items).await?,
        sboms: listed
            .items
            .into_iter()
            .map(|s| SbomRow {
                id: s.id,
                name: s.name.unwrap_or_else(|| format!("SBOM {}", s.id)),
                format: format!("{} {}", s.document_format, s.spec_version),
                components: s.component_count,
                uploaded: when(s.uploaded_at),
                uploaded_by: s.uploaded_by,
            })
            .collect(),
        id,
        product_id: product.id,
        product_name: product.name,
        version: release.version,
        status: release.status,
        query,
        severities: SEVERITIES,
        triage_states: std::iter::once(UNTRIAGED_STATE)
            .chain(DispositionState::ALL.map(DispositionState::as_str))
            .collect(),
        triage: user.can(Scope::DispositionsWrite).then_some(triage),
        can_upload: user.can(Scope::SbomsWrite),
    };
    Ok(render_with_status(status, &page_view))
}

/// `POST /releases/{id}/sboms` (multipart, field `document`): stores the SBOM, waits for its
/// analysis (as `?wait=true` does), then the release page.
pub async fn upload(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<i64>,
    mut multipart: Multipart,
) -> Result<Response, WebError> {
    let limit = state.config.max_sbom_bytes;
    let document = async move {
        let unreadable = |error: axum::extract::multipart::MultipartError| {
            if error.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                sboms::too_large(limit)
            } else {
                ServiceError::new(rampart_engine::ErrorCode::BadRequest, error.body_text())
            }
        };
        while let Some(field) = multipart.next_field().await.map_err(unreadable)? {
            if field.name() == Some("document") {
                return field.bytes().await.map_err(unreadable);
            }
        }
        Err(ServiceError::new(
            rampart_engine::ErrorCode::BadRequest,
            "choose an SBOM file to upload (form field `document`)",
        ))
    };
    let upload = sboms::SbomUpload {
        release_id: id,
        document,
        content_type: None,
        wait: true,
    };
    sboms::upload_sbom(&state, &user.actor, &user.origin, upload).await?;
    Ok(see_other(user.fragment, &format!("/releases/{id}")))
}

pub struct ComponentRow {
    pub name: String,
    pub version: String,
    pub purl: String,
    pub kind: String,
    pub licenses: String,
}

#[derive(Template)]
#[template(path = "components.html")]
struct ComponentsPage {
    layout: Layout,
    sbom_id: i64,
    sbom_name: String,
    release_id: i64,
    search: String,
    components: Vec<ComponentRow>,
    pager: Pager,
}

/// `GET /sboms/{id}`: the SBOM's components, searchable.
pub async fn components(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<i64>,
    Query(fields): Query,
) -> Result<Response, WebError> {
    let page = page_number(&fields)?;
    let search = fields.get("q").unwrap_or("").to_string();
    let sbom = sboms::get_sbom(&state, &user.actor, id).await?;
    let request =
        PageRequest::from_query(Some(page), Some(COMPONENTS_PER_PAGE), COMPONENTS_PER_PAGE)
            .map_err(|error| WebError::bad_request(error.to_string()))?;
    let listed = sboms::list_components(
        &state,
        &user.actor,
        id,
        Some(search.as_str()).filter(|s| !s.is_empty()),
        request,
    )
    .await?;
    let sbom_name = sbom.name.unwrap_or_else(|| format!("SBOM {id}"));
    Ok(render(&ComponentsPage {
        layout: user.layout(format!("Components of {sbom_name}"), "portfolio"),
        pager: Pager::new(
            &format!("/sboms/{id}"),
            &[("q", search.clone())],
            page,
            COMPONENTS_PER_PAGE,
            listed.total,
        ),
        components: listed
            .items
            .into_iter()
            .map(|c| ComponentRow {
                name: match c.group_name {
                    Some(group) => format!("{group}/{}", c.name),
                    None => c.name,
                },
                version: c.version.unwrap_or_default(),
                purl: c.purl.or(c.cpe).unwrap_or_default(),
                kind: c.component_type.unwrap_or_default(),
                licenses: license_names(&c.licenses),
            })
            .collect(),
        sbom_id: id,
        sbom_name,
        release_id: sbom.release_id,
        search,
    }))
}

/// `[{"id": "MIT"}, {"expression": "…"}]` as `MIT, …`.
fn license_names(json: &str) -> String {
    let licenses: Vec<serde_json::Value> = serde_json::from_str(json).unwrap_or_default();
    licenses
        .iter()
        .filter_map(|l| {
            ["id", "expression", "name"]
                .iter()
                .find_map(|k| l[k].as_str())
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_findings_query_reads_and_reproduces_its_filters() {
        let fields =
            Fields::parse(b"severity=High&severity=critical&kev=1&epss_min=0.5&sort=epss&page=3");
        let query = FindingsQuery::from_fields(&fields).unwrap();
        assert_eq!(query.severities, ["high", "critical"]);
        assert!(query.kev && !query.fixable && !query.new);
        assert_eq!(query.epss_min, Some(0.5));
        assert_eq!((query.sort.as_str(), query.page), ("epss", 3));
        assert!(query.has_severity(&"high") && !query.has_severity(&"low"));
        assert!(query.is_filtered());
        let params: Vec<String> = query
            .params()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        assert_eq!(
            params,
            [
                "severity=high",
                "severity=critical",
                "kev=1",
                "epss_min=0.5",
                "sort=epss"
            ]
        );
        let default = FindingsQuery::from_fields(&Fields::default()).unwrap();
        assert_eq!((default.sort.as_str(), default.page), ("severity", 1));
        assert!(!default.is_filtered());
        assert!(FindingsQuery::from_fields(&Fields::parse(b"epss_min=lots")).is_err());
        let triage =
            FindingsQuery::from_fields(&Fields::parse(b"state=Untriaged&include_suppressed=1"))
                .unwrap();
        assert!(triage.has_state(&"untriaged") && triage.suppressed && triage.is_filtered());
        let params: Vec<String> = triage
            .params()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        assert_eq!(
            params,
            ["state=untriaged", "include_suppressed=1", "sort=severity"]
        );
    }

    #[test]
    fn licenses_are_named_by_id_expression_or_name() {
        let json = r#"[{"id":"MIT"},{"expression":"Apache-2.0 OR MIT"},{"name":"Custom"},{}]"#;
        assert_eq!(license_names(json), "MIT, Apache-2.0 OR MIT, Custom");
        assert_eq!(license_names("not json"), "");
    }
}
