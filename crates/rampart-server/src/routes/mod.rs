//! One module per resource; handlers parse, call one store function, map the result.

pub mod health;
pub mod me;
pub mod sync_sources;
