//! Downloads of stored VEX documents (reviewers', disclosures', public ones): the bytes with
//! their content type, `ETag` (the SHA-256), `Content-Disposition`, and `304 Not Modified`
//! when `If-None-Match` names the entity tag.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use rampart_engine::services::disclosures::etag_matches;
use rampart_engine::services::vex_documents::file_name;
use rampart_store::VexDocumentRecord;

/// The response for `record`'s `bytes`, honouring the request's `If-None-Match`.
pub fn document_response(
    request: &HeaderMap,
    record: &VexDocumentRecord,
    bytes: Vec<u8>,
) -> Response {
    let etag = format!("\"{}\"", record.sha256);
    let not_modified = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|value| etag_matches(value, &record.sha256));
    let mut response = if not_modified {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut response = bytes.into_response();
        if let Ok(value) = HeaderValue::from_str(&record.content_type) {
            response.headers_mut().insert(header::CONTENT_TYPE, value);
        }
        let disposition = format!(
            "attachment; filename=\"{}\"",
            file_name(&record.tracking_id, &record.format, record.version)
        );
        if let Ok(value) = HeaderValue::from_str(&disposition) {
            response
                .headers_mut()
                .insert(header::CONTENT_DISPOSITION, value);
        }
        response
    };
    if let Ok(value) = HeaderValue::from_str(&etag) {
        response.headers_mut().insert(header::ETAG, value);
    }
    response
}

/// A JSON download: `value` serialised, `Content-Type: application/json` and
/// `Content-Disposition: attachment` with `file_name` (the convention of every `/export`).
pub fn json_attachment<T: serde::Serialize>(file_name: &str, value: &T) -> Response {
    let bytes = match serde_json::to_vec(value) {
        Ok(bytes) => bytes,
        Err(error) => return crate::error::ApiError::internal(error).into_response(),
    };
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}
