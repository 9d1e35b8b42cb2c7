//! One module per resource; handlers parse their input, call one service function of
//! `rampart_engine::services` and shape its result. No route module imports another: shared
//! response bodies live in `crate::bodies`, shared request shapes here.

pub mod alerts;
pub mod analyses;
pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod code_findings;
pub mod compliance;
pub mod disclosures;
pub mod dispositions;
pub mod events;
pub mod findings;
pub mod health;
pub mod incidents;
pub mod integrations;
pub mod kb;
pub mod me;
pub mod notifications;
pub mod products;
pub mod releases;
pub mod sboms;
pub mod scans;
pub mod seed_api_keys;
pub mod seed_integrations;
pub mod seed_products;
pub mod sync_sources;
pub mod teams;
pub mod usage;
pub mod vex_documents;
pub mod vex_imports;
pub mod webhooks;

use rampart_core::{PageRequest, DEFAULT_PER_PAGE};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;

/// `page` (1-based) and `per_page` (1–500, default 50) of a listing.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// 1-based page number [default: 1].
    #[param(minimum = 1)]
    pub page: Option<u32>,
    /// Items per page, 1–500 [default: 50].
    #[param(minimum = 1, maximum = 500)]
    pub per_page: Option<u32>,
}

impl PageQuery {
    pub fn to_request(&self) -> Result<PageRequest, ApiError> {
        Ok(PageRequest::from_query(
            self.page,
            self.per_page,
            DEFAULT_PER_PAGE,
        )?)
    }
}

/// A page of a listing with the size of the whole listing.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Paginated<T> {
    pub items: Vec<T>,
    pub page: u32,
    pub per_page: u32,
    /// Items in the whole listing (all pages).
    pub total: i64,
}

impl<T> Paginated<T> {
    pub fn new<S>(
        page: rampart_store::Page<S>,
        request: PageRequest,
        map: impl Fn(S) -> T,
    ) -> Self {
        Paginated {
            items: page.items.into_iter().map(map).collect(),
            page: request.page(),
            per_page: request.per_page(),
            total: page.total,
        }
    }
}

/// A search term: trimmed; empty means no filter.
pub fn search_term(q: &Option<String>) -> Option<&str> {
    q.as_deref().map(str::trim).filter(|q| !q.is_empty())
}
