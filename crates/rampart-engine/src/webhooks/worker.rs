//! The delivery worker every replica runs (unless told not to): fan events out to deliveries,
//! claim due deliveries under a lease, send them concurrently through the outbound guard,
//! record each attempt and its outcome.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use rampart_store::{ClaimedDelivery, DeliveryOutcome, DeliveryResult, Store};
use reqwest::Url;
use tokio::sync::{watch, Notify};
use tokio::task::JoinSet;

use super::signing::{self, WebhookSecret};
use super::WebhookSettings;
use crate::sync::{OutboundClient, SecretKey};

/// Events fanned out per pass.
const DISPATCH_BATCH: i64 = 500;
/// Bytes of a response kept in the delivery log.
pub const RESPONSE_EXCERPT_BYTES: usize = 1024;

/// One replica's delivery worker. Cheap to clone.
#[derive(Clone)]
pub struct DeliveryWorker {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    client: OutboundClient,
    settings: WebhookSettings,
    secret_key: SecretKey,
    worker_id: String,
    wake: Notify,
}

impl DeliveryWorker {
    pub fn new(
        store: Store,
        settings: WebhookSettings,
        secret_key: SecretKey,
    ) -> anyhow::Result<DeliveryWorker> {
        let client = OutboundClient::new(settings.outbound.clone())?;
        Ok(DeliveryWorker {
            inner: Arc::new(Inner {
                store,
                client,
                settings,
                secret_key,
                worker_id: format!("webhooks-{}", uuid::Uuid::new_v4()),
                wake: Notify::new(),
            }),
        })
    }

    pub fn settings(&self) -> &WebhookSettings {
        &self.inner.settings
    }

    pub fn client(&self) -> &OutboundClient {
        &self.inner.client
    }

    /// Asks the loop to look for work now (after a test event or a redelivery).
    pub fn wake(&self) {
        self.inner.wake.notify_one();
    }

    /// One pass: fan out what was recorded, then deliver what is due. Returns whether there
    /// was anything to do (the loop then goes again at once).
    pub async fn pass(&self) -> anyhow::Result<bool> {
        let inner = &self.inner;
        let dispatched = inner.store.dispatch_events(DISPATCH_BATCH).await?;
        let claimed = inner
            .store
            .claim_webhook_deliveries(
                &inner.worker_id,
                inner.settings.lease,
                inner.settings.batch_size as i64,
            )
            .await?;
        if claimed.is_empty() {
            return Ok(dispatched > 0);
        }
        let limit = Arc::new(tokio::sync::Semaphore::new(
            inner.settings.concurrency.max(1),
        ));
        let mut sending = JoinSet::new();
        for delivery in claimed {
            let worker = self.clone();
            let limit = Arc::clone(&limit);
            sending.spawn(async move {
                let _permit = limit.acquire_owned().await;
                worker.send(delivery).await
            });
        }
        let mut results = Vec::new();
        while let Some(result) = sending.join_next().await {
            match result {
                Ok(result) => results.push(result),
                Err(error) => tracing::error!(%error, "a webhook delivery task failed"),
            }
        }
        inner
            .store
            .record_delivery_results(&inner.worker_id, &results, inner.settings.disable_after)
            .await?;
        Ok(true)
    }

