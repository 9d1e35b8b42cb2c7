//! Product/vendor CVE alerts (watches): the list with the plan's limit, making a watch on a
//! vendor, a vendor's product or a package with its conditions (min CVSS, min EPSS, KEV only),
//! editing its conditions, pausing and deleting it, and a watch's matches with the e-mail
//! and webhook deliveries of each. The rules are `services::alerts`.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use rampart_core::{PageRequest, Scope};
use rampart_engine::services::alerts::{self, AlertMatchView, CreateAlert, UpdateAlert};
use rampart_engine::{ErrorCode, ServiceError};
use rampart_store::AlertWatch;

use super::{maybe_when, page_number, when, Pager};
use crate::state::AppState;
use crate::web::error::WebError;
use crate::web::form::{Fields, Form, Query};
use crate::web::layout::{render_with_status, see_other, Layout};
use crate::web::session::SignedIn;

const PER_PAGE: u32 = 100;
const MATCHES_PER_PAGE: u32 = 50;
const KINDS: [&str; 3] = ["vendor", "product", "package"];

pub struct WatchRow {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub target: String,
    pub conditions: String,
    pub min_cvss: String,
    pub min_epss: String,
    pub kev_only: bool,
    pub enabled: bool,
    pub created: String,
    pub created_by: String,
    pub test: bool,
}

impl WatchRow {
    fn of(w: &AlertWatch) -> Self {
        let target = match w.kind.as_str() {
            "vendor" => format!("vendor {}", w.vendor.clone().unwrap_or_default()),
            "product" => format!(
                "{} {}",
                w.vendor.clone().unwrap_or_default(),
                w.product.clone().unwrap_or_default()
            ),
            _ => match (&w.purl, &w.ecosystem, &w.package_name) {
                (Some(purl), _, _) => purl.clone(),
                (None, Some(ecosystem), Some(name)) => format!("{ecosystem}/{name}"),
                _ => w.package_key.clone().unwrap_or_default(),
            },
        };
        let mut conditions = Vec::new();
        if let Some(cvss) = w.min_cvss {
            conditions.push(format!("CVSS ≥ {cvss}"));
        }
        if let Some(epss) = w.min_epss {
            conditions.push(format!("EPSS ≥ {epss}"));
        }
        if w.kev_only {
            conditions.push("KEV only".to_string());
        }
        WatchRow {
            id: w.id,
            name: w.name.clone(),
            kind: w.kind.clone(),
            target,
            conditions: if conditions.is_empty() {
                "any record".to_string()
            } else {
                conditions.join(", ")
            },
            min_cvss: w.min_cvss.map(|v| v.to_string()).unwrap_or_default(),
            min_epss: w.min_epss.map(|v| v.to_string()).unwrap_or_default(),
            kev_only: w.kev_only,
            enabled: w.enabled,
            created: when(w.created_at),
            created_by: w.created_by.clone(),
            test: w.is_test,
        }
    }

    pub fn state(&self) -> &'static str {
        if self.enabled {
            "enabled"
        } else {
            "paused"
        }
    }
}

/// The new-watch form as entered (kept when refused).
pub struct WatchForm {
    pub name: String,
    pub kind: String,
    pub vendor: String,
    pub product: String,
    pub ecosystem: String,
    pub package: String,
    pub purl: String,
    pub min_cvss: String,
    pub min_epss: String,
    pub kev_only: bool,
}

impl Default for WatchForm {
    fn default() -> Self {
        WatchForm {
            kind: "vendor".to_string(),
            name: String::new(),
            vendor: String::new(),
            product: String::new(),
            ecosystem: String::new(),
            package: String::new(),
            purl: String::new(),
            min_cvss: String::new(),
            min_epss: String::new(),
            kev_only: false,
        }
    }
}

impl WatchForm {
    fn entered(fields: &Fields) -> Self {
        let text = |name: &str| fields.get(name).unwrap_or("").to_string();
        WatchForm {
            name: text("name"),
            kind: fields.get("kind").unwrap_or("vendor").to_string(),
            vendor: text("vendor"),
            product: text("product"),
            ecosystem: text("ecosystem"),
            package: text("package"),
            purl: text("purl"),
            min_cvss: text("min_cvss"),
            min_epss: text("min_epss"),
            kev_only: fields.checked("kev_only"),
        }
    }

