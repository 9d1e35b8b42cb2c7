//! Walking a parsed JSON document while knowing where one is, so that every error and warning
//! can name its RFC 6901 pointer. VEX readers are tolerant: they look at a `serde_json::Value`
//! field by field instead of deserialising into fixed structs that would reject a whole
//! document for one odd field.

use serde_json::{Map, Value};

use super::{Notes, VexError};
use crate::sbom::json_support::push_escaped;

/// Parses `text` as JSON; a syntax error names its line and column.
pub(crate) fn parse(text: &str) -> Result<Value, VexError> {
    serde_json::from_str(text).map_err(|error| syntax_error(&error))
}

pub(crate) fn syntax_error(error: &serde_json::Error) -> VexError {
    VexError {
        location: Some(super::ErrorLocation::LineColumn {
            line: error.line(),
            column: error.column(),
        }),
        message: format!("not valid JSON: {error}"),
    }
}

/// A JSON value and its pointer.
#[derive(Clone)]
pub(crate) struct Located<'a> {
    pub value: &'a Value,
    pub pointer: String,
}

pub(crate) type Node<'a> = Located<'a>;

impl<'a> Located<'a> {
    pub(crate) fn root(value: &'a Value) -> Self {
        Located {
            value,
            pointer: String::new(),
        }
    }

    pub(crate) fn node(&self) -> Node<'a> {
        self.clone()
    }

    pub(crate) fn pointer(&self) -> &str {
        &self.pointer
    }

    pub(crate) fn object(&self) -> Result<&'a Map<String, Value>, VexError> {
        self.value.as_object().ok_or_else(|| {
            VexError::at_pointer(
                self.pointer.clone(),
                format!("expected an object, found {}", kind(self.value)),
            )
        })
    }

    /// The child `key`, with its pointer.
    pub(crate) fn child(&self, key: &str) -> Option<Located<'a>> {
        let value = self.value.as_object()?.get(key)?;
        if value.is_null() {
            return None;
        }
        let mut pointer = self.pointer.clone();
        pointer.push('/');
        push_escaped(&mut pointer, key);
        Some(Located { value, pointer })
    }

    pub(crate) fn pointer_to(&self, key: &str) -> String {
        let mut pointer = self.pointer.clone();
        pointer.push('/');
        push_escaped(&mut pointer, key);
        pointer
    }

    /// The string field `key`; absent or null → `None`, another type → error.
    pub(crate) fn string(&self, key: &str) -> Result<Option<&'a str>, VexError> {
        match self.child(key) {
            None => Ok(None),
            Some(child) => match child.value {
                Value::String(text) => Ok(Some(text.as_str())),
                other => Err(VexError::at_pointer(
                    child.pointer,
                    format!("expected a string, found {}", kind(other)),
                )),
            },
        }
    }

    /// Like [`Node::string`], but a wrong type is a warning and reads as absent.
    pub(crate) fn lenient_string(&self, key: &str, warnings: &mut Notes) -> Option<&'a str> {
        match self.string(key) {
            Ok(text) => text,
            Err(error) => {
                warnings.push(error.location, format!("{}; ignored", error.message));
                None
            }
        }
    }

    /// The array field `key` as located items; absent → empty, another type → error.
    pub(crate) fn array(&self, key: &str) -> Result<Vec<Located<'a>>, VexError> {
        match self.child(key) {
            None => Ok(Vec::new()),
            Some(child) => match child.value {
                Value::Array(items) => Ok(items
                    .iter()
                    .enumerate()
                    .map(|(index, value)| Located {
                        value,
                        pointer: format!("{}/{index}", child.pointer),
                    })
                    .collect()),
                other => Err(VexError::at_pointer(
                    child.pointer,
                    format!("expected an array, found {}", kind(other)),
                )),
            },
        }
    }
}

pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Serialises a writer's JSON with two-space indentation and a final newline.
pub(crate) fn to_pretty_bytes(value: &Value) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(value).expect("a JSON value always serialises");
    bytes.push(b'\n');
    bytes
}

/// A document `version`: a positive integer, or one spelled as a string (OpenVEX 0.0.1,
/// CycloneDX XML attributes) with a warning; anything else reads as 1 with a warning.
pub(crate) fn document_version(field: &Located<'_>, warnings: &mut Notes) -> u32 {
    let parsed = match field.value {
        Value::Number(number) => number.as_u64(),
        Value::String(text) => {
            warnings.at(&field.pointer, "`version` is a string, not a number");
            text.trim().parse().ok()
        }
        _ => None,
    };
    match parsed
        .and_then(|v| u32::try_from(v).ok())
        .filter(|v| *v >= 1)
    {
        Some(version) => version,
        None => {
            warnings.at(
                &field.pointer,
                "`version` is not a positive integer; read as 1",
            );
            1
        }
    }
}
