//! API key tokens (DESIGN §4): `rk_live_` or `rk_test_` followed by 64 lowercase hex digits
//! (256 random bits). The secret exists in memory only long enough to be shown once; the
//! store keeps its SHA-256.

use std::fmt;

use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

const LIVE_PREFIX: &str = "rk_live_";
const TEST_PREFIX: &str = "rk_test_";
const HEX_LEN: usize = 64;
/// Total length of a key: prefix (8) + 64 hex.
pub const API_KEY_LEN: usize = 8 + HEX_LEN;

/// Live keys act for real; test keys create data marked as test data and never start real
/// scans or send real notifications.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApiKeyKind {
    Live,
    Test,
}

impl ApiKeyKind {
    pub fn prefix(self) -> &'static str {
        match self {
            ApiKeyKind::Live => LIVE_PREFIX,
            ApiKeyKind::Test => TEST_PREFIX,
        }
    }
}

/// The full key. Deliberately not `Display`/`Debug`-printable, so it cannot end up in a log
/// line by accident; [`ApiKeySecret::reveal`] is the one way out.
pub struct ApiKeySecret(String);

impl ApiKeySecret {
    pub fn generate(kind: ApiKeyKind) -> Self {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        ApiKeySecret(format!("{}{}", kind.prefix(), hex::encode(bytes)))
    }

    /// Accepts text that has the shape of a key. Shape alone says nothing about validity.
    pub fn parse(text: &str) -> Option<Self> {
        let kind_ok = text.starts_with(LIVE_PREFIX) || text.starts_with(TEST_PREFIX);
        let hex_ok = text.len() == API_KEY_LEN
            && text[8..]
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        (kind_ok && hex_ok).then(|| ApiKeySecret(text.to_string()))
    }

    pub fn kind(&self) -> ApiKeyKind {
        if self.0.starts_with(TEST_PREFIX) {
            ApiKeyKind::Test
        } else {
            ApiKeyKind::Live
        }
    }

    pub fn hash(&self) -> ApiKeyHash {
        ApiKeyHash(Sha256::digest(self.0.as_bytes()).into())
    }

    /// The masked form shown after creation: prefix, bullets, last six characters.
    pub fn masked(&self) -> String {
        mask(self.kind(), &self.0[self.0.len() - 6..])
    }

    pub fn last_six(&self) -> &str {
        &self.0[self.0.len() - 6..]
    }

    /// The full key, for the single moment it is shown to its owner.
    pub fn reveal(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKeySecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKeySecret({})", self.masked())
    }
}

/// `rk_live_••••••a1b2c3`: what lists show.
pub fn mask(kind: ApiKeyKind, last_six: &str) -> String {
    format!("{}••••••{}", kind.prefix(), last_six)
}

/// SHA-256 of a full key: the only form the store keeps.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ApiKeyHash(pub [u8; 32]);

impl ApiKeyHash {
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok().map(ApiKeyHash)
    }

    /// Constant-time equality, for comparing a presented key's hash with a stored one.
    pub fn matches(&self, other: &ApiKeyHash) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl fmt::Debug for ApiKeyHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKeyHash({}…)", hex::encode(&self.0[..4]))
    }
}

/// Who in a team may create API keys: a team setting, because seed 003 lets every user
/// create keys and seed 004 only those who manage the team's settings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum ApiKeyCreation {
    /// Every member of the team (seed 003); the default.
    #[default]
    Members,
    /// Owners and admins only (seed 004's `settings.manage`).
    Admins,
}

impl ApiKeyCreation {
    pub const NAMES: &'static [&'static str] = &["members", "admins"];

    pub fn as_str(self) -> &'static str {
        match self {
            ApiKeyCreation::Members => "members",
            ApiKeyCreation::Admins => "admins",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "members" => Some(ApiKeyCreation::Members),
            "admins" => Some(ApiKeyCreation::Admins),
            _ => None,
        }
    }

    /// Whether a person with `role` may create (or rotate into) a new key.
    pub fn allows(self, role: crate::Role) -> bool {
        match self {
            ApiKeyCreation::Members => role != crate::Role::Service,
            ApiKeyCreation::Admins => role.is_admin(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_creation_setting_admits_the_documented_roles() {
        use crate::Role;
        for role in [Role::Owner, Role::Admin, Role::Member, Role::Viewer] {
            assert!(ApiKeyCreation::Members.allows(role), "{role}");
        }
        assert!(ApiKeyCreation::Admins.allows(Role::Owner));
        assert!(ApiKeyCreation::Admins.allows(Role::Admin));
        assert!(!ApiKeyCreation::Admins.allows(Role::Member));
        assert!(!ApiKeyCreation::Admins.allows(Role::Viewer));
        assert!(!ApiKeyCreation::Members.allows(Role::Service));
        for name in ApiKeyCreation::NAMES {
            assert_eq!(ApiKeyCreation::parse(name).unwrap().as_str(), *name);
        }
        assert_eq!(ApiKeyCreation::parse("everyone"), None);
        assert_eq!(ApiKeyCreation::default(), ApiKeyCreation::Members);
    }

    #[test]
    fn generated_keys_have_the_documented_shape() {
        let live = ApiKeySecret::generate(ApiKeyKind::Live);
        assert_eq!(live.reveal().len(), API_KEY_LEN);
        assert!(live.reveal().starts_with("rk_live_"));
        assert!(ApiKeySecret::parse(live.reveal()).is_some());
        let test = ApiKeySecret::generate(ApiKeyKind::Test);
        assert_eq!(test.kind(), ApiKeyKind::Test);
        assert_ne!(live.hash(), ApiKeySecret::generate(ApiKeyKind::Live).hash());
    }

    #[test]
    fn malformed_keys_are_refused_by_shape() {
        let good = ApiKeySecret::generate(ApiKeyKind::Live);
        let upper = good.reveal().to_uppercase();
        for bad in [
            "",
            "rk_live_",
            &good.reveal()[..70],
            &format!("{}0", good.reveal()),
            &upper,
            &good.reveal().replace("rk_live_", "cvf_live"),
        ] {
            assert!(ApiKeySecret::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn masking_and_debug_never_show_the_secret() {
        let key = ApiKeySecret::generate(ApiKeyKind::Live);
        let masked = key.masked();
        assert!(masked.starts_with("rk_live_••••••"));
        assert!(masked.ends_with(key.last_six()));
        assert!(!format!("{key:?}").contains(&key.reveal()[8..40]));
        assert!(key
            .hash()
            .matches(&ApiKeySecret::parse(key.reveal()).unwrap().hash()));
    }
}
