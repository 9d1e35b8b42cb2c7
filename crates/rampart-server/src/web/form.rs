//! The fields of a url-encoded form or query string, with repeated names kept (checkbox
//! groups: `scopes=a&scopes=b`), which `serde_urlencoded` cannot express.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;

use super::error::WebError;

#[derive(Debug, Default)]
pub struct Fields(Vec<(String, String)>);

impl Fields {
    pub fn parse(encoded: &[u8]) -> Self {
        Fields(
            url::form_urlencoded::parse(encoded)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The first value of `name`, trimmed; `None` when absent or blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.trim())
            .filter(|value| !value.is_empty())
    }

    /// Every non-blank value of `name`, in order.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(key, _)| key == name)
            .map(|(_, value)| value.trim())
            .filter(|value| !value.is_empty())
            .collect()
    }

    /// A checkbox: present and not `0`/`false`.
    pub fn checked(&self, name: &str) -> bool {
        self.get(name).is_some_and(|v| v != "0" && v != "false")
    }

    /// A number field; 400 naming it when it is not one.
    pub fn number<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>, WebError> {
        self.get(name)
            .map(|text| {
                text.parse()
                    .map_err(|_| WebError::bad_request(format!("`{name}` must be a number")))
            })
            .transpose()
    }
}

/// A form body.
pub struct Form(pub Fields);

impl<S: Send + Sync> FromRequest<S> for Form {
    type Rejection = WebError;

    async fn from_request(request: Request, state: &S) -> Result<Self, WebError> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| WebError::bad_request(rejection.body_text()))?;
        Ok(Form(Fields::parse(&bytes)))
    }
}

/// A query string.
pub struct Query(pub Fields);

impl<S: Send + Sync> FromRequestParts<S> for Query {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, WebError> {
        Ok(Query(Fields::parse(
            parts.uri.query().unwrap_or("").as_bytes(),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_fields_blanks_and_numbers() {
        let fields = Fields::parse(b"scopes=a&scopes=b&scopes=&name=+x+&n=12&bad=z&on=1");
        assert_eq!(fields.all("scopes"), ["a", "b"]);
        assert_eq!(fields.get("name"), Some("x"));
        assert_eq!(fields.get("scopes"), Some("a"));
        assert_eq!(fields.get("missing"), None);
        assert_eq!(fields.number::<i64>("n").unwrap(), Some(12));
        assert!(fields.number::<i64>("bad").is_err());
        assert!(fields.checked("on") && !fields.checked("missing"));
    }
}
