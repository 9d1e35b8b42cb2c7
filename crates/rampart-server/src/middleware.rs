//! Cross-cutting layers: request logging, the JSON-errors guarantee, panic recovery, the
//! request log and key usage, the request-body deadline and the security headers.

use std::any::Any;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Instrument;

use crate::error::{ApiError, ErrorCode};
use crate::request_log;
use crate::AppState;

/// One log line per request: method, path (never the query string or headers, which may
/// carry credentials), status, latency and request id.
pub async fn log_requests(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let request_id = request_id(request.headers());
    let span = tracing::info_span!("request", %method, %path, request_id = %request_id);
    let response = next.run(request).instrument(span.clone()).await;
    let status = response.status().as_u16();
    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    span.in_scope(|| tracing::info!(status, elapsed_ms, "handled"));
    response
}

fn request_id(headers: &HeaderMap) -> String {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_string()
}

/// Rewrites any error response that is not already JSON (axum's own 405, a layer's 413,
/// …) into the standard error body, keeping its status and headers.
pub async fn json_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    // The dashboard's error pages are HTML on purpose.
    if !(status.is_client_error() || status.is_server_error())
        || is_json(response.headers())
        || is_html(response.headers())
    {
        return response;
    }
    let (parts, _) = response.into_parts();
    let code = crate::error::code_for_status(status);
    let message = match code {
        ErrorCode::MethodNotAllowed => "method not allowed on this path".to_string(),
        _ => status
            .canonical_reason()
            .unwrap_or("request failed")
            .to_lowercase(),
    };
    let mut rewritten = ApiError::new(code, message).into_response();
    *rewritten.status_mut() = status;
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            rewritten.headers_mut().insert(name.clone(), value.clone());
        }
    }
    // What inner layers noted on the response (the route template, the caller) stays, under
    // the rewritten body's own notes.
    let mut extensions = parts.extensions;
    extensions.extend(std::mem::take(rewritten.extensions_mut()));
    *rewritten.extensions_mut() = extensions;
    rewritten
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json") || ct.contains("+json"))
}

fn is_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/html"))
}

/// A handler panic becomes a 500 with no internal detail; the panic message is logged.
pub fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response<Body> {
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("(non-string panic payload)");
    tracing::error!(panic = message, "handler panicked");
    let mut response =
        ApiError::new(ErrorCode::InternalError, "internal server error").into_response();
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    response
}

/// Unknown routes.
pub async fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such route")
}

/// A request body that fails once its deadline passes, noting that it did: a client that
/// trickles its body (one byte a second) is cut off however steadily it sends.
struct DeadlineBody {
    inner: Body,
    deadline: std::pin::Pin<Box<tokio::time::Sleep>>,
    expired: Arc<AtomicBool>,
}

impl http_body::Body for DeadlineBody {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        use std::future::Future;
        if let std::task::Poll::Ready(frame) = std::pin::Pin::new(&mut self.inner).poll_frame(cx) {
            return std::task::Poll::Ready(frame);
        }
        if self.deadline.as_mut().poll(cx).is_ready() {
            self.expired.store(true, Ordering::Relaxed);
            return std::task::Poll::Ready(Some(Err(axum::Error::new("request body timed out"))));
        }
        std::task::Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// Gives each request body `request_body_timeout` to arrive; past it the answer is 408
/// `request_timeout`, whatever the handler made of the cut-off body.
pub async fn body_deadline(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    use http_body::Body as _;
    let timeout = state.config.request_body_timeout;
    let expired = Arc::new(AtomicBool::new(false));
    let request = request.map(|body| {
        if body.is_end_stream() {
            body
        } else {
            Body::new(DeadlineBody {
                inner: body,
                deadline: Box::pin(tokio::time::sleep(timeout)),
                expired: Arc::clone(&expired),
            })
        }
    });
    let response = next.run(request).await;
    if expired.load(Ordering::Relaxed) {
        return ApiError::new(
            ErrorCode::RequestTimeout,
            format!(
                "the request body did not arrive within {} seconds",
                timeout.as_secs()
            ),
        )
        .into_response();
    }
    response
}

/// Headers every response carries (the dashboard sets stricter ones of its own):
/// `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer`, and HSTS when the
/// public URL is https.
pub async fn security_headers(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers
        .entry(header::X_CONTENT_TYPE_OPTIONS)
        .or_insert(HeaderValue::from_static("nosniff"));
    headers
        .entry(header::REFERRER_POLICY)
        .or_insert(HeaderValue::from_static("no-referrer"));
    if state.config.secure_cookies() {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    response
}

/// Global layer: times the request, then logs it, counts key usage and records metrics.
pub async fn record_request(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if !request_log::is_logged(request.uri().path()) {
        return next.run(request).await;
    }
    let started = Instant::now();
    let at = state.now();
    let method = request_log::method_name(request.method());
    // What only the log keeps, read only when it is written.
    let logged = state.config.request_log.enabled.then(|| {
        let headers = request.headers();
        let request_id = request_log::header_text(headers, &request_log::X_REQUEST_ID, 200);
        let user_agent =
            request_log::header_text(headers, &header::USER_AGENT, request_log::USER_AGENT_MAX);
        let request_bytes = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(0);
        let client = request_log::client_ip(
            request_log::peer_ip(&request),
            headers,
            &state.config.trusted_proxies,
        );
        (request_id, user_agent, request_bytes, client)
    });
    let response = next.run(request).await;
    let latency = started.elapsed();
    let endpoint = response
        .extensions()
        .get::<request_log::RouteTemplate>()
        .map_or_else(|| Arc::from("unmatched"), |t| Arc::clone(&t.0));
    let caller = response
        .extensions()
        .get::<request_log::CallerTag>()
        .copied()
        .unwrap_or_default();
    let status = response.status().as_u16();
    if let Some(key_id) = caller.key_id {
        state.key_usage.record(key_id, at);
    }
    request_log::record_metrics(&method, &endpoint, status, latency);
    let Some((request_id, user_agent, request_bytes, client)) = logged else {
        return response;
    };
    let entry = rampart_store::RequestLogEntry {
        at,
        team_id: caller.team_id,
        key_id: caller.key_id,
        user_id: caller.user_id,
        method,
        endpoint,
        status,
        latency_us: i64::try_from(latency.as_micros()).unwrap_or(i64::MAX),
        request_bytes,
        response_bytes: 0,
        client_ip: client.map(request_log::ip_text),
        user_agent,
        request_id,
    };
    let (parts, body) = response.into_parts();
    if let Some(size) = http_body::Body::size_hint(&body).exact() {
        let mut entry = entry;
        entry.response_bytes = i64::try_from(size).unwrap_or(i64::MAX);
        state.request_log.submit(entry);
        return Response::from_parts(parts, body);
    }
    // A streamed body: counted as it goes, logged when it ends (or the client goes away).
    let body = request_log::counted_body(body, entry, Arc::clone(&state.request_log));
    Response::from_parts(parts, body)
}