    /// Sends one delivery and decides its outcome from the answer and the schedule.
    async fn send(&self, delivery: ClaimedDelivery) -> DeliveryResult {
        let started_at = Utc::now();
        let clock = Instant::now();
        let answer = self.attempt(&delivery).await;
        let duration_ms = i64::try_from(clock.elapsed().as_millis()).unwrap_or(i64::MAX);
        let (status_code, response_excerpt, error) = match answer {
            Ok((status, excerpt)) => (Some(i64::from(status)), Some(excerpt), None),
            Err(error) => (None, None, Some(error)),
        };
        let settings = &self.inner.settings;
        let outcome = match status_code {
            Some(200..=299) => DeliveryOutcome::Delivered,
            Some(410) => DeliveryOutcome::Gone,
            _ => match settings.retry_delay(delivery.attempt) {
                Some(delay) => DeliveryOutcome::Retry(
                    Utc::now()
                        + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::hours(1)),
                ),
                None => DeliveryOutcome::GiveUp,
            },
        };
        let label = match &outcome {
            DeliveryOutcome::Delivered => "delivered",
            DeliveryOutcome::Gone => "gone",
            DeliveryOutcome::Retry(_) => "retry",
            DeliveryOutcome::GiveUp => "failed",
        };
        metrics::counter!("rampart_webhook_deliveries_total", "outcome" => label).increment(1);
        DeliveryResult {
            delivery_id: delivery.delivery_id,
            endpoint_id: delivery.endpoint_id,
            team_id: delivery.team_id,
            attempt: delivery.attempt,
            started_at,
            duration_ms,
            status_code,
            response_excerpt,
            error,
            outcome,
        }
    }

    /// The HTTP request: the status and the first KB of the body, or why there was none.
    async fn attempt(&self, delivery: &ClaimedDelivery) -> Result<(u16, String), String> {
        let inner = &self.inner;
        let open = |sealed: &[u8]| -> Result<WebhookSecret, String> {
            let bytes = inner
                .secret_key
                .decrypt(sealed)
                .map_err(|e| e.to_string())?;
            let text =
                String::from_utf8(bytes).map_err(|_| "stored secret is not text".to_string())?;
            WebhookSecret::parse(&text)
        };
        let current = open(&delivery.secret_ciphertext)?;
        let previous = match &delivery.previous_secret_ciphertext {
            Some(sealed) => open(sealed).ok(),
            None => None,
        };
        let body = delivery_body(&delivery.event);
        let webhook_id = webhook_id(delivery.event.id);
        let headers = signing::sign(
            &current,
            previous.as_ref(),
            &webhook_id,
            Utc::now().timestamp(),
            &body,
        );
        let url = Url::parse(&delivery.url).map_err(|e| format!("invalid URL: {e}"))?;
        // The guard: scheme and literal addresses here, every resolved address in the
        // client's resolver, redirects refused.
        inner
            .client
            .policy()
            .admit(url.as_str())
            .await
            .map_err(|e| e.to_string())?;
        let mut request = inner
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", &headers.webhook_id)
            .header("webhook-timestamp", &headers.webhook_timestamp)
            .header("webhook-signature", &headers.webhook_signature)
            .header("x-rampart-signature", &headers.rampart_signature)
            .header(
                "x-rampart-signature-256",
                format!("sha256={}", headers.rampart_signature),
            )
            .header("x-rampart-event", &delivery.event.event_type)
            .header("x-rampart-delivery", delivery.delivery_id.to_string())
            .body(body);
        if let Some(previous) = &headers.rampart_signature_previous {
            request = request.header("x-rampart-signature-previous", previous);
        }
        let response = request.send().await.map_err(describe_error)?;
        let status = response.status().as_u16();
        let excerpt = read_excerpt(response).await;
        Ok((status, excerpt))
    }

    /// Runs until `stop` turns true; a pass in progress finishes first (its leases would
    /// otherwise only be taken over after they expire).
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        loop {
            let busy = match self.pass().await {
                Ok(busy) => busy,
                Err(error) => {
                    tracing::warn!(%error, "webhook delivery pass failed");
                    false
                }
            };
            if *stop.borrow() {
                break;
            }
            if busy {
                continue;
            }
            tokio::select! {
                _ = stop.changed() => break,
                () = self.inner.wake.notified() => {}
                () = tokio::time::sleep(self.inner.settings.poll_interval) => {}
            }
        }
    }
}

/// Starts `worker`'s loop (what [`crate::Engine::start_workers`] spawns).
pub async fn run_worker(worker: DeliveryWorker, stop: watch::Receiver<bool>) {
    worker.run(stop).await;
}

/// The `webhook-id` of an event's deliveries: the same for every attempt, so receivers
/// dedupe by it.
pub fn webhook_id(event_id: i64) -> String {
    format!("evt_{event_id}")
}

/// The JSON body of a delivery: `{id, type, created_at, team_id, data}`.
pub fn delivery_body(event: &rampart_store::EventRecord) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "id": event.id,
        "type": event.event_type,
        "created_at": event.created_at,
        "team_id": event.team_id,
        "data": event.data,
    }))
    .unwrap_or_default()
}

/// The first [`RESPONSE_EXCERPT_BYTES`] of a body (lossy UTF-8); the rest is not read.
async fn read_excerpt(mut response: reqwest::Response) -> String {
    let mut bytes = Vec::new();
    while bytes.len() < RESPONSE_EXCERPT_BYTES {
        match tokio::time::timeout(Duration::from_secs(5), response.chunk()).await {
            Ok(Ok(Some(chunk))) => bytes.extend_from_slice(&chunk),
            _ => break,
        }
    }
    bytes.truncate(RESPONSE_EXCERPT_BYTES);
    String::from_utf8_lossy(&bytes).into_owned()
}

/// A transport error in one line, with its cause (timeouts, refused connections, the guard).
fn describe_error(error: reqwest::Error) -> String {
    let mut text = if error.is_timeout() {
        "timed out".to_string()
    } else if error.is_connect() {
        "connection failed".to_string()
    } else if error.is_redirect() {
        "redirects are not followed".to_string()
    } else {
        "request failed".to_string()
    };
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
