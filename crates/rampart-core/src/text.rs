//! Free text that people name things with (products, releases, tags, teams, API keys, …):
//! one rule for every such field, so that no name carries NUL or other control characters
//! into logs, CSV exports, terminals, e-mails or the systems we export to.

use std::fmt;

/// Why a text field was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextError {
    /// Empty (or only white space) where a value is required.
    Empty,
    /// More characters than allowed.
    TooLong { max_chars: usize },
    /// A control character (C0, DEL or C1) at this 1-based character position.
    ControlCharacter { position: usize, code_point: u32 },
}

impl fmt::Display for TextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TextError::Empty => write!(f, "must not be empty"),
            TextError::TooLong { max_chars } => {
                write!(f, "must be at most {max_chars} characters")
            }
            TextError::ControlCharacter {
                position,
                code_point,
            } => write!(
                f,
                "must not contain control characters (U+{code_point:04X} at character {position})"
            ),
        }
    }
}

impl std::error::Error for TextError {}

/// A one-line name: trimmed, 1 to `max_chars` characters, no control character at all.
pub fn clean_name(value: &str, max_chars: usize) -> Result<&str, TextError> {
    clean(value, max_chars, |_| false)
}

/// Free text that may span lines (a description), kept as written: at most `max_chars`
/// characters (empty allowed), no control character other than line feed, carriage return
/// and tab.
pub fn clean_text(value: &str, max_chars: usize) -> Result<&str, TextError> {
    check(value, max_chars, |c| matches!(c, '\n' | '\r' | '\t'))?;
    Ok(value)
}

fn clean(value: &str, max_chars: usize, allowed: impl Fn(char) -> bool) -> Result<&str, TextError> {
    // The limit holds for the value as sent (as the OpenAPI document's `maxLength` says), not
    // for what is left of it after trimming.
    if value.chars().nth(max_chars).is_some() {
        return Err(TextError::TooLong { max_chars });
    }
    let value = value.trim();
    if value.is_empty() {
        return Err(TextError::Empty);
    }
    check(value, max_chars, allowed)?;
    Ok(value)
}

fn check(value: &str, max_chars: usize, allowed: impl Fn(char) -> bool) -> Result<(), TextError> {
    // The limit first: nothing else looks at more than `max_chars` characters.
    if value.chars().nth(max_chars).is_some() {
        return Err(TextError::TooLong { max_chars });
    }
    match value
        .chars()
        .enumerate()
        .find(|&(_, c)| c.is_control() && !allowed(c))
    {
        Some((index, c)) => Err(TextError::ControlCharacter {
            position: index + 1,
            code_point: u32::from(c),
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(clean_name("  Portal  ", 10), Ok("Portal"));
        assert_eq!(clean_name("ünïcödé ✓", 9), Ok("ünïcödé ✓"));
        assert_eq!(clean_name("   ", 10), Err(TextError::Empty));
        assert_eq!(
            clean_name("abcdefghijk", 10),
            Err(TextError::TooLong { max_chars: 10 })
        );
        // The limit is the value's as sent: padding counts.
        assert_eq!(
            clean_name(" abcdefghij ", 10),
            Err(TextError::TooLong { max_chars: 10 })
        );
    }

    #[test]
    fn control_characters_are_refused_with_their_position() {
        for (text, code_point, position) in [
            ("a\0b", 0x00, 2),
            ("tab\there", 0x09, 4),
            ("line\nbreak", 0x0A, 5),
            ("esc\u{1b}[31m", 0x1B, 4),
            ("del\u{7f}", 0x7F, 4),
            ("c1\u{85}x", 0x85, 3),
        ] {
            assert_eq!(
                clean_name(text, 100),
                Err(TextError::ControlCharacter {
                    position,
                    code_point
                }),
                "{text:?}"
            );
        }
        assert_eq!(
            clean_name("a\0b", 100).unwrap_err().to_string(),
            "must not contain control characters (U+0000 at character 2)"
        );
    }

    #[test]
    fn text_allows_line_breaks_and_tabs_but_nothing_else() {
        assert_eq!(clean_text("one\r\n\ttwo", 100), Ok("one\r\n\ttwo"));
        assert_eq!(clean_text("", 100), Ok(""));
        assert_eq!(
            clean_text("  kept as written ", 100),
            Ok("  kept as written ")
        );
        assert!(matches!(
            clean_text("bell\u{7}", 100),
            Err(TextError::ControlCharacter { .. })
        ));
        assert_eq!(
            clean_text("abc", 2),
            Err(TextError::TooLong { max_chars: 2 })
        );
    }
}
