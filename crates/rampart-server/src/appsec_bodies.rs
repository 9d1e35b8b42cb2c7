//! Response bodies and query strings of AppSec integrations, shared by the canonical
//! `/api/v1/integrations` routes and seed 001's `/public_api/appsec/v1/…` adapters (same JSON,
//! the seed's field names: `type`, `type_category`, `selection_type`,
//! `external_project_mappings`), so that no route module imports another.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rampart_engine::services::integrations::{Integration, ProjectMapping};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IntegrationHealthBody {
    /// The last SARIF upload to this integration.
    pub last_upload_at: Option<DateTime<Utc>>,
    /// The last successful request to the service (test connection, discovery).
    pub last_successful_contact_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IntegrationBody {
    pub id: i64,
    pub name: String,
    /// `GITHUB`, `GITLAB`, …, `SEMGREP`, `GENERIC_COLLECTOR`, `RAMPART_CLI`.
    #[serde(rename = "type")]
    pub integration_type: String,
    /// The type's display name.
    pub type_label: String,
    /// `DEFAULT` (native) or `EXTERNAL_VENDOR_INTEGRATIONS` (third-party vendors).
    pub type_category: String,
    /// `VERSION_CONTROL_SYSTEM`, `CI_TOOL`, `CICD_SYSTEM`, `THIRD_PARTY_VENDOR` or
    /// `GENERIC_COLLECTOR`.
    pub category: String,
    /// `CODE`, `BUILD`, `BUILD_DEPLOY` or `CROSS_STAGE`.
    pub sdlc_stage: String,
    pub base_url: Option<String>,
    /// Each credential field, masked (never the secret).
    pub credentials_masked: BTreeMap<String, String>,
    /// `ALL` or `SELECTED`.
    pub selection_type: String,
    pub repositories: Vec<String>,
    pub external_project_mappings: Vec<ProjectMapping>,
    /// `CONNECTED`, `ERROR` or `PENDING` (never contacted, nothing uploaded).
    pub status: String,
    pub health: IntegrationHealthBody,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// `true` when this is test data (created with an `rk_test_` key); absent for live data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_mode: Option<bool>,
}

impl From<Integration> for IntegrationBody {
    fn from(integration: Integration) -> Self {
        let status = integration.status().to_string();
        let Integration {
            record,
            kind,
            credentials_masked,
            repositories,
            mappings,
        } = integration;
        IntegrationBody {
            id: record.id,
            name: record.name,
            integration_type: kind.name.to_string(),
            type_label: kind.label.to_string(),
            type_category: kind.type_category().to_string(),
            category: kind.category.to_string(),
            sdlc_stage: kind.sdlc_stage.to_string(),
            base_url: record.base_url,
            credentials_masked,
            selection_type: record.selection_type,
            repositories,
            external_project_mappings: mappings,
            status,
            health: IntegrationHealthBody {
                last_upload_at: record.last_upload_at,
                last_successful_contact_at: record.last_contact_at,
                last_error: record.last_error,
                last_error_at: record.last_error_at,
            },
            created_at: record.created_at,
            updated_at: record.updated_at,
            test_mode: record.is_test.then_some(true),
        }
    }
}

/// Filters of an integration listing.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct IntegrationListQuery {
    /// `DEFAULT` (VCS, CI tools, CI/CD systems, the Rampart CLI, the generic collector) or
    /// `EXTERNAL_VENDOR_INTEGRATIONS` (Semgrep, SonarQube, Veracode, Snyk, JFrog).
    #[param(pattern = "^$|^(DEFAULT|EXTERNAL_VENDOR_INTEGRATIONS)$")]
    pub type_category: Option<String>,
    /// One integration type (`GITHUB`, …).
    #[serde(rename = "type")]
    #[param(
        rename = "type",
        pattern = "^$|^(GITHUB|GITLAB|BITBUCKET|AZURE_REPOS|JENKINS|CIRCLECI|RAMPART_CLI|CORTEX_CLI|GITHUB_ACTIONS|GITLAB_CI|AZURE_PIPELINES|SEMGREP|SONARQUBE|VERACODE|SNYK|JFROG|GENERIC_COLLECTOR)$"
    )]
    pub integration_type: Option<String>,
    /// 1-based page number [default: 1].
    pub page: Option<u32>,
    /// Items per page, 1–500 [default: 50].
    pub per_page: Option<u32>,
}
