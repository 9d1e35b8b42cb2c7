//! AppSec data-source integrations (seed 001), shared by `/api/v1/integrations` and the seed's
//! `/public_api/appsec/v1/integrations` and `/public_api/appsec/v1/data_source_instances`:
//! the type catalogue (category, SDLC stage, `type_category`), field rules, sealed
//! credentials, health, and GitHub/GitLab test connection and repository discovery.
//!
//! Credentials are a JSON object of strings (`{"token": …}`), sealed with the server key like
//! sync-source API keys and only ever returned masked. Deleting an integration removes its
//! repository selection and project mappings; the code findings it reported stay, marked
//! orphaned.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rampart_core::{PageRequest, Scope};
use rampart_store::{IntegrationChanges, IntegrationRecord, NewIntegration, Page};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::actor::{Actor, RequestOrigin};
use crate::error::{ErrorCode, ServiceError};
use crate::fields;
use crate::services::products::double_option;
use crate::sync::mask_api_key;
use crate::vcs::{DiscoveredRepository, VcsClient, VcsError, VcsIdentity, VcsKind};
use crate::Engine;

const MAX_NAME: usize = 200;
const MAX_URL: usize = 2048;
const MAX_REPOSITORIES: usize = 10_000;
const MAX_REPOSITORY: usize = 300;
const MAX_MAPPINGS: usize = 1_000;
const MAX_CREDENTIAL_FIELDS: usize = 10;
const MAX_CREDENTIAL: usize = 4096;

/// Seed 001's two groups for `type_category`.
pub const TYPE_CATEGORIES: [&str; 2] = ["DEFAULT", "EXTERNAL_VENDOR_INTEGRATIONS"];

/// One integration type: its wire name, display name, category and SDLC stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntegrationType {
    pub name: &'static str,
    pub label: &'static str,
    /// `VERSION_CONTROL_SYSTEM`, `CI_TOOL`, `CICD_SYSTEM`, `THIRD_PARTY_VENDOR`,
    /// `GENERIC_COLLECTOR`.
    pub category: &'static str,
    /// `CODE`, `BUILD`, `BUILD_DEPLOY`, `CROSS_STAGE`.
    pub sdlc_stage: &'static str,
}

impl IntegrationType {
    /// `DEFAULT` (native) or `EXTERNAL_VENDOR_INTEGRATIONS` (third-party vendors).
    pub fn type_category(self) -> &'static str {
        if self.category == "THIRD_PARTY_VENDOR" {
            "EXTERNAL_VENDOR_INTEGRATIONS"
        } else {
            "DEFAULT"
        }
    }

    /// The VCS API this type speaks, for test connection and discovery.
    pub fn vcs(self) -> Option<VcsKind> {
        match self.name {
            "GITHUB" => Some(VcsKind::GitHub),
            "GITLAB" => Some(VcsKind::GitLab),
            _ => None,
        }
    }
}

const fn kind(
    name: &'static str,
    label: &'static str,
    category: &'static str,
    sdlc_stage: &'static str,
) -> IntegrationType {
    IntegrationType {
        name,
        label,
        category,
        sdlc_stage,
    }
}

const VCS: &str = "VERSION_CONTROL_SYSTEM";
const CI: &str = "CI_TOOL";
const CICD: &str = "CICD_SYSTEM";
const VENDOR: &str = "THIRD_PARTY_VENDOR";

