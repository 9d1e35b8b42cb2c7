//! The API request log (issue 20, seed 003 "Every API request is logged"): one entry per
//! request (caller, team, route template, method, status, latency, bytes, client IP, user
//! agent, request id, time), handed to a bounded buffer and written in batches by a
//! background task, so a request never waits for the database. When the buffer is full the
//! entry is dropped and counted (`rampart_request_log_dropped_total`), never blocking.
//!
//! The same layer counts key usage (the key list's `requests_count` and `last_used_at`) from
//! the very entries it logs, with the same time, so both always agree; and records the
//! Prometheus request metrics (by route template and status).
//!
//! Logged: every request but the health probes, `/metrics` and the dashboard's static assets.

use std::borrow::Cow;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, MatchedPath, Request};
use axum::http::{HeaderMap, HeaderName, Method};
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;
use rampart_engine::{Clock, RequestLogSettings};
use rampart_store::{RequestLogEntry, Store};
use tokio::sync::{mpsc, watch, Mutex, Notify};

/// The route template a request matched, set by [`tag_route`] on the response.
#[derive(Debug, Clone)]
pub struct RouteTemplate(pub Arc<str>);

/// Who made a request, as authentication resolved it; set on the response by
/// `auth::identify`.
#[derive(Debug, Clone, Copy, Default)]
pub struct CallerTag {
    pub team_id: Option<i64>,
    pub key_id: Option<i64>,
    pub user_id: Option<i64>,
}

/// The request id header (set by the server when the client sent none).
pub(crate) static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Longest user agent kept, in characters.
pub(crate) const USER_AGENT_MAX: usize = 512;

/// The buffer between requests and the writer, and its counters.
pub struct RequestLog {
    settings: RequestLogSettings,
    sender: mpsc::Sender<RequestLogEntry>,
    receiver: Mutex<mpsc::Receiver<RequestLogEntry>>,
    dropped: AtomicU64,
    written: AtomicU64,
    /// Wakes the writer once a batch is waiting, before its next tick: under load a tick's
    /// worth of entries can be more than the buffer holds.
    batch_waiting: Notify,
}

impl RequestLog {
    pub fn new(settings: RequestLogSettings) -> Self {
        let (sender, receiver) = mpsc::channel(settings.buffer.max(1));
        RequestLog {
            settings,
            sender,
            receiver: Mutex::new(receiver),
            dropped: AtomicU64::new(0),
            written: AtomicU64::new(0),
            batch_waiting: Notify::new(),
        }
    }

