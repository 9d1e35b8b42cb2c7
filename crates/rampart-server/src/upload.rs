//! Reading an upload's body up to a route's own limit (not the general body limit), with a
//! 413 before reading when `Content-Length` already says too much.

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap};
use rampart_engine::error::{ErrorCode, ServiceError};

/// The body, or `too_large(limit)` past `limit` bytes.
pub async fn read_limited(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
    too_large: fn(usize) -> ServiceError,
) -> Result<Bytes, ServiceError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(too_large(limit));
    }
    axum::body::to_bytes(body, limit).await.map_err(|error| {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&error);
        while let Some(inner) = source {
            if inner.is::<http_body_util::LengthLimitError>() {
                return too_large(limit);
            }
            source = inner.source();
        }
        ServiceError::new(ErrorCode::BadRequest, "could not read the request body")
    })
}