/// Every integration type.
pub const INTEGRATION_TYPES: &[IntegrationType] = &[
    kind("GITHUB", "GitHub", VCS, "CODE"),
    kind("GITLAB", "GitLab", VCS, "CODE"),
    kind("BITBUCKET", "Bitbucket", VCS, "CODE"),
    kind("AZURE_REPOS", "Azure Repos", VCS, "CODE"),
    kind("JENKINS", "Jenkins", CI, "BUILD"),
    kind("CIRCLECI", "CircleCI", CI, "BUILD"),
    // The first-party CLI (seed 001's CORTEX_CLI; ours is `rampart`).
    kind("RAMPART_CLI", "Rampart CLI", CI, "BUILD"),
    kind("GITHUB_ACTIONS", "GitHub Actions", CICD, "BUILD_DEPLOY"),
    kind("GITLAB_CI", "GitLab CI", CICD, "BUILD_DEPLOY"),
    kind("AZURE_PIPELINES", "Azure Pipelines", CICD, "BUILD_DEPLOY"),
    kind("SEMGREP", "Semgrep", VENDOR, "CROSS_STAGE"),
    kind("SONARQUBE", "SonarQube", VENDOR, "CROSS_STAGE"),
    kind("VERACODE", "Veracode", VENDOR, "CROSS_STAGE"),
    kind("SNYK", "Snyk", VENDOR, "CROSS_STAGE"),
    kind("JFROG", "JFrog", VENDOR, "CROSS_STAGE"),
    kind(
        "GENERIC_COLLECTOR",
        "Generic collector",
        "GENERIC_COLLECTOR",
        "CROSS_STAGE",
    ),
];

/// The type a name spells, in any case; `CORTEX_CLI` is our CLI.
pub fn integration_type(name: &str) -> Option<IntegrationType> {
    let name = name.trim().to_ascii_uppercase().replace(['-', ' '], "_");
    let name = if name == "CORTEX_CLI" {
        "RAMPART_CLI".to_string()
    } else {
        name
    };
    INTEGRATION_TYPES.iter().copied().find(|t| t.name == name)
}

/// An external project mapping: a vendor's project key → a repository (and a product).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectMapping {
    /// The vendor's project key (SonarQube project, Snyk project, …).
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    pub vendor_project: String,
    /// The repository it scans (`owner/name`).
    #[schema(
        min_length = 1,
        max_length = 300,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    pub repository: String,
    /// A Rampart product of the team, optionally.
    #[serde(default)]
    pub product_id: Option<i64>,
}

/// One item of `repositories` (utoipa has no length attributes for list items): a name as
/// `fields::name` takes it.
pub struct RepositorySchema;

impl utoipa::PartialSchema for RepositorySchema {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .min_length(Some(1))
            .max_length(Some(MAX_REPOSITORY))
            .pattern(Some(crate::services::products::NAME_PATTERN))
            .into()
    }
}

impl utoipa::ToSchema for RepositorySchema {}

/// The create body (both the canonical and the seed paths).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateIntegration {
    /// Unique within the team, 1–200 characters.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    pub name: String,
    /// `GITHUB`, `GITLAB`, `BITBUCKET`, `AZURE_REPOS`, `JENKINS`, `CIRCLECI`, `RAMPART_CLI`
    /// (also `CORTEX_CLI`), `GITHUB_ACTIONS`, `GITLAB_CI`, `AZURE_PIPELINES`, `SEMGREP`,
    /// `SONARQUBE`, `VERACODE`, `SNYK`, `JFROG`, `GENERIC_COLLECTOR`.
    #[serde(rename = "type", alias = "integration_type")]
    #[schema(
        pattern = "^(GITHUB|GITLAB|BITBUCKET|AZURE_REPOS|JENKINS|CIRCLECI|RAMPART_CLI|CORTEX_CLI|GITHUB_ACTIONS|GITLAB_CI|AZURE_PIPELINES|SEMGREP|SONARQUBE|VERACODE|SNYK|JFROG|GENERIC_COLLECTOR)$"
    )]
    pub integration_type: String,
    /// The service's URL for self-hosted instances (GitHub Enterprise API root such as
    /// `https://github.example.com/api/v3`, a GitLab or SonarQube URL); default: the hosted
    /// service.
    #[schema(max_length = 2048)]
    pub base_url: Option<String>,
    /// Secret fields as strings, e.g. `{"token": "ghp_…"}`; stored encrypted, returned masked.
    #[serde(default)]
    #[schema(value_type = Option<BTreeMap<String, String>>)]
    pub credentials: Option<Value>,
    /// `ALL` (default) or `SELECTED`.
    #[serde(alias = "repository_selection")]
    #[schema(pattern = "^(ALL|SELECTED)$")]
    pub selection_type: Option<String>,
    /// With `SELECTED`: the repositories (`owner/name`), at least one.
    #[serde(default)]
    #[schema(inline, max_items = 10000, value_type = Vec<RepositorySchema>)]
    pub repositories: Vec<String>,
    #[serde(default)]
    #[schema(max_items = 1000)]
    pub external_project_mappings: Vec<ProjectMapping>,
}

