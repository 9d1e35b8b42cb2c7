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

/// Free text of at most `max_chars` characters (line breaks and tabs allowed), as written.
pub fn text(field: &str, value: &str, max_chars: usize) -> Result<String, ServiceError> {
    rampart_core::clean_text(value, max_chars)
        .map(str::to_string)
        .map_err(|error| refused(field, error))
}

/// Optional free text: checked as sent ([`text`]), then trimmed; blank counts as absent.
pub fn optional_text(
    field: &str,
    value: Option<&str>,
    max_chars: usize,
) -> Result<Option<String>, ServiceError> {
    let Some(value) = value else {
        return Ok(None);
    };
    let checked = text(field, value, max_chars)?;
    let trimmed = checked.trim();
    Ok((!trimmed.is_empty()).then(|| trimmed.to_string()))
}

/// Free text that must not be blank: [`optional_text`], refused when absent or blank.
pub fn required_text(
    field: &str,
    value: Option<&str>,
    max_chars: usize,
) -> Result<String, ServiceError> {
    optional_text(field, value, max_chars)?.ok_or_else(|| refused(field, "is required"))
}

/// A list of at most `max_items` items.
pub fn at_most<T>(field: &str, items: &[T], max_items: usize) -> Result<(), ServiceError> {
    if items.len() > max_items {
        Err(refused(field, format!("holds at most {max_items} items")))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optional_text_is_checked_as_sent_then_trimmed() {
        assert_eq!(optional_text("note", None, 5).unwrap(), None);
        assert_eq!(optional_text("note", Some(" \n "), 5).unwrap(), None);
        assert_eq!(
            optional_text("note", Some(" a\tb "), 6).unwrap().as_deref(),
            Some("a\tb")
        );
        // Six characters as sent, though three after trimming.
        assert!(optional_text("note", Some("  abc "), 5).is_err());
        assert!(optional_text("note", Some("a\u{0}b"), 5).is_err());
        assert_eq!(
            required_text("reason", Some("  "), 5)
                .unwrap_err()
                .message(),
            "`reason` is required"
        );
    }
}
