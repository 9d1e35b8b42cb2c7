//! The error policy, in one place.
//!
//! Every failure a client can see is an [`ApiError`]: an HTTP status and a stable
//! [`ErrorCode`], rendered as `{"error":{"code","message","documentation_url"}}`. Handlers
//! return `Result<_, ApiError>`; store and internal errors become `internal_error` with the
//! cause logged server-side and never sent. Responses that some layer produced without a
//! JSON body (axum's 405, a panic) are rewritten to the same shape by
//! [`crate::middleware::json_errors`], so a client never sees an HTML or plain-text error.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;

macro_rules! error_codes {
    ($($variant:ident => ($status:ident, $code:literal, $doc:literal);)*) => {
        /// Stable machine-readable error codes. Never rename one: clients match on them.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum ErrorCode {
            $(#[doc = $doc] $variant,)*
        }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $code,)* }
            }

            pub fn status(self) -> StatusCode {
                match self { $(ErrorCode::$variant => StatusCode::$status,)* }
            }

            pub fn description(self) -> &'static str {
                match self { $(ErrorCode::$variant => $doc,)* }
            }
        }
    };
}

error_codes! {
    BadRequest => (BAD_REQUEST, "bad_request", "The request is malformed (bad query string, path parameter or header).");
    MalformedJson => (BAD_REQUEST, "invalid_json", "The body is not well-formed JSON (truncated, a syntax error, trailing characters); the message names the line and column.");
    InvalidBody => (UNPROCESSABLE_ENTITY, "invalid_body", "The body is well-formed JSON but does not have the expected fields or types.");
    ValidationFailed => (UNPROCESSABLE_ENTITY, "validation_failed", "A field has a value that is not allowed; the message names the field.");
    MissingCredentials => (UNAUTHORIZED, "missing_credentials", "No credentials were sent. Send `Authorization: Bearer <key>`.");
    InvalidApiKey => (UNAUTHORIZED, "invalid_api_key", "The provided API key is expired, revoked or invalid.");
    InsufficientScope => (FORBIDDEN, "insufficient_scope", "The credential lacks the scope this endpoint needs; the message names it.");
    Forbidden => (FORBIDDEN, "forbidden", "The credential may not perform this action.");
    UpgradeRequired => (FORBIDDEN, "upgrade_required", "The team's plan does not include this feature.");
    TestModeForbidden => (FORBIDDEN, "test_mode_forbidden", "A test key (`rk_test_`) cannot start real work (sync runs, scans, outbound notifications); use a live key.");
    QuotaExceeded => (FORBIDDEN, "quota_exceeded", "A limit of the team's plan is reached; the message names it.");
    InvalidCode => (UNAUTHORIZED, "invalid_code", "The login code is wrong, expired, used or locked after too many wrong tries.");
    NotFound => (NOT_FOUND, "not_found", "No such resource (or it belongs to another team).");
    MethodNotAllowed => (METHOD_NOT_ALLOWED, "method_not_allowed", "The path exists but not with this HTTP method.");
    Conflict => (CONFLICT, "conflict", "The request conflicts with the current state of the resource.");
    NotAnSbom => (BAD_REQUEST, "not_an_sbom", "The uploaded document is not a supported SBOM (CycloneDX JSON/XML, SPDX JSON/tag-value); nothing was stored.");
    InvalidSbom => (UNPROCESSABLE_ENTITY, "invalid_sbom", "The SBOM has a problem; the message names the first one with its JSON pointer or line and column. Nothing was stored.");
    PayloadTooLarge => (PAYLOAD_TOO_LARGE, "payload_too_large", "The body exceeds the configured size limit.");
    UnsupportedMediaType => (UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", "The body's content type is not accepted here (JSON needs `Content-Type: application/json`).");
    RateLimited => (TOO_MANY_REQUESTS, "rate_limited", "Too many requests; wait for the number of seconds in `Retry-After`.");
    InternalError => (INTERNAL_SERVER_ERROR, "internal_error", "The server failed; the request id in `X-Request-Id` finds the cause in the server log.");
    ServiceUnavailable => (SERVICE_UNAVAILABLE, "service_unavailable", "The server is not ready (database unreachable or migrations pending).");
}

impl ErrorCode {
    /// The code a bare status maps to, for responses produced without an `ApiError`.
    pub fn for_status(status: StatusCode) -> ErrorCode {
        match status {
            StatusCode::UNAUTHORIZED => ErrorCode::MissingCredentials,
            StatusCode::FORBIDDEN => ErrorCode::Forbidden,
            StatusCode::NOT_FOUND => ErrorCode::NotFound,
            StatusCode::METHOD_NOT_ALLOWED => ErrorCode::MethodNotAllowed,
            StatusCode::CONFLICT => ErrorCode::Conflict,
            StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::PayloadTooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorCode::UnsupportedMediaType,
            StatusCode::UNPROCESSABLE_ENTITY => ErrorCode::ValidationFailed,
            StatusCode::TOO_MANY_REQUESTS => ErrorCode::RateLimited,
            StatusCode::SERVICE_UNAVAILABLE => ErrorCode::ServiceUnavailable,
            s if s.is_server_error() => ErrorCode::InternalError,
            _ => ErrorCode::BadRequest,
        }
    }
}

/// A client-visible failure.
#[derive(Debug)]
pub struct ApiError {
    code: ErrorCode,
    message: String,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
        }
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("{what} not found"))
    }

    /// An internal failure: the cause goes to the log (with the request id of the span),
    /// the client gets a generic message.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        Self::new(ErrorCode::InternalError, "internal server error")
    }

    pub fn code(&self) -> ErrorCode {
        self.code
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

/// A `page`/`per_page` out of range: 400, the message naming the parameter.
impl From<rampart_core::PageError> for ApiError {
    fn from(error: rampart_core::PageError) -> Self {
        ApiError::new(ErrorCode::BadRequest, error.to_string())
    }
}

impl From<rampart_store::StoreError> for ApiError {
    fn from(error: rampart_store::StoreError) -> Self {
        use rampart_store::StoreError;
        match error {
            StoreError::NotFound => ApiError::new(ErrorCode::NotFound, "not found"),
            StoreError::Conflict(message) => ApiError::new(ErrorCode::Conflict, message),
            StoreError::LimitReached(limit) => ApiError::new(
                ErrorCode::QuotaExceeded,
                format!("the plan's limit of {limit} is reached"),
            ),
            other => ApiError::internal(other),
        }
    }
}

/// The JSON error body.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable code; see the `ErrorCode` schema.
    pub code: String,
    pub message: String,
    /// Where the code is explained, on this server.
    pub documentation_url: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.code.status();
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.as_str().to_string(),
                message: self.message,
                documentation_url: format!("/docs/errors#{}", self.code.as_str()),
            },
        };
        let mut response = (status, axum::Json(body)).into_response();
        // Lets outer layers see the code (the audit log records scope denials).
        response.extensions_mut().insert(self.code);
        if status == StatusCode::UNAUTHORIZED {
            let challenge = match self.code {
                ErrorCode::InvalidApiKey => "Bearer error=\"invalid_token\"",
                _ => "Bearer",
            };
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        response
    }
}