/// The update body: the repository selection, selection type, external project mappings (seed
/// 001's update), and the name, base URL and credentials.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateIntegration {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    pub name: Option<String>,
    /// `null` returns to the hosted service.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 2048)]
    pub base_url: Option<Option<String>>,
    /// Replaces the credentials.
    #[schema(value_type = Option<BTreeMap<String, String>>)]
    pub credentials: Option<Value>,
    #[serde(alias = "repository_selection")]
    pub selection_type: Option<String>,
    #[schema(inline, max_items = 10000, value_type = Option<Vec<RepositorySchema>>)]
    pub repositories: Option<Vec<String>>,
    #[schema(max_items = 1000)]
    pub external_project_mappings: Option<Vec<ProjectMapping>>,
}

/// An integration as the API shows it.
#[derive(Debug, Clone)]
pub struct Integration {
    pub record: IntegrationRecord,
    pub kind: IntegrationType,
    pub credentials_masked: BTreeMap<String, String>,
    pub repositories: Vec<String>,
    pub mappings: Vec<ProjectMapping>,
}

impl Integration {
    pub(crate) fn from_record(record: IntegrationRecord) -> Result<Integration, ServiceError> {
        let kind = integration_type(&record.integration_type)
            .ok_or_else(|| ServiceError::internal("stored integration has an unknown type"))?;
        let corrupt = |what: &str| ServiceError::internal(format!("stored integration {what}"));
        Ok(Integration {
            kind,
            credentials_masked: serde_json::from_str(&record.credentials_masked)
                .unwrap_or_default(),
            repositories: serde_json::from_str(&record.repositories)
                .map_err(|_| corrupt("repositories"))?,
            mappings: serde_json::from_str(&record.project_mappings)
                .map_err(|_| corrupt("mappings"))?,
            record,
        })
    }

    /// `CONNECTED` (its last contact or upload succeeded), `ERROR` (its last contact
    /// failed) or `PENDING` (never heard from).
    pub fn status(&self) -> &'static str {
        let r = &self.record;
        let healthy = r.last_contact_at.max(r.last_upload_at);
        match (r.last_error_at, healthy) {
            (Some(error), Some(ok)) if ok > error => "CONNECTED",
            (Some(_), _) => "ERROR",
            (None, Some(_)) => "CONNECTED",
            (None, None) => "PENDING",
        }
    }
}

fn invalid(field: &str, message: impl std::fmt::Display) -> ServiceError {
    ServiceError::invalid(format!("{field}: {message}"))
}

fn not_found() -> ServiceError {
    ServiceError::not_found("integration")
}

