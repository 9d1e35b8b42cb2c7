//! The dashboard's static assets, embedded in the binary and served under names carrying a
//! hash of their content (`app.1a2b3c4d.css`), so browsers may cache them for a year: a new
//! build with a changed file changes its name.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// (name, content type, content) of every embedded asset.
const SOURCES: &[(&str, &str, &[u8])] = &[
    (
        "app.css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/app.css"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/app.js"),
    ),
    (
        "htmx.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/vendor/htmx-2.0.11/htmx.min.js"),
    ),
];

pub struct Asset {
    pub name: &'static str,
    /// The name it is served under: `/assets/<hashed_name>`.
    pub hashed_name: String,
    pub content_type: &'static str,
    pub content: &'static [u8],
}

static ASSETS: LazyLock<Vec<Asset>> = LazyLock::new(|| {
    SOURCES
        .iter()
        .map(|&(name, content_type, content)| Asset {
            name,
            hashed_name: hashed_name(name, content),
            content_type,
            content,
        })
        .collect()
});

/// `name` with the first 10 hex digits of its content's SHA-256 before its first dot:
/// `htmx.min.js` → `htmx.0123456789.min.js`.
pub fn hashed_name(name: &str, content: &[u8]) -> String {
    let digest = hex::encode(&Sha256::digest(content)[..5]);
    match name.split_once('.') {
        Some((stem, extension)) => format!("{stem}.{digest}.{extension}"),
        None => format!("{name}.{digest}"),
    }
}

#[cfg(test)]
pub fn all() -> &'static [Asset] {
    &ASSETS
}

/// The URL of the embedded asset `name` (one of [`SOURCES`]).
pub fn url(name: &str) -> String {
    let asset = ASSETS
        .iter()
        .find(|asset| asset.name == name)
        .expect("templates name embedded assets only");
    format!("/assets/{}", asset.hashed_name)
}

/// `GET /assets/{file}`: an asset by its hashed name, cacheable for a year.
pub async fn serve(Path(file): Path<String>) -> Response {
    let Some(asset) = ASSETS.iter().find(|asset| asset.hashed_name == file) else {
        return super::error::WebError::not_found("asset").into_response();
    };
    (
        StatusCode::OK,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.content_type),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            ),
        ],
        asset.content,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_names_change_with_the_content_and_keep_the_extension() {
        let a = hashed_name("htmx.min.js", b"one");
        let b = hashed_name("htmx.min.js", b"two");
        assert_ne!(a, b);
        assert!(a.starts_with("htmx.") && a.ends_with(".min.js"), "{a}");
        assert_eq!(a.len(), "htmx..min.js".len() + 10);
        assert_eq!(hashed_name("LICENSE", b"x").len(), "LICENSE.".len() + 10);
    }

    #[test]
    fn every_embedded_asset_has_a_url() {
        for asset in all() {
            assert_eq!(url(asset.name), format!("/assets/{}", asset.hashed_name));
            assert!(!asset.content.is_empty(), "{}", asset.name);
        }
    }
}
