//! Rampart's domain: the types every layer shares (scopes, API key tokens, roles).
//! No HTTP, no SQL.

pub mod alert_match;
pub mod api_key;
pub mod code_finding_diff;
pub mod event;
pub mod finding_diff;
pub mod incident;
pub mod role;
pub mod scope;
pub mod text;
pub mod triage;
pub mod usage;
pub mod vex_match;
pub mod vex_workflow;

pub use api_key::{ApiKeyCreation, ApiKeyHash, ApiKeyKind, ApiKeySecret};
pub use event::{EventType, UnknownEventType};
pub mod match_index;
pub mod package_name;
pub mod page;

pub use package_name::{normalize_package_name, package_lookup_key};
pub use page::{PageError, PageRequest, DEFAULT_PER_PAGE, MAX_PER_PAGE};
pub use role::{Role, UnknownRole};
pub use scope::{Scope, ScopeSet, UnknownScope};
pub use text::{clean_name, clean_text, TextError};
