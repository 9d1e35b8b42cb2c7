//! Identity and access beyond bootstrap, one module per subject. Every mutation records its
//! audit event in the same transaction.

mod api_keys;
mod rate_limits;
mod sessions;
mod teams;

pub use api_keys::{ApiKeyInfo, KeyOwner, KeyStatusFilter, KeyVisibility, NewApiKey};
pub use sessions::{LoginOutcome, NewOtp, NewSession, OtpRecord, SessionRecord};
pub use teams::{MemberInfo, PlanChange, TeamInfo};