    /// Hands an entry to the writer; a full buffer drops it (counted), never waits. The
    /// writer is woken only once a whole batch waits (not per entry).
    pub fn submit(&self, entry: RequestLogEntry) {
        if self.sender.try_send(entry).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            metrics::counter!("rampart_request_log_dropped_total").increment(1);
        }
        if self.queued() >= self.settings.batch.max(1) {
            self.batch_waiting.notify_one();
        }
    }

    /// Entries dropped since start because the buffer was full (or could not be written).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    pub fn written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }

    /// Entries waiting in the buffer.
    pub fn queued(&self) -> usize {
        self.sender.max_capacity() - self.sender.capacity()
    }

    /// Writes what is buffered every `flush_interval`, and as soon as a whole batch waits
    /// (at once while full batches keep coming), until `stop`, then everything left.
    pub async fn run_writer(self: Arc<Self>, store: Store, mut stop: watch::Receiver<bool>) {
        // The first tick one interval after start, not at once: when the writer task starts
        // late on a busy machine, an immediate tick could write the first requests' entries
        // at an arbitrary moment (the full-buffer test counts the drops exactly).
        let period = self.settings.flush_interval;
        let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticker.tick() => self.flush(&store).await,
                _ = self.batch_waiting.notified() => self.write(&store, true).await,
                _ = stop.changed() => break,
            }
        }
        self.flush(&store).await;
    }

    /// Writes every buffered entry, a batch per transaction.
    pub async fn flush(&self, store: &Store) {
        self.write(store, false).await;
    }

    /// Writes buffered entries a batch per transaction: all of them, or (`whole_batches`)
    /// only whole batches, leaving the rest to the next tick or batch (a transaction per
    /// remainder would double the transactions under load).
    async fn write(&self, store: &Store, whole_batches: bool) {
        let mut receiver = self.receiver.lock().await;
        let batch = self.settings.batch.max(1);
        loop {
            // Nothing buffered: done (`recv_many` would wait for the next entry).
            if receiver.is_empty() || (whole_batches && receiver.len() < batch) {
                return;
            }
            let mut entries = Vec::with_capacity(batch.min(receiver.len()));
            receiver.recv_many(&mut entries, batch).await;
            if entries.is_empty() {
                return;
            }
            let full = entries.len() == batch;
            match store.write_request_log(&entries).await {
                Ok(()) => {
                    self.written
                        .fetch_add(entries.len() as u64, Ordering::Relaxed);
                }
                Err(error) => {
                    // Counted with the drops: the figures say how complete the log is.
                    tracing::warn!(%error, entries = entries.len(), "cannot write the request log");
                    self.dropped
                        .fetch_add(entries.len() as u64, Ordering::Relaxed);
                    metrics::counter!("rampart_request_log_dropped_total")
                        .increment(entries.len() as u64);
                }
            }
            if !full {
                return;
            }
        }
    }

    /// Deletes entries older than the retention every `prune_interval` (the first time at
    /// start).
    pub async fn run_pruner(self: Arc<Self>, store: Store, clock: Clock) {
        let mut ticker = tokio::time::interval(self.settings.prune_interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let cutoff =
                clock.now() - chrono::Duration::days(i64::from(self.settings.retention_days));
            match store.prune_request_log(cutoff).await {
                Ok((rows, rollups)) if rows + rollups > 0 => {
                    tracing::info!(rows, rollups, %cutoff, "pruned the request log");
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "cannot prune the request log"),
            }
        }
    }
}

/// Route layer of every route: remembers its template on the response for
/// [`crate::middleware::record_request`]
/// (outer layers run before routing and cannot see it).
pub async fn tag_route(request: Request, next: Next) -> Response {
    let template = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| RouteTemplate(Arc::from(path.as_str())));
    let mut response = next.run(request).await;
    if let Some(template) = template {
        response.extensions_mut().insert(template);
    }
    response
}

/// A request's method as the log keeps it: the standard ones without an allocation.
pub(crate) fn method_name(method: &Method) -> Cow<'static, str> {
    Cow::Borrowed(match method.as_str() {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        other => return Cow::Owned(other.to_owned()),
    })
}

pub(crate) fn is_logged(path: &str) -> bool {
    !(crate::ratelimit::is_exempt(path) || path == "/metrics" || path.starts_with("/assets/"))
}

/// The client's address: the peer's, or, when the peer is a trusted proxy, the nearest
/// address in `X-Forwarded-For` (read from the right) that is not a trusted proxy.
pub fn client_ip(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[IpNet]) -> Option<IpAddr> {
    let peer = peer?;
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        let Some(ip) = parse_hop(hop) else {
            // Not an address: whatever is left of it was not written by a trusted proxy.
            break;
        };
        client = ip;
        if !is_trusted(&ip) {
            break;
        }
    }
    Some(client)
}

/// `203.0.113.7`, `203.0.113.7:5123`, `2001:db8::1` or `[2001:db8::1]:5123`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip);
    }
    hop.parse::<SocketAddr>().ok().map(|addr| addr.ip())
}

/// The peer address of a request (as the server accepted it).
pub fn peer_ip(request: &Request) -> Option<IpAddr> {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
}

/// A header's text, truncated; `name` as a `HeaderName` (a `&str` would be parsed and hashed
/// into one on every call).
pub(crate) fn header_text(headers: &HeaderMap, name: &HeaderName, max: usize) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|v| truncated(v, max).to_owned())
}

