//! Webhook secrets and signatures. One secret, two verifiers:
//!
//! - Seed 002's recipe: `hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()`, the
//!   HMAC-SHA256 of the raw body keyed with the secret's text as shown
//!   (`X-Rampart-Signature: <hex>`, and `X-Rampart-Signature-256: sha256=<hex>` like GitHub).
//! - Standard Webhooks: the HMAC-SHA256 of `{webhook-id}.{webhook-timestamp}.{body}` keyed
//!   with the base64-decoded part of the secret after `whsec_`, sent base64-encoded as
//!   `webhook-signature: v1,<base64>`; during a rotation one `v1,` signature per live secret,
//!   space-separated.
//!
//! So a secret is always `whsec_` + standard base64 (with padding) of 24–64 random bytes: the
//! form the Standard Webhooks libraries decode. Generated secrets have 32 bytes.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

pub const SECRET_PREFIX: &str = "whsec_";
const MIN_SECRET_BYTES: usize = 24;
const MAX_SECRET_BYTES: usize = 64;

/// A webhook signing secret (`whsec_…`). `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(String);

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(…)")
    }
}

impl WebhookSecret {
    pub fn generate() -> WebhookSecret {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        WebhookSecret(format!("{SECRET_PREFIX}{}", STANDARD.encode(bytes)))
    }

    /// A secret the caller supplies: `whsec_` + standard base64 of 24–64 bytes.
    pub fn parse(text: &str) -> Result<WebhookSecret, String> {
        let text = text.trim();
        let Some(encoded) = text.strip_prefix(SECRET_PREFIX) else {
            return Err(format!(
                "must start with `{SECRET_PREFIX}` followed by base64 (e.g. `{SECRET_PREFIX}` + `openssl rand -base64 32`)"
            ));
        };
        let bytes = STANDARD.decode(encoded).map_err(|_| {
            format!("the part after `{SECRET_PREFIX}` must be standard base64 (with padding)")
        })?;
        if !(MIN_SECRET_BYTES..=MAX_SECRET_BYTES).contains(&bytes.len()) {
            return Err(format!(
                "must encode {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} bytes, got {}",
                bytes.len()
            ));
        }
        Ok(WebhookSecret(text.to_string()))
    }

    /// The text shown once to its owner (and stored encrypted).
    pub fn reveal(&self) -> &str {
        &self.0
    }

    /// The Standard Webhooks key: the bytes after `whsec_`.
    fn standard_key(&self) -> Vec<u8> {
        let encoded = self.0.strip_prefix(SECRET_PREFIX).unwrap_or(&self.0);
        STANDARD
            .decode(encoded)
            .unwrap_or_else(|_| self.0.as_bytes().to_vec())
    }

    /// `whsec_…` + the last 4 characters: how listings name it.
    pub fn masked(&self) -> String {
        let tail: String = self
            .0
            .chars()
            .rev()
            .take(4)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        format!("{SECRET_PREFIX}••••{tail}")
    }
}

fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// Seed 002's signature: hex HMAC-SHA256 of the raw body, keyed with the secret's text.
pub fn seed_signature(secret: &WebhookSecret, body: &[u8]) -> String {
    hex::encode(hmac_sha256(secret.reveal().as_bytes(), &[body]))
}

/// One Standard Webhooks signature (`v1,<base64>`) over `id.timestamp.body`.
pub fn standard_signature(secret: &WebhookSecret, id: &str, timestamp: i64, body: &[u8]) -> String {
    let timestamp = timestamp.to_string();
    let mac = hmac_sha256(
        &secret.standard_key(),
        &[id.as_bytes(), b".", timestamp.as_bytes(), b".", body],
    );
    format!("v1,{}", STANDARD.encode(mac))
}

/// The signature headers of one delivery attempt, newest secret first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHeaders {
    pub webhook_id: String,
    pub webhook_timestamp: String,
    /// Space-separated `v1,…` signatures, one per live secret.
    pub webhook_signature: String,
    /// Hex HMAC with the current secret (`X-Rampart-Signature`).
    pub rampart_signature: String,
    /// Hex HMAC with the previous secret during a rotation (`X-Rampart-Signature-Previous`).
    pub rampart_signature_previous: Option<String>,
}

/// Signs `body` with `current` and, during a rotation, `previous` too.
pub fn sign(
    current: &WebhookSecret,
    previous: Option<&WebhookSecret>,
    webhook_id: &str,
    timestamp: i64,
    body: &[u8],
) -> SignatureHeaders {
    let mut signatures = vec![standard_signature(current, webhook_id, timestamp, body)];
    if let Some(previous) = previous {
        signatures.push(standard_signature(previous, webhook_id, timestamp, body));
    }
    SignatureHeaders {
        webhook_id: webhook_id.to_string(),
        webhook_timestamp: timestamp.to_string(),
        webhook_signature: signatures.join(" "),
        rampart_signature: seed_signature(current, body),
        rampart_signature_previous: previous.map(|p| seed_signature(p, body)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_whsec_base64_of_enough_bytes() {
        let generated = WebhookSecret::generate();
        assert!(generated.reveal().starts_with("whsec_"));
        assert_eq!(WebhookSecret::parse(generated.reveal()).unwrap(), generated);
        assert!(WebhookSecret::parse("plain-text-secret").is_err());
        assert!(WebhookSecret::parse("whsec_c2hvcnQ=").is_err());
        assert!(WebhookSecret::parse("whsec_not base64!").is_err());
        assert!(!format!("{generated:?}").contains(generated.reveal()));
        assert!(generated
            .masked()
            .ends_with(&generated.reveal()[generated.reveal().len() - 4..]));
    }

    #[test]
    fn standard_webhooks_reference_vector() {
        // The Standard Webhooks specification's example (reference test of its libraries).
        let secret = WebhookSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".to_string());
        let signature = standard_signature(
            &secret,
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn rotation_signs_with_both_secrets() {
        let (new, old) = (WebhookSecret::generate(), WebhookSecret::generate());
        let headers = sign(&new, Some(&old), "evt_1", 1_700_000_000, b"{}");
        let parts: Vec<&str> = headers.webhook_signature.split(' ').collect();
        assert_eq!(parts.len(), 2);
        assert_eq!(
            parts[0],
            standard_signature(&new, "evt_1", 1_700_000_000, b"{}")
        );
        assert_eq!(headers.rampart_signature, seed_signature(&new, b"{}"));
        assert_eq!(
            headers.rampart_signature_previous,
            Some(seed_signature(&old, b"{}"))
        );
    }
}
