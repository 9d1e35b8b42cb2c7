//! The server's secret key and what it protects: sync-source API keys are encrypted at rest
//! with AES-256-GCM (random 96-bit nonce per value, stored in front of the ciphertext).

use std::fmt;
use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use anyhow::{bail, Context};
use base64::Engine;
use rand::RngCore;

const NONCE_LEN: usize = 12;

/// 32 secret bytes. Never printed: `Debug` shows nothing of it.
#[derive(Clone)]
pub struct SecretKey([u8; 32]);

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(…)")
    }
}

impl SecretKey {
    pub fn generate() -> SecretKey {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        SecretKey(bytes)
    }

    pub fn from_bytes(bytes: [u8; 32]) -> SecretKey {
        SecretKey(bytes)
    }

    /// 32 bytes as 64 hex digits or as base64 (standard or URL-safe, padded or not).
    pub fn parse(text: &str) -> anyhow::Result<SecretKey> {
        let text = text.trim();
        let bytes = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            hex::decode(text).context("secret key: invalid hex")?
        } else {
            let engines = [
                base64::engine::general_purpose::STANDARD,
                base64::engine::general_purpose::STANDARD_NO_PAD,
                base64::engine::general_purpose::URL_SAFE,
                base64::engine::general_purpose::URL_SAFE_NO_PAD,
            ];
            match engines.iter().find_map(|engine| engine.decode(text).ok()) {
                Some(bytes) => bytes,
                None => bail!("secret key must be 32 bytes as 64 hex digits or base64"),
            }
        };
        let Ok(bytes) = <[u8; 32]>::try_from(bytes.as_slice()) else {
            bail!(
                "secret key must be 32 bytes (64 hex digits or base64), got {} bytes",
                bytes.len()
            );
        };
        Ok(SecretKey(bytes))
    }

    /// The key stored at `path` (hex), created with mode 0600 on first use. For the embedded
    /// database only: replicas sharing PostgreSQL must be given one key explicitly.
    pub fn load_or_create(path: &Path) -> anyhow::Result<SecretKey> {
        if let Some(key) = SecretKey::load(path)? {
            return Ok(key);
        }
        let key = SecretKey::generate();
        write_private_file(path, &hex::encode(key.0))?;
        tracing::info!(path = %path.display(), "generated the server secret key");
        Ok(key)
    }

    /// The key stored at `path`, or `None` when there is no such file.
    pub fn load(path: &Path) -> anyhow::Result<Option<SecretKey>> {
        match std::fs::read_to_string(path) {
            Ok(text) => SecretKey::parse(&text)
                .map(Some)
                .with_context(|| format!("reading secret key file {}", path.display())),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(error)
                .with_context(|| format!("cannot read secret key file {}", path.display())),
        }
    }

    /// Writes this key to `path` (hex, mode 0600) where none exists yet.
    pub fn install(&self, path: &Path) -> anyhow::Result<()> {
        write_private_file(path, &hex::encode(self.0))
    }

    /// Whether both are the same key.
    pub fn same_as(&self, other: &SecretKey) -> bool {
        self.0 == other.0
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new((&self.0).into())
    }

    /// `nonce || ciphertext || tag`.
    /// HMAC-SHA256 of `message` under a key derived from this one for `purpose`: for tokens
    /// the server hands out and later checks (unsubscribe links). Purposes never share a key.
    pub fn mac(&self, purpose: &str, message: &[u8]) -> [u8; 32] {
        let derived = hmac_sha256(&self.0, purpose.as_bytes());
        hmac_sha256(&derived, message)
    }

    pub fn encrypt(&self, plaintext: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = self
            .cipher()
            .encrypt(Nonce::from_slice(&nonce), plaintext)
            .expect("AES-GCM encryption of an in-memory value cannot fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        out
    }

    /// Fails when the value was sealed with another key or altered.
    pub fn decrypt(&self, sealed: &[u8]) -> anyhow::Result<Vec<u8>> {
        if sealed.len() < NONCE_LEN {
            bail!("encrypted value too short");
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        self.cipher()
            .decrypt(Nonce::from_slice(nonce), ciphertext)
            .map_err(|_| {
                anyhow::anyhow!(
                    "cannot decrypt a stored secret: the server secret key differs from the one it was stored with"
                )
            })
    }
}

#[cfg(unix)]
fn write_private_file(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create secret key file {}", path.display()))?;
    writeln!(file, "{text}")?;
    file.sync_all()?;
    Ok(())
}

#[cfg(not(unix))]
fn write_private_file(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, format!("{text}\n"))
        .with_context(|| format!("cannot create secret key file {}", path.display()))
}