/// The first `max` characters of `text` (a slice of it: no copy character by character).
fn truncated(text: &str, max: usize) -> &str {
    // At most `max` bytes is at most `max` characters.
    if text.len() <= max {
        return text;
    }
    match text.char_indices().nth(max) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

/// `ip` as text, as `IpAddr`'s `Display` writes it; IPv4 (nearly every client) without the
/// formatting machinery, which costs several times more on every logged request.
pub(crate) fn ip_text(ip: IpAddr) -> String {
    let IpAddr::V4(v4) = ip else {
        return ip.to_string();
    };
    let mut text = String::with_capacity(15);
    for (index, octet) in v4.octets().into_iter().enumerate() {
        if index > 0 {
            text.push('.');
        }
        if octet >= 100 {
            text.push(char::from(b'0' + octet / 100));
        }
        if octet >= 10 {
            text.push(char::from(b'0' + octet / 10 % 10));
        }
        text.push(char::from(b'0' + octet % 10));
    }
    text
}

pub(crate) fn record_metrics(method: &str, endpoint: &str, status: u16, latency: Duration) {
    let labels = [
        ("method", method.to_string()),
        ("route", endpoint.to_string()),
        ("status", status.to_string()),
    ];
    metrics::counter!("rampart_http_requests_total", &labels).increment(1);
    metrics::histogram!("rampart_http_request_duration_seconds", &labels)
        .record(latency.as_secs_f64());
}

/// `body`, counting its bytes as it streams and submitting `entry` to `log` when it ends
/// (or the client goes away).
pub(crate) fn counted_body(body: Body, entry: RequestLogEntry, log: Arc<RequestLog>) -> Body {
    Body::new(CountedBody {
        inner: body,
        bytes: 0,
        pending: Some((entry, log)),
    })
}

/// A response body that counts its bytes and submits the log entry when it is done.
struct CountedBody {
    inner: Body,
    bytes: u64,
    pending: Option<(RequestLogEntry, Arc<RequestLog>)>,
}

impl CountedBody {
    fn submit(&mut self) {
        if let Some((mut entry, log)) = self.pending.take() {
            entry.response_bytes = i64::try_from(self.bytes).unwrap_or(i64::MAX);
            log.submit(entry);
        }
    }
}

impl http_body::Body for CountedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    self.bytes += data.len() as u64;
                }
            }
            Poll::Ready(None) | Poll::Ready(Some(Err(_))) => self.submit(),
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for CountedBody {
    fn drop(&mut self) {
        self.submit();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn forwarded(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn addresses_and_headers_are_written_as_display_and_chars_would() {
        for ip in [
            "0.0.0.0",
            "127.0.0.1",
            "10.20.30.40",
            "192.168.100.255",
            "9.99.100.199",
            "2001:db8::1",
            "::ffff:10.0.0.1",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert_eq!(ip_text(ip), ip.to_string());
        }
        for (text, max) in [
            ("", 3),
            ("abc", 3),
            ("abcd", 3),
            ("héllo", 2),
            ("héllo", 4),
            ("ééé", 2),
        ] {
            assert_eq!(
                truncated(text, max),
                text.chars().take(max).collect::<String>()
            );
        }
    }

    #[test]
    fn forwarded_addresses_count_only_from_trusted_proxies() {
        let proxy: IpAddr = "10.0.0.5".parse().unwrap();
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let headers = forwarded("198.51.100.9, 203.0.113.7, 10.0.0.4");
        // From a trusted proxy: the nearest untrusted hop, read from the right.
        assert_eq!(
            client_ip(Some(proxy), &headers, &trusted),
            Some("203.0.113.7".parse().unwrap())
        );
        // From anyone else the header is ignored.
        let stranger: IpAddr = "192.0.2.1".parse().unwrap();
        assert_eq!(
            client_ip(Some(stranger), &headers, &trusted),
            Some(stranger)
        );
        // No trusted proxies configured: the peer.
        assert_eq!(client_ip(Some(proxy), &headers, &[]), Some(proxy));
        // Garbage stops the walk at the last address a trusted proxy wrote.
        let headers = forwarded("203.0.113.7, garbage, 10.0.0.4");
        assert_eq!(
            client_ip(Some(proxy), &headers, &trusted),
            Some("10.0.0.4".parse().unwrap())
        );
        let headers = forwarded("[2001:db8::1]:443");
        assert_eq!(
            client_ip(Some(proxy), &headers, &trusted),
            Some("2001:db8::1".parse().unwrap())
        );
    }
}