fn valid_type(name: &str) -> Result<IntegrationType, ServiceError> {
    integration_type(name).ok_or_else(|| {
        invalid(
            "type",
            format!(
                "{name:?} is not an integration type; use one of {}",
                INTEGRATION_TYPES
                    .iter()
                    .map(|t| t.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    })
}

fn valid_selection(text: &str) -> Result<&'static str, ServiceError> {
    match text.trim().to_ascii_uppercase().as_str() {
        "ALL" => Ok("ALL"),
        "SELECTED" => Ok("SELECTED"),
        _ => Err(invalid("selection_type", "must be ALL or SELECTED")),
    }
}

fn valid_base_url(engine: &Engine, url: &str) -> Result<Option<String>, ServiceError> {
    let url = url.trim();
    if url.is_empty() {
        return Ok(None);
    }
    if url.len() > MAX_URL {
        return Err(invalid("base_url", format!("at most {MAX_URL} characters")));
    }
    let parsed = url::Url::parse(url).map_err(|_| invalid("base_url", "is not a URL"))?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(invalid(
            "base_url",
            "must not carry credentials: put them in `credentials`",
        ));
    }
    engine
        .config
        .sync
        .outbound
        .check_static(url)
        .map_err(|refused| invalid("base_url", refused))?;
    Ok(Some(url.trim_end_matches('/').to_string()))
}

fn valid_repositories(repositories: &[String]) -> Result<Vec<String>, ServiceError> {
    fields::at_most("repositories", repositories, MAX_REPOSITORIES)?;
    let mut out: Vec<String> = Vec::with_capacity(repositories.len());
    for (index, repository) in repositories.iter().enumerate() {
        let name = fields::name(
            &format!("repositories[{index}]"),
            repository,
            MAX_REPOSITORY,
        )?;
        if !out.contains(&name) {
            out.push(name);
        }
    }
    Ok(out)
}

async fn valid_mappings(
    engine: &Engine,
    actor: &Actor,
    mappings: Vec<ProjectMapping>,
) -> Result<Vec<ProjectMapping>, ServiceError> {
    fields::at_most("external_project_mappings", &mappings, MAX_MAPPINGS)?;
    let mut out = Vec::with_capacity(mappings.len());
    for (index, mapping) in mappings.into_iter().enumerate() {
        let field = format!("external_project_mappings[{index}]");
        let product_id = match mapping.product_id {
            Some(id) => {
                // Another team's product is as absent as a missing one.
                if engine.store.product(actor.tenant(), id).await?.is_none() {
                    return Err(invalid(
                        &format!("{field}.product_id"),
                        format!("no product {id} in this team"),
                    ));
                }
                Some(id)
            }
            None => None,
        };
        out.push(ProjectMapping {
            vendor_project: fields::name(
                &format!("{field}.vendor_project"),
                &mapping.vendor_project,
                MAX_NAME,
            )?,
            repository: fields::name(
                &format!("{field}.repository"),
                &mapping.repository,
                MAX_REPOSITORY,
            )?,
            product_id,
        });
    }
    Ok(out)
}

/// Sealed credentials and their masks (`{"token": "ghp***xyz"}`).
fn seal_credentials(
    engine: &Engine,
    value: &Value,
) -> Result<(Option<Vec<u8>>, String), ServiceError> {
    let Value::Object(fields) = value else {
        if value.is_null() {
            return Ok((None, "{}".to_string()));
        }
        return Err(invalid("credentials", "must be an object of strings"));
    };
    if fields.len() > MAX_CREDENTIAL_FIELDS {
        return Err(invalid(
            "credentials",
            format!("at most {MAX_CREDENTIAL_FIELDS} fields"),
        ));
    }
    let mut plain = BTreeMap::new();
    let mut masked = BTreeMap::new();
    for (name, value) in fields {
        let Some(secret) = value.as_str() else {
            return Err(invalid(&format!("credentials.{name}"), "must be a string"));
        };
        if name.is_empty()
            || name.len() > 64
            || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return Err(invalid(
                "credentials",
                "field names are 1–64 letters, digits or '_'",
            ));
        }
        if secret.is_empty()
            || secret.len() > MAX_CREDENTIAL
            || secret.chars().any(char::is_control)
        {
            return Err(invalid(
                &format!("credentials.{name}"),
                format!("must be 1–{MAX_CREDENTIAL} characters without control characters"),
            ));
        }
        plain.insert(name.clone(), secret.to_string());
        masked.insert(name.clone(), mask_api_key(secret));
    }
    if plain.is_empty() {
        return Ok((None, "{}".to_string()));
    }
    let json = serde_json::to_vec(&plain).expect("strings serialise");
    Ok((
        Some(engine.sync.secret_key().encrypt(&json)),
        serde_json::to_string(&masked).expect("strings serialise"),
    ))
}

fn json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("plain data serialises")
}

fn audit_details(
    actor: &Actor,
    origin: &RequestOrigin,
    action: &str,
    details: Value,
) -> rampart_store::AuditEvent {
    let mut event = actor.audit(origin, action);
    event.details = Some(details);
    event
}