/// What a client may see of an API key: a short prefix, `***`, the last three characters;
/// keys too short to show any of them safely are only `***`.
pub fn mask_api_key(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.is_empty() {
        return String::new();
    }
    if chars.len() < 12 {
        return "***".to_string();
    }
    let prefix: String = chars[..3].iter().collect();
    let suffix: String = chars[chars.len() - 3..].iter().collect();
    format!("{prefix}***{suffix}")
}

/// HMAC-SHA256 (RFC 2104) with a 32-byte key.
fn hmac_sha256(key: &[u8; 32], message: &[u8]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut inner_pad = [0x36u8; 64];
    let mut outer_pad = [0x5cu8; 64];
    for (i, byte) in key.iter().enumerate() {
        inner_pad[i] ^= byte;
        outer_pad[i] ^= byte;
    }
    let inner = Sha256::new()
        .chain_update(inner_pad)
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(outer_pad)
        .chain_update(inner)
        .finalize()
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_pythons_hmac_module() {
        let key: [u8; 32] = std::array::from_fn(|i| i as u8);
        assert_eq!(
            hex::encode(hmac_sha256(&key, b"hello")),
            "53c40272a70c15ca4ee0af4df1f155fd6c41e00ce2307d8987ecd4bb36a7e990"
        );
        let secret = SecretKey::from_bytes(key);
        assert_ne!(secret.mac("a", b"m"), secret.mac("b", b"m"));
    }

    #[test]
    fn round_trip_and_tamper_detection() {
        let key = SecretKey::generate();
        let sealed = key.encrypt(b"sk-nvd-abc123secret");
        assert!(
            !sealed.windows(6).any(|w| w == b"abc123"),
            "ciphertext does not contain the plaintext"
        );
        assert_eq!(key.decrypt(&sealed).unwrap(), b"sk-nvd-abc123secret");
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(key.decrypt(&tampered).is_err());
        assert!(SecretKey::generate().decrypt(&sealed).is_err());
        // Two encryptions of one value differ (fresh nonce).
        assert_ne!(key.encrypt(b"x"), key.encrypt(b"x"));
    }

    #[test]
    fn parses_hex_and_base64_of_exactly_32_bytes() {
        let hex_key = "00".repeat(31) + "ff";
        assert_eq!(SecretKey::parse(&hex_key).unwrap().0[31], 0xff);
        let b64 = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        assert_eq!(SecretKey::parse(&b64).unwrap().0, [7u8; 32]);
        assert!(SecretKey::parse("abcd").is_err());
        let short = base64::engine::general_purpose::STANDARD.encode([7u8; 16]);
        assert!(SecretKey::parse(&short).is_err());
    }

    #[test]
    fn persisted_key_is_private_and_stable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.key");
        let first = SecretKey::load_or_create(&path).unwrap();
        let second = SecretKey::load_or_create(&path).unwrap();
        assert_eq!(first.0, second.0);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(format!("{first:?}"), "SecretKey(…)");
    }

    #[test]
    fn masks_show_at_most_six_characters() {
        assert_eq!(mask_api_key("sk-nvd-abc123secret"), "sk-***ret");
        assert_eq!(mask_api_key("short"), "***");
        assert_eq!(mask_api_key(""), "");
    }
}
