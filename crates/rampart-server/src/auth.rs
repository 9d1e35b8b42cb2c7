//! Who is calling. A request to a protected route must carry `Authorization: Bearer <key>`;
//! the key is hashed, looked up, and must be neither revoked nor expired. The result is a
//! [`Principal`] that handlers receive as an extractor.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use axum::middleware::Next;
use axum::response::Response;
use rampart_core::{ApiKeyKind, ApiKeySecret, Scope, ScopeSet};

use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Principal {
    pub team_id: i64,
    pub user_id: i64,
    pub user_email: String,
    pub credential: Credential,
    pub scopes: ScopeSet,
}

#[derive(Debug, Clone)]
pub enum Credential {
    ApiKey {
        id: i64,
        name: String,
        kind: ApiKeyKind,
    },
}

impl Principal {
    /// Every handler's first line: `principal.require(Scope::ProductsRead)?;` (and the same
    /// scope in its `#[utoipa::path(security(("bearer" = ["products:read"])))]`).
    pub fn require(&self, scope: Scope) -> Result<(), ApiError> {
        if self.scopes.contains(scope) {
            Ok(())
        } else {
            Err(ApiError::new(
                ErrorCode::InsufficientScope,
                format!("this endpoint needs the `{scope}` scope"),
            ))
        }
    }

    /// Test keys create test data and never cause real outbound effects.
    pub fn is_test_mode(&self) -> bool {
        matches!(
            self.credential,
            Credential::ApiKey {
                kind: ApiKeyKind::Test,
                ..
            }
        )
    }
}

/// Middleware for protected routes: authenticates and stores the [`Principal`].
pub async fn require_principal(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let principal = authenticate(&state, request.headers()).await?;
    request.extensions_mut().insert(principal);
    Ok(next.run(request).await)
}

async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Principal, ApiError> {
    let token = bearer_token(headers)?;
    let invalid = || {
        ApiError::new(
            ErrorCode::InvalidApiKey,
            "The provided API key is expired or invalid.",
        )
    };
    let secret = ApiKeySecret::parse(token).ok_or_else(invalid)?;
    let record = state
        .store
        .find_api_key(&secret.hash())
        .await?
        .ok_or_else(invalid)?;
    if !record.is_active_at(chrono::Utc::now()) {
        return Err(invalid());
    }
    Ok(Principal {
        team_id: record.team_id,
        user_id: record.user_id,
        user_email: record.user_email,
        scopes: record.scopes,
        credential: Credential::ApiKey {
            id: record.id,
            name: record.name,
            kind: record.kind,
        },
    })
}

fn bearer_token(headers: &HeaderMap) -> Result<&str, ApiError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::MissingCredentials,
                "missing credentials: send `Authorization: Bearer <api key>`",
            )
        })?
        .to_str()
        .map_err(|_| {
            ApiError::new(
                ErrorCode::InvalidApiKey,
                "The provided API key is expired or invalid.",
            )
        })?;
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(ApiError::new(
            ErrorCode::MissingCredentials,
            "expected `Authorization: Bearer <api key>`",
        ));
    }
    Ok(token.trim())
}

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        parts.extensions.get::<Principal>().cloned().ok_or_else(|| {
            // A handler asked for a principal on a route mounted without the auth layer.
            ApiError::internal("route is missing the authentication layer")
        })
    }
}