pub async fn create(
    engine: &Engine,
    actor: &Actor,
    origin: &RequestOrigin,
    request: CreateIntegration,
) -> Result<Integration, ServiceError> {
    actor.require(Scope::IntegrationsWrite)?;
    let kind = valid_type(&request.integration_type)?;
    let name = fields::name("name", &request.name, MAX_NAME)?;
    let base_url = match &request.base_url {
        Some(url) => valid_base_url(engine, url)?,
        None => None,
    };
    let selection = match &request.selection_type {
        Some(text) => valid_selection(text)?,
        None => "ALL",
    };
    let repositories = valid_repositories(&request.repositories)?;
    if selection == "SELECTED" && repositories.is_empty() {
        return Err(invalid(
            "repositories",
            "SELECTED needs at least one repository",
        ));
    }
    let mappings = valid_mappings(engine, actor, request.external_project_mappings).await?;
    let (credentials, credentials_masked) = match &request.credentials {
        Some(value) => seal_credentials(engine, value)?,
        None => (None, "{}".to_string()),
    };
    let event = audit_details(
        actor,
        origin,
        "integration.create",
        serde_json::json!({"type": kind.name, "selection_type": selection,
            "repositories": repositories.len(), "credentials_set": credentials.is_some()}),
    );
    let record = engine
        .store
        .create_integration(
            actor.tenant(),
            &NewIntegration {
                name,
                integration_type: kind.name.to_string(),
                base_url,
                credentials,
                credentials_masked,
                selection_type: selection.to_string(),
                repositories: json(&repositories),
                project_mappings: json(&mappings),
            },
            &event,
        )
        .await?;
    Integration::from_record(record)
}

/// Resolves seed 001's `type_category` filter (`DEFAULT`, `EXTERNAL_VENDOR_INTEGRATIONS`) and
/// a `type` filter into the types to list; `None` lists all.
pub fn type_filter(
    type_category: Option<&str>,
    integration_type: Option<&str>,
) -> Result<Option<Vec<&'static str>>, ServiceError> {
    let category = match type_category.map(str::trim).filter(|c| !c.is_empty()) {
        Some(c) => {
            let c = c.to_ascii_uppercase();
            Some(
                TYPE_CATEGORIES
                    .into_iter()
                    .find(|known| *known == c)
                    .ok_or_else(|| {
                        ServiceError::new(
                            ErrorCode::BadRequest,
                            "`type_category` must be DEFAULT or EXTERNAL_VENDOR_INTEGRATIONS",
                        )
                    })?,
            )
        }
        None => None,
    };
    let kind = match integration_type.map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) => Some(integration_type_or_400(t)?),
        None => None,
    };
    if category.is_none() && kind.is_none() {
        return Ok(None);
    }
    Ok(Some(
        INTEGRATION_TYPES
            .iter()
            .filter(|t| category.is_none_or(|c| t.type_category() == c))
            .filter(|t| kind.is_none_or(|k| t.name == k.name))
            .map(|t| t.name)
            .collect(),
    ))
}

fn integration_type_or_400(name: &str) -> Result<IntegrationType, ServiceError> {
    integration_type(name).ok_or_else(|| {
        ServiceError::new(
            ErrorCode::BadRequest,
            format!("`type`: {name:?} is not an integration type"),
        )
    })
}

pub async fn list(
    engine: &Engine,
    actor: &Actor,
    types: Option<Vec<&'static str>>,
    page: PageRequest,
) -> Result<Page<Integration>, ServiceError> {
    actor.require(Scope::IntegrationsRead)?;
    let page = engine
        .store
        .list_integrations(actor.tenant(), types.as_deref(), page)
        .await?;
    Ok(Page {
        items: page
            .items
            .into_iter()
            .map(Integration::from_record)
            .collect::<Result<_, _>>()?,
        total: page.total,
    })
}

/// The team's integration (no scope check: for services that hold their own).
pub(crate) async fn find(
    engine: &Engine,
    actor: &Actor,
    id: i64,
) -> Result<Integration, ServiceError> {
    let record = engine
        .store
        .integration(actor.tenant(), id)
        .await?
        .ok_or_else(not_found)?;
    Integration::from_record(record)
}

pub async fn get(engine: &Engine, actor: &Actor, id: i64) -> Result<Integration, ServiceError> {
    actor.require(Scope::IntegrationsRead)?;
    find(engine, actor, id).await
}

