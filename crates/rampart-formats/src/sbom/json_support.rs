//! Running serde over a JSON document while tracking where an error happened, and reporting
//! it as an RFC 6901 JSON pointer.

use serde::de::DeserializeSeed;
use serde_path_to_error::{Path, Segment, Track};

use super::SbomError;

/// Deserializes all of `text` with `seed` at full speed, without tracking the path. Valid
/// documents (the common case) are read once this way; callers re-read an invalid one with
/// [`deserialize_tracked`] to locate the problem.
pub(crate) fn deserialize_untracked<'de, S>(text: &'de str, seed: S) -> Result<S::Value, ()>
where
    S: DeserializeSeed<'de>,
{
    let mut json = serde_json::Deserializer::from_str(text);
    let value = seed.deserialize(&mut json).map_err(drop)?;
    json.end().map_err(drop)?;
    Ok(value)
}

/// Deserializes all of `text` with `seed`, turning the first error into an [`SbomError`]
/// located by JSON pointer. Trailing non-whitespace after the document is an error too.
pub(crate) fn deserialize_tracked<'de, S>(text: &'de str, seed: S) -> Result<S::Value, SbomError>
where
    S: DeserializeSeed<'de>,
{
    let mut json = serde_json::Deserializer::from_str(text);
    let mut track = Track::new();
    let value = seed
        .deserialize(serde_path_to_error::Deserializer::new(
            &mut json, &mut track,
        ))
        .map_err(|error| SbomError::at_pointer(json_pointer(&track.path()), error.to_string()))?;
    json.end()
        .map_err(|error| SbomError::at_pointer("", error.to_string()))?;
    Ok(value)
}

/// Renders a serde path as a JSON pointer: `/components/3/version`.
pub(crate) fn json_pointer(path: &Path) -> String {
    let mut pointer = String::new();
    for segment in path.iter() {
        pointer.push('/');
        match segment {
            Segment::Seq { index } => pointer.push_str(&index.to_string()),
            Segment::Map { key } => push_escaped(&mut pointer, key),
            Segment::Enum { variant } => push_escaped(&mut pointer, variant),
            Segment::Unknown => pointer.push('?'),
        }
    }
    pointer
}

/// Appends a pointer token, escaping `~` and `/` as RFC 6901 requires.
pub(crate) fn push_escaped(pointer: &mut String, token: &str) {
    for c in token.chars() {
        match c {
            '~' => pointer.push_str("~0"),
            '/' => pointer.push_str("~1"),
            c => pointer.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use std::marker::PhantomData;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Doc {
        items: Vec<Item>,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Item {
        #[serde(rename = "a/b")]
        value: String,
    }

    #[test]
    fn errors_carry_an_escaped_pointer() {
        let error = deserialize_tracked(r#"{"items":[{"a/b":"x"},{"a/b":3}]}"#, PhantomData::<Doc>)
            .unwrap_err();
        assert_eq!(
            error.location,
            Some(super::super::ErrorLocation::JsonPointer(
                "/items/1/a~1b".into()
            ))
        );
        assert!(error.message.contains("expected a string"), "{error}");
    }

    #[test]
    fn untracked_reading_agrees_with_tracked() {
        let valid = r#"{"items":[{"a/b":"x"}]}"#;
        assert!(deserialize_untracked(valid, PhantomData::<Doc>).is_ok());
        assert!(deserialize_untracked(r#"{"items":[{"a/b":1}]}"#, PhantomData::<Doc>).is_err());
        assert!(deserialize_untracked(r#"{"items":[]} x"#, PhantomData::<Doc>).is_err());
    }

    #[test]
    fn trailing_content_is_rejected() {
        let error = deserialize_tracked(r#"{"items":[]} x"#, PhantomData::<Doc>).unwrap_err();
        assert!(error.message.contains("trailing"), "{error}");
    }
}
