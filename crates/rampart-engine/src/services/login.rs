//! Login codes (seed 003's passwordless OTP): e-mail addresses as the server accepts them,
//! and issuing a code, for `POST /api/v1/auth/otp` and `rampart admin login-code` alike.

use chrono::{DateTime, Utc};
use rampart_store::{AuditEvent, NewOtp, Store, StoreError};
use rand::{Rng, RngCore};
use sha2::{Digest, Sha256};

use crate::error::{ErrorCode, ServiceError};

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

#[cfg(test)]
mod tests {
    use super::*;

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
