//! The rules request fields share, as 422 `validation_failed` errors naming the field: free
//! text (names, descriptions) by [`rampart_core::text`], and list limits, which every route
//! checks before it looks at the items (no per-item work on a list it will refuse anyway).

use crate::error::{ErrorCode, ServiceError};

fn refused(field: &str, reason: impl std::fmt::Display) -> ServiceError {
    ServiceError::new(ErrorCode::ValidationFailed, format!("`{field}` {reason}"))
}

/// A one-line name of 1 to `max_chars` characters without control characters, trimmed.
pub fn name(field: &str, value: &str, max_chars: usize) -> Result<String, ServiceError> {
    rampart_core::clean_name(value, max_chars)
        .map(str::to_string)
        .map_err(|error| match error {
            rampart_core::TextError::Empty | rampart_core::TextError::TooLong { .. } => {
                refused(field, format!("must be 1–{max_chars} characters"))
            }
            other => refused(field, other),
        })
}

/// Free text of at most `max_chars` characters (line breaks and tabs allowed), trimmed.
pub fn text(field: &str, value: &str, max_chars: usize) -> Result<String, ServiceError> {
    rampart_core::clean_text(value, max_chars)
        .map(str::to_string)
        .map_err(|error| refused(field, error))
}

/// A list of at most `max_items` items.
pub fn at_most<T>(field: &str, items: &[T], max_items: usize) -> Result<(), ServiceError> {
    if items.len() > max_items {
        Err(refused(field, format!("holds at most {max_items} items")))
    } else {
        Ok(())
    }
}