    /// The service's request: only the fields of the chosen kind (the others may hold what
    /// was typed before switching).
    fn request(&self, fields: &Fields) -> Result<CreateAlert, WebError> {
        let some = |text: &str| Some(text.to_string()).filter(|t| !t.is_empty());
        let (vendor, product, ecosystem, package, purl) = match self.kind.as_str() {
            // Sent as typed, blank included: the service names a missing vendor or product.
            "vendor" => (Some(self.vendor.clone()), None, None, None, None),
            "product" => (
                Some(self.vendor.clone()),
                Some(self.product.clone()),
                None,
                None,
                None,
            ),
            "package" => (
                None,
                None,
                some(&self.ecosystem),
                some(&self.package),
                some(&self.purl),
            ),
            _ => {
                return Err(WebError::bad_request(
                    "`kind` must be vendor, product or package",
                ))
            }
        };
        Ok(CreateAlert {
            name: some(&self.name),
            vendor,
            product,
            ecosystem,
            package,
            purl,
            min_cvss: fields.number("min_cvss")?,
            min_epss: fields.number("min_epss")?,
            kev_only: self.kev_only,
            enabled: Some(true),
        })
    }
}

fn refused_on_form(error: &ServiceError) -> bool {
    matches!(
        error.code(),
        ErrorCode::ValidationFailed
            | ErrorCode::Conflict
            | ErrorCode::BadRequest
            | ErrorCode::QuotaExceeded
            | ErrorCode::UpgradeRequired
    )
}

fn one_page(per_page: u32, page: u32) -> Result<PageRequest, WebError> {
    PageRequest::from_query(Some(page), Some(per_page), per_page)
        .map_err(|error| WebError::bad_request(error.to_string()))
}

