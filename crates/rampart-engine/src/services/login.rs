//! Login codes (seed 003's passwordless OTP): e-mail addresses as the server accepts them,
//! and issuing a code, for `POST /api/v1/auth/otp` and `rampart admin login-code` alike.

use chrono::{DateTime, Utc};
use rampart_store::{AuditActor, AuditEvent, NewOtp, Store, StoreError};
use rand::{Rng, RngCore};
use sha2::{Digest, Sha256};

use crate::actor::RequestOrigin;
use crate::error::{ErrorCode, ServiceError};
use crate::Engine;

/// The longest address SMTP carries (RFC 5321's path limit less the brackets).
const EMAIL_MAX: usize = 254;

/// An e-mail address, trimmed and lower-cased; else 422 naming `email`.
///
/// Valid means what the mailer (lettre, over the `email_address` crate) can send to, so an
/// address accepted here can always receive its code: that includes a host without a dot
/// (`admin@localhost`, the bootstrap admin's default on a self-hosted server).
pub fn normalize_email(email: &str) -> Result<String, ServiceError> {
    let email = email.trim().to_lowercase();
    if email.len() <= EMAIL_MAX && email.parse::<lettre::Address>().is_ok() {
        Ok(email)
    } else {
        Err(ServiceError::new(
            ErrorCode::ValidationFailed,
            "`email` is not a valid e-mail address",
        ))
    }
}

/// SHA-256 of salt and code: the only form of a login code that is stored.
pub fn code_hash(salt: &[u8], code: &str) -> Vec<u8> {
    let mut hasher = Sha256::new();
    hasher.update(salt);
    hasher.update(code.as_bytes());
    hasher.finalize().to_vec()
}

/// Creates a fresh 6-digit code for `email` (normalised), valid until `expires_at` and
/// redeemable once at `POST /api/v1/auth/otp/verify`; stores only its salted hash and
/// records `event`. Returns the code, for the caller to deliver.
pub async fn issue_login_code(
    store: &Store,
    email: &str,
    source_ip: Option<&str>,
    expires_at: DateTime<Utc>,
    event: &AuditEvent,
    now: DateTime<Utc>,
) -> Result<String, StoreError> {
    let code = format!("{:06}", rand::thread_rng().gen_range(0..1_000_000u32));
    let mut salt = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    let code_hash = code_hash(&salt, &code);
    let otp = NewOtp {
        email,
        code_salt: &salt,
        code_hash: &code_hash,
        source_ip,
        expires_at,
    };
    store.create_otp(&otp, event, now).await?;
    Ok(code)
}

/// `POST /api/v1/auth/otp`: within the per-address and per-source-IP limits, issues a code
/// for `email` and mails it. Returns how long the code stays valid.
pub async fn request_login_code(
    engine: &Engine,
    origin: &RequestOrigin,
    email: &str,
) -> Result<chrono::Duration, ServiceError> {
    let email = normalize_email(email)?;
    let config = &engine.config;
    let now = engine.now();
    let source_ip = origin.source_ip.as_deref();
    let (by_email, by_ip) = engine
        .store
        .count_otp_requests(&email, source_ip, now - config.otp_window)
        .await?;
    if by_email >= config.otp_max_per_email || by_ip >= config.otp_max_per_ip {
        return Err(ServiceError::new(
            ErrorCode::RateLimited,
            "too many login codes requested; wait before asking for another",
        ));
    }
    let event = origin.stamp(
        AuditEvent::new(
            None,
            AuditActor::anonymous(email.clone()),
            "auth.otp_request",
        )
        .target("email", &email),
    );
    let expires_at = now + config.otp_ttl;
    let code = issue_login_code(&engine.store, &email, source_ip, expires_at, &event, now).await?;
    let (subject, text) = login_code_mail(&code, config.otp_ttl);
    if let Err(error) = engine.mailer.send(&email, &subject, text).await {
        tracing::error!(%error, "cannot send the login code e-mail");
        return Err(ServiceError::new(
            ErrorCode::ServiceUnavailable,
            "the login code could not be sent; try again later",
        ));
    }
    Ok(config.otp_ttl)
}

/// Subject and text of the e-mail that carries a login code.
fn login_code_mail(code: &str, ttl: chrono::Duration) -> (String, String) {
    let minutes = ttl.num_minutes().max(1);
    let text = format!(
        "Your Rampart login code is {code}\n\nIt is valid for {minutes} minutes and can be used once.\n\
         If you did not ask for it, ignore this message.\n"
    );
    (format!("Your Rampart login code: {code}"), text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_login_mail_names_the_code_and_whole_minutes() {
        let (subject, text) = login_code_mail("012345", chrono::Duration::minutes(10));
        assert_eq!(subject, "Your Rampart login code: 012345");
        assert!(text.starts_with("Your Rampart login code is 012345\n\n"));
        assert!(text.contains("valid for 10 minutes"));
        let (_, short) = login_code_mail("1", chrono::Duration::seconds(20));
        assert!(short.contains("valid for 1 minutes"), "{short}");
    }

    #[test]
    fn addresses_the_server_creates_are_accepted() {
        for (given, normal) in [
            ("admin@localhost", "admin@localhost"),
            ("  Alice@Example.COM ", "alice@example.com"),
            (
                "ops+rampart@mail.example.org",
                "ops+rampart@mail.example.org",
            ),
            ("root@rampart-host", "root@rampart-host"),
        ] {
            assert_eq!(normalize_email(given).unwrap(), normal, "{given}");
        }
    }

    #[test]
    fn things_that_are_not_addresses_are_refused() {
        let long = format!("{}@example.com", "a".repeat(250));
        for bad in [
            "",
            "admin",
            "@localhost",
            "admin@",
            "a b@example.com",
            "a@b@example.com",
            "admin@local host",
            "admin@-localhost",
            "Admin <admin@localhost>",
            "admin\n@localhost",
            "ad\u{0}min@localhost",
            long.as_str(),
        ] {
            assert!(normalize_email(bad).is_err(), "{bad:?}");
        }
    }
}