pub async fn update(
    engine: &Engine,
    actor: &Actor,
    origin: &RequestOrigin,
    id: i64,
    request: UpdateIntegration,
) -> Result<Integration, ServiceError> {
    actor.require(Scope::IntegrationsWrite)?;
    let current = find(engine, actor, id).await?;
    let mut changes = IntegrationChanges::default();
    let mut changed: Vec<&str> = Vec::new();
    if let Some(name) = &request.name {
        changes.name = Some(fields::name("name", name, MAX_NAME)?);
        changed.push("name");
    }
    if let Some(url) = &request.base_url {
        changes.base_url = Some(match url {
            Some(url) => valid_base_url(engine, url)?,
            None => None,
        });
        changed.push("base_url");
    }
    if let Some(value) = &request.credentials {
        changes.credentials = Some(seal_credentials(engine, value)?);
        changed.push("credentials");
    }
    let selection = match &request.selection_type {
        Some(text) => {
            changed.push("selection_type");
            valid_selection(text)?
        }
        None if current.record.selection_type == "SELECTED" => "SELECTED",
        None => "ALL",
    };
    changes.selection_type = Some(selection.to_string());
    let repositories = match &request.repositories {
        Some(list) => {
            changed.push("repositories");
            let list = valid_repositories(list)?;
            changes.repositories = Some(json(&list));
            list
        }
        None => current.repositories.clone(),
    };
    if selection == "SELECTED" && repositories.is_empty() {
        return Err(invalid(
            "repositories",
            "SELECTED needs at least one repository",
        ));
    }
    if let Some(mappings) = request.external_project_mappings {
        changed.push("external_project_mappings");
        changes.project_mappings = Some(json(&valid_mappings(engine, actor, mappings).await?));
    }
    let event = audit_details(
        actor,
        origin,
        "integration.update",
        serde_json::json!({ "fields": changed }),
    );
    let record = engine
        .store
        .update_integration(actor.tenant(), id, &changes, &event)
        .await?
        .ok_or_else(not_found)?;
    Integration::from_record(record)
}

pub async fn delete(
    engine: &Engine,
    actor: &Actor,
    origin: &RequestOrigin,
    id: i64,
) -> Result<(), ServiceError> {
    actor.require(Scope::IntegrationsWrite)?;
    let event = actor.audit(origin, "integration.delete");
    if engine
        .store
        .delete_integration(actor.tenant(), id, &event)
        .await?
    {
        Ok(())
    } else {
        Err(not_found())
    }
}

/// The outcome of a test connection.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ConnectionCheck {
    pub ok: bool,
    /// Whom the credentials authenticate as, when `ok`.
    pub identity: Option<VcsIdentity>,
    /// Why not, when not `ok`.
    pub error: Option<String>,
    pub checked_at: DateTime<Utc>,
}

/// A VCS client for a GitHub or GitLab integration with a token.
fn vcs_client(engine: &Engine, integration: &Integration) -> Result<VcsClient, ServiceError> {
    let kind = integration.kind.vcs().ok_or_else(|| {
        ServiceError::invalid(format!(
            "test connection and repository discovery are available for GitHub and GitLab integrations, not {}",
            integration.kind.label
        ))
    })?;
    let sealed = integration.record.credentials.as_deref().ok_or_else(|| {
        ServiceError::invalid("credentials: this integration has no token; set credentials.token")
    })?;
    let plain = engine
        .sync
        .secret_key()
        .decrypt(sealed)
        .map_err(ServiceError::internal)?;
    let credentials: BTreeMap<String, String> =
        serde_json::from_slice(&plain).map_err(ServiceError::internal)?;
    let token = credentials
        .get("token")
        .or_else(|| credentials.get("access_token"))
        .or_else(|| credentials.get("private_token"))
        .ok_or_else(|| ServiceError::invalid("credentials: no `token` among the credentials"))?;
    VcsClient::new(
        kind,
        integration.record.base_url.as_deref(),
        token,
        &engine.config.sync.outbound,
    )
    .map_err(ServiceError::internal)
}