#[derive(Template)]
#[template(path = "alerts.html")]
struct ListPage {
    layout: Layout,
    watches: Vec<WatchRow>,
    pager: Pager,
    used: i64,
    limit: i64,
    kinds: [&'static str; 3],
    form: WatchForm,
    error: Option<String>,
    can_write: bool,
}

async fn list_page(
    state: &AppState,
    user: &SignedIn,
    page: u32,
    (form, error): (WatchForm, Option<String>),
    status: StatusCode,
) -> Result<Response, WebError> {
    let (watches, usage) = alerts::list(state, &user.actor, one_page(PER_PAGE, page)?).await?;
    Ok(render_with_status(
        status,
        &ListPage {
            layout: user.layout("Alerts", "alerts"),
            watches: watches.items.iter().map(WatchRow::of).collect(),
            pager: Pager::new("/alerts", &[], page, PER_PAGE, watches.total),
            used: usage.used,
            limit: usage.limit,
            kinds: KINDS,
            form,
            error,
            can_write: user.can(Scope::ScansWrite),
        },
    ))
}

/// `GET /alerts`.
pub async fn list(
    State(state): State<AppState>,
    user: SignedIn,
    Query(query): Query,
) -> Result<Response, WebError> {
    let page = page_number(&query)?;
    list_page(
        &state,
        &user,
        page,
        (WatchForm::default(), None),
        StatusCode::OK,
    )
    .await
}

/// `POST /alerts`: makes a watch, then its page; a refusal (a field, the plan's limit) is
/// the list again with the form as entered.
pub async fn create(
    State(state): State<AppState>,
    user: SignedIn,
    Form(fields): Form,
) -> Result<Response, WebError> {
    let form = WatchForm::entered(&fields);
    let request = form.request(&fields)?;
    match alerts::create(&state, &user.actor, &user.origin, request).await {
        Ok(watch) => Ok(see_other(user.fragment, &format!("/alerts/{}", watch.id))),
        Err(error) if refused_on_form(&error) => {
            let status = crate::error::status_of(error.code());
            let message = Some(error.message().to_string());
            list_page(&state, &user, 1, (form, message), status).await
        }
        Err(error) => Err(error.into()),
    }
}

pub struct DeliveryCell {
    pub to: String,
    pub status: String,
    pub detail: String,
}

pub struct MatchRow {
    pub vuln_id: String,
    pub aliases: String,
    pub summary: String,
    pub matched_by: String,
    pub matched_on: String,
    pub cvss: String,
    pub epss: String,
    pub kev: bool,
    pub change: String,
    pub alerts: i64,
    pub first: String,
    pub last: String,
    pub emails: Vec<DeliveryCell>,
    pub webhooks: Vec<DeliveryCell>,
}

impl MatchRow {
    fn of(view: AlertMatchView) -> Self {
        let r = view.record;
        MatchRow {
            aliases: serde_json::from_str::<Vec<String>>(&r.aliases)
                .unwrap_or_default()
                .join(", "),
            summary: r.summary.unwrap_or_default(),
            cvss: r
                .max_cvss
                .map(|v| format!("{v:.1}"))
                .unwrap_or_else(|| "—".into()),
            epss: r
                .epss
                .map(|v| format!("{:.1} %", v * 100.0))
                .unwrap_or_else(|| "—".into()),
            kev: r.kev,
            change: r.change,
            alerts: r.alerts,
            first: when(r.first_matched_at),
            last: when(r.last_matched_at),
            matched_by: r.matched_by,
            matched_on: r.matched_on,
            vuln_id: r.vuln_id,
            emails: view
                .emails
                .into_iter()
                .map(|e| DeliveryCell {
                    to: e.email,
                    detail: match (e.error, e.sent_at) {
                        (Some(error), _) => error,
                        (None, sent) => format!("{}, {}", e.delivery, maybe_when(sent)),
                    },
                    status: e.status,
                })
                .collect(),
            webhooks: view
                .webhooks
                .into_iter()
                .map(|w| DeliveryCell {
                    to: w.url,
                    detail: format!(
                        "{} attempts{}",
                        w.attempts,
                        w.last_status_code
                            .map(|c| format!(", last answer {c}"))
                            .unwrap_or_default()
                    ),
                    status: w.status,
                })
                .collect(),
        }
    }
}

#[derive(Template)]
#[template(path = "alert.html")]
struct DetailPage {
    layout: Layout,
    watch: WatchRow,
    matches: Vec<MatchRow>,
    pager: Pager,
    subscribed: bool,
    error: Option<String>,
    can_write: bool,
}

async fn detail_page(
    state: &AppState,
    user: &SignedIn,
    id: i64,
    page: u32,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, WebError> {
    let watch = alerts::get(state, &user.actor, id).await?;
    let matches =
        alerts::matches(state, &user.actor, id, one_page(MATCHES_PER_PAGE, page)?).await?;
    Ok(render_with_status(
        status,
        &DetailPage {
            layout: user.layout(format!("Alert {}", watch.name), "alerts"),
            watch: WatchRow::of(&watch),
            pager: Pager::new(
                &format!("/alerts/{id}"),
                &[],
                page,
                MATCHES_PER_PAGE,
                matches.total,
            ),
            matches: matches.items.into_iter().map(MatchRow::of).collect(),
            subscribed: alerts::anyone_subscribed(state, &user.actor).await?,
            error,
            can_write: user.can(Scope::ScansWrite),
        },
    ))
}

/// `GET /alerts/{id}`.
pub async fn show(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<i64>,
    Query(query): Query,
) -> Result<Response, WebError> {
    let page = page_number(&query)?;
    detail_page(&state, &user, id, page, None, StatusCode::OK).await
}

/// `POST /alerts/{id}`: name and conditions (an empty score clears it), enabled.
pub async fn update(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<i64>,
    Form(fields): Form,
) -> Result<Response, WebError> {
    let request = UpdateAlert {
        name: fields.get("name").map(str::to_string),
        min_cvss: Some(fields.number("min_cvss")?),
        min_epss: Some(fields.number("min_epss")?),
        kev_only: Some(fields.checked("kev_only")),
        enabled: Some(fields.checked("enabled")),
    };
    match alerts::update(&state, &user.actor, &user.origin, id, request).await {
        Ok(_) => Ok(see_other(user.fragment, &format!("/alerts/{id}"))),
        Err(error) if refused_on_form(&error) => {
            let status = crate::error::status_of(error.code());
            let message = Some(error.message().to_string());
            detail_page(&state, &user, id, 1, message, status).await
        }
        Err(error) => Err(error.into()),
    }
}

/// `POST /alerts/{id}/delete`.
pub async fn delete(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    alerts::delete(&state, &user.actor, &user.origin, id).await?;
    Ok(see_other(user.fragment, "/alerts"))
}