/// The JSON body of every route that takes one, with our error policy: a body that is not
/// well-formed JSON is 400 `invalid_json` naming line and column (checked on the whole body
/// first, so a truncated `{"broken": ` is never reported as a bad field); well-formed JSON
/// of the wrong shape is 422 `invalid_body` naming the field; an oversize body is 413.
/// Needs `Content-Type: application/json` (or `…+json`), else 415.
pub struct ApiJson<T>(pub T);

/// [`ApiJson`] whatever the declared content type, for the OSV-compatible `/v1/…` routes:
/// osv.dev reads the body as JSON whatever the header says, and its documented example
/// (`curl -d '{…}'`) sends `application/x-www-form-urlencoded`.
pub struct AnyContentTypeJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        if !declares_json(request.headers()) {
            return Err(ApiError::new(
                ErrorCode::UnsupportedMediaType,
                "expected `Content-Type: application/json`",
            ));
        }
        read_json(request, state).await.map(ApiJson)
    }
}

impl<S, T> FromRequest<S> for AnyContentTypeJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        read_json(request, state).await.map(AnyContentTypeJson)
    }
}

/// `application/json`, or a `+json` type such as `application/merge-patch+json`.
fn declares_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim();
    let Some((kind, subtype)) = essence.split_once('/') else {
        return false;
    };
    kind.eq_ignore_ascii_case("application")
        && (subtype.eq_ignore_ascii_case("json") || subtype.to_ascii_lowercase().ends_with("+json"))
}

async fn read_json<S, T>(request: Request, state: &S) -> Result<T, ApiError>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    // `Bytes` honours the router's body limit.
    let bytes = Bytes::from_request(request, state)
        .await
        .map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    ErrorCode::PayloadTooLarge,
                    "request body exceeds the configured limit",
                )
            } else {
                ApiError::new(ErrorCode::BadRequest, rejection.body_text())
            }
        })?;
    parse_json_body(&bytes)
}

/// Reads a JSON body into `T` by the policy of [`ApiJson`].
pub fn parse_json_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // Well-formedness of the whole body first: deserialising into `T` stops at the first
    // field it refuses, before it would reach a syntax error further on.
    if let Err(error) = serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
        return Err(ApiError::new(
            ErrorCode::MalformedJson,
            format!("malformed JSON: {error}"),
        ));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let message = if path == "." {
            format!("invalid body: {}", error.inner())
        } else {
            format!("invalid body: `{path}`: {}", error.inner())
        };
        ApiError::new(ErrorCode::InvalidBody, message)
    })
}

/// `axum::extract::Query` with our error policy: a bad query string is 400 `bad_request`
/// naming the parameter.
pub struct ApiQuery<T>(pub T);

impl<S, T> axum::extract::FromRequestParts<S> for ApiQuery<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(ApiQuery(value)),
            Err(rejection) => Err(ApiError::new(
                ErrorCode::BadRequest,
                format!("invalid query string: {}", rejection.body_text()),
            )),
        }
    }
}