/// Asks the service who the token is; the outcome is recorded as the integration's health and
/// audited. Test keys cannot make outbound requests.
pub async fn test_connection(
    engine: &Engine,
    actor: &Actor,
    origin: &RequestOrigin,
    id: i64,
) -> Result<ConnectionCheck, ServiceError> {
    actor.require(Scope::IntegrationsWrite)?;
    let integration = find(engine, actor, id).await?;
    actor.require_live("contact an integration's service")?;
    let client = vcs_client(engine, &integration)?;
    let outcome = client.identity().await;
    let error = outcome.as_ref().err().map(VcsError::to_string);
    engine
        .store
        .record_integration_contact(actor.tenant(), id, error.as_deref())
        .await?;
    let mut event = actor
        .audit(origin, "integration.test_connection")
        .target("integration", id);
    event.details = Some(serde_json::json!({ "ok": error.is_none() }));
    engine.store.record_audit(&event, engine.now()).await?;
    Ok(ConnectionCheck {
        ok: outcome.is_ok(),
        identity: outcome.ok(),
        error,
        checked_at: engine.now(),
    })
}

/// The repositories the integration's token can see (GitHub/GitLab), every page; a failure
/// is recorded as the integration's health and answered 502-free as a 422 naming the cause.
pub async fn discover_repositories(
    engine: &Engine,
    actor: &Actor,
    id: i64,
) -> Result<Vec<DiscoveredRepository>, ServiceError> {
    actor.require(Scope::IntegrationsRead)?;
    let integration = find(engine, actor, id).await?;
    actor.require_live("contact an integration's service")?;
    let client = vcs_client(engine, &integration)?;
    let outcome = client.repositories().await;
    let error = outcome.as_ref().err().map(VcsError::to_string);
    engine
        .store
        .record_integration_contact(actor.tenant(), id, error.as_deref())
        .await?;
    outcome.map_err(|error| ServiceError::invalid(format!("repository discovery failed: {error}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_category_splits_native_from_vendor_integrations() {
        let vendors = type_filter(Some("EXTERNAL_VENDOR_INTEGRATIONS"), None)
            .unwrap()
            .unwrap();
        assert_eq!(
            vendors,
            ["SEMGREP", "SONARQUBE", "VERACODE", "SNYK", "JFROG"]
        );
        let native = type_filter(Some("default"), None).unwrap().unwrap();
        assert!(native.contains(&"GITHUB") && native.contains(&"RAMPART_CLI"));
        assert!(native.contains(&"GENERIC_COLLECTOR"));
        assert!(!native.contains(&"SNYK"));
        assert_eq!(native.len() + vendors.len(), INTEGRATION_TYPES.len());
        assert!(type_filter(Some("OTHER"), None).is_err());
        assert_eq!(type_filter(None, None).unwrap(), None);
        assert_eq!(
            type_filter(Some("DEFAULT"), Some("snyk")).unwrap().unwrap(),
            Vec::<&str>::new()
        );
    }

    #[test]
    fn types_are_read_in_any_spelling_and_cortex_cli_is_ours() {
        assert_eq!(
            integration_type("github-actions").unwrap().name,
            "GITHUB_ACTIONS"
        );
        assert_eq!(integration_type("CORTEX_CLI").unwrap().name, "RAMPART_CLI");
        assert_eq!(integration_type("gitlab").unwrap().sdlc_stage, "CODE");
        assert!(integration_type("svn").is_none());
    }

    #[test]
    fn status_follows_the_latest_contact() {
        let at = |s: i64| Some(DateTime::from_timestamp(s, 0).unwrap());
        let record = IntegrationRecord {
            id: 1,
            team_id: 1,
            is_test: false,
            name: "n".into(),
            integration_type: "GITHUB".into(),
            base_url: None,
            credentials: None,
            credentials_masked: "{}".into(),
            selection_type: "ALL".into(),
            repositories: "[]".into(),
            project_mappings: "[]".into(),
            last_upload_at: None,
            last_contact_at: None,
            last_error: None,
            last_error_at: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        };
        let status = |contact, error| {
            let mut r = record.clone();
            r.last_contact_at = contact;
            r.last_error_at = error;
            Integration::from_record(r).unwrap().status()
        };
        assert_eq!(status(None, None), "PENDING");
        assert_eq!(status(at(10), None), "CONNECTED");
        assert_eq!(status(at(10), at(20)), "ERROR");
        assert_eq!(status(at(30), at(20)), "CONNECTED");
    }
}
