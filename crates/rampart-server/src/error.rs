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

use crate::strict_json::Strict;

pub use rampart_engine::error::{ErrorCode, ServiceError};

/// The code a bare status maps to, for responses produced without an `ApiError`.
pub fn code_for_status(status: StatusCode) -> ErrorCode {
    match status {
        StatusCode::UNAUTHORIZED => ErrorCode::MissingCredentials,
        StatusCode::FORBIDDEN => ErrorCode::Forbidden,
        StatusCode::NOT_FOUND => ErrorCode::NotFound,
        StatusCode::METHOD_NOT_ALLOWED => ErrorCode::MethodNotAllowed,
        StatusCode::CONFLICT => ErrorCode::Conflict,
        StatusCode::REQUEST_TIMEOUT => ErrorCode::RequestTimeout,
        StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::PayloadTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorCode::UnsupportedMediaType,
        StatusCode::UNPROCESSABLE_ENTITY => ErrorCode::ValidationFailed,
        StatusCode::TOO_MANY_REQUESTS => ErrorCode::RateLimited,
        StatusCode::SERVICE_UNAVAILABLE => ErrorCode::ServiceUnavailable,
        s if s.is_server_error() => ErrorCode::InternalError,
        _ => ErrorCode::BadRequest,
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

impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> Self {
        let (code, message) = error.into_parts();
        ApiError { code, message }
    }
}

impl From<rampart_store::StoreError> for ApiError {
    fn from(error: rampart_store::StoreError) -> Self {
        ServiceError::from(error).into()
    }
}

/// The HTTP status of a code.
pub fn status_of(code: ErrorCode) -> StatusCode {
    StatusCode::from_u16(code.http_status()).expect("error codes carry valid HTTP statuses")
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
        let status = status_of(self.code);
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
    // Every body the API takes is an object (or `null` where none is needed). Serde would
    // read an array into a struct field by field, so `[]` passed for `{}`: refused instead.
    if bytes.trim_ascii_start().starts_with(b"[") {
        return Err(ApiError::new(
            ErrorCode::InvalidBody,
            "invalid body: expected a JSON object, not an array",
        ));
    }
    // Nor inside it: a nested object given as an array is refused too ([`Strict`]).
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let refused = match serde_path_to_error::deserialize(Strict(&mut deserializer)) {
        Ok(value) => return Ok(value),
        Err(error) => error,
    };
    // JSON has one number type: `30662.0` is the integer 30662 to JSON Schema (and so to
    // the OpenAPI document) as much as `30662` is. Serde's integer fields refuse it, so a
    // body refused as it was is read once more with its integral numbers written as
    // integers; the first refusal stands if that does not help either.
    if let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(bytes) {
        if integral_floats_as_integers(&mut value) {
            if let Ok(read) = serde_path_to_error::deserialize(Strict(value)) {
                return Ok(read);
            }
        }
    }
    let path = refused.path().to_string();
    let message = if path == "." {
        format!("invalid body: {}", refused.inner())
    } else {
        format!("invalid body: `{path}`: {}", refused.inner())
    };
    Err(ApiError::new(ErrorCode::InvalidBody, message))
}

/// Rewrites every float without a fractional part (in the range of `i64`/`u64`) as that
/// integer; says whether it changed anything.
fn integral_floats_as_integers(value: &mut serde_json::Value) -> bool {
    match value {
        serde_json::Value::Number(number) if number.is_f64() => {
            let Some(float) = number.as_f64() else {
                return false;
            };
            if float.fract() != 0.0 || !float.is_finite() {
                return false;
            }
            // `as` saturates, so a float beyond the range compares unequal after the trip.
            let integer = if float < 0.0 {
                let int = float as i64;
                (int as f64 == float).then(|| serde_json::Number::from(int))
            } else {
                let int = float as u64;
                (int as f64 == float && float < u64::MAX as f64)
                    .then(|| serde_json::Number::from(int))
            };
            match integer {
                Some(integer) => {
                    *number = integer;
                    true
                }
                None => false,
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().fold(false, |changed, item| {
            integral_floats_as_integers(item) | changed
        }),
        serde_json::Value::Object(fields) => fields.values_mut().fold(false, |changed, field| {
            integral_floats_as_integers(field) | changed
        }),
        _ => false,
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize, PartialEq)]
    struct Body {
        id: i64,
        count: Option<u32>,
        ratio: f64,
        items: Vec<i32>,
    }

    #[test]
    fn integral_floats_read_as_integers_and_fractions_stay_refused() {
        let read: Body = parse_json_body(
            br#"{"id": -3328.0, "count": 30662.0, "ratio": 2.0, "items": [1.0, 2]}"#,
        )
        .unwrap();
        assert_eq!(
            read,
            Body {
                id: -3328,
                count: Some(30662),
                ratio: 2.0,
                items: vec![1, 2]
            }
        );
        let refused =
            parse_json_body::<Body>(br#"{"id": 1.5, "ratio": 1, "items": []}"#).unwrap_err();
        assert_eq!(refused.code(), ErrorCode::InvalidBody);
        assert!(refused.message().contains("`id`"), "{}", refused.message());
        // Beyond the integer's range it is refused as before, naming the field.
        let refused =
            parse_json_body::<Body>(br#"{"id": 1e30, "ratio": 1, "items": []}"#).unwrap_err();
        assert!(refused.message().contains("`id`"), "{}", refused.message());
    }

    #[derive(Debug, serde::Deserialize, PartialEq)]
    struct Optional {
        name: Option<String>,
        note: Option<String>,
    }

    #[test]
    fn an_array_is_not_read_as_an_object() {
        // Serde alone takes `[null, null]` and `[]` as `{}` field by field.
        for body in [&b"[null, null]"[..], b" []", b"\n[\"a\", \"b\"]"] {
            let refused = parse_json_body::<Optional>(body).unwrap_err();
            assert_eq!(refused.code(), ErrorCode::InvalidBody);
            assert!(
                refused.message().contains("not an array"),
                "{}",
                refused.message()
            );
        }
        assert_eq!(
            parse_json_body::<Optional>(br#"{"name": "a"}"#).unwrap(),
            Optional {
                name: Some("a".into()),
                note: None
            }
        );
        assert_eq!(parse_json_body::<Option<Optional>>(b"null").unwrap(), None);
    }
}
