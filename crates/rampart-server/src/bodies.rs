//! Response bodies and query strings that several route modules answer with (a canonical
//! `/api/v1` route and its seed adapter), so that no route module imports another.

use chrono::{DateTime, NaiveDate, Utc};
use rampart_store::{Product, Release};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProductBody {
    pub id: i64,
    pub name: String,
    pub description: Option<String>,
    pub tags: Vec<String>,
    /// Match components by CPE as well as by purl (off by default: CPE matching breeds false
    /// positives).
    pub cpe_matching: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// `true` when this is test data (created with an `rk_test_` key); absent for live data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_mode: Option<bool>,
}

impl From<Product> for ProductBody {
    fn from(product: Product) -> Self {
        ProductBody {
            id: product.id,
            name: product.name,
            description: product.description,
            tags: product.tags,
            cpe_matching: product.cpe_matching,
            created_at: product.created_at,
            updated_at: product.updated_at,
            test_mode: product.is_test.then_some(true),
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReleaseBody {
    pub id: i64,
    pub product_id: i64,
    pub version: String,
    /// `development`, `released` or `end_of_life`.
    pub status: String,
    pub release_date: Option<NaiveDate>,
    pub eol_date: Option<NaiveDate>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// `true` when this is test data (created with an `rk_test_` key); absent for live data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_mode: Option<bool>,
}

impl From<Release> for ReleaseBody {
    fn from(release: Release) -> Self {
        ReleaseBody {
            id: release.id,
            product_id: release.product_id,
            version: release.version,
            status: release.status,
            release_date: release.release_date,
            eol_date: release.eol_date,
            created_at: release.created_at,
            updated_at: release.updated_at,
            test_mode: release.is_test.then_some(true),
        }
    }
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProductListQuery {
    /// Only products whose name, description or tags contain this text (case-insensitive).
    pub q: Option<String>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}
