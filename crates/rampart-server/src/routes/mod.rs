//! One module per resource; handlers parse, call one store function, map the result.

pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod health;
pub mod me;
pub mod seed_api_keys;
pub mod teams;
